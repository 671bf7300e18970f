//! The emulated bank's daily registry (`GET /sandbox/registry?date=YYYY-MM-DD`,
//! [`crate::Sandbox::registry`]): Raiffeisen's `SBPreport.csv` for one Moscow date, built from
//! the books and written with [`qrpayd_bank::raiffeisen::registry::write`].
//!
//! * one `Payment` row per successful payment whose `transactionDate` falls on the date (a
//!   QR's, or a cash-register link order's): `id заказа` = the QR's order (the order id for
//!   a link), `Данные оплаты` = its QR id (the link's), a masked payer
//!   (`0079******NN`, NN = the transaction id's last two digits), method `Instant Payment QR`,
//!   and a fee of 0.4% rounded half up to the kopeck (integer arithmetic);
//! * one `Refund` row per `COMPLETED` refund completed on the date: order, `refundId`, the
//!   refunded payment's QR id and payer, the amount unsigned (the type says it is a refund)
//!   and no fee;
//! * times are written to the minute, as the bank does; rows are in time order (payments
//!   before refunds in the same instant);
//! * `ИТОГО` is the sum of the `Сумма` and `Комиссия` columns as printed (refunds included,
//!   unsigned), which for a day of payments only is what the bank's sample shows.
//!
//! Pure: no clock, no IO; the caller passes the books.

use crate::raiffeisen::model::{Order, OrderStatus, PaymentStatus, Qr, Refund, RefundStatus};
use chrono::{DateTime, FixedOffset, NaiveDate, Timelike};
use qrpayd_bank::raiffeisen::registry::{Registry, RegistryKind, RegistryRow};
use qrpayd_domain::money::Kopecks;

/// `Способ оплаты` of every row.
const METHOD: &str = "Instant Payment QR";

/// The line of the first row in what `write` produces (title, empty line, header, rows).
const FIRST_ROW_LINE: usize = 4;

/// The bank's fee in thousandths of the amount (0.4%).
const FEE_PER_MILLE: i64 = 4;

/// What orders the rows: the exact time, payments (0) before refunds (1), then the
/// transaction id or refund sequence number.
type RowKey = (DateTime<FixedOffset>, u8, u64);

/// The fee of a payment: 0.4% of `amount`, rounded half up to the kopeck.
pub(crate) fn fee(amount: Kopecks) -> Kopecks {
    amount
        .get()
        .checked_mul(FEE_PER_MILLE)
        .and_then(|v| v.checked_add(500))
        .map(|v| v / 1000)
        .and_then(|v| Kopecks::new(v).ok())
        .unwrap_or(Kopecks::ZERO)
}

/// The payer as the bank masks it, varied by transaction so rows are told apart.
fn masked_payer(transaction_id: u64) -> String {
    format!("0079******{:02}", transaction_id % 100)
}

/// `at` with seconds and fractions dropped, in UTC.
fn to_the_minute(at: DateTime<FixedOffset>) -> DateTime<chrono::Utc> {
    at.with_second(0)
        .and_then(|at| at.with_nanosecond(0))
        .unwrap_or(at)
        .to_utc()
}

/// The registry title for `date`.
pub(crate) fn title(date: NaiveDate) -> String {
    let day = date.format("%d/%m/%Y");
    format!(
        "Instant Payments C2B Transactions report for {day} / Отчет по СБП C2B транзакциям за {day}"
    )
}

/// A `Payment` row.
fn payment_row(
    merchant: &str,
    order: &str,
    qr_id: &str,
    transaction_id: u64,
    amount: Kopecks,
    at: DateTime<FixedOffset>,
) -> RegistryRow {
    RegistryRow {
        line: 0,
        merchant: merchant.to_owned(),
        at: to_the_minute(at),
        kind: RegistryKind::Payment,
        order: order.to_owned(),
        refund_id: None,
        comment: String::new(),
        method: METHOD.to_owned(),
        qr_id: Some(qr_id.to_owned()),
        payer: masked_payer(transaction_id),
        amount,
        fee: fee(amount),
        extra: String::new(),
    }
}

