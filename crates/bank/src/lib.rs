//! Bank adapters.
//!
//! [`BankAdapter`] is the one trait the rest of qrpayd uses to talk to a bank. It speaks
//! domain types only (kopecks, payment ids, QR ids); each bank's module turns them into that
//! bank's wire format and back, and is the only place that knows it (architecture
//! invariant: *only `bank/<name>` knows a bank's JSON*).
//!
//! Adapters check every answer against what we asked for (amount, currency, ids) and report
//! a mismatch as [`BankError::Protocol`] rather than trusting it.
//!
//! # Three ways to take a QR payment, one state machine
//!
//! A payment is created in one of three [`QrKind`]s and is afterwards addressed through its
//! [`QrType`] (the domain's name of the kind, without its data), which the service stores with
//! the payment and passes back in every [`PaymentQuery`] and [`RefundRequest`]:
//!
//! * [`QrKind::Dynamic`] — the bank registers a one-payment QR for the amount;
//! * [`QrKind::CashLink`] — the register's printed, reusable link (registered once with
//!   [`BankAdapter::register_cash_link`]) is *activated* with the amount; the bank-side
//!   activation (order) id is our payment id;
//! * [`QrKind::Customer`] — the register scanned the QR shown by the customer's bank app, and
//!   the bank charges it.
//!
//! Whatever the kind, the service's flow is the same: `create_qr` → `payment_status` /
//! notifications → `deactivate_qr` + `payment_status` on cancel or expiry → `refund` +
//! `refund_status`. A kind the bank cannot do is refused with [`BankError::Unsupported`]
//! (see [`BankAdapter::capabilities`]).
//!
//! # How each method maps per bank
//!
//! | method | Raiffeisen (`raiffeisen`) | T-Bank (`tbank`) | qrpayd sandbox (`sandbox`) |
//! |---|---|---|---|
//! | `capabilities` | dynamic, cash link, partial refund, callbacks | dynamic, partial refund, callbacks | Raiffeisen's + customer QR |
//! | `create_qr` Dynamic | `POST /api/sbp/v2/qrs` `QRDynamic` | `Init` (Amount in kopecks, `OrderId` = payment id) then `GetQr` `PAYLOAD`; the QR id we keep is T-Bank's `PaymentId` | as Raiffeisen |
//! | `create_qr` CashLink | `POST /api/payment/v1/orders` `{id: payment id, qr: {id: link}}`; answers the link's id and payload | [`BankError::Unsupported`] | as Raiffeisen |
//! | `create_qr` Customer | [`BankError::Unsupported`] | [`BankError::Unsupported`] | `POST /sandbox/customer-qr/charge` |
//! | `register_cash_link` | `POST /api/sbp/v2/qrs` `QRVariable` | [`BankError::Unsupported`] | as Raiffeisen |
//! | `payment_status` | Dynamic: `GET /api/sbp/v1/qr/{qrId}/payment-info`; CashLink: `GET /api/payment/v1/orders/{id}` | `GetState` | Customer: as Dynamic |
//! | `deactivate_qr` | Dynamic: `DELETE /api/sbp/v2/qrs/{qrId}`; CashLink: `DELETE /api/payment/v1/orders/{id}` | `GetState`, then `Cancel` only while `NEW`/`FORM_SHOWED` | Customer: as Dynamic |
//! | `refund` | Dynamic: `POST /api/sbp/v1/refund`; CashLink: `POST /api/payments/v1/orders/{id}/refunds/{refundId}` | `Cancel` with `Amount` and `ExternalRequestId` = refund id | Customer: as Dynamic |
//! | `refund_status` | `GET` of the same refund paths | `GetQrState` with `ExternalRequestId` (see `tbank`) | Customer: as Dynamic |
//! | `register_callback_url` | `POST /api/settings/v1/callback` | kept and sent as `NotificationURL` with every `Init` | as Raiffeisen |
//! | `parse_callback` | SBP notice (§1.7a) or order notice (§1.7b), HMAC `X-Api-Signature-SHA256` | `Token` (SHA-256) | as Raiffeisen |
//! | `callback_ack_body` | any body (HTTP 200) | exactly `OK` | any body |
//!
//! BPC's RBS gateway (`rbs`, VTB, Alfa-Bank, MTS Bank): `register.do` + `sbp/c2b/qr/dynamic/get.do`,
//! `getOrderStatusExtended.do` + `sbp/c2b/qr/status.do`, `sbp/c2b/qr/dynamic/reject.do`,
//! `refund.do` keyed by `externalRefundId`, form notifications with a `checksum`; see [`rbs`].
//! Sber (`sber`): dynamic QR only, `/qr/order/v3/creation`, `/status`, `/revocation` and
//! `/cancel` (refunds by amounts, like T-Bank), unsigned notifications as hints; see [`sber`].
//!
//! Gazprombank and Bank Russian Standard publish no API (BANKS.md §3.1–3.2); a module for
//! either implements the same trait once its documentation is at hand, following the generic
//! cash-link life cycle (BANKS.md §2.4) for [`QrKind::CashLink`].

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use qrpayd_domain::ids::{PaymentId, QrId, RefundId};
use qrpayd_domain::money::{Currency, Kopecks};
pub use qrpayd_domain::payment::QrType;

