//! Limits that keep qrpayd answering registers when clients misbehave: per-client rate limits
//! on the paths that need no register key, per-register caps on long-polls and display
//! streams, and a bounded pool for CPU-heavy rendering. Over a limit the answer is quick
//! (`429`/`503` with `Retry-After`), never a stall for everyone.
//!
//! * **Rate limits** ([`RateLimiter`]): a token bucket per client address
//!   (`rate_limit_per_second`, `rate_limit_burst`) on every path that takes no register key:
//!   bank callbacks, the customer display, its assets, the pages, the embedded sandbox bank and
//!   the OpenAPI document. `/healthz` and `/readyz` are never limited (monitoring must see
//!   through an attack), and `/v1/*` is limited by its keys. Behind a reverse proxy all
//!   clients share the proxy's address: raise the limits there.
//! * **Long-polls per register** ([`WaitSlots`], `max_long_polls_per_register`): **the oldest
//!   gives way**. A register waits on one thing at a time, so when it opens more long-polls
//!   than allowed, the older ones are left over from a reconnect loop or a restart; the oldest
//!   is answered at once with the current state (as when its wait ends) and the new one waits.
//! * **Display streams per register** ([`DisplaySlots`], `max_display_streams_per_register`):
//!   **the newest gives way**: one more stream is refused with `429 too_many_displays` and
//!   `Retry-After`, and the screens already showing keep their streams. (Displacing the oldest
//!   would make screens left open in more places than allowed take turns, each reconnect
//!   displacing another, forever.) The display page retries a refused stream after 5 s.
//! * **Rendering** ([`RenderPool`], `max_concurrent_renders`): PNG pictures (up to 4096 px) and
//!   printer rasters are made on blocking threads, at most this many at once and as many again
//!   waiting per slot; more are refused with `503 overloaded`.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{Semaphore, watch};
use tokio::time::Instant;

/// Rate-limit state is dropped for clients whose bucket is full once the table holds this many.
const PRUNE_AT: usize = 4096;

/// A token bucket per client address.
#[derive(Debug)]
pub struct RateLimiter {
    /// Tokens per second.
    rate: u64,
    /// Bucket size, in tokens.
    burst: u64,
    buckets: Mutex<HashMap<IpAddr, Bucket>>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    /// Thousandths of a token.
    millitokens: u64,
    at: Instant,
}

