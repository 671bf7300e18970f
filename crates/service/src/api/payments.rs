//! `/v1/payments` handlers: parse and validate at the edge, then call [`Payments`].
//!
//! [`Payments`]: crate::payments::Payments

use std::collections::HashMap;
use std::time::Duration;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use qrpayd_domain::contract::{PaymentView, QrKind};
use qrpayd_domain::ids::{IdempotencyKey, OrderRef, PaymentId, ProviderName, RegisterId};
use qrpayd_domain::money::{Currency, Kopecks};
use qrpayd_domain::payment::{PaymentState, QrType};
use qrpayd_store::{Payment, PaymentFilter};
use serde::Deserialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

use super::contract::{ApiStatus, ErrorBody, Moment, PaymentList, TrueFalse, WaitSeconds};
use super::view::payment_view;
use super::{ApiError, AppState, ErrorCode, MAX_BODY_BYTES, Register, Viewer};
use crate::payments::CreatePayment;

/// Longest payment purpose (Raiffeisen `paymentDetails` allows 185; keep room).
const MAX_DESCRIPTION_CHARS: usize = 140;

pub(super) fn body_error(rejection: BytesRejection) -> ApiError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::new(
            ErrorCode::BodyTooLarge,
            format!("the request body is larger than {MAX_BODY_BYTES} bytes"),
        )
    } else {
        ApiError::new(
            ErrorCode::InvalidBody,
            format!("cannot read the request body: {rejection}"),
        )
    }
}

pub(super) fn json_object(body: &[u8]) -> Result<Map<String, Value>, ApiError> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(ApiError::new(
            ErrorCode::InvalidJson,
            "the body must be a JSON object",
        )),
        Err(e) => Err(ApiError::new(
            ErrorCode::InvalidJson,
            format!("the body is not valid JSON: {e}"),
        )),
    }
}

pub(super) fn optional_string<'a>(
    map: &'a Map<String, Value>,
    field: &str,
) -> Result<Option<&'a str>, ApiError> {
    match map.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(ApiError::new(
            ErrorCode::InvalidField,
            format!("`{field}` must be a string"),
        )),
    }
}

fn parse_amount(map: &Map<String, Value>, max: Kopecks) -> Result<Kopecks, ApiError> {
    let invalid = |m: &str| ApiError::new(ErrorCode::InvalidAmount, m.to_owned());
    let number = match map.get("amount") {
        None | Some(Value::Null) => {
            return Err(invalid(
                "`amount` is required: the bill in kopecks, e.g. 12345 for 123.45 RUB",
            ));
        }
        Some(Value::Number(n)) => n,
        Some(_) => {
            return Err(invalid(
                "`amount` must be a whole number of kopecks, e.g. 12345 for 123.45 RUB",
            ));
        }
    };
    let Some(kopecks) = number.as_i64() else {
        if number.is_u64() {
            return Err(ApiError::new(
                ErrorCode::AmountTooLarge,
                format!("`amount` is above the limit of {} kopecks", max.get()),
            ));
        }
        return Err(invalid(
            "`amount` must be a whole number of kopecks (not rubles with a decimal point)",
        ));
    };
    if kopecks <= 0 {
        return Err(invalid("`amount` must be positive"));
    }
    if kopecks > max.get() {
        return Err(ApiError::new(
            ErrorCode::AmountTooLarge,
            format!(
                "`amount` {kopecks} is above the limit of {} kopecks ({} RUB)",
                max.get(),
                max.to_rubles_fixed()
            ),
        ));
    }
    Kopecks::new(kopecks).map_err(|e| invalid(&e.to_string()))
}

