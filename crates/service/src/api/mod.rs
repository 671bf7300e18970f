//! The POS API v1 over HTTP (axum), the bank callback endpoint, health and OpenAPI; the
//! customer display and the cashier demo page.
//!
//! Read in this order: [`router`] (every route and layer), `payments.rs` (the handlers),
//! `error.rs` (the one error type and [`ErrorCode`]), `view.rs` (store records to the wire
//! types of `qrpayd_domain::contract`), [`contract`] (the other answers and the derived OpenAPI
//! document);
//! `media.rs` (QR pictures and receipt slips), `display.rs` (the pages and the display's
//! event stream).
//! Architecture invariant: only this module and `qrpayd_domain::contract` (the shapes it shares
//! with the event feed and the displays) know the POS JSON shapes.

mod admin;
mod auth;
pub mod contract;
mod display;
mod error;
mod events;
mod keys;
mod links;
mod media;
mod ops;
mod payments;
mod refunds;
mod state;
mod view;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer;
use tower_http::trace::TraceLayer;
use utoipa::Modify as _;
use utoipa::OpenApi as _;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use contract::{CallbackAnswer, HealthOk, HealthUnavailable, RaiffeisenPaymentNotification};
pub use error::{ApiError, ErrorBody, ErrorCode};
pub use keys::{Admin, Displays, Register, Registers, Viewer};
pub use state::{AppState, MAX_BODY_BYTES};

use crate::payments::{CallbackOutcome, CallbackProblem};

/// The OpenAPI 3.1 document served at `/openapi.json`: the committed derivation of the code
/// (`derived_openapi_json`; the golden test keeps them equal).
pub const OPENAPI: &str = include_str!("openapi.json");

/// Every documented route: the handlers carry their OpenAPI descriptions, so the document
/// ([`contract`]) lists exactly what is routed.
fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(contract::ApiDoc::openapi())
        .routes(routes!(payments::create, payments::list))
        .routes(routes!(payments::get))
        .routes(routes!(payments::cancel))
        .routes(routes!(media::qr_svg))
        .routes(routes!(media::qr_png))
        .routes(routes!(media::qr_txt))
        .routes(routes!(media::receipt_escpos))
        .routes(routes!(media::receipt_txt))
        .routes(routes!(refunds::create))
        .routes(routes!(refunds::get))
        .routes(routes!(events::feed))
        .routes(routes!(links::check))
        .routes(routes!(callback))
        .routes(routes!(admin::day))
        .routes(routes!(admin::search))
        .routes(routes!(admin::payment))
        .routes(routes!(admin::attention))
        .routes(routes!(admin::reconciliation))
        .routes(routes!(healthz))
        .routes(routes!(ops::readyz))
        .routes(routes!(ops::metrics))
        .routes(routes!(openapi))
        .routes(routes!(display::page))
        .routes(routes!(display::events))
        .routes(routes!(display::demo))
        .routes(routes!(display::admin))
        .routes(routes!(display::asset))
}

/// All routes with their layers. `extra` is merged in (the embedded sandbox bank).
pub fn router(state: AppState, extra: Option<Router>) -> Router {
    let (api, _) = routes().split_for_parts();
    let api = api
        .fallback(error::not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
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
        .fallback(error::not_found)
        .with_state(state)
}

#[utoipa::path(
    get,
    path = "/healthz",
    operation_id = "health",
    tag = "operations",
    summary = "Health check",
    description = include_str!("doc/health.md"),
    security(()),
    responses(
        (status = 200, description = "Healthy.", content_type = "application/json", body = HealthOk),
        (status = 503, description = "The journal database does not answer.", content_type = "application/json", body = HealthUnavailable),
    )
)]
async fn healthz(State(state): State<AppState>) -> Response {
    match state.payments.store().ping().await {
        Ok(()) => Json(contract::HealthOk {
            status: "ok".to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
        })
        .into_response(),
        Err(e) => {
            tracing::error!("health check: {e}");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(contract::HealthUnavailable {
                    status: "unavailable".to_owned(),
                    error: error::ErrorDetail {
                        code: ErrorCode::DatabaseUnavailable,
                        message: "the journal database does not answer".to_owned(),
                    },
                }),
            )
                .into_response()
        }
    }
}

