//! Reconciliation: the bank's daily registry against qrpayd's journal.
//!
//! [`compare`] is pure: it takes the parsed registry and the journal rows that can matter
//! (everything paid or refunded that Moscow day, plus whatever the registry's rows name) and
//! lists every difference. [`run`] loads those rows, compares, and — with `mark_late` — records
//! a payment the bank took but the journal had closed as paid (late), so the late-payment policy
//! handles it. [`render`] writes the report as text, JSON or CSV.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;

use chrono::{DateTime, NaiveDate, Utc};
use qrpayd_bank::registry::{Registry, RegistryKind, RegistryRow};
use qrpayd_domain::ids::{PaymentId, ProviderName, QrId, RefundId};
use qrpayd_domain::money::Kopecks;
use qrpayd_domain::payment::{PaymentState, QrType};
use qrpayd_domain::refund::RefundState;
use qrpayd_store::{Payment, Refund, StoreError};
use serde::Serialize;

use crate::export::csv_cell;
use crate::payments::Payments;

/// One kind of difference between the bank and the journal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DifferenceKind {
    /// The bank took a payment the journal does not know at all.
    PaymentMissingInJournal,
    /// The journal says paid that day; the bank's registry does not list it.
    PaymentMissingAtBank,
    /// Both know the payment; the amounts differ.
    PaymentAmountMismatch,
    /// The bank took the payment; the journal has it as not paid (cancelled, expired, …).
    PaymentStatusMismatch,
    /// The bank made a refund the journal does not know.
    RefundMissingInJournal,
    /// The journal says a refund succeeded that day; the registry does not list it.
    RefundMissingAtBank,
    /// Both know the refund; the amounts differ.
    RefundAmountMismatch,
    /// The bank made the refund; the journal has it as pending or failed.
    RefundStatusMismatch,
}

impl DifferenceKind {
    fn text(self) -> &'static str {
        match self {
            DifferenceKind::PaymentMissingInJournal => "payment at the bank, not in the journal",
            DifferenceKind::PaymentMissingAtBank => "payment in the journal, not at the bank",
            DifferenceKind::PaymentAmountMismatch => "payment amounts differ",
            DifferenceKind::PaymentStatusMismatch => "paid at the bank, not paid in the journal",
            DifferenceKind::RefundMissingInJournal => "refund at the bank, not in the journal",
            DifferenceKind::RefundMissingAtBank => "refund in the journal, not at the bank",
            DifferenceKind::RefundAmountMismatch => "refund amounts differ",
            DifferenceKind::RefundStatusMismatch => {
                "refunded at the bank, not succeeded in the journal"
            }
        }
    }
}

/// One difference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Difference {
    /// What differs.
    pub kind: DifferenceKind,
    /// Our payment id (or the bank's order id when we do not know it).
    pub payment_id: Option<String>,
    /// The refund id, for refund differences.
    pub refund_id: Option<String>,
    /// The QR id.
    pub qr_id: Option<String>,
    /// The bank's amount, kopecks.
    pub bank_amount: Option<i64>,
    /// The journal's amount, kopecks.
    pub journal_amount: Option<i64>,
    /// The journal's status.
    pub journal_status: Option<String>,
    /// The registry line.
    pub registry_line: Option<usize>,
    /// What reconciliation did about it (`marked_paid_late`), if anything.
    pub action: Option<String>,
}

/// The journal rows reconciliation looks at.
#[derive(Debug, Clone, Default)]
pub struct Journal {
    /// Payments paid that day and payments the registry names.
    pub payments: Vec<Payment>,
    /// Refunds succeeded that day and refunds the registry names.
    pub refunds: Vec<Refund>,
}

/// The reconciliation report.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The registry's day (Moscow).
    pub date: Option<NaiveDate>,
    /// Payment rows in the registry.
    pub bank_payments: usize,
    /// Refund rows in the registry.
    pub bank_refunds: usize,
    /// Rows of other kinds (listed, not compared).
    pub bank_other_rows: usize,
    /// Every difference found.
    pub differences: Vec<Difference>,
    /// What could not be checked, if anything: a registry that names no day cannot say which
    /// journal payments and refunds it should have listed, so "missing at the bank" is not
    /// checked (give the day with `--date`). An incomplete check is never reported as clean.
    pub unchecked: Option<String>,
}

