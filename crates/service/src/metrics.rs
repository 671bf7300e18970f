//! Prometheus metrics (`/metrics`, OpenMetrics text through `prometheus-client`).
//!
//! Counted as things happen: bank calls (a latency histogram by provider, operation and
//! outcome, through [`bank::InstrumentedBank`], which wraps every adapter at startup),
//! notifications accepted and refused, open long-polls and display streams. Read from the
//! journal at scrape time ([`Metrics::render`]): payments by provider and status, flagged late
//! payments, jobs due and overdue, the oldest unfinished payment, the outbox backlog, the
//! connection pool; and each provider's health from the [`crate::health::HealthBoard`].
//!
//! Not money: this is the one module with floating point (`prometheus-client` takes bucket
//! bounds and observations in seconds as `f64`); amounts never pass through it.

pub mod bank;

use std::collections::HashMap;
use std::sync::atomic::AtomicI64;
use std::time::Duration;

use chrono::{DateTime, Utc};
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::{Registry, Unit};
use qrpayd_domain::payment::PaymentState;
use qrpayd_store::{Store, StoreError};

/// Label sets: `(name, value)` pairs.
type Labels = Vec<(&'static str, String)>;

/// A job due for longer than this is overdue: the worker runs due jobs every 200 ms, so a job
/// this late means the worker is stuck, overloaded, or cannot reach the database.
pub const OVERDUE_AFTER: Duration = Duration::from_secs(60);

fn latency_histogram() -> Histogram {
    // 5 ms … ~20 s: a bank answers in tens of milliseconds; the timeout is at most 60 s.
    Histogram::new(exponential_buckets(0.005, 2.0, 13))
}

/// Every metric qrpayd keeps. One per process, shared.
pub struct Metrics {
    registry: Registry,
    bank_calls: Family<Labels, Histogram, fn() -> Histogram>,
    callbacks: Family<Labels, Counter>,
    long_polls: Gauge,
    display_streams: Gauge,
    payments: Family<Labels, Gauge>,
    late_flagged: Gauge,
    jobs_due: Family<Labels, Gauge>,
    jobs_overdue: Family<Labels, Gauge>,
    oldest_unfinished: Gauge,
    outbox_unpublished: Gauge,
    outbox_lag: Gauge,
    pool_connections: Family<Labels, Gauge>,
    pool_max: Gauge,
    provider_up: Family<Labels, Gauge>,
    /// One scrape at a time (scrape-time gauges are set, then encoded).
    scrape: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    /// All metrics registered, at zero.
    pub fn new() -> Metrics {
        let mut registry = Registry::default();
        let bank_calls: Family<Labels, Histogram, fn() -> Histogram> =
            Family::new_with_constructor(latency_histogram);
        registry.register_with_unit(
            "qrpayd_bank_request_duration",
            "Bank API calls by provider, operation and outcome (ok, rejected, timeout, unavailable, protocol, unsupported, link_busy)",
            Unit::Seconds,
            bank_calls.clone(),
        );
        let callbacks = Family::<Labels, Counter>::default();
        registry.register(
            "qrpayd_callbacks",
            "Bank notifications by provider and result (accepted, deferred, rejected_signature, rejected_malformed, unknown_provider, error)",
            callbacks.clone(),
        );
        let long_polls = Gauge::default();
        registry.register(
            "qrpayd_long_polls_open",
            "Requests waiting with ?wait= right now",
            long_polls.clone(),
        );
        let display_streams = Gauge::default();
        registry.register(
            "qrpayd_display_streams_open",
            "Customer display event streams open right now",
            display_streams.clone(),
        );
        let payments = Family::<Labels, Gauge>::default();
        registry.register(
            "qrpayd_payments",
            "Payments in the journal by provider and status (pending, paid, failed, expired, cancelled)",
            payments.clone(),
        );
        let late_flagged = Gauge::default();
        registry.register(
            "qrpayd_late_payments_flagged",
            "Late payments the policy left for a person (late_payment_policy = flag)",
            late_flagged.clone(),
        );
        let jobs_due = Family::<Labels, Gauge>::default();
        registry.register(
            "qrpayd_jobs_due",
            "Job rows due now, by kind (payment, refund)",
            jobs_due.clone(),
        );
        let jobs_overdue = Family::<Labels, Gauge>::default();
        registry.register(
            "qrpayd_jobs_overdue",
            "Job rows due for more than a minute, by kind: the worker is behind or stuck",
            jobs_overdue.clone(),
        );
        let oldest_unfinished = Gauge::default();
        registry.register_with_unit(
            "qrpayd_oldest_unfinished_payment_age",
            "Age of the oldest payment that is not final (0 when none)",
            Unit::Seconds,
            oldest_unfinished.clone(),
        );
        let outbox_unpublished = Gauge::default();
        registry.register(
            "qrpayd_outbox_unpublished_events",
            "Events not yet confirmed by the broker (only with amqp_url)",
            outbox_unpublished.clone(),
        );
        let outbox_lag = Gauge::default();
        registry.register_with_unit(
            "qrpayd_outbox_lag",
            "Age of the oldest event not yet confirmed by the broker (only with amqp_url; 0 when none)",
            Unit::Seconds,
            outbox_lag.clone(),
        );
        let pool_connections = Family::<Labels, Gauge>::default();
        registry.register(
            "qrpayd_db_pool_connections",
            "Database connections by state (idle, busy); busy = max means requests wait for one",
            pool_connections.clone(),
        );
        let pool_max = Gauge::default();
        registry.register(
            "qrpayd_db_pool_max_connections",
            "The most connections the pool opens",
            pool_max.clone(),
        );
        let provider_up = Family::<Labels, Gauge>::default();
        registry.register(
            "qrpayd_provider_up",
            "1 when the provider takes creates, 0 while it is down after failed calls (or being probed)",
            provider_up.clone(),
        );
        Metrics {
            registry,
            bank_calls,
            callbacks,
            long_polls,
            display_streams,
            payments,
            late_flagged,
            jobs_due,
            jobs_overdue,
            oldest_unfinished,
            outbox_unpublished,
            outbox_lag,
            pool_connections,
            pool_max,
            provider_up,
            scrape: tokio::sync::Mutex::default(),
        }
    }

    /// One bank call: its latency by provider, operation and outcome.
    pub fn bank_call(
        &self,
        provider: &str,
        operation: &'static str,
        outcome: &'static str,
        took: Duration,
    ) {
        self.bank_calls
            .get_or_create(&vec![
                ("provider", provider.to_owned()),
                ("operation", operation.to_owned()),
                ("outcome", outcome.to_owned()),
            ])
            .observe(took.as_secs_f64());
    }

    /// A bank notification and what became of it.
    pub fn callback(&self, provider: &str, result: &'static str) {
        self.callbacks
            .get_or_create(&vec![
                ("provider", provider.to_owned()),
                ("result", result.to_owned()),
            ])
            .inc();
    }

    /// Counts a long-poll while the guard lives.
    pub fn long_poll(&self) -> OpenGuard {
        OpenGuard::new(self.long_polls.clone())
    }

    /// Counts a display stream while the guard lives.
    pub fn display_stream(&self) -> OpenGuard {
        OpenGuard::new(self.display_streams.clone())
    }

    /// Reads the journal's gauges at `now` and encodes everything. `outbox`: a broker is
    /// configured (without one, events are never published and the backlog means nothing).
    /// `providers`: each provider's name and whether it is up.
    pub async fn render(
        &self,
        store: &Store,
        now: DateTime<Utc>,
        outbox: bool,
        providers: &[(String, bool)],
    ) -> Result<String, StoreError> {
        let _one = self.scrape.lock().await;
        for (provider, up) in providers {
            self.provider_up
                .get_or_create(&vec![("provider", provider.clone())])
                .set(i64::from(*up));
        }
        let mut by_status: HashMap<(String, &'static str), i64> = HashMap::new();
        for row in store.payment_status_counts().await? {
            let status = PaymentState::from_db_str(&row.status)
                .map_or("unknown", |s| s.api_status().as_str());
            let total = by_status.entry((row.provider, status)).or_default();
            *total = total.saturating_add(row.count);
        }
        self.payments.clear();
        for ((provider, status), count) in by_status {
            self.payments
                .get_or_create(&vec![("provider", provider), ("status", status.to_owned())])
                .set(count);
        }
        self.late_flagged.set(store.flagged_late_payments().await?);
        let overdue = chrono::Duration::from_std(OVERDUE_AFTER).unwrap_or_default();
        let jobs = store.job_counts(now, now - overdue).await?;
        for (kind, due, late) in [
            ("payment", jobs.payments_due, jobs.payments_overdue),
            ("refund", jobs.refunds_due, jobs.refunds_overdue),
        ] {
            let labels = vec![("kind", kind.to_owned())];
            self.jobs_due.get_or_create(&labels).set(due);
            self.jobs_overdue.get_or_create(&labels).set(late);
        }
        let age = |at: Option<DateTime<Utc>>| at.map_or(0, |t| (now - t).num_seconds().max(0));
        self.oldest_unfinished
            .set(age(store.oldest_unfinished_payment().await?));
        if outbox {
            let backlog = store.outbox_backlog().await?;
            self.outbox_unpublished.set(backlog.unpublished);
            self.outbox_lag.set(age(backlog.oldest));
        }
        let pool = store.pool_stats();
        let busy = pool.size.saturating_sub(pool.idle);
        self.pool_connections
            .get_or_create(&vec![("state", "idle".to_owned())])
            .set(i64::from(pool.idle));
        self.pool_connections
            .get_or_create(&vec![("state", "busy".to_owned())])
            .set(i64::from(busy));
        self.pool_max.set(i64::from(pool.max));
        let mut text = String::new();
        encode(&mut text, &self.registry)
            .map_err(|e| StoreError::Corrupt(format!("metrics encoding: {e}")))?;
        Ok(text)
    }
}

/// Decrements its gauge when dropped (a long-poll answered, a stream closed).
#[derive(Debug)]
pub struct OpenGuard(Gauge<i64, AtomicI64>);

impl OpenGuard {
    fn new(gauge: Gauge) -> OpenGuard {
        gauge.inc();
        OpenGuard(gauge)
    }
}

impl Drop for OpenGuard {
    fn drop(&mut self) {
        self.0.dec();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guards_count_what_is_open() {
        let m = Metrics::new();
        let a = m.long_poll();
        let b = m.long_poll();
        assert_eq!(m.long_polls.get(), 2);
        drop(a);
        assert_eq!(m.long_polls.get(), 1);
        drop(b);
        assert_eq!(m.long_polls.get(), 0);
    }
}
