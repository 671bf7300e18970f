//! The wire contract registers and event consumers read: the payment and refund objects of the
//! POS API, the event envelope with its snapshots (the `/v1/events` feed and the broker's
//! messages) and what a customer display is sent. Plain serde structs with utoipa schemas: qrpayd's OpenAPI document
//! (`crates/service/src/api/openapi.json`) is derived from these types, so the document and
//! the answers cannot drift apart.
//!
//! No IO here: the store builds the event snapshots from its records, the service the API
//! objects. Timestamps are RFC 3339 text in UTC with milliseconds ([`wire_time`]).
//!
//! The shapes are a contract with register software: add fields, never rename or remove.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::money::{Currency, Kopecks};
use crate::payment::ApiStatus;
use crate::refund::RefundState;

/// A time as the wire writes it: RFC 3339, UTC, milliseconds (`2025-03-14T09:26:53.589Z`).
pub fn wire_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// A payment as registers see it. Every field is always present; absent values are `null`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = Payment)]
#[serde(deny_unknown_fields)]
pub struct PaymentView {
    /// qrpayd's payment id: `pay_` and 32 hex digits of a UUIDv7 (ids sort by creation time).
    /// Also the `order` qrpayd sends to the bank.
    #[schema(
        pattern = "^[A-Za-z0-9_.-]{1,40}$",
        examples("pay_0190a1b2c3d47e5f8a6b7c8d9e0f1a2b")
    )]
    pub id: String,
    /// Where the payment is.
    pub status: ApiStatus,
    /// The bill in kopecks (12345 = 123.45 RUB).
    #[schema(value_type = i64, format = Int64, minimum = 1, examples(12345))]
    pub amount: Kopecks,
    /// ISO 4217 code; always `RUB`.
    pub currency: Currency,
    /// The provider ("payment module", a configured bank) that issued the QR.
    #[schema(examples("raiffeisen"))]
    pub provider: String,
    /// The register's sale receipt reference, as sent; null when none was sent.
    #[schema(required = true, max_length = 64)]
    pub order: Option<String>,
    /// Payment purpose shown in the customer's bank app, as sent; null when none was sent.
    #[schema(required = true, max_length = 140)]
    pub description: Option<String>,
    /// How the customer got the QR: `dynamic` (a QR for this payment), `cash_register` (the
    /// register's printed link, activated with this amount; `qr` is the printed link),
    /// `customer` (the register scanned the customer's QR).
    pub qr_type: QrKind,
    /// The QR to show. Null while the bank is issuing it and when it could not be issued
    /// (`failed`).
    #[schema(required = true)]
    pub qr: Option<QrView>,
    /// True when the customer paid after qrpayd had already given up on the payment (it was
    /// `failed`, `expired` or `cancelled`); the payment is now `paid`, and `late_action` says
    /// what the late-payment policy did about it.
    pub late: bool,
    /// Only for a `late` payment (null otherwise): what the configuration's
    /// `late_payment_policy` did when the money arrived. `refund`: qrpayd refunded the whole
    /// amount automatically (the refund with `automatic: true` in `refunds`; if it `failed`, a
    /// person must act). `flag`: nothing was refunded; a person completes the sale or refunds
    /// the payment.
    #[schema(required = true)]
    pub late_action: Option<LateAction>,
    /// Why the payment failed; null otherwise. Kept when a failed payment later becomes `paid`
    /// (late). Codes: `bank_timeout`, `bank_unavailable`, `bank_rejected`,
    /// `bank_protocol_error` (no QR issued), `creation_interrupted` (qrpayd stopped while the
    /// QR was being issued; none was shown) or `declined` (the bank declined the payment).
    #[schema(required = true)]
    pub failure: Option<Failure>,
    /// Kopecks refunded so far: the sum of the `succeeded` refunds (a `pending` refund is not
    /// counted yet, although it already reserves its amount). 0 when nothing was refunded.
    #[schema(value_type = i64, format = Int64, minimum = 0, examples(5000))]
    pub refunded_amount: Kopecks,
    /// The payment's refunds, oldest first, whatever their status (`pending`, `succeeded`,
    /// `failed`), including the late-payment policy's automatic refund. Empty when there are
    /// none.
    pub refunds: Vec<RefundView>,
    /// When qrpayd saved the payment.
    #[schema(format = DateTime)]
    pub created_at: String,
    /// When the QR stops being payable (`created_at` + `payment_ttl_seconds`); an unpaid
    /// payment then becomes `expired`.
    #[schema(format = DateTime)]
    pub expires_at: String,
    /// Last change of the payment's own fields (a refund has its own `updated_at` and does not
    /// change this).
    #[schema(format = DateTime)]
    pub updated_at: String,
    /// When qrpayd learned the payment was paid; null unless `paid`.
    #[schema(required = true, format = DateTime)]
    pub paid_at: Option<String>,
}