impl Report {
    /// Do the journal and the bank agree, as far as everything was checked?
    pub fn is_clean(&self) -> bool {
        self.differences.is_empty() && self.unchecked.is_none()
    }
}

fn payment_diff(
    kind: DifferenceKind,
    row: Option<&RegistryRow>,
    payment: Option<&Payment>,
) -> Difference {
    Difference {
        kind,
        payment_id: payment
            .map(|p| p.id.to_string())
            .or_else(|| row.map(|r| r.order.clone())),
        refund_id: None,
        qr_id: payment
            .and_then(|p| p.qr.as_ref().map(|(q, _)| q.to_string()))
            .or_else(|| row.and_then(|r| r.qr_id.clone())),
        bank_amount: row.map(|r| r.amount.get()),
        journal_amount: payment.map(|p| p.amount.get()),
        journal_status: payment.map(|p| p.state.api_status().as_str().to_owned()),
        registry_line: row.map(|r| r.line),
        action: None,
    }
}

fn refund_diff(
    kind: DifferenceKind,
    row: Option<&RegistryRow>,
    refund: Option<&Refund>,
) -> Difference {
    Difference {
        kind,
        payment_id: refund
            .map(|r| r.payment_id.to_string())
            .or_else(|| row.map(|r| r.order.clone())),
        refund_id: refund
            .map(|r| r.id.to_string())
            .or_else(|| row.and_then(|r| r.refund_id.clone())),
        qr_id: row.and_then(|r| r.qr_id.clone()),
        bank_amount: row.map(|r| r.amount.get()),
        journal_amount: refund.map(|r| r.amount.get()),
        journal_status: refund.map(|r| r.state.api_status().to_owned()),
        registry_line: row.map(|r| r.line),
        action: None,
    }
}

/// Lists every difference between the registry and the journal. Pure.
pub fn compare(
    registry: &Registry,
    journal: &Journal,
    day: Option<(DateTime<Utc>, DateTime<Utc>)>,
) -> Report {
    let by_id: HashMap<&str, &Payment> = journal
        .payments
        .iter()
        .map(|p| (p.id.as_str(), p))
        .collect();
    // Only a dynamic QR's id names one payment: every activation of a cash-register link
    // shares the link's id, so those are matched by order only.
    let by_qr: HashMap<&str, &Payment> = journal
        .payments
        .iter()
        .filter(|p| p.qr_type != QrType::CashRegister)
        .filter_map(|p| p.qr.as_ref().map(|(q, _)| (q.as_str(), p)))
        .collect();
    let refunds: HashMap<&str, &Refund> =
        journal.refunds.iter().map(|r| (r.id.as_str(), r)).collect();
    let in_day = |t: Option<DateTime<Utc>>| match (day, t) {
        (Some((from, to)), Some(t)) => t >= from && t < to,
        (None, Some(_)) => true,
        (_, None) => false,
    };
    let mut differences = Vec::new();
    let mut seen_payments = HashSet::new();
    let mut seen_refunds = HashSet::new();
    let (mut bank_payments, mut bank_refunds, mut bank_other_rows) = (0, 0, 0);
    for row in &registry.rows {
        match &row.kind {
            RegistryKind::Payment => {
                bank_payments += 1;
                let found = by_id
                    .get(row.order.as_str())
                    .or_else(|| row.qr_id.as_deref().and_then(|q| by_qr.get(q)))
                    .copied();
                let Some(payment) = found else {
                    differences.push(payment_diff(
                        DifferenceKind::PaymentMissingInJournal,
                        Some(row),
                        None,
                    ));
                    continue;
                };
                seen_payments.insert(payment.id.as_str());
                if payment.amount != row.amount {
                    differences.push(payment_diff(
                        DifferenceKind::PaymentAmountMismatch,
                        Some(row),
                        Some(payment),
                    ));
                }
                if payment.state != PaymentState::Paid {
                    differences.push(payment_diff(
                        DifferenceKind::PaymentStatusMismatch,
                        Some(row),
                        Some(payment),
                    ));
                }
            }
            RegistryKind::Refund => {
                bank_refunds += 1;
                let found = row
                    .refund_id
                    .as_deref()
                    .and_then(|id| refunds.get(id))
                    .copied();
                let Some(refund) = found else {
                    differences.push(refund_diff(
                        DifferenceKind::RefundMissingInJournal,
                        Some(row),
                        None,
                    ));
                    continue;
                };
                seen_refunds.insert(refund.id.as_str());
                if refund.amount != row.amount {
                    differences.push(refund_diff(
                        DifferenceKind::RefundAmountMismatch,
                        Some(row),
                        Some(refund),
                    ));
                }
                if refund.state != RefundState::Succeeded {
                    differences.push(refund_diff(
                        DifferenceKind::RefundStatusMismatch,
                        Some(row),
                        Some(refund),
                    ));
                }
            }
            RegistryKind::Other(_) => bank_other_rows += 1,
        }
    }
    for p in &journal.payments {
        if p.state == PaymentState::Paid
            && in_day(p.paid_at)
            && !seen_payments.contains(p.id.as_str())
        {
            differences.push(payment_diff(
                DifferenceKind::PaymentMissingAtBank,
                None,
                Some(p),
            ));
        }
    }
    for r in &journal.refunds {
        if r.state == RefundState::Succeeded
            && in_day(r.finished_at)
            && !seen_refunds.contains(r.id.as_str())
        {
            differences.push(refund_diff(
                DifferenceKind::RefundMissingAtBank,
                None,
                Some(r),
            ));
        }
    }
    let unchecked = day.is_none().then(|| {
        "the registry names no day, so payments and refunds in the journal that are missing at \
         the bank were not checked (give the day with --date)"
            .to_owned()
    });
    Report {
        date: registry.date,
        bank_payments,
        bank_refunds,
        bank_other_rows,
        differences,
        unchecked,
    }
}

