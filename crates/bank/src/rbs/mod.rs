//! BPC's "RBS" payment gateway with SBP C2B (BANKS.md §3.6), which VTB, Alfa-Bank, MTS Bank and
//! others run under their own host names: one adapter, a configurable `base_url` (or a named
//! preset, [`PRESETS`]).
//!
//! Every call is `POST <base_url>/rest/<method>.do` with form parameters, authenticated by
//! `userName` + `password` or by `token`; answers are JSON. **Business errors come with HTTP
//! 200**: an answer is a success only when its `errorCode` is absent or `"0"`. Amounts are
//! kopecks; currency `643`.
//!
//! * create: `register.do` (`orderNumber` = our payment id, `amount`, `currency`,
//!   `expirationDate` = the payment's expiry in Moscow time, `dynamicCallbackUrl` = qrpayd's
//!   notification endpoint) → the gateway's order id (`orderId`, called `mdOrder` afterwards);
//!   then `sbp/c2b/qr/dynamic/get.do` (`mdOrder`) → NSPK's `qrId` and the `payload` link to
//!   show. The payment's QR id in qrpayd holds both gateway references ([`reference`]).
//! * status: `getOrderStatusExtended.do` (`orderId`) decides the money (`orderStatus`, every
//!   documented value mapped in [`order_outcome`]); `sbp/c2b/qr/status.do` (`mdOrder`, `qrId`)
//!   tells an unpaid QR being paid (`CONFIRMED`) or declined (`REJECTED`) from an untouched one,
//!   and a declined order (6) that nobody tried to pay (timeout, our reject) from a refused
//!   payment.
//! * deactivate: `getOrderStatusExtended.do` first; only an unpaid order (0) gets
//!   `sbp/c2b/qr/dynamic/reject.do` (`mdOrder`, `qrId`) → `rejected: true`.
//! * refunds: `refund.do` (`orderId`, `amount`, `externalRefundId` = our refund id without its
//!   `rf_`, ≤ 32 characters). The gateway keys refunds by `externalRefundId` ("if it exists, a
//!   successful response with refund data is returned"), so refunds are identified by id
//!   ([`RefundIdentity::ById`]); their outcome is read from `getOrderStatusExtended.do`'s
//!   `refunds` (version 21 or later of the merchant's setting): `actionCode` `0` done, another
//!   code declined, none yet in progress. `reverse.do` is not used (see `docs/BANK-ASSUMPTIONS.md`).
//! * notifications: the gateway calls qrpayd's endpoint (POST, form parameters: configure POST
//!   callbacks with the bank) with `mdOrder`, `orderNumber`, `operation`, `status` and a
//!   `checksum` over all of them ([`checksum`]). Every parameter is signed; the service still
//!   only takes the order from it and asks the gateway ([`BankAdapter::payment_status`]).
//!
//! Not offered through this API: cash-register links and customer-presented QRs
//! ([`CAPABILITIES`]).

pub mod checksum;
mod settings;
mod wire;

use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use qrpayd_domain::ids::QrId;
use qrpayd_domain::money::Kopecks;
use qrpayd_domain::moscow;
use qrpayd_domain::secret::Secret;
use reqwest::StatusCode;
use serde::de::DeserializeOwned;

use crate::{
    BankAdapter, BankError, BankPaymentStatus, BankRefundStatus, CallbackError, CallbackNotice,
    Capabilities, CreateQr, Deactivation, IssuedQr, PaymentQuery, QrKind, QrType, RefundIdentity,
    RefundRequest, unsupported,
};

pub use settings::{PRESETS, Settings};

/// What the RBS gateway offers qrpayd: dynamic QRs, partial refunds, signed notifications.
/// The gateway documents no SBP amount or lifetime limits of its own.
pub const CAPABILITIES: Capabilities = Capabilities {
    dynamic_qr: true,
    cash_register_link: false,
    customer_qr: false,
    partial_refund: true,
    callbacks: true,
    min_amount: None,
    max_amount: None,
    min_lifetime_seconds: None,
    refund_identity: RefundIdentity::ById,
    // errorCode 7: "system error" (BANKS.md §3.6).
    bank_side_codes: &["7"],
};

/// ISO 4217 numeric code of the ruble, as the gateway takes and answers it.
const RUB: &str = "643";

