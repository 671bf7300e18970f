//! T-Bank (Т-Банк, formerly Tinkoff) internet acquiring with SBP (BANKS.md §3.3).
//!
//! Every call is `POST <base_url>/v2/<Method>` with a JSON body signed by `Token` (see
//! `token`); `base_url` is `https://securepay.tinkoff.ru` in production (test terminals, whose
//! keys end in `DEMO`, use the same host) or qrpayd's sandbox (`…/tbank`). An answer is a
//! success only with HTTP 2xx, `Success: true` *and* `ErrorCode: "0"`: the bank reports
//! business errors with HTTP 200. Amounts are kopecks and are checked against ours.
//!
//! * create: `Init` (Amount, `OrderId` = our payment id, Description, `RedirectDueDate` =
//!   the payment's expiry, `DATA: {"QR": "true"}`, `NotificationURL`) → `PaymentId`; then
//!   `GetQr` (`DataType: PAYLOAD`) → `Data`, the NSPK link to show. The payment's QR id in
//!   qrpayd is T-Bank's `PaymentId`.
//! * status: `GetState` — `NEW`/`FORM_SHOWED` not paid; `AUTHORIZING`/`AUTHORIZED`/
//!   `CONFIRMING` in progress; `CONFIRMED` paid; `REJECTED` declined;
//!   `DEADLINE_EXPIRED`/`CANCELED`/`REVERSED` not paid; refund statuses (`ASYNC_REFUNDING`,
//!   `PARTIAL_REFUNDED`, `REFUNDED`, …) paid (the payment was paid before it was refunded).
//! * deactivate: `GetState` first, then `Cancel` only while `NEW`/`FORM_SHOWED` (a `Cancel`
//!   of a paid payment would refund it). If the customer pays between the two calls, T-Bank
//!   turns the `Cancel` into a full refund; we log it as an error and the status (refunded,
//!   i.e. paid) decides: a person must look at such a payment (reconciliation shows the
//!   bank's refund). The window is the time between two calls.
//! * refund: `Cancel` with `Amount` and `ExternalRequestId` = our refund id, so a repeat is
//!   answered with the same operation instead of a second refund. T-Bank documents that
//!   idempotency for card operations; for SBP it is our assumption (qrpayd's sandbox honours
//!   it) — verify on the bank's test terminal.
//! * refund status: `GetQrState` ("status of an SBP refund of a payment") with the payment's
//!   `PaymentId` and, as our extension, `ExternalRequestId` to name the refund. The sandbox
//!   answers per refund; if the real bank ignores the extra field it answers about the
//!   payment's latest refund, and the amount check below refuses an answer about another
//!   amount (so a different refund is never taken for ours; two refunds of the same amount
//!   could still be confused). ErrorCode [`REFUND_NOT_FOUND`] (the sandbox's) means the
//!   bank never got the refund: safe to send again under the same id.
//! * notifications: POSTed to the `NotificationURL` given at `Init` (the URL
//!   [`BankAdapter::register_callback_url`] was told; T-Bank has no API to set it globally)
//!   or the one set in the terminal's settings; verified with the same `Token` rule
//!   (excluding `Token`), answered with plain `OK`.
//!
//! Not offered by this API: cash-register links (T-Bank's are in its separate QR-terminal API,
//! TACAP, whose signature is not public — BANKS.md §2.4) and customer-presented QRs.

mod token;
mod wire;

use std::collections::BTreeMap;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, FixedOffset, Utc};
use qrpayd_domain::ids::QrId;
use qrpayd_domain::money::Kopecks;
use qrpayd_domain::secret::Secret;
use reqwest::StatusCode;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use serde_json::value::RawValue;

use crate::{
    BankAdapter, BankError, BankPaymentStatus, BankRefundStatus, CallbackError, CallbackNotice,
    Capabilities, CreateQr, IssuedQr, PaymentQuery, QrKind, QrType, RefundRequest, unsupported,
};

pub use token::{raw_token, request_token, same_token};

/// What the T-Bank acquiring API offers.
pub const CAPABILITIES: Capabilities = Capabilities {
    dynamic_qr: true,
    cash_register_link: false,
    customer_qr: false,
    partial_refund: true,
    callbacks: true,
};

/// `ErrorCode` of `GetQrState` for a refund the bank does not know (qrpayd's sandbox; the
/// real bank's code for this case is not documented).
pub const REFUND_NOT_FOUND: &str = "404";

/// Longest `Description` T-Bank takes.
const MAX_DESCRIPTION: usize = 140;