/// Loads the journal rows of `provider` the registry needs, compares, and with `mark_late` records payments
/// the bank took but the journal had not as paid (late, under the late-payment policy).
pub async fn run(
    payments: &Payments,
    registry: &Registry,
    provider: &ProviderName,
    mark_late: bool,
) -> Result<Report, StoreError> {
    let store = payments.store();
    let day = registry.date.map(qrpayd_domain::moscow::day);
    let mut journal = Journal::default();
    if let Some((from, to)) = day {
        // Only this bank's: another provider's payments are in its own registry.
        journal.payments = store.payments_paid_between(from, to).await?;
        journal.payments.retain(|p| &p.provider == provider);
        for refund in store.refunds_finished_between(from, to).await? {
            if store
                .payment(&refund.payment_id)
                .await?
                .is_some_and(|p| &p.provider == provider)
            {
                journal.refunds.push(refund);
            }
        }
    }
    let mut known: HashSet<String> = journal.payments.iter().map(|p| p.id.to_string()).collect();
    let mut known_refunds: HashSet<String> =
        journal.refunds.iter().map(|r| r.id.to_string()).collect();
    for row in &registry.rows {
        let by_order = match PaymentId::parse(&row.order) {
            Ok(id) => store.payment(&id).await?,
            Err(_) => None,
        };
        let payment = match (by_order, row.qr_id.as_deref().map(QrId::parse)) {
            (Some(p), _) => Some(p),
            // A link's QR id is shared by all its activations: it names no single payment.
            (None, Some(Ok(qr))) => store
                .payment_by_qr(&qr)
                .await?
                .filter(|p| p.qr_type != QrType::CashRegister),
            _ => None,
        };
        if let Some(p) = payment
            && known.insert(p.id.to_string())
        {
            journal.payments.push(p);
        }
        if let Some(Ok(id)) = row.refund_id.as_deref().map(RefundId::parse)
            && let Some(r) = store.refund(&id).await?
            && known_refunds.insert(r.id.to_string())
        {
            journal.refunds.push(r);
        }
    }
    let mut report = compare(registry, &journal, day);
    if mark_late {
        for d in &mut report.differences {
            if d.kind != DifferenceKind::PaymentStatusMismatch {
                continue;
            }
            let Some(id) = d
                .payment_id
                .as_deref()
                .and_then(|id| PaymentId::parse(id).ok())
            else {
                continue;
            };
            let paid = payments.record_paid_from_reconciliation(&id).await?;
            d.action = Some(match paid {
                Some(p) if p.late => format!(
                    "marked paid (late); late_action = {}",
                    p.late_action.unwrap_or_default()
                ),
                Some(_) => "marked paid".to_owned(),
                None => "could not mark (see the log)".to_owned(),
            });
        }
    }
    Ok(report)
}

