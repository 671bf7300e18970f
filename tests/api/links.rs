//! Cash-register links end to end: bind a printed link, activate it per purchase, pay, cancel
//! race, expiry, partial refund, one live activation per link; and the scanned-link check.

use std::time::Duration;

use qrpayd_domain::ids::{ProviderName, QrId, RegisterId};
use qrpayd_domain::money::Kopecks;
use qrpayd_sandbox::Faults;
use qrpayd_store::CashLink;
use serde_json::{Value, json};

use crate::helpers::*;

/// Registers a QRVariable at the sandbox bank and binds it to pos-1, as `qrpayd links
/// register` does. Returns the link's payload.
pub(crate) async fn bind_link(app: &TestApp) -> (String, String) {
    let answer: Value = app
        .http
        .post(format!("{}/api/sbp/v2/qrs", app.sandbox_base))
        .json(&json!({"qrType": "QRVariable", "sbpMerchantId": MERCHANT}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let qr_id = answer["qrId"].as_str().unwrap().to_owned();
    let payload = answer["payload"].as_str().unwrap().to_owned();
    app.running()
        .payments
        .store()
        .bind_link(&CashLink {
            register_id: RegisterId::parse("pos-1").unwrap(),
            provider: ProviderName::parse("raiffeisen").unwrap(),
            qr_id: QrId::parse(&qr_id).unwrap(),
            payload: payload.clone(),
            store_id: Some("store-17".into()),
            legal_entity: None,
            created_at: app.clock_now(),
        })
        .await
        .unwrap();
    (qr_id, payload)
}

async fn activate(app: &TestApp, idem: &str, amount: i64) -> crate::helpers::Answer {
    app.create(idem, json!({"amount": amount, "qr_type": "cash_register"}))
        .await
}

#[tokio::test]
async fn a_printed_link_takes_payments_like_a_dynamic_qr() {
    let app = spawn_app().await;
    let none = activate(&app, "no-link", 100).await;
    assert_eq!(
        (none.status, none.code()),
        (409, "no_cash_link"),
        "{}",
        none.body
    );
    let (link_qr, payload) = bind_link(&app).await;

    // Activation: the QR is the printed link itself.
    let first = activate(&app, "sale-1", 31400).await;
    assert_eq!(first.status, 201, "{}", first.body);
    assert_eq!(first.body["qr"]["payload"], payload);
    assert_eq!(first.body["qr_type"], "cash_register");
    // One live activation per link.
    let busy = activate(&app, "sale-2", 500).await;
    assert_eq!(
        (busy.status, busy.code()),
        (409, "link_busy"),
        "{}",
        busy.body
    );
    assert_eq!(busy.body["payment"]["id"], first.body["id"]);

    // The customer scans the sticker and pays; the register hears of it.
    app.sandbox
        .pay(&link_qr, Kopecks::new(31400).unwrap())
        .await
        .unwrap();
    let id = first.body["id"].as_str().unwrap();
    app.until_status(id, "paid").await;
    // Partial refund of a link payment.
    let r = app.refund(id, "ret-1", json!({"amount": 10000})).await;
    assert_eq!(r.status, 201, "{}", r.body);
    for _ in 0..4 {
        app.advance_and_run(Duration::from_secs(3)).await;
    }
    assert_eq!(
        app.get_refund(r.body["id"].as_str().unwrap()).await.body["status"],
        "succeeded"
    );

    // The link is free again: cancel race (the notification is lost, the cashier cancels).
    app.faults(Faults {
        drop_callbacks: true,
        ..Faults::default()
    });
    let second = activate(&app, "sale-3", 500).await;
    assert_eq!(second.status, 201, "{}", second.body);
    app.sandbox
        .pay(&link_qr, Kopecks::new(500).unwrap())
        .await
        .unwrap();
    let cancel = app.cancel(second.body["id"].as_str().unwrap()).await;
    assert_eq!(
        (cancel.status, cancel.code()),
        (409, "already_paid"),
        "{}",
        cancel.body
    );

    // And expiry: nobody pays, the activation is cancelled at the bank.
    let third = activate(&app, "sale-4", 700).await;
    assert_eq!(third.status, 201, "{}", third.body);
    app.advance_and_run(Duration::from_secs(301)).await;
    assert_eq!(
        app.status(third.body["id"].as_str().unwrap()).await,
        "expired"
    );
    // The customer can no longer pay the expired activation.
    assert!(
        app.sandbox
            .pay(&link_qr, Kopecks::new(700).unwrap())
            .await
            .is_err()
    );
}

#[tokio::test]
async fn a_cashier_checks_the_scanned_sticker() {
    let app = spawn_app().await;
    let check = |payload: String, key: &'static str| {
        let (base, http) = (app.base.clone(), app.http.clone());
        async move {
            let r = http
                .post(format!("{base}/v1/links/check"))
                .bearer_auth(key)
                .json(&json!({ "payload": payload }))
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }
    };
    let (_, nothing) = check(
        "https://qr.nspk.ru/AS1R0000000000000000000000000TST".into(),
        KEY,
    )
    .await;
    assert_eq!(
        (nothing["match"].as_bool(), nothing["reason"].as_str()),
        (Some(false), Some("no_link_configured"))
    );
    let (link_qr, payload) = bind_link(&app).await;
    let (status, same) = check(payload.clone(), KEY).await;
    assert_eq!(status, 200);
    assert_eq!(
        (same["match"].as_bool(), same["reason"].as_str()),
        (Some(true), Some("match")),
        "{same}"
    );
    // Printed without the query, in lower case host: still the same link.
    let bare = format!("https://QR.NSPK.RU/{link_qr}");
    assert_eq!(check(bare, KEY).await.1["match"], true);
    // Damaged crc, another register's link, a non-SBP code, garbage.
    let bad_crc = format!(
        "{}0000",
        payload.trim_end_matches(|c: char| c.is_ascii_hexdigit())
    );
    for (text, reason) in [
        (bad_crc, "bad_crc"),
        ("https://qr.nspk.ru/AS1R0000000000000000000000000TST?type=01&bank=100000000007&crc=0000".to_owned(), "bad_crc"),
        ("https://qr.nspk.ru/AS1R0000000000000000000000000TST".to_owned(), "other_link"),
        ("https://example.com/pay".to_owned(), "not_sbp"),
        ("4601234567890".to_owned(), "not_a_link"),
    ] {
        let (_, answer) = check(text.clone(), KEY).await;
        assert_eq!((answer["match"].as_bool(), answer["reason"].as_str()), (Some(false), Some(reason)), "{text}: {answer}");
    }
    let (status, empty) = check(String::new(), KEY).await;
    assert_eq!(
        (status, empty["error"]["code"].as_str()),
        (422, Some("payload_required"))
    );
}

#[tokio::test]
async fn a_provider_without_customer_qr_refuses_it_clearly() {
    let app = spawn_app().await;
    let a = app.create("c-1", json!({"amount": 100, "qr_type": "customer", "customer_qr": "https://qr.nspk.ru/customer"})).await;
    assert_eq!(
        (a.status, a.code()),
        (422, "not_supported_by_provider"),
        "{}",
        a.body
    );
    let b = app
        .create("c-2", json!({"amount": 100, "qr_type": "customer"}))
        .await;
    assert_eq!((b.status, b.code()), (422, "customer_qr_required"));
    let c = app
        .create("c-3", json!({"amount": 100, "qr_type": "static"}))
        .await;
    assert_eq!((c.status, c.code()), (422, "invalid_qr_type"));
}
