//! The POS API as a register reaches it: request bodies and query strings sent over a socket
//! to a real qrpayd (`startup::start`, SQLite in a temporary directory, the sandbox bank on its
//! own port, one manual clock), black-box, so the target outlives refactors of the handlers.
//!
//! Input: a request written like HTTP without the noise: the first line `METHOD /path?query`,
//! then optional `Name: value` header lines, a blank line and the body. `{paid}` and
//! `{pending}` in the path stand for a paid and a pending payment made at start (`{id}` = the
//! paid one). The harness adds the register's key (unless the input has an `Authorization`),
//! `Content-Type: application/json` (unless given), `Content-Length` and `Connection: close`;
//! it percent-encodes bytes a request line may not carry and drops header lines HTTP would
//! refuse, so every input reaches qrpayd's router rather than the HTTP parser's refusals.
//!
//! Oracles: never a 5xx; every 4xx carries the JSON error envelope
//! (`{"error": {"code": "…", "message": "…"}}`); an answer always comes (no dropped connection).
//! `max_wait_seconds` is 1, so a long-poll on the pending payment holds an input for a second.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use qrpayd_domain::clock::ManualClock;
use qrpayd_domain::money::Kopecks;
use qrpayd_sandbox::{Sandbox, SandboxConfig};
use qrpayd_service::config::Config;
use qrpayd_service::startup::{Running, StartOptions, start};
use serde_json::Value;

use super::{MERCHANT, SECRET};
use crate::Target;

/// The target.
pub(super) const TARGET: Target = Target {
    name: "pos_api",
    run,
    max_len: 4096,
    dictionary: &[
        "POST /v1/payments\n",
        "GET /v1/payments?",
        "GET /v1/events?",
        "GET /v1/payments/{paid}",
        "GET /v1/payments/{pending}?wait=",
        "POST /v1/payments/{paid}/refunds\n",
        "POST /v1/payments/{pending}/cancel\n",
        "Idempotency-Key: ",
        "Content-Type: ",
        "application/json",
        "text/plain",
        "\n\n",
        "\"amount\":",
        "\"order\":",
        "\"description\":",
        "\"provider\":",
        "\"raiffeisen\"",
        "\"tbank\"",
        "\"qr\":",
        "\"kind\":",
        "\"dynamic\"",
        "\"customer_qr\":",
        "\"cash_register\"",
        "\"customer\"",
        "late=",
        "\"currency\":",
        "\"qr_type\":",
        "\"reason\":",
        "after=",
        "limit=",
        "status=",
        "pending",
        "paid",
        "from=",
        "to=",
        "cursor=",
        "wait=",
        "order=",
        "&",
        "=",
        "%",
        "%00",
        "%ZZ",
        "+",
        "null",
        "{",
        "}",
        "[",
        "]",
    ],
};

const KEY: &str = "pos1-fuzz-key-0123456789";

struct Harness {
    _runtime: tokio::runtime::Runtime,
    addr: SocketAddr,
    paid: String,
    pending: String,
    _running: Running,
    _dir: tempfile::TempDir,
}

static HARNESS: LazyLock<Result<Harness, String>> = LazyLock::new(harness);

