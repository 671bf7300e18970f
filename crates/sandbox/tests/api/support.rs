//! Test helpers: a sandbox served on 127.0.0.1:0, a callback receiver, and access to JSON
//! fields as raw text (so amounts are compared exactly, never as floats).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use chrono::{DateTime, SecondsFormat, TimeDelta, TimeZone, Utc};
use hmac::{Hmac, Mac};
use qrpayd_domain::clock::{Clock, ManualClock};
use qrpayd_sandbox::{Sandbox, SandboxConfig, serve};
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};

/// The merchant the sandbox serves.
pub(crate) const MERCHANT: &str = "MA0000000552";
/// Its secret key (BANKS.md's test key).
pub(crate) const SECRET: &str = "test-secret-key";
/// The emulated T-Bank terminal.
pub(crate) const TERMINAL: &str = "1726675329428DEMO";
/// Its password.
pub(crate) const TBANK_PASSWORD: &str = "tbank-sandbox-password";
/// The Sber application's OAuth client id.
pub(crate) const SBER_CLIENT_ID: &str = "sber-test-client";
/// Its client secret.
pub(crate) const SBER_CLIENT_SECRET: &str = "sber-test-secret";
/// The Sber terminal.
pub(crate) const SBER_TID: &str = "20188357";
/// The Sber client id.
pub(crate) const SBER_MEMBER_ID: &str = "00000001";

/// The RBS merchant's API login.
pub(crate) const RBS_USER: &str = "shop-api";

/// Its password (also its `token`).
pub(crate) const RBS_PASSWORD: &str = "rbs-sandbox-password";

/// The RBS callback checksum key.
pub(crate) const RBS_CALLBACK_KEY: &str = "rbs-callback-key";

/// An HTTP answer (or a received callback) with field access by raw JSON text.
#[derive(Debug)]
pub(crate) struct Answer {
    /// HTTP status.
    pub(crate) status: u16,
    /// Body text.
    pub(crate) body: String,
}

impl Answer {
    fn fields(&self) -> BTreeMap<String, Box<RawValue>> {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not a JSON object ({e}): {}", self.body))
    }

    /// The raw JSON text of a top-level field (`None` if absent).
    pub(crate) fn raw(&self, name: &str) -> Option<String> {
        self.fields().get(name).map(|v| v.get().to_owned())
    }

    /// A top-level string field.
    pub(crate) fn text(&self, name: &str) -> String {
        let raw = self
            .raw(name)
            .unwrap_or_else(|| panic!("no {name} in {}", self.body));
        serde_json::from_str(&raw).unwrap_or_else(|_| panic!("{name} is not a string: {raw}"))
    }

    /// A top-level integer field.
    pub(crate) fn integer(&self, name: &str) -> u64 {
        let raw = self
            .raw(name)
            .unwrap_or_else(|| panic!("no {name} in {}", self.body));
        raw.parse()
            .unwrap_or_else(|_| panic!("{name} is not an integer: {raw}"))
    }

    /// `code`.
    pub(crate) fn code(&self) -> String {
        self.text("code")
    }

    /// Asserts an error envelope with this HTTP status and code; returns the message.
    pub(crate) fn assert_error(&self, status: u16, code: &str) -> String {
        assert_eq!(self.status, status, "{}", self.body);
        assert_eq!(self.code(), code, "{}", self.body);
        self.text("message")
    }

    /// Asserts HTTP 200 with `code: SUCCESS`.
    pub(crate) fn assert_success(&self) {
        assert_eq!(self.status, 200, "{}", self.body);
        assert_eq!(self.code(), "SUCCESS", "{}", self.body);
    }

    /// A success of an endpoint whose answer has no `code` at all (the spec's `qrInfov2`).
    pub(crate) fn assert_bare_success(&self) {
        assert_eq!(self.status, 200, "{}", self.body);
        let json: serde_json::Value = serde_json::from_str(&self.body).unwrap();
        assert!(
            json.get("code").is_none(),
            "a code the bank does not send: {}",
            self.body
        );
    }
}

/// A running sandbox; stops when dropped.
pub(crate) struct Bank {
    /// `http://127.0.0.1:<port>`.
    pub(crate) base: String,
    /// The in-process handle.
    pub(crate) sandbox: Sandbox,
    /// The bank's clock: it moves only when a test advances it.
    pub(crate) clock: ManualClock,
    client: reqwest::Client,
    _stop: oneshot::Sender<()>,
}

/// Starts a sandbox for [`MERCHANT`] / [`SECRET`].
pub(crate) async fn start() -> Bank {
    let clock = ManualClock::new(test_start());
    let sandbox = Sandbox::new(SandboxConfig {
        sbp_merchant_id: MERCHANT.into(),
        secret_key: SECRET.into(),
        bank_member_id: "100000000007".into(),
        public_id: String::new(),
        tbank_terminal_key: TERMINAL.into(),
        tbank_password: TBANK_PASSWORD.into(),
        rbs_user_name: RBS_USER.into(),
        rbs_password: RBS_PASSWORD.into(),
        rbs_callback_key: RBS_CALLBACK_KEY.into(),
        sber_client_id: SBER_CLIENT_ID.into(),
        sber_client_secret: SBER_CLIENT_SECRET.into(),
        sber_tid: SBER_TID.into(),
        sber_member_id: SBER_MEMBER_ID.into(),
        clock: Arc::new(clock.clone()),
    });
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(serve(listener, sandbox.clone(), async move {
        let _ = stopped.await;
    }));
    Bank {
        base,
        sandbox,
        clock,
        client: reqwest::Client::builder().no_proxy().build().unwrap(),
        _stop: stop,
    }
}

