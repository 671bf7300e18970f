//! The [`Sandbox`] handle and its configuration: one emulated bank (a Raiffeisen merchant, a
//! T-Bank terminal and a Sber terminal), its books behind one lock, its clock, and the HTTP client that sends its
//! notifications. Cheap to clone; clones share the books. Each bank's folder adds its own
//! methods (payer controls, notifications) to the handle.

use crate::books::Books;
use crate::callbacks;
use crate::faults::Faults;
use crate::raiffeisen;
use crate::rbs;
use crate::sber;
use crate::tbank;
use chrono::{DateTime, Utc};
use qrpayd_bank::clock::{Clock, SystemClock};
use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

/// Raiffeisenbank's NSPK member id, used in payloads unless configured otherwise.
pub const DEFAULT_BANK_MEMBER_ID: &str = "100000000007";

/// The T-Bank terminal key the sandbox answers to unless configured otherwise (test terminals'
/// keys end in `DEMO`).
pub const DEFAULT_TBANK_TERMINAL_KEY: &str = "qrpaydSandboxDEMO";

/// The RBS API account's login the sandbox answers to unless configured otherwise.
pub const DEFAULT_RBS_USER_NAME: &str = "qrpayd-sandbox-api";
/// The Sber terminal (`tid`) the sandbox answers to unless configured otherwise (the spec's
/// sample SBP terminal).
pub const DEFAULT_SBER_TID: &str = "20188357";

/// The Sber client id (`member_id`) the sandbox answers to unless configured otherwise.
pub const DEFAULT_SBER_MEMBER_ID: &str = "00000001";

/// The OAuth `client_id` of the Sber terminal unless configured otherwise.
pub const DEFAULT_SBER_CLIENT_ID: &str = "qrpayd-sandbox-client";

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
    /// The RBS gateway's API login (`userName`); empty means [`DEFAULT_RBS_USER_NAME`].
    pub rbs_user_name: String,
    /// The RBS API account's password (also accepted as `token`); empty means the
    /// `secret_key`.
    pub rbs_password: String,
    /// The RBS callback checksum key; empty means the `secret_key`.
    pub rbs_callback_key: String,
    /// The emulated Sber application's OAuth `client_id`; empty means
    /// [`DEFAULT_SBER_CLIENT_ID`].
    pub sber_client_id: String,
    /// Its `client_secret`; empty means the `secret_key`.
    pub sber_client_secret: String,
    /// The emulated Sber terminal (`tid`, also `id_qr`); empty means [`DEFAULT_SBER_TID`].
    pub sber_tid: String,
    /// The Sber client id (`member_id`); empty means [`DEFAULT_SBER_MEMBER_ID`].
    pub sber_member_id: String,
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
            rbs_user_name: DEFAULT_RBS_USER_NAME.to_owned(),
            rbs_password: String::new(),
            rbs_callback_key: String::new(),
            sber_client_id: DEFAULT_SBER_CLIENT_ID.to_owned(),
            sber_client_secret: String::new(),
            sber_tid: DEFAULT_SBER_TID.to_owned(),
            sber_member_id: DEFAULT_SBER_MEMBER_ID.to_owned(),
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
            .field("rbs_user_name", &self.rbs_user_name)
            .field("rbs_password", &"<redacted>")
            .field("rbs_callback_key", &"<redacted>")
            .field("sber_client_id", &self.sber_client_id)
            .field("sber_client_secret", &"<redacted>")
            .field("sber_tid", &self.sber_tid)
            .field("sber_member_id", &self.sber_member_id)
            .field("clock", &self.clock)
            .finish()
    }
}

pub(crate) struct Inner {
    pub(crate) config: SandboxConfig,
    pub(crate) books: Mutex<Books>,
    /// Sends callbacks; `None` if the HTTP client could not be built (callbacks are then lost).
    pub(crate) http: Option<reqwest::Client>,
}

impl fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sandbox")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

/// The emulated bank. Cheap to clone; clones share the same books.
#[derive(Clone)]
pub struct Sandbox {
    pub(crate) inner: Arc<Inner>,
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
        if config.rbs_user_name.is_empty() {
            DEFAULT_RBS_USER_NAME.clone_into(&mut config.rbs_user_name);
        }
        if config.rbs_password.is_empty() {
            config.rbs_password.clone_from(&config.secret_key);
        }
        if config.rbs_callback_key.is_empty() {
            config.rbs_callback_key.clone_from(&config.secret_key);
        }
        if config.sber_client_id.is_empty() {
            DEFAULT_SBER_CLIENT_ID.clone_into(&mut config.sber_client_id);
        }
        if config.sber_client_secret.is_empty() {
            config.sber_client_secret.clone_from(&config.secret_key);
        }
        if config.sber_tid.is_empty() {
            DEFAULT_SBER_TID.clone_into(&mut config.sber_tid);
        }
        if config.sber_member_id.is_empty() {
            DEFAULT_SBER_MEMBER_ID.clone_into(&mut config.sber_member_id);
        }
        let http = reqwest::Client::builder()
            .timeout(callbacks::ATTEMPT_TIMEOUT)
            .no_proxy()
            .build()
            .inspect_err(|error| {
                tracing::warn!(%error, "sandbox: no HTTP client, callbacks will not be sent");
            })
            .ok();
        let books = Books {
            raiffeisen: raiffeisen::State::new(
                config.sbp_merchant_id.clone(),
                config.bank_member_id.clone(),
            ),
            tbank: tbank::Books::default(),
            rbs: rbs::Books::default(),
            sber: sber::Books::default(),
            faults: Faults::default(),
        };
        Sandbox {
            inner: Arc::new(Inner {
                config,
                books: Mutex::new(books),
                http,
            }),
        }
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

    /// The bank's "now" (the configured clock).
    pub fn now(&self) -> DateTime<Utc> {
        self.inner.config.clock.now()
    }

    /// The books. A panic elsewhere while holding the lock cannot leave them half-written
    /// (every transition validates before it writes), so a poisoned lock is simply reused.
    pub(crate) fn lock(&self) -> MutexGuard<'_, Books> {
        self.inner
            .books
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

    /// The HTTP client for callbacks, if there is one.
    pub(crate) fn client(&self, transaction_id: u64) -> Option<reqwest::Client> {
        let client = self.inner.http.clone();
        if client.is_none() {
            tracing::warn!(transaction_id, "sandbox callback not sent: no HTTP client");
        }
        client
    }

    /// Sends `delivery`, honouring the callback faults (lost, duplicated, delayed).
    pub(crate) fn deliver(&self, client: reqwest::Client, delivery: callbacks::Delivery) {
        let fate = self.lock().faults.take_callback_fate();
        if !fate.sent {
            tracing::info!(
                transaction_id = delivery.transaction_id,
                "sandbox callback dropped (fault)"
            );
            return;
        }
        callbacks::spawn(client, delivery, fate.copies, fate.delay);
    }

    /// The next deactivation of `bank_id` (a Raiffeisen `qrId` or T-Bank `PaymentId`) is
    /// answered as done but not carried out: the customer can still pay, and that payment
    /// reaches the merchant late.
    pub fn ignore_next_deactivation(&self, bank_id: &str) {
        self.lock()
            .faults
            .ignore_deactivation_of
            .insert(bank_id.to_owned());
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
