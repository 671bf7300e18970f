//! The bank conformance suite: one set of scenarios, run for every bank kind, through the POS
//! API only. The bank side is played through the sandbox's customer and fault controls, and
//! the money is checked in the bank's own books (the sandbox overview): after every scenario
//! settles, what the register was told the customer paid and got back must equal what the
//! bank kept.
//!
//! A new bank is done when it passes this suite: add a [`Bank`] variant (how its customer pays,
//! declines, and how its books read) and one `conformance!` line at the bottom.

use std::time::Duration;

use qrpayd_domain::ids::PaymentId;
use qrpayd_domain::money::Kopecks;
use qrpayd_domain::payment::{CloseReason, PaymentEvent};
use qrpayd_sandbox::Faults;
use qrpayd_store::EventDetails;
use serde_json::{Value, json};

use crate::helpers::*;

/// A bank kind under test, with the sandbox controls that play its customer.
#[derive(Debug, Clone, Copy)]
#[expect(
    clippy::enum_variant_names,
    reason = "`TBank` is the bank's own name, not a repetition of `Bank`"
)]
pub(crate) enum Bank {
    /// `kind = "raiffeisen"`: Raiffeisen's SBP API.
    Raiffeisen,
    /// `kind = "tbank"`: a T-Bank acquiring terminal with SBP.
    TBank,
    /// `kind = "rbs"`: BPC's RBS gateway with SBP C2B (VTB, Alfa-Bank, MTS Bank).
    Rbs,
    /// `kind = "sber"`: a Sber terminal on the QR API (QR СБП).
    Sber,
}

/// The payment's id at the bank (Raiffeisen's `qrId`, T-Bank's `PaymentId`, RBS's order id
/// with its `qrId`, Sber's `order_id`).
fn bank_id(p: &Value) -> &str {
    p["qr"]["qr_id"].as_str().unwrap()
}

fn id_of(p: &Value) -> &str {
    p["id"].as_str().unwrap()
}