impl RateLimiter {
    /// `rate` requests per second per address, `burst` at once.
    pub fn new(rate: u64, burst: u64) -> Self {
        RateLimiter {
            rate: rate.max(1),
            burst: burst.max(1),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes a token for `client`; `Err(retry_after)` when it has none left.
    pub fn check(&self, client: IpAddr) -> Result<(), Duration> {
        self.check_at(client, Instant::now())
    }

    fn check_at(&self, client: IpAddr, now: Instant) -> Result<(), Duration> {
        let full = self.burst.saturating_mul(1000);
        let Ok(mut buckets) = self.buckets.lock() else {
            return Ok(());
        };
        if buckets.len() >= PRUNE_AT {
            let rate = self.rate;
            buckets.retain(|_, b| refill(*b, now, rate, full) < full);
        }
        let bucket = buckets.entry(client).or_insert(Bucket {
            millitokens: full,
            at: now,
        });
        let tokens = refill(*bucket, now, self.rate, full);
        if tokens >= 1000 {
            *bucket = Bucket {
                millitokens: tokens - 1000,
                at: now,
            };
            Ok(())
        } else {
            *bucket = Bucket {
                millitokens: tokens,
                at: now,
            };
            // Whole seconds until one token is back (at least one).
            let missing = 1000 - tokens;
            let per_second = self.rate.saturating_mul(1000);
            Err(Duration::from_secs(missing.div_ceil(per_second).max(1)))
        }
    }
}

fn refill(bucket: Bucket, now: Instant, rate: u64, full: u64) -> u64 {
    let elapsed =
        u64::try_from(now.saturating_duration_since(bucket.at).as_millis()).unwrap_or(u64::MAX);
    // `rate` tokens per second = `rate` millitokens per millisecond.
    bucket
        .millitokens
        .saturating_add(elapsed.saturating_mul(rate))
        .min(full)
}

/// Whether a request on `path` is under the per-client rate limit.
pub fn rate_limited_path(path: &str) -> bool {
    if path == "/healthz" || path == "/readyz" {
        return false;
    }
    if let Some(rest) = path.strip_prefix("/v1/") {
        return rest.starts_with("callbacks/");
    }
    true
}

/// Per-register long-poll slots: the oldest gives way.
#[derive(Debug)]
pub struct WaitSlots {
    cap: usize,
    inner: Mutex<SlotTable>,
}

#[derive(Debug, Default)]
struct SlotTable {
    next: u64,
    /// Per register (or `*admin*`): open long-polls, oldest first, with their give-way signal.
    open: HashMap<String, VecDeque<(u64, watch::Sender<bool>)>>,
}

/// A long-poll's slot; leaving frees it.
#[derive(Debug)]
pub struct WaitSlot {
    slots: Arc<WaitSlots>,
    owner: String,
    id: u64,
}

impl WaitSlots {
    /// At most `cap` long-polls per register.
    pub fn new(cap: usize) -> Arc<Self> {
        Arc::new(WaitSlots {
            cap: cap.max(1),
            inner: Mutex::new(SlotTable::default()),
        })
    }

    /// Takes a slot for `owner`; when it has `cap` already, the oldest is told to give way.
    /// Returns the slot and this long-poll's own give-way signal.
    pub fn enter(self: &Arc<Self>, owner: &str) -> (WaitSlot, watch::Receiver<bool>) {
        let (tell, give_way) = watch::channel(false);
        let mut id = 0;
        if let Ok(mut table) = self.inner.lock() {
            table.next += 1;
            id = table.next;
            let open = table.open.entry(owner.to_owned()).or_default();
            while open.len() >= self.cap {
                if let Some((_, oldest)) = open.pop_front() {
                    oldest.send_replace(true);
                }
            }
            open.push_back((id, tell));
        }
        (
            WaitSlot {
                slots: self.clone(),
                owner: owner.to_owned(),
                id,
            },
            give_way,
        )
    }

    /// Long-polls open for `owner`.
    pub fn open(&self, owner: &str) -> usize {
        self.inner
            .lock()
            .map(|t| t.open.get(owner).map_or(0, VecDeque::len))
            .unwrap_or(0)
    }
}

impl Drop for WaitSlot {
    fn drop(&mut self) {
        if let Ok(mut table) = self.slots.inner.lock()
            && let Some(open) = table.open.get_mut(&self.owner)
        {
            open.retain(|(id, _)| *id != self.id);
            if open.is_empty() {
                table.open.remove(&self.owner);
            }
        }
    }
}

/// Per-register display-stream slots: the newest gives way.
#[derive(Debug)]
pub struct DisplaySlots {
    cap: usize,
    open: Mutex<HashMap<String, usize>>,
}

/// A display stream's slot; dropping it frees it.
#[derive(Debug)]
pub struct DisplaySlot {
    slots: Arc<DisplaySlots>,
    register: String,
}

impl DisplaySlots {
    /// At most `cap` streams per register.
    pub fn new(cap: usize) -> Arc<Self> {
        Arc::new(DisplaySlots {
            cap: cap.max(1),
            open: Mutex::new(HashMap::new()),
        })
    }

    /// A slot for one more stream of `register`, unless it has `cap` open.
    pub fn try_enter(self: &Arc<Self>, register: &str) -> Option<DisplaySlot> {
        let mut open = self.open.lock().ok()?;
        let count = open.entry(register.to_owned()).or_insert(0);
        if *count >= self.cap {
            return None;
        }
        *count += 1;
        Some(DisplaySlot {
            slots: self.clone(),
            register: register.to_owned(),
        })
    }
}

impl Drop for DisplaySlot {
    fn drop(&mut self) {
        if let Ok(mut open) = self.slots.open.lock()
            && let Some(count) = open.get_mut(&self.register)
        {
            *count = count.saturating_sub(1);
            if *count == 0 {
                open.remove(&self.register);
            }
        }
    }
}

/// Why a render was not done.
#[derive(Debug, thiserror::Error)]
pub enum RenderRefused {
    /// Too many renders running and waiting.
    #[error("too many pictures are being rendered; retry in a second")]
    Busy,
    /// The blocking task failed (panicked).
    #[error("rendering failed: {0}")]
    Failed(String),
}

/// CPU-heavy rendering off the async threads, bounded.
#[derive(Debug)]
pub struct RenderPool {
    running: Arc<Semaphore>,
    /// Renders admitted (running or waiting).
    admitted: AtomicUsize,
    max_admitted: usize,
}

impl RenderPool {
    /// `concurrent` renders at once; as many again may wait per slot.
    pub fn new(concurrent: usize) -> Self {
        let concurrent = concurrent.max(1);
        RenderPool {
            running: Arc::new(Semaphore::new(concurrent)),
            admitted: AtomicUsize::new(0),
            max_admitted: concurrent.saturating_mul(2),
        }
    }

    /// Runs `work` on a blocking thread when a slot is free.
    pub async fn render<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, RenderRefused> {
        let admitted = self.admitted.fetch_add(1, Ordering::AcqRel);
        let _admission = Admission(&self.admitted);
        if admitted >= self.max_admitted {
            return Err(RenderRefused::Busy);
        }
        let _running = self
            .running
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| RenderRefused::Failed(e.to_string()))?;
        tokio::task::spawn_blocking(work)
            .await
            .map_err(|e| RenderRefused::Failed(e.to_string()))
    }
}

struct Admission<'a>(&'a AtomicUsize);

