//! Raiffeisenbank SBP API adapter (BANKS.md §1).
//!
//! Dynamic QRs: `POST /api/sbp/v2/qrs` (register a QRDynamic, no auth), `GET
//! /api/sbp/v1/qr/{qrId}/payment-info`, `DELETE /api/sbp/v2/qrs/{qrId}`, `GET
//! /api/sbp/v2/qrs/{qrId}`, `POST /api/sbp/v1/refund`, `GET /api/sbp/v1/refund/{refundId}`.
//! Cash-register links (`orders` module, §1.6): `POST /api/sbp/v2/qrs` `QRVariable` once, then
//! one order per payment (`/api/payment/v1/orders`, refunds under `/api/payments/v1/orders`).
//! `POST /api/settings/v1/callback` sets where notifications go; both kinds (SBP payment,
//! order) are signed with `X-Api-Signature-SHA256`. Customer-presented QRs are not offered.
//!
//! **Success is decided per endpoint, as the bank's spec (`sbp.yaml`) defines each answer**
//! ([`Success`]): registration, payment-info and refunds answer schemas with a required `code`
//! (`qrStatus`, `paymentInfo`, `responeRefund`), which must be `SUCCESS`; the v2 QR status
//! (`qrInfov2`), the callback setting (`callbackSettings`) and the orders API answer bare
//! objects without `code`, and only an object that does carry a `code` other than `SUCCESS`
//! there is the bank's error envelope. Always with a 2xx status: the bank also reports business
//! errors with HTTP 200.
//!
//! **Notifications are hints.** Of an SBP notice the bank signs only
//! `amount|sbpMerchantId|order|paymentStatus|transactionDate`: `qrId` and `transactionId` are
//! not signed, so they are never used; the notice names its payment by the signed `order`, and
//! the service asks the bank before it changes anything. `transactionId` is taken only from
//! `payment-info`, an authenticated answer.

mod orders;
pub mod registry;
mod settings;
mod signature;
mod wire;

use std::time::Duration;

use async_trait::async_trait;
use qrpayd_domain::ids::QrId;
use qrpayd_domain::money::{Currency, Kopecks};
use qrpayd_domain::moscow;
use qrpayd_domain::secret::Secret;
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;

use crate::{
    BankAdapter, BankError, BankPaymentStatus, BankRefundStatus, CallbackError, CallbackNotice,
    Capabilities, CreateQr, Deactivation, IssuedQr, PaymentQuery, QrKind, QrType, RefundIdentity,
    RefundRequest, unsupported,
};

pub use settings::Settings;
pub use signature::{
    notification_signature, order_notification_signature, verify_notification_signature,
    verify_order_notification_signature,
};

/// What the Raiffeisen API offers. Its spec documents no amount range or minimum lifetime
/// (only that `qrExpirationDate` must be in the future).
pub const CAPABILITIES: Capabilities = Capabilities {
    dynamic_qr: true,
    cash_register_link: true,
    customer_qr: false,
    partial_refund: true,
    callbacks: true,
    min_amount: None,
    max_amount: None,
    min_lifetime_seconds: None,
    refund_identity: RefundIdentity::ById,
    // The API's generic server-side failure (its error examples).
    bank_side_codes: &["ERROR.INTERNAL"],
};

/// How an endpoint's answer says "done" (see the module doc).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Success {
    /// The schema requires `code`; it must be `SUCCESS`.
    Code,
    /// The schema has no `code`: any 2xx object is the answer, unless it carries an error
    /// `code` (the error envelope).
    Bare,
}

/// Decodes an answer by its endpoint's [`Success`] rule: the bank's error envelope becomes
/// [`BankError::Rejected`], an unreadable body [`BankError::Protocol`].
pub(crate) fn decode<T: DeserializeOwned>(
    what: &str,
    status: StatusCode,
    bytes: &[u8],
    rule: Success,
) -> Result<T, BankError> {
    let envelope: Option<wire::Envelope> = serde_json::from_slice(bytes).ok();
    let code = envelope.as_ref().and_then(|e| e.code.as_deref());
    let succeeded = status.is_success()
        && match rule {
            Success::Code => code == Some(SUCCESS),
            Success::Bare => code.is_none_or(|c| c == SUCCESS),
        };
    if !succeeded {
        if envelope.is_none() && status.is_success() {
            return Err(BankError::Protocol(format!(
                "{what}: HTTP {} with an unreadable body",
                status.as_u16()
            )));
        }
        return Err(BankError::Rejected {
            code: code.map_or_else(|| format!("HTTP_{}", status.as_u16()), str::to_owned),
            message: envelope.and_then(|e| e.message).unwrap_or_default(),
        });
    }
    serde_json::from_slice(bytes)
        .map_err(|e| BankError::Protocol(format!("{what}: unexpected answer shape: {e}")))
}

