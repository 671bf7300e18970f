//! The end of the run: the journal against the bank's own books (the sandbox's overview), the
//! events a consumer received, and the job tables. Every difference is a violation; the report
//! prints the figures.

use std::collections::{BTreeMap, HashMap, HashSet};

use qrpayd_domain::money::Kopecks;
use qrpayd_store::{Payment, PaymentFilter, Refund, Store};
use serde_json::Value;

use crate::consumer::Received;
use crate::workload::Sale;

/// What a payment looks like in the bank's books.
#[derive(Debug, Default)]
struct AtBank {
    /// Kopecks the customer paid.
    paid: i64,
    /// Completed refunds: (our refund id where the bank keeps one, kopecks).
    refunded: Vec<(Option<String>, i64)>,
    /// Refunds the bank has not finished.
    refunds_in_progress: usize,
}

fn rubles(v: &Value) -> i64 {
    Kopecks::parse_rubles(&v.to_string()).map_or(-1, Kopecks::get)
}

/// The bank's books by the payment id qrpayd sent as the order.
fn books_by_order(overview: &Value) -> HashMap<String, AtBank> {
    let mut books: HashMap<String, AtBank> = HashMap::new();
    let list = |key: &str| overview[key].as_array().cloned().unwrap_or_default();
    for qr in list("qrs") {
        let Some(order) = qr["order"].as_str() else {
            continue;
        };
        let entry = books.entry(order.to_owned()).or_default();
        entry.paid += qr["transactions"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|t| t["paymentStatus"] == "SUCCESS")
            .map(|t| rubles(&t["amount"]))
            .sum::<i64>();
    }
    for refund in list("refunds") {
        let Some(order) = refund["order"].as_str() else {
            continue;
        };
        let entry = books.entry(order.to_owned()).or_default();
        match refund["refundStatus"].as_str() {
            Some("COMPLETED") => entry.refunded.push((
                refund["refundId"].as_str().map(str::to_owned),
                rubles(&refund["amount"]),
            )),
            Some("IN_PROGRESS") => entry.refunds_in_progress += 1,
            _ => {}
        }
    }
    for payment in list("tbankPayments") {
        let Some(order) = payment["orderId"].as_str() else {
            continue;
        };
        let entry = books.entry(order.to_owned()).or_default();
        let status = payment["status"].as_str().unwrap_or_default();
        if [
            "CONFIRMED",
            "ASYNC_REFUNDING",
            "PARTIAL_REFUNDED",
            "REFUNDED",
        ]
        .contains(&status)
        {
            entry.paid += payment["amount"].as_i64().unwrap_or(-1);
        }
        for refund in payment["refunds"].as_array().into_iter().flatten() {
            match refund["status"].as_str() {
                Some("REFUNDED" | "PARTIAL_REFUNDED") => entry
                    .refunded
                    .push((None, refund["amount"].as_i64().unwrap_or(-1))),
                Some("ASYNC_REFUNDING") => entry.refunds_in_progress += 1,
                _ => {}
            }
        }
    }
    books
}

/// The figures and violations of a run.
#[derive(Debug, Default)]
pub(crate) struct Findings {
    /// Payments in the journal.
    pub(crate) payments: usize,
    /// By final status.
    pub(crate) by_status: BTreeMap<String, usize>,
    /// Late payments (paid after they were closed).
    pub(crate) late: usize,
    /// Refunds in the journal, succeeded and failed.
    pub(crate) refunds_succeeded: usize,
    pub(crate) refunds_failed: usize,
    /// Kopecks paid and refunded, by the journal.
    pub(crate) paid_kopecks: i64,
    pub(crate) refunded_kopecks: i64,
    /// Events received (with duplicates) and distinct.
    pub(crate) events_received: usize,
    pub(crate) events_distinct: usize,
    /// Every difference found.
    pub(crate) violations: Vec<String>,
}