/// Longest order description the gateway takes (`description`, String [1..598]; kept short).
const MAX_DESCRIPTION: usize = 512;

/// `returnUrl` is mandatory in `register.do` even though a QR payment never redirects a
/// browser; qrpayd sends this address, which nothing ever opens.
const RETURN_URL: &str = "https://qrpayd.invalid/rbs-return";

/// The processing's code for an order whose time ran out (RBS `actionCode`).
const SESSION_EXPIRED: &str = "-2007";

/// How qrpayd authenticates to the gateway.
#[derive(Debug, Clone)]
pub enum Auth {
    /// `userName` + `password` of the API account.
    Login {
        /// `userName`.
        user_name: String,
        /// `password`.
        password: Secret,
    },
    /// `token` instead of a login.
    Token(Secret),
}

/// How notifications are verified.
#[derive(Debug, Clone)]
pub enum CallbackCheck {
    /// The symmetric checksum: HMAC-SHA256 with this key.
    Key(Secret),
    /// The asymmetric checksum: RSA/SHA-512, verified with this PEM public key.
    PublicKey(String),
}

/// Settings of one merchant at one gateway.
#[derive(Debug, Clone)]
pub struct RbsConfig {
    /// Up to `/rest`, e.g. `https://alfa.rbsuat.com/payment`.
    pub base_url: String,
    /// Login or token.
    pub auth: Auth,
    /// The callback checksum's key.
    pub callback: CallbackCheck,
    /// Per-request timeout.
    pub timeout: Duration,
}

/// The adapter. Cheap to clone (the HTTP client and the notification URL are shared).
#[derive(Debug, Clone)]
pub struct Rbs {
    config: RbsConfig,
    /// The DER of the callback public key (asymmetric mode), checked once at start.
    public_key: Option<Vec<u8>>,
    http: reqwest::Client,
    notification_url: Arc<RwLock<Option<String>>>,
}

/// The two references the gateway gives a payment, kept together as qrpayd's QR id of the
/// payment (which the journal stores in at most 64 characters).
///
/// The gateway's order id (`mdOrder`) is a UUID (36 characters) and NSPK's `qrId` has 32: both
/// fit only without the UUID's dashes, so the QR id is the order id's 32 hex digits followed by
/// the `qrId`. An order id that is not a UUID is stored alone (the QR's id is then not sent
/// with `status.do` and `reject.do`, which identify it by the order).
pub mod reference {
    /// Dash positions of a UUID's text.
    const DASHES: [usize; 4] = [8, 13, 18, 23];

    fn is_uuid(text: &str) -> bool {
        text.len() == 36
            && text.char_indices().all(|(i, c)| {
                if DASHES.contains(&i) {
                    c == '-'
                } else {
                    c.is_ascii_hexdigit()
                }
            })
    }

    /// The payment's reference from the gateway's order id and NSPK's QR id.
    pub fn pack(md_order: &str, qr_id: &str) -> String {
        if is_uuid(md_order)
            && !qr_id.is_empty()
            && qr_id.len() <= 32
            && qr_id.bytes().all(|b| b.is_ascii_alphanumeric())
        {
            format!("{}{qr_id}", md_order.replace('-', ""))
        } else {
            md_order.to_owned()
        }
    }

    /// The gateway's order id and (when kept) NSPK's QR id of a reference made by [`pack`].
    pub fn unpack(reference: &str) -> (String, Option<String>) {
        let packed = reference.len() > 32
            && !reference.contains('-')
            && reference.bytes().take(32).all(|b| b.is_ascii_hexdigit());
        match (packed, reference.get(..32), reference.get(32..)) {
            (true, Some(hex), Some(qr_id)) => {
                let mut md_order = String::with_capacity(36);
                for (i, c) in hex.chars().enumerate() {
                    if matches!(i, 8 | 12 | 16 | 20) {
                        md_order.push('-');
                    }
                    md_order.push(c);
                }
                (md_order, Some(qr_id.to_owned()))
            }
            _ => (reference.to_owned(), None),
        }
    }
}