/// A new payment. Other fields are refused (`unknown_field`). Optional fields may also be sent
/// as null (the same as leaving them out).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(
    as = CreatePaymentRequest,
    examples(
        json!({"amount": 12345}),
        json!({"amount": 12345, "currency": "RUB", "provider": "raiffeisen", "order": "sale-0042/17", "description": "Order 0042, store 17"})
    )
)]
pub(super) struct CreatePaymentRequest {
    /// The bill in kopecks: 12345 for 123.45 RUB. A number with a decimal point is refused
    /// (`invalid_amount`); at most `max_amount_kopecks` from the configuration
    /// (`amount_too_large`), and within the provider's bank limits (`amount_out_of_range`;
    /// T-Bank: 1000 … 100000000).
    #[schema(value_type = i64, format = Int64, minimum = 1, examples(12345))]
    amount: Kopecks,
    /// ISO 4217 code; only `RUB` (`unsupported_currency` otherwise).
    #[schema(value_type = Option<Currency>, default = "RUB")]
    currency: Option<String>,
    /// The provider ("payment module") as named in the configuration, e.g. `raiffeisen`.
    /// Optional when the register has a default provider or exactly one provider is configured
    /// (`provider_required` otherwise); `unknown_provider` when not configured.
    #[schema(max_length = 64, pattern = "^[A-Za-z0-9_.-]+$", examples("raiffeisen"))]
    provider: Option<String>,
    /// The sale receipt reference, free text: 1 to 64 characters, not blank, no control
    /// characters (`invalid_order`). Returned as is; not sent to the bank.
    #[schema(
        min_length = 1,
        max_length = 64,
        pattern = "^[^\\x00-\\x1f\\x7f]*[^\\s\\x00-\\x1f\\x7f][^\\x00-\\x1f\\x7f]*$",
        examples("sale-0042/17")
    )]
    order: Option<String>,
    /// Payment purpose shown in the customer's bank app: at most 140 characters, no control
    /// characters (`invalid_description`).
    #[schema(
        max_length = 140,
        pattern = "^[^\\x00-\\x1f\\x7f-\\x9f]*$",
        examples("Order 0042, store 17")
    )]
    description: Option<String>,
    /// `dynamic` (default unless the register's `qr_type` says otherwise): a QR for this
    /// payment. `cash_register`: activate the register's printed link (bound with `qrpayd
    /// links register|bind`) with this amount; one live activation per link (`link_busy`),
    /// `no_cash_link` when none is bound. `customer`: charge the customer's QR scanned by the
    /// register (`customer_qr` required). A provider that cannot do it answers
    /// `not_supported_by_provider`; `invalid_qr_type` for other values.
    #[schema(value_type = Option<QrKind>)]
    qr_type: Option<String>,
    /// Only with `qr_type` `customer` (`invalid_field` with another type): the text the
    /// register's scanner read from the customer's bank app, 1 to 2048 characters without
    /// control characters (`customer_qr_required`, `invalid_customer_qr`). Null is the same as
    /// leaving it out.
    #[schema(
        min_length = 1,
        max_length = 2048,
        pattern = "^[^\\x00-\\x1f\\x7f-\\x9f]*$"
    )]
    customer_qr: Option<String>,
}

/// The fields a create request may carry. Anything else is refused: a typo such as
/// `povider` must not silently fall back to the default bank.
const CREATE_FIELDS: [&str; 7] = [
    "amount",
    "currency",
    "provider",
    "order",
    "description",
    "qr_type",
    "customer_qr",
];

/// Parses a JSON object whose fields were checked (known names, the right JSON types, so the
/// checks answer with their own codes) into its typed request.
pub(super) fn typed<T: serde::de::DeserializeOwned>(
    map: Map<String, Value>,
) -> Result<T, ApiError> {
    serde_json::from_value(Value::Object(map)).map_err(|e| {
        ApiError::new(
            ErrorCode::InvalidField,
            format!("the request does not fit: {e}"),
        )
    })
}

