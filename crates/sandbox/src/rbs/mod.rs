//! BPC's RBS payment gateway with SBP C2B (BANKS.md §3.6), under `/rbs/payment/rest/`: one
//! merchant (`userName` + `password`, or `token` = the password), form parameters in, JSON out,
//! business errors with HTTP 200 (`errorCode`, [`RbsError`]), amounts in kopecks.
//!
//! | Method | What |
//! |---|---|
//! | `register.do` | an order (`orderNumber` unique, `amount`, `currency` 643, `returnUrl` required, `expirationDate` Moscow time, default 20 minutes, `dynamicCallbackUrl`) → `orderId` |
//! | `sbp/c2b/qr/dynamic/get.do` | its SBP QR (`mdOrder`) → `qrId`, `payload` (NSPK link with the sum), `qrStatus` `STARTED`; the same QR while payable |
//! | `sbp/c2b/qr/status.do` | `qrStatus` (`STARTED`, `ACCEPTED`, `REJECTED`, `REJECTED_BY_USER`), `qrType` `DYNAMIC`, `transactionState` |
//! | `sbp/c2b/qr/dynamic/reject.do` | deactivates a payable QR → `rejected: true` (again: the same; paid or declined: error 7) |
//! | `getOrderStatusExtended.do` | `orderStatus` 0 registered, 2 paid, 4 refunded, 6 declined (`actionCode` `-2007` when its time ran out, `116` refused by the customer's bank), `amount`, `refunds` with `externalRefundId` and `actionCode` (none while in progress, `0` done, `-2019` refused) |
//! | `refund.do` | a refund of `amount` (0 = all that is left) keyed by `externalRefundId` (the same id again is the same refund); completes on the second status read after it was made |
//!
//! Errors: `1` order number used, `3` currency, `4` missing parameter, `5` access denied or bad
//! value, `6` unknown order, `7` wrong state, refund too large, or the injected business error.
//! Payments, declines and completed refunds are notified to the order's `dynamicCallbackUrl`
//! as a POSTed form (`mdOrder`, `orderNumber`, `operation`, `status`, `amount`) with the
//! symmetric `checksum` (HMAC-SHA256 with the callback key), retried until HTTP 200. The
//! customer is played by [`Sandbox::rbs_pay`] / [`Sandbox::rbs_decline`] (also
//! `POST /sandbox/rbs/orders/{mdOrder}/pay|decline`), a refund refused by
//! [`Sandbox::rbs_decline_refund`] (`POST /sandbox/rbs/orders/{mdOrder}/refunds/decline`).

pub(crate) mod books;
pub(crate) mod error;
pub(crate) mod routes;

use qrpayd_domain::secret::Secret;

use crate::callbacks;
use crate::handle::Sandbox;

pub(crate) use books::{RbsBooks as Books, RbsEvent};
pub use error::RbsError;
pub(crate) use routes::{router, summary};

impl Sandbox {
    /// The RBS customer pays the order's QR. `order` is the gateway's order id (`mdOrder`) or
    /// qrpayd's reference of the payment (the QR id it shows). Sends the notification.
    pub fn rbs_pay(&self, order: &str) -> Result<(), RbsError> {
        let md_order = md_order_of(order);
        let event = self.lock().rbs.pay(&md_order, self.now())?;
        self.notify_rbs(&event);
        Ok(())
    }

    /// The RBS customer's bank refuses the payment. Sends the notification.
    pub fn rbs_decline(&self, order: &str) -> Result<(), RbsError> {
        let md_order = md_order_of(order);
        let event = self.lock().rbs.decline(&md_order, self.now())?;
        self.notify_rbs(&event);
        Ok(())
    }

    /// The SBP refuses the order's refund in progress.
    pub fn rbs_decline_refund(&self, order: &str) -> Result<(), RbsError> {
        let md_order = md_order_of(order);
        self.lock().rbs.decline_refund(&md_order, self.now())
    }

    /// The merchant's login: (`userName`, `password`, which is also the accepted `token`).
    pub(crate) fn rbs_login(&self) -> (&str, &str) {
        let config = &self.inner.config;
        (&config.rbs_user_name, &config.rbs_password)
    }

    /// Sends an RBS notification (a form with its `checksum`) to the order's
    /// `dynamicCallbackUrl`.
    pub(crate) fn notify_rbs(&self, event: &RbsEvent) {
        let Some(url) = event.order.callback_url.clone() else {
            tracing::info!(md_order = %event.order.md_order, "sandbox RBS notification not sent: no dynamicCallbackUrl");
            return;
        };
        let key = Secret::new(self.inner.config.rbs_callback_key.clone());
        let delivery = callbacks::Delivery {
            url,
            body: routes::notification_body(event, &key),
            content_type: "application/x-www-form-urlencoded",
            signature: None,
            expect_body: None,
            transaction_id: 0,
        };
        if let Some(client) = self.client(0) {
            self.deliver(client, delivery);
        }
    }
}

/// The gateway's order id from itself or from qrpayd's reference of the payment.
fn md_order_of(order: &str) -> String {
    qrpayd_bank::rbs::reference::unpack(order).0
}
