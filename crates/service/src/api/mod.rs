//! The POS API v1 over HTTP (axum), the bank callback endpoint, health and OpenAPI; the
//! customer display and the cashier demo page.
//!
//! Read in this order: [`router`] (every route and layer), `payments.rs` (the handlers),
//! `error.rs` (the one error type and its stable codes), `view.rs` (the payment JSON);
//! `media.rs` (QR pictures and receipt slips), `display.rs` (the pages and the display's
//! event stream).
//! Architecture invariant: only this module knows the POS JSON shapes.

mod admin;
mod auth;
mod display;
mod error;
mod events;
mod links;
mod media;
mod ops;
mod payments;
mod refunds;
mod view;

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use qrpayd_domain::money::Kopecks;
use serde_json::json;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer;
use tower_http::trace::TraceLayer;

pub use auth::{Admin, Displays, Register, Registers, Viewer};
pub use error::ApiError;

use crate::clock::Clock;
use crate::metrics::Metrics;
use crate::payments::{CallbackOutcome, CallbackProblem, Payments};

/// The OpenAPI 3.1 document served at `/openapi.json`.
pub const OPENAPI: &str = include_str!("openapi.json");

/// Largest request body we read (a create request is a few hundred bytes).
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// What every handler can reach.
#[derive(Clone, Debug)]
pub struct AppState {
    /// The orchestrator.
    pub payments: Payments,
    /// Registers and their keys.
    pub registers: Arc<Registers>,
    /// Cap of `?wait=`.
    pub max_wait: Duration,
    /// Largest amount of one payment.
    pub max_amount: Kopecks,
    /// The provider used when a request names none and the register has no default, if
    /// exactly one is configured.
    /// Customer-display keys.
    pub displays: Arc<Displays>,
    /// Serve the cashier demo page (`/demo`): the configuration has a `[sandbox]`.
    pub demo: bool,
    /// Business time (countdowns and how long a display shows an outcome).
    pub clock: Arc<dyn Clock>,
    /// Metrics and the providers' health.
    pub metrics: Arc<Metrics>,
    /// A broker is configured (the outbox backlog is worth reporting).
    pub outbox: bool,
    /// Rate limits, per-register caps, the render pool.
    pub limits: Arc<crate::limits::Limits>,
    /// The registers' shared display screens.
    pub screens: Arc<crate::screens::Screens>,
}

/// All routes with their layers. `extra` is merged in (the embedded sandbox bank).
pub fn router(state: AppState, extra: Option<Router>) -> Router {
    let api = Router::new()
        .route("/v1/payments", post(payments::create).get(payments::list))
        .route("/v1/payments/{id}", get(payments::get))
        .route("/v1/payments/{id}/cancel", post(payments::cancel))
        .route("/v1/payments/{id}/qr.svg", get(media::qr_svg))
        .route("/v1/payments/{id}/qr.png", get(media::qr_png))
        .route("/v1/payments/{id}/qr.txt", get(media::qr_txt))
        .route(
            "/v1/payments/{id}/receipt.escpos",
            get(media::receipt_escpos),
        )
        .route("/v1/payments/{id}/receipt.txt", get(media::receipt_txt))
        .route("/v1/payments/{id}/refunds", post(refunds::create))
        .route("/v1/refunds/{id}", get(refunds::get))
        .route("/v1/events", get(events::feed))
        .route("/v1/links/check", post(links::check))
        .route("/v1/callbacks/{provider}", post(callback))
        .route("/v1/admin/day", get(admin::day))
        .route("/v1/admin/search", get(admin::search))
        .route("/v1/admin/payments/{id}", get(admin::payment))
        .route("/v1/admin/attention", get(admin::attention))
        .route("/v1/admin/reconciliation", get(admin::reconciliation))
        .route("/healthz", get(healthz))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(ops::metrics))
        .route("/openapi.json", get(openapi))
        .route("/display/{register_id}", get(display::page))
        .route("/display/{register_id}/events", get(display::events))
        .route("/demo", get(display::demo))
        .route("/admin", get(display::admin))
        .route("/assets/{name}", get(display::asset))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            ops::count_open,
        ))
        .with_state(state.clone());
    let app = match extra {
        Some(extra) => api.nest("/sandbox-bank", extra),
        None => api,
    };
    let app = app.layer(axum::middleware::from_fn_with_state(state, ops::rate_limit));
    // Outermost first: mark the key header sensitive before tracing sees the request, turn a
    // panic into our JSON 500 instead of a dropped connection.
    app.layer(CatchPanicLayer::custom(|_| {
        ApiError::internal(&"a handler panicked").into_response()
    }))
    .layer(
        TraceLayer::new_for_http().make_span_with(|request: &axum::http::Request<_>| {
            // The URI without display keys (`?key=`): secrets never reach logs.
            tracing::debug_span!(
                "request",
                method = %request.method(),
                uri = %display::redacted_uri(request.uri()),
                version = ?request.version(),
            )
        }),
    )
    .layer(SetSensitiveRequestHeadersLayer::new([
        axum::http::header::AUTHORIZATION,
    ]))
}

