//! qrpayd-sandbox: an in-process emulator of Raiffeisenbank's SBP QR API, for qrpayd's demo
//! mode, tests and staff training.
//!
//! It speaks the bank's real paths, field names and error envelopes (BANKS.md §1): QR
//! registration (v1 and v2), QR status and cancellation, payment-info, refunds, the
//! callback-URL setting and the bank's own sandbox payment call
//! (`/api/nspc-mock/v01/rfuture/payment/init`). Payments trigger signed callbacks
//! (`X-Api-Signature-SHA256`), retried until the receiver answers 200. Sandbox-only controls
//! under `/sandbox/...` decline payments and refunds, expire QRs, list everything, and inject
//! faults (latency, HTTP 500, business errors, lost or duplicated callbacks).
//!
//! Endpoints (JSON; "auth" = `Authorization: Bearer <secret_key>`, else HTTP 401):
//!
//! | Method + path | Auth | What |
//! |---|---|---|
//! | `POST /api/sbp/v2/qrs`, `POST /api/sbp/v1/qr/register` | — | register a `QRDynamic` / `QRStatic` |
//! | `GET /api/sbp/v2/qrs/{qrId}` | auth | QR data and `qrStatus` |
//! | `DELETE /api/sbp/v2/qrs/{qrId}` | auth | cancel an unpaid QR (HTTP 200, empty body) |
//! | `GET /api/sbp/v1/qr/{qrId}/info` | auth | QR data (v1) |
//! | `GET /api/sbp/v1/qr/{qrId}/payment-info` | auth | `paymentStatus`, `transactionId`, ... |
//! | `POST /api/sbp/v1/refund`, `GET /api/sbp/v1/refund/{refundId}` | auth | refunds |
//! | `POST /api/settings/v1/callback` | auth | set the callback URL |
//! | `POST /api/nspc-mock/v01/rfuture/payment/init` | — | pay a QR (the bank's own sandbox call) |
//! | `POST /sandbox/qrs/{qrId}/decline` | — | the payer's bank declines an attempt (body `{"amount":..}` optional) |
//! | `POST /sandbox/qrs/{qrId}/expire` | — | let a `NEW` QR's expiry pass now |
//! | `GET /sandbox/qrs` | — | every QR (with its transactions) and refund |
//! | `GET /sandbox/registry?date=YYYY-MM-DD` | — | the day's registry, Raiffeisen's `SBPreport.csv` (Windows-1251) |
//! | `POST /sandbox/refunds/{refundId}/decline` | — | an `IN_PROGRESS` refund becomes `DECLINED` |
//! | `GET`/`PUT /sandbox/faults` | — | the [`Faults`] JSON |
//!
//! Determinism: a refund answers `IN_PROGRESS` on creation and on its first
//! `GET`, `COMPLETED` from the second `GET` on (no timers), which is also its completion time
//! in the registry. Expiry is evaluated against the real clock whenever a QR is read or changed.
//!
//! Modules:
//! * `state` — the books and their pure transitions (no clock, randomness or IO);
//! * `wire` — request/response bodies with the bank's field names; amounts as exact JSON numbers;
//! * `routes` — axum handlers, Bearer auth, fault injection;
//! * `callbacks` — notification signing and delivery with retries;
//! * `registry` — the daily registry (payments and completed refunds of a Moscow date);
//! * `error` — [`SandboxError`], each variant with its bank code and HTTP status.
//!
//! Money is always [`Kopecks`]; no amount ever passes through floating point.

mod callbacks;
mod error;
mod registry;
mod routes;
mod state;
mod wire;

use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use chrono::{NaiveDate, Utc};
use qrpayd_bank::raiffeisen::registry::Registry;
use qrpayd_domain::money::Kopecks;
use serde::{Deserialize, Serialize};

pub use crate::error::SandboxError;
use crate::state::{PaymentEvent, State};
use crate::wire::PaymentNotification;

/// Raiffeisenbank's NSPK member id, used in payloads unless configured otherwise.
pub const DEFAULT_BANK_MEMBER_ID: &str = "100000000007";

