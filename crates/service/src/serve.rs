//! The HTTP server loop: accepts connections and serves the router on each, with the limits
//! `axum::serve` does not have.
//!
//! * **Header-read timeout** (`header_read_timeout_seconds`): a connection must deliver a
//!   complete request head within this time of the server starting to wait for one: after
//!   connecting, and again after every answer on a kept-alive connection. So a half-open
//!   connection, or one whose headers are never finished, is closed, and an idle keep-alive
//!   connection is closed after the same time.
//! * **Idle timeout** (`idle_timeout_seconds`): a connection on which no byte has moved in
//!   either direction for this long is closed, whatever it is doing: a body trickled in, an
//!   answer the client does not read. It is longer than the longest long-poll
//!   (`max_wait_seconds`), and display streams send a keep-alive comment every 15 s.
//! * **A cap on open connections** (`max_connections`, lowered to what the process's
//!   open-file limit allows): past it, a new connection is accepted only to be answered at once
//!   with `503 overloaded` and `Retry-After: 1`, then closed, so a flood never stalls the
//!   connections already served and never exhausts file descriptors. At most
//!   [`REFUSING`] such answers are in progress; beyond that, new connections are closed
//!   unanswered.
//! * **Graceful stop**: on shutdown the listener closes, the change hub is closed (open
//!   long-polls answer at once with the current state, display streams end), kept-alive
//!   connections close after their current answer, and the server waits up to [`DRAIN`] for
//!   the rest before dropping them.
//!
//! * **A client that goes away** (closes its connection while its request waits: a long-poll,
//!   a display stream) has its request dropped at once, not when its wait ends, so a flood of
//!   long-polls that disconnect costs nothing a moment later.
//!
//! Each request carries the peer's address (`ConnectInfo<SocketAddr>`) for per-client rate
//! limits (`crate::limits`).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;

/// How many over-the-cap connections may be being answered `503` at once.
pub const REFUSING: usize = 64;
/// How long a stop waits for open connections to finish before dropping them.
pub const DRAIN: Duration = Duration::from_secs(10);
/// File descriptors kept for everything but client connections (database, bank clients,
/// logs, the refusals in flight).
const RESERVED_FDS: u64 = 64;

/// The server's limits.
#[derive(Debug, Clone, Copy)]
pub struct ServeLimits {
    /// Time to receive a complete request head.
    pub header_read_timeout: Duration,
    /// Time without any byte moving on a connection before it is closed.
    pub idle_timeout: Duration,
    /// Most connections served at once.
    pub max_connections: usize,
}

impl ServeLimits {
    /// `max_connections` lowered so that the connections, the refusals in flight and a reserve
    /// fit under the process's soft open-file limit (read from `/proc/self/limits`; unchanged
    /// where that cannot be read).
    pub fn fitted_to_fd_limit(mut self) -> Self {
        if let Some(limit) = open_file_limit() {
            let room = limit
                .saturating_sub(RESERVED_FDS)
                .saturating_sub(u64::try_from(REFUSING).unwrap_or(u64::MAX));
            let room = usize::try_from(room).unwrap_or(usize::MAX).max(1);
            if room < self.max_connections {
                tracing::warn!(
                    "max_connections = {} does not fit the open-file limit ({limit}); serving at most {room} connections (raise LimitNOFILE / ulimit -n)",
                    self.max_connections
                );
                self.max_connections = room;
            }
        }
        self
    }
}

/// The soft `Max open files` limit of this process, if it can be read.
fn open_file_limit() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = text.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

