//! Refund handlers: `POST /v1/payments/{id}/refunds` and `GET /v1/refunds/{id}`.

use std::collections::HashMap;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use qrpayd_domain::ids::RefundId;
use qrpayd_domain::money::Kopecks;
use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::contract::{ErrorBody, RefundView, WaitSeconds};
use super::payments::{
    body_error, enrich, idempotency_key, json_object, optional_string, payment_id, typed,
    wait_param,
};
use super::view::refund_view;
use super::{ApiError, AppState, ErrorCode, Register, Viewer};
use crate::payments::CreateRefund;

/// Longest refund reason.
const MAX_REASON_CHARS: usize = 140;

/// A new refund. Other fields are refused (`unknown_field`). The payment must be `paid`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({"amount": 5000}), json!({"amount": 5000, "reason": "return receipt 0042-R1"})))]
pub(super) struct CreateRefundRequest {
    /// Kopecks to give back: 5000 for 50.00 RUB; a positive whole number (`invalid_amount`),
    /// at most 10^15. At most what is left to refund: the paid amount minus every refund that
    /// has not failed, counting refunds still `pending` (`refund_exceeds_remaining`).
    #[schema(value_type = i64, format = Int64, minimum = 1, maximum = 1_000_000_000_000_000_i64, examples(5000))]
    amount: Kopecks,
    /// Optional free text (the return receipt, the cashier's note): at most 140 characters,
    /// no control characters (`invalid_reason`). Sent to the bank as the refund's details.
    #[schema(
        max_length = 140,
        pattern = "^[^\\x00-\\x1f\\x7f-\\x9f]*$",
        examples("return receipt 0042-R1")
    )]
    reason: Option<String>,
}

fn parse_refund(body: &[u8]) -> Result<CreateRefund, ApiError> {
    let mut map = json_object(body)?;
    if let Some(unknown) = map
        .keys()
        .find(|k| !["amount", "reason"].contains(&k.as_str()))
    {
        return Err(ApiError::new(
            ErrorCode::UnknownField,
            format!("unknown field `{unknown}`; a refund takes: amount, reason"),
        ));
    }
    let invalid = |m: &str| ApiError::new(ErrorCode::InvalidAmount, m.to_owned());
    let amount = match map.get("amount") {
        Some(Value::Number(n)) => n
            .as_i64()
            .filter(|k| *k > 0)
            .and_then(|k| Kopecks::new(k).ok())
            .ok_or_else(|| invalid("`amount` must be a positive whole number of kopecks"))?,
        _ => {
            return Err(invalid(
                "`amount` is required: kopecks to refund, e.g. 5000 for 50.00 RUB",
            ));
        }
    };
    map.insert("amount".to_owned(), Value::from(amount.get()));
    optional_string(&map, "reason")?;
    let request: CreateRefundRequest = typed(map)?;
    let reason = request.reason;
    if let Some(r) = &reason
        && (r.chars().count() > MAX_REASON_CHARS || r.chars().any(char::is_control))
    {
        return Err(ApiError::new(
            ErrorCode::InvalidReason,
            format!(
                "`reason` must be at most {MAX_REASON_CHARS} characters without control characters"
            ),
        ));
    }
    Ok(CreateRefund {
        amount: request.amount,
        reason,
    })
}

