//! Every listing walks an index: the query plans of the store's list statements on SQLite.
//!
//! The test runs each listing the service uses (every filter combination of `GET
//! /v1/payments`, the journal page and the command line; the display's latest payment; the
//! event feed with and without a register; reconciliation, export and attention lists) on a
//! SQLite journal with some rows, collects the statements they prepared, and asks SQLite for
//! each one's plan. A full table scan (`SCAN payments`), or a walk of a whole index where the
//! statement filters (`SCAN payments USING INDEX …` with a `WHERE`), fails it: that is what
//! made a listing take 55 ms at 300,000 payments.

use chrono::{Duration as Chrono, TimeZone, Utc};
use qrpayd_domain::ids::{PaymentId, RefundId, RegisterId};
use qrpayd_domain::payment::PaymentState;
use sqlx::Row;

use crate::{PaymentFilter, Store, sql};

/// The tables that grow with trade.
const BIG: [&str; 5] = [
    "payments",
    "refunds",
    "events",
    "payment_history",
    "refund_history",
];

fn plan_problem(sql: &str, plan: &[String]) -> Option<String> {
    let filters = sql.contains(" WHERE ");
    for line in plan {
        for table in BIG {
            let scan = format!("SCAN {table}");
            if line == &scan || line.starts_with(&format!("{scan} ")) {
                let ordered_walk = line.contains("USING INDEX") || line.contains("USING COVERING");
                if filters || !ordered_walk {
                    return Some(format!("{sql}\n  plan: {}", plan.join(" | ")));
                }
            }
        }
    }
    None
}

#[tokio::test]
async fn every_listing_uses_an_index() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("plans.db").display()
    );
    let store = Store::connect(&url).await.unwrap();
    // fixed-date: rows for the planner only; nothing compares it with the wall clock.
    let t = Utc
        .with_ymd_and_hms(2026, 11, 28, 9, 0, 0)
        .single()
        .unwrap();
    let register = RegisterId::parse("pos-1").unwrap();
    let _ = sql::take_seen();

    let base = PaymentFilter {
        limit: 50,
        ..PaymentFilter::default()
    };
    let filters = [
        // A register: its own, by receipt, by status, by day (API, display, journal).
        PaymentFilter {
            register: Some(register.clone()),
            limit: 1,
            ..base.clone()
        },
        PaymentFilter {
            register: Some(register.clone()),
            order: Some("receipt-1".into()),
            ..base.clone()
        },
        PaymentFilter {
            register: Some(register.clone()),
            status: Some(PaymentState::Paid),
            ..base.clone()
        },
        PaymentFilter {
            register: Some(register.clone()),
            from: Some(t),
            to: Some(t + Chrono::days(1)),
            ..base.clone()
        },
        PaymentFilter {
            register: Some(register.clone()),
            late: Some(true),
            ..base.clone()
        },
        // The admin: by receipt, status, lateness, a day, a day and receipt, everything.
        PaymentFilter {
            order: Some("receipt-1".into()),
            ..base.clone()
        },
        PaymentFilter {
            status: Some(PaymentState::Paid),
            ..base.clone()
        },
        PaymentFilter {
            late: Some(true),
            ..base.clone()
        },
        PaymentFilter {
            from: Some(t),
            to: Some(t + Chrono::days(1)),
            ..base.clone()
        },
        PaymentFilter {
            order: Some("receipt-1".into()),
            from: Some(t),
            to: Some(t + Chrono::days(1)),
            ..base.clone()
        },
        PaymentFilter {
            status: Some(PaymentState::Paid),
            from: Some(t),
            ..base.clone()
        },
        base.clone(),
    ];
    for filter in &filters {
        store.list_payments(filter).await.unwrap();
    }
    store.events_after(0, Some(&register), 100).await.unwrap();
    store.events_after(0, None, 100).await.unwrap();
    store.unpublished_events(100).await.unwrap();
    store
        .payments_paid_between(t, t + Chrono::days(1))
        .await
        .unwrap();
    store.refunds_of(&PaymentId::from_u128(1)).await.unwrap();
    store.refunds_between(t, t + Chrono::days(1)).await.unwrap();
    store
        .refunds_finished_between(t, t + Chrono::days(1))
        .await
        .unwrap();
    store.failed_refunds(100).await.unwrap();
    store
        .payment_history(&PaymentId::from_u128(1))
        .await
        .unwrap();
    store.refund_history(&RefundId::from_u128(1)).await.unwrap();
    store.history(&PaymentId::from_u128(1)).await.unwrap();
    store.payment(&PaymentId::from_u128(1)).await.unwrap();

    let statements: Vec<String> = sql::take_seen()
        .into_iter()
        .filter(|s| s.trim_start().starts_with("SELECT"))
        .collect();
    assert!(
        statements.len() >= 20,
        "the listings were not recorded: {statements:?}"
    );
    let mut conn = store.pool.acquire().await.unwrap();
    let mut problems = Vec::new();
    for statement in &statements {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "EXPLAIN QUERY PLAN {statement}"
        )))
        .fetch_all(&mut *conn)
        .await
        .unwrap();
        let plan: Vec<String> = rows
            .iter()
            .map(|r| r.try_get::<String, _>("detail").unwrap())
            .collect();
        if let Some(problem) = plan_problem(statement, &plan) {
            problems.push(problem);
        }
    }
    assert!(
        problems.is_empty(),
        "listings that scan a table:\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_detector_sees_scans() {
    let scan = |p: &str| vec![p.to_owned()];
    assert!(plan_problem("SELECT * FROM payments WHERE a = ?", &scan("SCAN payments")).is_some());
    assert!(
        plan_problem(
            "SELECT * FROM payments WHERE register_id = ?",
            &scan("SCAN payments USING INDEX payments_created")
        )
        .is_some()
    );
    assert!(
        plan_problem(
            "SELECT * FROM payments ORDER BY created_at DESC LIMIT ?",
            &scan("SCAN payments USING INDEX payments_created")
        )
        .is_none()
    );
    assert!(
        plan_problem(
            "SELECT * FROM payments WHERE register_id = ?",
            &scan("SEARCH payments USING INDEX payments_register_created (register_id=?)")
        )
        .is_none()
    );
    assert!(plan_problem("SELECT * FROM cash_links", &scan("SCAN cash_links")).is_none());
}
