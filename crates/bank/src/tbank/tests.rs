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
        paid_amount: Kopecks::new(12345).unwrap(),
        refunded_before: Kopecks::ZERO,
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
    // No `DATA.QR`: the spec documents it for binding an account, not for a one-payment QR.
    assert!(init.get("DATA").is_none(), "{init}");
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

/// Every status of the spec's status model ("Статусная модель платежа", openapi.json), and
/// what it means for qrpayd.
const DOCUMENTED_STATUSES: [(&str, &str); 21] = [
    ("NEW", "not paid"),
    ("FORM_SHOWED", "not paid"),
    ("AUTHORIZING", "in progress"),
    ("3DS_CHECKING", "in progress"),
    ("3DS_CHECKED", "in progress"),
    ("AUTHORIZED", "in progress"),
    ("PAY_CHECKING", "in progress"),
    ("CONFIRMING", "in progress"),
    ("CONFIRMED", "paid"),
    ("REVERSING", "in progress"),
    ("PARTIAL_REVERSED", "in progress"),
    ("REVERSED", "not paid"),
    ("REFUNDING", "paid"),
    ("ASYNC_REFUNDING", "paid"),
    ("PARTIAL_REFUNDED", "paid"),
    ("REFUNDED", "paid"),
    ("CANCELED", "not paid"),
    ("DEADLINE_EXPIRED", "not paid"),
    ("ATTEMPTS_EXPIRED", "not paid"),
    ("REJECTED", "declined"),
    ("AUTH_FAIL", "declined"),
];

#[test]
fn every_documented_status_maps_and_the_spec_lists_no_other() {
    for (status, meaning) in DOCUMENTED_STATUSES {
        let got = match payment_status(status, "1") {
            BankPaymentStatus::NotPaid => "not paid",
            BankPaymentStatus::InProgress => "in progress",
            BankPaymentStatus::Paid { .. } => "paid",
            BankPaymentStatus::Declined => "declined",
            BankPaymentStatus::Unrecognised(_) => "unrecognised",
        };
        assert_eq!(got, meaning, "{status}");
    }
    assert_eq!(
        payment_status("SOMETHING_NEW", "1"),
        BankPaymentStatus::Unrecognised("SOMETHING_NEW".into())
    );
    // The published spec's status table (with `AsyncRefunding` spelled in its refund flows):
    // every status named there is in the list above.
    let spec = include_str!("../../tests/data/tbank-status-model.txt");
    let mut listed = 0;
    for line in spec.lines().filter(|l| l.starts_with("|`")) {
        let status = line.trim_start_matches("|`").split('`').next().unwrap();
        listed += 1;
        assert!(
            DOCUMENTED_STATUSES.iter().any(|(s, _)| *s == status),
            "{status} is documented but not mapped"
        );
    }
    assert!(listed >= 19, "the status table was not read ({listed})");
}

#[tokio::test]
async fn get_state_mapping_and_amounts() {
    let state = |status: &str, amount: i64| {
        ok(&format!(
            r#""PaymentId":"3093639567","OrderId":"pay_1","Status":"{status}","Amount":{amount}"#
        ))
    };
    let mut script: Vec<(u16, String)> = DOCUMENTED_STATUSES
        .iter()
        .map(|(s, _)| state(s, 12345))
        .collect();
    // After a partial refund the amount left is reported; a paid amount must be exact.
    script.push(state("PARTIAL_REFUNDED", 345));
    script.push(state("CONFIRMED", 345));
    script.push(state("SOMETHING_NEW", 12345));
    let (bank, seen) = fake_bank(script).await;
    for (status, _) in DOCUMENTED_STATUSES {
        assert_eq!(
            bank.payment_status(&query()).await,
            Ok(payment_status(status, "3093639567")),
            "{status}"
        );
    }
    assert!(bank.payment_status(&query()).await.is_ok());
    assert!(matches!(
        bank.payment_status(&query()).await,
        Err(BankError::Protocol(_))
    ));
    // An undocumented status is reported, not an error: the service keeps asking.
    assert_eq!(
        bank.payment_status(&query()).await,
        Ok(BankPaymentStatus::Unrecognised("SOMETHING_NEW".into()))
    );
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
        state("ATTEMPTS_EXPIRED"),
        state("NEW"),
        (200, r#"{"Success":false,"ErrorCode":"4","Message":"Изменение статуса не разрешено"}"#.into()),
    ])
    .await;
    assert_eq!(bank.deactivate_qr(&query()).await, Ok(Deactivation::Closed));
    // Paid: nothing to cancel (a Cancel would refund it); the status decides.
    assert_eq!(bank.deactivate_qr(&query()).await, Ok(Deactivation::Closed));
    assert!(matches!(
        bank.deactivate_qr(&query()).await,
        Ok(Deactivation::StillOpen(_))
    ));
    assert_eq!(bank.deactivate_qr(&query()).await, Ok(Deactivation::Closed));
    assert_eq!(bank.deactivate_qr(&query()).await, Ok(Deactivation::Closed));
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
            "/tbank/v2/GetState",
            "/tbank/v2/Cancel",
        ]
    );
    let cancel = &seen.lock().unwrap()[1].1;
    assert!(cancel.get("Amount").is_none(), "{cancel}");
}

