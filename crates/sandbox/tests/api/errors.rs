//! Every error the emulated bank answers, with Raiffeisen's codes and HTTP statuses.

// fixed-dates: dates here are inputs (bank vectors, malformed dates, the manual clock's start);
// the code under test gets its time from the test, never from the wall clock.

use crate::support::{MERCHANT, SECRET, start};

fn dynamic_body(order: &str, amount: &str, expiration: &str) -> String {
    format!(
        r#"{{"qrType":"QRDynamic","sbpMerchantId":"{MERCHANT}","order":"{order}","amount":{amount},"currency":"RUB","qrExpirationDate":"{expiration}"}}"#
    )
}

#[tokio::test]
async fn bearer_key_is_required_where_the_bank_requires_it() {
    let bank = start().await;
    let qr_id = bank.register_dynamic("auth", "1").await;
    for path in [
        format!("/api/sbp/v2/qrs/{qr_id}"),
        format!("/api/sbp/v1/qr/{qr_id}/info"),
        format!("/api/sbp/v1/qr/{qr_id}/payment-info"),
        "/api/sbp/v1/refund/r1".to_owned(),
    ] {
        for key in [None, Some("wrong-key"), Some("")] {
            bank.call(reqwest::Method::GET, &path, None, key)
                .await
                .assert_error(401, "ERROR.UNAUTHORIZED");
        }
        assert_ne!(
            bank.call(reqwest::Method::GET, &path, None, Some(SECRET))
                .await
                .status,
            401
        );
    }
    bank.call(
        reqwest::Method::DELETE,
        &format!("/api/sbp/v2/qrs/{qr_id}"),
        None,
        None,
    )
    .await
    .assert_error(401, "ERROR.UNAUTHORIZED");
    for path in ["/api/sbp/v1/refund", "/api/settings/v1/callback"] {
        bank.post_open(path, "{}")
            .await
            .assert_error(401, "ERROR.UNAUTHORIZED");
    }
    // Nothing was cancelled by the refused DELETE.
    assert_eq!(
        bank.get(&format!("/api/sbp/v2/qrs/{qr_id}"))
            .await
            .text("qrStatus"),
        "NEW"
    );
}

