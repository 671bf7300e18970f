//! Fallback: a register that lists providers in order gets the first available one, and a
//! dynamic-QR create whose bank fails before any QR exists moves to the next (connection
//! refused, no answer in time, a server error, the bank's own internal error). A provider that
//! keeps failing is skipped until a probe after its down time succeeds. A provider named in
//! the request is exactly that provider; a payment keeps the bank that took it, for refunds too.

use std::time::Duration;

use qrpayd_sandbox::Faults;
use serde_json::{Value, json};

use crate::helpers::*;

const FALLBACK_KEY: &str = "pos-f-fallback-key-0123456789";

/// A port nothing listens on (yet).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A listener that accepts connections and never answers.
async fn black_hole() -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    port
}

/// qrpayd with register `pos-f` listing `providers`, and a provider `flaky` (Raiffeisen's
/// protocol) at `flaky_url`.
async fn spawn_listing(providers: &[&str], flaky_url: &str) -> TestApp {
    let list = providers
        .iter()
        .map(|p| format!("{p:?}"))
        .collect::<Vec<_>>()
        .join(", ");
    let extra = format!(
        r#"
[[registers]]
id = "pos-f"
api_key = "{FALLBACK_KEY}"
providers = [{list}]

[[providers]]
name = "flaky"
kind = "raiffeisen"
base_url = "{flaky_url}"
sbp_merchant_id = "{MERCHANT}"
secret_key = "{SECRET}"
poll_interval_ms = 2000
"#
    );
    spawn_with(Options {
        extra_config: Some(extra),
        ..Options::default()
    })
    .await
}

async fn create(app: &TestApp, idem: &str, body: Value) -> Answer {
    app.request(
        reqwest::Method::POST,
        "/v1/payments",
        Some(FALLBACK_KEY),
        Some(idem),
        Some(body.to_string()),
    )
    .await
}

async fn history_lines(app: &TestApp, id: &str) -> Vec<String> {
    app.history(id).await
}

async fn readyz(app: &TestApp) -> Value {
    app.request(reqwest::Method::GET, "/readyz", None, None, None)
        .await
        .body
}

