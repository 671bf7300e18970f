//! The stable-Rust driver: runs a target over its committed corpus, then over mutations of it
//! for a given time, and reports what broke.
//!
//! No compiler instrumentation (that needs nightly and a second build of every dependency), so
//! the guidance is behavioural: an input is kept in the working corpus when it makes the target
//! answer something it has not answered before (each target describes its outcome in a few
//! words, digits blurred). Mutations are the usual byte-level ones plus the target's dictionary
//! and a list of numbers that break parsers (limits, overflows, exponents).
//!
//! A finding is a panic, an oracle's complaint (the target's `Err`), an input running longer
//! than the time limit, or one asking for more memory than the caps (see [`crate::alloc`]).
//! Panics and complaints are saved and the run goes on (each distinct one once); a hang or an
//! allocation over the cap saves the input and ends the process, as nothing can be trusted
//! after it.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

/// Most inputs kept as parents at once.
const MAX_POOL: usize = 4096;

/// One fuzz target.
#[derive(Debug, Clone, Copy)]
pub struct Target {
    /// Its name, also the corpus folder `fuzz/corpus/<name>`.
    pub name: &'static str,
    /// Runs one input: `Ok(outcome)` is a few words saying which way the code went; `Err` is
    /// an oracle's complaint.
    pub run: fn(&[u8]) -> Result<String, String>,
    /// Longest input the mutator makes.
    pub max_len: usize,
    /// Tokens worth inserting (field names, keywords).
    pub dictionary: &'static [&'static str],
}

/// How to run.
#[derive(Debug, Clone)]
pub struct Settings {
    /// How long to mutate after the corpus ran, in milliseconds (0: the corpus only).
    pub millis: u64,
    /// The mutator's seed; the same seed and corpus give the same inputs.
    pub seed: u64,
    /// Longest one input may run, in milliseconds.
    pub time_limit_ms: u64,
    /// Where findings are written (`<dir>/<target>/`).
    pub artifacts: PathBuf,
    /// Where inputs with new outcomes are written, if anywhere (to grow a corpus).
    pub save_new: Option<PathBuf>,
    /// Allocation caps in bytes: one allocation, all live bytes (see [`crate::alloc`]).
    pub caps: (usize, usize),
}

/// What a run did.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Inputs run.
    pub execs: u64,
    /// Wall time of the run, in milliseconds.
    pub millis: u64,
    /// Corpus files read.
    pub corpus: usize,
    /// Inputs kept for new outcomes (corpus plus mutations).
    pub kept: usize,
    /// Distinct outcomes seen.
    pub outcomes: usize,
    /// Distinct findings: (file written, what happened).
    pub findings: Vec<(PathBuf, String)>,
}

impl Report {
    /// Inputs per second.
    pub fn per_second(&self) -> u64 {
        self.execs.saturating_mul(1000) / self.millis.max(1)
    }
}

