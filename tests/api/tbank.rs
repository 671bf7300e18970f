//! The same scenarios through T-Bank (internet acquiring with SBP) against the sandbox's T-Bank
//! protocol: pay, cancel race, expiry, partial refund, late payment.

use std::time::Duration;

use qrpayd_domain::payment::{CloseReason, PaymentEvent};
use qrpayd_store::EventDetails;
use serde_json::{Value, json};

use crate::helpers::*;

async fn create(app: &TestApp, idem: &str) -> Value {
    let a = app
        .create(
            idem,
            json!({"amount": 12345, "provider": "tbank", "order": "receipt-9"}),
        )
        .await;
    assert_eq!(a.status, 201, "{}", a.body);
    assert_eq!(a.body["provider"], "tbank");
    assert!(
        a.body["qr"]["payload"]
            .as_str()
            .unwrap()
            .starts_with("https://qr.nspk.ru/")
    );
    a.body
}

fn bank_id(p: &Value) -> String {
    p["qr"]["qr_id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_tbank_payment_is_paid_cancelled_expired_and_refunded_like_any_other() {
    let app = spawn_app().await;
    // Paid: found by polling (GetState) at the poll interval.
    let paid = create(&app, "t1").await;
    app.sandbox.tbank_pay(&bank_id(&paid)).unwrap();
    app.advance_and_run(Duration::from_secs(2)).await;
    let id = paid["id"].as_str().unwrap();
    assert_eq!(app.status(id).await, "paid");

    // Partial refund (Cancel with Amount).
    let r = app.refund(id, "tr-1", json!({"amount": 2345})).await;
    assert_eq!(r.status, 201, "{}", r.body);
    for _ in 0..4 {
        app.advance_and_run(Duration::from_secs(3)).await;
    }
    assert_eq!(
        app.get_refund(r.body["id"].as_str().unwrap()).await.body["status"],
        "succeeded"
    );
    assert_eq!(app.get(id).await.body["refunded_amount"], 2345);

    // Cancel race: the customer paid, the notification has not come: cancel says so.
    let raced = create(&app, "t2").await;
    app.sandbox.tbank_pay(&bank_id(&raced)).unwrap();
    let cancel = app.cancel(raced["id"].as_str().unwrap()).await;
    assert_eq!(
        (cancel.status, cancel.code()),
        (409, "already_paid"),
        "{}",
        cancel.body
    );

    // A plain cancel deactivates the payment at T-Bank.
    let cancelled = create(&app, "t3").await;
    let c = app.cancel(cancelled["id"].as_str().unwrap()).await;
    assert_eq!(
        (c.status, c.body["status"].as_str()),
        (200, Some("cancelled")),
        "{}",
        c.body
    );
    assert_eq!(
        app.sandbox.tbank_status(&bank_id(&cancelled)).unwrap(),
        "CANCELED"
    );

    // Expiry.
    let expiring = create(&app, "t4").await;
    app.advance_and_run(Duration::from_secs(301)).await;
    assert_eq!(
        app.status(expiring["id"].as_str().unwrap()).await,
        "expired"
    );
    assert!(app.sandbox.tbank_pay(&bank_id(&expiring)).is_err());
}

#[tokio::test]
async fn a_late_tbank_payment_is_refunded_by_the_policy() {
    let app = spawn_app().await;
    let p = create(&app, "late").await;
    let id = qrpayd_domain::ids::PaymentId::parse(p["id"].as_str().unwrap()).unwrap();
    // qrpayd believes it expired; the bank still lets the customer pay.
    let d = EventDetails {
        source: "test",
        ..EventDetails::default()
    };
    let now = app.clock_now();
    let store = app.running().payments.store();
    store
        .apply_event(
            &id,
            PaymentEvent::CloseRequested(CloseReason::Expire),
            &d,
            now,
            now,
        )
        .await
        .unwrap();
    store
        .apply_event(&id, PaymentEvent::BankClosed, &d, now, now)
        .await
        .unwrap();
    app.sandbox.tbank_pay(&bank_id(&p)).unwrap();
    // The bank's notification (Token-signed, answered `OK`) reports it.
    let late = app
        .eventually_status(p["id"].as_str().unwrap(), "paid")
        .await;
    assert_eq!(
        (late["late"].as_bool(), late["late_action"].as_str()),
        (Some(true), Some("refund"))
    );
    assert_eq!(late["refunds"][0]["automatic"], true);
}
