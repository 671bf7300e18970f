//! The Raiffeisen merchant's books: QRs, their payments and refunds, and the pure transitions
//! between their states. Cash-register link activations (orders) are changed in `orders`,
//! customer QRs in `customer`; their records are in `model`.
//!
//! Nothing here reads the clock, draws random numbers or does IO: every transition takes
//! `now` and, where it needs one, a source of fresh QR ids. Expiry is lazy: a `NEW` QR whose
//! `qrExpirationDate` has passed turns `EXPIRED` the next time any transition or read touches it.

use crate::raiffeisen::error::SandboxError;
use crate::raiffeisen::model::{
    CustomerQr, NewQr, NewRefund, Order, Payment, PaymentEvent, PaymentStatus, Qr, QrStatus,
    QrType, Refund, RefundStatus, order_is_valid,
};
use crate::time::{expiration_text, to_msk};
use chrono::{DateTime, Days, Utc};
use qrpayd_domain::money::Kopecks;
use qrpayd_domain::nspk::{LinkType, build_link};
use std::collections::HashMap;

/// How long a `QRDynamic` registered without `qrExpirationDate` lives (BANKS.md §1.3).
const DEFAULT_DYNAMIC_TTL: Days = Days::new(3);

/// The first `transactionId` handed out; they increase by one per payment attempt.
const FIRST_TRANSACTION_ID: u64 = 1_000;

/// How many fresh ids to try before giving up on a collision (never happens in practice).
const ID_ATTEMPTS: usize = 8;

/// The whole emulated bank.
#[derive(Debug)]
pub(crate) struct State {
    pub(crate) sbp_merchant_id: String,
    pub(crate) bank_member_id: String,
    pub(crate) qrs: HashMap<String, Qr>,
    pub(crate) refunds: HashMap<String, Refund>,
    /// Cash-register link activations, by order id.
    pub(crate) orders: HashMap<String, Order>,
    /// Minted customer QRs, by payload.
    pub(crate) customer_qrs: HashMap<String, CustomerQr>,
    next_seq: u64,
    pub(crate) next_transaction_id: u64,
    /// Where callbacks go (`POST /settings/v1/callback`).
    pub(crate) callback_url: Option<String>,
}

impl State {
    /// An empty bank for one merchant.
    pub(crate) fn new(sbp_merchant_id: String, bank_member_id: String) -> State {
        State {
            sbp_merchant_id,
            bank_member_id,
            qrs: HashMap::new(),
            refunds: HashMap::new(),
            orders: HashMap::new(),
            customer_qrs: HashMap::new(),
            next_seq: 1,
            next_transaction_id: FIRST_TRANSACTION_ID,
            callback_url: None,
        }
    }

    /// The next sequence number (orders listings).
    pub(crate) fn take_seq(&mut self) -> u64 {
        let seq = self.next_seq;
        self.next_seq = self.next_seq.saturating_add(1);
        seq
    }

