//! Fallback moves: a create whose bank failed before any QR existed goes to the register's next
//! provider. The payment keeps its id, key and history; only its provider changes, and only
//! while it is still `creating` without a QR (a payment whose QR exists is never moved).

use chrono::{DateTime, Utc};
use qrpayd_domain::ids::{PaymentId, ProviderName};
use qrpayd_domain::payment::PaymentState;

use crate::{Store, StoreError, record, to_ms};

impl Store {
    /// Moves a `creating` payment without a QR from `from` to `to`, with a history line saying
    /// why, and pushes its recovery job to `job_due` (the new bank call's deadline). `Ok(None)`
    /// when the payment is no longer movable (a worker finished it meanwhile); the payment as
    /// it is now otherwise.
    pub async fn move_to_provider(
        &self,
        id: &PaymentId,
        from: &ProviderName,
        to: &ProviderName,
        why: &str,
        now: DateTime<Utc>,
        job_due: DateTime<Utc>,
    ) -> Result<Option<record::Payment>, StoreError> {
        let mut tx = self.begin().await?;
        let row = self
            .backend
            .q_locked("SELECT * FROM payments WHERE id = ?")
            .bind(id.as_str())
            .fetch_optional(&mut *tx)
            .await?;
        let Some(current) = row.as_ref().map(record::from_row).transpose()? else {
            return Err(StoreError::NotFound(id.clone()));
        };
        if current.state != PaymentState::Creating
            || current.qr.is_some()
            || &current.provider != from
        {
            return Ok(None);
        }
        let now_ms = to_ms(now);
        self.backend
            .q("UPDATE payments SET provider = ?, updated_at = ?, version = version + 1 WHERE id = ? AND version = ?")
            .bind(to.as_str())
            .bind(now_ms)
            .bind(id.as_str())
            .bind(current.version)
            .execute(&mut *tx)
            .await?;
        self.backend
            .q("INSERT INTO payment_history (payment_id, seq, at, from_status, to_status, event, detail) \
                VALUES (?, ?, ?, ?, ?, ?, ?)")
            .bind(id.as_str())
            .bind(current.version + 1)
            .bind(now_ms)
            .bind(current.state.as_db_str())
            .bind(current.state.as_db_str())
            .bind("ProviderChanged via fallback")
            .bind(format!("{from} → {to}: {why}"))
            .execute(&mut *tx)
            .await?;
        self.backend
            .q("UPDATE payment_jobs SET due_at = ? WHERE payment_id = ?")
            .bind(to_ms(job_due))
            .bind(id.as_str())
            .execute(&mut *tx)
            .await?;
        let moved = self
            .backend
            .q("SELECT * FROM payments WHERE id = ?")
            .bind(id.as_str())
            .fetch_one(&mut *tx)
            .await?;
        let moved = record::from_row(&moved)?;
        tx.commit().await?;
        Ok(Some(moved))
    }
}
