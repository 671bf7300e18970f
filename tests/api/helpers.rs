//! `spawn_app`: a real qrpayd on a random port with a fresh SQLite file, talking to a real
//! sandbox bank on another random port, with a manual clock and the worker driven by hand.

use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use qrpayd_domain::money::Kopecks;
use qrpayd_sandbox::{Faults, Sandbox, SandboxConfig};
use qrpayd_service::clock::ManualClock;
use qrpayd_service::config::Config;
use qrpayd_service::startup::{Running, StartOptions, start};
use serde_json::{Value, json};

pub(crate) const KEY: &str = "pos1-test-key-0123456789";
pub(crate) const OTHER_KEY: &str = "pos2-test-key-0123456789";
/// pos-1's customer display key (pos-2 has no display).
pub(crate) const DISPLAY_KEY: &str = "pos1-display-key-0123456789";
pub(crate) const ADMIN_KEY: &str = "admin-test-key-0123456789";
pub(crate) const SECRET: &str = "sandbox-secret-key";
pub(crate) const MERCHANT: &str = "MA0000000552";
pub(crate) const TBANK_TERMINAL: &str = qrpayd_sandbox::DEFAULT_TBANK_TERMINAL_KEY;
pub(crate) const RBS_USER: &str = qrpayd_sandbox::DEFAULT_RBS_USER_NAME;
/// The sandbox's Sber application (OAuth `client_id`).
pub(crate) const SBER_CLIENT_ID: &str = qrpayd_sandbox::DEFAULT_SBER_CLIENT_ID;
/// The sandbox's Sber terminal.
pub(crate) const SBER_TID: &str = qrpayd_sandbox::DEFAULT_SBER_TID;
/// The sandbox's Sber client id.
pub(crate) const SBER_MEMBER_ID: &str = qrpayd_sandbox::DEFAULT_SBER_MEMBER_ID;

pub(crate) struct TestApp {
    pub(crate) base: String,
    pub(crate) http: reqwest::Client,
    pub(crate) clock: ManualClock,
    pub(crate) sandbox: Sandbox,
    pub(crate) sandbox_base: String,
    pub(crate) running: Option<Running>,
    /// The configuration text qrpayd was started with (for the command-line tools).
    pub(crate) config_text: String,
    /// The test's own database (SQLite file, MariaDB or PostgreSQL: `QRPAYD_TEST_BACKEND`).
    pub(crate) _db: Arc<qrpayd_store::test_db::TestDb>,
}

#[derive(Default)]
pub(crate) struct Options {
    /// `late_payment_policy`; `None` leaves the default (refund).
    pub(crate) late_policy: Option<&'static str>,
    pub(crate) register_callback: bool,
    pub(crate) db: Option<Arc<qrpayd_store::test_db::TestDb>>,
    pub(crate) sandbox: Option<(Sandbox, String)>,
    pub(crate) clock: Option<ManualClock>,
    /// `amqp_url` and `amqp_exchange`: publish events to this broker.
    pub(crate) amqp: Option<(String, String)>,
    /// More configuration (registers, providers), appended to the file.
    pub(crate) extra_config: Option<String>,
    /// More top-level configuration lines (limits, timeouts).
    pub(crate) extra: Option<String>,
}

/// Where every test's manual clock starts. qrpayd, the sandbox bank and the test helpers all
/// read that one clock (`TestApp::clock`), so this date never "passes": the suite runs the
/// same on any calendar day.
pub(crate) fn start_time() -> chrono::DateTime<Utc> {
    // fixed-date: the start of the one shared manual clock; nothing compares it with the wall clock.
    Utc.with_ymd_and_hms(2026, 11, 28, 9, 0, 0)
        .single()
        .unwrap()
}

/// A sandbox bank on a random port, reading `clock`.
pub(crate) async fn start_sandbox(clock: &ManualClock) -> (Sandbox, String) {
    let sandbox =
        Sandbox::new(SandboxConfig::new(MERCHANT, SECRET).with_clock(Arc::new(clock.clone())));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(qrpayd_sandbox::serve(
        listener,
        sandbox.clone(),
        std::future::pending(),
    ));
    (sandbox, format!("http://{addr}"))
}

pub(crate) async fn spawn_app() -> TestApp {
    spawn_with(Options::default()).await
}

