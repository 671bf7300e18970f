//! Refund rows: insertion with the over-refund check inside the transaction, state changes
//! through the domain's refund transition function, and lookups.

use chrono::{DateTime, Utc};
use qrpayd_domain::ids::{PaymentId, RefundId};
use qrpayd_domain::money::Kopecks;
use qrpayd_domain::payment::PaymentState;
use qrpayd_domain::refund::{IllegalRefundTransition, RefundEvent, RefundState, RefundTransition};
use sqlx::{Sqlite, Transaction};

use crate::record::{NewRefund, Payment, Refund, refund_from_row};
use crate::{Store, StoreError, select_by_id, to_ms};

/// Result of asking for a refund.
#[derive(Debug, Clone)]
pub enum RefundInserted {
    /// Saved (state `Requested`) with its job row.
    New(Refund),
    /// The register already used this key; here is that refund.
    Existing(Refund),
    /// The payment does not exist.
    PaymentNotFound,
    /// The payment is not paid.
    NotRefundable(Box<Payment>),
    /// More than what is left to refund (`remaining`), counting refunds still in progress.
    Exceeds {
        /// The payment.
        payment: Box<Payment>,
        /// Paid minus every refund that is not failed.
        remaining: Kopecks,
    },
}

/// What [`Store::apply_refund_event`] did.
#[derive(Debug, Clone)]
pub enum RefundApplied {
    /// Changed; the new row.
    Changed(Refund),
    /// A repeat; nothing written.
    Unchanged(Refund),
    /// Not allowed now; nothing written.
    Illegal(Refund, IllegalRefundTransition),
}

impl RefundApplied {
    /// The refund as it is now.
    pub fn refund(&self) -> &Refund {
        match self {
            RefundApplied::Changed(r)
            | RefundApplied::Unchanged(r)
            | RefundApplied::Illegal(r, _) => r,
        }
    }
}

async fn select_refund(
    conn: &mut sqlx::SqliteConnection,
    id: &RefundId,
) -> Result<Option<Refund>, StoreError> {
    let row = sqlx::query("SELECT * FROM refunds WHERE id = ?")
        .bind(id.as_str())
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(refund_from_row).transpose()
}

