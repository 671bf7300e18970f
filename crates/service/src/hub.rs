//! Change notifications inside one process, for long-polls and displays.
//!
//! Every state change that [`crate::payments::Payments`] commits is announced here by the id
//! of what changed (a payment's `pay_…` or a refund's `rf_…`); a long-poll subscribes *before*
//! reading, so a change committed between its read and its wait still wakes it.
//!
//! Waiters are kept **by key**: an announcement wakes only the waiters of that id, so 10,000
//! open long-polls cost nothing while nothing happens and one change wakes one waiter, not all
//! of them. A subscription remembers the announcement counter at its start and checks a short
//! history of recent announcements before it sleeps; one that fell further behind than that
//! history returns at once, and its caller simply reads again.
//!
//! Two more kinds of keys:
//! * "register X has a new payment with a QR" ([`ChangeHub::payment_created`]), which the
//!   customer displays follow;
//! * "register X has new events" ([`ChangeHub::events_written`], announced by the event tail
//!   with each new row), which `GET /v1/events` long-polls follow instead of querying the
//!   database in a loop.
//!
//! Every local announcement also pokes the event tail ([`ChangeHub::tail_poked`]), so events
//! written here reach event long-polls at once rather than on the tail's next tick.
//!
//! A waiter can be told to **give way** (the per-register cap on long-polls, `crate::limits`):
//! a request that runs inside [`give_way_scope`] sees [`ChangeHub::is_closing`] turn true for
//! itself when its register opened more long-polls than allowed, so it answers at once with
//! the current state, as it does when qrpayd stops.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use tokio::sync::{Notify, watch};

/// How many recent announcements a subscription can look back on.
const RECENT: usize = 4096;

tokio::task_local! {
    /// Set for a request under a per-register cap: turns true when it must give way.
    static GIVE_WAY: watch::Receiver<bool>;
}

/// Runs `f` (a request) with `give_way` as its give-way signal.
pub async fn give_way_scope<F: std::future::Future>(
    give_way: watch::Receiver<bool>,
    f: F,
) -> F::Output {
    GIVE_WAY.scope(give_way, f).await
}

fn given_way() -> bool {
    GIVE_WAY.try_with(|g| *g.borrow()).unwrap_or(false)
}

fn give_way_signal() -> Option<watch::Receiver<bool>> {
    GIVE_WAY.try_with(Clone::clone).ok()
}

#[derive(Debug, Default)]
struct Keyed {
    /// Announcements so far.
    seq: u64,
    /// The last [`RECENT`] announcements, oldest first.
    recent: VecDeque<(u64, Arc<str>)>,
    /// Who waits for which key: the sender carries the seq of the latest announcement.
    waiting: HashMap<Arc<str>, watch::Sender<u64>>,
}

#[derive(Debug)]
struct Inner {
    keyed: Mutex<Keyed>,
    /// Set when qrpayd stops: every waiter returns at once with the current state, so a
    /// shutdown never waits for long-polls to run out.
    closing: watch::Sender<bool>,
    /// Wakes the event tail.
    tail: Notify,
}

/// Announces "this changed" to whoever waits for it.
#[derive(Debug, Clone)]
pub struct ChangeHub {
    inner: Arc<Inner>,
}

impl Default for ChangeHub {
    fn default() -> Self {
        let (closing, _) = watch::channel(false);
        ChangeHub {
            inner: Arc::new(Inner {
                keyed: Mutex::new(Keyed::default()),
                closing,
                tail: Notify::new(),
            }),
        }
    }
}

fn register_key(register: &str) -> String {
    format!("register:{register}")
}

fn events_key(register: Option<&str>) -> String {
    match register {
        Some(r) => format!("events:{r}"),
        None => "events:*".to_owned(),
    }
}

impl ChangeHub {
    fn announce(&self, key: &str) {
        let Ok(mut keyed) = self.inner.keyed.lock() else {
            return;
        };
        keyed.seq += 1;
        let seq = keyed.seq;
        if keyed.recent.len() >= RECENT {
            keyed.recent.pop_front();
        }
        let key: Arc<str> = Arc::from(key);
        if let Some(waiting) = keyed.waiting.get(&key) {
            waiting.send_replace(seq);
        }
        keyed.recent.push_back((seq, key));
    }

    /// Announces a change of the payment or refund `id`.
    pub fn changed(&self, id: &str) {
        self.announce(id);
        self.inner.tail.notify_one();
    }

    /// Announces that `register` has a new payment whose QR was just issued.
    pub fn payment_created(&self, register: &str) {
        self.announce(&register_key(register));
        self.inner.tail.notify_one();
    }

