//! The pages over HTTP: the customer display (`/display/{register_id}` and its event stream),
//! the cashier demo page (`/demo`, only with a `[sandbox]`), and their assets (`/assets/…`).
//!
//! A display authenticates with its register's `display_key` in the URL (`?key=…`; an
//! `EventSource` cannot send headers), never with an API key. The stream pushes the display
//! JSON (below) as `state` events: one on connect (a re-sync, so a reconnect after a lost
//! connection or a qrpayd restart always shows the truth), then one per change of what the
//! display shows. Event ids are opaque screen versions: a reconnect whose `Last-Event-ID`
//! equals the current version gets no repeat. The stream ends when qrpayd stops, so a
//! shutdown never waits for displays; the browser reconnects by itself.
//!
//! A register's screen is computed once per change and shared by all its streams
//! (`crate::screens`); each stream only sends the shared bytes. At most
//! `max_display_streams_per_register` streams are open per register: one more is refused with
//! `429 too_many_displays` (`crate::limits`). The display JSON is described in
//! `crate::screens` and in openapi.json (`DisplayState`).

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use qrpayd_domain::ids::RegisterId;
use tokio::sync::watch;

use super::ErrorCode;
use super::contract::*;
use super::{ApiError, AppState};
use crate::clock::Clock;
use crate::display;
use crate::hub::ChangeHub;
use crate::limits::DisplaySlot;
use crate::metrics::OpenGuard;
use crate::screens::{Channel, Frame};

/// Comment lines that keep idle connections (and proxies) open.
const KEEP_ALIVE: Duration = Duration::from_secs(15);
/// The browser's reconnect delay after a lost connection.
const RECONNECT: Duration = Duration::from_secs(2);

/// Pages: no caching (the URL carries a key), no referrer (ditto), nothing from elsewhere.
const PAGE_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'self'";

fn page_response(status: StatusCode, html: &'static str) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
            (header::CONTENT_SECURITY_POLICY, PAGE_CSP),
            (header::REFERRER_POLICY, "no-referrer"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        html,
    )
        .into_response()
}

