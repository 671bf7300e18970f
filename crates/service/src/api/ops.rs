//! What monitoring and load balancers call: `/readyz` (can this instance take payments?),
//! `/metrics` (Prometheus text, with the admin key; or without a key on `metrics_listen`), the
//! layer that counts open long-polls and holds each in its register's slots (the oldest gives
//! way, `crate::limits`), and the layer that rate-limits key-less paths per client address.
//!
//! `/healthz` (in `mod.rs`) stays the cheap liveness probe: the process answers and the
//! database does.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Json;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use qrpayd_domain::health::Health;
use serde::Serialize;
use utoipa::ToSchema;

use super::ErrorCode;
use super::contract::*;
use super::{Admin, ApiError, AppState};

/// `GET /readyz`: whether this instance can take payments, part by part.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct Readiness {
    /// `ready` (200) or `not_ready` (503).
    status: ReadyStatus,
    /// qrpayd's version.
    version: String,
    /// The journal database answers.
    database: Part,
    /// The journal's schema is the one this binary expects.
    schema: Part,
    /// Each configured provider's health (its circuit breaker), by name.
    providers: std::collections::BTreeMap<String, ProviderReadiness>,
}

/// Ready or not.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub(super) enum ReadyStatus {
    /// Takes payments.
    Ready,
    /// Does not (see the parts).
    NotReady,
}

/// One part of readiness.
#[derive(Debug, Default, Serialize, ToSchema)]
#[schema(as = ReadinessPart)]
pub(super) struct Part {
    /// This part is fine.
    ok: bool,
    /// Why not (database).
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    /// The journal's schema version (schema).
    #[serde(skip_serializing_if = "Option::is_none")]
    version: Option<i64>,
    /// The version this binary expects (schema).
    #[serde(skip_serializing_if = "Option::is_none")]
    expected: Option<i64>,
}

impl Part {
    fn ok() -> Part {
        Part {
            ok: true,
            ..Part::default()
        }
    }
}

/// A provider's health.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct ProviderReadiness {
    /// Not down.
    ok: bool,
    /// `up`, `down` (after failed calls in a row) or `probing` (one call decides).
    state: ProviderState,
    /// While `down`: until when (then one probe).
    down_until: Option<String>,
    /// Calls so far.
    calls: u64,
    /// Failed calls in a row.
    consecutive_failures: u32,
    /// The last failure.
    last_error: Option<String>,
}

/// A provider's circuit breaker.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub(super) enum ProviderState {
    /// Calls go through.
    Up,
    /// Calls are not tried.
    Down,
    /// One call decides.
    Probing,
}

/// `GET /readyz`: ready when the database answers, its schema is the one this binary
/// expects, and at least one provider is not down (its last calls did not all fail). Each
/// part is reported; 503 when not ready.
#[utoipa::path(
    get,
    path = "/readyz",
    operation_id = "ready",
    tag = "operations",
    summary = "Readiness: can this instance take payments?",
    description = include_str!("doc/ready.md"),
    security(()),
    responses(
        (status = 200, description = "Ready.", content_type = "application/json", body = Readiness),
        (status = 503, description = "Not ready: which part fails is in the body.", content_type = "application/json", body = Readiness),
    )
)]
pub(super) async fn readyz(State(state): State<AppState>) -> Response {
    let store = state.payments.store();
    let database = match store.ping().await {
        Ok(()) => Part::ok(),
        Err(e) => {
            tracing::error!("readiness: the database does not answer: {e}");
            Part {
                ok: false,
                error: Some("the journal database does not answer".to_owned()),
                ..Part::default()
            }
        }
    };
    let schema = match store.schema_status().await {
        Ok(status) => Part {
            ok: status.is_current(),
            version: Some(status.current()),
            expected: Some(status.latest_known),
            ..Part::default()
        },
        Err(_) => Part::default(),
    };
    let mut providers = std::collections::BTreeMap::new();
    let mut any_up = false;
    for name in state.payments.provider_names() {
        let health = state.payments.health().get(name.as_str());
        any_up |= !health.is_down();
        let (state_text, down_until) = match health.health {
            Health::Up => (ProviderState::Up, None),
            Health::Down { until } => (ProviderState::Down, Some(until.to_rfc3339())),
            Health::Probing => (ProviderState::Probing, None),
        };
        providers.insert(
            name.to_string(),
            ProviderReadiness {
                ok: !health.is_down(),
                state: state_text,
                down_until,
                calls: health.calls,
                consecutive_failures: health.consecutive_failures,
                last_error: health.last_error.clone(),
            },
        );
    }
    let ready = database.ok && schema.ok && any_up;
    let body = Readiness {
        status: if ready {
            ReadyStatus::Ready
        } else {
            ReadyStatus::NotReady
        },
        version: env!("CARGO_PKG_VERSION").to_owned(),
        database,
        schema,
        providers,
    };
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body)).into_response()
}

