//! A T-Bank internet-acquiring terminal with SBP (BANKS.md §3.3), under `/tbank/v2/`: the
//! books and their pure transitions ([`TbBooks`]), the wire (T-Bank's field names, `Token`
//! checked on every request with the terminal's password) and the handlers, which `routes`
//! mounts.
//!
//! | Method | What |
//! |---|---|
//! | `Init` | a payment (`Amount` kopecks, `OrderId`, `Description`, `RedirectDueDate`, `NotificationURL`) → `PaymentId`, `NEW` |
//! | `GetQr` | its NSPK link (`DataType` `PAYLOAD`; `IMAGE` is refused) → `Data`; the payment becomes `FORM_SHOWED` |
//! | `GetState` | `Status` of the spec's status model: `NEW`, `FORM_SHOWED`, `CONFIRMED`, `REJECTED`, `DEADLINE_EXPIRED`, `CANCELED`; with refunds `ASYNC_REFUNDING` (one in progress), `PARTIAL_REFUNDED`, `REFUNDED`; `Amount` is what is left after completed refunds |
//! | `Cancel` | unpaid: `CANCELED`; paid: a refund of `Amount` (default: what is left), `ASYNC_REFUNDING`, `OriginalAmount`/`NewAmount`. `ExternalRequestId` is ignored, as the spec says it is for SBP: a repeated `Cancel` is a second refund. One refund at a time (error `4` while one is in progress) |
//! | `GetQrState` | the payment's `Status` and its latest refund: `Amount`, and `QrCancelCode`/`QrCancelMessage` if it failed. It names no refund |
//! | `SbpPayTest` | plays the customer: pays (`CONFIRMED`), or `IsRejected` → `REJECTED`, `IsDeadlineExpired` → `DEADLINE_EXPIRED` |
//!
//! SBP limits as the spec states them: `GetQr` refuses an amount outside 10 … 1 000 000 rubles
//! (`3016`), `Init` a `RedirectDueDate` less than a minute or more than 90 days ahead (`3017`).
//! A refund in progress completes on the second `GetState`/`GetQrState` read after it was made
//! (deterministic, like the Raiffeisen side); a declined one (sandbox control) leaves the
//! payment as it was. Every answer is HTTP 200 with `Success`/`ErrorCode` (`"0"` on success).
//! Sandbox error codes: `204` bad `Token`, `501` unknown terminal, `8` invalid request, `255`
//! payment not found, `4` not allowed in the payment's status, `14` refund above what is left,
//! `3016`/`3017` the SBP limits, `9999` injected business error. Status changes (paid,
//! rejected, expired by `SbpPayTest`, refund completed) are notified to the payment's
//! `NotificationURL` (else the one set with `PUT /sandbox/tbank/notification-url`), signed
//! with `Token`, retried until the answer is HTTP 200 with body `OK`; with the
//! `tbank_receipts` fault a paid payment is followed by a fiscal `RECEIPT` notice, as a
//! terminal with an online cash register sends.

use std::collections::{BTreeMap, HashMap};

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, FixedOffset, Utc};
use qrpayd_bank::tbank::{raw_token, same_token};
use qrpayd_domain::money::Kopecks;
use qrpayd_domain::nspk::{LinkType, build_link};
use qrpayd_domain::secret::Secret;
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::error::SandboxError;
use crate::state::{RefundStatus, micros_text, to_msk};
use crate::{Sandbox, routes};

/// T-Bank's NSPK member id, written into its payloads (`bank=`).
pub(crate) const TBANK_MEMBER_ID: &str = "100000000004";

/// The first `PaymentId` handed out; they increase by one.
const FIRST_PAYMENT_ID: u64 = 3_000_000_001;

/// Longest `OrderId` T-Bank takes.
const MAX_ORDER_ID: usize = 36;

/// The SBP amount range (the spec's error 3016: "from 10 rubles to 1 million rubles").
const SBP_MIN: Kopecks = Kopecks::from_rubles(10);
/// See [`SBP_MIN`].
const SBP_MAX: Kopecks = Kopecks::from_rubles(1_000_000);

/// Why a T-Bank call was refused: `ErrorCode` and `Message`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TbankError {
    /// `Token` missing or wrong (`204`).
    #[error("Неверный токен. Проверьте пару TerminalKey и Password.")]
    BadToken,
    /// Not this sandbox's terminal (`501`).
    #[error("Терминал не найден")]
    UnknownTerminal,
    /// A missing or malformed parameter (`8`).
    #[error("Неверные параметры: {0}")]
    Invalid(String),
    /// No payment with this `PaymentId` (`255`).
    #[error("Платеж {0} не найден")]
    PaymentNotFound(String),
    /// The operation is not allowed in the payment's status (`4`).
    #[error("Изменение статуса не разрешено: платеж в статусе {0}")]
    WrongStatus(&'static str),
    /// The refund exceeds what is left of the payment (`14`).
    #[error("Сумма возврата больше остатка платежа ({0} коп.)")]
    RefundTooLarge(i64),
    /// No refund in progress to decline (sandbox control).
    #[error("Нет возврата в обработке по платежу {0}")]
    NoRefundInProgress(String),
    /// The SBP amount range (`3016`).
    #[error(
        "Невозможно создать QR: сумма операции по СБП вне диапазона от 10 до 1 000 000 рублей ({0} коп.)"
    )]
    QrAmountOutOfRange(i64),
    /// `RedirectDueDate` out of range (`3017`).
    #[error(
        "Переданное значение RedirectDueDate вне допустимого диапазона (от 1 минуты до 90 дней): {0}"
    )]
    DueDateOutOfRange(String),
    /// Injected fault (`9999`).
    #[error("Внутренняя ошибка (имитация сбоя песочницы)")]
    Injected,
}