/// How the customer gets the QR.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum QrKind {
    /// A QR made for this payment.
    Dynamic,
    /// The register's printed cash-register link, activated with the amount.
    CashRegister,
    /// The customer's own QR, scanned by the register.
    Customer,
}

/// What the late-payment policy did with a late payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LateAction {
    /// Refunded automatically.
    Refund,
    /// Flagged for a person.
    Flag,
}

impl LateAction {
    /// From the journal's text (`refund`, `flag`).
    pub fn parse(text: &str) -> Option<LateAction> {
        match text {
            "refund" => Some(LateAction::Refund),
            "flag" => Some(LateAction::Flag),
            _ => None,
        }
    }
}

/// The QR to show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QrView {
    /// The NSPK link to encode as the QR image (or open on the same phone):
    /// `https://qr.nspk.ru/<qr id>?type=02&bank=...&sum=<kopecks>&cur=RUB&crc=...`.
    #[schema(
        format = "uri",
        examples(
            "https://qr.nspk.ru/AD1KSE14O9EAV3ENU6H1DQUO93FCMAE1?type=02&bank=100000000007&sum=12345&cur=RUB&crc=A667"
        )
    )]
    pub payload: String,
    /// The bank's / NSPK's id of the QR.
    #[schema(examples("AD1KSE14O9EAV3ENU6H1DQUO93FCMAE1"))]
    pub qr_id: String,
}

/// Why a payment or refund failed: a stable code and human-readable detail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Failure {
    /// The stable code (`declined`, `bank_rejected`, …).
    #[schema(examples("declined"))]
    pub code: String,
    /// Human-readable detail.
    pub message: String,
}

/// `pending` is the only non-final status: saved and sent to the bank (or being asked about
/// again after a timeout), the bank has not finished it. `succeeded`: the money went back to
/// the customer. `failed`: the bank refused or declined it; nothing was refunded and the amount
/// is free to refund again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RefundStatus {
    /// Not final yet.
    Pending,
    /// The money went back.
    Succeeded,
    /// Refused or declined; nothing was refunded.
    Failed,
}

impl From<RefundState> for RefundStatus {
    fn from(state: RefundState) -> RefundStatus {
        match state {
            RefundState::Requested | RefundState::Pending => RefundStatus::Pending,
            RefundState::Succeeded => RefundStatus::Succeeded,
            RefundState::Failed => RefundStatus::Failed,
        }
    }
}

/// A refund of (part of) a paid payment, asked by a register or made automatically by the
/// late-payment policy. Every field is always present; absent values are `null`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = Refund)]
#[serde(deny_unknown_fields)]
pub struct RefundView {
    /// qrpayd's refund id: `rf_` and 32 hex digits of a UUIDv7. Also the `refundId` qrpayd
    /// sends to the bank, so a retry asks about (or re-sends) the same refund and the bank
    /// cannot refund twice.
    #[schema(
        pattern = "^rf_[0-9a-f]{32}$",
        examples("rf_0190a1f0a8b27c3d9e4f5a6b7c8d9e0f")
    )]
    pub id: String,
    /// The refunded payment's `id`.
    #[schema(examples("pay_0190a1b2c3d47e5f8a6b7c8d9e0f1a2b"))]
    pub payment_id: String,
    /// Kopecks given back (5000 = 50.00 RUB).
    #[schema(value_type = i64, format = Int64, minimum = 1, examples(5000))]
    pub amount: Kopecks,
    /// Where the refund is.
    pub status: RefundStatus,
    /// The register's `reason`, as sent (null when none was sent); for an automatic refund
    /// `automatic refund: the customer paid after the payment was closed`.
    #[schema(required = true, max_length = 140)]
    pub reason: Option<String>,
    /// True for the refund qrpayd made itself under `late_payment_policy = "refund"` (the
    /// whole amount of a late payment); false for a register's refund.
    pub automatic: bool,
    /// Why the bank refused the refund (code `bank_rejected`, the bank's code and text in
    /// `message`); null otherwise, including a refund the bank declined later (then only
    /// `status` is `failed`).
    #[schema(required = true)]
    pub failure: Option<Failure>,
    /// When qrpayd saved the refund (before asking the bank).
    #[schema(format = DateTime)]
    pub created_at: String,
    /// Last change of the refund.
    #[schema(format = DateTime)]
    pub updated_at: String,
    /// When the refund became final (`succeeded` or `failed`); null while `pending`.
    #[schema(required = true, format = DateTime)]
    pub finished_at: Option<String>,
}