/// Inserts a refund row, its first history line and its job (due now), inside `tx`.
pub(crate) async fn insert_in(
    tx: &mut Transaction<'static, Sqlite>,
    new: &NewRefund,
    due_at: DateTime<Utc>,
) -> Result<(), StoreError> {
    let now = to_ms(new.created_at);
    sqlx::query(
        "INSERT INTO refunds (id, payment_id, register_id, idempotency_key, request_hash, amount, \
         reason, status, automatic, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(new.id.as_str())
    .bind(new.payment_id.as_str())
    .bind(new.register_id.as_str())
    .bind(new.idempotency_key.as_str())
    .bind(&new.request_hash)
    .bind(new.amount.get())
    .bind(new.reason.as_deref())
    .bind(RefundState::Requested.as_db_str())
    .bind(new.automatic)
    .bind(now)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    sqlx::query(
        "INSERT INTO refund_history (refund_id, seq, at, from_status, to_status, event, detail) \
         VALUES (?, 0, ?, NULL, ?, 'Requested', ?)",
    )
    .bind(new.id.as_str())
    .bind(now)
    .bind(RefundState::Requested.as_db_str())
    .bind(
        new.automatic
            .then_some("automatic refund of a late payment"),
    )
    .execute(&mut **tx)
    .await?;
    sqlx::query("INSERT INTO refund_jobs (refund_id, due_at) VALUES (?, ?)")
        .bind(new.id.as_str())
        .bind(to_ms(due_at))
        .execute(&mut **tx)
        .await?;
    Ok(())
}

impl Store {
    /// Saves a refund unless the key was used (then returns that refund), the payment is not
    /// paid, or the amount exceeds what is left. The check and the insert are one write
    /// transaction, so two refunds racing each other cannot together exceed the payment.
    pub async fn insert_refund(
        &self,
        new: &NewRefund,
        job_due_at: DateTime<Utc>,
    ) -> Result<RefundInserted, StoreError> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let existing =
            sqlx::query("SELECT * FROM refunds WHERE register_id = ? AND idempotency_key = ?")
                .bind(new.register_id.as_str())
                .bind(new.idempotency_key.as_str())
                .fetch_optional(&mut *tx)
                .await?;
        if let Some(row) = existing {
            return Ok(RefundInserted::Existing(refund_from_row(&row)?));
        }
        let Some(payment) = select_by_id(&mut tx, &new.payment_id).await? else {
            return Ok(RefundInserted::PaymentNotFound);
        };
        if payment.state != PaymentState::Paid {
            return Ok(RefundInserted::NotRefundable(Box::new(payment)));
        }
        let reserved = reserved_in(&mut tx, &new.payment_id).await?;
        let remaining = payment
            .amount
            .checked_sub(reserved)
            .unwrap_or(Kopecks::ZERO);
        if new.amount > remaining {
            return Ok(RefundInserted::Exceeds {
                payment: Box::new(payment),
                remaining,
            });
        }
        insert_in(&mut tx, new, job_due_at).await?;
        let refund = select_refund(&mut tx, &new.id)
            .await?
            .ok_or_else(|| StoreError::Corrupt(format!("refund {} vanished", new.id)))?;
        tx.commit().await?;
        Ok(RefundInserted::New(refund))
    }

    /// A refund by id.
    pub async fn refund(&self, id: &RefundId) -> Result<Option<Refund>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        select_refund(&mut conn, id).await
    }

    /// The refunds of a payment, oldest first.
    pub async fn refunds_of(&self, payment: &PaymentId) -> Result<Vec<Refund>, StoreError> {
        let rows =
            sqlx::query("SELECT * FROM refunds WHERE payment_id = ? ORDER BY created_at, id")
                .bind(payment.as_str())
                .fetch_all(&self.pool)
                .await?;
        rows.iter().map(refund_from_row).collect()
    }

    /// Refunds created in `[from, to)`, oldest first (export, reconciliation).
    pub async fn refunds_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<Refund>, StoreError> {
        let rows = sqlx::query(
            "SELECT * FROM refunds WHERE created_at >= ? AND created_at < ? ORDER BY created_at, id",
        )
        .bind(to_ms(from))
        .bind(to_ms(to))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(refund_from_row).collect()
    }

    /// Refunds that succeeded in `[from, to)` (reconciliation).
    pub async fn refunds_finished_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<Refund>, StoreError> {
        let rows = sqlx::query(
            "SELECT * FROM refunds WHERE status = 'succeeded' AND finished_at >= ? AND finished_at < ? \
             ORDER BY finished_at, id",
        )
        .bind(to_ms(from))
        .bind(to_ms(to))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(refund_from_row).collect()
    }

    /// Applies a bank answer to a refund in one transaction; deletes its job when final,
    /// otherwise makes it due at `next_job_at`.
    pub async fn apply_refund_event(
        &self,
        id: &RefundId,
        event: RefundEvent,
        failure: Option<(String, String)>,
        now: DateTime<Utc>,
        next_job_at: DateTime<Utc>,
    ) -> Result<RefundApplied, StoreError> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let current = select_refund(&mut tx, id)
            .await?
            .ok_or_else(|| StoreError::Corrupt(format!("refund {id} not found")))?;
        let to = match current.state.apply(event) {
            Ok(RefundTransition::To(to)) => to,
            Ok(RefundTransition::Unchanged) => return Ok(RefundApplied::Unchanged(current)),
            Err(e) => return Ok(RefundApplied::Illegal(current, e)),
        };
        let now_ms = to_ms(now);
        let (code, message) = failure
            .as_ref()
            .map(|(c, m)| (Some(c.as_str()), Some(m.as_str())))
            .unwrap_or((None, None));
        sqlx::query(
            "UPDATE refunds SET status = ?, failure_code = COALESCE(?, failure_code), \
             failure_message = COALESCE(?, failure_message), updated_at = ?, \
             finished_at = CASE WHEN ? THEN ? ELSE finished_at END, version = version + 1 \
             WHERE id = ? AND version = ?",
        )
        .bind(to.as_db_str())
        .bind(code)
        .bind(message)
        .bind(now_ms)
        .bind(to.is_final())
        .bind(now_ms)
        .bind(id.as_str())
        .bind(current.version)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO refund_history (refund_id, seq, at, from_status, to_status, event, detail) \
             VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(id.as_str())
        .bind(current.version + 1)
        .bind(now_ms)
        .bind(current.state.as_db_str())
        .bind(to.as_db_str())
        .bind(format!("{event:?}"))
        .bind(message)
        .execute(&mut *tx)
        .await?;
        if to.is_final() {
            sqlx::query("DELETE FROM refund_jobs WHERE refund_id = ?")
                .bind(id.as_str())
                .execute(&mut *tx)
                .await?;
        } else {
            sqlx::query(
                "UPDATE refund_jobs SET due_at = ?, attempts = 0, lease_until = 0 WHERE refund_id = ?",
            )
            .bind(to_ms(next_job_at))
            .bind(id.as_str())
            .execute(&mut *tx)
            .await?;
        }
        let refund = select_refund(&mut tx, id)
            .await?
            .ok_or_else(|| StoreError::Corrupt(format!("refund {id} vanished")))?;
        tx.commit().await?;
        Ok(RefundApplied::Changed(refund))
    }
}

/// Paid amount already spoken for: every refund of the payment that is not failed.
async fn reserved_in(
    tx: &mut Transaction<'static, Sqlite>,
    payment: &PaymentId,
) -> Result<Kopecks, StoreError> {
    let sum: Option<i64> = sqlx::query_scalar(
        "SELECT SUM(amount) FROM refunds WHERE payment_id = ? AND status <> 'failed'",
    )
    .bind(payment.as_str())
    .fetch_one(&mut **tx)
    .await?;
    Kopecks::new(sum.unwrap_or(0)).map_err(|e| StoreError::Corrupt(format!("refund sum: {e}")))
}