/// Who the emulated bank serves.
#[derive(Clone)]
pub struct SandboxConfig {
    /// The one merchant the sandbox knows (`sbpMerchantId`, e.g. `MA0000000552`); any other
    /// gets `ERROR.MERCHANT_NOT_REGISTERED`.
    pub sbp_merchant_id: String,
    /// The merchant's secret key: the expected `Authorization: Bearer` token and the HMAC key
    /// of callback signatures.
    pub secret_key: String,
    /// NSPK member id written into payloads (`bank=`); empty means [`DEFAULT_BANK_MEMBER_ID`].
    pub bank_member_id: String,
}

impl SandboxConfig {
    /// A config with the default bank member id.
    pub fn new(sbp_merchant_id: impl Into<String>, secret_key: impl Into<String>) -> Self {
        SandboxConfig {
            sbp_merchant_id: sbp_merchant_id.into(),
            secret_key: secret_key.into(),
            bank_member_id: DEFAULT_BANK_MEMBER_ID.to_owned(),
        }
    }
}

impl fmt::Debug for SandboxConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SandboxConfig")
            .field("sbp_merchant_id", &self.sbp_merchant_id)
            .field("secret_key", &"<redacted>")
            .field("bank_member_id", &self.bank_member_id)
            .finish()
    }
}

/// Faults to inject, read and set with `GET`/`PUT /sandbox/faults` or [`Sandbox::set_faults`].
///
/// They apply to the `/api` routes except the nspc-mock payment call.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Faults {
    /// Delay in milliseconds before answering every `/api` call.
    pub latency_ms: u64,
    /// The next N `/api` calls answer HTTP 500 (counted down per call).
    pub http_500_next: u32,
    /// The next N `/api` calls answer HTTP 200 `{"code":"ERROR.INTERNAL","message":...}`
    /// (counted down per call, after any pending HTTP 500s).
    pub business_error_next: u32,
    /// Send no callbacks at all (lost callbacks).
    pub drop_callbacks: bool,
    /// Send each callback twice.
    pub duplicate_callbacks: bool,
}

/// The emulated bank. Cheap to clone; clones share the same books.
#[derive(Clone)]
pub struct Sandbox {
    inner: Arc<Inner>,
}

struct Inner {
    config: SandboxConfig,
    state: Mutex<State>,
    /// Sends callbacks; `None` if the HTTP client could not be built (callbacks are then lost).
    http: Option<reqwest::Client>,
}

impl fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sandbox")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

impl Sandbox {
    /// An empty bank for `config`'s merchant.
    pub fn new(mut config: SandboxConfig) -> Sandbox {
        if config.bank_member_id.is_empty() {
            DEFAULT_BANK_MEMBER_ID.clone_into(&mut config.bank_member_id);
        }
        let http = reqwest::Client::builder()
            .timeout(callbacks::ATTEMPT_TIMEOUT)
            .no_proxy()
            .build()
            .inspect_err(|error| {
                tracing::warn!(%error, "sandbox: no HTTP client, callbacks will not be sent");
            })
            .ok();
        let state = State::new(
            config.sbp_merchant_id.clone(),
            config.bank_member_id.clone(),
        );
        Sandbox {
            inner: Arc::new(Inner {
                config,
                state: Mutex::new(state),
                http,
            }),
        }
    }

    /// All routes, rooted at `/` (paths start with `/api/...` and `/sandbox/...`). The caller
    /// may nest it under a prefix (e.g. `Router::nest("/sandbox-bank", ...)`).
    pub fn router(&self) -> axum::Router {
        routes::router(self.clone())
    }

    /// Pays a QR with `amount`, like `POST /api/nspc-mock/v01/rfuture/payment/init`: the
    /// amount must equal the QR's, the QR must be `NEW` and not expired. Sends the callback.
    pub async fn pay(&self, qr_id: &str, amount: Kopecks) -> Result<(), SandboxError> {
        let event = self.lock().pay(qr_id, amount, Utc::now())?;
        tracing::info!(
            qr_id,
            transaction_id = event.transaction_id,
            amount = %amount,
            "sandbox QR paid"
        );
        self.notify(&event);
        Ok(())
    }