/// What an event says happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum EventType {
    /// A payment's QR was issued (or the payment failed before one was).
    #[serde(rename = "payment.created")]
    PaymentCreated,
    /// Paid.
    #[serde(rename = "payment.paid")]
    PaymentPaid,
    /// Failed.
    #[serde(rename = "payment.failed")]
    PaymentFailed,
    /// Expired.
    #[serde(rename = "payment.expired")]
    PaymentExpired,
    /// Cancelled.
    #[serde(rename = "payment.cancelled")]
    PaymentCancelled,
    /// A refund was saved.
    #[serde(rename = "refund.created")]
    RefundCreated,
    /// A refund succeeded.
    #[serde(rename = "refund.succeeded")]
    RefundSucceeded,
    /// A refund failed.
    #[serde(rename = "refund.failed")]
    RefundFailed,
}

impl EventType {
    /// Every event type.
    pub const ALL: [EventType; 8] = [
        EventType::PaymentCreated,
        EventType::PaymentPaid,
        EventType::PaymentFailed,
        EventType::PaymentExpired,
        EventType::PaymentCancelled,
        EventType::RefundCreated,
        EventType::RefundSucceeded,
        EventType::RefundFailed,
    ];

    /// From the wire text.
    pub fn parse(text: &str) -> Option<EventType> {
        EventType::ALL.into_iter().find(|t| t.as_str() == text)
    }

    /// The wire text (`payment.paid`, …), also the broker's routing key.
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::PaymentCreated => "payment.created",
            EventType::PaymentPaid => "payment.paid",
            EventType::PaymentFailed => "payment.failed",
            EventType::PaymentExpired => "payment.expired",
            EventType::PaymentCancelled => "payment.cancelled",
            EventType::RefundCreated => "refund.created",
            EventType::RefundSucceeded => "refund.succeeded",
            EventType::RefundFailed => "refund.failed",
        }
    }
}

/// One payment or refund change. `data` is a snapshot after the change: the payment for
/// `payment.*`, the refund for `refund.*`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Event {
    /// Unique (`ev_` + 32 hex digits); also the AMQP message-id. Drop duplicates by it.
    #[schema(examples("ev_0190a1b2c3d47e5f8a6b7c8d9e0f1a2c"))]
    pub event_id: String,
    /// What happened.
    #[serde(rename = "type")]
    pub kind: EventType,
    /// Position in the feed, in commit order.
    #[schema(format = Int64, examples(42))]
    pub seq: i64,
    /// When it happened.
    #[schema(format = DateTime)]
    pub at: String,
    /// The payment or refund after the change.
    pub data: EventData,
}

/// The snapshot an event carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum EventData {
    /// For `payment.*`.
    Payment(PaymentSnapshot),
    /// For `refund.*`.
    Refund(RefundSnapshot),
}