/// The `code` of a successful answer.
const SUCCESS: &str = "SUCCESS";

/// Settings of one Raiffeisen merchant.
#[derive(Debug, Clone)]
pub struct RaiffeisenConfig {
    /// `https://pay.raif.ru` (production), `https://pay-test.raif.ru` (the bank's sandbox) or
    /// qrpayd's own sandbox. Paths `/api/...` are appended.
    pub base_url: String,
    /// The SBP merchant id, e.g. `MA0000000552`.
    pub sbp_merchant_id: String,
    /// The secret key: Bearer token for the API and HMAC key of notifications.
    pub secret_key: Secret,
    /// The store's `publicId`, which order (cash-register link) notifications sign in place of
    /// the merchant id (BANKS.md §1.7b). `None`: the `sbp_merchant_id` (our assumption for an
    /// SBP-only merchant until the bank says otherwise).
    pub public_id: Option<String>,
    /// Per-request timeout.
    pub timeout: Duration,
}

/// The adapter. Cheap to clone (the HTTP client is shared).
#[derive(Debug, Clone)]
pub struct Raiffeisen {
    config: RaiffeisenConfig,
    http: reqwest::Client,
}

/// `at` as the bank writes expiry dates (its own examples' form of `qrExpirationDate`): Moscow
/// time with microseconds and offset.
fn expiry_text(at: chrono::DateTime<chrono::Utc>) -> Result<String, BankError> {
    Ok(moscow::time(at)
        .format("%Y-%m-%dT%H:%M:%S%.6f%:z")
        .to_string())
}

impl Raiffeisen {
    /// Builds the adapter and its HTTP client.
    pub fn new(config: RaiffeisenConfig) -> Result<Self, BankError> {
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.timeout)
            .user_agent(concat!("qrpayd/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| BankError::Unavailable(format!("cannot build HTTP client: {e}")))?;
        Ok(Raiffeisen { config, http })
    }

    /// The merchant's SBP id.
    pub(crate) fn sbp_merchant_id(&self) -> &str {
        &self.config.sbp_merchant_id
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.config.base_url.trim_end_matches('/'))
    }

    /// Sends a request and returns (status, body). Transport problems become
    /// `Timeout`/`Unavailable`, server errors `Unavailable`.
    pub(crate) async fn send(
        &self,
        method: Method,
        path: &str,
        auth: bool,
        body: Option<Vec<u8>>,
    ) -> Result<(StatusCode, Vec<u8>), BankError> {
        let mut request = self.http.request(method.clone(), self.url(path));
        if auth {
            request = request.bearer_auth(self.config.secret_key.expose());
        }
        if let Some(body) = body {
            request = request
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body);
        }
        let response = request.send().await.map_err(transport_error)?;
        let status = response.status();
        let bytes = response.bytes().await.map_err(transport_error)?.to_vec();
        tracing::debug!(%method, path, status = status.as_u16(), "raiffeisen call");
        if status.is_server_error() {
            return Err(BankError::Unavailable(format!(
                "HTTP {} from {path}",
                status.as_u16()
            )));
        }
        if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
            return Err(BankError::Rejected {
                code: format!("HTTP_{}", status.as_u16()),
                message: "the bank refused the secret key (check secret_key in the config)".into(),
            });
        }
        Ok((status, bytes))
    }

    /// The `publicId` order notifications are signed with.
    pub(crate) fn public_id(&self) -> &str {
        self.config
            .public_id
            .as_deref()
            .unwrap_or(&self.config.sbp_merchant_id)
    }

    /// Sends a request and decodes the answer by the endpoint's [`Success`] rule.
    pub(crate) async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        auth: bool,
        body: Option<Vec<u8>>,
        rule: Success,
    ) -> Result<T, BankError> {
        let (status, bytes) = self.send(method, path, auth, body).await?;
        decode(path, status, &bytes, rule)
    }

    /// `GET /api/sbp/v2/qrs/{qrId}` (`qrInfov2`, no `code`): the QR's own status.
    async fn qr_status(&self, qr_id: &QrId) -> Result<String, BankError> {
        let info: wire::QrInfo = self
            .call(
                Method::GET,
                &format!("/api/sbp/v2/qrs/{}", qr_id.as_str()),
                true,
                None,
                Success::Bare,
            )
            .await?;
        if !info.qr_id.eq_ignore_ascii_case(qr_id.as_str()) {
            return Err(BankError::Protocol(format!(
                "QR status of {}, we asked about {qr_id}",
                info.qr_id
            )));
        }
        Ok(info.qr_status)
    }
}