    /// Registers a QR. `fresh_id` is asked for a new 32-character id (for the QR type's prefix).
    pub(crate) fn register(
        &mut self,
        new: NewQr,
        now: DateTime<Utc>,
        mut fresh_id: impl FnMut(QrType) -> String,
    ) -> Result<Qr, SandboxError> {
        if new.sbp_merchant_id != self.sbp_merchant_id {
            return Err(SandboxError::MerchantNotRegistered(new.sbp_merchant_id));
        }
        if new.qr_type == QrType::Variable {
            if new.amount.is_some() {
                return Err(SandboxError::InvalidRequest(
                    "QRVariable регистрируется без суммы: сумма задаётся заказом".into(),
                ));
            }
        } else if !order_is_valid(&new.order) {
            return Err(SandboxError::InvalidOrder);
        }
        if new.qr_type == QrType::Dynamic && new.amount.is_none() {
            return Err(SandboxError::DynamicQrWithoutAmount);
        }
        if new.amount.is_some_and(Kopecks::is_zero) {
            return Err(SandboxError::InvalidRequest(
                "Сумма (amount) должна быть не меньше 0.01".into(),
            ));
        }
        let created = to_msk(now);
        let expires = match new.expiration {
            Some(at) if at <= now => {
                return Err(SandboxError::QrExpirationDateNotValid(format!(
                    "{} уже прошла",
                    expiration_text(at)
                )));
            }
            Some(at) => Some(at),
            None if new.qr_type == QrType::Dynamic => Some(
                created
                    .checked_add_days(DEFAULT_DYNAMIC_TTL)
                    .ok_or_else(|| SandboxError::Internal("date overflow".into()))?,
            ),
            None => None,
        };
        if new.qr_type != QrType::Variable
            && self
                .qrs
                .values()
                .any(|qr| qr.order == new.order && qr.has_success())
        {
            return Err(SandboxError::OrderNumberAlreadyRegistered(new.order));
        }
        let id = (0..ID_ATTEMPTS)
            .map(|_| fresh_id(new.qr_type))
            .find(|id| !self.qrs.contains_key(id))
            .ok_or_else(|| SandboxError::Internal("could not draw a unique qrId".into()))?;
        let link_type = match new.qr_type {
            QrType::Dynamic => LinkType::Dynamic,
            QrType::Static | QrType::Variable => LinkType::Static,
        };
        let payload = build_link(&id, link_type, &self.bank_member_id, new.amount);
        let qr = Qr {
            id: id.clone(),
            seq: self.take_seq(),
            qr_type: new.qr_type,
            order: new.order,
            amount: new.amount,
            created,
            expires,
            payment_details: new.payment_details,
            additional_info: new.additional_info,
            status: QrStatus::New,
            payments: Vec::new(),
            payload,
            customer_qr: None,
        };
        self.qrs.insert(id, qr.clone());
        Ok(qr)
    }

    /// A QR, refreshed as of `now`.
    pub(crate) fn qr_mut(
        &mut self,
        qr_id: &str,
        now: DateTime<Utc>,
    ) -> Result<&mut Qr, SandboxError> {
        let qr = self.qrs.get_mut(qr_id).ok_or(SandboxError::QrNotFound)?;
        qr.refresh(now);
        Ok(qr)
    }

    /// A QR as of `now`.
    pub(crate) fn qr(&mut self, qr_id: &str, now: DateTime<Utc>) -> Result<Qr, SandboxError> {
        self.qr_mut(qr_id, now).map(|qr| qr.clone())
    }

    /// Every QR as of `now`, in registration order.
    pub(crate) fn all_qrs(&mut self, now: DateTime<Utc>) -> Vec<Qr> {
        let mut all: Vec<Qr> = self
            .qrs
            .values_mut()
            .map(|qr| {
                qr.refresh(now);
                qr.clone()
            })
            .collect();
        all.sort_by_key(|qr| qr.seq);
        all
    }

    /// Every refund, in creation order.
    pub(crate) fn all_refunds(&self) -> Vec<Refund> {
        let mut all: Vec<Refund> = self.refunds.values().cloned().collect();
        all.sort_by_key(|r| r.seq);
        all
    }

    /// Moves the QR's expiry to `now` (sandbox control standing in for waiting); for a
    /// cash-register link, its live activation's.
    pub(crate) fn expire_now(
        &mut self,
        qr_id: &str,
        now: DateTime<Utc>,
    ) -> Result<Qr, SandboxError> {
        if self.qr_mut(qr_id, now)?.qr_type == QrType::Variable {
            self.expire_live_order(qr_id, now);
        }
        let qr = self.qr_mut(qr_id, now)?;
        if qr.status == QrStatus::New {
            qr.expires = Some(to_msk(now));
            qr.refresh(now);
        }
        Ok(qr.clone())
    }

    /// `DELETE /sbp/v2/qrs/{qrId}`: a `NEW` QR becomes `CANCELLED`; cancelling a cancelled or
    /// expired QR is a no-op; a paid one is refused.
    pub(crate) fn cancel(&mut self, qr_id: &str, now: DateTime<Utc>) -> Result<(), SandboxError> {
        let qr = self.qr_mut(qr_id, now)?;
        if qr.qr_type == QrType::Variable {
            return Err(SandboxError::InvalidRequest(
                "QRVariable не отменяется: отмените его заказ (DELETE /api/payment/v1/orders/{id})"
                    .into(),
            ));
        }
        match qr.status {
            QrStatus::New | QrStatus::InProgress => {
                qr.status = QrStatus::Cancelled;
                Ok(())
            }
            QrStatus::Cancelled | QrStatus::Expired => Ok(()),
            // The spec documents only the DELETE's success (HTTP 200, no body). Refusing a paid
            // QR is the stricter reading (the bank cannot un-pay it); the code is ours.
            QrStatus::Paid => Err(SandboxError::QrAlreadyPaid),
        }
    }