pub use crate::kind::{BankKind, KINDS, Problem};

pub mod clock;
pub mod kind;
pub mod raiffeisen;
pub mod rbs;
pub mod registry;
pub mod sandbox;
pub mod sber;
pub mod settings;
pub mod tbank;

/// How the customer pays: what the register asked for, with what the bank needs for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QrKind {
    /// A one-payment QR registered for this bill.
    Dynamic,
    /// Activate the register's printed cash-register link with this bill's amount. The
    /// bank-side activation (order) id is our payment id.
    CashLink {
        /// The link's QR id (NSPK `qrcId`).
        link_qr_id: QrId,
        /// The link as printed (its payload), returned as the payment's QR.
        link_payload: String,
    },
    /// The register scanned the QR shown by the customer's bank app: charge it.
    Customer {
        /// The scanned text, as read.
        scanned: String,
    },
}

impl QrKind {
    /// The [`QrType`] of a payment created this way.
    pub fn qr_type(&self) -> QrType {
        match self {
            QrKind::Dynamic => QrType::Dynamic,
            QrKind::CashLink { .. } => QrType::CashRegister,
            QrKind::Customer { .. } => QrType::Customer,
        }
    }
}

/// What a provider can do (the provider matrix), and the limits the service checks before it
/// calls the bank: a request outside them is refused with a clear error and nothing is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capabilities {
    /// One-payment QRs ([`QrKind::Dynamic`]).
    pub dynamic_qr: bool,
    /// Cash-register links: registration and activation ([`QrKind::CashLink`]).
    pub cash_register_link: bool,
    /// Charging a customer-presented QR ([`QrKind::Customer`]).
    pub customer_qr: bool,
    /// Refunds of part of a payment (otherwise only the whole amount).
    pub partial_refund: bool,
    /// The bank sends signed payment notifications (otherwise qrpayd only polls).
    pub callbacks: bool,
    /// The smallest amount the bank takes for an SBP payment, if it documents one.
    pub min_amount: Option<Kopecks>,
    /// The largest amount the bank takes for an SBP payment, if it documents one.
    pub max_amount: Option<Kopecks>,
    /// The shortest QR lifetime the bank accepts, in seconds, if it documents one.
    pub min_lifetime_seconds: Option<u64>,
    /// How refunds are identified at the bank (see [`RefundIdentity`]).
    pub refund_identity: RefundIdentity,
    /// The bank's refusal codes that mean the bank itself is in trouble ("internal error, try
    /// later"), not that the request was wrong. Such a refusal counts against the provider's
    /// health, and a create refused so may go to the register's next provider.
    pub bank_side_codes: &'static [&'static str],
}

/// How a bank tells one refund from another, which decides whether a refund whose outcome is
/// unknown may ever be sent again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefundIdentity {
    /// The bank keys refunds by our refund id (Raiffeisen's `refundId`): sending the same id
    /// again is the same refund, and "not found" means the bank never got it, so re-sending it
    /// under that id is safe.
    ById,
    /// The bank has no refund id (T-Bank SBP: `ExternalRequestId` does not work for SBP, and
    /// `GetQrState` names no refund). A refund whose first attempt may have reached the bank is
    /// never sent again; at most one refund per payment is in flight, so the payment's amounts
    /// at the bank identify it ([`RefundRequest::refunded_before`]).
    ByAmounts,
}

impl Capabilities {
    /// Can a payment of this QR type be created?
    pub fn supports(&self, qr_type: QrType) -> bool {
        match qr_type {
            QrType::Dynamic => self.dynamic_qr,
            QrType::CashRegister => self.cash_register_link,
            QrType::Customer => self.customer_qr,
        }
    }

    /// Is `amount` within the bank's documented range?
    pub fn accepts_amount(&self, amount: Kopecks) -> bool {
        self.min_amount.is_none_or(|min| amount >= min)
            && self.max_amount.is_none_or(|max| amount <= max)
    }
}

