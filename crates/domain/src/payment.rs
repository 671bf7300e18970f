//! The payment state machine: one enum of states, one of events, one transition function.
//!
//! ```text
//!             QrIssued                 BankPaid
//!  Creating ───────────▶ Pending ───────────────────────────────▶ Paid
//!     │                     │ CloseRequested(cancel|expire),        ▲
//!     │ CreationFailed      │ BankDeclined (→ reason decline)       │ BankPaid
//!     ▼                     ▼                                       │
//!   Failed             Closing(reason) ─────────────────────────────┘
//!                           │ BankClosed | BankDeclined
//!                           ▼
//!        Cancelled | Expired | Failed   (by the reason: cancel, expire, decline)
//! ```
//!
//! `Closing` is the durable "we asked the bank to deactivate the QR and have not yet seen the
//! bank confirm that nothing was paid" state: a payment can race the cancel, so the final
//! answer comes only from re-checking the bank. A bank report of payment on a payment we had
//! already closed (or failed) still becomes `Paid`, marked *late*, because money the customer
//! paid must never be lost.
//!
//! The API shows five statuses ([`ApiStatus`]): `Creating`, `Pending` and `Closing` all read
//! as `pending`.

use std::fmt;

use serde::Serialize;

/// Why a payment is being closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CloseReason {
    /// The register (cashier) cancelled.
    Cancel,
    /// The QR's lifetime ran out.
    Expire,
    /// The bank declined the customer's attempt. The QR may still be payable (the customer can
    /// try again), so it is deactivated like any other before the payment is called `failed`.
    Decline,
}

/// Where a payment is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PaymentState {
    /// Saved, the bank is being asked for a QR. Nobody has seen a QR yet.
    Creating,
    /// The QR is issued and shown; waiting for the customer.
    Pending,
    /// We are deactivating the QR at the bank; the outcome is not yet known.
    Closing(CloseReason),
    /// The customer paid. Final.
    Paid,
    /// The bank declined, or the QR could not be created. Final (but see the module doc on
    /// late payments).
    Failed,
    /// Nobody paid within the QR lifetime; the QR is deactivated. Final.
    Expired,
    /// The register cancelled and the bank confirmed nothing was paid. Final.
    Cancelled,
}

/// Something that happened to a payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaymentEvent {
    /// The bank registered the QR and gave us its payload.
    QrIssued,
    /// The bank refused to register the QR, or its answer was lost before anyone saw a QR.
    CreationFailed,
    /// The register cancelled, or the lifetime ran out.
    CloseRequested(CloseReason),
    /// The bank says the customer paid (callback, poll or re-check).
    BankPaid,
    /// The bank says the payment was declined.
    BankDeclined,
    /// The bank says the QR is deactivated or expired and nothing was paid.
    BankClosed,
}

/// The result of applying an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// The event changes nothing (a repeated callback, a second cancel): write nothing.
    Unchanged,
    /// Move to `to`. `late` is set when the customer paid after we had given up on the
    /// payment (closed or failed it), which a person or the late-payment policy must handle.
    To {
        /// The new state.
        to: PaymentState,
        /// Paid after we had already closed or failed the payment.
        late: bool,
    },
}

/// An event that makes no sense in the current state. The caller keeps the state and logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("event {event:?} is not allowed in state {from:?}")]
pub struct IllegalTransition {
    /// The state the payment was in.
    pub from: PaymentState,
    /// The event that was refused.
    pub event: PaymentEvent,
}

