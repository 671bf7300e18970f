//! Callbacks: shape and signature, declines, retries until HTTP 200.

use std::time::{Duration, Instant};

use crate::support::{MERCHANT, receiver, start};

#[tokio::test]
async fn a_paid_qr_sends_a_signed_callback() {
    let bank = start().await;
    let mut merchant = receiver(0).await;
    bank.set_callback(&merchant.url).await;
    let qr_id = bank.register_dynamic("cb-1", "1110.11").await;
    bank.pay(&qr_id, "1110.11").await.assert_success();

    let callback = merchant.next().await;
    callback.assert_signed();
    let n = &callback.json;
    assert_eq!(n.raw("amount").as_deref(), Some("1110.11"));
    assert_eq!(n.text("qrId"), qr_id);
    assert_eq!(n.text("sbpMerchantId"), MERCHANT);
    assert_eq!(n.text("order"), "cb-1");
    assert_eq!(n.text("paymentStatus"), "SUCCESS");
    assert_eq!(n.text("currency"), "RUB");
    assert_eq!(n.text("additionalInfo"), "касса 1");
    assert!(n.integer("merchantId") > 0);

    let info = bank.payment_info(&qr_id).await;
    assert_eq!(n.integer("transactionId"), info.integer("transactionId"));
    assert_eq!(n.text("transactionDate"), info.text("transactionDate"));
    assert_eq!(n.text("createDate"), info.text("createDate"));
}

#[tokio::test]
async fn a_declined_payment_sends_a_declined_callback() {
    let bank = start().await;
    let mut merchant = receiver(0).await;
    bank.set_callback(&merchant.url).await;
    let qr_id = bank.register_dynamic("cb-declined", "10.50").await;
    bank.post_open(
        &format!("/sandbox/qrs/{qr_id}/decline"),
        r#"{"amount":10.5}"#,
    )
    .await
    .assert_success();
    let callback = merchant.next().await;
    callback.assert_signed();
    assert_eq!(callback.json.text("paymentStatus"), "DECLINED");
    assert_eq!(callback.json.raw("amount").as_deref(), Some("10.5"));
    assert_eq!(callback.json.text("qrId"), qr_id);
}

#[tokio::test]
async fn callbacks_are_retried_until_http_200() {
    let bank = start().await;
    let mut merchant = receiver(2).await;
    bank.set_callback(&merchant.url).await;
    let qr_id = bank.register_dynamic("cb-retry", "3").await;
    let paid_at = Instant::now();
    bank.pay(&qr_id, "3").await.assert_success();

    let first = merchant.next().await;
    assert_eq!(first.json.status, 500);
    let second = merchant.next().await;
    assert_eq!(second.json.status, 500);
    let third = merchant.next().await;
    assert_eq!(third.json.status, 200);
    // Back-off of 0.2 s then 0.5 s between the attempts.
    assert!(paid_at.elapsed() >= Duration::from_millis(700));
    assert_eq!(first.json.body, third.json.body);
    assert_eq!(first.signature, third.signature);
    third.assert_signed();
}

#[tokio::test]
async fn static_qr_without_amount_signs_what_was_paid() {
    let bank = start().await;
    let mut merchant = receiver(0).await;
    bank.set_callback(&merchant.url).await;
    let register = bank
        .post_open(
            "/api/sbp/v1/qr/register",
            &format!(r#"{{"qrType":"QRStatic","sbpMerchantId":"{MERCHANT}","order":"cb-static"}}"#),
        )
        .await;
    let qr_id = register.text("qrId");
    bank.pay(&qr_id, "100.00").await.assert_success();
    let callback = merchant.next().await;
    callback.assert_signed();
    assert_eq!(callback.json.raw("amount").as_deref(), Some("100"));
    assert_eq!(callback.json.raw("additionalInfo").as_deref(), Some("null"));
}
