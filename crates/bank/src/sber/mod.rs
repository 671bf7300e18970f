//! Sber's QR API ("Плати QR" v3, QR СБП; BANKS.md §3.4), POS-oriented: a terminal (`tid`)
//! makes one order per bill, and the order's `order_form_url` is the NSPK link to show.
//!
//! Transport: every call is `POST <base_url><path>` with a JSON body, over mutual TLS (the
//! client certificate Sber issued; only the configured root, the Russian Trusted Root CA, is
//! trusted for the server), with `Authorization: Bearer <token>`, `RqUID` (32 hex, fresh per
//! request, also the body's `rq_uid`; the answer must echo it) and `X-IBM-Client-Id`. Tokens
//! come from `POST /tokens/v3/oauth` (client credentials, `Authorization: Basic`), one per
//! operation's scope, and are kept until they expire by the [`Clock`]; a 401 drops the token
//! and the call is sent once more with a fresh one. An answer is a success only with HTTP 2xx
//! and `error_code` `000000`. Plain `http://` is accepted only for qrpayd's sandbox, which has
//! no TLS (see `settings`).
//!
//! * create: `/qr/order/v3/creation` (`order_sum` in kopecks, `order_number` = our payment
//!   id, `id_qr` = `tid`, `sbp_member_id`, which makes it an SBP order) → `order_id` (the
//!   payment's QR id in qrpayd) and `order_form_url`, which must be an NSPK link of our
//!   amount. The API takes no lifetime: qrpayd revokes the order at its TTL.
//! * status: `/qr/order/v3/status` (`order_id`, `tid`, `partner_order_number`); every
//!   `order_state` of the spec maps ([`payment_status`]), `ON_PAYMENT` (the SBP has not
//!   confirmed yet) is in progress. Paid needs the approved `PAY` operation of our amount;
//!   its `operation_id` is the transaction id.
//! * deactivate: `/qr/order/v3/revocation`; if the bank refuses, the order's status says
//!   whether it can still be paid.
//! * refunds: `/qr/order/v3/cancel` with `REFUND` naming the `PAY` operation and its
//!   `auth_code`, partial amounts allowed. `REVERSE` is not used: the spec's status table marks
//!   `REVERSED` as not applicable to QR СБП orders, and a reversal forbids any later refund.
//!   Sber gives refunds no id of ours, so refunds are identified by amounts
//!   ([`RefundIdentity::ByAmounts`]): the approved `REFUND`/`REVERSE` operations of the order
//!   against what the journal has refunded before. A refund is reported in progress after
//!   `/cancel` and is final once the order's operations show it.
//! * notifications: Sber's gateway proxies them to the URL given to Sber's support; they
//!   carry no signature the spec describes, so they are hints only: the notice names the
//!   order, and the service asks the bank (an authenticated answer) before it records
//!   anything. Amounts in them are never used.
//! * registry: `/qr/order/v3/registry` answers JSON; [`registry::parse`] reads a saved
//!   `REGISTRY` answer into the generic registry (`BankKind::read_registry`).
//!
//! Not offered: cash-register links (Sber's static QRs are set up outside this API) and
//! customer-presented QRs (Sber's `/qr/bscanc/v1/pay` charges SberPay QRs only, not SBP).

pub mod registry;
mod settings;
mod wire;

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use qrpayd_domain::clock::Clock;
use qrpayd_domain::ids::QrId;
use qrpayd_domain::money::Kopecks;
use qrpayd_domain::secret::Secret;
use reqwest::StatusCode;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::settings::Problem;
use crate::{
    BankAdapter, BankError, BankPaymentStatus, BankRefundStatus, CallbackError, CallbackNotice,
    Capabilities, CreateQr, Deactivation, IssuedQr, PaymentQuery, QrKind, QrType, RefundIdentity,
    RefundRequest, unsupported,
};

pub use settings::{DEFAULT_BASE_URL, DEFAULT_SBP_MEMBER_ID, Settings};

/// What Sber's QR API offers. The spec documents no SBP amount limits or QR lifetime.
pub const CAPABILITIES: Capabilities = Capabilities {
    dynamic_qr: true,
    cash_register_link: false,
    customer_qr: false,
    partial_refund: true,
    callbacks: true,
    min_amount: None,
    max_amount: None,
    min_lifetime_seconds: None,
    refund_identity: RefundIdentity::ByAmounts,
    // The spec names no "internal error, try later" code (its classes are all about the
    // request); the gateway's own trouble comes as HTTP 500/503, which is `Unavailable`.
    bank_side_codes: &[],
};

