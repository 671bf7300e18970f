//! Payment orchestration: the register's operations and the workers' jobs, in one place.
//!
//! Rules this module keeps (see ARCHITECTURE.md, "Invariants"):
//! * the payment row is saved before the bank is called, and every state change goes through
//!   [`Store::apply_event`] (one transaction, the domain's transition function);
//! * a create is idempotent per register and `Idempotency-Key`; a replay returns the same
//!   payment, never a second QR;
//! * closing (cancel or expiry) deactivates the QR and then *asks the bank* whether it was
//!   paid; only that answer decides between `paid` and `cancelled`/`expired`;
//! * anything not final has a job row, so a restart picks it up again;
//! * bank answers are checked (adapter) and notifications verified (adapter) before use;
//! * a notification is a hint: it names its payment by the bank's *signed* order only, and the
//!   bank's authenticated answer (a status query) decides what changes;
//! * closing always ends: whatever the deactivation answer, the bank's payment status decides,
//!   and a QR past its own expiry that the bank reports unpaid closes.

mod close;
mod create;
mod jobs;
mod notify;
mod outcome;
mod refunds;
#[cfg(test)]
mod tests;

use crate::clock::Clock;
use crate::health::HealthBoard;
use crate::hub::ChangeHub;
use chrono::{DateTime, Utc};
use qrpayd_bank::{BankAdapter, BankError, CallbackError, PaymentQuery};
use qrpayd_domain::ids::{OrderRef, PaymentId, ProviderName, RegisterId};
use qrpayd_domain::money::{Currency, Kopecks};
use qrpayd_domain::payment::{PaymentEvent, QrType};
use qrpayd_store::{Applied, EventDetails, Payment, Store, StoreError};
pub use refunds::{CreateRefund, RefundError};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// A configured bank behind a provider name.
#[derive(Clone)]
pub struct Provider {
    /// The name registers use.
    pub name: ProviderName,
    /// The adapter.
    pub adapter: Arc<dyn BankAdapter>,
    /// How often pending payments are polled.
    pub poll_interval: Duration,
}

impl std::fmt::Debug for Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Provider")
            .field("name", &self.name)
            .field("poll_interval", &self.poll_interval)
            .finish_non_exhaustive()
    }
}

/// Settings the orchestration needs (from the config).
#[derive(Debug, Clone)]
pub struct Settings {
    /// QR lifetime.
    pub payment_ttl: Duration,
    /// Timeout of one bank call.
    pub bank_timeout: Duration,
    /// How long the register waits for an answer: a create falls over to another provider
    /// only while one more bank call fits.
    pub register_timeout: Duration,
    /// How long a refund without a bank id may show no trace before it is recorded failed.
    pub refund_settle: Duration,
    /// What to do when a customer pays after the payment was closed.
    pub late_payment_policy: LatePolicy,
}

/// The late-payment policy (`late_payment_policy` in the config).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LatePolicy {
    /// Refund the whole payment automatically (the default: the customer has no goods).
    Refund,
    /// Mark it for a person to decide.
    Flag,
}

/// A validated create request.
#[derive(Debug, Clone)]
pub struct CreatePayment {
    /// The bill.
    pub amount: Kopecks,
    /// RUB.
    pub currency: Currency,
    /// Which bank: the register's first choice, or the one the request named.
    pub provider: ProviderName,
    /// The providers to fall over to, in order, when `provider` is down or fails before a QR
    /// exists (a dynamic QR only; empty when the request named its provider).
    pub fallback: Vec<ProviderName>,
    /// The sale receipt id.
    pub order: Option<OrderRef>,
    /// Payment purpose shown in the bank app.
    pub description: Option<String>,
    /// Dynamic QR, the register's cash-register link, or the customer's QR.
    pub qr_type: QrType,
    /// The customer's QR as scanned (with [`QrType::Customer`]).
    pub customer_qr: Option<String>,
}

