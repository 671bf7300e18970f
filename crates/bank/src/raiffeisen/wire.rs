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

/// `GET /api/sbp/v2/qrs/{qrId}` answer (spec schema `qrInfov2`: no `code`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct QrInfo {
    /// The QR asked about.
    pub(super) qr_id: String,
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

/// `POST /api/settings/v1/callback` answer (spec schema `callbackSettings`: no `code`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct CallbackSettingsAnswer {
    /// The URL the bank will notify.
    pub(super) callback_url: String,
}

/// A payment notification (spec `paymentNotification`): only the signed fields. `qrId`,
/// `transactionId`, `currency` and the rest are not signed and are not read.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct PaymentNotification {
    /// Our merchant id; part of the signed text.
    pub(super) sbp_merchant_id: String,
    /// Rubles, as the bank wrote them; the signed text uses this.
    pub(super) amount: Box<RawValue>,
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

/// `POST /api/sbp/v2/qrs` body for a cash-register link (SDK `model/out/QRVariable.java`):
/// no order, no amount.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct RegisterVariable<'a> {
    /// `QRVariable`.
    pub(super) qr_type: &'static str,
    /// Our merchant id at the bank.
    pub(super) sbp_merchant_id: &'a str,
}

/// `POST /api/payment/v1/orders` body: activates a cash-register link (BANKS.md §1.6).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct CreateOrder<'a> {
    /// Rubles, e.g. `123.45`.
    pub(super) amount: Box<RawValue>,
    /// The order id: our payment id.
    pub(super) id: &'a str,
    /// Free text for the merchant's records.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) comment: Option<&'a str>,
    /// When the activation ends unpaid, ISO 8601 with offset.
    pub(super) expiration_date: String,
    /// The link to activate.
    pub(super) qr: OrderQrRef<'a>,
}

/// `qr` of [`CreateOrder`].
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct OrderQrRef<'a> {
    /// The link's QR id.
    pub(super) id: &'a str,
    /// Payment purpose shown in the customer's bank app.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) payment_details: Option<&'a str>,
}

/// An order (`POST /api/payment/v1/orders`, `GET /api/payment/v1/orders/{id}`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Order {
    /// The order id (our payment id).
    pub(super) id: String,
    /// Rubles.
    pub(super) amount: Option<Box<RawValue>>,
    /// `{value: NEW|PAID|CANCELLED|EXPIRED, date}`.
    pub(super) status: OrderStatus,
    /// The activated link.
    pub(super) qr: Option<OrderQr>,
}

/// An order's (or order transaction's) status.
#[derive(Debug, Deserialize)]
pub(super) struct OrderStatus {
    /// `NEW`, `PAID`, `CANCELLED`, `EXPIRED` (orders); `SUCCESS`, … (transactions).
    pub(super) value: String,
    /// When it took this value; signed verbatim in order notifications.
    pub(super) date: Option<String>,
}

/// `qr` of an [`Order`].
#[derive(Debug, Deserialize)]
pub(super) struct OrderQr {
    /// The link's QR id.
    pub(super) id: Option<String>,
}

/// `POST /api/payments/v1/orders/{orderId}/refunds/{refundId}` body.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct OrderRefundRequest<'a> {
    /// Rubles to give back.
    pub(super) amount: Box<RawValue>,
    /// Statement text (≤ 140).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) payment_details: Option<&'a str>,
}

/// Just enough of a notification to tell its kind: order notifications carry `transaction`.
#[derive(Debug, Deserialize)]
pub(super) struct NotificationProbe {
    /// Present in order notifications (§1.7b) only.
    pub(super) transaction: Option<serde::de::IgnoredAny>,
}

/// An order notification (BANKS.md §1.7b, `ecom_en.yaml` `paymentsNotification`).
#[derive(Debug, Deserialize)]
pub(super) struct OrderNotification {
    /// The transaction that changed.
    pub(super) transaction: OrderTransaction,
}

/// `transaction` of an [`OrderNotification`]: only the signed fields (`id` and
/// `paymentParams` are not signed and are not read).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct OrderTransaction {
    /// The order id (our payment id); signed.
    pub(super) order_id: String,
    /// `{value, date}`; both signed, the date verbatim.
    pub(super) status: OrderStatus,
    /// Rubles as the bank wrote them; signed.
    pub(super) amount: Box<RawValue>,
}