impl Drop for Admission<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Every limit, shared by the handlers.
#[derive(Debug)]
pub struct Limits {
    /// Per-client rate on key-less paths.
    pub rate: RateLimiter,
    /// Long-polls per register.
    pub waits: Arc<WaitSlots>,
    /// Display streams per register.
    pub displays: Arc<DisplaySlots>,
    /// Rendering.
    pub render: RenderPool,
}

impl Limits {
    /// From the configuration.
    pub fn from_config(config: &crate::config::Config) -> Self {
        let size = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
        Limits {
            rate: RateLimiter::new(config.rate_limit_per_second, config.rate_limit_burst),
            waits: WaitSlots::new(size(config.max_long_polls_per_register)),
            displays: DisplaySlots::new(size(config.max_display_streams_per_register)),
            render: RenderPool::new(size(config.max_concurrent_renders)),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;

    #[test]
    fn a_bucket_allows_its_burst_then_the_rate() {
        let limiter = RateLimiter::new(2, 3);
        let client = IpAddr::V4(Ipv4Addr::LOCALHOST);
        let other = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2));
        let t = Instant::now();
        for _ in 0..3 {
            limiter.check_at(client, t).unwrap();
        }
        assert_eq!(limiter.check_at(client, t), Err(Duration::from_secs(1)));
        // Another client has its own bucket.
        limiter.check_at(other, t).unwrap();
        // Half a second later one token (2 per second) is back.
        limiter
            .check_at(client, t + Duration::from_millis(500))
            .unwrap();
        assert!(
            limiter
                .check_at(client, t + Duration::from_millis(500))
                .is_err()
        );
    }

    #[test]
    fn full_buckets_are_forgotten() {
        let limiter = RateLimiter::new(1000, 1);
        let t = Instant::now();
        for i in 0..u32::try_from(PRUNE_AT).unwrap() + 10 {
            limiter
                .check_at(IpAddr::V4(Ipv4Addr::from(i)), t + Duration::from_secs(5))
                .unwrap();
        }
        limiter
            .check_at(IpAddr::V4(Ipv4Addr::LOCALHOST), t + Duration::from_secs(10))
            .unwrap();
        assert!(limiter.buckets.lock().unwrap().len() < PRUNE_AT);
    }

    #[test]
    fn only_key_less_paths_are_rate_limited() {
        for path in [
            "/v1/callbacks/raiffeisen",
            "/display/pos-1/events",
            "/assets/display.js",
            "/sandbox-bank/api/sbp/v2/qrs",
            "/openapi.json",
            "/nothing-here",
        ] {
            assert!(rate_limited_path(path), "{path}");
        }
        for path in ["/healthz", "/readyz", "/v1/payments", "/v1/events"] {
            assert!(!rate_limited_path(path), "{path}");
        }
    }

    #[test]
    fn the_oldest_long_poll_gives_way() {
        let slots = WaitSlots::new(2);
        let (first, first_signal) = slots.enter("pos-1");
        let (_second, second_signal) = slots.enter("pos-1");
        let (_other, other_signal) = slots.enter("pos-2");
        assert!(!*first_signal.borrow());
        let (_third, third_signal) = slots.enter("pos-1");
        assert!(*first_signal.borrow(), "the oldest gives way");
        assert!(!*second_signal.borrow() && !*third_signal.borrow() && !*other_signal.borrow());
        assert_eq!(slots.open("pos-1"), 2);
        drop(first);
        assert_eq!(slots.open("pos-1"), 2);
    }

    #[test]
    fn the_newest_display_stream_is_refused() {
        let slots = DisplaySlots::new(1);
        let first = slots.try_enter("pos-1").unwrap();
        assert!(slots.try_enter("pos-1").is_none());
        assert!(slots.try_enter("pos-2").is_some());
        drop(first);
        assert!(slots.try_enter("pos-1").is_some());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn renders_run_off_the_async_threads_and_are_bounded() {
        let pool = Arc::new(RenderPool::new(1));
        let (started, wait_started) = std::sync::mpsc::channel();
        let (release, released) = std::sync::mpsc::channel::<()>();
        let blocked = tokio::spawn({
            let pool = pool.clone();
            async move {
                pool.render(move || {
                    let _ = started.send(());
                    let _ = released.recv();
                    7
                })
                .await
            }
        });
        tokio::task::spawn_blocking(move || wait_started.recv().unwrap())
            .await
            .unwrap();
        // One waits for the slot, the next is refused.
        let waiting = tokio::spawn({
            let pool = pool.clone();
            async move { pool.render(|| 8).await }
        });
        while pool.admitted.load(Ordering::Acquire) < 2 {
            tokio::task::yield_now().await;
        }
        assert!(matches!(pool.render(|| 9).await, Err(RenderRefused::Busy)));
        release.send(()).unwrap();
        assert_eq!(blocked.await.unwrap().unwrap(), 7);
        assert_eq!(waiting.await.unwrap().unwrap(), 8);
    }
}
