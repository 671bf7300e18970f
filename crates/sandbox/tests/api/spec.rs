//! The sandbox against the bank's published spec: every answer the sandbox gives on a
//! Raiffeisen path described in `sbp.yaml` conforms to that path's response schema — required
//! fields present, no field the schema does not name, types, enums and lengths as written, and
//! `code` only where the schema has one (the v2 QR status has none). Our sandbox is not
//! evidence about the bank: the bank's document is, so the sandbox is held to it.
//!
//! The validator below covers the part of OpenAPI 3.0 that `sbp.yaml` uses (`$ref`, `allOf`,
//! `type`, `required`, `properties`, `enum`, `minLength`/`maxLength`; OpenAPI 3.0 has no `null`
//! unless `nullable: true`).

use serde_json::Value;

use crate::support::{Answer, Bank, MERCHANT, start};

/// The bank's OpenAPI document (see `crates/bank/tests/data/README.md`).
fn spec() -> Value {
    serde_json::from_str(include_str!("../../../bank/tests/data/raiffeisen-sbp.json")).unwrap()
}

/// Follows a `$ref` (`#/components/schemas/...`).
fn resolve<'a>(spec: &'a Value, schema: &'a Value) -> &'a Value {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(reference) => {
            let mut at = spec;
            for part in reference.trim_start_matches("#/").split('/') {
                at = &at[part];
            }
            resolve(spec, at)
        }
        None => schema,
    }
}

/// The object properties a schema names, across `allOf`.
fn property_names(spec: &Value, schema: &Value, out: &mut Vec<String>) {
    let schema = resolve(spec, schema);
    if let Some(props) = schema.get("properties").and_then(Value::as_object) {
        out.extend(props.keys().cloned());
    }
    for part in schema
        .get("allOf")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        property_names(spec, part, out);
    }
}

/// Every way `value` breaks `schema`, with JSON paths.
fn violations(spec: &Value, schema: &Value, value: &Value, at: &str, out: &mut Vec<String>) {
    let schema = resolve(spec, schema);
    for part in schema
        .get("allOf")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        violations(spec, part, value, at, out);
    }
    if value.is_null() {
        if schema.get("nullable") != Some(&Value::Bool(true)) && schema.get("type").is_some() {
            out.push(format!(
                "{at}: null, but the schema says {}",
                schema["type"]
            ));
        }
        return;
    }
    let type_ok = match schema.get("type").and_then(Value::as_str) {
        Some("object") => value.is_object(),
        Some("string") => value.is_string(),
        Some("number") => value.is_number(),
        Some("integer") => value.is_i64() || value.is_u64(),
        Some("boolean") => value.is_boolean(),
        Some("array") => value.is_array(),
        _ => true,
    };
    if !type_ok {
        out.push(format!("{at}: {value} is not of type {}", schema["type"]));
        return;
    }
    if let Some(allowed) = schema.get("enum").and_then(Value::as_array)
        && !allowed.contains(value)
    {
        out.push(format!("{at}: {value} is not one of {allowed:?}"));
    }
    if let Some(text) = value.as_str() {
        let chars = u64::try_from(text.chars().count()).unwrap();
        if schema
            .get("minLength")
            .and_then(Value::as_u64)
            .is_some_and(|min| chars < min)
        {
            out.push(format!("{at}: {text:?} is shorter than minLength"));
        }
        if schema
            .get("maxLength")
            .and_then(Value::as_u64)
            .is_some_and(|max| chars > max)
        {
            out.push(format!("{at}: {text:?} is longer than maxLength"));
        }
    }
    if let Some(object) = value.as_object() {
        for required in schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let name = required.as_str().unwrap();
            if !object.contains_key(name) {
                out.push(format!("{at}: required field {name:?} is missing"));
            }
        }
        if let Some(props) = schema.get("properties").and_then(Value::as_object) {
            for (name, field) in object {
                if let Some(field_schema) = props.get(name) {
                    violations(spec, field_schema, field, &format!("{at}.{name}"), out);
                }
            }
        }
    }
}

