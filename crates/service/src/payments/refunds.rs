//! Refunds: asked by a register against a paid payment, or made automatically for a late
//! payment by the late-payment policy.
//!
//! The refund row (with the over-refund check) is committed before the bank is called, and is
//! marked *sent* (`sent_at`) in its own commit right before the call. What happens to a refund
//! whose answer was lost depends on how the bank identifies refunds
//! ([`RefundIdentity`]):
//! * by our id (Raiffeisen's `refundId`): its job asks the bank about that id and re-sends
//!   *the same id* only if the bank never got it, so it can never happen twice;
//! * by amounts (T-Bank SBP, which has no refund id): it is **never** sent again. At most one
//!   refund per payment is in flight (a later one waits), so the payment's amounts at the bank
//!   say what became of it; if the bank shows no trace of it `refund_settle_seconds` after it
//!   was sent, it is recorded failed (`refund_not_received`), and a person or the register may make
//!   a new one.

use std::time::Duration;

use chrono::{DateTime, Utc};
use qrpayd_bank::{BankError, BankRefundStatus, RefundIdentity, RefundRequest};
use qrpayd_domain::failure::FailureCode;
use qrpayd_domain::ids::{IdempotencyKey, PaymentId, RefundId, RegisterId};
use qrpayd_domain::money::Kopecks;
use qrpayd_domain::refund::{RefundEvent, RefundState};
use qrpayd_store::{
    JobTarget, LateHandling, NewRefund, Payment, Refund, RefundApplied, RefundInserted, SendClaim,
    StoreError,
};
use sha2::{Digest, Sha256};

use super::outcome::failure;
use super::{LatePolicy, MAX_BACKOFF, Payments, Provider, RETRY_BASE, backoff, chrono};

/// A validated refund request.
#[derive(Debug, Clone)]
pub struct CreateRefund {
    /// How much to give back.
    pub amount: Kopecks,
    /// Why (the return receipt, the cashier's note).
    pub reason: Option<String>,
}

/// Why a refund could not be done as asked.
#[derive(Debug, thiserror::Error)]
pub enum RefundError {
    /// No such payment or refund for this register.
    #[error("not found")]
    NotFound,
    /// Only paid payments can be refunded.
    #[error("the payment is not paid")]
    NotRefundable(Box<Payment>),
    /// The amount is more than what is left.
    #[error("the amount exceeds what is left to refund ({})", .remaining)]
    Exceeds {
        /// The payment.
        payment: Box<Payment>,
        /// What is left.
        remaining: Kopecks,
    },
    /// The payment's bank refunds only whole payments, and the amount is less.
    #[error("the bank refunds only the whole payment")]
    WholeAmountOnly(Box<Payment>),
    /// The key was used for a different refund request.
    #[error("this Idempotency-Key was already used for a different refund")]
    KeyReused(Box<Refund>),
    /// The bank refused the refund outright; the refund is `failed`.
    #[error("the bank refused the refund")]
    Refused(Box<Refund>, BankError),
    /// The journal failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn request_hash(payment: &PaymentId, request: &CreateRefund) -> String {
    let canonical = serde_json::json!([payment.as_str(), request.amount.get(), request.reason]);
    hex::encode(Sha256::digest(canonical.to_string().as_bytes()))
}

pub(super) fn fresh_refund_id() -> RefundId {
    RefundId::from_u128(uuid::Uuid::now_v7().as_u128())
}

impl Payments {
    /// What the late-payment policy does if this payment turns out to be paid late.
    pub(super) async fn late_handling(
        &self,
        id: &PaymentId,
        now: DateTime<Utc>,
    ) -> Result<Option<LateHandling>, StoreError> {
        Ok(match self.settings.late_payment_policy {
            LatePolicy::Flag => Some(LateHandling::Flag),
            LatePolicy::Refund => {
                let Some(payment) = self.store.payment(id).await? else {
                    return Ok(None);
                };
                // A key no register can send: automatic refunds cannot collide with theirs.
                let key = IdempotencyKey::automatic("late-payment-refund", id);
                let request = CreateRefund {
                    amount: payment.amount,
                    reason: Some(
                        "automatic refund: the customer paid after the payment was closed".into(),
                    ),
                };
                Some(LateHandling::Refund(NewRefund {
                    id: fresh_refund_id(),
                    payment_id: id.clone(),
                    register_id: payment.register_id.clone(),
                    idempotency_key: key,
                    request_hash: request_hash(id, &request),
                    amount: request.amount,
                    reason: request.reason,
                    automatic: true,
                    sent_at: None,
                    created_at: now,
                }))
            }
        })
    }

