//! The Sber terminal under `/sber/`: OAuth tokens per scope (Basic credentials, `RqUID`), the
//! gateway's refusals in its own shape, the order API (creation, status, revocation, cancel,
//! registry) with every answer's fields in the bank's OpenAPI schema, the customer's controls,
//! refunds with the SBP until read, unsigned notifications, and faults.

#![expect(
    clippy::indexing_slicing,
    clippy::as_conversions,
    reason = "answers are read by key (a missing key reads as null and fails the assertion) and the test's own base64 indexes its alphabet with a six-bit value"
)]

// fixed-dates: `rq_tm`, `order_create_date` and the registry's period are written for the day the
// shared manual clock starts on (`support::test_start`), which never moves with the wall clock.

use qrpayd_domain::nspk::parse_link;
use qrpayd_sandbox::Faults;
use serde_json::{Value, json};

use crate::support::{
    Bank, SBER_CLIENT_ID, SBER_CLIENT_SECRET, SBER_MEMBER_ID, SBER_TID, receiver, start,
};

const CREATE: &str = "https://api.sberbank.ru/qr/order.create";
const STATUS: &str = "https://api.sberbank.ru/qr/order.status";
const REVOKE: &str = "https://api.sberbank.ru/qr/order.revoke";
const CANCEL: &str = "https://api.sberbank.ru/qr/order.cancel";
const REGISTRY: &str = "auth://qr/order.registry";

fn spec() -> Value {
    let text = std::fs::read_to_string(format!(
        "{}/../bank/tests/data/sber-qr-order-v3.json",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    serde_json::from_str(&text).unwrap()
}

/// Every key of `value` is a property of the schema (`additionalProperties: false`), nested
/// objects and arrays of objects too.
fn conforms(value: &Value, schema: &Value, path: &str) {
    let Some(object) = value.as_object() else {
        return;
    };
    let properties = &schema["properties"];
    for (key, inner) in object {
        let property = &properties[key];
        assert!(!property.is_null(), "{path}.{key} is not in the spec");
        match inner {
            Value::Object(_) => conforms(inner, property, &format!("{path}.{key}")),
            Value::Array(items) => {
                for item in items {
                    conforms(item, &property["items"], &format!("{path}.{key}[]"));
                }
            }
            _ => {}
        }
    }
    for required in schema["required"].as_array().into_iter().flatten() {
        let required = required.as_str().unwrap();
        assert!(
            object.contains_key(required),
            "{path}.{required} is required: {value}"
        );
    }
}

/// A fresh `RqUID` (32 hex).
fn rq_uid() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(1);
    format!("{:032x}", N.fetch_add(1, Ordering::SeqCst))
}

fn basic(id: &str, secret: &str) -> String {
    // Standard base64 of "id:secret", written out (the test must not share the sandbox's).
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let bytes = format!("{id}:{secret}").into_bytes();
    let mut out = String::new();
    for c in bytes.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= c.len() {
                out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    format!("Basic {out}")
}

impl Bank {
    async fn sber_token_raw(&self, authorization: &str, form: &str) -> (u16, Value) {
        let response = reqwest::Client::new()
            .post(format!("{}/sber/tokens/v3/oauth", self.base))
            .header("Authorization", authorization)
            .header("RqUID", rq_uid())
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(form.to_owned())
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.json().await.unwrap())
    }

    async fn sber_token(&self, scope: &str) -> String {
        let form = format!(
            "grant_type=client_credentials&scope={}",
            scope.replace(':', "%3A").replace('/', "%2F")
        );
        let (status, body) = self
            .sber_token_raw(&basic(SBER_CLIENT_ID, SBER_CLIENT_SECRET), &form)
            .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["scope"], scope);
        assert_eq!(body["expires_in"], 60);
        body["access_token"].as_str().unwrap().to_owned()
    }

    /// An order-API call with a token of `scope`; the body's `rq_uid` is filled in.
    async fn sber(&self, path: &str, scope: &str, mut body: Value) -> (u16, Value) {
        let token = self.sber_token(scope).await;
        let rq = rq_uid();
        let key = if path.ends_with("registry") {
            "rqUid"
        } else {
            "rq_uid"
        };
        body[key] = json!(rq);
        let response = reqwest::Client::new()
            .post(format!("{}/sber/qr/order/v3/{path}", self.base))
            .bearer_auth(token)
            .header("RqUID", &rq)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let answer: Value = response.json().await.unwrap();
        if status == 200 {
            assert_eq!(answer[key], rq, "the answer echoes rq_uid");
        }
        (status, answer)
    }

    async fn sber_create(&self, order_number: &str, sum: i64) -> Value {
        let (status, created) = self
            .sber(
                "creation",
                CREATE,
                json!({"rq_tm": "2026-11-28T09:00:00Z", "member_id": SBER_MEMBER_ID, "order_number": order_number,
                       "order_create_date": "2026-11-28T09:00:00Z", "id_qr": SBER_TID, "order_sum": sum,
                       "currency": "643", "description": "Чек 1", "sbp_member_id": "100000000111",
                       "order_params_type": [{"position_name": "Чек 1", "position_count": 1, "position_sum": sum}]}),
            )
            .await;
        assert_eq!(
            (status, &created["error_code"]),
            (200, &json!("000000")),
            "{created}"
        );
        created
    }

    async fn sber_status(&self, order_id: &str, order_number: &str) -> Value {
        let (status, answer) = self
            .sber("status", STATUS, json!({"rq_tm": "2026-11-28T09:00:00Z", "order_id": order_id, "tid": SBER_TID, "partner_order_number": order_number}))
            .await;
        assert_eq!(status, 200);
        answer
    }
}

