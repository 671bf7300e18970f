//! The store admin's read-only journal endpoints (`/v1/admin/…`, admin key only), which the
//! `/admin` page calls, and the page itself (no key in it: the page takes the key from the
//! user or the URL fragment and sends it as `Authorization: Bearer`). The JSON shapes are
//! `crate::journal`'s, shared with `qrpayd payments list|show`.

use std::collections::HashMap;

use axum::Json;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use qrpayd_domain::ids::RegisterId;
use serde::Serialize;
use utoipa::ToSchema;

use super::ErrorCode;
use super::contract::*;
use super::payments::payment_id;
use super::{Admin, ApiError, AppState};
use crate::journal;

fn query_of(
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
    allowed: &[&str],
) -> Result<HashMap<String, String>, ApiError> {
    let Query(query) = query.map_err(|e| ApiError::new(ErrorCode::InvalidQuery, e.body_text()))?;
    if let Some(unknown) = query.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(ApiError::new(
            ErrorCode::InvalidQuery,
            format!("unknown parameter `{unknown}`; use: {}", allowed.join(", ")),
        ));
    }
    Ok(query)
}

/// `GET /v1/admin/search`: the payments of a sale receipt.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = AdminSearch)]
pub(super) struct SearchAnswer {
    /// Newest first, at most 100.
    payments: Vec<journal::PaymentRow>,
}

/// `GET /v1/admin/reconciliation`: the last run.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = AdminLastReconciliation)]
pub(super) struct ReconciliationAnswer {
    /// `null` when none ran.
    #[schema(required = true)]
    last: Option<journal::Reconciliation>,
}

/// Today in Moscow (UTC+3, no daylight saving) by the business clock.
fn today(state: &AppState) -> NaiveDate {
    qrpayd_domain::moscow::date(state.clock.now())
}

/// `GET /v1/admin/day?date=YYYY-MM-DD&register=…&order=…`: a Moscow day's payments by register
/// and provider with totals (default: today).
#[utoipa::path(
    get,
    path = "/v1/admin/day",
    operation_id = "adminDay",
    tag = "admin",
    summary = "A day's payments by register and provider",
    description = include_str!("doc/adminDay.md"),
    security(("adminKey" = [])),
    params(
        ("date" = Option<String>, Query, description = "The Moscow day, `YYYY-MM-DD` (default: today).", format = Date),
        ("register" = Option<String>, Query, description = "Only this register's payments (its `id`: 1 to 64 letters, digits, `_`, `-`, `.`).", pattern = "^[A-Za-z0-9_.-]{1,64}$"),
        ("order" = Option<String>, Query, description = "Only payments of this sale receipt."),
    ),
    responses(
        (status = 200, description = "The answer.", content_type = "application/json", body = journal::Day),
        (status = 401, description = "No valid key (`unauthorized`).", content_type = "application/json", body = ErrorBody),
        (status = 403, description = "`admin_only`: a register's key; these endpoints need the admin key.", content_type = "application/json", body = ErrorBody),
        (status = 500, description = "qrpayd could not complete the request (`internal_error`); retry.", content_type = "application/json", body = ErrorBody),
        (status = 400, description = "`invalid_query`: an unknown parameter or a bad value.", content_type = "application/json", body = ErrorBody),
    )
)]
pub(super) async fn day(
    State(state): State<AppState>,
    _admin: Admin,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Response, ApiError> {
    let query = query_of(query, &["date", "register", "order"])?;
    let date = match query.get("date") {
        Some(text) => NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .map_err(|_| ApiError::new(ErrorCode::InvalidQuery, "`date` must be YYYY-MM-DD"))?,
        None => today(&state),
    };
    let register = query
        .get("register")
        .map(|r| RegisterId::parse(r))
        .transpose()
        .map_err(|_| ApiError::new(ErrorCode::InvalidQuery, "`register` is not a register id"))?;
    let order = query.get("order").cloned();
    let day = journal::day(state.payments.store(), date, register, order)
        .await
        .map_err(|e| ApiError::internal(&e))?;
    Ok(Json(day).into_response())
}

/// `GET /v1/admin/search?order=…`: payments with this sale receipt, any day.
#[utoipa::path(
    get,
    path = "/v1/admin/search",
    operation_id = "adminSearch",
    tag = "admin",
    summary = "Find payments by sale receipt",
    description = include_str!("doc/adminSearch.md"),
    security(("adminKey" = [])),
    params(
        ("order" = String, Query, description = "The sale receipt id (not blank; leading and trailing spaces are ignored).", pattern = "\\S"),
    ),
    responses(
        (status = 200, description = "The answer.", content_type = "application/json", body = SearchAnswer),
        (status = 401, description = "No valid key (`unauthorized`).", content_type = "application/json", body = ErrorBody),
        (status = 403, description = "`admin_only`: a register's key; these endpoints need the admin key.", content_type = "application/json", body = ErrorBody),
        (status = 500, description = "qrpayd could not complete the request (`internal_error`); retry.", content_type = "application/json", body = ErrorBody),
        (status = 400, description = "`invalid_query`: an unknown parameter or a bad value.", content_type = "application/json", body = ErrorBody),
    )
)]
pub(super) async fn search(
    State(state): State<AppState>,
    _admin: Admin,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Response, ApiError> {
    let query = query_of(query, &["order"])?;
    let order = query
        .get("order")
        .filter(|o| !o.trim().is_empty())
        .ok_or_else(|| ApiError::new(ErrorCode::InvalidQuery, "give the receipt as `order`"))?;
    let found = journal::by_order(state.payments.store(), order.trim())
        .await
        .map_err(|e| ApiError::internal(&e))?;
    Ok(Json(SearchAnswer { payments: found }).into_response())
}

/// `GET /v1/admin/payments/{id}`: a payment with every state change, bank answer and refund.
#[utoipa::path(
    get,
    path = "/v1/admin/payments/{id}",
    operation_id = "adminPayment",
    tag = "admin",
    summary = "A payment's full history",
    description = include_str!("doc/adminPayment.md"),
    security(("adminKey" = [])),
    params(
        ("id" = String, Path, description = "The payment id."),
    ),
    responses(
        (status = 200, description = "The answer.", content_type = "application/json", body = journal::PaymentDetail),
        (status = 401, description = "No valid key (`unauthorized`).", content_type = "application/json", body = ErrorBody),
        (status = 403, description = "`admin_only`: a register's key; these endpoints need the admin key.", content_type = "application/json", body = ErrorBody),
        (status = 500, description = "qrpayd could not complete the request (`internal_error`); retry.", content_type = "application/json", body = ErrorBody),
        (status = 404, description = "No such payment for this key (`not_found`): unknown or malformed id, or another register's payment.", content_type = "application/json", body = ErrorBody),
    )
)]
pub(super) async fn payment(
    State(state): State<AppState>,
    _admin: Admin,
    id: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let id = payment_id(id)?;
    match journal::payment(state.payments.store(), &id)
        .await
        .map_err(|e| ApiError::internal(&e))?
    {
        Some(detail) => Ok(Json(detail).into_response()),
        None => Err(ApiError::not_found()),
    }
}

