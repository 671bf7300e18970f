//! Bank notifications: verified by the adapter, matched by the order the bank signed, and
//! confirmed with the bank (an authenticated answer) before anything changes.

use super::outcome::{Verdict, verdict};
use super::{CallbackOutcome, CallbackProblem, CloseError, Payments, Provider};
use qrpayd_bank::{BankError, BankPaymentStatus};
use qrpayd_domain::ids::PaymentId;
use qrpayd_domain::payment::PaymentState;
use qrpayd_store::{JobTarget, Payment};

impl Payments {
    /// A bank notification: verify it, find its payment by the signed order only, then ask
    /// the bank and record what *the bank's answer* says. No unsigned field of a notification
    /// chooses a payment, an amount or a transaction.
    pub async fn on_callback(
        &self,
        provider_name: &str,
        headers: &reqwest::header::HeaderMap,
        body: &[u8],
    ) -> Result<CallbackOutcome, CallbackProblem> {
        // A bank that sends no notifications cannot be sending this one.
        let provider = self
            .provider(provider_name)
            .filter(|p| p.adapter.capabilities().callbacks)
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

    /// Asks the bank about `payment` (an authenticated answer) and records what it says:
    /// how notifications are confirmed before they change anything.
    pub(super) async fn confirm_with_bank(
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
        let status = provider.adapter.payment_status(&query).await?;
        match verdict(status, source) {
            Verdict::Record(event, details) => {
                let applied = self.apply(&payment.id, event, *details, now).await?;
                // A decline leaves the payment closing: deactivate the QR now rather than at
                // the next worker round, so the register hears "failed" at once.
                if let PaymentState::Closing(_) = applied.payment().state {
                    self.close_job(applied.payment(), 0).await?;
                }
            }
            Verdict::Open { .. } => {}
            Verdict::Unrecognised(status) => {
                tracing::warn!(payment = %payment.id, status, "the bank reports an undocumented status; the job keeps asking");
            }
        }
        Ok(())
    }
}