fn parse_create(
    state: &AppState,
    register: &Register,
    body: &[u8],
) -> Result<CreatePayment, ApiError> {
    let mut map = json_object(body)?;
    if let Some(unknown) = map.keys().find(|k| !CREATE_FIELDS.contains(&k.as_str())) {
        return Err(ApiError::new(
            ErrorCode::UnknownField,
            format!(
                "unknown field `{unknown}`; a payment takes: {}",
                CREATE_FIELDS.join(", ")
            ),
        ));
    }
    let amount = parse_amount(&map, state.max_amount)?;
    map.insert("amount".to_owned(), Value::from(amount.get()));

    for field in CREATE_FIELDS.iter().skip(1) {
        optional_string(&map, field)?;
    }
    let request: CreatePaymentRequest = typed(map)?;
    let currency = match request.currency.as_deref() {
        None => Currency::Rub,
        Some(code) => Currency::parse(code).ok_or_else(|| {
            ApiError::new(
                ErrorCode::UnsupportedCurrency,
                format!("currency {code:?} is not supported; SBP pays in \"RUB\""),
            )
        })?,
    };
    // A provider named in the request is exactly that provider; otherwise the register's list,
    // first available first, the rest to fall over to.
    let (provider, fallback) = match request.provider.as_deref() {
        Some(name) => {
            let name = ProviderName::parse(name)
                .ok()
                .filter(|n| state.payments.provider(n.as_str()).is_some());
            let name = name.ok_or_else(|| {
                let known: Vec<&str> = state
                    .payments
                    .provider_names()
                    .into_iter()
                    .map(ProviderName::as_str)
                    .collect();
                ApiError::new(
                    ErrorCode::UnknownProvider,
                    format!("unknown provider; configured: {}", known.join(", ")),
                )
            })?;
            (name, Vec::new())
        }
        None => match register.providers.split_first() {
            Some((first, rest)) => (first.clone(), rest.to_vec()),
            None => {
                return Err(ApiError::new(
                    ErrorCode::ProviderRequired,
                    "name the `provider` (payment module): several are configured",
                ));
            }
        },
    };
    let order = request
        .order
        .as_deref()
        .map(|o| {
            OrderRef::parse(o).map_err(|e| ApiError::new(ErrorCode::InvalidOrder, e.to_string()))
        })
        .transpose()?;
    let description = request.description;
    if let Some(d) = &description
        && (d.chars().count() > MAX_DESCRIPTION_CHARS || d.chars().any(char::is_control))
    {
        return Err(ApiError::new(
            ErrorCode::InvalidDescription,
            format!(
                "`description` must be at most {MAX_DESCRIPTION_CHARS} characters without control characters"
            ),
        ));
    }
    let qr_type = match request.qr_type.as_deref() {
        None => register.qr_type,
        Some(text) => QrType::parse(text).ok_or_else(|| {
            ApiError::new(
                ErrorCode::InvalidQrType,
                "`qr_type` must be \"dynamic\", \"cash_register\" or \"customer\"",
            )
        })?,
    };
    let customer_qr = request.customer_qr;
    match (qr_type, &customer_qr) {
        (QrType::Customer, None) => {
            return Err(ApiError::new(
                ErrorCode::CustomerQrRequired,
                "`qr_type` \"customer\" needs `customer_qr`: the text the register's scanner read from the customer's QR",
            ));
        }
        (QrType::Customer, Some(text))
            if text.is_empty() || text.len() > 2048 || text.chars().any(char::is_control) =>
        {
            return Err(ApiError::new(
                ErrorCode::InvalidCustomerQr,
                "`customer_qr` must be the scanned text (1 to 2048 characters, no control characters)",
            ));
        }
        (QrType::Dynamic | QrType::CashRegister, Some(_)) => {
            return Err(ApiError::new(
                ErrorCode::InvalidField,
                "`customer_qr` goes only with `qr_type` \"customer\"",
            ));
        }
        _ => {}
    }
    Ok(CreatePayment {
        amount: request.amount,
        currency,
        provider,
        fallback,
        order,
        description,
        qr_type,
        customer_qr,
    })
}

pub(super) fn idempotency_key(headers: &HeaderMap) -> Result<IdempotencyKey, ApiError> {
    let header = headers.get("idempotency-key").ok_or_else(|| {
        ApiError::new(
            ErrorCode::IdempotencyKeyRequired,
            "send an `Idempotency-Key` header (unique per payment attempt, reused on retries)",
        )
    })?;
    let text = header.to_str().map_err(|_| {
        ApiError::new(
            ErrorCode::InvalidIdempotencyKey,
            "`Idempotency-Key` must be printable ASCII",
        )
    })?;
    IdempotencyKey::parse(text)
        .map_err(|e| ApiError::new(ErrorCode::InvalidIdempotencyKey, e.to_string()))
}