impl Bank {
    /// The provider of this kind in the test configuration.
    fn provider(self) -> &'static str {
        match self {
            Bank::Raiffeisen => "raiffeisen",
            Bank::TBank => "tbank",
            Bank::Rbs => "rbs",
            Bank::Sber => "sber",
        }
    }

    /// The customer pays the payment's QR in their bank app. `Err` when the bank refuses
    /// (the QR is closed).
    async fn customer_pays(self, app: &TestApp, p: &Value) -> Result<(), String> {
        match self {
            Bank::Raiffeisen => {
                let amount = Kopecks::new(p["amount"].as_i64().unwrap()).unwrap();
                app.sandbox
                    .pay(bank_id(p), amount)
                    .await
                    .map_err(|e| e.to_string())
            }
            Bank::TBank => app.sandbox.tbank_pay(bank_id(p)).map_err(|e| e.to_string()),
            Bank::Rbs => app.sandbox.rbs_pay(bank_id(p)).map_err(|e| e.to_string()),
            Bank::Sber => app.sandbox.sber_pay(bank_id(p)).map_err(|e| e.to_string()),
        }
    }

    /// The customer's bank declines the payment.
    async fn customer_declines(self, app: &TestApp, p: &Value) {
        match self {
            Bank::Raiffeisen => {
                app.sandbox_call(
                    reqwest::Method::POST,
                    &format!("/sandbox/qrs/{}/decline", bank_id(p)),
                    None,
                )
                .await;
            }
            Bank::TBank => app.sandbox.tbank_reject(bank_id(p)).unwrap(),
            Bank::Rbs => app.sandbox.rbs_decline(bank_id(p)).unwrap(),
            Bank::Sber => app.sandbox.sber_decline(bank_id(p)).unwrap(),
        }
    }

    /// The SBP declines the refund in progress.
    async fn bank_declines_refund(self, app: &TestApp, p: &Value, refund: &Value) {
        match self {
            Bank::Raiffeisen => {
                let refund_id = refund["id"].as_str().unwrap();
                app.sandbox_call(
                    reqwest::Method::POST,
                    &format!("/sandbox/refunds/{refund_id}/decline"),
                    None,
                )
                .await;
            }
            Bank::TBank => app.sandbox.tbank_decline_refund(bank_id(p)).unwrap(),
            Bank::Rbs => app.sandbox.rbs_decline_refund(bank_id(p)).unwrap(),
            Bank::Sber => app.sandbox.sber_decline_refund(bank_id(p)).unwrap(),
        }
    }

    /// What the bank's books say it kept of this payment: paid minus completed refunds, in
    /// kopecks (0 when nobody paid).
    async fn kept(self, app: &TestApp, p: &Value) -> i64 {
        let books: Value = app
            .http
            .get(format!("{}/sandbox/qrs", app.sandbox_base))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let rubles = |v: &Value| Kopecks::parse_rubles(&v.to_string()).unwrap().get();
        match self {
            Bank::Raiffeisen => {
                let qr = books["qrs"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|q| q["qrId"] == bank_id(p))
                    .unwrap_or_else(|| panic!("no QR {} in {books}", bank_id(p)));
                let paid: i64 = qr["transactions"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|t| t["paymentStatus"] == "SUCCESS")
                    .map(|t| rubles(&t["amount"]))
                    .sum();
                let refunded: i64 = books["refunds"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|r| r["order"] == qr["order"] && r["refundStatus"] == "COMPLETED")
                    .map(|r| rubles(&r["amount"]))
                    .sum();
                paid - refunded
            }
            Bank::TBank => {
                let payment = books["tbankPayments"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|t| t["paymentId"] == bank_id(p))
                    .unwrap_or_else(|| panic!("no payment {} in {books}", bank_id(p)));
                let paid = [
                    "CONFIRMED",
                    "ASYNC_REFUNDING",
                    "PARTIAL_REFUNDED",
                    "REFUNDED",
                ]
                .contains(&payment["status"].as_str().unwrap());
                if !paid {
                    return 0;
                }
                let refunded: i64 = payment["refunds"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|r| r["status"] == "REFUNDED" || r["status"] == "PARTIAL_REFUNDED")
                    .map(|r| r["amount"].as_i64().unwrap())
                    .sum();
                payment["amount"].as_i64().unwrap() - refunded
            }
            Bank::Rbs => {
                let (md_order, _) = qrpayd_bank::rbs::reference::unpack(bank_id(p));
                let order = books["rbsOrders"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|o| o["mdOrder"] == md_order.as_str())
                    .unwrap_or_else(|| panic!("no order {md_order} in {books}"));
                // 2 paid, 4 paid and (partly) refunded.
                if ![2, 4].contains(&order["orderStatus"].as_i64().unwrap()) {
                    return 0;
                }
                let refunded: i64 = order["refunds"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|r| r["state"] == "COMPLETED")
                    .map(|r| r["amount"].as_i64().unwrap())
                    .sum();
                order["amount"].as_i64().unwrap() - refunded
            }
            Bank::Sber => {
                let order = books["sberOrders"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|o| o["orderId"] == bank_id(p))
                    .unwrap_or_else(|| panic!("no order {} in {books}", bank_id(p)));
                // Approved operations only (`response_code` `00`): money that moved.
                let moved = |kind: &str| -> i64 {
                    order["operations"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .filter(|o| o["operation_type"] == kind && o["response_code"] == "00")
                        .map(|o| o["operation_sum"].as_i64().unwrap())
                        .sum()
                };
                moved("PAY") - moved("REFUND") - moved("REVERSE")
            }
        }
    }
}

/// Creates a payment of `amount` kopecks through this bank.
async fn create(app: &TestApp, bank: Bank, idem: &str, amount: i64) -> Value {
    let a = app
        .create(
            idem,
            json!({"amount": amount, "provider": bank.provider(), "order": format!("receipt-{idem}")}),
        )
        .await;
    assert_eq!(a.status, 201, "{bank:?}: {}", a.body);
    assert_eq!(a.body["provider"], bank.provider());
    assert_eq!(a.body["amount"], amount);
    a.body
}

/// A paid payment of `amount` kopecks (the bank's notification reports it).
async fn paid(app: &TestApp, bank: Bank, idem: &str, amount: i64) -> Value {
    let p = create(app, bank, idem, amount).await;
    bank.customer_pays(app, &p).await.unwrap();
    app.until_status(id_of(&p), "paid").await
}

/// Runs the worker until the refund leaves `pending` (bounded), and returns it.
async fn settle(app: &TestApp, refund: &Value) -> Value {
    let id = refund["id"].as_str().unwrap();
    for _ in 0..10 {
        let r = app.get_refund(id).await.body;
        if r["status"] != "pending" {
            return r;
        }
        app.advance_and_run(Duration::from_secs(3)).await;
    }
    app.get_refund(id).await.body
}

