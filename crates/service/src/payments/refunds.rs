//! Refunds: asked by a register against a paid payment, or made automatically for a late
//! payment by the late-payment policy.
//!
//! The refund row (with the over-refund check) is committed before the bank is called, and our
//! refund id is the bank's `refundId`. A refund whose bank call timed out stays `requested`; its
//! job asks the bank about that id and re-sends *the same id* only if the bank never got it, so a
//! refund can never happen twice.

use std::time::Duration;

use chrono::{DateTime, Utc};
use qrpayd_bank::{BankError, BankRefundStatus, RefundRequest};
use qrpayd_domain::ids::{IdempotencyKey, PaymentId, RefundId, RegisterId};
use qrpayd_domain::money::Kopecks;
use qrpayd_domain::refund::{RefundEvent, RefundState};
use qrpayd_store::{
    JobTarget, LateHandling, NewRefund, Payment, Refund, RefundApplied, RefundInserted, StoreError,
};
use sha2::{Digest, Sha256};

use super::{LatePolicy, MAX_BACKOFF, Payments, RETRY_BASE, backoff, chrono};

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

fn fresh_refund_id() -> RefundId {
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
                let key = IdempotencyKey::parse(&format!("late-payment-refund:{id}"))
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?;
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
        match self.store.payment(payment_id).await? {
            Some(p) if &p.register_id == register => {}
            _ => return Err(RefundError::NotFound),
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

    async fn apply_refund(
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

    /// Sends a `requested` refund to the bank (or, when `ask_first`, asks whether the bank
    /// already has it) and records the answer. A transient failure leaves it `requested`
    /// with its job due after a backoff.
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
        let request = bank_refund_request(refund, &payment);
        let poll_at = self.clock.now() + chrono(provider.poll_interval);
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
                let failure = ("bank_rejected".to_owned(), format!("{code}: {message}"));
                tracing::warn!(refund = %refund.id, "the bank refused the refund: {code}: {message}");
                self.apply_refund(refund, RefundEvent::BankRefused, Some(failure), poll_at)
                    .await
            }
            Err(error) => {
                // Unknown outcome: the job will ask the bank about this very refund id.
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

    /// A refund job: find out what the bank did with the refund and record it.
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
        match provider
            .adapter
            .refund_status(&bank_refund_request(&refund, &payment))
            .await
        {
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
                // The bank never got it: send it now, under the same id.
                self.submit_refund(&refund, attempts).await.map(drop)
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
}

/// What the bank is told about (or asked about) `refund` of `payment`.
fn bank_refund_request(refund: &Refund, payment: &Payment) -> RefundRequest {
    RefundRequest {
        refund_id: refund.id.clone(),
        payment_id: payment.id.clone(),
        amount: refund.amount,
        transaction_id: payment.bank_transaction_id.clone(),
        details: refund.reason.clone(),
        qr_type: payment.qr_type,
        qr_id: payment.qr.as_ref().map(|(qr_id, _)| qr_id.clone()),
    }
}

/// The failure recorded with a decline.
fn declined(status: BankRefundStatus) -> Option<(String, String)> {
    (status == BankRefundStatus::Declined).then(|| {
        (
            "declined".to_owned(),
            "the bank declined the refund".to_owned(),
        )
    })
}

fn replayed(refund: Refund) -> Result<(Refund, bool), RefundError> {
    if refund.state == RefundState::Failed
        && refund
            .failure
            .as_ref()
            .is_some_and(|(code, _)| code == "bank_rejected")
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