/// Where every sandbox test's clock starts. The bank reads only its [`Bank::clock`], and the
/// tests build every date they send from that same clock, so this day never "passes".
pub(crate) fn test_start() -> DateTime<Utc> {
    // fixed-date: the start of the shared manual clock; nothing compares it with the wall clock.
    Utc.with_ymd_and_hms(2026, 11, 28, 9, 0, 0)
        .single()
        .unwrap()
}

impl Bank {
    /// The bank's "now".
    pub(crate) fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// An expiry `minutes` from the bank's now, in Moscow time, as a client would send it.
    pub(crate) fn expires_in(&self, minutes: i64) -> String {
        qrpayd_domain::moscow::time(self.now() + TimeDelta::minutes(minutes))
            .to_rfc3339_opts(SecondsFormat::Secs, false)
    }

    /// Today in Moscow, by the bank's clock.
    pub(crate) fn msk_today(&self) -> chrono::NaiveDate {
        qrpayd_domain::moscow::date(self.now())
    }

    /// Any call; `auth` adds the right Bearer key.
    pub(crate) async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&str>,
        auth: Option<&str>,
    ) -> Answer {
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        if let Some(key) = auth {
            request = request.header("Authorization", format!("Bearer {key}"));
        }
        if let Some(body) = body {
            request = request
                .header("Content-Type", "application/json")
                .body(body.to_owned());
        }
        let response = request.send().await.unwrap();
        Answer {
            status: response.status().as_u16(),
            body: response.text().await.unwrap(),
        }
    }

    /// Authorized GET.
    pub(crate) async fn get(&self, path: &str) -> Answer {
        self.call(reqwest::Method::GET, path, None, Some(SECRET))
            .await
    }

    /// Authorized POST.
    pub(crate) async fn post(&self, path: &str, body: &str) -> Answer {
        self.call(reqwest::Method::POST, path, Some(body), Some(SECRET))
            .await
    }

    /// POST without auth.
    pub(crate) async fn post_open(&self, path: &str, body: &str) -> Answer {
        self.call(reqwest::Method::POST, path, Some(body), None)
            .await
    }

    /// Authorized DELETE.
    pub(crate) async fn delete(&self, path: &str) -> Answer {
        self.call(reqwest::Method::DELETE, path, None, Some(SECRET))
            .await
    }

    /// Registers a dynamic QR (v2) with `amount` written verbatim; returns its `qrId`.
    pub(crate) async fn register_dynamic(&self, order: &str, amount: &str) -> String {
        let answer = self
            .post_open(
                "/api/sbp/v2/qrs",
                &format!(
                    r#"{{"qrType":"QRDynamic","sbpMerchantId":"{MERCHANT}","order":"{order}","amount":{amount},"currency":"RUB","qrExpirationDate":"{}","additionalInfo":"касса 1","paymentDetails":"Оплата заказа {order}"}}"#,
                    self.expires_in(60)
                ),
            )
            .await;
        answer.assert_success();
        answer.text("qrId")
    }

    /// The bank's own sandbox payment call.
    pub(crate) async fn pay(&self, qr_id: &str, amount: &str) -> Answer {
        self.post_open(
            "/api/nspc-mock/v01/rfuture/payment/init",
            &format!(r#"{{"qrId":"{qr_id}","amount":{amount}}}"#),
        )
        .await
    }

    /// payment-info of a QR.
    pub(crate) async fn payment_info(&self, qr_id: &str) -> Answer {
        self.get(&format!("/api/sbp/v1/qr/{qr_id}/payment-info"))
            .await
    }

    /// Sets the callback URL through the API.
    pub(crate) async fn set_callback(&self, url: &str) {
        let answer = self
            .post(
                "/api/settings/v1/callback",
                &format!(r#"{{"callbackUrl":"{url}"}}"#),
            )
            .await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        assert_eq!(answer.text("callbackUrl"), url);
    }

    /// Replaces the faults through the control API.
    pub(crate) async fn set_faults(&self, json: &str) -> Answer {
        self.call(reqwest::Method::PUT, "/sandbox/faults", Some(json), None)
            .await
    }
}

/// One callback as received.
#[derive(Debug)]
pub(crate) struct Received {
    /// `X-Api-Signature-SHA256`.
    pub(crate) signature: Option<String>,
    /// Every header.
    pub(crate) headers: HeaderMap,
    /// The notification.
    pub(crate) json: Answer,
}

impl Received {
    /// Recomputes the signature as a merchant would and compares.
    pub(crate) fn assert_signed(&self) {
        let n = &self.json;
        let message = format!(
            "{}|{}|{}|{}|{}",
            n.raw("amount").unwrap(),
            n.text("sbpMerchantId"),
            n.text("order"),
            n.text("paymentStatus"),
            n.text("transactionDate"),
        );
        let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
        mac.update(message.as_bytes());
        let expected = hex::encode(mac.finalize().into_bytes());
        assert_eq!(
            self.signature.as_deref(),
            Some(expected.as_str()),
            "{message}"
        );
    }
}

#[derive(Clone)]
struct ReceiverState {
    sender: mpsc::UnboundedSender<Received>,
    failures_left: Arc<AtomicUsize>,
    reply: &'static str,
}

/// A merchant's callback endpoint that answers HTTP 500 to the first `fail_first` requests.
pub(crate) struct Receiver {
    /// Its URL.
    pub(crate) url: String,
    received: mpsc::UnboundedReceiver<Received>,
    _stop: oneshot::Sender<()>,
}

async fn receive(
    State(state): State<ReceiverState>,
    headers: HeaderMap,
    body: String,
) -> (StatusCode, &'static str) {
    let signature = headers
        .get("x-api-signature-sha256")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let failing = state
        .failures_left
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok();
    let status = if failing {
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::OK
    };
    let _ = state.sender.send(Received {
        signature,
        headers,
        json: Answer {
            status: status.as_u16(),
            body,
        },
    });
    (status, state.reply)
}

/// Starts a receiver on 127.0.0.1:0 (answers with an empty body).
pub(crate) async fn receiver(fail_first: usize) -> Receiver {
    receiver_replying(fail_first, "").await
}

/// Starts a receiver on 127.0.0.1:0 that answers HTTP 200 with `reply` (T-Bank wants `OK`)
/// after `fail_first` HTTP 500s.
pub(crate) async fn receiver_replying(fail_first: usize, reply: &'static str) -> Receiver {
    let (sender, received) = mpsc::unbounded_channel();
    let app = Router::new()
        .route("/callback", post(receive))
        .with_state(ReceiverState {
            sender,
            failures_left: Arc::new(AtomicUsize::new(fail_first)),
            reply,
        });
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/callback", listener.local_addr().unwrap());
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stopped.await;
            })
            .await
    });
    Receiver {
        url,
        received,
        _stop: stop,
    }
}