/// The answer to a connection over the cap (the whole HTTP/1.1 response).
const OVERLOADED: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\n\
content-type: application/json\r\n\
retry-after: 1\r\n\
connection: close\r\n\
content-length: 107\r\n\
\r\n\
{\"error\":{\"code\":\"overloaded\",\"message\":\"qrpayd serves as many connections as it can; retry in a second\"}}\n";

/// Serves `app` on `listener` until `stop` turns true; `on_stop` runs once when it does
/// (before connections are drained: it releases long-polls).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ServeLimits,
    mut stop: watch::Receiver<bool>,
    on_stop: impl FnOnce() + Send,
) -> std::io::Result<()> {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let refusals = Arc::new(Semaphore::new(REFUSING));
    let (drain_tx, drain_rx) = watch::channel(false);
    let mut connections = JoinSet::new();
    loop {
        // Reap finished connection tasks so the set does not grow.
        while connections.try_join_next().is_some() {}
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            // A finished connection's task is freed at once, not at the next accept.
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
            _ = stop.wait_for(|s| *s) => break,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of file descriptors and the like: wait a little instead of spinning.
                tracing::warn!("accepting a connection failed: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        match slots.clone().try_acquire_owned() {
            Ok(slot) => {
                let app = app.clone();
                let drain = drain_rx.clone();
                connections.spawn(async move {
                    serve_connection(stream, peer, app, limits, drain).await;
                    drop(slot);
                });
            }
            Err(_) => {
                if let Ok(permit) = refusals.clone().try_acquire_owned() {
                    tokio::spawn(async move {
                        refuse(stream).await;
                        drop(permit);
                    });
                }
                // else: dropped unanswered, the refusals themselves are at their cap.
            }
        }
    }
    drop(listener);
    on_stop();
    let _ = drain_tx.send(true);
    let drained = tokio::time::timeout(DRAIN, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            "{} connection(s) still open {DRAIN:?} after the stop; closing them",
            connections.len()
        );
        connections.abort_all();
    }
    Ok(())
}

/// Answers `503 overloaded` to a connection over the cap, briefly and boundedly: reads what
/// the client already sent (so closing does not reset the connection before it reads the
/// answer), writes the answer, closes.
async fn refuse(mut stream: TcpStream) {
    let mut scratch = [0u8; 2048];
    let _ = tokio::time::timeout(Duration::from_millis(200), stream.read(&mut scratch)).await;
    let written = tokio::time::timeout(Duration::from_secs(1), async {
        stream.write_all(OVERLOADED).await?;
        stream.shutdown().await
    })
    .await;
    if matches!(written, Ok(Ok(()))) {
        let _ = tokio::time::timeout(Duration::from_millis(200), stream.read(&mut scratch)).await;
    }
}

async fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    app: Router,
    limits: ServeLimits,
    mut drain: watch::Receiver<bool>,
) {
    let start = Instant::now();
    let progress = Arc::new(AtomicU64::new(0));
    let stream = Arc::new(stream);
    let io = TokioIo::new(Watched {
        inner: stream.clone(),
        progress: progress.clone(),
        start,
    });
    let gone = client_gone(&stream);
    tokio::pin!(gone);
    let service = hyper::service::service_fn(move |mut request: axum::http::Request<_>| {
        request.extensions_mut().insert(ConnectInfo(peer));
        tower::ServiceExt::oneshot(app.clone(), request)
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .keep_alive(true);
    let connection = builder.serve_connection(io, service);
    tokio::pin!(connection);
    let mut deadline = start + limits.idle_timeout;
    let mut draining = false;
    loop {
        tokio::select! {
            result = connection.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!(%peer, "connection ended: {e}");
                }
                return;
            }
            () = tokio::time::sleep_until(deadline) => {
                let last = start + Duration::from_millis(progress.load(Ordering::Relaxed));
                if Instant::now().saturating_duration_since(last) >= limits.idle_timeout {
                    tracing::debug!(%peer, "closing a connection idle for {:?}", limits.idle_timeout);
                    return;
                }
                deadline = last + limits.idle_timeout;
            }
            // A client that went away while its request waits (a long-poll, a display): drop
            // the request now instead of holding it until its wait ends.
            () = &mut gone => {
                tracing::debug!(%peer, "the client closed the connection");
                return;
            }
            _ = drain.wait_for(|d| *d), if !draining => {
                draining = true;
                connection.as_mut().graceful_shutdown();
            }
        }
    }
}

