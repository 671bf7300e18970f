//! RBS adapter tests against a scripted fake gateway: the form each method sends, `errorCode`
//! with HTTP 200, answer checks, the exhaustive status mappings, refunds by
//! `externalRefundId`, and notifications verified with the documentation's own vectors. The
//! full flow against qrpayd's sandbox is covered by the sandbox's and the service's tests.

// fixed-dates: dates here are inputs (an expiry rendered in Moscow time); the code under test
// gets its time from the request, never from the wall clock.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::any;
use qrpayd_domain::ids::{PaymentId, QrId, RefundId};
use qrpayd_domain::money::{Currency, Kopecks};

use super::*;

const MD_ORDER: &str = "01491d0b-c848-7dd6-a20d-e96900a7d8c0";
const QR: &str = "AD10006M8KH4TEKN9JPQB3UQSAJU2T4N";
const LINK: &str = "https://qr.nspk.ru/AD10006M8KH4TEKN9JPQB3UQSAJU2T4N?type=02&bank=100000000008&sum=12345&cur=RUB&crc=0000";

/// One scripted answer: status, body.
type Script = Arc<Mutex<Vec<(u16, String)>>>;
/// What the fake saw: path and form parameters of each request.
type Seen = Arc<Mutex<Vec<(String, Vec<(String, String)>)>>>;

async fn fake_gateway(script: Vec<(u16, String)>, auth: Auth) -> (Rbs, Seen) {
    fake_with(
        script,
        auth,
        CallbackCheck::Key(Secret::new("callback-key")),
    )
    .await
}

async fn fake_with(script: Vec<(u16, String)>, auth: Auth, callback: CallbackCheck) -> (Rbs, Seen) {
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
            let form = checksum::parse_form(&body).unwrap_or_default();
            seen.lock().unwrap().push((path, form));
            let (status, body) = script.lock().unwrap().pop().unwrap_or((404, String::new()));
            (StatusCode::from_u16(status).unwrap(), body).into_response()
        }
    }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let bank = Rbs::new(RbsConfig {
        base_url: format!("http://{addr}/payment/"),
        auth,
        callback,
        timeout: Duration::from_millis(300),
    })
    .unwrap();
    (bank, seen)
}

fn login() -> Auth {
    Auth::Login {
        user_name: "shop-api".into(),
        password: Secret::new("shop-password"),
    }
}

fn ok(body: &str) -> (u16, String) {
    (200, body.to_owned())
}

fn param<'a>(form: &'a [(String, String)], name: &str) -> Option<&'a str> {
    form.iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

fn create(amount: i64) -> CreateQr {
    CreateQr {
        payment_id: PaymentId::parse("pay_0192f0c1e2d37a8b9c0d1e2f3a4b5c6d").unwrap(),
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
        payment_id: PaymentId::parse("pay_0192f0c1e2d37a8b9c0d1e2f3a4b5c6d").unwrap(),
        qr_id: QrId::parse(&reference::pack(MD_ORDER, QR)).unwrap(),
        amount: Kopecks::new(12345).unwrap(),
        currency: Currency::Rub,
        qr_type: QrType::Dynamic,
    }
}

fn refund(amount: i64) -> RefundRequest {
    RefundRequest {
        refund_id: RefundId::parse("rf_0192f0c1e2d37a8b9c0d1e2f3a4b5c6e").unwrap(),
        payment_id: PaymentId::parse("pay_0192f0c1e2d37a8b9c0d1e2f3a4b5c6d").unwrap(),
        amount: Kopecks::new(amount).unwrap(),
        transaction_id: Some(MD_ORDER.into()),
        details: None,
        qr_type: QrType::Dynamic,
        qr_id: Some(query().qr_id),
        paid_amount: Kopecks::new(12345).unwrap(),
        refunded_before: Kopecks::ZERO,
    }
}

/// `getOrderStatusExtended.do` answer of our order with `fields` added.
fn order(fields: &str) -> (u16, String) {
    ok(&format!(
        r#"{{"errorCode":"0","errorMessage":"Успешно","orderNumber":"pay_0192f0c1e2d37a8b9c0d1e2f3a4b5c6d","amount":12345,"currency":"643",{fields}}}"#
    ))
}

