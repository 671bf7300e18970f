//! The Raiffeisenbank SBP API (BANKS.md §1) as the sandbox emulates it: QR registration (v1
//! and v2, `QRDynamic`, `QRStatic`, `QRVariable` cash-register links), QR status and
//! cancellation, payment-info, refunds, link activations (orders) with their refunds, the
//! callback-URL setting, signed notifications, the daily registry, the bank's own sandbox
//! payment call, and the customer-presented QR extension.

pub(crate) mod customer;
pub(crate) mod error;
pub(crate) mod model;
pub(crate) mod notify;
pub(crate) mod orders;
pub(crate) mod registry;
pub(crate) mod routes;
pub(crate) mod state;
pub(crate) mod wire;

pub use error::SandboxError;
pub(crate) use routes::{router, unknown_path};
pub(crate) use state::State;
pub(crate) use wire::parse_body;