/// A payment in an event (`payment.*`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PaymentSnapshot {
    /// The payment's `id`.
    pub id: String,
    /// The register it belongs to.
    #[schema(examples("pos-1"))]
    pub register_id: String,
    /// Its status after the change.
    pub status: ApiStatus,
    /// The bill in kopecks.
    #[schema(value_type = i64, format = Int64, minimum = 1)]
    pub amount: Kopecks,
    /// Always `RUB`.
    pub currency: Currency,
    /// The provider.
    pub provider: String,
    /// The sale receipt reference, as sent.
    #[schema(required = true)]
    pub order: Option<String>,
    /// The QR's id, once issued.
    #[schema(required = true)]
    pub qr_id: Option<String>,
    /// The bank's transaction id, once paid.
    #[schema(required = true)]
    pub bank_transaction_id: Option<String>,
    /// Paid after qrpayd had closed or failed it.
    pub late: bool,
    /// What the late-payment policy did (only when `late`).
    #[schema(required = true)]
    pub late_action: Option<LateAction>,
    /// The failure's code, when failed.
    #[schema(required = true)]
    pub failure_code: Option<String>,
    /// When qrpayd saved the payment.
    #[schema(format = DateTime)]
    pub created_at: String,
    /// When qrpayd learned it was paid.
    #[schema(required = true, format = DateTime)]
    pub paid_at: Option<String>,
}

/// A refund in an event (`refund.*`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefundSnapshot {
    /// The refund's `id`.
    pub id: String,
    /// The refunded payment's `id`.
    pub payment_id: String,
    /// The register the payment belongs to.
    pub register_id: String,
    /// Its status after the change.
    pub status: RefundStatus,
    /// Kopecks.
    #[schema(value_type = i64, format = Int64, minimum = 1)]
    pub amount: Kopecks,
    /// Made by the late-payment policy.
    pub automatic: bool,
    /// The register's reason, as sent.
    #[schema(required = true)]
    pub reason: Option<String>,
    /// The failure's code, when failed.
    #[schema(required = true)]
    pub failure_code: Option<String>,
    /// When qrpayd saved the refund.
    #[schema(format = DateTime)]
    pub created_at: String,
    /// When it became final.
    #[schema(required = true, format = DateTime)]
    pub finished_at: Option<String>,
}

/// What a customer display shows, pushed as the `data` of each `state` event of
/// `GET /display/{register_id}/events`. Only the register's current payment, and only what
/// the customer sees: no payment id, receipt, description or refunds. `idle`: nothing to pay
/// (no payment, one whose QR is still being issued or was never issued, an outcome shown for
/// 10 s already, or a late payment). `pending`: the QR to show. `paid`, `cancelled`,
/// `expired`, `failed`: the outcome, shown for 10 seconds after the payment ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DisplayState {
    /// What the screen shows.
    pub status: DisplayStatus,
    /// Kopecks. Absent when `idle`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<i64>, format = Int64, minimum = 1)]
    pub amount: Option<Kopecks>,
    /// The amount in rubles as exact text with two decimals (`123.45`), for display. Absent
    /// when `idle`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^[0-9]+\\.[0-9]{2}$")]
    pub amount_rubles: Option<String>,
    /// Absent when `idle`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<Currency>,
    /// Only when `pending`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qr: Option<DisplayQr>,
    /// Only when `pending`: when the QR stops being payable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(format = DateTime)]
    pub expires_at: Option<String>,
    /// Only when `pending`: milliseconds left at the time of the event, by qrpayd's clock (a
    /// display counts down from it, so its own clock does not matter).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 0)]
    pub expires_in_ms: Option<u64>,
}

impl DisplayState {
    /// Nothing to pay.
    pub fn idle() -> DisplayState {
        DisplayState {
            status: DisplayStatus::Idle,
            amount: None,
            amount_rubles: None,
            currency: None,
            qr: None,
            expires_at: None,
            expires_in_ms: None,
        }
    }
}

/// The status a display shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DisplayStatus {
    /// Nothing to pay.
    Idle,
    /// The QR to show.
    Pending,
    /// Paid.
    Paid,
    /// Cancelled.
    Cancelled,
    /// Expired.
    Expired,
    /// Failed.
    Failed,
}

impl From<ApiStatus> for DisplayStatus {
    fn from(status: ApiStatus) -> DisplayStatus {
        match status {
            ApiStatus::Pending => DisplayStatus::Pending,
            ApiStatus::Paid => DisplayStatus::Paid,
            ApiStatus::Cancelled => DisplayStatus::Cancelled,
            ApiStatus::Expired => DisplayStatus::Expired,
            ApiStatus::Failed => DisplayStatus::Failed,
        }
    }
}

/// The QR a display shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DisplayQr {
    /// The NSPK link the QR encodes (the payment's `qr.payload`).
    pub payload: String,
    /// The QR as SVG (level M, 4-module quiet zone, one unit per module, no fixed size).
    pub svg: String,
}