/// The OAuth scope of each operation (the spec's `security` of each path).
pub mod scope {
    /// `/qr/order/v3/creation`.
    pub const CREATE: &str = "https://api.sberbank.ru/qr/order.create";
    /// `/qr/order/v3/status`.
    pub const STATUS: &str = "https://api.sberbank.ru/qr/order.status";
    /// `/qr/order/v3/revocation`.
    pub const REVOKE: &str = "https://api.sberbank.ru/qr/order.revoke";
    /// `/qr/order/v3/cancel`.
    pub const CANCEL: &str = "https://api.sberbank.ru/qr/order.cancel";
    /// `/qr/order/v3/registry`.
    pub const REGISTRY: &str = "auth://qr/order.registry";
}

/// The paths, below `base_url`.
pub mod path {
    /// OAuth client-credentials tokens.
    pub const TOKEN: &str = "/tokens/v3/oauth";
    /// Make an order.
    pub const CREATION: &str = "/qr/order/v3/creation";
    /// An order's status and operations.
    pub const STATUS: &str = "/qr/order/v3/status";
    /// Revoke an unpaid order.
    pub const REVOCATION: &str = "/qr/order/v3/revocation";
    /// Refund (or reverse) a payment operation.
    pub const CANCEL: &str = "/qr/order/v3/cancel";
    /// The operations of a period.
    pub const REGISTRY: &str = "/qr/order/v3/registry";
}

/// A token is renewed this long before it runs out, so it does not expire on the way.
const TOKEN_MARGIN: chrono::TimeDelta = chrono::TimeDelta::seconds(10);

/// Longest `description` and `position_name` Sber takes.
const MAX_DESCRIPTION: usize = 256;

/// Longest `operation_description` of a refund.
const MAX_REFUND_DESCRIPTION: usize = 140;

/// The goods line when the bill has no description.
const DEFAULT_POSITION: &str = "Оплата по QR";

/// The mutual-TLS material, read from the configured files.
#[derive(Clone)]
pub(crate) struct TlsFiles {
    /// The client certificate (chain) and its private key, PEM.
    pub(crate) identity: Vec<u8>,
    /// The roots to trust for the bank's servers, PEM.
    pub(crate) roots: Vec<u8>,
}

impl fmt::Debug for TlsFiles {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TlsFiles([client certificate and key redacted], roots)")
    }
}

impl TlsFiles {
    /// Adds the client identity and the only trusted roots to `builder`.
    fn configure(
        &self,
        builder: reqwest::ClientBuilder,
    ) -> Result<reqwest::ClientBuilder, Problem> {
        let identity = reqwest::Identity::from_pem(&self.identity).map_err(|e| {
            Problem::new(
                "client_certificate",
                format!("client_certificate and client_key do not hold a PEM certificate and its private key: {e}"),
            )
        })?;
        let roots = reqwest::Certificate::from_pem_bundle(&self.roots)
            .ok()
            .filter(|roots| !roots.is_empty())
            .ok_or_else(|| {
                Problem::new(
                    "root_certificate",
                    "root_certificate holds no PEM certificate (expected the Russian Trusted Root CA)",
                )
            })?;
        Ok(builder.identity(identity).tls_certs_only(roots))
    }

    /// Everything about the files that can be checked without calling the bank: they parse,
    /// the roots are certificates and the key belongs to the certificate.
    pub(crate) fn check(&self) -> Result<(), Problem> {
        self.configure(reqwest::Client::builder())?
            .build()
            .map(drop)
            .map_err(|e| {
                Problem::new(
                    "client_key",
                    format!(
                        "the client certificate, its key and the root certificate do not make a TLS configuration (is client_key the certificate's key?): {}",
                        error_chain(&e)
                    ),
                )
            })
    }
}

/// An error with its causes (reqwest's own text hides them).
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Settings of one Sber terminal.
#[derive(Clone)]
pub struct SberConfig {
    /// The gateway, e.g. `https://mc.api.sberbank.ru/prod`; paths are appended.
    pub base_url: String,
    /// OAuth `client_id` (also sent as `X-IBM-Client-Id`).
    pub client_id: String,
    /// OAuth `client_secret`.
    pub client_secret: Secret,
    /// The terminal (`tid`; `id_qr` of SBP orders).
    pub tid: String,
    /// The client id at Sber (`member_id`).
    pub member_id: String,
    /// Sber's SBP member id (`sbp_member_id`).
    pub sbp_member_id: String,
    /// The mutual-TLS files; `None` only for plain `http://` (the sandbox).
    pub(crate) tls: Option<TlsFiles>,
    /// Per-request timeout.
    pub timeout: Duration,
    /// Where "now" comes from: `rq_tm`, `order_create_date`, token expiry.
    pub clock: Arc<dyn Clock>,
}

