//! An upgrade: a journal whose schema is the previous release's (this release's last migration
//! not applied), holding a pending payment and a pending refund, is opened by this release. The
//! schema is upgraded on start and the worker finishes both against the bank.
//!
//! The previous release's journal is made here with this code, then taken back to the previous
//! release's schema by undoing every migration this release added ([`SINCE_PREVIOUS_RELEASE`]:
//! each one's undo statement, and its `_sqlx_migrations` row), so the test runs on every
//! backend. `packaging/test-deb.sh` upgrades an installed package with a journal in place too.
//! A new migration must add its undo here; the test fails until it does.

use std::time::Duration;

use serde_json::json;
use sqlx::Connection;

use crate::helpers::{Options, spawn_app, spawn_with};

#[tokio::test]
async fn a_previous_release_s_journal_with_pending_work_is_upgraded_and_finished() {
    let mut app = spawn_app().await;
    let pending = app.create_ok("up-1").await;
    let paid = app.paid_payment("up-2").await;
    let refund = app
        .refund(
            paid["id"].as_str().unwrap(),
            "up-r1",
            json!({"amount": 2000}),
        )
        .await;
    assert_eq!(refund.status, 201, "{}", refund.body);
    assert_eq!(refund.body["status"], "pending");
    app.stop().await;
    // While qrpayd is down (being upgraded), the customer pays the pending QR.
    app.customer_pays(&pending).await;

    // Back to the previous release's schema.
    let url = app._db.url.clone();
    let status = {
        let store = qrpayd_store::Store::open_unmigrated(&url).await.unwrap();
        store.schema_status().await.unwrap()
    };
    assert!(status.is_current(), "{status:?}");
    let undo = since_previous_release(qrpayd_store::test_db::backend());
    let newer: Vec<i64> = status
        .applied
        .iter()
        .copied()
        .filter(|v| *v > undo.0)
        .collect();
    assert_eq!(
        newer,
        undo.1.iter().map(|(v, _)| *v).collect::<Vec<_>>(),
        "every migration since the previous release needs its undo in SINCE_PREVIOUS_RELEASE"
    );
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(&url).await.unwrap();
    for (version, statement) in undo.1.iter().rev() {
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "{statement}; DELETE FROM _sqlx_migrations WHERE version = {version}"
        )))
        .execute(&mut conn)
        .await
        .unwrap();
    }
    conn.close().await.unwrap();
    let old = qrpayd_store::Store::open_unmigrated(&url)
        .await
        .unwrap()
        .schema_status()
        .await
        .unwrap();
    assert_eq!(old.pending.len(), undo.1.len(), "{old:?}");

    // The new release starts on it: the schema is upgraded, the work is finished.
    let upgraded = spawn_with(Options {
        db: Some(app._db.clone()),
        sandbox: Some((app.sandbox.clone(), app.sandbox_base.clone())),
        clock: Some(app.clock.clone()),
        ..Options::default()
    })
    .await;
    let now = upgraded
        .running()
        .payments
        .store()
        .schema_status()
        .await
        .unwrap();
    assert!(now.is_current(), "{now:?}");
    let pending_id = pending["id"].as_str().unwrap();
    let refund_id = refund.body["id"].as_str().unwrap();
    for _ in 0..5 {
        upgraded.advance_and_run(Duration::from_secs(3)).await;
    }
    assert_eq!(upgraded.status(pending_id).await, "paid");
    let refund = upgraded.get_refund(refund_id).await;
    assert_eq!(refund.body["status"], "succeeded", "{}", refund.body);
    // And the new table works.
    let reconciliation = upgraded
        .request(
            reqwest::Method::GET,
            "/v1/admin/reconciliation",
            Some(crate::helpers::ADMIN_KEY),
            None,
            None,
        )
        .await;
    assert_eq!(reconciliation.body, json!({"last": null}));
}

/// Undoes the listing indexes (sqlite 0010, postgres 0010).
const LIST_INDEXES_UNDO: &str = "DROP INDEX payments_register_created; DROP INDEX payments_order_created; DROP INDEX payments_status_created; DROP INDEX payments_late_created; DROP INDEX payments_paid; DROP INDEX refunds_created; DROP INDEX refunds_status_finished; DROP INDEX refunds_status_created";

/// The previous release's last migration on `backend`, and how to undo each migration added
/// since (version, statement), oldest first.
fn since_previous_release(backend: qrpayd_store::Backend) -> (i64, Vec<(i64, &'static str)>) {
    use qrpayd_store::Backend;
    match backend {
        Backend::Sqlite => (
            4,
            vec![
                (5, "DROP TABLE reconciliations"),
                (6, "ALTER TABLE refunds DROP COLUMN sent_at"),
                (10, LIST_INDEXES_UNDO),
            ],
        ),
        Backend::Postgres => (
            3,
            vec![
                (4, "DROP TABLE reconciliations"),
                (5, "ALTER TABLE refunds DROP COLUMN sent_at"),
                (10, LIST_INDEXES_UNDO),
            ],
        ),
        Backend::MySql => (
            20,
            vec![
                (21, "DROP TABLE reconciliations"),
                (22, "ALTER TABLE refunds DROP COLUMN sent_at"),
                (23, "SELECT 1"),
                (30, "DROP INDEX payments_register_created ON payments"),
                (31, "DROP INDEX payments_order_created ON payments"),
                (32, "DROP INDEX payments_status_created ON payments"),
                (33, "DROP INDEX payments_late_created ON payments"),
                (34, "DROP INDEX payments_paid ON payments"),
                (35, "DROP INDEX refunds_created ON refunds"),
                (36, "DROP INDEX refunds_status_finished ON refunds"),
                (37, "DROP INDEX refunds_status_created ON refunds"),
            ],
        ),
    }
}