#[utoipa::path(
    get,
    path = "/openapi.json",
    operation_id = "openapi",
    tag = "operations",
    summary = "This OpenAPI document",
    description = include_str!("doc/openapi.md"),
    security(()),
    responses(
        (status = 200, description = "The document.", content_type = "application/json", body = Object),
        (status = 429, description = "`rate_limited`: too many requests from this address to paths without a register key. `Retry-After` says when to try again.", content_type = "application/json", body = ErrorBody),
    )
)]
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
#[utoipa::path(
    post,
    path = "/v1/callbacks/{provider}",
    operation_id = "receiveBankNotification",
    tag = "callbacks",
    summary = "Receive a bank's payment notification",
    description = include_str!("doc/receiveBankNotification.md"),
    security(()),
    params(
        ("provider" = String, Path, description = "The provider's `name` in the configuration.", example = "raiffeisen"),
        ("X-Api-Signature-SHA256" = Option<String>, Header, description = "Raiffeisen (`kind = \"raiffeisen\"`, the only kind this version supports): lowercase hex HMAC-SHA256 of `amount|sbpMerchantId|order|paymentStatus|transactionDate` with the provider's secret key. Missing or wrong: `401 invalid_signature`.", pattern = "^[0-9a-fA-F]{64}$"),
    ),
    request_body(content = RaiffeisenPaymentNotification, content_type = "application/json", description = "The bank's notification, in the bank's own format: for Raiffeisen its `paymentNotification` JSON."),
    responses(
        (status = 200, description = "Verified and accepted, or verified and deferred (qrpayd asks the bank instead of trusting it).", content_type = "application/json", body = CallbackAnswer),
        (status = 400, description = "`malformed_notification`: signed header present but the body is not an acceptable notification.", content_type = "application/json", body = ErrorBody),
        (status = 401, description = "`invalid_signature`: the signature is missing or does not verify.", content_type = "application/json", body = ErrorBody),
        (status = 404, description = "`unknown_provider`: no provider of that name is configured.", content_type = "application/json", body = ErrorBody),
        (status = 413, description = "`body_too_large`: the body is larger than 16 KiB.", content_type = "application/json", body = ErrorBody),
        (status = 500, description = "qrpayd could not complete the request (`internal_error`); retry.", content_type = "application/json", body = ErrorBody),
        (status = 503, description = "`bank_unavailable`: verified and ours, but the bank could not be asked to confirm it; the bank sends it again (qrpayd keeps asking the bank meanwhile).", content_type = "application/json", body = ErrorBody),
        (status = 429, description = "`rate_limited`: too many requests from this address to paths without a register key. `Retry-After` says when to try again.", content_type = "application/json", body = ErrorBody),
    )
)]
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
        Ok(CallbackOutcome::Accepted) => Ok(Json(contract::CallbackAnswer {
            status: contract::CallbackStatus::Accepted,
            reason: None,
        })
        .into_response()),
        Ok(CallbackOutcome::Deferred(why)) => Ok(Json(contract::CallbackAnswer {
            status: contract::CallbackStatus::Ignored,
            reason: Some(why.to_string()),
        })
        .into_response()),
        // Not acknowledged on purpose: the bank sends it again, and the payment's job keeps
        // asking the bank meanwhile.
        Ok(CallbackOutcome::Unconfirmed(why)) => Err(ApiError::with_status(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::BankUnavailable,
            format!(
                "the notification could not be confirmed with the bank yet ({why}); send it again"
            ),
        )),
        Err(CallbackProblem::UnknownProvider) => Err(ApiError::with_status(
            StatusCode::NOT_FOUND,
            ErrorCode::UnknownProvider,
            format!("provider {provider:?} is not configured"),
        )),
        Err(CallbackProblem::Refused(qrpayd_bank::CallbackError::BadSignature)) => {
            tracing::warn!(
                provider,
                "notification with a bad or missing signature refused"
            );
            Err(ApiError::new(
                ErrorCode::InvalidSignature,
                "the notification's signature does not verify",
            ))
        }
        Err(CallbackProblem::Refused(qrpayd_bank::CallbackError::Malformed(m))) => {
            Err(ApiError::new(ErrorCode::MalformedNotification, m))
        }
        // 5xx on purpose: the bank retries, and the notification is not lost.
        Err(CallbackProblem::Store(e)) => Err(ApiError::internal(&e)),
    }
}

/// The derived document, as pretty JSON with a final newline (the committed file's form).
pub fn derived_openapi_json() -> String {
    let (_, mut doc) = routes().split_for_parts();
    contract::Examples.modify(&mut doc);
    let mut text = doc
        .to_pretty_json()
        .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    text.push('\n');
    text
}
