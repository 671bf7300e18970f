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
use qrpayd_domain::ids::{IdempotencyKey, OrderRef, PaymentId, ProviderName, RegisterId};
use qrpayd_domain::money::{Currency, Kopecks};
use qrpayd_domain::payment::{PaymentState, QrType};
use qrpayd_store::{Payment, PaymentFilter};
use serde_json::{Map, Value};

use super::view::payment_json;
use super::{ApiError, AppState, MAX_BODY_BYTES, Register, Viewer};
use crate::payments::CreatePayment;

/// Longest payment purpose (Raiffeisen `paymentDetails` allows 185; keep room).
const MAX_DESCRIPTION_CHARS: usize = 140;

pub(super) fn body_error(rejection: BytesRejection) -> ApiError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            format!("the request body is larger than {MAX_BODY_BYTES} bytes"),
        )
    } else {
        ApiError::bad_request(
            "invalid_body",
            format!("cannot read the request body: {rejection}"),
        )
    }
}

pub(super) fn json_object(body: &[u8]) -> Result<Map<String, Value>, ApiError> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(ApiError::bad_request(
            "invalid_json",
            "the body must be a JSON object",
        )),
        Err(e) => Err(ApiError::bad_request(
            "invalid_json",
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
        Some(_) => Err(ApiError::unprocessable(
            "invalid_field",
            format!("`{field}` must be a string"),
        )),
    }
}

fn parse_amount(map: &Map<String, Value>, max: Kopecks) -> Result<Kopecks, ApiError> {
    let invalid = |m: &str| ApiError::unprocessable("invalid_amount", m.to_owned());
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
            return Err(ApiError::unprocessable(
                "amount_too_large",
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
        return Err(ApiError::unprocessable(
            "amount_too_large",
            format!(
                "`amount` {kopecks} is above the limit of {} kopecks ({} RUB)",
                max.get(),
                max.to_rubles_fixed()
            ),
        ));
    }
    Kopecks::new(kopecks).map_err(|e| invalid(&e.to_string()))
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

fn parse_create(
    state: &AppState,
    register: &Register,
    body: &[u8],
) -> Result<CreatePayment, ApiError> {
    let map = json_object(body)?;
    if let Some(unknown) = map.keys().find(|k| !CREATE_FIELDS.contains(&k.as_str())) {
        return Err(ApiError::unprocessable(
            "unknown_field",
            format!(
                "unknown field `{unknown}`; a payment takes: {}",
                CREATE_FIELDS.join(", ")
            ),
        ));
    }
    let amount = parse_amount(&map, state.max_amount)?;
    let currency = match optional_string(&map, "currency")? {
        None => Currency::Rub,
        Some(code) => Currency::parse(code).ok_or_else(|| {
            ApiError::unprocessable(
                "unsupported_currency",
                format!("currency {code:?} is not supported; SBP pays in \"RUB\""),
            )
        })?,
    };
    // A provider named in the request is exactly that provider; otherwise the register's list,
    // first available first, the rest to fall over to.
    let (provider, fallback) = match optional_string(&map, "provider")? {
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
                ApiError::unprocessable(
                    "unknown_provider",
                    format!("unknown provider; configured: {}", known.join(", ")),
                )
            })?;
            (name, Vec::new())
        }
        None => match register.providers.split_first() {
            Some((first, rest)) => (first.clone(), rest.to_vec()),
            None => {
                return Err(ApiError::unprocessable(
                    "provider_required",
                    "name the `provider` (payment module): several are configured",
                ));
            }
        },
    };
    let order = optional_string(&map, "order")?
        .map(|o| {
            OrderRef::parse(o).map_err(|e| ApiError::unprocessable("invalid_order", e.to_string()))
        })
        .transpose()?;
    let description = optional_string(&map, "description")?.map(str::to_owned);
    if let Some(d) = &description
        && (d.chars().count() > MAX_DESCRIPTION_CHARS || d.chars().any(char::is_control))
    {
        return Err(ApiError::unprocessable(
            "invalid_description",
            format!(
                "`description` must be at most {MAX_DESCRIPTION_CHARS} characters without control characters"
            ),
        ));
    }
    let qr_type = match optional_string(&map, "qr_type")? {
        None => register.qr_type,
        Some(text) => QrType::parse(text).ok_or_else(|| {
            ApiError::unprocessable(
                "invalid_qr_type",
                "`qr_type` must be \"dynamic\", \"cash_register\" or \"customer\"",
            )
        })?,
    };
    let customer_qr = optional_string(&map, "customer_qr")?.map(str::to_owned);
    match (qr_type, &customer_qr) {
        (QrType::Customer, None) => {
            return Err(ApiError::unprocessable(
                "customer_qr_required",
                "`qr_type` \"customer\" needs `customer_qr`: the text the register's scanner read from the customer's QR",
            ));
        }
        (QrType::Customer, Some(text))
            if text.is_empty() || text.len() > 2048 || text.chars().any(char::is_control) =>
        {
            return Err(ApiError::unprocessable(
                "invalid_customer_qr",
                "`customer_qr` must be the scanned text (1 to 2048 characters, no control characters)",
            ));
        }
        (QrType::Dynamic | QrType::CashRegister, Some(_)) => {
            return Err(ApiError::unprocessable(
                "invalid_field",
                "`customer_qr` goes only with `qr_type` \"customer\"",
            ));
        }
        _ => {}
    }
    Ok(CreatePayment {
        amount,
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
        ApiError::bad_request(
            "idempotency_key_required",
            "send an `Idempotency-Key` header (unique per payment attempt, reused on retries)",
        )
    })?;
    let text = header.to_str().map_err(|_| {
        ApiError::bad_request(
            "invalid_idempotency_key",
            "`Idempotency-Key` must be printable ASCII",
        )
    })?;
    IdempotencyKey::parse(text)
        .map_err(|e| ApiError::bad_request("invalid_idempotency_key", e.to_string()))
}