#[tokio::test]
async fn registration_errors() {
    let bank = start().await;
    let later = bank.expires_in(60);
    let register = |body: String| {
        let bank = &bank;
        async move { bank.post_open("/api/sbp/v2/qrs", &body).await }
    };

    register(dynamic_body("o", "1", &later).replace(MERCHANT, "MA0000000001"))
        .await
        .assert_error(400, "ERROR.MERCHANT_NOT_REGISTERED");
    register(r#"{"qrType":"QRDynamic","order":"o","amount":1}"#.to_owned())
        .await
        .assert_error(400, "ERROR.SBP_MERCHANT_ID_IS_MISSING");
    register(format!(
        r#"{{"qrType":"QRDynamic","sbpMerchantId":"{MERCHANT}","order":"o","currency":"RUB"}}"#
    ))
    .await
    .assert_error(200, "ERROR.DYNAMIC_QR_WITHOUT_AMOUNT");
    register(format!(
        r#"{{"qrType":"QRDynamic","sbpMerchantId":"{MERCHANT}","order":"o","amount":null}}"#
    ))
    .await
    .assert_error(200, "ERROR.DYNAMIC_QR_WITHOUT_AMOUNT");

    for order in ["", "has space", "слово", "a/b", &"x".repeat(41)] {
        register(dynamic_body(order, "1", &later))
            .await
            .assert_error(400, "ERROR.INVALID_ORDER");
    }
    register(format!(
        r#"{{"qrType":"QRDynamic","sbpMerchantId":"{MERCHANT}","amount":1}}"#
    ))
    .await
    .assert_error(400, "ERROR.INVALID_ORDER");
    register(dynamic_body(&"x".repeat(40), "1", &later))
        .await
        .assert_success();

    for expiration in [
        bank.expires_in(-1),
        "2020-01-01T00:00:00+03:00".to_owned(),
        "2099-01-01T00:00:00".to_owned(),
        "tomorrow".to_owned(),
    ] {
        register(dynamic_body("o", "1", &expiration))
            .await
            .assert_error(400, "ERROR.QR_EXPIRATION_DATE_NOT_VALID");
    }

    for amount in ["0", "0.00", "1.001", "-5", "\"100\"", "1e2", "true"] {
        register(dynamic_body("o", amount, &later))
            .await
            .assert_error(400, "ERROR.INVALID_REQUEST");
    }
    register(dynamic_body("o", "1", &later).replace("\"RUB\"", "\"USD\""))
        .await
        .assert_error(400, "ERROR.INVALID_REQUEST");
    register(dynamic_body("o", "1", &later).replace("QRDynamic", "QRFancy"))
        .await
        .assert_error(400, "ERROR.INVALID_REQUEST");
    register(dynamic_body("o", "1", &later).replace(
        r#""currency":"RUB""#,
        r#""currency":"RUB","account":"40702810000000000001""#,
    ))
    .await
    .assert_error(400, "ERROR.ACCOUNT_IS_NOT_REGISTERED");
    register(dynamic_body("o", "1", &later).replace(
        r#""currency":"RUB""#,
        &format!(r#""currency":"RUB","paymentDetails":"{}""#, "я".repeat(186)),
    ))
    .await
    .assert_error(400, "ERROR.INVALID_REQUEST");
}

#[tokio::test]
async fn an_order_can_be_registered_again_until_it_is_paid() {
    let bank = start().await;
    let first = bank.register_dynamic("again", "3").await;
    let second = bank.register_dynamic("again", "3").await;
    assert_ne!(first, second);
    bank.pay(&second, "3").await.assert_success();
    let message = bank
        .post_open(
            "/api/sbp/v2/qrs",
            &dynamic_body("again", "3", &bank.expires_in(60)),
        )
        .await
        .assert_error(400, "ERROR.ORDER_NUMBER_ALREADY_REGISTERED");
    assert!(message.contains("again"), "{message}");
}

#[tokio::test]
async fn unknown_qrs_are_not_found() {
    let bank = start().await;
    for path in [
        "/api/sbp/v2/qrs/AD1NOPE",
        "/api/sbp/v1/qr/AD1NOPE/info",
        "/api/sbp/v1/qr/AD1NOPE/payment-info",
    ] {
        let message = bank.get(path).await.assert_error(404, "ERROR.NOT_FOUND");
        assert_eq!(message, "QR-код не найден у данного партнера");
    }
    bank.pay("AD1NOPE", "1")
        .await
        .assert_error(404, "ERROR.NOT_FOUND");
}

#[tokio::test]
async fn payment_must_match_the_qr_amount() {
    let bank = start().await;
    let qr_id = bank.register_dynamic("exact", "1110.11").await;
    for wrong in ["1110.1", "1110.12", "1110", "0.01"] {
        bank.pay(&qr_id, wrong)
            .await
            .assert_error(400, "ERROR.INVALID_REQUEST");
    }
    for malformed in [
        r#"{"amount":1110.11}"#.to_owned(),
        format!(r#"{{"qrId":"{qr_id}"}}"#),
        format!(r#"{{"qrId":"{qr_id}","amount":"1110.11"}}"#),
        format!(r#"{{"qrId":"{qr_id}","amount":1110.111}}"#),
    ] {
        bank.post_open("/api/nspc-mock/v01/rfuture/payment/init", &malformed)
            .await
            .assert_error(400, "ERROR.INVALID_REQUEST");
    }
    assert_eq!(
        bank.payment_info(&qr_id).await.text("paymentStatus"),
        "NO_INFO"
    );
    bank.pay(&qr_id, "1110.110").await.assert_success();
}

#[tokio::test]
async fn malformed_bodies_are_invalid_requests_not_crashes() {
    let bank = start().await;
    for body in ["", "{", "null", "\"x\"", "{\"qrType\":5}", "\u{0}", "[1]"] {
        bank.post_open("/api/sbp/v2/qrs", body)
            .await
            .assert_error(400, "ERROR.INVALID_REQUEST");
        bank.post_open("/api/sbp/v1/qr/register", body)
            .await
            .assert_error(400, "ERROR.INVALID_REQUEST");
        bank.post("/api/sbp/v1/refund", body)
            .await
            .assert_error(400, "ERROR.INVALID_REQUEST");
        bank.post("/api/settings/v1/callback", body)
            .await
            .assert_error(400, "ERROR.INVALID_REQUEST");
        bank.post_open("/api/nspc-mock/v01/rfuture/payment/init", body)
            .await
            .assert_error(400, "ERROR.INVALID_REQUEST");
        bank.set_faults(body)
            .await
            .assert_error(400, "ERROR.INVALID_REQUEST");
    }
    bank.post(
        "/api/settings/v1/callback",
        r#"{"callbackUrl":"not a url"}"#,
    )
    .await
    .assert_error(400, "ERROR.INVALID_REQUEST");
    bank.post(
        "/api/settings/v1/callback",
        r#"{"callbackUrl":"ftp://example.invalid/x"}"#,
    )
    .await
    .assert_error(400, "ERROR.INVALID_REQUEST");
}

#[tokio::test]
async fn unknown_paths_get_the_spring_style_404() {
    let bank = start().await;
    let answer = bank.get("/api/sbp/v9/nothing").await;
    assert_eq!(answer.status, 404);
    assert_eq!(answer.integer("status"), 404);
    assert_eq!(answer.text("error"), "Not Found");
    assert_eq!(answer.text("path"), "/api/sbp/v9/nothing");
}