impl fmt::Debug for SberConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SberConfig")
            .field("base_url", &self.base_url)
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret)
            .field("tid", &self.tid)
            .field("member_id", &self.member_id)
            .field("sbp_member_id", &self.sbp_member_id)
            .field("tls", &self.tls)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// A token and when it runs out.
#[derive(Clone)]
struct CachedToken {
    token: Secret,
    expires_at: DateTime<Utc>,
}

/// The adapter. Cheap to clone (the HTTP client and the tokens are shared).
#[derive(Clone)]
pub struct Sber {
    config: SberConfig,
    http: reqwest::Client,
    tokens: Arc<Mutex<HashMap<&'static str, CachedToken>>>,
}

impl fmt::Debug for Sber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sber")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// A fresh `RqUID`: 32 hex digits.
fn fresh_rq_uid() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// `at` as Sber writes timestamps: `YYYY-MM-DDTHH:MM:SSZ`.
fn timestamp(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// `text` cut to `max` characters.
fn clip(text: &str, max: usize) -> &str {
    match text.char_indices().nth(max) {
        Some((end, _)) => &text[..end],
        None => text,
    }
}

/// `application/x-www-form-urlencoded` of ASCII `pairs` (the token request; reqwest's `form`
/// feature is not compiled in for one call).
fn form(pairs: &[(&str, &str)]) -> String {
    fn encode(text: &str) -> String {
        text.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
                    char::from(b).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect()
    }
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn transport_error(e: reqwest::Error) -> BankError {
    if e.is_timeout() {
        BankError::Timeout
    } else {
        BankError::Unavailable(error_chain(&e))
    }
}

/// What an `order_state` means for the payment. Every state of the spec's enum is listed;
/// anything else is [`Meaning::Unknown`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Meaning {
    /// Nobody has paid, and the order can still be paid.
    Open,
    /// The SBP is confirming a payment (`ON_PAYMENT`), or a hold is not confirmed.
    Paying,
    /// Paid (perhaps refunded since).
    Paid,
    /// Ended unpaid: revoked by us, or expired.
    Closed,
    /// The bank declined it.
    Declined,
    /// Not in the spec.
    Unknown,
}

fn meaning(state: &str) -> Meaning {
    match state {
        // Created, or with failed authorisations only.
        "CREATED" => Meaning::Open,
        // QR СБП: waiting for the SBP's confirmation. `AUTHORIZED` (a hold, not confirmed) is
        // in the OpenAPI enum but not in the status table; it is not yet money.
        "ON_PAYMENT" | "AUTHORIZED" => Meaning::Paying,
        // Paid; reversed or refunded (in part or whole) after it was paid. `CONFIRMED` (a
        // confirmed hold) is in the OpenAPI enum only.
        "PAID" | "REVERSED" | "REFUNDED" | "CONFIRMED" => Meaning::Paid,
        // Revoked before payment; expired ("зарезервировано": not sent today).
        "REVOKED" | "EXPIRED" => Meaning::Closed,
        "DECLINED" => Meaning::Declined,
        _ => Meaning::Unknown,
    }
}

/// An `order_state` as a payment status (the transaction id comes from the operations).
pub(crate) fn payment_status(state: &str, transaction_id: Option<String>) -> BankPaymentStatus {
    match meaning(state) {
        Meaning::Open | Meaning::Closed => BankPaymentStatus::NotPaid,
        Meaning::Paying => BankPaymentStatus::InProgress,
        Meaning::Paid => BankPaymentStatus::Paid { transaction_id },
        Meaning::Declined => BankPaymentStatus::Declined,
        Meaning::Unknown => BankPaymentStatus::Unrecognised(state.to_owned()),
    }
}

/// Whether an operation gives money back.
fn is_refund_operation(operation: &wire::Operation) -> bool {
    matches!(operation.operation_type.as_str(), "REFUND" | "REVERSE")
}

/// Whether an operation succeeded (`response_code` `00`).
fn approved(operation: &wire::Operation) -> bool {
    operation.response_code.as_deref() == Some(wire::OPERATION_APPROVED)
}

/// Whether an operation has no outcome yet (no `response_code`).
fn pending(operation: &wire::Operation) -> bool {
    operation.response_code.as_deref().is_none_or(str::is_empty)
}

/// An operation's amount, checked.
fn operation_amount(operation: &wire::Operation) -> Result<Kopecks, BankError> {
    if operation
        .operation_currency
        .as_deref()
        .is_some_and(|c| c != wire::RUB)
    {
        return Err(BankError::Protocol(format!(
            "operation {} in currency {:?}, not roubles",
            operation.operation_id, operation.operation_currency
        )));
    }
    operation
        .operation_sum
        .ok_or_else(|| {
            BankError::Protocol(format!(
                "operation {} without operation_sum",
                operation.operation_id
            ))
        })
        .and_then(|sum| {
            Kopecks::new(sum).map_err(|e| {
                BankError::Protocol(format!("operation {}: {e}", operation.operation_id))
            })
        })
}

/// The approved payment operation of an order, checked against the amount we asked for.
fn pay_operation(
    operations: &[wire::Operation],
    amount: Kopecks,
) -> Result<&wire::Operation, BankError> {
    let pay = operations
        .iter()
        .rev()
        .find(|o| o.operation_type == "PAY" && approved(o))
        .ok_or_else(|| {
            BankError::Protocol("a paid order without an approved PAY operation".into())
        })?;
    let paid = operation_amount(pay)?;
    if paid != amount {
        return Err(BankError::Protocol(format!(
            "the bank reports a payment of {paid}, we asked for {amount}"
        )));
    }
    Ok(pay)
}

/// What the order's operations say about its refunds.
#[derive(Debug)]
struct Refunds<'a> {
    /// The approved payment.
    pay: &'a wire::Operation,
    /// What approved refunds and reversals gave back.
    completed: Kopecks,
    /// The latest refund or reversal, whatever its outcome (one is in flight at a time).
    latest: Option<&'a wire::Operation>,
}

