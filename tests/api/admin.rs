//! What the store admin and the monitoring see: `/readyz`, `/metrics` (admin key), and the
//! journal endpoints behind the `/admin` page (`/v1/admin/…`).

use std::time::Duration;

use qrpayd_sandbox::Faults;
use serde_json::json;

use crate::helpers::{ADMIN_KEY, DISPLAY_KEY, KEY, msk_day, spawn_app};

async fn metrics(app: &crate::helpers::TestApp) -> String {
    let response = app
        .http
        .get(format!("{}/metrics", app.base))
        .bearer_auth(ADMIN_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/openmetrics-text")
    );
    response.text().await.unwrap()
}

/// The value of the sample line that starts with `prefix` (name and labels).
fn sample(text: &str, prefix: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(prefix))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[tokio::test]
async fn metrics_count_payments_bank_calls_and_callbacks_and_need_the_admin_key() {
    let app = spawn_app().await;
    let paid = app.paid_payment("m-1").await;
    let pending = app.create_ok("m-2").await;

    let text = metrics(&app).await;
    assert_eq!(
        sample(
            &text,
            r#"qrpayd_payments{provider="raiffeisen",status="paid"}"#
        ),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            r#"qrpayd_payments{provider="raiffeisen",status="pending"}"#
        ),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            r#"qrpayd_bank_request_duration_seconds_count{provider="raiffeisen",operation="create_qr",outcome="ok"}"#
        ),
        Some(2.0),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            r#"qrpayd_callbacks_total{provider="raiffeisen",result="accepted"}"#
        ),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, r#"qrpayd_jobs_due{kind="payment"}"#),
        Some(0.0)
    );
    assert_eq!(
        sample(&text, "qrpayd_oldest_unfinished_payment_age_seconds "),
        Some(0.0),
        "{text}"
    );
    // Business time passes: the pending payment's job is overdue until the worker runs, and
    // the oldest unfinished payment ages.
    app.clock.advance(chrono::Duration::seconds(90));
    let text = metrics(&app).await;
    assert_eq!(
        sample(&text, r#"qrpayd_jobs_overdue{kind="payment"}"#),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, "qrpayd_oldest_unfinished_payment_age_seconds "),
        Some(90.0),
        "{text}"
    );
    assert!(text.trim_end().ends_with("# EOF"));
    let _ = (paid, pending);

    // A register's key is refused, no key is unauthorized.
    let as_register = app
        .request(reqwest::Method::GET, "/metrics", Some(KEY), None, None)
        .await;
    assert_eq!(
        (as_register.status, as_register.code()),
        (403, "admin_only")
    );
    let anonymous = app
        .request(reqwest::Method::GET, "/metrics", None, None, None)
        .await;
    assert_eq!(anonymous.status, 401);
}