/// `POST /v1/payments/{id}/refunds`.
#[utoipa::path(
    post,
    path = "/v1/payments/{id}/refunds",
    operation_id = "createRefund",
    tag = "refunds",
    summary = "Refund (part of) a paid payment",
    description = include_str!("doc/createRefund.md"),
    security(("registerKey" = [])),
    params(
        ("id" = String, Path, description = "The payment's `id`. An id that is malformed, unknown, or belongs to another register (for a register's key) answers `404 not_found`.", example = "pay_0190a1b2c3d47e5f8a6b7c8d9e0f1a2b"),
        ("Idempotency-Key" = String, Header, description = "Unique per payment (or refund) attempt, resent unchanged on every retry of it; scoped per register, payment keys and refund keys separately. 1 to 255 printable ASCII characters without spaces.", min_length = 1, max_length = 255, pattern = "^[!-~]+$", example = "0f8fad5b-d9cb-469f-a165-70867728950e"),
    ),
    request_body(content = CreateRefundRequest, content_type = "application/json"),
    responses(
        (status = 201, description = "The refund, usually `pending` (the bank finishes it asynchronously; also `pending` when the bank did not answer in time), or `succeeded` if the bank completed it at once. Also the answer to a replay (same key and body), then with `Idempotent-Replayed: true` and the refund as it is now (it may be final, including `failed` if the bank declined it later).", content_type = "application/json", body = RefundView, headers(("Idempotent-Replayed" = String, description = "`true` when this answer repeats an earlier create (of a payment or a refund) with the same `Idempotency-Key` and body; absent on the first answer."))),
        (status = 400, description = "The request cannot be read: `invalid_body`, `invalid_json`, `idempotency_key_required`, `invalid_idempotency_key`.", content_type = "application/json", body = ErrorBody),
        (status = 401, description = "No valid key (`unauthorized`).", content_type = "application/json", body = ErrorBody),
        (status = 403, description = "`admin_read_only`: the admin key reads payments, refunds and events only; use a register's key.", content_type = "application/json", body = ErrorBody),
        (status = 404, description = "No such payment for this key (`not_found`): unknown or malformed id, or another register's payment.", content_type = "application/json", body = ErrorBody),
        (status = 409, description = "Not refunded: `payment_not_refundable` (the payment is not `paid`; `payment` is included) or `refund_exceeds_remaining` (more than what is left to refund, counting refunds still `pending`; `message` says what is left and `payment` is included with its refunds).", content_type = "application/json", body = ErrorBody),
        (status = 413, description = "`body_too_large`: the body is larger than 16 KiB.", content_type = "application/json", body = ErrorBody),
        (status = 422, description = "The request is readable but not acceptable: `unknown_field`, `invalid_amount`, `invalid_field` (`reason` not a string), `invalid_reason`, `idempotency_key_reused` (with the key's `refund`), `partial_refund_not_supported` (the payment's bank refunds only whole payments; `payment` is included).", content_type = "application/json", body = ErrorBody),
        (status = 500, description = "qrpayd could not complete the request (`internal_error`); retry.", content_type = "application/json", body = ErrorBody),
        (status = 502, description = "`bank_rejected`: the bank refused the refund outright (its code and text are in `message`). `refund` is the refund, now `failed`; nothing was refunded and the amount is free again. A retry with the same key gets the same answer; to try again, use a new key.", content_type = "application/json", body = ErrorBody),
    )
)]
pub(super) async fn create(
    State(state): State<AppState>,
    register: Register,
    id: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let payment = payment_id(id)?;
    let body = body.map_err(body_error)?;
    let key = idempotency_key(&headers)?;
    let request = parse_refund(&body)?;
    let (refund, replayed) = match state
        .payments
        .create_refund(&register.id, &payment, key, request)
        .await
    {
        Ok(done) => done,
        Err(e) => return Err(enrich(&state, e.into()).await),
    };
    let mut response = (StatusCode::CREATED, Json(refund_view(&refund))).into_response();
    if replayed {
        response
            .headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    Ok(response)
}

/// `GET /v1/refunds/{id}[?wait=N]`.
#[utoipa::path(
    get,
    path = "/v1/refunds/{id}",
    operation_id = "getRefund",
    tag = "refunds",
    summary = "Get a refund, optionally waiting for its outcome",
    description = include_str!("doc/getRefund.md"),
    security(("registerKey" = []), ("adminKey" = [])),
    params(
        ("id" = String, Path, description = "The refund's `id` (`rf_...`). An id that is malformed, unknown, or belongs to another register (for a register's key) answers `404 not_found`.", example = "rf_0190a1f0a8b27c3d9e4f5a6b7c8d9e0f"),
        ("wait" = inline(Option<WaitSeconds>), Query, description = "Seconds to wait for a final status, a whole non-negative number; values above the configured `max_wait_seconds` (default 60) are reduced to it. Omitted or 0: answer at once.", example = 60),
    ),
    responses(
        (status = 200, description = "The refund (final, or still `pending` when the wait ran out).", content_type = "application/json", body = RefundView),
        (status = 400, description = "`invalid_wait`: `wait` is not a whole non-negative number; `invalid_query`: the query string cannot be read. Other parameters are ignored.", content_type = "application/json", body = ErrorBody),
        (status = 401, description = "No valid key (`unauthorized`).", content_type = "application/json", body = ErrorBody),
        (status = 404, description = "No such refund for this key (`not_found`): unknown or malformed id, or another register's refund. (The message says \"payment\" for refunds too.)", content_type = "application/json", body = ErrorBody),
        (status = 500, description = "qrpayd could not complete the request (`internal_error`); retry.", content_type = "application/json", body = ErrorBody),
    )
)]
pub(super) async fn get(
    State(state): State<AppState>,
    viewer: Viewer,
    id: Result<Path<String>, PathRejection>,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Response, ApiError> {
    let no_such = || ApiError::new(ErrorCode::NotFound, "no such refund");
    let Path(text) = id.map_err(|_| no_such())?;
    let id = RefundId::parse(&text).map_err(|_| no_such())?;
    let Query(query) = query.map_err(|e| ApiError::new(ErrorCode::InvalidQuery, e.body_text()))?;
    let wait = wait_param(&query, state.max_wait)?;
    let refund = state
        .payments
        .wait_refund_final(viewer.register_id(), &id, wait)
        .await
        .map_err(|e| match e {
            crate::payments::RefundError::NotFound => no_such(),
            other => other.into(),
        })?;
    Ok(Json(refund_view(&refund)).into_response())
}