impl PaymentState {
    /// The one transition function. Every (state, event) pair is spelled out.
    pub fn apply(self, event: PaymentEvent) -> Result<Transition, IllegalTransition> {
        use CloseReason::{Cancel, Decline, Expire};
        use PaymentEvent as E;
        use PaymentState as S;
        let to = |to| Ok(Transition::To { to, late: false });
        let illegal = Err(IllegalTransition { from: self, event });
        match (self, event) {
            (S::Creating, E::QrIssued) => to(S::Pending),
            (S::Creating, E::CreationFailed) => to(S::Failed),
            // No QR exists yet: nothing to close, pay, decline or expire.
            (S::Creating, E::CloseRequested(_) | E::BankPaid | E::BankDeclined | E::BankClosed) => {
                illegal
            }

            (S::Pending, E::CloseRequested(reason)) => to(S::Closing(reason)),
            (S::Pending, E::BankPaid) => to(S::Paid),
            // Declined, but the QR may still be payable: close it before calling it failed.
            (S::Pending, E::BankDeclined) => to(S::Closing(Decline)),
            // The bank closed the QR on its own: only its lifetime does that.
            (S::Pending, E::BankClosed) => to(S::Expired),
            (S::Pending, E::QrIssued | E::CreationFailed) => illegal,

            // An explicit cancel outranks an expiry or a decline in progress; anything else is a
            // repeat.
            (S::Closing(Expire | Decline), E::CloseRequested(Cancel)) => to(S::Closing(Cancel)),
            (S::Closing(_), E::CloseRequested(_)) => Ok(Transition::Unchanged),
            (S::Closing(_), E::BankPaid) => to(S::Paid),
            // Declined or closed, nothing was paid: the payment ends the way it was closing.
            (S::Closing(Cancel), E::BankClosed | E::BankDeclined) => to(S::Cancelled),
            (S::Closing(Expire), E::BankClosed | E::BankDeclined) => to(S::Expired),
            (S::Closing(Decline), E::BankClosed | E::BankDeclined) => to(S::Failed),
            (S::Closing(_), E::QrIssued | E::CreationFailed) => illegal,

            (S::Paid, E::BankPaid) => Ok(Transition::Unchanged),
            (
                S::Paid,
                E::QrIssued
                | E::CreationFailed
                | E::CloseRequested(_)
                | E::BankDeclined
                | E::BankClosed,
            ) => illegal,

            // A payment that lands after we gave up is still money the customer paid.
            (S::Failed | S::Expired | S::Cancelled, E::BankPaid) => Ok(Transition::To {
                to: S::Paid,
                late: true,
            }),
            (S::Failed, E::BankDeclined | E::CreationFailed) => Ok(Transition::Unchanged),
            (S::Expired | S::Cancelled, E::BankClosed) => Ok(Transition::Unchanged),
            (S::Failed, E::QrIssued | E::CloseRequested(_) | E::BankClosed) => illegal,
            (
                S::Expired | S::Cancelled,
                E::QrIssued | E::CreationFailed | E::CloseRequested(_) | E::BankDeclined,
            ) => illegal,
        }
    }

    /// Final states never change again, except for a late `BankPaid`.
    pub fn is_final(self) -> bool {
        match self {
            PaymentState::Paid
            | PaymentState::Failed
            | PaymentState::Expired
            | PaymentState::Cancelled => true,
            PaymentState::Creating | PaymentState::Pending | PaymentState::Closing(_) => false,
        }
    }

    /// The status registers see.
    pub fn api_status(self) -> ApiStatus {
        match self {
            PaymentState::Creating | PaymentState::Pending | PaymentState::Closing(_) => {
                ApiStatus::Pending
            }
            PaymentState::Paid => ApiStatus::Paid,
            PaymentState::Failed => ApiStatus::Failed,
            PaymentState::Expired => ApiStatus::Expired,
            PaymentState::Cancelled => ApiStatus::Cancelled,
        }
    }

