//! Refunds: partial and repeated, racing, replayed, refused, declined, unknown outcome; late
//! payments under both policies; finding a payment by its sale receipt.

use std::time::Duration;

use qrpayd_domain::payment::{CloseReason, PaymentEvent};
use qrpayd_sandbox::Faults;
use qrpayd_store::EventDetails;
use serde_json::{Value, json};

use crate::helpers::*;

/// Runs jobs until the refund is final (the sandbox completes a refund on its second query).
async fn settle(app: &TestApp, refund_id: &str) -> Value {
    for _ in 0..5 {
        let r = app.get_refund(refund_id).await.body;
        if r["status"] != "pending" {
            return r;
        }
        app.advance_and_run(Duration::from_secs(3)).await;
    }
    app.get_refund(refund_id).await.body
}

#[tokio::test]
async fn partial_and_repeated_refunds_add_up_to_at_most_the_payment() {
    let app = spawn_app().await;
    let p = app.paid_payment("sale-1").await;
    let id = p["id"].as_str().unwrap();
    let first = app
        .refund(
            id,
            "ret-1",
            json!({"amount": 2345, "reason": "return receipt 17"}),
        )
        .await;
    assert_eq!(first.status, 201, "{}", first.body);
    assert_eq!(first.body["payment_id"], id);
    assert_eq!(first.body["amount"], 2345);
    assert_eq!(first.body["status"], "pending");
    let second = app.refund(id, "ret-2", json!({"amount": 5000})).await;
    assert_eq!(second.status, 201, "{}", second.body);
    // 12345 - 2345 - 5000 = 5000 left, counting refunds still in progress.
    let too_much = app.refund(id, "ret-3", json!({"amount": 5001})).await;
    assert_eq!(
        (too_much.status, too_much.code()),
        (409, "refund_exceeds_remaining")
    );
    assert_eq!(
        too_much.body["payment"]["refunds"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let rest = app.refund(id, "ret-4", json!({"amount": 5000})).await;
    assert_eq!(rest.status, 201);
    for r in [&first, &second, &rest] {
        let done = settle(&app, r.body["id"].as_str().unwrap()).await;
        assert_eq!(done["status"], "succeeded", "{done}");
        assert!(done["finished_at"].is_string());
    }
    let payment = app.get(id).await.body;
    assert_eq!(payment["status"], "paid");
    assert_eq!(payment["refunded_amount"], 12345);
    assert_eq!(payment["refunds"].as_array().unwrap().len(), 3);
    let nothing_left = app.refund(id, "ret-5", json!({"amount": 1})).await;
    assert_eq!(
        (nothing_left.status, nothing_left.code()),
        (409, "refund_exceeds_remaining")
    );
    // The bank holds exactly these three refunds, under our ids.
    let bank = app
        .sandbox_call(reqwest::Method::GET, "/sandbox/qrs", None)
        .await;
    assert_eq!(bank["refunds"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn racing_refunds_never_overspend() {
    let app = spawn_app().await;
    let p = app.paid_payment("sale-1").await;
    let id = p["id"].as_str().unwrap().to_owned();
    let mut tasks = Vec::new();
    for n in 0..10 {
        let (base, http, id) = (app.base.clone(), app.http.clone(), id.clone());
        tasks.push(tokio::spawn(async move {
            http.post(format!("{base}/v1/payments/{id}/refunds"))
                .bearer_auth(KEY)
                .header("Idempotency-Key", format!("race-{n}"))
                .json(&json!({"amount": 2000}))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        6,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 409).count(),
        4,
        "{statuses:?}"
    );
}

#[tokio::test]
async fn a_retried_refund_is_not_refunded_twice() {
    let app = spawn_app().await;
    let p = app.paid_payment("sale-1").await;
    let id = p["id"].as_str().unwrap();
    let first = app.refund(id, "ret-1", json!({"amount": 1000})).await;
    let again = app.refund(id, "ret-1", json!({"amount": 1000})).await;
    assert_eq!(again.status, 201);
    assert_eq!(again.body["id"], first.body["id"]);
    assert_eq!(again.headers.get("idempotent-replayed").unwrap(), "true");
    let changed = app.refund(id, "ret-1", json!({"amount": 999})).await;
    assert_eq!(
        (changed.status, changed.code()),
        (422, "idempotency_key_reused")
    );
    let bank = app
        .sandbox_call(reqwest::Method::GET, "/sandbox/qrs", None)
        .await;
    assert_eq!(bank["refunds"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn only_paid_payments_of_ones_own_can_be_refunded() {
    let app = spawn_app().await;
    let p = app.create_ok("sale-1").await;
    let id = p["id"].as_str().unwrap();
    let unpaid = app.refund(id, "ret-1", json!({"amount": 100})).await;
    assert_eq!(
        (unpaid.status, unpaid.code()),
        (409, "payment_not_refundable")
    );
    assert_eq!(unpaid.body["payment"]["status"], "pending");
    let other = app
        .request(
            reqwest::Method::POST,
            &format!("/v1/payments/{id}/refunds"),
            Some(OTHER_KEY),
            Some("x"),
            Some(json!({"amount": 1}).to_string()),
        )
        .await;
    assert_eq!((other.status, other.code()), (404, "not_found"));
    let admin = app
        .request(
            reqwest::Method::POST,
            &format!("/v1/payments/{id}/refunds"),
            Some(ADMIN_KEY),
            Some("x"),
            Some(json!({"amount": 1}).to_string()),
        )
        .await;
    assert_eq!((admin.status, admin.code()), (403, "admin_read_only"));
    for (body, code) in [
        (json!({}), "invalid_amount"),
        (json!({"amount": 0}), "invalid_amount"),
        (json!({"amount": -5}), "invalid_amount"),
        (json!({"amount": 1.5}), "invalid_amount"),
        (
            json!({"amount": 1, "reason": "x".repeat(141)}),
            "invalid_reason",
        ),
        (json!({"amount": 1, "amont": 1}), "unknown_field"),
    ] {
        let a = app.refund(id, "bad", body.clone()).await;
        assert_eq!((a.status, a.code()), (422, code), "{body}");
    }
}

#[tokio::test]
async fn a_refund_the_bank_declines_fails_and_frees_the_amount() {
    let app = spawn_app().await;
    let p = app.paid_payment("sale-1").await;
    let id = p["id"].as_str().unwrap();
    let r = app.refund(id, "ret-1", json!({"amount": 12345})).await;
    let refund_id = r.body["id"].as_str().unwrap();
    app.sandbox_call(
        reqwest::Method::POST,
        &format!("/sandbox/refunds/{refund_id}/decline"),
        None,
    )
    .await;
    let done = settle(&app, refund_id).await;
    assert_eq!(done["status"], "failed", "{done}");
    assert_eq!(app.get(id).await.body["refunded_amount"], 0);
    let again = app.refund(id, "ret-2", json!({"amount": 12345})).await;
    assert_eq!(again.status, 201, "{}", again.body);
}

#[tokio::test]
async fn a_refund_the_bank_refuses_is_a_502_with_the_failed_refund() {
    let app = spawn_app().await;
    let p = app.paid_payment("sale-1").await;
    app.faults(Faults {
        business_error_next: 1,
        ..Faults::default()
    });
    let r = app
        .refund(p["id"].as_str().unwrap(), "ret-1", json!({"amount": 100}))
        .await;
    assert_eq!((r.status, r.code()), (502, "bank_rejected"), "{}", r.body);
    assert_eq!(r.body["refund"]["status"], "failed");
    assert_eq!(r.body["refund"]["failure"]["code"], "bank_rejected");
    // The same request again gets the same answer, not a new refund.
    let again = app
        .refund(p["id"].as_str().unwrap(), "ret-1", json!({"amount": 100}))
        .await;
    assert_eq!(
        (again.status, again.body["refund"]["id"].clone()),
        (502, r.body["refund"]["id"].clone())
    );
}

#[tokio::test]
async fn an_unknown_refund_outcome_is_asked_about_under_the_same_id() {
    let app = spawn_app().await;
    let p = app.paid_payment("sale-1").await;
    // The bank does not answer in time (qrpayd's bank timeout is 1 s).
    app.faults(Faults {
        latency_ms: 1500,
        ..Faults::default()
    });
    let r = app
        .refund(p["id"].as_str().unwrap(), "ret-1", json!({"amount": 100}))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["status"], "pending");
    let refund_id = r.body["id"].as_str().unwrap();
    app.faults(Faults::default());
    let done = settle(&app, refund_id).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    // One refund at the bank, under our id.
    let bank = app
        .sandbox_call(reqwest::Method::GET, "/sandbox/qrs", None)
        .await;
    let refunds = bank["refunds"].as_array().unwrap();
    assert_eq!(refunds.len(), 1, "{bank}");
    assert!(refunds[0].to_string().contains(refund_id), "{bank}");
}

/// Makes qrpayd believe the payment expired (as if the bank had said so), while the bank's QR
/// is still payable: what a customer paying "just after the register gave up" looks like.
pub(crate) async fn expire_in_journal_only(app: &TestApp, payment: &Value) {
    let id = qrpayd_domain::ids::PaymentId::parse(payment["id"].as_str().unwrap()).unwrap();
    let store = app.running().payments.store();
    let d = EventDetails {
        source: "test",
        ..EventDetails::default()
    };
    let now = app.clock_now();
    store
        .apply_event(
            &id,
            PaymentEvent::CloseRequested(CloseReason::Expire),
            &d,
            now,
            now,
        )
        .await
        .unwrap();
    store
        .apply_event(&id, PaymentEvent::BankClosed, &d, now, now)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_late_payment_is_refunded_automatically_by_default() {
    let app = spawn_app().await;
    let p = app.create_ok("sale-1").await;
    let id = p["id"].as_str().unwrap();
    expire_in_journal_only(&app, &p).await;
    assert_eq!(app.status(id).await, "expired");
    app.customer_pays(&p).await;
    let paid = app.eventually_status(id, "paid").await;
    assert_eq!(paid["late"], true);
    assert_eq!(paid["late_action"], "refund");
    let refunds = paid["refunds"].as_array().unwrap();
    assert_eq!(refunds.len(), 1);
    assert_eq!(refunds[0]["automatic"], true);
    assert_eq!(refunds[0]["amount"], 12345);
    let done = settle(&app, refunds[0]["id"].as_str().unwrap()).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(app.get(id).await.body["refunded_amount"], 12345);
    // The admin finds late payments.
    let late = app
        .request(
            reqwest::Method::GET,
            "/v1/payments?late=true",
            Some(ADMIN_KEY),
            None,
            None,
        )
        .await;
    assert_eq!(late.body["payments"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_late_payment_is_flagged_under_the_flag_policy() {
    let app = spawn_with(Options {
        late_policy: Some("flag"),
        ..Options::default()
    })
    .await;
    let p = app.create_ok("sale-1").await;
    let id = p["id"].as_str().unwrap();
    expire_in_journal_only(&app, &p).await;
    app.customer_pays(&p).await;
    let paid = app.eventually_status(id, "paid").await;
    assert_eq!(
        (paid["late"].clone(), paid["late_action"].clone()),
        (json!(true), json!("flag"))
    );
    assert_eq!(paid["refunds"], json!([]));
    assert_eq!(app.advance_and_run(Duration::from_secs(60)).await, 0);
}

#[tokio::test]
async fn a_register_finds_its_payment_by_the_sale_receipt() {
    let app = spawn_app().await;
    let p = app.paid_payment("sale-1").await;
    app.create("sale-2", json!({"amount": 500, "order": "receipt-2"}))
        .await;
    let found = app
        .request(
            reqwest::Method::GET,
            "/v1/payments?order=receipt-1",
            Some(KEY),
            None,
            None,
        )
        .await;
    assert_eq!(found.status, 200, "{}", found.body);
    let list = found.body["payments"].as_array().unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["id"], p["id"]);
    // Another register does not see it; asking for another register is refused.
    let other = app
        .request(
            reqwest::Method::GET,
            "/v1/payments?order=receipt-1",
            Some(OTHER_KEY),
            None,
            None,
        )
        .await;
    assert_eq!(other.body["payments"], json!([]));
    let snoop = app
        .request(
            reqwest::Method::GET,
            "/v1/payments?register=pos-1",
            Some(OTHER_KEY),
            None,
            None,
        )
        .await;
    assert_eq!((snoop.status, snoop.code()), (403, "forbidden"));
    // The admin lists by register and day (Moscow date), and filters by status.
    let day = app
        .request(
            reqwest::Method::GET,
            &format!(
                "/v1/payments?register=pos-1&from={}&to={}&status=paid",
                msk_day(app.clock_now()),
                msk_day(app.clock_now()) + chrono::Days::new(1)
            ),
            Some(ADMIN_KEY),
            None,
            None,
        )
        .await;
    assert_eq!(
        day.body["payments"].as_array().unwrap().len(),
        1,
        "{}",
        day.body
    );
    let all = app
        .request(
            reqwest::Method::GET,
            "/v1/payments",
            Some(ADMIN_KEY),
            None,
            None,
        )
        .await;
    assert_eq!(all.body["payments"].as_array().unwrap().len(), 2);
    let bad = app
        .request(
            reqwest::Method::GET,
            "/v1/payments?status=weird",
            Some(KEY),
            None,
            None,
        )
        .await;
    assert_eq!((bad.status, bad.code()), (400, "invalid_query"));
    // The admin reads any payment but cannot cancel it.
    let read = app
        .request(
            reqwest::Method::GET,
            &format!("/v1/payments/{}", p["id"].as_str().unwrap()),
            Some(ADMIN_KEY),
            None,
            None,
        )
        .await;
    assert_eq!(read.status, 200);
}

#[tokio::test]
async fn a_register_long_polls_a_refund_until_the_bank_completes_it() {
    let app = spawn_app().await;
    let p = app.paid_payment("sale-1").await;
    let r = app
        .refund(p["id"].as_str().unwrap(), "ret-1", json!({"amount": 100}))
        .await;
    let refund_id = r.body["id"].as_str().unwrap().to_owned();
    let waiter = {
        let (base, http, id) = (app.base.clone(), app.http.clone(), refund_id.clone());
        tokio::spawn(async move {
            http.get(format!("{base}/v1/refunds/{id}?wait=10"))
                .bearer_auth(KEY)
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(!waiter.is_finished());
    settle(&app, &refund_id).await;
    let body = waiter.await.unwrap();
    assert_eq!(body["status"], "succeeded", "{body}");
    // Another register cannot see it; the admin can.
    let other = app
        .request(
            reqwest::Method::GET,
            &format!("/v1/refunds/{refund_id}"),
            Some(OTHER_KEY),
            None,
            None,
        )
        .await;
    assert_eq!((other.status, other.code()), (404, "not_found"));
    let admin = app
        .request(
            reqwest::Method::GET,
            &format!("/v1/refunds/{refund_id}"),
            Some(ADMIN_KEY),
            None,
            None,
        )
        .await;
    assert_eq!(admin.status, 200);
}
