//! `qrpayd-fuzz`: runs the fuzz targets (see README "Fuzzing").
//!
//! ```text
//! qrpayd-fuzz list
//! qrpayd-fuzz run <target|all> [--seconds N] [--seed N] [--time-limit-ms N]
//!                 [--corpus DIR] [--artifacts DIR] [--save-new DIR]
//!                 [--malloc-limit-mb N] [--rss-limit-mb N]
//! qrpayd-fuzz replay <target> <file or folder>...
//! ```
//!
//! `run` reads `fuzz/corpus/<target>/` (or `--corpus DIR/<target>/`), runs every file, then
//! mutates for `--seconds` (default 5), and exits 1 when anything was found (written under
//! `--artifacts`, default `target/fuzz-artifacts/<target>/`).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use qrpayd_fuzz::engine::{self, Settings};
use qrpayd_fuzz::targets;

#[global_allocator]
static ALLOCATOR: qrpayd_fuzz::alloc::CappedAllocator = qrpayd_fuzz::alloc::CappedAllocator;

const USAGE: &str = "usage: qrpayd-fuzz list | run <target|all> [--seconds N] [--seed N] \
[--time-limit-ms N] [--corpus DIR] [--artifacts DIR] [--save-new DIR] [--malloc-limit-mb N] \
[--rss-limit-mb N] | replay <target> <file|dir>...";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("list") => {
            for target in targets::ALL {
                println!("{}", target.name);
            }
            ExitCode::SUCCESS
        }
        Some("run") => match run(args.get(1..).unwrap_or_default()) {
            Ok(code) => code,
            Err(e) => {
                eprintln!("{e}\n{USAGE}");
                ExitCode::from(2)
            }
        },
        Some("replay") => match replay(args.get(1..).unwrap_or_default()) {
            Ok(code) => code,
            Err(e) => {
                eprintln!("{e}\n{USAGE}");
                ExitCode::from(2)
            }
        },
        _ => {
            eprintln!("{USAGE}");
            ExitCode::from(2)
        }
    }
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_owned()
}

fn number(value: Option<&String>, flag: &str) -> Result<u64, String> {
    value
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| format!("{flag} needs a whole number"))
}

fn run(args: &[String]) -> Result<ExitCode, String> {
    let which = args.first().ok_or("which target?")?;
    let mut seconds = 5;
    let mut corpus = root().join("corpus");
    let mut malloc_mb = 256;
    let mut rss_mb = 2048;
    let mut settings = Settings {
        millis: 0,
        seed: 14,
        time_limit_ms: 5_000,
        artifacts: root().join("../target/fuzz-artifacts"),
        save_new: None,
        caps: (usize::MAX, usize::MAX),
    };
    let mut rest = args.get(1..).unwrap_or_default().iter();
    while let Some(flag) = rest.next() {
        match flag.as_str() {
            "--seconds" => seconds = number(rest.next(), flag)?,
            "--seed" => settings.seed = number(rest.next(), flag)?,
            "--time-limit-ms" => settings.time_limit_ms = number(rest.next(), flag)?,
            "--malloc-limit-mb" => malloc_mb = number(rest.next(), flag)?,
            "--rss-limit-mb" => rss_mb = number(rest.next(), flag)?,
            "--corpus" => corpus = rest.next().ok_or("--corpus needs a folder")?.into(),
            "--artifacts" => {
                settings.artifacts = rest.next().ok_or("--artifacts needs a folder")?.into();
            }
            "--save-new" => {
                settings.save_new = Some(rest.next().ok_or("--save-new needs a folder")?.into());
            }
            other => return Err(format!("unknown option {other}")),
        }
    }
    settings.millis = seconds.saturating_mul(1000);
    let mb = |n: u64| usize::try_from(n.saturating_mul(1 << 20)).unwrap_or(usize::MAX);
    settings.caps = (mb(malloc_mb), mb(rss_mb));
    let chosen: Vec<_> = if which == "all" {
        targets::ALL.iter().collect()
    } else {
        vec![targets::find(which).ok_or_else(|| format!("no target {which:?}"))?]
    };
    let mut found = 0;
    println!(
        "{:<26} {:>8} {:>8} {:>9} {:>7} {:>6} {:>9} {:>8}",
        "target", "corpus", "execs", "execs/s", "secs", "kept", "outcomes", "findings"
    );
    for target in chosen {
        let report = engine::fuzz(target, &corpus.join(target.name), &settings);
        println!(
            "{:<26} {:>8} {:>8} {:>9} {:>7} {:>6} {:>9} {:>8}",
            target.name,
            report.corpus,
            report.execs,
            report.per_second(),
            format!("{}.{}", report.millis / 1000, report.millis % 1000 / 100),
            report.kept,
            report.outcomes,
            report.findings.len()
        );
        if report.corpus == 0 {
            eprintln!(
                "!!! {}: no corpus at {}",
                target.name,
                corpus.join(target.name).display()
            );
            found += 1;
        }
        found += report.findings.len();
    }
    Ok(if found == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn replay(args: &[String]) -> Result<ExitCode, String> {
    let name = args.first().ok_or("which target?")?;
    let target = targets::find(name).ok_or_else(|| format!("no target {name:?}"))?;
    let mut failed = false;
    for path in args.get(1..).unwrap_or_default() {
        let path = Path::new(path);
        let files = if path.is_dir() {
            engine::corpus(path)
        } else {
            vec![(
                path.to_owned(),
                std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?,
            )]
        };
        for (file, bytes) in files {
            match engine::run_one(target, &bytes) {
                Ok(outcome) => println!("ok   {}: {outcome}", file.display()),
                Err(complaint) => {
                    failed = true;
                    println!("FAIL {}: {complaint}", file.display());
                }
            }
        }
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
