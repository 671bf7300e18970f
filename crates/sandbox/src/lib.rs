//! qrpayd-sandbox: an in-process emulator of Raiffeisenbank's SBP QR API (and of a T-Bank
//! acquiring terminal), for qrpayd's demo mode, tests and staff training.
//!
//! It speaks the bank's real paths, field names and error envelopes (BANKS.md §1): QR
//! registration (v1 and v2, `QRDynamic`, `QRStatic`, `QRVariable` cash-register links), QR
//! status and cancellation, payment-info, refunds, link activations (orders) with their
//! refunds, the callback-URL setting and the bank's own sandbox payment call
//! (`/api/nspc-mock/v01/rfuture/payment/init`, which also pays a link's live order). Payments
//! trigger signed callbacks (`X-Api-Signature-SHA256`; order notices for links), retried
//! until the receiver answers 200. A sandbox-only extension charges customer-presented QRs
//! (`customer`). Under `/tbank/v2/` it is a T-Bank terminal (`tbank`, BANKS.md §3.3).
//! Sandbox-only controls under `/sandbox/...` decline payments and refunds, expire QRs, mint
//! customer QRs, list everything, and inject faults (latency, HTTP 500, business errors,
//! lost or duplicated callbacks; on the Raiffeisen and T-Bank API alike).
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
//! | `POST /api/payment/v1/orders` | auth | activate a `QRVariable` (cash-register link) with an amount; one live order per link (`ERROR.ORDER_ALREADY_ACTIVE`) |
//! | `GET`/`DELETE /api/payment/v1/orders/{orderId}` | auth | an order (`NEW`, `PAID`, `CANCELLED`, `EXPIRED`); cancel a `NEW` one (else `ORDER_HAS_FINAL_STATUS`) |
//! | `POST`/`GET /api/payments/v1/orders/{orderId}/refunds/{refundId}` | auth | refunds of a paid order |
//! | `POST /sandbox/customer-qr/charge` | auth | charge a customer-presented QR (extension) |
//! | `POST /api/nspc-mock/v01/rfuture/payment/init` | — | pay a QR, or a link's live order (the bank's own sandbox call) |
//! | `POST /tbank/v2/{Init,GetQr,GetState,Cancel,GetQrState}` | `Token` | the T-Bank terminal |
//! | `POST /tbank/v2/SbpPayTest` | `Token` | T-Bank's own sandbox call: pay, reject or expire a payment |
//! | `POST /sandbox/customer-qr` | — | mint a customer QR (`{"amount_limit"?, "confirm"?: "auto"\|"manual"}`) |
//! | `PUT /sandbox/tbank/notification-url` | — | the T-Bank terminal's notification URL (`{"url": …}`) |
//! | `POST /sandbox/qrs/{qrId}/decline` | — | the payer's bank declines an attempt (body `{"amount":..}` optional) |
//! | `POST /sandbox/qrs/{qrId}/expire` | — | let a `NEW` QR's (or a link's live order's) expiry pass now |
//! | `GET /sandbox/qrs` | — | every QR (with its transactions), refund, order, customer QR and T-Bank payment |
//! | `GET /sandbox/registry?date=YYYY-MM-DD` | — | the day's registry, Raiffeisen's `SBPreport.csv` (Windows-1251) |
//! | `POST /sandbox/refunds/{refundId}/decline` | — | an `IN_PROGRESS` refund becomes `DECLINED` |
//! | `GET`/`PUT /sandbox/faults` | — | the [`Faults`] JSON |
//!
//! Determinism: a refund answers `IN_PROGRESS` on creation and on its first
//! `GET`, `COMPLETED` from the second `GET` on (no timers), which is also its completion time
//! in the registry. Expiry is evaluated against the configured clock ([`SandboxConfig::clock`]:
//! the real one unless a test shares its manual clock) whenever a QR is read or changed.
//!
//! Modules:
//! * `state` — the books and their pure transitions (no clock, randomness or IO);
//! * `orders` — cash-register link activations (pure transitions on the same books);
//! * `customer` — customer-presented QRs (pure transitions on the same books);
//! * `tbank` — the T-Bank terminal: its books, wire and handlers;
//! * `wire` — request/response bodies with the bank's field names; amounts as exact JSON numbers;
//! * `routes` — axum handlers, Bearer auth, fault injection;
//! * `callbacks` — notification signing and delivery with retries;
//! * `registry` — the daily registry (payments and completed refunds of a Moscow date);
//! * `error` — [`SandboxError`], each variant with its bank code and HTTP status.
//!
//! Money is always [`Kopecks`]; no amount ever passes through floating point.

mod callbacks;
mod customer;
mod error;
mod orders;
mod registry;
mod routes;
mod state;
mod tbank;
mod wire;

