//! The API's one error type: a stable snake_case code, human text, and the payment when the
//! client needs it (`already_paid` carries the paid payment).
//!
//! Codes are a contract with register software; add new ones, never rename. The table in
//! `openapi.json` (`ErrorCode`) lists them all.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use qrpayd_bank::BankError;
use qrpayd_store::{Payment, Refund};
use serde_json::json;

use super::view::{payment_json, refund_json};
use crate::payments::{PaymentError, RefundError};

/// An error answer.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    payment: Option<Box<Payment>>,
    /// The payment's refunds, for rendering it (attached by the handler, see
    /// [`ApiError::payment`]).
    refunds: Vec<Refund>,
    refund: Option<Box<Refund>>,
    /// Seconds for a `Retry-After` header (limits: 429, 503).
    retry_after: Option<u64>,
}

impl ApiError {
    /// A new error.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            payment: None,
            refunds: Vec::new(),
            refund: None,
            retry_after: None,
        }
    }

    /// 400 with a code.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// 422 with a code.
    pub fn unprocessable(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
    }

    /// 404 `not_found`.
    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", "no such payment")
    }

    /// 500, with the details in the log only.
    pub fn internal(cause: &dyn std::fmt::Display) -> Self {
        tracing::error!("internal error: {cause}");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "qrpayd could not complete the request; the cause is in its log. Retrying is safe (a create with the same Idempotency-Key).",
        )
    }

    fn with_payment(mut self, payment: Box<Payment>) -> Self {
        self.payment = Some(payment);
        self
    }

    fn with_refund(mut self, refund: Box<Refund>) -> Self {
        self.refund = Some(refund);
        self
    }

    /// The payment this error carries, if any (so the handler can attach its refunds).
    pub fn payment(&self) -> Option<&Payment> {
        self.payment.as_deref()
    }

    /// Attaches the carried payment's refunds.
    pub fn with_refunds(mut self, refunds: Vec<Refund>) -> Self {
        self.refunds = refunds;
        self
    }

    /// Adds `Retry-After` (whole seconds, at least one): the client may try again then.
    pub fn retry_after(mut self, after: std::time::Duration) -> Self {
        self.retry_after = Some(after.as_secs().max(1));
        self
    }

    /// The stable code (tests, logs).
    pub fn code(&self) -> &'static str {
        self.code
    }
}

/// Bank trouble as the register should see it.
fn bank_error(error: &BankError, doing: &str) -> ApiError {
    match error {
        BankError::Timeout => ApiError::new(
            StatusCode::GATEWAY_TIMEOUT,
            "bank_timeout",
            format!("the bank did not answer in time while {doing}"),
        ),
        BankError::Unavailable(m) => ApiError::new(
            StatusCode::BAD_GATEWAY,
            "bank_unavailable",
            format!("the bank is unavailable while {doing}: {m}"),
        ),
        BankError::Rejected { code, message } => ApiError::new(
            StatusCode::BAD_GATEWAY,
            "bank_rejected",
            format!("the bank refused while {doing}: {code} {message}"),
        ),
        BankError::Protocol(m) => ApiError::new(
            StatusCode::BAD_GATEWAY,
            "bank_protocol_error",
            format!("the bank's answer was not acceptable while {doing}: {m}"),
        ),
        BankError::Unsupported(m) => ApiError::unprocessable(
            "not_supported_by_provider",
            format!("not supported by this provider while {doing}: {m}"),
        ),
        BankError::LinkBusy(m) => ApiError::new(
            StatusCode::CONFLICT,
            "link_busy",
            format!("the cash-register link is busy while {doing}: {m}"),
        ),
    }
}

