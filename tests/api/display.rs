//! The customer display over HTTP: the page, its server-sent events, what a display key may
//! see (its register's current payment: amount, QR, status, time left; nothing else), the
//! re-sync on reconnect, and that stopping qrpayd ends the streams. The browser itself is
//! tested in `tests/display.rs`.

use std::time::Duration;

use serde_json::Value;

use crate::helpers::*;

/// A display's event stream, read with plain HTTP.
struct Events {
    response: reqwest::Response,
    buffer: String,
    /// Everything received, for "nothing leaked" checks.
    seen: String,
}

/// One `state` event.
#[derive(Debug)]
struct State {
    id: String,
    data: Value,
}

impl Events {
    async fn open(app: &TestApp, last_event_id: Option<&str>) -> Events {
        let mut request = app.http.get(format!(
            "{}/display/pos-1/events?key={DISPLAY_KEY}",
            app.base
        ));
        if let Some(id) = last_event_id {
            request = request.header("Last-Event-ID", id);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(
            response.headers()["content-type"].to_str().unwrap(),
            "text/event-stream"
        );
        Events {
            response,
            buffer: String::new(),
            seen: String::new(),
        }
    }

    /// The next `state` event within `within`, or `None` (also when the stream ended).
    async fn next(&mut self, within: Duration) -> Option<State> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let mut id = String::new();
                let mut data = None;
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("id: ") {
                        id = v.to_owned();
                    } else if let Some(v) = line.strip_prefix("data: ") {
                        data = Some(serde_json::from_str(v).unwrap());
                    }
                }
                if let Some(data) = data {
                    assert!(block.contains("event: state\n"), "{block}");
                    return Some(State { id, data });
                }
                continue; // a keep-alive comment
            }
            let chunk = tokio::time::timeout_at(deadline, self.response.chunk()).await;
            match chunk {
                Ok(Ok(Some(bytes))) => {
                    let text = String::from_utf8(bytes.to_vec()).unwrap();
                    self.seen.push_str(&text);
                    self.buffer.push_str(&text);
                }
                Ok(Ok(None)) | Err(_) => return None,
                Ok(Err(e)) => panic!("stream broke: {e}"),
            }
        }
    }

    /// The next `state` event that is not `idle` (a display may show idle for a moment while a
    /// new payment's QR is issued, when the previous QR was still on screen).
    async fn wait_past_idle(&mut self, status: &str) -> State {
        loop {
            let state = self.wait_for_any().await;
            if state.data["status"] != "idle" {
                assert_eq!(state.data["status"], status, "{:?}", state.data);
                return state;
            }
        }
    }

    async fn wait_for_any(&mut self) -> State {
        self.next(Duration::from_secs(5))
            .await
            .unwrap_or_else(|| panic!("no event"))
    }

    async fn wait_for(&mut self, status: &str) -> State {
        let state = self
            .next(Duration::from_secs(5))
            .await
            .unwrap_or_else(|| panic!("no `{status}` event"));
        assert_eq!(state.data["status"], status, "{:?}", state.data);
        state
    }
}

#[tokio::test]
async fn a_display_follows_its_registers_payment_from_qr_to_paid() {
    let app = spawn_app().await;
    let mut events = Events::open(&app, None).await;
    let idle = events.wait_for("idle").await;
    assert_eq!(idle.data, serde_json::json!({"status": "idle"}));
    assert_eq!(idle.id, "idle");

    let p = app.create_ok("sale-1").await;
    let pending = events.wait_for("pending").await;
    let d = &pending.data;
    assert_eq!(d["amount"], 12345);
    assert_eq!(d["amount_rubles"], "123.45");
    assert_eq!(d["currency"], "RUB");
    assert_eq!(d["qr"]["payload"], p["qr"]["payload"]);
    assert!(d["qr"]["svg"].as_str().unwrap().starts_with("<svg "));
    assert_eq!(d["expires_at"], p["expires_at"]);
    // Business time stands still in these tests: the whole lifetime is left.
    assert_eq!(d["expires_in_ms"], 300_000);
    let keys: Vec<&String> = d.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "amount",
            "amount_rubles",
            "currency",
            "expires_at",
            "expires_in_ms",
            "qr",
            "status"
        ]
    );

    app.customer_pays(&p).await;
    let paid = events.wait_for("paid").await;
    assert_eq!(paid.data["amount"], 12345);
    assert!(paid.data.get("qr").is_none());

    // What a display key saw: no payment id, no receipt, no QR id outside the payload.
    let id = p["id"].as_str().unwrap();
    assert!(!events.seen.contains(id), "{}", events.seen);
    assert!(!events.seen.contains("receipt-1"), "{}", events.seen);
    assert!(
        !events.seen.contains(&id["pay_".len()..]),
        "{}",
        events.seen
    );

    // The outcome stays up for 10 s, then a (re)connecting display shows idle.
    let mut again = Events::open(&app, None).await;
    again.wait_for("paid").await;
    app.clock.advance(chrono::Duration::seconds(11));
    let mut later = Events::open(&app, None).await;
    later.wait_for("idle").await;
}

