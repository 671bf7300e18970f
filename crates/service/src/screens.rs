//! One shared screen per register for its customer displays: computed once per change and
//! fanned out to every open display stream.
//!
//! While a register has at least one display stream open, one task (its *publisher*) follows
//! the register's latest payment (the hub's per-register "new QR" signal, the current
//! payment's changes, the outcome's end, a 30 s re-read as a safety net), decides the screen
//! with [`crate::display::screen`], and, only when what is shown changes, renders the display
//! JSON (the QR's SVG included) once into a [`Frame`]. Each stream only copies that frame's
//! shared bytes to its connection, with the time left computed at sending. A connecting
//! stream asks for a re-read first (requests coalesce), so a reconnect always shows the truth.
//! When the last stream of a register closes, its publisher stops.
//!
//! The display JSON (`DisplayState` in openapi.json): `{"status": "idle"}`, or
//! `{"status": "pending", "amount", "amount_rubles", "currency", "qr": {"payload", "svg"},
//! "expires_at", "expires_in_ms"}`, or `{"status": "paid" | "cancelled" | "expired" |
//! "failed", "amount", "amount_rubles", "currency"}`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use axum::body::Bytes;
use chrono::{DateTime, Utc};
use qrpayd_domain::contract::{DisplayQr, DisplayState, DisplayStatus, wire_time};
use qrpayd_domain::ids::{PaymentId, RegisterId};
use qrpayd_domain::payment::PaymentState;
use qrpayd_store::{Payment, PaymentFilter};
use tokio::sync::watch;

use crate::clock::Clock;
use crate::display::{self, Screen, Shows};
use crate::media::qr;
use crate::payments::Payments;

/// How often a publisher re-reads the register's latest payment even without a signal (a
/// safety net: signals are per process).
const RESYNC: Duration = Duration::from_secs(30);
/// Pause after a journal error before reading again.
const ERROR_PAUSE: Duration = Duration::from_secs(2);

/// What every display of a register is shown, rendered once.
#[derive(Debug)]
pub struct Frame {
    /// The screen's opaque version (the event id): equal versions show the same thing.
    pub version: String,
    /// The display JSON without its opening `{` and without `expires_in_ms`, then the blank
    /// line that ends the event.
    pub rest: Bytes,
    /// When the QR shown stops being payable (`expires_in_ms` is counted to it at sending).
    pub expires_at: Option<DateTime<Utc>>,
    /// The screen shows a QR.
    pub shows_qr: bool,
}

impl Frame {
    /// The event's head up to the JSON's first field: `event`, `id`, `retry` and `data: {`
    /// with `expires_in_ms` when a QR is shown.
    pub fn head(&self, now: DateTime<Utc>, retry: Duration) -> Bytes {
        let mut head = format!(
            "event: state\nid: {}\nretry: {}\ndata: {{",
            self.version,
            retry.as_millis()
        );
        if let Some(expires_at) = self.expires_at {
            let left = (expires_at - now).num_milliseconds().max(0);
            head.push_str(&format!("\"expires_in_ms\":{left},"));
        }
        Bytes::from(head)
    }
}

/// A register's shared screen, alive while streams hold it.
#[derive(Debug)]
pub struct Channel {
    /// The latest frame (none before the first read).
    pub frames: watch::Receiver<Option<Arc<Frame>>>,
    /// Re-read requests (a counter), and the last one the publisher answered.
    resync: watch::Sender<u64>,
    fresh: watch::Receiver<u64>,
    publisher: tokio::task::AbortHandle,
}

impl Drop for Channel {
    fn drop(&mut self) {
        self.publisher.abort();
    }
}

impl Channel {
    /// Asks the publisher to read the journal again and waits (at most `within`) until it has.
    pub async fn resync(&self, within: Duration) {
        let mut asked = 0;
        self.resync.send_modify(|n| {
            *n += 1;
            asked = *n;
        });
        let mut fresh = self.fresh.clone();
        let _ = tokio::time::timeout(within, fresh.wait_for(|done| *done >= asked)).await;
    }
}

/// The registers' shared screens.
#[derive(Debug)]
pub struct Screens {
    payments: Payments,
    clock: Arc<dyn Clock>,
    channels: Mutex<HashMap<RegisterId, Weak<Channel>>>,
}