impl From<PaymentError> for ApiError {
    fn from(e: PaymentError) -> Self {
        match e {
            PaymentError::NotFound => ApiError::not_found(),
            PaymentError::UnknownProvider(p) => ApiError::unprocessable(
                "unknown_provider",
                format!("provider {p:?} is not configured"),
            ),
            PaymentError::KeyReused(p) => ApiError::unprocessable(
                "idempotency_key_reused",
                "this Idempotency-Key was already used for a different request; use a new key for a new payment",
            )
            .with_payment(p),
            PaymentError::NotReady(p) => ApiError::new(
                StatusCode::CONFLICT,
                "payment_not_ready",
                "the payment is still being created; retry in a moment",
            )
            .with_payment(p),
            PaymentError::CreationFailed(p, error) => {
                bank_error(&error, "issuing the QR").with_payment(p)
            }
            PaymentError::Unsupported(m) => ApiError::unprocessable("not_supported_by_provider", m),
            PaymentError::AmountOutOfRange(m) => ApiError::unprocessable("amount_out_of_range", m),
            PaymentError::CreationUnknown(p, error) => {
                let mut e = bank_error(&error, "activating the cash-register link");
                e.message.push_str(
                    "; the activation may exist at the bank, so qrpayd is cancelling it there: the payment stays pending until then (poll it)",
                );
                e.with_payment(p)
            }
            PaymentError::NoCashLink => ApiError::new(
                StatusCode::CONFLICT,
                "no_cash_link",
                "no cash-register link is bound to this register: run `qrpayd links register` or `qrpayd links bind`",
            ),
            PaymentError::LinkBusy(p) => ApiError::new(
                StatusCode::CONFLICT,
                "link_busy",
                "the register's cash-register link is already activated for another payment; \
                 finish or cancel that one first (it is in `payment`)",
            )
            .with_payment(p),
            PaymentError::AlreadyPaid(p) => ApiError::new(
                StatusCode::CONFLICT,
                "already_paid",
                "the customer has already paid; the payment cannot be cancelled (refund it instead)",
            )
            .with_payment(p),
            PaymentError::NotCancellable(p) => {
                let status = p.state.api_status().as_str();
                ApiError::new(
                    StatusCode::CONFLICT,
                    "payment_not_cancellable",
                    format!("the payment is already {status}"),
                )
                .with_payment(p)
            }
            PaymentError::CancelPending(p, error) => {
                let mut e = bank_error(&error, "cancelling");
                e.message.push_str(
                    "; the cancellation is recorded and qrpayd keeps deactivating the QR: poll the payment for the outcome",
                );
                e.with_payment(p)
            }
            PaymentError::Store(e) => ApiError::internal(&e),
        }
    }
}

impl From<RefundError> for ApiError {
    fn from(e: RefundError) -> Self {
        match e {
            RefundError::NotFound => ApiError::not_found(),
            RefundError::NotRefundable(p) => {
                let status = p.state.api_status().as_str();
                ApiError::new(
                    StatusCode::CONFLICT,
                    "payment_not_refundable",
                    format!("only paid payments can be refunded; this one is {status}"),
                )
                .with_payment(p)
            }
            RefundError::Exceeds { payment, remaining } => ApiError::new(
                StatusCode::CONFLICT,
                "refund_exceeds_remaining",
                format!(
                    "the refund is more than what is left to refund: {} kopecks ({} RUB), counting refunds in progress",
                    remaining.get(),
                    remaining.to_rubles_fixed()
                ),
            )
            .with_payment(payment),
            RefundError::WholeAmountOnly(payment) => ApiError::unprocessable(
                "partial_refund_not_supported",
                format!(
                    "this payment's bank refunds only whole payments: refund {} kopecks ({} RUB) or nothing",
                    payment.amount.get(),
                    payment.amount.to_rubles_fixed()
                ),
            )
            .with_payment(payment),
            RefundError::KeyReused(r) => ApiError::unprocessable(
                "idempotency_key_reused",
                "this Idempotency-Key was already used for a different refund; use a new key for a new refund",
            )
            .with_refund(r),
            RefundError::Refused(r, error) => bank_error(&error, "refunding").with_refund(r),
            RefundError::Store(e) => ApiError::internal(&e),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = json!({ "error": { "code": self.code, "message": self.message } });
        if let Some(obj) = body.as_object_mut() {
            if let Some(p) = &self.payment {
                obj.insert("payment".into(), payment_json(p, &self.refunds));
            }
            if let Some(r) = &self.refund {
                obj.insert("refund".into(), refund_json(r));
            }
        }
        let mut response = (self.status, Json(body)).into_response();
        if let Some(seconds) = self.retry_after
            && let Ok(value) = axum::http::HeaderValue::from_str(&seconds.to_string())
        {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, value);
        }
        response
    }
}
