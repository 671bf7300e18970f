//! The T-Bank terminal's books and their pure transitions (no clock, randomness or IO: every
//! transition takes `now`): payments, their status model, refunds (one at a time, completed on
//! the second status read), the SBP limits.

use crate::raiffeisen::model::RefundStatus;
use crate::tbank::error::TbankError;
use crate::time::to_msk;
use chrono::{DateTime, FixedOffset, Utc};
use qrpayd_domain::money::Kopecks;
use qrpayd_domain::nspk::{LinkType, build_link};
use std::collections::HashMap;

/// T-Bank's NSPK member id, written into its payloads (`bank=`).
pub(crate) const TBANK_MEMBER_ID: &str = "100000000004";

/// The first `PaymentId` handed out; they increase by one.
const FIRST_PAYMENT_ID: u64 = 3_000_000_001;

/// Longest `OrderId` T-Bank takes.
const MAX_ORDER_ID: usize = 36;

/// The SBP amount range (the spec's error 3016: "from 10 rubles to 1 million rubles").
const SBP_MIN: Kopecks = Kopecks::from_rubles(10);

/// See [`SBP_MIN`].
const SBP_MAX: Kopecks = Kopecks::from_rubles(1_000_000);

/// A payment's own status (refunds are derived on top of `Confirmed`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TbStatus {
    /// Created.
    New,
    /// Its QR was asked for.
    FormShowed,
    /// Paid.
    Confirmed,
    /// The customer's bank refused.
    Rejected,
    /// `RedirectDueDate` passed unpaid.
    DeadlineExpired,
    /// Cancelled unpaid.
    Canceled,
}

impl TbStatus {
    fn as_str(self) -> &'static str {
        match self {
            TbStatus::New => "NEW",
            TbStatus::FormShowed => "FORM_SHOWED",
            TbStatus::Confirmed => "CONFIRMED",
            TbStatus::Rejected => "REJECTED",
            TbStatus::DeadlineExpired => "DEADLINE_EXPIRED",
            TbStatus::Canceled => "CANCELED",
        }
    }

    fn is_open(self) -> bool {
        matches!(self, TbStatus::New | TbStatus::FormShowed)
    }
}

/// A refund operation (`Cancel` of a paid payment). T-Bank gives SBP refunds no id of the
/// merchant's; the sandbox numbers them per payment for its own overview.
#[derive(Debug, Clone)]
pub(crate) struct TbRefund {
    /// 1, 2, … within the payment.
    pub(crate) number: usize,
    /// Kopecks refunded.
    pub(crate) amount: Kopecks,
    /// What was left before it.
    pub(crate) before: Kopecks,
    /// What is left after it.
    pub(crate) after: Kopecks,
    /// In progress, completed, declined.
    pub(crate) status: RefundStatus,
    /// Status reads since it was made; the second completes it.
    reads: u8,
}

impl TbRefund {
    /// The refund's state as the sandbox overview shows it.
    pub(crate) fn status_text(&self) -> &'static str {
        match self.status {
            RefundStatus::InProgress => "ASYNC_REFUNDING",
            RefundStatus::Completed if self.after.is_zero() => "REFUNDED",
            RefundStatus::Completed => "PARTIAL_REFUNDED",
            RefundStatus::Declined => "DECLINED",
        }
    }
}

/// The SBP error `GetQrState` reports for a declined refund (the spec's example code).
pub(crate) const REFUND_FAILED_CODE: &str = "I05043";