impl TbankError {
    /// `ErrorCode`.
    pub fn code(&self) -> &'static str {
        match self {
            TbankError::BadToken => "204",
            TbankError::UnknownTerminal => "501",
            TbankError::Invalid(_) => "8",
            TbankError::PaymentNotFound(_) => "255",
            TbankError::WrongStatus(_) => "4",
            TbankError::RefundTooLarge(_) => "14",
            TbankError::NoRefundInProgress(_) => "4",
            TbankError::QrAmountOutOfRange(_) => "3016",
            TbankError::DueDateOutOfRange(_) => "3017",
            TbankError::Injected => "9999",
        }
    }
}

impl IntoResponse for TbankError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({
            "Success": false,
            "ErrorCode": self.code(),
            "Message": self.to_string(),
            "Details": "",
        });
        (StatusCode::OK, Json(body)).into_response()
    }
}

/// A payment's own status (refunds are derived on top of `Confirmed`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TbStatus {
    /// Created.
    New,
    /// Its QR was asked for.
    FormShowed,
    /// Paid.
    Confirmed,
    /// The customer's bank refused.
    Rejected,
    /// `RedirectDueDate` passed unpaid.
    DeadlineExpired,
    /// Cancelled unpaid.
    Canceled,
}

impl TbStatus {
    fn as_str(self) -> &'static str {
        match self {
            TbStatus::New => "NEW",
            TbStatus::FormShowed => "FORM_SHOWED",
            TbStatus::Confirmed => "CONFIRMED",
            TbStatus::Rejected => "REJECTED",
            TbStatus::DeadlineExpired => "DEADLINE_EXPIRED",
            TbStatus::Canceled => "CANCELED",
        }
    }

    fn is_open(self) -> bool {
        matches!(self, TbStatus::New | TbStatus::FormShowed)
    }
}

/// A refund operation (`Cancel` of a paid payment). T-Bank gives SBP refunds no id of the
/// merchant's; the sandbox numbers them per payment for its own overview.
#[derive(Debug, Clone)]
pub(crate) struct TbRefund {
    /// 1, 2, … within the payment.
    pub(crate) number: usize,
    /// Kopecks refunded.
    pub(crate) amount: Kopecks,
    /// What was left before it.
    pub(crate) before: Kopecks,
    /// What is left after it.
    pub(crate) after: Kopecks,
    /// In progress, completed, declined.
    pub(crate) status: RefundStatus,
    /// Status reads since it was made; the second completes it.
    reads: u8,
}

impl TbRefund {
    /// The refund's state as the sandbox overview shows it.
    pub(crate) fn status_text(&self) -> &'static str {
        match self.status {
            RefundStatus::InProgress => "ASYNC_REFUNDING",
            RefundStatus::Completed if self.after.is_zero() => "REFUNDED",
            RefundStatus::Completed => "PARTIAL_REFUNDED",
            RefundStatus::Declined => "DECLINED",
        }
    }
}

/// The SBP error `GetQrState` reports for a declined refund (the spec's example code).
const REFUND_FAILED_CODE: &str = "I05043";

/// A payment at the terminal.
#[derive(Debug, Clone)]
pub(crate) struct TbPayment {
    /// `PaymentId`.
    pub(crate) id: String,
    /// `OrderId`.
    pub(crate) order_id: String,
    /// Kopecks.
    pub(crate) amount: Kopecks,
    /// `Description`.
    pub(crate) description: Option<String>,
    /// `NotificationURL` given at `Init`.
    pub(crate) notification_url: Option<String>,
    /// `RedirectDueDate`.
    pub(crate) due: Option<DateTime<FixedOffset>>,
    /// When it was created.
    pub(crate) created: DateTime<FixedOffset>,
    /// Its own status.
    pub(crate) status: TbStatus,
    /// The NSPK link, once `GetQr` was called.
    pub(crate) payload: Option<String>,
    /// Refund operations, oldest first.
    pub(crate) refunds: Vec<TbRefund>,
}

impl TbPayment {
    fn refresh(&mut self, now: DateTime<Utc>) {
        if self.status.is_open() && self.due.is_some_and(|due| due <= now) {
            self.status = TbStatus::DeadlineExpired;
        }
    }

    /// `Status` as `GetState` answers it.
    pub(crate) fn status_text(&self) -> &'static str {
        if self.status != TbStatus::Confirmed {
            return self.status.as_str();
        }
        if self
            .refunds
            .iter()
            .any(|r| r.status == RefundStatus::InProgress)
        {
            return "ASYNC_REFUNDING";
        }
        match self.left(|r| r.status == RefundStatus::Completed) {
            Some(left) if left.is_zero() => "REFUNDED",
            Some(left) if left < self.amount => "PARTIAL_REFUNDED",
            _ => "CONFIRMED",
        }
    }

    /// What is left after completed refunds (`GetState`'s `Amount`).
    pub(crate) fn left_after_completed(&self) -> Kopecks {
        self.left(|r| r.status == RefundStatus::Completed)
            .unwrap_or(Kopecks::ZERO)
    }

    /// A status read: a refund in progress completes on its second read. Returns the
    /// notification of the completion.
    fn read(&mut self) -> Option<TbEvent> {
        let refund = self
            .refunds
            .iter_mut()
            .find(|r| r.status == RefundStatus::InProgress)?;
        refund.reads = refund.reads.saturating_add(1);
        if refund.reads < 2 {
            return None;
        }
        refund.status = RefundStatus::Completed;
        Some(TbEvent::of(self))
    }

    /// The amount minus the refunds `counted` picks.
    fn left(&self, counted: impl Fn(&TbRefund) -> bool) -> Option<Kopecks> {
        self.refunds
            .iter()
            .filter(|r| counted(r))
            .try_fold(self.amount, |left, r| left.checked_sub(r.amount))
    }
}

