//! Bank notifications as they arrive at `POST /v1/callbacks/{provider}`: verification and
//! parsing by each bank's adapter (`BankAdapter::parse_callback`).
//!
//! Input: the notification body. Each input is tried unsigned (a wrong and a missing
//! signature) and signed by this harness, which computes the signature from the body with its
//! own implementation of the bank's published rule, so mutated bodies get past the check and
//! into the parsing behind it.
//!
//! Oracles: an unsigned notification is never accepted; a signed one is never refused as
//! unsigned; an accepted one names as its payment exactly the order that was signed.

use std::sync::{Arc, LazyLock};
use std::time::Duration;

use qrpayd_bank::{BankAdapter, BankKind, CallbackError, CallbackNotice};
use qrpayd_domain::secret::Secret;
use reqwest::header::{HeaderMap, HeaderValue};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::Target;

use super::{MERCHANT, SECRET, TERMINAL};

/// T-Bank's documented example password, so the spec's signed examples verify.
const PASSWORD: &str = "usaf8fw8fsw21g";

/// Raiffeisen's SBP payment and order notifications (`X-Api-Signature-SHA256`).
pub(super) const RAIFFEISEN: Target = Target {
    name: "raiffeisen_notification",
    run: raiffeisen,
    max_len: 4096,
    dictionary: &[
        "\"amount\":",
        "\"sbpMerchantId\":",
        "\"MA0000000552\"",
        "\"order\":",
        "\"paymentStatus\":",
        "\"SUCCESS\"",
        "\"DECLINED\"",
        "\"NO_INFO\"",
        "\"IN_PROGRESS\"",
        "\"transactionDate\":",
        "\"qrId\":",
        "\"transactionId\":",
        "\"transaction\":",
        "\"orderId\":",
        "\"status\":",
        "\"value\":",
        "\"date\":",
        "\"PAID\"",
        "\"NOT_FOUND\"",
        "null",
        "{",
        "}",
        "[",
        "]",
    ],
};

/// T-Bank's notifications (`Token` in the body).
pub(super) const TBANK: Target = Target {
    name: "tbank_notification",
    run: tbank,
    max_len: 4096,
    dictionary: &[
        "\"TerminalKey\":",
        "\"TinkoffBankTest\"",
        "\"OrderId\":",
        "\"Success\":",
        "\"Status\":",
        "\"CONFIRMED\"",
        "\"AUTHORIZED\"",
        "\"REJECTED\"",
        "\"REFUNDED\"",
        "\"PARTIAL_REFUNDED\"",
        "\"RECEIPT\"",
        "\"CANCELED\"",
        "\"PaymentId\":",
        "\"ErrorCode\":",
        "\"Amount\":",
        "\"Token\":",
        "\"Pan\":",
        "\"Data\":",
        "true",
        "false",
        "null",
        "{",
        "}",
        "[",
        "]",
    ],
};

fn adapter(kind: &str, fields: Value) -> Option<Arc<dyn BankAdapter>> {
    BankKind::parse(kind, fields)
        .ok()?
        .build(
            Duration::from_secs(1),
            Arc::new(qrpayd_bank::clock::SystemClock),
        )
        .ok()
}

static RAIFFEISEN_BANK: LazyLock<Option<Arc<dyn BankAdapter>>> = LazyLock::new(|| {
    adapter(
        "raiffeisen",
        serde_json::json!({
            "base_url": "http://127.0.0.1:9",
            "sbp_merchant_id": MERCHANT,
            "secret_key": SECRET,
        }),
    )
});

static TBANK_BANK: LazyLock<Option<Arc<dyn BankAdapter>>> = LazyLock::new(|| {
    adapter(
        "tbank",
        serde_json::json!({
            "base_url": "http://127.0.0.1:9",
            "terminal_key": TERMINAL,
            "password": PASSWORD,
        }),
    )
});

fn signature_header(value: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    if let Ok(value) = HeaderValue::from_str(value) {
        headers.insert("x-api-signature-sha256", value);
    }
    headers
}

/// The fields Raiffeisen signs, as text, read from a body the way the bank writes them.
#[derive(Deserialize)]
struct PaymentNotice<'a> {
    #[serde(borrow)]
    amount: &'a RawValue,
    #[serde(rename = "sbpMerchantId")]
    merchant: String,
    order: Option<String>,
    #[serde(rename = "paymentStatus")]
    status: String,
    #[serde(rename = "transactionDate")]
    date: String,
}

#[derive(Deserialize)]
struct OrderNotice<'a> {
    #[serde(borrow)]
    transaction: OrderTransaction<'a>,
}

#[derive(Deserialize)]
struct OrderTransaction<'a> {
    #[serde(borrow)]
    amount: &'a RawValue,
    #[serde(rename = "orderId")]
    order_id: String,
    status: OrderStatus,
}

#[derive(Deserialize)]
struct OrderStatus {
    value: String,
    date: Option<String>,
}