fn refunds_of(status: &wire::OrderStatus, paid_amount: Kopecks) -> Result<Refunds<'_>, BankError> {
    let state = status.order_state.as_deref().unwrap_or_default();
    if meaning(state) != Meaning::Paid {
        return Err(BankError::Protocol(format!(
            "refunds of an order that is {state:?}, not paid"
        )));
    }
    let pay = pay_operation(&status.order_operation_params, paid_amount)?;
    let mut completed = Kopecks::ZERO;
    for operation in status
        .order_operation_params
        .iter()
        .filter(|o| is_refund_operation(o) && approved(o))
    {
        completed = completed
            .checked_add(operation_amount(operation)?)
            .ok_or_else(|| BankError::Protocol("refund amounts overflow".into()))?;
    }
    let latest = status
        .order_operation_params
        .iter()
        .rev()
        .find(|o| is_refund_operation(o));
    Ok(Refunds {
        pay,
        completed,
        latest,
    })
}

impl Sber {
    /// Builds the adapter and its HTTP client (with the client certificate and the only
    /// trusted roots, over TLS).
    pub fn new(config: SberConfig) -> Result<Self, BankError> {
        let mut builder = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.timeout)
            .user_agent(concat!("qrpayd/", env!("CARGO_PKG_VERSION")));
        match &config.tls {
            Some(tls) => {
                builder = tls
                    .configure(builder)
                    .map_err(|p| BankError::Unavailable(p.message))?;
            }
            None if config.base_url.starts_with("https://") => {
                return Err(BankError::Unavailable(
                    "Sber over https:// needs the client certificate, its key and the root certificate".into(),
                ));
            }
            None => {}
        }
        let http = builder.build().map_err(|e| {
            BankError::Unavailable(format!("cannot build HTTP client: {}", error_chain(&e)))
        })?;
        Ok(Sber {
            config,
            http,
            tokens: Arc::new(Mutex::new(HashMap::new())),
        })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.config.base_url.trim_end_matches('/'))
    }

    fn now(&self) -> DateTime<Utc> {
        self.config.clock.now()
    }

    /// A token for `scope`: the cached one while it lasts, else a new one.
    async fn token(&self, scope: &'static str) -> Result<Secret, BankError> {
        let now = self.now();
        if let Some(cached) = self
            .tokens
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(scope)
            .filter(|t| now + TOKEN_MARGIN < t.expires_at)
        {
            return Ok(cached.token.clone());
        }
        let fresh = self.fetch_token(scope).await?;
        self.tokens
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(scope, fresh.clone());
        Ok(fresh.token)
    }

    /// Forgets the token of `scope` (the gateway refused it).
    fn forget_token(&self, scope: &'static str) {
        self.tokens
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(scope);
    }

    /// `POST /tokens/v3/oauth` (client credentials).
    async fn fetch_token(&self, scope: &'static str) -> Result<CachedToken, BankError> {
        let asked_at = self.now();
        let response = self
            .http
            .post(self.url(path::TOKEN))
            .basic_auth(
                &self.config.client_id,
                Some(self.config.client_secret.expose()),
            )
            .header("RqUID", fresh_rq_uid())
            .header("X-IBM-Client-Id", &self.config.client_id)
            .header(ACCEPT, "application/json")
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(form(&[
                ("grant_type", "client_credentials"),
                ("scope", scope),
            ]))
            .send()
            .await
            .map_err(transport_error)?;
        let status = response.status();
        let bytes = response.bytes().await.map_err(transport_error)?;
        tracing::debug!(scope, status = status.as_u16(), "sber token");
        if !status.is_success() {
            return Err(gateway_error("the token request", status, &bytes));
        }
        let token: wire::Token = serde_json::from_slice(&bytes)
            .map_err(|e| BankError::Protocol(format!("token answer: {e}")))?;
        if token.access_token.is_empty() || token.expires_in <= 0 {
            return Err(BankError::Protocol(
                "token answer without access_token or expires_in".into(),
            ));
        }
        if let Some(granted) = &token.scope
            && !granted.split_whitespace().any(|s| s == scope)
        {
            return Err(BankError::Protocol(format!(
                "asked for a token of scope {scope}, got {granted:?}"
            )));
        }
        Ok(CachedToken {
            token: Secret::new(token.access_token),
            expires_at: asked_at + chrono::TimeDelta::seconds(token.expires_in),
        })
    }

    /// Sends `body` (whose `rq_uid` is `rq_uid`) to `path` with a token of `scope`, and decodes
    /// a successful answer.
    async fn call<T: DeserializeOwned>(
        &self,
        path: &'static str,
        scope: &'static str,
        rq_uid: &str,
        body: &impl Serialize,
    ) -> Result<T, BankError> {
        let body = serde_json::to_vec(body)
            .map_err(|e| BankError::Protocol(format!("cannot encode {path}: {e}")))?;
        let mut retried = false;
        loop {
            let token = self.token(scope).await?;
            let mut bearer = HeaderValue::from_str(&format!("Bearer {}", token.expose()))
                .map_err(|_| BankError::Protocol("the token is not a header value".into()))?;
            bearer.set_sensitive(true);
            let response = self
                .http
                .post(self.url(path))
                .header(AUTHORIZATION, bearer)
                .header("RqUID", rq_uid)
                .header("X-IBM-Client-Id", &self.config.client_id)
                .header(ACCEPT, "application/json")
                .header(CONTENT_TYPE, "application/json")
                .body(body.clone())
                .send()
                .await
                .map_err(transport_error)?;
            let status = response.status();
            let bytes = response.bytes().await.map_err(transport_error)?;
            tracing::debug!(path, status = status.as_u16(), "sber call");
            if status == StatusCode::UNAUTHORIZED && !retried {
                // The token may have been revoked or expired early: one fresh try. The
                // gateway refused the request, so the bank did not act on it.
                self.forget_token(scope);
                retried = true;
                continue;
            }
            return decode(path, status, &bytes, rq_uid);
        }
    }

    /// `/qr/order/v3/status` of our order, checked to be about it.
    async fn status(&self, query: &PaymentQuery) -> Result<wire::OrderStatus, BankError> {
        let rq_uid = fresh_rq_uid();
        let rq_tm = timestamp(self.now());
        let answer: wire::OrderStatus = self
            .call(
                path::STATUS,
                scope::STATUS,
                &rq_uid,
                &wire::Status {
                    rq_uid: &rq_uid,
                    rq_tm: &rq_tm,
                    order_id: query.qr_id.as_str(),
                    tid: &self.config.tid,
                    partner_order_number: query.payment_id.as_str(),
                },
            )
            .await?;
        self.check_order(path::STATUS, answer.order_id.as_deref(), &query.qr_id)?;
        if let Some(tid) = &answer.tid
            && tid != &self.config.tid
        {
            return Err(BankError::Protocol(format!(
                "status answer for terminal {tid}, we are {}",
                self.config.tid
            )));
        }
        Ok(answer)
    }

    fn check_order(&self, what: &str, got: Option<&str>, want: &QrId) -> Result<(), BankError> {
        match got {
            Some(got) if !got.eq_ignore_ascii_case(want.as_str()) => Err(BankError::Protocol(
                format!("{what}: answer about order {got}, we asked about {want}"),
            )),
            _ => Ok(()),
        }
    }

    /// Refuses the QR types this API does not have.
    fn dynamic_only(qr_type: QrType) -> Result<(), BankError> {
        match qr_type {
            QrType::Dynamic => Ok(()),
            QrType::CashRegister => Err(unsupported("Sber", "cash-register links")),
            QrType::Customer => Err(unsupported("Sber", "customer-presented QRs")),
        }
    }

    /// The payment a refund is about, as a status query.
    fn refund_query(request: &RefundRequest) -> Result<PaymentQuery, BankError> {
        Self::dynamic_only(request.qr_type)?;
        let qr_id = request.qr_id.clone().ok_or_else(|| {
            BankError::Protocol(format!(
                "refund {}: the payment has no Sber order id",
                request.refund_id
            ))
        })?;
        Ok(PaymentQuery {
            payment_id: request.payment_id.clone(),
            qr_id,
            amount: request.paid_amount,
            currency: qrpayd_domain::money::Currency::Rub,
            qr_type: request.qr_type,
        })
    }
}