/// The register's account of the payment: paid (if it says so) minus succeeded refunds.
fn told(p: &Value) -> i64 {
    if p["status"] != "paid" {
        return 0;
    }
    p["amount"].as_i64().unwrap() - p["refunded_amount"].as_i64().unwrap()
}

/// The register's account equals the bank's books.
async fn books_agree(app: &TestApp, bank: Bank, p: &Value) {
    let now = app.get(id_of(p)).await.body;
    assert_eq!(
        told(&now),
        bank.kept(app, p).await,
        "{bank:?}: the register was told {now}"
    );
}

async fn pay(bank: Bank) {
    let app = spawn_app().await;
    let p = create(&app, bank, "pay", 12_345).await;
    assert_eq!(p["status"], "pending");
    bank.customer_pays(&app, &p).await.unwrap();
    // The notification wakes the register's long-poll.
    let done = app.until_status(id_of(&p), "paid").await;
    assert_eq!(done["amount"], 12_345);
    assert_eq!(done["refunded_amount"], 0);
    assert_eq!(
        app.history(id_of(&p)).await,
        ["creating", "pending", "paid"]
    );
    books_agree(&app, bank, &p).await;
    // Nothing is left to do.
    assert_eq!(app.advance_and_run(Duration::from_secs(600)).await, 0);
}

async fn decline(bank: Bank) {
    let app = spawn_app().await;
    let p = create(&app, bank, "decline", 5_000).await;
    bank.customer_declines(&app, &p).await;
    let failed = app.until_status(id_of(&p), "failed").await;
    assert_eq!(failed["failure"]["code"], "declined", "{failed}");
    // The QR cannot be paid after the register heard "failed".
    app.run_jobs().await;
    assert!(bank.customer_pays(&app, &p).await.is_err());
    books_agree(&app, bank, &p).await;
}

async fn cancel(bank: Bank) {
    let app = spawn_app().await;
    let p = create(&app, bank, "cancel", 5_000).await;
    let c = app.cancel(id_of(&p)).await;
    assert_eq!(
        (c.status, &c.body["status"]),
        (200, &json!("cancelled")),
        "{}",
        c.body
    );
    assert!(bank.customer_pays(&app, &p).await.is_err());
    // Cancelling again answers the same.
    let again = app.cancel(id_of(&p)).await;
    assert_eq!(
        (again.status, &again.body["status"]),
        (200, &json!("cancelled"))
    );
    books_agree(&app, bank, &p).await;
}

async fn cancel_racing_the_customer(bank: Bank) {
    let app = spawn_app().await;
    let p = create(&app, bank, "race", 5_000).await;
    app.faults(Faults {
        customer_pays_before_cancel: 1,
        drop_callbacks: true,
        ..Faults::default()
    });
    let c = app.cancel(id_of(&p)).await;
    // Never "cancelled": the customer paid.
    assert_eq!((c.status, c.code()), (409, "already_paid"), "{}", c.body);
    let done = app.eventually_status(id_of(&p), "paid").await;
    // Whatever the bank did with the money (kept it, or turned the cancel into a refund),
    // the register is told exactly that.
    for refund in done["refunds"].as_array().unwrap() {
        settle(&app, refund).await;
    }
    books_agree(&app, bank, &p).await;
}

async fn expiry(bank: Bank) {
    let app = spawn_app().await;
    let p = create(&app, bank, "expire", 5_000).await;
    app.advance_and_run(Duration::from_secs(299)).await;
    assert_eq!(app.status(id_of(&p)).await, "pending");
    app.advance_and_run(Duration::from_secs(2)).await;
    assert_eq!(app.status(id_of(&p)).await, "expired");
    assert!(bank.customer_pays(&app, &p).await.is_err());
    books_agree(&app, bank, &p).await;
}

async fn lost_notifications_are_made_up_by_polling(bank: Bank) {
    let app = spawn_app().await;
    app.faults(Faults {
        drop_callbacks: true,
        ..Faults::default()
    });
    let p = create(&app, bank, "lost", 5_000).await;
    bank.customer_pays(&app, &p).await.unwrap();
    assert_eq!(app.status(id_of(&p)).await, "pending");
    // The next poll (poll_interval_ms = 2000) finds it.
    app.advance_and_run(Duration::from_secs(2)).await;
    assert_eq!(app.status(id_of(&p)).await, "paid");
    books_agree(&app, bank, &p).await;
}

