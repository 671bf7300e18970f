//! The wall clock: the one [`Clock`] that reads the system time.
//!
//! It lives here, not in `qrpayd-domain`, because reading the time is IO and the domain does
//! none; this is the lowest crate that may. qrpayd's server and the standalone sandbox bank
//! use it; tests hand every component one shared [`ManualClock`] instead.

use chrono::{DateTime, Utc};
pub use qrpayd_domain::clock::{Clock, ManualClock};

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}
