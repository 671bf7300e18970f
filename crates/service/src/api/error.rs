//! The API's one error type: a stable snake_case [`ErrorCode`], human text, and the payment
//! when the client needs it (`already_paid` carries the paid payment).
//!
//! Codes are a contract with register software; add new ones, never rename. [`ErrorCode`] is
//! the one list: each code with its HTTP status and meaning; the OpenAPI `ErrorCode` schema
//! (the table registers read) is derived from it.

use std::borrow::Cow;

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use qrpayd_bank::BankError;
use qrpayd_domain::contract::{PaymentView, RefundView};
use qrpayd_store::{Payment, Refund};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::{RefOr, extensions::ExtensionsBuilder};

use super::view::{payment_view, refund_view};
use crate::payments::{PaymentError, RefundError};

/// Declares [`ErrorCode`]: each code's variant, wire text, HTTP status (and other statuses it is
/// answered with on some paths) and, as its doc comment, what it means.
macro_rules! error_codes {
    ($(#[doc = $doc:literal] $name:ident = ($code:literal, $status:ident, [$($also:ident),*]),)*) => {
        /// A stable error code. New codes may be added; existing ones are never renamed.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum ErrorCode {
            $(#[doc = $doc] #[serde(rename = $code)] $name,)*
        }

        impl ErrorCode {
            /// Every code, in the order of the documentation's table.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$name,)*];

            /// The wire text.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(ErrorCode::$name => $code,)*
                }
            }

            /// The HTTP status it is answered with.
            pub fn status(self) -> StatusCode {
                match self {
                    $(ErrorCode::$name => StatusCode::$status,)*
                }
            }

            /// Other statuses some paths answer it with (`unknown_provider` is 404 on a bank
            /// callback, `bank_unavailable` 503 there).
            pub fn other_statuses(self) -> &'static [StatusCode] {
                match self {
                    $(ErrorCode::$name => &[$(StatusCode::$also),*],)*
                }
            }

            /// What it means, for the documentation.
            pub fn description(self) -> &'static str {
                match self {
                    $(ErrorCode::$name => $doc.trim_ascii(),)*
                }
            }
        }
    };
}

