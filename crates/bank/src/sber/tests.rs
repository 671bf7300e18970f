//! Sber adapter tests against a scripted fake gateway: the bank's own examples (the OpenAPI
//! document `tests/data/sber-qr-order-v3.json` and the answers its test stubs gave,
//! `tests/data/sber-samples.json`), tokens per scope and their expiry by the clock, `RqUID`,
//! error mapping, status mapping, refunds identified by amounts, notifications as hints, the
//! registry reader, the settings checks, and mutual TLS against a real TLS server that
//! requires the client certificate.

// fixed-dates: dates here are inputs (the bank's samples, the manual clock's start); the code
// under test gets its time from the test's clock, never from the wall clock.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::any;
use qrpayd_domain::clock::ManualClock;
use qrpayd_domain::ids::{PaymentId, QrId, RefundId};
use qrpayd_domain::money::{Currency, Kopecks};
use serde_json::{Value, json};

use super::*;

const TID: &str = "20188357";
const MEMBER: &str = "00000001";
const CLIENT_ID: &str = "client-1";
const CLIENT_SECRET: &str = "secret-1";
const ORDER: &str = "162598d6613e4ffcad49bc74013b65ba";

fn spec() -> Value {
    serde_json::from_str(include_str!("../../tests/data/sber-qr-order-v3.json")).unwrap()
}

fn sample(name: &str) -> Value {
    let all: Value =
        serde_json::from_str(include_str!("../../tests/data/sber-samples.json")).unwrap();
    all[name].clone()
}

/// What the fake gateway saw of one request.
#[derive(Debug, Clone)]
struct Seen {
    path: String,
    headers: HeaderMap,
    body: String,
}

impl Seen {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap()
    }
    fn header(&self, name: &str) -> &str {
        self.headers.get(name).unwrap().to_str().unwrap()
    }
}

#[derive(Default)]
struct Fake {
    /// Answers of the order API, in order: status and body (`"rq_uid": "ECHO"` is replaced by
    /// the request's).
    script: Mutex<VecDeque<(u16, Value)>>,
    seen: Mutex<Vec<Seen>>,
    tokens: AtomicUsize,
    /// Answers to token requests before the normal one.
    token_script: Mutex<VecDeque<(u16, Value)>>,
}

impl Fake {
    fn order_calls(&self) -> Vec<Seen> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .filter(|s| !s.path.ends_with("/oauth"))
            .cloned()
            .collect()
    }
    fn token_calls(&self) -> Vec<Seen> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .filter(|s| s.path.ends_with("/oauth"))
            .cloned()
            .collect()
    }
}

fn clock() -> ManualClock {
    ManualClock::new(
        chrono::DateTime::parse_from_rfc3339("2026-11-28T09:00:00Z")
            .unwrap()
            .to_utc(),
    )
}

fn config(base_url: String, clock: &ManualClock) -> SberConfig {
    SberConfig {
        base_url,
        client_id: CLIENT_ID.into(),
        client_secret: Secret::new(CLIENT_SECRET),
        tid: TID.into(),
        member_id: MEMBER.into(),
        sbp_member_id: DEFAULT_SBP_MEMBER_ID.into(),
        tls: None,
        timeout: Duration::from_millis(500),
        clock: Arc::new(clock.clone()),
    }
}

