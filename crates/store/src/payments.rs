//! Payments in the journal: insert with an idempotency key, every state change through
//! [`Store::apply_event`] (one transaction: row, history line, job, events), look-ups and listing.

use chrono::{DateTime, Utc};
use qrpayd_domain::ids::{IdempotencyKey, PaymentId, QrId, RegisterId};
use qrpayd_domain::payment::{IllegalTransition, PaymentEvent, PaymentState, QrType, Transition};
use sqlx::{AnyConnection, Row};

use crate::connection::{Store, StoreError, is_unique_violation, to_ms};
use crate::record::{self, NewPayment, NewRefund, Payment, PaymentFilter};
use crate::sql::Backend;
use crate::{events, links, refunds};

/// Extra facts recorded with a state change.
#[derive(Debug, Clone, Default)]
pub struct EventDetails {
    /// The bank's QR id and payload (with `QrIssued`).
    pub qr: Option<(QrId, String)>,
    /// The bank's transaction id (with `BankPaid`).
    pub bank_transaction_id: Option<String>,
    /// Why the payment failed (with `CreationFailed`/`BankDeclined`): stable code and text.
    pub failure: Option<(String, String)>,
    /// Free text for the history line: who or what reported the event.
    pub source: &'static str,
    /// What to do if this event turns out to be a *late* payment (paid after we closed or
    /// failed it): written in the same transaction, so a crash cannot lose the follow-up.
    pub on_late: Option<LateHandling>,
    /// A refund the bank already made of this payment (a cancel it turned into a refund),
    /// recorded in the same transaction as the change, so the two are never seen apart.
    pub bank_made_refund: Option<NewRefund>,
}

/// The late-payment policy's action, prepared by the caller.
#[derive(Debug, Clone)]
pub enum LateHandling {
    /// Refund the whole payment automatically (this refund row is inserted with its job).
    Refund(NewRefund),
    /// Only mark it for a person.
    Flag,
}

/// What [`Store::apply_event`] did.
#[derive(Debug, Clone)]
pub enum Applied {
    /// The state changed; `payment` is the new row.
    Changed {
        /// The payment after the change.
        payment: Payment,
        /// The previous state.
        from: PaymentState,
        /// This change made a closed payment paid: a late payment (the state machine's call),
        /// with the policy's action recorded in the same transaction.
        late: bool,
    },
    /// The event repeated something already recorded; nothing was written.
    Unchanged(Payment),
    /// The event is not allowed in the current state; nothing was written.
    Illegal(Payment, IllegalTransition),
}

impl Applied {
    /// The payment as it is now.
    pub fn payment(&self) -> &Payment {
        match self {
            Applied::Changed { payment, .. }
            | Applied::Unchanged(payment)
            | Applied::Illegal(payment, _) => payment,
        }
    }
}

/// Result of inserting a payment with an idempotency key.
#[derive(Debug, Clone)]
pub enum Inserted {
    /// A new payment row (state `Creating`) and its job row were written.
    New(Payment),
    /// The register already used this key; here is that payment.
    Existing(Payment),
    /// The register's cash-register link already has a live (unfinished) activation.
    LinkBusy(Box<Payment>),
}