error_codes! {
    /// No `Authorization` header, not `Bearer <key>`, or a key that is neither a register's `api_key` nor the `admin_api_key`.
    Unauthorized = ("unauthorized", UNAUTHORIZED, []),
    /// No such payment or refund for this key (unknown id, malformed id, or another register's), or no such endpoint (also `GET /demo` without a `[sandbox]`, and an unknown `/assets/` file).
    NotFound = ("not_found", NOT_FOUND, []),
    /// The path exists but does not accept this HTTP method.
    MethodNotAllowed = ("method_not_allowed", METHOD_NOT_ALLOWED, []),
    /// The request body could not be read (e.g. the connection broke while sending it).
    InvalidBody = ("invalid_body", BAD_REQUEST, []),
    /// The body is not valid JSON, or is valid JSON but not an object.
    InvalidJson = ("invalid_json", BAD_REQUEST, []),
    /// `currency`, `provider`, `order` or `description` of a payment, or `reason` of a refund, is present but not a string (send the field as a string, or null / leave it out).
    InvalidField = ("invalid_field", UNPROCESSABLE_ENTITY, []),
    /// `amount` is missing, not a number, not a whole number of kopecks (a decimal point, as in rubles, is refused), or not positive. Payments and refunds alike.
    InvalidAmount = ("invalid_amount", UNPROCESSABLE_ENTITY, []),
    /// A payment's `amount` exceeds the configured `max_amount_kopecks` (default 100000000 = 1 000 000 RUB).
    AmountTooLarge = ("amount_too_large", UNPROCESSABLE_ENTITY, []),
    /// `currency` is not `RUB` (SBP settles in rubles only; the code is case-sensitive).
    UnsupportedCurrency = ("unsupported_currency", UNPROCESSABLE_ENTITY, []),
    /// The named provider is not configured: 422 on `POST /v1/payments`, 404 on `POST /v1/callbacks/{provider}`.
    UnknownProvider = ("unknown_provider", UNPROCESSABLE_ENTITY, [NOT_FOUND]),
    /// The request names no `provider`, the register has no default provider, and more than one provider is configured.
    ProviderRequired = ("provider_required", UNPROCESSABLE_ENTITY, []),
    /// `order` is empty or blank, longer than 64 characters, or contains control characters.
    InvalidOrder = ("invalid_order", UNPROCESSABLE_ENTITY, []),
    /// `description` is longer than 140 characters or contains control characters.
    InvalidDescription = ("invalid_description", UNPROCESSABLE_ENTITY, []),
    /// `POST /v1/payments` or `POST /v1/payments/{id}/refunds` without an `Idempotency-Key` header.
    IdempotencyKeyRequired = ("idempotency_key_required", BAD_REQUEST, []),
    /// `Idempotency-Key` is empty, longer than 255 characters, or not printable ASCII without spaces.
    InvalidIdempotencyKey = ("invalid_idempotency_key", BAD_REQUEST, []),
    /// This register already used the `Idempotency-Key` for a different request. On a payment create `payment` is the payment the key belongs to; on a refund `refund` is the refund it belongs to. Use a new key for a new payment or refund.
    IdempotencyKeyReused = ("idempotency_key_reused", UNPROCESSABLE_ENTITY, []),
    /// The payment is still being created (its QR is being issued by the bank): a replay of a create that is still in flight, a cancel that came too early, or a QR picture or receipt slip asked for before the QR exists. Retry in a moment. `payment` is included (not for pictures and slips).
    PaymentNotReady = ("payment_not_ready", CONFLICT, []),
    /// Cancel refused: the customer has paid (possibly while the cancel was running). `payment` is the paid payment; complete the sale or refund it (`POST /v1/payments/{id}/refunds`).
    AlreadyPaid = ("already_paid", CONFLICT, []),
    /// Cancel refused: the payment is already `failed` or `expired`. `payment` is included.
    PaymentNotCancellable = ("payment_not_cancellable", CONFLICT, []),
    /// The bank did not answer in time. On create the payment is `failed` (no QR was shown; create a new payment with a new key). On cancel the cancellation is recorded and qrpayd keeps closing the QR in the background: poll the payment. (A refund never answers it: the refund stays `pending` and qrpayd asks the bank again.)
    BankTimeout = ("bank_timeout", GATEWAY_TIMEOUT, []),
    /// The bank could not be reached or answered with a server error (or, on cancel, has not confirmed yet, e.g. the customer is paying right now). On create the payment is `failed` — except a `cash_register` activation whose answer was lost, which stays `pending` while qrpayd cancels it at the bank (poll it); on cancel qrpayd keeps closing the QR in the background: poll the payment. (A refund never answers it: the refund stays `pending`.) On a bank callback (503): the notification is verified and ours but the bank could not be asked to confirm it; the bank sends it again.
    BankUnavailable = ("bank_unavailable", BAD_GATEWAY, [SERVICE_UNAVAILABLE]),
    /// The bank refused the request with a business error (its code and text are in `message`). On create the payment is `failed`. On a refund the refund is `failed` and included as `refund` (nothing was refunded; the amount is free again); a retry with the same key gets the same answer.
    BankRejected = ("bank_rejected", BAD_GATEWAY, []),
    /// The bank's answer was not acceptable (malformed, or amount / QR / order not matching what qrpayd asked for). On create the payment is `failed`; on cancel qrpayd keeps trying. (A refund never answers it: the refund stays `pending`.)
    BankProtocolError = ("bank_protocol_error", BAD_GATEWAY, []),
    /// qrpayd could not complete the request (journal failure or a bug); details are in qrpayd's log. Retry (with the same `Idempotency-Key` for a create or a refund).
    InternalError = ("internal_error", INTERNAL_SERVER_ERROR, []),
    /// The request body is larger than 16 KiB.
    BodyTooLarge = ("body_too_large", PAYLOAD_TOO_LARGE, []),
    /// `wait` is not a whole non-negative number of seconds.
    InvalidWait = ("invalid_wait", BAD_REQUEST, []),
    /// Bank callback: the signature header is missing or does not verify against the provider's secret key.
    InvalidSignature = ("invalid_signature", UNAUTHORIZED, []),
    /// Bank callback: the signature header is present but the body is not a notification qrpayd understands (bad JSON, bad amount, another terminal's key).
    MalformedNotification = ("malformed_notification", BAD_REQUEST, []),
    /// `GET /healthz` only (inside its `HealthUnavailable` answer, not the `Error` envelope): the journal database does not answer.
    DatabaseUnavailable = ("database_unavailable", SERVICE_UNAVAILABLE, []),
    /// `qr_type` is not `dynamic`, `cash_register` or `customer`.
    InvalidQrType = ("invalid_qr_type", UNPROCESSABLE_ENTITY, []),
    /// `qr_type` `customer` without `customer_qr` (the scanned text).
    CustomerQrRequired = ("customer_qr_required", UNPROCESSABLE_ENTITY, []),
    /// `customer_qr` is empty, longer than 2048 characters or has control characters.
    InvalidCustomerQr = ("invalid_customer_qr", UNPROCESSABLE_ENTITY, []),
    /// The amount is outside what the provider's bank takes for an SBP payment (its documented limits, e.g. T-Bank: 10 … 1 000 000 RUB). Refused before anything is saved or sent to the bank; `message` says the range.
    AmountOutOfRange = ("amount_out_of_range", UNPROCESSABLE_ENTITY, []),
    /// The provider cannot do this kind of payment (see the provider matrix in the README): e.g. `customer` with Raiffeisen or T-Bank, `cash_register` with T-Bank, or a cash-register link of another provider.
    NotSupportedByProvider = ("not_supported_by_provider", UNPROCESSABLE_ENTITY, []),
    /// A `cash_register` payment, but no cash-register link is bound to the register: `qrpayd links register` or `qrpayd links bind`.
    NoCashLink = ("no_cash_link", CONFLICT, []),
    /// The register's cash-register link is already activated for an unfinished payment (one live activation per link): finish or cancel it (it is in `payment`).
    LinkBusy = ("link_busy", CONFLICT, []),
    /// `POST /v1/links/check` without the scanned `payload`.
    PayloadRequired = ("payload_required", UNPROCESSABLE_ENTITY, []),
    /// The request body carries a field qrpayd does not know (a typo such as `povider`): a payment takes `amount`, `currency`, `provider`, `order`, `description`; a refund takes `amount`, `reason`. Refused rather than ignored, so a typo never silently falls back to a default.
    UnknownField = ("unknown_field", UNPROCESSABLE_ENTITY, []),
    /// The query string cannot be read (e.g. invalid percent-encoding), or, on `GET /v1/payments`, names an unknown parameter or has a bad value (`status`, `late`, `from`, `to`, `limit`, `register`); on the QR pictures and receipt slips, names a parameter the endpoint does not take.
    InvalidQuery = ("invalid_query", BAD_REQUEST, []),
    /// The admin key (`admin_api_key`) was used for an operation only a register may do: one that changes something (create, cancel, refund), a link check, or a QR picture or receipt slip (a payable QR goes to the register's own screen or printer). The admin key reads payments, refunds and events only; use a register's key.
    AdminReadOnly = ("admin_read_only", FORBIDDEN, []),
    /// `GET /v1/payments?register=...` by a register naming another register: a register lists only its own payments (leave `register` out).
    Forbidden = ("forbidden", FORBIDDEN, []),
    /// A refund's `reason` is longer than 140 characters or contains control characters.
    InvalidReason = ("invalid_reason", UNPROCESSABLE_ENTITY, []),
    /// Refund refused: only a `paid` payment can be refunded (this one is `pending`, `failed`, `expired` or `cancelled`). `payment` is included.
    PaymentNotRefundable = ("payment_not_refundable", CONFLICT, []),
    /// Refund refused before anything was saved: the payment's bank refunds only whole payments, and `amount` is less than the payment's amount. `payment` is included.
    PartialRefundNotSupported = ("partial_refund_not_supported", UNPROCESSABLE_ENTITY, []),
    /// Refund refused: `amount` is more than what is left to refund, i.e. the paid amount minus every refund that has not `failed` (refunds still `pending` count). `message` says what is left; `payment` is included with its refunds.
    RefundExceedsRemaining = ("refund_exceeds_remaining", CONFLICT, []),
    /// `GET /v1/payments/{id}/qr.png` or `qr.svg`: `size` is not a whole number of pixels, or outside 98..4096 (the least is two pixels per module of the QR with its quiet zone; `message` says it).
    InvalidSize = ("invalid_size", BAD_REQUEST, []),
    /// `GET /v1/payments/{id}/receipt.escpos` or `receipt.txt`: `width` is not `58` or `80` (the receipt paper's width in millimetres).
    InvalidWidth = ("invalid_width", BAD_REQUEST, []),
    /// A QR picture or receipt option has a value qrpayd does not know: `qr` (`native`, `raster`), `lang` (`ru`, `en`), `cut` (`true`, `false`) or `background` (`dark`, `light`).
    InvalidOption = ("invalid_option", BAD_REQUEST, []),
    /// A QR picture or receipt slip was asked for a payment that is no longer `pending` (paid, failed, expired or cancelled): its QR can no longer be paid and must not reach a screen or the receipt tape. Also for a payment whose QR the customer presents (there is none to show).
    QrNotPayable = ("qr_not_payable", CONFLICT, []),
    /// An admin endpoint (`/v1/admin/...`, `GET /metrics`) was called with a register's key: it needs the `admin_api_key`.
    AdminOnly = ("admin_only", FORBIDDEN, []),
    /// `GET /display/{register_id}/events`: no customer display at this address: the register does not exist, has no `display_key`, or `key` is wrong (all three look the same).
    UnknownDisplay = ("unknown_display", NOT_FOUND, []),
    /// Too many requests from this client address to the paths that need no register key (bank callbacks, the customer display and its assets, the pages, the embedded sandbox bank, this document): more than `rate_limit_burst` at once or `rate_limit_per_second` on average. `Retry-After` says when to try again. `/healthz` and `/readyz` are never limited.
    RateLimited = ("rate_limited", TOO_MANY_REQUESTS, []),
    /// `GET /display/{register_id}/events`: the register already has `max_display_streams_per_register` display streams open (default 4); the newest gives way, the screens already open keep theirs. `Retry-After` (5 s); the display page retries by itself.
    TooManyDisplays = ("too_many_displays", TOO_MANY_REQUESTS, []),
    /// qrpayd is at a limit that protects the others: the connection cap (`max_connections`; answered at once on the new connection, which is then closed) or, for `qr.png` and `receipt.escpos`, the render pool (`max_concurrent_renders` running and as many waiting). `Retry-After: 1`.
    Overloaded = ("overloaded", SERVICE_UNAVAILABLE, []),
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl utoipa::PartialSchema for ErrorCode {
    fn schema() -> RefOr<Schema> {
        let mut table = String::from(
            "Stable error codes. New codes may be added; existing ones are never renamed.\n\n\
             | code | HTTP | meaning |\n|---|---|---|\n",
        );
        for code in ErrorCode::ALL {
            let mut http = code.status().as_u16().to_string();
            for other in code.other_statuses() {
                http.push_str(&format!(" / {}", other.as_u16()));
            }
            table.push_str(&format!(
                "| `{}` | {http} | {} |\n",
                code.as_str(),
                code.description()
            ));
        }
        let descriptions: Vec<&str> = ErrorCode::ALL.iter().map(|c| c.description()).collect();
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(ErrorCode::ALL.iter().map(|c| c.as_str())))
            .description(Some(table.trim_end()))
            .extensions(Some(
                ExtensionsBuilder::new()
                    .add("x-enum-descriptions", descriptions)
                    .build(),
            ))
            .into()
    }
}