async fn fake_bank(script: Vec<(u16, Value)>) -> (Sber, Arc<Fake>, ManualClock) {
    let fake = Arc::new(Fake {
        script: Mutex::new(script.into()),
        ..Fake::default()
    });
    let state = fake.clone();
    let app = Router::new().fallback(any(move |req: axum::extract::Request| {
        let fake = state.clone();
        async move {
            let path = req.uri().path().to_owned();
            let headers = req.headers().clone();
            let body = axum::body::to_bytes(req.into_body(), 1 << 20).await.unwrap();
            let body = String::from_utf8(body.to_vec()).unwrap();
            fake.seen.lock().unwrap().push(Seen {
                path: path.clone(),
                headers,
                body: body.clone(),
            });
            let (status, mut answer) = if path.ends_with("/tokens/v3/oauth") {
                let n = fake.tokens.fetch_add(1, Ordering::SeqCst);
                fake.token_script.lock().unwrap().pop_front().unwrap_or_else(|| {
                    let scope = body.split("scope=").nth(1).unwrap_or_default();
                    let scope = scope.replace("%3A", ":").replace("%2F", "/");
                    (
                        200,
                        json!({"access_token": format!("token-{n}"), "expires_in": 60, "scope": scope, "token_type": "Bearer", "session_state": "s"}),
                    )
                })
            } else {
                fake.script
                    .lock()
                    .unwrap()
                    .pop_front()
                    .unwrap_or((404, json!({})))
            };
            if answer.get("rq_uid") == Some(&json!("ECHO")) {
                let rq: Value = serde_json::from_str(&body).unwrap();
                answer["rq_uid"] = rq["rq_uid"].clone();
            }
            (StatusCode::from_u16(status).unwrap(), axum::Json(answer)).into_response()
        }
    }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let clock = clock();
    let bank = Sber::new(config(format!("http://{addr}/sber/"), &clock)).unwrap();
    (bank, fake, clock)
}

/// A success answer with `fields`, echoing the request's `rq_uid`.
fn ok(fields: Value) -> (u16, Value) {
    let mut body =
        json!({"rq_uid": "ECHO", "rq_tm": "2026-11-28T09:00:00Z", "error_code": "000000"});
    body.as_object_mut()
        .unwrap()
        .extend(fields.as_object().unwrap().clone());
    (200, body)
}

fn pay_op(sum: i64) -> Value {
    json!({"operation_id": "8aa51b7a012d42b6b37820068e13dda7", "operation_date_time": "2026-11-28T12:00:05Z",
           "rrn": "207388423368", "operation_type": "PAY", "operation_sum": sum, "operation_currency": "643",
           "auth_code": "651662", "response_code": "00"})
}

fn refund_op(sum: i64, response_code: &str) -> Value {
    json!({"operation_id": format!("ref{sum}{response_code}"), "operation_date_time": "2026-11-28T12:01:00Z",
           "rrn": "305197073318", "operation_type": "REFUND", "operation_sum": sum, "operation_currency": "643",
           "auth_code": "073318", "response_code": response_code})
}

fn status_answer(state: &str, operations: Vec<Value>) -> (u16, Value) {
    let mut fields = json!({"tid": TID, "order_id": ORDER, "order_state": state, "mid": "123456789123456", "id_qr": TID});
    if !operations.is_empty() {
        fields["order_operation_params"] = Value::Array(operations);
    }
    ok(fields)
}

fn query(amount: i64) -> PaymentQuery {
    PaymentQuery {
        payment_id: PaymentId::parse("pay_1").unwrap(),
        qr_id: QrId::parse(ORDER).unwrap(),
        amount: Kopecks::new(amount).unwrap(),
        currency: Currency::Rub,
        qr_type: QrType::Dynamic,
    }
}

fn refund(amount: i64, before: i64) -> RefundRequest {
    RefundRequest {
        refund_id: RefundId::parse("rf_1").unwrap(),
        payment_id: PaymentId::parse("pay_1").unwrap(),
        amount: Kopecks::new(amount).unwrap(),
        transaction_id: Some("8aa51b7a012d42b6b37820068e13dda7".into()),
        details: Some("Возврат товара".into()),
        qr_type: QrType::Dynamic,
        qr_id: Some(QrId::parse(ORDER).unwrap()),
        paid_amount: Kopecks::new(10_000).unwrap(),
        refunded_before: Kopecks::new(before).unwrap(),
    }
}

/// The keys a request may carry (`additionalProperties: false`) and must carry.
fn schema_keys(schema: &str) -> (Vec<String>, Vec<String>) {
    let s = &spec()["components"]["schemas"][schema];
    let props = s["properties"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    let required = s["required"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    (props, required)
}

fn conforms(body: &Value, schema: &str) {
    let (props, required) = schema_keys(schema);
    for key in body.as_object().unwrap().keys() {
        assert!(props.contains(key), "{schema}: {key} is not in the spec");
    }
    for key in required {
        assert!(body.get(&key).is_some(), "{schema}: {key} is required");
    }
}

#[tokio::test]
async fn creation_follows_the_spec_and_the_banks_sample_answer_is_accepted() {
    let mut answer = sample("ResponseOrderCreateQrRsSBP");
    answer["rq_uid"] = json!("ECHO");
    let (bank, fake, _) = fake_bank(vec![(200, answer)]).await;
    let qr = bank
        .create_qr(&CreateQr {
            payment_id: PaymentId::parse("1288986419034").unwrap(),
            amount: Kopecks::new(3).unwrap(),
            currency: Currency::Rub,
            expires_at: chrono::DateTime::parse_from_rfc3339("2026-11-28T09:05:00Z")
                .unwrap()
                .to_utc(),
            description: Some("Очень дорого".into()),
            kind: QrKind::Dynamic,
        })
        .await
        .unwrap();
    assert_eq!(qr.qr_id.as_str(), ORDER);
    assert!(qr.payload.starts_with(
        "https://qr.nspk.ru/AD10001BJPGUR9P18FHR8H8QLFMLV8SH?type=02&bank=100000000111&sum=3"
    ));
    let calls = fake.order_calls();
    let call = &calls[0];
    assert_eq!(call.path, "/sber/qr/order/v3/creation");
    let body = call.json();
    conforms(&body, "requestCreation");
    let rq_uid = body["rq_uid"].as_str().unwrap();
    assert!(rq_uid.len() == 32 && rq_uid.bytes().all(|b| b.is_ascii_hexdigit()));
    assert_eq!(call.header("RqUID"), rq_uid);
    assert_eq!(call.header("X-IBM-Client-Id"), CLIENT_ID);
    assert_eq!(call.header("Authorization"), "Bearer token-0");
    assert_eq!(body["rq_tm"], "2026-11-28T09:00:00Z");
    assert_eq!(body["order_create_date"], "2026-11-28T09:00:00Z");
    assert_eq!(
        (
            &body["member_id"],
            &body["order_number"],
            &body["id_qr"],
            &body["order_sum"],
            &body["currency"],
            &body["sbp_member_id"]
        ),
        (
            &json!(MEMBER),
            &json!("1288986419034"),
            &json!(TID),
            &json!(3),
            &json!("643"),
            &json!("100000000111")
        )
    );
    assert_eq!(body["order_params_type"][0]["position_sum"], 3);
    let token = &fake.token_calls()[0];
    // Basic base64("client-1:secret-1").
    assert_eq!(
        token.header("Authorization"),
        "Basic Y2xpZW50LTE6c2VjcmV0LTE="
    );
    assert_eq!(
        token.body,
        "grant_type=client_credentials&scope=https%3A%2F%2Fapi.sberbank.ru%2Fqr%2Forder.create"
    );
    assert_eq!(token.header("RqUID").len(), 32);
}

#[tokio::test]
async fn a_creation_answer_for_another_amount_order_or_a_non_sbp_link_is_refused() {
    let mut plain = sample("ResponseOrderCreateQrRs");
    plain["rq_uid"] = json!("ECHO");
    plain["order_number"] = json!("pay_1");
    let sbp = |sum: u32, number: &str| {
        ok(
            json!({"order_number": number, "order_id": ORDER, "order_state": "CREATED",
                  "order_form_url": qrpayd_domain::nspk::build_link("AD10001BJPGUR9P18FHR8H8QLFMLV8SH", qrpayd_domain::nspk::LinkType::Dynamic, "100000000111", Some(Kopecks::from_rubles(sum)))}),
        )
    };
    let (bank, _, _) = fake_bank(vec![(200, plain), sbp(2, "pay_1"), sbp(1, "pay_2")]).await;
    let create = CreateQr {
        payment_id: PaymentId::parse("pay_1").unwrap(),
        amount: Kopecks::from_rubles(1),
        currency: Currency::Rub,
        expires_at: chrono::DateTime::parse_from_rfc3339("2026-11-28T09:05:00Z")
            .unwrap()
            .to_utc(),
        description: None,
        kind: QrKind::Dynamic,
    };
    for _ in 0..3 {
        assert!(matches!(
            bank.create_qr(&create).await,
            Err(BankError::Protocol(_))
        ));
    }
    let link = CreateQr {
        kind: QrKind::CashLink {
            link_qr_id: QrId::parse("AS1R0000000000000000000000000000").unwrap(),
            link_payload: "x".into(),
        },
        ..create
    };
    assert!(matches!(
        bank.create_qr(&link).await,
        Err(BankError::Unsupported(_))
    ));
}

/// Every `order_state` of the spec (status, creation, revocation and cancel answers, and the
/// notification page's list) and what it means for qrpayd.
#[test]
fn every_order_state_of_the_spec_maps() {
    let spec = spec();
    let schemas = &spec["components"]["schemas"];
    let mut states: Vec<String> = Vec::new();
    for enum_ in [
        &schemas["responseStatus"]["properties"]["order_state"]["enum"],
        &schemas["responseCreation"]["properties"]["order_state"]["enum"],
        &schemas["responseRevoke"]["properties"]["order_state"]["enum"],
        &schemas["responseCancel"]["properties"]["order_status"]["enum"],
    ] {
        for s in enum_.as_array().unwrap() {
            let s = s.as_str().unwrap().to_owned();
            if !states.contains(&s) {
                states.push(s);
            }
        }
    }
    assert_eq!(states.len(), 10, "{states:?}");
    let expected = |s: &str| match s {
        "CREATED" | "REVOKED" | "EXPIRED" => BankPaymentStatus::NotPaid,
        "ON_PAYMENT" | "AUTHORIZED" => BankPaymentStatus::InProgress,
        "PAID" | "REVERSED" | "REFUNDED" | "CONFIRMED" => BankPaymentStatus::Paid {
            transaction_id: None,
        },
        "DECLINED" => BankPaymentStatus::Declined,
        other => panic!("the spec has a state the test does not know: {other}"),
    };
    for state in &states {
        assert_eq!(payment_status(state, None), expected(state), "{state}");
    }
    assert_eq!(
        payment_status("LOST", None),
        BankPaymentStatus::Unrecognised("LOST".into())
    );
}

#[tokio::test]
async fn status_needs_the_approved_pay_operation_of_our_amount() {
    let mut declined_sample = sample("ResponseStatus");
    declined_sample["rq_uid"] = json!("ECHO");
    let (bank, fake, _) = fake_bank(vec![
        status_answer("PAID", vec![pay_op(10_000)]),
        status_answer("ON_PAYMENT", vec![]),
        status_answer("REFUNDED", vec![pay_op(10_000), refund_op(10_000, "00")]),
        status_answer("PAID", vec![pay_op(9_999)]),
        status_answer("PAID", vec![]),
        (200, declined_sample),
        ok(json!({"tid": "other", "order_id": ORDER, "order_state": "CREATED"})),
        ok(json!({"order_id": "another", "order_state": "CREATED"})),
    ])
    .await;
    let paid = BankPaymentStatus::Paid {
        transaction_id: Some("8aa51b7a012d42b6b37820068e13dda7".into()),
    };
    assert_eq!(bank.payment_status(&query(10_000)).await.unwrap(), paid);
    assert_eq!(
        bank.payment_status(&query(10_000)).await.unwrap(),
        BankPaymentStatus::InProgress
    );
    assert_eq!(bank.payment_status(&query(10_000)).await.unwrap(), paid);
    for _ in 0..2 {
        assert!(matches!(
            bank.payment_status(&query(10_000)).await,
            Err(BankError::Protocol(_))
        ));
    }
    // The bank's own sample: an error code other than 000000 is a refusal, whatever else.
    assert!(matches!(
        bank.payment_status(&query(10_000)).await,
        Err(BankError::Rejected { code, .. }) if code == "000001"
    ));
    for _ in 0..2 {
        assert!(matches!(
            bank.payment_status(&query(10_000)).await,
            Err(BankError::Protocol(_))
        ));
    }
    let body = fake.order_calls()[0].json();
    conforms(&body, "requestStatus");
    assert_eq!(
        (
            &body["order_id"],
            &body["tid"],
            &body["partner_order_number"]
        ),
        (&json!(ORDER), &json!(TID), &json!("pay_1"))
    );
    // One token for the status scope served all eight calls.
    assert_eq!(fake.tokens.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn tokens_last_until_they_expire_by_the_clock_and_a_401_renews_one() {
    let (bank, fake, clock) = fake_bank(vec![
        status_answer("CREATED", vec![]),
        status_answer("CREATED", vec![]),
        status_answer("CREATED", vec![]),
        (401, json!({"httpCode": "401", "httpMessage": "Unauthorized", "moreInformation": "Token is invalid"})),
        status_answer("CREATED", vec![]),
        (401, json!({"httpCode": "401", "httpMessage": "Unauthorized"})),
        (401, json!({"httpCode": "401", "httpMessage": "Unauthorized"})),
    ])
    .await;
    bank.payment_status(&query(1)).await.unwrap();
    clock.advance(chrono::TimeDelta::seconds(45));
    bank.payment_status(&query(1)).await.unwrap();
    assert_eq!(fake.tokens.load(Ordering::SeqCst), 1);
    // Within ten seconds of its expiry a token is renewed first.
    clock.advance(chrono::TimeDelta::seconds(6));
    bank.payment_status(&query(1)).await.unwrap();
    assert_eq!(fake.tokens.load(Ordering::SeqCst), 2);
    // A refused token is dropped and the call sent once more with a new one ...
    bank.payment_status(&query(1)).await.unwrap();
    assert_eq!(fake.tokens.load(Ordering::SeqCst), 3);
    let calls = fake.order_calls();
    assert_eq!(calls[3].header("RqUID"), calls[4].header("RqUID"));
    // ... but only once.
    assert!(matches!(
        bank.payment_status(&query(1)).await,
        Err(BankError::Rejected { code, .. }) if code == "HTTP_401"
    ));
    // Each scope has its own token.
    fake.script
        .lock()
        .unwrap()
        .push_back(ok(json!({"order_id": ORDER, "order_state": "REVOKED"})));
    assert_eq!(
        bank.deactivate_qr(&query(1)).await.unwrap(),
        Deactivation::Closed
    );
    let scopes: Vec<String> = fake.token_calls().iter().map(|t| t.body.clone()).collect();
    assert!(
        scopes.last().unwrap().ends_with("order.revoke"),
        "{scopes:?}"
    );
}

#[tokio::test]
async fn gateway_and_business_errors() {
    let (bank, fake, _) = fake_bank(vec![
        (500, json!({"httpCode": "500", "httpMessage": "Internal Server Error"})),
        (429, json!({"httpCode": "429", "httpMessage": "Too Many Requests"})),
        (400, json!({"httpCode": "400", "httpMessage": "Bad Request", "moreInformation": "rquid header does not match pattern"})),
        (200, json!({"rq_uid": "ECHO", "rq_tm": "2026-11-28T09:00:00Z", "error_code": "100000", "error_description": "Указанный заказ не найден"})),
        (200, json!({"rq_uid": "00000000000000000000000000000000", "error_code": "000000", "order_state": "CREATED"})),
        (200, json!({"rq_uid": "ECHO", "order_state": "CREATED"})),
        (200, json!("<html>")),
    ])
    .await;
    assert!(matches!(
        bank.payment_status(&query(1)).await,
        Err(BankError::Unavailable(_))
    ));
    assert!(matches!(
        bank.payment_status(&query(1)).await,
        Err(BankError::Unavailable(_))
    ));
    assert!(
        matches!(bank.payment_status(&query(1)).await, Err(BankError::Rejected { code, message }) if code == "HTTP_400" && message.contains("rquid"))
    );
    assert_eq!(
        bank.payment_status(&query(1)).await,
        Err(BankError::Rejected {
            code: "100000".into(),
            message: "Указанный заказ не найден".into()
        })
    );
    for _ in 0..3 {
        assert!(matches!(
            bank.payment_status(&query(1)).await,
            Err(BankError::Protocol(_))
        ));
    }
    // The token endpoint's refusal names the credentials.
    fake.token_script.lock().unwrap().push_back((401, json!({"httpCode": "401", "httpMessage": "Unauthorized", "moreInformation": "Client id not registered."})));
    fake.script
        .lock()
        .unwrap()
        .push_back(ok(json!({"order_id": ORDER, "order_state": "REVOKED"})));
    assert!(matches!(
        bank.deactivate_qr(&query(1)).await,
        Err(BankError::Rejected { code, message }) if code == "HTTP_401" && message.contains("client_id")
    ));
}

#[tokio::test]
async fn deactivation_asks_the_status_when_the_bank_refuses() {
    let refused = (
        200,
        json!({"rq_uid": "ECHO", "error_code": "080000", "error_description": "Нарушена последовательность запросов"}),
    );
    let (bank, fake, _) = fake_bank(vec![
        ok(json!({"order_id": ORDER, "order_state": "REVOKED"})),
        refused.clone(),
        status_answer("PAID", vec![pay_op(1)]),
        refused,
        status_answer("ON_PAYMENT", vec![]),
    ])
    .await;
    assert_eq!(
        bank.deactivate_qr(&query(1)).await.unwrap(),
        Deactivation::Closed
    );
    assert_eq!(
        bank.deactivate_qr(&query(1)).await.unwrap(),
        Deactivation::Closed
    );
    assert!(
        matches!(bank.deactivate_qr(&query(1)).await.unwrap(), Deactivation::StillOpen(why) if why.contains("080000") && why.contains("ON_PAYMENT"))
    );
    let revocation = fake.order_calls()[0].json();
    conforms(&revocation, "requestRevoke");
    assert_eq!(revocation["order_id"], ORDER);
}

#[tokio::test]
async fn refunds_name_the_payment_operation_and_are_told_apart_by_amounts() {
    let mut cancelled = sample("ResponseCancel");
    cancelled["rq_uid"] = json!("ECHO");
    cancelled["order_id"] = json!(ORDER);
    cancelled["operation_sum"] = json!(4_000);
    let (bank, fake, _) = fake_bank(vec![
        status_answer("PAID", vec![pay_op(10_000)]),
        (200, cancelled),
        // refund_status: with the SBP, completed, refused, not there.
        status_answer("PAID", vec![pay_op(10_000), refund_op(4_000, "")]),
        status_answer("REFUNDED", vec![pay_op(10_000), refund_op(4_000, "00")]),
        status_answer("PAID", vec![pay_op(10_000), refund_op(4_000, "05")]),
        status_answer("PAID", vec![pay_op(10_000)]),
        // The bank's refunds disagree with the journal's: nothing is sent.
        status_answer("REFUNDED", vec![pay_op(10_000), refund_op(1_000, "00")]),
        status_answer("PAID", vec![pay_op(10_000), refund_op(1_000, "")]),
        // A second refund after a first one completed.
        status_answer(
            "REFUNDED",
            vec![
                pay_op(10_000),
                refund_op(4_000, "00"),
                refund_op(6_000, "00"),
            ],
        ),
    ])
    .await;
    assert_eq!(
        bank.refund(&refund(4_000, 0)).await.unwrap(),
        BankRefundStatus::InProgress
    );
    let cancel = fake.order_calls()[1].json();
    assert_eq!(fake.order_calls()[1].path, "/sber/qr/order/v3/cancel");
    conforms(&cancel, "requestCancel");
    assert_eq!(
        (
            &cancel["operation_type"],
            &cancel["operation_id"],
            &cancel["auth_code"],
            &cancel["id_qr"],
            &cancel["tid"],
            &cancel["cancel_operation_sum"],
            &cancel["operation_currency"],
            &cancel["order_id"]
        ),
        (
            &json!("REFUND"),
            &json!("8aa51b7a012d42b6b37820068e13dda7"),
            &json!("651662"),
            &json!(TID),
            &json!(TID),
            &json!(4_000),
            &json!("643"),
            &json!(ORDER)
        )
    );
    assert_eq!(
        bank.refund_status(&refund(4_000, 0)).await.unwrap(),
        Some(BankRefundStatus::InProgress)
    );
    assert_eq!(
        bank.refund_status(&refund(4_000, 0)).await.unwrap(),
        Some(BankRefundStatus::Completed)
    );
    assert_eq!(
        bank.refund_status(&refund(4_000, 0)).await.unwrap(),
        Some(BankRefundStatus::Declined)
    );
    assert_eq!(bank.refund_status(&refund(4_000, 0)).await.unwrap(), None);
    assert!(matches!(
        bank.refund(&refund(4_000, 0)).await,
        Err(BankError::Protocol(_))
    ));
    assert!(matches!(
        bank.refund(&refund(4_000, 1_000)).await,
        Err(BankError::Protocol(_))
    ));
    assert_eq!(
        bank.refund_status(&refund(6_000, 4_000)).await.unwrap(),
        Some(BankRefundStatus::Completed)
    );
    // Only the two refunds that were sent reached /cancel.
    assert_eq!(
        fake.order_calls()
            .iter()
            .filter(|c| c.path.ends_with("/cancel"))
            .count(),
        1
    );
}

#[test]
fn notifications_are_hints_naming_the_order() {
    let bank = Sber::new(config("http://127.0.0.1:9/sber".into(), &clock())).unwrap();
    let body = json!({"rqUid": "d0c5d5d03e074ad7ba2e2e248eef7e9c", "rqTm": "2026-11-28T09:00:01Z", "memberId": MEMBER,
                      "idQR": TID, "tid": TID, "orderId": ORDER, "partnerOrderNumber": "pay_1", "orderState": "PAID",
                      "operationSum": 999_999});
    let notice = bank
        .parse_callback(&HeaderMap::new(), body.to_string().as_bytes())
        .unwrap();
    assert_eq!(
        notice,
        CallbackNotice {
            order: Some("pay_1".into()),
            amount: None,
            currency: None,
            status: Some(BankPaymentStatus::Paid {
                transaction_id: None
            }),
        }
    );
    let mut other = body.clone();
    other["tid"] = json!("99999999");
    assert!(matches!(
        bank.parse_callback(&HeaderMap::new(), other.to_string().as_bytes()),
        Err(CallbackError::Malformed(_))
    ));
    assert!(matches!(
        bank.parse_callback(&HeaderMap::new(), b"<xml/>"),
        Err(CallbackError::Malformed(_))
    ));
    assert_eq!(bank.callback_ack_body(), None);
}

#[test]
fn the_banks_sample_registry_reads_with_moscow_operation_times() {
    let registry = registry::parse(sample("ResponseRegistry").to_string().as_bytes()).unwrap();
    let kinds: Vec<_> = registry
        .rows
        .iter()
        .map(|r| (r.kind.as_str().to_owned(), r.order.clone(), r.amount.get()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("Payment".to_owned(), "20220314085139".to_owned(), 10_000),
            ("Payment".to_owned(), "20220314113913".to_owned(), 10_000),
            ("Refund".to_owned(), "20220314113913".to_owned(), 10_000),
            ("Payment".to_owned(), "20220314120102".to_owned(), 10_000),
            ("Refund".to_owned(), "20220314120102".to_owned(), 10_000),
        ]
    );
    let first = &registry.rows[0];
    assert_eq!(
        first.qr_id.as_deref(),
        Some("e2408f3e74fa4b23bd4b70ace0a4f0f0")
    );
    assert_eq!(first.merchant, "20163714");
    // 11:51:45 "Z" in the file is Moscow time: 08:51:45 UTC, six seconds after the order.
    assert_eq!(first.at.to_rfc3339(), "2022-03-14T08:51:45+00:00");
    assert_eq!(registry.date, chrono::NaiveDate::from_ymd_opt(2022, 3, 14));
    assert!(registry::parse(br#"{"errorCode":"050000","errorDescription":"bad"}"#).is_err());
    assert!(registry::parse(b"Date;Amount").is_err());
}

// --- settings and mutual TLS -----------------------------------------------------------------

fn data(name: &str) -> String {
    format!("{}/tests/data/sber-mtls/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn settings(base_url: &str, certificate: &str, key: &str, root: &str) -> Settings {
    let fields = json!({
        "base_url": base_url, "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "tid": TID, "member_id": MEMBER,
        "client_certificate": data(certificate), "client_key": data(key), "root_certificate": data(root),
    });
    serde_json::from_value(fields).unwrap()
}

fn problem_fields(s: &Settings) -> Vec<&'static str> {
    s.problems().iter().map(|p| p.field).collect()
}

#[test]
fn certificate_files_must_exist_parse_and_match_over_https_and_are_refused_over_http() {
    let good = settings(
        "https://mc.api.sberbank.ru/prod",
        "client.pem",
        "client.key",
        "root.pem",
    );
    assert_eq!(good.problems(), vec![]);
    let missing = settings("https://x", "nope.pem", "client.key", "root.pem");
    assert_eq!(problem_fields(&missing), ["client_certificate"]);
    assert!(
        missing.problems()[0].message.contains("cannot be read"),
        "{:?}",
        missing.problems()
    );
    let two_missing = settings("https://x", "nope.pem", "client.key", "nope-root.pem");
    assert_eq!(
        problem_fields(&two_missing),
        ["client_certificate", "root_certificate"]
    );
    let not_a_root = settings("https://x", "client.pem", "client.key", "client.key");
    assert_eq!(problem_fields(&not_a_root), ["root_certificate"]);
    let not_its_key = settings("https://x", "client.pem", "stray.key", "root.pem");
    assert_eq!(problem_fields(&not_its_key), ["client_key"]);
    let key_only = settings("https://x", "client.key", "client.key", "root.pem");
    assert_eq!(problem_fields(&key_only), ["client_certificate"]);
    let plain = settings(
        "http://127.0.0.1:8080/sber",
        "client.pem",
        "client.key",
        "root.pem",
    );
    assert_eq!(
        problem_fields(&plain),
        ["client_certificate", "client_key", "root_certificate"]
    );
    let none: Settings =
        serde_json::from_value(json!({"tid": "123456789", "member_id": "a b"})).unwrap();
    assert_eq!(none.base_url, DEFAULT_BASE_URL);
    assert_eq!(
        problem_fields(&none),
        [
            "client_id",
            "client_secret",
            "tid",
            "member_id",
            "client_certificate",
            "client_key",
            "root_certificate"
        ]
    );
    let sandbox: Settings = serde_json::from_value(json!({"base_url": "http://127.0.0.1/sber", "client_id": "c", "client_secret": "s", "tid": TID, "member_id": MEMBER})).unwrap();
    assert_eq!(sandbox.problems(), vec![]);
    // Secrets stay out of Debug.
    let shown = format!(
        "{:?} {:?}",
        good,
        good.adapter_config(Duration::from_secs(1), Arc::new(clock()))
            .unwrap()
    );
    assert!(
        !shown.contains(CLIENT_SECRET) && !shown.contains("PRIVATE KEY"),
        "{shown}"
    );
}

/// A TLS server on 127.0.0.1 with `cert`/`key` that requires a client certificate issued by
/// `client_ca`, answers every request with a token, and reports the client certificate it saw.
async fn tls_token_server(
    cert: &str,
    key: &str,
    client_ca: &str,
) -> (String, tokio::sync::mpsc::UnboundedReceiver<Vec<u8>>) {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(data(cert))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let key = PrivateKeyDer::from_pem_file(data(key)).unwrap();
    let mut roots = rustls::RootCertStore::empty();
    for ca in CertificateDer::pem_file_iter(data(client_ca)).unwrap() {
        roots.add(ca.unwrap()).unwrap();
    }
    let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
        Arc::new(roots),
        provider.clone(),
    )
    .build()
    .unwrap();
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_client_cert_verifier(verifier)
        .with_single_cert(certs, key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (seen, seen_rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            let seen = seen.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let client = tls
                    .get_ref()
                    .1
                    .peer_certificates()
                    .and_then(|c| c.first())
                    .map(|c| c.to_vec())
                    .unwrap_or_default();
                let _ = seen.send(client);
                let mut request = vec![0u8; 16 * 1024];
                let _ = tls.read(&mut request).await;
                let body = r#"{"access_token":"tls-token","expires_in":60,"token_type":"Bearer"}"#;
                let answer = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = tls.write_all(answer.as_bytes()).await;
                let _ = tls.shutdown().await;
            });
        }
    });
    (format!("https://127.0.0.1:{}/prod", addr.port()), seen_rx)
}

fn tls_bank(base_url: &str, root: &str) -> Sber {
    let settings = settings(base_url, "client.pem", "client.key", root);
    assert_eq!(settings.problems(), vec![]);
    Sber::new(
        settings
            .adapter_config(Duration::from_secs(5), Arc::new(clock()))
            .unwrap(),
    )
    .unwrap()
}

#[tokio::test]
async fn mutual_tls_presents_the_client_certificate_and_trusts_only_the_configured_root() {
    let (base_url, mut seen) = tls_token_server("server.pem", "server.key", "client-ca.pem").await;
    let bank = tls_bank(&base_url, "root.pem");
    let token = bank.token(scope::STATUS).await.unwrap();
    assert_eq!(token.expose(), "tls-token");
    let presented = seen.recv().await.unwrap();
    let expected = {
        use rustls::pki_types::CertificateDer;
        use rustls::pki_types::pem::PemObject;
        CertificateDer::from_pem_file(data("client.pem"))
            .unwrap()
            .to_vec()
    };
    assert_eq!(
        presented, expected,
        "the server saw another client certificate"
    );
    // A server whose certificate chains to another root (say, one a system store trusts) is
    // refused, however valid it is otherwise.
    let (other_url, _) =
        tls_token_server("other-server.pem", "other-server.key", "client-ca.pem").await;
    let bank = tls_bank(&other_url, "root.pem");
    assert!(
        matches!(bank.token(scope::STATUS).await, Err(BankError::Unavailable(e)) if e.contains("certificate"))
    );
    // And the same server is fine once its root is the configured one.
    let bank = tls_bank(&other_url, "other-root.pem");
    assert_eq!(
        bank.token(scope::STATUS).await.unwrap().expose(),
        "tls-token"
    );
    // Without the certificate there is no adapter over https:// at all.
    let mut plain = config(base_url, &clock());
    plain.tls = None;
    assert!(matches!(Sber::new(plain), Err(BankError::Unavailable(_))));
}
