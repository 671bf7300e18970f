//! Customer-presented QRs, a sandbox-only extension (no bank's API for it is public): the
//! customer's bank app shows a one-time QR, the register scans it, the merchant charges it.
//!
//! * `POST /sandbox/customer-qr` mints one, as the customer's app would show it:
//!   `{"amount_limit"?: rubles, "confirm"?: "auto"|"manual"}` → `{"payload", "amount_limit",
//!   "confirm"}`. The payload is `https://sandbox.invalid/customer-qr/<id>` (not an NSPK link:
//!   it must never pass as one).
//! * `POST /sandbox/customer-qr/charge` (Bearer auth, like the bank API; faults apply) charges
//!   it: `{"sbpMerchantId", "payload", "order", "amount", "qrExpirationDate"?,
//!   "paymentDetails"?}` → the registration answer (`{"code":"SUCCESS","qrId",…}`). The charge
//!   is booked as a one-payment QR with that `order` and amount, so payment-info, `DELETE`,
//!   refunds and callbacks work as for a dynamic QR. With `confirm: auto` (the default) the
//!   customer's bank answers at once: paid, or declined when the amount is above
//!   `amount_limit`; with `manual` the charge waits (`NEW`) for the customer, whom a test
//!   plays with the usual controls (`nspc-mock` pay, `/sandbox/qrs/{qrId}/decline`).
//! * A customer QR is charged once; charging it again for the same order answers the same
//!   charge (a retry), for another order `ERROR.CUSTOMER_QR_ALREADY_USED`.

use crate::raiffeisen::error::SandboxError;
use crate::raiffeisen::model::{
    Charge, Confirm, CustomerQr, NewQr, PAYLOAD_BASE, PaymentEvent, Qr, QrType,
};
use crate::raiffeisen::state::State;
use chrono::{DateTime, Utc};
use qrpayd_domain::money::Kopecks;

impl State {
    /// Mints a customer QR with the token `token`.
    pub(crate) fn mint_customer_qr(
        &mut self,
        token: &str,
        amount_limit: Option<Kopecks>,
        confirm: Confirm,
    ) -> CustomerQr {
        let qr = CustomerQr {
            payload: format!("{PAYLOAD_BASE}{token}"),
            amount_limit,
            confirm,
            charged_as: None,
            seq: self.take_seq(),
        };
        self.customer_qrs.insert(qr.payload.clone(), qr.clone());
        qr
    }

    /// Charges a customer QR: books a one-payment QR for the order and, in auto mode, pays or
    /// declines it at once (the event is the callback's material).
    pub(crate) fn charge_customer_qr(
        &mut self,
        charge: Charge,
        now: DateTime<Utc>,
        fresh_id: impl FnMut(QrType) -> String,
    ) -> Result<(Qr, Option<PaymentEvent>), SandboxError> {
        let payload = charge.payload.trim();
        let customer = self
            .customer_qrs
            .get(payload)
            .cloned()
            .ok_or(SandboxError::CustomerQrNotFound)?;
        if let Some(qr_id) = &customer.charged_as {
            let earlier = self.qr(qr_id, now)?;
            return if earlier.order == charge.order && earlier.amount == Some(charge.amount) {
                Ok((earlier, None))
            } else {
                Err(SandboxError::CustomerQrUsed(earlier.order))
            };
        }
        let mut qr = self.register(
            NewQr {
                qr_type: QrType::Dynamic,
                sbp_merchant_id: charge.sbp_merchant_id,
                order: charge.order,
                amount: Some(charge.amount),
                expiration: charge.expiration,
                payment_details: charge.payment_details,
                additional_info: None,
            },
            now,
            fresh_id,
        )?;
        if let Some(booked) = self.qrs.get_mut(&qr.id) {
            booked.customer_qr = Some(customer.payload.clone());
            qr.customer_qr = Some(customer.payload.clone());
        }
        if let Some(minted) = self.customer_qrs.get_mut(payload) {
            minted.charged_as = Some(qr.id.clone());
        }
        let event = match customer.confirm {
            Confirm::Manual => None,
            Confirm::Auto if customer.amount_limit.is_some_and(|l| charge.amount > l) => {
                Some(self.decline(&qr.id, None, now)?)
            }
            Confirm::Auto => Some(self.pay(&qr.id, charge.amount, now)?),
        };
        let qr = self.qr(&qr.id, now)?;
        Ok((qr, event))
    }

