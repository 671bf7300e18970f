//! The refund state machine, shaped like the payment's: one transition function.
//!
//! ```text
//!              BankAccepted            BankCompleted
//!  Requested ──────────────▶ Pending ───────────────▶ Succeeded
//!      │  BankCompleted ───────────────────────────────▲
//!      │ BankRefused | BankDeclined      BankDeclined
//!      ▼                                   │
//!    Failed ◀──────────────────────────────┘
//! ```
//!
//! `Requested` means "saved, the bank has not confirmed that it has it": a refund sent when the
//! bank timed out stays here, and the worker asks the bank about it *by the same refund id*
//! (re-sending under that id if the bank never got it). A refund is never re-sent under a new
//! id, so a retry can never refund twice.

use std::fmt;

/// Where a refund is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RefundState {
    /// Saved; the bank has not (yet) confirmed receiving it.
    Requested,
    /// The bank accepted it and is processing (`IN_PROGRESS`).
    Pending,
    /// The money went back to the customer (`COMPLETED`). Final.
    Succeeded,
    /// The bank refused or declined it; the amount is free to refund again. Final.
    Failed,
}

/// Something the bank said about a refund.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefundEvent {
    /// `IN_PROGRESS`.
    BankAccepted,
    /// `COMPLETED`.
    BankCompleted,
    /// `DECLINED` (asynchronously).
    BankDeclined,
    /// The bank refused the request outright (a business error such as insufficient funds).
    BankRefused,
}

/// The result of applying a refund event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefundTransition {
    /// Nothing changes (a repeated answer).
    Unchanged,
    /// Move to this state.
    To(RefundState),
}

/// An event that makes no sense in the current state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("refund event {event:?} is not allowed in state {from:?}")]
pub struct IllegalRefundTransition {
    /// The state the refund was in.
    pub from: RefundState,
    /// The refused event.
    pub event: RefundEvent,
}

impl RefundState {
    /// The one transition function.
    pub fn apply(self, event: RefundEvent) -> Result<RefundTransition, IllegalRefundTransition> {
        use RefundEvent as E;
        use RefundState as S;
        let to = |s| Ok(RefundTransition::To(s));
        let illegal = Err(IllegalRefundTransition { from: self, event });
        match (self, event) {
            (S::Requested, E::BankAccepted) => to(S::Pending),
            (S::Requested | S::Pending, E::BankCompleted) => to(S::Succeeded),
            (S::Requested | S::Pending, E::BankDeclined) => to(S::Failed),
            (S::Requested, E::BankRefused) => to(S::Failed),
            (S::Pending, E::BankAccepted) => Ok(RefundTransition::Unchanged),
            // Once the bank has it, it cannot refuse the request any more, only decline it.
            (S::Pending, E::BankRefused) => illegal,
            (S::Succeeded, E::BankCompleted) => Ok(RefundTransition::Unchanged),
            (S::Succeeded, E::BankAccepted | E::BankDeclined | E::BankRefused) => illegal,
            (S::Failed, E::BankDeclined | E::BankRefused) => Ok(RefundTransition::Unchanged),
            (S::Failed, E::BankAccepted | E::BankCompleted) => illegal,
        }
    }

    /// Final states never change.
    pub fn is_final(self) -> bool {
        match self {
            RefundState::Succeeded | RefundState::Failed => true,
            RefundState::Requested | RefundState::Pending => false,
        }
    }

    /// Does this refund hold part of the payment's amount? Everything but a failed refund does,
    /// so concurrent refunds can never add up to more than was paid.
    pub fn reserves_amount(self) -> bool {
        match self {
            RefundState::Requested | RefundState::Pending | RefundState::Succeeded => true,
            RefundState::Failed => false,
        }
    }

    /// The status registers see: `pending`, `succeeded`, `failed`.
    pub fn api_status(self) -> &'static str {
        match self {
            RefundState::Requested | RefundState::Pending => "pending",
            RefundState::Succeeded => "succeeded",
            RefundState::Failed => "failed",
        }
    }

    /// Database text.
    pub fn as_db_str(self) -> &'static str {
        match self {
            RefundState::Requested => "requested",
            RefundState::Pending => "pending",
            RefundState::Succeeded => "succeeded",
            RefundState::Failed => "failed",
        }
    }

    /// Reads the database text.
    pub fn from_db_str(text: &str) -> Option<RefundState> {
        Some(match text {
            "requested" => RefundState::Requested,
            "pending" => RefundState::Pending,
            "succeeded" => RefundState::Succeeded,
            "failed" => RefundState::Failed,
            _ => return None,
        })
    }

    /// Every state.
    pub const ALL: [RefundState; 4] = [
        RefundState::Requested,
        RefundState::Pending,
        RefundState::Succeeded,
        RefundState::Failed,
    ];
}

impl fmt::Display for RefundState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_db_str())
    }
}

#[cfg(test)]
mod tests {
    use super::RefundEvent as E;
    use super::RefundState as S;
    use super::*;

    #[test]
    fn every_edge() {
        let cases = [
            (
                S::Requested,
                E::BankAccepted,
                Some(RefundTransition::To(S::Pending)),
            ),
            (
                S::Requested,
                E::BankCompleted,
                Some(RefundTransition::To(S::Succeeded)),
            ),
            (
                S::Requested,
                E::BankDeclined,
                Some(RefundTransition::To(S::Failed)),
            ),
            (
                S::Requested,
                E::BankRefused,
                Some(RefundTransition::To(S::Failed)),
            ),
            (
                S::Pending,
                E::BankAccepted,
                Some(RefundTransition::Unchanged),
            ),
            (
                S::Pending,
                E::BankCompleted,
                Some(RefundTransition::To(S::Succeeded)),
            ),
            (
                S::Pending,
                E::BankDeclined,
                Some(RefundTransition::To(S::Failed)),
            ),
            (S::Pending, E::BankRefused, None),
            (S::Succeeded, E::BankAccepted, None),
            (
                S::Succeeded,
                E::BankCompleted,
                Some(RefundTransition::Unchanged),
            ),
            (S::Succeeded, E::BankDeclined, None),
            (S::Succeeded, E::BankRefused, None),
            (S::Failed, E::BankAccepted, None),
            (S::Failed, E::BankCompleted, None),
            (
                S::Failed,
                E::BankDeclined,
                Some(RefundTransition::Unchanged),
            ),
            (S::Failed, E::BankRefused, Some(RefundTransition::Unchanged)),
        ];
        assert_eq!(cases.len(), S::ALL.len() * 4);
        for (from, event, want) in cases {
            assert_eq!(from.apply(event).ok(), want, "{from:?} + {event:?}");
        }
    }

    #[test]
    fn statuses() {
        for s in S::ALL {
            assert_eq!(S::from_db_str(s.as_db_str()), Some(s));
            assert_eq!(s.is_final(), s.api_status() != "pending");
            assert_eq!(s.reserves_amount(), s != S::Failed);
        }
    }
}
