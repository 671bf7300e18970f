//! Cash-register links (BANKS.md §1.6): a `QRVariable` is activated per payment by an order
//! (`POST /api/payment/v1/orders`); paying the link pays its live order.
//!
//! Rules the sandbox enforces (the bank's own are not all published, see BANKS.md §6):
//!
//! * one live activation per link: a second order on a link whose order is still `NEW` and
//!   unexpired is refused with `ERROR.ORDER_ALREADY_ACTIVE`;
//! * an order id is the merchant's (`[A-Za-z0-9_.-]{1,40}`); the same id again with the same
//!   link and amount answers the existing order (a retry), with anything else
//!   `ORDER_ALREADY_EXISTS`;
//! * an order without `expirationDate` lives [`DEFAULT_ORDER_TTL`]; expiry is lazy, like QRs';
//! * `DELETE` turns a `NEW` order `CANCELLED`; any other status is `ORDER_HAS_FINAL_STATUS`
//!   (also for a paid one: the caller must re-check);
//! * refunds of a paid order complete like QR refunds (`IN_PROGRESS` on creation and on the
//!   first read, `COMPLETED` from the second read on) and share the refund books.
//!
//! Pure, like `state`: every transition takes `now`.

use crate::raiffeisen::error::SandboxError;
use crate::raiffeisen::model::{
    DEFAULT_ORDER_TTL, NewOrder, Order, OrderEvent, OrderStatus, QrType, Refund, RefundStatus,
    order_is_valid,
};
use crate::raiffeisen::state::State;
use crate::time::{expiration_text, to_msk};
use chrono::{DateTime, Utc};
use qrpayd_domain::money::Kopecks;

impl State {
    /// Is `qr_id` a cash-register link?
    pub(crate) fn is_link(&self, qr_id: &str) -> bool {
        self.qrs
            .get(qr_id)
            .is_some_and(|qr| qr.qr_type == QrType::Variable)
    }

    /// The live order of a link, as of `now`.
    fn live_order_mut(&mut self, qr_id: &str, now: DateTime<Utc>) -> Option<&mut Order> {
        self.orders
            .values_mut()
            .filter(|o| o.qr_id == qr_id)
            .find_map(|o| {
                o.refresh(now);
                o.is_live().then_some(o)
            })
    }

    /// `POST /api/payment/v1/orders`. `fresh_id` makes an order id when none is given.
    pub(crate) fn create_order(
        &mut self,
        new: NewOrder,
        now: DateTime<Utc>,
        fresh_id: impl FnOnce() -> String,
    ) -> Result<Order, SandboxError> {
        if new.amount.is_zero() {
            return Err(SandboxError::InvalidRequest(
                "Сумма (amount) должна быть не меньше 0.01".into(),
            ));
        }
        match self.qrs.get(&new.qr_id) {
            None => return Err(SandboxError::QrNotFound),
            Some(qr) if qr.qr_type != QrType::Variable => {
                return Err(SandboxError::InvalidRequest(format!(
                    "QR-код {} не является QRVariable",
                    qr.id
                )));
            }
            Some(_) => {}
        }
        let id = new.id.unwrap_or_else(fresh_id);
        if !order_is_valid(&id) {
            return Err(SandboxError::InvalidOrder);
        }
        if let Some(existing) = self.orders.get_mut(&id) {
            existing.refresh(now);
            return if existing.qr_id == new.qr_id && existing.amount == new.amount {
                Ok(existing.clone())
            } else {
                Err(SandboxError::OrderAlreadyExists(id))
            };
        }
        let created = to_msk(now);
        let expires = match new.expiration {
            Some(at) if at <= now => {
                return Err(SandboxError::InvalidRequest(format!(
                    "Дата окончания заказа (expirationDate) {} уже прошла",
                    expiration_text(at)
                )));
            }
            Some(at) => at,
            None => created
                .checked_add_signed(DEFAULT_ORDER_TTL)
                .ok_or_else(|| SandboxError::Internal("date overflow".into()))?,
        };
        if let Some(live) = self.live_order_mut(&new.qr_id, now) {
            return Err(SandboxError::OrderAlreadyActive {
                qr_id: new.qr_id,
                order_id: live.id.clone(),
            });
        }
        let order = Order {
            id: id.clone(),
            seq: self.take_seq(),
            qr_id: new.qr_id,
            amount: new.amount,
            comment: new.comment,
            payment_details: new.payment_details,
            expires,
            status: OrderStatus::New,
            status_date: created,
            transaction_id: None,
        };
        self.orders.insert(id, order.clone());
        Ok(order)
    }