/// What `Cancel` did.
#[derive(Debug, Clone)]
pub(crate) struct Cancelled {
    /// The payment after it.
    pub(crate) payment: TbPayment,
    /// The operation's `Status`.
    pub(crate) status: &'static str,
    /// `OriginalAmount`.
    pub(crate) original: Kopecks,
    /// `NewAmount`.
    pub(crate) new: Kopecks,
}

/// A status change to notify.
#[derive(Debug, Clone)]
pub(crate) struct TbEvent {
    /// `PaymentId`.
    pub(crate) payment_id: String,
    /// `OrderId`.
    pub(crate) order_id: String,
    /// The payment's amount.
    pub(crate) amount: Kopecks,
    /// The payment's new `Status`.
    pub(crate) status: &'static str,
    /// The payment's `NotificationURL`.
    pub(crate) url: Option<String>,
}

impl TbEvent {
    fn of(payment: &TbPayment) -> TbEvent {
        TbEvent {
            payment_id: payment.id.clone(),
            order_id: payment.order_id.clone(),
            amount: payment.amount,
            status: payment.status_text(),
            url: payment.notification_url.clone(),
        }
    }

    /// The fiscal-receipt notice that follows a payment at a terminal with an online cash
    /// register (`Status: RECEIPT`).
    pub(crate) fn receipt(&self) -> TbEvent {
        TbEvent {
            status: "RECEIPT",
            ..self.clone()
        }
    }
}

/// The terminal's books.
#[derive(Debug)]
pub(crate) struct TbBooks {
    payments: HashMap<String, TbPayment>,
    next_id: u64,
    /// The terminal's notification URL (`PUT /sandbox/tbank/notification-url`).
    pub(crate) notification_url: Option<String>,
}

impl Default for TbBooks {
    fn default() -> Self {
        TbBooks {
            payments: HashMap::new(),
            next_id: FIRST_PAYMENT_ID,
            notification_url: None,
        }
    }
}

/// The fields `Init` needs.
#[derive(Debug, Clone)]
pub(crate) struct NewPayment {
    /// `OrderId`.
    pub(crate) order_id: String,
    /// Kopecks.
    pub(crate) amount: Kopecks,
    /// `Description`.
    pub(crate) description: Option<String>,
    /// `RedirectDueDate`.
    pub(crate) due: Option<DateTime<FixedOffset>>,
    /// `NotificationURL`.
    pub(crate) notification_url: Option<String>,
}

impl TbBooks {
    fn payment_mut(&mut self, id: &str, now: DateTime<Utc>) -> Result<&mut TbPayment, TbankError> {
        let payment = self
            .payments
            .get_mut(id)
            .ok_or_else(|| TbankError::PaymentNotFound(id.to_owned()))?;
        payment.refresh(now);
        Ok(payment)
    }

    /// `Init`.
    pub(crate) fn init(
        &mut self,
        new: NewPayment,
        now: DateTime<Utc>,
    ) -> Result<TbPayment, TbankError> {
        if new.amount.is_zero() {
            return Err(TbankError::Invalid("Amount должен быть больше 0".into()));
        }
        if new.order_id.is_empty() || new.order_id.chars().count() > MAX_ORDER_ID {
            return Err(TbankError::Invalid("OrderId: от 1 до 36 символов".into()));
        }
        if let Some(due) = new.due
            && (due < now + chrono::TimeDelta::minutes(1)
                || due > now + chrono::TimeDelta::days(90))
        {
            return Err(TbankError::DueDateOutOfRange(due.to_rfc3339()));
        }
        let id = self.next_id.to_string();
        self.next_id = self.next_id.saturating_add(1);
        let payment = TbPayment {
            id: id.clone(),
            order_id: new.order_id,
            amount: new.amount,
            description: new.description,
            notification_url: new.notification_url,
            due: new.due,
            created: to_msk(now),
            status: TbStatus::New,
            payload: None,
            refunds: Vec::new(),
        };
        self.payments.insert(id, payment.clone());
        Ok(payment)
    }

    /// `GetQr`: the payment's NSPK link (made on the first call with `fresh_qrc_id`).
    pub(crate) fn get_qr(
        &mut self,
        id: &str,
        now: DateTime<Utc>,
        fresh_qrc_id: impl FnOnce() -> String,
    ) -> Result<TbPayment, TbankError> {
        let payment = self.payment_mut(id, now)?;
        if !payment.status.is_open() {
            return Err(TbankError::WrongStatus(payment.status.as_str()));
        }
        // 3016 "Невозможно создать QR" is documented for an SBP amount outside the range; the
        // spec does not say which call answers it. The QR is made here, so here it is refused
        // (a card payment of the same amount would be fine).
        if payment.amount < SBP_MIN || payment.amount > SBP_MAX {
            return Err(TbankError::QrAmountOutOfRange(payment.amount.get()));
        }
        if payment.payload.is_none() {
            payment.payload = Some(build_link(
                &fresh_qrc_id(),
                LinkType::Dynamic,
                TBANK_MEMBER_ID,
                Some(payment.amount),
            ));
        }
        payment.status = TbStatus::FormShowed;
        Ok(payment.clone())
    }

