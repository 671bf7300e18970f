//! Where log lines go and how they look, decided once at startup.
//!
//! * On a terminal: coloured, human-readable lines with timestamps.
//! * Redirected to a file or a pipe: the same lines without colour codes.
//! * Under systemd (`JOURNAL_STREAM` names our stdout or stderr): straight to journald with
//!   structured fields (`PAYMENT`, `REGISTER`, `PROVIDER`, `REFUND`, … upper-cased from the
//!   tracing fields), so `journalctl -u qrpayd PAYMENT=pay_…` finds a payment's lines; if the
//!   journald socket cannot be reached, plain lines without our own timestamps (the journal
//!   stamps every line itself).
//! * `log_format = "json"`: JSON lines, whatever stdout is.

use std::io::IsTerminal;

use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// How logging was set up (for tests and the startup line).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sink {
    /// Coloured lines on a terminal.
    Terminal,
    /// Plain lines (file, pipe).
    Plain,
    /// Plain lines without timestamps: the journal stream, journald socket unreachable.
    JournalStream,
    /// Native journald records with fields.
    Journald,
    /// JSON lines.
    Json,
}

/// `JOURNAL_STREAM` is `<device>:<inode>` of the stream systemd connected to our stdout or
/// stderr; it is only ours when one of them still is that stream (a child of a service that
/// redirected its output inherits the variable, not the stream).
fn journal_stream_is_ours() -> bool {
    use std::os::unix::fs::MetadataExt;
    let Some(value) = std::env::var_os("JOURNAL_STREAM") else {
        return false;
    };
    let Some((device, inode)) = value.to_str().and_then(|v| v.split_once(':')) else {
        return false;
    };
    let (Ok(device), Ok(inode)) = (device.parse::<u64>(), inode.parse::<u64>()) else {
        return false;
    };
    ["/proc/self/fd/1", "/proc/self/fd/2"]
        .iter()
        .any(|fd| std::fs::metadata(fd).is_ok_and(|m| m.dev() == device && m.ino() == inode))
}

/// Sets up the global subscriber. `format` is the config's `log_format` (`text` or `json`).
pub(crate) fn init(format: &str) -> Sink {
    let filter = || {
        tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
            tracing_subscriber::EnvFilter::new("info,sqlx=warn,tower_http=warn")
        })
    };
    let fmt = tracing_subscriber::fmt().with_env_filter(filter());
    if format == "json" {
        fmt.json().with_ansi(false).init();
        return Sink::Json;
    }
    if journal_stream_is_ours() {
        match tracing_journald::layer() {
            Ok(layer) => {
                let layer = layer
                    .with_field_prefix(None)
                    .with_syslog_identifier("qrpayd".to_owned());
                tracing_subscriber::registry()
                    .with(filter())
                    .with(layer)
                    .init();
                return Sink::Journald;
            }
            Err(_) => {
                fmt.without_time().with_ansi(false).init();
                return Sink::JournalStream;
            }
        }
    }
    if std::io::stdout().is_terminal() {
        fmt.with_ansi(true).init();
        Sink::Terminal
    } else {
        fmt.with_ansi(false).init();
        Sink::Plain
    }
}
