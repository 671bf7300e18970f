//! A provider's health as a circuit breaker: after a few failed calls in a row the provider is
//! *down* for a while and creates go to the next provider a register lists; when the while is
//! over one call is let through as a probe, and its outcome decides (up again, or down for
//! another while). Pure: the caller hands in the time.

use chrono::{DateTime, TimeDelta, Utc};

/// When a provider counts as down, and for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakerSettings {
    /// Failed calls in a row that take the provider down.
    pub failures_to_open: u32,
    /// How long it stays down before a probe.
    pub open_for: TimeDelta,
}

impl Default for BreakerSettings {
    fn default() -> Self {
        BreakerSettings {
            failures_to_open: 3,
            open_for: TimeDelta::seconds(30),
        }
    }
}

/// The breaker's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    /// Calls go through.
    Up,
    /// Down until this moment: no calls (except ones a register asked for by name).
    Down {
        /// When a probe may be tried.
        until: DateTime<Utc>,
    },
    /// The down time is over and one probe call is under way; others wait for its outcome.
    Probing,
}

/// One provider's circuit breaker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Breaker {
    settings: BreakerSettings,
    health: Health,
    failures_in_a_row: u32,
}

/// A change of health worth a log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// The provider went down (until the given moment).
    WentDown(DateTime<Utc>),
    /// The provider is up again.
    CameBack,
}

impl Breaker {
    /// A breaker for a provider that has not failed yet.
    pub fn new(settings: BreakerSettings) -> Breaker {
        Breaker {
            settings,
            health: Health::Up,
            failures_in_a_row: 0,
        }
    }

    /// The health at `now` (a down time that is over reads as `Down` until a probe starts).
    pub fn health(&self) -> Health {
        self.health
    }

    /// Failed calls in a row.
    pub fn failures_in_a_row(&self) -> u32 {
        self.failures_in_a_row
    }

    /// Is the provider taking calls at `now`? A down provider whose time is over lets exactly
    /// one call through (the probe): this returns true once and moves to `Probing`.
    pub fn admit(&mut self, now: DateTime<Utc>) -> bool {
        match self.health {
            Health::Up => true,
            Health::Down { until } if now >= until => {
                self.health = Health::Probing;
                true
            }
            Health::Down { .. } | Health::Probing => false,
        }
    }

    /// Would [`Breaker::admit`] let a call through at `now` (without taking the probe)?
    pub fn is_available(&self, now: DateTime<Utc>) -> bool {
        match self.health {
            Health::Up => true,
            Health::Down { until } => now >= until,
            Health::Probing => false,
        }
    }

    /// A call was answered.
    pub fn succeeded(&mut self) -> Option<Change> {
        self.failures_in_a_row = 0;
        let was_up = self.health == Health::Up;
        self.health = Health::Up;
        (!was_up).then_some(Change::CameBack)
    }

    /// A call failed in a way that counts against the bank (no answer, a server error, the
    /// bank's own internal error).
    pub fn failed(&mut self, now: DateTime<Utc>) -> Option<Change> {
        self.failures_in_a_row = self.failures_in_a_row.saturating_add(1);
        let until = now + self.settings.open_for;
        match self.health {
            Health::Probing => {
                self.health = Health::Down { until };
                Some(Change::WentDown(until))
            }
            Health::Up if self.failures_in_a_row >= self.settings.failures_to_open => {
                self.health = Health::Down { until };
                Some(Change::WentDown(until))
            }
            Health::Up | Health::Down { .. } => None,
        }
    }
}

#[cfg(test)]
mod tests {
    // fixed-dates: the breaker is handed its times; nothing here reads the wall clock.
    use super::*;

    fn t0() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-01-01T10:00:00Z")
            .unwrap()
            .to_utc()
    }

    #[test]
    fn three_failures_in_a_row_take_it_down_and_an_answer_in_between_resets_the_count() {
        let mut b = Breaker::new(BreakerSettings::default());
        assert_eq!(b.failed(t0()), None);
        assert_eq!(b.failed(t0()), None);
        assert_eq!(b.succeeded(), None);
        assert_eq!(b.failed(t0()), None);
        assert_eq!(b.failed(t0()), None);
        assert!(b.admit(t0()));
        let until = t0() + TimeDelta::seconds(30);
        assert_eq!(b.failed(t0()), Some(Change::WentDown(until)));
        assert_eq!(b.health(), Health::Down { until });
        assert!(!b.admit(t0() + TimeDelta::seconds(29)));
        assert!(!b.is_available(t0() + TimeDelta::seconds(29)));
    }

    #[test]
    fn after_the_down_time_one_probe_decides() {
        let mut b = Breaker::new(BreakerSettings::default());
        for _ in 0..3 {
            b.failed(t0());
        }
        let later = t0() + TimeDelta::seconds(30);
        assert!(b.is_available(later));
        // One probe, the others wait for it.
        assert!(b.admit(later));
        assert_eq!(b.health(), Health::Probing);
        assert!(!b.admit(later));
        // It fails: down for another while.
        assert_eq!(
            b.failed(later),
            Some(Change::WentDown(later + TimeDelta::seconds(30)))
        );
        // The next probe succeeds: up.
        let after = later + TimeDelta::seconds(30);
        assert!(b.admit(after));
        assert_eq!(b.succeeded(), Some(Change::CameBack));
        assert_eq!(b.health(), Health::Up);
        assert_eq!(b.failures_in_a_row(), 0);
        assert!(b.admit(after));
    }
}