#[tokio::test]
async fn create_registers_the_order_then_asks_for_its_qr() {
    let (bank, seen) = fake_gateway(
        vec![
            ok(&format!(
                r#"{{"orderId":"{MD_ORDER}","formUrl":"https://x/pay"}}"#
            )),
            ok(&format!(
                r#"{{"errorCode":"0","qrId":"{QR}","payload":"{LINK}","qrStatus":"STARTED"}}"#
            )),
        ],
        login(),
    )
    .await;
    bank.register_callback_url("https://qrpayd.example/v1/callbacks/vtb")
        .await
        .unwrap();
    let issued = bank.create_qr(&create(12345)).await.unwrap();
    assert_eq!(issued.payload, LINK);
    assert_eq!(
        reference::unpack(issued.qr_id.as_str()),
        (MD_ORDER.to_owned(), Some(QR.to_owned()))
    );
    let seen = seen.lock().unwrap();
    let (path, form) = &seen[0];
    assert_eq!(path, "/payment/rest/register.do");
    assert_eq!(param(form, "userName"), Some("shop-api"));
    assert_eq!(param(form, "password"), Some("shop-password"));
    assert_eq!(param(form, "token"), None);
    assert_eq!(
        param(form, "orderNumber"),
        Some("pay_0192f0c1e2d37a8b9c0d1e2f3a4b5c6d")
    );
    assert_eq!(param(form, "amount"), Some("12345"));
    assert_eq!(param(form, "currency"), Some("643"));
    assert_eq!(param(form, "returnUrl"), Some(RETURN_URL));
    // 10:05 UTC is 13:05 in Moscow.
    assert_eq!(param(form, "expirationDate"), Some("2026-11-28T13:05:00"));
    assert_eq!(param(form, "description"), Some("Чек 42"));
    assert_eq!(
        param(form, "dynamicCallbackUrl"),
        Some("https://qrpayd.example/v1/callbacks/vtb")
    );
    let (path, form) = &seen[1];
    assert_eq!(path, "/payment/rest/sbp/c2b/qr/dynamic/get.do");
    assert_eq!(param(form, "mdOrder"), Some(MD_ORDER));
}

