//! Everything the emulated banks hold, behind the [`Sandbox`](crate::Sandbox) handle's one
//! lock: each bank's books and the injected faults.

use crate::faults::Faults;
use crate::{raiffeisen, rbs, sber, tbank};

/// Both banks' books and the faults.
#[derive(Debug)]
pub(crate) struct Books {
    /// The Raiffeisen merchant's QRs, orders, refunds, customer QRs and callback URL.
    pub(crate) raiffeisen: raiffeisen::State,
    /// The T-Bank terminal's payments and notification URL.
    pub(crate) tbank: tbank::Books,
    /// The RBS gateway merchant's orders.
    pub(crate) rbs: rbs::Books,
    /// The Sber terminal's orders, tokens and notification URL.
    pub(crate) sber: sber::Books,
    /// Injected faults.
    pub(crate) faults: Faults,
}
