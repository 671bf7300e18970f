//! Read-only questions an operator asks the journal: what the metrics endpoint reports at
//! scrape time (payments per provider and status, due and overdue jobs, the oldest unfinished
//! payment, the outbox backlog, the connection pool), the full history of a payment and its
//! refunds for the journal page, and the last reconciliation's report.
//!
//! Every query is cheap: counts over indexed columns or primary keys, or one payment's rows.
//! Nothing here writes, except [`Store::save_reconciliation`].

use chrono::{DateTime, Utc};
use qrpayd_domain::ids::{PaymentId, RefundId};
use qrpayd_domain::refund::RefundState;
use sqlx::Row;

use crate::{Refund, Store, StoreError, from_ms, record, to_ms};

/// How many payments of one provider are in one database status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusCount {
    /// The provider name.
    pub provider: String,
    /// The database status (`PaymentState::as_db_str`).
    pub status: String,
    /// How many.
    pub count: i64,
}

/// Due and overdue job rows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JobCounts {
    /// Payment jobs due now.
    pub payments_due: i64,
    /// Payment jobs due for longer than the grace period (the worker is behind or stuck).
    pub payments_overdue: i64,
    /// Refund jobs due now.
    pub refunds_due: i64,
    /// Refund jobs due for longer than the grace period.
    pub refunds_overdue: i64,
}

/// Events not yet confirmed by the broker.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutboxBacklog {
    /// How many.
    pub unpublished: i64,
    /// When the oldest of them was written.
    pub oldest: Option<DateTime<Utc>>,
}

/// The connection pool right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStats {
    /// Open connections.
    pub size: u32,
    /// Of which idle.
    pub idle: u32,
    /// The most it may open; a pool at `max` with none idle makes callers wait.
    pub max: u32,
}

/// One line of a payment's or refund's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryLine {
    /// When.
    pub at: DateTime<Utc>,
    /// The state before (`None` at creation).
    pub from: Option<String>,
    /// The state after.
    pub to: String,
    /// What happened and who reported it (`BankPaid via bank notification`).
    pub event: String,
    /// The bank's answer or transaction, when there was one.
    pub detail: Option<String>,
}

/// A saved reconciliation run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReconciliationRun {
    /// When it ran.
    pub ran_at: DateTime<Utc>,
    /// The registry's day (`YYYY-MM-DD`), when the registry said.
    pub registry_date: Option<String>,
    /// How many differences it found.
    pub differences: i64,
    /// The whole report as JSON (`reconcile --format json`).
    pub report: String,
}

