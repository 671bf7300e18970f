//! Sber's registry of operations (`POST /qr/order/v3/registry`, `registryType: REGISTRY`),
//! read into the generic [`Registry`]. The bank answers JSON, not a file: an operator saves the
//! answer for a period and gives it to `qrpayd reconcile`.
//!
//! Each order (`orderParam`) lists its successful operations (`orderOperationParam`, "only
//! successful operations"); each operation is one row: `PAY` a payment, `REFUND`/`REVERSE` a
//! refund, the SBP's technical types (`SBP_PAY_ACKNOWL`, …) other rows. The row's order is
//! our `partnerOrderNumber` (the payment id) and its QR id the bank's `orderId` (the payment's
//! QR id in qrpayd). Sber's refunds carry no id of ours, so refund rows have none.
//!
//! Times: the spec's sample registry writes `operationDateTime` three hours after the
//! `orderCreateDate` the partner sent, both with `Z`; the operations are read as Moscow time
//! (our reading of the sample, BANK-ASSUMPTIONS.md). The answer does not repeat the period
//! asked for, so the registry's date is the Moscow day of its operations when they all fall
//! on one day.

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use qrpayd_domain::money::Kopecks;
use qrpayd_domain::moscow;
use serde::Deserialize;

use super::wire::{RUB, SUCCESS, kopecks_field};
use crate::registry::{Registry, RegistryKind, RegistryRow};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Answer {
    error_code: Option<String>,
    #[serde(default)]
    error_description: Option<String>,
    #[serde(default)]
    tid: Option<String>,
    #[serde(rename = "idQR", default)]
    id_qr: Option<String>,
    #[serde(default)]
    registry_data: Option<RegistryData>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RegistryData {
    #[serde(default)]
    order_params: Option<OrderParams>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct OrderParams {
    #[serde(default)]
    order_param: Vec<Order>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Order {
    order_id: String,
    partner_order_number: String,
    #[serde(default)]
    currency: Option<String>,
    #[serde(default)]
    order_operation_params: Option<Operations>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Operations {
    #[serde(default)]
    order_operation_param: Vec<Operation>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Operation {
    operation_id: String,
    operation_date_time: String,
    operation_type: String,
    #[serde(deserialize_with = "kopecks_field")]
    operation_sum: Option<i64>,
    #[serde(default)]
    operation_currency: Option<String>,
    #[serde(default)]
    response_desc: Option<String>,
    #[serde(default)]
    sbp_operation_params: Option<SbpParams>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SbpParams {
    #[serde(default)]
    sbp_operation_id: Option<String>,
    #[serde(default)]
    sbp_payer_id: Option<String>,
}

/// `operationDateTime` (Moscow time written with `Z`) as UTC.
fn moscow_time(text: &str) -> Result<DateTime<Utc>, String> {
    let naive = NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%SZ")
        .map_err(|e| format!("operationDateTime {text:?}: {e}"))?;
    moscow::offset()
        .from_local_datetime(&naive)
        .single()
        .map(|t| t.to_utc())
        .ok_or_else(|| format!("operationDateTime {text:?} is not a time"))
}

/// Reads a saved `/qr/order/v3/registry` answer of type `REGISTRY`.
pub fn parse(bytes: &[u8]) -> Result<Registry, String> {
    let answer: Answer = serde_json::from_slice(bytes)
        .map_err(|e| format!("not a Sber registry answer (JSON of /qr/order/v3/registry): {e}"))?;
    match answer.error_code.as_deref() {
        Some(SUCCESS) => {}
        other => {
            return Err(format!(
                "the registry answer is an error: {} {}",
                other.unwrap_or("(no errorCode)"),
                answer.error_description.unwrap_or_default()
            ));
        }
    }
    let merchant = answer.tid.clone().unwrap_or_default();
    let orders = answer
        .registry_data
        .and_then(|d| d.order_params)
        .map(|p| p.order_param)
        .unwrap_or_default();
    let mut rows = Vec::new();
    for order in orders {
        if order.currency.as_deref().is_some_and(|c| c != RUB) {
            return Err(format!(
                "order {}: currency {:?}",
                order.order_id, order.currency
            ));
        }
        for op in order
            .order_operation_params
            .map(|o| o.order_operation_param)
            .unwrap_or_default()
        {
            if op.operation_currency.as_deref().is_some_and(|c| c != RUB) {
                return Err(format!(
                    "operation {}: currency {:?}",
                    op.operation_id, op.operation_currency
                ));
            }
            let amount = op
                .operation_sum
                .ok_or_else(|| format!("operation {} without operationSum", op.operation_id))
                .and_then(|sum| {
                    Kopecks::new(sum).map_err(|e| format!("operation {}: {e}", op.operation_id))
                })?;
            let kind = match op.operation_type.as_str() {
                "PAY" => RegistryKind::Payment,
                "REFUND" | "REVERSE" => RegistryKind::Refund,
                other => RegistryKind::Other(other.to_owned()),
            };
            let sbp = op.sbp_operation_params.as_ref();
            rows.push(RegistryRow {
                line: rows.len().saturating_add(1),
                merchant: merchant.clone(),
                at: moscow_time(&op.operation_date_time)?,
                kind,
                order: order.partner_order_number.clone(),
                refund_id: None,
                comment: op.response_desc.clone().unwrap_or_default(),
                method: "Sber QR (SBP)".to_owned(),
                qr_id: Some(order.order_id.clone()),
                payer: sbp.and_then(|s| s.sbp_payer_id.clone()).unwrap_or_default(),
                amount,
                fee: Kopecks::ZERO,
                extra: match sbp.and_then(|s| s.sbp_operation_id.as_deref()) {
                    Some(sbp_id) => {
                        format!("operationId {}; sbpOperationId {sbp_id}", op.operation_id)
                    }
                    None => format!("operationId {}", op.operation_id),
                },
            });
        }
    }
    let mut days = rows.iter().map(|r| moscow::date(r.at));
    let date = days.next().filter(|first| days.all(|d| d == *first));
    Ok(Registry {
        title: format!(
            "Sber QR registry, tid {}, idQR {}",
            answer.tid.unwrap_or_default(),
            answer.id_qr.unwrap_or_default()
        ),
        date,
        rows,
        total_amount: None,
        total_fee: None,
    })
}
