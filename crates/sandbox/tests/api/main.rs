//! Black-box tests of the sandbox over HTTP on 127.0.0.1: the Raiffeisen-compatible API, the
//! sandbox controls, signed callbacks and fault injection.
//!
//! Amounts are checked as raw JSON text, never through floating point.

#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a failed unwrap in a test is a failed test, which is what we want"
)]

mod callbacks;
mod errors;
mod faults;
mod qrs;
mod refunds;
mod registry;
mod support;