/// The register a display URL opens, if its `key` is right.
fn display_of(
    state: &AppState,
    register: Result<Path<String>, PathRejection>,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Option<RegisterId> {
    let Path(register) = register.ok()?;
    let Query(query) = query.ok()?;
    let key = query.get("key")?;
    state.displays.find(&register, key)
}

/// `GET /display/{register_id}?key=…[&lang=en]`: the customer display page.
#[utoipa::path(
    get,
    path = "/display/{register_id}",
    operation_id = "customerDisplay",
    tag = "display",
    summary = "The customer display / kiosk page of a register",
    description = include_str!("doc/customerDisplay.md"),
    security(()),
    params(
        ("register_id" = String, Path, description = "The register's `id` in `[[registers]]`.", example = "pos-1"),
        ("key" = String, Query, description = "The register's `display_key` from its `[[registers]]` entry (at least 16 printable characters; `QRPAYD_REGISTERS__<ID>__DISPLAY_KEY`). Not an API key: it opens only this page and its events. Logged as `key=***`.", min_length = 16),
        ("lang" = Option<String>, Query, description = "`en` for English; Russian otherwise (any other value, as a kiosk's URL may carry).", example = "en"),
    ),
    responses(
        (status = 200, description = "The page.", content_type = "text/html", body = String),
        (status = 404, description = "An HTML page saying the display is not set up: unknown register, no `display_key`, or a wrong `key` (the three look the same).", content_type = "text/html", body = String),
        (status = 429, description = "`rate_limited`: too many requests from this address to paths without a register key. `Retry-After` says when to try again.", content_type = "application/json", body = ErrorBody),
    )
)]
pub(super) async fn page(
    State(state): State<AppState>,
    register: Result<Path<String>, PathRejection>,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Response {
    match display_of(&state, register, query) {
        Some(_) => page_response(StatusCode::OK, display::DISPLAY_HTML),
        None => page_response(StatusCode::NOT_FOUND, display::UNKNOWN_DISPLAY_HTML),
    }
}

/// `GET /display/{register_id}/events?key=…`: the display's server-sent events.
#[utoipa::path(
    get,
    path = "/display/{register_id}/events",
    operation_id = "customerDisplayEvents",
    tag = "display",
    summary = "What the display shows, as server-sent events",
    description = include_str!("doc/customerDisplayEvents.md"),
    security(()),
    params(
        ("register_id" = String, Path, description = "The register's `id` in `[[registers]]`.", example = "pos-1"),
        ("key" = String, Query, description = "The register's `display_key` from its `[[registers]]` entry (at least 16 printable characters; `QRPAYD_REGISTERS__<ID>__DISPLAY_KEY`). Not an API key: it opens only this page and its events. Logged as `key=***`.", min_length = 16),
        ("Last-Event-ID" = Option<String>, Header, description = "Sent by the browser on a reconnect: the `id` of the last event it got."),
    ),
    responses(
        (status = 200, description = "The event stream. Its `data` lines carry `DisplayState`, e.g. `event: state` / `id: 3f9c0e1a2b4d5c6e` / `retry: 2000` / `data: {\"status\":\"paid\",\"amount\":12345,\"amount_rubles\":\"123.45\",\"currency\":\"RUB\"}`.", content_type = "text/event-stream", body = DisplayEvent),
        (status = 429, description = "`too_many_displays`: the register has `max_display_streams_per_register` streams open already (`Retry-After: 5`); or `rate_limited`.", content_type = "application/json", body = ErrorBody),
        (status = 404, description = "`unknown_display`: unknown register, no `display_key`, or a wrong `key`.", content_type = "application/json", body = ErrorBody),
    )
)]
pub(super) async fn events(
    State(state): State<AppState>,
    register: Result<Path<String>, PathRejection>,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let register = display_of(&state, register, query).ok_or_else(|| {
        ApiError::new(ErrorCode::UnknownDisplay,
            "no customer display here: the register does not exist, has no display_key, or the key is wrong",
        )
    })?;
    let Some(slot) = state.limits.displays.try_enter(register.as_str()) else {
        return Ok(super::ops::retry_after(
            ApiError::new(
                ErrorCode::TooManyDisplays,
                "this register has as many customer displays open as allowed (max_display_streams_per_register); retry later",
            ),
            REFUSED_RETRY,
        ));
    };
    let last_sent = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let channel = state.screens.follow(&register);
    let stream = Stream {
        frames: channel.frames.clone(),
        channel,
        stopping: state.payments.hub().clone(),
        clock: state.clock.clone(),
        last_sent,
        pending: None,
        started: false,
        _slot: slot,
        _open: state.metrics.display_stream(),
    };
    let body = axum::body::Body::from_stream(futures_util::stream::unfold(stream, Stream::next));
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/event-stream"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
            // Tell nginx-like proxies not to buffer the stream.
            (
                header::HeaderName::from_static("x-accel-buffering"),
                HeaderValue::from_static("no"),
            ),
        ],
        body,
    )
        .into_response())
}

/// How long a refused display is asked to wait.
const REFUSED_RETRY: Duration = Duration::from_secs(5);
/// How long a connecting stream waits for the shared screen's re-read.
const RESYNC_WAIT: Duration = Duration::from_secs(5);

/// One display's stream: sends the register's shared frames as they change.
struct Stream {
    channel: Arc<Channel>,
    frames: watch::Receiver<Option<Arc<Frame>>>,
    stopping: ChangeHub,
    clock: Arc<dyn Clock>,
    /// The version on the display (`Last-Event-ID` at first).
    last_sent: Option<String>,
    /// The shared part of an event whose head was just sent.
    pending: Option<Bytes>,
    started: bool,
    _slot: DisplaySlot,
    _open: OpenGuard,
}

impl Stream {
    async fn next(mut self) -> Option<(Result<Bytes, Infallible>, Self)> {
        if let Some(rest) = self.pending.take() {
            return Some((Ok(rest), self));
        }
        if !self.started {
            self.started = true;
            // A connect is a re-sync: the screen is read again before the first event.
            self.channel.resync(RESYNC_WAIT).await;
        }
        loop {
            if self.stopping.is_stopping() {
                return None;
            }
            let frame = self.frames.borrow_and_update().clone();
            if let Some(frame) = frame
                && self.last_sent.as_deref() != Some(frame.version.as_str())
            {
                self.last_sent = Some(frame.version.clone());
                self.pending = Some(frame.rest.clone());
                let head = frame.head(self.clock.now(), RECONNECT);
                return Some((Ok(head), self));
            }
            tokio::select! {
                changed = self.frames.changed() => {
                    if changed.is_err() {
                        return None;
                    }
                }
                () = tokio::time::sleep(KEEP_ALIVE) => {
                    return Some((Ok(Bytes::from_static(b":\n\n")), self));
                }
                () = self.stopping.stopped() => return None,
            }
        }
    }
}

