//! T-Bank (Т-Банк, formerly Tinkoff) internet acquiring with SBP (BANKS.md §3.3), as its
//! published OpenAPI (v1.80, `shared/specs/tbank/openapi.json`) describes it.
//!
//! Every call is `POST <base_url>/v2/<Method>` with a JSON body signed by `Token` (see
//! `token`); `base_url` is `https://securepay.tinkoff.ru` in production (test terminals, whose
//! keys end in `DEMO`, use the same host) or qrpayd's sandbox (`…/tbank`). An answer is a
//! success only with HTTP 2xx, `Success: true` *and* `ErrorCode: "0"`: the bank reports
//! business errors with HTTP 200. Amounts are kopecks and are checked against ours.
//!
//! * create: `Init` (Amount, `OrderId` = our payment id, Description, `RedirectDueDate` =
//!   the payment's expiry, `NotificationURL`) → `PaymentId`; then `GetQr` (`DataType:
//!   PAYLOAD`) → `Data`, the NSPK link to show. No `DATA.QR`: the spec documents it for binding
//!   an account, not for a one-payment QR. The payment's QR id in qrpayd is T-Bank's
//!   `PaymentId`. SBP limits ([`CAPABILITIES`]): 10 … 1 000 000 RUB (error 3016 otherwise),
//!   `RedirectDueDate` at least a minute ahead (3017): the service refuses outside them before
//!   calling.
//! * status: `GetState`; every status of the spec's status model maps ([`payment_status`]);
//!   one the spec does not list is [`BankPaymentStatus::Unrecognised`] (logged, polled again).
//! * deactivate: `GetState` first, then `Cancel` only while `NEW`/`FORM_SHOWED`. If the
//!   customer pays between the two calls, T-Bank turns the `Cancel` into a refund of the whole
//!   payment: the answer (`REFUNDED`, `ASYNC_REFUNDING`, …) is reported as
//!   [`Deactivation::Refunded`], so the service records the payment as paid *and* that refund.
//!   A `GetState` that already shows a refund status on a payment being closed (a crash after
//!   such a `Cancel`) is reported the same way.
//! * refunds: `Cancel` with `Amount`. T-Bank SBP refunds carry no id of ours
//!   (`ExternalRequestId` "does not work for SBP operations"), and `GetQrState` answers the
//!   payment's status with the latest refund's amount and SBP error, naming no refund. So
//!   refunds are identified by amounts ([`RefundIdentity::ByAmounts`]): the service keeps at
//!   most one refund per payment in flight and gives each request the amount refunded before
//!   it; `Cancel` is sent only when the payment's remaining amount at the bank equals the
//!   journal's, and the outcome of a refund is derived from `GetState` (remaining amount and
//!   status) and `GetQrState` (a failed refund's SBP error). Our reading of the spec, not
//!   confirmed on a test terminal: `GetState.Amount` is what is left after completed refunds;
//!   an SBP refund in progress shows `REFUNDING`/`ASYNC_REFUNDING`; a failed one leaves the
//!   payment's status as it was and is reported by `GetQrState`'s `QrCancelCode`.
//! * notifications: POSTed to the `NotificationURL` given at `Init`, verified with the same
//!   `Token` rule (every root-level scalar is signed), answered with plain `OK`. The service
//!   confirms them with `GetState` before changing anything. Fiscal-receipt notices
//!   (`Status: RECEIPT`) say nothing about the payment: acknowledged, nothing else.
//!
//! Not offered by this API: cash-register links (T-Bank's are in its separate QR-terminal API,
//! TACAP, whose signature is not public — BANKS.md §2.4) and customer-presented QRs.

mod settings;
mod token;
mod wire;

use std::collections::BTreeMap;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use qrpayd_domain::ids::QrId;
use qrpayd_domain::money::Kopecks;
use qrpayd_domain::moscow;
use qrpayd_domain::secret::Secret;
use reqwest::StatusCode;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use serde_json::value::RawValue;

use crate::{
    BankAdapter, BankError, BankPaymentStatus, BankRefundStatus, CallbackError, CallbackNotice,
    Capabilities, CreateQr, Deactivation, IssuedQr, PaymentQuery, QrKind, QrType, RefundIdentity,
    RefundRequest, unsupported,
};

pub use settings::Settings;
pub use token::{raw_token, request_token, same_token};