pub(crate) async fn spawn_with(options: Options) -> TestApp {
    let db = match options.db {
        Some(db) => db,
        None => Arc::new(qrpayd_store::test_db::fresh().await.unwrap()),
    };
    // One clock for qrpayd and its bank. A sandbox handed in (a restart) must have been started
    // with the clock handed in.
    let clock = options
        .clock
        .unwrap_or_else(|| ManualClock::new(start_time()));
    let (sandbox, sandbox_base) = match options.sandbox {
        Some(s) => s,
        None => start_sandbox(&clock).await,
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let text = format!(
        r#"
listen = "{addr}"
database_url = "{db}"
public_url = "http://{addr}"
payment_ttl_seconds = 300
register_timeout_seconds = 310
bank_timeout_seconds = 1
{max_wait}
late_payment_policy = "{late_policy}"
admin_api_key = "{ADMIN_KEY}"
{amqp}
{extra}

[[registers]]
id = "pos-1"
api_key = "{KEY}"
display_key = "{DISPLAY_KEY}"
provider = "raiffeisen"

[[registers]]
id = "pos-2"
api_key = "{OTHER_KEY}"
provider = "raiffeisen"

[[providers]]
name = "raiffeisen"
kind = "raiffeisen"
base_url = "{sandbox_base}"
sbp_merchant_id = "{MERCHANT}"
secret_key = "{SECRET}"
poll_interval_ms = 2000
set_callback_url = {register}

[[providers]]
name = "tbank"
kind = "tbank"
base_url = "{sandbox_base}/tbank"
terminal_key = "{TBANK_TERMINAL}"
password = "{SECRET}"
poll_interval_ms = 2000

[[providers]]
name = "rbs"
kind = "rbs"
base_url = "{sandbox_base}/rbs/payment"
user_name = "{RBS_USER}"
password = "{SECRET}"
callback_key = "{SECRET}"
poll_interval_ms = 2000
set_callback_url = true

[[providers]]
name = "sber"
kind = "sber"
base_url = "{sandbox_base}/sber"
client_id = "{SBER_CLIENT_ID}"
client_secret = "{SECRET}"
tid = "{SBER_TID}"
member_id = "{SBER_MEMBER_ID}"
poll_interval_ms = 2000
"#,
        db = db.url,
        register = options.register_callback,
        late_policy = options.late_policy.unwrap_or("refund"),
        // An `extra` may set its own wait cap.
        max_wait = if options
            .extra
            .as_deref()
            .is_some_and(|e| e.contains("max_wait_seconds"))
        {
            ""
        } else {
            "max_wait_seconds = 10"
        },
        extra = options.extra.as_deref().unwrap_or_default(),
        amqp = options
            .amqp
            .as_ref()
            .map(|(url, exchange)| format!("amqp_url = \"{url}\"\namqp_exchange = \"{exchange}\""))
            .unwrap_or_default(),
    ) + options.extra_config.as_deref().unwrap_or_default();
    let config = Config::from_toml(&text, Vec::new()).unwrap();
    let running = start(
        &config,
        listener,
        StartOptions {
            clock: Arc::new(clock.clone()),
            run_worker: false,
            demo_bank: None,
        },
    )
    .await
    .unwrap();
    let app = TestApp {
        base: format!("http://{addr}"),
        http: reqwest::Client::new(),
        clock,
        sandbox,
        sandbox_base,
        running: Some(running),
        config_text: text,
        _db: db,
    };
    // Sber has no API for its notification URL (its support sets it up): the sandbox's control.
    app.sandbox
        .set_sber_notification_url(Some(format!("{}/v1/callbacks/sber", app.base)));
    if !options.register_callback {
        app.sandbox_call(
            reqwest::Method::POST,
            "/api/settings/v1/callback",
            Some(json!({"callbackUrl": format!("{}/v1/callbacks/raiffeisen", app.base)})),
        )
        .await;
    }
    app
}

pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) body: Value,
    pub(crate) headers: reqwest::header::HeaderMap,
}

impl Answer {
    pub(crate) fn code(&self) -> &str {
        self.body["error"]["code"]
            .as_str()
            .unwrap_or("<no error code>")
    }
}

impl TestApp {
    pub(crate) fn clock_now(&self) -> chrono::DateTime<Utc> {
        use qrpayd_service::clock::Clock;
        self.clock.now()
    }

    pub(crate) fn running(&self) -> &Running {
        self.running.as_ref().unwrap()
    }