/// Decodes an order-API answer: HTTP, then `rq_uid`, then `error_code`, then the body.
fn decode<T: DeserializeOwned>(
    path: &str,
    status: StatusCode,
    bytes: &[u8],
    rq_uid: &str,
) -> Result<T, BankError> {
    let common: Option<wire::Common> = serde_json::from_slice(bytes).ok();
    let business = common.as_ref().and_then(|c| c.error_code.as_deref());
    if !status.is_success() && business.is_none_or(|code| code == wire::SUCCESS) {
        return Err(gateway_error(path, status, bytes));
    }
    let common = common.ok_or_else(|| {
        BankError::Protocol(format!(
            "{path}: HTTP {} with an unreadable body",
            status.as_u16()
        ))
    })?;
    if let Some(echo) = &common.rq_uid
        && !echo.eq_ignore_ascii_case(rq_uid)
    {
        return Err(BankError::Protocol(format!(
            "{path}: answer to request {echo}, we sent {rq_uid}"
        )));
    }
    match common.error_code.as_deref() {
        Some(wire::SUCCESS) => {}
        Some(code) => {
            return Err(BankError::Rejected {
                code: code.to_owned(),
                message: common.error_description.unwrap_or_default(),
            });
        }
        None => {
            return Err(BankError::Protocol(format!(
                "{path}: answer without error_code"
            )));
        }
    }
    serde_json::from_slice(bytes)
        .map_err(|e| BankError::Protocol(format!("{path}: unexpected answer shape: {e}")))
}

