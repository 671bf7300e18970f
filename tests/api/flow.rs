//! The happy path, idempotency, authentication, long-poll and notifications.

use std::time::{Duration, Instant};

use qrpayd_domain::nspk;
use qrpayd_sandbox::Faults;
use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn a_register_creates_a_qr_and_learns_of_the_payment_at_once() {
    let app = spawn_app().await;
    let p = app.create_ok("sale-1").await;
    assert_eq!(p["status"], "pending");
    assert_eq!(p["amount"], 12345);
    assert_eq!(p["currency"], "RUB");
    assert_eq!(p["provider"], "raiffeisen");
    assert_eq!(p["order"], "receipt-1");
    assert_eq!(p["late"], false);
    let payload = p["qr"]["payload"].as_str().unwrap();
    let qr_id = p["qr"]["qr_id"].as_str().unwrap();
    assert!(
        payload.starts_with(&format!("https://qr.nspk.ru/{qr_id}?type=02")),
        "{payload}"
    );
    assert!(payload.contains("&sum=12345&cur=RUB"), "{payload}");
    assert_eq!(nspk::crc_matches(payload), Some(true));
    // RFC 3339 times, and the QR lives exactly payment_ttl_seconds.
    let created = chrono::DateTime::parse_from_rfc3339(p["created_at"].as_str().unwrap()).unwrap();
    let expires = chrono::DateTime::parse_from_rfc3339(p["expires_at"].as_str().unwrap()).unwrap();
    assert_eq!(expires - created, chrono::Duration::seconds(300));

    // The register long-polls; the customer pays; the waiter gets "paid" from the callback.
    let id = p["id"].as_str().unwrap().to_owned();
    let waiter = {
        let app_base = app.base.clone();
        tokio::spawn(async move {
            let started = Instant::now();
            let body: serde_json::Value = reqwest::Client::new()
                .get(format!("{app_base}/v1/payments/{id}?wait=10"))
                .bearer_auth(KEY)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            (body, started)
        })
    };
    tokio::time::sleep(Duration::from_millis(100)).await; // let the waiter subscribe
    let paid_at = Instant::now();
    app.customer_pays(&p).await;
    let (body, _) = waiter.await.unwrap();
    let latency = paid_at.elapsed();
    assert_eq!(body["status"], "paid", "{body}");
    assert!(body["paid_at"].is_string());
    // Functional bound, not a benchmark: the callback path must not wait for a poll (2 s).
    assert!(latency < Duration::from_millis(1500), "took {latency:?}");
    // No job ran: the callback alone did it.
    assert_eq!(
        app.history(p["id"].as_str().unwrap()).await,
        ["creating", "pending", "paid"]
    );
}

#[tokio::test]
async fn a_lost_callback_is_covered_by_polling() {
    let app = spawn_app().await;
    app.faults(Faults {
        drop_callbacks: true,
        ..Faults::default()
    });
    let p = app.create_ok("sale-1").await;
    let id = p["id"].as_str().unwrap();
    app.customer_pays(&p).await;
    assert_eq!(app.status(id).await, "pending");
    // Nothing is due before the poll interval.
    assert_eq!(app.advance_and_run(Duration::from_millis(1500)).await, 0);
    assert_eq!(app.advance_and_run(Duration::from_millis(600)).await, 1);
    assert_eq!(app.status(id).await, "paid");
}

#[tokio::test]
async fn a_declined_payment_fails() {
    let app = spawn_app().await;
    let p = app.create_ok("sale-1").await;
    let qr_id = p["qr"]["qr_id"].as_str().unwrap();
    app.sandbox_call(
        reqwest::Method::POST,
        &format!("/sandbox/qrs/{qr_id}/decline"),
        None,
    )
    .await;
    let id = p["id"].as_str().unwrap();
    let body = app.until_status(id, "failed").await;
    assert_eq!(body["failure"]["code"], "declined");
    // The QR stays payable after a declined attempt at the bank, so qrpayd deactivates it:
    // the customer cannot pay a payment the register already gave up on.
    assert_eq!(app.bank_qr_status(&p).await, "CANCELLED");
    assert_eq!(
        app.history(id).await,
        ["creating", "pending", "declining", "failed"]
    );
}

#[tokio::test]
async fn a_decline_found_by_polling_also_closes_the_qr() {
    let app = spawn_app().await;
    app.faults(Faults {
        drop_callbacks: true,
        ..Faults::default()
    });
    let p = app.create_ok("sale-1").await;
    let qr_id = p["qr"]["qr_id"].as_str().unwrap();
    app.sandbox_call(
        reqwest::Method::POST,
        &format!("/sandbox/qrs/{qr_id}/decline"),
        None,
    )
    .await;
    app.advance_and_run(Duration::from_secs(2)).await;
    assert_eq!(app.status(p["id"].as_str().unwrap()).await, "failed");
    assert_eq!(app.bank_qr_status(&p).await, "CANCELLED");
}

