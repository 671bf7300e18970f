//! Adapter tests against a scripted fake bank: error mapping and answer checks. The full flow
//! against qrpayd's sandbox is covered by the service's API tests.

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
        expires_at: chrono::Utc::now() + chrono::Duration::minutes(5),
        description: None,
    }
}

fn query() -> PaymentQuery {
    PaymentQuery {
        payment_id: PaymentId::parse("pay_1").unwrap(),
        qr_id: QrId::parse("AD100004BAL7227F9BNP6KNE007J9B3K").unwrap(),
        amount: Kopecks::new(12345).unwrap(),
        currency: Currency::Rub,
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
    let qr = query().qr_id;
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
    let id = RefundId::parse("rf_1").unwrap();
    let amount = Kopecks::new(5050).unwrap();
    assert_eq!(
        bank.refund_status(&id, amount).await,
        Ok(Some(BankRefundStatus::Completed))
    );
    assert_eq!(bank.refund_status(&id, amount).await, Ok(None));
    assert!(matches!(
        bank.refund(&refund_request(5050)).await,
        Err(BankError::Rejected { code, .. }) if code == "ERROR.REFUND_INSUFFICIENT_FUNDS"
    ));
    // An answer for another amount is not trusted.
    assert!(matches!(
        bank.refund_status(&id, amount).await,
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
