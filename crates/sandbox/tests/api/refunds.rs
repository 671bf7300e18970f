//! Refunds: IN_PROGRESS → COMPLETED on the second read, partial refunds up to the paid
//! amount, idempotent refundId, declines, not-found cases.

use crate::support::{MERCHANT, start};

fn refund_body(order: &str, refund_id: &str, amount: &str) -> String {
    format!(
        r#"{{"amount":{amount},"order":"{order}","refundId":"{refund_id}","paymentDetails":"Возврат"}}"#
    )
}

#[tokio::test]
async fn partial_refunds_up_to_the_paid_amount() {
    let bank = start().await;
    let qr_id = bank.register_dynamic("refund-me", "1000.01").await;
    bank.pay(&qr_id, "1000.01").await.assert_success();

    let first = bank
        .post(
            "/api/sbp/v1/refund",
            &refund_body("refund-me", "r-1", "600.00"),
        )
        .await;
    first.assert_success();
    assert_eq!(first.raw("amount").as_deref(), Some("600"));
    assert_eq!(first.text("refundStatus"), "IN_PROGRESS");

    // The first read still sees IN_PROGRESS, the next ones COMPLETED.
    let read = bank.get("/api/sbp/v1/refund/r-1").await;
    read.assert_success();
    assert_eq!(read.text("refundStatus"), "IN_PROGRESS");
    assert_eq!(read.raw("amount").as_deref(), Some("600"));
    for _ in 0..2 {
        let read = bank.get("/api/sbp/v1/refund/r-1").await;
        assert_eq!(read.text("refundStatus"), "COMPLETED");
    }

    // 400.01 left: one kopeck more is refused with an HTTP 200 business error.
    let message = bank
        .post(
            "/api/sbp/v1/refund",
            &refund_body("refund-me", "r-2", "400.02"),
        )
        .await
        .assert_error(200, "ERROR.REFUND_INSUFFICIENT_FUNDS");
    assert!(message.contains("400.01"), "{message}");

    // The same refundId again is the same refund, whatever the body says.
    let again = bank
        .post("/api/sbp/v1/refund", &refund_body("refund-me", "r-1", "1"))
        .await;
    again.assert_success();
    assert_eq!(again.raw("amount").as_deref(), Some("600"));
    assert_eq!(again.text("refundStatus"), "COMPLETED");

    let rest = bank
        .post(
            "/api/sbp/v1/refund",
            &refund_body("refund-me", "r-2", "400.01"),
        )
        .await;
    rest.assert_success();
    assert_eq!(rest.raw("amount").as_deref(), Some("400.01"));
    bank.post(
        "/api/sbp/v1/refund",
        &refund_body("refund-me", "r-3", "0.01"),
    )
    .await
    .assert_error(200, "ERROR.REFUND_INSUFFICIENT_FUNDS");
}

#[tokio::test]
async fn a_declined_refund_frees_its_amount() {
    let bank = start().await;
    let qr_id = bank.register_dynamic("decline-refund", "50").await;
    bank.pay(&qr_id, "50").await.assert_success();
    bank.post(
        "/api/sbp/v1/refund",
        &refund_body("decline-refund", "d-1", "50"),
    )
    .await
    .assert_success();
    bank.post(
        "/api/sbp/v1/refund",
        &refund_body("decline-refund", "d-2", "1"),
    )
    .await
    .assert_error(200, "ERROR.REFUND_INSUFFICIENT_FUNDS");

    let declined = bank.post_open("/sandbox/refunds/d-1/decline", "").await;
    declined.assert_success();
    assert_eq!(declined.text("refundStatus"), "DECLINED");
    assert_eq!(
        bank.get("/api/sbp/v1/refund/d-1")
            .await
            .text("refundStatus"),
        "DECLINED"
    );
    bank.post_open("/sandbox/refunds/d-1/decline", "")
        .await
        .assert_error(400, "ERROR.REFUND_NOT_IN_PROGRESS");
    bank.post_open("/sandbox/refunds/nope/decline", "")
        .await
        .assert_error(404, "ERROR.REFUND_NOT_FOUND");

    bank.post(
        "/api/sbp/v1/refund",
        &refund_body("decline-refund", "d-2", "50"),
    )
    .await
    .assert_success();
}