impl CreatePayment {
    /// A fingerprint of the request, to tell a retry from a reused key.
    fn hash(&self) -> String {
        let canonical = serde_json::json!([
            self.amount.get(),
            self.currency.code(),
            self.provider.as_str(),
            self.order.as_ref().map(OrderRef::as_str),
            self.description,
            self.qr_type.as_str(),
            self.customer_qr,
        ]);
        hex::encode(Sha256::digest(canonical.to_string().as_bytes()))
    }
}

/// Why an operation could not be done as asked.
#[derive(Debug, thiserror::Error)]
pub enum PaymentError {
    /// No such payment for this register.
    #[error("payment not found")]
    NotFound,
    /// The provider name is not configured.
    #[error("unknown provider {0:?}")]
    UnknownProvider(String),
    /// The key was used before with a different request.
    #[error("this Idempotency-Key was already used for a different request")]
    KeyReused(Box<Payment>),
    /// The payment is still being created (a concurrent request with the same key).
    #[error("the payment is still being created; retry shortly")]
    NotReady(Box<Payment>),
    /// The bank did not give a QR; the payment is `failed`.
    #[error("the bank could not issue a QR")]
    CreationFailed(Box<Payment>, BankError),
    /// The provider cannot do what was asked (a QR type it does not support).
    #[error("{0}")]
    Unsupported(String),
    /// The amount is outside what the provider's bank takes (its documented SBP limits).
    #[error("{0}")]
    AmountOutOfRange(String),
    /// The bank's answer to a cash-register activation was lost: the activation may exist, and
    /// the printed link may be payable. qrpayd cancels it at the bank before it calls the
    /// payment failed (or records it paid if the customer was faster); the payment stays
    /// `pending` until then.
    #[error("the bank did not confirm the activation; qrpayd is closing it at the bank")]
    CreationUnknown(Box<Payment>, BankError),
    /// A cash-register payment, but no link is bound to the register.
    #[error("no cash-register link is bound to this register")]
    NoCashLink,
    /// The register's cash-register link is already activated for another payment.
    #[error("the register's cash-register link is busy with another payment")]
    LinkBusy(Box<Payment>),
    /// Cancel refused: the customer already paid.
    #[error("the customer has already paid")]
    AlreadyPaid(Box<Payment>),
    /// Cancel refused: the payment is already failed or expired.
    #[error("the payment is already final")]
    NotCancellable(Box<Payment>),
    /// Cancel asked, but the bank could not confirm yet; qrpayd keeps trying.
    #[error("the bank did not confirm the cancellation yet; qrpayd keeps trying")]
    CancelPending(Box<Payment>, BankError),
    /// The journal failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What a create returned.
#[derive(Debug, Clone)]
pub struct Created {
    /// The payment.
    pub payment: Payment,
    /// True when this is a repeat of an earlier request with the same key.
    pub replayed: bool,
}

/// What happened to a notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallbackOutcome {
    /// Confirmed with the bank and applied (or already known, or nothing to do).
    Accepted,
    /// Verified, but about nothing of ours (an order we do not know, another merchant):
    /// acknowledged so the bank stops re-sending it, and nothing changed.
    Deferred(String),
    /// Verified and ours, but the bank could not be asked to confirm it: answered with an
    /// error so the bank sends it again (the payment's job keeps asking too).
    Unconfirmed(String),
}