impl Store {
    /// Payments per provider and database status (the whole journal).
    pub async fn payment_status_counts(&self) -> Result<Vec<StatusCount>, StoreError> {
        let rows = self
            .backend
            .q("SELECT provider, status, COUNT(*) AS n FROM payments GROUP BY provider, status")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(StatusCount {
                    provider: r.try_get("provider")?,
                    status: r.try_get("status")?,
                    count: r.try_get("n")?,
                })
            })
            .collect()
    }

    /// Late payments the policy left for a person (`late_action = 'flag'`).
    pub async fn flagged_late_payments(&self) -> Result<i64, StoreError> {
        Ok(self
            .backend
            .scalar("SELECT COUNT(*) FROM payments WHERE late = 1 AND late_action = 'flag'")
            .fetch_one(&self.pool)
            .await?)
    }

    /// Jobs due at `now`, and those due since before `overdue_before`.
    pub async fn job_counts(
        &self,
        now: DateTime<Utc>,
        overdue_before: DateTime<Utc>,
    ) -> Result<JobCounts, StoreError> {
        let count = |table: &'static str, at: DateTime<Utc>| {
            self.backend
                .scalar::<i64>(&format!("SELECT COUNT(*) FROM {table} WHERE due_at <= ?"))
                .bind(to_ms(at))
                .fetch_one(&self.pool)
        };
        Ok(JobCounts {
            payments_due: count("payment_jobs", now).await?,
            payments_overdue: count("payment_jobs", overdue_before).await?,
            refunds_due: count("refund_jobs", now).await?,
            refunds_overdue: count("refund_jobs", overdue_before).await?,
        })
    }

    /// When the oldest payment that is not final yet was created.
    pub async fn oldest_unfinished_payment(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        let oldest: Option<i64> = self
            .backend
            .scalar(
                "SELECT MIN(p.created_at) FROM payments p \
                 JOIN payment_jobs j ON j.payment_id = p.id",
            )
            .fetch_one(&self.pool)
            .await?;
        oldest.map(from_ms).transpose()
    }

    /// Events the broker has not confirmed yet.
    pub async fn outbox_backlog(&self) -> Result<OutboxBacklog, StoreError> {
        let row = self
            .backend
            .q("SELECT COUNT(*) AS n, MIN(created_at) AS oldest FROM events WHERE published_at IS NULL")
            .fetch_one(&self.pool)
            .await?;
        let oldest: Option<i64> = row.try_get("oldest")?;
        Ok(OutboxBacklog {
            unpublished: row.try_get("n")?,
            oldest: oldest.map(from_ms).transpose()?,
        })
    }

    /// The connection pool's state.
    pub fn pool_stats(&self) -> PoolStats {
        PoolStats {
            size: self.pool.size(),
            idle: u32::try_from(self.pool.num_idle()).unwrap_or(u32::MAX),
            max: self.pool.options().get_max_connections(),
        }
    }

    /// Every state change of a payment, oldest first, with times and the bank's answers.
    pub async fn payment_history(&self, id: &PaymentId) -> Result<Vec<HistoryLine>, StoreError> {
        self.history_lines(
            "SELECT at, from_status, to_status, event, detail FROM payment_history \
             WHERE payment_id = ? ORDER BY seq",
            id.as_str(),
        )
        .await
    }

    /// Every state change of a refund, oldest first.
    pub async fn refund_history(&self, id: &RefundId) -> Result<Vec<HistoryLine>, StoreError> {
        self.history_lines(
            "SELECT at, from_status, to_status, event, detail FROM refund_history \
             WHERE refund_id = ? ORDER BY seq",
            id.as_str(),
        )
        .await
    }

    async fn history_lines(&self, sql: &str, id: &str) -> Result<Vec<HistoryLine>, StoreError> {
        let rows = self
            .backend
            .q(sql)
            .bind(id.to_owned())
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(HistoryLine {
                    at: from_ms(r.try_get("at")?)?,
                    from: r.try_get("from_status")?,
                    to: r.try_get("to_status")?,
                    event: r.try_get("event")?,
                    detail: r.try_get("detail")?,
                })
            })
            .collect()
    }

    /// Refunds that failed (the bank refused them), newest first: someone must give the money
    /// back another way.
    pub async fn failed_refunds(&self, limit: i64) -> Result<Vec<Refund>, StoreError> {
        let rows = self
            .backend
            .q("SELECT * FROM refunds WHERE status = ? ORDER BY created_at DESC LIMIT ?")
            .bind(RefundState::Failed.as_db_str())
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(record::refund_from_row).collect()
    }

    /// Saves a reconciliation run (its report as JSON).
    pub async fn save_reconciliation(&self, run: &ReconciliationRun) -> Result<(), StoreError> {
        self.backend
            .q(
                "INSERT INTO reconciliations (id, ran_at, registry_date, differences, report) \
                VALUES (?, ?, ?, ?, ?)",
            )
            .bind(format!("rec_{}", uuid::Uuid::now_v7().simple()))
            .bind(to_ms(run.ran_at))
            .bind(run.registry_date.clone())
            .bind(run.differences)
            .bind(run.report.clone())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The latest reconciliation run, if any.
    pub async fn last_reconciliation(&self) -> Result<Option<ReconciliationRun>, StoreError> {
        let row = self
            .backend
            .q(
                "SELECT ran_at, registry_date, differences, report FROM reconciliations \
                ORDER BY ran_at DESC, id DESC LIMIT 1",
            )
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| {
            Ok(ReconciliationRun {
                ran_at: from_ms(r.try_get("ran_at")?)?,
                registry_date: r.try_get("registry_date")?,
                differences: r.try_get("differences")?,
                report: r.try_get("report")?,
            })
        })
        .transpose()
    }
}
