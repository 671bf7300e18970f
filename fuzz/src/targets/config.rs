//! The configuration loader (`Config::from_toml`, what `qrpayd serve` and `check-config` read):
//! any text, with and without `QRPAYD_*` overrides.
//!
//! Oracle: a configuration that loads validates (`validate` agrees with the loader).

use qrpayd_service::config::Config;

use crate::Target;

/// The target.
pub(super) const TARGET: Target = Target {
    name: "config_toml",
    run,
    max_len: 8 * 1024,
    dictionary: &[
        "[[registers]]\n",
        "[[providers]]\n",
        "[sandbox]\n",
        "listen = ",
        "database_url = ",
        "\"sqlite://q.db?mode=rwc\"",
        "payment_ttl_seconds = ",
        "register_timeout_seconds = ",
        "bank_timeout_seconds = ",
        "max_wait_seconds = ",
        "api_key = ",
        "id = ",
        "kind = ",
        "\"raiffeisen\"",
        "\"tbank\"",
        "\"sandbox\"",
        "provider = ",
        "name = ",
        "base_url = ",
        "secret_key = ",
        "password = ",
        "terminal_key = ",
        "poll_interval_ms = ",
        "late_payment_policy = ",
        "\"refund\"",
        "\"flag\"",
        "amqp_url = ",
        "display_key = ",
        "admin_api_key = ",
        "max_amount_kopecks = ",
        "= 9223372036854775807",
        "= -1",
        "= 0",
        "= 1e3",
        "= true",
        "= []",
        "= {}",
        "\"\"\"",
        "'",
        "#",
        "\n",
    ],
};

/// Environment overrides tried with every text.
const ENV: &[(&str, &str)] = &[
    ("QRPAYD_LISTEN", "127.0.0.1:0"),
    ("QRPAYD_PAYMENT_TTL_SECONDS", "99999999999999999999"),
    ("QRPAYD_MAX_WAIT_SECONDS", "-1"),
];

fn run(data: &[u8]) -> Result<String, String> {
    let Ok(text) = std::str::from_utf8(data) else {
        return Ok("not UTF-8".into());
    };
    let plain = Config::from_toml(text, Vec::new());
    if let Ok(config) = &plain {
        config
            .validate()
            .map_err(|e| format!("loaded, yet does not validate: {e}"))?;
    }
    let env = ENV.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned()));
    let overridden = Config::from_toml(text, env);
    Ok(format!(
        "{} / {}",
        super::words(&plain, 6),
        super::words(&overridden, 6)
    ))
}