/// Why a notification was refused.
#[derive(Debug, thiserror::Error)]
pub enum CallbackProblem {
    /// Not a provider we know.
    #[error("unknown provider")]
    UnknownProvider,
    /// Signature or shape wrong.
    #[error(transparent)]
    Refused(#[from] CallbackError),
    /// The journal failed (the bank will retry).
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why closing a payment at the bank did not finish; the payment stays `Closing` and its job
/// retries.
#[derive(Debug, thiserror::Error)]
enum CloseError {
    /// The bank failed or refused.
    #[error(transparent)]
    Bank(#[from] BankError),
    /// The customer is paying right now: the outcome is not known yet.
    #[error("the customer is paying right now; asking the bank again shortly")]
    InProgress,
    /// The bank did not deactivate the QR and it is not past its own expiry yet.
    #[error("{0}; asking the bank again shortly")]
    StillOpen(String),
    /// The bank reports a status its documentation does not list.
    #[error("the bank reports an undocumented status {0:?}; asking again later")]
    Unrecognised(String),
    /// The journal failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The orchestrator. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Payments {
    store: Store,
    clock: Arc<dyn Clock>,
    hub: ChangeHub,
    providers: Arc<HashMap<ProviderName, Provider>>,
    health: Arc<HealthBoard>,
    settings: Settings,
}

/// Longest pause between retries of a failing bank call.
const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// First pause after a failed bank call while closing.
const RETRY_BASE: Duration = Duration::from_secs(1);

/// How long after a QR's own expiry (the `qrExpirationDate` / `RedirectDueDate` we sent) the
/// bank's clock has certainly passed it too: an unpaid QR is then closed even if the bank
/// never confirmed a deactivation.
const BANK_EXPIRY_GRACE: chrono::TimeDelta = chrono::TimeDelta::seconds(30);

/// How long the late watch keeps asking a bank that does not answer, past the watch's end,
/// before leaving a closed payment to notifications and reconciliation.
const LATE_WATCH_GIVE_UP: chrono::TimeDelta = chrono::TimeDelta::hours(1);

fn chrono(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

/// Exponential backoff: base·2^attempts, at most [`MAX_BACKOFF`].
pub fn backoff(base: Duration, attempts: i64) -> Duration {
    let shift = u32::try_from(attempts.clamp(0, 16)).unwrap_or(16);
    base.saturating_mul(1u32 << shift).min(MAX_BACKOFF)
}

impl Payments {
    /// Builds the orchestrator.
    pub fn new(
        store: Store,
        clock: Arc<dyn Clock>,
        hub: ChangeHub,
        providers: HashMap<ProviderName, Provider>,
        health: Arc<HealthBoard>,
        settings: Settings,
    ) -> Self {
        Payments {
            store,
            clock,
            hub,
            providers: Arc::new(providers),
            health,
            settings,
        }
    }

    /// The providers' health.
    pub fn health(&self) -> &HealthBoard {
        &self.health
    }

    /// The change hub (shutdown releases its waiters).
    pub fn hub(&self) -> &ChangeHub {
        &self.hub
    }

    /// The journal (for health checks and tests).
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Is `name` a configured provider?
    pub fn provider(&self, name: &str) -> Option<&Provider> {
        ProviderName::parse(name)
            .ok()
            .and_then(|n| self.providers.get(&n))
    }

    /// The names of all providers.
    pub fn provider_names(&self) -> Vec<&ProviderName> {
        self.providers.keys().collect()
    }

    fn provider_of(&self, payment: &Payment) -> Option<&Provider> {
        self.providers.get(&payment.provider)
    }

    /// When a worker should decide that a create whose bank call never came back was
    /// interrupted (a crash): after the bank timeout, with a margin.
    fn creation_deadline(&self, created_at: DateTime<Utc>) -> DateTime<Utc> {
        created_at + chrono(self.settings.bank_timeout) + chrono::Duration::seconds(5)
    }

    /// Applies an event and announces a change to long-polls.
    async fn apply(
        &self,
        id: &PaymentId,
        event: PaymentEvent,
        mut details: EventDetails,
        next_job_at: DateTime<Utc>,
    ) -> Result<Applied, StoreError> {
        let now = self.clock.now();
        if event == PaymentEvent::BankPaid && details.on_late.is_none() {
            // Prepared for every "paid" report; the store uses it only if the payment turns
            // out to be late, in the same transaction.
            details.on_late = self.late_handling(id, now).await?;
        }
        let applied = self
            .store
            .apply_event(id, event, &details, now, next_job_at.max(now))
            .await?;
        match &applied {
            Applied::Changed {
                payment,
                from,
                late,
            } => {
                if *late {
                    tracing::warn!(
                        payment = %id,
                        from = %from,
                        action = payment.late_action.as_deref().unwrap_or("flag"),
                        "LATE PAYMENT: the customer paid after the payment was {from}; it is now paid \
                         (late_action = refund: refunded automatically; flag: a person must decide)"
                    );
                } else {
                    tracing::info!(payment = %id, from = %from, to = %payment.state, source = details.source, "payment state changed");
                }
                self.hub.changed(id.as_str());
            }
            Applied::Unchanged(_) => {
                tracing::debug!(payment = %id, ?event, "event repeats the current state");
            }
            Applied::Illegal(payment, e) => {
                tracing::warn!(payment = %id, state = %payment.state, ?event, source = details.source, "ignored: {e}");
            }
        }
        Ok(applied)
    }

    /// A register's payment (another register's is "not found"); `None` = the admin, who
    /// sees every payment.
    pub async fn get(
        &self,
        register: Option<&RegisterId>,
        id: &PaymentId,
    ) -> Result<Payment, PaymentError> {
        match self.store.payment(id).await? {
            Some(p) if register.is_none_or(|r| r == &p.register_id) => Ok(p),
            _ => Err(PaymentError::NotFound),
        }
    }

    /// Payments matching `filter` (the caller restricts it to a register's own).
    pub async fn list(
        &self,
        filter: &qrpayd_store::PaymentFilter,
    ) -> Result<Vec<Payment>, StoreError> {
        self.store.list_payments(filter).await
    }

    /// Long-poll: returns when the payment is final or `wait` has passed.
    pub async fn wait_final(
        &self,
        register: Option<&RegisterId>,
        id: &PaymentId,
        wait: Duration,
    ) -> Result<Payment, PaymentError> {
        let payment = self.get(register, id).await?;
        if payment.state.is_final() || wait.is_zero() {
            return Ok(payment);
        }
        let deadline = tokio::time::Instant::now() + wait;
        self.wait_until(id, deadline, |p| p.state.is_final()).await
    }

    async fn wait_until(
        &self,
        id: &PaymentId,
        deadline: tokio::time::Instant,
        done: impl Fn(&Payment) -> bool,
    ) -> Result<Payment, PaymentError> {
        let mut changes = self.hub.subscribe();
        loop {
            let payment = self
                .store
                .payment(id)
                .await?
                .ok_or(PaymentError::NotFound)?;
            if done(&payment) || self.hub.is_closing() {
                return Ok(payment);
            }
            tokio::select! {
                () = changes.changed(id.as_str()) => {}
                () = tokio::time::sleep_until(deadline) => {
                    return self.store.payment(id).await?.ok_or(PaymentError::NotFound);
                }
            }
        }
    }

    /// The status query for a payment with a QR.
    fn query_of(payment: &Payment, qr_id: &qrpayd_domain::ids::QrId) -> PaymentQuery {
        PaymentQuery {
            payment_id: payment.id.clone(),
            qr_id: qr_id.clone(),
            amount: payment.amount,
            currency: payment.currency,
            qr_type: payment.qr_type,
        }
    }

    /// Has the bank's clock certainly passed the QR's own expiry?
    fn past_bank_expiry(&self, payment: &Payment) -> bool {
        self.clock.now() >= payment.expires_at + BANK_EXPIRY_GRACE
    }

    /// Records a payment the bank's registry lists as taken while the journal has it as not
    /// paid (reconciliation). A closed payment becomes paid *late*, under the policy.
    pub async fn record_paid_from_reconciliation(
        &self,
        id: &PaymentId,
    ) -> Result<Option<Payment>, StoreError> {
        let details = EventDetails {
            source: "reconciliation",
            ..EventDetails::default()
        };
        match self
            .apply(id, PaymentEvent::BankPaid, details, self.clock.now())
            .await?
        {
            Applied::Changed { payment, .. } | Applied::Unchanged(payment) => Ok(Some(payment)),
            Applied::Illegal(_, _) => Ok(None),
        }
    }
}