    /// The text stored in the database's `status` column.
    pub fn as_db_str(self) -> &'static str {
        match self {
            PaymentState::Creating => "creating",
            PaymentState::Pending => "pending",
            PaymentState::Closing(CloseReason::Cancel) => "cancelling",
            PaymentState::Closing(CloseReason::Expire) => "expiring",
            PaymentState::Closing(CloseReason::Decline) => "declining",
            PaymentState::Paid => "paid",
            PaymentState::Failed => "failed",
            PaymentState::Expired => "expired",
            PaymentState::Cancelled => "cancelled",
        }
    }

    /// Reads the database's `status` column.
    pub fn from_db_str(text: &str) -> Option<PaymentState> {
        Some(match text {
            "creating" => PaymentState::Creating,
            "pending" => PaymentState::Pending,
            "cancelling" => PaymentState::Closing(CloseReason::Cancel),
            "expiring" => PaymentState::Closing(CloseReason::Expire),
            "declining" => PaymentState::Closing(CloseReason::Decline),
            "paid" => PaymentState::Paid,
            "failed" => PaymentState::Failed,
            "expired" => PaymentState::Expired,
            "cancelled" => PaymentState::Cancelled,
            _ => return None,
        })
    }

    /// Every state, for exhaustive tests and documentation.
    pub const ALL: [PaymentState; 9] = [
        PaymentState::Creating,
        PaymentState::Pending,
        PaymentState::Closing(CloseReason::Cancel),
        PaymentState::Closing(CloseReason::Expire),
        PaymentState::Closing(CloseReason::Decline),
        PaymentState::Paid,
        PaymentState::Failed,
        PaymentState::Expired,
        PaymentState::Cancelled,
    ];
}

impl fmt::Display for PaymentState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_db_str())
    }
}

/// How the customer gets the QR for a payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QrType {
    /// A QR registered for this one payment (shown on a screen or printed).
    Dynamic,
    /// The register's printed cash-register link (a static QR), activated with this amount.
    CashRegister,
    /// The customer shows a QR from their bank app and the register scans it.
    Customer,
}

impl QrType {
    /// The API and database text.
    pub fn as_str(self) -> &'static str {
        match self {
            QrType::Dynamic => "dynamic",
            QrType::CashRegister => "cash_register",
            QrType::Customer => "customer",
        }
    }

    /// Reads the API and database text.
    pub fn parse(text: &str) -> Option<QrType> {
        Some(match text {
            "dynamic" => QrType::Dynamic,
            "cash_register" => QrType::CashRegister,
            "customer" => QrType::Customer,
            _ => return None,
        })
    }
}

/// `pending` is the only non-final status. `paid`: the customer paid. `failed`: no QR could be
/// issued, or the bank declined the payment. `expired`: nobody paid within the QR lifetime.
/// `cancelled`: the register cancelled and the bank confirmed nothing was paid. A `failed`,
/// `expired` or `cancelled` payment can still become `paid` with `late: true` if the bank
/// reports the money afterwards.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = PaymentStatus)]
pub enum ApiStatus {
    /// QR issued (or being issued, or being closed); waiting.
    Pending,
    /// Paid.
    Paid,
    /// Declined by the bank or could not be created.
    Failed,
    /// Nobody paid in time.
    Expired,
    /// Cancelled by the register.
    Cancelled,
}