impl Store {
    /// Saves a new payment in state `Creating` with its job row (due at `job_due_at`, when a
    /// worker should conclude that the bank call was interrupted), unless the register already
    /// used `idempotency_key`: then returns that payment and writes nothing.
    pub async fn insert_payment(
        &self,
        new: &NewPayment,
        job_due_at: DateTime<Utc>,
    ) -> Result<Inserted, StoreError> {
        let mut tx = self.begin().await?;
        if let Some(existing) = select_by_key(
            self.backend,
            &mut tx,
            &new.register_id,
            &new.idempotency_key,
        )
        .await?
        {
            return Ok(Inserted::Existing(existing));
        }
        if new.qr_type == QrType::CashRegister
            && let Some(live) =
                links::live_activation(self.backend, &mut tx, &new.register_id).await?
        {
            // One live activation per link: the link's row lock makes this check and the
            // insert atomic across connections and instances.
            return Ok(Inserted::LinkBusy(Box::new(live)));
        }
        let now = to_ms(new.created_at);
        let inserted = self.backend.q(
            "INSERT INTO payments (id, register_id, idempotency_key, request_hash, amount, \
             currency, provider, order_ref, description, status, created_at, expires_at, updated_at, \
             qr_type) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(new.id.as_str())
        .bind(new.register_id.as_str())
        .bind(new.idempotency_key.as_str())
        .bind(&new.request_hash)
        .bind(new.amount.get())
        .bind(new.currency.code())
        .bind(new.provider.as_str())
        .bind(new.order.as_ref().map(|o| o.as_str()))
        .bind(new.description.as_deref())
        .bind(PaymentState::Creating.as_db_str())
        .bind(now)
        .bind(to_ms(new.expires_at))
        .bind(now)
        .bind(new.qr_type.as_str())
        .execute(&mut *tx)
        .await;
        if let Err(e) = inserted {
            if is_unique_violation(&e) {
                // A concurrent request with the same key won the race (MariaDB/PostgreSQL; on
                // SQLite the immediate transaction already serialised us).
                drop(tx);
                let mut conn = self.pool.acquire().await?;
                if let Some(existing) = select_by_key(
                    self.backend,
                    &mut conn,
                    &new.register_id,
                    &new.idempotency_key,
                )
                .await?
                {
                    return Ok(Inserted::Existing(existing));
                }
            }
            return Err(e.into());
        }
        self.backend.q(
            "INSERT INTO payment_history (payment_id, seq, at, from_status, to_status, event, detail) \
             VALUES (?, 0, ?, NULL, ?, 'Created', NULL)",
        )
        .bind(new.id.as_str())
        .bind(now)
        .bind(PaymentState::Creating.as_db_str())
        .execute(&mut *tx)
        .await?;
        self.backend
            .q("INSERT INTO payment_jobs (payment_id, due_at) VALUES (?, ?)")
            .bind(new.id.as_str())
            .bind(to_ms(job_due_at))
            .execute(&mut *tx)
            .await?;
        let payment = select_by_id(self.backend, &mut tx, &new.id)
            .await?
            .ok_or_else(|| StoreError::NotFound(new.id.clone()))?;
        tx.commit().await?;
        Ok(Inserted::New(payment))
    }

    /// A payment by id.
    pub async fn payment(&self, id: &PaymentId) -> Result<Option<Payment>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        select_by_id(self.backend, &mut conn, id).await
    }

    /// A payment by the bank's QR id (for notifications).
    pub async fn payment_by_qr(&self, qr_id: &QrId) -> Result<Option<Payment>, StoreError> {
        let row = self
            .backend
            .q("SELECT * FROM payments WHERE qr_id = ?")
            .bind(qr_id.as_str())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(record::from_row).transpose()
    }

