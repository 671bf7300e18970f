//! Hostile and careless clients: the header-read and idle timeouts cut slow connections, the
//! connection cap answers `503` at once and frees its slots, a register's long-polls beyond its
//! cap make the oldest give way, a register's display streams beyond its cap are refused, and
//! the key-less paths are rate-limited. No assertion is about speed: each waits, generously,
//! for something to happen (or checks that it has not happened yet).

use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::*;

/// Generous bound for "happens by itself" (timeouts configured in seconds).
const EVENTUALLY: Duration = Duration::from_secs(30);

async fn spawn_limited(extra: &str) -> TestApp {
    spawn_with(Options {
        extra: Some(extra.to_owned()),
        ..Options::default()
    })
    .await
}

fn addr(app: &TestApp) -> String {
    app.base.trim_start_matches("http://").to_owned()
}

/// Reads until the server closes the connection; what it sent.
async fn until_closed(stream: &mut TcpStream) -> String {
    let mut received = Vec::new();
    let read = tokio::time::timeout(EVENTUALLY, stream.read_to_end(&mut received)).await;
    assert!(read.is_ok(), "the server kept the connection open");
    String::from_utf8_lossy(&received).into_owned()
}

/// One HTTP/1.1 request on a fresh connection; the raw answer.
async fn raw_request(app: &TestApp, request: &str) -> String {
    let mut stream = TcpStream::connect(addr(app)).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    until_closed(&mut stream).await
}

async fn healthz(app: &TestApp) -> u16 {
    app.http
        .get(format!("{}/healthz", app.base))
        .send()
        .await
        .map(|r| r.status().as_u16())
        .unwrap_or(0)
}