#[tokio::test]
async fn the_gateway_wants_the_client_credentials_a_token_of_the_scope_and_an_rquid() {
    let bank = start().await;
    let (status, body) = bank
        .sber_token_raw(
            &basic(SBER_CLIENT_ID, "wrong"),
            "grant_type=client_credentials&scope=x",
        )
        .await;
    assert_eq!(
        (status, &body["httpCode"], &body["moreInformation"]),
        (401, &json!("401"), &json!("Client id not registered."))
    );
    let (status, body) = bank
        .sber_token_raw(
            &basic(SBER_CLIENT_ID, SBER_CLIENT_SECRET),
            "grant_type=client_credentials&scope=other",
        )
        .await;
    assert_eq!(
        (status, &body["moreInformation"]),
        (400, &json!("invalid_scope"))
    );
    // A token of another scope, or none, or no RqUID header: refused by the gateway.
    let status_token = bank.sber_token(STATUS).await;
    let call = |token: Option<&str>, rq: Option<&str>| {
        let mut request = reqwest::Client::new()
            .post(format!("{}/sber/qr/order/v3/creation", bank.base))
            .json(&json!({"rq_uid": "d0c5d5d03e074ad7ba2e2e248eef7e9c"}));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(rq) = rq {
            request = request.header("RqUID", rq);
        }
        request.send()
    };
    let refused = call(
        Some(&status_token),
        Some("d0c5d5d03e074ad7ba2e2e248eef7e9c"),
    )
    .await
    .unwrap();
    assert_eq!(refused.status().as_u16(), 401);
    let create_token = bank.sber_token(CREATE).await;
    let no_rq = call(Some(&create_token), None).await.unwrap();
    assert_eq!(no_rq.status().as_u16(), 400);
    let bad_rq = call(Some(&create_token), Some("not-hex")).await.unwrap();
    assert_eq!(bad_rq.status().as_u16(), 400);
    assert!(
        bad_rq.json::<Value>().await.unwrap()["moreInformation"]
            .as_str()
            .unwrap()
            .contains("rquid")
    );
    // Tokens live 60 s by the bank's clock.
    bank.clock.advance(chrono::TimeDelta::seconds(60));
    assert_eq!(
        call(
            Some(&create_token),
            Some("d0c5d5d03e074ad7ba2e2e248eef7e9c")
        )
        .await
        .unwrap()
        .status()
        .as_u16(),
        401
    );
}