/// `GET /v1/admin/attention`: late payments and failed refunds.
#[utoipa::path(
    get,
    path = "/v1/admin/attention",
    operation_id = "adminAttention",
    tag = "admin",
    summary = "What a person must look at",
    description = include_str!("doc/adminAttention.md"),
    security(("adminKey" = [])),
    responses(
        (status = 200, description = "The answer.", content_type = "application/json", body = journal::Attention),
        (status = 401, description = "No valid key (`unauthorized`).", content_type = "application/json", body = ErrorBody),
        (status = 403, description = "`admin_only`: a register's key; these endpoints need the admin key.", content_type = "application/json", body = ErrorBody),
        (status = 500, description = "qrpayd could not complete the request (`internal_error`); retry.", content_type = "application/json", body = ErrorBody),
    )
)]
pub(super) async fn attention(
    State(state): State<AppState>,
    _admin: Admin,
) -> Result<Response, ApiError> {
    let attention = journal::attention(state.payments.store())
        .await
        .map_err(|e| ApiError::internal(&e))?;
    Ok(Json(attention).into_response())
}

/// `GET /v1/admin/reconciliation`: the last reconciliation run (`null` when none ran).
#[utoipa::path(
    get,
    path = "/v1/admin/reconciliation",
    operation_id = "adminReconciliation",
    tag = "admin",
    summary = "The last reconciliation's differences",
    description = include_str!("doc/adminReconciliation.md"),
    security(("adminKey" = [])),
    responses(
        (status = 200, description = "The answer.", content_type = "application/json", body = ReconciliationAnswer),
        (status = 401, description = "No valid key (`unauthorized`).", content_type = "application/json", body = ErrorBody),
        (status = 403, description = "`admin_only`: a register's key; these endpoints need the admin key.", content_type = "application/json", body = ErrorBody),
        (status = 500, description = "qrpayd could not complete the request (`internal_error`); retry.", content_type = "application/json", body = ErrorBody),
    )
)]
pub(super) async fn reconciliation(
    State(state): State<AppState>,
    _admin: Admin,
) -> Result<Response, ApiError> {
    let last = journal::last_reconciliation(state.payments.store())
        .await
        .map_err(|e| ApiError::internal(&e))?;
    Ok(Json(ReconciliationAnswer { last }).into_response())
}
