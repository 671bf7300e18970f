//! What the banks really do, through the POS API: a notification is a hint (only its signed
//! order names a payment, and the bank's own answer decides), closing always ends, a cancel
//! racing a payment ends `paid`, T-Bank refunds are never sent twice and are identified by the
//! payment's amounts, a cancel T-Bank turned into a refund is recorded as that refund,
//! provider limits are refused before any bank call, fiscal notices are acknowledged,
//! automatic refunds cannot collide with a register's keys, and a lost link activation is
//! cancelled at the bank before the payment is called failed.

use std::time::Duration;

use qrpayd_domain::secret::Secret;
use qrpayd_sandbox::Faults;
use serde_json::{Value, json};

use crate::helpers::*;

/// A Raiffeisen SBP notification as the bank sends it, signed with the merchant's key over
/// `amount|sbpMerchantId|order|paymentStatus|transactionDate`. `order: None` sends `null` (and
/// signs the empty text).
fn raiffeisen_notice(
    order: Option<&str>,
    qr_id: &str,
    transaction_id: u64,
    amount: &str,
) -> (String, String) {
    // fixed-date: only signed text; nothing compares it with a clock.
    let date = "2026-11-28T12:00:00.000001+03:00";
    let order_json = order.map_or_else(|| "null".to_owned(), |o| format!("\"{o}\""));
    let body = format!(
        r#"{{"transactionId":{transaction_id},"qrId":"{qr_id}","sbpMerchantId":"{MERCHANT}","merchantId":123,"amount":{amount},"currency":"RUB","transactionDate":"{date}","paymentStatus":"SUCCESS","additionalInfo":null,"order":{order_json},"createDate":"{date}"}}"#
    );
    let signature = qrpayd_bank::raiffeisen::notification_signature(
        &Secret::new(SECRET),
        amount,
        MERCHANT,
        order.unwrap_or_default(),
        "SUCCESS",
        date,
    );
    (body, signature)
}

