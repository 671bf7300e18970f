//! The bank misbehaving at creation, and restarts in the middle of a payment.

use std::time::Duration;

use qrpayd_sandbox::Faults;
use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn bank_down_at_creation_is_a_502_and_the_payment_is_failed() {
    let app = spawn_app().await;
    app.faults(Faults {
        http_500_next: 1,
        ..Faults::default()
    });
    let a = app.create("sale-1", json!({"amount": 12345})).await;
    assert_eq!(
        (a.status, a.code()),
        (502, "bank_unavailable"),
        "{}",
        a.body
    );
    let id = a.body["payment"]["id"].as_str().unwrap();
    let body = app.get(id).await.body;
    assert_eq!(body["status"], "failed");
    assert_eq!(body["failure"]["code"], "bank_unavailable");
    // A retry with the same key gets the same answer, not a second attempt.
    let again = app.create("sale-1", json!({"amount": 12345})).await;
    assert_eq!((again.status, again.code()), (502, "bank_unavailable"));
    assert_eq!(again.body["payment"]["id"], id);
    // No job is left behind.
    assert_eq!(app.advance_and_run(Duration::from_secs(3600)).await, 0);
}

#[tokio::test]
async fn bank_timeout_at_creation_is_a_504() {
    let app = spawn_app().await;
    app.faults(Faults {
        latency_ms: 1500,
        ..Faults::default()
    });
    let a = app.create("sale-1", json!({"amount": 12345})).await;
    assert_eq!((a.status, a.code()), (504, "bank_timeout"), "{}", a.body);
    assert_eq!(a.body["payment"]["status"], "failed");
}

#[tokio::test]
async fn a_business_error_with_http_200_is_a_refusal() {
    let app = spawn_app().await;
    app.faults(Faults {
        business_error_next: 1,
        ..Faults::default()
    });
    let a = app.create("sale-1", json!({"amount": 12345})).await;
    assert_eq!((a.status, a.code()), (502, "bank_rejected"), "{}", a.body);
    assert!(
        a.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("ERROR.INTERNAL")
    );
}

#[tokio::test]
async fn polling_through_bank_errors_backs_off_and_recovers() {
    let app = spawn_app().await;
    app.faults(Faults {
        drop_callbacks: true,
        ..Faults::default()
    });
    let p = app.create_ok("sale-1").await;
    let id = p["id"].as_str().unwrap();
    app.customer_pays(&p).await;
    app.faults(Faults {
        drop_callbacks: true,
        http_500_next: 3,
        ..Faults::default()
    });
    for _ in 0..3 {
        app.advance_and_run(Duration::from_secs(20)).await;
        assert_eq!(app.status(id).await, "pending");
    }
    app.advance_and_run(Duration::from_secs(20)).await;
    assert_eq!(app.status(id).await, "paid");
}

#[tokio::test]
async fn a_restart_picks_up_a_pending_payment() {
    let mut app = spawn_app().await;
    app.faults(Faults {
        drop_callbacks: true,
        ..Faults::default()
    });
    let p = app.create_ok("sale-1").await;
    let id = p["id"].as_str().unwrap().to_owned();
    app.stop().await;
    // While qrpayd is down, the customer pays (and the notification is lost).
    app.customer_pays(&p).await;
    let db = app._db.clone();
    let restarted = spawn_with(Options {
        db: Some(db),
        sandbox: Some((app.sandbox.clone(), app.sandbox_base.clone())),
        clock: Some(app.clock.clone()),
        ..Options::default()
    })
    .await;
    assert_eq!(restarted.status(&id).await, "pending");
    restarted.advance_and_run(Duration::from_secs(2)).await;
    assert_eq!(restarted.status(&id).await, "paid");
}

#[tokio::test]
async fn a_create_interrupted_by_a_crash_is_failed_after_the_deadline() {
    let app = spawn_app().await;
    // What a crash between "saved" and "bank answered" leaves: a payment still `creating`.
    let store = app.running().payments.store().clone();
    let now = app.clock_now();
    let new = qrpayd_store::NewPayment {
        id: qrpayd_domain::ids::PaymentId::from_u128(42),
        register_id: qrpayd_domain::ids::RegisterId::parse("pos-1").unwrap(),
        idempotency_key: qrpayd_domain::ids::IdempotencyKey::parse("crashed").unwrap(),
        request_hash: "x".into(),
        amount: qrpayd_domain::money::Kopecks::new(100).unwrap(),
        currency: qrpayd_domain::money::Currency::Rub,
        provider: qrpayd_domain::ids::ProviderName::parse("raiffeisen").unwrap(),
        order: None,
        description: None,
        created_at: now,
        expires_at: now + chrono::Duration::seconds(300),
        qr_type: qrpayd_domain::payment::QrType::Dynamic,
    };
    store
        .insert_payment(&new, now + chrono::Duration::seconds(6))
        .await
        .unwrap();
    let id = new.id.as_str();
    assert_eq!(app.status(id).await, "pending");
    assert_eq!(app.advance_and_run(Duration::from_secs(3)).await, 0);
    app.advance_and_run(Duration::from_secs(4)).await;
    let body = app.get(id).await.body;
    assert_eq!(body["status"], "failed");
    assert_eq!(body["failure"]["code"], "creation_interrupted");
    assert!(body["qr"].is_null());
}