#[tokio::test]
async fn token_auth_sends_the_token_only() {
    let (bank, seen) = fake_gateway(
        vec![order(r#""orderStatus":2,"actionCode":0"#)],
        Auth::Token(Secret::new("merchant-token")),
    )
    .await;
    bank.payment_status(&query()).await.unwrap();
    let seen = seen.lock().unwrap();
    let form = &seen[0].1;
    assert_eq!(param(form, "token"), Some("merchant-token"));
    assert_eq!(param(form, "userName"), None);
    assert_eq!(param(form, "password"), None);
    assert_eq!(param(form, "orderId"), Some(MD_ORDER));
}

#[tokio::test]
async fn error_code_with_http_200_is_a_refusal() {
    // BANKS.md §3.6: errors come with HTTP 200 and a non-zero errorCode, as text or number.
    for body in [
        r#"{"errorCode":"1","errorMessage":"Заказ с таким номером уже обработан"}"#,
        r#"{"errorCode":5,"errorMessage":"Доступ запрещён"}"#,
    ] {
        let (bank, _) = fake_gateway(vec![ok(body)], login()).await;
        match bank.create_qr(&create(12345)).await {
            Err(BankError::Rejected { code, message }) => {
                assert!(code == "1" || code == "5", "{code}");
                assert!(!message.is_empty());
            }
            other => panic!("{other:?}"),
        }
    }
    let (bank, _) = fake_gateway(vec![(500, "oops".into())], login()).await;
    assert!(matches!(
        bank.create_qr(&create(12345)).await,
        Err(BankError::Unavailable(_))
    ));
    let (bank, _) = fake_gateway(vec![ok("not json")], login()).await;
    assert!(matches!(
        bank.create_qr(&create(12345)).await,
        Err(BankError::Protocol(_))
    ));
}

#[tokio::test]
async fn a_qr_for_another_sum_or_without_an_nspk_link_is_refused() {
    let other_sum = LINK.replace("sum=12345", "sum=12346");
    for payload in [other_sum.as_str(), "https://example.com/pay"] {
        let (bank, _) = fake_gateway(
            vec![
                ok(&format!(r#"{{"orderId":"{MD_ORDER}"}}"#)),
                ok(&format!(
                    r#"{{"qrId":"{QR}","payload":"{payload}","qrStatus":"STARTED"}}"#
                )),
            ],
            login(),
        )
        .await;
        assert!(
            matches!(
                bank.create_qr(&create(12345)).await,
                Err(BankError::Protocol(_))
            ),
            "{payload}"
        );
    }
}

#[tokio::test]
async fn every_order_status_maps() {
    let paid = BankPaymentStatus::Paid {
        transaction_id: Some(MD_ORDER.into()),
    };
    // (orderStatus, actionCode, qrStatus asked next (None: not asked), expected)
    let cases: Vec<(i64, &str, Option<&str>, BankPaymentStatus)> = vec![
        (0, "0", Some("STARTED"), BankPaymentStatus::NotPaid),
        (0, "0", Some("CONFIRMED"), BankPaymentStatus::InProgress),
        (0, "0", Some("ACCEPTED"), BankPaymentStatus::InProgress),
        (0, "0", Some("REJECTED"), BankPaymentStatus::Declined),
        (0, "0", Some("REJECTED_BY_USER"), BankPaymentStatus::NotPaid),
        (
            0,
            "0",
            Some("NEW_STATE"),
            BankPaymentStatus::Unrecognised("qrStatus NEW_STATE".into()),
        ),
        (1, "0", None, BankPaymentStatus::InProgress),
        (2, "0", None, paid.clone()),
        (3, "0", None, BankPaymentStatus::NotPaid),
        (4, "0", None, paid),
        (5, "0", None, BankPaymentStatus::InProgress),
        (6, "116", Some("REJECTED"), BankPaymentStatus::Declined),
        (6, "-2007", None, BankPaymentStatus::NotPaid),
        (6, "0", Some("STARTED"), BankPaymentStatus::NotPaid),
        (6, "0", Some("REJECTED_BY_USER"), BankPaymentStatus::NotPaid),
        (7, "0", None, BankPaymentStatus::InProgress),
        (8, "0", None, BankPaymentStatus::InProgress),
        (
            9,
            "0",
            None,
            BankPaymentStatus::Unrecognised("orderStatus 9".into()),
        ),
    ];
    for (order_status, action_code, qr_status, expected) in cases {
        let mut script = vec![order(&format!(
            r#""orderStatus":{order_status},"actionCode":{action_code}"#
        ))];
        if let Some(qr_status) = qr_status {
            script.push(ok(&format!(
                r#"{{"errorCode":"0","qrStatus":"{qr_status}","qrType":"DYNAMIC","transactionState":"CREATED"}}"#
            )));
        }
        let (bank, seen) = fake_gateway(script, login()).await;
        assert_eq!(
            bank.payment_status(&query()).await.unwrap(),
            expected,
            "orderStatus {order_status} actionCode {action_code} qrStatus {qr_status:?}"
        );
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 1 + usize::from(qr_status.is_some()));
        if let Some((path, form)) = seen.get(1) {
            assert_eq!(path, "/payment/rest/sbp/c2b/qr/status.do");
            assert_eq!(param(form, "mdOrder"), Some(MD_ORDER));
            assert_eq!(param(form, "qrId"), Some(QR));
        }
    }
}

#[tokio::test]
async fn transaction_state_stands_in_for_a_missing_qr_status() {
    for (state, expected) in [
        ("CREATED", BankPaymentStatus::NotPaid),
        ("DEPOSITED", BankPaymentStatus::InProgress),
        ("DECLINED", BankPaymentStatus::Declined),
    ] {
        let (bank, _) = fake_gateway(
            vec![
                order(r#""orderStatus":0,"actionCode":0"#),
                ok(&format!(r#"{{"transactionState":"{state}"}}"#)),
            ],
            login(),
        )
        .await;
        assert_eq!(bank.payment_status(&query()).await.unwrap(), expected);
    }
}

#[tokio::test]
async fn an_answer_about_another_order_or_amount_is_refused() {
    for body in [
        r#"{"orderNumber":"pay_other","orderStatus":2,"amount":12345}"#,
        r#"{"orderNumber":"pay_0192f0c1e2d37a8b9c0d1e2f3a4b5c6d","orderStatus":2,"amount":12346}"#,
        r#"{"orderNumber":"pay_0192f0c1e2d37a8b9c0d1e2f3a4b5c6d","orderStatus":2,"amount":12345,"currency":"978"}"#,
        r#"{"orderNumber":"pay_0192f0c1e2d37a8b9c0d1e2f3a4b5c6d","amount":12345}"#,
    ] {
        let (bank, _) = fake_gateway(vec![ok(body)], login()).await;
        assert!(
            matches!(
                bank.payment_status(&query()).await,
                Err(BankError::Protocol(_))
            ),
            "{body}"
        );
    }
}

#[tokio::test]
async fn deactivation_rejects_only_an_unpaid_order() {
    let (bank, seen) = fake_gateway(
        vec![
            order(r#""orderStatus":0,"actionCode":0"#),
            ok(r#"{"errorCode":"0","rejected":true}"#),
        ],
        login(),
    )
    .await;
    assert_eq!(
        bank.deactivate_qr(&query()).await.unwrap(),
        Deactivation::Closed
    );
    {
        let seen = seen.lock().unwrap();
        let (path, form) = &seen[1];
        assert_eq!(path, "/payment/rest/sbp/c2b/qr/dynamic/reject.do");
        assert_eq!(param(form, "mdOrder"), Some(MD_ORDER));
        assert_eq!(param(form, "qrId"), Some(QR));
    }

    // Paid or declined already: nothing is sent, the status decides.
    for status in [2, 4, 6, 3] {
        let (bank, seen) =
            fake_gateway(vec![order(&format!(r#""orderStatus":{status}"#))], login()).await;
        assert_eq!(
            bank.deactivate_qr(&query()).await.unwrap(),
            Deactivation::Closed
        );
        assert_eq!(seen.lock().unwrap().len(), 1);
    }
    // Refused (the customer paid a moment before): still open, the status decides.
    let (bank, _) = fake_gateway(
        vec![
            order(r#""orderStatus":0"#),
            ok(r#"{"errorCode":"7","errorMessage":"QR уже оплачен"}"#),
        ],
        login(),
    )
    .await;
    assert!(matches!(
        bank.deactivate_qr(&query()).await.unwrap(),
        Deactivation::StillOpen(_)
    ));
    // A transport failure is an error: the outcome is unknown.
    let (bank, _) = fake_gateway(
        vec![order(r#""orderStatus":0"#), (503, String::new())],
        login(),
    )
    .await;
    assert!(bank.deactivate_qr(&query()).await.is_err());
}

#[tokio::test]
async fn refunds_are_sent_by_external_refund_id_and_found_by_it() {
    let (bank, seen) = fake_gateway(
        vec![ok(r#"{"errorCode":"0","errorMessage":"Успешно"}"#)],
        login(),
    )
    .await;
    assert_eq!(
        bank.refund(&refund(2000)).await.unwrap(),
        BankRefundStatus::InProgress
    );
    {
        let seen = seen.lock().unwrap();
        let (path, form) = &seen[0];
        assert_eq!(path, "/payment/rest/refund.do");
        assert_eq!(param(form, "orderId"), Some(MD_ORDER));
        assert_eq!(param(form, "amount"), Some("2000"));
        assert_eq!(
            param(form, "externalRefundId"),
            Some("0192f0c1e2d37a8b9c0d1e2f3a4b5c6e")
        );
    }
    let entry = |action: &str, amount: i64| {
        order(&format!(
            r#""orderStatus":4,"refunds":[{{"externalRefundId":"other","amount":1,"actionCode":0}},{{"externalRefundId":"0192f0c1e2d37a8b9c0d1e2f3a4b5c6e","amount":{amount}{action}}}]"#
        ))
    };
    for (action, expected) in [
        ("", Some(BankRefundStatus::InProgress)),
        (r#","actionCode":0"#, Some(BankRefundStatus::Completed)),
        (r#","actionCode":"-2019""#, Some(BankRefundStatus::Declined)),
    ] {
        let (bank, _) = fake_gateway(vec![entry(action, 2000)], login()).await;
        assert_eq!(bank.refund_status(&refund(2000)).await.unwrap(), expected);
    }
    // The same id for another amount is not our refund.
    let (bank, _) = fake_gateway(vec![entry(r#","actionCode":0"#, 2001)], login()).await;
    assert!(bank.refund_status(&refund(2000)).await.is_err());
    // No trace: the gateway never got it (safe to send again under the same id).
    let (bank, _) = fake_gateway(vec![order(r#""orderStatus":2"#)], login()).await;
    assert_eq!(bank.refund_status(&refund(2000)).await.unwrap(), None);
    // Refunds without ids: cannot be told apart, never guessed.
    let (bank, _) = fake_gateway(
        vec![order(
            r#""orderStatus":4,"refunds":{"amount":2000,"actionCode":0}"#,
        )],
        login(),
    )
    .await;
    assert!(matches!(
        bank.refund_status(&refund(2000)).await,
        Err(BankError::Protocol(_))
    ));
}

#[test]
fn references_keep_both_ids_in_64_characters() {
    let packed = reference::pack(MD_ORDER, QR);
    assert_eq!(packed.len(), 64);
    assert!(QrId::parse(&packed).is_ok());
    assert_eq!(
        reference::unpack(&packed),
        (MD_ORDER.to_owned(), Some(QR.to_owned()))
    );
    // An order id that is not a UUID is kept alone.
    assert_eq!(reference::pack("12345", QR), "12345");
    assert_eq!(reference::unpack("12345"), ("12345".to_owned(), None));
    assert_eq!(reference::unpack(MD_ORDER), (MD_ORDER.to_owned(), None));
    let upper = MD_ORDER.to_uppercase();
    assert_eq!(reference::unpack(&reference::pack(&upper, QR)).0, upper);
}

#[test]
fn refund_ids_fit_external_refund_id() {
    assert_eq!(
        external_refund_id(&refund(1)).unwrap(),
        "0192f0c1e2d37a8b9c0d1e2f3a4b5c6e"
    );
    let mut long = refund(1);
    long.refund_id = RefundId::parse(&"x".repeat(33)).unwrap();
    assert!(external_refund_id(&long).is_err());
}

#[test]
fn every_documented_operation_maps() {
    let cases = [
        (
            "deposited",
            "1",
            Some(BankPaymentStatus::Paid {
                transaction_id: None,
            }),
        ),
        ("deposited", "0", Some(BankPaymentStatus::Declined)),
        ("approved", "1", Some(BankPaymentStatus::InProgress)),
        ("approved", "0", Some(BankPaymentStatus::Declined)),
        ("declinedByTimeout", "1", Some(BankPaymentStatus::NotPaid)),
        ("reversed", "1", Some(BankPaymentStatus::NotPaid)),
        ("refunded", "1", None),
        ("bindingCreated", "1", None),
        ("bindingActivityChanged", "1", None),
        ("declinedCardpresent", "0", None),
        (
            "somethingNew",
            "1",
            Some(BankPaymentStatus::Unrecognised(
                "operation somethingNew status 1".into(),
            )),
        ),
    ];
    for (operation, status, expected) in cases {
        assert_eq!(notice_status(operation, status), expected, "{operation}");
    }
}

#[tokio::test]
async fn notifications_are_verified_with_the_documented_symmetric_vector() {
    // dev.bpcbt.com's Java example: key, parameters and checksum as published.
    let (bank, _) = fake_with(
        vec![],
        login(),
        CallbackCheck::Key(Secret::new("ooc7slpvc61k7sf7ma7p4hrefr")),
    )
    .await;
    let headers = reqwest::header::HeaderMap::new();
    let body = "checksum=EAF2FB72CAB99FD5067F4BA493DD84F4D79C1589FDE8ED29622F0F07215AA972&mdOrder=06cf5599-3f17-7c86-bdbc-bd7d00a8b38b&operation=approved&orderNumber=2003&status=1";
    let notice = bank.parse_callback(&headers, body.as_bytes()).unwrap();
    assert_eq!(notice.order.as_deref(), Some("2003"));
    assert_eq!(notice.status, Some(BankPaymentStatus::InProgress));
    assert_eq!(notice.amount, None);
    // Any change to a signed parameter, a missing checksum, or a repeated one is refused.
    for forged in [
        body.replace("orderNumber=2003", "orderNumber=2004"),
        body.replace("operation=approved", "operation=deposited"),
        format!("{body}&amount=100"),
        body.replace(
            "checksum=EAF2FB72CAB99FD5067F4BA493DD84F4D79C1589FDE8ED29622F0F07215AA972&",
            "",
        ),
    ] {
        assert_eq!(
            bank.parse_callback(&headers, forged.as_bytes()),
            Err(CallbackError::BadSignature),
            "{forged}"
        );
    }
    assert!(matches!(
        bank.parse_callback(&headers, format!("{body}&status=0").as_bytes()),
        Err(CallbackError::Malformed(_))
    ));
}

#[tokio::test]
async fn notifications_are_verified_with_the_documented_asymmetric_vector() {
    let (bank, _) = fake_with(
        vec![],
        login(),
        CallbackCheck::PublicKey(checksum::tests::ALFA_PUBLIC_KEY.into()),
    )
    .await;
    let headers = reqwest::header::HeaderMap::new();
    let body = checksum::encode_form([
        ("amount", "35000099"),
        ("sign_alias", "SHA-256 with RSA"),
        ("checksum", checksum::tests::ALFA_SIGNATURE),
        ("mdOrder", "12b59da8-f68f-7c8d-12b5-9da8000826ea"),
        ("operation", "deposited"),
        ("status", "1"),
    ]);
    let notice = bank.parse_callback(&headers, body.as_bytes()).unwrap();
    // The example names no orderNumber: such a notice changes nothing in the service.
    assert_eq!(notice.order, None);
    assert_eq!(notice.amount, Some(Kopecks::new(35_000_099).unwrap()));
    assert_eq!(
        notice.status,
        Some(BankPaymentStatus::Paid {
            transaction_id: None
        })
    );
    let forged = body.replace("35000099", "35000098");
    assert_eq!(
        bank.parse_callback(&headers, forged.as_bytes()),
        Err(CallbackError::BadSignature)
    );
    // A key that is not one is refused when the adapter is built.
    assert!(
        Rbs::new(RbsConfig {
            base_url: "http://x".into(),
            auth: login(),
            callback: CallbackCheck::PublicKey("nonsense".into()),
            timeout: Duration::from_secs(1),
        })
        .is_err()
    );
}

#[test]
fn settings_presets_auth_and_keys() {
    let parse = |fields: serde_json::Value| Settings::deserialize(fields).unwrap();
    let ok = parse(serde_json::json!({
        "preset": "vtb-test", "user_name": "u", "password": "p", "callback_key": "k"
    }));
    assert_eq!(ok.problems(), vec![]);
    assert_eq!(
        ok.adapter_config(Duration::from_secs(1)).base_url,
        "https://vtb.rbsuat.com/payment"
    );
    let token = parse(serde_json::json!({
        "base_url": "https://oplata.mtsbank.ru/payment", "token": "t",
        "callback_public_key": checksum::tests::ALFA_PUBLIC_KEY
    }));
    assert_eq!(token.problems(), vec![]);
    assert!(matches!(
        token.adapter_config(Duration::from_secs(1)).auth,
        Auth::Token(_)
    ));
    let fields = |s: &Settings| s.problems().iter().map(|p| p.field).collect::<Vec<_>>();
    assert_eq!(
        fields(&parse(serde_json::json!({"preset": "sber"}))),
        ["preset", "user_name", "callback_key"]
    );
    assert_eq!(
        fields(&parse(serde_json::json!({
            "base_url": "ftp://x", "preset": "vtb", "user_name": "u", "token": "t",
            "callback_key": "k", "callback_public_key": "x"
        }))),
        ["base_url", "token", "callback_public_key"]
    );
    assert_eq!(
        fields(&parse(serde_json::json!({
            "preset": "alfa", "user_name": "u", "callback_public_key": "not a key"
        }))),
        ["password", "callback_public_key"]
    );
    // Secrets never print.
    let printed = format!("{ok:?}");
    assert!(
        !printed.contains("\"p\"") && !printed.contains("\"k\""),
        "{printed}"
    );
    for (name, url) in PRESETS {
        assert!(
            url.starts_with("https://") && url.ends_with("/payment"),
            "{name}"
        );
    }
}

use serde::Deserialize;
