//! The contract test: every operation of the served OpenAPI document is run for real, and each
//! answer is checked against the document: its status is documented for that operation, its
//! `Content-Type` is one the document names, and a JSON body validates against the documented
//! schema (a small validator for the subset of JSON Schema the document uses; unknown fields
//! fail, as the schemas forbid them). At the end every operation of the document must have
//! been run at least once.

use std::collections::BTreeSet;
use std::sync::Mutex;

use serde_json::{Value, json};

use crate::helpers::*;

/// The served document and the operations checked so far.
struct Contract {
    doc: Value,
    seen: Mutex<BTreeSet<(String, String)>>,
}

impl Contract {
    async fn load(app: &TestApp) -> Contract {
        let text = app
            .http
            .get(format!("{}/openapi.json", app.base))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert_eq!(
            text,
            qrpayd_service::api::OPENAPI,
            "/openapi.json serves the committed document"
        );
        Contract {
            doc: serde_json::from_str(&text).unwrap(),
            seen: Mutex::new(BTreeSet::new()),
        }
    }

    /// The operation whose path template matches `path` (query stripped).
    fn operation(&self, method: &str, path: &str) -> (String, &Value) {
        let path = path.split('?').next().unwrap();
        let paths = self.doc["paths"].as_object().unwrap();
        for (template, item) in paths {
            let t: Vec<&str> = template.split('/').collect();
            let p: Vec<&str> = path.split('/').collect();
            let fits = t.len() == p.len()
                && t.iter().zip(&p).all(|(t, p)| {
                    (t.starts_with('{') && t.ends_with('}') && !p.is_empty())
                        || t == p
                        || (t.contains('{') && {
                            // `{register_id}` inside a segment never happens; `qr.svg` etc. are literal.
                            false
                        })
                });
            if fits && let Some(op) = item.get(method.to_ascii_lowercase()) {
                return (template.clone(), op);
            }
        }
        panic!("{method} {path}: not in the document");
    }

    /// Checks one answer: status, content type, JSON body.
    fn check(&self, method: &str, path: &str, status: u16, content_type: &str, body: &str) {
        let (template, op) = self.operation(method, path);
        let response = op["responses"].get(status.to_string()).unwrap_or_else(|| {
            panic!("{method} {template}: status {status} is not documented: {body}")
        });
        self.seen
            .lock()
            .unwrap()
            .insert((method.to_ascii_lowercase(), template.clone()));
        let Some(content) = response.get("content").and_then(Value::as_object) else {
            return;
        };
        let media = content_type.split(';').next().unwrap().trim();
        let Some(entry) = content.get(media) else {
            panic!(
                "{method} {template} {status}: Content-Type {media} is not documented ({:?})",
                content.keys().collect::<Vec<_>>()
            );
        };
        if media != "application/json" {
            return;
        }
        let value: Value = serde_json::from_str(body)
            .unwrap_or_else(|e| panic!("{method} {template} {status}: not JSON ({e}): {body}"));
        let mut errors = Vec::new();
        self.validate(&entry["schema"], &value, "$", &mut errors);
        assert!(
            errors.is_empty(),
            "{method} {template} {status}: the body does not fit the document:\n{}\n{value:#}",
            errors.join("\n")
        );
    }

    fn resolve<'a>(&'a self, schema: &'a Value) -> &'a Value {
        match schema.get("$ref").and_then(Value::as_str) {
            Some(r) => self.resolve(
                self.doc
                    .pointer(r.strip_prefix('#').unwrap())
                    .unwrap_or_else(|| panic!("{r} does not resolve")),
            ),
            None => schema,
        }
    }

    fn fits(&self, schema: &Value, value: &Value) -> bool {
        let mut errors = Vec::new();
        self.validate(schema, value, "", &mut errors);
        errors.is_empty()
    }