/// `GET /metrics` on the API listener: the admin key only.
#[utoipa::path(
    get,
    path = "/metrics",
    operation_id = "metrics",
    tag = "operations",
    summary = "Prometheus metrics",
    description = include_str!("doc/metrics.md"),
    security(("adminKey" = [])),
    responses(
        (status = 200, description = "The metrics.", content_type = "application/openmetrics-text", body = String),
        (status = 401, description = "No valid key (`unauthorized`).", content_type = "application/json", body = ErrorBody),
        (status = 403, description = "`admin_only`: a register's key; these endpoints need the admin key.", content_type = "application/json", body = ErrorBody),
        (status = 500, description = "qrpayd could not complete the request (`internal_error`); retry.", content_type = "application/json", body = ErrorBody),
        (status = 429, description = "`rate_limited`: too many requests from this address to paths without a register key. `Retry-After` says when to try again.", content_type = "application/json", body = ErrorBody),
    )
)]
pub(super) async fn metrics(State(state): State<AppState>, _admin: Admin) -> Response {
    render_metrics(&state).await
}

/// `GET /metrics` on `metrics_listen`: no key (that address is for the monitoring network).
pub(super) async fn metrics_open(State(state): State<AppState>) -> Response {
    render_metrics(&state).await
}

/// Each provider's name and whether it is up.
fn provider_states(state: &AppState) -> Vec<(String, bool)> {
    state
        .payments
        .provider_names()
        .into_iter()
        .map(|name| {
            let up = !state.payments.health().get(name.as_str()).is_down();
            (name.to_string(), up)
        })
        .collect()
}

async fn render_metrics(state: &AppState) -> Response {
    let now = state.clock.now();
    match state
        .metrics
        .render(
            state.payments.store(),
            now,
            state.outbox,
            &provider_states(state),
        )
        .await
    {
        Ok(text) => (
            [(
                header::CONTENT_TYPE,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            )],
            text,
        )
            .into_response(),
        Err(e) => ApiError::internal(&e).into_response(),
    }
}

/// An error answer with `Retry-After` (whole seconds, at least one).
pub(super) fn retry_after(error: ApiError, after: Duration) -> Response {
    error.retry_after(after).into_response()
}

/// Rate-limits the paths that need no register key, per client address (`crate::limits`).
pub(super) async fn rate_limit(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    if crate::limits::rate_limited_path(request.uri().path())
        && let Some(ConnectInfo(peer)) = request.extensions().get::<ConnectInfo<SocketAddr>>()
        && let Err(after) = state.limits.rate.check(peer.ip())
    {
        return retry_after(
            ApiError::new(
                ErrorCode::RateLimited,
                "too many requests from this address to paths without a register key; retry after the time in Retry-After",
            ),
            after,
        );
    }
    next.run(request).await
}

/// Counts open long-polls (`?wait=N`, N > 0) while they wait, and holds each in its
/// register's long-poll slots: past `max_long_polls_per_register` the oldest gives way
/// (answers at once with the current state, see `crate::hub::give_way_scope`).
pub(super) async fn count_open(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let waits = request.uri().query().is_some_and(|q| {
        q.split('&').any(|pair| {
            pair.strip_prefix("wait=")
                .is_some_and(|n| n.parse::<u64>().is_ok_and(|n| n > 0))
        })
    });
    if !waits {
        return next.run(request).await;
    }
    // The register whose slots it takes; an unknown key is refused by the handler itself.
    let owner = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.split_once(' '))
        .and_then(|(_, key)| state.registers.find(key.trim()))
        .map(|viewer| match viewer {
            super::Viewer::Register(r) => r.id.as_str().to_owned(),
            super::Viewer::Admin => "*admin*".to_owned(),
        });
    let _open = state.metrics.long_poll();
    match owner {
        Some(owner) => {
            let (_slot, give_way) = state.limits.waits.enter(&owner);
            crate::hub::give_way_scope(give_way, next.run(request)).await
        }
        None => next.run(request).await,
    }
}