impl ApiStatus {
    /// The API text.
    pub fn as_str(self) -> &'static str {
        match self {
            ApiStatus::Pending => "pending",
            ApiStatus::Paid => "paid",
            ApiStatus::Failed => "failed",
            ApiStatus::Expired => "expired",
            ApiStatus::Cancelled => "cancelled",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::CloseReason::{Cancel, Decline, Expire};
    use super::PaymentEvent as E;
    use super::PaymentState as S;
    use super::*;

    const EVENTS: [PaymentEvent; 8] = [
        E::QrIssued,
        E::CreationFailed,
        E::CloseRequested(Cancel),
        E::CloseRequested(Expire),
        E::CloseRequested(Decline),
        E::BankPaid,
        E::BankDeclined,
        E::BankClosed,
    ];

    fn to(state: PaymentState) -> Result<Transition, IllegalTransition> {
        Ok(Transition::To {
            to: state,
            late: false,
        })
    }

    fn late_paid() -> Result<Transition, IllegalTransition> {
        Ok(Transition::To {
            to: S::Paid,
            late: true,
        })
    }

    /// The whole table, edge by edge: (from, event, expected).
    fn expected(from: PaymentState, event: PaymentEvent) -> Option<Result<Transition, ()>> {
        let t = |r: Result<Transition, IllegalTransition>| Some(r.map_err(|_| ()));
        let unchanged = Some(Ok(Transition::Unchanged));
        let illegal = Some(Err(()));
        match (from, event) {
            (S::Creating, E::QrIssued) => t(to(S::Pending)),
            (S::Creating, E::CreationFailed) => t(to(S::Failed)),
            (S::Creating, _) => illegal,
            (S::Pending, E::CloseRequested(r)) => t(to(S::Closing(r))),
            (S::Pending, E::BankPaid) => t(to(S::Paid)),
            (S::Pending, E::BankDeclined) => t(to(S::Closing(Decline))),
            (S::Pending, E::BankClosed) => t(to(S::Expired)),
            (S::Pending, _) => illegal,
            (S::Closing(Expire | Decline), E::CloseRequested(Cancel)) => t(to(S::Closing(Cancel))),
            (S::Closing(_), E::CloseRequested(_)) => unchanged,
            (S::Closing(_), E::BankPaid) => t(to(S::Paid)),
            (S::Closing(Cancel), E::BankClosed | E::BankDeclined) => t(to(S::Cancelled)),
            (S::Closing(Expire), E::BankClosed | E::BankDeclined) => t(to(S::Expired)),
            (S::Closing(Decline), E::BankClosed | E::BankDeclined) => t(to(S::Failed)),
            (S::Closing(_), _) => illegal,
            (S::Paid, E::BankPaid) => unchanged,
            (S::Paid, _) => illegal,
            (S::Failed | S::Expired | S::Cancelled, E::BankPaid) => t(late_paid()),
            (S::Failed, E::BankDeclined | E::CreationFailed) => unchanged,
            (S::Expired | S::Cancelled, E::BankClosed) => unchanged,
            (S::Failed | S::Expired | S::Cancelled, _) => illegal,
        }
    }

    #[test]
    fn every_edge_matches_the_table() {
        for from in PaymentState::ALL {
            for event in EVENTS {
                let got = from.apply(event).map_err(|_| ());
                assert_eq!(Some(got), expected(from, event), "{from:?} + {event:?}");
            }
        }
    }

    #[test]
    fn happy_path_and_cancel_race() {
        let pending = S::Creating.apply(E::QrIssued);
        assert_eq!(pending, to(S::Pending));
        assert_eq!(
            S::Pending.apply(E::CloseRequested(Cancel)),
            to(S::Closing(Cancel))
        );
        // The customer paid while we were deactivating the QR: paid wins, not late.
        assert_eq!(S::Closing(Cancel).apply(E::BankPaid), to(S::Paid));
        // Paid after we had already cancelled: paid, late.
        assert_eq!(S::Cancelled.apply(E::BankPaid), late_paid());
    }

    #[test]
    fn qr_types_round_trip() {
        for t in [QrType::Dynamic, QrType::CashRegister, QrType::Customer] {
            assert_eq!(QrType::parse(t.as_str()), Some(t));
        }
        assert_eq!(QrType::parse("static"), None);
    }

    #[test]
    fn final_states_and_api_status() {
        for s in PaymentState::ALL {
            let api = s.api_status();
            assert_eq!(s.is_final(), api != ApiStatus::Pending, "{s:?}");
            assert_eq!(PaymentState::from_db_str(s.as_db_str()), Some(s));
        }
        assert_eq!(PaymentState::from_db_str("bogus"), None);
    }

    #[test]
    fn only_bank_paid_leaves_a_final_state() {
        for from in PaymentState::ALL.into_iter().filter(|s| s.is_final()) {
            for event in EVENTS {
                if let Ok(Transition::To { to, .. }) = from.apply(event) {
                    assert_eq!((event, to), (E::BankPaid, S::Paid), "{from:?}");
                }
            }
        }
    }
}