/// The gateway's refusal (`httpCode`/`httpMessage`/`moreInformation`) as a bank error.
fn gateway_error(what: &str, status: StatusCode, bytes: &[u8]) -> BankError {
    let details: wire::GatewayError = serde_json::from_slice(bytes).unwrap_or_default();
    let message = [details.http_message, details.more_information]
        .into_iter()
        .flatten()
        .filter(|m| !m.is_empty())
        .collect::<Vec<_>>()
        .join(": ");
    let code = status.as_u16();
    if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
        return BankError::Unavailable(format!("HTTP {code} from {what} {message}"));
    }
    let hint = match status {
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
            " (check client_id, client_secret, the client certificate and the scopes granted to the application)"
        }
        _ => "",
    };
    BankError::Rejected {
        code: format!("HTTP_{code}"),
        message: format!("{what}: {message}{hint}"),
    }
}

#[async_trait]
impl BankAdapter for Sber {
    fn capabilities(&self) -> Capabilities {
        CAPABILITIES
    }

    async fn create_qr(&self, request: &CreateQr) -> Result<IssuedQr, BankError> {
        match request.kind {
            QrKind::Dynamic => {}
            QrKind::CashLink { .. } => return Err(unsupported("Sber", "cash-register links")),
            QrKind::Customer { .. } => {
                return Err(unsupported("Sber", "customer-presented QRs"));
            }
        }
        let rq_uid = fresh_rq_uid();
        let now = timestamp(self.now());
        let description = request
            .description
            .as_deref()
            .map(|d| clip(d, MAX_DESCRIPTION))
            .filter(|d| !d.is_empty());
        let body = wire::Creation {
            rq_uid: &rq_uid,
            rq_tm: &now,
            member_id: &self.config.member_id,
            order_number: request.payment_id.as_str(),
            order_create_date: &now,
            order_params_type: vec![wire::Position {
                position_name: description.unwrap_or(DEFAULT_POSITION),
                position_count: 1,
                position_sum: request.amount.get(),
            }],
            id_qr: &self.config.tid,
            order_sum: request.amount.get(),
            currency: wire::RUB,
            description,
            sbp_member_id: &self.config.sbp_member_id,
        };
        let answer: wire::Created = self
            .call(path::CREATION, scope::CREATE, &rq_uid, &body)
            .await?;
        if let Some(number) = &answer.order_number
            && number != request.payment_id.as_str()
        {
            return Err(BankError::Protocol(format!(
                "creation: answer for order number {number}, we sent {}",
                request.payment_id
            )));
        }
        match answer.order_state.as_deref() {
            None | Some("CREATED") => {}
            Some(other) => {
                return Err(BankError::Protocol(format!(
                    "creation answered order_state {other:?}, not CREATED"
                )));
            }
        }
        let order_id = answer
            .order_id
            .as_deref()
            .ok_or_else(|| BankError::Protocol("creation answer without order_id".into()))
            .and_then(|id| {
                QrId::parse(id).map_err(|e| BankError::Protocol(format!("order_id: {e}")))
            })?;
        let payload = answer
            .order_form_url
            .ok_or_else(|| BankError::Protocol("creation answer without order_form_url".into()))?;
        match qrpayd_domain::nspk::parse_link(&payload) {
            Ok(link) if link.sum == Some(request.amount) && link.crc_ok != Some(false) => {}
            Ok(link) => {
                return Err(BankError::Protocol(format!(
                    "order_form_url {payload:?} is for {:?} kopecks (crc ok: {:?}), we asked for {}",
                    link.sum.map(Kopecks::get),
                    link.crc_ok,
                    request.amount.get()
                )));
            }
            Err(e) => {
                return Err(BankError::Protocol(format!(
                    "order_form_url {payload:?} is not an SBP (NSPK) link: {e}"
                )));
            }
        }
        Ok(IssuedQr {
            qr_id: order_id,
            payload,
        })
    }

