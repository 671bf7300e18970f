//! No secret reaches an output: the real binary, logging at `debug`, serves requests with every
//! kind of key (right, wrong, in headers and in display URLs), fails to reach its broker and its
//! bank, and stops; its standard output and error never hold a key, a password or a secret.
//! A configuration error on a line holding a key never repeats it either.

#![expect(clippy::unwrap_used, reason = "tests fail loudly")]

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_qrpayd");
const KEY: &str = "pos1-secret-test-key-0123";
const ADMIN: &str = "admin-secret-test-key-0123";
const DISPLAY: &str = "display-secret-test-key-0123";
const BANK_SECRET: &str = "bank-secret-test-0123";
const AMQP_PASSWORD: &str = "amqp-password-test-0123";
const WRONG_KEY: &str = "wrong-guess-test-key-0123";

const SECRETS: [&str; 6] = [KEY, ADMIN, DISPLAY, BANK_SECRET, AMQP_PASSWORD, WRONG_KEY];

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn config(dir: &Path, port: u16) -> String {
    format!(
        r#"
listen = "127.0.0.1:{port}"
database_url = "sqlite://{db}?mode=rwc"
admin_api_key = "{ADMIN}"
amqp_url = "amqp://qrpayd:{AMQP_PASSWORD}@127.0.0.1:9/%2f"
[[registers]]
id = "pos-1"
api_key = "{KEY}"
display_key = "{DISPLAY}"
[[providers]]
name = "raiffeisen"
kind = "raiffeisen"
base_url = "http://127.0.0.1:9"
sbp_merchant_id = "MA0000000552"
secret_key = "{BANK_SECRET}"
"#,
        db = dir.join("q.db").display()
    )
}

/// Kills the server if the test fails before stopping it.
struct Server(Option<std::process::Child>);

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn assert_no_secret(what: &str, text: &str) {
    for secret in SECRETS {
        assert!(
            !text.contains(secret),
            "{what} holds a secret ({secret}):\n{text}"
        );
    }
}

#[tokio::test]
async fn nothing_the_server_prints_holds_a_secret() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let path = dir.path().join("qrpayd.toml");
    std::fs::write(&path, config(dir.path(), port)).unwrap();
    let child = Command::new(BIN)
        .args(["serve", "--config"])
        .arg(&path)
        .env("RUST_LOG", "debug")
        .env_remove("QRPAYD_CONFIG")
        .env_remove("JOURNAL_STREAM")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut server = Server(Some(child));
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let mut up = false;
    for _ in 0..200 {
        if http
            .get(format!("{base}/healthz"))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
        {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(up, "qrpayd did not start");
    let get = |path: String, key: Option<&'static str>| {
        let mut request = http.get(format!("{base}{path}"));
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        async move { request.send().await.unwrap().status().as_u16() }
    };
    assert_eq!(get("/v1/payments".into(), Some(KEY)).await, 200);
    assert_eq!(get("/v1/payments".into(), Some(WRONG_KEY)).await, 401);
    assert_eq!(
        get("/v1/payments?register=pos-1".into(), Some(ADMIN)).await,
        200
    );
    assert_eq!(
        get(format!("/display/pos-1?key={DISPLAY}"), None).await,
        200
    );
    assert_eq!(
        get(format!("/display/pos-1?key={WRONG_KEY}"), None).await,
        404
    );
    assert_eq!(
        get(format!("/display/pos-1/events?key={WRONG_KEY}"), None).await,
        404
    );
    assert_eq!(get("/metrics".into(), Some(ADMIN)).await, 200);
    // A payment the bank cannot be reached for, and a forged notification.
    let created = http
        .post(format!("{base}/v1/payments"))
        .bearer_auth(KEY)
        .header("Idempotency-Key", "secrets-1")
        .header("Content-Type", "application/json")
        .body(r#"{"amount": 100}"#)
        .send()
        .await
        .unwrap();
    assert!(created.status().is_server_error(), "{}", created.status());
    let forged = http
        .post(format!("{base}/v1/callbacks/raiffeisen"))
        .header("X-Api-Signature-SHA256", BANK_SECRET)
        .body("{}")
        .send()
        .await
        .unwrap();
    assert!(forged.status().is_client_error(), "{}", forged.status());

    let child = server.0.take().unwrap();
    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let output = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    // It did log, at debug, about these requests and the broker.
    assert!(stdout.contains("request") || stderr.contains("request"));
    assert!(stdout.contains("key=***"), "{stdout}");
    assert_no_secret("stdout", &stdout);
    assert_no_secret("stderr", &stderr);
}

#[test]
fn a_configuration_error_never_repeats_a_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("qrpayd.toml");
    // An unterminated string on the line of a key: the TOML parser's own message quotes it.
    let broken = config(dir.path(), 8080).replace(
        &format!("secret_key = \"{BANK_SECRET}\""),
        &format!("secret_key = \"{BANK_SECRET}"),
    );
    std::fs::write(&path, broken).unwrap();
    let output = Command::new(BIN)
        .args(["check-config", "--config"])
        .arg(&path)
        .env_remove("QRPAYD_CONFIG")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("not valid TOML: line "), "{stderr}");
    assert_no_secret("stderr", &stderr);
    // A key in a number's place.
    let misplaced = config(dir.path(), 8080).replace(
        "listen = ",
        &format!("max_wait_seconds = \"{ADMIN}\"\nlisten = "),
    );
    std::fs::write(&path, misplaced).unwrap();
    let output = Command::new(BIN)
        .args(["check-config", "--config"])
        .arg(&path)
        .env_remove("QRPAYD_CONFIG")
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert_no_secret("stderr", &String::from_utf8_lossy(&output.stderr));
}
