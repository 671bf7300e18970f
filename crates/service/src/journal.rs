//! The journal as a store admin reads it: a day's payments by register and provider with
//! totals, one payment's full history (every state change and bank answer, with its
//! refunds'), what needs a person (late payments, flagged ones, failed refunds), and the last
//! reconciliation's differences. Read-only.
//!
//! Shared by the admin JSON endpoints (`/v1/admin/…`, behind the `/admin` page) and the
//! command line (`qrpayd payments list|show`), so both show the same thing. Amounts are
//! integer kopecks with their ruble text next to them.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use qrpayd_domain::ids::PaymentId;
use qrpayd_domain::refund::RefundState;
use qrpayd_store::{HistoryLine, Payment, PaymentFilter, Refund, Store, StoreError};
use serde::Serialize;
use utoipa::ToSchema;

/// The most payments one day's view reads.
pub const DAY_LIMIT: i64 = 10_000;

fn time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// One payment in a list.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = AdminPaymentRow)]
pub struct PaymentRow {
    /// `pay_…`.
    pub id: String,
    /// The register.
    pub register: String,
    /// The provider.
    pub provider: String,
    /// The sale receipt.
    pub order: Option<String>,
    /// Kopecks.
    pub amount: i64,
    /// `123.45`.
    pub amount_rubles: String,
    /// `pending`, `paid`, `failed`, `expired`, `cancelled`.
    pub status: &'static str,
    /// Paid after it was closed.
    pub late: bool,
    /// `refund` or `flag` for late ones.
    pub late_action: Option<String>,
    /// Kopecks refunded (succeeded refunds).
    pub refunded: i64,
    /// Created.
    pub created_at: String,
    /// Paid.
    pub paid_at: Option<String>,
}

impl PaymentRow {
    fn new(p: &Payment, refunds: &[Refund]) -> PaymentRow {
        PaymentRow {
            id: p.id.to_string(),
            register: p.register_id.to_string(),
            provider: p.provider.to_string(),
            order: p.order.as_ref().map(|o| o.as_str().to_owned()),
            amount: p.amount.get(),
            amount_rubles: p.amount.to_rubles_text(),
            status: p.state.api_status().as_str(),
            late: p.late,
            late_action: p.late_action.clone(),
            refunded: refunds
                .iter()
                .filter(|r| r.state == RefundState::Succeeded)
                .fold(0_i64, |sum, r| sum.saturating_add(r.amount.get())),
            created_at: time(p.created_at),
            paid_at: p.paid_at.map(time),
        }
    }
}

/// Payments of one register with one provider in a day.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
#[schema(as = AdminGroup)]
pub struct Group {
    /// The register (`*` for the total).
    pub register: String,
    /// The provider (`*` for the total).
    pub provider: String,
    /// Payments created.
    pub payments: i64,
    /// Of which paid.
    pub paid: i64,
    /// Kopecks paid.
    pub paid_amount: i64,
    /// Kopecks refunded.
    pub refunded_amount: i64,
}

impl Group {
    fn add(&mut self, row: &PaymentRow) {
        self.payments = self.payments.saturating_add(1);
        if row.status == "paid" {
            self.paid = self.paid.saturating_add(1);
            self.paid_amount = self.paid_amount.saturating_add(row.amount);
        }
        self.refunded_amount = self.refunded_amount.saturating_add(row.refunded);
    }
}

/// A day's payments (Moscow day).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = AdminDay)]
pub struct Day {
    /// `YYYY-MM-DD`.
    pub date: String,
    /// Per register and provider.
    pub groups: Vec<Group>,
    /// All of them.
    pub totals: Group,
    /// Every payment, newest first.
    pub payments: Vec<PaymentRow>,
}

async fn rows(store: &Store, payments: &[Payment]) -> Result<Vec<PaymentRow>, StoreError> {
    let mut out = Vec::with_capacity(payments.len());
    for p in payments {
        let refunds = if p.state == qrpayd_domain::payment::PaymentState::Paid {
            store.refunds_of(&p.id).await?
        } else {
            Vec::new()
        };
        out.push(PaymentRow::new(p, &refunds));
    }
    Ok(out)
}

