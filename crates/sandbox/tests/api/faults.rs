//! Fault injection: latency, HTTP 500, business errors, lost and duplicated callbacks.

use std::time::{Duration, Instant};

use qrpayd_sandbox::Faults;

use crate::support::{receiver, start};

#[tokio::test]
async fn faults_are_read_and_replaced_over_http() {
    let bank = start().await;
    let got = bank
        .call(reqwest::Method::GET, "/sandbox/faults", None, None)
        .await;
    assert_eq!(got.status, 200);
    assert_eq!(got.raw("latency_ms").as_deref(), Some("0"));
    let put = bank
        .set_faults(r#"{"http_500_next":3,"drop_callbacks":true}"#)
        .await;
    assert_eq!(put.status, 200, "{}", put.body);
    assert_eq!(
        bank.sandbox.faults(),
        Faults {
            http_500_next: 3,
            drop_callbacks: true,
            ..Faults::default()
        }
    );
    bank.set_faults(r#"{"http500_next":1}"#)
        .await
        .assert_error(400, "ERROR.INVALID_REQUEST");
    bank.set_faults("{}").await;
    assert_eq!(bank.sandbox.faults(), Faults::default());
}

#[tokio::test]
async fn latency_delays_api_calls() {
    let bank = start().await;
    let qr_id = bank.register_dynamic("slow", "1").await;
    bank.sandbox.set_faults(Faults {
        latency_ms: 300,
        ..Faults::default()
    });
    let started = Instant::now();
    bank.payment_info(&qr_id).await.assert_success();
    assert!(started.elapsed() >= Duration::from_millis(300));
}

#[tokio::test]
async fn http_500_for_the_next_calls() {
    let bank = start().await;
    let qr_id = bank.register_dynamic("flaky", "1").await;
    bank.sandbox.set_faults(Faults {
        http_500_next: 2,
        ..Faults::default()
    });
    // The bank's own sandbox payment call is not subject to faults.
    bank.pay(&qr_id, "1").await.assert_success();
    assert_eq!(bank.sandbox.faults().http_500_next, 2);

    bank.payment_info(&qr_id)
        .await
        .assert_error(500, "ERROR.INTERNAL");
    bank.get(&format!("/api/sbp/v2/qrs/{qr_id}"))
        .await
        .assert_error(500, "ERROR.INTERNAL");
    assert_eq!(bank.sandbox.faults().http_500_next, 0);
    let info = bank.payment_info(&qr_id).await;
    info.assert_success();
    assert_eq!(info.text("paymentStatus"), "SUCCESS");
}

#[tokio::test]
async fn business_errors_for_the_next_calls() {
    let bank = start().await;
    bank.sandbox.set_faults(Faults {
        business_error_next: 1,
        ..Faults::default()
    });
    let register = bank
        .post_open(
            "/api/sbp/v2/qrs",
            r#"{"qrType":"QRDynamic","sbpMerchantId":"MA0000000552","order":"busy","amount":1}"#,
        )
        .await;
    register.assert_error(200, "ERROR.INTERNAL");
    let overview = bank
        .call(reqwest::Method::GET, "/sandbox/qrs", None, None)
        .await;
    assert_eq!(
        overview.raw("qrs").as_deref(),
        Some("[]"),
        "nothing registered"
    );
    assert_eq!(bank.sandbox.faults().business_error_next, 0);
    bank.register_dynamic("busy", "1").await;
}

#[tokio::test]
async fn dropped_callbacks_are_never_sent() {
    let bank = start().await;
    let mut merchant = receiver(0).await;
    bank.set_callback(&merchant.url).await;
    let lost = bank.register_dynamic("lost", "1").await;
    let kept = bank.register_dynamic("kept", "2").await;

    bank.sandbox.set_faults(Faults {
        drop_callbacks: true,
        ..Faults::default()
    });
    bank.pay(&lost, "1").await.assert_success();
    bank.sandbox.set_faults(Faults::default());
    bank.pay(&kept, "2").await.assert_success();

    // The first callback to arrive is the second payment's: the first was never sent.
    let first = merchant.next().await;
    assert_eq!(first.json.text("qrId"), kept);
    // The lost payment is still visible by polling.
    assert_eq!(
        bank.payment_info(&lost).await.text("paymentStatus"),
        "SUCCESS"
    );
}

#[tokio::test]
async fn duplicated_callbacks_arrive_twice() {
    let bank = start().await;
    let mut merchant = receiver(0).await;
    bank.set_callback(&merchant.url).await;
    let twice = bank.register_dynamic("twice", "1").await;
    bank.sandbox.set_faults(Faults {
        duplicate_callbacks: true,
        ..Faults::default()
    });
    bank.pay(&twice, "1").await.assert_success();
    let first = merchant.next().await;
    let second = merchant.next().await;
    first.assert_signed();
    second.assert_signed();
    assert_eq!(first.json.body, second.json.body);
    assert_eq!(first.json.text("qrId"), twice);

    bank.sandbox.set_faults(Faults::default());
    let once = bank.register_dynamic("once", "1").await;
    bank.pay(&once, "1").await.assert_success();
    assert_eq!(merchant.next().await.json.text("qrId"), once);
}

#[tokio::test]
async fn an_ignored_deactivation_answers_done_and_leaves_the_qr_payable() {
    let bank = start().await;
    let qr_id = bank.register_dynamic("late", "10").await;
    bank.sandbox.ignore_next_deactivation(&qr_id);
    assert_eq!(
        bank.delete(&format!("/api/sbp/v2/qrs/{qr_id}"))
            .await
            .status,
        200
    );
    let status = bank.get(&format!("/api/sbp/v2/qrs/{qr_id}")).await;
    assert_eq!(status.text("qrStatus"), "NEW");
    bank.pay(&qr_id, "10").await.assert_success();
    // Once: the next deactivation of another QR is carried out as usual.
    assert!(bank.sandbox.faults().ignore_deactivation_of.is_empty());
    let other = bank.register_dynamic("on-time", "10").await;
    assert_eq!(
        bank.delete(&format!("/api/sbp/v2/qrs/{other}"))
            .await
            .status,
        200
    );
    let status = bank.get(&format!("/api/sbp/v2/qrs/{other}")).await;
    assert_eq!(status.text("qrStatus"), "CANCELLED");
}

#[tokio::test]
async fn chaos_faults_are_set_over_http_and_lose_some_calls() {
    let bank = start().await;
    let put = bank
        .set_faults(r#"{"chaos":{"seed":7,"http_500_percent":50}}"#)
        .await;
    assert_eq!(put.status, 200, "{}", put.body);
    let qr_id = bank.register_dynamic("chaos", "1").await;
    let mut failed = 0;
    for _ in 0..40 {
        if bank.payment_info(&qr_id).await.status == 500 {
            failed += 1;
        }
    }
    assert!((10..=30).contains(&failed), "{failed} of 40");
}
