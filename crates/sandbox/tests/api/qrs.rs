//! QR life cycle: register (v1, v2, dynamic, static), status, payment-info, pay, cancel,
//! expire, decline, the overview list, and exact amounts.

// fixed-dates: dates here are inputs (bank vectors, malformed dates, the manual clock's start);
// the code under test gets its time from the test, never from the wall clock.

use chrono::{DateTime, TimeDelta};
use qrpayd_domain::nspk::crc_matches;

use crate::support::{MERCHANT, start};

fn assert_qr_id(qr_id: &str, prefix: &str) {
    assert_eq!(qr_id.len(), 32, "{qr_id}");
    assert!(qr_id.starts_with(prefix), "{qr_id}");
    assert!(
        qr_id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'A'..=b'V').contains(&b)),
        "{qr_id}"
    );
}

fn assert_bank_timestamp(text: &str) {
    // 2020-07-24T17:20:00.999232+03:00
    assert_eq!(text.len(), 32, "{text}");
    assert!(text.ends_with("+03:00"), "{text}");
    assert!(DateTime::parse_from_rfc3339(text).is_ok(), "{text}");
}

#[tokio::test]
async fn register_then_pay_then_payment_info() {
    let bank = start().await;
    let register = bank
        .post_open(
            "/api/sbp/v2/qrs",
            &format!(
                r#"{{"qrType":"QRDynamic","sbpMerchantId":"{MERCHANT}","order":"1-22-333","amount":1110.11,"currency":"RUB","qrExpirationDate":"{}","paymentDetails":"Назначение","additionalInfo":"Доп"}}"#,
                bank.expires_in(30)
            ),
        )
        .await;
    register.assert_success();
    let qr_id = register.text("qrId");
    assert_qr_id(&qr_id, "AD1");
    let payload = register.text("payload");
    assert!(
        payload.starts_with(&format!(
            "https://qr.nspk.ru/{qr_id}?type=02&bank=100000000007&sum=111011&cur=RUB&crc="
        )),
        "{payload}"
    );
    assert_eq!(crc_matches(&payload), Some(true));
    assert!(
        register
            .text("qrUrl")
            .ends_with(&format!("/api/sbp/v1/qr/{qr_id}/image"))
    );

    let info = bank.payment_info(&qr_id).await;
    info.assert_success();
    assert_eq!(info.text("paymentStatus"), "NO_INFO");
    assert_eq!(info.raw("amount").as_deref(), Some("1110.11"));
    assert_eq!(info.raw("transactionId"), None);
    assert_eq!(info.raw("transactionDate"), None);
    assert_eq!(info.text("order"), "1-22-333");
    assert_eq!(info.text("sbpMerchantId"), MERCHANT);
    assert_eq!(info.text("currency"), "RUB");
    assert_eq!(info.text("paymentPurpose"), "Назначение");
    assert_eq!(info.text("additionalInfo"), "Доп");
    assert!(info.integer("merchantId") > 0);
    assert_bank_timestamp(&info.text("createDate"));

    let status = bank.get(&format!("/api/sbp/v2/qrs/{qr_id}")).await;
    status.assert_bare_success();
    assert_eq!(status.text("qrStatus"), "NEW");
    assert_eq!(status.text("payload"), payload);

    let pay = bank.pay(&qr_id, "1110.11").await;
    pay.assert_success();

    let info = bank.payment_info(&qr_id).await;
    info.assert_success();
    assert_eq!(info.text("paymentStatus"), "SUCCESS");
    assert_eq!(info.raw("amount").as_deref(), Some("1110.11"));
    let first_tx = info.integer("transactionId");
    assert_bank_timestamp(&info.text("transactionDate"));

    let status = bank.get(&format!("/api/sbp/v2/qrs/{qr_id}")).await;
    assert_eq!(status.text("qrStatus"), "PAID");

    // A second paid QR gets a larger transactionId.
    let second = bank.register_dynamic("order-2", "5").await;
    bank.pay(&second, "5").await.assert_success();
    assert!(bank.payment_info(&second).await.integer("transactionId") > first_tx);

    // Paying twice is refused.
    bank.pay(&qr_id, "1110.11")
        .await
        .assert_error(400, "ERROR.QR_NOT_PAYABLE");
}

