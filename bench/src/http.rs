//! A minimal HTTP/1.1 client over raw TCP, for load: keep-alive requests with `Content-Length`
//! answers, plus the hostile shapes (a request that waits forever, unfinished headers, an
//! event stream that is only read).

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context, bail};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// One kept-alive connection.
pub(crate) struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
}

/// An answer: status and body.
pub(crate) struct Answer {
    /// HTTP status.
    pub(crate) status: u16,
    /// The body.
    pub(crate) body: Vec<u8>,
}

impl Answer {
    /// The body as JSON.
    pub(crate) fn json(&self) -> anyhow::Result<serde_json::Value> {
        Ok(serde_json::from_slice(&self.body)?)
    }
}

/// A request's bytes.
pub(crate) fn request(method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Vec<u8> {
    let mut text = format!("{method} {path} HTTP/1.1\r\nHost: bench\r\n");
    for (name, value) in headers {
        text.push_str(&format!("{name}: {value}\r\n"));
    }
    if !body.is_empty() || method == "POST" {
        text.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            body.len()
        ));
    }
    text.push_str("\r\n");
    text.push_str(body);
    text.into_bytes()
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn content_length(head: &[u8]) -> Option<usize> {
    let text = String::from_utf8_lossy(head).to_ascii_lowercase();
    text.lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|n| n.trim().parse().ok())
}

impl Conn {
    /// Connects.
    pub(crate) async fn open(addr: SocketAddr) -> anyhow::Result<Conn> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(Conn {
            stream,
            buf: Vec::with_capacity(4096),
        })
    }

    /// Sends `request` and reads the whole answer.
    pub(crate) async fn send(&mut self, request: &[u8]) -> anyhow::Result<Answer> {
        self.stream.write_all(request).await?;
        self.read_answer().await
    }

    /// Writes bytes without waiting for anything.
    pub(crate) async fn write(&mut self, bytes: &[u8]) -> anyhow::Result<()> {
        self.stream.write_all(bytes).await?;
        Ok(())
    }

    /// Reads one answer with a `Content-Length` body.
    pub(crate) async fn read_answer(&mut self) -> anyhow::Result<Answer> {
        let mut chunk = [0u8; 8192];
        loop {
            if let Some(end) = find(&self.buf, b"\r\n\r\n") {
                let head_len = end.saturating_add(4);
                let head = self.buf.get(..head_len).context("head")?.to_vec();
                let status =
                    std::str::from_utf8(head.get(9..12).context("status line")?)?.parse::<u16>()?;
                let length = content_length(&head).context("no content-length")?;
                let total = head_len.saturating_add(length);
                while self.buf.len() < total {
                    let n = self.stream.read(&mut chunk).await?;
                    if n == 0 {
                        bail!("closed in the middle of a body");
                    }
                    self.buf.extend_from_slice(chunk.get(..n).context("read")?);
                }
                let body = self.buf.get(head_len..total).context("body")?.to_vec();
                self.buf.drain(..total);
                return Ok(Answer { status, body });
            }
            let n = self.stream.read(&mut chunk).await?;
            if n == 0 {
                bail!("the server closed the connection");
            }
            self.buf.extend_from_slice(chunk.get(..n).context("read")?);
        }
    }

    /// Reads whatever comes until the server closes the connection or `limit` passes.
    pub(crate) async fn drain(&mut self, limit: Duration) {
        let mut chunk = [0u8; 4096];
        let _ = tokio::time::timeout(limit, async {
            while let Ok(n) = self.stream.read(&mut chunk).await {
                if n == 0 {
                    break;
                }
            }
        })
        .await;
    }
}

/// One request on a fresh connection.
pub(crate) async fn once(addr: SocketAddr, request: &[u8]) -> anyhow::Result<Answer> {
    Conn::open(addr).await?.send(request).await
}