/// The input being run and when it started (ms since [`epoch`] + 1; 0 = nothing running),
/// for the watchdog.
static CURRENT: Mutex<(Vec<u8>, &'static str)> = Mutex::new((Vec::new(), ""));
static STARTED: AtomicU64 = AtomicU64::new(0);
static LIMIT_MS: AtomicU64 = AtomicU64::new(u64::MAX);
static ARTIFACTS: OnceLock<PathBuf> = OnceLock::new();
/// The last panic's message (the hook keeps the output quiet and the message for the report).
static LAST_PANIC: Mutex<String> = Mutex::new(String::new());

fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

fn since_epoch_ms() -> u64 {
    u64::try_from(epoch().elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// Starts the watchdog (once): ends the process, after saving the input, when one input runs
/// past the time limit or an allocation broke a cap.
fn watchdog(artifacts: &Path) {
    static STARTED_ONCE: OnceLock<()> = OnceLock::new();
    let _ = ARTIFACTS.set(artifacts.to_owned());
    STARTED_ONCE.get_or_init(|| {
        std::thread::spawn(|| {
            loop {
                std::thread::sleep(Duration::from_millis(20));
                let started = STARTED.load(Ordering::Relaxed);
                let running_ms = match started {
                    0 => 0,
                    at => since_epoch_ms().saturating_sub(at - 1),
                };
                let why = if let Some(size) = crate::alloc::refused() {
                    format!("asked for {size} bytes, over the allocation cap")
                } else if running_ms > LIMIT_MS.load(Ordering::Relaxed) {
                    format!("ran over {running_ms} ms, past the time limit")
                } else {
                    continue;
                };
                let (input, target) = CURRENT
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .clone();
                let dir = ARTIFACTS.get().cloned().unwrap_or_default();
                let file = save(&dir.join(target), "fatal", &input);
                eprintln!(
                    "\n!!! {target}: an input {why}; saved as {}\n{}",
                    file.display(),
                    preview(&input)
                );
                std::process::exit(3);
            }
        });
    });
}

/// Writes `input` as `<dir>/<kind>-<hash>` and returns the path.
fn save(dir: &Path, kind: &str, input: &[u8]) -> PathBuf {
    let _ = std::fs::create_dir_all(dir);
    let file = dir.join(format!("{kind}-{:016x}", fnv(input)));
    let _ = std::fs::write(&file, input);
    file
}

fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The first bytes of an input, escaped, for a terminal.
pub fn preview(input: &[u8]) -> String {
    let text: String = input
        .iter()
        .take(600)
        .flat_map(|&b| std::ascii::escape_default(b))
        .map(char::from)
        .collect();
    if input.len() > 600 {
        format!("{text}… ({} bytes)", input.len())
    } else {
        text
    }
}

/// `text` with digit runs blurred to `#` and cut short: outcomes and findings that differ only
/// in numbers (positions, ids) count once.
pub fn shape(text: &str) -> String {
    let mut out = String::new();
    let mut in_digits = false;
    for c in text.chars() {
        if c.is_ascii_digit() {
            if !in_digits {
                out.push('#');
            }
            in_digits = true;
        } else {
            in_digits = false;
            out.push(c);
        }
        if out.len() >= 160 {
            break;
        }
    }
    out
}

/// Runs one input under the watchdog, turning a panic into a complaint.
pub fn run_one(target: &Target, input: &[u8]) -> Result<String, String> {
    {
        let mut current = CURRENT.lock().unwrap_or_else(PoisonError::into_inner);
        current.0.clear();
        current.0.extend_from_slice(input);
        current.1 = target.name;
    }
    STARTED.store(since_epoch_ms() + 1, Ordering::Relaxed);
    let result = std::panic::catch_unwind(|| (target.run)(input));
    STARTED.store(0, Ordering::Relaxed);
    match result {
        Ok(answer) => answer,
        Err(_) => Err(format!(
            "panic: {}",
            LAST_PANIC.lock().unwrap_or_else(PoisonError::into_inner)
        )),
    }
}

/// Quiet panics (thousands of mutated inputs may hit the same one); the message is kept for
/// the report.
fn quiet_panics() {
    std::panic::set_hook(Box::new(|info| {
        *LAST_PANIC.lock().unwrap_or_else(PoisonError::into_inner) = info.to_string();
    }));
}

/// The corpus files of `target` under `dir` (sorted, so runs repeat).
pub fn corpus(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file())
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
        .into_iter()
        .filter_map(|p| std::fs::read(&p).ok().map(|bytes| (p, bytes)))
        .collect()
}

/// Runs `target`: its corpus (from `corpus_dir`), then mutations for `settings.millis`.
pub fn fuzz(target: &Target, corpus_dir: &Path, settings: &Settings) -> Report {
    quiet_panics();
    LIMIT_MS.store(settings.time_limit_ms, Ordering::Relaxed);
    watchdog(&settings.artifacts);
    // Only now: a refused allocation parks its thread, and only the watchdog can end that.
    crate::alloc::set_caps(settings.caps.0, settings.caps.1);
    let start = Instant::now();
    let mut report = Report::default();
    let mut outcomes: HashSet<String> = HashSet::new();
    let mut seen_findings: HashSet<String> = HashSet::new();
    let mut pool: Vec<Vec<u8>> = Vec::new();
    let artifacts = settings.artifacts.join(target.name);

    let mut handle =
        |input: &[u8], report: &mut Report, pool: &mut Vec<Vec<u8>>, from_corpus: bool| {
            report.execs += 1;
            match run_one(target, input) {
                Ok(outcome) => {
                    if outcomes.insert(shape(&outcome)) {
                        report.kept += 1;
                        if pool.len() < MAX_POOL {
                            pool.push(input.to_vec());
                        } else if let Some(slot) =
                            pool.get_mut(usize::try_from(report.execs).unwrap_or(0) % MAX_POOL)
                        {
                            // Full: the newcomer takes a slot, so the pool keeps moving.
                            *slot = input.to_vec();
                        }
                        if let (Some(dir), false) = (&settings.save_new, from_corpus) {
                            save(&dir.join(target.name), "new", input);
                        }
                    } else if from_corpus {
                        // Every corpus file stays a parent, even when its outcome is not new.
                        pool.push(input.to_vec());
                    }
                }
                Err(complaint) => {
                    if seen_findings.insert(shape(&complaint)) {
                        let file = save(&artifacts, "finding", input);
                        eprintln!(
                            "\n!!! {}: {complaint}\n    input saved as {}\n    {}",
                            target.name,
                            file.display(),
                            preview(input)
                        );
                        report.findings.push((file, complaint));
                    }
                }
            }
        };

    let files = corpus(corpus_dir);
    report.corpus = files.len();
    for (_, bytes) in &files {
        handle(bytes, &mut report, &mut pool, true);
    }
    if pool.is_empty() {
        pool.push(Vec::new());
    }
    let mut rng = Rng::new(settings.seed);
    let until = Duration::from_millis(settings.millis);
    while settings.millis > 0 && start.elapsed() < until {
        let parent = rng.pick(&pool).cloned().unwrap_or_default();
        let child = mutate(&mut rng, &parent, &pool, target);
        handle(&child, &mut report, &mut pool, false);
    }
    report.outcomes = outcomes.len();
    report.millis = u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX);
    report
}

/// xorshift64*: small, fast, and the same everywhere for a seed.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from `seed` (any value; 0 is moved away from).
    pub fn new(seed: u64) -> Rng {
        Rng((seed ^ 0x9e37_79b9_7f4a_7c15) | 1)
    }

    /// The next number.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number below `n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        match u64::try_from(n) {
            Ok(0) | Err(_) => 0,
            Ok(n) => usize::try_from(self.next_u64() % n).unwrap_or(0),
        }
    }

    /// One of `items`.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        items.get(self.below(items.len()))
    }
}