    /// Checks that the QR takes `amount` now and returns it for the attempt.
    fn payable(
        &mut self,
        qr_id: &str,
        amount: Option<Kopecks>,
        now: DateTime<Utc>,
    ) -> Result<(&mut Qr, Kopecks), SandboxError> {
        let qr = self.qr_mut(qr_id, now)?;
        if qr.qr_type == QrType::Variable {
            // Paid through its live order (`orders`), never directly.
            return Err(SandboxError::InvalidRequest(
                "QRVariable оплачивается по активному заказу".into(),
            ));
        }
        if qr.status != QrStatus::New {
            return Err(SandboxError::QrNotPayable {
                qr_id: qr.id.clone(),
                status: qr.status.as_str(),
            });
        }
        let amount = match (qr.amount, amount) {
            (Some(fixed), Some(given)) if fixed != given => {
                return Err(SandboxError::AmountMismatch {
                    expected: fixed.to_rubles_text(),
                    given: given.to_rubles_text(),
                });
            }
            (Some(fixed), _) => fixed,
            (None, Some(given)) => given,
            (None, None) => {
                return Err(SandboxError::InvalidRequest(
                    "QR-код без суммы: укажите amount".into(),
                ));
            }
        };
        if amount.is_zero() {
            return Err(SandboxError::InvalidRequest(
                "Сумма (amount) должна быть не меньше 0.01".into(),
            ));
        }
        Ok((qr, amount))
    }

    fn attempt(
        &mut self,
        qr_id: &str,
        amount: Option<Kopecks>,
        status: PaymentStatus,
        now: DateTime<Utc>,
    ) -> Result<PaymentEvent, SandboxError> {
        let transaction_id = self.next_transaction_id;
        let (qr, amount) = self.payable(qr_id, amount, now)?;
        let date = to_msk(now);
        qr.payments.push(Payment {
            transaction_id,
            amount,
            status,
            date,
        });
        if status == PaymentStatus::Success && qr.qr_type == QrType::Dynamic {
            qr.status = QrStatus::Paid;
        }
        let event = PaymentEvent {
            transaction_id,
            qr_id: qr.id.clone(),
            order: qr.order.clone(),
            amount,
            status,
            transaction_date: date,
            additional_info: qr.additional_info.clone(),
            create_date: qr.created,
        };
        // Only an accepted attempt uses up a transaction id.
        self.next_transaction_id = transaction_id.saturating_add(1);
        Ok(event)
    }

    /// The payer pays `amount`: it must equal the QR's fixed amount (a static QR without one
    /// takes any amount ≥ 0.01). A dynamic QR becomes `PAID`; a static one stays `NEW` and
    /// payable again.
    pub(crate) fn pay(
        &mut self,
        qr_id: &str,
        amount: Kopecks,
        now: DateTime<Utc>,
    ) -> Result<PaymentEvent, SandboxError> {
        self.attempt(qr_id, Some(amount), PaymentStatus::Success, now)
    }

    /// The payer's bank declines a payment attempt (`amount` defaults to the QR's). The QR
    /// stays `NEW`: the payer may try again.
    pub(crate) fn decline(
        &mut self,
        qr_id: &str,
        amount: Option<Kopecks>,
        now: DateTime<Utc>,
    ) -> Result<PaymentEvent, SandboxError> {
        self.attempt(qr_id, amount, PaymentStatus::Declined, now)
    }