    /// A register refunds (part of) its paid payment.
    pub async fn create_refund(
        &self,
        register: &RegisterId,
        payment_id: &PaymentId,
        key: IdempotencyKey,
        request: CreateRefund,
    ) -> Result<(Refund, bool), RefundError> {
        let payment = match self.store.payment(payment_id).await? {
            Some(p) if &p.register_id == register => p,
            _ => return Err(RefundError::NotFound),
        };
        // A bank that refunds only whole payments: refused before anything is saved.
        let partial = self
            .provider_of(&payment)
            .is_none_or(|p| p.adapter.capabilities().partial_refund);
        if !partial && request.amount != payment.amount {
            return Err(RefundError::WholeAmountOnly(Box::new(payment)));
        }
        let now = self.clock.now();
        let hash = request_hash(payment_id, &request);
        let new = NewRefund {
            id: fresh_refund_id(),
            payment_id: payment_id.clone(),
            register_id: register.clone(),
            idempotency_key: key,
            request_hash: hash.clone(),
            amount: request.amount,
            reason: request.reason,
            automatic: false,
            sent_at: None,
            created_at: now,
        };
        // The job is due only after the bank call had its chance (it covers a crash mid-call).
        let job_due = now + chrono(self.settings.bank_timeout) + chrono::Duration::seconds(5);
        let refund = match self.store.insert_refund(&new, job_due).await? {
            RefundInserted::New(refund) => refund,
            RefundInserted::Existing(refund) => {
                if refund.request_hash != hash {
                    return Err(RefundError::KeyReused(Box::new(refund)));
                }
                return replayed(refund);
            }
            RefundInserted::PaymentNotFound => return Err(RefundError::NotFound),
            RefundInserted::NotRefundable(p) => return Err(RefundError::NotRefundable(p)),
            RefundInserted::Exceeds { payment, remaining } => {
                return Err(RefundError::Exceeds { payment, remaining });
            }
        };
        tracing::info!(refund = %refund.id, payment = %payment_id, amount = %refund.amount, "refund saved; sending it to the bank");
        self.hub.changed(payment_id.as_str());
        let refund = self.submit_refund(&refund, 0).await?;
        if refund.state == RefundState::Failed {
            let error = stored_refusal(&refund);
            return Err(RefundError::Refused(Box::new(refund), error));
        }
        Ok((refund, false))
    }

    /// A refund, if `register` may see it (`None`: the admin sees all).
    pub async fn refund_for(
        &self,
        register: Option<&RegisterId>,
        id: &RefundId,
    ) -> Result<Refund, RefundError> {
        match self.store.refund(id).await? {
            Some(r) if register.is_none_or(|reg| reg == &r.register_id) => Ok(r),
            _ => Err(RefundError::NotFound),
        }
    }

