//! `GET /v1/events?after=<seq>&wait=N&limit=N`: the event feed as a long-poll.

use std::collections::HashMap;

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::value::RawValue;

use super::ErrorCode;
use super::contract::*;
use super::payments::wait_param;
use super::{ApiError, AppState, Viewer};

/// The answer: the events after the cursor and the next cursor (the document's `EventPage`).
#[derive(Serialize)]
struct Page {
    events: Vec<Box<RawValue>>,
    next: i64,
}

/// `GET /v1/events`.
#[utoipa::path(
    get,
    path = "/v1/events",
    operation_id = "listEvents",
    tag = "events",
    summary = "Follow payment and refund events (long-poll feed)",
    description = include_str!("doc/listEvents.md"),
    security(("registerKey" = []), ("adminKey" = [])),
    params(
        ("after" = Option<u64>, Query, description = "Cursor: return events with `seq` greater than this (default 0).", minimum = 0),
        ("wait" = inline(Option<WaitSeconds>), Query, description = "Seconds to wait for a final status, a whole non-negative number; values above the configured `max_wait_seconds` (default 60) are reduced to it. Omitted or 0: answer at once.", example = 60),
        ("limit" = Option<u64>, Query, description = "At most this many events (1..1000, default 100).", minimum = 1, maximum = 1000),
    ),
    responses(
        (status = 200, description = "Events after the cursor (possibly none when the wait ran out) and the cursor for the next call.", content_type = "application/json", body = EventPage),
        (status = 400, description = "`invalid_query`: `after`, `limit` or an unknown parameter is wrong; `invalid_wait`: `wait` is not a whole number.", content_type = "application/json", body = ErrorBody),
        (status = 401, description = "No valid key (`unauthorized`).", content_type = "application/json", body = ErrorBody),
        (status = 500, description = "qrpayd could not complete the request (`internal_error`); retry.", content_type = "application/json", body = ErrorBody),
    )
)]
pub(super) async fn feed(
    State(state): State<AppState>,
    viewer: Viewer,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(query) = query.map_err(|e| ApiError::new(ErrorCode::InvalidQuery, e.body_text()))?;
    if let Some(unknown) = query
        .keys()
        .find(|k| !["after", "wait", "limit"].contains(&k.as_str()))
    {
        return Err(ApiError::new(
            ErrorCode::InvalidQuery,
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
                ApiError::new(
                    ErrorCode::InvalidQuery,
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
            .ok_or_else(|| ApiError::new(ErrorCode::InvalidQuery, "`limit` must be 1..1000"))?,
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
    // Each payload is an `Event` as the store wrote it (`qrpayd_domain::contract::Event`):
    // passed through as written, not parsed again.
    let events = events
        .into_iter()
        .map(|e| RawValue::from_string(e.payload))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ApiError::internal(&format!("an event's payload is not JSON: {e}")))?;
    Ok(Json(Page { events, next }).into_response())
}