    /// `GetState` (a status read: see [`TbPayment::read`]).
    pub(crate) fn state(
        &mut self,
        id: &str,
        now: DateTime<Utc>,
    ) -> Result<(TbPayment, Option<TbEvent>), TbankError> {
        let payment = self.payment_mut(id, now)?;
        let event = payment.read();
        Ok((payment.clone(), event))
    }

    /// Is the payment open (nobody paid yet)? For the "customer pays before the cancel"
    /// fault.
    pub(crate) fn is_open(&mut self, id: &str, now: DateTime<Utc>) -> bool {
        self.payment_mut(id, now).is_ok_and(|p| p.status.is_open())
    }

    /// `Cancel`: an unpaid payment is cancelled; a paid one refunded by `amount` (default:
    /// what is left), one refund at a time.
    pub(crate) fn cancel(
        &mut self,
        id: &str,
        amount: Option<Kopecks>,
        now: DateTime<Utc>,
    ) -> Result<Cancelled, TbankError> {
        let payment = self.payment_mut(id, now)?;
        if payment.status.is_open() {
            payment.status = TbStatus::Canceled;
            return Ok(Cancelled {
                payment: payment.clone(),
                status: "CANCELED",
                original: payment.amount,
                new: Kopecks::ZERO,
            });
        }
        if payment.status != TbStatus::Confirmed {
            return Err(TbankError::WrongStatus(payment.status.as_str()));
        }
        // The spec is silent on a refund while another is in progress; the stricter reading
        // (refused, error 4) keeps an adapter from relying on the bank to queue them.
        if payment
            .refunds
            .iter()
            .any(|r| r.status == RefundStatus::InProgress)
        {
            return Err(TbankError::WrongStatus("ASYNC_REFUNDING"));
        }
        let left = payment.left_after_completed();
        let amount = amount.unwrap_or(left);
        let after = left
            .checked_sub(amount)
            .filter(|_| !amount.is_zero())
            .ok_or(TbankError::RefundTooLarge(left.get()))?;
        let refund = TbRefund {
            number: payment.refunds.len().saturating_add(1),
            amount,
            before: left,
            after,
            status: RefundStatus::InProgress,
            reads: 0,
        };
        payment.refunds.push(refund);
        Ok(Cancelled {
            payment: payment.clone(),
            status: "ASYNC_REFUNDING",
            original: left,
            new: after,
        })
    }

    /// `GetQrState` (a status read): the payment and its latest refund.
    pub(crate) fn qr_state(
        &mut self,
        id: &str,
        now: DateTime<Utc>,
    ) -> Result<(TbPayment, Option<TbEvent>), TbankError> {
        self.state(id, now)
    }

    /// `SbpPayTest`: the customer pays, or their bank rejects, or the deadline passes.
    pub(crate) fn pay_test(
        &mut self,
        id: &str,
        deadline_expired: bool,
        rejected: bool,
        now: DateTime<Utc>,
    ) -> Result<TbEvent, TbankError> {
        if deadline_expired && rejected {
            return Err(TbankError::Invalid(
                "IsDeadlineExpired и IsRejected не передаются вместе".into(),
            ));
        }
        let payment = self.payment_mut(id, now)?;
        if !payment.status.is_open() {
            return Err(TbankError::WrongStatus(payment.status.as_str()));
        }
        payment.status = if deadline_expired {
            TbStatus::DeadlineExpired
        } else if rejected {
            TbStatus::Rejected
        } else {
            TbStatus::Confirmed
        };
        Ok(TbEvent::of(payment))
    }

    /// Sandbox control: the payment's refund in progress is declined (the SBP refused it).
    pub(crate) fn decline_refund(
        &mut self,
        id: &str,
        now: DateTime<Utc>,
    ) -> Result<TbRefund, TbankError> {
        let payment = self.payment_mut(id, now)?;
        let refund = payment
            .refunds
            .iter_mut()
            .find(|r| r.status == RefundStatus::InProgress)
            .ok_or_else(|| TbankError::NoRefundInProgress(id.to_owned()))?;
        refund.status = RefundStatus::Declined;
        Ok(refund.clone())
    }

    /// Every payment as of `now`, oldest first.
    pub(crate) fn all(&mut self, now: DateTime<Utc>) -> Vec<TbPayment> {
        let mut all: Vec<TbPayment> = self
            .payments
            .values_mut()
            .map(|p| {
                p.refresh(now);
                p.clone()
            })
            .collect();
        all.sort_by_key(|p| p.id.parse::<u64>().unwrap_or(u64::MAX));
        all
    }
}

// --- the wire ------------------------------------------------------------------------------

/// `PaymentId` as a string or a number.
fn flexible_id<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Id {
        Text(String),
        Number(u64),
    }
    Ok(Option::<Id>::deserialize(d)?.map(|id| match id {
        Id::Text(text) => text,
        Id::Number(number) => number.to_string(),
    }))
}

