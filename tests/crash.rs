//! Black-box crash tests: the real `qrpayd` binary runs as a child process on a SQLite file in
//! a temporary directory, talking to a sandbox bank served from the test process. The tests
//! kill it with SIGKILL at awkward moments, restart it on the same configuration and database,
//! and check that no payment is lost or left hanging; and that SIGTERM stops it cleanly.
//!
//! The sandbox is wrapped in a small recording layer (every `/api` call is noted when it
//! arrives and when it is answered), so a test can wait for "qrpayd is now inside its bank
//! call" instead of guessing with a sleep.

#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::Request;
use axum::middleware::Next;
use qrpayd_domain::money::Kopecks;
use qrpayd_sandbox::{Faults, Sandbox, SandboxConfig};
use serde_json::{Value, json};
use tokio::process::{Child, Command};
use tokio::time::{Instant, sleep, timeout};

const KEY: &str = "pos1-crash-test-key-0123456789";
const SECRET: &str = "sandbox-crash-secret-key";
const MERCHANT: &str = "MA0000000552";
const AMOUNT: i64 = 12_345;

/// The default poll interval of these tests (the brief's 500 ms).
const POLL_MS: u64 = 500;

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("HTTP client")
}

/// The sandbox bank, served from the test process, with a record of the `/api` calls it got.
struct Bank {
    sandbox: Sandbox,
    base: String,
    /// `"-> POST /api/sbp/v2/qrs"` when a call arrives, `"<- POST /api/sbp/v2/qrs 200"` when
    /// it is answered.
    seen: Arc<Mutex<Vec<String>>>,
    http: reqwest::Client,
}

impl Bank {
    async fn start() -> Bank {
        let sandbox = Sandbox::new(SandboxConfig::new(MERCHANT, SECRET));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let record = Arc::clone(&seen);
        let app = sandbox.router().layer(axum::middleware::from_fn(
            move |request: Request, next: Next| {
                let record = Arc::clone(&record);
                async move {
                    let call = format!("{} {}", request.method(), request.uri().path());
                    let api = call.contains(" /api/");
                    if api {
                        record.lock().unwrap().push(format!("-> {call}"));
                    }
                    let response = next.run(request).await;
                    if api {
                        record
                            .lock()
                            .unwrap()
                            .push(format!("<- {call} {}", response.status().as_u16()));
                    }
                    response
                }
            },
        ));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Bank {
            sandbox,
            base,
            seen,
            http: http(),
        }
    }

    fn seen(&self, entry: &str) -> bool {
        self.seen.lock().unwrap().iter().any(|e| e == entry)
    }

    fn calls(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }

    /// Waits (bounded) until the recording holds `entry`.
    async fn until_seen(&self, entry: &str) {
        for _ in 0..200 {
            if self.seen(entry) {
                return;
            }
            sleep(Duration::from_millis(25)).await;
        }
        panic!("the bank never saw {entry:?}; it saw {:?}", self.calls());
    }

    /// `GET /sandbox/qrs`: the QRs the bank holds.
    async fn qrs(&self) -> Vec<Value> {
        let v: Value = self
            .http
            .get(format!("{}/sandbox/qrs", self.base))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        v.get("qrs")
            .and_then(Value::as_array)
            .cloned()
            .expect("qrs list")
    }

    /// The customer pays the payment's QR (the sandbox's own payment call).
    async fn customer_pays(&self, payment: &Value) {
        let qr_id = payment
            .pointer("/qr/qr_id")
            .and_then(Value::as_str)
            .expect("payment has a QR");
        self.sandbox
            .pay(qr_id, Kopecks::new(AMOUNT).unwrap())
            .await
            .expect("the sandbox accepts the payment");
    }
}

/// The real qrpayd binary on a config and SQLite file in a temporary directory.
struct Qrpayd {
    dir: tempfile::TempDir,
    config: PathBuf,
    base: String,
    child: Option<Child>,
    /// How many times the binary was started (names the log files).
    runs: usize,
    http: reqwest::Client,
}

/// A free port on 127.0.0.1 (bound, read, released).
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

impl Qrpayd {
    fn new(bank: &Bank, poll_interval_ms: u64) -> Qrpayd {
        let dir = tempfile::tempdir().unwrap();
        let addr = format!("127.0.0.1:{}", free_port());
        let text = format!(
            r#"
listen = "{addr}"
database_url = "sqlite://{db}?mode=rwc"
public_url = "http://{addr}"
payment_ttl_seconds = 300
register_timeout_seconds = 310
bank_timeout_seconds = 2

[[registers]]
id = "pos-1"
api_key = "{KEY}"

[[providers]]
name = "raiffeisen"
kind = "raiffeisen"
base_url = "{bank}"
sbp_merchant_id = "{MERCHANT}"
secret_key = "{SECRET}"
poll_interval_ms = {poll_interval_ms}
"#,
            db = dir.path().join("qrpayd.db").display(),
            bank = bank.base,
        );
        let config = dir.path().join("qrpayd.toml");
        std::fs::write(&config, text).unwrap();
        Qrpayd {
            dir,
            config,
            base: format!("http://{addr}"),
            child: None,
            runs: 0,
            http: http(),
        }
    }