/// Settings of one T-Bank terminal.
#[derive(Debug, Clone)]
pub struct TBankConfig {
    /// `https://securepay.tinkoff.ru` or qrpayd's sandbox (`http://…/tbank`); `/v2/<Method>`
    /// is appended.
    pub base_url: String,
    /// The terminal key (`TerminalKey`).
    pub terminal_key: String,
    /// The terminal's password: part of every `Token`.
    pub password: Secret,
    /// Per-request timeout.
    pub timeout: Duration,
}

/// The adapter. Cheap to clone (the HTTP client and the notification URL are shared).
#[derive(Debug, Clone)]
pub struct TBank {
    config: TBankConfig,
    http: reqwest::Client,
    notification_url: Arc<RwLock<Option<String>>>,
}

/// `at` as T-Bank writes dates: Moscow time, seconds, offset.
fn due_date(at: DateTime<Utc>) -> Result<String, BankError> {
    FixedOffset::east_opt(3 * 3600)
        .map(|tz| {
            at.with_timezone(&tz)
                .format("%Y-%m-%dT%H:%M:%S%:z")
                .to_string()
        })
        .ok_or_else(|| BankError::Protocol("no Moscow offset".into()))
}

/// A payment `Status` as a payment status.
fn payment_status(status: &str, payment_id: &str) -> Result<BankPaymentStatus, BankError> {
    match status {
        "NEW" | "FORM_SHOWED" | "DEADLINE_EXPIRED" | "CANCELED" | "REVERSED" => {
            Ok(BankPaymentStatus::NotPaid)
        }
        "AUTHORIZING" | "AUTHORIZED" | "CONFIRMING" | "REVERSING" | "3DS_CHECKING"
        | "3DS_CHECKED" => Ok(BankPaymentStatus::InProgress),
        "CONFIRMED" | "REFUNDING" | "ASYNC_REFUNDING" | "QR_REFUNDING" | "PARTIAL_REFUNDED"
        | "REFUNDED" => Ok(BankPaymentStatus::Paid {
            transaction_id: Some(payment_id.to_owned()),
        }),
        "REJECTED" | "AUTH_FAIL" => Ok(BankPaymentStatus::Declined),
        other => Err(BankError::Protocol(format!(
            "unknown payment Status {other:?}"
        ))),
    }
}

/// Is this payment status a (partly) refunded one? Its `Amount` may then be what is left.
fn is_refund_status(status: &str) -> bool {
    matches!(
        status,
        "REFUNDING" | "ASYNC_REFUNDING" | "QR_REFUNDING" | "PARTIAL_REFUNDED" | "REFUNDED"
    )
}

/// A refund operation's `Status` as a refund status.
fn refund_status(status: &str) -> Result<BankRefundStatus, BankError> {
    match status {
        "REFUNDING" | "ASYNC_REFUNDING" | "QR_REFUNDING" => Ok(BankRefundStatus::InProgress),
        "REFUNDED" | "PARTIAL_REFUNDED" => Ok(BankRefundStatus::Completed),
        "REJECTED" | "REFUND_REJECTED" => Ok(BankRefundStatus::Declined),
        other => Err(BankError::Protocol(format!(
            "unknown refund Status {other:?}"
        ))),
    }
}

fn transport_error(e: reqwest::Error) -> BankError {
    if e.is_timeout() {
        BankError::Timeout
    } else {
        BankError::Unavailable(e.to_string())
    }
}

/// Kopecks as T-Bank's integer.
fn kopecks(amount: Kopecks) -> i64 {
    amount.get()
}

/// Checks a reported kopeck amount.
fn check_amount(what: &str, got: Option<i64>, want: Kopecks) -> Result<(), BankError> {
    match got {
        Some(got) if got != want.get() => Err(BankError::Protocol(format!(
            "{what}: the bank reports {got} kopecks, we expected {}",
            want.get()
        ))),
        _ => Ok(()),
    }
}

/// Checks that an answer is about the payment we asked about.
fn check_payment_id(what: &str, got: Option<&str>, want: &str) -> Result<(), BankError> {
    match got {
        Some(got) if got != want => Err(BankError::Protocol(format!(
            "{what}: answer about PaymentId {got}, we asked about {want}"
        ))),
        _ => Ok(()),
    }
}