/// What an order's `orderStatus` says about the money, before the QR's state is consulted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum OrderOutcome {
    /// 0: registered, nothing paid (the QR's state tells more).
    Registered,
    /// 2 paid; 4 paid, then (part of it) refunded.
    Paid,
    /// 6: declined: a refused payment, or an order that ran out or was rejected unpaid (the
    /// QR's state and `actionCode` tell which).
    Declined,
    /// 3: the payment was reversed (cancelled before settlement): the merchant keeps nothing.
    Reversed,
    /// 1 held (two-stage), 5 the issuer's authentication, 7 payment pending, 8 partly
    /// completed: not an outcome qrpayd can decide on; it keeps asking.
    InProgress,
    /// A value the documentation does not list.
    Unknown(i64),
}

/// Every `orderStatus` of the documentation (dev.bpcbt.com "Payment status": 0 … 8).
pub(crate) fn order_outcome(order_status: i64) -> OrderOutcome {
    match order_status {
        0 => OrderOutcome::Registered,
        2 | 4 => OrderOutcome::Paid,
        6 => OrderOutcome::Declined,
        3 => OrderOutcome::Reversed,
        1 | 5 | 7 | 8 => OrderOutcome::InProgress,
        other => OrderOutcome::Unknown(other),
    }
}

/// The QR's state (`qrStatus` of `status.do`/`get.do`) as a payment status of an order that is
/// still registered (0). Every documented value is listed.
pub(crate) fn qr_outcome(qr_status: &str) -> BankPaymentStatus {
    match qr_status {
        // Formed, nobody paying yet; or deactivated by the merchant (`reject.do`).
        "STARTED" | "REJECTED_BY_USER" => BankPaymentStatus::NotPaid,
        // Accepted for payment by the customer's bank; or paid at NSPK while the order does not
        // show it yet: the order decides once it does.
        "CONFIRMED" | "ACCEPTED" => BankPaymentStatus::InProgress,
        // The payment was refused.
        "REJECTED" => BankPaymentStatus::Declined,
        other => BankPaymentStatus::Unrecognised(format!("qrStatus {other}")),
    }
}

/// `transactionState` of `status.do` (read when an answer has no `qrStatus`). Every documented
/// value is listed.
pub(crate) fn transaction_outcome(state: &str) -> BankPaymentStatus {
    match state {
        "CREATED" => BankPaymentStatus::NotPaid,
        // Paid at NSPK; the order decides once it shows it.
        "DEPOSITED" => BankPaymentStatus::InProgress,
        "DECLINED" => BankPaymentStatus::Declined,
        other => BankPaymentStatus::Unrecognised(format!("transactionState {other}")),
    }
}

/// A notification's `operation` and `status` as what it says happened. `None`: not about the
/// payment's outcome (a refund, a stored card), acknowledged and nothing else.
pub(crate) fn notice_status(operation: &str, success: &str) -> Option<BankPaymentStatus> {
    Some(match (operation, success) {
        ("deposited", "1") => BankPaymentStatus::Paid {
            transaction_id: None,
        },
        ("deposited" | "approved", "0") => BankPaymentStatus::Declined,
        ("approved", "1") => BankPaymentStatus::InProgress,
        ("declinedByTimeout" | "reversed", _) => BankPaymentStatus::NotPaid,
        ("refunded" | "bindingCreated" | "bindingActivityChanged" | "declinedCardpresent", _) => {
            return None;
        }
        (operation, success) => {
            BankPaymentStatus::Unrecognised(format!("operation {operation} status {success}"))
        }
    })
}

/// `at` as the gateway reads `expirationDate`: Moscow time, `yyyy-MM-ddTHH:mm:ss`.
fn expiration_date(at: DateTime<Utc>) -> String {
    moscow::time(at).format("%Y-%m-%dT%H:%M:%S").to_string()
}

/// Our refund id as the gateway's `externalRefundId` (at most 32 characters): qrpayd's ids are
/// `rf_` + 32 hex digits, sent without the prefix.
pub fn external_refund_id(request: &RefundRequest) -> Result<String, BankError> {
    let id = request.refund_id.as_str();
    let external = id.strip_prefix("rf_").unwrap_or(id);
    if external.len() > 32 {
        return Err(BankError::Protocol(format!(
            "refund id {id} is longer than the gateway's externalRefundId (32)"
        )));
    }
    Ok(external.to_owned())
}

