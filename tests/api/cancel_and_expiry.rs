//! Cancel (and its race with a payment) and expiry, with business time moved by hand.

use std::time::Duration;

use qrpayd_sandbox::Faults;

use crate::helpers::*;

#[tokio::test]
async fn the_cashier_cancels_and_the_qr_is_deactivated_at_the_bank() {
    let app = spawn_app().await;
    let p = app.create_ok("sale-1").await;
    let id = p["id"].as_str().unwrap();
    let a = app.cancel(id).await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.body["status"], "cancelled");
    assert_eq!(app.bank_qr_status(&p).await, "CANCELLED");
    // The customer can no longer pay it.
    let qr_id = p["qr"]["qr_id"].as_str().unwrap();
    assert!(
        app.sandbox
            .pay(qr_id, qrpayd_domain::money::Kopecks::new(12345).unwrap())
            .await
            .is_err()
    );
    // Cancel is idempotent.
    let again = app.cancel(id).await;
    assert_eq!(
        (again.status, again.body["status"].as_str()),
        (200, Some("cancelled"))
    );
    assert_eq!(
        app.history(id).await,
        ["creating", "pending", "cancelling", "cancelled"]
    );
}

#[tokio::test]
async fn cancel_after_the_customer_paid_says_so_and_carries_the_paid_payment() {
    let app = spawn_app().await;
    // The callback is lost: qrpayd still thinks the payment is pending when the cashier cancels.
    app.faults(Faults {
        drop_callbacks: true,
        ..Faults::default()
    });
    let p = app.create_ok("sale-1").await;
    let id = p["id"].as_str().unwrap();
    app.customer_pays(&p).await;
    assert_eq!(app.status(id).await, "pending");
    let a = app.cancel(id).await;
    assert_eq!((a.status, a.code()), (409, "already_paid"), "{}", a.body);
    assert_eq!(a.body["payment"]["status"], "paid");
    assert_eq!(a.body["payment"]["late"], false);
    assert_eq!(app.status(id).await, "paid");
    // A second cancel gives the same answer.
    let again = app.cancel(id).await;
    assert_eq!((again.status, again.code()), (409, "already_paid"));
}

#[tokio::test]
async fn an_unpaid_qr_expires_on_its_own() {
    let app = spawn_app().await;
    let p = app.create_ok("sale-1").await;
    let id = p["id"].as_str().unwrap();
    // Routine polls until the lifetime ends.
    for _ in 0..3 {
        app.advance_and_run(Duration::from_secs(2)).await;
        assert_eq!(app.status(id).await, "pending");
    }
    app.advance_and_run(Duration::from_secs(300)).await;
    assert_eq!(app.status(id).await, "expired");
    // The bank reads the same clock: its QR ran out at the same moment as ours.
    assert_eq!(app.bank_qr_status(&p).await, "EXPIRED");
    assert_eq!(
        app.history(id).await,
        ["creating", "pending", "expiring", "expired"]
    );
    let a = app.cancel(id).await;
    assert_eq!((a.status, a.code()), (409, "payment_not_cancellable"));
    // The late watch takes its last look once the QR's expiry at the bank has passed; then
    // nothing is left to do.
    assert_eq!(app.advance_and_run(Duration::from_secs(3600)).await, 1);
    assert_eq!(app.advance_and_run(Duration::from_secs(3600)).await, 0);
}

#[tokio::test]
async fn a_payment_racing_the_expiry_is_paid_not_expired() {
    let app = spawn_app().await;
    app.faults(Faults {
        drop_callbacks: true,
        ..Faults::default()
    });
    let p = app.create_ok("sale-1").await;
    let id = p["id"].as_str().unwrap();
    // The customer pays in the last second; qrpayd learns it only at expiry's re-check.
    app.clock.advance(chrono::Duration::seconds(299));
    app.customer_pays(&p).await;
    app.advance_and_run(Duration::from_secs(1)).await;
    let body = app.get(id).await.body;
    assert_eq!(body["status"], "paid");
    assert_eq!(body["late"], false);
}

#[tokio::test]
async fn a_cancel_the_bank_cannot_confirm_is_finished_in_the_background() {
    let app = spawn_app().await;
    let p = app.create_ok("sale-1").await;
    let id = p["id"].as_str().unwrap();
    app.faults(Faults {
        http_500_next: 10,
        ..Faults::default()
    });
    let a = app.cancel(id).await;
    assert_eq!(
        (a.status, a.code()),
        (502, "bank_unavailable"),
        "{}",
        a.body
    );
    assert_eq!(a.body["payment"]["status"], "pending");
    // The bank comes back; the worker finishes the cancellation.
    app.faults(Faults::default());
    app.advance_and_run(Duration::from_secs(1)).await;
    assert_eq!(app.status(id).await, "cancelled");
    assert_eq!(app.bank_qr_status(&p).await, "CANCELLED");
}

#[tokio::test]
async fn a_timeout_while_cancelling_is_a_504_and_nothing_is_stuck() {
    let app = spawn_app().await;
    let p = app.create_ok("sale-1").await;
    let id = p["id"].as_str().unwrap();
    app.faults(Faults {
        latency_ms: 1500,
        ..Faults::default()
    });
    let a = app.cancel(id).await;
    assert_eq!((a.status, a.code()), (504, "bank_timeout"), "{}", a.body);
    app.faults(Faults::default());
    // Retries back off; within a minute of business time it is settled.
    for _ in 0..6 {
        app.advance_and_run(Duration::from_secs(10)).await;
    }
    assert_eq!(app.status(id).await, "cancelled");
}
