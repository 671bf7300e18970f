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

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use qrpayd_bank::{
    BankAdapter, BankError, BankPaymentStatus, BankRefundStatus, CallbackError, CreateQr,
    Deactivation, PaymentQuery, QrKind,
};
use qrpayd_domain::ids::{IdempotencyKey, OrderRef, PaymentId, ProviderName, RegisterId};
use qrpayd_domain::money::{Currency, Kopecks};
use qrpayd_domain::payment::{CloseReason, PaymentEvent, PaymentState, QrType};
use qrpayd_domain::refund::RefundEvent;
use qrpayd_store::{
    Applied, ClaimedJob, EventDetails, Inserted, JobTarget, NewPayment, NewRefund, Payment,
    RefundInserted, Store, StoreError,
};
use sha2::{Digest, Sha256};

use crate::clock::Clock;
use crate::hub::ChangeHub;

mod refunds;

pub use refunds::{CreateRefund, RefundError};

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
    /// Which bank.
    pub provider: ProviderName,
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

fn chrono(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

/// Exponential backoff: base·2^attempts, at most [`MAX_BACKOFF`].
pub fn backoff(base: Duration, attempts: i64) -> Duration {
    let shift = u32::try_from(attempts.clamp(0, 16)).unwrap_or(16);
    base.saturating_mul(1u32 << shift).min(MAX_BACKOFF)
}

/// The stable failure code stored for a bank error at creation.
fn failure_code(e: &BankError) -> &'static str {
    match e {
        BankError::Timeout => "bank_timeout",
        BankError::Unavailable(_) => "bank_unavailable",
        BankError::Rejected { .. } => "bank_rejected",
        BankError::Protocol(_) => "bank_protocol_error",
        BankError::Unsupported(_) => "bank_unsupported",
        BankError::LinkBusy(_) => "bank_link_busy",
    }
}

/// Recovers the bank error from a stored creation failure (for idempotent replays).
fn stored_creation_error(payment: &Payment) -> Option<BankError> {
    let (code, message) = payment.failure.as_ref()?;
    Some(match code.as_str() {
        "bank_timeout" => BankError::Timeout,
        "bank_unavailable" | "creation_interrupted" => BankError::Unavailable(message.clone()),
        "bank_rejected" => BankError::Rejected {
            code: message.split(':').next().unwrap_or_default().to_owned(),
            message: message.clone(),
        },
        "bank_protocol_error" => BankError::Protocol(message.clone()),
        "bank_unsupported" => BankError::Unsupported(message.clone()),
        "bank_link_busy" => BankError::LinkBusy(message.clone()),
        _ => return None,
    })
}

