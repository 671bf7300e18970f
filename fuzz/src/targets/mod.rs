//! The targets, one module per kind of outside input; [`ALL`] is the list the driver and the
//! corpus test run.

mod answers;
mod config;
mod notifications;
mod nspk;
mod pos_api;
mod registry;

use crate::Target;

/// Every target.
pub const ALL: &[Target] = &[
    notifications::RAIFFEISEN,
    notifications::TBANK,
    answers::TARGET,
    nspk::TARGET,
    registry::TARGET,
    config::TARGET,
    pos_api::TARGET,
];

/// The target called `name`.
pub fn find(name: &str) -> Option<&'static Target> {
    ALL.iter().find(|t| t.name == name)
}

/// The target's outcome in a few words: the `Debug` text of a result, cut short (the driver
/// blurs digits).
fn outcome<T: std::fmt::Debug, E: std::fmt::Debug>(result: &Result<T, E>) -> String {
    let text = match result {
        Ok(value) => format!("ok {value:?}"),
        Err(e) => format!("err {e:?}"),
    };
    // Short: the variant and the start of its message. Longer texts carry the input's own
    // words (ids, amounts), and every input would look new.
    text.chars().take(48).collect()
}

/// A provider of bank kind `name` at `base_url`, with placeholder credentials. Each kind refuses
/// keys it does not know, so the keys of every kind are offered and the refused ones dropped:
/// a new bank kind needs no change here unless it has keys of its own.
pub(crate) fn bank_kind(name: &str, base_url: &str) -> Option<qrpayd_bank::BankKind> {
    let mut fields = serde_json::Map::new();
    for (key, value) in [
        ("base_url", base_url),
        ("sbp_merchant_id", MERCHANT),
        ("secret_key", SECRET),
        ("terminal_key", TERMINAL),
        ("password", SECRET),
        // RBS.
        ("user_name", "fuzz-user"),
        ("callback_key", SECRET),
        // Sber (plain http to the harness: no certificates).
        ("client_id", "fuzz-client"),
        ("client_secret", SECRET),
        ("tid", "20188357"),
        ("member_id", "00000001"),
    ] {
        fields.insert(key.to_owned(), serde_json::Value::String(value.to_owned()));
    }
    for _ in 0..=fields.len() {
        match qrpayd_bank::BankKind::parse(name, serde_json::Value::Object(fields.clone())) {
            Ok(kind) => return Some(kind),
            Err(e) => {
                // serde's words for a key the settings do not have.
                let unknown = e.split("unknown field `").nth(1)?.split('`').next()?;
                fields.remove(unknown)?;
            }
        }
    }
    None
}

/// The merchant and keys the harness's providers use.
pub(crate) const MERCHANT: &str = "MA0000000552";
pub(crate) const SECRET: &str = "fuzz-secret-key";
/// T-Bank's documented example terminal, so the spec's examples name it.
pub(crate) const TERMINAL: &str = "TinkoffBankTest";

/// The first `n` words of a result's error (or `ok`): error messages quote the input, so the
/// words after the first few make every input look new.
fn words<T, E: std::fmt::Display>(result: &Result<T, E>, n: usize) -> String {
    match result {
        Ok(_) => "ok".into(),
        Err(e) => e
            .to_string()
            .split_whitespace()
            .take(n)
            .collect::<Vec<_>>()
            .join(" "),
    }
}
