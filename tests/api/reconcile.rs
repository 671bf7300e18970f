//! Reconciliation end to end: a day of real operations through qrpayd and the sandbox bank,
//! the bank's registry file for that day, and every kind of difference.

use std::collections::BTreeSet;
use std::time::Duration;

use qrpayd_bank::raiffeisen::registry::{self, RegistryKind, RegistryRow};
use qrpayd_domain::ids::PaymentId;
use qrpayd_domain::money::Kopecks;
use qrpayd_domain::payment::{CloseReason, PaymentEvent};
use qrpayd_sandbox::Faults;
use qrpayd_service::reconcile::{self, DifferenceKind, Format};
use qrpayd_store::EventDetails;
use serde_json::{Value, json};

use crate::helpers::*;

fn raiffeisen() -> qrpayd_domain::ids::ProviderName {
    qrpayd_domain::ids::ProviderName::parse("raiffeisen").unwrap()
}

fn pid(p: &Value) -> PaymentId {
    PaymentId::parse(p["id"].as_str().unwrap()).unwrap()
}

async fn journal_event(app: &TestApp, p: &Value, event: PaymentEvent) {
    let d = EventDetails {
        source: "test",
        ..EventDetails::default()
    };
    let now = app.clock_now();
    app.running()
        .payments
        .store()
        .apply_event(&pid(p), event, &d, now, now)
        .await
        .unwrap();
}

/// Runs jobs until every refund of the app is final.
async fn settle_refunds(app: &TestApp) {
    for _ in 0..4 {
        app.advance_and_run(Duration::from_secs(3)).await;
    }
}