use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use chrono::{DateTime, NaiveDate, Utc};
use qrpayd_bank::clock::{Clock, SystemClock};
use qrpayd_bank::raiffeisen::registry::Registry;
use qrpayd_domain::money::Kopecks;
use serde::{Deserialize, Serialize};

use qrpayd_domain::secret::Secret;

use crate::customer::{Charge, Confirm, CustomerQr};
pub use crate::error::SandboxError;
use crate::orders::OrderEvent;
use crate::state::{PaymentEvent, Qr, State};
use crate::tbank::TbEvent;
pub use crate::tbank::TbankError;
use crate::wire::{OrderNotification, PaymentNotification};

/// Raiffeisenbank's NSPK member id, used in payloads unless configured otherwise.
pub const DEFAULT_BANK_MEMBER_ID: &str = "100000000007";

/// The T-Bank terminal key the sandbox answers to unless configured otherwise (test terminals'
/// keys end in `DEMO`).
pub const DEFAULT_TBANK_TERMINAL_KEY: &str = "qrpaydSandboxDEMO";

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
    /// The store's `publicId`, which order (cash-register link) notifications sign in place
    /// of the merchant id (BANKS.md §1.7b); empty means the `sbp_merchant_id`.
    pub public_id: String,
    /// The emulated T-Bank terminal's `TerminalKey`; empty means
    /// [`DEFAULT_TBANK_TERMINAL_KEY`].
    pub tbank_terminal_key: String,
    /// The emulated T-Bank terminal's password (signs every `Token`); empty means the
    /// `secret_key`.
    pub tbank_password: String,
    /// Where the bank's "now" comes from: QR and order lifetimes, `RedirectDueDate`, registry
    /// days and timestamps. The real clock ([`SystemClock`]) when the sandbox runs on its own,
    /// as the bank does; a test hands it the same [`ManualClock`](qrpayd_domain::clock::ManualClock)
    /// it gives qrpayd, so both agree on the date whatever day the suite runs.
    pub clock: Arc<dyn Clock>,
}

impl SandboxConfig {
    /// A config with the default bank member id.
    pub fn new(sbp_merchant_id: impl Into<String>, secret_key: impl Into<String>) -> Self {
        SandboxConfig {
            sbp_merchant_id: sbp_merchant_id.into(),
            secret_key: secret_key.into(),
            bank_member_id: DEFAULT_BANK_MEMBER_ID.to_owned(),
            public_id: String::new(),
            tbank_terminal_key: DEFAULT_TBANK_TERMINAL_KEY.to_owned(),
            tbank_password: String::new(),
            clock: Arc::new(SystemClock),
        }
    }

    /// The same config reading time from `clock`.
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }
}