impl Screens {
    /// Screens read through `payments`, at `clock`'s time.
    pub fn new(payments: Payments, clock: Arc<dyn Clock>) -> Self {
        Screens {
            payments,
            clock,
            channels: Mutex::new(HashMap::new()),
        }
    }

    /// The shared screen of `register`, starting its publisher if none runs.
    pub fn follow(&self, register: &RegisterId) -> Arc<Channel> {
        let Ok(mut channels) = self.channels.lock() else {
            return self.start(register);
        };
        if let Some(channel) = channels.get(register).and_then(Weak::upgrade) {
            return channel;
        }
        channels.retain(|_, c| c.strong_count() > 0);
        let channel = self.start(register);
        channels.insert(register.clone(), Arc::downgrade(&channel));
        channel
    }

    /// Registers with a publisher running (tests: none left behind).
    pub fn following(&self) -> usize {
        self.channels
            .lock()
            .map(|c| c.values().filter(|c| c.strong_count() > 0).count())
            .unwrap_or(0)
    }

    fn start(&self, register: &RegisterId) -> Arc<Channel> {
        let (frames_tx, frames) = watch::channel(None);
        let (resync, resync_rx) = watch::channel(0);
        let (fresh_tx, fresh) = watch::channel(0);
        let publisher = Publisher {
            payments: self.payments.clone(),
            clock: self.clock.clone(),
            register: register.clone(),
            frames: frames_tx,
            resync: resync_rx,
            fresh: fresh_tx,
            current: None,
            rescan: true,
        };
        let task = tokio::spawn(publisher.run());
        Arc::new(Channel {
            frames,
            resync,
            fresh,
            publisher: task.abort_handle(),
        })
    }
}

struct Publisher {
    payments: Payments,
    clock: Arc<dyn Clock>,
    register: RegisterId,
    frames: watch::Sender<Option<Arc<Frame>>>,
    resync: watch::Receiver<u64>,
    fresh: watch::Sender<u64>,
    /// The payment on screen (or lingering as an outcome).
    current: Option<PaymentId>,
    /// Look for the register's latest payment again (at the start, on a new payment, on a
    /// re-sync); otherwise re-read only the current one.
    rescan: bool,
}

impl Publisher {
    async fn latest(&self) -> Result<Option<Payment>, String> {
        if !self.rescan
            && let Some(id) = &self.current
        {
            return self
                .payments
                .get(Some(&self.register), id)
                .await
                .map(Some)
                .map_err(|e| e.to_string());
        }
        let filter = PaymentFilter {
            register: Some(self.register.clone()),
            limit: 1,
            ..PaymentFilter::default()
        };
        self.payments
            .list(&filter)
            .await
            .map(|mut found| found.pop())
            .map_err(|e| e.to_string())
    }

    async fn run(mut self) {
        let hub = self.payments.hub().clone();
        // Subscribed before the first read, so no change is missed between a read and a wait.
        let mut changes = hub.subscribe();
        let mut created = hub.subscribe_registers();
        loop {
            if hub.is_stopping() {
                return;
            }
            let asked = *self.resync.borrow_and_update();
            let latest = match self.latest().await {
                Ok(latest) => latest,
                Err(e) => {
                    tracing::warn!(register = %self.register, "customer display: cannot read the journal: {e}");
                    self.rescan = true;
                    tokio::time::sleep(ERROR_PAUSE).await;
                    continue;
                }
            };
            self.rescan = false;
            let now = self.clock.now();
            let screen = display::screen(latest.as_ref(), now);
            self.current = latest.as_ref().map(|p| p.id.clone());
            let version = screen.version();
            let shown = self.frames.borrow().clone();
            // A new payment whose QR the bank is still issuing: keep the screen (an outcome, or
            // idle) until its QR is there, rather than flash idle; but take an older payment's
            // QR off at once, the register has moved on.
            let issuing = latest
                .as_ref()
                .is_some_and(|p| p.state == PaymentState::Creating);
            let keep = issuing && shown.as_ref().is_some_and(|f| !f.shows_qr);
            if !keep && shown.as_ref().map(|f| f.version.as_str()) != Some(version.as_str()) {
                self.frames
                    .send_replace(Some(Arc::new(frame(&screen, version))));
            }
            self.fresh.send_replace(asked);
            let until = screen
                .until
                .and_then(|t| (t - now).to_std().ok())
                .unwrap_or(RESYNC)
                .min(RESYNC);
            let current = self.current.clone();
            let changed = async {
                match &current {
                    Some(id) => changes.changed(id.as_str()).await,
                    None => std::future::pending().await,
                }
            };
            // A change of the current payment: re-read it; a new payment, a re-sync request
            // or the timer: look for the latest again.
            self.rescan = tokio::select! {
                () = changed => false,
                () = created.created(self.register.as_str()) => true,
                changed = self.resync.changed() => {
                    if changed.is_err() {
                        return;
                    }
                    true
                }
                () = tokio::time::sleep(until) => true,
            };
        }
    }
}

