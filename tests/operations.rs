//! The real binary as a store's IT runs it: log lines without colour codes when they do not go
//! to a terminal (and without our timestamps on a systemd journal stream), `migrate --check |
//! --apply`, `backup` while serving, `payments list | show`.

#![expect(clippy::unwrap_used, clippy::panic, reason = "tests fail loudly")]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_qrpayd");
const KEY: &str = "pos1-operations-key-0123";
const ADMIN: &str = "admin-operations-key-0123";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A configuration with its own SQLite file and port; the bank is never called.
fn config(dir: &Path, port: u16) -> PathBuf {
    let path = dir.join("qrpayd.toml");
    std::fs::write(
        &path,
        format!(
            r#"
listen = "127.0.0.1:{port}"
database_url = "sqlite://{db}?mode=rwc"
admin_api_key = "{ADMIN}"
[[registers]]
id = "pos-1"
api_key = "{KEY}"
[[providers]]
name = "raiffeisen"
kind = "raiffeisen"
base_url = "http://127.0.0.1:9"
sbp_merchant_id = "MA0000000552"
secret_key = "operations-secret"
"#,
            db = dir.join("q.db").display()
        ),
    )
    .unwrap();
    path
}

fn run(args: &[&str], config: &Path) -> Output {
    Command::new(BIN)
        .args(args)
        .arg("--config")
        .arg(config)
        .env_remove("QRPAYD_CONFIG")
        .env_remove("JOURNAL_STREAM")
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Waits (bounded) until `/healthz` answers.
fn wait_healthy(port: u16) {
    for _ in 0..200 {
        if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            use std::io::{Read, Write};
            let _ = s.write_all(b"GET /healthz HTTP/1.0\r\n\r\n");
            let mut answer = String::new();
            let _ = s.read_to_string(&mut answer);
            if answer.starts_with("HTTP/1.0 200") || answer.starts_with("HTTP/1.1 200") {
                return;
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("qrpayd did not become healthy on port {port}");
}

fn stop(mut child: Child) {
    // SIGTERM, as systemd stops it.
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status();
    for _ in 0..100 {
        if child.try_wait().unwrap().is_some() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.kill().unwrap();
    child.wait().unwrap();
}

/// Serves with stdout and stderr in `log`; `journal_stream` sets `JOURNAL_STREAM` to the log
/// file's device and inode, as systemd does for its stream.
fn serve_logging_to(config: &Path, port: u16, log: &Path, journal_stream: bool) -> String {
    use std::os::unix::fs::MetadataExt;
    let file = std::fs::File::create(log).unwrap();
    let meta = file.metadata().unwrap();
    let mut command = Command::new(BIN);
    command
        .args(["serve", "--config"])
        .arg(config)
        .env_remove("RUST_LOG")
        .env_remove("JOURNAL_STREAM")
        .stdout(file.try_clone().unwrap())
        .stderr(file);
    if journal_stream {
        command.env("JOURNAL_STREAM", format!("{}:{}", meta.dev(), meta.ino()));
    }
    let child = command.spawn().unwrap();
    wait_healthy(port);
    stop(child);
    std::fs::read_to_string(log).unwrap()
}

/// Is a journald listening on this machine (then a journal stream logs natively to it)?
fn journald_listens() -> bool {
    std::os::unix::net::UnixDatagram::unbound()
        .and_then(|s| s.send_to(&[], "/run/systemd/journal/socket"))
        .is_ok()
}

#[test]
fn logs_carry_no_colour_codes_off_a_terminal_and_no_timestamps_on_a_journal_stream() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let config = config(dir.path(), port);

    let plain = serve_logging_to(&config, port, &dir.path().join("plain.log"), false);
    assert!(plain.contains("qrpayd is listening"), "{plain}");
    assert!(
        !plain.contains('\u{1b}'),
        "colour codes in a file: {plain:?}"
    );
    // Each line starts with our timestamp (a file has no other).
    let first = plain.lines().next().unwrap();
    assert!(
        first.starts_with(|c: char| c.is_ascii_digit()),
        "no timestamp: {first}"
    );

    let journal = serve_logging_to(&config, port, &dir.path().join("journal.log"), true);
    if journald_listens() {
        // Native records went to journald, nothing to the stream.
        assert!(!journal.contains("qrpayd is listening"), "{journal}");
    } else {
        assert!(journal.contains("qrpayd is listening"), "{journal}");
        assert!(!journal.contains('\u{1b}'), "{journal:?}");
        for line in journal.lines() {
            assert!(
                line.trim_start().starts_with(char::is_alphabetic),
                "a journal line starts with a timestamp or junk (journald stamps lines itself): {line}"
            );
        }
    }
}

#[test]
fn migrate_check_reports_pending_then_apply_makes_it_current() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), free_port());
    let check = run(&["migrate", "--check"], &config);
    assert_eq!(check.status.code(), Some(2), "{}", text(&check.stdout));
    assert!(
        text(&check.stdout).contains("pending: 1 "),
        "{}",
        text(&check.stdout)
    );
    let apply = run(&["migrate", "--apply"], &config);
    assert!(apply.status.success(), "{}", text(&apply.stderr));
    assert!(
        text(&apply.stdout).contains("upgraded from version 0"),
        "{}",
        text(&apply.stdout)
    );
    let check = run(&["migrate", "--check"], &config);
    assert!(check.status.success(), "{}", text(&check.stdout));
    assert!(text(&check.stdout).contains("up to date"));
    // One of the two is required.
    let neither = run(&["migrate"], &config);
    assert!(!neither.status.success());
}

