//! Black-box tests of the sandbox over HTTP on 127.0.0.1: the Raiffeisen-compatible API
//! (QRs, cash-register links and their orders), the customer-QR extension, the T-Bank
//! terminal, the RBS gateway, the Sber terminal, the sandbox controls, signed callbacks, fault injection, and qrpayd's bank
//! adapters against it.
//!
//! Amounts are checked as raw JSON text, never through floating point.

#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a failed unwrap in a test is a failed test, which is what we want"
)]

mod adapters;
mod callbacks;
mod customer;
mod errors;
mod faults;
mod links;
mod qrs;
mod rbs;
mod refunds;
mod registry;
mod sber;
mod spec;
mod support;
mod tbank;