#[tokio::test]
async fn open_long_polls_are_counted_while_they_wait() {
    let app = spawn_app().await;
    let p = app.create_ok("lp-1").await;
    let id = p["id"].as_str().unwrap().to_owned();
    let url = format!("{}/v1/payments/{id}?wait=10", app.base);
    let http = app.http.clone();
    let waiting = tokio::spawn(async move {
        http.get(url)
            .bearer_auth(KEY)
            .send()
            .await
            .unwrap()
            .status()
    });
    let mut seen = false;
    for _ in 0..100 {
        if sample(&metrics(&app).await, "qrpayd_long_polls_open ") == Some(1.0) {
            seen = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(seen, "the waiting long-poll was never counted");
    app.customer_pays(&p).await;
    assert_eq!(waiting.await.unwrap(), 200);
    assert_eq!(
        sample(&metrics(&app).await, "qrpayd_long_polls_open "),
        Some(0.0)
    );
}

#[tokio::test]
async fn readiness_reports_database_schema_and_each_provider() {
    let app = spawn_app().await;
    let ready = app
        .request(reqwest::Method::GET, "/readyz", None, None, None)
        .await;
    assert_eq!(ready.status, 200, "{}", ready.body);
    assert_eq!(ready.body["status"], "ready");
    assert_eq!(ready.body["database"]["ok"], true);
    assert_eq!(ready.body["schema"]["ok"], true);
    assert_eq!(ready.body["providers"]["raiffeisen"]["ok"], true);

    // Raiffeisen stops answering: three creates fail, and the provider is down.
    app.faults(Faults {
        http_500_next: 100,
        ..Faults::default()
    });
    for n in 0..3 {
        let a = app
            .create(
                &format!("down-{n}"),
                json!({"amount": 100, "provider": "raiffeisen"}),
            )
            .await;
        assert_eq!(a.status, 502, "{}", a.body);
    }
    let after = app
        .request(reqwest::Method::GET, "/readyz", None, None, None)
        .await;
    assert_eq!(after.body["providers"]["raiffeisen"]["ok"], false);
    assert_eq!(
        after.body["providers"]["raiffeisen"]["consecutive_failures"],
        3
    );
    // T-Bank still answers (nothing says otherwise), so the instance can take payments.
    assert_eq!(after.body["providers"]["tbank"]["ok"], true);
    assert_eq!(after.status, 200, "{}", after.body);
    assert_eq!(
        sample(
            &metrics(&app).await,
            r#"qrpayd_bank_request_duration_seconds_count{provider="raiffeisen",operation="create_qr",outcome="unavailable"}"#
        ),
        Some(3.0)
    );
}

#[tokio::test]
async fn the_journal_endpoints_show_the_day_a_payment_s_history_and_what_needs_a_person() {
    let app = spawn_app().await;
    let paid = app.paid_payment("j-1").await;
    let id = paid["id"].as_str().unwrap();
    let refund = app
        .refund(id, "j-r1", json!({"amount": 2345, "reason": "return"}))
        .await;
    assert_eq!(refund.status, 201, "{}", refund.body);
    app.run_jobs().await;
    app.advance_and_run(Duration::from_secs(3)).await;
    let _unpaid = app.create_ok("j-2").await;
    let date = msk_day(app.clock_now()).to_string();

    let admin = |path: String| {
        let app = &app;
        async move {
            app.request(reqwest::Method::GET, &path, Some(ADMIN_KEY), None, None)
                .await
        }
    };
    let day = admin(format!("/v1/admin/day?date={date}")).await;
    assert_eq!(day.status, 200, "{}", day.body);
    assert_eq!(day.body["date"], date);
    assert_eq!(day.body["totals"]["payments"], 2);
    assert_eq!(day.body["totals"]["paid"], 1);
    assert_eq!(day.body["totals"]["paid_amount"], 12345);
    assert_eq!(day.body["groups"][0]["register"], "pos-1");
    assert_eq!(day.body["payments"].as_array().unwrap().len(), 2);
    // Without a date: today by the business clock.
    let today = admin("/v1/admin/day".into()).await;
    assert_eq!(today.body["date"], date);

    let detail = admin(format!("/v1/admin/payments/{id}")).await;
    assert_eq!(detail.status, 200, "{}", detail.body);
    let events: Vec<&str> = detail.body["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["event"].as_str().unwrap())
        .collect();
    assert!(
        events.first() == Some(&"Created") && events.iter().any(|e| e.starts_with("BankPaid")),
        "{events:?}"
    );
    assert_eq!(detail.body["refunds"][0]["amount"], 2345);
    assert!(
        !detail.body["refunds"][0]["history"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    let found = admin("/v1/admin/search?order=receipt-1".into()).await;
    assert_eq!(found.body["payments"].as_array().unwrap().len(), 2);

    let attention = admin("/v1/admin/attention".into()).await;
    assert_eq!(attention.status, 200);
    assert_eq!(attention.body["late"], json!([]));
    let reconciliation = admin("/v1/admin/reconciliation".into()).await;
    assert_eq!(reconciliation.body, json!({"last": null}));

    // A register's key cannot read the admin journal; bad input is a clear 4xx.
    let as_register = app
        .request(
            reqwest::Method::GET,
            "/v1/admin/attention",
            Some(KEY),
            None,
            None,
        )
        .await;
    assert_eq!(
        (as_register.status, as_register.code()),
        (403, "admin_only")
    );
    let bad = admin("/v1/admin/day?date=yesterday".into()).await;
    assert_eq!((bad.status, bad.code()), (400, "invalid_query"));
    let unknown = admin("/v1/admin/payments/pay_nope".into()).await;
    assert_eq!(unknown.status, 404);
}

#[tokio::test]
async fn open_display_streams_are_counted_until_they_close() {
    let app = spawn_app().await;
    let stream = app
        .http
        .get(format!(
            "{}/display/pos-1/events?key={DISPLAY_KEY}",
            app.base
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), 200);
    assert_eq!(
        sample(&metrics(&app).await, "qrpayd_display_streams_open "),
        Some(1.0)
    );
    drop(stream);
    let mut closed = false;
    for _ in 0..100 {
        if sample(&metrics(&app).await, "qrpayd_display_streams_open ") == Some(0.0) {
            closed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(closed, "a closed display stream is still counted");
}
