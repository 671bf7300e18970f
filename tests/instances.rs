//! Several `qrpayd serve` processes on one database (MariaDB or PostgreSQL): they share the
//! background work, a long-poll on one sees a change made through the other, and when one is
//! killed with SIGKILL the other finishes every payment. On SQLite a second server on the same
//! file is refused.
//!
//! The backend is the run's `QRPAYD_TEST_BACKEND` (see `qrpayd_store::test_db`); `.ci/run`
//! runs this file once per backend.

#![expect(
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests fail loudly"
)]

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use qrpayd_domain::money::Kopecks;
use qrpayd_sandbox::{Faults, Sandbox, SandboxConfig};
use qrpayd_store::Backend;
use serde_json::{Value, json};
use tokio::process::{Child, Command};

const KEY: &str = "pos1-instances-key-0123456789";
const SECRET: &str = "instances-sandbox-secret";

struct Instance {
    child: Child,
    base: String,
    log: PathBuf,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn start(dir: &Path, name: &str, db: &str, bank: &str) -> Instance {
    let port = free_port();
    let config = dir.join(format!("{name}.toml"));
    std::fs::write(
        &config,
        format!(
            r#"
listen = "127.0.0.1:{port}"
database_url = "{db}"
public_url = "http://127.0.0.1:{port}"
payment_ttl_seconds = 30
register_timeout_seconds = 40
bank_timeout_seconds = 1
max_wait_seconds = 10
[[registers]]
id = "pos-1"
api_key = "{KEY}"
[[providers]]
name = "raiffeisen"
kind = "raiffeisen"
base_url = "{bank}"
sbp_merchant_id = "MA0000000552"
secret_key = "{SECRET}"
poll_interval_ms = 500
set_callback_url = false
"#
        ),
    )
    .unwrap();
    let log = dir.join(format!("{name}.log"));
    let mut command = Command::new(env!("CARGO_BIN_EXE_qrpayd"));
    command
        .args(["serve", "--config"])
        .arg(&config)
        .stdout(std::fs::File::create(&log).unwrap())
        .stderr(Stdio::from(
            std::fs::File::create(dir.join(format!("{name}.err"))).unwrap(),
        ))
        .kill_on_drop(true);
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("QRPAYD_")) {
        command.env_remove(k);
    }
    let child = command.spawn().unwrap();
    let instance = Instance {
        child,
        base: format!("http://127.0.0.1:{port}"),
        log,
    };
    let http = reqwest::Client::new();
    for _ in 0..200 {
        if http
            .get(format!("{}/healthz", instance.base))
            .send()
            .await
            .is_ok()
        {
            return instance;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "{name} did not start: {}",
        std::fs::read_to_string(dir.join(format!("{name}.err"))).unwrap_or_default()
    );
}

async fn call(
    method: reqwest::Method,
    url: String,
    body: Option<Value>,
    idem: Option<&str>,
) -> Value {
    let mut r = reqwest::Client::new().request(method, url).bearer_auth(KEY);
    if let Some(idem) = idem {
        r = r.header("Idempotency-Key", idem);
    }
    if let Some(body) = body {
        r = r.json(&body);
    }
    r.send().await.unwrap().json().await.unwrap()
}

async fn create(on: &Instance, idem: &str) -> Value {
    call(
        reqwest::Method::POST,
        format!("{}/v1/payments", on.base),
        Some(json!({"amount": 4200})),
        Some(idem),
    )
    .await
}

/// Long-polls `on` until the payment is final (bounded).
async fn final_status(on: &Instance, id: &str, rounds: usize) -> String {
    let mut status = String::new();
    for _ in 0..rounds {
        let p = call(
            reqwest::Method::GET,
            format!("{}/v1/payments/{id}?wait=10", on.base),
            None,
            None,
        )
        .await;
        status = p["status"].as_str().unwrap_or_default().to_owned();
        if status != "pending" {
            break;
        }
    }
    status
}

async fn bank() -> (Sandbox, String) {
    let sandbox = Sandbox::new(SandboxConfig::new("MA0000000552", SECRET));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(qrpayd_sandbox::serve(
        listener,
        sandbox.clone(),
        std::future::pending(),
    ));
    (sandbox, format!("http://{addr}"))
}

#[tokio::test]
async fn two_instances_share_one_database_and_survive_a_kill() {
    let db = qrpayd_store::test_db::fresh().await.unwrap();
    if db.backend == Backend::Sqlite {
        // Not a missing server: on SQLite the feature does not exist (one instance per file).
        qrpayd_store::test_env::skipped(
            "two_instances_share_one_database_and_survive_a_kill",
            "several instances are a MariaDB/PostgreSQL feature and this run is on SQLite \
             (sqlite_refuses_a_second_server covers it).\nTo run it: QRPAYD_TEST_BACKEND=mariadb \
             or postgres (.ci/run does, once per backend).",
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (sandbox, bank_url) = bank().await;
    let mut a = start(dir.path(), "a", &db.url, &bank_url).await;
    let b = start(dir.path(), "b", &db.url, &bank_url).await;
    // The bank notifies instance A only.
    reqwest::Client::new()
        .post(format!("{bank_url}/api/settings/v1/callback"))
        .bearer_auth(SECRET)
        .json(&json!({"callbackUrl": format!("{}/v1/callbacks/raiffeisen", a.base)}))
        .send()
        .await
        .unwrap();

    // A long-poll on B hears of a payment A learned from the bank's notification.
    let p1 = create(&a, "p1").await;
    let id1 = p1["id"].as_str().unwrap().to_owned();
    let waiter = {
        let url = format!("{}/v1/payments/{id1}?wait=10", b.base);
        tokio::spawn(async move { call(reqwest::Method::GET, url, None, None).await })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    let paid_at = std::time::Instant::now();
    sandbox
        .pay(
            p1["qr"]["qr_id"].as_str().unwrap(),
            Kopecks::new(4200).unwrap(),
        )
        .await
        .unwrap();
    let seen = waiter.await.unwrap();
    assert_eq!(seen["status"], "paid", "{seen}");
    assert!(
        paid_at.elapsed() < Duration::from_secs(2),
        "took {:?}",
        paid_at.elapsed()
    );

    // Four payments in flight; A dies; the bank cannot reach anyone.
    let mut pending = Vec::new();
    for n in 0..4 {
        pending.push(create(&a, &format!("q{n}")).await);
    }
    sandbox.set_faults(Faults {
        drop_callbacks: true,
        ..Faults::default()
    });
    a.child.kill().await.unwrap();
    for p in &pending[..2] {
        sandbox
            .pay(
                p["qr"]["qr_id"].as_str().unwrap(),
                Kopecks::new(4200).unwrap(),
            )
            .await
            .unwrap();
    }
    let id = |n: usize| pending[n]["id"].as_str().unwrap().to_owned();
    // B takes over A's leased jobs once the leases run out, and finishes everything.
    let cancelled = call(
        reqwest::Method::POST,
        format!("{}/v1/payments/{}/cancel", b.base, id(3)),
        None,
        None,
    )
    .await;
    assert_eq!(cancelled["status"], "cancelled", "{cancelled}");
    assert_eq!(final_status(&b, &id(0), 4).await, "paid");
    assert_eq!(final_status(&b, &id(1), 4).await, "paid");
    assert_eq!(
        final_status(&b, &id(2), 6).await,
        "expired",
        "{}",
        std::fs::read_to_string(&b.log).unwrap_or_default()
    );
    // One QR per payment at the bank: nothing was created twice.
    let qrs: Value = reqwest::Client::new()
        .get(format!("{bank_url}/sandbox/qrs"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(qrs["qrs"].as_array().unwrap().len(), 5);
}

#[tokio::test]
async fn sqlite_refuses_a_second_server() {
    let db = qrpayd_store::test_db::fresh().await.unwrap();
    if db.backend != Backend::Sqlite {
        eprintln!(
            "{} run: several instances are allowed (see two_instances_share_one_database_and_survive_a_kill)",
            db.backend.name()
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (_sandbox, bank_url) = bank().await;
    let _first = start(dir.path(), "first", &db.url, &bank_url).await;
    let port = free_port();
    let config = dir.path().join("first.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    let listen = text
        .lines()
        .find(|l| l.starts_with("listen"))
        .unwrap()
        .to_owned();
    std::fs::write(
        dir.path().join("second.toml"),
        text.replace(&listen, &format!("listen = \"127.0.0.1:{port}\"")),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_qrpayd"))
        .args(["serve", "--config"])
        .arg(dir.path().join("second.toml"))
        .output()
        .await
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("another qrpayd is already serving"),
        "{stderr}"
    );
}
