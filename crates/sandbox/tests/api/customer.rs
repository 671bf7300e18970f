//! Customer-presented QRs (sandbox extension): minting, charging (auto and manual
//! confirmation, the amount limit), retries, refusals, and the charge as a dynamic QR.

use crate::support::{MERCHANT, receiver, start};

async fn mint(bank: &crate::support::Bank, body: &str) -> String {
    let minted = bank
        .call(
            reqwest::Method::POST,
            "/sandbox/customer-qr",
            Some(body),
            None,
        )
        .await;
    assert_eq!(minted.status, 200, "{}", minted.body);
    minted.text("payload")
}

fn charge_body(bank: &crate::support::Bank, payload: &str, order: &str, amount: &str) -> String {
    format!(
        r#"{{"sbpMerchantId":"{MERCHANT}","payload":"{payload}","order":"{order}","amount":{amount},"qrExpirationDate":"{}"}}"#,
        bank.expires_in(5)
    )
}

#[tokio::test]
async fn an_auto_customer_qr_is_charged_at_once() {
    let bank = start().await;
    let mut merchant = receiver(0).await;
    bank.set_callback(&merchant.url).await;
    let minted = bank
        .call(
            reqwest::Method::POST,
            "/sandbox/customer-qr",
            Some(r#"{"amount_limit":100}"#),
            None,
        )
        .await;
    assert_eq!(minted.raw("amount_limit").as_deref(), Some("100"));
    assert_eq!(minted.text("confirm"), "auto");
    let payload = minted.text("payload");
    assert!(payload.starts_with("https://sandbox.invalid/customer-qr/CQ1"));

    let charged = bank
        .post(
            "/sandbox/customer-qr/charge",
            &charge_body(&bank, &payload, "cust-1", "99.99"),
        )
        .await;
    charged.assert_success();
    let qr_id = charged.text("qrId");
    let info = bank.payment_info(&qr_id).await;
    assert_eq!(info.text("paymentStatus"), "SUCCESS");
    assert_eq!(info.text("order"), "cust-1");
    assert_eq!(info.raw("amount").as_deref(), Some("99.99"));
    let callback = merchant.next().await;
    callback.assert_signed();
    assert_eq!(callback.json.text("order"), "cust-1");

    // A retry of the same charge answers the same QR; another order cannot reuse it.
    let again = bank
        .post(
            "/sandbox/customer-qr/charge",
            &charge_body(&bank, &payload, "cust-1", "99.99"),
        )
        .await;
    assert_eq!(again.text("qrId"), qr_id);
    bank.post(
        "/sandbox/customer-qr/charge",
        &charge_body(&bank, &payload, "cust-2", "1"),
    )
    .await
    .assert_error(400, "ERROR.CUSTOMER_QR_ALREADY_USED");

    // Above the limit the customer's bank declines.
    let limited = mint(&bank, r#"{"amount_limit":100}"#).await;
    let declined = bank
        .post(
            "/sandbox/customer-qr/charge",
            &charge_body(&bank, &limited, "cust-3", "100.01"),
        )
        .await;
    declined.assert_success();
    let info = bank.payment_info(&declined.text("qrId")).await;
    assert_eq!(info.text("paymentStatus"), "DECLINED");

    // Unknown payloads (an NSPK link is not a customer QR), no key, no merchant.
    bank.post(
        "/sandbox/customer-qr/charge",
        &charge_body(
            &bank,
            "https://qr.nspk.ru/AD10000000000000000000000000TEST",
            "cust-4",
            "1",
        ),
    )
    .await
    .assert_error(404, "ERROR.CUSTOMER_QR_NOT_FOUND");
    let no_key = bank
        .call(
            reqwest::Method::POST,
            "/sandbox/customer-qr/charge",
            Some(&charge_body(&bank, &limited, "cust-5", "1")),
            Some("wrong"),
        )
        .await;
    assert_eq!(no_key.status, 401);
    bank.post(
        "/sandbox/customer-qr/charge",
        r#"{"payload":"x","order":"o","amount":1}"#,
    )
    .await
    .assert_error(400, "ERROR.SBP_MERCHANT_ID_IS_MISSING");
    let bad = bank
        .call(
            reqwest::Method::POST,
            "/sandbox/customer-qr",
            Some(r#"{"confirm":"later"}"#),
            None,
        )
        .await;
    bad.assert_error(400, "ERROR.INVALID_REQUEST");
}

#[tokio::test]
async fn a_manual_customer_qr_waits_for_the_customer() {
    let bank = start().await;
    let payload = mint(&bank, r#"{"confirm":"manual"}"#).await;
    let charged = bank
        .post(
            "/sandbox/customer-qr/charge",
            &charge_body(&bank, &payload, "man-1", "250"),
        )
        .await;
    let qr_id = charged.text("qrId");
    assert_eq!(
        bank.payment_info(&qr_id).await.text("paymentStatus"),
        "NO_INFO"
    );
    bank.pay(&qr_id, "250").await.assert_success();
    assert_eq!(
        bank.payment_info(&qr_id).await.text("paymentStatus"),
        "SUCCESS"
    );
    // Refunded like any dynamic QR, by its order.
    bank.post(
        "/api/sbp/v1/refund",
        r#"{"amount":50,"order":"man-1","refundId":"man-r1"}"#,
    )
    .await
    .assert_success();
    // The Rust helper mints too; an empty body is allowed over HTTP.
    assert!(
        bank.sandbox
            .new_customer_qr(None, true)
            .starts_with("https://sandbox.invalid/customer-qr/")
    );
    assert!(!mint(&bank, "").await.is_empty());
    let overview = bank
        .call(reqwest::Method::GET, "/sandbox/qrs", None, None)
        .await;
    let overview: serde_json::Value = serde_json::from_str(&overview.body).unwrap();
    assert_eq!(overview["customerQrs"].as_array().unwrap().len(), 3);
    assert!(
        overview["qrs"]
            .as_array()
            .unwrap()
            .iter()
            .any(|q| q["customerQr"] == payload.as_str())
    );
}