impl fmt::Debug for SandboxConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SandboxConfig")
            .field("sbp_merchant_id", &self.sbp_merchant_id)
            .field("secret_key", &"<redacted>")
            .field("bank_member_id", &self.bank_member_id)
            .field("public_id", &self.public_id)
            .field("tbank_terminal_key", &self.tbank_terminal_key)
            .field("tbank_password", &"<redacted>")
            .field("clock", &self.clock)
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
    /// The next N cancellations of an open QR, link order or T-Bank payment race a payment:
    /// the customer pays a moment before the cancel arrives (counted down per cancel). The
    /// Raiffeisen `DELETE` is then refused (`ERROR.QR_ALREADY_PAID` / `ORDER_HAS_FINAL_STATUS`);
    /// T-Bank's `Cancel` refunds the payment.
    pub customer_pays_before_cancel: u32,
    /// The T-Bank terminal also sends a fiscal-receipt notice (`Status: RECEIPT`) after each
    /// payment, as a terminal with an online cash register does.
    pub tbank_receipts: bool,
    /// The next N API calls that change something at the bank (Raiffeisen: every `POST` and
    /// `DELETE`; T-Bank: `Init` and `Cancel`) are carried out, but their answer is lost on the
    /// way back: the caller gets HTTP 500 although the bank acted (counted down per such call,
    /// after the other faults). The case "did my request reach the bank?".
    pub lose_answer_next: u32,
    /// The next N deactivations of an open QR, order or T-Bank payment are refused with a
    /// business error and leave it payable (counted down per deactivation).
    pub refuse_deactivation_next: u32,
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
        if config.tbank_terminal_key.is_empty() {
            DEFAULT_TBANK_TERMINAL_KEY.clone_into(&mut config.tbank_terminal_key);
        }
        if config.public_id.is_empty() {
            config.public_id.clone_from(&config.sbp_merchant_id);
        }
        if config.tbank_password.is_empty() {
            config.tbank_password.clone_from(&config.secret_key);
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
    /// amount must equal the QR's, the QR must be `NEW` and not expired. A cash-register link
    /// (`QRVariable`) is paid through its live order, whose amount it must be. Sends the
    /// callback.
    pub async fn pay(&self, qr_id: &str, amount: Kopecks) -> Result<(), SandboxError> {
        let link = self.lock().is_link(qr_id);
        if link {
            let event = self.lock().pay_link(qr_id, amount, self.now())?;
            tracing::info!(
                qr_id,
                order = %event.order_id,
                transaction_id = event.transaction_id,
                amount = %amount,
                "sandbox cash-register link paid"
            );
            self.notify_order(&event);
            return Ok(());
        }
        let event = self.lock().pay(qr_id, amount, self.now())?;
        tracing::info!(
            qr_id,
            transaction_id = event.transaction_id,
            amount = %amount,
            "sandbox QR paid"
        );
        self.notify(&event);
        Ok(())
    }

    /// Mints a customer-presented QR, as the customer's bank app would show it, and returns
    /// its payload (what a register scans). Above `amount_limit` the customer's bank declines;
    /// with `manual` the charge waits for the customer (pay its QR with [`Sandbox::pay`]).
    pub fn new_customer_qr(&self, amount_limit: Option<Kopecks>, manual: bool) -> String {
        let confirm = if manual {
            Confirm::Manual
        } else {
            Confirm::Auto
        };
        self.mint_customer_qr(amount_limit, confirm).payload
    }

    /// The T-Bank customer pays payment `payment_id` (like `SbpPayTest`). Sends the
    /// notification.
    pub fn tbank_pay(&self, payment_id: &str) -> Result<(), TbankError> {
        self.tbank_pay_test(payment_id, false, false)
    }

    /// The T-Bank customer's bank rejects payment `payment_id` (`SbpPayTest` with
    /// `IsRejected`). Sends the notification.
    pub fn tbank_reject(&self, payment_id: &str) -> Result<(), TbankError> {
        self.tbank_pay_test(payment_id, false, true)
    }

    /// T-Bank payment `payment_id` runs out of time (`SbpPayTest` with `IsDeadlineExpired`).
    /// Sends the notification.
    pub fn tbank_expire(&self, payment_id: &str) -> Result<(), TbankError> {
        self.tbank_pay_test(payment_id, true, false)
    }

    /// T-Bank payment `payment_id`'s refund in progress is declined (the SBP refused it).
    pub fn tbank_decline_refund(&self, payment_id: &str) -> Result<(), TbankError> {
        self.lock()
            .tbank
            .decline_refund(payment_id, self.now())
            .map(drop)
    }

    /// The T-Bank terminal's status of payment `payment_id` (`GetState`'s `Status`), read
    /// without counting as a status query.
    pub fn tbank_status(&self, payment_id: &str) -> Result<String, TbankError> {
        let now = self.now();
        let mut state = self.lock();
        let payment = state
            .tbank
            .all(now)
            .into_iter()
            .find(|p| p.id == payment_id)
            .ok_or_else(|| TbankError::PaymentNotFound(payment_id.to_owned()))?;
        Ok(payment.status_text().to_owned())
    }

    /// The T-Bank terminal's notification URL, for payments created without
    /// `NotificationURL` (`None` clears it).
    pub fn set_tbank_notification_url(&self, url: Option<String>) {
        tracing::info!(?url, "sandbox T-Bank notification URL set");
        self.lock().tbank.notification_url = url;
    }

    fn tbank_pay_test(
        &self,
        payment_id: &str,
        deadline_expired: bool,
        rejected: bool,
    ) -> Result<(), TbankError> {
        let event =
            self.lock()
                .tbank
                .pay_test(payment_id, deadline_expired, rejected, self.now())?;
        self.notify_tbank(&event);
        Ok(())
    }

    /// Mints a customer QR.
    pub(crate) fn mint_customer_qr(
        &self,
        amount_limit: Option<Kopecks>,
        confirm: Confirm,
    ) -> CustomerQr {
        let token = routes::fresh_qr_id(state::QrType::Static).replacen("AS1", "CQ1", 1);
        let qr = self.lock().mint_customer_qr(&token, amount_limit, confirm);
        tracing::info!(payload = %qr.payload, ?confirm, "sandbox customer QR minted");
        qr
    }

    /// Charges a customer QR; sends the callback when the customer's bank answered at once.
    pub(crate) fn charge_customer_qr(&self, charge: Charge) -> Result<Qr, SandboxError> {
        let (qr, event) =
            self.lock()
                .charge_customer_qr(charge, self.now(), routes::fresh_qr_id)?;
        tracing::info!(qr_id = %qr.id, order = %qr.order, "sandbox customer QR charged");
        if let Some(event) = event {
            self.notify(&event);
        }
        Ok(qr)
    }

    /// The T-Bank terminal key.
    pub(crate) fn tbank_terminal_key(&self) -> &str {
        &self.inner.config.tbank_terminal_key
    }

    /// The T-Bank terminal's password.
    pub(crate) fn tbank_password(&self) -> &str {
        &self.inner.config.tbank_password
    }

    /// The callback URL the merchant set (`POST /api/settings/v1/callback`), if any.
    pub fn callback_url(&self) -> Option<String> {
        self.lock().callback_url.clone()
    }

    /// The registry of `date` (Moscow time), as `GET /sandbox/registry?date=YYYY-MM-DD`
    /// serves it before writing: every successful payment made that day and every refund
    /// completed that day (see the `registry` module for the rows, fees and totals).
    pub fn registry(&self, date: NaiveDate) -> Registry {
        let (qrs, orders, refunds) = {
            let mut state = self.lock();
            let now = self.now();
            (
                state.all_qrs(now),
                state.all_orders(now),
                state.all_refunds(),
            )
        };
        registry::build(self.sbp_merchant_id(), &qrs, &orders, &refunds, date)
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
        let event = self.lock().decline(qr_id, amount, self.now())?;
        tracing::info!(
            qr_id,
            transaction_id = event.transaction_id,
            "sandbox payment declined"
        );
        self.notify(&event);
        Ok(())
    }

    /// The bank's "now" (the configured clock).
    pub fn now(&self) -> DateTime<Utc> {
        self.inner.config.clock.now()
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
            expect_body: None,
            transaction_id: event.transaction_id,
        };
        self.deliver(client, delivery, &faults);
    }

    /// Sends the order notification (§1.7b) of a paid link to the callback URL.
    fn notify_order(&self, event: &OrderEvent) {
        let url = self.lock().callback_url.clone();
        let Some(url) = url else {
            tracing::info!(
                transaction_id = event.transaction_id,
                "sandbox order callback not sent: no callback URL set"
            );
            return;
        };
        let config = &self.inner.config;
        let notification = OrderNotification::new(event);
        let body = match serde_json::to_string(&notification) {
            Ok(body) => body,
            Err(error) => {
                tracing::warn!(%error, "sandbox order callback not sent: cannot serialize");
                return;
            }
        };
        // Order notifications sign the store's publicId where SBP notices sign the merchant id.
        let message = callbacks::signature_message(
            event.amount,
            &config.public_id,
            &event.order_id,
            notification.value(),
            notification.date(),
        );
        let delivery = callbacks::Delivery {
            url,
            body,
            signature: callbacks::sign(&config.secret_key, &message),
            expect_body: None,
            transaction_id: event.transaction_id,
        };
        let faults = self.faults();
        if let Some(client) = self.client(event.transaction_id) {
            self.deliver(client, delivery, &faults);
        }
    }

    /// Sends a T-Bank notification (signed with `Token`) to the payment's `NotificationURL`,
    /// else the terminal's; a payment is followed by its fiscal-receipt notice under the
    /// `tbank_receipts` fault.
    pub(crate) fn notify_tbank(&self, event: &TbEvent) {
        self.notify_tbank_one(event);
        if event.status == "CONFIRMED" && self.faults().tbank_receipts {
            self.notify_tbank_one(&event.receipt());
        }
    }

    fn notify_tbank_one(&self, event: &TbEvent) {
        let transaction_id = event.payment_id.parse::<u64>().unwrap_or_default();
        let url = event
            .url
            .clone()
            .or_else(|| self.lock().tbank.notification_url.clone());
        let Some(url) = url else {
            tracing::info!(
                payment_id = %event.payment_id,
                "sandbox T-Bank notification not sent: no NotificationURL"
            );
            return;
        };
        let config = &self.inner.config;
        let body = tbank::notification_body(
            event,
            &config.tbank_terminal_key,
            &Secret::new(config.tbank_password.clone()),
        );
        let delivery = callbacks::Delivery {
            url,
            body,
            signature: None,
            expect_body: Some("OK"),
            transaction_id,
        };
        let faults = self.faults();
        if let Some(client) = self.client(transaction_id) {
            self.deliver(client, delivery, &faults);
        }
    }

    /// The HTTP client for callbacks, if there is one.
    fn client(&self, transaction_id: u64) -> Option<reqwest::Client> {
        let client = self.inner.http.clone();
        if client.is_none() {
            tracing::warn!(transaction_id, "sandbox callback not sent: no HTTP client");
        }
        client
    }

    /// Sends `delivery`, honouring the callback faults.
    fn deliver(&self, client: reqwest::Client, delivery: callbacks::Delivery, faults: &Faults) {
        if faults.drop_callbacks {
            tracing::info!(
                transaction_id = delivery.transaction_id,
                "sandbox callback dropped (fault)"
            );
            return;
        }
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