fn transport_error(e: reqwest::Error) -> BankError {
    if e.is_timeout() {
        BankError::Timeout
    } else {
        BankError::Unavailable(e.to_string())
    }
}

fn to_json(value: &impl serde::Serialize) -> Result<Vec<u8>, BankError> {
    serde_json::to_vec(value).map_err(|e| BankError::Protocol(format!("cannot encode: {e}")))
}

/// Checks the amount and currency of an answer against what we asked for.
fn check_amount(
    what: &str,
    amount: Option<&serde_json::value::RawValue>,
    currency: Option<&str>,
    want_amount: Kopecks,
    want_currency: Currency,
) -> Result<(), BankError> {
    if let Some(raw) = amount {
        let got = Kopecks::parse_rubles(raw.get())
            .map_err(|e| BankError::Protocol(format!("{what}: bad amount: {e}")))?;
        if got != want_amount {
            return Err(BankError::Protocol(format!(
                "{what}: the bank reports {} RUB, we asked for {}",
                got.to_rubles_fixed(),
                want_amount.to_rubles_fixed()
            )));
        }
    }
    if let Some(currency) = currency
        && currency != want_currency.code()
    {
        return Err(BankError::Protocol(format!(
            "{what}: the bank reports currency {currency}, we asked for {want_currency}"
        )));
    }
    Ok(())
}

/// A `paymentStatus` (spec enum `SUCCESS`, `DECLINED`, `NO_INFO`, `IN_PROGRESS`).
fn payment_status(text: &str, transaction_id: Option<String>) -> BankPaymentStatus {
    match text {
        "NO_INFO" => BankPaymentStatus::NotPaid,
        "IN_PROGRESS" => BankPaymentStatus::InProgress,
        "SUCCESS" => BankPaymentStatus::Paid { transaction_id },
        "DECLINED" => BankPaymentStatus::Declined,
        other => BankPaymentStatus::Unrecognised(other.to_owned()),
    }
}

fn refund_status(text: &str) -> Result<BankRefundStatus, BankError> {
    match text {
        "IN_PROGRESS" => Ok(BankRefundStatus::InProgress),
        "COMPLETED" => Ok(BankRefundStatus::Completed),
        "DECLINED" => Ok(BankRefundStatus::Declined),
        other => Err(BankError::Protocol(format!(
            "unknown refundStatus {other:?}"
        ))),
    }
}

/// A QR id from the bank's answer.
fn bank_qr_id(text: &str) -> Result<QrId, BankError> {
    QrId::parse(text).map_err(|e| BankError::Protocol(format!("qrId {text:?}: {e}")))
}

/// Checks that a payload is the NSPK link of `qr_id` (case-insensitive id, any query).
fn check_payload_names(payload: &str, qr_id: &QrId) -> Result<(), BankError> {
    match qrpayd_domain::nspk::parse_link(payload) {
        Ok(link) if link.qrc_id.eq_ignore_ascii_case(qr_id.as_str()) => Ok(()),
        _ => Err(BankError::Protocol(format!(
            "payload {payload:?} does not name QR {qr_id}"
        ))),
    }
}