/// The payments created on `date` (Moscow), optionally only `register`'s, or with receipt
/// `order`.
pub async fn day(
    store: &Store,
    date: NaiveDate,
    register: Option<qrpayd_domain::ids::RegisterId>,
    order: Option<String>,
) -> Result<Day, StoreError> {
    let (from, to) = qrpayd_domain::moscow::day(date);
    let filter = PaymentFilter {
        register,
        order,
        from: Some(from),
        to: Some(to),
        limit: DAY_LIMIT,
        ..PaymentFilter::default()
    };
    let payments = rows(store, &store.list_payments(&filter).await?).await?;
    let mut groups: BTreeMap<(String, String), Group> = BTreeMap::new();
    let mut totals = Group {
        register: "*".into(),
        provider: "*".into(),
        ..Group::default()
    };
    for row in &payments {
        groups
            .entry((row.register.clone(), row.provider.clone()))
            .or_insert_with(|| Group {
                register: row.register.clone(),
                provider: row.provider.clone(),
                ..Group::default()
            })
            .add(row);
        totals.add(row);
    }
    Ok(Day {
        date: date.to_string(),
        groups: groups.into_values().collect(),
        totals,
        payments,
    })
}

/// Payments with receipt `order`, any day, newest first.
pub async fn by_order(store: &Store, order: &str) -> Result<Vec<PaymentRow>, StoreError> {
    let filter = PaymentFilter {
        order: Some(order.to_owned()),
        limit: 100,
        ..PaymentFilter::default()
    };
    rows(store, &store.list_payments(&filter).await?).await
}

/// One line of history.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = AdminHistoryLine)]
pub struct Line {
    /// When.
    pub at: String,
    /// State before.
    pub from: Option<String>,
    /// State after.
    pub to: String,
    /// What happened, and who said so.
    pub event: String,
    /// The bank's answer or transaction.
    pub detail: Option<String>,
}

impl From<HistoryLine> for Line {
    fn from(h: HistoryLine) -> Line {
        Line {
            at: time(h.at),
            from: h.from,
            to: h.to,
            event: h.event,
            detail: h.detail,
        }
    }
}

/// A refund with its history.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = AdminRefundDetail)]
pub struct RefundDetail {
    /// `rf_…`.
    pub id: String,
    /// The payment.
    pub payment_id: String,
    /// Kopecks.
    pub amount: i64,
    /// `123.45`.
    pub amount_rubles: String,
    /// `pending`, `succeeded`, `failed`.
    pub status: &'static str,
    /// Made by the late-payment policy.
    pub automatic: bool,
    /// Why.
    pub reason: Option<String>,
    /// Why it failed.
    pub failure: Option<String>,
    /// Created.
    pub created_at: String,
    /// Every state change.
    pub history: Vec<Line>,
}

async fn refund_detail(store: &Store, r: &Refund) -> Result<RefundDetail, StoreError> {
    Ok(RefundDetail {
        id: r.id.to_string(),
        payment_id: r.payment_id.to_string(),
        amount: r.amount.get(),
        amount_rubles: r.amount.to_rubles_text(),
        status: r.state.api_status(),
        automatic: r.automatic,
        reason: r.reason.clone(),
        failure: r.failure.as_ref().map(|(c, m)| format!("{c}: {m}")),
        created_at: time(r.created_at),
        history: store
            .refund_history(&r.id)
            .await?
            .into_iter()
            .map(Line::from)
            .collect(),
    })
}