fn transport_error(e: reqwest::Error) -> BankError {
    if e.is_timeout() {
        BankError::Timeout
    } else {
        BankError::Unavailable(e.to_string())
    }
}

/// Checks a reported kopeck amount.
fn check_amount(what: &str, got: Option<i64>, want: Kopecks) -> Result<(), BankError> {
    match got {
        Some(got) if got != want.get() => Err(BankError::Protocol(format!(
            "{what}: the gateway reports {got} kopecks, we expected {}",
            want.get()
        ))),
        _ => Ok(()),
    }
}

impl Rbs {
    /// Builds the adapter and its HTTP client.
    pub fn new(config: RbsConfig) -> Result<Self, BankError> {
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.timeout)
            .user_agent(concat!("qrpayd/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| BankError::Unavailable(format!("cannot build HTTP client: {e}")))?;
        let public_key = match &config.callback {
            CallbackCheck::PublicKey(pem) => Some(
                checksum::public_key_der(pem)
                    .map_err(|e| BankError::Protocol(format!("callback_public_key: {e}")))?,
            ),
            CallbackCheck::Key(_) => None,
        };
        Ok(Rbs {
            config,
            public_key,
            http,
            notification_url: Arc::new(RwLock::new(None)),
        })
    }

    fn url(&self, method: &str) -> String {
        format!(
            "{}/rest/{method}.do",
            self.config.base_url.trim_end_matches('/')
        )
    }

    /// Sends `params` (with the credentials) to `<method>.do`; decodes the answer when it is a
    /// success.
    async fn call<T: DeserializeOwned>(
        &self,
        method: &str,
        params: &[(&str, &str)],
    ) -> Result<T, BankError> {
        let mut form: Vec<(&str, &str)> = Vec::with_capacity(params.len().saturating_add(2));
        match &self.config.auth {
            Auth::Login {
                user_name,
                password,
            } => {
                form.push(("userName", user_name));
                form.push(("password", password.expose()));
            }
            Auth::Token(token) => form.push(("token", token.expose())),
        }
        form.extend_from_slice(params);
        let response = self
            .http
            .post(self.url(method))
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(checksum::encode_form(form))
            .send()
            .await
            .map_err(transport_error)?;
        let status = response.status();
        let bytes = response.bytes().await.map_err(transport_error)?;
        tracing::debug!(method, status = status.as_u16(), "rbs call");
        if status.is_server_error() {
            return Err(BankError::Unavailable(format!(
                "HTTP {} from {method}",
                status.as_u16()
            )));
        }
        if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
            return Err(BankError::Rejected {
                code: format!("HTTP_{}", status.as_u16()),
                message: "the gateway refused the merchant (check the login or token)".into(),
            });
        }
        let common: wire::Common = serde_json::from_slice(&bytes).map_err(|e| {
            BankError::Protocol(format!(
                "{method}: HTTP {} with unreadable body: {e}",
                status.as_u16()
            ))
        })?;
        match common.error_code.as_deref() {
            None | Some("0") if status.is_success() => {}
            code => {
                return Err(BankError::Rejected {
                    code: code.map_or_else(|| format!("HTTP_{}", status.as_u16()), str::to_owned),
                    message: common.error_message.unwrap_or_default(),
                });
            }
        }
        serde_json::from_slice(&bytes)
            .map_err(|e| BankError::Protocol(format!("{method}: unexpected answer shape: {e}")))
    }

    /// `getOrderStatusExtended.do` of the payment's order, checked against what we asked for.
    async fn order(
        &self,
        md_order: &str,
        payment_id: &str,
        amount: Kopecks,
    ) -> Result<wire::OrderStatus, BankError> {
        let order: wire::OrderStatus = self
            .call("getOrderStatusExtended", &[("orderId", md_order)])
            .await?;
        if let Some(number) = &order.order_number
            && number != payment_id
        {
            return Err(BankError::Protocol(format!(
                "getOrderStatusExtended: order {md_order} is orderNumber {number}, we asked about {payment_id}"
            )));
        }
        check_amount("getOrderStatusExtended", order.amount, amount)?;
        if let Some(currency) = &order.currency
            && currency != RUB
        {
            return Err(BankError::Protocol(format!(
                "getOrderStatusExtended: currency {currency}, we asked for {RUB}"
            )));
        }
        Ok(order)
    }