    fn log_path(&self, run: usize, stream: &str) -> PathBuf {
        self.dir.path().join(format!("qrpayd-{run}.{stream}"))
    }

    /// Everything the binary wrote so far, every run, for failure messages.
    fn logs(&self) -> String {
        let mut all = String::new();
        for run in 1..=self.runs {
            for stream in ["out", "err"] {
                let text = std::fs::read_to_string(self.log_path(run, stream)).unwrap_or_default();
                if !text.trim().is_empty() {
                    all.push_str(&format!("--- run {run} std{stream} ---\n{text}\n"));
                }
            }
        }
        all
    }

    /// Starts the binary and waits until `/healthz` answers 200.
    async fn start(&mut self) {
        assert!(self.child.is_none(), "qrpayd is already running");
        self.runs += 1;
        let stdout = std::fs::File::create(self.log_path(self.runs, "out")).unwrap();
        let stderr = std::fs::File::create(self.log_path(self.runs, "err")).unwrap();
        let mut command = Command::new(env!("CARGO_BIN_EXE_qrpayd"));
        command
            .arg("serve")
            .arg("--config")
            .arg(&self.config)
            .current_dir(self.dir.path())
            .env("RUST_LOG", "info,sqlx=warn,tower_http=warn")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::from(stdout))
            .stderr(Stdio::from(stderr))
            .kill_on_drop(true);
        // The configuration must come from the file only.
        for (name, _) in std::env::vars() {
            if name.starts_with("QRPAYD_") {
                command.env_remove(name);
            }
        }
        let mut child = command.spawn().expect("start qrpayd");
        for _ in 0..100 {
            if let Some(status) = child.try_wait().unwrap() {
                self.child = None;
                panic!(
                    "qrpayd exited during startup with {status}\n{}",
                    self.logs()
                );
            }
            let health = self.http.get(format!("{}/healthz", self.base)).send().await;
            if health.is_ok_and(|r| r.status().is_success()) {
                self.child = Some(child);
                return;
            }
            sleep(Duration::from_millis(50)).await;
        }
        let _ = child.kill().await;
        panic!("qrpayd did not become healthy in 5 s\n{}", self.logs());
    }

    /// SIGKILL (tokio's `Child::kill`), and reap the process.
    async fn kill_9(&mut self) {
        let mut child = self.child.take().expect("qrpayd is running");
        child.kill().await.expect("SIGKILL qrpayd");
    }

    fn pid(&self) -> u32 {
        self.child
            .as_ref()
            .and_then(Child::id)
            .expect("qrpayd is running")
    }

    async fn send(
        &self,
        request: reqwest::RequestBuilder,
    ) -> (u16, Value, reqwest::header::HeaderMap) {
        let response = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("request to qrpayd failed: {e}\n{}", self.logs()));
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap();
        let body = serde_json::from_str(&text)
            .unwrap_or_else(|_| panic!("{status}: not JSON: {text:?}\n{}", self.logs()));
        (status, body, headers)
    }

    fn create_request(&self, idem: &str) -> reqwest::RequestBuilder {
        self.http
            .post(format!("{}/v1/payments", self.base))
            .bearer_auth(KEY)
            .header("Idempotency-Key", idem)
            .json(&json!({"amount": AMOUNT, "currency": "RUB", "provider": "raiffeisen"}))
    }

    async fn create(&self, idem: &str) -> (u16, Value, reqwest::header::HeaderMap) {
        self.send(self.create_request(idem)).await
    }

    /// `GET /v1/payments/{id}?wait=N`.
    async fn wait(&self, id: &str, seconds: u64) -> Value {
        let (status, body, _) = self
            .send(
                self.http
                    .get(format!("{}/v1/payments/{id}?wait={seconds}", self.base))
                    .bearer_auth(KEY),
            )
            .await;
        assert_eq!(status, 200, "{body}\n{}", self.logs());
        body
    }
}

fn text<'a>(v: &'a Value, pointer: &str) -> &'a str {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or("<missing>")
}