    /// The subset of JSON Schema 2020-12 the document uses.
    fn validate(&self, schema: &Value, value: &Value, at: &str, errors: &mut Vec<String>) {
        let schema = self.resolve(schema);
        let Some(s) = schema.as_object() else {
            return; // `true` / `{}`
        };
        if let Some(types) = s.get("type") {
            let types: Vec<&str> = match types {
                Value::String(t) => vec![t.as_str()],
                Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
                _ => vec![],
            };
            let ok = types.iter().any(|t| match *t {
                "null" => value.is_null(),
                "boolean" => value.is_boolean(),
                "integer" => value.is_i64() || value.is_u64(),
                "number" => value.is_number(),
                "string" => value.is_string(),
                "array" => value.is_array(),
                "object" => value.is_object(),
                _ => false,
            });
            if !ok {
                errors.push(format!("{at}: {value} is not of type {types:?}"));
                return;
            }
        }
        if let Some(allowed) = s.get("enum").and_then(Value::as_array)
            && !allowed.contains(value)
        {
            errors.push(format!("{at}: {value} is not one of {allowed:?}"));
        }
        if let Some(c) = s.get("const")
            && c != value
        {
            errors.push(format!("{at}: {value} is not {c}"));
        }
        if let Some(n) = value.as_f64() {
            if let Some(min) = s.get("minimum").and_then(Value::as_f64)
                && n < min
            {
                errors.push(format!("{at}: {n} < minimum {min}"));
            }
            if let Some(max) = s.get("maximum").and_then(Value::as_f64)
                && n > max
            {
                errors.push(format!("{at}: {n} > maximum {max}"));
            }
        }
        if let Some(text) = value.as_str() {
            let chars = u64::try_from(text.chars().count()).unwrap();
            if let Some(min) = s.get("minLength").and_then(Value::as_u64)
                && chars < min
            {
                errors.push(format!("{at}: shorter than {min}"));
            }
            if let Some(max) = s.get("maxLength").and_then(Value::as_u64)
                && chars > max
            {
                errors.push(format!("{at}: longer than {max}"));
            }
        }
        if let Some(all) = s.get("allOf").and_then(Value::as_array) {
            for sub in all {
                self.validate(sub, value, at, errors);
            }
        }
        if let Some(any) = s.get("anyOf").and_then(Value::as_array)
            && !any.iter().any(|sub| self.fits(sub, value))
        {
            errors.push(format!("{at}: {value} fits none of anyOf"));
        }
        if let Some(one) = s.get("oneOf").and_then(Value::as_array) {
            let fitting = one.iter().filter(|sub| self.fits(sub, value)).count();
            if fitting != 1 {
                errors.push(format!(
                    "{at}: {value} fits {fitting} of oneOf, not exactly one"
                ));
            }
        }
        if let Some(object) = value.as_object() {
            let properties = s.get("properties").and_then(Value::as_object);
            for required in s
                .get("required")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let name = required.as_str().unwrap();
                if !object.contains_key(name) {
                    errors.push(format!("{at}: `{name}` is missing"));
                }
            }
            for (name, field) in object {
                let here = format!("{at}.{name}");
                match properties.and_then(|p| p.get(name)) {
                    Some(sub) => self.validate(sub, field, &here, errors),
                    None => match s.get("additionalProperties") {
                        Some(Value::Bool(false)) => {
                            errors.push(format!("{here}: not in the document"));
                        }
                        Some(sub @ Value::Object(_)) => self.validate(sub, field, &here, errors),
                        _ => {}
                    },
                }
            }
        }
        if let (Some(items), Some(array)) = (s.get("items"), value.as_array()) {
            for (i, item) in array.iter().enumerate() {
                self.validate(items, item, &format!("{at}[{i}]"), errors);
            }
        }
    }

    /// Every operation of the document was checked.
    fn assert_all_run(&self) {
        let seen = self.seen.lock().unwrap();
        let mut missing = Vec::new();
        for (template, item) in self.doc["paths"].as_object().unwrap() {
            for method in item.as_object().unwrap().keys() {
                if !seen.contains(&(method.clone(), template.clone())) {
                    missing.push(format!("{method} {template}"));
                }
            }
        }
        assert!(missing.is_empty(), "operations never run: {missing:?}");
    }
}