    /// `sbp/c2b/qr/status.do`: the QR's state.
    async fn qr_state(
        &self,
        md_order: &str,
        qr_id: Option<&str>,
    ) -> Result<wire::QrState, BankError> {
        let mut params = vec![("mdOrder", md_order)];
        if let Some(qr_id) = qr_id {
            params.push(("qrId", qr_id));
        }
        self.call("sbp/c2b/qr/status", &params).await
    }

    /// The payment's status from its order and, when the order does not decide, its QR.
    async fn status_of(
        &self,
        query: &PaymentQuery,
    ) -> Result<(BankPaymentStatus, wire::OrderStatus), BankError> {
        dynamic_only(query.qr_type)?;
        let (md_order, qr_id) = reference::unpack(query.qr_id.as_str());
        let order = self
            .order(&md_order, query.payment_id.as_str(), query.amount)
            .await?;
        let order_status = order
            .order_status
            .ok_or_else(|| BankError::Protocol(format!("order {md_order} has no orderStatus")))?;
        let status = match order_outcome(order_status) {
            OrderOutcome::Paid => BankPaymentStatus::Paid {
                transaction_id: Some(md_order),
            },
            OrderOutcome::Reversed => BankPaymentStatus::NotPaid,
            OrderOutcome::InProgress => BankPaymentStatus::InProgress,
            OrderOutcome::Unknown(other) => {
                BankPaymentStatus::Unrecognised(format!("orderStatus {other}"))
            }
            OrderOutcome::Declined if order.action_code.as_deref() == Some(SESSION_EXPIRED) => {
                BankPaymentStatus::NotPaid
            }
            OrderOutcome::Registered | OrderOutcome::Declined => {
                let qr = self.qr_state(&md_order, qr_id.as_deref()).await?;
                let (qr_status, outcome) = match (qr.qr_status, qr.transaction_state) {
                    (Some(qr_status), _) => {
                        let outcome = qr_outcome(&qr_status);
                        (qr_status, outcome)
                    }
                    (None, Some(state)) => {
                        let outcome = transaction_outcome(&state);
                        (state, outcome)
                    }
                    (None, None) => {
                        return Err(BankError::Protocol(
                            "status.do without qrStatus or transactionState".into(),
                        ));
                    }
                };
                match (order_outcome(order_status), outcome) {
                    // Nobody tried to pay a declined order: it ran out, or we rejected it.
                    (OrderOutcome::Declined, BankPaymentStatus::NotPaid) => {
                        BankPaymentStatus::NotPaid
                    }
                    (OrderOutcome::Declined, BankPaymentStatus::InProgress) => {
                        BankPaymentStatus::Unrecognised(format!(
                            "orderStatus 6 with qrStatus {qr_status}"
                        ))
                    }
                    (OrderOutcome::Declined, _) => BankPaymentStatus::Declined,
                    (_, status) => status,
                }
            }
        };
        Ok((status, order))
    }
}

/// Only dynamic QRs exist at this gateway.
fn dynamic_only(qr_type: QrType) -> Result<(), BankError> {
    match qr_type {
        QrType::Dynamic => Ok(()),
        QrType::CashRegister => Err(unsupported("RBS", "cash-register links")),
        QrType::Customer => Err(unsupported("RBS", "customer-presented QRs")),
    }
}

/// The payment's reference for a refund (the gateway's order id).
fn refund_order(request: &RefundRequest) -> Result<String, BankError> {
    dynamic_only(request.qr_type)?;
    let qr_id = request.qr_id.as_ref().ok_or_else(|| {
        BankError::Protocol(format!(
            "refund {}: the payment has no gateway order",
            request.refund_id
        ))
    })?;
    Ok(reference::unpack(qr_id.as_str()).0)
}

#[async_trait]
impl BankAdapter for Rbs {
    fn capabilities(&self) -> Capabilities {
        CAPABILITIES
    }