#[tokio::test]
async fn the_same_key_and_body_return_the_same_payment() {
    let app = spawn_app().await;
    let first = app.create_ok("sale-1").await;
    let again = app.create("sale-1", json!({"amount": 12345, "currency": "RUB", "provider": "raiffeisen", "order": "receipt-1"})).await;
    assert_eq!(again.status, 201);
    assert_eq!(again.body["id"], first["id"]);
    assert_eq!(again.body["qr"], first["qr"]);
    assert_eq!(again.headers.get("idempotent-replayed").unwrap(), "true");
    // One QR at the bank, not two.
    let qrs = app
        .sandbox_call(reqwest::Method::GET, "/sandbox/qrs", None)
        .await;
    assert_eq!(qrs["qrs"].as_array().unwrap().len(), 1);

    // Same key, different body: refused, nothing created.
    let reused = app
        .create("sale-1", json!({"amount": 99999, "provider": "raiffeisen"}))
        .await;
    assert_eq!(
        (reused.status, reused.code()),
        (422, "idempotency_key_reused")
    );

    // Keys are per register: pos-2 may use "sale-1" for its own payment.
    let other = app
        .request(
            reqwest::Method::POST,
            "/v1/payments",
            Some(OTHER_KEY),
            Some("sale-1"),
            Some(json!({"amount": 100}).to_string()),
        )
        .await;
    assert_eq!(other.status, 201);
    assert_ne!(other.body["id"], first["id"]);
}