/// A socket that records when bytes last moved (for the idle timeout), in milliseconds since
/// the connection started. Shared with the connection's watchdog, which looks for the client
/// going away while a request waits ([`client_gone`]).
struct Watched {
    inner: Arc<TcpStream>,
    progress: Arc<AtomicU64>,
    start: Instant,
}

impl Watched {
    fn moved(&self) {
        let ms = u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.progress.store(ms, Ordering::Relaxed);
    }
}

impl AsyncRead for Watched {
    fn poll_read(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        // Read through a small scratch buffer rather than initialising hyper's whole read
        // buffer: untouched spare capacity costs no memory (8 KiB per waiting connection).
        let mut scratch = [0u8; 4096];
        let want = buf.remaining().min(scratch.len());
        loop {
            std::task::ready!(self.inner.poll_read_ready(cx))?;
            let Some(into) = scratch.get_mut(..want) else {
                return std::task::Poll::Ready(Ok(()));
            };
            match self.inner.try_read(into) {
                Ok(n) => {
                    buf.put_slice(into.get(..n).unwrap_or_default());
                    if n > 0 {
                        self.moved();
                    }
                    return std::task::Poll::Ready(Ok(()));
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(e) => return std::task::Poll::Ready(Err(e)),
            }
        }
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        loop {
            std::task::ready!(self.inner.poll_write_ready(cx))?;
            match self.inner.try_write(buf) {
                Ok(n) => {
                    if n > 0 {
                        self.moved();
                    }
                    return std::task::Poll::Ready(Ok(n));
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(e) => return std::task::Poll::Ready(Err(e)),
            }
        }
    }

    fn poll_write_vectored(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> std::task::Poll<std::io::Result<usize>> {
        loop {
            std::task::ready!(self.inner.poll_write_ready(cx))?;
            match self.inner.try_write_vectored(bufs) {
                Ok(n) => {
                    if n > 0 {
                        self.moved();
                    }
                    return std::task::Poll::Ready(Ok(n));
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(e) => return std::task::Poll::Ready(Err(e)),
            }
        }
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        let closed = socket2::SockRef::from(&*self.inner).shutdown(std::net::Shutdown::Write);
        std::task::Poll::Ready(match closed {
            Err(e) if e.kind() == std::io::ErrorKind::NotConnected => Ok(()),
            other => other,
        })
    }
}

/// Resolves when the client has closed its end (or the connection broke). Costs nothing while
/// the socket is quiet: it waits for readability, then peeks. Data waiting to be read (the next
/// request, pipelined) is left to hyper, and looked at again a second later.
async fn client_gone(stream: &TcpStream) {
    let mut byte = [0u8; 1];
    loop {
        if stream.readable().await.is_err() {
            return;
        }
        match futures_util::FutureExt::now_or_never(stream.peek(&mut byte)) {
            Some(Ok(0) | Err(_)) => return,
            Some(Ok(_)) => tokio::time::sleep(Duration::from_secs(1)).await,
            None => tokio::task::yield_now().await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_overloaded_answer_is_well_formed() {
        let text = std::str::from_utf8(OVERLOADED).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 503 "));
        assert!(head.contains("\r\nretry-after: 1\r\n"));
        assert!(head.contains(&format!("content-length: {}", body.len())));
        let json: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(json["error"]["code"], "overloaded");
    }

    #[test]
    fn the_cap_fits_the_open_file_limit() {
        let huge = ServeLimits {
            header_read_timeout: Duration::from_secs(1),
            idle_timeout: Duration::from_secs(1),
            max_connections: usize::MAX,
        }
        .fitted_to_fd_limit();
        if let Some(limit) = open_file_limit() {
            assert!(u64::try_from(huge.max_connections).unwrap() < limit);
        }
    }
}