    /// The callback URL the merchant set (`POST /api/settings/v1/callback`), if any.
    pub fn callback_url(&self) -> Option<String> {
        self.lock().callback_url.clone()
    }

    /// The registry of `date` (Moscow time), as `GET /sandbox/registry?date=YYYY-MM-DD`
    /// serves it before writing: every successful payment made that day and every refund
    /// completed that day (see the `registry` module for the rows, fees and totals).
    pub fn registry(&self, date: NaiveDate) -> Registry {
        let (qrs, refunds) = {
            let mut state = self.lock();
            (state.all_qrs(Utc::now()), state.all_refunds())
        };
        registry::build(self.sbp_merchant_id(), &qrs, &refunds, date)
    }

    /// Replaces the injected faults.
    pub fn set_faults(&self, faults: Faults) {
        tracing::info!(?faults, "sandbox faults set");
        self.lock().faults = faults;
    }

    /// The injected faults now (counters as left by the calls so far).
    pub fn faults(&self) -> Faults {
        self.lock().faults.clone()
    }

    /// The payer's bank declines an attempt on `qr_id`; sends the `DECLINED` callback.
    pub(crate) fn decline(&self, qr_id: &str, amount: Option<Kopecks>) -> Result<(), SandboxError> {
        let event = self.lock().decline(qr_id, amount, Utc::now())?;
        tracing::info!(
            qr_id,
            transaction_id = event.transaction_id,
            "sandbox payment declined"
        );
        self.notify(&event);
        Ok(())
    }

    /// The books. A panic elsewhere while holding the lock cannot leave them half-written
    /// (every transition validates before it writes), so a poisoned lock is simply reused.
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.inner
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The expected Bearer token.
    pub(crate) fn secret_key(&self) -> &str {
        &self.inner.config.secret_key
    }

    /// The merchant's SBP id.
    pub(crate) fn sbp_merchant_id(&self) -> &str {
        &self.inner.config.sbp_merchant_id
    }

    /// Sends the callback for `event` to the configured URL, honouring the callback faults.
    fn notify(&self, event: &PaymentEvent) {
        let (url, faults) = {
            let state = self.lock();
            (state.callback_url.clone(), state.faults.clone())
        };
        let Some(url) = url else {
            tracing::info!(
                transaction_id = event.transaction_id,
                "sandbox callback not sent: no callback URL set"
            );
            return;
        };
        if faults.drop_callbacks {
            tracing::info!(
                transaction_id = event.transaction_id,
                "sandbox callback dropped (fault)"
            );
            return;
        }
        let Some(client) = self.inner.http.clone() else {
            tracing::warn!(
                transaction_id = event.transaction_id,
                "sandbox callback not sent: no HTTP client"
            );
            return;
        };
        let config = &self.inner.config;
        let notification = PaymentNotification::new(event, &config.sbp_merchant_id);
        let body = match serde_json::to_string(&notification) {
            Ok(body) => body,
            Err(error) => {
                tracing::warn!(%error, "sandbox callback not sent: cannot serialize");
                return;
            }
        };
        let message = callbacks::signature_message(
            event.amount,
            &config.sbp_merchant_id,
            &event.order,
            event.status.as_str(),
            &notification.transaction_date,
        );
        let delivery = callbacks::Delivery {
            url,
            body,
            signature: callbacks::sign(&config.secret_key, &message),
            transaction_id: event.transaction_id,
        };
        let copies = if faults.duplicate_callbacks { 2 } else { 1 };
        callbacks::spawn(client, delivery, copies);
    }
}

/// Serves the sandbox on `listener` until `shutdown` completes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    sandbox: Sandbox,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, sandbox.router())
        .with_graceful_shutdown(shutdown)
        .await
}
