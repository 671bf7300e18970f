//! What the bank's answers mean for the journal: the one mapping from a bank's payment status
//! to a payment event ([`verdict`]), and the typed failure codes stored with failed payments.

use qrpayd_bank::{BankError, BankPaymentStatus};
use qrpayd_domain::failure::FailureCode;
use qrpayd_domain::payment::PaymentEvent;
use qrpayd_store::{EventDetails, Payment};

/// What a bank's view of a payment means for the journal.
#[derive(Debug)]
pub(super) enum Verdict {
    /// Record this event, with these details.
    Record(PaymentEvent, Box<EventDetails>),
    /// Nothing is decided: not paid (yet), or being paid right now (`paying`).
    Open {
        /// The customer is paying right now (`IN_PROGRESS`).
        paying: bool,
    },
    /// A status the bank's documentation does not list: logged, asked again later.
    Unrecognised(String),
}

/// The one mapping from a bank's payment status to what the journal records. `source` names
/// who asked (for the history line).
pub(super) fn verdict(status: BankPaymentStatus, source: &'static str) -> Verdict {
    match status {
        BankPaymentStatus::Paid { transaction_id } => Verdict::Record(
            PaymentEvent::BankPaid,
            Box::new(EventDetails {
                bank_transaction_id: transaction_id,
                source,
                ..EventDetails::default()
            }),
        ),
        BankPaymentStatus::Declined => Verdict::Record(
            PaymentEvent::BankDeclined,
            Box::new(EventDetails {
                failure: Some(failure(
                    FailureCode::Declined,
                    "the bank declined the payment",
                )),
                source,
                ..EventDetails::default()
            }),
        ),
        BankPaymentStatus::NotPaid => Verdict::Open { paying: false },
        BankPaymentStatus::InProgress => Verdict::Open { paying: true },
        BankPaymentStatus::Unrecognised(status) => Verdict::Unrecognised(status),
    }
}

/// A failure as the journal stores it.
pub(super) fn failure(code: FailureCode, message: impl Into<String>) -> (String, String) {
    (code.as_str().to_owned(), message.into())
}

/// The failure code stored for a bank error at creation.
pub(super) fn failure_code(e: &BankError) -> FailureCode {
    match e {
        BankError::Timeout => FailureCode::BankTimeout,
        BankError::Unavailable(_) => FailureCode::BankUnavailable,
        BankError::Rejected { .. } => FailureCode::BankRejected,
        BankError::Protocol(_) => FailureCode::BankProtocolError,
        BankError::Unsupported(_) => FailureCode::BankUnsupported,
        BankError::LinkBusy(_) => FailureCode::BankLinkBusy,
    }
}

/// Recovers the bank error from a stored creation failure (for idempotent replays).
pub(super) fn stored_creation_error(payment: &Payment) -> Option<BankError> {
    let (code, message) = payment.failure.as_ref()?;
    Some(match FailureCode::parse(code)? {
        FailureCode::BankTimeout => BankError::Timeout,
        FailureCode::BankUnavailable | FailureCode::CreationInterrupted => {
            BankError::Unavailable(message.clone())
        }
        FailureCode::BankRejected => BankError::Rejected {
            code: message.split(':').next().unwrap_or_default().to_owned(),
            message: message.clone(),
        },
        FailureCode::BankProtocolError => BankError::Protocol(message.clone()),
        FailureCode::BankUnsupported => BankError::Unsupported(message.clone()),
        FailureCode::BankLinkBusy => BankError::LinkBusy(message.clone()),
        FailureCode::Declined | FailureCode::RefundNotReceived => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bank_status_has_one_meaning() {
        let paid = verdict(
            BankPaymentStatus::Paid {
                transaction_id: Some("7".into()),
            },
            "test",
        );
        assert!(matches!(
            paid,
            Verdict::Record(PaymentEvent::BankPaid, ref d) if d.bank_transaction_id.as_deref() == Some("7")
        ));
        // A decline always carries its failure.
        let declined = verdict(BankPaymentStatus::Declined, "test");
        assert!(matches!(
            declined,
            Verdict::Record(PaymentEvent::BankDeclined, ref d) if d.failure.as_ref().is_some_and(|(code, _)| code == "declined")
        ));
        assert!(matches!(
            verdict(BankPaymentStatus::InProgress, "test"),
            Verdict::Open { paying: true }
        ));
        assert!(matches!(
            verdict(BankPaymentStatus::NotPaid, "test"),
            Verdict::Open { paying: false }
        ));
    }
}