/// Creates the payment and checks the answer: 201, pending, with a QR.
async fn create_pending(qrpayd: &Qrpayd, idem: &str) -> Value {
    let (status, body, _) = qrpayd.create(idem).await;
    assert_eq!(status, 201, "{body}\n{}", qrpayd.logs());
    assert_eq!(text(&body, "/status"), "pending", "{body}");
    assert!(
        body.pointer("/qr/qr_id").is_some_and(Value::is_string),
        "no QR: {body}"
    );
    body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_while_pending_then_customer_pays() {
    let bank = Bank::start().await;
    let mut qrpayd = Qrpayd::new(&bank, POLL_MS);
    qrpayd.start().await;
    let payment = create_pending(&qrpayd, "sale-1").await;
    let id = text(&payment, "/id").to_owned();

    qrpayd.kill_9().await;
    // Lost callbacks: only polling after the restart can learn of the payment.
    bank.sandbox.set_faults(Faults {
        drop_callbacks: true,
        ..Faults::default()
    });
    bank.customer_pays(&payment).await;

    qrpayd.start().await;
    let after = qrpayd.wait(&id, 10).await;
    assert_eq!(
        text(&after, "/status"),
        "paid",
        "{after}\n{}",
        qrpayd.logs()
    );
    assert!(
        after.get("paid_at").is_some_and(Value::is_string),
        "paid_at not set: {after}"
    );
    assert_eq!(after.get("qr"), payment.get("qr"), "the QR changed");

    // The register retries its old request: the same payment, no second QR.
    let (status, replay, headers) = qrpayd.create("sale-1").await;
    assert_eq!(status, 201, "{replay}");
    assert_eq!(text(&replay, "/id"), id, "{replay}");
    assert_eq!(text(&replay, "/status"), "paid", "{replay}");
    assert_eq!(
        headers
            .get("idempotent-replayed")
            .and_then(|v| v.to_str().ok()),
        Some("true")
    );
    let qrs = bank.qrs().await;
    assert_eq!(qrs.len(), 1, "the bank holds more than one QR: {qrs:?}");
    assert_eq!(
        qrs.first().and_then(|q| q.get("qrId")),
        payment.pointer("/qr/qr_id"),
        "{qrs:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_mid_creation_leaves_no_stuck_payment() {
    let bank = Bank::start().await;
    let mut qrpayd = Qrpayd::new(&bank, POLL_MS);
    qrpayd.start().await;
    // The bank answers slowly (but within qrpayd's 2 s bank timeout).
    bank.sandbox.set_faults(Faults {
        latency_ms: 1500,
        ..Faults::default()
    });

    let request = qrpayd.create_request("sale-2");
    let first_try = tokio::spawn(async move { request.send().await });
    // The payment row is saved before the bank is called: once the bank sees the call, the
    // row exists and qrpayd is waiting for the QR. Kill it right there.
    bank.until_seen("-> POST /api/sbp/v2/qrs").await;
    qrpayd.kill_9().await;
    bank.sandbox.set_faults(Faults::default());
    let first = first_try.await.unwrap();
    assert!(
        first.is_err(),
        "the killed qrpayd cannot have answered: {first:?}"
    );

    qrpayd.start().await;
    // The register retries with the same key until it gets a definite answer. While the
    // create is unresolved qrpayd holds each retry for up to bank_timeout + 1 s and then
    // answers 409 `payment_not_ready` ("retry in a moment"); the worker decides the create
    // was interrupted at created_at + bank_timeout + 5 s.
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut not_ready = 0;
    let (status, answer) = loop {
        let (status, body, _) = qrpayd.create("sale-2").await;
        if status == 409 && text(&body, "/error/code") == "payment_not_ready" {
            assert!(
                Instant::now() < deadline,
                "still not ready after 20 s: {body}\n{}",
                qrpayd.logs()
            );
            assert_eq!(text(&body, "/payment/status"), "pending", "{body}");
            not_ready += 1;
            continue;
        }
        break (status, body);
    };
    eprintln!("mid-creation retry: {not_ready} × 409 payment_not_ready, then {status}: {answer}");
    let payment = match status {
        201 => answer.clone(),
        502 | 504 => {
            let p = answer
                .get("payment")
                .cloned()
                .expect("the error carries the payment");
            assert_eq!(text(&p, "/status"), "failed", "{answer}");
            assert_eq!(
                text(&p, "/failure/code"),
                "creation_interrupted",
                "{answer}"
            );
            assert!(p.get("qr").is_some_and(Value::is_null), "{answer}");
            p
        }
        other => panic!("no definite answer: {other} {answer}\n{}", qrpayd.logs()),
    };
    let id = text(&payment, "/id").to_owned();

    // Never pending without a QR for good: either final, or pending with a QR to show.
    let now = qrpayd.wait(&id, 0).await;
    let has_qr = now.get("qr").is_some_and(Value::is_object);
    match text(&now, "/status") {
        "pending" if has_qr => {}
        "pending" => {
            let later = qrpayd.wait(&id, 10).await;
            assert_eq!(
                text(&later, "/status"),
                "failed",
                "{later}\n{}",
                qrpayd.logs()
            );
            assert_eq!(
                text(&later, "/failure/code"),
                "creation_interrupted",
                "{later}"
            );
        }
        "failed" | "paid" | "cancelled" | "expired" => {}
        other => panic!("unexpected status {other}: {now}"),
    }
    assert_eq!(
        text(&payment, "/status"),
        text(&now, "/status"),
        "the retry and GET disagree: {payment} vs {now}"
    );

    // For the report: did the bank finish registering the killed call's QR after qrpayd died?
    let qrs = bank.qrs().await;
    eprintln!("mid-creation: the bank holds {} QR(s): {qrs:?}", qrs.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callbacks_reach_a_restarted_qrpayd() {
    let bank = Bank::start().await;
    // Polling every minute: within this test's 10 s only the bank's retried callback can
    // tell the restarted qrpayd that the customer paid (the first poll is due a minute
    // after creation, and a restart does not move it).
    let mut qrpayd = Qrpayd::new(&bank, 60_000);
    qrpayd.start().await;
    // qrpayd tells the bank its callback URL in the background at startup; wait for it, or
    // the bank would have nowhere to send the notification.
    bank.until_seen("<- POST /api/settings/v1/callback 200")
        .await;
    let payment = create_pending(&qrpayd, "sale-3").await;
    let id = text(&payment, "/id").to_owned();

    qrpayd.kill_9().await;
    // The bank's notification to the dead qrpayd fails; the bank retries every few seconds.
    bank.customer_pays(&payment).await;
    qrpayd.start().await;

    let after = qrpayd.wait(&id, 10).await;
    assert_eq!(
        text(&after, "/status"),
        "paid",
        "{after}\n{}",
        qrpayd.logs()
    );
    assert!(
        after.get("paid_at").is_some_and(Value::is_string),
        "paid_at not set: {after}"
    );
    // The notification is a hint: qrpayd confirmed it with one status query (an
    // authenticated answer). Anything more would be polling, which is a minute away.
    let asked = bank
        .calls()
        .iter()
        .filter(|c| c.starts_with("-> ") && c.contains("/payment-info"))
        .count();
    assert_eq!(
        asked,
        1,
        "one confirmation of the notification, no polling: {:?}",
        bank.calls()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_gracefully() {
    let bank = Bank::start().await;
    let mut qrpayd = Qrpayd::new(&bank, POLL_MS);
    qrpayd.start().await;
    // Some work in flight for the worker: a pending payment it polls.
    let payment = create_pending(&qrpayd, "sale-4").await;
    // A register is long-polling (up to the 60 s cap) when the stop comes: it must get the
    // current state at once, not hold the shutdown for a minute.
    let poll = {
        let url = format!(
            "{}/v1/payments/{}?wait=60",
            qrpayd.base,
            text(&payment, "/id")
        );
        let http = qrpayd.http.clone();
        tokio::spawn(async move {
            let response = http.get(url).bearer_auth(KEY).send().await.unwrap();
            (
                response.status().as_u16(),
                response.json::<Value>().await.unwrap(),
            )
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;

    let pid = qrpayd.pid();
    let sent = std::process::Command::new("kill")
        .arg("-TERM")
        .arg(pid.to_string())
        .status()
        .unwrap();
    assert!(sent.success(), "kill -TERM {pid} failed");
    let mut child = qrpayd.child.take().unwrap();
    let status = timeout(Duration::from_secs(5), child.wait())
        .await
        .unwrap_or_else(|_| {
            panic!(
                "qrpayd did not exit within 5 s of SIGTERM\n{}",
                qrpayd.logs()
            )
        })
        .unwrap();
    assert!(
        status.success(),
        "qrpayd exited with {status}\n{}",
        qrpayd.logs()
    );
    let (poll_status, polled) = poll.await.unwrap();
    assert_eq!(poll_status, 200, "{polled}");
    assert_eq!(text(&polled, "/status"), "pending", "{polled}");

    // Nothing was lost: the payment is still pending with its QR after a restart.
    qrpayd.start().await;
    let after = qrpayd.wait(text(&payment, "/id"), 0).await;
    assert_eq!(text(&after, "/status"), "pending", "{after}");
    assert_eq!(after.get("qr"), payment.get("qr"), "{after}");
}