/// Numbers and fragments that break parsers: limits of the integer types, overflows, long
/// fractions, exponents, signs, empty and odd texts.
const INTERESTING: &[&str] = &[
    "0",
    "-0",
    "1",
    "-1",
    "00",
    "0.0",
    "0.001",
    "0.01",
    "0.1",
    "0.5",
    "1.005",
    "1e2",
    "1E-2",
    "1e309",
    "-1e309",
    "9.99",
    "100.00",
    "127",
    "128",
    "255",
    "256",
    "32767",
    "32768",
    "65535",
    "65536",
    "2147483647",
    "2147483648",
    "-2147483649",
    "4294967295",
    "4294967296",
    "9007199254740993",
    "92233720368547758.07",
    "9223372036854775807",
    "9223372036854775808",
    "-9223372036854775808",
    "-9223372036854775809",
    "18446744073709551615",
    "18446744073709551616",
    "99999999999999999999999999999999",
    "1.7976931348623157e308",
    "NaN",
    "Infinity",
    "null",
    "true",
    "false",
    "\"\"",
    "[]",
    "{}",
    "\\u0000",
    "\\ud800",
    "%00",
    "%",
    "%ZZ",
    "&",
    "=",
    "==",
    ";",
    "\"",
    "\\",
    "\r\n",
    "\n",
    " ",
    "\t",
    "\u{feff}",
    "\u{0}",
    "ё",
    "€",
];

/// One to eight stacked mutations of `parent`.
fn mutate(rng: &mut Rng, parent: &[u8], pool: &[Vec<u8>], target: &Target) -> Vec<u8> {
    let mut data = parent.to_vec();
    let rounds = 1 + rng.below(8);
    for _ in 0..rounds {
        match rng.below(12) {
            0 if !data.is_empty() => {
                // Flip a bit.
                let at = rng.below(data.len());
                if let Some(b) = data.get_mut(at) {
                    *b ^= 1 << rng.below(8);
                }
            }
            1 if !data.is_empty() => {
                // A random or a syntax byte.
                let at = rng.below(data.len());
                let bytes = b"\x00\xff\x7f\x80\"{}[],:\\\n\r-+.eE0123456789 %&=?/";
                let value = if rng.below(2) == 0 {
                    u8::try_from(rng.below(256)).unwrap_or(0)
                } else {
                    bytes.get(rng.below(bytes.len())).copied().unwrap_or(0)
                };
                if let Some(b) = data.get_mut(at) {
                    *b = value;
                }
            }
            2 if !data.is_empty() => {
                // Delete a range.
                let at = rng.below(data.len());
                let len = 1 + rng.below((data.len() - at).min(32));
                data.drain(at..(at + len).min(data.len()));
            }
            3 if !data.is_empty() => {
                // Duplicate a range (repeats: arrays, nesting, long fields).
                let at = rng.below(data.len());
                let len = 1 + rng.below((data.len() - at).min(64));
                let chunk: Vec<u8> = data
                    .get(at..(at + len).min(data.len()))
                    .unwrap_or_default()
                    .to_vec();
                let most = if rng.below(8) == 0 { 200 } else { 3 };
                let times = 1 + rng.below(most);
                let into = rng.below(data.len() + 1);
                for _ in 0..times {
                    data.splice(into..into, chunk.iter().copied());
                }
            }
            4 | 5 => {
                // An interesting number or fragment, replacing a digit run or inserted.
                let token = rng
                    .pick(INTERESTING)
                    .copied()
                    .unwrap_or("0")
                    .as_bytes()
                    .to_vec();
                replace_number_or_insert(rng, &mut data, &token);
            }
            6 | 7 if !target.dictionary.is_empty() => {
                let token = rng
                    .pick(target.dictionary)
                    .copied()
                    .unwrap_or("")
                    .as_bytes()
                    .to_vec();
                let at = rng.below(data.len() + 1);
                data.splice(at..at, token);
            }
            8 => {
                // Splice with another input.
                if let Some(other) = rng.pick(pool) {
                    let cut_self = rng.below(data.len() + 1);
                    let cut_other = rng.below(other.len() + 1);
                    data.truncate(cut_self);
                    data.extend_from_slice(other.get(cut_other..).unwrap_or_default());
                }
            }
            9 if !data.is_empty() => {
                // Truncate.
                let at = rng.below(data.len());
                data.truncate(at);
            }
            10 if !data.is_empty() => {
                // Swap two bytes.
                let a = rng.below(data.len());
                let b = rng.below(data.len());
                data.swap(a, b);
            }
            _ => {
                // Insert a few random bytes.
                let at = rng.below(data.len() + 1);
                let count = 1 + rng.below(4);
                for _ in 0..count {
                    data.insert(at, u8::try_from(rng.below(256)).unwrap_or(0));
                }
            }
        }
    }
    data.truncate(target.max_len);
    data
}