async fn post_notice(
    app: &TestApp,
    provider: &str,
    body: String,
    signature: Option<&str>,
) -> (u16, String) {
    let mut request = app
        .http
        .post(format!("{}/v1/callbacks/{provider}", app.base))
        .body(body);
    if let Some(signature) = signature {
        request = request.header("X-Api-Signature-SHA256", signature);
    }
    let response = request.send().await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

fn qr_of(p: &Value) -> &str {
    p["qr"]["qr_id"].as_str().unwrap()
}

fn id_of(p: &Value) -> &str {
    p["id"].as_str().unwrap()
}

#[tokio::test]
async fn a_genuine_notification_re_aimed_at_another_payment_changes_nothing() {
    let app = spawn_app().await;
    app.faults(Faults {
        drop_callbacks: true,
        ..Faults::default()
    });
    let a = app.create_ok("sale-a").await;
    let other = app
        .request(
            reqwest::Method::POST,
            "/v1/payments",
            Some(OTHER_KEY),
            Some("sale-b"),
            Some(json!({"amount": 12345, "order": "receipt-b"}).to_string()),
        )
        .await;
    assert_eq!(other.status, 201, "{}", other.body);
    let b = other.body;
    app.customer_pays(&a).await;

    // A's genuine notification, replayed with B's qrId and a made-up transactionId (neither
    // is signed): it names A by its signed order, the bank confirms A, and B is untouched.
    let (body, sig) = raiffeisen_notice(Some(id_of(&a)), qr_of(&b), 999_999, "123.45");
    assert_eq!(
        post_notice(&app, "raiffeisen", body, Some(&sig)).await.0,
        200
    );
    assert_eq!(app.status(id_of(&a)).await, "paid");
    let b_now = app
        .request(
            reqwest::Method::GET,
            &format!("/v1/payments/{}", id_of(&b)),
            Some(OTHER_KEY),
            None,
            None,
        )
        .await;
    assert_eq!(b_now.body["status"], "pending");

    // The same notification with a null order names no payment: acknowledged, ignored.
    let (body, sig) = raiffeisen_notice(None, qr_of(&b), 1, "123.45");
    let (status, answer) = post_notice(&app, "raiffeisen", body, Some(&sig)).await;
    assert_eq!(status, 200, "{answer}");
    assert!(answer.contains("ignored"), "{answer}");
    // A genuinely signed SUCCESS for B while the bank says B is unpaid: nothing changes.
    let (body, sig) = raiffeisen_notice(Some(id_of(&b)), qr_of(&b), 2, "123.45");
    assert_eq!(
        post_notice(&app, "raiffeisen", body, Some(&sig)).await.0,
        200
    );
    let b_now = app
        .request(
            reqwest::Method::GET,
            &format!("/v1/payments/{}", id_of(&b)),
            Some(OTHER_KEY),
            None,
            None,
        )
        .await;
    assert_eq!(b_now.body["status"], "pending");
    assert_eq!(
        app.history(id_of(&a)).await,
        ["creating", "pending", "paid"]
    );

    // The transaction a refund names is the bank's (payment-info), not the notice's 999999:
    // the bank picks the payment to refund by it, and the refund goes through.
    let refund = app.refund(id_of(&a), "ra-1", json!({"amount": 100})).await;
    assert_eq!(refund.status, 201, "{}", refund.body);
    for _ in 0..3 {
        app.advance_and_run(Duration::from_secs(3)).await;
    }
    let refund = app.get_refund(refund.body["id"].as_str().unwrap()).await;
    assert_eq!(refund.body["status"], "succeeded", "{}", refund.body);
}

#[tokio::test]
async fn a_cancel_racing_the_payment_ends_paid_against_a_v2_status_without_code() {
    let app = spawn_app().await;
    let p = app.create_ok("sale-1").await;
    app.faults(Faults {
        customer_pays_before_cancel: 1,
        drop_callbacks: true,
        ..Faults::default()
    });
    // The DELETE is refused (the QR was just paid); the QR's v2 status (no `code`) and
    // payment-info decide: paid.
    let cancel = app.cancel(id_of(&p)).await;
    assert_eq!(
        (cancel.status, cancel.code()),
        (409, "already_paid"),
        "{}",
        cancel.body
    );
    assert_eq!(cancel.body["payment"]["status"], "paid");
    assert_eq!(
        app.history(id_of(&p)).await,
        ["creating", "pending", "cancelling", "paid"]
    );
    assert_eq!(app.advance_and_run(Duration::from_secs(600)).await, 0);
}

#[tokio::test]
async fn closing_ends_even_when_the_bank_will_not_deactivate_an_unpaid_qr() {
    let app = spawn_app().await;
    let p = app.create_ok("sale-1").await;
    let id = id_of(&p);
    app.faults(Faults {
        refuse_deactivation_next: 1_000,
        ..Faults::default()
    });
    let cancel = app.cancel(id).await;
    assert_eq!(cancel.status, 502, "{}", cancel.body);
    assert_eq!(cancel.body["payment"]["status"], "pending");
    // While the QR may still be paid, it stays closing.
    for _ in 0..5 {
        app.advance_and_run(Duration::from_secs(10)).await;
        assert_eq!(app.status(id).await, "pending");
    }
    // Once the QR's own expiry has passed and the bank still reports it unpaid, it closes.
    app.advance_and_run(Duration::from_secs(300)).await;
    assert_eq!(app.status(id).await, "cancelled");
    // The late watch's last look, then nothing.
    assert_eq!(app.advance_and_run(Duration::from_secs(3600)).await, 1);
    assert_eq!(app.advance_and_run(Duration::from_secs(3600)).await, 0);
}

// --- T-Bank --------------------------------------------------------------------------------

async fn tbank_create(app: &TestApp, idem: &str, amount: i64) -> Value {
    let a = app
        .create(idem, json!({"amount": amount, "provider": "tbank"}))
        .await;
    assert_eq!(a.status, 201, "{}", a.body);
    a.body
}

async fn tbank_paid(app: &TestApp, idem: &str, amount: i64) -> Value {
    let p = tbank_create(app, idem, amount).await;
    app.sandbox.tbank_pay(qr_of(&p)).unwrap();
    app.advance_and_run(Duration::from_secs(2)).await;
    assert_eq!(app.status(id_of(&p)).await, "paid");
    p
}

/// The T-Bank payment's refunds as the bank holds them (the sandbox's overview).
async fn bank_refunds(app: &TestApp, p: &Value) -> Vec<Value> {
    let overview: Value = app
        .http
        .get(format!("{}/sandbox/qrs", app.sandbox_base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    overview["tbankPayments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["paymentId"] == qr_of(p))
        .map(|t| t["refunds"].as_array().unwrap().clone())
        .unwrap_or_default()
}

async fn refund_status(app: &TestApp, refund: &Value) -> Value {
    app.get_refund(refund["id"].as_str().unwrap()).await.body
}

#[tokio::test]
async fn a_t_bank_cancel_the_bank_turned_into_a_refund_is_recorded_as_that_refund() {
    // With the bank's notification of the payment lost, and with it delivered (it may then be
    // confirmed before the cancel records the refund): the refund is recorded either way.
    for notifications in [false, true] {
        let app = spawn_app().await;
        let p = tbank_create(&app, "t-race", 5_000).await;
        app.faults(Faults {
            customer_pays_before_cancel: 1,
            drop_callbacks: !notifications,
            ..Faults::default()
        });
        let cancel = app.cancel(id_of(&p)).await;
        assert_eq!(
            (cancel.status, cancel.code()),
            (409, "already_paid"),
            "{}",
            cancel.body
        );
        // A notification confirmed concurrently is applied by now or soon.
        let paid = app.eventually_status(id_of(&p), "paid").await;
        // The register learns the truth: the money went back.
        let refunds = paid["refunds"].as_array().unwrap();
        assert_eq!(refunds.len(), 1, "{paid}");
        assert_eq!(refunds[0]["automatic"], true);
        assert_eq!(refunds[0]["amount"], 5_000);
        for _ in 0..3 {
            app.advance_and_run(Duration::from_secs(3)).await;
        }
        assert_eq!(
            refund_status(&app, &refunds[0]).await["status"],
            "succeeded"
        );
        assert_eq!(app.get(id_of(&p)).await.body["refunded_amount"], 5_000);
        assert_eq!(bank_refunds(&app, &p).await.len(), 1);
        assert_eq!(app.sandbox.tbank_status(qr_of(&p)).unwrap(), "REFUNDED");
    }
}

#[tokio::test]
async fn a_t_bank_refund_whose_answer_was_lost_is_never_sent_twice() {
    let app = spawn_app().await;
    let p = tbank_paid(&app, "t-lost", 10_000).await;
    // The Cancel reaches the bank; its answer does not come back.
    app.faults(Faults {
        lose_answer_next: 1,
        ..Faults::default()
    });
    let refund = app
        .refund(id_of(&p), "tl-1", json!({"amount": 4_000}))
        .await;
    assert_eq!(refund.status, 201, "{}", refund.body);
    assert_eq!(refund.body["status"], "pending");
    assert_eq!(bank_refunds(&app, &p).await.len(), 1);
    // The job asks the bank (the payment's amounts), never sends it again; it completes.
    for _ in 0..4 {
        app.advance_and_run(Duration::from_secs(3)).await;
    }
    assert_eq!(
        refund_status(&app, &refund.body).await["status"],
        "succeeded"
    );
    assert_eq!(bank_refunds(&app, &p).await.len(), 1, "sent once only");
    assert_eq!(app.get(id_of(&p)).await.body["refunded_amount"], 4_000);
}

#[tokio::test]
async fn a_t_bank_refund_the_bank_never_got_fails_after_a_while_and_is_not_resent() {
    let app = spawn_app().await;
    // No notifications: their confirmations would be other calls to the bank, racing the fault.
    app.faults(Faults {
        drop_callbacks: true,
        ..Faults::default()
    });
    let p = tbank_paid(&app, "t-never", 10_000).await;
    // The first call of the refund fails before anything reaches the bank.
    app.faults(Faults {
        http_500_next: 1,
        drop_callbacks: true,
        ..Faults::default()
    });
    let refund = app
        .refund(id_of(&p), "tn-1", json!({"amount": 4_000}))
        .await;
    assert_eq!(refund.body["status"], "pending", "{}", refund.body);
    for _ in 0..5 {
        app.advance_and_run(Duration::from_secs(60)).await;
        assert_eq!(refund_status(&app, &refund.body).await["status"], "pending");
    }
    // Ten minutes after it was sent the bank still shows no trace: failed, not re-sent.
    app.advance_and_run(Duration::from_secs(600)).await;
    let failed = refund_status(&app, &refund.body).await;
    assert_eq!(failed["status"], "failed", "{failed}");
    assert_eq!(failed["failure"]["code"], "refund_not_received");
    assert!(bank_refunds(&app, &p).await.is_empty());
    // The amount is free again: a new refund (new key) goes through once.
    let again = app
        .refund(id_of(&p), "tn-2", json!({"amount": 4_000}))
        .await;
    assert_eq!(again.status, 201, "{}", again.body);
    for _ in 0..3 {
        app.advance_and_run(Duration::from_secs(3)).await;
    }
    assert_eq!(
        refund_status(&app, &again.body).await["status"],
        "succeeded"
    );
    assert_eq!(bank_refunds(&app, &p).await.len(), 1);
}

#[tokio::test]
async fn t_bank_refunds_of_one_payment_go_one_at_a_time() {
    let app = spawn_app().await;
    let p = tbank_paid(&app, "t-two", 10_000).await;
    let first = app
        .refund(id_of(&p), "tt-1", json!({"amount": 3_000}))
        .await;
    let second = app
        .refund(id_of(&p), "tt-2", json!({"amount": 2_000}))
        .await;
    assert_eq!((first.status, second.status), (201, 201));
    // The second waits: the bank tells refunds apart only by the payment's amounts.
    assert_eq!(bank_refunds(&app, &p).await.len(), 1);
    for _ in 0..8 {
        app.advance_and_run(Duration::from_secs(3)).await;
    }
    assert_eq!(
        refund_status(&app, &first.body).await["status"],
        "succeeded"
    );
    assert_eq!(
        refund_status(&app, &second.body).await["status"],
        "succeeded"
    );
    let at_bank = bank_refunds(&app, &p).await;
    assert_eq!(
        at_bank
            .iter()
            .map(|r| r["amount"].clone())
            .collect::<Vec<_>>(),
        [json!(3_000), json!(2_000)]
    );
    assert_eq!(app.get(id_of(&p)).await.body["refunded_amount"], 5_000);
}

#[tokio::test]
async fn amounts_outside_the_banks_limits_are_refused_before_any_call() {
    let app = spawn_app().await;
    // Below T-Bank's SBP minimum of 10 RUB. (Above its 1 000 000 RUB the configured
    // `max_amount_kopecks`, by default the same figure, answers `amount_too_large` first.)
    let a = app
        .create("low", json!({"amount": 999, "provider": "tbank"}))
        .await;
    assert_eq!(
        (a.status, a.code()),
        (422, "amount_out_of_range"),
        "{}",
        a.body
    );
    assert!(
        a.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("10.00"),
        "{}",
        a.body
    );
    // Raiffeisen documents no such minimum.
    assert_eq!(
        app.create("low-r", json!({"amount": 999, "provider": "raiffeisen"}))
            .await
            .status,
        201
    );
    let overview: Value = app
        .http
        .get(format!("{}/sandbox/qrs", app.sandbox_base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(overview["tbankPayments"], json!([]));
    // The bounds themselves are accepted.
    tbank_create(&app, "min", 1_000).await;
}

#[tokio::test]
async fn t_bank_fiscal_receipt_notices_are_acknowledged() {
    let app = spawn_app().await;
    let p = tbank_create(&app, "t-receipt", 1_000).await;
    let mut fields = serde_json::Map::new();
    for (k, v) in [
        ("TerminalKey", json!(TBANK_TERMINAL)),
        ("OrderId", json!(id_of(&p))),
        ("Success", json!(true)),
        ("Status", json!("RECEIPT")),
        ("PaymentId", json!(qr_of(&p).parse::<u64>().unwrap())),
        ("ErrorCode", json!("0")),
        ("Amount", json!(1_000)),
    ] {
        fields.insert(k.into(), v);
    }
    let token = qrpayd_bank::tbank::request_token(&fields, &Secret::new(SECRET));
    fields.insert("Token".into(), json!(token));
    let (status, body) = post_notice(&app, "tbank", Value::Object(fields).to_string(), None).await;
    assert_eq!((status, body.as_str()), (200, "OK"));
    assert_eq!(app.status(id_of(&p)).await, "pending");
}

// --- Raiffeisen: late refunds and cash-register links ----------------------------------------

#[tokio::test]
async fn a_register_key_cannot_block_the_automatic_late_refund() {
    let app = spawn_app().await;
    let late = app.create_ok("sale-late").await;
    let other = app.paid_payment("sale-other").await;
    // The register happens to use the key the automatic refund used to have.
    let squat = app
        .refund(
            id_of(&other),
            &format!("late-payment-refund:{}", id_of(&late)),
            json!({"amount": 100}),
        )
        .await;
    assert_eq!(squat.status, 201, "{}", squat.body);
    crate::refunds::expire_in_journal_only(&app, &late).await;
    app.customer_pays(&late).await;
    let paid = app.eventually_status(id_of(&late), "paid").await;
    assert_eq!(
        (paid["late"].clone(), paid["late_action"].clone()),
        (json!(true), json!("refund"))
    );
    assert_eq!(paid["refunds"][0]["automatic"], true);
}

#[tokio::test]
async fn a_lost_link_activation_is_cancelled_at_the_bank_before_the_payment_fails() {
    let app = spawn_app().await;
    let (link, _) = crate::links::bind_link(&app).await;
    app.faults(Faults {
        lose_answer_next: 1,
        ..Faults::default()
    });
    let a = app
        .create(
            "link-lost",
            json!({"amount": 500, "qr_type": "cash_register"}),
        )
        .await;
    assert_eq!(a.status, 502, "{}", a.body);
    assert_eq!(a.body["payment"]["status"], "failed");
    assert_eq!(a.body["payment"]["failure"]["code"], "creation_interrupted");
    // The activation the bank made was cancelled there: the printed link cannot be paid.
    let pay = app
        .http
        .post(format!(
            "{}/api/nspc-mock/v01/rfuture/payment/init",
            app.sandbox_base
        ))
        .json(&json!({"qrId": link, "amount": 5}))
        .send()
        .await
        .unwrap();
    assert_ne!(pay.status().as_u16(), 200, "the link was still payable");
    // And the link takes the next payment.
    let next = app
        .create(
            "link-next",
            json!({"amount": 500, "qr_type": "cash_register"}),
        )
        .await;
    assert_eq!(next.status, 201, "{}", next.body);
}
