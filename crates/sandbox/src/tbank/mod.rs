//! A T-Bank internet-acquiring terminal with SBP (BANKS.md §3.3), under `/tbank/v2/`: the
//! books and their pure transitions ([`TbBooks`]), the wire (T-Bank's field names, `Token`
//! checked on every request with the terminal's password) and the handlers, which `routes`
//! mounts.
//!
//! | Method | What |
//! |---|---|
//! | `Init` | a payment (`Amount` kopecks, `OrderId`, `Description`, `RedirectDueDate`, `NotificationURL`) → `PaymentId`, `NEW` |
//! | `GetQr` | its NSPK link (`DataType` `PAYLOAD`; `IMAGE` is refused) → `Data`; the payment becomes `FORM_SHOWED` |
//! | `GetState` | `Status` of the spec's status model: `NEW`, `FORM_SHOWED`, `CONFIRMED`, `REJECTED`, `DEADLINE_EXPIRED`, `CANCELED`; with refunds `ASYNC_REFUNDING` (one in progress), `PARTIAL_REFUNDED`, `REFUNDED`; `Amount` is what is left after completed refunds |
//! | `Cancel` | unpaid: `CANCELED`; paid: a refund of `Amount` (default: what is left), `ASYNC_REFUNDING`, `OriginalAmount`/`NewAmount`. `ExternalRequestId` is ignored, as the spec says it is for SBP: a repeated `Cancel` is a second refund. One refund at a time (error `4` while one is in progress) |
//! | `GetQrState` | the payment's `Status` and its latest refund: `Amount`, and `QrCancelCode`/`QrCancelMessage` if it failed. It names no refund |
//! | `SbpPayTest` | plays the customer: pays (`CONFIRMED`), or `IsRejected` → `REJECTED`, `IsDeadlineExpired` → `DEADLINE_EXPIRED` |
//!
//! SBP limits as the spec states them: `GetQr` refuses an amount outside 10 … 1 000 000 rubles
//! (`3016`), `Init` a `RedirectDueDate` less than a minute or more than 90 days ahead (`3017`).
//! A refund in progress completes on the second `GetState`/`GetQrState` read after it was made
//! (deterministic, like the Raiffeisen side); a declined one (sandbox control) leaves the
//! payment as it was. Every answer is HTTP 200 with `Success`/`ErrorCode` (`"0"` on success).
//! Sandbox error codes: `204` bad `Token`, `501` unknown terminal, `8` invalid request, `255`
//! payment not found, `4` not allowed in the payment's status, `14` refund above what is left,
//! `3016`/`3017` the SBP limits, `9999` injected business error. Status changes (paid,
//! rejected, expired by `SbpPayTest`, refund completed) are notified to the payment's
//! `NotificationURL` (else the one set with `PUT /sandbox/tbank/notification-url`), signed
//! with `Token`, retried until the answer is HTTP 200 with body `OK`; with the
//! `tbank_receipts` fault a paid payment is followed by a fiscal `RECEIPT` notice, as a
//! terminal with an online cash register sends.

pub(crate) mod books;
pub(crate) mod error;
pub(crate) mod routes;

use qrpayd_domain::secret::Secret;

use crate::callbacks;
use crate::handle::Sandbox;

pub(crate) use books::{TbBooks as Books, TbEvent};
pub use error::TbankError;
pub(crate) use routes::{router, summary};

impl Sandbox {
    /// The T-Bank customer pays payment `payment_id` (like `SbpPayTest`). Sends the
    /// notification.
    pub fn tbank_pay(&self, payment_id: &str) -> Result<(), TbankError> {
        self.tbank_pay_test(payment_id, false, false)
    }

    /// The T-Bank customer's bank rejects payment `payment_id` (`SbpPayTest` with
    /// `IsRejected`). Sends the notification.
    pub fn tbank_reject(&self, payment_id: &str) -> Result<(), TbankError> {
        self.tbank_pay_test(payment_id, false, true)
    }

    /// T-Bank payment `payment_id` runs out of time (`SbpPayTest` with `IsDeadlineExpired`).
    /// Sends the notification.
    pub fn tbank_expire(&self, payment_id: &str) -> Result<(), TbankError> {
        self.tbank_pay_test(payment_id, true, false)
    }

    /// T-Bank payment `payment_id`'s refund in progress is declined (the SBP refused it).
    pub fn tbank_decline_refund(&self, payment_id: &str) -> Result<(), TbankError> {
        self.lock()
            .tbank
            .decline_refund(payment_id, self.now())
            .map(drop)
    }

    /// The T-Bank terminal's status of payment `payment_id` (`GetState`'s `Status`), read
    /// without counting as a status query.
    pub fn tbank_status(&self, payment_id: &str) -> Result<String, TbankError> {
        let now = self.now();
        let mut state = self.lock();
        let payment = state
            .tbank
            .all(now)
            .into_iter()
            .find(|p| p.id == payment_id)
            .ok_or_else(|| TbankError::PaymentNotFound(payment_id.to_owned()))?;
        Ok(payment.status_text().to_owned())
    }

    /// The T-Bank terminal's notification URL, for payments created without
    /// `NotificationURL` (`None` clears it).
    pub fn set_tbank_notification_url(&self, url: Option<String>) {
        tracing::info!(?url, "sandbox T-Bank notification URL set");
        self.lock().tbank.notification_url = url;
    }

    fn tbank_pay_test(
        &self,
        payment_id: &str,
        deadline_expired: bool,
        rejected: bool,
    ) -> Result<(), TbankError> {
        let event =
            self.lock()
                .tbank
                .pay_test(payment_id, deadline_expired, rejected, self.now())?;
        self.notify_tbank(&event);
        Ok(())
    }

    /// The T-Bank terminal key.
    pub(crate) fn tbank_terminal_key(&self) -> &str {
        &self.inner.config.tbank_terminal_key
    }

    /// The T-Bank terminal's password.
    pub(crate) fn tbank_password(&self) -> &str {
        &self.inner.config.tbank_password
    }

    /// Sends a T-Bank notification (signed with `Token`) to the payment's `NotificationURL`,
    /// else the terminal's; a payment is followed by its fiscal-receipt notice under the
    /// `tbank_receipts` fault.
    pub(crate) fn notify_tbank(&self, event: &TbEvent) {
        self.notify_tbank_one(event);
        if event.status == "CONFIRMED" && self.faults().tbank_receipts {
            self.notify_tbank_one(&event.receipt());
        }
    }

    fn notify_tbank_one(&self, event: &TbEvent) {
        let transaction_id = event.payment_id.parse::<u64>().unwrap_or_default();
        let url = event
            .url
            .clone()
            .or_else(|| self.lock().tbank.notification_url.clone());
        let Some(url) = url else {
            tracing::info!(
                payment_id = %event.payment_id,
                "sandbox T-Bank notification not sent: no NotificationURL"
            );
            return;
        };
        let config = &self.inner.config;
        let body = routes::notification_body(
            event,
            &config.tbank_terminal_key,
            &Secret::new(config.tbank_password.clone()),
        );
        let delivery = callbacks::Delivery {
            url,
            content_type: "application/json",
            body,
            signature: None,
            expect_body: Some("OK"),
            transaction_id,
        };
        if let Some(client) = self.client(transaction_id) {
            self.deliver(client, delivery);
        }
    }
}