/// Sends a request and checks the answer against the document; returns status and body.
async fn call(
    app: &TestApp,
    contract: &Contract,
    method: reqwest::Method,
    path: &str,
    key: Option<&str>,
    idem: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = app
        .http
        .request(method.clone(), format!("{}{path}", app.base));
    if let Some(key) = key {
        req = req.bearer_auth(key);
    }
    if let Some(idem) = idem {
        req = req.header("Idempotency-Key", idem);
    }
    if let Some(body) = body {
        req = req
            .header("Content-Type", "application/json")
            .body(body.to_string());
    }
    let response = req.send().await.unwrap();
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    if content_type.starts_with("text/event-stream") {
        // A stream never ends: its status and type are the contract here.
        contract.check(method.as_str(), path, status, &content_type, "");
        return (status, Value::Null);
    }
    let bytes = response.bytes().await.unwrap();
    let text = String::from_utf8_lossy(&bytes).into_owned();
    contract.check(method.as_str(), path, status, &content_type, &text);
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

// fixed-date: a lower bound long before the test clock's start; it matches every payment.
const SINCE_LONG_AGO: &str = "/v1/payments?order=receipt-1&from=2020-01-01";

#[tokio::test]
async fn every_operation_answers_as_the_document_says() {
    use reqwest::Method as M;
    let app = spawn_app().await;
    let c = Contract::load(&app).await;
    let k = Some(KEY);
    let admin = Some(ADMIN_KEY);

    // Operations and documents.
    assert_eq!(
        call(&app, &c, M::GET, "/healthz", None, None, None).await.0,
        200
    );
    assert_eq!(
        call(&app, &c, M::GET, "/readyz", None, None, None).await.0,
        200
    );
    assert_eq!(
        call(&app, &c, M::GET, "/openapi.json", None, None, None)
            .await
            .0,
        200
    );
    assert_eq!(
        call(&app, &c, M::GET, "/metrics", admin, None, None)
            .await
            .0,
        200
    );
    assert_eq!(
        call(&app, &c, M::GET, "/metrics", k, None, None).await.0,
        403
    );

    // Payments: created, read, waited for, listed, cancelled; the errors on the way.
    let create = json!({"amount": 12345, "currency": "RUB", "provider": "raiffeisen", "order": "receipt-1", "description": "Order 1"});
    let (s, p) = call(
        &app,
        &c,
        M::POST,
        "/v1/payments",
        k,
        Some("c-1"),
        Some(create.clone()),
    )
    .await;
    assert_eq!(s, 201, "{p}");
    let id = p["id"].as_str().unwrap().to_owned();
    assert_eq!(
        call(
            &app,
            &c,
            M::POST,
            "/v1/payments",
            k,
            Some("c-1"),
            Some(create)
        )
        .await
        .0,
        201
    );
    for (body, idem, want) in [
        (json!({"amount": 1.5}), Some("c-2"), 422),
        (json!({"amount": 100, "povider": "x"}), Some("c-3"), 422),
        (json!({"amount": 100}), None, 400),
        (
            json!({"amount": 100, "customer_qr": null}),
            Some("c-4"),
            201,
        ),
    ] {
        assert_eq!(
            call(&app, &c, M::POST, "/v1/payments", k, idem, Some(body))
                .await
                .0,
            want
        );
    }
    assert_eq!(
        call(
            &app,
            &c,
            M::POST,
            "/v1/payments",
            None,
            Some("c-5"),
            Some(json!({"amount": 1}))
        )
        .await
        .0,
        401
    );
    assert_eq!(
        call(
            &app,
            &c,
            M::POST,
            "/v1/payments",
            admin,
            Some("c-6"),
            Some(json!({"amount": 1}))
        )
        .await
        .0,
        403
    );
    assert_eq!(
        call(
            &app,
            &c,
            M::GET,
            &format!("/v1/payments/{id}"),
            k,
            None,
            None
        )
        .await
        .0,
        200
    );
    assert_eq!(
        call(
            &app,
            &c,
            M::GET,
            &format!("/v1/payments/{id}?wait=soon"),
            k,
            None,
            None
        )
        .await
        .0,
        400
    );
    assert_eq!(
        call(&app, &c, M::GET, "/v1/payments/pay_nothing", k, None, None)
            .await
            .0,
        404
    );
    assert_eq!(
        call(&app, &c, M::GET, SINCE_LONG_AGO, k, None, None)
            .await
            .0,
        200
    );
    assert_eq!(
        call(
            &app,
            &c,
            M::GET,
            "/v1/payments?register=pos-1",
            admin,
            None,
            None
        )
        .await
        .0,
        200
    );
    assert_eq!(
        call(&app, &c, M::GET, "/v1/payments?from=", k, None, None)
            .await
            .0,
        400
    );
    assert_eq!(
        call(
            &app,
            &c,
            M::GET,
            "/v1/payments?register=pos-2",
            k,
            None,
            None
        )
        .await
        .0,
        403
    );

    // Pictures and slips while pending.
    for (path, want) in [
        ("qr.svg", 200),
        ("qr.svg?size=1", 400),
        ("qr.png?size=256", 200),
        ("qr.txt?background=light", 200),
        ("receipt.escpos?width=58", 200),
        ("receipt.txt", 200),
    ] {
        assert_eq!(
            call(
                &app,
                &c,
                M::GET,
                &format!("/v1/payments/{id}/{path}"),
                k,
                None,
                None
            )
            .await
            .0,
            want,
            "{path}"
        );
    }
    assert_eq!(
        call(
            &app,
            &c,
            M::GET,
            &format!("/v1/payments/{id}/qr.png"),
            admin,
            None,
            None
        )
        .await
        .0,
        403
    );

    assert_eq!(
        call(
            &app,
            &c,
            M::POST,
            &format!("/v1/payments/{id}/cancel"),
            k,
            None,
            None
        )
        .await
        .0,
        200
    );
    // Waiting on a final payment answers at once, however long the wait asked.
    assert_eq!(
        call(
            &app,
            &c,
            M::GET,
            &format!("/v1/payments/{id}?wait=99999999999999999999999"),
            k,
            None,
            None
        )
        .await
        .0,
        200
    );
    assert_eq!(
        call(
            &app,
            &c,
            M::GET,
            &format!("/v1/payments/{id}/qr.svg"),
            k,
            None,
            None
        )
        .await
        .0,
        409
    );

    // Refunds of a paid payment.
    let paid = app.paid_payment("c-paid").await;
    let paid_id = paid["id"].as_str().unwrap();
    let cancel_paid = format!("/v1/payments/{paid_id}/cancel");
    assert_eq!(
        call(&app, &c, M::POST, &cancel_paid, k, None, None).await.0,
        409
    );
    let refunds = format!("/v1/payments/{paid_id}/refunds");
    let (s, r) = call(
        &app,
        &c,
        M::POST,
        &refunds,
        k,
        Some("r-1"),
        Some(json!({"amount": 5000, "reason": "return 1"})),
    )
    .await;
    assert_eq!(s, 201, "{r}");
    assert_eq!(
        call(
            &app,
            &c,
            M::POST,
            &refunds,
            k,
            Some("r-2"),
            Some(json!({"amount": 100000}))
        )
        .await
        .0,
        409
    );
    assert_eq!(
        call(
            &app,
            &c,
            M::POST,
            &refunds,
            k,
            Some("r-3"),
            Some(json!({"amount": 0}))
        )
        .await
        .0,
        422
    );
    let refund_id = r["id"].as_str().unwrap();
    assert_eq!(
        call(
            &app,
            &c,
            M::GET,
            &format!("/v1/refunds/{refund_id}"),
            k,
            None,
            None
        )
        .await
        .0,
        200
    );
    assert_eq!(
        call(
            &app,
            &c,
            M::GET,
            &format!("/v1/refunds/{refund_id}?wait=1"),
            admin,
            None,
            None
        )
        .await
        .0,
        200
    );
    assert_eq!(
        call(&app, &c, M::GET, "/v1/refunds/rf_nothing", k, None, None)
            .await
            .0,
        404
    );
    assert_eq!(
        call(
            &app,
            &c,
            M::GET,
            &format!("/v1/payments/{paid_id}"),
            k,
            None,
            None
        )
        .await
        .0,
        200
    );

    // The event feed.
    let (s, page) = call(&app, &c, M::GET, "/v1/events?after=0", k, None, None).await;
    assert_eq!(s, 200);
    assert!(page["events"].as_array().unwrap().len() >= 4, "{page}");
    assert_eq!(
        call(&app, &c, M::GET, "/v1/events?limit=0", k, None, None)
            .await
            .0,
        400
    );

    // Links.
    assert_eq!(
        call(
            &app,
            &c,
            M::POST,
            "/v1/links/check",
            k,
            None,
            Some(json!({"payload": "https://qr.nspk.ru/AS1R?type=01"}))
        )
        .await
        .0,
        200
    );
    assert_eq!(
        call(
            &app,
            &c,
            M::POST,
            "/v1/links/check",
            k,
            None,
            Some(json!({"payload": ""}))
        )
        .await
        .0,
        422
    );

    // A bank callback without a signature; an unknown provider.
    // fixed-date: the notification is unsigned and refused before its date is read.
    let notification = json!({"sbpMerchantId": MERCHANT, "amount": 123.45, "transactionDate": "2026-11-28T12:00:00.000000+03:00", "paymentStatus": "SUCCESS", "order": paid_id});
    assert_eq!(
        call(
            &app,
            &c,
            M::POST,
            "/v1/callbacks/raiffeisen",
            None,
            None,
            Some(notification.clone())
        )
        .await
        .0,
        401
    );
    assert_eq!(
        call(
            &app,
            &c,
            M::POST,
            "/v1/callbacks/nobank",
            None,
            None,
            Some(notification)
        )
        .await
        .0,
        404
    );

    // The admin's journal.
    for path in [
        "/v1/admin/day".to_owned(),
        "/v1/admin/search?order=receipt-1".to_owned(),
        format!("/v1/admin/payments/{paid_id}"),
        "/v1/admin/attention".to_owned(),
        "/v1/admin/reconciliation".to_owned(),
    ] {
        assert_eq!(
            call(&app, &c, M::GET, &path, admin, None, None).await.0,
            200,
            "{path}"
        );
        assert_eq!(
            call(&app, &c, M::GET, &path, k, None, None).await.0,
            403,
            "{path}"
        );
    }
    assert_eq!(
        call(
            &app,
            &c,
            M::GET,
            "/v1/admin/day?date=yesterday",
            admin,
            None,
            None
        )
        .await
        .0,
        400
    );

    // Pages for people.
    assert_eq!(
        call(
            &app,
            &c,
            M::GET,
            &format!("/display/pos-1?key={DISPLAY_KEY}"),
            None,
            None,
            None
        )
        .await
        .0,
        200
    );
    assert_eq!(
        call(
            &app,
            &c,
            M::GET,
            "/display/pos-1?key=wrong-key-0123456789",
            None,
            None,
            None
        )
        .await
        .0,
        404
    );
    assert_eq!(
        call(
            &app,
            &c,
            M::GET,
            &format!("/display/pos-1/events?key={DISPLAY_KEY}"),
            None,
            None,
            None
        )
        .await
        .0,
        200
    );
    assert_eq!(
        call(&app, &c, M::GET, "/assets/display.css", None, None, None)
            .await
            .0,
        200
    );
    assert_eq!(
        call(&app, &c, M::GET, "/assets/display.js", None, None, None)
            .await
            .0,
        200
    );
    assert_eq!(
        call(&app, &c, M::GET, "/admin", None, None, None).await.0,
        200
    );
    let demo = call(&app, &c, M::GET, "/demo", None, None, None).await.0;
    assert!(demo == 200 || demo == 404, "{demo}");

    c.assert_all_run();
}

/// The validator itself: what the document forbids fails.
#[test]
fn the_validator_refuses_what_the_document_forbids() {
    let c = Contract {
        doc: serde_json::from_str(qrpayd_service::api::OPENAPI).unwrap(),
        seen: Mutex::new(BTreeSet::new()),
    };
    // fixed-date: data for the validator, never compared with a clock.
    const AT: &str = "2025-03-14T10:05:12.034Z";
    let refund = json!({"id": "rf_0190a1f0a8b27c3d9e4f5a6b7c8d9e0f", "payment_id": "pay_1", "amount": 5000,
        "status": "pending", "reason": null, "automatic": false, "failure": null,
        "created_at": AT, "updated_at": AT, "finished_at": null});
    let schema = json!({"$ref": "#/components/schemas/Refund"});
    assert!(c.fits(&schema, &refund));
    let mut extra = refund.clone();
    extra["surprise"] = json!(1);
    let mut missing = refund.clone();
    missing.as_object_mut().unwrap().remove("reason");
    let mut wrong = refund.clone();
    wrong["status"] = json!("done");
    let mut zero = refund.clone();
    zero["amount"] = json!(0);
    for bad in [extra, missing, wrong, zero] {
        assert!(!c.fits(&schema, &bad), "{bad}");
    }
    let error = json!({"error": {"code": "no_such_code", "message": "x"}});
    assert!(!c.fits(&json!({"$ref": "#/components/schemas/Error"}), &error));
}

/// Every example the document shows fits the schema it illustrates (a reader copies them).
#[test]
fn every_example_in_the_document_fits_its_schema() {
    let c = Contract {
        doc: serde_json::from_str(qrpayd_service::api::OPENAPI).unwrap(),
        seen: Mutex::new(BTreeSet::new()),
    };
    let mut errors = Vec::new();
    let mut checked = 0;
    for (name, schema) in c.doc["components"]["schemas"].as_object().unwrap() {
        for (i, example) in schema["examples"]
            .as_array()
            .into_iter()
            .flatten()
            .enumerate()
        {
            c.validate(
                schema,
                example,
                &format!("schema {name} example {i}"),
                &mut errors,
            );
            checked += 1;
        }
    }
    for (path, item) in c.doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let mut contents = Vec::new();
            if let Some(body) = op["requestBody"]["content"].as_object() {
                contents.extend(body.iter().map(|(t, c)| (format!("request {t}"), c)));
            }
            for (status, response) in op["responses"].as_object().unwrap() {
                for (t, content) in response["content"].as_object().into_iter().flatten() {
                    contents.push((format!("{status} {t}"), content));
                }
            }
            for (what, content) in contents {
                for (name, example) in content["examples"].as_object().into_iter().flatten() {
                    let at = format!("{method} {path} {what} example {name}");
                    c.validate(&content["schema"], &example["value"], &at, &mut errors);
                    checked += 1;
                }
            }
        }
    }
    assert!(checked > 150, "{checked} examples");
    assert!(errors.is_empty(), "{}", errors.join("\n"));
}