/// The router of `metrics_listen`: `GET /metrics` without a key, nothing else.
pub fn metrics_router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(ops::metrics_open))
        .fallback(not_found)
        .with_state(state)
}

async fn not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        "no such endpoint; see /openapi.json",
    )
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this endpoint does not accept that method; see /openapi.json",
    )
}

async fn healthz(State(state): State<AppState>) -> Response {
    match state.payments.store().ping().await {
        Ok(()) => {
            Json(json!({ "status": "ok", "version": env!("CARGO_PKG_VERSION") })).into_response()
        }
        Err(e) => {
            tracing::error!("health check: {e}");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({ "status": "unavailable", "error": { "code": "database_unavailable", "message": "the journal database does not answer" } })),
            )
                .into_response()
        }
    }
}

async fn openapi() -> Response {
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        OPENAPI,
    )
        .into_response()
}

/// `POST /v1/callbacks/{provider}`: the bank's notification. No register key: the bank's
/// signature authenticates it. Answers 200 for anything verified and settled (applied after
/// the bank confirmed it, or not ours), so the bank stops retrying; 503 when the bank could not
/// be asked to confirm it, so the bank sends it again.
async fn callback(
    State(state): State<AppState>,
    Path(provider): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Response, ApiError> {
    let body = body.map_err(payments::body_error)?;
    // Some banks want a fixed body to stop retrying (T-Bank: plain `OK`).
    let ack = state
        .payments
        .provider(&provider)
        .and_then(|p| p.adapter.callback_ack_body());
    let outcome = state.payments.on_callback(&provider, &headers, &body).await;
    // An unknown provider's name comes from the URL: not a label (unbounded values).
    let label = if matches!(outcome, Err(CallbackProblem::UnknownProvider)) {
        "unknown"
    } else {
        provider.as_str()
    };
    state.metrics.callback(
        label,
        match &outcome {
            Ok(CallbackOutcome::Accepted) => "accepted",
            Ok(CallbackOutcome::Deferred(_)) => "ignored",
            Ok(CallbackOutcome::Unconfirmed(_)) => "unconfirmed",
            Err(CallbackProblem::UnknownProvider) => "unknown_provider",
            Err(CallbackProblem::Refused(qrpayd_bank::CallbackError::BadSignature)) => {
                "rejected_signature"
            }
            Err(CallbackProblem::Refused(qrpayd_bank::CallbackError::Malformed(_))) => {
                "rejected_malformed"
            }
            Err(CallbackProblem::Store(_)) => "error",
        },
    );
    if let (Ok(CallbackOutcome::Accepted | CallbackOutcome::Deferred(_)), Some(body)) =
        (&outcome, ack)
    {
        return Ok(body.into_response());
    }
    match outcome {
        Ok(CallbackOutcome::Accepted) => Ok(Json(json!({ "status": "accepted" })).into_response()),
        Ok(CallbackOutcome::Deferred(why)) => {
            Ok(Json(json!({ "status": "ignored", "reason": why })).into_response())
        }
        // Not acknowledged on purpose: the bank sends it again, and the payment's job keeps
        // asking the bank meanwhile.
        Ok(CallbackOutcome::Unconfirmed(why)) => Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "bank_unavailable",
            format!(
                "the notification could not be confirmed with the bank yet ({why}); send it again"
            ),
        )),
        Err(CallbackProblem::UnknownProvider) => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "unknown_provider",
            format!("provider {provider:?} is not configured"),
        )),
        Err(CallbackProblem::Refused(qrpayd_bank::CallbackError::BadSignature)) => {
            tracing::warn!(
                provider,
                "notification with a bad or missing signature refused"
            );
            Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "invalid_signature",
                "the notification's signature does not verify",
            ))
        }
        Err(CallbackProblem::Refused(qrpayd_bank::CallbackError::Malformed(m))) => {
            Err(ApiError::bad_request("malformed_notification", m))
        }
        // 5xx on purpose: the bank retries, and the notification is not lost.
        Err(CallbackProblem::Store(e)) => Err(ApiError::internal(&e)),
    }
}