/// `(signature, signed order)` of a body, computed here from the spec's rule (HMAC-SHA256 of
/// `amount|merchant|order|status|date`), or `None` when the body lacks a signed field.
fn raiffeisen_signature(body: &[u8]) -> Option<(String, String)> {
    let key = Secret::new(SECRET.to_owned());
    let probe: Map<String, Value> = serde_json::from_slice(body).ok()?;
    if probe.get("transaction").is_some_and(|t| !t.is_null()) {
        let notice: OrderNotice<'_> = serde_json::from_slice(body).ok()?;
        let t = notice.transaction;
        let signature = qrpayd_bank::raiffeisen::order_notification_signature(
            &key,
            t.amount.get(),
            MERCHANT,
            &t.order_id,
            &t.status.value,
            t.status.date.as_deref()?,
        );
        Some((signature, t.order_id))
    } else {
        let notice: PaymentNotice<'_> = serde_json::from_slice(body).ok()?;
        let order = notice.order.unwrap_or_default();
        let signature = qrpayd_bank::raiffeisen::notification_signature(
            &key,
            notice.amount.get(),
            &notice.merchant,
            &order,
            &notice.status,
            &notice.date,
        );
        Some((signature, order))
    }
}

fn raiffeisen(body: &[u8]) -> Result<String, String> {
    let bank = RAIFFEISEN_BANK
        .as_ref()
        .ok_or("cannot build the Raiffeisen adapter")?;
    for headers in [signature_header(&"0".repeat(64)), HeaderMap::new()] {
        if let Ok(notice) = bank.parse_callback(&headers, body) {
            return Err(format!("accepted without the bank's signature: {notice:?}"));
        }
    }
    let Some((signature, order)) = raiffeisen_signature(body) else {
        let result = bank.parse_callback(&signature_header("00"), body);
        return Ok(format!("unsignable {}", kind_of(&result)));
    };
    let result = bank.parse_callback(&signature_header(&signature), body);
    match &result {
        Err(CallbackError::BadSignature) => {
            return Err("refused a notification signed by the spec's rule as unsigned".into());
        }
        Ok(notice) => {
            if let Some(named) = &notice.order
                && *named != order
            {
                return Err(format!("signed order {order:?}, yet it names {named:?}"));
            }
        }
        Err(CallbackError::Malformed(_)) => {}
    }
    Ok(format!("signed {}", kind_of(&result)))
}

/// A notification's outcome in a few words: accepted with which status, or refused why (the
/// first words of the reason; the rest quotes the input).
fn kind_of(result: &Result<CallbackNotice, CallbackError>) -> String {
    match result {
        Ok(notice) => format!(
            "ok order={} amount={} status={:?}",
            notice.order.is_some(),
            notice.amount.is_some(),
            notice
                .status
                .as_ref()
                .map(|s| format!("{s:?}").chars().take(12).collect::<String>())
        ),
        Err(CallbackError::BadSignature) => "bad signature".into(),
        Err(CallbackError::Malformed(why)) => {
            let words: Vec<&str> = why.split_whitespace().take(3).collect();
            format!("malformed {}", words.join(" "))
        }
    }
}

/// T-Bank's `Token` of a notification's fields, computed here from the published rule:
/// root-level scalars except `Token`, plus `Password`, sorted by key, values concatenated,
/// SHA-256 hex.
fn tbank_token(fields: &Map<String, Value>) -> String {
    let mut pairs: Vec<(String, String)> = fields
        .iter()
        .filter(|(key, _)| key.as_str() != "Token")
        .filter_map(|(key, value)| {
            let text = match value {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                Value::Bool(b) => b.to_string(),
                Value::Null | Value::Array(_) | Value::Object(_) => return None,
            };
            Some((key.clone(), text))
        })
        .collect();
    pairs.push(("Password".into(), PASSWORD.into()));
    pairs.sort();
    let mut hasher = Sha256::new();
    for (_, value) in &pairs {
        hasher.update(value.as_bytes());
    }
    hex::encode(hasher.finalize())
}

fn tbank(body: &[u8]) -> Result<String, String> {
    let bank = TBANK_BANK
        .as_ref()
        .ok_or("cannot build the T-Bank adapter")?;
    let as_sent = bank.parse_callback(&HeaderMap::new(), body);
    let fields: Option<Map<String, Value>> = serde_json::from_slice(body).ok();
    if let Ok(notice) = &as_sent
        && fields.as_ref().and_then(|f| f.get("Token")).is_none()
    {
        return Err(format!("accepted without a Token: {notice:?}"));
    }
    let Some(mut fields) = fields else {
        return Ok(format!("unsignable {}", kind_of(&as_sent)));
    };
    fields.insert("Token".into(), Value::String("0".repeat(64)));
    let forged = serde_json::to_vec(&fields).map_err(|e| e.to_string())?;
    if let Ok(notice) = bank.parse_callback(&HeaderMap::new(), &forged) {
        return Err(format!("accepted with a wrong Token: {notice:?}"));
    }
    let token = tbank_token(&fields);
    fields.insert("Token".into(), Value::String(token));
    let signed = serde_json::to_vec(&fields).map_err(|e| e.to_string())?;
    let result = bank.parse_callback(&HeaderMap::new(), &signed);
    match &result {
        Err(CallbackError::BadSignature) => {
            return Err(format!(
                "refused a notification signed by the published rule: {}",
                String::from_utf8_lossy(&signed)
            ));
        }
        Ok(notice) => {
            let order = fields.get("OrderId").and_then(Value::as_str);
            if let Some(named) = &notice.order
                && Some(named.as_str()) != order
            {
                return Err(format!("signed OrderId {order:?}, yet it names {named:?}"));
            }
        }
        Err(CallbackError::Malformed(_)) => {}
    }
    Ok(format!("signed {}", kind_of(&result)))
}