#[tokio::test]
async fn unfinished_headers_are_cut_off_and_the_connection_cap_answers_503_until_they_are() {
    let app = spawn_limited("header_read_timeout_seconds = 1\nmax_connections = 2").await;
    // Two scanners fill the cap with requests whose headers never end.
    let mut slow = Vec::new();
    for _ in 0..2 {
        let mut s = TcpStream::connect(addr(&app)).await.unwrap();
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
            .await
            .unwrap();
        slow.push(s);
    }
    // Give the server a moment to take both, then a third connection is refused at once.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let refused = raw_request(&app, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").await;
    assert!(refused.starts_with("HTTP/1.1 503 "), "{refused}");
    assert!(refused.contains("retry-after: 1"), "{refused}");
    assert!(refused.contains("\"overloaded\""), "{refused}");
    // The slow ones are closed by the header timeout (a slow client cannot hold a slot)...
    for s in &mut slow {
        let sent = until_closed(s).await;
        assert!(!sent.contains("200 OK"), "{sent}");
    }
    // ...and their slots serve again.
    let mut served = false;
    for _ in 0..100 {
        if healthz(&app).await == 200 {
            served = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(served, "the freed slots never served");
}

#[tokio::test]
async fn a_body_that_never_arrives_is_cut_off_by_the_idle_timeout() {
    let app = spawn_limited("max_wait_seconds = 1\nidle_timeout_seconds = 2").await;
    let mut stream = TcpStream::connect(addr(&app)).await.unwrap();
    stream
        .write_all(
            format!(
                "POST /v1/payments HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {KEY}\r\n\
                 Idempotency-Key: slow-1\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n{{\"amount\""
            )
            .as_bytes(),
        )
        .await
        .unwrap();
    let sent = until_closed(&mut stream).await;
    assert!(!sent.contains("201 Created"), "{sent}");
    // Nothing was created from half a body.
    let list = app
        .request(reqwest::Method::GET, "/v1/payments", Some(KEY), None, None)
        .await;
    assert_eq!(list.body["payments"], serde_json::json!([]));
}

/// `qrpayd_long_polls_open` from `/metrics`.
async fn long_polls_open(app: &TestApp) -> i64 {
    let text = app
        .http
        .get(format!("{}/metrics", app.base))
        .bearer_auth(ADMIN_KEY)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix("qrpayd_long_polls_open "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(-1)
}

async fn until_long_polls(app: &TestApp, n: i64) {
    for _ in 0..300 {
        if long_polls_open(app).await == n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("never {n} long-polls open");
}

#[tokio::test]
async fn past_its_cap_a_registers_oldest_long_poll_gives_way() {
    let app = spawn_limited("max_wait_seconds = 60\nmax_long_polls_per_register = 2").await;
    let p = app.create_ok("sale-1").await;
    let id = p["id"].as_str().unwrap().to_owned();
    let wait = |key: &'static str| {
        let http = app.http.clone();
        let url = format!("{}/v1/payments/{id}?wait=60", app.base);
        tokio::spawn(async move {
            let r = http.get(url).bearer_auth(key).send().await.unwrap();
            r.json::<Value>().await.unwrap()
        })
    };
    let oldest = wait(KEY);
    until_long_polls(&app, 1).await;
    let second = wait(KEY);
    until_long_polls(&app, 2).await;
    // Another register's long-polls have their own slots.
    let other = app
        .request(
            reqwest::Method::POST,
            "/v1/payments",
            Some(OTHER_KEY),
            Some("pos2-sale"),
            Some(serde_json::json!({"amount": 777, "provider": "raiffeisen"}).to_string()),
        )
        .await;
    let other_id = other.body["id"].as_str().unwrap().to_owned();
    let other_wait = {
        let http = app.http.clone();
        let url = format!("{}/v1/payments/{other_id}?wait=60", app.base);
        tokio::spawn(async move {
            let r = http.get(url).bearer_auth(OTHER_KEY).send().await.unwrap();
            r.json::<Value>().await.unwrap()
        })
    };
    until_long_polls(&app, 3).await;
    assert!(!oldest.is_finished());

    // A third of pos-1's: the oldest answers at once with the current state.
    let third = wait(KEY);
    let answered = tokio::time::timeout(EVENTUALLY, oldest)
        .await
        .expect("the oldest long-poll kept waiting")
        .unwrap();
    assert_eq!(answered["status"], "pending");
    until_long_polls(&app, 3).await;
    assert!(!second.is_finished() && !third.is_finished() && !other_wait.is_finished());

    // The others still hear the outcome.
    app.customer_pays(&p).await;
    for waiting in [second, third] {
        let body = tokio::time::timeout(EVENTUALLY, waiting)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(body["status"], "paid");
    }
    app.running().payments.hub().close();
    assert_eq!(
        tokio::time::timeout(EVENTUALLY, other_wait)
            .await
            .unwrap()
            .unwrap()["status"],
        "pending"
    );
}

#[tokio::test]
async fn past_its_cap_a_registers_newest_display_stream_is_refused() {
    let app = spawn_limited("max_display_streams_per_register = 1").await;
    let url = format!("{}/display/pos-1/events?key={DISPLAY_KEY}", app.base);
    let first = app.http.get(&url).send().await.unwrap();
    assert_eq!(first.status(), 200);
    let refused = app.http.get(&url).send().await.unwrap();
    assert_eq!(refused.status(), 429);
    assert_eq!(refused.headers()["retry-after"], "5");
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"]["code"], "too_many_displays");
    // The screen already open keeps its stream; once it closes, another may open.
    drop(first);
    let mut opened = false;
    for _ in 0..300 {
        let again = app.http.get(&url).send().await.unwrap();
        if again.status() == 200 {
            opened = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(opened, "the closed stream's slot was never freed");
}

#[tokio::test]
async fn key_less_paths_are_rate_limited_per_client_and_registers_are_not() {
    let app = spawn_limited("rate_limit_per_second = 1\nrate_limit_burst = 2").await;
    let callback = |n: u32| {
        let http = app.http.clone();
        let url = format!("{}/v1/callbacks/raiffeisen", app.base);
        async move {
            http.post(url)
                .body(format!("{{\"n\": {n}}}"))
                .send()
                .await
                .unwrap()
        }
    };
    // The burst passes (refused for its signature, as any forged notification)...
    for n in 0..2 {
        assert_eq!(callback(n).await.status(), 401);
    }
    // ...then the rate applies.
    let limited = callback(3).await;
    assert_eq!(limited.status(), 429);
    assert!(limited.headers().contains_key("retry-after"));
    let body: Value = limited.json().await.unwrap();
    assert_eq!(body["error"]["code"], "rate_limited");
    let display = app
        .http
        .get(format!("{}/display/pos-1?key={DISPLAY_KEY}", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(display.status(), 429);
    // Health checks and registers are never limited by it.
    for _ in 0..5 {
        assert_eq!(healthz(&app).await, 200);
        let listed = app
            .request(reqwest::Method::GET, "/v1/payments", Some(KEY), None, None)
            .await;
        assert_eq!(listed.status, 200);
    }
}

#[tokio::test]
async fn the_admin_key_reads_every_registers_events_and_payments() {
    let app = spawn_app().await;
    let p = app.create_ok("sale-1").await;
    let events = app
        .request(
            reqwest::Method::GET,
            "/v1/events?after=0",
            Some(ADMIN_KEY),
            None,
            None,
        )
        .await;
    assert_eq!(events.status, 200);
    assert_eq!(events.body["events"][0]["data"]["id"], p["id"]);
    let payment = app
        .request(
            reqwest::Method::GET,
            &format!("/v1/payments/{}", p["id"].as_str().unwrap()),
            Some(ADMIN_KEY),
            None,
            None,
        )
        .await;
    assert_eq!(payment.status, 200);
}