/// Every field any method reads (T-Bank's names); others (`DATA`, `Receipt`, and
/// `ExternalRequestId`, which the spec says does not work for SBP) are ignored.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct TbRequest {
    /// The terminal.
    terminal_key: Option<String>,
    /// Kopecks.
    amount: Option<i64>,
    /// `Init`.
    order_id: Option<String>,
    /// `Init`.
    description: Option<String>,
    /// `Init`: `YYYY-MM-DDTHH:MM:SS+03:00`.
    redirect_due_date: Option<String>,
    /// `Init`.
    #[serde(rename = "NotificationURL")]
    notification_url: Option<String>,
    /// The payment.
    #[serde(deserialize_with = "flexible_id")]
    payment_id: Option<String>,
    /// `GetQr`: `PAYLOAD` or `IMAGE`.
    data_type: Option<String>,
    /// `SbpPayTest`.
    is_deadline_expired: Option<bool>,
    /// `SbpPayTest`.
    is_rejected: Option<bool>,
}

impl TbRequest {
    fn payment_id(&self) -> Result<&str, TbankError> {
        self.payment_id
            .as_deref()
            .filter(|id| !id.is_empty())
            .ok_or_else(|| TbankError::Invalid("не передан PaymentId".into()))
    }
}

/// Reads a request and checks its terminal and `Token`.
fn verified(sandbox: &Sandbox, body: &[u8]) -> Result<TbRequest, TbankError> {
    let fields: BTreeMap<String, Box<RawValue>> = serde_json::from_slice(body)
        .map_err(|e| TbankError::Invalid(format!("некорректный JSON: {e}")))?;
    let request: TbRequest = serde_json::from_slice(body)
        .map_err(|e| TbankError::Invalid(format!("некорректные поля: {e}")))?;
    if request.terminal_key.as_deref() != Some(sandbox.tbank_terminal_key()) {
        return Err(TbankError::UnknownTerminal);
    }
    let given: Option<String> = fields
        .get("Token")
        .and_then(|raw| serde_json::from_str(raw.get()).ok());
    let expected = raw_token(&fields, &Secret::new(sandbox.tbank_password()));
    match (given, expected) {
        (Some(given), Some(expected)) if same_token(&given, &expected) => Ok(request),
        _ => Err(TbankError::BadToken),
    }
}

/// A success answer with `fields`.
fn success(sandbox: &Sandbox, fields: Vec<(&str, Value)>) -> Response {
    let mut body = Map::new();
    body.insert("Success".into(), Value::Bool(true));
    body.insert("ErrorCode".into(), Value::String("0".into()));
    body.insert(
        "TerminalKey".into(),
        Value::String(sandbox.tbank_terminal_key().to_owned()),
    );
    for (key, value) in fields {
        body.insert(key.to_owned(), value);
    }
    (StatusCode::OK, Json(Value::Object(body))).into_response()
}

fn kopecks_value(amount: Kopecks) -> Value {
    Value::from(amount.get())
}

