//! Raiffeisen's JSON shapes, in the bank's own field names (camelCase on the wire).
//!
//! Amounts are rubles as JSON numbers; we carry them as raw JSON text
//! ([`serde_json::value::RawValue`]) and convert with exact integer arithmetic.

use qrpayd_domain::money::Kopecks;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::BankError;

/// Rubles as a raw JSON number, e.g. `123.45`.
pub(super) fn amount(kopecks: Kopecks) -> Result<Box<RawValue>, BankError> {
    RawValue::from_string(kopecks.to_rubles_text())
        .map_err(|e| BankError::Protocol(format!("amount encoding: {e}")))
}

/// The part every answer has: `code` (`SUCCESS` or an error code) and `message`.
#[derive(Debug, Deserialize)]
pub(super) struct Envelope {
    /// `SUCCESS`, or e.g. `ERROR.NOT_FOUND`.
    pub(super) code: Option<String>,
    /// Human-readable error text (Russian).
    pub(super) message: Option<String>,
}

/// `POST /api/sbp/v2/qrs` body (spec schema `QRDynamic`).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct RegisterQr<'a> {
    /// `QRDynamic`: one payment, fixed amount.
    pub(super) qr_type: &'static str,
    /// Our merchant id at the bank.
    pub(super) sbp_merchant_id: &'a str,
    /// Our payment id; the bank's records and refunds use it.
    pub(super) order: &'a str,
    /// Rubles, e.g. `123.45`.
    pub(super) amount: Box<RawValue>,
    /// `RUB`.
    pub(super) currency: &'a str,
    /// When the QR stops being payable, ISO 8601 with offset.
    pub(super) qr_expiration_date: String,
    /// Payment purpose shown in the customer's bank app (≤ 185 chars).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) payment_details: Option<&'a str>,
}

/// Answer to QR registration.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct RegisteredQr {
    /// The NSPK QR id.
    pub(super) qr_id: String,
    /// The NSPK link to show as a QR.
    pub(super) payload: String,
}

/// `GET /api/sbp/v2/qrs/{qrId}` answer.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct QrInfo {
    /// `NEW`, `IN_PROGRESS`, `PAID`, `CANCELLED`, `EXPIRED` (`INACTIVE` for drafts).
    pub(super) qr_status: String,
}

/// `GET /api/sbp/v1/qr/{qrId}/payment-info` answer.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct PaymentInfo {
    /// Rubles.
    pub(super) amount: Option<Box<RawValue>>,
    /// `RUB`.
    pub(super) currency: Option<String>,
    /// The `order` we registered the QR with (our payment id).
    pub(super) order: Option<String>,
    /// `NO_INFO`, `IN_PROGRESS`, `SUCCESS`, `DECLINED`.
    pub(super) payment_status: Option<String>,
    /// The QR id.
    pub(super) qr_id: Option<String>,
    /// The bank's operation id (an integer), present once paid.
    pub(super) transaction_id: Option<i64>,
}

/// `POST /api/settings/v1/callback` body.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct CallbackSettings<'a> {
    /// Where the bank should POST notifications.
    pub(super) callback_url: &'a str,
}

/// A payment notification (spec `paymentNotification`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct PaymentNotification {
    /// The bank's operation id.
    pub(super) transaction_id: Option<i64>,
    /// The QR that was paid.
    pub(super) qr_id: Option<String>,
    /// Our merchant id; part of the signed text.
    pub(super) sbp_merchant_id: String,
    /// Rubles, as the bank wrote them; the signed text uses this.
    pub(super) amount: Box<RawValue>,
    /// `RUB`.
    pub(super) currency: Option<String>,
    /// Used verbatim in the signed text (microseconds and offset as sent).
    pub(super) transaction_date: String,
    /// `SUCCESS` or `DECLINED`.
    pub(super) payment_status: String,
    /// Our payment id.
    pub(super) order: Option<String>,
}

/// `POST /api/sbp/v1/refund` body.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct RefundRequest<'a> {
    /// Rubles to give back.
    pub(super) amount: Box<RawValue>,
    /// The paid payment's `order` (our payment id).
    pub(super) order: &'a str,
    /// Our refund id (≤ 40): the bank's idempotency key for the refund.
    pub(super) refund_id: &'a str,
    /// The payment's transaction id (needed for static QRs; harmless for dynamic ones).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) transaction_id: Option<i64>,
    /// Statement text (≤ 140).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) payment_details: Option<&'a str>,
}

/// Answer to a refund request or a refund status query.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct RefundAnswer {
    /// Rubles.
    pub(super) amount: Option<Box<RawValue>>,
    /// `IN_PROGRESS`, `COMPLETED`, `DECLINED`.
    pub(super) refund_status: String,
}