#[tokio::test]
async fn concurrent_retries_with_one_key_make_one_payment() {
    let app = spawn_app().await;
    app.faults(Faults {
        latency_ms: 200,
        ..Faults::default()
    });
    let mut tasks = Vec::new();
    for _ in 0..5 {
        let (base, http) = (app.base.clone(), app.http.clone());
        tasks.push(tokio::spawn(async move {
            let r = http
                .post(format!("{base}/v1/payments"))
                .bearer_auth(KEY)
                .header("Idempotency-Key", "same")
                .json(&json!({"amount": 500}))
                .send()
                .await
                .unwrap();
            (
                r.status().as_u16(),
                r.json::<serde_json::Value>().await.unwrap(),
            )
        }));
    }
    let mut ids = Vec::new();
    for t in tasks {
        let (status, body) = t.await.unwrap();
        assert_eq!(status, 201, "{body}");
        ids.push(body["id"].as_str().unwrap().to_owned());
    }
    ids.dedup();
    assert_eq!(ids.len(), 1);
    let qrs = app
        .sandbox_call(reqwest::Method::GET, "/sandbox/qrs", None)
        .await;
    assert_eq!(qrs["qrs"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn registers_need_a_key_and_see_only_their_own_payments() {
    let app = spawn_app().await;
    let p = app.create_ok("sale-1").await;
    let id = p["id"].as_str().unwrap();
    let path = format!("/v1/payments/{id}");
    let none = app
        .request(reqwest::Method::GET, &path, None, None, None)
        .await;
    assert_eq!((none.status, none.code()), (401, "unauthorized"));
    let wrong = app
        .request(
            reqwest::Method::GET,
            &path,
            Some("not-a-key-0123456789"),
            None,
            None,
        )
        .await;
    assert_eq!((wrong.status, wrong.code()), (401, "unauthorized"));
    let other = app
        .request(reqwest::Method::GET, &path, Some(OTHER_KEY), None, None)
        .await;
    assert_eq!((other.status, other.code()), (404, "not_found"));
    let cancel = app
        .request(
            reqwest::Method::POST,
            &format!("{path}/cancel"),
            Some(OTHER_KEY),
            None,
            None,
        )
        .await;
    assert_eq!((cancel.status, cancel.code()), (404, "not_found"));
    assert_eq!(app.status(id).await, "pending");
}

#[tokio::test]
async fn a_long_poll_returns_pending_when_nothing_happens() {
    let app = spawn_app().await;
    let p = app.create_ok("sale-1").await;
    let started = Instant::now();
    let a = app.wait(p["id"].as_str().unwrap(), 1).await;
    assert_eq!(a.body["status"], "pending");
    assert!(started.elapsed() >= Duration::from_millis(900));
}

#[tokio::test]
async fn duplicated_notifications_are_applied_once() {
    let app = spawn_app().await;
    app.faults(Faults {
        duplicate_callbacks: true,
        ..Faults::default()
    });
    let p = app.create_ok("sale-1").await;
    let id = p["id"].as_str().unwrap();
    app.customer_pays(&p).await;
    app.until_status(id, "paid").await;
    // Give the duplicate time to arrive, then check it changed nothing.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(app.history(id).await, ["creating", "pending", "paid"]);
}

#[tokio::test]
async fn forged_and_odd_notifications_are_refused() {
    let app = spawn_app().await;
    app.faults(Faults {
        drop_callbacks: true,
        ..Faults::default()
    });
    let p = app.create_ok("sale-1").await;
    let id = p["id"].as_str().unwrap();
    let notice = |amount: &str| {
        format!(
            // fixed-date: a notification's transactionDate is only signed text; nothing compares it.
            r#"{{"transactionId":1,"qrId":"{}","sbpMerchantId":"{MERCHANT}","merchantId":123,"amount":{amount},"currency":"RUB","transactionDate":"2026-11-28T12:00:00.000001+03:00","paymentStatus":"SUCCESS","order":"{id}"}}"#,
            p["qr"]["qr_id"].as_str().unwrap()
        )
    };
    let post = |body: String, sig: Option<String>| {
        let mut r = app
            .http
            .post(format!("{}/v1/callbacks/raiffeisen", app.base))
            .body(body);
        if let Some(sig) = sig {
            r = r.header("X-Api-Signature-SHA256", sig);
        }
        r.send()
    };
    let sign = |amount: &str| {
        qrpayd_bank::raiffeisen::notification_signature(
            &qrpayd_domain::secret::Secret::new(SECRET),
            amount,
            MERCHANT,
            id,
            "SUCCESS",
            // fixed-date: the same signed text as above.
            "2026-11-28T12:00:00.000001+03:00",
        )
    };
    // Forged: signed with another key.
    let forged = qrpayd_bank::raiffeisen::notification_signature(
        &qrpayd_domain::secret::Secret::new("guess"),
        "123.45",
        MERCHANT,
        id,
        "SUCCESS",
        // fixed-date: the same signed text as above.
        "2026-11-28T12:00:00.000001+03:00",
    );
    assert_eq!(
        post(notice("123.45"), Some(forged)).await.unwrap().status(),
        401
    );
    assert_eq!(post(notice("123.45"), None).await.unwrap().status(), 401);
    assert_eq!(
        post("{}".into(), Some(sign("1"))).await.unwrap().status(),
        400
    );
    let unknown = app
        .http
        .post(format!("{}/v1/callbacks/nobank", app.base))
        .body(notice("1"))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
    // Correctly signed but for another amount: only the bank's answer counts, and the bank
    // says nothing was paid.
    let r = post(notice("1.00"), Some(sign("1"))).await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap()["status"],
        "accepted"
    );
    assert_eq!(app.status(id).await, "pending");
    // A correctly signed SUCCESS while the bank says NO_INFO (a replay, or a key that leaked)
    // changes nothing either: a notification is a hint.
    let r = post(notice("123.45"), Some(sign("123.45"))).await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(app.status(id).await, "pending");
    // The customer really pays (the bank's own notification is lost): the genuine
    // notification (amount written with a trailing zero) is confirmed with the bank, applied.
    app.customer_pays(&p).await;
    let r = post(notice("123.450"), Some(sign("123.45"))).await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(app.status(id).await, "paid");
}

#[tokio::test]
async fn the_callback_url_is_registered_at_startup() {
    let app = spawn_with(Options {
        register_callback: true,
        ..Options::default()
    })
    .await;
    // Registration runs in the background, right after startup.
    let want = format!("{}/v1/callbacks/raiffeisen", app.base);
    let mut url = None;
    for _ in 0..100 {
        url = app.sandbox.callback_url();
        if url.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(url.as_deref(), Some(want.as_str()));
    let p = app.create_ok("sale-1").await;
    app.customer_pays(&p).await;
    app.until_status(p["id"].as_str().unwrap(), "paid").await;
}

#[tokio::test]
async fn health_and_api_description() {
    let app = spawn_app().await;
    let h = app
        .request(reqwest::Method::GET, "/healthz", None, None, None)
        .await;
    assert_eq!((h.status, h.body["status"].as_str()), (200, Some("ok")));
    let o = app
        .request(reqwest::Method::GET, "/openapi.json", None, None, None)
        .await;
    assert_eq!(o.body["openapi"], "3.1.0");
}