#[test]
fn backup_copies_the_journal_while_serving_and_never_overwrites() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let config = config(dir.path(), port);
    let child = Command::new(BIN)
        .args(["serve", "--config"])
        .arg(&config)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_healthy(port);
    let output = dir.path().join("backup.db");
    let backup = run(&["backup", "--output", output.to_str().unwrap()], &config);
    let again = run(&["backup", "--output", output.to_str().unwrap()], &config);
    stop(child);
    assert!(backup.status.success(), "{}", text(&backup.stderr));
    assert!(output.metadata().unwrap().len() > 0);
    assert!(!again.status.success());
    assert!(
        text(&again.stderr).contains("already exists"),
        "{}",
        text(&again.stderr)
    );
    // The copy is a journal at the current schema.
    let copy = config.with_file_name("copy.toml");
    std::fs::write(
        &copy,
        std::fs::read_to_string(&config)
            .unwrap()
            .replace("q.db", "backup.db"),
    )
    .unwrap();
    let check = run(&["migrate", "--check"], &copy);
    assert!(check.status.success(), "{}", text(&check.stdout));
}

#[test]
fn metrics_listen_serves_metrics_without_a_key_and_nothing_else() {
    use std::io::{Read, Write};
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let metrics_port = free_port();
    let config = config(dir.path(), port);
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        format!("metrics_listen = \"127.0.0.1:{metrics_port}\"\n{text}"),
    )
    .unwrap();
    let child = Command::new(BIN)
        .args(["serve", "--config"])
        .arg(&config)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_healthy(port);
    let get = |path: &str| {
        let mut s = std::net::TcpStream::connect(("127.0.0.1", metrics_port)).unwrap();
        s.write_all(format!("GET {path} HTTP/1.0\r\n\r\n").as_bytes())
            .unwrap();
        let mut answer = String::new();
        s.read_to_string(&mut answer).unwrap();
        answer
    };
    let metrics = get("/metrics");
    let other = get("/v1/payments");
    stop(child);
    assert!(metrics.starts_with("HTTP/1.0 200"), "{metrics}");
    assert!(metrics.contains("qrpayd_jobs_due"), "{metrics}");
    assert!(other.contains(" 404 "), "{other}");
}
