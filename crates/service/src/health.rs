//! The providers' health, one circuit breaker per provider ([`qrpayd_domain::health`]). The
//! instrumented adapters record every call's outcome here; the orchestration sends creates to
//! the first available provider a register lists; `/readyz`, the metrics and the log show it.
//!
//! What counts against a bank: no answer in time, no connection or a server error, an answer
//! that makes no sense, and a refusal with one of the bank's own "internal error, try later"
//! codes (`Capabilities::bank_side_codes`). A refusal of the request itself is an answer: the
//! bank is up.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use qrpayd_bank::{BankError, Capabilities};
use qrpayd_domain::health::{Breaker, BreakerSettings, Change, Health};

use crate::clock::Clock;

/// One provider's health as `/readyz` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderHealth {
    /// Calls since start.
    pub calls: u64,
    /// Failed calls in a row; 0 after any answer.
    pub consecutive_failures: u32,
    /// The last failure, as text.
    pub last_error: Option<String>,
    /// The breaker's state.
    pub health: Health,
}

impl ProviderHealth {
    /// Down (or being probed after a down time): creates go elsewhere if they can.
    pub fn is_down(&self) -> bool {
        self.health != Health::Up
    }
}

#[derive(Debug)]
struct Entry {
    calls: u64,
    last_error: Option<String>,
    breaker: Breaker,
}

/// Every provider's health. One per process, shared.
pub struct HealthBoard {
    clock: Arc<dyn Clock>,
    settings: BreakerSettings,
    providers: Mutex<HashMap<String, Entry>>,
}

impl std::fmt::Debug for HealthBoard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HealthBoard")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

/// Does this failed call count against the bank's health?
pub fn counts_against_bank(error: &BankError, capabilities: &Capabilities) -> bool {
    match error {
        BankError::Timeout | BankError::Unavailable(_) | BankError::Protocol(_) => true,
        BankError::Rejected { code, .. } => capabilities.bank_side_codes.contains(&code.as_str()),
        BankError::Unsupported(_) | BankError::LinkBusy(_) => false,
    }
}

impl HealthBoard {
    /// A board on `clock`, every provider up.
    pub fn new(clock: Arc<dyn Clock>, settings: BreakerSettings) -> HealthBoard {
        HealthBoard {
            clock,
            settings,
            providers: Mutex::default(),
        }
    }

    fn with<T>(&self, provider: &str, f: impl FnOnce(&mut Entry) -> T) -> T {
        let mut providers = self
            .providers
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let entry = providers
            .entry(provider.to_owned())
            .or_insert_with(|| Entry {
                calls: 0,
                last_error: None,
                breaker: Breaker::new(self.settings),
            });
        f(entry)
    }

    /// One call of `provider`: `failure` is `Some(text)` when it counts against the bank.
    pub fn record(&self, provider: &str, failure: Option<String>) {
        let now = self.clock.now();
        let change = self.with(provider, |e| {
            e.calls = e.calls.saturating_add(1);
            match failure {
                Some(text) => {
                    e.last_error = Some(text);
                    e.breaker.failed(now)
                }
                None => e.breaker.succeeded(),
            }
        });
        match change {
            Some(Change::WentDown(until)) => {
                tracing::warn!(provider, %until, "provider DOWN after failed calls in a row; creates go to the register's next provider until a probe succeeds");
            }
            Some(Change::CameBack) => tracing::info!(provider, "provider up again"),
            None => {}
        }
    }

    /// May a create be sent to `provider` now? A provider whose down time is over admits one
    /// probe.
    pub fn admit(&self, provider: &str) -> bool {
        let now = self.clock.now();
        self.with(provider, |e| e.breaker.admit(now))
    }

    /// The health of `provider` (up when it was never called).
    pub fn get(&self, provider: &str) -> ProviderHealth {
        self.with(provider, |e| ProviderHealth {
            calls: e.calls,
            consecutive_failures: e.breaker.failures_in_a_row(),
            last_error: e.last_error.clone(),
            health: e.breaker.health(),
        })
    }
}

#[cfg(test)]
mod tests {
    // fixed-dates: the manual clock's start; nothing here reads the wall clock.
    use super::*;
    use crate::clock::ManualClock;
    use chrono::{DateTime, TimeDelta};

    fn board() -> (HealthBoard, ManualClock) {
        let clock = ManualClock::new(
            DateTime::parse_from_rfc3339("2026-01-01T10:00:00Z")
                .unwrap()
                .to_utc(),
        );
        let board = HealthBoard::new(Arc::new(clock.clone()), BreakerSettings::default());
        (board, clock)
    }

    #[test]
    fn a_provider_goes_down_after_failures_in_a_row_and_comes_back_through_a_probe() {
        let (board, clock) = board();
        assert!(!board.get("raiffeisen").is_down());
        for _ in 0..3 {
            assert!(board.admit("raiffeisen"));
            board.record("raiffeisen", Some("the bank did not answer in time".into()));
        }
        let down = board.get("raiffeisen");
        assert!(down.is_down(), "{down:?}");
        assert_eq!(down.calls, 3);
        assert_eq!(
            down.last_error.as_deref(),
            Some("the bank did not answer in time")
        );
        assert!(!board.admit("raiffeisen"));
        // Other providers are not affected.
        assert!(board.admit("tbank"));
        clock.advance(TimeDelta::seconds(30));
        assert!(board.admit("raiffeisen"), "the probe");
        assert!(!board.admit("raiffeisen"), "one probe at a time");
        board.record("raiffeisen", None);
        assert!(!board.get("raiffeisen").is_down());
        assert!(board.admit("raiffeisen"));
    }

    #[test]
    fn a_refusal_of_the_request_is_an_answer_but_the_banks_own_internal_error_is_not() {
        let capabilities = Capabilities {
            bank_side_codes: &["ERROR.INTERNAL"],
            ..qrpayd_bank::raiffeisen::CAPABILITIES
        };
        let refused = |code: &str| BankError::Rejected {
            code: code.into(),
            message: String::new(),
        };
        assert!(!counts_against_bank(
            &refused("ERROR.AMOUNT"),
            &capabilities
        ));
        assert!(counts_against_bank(
            &refused("ERROR.INTERNAL"),
            &capabilities
        ));
        assert!(counts_against_bank(&BankError::Timeout, &capabilities));
        assert!(counts_against_bank(
            &BankError::Unavailable("503".into()),
            &capabilities
        ));
        assert!(!counts_against_bank(
            &BankError::Unsupported("links".into()),
            &capabilities
        ));
    }
}