    /// `POST /sbp/v1/refund`. The same `refundId` again answers that refund as it stands.
    pub(crate) fn refund(&mut self, new: NewRefund) -> Result<Refund, SandboxError> {
        if let Some(existing) = self.refunds.get(&new.refund_id) {
            return Ok(existing.clone());
        }
        if new.amount.is_zero() {
            return Err(SandboxError::InvalidRequest(
                "Сумма возврата (amount) должна быть не меньше 0.01".into(),
            ));
        }
        let mut candidates = self
            .qrs
            .values()
            .filter(|qr| qr.order == new.order)
            .flat_map(|qr| qr.payments.iter())
            .filter(|p| p.status == PaymentStatus::Success)
            .filter(|p| new.transaction_id.is_none_or(|t| t == p.transaction_id));
        let payment = candidates
            .next()
            .ok_or_else(|| SandboxError::PaymentNotFound(new.order.clone()))?;
        if candidates.next().is_some() {
            return Err(SandboxError::InvalidRequest(format!(
                "По заказу {} несколько платежей: укажите transactionId",
                new.order
            )));
        }
        let (transaction_id, paid) = (payment.transaction_id, payment.amount);
        let available = self.refundable(transaction_id, paid)?;
        if new.amount > available {
            return Err(SandboxError::RefundInsufficientFunds {
                available: available.to_rubles_text(),
            });
        }
        let refund = Refund {
            id: new.refund_id.clone(),
            order: new.order,
            transaction_id,
            amount: new.amount,
            status: RefundStatus::InProgress,
            completed: None,
            queried: false,
            seq: self.take_seq(),
        };
        self.refunds.insert(new.refund_id, refund.clone());
        Ok(refund)
    }

    /// What is left to refund of a payment: paid minus every refund not declined.
    pub(crate) fn refundable(
        &self,
        transaction_id: u64,
        paid: Kopecks,
    ) -> Result<Kopecks, SandboxError> {
        self.refunds
            .values()
            .filter(|r| r.transaction_id == transaction_id && r.status != RefundStatus::Declined)
            .try_fold(paid, |left, r| left.checked_sub(r.amount))
            .ok_or_else(|| SandboxError::Internal("refunds exceed the payment".into()))
    }

    /// `GET /sbp/v1/refund/{refundId}`: an `IN_PROGRESS` refund is answered `IN_PROGRESS` the
    /// first time and `COMPLETED` from the second read on, which records `now` as its
    /// completion time.
    pub(crate) fn refund_status(
        &mut self,
        refund_id: &str,
        now: DateTime<Utc>,
    ) -> Result<Refund, SandboxError> {
        let refund = self
            .refunds
            .get_mut(refund_id)
            .ok_or_else(|| SandboxError::RefundNotFound(refund_id.to_owned()))?;
        if refund.status == RefundStatus::InProgress {
            if refund.queried {
                refund.status = RefundStatus::Completed;
                refund.completed = Some(to_msk(now));
            } else {
                refund.queried = true;
            }
        }
        Ok(refund.clone())
    }

    /// Sandbox control: an `IN_PROGRESS` refund becomes `DECLINED`, its amount refundable again.
    pub(crate) fn decline_refund(&mut self, refund_id: &str) -> Result<Refund, SandboxError> {
        let refund = self
            .refunds
            .get_mut(refund_id)
            .ok_or_else(|| SandboxError::RefundNotFound(refund_id.to_owned()))?;
        if refund.status != RefundStatus::InProgress {
            return Err(SandboxError::RefundNotInProgress {
                refund_id: refund.id.clone(),
                status: refund.status.as_str(),
            });
        }
        refund.status = RefundStatus::Declined;
        Ok(refund.clone())
    }
}

#[cfg(test)]
mod tests {
    // fixed-dates: pure transitions and renderings with the time handed in; nothing here reads the wall clock.
    use super::*;
    use chrono::TimeDelta;

    fn k(v: i64) -> Kopecks {
        Kopecks::new(v).unwrap()
    }