impl TBank {
    /// Builds the adapter and its HTTP client.
    pub fn new(config: TBankConfig) -> Result<Self, BankError> {
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.timeout)
            .user_agent(concat!("qrpayd/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| BankError::Unavailable(format!("cannot build HTTP client: {e}")))?;
        Ok(TBank {
            config,
            http,
            notification_url: Arc::new(RwLock::new(None)),
        })
    }

    fn url(&self, method: &str) -> String {
        format!("{}/v2/{method}", self.config.base_url.trim_end_matches('/'))
    }

    /// Signs and sends `request` to `/v2/<method>`; decodes the answer when it is a success.
    async fn call<T: DeserializeOwned>(
        &self,
        method: &str,
        request: &impl Serialize,
    ) -> Result<T, BankError> {
        let Value::Object(mut params) = serde_json::to_value(request)
            .map_err(|e| BankError::Protocol(format!("cannot encode {method}: {e}")))?
        else {
            return Err(BankError::Protocol(format!("{method}: not a JSON object")));
        };
        let token = request_token(&params, &self.config.password);
        params.insert(token::TOKEN.to_owned(), Value::String(token));
        let body = serde_json::to_vec(&params)
            .map_err(|e| BankError::Protocol(format!("cannot encode {method}: {e}")))?;
        let response = self
            .http
            .post(self.url(method))
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body)
            .send()
            .await
            .map_err(transport_error)?;
        let status = response.status();
        let bytes = response.bytes().await.map_err(transport_error)?;
        tracing::debug!(method, status = status.as_u16(), "t-bank call");
        if status.is_server_error() {
            return Err(BankError::Unavailable(format!(
                "HTTP {} from {method}",
                status.as_u16()
            )));
        }
        if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
            return Err(BankError::Rejected {
                code: format!("HTTP_{}", status.as_u16()),
                message: "the bank refused the terminal (check terminal_key and password)".into(),
            });
        }
        let common: wire::Common = serde_json::from_slice(&bytes).map_err(|e| {
            BankError::Protocol(format!(
                "{method}: HTTP {} with unreadable body: {e}",
                status.as_u16()
            ))
        })?;
        if !status.is_success() || !common.success || common.error_code.as_deref() != Some("0") {
            let message = [common.message, common.details]
                .into_iter()
                .flatten()
                .filter(|m| !m.is_empty())
                .collect::<Vec<_>>()
                .join(" ");
            return Err(BankError::Rejected {
                code: common
                    .error_code
                    .unwrap_or_else(|| format!("HTTP_{}", status.as_u16())),
                message,
            });
        }
        if let Some(key) = &common.terminal_key
            && key != &self.config.terminal_key
        {
            return Err(BankError::Protocol(format!(
                "{method}: answer for terminal {key}, we are {}",
                self.config.terminal_key
            )));
        }
        serde_json::from_slice(&bytes)
            .map_err(|e| BankError::Protocol(format!("{method}: unexpected answer shape: {e}")))
    }

    /// The payment's T-Bank `PaymentId` (our QR id), for a refund.
    fn refund_payment_id(request: &RefundRequest) -> Result<&QrId, BankError> {
        match request.qr_type {
            QrType::Dynamic => request.qr_id.as_ref().ok_or_else(|| {
                BankError::Protocol(format!(
                    "refund {}: the payment has no T-Bank PaymentId",
                    request.refund_id
                ))
            }),
            QrType::CashRegister => Err(unsupported("T-Bank", "cash-register links")),
            QrType::Customer => Err(unsupported("T-Bank", "customer-presented QRs")),
        }
    }

    /// Refuses the QR types this API does not have.
    fn dynamic_only(qr_type: QrType) -> Result<(), BankError> {
        match qr_type {
            QrType::Dynamic => Ok(()),
            QrType::CashRegister => Err(unsupported("T-Bank", "cash-register links")),
            QrType::Customer => Err(unsupported("T-Bank", "customer-presented QRs")),
        }
    }

    /// `GetState`, checked against the payment.
    async fn state(&self, query: &PaymentQuery) -> Result<String, BankError> {
        let payment_id = query.qr_id.as_str();
        let answer: wire::PaymentAnswer = self
            .call(
                "GetState",
                &wire::GetState {
                    terminal_key: &self.config.terminal_key,
                    payment_id,
                },
            )
            .await?;
        check_payment_id("GetState", answer.payment_id.as_deref(), payment_id)?;
        if let Some(order) = &answer.order_id
            && order != query.payment_id.as_str()
        {
            return Err(BankError::Protocol(format!(
                "GetState: OrderId {order}, we expected {}",
                query.payment_id
            )));
        }
        let status = answer
            .status
            .ok_or_else(|| BankError::Protocol("GetState without Status".into()))?;
        // After a partial refund the bank may report what is left.
        match answer.amount {
            Some(got) if is_refund_status(&status) && got <= kopecks(query.amount) => {}
            got => check_amount("GetState", got, query.amount)?,
        }
        Ok(status)
    }
}