/// An id from the path; anything that is not a well-formed id is simply not found.
pub(super) fn payment_id(path: Result<Path<String>, PathRejection>) -> Result<PaymentId, ApiError> {
    let Path(text) = path.map_err(|_| ApiError::not_found())?;
    PaymentId::parse(&text).map_err(|_| ApiError::not_found())
}

/// The payment with its refunds, as the API shows it.
pub(super) async fn render(state: &AppState, payment: &Payment) -> Result<PaymentView, ApiError> {
    // Only a paid payment can have refunds: the others need no second query (most reads are
    // of pending payments, by registers waiting for them).
    if payment.state != PaymentState::Paid && payment.paid_at.is_none() {
        return Ok(payment_view(payment, &[]));
    }
    let refunds = state
        .payments
        .refunds_of(&payment.id)
        .await
        .map_err(|e| ApiError::internal(&e))?;
    Ok(payment_view(payment, &refunds))
}

/// Attaches the refunds of the payment an error carries, so it renders in full.
pub(super) async fn enrich(state: &AppState, error: ApiError) -> ApiError {
    let Some(id) = error.payment().map(|p| p.id.clone()) else {
        return error;
    };
    match state.payments.refunds_of(&id).await {
        Ok(refunds) => error.with_refunds(refunds),
        Err(_) => error,
    }
}

/// `POST /v1/payments`.
#[utoipa::path(
    post,
    path = "/v1/payments",
    operation_id = "createPayment",
    tag = "payments",
    summary = "Create a payment and its QR",
    description = include_str!("doc/createPayment.md"),
    security(("registerKey" = [])),
    params(
        ("Idempotency-Key" = String, Header, description = "Unique per payment (or refund) attempt, resent unchanged on every retry of it; scoped per register, payment keys and refund keys separately. 1 to 255 printable ASCII characters without spaces.", min_length = 1, max_length = 255, pattern = "^[!-~]+$", example = "0f8fad5b-d9cb-469f-a165-70867728950e"),
    ),
    request_body(content = CreatePaymentRequest, content_type = "application/json"),
    responses(
        (status = 201, description = "The payment, `pending`, with its QR. Also the answer to a replay (same key and body), then with `Idempotent-Replayed: true` and the payment as it is now (it may already be final).", content_type = "application/json", body = PaymentView, headers(("Idempotent-Replayed" = String, description = "`true` when this answer repeats an earlier create (of a payment or a refund) with the same `Idempotency-Key` and body; absent on the first answer."))),
        (status = 400, description = "The request cannot be read: `invalid_body`, `invalid_json`, `idempotency_key_required`, `invalid_idempotency_key`.", content_type = "application/json", body = ErrorBody),
        (status = 401, description = "No valid key (`unauthorized`).", content_type = "application/json", body = ErrorBody),
        (status = 403, description = "`admin_read_only`: the admin key reads payments, refunds and events only; use a register's key.", content_type = "application/json", body = ErrorBody),
        (status = 409, description = "`payment_not_ready`: a replay of a create that is still waiting for the bank after `bank_timeout_seconds` + 1 s. Retry with the same key.", content_type = "application/json", body = ErrorBody),
        (status = 413, description = "`body_too_large`: the body is larger than 16 KiB.", content_type = "application/json", body = ErrorBody),
        (status = 422, description = "The request is readable but not acceptable: `unknown_field`, `invalid_amount`, `amount_too_large`, `amount_out_of_range`, `invalid_field`, `unsupported_currency`, `unknown_provider`, `provider_required`, `invalid_order`, `invalid_description`, `idempotency_key_reused` (with the key's payment).", content_type = "application/json", body = ErrorBody),
        (status = 500, description = "qrpayd could not complete the request (`internal_error`); retry.", content_type = "application/json", body = ErrorBody),
        (status = 502, description = "The bank did not issue a QR: `bank_unavailable`, `bank_rejected`, `bank_protocol_error`. `payment` is the payment, now `failed`.", content_type = "application/json", body = ErrorBody),
        (status = 504, description = "`bank_timeout`: the bank did not answer in time. `payment` is the payment, now `failed`.", content_type = "application/json", body = ErrorBody),
    )
)]
pub(super) async fn create(
    State(state): State<AppState>,
    register: Register,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = body.map_err(body_error)?;
    let key = idempotency_key(&headers)?;
    let request = parse_create(&state, &register, &body)?;
    let created = match state.payments.create(&register.id, key, request).await {
        Ok(created) => created,
        Err(e) => return Err(enrich(&state, e.into()).await),
    };
    let body = render(&state, &created.payment).await?;
    let mut response = (StatusCode::CREATED, Json(body)).into_response();
    if created.replayed {
        response
            .headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    Ok(response)
}

pub(super) fn wait_param(
    query: &HashMap<String, String>,
    max: Duration,
) -> Result<Duration, ApiError> {
    match query.get("wait") {
        None => Ok(Duration::ZERO),
        Some(text) => {
            let digits = text.strip_prefix('+').unwrap_or(text);
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(ApiError::new(
                    ErrorCode::InvalidWait,
                    "`wait` must be a whole number of seconds",
                ));
            }
            // Any whole number is capped at `max_wait_seconds`, also one too large for u64.
            let seconds = digits.parse::<u64>().unwrap_or(u64::MAX);
            Ok(Duration::from_secs(seconds).min(max))
        }
    }
}

