//! The RBS merchant's books and their pure transitions (no clock, randomness or IO: every
//! transition takes `now`, fresh ids come from the caller): orders, their SBP QR, refunds keyed
//! by `externalRefundId` (completed on the second status read, like the other banks' sandboxes).

use crate::rbs::error::RbsError;
use chrono::{DateTime, Utc};
use qrpayd_domain::money::Kopecks;
use qrpayd_domain::nspk::{LinkType, build_link};

/// Alfa-Bank's NSPK member id, written into the sandbox's payloads (`bank=`).
pub(crate) const RBS_MEMBER_ID: &str = "100000000008";

/// `actionCode` of an order whose time ran out.
pub(crate) const SESSION_EXPIRED: &str = "-2007";

/// `actionCode` the sandbox gives a payment the customer's bank refused.
const PAYMENT_REFUSED: &str = "116";

/// `actionCode` the sandbox gives a refund the SBP refused.
const REFUND_REFUSED: &str = "-2019";

/// The documented `qrStatus` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum QrState {
    /// Formed, payable.
    Started,
    /// Paid.
    Accepted,
    /// The payment was refused.
    Rejected,
    /// Deactivated by the merchant (`reject.do`).
    RejectedByUser,
}

impl QrState {
    /// `qrStatus`.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            QrState::Started => "STARTED",
            QrState::Accepted => "ACCEPTED",
            QrState::Rejected => "REJECTED",
            QrState::RejectedByUser => "REJECTED_BY_USER",
        }
    }

    /// `transactionState`.
    pub(crate) fn transaction_state(self) -> &'static str {
        match self {
            QrState::Started | QrState::RejectedByUser => "CREATED",
            QrState::Accepted => "DEPOSITED",
            QrState::Rejected => "DECLINED",
        }
    }
}

/// An order's SBP QR.
#[derive(Debug, Clone)]
pub(crate) struct RbsQr {
    /// NSPK's id.
    pub(crate) qr_id: String,
    /// The NSPK link.
    pub(crate) payload: String,
    /// Its state.
    pub(crate) state: QrState,
}

/// A refund's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RefundState {
    /// Accepted, not settled; the number of status reads since.
    Pending(u8),
    /// Money back with the customer.
    Completed,
    /// Refused by the SBP.
    Declined,
}

/// A refund of an order.
#[derive(Debug, Clone)]
pub(crate) struct RbsRefund {
    /// The merchant's `externalRefundId`.
    pub(crate) external_id: String,
    /// Kopecks.
    pub(crate) amount: Kopecks,
    /// Where it is.
    pub(crate) state: RefundState,
}

impl RbsRefund {
    /// `actionCode` in `refunds`: none while pending.
    pub(crate) fn action_code(&self) -> Option<&'static str> {
        match self.state {
            RefundState::Pending(_) => None,
            RefundState::Completed => Some("0"),
            RefundState::Declined => Some(REFUND_REFUSED),
        }
    }
}

/// An order at the gateway.
#[derive(Debug, Clone)]
pub(crate) struct RbsOrder {
    /// `orderId` / `mdOrder`.
    pub(crate) md_order: String,
    /// The merchant's `orderNumber`.
    pub(crate) order_number: String,
    /// Kopecks.
    pub(crate) amount: Kopecks,
    /// `description`.
    pub(crate) description: Option<String>,
    /// When it stops being payable.
    pub(crate) expires: DateTime<Utc>,
    /// `dynamicCallbackUrl`.
    pub(crate) callback_url: Option<String>,
    /// `orderStatus`: 0 registered, 2 paid, 4 refunded, 6 declined.
    pub(crate) order_status: i64,
    /// `actionCode`.
    pub(crate) action_code: &'static str,
    /// Its QR, once asked for.
    pub(crate) qr: Option<RbsQr>,
    /// Refunds, oldest first.
    pub(crate) refunds: Vec<RbsRefund>,
    /// When it was registered.
    pub(crate) created: DateTime<Utc>,
}

impl RbsOrder {
    /// Applies the expiry: an unpaid order past its time is declined (`-2007`).
    fn refresh(&mut self, now: DateTime<Utc>) {
        if self.order_status == 0 && self.expires <= now {
            self.order_status = 6;
            self.action_code = SESSION_EXPIRED;
        }
    }

    /// Kopecks of completed refunds.
    fn refunded(&self) -> Kopecks {
        self.total(|r| r.state == RefundState::Completed)
    }

    fn total(&self, which: impl Fn(&RbsRefund) -> bool) -> Kopecks {
        self.refunds
            .iter()
            .filter(|r| which(r))
            .fold(Kopecks::ZERO, |sum, r| {
                sum.checked_add(r.amount).unwrap_or(sum)
            })
    }