fn harness() -> Result<Harness, String> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    // Business time is the manual clock's; this moment has no meaning beyond being fixed.
    let start_at = chrono::DateTime::from_timestamp(1_900_000_000, 0).ok_or("no start time")?;
    let clock = ManualClock::new(start_at);
    let (running, addr, paid, pending) = runtime
        .block_on(async {
            let sandbox = Sandbox::new(
                SandboxConfig::new(MERCHANT, SECRET).with_clock(Arc::new(clock.clone())),
            );
            let bank_listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .map_err(|e| e.to_string())?;
            let bank = bank_listener.local_addr().map_err(|e| e.to_string())?;
            tokio::spawn(qrpayd_sandbox::serve(
                bank_listener,
                sandbox.clone(),
                std::future::pending(),
            ));
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .map_err(|e| e.to_string())?;
            let addr = listener.local_addr().map_err(|e| e.to_string())?;
            let text = format!(
                r#"
listen = "{addr}"
database_url = "sqlite://{db}?mode=rwc"
public_url = "http://{addr}"
payment_ttl_seconds = 300
register_timeout_seconds = 310
bank_timeout_seconds = 2
max_wait_seconds = 1

[[registers]]
id = "pos-1"
api_key = "{KEY}"
provider = "raiffeisen"

[[providers]]
name = "raiffeisen"
kind = "raiffeisen"
base_url = "http://{bank}"
sbp_merchant_id = "{MERCHANT}"
secret_key = "{SECRET}"
set_callback_url = true
"#,
                db = dir.path().join("qrpayd.db").display(),
            );
            let config = Config::from_toml(&text, Vec::new()).map_err(|e| e.to_string())?;
            let running = start(
                &config,
                listener,
                StartOptions {
                    clock: Arc::new(clock.clone()),
                    run_worker: false,
                    demo_bank: None,
                },
            )
            .await
            .map_err(|e| e.to_string())?;
            Ok::<_, String>((running, addr, sandbox))
        })
        .and_then(|(running, addr, sandbox)| {
            let create = |key: &str| -> Result<Value, String> {
                let request =
                    format!("POST /v1/payments\nIdempotency-Key: {key}\n\n{{\"amount\": 12345}}");
                let (status, body) = send(
                    addr,
                    &build(request.as_bytes(), "", "").ok_or("bad setup request")?,
                )?;
                if status != 201 {
                    return Err(format!("setup: create answered {status}: {body}"));
                }
                serde_json::from_str(&body).map_err(|e| e.to_string())
            };
            let text = |v: &Value, pointer: &str| {
                v.pointer(pointer)
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned()
            };
            // The bank may need a moment to learn where to send notifications.
            std::thread::sleep(Duration::from_millis(300));
            let paid = create("fuzz-setup-paid")?;
            runtime
                .block_on(sandbox.pay(
                    &text(&paid, "/qr/qr_id"),
                    Kopecks::new(12345).map_err(|e| e.to_string())?,
                ))
                .map_err(|e| format!("setup: pay: {e:?}"))?;
            let pending = create("fuzz-setup-pending")?;
            Ok((running, addr, text(&paid, "/id"), text(&pending, "/id")))
        })?;
    Ok(Harness {
        _runtime: runtime,
        addr,
        paid,
        pending,
        _running: running,
        _dir: dir,
    })
}

/// May this byte stand in a request target as it is?
fn plain_in_target(b: u8) -> bool {
    (0x21..=0x7e).contains(&b) && !b"\"<>\\^`{|}".contains(&b)
}

/// The request for an input, or `None` when it has no usable first line.
fn build(input: &[u8], paid: &str, pending: &str) -> Option<Vec<u8>> {
    let (head, body) = match input.windows(2).position(|w| w == b"\n\n") {
        Some(at) => (input.get(..at)?, input.get(at + 2..)?),
        None => (input, &[][..]),
    };
    let mut lines = head
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l));
    let first = lines.next()?;
    let (method, target) = match first.iter().position(|&b| b == b' ') {
        Some(at) => (first.get(..at)?, first.get(at + 1..)?),
        None => (first, &b"/"[..]),
    };
    if method.is_empty()
        || method.len() > 16
        || !method.iter().all(u8::is_ascii_uppercase)
        || method == b"CONNECT"
    {
        return None;
    }
    let target = String::from_utf8_lossy(target)
        .replace("{paid}", paid)
        .replace("{id}", paid)
        .replace("{pending}", pending);
    let mut encoded = String::from("/");
    for &b in target.trim_start_matches('/').as_bytes() {
        if plain_in_target(b) {
            encoded.push(char::from(b));
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    let mut headers = Vec::new();
    let (mut authorization, mut content_type) = (false, false);
    for line in lines.take(24) {
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let (name, value) = (line.get(..colon)?, line.get(colon + 1..)?);
        let value = value.strip_prefix(b" ").unwrap_or(value);
        let name_ok = !name.is_empty()
            && name
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || b"-_".contains(b));
        let value_ok = value
            .iter()
            .all(|&b| (0x20..=0x7e).contains(&b) || b == b'\t');
        let lower = String::from_utf8_lossy(name).to_ascii_lowercase();
        let framing = [
            "host",
            "content-length",
            "transfer-encoding",
            "connection",
            "expect",
            "upgrade",
            "te",
            "trailer",
            "keep-alive",
        ];
        if !name_ok || !value_ok || framing.contains(&lower.as_str()) || lower.starts_with("proxy-")
        {
            continue;
        }
        authorization |= lower == "authorization";
        content_type |= lower == "content-type";
        headers.extend_from_slice(name);
        headers.extend_from_slice(b": ");
        headers.extend_from_slice(value);
        headers.extend_from_slice(b"\r\n");
    }
    let mut request = Vec::new();
    request.extend_from_slice(method);
    request.extend_from_slice(
        format!(" {encoded} HTTP/1.1\r\nHost: qrpayd\r\nConnection: close\r\n").as_bytes(),
    );
    if !authorization {
        request.extend_from_slice(format!("Authorization: Bearer {KEY}\r\n").as_bytes());
    }
    if !content_type && !body.is_empty() {
        request.extend_from_slice(b"Content-Type: application/json\r\n");
    }
    request.extend_from_slice(&headers);
    request.extend_from_slice(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes());
    request.extend_from_slice(body);
    Some(request)
}

