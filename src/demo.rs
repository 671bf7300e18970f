//! The embedded demo (`qrpayd` with no arguments): its configuration, written with random keys
//! on first start and readable by its owner only, the banner that tells a newcomer what to try,
//! and the sandbox bank the demo serves under `/sandbox-bank`. The binary wires the sandbox in
//! here so that the service crate never depends on it.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use qrpayd_service::config::{Config, demo_toml};

/// Where the demo keeps its configuration (in the working directory).
pub(crate) const DEMO_CONFIG: &str = "qrpayd-demo.toml";

/// A fresh random key with a readable prefix.
fn random_token(prefix: &str) -> String {
    format!("{prefix}{}", uuid::Uuid::new_v4().simple())
}

/// Writes a new file that holds keys, readable by its owner only (`0600`), never over an
/// existing one.
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()
}

/// Loads the demo config, writing a fresh one (with random keys) on first start.
pub(crate) fn demo_config() -> anyhow::Result<(Config, bool)> {
    let path = Path::new(DEMO_CONFIG);
    let first = !path.exists();
    if first {
        let text = demo_toml(
            "127.0.0.1:8080",
            &random_token("pos1-"),
            &random_token("display-"),
            &random_token("sandbox-"),
        );
        write_private(path, &text).with_context(|| format!("cannot write {DEMO_CONFIG}"))?;
    }
    Ok((Config::load(path)?, first))
}

/// The demo's banner: how to try it. It shows the register's and the display's keys (that is
/// its purpose, for a demo on this machine) and never any other credential: the journal's URL
/// is printed without its password.
pub(crate) fn demo_banner(config: &Config, first: bool) -> String {
    let base = qrpayd_service::config::redacted_url(
        &config
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", config.listen)),
    );
    let key = config
        .registers
        .first()
        .map(|r| r.api_key.expose().to_owned())
        .unwrap_or_default();
    let provider = config
        .providers
        .first()
        .map(|p| p.name.clone())
        .unwrap_or_default();
    let display = match config.registers.first() {
        Some(r) => match &r.display_key {
            Some(display_key) => format!(
                "{base}/display/{id}?key={display_key}   (&lang=en for English)",
                id = r.id,
                display_key = display_key.expose()
            ),
            None => format!(
                "none yet: add display_key = \"<16+ characters>\" to register {} in {DEMO_CONFIG}",
                r.id
            ),
        },
        None => String::new(),
    };
    format!(
        r#"
qrpayd {version} is running the embedded demo: SQLite journal ({db}) and the built-in SBP
sandbox bank at {base}/sandbox-bank. {written}

Register pos-1's API key: {key}

1. Create a payment of 123.45 RUB (the register's request):
   curl -s -X POST {base}/v1/payments -H 'Authorization: Bearer {key}' \
     -H 'Idempotency-Key: sale-1' -H 'Content-Type: application/json' \
     -d '{{"amount": 12345, "currency": "RUB", "provider": "{provider}", "order": "receipt-1"}}'

2. "Pay" it as the customer would, through the sandbox bank (qr.qr_id in step 1's answer):
   curl -s -X POST {base}/sandbox-bank/api/nspc-mock/v01/rfuture/payment/init \
     -H 'Content-Type: application/json' -d '{{"qrId": "<qr_id>", "amount": 123.45}}'

3. Watch it (long-poll up to 30 s; returns as soon as it is final):
   curl -s '{base}/v1/payments/<id>?wait=30' -H 'Authorization: Bearer {key}'

   Or cancel instead: curl -s -X POST {base}/v1/payments/<id>/cancel -H 'Authorization: Bearer {key}'

Or do all of it in the browser, on the cashier demo page (the key travels after '#', which
the browser never sends to the server):
   {base}/demo#key={key}

The customer display of pos-1 (a second screen or a kiosk: shows the QR, then "paid"):
   {display}

The QR as a picture or for the receipt printer (any payment id from step 1):
   curl -s '{base}/v1/payments/<id>/qr.png?size=512' -H 'Authorization: Bearer {key}' -o qr.png
   curl -s '{base}/v1/payments/<id>/qr.txt' -H 'Authorization: Bearer {key}'
   curl -s '{base}/v1/payments/<id>/receipt.escpos?width=58' -H 'Authorization: Bearer {key}' > slip.bin

API description: {base}/openapi.json   Health: {base}/healthz   Stop: Ctrl+C
"#,
        version = env!("CARGO_PKG_VERSION"),
        db = qrpayd_service::config::redacted_url(&config.database_url),
        written = if first {
            format!("Configuration written to {DEMO_CONFIG}.")
        } else {
            format!("Configuration read from {DEMO_CONFIG}.")
        },
    )
}

/// The demo's bank for a configuration with a `[sandbox]`: the sandbox bank, reading the same
/// clock as qrpayd, to be served under `/sandbox-bank`.
pub(crate) fn demo_bank(
    config: &Config,
    clock: Arc<dyn qrpayd_service::clock::Clock>,
) -> Option<axum::Router> {
    config.sandbox.as_ref().map(|s| {
        qrpayd_sandbox::Sandbox::new(
            qrpayd_sandbox::SandboxConfig::new(
                s.sbp_merchant_id.clone(),
                s.secret_key.expose().to_owned(),
            )
            .with_clock(clock),
        )
        .router()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_banner_shows_no_credential_but_the_demo_keys() {
        let text = demo_toml(
            "127.0.0.1:8080",
            "demo-register-key-0123",
            "demo-display-key-0123",
            "sandbox-secret-0123",
        )
        .replace(
            "sqlite://qrpayd-demo.db?mode=rwc",
            "postgres://qrpayd:db-password-0123@db.lan/qrpayd",
        );
        let config = Config::from_toml(&text, Vec::new()).unwrap();
        let banner = demo_banner(&config, true);
        assert!(
            banner.contains("postgres://qrpayd:***@db.lan/qrpayd"),
            "{banner}"
        );
        assert!(!banner.contains("db-password-0123"), "{banner}");
        assert!(!banner.contains("sandbox-secret-0123"), "{banner}");
        assert!(banner.contains("demo-register-key-0123"));
    }

    #[test]
    fn files_holding_keys_are_the_owners_only_and_never_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("qrpayd-demo.toml");
        write_private(&path, "admin_api_key = \"x\"").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert!(write_private(&path, "other").is_err());
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "admin_api_key = \"x\""
        );
    }
}
