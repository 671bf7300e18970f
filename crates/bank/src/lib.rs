//! Bank adapters.
//!
//! [`BankAdapter`] is the one trait the rest of qrpayd uses to talk to a bank. It speaks
//! domain types only (kopecks, payment ids, QR ids); each bank's module turns them into that
//! bank's wire format and back, and is the only place that knows it (architecture
//! invariant: *only `bank/<name>` knows a bank's JSON*).
//!
//! Adapters check every answer against what we asked for (amount, currency, ids) and report
//! a mismatch as [`BankError::Protocol`] rather than trusting it.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use qrpayd_domain::ids::{PaymentId, QrId, RefundId};
use qrpayd_domain::money::{Currency, Kopecks};

pub mod raiffeisen;

/// What we ask the bank for when a register wants a QR.
#[derive(Debug, Clone)]
pub struct CreateQr {
    /// Our payment id; sent as the bank's `order`, so the bank's records name our payment.
    pub payment_id: PaymentId,
    /// The bill.
    pub amount: Kopecks,
    /// Always RUB for SBP.
    pub currency: Currency,
    /// When the QR must stop being payable (the payment's TTL).
    pub expires_at: DateTime<Utc>,
    /// Payment purpose the customer sees in the bank app.
    pub description: Option<String>,
}

/// A QR the bank registered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedQr {
    /// The bank's (NSPK) QR id.
    pub qr_id: QrId,
    /// The NSPK link to encode in the QR image.
    pub payload: String,
}

/// What we expect a payment to be when we ask the bank about it.
#[derive(Debug, Clone)]
pub struct PaymentQuery {
    /// Our payment id (the bank's `order`).
    pub payment_id: PaymentId,
    /// The bank's QR id.
    pub qr_id: QrId,
    /// The amount we asked for; the bank's answer must agree.
    pub amount: Kopecks,
    /// The currency we asked for; the bank's answer must agree.
    pub currency: Currency,
}

/// The bank's view of a QR payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BankPaymentStatus {
    /// Nothing paid (`NO_INFO`).
    NotPaid,
    /// The customer is paying right now (`IN_PROGRESS`): the outcome is not known yet.
    InProgress,
    /// Paid. `transaction_id` is the bank's operation id, needed for refunds and reconciliation.
    Paid {
        /// The bank's transaction id, when it gave one.
        transaction_id: Option<String>,
    },
    /// The bank declined the payment.
    Declined,
}

/// A refund we ask the bank for.
#[derive(Debug, Clone)]
pub struct RefundRequest {
    /// Our refund id, sent as the bank's refund id: the bank's idempotency key.
    pub refund_id: RefundId,
    /// The payment being refunded (the bank's `order`).
    pub payment_id: PaymentId,
    /// How much to give back.
    pub amount: Kopecks,
    /// The bank's transaction id of the payment, when known.
    pub transaction_id: Option<String>,
    /// Text for the customer's statement.
    pub details: Option<String>,
}

/// The bank's view of a refund.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BankRefundStatus {
    /// Accepted, being processed.
    InProgress,
    /// The money is back with the customer.
    Completed,
    /// Declined.
    Declined,
}

/// A verified bank notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallbackNotice {
    /// The QR the notice is about.
    pub qr_id: Option<QrId>,
    /// The bank's `order`, i.e. our payment id when we created the QR.
    pub order: Option<String>,
    /// The amount the bank reports.
    pub amount: Kopecks,
    /// The currency the bank reports.
    pub currency: Option<Currency>,
    /// The reported status.
    pub status: BankPaymentStatus,
}

/// Why a bank call failed. The variant tells the caller whether the outcome is known.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BankError {
    /// No answer within the timeout: the bank may or may not have acted.
    #[error("the bank did not answer in time")]
    Timeout,
    /// The bank could not be reached or answered with a server error: it did not act, as far
    /// as we can tell, but the same call may succeed later.
    #[error("the bank is unavailable: {0}")]
    Unavailable(String),
    /// The bank answered and refused (a business error, even if it came with HTTP 200).
    #[error("the bank refused: {code}: {message}")]
    Rejected {
        /// The bank's error code, e.g. `ERROR.MERCHANT_NOT_REGISTERED`.
        code: String,
        /// The bank's human-readable message.
        message: String,
    },
    /// The bank's answer made no sense or contradicted what we asked for.
    #[error("unexpected answer from the bank: {0}")]
    Protocol(String),
}

impl BankError {
    /// Is it worth asking again later (the bank may simply be down)?
    pub fn is_transient(&self) -> bool {
        match self {
            BankError::Timeout | BankError::Unavailable(_) | BankError::Protocol(_) => true,
            BankError::Rejected { .. } => false,
        }
    }
}

/// Why a notification was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallbackError {
    /// The signature header is missing or wrong: not from the bank.
    #[error("bad or missing signature")]
    BadSignature,
    /// The body is not a notification we understand.
    #[error("malformed notification: {0}")]
    Malformed(String),
}

/// One bank's SBP API, in domain words.
///
/// Every method is safe to call again with the same arguments: registers retry and workers
/// re-run after a crash, so an adapter must never turn a repeat into a second charge.
#[async_trait]
pub trait BankAdapter: Send + Sync {
    /// Registers a one-payment (dynamic) QR for the amount, valid until `expires_at`.
    async fn create_qr(&self, request: &CreateQr) -> Result<IssuedQr, BankError>;

    /// Asks the bank whether the QR was paid. Checks amount and currency of the answer.
    async fn payment_status(&self, query: &PaymentQuery) -> Result<BankPaymentStatus, BankError>;

    /// Deactivates an unpaid QR. Returns `Ok` once the QR can no longer be paid (also when it
    /// was already closed, expired or paid). A payment can race this call: callers re-check
    /// [`BankAdapter::payment_status`] afterwards, and only that answer decides the outcome.
    async fn deactivate_qr(&self, qr_id: &QrId) -> Result<(), BankError>;

    /// Asks the bank to refund (all or part of) a paid payment. Sending the same
    /// `refund_id` again must not refund twice (the bank treats it as the same refund).
    async fn refund(&self, request: &RefundRequest) -> Result<BankRefundStatus, BankError>;

    /// The bank's view of a refund we sent, or `None` when the bank has never heard of it
    /// (so it is safe to send it again under the same id). Checks the amount.
    async fn refund_status(
        &self,
        refund_id: &RefundId,
        amount: Kopecks,
    ) -> Result<Option<BankRefundStatus>, BankError>;

    /// Tells the bank where to send notifications.
    async fn register_callback_url(&self, url: &str) -> Result<(), BankError>;

    /// Verifies and parses a notification (`headers` and the raw `body` as received).
    fn parse_callback(
        &self,
        headers: &reqwest::header::HeaderMap,
        body: &[u8],
    ) -> Result<CallbackNotice, CallbackError>;
}