    fn t0() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2024-05-01T10:00:00Z")
            .unwrap()
            .to_utc()
    }

    fn bank() -> State {
        State::new("MA0000000552".into(), "100000000007".into())
    }

    fn ids() -> impl FnMut(QrType) -> String {
        let mut n = 0u32;
        move |t| {
            n += 1;
            let prefix = if t == QrType::Dynamic { "AD1" } else { "AS1" };
            format!("{prefix}{n:029}")
        }
    }

    fn dynamic(order: &str, amount: i64) -> NewQr {
        NewQr {
            qr_type: QrType::Dynamic,
            sbp_merchant_id: "MA0000000552".into(),
            order: order.into(),
            amount: Some(k(amount)),
            expiration: None,
            payment_details: None,
            additional_info: None,
        }
    }

    #[test]
    fn order_rule() {
        assert!(order_is_valid("1-22-333"));
        assert!(order_is_valid("a.B_c-9"));
        assert!(order_is_valid(&"x".repeat(40)));
        assert!(!order_is_valid(&"x".repeat(41)));
        assert!(!order_is_valid(""));
        assert!(!order_is_valid("заказ"));
        assert!(!order_is_valid("a b"));
        assert!(!order_is_valid("a/b"));
    }

    #[test]
    fn dynamic_qr_defaults_to_three_days_and_expires_lazily() {
        let mut s = bank();
        let qr = s.register(dynamic("o1", 100), t0(), ids()).unwrap();
        assert_eq!(qr.expires.unwrap(), t0() + TimeDelta::days(3));
        assert_eq!(
            qr.payload,
            build_link(&qr.id, LinkType::Dynamic, "100000000007", Some(k(100)))
        );
        let just_before = t0() + TimeDelta::days(3) - TimeDelta::seconds(1);
        assert_eq!(s.qr(&qr.id, just_before).unwrap().status, QrStatus::New);
        let at = t0() + TimeDelta::days(3);
        assert_eq!(s.qr(&qr.id, at).unwrap().status, QrStatus::Expired);
        assert!(matches!(
            s.pay(&qr.id, k(100), at),
            Err(SandboxError::QrNotPayable {
                status: "EXPIRED",
                ..
            })
        ));
        assert_eq!(s.cancel(&qr.id, at), Ok(()));
        assert_eq!(s.qr(&qr.id, at).unwrap().status, QrStatus::Expired);
    }

    #[test]
    fn registration_rules() {
        let mut s = bank();
        let mut other = dynamic("o1", 100);
        other.sbp_merchant_id = "MA0000000001".into();
        assert!(matches!(
            s.register(other, t0(), ids()),
            Err(SandboxError::MerchantNotRegistered(_))
        ));
        let mut no_amount = dynamic("o1", 100);
        no_amount.amount = None;
        assert_eq!(
            s.register(no_amount, t0(), ids()).unwrap_err(),
            SandboxError::DynamicQrWithoutAmount
        );
        assert_eq!(
            s.register(dynamic("bad order", 100), t0(), ids())
                .unwrap_err(),
            SandboxError::InvalidOrder
        );
        assert!(matches!(
            s.register(dynamic("o1", 0), t0(), ids()),
            Err(SandboxError::InvalidRequest(_))
        ));
        let mut past = dynamic("o1", 100);
        past.expiration = Some(t0().fixed_offset());
        assert!(matches!(
            s.register(past, t0(), ids()),
            Err(SandboxError::QrExpirationDateNotValid(_))
        ));
        let mut static_qr = dynamic("o2", 100);
        static_qr.qr_type = QrType::Static;
        static_qr.amount = None;
        let qr = s.register(static_qr, t0(), ids()).unwrap();
        assert!(qr.id.starts_with("AS1"));
        assert_eq!(qr.expires, None);
        assert!(qr.payload.contains("type=01") && !qr.payload.contains("sum="));
    }

    #[test]
    fn pay_cancel_and_reuse_of_order() {
        let mut s = bank();
        let first = s.register(dynamic("o1", 100), t0(), ids()).unwrap();
        let second = s.register(dynamic("o1", 100), t0(), ids()).unwrap();
        assert!(matches!(
            s.pay(&first.id, k(99), t0()),
            Err(SandboxError::AmountMismatch { .. })
        ));
        let ev = s.pay(&first.id, k(100), t0()).unwrap();
        assert_eq!(ev.transaction_id, FIRST_TRANSACTION_ID);
        assert_eq!(ev.status, PaymentStatus::Success);
        assert_eq!(s.qr(&first.id, t0()).unwrap().status, QrStatus::Paid);
        assert_eq!(s.cancel(&first.id, t0()), Err(SandboxError::QrAlreadyPaid));
        assert_eq!(s.cancel(&second.id, t0()), Ok(()));
        assert_eq!(s.cancel(&second.id, t0()), Ok(()));
        assert!(matches!(
            s.pay(&second.id, k(100), t0()),
            Err(SandboxError::QrNotPayable {
                status: "CANCELLED",
                ..
            })
        ));
        assert!(matches!(
            s.register(dynamic("o1", 100), t0(), ids()),
            Err(SandboxError::OrderNumberAlreadyRegistered(_))
        ));
        assert_eq!(s.cancel("nope", t0()), Err(SandboxError::QrNotFound));
    }

    #[test]
    fn decline_keeps_the_qr_payable() {
        let mut s = bank();
        let qr = s.register(dynamic("o1", 100), t0(), ids()).unwrap();
        let declined = s.decline(&qr.id, None, t0()).unwrap();
        assert_eq!(declined.status, PaymentStatus::Declined);
        let now = s.qr(&qr.id, t0()).unwrap();
        assert_eq!(now.status, QrStatus::New);
        assert_eq!(now.payment_status(), PaymentStatus::Declined);
        let paid = s.pay(&qr.id, k(100), t0()).unwrap();
        assert!(paid.transaction_id > declined.transaction_id);
        assert_eq!(
            s.qr(&qr.id, t0()).unwrap().payment_status(),
            PaymentStatus::Success
        );
    }

    #[test]
    fn refunds() {
        let mut s = bank();
        let qr = s.register(dynamic("o1", 1000), t0(), ids()).unwrap();
        let refund = |id: &str, amount: i64| NewRefund {
            refund_id: id.into(),
            order: "o1".into(),
            transaction_id: None,
            amount: k(amount),
        };
        assert!(matches!(
            s.refund(refund("r0", 10)),
            Err(SandboxError::PaymentNotFound(_))
        ));
        s.pay(&qr.id, k(1000), t0()).unwrap();
        assert_eq!(
            s.refund(refund("r1", 600)).unwrap().status,
            RefundStatus::InProgress
        );
        // The same id again is the same refund, not a second one.
        assert_eq!(s.refund(refund("r1", 600)).unwrap().amount, k(600));
        assert!(matches!(
            s.refund(refund("r2", 401)),
            Err(SandboxError::RefundInsufficientFunds { .. })
        ));
        let first_read = s.refund_status("r1", t0()).unwrap();
        assert_eq!(first_read.status, RefundStatus::InProgress);
        assert_eq!(first_read.completed, None);
        let done_at = t0() + TimeDelta::minutes(1);
        let second_read = s.refund_status("r1", done_at).unwrap();
        assert_eq!(second_read.status, RefundStatus::Completed);
        assert_eq!(second_read.completed, Some(to_msk(done_at)));
        // Later reads do not move the completion time.
        let later = s.refund_status("r1", t0() + TimeDelta::hours(1)).unwrap();
        assert_eq!(later.completed, Some(to_msk(done_at)));
        assert!(matches!(
            s.decline_refund("r1"),
            Err(SandboxError::RefundNotInProgress { .. })
        ));
        s.refund(refund("r3", 400)).unwrap();
        assert!(matches!(
            s.refund(refund("r4", 1)),
            Err(SandboxError::RefundInsufficientFunds { .. })
        ));
        s.decline_refund("r3").unwrap();
        s.refund(refund("r4", 400)).unwrap();
        assert!(matches!(
            s.refund_status("nope", t0()),
            Err(SandboxError::RefundNotFound(_))
        ));
        let mut wrong_tx = refund("r5", 1);
        wrong_tx.transaction_id = Some(1);
        assert!(matches!(
            s.refund(wrong_tx),
            Err(SandboxError::PaymentNotFound(_))
        ));
    }

    #[test]
    fn static_qr_takes_several_payments_and_refunds_need_the_transaction() {
        let mut s = bank();
        let mut new = dynamic("shop", 100);
        new.qr_type = QrType::Static;
        new.amount = None;
        let qr = s.register(new, t0(), ids()).unwrap();
        assert!(matches!(
            s.decline(&qr.id, None, t0()),
            Err(SandboxError::InvalidRequest(_))
        ));
        let a = s.pay(&qr.id, k(150), t0()).unwrap();
        let b = s.pay(&qr.id, k(250), t0()).unwrap();
        assert_eq!(s.qr(&qr.id, t0()).unwrap().status, QrStatus::New);
        let mut refund = NewRefund {
            refund_id: "r1".into(),
            order: "shop".into(),
            transaction_id: None,
            amount: k(100),
        };
        assert!(matches!(
            s.refund(refund.clone()),
            Err(SandboxError::InvalidRequest(_))
        ));
        refund.transaction_id = Some(a.transaction_id);
        s.refund(refund.clone()).unwrap();
        refund.refund_id = "r2".into();
        refund.amount = k(51);
        assert!(matches!(
            s.refund(refund.clone()),
            Err(SandboxError::RefundInsufficientFunds { .. })
        ));
        refund.transaction_id = Some(b.transaction_id);
        s.refund(refund).unwrap();
    }
}
