//! T-Bank internet-acquiring JSON shapes (BANKS.md §3.3), in the bank's own field names
//! (PascalCase on the wire, `DATA` and `NotificationURL` as spelled by the bank).
//!
//! Amounts are integer kopecks on this wire. Requests are serialized into a JSON object first
//! so the `Token` can be computed over their root-level scalars (see `token`).

use serde::{Deserialize, Deserializer, Serialize};

/// `DATA` of `Init`: `{"QR": "true"}` asks for an SBP (QR) payment.
#[derive(Debug, Serialize)]
pub(super) struct InitData {
    /// `"true"`.
    #[serde(rename = "QR")]
    pub(super) qr: &'static str,
}

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
    /// `{"QR": "true"}`.
    #[serde(rename = "DATA")]
    pub(super) data: InitData,
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
    /// Kopecks to refund; absent = all (and ignored for an unpaid payment).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) amount: Option<i64>,
    /// Our refund id: the operation's idempotency key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) external_request_id: Option<&'a str>,
}

/// `POST /v2/GetQrState`: the state of an SBP refund of a payment; `ExternalRequestId` names
/// which refund (see the module docs of `tbank` on why).
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct GetQrState<'a> {
    /// The terminal.
    pub(super) terminal_key: &'a str,
    /// T-Bank's payment id.
    pub(super) payment_id: &'a str,
    /// Our refund id.
    pub(super) external_request_id: &'a str,
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
    /// `Cancel` / `GetQrState`: the refund's id, as we sent it.
    #[serde(default)]
    pub(super) external_request_id: Option<String>,
}

/// A notification, after its `Token` was verified.
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
    /// The payment's status.
    pub(super) status: String,
    /// Kopecks.
    pub(super) amount: i64,
}