    /// What the event tail announces for one new event row (from this instance or another):
    /// its payment and refund changed, its register may have a new QR, and it has new
    /// events. Does not poke the tail again.
    pub fn event_read(
        &self,
        register: &str,
        payment: &str,
        refund: Option<&str>,
        payment_created: bool,
    ) {
        self.announce(payment);
        if let Some(refund) = refund {
            self.announce(refund);
        }
        if payment_created {
            self.announce(&register_key(register));
        }
        self.events_written(register);
    }

    /// Announces new event rows of `register` (the event tail calls this).
    pub fn events_written(&self, register: &str) {
        self.announce(&events_key(Some(register)));
        self.announce(&events_key(None));
    }

    /// Resolves when something was announced locally since the last call (the event tail).
    pub async fn tail_poked(&self) {
        self.inner.tail.notified().await;
    }

    /// Starts listening. Subscribe first, then read the current state.
    pub fn subscribe(&self) -> Subscription {
        let since = self.inner.keyed.lock().map(|k| k.seq).unwrap_or(0);
        Subscription {
            hub: self.clone(),
            since,
            closing: self.inner.closing.subscribe(),
            give_way: give_way_signal(),
        }
    }

    /// Starts listening for new payments of registers. Subscribe first, then read.
    pub fn subscribe_registers(&self) -> RegisterSubscription {
        RegisterSubscription {
            inner: self.subscribe(),
        }
    }

    /// Releases every waiter (shutdown).
    pub fn close(&self) {
        self.inner.closing.send_replace(true);
    }

    /// Has [`ChangeHub::close`] been called, or must the current request give way?
    pub fn is_closing(&self) -> bool {
        *self.inner.closing.borrow() || given_way()
    }

    /// Resolves when [`ChangeHub::close`] is called.
    pub async fn stopped(&self) {
        let mut closing = self.inner.closing.subscribe();
        let _ = closing.wait_for(|c| *c).await;
    }

    /// Has [`ChangeHub::close`] been called?
    pub fn is_stopping(&self) -> bool {
        *self.inner.closing.borrow()
    }

    /// Keys with waiters right now (tests and metrics: none left behind).
    pub fn waiting_keys(&self) -> usize {
        self.inner
            .keyed
            .lock()
            .map(|k| k.waiting.len())
            .unwrap_or(0)
    }
}

/// A waiter's end of the hub.
#[derive(Debug)]
pub struct Subscription {
    hub: ChangeHub,
    /// Announcements up to this one have been accounted for.
    since: u64,
    closing: watch::Receiver<bool>,
    give_way: Option<watch::Receiver<bool>>,
}

/// Removes a key's entry when its last waiter leaves.
struct Leave<'a> {
    hub: &'a ChangeHub,
    key: Arc<str>,
    receiver: Option<watch::Receiver<u64>>,
}

impl Drop for Leave<'_> {
    fn drop(&mut self) {
        drop(self.receiver.take());
        if let Ok(mut keyed) = self.hub.inner.keyed.lock()
            && keyed
                .waiting
                .get(&self.key)
                .is_some_and(|s| s.receiver_count() == 0)
        {
            keyed.waiting.remove(&self.key);
        }
    }
}

impl Subscription {
    /// Waits until `id` may have changed since the subscription started or last returned (an
    /// announcement for it, or more announcements than the hub remembers), or qrpayd is
    /// stopping, or this request must give way.
    pub async fn changed(&mut self, id: &str) {
        self.wait_for_key(id).await;
    }

    async fn wait_for_key(&mut self, key: &str) {
        let (mut leave, key_seq) = {
            let Ok(mut keyed) = self.hub.inner.keyed.lock() else {
                return;
            };
            let lost = keyed
                .recent
                .front()
                .is_some_and(|(oldest, _)| *oldest > self.since.saturating_add(1));
            let since = self.since;
            let missed = keyed
                .recent
                .iter()
                .rev()
                .take_while(|(seq, _)| *seq > since)
                .any(|(_, k)| &**k == key);
            self.since = keyed.seq;
            if lost || missed {
                return;
            }
            let key: Arc<str> = Arc::from(key);
            let receiver = keyed
                .waiting
                .entry(key.clone())
                .or_insert_with(|| watch::channel(0).0)
                .subscribe();
            (
                Leave {
                    hub: &self.hub,
                    key,
                    receiver: Some(receiver),
                },
                self.since,
            )
        };
        let Some(receiver) = leave.receiver.as_mut() else {
            return;
        };
        let announced = async {
            // Wakes on an announcement newer than the subscription's position.
            if receiver.wait_for(|seq| *seq > key_seq).await.is_err() {
                std::future::pending::<()>().await;
            }
        };
        let give_way = async {
            match &mut self.give_way {
                Some(g) => {
                    if g.wait_for(|g| *g).await.is_err() {
                        std::future::pending::<()>().await;
                    }
                }
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            () = announced => {}
            _ = self.closing.wait_for(|closing| *closing) => {}
            () = give_way => {}
        }
        drop(leave);
        // Announcements up to now have been seen (and the caller reads again).
        if let Ok(keyed) = self.hub.inner.keyed.lock() {
            self.since = keyed.seq;
        }
    }
}

/// A display's end of the "new payment for a register" signal.
#[derive(Debug)]
pub struct RegisterSubscription {
    inner: Subscription,
}

impl RegisterSubscription {
    /// Waits until `register` may have a new payment (an announcement for it, or lost
    /// announcements), or qrpayd is stopping.
    pub async fn created(&mut self, register: &str) {
        self.inner.wait_for_key(&register_key(register)).await;
    }