async fn duplicated_notifications_count_once(bank: Bank) {
    let app = spawn_app().await;
    app.faults(Faults {
        duplicate_callbacks: true,
        ..Faults::default()
    });
    let p = paid(&app, bank, "dup", 5_000).await;
    // Both deliveries are answered before the customer's payment call returns; a third look
    // after the poll interval changes nothing either.
    app.advance_and_run(Duration::from_secs(2)).await;
    assert_eq!(
        app.history(id_of(&p)).await,
        ["creating", "pending", "paid"]
    );
    books_agree(&app, bank, &p).await;
}

async fn bank_errors_at_creation_are_clear_and_idempotent(bank: Bank) {
    let app = spawn_app().await;
    app.faults(Faults {
        http_500_next: 1,
        ..Faults::default()
    });
    let body = json!({"amount": 5_000, "provider": bank.provider()});
    let first = app.create("down", body.clone()).await;
    assert_eq!(
        (first.status, first.code()),
        (502, "bank_unavailable"),
        "{bank:?}: {}",
        first.body
    );
    // The same request again is the same answer, not a second payment.
    let replay = app.create("down", body.clone()).await;
    assert_eq!((replay.status, replay.code()), (502, "bank_unavailable"));
    assert_eq!(replay.body["payment"]["id"], first.body["payment"]["id"]);
    // A new attempt (new key) works once the bank is back.
    let ok = app.create("down-2", body).await;
    assert_eq!(ok.status, 201, "{}", ok.body);
}

async fn bank_errors_while_polling_are_retried(bank: Bank) {
    let app = spawn_app().await;
    app.faults(Faults {
        drop_callbacks: true,
        ..Faults::default()
    });
    let p = create(&app, bank, "flaky", 5_000).await;
    bank.customer_pays(&app, &p).await.unwrap();
    app.faults(Faults {
        drop_callbacks: true,
        http_500_next: 1,
        ..Faults::default()
    });
    app.advance_and_run(Duration::from_secs(2)).await;
    assert_eq!(app.status(id_of(&p)).await, "pending");
    for _ in 0..5 {
        app.advance_and_run(Duration::from_secs(2)).await;
    }
    assert_eq!(app.status(id_of(&p)).await, "paid");
    books_agree(&app, bank, &p).await;
}