impl Payments {
    /// Builds the orchestrator.
    pub fn new(
        store: Store,
        clock: Arc<dyn Clock>,
        hub: ChangeHub,
        providers: HashMap<ProviderName, Provider>,
        settings: Settings,
    ) -> Self {
        Payments {
            store,
            clock,
            hub,
            providers: Arc::new(providers),
            settings,
        }
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
            Applied::Changed { payment, from } => {
                if payment.late && payment.state == PaymentState::Paid && from.is_final() {
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

    /// Creates a payment and its QR (or returns the earlier one for a repeated key).
    pub async fn create(
        &self,
        register: &RegisterId,
        key: IdempotencyKey,
        request: CreatePayment,
    ) -> Result<Created, PaymentError> {
        let provider = self
            .providers
            .get(&request.provider)
            .ok_or_else(|| PaymentError::UnknownProvider(request.provider.to_string()))?
            .clone();
        // What the bank must do; refused before anything is saved when it cannot.
        if !provider.adapter.capabilities().supports(request.qr_type) {
            return Err(PaymentError::Unsupported(format!(
                "provider {} does not support {} payments",
                provider.name,
                request.qr_type.as_str()
            )));
        }
        let capabilities = provider.adapter.capabilities();
        if !capabilities.accepts_amount(request.amount) {
            let bound =
                |k: Option<Kopecks>| k.map_or_else(|| "-".to_owned(), |k| k.to_rubles_fixed());
            return Err(PaymentError::AmountOutOfRange(format!(
                "provider {} takes amounts from {} to {} RUB; {} RUB is outside",
                provider.name,
                bound(capabilities.min_amount),
                bound(capabilities.max_amount),
                request.amount.to_rubles_fixed()
            )));
        }
        let kind = match request.qr_type {
            QrType::Dynamic => QrKind::Dynamic,
            QrType::Customer => QrKind::Customer {
                scanned: request.customer_qr.clone().unwrap_or_default(),
            },
            QrType::CashRegister => {
                let link = self
                    .store
                    .link_of(register)
                    .await?
                    .ok_or(PaymentError::NoCashLink)?;
                if link.provider != provider.name {
                    return Err(PaymentError::Unsupported(format!(
                        "the register's cash-register link belongs to provider {}, not {}",
                        link.provider, provider.name
                    )));
                }
                QrKind::CashLink {
                    link_qr_id: link.qr_id,
                    link_payload: link.payload,
                }
            }
        };
        let now = self.clock.now();
        let new = NewPayment {
            id: PaymentId::from_u128(uuid::Uuid::now_v7().as_u128()),
            register_id: register.clone(),
            idempotency_key: key,
            request_hash: request.hash(),
            amount: request.amount,
            currency: request.currency,
            provider: request.provider.clone(),
            order: request.order.clone(),
            description: request.description.clone(),
            created_at: now,
            expires_at: now + chrono(self.settings.payment_ttl),
            qr_type: request.qr_type,
        };
        let payment = match self
            .store
            .insert_payment(&new, self.creation_deadline(now))
            .await?
        {
            Inserted::New(payment) => payment,
            Inserted::Existing(existing) => return self.replay(existing, &new.request_hash).await,
            Inserted::LinkBusy(live) => return Err(PaymentError::LinkBusy(live)),
        };
        tracing::info!(payment = %payment.id, register = %register, amount = %payment.amount, provider = %provider.name, "payment saved; asking the bank for a QR");
        let asked = CreateQr {
            payment_id: payment.id.clone(),
            amount: payment.amount,
            currency: payment.currency,
            expires_at: payment.expires_at,
            description: payment.description.clone(),
            kind,
        };
        match provider.adapter.create_qr(&asked).await {
            Ok(qr) => {
                let first_poll =
                    (self.clock.now() + chrono(provider.poll_interval)).min(payment.expires_at);
                let details = EventDetails {
                    qr: Some((qr.qr_id, qr.payload)),
                    source: "bank registration",
                    ..EventDetails::default()
                };
                let applied = self
                    .apply(&payment.id, PaymentEvent::QrIssued, details, first_poll)
                    .await?;
                let payment = applied.payment().clone();
                if payment.state == PaymentState::Failed {
                    // A worker gave up on this create while the bank was answering.
                    let error = stored_creation_error(&payment).unwrap_or(BankError::Timeout);
                    return Err(PaymentError::CreationFailed(Box::new(payment), error));
                }
                self.hub.payment_created(register.as_str());
                Ok(Created {
                    payment,
                    replayed: false,
                })
            }
            Err(error)
                if payment.qr_type == QrType::CashRegister
                    && !matches!(
                        error,
                        BankError::Rejected { .. }
                            | BankError::LinkBusy(_)
                            | BankError::Unsupported(_)
                    ) =>
            {
                // The activation may exist at the bank, and the printed link is in plain view:
                // close it there before calling the payment failed.
                tracing::warn!(payment = %payment.id, "the bank's answer to the link activation was lost ({error}); cancelling it at the bank");
                let payment = self.recover_creation(&payment, 0).await?;
                match payment.state {
                    PaymentState::Creating => {
                        Err(PaymentError::CreationUnknown(Box::new(payment), error))
                    }
                    _ => Err(PaymentError::CreationFailed(Box::new(payment), error)),
                }
            }
            Err(error) => {
                tracing::warn!(payment = %payment.id, "the bank did not issue a QR: {error}");
                let message = match &error {
                    BankError::Rejected { code, message } => format!("{code}: {message}"),
                    other => other.to_string(),
                };
                let details = EventDetails {
                    failure: Some((failure_code(&error).to_owned(), message)),
                    source: "bank registration",
                    ..EventDetails::default()
                };
                let applied = self
                    .apply(
                        &payment.id,
                        PaymentEvent::CreationFailed,
                        details,
                        self.clock.now(),
                    )
                    .await?;
                Err(PaymentError::CreationFailed(
                    Box::new(applied.payment().clone()),
                    error,
                ))
            }
        }
    }

    /// A repeated create: same request → the same payment (waiting for an in-flight create to
    /// finish); different request → refused.
    async fn replay(&self, existing: Payment, request_hash: &str) -> Result<Created, PaymentError> {
        if existing.request_hash != request_hash {
            return Err(PaymentError::KeyReused(Box::new(existing)));
        }
        let payment = if existing.state == PaymentState::Creating {
            let deadline =
                tokio::time::Instant::now() + self.settings.bank_timeout + Duration::from_secs(1);
            self.wait_until(&existing.id, deadline, |p| {
                p.state != PaymentState::Creating
            })
            .await?
        } else {
            existing
        };
        match payment.state {
            PaymentState::Creating => Err(PaymentError::NotReady(Box::new(payment))),
            PaymentState::Failed if payment.qr.is_none() => {
                let error = stored_creation_error(&payment).unwrap_or(BankError::Timeout);
                Err(PaymentError::CreationFailed(Box::new(payment), error))
            }
            _ => Ok(Created {
                payment,
                replayed: true,
            }),
        }
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

    /// The cashier cancels: deactivate the QR, re-check the bank, report what really happened.
    pub async fn cancel(
        &self,
        register: &RegisterId,
        id: &PaymentId,
    ) -> Result<Payment, PaymentError> {
        let payment = self.get(Some(register), id).await?;
        match payment.state {
            PaymentState::Cancelled => return Ok(payment),
            PaymentState::Paid => return Err(PaymentError::AlreadyPaid(Box::new(payment))),
            PaymentState::Failed | PaymentState::Expired => {
                return Err(PaymentError::NotCancellable(Box::new(payment)));
            }
            PaymentState::Creating => return Err(PaymentError::NotReady(Box::new(payment))),
            PaymentState::Pending | PaymentState::Closing(_) => {}
        }
        // Record the intent first, with the job due soon: if we die mid-way, a worker finishes.
        let retry_at = self.clock.now() + chrono(RETRY_BASE);
        let details = EventDetails {
            source: "register cancel",
            ..EventDetails::default()
        };
        let applied = self
            .apply(
                id,
                PaymentEvent::CloseRequested(CloseReason::Cancel),
                details,
                retry_at,
            )
            .await?;
        let payment = applied.payment().clone();
        let payment = if let PaymentState::Closing(_) = payment.state {
            match self.close_at_bank(&payment).await {
                Ok(closed) => closed,
                Err(CloseError::Store(e)) => return Err(e.into()),
                Err(error) => {
                    self.store
                        .reschedule_job(
                            &JobTarget::Payment(id.clone()),
                            retry_at,
                            Some(&error.to_string()),
                        )
                        .await?;
                    let error = match error {
                        CloseError::Bank(e) => e,
                        other => BankError::Unavailable(other.to_string()),
                    };
                    return Err(PaymentError::CancelPending(Box::new(payment), error));
                }
            }
        } else {
            payment
        };
        match payment.state {
            PaymentState::Paid => Err(PaymentError::AlreadyPaid(Box::new(payment))),
            PaymentState::Cancelled => Ok(payment),
            PaymentState::Failed | PaymentState::Expired => {
                Err(PaymentError::NotCancellable(Box::new(payment)))
            }
            PaymentState::Creating | PaymentState::Pending | PaymentState::Closing(_) => {
                Err(PaymentError::CancelPending(
                    Box::new(payment),
                    BankError::Unavailable("the bank has not confirmed yet".into()),
                ))
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

    /// Deactivates the QR, then asks the bank for the outcome and records it. Whatever the
    /// deactivation answered, the payment's status at the bank decides; an unpaid QR the bank
    /// would not deactivate closes once its own expiry has passed. An error or a payment still
    /// in progress leaves the payment `Closing` for a retry.
    async fn close_at_bank(&self, payment: &Payment) -> Result<Payment, CloseError> {
        let provider = self.provider_of(payment).ok_or_else(|| {
            BankError::Unavailable(format!(
                "provider {} is no longer configured",
                payment.provider
            ))
        })?;
        let Some((qr_id, _)) = &payment.qr else {
            // No QR was ever issued, so nobody can have paid.
            let details = EventDetails {
                source: "close without QR",
                ..EventDetails::default()
            };
            let applied = self
                .apply(
                    &payment.id,
                    PaymentEvent::BankClosed,
                    details,
                    self.clock.now(),
                )
                .await?;
            return Ok(applied.payment().clone());
        };
        let query = Self::query_of(payment, qr_id);
        let still_open = match provider.adapter.deactivate_qr(&query).await? {
            Deactivation::Closed => None,
            Deactivation::StillOpen(why) => Some(why),
            Deactivation::Refunded { amount, status } => {
                return self
                    .record_bank_made_refund(provider, payment, &query, amount, status)
                    .await;
            }
        };
        let (event, transaction) = match provider.adapter.payment_status(&query).await? {
            BankPaymentStatus::Paid { transaction_id } => (PaymentEvent::BankPaid, transaction_id),
            BankPaymentStatus::Declined => (PaymentEvent::BankDeclined, None),
            BankPaymentStatus::NotPaid => match still_open {
                None => (PaymentEvent::BankClosed, None),
                Some(why) if self.past_bank_expiry(payment) => {
                    tracing::info!(payment = %payment.id, "the QR is past its own expiry and unpaid; closing it although the bank did not confirm a deactivation ({why})");
                    (PaymentEvent::BankClosed, None)
                }
                Some(why) => return Err(CloseError::StillOpen(why)),
            },
            BankPaymentStatus::InProgress => return Err(CloseError::InProgress),
            BankPaymentStatus::Unrecognised(status) => {
                return Err(CloseError::Unrecognised(status));
            }
        };
        let details = EventDetails {
            bank_transaction_id: transaction,
            source: "re-check after deactivation",
            ..EventDetails::default()
        };
        let retry_at = self.clock.now() + chrono(RETRY_BASE);
        let applied = self.apply(&payment.id, event, details, retry_at).await?;
        Ok(applied.payment().clone())
    }

    /// The bank turned our cancellation into a refund of a payment the customer had just made
    /// (T-Bank's `Cancel` of a confirmed payment): the payment is paid, and that refund is
    /// recorded with it in one transaction, as qrpayd's own (automatic) refund that the bank
    /// already has. The register then sees `paid` with the refund.
    async fn record_bank_made_refund(
        &self,
        provider: &Provider,
        payment: &Payment,
        query: &PaymentQuery,
        amount: Kopecks,
        status: BankRefundStatus,
    ) -> Result<Payment, CloseError> {
        let now = self.clock.now();
        tracing::warn!(payment = %payment.id, refunded = %amount, "the customer paid just before the cancellation and the bank refunded the payment; recording both");
        let transaction = match provider.adapter.payment_status(query).await {
            Ok(BankPaymentStatus::Paid { transaction_id }) => transaction_id,
            _ => None,
        };
        let refund = NewRefund {
            id: refunds::fresh_refund_id(),
            payment_id: payment.id.clone(),
            register_id: payment.register_id.clone(),
            idempotency_key: IdempotencyKey::automatic("cancel-became-refund", &payment.id),
            request_hash: String::new(),
            amount,
            reason: Some(
                "the bank turned the cancellation into a refund: the customer had paid a moment before"
                    .into(),
            ),
            automatic: true,
            sent_at: Some(now),
            created_at: now,
        };
        let mut refund_id = refund.id.clone();
        let details = EventDetails {
            bank_transaction_id: transaction,
            source: "cancellation the bank turned into a refund",
            bank_made_refund: Some(refund.clone()),
            ..EventDetails::default()
        };
        let applied = self
            .apply(&payment.id, PaymentEvent::BankPaid, details, now)
            .await?;
        if !matches!(applied, Applied::Changed { .. }) {
            // Already paid (the bank's notification of the payment won the race): the refund
            // was not written with the change, so record it now. Its key is the payment's own,
            // so a repeat finds the same refund.
            match self.store.insert_refund(&refund, now).await? {
                RefundInserted::New(r) | RefundInserted::Existing(r) => refund_id = r.id,
                other => {
                    tracing::error!(payment = %payment.id, ?other, "could not record the refund the bank made; reconciliation will show it");
                }
            }
        }
        if let Some(refund) = self.store.refund(&refund_id).await? {
            let event = match status {
                BankRefundStatus::Completed => RefundEvent::BankCompleted,
                BankRefundStatus::InProgress => RefundEvent::BankAccepted,
                BankRefundStatus::Declined => RefundEvent::BankDeclined,
            };
            let poll_at = now + chrono(provider.poll_interval);
            self.apply_refund(&refund, event, None, poll_at).await?;
        }
        Ok(applied.payment().clone())
    }

    /// Finishes a create whose bank answer never came (a timeout, a crash). A dynamic QR nobody
    /// saw cannot be paid: the payment fails at once. A cash-register activation may exist at
    /// the bank while the link is printed in plain view: it is cancelled there first, and the
    /// bank's status decides (paid if the customer was faster). Returns the payment as it is
    /// now (still `Creating` if the bank could not be asked; the job retries).
    async fn recover_creation(
        &self,
        payment: &Payment,
        attempts: i64,
    ) -> Result<Payment, StoreError> {
        let now = self.clock.now();
        let failed = |why: &str| EventDetails {
            failure: Some(("creation_interrupted".into(), why.to_owned())),
            source: "recovery",
            ..EventDetails::default()
        };
        if payment.qr_type != QrType::CashRegister {
            let details = failed(
                "qrpayd stopped while the bank was issuing the QR; no QR was shown, so nothing can be paid",
            );
            let applied = self
                .apply(&payment.id, PaymentEvent::CreationFailed, details, now)
                .await?;
            return Ok(applied.payment().clone());
        }
        let target = JobTarget::Payment(payment.id.clone());
        let (Some(provider), Some(link)) = (
            self.provider_of(payment),
            self.store.link_of(&payment.register_id).await?,
        ) else {
            tracing::error!(payment = %payment.id, "cannot close an unconfirmed link activation: provider or link no longer configured");
            self.store
                .reschedule_job(
                    &target,
                    now + chrono(MAX_BACKOFF),
                    Some("provider or link not configured"),
                )
                .await?;
            return Ok(payment.clone());
        };
        let query = Self::query_of(payment, &link.qr_id);
        let checked = async {
            let deactivation = provider.adapter.deactivate_qr(&query).await?;
            let status = provider.adapter.payment_status(&query).await?;
            Ok::<_, BankError>((deactivation, status))
        }
        .await;
        let retry = |why: String| async move {
            let delay = backoff(RETRY_BASE, attempts);
            tracing::warn!(payment = %payment.id, "closing an unconfirmed link activation: {why}; retry in {delay:?}");
            self.store
                .reschedule_job(&target, self.clock.now() + chrono(delay), Some(&why))
                .await
                .map(|()| payment.clone())
        };
        match checked {
            Err(error) => retry(error.to_string()).await,
            Ok((_, BankPaymentStatus::Paid { transaction_id })) => {
                // The customer paid the activation: it was issued after all.
                let issued = EventDetails {
                    qr: Some((link.qr_id.clone(), link.payload.clone())),
                    source: "recovery: the activation exists",
                    ..EventDetails::default()
                };
                self.apply(&payment.id, PaymentEvent::QrIssued, issued, now)
                    .await?;
                let paid = EventDetails {
                    bank_transaction_id: transaction_id,
                    source: "recovery: the activation was paid",
                    ..EventDetails::default()
                };
                let applied = self
                    .apply(&payment.id, PaymentEvent::BankPaid, paid, now)
                    .await?;
                Ok(applied.payment().clone())
            }
            Ok((deactivation, BankPaymentStatus::NotPaid | BankPaymentStatus::Declined))
                if deactivation == Deactivation::Closed || self.past_bank_expiry(payment) =>
            {
                let details = failed(
                    "the bank's answer to the link activation was lost; the activation was cancelled at the bank, nothing was paid",
                );
                let applied = self
                    .apply(&payment.id, PaymentEvent::CreationFailed, details, now)
                    .await?;
                Ok(applied.payment().clone())
            }
            Ok((deactivation, status)) => {
                retry(format!("deactivation {deactivation:?}, status {status:?}")).await
            }
        }
    }

    /// Asks the bank about `payment` (an authenticated answer) and records what it says:
    /// how notifications are confirmed before they change anything.
    async fn confirm_with_bank(
        &self,
        provider: &Provider,
        payment: &Payment,
        source: &'static str,
    ) -> Result<(), CloseError> {
        let Some((qr_id, _)) = &payment.qr else {
            return Err(CloseError::Bank(BankError::Unavailable(
                "the payment has no QR yet".into(),
            )));
        };
        let query = Self::query_of(payment, qr_id);
        let now = self.clock.now();
        match provider.adapter.payment_status(&query).await? {
            BankPaymentStatus::Paid { transaction_id } => {
                let details = EventDetails {
                    bank_transaction_id: transaction_id,
                    source,
                    ..EventDetails::default()
                };
                self.apply(&payment.id, PaymentEvent::BankPaid, details, now)
                    .await?;
            }
            BankPaymentStatus::Declined => {
                let details = EventDetails {
                    failure: Some(("declined".into(), "the bank declined the payment".into())),
                    source,
                    ..EventDetails::default()
                };
                let applied = self
                    .apply(&payment.id, PaymentEvent::BankDeclined, details, now)
                    .await?;
                // A decline leaves the payment closing: deactivate the QR now rather than at
                // the next worker round, so the register hears "failed" at once.
                if let PaymentState::Closing(_) = applied.payment().state {
                    self.close_job(applied.payment(), 0).await?;
                }
            }
            BankPaymentStatus::NotPaid | BankPaymentStatus::InProgress => {}
            BankPaymentStatus::Unrecognised(status) => {
                tracing::warn!(payment = %payment.id, status, "the bank reports an undocumented status; the job keeps asking");
            }
        }
        Ok(())
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

    /// A bank notification: verify it, find its payment by the signed order only, then ask
    /// the bank and record what *the bank's answer* says. No unsigned field of a notification
    /// chooses a payment, an amount or a transaction.
    pub async fn on_callback(
        &self,
        provider_name: &str,
        headers: &reqwest::header::HeaderMap,
        body: &[u8],
    ) -> Result<CallbackOutcome, CallbackProblem> {
        let provider = self
            .provider(provider_name)
            .ok_or(CallbackProblem::UnknownProvider)?
            .clone();
        let notice = provider.adapter.parse_callback(headers, body)?;
        let Some(status) = notice.status else {
            // Not about a payment's outcome (a fiscal receipt notice).
            return Ok(CallbackOutcome::Accepted);
        };
        let payment = match notice.order.as_deref().map(PaymentId::parse) {
            Some(Ok(id)) => self.store.payment(&id).await?,
            _ => None,
        };
        let Some(payment) = payment.filter(|p| p.provider == provider.name) else {
            tracing::warn!(provider = provider_name, order = ?notice.order, "notification about an order that is not ours; acknowledged and ignored");
            return Ok(CallbackOutcome::Deferred("not our order".into()));
        };
        if notice.amount.is_some_and(|a| a != payment.amount)
            || notice.currency.is_some_and(|c| c != payment.currency)
        {
            tracing::error!(payment = %payment.id, reported = ?notice.amount, expected = %payment.amount, "notification amount or currency differs from the payment; only the bank's answer counts");
        }
        match status {
            BankPaymentStatus::NotPaid | BankPaymentStatus::InProgress => {
                return Ok(CallbackOutcome::Accepted);
            }
            BankPaymentStatus::Unrecognised(status) => {
                tracing::warn!(payment = %payment.id, status, "notification with an undocumented status; asking the bank");
            }
            BankPaymentStatus::Paid { .. } | BankPaymentStatus::Declined => {}
        }
        match self
            .confirm_with_bank(
                &provider,
                &payment,
                "bank notification, confirmed with the bank",
            )
            .await
        {
            Ok(()) => Ok(CallbackOutcome::Accepted),
            Err(CloseError::Store(e)) => Err(CallbackProblem::Store(e)),
            Err(error) => {
                tracing::warn!(payment = %payment.id, "could not confirm a notification with the bank ({error}); the bank will send it again");
                if !payment.state.is_final() {
                    self.store
                        .job_due_now(&JobTarget::Payment(payment.id.clone()), self.clock.now())
                        .await?;
                }
                Ok(CallbackOutcome::Unconfirmed(error.to_string()))
            }
        }
    }

    /// Runs one claimed job: finishes an interrupted create, polls, expires or closes.
    pub async fn run_job(&self, job: &ClaimedJob) -> Result<(), StoreError> {
        match &job.target {
            JobTarget::Payment(id) => self.run_payment_job(id, job.attempts).await,
            JobTarget::Refund(id) => self.run_refund_job(id, job.attempts).await,
        }
    }

    async fn run_payment_job(&self, id: &PaymentId, attempts: i64) -> Result<(), StoreError> {
        let target = JobTarget::Payment(id.clone());
        let Some(payment) = self.store.payment(id).await? else {
            return self.store.delete_job(&target).await;
        };
        let now = self.clock.now();
        match payment.state {
            PaymentState::Paid
            | PaymentState::Failed
            | PaymentState::Expired
            | PaymentState::Cancelled => self.store.delete_job(&target).await,
            PaymentState::Creating => {
                let deadline = self.creation_deadline(payment.created_at);
                if now < deadline {
                    return self.store.reschedule_job(&target, deadline, None).await;
                }
                self.recover_creation(&payment, attempts).await.map(drop)
            }
            PaymentState::Pending if now >= payment.expires_at => {
                let details = EventDetails {
                    source: "expiry",
                    ..EventDetails::default()
                };
                let applied = self
                    .apply(
                        id,
                        PaymentEvent::CloseRequested(CloseReason::Expire),
                        details,
                        now + chrono(RETRY_BASE),
                    )
                    .await?;
                self.close_job(applied.payment(), attempts).await
            }
            PaymentState::Pending => self.poll_job(&payment, attempts).await,
            PaymentState::Closing(_) => self.close_job(&payment, attempts).await,
        }
    }

    async fn close_job(&self, payment: &Payment, attempts: i64) -> Result<(), StoreError> {
        if payment.state.is_final() {
            return Ok(());
        }
        match self.close_at_bank(payment).await {
            Ok(_) => Ok(()),
            Err(CloseError::Store(e)) => Err(e),
            Err(error) => {
                let delay = backoff(RETRY_BASE, attempts);
                tracing::warn!(payment = %payment.id, "closing at the bank failed, retry in {delay:?}: {error}");
                self.store
                    .reschedule_job(
                        &JobTarget::Payment(payment.id.clone()),
                        self.clock.now() + chrono(delay),
                        Some(&error.to_string()),
                    )
                    .await
            }
        }
    }

    async fn poll_job(&self, payment: &Payment, attempts: i64) -> Result<(), StoreError> {
        let Some(provider) = self.provider_of(payment) else {
            tracing::error!(payment = %payment.id, provider = %payment.provider, "provider no longer configured; cannot poll");
            let later = self.clock.now() + chrono(MAX_BACKOFF);
            return self
                .store
                .reschedule_job(
                    &JobTarget::Payment(payment.id.clone()),
                    later,
                    Some("provider not configured"),
                )
                .await;
        };
        let Some((qr_id, _)) = &payment.qr else {
            return Err(StoreError::Corrupt(format!(
                "{} is pending without a QR",
                payment.id
            )));
        };
        let query = PaymentQuery {
            payment_id: payment.id.clone(),
            qr_id: qr_id.clone(),
            amount: payment.amount,
            currency: payment.currency,
            qr_type: payment.qr_type,
        };
        let now = self.clock.now();
        let next_poll = (now + chrono(provider.poll_interval)).min(payment.expires_at);
        match provider.adapter.payment_status(&query).await {
            Ok(BankPaymentStatus::Paid { transaction_id }) => {
                let details = EventDetails {
                    bank_transaction_id: transaction_id,
                    source: "poll",
                    ..EventDetails::default()
                };
                self.apply(&payment.id, PaymentEvent::BankPaid, details, now)
                    .await
                    .map(drop)
            }
            Ok(BankPaymentStatus::Declined) => {
                let details = EventDetails {
                    failure: Some(("declined".into(), "the bank declined the payment".into())),
                    source: "poll",
                    ..EventDetails::default()
                };
                let applied = self
                    .apply(&payment.id, PaymentEvent::BankDeclined, details, now)
                    .await?;
                self.close_job(applied.payment(), 0).await
            }
            Ok(BankPaymentStatus::NotPaid | BankPaymentStatus::InProgress) => {
                self.store
                    .reschedule_job(&JobTarget::Payment(payment.id.clone()), next_poll, None)
                    .await
            }
            Ok(BankPaymentStatus::Unrecognised(status)) => {
                let retry = (now + chrono(backoff(provider.poll_interval, attempts)))
                    .min(payment.expires_at)
                    .max(now + chrono(RETRY_BASE));
                tracing::warn!(payment = %payment.id, status, "the bank reports a status its documentation does not list; asking again later");
                self.store
                    .reschedule_job(
                        &JobTarget::Payment(payment.id.clone()),
                        retry,
                        Some(&format!("undocumented status {status:?}")),
                    )
                    .await
            }
            Err(error) => {
                let retry = (now + chrono(backoff(provider.poll_interval, attempts)))
                    .min(payment.expires_at)
                    .max(now + chrono(RETRY_BASE));
                tracing::warn!(payment = %payment.id, "polling the bank failed: {error}");
                self.store
                    .reschedule_job(
                        &JobTarget::Payment(payment.id.clone()),
                        retry,
                        Some(&error.to_string()),
                    )
                    .await
            }
        }
    }
}