    async fn register_cash_link(&self) -> Result<IssuedQr, BankError> {
        Err(unsupported("Sber", "cash-register links"))
    }

    async fn payment_status(&self, query: &PaymentQuery) -> Result<BankPaymentStatus, BankError> {
        Self::dynamic_only(query.qr_type)?;
        let status = self.status(query).await?;
        let state = status
            .order_state
            .as_deref()
            .ok_or_else(|| BankError::Protocol("status answer without order_state".into()))?;
        let transaction_id = if meaning(state) == Meaning::Paid {
            Some(
                pay_operation(&status.order_operation_params, query.amount)?
                    .operation_id
                    .clone(),
            )
        } else {
            None
        };
        Ok(payment_status(state, transaction_id))
    }

    async fn deactivate_qr(&self, query: &PaymentQuery) -> Result<Deactivation, BankError> {
        Self::dynamic_only(query.qr_type)?;
        let rq_uid = fresh_rq_uid();
        let rq_tm = timestamp(self.now());
        let body = wire::Revocation {
            rq_uid: &rq_uid,
            rq_tm: &rq_tm,
            order_id: query.qr_id.as_str(),
        };
        let refused = match self
            .call::<wire::Revoked>(path::REVOCATION, scope::REVOKE, &rq_uid, &body)
            .await
        {
            Ok(answer) => {
                self.check_order(path::REVOCATION, answer.order_id.as_deref(), &query.qr_id)?;
                match answer.order_state.as_deref() {
                    None | Some("REVOKED") => return Ok(Deactivation::Closed),
                    Some(other) => format!("the revocation answered order_state {other}"),
                }
            }
            // Already paid, declined or revoked, or being paid: the order's status tells. (The
            // gateway's own refusals, `HTTP_…`, are not about the order.)
            Err(BankError::Rejected { code, message }) if !code.starts_with("HTTP_") => {
                format!("Sber refused the revocation ({code}: {message})")
            }
            Err(other) => return Err(other),
        };
        let status = self.status(query).await?;
        let state = status.order_state.unwrap_or_default();
        Ok(match meaning(&state) {
            Meaning::Paid | Meaning::Closed | Meaning::Declined => Deactivation::Closed,
            Meaning::Open | Meaning::Paying | Meaning::Unknown => {
                Deactivation::StillOpen(format!("{refused}; the order is {state:?}"))
            }
        })
    }