    async fn create_qr(&self, request: &CreateQr) -> Result<IssuedQr, BankError> {
        match &request.kind {
            QrKind::Dynamic => {}
            QrKind::CashLink { .. } => return Err(unsupported("RBS", "cash-register links")),
            QrKind::Customer { .. } => return Err(unsupported("RBS", "customer-presented QRs")),
        }
        let notification_url = self
            .notification_url
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let amount = request.amount.get().to_string();
        let expiration = expiration_date(request.expires_at);
        let description: Option<String> = request
            .description
            .as_deref()
            .map(|d| d.chars().take(MAX_DESCRIPTION).collect());
        let mut params = vec![
            ("orderNumber", request.payment_id.as_str()),
            ("amount", amount.as_str()),
            ("currency", RUB),
            ("returnUrl", RETURN_URL),
            ("expirationDate", expiration.as_str()),
        ];
        if let Some(description) = &description {
            params.push(("description", description));
        }
        if let Some(url) = &notification_url {
            params.push(("dynamicCallbackUrl", url));
        }
        let registered: wire::Registered = self.call("register", &params).await?;
        let md_order = registered
            .order_id
            .filter(|id| !id.is_empty())
            .ok_or_else(|| BankError::Protocol("register.do without orderId".into()))?;
        let qr: wire::DynamicQr = self
            .call("sbp/c2b/qr/dynamic/get", &[("mdOrder", &md_order)])
            .await?;
        if let Some(status) = qr.qr_status.as_deref()
            && status != "STARTED"
        {
            return Err(BankError::Protocol(format!(
                "get.do answered a QR in state {status}"
            )));
        }
        let qr_id = qr
            .qr_id
            .filter(|id| !id.is_empty())
            .ok_or_else(|| BankError::Protocol("get.do without qrId".into()))?;
        let payload = qr
            .payload
            .ok_or_else(|| BankError::Protocol("get.do without payload".into()))?;
        let link = qrpayd_domain::nspk::parse_link(&payload).map_err(|e| {
            BankError::Protocol(format!(
                "get.do payload {payload:?} is not an NSPK link: {e}"
            ))
        })?;
        if let Some(sum) = link.sum
            && sum != request.amount
        {
            return Err(BankError::Protocol(format!(
                "get.do payload sum {} kopecks, we asked for {}",
                sum.get(),
                request.amount.get()
            )));
        }
        let reference = reference::pack(&md_order, &qr_id);
        let qr_id = QrId::parse(&reference)
            .map_err(|e| BankError::Protocol(format!("order {md_order:?}, qrId {qr_id:?}: {e}")))?;
        Ok(IssuedQr { qr_id, payload })
    }

    async fn register_cash_link(&self) -> Result<IssuedQr, BankError> {
        Err(unsupported("RBS", "cash-register links"))
    }

    async fn payment_status(&self, query: &PaymentQuery) -> Result<BankPaymentStatus, BankError> {
        self.status_of(query).await.map(|(status, _)| status)
    }

    async fn deactivate_qr(&self, query: &PaymentQuery) -> Result<Deactivation, BankError> {
        dynamic_only(query.qr_type)?;
        let (md_order, qr_id) = reference::unpack(query.qr_id.as_str());
        let order = self
            .order(&md_order, query.payment_id.as_str(), query.amount)
            .await?;
        match order.order_status.map(order_outcome) {
            Some(OrderOutcome::Registered) => {}
            // Paid, declined, reversed: nothing to deactivate; the status decides.
            Some(OrderOutcome::Paid | OrderOutcome::Declined | OrderOutcome::Reversed) => {
                return Ok(Deactivation::Closed);
            }
            other => {
                return Ok(Deactivation::StillOpen(format!(
                    "RBS order {md_order} is {other:?}"
                )));
            }
        }
        let mut params = vec![("mdOrder", md_order.as_str())];
        if let Some(qr_id) = qr_id.as_deref() {
            params.push(("qrId", qr_id));
        }
        match self
            .call::<wire::Rejected>("sbp/c2b/qr/dynamic/reject", &params)
            .await
        {
            Ok(wire::Rejected {
                rejected: Some(true),
            }) => Ok(Deactivation::Closed),
            Ok(other) => Ok(Deactivation::StillOpen(format!(
                "reject.do answered rejected = {:?}",
                other.rejected
            ))),
            // Refused (paid a moment before, or the gateway would not): the status decides.
            Err(BankError::Rejected { code, message }) => Ok(Deactivation::StillOpen(format!(
                "reject.do refused: {code}: {message}"
            ))),
            Err(e) => Err(e),
        }
    }