    /// Every minted customer QR, in mint order.
    pub(crate) fn all_customer_qrs(&self) -> Vec<CustomerQr> {
        let mut all: Vec<CustomerQr> = self.customer_qrs.values().cloned().collect();
        all.sort_by_key(|c| c.seq);
        all
    }
}

#[cfg(test)]
mod tests {
    // fixed-dates: pure transitions and renderings with the time handed in; nothing here reads the wall clock.
    use super::*;
    use crate::raiffeisen::model::{PaymentStatus, QrStatus};

    fn k(v: i64) -> Kopecks {
        Kopecks::new(v).unwrap()
    }

    fn t0() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2024-05-01T10:00:00Z")
            .unwrap()
            .to_utc()
    }

    fn ids() -> impl FnMut(QrType) -> String {
        let mut n = 0u32;
        move |_| {
            n += 1;
            format!("AD1{n:029}")
        }
    }

    fn charge(payload: &str, order: &str, amount: i64) -> Charge {
        Charge {
            sbp_merchant_id: "MA0000000552".into(),
            payload: payload.into(),
            order: order.into(),
            amount: k(amount),
            expiration: None,
            payment_details: None,
        }
    }

    #[test]
    fn auto_mode_pays_or_declines_at_once() {
        let mut s = State::new("MA0000000552".into(), "100000000007".into());
        let qr = s.mint_customer_qr("CQ1", Some(k(1000)), Confirm::Auto);
        assert_eq!(qr.payload, "https://sandbox.invalid/customer-qr/CQ1");
        assert!(qrpayd_domain::nspk::parse_link(&qr.payload).is_err());
        let (paid, event) = s
            .charge_customer_qr(
                charge(&format!("{}\r\n", qr.payload), "pay_1", 1000),
                t0(),
                ids(),
            )
            .unwrap();
        assert_eq!(paid.status, QrStatus::Paid);
        assert_eq!(paid.order, "pay_1");
        assert_eq!(paid.customer_qr.as_deref(), Some(qr.payload.as_str()));
        assert_eq!(event.unwrap().status, PaymentStatus::Success);
        // A retry answers the same charge; another order is refused.
        let (again, none) = s
            .charge_customer_qr(charge(&qr.payload, "pay_1", 1000), t0(), ids())
            .unwrap();
        assert_eq!(
            (again.id.as_str(), none.is_none()),
            (paid.id.as_str(), true)
        );
        assert_eq!(
            s.charge_customer_qr(charge(&qr.payload, "pay_2", 1000), t0(), ids())
                .unwrap_err(),
            SandboxError::CustomerQrUsed("pay_1".into())
        );
        let over = s.mint_customer_qr("CQ2", Some(k(1000)), Confirm::Auto);
        let (declined, event) = s
            .charge_customer_qr(charge(&over.payload, "pay_3", 1001), t0(), ids())
            .unwrap();
        assert_eq!(declined.payment_status(), PaymentStatus::Declined);
        assert_eq!(event.unwrap().status, PaymentStatus::Declined);
        assert_eq!(
            s.charge_customer_qr(charge("garbage", "pay_4", 1), t0(), ids())
                .unwrap_err(),
            SandboxError::CustomerQrNotFound
        );
        assert_eq!(s.all_customer_qrs().len(), 2);
    }

    #[test]
    fn manual_mode_waits_for_the_customer() {
        let mut s = State::new("MA0000000552".into(), "100000000007".into());
        let qr = s.mint_customer_qr("CQ1", None, Confirm::Manual);
        let (waiting, event) = s
            .charge_customer_qr(charge(&qr.payload, "pay_1", 500), t0(), ids())
            .unwrap();
        assert!(event.is_none());
        assert_eq!(waiting.status, QrStatus::New);
        assert_eq!(waiting.payment_status(), PaymentStatus::NoInfo);
        s.pay(&waiting.id, k(500), t0()).unwrap();
        assert_eq!(s.qr(&waiting.id, t0()).unwrap().status, QrStatus::Paid);
    }
}
