//! The payment row and its conversion from SQL.

use chrono::{DateTime, Utc};
use qrpayd_domain::ids::{
    IdempotencyKey, OrderRef, PaymentId, ProviderName, QrId, RefundId, RegisterId,
};
use qrpayd_domain::money::{Currency, Kopecks};
use qrpayd_domain::payment::{PaymentState, QrType};
use qrpayd_domain::refund::RefundState;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::{StoreError, from_ms};

/// A payment about to be saved (before the bank is called).
#[derive(Debug, Clone)]
pub struct NewPayment {
    /// Fresh id.
    pub id: PaymentId,
    /// The register that asked.
    pub register_id: RegisterId,
    /// The register's key for this request.
    pub idempotency_key: IdempotencyKey,
    /// Hash of the request body, to tell a retry from a reused key.
    pub request_hash: String,
    /// The bill.
    pub amount: Kopecks,
    /// RUB.
    pub currency: Currency,
    /// The provider (payment module) name.
    pub provider: ProviderName,
    /// The sale receipt id.
    pub order: Option<OrderRef>,
    /// Payment purpose.
    pub description: Option<String>,
    /// Now.
    pub created_at: DateTime<Utc>,
    /// When the QR stops being payable.
    pub expires_at: DateTime<Utc>,
    /// How the customer gets the QR.
    pub qr_type: QrType,
}

/// A payment as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payment {
    /// Our id.
    pub id: PaymentId,
    /// The owning register.
    pub register_id: RegisterId,
    /// The key it was created with.
    pub idempotency_key: IdempotencyKey,
    /// Hash of the create request.
    pub request_hash: String,
    /// The bill.
    pub amount: Kopecks,
    /// RUB.
    pub currency: Currency,
    /// Provider name.
    pub provider: ProviderName,
    /// Sale receipt id.
    pub order: Option<OrderRef>,
    /// Payment purpose.
    pub description: Option<String>,
    /// Where it is in its life.
    pub state: PaymentState,
    /// How the customer gets the QR.
    pub qr_type: QrType,
    /// Paid after we had closed or failed it.
    pub late: bool,
    /// What the late-payment policy did: `refund` or `flag` (only when `late`).
    pub late_action: Option<String>,
    /// The bank's QR id and the NSPK payload, once issued.
    pub qr: Option<(QrId, String)>,
    /// The bank's transaction id, once paid.
    pub bank_transaction_id: Option<String>,
    /// Why it failed: stable code and message.
    pub failure: Option<(String, String)>,
    /// Bumped by every state change.
    pub version: i64,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// QR lifetime end.
    pub expires_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// When it became paid.
    pub paid_at: Option<DateTime<Utc>>,
}

fn corrupt(what: &str, value: &str) -> StoreError {
    StoreError::Corrupt(format!("{what} {value:?}"))
}

pub(crate) fn from_row(row: &AnyRow) -> Result<Payment, StoreError> {
    let text = |name: &str| -> Result<String, StoreError> { Ok(row.try_get::<String, _>(name)?) };
    let opt_text = |name: &str| -> Result<Option<String>, StoreError> {
        Ok(row.try_get::<Option<String>, _>(name)?)
    };
    let id = text("id")?;
    let status = text("status")?;
    let currency = text("currency")?;
    let qr = match (opt_text("qr_id")?, opt_text("qr_payload")?) {
        (Some(qr_id), Some(payload)) => Some((
            QrId::parse(&qr_id).map_err(|_| corrupt("qr_id", &qr_id))?,
            payload,
        )),
        _ => None,
    };
    let failure = match (opt_text("failure_code")?, opt_text("failure_message")?) {
        (Some(code), message) => Some((code, message.unwrap_or_default())),
        (None, _) => None,
    };
    let order = opt_text("order_ref")?
        .map(|o| OrderRef::parse(&o).map_err(|_| corrupt("order_ref", &o)))
        .transpose()?;
    let paid_at: Option<i64> = row.try_get("paid_at")?;
    let late: i64 = row.try_get("late")?;
    Ok(Payment {
        id: PaymentId::parse(&id).map_err(|_| corrupt("id", &id))?,
        register_id: {
            let r = text("register_id")?;
            RegisterId::parse(&r).map_err(|_| corrupt("register_id", &r))?
        },
        idempotency_key: {
            let k = text("idempotency_key")?;
            IdempotencyKey::parse_stored(&k).map_err(|_| corrupt("idempotency_key", &k))?
        },
        request_hash: text("request_hash")?,
        amount: Kopecks::new(row.try_get("amount")?)
            .map_err(|e| StoreError::Corrupt(format!("amount of {id}: {e}")))?,
        currency: Currency::parse(&currency).ok_or_else(|| corrupt("currency", &currency))?,
        provider: {
            let p = text("provider")?;
            ProviderName::parse(&p).map_err(|_| corrupt("provider", &p))?
        },
        order,
        description: opt_text("description")?,
        state: PaymentState::from_db_str(&status).ok_or_else(|| corrupt("status", &status))?,
        qr_type: {
            let t = text("qr_type")?;
            QrType::parse(&t).ok_or_else(|| corrupt("qr_type", &t))?
        },
        late: late != 0,
        late_action: opt_text("late_action")?,
        qr,
        bank_transaction_id: opt_text("bank_transaction_id")?,
        failure,
        version: row.try_get("version")?,
        created_at: from_ms(row.try_get("created_at")?)?,
        expires_at: from_ms(row.try_get("expires_at")?)?,
        updated_at: from_ms(row.try_get("updated_at")?)?,
        paid_at: paid_at.map(from_ms).transpose()?,
    })
}