/// `GET /v1/payments/{id}[?wait=N]`.
#[utoipa::path(
    get,
    path = "/v1/payments/{id}",
    operation_id = "getPayment",
    tag = "payments",
    summary = "Get a payment, optionally waiting for its outcome",
    description = include_str!("doc/getPayment.md"),
    security(("registerKey" = []), ("adminKey" = [])),
    params(
        ("id" = String, Path, description = "The payment's `id`. An id that is malformed, unknown, or belongs to another register (for a register's key) answers `404 not_found`.", example = "pay_0190a1b2c3d47e5f8a6b7c8d9e0f1a2b"),
        ("wait" = inline(Option<WaitSeconds>), Query, description = "Seconds to wait for a final status, a whole non-negative number; values above the configured `max_wait_seconds` (default 60) are reduced to it. Omitted or 0: answer at once.", example = 60),
    ),
    responses(
        (status = 200, description = "The payment (final, or still `pending` when the wait ran out).", content_type = "application/json", body = PaymentView),
        (status = 400, description = "`invalid_wait`: `wait` is not a whole non-negative number; `invalid_query`: the query string cannot be read. Other parameters are ignored.", content_type = "application/json", body = ErrorBody),
        (status = 401, description = "No valid key (`unauthorized`).", content_type = "application/json", body = ErrorBody),
        (status = 404, description = "No such payment for this key (`not_found`): unknown or malformed id, or another register's payment.", content_type = "application/json", body = ErrorBody),
        (status = 500, description = "qrpayd could not complete the request (`internal_error`); retry.", content_type = "application/json", body = ErrorBody),
    )
)]
pub(super) async fn get(
    State(state): State<AppState>,
    viewer: Viewer,
    id: Result<Path<String>, PathRejection>,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Response, ApiError> {
    let id = payment_id(id)?;
    let Query(query) = query.map_err(|e| ApiError::new(ErrorCode::InvalidQuery, e.body_text()))?;
    let wait = wait_param(&query, state.max_wait)?;
    let payment = state
        .payments
        .wait_final(viewer.register_id(), &id, wait)
        .await?;
    Ok(Json(render(&state, &payment).await?).into_response())
}

/// `POST /v1/payments/{id}/cancel`.
#[utoipa::path(
    post,
    path = "/v1/payments/{id}/cancel",
    operation_id = "cancelPayment",
    tag = "payments",
    summary = "Cancel a payment (the cashier aborts)",
    description = include_str!("doc/cancelPayment.md"),
    security(("registerKey" = [])),
    params(
        ("id" = String, Path, description = "The payment's `id`. An id that is malformed, unknown, or belongs to another register (for a register's key) answers `404 not_found`.", example = "pay_0190a1b2c3d47e5f8a6b7c8d9e0f1a2b"),
    ),
    responses(
        (status = 200, description = "The payment, `cancelled`: the QR is deactivated and the bank confirmed nothing was paid.", content_type = "application/json", body = PaymentView),
        (status = 401, description = "No valid key (`unauthorized`).", content_type = "application/json", body = ErrorBody),
        (status = 403, description = "`admin_read_only`: the admin key reads payments, refunds and events only; use a register's key.", content_type = "application/json", body = ErrorBody),
        (status = 404, description = "No such payment for this key (`not_found`): unknown or malformed id, or another register's payment.", content_type = "application/json", body = ErrorBody),
        (status = 409, description = "Not cancelled: `already_paid` (the customer paid; `payment` is the paid payment: complete the sale or refund it with `POST /v1/payments/{id}/refunds`), `payment_not_cancellable` (already `failed` or `expired`), `payment_not_ready` (the QR is still being issued; retry).", content_type = "application/json", body = ErrorBody),
        (status = 500, description = "qrpayd could not complete the request (`internal_error`); retry.", content_type = "application/json", body = ErrorBody),
        (status = 502, description = "The bank has not confirmed the cancellation yet (`bank_unavailable`, `bank_rejected`, `bank_protocol_error`; also `bank_unavailable` while the customer is paying right now). The cancellation is recorded and continues in the background; `payment` is the payment, still `pending`. Poll it for the outcome.", content_type = "application/json", body = ErrorBody),
        (status = 504, description = "`bank_timeout`: the bank did not answer in time. The cancellation is recorded and continues in the background; `payment` is the payment, still `pending`. Poll it for the outcome.", content_type = "application/json", body = ErrorBody),
    )
)]
pub(super) async fn cancel(
    State(state): State<AppState>,
    register: Register,
    id: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let id = payment_id(id)?;
    match state.payments.cancel(&register.id, &id).await {
        Ok(payment) => Ok(Json(render(&state, &payment).await?).into_response()),
        Err(e) => Err(enrich(&state, e.into()).await),
    }
}