/// What the T-Bank acquiring API offers, with the SBP limits of its spec: amounts from 10 to
/// 1 000 000 rubles (error 3016 outside), `RedirectDueDate` at least one minute ahead (3017).
pub const CAPABILITIES: Capabilities = Capabilities {
    dynamic_qr: true,
    cash_register_link: false,
    customer_qr: false,
    partial_refund: true,
    callbacks: true,
    min_amount: Some(Kopecks::from_rubles(10)),
    max_amount: Some(Kopecks::from_rubles(1_000_000)),
    min_lifetime_seconds: Some(60),
    refund_identity: RefundIdentity::ByAmounts,
    // The error table of the spec: 3 "internal error of the acquiring system", 7999 "technical
    // error", 9001 "try again later", 9999 "internal system error".
    bank_side_codes: &["3", "7999", "9001", "9999"],
};

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
    Ok(moscow::time(at).format("%Y-%m-%dT%H:%M:%S%:z").to_string())
}

/// A payment `Status` of the spec's status model ("Статусная модель платежа") as a payment
/// status. Every documented status is listed; anything else is
/// [`BankPaymentStatus::Unrecognised`].
pub(crate) fn payment_status(status: &str, payment_id: &str) -> BankPaymentStatus {
    let paid = || BankPaymentStatus::Paid {
        transaction_id: Some(payment_id.to_owned()),
    };
    match status {
        // Created; the payment form (here: the QR) was shown.
        "NEW" | "FORM_SHOWED" => BankPaymentStatus::NotPaid,
        // Being processed. `PARTIAL_REVERSED` only follows a two-stage card authorisation
        // (part of a hold released, the rest still held and not confirmed): qrpayd never
        // confirms holds, so it is not an outcome it can decide on; it keeps asking.
        "AUTHORIZING" | "3DS_CHECKING" | "3DS_CHECKED" | "AUTHORIZED" | "PAY_CHECKING"
        | "CONFIRMING" | "REVERSING" | "PARTIAL_REVERSED" => BankPaymentStatus::InProgress,
        // Paid; the refund statuses say the payment was paid before (part of) it went back.
        "CONFIRMED" | "REFUNDING" | "ASYNC_REFUNDING" | "PARTIAL_REFUNDED" | "REFUNDED" => paid(),
        // Ended unpaid: cancelled by us, out of time, too many attempts, hold released.
        "CANCELED" | "DEADLINE_EXPIRED" | "ATTEMPTS_EXPIRED" | "REVERSED" => {
            BankPaymentStatus::NotPaid
        }
        "REJECTED" | "AUTH_FAIL" => BankPaymentStatus::Declined,
        other => BankPaymentStatus::Unrecognised(other.to_owned()),
    }
}

/// Statuses of a payment that is being, or has been, (partly) refunded. Its `Amount` is then
/// what is left.
fn is_refund_status(status: &str) -> bool {
    matches!(
        status,
        "REFUNDING" | "ASYNC_REFUNDING" | "PARTIAL_REFUNDED" | "REFUNDED"
    )
}

/// A refund still being processed (SBP refunds are asynchronous).
fn is_refund_in_progress(status: &str) -> bool {
    matches!(status, "REFUNDING" | "ASYNC_REFUNDING")
}

