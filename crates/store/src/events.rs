//! The event outbox: one row per visible state change, written in the same transaction as
//! the change, so an event exists if and only if its change does.
//!
//! Each row gets the next `seq` from the one-row `event_counter` table, updated inside the
//! transaction: the counter row's lock is held until commit, so `seq` order is commit order on
//! every backend, and a reader following `seq` never misses a row that commits late. Rows are
//! published to the broker by one instance at a time (a named lease) in `seq` order, and served
//! to registers as a long-poll feed.
//!
//! The payload is the event contract (`qrpayd_domain::contract::Event`, the OpenAPI `Event`):
//! a snapshot of the payment or refund after the change.

use chrono::{DateTime, Duration, Utc};
use qrpayd_domain::contract::{
    self, EventData, EventType, LateAction, PaymentSnapshot, RefundSnapshot, wire_time,
};
use qrpayd_domain::ids::RegisterId;
use qrpayd_domain::payment::{ApiStatus, PaymentState};
use qrpayd_domain::refund::RefundState;
use sqlx::{Any, Row, Transaction};

use crate::record::{Payment, Refund};
use crate::{Backend, Store, StoreError, from_ms, to_ms};

/// One event row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Position in the feed (commit order).
    pub seq: i64,
    /// Unique id (`ev_…`) for consumers to drop duplicates.
    pub event_id: String,
    /// `payment.created`, `payment.paid`, `payment.failed`, `payment.expired`,
    /// `payment.cancelled`, `refund.created`, `refund.succeeded`, `refund.failed`.
    pub kind: String,
    /// The register the payment belongs to.
    pub register_id: String,
    /// The payment.
    pub payment_id: String,
    /// The refund, for refund events.
    pub refund_id: Option<String>,
    /// When it happened.
    pub created_at: DateTime<Utc>,
    /// JSON snapshot of the payment or refund after the change.
    pub payload: String,
    /// When the broker confirmed it.
    pub published_at: Option<DateTime<Utc>>,
}

/// The event type for a payment that moved from `from` to its current state, if the change is
/// visible to registers.
pub(crate) fn payment_event_kind(from: PaymentState, payment: &Payment) -> Option<&'static str> {
    let to = payment.state.api_status();
    if from.api_status() == to && from != PaymentState::Creating {
        return None;
    }
    Some(match to {
        ApiStatus::Pending if from == PaymentState::Creating => "payment.created",
        ApiStatus::Pending => return None,
        ApiStatus::Paid => "payment.paid",
        ApiStatus::Failed => "payment.failed",
        ApiStatus::Expired => "payment.expired",
        ApiStatus::Cancelled => "payment.cancelled",
    })
}

/// The event type for a refund now in `state`, if registers should hear of it.
pub(crate) fn refund_event_kind(state: RefundState, created: bool) -> Option<&'static str> {
    match state {
        RefundState::Requested if created => Some("refund.created"),
        RefundState::Requested | RefundState::Pending => None,
        RefundState::Succeeded => Some("refund.succeeded"),
        RefundState::Failed => Some("refund.failed"),
    }
}

fn payment_snapshot(p: &Payment) -> EventData {
    EventData::Payment(PaymentSnapshot {
        id: p.id.as_str().to_owned(),
        register_id: p.register_id.as_str().to_owned(),
        status: p.state.api_status(),
        amount: p.amount,
        currency: p.currency,
        provider: p.provider.as_str().to_owned(),
        order: p.order.as_ref().map(|o| o.as_str().to_owned()),
        qr_id: p.qr.as_ref().map(|(q, _)| q.as_str().to_owned()),
        bank_transaction_id: p.bank_transaction_id.clone(),
        late: p.late,
        late_action: p.late_action.as_deref().and_then(LateAction::parse),
        failure_code: p.failure.as_ref().map(|(c, _)| c.clone()),
        created_at: wire_time(p.created_at),
        paid_at: p.paid_at.map(wire_time),
    })
}

fn refund_snapshot(r: &Refund) -> EventData {
    EventData::Refund(RefundSnapshot {
        id: r.id.as_str().to_owned(),
        payment_id: r.payment_id.as_str().to_owned(),
        register_id: r.register_id.as_str().to_owned(),
        status: r.state.into(),
        amount: r.amount,
        automatic: r.automatic,
        reason: r.reason.clone(),
        failure_code: r.failure.as_ref().map(|(c, _)| c.clone()),
        created_at: wire_time(r.created_at),
        finished_at: r.finished_at.map(wire_time),
    })
}

async fn next_seq(backend: Backend, tx: &mut Transaction<'static, Any>) -> Result<i64, StoreError> {
    backend
        .q("UPDATE event_counter SET value = value + 1 WHERE name = 'events'")
        .execute(&mut **tx)
        .await?;
    Ok(backend
        .scalar::<i64>("SELECT value FROM event_counter WHERE name = 'events'")
        .fetch_one(&mut **tx)
        .await?)
}

/// What an event is about.
struct Subject<'a> {
    register: &'a str,
    payment: &'a str,
    refund: Option<&'a str>,
}