/// Applies [`crate::Faults`] to the `/tbank/v2` calls except `SbpPayTest`, in T-Bank's shape.
pub(crate) async fn inject_faults(
    State(sandbox): State<Sandbox>,
    request: Request,
    next: Next,
) -> Response {
    let (latency_ms, fault) = sandbox.lock().take_fault();
    if latency_ms > 0 {
        tokio::time::sleep(std::time::Duration::from_millis(latency_ms)).await;
    }
    match fault {
        Some(SandboxError::InjectedHttp500) => {
            (StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error").into_response()
        }
        Some(_) => TbankError::Injected.into_response(),
        None => {
            let path = request.uri().path();
            let changes_something = path.ends_with("/Init") || path.ends_with("/Cancel");
            let response = next.run(request).await;
            if changes_something && sandbox.lock().take_lost_answer() {
                tracing::info!(
                    "sandbox T-Bank: the call was carried out, its answer is lost (fault)"
                );
                return (StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error")
                    .into_response();
            }
            response
        }
    }
}

/// Verifies and applies the request (the handler below answers it).
fn init_call(sandbox: &Sandbox, body: &[u8]) -> Result<TbPayment, TbankError> {
    let request = verified(sandbox, body)?;
    let amount = request
        .amount
        .and_then(|a| Kopecks::new(a).ok())
        .ok_or_else(|| TbankError::Invalid("не передан Amount (копейки)".into()))?;
    let due = request
        .redirect_due_date
        .as_deref()
        .map(DateTime::parse_from_rfc3339)
        .transpose()
        .map_err(|e| TbankError::Invalid(format!("RedirectDueDate: {e}")))?;
    let new = NewPayment {
        order_id: request.order_id.unwrap_or_default(),
        amount,
        description: request.description,
        due,
        notification_url: request.notification_url,
    };
    sandbox.lock().tbank.init(new, sandbox.now())
}

/// `POST /tbank/v2/Init`.
pub(crate) async fn init(State(sandbox): State<Sandbox>, body: Bytes) -> Response {
    let result = init_call(&sandbox, &body);
    match result {
        Ok(payment) => {
            tracing::info!(payment_id = %payment.id, order = %payment.order_id, "sandbox T-Bank payment created");
            success(
                &sandbox,
                vec![
                    ("Status", Value::String(payment.status_text().into())),
                    ("PaymentId", Value::String(payment.id.clone())),
                    ("OrderId", Value::String(payment.order_id.clone())),
                    ("Amount", kopecks_value(payment.amount)),
                    (
                        "PaymentURL",
                        Value::String(format!(
                            "{}/tbank/pay/{}",
                            crate::state::QR_URL_BASE,
                            payment.id
                        )),
                    ),
                ],
            )
        }
        Err(e) => e.into_response(),
    }
}

/// Verifies and applies the request (the handler below answers it).
fn get_qr_call(sandbox: &Sandbox, body: &[u8]) -> Result<TbPayment, TbankError> {
    let request = verified(sandbox, body)?;
    match request.data_type.as_deref() {
        None | Some("PAYLOAD") => {}
        Some(other) => {
            return Err(TbankError::Invalid(format!(
                "DataType {other:?} не поддерживается песочницей (только PAYLOAD)"
            )));
        }
    }
    let id = request.payment_id()?.to_owned();
    sandbox.lock().tbank.get_qr(&id, sandbox.now(), || {
        routes::fresh_qr_id(crate::state::QrType::Dynamic)
    })
}

/// `POST /tbank/v2/GetQr`.
pub(crate) async fn get_qr(State(sandbox): State<Sandbox>, body: Bytes) -> Response {
    let result = get_qr_call(&sandbox, &body);
    match result {
        Ok(payment) => success(
            &sandbox,
            vec![
                ("OrderId", Value::String(payment.order_id.clone())),
                ("PaymentId", payment_id_number(&payment.id)),
                (
                    "Data",
                    Value::String(payment.payload.clone().unwrap_or_default()),
                ),
            ],
        ),
        Err(e) => e.into_response(),
    }
}

/// `PaymentId` as the number notifications and some answers carry.
fn payment_id_number(id: &str) -> Value {
    id.parse::<u64>()
        .map(Value::from)
        .unwrap_or_else(|_| Value::String(id.to_owned()))
}

/// Verifies and applies the request (the handler below answers it).
fn get_state_call(
    sandbox: &Sandbox,
    body: &[u8],
) -> Result<(TbPayment, Option<TbEvent>), TbankError> {
    let request = verified(sandbox, body)?;
    let id = request.payment_id()?.to_owned();
    sandbox.lock().tbank.state(&id, sandbox.now())
}

/// `POST /tbank/v2/GetState`.
pub(crate) async fn get_state(State(sandbox): State<Sandbox>, body: Bytes) -> Response {
    let result = get_state_call(&sandbox, &body);
    match result {
        Ok((payment, event)) => {
            if let Some(event) = event {
                sandbox.notify_tbank(&event);
            }
            success(
                &sandbox,
                vec![
                    ("OrderId", Value::String(payment.order_id.clone())),
                    ("PaymentId", Value::String(payment.id.clone())),
                    ("Status", Value::String(payment.status_text().into())),
                    ("Amount", kopecks_value(payment.left_after_completed())),
                ],
            )
        }
        Err(e) => e.into_response(),
    }
}

/// Verifies and applies the request (the handler below answers it). With the
/// `customer_pays_before_cancel` fault, the customer pays an open payment a moment before the
/// cancel arrives (the race a real terminal has), and the bank refunds it.
fn cancel_call(sandbox: &Sandbox, body: &[u8]) -> Result<Cancelled, TbankError> {
    let request = verified(sandbox, body)?;
    let id = request.payment_id()?.to_owned();
    let amount = request
        .amount
        .map(|a| Kopecks::new(a).map_err(|e| TbankError::Invalid(format!("Amount: {e}"))))
        .transpose()?;
    let now = sandbox.now();
    let raced = {
        let mut state = sandbox.lock();
        let open = state.tbank.is_open(&id, now);
        if open && state.take_pay_before_cancel() {
            Some(state.tbank.pay_test(&id, false, false, now)?)
        } else if open && state.take_refused_deactivation() {
            return Err(TbankError::Injected);
        } else {
            None
        }
    };
    if let Some(event) = &raced {
        tracing::info!(payment_id = %id, "sandbox T-Bank: the customer paid just before the cancel (fault)");
        sandbox.notify_tbank(event);
    }
    // The refund the race causes covers the whole payment, whatever `Amount` said.
    let amount = if raced.is_some() { None } else { amount };
    sandbox.lock().tbank.cancel(&id, amount, now)
}

/// `POST /tbank/v2/Cancel`.
pub(crate) async fn cancel(State(sandbox): State<Sandbox>, body: Bytes) -> Response {
    let result = cancel_call(&sandbox, &body);
    match result {
        Ok(done) => success(
            &sandbox,
            vec![
                ("OrderId", Value::String(done.payment.order_id.clone())),
                ("PaymentId", Value::String(done.payment.id.clone())),
                ("Status", Value::String(done.status.into())),
                ("OriginalAmount", kopecks_value(done.original)),
                ("NewAmount", kopecks_value(done.new)),
            ],
        ),
        Err(e) => e.into_response(),
    }
}

/// Verifies and applies the request (the handler below answers it).
fn get_qr_state_call(
    sandbox: &Sandbox,
    body: &[u8],
) -> Result<(TbPayment, Option<TbEvent>), TbankError> {
    let request = verified(sandbox, body)?;
    let id = request.payment_id()?.to_owned();
    sandbox.lock().tbank.qr_state(&id, sandbox.now())
}

/// `POST /tbank/v2/GetQrState`.
pub(crate) async fn get_qr_state(State(sandbox): State<Sandbox>, body: Bytes) -> Response {
    let result = get_qr_state_call(&sandbox, &body);
    match result {
        Ok((payment, event)) => {
            if let Some(event) = event {
                sandbox.notify_tbank(&event);
            }
            let mut fields = vec![
                ("OrderId", Value::String(payment.order_id.clone())),
                ("Status", Value::String(payment.status_text().into())),
            ];
            if let Some(latest) = payment.refunds.last() {
                fields.push(("Amount", kopecks_value(latest.amount)));
                if latest.status == RefundStatus::Declined {
                    fields.push(("QrCancelCode", Value::String(REFUND_FAILED_CODE.into())));
                    fields.push((
                        "QrCancelMessage",
                        Value::String("Возврат отклонён банком получателя (песочница)".into()),
                    ));
                }
            }
            success(&sandbox, fields)
        }
        Err(e) => e.into_response(),
    }
}

/// Verifies and applies the request (the handler below answers it).
fn sbp_pay_test_call(sandbox: &Sandbox, body: &[u8]) -> Result<TbEvent, TbankError> {
    let request = verified(sandbox, body)?;
    let id = request.payment_id()?.to_owned();
    sandbox.lock().tbank.pay_test(
        &id,
        request.is_deadline_expired.unwrap_or(false),
        request.is_rejected.unwrap_or(false),
        sandbox.now(),
    )
}

/// `POST /tbank/v2/SbpPayTest`.
pub(crate) async fn sbp_pay_test(State(sandbox): State<Sandbox>, body: Bytes) -> Response {
    let result = sbp_pay_test_call(&sandbox, &body);
    match result {
        Ok(event) => {
            tracing::info!(payment_id = %event.payment_id, status = event.status, "sandbox T-Bank SbpPayTest");
            sandbox.notify_tbank(&event);
            success(&sandbox, vec![])
        }
        Err(e) => e.into_response(),
    }
}

/// `PUT /sandbox/tbank/notification-url` body.
#[derive(Debug, Deserialize)]
struct NotificationUrl {
    /// Where notifications go when a payment was created without `NotificationURL`.
    url: Option<String>,
}

/// `PUT /sandbox/tbank/notification-url`: the terminal's notification URL (`null` clears it).
pub(crate) async fn put_notification_url(
    State(sandbox): State<Sandbox>,
    body: Bytes,
) -> Result<Json<Value>, SandboxError> {
    let request: NotificationUrl = crate::wire::parse_body(&body)?;
    if let Some(url) = &request.url {
        match reqwest::Url::parse(url) {
            Ok(parsed) if matches!(parsed.scheme(), "http" | "https") => {}
            _ => {
                return Err(SandboxError::InvalidRequest(
                    "url должен быть http(s) URL".into(),
                ));
            }
        }
    }
    sandbox.set_tbank_notification_url(request.url.clone());
    Ok(Json(serde_json::json!({ "url": request.url })))
}

/// A notification's body: the event's fields and their `Token`.
pub(crate) fn notification_body(event: &TbEvent, terminal_key: &str, password: &Secret) -> String {
    let mut body = Map::new();
    body.insert("TerminalKey".into(), Value::String(terminal_key.to_owned()));
    body.insert("OrderId".into(), Value::String(event.order_id.clone()));
    body.insert("Success".into(), Value::Bool(true));
    body.insert("Status".into(), Value::String(event.status.into()));
    body.insert("PaymentId".into(), payment_id_number(&event.payment_id));
    body.insert("ErrorCode".into(), Value::String("0".into()));
    body.insert("Amount".into(), kopecks_value(event.amount));
    let token = qrpayd_bank::tbank::request_token(&body, password);
    body.insert("Token".into(), Value::String(token));
    Value::Object(body).to_string()
}

/// One payment in the sandbox overview.
pub(crate) fn summary(payment: &TbPayment) -> Value {
    serde_json::json!({
        "paymentId": payment.id,
        "orderId": payment.order_id,
        "amount": payment.amount.get(),
        "status": payment.status_text(),
        "description": payment.description,
        "redirectDueDate": payment.due.map(|d| d.to_rfc3339()),
        "createDate": micros_text(payment.created),
        "payload": payment.payload,
        "refunds": payment.refunds.iter().map(|r| serde_json::json!({
            "number": r.number,
            "amount": r.amount.get(),
            "before": r.before.get(),
            "after": r.after.get(),
            "status": r.status_text(),
        })).collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    // fixed-dates: pure transitions and renderings with the time handed in; nothing here reads the wall clock.
    use super::*;

    fn k(v: i64) -> Kopecks {
        Kopecks::new(v).unwrap()
    }

    fn t0() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2024-05-01T10:00:00Z")
            .unwrap()
            .to_utc()
    }

    fn new(order: &str, amount: i64) -> NewPayment {
        NewPayment {
            order_id: order.into(),
            amount: k(amount),
            description: None,
            due: Some((t0() + chrono::TimeDelta::minutes(5)).fixed_offset()),
            notification_url: None,
        }
    }

    #[test]
    fn pay_refund_and_statuses() {
        let mut b = TbBooks::default();
        let p = b.init(new("pay_1", 10_000), t0()).unwrap();
        assert_eq!(p.id, FIRST_PAYMENT_ID.to_string());
        assert_eq!(p.status_text(), "NEW");
        let shown = b
            .get_qr(&p.id, t0(), || "AD10000000000000000000000000TEST".into())
            .unwrap();
        assert_eq!(shown.status_text(), "FORM_SHOWED");
        let link = qrpayd_domain::nspk::parse_link(shown.payload.as_deref().unwrap()).unwrap();
        assert_eq!(
            (link.sum, link.bank.as_deref(), link.crc_ok),
            (Some(k(10_000)), Some(TBANK_MEMBER_ID), Some(true))
        );
        let paid = b.pay_test(&p.id, false, false, t0()).unwrap();
        assert_eq!(paid.status, "CONFIRMED");
        assert!(matches!(
            b.pay_test(&p.id, false, false, t0()),
            Err(TbankError::WrongStatus("CONFIRMED"))
        ));
        let r1 = b.cancel(&p.id, Some(k(4_000)), t0()).unwrap();
        assert_eq!(
            (r1.status, r1.original, r1.new),
            ("ASYNC_REFUNDING", k(10_000), k(6_000))
        );
        // One refund at a time.
        assert!(matches!(
            b.cancel(&p.id, Some(k(1)), t0()),
            Err(TbankError::WrongStatus("ASYNC_REFUNDING"))
        ));
        // The first read sees it in progress (nothing left has changed yet) ...
        let (state, event) = b.state(&p.id, t0()).unwrap();
        assert_eq!(
            (
                state.status_text(),
                state.left_after_completed(),
                event.is_none()
            ),
            ("ASYNC_REFUNDING", k(10_000), true)
        );
        // ... the second completes it, and notifies.
        let (done, event) = b.qr_state(&p.id, t0()).unwrap();
        assert_eq!(
            (done.status_text(), done.left_after_completed()),
            ("PARTIAL_REFUNDED", k(6_000))
        );
        assert_eq!(event.unwrap().status, "PARTIAL_REFUNDED");
        assert!(matches!(
            b.cancel(&p.id, Some(k(6_001)), t0()),
            Err(TbankError::RefundTooLarge(6_000))
        ));
        let rest = b.cancel(&p.id, None, t0()).unwrap();
        assert_eq!(rest.new, Kopecks::ZERO);
        b.qr_state(&p.id, t0()).unwrap();
        let (last, _) = b.qr_state(&p.id, t0()).unwrap();
        assert_eq!(last.status_text(), "REFUNDED");
        assert_eq!(last.refunds.len(), 2);
    }

    #[test]
    fn cancel_reject_expire() {
        let mut b = TbBooks::default();
        let a = b.init(new("pay_a", 100), t0()).unwrap();
        let c = b.cancel(&a.id, Some(k(1)), t0()).unwrap();
        assert_eq!((c.status, c.new), ("CANCELED", Kopecks::ZERO));
        assert!(matches!(
            b.cancel(&a.id, None, t0()),
            Err(TbankError::WrongStatus("CANCELED"))
        ));
        let r = b.init(new("pay_r", 100), t0()).unwrap();
        assert_eq!(
            b.pay_test(&r.id, false, true, t0()).unwrap().status,
            "REJECTED"
        );
        let d = b.init(new("pay_d", 100), t0()).unwrap();
        assert_eq!(
            b.pay_test(&d.id, true, false, t0()).unwrap().status,
            "DEADLINE_EXPIRED"
        );
        assert!(matches!(
            b.pay_test(&d.id, true, true, t0()),
            Err(TbankError::Invalid(_))
        ));
        let late = b.init(new("pay_l", 100), t0()).unwrap();
        let after_due = t0() + chrono::TimeDelta::minutes(5);
        assert_eq!(
            b.state(&late.id, after_due).unwrap().0.status_text(),
            "DEADLINE_EXPIRED"
        );
        assert!(matches!(
            b.get_qr(&late.id, after_due, || unreachable!()),
            Err(TbankError::WrongStatus("DEADLINE_EXPIRED"))
        ));
        assert!(matches!(
            b.state("1", t0()),
            Err(TbankError::PaymentNotFound(_))
        ));
        assert!(matches!(
            b.init(new("", 100), t0()),
            Err(TbankError::Invalid(_))
        ));
        assert!(matches!(
            b.init(new("o", 0), t0()),
            Err(TbankError::Invalid(_))
        ));
        assert_eq!(b.all(t0()).len(), 4);
    }

    #[test]
    fn declined_refunds_free_their_amount() {
        let mut b = TbBooks::default();
        let p = b.init(new("pay_1", 100), t0()).unwrap();
        b.pay_test(&p.id, false, false, t0()).unwrap();
        b.cancel(&p.id, Some(k(100)), t0()).unwrap();
        let declined = b.decline_refund(&p.id, t0()).unwrap();
        assert_eq!(declined.status_text(), "DECLINED");
        assert!(matches!(
            b.decline_refund(&p.id, t0()),
            Err(TbankError::NoRefundInProgress(_))
        ));
        assert_eq!(b.state(&p.id, t0()).unwrap().0.status_text(), "CONFIRMED");
        b.cancel(&p.id, Some(k(100)), t0()).unwrap();
    }

    #[test]
    fn the_redirect_due_date_must_be_one_minute_to_ninety_days_ahead() {
        let mut b = TbBooks::default();
        let due = |seconds: i64| NewPayment {
            due: Some((t0() + chrono::TimeDelta::seconds(seconds)).fixed_offset()),
            ..new("pay_due", 1_000)
        };
        for bad in [-1, 0, 59, 90 * 86_400 + 1] {
            assert!(
                matches!(
                    b.init(due(bad), t0()),
                    Err(TbankError::DueDateOutOfRange(_))
                ),
                "{bad}"
            );
        }
        for good in [60, 90 * 86_400] {
            assert!(b.init(due(good), t0()).is_ok(), "{good}");
        }
    }
}