#[tokio::test]
async fn refunds_need_a_paid_order() {
    let bank = start().await;
    let message = bank
        .get("/api/sbp/v1/refund/nope-1")
        .await
        .assert_error(404, "ERROR.REFUND_NOT_FOUND");
    assert_eq!(message, "Возврат с refundId nope-1 не найден");

    bank.post(
        "/api/sbp/v1/refund",
        &refund_body("no-such-order", "x-1", "1"),
    )
    .await
    .assert_error(404, "ERROR.NOT_FOUND");
    let unpaid = bank.register_dynamic("unpaid", "5").await;
    bank.post("/api/sbp/v1/refund", &refund_body("unpaid", "x-2", "1"))
        .await
        .assert_error(404, "ERROR.NOT_FOUND");
    bank.post_open(&format!("/sandbox/qrs/{unpaid}/decline"), "")
        .await
        .assert_success();
    bank.post("/api/sbp/v1/refund", &refund_body("unpaid", "x-3", "1"))
        .await
        .assert_error(404, "ERROR.NOT_FOUND");
    // A refused refund leaves no trace behind its id.
    bank.get("/api/sbp/v1/refund/x-3")
        .await
        .assert_error(404, "ERROR.REFUND_NOT_FOUND");
}

#[tokio::test]
async fn refund_request_validation() {
    let bank = start().await;
    let qr_id = bank.register_dynamic("validate", "5").await;
    bank.pay(&qr_id, "5").await.assert_success();
    for body in [
        refund_body("validate", "v-1", "0"),
        refund_body("validate", "v-1", "0.001"),
        refund_body("validate", "v-1", "\"1\""),
        refund_body("validate", &"r".repeat(41), "1"),
        refund_body("validate", "", "1"),
        r#"{"order":"validate","refundId":"v-1"}"#.to_owned(),
        refund_body("validate", "v-1", "1").replace("Возврат", &"я".repeat(141)),
    ] {
        bank.post("/api/sbp/v1/refund", &body)
            .await
            .assert_error(400, "ERROR.INVALID_REQUEST");
    }
    bank.post("/api/sbp/v1/refund", r#"{"amount":1,"refundId":"v-1"}"#)
        .await
        .assert_error(400, "ERROR.INVALID_ORDER");
    bank.post(
        "/api/sbp/v1/refund",
        &refund_body("validate", &"r".repeat(40), "1"),
    )
    .await
    .assert_success();
}

#[tokio::test]
async fn static_qr_refunds_name_the_transaction() {
    let bank = start().await;
    let register = bank
        .post_open(
            "/api/sbp/v2/qrs",
            &format!(r#"{{"qrType":"QRStatic","sbpMerchantId":"{MERCHANT}","order":"counter"}}"#),
        )
        .await;
    let qr_id = register.text("qrId");
    bank.pay(&qr_id, "10").await.assert_success();
    let first_tx = bank.payment_info(&qr_id).await.integer("transactionId");
    bank.pay(&qr_id, "20").await.assert_success();
    let second_tx = bank.payment_info(&qr_id).await.integer("transactionId");

    bank.post("/api/sbp/v1/refund", &refund_body("counter", "s-1", "5"))
        .await
        .assert_error(400, "ERROR.INVALID_REQUEST");
    let with_tx = |refund_id: &str, amount: &str, tx: u64| {
        format!(
            r#"{{"amount":{amount},"order":"counter","refundId":"{refund_id}","transactionId":{tx}}}"#
        )
    };
    bank.post("/api/sbp/v1/refund", &with_tx("s-1", "10", first_tx))
        .await
        .assert_success();
    bank.post("/api/sbp/v1/refund", &with_tx("s-2", "10.01", second_tx))
        .await
        .assert_success();
    bank.post("/api/sbp/v1/refund", &with_tx("s-3", "10", second_tx))
        .await
        .assert_error(200, "ERROR.REFUND_INSUFFICIENT_FUNDS");
    bank.post("/api/sbp/v1/refund", &with_tx("s-4", "1", 999_999))
        .await
        .assert_error(404, "ERROR.NOT_FOUND");
}