    async fn refund(&self, request: &RefundRequest) -> Result<BankRefundStatus, BankError> {
        let md_order = refund_order(request)?;
        let external = external_refund_id(request)?;
        let amount = request.amount.get().to_string();
        let _: wire::Common = self
            .call(
                "refund",
                &[
                    ("orderId", md_order.as_str()),
                    ("amount", amount.as_str()),
                    ("currency", RUB),
                    ("externalRefundId", external.as_str()),
                ],
            )
            .await?;
        // Accepted; an SBP refund settles at NSPK afterwards: its outcome is read from the
        // order's `refunds`.
        Ok(BankRefundStatus::InProgress)
    }

    async fn refund_status(
        &self,
        request: &RefundRequest,
    ) -> Result<Option<BankRefundStatus>, BankError> {
        let md_order = refund_order(request)?;
        let external = external_refund_id(request)?;
        let order = self
            .order(&md_order, request.payment_id.as_str(), request.paid_amount)
            .await?;
        if let Some(entry) = order
            .refunds
            .iter()
            .find(|r| r.external_refund_id.as_deref() == Some(external.as_str()))
        {
            check_amount("refund", entry.amount, request.amount)?;
            return Ok(Some(match entry.action_code.as_deref() {
                None | Some("") => BankRefundStatus::InProgress,
                Some("0") => BankRefundStatus::Completed,
                Some(code) => {
                    tracing::warn!(refund = %request.refund_id, action_code = code, "the gateway declined the refund");
                    BankRefundStatus::Declined
                }
            }));
        }
        // No trace of this id. If the order shows refunds that carry no ids at all, the
        // merchant's getOrderStatusExtended version is too old to tell them apart: never guess
        // (a guess could send a refund twice).
        if order.refunds.iter().any(|r| r.external_refund_id.is_none()) {
            return Err(BankError::Protocol(format!(
                "RBS order {md_order} lists refunds without externalRefundId, so refund {} cannot be found; set getOrderStatusExtended version 21 or later at the bank",
                request.refund_id
            )));
        }
        Ok(None)
    }

    async fn register_callback_url(&self, url: &str) -> Result<(), BankError> {
        // Sent as `dynamicCallbackUrl` with every `register.do`.
        *self
            .notification_url
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Some(url.to_owned());
        Ok(())
    }

    fn parse_callback(
        &self,
        _headers: &reqwest::header::HeaderMap,
        body: &[u8],
    ) -> Result<CallbackNotice, CallbackError> {
        let params = checksum::parse_form(body).ok_or_else(|| {
            CallbackError::Malformed("not a form body, or a parameter given twice".into())
        })?;
        let given = params
            .iter()
            .find(|(name, _)| name == checksum::CHECKSUM)
            .map(|(_, value)| value.as_str())
            .ok_or(CallbackError::BadSignature)?;
        let verified = match (&self.config.callback, &self.public_key) {
            (CallbackCheck::PublicKey(_), Some(der)) => {
                checksum::asymmetric_matches(&params, given, der)
            }
            (CallbackCheck::Key(key), _) => checksum::symmetric_matches(&params, given, key),
            (CallbackCheck::PublicKey(_), None) => false,
        };
        if !verified {
            return Err(CallbackError::BadSignature);
        }
        let field = |name: &str| {
            params
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.as_str())
        };
        let operation =
            field("operation").ok_or_else(|| CallbackError::Malformed("no operation".into()))?;
        let status = notice_status(operation, field("status").unwrap_or_default());
        let amount = field("amount")
            .map(|a| {
                a.parse::<i64>()
                    .ok()
                    .and_then(|k| Kopecks::new(k).ok())
                    .ok_or_else(|| CallbackError::Malformed(format!("amount {a:?}")))
            })
            .transpose()?;
        Ok(CallbackNotice {
            order: field("orderNumber")
                .filter(|o| !o.is_empty())
                .map(str::to_owned),
            amount,
            currency: None,
            status,
        })
    }

    fn callback_ack_body(&self) -> Option<&'static str> {
        None
    }
}

#[cfg(test)]
mod tests;
