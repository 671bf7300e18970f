//! T-Bank internet-acquiring JSON shapes (BANKS.md §3.3), in the bank's own field names
//! (PascalCase on the wire, `DATA` and `NotificationURL` as spelled by the bank).
//!
//! Amounts are integer kopecks on this wire. Requests are serialized into a JSON object first
//! so the `Token` can be computed over their root-level scalars (see `token`).

use serde::{Deserialize, Deserializer, Serialize};

/// `POST /v2/Init`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct Init<'a> {
    /// The terminal.
    pub(super) terminal_key: &'a str,
    /// Kopecks.
    pub(super) amount: i64,
    /// Our payment id (≤ 36 characters).
    pub(super) order_id: &'a str,
    /// Shown to the customer (≤ 140 characters).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) description: Option<String>,
    /// When the payment stops being payable: `YYYY-MM-DDTHH:MM:SS+03:00`.
    pub(super) redirect_due_date: String,
    /// Where notifications about this payment go.
    #[serde(rename = "NotificationURL", skip_serializing_if = "Option::is_none")]
    pub(super) notification_url: Option<String>,
}

/// `POST /v2/GetQr`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct GetQr<'a> {
    /// The terminal.
    pub(super) terminal_key: &'a str,
    /// T-Bank's payment id (from `Init`).
    pub(super) payment_id: &'a str,
    /// `PAYLOAD`: the NSPK link as text (`IMAGE` would be an SVG).
    pub(super) data_type: &'static str,
}

/// `POST /v2/GetState`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct GetState<'a> {
    /// The terminal.
    pub(super) terminal_key: &'a str,
    /// T-Bank's payment id.
    pub(super) payment_id: &'a str,
}

/// `POST /v2/Cancel`: cancels an unpaid payment, or refunds (part of) a paid one.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct Cancel<'a> {
    /// The terminal.
    pub(super) terminal_key: &'a str,
    /// T-Bank's payment id.
    pub(super) payment_id: &'a str,
    /// Kopecks to refund; absent = all (and ignored for an unpaid payment). No
    /// `ExternalRequestId`: the spec says it does not work for SBP operations.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) amount: Option<i64>,
}

/// `POST /v2/GetQrState`: the payment's status and its latest SBP refund (amount and the SBP
/// error code, if it failed). It names no refund.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct GetQrState<'a> {
    /// The terminal.
    pub(super) terminal_key: &'a str,
    /// T-Bank's payment id.
    pub(super) payment_id: &'a str,
}

/// `PaymentId` comes as a string in answers and as a number in notifications.
pub(super) fn flexible_id<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Id {
        Text(String),
        Number(u64),
    }
    Ok(Option::<Id>::deserialize(d)?.map(|id| match id {
        Id::Text(text) => text,
        Id::Number(number) => number.to_string(),
    }))
}

/// What every answer carries.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct Common {
    /// `true` on success.
    #[serde(default)]
    pub(super) success: bool,
    /// `"0"` on success.
    #[serde(default)]
    pub(super) error_code: Option<String>,
    /// Short error text.
    #[serde(default)]
    pub(super) message: Option<String>,
    /// Longer error text.
    #[serde(default)]
    pub(super) details: Option<String>,
    /// The terminal the answer is for.
    #[serde(default)]
    pub(super) terminal_key: Option<String>,
}

/// The payment fields of `Init`, `GetQr`, `GetState` and `Cancel` answers.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct PaymentAnswer {
    /// T-Bank's payment id.
    #[serde(default, deserialize_with = "flexible_id")]
    pub(super) payment_id: Option<String>,
    /// Our payment id.
    #[serde(default)]
    pub(super) order_id: Option<String>,
    /// Kopecks.
    #[serde(default)]
    pub(super) amount: Option<i64>,
    /// The payment's status.
    #[serde(default)]
    pub(super) status: Option<String>,
    /// `GetQr`: the NSPK link.
    #[serde(default)]
    pub(super) data: Option<String>,
    /// `Cancel`: kopecks before the operation.
    #[serde(default)]
    pub(super) original_amount: Option<i64>,
    /// `Cancel`: kopecks after the operation.
    #[serde(default)]
    pub(super) new_amount: Option<i64>,
    /// `GetQrState`: the SBP error code of a refund that failed (e.g. `I05043`).
    #[serde(default)]
    pub(super) qr_cancel_code: Option<String>,
    /// `GetQrState`: its text.
    #[serde(default)]
    pub(super) qr_cancel_message: Option<String>,
}

/// A notification, after its `Token` was verified (every root-level scalar is signed).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct Notification {
    /// The terminal.
    pub(super) terminal_key: String,
    /// Our payment id.
    pub(super) order_id: String,
    /// T-Bank's payment id (a number here).
    #[serde(deserialize_with = "flexible_id")]
    pub(super) payment_id: Option<String>,
    /// The payment's status (`RECEIPT` for a fiscal receipt notice).
    pub(super) status: String,
    /// Kopecks.
    #[serde(default)]
    pub(super) amount: Option<i64>,
}