async fn partial_and_multiple_refunds(bank: Bank) {
    let app = spawn_app().await;
    let p = paid(&app, bank, "refunds", 12_345).await;
    let id = id_of(&p);
    let first = app.refund(id, "r-1", json!({"amount": 2_000})).await;
    assert_eq!(first.status, 201, "{bank:?}: {}", first.body);
    let second = app.refund(id, "r-2", json!({"amount": 345})).await;
    assert_eq!(second.status, 201, "{bank:?}: {}", second.body);
    // A retried request is the same refund.
    let replay = app.refund(id, "r-1", json!({"amount": 2_000})).await;
    assert_eq!(replay.body["id"], first.body["id"]);
    // More than is left is refused and changes nothing.
    let too_much = app.refund(id, "r-3", json!({"amount": 10_001})).await;
    assert_eq!(
        (too_much.status, too_much.code()),
        (409, "refund_exceeds_remaining"),
        "{}",
        too_much.body
    );
    assert_eq!(
        too_much.body["payment"]["refunds"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    for refund in [&first.body, &second.body] {
        assert_eq!(settle(&app, refund).await["status"], "succeeded");
    }
    let after = app.get(id).await.body;
    assert_eq!(after["refunded_amount"], 2_345);
    // The rest can still be refunded, to the kopeck.
    let rest = app.refund(id, "r-4", json!({"amount": 10_000})).await;
    assert_eq!(rest.status, 201, "{}", rest.body);
    assert_eq!(settle(&app, &rest.body).await["status"], "succeeded");
    assert_eq!(app.get(id).await.body["refunded_amount"], 12_345);
    books_agree(&app, bank, &p).await;
}

async fn a_declined_refund_frees_its_amount(bank: Bank) {
    let app = spawn_app().await;
    let p = paid(&app, bank, "refund-declined", 5_000).await;
    let id = id_of(&p);
    let refund = app.refund(id, "r-1", json!({"amount": 5_000})).await;
    assert_eq!(refund.status, 201, "{}", refund.body);
    bank.bank_declines_refund(&app, &p, &refund.body).await;
    let done = settle(&app, &refund.body).await;
    assert_eq!(done["status"], "failed", "{done}");
    assert_eq!(app.get(id).await.body["refunded_amount"], 0);
    books_agree(&app, bank, &p).await;
    let again = app.refund(id, "r-2", json!({"amount": 5_000})).await;
    assert_eq!(again.status, 201, "{}", again.body);
    assert_eq!(settle(&app, &again.body).await["status"], "succeeded");
    books_agree(&app, bank, &p).await;
}

async fn a_late_payment_is_refunded(bank: Bank) {
    let app = spawn_app().await;
    let p = create(&app, bank, "late", 5_000).await;
    // qrpayd believes the payment expired and closed, but the bank still lets the customer pay
    // (a deactivation the bank acknowledged and did not carry out).
    let id = PaymentId::parse(id_of(&p)).unwrap();
    let store = app.running().payments.store();
    let now = app.clock_now();
    let details = EventDetails {
        source: "test",
        ..EventDetails::default()
    };
    for event in [
        PaymentEvent::CloseRequested(CloseReason::Expire),
        PaymentEvent::BankClosed,
    ] {
        store
            .apply_event(&id, event, &details, now, now)
            .await
            .unwrap();
    }
    bank.customer_pays(&app, &p).await.unwrap();
    let late = app.eventually_status(id_of(&p), "paid").await;
    assert_eq!(late["late"], true, "{late}");
    let refunds = late["refunds"].as_array().unwrap();
    assert_eq!(refunds.len(), 1, "{late}");
    assert_eq!(refunds[0]["automatic"], true);
    assert_eq!(settle(&app, &refunds[0]).await["status"], "succeeded");
    books_agree(&app, bank, &p).await;
    assert_eq!(bank.kept(&app, &p).await, 0);
}

async fn a_late_payment_whose_notification_is_lost_is_found_by_asking(bank: Bank) {
    let app = spawn_app().await;
    app.faults(Faults {
        drop_callbacks: true,
        ..Faults::default()
    });
    let p = create(&app, bank, "late-quiet", 5_000).await;
    // The bank acknowledges the cancel but the QR stays payable, and the customer pays.
    app.sandbox.ignore_next_deactivation(bank_id(&p));
    let c = app.cancel(id_of(&p)).await;
    assert_eq!(
        (c.status, &c.body["status"]),
        (200, &json!("cancelled")),
        "{}",
        c.body
    );
    bank.customer_pays(&app, &p).await.unwrap();
    // No notification comes; the closed payment's late watch asks the bank.
    assert_eq!(app.status(id_of(&p)).await, "cancelled");
    app.advance_and_run(Duration::from_secs(2)).await;
    let late = app.get(id_of(&p)).await.body;
    assert_eq!(
        (&late["status"], &late["late"]),
        (&json!("paid"), &json!(true)),
        "{late}"
    );
    let refunds = late["refunds"].as_array().unwrap();
    assert_eq!(refunds.len(), 1, "{late}");
    assert_eq!(settle(&app, &refunds[0]).await["status"], "succeeded");
    books_agree(&app, bank, &p).await;
    // The watch ends with the payment paid: nothing is left to do.
    assert_eq!(app.advance_and_run(Duration::from_secs(3600)).await, 0);
}

/// Every scenario as a test for one bank kind.
macro_rules! conformance {
    ($bank:expr) => {
        conformance!(@tests $bank;
            pay,
            decline,
            cancel,
            cancel_racing_the_customer,
            expiry,
            lost_notifications_are_made_up_by_polling,
            duplicated_notifications_count_once,
            bank_errors_at_creation_are_clear_and_idempotent,
            bank_errors_while_polling_are_retried,
            partial_and_multiple_refunds,
            a_declined_refund_frees_its_amount,
            a_late_payment_is_refunded,
            a_late_payment_whose_notification_is_lost_is_found_by_asking,
        );
    };
    (@tests $bank:expr; $($scenario:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $scenario() {
                super::$scenario($bank).await;
            }
        )*
    };
}

mod raiffeisen {
    conformance!(super::Bank::Raiffeisen);
}

mod tbank {
    conformance!(super::Bank::TBank);
}

mod sber {
    conformance!(super::Bank::Sber);
}

mod rbs {
    conformance!(super::Bank::Rbs);
}