impl Raiffeisen {
    /// `POST /api/sbp/v2/qrs` `QRDynamic`.
    async fn create_dynamic(&self, request: &CreateQr) -> Result<IssuedQr, BankError> {
        let body = wire::RegisterQr {
            qr_type: "QRDynamic",
            sbp_merchant_id: &self.config.sbp_merchant_id,
            order: request.payment_id.as_str(),
            amount: wire::amount(request.amount)?,
            currency: request.currency.code(),
            qr_expiration_date: expiry_text(request.expires_at)?,
            payment_details: request.description.as_deref(),
        };
        let answer: wire::RegisteredQr = self
            .call(
                Method::POST,
                "/api/sbp/v2/qrs",
                false,
                Some(to_json(&body)?),
                Success::Code,
            )
            .await?;
        let qr_id = bank_qr_id(&answer.qr_id)?;
        // The payload is what the customer pays: make sure it is the QR and the sum we asked for.
        let expected_prefix = format!("https://qr.nspk.ru/{}", qr_id.as_str());
        if !answer.payload.starts_with(&expected_prefix) {
            return Err(BankError::Protocol(format!(
                "payload {:?} does not name QR {qr_id}",
                answer.payload
            )));
        }
        if let Some(sum) = query_param(&answer.payload, "sum")
            && sum != request.amount.get().to_string()
        {
            return Err(BankError::Protocol(format!(
                "payload sum {sum} kopecks, we asked for {}",
                request.amount.get()
            )));
        }
        Ok(IssuedQr {
            qr_id,
            payload: answer.payload,
        })
    }

    /// `GET /api/sbp/v1/qr/{qrId}/payment-info`.
    async fn dynamic_status(&self, query: &PaymentQuery) -> Result<BankPaymentStatus, BankError> {
        let info: wire::PaymentInfo = self
            .call(
                Method::GET,
                &format!("/api/sbp/v1/qr/{}/payment-info", query.qr_id.as_str()),
                true,
                None,
                Success::Code,
            )
            .await?;
        if let Some(qr_id) = &info.qr_id
            && qr_id != query.qr_id.as_str()
        {
            return Err(BankError::Protocol(format!(
                "payment-info for {qr_id}, we asked about {}",
                query.qr_id
            )));
        }
        if let Some(order) = &info.order
            && order != query.payment_id.as_str()
        {
            return Err(BankError::Protocol(format!(
                "payment-info order {order}, we expected {}",
                query.payment_id
            )));
        }
        check_amount(
            "payment-info",
            info.amount.as_deref(),
            info.currency.as_deref(),
            query.amount,
            query.currency,
        )?;
        let status = info
            .payment_status
            .as_deref()
            .ok_or_else(|| BankError::Protocol("payment-info without paymentStatus".into()))?;
        Ok(payment_status(
            status,
            info.transaction_id.map(|id| id.to_string()),
        ))
    }

    /// `DELETE /api/sbp/v2/qrs/{qrId}` (HTTP 200, empty body). When the bank refuses, the QR's
    /// own status (`qrInfov2`) says whether it can still be paid.
    async fn deactivate_dynamic(&self, qr_id: &QrId) -> Result<Deactivation, BankError> {
        let path = format!("/api/sbp/v2/qrs/{}", qr_id.as_str());
        let (status, bytes) = self.send(Method::DELETE, &path, true, None).await?;
        let refusal = if bytes.iter().all(u8::is_ascii_whitespace) {
            status
                .is_success()
                .then_some(())
                .ok_or_else(|| format!("HTTP_{}", status.as_u16()))
        } else {
            decode::<serde_json::Value>(&path, status, &bytes, Success::Bare)
                .map(drop)
                .map_err(|e| e.to_string())
        };
        let Err(refusal) = refusal else {
            return Ok(Deactivation::Closed);
        };
        // Already paid, cancelled or expired all mean "nobody can pay it any more"; the payment
        // status the caller asks next tells which.
        let qr_status = self.qr_status(qr_id).await?;
        Ok(match qr_status.as_str() {
            "PAID" | "CANCELLED" | "EXPIRED" => Deactivation::Closed,
            _ => Deactivation::StillOpen(format!(
                "the bank refused to deactivate QR {qr_id} ({refusal}); its status is {qr_status}"
            )),
        })
    }