/// A payment at the terminal.
#[derive(Debug, Clone)]
pub(crate) struct TbPayment {
    /// `PaymentId`.
    pub(crate) id: String,
    /// `OrderId`.
    pub(crate) order_id: String,
    /// Kopecks.
    pub(crate) amount: Kopecks,
    /// `Description`.
    pub(crate) description: Option<String>,
    /// `NotificationURL` given at `Init`.
    pub(crate) notification_url: Option<String>,
    /// `RedirectDueDate`.
    pub(crate) due: Option<DateTime<FixedOffset>>,
    /// When it was created.
    pub(crate) created: DateTime<FixedOffset>,
    /// Its own status.
    pub(crate) status: TbStatus,
    /// The NSPK link, once `GetQr` was called.
    pub(crate) payload: Option<String>,
    /// Refund operations, oldest first.
    pub(crate) refunds: Vec<TbRefund>,
}

impl TbPayment {
    fn refresh(&mut self, now: DateTime<Utc>) {
        if self.status.is_open() && self.due.is_some_and(|due| due <= now) {
            self.status = TbStatus::DeadlineExpired;
        }
    }

    /// `Status` as `GetState` answers it.
    pub(crate) fn status_text(&self) -> &'static str {
        if self.status != TbStatus::Confirmed {
            return self.status.as_str();
        }
        if self
            .refunds
            .iter()
            .any(|r| r.status == RefundStatus::InProgress)
        {
            return "ASYNC_REFUNDING";
        }
        match self.left(|r| r.status == RefundStatus::Completed) {
            Some(left) if left.is_zero() => "REFUNDED",
            Some(left) if left < self.amount => "PARTIAL_REFUNDED",
            _ => "CONFIRMED",
        }
    }

    /// What is left after completed refunds (`GetState`'s `Amount`).
    pub(crate) fn left_after_completed(&self) -> Kopecks {
        self.left(|r| r.status == RefundStatus::Completed)
            .unwrap_or(Kopecks::ZERO)
    }

    /// A status read: a refund in progress completes on its second read. Returns the
    /// notification of the completion.
    fn read(&mut self) -> Option<TbEvent> {
        let refund = self
            .refunds
            .iter_mut()
            .find(|r| r.status == RefundStatus::InProgress)?;
        refund.reads = refund.reads.saturating_add(1);
        if refund.reads < 2 {
            return None;
        }
        refund.status = RefundStatus::Completed;
        Some(TbEvent::of(self))
    }

    /// The amount minus the refunds `counted` picks.
    fn left(&self, counted: impl Fn(&TbRefund) -> bool) -> Option<Kopecks> {
        self.refunds
            .iter()
            .filter(|r| counted(r))
            .try_fold(self.amount, |left, r| left.checked_sub(r.amount))
    }
}

/// What `Cancel` did.
#[derive(Debug, Clone)]
pub(crate) struct Cancelled {
    /// The payment after it.
    pub(crate) payment: TbPayment,
    /// The operation's `Status`.
    pub(crate) status: &'static str,
    /// `OriginalAmount`.
    pub(crate) original: Kopecks,
    /// `NewAmount`.
    pub(crate) new: Kopecks,
}

/// A status change to notify.
#[derive(Debug, Clone)]
pub(crate) struct TbEvent {
    /// `PaymentId`.
    pub(crate) payment_id: String,
    /// `OrderId`.
    pub(crate) order_id: String,
    /// The payment's amount.
    pub(crate) amount: Kopecks,
    /// The payment's new `Status`.
    pub(crate) status: &'static str,
    /// The payment's `NotificationURL`.
    pub(crate) url: Option<String>,
}

impl TbEvent {
    fn of(payment: &TbPayment) -> TbEvent {
        TbEvent {
            payment_id: payment.id.clone(),
            order_id: payment.order_id.clone(),
            amount: payment.amount,
            status: payment.status_text(),
            url: payment.notification_url.clone(),
        }
    }

    /// The fiscal-receipt notice that follows a payment at a terminal with an online cash
    /// register (`Status: RECEIPT`).
    pub(crate) fn receipt(&self) -> TbEvent {
        TbEvent {
            status: "RECEIPT",
            ..self.clone()
        }
    }
}