/// What we ask the bank for when a register wants a QR.
#[derive(Debug, Clone)]
pub struct CreateQr {
    /// Our payment id; sent as the bank's `order` / `OrderId` / order id, so the bank's
    /// records name our payment.
    pub payment_id: PaymentId,
    /// The bill.
    pub amount: Kopecks,
    /// Always RUB for SBP.
    pub currency: Currency,
    /// When the QR must stop being payable (the payment's TTL).
    pub expires_at: DateTime<Utc>,
    /// Payment purpose the customer sees in the bank app.
    pub description: Option<String>,
    /// Dynamic QR, cash-register link activation, or customer QR.
    pub kind: QrKind,
}

/// A QR the bank registered (or a link it activated, or a customer QR it charged).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedQr {
    /// The bank's reference of the payment, which the service stores as the payment's QR id
    /// and passes back in [`PaymentQuery::qr_id`]: the NSPK QR id (Raiffeisen dynamic), the
    /// link's QR id (cash link: shared by every activation of the link), T-Bank's
    /// `PaymentId`, or the bank's id of the charge (customer QR).
    pub qr_id: QrId,
    /// The NSPK link to encode in the QR image (for a customer QR: the scanned text, as
    /// there is nothing to show).
    pub payload: String,
}

/// What we expect a payment to be when we ask the bank about it.
#[derive(Debug, Clone)]
pub struct PaymentQuery {
    /// Our payment id (the bank's `order` / order id).
    pub payment_id: PaymentId,
    /// The bank's reference: [`IssuedQr::qr_id`] as issued.
    pub qr_id: QrId,
    /// The amount we asked for; the bank's answer must agree.
    pub amount: Kopecks,
    /// The currency we asked for; the bank's answer must agree.
    pub currency: Currency,
    /// How the payment was created (the payment's stored `qr_type`).
    pub qr_type: QrType,
}

/// The bank's view of a QR payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BankPaymentStatus {
    /// Nothing paid (`NO_INFO`), or the QR/activation ended unpaid (cancelled, expired): after
    /// a deactivation this means "closed, not paid".
    NotPaid,
    /// The customer is paying right now (`IN_PROGRESS`): the outcome is not known yet.
    InProgress,
    /// Paid. `transaction_id` is the bank's operation id, needed for refunds and reconciliation;
    /// it only ever comes from an authenticated answer of the bank, never from a notification's
    /// unsigned fields.
    Paid {
        /// The bank's transaction id, when it gave one.
        transaction_id: Option<String>,
    },
    /// The bank declined the payment.
    Declined,
    /// A status the bank's documentation does not list. Nothing is decided on it: the service
    /// logs it and asks again with backoff.
    Unrecognised(String),
}

/// What a deactivation achieved. Whatever it says, the payment's status at the bank decides the
/// outcome; this only tells the service whether the QR can still be paid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Deactivation {
    /// Nobody can start paying the QR any more: deactivated now, or already paid, cancelled or
    /// expired at the bank.
    Closed,
    /// The bank did not deactivate it and it may still be payable (someone is paying right now,
    /// or the bank refused for a reason of its own). The service asks the status; if unpaid, it
    /// retries until the QR's own expiry has passed.
    StillOpen(String),
    /// The customer paid a moment before and the bank turned the cancellation into a refund of
    /// that payment (T-Bank's `Cancel` on a confirmed payment). The payment is paid, and this
    /// refund must be recorded.
    Refunded {
        /// What went back.
        amount: Kopecks,
        /// Where that refund is.
        status: BankRefundStatus,
    },
}