    /// Long-poll on a refund: returns when it is final or `wait` has passed.
    pub async fn wait_refund_final(
        &self,
        register: Option<&RegisterId>,
        id: &RefundId,
        wait: Duration,
    ) -> Result<Refund, RefundError> {
        let mut changes = self.hub.subscribe();
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let refund = self.refund_for(register, id).await?;
            if refund.state.is_final() || wait.is_zero() || self.hub.is_closing() {
                return Ok(refund);
            }
            tokio::select! {
                () = changes.changed(id.as_str()) => {}
                () = tokio::time::sleep_until(deadline) => return self.refund_for(register, id).await,
            }
        }
    }

    /// The refunds of a payment.
    pub async fn refunds_of(&self, payment: &PaymentId) -> Result<Vec<Refund>, StoreError> {
        self.store.refunds_of(payment).await
    }

    pub(super) async fn apply_refund(
        &self,
        refund: &Refund,
        event: RefundEvent,
        failure: Option<(String, String)>,
        next_job_at: DateTime<Utc>,
    ) -> Result<Refund, StoreError> {
        let now = self.clock.now();
        let applied = self
            .store
            .apply_refund_event(&refund.id, event, failure, now, next_job_at.max(now))
            .await?;
        match &applied {
            RefundApplied::Changed(r) => {
                tracing::info!(refund = %r.id, payment = %r.payment_id, from = %refund.state, to = %r.state, "refund state changed");
                self.hub.changed(r.id.as_str());
                self.hub.changed(r.payment_id.as_str());
            }
            RefundApplied::Unchanged(_) => {}
            RefundApplied::Illegal(r, e) => tracing::warn!(refund = %r.id, "ignored: {e}"),
        }
        Ok(applied.refund().clone())
    }

    fn bank_refund_event(status: BankRefundStatus) -> RefundEvent {
        match status {
            BankRefundStatus::InProgress => RefundEvent::BankAccepted,
            BankRefundStatus::Completed => RefundEvent::BankCompleted,
            BankRefundStatus::Declined => RefundEvent::BankDeclined,
        }
    }

    /// Sends a `requested` refund to the bank and records the answer. It is first marked
    /// sent; a refund that was sent before is sent again only to a bank that keys refunds by
    /// our id. For a bank without refund ids it waits while another refund of the payment is
    /// in flight. A transient failure leaves it `requested` with its job due after a backoff.
    async fn submit_refund(&self, refund: &Refund, attempts: i64) -> Result<Refund, StoreError> {
        let target = JobTarget::Refund(refund.id.clone());
        let Some(payment) = self.store.payment(&refund.payment_id).await? else {
            return Err(StoreError::Corrupt(format!(
                "refund {} without its payment",
                refund.id
            )));
        };
        let Some(provider) = self.providers.get(&payment.provider) else {
            let later = self.clock.now() + chrono(MAX_BACKOFF);
            self.store
                .reschedule_job(&target, later, Some("provider not configured"))
                .await?;
            return Ok(refund.clone());
        };
        let identity = provider.adapter.capabilities().refund_identity;
        let now = self.clock.now();
        let poll_at = now + chrono(provider.poll_interval);
        match self
            .store
            .claim_refund_send(&refund.id, identity == RefundIdentity::ByAmounts, now)
            .await?
        {
            SendClaim::Claimed => {}
            SendClaim::AlreadySent(_) if identity == RefundIdentity::ById => {}
            SendClaim::AlreadySent(_) => {
                // Its first attempt may have reached the bank: only ever asked about again.
                self.store.reschedule_job(&target, poll_at, None).await?;
                return Ok(refund.clone());
            }
            SendClaim::Blocked(other) => {
                tracing::info!(refund = %refund.id, waiting_for = %other, "another refund of this payment is in flight; this one waits (the bank identifies refunds by amounts)");
                self.store
                    .reschedule_job(
                        &target,
                        poll_at,
                        Some(&format!("waiting for refund {other}")),
                    )
                    .await?;
                return Ok(refund.clone());
            }
            SendClaim::Final => {
                return Ok(self
                    .store
                    .refund(&refund.id)
                    .await?
                    .unwrap_or_else(|| refund.clone()));
            }
        }
        let request = self.bank_refund_request(refund, &payment).await?;
        match provider.adapter.refund(&request).await {
            Ok(status) => {
                self.apply_refund(
                    refund,
                    Self::bank_refund_event(status),
                    declined(status),
                    poll_at,
                )
                .await
            }
            Err(BankError::Rejected { code, message }) => {
                let failure = failure(FailureCode::BankRejected, format!("{code}: {message}"));
                tracing::warn!(refund = %refund.id, "the bank refused the refund: {code}: {message}");
                self.apply_refund(refund, RefundEvent::BankRefused, Some(failure), poll_at)
                    .await
            }
            Err(error) => {
                // Unknown outcome: the job asks the bank what became of this very refund.
                let delay = backoff(RETRY_BASE, attempts);
                tracing::warn!(refund = %refund.id, "refund outcome unknown ({error}); asking the bank again in {delay:?}");
                self.store
                    .reschedule_job(
                        &target,
                        self.clock.now() + chrono(delay),
                        Some(&error.to_string()),
                    )
                    .await?;
                Ok(refund.clone())
            }
        }
    }

    /// A refund job: send a refund that was never sent, or find out what the bank did with
    /// one that was, and record it.
    pub(super) async fn run_refund_job(
        &self,
        id: &RefundId,
        attempts: i64,
    ) -> Result<(), StoreError> {
        let target = JobTarget::Refund(id.clone());
        let Some(refund) = self.store.refund(id).await? else {
            return self.store.delete_job(&target).await;
        };
        if refund.state.is_final() {
            return self.store.delete_job(&target).await;
        }
        let Some(sent_at) = refund.sent_at else {
            // Never sent (it waited for another refund, or qrpayd stopped first).
            return self.submit_refund(&refund, attempts).await.map(drop);
        };
        let Some(payment) = self.store.payment(&refund.payment_id).await? else {
            return Err(StoreError::Corrupt(format!(
                "refund {id} without its payment"
            )));
        };
        let Some(provider) = self.providers.get(&payment.provider) else {
            let later = self.clock.now() + chrono(MAX_BACKOFF);
            return self
                .store
                .reschedule_job(&target, later, Some("provider not configured"))
                .await;
        };
        let now = self.clock.now();
        let request = self.bank_refund_request(&refund, &payment).await?;
        match provider.adapter.refund_status(&request).await {
            Ok(Some(status)) => {
                let poll_at = now + chrono(provider.poll_interval);
                self.apply_refund(
                    &refund,
                    Self::bank_refund_event(status),
                    declined(status),
                    poll_at,
                )
                .await?;
                // Still in progress: the transition (if any) rescheduled it; a repeat did not.
                if status == BankRefundStatus::InProgress {
                    self.store.reschedule_job(&target, poll_at, None).await?;
                }
                Ok(())
            }
            Ok(None) if refund.state == RefundState::Requested => {
                self.refund_not_seen(provider, &refund, sent_at, attempts)
                    .await
            }
            Ok(None) => {
                tracing::error!(refund = %id, "the bank no longer knows a refund it had accepted; asking again later");
                let later = now + chrono(backoff(provider.poll_interval, attempts));
                self.store
                    .reschedule_job(&target, later, Some("bank lost the refund"))
                    .await
            }
            Err(error) => {
                let later = now + chrono(backoff(provider.poll_interval, attempts));
                tracing::warn!(refund = %id, "asking the bank about the refund failed: {error}");
                self.store
                    .reschedule_job(&target, later, Some(&error.to_string()))
                    .await
            }
        }
    }

    /// The bank shows no trace of a refund that was sent.
    async fn refund_not_seen(
        &self,
        provider: &Provider,
        refund: &Refund,
        sent_at: DateTime<Utc>,
        attempts: i64,
    ) -> Result<(), StoreError> {
        let target = JobTarget::Refund(refund.id.clone());
        let now = self.clock.now();
        let settle = chrono(self.settings.refund_settle);
        match provider.adapter.capabilities().refund_identity {
            // The bank keys refunds by our id and never got this one: send it again, same id.
            RefundIdentity::ById => self.submit_refund(refund, attempts).await.map(drop),
            RefundIdentity::ByAmounts if now < sent_at + settle => {
                let later =
                    (now + chrono(backoff(provider.poll_interval, attempts))).min(sent_at + settle);
                self.store
                    .reschedule_job(
                        &target,
                        later,
                        Some("the bank shows no trace of the refund yet"),
                    )
                    .await
            }
            RefundIdentity::ByAmounts => {
                tracing::warn!(refund = %refund.id, payment = %refund.payment_id, "the bank shows no trace of a refund sent {} s ago; it is recorded failed and NOT sent again", settle.num_seconds());
                let failure = failure(
                    FailureCode::RefundNotReceived,
                    format!(
                        "the bank shows no trace of this refund {} s after it was sent (its answer was lost); it was not sent again, so nothing can be refunded twice: make a new refund if the money is still owed",
                        settle.num_seconds()
                    ),
                );
                self.apply_refund(refund, RefundEvent::BankRefused, Some(failure), now)
                    .await
                    .map(drop)
            }
        }
    }

    /// What the bank is told about (or asked about) `refund` of `payment`, with what the
    /// journal says the bank has given back of the payment before it.
    async fn bank_refund_request(
        &self,
        refund: &Refund,
        payment: &Payment,
    ) -> Result<RefundRequest, StoreError> {
        let mut refunded_before = Kopecks::ZERO;
        for other in self.store.refunds_of(&payment.id).await? {
            if other.id != refund.id && other.state == RefundState::Succeeded {
                refunded_before = refunded_before
                    .checked_add(other.amount)
                    .ok_or_else(|| StoreError::Corrupt("refund sum overflows".into()))?;
            }
        }
        Ok(RefundRequest {
            refund_id: refund.id.clone(),
            payment_id: payment.id.clone(),
            amount: refund.amount,
            transaction_id: payment.bank_transaction_id.clone(),
            details: refund.reason.clone(),
            qr_type: payment.qr_type,
            qr_id: payment.qr.as_ref().map(|(qr_id, _)| qr_id.clone()),
            paid_amount: payment.amount,
            refunded_before,
        })
    }
}

/// The failure recorded with a decline.
fn declined(status: BankRefundStatus) -> Option<(String, String)> {
    (status == BankRefundStatus::Declined)
        .then(|| failure(FailureCode::Declined, "the bank declined the refund"))
}

fn replayed(refund: Refund) -> Result<(Refund, bool), RefundError> {
    if refund.state == RefundState::Failed
        && refund
            .failure
            .as_ref()
            .is_some_and(|(code, _)| FailureCode::parse(code) == Some(FailureCode::BankRejected))
    {
        let error = stored_refusal(&refund);
        return Err(RefundError::Refused(Box::new(refund), error));
    }
    Ok((refund, true))
}

/// The bank's refusal as stored (`"<code>: <message>"`), back as an error.
fn stored_refusal(refund: &Refund) -> BankError {
    let stored = refund
        .failure
        .as_ref()
        .map(|(_, m)| m.as_str())
        .unwrap_or_default();
    let (code, message) = stored.split_once(": ").unwrap_or((stored, ""));
    BankError::Rejected {
        code: code.to_owned(),
        message: message.to_owned(),
    }
}