/// The terminal's books.
#[derive(Debug)]
pub(crate) struct TbBooks {
    payments: HashMap<String, TbPayment>,
    next_id: u64,
    /// The terminal's notification URL (`PUT /sandbox/tbank/notification-url`).
    pub(crate) notification_url: Option<String>,
}

impl Default for TbBooks {
    fn default() -> Self {
        TbBooks {
            payments: HashMap::new(),
            next_id: FIRST_PAYMENT_ID,
            notification_url: None,
        }
    }
}

/// The fields `Init` needs.
#[derive(Debug, Clone)]
pub(crate) struct NewPayment {
    /// `OrderId`.
    pub(crate) order_id: String,
    /// Kopecks.
    pub(crate) amount: Kopecks,
    /// `Description`.
    pub(crate) description: Option<String>,
    /// `RedirectDueDate`.
    pub(crate) due: Option<DateTime<FixedOffset>>,
    /// `NotificationURL`.
    pub(crate) notification_url: Option<String>,
}

impl TbBooks {
    fn payment_mut(&mut self, id: &str, now: DateTime<Utc>) -> Result<&mut TbPayment, TbankError> {
        let payment = self
            .payments
            .get_mut(id)
            .ok_or_else(|| TbankError::PaymentNotFound(id.to_owned()))?;
        payment.refresh(now);
        Ok(payment)
    }

    /// `Init`.
    pub(crate) fn init(
        &mut self,
        new: NewPayment,
        now: DateTime<Utc>,
    ) -> Result<TbPayment, TbankError> {
        if new.amount.is_zero() {
            return Err(TbankError::Invalid("Amount должен быть больше 0".into()));
        }
        if new.order_id.is_empty() || new.order_id.chars().count() > MAX_ORDER_ID {
            return Err(TbankError::Invalid("OrderId: от 1 до 36 символов".into()));
        }
        if let Some(due) = new.due
            && (due < now + chrono::TimeDelta::minutes(1)
                || due > now + chrono::TimeDelta::days(90))
        {
            return Err(TbankError::DueDateOutOfRange(due.to_rfc3339()));
        }
        let id = self.next_id.to_string();
        self.next_id = self.next_id.saturating_add(1);
        let payment = TbPayment {
            id: id.clone(),
            order_id: new.order_id,
            amount: new.amount,
            description: new.description,
            notification_url: new.notification_url,
            due: new.due,
            created: to_msk(now),
            status: TbStatus::New,
            payload: None,
            refunds: Vec::new(),
        };
        self.payments.insert(id, payment.clone());
        Ok(payment)
    }

    /// `GetQr`: the payment's NSPK link (made on the first call with `fresh_qrc_id`).
    pub(crate) fn get_qr(
        &mut self,
        id: &str,
        now: DateTime<Utc>,
        fresh_qrc_id: impl FnOnce() -> String,
    ) -> Result<TbPayment, TbankError> {
        let payment = self.payment_mut(id, now)?;
        if !payment.status.is_open() {
            return Err(TbankError::WrongStatus(payment.status.as_str()));
        }
        // 3016 "Невозможно создать QR" is documented for an SBP amount outside the range; the
        // spec does not say which call answers it. The QR is made here, so here it is refused
        // (a card payment of the same amount would be fine).
        if payment.amount < SBP_MIN || payment.amount > SBP_MAX {
            return Err(TbankError::QrAmountOutOfRange(payment.amount.get()));
        }
        if payment.payload.is_none() {
            payment.payload = Some(build_link(
                &fresh_qrc_id(),
                LinkType::Dynamic,
                TBANK_MEMBER_ID,
                Some(payment.amount),
            ));
        }
        payment.status = TbStatus::FormShowed;
        Ok(payment.clone())
    }

    /// `GetState` (a status read: see [`TbPayment::read`]).
    pub(crate) fn state(
        &mut self,
        id: &str,
        now: DateTime<Utc>,
    ) -> Result<(TbPayment, Option<TbEvent>), TbankError> {
        let payment = self.payment_mut(id, now)?;
        let event = payment.read();
        Ok((payment.clone(), event))
    }

