//! The durable job queue: one row per unfinished payment or refund, claimed with a lease so
//! that instances sharing a database never work the same job at once.

use std::time::Duration;

use chrono::{DateTime, Utc};
use qrpayd_domain::ids::{PaymentId, RefundId};
use sqlx::Row;

use crate::connection::{Store, StoreError, from_ms, to_ms};
use crate::sql::Backend;

/// What a job row is about.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum JobTarget {
    /// A payment that is not final (`payment_jobs`).
    Payment(PaymentId),
    /// A refund that is not final (`refund_jobs`).
    Refund(RefundId),
}

impl std::fmt::Display for JobTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            JobTarget::Payment(id) => write!(f, "{id}"),
            JobTarget::Refund(id) => write!(f, "{id}"),
        }
    }
}

impl JobTarget {
    fn id(&self) -> &str {
        match self {
            JobTarget::Payment(id) => id.as_str(),
            JobTarget::Refund(id) => id.as_str(),
        }
    }
}

/// A due job, claimed with a lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedJob {
    /// The payment or refund to look at.
    pub target: JobTarget,
    /// How many times this job already failed in a row (for backoff).
    pub attempts: i64,
}

impl Store {
    /// Claims up to `limit` jobs of each kind due at `now` whose lease has run out, leasing
    /// them until `now + lease`. A claimed job is invisible to other claims until the lease
    /// ends.
    pub async fn claim_due_jobs(
        &self,
        now: DateTime<Utc>,
        lease: Duration,
        limit: i64,
    ) -> Result<Vec<ClaimedJob>, StoreError> {
        let now_ms = to_ms(now);
        let until = now_ms.saturating_add(i64::try_from(lease.as_millis()).unwrap_or(i64::MAX));
        let mut claimed = Vec::new();
        for (table, key, refund) in [
            ("payment_jobs", "payment_id", false),
            ("refund_jobs", "refund_id", true),
        ] {
            let rows: Vec<(String, i64)> = match self.backend {
                Backend::Sqlite => {
                    let sql = format!(
                        "UPDATE {table} SET lease_until = ? WHERE {key} IN \
                         (SELECT {key} FROM {table} WHERE due_at <= ? AND lease_until <= ? \
                          ORDER BY due_at LIMIT ?) RETURNING {key} AS id, attempts"
                    );
                    let rows = self
                        .backend
                        .q(&sql)
                        .bind(until)
                        .bind(now_ms)
                        .bind(now_ms)
                        .bind(limit)
                        .fetch_all(&self.writer)
                        .await?;
                    rows.iter()
                        .map(|r| Ok((r.try_get("id")?, r.try_get("attempts")?)))
                        .collect::<Result<_, sqlx::Error>>()?
                }
                Backend::MySql | Backend::Postgres => {
                    // MariaDB has no UPDATE … RETURNING: lock the due rows others have not
                    // locked (SKIP LOCKED: instances never wait for each other), lease them,
                    // commit.
                    let mut tx = self.pool.begin().await?;
                    let sql = format!(
                        "SELECT {key} AS id, attempts FROM {table} WHERE due_at <= ? AND lease_until <= ? \
                         ORDER BY due_at LIMIT ? FOR UPDATE SKIP LOCKED"
                    );
                    let rows = self
                        .backend
                        .q(&sql)
                        .bind(now_ms)
                        .bind(now_ms)
                        .bind(limit)
                        .fetch_all(&mut *tx)
                        .await?;
                    let rows: Vec<(String, i64)> = rows
                        .iter()
                        .map(|r| Ok((r.try_get("id")?, r.try_get("attempts")?)))
                        .collect::<Result<_, sqlx::Error>>()?;
                    let update = format!("UPDATE {table} SET lease_until = ? WHERE {key} = ?");
                    for (id, _) in &rows {
                        self.backend
                            .q(&update)
                            .bind(until)
                            .bind(id.as_str())
                            .execute(&mut *tx)
                            .await?;
                    }
                    tx.commit().await?;
                    rows
                }
            };
            for (id, attempts) in rows {
                let bad = |e: qrpayd_domain::ids::IdError| {
                    StoreError::Corrupt(format!("job id {id:?}: {e}"))
                };
                let target = if refund {
                    JobTarget::Refund(RefundId::parse(&id).map_err(bad)?)
                } else {
                    JobTarget::Payment(PaymentId::parse(&id).map_err(bad)?)
                };
                claimed.push(ClaimedJob { target, attempts });
            }
        }
        Ok(claimed)
    }

    /// Puts a job back, due at `due_at`. With an `error` the attempt counts towards backoff and
    /// the error is remembered; without one (a routine poll) the count starts over.
    pub async fn reschedule_job(
        &self,
        target: &JobTarget,
        due_at: DateTime<Utc>,
        error: Option<&str>,
    ) -> Result<(), StoreError> {
        let sql = match target {
            JobTarget::Payment(_) => {
                "UPDATE payment_jobs SET due_at = ?, lease_until = 0, \
                 attempts = CASE WHEN ? IS NULL THEN 0 ELSE attempts + 1 END, \
                 last_error = ? WHERE payment_id = ?"
            }
            JobTarget::Refund(_) => {
                "UPDATE refund_jobs SET due_at = ?, lease_until = 0, \
                 attempts = CASE WHEN ? IS NULL THEN 0 ELSE attempts + 1 END, \
                 last_error = ? WHERE refund_id = ?"
            }
        };
        self.backend
            .q(sql)
            .bind(to_ms(due_at))
            .bind(error)
            .bind(error)
            .bind(target.id())
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    /// Makes a job due at once (a cancel whose bank call failed, a doubtful notification):
    /// the worker takes it on its next round.
    pub async fn job_due_now(
        &self,
        target: &JobTarget,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let sql = match target {
            JobTarget::Payment(_) => {
                "UPDATE payment_jobs SET due_at = ?, lease_until = 0 WHERE payment_id = ?"
            }
            JobTarget::Refund(_) => {
                "UPDATE refund_jobs SET due_at = ?, lease_until = 0 WHERE refund_id = ?"
            }
        };
        self.backend
            .q(sql)
            .bind(to_ms(now))
            .bind(target.id())
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    /// Deletes the job row of something already final (left over by a crash between two
    /// versions of the code, or a hand edit).
    pub async fn delete_job(&self, target: &JobTarget) -> Result<(), StoreError> {
        let sql = match target {
            JobTarget::Payment(_) => "DELETE FROM payment_jobs WHERE payment_id = ?",
            JobTarget::Refund(_) => "DELETE FROM refund_jobs WHERE refund_id = ?",
        };
        self.backend
            .q(sql)
            .bind(target.id())
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    /// The earliest due time among jobs (to know how long a worker may sleep).
    pub async fn next_job_due(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        let due: Option<i64> = self.backend.scalar(
            "SELECT MIN(due_at) FROM (SELECT due_at FROM payment_jobs UNION ALL SELECT due_at FROM refund_jobs) AS jobs",
        )
            .fetch_one(&self.pool)
            .await?;
        due.map(from_ms).transpose()
    }
}