#[async_trait]
impl BankAdapter for TBank {
    fn capabilities(&self) -> Capabilities {
        CAPABILITIES
    }

    async fn create_qr(&self, request: &CreateQr) -> Result<IssuedQr, BankError> {
        match &request.kind {
            QrKind::Dynamic => {}
            QrKind::CashLink { .. } => return Err(unsupported("T-Bank", "cash-register links")),
            QrKind::Customer { .. } => {
                return Err(unsupported("T-Bank", "customer-presented QRs"));
            }
        }
        let notification_url = self
            .notification_url
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let init = wire::Init {
            terminal_key: &self.config.terminal_key,
            amount: kopecks(request.amount),
            order_id: request.payment_id.as_str(),
            description: request
                .description
                .as_deref()
                .map(|d| d.chars().take(MAX_DESCRIPTION).collect()),
            redirect_due_date: due_date(request.expires_at)?,
            notification_url,
            data: wire::InitData { qr: "true" },
        };
        let answer: wire::PaymentAnswer = self.call("Init", &init).await?;
        check_amount("Init", answer.amount, request.amount)?;
        if let Some(order) = &answer.order_id
            && order != request.payment_id.as_str()
        {
            return Err(BankError::Protocol(format!(
                "Init: OrderId {order}, we sent {}",
                request.payment_id
            )));
        }
        let payment_id = answer
            .payment_id
            .ok_or_else(|| BankError::Protocol("Init without PaymentId".into()))?;
        let qr_id = QrId::parse(&payment_id)
            .map_err(|e| BankError::Protocol(format!("PaymentId {payment_id:?}: {e}")))?;
        let qr: wire::PaymentAnswer = self
            .call(
                "GetQr",
                &wire::GetQr {
                    terminal_key: &self.config.terminal_key,
                    payment_id: &payment_id,
                    data_type: "PAYLOAD",
                },
            )
            .await?;
        check_payment_id("GetQr", qr.payment_id.as_deref(), &payment_id)?;
        let payload = qr
            .data
            .ok_or_else(|| BankError::Protocol("GetQr without Data".into()))?;
        // The payload is what the customer pays: an NSPK link, for our sum if it says one.
        let link = qrpayd_domain::nspk::parse_link(&payload).map_err(|e| {
            BankError::Protocol(format!("GetQr Data {payload:?} is not an NSPK link: {e}"))
        })?;
        if let Some(sum) = link.sum
            && sum != request.amount
        {
            return Err(BankError::Protocol(format!(
                "GetQr payload sum {} kopecks, we asked for {}",
                sum.get(),
                request.amount.get()
            )));
        }
        Ok(IssuedQr { qr_id, payload })
    }

    async fn register_cash_link(&self) -> Result<IssuedQr, BankError> {
        Err(unsupported("T-Bank", "cash-register links"))
    }

    async fn payment_status(&self, query: &PaymentQuery) -> Result<BankPaymentStatus, BankError> {
        Self::dynamic_only(query.qr_type)?;
        let status = self.state(query).await?;
        payment_status(&status, query.qr_id.as_str())
    }

    async fn deactivate_qr(&self, query: &PaymentQuery) -> Result<(), BankError> {
        Self::dynamic_only(query.qr_type)?;
        let status = self.state(query).await?;
        if !matches!(status.as_str(), "NEW" | "FORM_SHOWED") {
            // Paying, paid, or already closed: nothing to cancel; the status decides.
            return Ok(());
        }
        let answer: wire::PaymentAnswer = self
            .call(
                "Cancel",
                &wire::Cancel {
                    terminal_key: &self.config.terminal_key,
                    payment_id: query.qr_id.as_str(),
                    amount: None,
                    external_request_id: None,
                },
            )
            .await?;
        check_payment_id("Cancel", answer.payment_id.as_deref(), query.qr_id.as_str())?;
        match answer.status.as_deref() {
            Some("CANCELED" | "DEADLINE_EXPIRED") | None => Ok(()),
            Some(other) => {
                tracing::error!(
                    payment = %query.payment_id,
                    t_bank_payment = %query.qr_id,
                    status = other,
                    "T-Bank answered a cancel of an unpaid payment with {other}: the customer paid a moment before, and the cancel may have refunded it; check this payment at the bank"
                );
                Ok(())
            }
        }
    }

