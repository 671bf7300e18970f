//! T-Bank adapter tests against a scripted fake bank: signing of every request, error
//! mapping, answer checks, status mapping, refunds and notifications. The full flow against
//! qrpayd's sandbox is covered by the sandbox's and the service's tests.

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
use sha2::{Digest, Sha256};

use super::*;

const TERMINAL: &str = "1726675329428DEMO";
const PASSWORD: &str = "tbank-test-password";
const LINK: &str = "https://qr.nspk.ru/AD10000000000000000000000000TEST?type=02&bank=100000000004&sum=12345&cur=RUB&crc=0000";

/// One scripted answer: status, body.
type Script = Arc<Mutex<Vec<(u16, String)>>>;
/// What the fake saw: path and JSON body of each request.
type Seen = Arc<Mutex<Vec<(String, serde_json::Value)>>>;

async fn fake_bank(script: Vec<(u16, String)>) -> (TBank, Seen) {
    let script: Script = Arc::new(Mutex::new(script.into_iter().rev().collect()));
    let seen: Seen = Arc::new(Mutex::new(Vec::new()));
    let seen2 = seen.clone();
    let app = Router::new().fallback(any(move |req: axum::extract::Request| {
        let script = script.clone();
        let seen = seen2.clone();
        async move {
            let path = req.uri().path().to_owned();
            let body = axum::body::to_bytes(req.into_body(), 1 << 20)
                .await
                .unwrap();
            let json = serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
            seen.lock().unwrap().push((path, json));
            let (status, body) = script.lock().unwrap().pop().unwrap_or((404, String::new()));
            (StatusCode::from_u16(status).unwrap(), body).into_response()
        }
    }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let bank = TBank::new(TBankConfig {
        base_url: format!("http://{addr}/tbank/"),
        terminal_key: TERMINAL.into(),
        password: Secret::new(PASSWORD),
        timeout: Duration::from_millis(300),
    })
    .unwrap();
    (bank, seen)
}

fn ok(fields: &str) -> (u16, String) {
    (
        200,
        format!(r#"{{"Success":true,"ErrorCode":"0","TerminalKey":"{TERMINAL}",{fields}}}"#),
    )
}

fn create(amount: i64) -> CreateQr {
    CreateQr {
        payment_id: PaymentId::parse("pay_1").unwrap(),
        amount: Kopecks::new(amount).unwrap(),
        currency: Currency::Rub,
        expires_at: chrono::DateTime::parse_from_rfc3339("2026-11-28T10:05:00Z")
            .unwrap()
            .to_utc(),
        description: Some("Чек 42".into()),
        kind: QrKind::Dynamic,
    }
}

fn query() -> PaymentQuery {
    PaymentQuery {
        payment_id: PaymentId::parse("pay_1").unwrap(),
        qr_id: QrId::parse("3093639567").unwrap(),
        amount: Kopecks::new(12345).unwrap(),
        currency: Currency::Rub,
        qr_type: QrType::Dynamic,
    }
}

fn refund(amount: i64) -> RefundRequest {
    RefundRequest {
        refund_id: RefundId::parse("rf_1").unwrap(),
        payment_id: PaymentId::parse("pay_1").unwrap(),
        amount: Kopecks::new(amount).unwrap(),
        transaction_id: Some("3093639567".into()),
        details: None,
        qr_type: QrType::Dynamic,
        qr_id: Some(QrId::parse("3093639567").unwrap()),
    }
}

/// The Token of a request as T-Bank recomputes it, by the documented rule, written out.
fn expected_token(body: &serde_json::Value) -> String {
    let mut pairs: Vec<(String, String)> = body
        .as_object()
        .unwrap()
        .iter()
        .filter(|(k, _)| k.as_str() != "Token")
        .filter_map(|(k, v)| {
            let text = match v {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Number(n) => n.to_string(),
                serde_json::Value::Bool(b) => b.to_string(),
                _ => return None,
            };
            Some((k.clone(), text))
        })
        .collect();
    pairs.push(("Password".into(), PASSWORD.into()));
    pairs.sort();
    let concatenated: String = pairs.into_iter().map(|(_, v)| v).collect();
    hex::encode(Sha256::digest(concatenated.as_bytes()))
}

#[tokio::test]
async fn init_then_get_qr_signed_and_checked() {
    let (bank, seen) = fake_bank(vec![
        ok(r#""Status":"NEW","PaymentId":"3093639567","OrderId":"pay_1","Amount":12345,"PaymentURL":"https://x""#),
        ok(&format!(r#""PaymentId":3093639567,"OrderId":"pay_1","Data":"{LINK}""#)),
    ])
    .await;
    bank.register_callback_url("https://store.example/v1/callbacks/tbank")
        .await
        .unwrap();
    let qr = bank.create_qr(&create(12345)).await.unwrap();
    assert_eq!(qr.qr_id.as_str(), "3093639567");
    assert_eq!(qr.payload, LINK);
    let seen = seen.lock().unwrap();
    let (path, init) = &seen[0];
    assert_eq!(path, "/tbank/v2/Init");
    assert_eq!(init["TerminalKey"], TERMINAL);
    assert_eq!(init["Amount"], 12345);
    assert_eq!(init["OrderId"], "pay_1");
    assert_eq!(init["Description"], "Чек 42");
    assert_eq!(init["RedirectDueDate"], "2026-11-28T13:05:00+03:00");
    assert_eq!(
        init["NotificationURL"],
        "https://store.example/v1/callbacks/tbank"
    );
    assert_eq!(init["DATA"]["QR"], "true");
    assert_eq!(init["Token"], expected_token(init));
    let (path, get_qr) = &seen[1];
    assert_eq!(path, "/tbank/v2/GetQr");
    assert_eq!(get_qr["PaymentId"], "3093639567");
    assert_eq!(get_qr["DataType"], "PAYLOAD");
    assert_eq!(get_qr["Token"], expected_token(get_qr));
}

#[tokio::test]
async fn business_errors_come_with_http_200() {
    let (bank, _) = fake_bank(vec![
        (
            200,
            r#"{"Success":false,"ErrorCode":"204","Message":"Неверный токен.","Details":"Проверьте пару TerminalKey и Password."}"#.into(),
        ),
        (200, r#"{"Success":true,"ErrorCode":"9"}"#.into()),
        (502, "bad gateway".into()),
        (200, "<html>".into()),
    ])
    .await;
    let err = bank.create_qr(&create(12345)).await.unwrap_err();
    assert_eq!(
        err,
        BankError::Rejected {
            code: "204".into(),
            message: "Неверный токен. Проверьте пару TerminalKey и Password.".into()
        }
    );
    assert!(matches!(
        bank.create_qr(&create(12345)).await,
        Err(BankError::Rejected { code, .. }) if code == "9"
    ));
    assert!(matches!(
        bank.create_qr(&create(12345)).await,
        Err(BankError::Unavailable(_))
    ));
    assert!(matches!(
        bank.create_qr(&create(12345)).await,
        Err(BankError::Protocol(_))
    ));
}

#[tokio::test]
async fn answers_for_another_amount_payment_or_terminal_are_refused() {
    let other_sum = LINK.replace("sum=12345", "sum=12346");
    let (bank, _) = fake_bank(vec![
        ok(r#""Status":"NEW","PaymentId":"1","OrderId":"pay_1","Amount":12346"#),
        ok(r#""Status":"NEW","PaymentId":"1","OrderId":"pay_2","Amount":12345"#),
        ok(r#""Status":"NEW","PaymentId":"1","OrderId":"pay_1","Amount":12345"#),
        ok(&format!(r#""PaymentId":"1","Data":"{other_sum}""#)),
        ok(r#""Status":"NEW","PaymentId":"1","OrderId":"pay_1","Amount":12345"#),
        ok(r#""PaymentId":"1","Data":"https://example.com/pay""#),
        (
            200,
            r#"{"Success":true,"ErrorCode":"0","TerminalKey":"OtherDEMO","PaymentId":"1","Amount":12345}"#.into(),
        ),
    ])
    .await;
    for _ in 0..5 {
        assert!(
            matches!(
                bank.create_qr(&create(12345)).await,
                Err(BankError::Protocol(_))
            ),
            "should refuse"
        );
    }
}

#[tokio::test]
async fn get_state_mapping() {
    let state = |status: &str, amount: i64| {
        ok(&format!(
            r#""PaymentId":"3093639567","OrderId":"pay_1","Status":"{status}","Amount":{amount}"#
        ))
    };
    let cases = [
        ("NEW", BankPaymentStatus::NotPaid),
        ("FORM_SHOWED", BankPaymentStatus::NotPaid),
        ("AUTHORIZING", BankPaymentStatus::InProgress),
        ("AUTHORIZED", BankPaymentStatus::InProgress),
        ("CONFIRMING", BankPaymentStatus::InProgress),
        (
            "CONFIRMED",
            BankPaymentStatus::Paid {
                transaction_id: Some("3093639567".into()),
            },
        ),
        ("REJECTED", BankPaymentStatus::Declined),
        ("DEADLINE_EXPIRED", BankPaymentStatus::NotPaid),
        ("CANCELED", BankPaymentStatus::NotPaid),
        ("REVERSED", BankPaymentStatus::NotPaid),
        (
            "REFUNDED",
            BankPaymentStatus::Paid {
                transaction_id: Some("3093639567".into()),
            },
        ),
        (
            "PARTIAL_REFUNDED",
            BankPaymentStatus::Paid {
                transaction_id: Some("3093639567".into()),
            },
        ),
    ];
    let mut script: Vec<(u16, String)> = cases.iter().map(|(s, _)| state(s, 12345)).collect();
    // After a partial refund the amount left may be reported; a paid amount must be exact.
    script.push(state("PARTIAL_REFUNDED", 345));
    script.push(state("CONFIRMED", 345));
    script.push(state("SOMETHING_NEW", 12345));
    let (bank, seen) = fake_bank(script).await;
    for (status, want) in cases {
        assert_eq!(bank.payment_status(&query()).await, Ok(want), "{status}");
    }
    assert!(bank.payment_status(&query()).await.is_ok());
    assert!(matches!(
        bank.payment_status(&query()).await,
        Err(BankError::Protocol(_))
    ));
    assert!(matches!(
        bank.payment_status(&query()).await,
        Err(BankError::Protocol(_))
    ));
    let seen = seen.lock().unwrap();
    assert!(seen.iter().all(|(path, _)| path == "/tbank/v2/GetState"));
    assert_eq!(seen[0].1["PaymentId"], "3093639567");
    assert_eq!(seen[0].1["Token"], expected_token(&seen[0].1));
}

#[tokio::test]
async fn deactivation_cancels_only_an_unpaid_payment() {
    let state = |status: &str| {
        ok(&format!(
            r#""PaymentId":"3093639567","OrderId":"pay_1","Status":"{status}","Amount":12345"#
        ))
    };
    let (bank, seen) = fake_bank(vec![
        state("FORM_SHOWED"),
        ok(r#""PaymentId":"3093639567","OrderId":"pay_1","Status":"CANCELED","OriginalAmount":12345,"NewAmount":0"#),
        state("CONFIRMED"),
        state("AUTHORIZING"),
        state("DEADLINE_EXPIRED"),
        state("NEW"),
        (200, r#"{"Success":false,"ErrorCode":"4","Message":"Изменение статуса не разрешено"}"#.into()),
    ])
    .await;
    for _ in 0..4 {
        assert_eq!(bank.deactivate_qr(&query()).await, Ok(()));
    }
    assert!(matches!(
        bank.deactivate_qr(&query()).await,
        Err(BankError::Rejected { code, .. }) if code == "4"
    ));
    let paths: Vec<String> = seen
        .lock()
        .unwrap()
        .iter()
        .map(|(p, _)| p.clone())
        .collect();
    assert_eq!(
        paths,
        [
            "/tbank/v2/GetState",
            "/tbank/v2/Cancel",
            "/tbank/v2/GetState",
            "/tbank/v2/GetState",
            "/tbank/v2/GetState",
            "/tbank/v2/GetState",
            "/tbank/v2/Cancel",
        ]
    );
    let cancel = &seen.lock().unwrap()[1].1;
    assert!(cancel.get("Amount").is_none(), "{cancel}");
}

#[tokio::test]
async fn refunds_carry_the_amount_and_our_id() {
    let (bank, seen) = fake_bank(vec![
        ok(r#""PaymentId":"3093639567","OrderId":"pay_1","Status":"ASYNC_REFUNDING","OriginalAmount":12345,"NewAmount":7295,"ExternalRequestId":"rf_1""#),
        ok(r#""PaymentId":"3093639567","Status":"ASYNC_REFUNDING","Amount":5050,"ExternalRequestId":"rf_1""#),
        ok(r#""PaymentId":"3093639567","Status":"PARTIAL_REFUNDED","Amount":5050,"ExternalRequestId":"rf_1""#),
        (200, format!(r#"{{"Success":false,"ErrorCode":"{REFUND_NOT_FOUND}","Message":"Возврат не найден"}}"#)),
        ok(r#""PaymentId":"3093639567","Status":"REFUNDED","Amount":5051,"ExternalRequestId":"rf_1""#),
        ok(r#""PaymentId":"3093639567","Status":"REFUNDED","Amount":5050,"ExternalRequestId":"rf_2""#),
        ok(r#""PaymentId":"3093639567","Status":"ASYNC_REFUNDING","OriginalAmount":12345,"NewAmount":7000"#),
        (200, r#"{"Success":false,"ErrorCode":"14","Message":"Сумма возврата больше остатка"}"#.into()),
    ])
    .await;
    assert_eq!(
        bank.refund(&refund(5050)).await,
        Ok(BankRefundStatus::InProgress)
    );
    assert_eq!(
        bank.refund_status(&refund(5050)).await,
        Ok(Some(BankRefundStatus::InProgress))
    );
    assert_eq!(
        bank.refund_status(&refund(5050)).await,
        Ok(Some(BankRefundStatus::Completed))
    );
    assert_eq!(bank.refund_status(&refund(5050)).await, Ok(None));
    // An answer about another amount or another refund is not taken for ours.
    assert!(matches!(
        bank.refund_status(&refund(5050)).await,
        Err(BankError::Protocol(_))
    ));
    assert!(matches!(
        bank.refund_status(&refund(5050)).await,
        Err(BankError::Protocol(_))
    ));
    assert!(matches!(
        bank.refund(&refund(5050)).await,
        Err(BankError::Protocol(_))
    ));
    assert!(matches!(
        bank.refund(&refund(5050)).await,
        Err(BankError::Rejected { code, .. }) if code == "14"
    ));
    let seen = seen.lock().unwrap();
    let (path, cancel) = &seen[0];
    assert_eq!(path, "/tbank/v2/Cancel");
    assert_eq!(cancel["Amount"], 5050);
    assert_eq!(cancel["ExternalRequestId"], "rf_1");
    assert_eq!(cancel["PaymentId"], "3093639567");
    assert_eq!(cancel["Token"], expected_token(cancel));
    let (path, state) = &seen[1];
    assert_eq!(path, "/tbank/v2/GetQrState");
    assert_eq!(state["ExternalRequestId"], "rf_1");
    assert_eq!(state["Token"], expected_token(state));
}

#[tokio::test]
async fn what_t_bank_cannot_do_is_refused_without_a_call() {
    let (bank, seen) = fake_bank(vec![]).await;
    let link = CreateQr {
        kind: QrKind::CashLink {
            link_qr_id: QrId::parse("AS1R0000000000000000000000000TST").unwrap(),
            link_payload: "https://qr.nspk.ru/AS1R0000000000000000000000000TST".into(),
        },
        ..create(100)
    };
    let customer = CreateQr {
        kind: QrKind::Customer {
            scanned: "x".into(),
        },
        ..create(100)
    };
    for request in [link, customer] {
        assert!(matches!(
            bank.create_qr(&request).await,
            Err(BankError::Unsupported(_))
        ));
    }
    assert!(matches!(
        bank.register_cash_link().await,
        Err(BankError::Unsupported(_))
    ));
    let no_payment_id = RefundRequest {
        qr_id: None,
        ..refund(100)
    };
    assert!(matches!(
        bank.refund(&no_payment_id).await,
        Err(BankError::Protocol(_))
    ));
    assert!(seen.lock().unwrap().is_empty());
    let caps = bank.capabilities();
    assert!(!caps.cash_register_link && !caps.customer_qr);
    assert!(caps.dynamic_qr && caps.partial_refund && caps.callbacks);
    assert_eq!(bank.callback_ack_body(), Some("OK"));
}

/// A notification as T-Bank sends it, signed by the documented rule written out by hand.
fn notification(status: &str, amount: i64, password: &str) -> String {
    let concatenated = format!("{amount}0pay_1{password}3093639567{status}true{TERMINAL}");
    // Sorted keys: Amount, ErrorCode, OrderId, Password, PaymentId, Status, Success,
    // TerminalKey.
    let token = hex::encode(Sha256::digest(concatenated.as_bytes()));
    format!(
        r#"{{"TerminalKey":"{TERMINAL}","OrderId":"pay_1","Success":true,"Status":"{status}","PaymentId":3093639567,"ErrorCode":"0","Amount":{amount},"Token":"{token}"}}"#
    )
}

#[tokio::test]
async fn notifications_are_verified_with_the_token() {
    let (bank, _) = fake_bank(vec![]).await;
    let headers = reqwest::header::HeaderMap::new();
    let notice = bank
        .parse_callback(
            &headers,
            notification("CONFIRMED", 12345, PASSWORD).as_bytes(),
        )
        .unwrap();
    assert_eq!(
        notice,
        CallbackNotice {
            qr_id: Some(QrId::parse("3093639567").unwrap()),
            order: Some("pay_1".into()),
            amount: Kopecks::new(12345).unwrap(),
            currency: None,
            status: BankPaymentStatus::Paid {
                transaction_id: Some("3093639567".into())
            },
        }
    );
    assert_eq!(
        bank.parse_callback(
            &headers,
            notification("REJECTED", 12345, PASSWORD).as_bytes()
        )
        .unwrap()
        .status,
        BankPaymentStatus::Declined
    );
    // Wrong password, tampered amount, no token, garbage.
    assert_eq!(
        bank.parse_callback(
            &headers,
            notification("CONFIRMED", 12345, "other").as_bytes()
        ),
        Err(CallbackError::BadSignature)
    );
    let tampered = notification("CONFIRMED", 12345, PASSWORD).replace("12345", "1");
    assert_eq!(
        bank.parse_callback(&headers, tampered.as_bytes()),
        Err(CallbackError::BadSignature)
    );
    assert_eq!(
        bank.parse_callback(&headers, br#"{"TerminalKey":"x","Amount":1}"#),
        Err(CallbackError::BadSignature)
    );
    assert!(matches!(
        bank.parse_callback(&headers, b"OK"),
        Err(CallbackError::Malformed(_))
    ));
}
