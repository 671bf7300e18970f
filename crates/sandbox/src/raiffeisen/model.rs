//! The Raiffeisen books' records: QRs with their payment attempts, refunds, cash-register
//! link activations (orders) and customer-presented QRs, with the small rules that belong to a
//! record alone (lazy expiry, status texts). The transitions that change them are in `state`,
//! `orders` and `customer`.

use chrono::{DateTime, FixedOffset, TimeDelta, Utc};
use qrpayd_domain::money::Kopecks;
use serde::{Deserialize, Serialize};

use crate::time::{expiration_text, micros_text};

/// Where `qrUrl` points. Nobody fetches it; the host is reserved and never resolves.
pub(crate) const QR_URL_BASE: &str = "http://sandbox.invalid";

/// `qrType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub(crate) enum QrType {
    /// One-time QR with a fixed amount.
    #[serde(rename = "QRDynamic")]
    Dynamic,
    /// Reusable QR, with or without a fixed amount.
    #[serde(rename = "QRStatic")]
    Static,
    /// A cash-register link: reusable, no amount of its own; each payment activates it with
    /// an order (`/api/payment/v1/orders`).
    #[serde(rename = "QRVariable")]
    Variable,
}

/// `qrStatus` of the v2 QR API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub(crate) enum QrStatus {
    /// Registered and payable.
    New,
    /// A payment is under way (not produced by this emulator yet, kept for the wire enum).
    #[expect(
        dead_code,
        reason = "part of the bank's enum; no sandbox control produces it yet"
    )]
    InProgress,
    /// A dynamic QR that was paid.
    Paid,
    /// Deactivated with `DELETE /sbp/v2/qrs/{qrId}`.
    Cancelled,
    /// Its `qrExpirationDate` passed before it was paid.
    Expired,
}

impl QrStatus {
    /// The wire name.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            QrStatus::New => "NEW",
            QrStatus::InProgress => "IN_PROGRESS",
            QrStatus::Paid => "PAID",
            QrStatus::Cancelled => "CANCELLED",
            QrStatus::Expired => "EXPIRED",
        }
    }
}

/// `paymentStatus` of `payment-info` and of callbacks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub(crate) enum PaymentStatus {
    /// Nobody has paid yet.
    NoInfo,
    /// A payment is under way (not produced by this emulator yet, kept for the wire enum).
    #[expect(
        dead_code,
        reason = "part of the bank's enum; no sandbox control produces it yet"
    )]
    InProgress,
    /// Paid.
    Success,
    /// The payer's bank declined the payment.
    Declined,
}

impl PaymentStatus {
    /// The wire name (also part of the callback signature).
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            PaymentStatus::NoInfo => "NO_INFO",
            PaymentStatus::InProgress => "IN_PROGRESS",
            PaymentStatus::Success => "SUCCESS",
            PaymentStatus::Declined => "DECLINED",
        }
    }
}

/// `refundStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub(crate) enum RefundStatus {
    /// Accepted, not finished.
    InProgress,
    /// Money returned.
    Completed,
    /// Refused; its amount is refundable again.
    Declined,
}

impl RefundStatus {
    /// The wire name.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            RefundStatus::InProgress => "IN_PROGRESS",
            RefundStatus::Completed => "COMPLETED",
            RefundStatus::Declined => "DECLINED",
        }
    }
}

/// A validated registration request.
#[derive(Debug, Clone)]
pub(crate) struct NewQr {
    /// Static or dynamic.
    pub(crate) qr_type: QrType,
    /// The merchant's SBP id as sent.
    pub(crate) sbp_merchant_id: String,
    /// The merchant's order id as sent (checked here).
    pub(crate) order: String,
    /// Fixed amount, if any.
    pub(crate) amount: Option<Kopecks>,
    /// Requested expiry, if any.
    pub(crate) expiration: Option<DateTime<FixedOffset>>,
    /// Payment purpose shown to the payer.
    pub(crate) payment_details: Option<String>,
    /// Free text echoed in payment-info and callbacks.
    pub(crate) additional_info: Option<String>,
}

/// One payment attempt on a QR.
#[derive(Debug, Clone)]
pub(crate) struct Payment {
    /// The bank's `transactionId`.
    pub(crate) transaction_id: u64,
    /// What was paid.
    pub(crate) amount: Kopecks,
    /// `SUCCESS` or `DECLINED`.
    pub(crate) status: PaymentStatus,
    /// `transactionDate`, Moscow time.
    pub(crate) date: DateTime<FixedOffset>,
}

