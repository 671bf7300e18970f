//! `GET /v1/events?after=<seq>&wait=N&limit=N`: the event feed as a long-poll.

use std::collections::HashMap;

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::payments::wait_param;
use super::{ApiError, AppState, Viewer};

/// `GET /v1/events`.
pub(super) async fn feed(
    State(state): State<AppState>,
    viewer: Viewer,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(query) = query.map_err(|e| ApiError::bad_request("invalid_query", e.body_text()))?;
    if let Some(unknown) = query
        .keys()
        .find(|k| !["after", "wait", "limit"].contains(&k.as_str()))
    {
        return Err(ApiError::bad_request(
            "invalid_query",
            format!("unknown parameter `{unknown}`; use: after, wait, limit"),
        ));
    }
    let after = match query.get("after") {
        None => 0,
        Some(text) => text
            .parse::<i64>()
            .ok()
            .filter(|n| *n >= 0)
            .ok_or_else(|| {
                ApiError::bad_request(
                    "invalid_query",
                    "`after` must be the `next` cursor of a previous answer (0 or more)",
                )
            })?,
    };
    let limit = match query.get("limit") {
        None => 100,
        Some(text) => text
            .parse::<i64>()
            .ok()
            .filter(|n| (1..=1000).contains(n))
            .ok_or_else(|| ApiError::bad_request("invalid_query", "`limit` must be 1..1000"))?,
    };
    let wait = wait_param(&query, state.max_wait)?;
    let store = state.payments.store();
    let (events, next) = crate::events::feed(
        store,
        state.payments.hub(),
        viewer.register_id(),
        after,
        limit,
        wait,
    )
    .await
    .map_err(|e| ApiError::internal(&e))?;
    let items: Vec<Value> = events
        .iter()
        .map(|e| serde_json::from_str(&e.payload).unwrap_or(Value::Null))
        .collect();
    Ok(Json(json!({ "events": items, "next": next })).into_response())
}
