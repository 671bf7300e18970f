//! Business time for the service: expiry, job due times and journal timestamps come from a
//! [`Clock`], so tests move time with [`ManualClock::advance`] instead of sleeping.
//!
//! The types live below this crate (the port and the manual clock in `qrpayd-domain`, the
//! wall clock in `qrpayd-bank`) so the sandbox bank can read the very same clock as qrpayd in
//! a test; this module re-exports them under the name the service has always used.

pub use qrpayd_bank::clock::{Clock, ManualClock, SystemClock};