/// A registered QR.
#[derive(Debug, Clone)]
pub(crate) struct Qr {
    /// `qrId`.
    pub(crate) id: String,
    /// Registration sequence number, for listing in order.
    pub(crate) seq: u64,
    /// Static or dynamic.
    pub(crate) qr_type: QrType,
    /// `order`.
    pub(crate) order: String,
    /// Fixed amount, if any.
    pub(crate) amount: Option<Kopecks>,
    /// `createDate`, Moscow time.
    pub(crate) created: DateTime<FixedOffset>,
    /// `qrExpirationDate` (`None`: a static QR that never expires).
    pub(crate) expires: Option<DateTime<FixedOffset>>,
    /// `paymentDetails` (shown as `paymentPurpose` in payment-info).
    pub(crate) payment_details: Option<String>,
    /// `additionalInfo`.
    pub(crate) additional_info: Option<String>,
    /// `qrStatus`.
    pub(crate) status: QrStatus,
    /// Every payment attempt, oldest first.
    pub(crate) payments: Vec<Payment>,
    /// The NSPK link.
    pub(crate) payload: String,
    /// The customer QR this QR is the charge of (`POST /sandbox/customer-qr/charge`).
    pub(crate) customer_qr: Option<String>,
}

impl Qr {
    /// `qrUrl`.
    pub(crate) fn qr_url(&self) -> String {
        format!("{QR_URL_BASE}/api/sbp/v1/qr/{}/image", self.id)
    }

    /// `paymentStatus` as payment-info shows it: the latest attempt's, or `NO_INFO`.
    pub(crate) fn payment_status(&self) -> PaymentStatus {
        self.payments
            .last()
            .map_or(PaymentStatus::NoInfo, |p| p.status)
    }

    /// Has any payment on this QR succeeded?
    pub(crate) fn has_success(&self) -> bool {
        self.payments
            .iter()
            .any(|p| p.status == PaymentStatus::Success)
    }

    /// Lazy expiry.
    pub(crate) fn refresh(&mut self, now: DateTime<Utc>) {
        if self.status == QrStatus::New && self.expires.is_some_and(|at| at <= now) {
            self.status = QrStatus::Expired;
        }
    }
}

/// What a payment or a decline produced: the material of the callback.
#[derive(Debug, Clone)]
pub(crate) struct PaymentEvent {
    /// `transactionId`.
    pub(crate) transaction_id: u64,
    /// `qrId`.
    pub(crate) qr_id: String,
    /// `order`.
    pub(crate) order: String,
    /// `amount`.
    pub(crate) amount: Kopecks,
    /// `paymentStatus`.
    pub(crate) status: PaymentStatus,
    /// `transactionDate`.
    pub(crate) transaction_date: DateTime<FixedOffset>,
    /// `additionalInfo`.
    pub(crate) additional_info: Option<String>,
    /// `createDate` of the QR.
    pub(crate) create_date: DateTime<FixedOffset>,
}

/// A refund request after parsing.
#[derive(Debug, Clone)]
pub(crate) struct NewRefund {
    /// `refundId`, the idempotency key.
    pub(crate) refund_id: String,
    /// `order` of the payment.
    pub(crate) order: String,
    /// `transactionId` of the payment (needed when the order has several).
    pub(crate) transaction_id: Option<u64>,
    /// How much to return.
    pub(crate) amount: Kopecks,
}

/// A refund.
#[derive(Debug, Clone)]
pub(crate) struct Refund {
    /// `refundId`.
    pub(crate) id: String,
    /// `order` of the refunded payment.
    pub(crate) order: String,
    /// The refunded payment.
    pub(crate) transaction_id: u64,
    /// `amount`.
    pub(crate) amount: Kopecks,
    /// `refundStatus`.
    pub(crate) status: RefundStatus,
    /// When it became `COMPLETED`, Moscow time (`None` until then).
    pub(crate) completed: Option<DateTime<FixedOffset>>,
    /// Has the status been read once? The next read completes it.
    pub(crate) queried: bool,
    /// Creation sequence number, for listing.
    pub(crate) seq: u64,
}

/// Is `order` acceptable: `[A-Za-z0-9_.-]{1,40}`?
pub(crate) fn order_is_valid(order: &str) -> bool {
    (1..=40).contains(&order.len())
        && order
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

/// How long an order lives without `expirationDate` (the longest cash-link activation other
/// banks allow, BANKS.md §2.4; Raiffeisen's default is not published).
pub(crate) const DEFAULT_ORDER_TTL: TimeDelta = TimeDelta::minutes(20);

/// `status.value` of an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub(crate) enum OrderStatus {
    /// Activated, waiting for the customer.
    New,
    /// Paid.
    Paid,
    /// Cancelled by the merchant.
    Cancelled,
    /// Its `expirationDate` passed unpaid.
    Expired,
}