fn rubles(k: Option<i64>) -> String {
    k.and_then(|k| Kopecks::new(k).ok())
        .map(Kopecks::to_rubles_fixed)
        .unwrap_or_default()
}

/// Report formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// For people.
    Text,
    /// One JSON document.
    Json,
    /// `;`-separated, one difference per line, with a header.
    Csv,
}

/// Writes the report.
pub fn render(report: &Report, format: Format) -> String {
    match format {
        Format::Json => serde_json::to_string_pretty(report).unwrap_or_default(),
        Format::Csv => {
            let mut out = String::from(
                "kind;payment_id;refund_id;qr_id;bank_amount;journal_amount;journal_status;registry_line;action\n",
            );
            for d in &report.differences {
                let kind = serde_json::to_value(d.kind)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default();
                let cells = [
                    kind,
                    d.payment_id.clone().unwrap_or_default(),
                    d.refund_id.clone().unwrap_or_default(),
                    d.qr_id.clone().unwrap_or_default(),
                    rubles(d.bank_amount),
                    rubles(d.journal_amount),
                    d.journal_status.clone().unwrap_or_default(),
                    d.registry_line.map(|l| l.to_string()).unwrap_or_default(),
                    d.action.clone().unwrap_or_default(),
                ];
                let line: Vec<String> = cells.iter().map(|c| csv_cell(c)).collect();
                out.push_str(&line.join(";"));
                out.push('\n');
            }
            out
        }
        Format::Text => {
            let mut out = String::new();
            let date = report
                .date
                .map(|d| d.format("%d.%m.%Y").to_string())
                .unwrap_or_else(|| "unknown day".into());
            let _ = writeln!(
                out,
                "Reconciliation for {date}: the bank lists {} payment(s) and {} refund(s).",
                report.bank_payments, report.bank_refunds
            );
            if let Some(unchecked) = &report.unchecked {
                let _ = writeln!(out, "WARNING: incomplete check: {unchecked}.");
            }
            if report.differences.is_empty() {
                if report.unchecked.is_none() {
                    let _ = writeln!(out, "No differences: the journal and the bank agree.");
                } else {
                    let _ = writeln!(out, "No differences in what was checked.");
                }
                return out;
            }
            let _ = writeln!(out, "{} difference(s):", report.differences.len());
            for d in &report.differences {
                let _ = write!(out, "  - {}:", d.kind.text());
                if let Some(p) = &d.payment_id {
                    let _ = write!(out, " payment {p}");
                }
                if let Some(r) = &d.refund_id {
                    let _ = write!(out, " refund {r}");
                }
                if let Some(q) = &d.qr_id {
                    let _ = write!(out, " qr {q}");
                }
                if d.bank_amount.is_some() {
                    let _ = write!(out, "; bank {} RUB", rubles(d.bank_amount));
                }
                if d.journal_amount.is_some() {
                    let _ = write!(out, "; journal {} RUB", rubles(d.journal_amount));
                }
                if let Some(s) = &d.journal_status {
                    let _ = write!(out, " ({s})");
                }
                if let Some(l) = d.registry_line {
                    let _ = write!(out, "; registry line {l}");
                }
                if let Some(a) = &d.action {
                    let _ = write!(out, " → {a}");
                }
                out.push('\n');
            }
            out
        }
    }
}