/// Which payments to list. `None` means "any".
#[derive(Debug, Clone, Default)]
pub struct PaymentFilter {
    /// Only this register's.
    pub register: Option<RegisterId>,
    /// Only with this sale receipt id.
    pub order: Option<String>,
    /// Only in this state.
    pub status: Option<PaymentState>,
    /// Only late (or only not late) ones.
    pub late: Option<bool>,
    /// Created at or after.
    pub from: Option<DateTime<Utc>>,
    /// Created before.
    pub to: Option<DateTime<Utc>>,
    /// At most this many.
    pub limit: i64,
}

/// A refund about to be saved (before the bank is called).
#[derive(Debug, Clone)]
pub struct NewRefund {
    /// Fresh id; also the bank's refund id.
    pub id: RefundId,
    /// The paid payment.
    pub payment_id: PaymentId,
    /// The register that asked (the payment's register for automatic refunds).
    pub register_id: RegisterId,
    /// The register's key for this request.
    pub idempotency_key: IdempotencyKey,
    /// Hash of the request, to tell a retry from a reused key.
    pub request_hash: String,
    /// How much to give back.
    pub amount: Kopecks,
    /// Why (shown to people, sent to the bank as statement text).
    pub reason: Option<String>,
    /// Made by qrpayd (the late-payment policy, or a cancel the bank turned into a refund),
    /// not by a register.
    pub automatic: bool,
    /// Set when the bank already has this refund (it made it itself): it is never sent.
    pub sent_at: Option<DateTime<Utc>>,
    /// Now.
    pub created_at: DateTime<Utc>,
}

/// A refund as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refund {
    /// Our id (and the bank's refund id).
    pub id: RefundId,
    /// The payment it refunds.
    pub payment_id: PaymentId,
    /// The register that asked.
    pub register_id: RegisterId,
    /// The key it was created with.
    pub idempotency_key: IdempotencyKey,
    /// Hash of the request.
    pub request_hash: String,
    /// How much.
    pub amount: Kopecks,
    /// Why.
    pub reason: Option<String>,
    /// Where it is.
    pub state: RefundState,
    /// Made by the late-payment policy.
    pub automatic: bool,
    /// Why it failed.
    pub failure: Option<(String, String)>,
    /// Bumped by every state change.
    pub version: i64,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// When it became final.
    pub finished_at: Option<DateTime<Utc>>,
    /// When it was first sent to the bank (or the bank made it on its own); `None`: never.
    pub sent_at: Option<DateTime<Utc>>,
}

pub(crate) fn refund_from_row(row: &AnyRow) -> Result<Refund, StoreError> {
    let text = |name: &str| -> Result<String, StoreError> { Ok(row.try_get::<String, _>(name)?) };
    let opt_text = |name: &str| -> Result<Option<String>, StoreError> {
        Ok(row.try_get::<Option<String>, _>(name)?)
    };
    let id = text("id")?;
    let status = text("status")?;
    let failure = match (opt_text("failure_code")?, opt_text("failure_message")?) {
        (Some(code), message) => Some((code, message.unwrap_or_default())),
        (None, _) => None,
    };
    let automatic: i64 = row.try_get("automatic")?;
    let finished_at: Option<i64> = row.try_get("finished_at")?;
    let sent_at: Option<i64> = row.try_get("sent_at")?;
    Ok(Refund {
        id: RefundId::parse(&id).map_err(|_| corrupt("refund id", &id))?,
        payment_id: {
            let p = text("payment_id")?;
            PaymentId::parse(&p).map_err(|_| corrupt("payment_id", &p))?
        },
        register_id: {
            let r = text("register_id")?;
            RegisterId::parse(&r).map_err(|_| corrupt("register_id", &r))?
        },
        idempotency_key: {
            let k = text("idempotency_key")?;
            IdempotencyKey::parse_stored(&k).map_err(|_| corrupt("idempotency_key", &k))?
        },
        request_hash: text("request_hash")?,
        amount: Kopecks::new(row.try_get("amount")?)
            .map_err(|e| StoreError::Corrupt(format!("amount of {id}: {e}")))?,
        reason: opt_text("reason")?,
        state: RefundState::from_db_str(&status)
            .ok_or_else(|| corrupt("refund status", &status))?,
        automatic: automatic != 0,
        failure,
        version: row.try_get("version")?,
        created_at: from_ms(row.try_get("created_at")?)?,
        updated_at: from_ms(row.try_get("updated_at")?)?,
        finished_at: finished_at.map(from_ms).transpose()?,
        sent_at: sent_at.map(from_ms).transpose()?,
    })
}