/// Checks a sandbox answer against the `200` response schema of `method path`.
fn assert_conforms(spec: &Value, method: &str, path: &str, answer: &Answer) {
    assert_eq!(answer.status, 200, "{method} {path}: {}", answer.body);
    let schema = spec
        .pointer(&format!(
            "/paths/{}/{method}/responses/200/content/application~1json/schema",
            path.replace('~', "~0").replace('/', "~1")
        ))
        .unwrap_or(&Value::Null);
    assert!(
        !schema.is_null(),
        "{method} {path} has no schema in the spec"
    );
    let value: Value = serde_json::from_str(&answer.body).unwrap();
    let mut problems = Vec::new();
    violations(spec, schema, &value, "$", &mut problems);
    let mut names = Vec::new();
    property_names(spec, schema, &mut names);
    for field in value.as_object().unwrap().keys() {
        if !names.contains(field) {
            problems.push(format!("$.{field}: a field the spec does not name"));
        }
    }
    assert!(
        problems.is_empty(),
        "{method} {path} answered {}\n{}",
        answer.body,
        problems.join("\n")
    );
}

/// Registers a dynamic QR through `path` and returns its answer.
async fn register(bank: &Bank, path: &str, order: &str, amount: &str) -> Answer {
    bank.post_open(
        path,
        &format!(
            r#"{{"qrType":"QRDynamic","sbpMerchantId":"{MERCHANT}","order":"{order}","amount":{amount},"currency":"RUB","qrExpirationDate":"{}"}}"#,
            bank.expires_in(30)
        ),
    )
    .await
}