    pub(crate) async fn request(
        &self,
        method: reqwest::Method,
        path: &str,
        key: Option<&str>,
        idem: Option<&str>,
        body: Option<String>,
    ) -> Answer {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(key) = key {
            req = req.bearer_auth(key);
        }
        if let Some(idem) = idem {
            req = req.header("Idempotency-Key", idem);
        }
        if let Some(body) = body {
            req = req.header("Content-Type", "application/json").body(body);
        }
        let response = req.send().await.unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap();
        let body =
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("{status}: not JSON: {text:?}"));
        Answer {
            status,
            body,
            headers,
        }
    }

    pub(crate) async fn create(&self, idem: &str, body: Value) -> Answer {
        self.request(
            reqwest::Method::POST,
            "/v1/payments",
            Some(KEY),
            Some(idem),
            Some(body.to_string()),
        )
        .await
    }

    /// Creates a 123.45 RUB payment and returns its JSON.
    pub(crate) async fn create_ok(&self, idem: &str) -> Value {
        let a = self.create(idem, json!({"amount": 12345, "currency": "RUB", "provider": "raiffeisen", "order": "receipt-1"})).await;
        assert_eq!(a.status, 201, "{}", a.body);
        a.body
    }

    pub(crate) async fn get(&self, id: &str) -> Answer {
        self.request(
            reqwest::Method::GET,
            &format!("/v1/payments/{id}"),
            Some(KEY),
            None,
            None,
        )
        .await
    }

    pub(crate) async fn wait(&self, id: &str, seconds: u64) -> Answer {
        self.request(
            reqwest::Method::GET,
            &format!("/v1/payments/{id}?wait={seconds}"),
            Some(KEY),
            None,
            None,
        )
        .await
    }

    pub(crate) async fn cancel(&self, id: &str) -> Answer {
        self.request(
            reqwest::Method::POST,
            &format!("/v1/payments/{id}/cancel"),
            Some(KEY),
            None,
            None,
        )
        .await
    }

    pub(crate) async fn status(&self, id: &str) -> String {
        self.get(id).await.body["status"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// The customer pays (through the sandbox's own control call, as a test would on Raiffeisen's sandbox).
    pub(crate) async fn customer_pays(&self, payment: &Value) {
        let qr_id = payment["qr"]["qr_id"].as_str().unwrap();
        let amount = Kopecks::new(payment["amount"].as_i64().unwrap()).unwrap();
        self.sandbox.pay(qr_id, amount).await.unwrap();
    }

    pub(crate) fn faults(&self, faults: Faults) {
        self.sandbox.set_faults(faults);
    }

    pub(crate) async fn sandbox_call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Value {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.sandbox_base))
            .bearer_auth(SECRET);
        if let Some(body) = body {
            req = req.json(&body);
        }
        let response = req.send().await.unwrap();
        let text = response.text().await.unwrap();
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    /// The QR's status at the bank.
    pub(crate) async fn bank_qr_status(&self, payment: &Value) -> String {
        let qr_id = payment["qr"]["qr_id"].as_str().unwrap();
        let v = self
            .sandbox_call(
                reqwest::Method::GET,
                &format!("/api/sbp/v2/qrs/{qr_id}"),
                None,
            )
            .await;
        v["qrStatus"].as_str().unwrap_or("?").to_owned()
    }

    /// Moves business time and runs every job that is due.
    pub(crate) async fn advance_and_run(&self, by: Duration) -> usize {
        self.clock.advance(chrono::Duration::from_std(by).unwrap());
        self.run_jobs().await
    }

    pub(crate) async fn run_jobs(&self) -> usize {
        self.running().worker.run_due_jobs().await.unwrap()
    }

    /// Waits (bounded) for a status that arrives by callback.
    pub(crate) async fn until_status(&self, id: &str, want: &str) -> Value {
        let a = self.wait(id, 5).await;
        assert_eq!(a.body["status"], want, "{}", a.body);
        a.body
    }

    pub(crate) async fn refund(&self, payment_id: &str, idem: &str, body: Value) -> Answer {
        self.request(
            reqwest::Method::POST,
            &format!("/v1/payments/{payment_id}/refunds"),
            Some(KEY),
            Some(idem),
            Some(body.to_string()),
        )
        .await
    }

    pub(crate) async fn get_refund(&self, id: &str) -> Answer {
        self.request(
            reqwest::Method::GET,
            &format!("/v1/refunds/{id}"),
            Some(KEY),
            None,
            None,
        )
        .await
    }

    /// A paid 123.45 RUB payment.
    pub(crate) async fn paid_payment(&self, idem: &str) -> Value {
        let p = self.create_ok(idem).await;
        self.customer_pays(&p).await;
        self.until_status(p["id"].as_str().unwrap(), "paid").await
    }

    /// Waits (bounded) for a status change that a long-poll cannot wait for: a final payment
    /// becoming paid late, by a callback arriving in the background.
    pub(crate) async fn eventually_status(&self, id: &str, want: &str) -> Value {
        for _ in 0..100 {
            let body = self.get(id).await.body;
            if body["status"] == want {
                return body;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("{id} never became {want}");
    }

    pub(crate) async fn history(&self, id: &str) -> Vec<String> {
        let id = qrpayd_domain::ids::PaymentId::parse(id).unwrap();
        self.running()
            .payments
            .store()
            .history(&id)
            .await
            .unwrap()
            .into_iter()
            .map(|h| h.1)
            .collect()
    }

    pub(crate) async fn stop(&mut self) {
        if let Some(r) = self.running.take() {
            r.stop().await;
        }
    }
}

/// The Moscow calendar day of `at` (the business day of listings, exports and registries).
pub(crate) fn msk_day(at: chrono::DateTime<Utc>) -> chrono::NaiveDate {
    qrpayd_domain::moscow::date(at)
}