#[tokio::test]
async fn a_day_with_every_kind_of_difference() {
    let app = spawn_app().await;

    // Agrees: paid, and partly refunded.
    let agreed = app.paid_payment("a").await;
    let refunded = app.paid_payment("b").await;
    let refund = app
        .refund(
            refunded["id"].as_str().unwrap(),
            "rb",
            json!({"amount": 2345}),
        )
        .await;
    let refund_id = refund.body["id"].as_str().unwrap().to_owned();
    settle_refunds(&app).await;
    assert_eq!(app.get_refund(&refund_id).await.body["status"], "succeeded");

    // Paid at the bank, but the journal closed it (the notification was lost).
    app.faults(Faults {
        drop_callbacks: true,
        ..Faults::default()
    });
    let closed = app.create_ok("c").await;
    journal_event(
        &app,
        &closed,
        PaymentEvent::CloseRequested(CloseReason::Expire),
    )
    .await;
    journal_event(&app, &closed, PaymentEvent::BankClosed).await;
    app.customer_pays(&closed).await;

    // Paid in the journal only (the bank never took it).
    let phantom = app.create_ok("d").await;
    journal_event(&app, &phantom, PaymentEvent::BankPaid).await;

    // A payment someone made at the bank outside qrpayd.
    let stranger: Value = app
        .http
        .post(format!("{}/api/sbp/v2/qrs", app.sandbox_base))
        .json(&json!({"qrType": "QRDynamic", "sbpMerchantId": MERCHANT, "order": "manual-1", "amount": 50, "currency": "RUB"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    app.sandbox
        .pay(
            stranger["qrId"].as_str().unwrap(),
            Kopecks::new(5000).unwrap(),
        )
        .await
        .unwrap();

    // A refund the bank completed while the journal still waits for it.
    let pending_refund = app
        .refund(agreed["id"].as_str().unwrap(), "ra", json!({"amount": 100}))
        .await;
    let pending_refund_id = pending_refund.body["id"].as_str().unwrap().to_owned();
    for _ in 0..2 {
        app.sandbox_call(
            reqwest::Method::GET,
            &format!("/api/sbp/v1/refund/{pending_refund_id}"),
            None,
        )
        .await;
    }

    // The bank's registry for today, then tampered with: another amount for the agreed
    // payment and the refund, and a refund row the journal cannot know.
    let today = msk_day(app.clock_now());
    let mut reg = app.sandbox.registry(today);
    assert_eq!(reg.date, Some(today));
    let bytes = registry::write(&reg);
    reg = registry::parse(&bytes).unwrap();
    for row in &mut reg.rows {
        if row.order == refunded["id"].as_str().unwrap() && row.kind == RegistryKind::Payment {
            row.amount = Kopecks::new(12300).unwrap();
        }
        if row.refund_id.as_deref() == Some(refund_id.as_str()) {
            row.amount = Kopecks::new(2300).unwrap();
        }
    }
    let template = reg
        .rows
        .iter()
        .find(|r| r.kind == RegistryKind::Refund)
        .unwrap()
        .clone();
    reg.rows.push(RegistryRow {
        refund_id: Some("rf_unknown".into()),
        line: 99,
        ..template.clone()
    });

    let report = reconcile::run(&app.running().payments, &reg, &raiffeisen(), false)
        .await
        .unwrap();
    let kinds: BTreeSet<(String, String)> = report
        .differences
        .iter()
        .map(|d| {
            (
                format!("{:?}", d.kind),
                d.payment_id
                    .clone()
                    .or(d.refund_id.clone())
                    .unwrap_or_default(),
            )
        })
        .collect();
    let id = |p: &Value| p["id"].as_str().unwrap().to_owned();
    let expected: BTreeSet<(String, String)> = [
        ("PaymentAmountMismatch", id(&refunded)),
        ("PaymentStatusMismatch", id(&closed)),
        ("PaymentMissingAtBank", id(&phantom)),
        ("PaymentMissingInJournal", "manual-1".to_owned()),
        ("RefundAmountMismatch", id(&refunded)),
        ("RefundStatusMismatch", id(&agreed)),
        ("RefundMissingInJournal", template.order.clone()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    assert_eq!(
        kinds,
        expected,
        "{}",
        reconcile::render(&report, Format::Text)
    );
    // A refund the journal has as succeeded but the bank does not list: drop its row.
    reg.rows
        .retain(|r| r.refund_id.as_deref() != Some(refund_id.as_str()));
    let report = reconcile::run(&app.running().payments, &reg, &raiffeisen(), false)
        .await
        .unwrap();
    assert!(
        report
            .differences
            .iter()
            .any(|d| d.kind == DifferenceKind::RefundMissingAtBank
                && d.refund_id.as_deref() == Some(refund_id.as_str()))
    );

    // The text, JSON and CSV renderings carry the same differences.
    let text = reconcile::render(&report, Format::Text);
    assert!(
        text.contains("paid at the bank, not paid in the journal"),
        "{text}"
    );
    let json: Value = serde_json::from_str(&reconcile::render(&report, Format::Json)).unwrap();
    assert_eq!(
        json["differences"].as_array().unwrap().len(),
        report.differences.len()
    );
    let csv = reconcile::render(&report, Format::Csv);
    assert_eq!(csv.lines().count(), report.differences.len() + 1);

    // --mark-late: the closed payment the bank took becomes paid, late, and is refunded.
    let report = reconcile::run(&app.running().payments, &reg, &raiffeisen(), true)
        .await
        .unwrap();
    let marked = report
        .differences
        .iter()
        .find(|d| d.kind == DifferenceKind::PaymentStatusMismatch)
        .unwrap();
    assert!(
        marked.action.as_deref().unwrap().contains("late"),
        "{marked:?}"
    );
    let after = app.get(&id(&closed)).await.body;
    assert_eq!(
        (after["status"].as_str(), after["late"].as_bool()),
        (Some("paid"), Some(true))
    );
    assert_eq!(after["late_action"], "refund");
    assert_eq!(after["refunds"][0]["automatic"], true);
}

#[tokio::test]
async fn a_clean_day_reconciles_without_differences_and_the_cli_agrees() {
    let app = spawn_app().await;
    let p = app.paid_payment("a").await;
    let r = app
        .refund(p["id"].as_str().unwrap(), "r", json!({"amount": 45}))
        .await;
    assert_eq!(r.status, 201);
    settle_refunds(&app).await;
    let today = msk_day(app.clock_now());
    let reg = app.sandbox.registry(today);
    assert_eq!(reg.rows.len(), 2);
    let report = reconcile::run(&app.running().payments, &reg, &raiffeisen(), false)
        .await
        .unwrap();
    assert_eq!(
        report.differences,
        vec![],
        "{}",
        reconcile::render(&report, Format::Text)
    );

    // The same through the binary, on the same database and a registry file.
    let dir = tempfile::tempdir().unwrap();
    let registry_file = dir.path().join("SBPreport.csv");
    std::fs::write(&registry_file, registry::write(&reg)).unwrap();
    let config_file = dir.path().join("qrpayd.toml");
    std::fs::write(&config_file, app.config_text.clone()).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_qrpayd"))
        .args(["reconcile", "--format", "json", "--config"])
        .arg(&config_file)
        .arg("--registry")
        .arg(&registry_file)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(json["differences"], json!([]));
    assert_eq!(json["bank_payments"], 1);

    // A registry with a stranger's payment: exit status 2 and the difference in CSV.
    let mut reg = reg;
    let mut row = reg.rows[0].clone();
    row.order = "manual-9".into();
    row.qr_id = Some("AD1XXXXXXXXXXXXXXXXXXXXXXXXXXXXX".into());
    reg.rows.push(row);
    std::fs::write(&registry_file, registry::write(&reg)).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_qrpayd"))
        .args(["reconcile", "--format", "csv", "--config"])
        .arg(&config_file)
        .arg("--registry")
        .arg(&registry_file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let csv = String::from_utf8_lossy(&out.stdout);
    assert!(
        csv.lines()
            .nth(1)
            .unwrap()
            .starts_with("payment_missing_in_journal;manual-9;"),
        "{csv}"
    );

    // Each run is saved: the journal page shows the last one's differences.
    let last = app
        .request(
            reqwest::Method::GET,
            "/v1/admin/reconciliation",
            Some(crate::helpers::ADMIN_KEY),
            None,
            None,
        )
        .await;
    assert_eq!(last.body["last"]["differences"], 1, "{}", last.body);
    assert_eq!(last.body["last"]["registry_date"], today.to_string());
    assert_eq!(
        last.body["last"]["report"]["differences"][0]["kind"],
        "payment_missing_in_journal"
    );

    // `qrpayd payments list | show` read the same journal.
    let cli = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_qrpayd"))
            .args(args)
            .arg("--config")
            .arg(&config_file)
            .output()
            .unwrap()
    };
    let out = cli(&[
        "payments",
        "list",
        "--date",
        &today.to_string(),
        "--format",
        "json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let day: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(day["totals"]["paid_amount"], 12345);
    assert_eq!(day["totals"]["refunded_amount"], 45);
    let out = cli(&["payments", "list", "--date", &today.to_string()]);
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        table.contains("total") && table.contains("123.45") && table.contains("receipt-1"),
        "{table}"
    );
    let id = p["id"].as_str().unwrap();
    let out = cli(&["payments", "show", id]);
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        shown.contains("BankPaid via bank notification")
            && shown.contains(&format!("REFUND {}", r.body["id"].as_str().unwrap())),
        "{shown}"
    );
    let out = cli(&["payments", "show", "pay_nope"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no payment pay_nope in the journal"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = cli(&["payments", "list", "--format", "xml"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("use table or json"));

    // The accounting export lists the payment and its refund with the bank's ids.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_qrpayd"))
        .args(["export", "--config"])
        .arg(&config_file)
        .args([
            "--from",
            &today.to_string(),
            "--to",
            &(today + chrono::Duration::days(1)).to_string(),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let csv = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 3, "{csv}");
    assert!(lines[0].starts_with("type;id;payment_id;"));
    assert!(
        lines[1].starts_with(&format!(
            "payment;{0};{0};pos-1;receipt-1;paid;12345;123.45;RUB;raiffeisen;",
            p["id"].as_str().unwrap()
        )),
        "{csv}"
    );
    assert!(lines[1].contains(p["qr"]["qr_id"].as_str().unwrap()));
    assert!(
        lines[2].starts_with(&format!(
            "refund;{};{};pos-1;receipt-1;succeeded;45;0.45;",
            r.body["id"].as_str().unwrap(),
            p["id"].as_str().unwrap()
        )),
        "{csv}"
    );
}

#[tokio::test]
async fn a_cash_register_links_qr_id_names_no_single_payment() {
    let app = spawn_app().await;
    let (link, _) = crate::links::bind_link(&app).await;
    // A paid activation of the link: its registry row names the order (our payment id).
    let a = app
        .create("la", json!({"amount": 500, "qr_type": "cash_register"}))
        .await;
    assert_eq!(a.status, 201, "{}", a.body);
    let id = a.body["id"].as_str().unwrap().to_owned();
    app.sandbox
        .pay(&link, Kopecks::new(500).unwrap())
        .await
        .unwrap();
    app.until_status(&id, "paid").await;
    let today = msk_day(app.clock_now());
    let mut reg = app.sandbox.registry(today);
    assert_eq!(reg.rows.len(), 1);
    // A payment of the same link that the journal does not know (another order): it must be
    // reported as missing, not matched to our activation by the link's shared QR id.
    let mut stranger = reg.rows[0].clone();
    stranger.order = "not-ours-7".into();
    reg.rows.push(stranger);
    let report = reconcile::run(&app.running().payments, &reg, &raiffeisen(), false)
        .await
        .unwrap();
    let kinds: Vec<_> = report.differences.iter().map(|d| d.kind).collect();
    assert_eq!(
        kinds,
        [DifferenceKind::PaymentMissingInJournal],
        "{report:?}"
    );
    assert_eq!(
        report.differences[0].payment_id.as_deref(),
        Some("not-ours-7")
    );
}

#[tokio::test]
async fn a_registry_without_a_day_is_never_reported_clean() {
    let app = spawn_app().await;
    let p = app.paid_payment("a").await;
    let today = msk_day(app.clock_now());
    let mut reg = app.sandbox.registry(today);
    // The journal has a paid payment the registry does not list: only a dated registry can
    // say it is missing at the bank.
    reg.rows.clear();
    reg.date = None;
    let report = reconcile::run(&app.running().payments, &reg, &raiffeisen(), false)
        .await
        .unwrap();
    assert!(report.differences.is_empty());
    assert!(report.unchecked.is_some());
    assert!(!report.is_clean());
    assert!(
        reconcile::render(&report, Format::Text).contains("WARNING: incomplete check"),
        "{}",
        reconcile::render(&report, Format::Text)
    );
    // Given the day, the check is complete and finds the payment missing at the bank.
    reg.date = Some(today);
    let report = reconcile::run(&app.running().payments, &reg, &raiffeisen(), false)
        .await
        .unwrap();
    assert_eq!(report.unchecked, None);
    assert_eq!(
        report
            .differences
            .iter()
            .map(|d| d.kind)
            .collect::<Vec<_>>(),
        [DifferenceKind::PaymentMissingAtBank]
    );
    assert_eq!(
        report.differences[0].payment_id.as_deref(),
        p["id"].as_str()
    );
}

#[tokio::test]
async fn another_providers_payments_are_not_missing_from_this_banks_registry() {
    let app = spawn_app().await;
    app.paid_payment("r").await;
    let t = app
        .create("t", json!({"amount": 5000, "provider": "tbank"}))
        .await;
    assert_eq!(t.status, 201, "{}", t.body);
    app.sandbox
        .tbank_pay(t.body["qr"]["qr_id"].as_str().unwrap())
        .unwrap();
    app.advance_and_run(Duration::from_secs(2)).await;
    assert_eq!(app.status(t.body["id"].as_str().unwrap()).await, "paid");
    let reg = app.sandbox.registry(msk_day(app.clock_now()));
    let report = reconcile::run(&app.running().payments, &reg, &raiffeisen(), false)
        .await
        .unwrap();
    assert!(
        report.is_clean(),
        "{}",
        reconcile::render(&report, Format::Text)
    );
}
