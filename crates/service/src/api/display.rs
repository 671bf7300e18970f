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
//! The display JSON (`DisplayState` in openapi.json): `{"status": "idle"}`, or
//! `{"status": "pending", "amount", "amount_rubles", "currency", "qr": {"payload", "svg"},
//! "expires_at", "expires_in_ms"}`, or `{"status": "paid" | "cancelled" | "expired" |
//! "failed", "amount", "amount_rubles", "currency"}`.

use std::collections::HashMap;
use std::convert::Infallible;
use std::time::Duration;

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, SecondsFormat, Utc};
use qrpayd_domain::ids::{PaymentId, RegisterId};
use qrpayd_domain::payment::PaymentState;
use qrpayd_store::{Payment, PaymentFilter};
use serde_json::{Value, json};

use super::{ApiError, AppState};
use crate::display::{self, Screen, Shows};
use crate::hub::{RegisterSubscription, Subscription};
use crate::media::qr;

/// How often a display's stream re-reads the register's latest payment even without a
/// signal (a safety net: signals are per process).
const RESYNC: Duration = Duration::from_secs(30);
/// Comment lines that keep idle connections (and proxies) open.
const KEEP_ALIVE: Duration = Duration::from_secs(15);
/// The browser's reconnect delay after a lost connection.
const RECONNECT: Duration = Duration::from_secs(2);
/// Pause after a journal error before reading again.
const ERROR_PAUSE: Duration = Duration::from_secs(2);

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
pub(super) async fn events(
    State(state): State<AppState>,
    register: Result<Path<String>, PathRejection>,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let register = display_of(&state, register, query).ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "unknown_display",
            "no customer display here: the register does not exist, has no display_key, or the key is wrong",
        )
    })?;
    let last_sent = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let hub = state.payments.hub();
    let follow = Follow {
        changes: hub.subscribe(),
        created: hub.subscribe_registers(),
        state,
        register,
        current: None,
        rescan: true,
        last_sent,
        showing_qr: false,
    };
    let stream = futures_util::stream::unfold(follow, Follow::next);
    let mut response = Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(KEEP_ALIVE))
        .into_response();
    // Tell nginx-like proxies not to buffer the stream.
    response
        .headers_mut()
        .insert("x-accel-buffering", HeaderValue::from_static("no"));
    Ok(response)
}

/// One display's stream: follows its register's latest payment.
struct Follow {
    state: AppState,
    register: RegisterId,
    /// Subscribed before the first read, so no change is missed between a read and a wait.
    changes: Subscription,
    created: RegisterSubscription,
    /// The payment on screen (or lingering as an outcome).
    current: Option<PaymentId>,
    /// Look for the register's latest payment again (at the start, on a new payment, on the
    /// periodic re-sync); otherwise re-read only the current one.
    rescan: bool,
    last_sent: Option<String>,
    /// The last event sent showed a QR.
    showing_qr: bool,
}

impl Follow {
    async fn latest(&self) -> Result<Option<Payment>, String> {
        if !self.rescan
            && let Some(id) = &self.current
        {
            return self
                .state
                .payments
                .get(Some(&self.register), id)
                .await
                .map(Some)
                .map_err(|e| e.to_string());
        }
        let filter = PaymentFilter {
            register: Some(self.register.clone()),
            limit: 1,
            ..PaymentFilter::default()
        };
        self.state
            .payments
            .list(&filter)
            .await
            .map(|mut found| found.pop())
            .map_err(|e| e.to_string())
    }

