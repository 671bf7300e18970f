//! Refund rows: insertion with the over-refund check inside the transaction, state changes
//! through the domain's refund transition function, and lookups.

use chrono::{DateTime, Utc};
use qrpayd_domain::ids::{PaymentId, RefundId};
use qrpayd_domain::money::Kopecks;
use qrpayd_domain::payment::PaymentState;
use qrpayd_domain::refund::{IllegalRefundTransition, RefundEvent, RefundState, RefundTransition};
use sqlx::{Any, AnyConnection, Row, Transaction};

use crate::record::{NewRefund, Payment, Refund, refund_from_row};
use crate::{Backend, Store, StoreError, is_unique_violation, to_ms};

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
    backend: Backend,
    conn: &mut AnyConnection,
    id: &RefundId,
) -> Result<Option<Refund>, StoreError> {
    let row = backend
        .q("SELECT * FROM refunds WHERE id = ?")
        .bind(id.as_str())
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(refund_from_row).transpose()
}

/// The refund the register already made with `new`'s idempotency key, if any.
async fn refund_by_key(
    backend: Backend,
    conn: &mut AnyConnection,
    new: &NewRefund,
) -> Result<Option<Refund>, StoreError> {
    let row = backend
        .q("SELECT * FROM refunds WHERE register_id = ? AND idempotency_key = ?")
        .bind(new.register_id.as_str())
        .bind(new.idempotency_key.as_str())
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(refund_from_row).transpose()
}