/// The status a refund's `Cancel` answer reports, as a refund status.
fn cancel_refund_status(status: &str) -> Result<BankRefundStatus, BankError> {
    match status {
        "REFUNDING" | "ASYNC_REFUNDING" => Ok(BankRefundStatus::InProgress),
        "REFUNDED" | "PARTIAL_REFUNDED" => Ok(BankRefundStatus::Completed),
        other => Err(BankError::Protocol(format!(
            "Cancel of a paid payment answered Status {other:?}"
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

    /// `GetState`, checked against the payment: its status and amount (what is left after
    /// refunds, for a refund status).
    async fn state(&self, query: &PaymentQuery) -> Result<(String, Kopecks), BankError> {
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
        let amount = match answer.amount {
            // After refunds the bank reports what is left.
            Some(got) if is_refund_status(&status) && got <= kopecks(query.amount) => {
                Kopecks::new(got)
                    .map_err(|e| BankError::Protocol(format!("GetState Amount {got}: {e}")))?
            }
            got => {
                check_amount("GetState", got, query.amount)?;
                query.amount
            }
        };
        Ok((status, amount))
    }

    /// The payment a refund is about, as a status query.
    fn refund_query(request: &RefundRequest) -> Result<PaymentQuery, BankError> {
        Ok(PaymentQuery {
            payment_id: request.payment_id.clone(),
            qr_id: Self::refund_payment_id(request)?.clone(),
            amount: request.paid_amount,
            currency: qrpayd_domain::money::Currency::Rub,
            qr_type: request.qr_type,
        })
    }

    /// `GetQrState`: the latest SBP refund's amount and, if it failed, its SBP error.
    async fn latest_refund(
        &self,
        payment_id: &QrId,
    ) -> Result<(Option<i64>, Option<String>), BankError> {
        let answer: wire::PaymentAnswer = self
            .call(
                "GetQrState",
                &wire::GetQrState {
                    terminal_key: &self.config.terminal_key,
                    payment_id: payment_id.as_str(),
                },
            )
            .await?;
        let failure = answer
            .qr_cancel_code
            .filter(|c| !c.is_empty())
            .map(|code| format!("{code}: {}", answer.qr_cancel_message.unwrap_or_default()));
        Ok((answer.amount, failure))
    }
}

/// What is left of a payment at the bank before and after refund `request`, by the journal.
fn expected_remaining(request: &RefundRequest) -> Result<(Kopecks, Kopecks), BankError> {
    let before = request
        .paid_amount
        .checked_sub(request.refunded_before)
        .ok_or_else(|| BankError::Protocol("refunded more than was paid".into()))?;
    let after = before
        .checked_sub(request.amount)
        .ok_or_else(|| BankError::Protocol("refund larger than what is left".into()))?;
    Ok((before, after))
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
        let (status, _) = self.state(query).await?;
        Ok(payment_status(&status, query.qr_id.as_str()))
    }

    async fn deactivate_qr(&self, query: &PaymentQuery) -> Result<Deactivation, BankError> {
        Self::dynamic_only(query.qr_type)?;
        let (status, left) = self.state(query).await?;
        if is_refund_status(&status) {
            // A payment being closed has no refunds of ours: this is an earlier `Cancel` that
            // the bank turned into a refund (we crashed before recording it).
            let amount = if left < query.amount {
                query.amount.checked_sub(left).unwrap_or(query.amount)
            } else {
                query.amount
            };
            let refund = if is_refund_in_progress(&status) {
                BankRefundStatus::InProgress
            } else {
                BankRefundStatus::Completed
            };
            return Ok(Deactivation::Refunded {
                amount,
                status: refund,
            });
        }
        match payment_status(&status, query.qr_id.as_str()) {
            BankPaymentStatus::NotPaid if matches!(status.as_str(), "NEW" | "FORM_SHOWED") => {}
            // Ended unpaid, paid, or declined: nothing to cancel; the status decides.
            BankPaymentStatus::NotPaid
            | BankPaymentStatus::Paid { .. }
            | BankPaymentStatus::Declined => return Ok(Deactivation::Closed),
            BankPaymentStatus::InProgress | BankPaymentStatus::Unrecognised(_) => {
                return Ok(Deactivation::StillOpen(format!(
                    "T-Bank payment {} is {status}",
                    query.qr_id
                )));
            }
        }
        let answer: wire::PaymentAnswer = self
            .call(
                "Cancel",
                &wire::Cancel {
                    terminal_key: &self.config.terminal_key,
                    payment_id: query.qr_id.as_str(),
                    amount: None,
                },
            )
            .await?;
        check_payment_id("Cancel", answer.payment_id.as_deref(), query.qr_id.as_str())?;
        let status = answer.status.unwrap_or_default();
        match status.as_str() {
            "CANCELED" | "DEADLINE_EXPIRED" | "ATTEMPTS_EXPIRED" | "REVERSED" => {
                Ok(Deactivation::Closed)
            }
            refunded if is_refund_status(refunded) => {
                // The customer paid between `GetState` and `Cancel`: the bank refunded it.
                let amount = match (answer.original_amount, answer.new_amount) {
                    (Some(before), Some(after)) => Kopecks::new(before.saturating_sub(after))
                        .map_err(|e| BankError::Protocol(format!("Cancel amounts: {e}")))?,
                    _ => query.amount,
                };
                tracing::warn!(
                    payment = %query.payment_id,
                    t_bank_payment = %query.qr_id,
                    status = refunded,
                    refunded = %amount,
                    "T-Bank turned the cancel of a payment the customer had just paid into a refund"
                );
                Ok(Deactivation::Refunded {
                    amount,
                    status: cancel_refund_status(refunded)?,
                })
            }
            other => Ok(Deactivation::StillOpen(format!(
                "T-Bank answered the cancel with Status {other:?}"
            ))),
        }
    }

    async fn refund(&self, request: &RefundRequest) -> Result<BankRefundStatus, BankError> {
        let payment_id = Self::refund_payment_id(request)?;
        let (before, after) = expected_remaining(request)?;
        // The bank's amounts must be the journal's before a refund is sent: otherwise an
        // earlier refund is unaccounted for, and a new one could not be told apart from it.
        let (status, left) = self.state(&Self::refund_query(request)?).await?;
        if is_refund_in_progress(&status) {
            return Err(BankError::Protocol(format!(
                "T-Bank payment {payment_id} already has a refund in progress; not sending another"
            )));
        }
        if left != before {
            return Err(BankError::Protocol(format!(
                "T-Bank payment {payment_id} has {left} left, the journal expects {before}; not sending the refund"
            )));
        }
        let answer: wire::PaymentAnswer = self
            .call(
                "Cancel",
                &wire::Cancel {
                    terminal_key: &self.config.terminal_key,
                    payment_id: payment_id.as_str(),
                    amount: Some(kopecks(request.amount)),
                },
            )
            .await?;
        check_payment_id("Cancel", answer.payment_id.as_deref(), payment_id.as_str())?;
        if let (Some(original), Some(new)) = (answer.original_amount, answer.new_amount)
            && (original != kopecks(before) || new != kopecks(after))
        {
            return Err(BankError::Protocol(format!(
                "Cancel: {original} → {new} kopecks, we expected {before} → {after}"
            )));
        }
        let status = answer
            .status
            .ok_or_else(|| BankError::Protocol("Cancel without Status".into()))?;
        cancel_refund_status(&status)
    }

    async fn refund_status(
        &self,
        request: &RefundRequest,
    ) -> Result<Option<BankRefundStatus>, BankError> {
        let payment_id = Self::refund_payment_id(request)?;
        let (before, after) = expected_remaining(request)?;
        let (status, left) = self.state(&Self::refund_query(request)?).await?;
        if is_refund_in_progress(&status) && (left == before || left == after) {
            // One refund in flight per payment: the one in progress is this one.
            return Ok(Some(BankRefundStatus::InProgress));
        }
        if left == after && is_refund_status(&status) {
            return Ok(Some(BankRefundStatus::Completed));
        }
        if left != before {
            return Err(BankError::Protocol(format!(
                "T-Bank payment {payment_id} ({status}) has {left} left; the journal expects {before} before this refund or {after} after it"
            )));
        }
        // Nothing went back. A failed SBP refund leaves its error with the latest refund.
        let (latest, failure) = self.latest_refund(payment_id).await?;
        match failure {
            Some(failure) if latest == Some(kopecks(request.amount)) => {
                tracing::warn!(refund = %request.refund_id, "T-Bank reports the SBP refund failed: {failure}");
                Ok(Some(BankRefundStatus::Declined))
            }
            _ => Ok(None),
        }
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
        if notice.status == "RECEIPT" {
            // A fiscal receipt was registered: nothing about the payment's outcome.
            tracing::debug!(order = %notice.order_id, "T-Bank fiscal receipt notice acknowledged");
            return Ok(CallbackNotice {
                order: Some(notice.order_id),
                amount: None,
                currency: None,
                status: None,
            });
        }
        let payment_id = notice.payment_id.unwrap_or_default();
        // During and after refunds `Amount` is not the payment's: only compare it otherwise.
        let amount = if is_refund_status(&notice.status) {
            None
        } else {
            notice
                .amount
                .map(Kopecks::new)
                .transpose()
                .map_err(|e| CallbackError::Malformed(format!("Amount: {e}")))?
        };
        Ok(CallbackNotice {
            order: Some(notice.order_id).filter(|o| !o.is_empty()),
            amount,
            currency: None,
            status: Some(payment_status(&notice.status, &payment_id)),
        })
    }

    fn callback_ack_body(&self) -> Option<&'static str> {
        Some("OK")
    }
}

#[cfg(test)]
mod tests;
