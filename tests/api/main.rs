//! Black-box tests of the POS API: a real qrpayd on a random port, a real sandbox bank on
//! another, a fresh SQLite file each, business time moved by hand (no sleeps for expiry or
//! polling: the worker is driven with `run_jobs`).

#![expect(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "tests fail loudly"
)]

mod helpers;

mod admin;

mod bad_input;
mod bank_fidelity;
mod cancel_and_expiry;
mod conformance;
mod contract;
mod display;
mod events;
mod fallback;
mod flow;
mod limits;
mod links;
mod media;
mod reconcile;
mod refunds;
mod resilience;
mod tbank;
mod upgrade;