impl Receiver {
    /// The next callback (waits at most 10 s).
    pub(crate) async fn next(&mut self) -> Received {
        tokio::time::timeout(Duration::from_secs(10), self.received.recv())
            .await
            .expect("a callback within 10 s")
            .expect("receiver running")
    }
}

/// The T-Bank `Token` of `fields` with `password`, by the documented rule written out: the
/// root-level scalar values sorted by key, with `Password`, concatenated, SHA-256, hex.
pub(crate) fn tbank_token(fields: &serde_json::Value, password: &str) -> String {
    let mut pairs: Vec<(String, String)> = fields
        .as_object()
        .unwrap()
        .iter()
        .filter(|(key, _)| key.as_str() != "Token")
        .filter_map(|(key, value)| {
            let text = match value {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Number(n) => n.to_string(),
                serde_json::Value::Bool(b) => b.to_string(),
                _ => return None,
            };
            Some((key.clone(), text))
        })
        .collect();
    pairs.push(("Password".into(), password.into()));
    pairs.sort();
    let text: String = pairs.into_iter().map(|(_, value)| value).collect();
    hex::encode(Sha256::digest(text.as_bytes()))
}

impl Bank {
    /// A signed call to the T-Bank terminal: `fields` plus `TerminalKey` and `Token`.
    pub(crate) async fn tbank(&self, method: &str, fields: serde_json::Value) -> serde_json::Value {
        let mut fields = fields;
        let object = fields.as_object_mut().unwrap();
        object.insert("TerminalKey".into(), TERMINAL.into());
        let token = tbank_token(&fields, TBANK_PASSWORD);
        fields
            .as_object_mut()
            .unwrap()
            .insert("Token".into(), token.into());
        self.tbank_raw(method, &fields.to_string()).await
    }

    /// A call to the T-Bank terminal with `body` as is; the answer must be HTTP 200 JSON.
    pub(crate) async fn tbank_raw(&self, method: &str, body: &str) -> serde_json::Value {
        let answer = self
            .call(
                reqwest::Method::POST,
                &format!("/tbank/v2/{method}"),
                Some(body),
                None,
            )
            .await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        serde_json::from_str(&answer.body).unwrap()
    }

    /// Registers a cash-register link (`QRVariable`); returns `(qrId, payload)`.
    pub(crate) async fn register_link(&self) -> (String, String) {
        let answer = self
            .post_open(
                "/api/sbp/v2/qrs",
                &format!(r#"{{"qrType":"QRVariable","sbpMerchantId":"{MERCHANT}"}}"#),
            )
            .await;
        answer.assert_success();
        (answer.text("qrId"), answer.text("payload"))
    }
}
