//! The background worker: claims due job rows and runs them.
//!
//! Jobs are rows in `payment_jobs` (one per non-final payment), claimed with a lease, so a
//! restart or a crashed worker loses nothing: the rows are still there and the lease runs out.
//! [`Worker::run_due_jobs`] is one round and is what tests call directly with a manual clock.

use std::sync::Arc;
use std::time::Duration;

use qrpayd_store::StoreError;
use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;

use crate::clock::Clock;
use crate::payments::Payments;

/// Runs payment jobs.
#[derive(Debug, Clone)]
pub struct Worker {
    payments: Payments,
    clock: Arc<dyn Clock>,
    /// How long a claimed job stays invisible to other claims: longer than any job can take
    /// (two bank calls), so a live worker never loses its job to another one.
    lease: Duration,
    /// Jobs claimed per round.
    batch: i64,
    /// Longest sleep between rounds.
    tick: Duration,
    wake: Arc<Notify>,
}

impl Worker {
    /// A worker over `payments`. `bank_timeout` sizes the lease.
    pub fn new(payments: Payments, clock: Arc<dyn Clock>, bank_timeout: Duration) -> Self {
        Worker {
            payments,
            clock,
            lease: bank_timeout.saturating_mul(3) + Duration::from_secs(5),
            batch: 32,
            tick: Duration::from_millis(200),
            wake: Arc::new(Notify::new()),
        }
    }

    /// Wakes the loop now (a job became due).
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// One round: claims due jobs and runs them concurrently. Returns how many ran.
    pub async fn run_due_jobs(&self) -> Result<usize, StoreError> {
        let jobs = self
            .payments
            .store()
            .claim_due_jobs(self.clock.now(), self.lease, self.batch)
            .await?;
        let count = jobs.len();
        let mut running = JoinSet::new();
        for job in jobs {
            let payments = self.payments.clone();
            running.spawn(async move {
                if let Err(e) = payments.run_job(&job).await {
                    // The lease runs out and the job is retried; nothing is lost.
                    tracing::error!(target_id = %job.target, "job failed: {e}");
                }
            });
        }
        while let Some(done) = running.join_next().await {
            if let Err(e) = done {
                tracing::error!("job task ended abnormally: {e}");
            }
        }
        Ok(count)
    }

    /// Runs rounds until `shutdown` turns true.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        tracing::info!("worker started");
        loop {
            match self.run_due_jobs().await {
                // A full batch: there may be more due right now.
                Ok(n) if i64::try_from(n).unwrap_or(0) >= self.batch => continue,
                Ok(_) => {}
                Err(e) => tracing::error!("worker round failed: {e}"),
            }
            tokio::select! {
                () = tokio::time::sleep(self.tick) => {}
                () = self.wake.notified() => {}
                _ = shutdown.wait_for(|stop| *stop) => break,
            }
        }
        tracing::info!("worker stopped");
    }
}