/// A refund we ask the bank for (also the question "what became of it?").
#[derive(Debug, Clone)]
pub struct RefundRequest {
    /// Our refund id, sent as the bank's refund id: the bank's idempotency key.
    pub refund_id: RefundId,
    /// The payment being refunded (the bank's `order` / order id).
    pub payment_id: PaymentId,
    /// How much to give back.
    pub amount: Kopecks,
    /// The bank's transaction id of the payment, when known.
    pub transaction_id: Option<String>,
    /// Text for the customer's statement.
    pub details: Option<String>,
    /// How the payment was created (the payment's stored `qr_type`).
    pub qr_type: QrType,
    /// The payment's [`IssuedQr::qr_id`] (T-Bank needs it: it is the `PaymentId`).
    pub qr_id: Option<QrId>,
    /// What the customer paid.
    pub paid_amount: Kopecks,
    /// What refunds of this payment that the bank completed gave back before this one (the
    /// journal's view). Banks without refund ids ([`RefundIdentity::ByAmounts`]) recognise
    /// this refund by the payment's amounts at the bank against it.
    pub refunded_before: Kopecks,
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

/// A verified bank notification, reduced to what the bank signed. A notification is a hint:
/// the service finds the payment by the signed order only and then asks the bank (an
/// authenticated answer) before it changes anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallbackNotice {
    /// The bank's `order` / `OrderId` / order id as signed: our payment id when we created the
    /// payment. `None` when the notification names none (it then changes nothing).
    pub order: Option<String>,
    /// The signed amount, when the notification carries one.
    pub amount: Option<Kopecks>,
    /// The currency the bank reports.
    pub currency: Option<Currency>,
    /// What the notification says happened. `None`: it is not about a payment's outcome (e.g.
    /// T-Bank's fiscal `RECEIPT` notice), so it is acknowledged and changes nothing.
    pub status: Option<BankPaymentStatus>,
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
    /// The provider cannot do this at all (e.g. a customer QR at a bank without that API).
    /// Nothing was sent to the bank.
    #[error("not supported by this provider: {0}")]
    Unsupported(String),
    /// The cash-register link already has a live, unpaid activation (one at a time per link):
    /// cancel that payment first.
    #[error("the cash-register link is busy with another payment: {0}")]
    LinkBusy(String),
}

impl BankError {
    /// Is it worth asking again later (the bank may simply be down)?
    pub fn is_transient(&self) -> bool {
        match self {
            BankError::Timeout | BankError::Unavailable(_) | BankError::Protocol(_) => true,
            BankError::Rejected { .. } | BankError::Unsupported(_) | BankError::LinkBusy(_) => {
                false
            }
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
    /// What this provider supports. A method asked for something outside it answers
    /// [`BankError::Unsupported`] without calling the bank.
    fn capabilities(&self) -> Capabilities;

    /// Creates the payment at the bank according to `request.kind`: registers a one-payment
    /// (dynamic) QR for the amount valid until `expires_at`, activates a cash-register link
    /// with the amount until `expires_at`, or charges a customer-presented QR.
    async fn create_qr(&self, request: &CreateQr) -> Result<IssuedQr, BankError>;

    /// Registers a new reusable cash-register link (to print and bind to a register).
    async fn register_cash_link(&self) -> Result<IssuedQr, BankError>;

    /// Asks the bank whether the payment was paid. Checks amount and currency of the answer.
    async fn payment_status(&self, query: &PaymentQuery) -> Result<BankPaymentStatus, BankError>;

    /// Deactivates an unpaid QR (or cash-link activation) and says whether it can still be
    /// paid ([`Deactivation`]). A payment can race this call: callers re-check
    /// [`BankAdapter::payment_status`] afterwards, and only that answer decides the outcome.
    /// An `Err` is a transport or protocol failure (the outcome of the call is unknown).
    async fn deactivate_qr(&self, query: &PaymentQuery) -> Result<Deactivation, BankError>;

    /// Asks the bank to refund (all or part of) a paid payment. Sending the same
    /// `refund_id` again must not refund twice (the bank treats it as the same refund).
    async fn refund(&self, request: &RefundRequest) -> Result<BankRefundStatus, BankError>;

    /// The bank's view of the refund `request` describes, or `None` when the bank shows no
    /// trace of it. For [`RefundIdentity::ById`] banks that means it never got it (safe to send
    /// again under the same id); for [`RefundIdentity::ByAmounts`] banks only that the
    /// payment's amounts do not show it (the service never re-sends those). Checks the amount.
    async fn refund_status(
        &self,
        request: &RefundRequest,
    ) -> Result<Option<BankRefundStatus>, BankError>;

    /// Tells the bank where to send notifications.
    async fn register_callback_url(&self, url: &str) -> Result<(), BankError>;

    /// Verifies and parses a notification (`headers` and the raw `body` as received).
    fn parse_callback(
        &self,
        headers: &reqwest::header::HeaderMap,
        body: &[u8],
    ) -> Result<CallbackNotice, CallbackError>;

    /// What the notification endpoint must answer (with HTTP 200) for the bank to consider a
    /// notification delivered: `None` = any body, `Some(text)` = exactly this plain text
    /// (T-Bank wants `OK`, and re-sends otherwise).
    fn callback_ack_body(&self) -> Option<&'static str>;
}

/// The error for a kind the provider cannot do.
pub(crate) fn unsupported(provider: &str, what: &str) -> BankError {
    BankError::Unsupported(format!("{provider} does not support {what}"))
}