#[tokio::test]
async fn a_create_moves_to_the_next_provider_when_the_first_refuses_connections() {
    let closed = format!("http://127.0.0.1:{}", free_port());
    let app = spawn_listing(&["flaky", "tbank"], &closed).await;
    let a = create(&app, "sale-1", json!({"amount": 5_000})).await;
    assert_eq!(a.status, 201, "{}", a.body);
    assert_eq!(a.body["provider"], "tbank");
    let id = a.body["id"].as_str().unwrap();
    assert_eq!(
        history_lines(&app, id).await,
        ["creating", "creating", "pending"],
        "the move is in the payment's history"
    );
    // The bank that took it is the payment's bank: paid and refunded there.
    app.sandbox
        .tbank_pay(a.body["qr"]["qr_id"].as_str().unwrap())
        .unwrap();
    app.advance_and_run(Duration::from_secs(2)).await;
    let r = app
        .request(
            reqwest::Method::POST,
            &format!("/v1/payments/{id}/refunds"),
            Some(FALLBACK_KEY),
            Some("ret-1"),
            Some(json!({"amount": 1_000}).to_string()),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    for _ in 0..4 {
        app.advance_and_run(Duration::from_secs(3)).await;
    }
    let paid = app
        .request(
            reqwest::Method::GET,
            &format!("/v1/payments/{id}"),
            Some(FALLBACK_KEY),
            None,
            None,
        )
        .await
        .body;
    assert_eq!(
        (&paid["status"], &paid["refunded_amount"]),
        (&json!("paid"), &json!(1_000))
    );
    assert_eq!(
        app.sandbox
            .tbank_status(a.body["qr"]["qr_id"].as_str().unwrap())
            .unwrap(),
        "PARTIAL_REFUNDED"
    );
    // A retry of the same sale is the same payment: one QR for one sale.
    let again = create(&app, "sale-1", json!({"amount": 5_000})).await;
    assert_eq!((again.status, &again.body["id"]), (201, &a.body["id"]));
}

#[tokio::test]
async fn a_bank_that_does_not_answer_in_time_is_left_for_the_next() {
    let silent = format!("http://127.0.0.1:{}", black_hole().await);
    let app = spawn_listing(&["flaky", "tbank"], &silent).await;
    let a = create(&app, "sale-1", json!({"amount": 5_000})).await;
    assert_eq!(
        (a.status, &a.body["provider"]),
        (201, &json!("tbank")),
        "{}",
        a.body
    );
}

#[tokio::test]
async fn server_errors_and_the_banks_own_internal_errors_move_the_create() {
    let app = spawn_listing(&["raiffeisen", "tbank"], "http://127.0.0.1:9").await;
    for (n, faults) in [
        Faults {
            http_500_next: 1,
            ..Faults::default()
        },
        Faults {
            business_error_next: 1,
            ..Faults::default()
        },
    ]
    .into_iter()
    .enumerate()
    {
        app.faults(faults);
        let a = create(&app, &format!("sale-{n}"), json!({"amount": 5_000})).await;
        assert_eq!(
            (a.status, &a.body["provider"]),
            (201, &json!("tbank")),
            "{}",
            a.body
        );
    }
    // Without a fault the first choice takes it.
    app.faults(Faults::default());
    let a = create(&app, "sale-ok", json!({"amount": 5_000})).await;
    assert_eq!((a.status, &a.body["provider"]), (201, &json!("raiffeisen")));
}

#[tokio::test]
async fn a_provider_named_in_the_request_is_never_swapped() {
    let closed = format!("http://127.0.0.1:{}", free_port());
    let app = spawn_listing(&["flaky", "tbank"], &closed).await;
    let a = create(
        &app,
        "sale-1",
        json!({"amount": 5_000, "provider": "flaky"}),
    )
    .await;
    assert_eq!(
        (a.status, a.code()),
        (502, "bank_unavailable"),
        "{}",
        a.body
    );
    assert_eq!(a.body["payment"]["provider"], "flaky");
}

#[tokio::test]
async fn a_failing_provider_goes_down_is_skipped_and_comes_back_through_a_probe() {
    let port = free_port();
    let app = spawn_listing(&["flaky", "tbank"], &format!("http://127.0.0.1:{port}")).await;
    // Creates try `flaky` first, fail, and move to T-Bank, until three failed calls in a row
    // take it down.
    let mut n = 0;
    let health = loop {
        let a = create(&app, &format!("sale-{n}"), json!({"amount": 5_000})).await;
        assert_eq!(a.body["provider"], "tbank");
        let id = a.body["id"].as_str().unwrap();
        assert_eq!(history_lines(&app, id).await.len(), 3, "tried flaky first");
        let health = readyz(&app).await;
        if health["providers"]["flaky"]["state"] == "down" {
            break health;
        }
        n += 1;
        assert!(n < 3, "{health}");
    };
    assert!(
        health["providers"]["flaky"]["consecutive_failures"]
            .as_u64()
            .unwrap()
            >= 3
    );
    assert_eq!(health["providers"]["tbank"]["state"], "up");
    // While it is down, creates go straight to T-Bank.
    let a = create(&app, "sale-3", json!({"amount": 5_000})).await;
    assert_eq!(a.body["provider"], "tbank");
    assert_eq!(
        history_lines(&app, a.body["id"].as_str().unwrap()).await,
        ["creating", "pending"]
    );
    // The bank comes back (the sandbox now answers on that port too); after the down time
    // the next create is the probe, it succeeds, and `flaky` is up again.
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap();
    tokio::spawn(qrpayd_sandbox::serve(
        listener,
        app.sandbox.clone(),
        std::future::pending(),
    ));
    app.clock.advance(chrono::TimeDelta::seconds(30));
    let a = create(&app, "sale-4", json!({"amount": 5_000})).await;
    assert_eq!(
        (a.status, &a.body["provider"]),
        (201, &json!("flaky")),
        "{}",
        a.body
    );
    assert_eq!(readyz(&app).await["providers"]["flaky"]["state"], "up");
}

#[tokio::test]
async fn a_cash_register_payment_never_moves() {
    // The link is printed for one bank: its activation cannot go elsewhere.
    let closed = format!("http://127.0.0.1:{}", free_port());
    let app = spawn_listing(&["flaky", "tbank"], &closed).await;
    let a = create(
        &app,
        "sale-1",
        json!({"amount": 5_000, "qr_type": "cash_register"}),
    )
    .await;
    assert_ne!(a.status, 201, "{}", a.body);
    assert_ne!(a.body["payment"]["provider"], "tbank", "{}", a.body);
}