async fn insert(
    backend: Backend,
    tx: &mut Transaction<'static, Any>,
    kind: &str,
    subject: Subject<'_>,
    data: EventData,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let event_type = EventType::parse(kind)
        .ok_or_else(|| StoreError::Corrupt(format!("unknown event type {kind:?}")))?;
    let seq = next_seq(backend, tx).await?;
    let event_id = format!("ev_{}", uuid::Uuid::now_v7().simple());
    let payload = serde_json::to_string(&contract::Event {
        event_id: event_id.clone(),
        kind: event_type,
        seq,
        at: wire_time(now),
        data,
    })
    .map_err(|e| StoreError::Corrupt(format!("event payload: {e}")))?;
    backend
        .q("INSERT INTO events (seq, event_id, type, register_id, payment_id, refund_id, created_at, payload) \
            VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
        .bind(seq)
        .bind(event_id)
        .bind(kind.to_owned())
        .bind(subject.register.to_owned())
        .bind(subject.payment.to_owned())
        .bind(subject.refund.map(str::to_owned))
        .bind(to_ms(now))
        .bind(payload)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Records a payment event inside the change's transaction.
pub(crate) async fn record_payment(
    backend: Backend,
    tx: &mut Transaction<'static, Any>,
    kind: &str,
    payment: &Payment,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let subject = Subject {
        register: payment.register_id.as_str(),
        payment: payment.id.as_str(),
        refund: None,
    };
    insert(backend, tx, kind, subject, payment_snapshot(payment), now).await
}

/// Records a refund event inside the change's transaction.
pub(crate) async fn record_refund(
    backend: Backend,
    tx: &mut Transaction<'static, Any>,
    kind: &str,
    refund: &Refund,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let subject = Subject {
        register: refund.register_id.as_str(),
        payment: refund.payment_id.as_str(),
        refund: Some(refund.id.as_str()),
    };
    insert(backend, tx, kind, subject, refund_snapshot(refund), now).await
}

fn event_from_row(row: &sqlx::any::AnyRow) -> Result<Event, StoreError> {
    let published: Option<i64> = row.try_get("published_at")?;
    Ok(Event {
        seq: row.try_get("seq")?,
        event_id: row.try_get("event_id")?,
        kind: row.try_get("type")?,
        register_id: row.try_get("register_id")?,
        payment_id: row.try_get("payment_id")?,
        refund_id: row.try_get("refund_id")?,
        created_at: from_ms(row.try_get("created_at")?)?,
        payload: row.try_get("payload")?,
        published_at: published.map(from_ms).transpose()?,
    })
}

impl Store {
    /// Events after `seq`, oldest first; only `register`'s when given.
    pub async fn events_after(
        &self,
        after: i64,
        register: Option<&RegisterId>,
        limit: i64,
    ) -> Result<Vec<Event>, StoreError> {
        // Two statements, so each walks its own index: a register's rows (`events_register`)
        // rather than every row after the cursor.
        let query = match register {
            Some(register) => self
                .backend
                .q("SELECT * FROM events WHERE register_id = ? AND seq > ? ORDER BY seq LIMIT ?")
                .bind(register.as_str().to_owned()),
            None => self
                .backend
                .q("SELECT * FROM events WHERE seq > ? ORDER BY seq LIMIT ?"),
        };
        let rows = query.bind(after).bind(limit).fetch_all(&self.pool).await?;
        rows.iter().map(event_from_row).collect()
    }

    /// The highest `seq` written so far (0 when none).
    pub async fn last_event_seq(&self) -> Result<i64, StoreError> {
        Ok(self
            .backend
            .scalar::<i64>("SELECT value FROM event_counter WHERE name = 'events'")
            .fetch_one(&self.pool)
            .await?)
    }

    /// The oldest events not yet confirmed by the broker, in `seq` order.
    pub async fn unpublished_events(&self, limit: i64) -> Result<Vec<Event>, StoreError> {
        let rows = self
            .backend
            .q("SELECT * FROM events WHERE published_at IS NULL ORDER BY seq LIMIT ?")
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(event_from_row).collect()
    }

    /// Marks an event confirmed by the broker.
    pub async fn mark_published(&self, seq: i64, now: DateTime<Utc>) -> Result<(), StoreError> {
        self.backend
            .q("UPDATE events SET published_at = ? WHERE seq = ? AND published_at IS NULL")
            .bind(to_ms(now))
            .bind(seq)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    /// Takes or renews the lease `name` for `holder` until `now + ttl`. True when `holder` has
    /// it: it was free, expired, or already `holder`'s.
    pub async fn try_lease(
        &self,
        name: &str,
        holder: &str,
        now: DateTime<Utc>,
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        let until = to_ms(now + ttl);
        let updated = self
            .backend
            .q("UPDATE leases SET holder = ?, expires_at = ? WHERE name = ? AND (holder = ? OR expires_at < ?)")
            .bind(holder.to_owned())
            .bind(until)
            .bind(name.to_owned())
            .bind(holder.to_owned())
            .bind(to_ms(now))
            .execute(&self.writer)
            .await?;
        if updated.rows_affected() == 1 {
            return Ok(true);
        }
        // No row yet (first use), or somebody else holds it.
        match self
            .backend
            .q("INSERT INTO leases (name, holder, expires_at) VALUES (?, ?, ?)")
            .bind(name.to_owned())
            .bind(holder.to_owned())
            .bind(until)
            .execute(&self.writer)
            .await
        {
            Ok(_) => Ok(true),
            Err(e) if crate::is_unique_violation(&e) => {
                let current: Option<String> = self
                    .backend
                    .scalar("SELECT holder FROM leases WHERE name = ?")
                    .bind(name.to_owned())
                    .fetch_optional(&self.pool)
                    .await?;
                Ok(current.as_deref() == Some(holder))
            }
            Err(e) => Err(e.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_visible_refund_changes_make_events() {
        assert_eq!(
            refund_event_kind(RefundState::Requested, true),
            Some("refund.created")
        );
        assert_eq!(refund_event_kind(RefundState::Requested, false), None);
        assert_eq!(refund_event_kind(RefundState::Pending, false), None);
        assert_eq!(
            refund_event_kind(RefundState::Succeeded, false),
            Some("refund.succeeded")
        );
        assert_eq!(
            refund_event_kind(RefundState::Failed, false),
            Some("refund.failed")
        );
    }
}