#[tokio::test]
async fn v1_register_info_and_a_static_qr_paid_twice() {
    let bank = start().await;
    let register = bank
        .post_open(
            "/api/sbp/v1/qr/register",
            &format!(r#"{{"qrType":"QRStatic","sbpMerchantId":"{MERCHANT}","order":"shelf-7"}}"#),
        )
        .await;
    register.assert_success();
    let qr_id = register.text("qrId");
    assert_qr_id(&qr_id, "AS1");
    let payload = register.text("payload");
    assert!(
        payload.contains("type=01&bank=100000000007&crc="),
        "{payload}"
    );
    assert!(!payload.contains("sum="));

    let info = bank.get(&format!("/api/sbp/v1/qr/{qr_id}/info")).await;
    info.assert_success();
    assert_eq!(info.text("qrId"), qr_id);
    assert_eq!(info.text("payload"), payload);
    assert_eq!(info.text("qrUrl"), register.text("qrUrl"));

    let status = bank.get(&format!("/api/sbp/v2/qrs/{qr_id}")).await;
    assert_eq!(status.raw("qrExpirationDate"), None);

    let payment_info = bank.payment_info(&qr_id).await;
    assert_eq!(payment_info.text("paymentStatus"), "NO_INFO");
    assert_eq!(payment_info.raw("amount"), None);

    bank.sandbox
        .pay(&qr_id, qrpayd_domain::money::Kopecks::new(550).unwrap())
        .await
        .unwrap();
    bank.pay(&qr_id, "7").await.assert_success();
    let payment_info = bank.payment_info(&qr_id).await;
    assert_eq!(payment_info.text("paymentStatus"), "SUCCESS");
    assert_eq!(payment_info.raw("amount").as_deref(), Some("7"));
    let status = bank.get(&format!("/api/sbp/v2/qrs/{qr_id}")).await;
    assert_eq!(status.text("qrStatus"), "NEW");
}

#[tokio::test]
async fn dynamic_qr_without_expiry_lives_three_days() {
    let bank = start().await;
    let before = bank.now();
    let register = bank
        .post_open(
            "/api/sbp/v2/qrs",
            &format!(
                r#"{{"qrType":"QRDynamic","sbpMerchantId":"{MERCHANT}","order":"o","amount":1,"currency":"RUB"}}"#
            ),
        )
        .await;
    register.assert_success();
    let status = bank
        .get(&format!("/api/sbp/v2/qrs/{}", register.text("qrId")))
        .await;
    let expires = DateTime::parse_from_rfc3339(&status.text("qrExpirationDate")).unwrap();
    let after = bank.now();
    assert!(expires >= before + TimeDelta::days(3) - TimeDelta::seconds(1));
    assert!(expires <= after + TimeDelta::days(3));
}

#[tokio::test]
async fn cancel_a_qr() {
    let bank = start().await;
    let qr_id = bank.register_dynamic("cancel-me", "10").await;
    let path = format!("/api/sbp/v2/qrs/{qr_id}");

    let deleted = bank.delete(&path).await;
    assert_eq!(deleted.status, 200);
    assert_eq!(deleted.body, "");
    assert_eq!(bank.get(&path).await.text("qrStatus"), "CANCELLED");
    assert_eq!(bank.delete(&path).await.status, 200);
    bank.pay(&qr_id, "10")
        .await
        .assert_error(400, "ERROR.QR_NOT_PAYABLE");

    let paid = bank.register_dynamic("paid", "10").await;
    bank.pay(&paid, "10").await.assert_success();
    bank.delete(&format!("/api/sbp/v2/qrs/{paid}"))
        .await
        .assert_error(400, "ERROR.QR_ALREADY_PAID");

    let message = bank
        .delete("/api/sbp/v2/qrs/AD1000000000000000000000000NONE")
        .await
        .assert_error(404, "ERROR.NOT_FOUND");
    assert_eq!(message, "QR-код не найден у данного партнера");
}

#[tokio::test]
async fn an_expired_qr_cannot_be_paid() {
    let bank = start().await;
    let qr_id = bank.register_dynamic("late", "10").await;
    let expired = bank
        .post_open(&format!("/sandbox/qrs/{qr_id}/expire"), "")
        .await;
    expired.assert_bare_success();
    assert_eq!(expired.text("qrStatus"), "EXPIRED");
    let path = format!("/api/sbp/v2/qrs/{qr_id}");
    assert_eq!(bank.get(&path).await.text("qrStatus"), "EXPIRED");
    let message = bank
        .pay(&qr_id, "10")
        .await
        .assert_error(400, "ERROR.QR_NOT_PAYABLE");
    assert!(message.contains("EXPIRED"), "{message}");
    assert_eq!(bank.delete(&path).await.status, 200);
    assert_eq!(bank.get(&path).await.text("qrStatus"), "EXPIRED");
    assert_eq!(
        bank.payment_info(&qr_id).await.text("paymentStatus"),
        "NO_INFO"
    );
}

#[tokio::test]
async fn a_declined_attempt_then_a_payment() {
    let bank = start().await;
    let qr_id = bank.register_dynamic("declined", "99.9").await;
    bank.post_open(&format!("/sandbox/qrs/{qr_id}/decline"), "")
        .await
        .assert_success();
    let info = bank.payment_info(&qr_id).await;
    assert_eq!(info.text("paymentStatus"), "DECLINED");
    assert_eq!(info.raw("amount").as_deref(), Some("99.9"));
    let declined_tx = info.integer("transactionId");
    assert_bank_timestamp(&info.text("transactionDate"));
    let path = format!("/api/sbp/v2/qrs/{qr_id}");
    assert_eq!(bank.get(&path).await.text("qrStatus"), "NEW");

    bank.pay(&qr_id, "99.90").await.assert_success();
    let info = bank.payment_info(&qr_id).await;
    assert_eq!(info.text("paymentStatus"), "SUCCESS");
    assert!(info.integer("transactionId") > declined_tx);

    bank.post_open(&format!("/sandbox/qrs/{qr_id}/decline"), "")
        .await
        .assert_error(400, "ERROR.QR_NOT_PAYABLE");
    bank.post_open("/sandbox/qrs/NOPE/decline", "")
        .await
        .assert_error(404, "ERROR.NOT_FOUND");
}

#[tokio::test]
async fn amounts_round_trip_exactly() {
    let bank = start().await;
    for (sent, canonical, kopecks) in [
        ("1110.11", "1110.11", "111011"),
        ("10.50", "10.5", "1050"),
        ("0.01", "0.01", "1"),
        ("100", "100", "10000"),
        ("100.00", "100", "10000"),
        ("123456789.99", "123456789.99", "12345678999"),
    ] {
        let qr_id = bank.register_dynamic("amounts", sent).await;
        let status = bank.get(&format!("/api/sbp/v2/qrs/{qr_id}")).await;
        assert!(
            status
                .text("payload")
                .contains(&format!("&sum={kopecks}&cur=RUB")),
            "{sent}"
        );
        assert_eq!(
            bank.payment_info(&qr_id).await.raw("amount").as_deref(),
            Some(canonical)
        );
    }
    let overview = bank
        .call(reqwest::Method::GET, "/sandbox/qrs", None, None)
        .await;
    assert_eq!(overview.status, 200);
    assert!(
        overview.body.contains(r#""amount":1110.11"#),
        "{}",
        overview.body
    );
    assert!(overview.body.contains(r#""amount":10.5"#));
}

#[tokio::test]
async fn overview_lists_qrs_and_refunds() {
    let bank = start().await;
    let first = bank.register_dynamic("listed-1", "1").await;
    let second = bank.register_dynamic("listed-2", "2").await;
    bank.pay(&second, "2").await.assert_success();
    bank.post(
        "/api/sbp/v1/refund",
        r#"{"amount":1,"order":"listed-2","refundId":"ref-listed"}"#,
    )
    .await
    .assert_success();
    let overview = bank
        .call(reqwest::Method::GET, "/sandbox/qrs", None, None)
        .await;
    assert_eq!(overview.status, 200);
    let qrs = overview.raw("qrs").unwrap();
    let first_at = qrs.find(&first).unwrap();
    let second_at = qrs.find(&second).unwrap();
    assert!(first_at < second_at, "registration order");
    assert!(qrs.contains(r#""qrStatus":"PAID""#));
    assert!(qrs.contains(r#""paymentStatus":"SUCCESS""#));
    assert!(qrs.contains(r#""transactions":[{"transactionId":"#));
    assert!(overview.raw("refunds").unwrap().contains("ref-listed"));
}

#[tokio::test]
async fn the_router_can_be_nested_under_a_prefix() {
    let sandbox = qrpayd_sandbox::Sandbox::new(qrpayd_sandbox::SandboxConfig::new(
        MERCHANT,
        crate::support::SECRET,
    ));
    let app = axum::Router::new().nest("/sandbox-bank", sandbox.router());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}/sandbox-bank", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let response = client
        .post(format!("{base}/api/sbp/v2/qrs"))
        .body(format!(
            r#"{{"qrType":"QRDynamic","sbpMerchantId":"{MERCHANT}","order":"nested","amount":2.5}}"#
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains(r#""code":"SUCCESS""#)
    );
    let missing = client
        .get(format!("{base}/api/nothing"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    let faults = client
        .get(format!("{base}/sandbox/faults"))
        .send()
        .await
        .unwrap();
    assert_eq!(faults.status(), 200);
}