/// Replaces a run of digits (with its sign and fraction) by `token`, or inserts `token` when
/// the input has no digits.
fn replace_number_or_insert(rng: &mut Rng, data: &mut Vec<u8>, token: &[u8]) {
    let starts: Vec<usize> = (0..data.len())
        .filter(|&i| {
            data.get(i).is_some_and(u8::is_ascii_digit)
                && (i == 0 || !data.get(i - 1).is_some_and(u8::is_ascii_digit))
        })
        .collect();
    match rng.pick(&starts).copied() {
        Some(start) if rng.below(4) != 0 => {
            let end = (start..data.len())
                .find(|&i| {
                    !data
                        .get(i)
                        .is_some_and(|b| b.is_ascii_digit() || *b == b'.')
                })
                .unwrap_or(data.len());
            data.splice(start..end, token.iter().copied());
        }
        _ => {
            let at = rng.below(data.len() + 1);
            data.splice(at..at, token.iter().copied());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_and_a_complaint_are_findings_with_their_input_saved() {
        let dir = tempfile::tempdir().unwrap();
        let corpus = dir.path().join("corpus");
        std::fs::create_dir_all(&corpus).unwrap();
        std::fs::write(corpus.join("a"), b"fine").unwrap();
        std::fs::write(corpus.join("b"), b"boom").unwrap();
        std::fs::write(corpus.join("c"), b"bad").unwrap();
        let target = Target {
            name: "self_test",
            run: |data| match data {
                b"boom" => panic!("exploded"),
                b"bad" => Err("the oracle objects".into()),
                _ => Ok(String::from_utf8_lossy(data).into_owned()),
            },
            max_len: 16,
            dictionary: &[],
        };
        let settings = Settings {
            millis: 0,
            seed: 1,
            time_limit_ms: 10_000,
            artifacts: dir.path().join("artifacts"),
            save_new: None,
            caps: (usize::MAX, usize::MAX),
        };
        let report = fuzz(&target, &corpus, &settings);
        assert_eq!((report.corpus, report.execs), (3, 3));
        let found: Vec<&str> = report
            .findings
            .iter()
            .map(|(_, why)| why.as_str())
            .collect();
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(
            found
                .iter()
                .any(|f| f.starts_with("panic:") && f.contains("exploded")),
            "{found:?}"
        );
        assert!(found.contains(&"the oracle objects"), "{found:?}");
        for (file, _) in &report.findings {
            let saved = std::fs::read(file).unwrap();
            assert!(saved == b"boom" || saved == b"bad");
        }
    }

    #[test]
    fn shapes_blur_numbers_only() {
        assert_eq!(shape("line 12 column 345: x9"), "line # column #: x#");
        assert_eq!(shape("same"), "same");
    }

    #[test]
    fn mutations_repeat_for_a_seed_and_respect_the_length() {
        let target = Target {
            name: "t",
            run: |_| Ok(String::new()),
            max_len: 64,
            dictionary: &["\"amount\""],
        };
        let pool = vec![b"{\"amount\": 12.34}".to_vec()];
        let run = |seed| {
            let mut rng = Rng::new(seed);
            (0..200)
                .map(|_| {
                    mutate(
                        &mut rng,
                        pool.first().map_or(&[][..], |p| p),
                        &pool,
                        &target,
                    )
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(run(7), run(7));
        assert_ne!(run(7), run(8));
        assert!(run(7).iter().all(|m| m.len() <= 64));
    }
}
