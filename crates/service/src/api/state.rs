//! [`AppState`], what every handler can reach, and the request-size bound they share. Apart
//! from the router in `api/mod.rs`, so that handlers depend on it and the router on them, never
//! in a circle.

use std::sync::Arc;
use std::time::Duration;

use qrpayd_domain::money::Kopecks;

use super::keys::{Displays, Registers};
use crate::clock::Clock;
use crate::metrics::Metrics;
use crate::payments::Payments;

/// Largest request body we read (a create request is a few hundred bytes).
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// What every handler can reach.
#[derive(Clone, Debug)]
pub struct AppState {
    /// The orchestrator.
    pub payments: Payments,
    /// Registers and their keys.
    pub registers: Arc<Registers>,
    /// Cap of `?wait=`.
    pub max_wait: Duration,
    /// Largest amount of one payment.
    pub max_amount: Kopecks,
    /// The provider used when a request names none and the register has no default, if
    /// exactly one is configured.
    /// Customer-display keys.
    pub displays: Arc<Displays>,
    /// Serve the cashier demo page (`/demo`): the configuration has a `[sandbox]`.
    pub demo: bool,
    /// Business time (countdowns and how long a display shows an outcome).
    pub clock: Arc<dyn Clock>,
    /// Metrics and the providers' health.
    pub metrics: Arc<Metrics>,
    /// A broker is configured (the outbox backlog is worth reporting).
    pub outbox: bool,
    /// Rate limits, per-register caps, the render pool.
    pub limits: Arc<crate::limits::Limits>,
    /// The registers' shared display screens.
    pub screens: Arc<crate::screens::Screens>,
}