    fn order_mut(&mut self, id: &str, now: DateTime<Utc>) -> Result<&mut Order, SandboxError> {
        let order = self
            .orders
            .get_mut(id)
            .ok_or_else(|| SandboxError::OrderNotFound(id.to_owned()))?;
        order.refresh(now);
        Ok(order)
    }

    /// `GET /api/payment/v1/orders/{id}`.
    pub(crate) fn order(&mut self, id: &str, now: DateTime<Utc>) -> Result<Order, SandboxError> {
        self.order_mut(id, now).map(|o| o.clone())
    }

    /// `DELETE /api/payment/v1/orders/{id}`.
    pub(crate) fn cancel_order(
        &mut self,
        id: &str,
        now: DateTime<Utc>,
    ) -> Result<(), SandboxError> {
        let order = self.order_mut(id, now)?;
        if order.status != OrderStatus::New {
            return Err(SandboxError::OrderHasFinalStatus {
                order_id: order.id.clone(),
                status: order.status.as_str(),
            });
        }
        order.status = OrderStatus::Cancelled;
        order.status_date = to_msk(now);
        Ok(())
    }

    /// Sandbox control: the link's live order expires now (no-op without one).
    pub(crate) fn expire_live_order(&mut self, qr_id: &str, now: DateTime<Utc>) {
        if let Some(order) = self.live_order_mut(qr_id, now) {
            order.expires = to_msk(now);
            order.refresh(now);
        }
    }

    /// The payer pays the link `qr_id`: its live order, for exactly its amount.
    pub(crate) fn pay_link(
        &mut self,
        qr_id: &str,
        amount: Kopecks,
        now: DateTime<Utc>,
    ) -> Result<OrderEvent, SandboxError> {
        if !self.is_link(qr_id) {
            return Err(SandboxError::QrNotFound);
        }
        let transaction_id = self.next_transaction_id;
        let order = self
            .live_order_mut(qr_id, now)
            .ok_or_else(|| SandboxError::QrNotPayable {
                qr_id: qr_id.to_owned(),
                status: "INACTIVE",
            })?;
        if order.amount != amount {
            return Err(SandboxError::AmountMismatch {
                expected: order.amount.to_rubles_text(),
                given: amount.to_rubles_text(),
            });
        }
        let date = to_msk(now);
        order.status = OrderStatus::Paid;
        order.status_date = date;
        order.transaction_id = Some(transaction_id);
        let event = OrderEvent {
            transaction_id,
            order_id: order.id.clone(),
            qr_id: order.qr_id.clone(),
            amount,
            date,
            comment: order.comment.clone(),
        };
        self.next_transaction_id = transaction_id.saturating_add(1);
        Ok(event)
    }

    /// `POST /api/payments/v1/orders/{id}/refunds/{refundId}`. The same `refundId` again
    /// answers that refund as it stands.
    pub(crate) fn order_refund(
        &mut self,
        order_id: &str,
        refund_id: &str,
        amount: Kopecks,
        now: DateTime<Utc>,
    ) -> Result<Refund, SandboxError> {
        if let Some(existing) = self.refunds.get(refund_id) {
            return if existing.order == order_id {
                Ok(existing.clone())
            } else {
                Err(SandboxError::InvalidRequest(format!(
                    "refundId {refund_id} уже использован для другого заказа"
                )))
            };
        }
        if refund_id.is_empty() || refund_id.chars().count() > 40 {
            return Err(SandboxError::InvalidRequest(
                "refundId обязателен, от 1 до 40 символов".into(),
            ));
        }
        if amount.is_zero() {
            return Err(SandboxError::InvalidRequest(
                "Сумма возврата (amount) должна быть не меньше 0.01".into(),
            ));
        }
        let order = self.order_mut(order_id, now)?;
        let (Some(transaction_id), OrderStatus::Paid) = (order.transaction_id, order.status) else {
            return Err(SandboxError::PaymentNotFound(order_id.to_owned()));
        };
        let paid = order.amount;
        let available = self.refundable(transaction_id, paid)?;
        if amount > available {
            return Err(SandboxError::RefundInsufficientFunds {
                available: available.to_rubles_text(),
            });
        }
        let refund = Refund {
            id: refund_id.to_owned(),
            order: order_id.to_owned(),
            transaction_id,
            amount,
            status: RefundStatus::InProgress,
            completed: None,
            queried: false,
            seq: self.take_seq(),
        };
        self.refunds.insert(refund_id.to_owned(), refund.clone());
        Ok(refund)
    }

