//! The durable jobs of payments: finishing interrupted creates, polling pending payments,
//! expiring them at their lifetime, and retrying closes, with backoff.

use super::outcome::{Verdict, verdict};
use super::{MAX_BACKOFF, Payments, RETRY_BASE, backoff, chrono};
use qrpayd_bank::PaymentQuery;
use qrpayd_domain::ids::PaymentId;
use qrpayd_domain::payment::{CloseReason, PaymentEvent, PaymentState};
use qrpayd_store::{ClaimedJob, EventDetails, JobTarget, Payment, StoreError};

impl Payments {
    /// Runs one claimed job: finishes an interrupted create, polls, expires or closes.
    pub async fn run_job(&self, job: &ClaimedJob) -> Result<(), StoreError> {
        match &job.target {
            JobTarget::Payment(id) => self.run_payment_job(id, job.attempts).await,
            JobTarget::Refund(id) => self.run_refund_job(id, job.attempts).await,
        }
    }

    pub(super) async fn run_payment_job(
        &self,
        id: &PaymentId,
        attempts: i64,
    ) -> Result<(), StoreError> {
        let target = JobTarget::Payment(id.clone());
        let Some(payment) = self.store.payment(id).await? else {
            return self.store.delete_job(&target).await;
        };
        let now = self.clock.now();
        match payment.state {
            PaymentState::Paid => self.store.delete_job(&target).await,
            PaymentState::Failed | PaymentState::Expired | PaymentState::Cancelled => {
                self.late_watch_job(&payment, attempts).await
            }
            PaymentState::Creating => {
                // A create that moved to another provider started its bank call then.
                let deadline = self.creation_deadline(payment.updated_at.max(payment.created_at));
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

    /// The late watch. A payment closed unpaid may still be paid for a short while: a
    /// deactivation the bank acknowledged but had not carried out yet, a payment already on
    /// its way through the SBP. The bank notifies such a *late* payment, but notifications get
    /// lost and not every bank publishes a registry to reconcile against, so the closed
    /// payment keeps its job and qrpayd asks the bank itself, with backoff, until the QR's own
    /// expiry at the bank has certainly passed. A payment found paid then is recorded late,
    /// and the late-payment policy applies.
    async fn late_watch_job(&self, payment: &Payment, attempts: i64) -> Result<(), StoreError> {
        let target = JobTarget::Payment(payment.id.clone());
        let (Some(provider), Some((qr_id, _))) = (self.provider_of(payment), &payment.qr) else {
            // No QR was issued (nothing to pay), or the provider is gone.
            return self.store.delete_job(&target).await;
        };
        let now = self.clock.now();
        let watch_end = payment.expires_at + super::BANK_EXPIRY_GRACE;
        let query = Self::query_of(payment, qr_id);
        match provider.adapter.payment_status(&query).await {
            Ok(status) => {
                if let Verdict::Record(PaymentEvent::BankPaid, details) =
                    verdict(status, "late watch")
                {
                    tracing::warn!(payment = %payment.id, state = %payment.state, "the bank reports the closed payment paid; recording it late");
                    return self
                        .apply(&payment.id, PaymentEvent::BankPaid, *details, now)
                        .await
                        .map(drop);
                }
            }
            Err(error) if now < watch_end + super::LATE_WATCH_GIVE_UP => {
                let retry = now + chrono(backoff(provider.poll_interval, attempts));
                return self
                    .store
                    .reschedule_job(&target, retry, Some(&error.to_string()))
                    .await;
            }
            Err(error) => {
                tracing::warn!(payment = %payment.id, "the late watch could not reach the bank ({error}); a late payment now arrives only by notification or reconciliation");
                return self.store.delete_job(&target).await;
            }
        }
        if now >= watch_end {
            return self.store.delete_job(&target).await;
        }
        // The last look is at the watch's end.
        let next = (now + chrono(backoff(provider.poll_interval, attempts))).min(watch_end);
        self.store.reschedule_job(&target, next, None).await
    }

    pub(super) async fn poll_job(
        &self,
        payment: &Payment,
        attempts: i64,
    ) -> Result<(), StoreError> {
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
            Ok(status) => match verdict(status, "poll") {
                Verdict::Record(event, details) => {
                    let applied = self.apply(&payment.id, event, *details, now).await?;
                    // A decline leaves the payment closing: deactivate the QR now.
                    if let PaymentState::Closing(_) = applied.payment().state {
                        self.close_job(applied.payment(), 0).await?;
                    }
                    Ok(())
                }
                Verdict::Open { .. } => {
                    self.store
                        .reschedule_job(&JobTarget::Payment(payment.id.clone()), next_poll, None)
                        .await
                }
                Verdict::Unrecognised(status) => {
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
            },
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