impl ToSchema for ErrorCode {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("ErrorCode")
    }
}

/// Every error answer of the API (except `/healthz`'s 503, see `HealthUnavailable`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(as = Error)]
#[serde(deny_unknown_fields)]
pub struct ErrorBody {
    /// The code and its explanation.
    pub error: ErrorDetail,
    /// The payment concerned (with its refunds), when the register needs it: `already_paid`
    /// (the paid payment), `payment_not_cancellable`, `payment_not_ready`,
    /// `idempotency_key_reused` of a payment create (the payment the key belongs to), the
    /// `bank_*` codes of a create (the `failed` payment) or a cancel (the payment, still
    /// `pending` while qrpayd keeps closing it), `payment_not_refundable` and
    /// `refund_exceeds_remaining`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment: Option<PaymentView>,
    /// The refund concerned, on a refund request: `idempotency_key_reused` (the refund the key
    /// belongs to) and `bank_rejected` (the refund, now `failed`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund: Option<RefundView>,
}

/// The code and message of an error answer.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ErrorDetail {
    /// Switch on this, never on `message`.
    pub code: ErrorCode,
    /// Human-readable explanation for logs and support; may change between versions.
    pub message: String,
}

/// An error answer.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: ErrorCode,
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
    /// A new error, answered with the code's own status.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self::with_status(code.status(), code, message)
    }

    /// A new error answered with one of the code's other statuses
    /// ([`ErrorCode::other_statuses`]).
    pub fn with_status(status: StatusCode, code: ErrorCode, message: impl Into<String>) -> Self {
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

    /// 404 `not_found`.
    pub fn not_found() -> Self {
        Self::new(ErrorCode::NotFound, "no such payment")
    }

    /// 500, with the details in the log only.
    pub fn internal(cause: &dyn std::fmt::Display) -> Self {
        tracing::error!("internal error: {cause}");
        Self::new(
            ErrorCode::InternalError,
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
    pub fn code(&self) -> ErrorCode {
        self.code
    }
}

/// Bank trouble as the register should see it.
fn bank_error(error: &BankError, doing: &str) -> ApiError {
    match error {
        BankError::Timeout => ApiError::new(
            ErrorCode::BankTimeout,
            format!("the bank did not answer in time while {doing}"),
        ),
        BankError::Unavailable(m) => ApiError::new(
            ErrorCode::BankUnavailable,
            format!("the bank is unavailable while {doing}: {m}"),
        ),
        BankError::Rejected { code, message } => ApiError::new(
            ErrorCode::BankRejected,
            format!("the bank refused while {doing}: {code} {message}"),
        ),
        BankError::Protocol(m) => ApiError::new(
            ErrorCode::BankProtocolError,
            format!("the bank's answer was not acceptable while {doing}: {m}"),
        ),
        BankError::Unsupported(m) => ApiError::new(
            ErrorCode::NotSupportedByProvider,
            format!("not supported by this provider while {doing}: {m}"),
        ),
        BankError::LinkBusy(m) => ApiError::new(
            ErrorCode::LinkBusy,
            format!("the cash-register link is busy while {doing}: {m}"),
        ),
    }
}

impl From<PaymentError> for ApiError {
    fn from(e: PaymentError) -> Self {
        match e {
            PaymentError::NotFound => ApiError::not_found(),
            PaymentError::UnknownProvider(p) => ApiError::new(ErrorCode::UnknownProvider,
                format!("provider {p:?} is not configured"),
            ),
            PaymentError::KeyReused(p) => ApiError::new(ErrorCode::IdempotencyKeyReused,
                "this Idempotency-Key was already used for a different request; use a new key for a new payment",
            )
            .with_payment(p),
            PaymentError::NotReady(p) => ApiError::new(ErrorCode::PaymentNotReady,
                "the payment is still being created; retry in a moment",
            )
            .with_payment(p),
            PaymentError::CreationFailed(p, error) => {
                bank_error(&error, "issuing the QR").with_payment(p)
            }
            PaymentError::Unsupported(m) => ApiError::new(ErrorCode::NotSupportedByProvider, m),
            PaymentError::AmountOutOfRange(m) => ApiError::new(ErrorCode::AmountOutOfRange, m),
            PaymentError::CreationUnknown(p, error) => {
                let mut e = bank_error(&error, "activating the cash-register link");
                e.message.push_str(
                    "; the activation may exist at the bank, so qrpayd is cancelling it there: the payment stays pending until then (poll it)",
                );
                e.with_payment(p)
            }
            PaymentError::NoCashLink => ApiError::new(ErrorCode::NoCashLink,
                "no cash-register link is bound to this register: run `qrpayd links register` or `qrpayd links bind`",
            ),
            PaymentError::LinkBusy(p) => ApiError::new(ErrorCode::LinkBusy,
                "the register's cash-register link is already activated for another payment; \
                 finish or cancel that one first (it is in `payment`)",
            )
            .with_payment(p),
            PaymentError::AlreadyPaid(p) => ApiError::new(ErrorCode::AlreadyPaid,
                "the customer has already paid; the payment cannot be cancelled (refund it instead)",
            )
            .with_payment(p),
            PaymentError::NotCancellable(p) => {
                let status = p.state.api_status().as_str();
                ApiError::new(ErrorCode::PaymentNotCancellable,
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
                ApiError::new(ErrorCode::PaymentNotRefundable,
                    format!("only paid payments can be refunded; this one is {status}"),
                )
                .with_payment(p)
            }
            RefundError::Exceeds { payment, remaining } => ApiError::new(ErrorCode::RefundExceedsRemaining,
                format!(
                    "the refund is more than what is left to refund: {} kopecks ({} RUB), counting refunds in progress",
                    remaining.get(),
                    remaining.to_rubles_fixed()
                ),
            )
            .with_payment(payment),
            RefundError::WholeAmountOnly(payment) => ApiError::new(ErrorCode::PartialRefundNotSupported,
                format!(
                    "this payment's bank refunds only whole payments: refund {} kopecks ({} RUB) or nothing",
                    payment.amount.get(),
                    payment.amount.to_rubles_fixed()
                ),
            )
            .with_payment(payment),
            RefundError::KeyReused(r) => ApiError::new(ErrorCode::IdempotencyKeyReused,
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
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code,
                message: self.message,
            },
            payment: self.payment.map(|p| payment_view(&p, &self.refunds)),
            refund: self.refund.map(|r| refund_view(&r)),
        };
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

/// The answer to a path no route serves.
pub(super) async fn not_found() -> ApiError {
    ApiError::new(ErrorCode::NotFound, "no such endpoint; see /openapi.json")
}

/// The answer to a method a route does not serve.
pub(super) async fn method_not_allowed() -> ApiError {
    ApiError::new(
        ErrorCode::MethodNotAllowed,
        "this endpoint does not accept that method; see /openapi.json",
    )
}