    async fn refund(&self, request: &RefundRequest) -> Result<BankRefundStatus, BankError> {
        let query = Self::refund_query(request)?;
        let status = self.status(&query).await?;
        let refunds = refunds_of(&status, request.paid_amount)?;
        // Refunds are identified by amounts: the bank's must be the journal's before one is
        // sent, and none may be open, or this one could not be told apart from it.
        if let Some(latest) = refunds.latest.filter(|o| pending(o)) {
            return Err(BankError::Protocol(format!(
                "Sber order {} already has refund operation {} in progress; not sending another",
                query.qr_id, latest.operation_id
            )));
        }
        if refunds.completed != request.refunded_before {
            return Err(BankError::Protocol(format!(
                "Sber order {} has {} refunded, the journal expects {}; not sending the refund",
                query.qr_id, refunds.completed, request.refunded_before
            )));
        }
        let auth_code = refunds.pay.auth_code.clone().unwrap_or_default();
        let pay_id = refunds.pay.operation_id.clone();
        let rq_uid = fresh_rq_uid();
        let rq_tm = timestamp(self.now());
        let body = wire::Cancel {
            rq_uid: &rq_uid,
            rq_tm: &rq_tm,
            order_id: query.qr_id.as_str(),
            operation_type: "REFUND",
            operation_id: &pay_id,
            auth_code: &auth_code,
            id_qr: &self.config.tid,
            tid: &self.config.tid,
            cancel_operation_sum: request.amount.get(),
            operation_currency: wire::RUB,
            operation_description: request
                .details
                .as_deref()
                .map(|d| clip(d, MAX_REFUND_DESCRIPTION))
                .filter(|d| !d.is_empty()),
        };
        let answer: wire::Cancelled = self
            .call(path::CANCEL, scope::CANCEL, &rq_uid, &body)
            .await?;
        self.check_order(path::CANCEL, answer.order_id.as_deref(), &query.qr_id)?;
        if let Some(sum) = answer.operation_sum
            && sum != request.amount.get()
        {
            return Err(BankError::Protocol(format!(
                "cancel: the bank gave back {sum} kopecks, we asked for {}",
                request.amount.get()
            )));
        }
        if let Some(kind) = answer.operation_type.as_deref()
            && kind != "REFUND"
        {
            return Err(BankError::Protocol(format!(
                "cancel answered operation_type {kind:?}, we asked for REFUND"
            )));
        }
        tracing::info!(
            refund = %request.refund_id,
            sber_order = %query.qr_id,
            operation = ?answer.operation_id,
            order_status = ?answer.order_status,
            "Sber accepted the refund; its outcome is read from the order's operations"
        );
        Ok(BankRefundStatus::InProgress)
    }

    async fn refund_status(
        &self,
        request: &RefundRequest,
    ) -> Result<Option<BankRefundStatus>, BankError> {
        let query = Self::refund_query(request)?;
        let status = self.status(&query).await?;
        let refunds = refunds_of(&status, request.paid_amount)?;
        let after = request
            .refunded_before
            .checked_add(request.amount)
            .ok_or_else(|| BankError::Protocol("refund amounts overflow".into()))?;
        if refunds.completed == after {
            return Ok(Some(BankRefundStatus::Completed));
        }
        if refunds.completed != request.refunded_before {
            return Err(BankError::Protocol(format!(
                "Sber order {} has {} refunded; the journal expects {} before this refund or {after} after it",
                query.qr_id, refunds.completed, request.refunded_before
            )));
        }
        // Nothing of it went back yet. One refund per payment is in flight, so the latest
        // refund operation, if it is of this amount, is this refund.
        let Some(latest) = refunds.latest else {
            return Ok(None);
        };
        if operation_amount(latest)? != request.amount || approved(latest) {
            return Ok(None);
        }
        if pending(latest) {
            return Ok(Some(BankRefundStatus::InProgress));
        }
        tracing::warn!(
            refund = %request.refund_id,
            operation = %latest.operation_id,
            code = ?latest.response_code,
            reason = ?latest.response_desc,
            "Sber reports the refund failed"
        );
        Ok(Some(BankRefundStatus::Declined))
    }

    async fn register_callback_url(&self, url: &str) -> Result<(), BankError> {
        // Sber has no API for it: the partner gives the URL to Sber's support, which sets its
        // gateway to forward notifications there.
        tracing::info!(
            url,
            tid = %self.config.tid,
            "Sber has no API to set the notification URL: ask Sber's support (support@ecom.sberbank.ru) to send this terminal's QR notifications to this URL"
        );
        Ok(())
    }

    fn parse_callback(
        &self,
        _headers: &reqwest::header::HeaderMap,
        body: &[u8],
    ) -> Result<CallbackNotice, CallbackError> {
        let notice: wire::Notification =
            serde_json::from_slice(body).map_err(|e| CallbackError::Malformed(e.to_string()))?;
        if let Some(member) = &notice.member_id
            && member != &self.config.member_id
        {
            return Err(CallbackError::Malformed(format!(
                "notification for member {member}, we are {}",
                self.config.member_id
            )));
        }
        if let Some(tid) = &notice.tid
            && tid != &self.config.tid
        {
            return Err(CallbackError::Malformed(format!(
                "notification for terminal {tid}, we are {}",
                self.config.tid
            )));
        }
        let state = notice
            .order_state
            .ok_or_else(|| CallbackError::Malformed("no orderState".into()))?;
        // Nothing is signed: the notice only says which order to ask the bank about. Its
        // amounts are not even read.
        Ok(CallbackNotice {
            order: notice.partner_order_number.filter(|o| !o.is_empty()),
            amount: None,
            currency: None,
            status: Some(payment_status(&state, None)),
        })
    }

    fn callback_ack_body(&self) -> Option<&'static str> {
        None
    }
}

#[cfg(test)]
mod tests;