    /// Applies `event` to the payment in one transaction (see the module doc). When the new
    /// state is final the job row is deleted; otherwise it is due at `next_job_at` with a
    /// fresh attempt count.
    pub async fn apply_event(
        &self,
        id: &PaymentId,
        event: PaymentEvent,
        details: &EventDetails,
        now: DateTime<Utc>,
        next_job_at: DateTime<Utc>,
    ) -> Result<Applied, StoreError> {
        let mut tx = self.begin().await?;
        // Locked for the rest of the transaction: concurrent events on one payment serialise.
        let row = self
            .backend
            .q_locked("SELECT * FROM payments WHERE id = ?")
            .bind(id.as_str())
            .fetch_optional(&mut *tx)
            .await?;
        let current = row
            .as_ref()
            .map(record::from_row)
            .transpose()?
            .ok_or_else(|| StoreError::NotFound(id.clone()))?;
        let (to, late) = match current.state.apply(event) {
            Ok(Transition::To { to, late }) => (to, late),
            Ok(Transition::Unchanged) => return Ok(Applied::Unchanged(current)),
            Err(illegal) => return Ok(Applied::Illegal(current, illegal)),
        };
        let now_ms = to_ms(now);
        let (qr_id, qr_payload) = details
            .qr
            .as_ref()
            .map(|(id, payload)| (Some(id.as_str()), Some(payload.as_str())))
            .unwrap_or((None, None));
        let (failure_code, failure_message) = details
            .failure
            .as_ref()
            .map(|(c, m)| (Some(c.as_str()), Some(m.as_str())))
            .unwrap_or((None, None));
        let paid_at = (to == PaymentState::Paid).then_some(now_ms);
        let updated = self.backend.q(
            "UPDATE payments SET status = ?, late = CASE WHEN ? THEN 1 ELSE late END, \
             qr_id = COALESCE(?, qr_id), qr_payload = COALESCE(?, qr_payload), \
             bank_transaction_id = COALESCE(?, bank_transaction_id), \
             failure_code = COALESCE(?, failure_code), failure_message = COALESCE(?, failure_message), \
             paid_at = COALESCE(?, paid_at), updated_at = ?, version = version + 1 \
             WHERE id = ? AND version = ?",
        )
        .bind(to.as_db_str())
        .bind(late)
        .bind(qr_id)
        .bind(qr_payload)
        .bind(details.bank_transaction_id.as_deref())
        .bind(failure_code)
        .bind(failure_message)
        .bind(paid_at)
        .bind(now_ms)
        .bind(id.as_str())
        .bind(current.version)
        .execute(&mut *tx)
        .await?;
        if updated.rows_affected() != 1 {
            // Cannot happen under BEGIN IMMEDIATE; refuse rather than write a stale decision.
            return Err(StoreError::Corrupt(format!(
                "{id} changed during its own update"
            )));
        }
        let detail = failure_message.map(str::to_owned).or_else(|| {
            details
                .bank_transaction_id
                .clone()
                .map(|t| format!("transaction {t}"))
        });
        self.backend.q(
            "INSERT INTO payment_history (payment_id, seq, at, from_status, to_status, event, detail) \
             VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(id.as_str())
        .bind(current.version + 1)
        .bind(now_ms)
        .bind(current.state.as_db_str())
        .bind(to.as_db_str())
        .bind(format!("{event:?} via {}", details.source))
        .bind(detail)
        .execute(&mut *tx)
        .await?;
        if let Some(refund) = &details.bank_made_refund {
            refunds::insert_in(self.backend, &mut tx, refund, now).await?;
        }
        if late {
            let action = match &details.on_late {
                Some(LateHandling::Refund(refund)) => {
                    refunds::insert_in(self.backend, &mut tx, refund, now).await?;
                    "refund"
                }
                Some(LateHandling::Flag) | None => "flag",
            };
            self.backend
                .q("UPDATE payments SET late_action = ? WHERE id = ?")
                .bind(action)
                .bind(id.as_str())
                .execute(&mut *tx)
                .await?;
        }
        // A payment closed unpaid keeps its job: the late watch asks the bank a little longer,
        // since a QR can be paid a moment after it was closed. Paid, or never given a QR:
        // there is nothing left to ask.
        let watched = to != PaymentState::Paid && (current.qr.is_some() || details.qr.is_some());
        if to.is_final() && !watched {
            self.backend
                .q("DELETE FROM payment_jobs WHERE payment_id = ?")
                .bind(id.as_str())
                .execute(&mut *tx)
                .await?;
        } else {
            // Delete and insert (a portable upsert): a payment without a job row (a hand edit,
            // a bug) must not become unwatched.
            self.backend
                .q("DELETE FROM payment_jobs WHERE payment_id = ?")
                .bind(id.as_str())
                .execute(&mut *tx)
                .await?;
            self.backend
                .q("INSERT INTO payment_jobs (payment_id, due_at, attempts, lease_until) VALUES (?, ?, 0, 0)")
                .bind(id.as_str())
                .bind(to_ms(next_job_at))
                .execute(&mut *tx)
                .await?;
        }
        let payment = select_by_id(self.backend, &mut tx, id)
            .await?
            .ok_or_else(|| StoreError::NotFound(id.clone()))?;
        if let Some(kind) = events::payment_event_kind(current.state, &payment) {
            events::record_payment(self.backend, &mut tx, kind, &payment, now).await?;
        }
        tx.commit().await?;
        Ok(Applied::Changed {
            payment,
            from: current.state,
            late,
        })
    }

    /// Payments matching `filter`, newest first.
    pub async fn list_payments(&self, filter: &PaymentFilter) -> Result<Vec<Payment>, StoreError> {
        // Only the filters given become conditions, so every combination can use its index
        // (an `(? IS NULL OR column = ?)` condition cannot).
        let mut query = self.backend.q(&list_payments_sql(filter));
        if let Some(register) = &filter.register {
            query = query.bind(register.as_str().to_owned());
        }
        if let Some(order) = &filter.order {
            query = query.bind(order.clone());
        }
        if let Some(status) = filter.status {
            query = query.bind(status.as_db_str());
        }
        if let Some(late) = filter.late {
            query = query.bind(i64::from(late));
        }
        if let Some(from) = filter.from {
            query = query.bind(to_ms(from));
        }
        if let Some(to) = filter.to {
            query = query.bind(to_ms(to));
        }
        let rows = query.bind(filter.limit).fetch_all(&self.pool).await?;
        rows.iter().map(record::from_row).collect()
    }

    /// Payments that became paid in `[from, to)`, oldest first (reconciliation).
    pub async fn payments_paid_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<Payment>, StoreError> {
        let rows = self
            .backend
            .q("SELECT * FROM payments WHERE paid_at >= ? AND paid_at < ? ORDER BY paid_at, id")
            .bind(to_ms(from))
            .bind(to_ms(to))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(record::from_row).collect()
    }

    /// The history lines of a payment, oldest first: `(from, to, event)`.
    pub async fn history(
        &self,
        id: &PaymentId,
    ) -> Result<Vec<(Option<String>, String, String)>, StoreError> {
        let rows = self.backend.q(
            "SELECT from_status, to_status, event FROM payment_history WHERE payment_id = ? ORDER BY seq",
        )
        .bind(id.as_str())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
            .collect()
    }
}

/// The statement of [`Store::list_payments`] for the filters `filter` uses, in bind order.
fn list_payments_sql(filter: &PaymentFilter) -> String {
    let conditions: Vec<&str> = [
        (filter.register.is_some(), "register_id = ?"),
        (filter.order.is_some(), "order_ref = ?"),
        (filter.status.is_some(), "status = ?"),
        (filter.late.is_some(), "late = ?"),
        (filter.from.is_some(), "created_at >= ?"),
        (filter.to.is_some(), "created_at < ?"),
    ]
    .into_iter()
    .filter_map(|(given, condition)| given.then_some(condition))
    .collect();
    let filter = if conditions.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", conditions.join(" AND "))
    };
    format!("SELECT * FROM payments{filter} ORDER BY created_at DESC, id DESC LIMIT ?")
}

pub(crate) async fn select_by_id(
    backend: Backend,
    conn: &mut AnyConnection,
    id: &PaymentId,
) -> Result<Option<Payment>, StoreError> {
    let row = backend
        .q("SELECT * FROM payments WHERE id = ?")
        .bind(id.as_str())
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(record::from_row).transpose()
}

async fn select_by_key(
    backend: Backend,
    conn: &mut AnyConnection,
    register: &RegisterId,
    key: &IdempotencyKey,
) -> Result<Option<Payment>, StoreError> {
    let row = backend
        .q("SELECT * FROM payments WHERE register_id = ? AND idempotency_key = ?")
        .bind(register.as_str())
        .bind(key.as_str())
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(record::from_row).transpose()
}