/// `GET /demo`: the cashier demo page (only when the sandbox bank is configured).
#[utoipa::path(
    get,
    path = "/demo",
    operation_id = "cashierDemo",
    tag = "display",
    summary = "The cashier demo page (with the sandbox bank only)",
    description = include_str!("doc/cashierDemo.md"),
    security(()),
    responses(
        (status = 200, description = "The page.", content_type = "text/html", body = String),
        (status = 404, description = "`not_found`: no `[sandbox]` section in the configuration.", content_type = "application/json", body = ErrorBody),
        (status = 429, description = "`rate_limited`: too many requests from this address to paths without a register key. `Retry-After` says when to try again.", content_type = "application/json", body = ErrorBody),
    )
)]
pub(super) async fn demo(State(state): State<AppState>) -> Response {
    if state.demo {
        page_response(StatusCode::OK, display::DEMO_HTML)
    } else {
        super::error::not_found().await.into_response()
    }
}

/// `GET /admin`: the store admin's journal page (no key in it; it asks for the admin key).
#[utoipa::path(
    get,
    path = "/admin",
    operation_id = "adminPage",
    tag = "admin",
    summary = "The store admin's journal page",
    description = include_str!("doc/adminPage.md"),
    security(()),
    responses(
        (status = 200, description = "The page.", content_type = "text/html", body = String),
        (status = 429, description = "`rate_limited`: too many requests from this address to paths without a register key. `Retry-After` says when to try again.", content_type = "application/json", body = ErrorBody),
    )
)]
pub(super) async fn admin() -> Response {
    page_response(StatusCode::OK, display::ADMIN_HTML)
}

/// `GET /assets/{name}`: the pages' CSS and JavaScript, served by qrpayd itself.
#[utoipa::path(
    get,
    path = "/assets/{name}",
    operation_id = "pageAsset",
    tag = "display",
    summary = "The pages' CSS and JavaScript",
    description = include_str!("doc/pageAsset.md"),
    security(()),
    params(
        ("name" = inline(AssetName), Path),
    ),
    responses(
        (status = 200, description = "The file.", content((String = "text/css"), (String = "text/javascript"))),
        (status = 404, description = "`not_found`: no such asset.", content_type = "application/json", body = ErrorBody),
        (status = 429, description = "`rate_limited`: too many requests from this address to paths without a register key. `Retry-After` says when to try again.", content_type = "application/json", body = ErrorBody),
    )
)]
pub(super) async fn asset(name: Result<Path<String>, PathRejection>) -> Response {
    let found = name.ok().and_then(|Path(name)| display::asset(&name));
    match found {
        Some(asset) => (
            [
                (header::CONTENT_TYPE, asset.content_type),
                (header::CACHE_CONTROL, "no-cache"),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            ],
            asset.body,
        )
            .into_response(),
        None => super::error::not_found().await.into_response(),
    }
}

/// The request's URI for logs, with the value of every `key` query parameter (a display key)
/// replaced by `***`: secrets never reach logs.
pub(super) fn redacted_uri(uri: &axum::http::Uri) -> String {
    let Some(query) = uri.query() else {
        return uri.path().to_owned();
    };
    let query: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some(("key", _)) => "key=***".to_owned(),
            _ => pair.to_owned(),
        })
        .collect();
    format!("{}?{}", uri.path(), query.join("&"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_keys_are_redacted_from_logged_uris() {
        let uri: axum::http::Uri = "/display/pos-1?lang=en&key=secret-display-key&x=1"
            .parse()
            .unwrap();
        assert_eq!(redacted_uri(&uri), "/display/pos-1?lang=en&key=***&x=1");
        let plain: axum::http::Uri = "/v1/payments".parse().unwrap();
        assert_eq!(redacted_uri(&plain), "/v1/payments");
    }
}
