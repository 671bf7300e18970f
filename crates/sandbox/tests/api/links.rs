//! Cash-register links: `QRVariable` registration, orders (activate, one live per link, pay,
//! cancel, expire), order refunds, order callbacks, faults and the registry.

use hmac::{Hmac, Mac};
use qrpayd_domain::nspk::parse_link;
use qrpayd_sandbox::Faults;
use sha2::Sha256;

use crate::support::{MERCHANT, SECRET, receiver, start};

fn order_body(bank: &crate::support::Bank, id: &str, link: &str, amount: &str) -> String {
    format!(
        r#"{{"id":"{id}","amount":{amount},"comment":"чек 7","expirationDate":"{}","qr":{{"id":"{link}","paymentDetails":"Оплата чека 7"}}}}"#,
        bank.expires_in(10)
    )
}

#[tokio::test]
async fn a_link_is_registered_activated_paid_and_refunded() {
    let bank = start().await;
    let mut merchant = receiver(0).await;
    bank.set_callback(&merchant.url).await;
    let (link, payload) = bank.register_link().await;
    assert!(link.starts_with("AS1R") && link.len() == 32, "{link}");
    let parsed = parse_link(&payload).unwrap();
    assert_eq!(parsed.qrc_id, link);
    assert_eq!(
        parsed.link_type,
        Some(qrpayd_domain::nspk::LinkType::Static)
    );
    assert_eq!((parsed.sum, parsed.crc_ok), (None, Some(true)));

    let created = bank
        .post(
            "/api/payment/v1/orders",
            &order_body(&bank, "o-1", &link, "123.45"),
        )
        .await;
    assert_eq!(created.status, 200, "{}", created.body);
    assert_eq!(created.raw("code"), None);
    assert_eq!(created.text("id"), "o-1");
    assert_eq!(created.raw("amount").as_deref(), Some("123.45"));
    let order: serde_json::Value = serde_json::from_str(&created.body).unwrap();
    assert_eq!(order["status"]["value"], "NEW");
    assert_eq!(order["qr"]["id"], link.as_str());
    assert_eq!(order["comment"], "чек 7");

    // One live activation per link.
    bank.post(
        "/api/payment/v1/orders",
        &order_body(&bank, "o-2", &link, "1"),
    )
    .await
    .assert_error(400, "ERROR.ORDER_ALREADY_ACTIVE");
    // The same order again is the same order (a retry).
    let again = bank
        .post(
            "/api/payment/v1/orders",
            &order_body(&bank, "o-1", &link, "123.45"),
        )
        .await;
    assert_eq!(again.status, 200, "{}", again.body);

    // The customer scans the printed link and pays the activated amount.
    bank.pay(&link, "123.44")
        .await
        .assert_error(400, "ERROR.INVALID_REQUEST");
    bank.pay(&link, "123.45").await.assert_success();
    let paid: serde_json::Value =
        serde_json::from_str(&bank.get("/api/payment/v1/orders/o-1").await.body).unwrap();
    assert_eq!(paid["status"]["value"], "PAID");

    // The order notification (§1.7b), signed over amount|publicId|orderId|value|date.
    let callback = merchant.next().await;
    let n: serde_json::Value = serde_json::from_str(&callback.json.body).unwrap();
    assert_eq!(n["event"], "payment");
    let t = &n["transaction"];
    assert_eq!(t["orderId"], "o-1");
    assert_eq!(t["status"]["value"], "SUCCESS");
    assert_eq!(t["paymentMethod"], "sbp");
    assert_eq!(t["paymentParams"]["qrId"], link.as_str());
    assert!(callback.json.body.contains(r#""amount":123.45"#));
    let message = format!(
        "123.45|{MERCHANT}|o-1|SUCCESS|{}",
        t["status"]["date"].as_str().unwrap()
    );
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(message.as_bytes());
    assert_eq!(
        callback.signature.as_deref(),
        Some(hex::encode(mac.finalize().into_bytes()).as_str())
    );

    // A paid order cannot be cancelled: the caller must re-check.
    let message = bank
        .delete("/api/payment/v1/orders/o-1")
        .await
        .assert_error(400, "ORDER_HAS_FINAL_STATUS");
    assert!(message.contains("PAID"), "{message}");

    // Refunds of the order (note /payments/, plural).
    let refund = bank
        .post(
            "/api/payments/v1/orders/o-1/refunds/r-1",
            r#"{"amount":100}"#,
        )
        .await;
    refund.assert_success();
    assert_eq!(refund.text("refundStatus"), "IN_PROGRESS");
    let path = "/api/payments/v1/orders/o-1/refunds/r-1";
    assert_eq!(bank.get(path).await.text("refundStatus"), "IN_PROGRESS");
    let done = bank.get(path).await;
    assert_eq!(done.text("refundStatus"), "COMPLETED");
    assert_eq!(done.raw("amount").as_deref(), Some("100"));
    bank.post(
        "/api/payments/v1/orders/o-1/refunds/r-2",
        r#"{"amount":23.46}"#,
    )
    .await
    .assert_error(200, "ERROR.REFUND_INSUFFICIENT_FUNDS");
    bank.get("/api/payments/v1/orders/o-1/refunds/nope")
        .await
        .assert_error(404, "ERROR.REFUND_NOT_FOUND");

    // The link is free for the next payment.
    let next = bank
        .post(
            "/api/payment/v1/orders",
            &order_body(&bank, "o-2", &link, "1"),
        )
        .await;
    assert_eq!(next.status, 200, "{}", next.body);
}

#[tokio::test]
async fn cancel_expire_and_refusals() {
    let bank = start().await;
    let (link, _) = bank.register_link().await;
    bank.post(
        "/api/payment/v1/orders",
        &order_body(&bank, "c-1", &link, "5"),
    )
    .await;
    let cancelled = bank.delete("/api/payment/v1/orders/c-1").await;
    assert_eq!((cancelled.status, cancelled.body.as_str()), (200, ""));
    let message = bank
        .delete("/api/payment/v1/orders/c-1")
        .await
        .assert_error(400, "ORDER_HAS_FINAL_STATUS");
    assert!(message.contains("CANCELLED"), "{message}");
    bank.pay(&link, "5")
        .await
        .assert_error(400, "ERROR.QR_NOT_PAYABLE");

    bank.post(
        "/api/payment/v1/orders",
        &order_body(&bank, "c-2", &link, "5"),
    )
    .await;
    let expired = bank
        .call(
            reqwest::Method::POST,
            &format!("/sandbox/qrs/{link}/expire"),
            None,
            None,
        )
        .await;
    assert_eq!(expired.status, 200, "{}", expired.body);
    let order: serde_json::Value =
        serde_json::from_str(&bank.get("/api/payment/v1/orders/c-2").await.body).unwrap();
    assert_eq!(order["status"]["value"], "EXPIRED");

    bank.get("/api/payment/v1/orders/nope")
        .await
        .assert_error(404, "ORDER_NOT_FOUND");
    bank.delete("/api/payment/v1/orders/nope")
        .await
        .assert_error(404, "ORDER_NOT_FOUND");
    bank.post("/api/payments/v1/orders/c-1/refunds/r-1", r#"{"amount":1}"#)
        .await
        .assert_error(404, "ERROR.NOT_FOUND");
    // Orders are for links only, and need the key.
    let dynamic = bank.register_dynamic("d-1", "5").await;
    bank.post(
        "/api/payment/v1/orders",
        &order_body(&bank, "c-3", &dynamic, "5"),
    )
    .await
    .assert_error(400, "ERROR.INVALID_REQUEST");
    let unauthorized = bank
        .call(
            reqwest::Method::POST,
            "/api/payment/v1/orders",
            Some(&order_body(&bank, "c-3", &link, "5")),
            None,
        )
        .await;
    assert_eq!(unauthorized.status, 401);
    // A link is not cancelled through the QR API, nor registered with an amount.
    bank.delete(&format!("/api/sbp/v2/qrs/{link}"))
        .await
        .assert_error(400, "ERROR.INVALID_REQUEST");
    bank.post_open(
        "/api/sbp/v2/qrs",
        &format!(r#"{{"qrType":"QRVariable","sbpMerchantId":"{MERCHANT}","amount":10}}"#),
    )
    .await
    .assert_error(400, "ERROR.INVALID_REQUEST");
}

#[tokio::test]
async fn faults_apply_to_orders_and_the_overview_and_registry_show_them() {
    let bank = start().await;
    let (link, _) = bank.register_link().await;
    bank.sandbox.set_faults(Faults {
        http_500_next: 1,
        ..Faults::default()
    });
    let failed = bank
        .post(
            "/api/payment/v1/orders",
            &order_body(&bank, "f-1", &link, "7.5"),
        )
        .await;
    assert_eq!(failed.status, 500);
    bank.post(
        "/api/payment/v1/orders",
        &order_body(&bank, "f-1", &link, "7.5"),
    )
    .await;
    bank.pay(&link, "7.5").await.assert_success();

    let overview = bank
        .call(reqwest::Method::GET, "/sandbox/qrs", None, None)
        .await;
    let overview: serde_json::Value = serde_json::from_str(&overview.body).unwrap();
    let orders = overview["orders"].as_array().unwrap();
    assert_eq!(orders.len(), 1);
    assert_eq!(orders[0]["status"]["value"], "PAID");
    assert!(
        overview["qrs"]
            .as_array()
            .unwrap()
            .iter()
            .any(|q| q["qrType"] == "QRVariable")
    );

    let today = bank.msk_today();
    let registry = bank.sandbox.registry(today);
    let row = registry
        .rows
        .iter()
        .find(|r| r.order == "f-1")
        .expect("the paid order in the registry");
    assert_eq!(row.qr_id.as_deref(), Some(link.as_str()));
    assert_eq!(row.amount.get(), 750);
}
