//! Closing a payment: the cashier's cancel and the expiry both deactivate the QR and then ask
//! the bank; only the bank's payment status decides between paid and cancelled/expired, and a
//! cancel the bank turned into a refund is recorded as that refund.

use super::outcome::{Verdict, verdict};
use super::{CloseError, PaymentError, Payments, Provider, RETRY_BASE, backoff, chrono};
use qrpayd_bank::{BankError, BankPaymentStatus, BankRefundStatus, Deactivation, PaymentQuery};
use qrpayd_domain::ids::{IdempotencyKey, PaymentId, RegisterId};
use qrpayd_domain::money::Kopecks;
use qrpayd_domain::payment::{CloseReason, PaymentEvent, PaymentState};
use qrpayd_domain::refund::RefundEvent;
use qrpayd_store::{
    Applied, EventDetails, JobTarget, NewRefund, Payment, RefundInserted, StoreError,
};

impl Payments {
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

    /// Deactivates the QR, then asks the bank for the outcome and records it. Whatever the
    /// deactivation answered, the payment's status at the bank decides; an unpaid QR the bank
    /// would not deactivate closes once its own expiry has passed. An error or a payment still
    /// in progress leaves the payment `Closing` for a retry.
    pub(super) async fn close_at_bank(&self, payment: &Payment) -> Result<Payment, CloseError> {
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
        let status = provider.adapter.payment_status(&query).await?;
        let closed = || EventDetails {
            source: "re-check after deactivation",
            ..EventDetails::default()
        };
        let (event, details) = match verdict(status, "re-check after deactivation") {
            Verdict::Record(event, details) => (event, *details),
            Verdict::Open { paying: true } => return Err(CloseError::InProgress),
            Verdict::Open { paying: false } => match still_open {
                None => (PaymentEvent::BankClosed, closed()),
                Some(why) if self.past_bank_expiry(payment) => {
                    tracing::info!(payment = %payment.id, "the QR is past its own expiry and unpaid; closing it although the bank did not confirm a deactivation ({why})");
                    (PaymentEvent::BankClosed, closed())
                }
                Some(why) => return Err(CloseError::StillOpen(why)),
            },
            Verdict::Unrecognised(status) => return Err(CloseError::Unrecognised(status)),
        };
        let retry_at = self.clock.now() + chrono(RETRY_BASE);
        let applied = self.apply(&payment.id, event, details, retry_at).await?;
        Ok(applied.payment().clone())
    }

    /// The bank turned our cancellation into a refund of a payment the customer had just made
    /// (T-Bank's `Cancel` of a confirmed payment): the payment is paid, and that refund is
    /// recorded with it in one transaction, as qrpayd's own (automatic) refund that the bank
    /// already has. The register then sees `paid` with the refund.
    pub(super) async fn record_bank_made_refund(
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
            id: super::refunds::fresh_refund_id(),
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
            created_at: now};
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

    pub(super) async fn close_job(
        &self,
        payment: &Payment,
        attempts: i64,
    ) -> Result<(), StoreError> {
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
}