    /// `POST /api/sbp/v1/refund`.
    async fn dynamic_refund(&self, request: &RefundRequest) -> Result<BankRefundStatus, BankError> {
        let transaction_id = request
            .transaction_id
            .as_deref()
            .and_then(|t| t.parse::<i64>().ok());
        let body = wire::RefundRequest {
            amount: wire::amount(request.amount)?,
            order: request.payment_id.as_str(),
            refund_id: request.refund_id.as_str(),
            transaction_id,
            payment_details: request.details.as_deref(),
        };
        let answer: wire::RefundAnswer = self
            .call(
                Method::POST,
                "/api/sbp/v1/refund",
                true,
                Some(to_json(&body)?),
                Success::Code,
            )
            .await?;
        refund_answer("refund", &answer, request.amount)
    }

    /// `GET /api/sbp/v1/refund/{refundId}`.
    async fn dynamic_refund_status(
        &self,
        request: &RefundRequest,
    ) -> Result<Option<BankRefundStatus>, BankError> {
        let path = format!("/api/sbp/v1/refund/{}", request.refund_id.as_str());
        refund_lookup(
            self.call::<wire::RefundAnswer>(Method::GET, &path, true, None, Success::Code)
                .await,
            request.amount,
        )
    }

    /// An SBP payment notification (§1.7a).
    fn parse_payment_notification(
        &self,
        given: &str,
        body: &[u8],
    ) -> Result<CallbackNotice, CallbackError> {
        let notice: wire::PaymentNotification =
            serde_json::from_slice(body).map_err(|e| CallbackError::Malformed(e.to_string()))?;
        let amount_text = notice.amount.get();
        let order = notice.order.clone().unwrap_or_default();
        let signed = |amount: &str| {
            verify_notification_signature(
                &self.config.secret_key,
                amount,
                &notice.sbp_merchant_id,
                &order,
                &notice.payment_status,
                &notice.transaction_date,
                given,
            )
        };
        let amount = Kopecks::parse_rubles(amount_text)
            .map_err(|e| CallbackError::Malformed(format!("amount: {e}")))?;
        // The bank signs the amount as text and its SDKs print it two ways (`10.50`, `10.5`):
        // accept the text as sent, then the canonical form.
        if !(signed(amount_text) || signed(&amount.to_rubles_text())) {
            return Err(CallbackError::BadSignature);
        }
        if notice.sbp_merchant_id != self.config.sbp_merchant_id {
            // Signed with our key but for another merchant id: nothing of ours. Acknowledged
            // (the bank stops re-sending it) and it changes nothing.
            tracing::warn!(
                merchant = %notice.sbp_merchant_id,
                "notification for another merchant id; acknowledged and ignored"
            );
            return Ok(CallbackNotice {
                order: None,
                amount: Some(amount),
                currency: None,
                status: None,
            });
        }
        // Only signed fields: `order`, the amount and the status. `qrId`, `transactionId` and
        // `currency` are not signed and are ignored.
        Ok(CallbackNotice {
            order: notice.order.filter(|o| !o.is_empty()),
            amount: Some(amount),
            currency: None,
            status: Some(payment_status(&notice.payment_status, None)),
        })
    }
}

/// Checks a refund answer's amount and reads its status.
fn refund_answer(
    what: &str,
    answer: &wire::RefundAnswer,
    amount: Kopecks,
) -> Result<BankRefundStatus, BankError> {
    check_amount(what, answer.amount.as_deref(), None, amount, Currency::Rub)?;
    refund_status(&answer.refund_status)
}

