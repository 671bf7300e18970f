//! Events for registers: the long-poll feed (`GET /v1/events`) and the tail that wakes this
//! instance's long-polls when another instance changed something.
//!
//! Every instance follows the event table's `seq` (one cheap query every [`TAIL_TICK`]); a new
//! row announces its payment and refund on the local [`ChangeHub`], so a register long-polling
//! one instance hears of a payment a callback delivered to another.

use std::time::Duration;

use qrpayd_domain::ids::RegisterId;
use qrpayd_store::{Event, Store, StoreError};
use tokio::sync::watch;

use crate::hub::ChangeHub;

/// How often the tail looks for events written by other instances.
pub const TAIL_TICK: Duration = Duration::from_millis(200);

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
        tokio::select! {
            () = tokio::time::sleep(TAIL_TICK) => {}
            _ = shutdown.wait_for(|s| *s) => return,
        }
        match store.events_after(seen, None, 1000).await {
            Ok(events) => {
                for event in &events {
                    hub.changed(&event.payment_id);
                    if event.kind == "payment.created" {
                        // A QR issued on any instance: customer displays follow registers.
                        hub.payment_created(&event.register_id);
                    }
                    if let Some(refund) = &event.refund_id {
                        hub.changed(refund);
                    }
                    seen = seen.max(event.seq);
                }
            }
            Err(e) => tracing::warn!("event tail: {e}"),
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
    loop {
        let events = store.events_after(after, register, limit).await?;
        let next = events.last().map_or(after, |e| e.seq);
        if !events.is_empty() || tokio::time::Instant::now() >= deadline || hub.is_closing() {
            return Ok((events, next));
        }
        // New rows come from any instance: look again shortly rather than trust local signals.
        tokio::time::sleep(
            TAIL_TICK.min(deadline.saturating_duration_since(tokio::time::Instant::now())),
        )
        .await;
    }
}
