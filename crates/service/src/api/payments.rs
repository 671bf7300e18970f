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
use qrpayd_domain::ids::{IdempotencyKey, OrderRef, PaymentId, ProviderName};
use qrpayd_domain::money::{Currency, Kopecks};
use serde_json::{Map, Value};

use super::view::payment_json;
use super::{ApiError, AppState, MAX_BODY_BYTES, Register};
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

fn json_object(body: &[u8]) -> Result<Map<String, Value>, ApiError> {
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

fn optional_string<'a>(
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
const CREATE_FIELDS: [&str; 5] = ["amount", "currency", "provider", "order", "description"];

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
    let provider = match optional_string(&map, "provider")? {
        Some(name) => {
            let name = ProviderName::parse(name)
                .ok()
                .filter(|n| state.payments.provider(n.as_str()).is_some());
            name.ok_or_else(|| {
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
            })?
        }
        None => register
            .provider
            .clone()
            .or_else(|| state.only_provider.clone())
            .ok_or_else(|| {
                ApiError::unprocessable(
                    "provider_required",
                    "name the `provider` (payment module): several are configured",
                )
            })?,
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
    Ok(CreatePayment {
        amount,
        currency,
        provider,
        order,
        description,
    })
}

fn idempotency_key(headers: &HeaderMap) -> Result<IdempotencyKey, ApiError> {
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
fn payment_id(path: Result<Path<String>, PathRejection>) -> Result<PaymentId, ApiError> {
    let Path(text) = path.map_err(|_| ApiError::not_found())?;
    PaymentId::parse(&text).map_err(|_| ApiError::not_found())
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
    let created = state.payments.create(&register.id, key, request).await?;
    let mut response = (StatusCode::CREATED, Json(payment_json(&created.payment))).into_response();
    if created.replayed {
        response
            .headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    Ok(response)
}

/// `GET /v1/payments/{id}[?wait=N]`.
pub(super) async fn get(
    State(state): State<AppState>,
    register: Register,
    id: Result<Path<String>, PathRejection>,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Response, ApiError> {
    let id = payment_id(id)?;
    let Query(query) = query.map_err(|e| ApiError::bad_request("invalid_query", e.body_text()))?;
    let wait = match query.get("wait") {
        None => Duration::ZERO,
        Some(text) => {
            let seconds: u64 = text.parse().map_err(|_| {
                ApiError::bad_request("invalid_wait", "`wait` must be a whole number of seconds")
            })?;
            Duration::from_secs(seconds).min(state.max_wait)
        }
    };
    let payment = state.payments.wait_final(&register.id, &id, wait).await?;
    Ok(Json(payment_json(&payment)).into_response())
}

/// `POST /v1/payments/{id}/cancel`.
pub(super) async fn cancel(
    State(state): State<AppState>,
    register: Register,
    id: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let id = payment_id(id)?;
    let payment = state.payments.cancel(&register.id, &id).await?;
    Ok(Json(payment_json(&payment)).into_response())
}