#[tokio::test]
async fn an_order_is_paid_refunded_with_the_sbp_and_listed_in_the_registry() {
    let bank = start().await;
    let spec = spec();
    let schemas = &spec["components"]["schemas"];
    let mut merchant = receiver(1).await;
    bank.sandbox
        .set_sber_notification_url(Some(merchant.url.clone()));
    let created = bank.sber_create("sb-1", 12_345).await;
    conforms(&created, &schemas["responseCreation"], "creation");
    assert_eq!(created["order_state"], "CREATED");
    let order_id = created["order_id"].as_str().unwrap().to_owned();
    let link = parse_link(created["order_form_url"].as_str().unwrap()).unwrap();
    assert_eq!(
        (link.sum.map(|k| k.get()), link.bank.as_deref(), link.crc_ok),
        (Some(12_345), Some("100000000111"), Some(true))
    );
    let open = bank.sber_status(&order_id, "sb-1").await;
    assert_eq!(open["order_state"], "CREATED");
    assert!(open.get("order_operation_params").is_none(), "{open}");
    bank.sandbox.sber_pay(&order_id).unwrap();
    // Unsigned, camelCase, retried until HTTP 200 (the first attempt got a 500).
    for _ in 0..2 {
        let notice: Value = serde_json::from_str(&merchant.next().await.json.body).unwrap();
        assert_eq!(
            (
                &notice["partnerOrderNumber"],
                &notice["orderId"],
                &notice["orderState"],
                &notice["memberId"],
                &notice["tid"]
            ),
            (
                &json!("sb-1"),
                &json!(order_id),
                &json!("PAID"),
                &json!(SBER_MEMBER_ID),
                &json!(SBER_TID)
            ),
            "{notice}"
        );
    }
    assert!(bank.sandbox.sber_pay(&order_id).is_err());
    let paid = bank.sber_status(&order_id, "sb-1").await;
    conforms(&paid, &schemas["responseStatus"], "status");
    let pay = paid["order_operation_params"][0].clone();
    assert_eq!(
        (
            &pay["operation_type"],
            &pay["operation_sum"],
            &pay["response_code"]
        ),
        (&json!("PAY"), &json!(12_345), &json!("00"))
    );
    let cancel = |sum: i64, kind: &str| {
        json!({"rq_tm": "2026-11-28T09:01:00Z", "order_id": order_id, "operation_type": kind, "operation_id": pay["operation_id"],
               "auth_code": pay["auth_code"], "id_qr": SBER_TID, "tid": SBER_TID, "cancel_operation_sum": sum, "operation_currency": "643"})
    };
    let (_, reverse) = bank.sber("cancel", CANCEL, cancel(12_345, "REVERSE")).await;
    assert_eq!(
        reverse["error_code"], "040000",
        "REVERSE is not for QR СБП: {reverse}"
    );
    let (_, too_much) = bank.sber("cancel", CANCEL, cancel(12_346, "REFUND")).await;
    assert_eq!(too_much["error_code"], "070000");
    let (_, refunded) = bank.sber("cancel", CANCEL, cancel(2_345, "REFUND")).await;
    conforms(&refunded, &schemas["responseCancel"], "cancel");
    assert_eq!(
        (
            &refunded["operation_type"],
            &refunded["operation_sum"],
            &refunded["order_status"]
        ),
        (&json!("REFUND"), &json!(2_345), &json!("PAID"))
    );
    let (_, second) = bank.sber("cancel", CANCEL, cancel(1, "REFUND")).await;
    assert_eq!(second["error_code"], "080000", "one refund at a time");
    // With the SBP on the first read, done on the second (and notified).
    let first_read = bank.sber_status(&order_id, "sb-1").await;
    assert_eq!(
        (
            &first_read["order_state"],
            &first_read["order_operation_params"][1]["response_code"]
        ),
        (&json!("PAID"), &json!(""))
    );
    let second_read = bank.sber_status(&order_id, "sb-1").await;
    assert_eq!(
        (
            &second_read["order_state"],
            &second_read["order_operation_params"][1]["response_code"]
        ),
        (&json!("REFUNDED"), &json!("00"))
    );
    let done: Value = serde_json::from_str(&merchant.next().await.json.body).unwrap();
    assert_eq!(done["orderState"], "REFUNDED");
    let (_, revoke) = bank
        .sber(
            "revocation",
            REVOKE,
            json!({"rq_tm": "2026-11-28T09:02:00Z", "order_id": order_id}),
        )
        .await;
    assert_eq!(
        revoke["error_code"], "080000",
        "a paid order is not revoked"
    );
    // The registry: the paid order with its approved operations; the day is Moscow time.
    let period = json!({"rqTm": "2026-11-28T09:03:00Z", "idQR": SBER_TID, "startPeriod": "2026-11-28T00:00:00Z", "endPeriod": "2026-11-28T23:59:59Z", "registryType": "REGISTRY"});
    let (_, registry) = bank.sber("registry", REGISTRY, period.clone()).await;
    conforms(&registry, &schemas["responseRegistry"], "registry");
    let orders = registry["registryData"]["orderParams"]["orderParam"]
        .as_array()
        .unwrap();
    assert_eq!(orders.len(), 1, "{registry}");
    let ops = orders[0]["orderOperationParams"]["orderOperationParam"]
        .as_array()
        .unwrap();
    assert_eq!(
        ops.iter()
            .map(|o| o["operationType"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["PAY", "REFUND"]
    );
    let parsed = qrpayd_bank::sber::registry::parse(registry.to_string().as_bytes()).unwrap();
    assert_eq!(parsed.rows.len(), 2);
    let mut quantity = period;
    quantity["registryType"] = json!("QUANTITY");
    let (_, totals) = bank.sber("registry", REGISTRY, quantity).await;
    assert_eq!(
        totals["quantityData"],
        json!({"totalCount": 2, "totalPaymentAmount": 12_345, "totalRefundAmount": 2_345, "totalAmount": 10_000})
    );
}

#[tokio::test]
async fn declines_revocations_and_faults_in_sbers_shapes() {
    let bank = start().await;
    let declined = bank.sber_create("sb-d", 500).await;
    let declined_id = declined["order_id"].as_str().unwrap();
    bank.sandbox.sber_decline(declined_id).unwrap();
    assert_eq!(
        bank.sber_status(declined_id, "sb-d").await["order_state"],
        "DECLINED"
    );
    let revoked = bank.sber_create("sb-r", 500).await;
    let revoked_id = revoked["order_id"].as_str().unwrap();
    let (_, answer) = bank
        .sber(
            "revocation",
            REVOKE,
            json!({"rq_tm": "2026-11-28T09:00:00Z", "order_id": revoked_id}),
        )
        .await;
    conforms(
        &answer,
        &spec()["components"]["schemas"]["responseRevoke"],
        "revocation",
    );
    assert_eq!(answer["order_state"], "REVOKED");
    assert!(bank.sandbox.sber_pay(revoked_id).is_err());
    let (_, unknown) = bank
        .sber(
            "status",
            STATUS,
            json!({"order_id": "0".repeat(32), "tid": SBER_TID, "partner_order_number": "x"}),
        )
        .await;
    assert_eq!(unknown["error_code"], "100000");
    // The customer pays a moment before the revocation arrives.
    let raced = bank.sber_create("sb-race", 500).await;
    let raced_id = raced["order_id"].as_str().unwrap();
    bank.sandbox.set_faults(Faults {
        customer_pays_before_cancel: 1,
        ..Faults::default()
    });
    let (_, refused) = bank
        .sber("revocation", REVOKE, json!({"order_id": raced_id}))
        .await;
    assert_eq!(refused["error_code"], "080000");
    assert_eq!(
        bank.sber_status(raced_id, "sb-race").await["order_state"],
        "PAID"
    );
    bank.sandbox.set_faults(Faults {
        http_500_next: 1,
        business_error_next: 1,
        ..Faults::default()
    });
    let (status, body) = bank
        .sber(
            "status",
            STATUS,
            json!({"order_id": raced_id, "tid": SBER_TID, "partner_order_number": "sb-race"}),
        )
        .await;
    assert_eq!((status, &body["httpCode"]), (500, &json!("500")));
    let (_, body) = bank
        .sber(
            "status",
            STATUS,
            json!({"order_id": raced_id, "tid": SBER_TID, "partner_order_number": "sb-race"}),
        )
        .await;
    assert_eq!(body["error_code"], "010000");
    // Tokens are never refused by a fault: only the order API fails.
    bank.sandbox.set_faults(Faults {
        lose_answer_next: 1,
        ..Faults::default()
    });
    let (status, _) = bank.sber("creation", CREATE, json!({"rq_tm": "2026-11-28T09:00:00Z", "member_id": SBER_MEMBER_ID, "order_number": "sb-lost",
        "order_create_date": "2026-11-28T09:00:00Z", "id_qr": SBER_TID, "order_sum": 100, "currency": "643", "sbp_member_id": "100000000111"})).await;
    assert_eq!(status, 500);
    let overview: Value = reqwest::get(format!("{}/sandbox/qrs", bank.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let numbers: Vec<&str> = overview["sberOrders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["orderNumber"].as_str().unwrap())
        .collect();
    assert_eq!(
        numbers,
        ["sb-d", "sb-r", "sb-race", "sb-lost"],
        "the lost answer's order was made"
    );
}