impl OrderStatus {
    /// The wire name.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            OrderStatus::New => "NEW",
            OrderStatus::Paid => "PAID",
            OrderStatus::Cancelled => "CANCELLED",
            OrderStatus::Expired => "EXPIRED",
        }
    }
}

/// A validated order request.
#[derive(Debug, Clone)]
pub(crate) struct NewOrder {
    /// The merchant's order id, if given (the bank makes one otherwise).
    pub(crate) id: Option<String>,
    /// The link to activate.
    pub(crate) qr_id: String,
    /// The amount to pay.
    pub(crate) amount: Kopecks,
    /// Free text.
    pub(crate) comment: Option<String>,
    /// Payment purpose shown to the payer.
    pub(crate) payment_details: Option<String>,
    /// When it ends unpaid.
    pub(crate) expiration: Option<DateTime<FixedOffset>>,
}

/// An order (a link activation).
#[derive(Debug, Clone)]
pub(crate) struct Order {
    /// The order id.
    pub(crate) id: String,
    /// Creation sequence number, for listing.
    pub(crate) seq: u64,
    /// The activated link.
    pub(crate) qr_id: String,
    /// What to pay.
    pub(crate) amount: Kopecks,
    /// Free text.
    pub(crate) comment: Option<String>,
    /// Payment purpose.
    pub(crate) payment_details: Option<String>,
    /// When it ends unpaid.
    pub(crate) expires: DateTime<FixedOffset>,
    /// `status.value`.
    pub(crate) status: OrderStatus,
    /// `status.date`: when it took that value.
    pub(crate) status_date: DateTime<FixedOffset>,
    /// The payment's `transactionId`, once paid.
    pub(crate) transaction_id: Option<u64>,
}

impl Order {
    /// Lazy expiry.
    pub(crate) fn refresh(&mut self, now: DateTime<Utc>) {
        if self.status == OrderStatus::New && self.expires <= now {
            self.status = OrderStatus::Expired;
            self.status_date = self.expires;
        }
    }

    /// Is it the link's live activation?
    pub(crate) fn is_live(&self) -> bool {
        self.status == OrderStatus::New
    }

    /// `expirationDate` as the bank writes it.
    pub(crate) fn expiration_text(&self) -> String {
        expiration_text(self.expires)
    }

    /// `status.date` as the bank writes it.
    pub(crate) fn status_date_text(&self) -> String {
        micros_text(self.status_date)
    }
}

/// A paid order: the material of the order notification.
#[derive(Debug, Clone)]
pub(crate) struct OrderEvent {
    /// The bank's operation id.
    pub(crate) transaction_id: u64,
    /// The order id.
    pub(crate) order_id: String,
    /// The paid link.
    pub(crate) qr_id: String,
    /// What was paid.
    pub(crate) amount: Kopecks,
    /// `transaction.status.date`.
    pub(crate) date: DateTime<FixedOffset>,
    /// The order's comment.
    pub(crate) comment: Option<String>,
}

/// Where minted payloads point (a reserved host that never resolves).
pub(crate) const PAYLOAD_BASE: &str = "https://sandbox.invalid/customer-qr/";

/// When the customer's bank answers a charge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Confirm {
    /// At once: paid, or declined above the limit.
    #[default]
    Auto,
    /// When a test pays or declines the charge's QR.
    Manual,
}

/// A minted customer QR.
#[derive(Debug, Clone)]
pub(crate) struct CustomerQr {
    /// What the customer's app shows.
    pub(crate) payload: String,
    /// Above this the customer's bank declines (auto mode).
    pub(crate) amount_limit: Option<Kopecks>,
    /// When the customer's bank answers.
    pub(crate) confirm: Confirm,
    /// The QR id of its charge, once charged.
    pub(crate) charged_as: Option<String>,
    /// Mint sequence number, for listing.
    pub(crate) seq: u64,
}

/// A validated charge request.
#[derive(Debug, Clone)]
pub(crate) struct Charge {
    /// The merchant.
    pub(crate) sbp_merchant_id: String,
    /// The scanned text.
    pub(crate) payload: String,
    /// The merchant's order id (our payment id).
    pub(crate) order: String,
    /// What to charge.
    pub(crate) amount: Kopecks,
    /// Until when the charge may wait for the customer.
    pub(crate) expiration: Option<DateTime<FixedOffset>>,
    /// Payment purpose.
    pub(crate) payment_details: Option<String>,
}
