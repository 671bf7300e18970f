//! The command line as an admin and a newcomer meet it: `--version`, `check-config`, and the
//! no-argument demo (writes its config, serves, pays through the built-in sandbox bank).

#![expect(clippy::unwrap_used, reason = "tests fail loudly")]

use std::process::{Command, Stdio};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_qrpayd");

fn good_config(dir: &std::path::Path, register_timeout: u64) -> std::path::PathBuf {
    let path = dir.join("qrpayd.toml");
    std::fs::write(
        &path,
        format!(
            r#"
database_url = "sqlite://{}/q.db?mode=rwc"
payment_ttl_seconds = 300
register_timeout_seconds = {register_timeout}
[[registers]]
id = "pos-1"
api_key = "0123456789abcdef0123"
[[providers]]
name = "raiffeisen"
kind = "raiffeisen"
base_url = "https://pay-test.raif.ru"
sbp_merchant_id = "MA0000000552"
secret_key = "the-secret-key-value"
"#,
            dir.display()
        ),
    )
    .unwrap();
    path
}

#[test]
fn version() {
    let out = Command::new(BIN).arg("--version").output().unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8(out.stdout).unwrap().trim(),
        format!("qrpayd {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn check_config_accepts_a_good_file_and_explains_a_bad_one() {
    let dir = tempfile::tempdir().unwrap();
    let good = good_config(dir.path(), 310);
    let out = Command::new(BIN)
        .args(["check-config", "--config"])
        .arg(&good)
        .env_remove("QRPAYD_CONFIG")
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(out.status.success(), "{stdout}");
    assert!(
        stdout.contains("OK")
            && stdout.contains("300 s < qrpayd's bank wait 305 s < register timeout 310 s"),
        "{stdout}"
    );
    // The secret never shows.
    assert!(!stdout.contains("the-secret-key-value"));

    let bad = good_config(dir.path(), 300);
    let out = Command::new(BIN)
        .args(["check-config", "--config"])
        .arg(&bad)
        .output()
        .unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(!out.status.success());
    assert!(stderr.contains("timeout chain broken"), "{stderr}");
    assert!(!stderr.contains("the-secret-key-value"));

    let out = Command::new(BIN)
        .args(["check-config", "--config", "/nonexistent.toml"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8(out.stderr)
            .unwrap()
            .contains("cannot read /nonexistent.toml")
    );
}

#[test]
fn the_demo_runs_from_an_empty_directory() {
    let dir = tempfile::tempdir().unwrap();
    // The demo listens on 127.0.0.1:8080; skip (loudly) only if something else holds it.
    if std::net::TcpListener::bind("127.0.0.1:8080").is_err() {
        qrpayd_store::test_env::skipped(
            "the_demo_runs_from_an_empty_directory",
            "127.0.0.1:8080, the demo's fixed port, is taken by another program.",
        );
        return;
    }
    let mut child = Command::new(BIN)
        .current_dir(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let result = rt.block_on(async {
        let http = reqwest::Client::new();
        let base = "http://127.0.0.1:8080";
        let mut up = false;
        for _ in 0..100 {
            if http.get(format!("{base}/healthz")).send().await.is_ok() {
                up = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(up, "the demo did not start");
        let config = std::fs::read_to_string(dir.path().join("qrpayd-demo.toml")).unwrap();
        let key = config
            .lines()
            .find_map(|l| l.strip_prefix("api_key = \""))
            .and_then(|l| l.strip_suffix('"'))
            .unwrap()
            .to_owned();
        let created: serde_json::Value = http
            .post(format!("{base}/v1/payments"))
            .bearer_auth(&key)
            .header("Idempotency-Key", "demo-1")
            .json(
                &serde_json::json!({"amount": 12345, "currency": "RUB", "provider": "raiffeisen"}),
            )
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(created["status"], "pending", "{created}");
        let paid = http
            .post(format!(
                "{base}/sandbox-bank/api/nspc-mock/v01/rfuture/payment/init"
            ))
            .json(&serde_json::json!({"qrId": created["qr"]["qr_id"], "amount": 123.45}))
            .send()
            .await
            .unwrap();
        assert!(paid.status().is_success());
        let id = created["id"].as_str().unwrap();
        let after: serde_json::Value = http
            .get(format!("{base}/v1/payments/{id}?wait=10"))
            .bearer_auth(&key)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(after["status"], "paid", "{after}");
        key
    });
    child.kill().unwrap();
    let output = child.wait_with_output().unwrap();
    let banner = String::from_utf8(output.stdout).unwrap();
    // The banner tells the newcomer what to do next, with their key.
    assert!(banner.contains(&result), "{banner}");
    assert!(
        banner.contains("/sandbox-bank/api/nspc-mock/v01/rfuture/payment/init"),
        "{banner}"
    );
    // The cashier demo page (key in the fragment) and pos-1's customer display.
    assert!(
        banner.contains(&format!("http://127.0.0.1:8080/demo#key={result}")),
        "{banner}"
    );
    assert!(
        banner.contains("http://127.0.0.1:8080/display/pos-1?key=display-"),
        "{banner}"
    );
    assert!(dir.path().join("qrpayd-demo.db").exists());
}

#[test]
fn links_bind_a_printed_link_refuse_a_damaged_one_and_list_them() {
    let dir = tempfile::tempdir().unwrap();
    let config = good_config(dir.path(), 310);
    let links = |args: &[&str]| {
        let out = Command::new(BIN)
            .arg("links")
            .args(args)
            .arg("--config")
            .arg(&config)
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8(out.stderr).unwrap(),
        )
    };
    // A static link from the NSPK documentation (BANKS.md), its crc intact.
    let printed =
        "https://qr.nspk.ru/BS1A0054EC7LHJ358M29KSAKOJJ638N1?type=01&bank=100000000284&crc=F07F";
    let (ok, out, err) = links(&["bind", "--register", "pos-1", "--payload", printed]);
    assert!(ok, "{out}{err}");
    assert_eq!(
        out.trim(),
        "bound BS1A0054EC7LHJ358M29KSAKOJJ638N1 to pos-1 (raiffeisen)"
    );
    // One character off: the crc catches it, nothing is bound.
    let damaged = printed.replace("BS1A", "BS1B");
    let (ok, _, err) = links(&["bind", "--register", "pos-2", "--payload", &damaged]);
    assert!(!ok);
    assert!(
        err.contains("register \"pos-2\" is not in the configuration"),
        "{err}"
    );
    let (ok, _, err) = links(&["bind", "--register", "pos-1", "--payload", &damaged]);
    assert!(!ok);
    assert!(err.contains("crc does not verify"), "{err}");
    let (ok, out, _) = links(&["list"]);
    assert!(ok);
    assert_eq!(out.lines().count(), 1, "{out}");
    assert!(
        out.starts_with("pos-1\traiffeisen\tBS1A0054EC7LHJ358M29KSAKOJJ638N1\t"),
        "{out}"
    );
}