#[tokio::test]
async fn every_raiffeisen_answer_conforms_to_the_published_schema() {
    let spec = spec();
    let bank = start().await;
    let mut checked = 0;

    // Registration, v1 (the spec's path) and v2 (same answer schema, `qrStatus`).
    let first = register(&bank, "/api/sbp/v1/qr/register", "spec-1", "12.34").await;
    assert_conforms(&spec, "post", "/sbp/v1/qr/register", &first);
    let second = register(&bank, "/api/sbp/v2/qrs", "spec-2", "5").await;
    assert_conforms(&spec, "post", "/sbp/v1/qr/register", &second);
    checked += 2;
    let static_qr = bank
        .post_open(
            "/api/sbp/v1/qr/register",
            &format!(r#"{{"qrType":"QRStatic","sbpMerchantId":"{MERCHANT}","order":"spec-s"}}"#),
        )
        .await;
    assert_conforms(&spec, "post", "/sbp/v1/qr/register", &static_qr);
    checked += 1;
    let (a, b) = (first.text("qrId"), second.text("qrId"));

    // The v1 info, the v2 status (no `code`) and payment-info of an unpaid QR.
    let info = bank.get(&format!("/api/sbp/v1/qr/{a}/info")).await;
    assert_conforms(&spec, "get", "/sbp/v1/qr/{qrId}/info", &info);
    let status = bank.get(&format!("/api/sbp/v2/qrs/{a}")).await;
    assert_conforms(&spec, "get", "/sbp/v2/qrs/{qrId}", &status);
    let unpaid = bank.payment_info(&a).await;
    assert_conforms(&spec, "get", "/sbp/v1/qr/{qrId}/payment-info", &unpaid);
    checked += 3;

    // Paid: payment-info with a transaction, the v2 status PAID.
    bank.pay(&a, "12.34").await.assert_success();
    let paid = bank.payment_info(&a).await;
    assert_eq!(paid.text("paymentStatus"), "SUCCESS");
    assert_conforms(&spec, "get", "/sbp/v1/qr/{qrId}/payment-info", &paid);
    let status = bank.get(&format!("/api/sbp/v2/qrs/{a}")).await;
    assert_eq!(status.text("qrStatus"), "PAID");
    assert_conforms(&spec, "get", "/sbp/v2/qrs/{qrId}", &status);
    checked += 2;

    // Declined, then cancelled: the v2 status CANCELLED; DELETE answers 200 with no body.
    bank.post_open(&format!("/sandbox/qrs/{b}/decline"), "")
        .await;
    let declined = bank.payment_info(&b).await;
    assert_eq!(declined.text("paymentStatus"), "DECLINED");
    assert_conforms(&spec, "get", "/sbp/v1/qr/{qrId}/payment-info", &declined);
    let deleted = bank.delete(&format!("/api/sbp/v2/qrs/{b}")).await;
    assert_eq!((deleted.status, deleted.body.as_str()), (200, ""));
    let status = bank.get(&format!("/api/sbp/v2/qrs/{b}")).await;
    assert_eq!(status.text("qrStatus"), "CANCELLED");
    assert_conforms(&spec, "get", "/sbp/v2/qrs/{qrId}", &status);
    checked += 2;

    // Expired.
    let c = register(&bank, "/api/sbp/v2/qrs", "spec-3", "1")
        .await
        .text("qrId");
    bank.post_open(&format!("/sandbox/qrs/{c}/expire"), "")
        .await;
    let status = bank.get(&format!("/api/sbp/v2/qrs/{c}")).await;
    assert_eq!(status.text("qrStatus"), "EXPIRED");
    assert_conforms(&spec, "get", "/sbp/v2/qrs/{qrId}", &status);
    checked += 1;

    // Refunds: created, in progress, completed; declined.
    let refund = bank
        .post(
            "/api/sbp/v1/refund",
            r#"{"amount":2.34,"order":"spec-1","refundId":"spec-r1","paymentDetails":"возврат"}"#,
        )
        .await;
    assert_conforms(&spec, "post", "/sbp/v1/refund", &refund);
    for expected in ["IN_PROGRESS", "COMPLETED"] {
        let read = bank.get("/api/sbp/v1/refund/spec-r1").await;
        assert_eq!(read.text("refundStatus"), expected);
        assert_conforms(&spec, "get", "/sbp/v1/refund/{refundId}", &read);
    }
    bank.post(
        "/api/sbp/v1/refund",
        r#"{"amount":1,"order":"spec-1","refundId":"spec-r2"}"#,
    )
    .await;
    bank.post_open("/sandbox/refunds/spec-r2/decline", "").await;
    let declined = bank.get("/api/sbp/v1/refund/spec-r2").await;
    assert_eq!(declined.text("refundStatus"), "DECLINED");
    assert_conforms(&spec, "get", "/sbp/v1/refund/{refundId}", &declined);
    checked += 4;

    // The callback setting (`callbackSettings`: no `code`).
    let set = bank
        .post(
            "/api/settings/v1/callback",
            r#"{"callbackUrl":"https://store.example/callback"}"#,
        )
        .await;
    assert_conforms(&spec, "post", "/settings/v1/callback", &set);
    checked += 1;

    assert_eq!(checked, 16);
}

/// The validator is not a rubber stamp: it catches the kinds of drift it is there for.
#[test]
fn the_validator_catches_drift() {
    let spec = spec();
    let check = |path: &str, body: &str| {
        let answer = Answer {
            status: 200,
            body: body.to_owned(),
        };
        std::panic::catch_unwind(|| assert_conforms(&spec, "get", path, &answer)).is_err()
    };
    // fixed-date: a schema check of text; nothing compares it with a clock.
    let good = r#"{"qrId":"AD1","qrStatus":"NEW","qrExpirationDate":"2023-07-22T09:14:38+03:00","payload":"p","qrUrl":"u"}"#;
    assert!(!check("/sbp/v2/qrs/{qrId}", good));
    // A `code` the v2 status does not have, a value outside the enum, a missing field.
    assert!(check(
        "/sbp/v2/qrs/{qrId}",
        &good.replace("{", r#"{"code":"SUCCESS","#)
    ));
    assert!(check("/sbp/v2/qrs/{qrId}", &good.replace("NEW", "DONE")));
    assert!(check(
        "/sbp/v2/qrs/{qrId}",
        &good.replace(r#","qrUrl":"u""#, "")
    ));
    // null for a plain string, a number as text.
    let refund = r#"{"code":"SUCCESS","amount":1.5,"refundStatus":"COMPLETED"}"#;
    assert!(!check("/sbp/v1/refund/{refundId}", refund));
    assert!(check(
        "/sbp/v1/refund/{refundId}",
        &refund.replace("1.5", r#""1.5""#)
    ));
    assert!(check(
        "/sbp/v1/refund/{refundId}",
        &refund.replace(r#""SUCCESS""#, "null")
    ));
}
