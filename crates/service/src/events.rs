//! Events for registers: the long-poll feed (`GET /v1/events`) and the one shared tail that
//! wakes long-polls and event waiters on changes, local or made by other instances.
//!
//! Every instance follows the event table's `seq`: the tail reads new rows when this process
//! announced a change (at most every [`TAIL_MIN_GAP`]) and at least every [`TAIL_TICK`] (for
//! rows written by other instances). Each new row announces its payment and refund, and "new
//! events for register X", on the local [`ChangeHub`]. So a register long-polling one instance
//! hears of a payment a callback delivered to another, and a waiting `GET /v1/events` costs
//! nothing until its register has a new row: it reads the database once when it starts and
//! once per wake-up, never in a loop.

use std::time::Duration;

use qrpayd_domain::ids::RegisterId;
use qrpayd_store::{Event, Store, StoreError};
use tokio::sync::watch;

use crate::hub::ChangeHub;

/// How often the tail looks for events written by other instances.
pub const TAIL_TICK: Duration = Duration::from_millis(200);
/// Shortest pause between two reads of the tail (local changes come in bursts).
pub const TAIL_MIN_GAP: Duration = Duration::from_millis(5);

/// Follows the event table and announces changes on the local hub.
pub async fn tail(store: Store, hub: ChangeHub, mut shutdown: watch::Receiver<bool>) {
    let mut seen = match store.last_event_seq().await {
        Ok(seq) => seq,
        Err(e) => {
            tracing::error!("event tail cannot start: {e}");
            0
        }
    };
    loop {
        let poked = tokio::select! {
            () = tokio::time::sleep(TAIL_TICK) => false,
            () = hub.tail_poked() => true,
            _ = shutdown.wait_for(|s| *s) => return,
        };
        if poked {
            // Let a burst of local changes commit: one read for all of them.
            tokio::time::sleep(TAIL_MIN_GAP).await;
        }
        loop {
            match store.events_after(seen, None, 1000).await {
                Ok(events) => {
                    let full = events.len() >= 1000;
                    for event in &events {
                        // A QR issued on any instance: customer displays follow registers.
                        hub.event_read(
                            &event.register_id,
                            &event.payment_id,
                            event.refund_id.as_deref(),
                            event.kind == "payment.created",
                        );
                        seen = seen.max(event.seq);
                    }
                    if !full {
                        break;
                    }
                }
                Err(e) => {
                    tracing::warn!("event tail: {e}");
                    break;
                }
            }
        }
    }
}

/// Long-poll on the feed: events after `after` (only `register`'s, or all for the admin),
/// waiting up to `wait` for the first one. Returns the events and the next cursor.
pub async fn feed(
    store: &Store,
    hub: &ChangeHub,
    register: Option<&RegisterId>,
    after: i64,
    limit: i64,
    wait: Duration,
) -> Result<(Vec<Event>, i64), StoreError> {
    let deadline = tokio::time::Instant::now() + wait;
    // Subscribed before the first read: a row written after it wakes this waiter.
    let mut new_rows = hub.subscribe();
    loop {
        let events = store.events_after(after, register, limit).await?;
        let next = events.last().map_or(after, |e| e.seq);
        if !events.is_empty() || tokio::time::Instant::now() >= deadline || hub.is_closing() {
            return Ok((events, next));
        }
        // The tail announces new rows of any instance; nothing is read until then.
        tokio::select! {
            () = new_rows.events(register.map(RegisterId::as_str)) => {}
            () = tokio::time::sleep_until(deadline) => {}
        }
    }
}