/// Renders a screen once: the display JSON without `expires_in_ms` (added per stream).
fn frame(screen: &Screen<'_>, version: String) -> Frame {
    let (state, expires_at) = state_json(screen);
    let text = serde_json::to_string(&state).unwrap_or_else(|_| "{\"status\":\"idle\"}".to_owned());
    let rest = text.strip_prefix('{').unwrap_or(&text);
    Frame {
        version,
        rest: Bytes::from(format!("{rest}\n\n")),
        expires_at,
        shows_qr: screen.shows == Shows::Qr,
    }
}

/// What a display may see: its register's current payment's amount, QR, status and time
/// left (relative, so a display's wrong clock does not matter). Nothing else.
fn state_json(screen: &Screen<'_>) -> (DisplayState, Option<DateTime<Utc>>) {
    let idle = || (DisplayState::idle(), None);
    let Some(p) = screen.payment else {
        return idle();
    };
    let state = DisplayState {
        amount: Some(p.amount),
        amount_rubles: Some(p.amount.to_rubles_fixed()),
        currency: Some(p.currency),
        ..DisplayState::idle()
    };
    match screen.shows {
        Shows::Idle => idle(),
        Shows::Outcome(status) => (
            DisplayState {
                status: status.into(),
                ..state
            },
            None,
        ),
        Shows::Qr => {
            let Some((_, payload)) = &p.qr else {
                return idle();
            };
            let svg = qr::QrMatrix::encode(payload)
                .map(|m| qr::svg(&m, None))
                .unwrap_or_default();
            (
                DisplayState {
                    status: DisplayStatus::Pending,
                    qr: Some(DisplayQr {
                        payload: payload.clone(),
                        svg,
                    }),
                    expires_at: Some(wire_time(p.expires_at)),
                    ..state
                },
                Some(p.expires_at),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_frame_with_its_head_is_one_event_of_json() {
        let screen = Screen {
            shows: Shows::Idle,
            payment: None,
            until: None,
        };
        let f = frame(&screen, "idle".into());
        let now = Utc::now(); // wall-clock: only formats a relative time in a pure test.
        let head = f.head(now, Duration::from_secs(2));
        let text = format!(
            "{}{}",
            std::str::from_utf8(&head).unwrap(),
            std::str::from_utf8(&f.rest).unwrap()
        );
        assert_eq!(
            text,
            "event: state\nid: idle\nretry: 2000\ndata: {\"status\":\"idle\"}\n\n"
        );
        let pending = Frame {
            version: "v".into(),
            rest: Bytes::from_static(b"\"status\":\"pending\"}\n\n"),
            expires_at: Some(now + chrono::Duration::seconds(5)),
            shows_qr: true,
        };
        let head = pending.head(now, Duration::from_secs(2));
        let data = format!(
            "{}{}",
            std::str::from_utf8(&head).unwrap(),
            std::str::from_utf8(&pending.rest).unwrap()
        );
        let json: serde_json::Value =
            serde_json::from_str(data.lines().find_map(|l| l.strip_prefix("data: ")).unwrap())
                .unwrap();
        assert_eq!(json["expires_in_ms"], 5000);
        assert_eq!(json["status"], "pending");
    }
}
