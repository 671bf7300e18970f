//! A Sber terminal on the QR API ("Плати QR" v3, QR СБП; BANKS.md §3.4), under `/sber/`: the
//! books and their pure transitions ([`SbBooks`]), the errors in Sber's shapes
//! ([`SberError`], the gateway's `httpCode`/`moreInformation`), and the handlers, which
//! `routes` mounts. Plain HTTP: the real gateway's mutual TLS is not emulated (qrpayd accepts
//! a Sber provider without certificates only over `http://`).
//!
//! | Method + path | What |
//! |---|---|
//! | `POST /sber/tokens/v3/oauth` | client credentials (`Authorization: Basic`, `RqUID` header, form `grant_type`, `scope`) → `access_token` for that scope, `expires_in` 60 |
//! | `POST /sber/qr/order/v3/creation` | an order (`order_sum` kopecks, `member_id`, `id_qr` = the terminal, `sbp_member_id`) → `order_id`, `CREATED`, `order_form_url` (an NSPK link for an SBP order, Sber's own link otherwise) |
//! | `POST /sber/qr/order/v3/status` | `order_state` (`CREATED`, `PAID`, `REFUNDED`, `REVOKED`, `DECLINED`) and `order_operation_params` (`PAY`, `REFUND` with `response_code` `00`, `05`, or empty while with the SBP) |
//! | `POST /sber/qr/order/v3/revocation` | a `CREATED` order becomes `REVOKED`; otherwise `08XXXX` |
//! | `POST /sber/qr/order/v3/cancel` | a `REFUND` of the `PAY` operation (its `operation_id` and `auth_code`), partial allowed, one at a time, with the SBP until the second status read; `REVERSE` of an SBP order is refused (`04XXXX`) |
//! | `POST /sber/qr/order/v3/registry` | the paid orders made in the period (Moscow time), camelCase, `REGISTRY` or `QUANTITY` |
//! | `PUT /sandbox/sber/notification-url` | where notifications go (Sber's support sets it at the bank) |
//!
//! Every order-API call needs a live token of the path's scope and a 32-hex `RqUID` header,
//! or the gateway answers 401/400 `{httpCode, httpMessage, moreInformation}`; the answer echoes
//! the body's `rq_uid`; business errors are HTTP 200 with `error_code` (see [`SberError`]).
//! Paying, declining and a refund's completion are notified (camelCase, unsigned, as the
//! bank's notification page lists the fields), retried until HTTP 200. Unlike the bank's own
//! test stubs, which pay every order a minute after it is made, an order here is paid only
//! when the sandbox's customer pays it ([`Sandbox::sber_pay`]).

pub(crate) mod books;
pub(crate) mod error;
pub(crate) mod routes;

use crate::callbacks;
use crate::handle::Sandbox;

pub(crate) use books::SbBooks as Books;
use books::SbOrder;
pub use error::SberError;
pub(crate) use routes::{router, summary};

impl Sandbox {
    /// The Sber customer pays order `order_id` in their bank app. Sends the notification.
    pub fn sber_pay(&self, order_id: &str) -> Result<(), SberError> {
        let order = self
            .lock()
            .sber
            .pay(order_id, routes::fresh_ids(), self.now())?;
        self.notify_sber(&order);
        Ok(())
    }

    /// The Sber customer's bank declines order `order_id`. Sends the notification.
    pub fn sber_decline(&self, order_id: &str) -> Result<(), SberError> {
        let order = self.lock().sber.decline(order_id)?;
        self.notify_sber(&order);
        Ok(())
    }

    /// The SBP refuses the refund of order `order_id` that is in progress.
    pub fn sber_decline_refund(&self, order_id: &str) -> Result<(), SberError> {
        self.lock().sber.decline_refund(order_id).map(drop)
    }

    /// Where the Sber terminal's notifications go (`None`: nowhere).
    pub fn set_sber_notification_url(&self, url: Option<String>) {
        tracing::info!(?url, "sandbox Sber notification URL set");
        self.lock().sber.notification_url = url;
    }

    /// Sends a notification of `order`'s state to the terminal's notification URL.
    pub(crate) fn notify_sber(&self, order: &SbOrder) {
        let Some(url) = self.lock().sber.notification_url.clone() else {
            tracing::info!(order_id = %order.id, "sandbox Sber notification not sent: no notification URL");
            return;
        };
        let body = routes::notification_body(order, &self.inner.config.sber_member_id, self.now());
        let delivery = callbacks::Delivery {
            url,
            body,
            signature: None,
            expect_body: None,
            content_type: "application/json",
            transaction_id: 0,
        };
        if let Some(client) = self.client(0) {
            self.deliver(client, delivery);
        }
    }
}
