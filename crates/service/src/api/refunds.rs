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
use serde_json::Value;

use super::payments::{
    body_error, enrich, idempotency_key, json_object, optional_string, payment_id, wait_param,
};
use super::view::refund_json;
use super::{ApiError, AppState, Register, Viewer};
use crate::payments::CreateRefund;

/// Longest refund reason.
const MAX_REASON_CHARS: usize = 140;

fn parse_refund(body: &[u8]) -> Result<CreateRefund, ApiError> {
    let map = json_object(body)?;
    if let Some(unknown) = map
        .keys()
        .find(|k| !["amount", "reason"].contains(&k.as_str()))
    {
        return Err(ApiError::unprocessable(
            "unknown_field",
            format!("unknown field `{unknown}`; a refund takes: amount, reason"),
        ));
    }
    let invalid = |m: &str| ApiError::unprocessable("invalid_amount", m.to_owned());
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
    let reason = optional_string(&map, "reason")?.map(str::to_owned);
    if let Some(r) = &reason
        && (r.chars().count() > MAX_REASON_CHARS || r.chars().any(char::is_control))
    {
        return Err(ApiError::unprocessable(
            "invalid_reason",
            format!(
                "`reason` must be at most {MAX_REASON_CHARS} characters without control characters"
            ),
        ));
    }
    Ok(CreateRefund { amount, reason })
}

/// `POST /v1/payments/{id}/refunds`.
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
    let mut response = (StatusCode::CREATED, Json(refund_json(&refund))).into_response();
    if replayed {
        response
            .headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    Ok(response)
}

/// `GET /v1/refunds/{id}[?wait=N]`.
pub(super) async fn get(
    State(state): State<AppState>,
    viewer: Viewer,
    id: Result<Path<String>, PathRejection>,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Response, ApiError> {
    let no_such = || ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such refund");
    let Path(text) = id.map_err(|_| no_such())?;
    let id = RefundId::parse(&text).map_err(|_| no_such())?;
    let Query(query) = query.map_err(|e| ApiError::bad_request("invalid_query", e.body_text()))?;
    let wait = wait_param(&query, state.max_wait)?;
    let refund = state
        .payments
        .wait_refund_final(viewer.register_id(), &id, wait)
        .await
        .map_err(|e| match e {
            crate::payments::RefundError::NotFound => no_such(),
            other => other.into(),
        })?;
    Ok(Json(refund_json(&refund)).into_response())
}