#[tokio::test]
async fn a_reconnect_resyncs_and_skips_what_the_display_already_shows() {
    let app = spawn_app().await;
    let p = app.create_ok("sale-1").await;
    let mut first = Events::open(&app, None).await;
    let pending = first.wait_for("pending").await;
    drop(first);

    // Same screen as last seen (Last-Event-ID): nothing is repeated.
    let mut same = Events::open(&app, Some(&pending.id)).await;
    assert!(same.next(Duration::from_millis(500)).await.is_none());
    // A change while it was away is sent at once.
    assert_eq!(app.cancel(p["id"].as_str().unwrap()).await.status, 200);
    same.wait_for("cancelled").await;

    // A stale Last-Event-ID gets the current screen.
    let mut stale = Events::open(&app, Some(&pending.id)).await;
    stale.wait_for("cancelled").await;
}

#[tokio::test]
async fn another_registers_payments_never_reach_the_display() {
    let app = spawn_app().await;
    let mut events = Events::open(&app, None).await;
    events.wait_for("idle").await;
    let other = app
        .request(
            reqwest::Method::POST,
            "/v1/payments",
            Some(OTHER_KEY),
            Some("pos2-sale"),
            Some(serde_json::json!({"amount": 777, "provider": "raiffeisen"}).to_string()),
        )
        .await;
    assert_eq!(other.status, 201);
    assert!(events.next(Duration::from_millis(500)).await.is_none());
    app.create_ok("sale-1").await;
    assert_eq!(events.wait_for("pending").await.data["amount"], 12345);
    // A newer payment replaces the one on screen.
    let second = app
        .create(
            "sale-2",
            serde_json::json!({"amount": 500, "provider": "raiffeisen"}),
        )
        .await;
    assert_eq!(second.status, 201);
    assert_eq!(events.wait_past_idle("pending").await.data["amount"], 500);
}

#[tokio::test]
async fn only_the_display_key_of_that_register_opens_the_display() {
    let app = spawn_app().await;
    let get = |path: String| {
        let http = app.http.clone();
        let url = format!("{}{path}", app.base);
        async move { http.get(url).send().await.unwrap() }
    };

    let page = get(format!("/display/pos-1?key={DISPLAY_KEY}&lang=en")).await;
    assert_eq!(page.status(), 200);
    let headers = page.headers().clone();
    assert_eq!(headers["content-type"], "text/html; charset=utf-8");
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(headers["referrer-policy"], "no-referrer");
    assert!(
        headers["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("default-src 'none'")
    );
    let html = page.text().await.unwrap();
    assert!(html.contains("../assets/display.js"));
    // The page carries no key and no data: it is the same for every display.
    assert!(!html.contains(DISPLAY_KEY) && !html.contains(KEY));

    for wrong in [
        format!("/display/pos-1?key={KEY}"),
        format!("/display/pos-1?key={ADMIN_KEY}"),
        "/display/pos-1?key=guess-guess-guess-guess".to_owned(),
        "/display/pos-1".to_owned(),
        format!("/display/pos-2?key={DISPLAY_KEY}"),
        format!("/display/pos-9?key={DISPLAY_KEY}"),
    ] {
        let page = get(wrong.clone()).await;
        assert_eq!(page.status(), 404, "{wrong}");
        assert!(
            page.text().await.unwrap().contains("display_key"),
            "{wrong}"
        );
        let events = match wrong.split_once('?') {
            Some((path, query)) => get(format!("{path}/events?{query}")).await,
            None => get(format!("{wrong}/events")).await,
        };
        assert_eq!(events.status(), 404, "{wrong}");
        let body: Value = events.json().await.unwrap();
        assert_eq!(body["error"]["code"], "unknown_display", "{wrong}");
    }
    // An API key does not open a display, and a display key is not an API key.
    let p = app.create_ok("sale-1").await;
    let as_register = app
        .request(
            reqwest::Method::GET,
            &format!("/v1/payments/{}", p["id"].as_str().unwrap()),
            Some(DISPLAY_KEY),
            None,
            None,
        )
        .await;
    assert_eq!(as_register.status, 401);

    // The pages' own assets, and nothing else.
    for (name, content_type) in [
        ("display.js", "text/javascript; charset=utf-8"),
        ("display.css", "text/css; charset=utf-8"),
        ("demo.js", "text/javascript; charset=utf-8"),
        ("demo.css", "text/css; charset=utf-8"),
    ] {
        let asset = get(format!("/assets/{name}")).await;
        assert_eq!(asset.status(), 200, "{name}");
        assert_eq!(asset.headers()["content-type"], content_type, "{name}");
    }
    let missing = get("/assets/..%2FCargo.toml".to_owned()).await;
    assert_eq!(missing.status(), 404);
    // No [sandbox] in this configuration: no demo page.
    let demo = get("/demo".to_owned()).await;
    assert_eq!(demo.status(), 404);
    let body: Value = demo.json().await.unwrap();
    assert_eq!(body["error"]["code"], "not_found");
}

#[tokio::test]
async fn stopping_qrpayd_ends_the_display_streams() {
    let mut app = spawn_app().await;
    let mut events = Events::open(&app, None).await;
    events.wait_for("idle").await;
    tokio::time::timeout(Duration::from_secs(5), app.stop())
        .await
        .expect("shutdown waited for an open display stream");
    assert!(events.next(Duration::from_secs(2)).await.is_none());
}