/// Sends a request and reads the whole answer: `(status, body)`.
fn send(addr: SocketAddr, request: &[u8]) -> Result<(u16, String), String> {
    let mut stream = TcpStream::connect(addr).map_err(|e| format!("connect: {e}"))?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .map_err(|e| e.to_string())?;
    stream
        .write_all(request)
        .map_err(|e| format!("write: {e}"))?;
    let mut raw = Vec::new();
    stream
        .read_to_end(&mut raw)
        .map_err(|e| format!("no complete answer: {e}"))?;
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| format!("no answer head in {:?}", String::from_utf8_lossy(&raw)))?;
    let head = String::from_utf8_lossy(raw.get(..split).unwrap_or_default()).into_owned();
    let mut body = raw.get(split + 4..).unwrap_or_default().to_vec();
    let status: u16 = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("no status in {head:?}"))?;
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        body = unchunk(&body);
    }
    Ok((status, String::from_utf8_lossy(&body).into_owned()))
}

/// The body of a chunked answer.
fn unchunk(mut rest: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = rest.windows(2).position(|w| w == b"\r\n") {
        let size_text = String::from_utf8_lossy(rest.get(..eol).unwrap_or_default()).into_owned();
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("0").trim(), 16)
            .unwrap_or(0);
        if size == 0 {
            break;
        }
        out.extend_from_slice(rest.get(eol + 2..eol + 2 + size).unwrap_or_default());
        rest = rest.get(eol + 2 + size + 2..).unwrap_or_default();
    }
    out
}

fn run(input: &[u8]) -> Result<String, String> {
    let harness = HARNESS.as_ref().map_err(Clone::clone)?;
    let Some(request) = build(input, &harness.paid, &harness.pending) else {
        return Ok("no request".into());
    };
    let shown = || {
        String::from_utf8_lossy(&request)
            .chars()
            .take(400)
            .collect::<String>()
    };
    let (status, body) =
        send(harness.addr, &request).map_err(|e| format!("{e}\nrequest: {}", shown()))?;
    let head_only = request.starts_with(b"HEAD ");
    if status >= 500 {
        return Err(format!("answered {status} {body}\nrequest: {}", shown()));
    }
    let code = if (400..500).contains(&status) && !head_only {
        let envelope: Value = serde_json::from_str(&body).map_err(|_| {
            format!(
                "answered {status} without a JSON body: {body:?}\nrequest: {}",
                shown()
            )
        })?;
        let code = envelope.pointer("/error/code").and_then(Value::as_str);
        let message = envelope.pointer("/error/message").and_then(Value::as_str);
        match (code, message) {
            (Some(code), Some(_)) => code.to_owned(),
            _ => {
                return Err(format!(
                    "answered {status} without the error envelope: {body}\nrequest: {}",
                    shown()
                ));
            }
        }
    } else {
        String::new()
    };
    // The route, not the path: `/v1/payments/{paid}/refunds`, with anything else cut, so a
    // new outcome is a new answer of a route rather than a new spelling of a path.
    let path = String::from_utf8_lossy(&request)
        .split(['?', ' '])
        .nth(1)
        .unwrap_or_default()
        .replace(&harness.paid, "{paid}")
        .replace(&harness.pending, "{pending}");
    let route: Vec<&str> = path
        .split('/')
        .take(5)
        .map(|s| if s.len() > 12 { "…" } else { s })
        .collect();
    Ok(format!("{status} {code} {}", route.join("/")))
}