/// The registry of `date` (Moscow) for `merchant`, from every QR, order and refund.
pub(crate) fn build(
    merchant: &str,
    qrs: &[Qr],
    orders: &[Order],
    refunds: &[Refund],
    date: NaiveDate,
) -> Registry {
    let mut rows: Vec<(RowKey, RegistryRow)> = Vec::new();
    for order in orders.iter().filter(|o| o.status == OrderStatus::Paid) {
        let Some(transaction_id) = order.transaction_id else {
            continue;
        };
        if order.status_date.date_naive() != date {
            continue;
        }
        let row = payment_row(
            merchant,
            &order.id,
            &order.qr_id,
            transaction_id,
            order.amount,
            order.status_date,
        );
        rows.push(((order.status_date, 0, transaction_id), row));
    }
    for qr in qrs {
        for payment in qr
            .payments
            .iter()
            .filter(|p| p.status == PaymentStatus::Success && p.date.date_naive() == date)
        {
            let row = RegistryRow {
                line: 0,
                merchant: merchant.to_owned(),
                at: to_the_minute(payment.date),
                kind: RegistryKind::Payment,
                order: qr.order.clone(),
                refund_id: None,
                comment: String::new(),
                method: METHOD.to_owned(),
                qr_id: Some(qr.id.clone()),
                payer: masked_payer(payment.transaction_id),
                amount: payment.amount,
                fee: fee(payment.amount),
                extra: String::new(),
            };
            rows.push(((payment.date, 0, payment.transaction_id), row));
        }
    }
    for refund in refunds
        .iter()
        .filter(|r| r.status == RefundStatus::Completed)
    {
        let Some(completed) = refund.completed.filter(|at| at.date_naive() == date) else {
            continue;
        };
        let qr_id = qrs
            .iter()
            .find(|qr| {
                qr.payments
                    .iter()
                    .any(|p| p.transaction_id == refund.transaction_id)
            })
            .map(|qr| qr.id.clone())
            .or_else(|| {
                orders
                    .iter()
                    .find(|o| o.transaction_id == Some(refund.transaction_id))
                    .map(|o| o.qr_id.clone())
            });
        let row = RegistryRow {
            line: 0,
            merchant: merchant.to_owned(),
            at: to_the_minute(completed),
            kind: RegistryKind::Refund,
            order: refund.order.clone(),
            refund_id: Some(refund.id.clone()),
            comment: String::new(),
            method: METHOD.to_owned(),
            qr_id,
            payer: masked_payer(refund.transaction_id),
            amount: refund.amount,
            fee: Kopecks::ZERO,
            extra: String::new(),
        };
        rows.push(((completed, 1, refund.seq), row));
    }
    rows.sort_by_key(|(key, _)| *key);
    let rows: Vec<RegistryRow> = rows
        .into_iter()
        .enumerate()
        .map(|(index, (_, row))| RegistryRow {
            line: FIRST_ROW_LINE + index,
            ..row
        })
        .collect();
    let total = |pick: fn(&RegistryRow) -> Kopecks| {
        rows.iter()
            .try_fold(Kopecks::ZERO, |sum, row| sum.checked_add(pick(row)))
    };
    Registry {
        title: title(date),
        date: Some(date),
        total_amount: total(|row| row.amount),
        total_fee: total(|row| row.fee),
        rows,
    }
}

#[cfg(test)]
mod tests {
    // fixed-dates: pure transitions and renderings with the time handed in; nothing here reads the wall clock.
    use chrono::{TimeDelta, Utc};
    use qrpayd_bank::raiffeisen::registry::{parse, write};

    use super::*;
    use crate::raiffeisen::model::{NewQr, NewRefund, QrType};
    use crate::raiffeisen::state::State;