/// An id from the path; anything that is not a well-formed id is simply not found.
pub(super) fn payment_id(path: Result<Path<String>, PathRejection>) -> Result<PaymentId, ApiError> {
    let Path(text) = path.map_err(|_| ApiError::not_found())?;
    PaymentId::parse(&text).map_err(|_| ApiError::not_found())
}

/// The payment with its refunds, as JSON.
pub(super) async fn render(state: &AppState, payment: &Payment) -> Result<Value, ApiError> {
    // Only a paid payment can have refunds: the others need no second query (most reads are
    // of pending payments, by registers waiting for them).
    if payment.state != PaymentState::Paid && payment.paid_at.is_none() {
        return Ok(payment_json(payment, &[]));
    }
    let refunds = state
        .payments
        .refunds_of(&payment.id)
        .await
        .map_err(|e| ApiError::internal(&e))?;
    Ok(payment_json(payment, &refunds))
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
            let seconds: u64 = text.parse().map_err(|_| {
                ApiError::bad_request("invalid_wait", "`wait` must be a whole number of seconds")
            })?;
            Ok(Duration::from_secs(seconds).min(max))
        }
    }
}

/// `GET /v1/payments/{id}[?wait=N]`.
pub(super) async fn get(
    State(state): State<AppState>,
    viewer: Viewer,
    id: Result<Path<String>, PathRejection>,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Response, ApiError> {
    let id = payment_id(id)?;
    let Query(query) = query.map_err(|e| ApiError::bad_request("invalid_query", e.body_text()))?;
    let wait = wait_param(&query, state.max_wait)?;
    let payment = state
        .payments
        .wait_final(viewer.register_id(), &id, wait)
        .await?;
    Ok(Json(render(&state, &payment).await?).into_response())
}

/// `POST /v1/payments/{id}/cancel`.
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
            ApiError::bad_request(
                "invalid_query",
                format!("`{name}` must be an RFC 3339 time or a YYYY-MM-DD date (Moscow time)"),
            )
        })
}

/// `GET /v1/payments?order=…&status=…&late=…&from=…&to=…&limit=…[&register=…]`: find payments,
/// newest first. A register sees its own; the admin key sees all and may filter by register.
pub(super) async fn list(
    State(state): State<AppState>,
    viewer: Viewer,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(query) = query.map_err(|e| ApiError::bad_request("invalid_query", e.body_text()))?;
    let known = ["order", "status", "late", "from", "to", "limit", "register"];
    if let Some(unknown) = query.keys().find(|k| !known.contains(&k.as_str())) {
        return Err(ApiError::bad_request(
            "invalid_query",
            format!("unknown parameter `{unknown}`; use: {}", known.join(", ")),
        ));
    }
    let register = match (&viewer, query.get("register")) {
        (Viewer::Register(r), None) => Some(r.id.clone()),
        (Viewer::Register(r), Some(asked)) if asked == r.id.as_str() => Some(r.id.clone()),
        (Viewer::Register(_), Some(_)) => {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                "a register can list only its own payments",
            ));
        }
        (Viewer::Admin, asked) => asked
            .map(|r| RegisterId::parse(r))
            .transpose()
            .map_err(|e| ApiError::bad_request("invalid_query", e.to_string()))?,
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
                    ApiError::bad_request(
                        "invalid_query",
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
            return Err(ApiError::bad_request(
                "invalid_query",
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
                ApiError::bad_request("invalid_query", format!("`limit` must be 1..{MAX_LIST}"))
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
    Ok(Json(serde_json::json!({ "payments": items })).into_response())
}