/// Longest page of `GET /v1/payments`.
const MAX_LIST: i64 = 500;

fn parse_time(name: &str, text: &str) -> Result<chrono::DateTime<chrono::Utc>, ApiError> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(text) {
        return Ok(t.with_timezone(&chrono::Utc));
    }
    // A plain date means its start in Moscow time, the store's day.
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .map(qrpayd_domain::moscow::start_of)
        .ok_or_else(|| {
            ApiError::new(
                ErrorCode::InvalidQuery,
                format!("`{name}` must be an RFC 3339 time or a YYYY-MM-DD date (Moscow time)"),
            )
        })
}

/// `GET /v1/payments?order=…&status=…&late=…&from=…&to=…&limit=…[&register=…]`: find payments,
/// newest first. A register sees its own; the admin key sees all and may filter by register.
#[utoipa::path(
    get,
    path = "/v1/payments",
    operation_id = "listPayments",
    tag = "payments",
    summary = "List payments",
    description = include_str!("doc/listPayments.md"),
    security(("registerKey" = []), ("adminKey" = [])),
    params(
        ("order" = Option<String>, Query, description = "Only payments whose `order` (the register's sale receipt reference) is exactly this.", example = "sale-0042/17"),
        ("status" = Option<ApiStatus>, Query, description = "Only payments in this status. `pending` matches payments whose QR is shown and waiting for the customer (not those whose QR is still being issued or that are being closed, although they also read as `pending`)."),
        ("late" = inline(Option<TrueFalse>), Query, description = "`true`: only late payments (see `late`, `late_action`); `false`: only the others."),
        ("from" = inline(Option<Moment>), Query, description = "Only payments created at or after this time: RFC 3339 (`2025-03-14T09:00:00Z`, `2025-03-14T12:00:00+03:00`) or a date `YYYY-MM-DD`, meaning the start of that day in Moscow time.", example = "2025-03-14"),
        ("to" = inline(Option<Moment>), Query, description = "Only payments created **before** this time (exclusive), in the same formats as `from`: `from=2025-03-14&to=2025-03-15` is the whole of 14 March, Moscow time.", example = "2025-03-15"),
        ("limit" = Option<u64>, Query, description = "At most this many payments (the newest), 1 to 500.", minimum = 1, maximum = 500),
        ("register" = Option<String>, Query, description = "Admin key: only this register's payments (its `id` in `[[registers]]`). A register may name only itself; another register answers `403 forbidden`.", example = "pos-1", pattern = "^[A-Za-z0-9_.-]{1,64}$"),
    ),
    responses(
        (status = 200, description = "The matching payments, newest first.", content_type = "application/json", body = PaymentList),
        (status = 400, description = "`invalid_query`: an unknown parameter, or a bad value of `status`, `late`, `from`, `to`, `limit` or `register`.", content_type = "application/json", body = ErrorBody),
        (status = 401, description = "No valid key (`unauthorized`).", content_type = "application/json", body = ErrorBody),
        (status = 403, description = "`forbidden`: a register asked for another register's payments.", content_type = "application/json", body = ErrorBody),
        (status = 500, description = "qrpayd could not complete the request (`internal_error`); retry.", content_type = "application/json", body = ErrorBody),
    )
)]
pub(super) async fn list(
    State(state): State<AppState>,
    viewer: Viewer,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(query) = query.map_err(|e| ApiError::new(ErrorCode::InvalidQuery, e.body_text()))?;
    let known = ["order", "status", "late", "from", "to", "limit", "register"];
    if let Some(unknown) = query.keys().find(|k| !known.contains(&k.as_str())) {
        return Err(ApiError::new(
            ErrorCode::InvalidQuery,
            format!("unknown parameter `{unknown}`; use: {}", known.join(", ")),
        ));
    }
    let register = match (&viewer, query.get("register")) {
        (Viewer::Register(r), None) => Some(r.id.clone()),
        (Viewer::Register(r), Some(asked)) if asked == r.id.as_str() => Some(r.id.clone()),
        (Viewer::Register(_), Some(_)) => {
            return Err(ApiError::new(
                ErrorCode::Forbidden,
                "a register can list only its own payments",
            ));
        }
        (Viewer::Admin, asked) => asked
            .map(|r| RegisterId::parse(r))
            .transpose()
            .map_err(|e| ApiError::new(ErrorCode::InvalidQuery, e.to_string()))?,
    };
    let status = query
        .get("status")
        .map(|s| {
            ["pending", "paid", "failed", "expired", "cancelled"]
                .contains(&s.as_str())
                .then_some(s.as_str())
                .and_then(|s| match s {
                    // `pending` covers three internal states; list them by the main one.
                    "pending" => Some(PaymentState::Pending),
                    other => PaymentState::from_db_str(other),
                })
                .ok_or_else(|| {
                    ApiError::new(
                        ErrorCode::InvalidQuery,
                        "`status` must be one of pending, paid, failed, expired, cancelled",
                    )
                })
        })
        .transpose()?;
    let late = match query.get("late").map(String::as_str) {
        None => None,
        Some("true") => Some(true),
        Some("false") => Some(false),
        Some(_) => {
            return Err(ApiError::new(
                ErrorCode::InvalidQuery,
                "`late` must be true or false",
            ));
        }
    };
    let limit = match query.get("limit") {
        None => 50,
        Some(text) => text
            .parse::<i64>()
            .ok()
            .filter(|n| (1..=MAX_LIST).contains(n))
            .ok_or_else(|| {
                ApiError::new(
                    ErrorCode::InvalidQuery,
                    format!("`limit` must be 1..{MAX_LIST}"),
                )
            })?,
    };
    let filter = PaymentFilter {
        register,
        order: query.get("order").cloned(),
        status,
        late,
        from: query
            .get("from")
            .map(|t| parse_time("from", t))
            .transpose()?,
        to: query.get("to").map(|t| parse_time("to", t)).transpose()?,
        limit,
    };
    let payments = state
        .payments
        .list(&filter)
        .await
        .map_err(|e| ApiError::internal(&e))?;
    let mut items = Vec::with_capacity(payments.len());
    for p in &payments {
        items.push(render(&state, p).await?);
    }
    Ok(Json(PaymentList { payments: items }).into_response())
}