/// Inserts a refund row, its first history line and its job (due now), inside `tx`.
pub(crate) async fn insert_in(
    backend: Backend,
    tx: &mut Transaction<'static, Any>,
    new: &NewRefund,
    due_at: DateTime<Utc>,
) -> Result<(), StoreError> {
    let now = to_ms(new.created_at);
    backend.q(
        "INSERT INTO refunds (id, payment_id, register_id, idempotency_key, request_hash, amount, \
         reason, status, automatic, sent_at, created_at, updated_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(new.id.as_str())
    .bind(new.payment_id.as_str())
    .bind(new.register_id.as_str())
    .bind(new.idempotency_key.as_str())
    .bind(&new.request_hash)
    .bind(new.amount.get())
    .bind(new.reason.as_deref())
    .bind(RefundState::Requested.as_db_str())
    .bind(i64::from(new.automatic))
    .bind(new.sent_at.map(to_ms))
    .bind(now)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    backend.q(
        "INSERT INTO refund_history (refund_id, seq, at, from_status, to_status, event, detail) \
         VALUES (?, 0, ?, NULL, ?, 'Requested', ?)",
    )
    .bind(new.id.as_str())
    .bind(now)
    .bind(RefundState::Requested.as_db_str())
    .bind(new.automatic.then(|| new.reason.clone()).flatten())
    .execute(&mut **tx)
    .await?;
    backend
        .q("INSERT INTO refund_jobs (refund_id, due_at) VALUES (?, ?)")
        .bind(new.id.as_str())
        .bind(to_ms(due_at))
        .execute(&mut **tx)
        .await?;
    let refund = select_refund(backend, tx, &new.id)
        .await?
        .ok_or_else(|| StoreError::Corrupt(format!("refund {} vanished", new.id)))?;
    if let Some(kind) = crate::events::refund_event_kind(refund.state, true) {
        crate::events::record_refund(backend, tx, kind, &refund, new.created_at).await?;
    }
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
        let mut tx = self.begin().await?;
        // The payment row first, locked: refunds of one payment serialise here, and (on
        // MariaDB) every read after this sees what the previous refund committed.
        let payment = self
            .backend
            .q_locked("SELECT * FROM payments WHERE id = ?")
            .bind(new.payment_id.as_str())
            .fetch_optional(&mut *tx)
            .await?
            .as_ref()
            .map(crate::record::from_row)
            .transpose()?;
        let existing = refund_by_key(self.backend, &mut tx, new).await?;
        if let Some(refund) = existing {
            return Ok(RefundInserted::Existing(refund));
        }
        let Some(payment) = payment else {
            return Ok(RefundInserted::PaymentNotFound);
        };
        if payment.state != PaymentState::Paid {
            return Ok(RefundInserted::NotRefundable(Box::new(payment)));
        }
        let reserved = reserved_in(self.backend, &mut tx, &new.payment_id).await?;
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
        match insert_in(self.backend, &mut tx, new, job_due_at).await {
            Ok(()) => {}
            Err(StoreError::Database(e)) if is_unique_violation(&e) => {
                // The same key raced us on another connection; its refund is the answer.
                drop(tx);
                let mut conn = self.pool.acquire().await?;
                if let Some(refund) = refund_by_key(self.backend, &mut conn, new).await? {
                    return Ok(RefundInserted::Existing(refund));
                }
                return Err(StoreError::Database(e));
            }
            // Anything else rolls the whole insert back (the transaction is dropped).
            Err(e) => return Err(e),
        }
        let refund = select_refund(self.backend, &mut tx, &new.id)
            .await?
            .ok_or_else(|| StoreError::Corrupt(format!("refund {} vanished", new.id)))?;
        tx.commit().await?;
        Ok(RefundInserted::New(refund))
    }

    /// A refund by id.
    pub async fn refund(&self, id: &RefundId) -> Result<Option<Refund>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        select_refund(self.backend, &mut conn, id).await
    }

    /// The refunds of a payment, oldest first.
    pub async fn refunds_of(&self, payment: &PaymentId) -> Result<Vec<Refund>, StoreError> {
        let rows = self
            .backend
            .q("SELECT * FROM refunds WHERE payment_id = ? ORDER BY created_at, id")
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
        let rows = self.backend.q(
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
        let rows = self.backend.q(
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
        let mut tx = self.begin().await?;
        let current = self
            .backend
            .q_locked("SELECT * FROM refunds WHERE id = ?")
            .bind(id.as_str())
            .fetch_optional(&mut *tx)
            .await?
            .as_ref()
            .map(refund_from_row)
            .transpose()?
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
        self.backend
            .q(
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
        self.backend.q(
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
            self.backend
                .q("DELETE FROM refund_jobs WHERE refund_id = ?")
                .bind(id.as_str())
                .execute(&mut *tx)
                .await?;
        } else {
            self.backend.q(
                "UPDATE refund_jobs SET due_at = ?, attempts = 0, lease_until = 0 WHERE refund_id = ?",
            )
            .bind(to_ms(next_job_at))
            .bind(id.as_str())
            .execute(&mut *tx)
            .await?;
        }
        let refund = select_refund(self.backend, &mut tx, id)
            .await?
            .ok_or_else(|| StoreError::Corrupt(format!("refund {id} vanished")))?;
        if let Some(kind) = crate::events::refund_event_kind(refund.state, false) {
            crate::events::record_refund(self.backend, &mut tx, kind, &refund, now).await?;
        }
        tx.commit().await?;
        Ok(RefundApplied::Changed(refund))
    }
}

/// What [`Store::claim_refund_send`] decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendClaim {
    /// Marked sent now: call the bank.
    Claimed,
    /// It was sent before (at this time): its first attempt may have reached the bank.
    AlreadySent(DateTime<Utc>),
    /// Another refund of the same payment is in flight (sent, not final): wait for it.
    Blocked(RefundId),
    /// The refund is final, or gone.
    Final,
}

impl Store {
    /// Marks refund `id` as sent at `now` before the bank is called ("save before you call"),
    /// unless it was sent before, or `exclusive` (a bank that identifies refunds by amounts)
    /// and another refund of the same payment is in flight. Runs under the payment's row lock,
    /// so two refunds of one payment cannot both be claimed.
    pub async fn claim_refund_send(
        &self,
        id: &RefundId,
        exclusive: bool,
        now: DateTime<Utc>,
    ) -> Result<SendClaim, StoreError> {
        let mut tx = self.begin().await?;
        let Some(refund) = select_refund(self.backend, &mut tx, id).await? else {
            return Ok(SendClaim::Final);
        };
        self.backend
            .q_locked("SELECT id FROM payments WHERE id = ?")
            .bind(refund.payment_id.as_str())
            .fetch_optional(&mut *tx)
            .await?;
        // Read again under the lock: a concurrent claim may have just committed.
        let Some(refund) = select_refund(self.backend, &mut tx, id).await? else {
            return Ok(SendClaim::Final);
        };
        if refund.state.is_final() {
            return Ok(SendClaim::Final);
        }
        if let Some(sent) = refund.sent_at {
            return Ok(SendClaim::AlreadySent(sent));
        }
        if exclusive {
            let rows = self
                .backend
                .q_locked(
                    "SELECT id FROM refunds WHERE payment_id = ? AND id <> ? \
                     AND sent_at IS NOT NULL AND status IN ('requested', 'pending')",
                )
                .bind(refund.payment_id.as_str())
                .bind(id.as_str())
                .fetch_all(&mut *tx)
                .await?;
            if let Some(row) = rows.first() {
                let other: String = row.try_get("id")?;
                let other = RefundId::parse(&other)
                    .map_err(|e| StoreError::Corrupt(format!("refund id {other:?}: {e}")))?;
                return Ok(SendClaim::Blocked(other));
            }
        }
        self.backend
            .q("UPDATE refunds SET sent_at = ? WHERE id = ?")
            .bind(to_ms(now))
            .bind(id.as_str())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(SendClaim::Claimed)
    }
}

/// Paid amount already spoken for: every refund of the payment that is not failed. Summed
/// here rather than with SQL `SUM`, whose result type differs per backend (NUMERIC, DECIMAL).
async fn reserved_in(
    backend: Backend,
    tx: &mut Transaction<'static, Any>,
    payment: &PaymentId,
) -> Result<Kopecks, StoreError> {
    let rows = backend
        .q_locked("SELECT amount FROM refunds WHERE payment_id = ? AND status <> 'failed'")
        .bind(payment.as_str())
        .fetch_all(&mut **tx)
        .await?;
    let mut sum = Kopecks::ZERO;
    for row in &rows {
        let amount = Kopecks::new(row.try_get("amount")?)
            .map_err(|e| StoreError::Corrupt(format!("refund amount: {e}")))?;
        sum = sum
            .checked_add(amount)
            .ok_or_else(|| StoreError::Corrupt("refund sum overflows".into()))?;
    }
    Ok(sum)
}
