//! qrpayd's domain: the words every other crate speaks.
//!
//! * [`contract`] — the wire shapes registers read (payment, refund, event), with their schemas;
//! * [`clock`] — the `Clock` port (business time is handed in) and a `ManualClock` for tests;
//! * [`failure`] — why a payment or refund failed, as stable codes;
//! * [`moscow`] — business time: Moscow dates and clock faces, in one place;
//! * [`money`] — amounts as integer kopecks and their exact ruble text for bank wires;
//! * [`health`] — a provider's health as a circuit breaker (down after failures, probed back);
//! * [`ids`] — strict newtypes for everything that identifies something;
//! * [`payment`] — payment statuses and the one transition function of the state machine;
//! * [`refund`] — the same for refunds;
//! * [`nspk`] — NSPK (SBP) QR links, their CRC-16 and the scanned cash-register link check;
//! * [`secret`] — strings that never reach logs.
//!
//! Architecture invariant: this crate does no IO (no clock reads, no randomness, no network,
//! no database). Callers hand it the current time and fresh ids. That keeps every rule here
//! testable with plain values.

pub mod clock;
pub mod contract;
pub mod failure;
pub mod health;
pub mod ids;
pub mod money;
pub mod moscow;
pub mod nspk;
pub mod payment;
pub mod refund;
pub mod secret;