    /// The next event to send, after waiting for a change if nothing changed; `None` when
    /// qrpayd stops (the stream ends).
    async fn next(mut self) -> Option<(Result<Event, Infallible>, Self)> {
        loop {
            if self.state.payments.hub().is_closing() {
                return None;
            }
            let latest = match self.latest().await {
                Ok(latest) => latest,
                Err(e) => {
                    tracing::warn!(register = %self.register, "customer display: cannot read the journal: {e}");
                    self.rescan = true;
                    tokio::time::sleep(ERROR_PAUSE).await;
                    continue;
                }
            };
            self.rescan = false;
            let now = self.state.clock.now();
            let screen = display::screen(latest.as_ref(), now);
            self.current = latest.as_ref().map(|p| p.id.clone());
            let version = screen.version();
            // A new payment whose QR the bank is still issuing: keep the screen (an outcome, or
            // idle) until its QR is there, rather than flash idle; but take an older payment's
            // QR off at once, the register has moved on.
            let issuing = latest
                .as_ref()
                .is_some_and(|p| p.state == PaymentState::Creating);
            let keep = issuing && self.last_sent.is_some() && !self.showing_qr;
            if !keep && self.last_sent.as_deref() != Some(version.as_str()) {
                let event = Event::default()
                    .event("state")
                    .id(&version)
                    .retry(RECONNECT)
                    .json_data(state_json(&screen, now))
                    .unwrap_or_else(|_| Event::default().comment("unserialisable state"));
                self.last_sent = Some(version);
                self.showing_qr = screen.shows == Shows::Qr;
                return Some((Ok(event), self));
            }
            let until = screen
                .until
                .and_then(|t| (t - now).to_std().ok())
                .unwrap_or(RESYNC)
                .min(RESYNC);
            let Follow {
                changes,
                created,
                register,
                current,
                ..
            } = &mut self;
            let changed = async {
                match current {
                    Some(id) => changes.changed(id.as_str()).await,
                    None => std::future::pending().await,
                }
            };
            // A change of the current payment: re-read it; a new payment or the timer: look
            // for the latest again.
            self.rescan = tokio::select! {
                () = changed => false,
                () = created.created(register.as_str()) => true,
                () = tokio::time::sleep(until) => true,
            };
        }
    }
}

fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// What a display may see: its register's current payment's amount, QR, status and time
/// left (relative, so a display's wrong clock does not matter). Nothing else.
fn state_json(screen: &Screen<'_>, now: DateTime<Utc>) -> Value {
    let Some(p) = screen.payment else {
        return json!({ "status": "idle" });
    };
    let mut state = json!({
        "amount": p.amount.get(),
        "amount_rubles": p.amount.to_rubles_fixed(),
        "currency": p.currency.code(),
    });
    let Some(fields) = state.as_object_mut() else {
        return json!({ "status": "idle" });
    };
    match screen.shows {
        Shows::Idle => return json!({ "status": "idle" }),
        Shows::Outcome(status) => {
            fields.insert("status".into(), status.as_str().into());
        }
        Shows::Qr => {
            let Some((_, payload)) = &p.qr else {
                return json!({ "status": "idle" });
            };
            let svg = qr::QrMatrix::encode(payload)
                .map(|m| qr::svg(&m, None))
                .unwrap_or_default();
            let left = (p.expires_at - now).num_milliseconds().max(0);
            fields.insert("status".into(), "pending".into());
            fields.insert("qr".into(), json!({ "payload": payload, "svg": svg }));
            fields.insert("expires_at".into(), time(p.expires_at).into());
            fields.insert("expires_in_ms".into(), left.into());
        }
    }
    state
}

/// `GET /demo`: the cashier demo page (only when the sandbox bank is configured).
pub(super) async fn demo(State(state): State<AppState>) -> Response {
    if state.demo {
        page_response(StatusCode::OK, display::DEMO_HTML)
    } else {
        super::not_found().await.into_response()
    }
}

/// `GET /admin`: the store admin's journal page (no key in it; it asks for the admin key).
pub(super) async fn admin() -> Response {
    page_response(StatusCode::OK, display::ADMIN_HTML)
}

/// `GET /assets/{name}`: the pages' CSS and JavaScript, served by qrpayd itself.
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
        None => super::not_found().await.into_response(),
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
