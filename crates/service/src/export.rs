//! The journal as CSV for accounting: every payment and refund created in a period, with the
//! bank's ids (QR id, transaction id, refund id).
//!
//! `;`-separated UTF-8 with a header row (what Russian spreadsheet tools open directly);
//! amounts both in kopecks and as exact rubles.

use chrono::{DateTime, SecondsFormat, Utc};
use qrpayd_store::{PaymentFilter, Store, StoreError};

const HEADER: &str = "type;id;payment_id;register;order;status;amount_kopecks;amount_rub;currency;provider;qr_id;bank_transaction_id;late;late_action;reason;created_at;finished_at";

/// One `;`-separated CSV cell, quoted when it holds a separator, a quote or a line break.
/// Shared by the export and the reconciliation report.
pub(crate) fn csv_cell(text: &str) -> String {
    if text.contains([';', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}

fn time(t: Option<DateTime<Utc>>) -> String {
    t.map(|t| t.to_rfc3339_opts(SecondsFormat::Millis, true))
        .unwrap_or_default()
}

/// Payments and their refunds created in `[from, to)`, oldest first, as CSV text.
pub async fn export(
    store: &Store,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<String, StoreError> {
    let mut payments = store
        .list_payments(&PaymentFilter {
            from: Some(from),
            to: Some(to),
            limit: i64::MAX,
            ..PaymentFilter::default()
        })
        .await?;
    payments.reverse();
    let mut out = String::from(HEADER);
    out.push('\n');
    for p in &payments {
        let row = [
            "payment".to_owned(),
            p.id.to_string(),
            p.id.to_string(),
            p.register_id.to_string(),
            p.order
                .as_ref()
                .map(|o| o.as_str().to_owned())
                .unwrap_or_default(),
            p.state.api_status().as_str().to_owned(),
            p.amount.get().to_string(),
            p.amount.to_rubles_fixed(),
            p.currency.code().to_owned(),
            p.provider.to_string(),
            p.qr.as_ref()
                .map(|(q, _)| q.to_string())
                .unwrap_or_default(),
            p.bank_transaction_id.clone().unwrap_or_default(),
            p.late.to_string(),
            p.late_action.clone().unwrap_or_default(),
            p.description.clone().unwrap_or_default(),
            time(Some(p.created_at)),
            time(p.paid_at),
        ];
        out.push_str(
            &row.iter()
                .map(|c| csv_cell(c))
                .collect::<Vec<_>>()
                .join(";"),
        );
        out.push('\n');
    }
    for r in store.refunds_between(from, to).await? {
        let payment = payments.iter().find(|p| p.id == r.payment_id);
        let row = [
            "refund".to_owned(),
            r.id.to_string(),
            r.payment_id.to_string(),
            r.register_id.to_string(),
            payment
                .and_then(|p| p.order.as_ref())
                .map(|o| o.as_str().to_owned())
                .unwrap_or_default(),
            r.state.api_status().to_owned(),
            r.amount.get().to_string(),
            r.amount.to_rubles_fixed(),
            "RUB".to_owned(),
            payment.map(|p| p.provider.to_string()).unwrap_or_default(),
            payment
                .and_then(|p| p.qr.as_ref())
                .map(|(q, _)| q.to_string())
                .unwrap_or_default(),
            payment
                .and_then(|p| p.bank_transaction_id.clone())
                .unwrap_or_default(),
            String::new(),
            if r.automatic {
                "automatic".to_owned()
            } else {
                String::new()
            },
            r.reason.clone().unwrap_or_default(),
            time(Some(r.created_at)),
            time(r.finished_at),
        ];
        out.push_str(
            &row.iter()
                .map(|c| csv_cell(c))
                .collect::<Vec<_>>()
                .join(";"),
        );
        out.push('\n');
    }
    Ok(out)
}