    /// Is the order paid (perhaps partly refunded since)?
    pub(crate) fn is_paid(&self) -> bool {
        matches!(self.order_status, 2 | 4)
    }
}

/// What a notification says: the order and what happened to it.
#[derive(Debug, Clone)]
pub(crate) struct RbsEvent {
    /// The order as it is now.
    pub(crate) order: RbsOrder,
    /// `operation`.
    pub(crate) operation: &'static str,
    /// `status`: `1` success, `0` failure.
    pub(crate) success: bool,
}

/// A new order's fields.
#[derive(Debug)]
pub(crate) struct NewOrder {
    /// `orderNumber`.
    pub(crate) order_number: String,
    /// Kopecks.
    pub(crate) amount: Kopecks,
    /// `description`.
    pub(crate) description: Option<String>,
    /// From `expirationDate` (else twenty minutes, the gateway's default session).
    pub(crate) expires: Option<DateTime<Utc>>,
    /// `dynamicCallbackUrl`.
    pub(crate) callback_url: Option<String>,
}

/// The merchant's orders.
#[derive(Debug, Default)]
pub(crate) struct RbsBooks {
    orders: Vec<RbsOrder>,
}

impl RbsBooks {
    fn find(&mut self, md_order: &str, now: DateTime<Utc>) -> Result<&mut RbsOrder, RbsError> {
        let order = self
            .orders
            .iter_mut()
            .find(|o| o.md_order == md_order)
            .ok_or(RbsError::UnknownOrder)?;
        order.refresh(now);
        Ok(order)
    }

    /// `register.do`.
    pub(crate) fn register(
        &mut self,
        new: NewOrder,
        md_order: String,
        now: DateTime<Utc>,
    ) -> Result<RbsOrder, RbsError> {
        if self
            .orders
            .iter()
            .any(|o| o.order_number == new.order_number)
        {
            return Err(RbsError::DuplicateOrderNumber);
        }
        let expires = new
            .expires
            .unwrap_or_else(|| now + chrono::Duration::minutes(20));
        if expires <= now {
            return Err(RbsError::Invalid("expirationDate".into()));
        }
        let order = RbsOrder {
            md_order,
            order_number: new.order_number,
            amount: new.amount,
            description: new.description,
            expires,
            callback_url: new.callback_url,
            order_status: 0,
            action_code: "0",
            qr: None,
            refunds: Vec::new(),
            created: now,
        };
        self.orders.push(order.clone());
        Ok(order)
    }

    /// `sbp/c2b/qr/dynamic/get.do`: the order's QR (the same one while it is payable).
    pub(crate) fn dynamic_qr(
        &mut self,
        md_order: &str,
        now: DateTime<Utc>,
        fresh_qr_id: impl FnOnce() -> String,
    ) -> Result<RbsQr, RbsError> {
        let order = self.find(md_order, now)?;
        if order.order_status != 0 {
            return Err(RbsError::WrongState("заказ не ожидает оплаты"));
        }
        if let Some(qr) = order.qr.as_ref().filter(|q| q.state == QrState::Started) {
            return Ok(qr.clone());
        }
        let qr_id = fresh_qr_id();
        let payload = build_link(&qr_id, LinkType::Dynamic, RBS_MEMBER_ID, Some(order.amount));
        let qr = RbsQr {
            qr_id,
            payload,
            state: QrState::Started,
        };
        order.qr = Some(qr.clone());
        Ok(qr)
    }

