//! Bad input: a clear 4xx with a stable code, never a 5xx, and nothing created.

use serde_json::{Value, json};

use crate::helpers::*;

async fn assert_refused(app: &TestApp, body: &str, status: u16, code: &str) {
    let a = app
        .request(
            reqwest::Method::POST,
            "/v1/payments",
            Some(KEY),
            Some("bad"),
            Some(body.to_owned()),
        )
        .await;
    assert_eq!(
        (a.status, a.code()),
        (status, code),
        "body {body:?} → {}",
        a.body
    );
    assert!(
        a.body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty())
    );
}

#[tokio::test]
async fn malformed_create_requests_are_refused_clearly() {
    let app = spawn_app().await;
    let cases: &[(&str, u16, &str)] = &[
        ("{not json", 400, "invalid_json"),
        ("", 400, "invalid_json"),
        ("[1,2]", 400, "invalid_json"),
        ("{}", 422, "invalid_amount"),
        (r#"{"amount": null}"#, 422, "invalid_amount"),
        (r#"{"amount": -1}"#, 422, "invalid_amount"),
        (r#"{"amount": 0}"#, 422, "invalid_amount"),
        (r#"{"amount": 123.45}"#, 422, "invalid_amount"),
        (r#"{"amount": "12345"}"#, 422, "invalid_amount"),
        (r#"{"amount": 1e30}"#, 422, "invalid_amount"),
        (
            r#"{"amount": 18446744073709551615}"#,
            422,
            "amount_too_large",
        ),
        (r#"{"amount": 100000001}"#, 422, "amount_too_large"),
        (
            r#"{"amount": 100, "currency": "USD"}"#,
            422,
            "unsupported_currency",
        ),
        (r#"{"amount": 100, "currency": 643}"#, 422, "invalid_field"),
        (
            r#"{"amount": 100, "provider": "gazprombank"}"#,
            422,
            "unknown_provider",
        ),
        (
            r#"{"amount": 100, "provider": "../etc"}"#,
            422,
            "unknown_provider",
        ),
        (r#"{"amount": 100, "order": ""}"#, 422, "invalid_order"),
        (
            r#"{"amount": 100, "order": "a\u0000b"}"#,
            422,
            "invalid_order",
        ),
        (r#"{"amount": 100, "description": 5}"#, 422, "invalid_field"),
        (
            r#"{"amount": 100, "povider": "raiffeisen"}"#,
            422,
            "unknown_field",
        ),
    ];
    for (body, status, code) in cases {
        assert_refused(&app, body, *status, code).await;
    }
    let long_order = json!({"amount": 100, "order": "я".repeat(65)}).to_string();
    assert_refused(&app, &long_order, 422, "invalid_order").await;
    let long_description = json!({"amount": 100, "description": "x".repeat(141)}).to_string();
    assert_refused(&app, &long_description, 422, "invalid_description").await;
    let huge = json!({"amount": 100, "description": "x".repeat(20_000)}).to_string();
    assert_refused(&app, &huge, 413, "body_too_large").await;
    // Nothing reached the bank.
    let qrs = app
        .sandbox_call(reqwest::Method::GET, "/sandbox/qrs", None)
        .await;
    assert_eq!(qrs["qrs"], json!([]));
}

#[tokio::test]
async fn the_idempotency_key_is_required_and_checked() {
    let app = spawn_app().await;
    let body = Some(json!({"amount": 100}).to_string());
    let none = app
        .request(
            reqwest::Method::POST,
            "/v1/payments",
            Some(KEY),
            None,
            body.clone(),
        )
        .await;
    assert_eq!(
        (none.status, none.code()),
        (400, "idempotency_key_required")
    );
    let long = "k".repeat(256);
    let bad = app
        .request(
            reqwest::Method::POST,
            "/v1/payments",
            Some(KEY),
            Some(&long),
            body,
        )
        .await;
    assert_eq!((bad.status, bad.code()), (400, "invalid_idempotency_key"));
}

#[tokio::test]
async fn odd_paths_methods_and_parameters() {
    let app = spawn_app().await;
    let p = app.create_ok("sale-1").await;
    let id = p["id"].as_str().unwrap();
    let cases: Vec<(reqwest::Method, String, u16, &str)> = vec![
        (
            reqwest::Method::GET,
            "/v1/payments/pay_nope".into(),
            404,
            "not_found",
        ),
        (
            reqwest::Method::GET,
            "/v1/payments/%00%01".into(),
            404,
            "not_found",
        ),
        (
            reqwest::Method::GET,
            format!("/v1/payments/{}", "x".repeat(500)),
            404,
            "not_found",
        ),
        (
            reqwest::Method::POST,
            "/v1/payments/pay_nope/cancel".into(),
            404,
            "not_found",
        ),
        (
            reqwest::Method::GET,
            format!("/v1/payments/{id}?wait=soon"),
            400,
            "invalid_wait",
        ),
        (
            reqwest::Method::GET,
            format!("/v1/payments/{id}?wait=-1"),
            400,
            "invalid_wait",
        ),
        (
            reqwest::Method::DELETE,
            format!("/v1/payments/{id}"),
            405,
            "method_not_allowed",
        ),
        (
            reqwest::Method::GET,
            "/v2/anything".into(),
            404,
            "not_found",
        ),
    ];
    for (method, path, status, code) in cases {
        let a = app
            .request(method.clone(), &path, Some(KEY), None, None)
            .await;
        assert_eq!(
            (a.status, a.code()),
            (status, code),
            "{method} {path}: {}",
            a.body
        );
    }
    // A huge wait is capped, not refused (max_wait_seconds = 10 in the test config).
    let paid = {
        app.customer_pays(&p).await;
        app.wait(id, 1_000_000).await
    };
    assert_eq!(paid.body["status"], Value::from("paid"));
}

#[tokio::test]
async fn the_bearer_scheme_is_case_insensitive() {
    let app = spawn_app().await;
    let p = app.create_ok("sale-1").await;
    let r = app
        .http
        .get(format!(
            "{}/v1/payments/{}",
            app.base,
            p["id"].as_str().unwrap()
        ))
        .header("Authorization", format!("BEARER {KEY}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}
