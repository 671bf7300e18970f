//! Why a payment or a refund failed: the stable codes stored in the journal and shown to
//! registers as `failure.code`, one enum instead of string literals spread through the code.

use std::fmt;

/// A failure code. The text forms ([`FailureCode::as_str`]) are part of the API contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FailureCode {
    /// The bank did not answer in time.
    BankTimeout,
    /// The bank could not be reached, or answered with a server error.
    BankUnavailable,
    /// The bank refused (a business error).
    BankRejected,
    /// The bank's answer was not acceptable.
    BankProtocolError,
    /// The provider cannot do this.
    BankUnsupported,
    /// The cash-register link is busy with another payment.
    BankLinkBusy,
    /// qrpayd stopped (or the bank's answer was lost) while the QR was being issued.
    CreationInterrupted,
    /// The bank (the payer's bank) declined.
    Declined,
    /// A refund the bank shows no trace of after it was sent (never sent again).
    RefundNotReceived,
}

impl FailureCode {
    /// Every code, for documentation and tests.
    pub const ALL: [FailureCode; 9] = [
        FailureCode::BankTimeout,
        FailureCode::BankUnavailable,
        FailureCode::BankRejected,
        FailureCode::BankProtocolError,
        FailureCode::BankUnsupported,
        FailureCode::BankLinkBusy,
        FailureCode::CreationInterrupted,
        FailureCode::Declined,
        FailureCode::RefundNotReceived,
    ];

    /// The stored and shown text.
    pub fn as_str(self) -> &'static str {
        match self {
            FailureCode::BankTimeout => "bank_timeout",
            FailureCode::BankUnavailable => "bank_unavailable",
            FailureCode::BankRejected => "bank_rejected",
            FailureCode::BankProtocolError => "bank_protocol_error",
            FailureCode::BankUnsupported => "bank_unsupported",
            FailureCode::BankLinkBusy => "bank_link_busy",
            FailureCode::CreationInterrupted => "creation_interrupted",
            FailureCode::Declined => "declined",
            FailureCode::RefundNotReceived => "refund_not_received",
        }
    }

    /// Reads a stored code.
    pub fn parse(text: &str) -> Option<FailureCode> {
        FailureCode::ALL.into_iter().find(|c| c.as_str() == text)
    }
}

impl fmt::Display for FailureCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_are_distinct() {
        for code in FailureCode::ALL {
            assert_eq!(FailureCode::parse(code.as_str()), Some(code));
        }
        let mut texts: Vec<_> = FailureCode::ALL.iter().map(|c| c.as_str()).collect();
        texts.sort_unstable();
        texts.dedup();
        assert_eq!(texts.len(), FailureCode::ALL.len());
        assert_eq!(FailureCode::parse("nope"), None);
    }
}