    /// Is the payment open (nobody paid yet)? For the "customer pays before the cancel"
    /// fault.
    pub(crate) fn is_open(&mut self, id: &str, now: DateTime<Utc>) -> bool {
        self.payment_mut(id, now).is_ok_and(|p| p.status.is_open())
    }

    /// `Cancel`: an unpaid payment is cancelled; a paid one refunded by `amount` (default:
    /// what is left), one refund at a time.
    /// The answer `cancel` gives an open payment, without cancelling it (a fault).
    pub(crate) fn cancel_in_words_only(
        &mut self,
        id: &str,
        now: DateTime<Utc>,
    ) -> Result<Cancelled, TbankError> {
        let payment = self.payment_mut(id, now)?;
        let mut answered = payment.clone();
        answered.status = TbStatus::Canceled;
        Ok(Cancelled {
            original: payment.amount,
            payment: answered,
            status: "CANCELED",
            new: Kopecks::ZERO,
        })
    }

    pub(crate) fn cancel(
        &mut self,
        id: &str,
        amount: Option<Kopecks>,
        now: DateTime<Utc>,
    ) -> Result<Cancelled, TbankError> {
        let payment = self.payment_mut(id, now)?;
        if payment.status.is_open() {
            payment.status = TbStatus::Canceled;
            return Ok(Cancelled {
                payment: payment.clone(),
                status: "CANCELED",
                original: payment.amount,
                new: Kopecks::ZERO,
            });
        }
        if payment.status != TbStatus::Confirmed {
            return Err(TbankError::WrongStatus(payment.status.as_str()));
        }
        // The spec is silent on a refund while another is in progress; the stricter reading
        // (refused, error 4) keeps an adapter from relying on the bank to queue them.
        if payment
            .refunds
            .iter()
            .any(|r| r.status == RefundStatus::InProgress)
        {
            return Err(TbankError::WrongStatus("ASYNC_REFUNDING"));
        }
        let left = payment.left_after_completed();
        let amount = amount.unwrap_or(left);
        let after = left
            .checked_sub(amount)
            .filter(|_| !amount.is_zero())
            .ok_or(TbankError::RefundTooLarge(left.get()))?;
        let refund = TbRefund {
            number: payment.refunds.len().saturating_add(1),
            amount,
            before: left,
            after,
            status: RefundStatus::InProgress,
            reads: 0,
        };
        payment.refunds.push(refund);
        Ok(Cancelled {
            payment: payment.clone(),
            status: "ASYNC_REFUNDING",
            original: left,
            new: after,
        })
    }

    /// `GetQrState` (a status read): the payment and its latest refund.
    pub(crate) fn qr_state(
        &mut self,
        id: &str,
        now: DateTime<Utc>,
    ) -> Result<(TbPayment, Option<TbEvent>), TbankError> {
        self.state(id, now)
    }

    /// `SbpPayTest`: the customer pays, or their bank rejects, or the deadline passes.
    pub(crate) fn pay_test(
        &mut self,
        id: &str,
        deadline_expired: bool,
        rejected: bool,
        now: DateTime<Utc>,
    ) -> Result<TbEvent, TbankError> {
        if deadline_expired && rejected {
            return Err(TbankError::Invalid(
                "IsDeadlineExpired и IsRejected не передаются вместе".into(),
            ));
        }
        let payment = self.payment_mut(id, now)?;
        if !payment.status.is_open() {
            return Err(TbankError::WrongStatus(payment.status.as_str()));
        }
        payment.status = if deadline_expired {
            TbStatus::DeadlineExpired
        } else if rejected {
            TbStatus::Rejected
        } else {
            TbStatus::Confirmed
        };
        Ok(TbEvent::of(payment))
    }

