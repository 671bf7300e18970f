//! Adapter tests against a scripted fake bank: error mapping and answer checks. The full flow
//! against qrpayd's sandbox is covered by the service's API tests.

// fixed-dates: dates here are inputs (bank vectors, malformed dates, the manual clock's start);
// the code under test gets its time from the test, never from the wall clock.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::any;
use qrpayd_domain::ids::{PaymentId, QrId, RefundId};
use qrpayd_domain::money::{Currency, Kopecks};
use qrpayd_domain::secret::Secret;

use super::*;

/// One scripted answer: status, body, delay.
type Script = Arc<Mutex<Vec<(u16, String, u64)>>>;

async fn fake_bank(script: Vec<(u16, &str, u64)>) -> (Raiffeisen, Arc<Mutex<Vec<String>>>) {
    let script: Script = Arc::new(Mutex::new(
        script
            .into_iter()
            .rev()
            .map(|(s, b, d)| (s, b.to_owned(), d))
            .collect(),
    ));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let seen2 = seen.clone();
    let app = Router::new().fallback(any(move |req: axum::extract::Request| {
        let script = script.clone();
        let seen = seen2.clone();
        async move {
            seen.lock()
                .unwrap()
                .push(format!("{} {}", req.method(), req.uri().path()));
            let (status, body, delay) =
                script
                    .lock()
                    .unwrap()
                    .pop()
                    .unwrap_or((404, String::new(), 0));
            tokio::time::sleep(Duration::from_millis(delay)).await;
            (StatusCode::from_u16(status).unwrap(), body).into_response()
        }
    }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let bank = Raiffeisen::new(RaiffeisenConfig {
        base_url: format!("http://{addr}"),
        sbp_merchant_id: "MA0000000552".into(),
        secret_key: Secret::new("test-secret-key"),
        timeout: Duration::from_millis(300),
    })
    .unwrap();
    (bank, seen)
}

fn create(amount: i64) -> CreateQr {
    CreateQr {
        payment_id: PaymentId::parse("pay_1").unwrap(),
        amount: Kopecks::new(amount).unwrap(),
        currency: Currency::Rub,
        expires_at: chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap(),
        description: None,
        kind: QrKind::Dynamic,
    }
}

fn query() -> PaymentQuery {
    PaymentQuery {
        payment_id: PaymentId::parse("pay_1").unwrap(),
        qr_id: QrId::parse("AD100004BAL7227F9BNP6KNE007J9B3K").unwrap(),
        amount: Kopecks::new(12345).unwrap(),
        currency: Currency::Rub,
        qr_type: QrType::Dynamic,
    }
}

const REGISTERED: &str = r#"{"code":"SUCCESS","qrId":"AD100004BAL7227F9BNP6KNE007J9B3K","payload":"https://qr.nspk.ru/AD100004BAL7227F9BNP6KNE007J9B3K?type=02&bank=100000000007&sum=12345&cur=RUB&crc=0000","qrUrl":"x"}"#;

#[tokio::test]
async fn registers_a_dynamic_qr() {
    let (bank, seen) = fake_bank(vec![(200, REGISTERED, 0)]).await;
    let qr = bank.create_qr(&create(12345)).await.unwrap();
    assert_eq!(qr.qr_id.as_str(), "AD100004BAL7227F9BNP6KNE007J9B3K");
    assert_eq!(seen.lock().unwrap().as_slice(), ["POST /api/sbp/v2/qrs"]);
}

#[tokio::test]
async fn payload_with_another_sum_is_refused() {
    let (bank, _) = fake_bank(vec![(200, REGISTERED, 0)]).await;
    let err = bank.create_qr(&create(12346)).await.unwrap_err();
    assert!(matches!(err, BankError::Protocol(_)), "{err:?}");
}

#[tokio::test]
async fn business_error_with_http_200_is_an_error() {
    let (bank, _) = fake_bank(vec![(
        200,
        r#"{"code":"ERROR.DYNAMIC_QR_WITHOUT_AMOUNT","message":"no amount"}"#,
        0,
    )])
    .await;
    let err = bank.create_qr(&create(100)).await.unwrap_err();
    assert_eq!(
        err,
        BankError::Rejected {
            code: "ERROR.DYNAMIC_QR_WITHOUT_AMOUNT".into(),
            message: "no amount".into()
        }
    );
    assert!(!err.is_transient());
}

#[tokio::test]
async fn server_errors_timeouts_and_garbage() {
    let (bank, _) = fake_bank(vec![
        (502, "bad gateway", 0),
        (200, REGISTERED, 1000),
        (200, "<html>", 0),
    ])
    .await;
    assert!(matches!(
        bank.create_qr(&create(12345)).await,
        Err(BankError::Unavailable(_))
    ));
    assert_eq!(
        bank.create_qr(&create(12345)).await,
        Err(BankError::Timeout)
    );
    assert!(matches!(
        bank.create_qr(&create(12345)).await,
        Err(BankError::Protocol(_))
    ));
}

#[tokio::test]
async fn bad_key_is_rejected_not_transient() {
    let (bank, _) = fake_bank(vec![(401, "", 0)]).await;
    let err = bank.payment_status(&query()).await.unwrap_err();
    assert!(matches!(&err, BankError::Rejected { code, .. } if code == "HTTP_401"));
}

#[tokio::test]
async fn payment_info_statuses_and_amount_check() {
    let info = |status: &str, amount: &str| {
        format!(
            r#"{{"code":"SUCCESS","amount":{amount},"currency":"RUB","order":"pay_1","paymentStatus":"{status}","qrId":"AD100004BAL7227F9BNP6KNE007J9B3K","transactionId":17998}}"#
        )
    };
    let bodies = [
        info("NO_INFO", "123.45"),
        info("IN_PROGRESS", "123.45"),
        info("SUCCESS", "123.450"),
        info("DECLINED", "123.45"),
        info("SUCCESS", "123.44"),
    ];
    let (bank, _) = fake_bank(bodies.iter().map(|b| (200, b.as_str(), 0)).collect()).await;
    assert_eq!(
        bank.payment_status(&query()).await,
        Ok(BankPaymentStatus::NotPaid)
    );
    assert_eq!(
        bank.payment_status(&query()).await,
        Ok(BankPaymentStatus::InProgress)
    );
    assert_eq!(
        bank.payment_status(&query()).await,
        Ok(BankPaymentStatus::Paid {
            transaction_id: Some("17998".into())
        })
    );
    assert_eq!(
        bank.payment_status(&query()).await,
        Ok(BankPaymentStatus::Declined)
    );
    assert!(matches!(
        bank.payment_status(&query()).await,
        Err(BankError::Protocol(_))
    ));
}

#[tokio::test]
async fn deactivate_asks_the_qr_status_when_refused() {
    let (bank, seen) = fake_bank(vec![
        (200, "", 0),
        (
            400,
            r#"{"code":"ERROR.QR_ALREADY_PAID","message":"paid"}"#,
            0,
        ),
        (
            200,
            r#"{"code":"SUCCESS","qrId":"AD100004BAL7227F9BNP6KNE007J9B3K","qrStatus":"PAID"}"#,
            0,
        ),
        (200, r#"{"code":"ERROR.INTERNAL","message":"try later"}"#, 0),
        (
            200,
            r#"{"code":"SUCCESS","qrId":"AD100004BAL7227F9BNP6KNE007J9B3K","qrStatus":"NEW"}"#,
            0,
        ),
    ])
    .await;
    let qr = query();
    assert_eq!(bank.deactivate_qr(&qr).await, Ok(()));
    assert_eq!(bank.deactivate_qr(&qr).await, Ok(()));
    assert!(matches!(
        bank.deactivate_qr(&qr).await,
        Err(BankError::Rejected { .. })
    ));
    assert_eq!(seen.lock().unwrap().len(), 5);
}

fn notification(amount: &str, status: &str) -> String {
    format!(
        r#"{{"transactionId":17998,"qrId":"AS1000408BSPMRDI8IHBGO4DFQAISU9O","sbpMerchantId":"MA0000000552","merchantId":123,"amount":{amount},"currency":"RUB","transactionDate":"2020-07-24T17:20:00.999232+03:00","paymentStatus":"{status}","additionalInfo":null,"order":"dfe0ff08-4796-46bb-a9fb-93fcd99ce748","createDate":"2020-07-24T17:19:58+03:00"}}"#
    )
}

fn headers(signature: &str) -> reqwest::header::HeaderMap {
    let mut h = reqwest::header::HeaderMap::new();
    h.insert("X-Api-Signature-SHA256", signature.parse().unwrap());
    h
}

#[tokio::test]
async fn callback_signature_uses_raw_then_canonical_amount() {
    let (bank, _) = fake_bank(vec![]).await;
    let sig = "7bc0cbad4cf763a34427fec468259a85c3b03a3c5daac96830e4f886f95c2881";
    let notice = bank
        .parse_callback(&headers(sig), notification("101.01", "SUCCESS").as_bytes())
        .unwrap();
    assert_eq!(notice.amount, Kopecks::new(10101).unwrap());
    assert_eq!(
        notice.status,
        BankPaymentStatus::Paid {
            transaction_id: Some("17998".into())
        }
    );
    // The same notice with the amount printed as `101.010` is signed over the canonical text.
    assert!(
        bank.parse_callback(&headers(sig), notification("101.010", "SUCCESS").as_bytes())
            .is_ok()
    );
    // Tampered status, wrong signature, missing header, garbage body.
    assert_eq!(
        bank.parse_callback(&headers(sig), notification("101.01", "DECLINED").as_bytes()),
        Err(CallbackError::BadSignature)
    );
    assert_eq!(
        bank.parse_callback(
            &reqwest::header::HeaderMap::new(),
            notification("101.01", "SUCCESS").as_bytes()
        ),
        Err(CallbackError::BadSignature)
    );
    assert!(matches!(
        bank.parse_callback(&headers(sig), b"{not json"),
        Err(CallbackError::Malformed(_))
    ));
}

fn refund_request(amount: i64) -> RefundRequest {
    RefundRequest {
        refund_id: RefundId::parse("rf_1").unwrap(),
        payment_id: PaymentId::parse("pay_1").unwrap(),
        amount: Kopecks::new(amount).unwrap(),
        transaction_id: Some("17998".into()),
        details: None,
        qr_type: QrType::Dynamic,
        qr_id: None,
    }
}

#[tokio::test]
async fn refunds_and_their_status() {
    let (bank, seen) = fake_bank(vec![
        (
            200,
            r#"{"code":"SUCCESS","amount":50.5,"refundStatus":"IN_PROGRESS"}"#,
            0,
        ),
        (
            200,
            r#"{"code":"SUCCESS","amount":50.50,"refundStatus":"COMPLETED"}"#,
            0,
        ),
        (
            200,
            r#"{"code":"ERROR.REFUND_NOT_FOUND","message":"Возврат с refundId rf_1 не найден"}"#,
            0,
        ),
        (
            200,
            r#"{"code":"ERROR.REFUND_INSUFFICIENT_FUNDS","message":"no"}"#,
            0,
        ),
        (
            200,
            r#"{"code":"SUCCESS","amount":60,"refundStatus":"COMPLETED"}"#,
            0,
        ),
    ])
    .await;
    assert_eq!(
        bank.refund(&refund_request(5050)).await,
        Ok(BankRefundStatus::InProgress)
    );
    let asked = refund_request(5050);
    assert_eq!(
        bank.refund_status(&asked).await,
        Ok(Some(BankRefundStatus::Completed))
    );
    assert_eq!(bank.refund_status(&asked).await, Ok(None));
    assert!(matches!(
        bank.refund(&refund_request(5050)).await,
        Err(BankError::Rejected { code, .. }) if code == "ERROR.REFUND_INSUFFICIENT_FUNDS"
    ));
    // An answer for another amount is not trusted.
    assert!(matches!(
        bank.refund_status(&asked).await,
        Err(BankError::Protocol(_))
    ));
    assert_eq!(
        seen.lock().unwrap()[..3],
        [
            "POST /api/sbp/v1/refund",
            "GET /api/sbp/v1/refund/rf_1",
            "GET /api/sbp/v1/refund/rf_1"
        ]
    );
}

// --- cash-register links (QRVariable + orders) -------------------------------------------

const LINK: &str = "AS1R0000000000000000000000000TST";
const LINK_PAYLOAD: &str =
    "https://qr.nspk.ru/AS1R0000000000000000000000000TST?type=01&bank=100000000007&crc=0000";

fn activation(amount: i64) -> CreateQr {
    CreateQr {
        kind: QrKind::CashLink {
            link_qr_id: QrId::parse(LINK).unwrap(),
            link_payload: LINK_PAYLOAD.into(),
        },
        ..create(amount)
    }
}

fn link_query() -> PaymentQuery {
    PaymentQuery {
        qr_id: QrId::parse(LINK).unwrap(),
        qr_type: QrType::CashRegister,
        ..query()
    }
}

fn order(status: &str, amount: &str) -> String {
    format!(
        r#"{{"id":"pay_1","amount":{amount},"comment":null,"status":{{"value":"{status}","date":"2021-12-24T11:15:22.000Z"}},"expirationDate":"2021-12-24T11:20:22.000Z","qr":{{"id":"{LINK}"}}}}"#
    )
}

#[tokio::test]
async fn registers_a_cash_register_link() {
    let answer =
        format!(r#"{{"code":"SUCCESS","qrId":"{LINK}","payload":"{LINK_PAYLOAD}","qrUrl":"x"}}"#);
    let mismatched = r#"{"code":"SUCCESS","qrId":"AS1R0000000000000000000000000TST","payload":"https://qr.nspk.ru/AS1R0000000000000000000000000XXX","qrUrl":"x"}"#;
    let (bank, seen) = fake_bank(vec![(200, &answer, 0), (200, mismatched, 0)]).await;
    let link = bank.register_cash_link().await.unwrap();
    assert_eq!(link.qr_id.as_str(), LINK);
    assert_eq!(link.payload, LINK_PAYLOAD);
    assert!(matches!(
        bank.register_cash_link().await,
        Err(BankError::Protocol(_))
    ));
    assert_eq!(seen.lock().unwrap()[0], "POST /api/sbp/v2/qrs");
}

#[tokio::test]
async fn activates_a_link_with_an_order() {
    let busy = r#"{"code":"ERROR.ORDER_ALREADY_ACTIVE","message":"busy"}"#;
    let other_link = order("NEW", "123.45").replace(LINK, "AS1R0000000000000000000000000XXX");
    let (bank, seen) = fake_bank(vec![
        (200, &order("NEW", "123.45"), 0),
        (400, busy, 0),
        (200, &order("NEW", "123.46"), 0),
        (200, &other_link, 0),
    ])
    .await;
    let issued = bank.create_qr(&activation(12345)).await.unwrap();
    assert_eq!(
        issued,
        IssuedQr {
            qr_id: QrId::parse(LINK).unwrap(),
            payload: LINK_PAYLOAD.into()
        }
    );
    let busy = bank.create_qr(&activation(12345)).await.unwrap_err();
    assert!(matches!(&busy, BankError::LinkBusy(m) if m.contains("ORDER_ALREADY_ACTIVE")));
    assert!(!busy.is_transient());
    assert!(matches!(
        bank.create_qr(&activation(12345)).await,
        Err(BankError::Protocol(_))
    ));
    assert!(matches!(
        bank.create_qr(&activation(12345)).await,
        Err(BankError::Protocol(_))
    ));
    assert!(
        seen.lock()
            .unwrap()
            .iter()
            .all(|call| call == "POST /api/payment/v1/orders")
    );
}

#[tokio::test]
async fn order_statuses_cancel_and_refunds() {
    let final_status = r#"{"code":"ORDER_HAS_FINAL_STATUS","message":"Заказ с идентификатором pay_1 имеет статус PAID"}"#;
    let (bank, seen) = fake_bank(vec![
        (200, &order("NEW", "123.45"), 0),
        (200, &order("PAID", "123.45"), 0),
        (200, &order("CANCELLED", "123.45"), 0),
        (200, &order("EXPIRED", "123.45"), 0),
        (200, &order("PAID", "1"), 0),
        (200, "", 0),
        (400, final_status, 0),
        (400, r#"{"code":"ERROR.INTERNAL","message":"later"}"#, 0),
        (
            200,
            r#"{"code":"SUCCESS","amount":50.5,"refundStatus":"IN_PROGRESS"}"#,
            0,
        ),
        (
            200,
            r#"{"code":"SUCCESS","amount":50.5,"refundStatus":"COMPLETED"}"#,
            0,
        ),
        (404, r#"{"code":"REFUND_NOT_FOUND","message":"нет"}"#, 0),
    ])
    .await;
    let q = link_query();
    assert_eq!(
        bank.payment_status(&q).await,
        Ok(BankPaymentStatus::NotPaid)
    );
    assert_eq!(
        bank.payment_status(&q).await,
        Ok(BankPaymentStatus::Paid {
            transaction_id: None
        })
    );
    assert_eq!(
        bank.payment_status(&q).await,
        Ok(BankPaymentStatus::NotPaid)
    );
    assert_eq!(
        bank.payment_status(&q).await,
        Ok(BankPaymentStatus::NotPaid)
    );
    assert!(matches!(
        bank.payment_status(&q).await,
        Err(BankError::Protocol(_))
    ));
    assert_eq!(bank.deactivate_qr(&q).await, Ok(()));
    // Final (maybe paid): the status decides.
    assert_eq!(bank.deactivate_qr(&q).await, Ok(()));
    assert!(matches!(
        bank.deactivate_qr(&q).await,
        Err(BankError::Rejected { .. })
    ));
    let refund = RefundRequest {
        qr_type: QrType::CashRegister,
        qr_id: Some(QrId::parse(LINK).unwrap()),
        ..refund_request(5050)
    };
    assert_eq!(bank.refund(&refund).await, Ok(BankRefundStatus::InProgress));
    assert_eq!(
        bank.refund_status(&refund).await,
        Ok(Some(BankRefundStatus::Completed))
    );
    assert_eq!(bank.refund_status(&refund).await, Ok(None));
    let seen = seen.lock().unwrap();
    assert_eq!(seen[0], "GET /api/payment/v1/orders/pay_1");
    assert_eq!(seen[5], "DELETE /api/payment/v1/orders/pay_1");
    assert_eq!(seen[8], "POST /api/payments/v1/orders/pay_1/refunds/rf_1");
    assert_eq!(seen[9], "GET /api/payments/v1/orders/pay_1/refunds/rf_1");
}

#[tokio::test]
async fn customer_qrs_are_unsupported_without_calling_the_bank() {
    let (bank, seen) = fake_bank(vec![]).await;
    let customer = CreateQr {
        kind: QrKind::Customer {
            scanned: "anything".into(),
        },
        ..create(100)
    };
    let err = bank.create_qr(&customer).await.unwrap_err();
    assert!(matches!(err, BankError::Unsupported(_)));
    assert!(!err.is_transient());
    let q = PaymentQuery {
        qr_type: QrType::Customer,
        ..query()
    };
    assert!(matches!(
        bank.payment_status(&q).await,
        Err(BankError::Unsupported(_))
    ));
    assert!(seen.lock().unwrap().is_empty());
    let caps = bank.capabilities();
    assert!(caps.dynamic_qr && caps.cash_register_link && caps.partial_refund && caps.callbacks);
    assert!(!caps.customer_qr);
    assert!(!caps.supports(QrType::Customer));
    assert_eq!(bank.callback_ack_body(), None);
}

fn order_notification(amount: &str, status: &str, date: &str) -> String {
    format!(
        r#"{{"event":"payment","transaction":{{"id":120059,"orderId":"pay_1","status":{{"value":"{status}","date":"{date}"}},"paymentMethod":"sbp","paymentParams":{{"qrId":"{LINK}"}},"amount":{amount},"comment":"x","extra":{{}}}}}}"#
    )
}

#[tokio::test]
async fn order_notifications_are_verified() {
    let (bank, _) = fake_bank(vec![]).await;
    let date = "2019-07-11T17:45:13+03:00";
    let sig = order_notification_signature(
        &Secret::new("test-secret-key"),
        "12500.5",
        "MA0000000552",
        "pay_1",
        "SUCCESS",
        date,
    );
    let notice = bank
        .parse_callback(
            &headers(&sig),
            order_notification("12500.5", "SUCCESS", date).as_bytes(),
        )
        .unwrap();
    assert_eq!(
        notice,
        CallbackNotice {
            qr_id: None,
            order: Some("pay_1".into()),
            amount: Kopecks::new(1_250_050).unwrap(),
            currency: None,
            status: BankPaymentStatus::Paid {
                transaction_id: Some("120059".into())
            },
        }
    );
    // `12500.50` on the wire: signed over the canonical text.
    assert!(
        bank.parse_callback(
            &headers(&sig),
            order_notification("12500.50", "SUCCESS", date).as_bytes()
        )
        .is_ok()
    );
    // Another date, or the SBP-notice signature scheme's fields, do not verify.
    assert_eq!(
        bank.parse_callback(
            &headers(&sig),
            order_notification("12500.5", "SUCCESS", "2019-07-11T17:45:14+03:00").as_bytes()
        ),
        Err(CallbackError::BadSignature)
    );
    assert!(matches!(
        bank.parse_callback(&headers(&sig), br#"{"transaction":{"orderId":"x"}}"#),
        Err(CallbackError::Malformed(_))
    ));
}