    async fn refund(&self, request: &RefundRequest) -> Result<BankRefundStatus, BankError> {
        let payment_id = Self::refund_payment_id(request)?;
        let answer: wire::PaymentAnswer = self
            .call(
                "Cancel",
                &wire::Cancel {
                    terminal_key: &self.config.terminal_key,
                    payment_id: payment_id.as_str(),
                    amount: Some(kopecks(request.amount)),
                    external_request_id: Some(request.refund_id.as_str()),
                },
            )
            .await?;
        check_payment_id("Cancel", answer.payment_id.as_deref(), payment_id.as_str())?;
        if let (Some(before), Some(after)) = (answer.original_amount, answer.new_amount)
            && before.checked_sub(after) != Some(kopecks(request.amount))
        {
            return Err(BankError::Protocol(format!(
                "Cancel: {before} → {after} kopecks, we refunded {}",
                request.amount.get()
            )));
        }
        let status = answer
            .status
            .ok_or_else(|| BankError::Protocol("Cancel without Status".into()))?;
        refund_status(&status)
    }

    async fn refund_status(
        &self,
        request: &RefundRequest,
    ) -> Result<Option<BankRefundStatus>, BankError> {
        let payment_id = Self::refund_payment_id(request)?;
        let answer = self
            .call::<wire::PaymentAnswer>(
                "GetQrState",
                &wire::GetQrState {
                    terminal_key: &self.config.terminal_key,
                    payment_id: payment_id.as_str(),
                    external_request_id: request.refund_id.as_str(),
                },
            )
            .await;
        let answer = match answer {
            Ok(answer) => answer,
            Err(BankError::Rejected { code, .. }) if code == REFUND_NOT_FOUND => return Ok(None),
            Err(e) => return Err(e),
        };
        check_payment_id(
            "GetQrState",
            answer.payment_id.as_deref(),
            payment_id.as_str(),
        )?;
        if let Some(id) = &answer.external_request_id
            && id != request.refund_id.as_str()
        {
            return Err(BankError::Protocol(format!(
                "GetQrState: answer about refund {id}, we asked about {}",
                request.refund_id
            )));
        }
        check_amount("GetQrState", answer.amount, request.amount)?;
        let status = answer
            .status
            .ok_or_else(|| BankError::Protocol("GetQrState without Status".into()))?;
        refund_status(&status).map(Some)
    }

    async fn register_callback_url(&self, url: &str) -> Result<(), BankError> {
        // No API sets it for the terminal: every Init carries it.
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
        let fields: BTreeMap<String, Box<RawValue>> =
            serde_json::from_slice(body).map_err(|e| CallbackError::Malformed(e.to_string()))?;
        let given: String = fields
            .get(token::TOKEN)
            .and_then(|raw| serde_json::from_str(raw.get()).ok())
            .ok_or(CallbackError::BadSignature)?;
        let expected = raw_token(&fields, &self.config.password)
            .ok_or_else(|| CallbackError::Malformed("undecodable text value".into()))?;
        if !same_token(&given, &expected) {
            return Err(CallbackError::BadSignature);
        }
        let notice: wire::Notification =
            serde_json::from_slice(body).map_err(|e| CallbackError::Malformed(e.to_string()))?;
        if notice.terminal_key != self.config.terminal_key {
            return Err(CallbackError::Malformed(format!(
                "notification for terminal {}, we are {}",
                notice.terminal_key, self.config.terminal_key
            )));
        }
        let payment_id = notice
            .payment_id
            .ok_or_else(|| CallbackError::Malformed("no PaymentId".into()))?;
        let qr_id = QrId::parse(&payment_id)
            .map_err(|e| CallbackError::Malformed(format!("PaymentId: {e}")))?;
        let amount = Kopecks::new(notice.amount)
            .map_err(|e| CallbackError::Malformed(format!("Amount: {e}")))?;
        let status = payment_status(&notice.status, &payment_id)
            .map_err(|e| CallbackError::Malformed(e.to_string()))?;
        Ok(CallbackNotice {
            qr_id: Some(qr_id),
            order: Some(notice.order_id),
            amount,
            currency: None,
            status,
        })
    }

    fn callback_ack_body(&self) -> Option<&'static str> {
        Some("OK")
    }
}

#[cfg(test)]
mod tests;