    /// The order and its QR (`qrId`, when given, must be its QR).
    fn with_qr(
        &mut self,
        md_order: &str,
        qr_id: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<&mut RbsOrder, RbsError> {
        let order = self.find(md_order, now)?;
        match (&order.qr, qr_id) {
            (None, _) => Err(RbsError::UnknownOrder),
            (Some(qr), Some(asked)) if qr.qr_id != asked => Err(RbsError::UnknownOrder),
            _ => Ok(order),
        }
    }

    /// `sbp/c2b/qr/status.do`.
    pub(crate) fn qr_status(
        &mut self,
        md_order: &str,
        qr_id: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<RbsQr, RbsError> {
        let order = self.with_qr(md_order, qr_id, now)?;
        order.qr.clone().ok_or(RbsError::UnknownOrder)
    }

    /// Is the order's QR payable now?
    pub(crate) fn is_open(&mut self, md_order: &str, now: DateTime<Utc>) -> bool {
        self.find(md_order, now).is_ok_and(|o| {
            o.order_status == 0 && o.qr.as_ref().is_some_and(|q| q.state == QrState::Started)
        })
    }

    /// `sbp/c2b/qr/dynamic/reject.do`: deactivates a payable QR.
    pub(crate) fn reject(
        &mut self,
        md_order: &str,
        qr_id: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<(), RbsError> {
        let order = self.with_qr(md_order, qr_id, now)?;
        match order.qr.as_mut() {
            Some(qr) if qr.state == QrState::Started && order.order_status == 0 => {
                qr.state = QrState::RejectedByUser;
                Ok(())
            }
            Some(qr) if qr.state == QrState::RejectedByUser => Ok(()),
            _ => Err(RbsError::WrongState("QR-код не ожидает оплаты")),
        }
    }

    /// The customer pays the order's QR.
    pub(crate) fn pay(&mut self, md_order: &str, now: DateTime<Utc>) -> Result<RbsEvent, RbsError> {
        let order = self.find(md_order, now)?;
        match order.qr.as_mut() {
            Some(qr) if qr.state == QrState::Started && order.order_status == 0 => {
                qr.state = QrState::Accepted;
            }
            _ => return Err(RbsError::WrongState("QR-код не ожидает оплаты")),
        }
        order.order_status = 2;
        order.action_code = "0";
        Ok(RbsEvent {
            order: order.clone(),
            operation: "deposited",
            success: true,
        })
    }

    /// The customer's bank refuses the payment.
    pub(crate) fn decline(
        &mut self,
        md_order: &str,
        now: DateTime<Utc>,
    ) -> Result<RbsEvent, RbsError> {
        let order = self.find(md_order, now)?;
        match order.qr.as_mut() {
            Some(qr) if qr.state == QrState::Started && order.order_status == 0 => {
                qr.state = QrState::Rejected;
            }
            _ => return Err(RbsError::WrongState("QR-код не ожидает оплаты")),
        }
        order.order_status = 6;
        order.action_code = PAYMENT_REFUSED;
        Ok(RbsEvent {
            order: order.clone(),
            operation: "deposited",
            success: false,
        })
    }

    /// `refund.do`: a refund of `amount` (0 = what is left) keyed by `external_id`; the same id
    /// again is the same refund.
    pub(crate) fn refund(
        &mut self,
        md_order: &str,
        amount: Kopecks,
        external_id: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<(), RbsError> {
        let order = self.find(md_order, now)?;
        if let Some(id) = &external_id
            && let Some(existing) = order.refunds.iter().find(|r| &r.external_id == id)
        {
            return if existing.amount == amount {
                Ok(())
            } else {
                Err(RbsError::Invalid("externalRefundId".into()))
            };
        }
        if !order.is_paid() {
            return Err(RbsError::WrongState("заказ не оплачен"));
        }
        let reserved = order.total(|r| r.state != RefundState::Declined);
        let left = order.amount.checked_sub(reserved).unwrap_or(Kopecks::ZERO);
        let amount = if amount.is_zero() { left } else { amount };
        if amount > left || amount.is_zero() {
            return Err(RbsError::RefundTooLarge);
        }
        let number = order.refunds.len();
        order.refunds.push(RbsRefund {
            external_id: external_id.unwrap_or_else(|| format!("{}-{number}", order.md_order)),
            amount,
            state: RefundState::Pending(0),
        });
        Ok(())
    }

    /// `getOrderStatusExtended.do`: the order; a status read completes a refund pending since
    /// the read before (the second read after it was made). Returns the notifications due.
    pub(crate) fn status(
        &mut self,
        md_order: &str,
        now: DateTime<Utc>,
    ) -> Result<(RbsOrder, Vec<RbsEvent>), RbsError> {
        let order = self.find(md_order, now)?;
        let mut events = Vec::new();
        for refund in &mut order.refunds {
            if let RefundState::Pending(reads) = refund.state {
                refund.state = if reads >= 1 {
                    RefundState::Completed
                } else {
                    RefundState::Pending(reads.saturating_add(1))
                };
                if refund.state == RefundState::Completed {
                    events.push(());
                }
            }
        }
        if order.refunded() > Kopecks::ZERO {
            order.order_status = 4;
        }
        let events = events
            .into_iter()
            .map(|()| RbsEvent {
                order: order.clone(),
                operation: "refunded",
                success: true,
            })
            .collect();
        Ok((order.clone(), events))
    }

    /// The SBP refuses the order's refund in progress (sandbox control).
    pub(crate) fn decline_refund(
        &mut self,
        md_order: &str,
        now: DateTime<Utc>,
    ) -> Result<(), RbsError> {
        let order = self.find(md_order, now)?;
        let refund = order
            .refunds
            .iter_mut()
            .rev()
            .find(|r| matches!(r.state, RefundState::Pending(_)))
            .ok_or(RbsError::WrongState("нет возврата в обработке"))?;
        refund.state = RefundState::Declined;
        Ok(())
    }

    /// Every order as of `now`, oldest first.
    pub(crate) fn all(&mut self, now: DateTime<Utc>) -> Vec<RbsOrder> {
        for order in &mut self.orders {
            order.refresh(now);
        }
        self.orders.clone()
    }
}
