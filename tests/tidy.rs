//! Repository hygiene checks that are cheaper as tests than as reviews.
//!
//! * every Rust module starts with a `//!` doc saying what it is for;
//! * no floating-point type appears in non-test code (money never passes through floats);
//! * only `SystemClock` reads the wall clock, and tests hold no hard-coded date that can expire
//!   (every part of a test reads the test's one clock, so the suite passes on any date).

#![expect(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "tests fail loudly"
)]

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn sources() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    rust_files(&root.join("src"), &mut files);
    for krate in std::fs::read_dir(root.join("crates")).unwrap() {
        rust_files(&krate.unwrap().path().join("src"), &mut files);
    }
    files
}

#[test]
fn every_module_starts_with_a_module_doc() {
    let missing: Vec<String> = sources()
        .into_iter()
        .filter(|f| {
            let text = std::fs::read_to_string(f).unwrap();
            !text.trim_start().starts_with("//!")
        })
        .map(|f| f.display().to_string())
        .collect();
    assert!(missing.is_empty(), "modules without a //! doc: {missing:?}");
}

#[test]
fn no_floats_outside_tests() {
    let offenders: Vec<String> = sources()
        .into_iter()
        .filter(|f| !f.ends_with("tests.rs"))
        // Not money: Prometheus histograms take bucket bounds and observed latencies in seconds
        // as f64 (prometheus-client's API); this one module holds them, amounts never enter it.
        .filter(|f| !f.ends_with("crates/service/src/metrics.rs"))
        .filter(|f| {
            let text = std::fs::read_to_string(f).unwrap();
            // Only the part before a `#[cfg(test)]` module counts.
            let code = text.split("#[cfg(test)]").next().unwrap_or_default();
            code.split(|c: char| !c.is_alphanumeric() && c != '_')
                .any(|word| word == "f32" || word == "f64")
        })
        .map(|f| f.display().to_string())
        .collect();
    assert!(offenders.is_empty(), "floating point in: {offenders:?}");
}

/// Every test file, and the test part (after the first `#[cfg(test)]`) of every source file.
fn test_code() -> Vec<(PathBuf, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut out = Vec::new();
    let mut test_files = Vec::new();
    rust_files(&root.join("tests"), &mut test_files);
    for krate in std::fs::read_dir(root.join("crates")).unwrap() {
        let tests = krate.unwrap().path().join("tests");
        if tests.is_dir() {
            rust_files(&tests, &mut test_files);
        }
    }
    for f in test_files {
        let text = std::fs::read_to_string(&f).unwrap();
        out.push((f, text));
    }
    for f in sources() {
        let text = std::fs::read_to_string(&f).unwrap();
        if f.ends_with("tests.rs") {
            out.push((f, text));
        } else if let Some(at) = text.find("#[cfg(test)]") {
            out.push((f, text[at..].to_owned()));
        }
    }
    out
}

/// Whether `line` holds a calendar date: `2026-11-28` in text, or a chrono constructor with a
/// literal year (`with_ymd_and_hms(2026, …`, `from_ymd_opt(2026, …`).
fn has_date_literal(line: &str) -> bool {
    let bytes = line.as_bytes();
    let digits = |s: &[u8]| s.iter().all(u8::is_ascii_digit);
    let text_date = bytes.windows(10).any(|w| {
        digits(&w[..4])
            && (w[0] == b'1' || w[0] == b'2')
            && w[4] == b'-'
            && digits(&w[5..7])
            && w[7] == b'-'
            && digits(&w[8..10])
    });
    let constructor = ["ymd_and_hms(", "from_ymd_opt(", "from_ymd("]
        .iter()
        .any(|c| {
            line.split(c).skip(1).any(|rest| {
                rest.trim_start()
                    .bytes()
                    .take(4)
                    .all(|b| b.is_ascii_digit())
            })
        });
    text_date || constructor
}

/// A test with a hard-coded date passes only while that date relates to "today" as the test
/// assumes, unless nothing in the test compares it with the wall clock. So every date literal in
/// test code must say why it cannot expire: a `fixed-date:` comment on its line or the two lines
/// above, or one `fixed-dates:` comment in the file's test code when all its dates are data
/// (parser vectors, signatures, the shared manual clock's start). Files that run on the wall
/// clock (the real binary, `SystemClock`) may not use the file-wide marker.
#[test]
fn no_hard_coded_dates_that_can_expire_in_tests() {
    let wall_clock_markers = [
        "SystemClock",
        "CARGO_BIN_EXE",
        "Utc::now",
        "SystemTime::now",
    ];
    let mut offenders = Vec::new();
    for (file, text) in test_code() {
        if file.ends_with("tests/tidy.rs") {
            continue; // the detector's own inputs
        }
        let file_wide = text.contains("fixed-dates:");
        let on_wall_clock = wall_clock_markers.iter().any(|m| text.contains(m));
        if file_wide && on_wall_clock {
            offenders.push(format!(
                "{}: `fixed-dates:` in a file that runs on the wall clock; mark each date",
                file.display()
            ));
        }
        let lines: Vec<&str> = text.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            if !has_date_literal(line) {
                continue;
            }
            let marked = lines[i.saturating_sub(2)..=i]
                .iter()
                .any(|l| l.contains("fixed-date:"));
            if !(marked || file_wide && !on_wall_clock) {
                offenders.push(format!("{}: {}", file.display(), line.trim()));
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "date literals in tests with no `fixed-date:` reason (use the test's clock instead, \
         or say why the date never meets the wall clock):\n{}",
        offenders.join("\n")
    );
}

/// Business time comes from a `Clock`; only `SystemClock` reads the wall clock. Any other read
/// (`Utc::now`, `Local::now`, `SystemTime::now`) in any code, test or not, needs a
/// `wall-clock:` comment on its line or the two above saying why it is not business time.
#[test]
fn the_wall_clock_is_read_only_by_the_system_clock() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = sources();
    rust_files(&root.join("tests"), &mut files);
    for krate in std::fs::read_dir(root.join("crates")).unwrap() {
        let tests = krate.unwrap().path().join("tests");
        if tests.is_dir() {
            rust_files(&tests, &mut files);
        }
    }
    let mut offenders = Vec::new();
    for file in files {
        if file.ends_with("bank/src/clock.rs") || file.ends_with("tests/tidy.rs") {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            let reads = ["Utc::now(", "Local::now(", "SystemTime::now("]
                .iter()
                .any(|r| line.contains(r));
            let marked = lines[i.saturating_sub(2)..=i]
                .iter()
                .any(|l| l.contains("wall-clock:"));
            if reads && !marked {
                offenders.push(format!("{}:{}: {}", file.display(), i + 1, line.trim()));
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "wall-clock reads outside SystemClock:\n{}",
        offenders.join("\n")
    );
}

#[test]
fn the_date_detector_sees_dates_and_nothing_else() {
    // fixed-date: inputs of the detector itself.
    assert!(has_date_literal(r#"let d = "2026-11-28";"#));
    assert!(has_date_literal(
        "Utc.with_ymd_and_hms(2026, 11, 28, 9, 0, 0)"
    ));
    assert!(has_date_literal("NaiveDate::from_ymd_opt( 2024, 2, 1)"));
    assert!(!has_date_literal(
        "Utc.with_ymd_and_hms(year, 11, 28, 9, 0, 0)"
    ));
    assert!(!has_date_literal(
        r#"let id = "AS1000408BSPMRDI8IHBGO4DFQAISU9O";"#
    ));
    assert!(!has_date_literal("amount: 1110-11"));
}