/// Compares everything. `events` is `None` when the run had no broker.
pub(crate) async fn check(
    store: &Store,
    overview: &Value,
    sales: &[Sale],
    events: Option<&[Received]>,
) -> anyhow::Result<Findings> {
    let mut f = Findings::default();
    let books = books_by_order(overview);
    let payments = store
        .list_payments(&PaymentFilter {
            limit: 10_000_000,
            ..PaymentFilter::default()
        })
        .await?;
    f.payments = payments.len();
    let known: HashSet<&str> = payments.iter().map(|p| p.id.as_str()).collect();

    // The bank has nothing qrpayd does not know of.
    for (order, at_bank) in &books {
        if !known.contains(order.as_str()) && (at_bank.paid != 0 || !at_bank.refunded.is_empty()) {
            f.violations.push(format!(
                "the bank holds money for {order}, unknown to the journal"
            ));
        }
    }
    // One sale, one payment.
    let mut per_sale: HashMap<&str, usize> = HashMap::new();
    for p in &payments {
        if let Some(order) = &p.order {
            *per_sale.entry(order.as_str()).or_default() += 1;
        }
    }
    for (sale, count) in per_sale {
        if count > 1 {
            f.violations
                .push(format!("sale {sale} has {count} payments in the journal"));
        }
    }
    for sale in sales {
        if let Some(id) = &sale.payment_id
            && !known.contains(id.as_str())
        {
            f.violations.push(format!(
                "sale {} was answered with payment {id}, which the journal does not have",
                sale.number
            ));
        }
    }

    let mut final_events: HashSet<(String, String)> = HashSet::new();
    for p in &payments {
        let refunds = store.refunds_of(&p.id).await?;
        check_payment(&mut f, p, &refunds, books.get(p.id.as_str()));
        let status = p.state.api_status().as_str().to_owned();
        final_events.insert((p.id.as_str().to_owned(), format!("payment.{status}")));
        for r in &refunds {
            match r.state.api_status() {
                "succeeded" => {
                    final_events.insert((p.id.as_str().to_owned(), "refund.succeeded".into()));
                }
                "failed" => {
                    final_events.insert((p.id.as_str().to_owned(), "refund.failed".into()));
                }
                _ => {}
            }
        }
    }

    if let Some(events) = events {
        check_events(&mut f, events, &final_events);
    }

    let far = chrono::Utc::now() + chrono::Duration::days(36_500); // wall-clock: the end of a real run
    let jobs = store.job_counts(far, far).await?;
    if jobs.payments_due + jobs.refunds_due > 0 {
        f.violations.push(format!(
            "jobs left behind: {} payment jobs, {} refund jobs",
            jobs.payments_due, jobs.refunds_due
        ));
    }
    Ok(f)
}

fn check_payment(f: &mut Findings, p: &Payment, refunds: &[Refund], at_bank: Option<&AtBank>) {
    let id = p.id.as_str();
    let status = p.state.api_status().as_str();
    *f.by_status.entry(status.to_owned()).or_default() += 1;
    f.late += usize::from(p.late);
    if !p.state.is_final() {
        f.violations.push(format!("{id} is not final: {}", p.state));
    }
    let empty = AtBank::default();
    let at_bank = at_bank.unwrap_or(&empty);
    let paid_here = status == "paid";
    if paid_here {
        f.paid_kopecks += p.amount.get();
    }
    if paid_here != (at_bank.paid > 0) {
        f.violations.push(format!(
            "{id}: the journal says {status}, the bank holds {} kopecks paid",
            at_bank.paid
        ));
    } else if paid_here && at_bank.paid != p.amount.get() {
        f.violations.push(format!(
            "{id}: paid {} at the bank for a payment of {}",
            at_bank.paid,
            p.amount.get()
        ));
    }
    let mut succeeded = 0;
    let mut succeeded_ids = HashSet::new();
    for r in refunds {
        match r.state.api_status() {
            "succeeded" => {
                f.refunds_succeeded += 1;
                succeeded += r.amount.get();
                succeeded_ids.insert(r.id.as_str().to_owned());
            }
            "failed" => f.refunds_failed += 1,
            other => f
                .violations
                .push(format!("{id}: refund {} is still {other}", r.id)),
        }
    }
    f.refunded_kopecks += succeeded;
    if succeeded > p.amount.get() {
        f.violations.push(format!(
            "{id}: refunded {succeeded} of a payment of {}",
            p.amount.get()
        ));
    }
    let bank_refunded: i64 = at_bank.refunded.iter().map(|(_, a)| a).sum();
    if bank_refunded != succeeded || at_bank.refunded.len() != succeeded_ids.len() {
        f.violations.push(format!(
            "{id}: the journal has {} succeeded refunds of {succeeded} kopecks, the bank {} of {bank_refunded}",
            succeeded_ids.len(),
            at_bank.refunded.len()
        ));
    }
    for (bank_id, amount) in &at_bank.refunded {
        if let Some(bank_id) = bank_id
            && !succeeded_ids.contains(bank_id)
        {
            f.violations.push(format!(
                "{id}: the bank completed refund {bank_id} ({amount}), the journal has no such succeeded refund"
            ));
        }
    }
    if at_bank.refunds_in_progress > 0 {
        f.violations.push(format!(
            "{id}: {} refunds still in progress at the bank",
            at_bank.refunds_in_progress
        ));
    }
}

fn check_events(f: &mut Findings, events: &[Received], expected: &HashSet<(String, String)>) {
    f.events_received = events.len();
    let mut seen_seq = HashSet::new();
    let mut last_seq: HashMap<&str, i64> = HashMap::new();
    let mut got: HashSet<(String, String)> = HashSet::new();
    for e in events {
        if !seen_seq.insert(e.seq) {
            continue; // a duplicate delivery: at least once, not exactly once
        }
        got.insert((e.payment_id.clone(), e.kind.clone()));
        let last = last_seq.entry(e.payment_id.as_str()).or_insert(i64::MIN);
        if e.seq < *last {
            f.violations.push(format!(
                "events of {} out of order: seq {} after {}",
                e.payment_id, e.seq, last
            ));
        }
        *last = e.seq.max(*last);
    }
    f.events_distinct = seen_seq.len();
    let mut missing: Vec<_> = expected.difference(&got).collect();
    missing.sort();
    for (payment, kind) in missing.iter().take(20) {
        f.violations
            .push(format!("no {kind} event received for {payment}"));
    }
    if missing.len() > 20 {
        f.violations
            .push(format!("… {} more missing events", missing.len() - 20));
    }
}
