//! Where "now" comes from: the [`Clock`] port and a [`ManualClock`] that tests move by hand.
//!
//! Every component that reasons about business time (qrpayd's expiry and job due times, the
//! sandbox bank's QR lifetimes and registry days) asks a `Clock` instead of the wall clock, so
//! one test can hand the *same* clock to all of them and the suite passes on any calendar
//! date. The wall-clock implementation (`SystemClock`) lives in `qrpayd-bank`, the lowest crate
//! allowed to do IO: this crate only names the port and never reads the time itself.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};

/// A source of "now".
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// The current time, UTC.
    fn now(&self) -> DateTime<Utc>;
}

/// A clock that moves only when told to (tests, simulations). Clones share one time, so a
/// test gives a clone to qrpayd, one to the sandbox bank and keeps one to advance.
#[derive(Debug, Clone)]
pub struct ManualClock(Arc<Mutex<DateTime<Utc>>>);

impl ManualClock {
    /// Starts at `at`.
    pub fn new(at: DateTime<Utc>) -> Self {
        ManualClock(Arc::new(Mutex::new(at)))
    }

    /// Moves time forward (a negative `by` is ignored: business time never goes back).
    pub fn advance(&self, by: Duration) {
        if by < Duration::zero() {
            return;
        }
        let mut now = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *now += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn clones_share_one_time_and_it_only_moves_forward() {
        // fixed-date: a pure value, never compared with the wall clock.
        let start = Utc.with_ymd_and_hms(2030, 1, 2, 3, 4, 5).single().unwrap();
        let clock = ManualClock::new(start);
        let other = clock.clone();
        clock.advance(Duration::seconds(90));
        assert_eq!(other.now(), start + Duration::seconds(90));
        other.advance(Duration::seconds(-30));
        assert_eq!(clock.now(), start + Duration::seconds(90));
    }
}