    /// Waits until `register` (all registers: `None`) may have new events.
    pub async fn events(&mut self, register: Option<&str>) {
        self.inner.wait_for_key(&events_key(register)).await;
    }
}

impl Subscription {
    /// Waits until `register` (all registers: `None`) may have new events.
    pub async fn events(&mut self, register: Option<&str>) {
        self.wait_for_key(&events_key(register)).await;
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn close_releases_waiters() {
        let hub = ChangeHub::default();
        let mut sub = hub.subscribe();
        hub.changed("pay_2");
        hub.close();
        // Returns (the other id's announcement is skipped, the close releases it).
        sub.changed("pay_1").await;
        assert!(hub.is_closing());
    }

    #[tokio::test]
    async fn a_change_before_the_wait_is_not_missed() {
        let hub = ChangeHub::default();
        let mut sub = hub.subscribe();
        hub.changed("pay_1");
        tokio::time::timeout(Duration::from_secs(5), sub.changed("pay_1"))
            .await
            .unwrap();
        // Seen: the next wait sleeps until a new announcement.
        let waiting = tokio::spawn({
            let hub = hub.clone();
            async move {
                sub.changed("pay_1").await;
                hub.waiting_keys()
            }
        });
        while hub.waiting_keys() == 0 {
            tokio::task::yield_now().await;
        }
        hub.changed("pay_2");
        hub.changed("pay_1");
        tokio::time::timeout(Duration::from_secs(5), waiting)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(hub.waiting_keys(), 0, "a key is left behind");
    }

    #[tokio::test]
    async fn only_the_waiters_of_the_changed_id_wake() {
        let hub = ChangeHub::default();
        let mut one = hub.subscribe();
        let mut two = hub.subscribe();
        let first = tokio::spawn(async move { one.changed("pay_1").await });
        let second = tokio::spawn(async move { two.changed("pay_2").await });
        while hub.waiting_keys() < 2 {
            tokio::task::yield_now().await;
        }
        hub.changed("pay_1");
        tokio::time::timeout(Duration::from_secs(5), first)
            .await
            .unwrap()
            .unwrap();
        assert!(!second.is_finished());
        hub.close();
        second.await.unwrap();
    }

    #[tokio::test]
    async fn falling_behind_the_history_returns_at_once() {
        let hub = ChangeHub::default();
        let mut sub = hub.subscribe();
        for i in 0..RECENT + 2 {
            hub.changed(&format!("pay_{i}"));
        }
        tokio::time::timeout(Duration::from_secs(5), sub.changed("pay_x"))
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn a_new_payment_wakes_its_registers_display_only() {
        let hub = ChangeHub::default();
        let mut sub = hub.subscribe_registers();
        hub.payment_created("pos-2");
        hub.payment_created("pos-1");
        // Returns on pos-1's announcement (made after the subscription).
        tokio::time::timeout(std::time::Duration::from_secs(1), sub.created("pos-1"))
            .await
            .unwrap();
        hub.close();
        sub.created("pos-3").await;
    }

    #[tokio::test]
    async fn a_request_told_to_give_way_sees_the_hub_closing() {
        let hub = ChangeHub::default();
        let (tell, give_way) = watch::channel(false);
        let waiting = tokio::spawn({
            let hub = hub.clone();
            give_way_scope(give_way, async move {
                let mut sub = hub.subscribe();
                assert!(!hub.is_closing());
                sub.changed("pay_1").await;
                hub.is_closing()
            })
        });
        while hub.waiting_keys() == 0 {
            tokio::task::yield_now().await;
        }
        tell.send_replace(true);
        assert!(
            tokio::time::timeout(Duration::from_secs(5), waiting)
                .await
                .unwrap()
                .unwrap()
        );
        assert!(!hub.is_closing(), "only that request gives way");
    }
}