    /// `GET /api/payments/v1/orders/{id}/refunds/{refundId}`.
    pub(crate) fn order_refund_status(
        &mut self,
        order_id: &str,
        refund_id: &str,
        now: DateTime<Utc>,
    ) -> Result<Refund, SandboxError> {
        match self.refunds.get(refund_id) {
            Some(refund) if refund.order == order_id => self.refund_status(refund_id, now),
            _ => Err(SandboxError::RefundNotFound(refund_id.to_owned())),
        }
    }

    /// Every order as of `now`, in creation order.
    pub(crate) fn all_orders(&mut self, now: DateTime<Utc>) -> Vec<Order> {
        let mut all: Vec<Order> = self
            .orders
            .values_mut()
            .map(|o| {
                o.refresh(now);
                o.clone()
            })
            .collect();
        all.sort_by_key(|o| o.seq);
        all
    }
}

#[cfg(test)]
mod tests {
    // fixed-dates: pure transitions and renderings with the time handed in; nothing here reads the wall clock.
    use super::*;
    use crate::raiffeisen::model::NewQr;

    fn k(v: i64) -> Kopecks {
        Kopecks::new(v).unwrap()
    }

    fn t0() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2024-05-01T10:00:00Z")
            .unwrap()
            .to_utc()
    }

    fn bank_with_link() -> (State, String) {
        let mut s = State::new("MA0000000552".into(), "100000000007".into());
        let link = s
            .register(
                NewQr {
                    qr_type: QrType::Variable,
                    sbp_merchant_id: "MA0000000552".into(),
                    order: String::new(),
                    amount: None,
                    expiration: None,
                    payment_details: None,
                    additional_info: None,
                },
                t0(),
                |_| "AS1R0000000000000000000000000TST".into(),
            )
            .unwrap();
        assert!(link.payload.contains("type=01") && !link.payload.contains("sum="));
        assert_eq!(link.expires, None);
        (s, link.id)
    }

    fn order(id: &str, qr: &str, amount: i64) -> NewOrder {
        NewOrder {
            id: Some(id.into()),
            qr_id: qr.into(),
            amount: k(amount),
            comment: None,
            payment_details: None,
            expiration: None,
        }
    }

    fn no_id() -> String {
        panic!("an order id was given")
    }

    #[test]
    fn one_live_activation_per_link() {
        let (mut s, link) = bank_with_link();
        let first = s
            .create_order(order("o1", &link, 100), t0(), no_id)
            .unwrap();
        assert_eq!(first.status, OrderStatus::New);
        assert_eq!(first.expires, to_msk(t0()) + DEFAULT_ORDER_TTL);
        // The same request again is the same order; another amount under the id is refused.
        assert_eq!(
            s.create_order(order("o1", &link, 100), t0(), no_id)
                .unwrap()
                .seq,
            first.seq
        );
        assert_eq!(
            s.create_order(order("o1", &link, 101), t0(), no_id)
                .unwrap_err(),
            SandboxError::OrderAlreadyExists("o1".into())
        );
        assert_eq!(
            s.create_order(order("o2", &link, 100), t0(), no_id)
                .unwrap_err(),
            SandboxError::OrderAlreadyActive {
                qr_id: link.clone(),
                order_id: "o1".into()
            }
        );
        // Cancelled: the link is free again; a second cancel is final status.
        s.cancel_order("o1", t0()).unwrap();
        assert_eq!(
            s.cancel_order("o1", t0()),
            Err(SandboxError::OrderHasFinalStatus {
                order_id: "o1".into(),
                status: "CANCELLED"
            })
        );
        s.create_order(order("o2", &link, 200), t0(), no_id)
            .unwrap();
        // Expired: free again.
        let later = t0() + DEFAULT_ORDER_TTL;
        assert_eq!(s.order("o2", later).unwrap().status, OrderStatus::Expired);
        let generated = s
            .create_order(
                NewOrder {
                    id: None,
                    ..order("x", &link, 300)
                },
                later,
                || "generated-1".into(),
            )
            .unwrap();
        assert_eq!(generated.id, "generated-1");
        assert_eq!(
            s.cancel_order("nope", t0()),
            Err(SandboxError::OrderNotFound("nope".into()))
        );
    }

    #[test]
    fn activation_rules() {
        let (mut s, link) = bank_with_link();
        assert_eq!(
            s.create_order(order("o1", "AD1NOPE", 100), t0(), no_id)
                .unwrap_err(),
            SandboxError::QrNotFound
        );
        assert!(matches!(
            s.create_order(order("o1", &link, 0), t0(), no_id),
            Err(SandboxError::InvalidRequest(_))
        ));
        assert_eq!(
            s.create_order(order("bad id", &link, 1), t0(), no_id)
                .unwrap_err(),
            SandboxError::InvalidOrder
        );
        let mut past = order("o1", &link, 1);
        past.expiration = Some(t0().fixed_offset());
        assert!(matches!(
            s.create_order(past, t0(), no_id),
            Err(SandboxError::InvalidRequest(_))
        ));
        // A link is never paid, cancelled or declined directly.
        assert!(s.pay(&link, k(1), t0()).is_err());
        assert!(s.cancel(&link, t0()).is_err());
        assert!(s.decline(&link, None, t0()).is_err());
    }

    #[test]
    fn paying_a_link_pays_its_live_order_then_refunds() {
        let (mut s, link) = bank_with_link();
        assert!(matches!(
            s.pay_link(&link, k(100), t0()),
            Err(SandboxError::QrNotPayable {
                status: "INACTIVE",
                ..
            })
        ));
        s.create_order(order("o1", &link, 100), t0(), no_id)
            .unwrap();
        assert!(matches!(
            s.pay_link(&link, k(99), t0()),
            Err(SandboxError::AmountMismatch { .. })
        ));
        let paid = s.pay_link(&link, k(100), t0()).unwrap();
        assert_eq!(paid.order_id, "o1");
        let now = s.order("o1", t0()).unwrap();
        assert_eq!(now.status, OrderStatus::Paid);
        assert_eq!(now.transaction_id, Some(paid.transaction_id));
        assert_eq!(
            s.cancel_order("o1", t0()),
            Err(SandboxError::OrderHasFinalStatus {
                order_id: "o1".into(),
                status: "PAID"
            })
        );
        // The link is free for the next payment.
        s.create_order(order("o2", &link, 50), t0(), no_id).unwrap();
        assert!(matches!(
            s.order_refund("o2", "r0", k(1), t0()),
            Err(SandboxError::PaymentNotFound(_))
        ));
        assert_eq!(
            s.order_refund("o1", "r1", k(60), t0()).unwrap().status,
            RefundStatus::InProgress
        );
        assert!(matches!(
            s.order_refund("o1", "r2", k(41), t0()),
            Err(SandboxError::RefundInsufficientFunds { .. })
        ));
        assert!(matches!(
            s.order_refund("o2", "r1", k(60), t0()),
            Err(SandboxError::InvalidRequest(_))
        ));
        assert_eq!(
            s.order_refund_status("o1", "r1", t0()).unwrap().status,
            RefundStatus::InProgress
        );
        assert_eq!(
            s.order_refund_status("o1", "r1", t0()).unwrap().status,
            RefundStatus::Completed
        );
        assert!(matches!(
            s.order_refund_status("o2", "r1", t0()),
            Err(SandboxError::RefundNotFound(_))
        ));
        assert!(matches!(
            s.order_refund("nope", "r9", k(1), t0()),
            Err(SandboxError::OrderNotFound(_))
        ));
    }

    #[test]
    fn expire_control_expires_the_live_order() {
        let (mut s, link) = bank_with_link();
        s.create_order(order("o1", &link, 100), t0(), no_id)
            .unwrap();
        s.expire_now(&link, t0()).unwrap();
        assert_eq!(s.order("o1", t0()).unwrap().status, OrderStatus::Expired);
        assert_eq!(s.all_orders(t0()).len(), 1);
    }
}