#[tokio::test]
async fn a_cancel_the_bank_turned_into_a_refund_is_reported_as_that_refund() {
    let state = |status: &str, amount: i64| {
        ok(&format!(
            r#""PaymentId":"3093639567","OrderId":"pay_1","Status":"{status}","Amount":{amount}"#
        ))
    };
    let (bank, _) = fake_bank(vec![
        // The customer pays between GetState and Cancel: the bank refunds the payment.
        state("NEW", 12345),
        ok(r#""PaymentId":"3093639567","OrderId":"pay_1","Status":"ASYNC_REFUNDING","OriginalAmount":12345,"NewAmount":0"#),
        state("FORM_SHOWED", 12345),
        ok(r#""PaymentId":"3093639567","OrderId":"pay_1","Status":"REFUNDED","OriginalAmount":12345,"NewAmount":0"#),
        // After a crash: the payment being closed already shows the refund.
        state("REFUNDED", 0),
        state("ASYNC_REFUNDING", 12345),
    ])
    .await;
    let full = Kopecks::new(12345).unwrap();
    assert_eq!(
        bank.deactivate_qr(&query()).await,
        Ok(Deactivation::Refunded {
            amount: full,
            status: BankRefundStatus::InProgress
        })
    );
    assert_eq!(
        bank.deactivate_qr(&query()).await,
        Ok(Deactivation::Refunded {
            amount: full,
            status: BankRefundStatus::Completed
        })
    );
    assert_eq!(
        bank.deactivate_qr(&query()).await,
        Ok(Deactivation::Refunded {
            amount: full,
            status: BankRefundStatus::Completed
        })
    );
    assert_eq!(
        bank.deactivate_qr(&query()).await,
        Ok(Deactivation::Refunded {
            amount: full,
            status: BankRefundStatus::InProgress
        })
    );
}

#[tokio::test]
async fn a_refund_is_sent_only_when_the_banks_amounts_match_the_journal() {
    let state = |status: &str, left: i64| {
        ok(&format!(
            r#""PaymentId":"3093639567","OrderId":"pay_1","Status":"{status}","Amount":{left}"#
        ))
    };
    let (bank, seen) = fake_bank(vec![
        // 1: baseline CONFIRMED, full amount left → Cancel.
        state("CONFIRMED", 12345),
        ok(r#""PaymentId":"3093639567","OrderId":"pay_1","Status":"ASYNC_REFUNDING","OriginalAmount":12345,"NewAmount":7295"#),
        // 2: another refund is in progress at the bank → not sent.
        state("ASYNC_REFUNDING", 12345),
        // 3: the bank has refunded more than the journal knows → not sent.
        state("PARTIAL_REFUNDED", 7295),
        // 4: the Cancel answer's amounts do not add up.
        state("CONFIRMED", 12345),
        ok(r#""PaymentId":"3093639567","OrderId":"pay_1","Status":"ASYNC_REFUNDING","OriginalAmount":12345,"NewAmount":7000"#),
        // 5: refused.
        state("CONFIRMED", 12345),
        (200, r#"{"Success":false,"ErrorCode":"14","Message":"Сумма возврата больше остатка"}"#.into()),
    ])
    .await;
    assert_eq!(
        bank.refund(&refund(5050)).await,
        Ok(BankRefundStatus::InProgress)
    );
    for _ in 0..3 {
        assert!(matches!(
            bank.refund(&refund(5050)).await,
            Err(BankError::Protocol(_))
        ));
    }
    assert!(matches!(
        bank.refund(&refund(5050)).await,
        Err(BankError::Rejected { code, .. }) if code == "14"
    ));
    let seen = seen.lock().unwrap();
    let (path, cancel) = &seen[1];
    assert_eq!(path, "/tbank/v2/Cancel");
    assert_eq!(cancel["Amount"], 5050);
    assert_eq!(cancel["PaymentId"], "3093639567");
    // No ExternalRequestId: "the parameter does not work for SBP operations".
    assert!(cancel.get("ExternalRequestId").is_none(), "{cancel}");
    assert_eq!(cancel["Token"], expected_token(cancel));
    let cancels = seen.iter().filter(|(p, _)| p == "/tbank/v2/Cancel").count();
    assert_eq!(cancels, 3, "no Cancel unless the amounts matched");
}

#[tokio::test]
async fn a_refunds_outcome_is_derived_from_the_payments_amounts() {
    let state = |status: &str, left: i64| {
        ok(&format!(
            r#""PaymentId":"3093639567","OrderId":"pay_1","Status":"{status}","Amount":{left}"#
        ))
    };
    let qr_state = |fields: &str| {
        ok(&format!(
            r#""OrderId":"pay_1","Status":"CONFIRMED"{fields}"#
        ))
    };
    let (bank, seen) = fake_bank(vec![
        state("ASYNC_REFUNDING", 12345),
        state("PARTIAL_REFUNDED", 7295),
        // No trace: GetQrState has no failed refund of our amount.
        state("CONFIRMED", 12345),
        qr_state(""),
        // A failed SBP refund of our amount.
        state("CONFIRMED", 12345),
        qr_state(r#","Amount":5050,"QrCancelCode":"I05043","QrCancelMessage":"нет счёта""#),
        // Amounts that fit neither before nor after this refund.
        state("PARTIAL_REFUNDED", 1000),
    ])
    .await;
    assert_eq!(
        bank.refund_status(&refund(5050)).await,
        Ok(Some(BankRefundStatus::InProgress))
    );
    assert_eq!(
        bank.refund_status(&refund(5050)).await,
        Ok(Some(BankRefundStatus::Completed))
    );
    assert_eq!(bank.refund_status(&refund(5050)).await, Ok(None));
    assert_eq!(
        bank.refund_status(&refund(5050)).await,
        Ok(Some(BankRefundStatus::Declined))
    );
    assert!(matches!(
        bank.refund_status(&refund(5050)).await,
        Err(BankError::Protocol(_))
    ));
    // A second partial refund counts what the journal says was refunded before.
    let second = RefundRequest {
        refunded_before: Kopecks::new(5050).unwrap(),
        ..refund(7295)
    };
    let (bank, _) = fake_bank(vec![state("REFUNDED", 0)]).await;
    assert_eq!(
        bank.refund_status(&second).await,
        Ok(Some(BankRefundStatus::Completed))
    );
    let seen = seen.lock().unwrap();
    let (path, asked) = &seen[3];
    assert_eq!(path, "/tbank/v2/GetQrState");
    assert!(asked.get("ExternalRequestId").is_none(), "{asked}");
    assert_eq!(asked["Token"], expected_token(asked));
}

#[test]
fn limits_are_the_documented_sbp_range() {
    assert_eq!(CAPABILITIES.min_amount, Some(Kopecks::new(1_000).unwrap()));
    assert_eq!(
        CAPABILITIES.max_amount,
        Some(Kopecks::new(100_000_000).unwrap())
    );
    assert!(CAPABILITIES.accepts_amount(Kopecks::new(1_000).unwrap()));
    assert!(!CAPABILITIES.accepts_amount(Kopecks::new(999).unwrap()));
    assert!(!CAPABILITIES.accepts_amount(Kopecks::new(100_000_001).unwrap()));
    assert_eq!(CAPABILITIES.min_lifetime_seconds, Some(60));
    assert_eq!(CAPABILITIES.refund_identity, RefundIdentity::ByAmounts);
}

/// T-Bank's documented Token example (openapi.json, "Токен"): `Init` with nested `DATA` and
/// `Receipt` left out, password `usaf8fw8fsw21g`.
#[test]
fn the_documented_token_example() {
    let body = serde_json::json!({
        "TerminalKey": "MerchantTerminalKey",
        "Amount": 19200,
        "OrderId": "21090",
        "Description": "Подарочная карта на 1000 рублей",
        "DATA": {"Phone": "+71234567890", "Email": "a@test.com"},
        "Receipt": {"Email": "a@test.ru", "Items": []},
    });
    let serde_json::Value::Object(params) = body else {
        unreachable!()
    };
    assert_eq!(
        request_token(&params, &Secret::new("usaf8fw8fsw21g")),
        "0024a00af7c350a3a67ca168ce06502aa72772456662e38696d48b56ee9c97d9"
    );
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
            order: Some("pay_1".into()),
            amount: Some(Kopecks::new(12345).unwrap()),
            currency: None,
            status: Some(BankPaymentStatus::Paid {
                transaction_id: Some("3093639567".into())
            }),
        }
    );
    assert_eq!(
        bank.parse_callback(
            &headers,
            notification("REJECTED", 12345, PASSWORD).as_bytes()
        )
        .unwrap()
        .status,
        Some(BankPaymentStatus::Declined)
    );
    // A fiscal receipt notice says nothing about the payment: no status to act on.
    assert_eq!(
        bank.parse_callback(
            &headers,
            notification("RECEIPT", 12345, PASSWORD).as_bytes()
        )
        .unwrap()
        .status,
        None
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