    /// Sandbox control: the payment's refund in progress is declined (the SBP refused it).
    pub(crate) fn decline_refund(
        &mut self,
        id: &str,
        now: DateTime<Utc>,
    ) -> Result<TbRefund, TbankError> {
        let payment = self.payment_mut(id, now)?;
        let refund = payment
            .refunds
            .iter_mut()
            .find(|r| r.status == RefundStatus::InProgress)
            .ok_or_else(|| TbankError::NoRefundInProgress(id.to_owned()))?;
        refund.status = RefundStatus::Declined;
        Ok(refund.clone())
    }

    /// Every payment as of `now`, oldest first.
    pub(crate) fn all(&mut self, now: DateTime<Utc>) -> Vec<TbPayment> {
        let mut all: Vec<TbPayment> = self
            .payments
            .values_mut()
            .map(|p| {
                p.refresh(now);
                p.clone()
            })
            .collect();
        all.sort_by_key(|p| p.id.parse::<u64>().unwrap_or(u64::MAX));
        all
    }
}

#[cfg(test)]
mod tests {
    // fixed-dates: pure transitions and renderings with the time handed in; nothing here reads the wall clock.
    use super::*;

    fn k(v: i64) -> Kopecks {
        Kopecks::new(v).unwrap()
    }

    fn t0() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2024-05-01T10:00:00Z")
            .unwrap()
            .to_utc()
    }

    fn new(order: &str, amount: i64) -> NewPayment {
        NewPayment {
            order_id: order.into(),
            amount: k(amount),
            description: None,
            due: Some((t0() + chrono::TimeDelta::minutes(5)).fixed_offset()),
            notification_url: None,
        }
    }

    #[test]
    fn pay_refund_and_statuses() {
        let mut b = TbBooks::default();
        let p = b.init(new("pay_1", 10_000), t0()).unwrap();
        assert_eq!(p.id, FIRST_PAYMENT_ID.to_string());
        assert_eq!(p.status_text(), "NEW");
        let shown = b
            .get_qr(&p.id, t0(), || "AD10000000000000000000000000TEST".into())
            .unwrap();
        assert_eq!(shown.status_text(), "FORM_SHOWED");
        let link = qrpayd_domain::nspk::parse_link(shown.payload.as_deref().unwrap()).unwrap();
        assert_eq!(
            (link.sum, link.bank.as_deref(), link.crc_ok),
            (Some(k(10_000)), Some(TBANK_MEMBER_ID), Some(true))
        );
        let paid = b.pay_test(&p.id, false, false, t0()).unwrap();
        assert_eq!(paid.status, "CONFIRMED");
        assert!(matches!(
            b.pay_test(&p.id, false, false, t0()),
            Err(TbankError::WrongStatus("CONFIRMED"))
        ));
        let r1 = b.cancel(&p.id, Some(k(4_000)), t0()).unwrap();
        assert_eq!(
            (r1.status, r1.original, r1.new),
            ("ASYNC_REFUNDING", k(10_000), k(6_000))
        );
        // One refund at a time.
        assert!(matches!(
            b.cancel(&p.id, Some(k(1)), t0()),
            Err(TbankError::WrongStatus("ASYNC_REFUNDING"))
        ));
        // The first read sees it in progress (nothing left has changed yet) ...
        let (state, event) = b.state(&p.id, t0()).unwrap();
        assert_eq!(
            (
                state.status_text(),
                state.left_after_completed(),
                event.is_none()
            ),
            ("ASYNC_REFUNDING", k(10_000), true)
        );
        // ... the second completes it, and notifies.
        let (done, event) = b.qr_state(&p.id, t0()).unwrap();
        assert_eq!(
            (done.status_text(), done.left_after_completed()),
            ("PARTIAL_REFUNDED", k(6_000))
        );
        assert_eq!(event.unwrap().status, "PARTIAL_REFUNDED");
        assert!(matches!(
            b.cancel(&p.id, Some(k(6_001)), t0()),
            Err(TbankError::RefundTooLarge(6_000))
        ));
        let rest = b.cancel(&p.id, None, t0()).unwrap();
        assert_eq!(rest.new, Kopecks::ZERO);
        b.qr_state(&p.id, t0()).unwrap();
        let (last, _) = b.qr_state(&p.id, t0()).unwrap();
        assert_eq!(last.status_text(), "REFUNDED");
        assert_eq!(last.refunds.len(), 2);
    }

    #[test]
    fn cancel_reject_expire() {
        let mut b = TbBooks::default();
        let a = b.init(new("pay_a", 100), t0()).unwrap();
        let c = b.cancel(&a.id, Some(k(1)), t0()).unwrap();
        assert_eq!((c.status, c.new), ("CANCELED", Kopecks::ZERO));
        assert!(matches!(
            b.cancel(&a.id, None, t0()),
            Err(TbankError::WrongStatus("CANCELED"))
        ));
        let r = b.init(new("pay_r", 100), t0()).unwrap();
        assert_eq!(
            b.pay_test(&r.id, false, true, t0()).unwrap().status,
            "REJECTED"
        );
        let d = b.init(new("pay_d", 100), t0()).unwrap();
        assert_eq!(
            b.pay_test(&d.id, true, false, t0()).unwrap().status,
            "DEADLINE_EXPIRED"
        );
        assert!(matches!(
            b.pay_test(&d.id, true, true, t0()),
            Err(TbankError::Invalid(_))
        ));
        let late = b.init(new("pay_l", 100), t0()).unwrap();
        let after_due = t0() + chrono::TimeDelta::minutes(5);
        assert_eq!(
            b.state(&late.id, after_due).unwrap().0.status_text(),
            "DEADLINE_EXPIRED"
        );
        assert!(matches!(
            b.get_qr(&late.id, after_due, || unreachable!()),
            Err(TbankError::WrongStatus("DEADLINE_EXPIRED"))
        ));
        assert!(matches!(
            b.state("1", t0()),
            Err(TbankError::PaymentNotFound(_))
        ));
        assert!(matches!(
            b.init(new("", 100), t0()),
            Err(TbankError::Invalid(_))
        ));
        assert!(matches!(
            b.init(new("o", 0), t0()),
            Err(TbankError::Invalid(_))
        ));
        assert_eq!(b.all(t0()).len(), 4);
    }

    #[test]
    fn declined_refunds_free_their_amount() {
        let mut b = TbBooks::default();
        let p = b.init(new("pay_1", 100), t0()).unwrap();
        b.pay_test(&p.id, false, false, t0()).unwrap();
        b.cancel(&p.id, Some(k(100)), t0()).unwrap();
        let declined = b.decline_refund(&p.id, t0()).unwrap();
        assert_eq!(declined.status_text(), "DECLINED");
        assert!(matches!(
            b.decline_refund(&p.id, t0()),
            Err(TbankError::NoRefundInProgress(_))
        ));
        assert_eq!(b.state(&p.id, t0()).unwrap().0.status_text(), "CONFIRMED");
        b.cancel(&p.id, Some(k(100)), t0()).unwrap();
    }

    #[test]
    fn the_redirect_due_date_must_be_one_minute_to_ninety_days_ahead() {
        let mut b = TbBooks::default();
        let due = |seconds: i64| NewPayment {
            due: Some((t0() + chrono::TimeDelta::seconds(seconds)).fixed_offset()),
            ..new("pay_due", 1_000)
        };
        for bad in [-1, 0, 59, 90 * 86_400 + 1] {
            assert!(
                matches!(
                    b.init(due(bad), t0()),
                    Err(TbankError::DueDateOutOfRange(_))
                ),
                "{bad}"
            );
        }
        for good in [60, 90 * 86_400] {
            assert!(b.init(due(good), t0()).is_ok(), "{good}");
        }
    }
}