/// A payment with everything that happened to it.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = AdminPaymentDetail)]
pub struct PaymentDetail {
    /// The payment.
    #[serde(flatten)]
    pub row: PaymentRow,
    /// `dynamic`, `cash_register`, `customer`.
    pub qr_type: &'static str,
    /// The bank's QR id.
    pub qr_id: Option<String>,
    /// The bank's transaction id.
    pub bank_transaction_id: Option<String>,
    /// Why it failed.
    pub failure: Option<String>,
    /// Payment purpose.
    pub description: Option<String>,
    /// When the QR stops being payable.
    pub expires_at: String,
    /// Every state change, oldest first.
    pub history: Vec<Line>,
    /// Its refunds, oldest first.
    pub refunds: Vec<RefundDetail>,
}

/// One payment's full story, or `None`.
pub async fn payment(store: &Store, id: &PaymentId) -> Result<Option<PaymentDetail>, StoreError> {
    let Some(p) = store.payment(id).await? else {
        return Ok(None);
    };
    let refunds = store.refunds_of(id).await?;
    let mut details = Vec::with_capacity(refunds.len());
    for r in &refunds {
        details.push(refund_detail(store, r).await?);
    }
    Ok(Some(PaymentDetail {
        row: PaymentRow::new(&p, &refunds),
        qr_type: p.qr_type.as_str(),
        qr_id: p.qr.as_ref().map(|(q, _)| q.to_string()),
        bank_transaction_id: p.bank_transaction_id.clone(),
        failure: p.failure.as_ref().map(|(c, m)| format!("{c}: {m}")),
        description: p.description.clone(),
        expires_at: time(p.expires_at),
        history: store
            .payment_history(id)
            .await?
            .into_iter()
            .map(Line::from)
            .collect(),
        refunds: details,
    }))
}

/// What a person must look at.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = AdminAttention)]
pub struct Attention {
    /// Late payments (paid after qrpayd had closed them), newest first: `late_action` says
    /// whether qrpayd refunded them or left them for a person (`flag`).
    pub late: Vec<PaymentRow>,
    /// Refunds the bank refused: the money must go back another way.
    pub failed_refunds: Vec<RefundDetail>,
}

/// Late payments and failed refunds, newest first (at most 100 of each).
pub async fn attention(store: &Store) -> Result<Attention, StoreError> {
    let filter = PaymentFilter {
        late: Some(true),
        limit: 100,
        ..PaymentFilter::default()
    };
    let late = rows(store, &store.list_payments(&filter).await?).await?;
    let mut failed_refunds = Vec::new();
    for r in store.failed_refunds(100).await? {
        failed_refunds.push(refund_detail(store, &r).await?);
    }
    Ok(Attention {
        late,
        failed_refunds,
    })
}

/// The last reconciliation.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = AdminReconciliation)]
pub struct Reconciliation {
    /// When it ran.
    pub ran_at: String,
    /// The registry's day.
    pub registry_date: Option<String>,
    /// How many differences.
    pub differences: i64,
    /// The report (`reconcile --format json`).
    #[schema(value_type = Object)]
    pub report: serde_json::Value,
}

/// The last saved reconciliation run, if any.
pub async fn last_reconciliation(store: &Store) -> Result<Option<Reconciliation>, StoreError> {
    Ok(store
        .last_reconciliation()
        .await?
        .map(|run| Reconciliation {
            ran_at: time(run.ran_at),
            registry_date: run.registry_date,
            differences: run.differences,
            report: serde_json::from_str(&run.report).unwrap_or(serde_json::Value::Null),
        }))
}

/// Saves a reconciliation report (`qrpayd reconcile` does, after comparing).
pub async fn save_reconciliation(
    store: &Store,
    report: &crate::reconcile::Report,
    ran_at: DateTime<Utc>,
) -> Result<(), StoreError> {
    let text = serde_json::to_string(report)
        .map_err(|e| StoreError::Corrupt(format!("reconciliation report: {e}")))?;
    store
        .save_reconciliation(&qrpayd_store::ReconciliationRun {
            ran_at,
            registry_date: report.date.map(|d| d.to_string()),
            differences: i64::try_from(report.differences.len()).unwrap_or(i64::MAX),
            report: text,
        })
        .await
}