/// A refund status query's answer: the refund, or `None` when the bank never heard of it.
fn refund_lookup(
    answer: Result<wire::RefundAnswer, BankError>,
    amount: Kopecks,
) -> Result<Option<BankRefundStatus>, BankError> {
    match answer {
        Ok(answer) => refund_answer("refund status", &answer, amount).map(Some),
        // The bank never got it: safe to send again under the same id. (The order API's
        // code may come without the `ERROR.` prefix.)
        Err(BankError::Rejected { code, .. })
            if code == "ERROR.REFUND_NOT_FOUND" || code == "REFUND_NOT_FOUND" =>
        {
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

#[async_trait]
impl BankAdapter for Raiffeisen {
    fn capabilities(&self) -> Capabilities {
        CAPABILITIES
    }

    async fn create_qr(&self, request: &CreateQr) -> Result<IssuedQr, BankError> {
        match &request.kind {
            QrKind::Dynamic => self.create_dynamic(request).await,
            QrKind::CashLink {
                link_qr_id,
                link_payload,
            } => self.create_order(request, link_qr_id, link_payload).await,
            QrKind::Customer { .. } => Err(unsupported("Raiffeisen", "customer-presented QRs")),
        }
    }

    async fn register_cash_link(&self) -> Result<IssuedQr, BankError> {
        let body = wire::RegisterVariable {
            qr_type: "QRVariable",
            sbp_merchant_id: &self.config.sbp_merchant_id,
        };
        let answer: wire::RegisteredQr = self
            .call(
                Method::POST,
                "/api/sbp/v2/qrs",
                false,
                Some(to_json(&body)?),
                Success::Code,
            )
            .await?;
        let qr_id = bank_qr_id(&answer.qr_id)?;
        check_payload_names(&answer.payload, &qr_id)?;
        Ok(IssuedQr {
            qr_id,
            payload: answer.payload,
        })
    }

    async fn payment_status(&self, query: &PaymentQuery) -> Result<BankPaymentStatus, BankError> {
        match query.qr_type {
            QrType::Dynamic => self.dynamic_status(query).await,
            QrType::CashRegister => self.order_status(query).await,
            QrType::Customer => Err(unsupported("Raiffeisen", "customer-presented QRs")),
        }
    }

    async fn deactivate_qr(&self, query: &PaymentQuery) -> Result<Deactivation, BankError> {
        match query.qr_type {
            QrType::Dynamic => self.deactivate_dynamic(&query.qr_id).await,
            QrType::CashRegister => self.cancel_order(&query.payment_id).await,
            QrType::Customer => Err(unsupported("Raiffeisen", "customer-presented QRs")),
        }
    }

    async fn refund(&self, request: &RefundRequest) -> Result<BankRefundStatus, BankError> {
        match request.qr_type {
            QrType::Dynamic => self.dynamic_refund(request).await,
            QrType::CashRegister => self.order_refund(request).await,
            QrType::Customer => Err(unsupported("Raiffeisen", "customer-presented QRs")),
        }
    }

    async fn refund_status(
        &self,
        request: &RefundRequest,
    ) -> Result<Option<BankRefundStatus>, BankError> {
        match request.qr_type {
            QrType::Dynamic => self.dynamic_refund_status(request).await,
            QrType::CashRegister => self.order_refund_status(request).await,
            QrType::Customer => Err(unsupported("Raiffeisen", "customer-presented QRs")),
        }
    }

    async fn register_callback_url(&self, url: &str) -> Result<(), BankError> {
        let body = to_json(&wire::CallbackSettings { callback_url: url })?;
        let answer: wire::CallbackSettingsAnswer = self
            .call(
                Method::POST,
                "/api/settings/v1/callback",
                true,
                Some(body),
                Success::Bare,
            )
            .await?;
        if answer.callback_url != url {
            return Err(BankError::Protocol(format!(
                "the bank set the callback URL {:?}, we asked for {url:?}",
                answer.callback_url
            )));
        }
        Ok(())
    }

    fn parse_callback(
        &self,
        headers: &reqwest::header::HeaderMap,
        body: &[u8],
    ) -> Result<CallbackNotice, CallbackError> {
        let given = headers
            .get("x-api-signature-sha256")
            .and_then(|v| v.to_str().ok())
            .ok_or(CallbackError::BadSignature)?;
        let probe: wire::NotificationProbe =
            serde_json::from_slice(body).map_err(|e| CallbackError::Malformed(e.to_string()))?;
        if probe.transaction.is_some() {
            self.parse_order_notification(given, body)
        } else {
            self.parse_payment_notification(given, body)
        }
    }

    fn callback_ack_body(&self) -> Option<&'static str> {
        None
    }
}

/// The value of a query parameter in a link, without pulling in a URL parser.
fn query_param<'a>(link: &'a str, name: &str) -> Option<&'a str> {
    let (_, query) = link.split_once('?')?;
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k == name).then_some(v)
    })
}

#[cfg(test)]
mod tests;