    fn k(v: i64) -> Kopecks {
        Kopecks::new(v).unwrap()
    }

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().to_utc()
    }

    fn qr(order: &str, amount: i64) -> NewQr {
        NewQr {
            qr_type: QrType::Dynamic,
            sbp_merchant_id: "MA0000000552".into(),
            order: order.into(),
            amount: Some(k(amount)),
            expiration: None,
            payment_details: None,
            additional_info: None,
        }
    }

    fn ids() -> impl FnMut(QrType) -> String {
        let mut n = 0u32;
        move |_| {
            n += 1;
            format!("AD1{n:029}")
        }
    }

    #[test]
    fn fee_is_four_per_mille_rounded_half_up() {
        assert_eq!(fee(k(380_600)), k(1_522));
        assert_eq!(fee(k(392_300)), k(1_569));
        assert_eq!(fee(k(125)), k(1)); // 0.5 kopeck rounds up
        assert_eq!(fee(k(124)), k(0));
        assert_eq!(fee(Kopecks::MAX), k(4_000_000_000_000));
    }

    #[test]
    fn the_sample_amounts_give_the_sample_title_and_fees() {
        let date = NaiveDate::from_ymd_opt(2020, 12, 10).unwrap();
        assert_eq!(
            title(date),
            "Instant Payments C2B Transactions report for 10/12/2020 / Отчет по СБП C2B транзакциям за 10/12/2020"
        );
    }

    #[test]
    fn rows_fall_on_their_moscow_date() {
        let mut s = State::new("MA0000000552".into(), "100000000007".into());
        let mut fresh = ids();
        // 23:59:59 MSK on 1 May, 00:00 MSK on 2 May.
        let late = at("2024-05-01T20:59:59.5Z");
        let midnight = at("2024-05-01T21:00:00Z");
        let a = s.register(qr("a", 10_000), late, &mut fresh).unwrap();
        let b = s.register(qr("b", 380_600), late, &mut fresh).unwrap();
        let c = s.register(qr("c", 700), late, &mut fresh).unwrap();
        s.pay(&a.id, k(10_000), late).unwrap();
        s.pay(&b.id, k(380_600), midnight).unwrap();
        s.decline(&c.id, None, midnight).unwrap();
        let refund = |id: &str, order: &str, amount: i64| NewRefund {
            refund_id: id.into(),
            order: order.into(),
            transaction_id: None,
            amount: k(amount),
        };
        s.refund(refund("r-a", "a", 2_500)).unwrap();
        s.refund_status("r-a", late).unwrap();
        s.refund_status("r-a", midnight + TimeDelta::minutes(5))
            .unwrap();
        // Never completed: not in any registry.
        s.refund(refund("r-b", "b", 100)).unwrap();
        s.refund_status("r-b", midnight).unwrap();

        let qrs = s.all_qrs(midnight);
        let refunds = s.all_refunds();
        let may_1 = NaiveDate::from_ymd_opt(2024, 5, 1).unwrap();
        let may_2 = NaiveDate::from_ymd_opt(2024, 5, 2).unwrap();

        let first = build("MA0000000552", &qrs, &[], &refunds, may_1);
        assert_eq!(first.rows.len(), 1);
        let row = &first.rows[0];
        assert_eq!(row.kind, RegistryKind::Payment);
        assert_eq!(
            (row.order.as_str(), row.qr_id.as_deref()),
            ("a", Some(a.id.as_str()))
        );
        assert_eq!(row.at, at("2024-05-01T20:59:00Z"));
        assert_eq!((row.amount, row.fee), (k(10_000), k(40)));
        assert_eq!(row.payer, "0079******00");
        assert_eq!(
            (first.total_amount, first.total_fee),
            (Some(k(10_000)), Some(k(40)))
        );

        let second = build("MA0000000552", &qrs, &[], &refunds, may_2);
        let summary: Vec<_> = second
            .rows
            .iter()
            .map(|r| {
                (
                    r.line,
                    r.kind.clone(),
                    r.order.as_str(),
                    r.refund_id.as_deref(),
                    r.amount,
                    r.fee,
                )
            })
            .collect();
        assert_eq!(
            summary,
            vec![
                (4, RegistryKind::Payment, "b", None, k(380_600), k(1_522)),
                (
                    5,
                    RegistryKind::Refund,
                    "a",
                    Some("r-a"),
                    k(2_500),
                    Kopecks::ZERO
                ),
            ]
        );
        assert_eq!(second.rows[1].qr_id.as_deref(), Some(a.id.as_str()));
        assert_eq!(second.rows[1].at, at("2024-05-01T21:05:00Z"));
        assert_eq!(second.total_amount, Some(k(383_100)));
        assert_eq!(second.total_fee, Some(k(1_522)));
        // What the route serves reads back as exactly this.
        assert_eq!(parse(&write(&second)).unwrap(), second);

        let empty = build(
            "MA0000000552",
            &qrs,
            &[],
            &refunds,
            may_2.succ_opt().unwrap(),
        );
        assert!(empty.rows.is_empty());
        assert_eq!(
            (empty.total_amount, empty.total_fee),
            (Some(Kopecks::ZERO), Some(Kopecks::ZERO))
        );
        assert_eq!(parse(&write(&empty)).unwrap(), empty);
    }
}
