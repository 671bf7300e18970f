//! Raiffeisen's signed notifications (SBP payment notices, BANKS.md §1.7a, and order notices,
//! §1.7b) and the payer side of the sandbox: paying, declining and charging, each followed by
//! the notification the bank would send.

use crate::callbacks;
use crate::handle::Sandbox;
use crate::qrc_id::fresh_qr_id;
use crate::raiffeisen::error::SandboxError;
use crate::raiffeisen::model::{Charge, Confirm, CustomerQr, OrderEvent, PaymentEvent, Qr, QrType};
use crate::raiffeisen::registry;
use crate::raiffeisen::wire::{OrderNotification, PaymentNotification};
use chrono::NaiveDate;
use hmac::{Hmac, Mac};
use qrpayd_bank::raiffeisen::registry::Registry;
use qrpayd_domain::money::Kopecks;
use sha2::Sha256;

/// The signature header.
pub(crate) const SIGNATURE_HEADER: &str = "X-Api-Signature-SHA256";

/// The signed text: `amount|sbpMerchantId|order|paymentStatus|transactionDate` (SBP
/// notices), or `amount|publicId|orderId|status.value|status.date` (order notices: the same
/// shape).
pub(crate) fn signature_message(
    amount: Kopecks,
    sbp_merchant_id: &str,
    order: &str,
    payment_status: &str,
    transaction_date: &str,
) -> String {
    format!(
        "{}|{sbp_merchant_id}|{order}|{payment_status}|{transaction_date}",
        amount.to_rubles_text()
    )
}

/// Lowercase hex HMAC-SHA256 of `message` keyed with `secret_key`. `None` only if the HMAC
/// implementation refused the key, which it never does for HMAC (any key length is valid).
pub(crate) fn sign(secret_key: &str, message: &str) -> Option<String> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret_key.as_bytes()).ok()?;
    mac.update(message.as_bytes());
    Some(hex::encode(mac.finalize().into_bytes()))
}

impl Sandbox {
    /// Pays a QR with `amount`, like `POST /api/nspc-mock/v01/rfuture/payment/init`: the
    /// amount must equal the QR's, the QR must be `NEW` and not expired. A cash-register link
    /// (`QRVariable`) is paid through its live order, whose amount it must be. Sends the
    /// callback.
    pub async fn pay(&self, qr_id: &str, amount: Kopecks) -> Result<(), SandboxError> {
        let link = self.lock().raiffeisen.is_link(qr_id);
        if link {
            let event = self.lock().raiffeisen.pay_link(qr_id, amount, self.now())?;
            tracing::info!(
                qr_id,
                order = %event.order_id,
                transaction_id = event.transaction_id,
                amount = %amount,
                "sandbox cash-register link paid"
            );
            self.notify_order(&event);
            return Ok(());
        }
        let event = self.lock().raiffeisen.pay(qr_id, amount, self.now())?;
        tracing::info!(
            qr_id,
            transaction_id = event.transaction_id,
            amount = %amount,
            "sandbox QR paid"
        );
        self.notify(&event);
        Ok(())
    }

    /// Mints a customer-presented QR, as the customer's bank app would show it, and returns
    /// its payload (what a register scans). Above `amount_limit` the customer's bank declines;
    /// with `manual` the charge waits for the customer (pay its QR with [`Sandbox::pay`]).
    pub fn new_customer_qr(&self, amount_limit: Option<Kopecks>, manual: bool) -> String {
        let confirm = if manual {
            Confirm::Manual
        } else {
            Confirm::Auto
        };
        self.mint_customer_qr(amount_limit, confirm).payload
    }

    /// Mints a customer QR.
    pub(crate) fn mint_customer_qr(
        &self,
        amount_limit: Option<Kopecks>,
        confirm: Confirm,
    ) -> CustomerQr {
        let token = fresh_qr_id(QrType::Static).replacen("AS1", "CQ1", 1);
        let qr = self
            .lock()
            .raiffeisen
            .mint_customer_qr(&token, amount_limit, confirm);
        tracing::info!(payload = %qr.payload, ?confirm, "sandbox customer QR minted");
        qr
    }

    /// Charges a customer QR; sends the callback when the customer's bank answered at once.
    pub(crate) fn charge_customer_qr(&self, charge: Charge) -> Result<Qr, SandboxError> {
        let (qr, event) =
            self.lock()
                .raiffeisen
                .charge_customer_qr(charge, self.now(), fresh_qr_id)?;
        tracing::info!(qr_id = %qr.id, order = %qr.order, "sandbox customer QR charged");
        if let Some(event) = event {
            self.notify(&event);
        }
        Ok(qr)
    }

    /// The callback URL the merchant set (`POST /api/settings/v1/callback`), if any.
    pub fn callback_url(&self) -> Option<String> {
        self.lock().raiffeisen.callback_url.clone()
    }

    /// The registry of `date` (Moscow time), as `GET /sandbox/registry?date=YYYY-MM-DD`
    /// serves it before writing: every successful payment made that day and every refund
    /// completed that day (see the `registry` module for the rows, fees and totals).
    pub fn registry(&self, date: NaiveDate) -> Registry {
        let (qrs, orders, refunds) = {
            let mut state = self.lock();
            let now = self.now();
            (
                state.raiffeisen.all_qrs(now),
                state.raiffeisen.all_orders(now),
                state.raiffeisen.all_refunds(),
            )
        };
        registry::build(self.sbp_merchant_id(), &qrs, &orders, &refunds, date)
    }

    /// The payer's bank declines an attempt on `qr_id`; sends the `DECLINED` callback.
    pub(crate) fn decline(&self, qr_id: &str, amount: Option<Kopecks>) -> Result<(), SandboxError> {
        let event = self.lock().raiffeisen.decline(qr_id, amount, self.now())?;
        tracing::info!(
            qr_id,
            transaction_id = event.transaction_id,
            "sandbox payment declined"
        );
        self.notify(&event);
        Ok(())
    }

    /// Sends the callback for `event` to the configured URL, honouring the callback faults.
    fn notify(&self, event: &PaymentEvent) {
        let url = self.lock().raiffeisen.callback_url.clone();
        let Some(url) = url else {
            tracing::info!(
                transaction_id = event.transaction_id,
                "sandbox callback not sent: no callback URL set"
            );
            return;
        };
        let Some(client) = self.inner.http.clone() else {
            tracing::warn!(
                transaction_id = event.transaction_id,
                "sandbox callback not sent: no HTTP client"
            );
            return;
        };
        let config = &self.inner.config;
        let notification = PaymentNotification::new(event, &config.sbp_merchant_id);
        let body = match serde_json::to_string(&notification) {
            Ok(body) => body,
            Err(error) => {
                tracing::warn!(%error, "sandbox callback not sent: cannot serialize");
                return;
            }
        };
        let message = signature_message(
            event.amount,
            &config.sbp_merchant_id,
            &event.order,
            event.status.as_str(),
            &notification.transaction_date,
        );
        let delivery = callbacks::Delivery {
            content_type: "application/json",
            url,
            body,
            signature: sign(&config.secret_key, &message).map(|s| (SIGNATURE_HEADER, s)),
            expect_body: None,
            transaction_id: event.transaction_id,
        };
        self.deliver(client, delivery);
    }

    /// Sends the order notification (§1.7b) of a paid link to the callback URL.
    fn notify_order(&self, event: &OrderEvent) {
        let url = self.lock().raiffeisen.callback_url.clone();
        let Some(url) = url else {
            tracing::info!(
                transaction_id = event.transaction_id,
                "sandbox order callback not sent: no callback URL set"
            );
            return;
        };
        let config = &self.inner.config;
        let notification = OrderNotification::new(event);
        let body = match serde_json::to_string(&notification) {
            Ok(body) => body,
            Err(error) => {
                tracing::warn!(%error, "sandbox order callback not sent: cannot serialize");
                return;
            }
        };
        // Order notifications sign the store's publicId where SBP notices sign the merchant id.
        let message = signature_message(
            event.amount,
            &config.public_id,
            &event.order_id,
            notification.value(),
            notification.date(),
        );
        let delivery = callbacks::Delivery {
            content_type: "application/json",
            url,
            body,
            signature: sign(&config.secret_key, &message).map(|s| (SIGNATURE_HEADER, s)),
            expect_body: None,
            transaction_id: event.transaction_id,
        };
        if let Some(client) = self.client(event.transaction_id) {
            self.deliver(client, delivery);
        }
    }
}

#[cfg(test)]
mod tests {
    // fixed-dates: pure transitions and renderings with the time handed in; nothing here reads the wall clock.
    use super::*;

    #[test]
    fn signature_matches_banks_md_vectors() {
        let message = signature_message(
            Kopecks::new(111_000).unwrap(),
            "MA0000000552",
            "1-22-333",
            "SUCCESS",
            "2021-09-09T12:00:00+03:00",
        );
        assert_eq!(
            message,
            "1110|MA0000000552|1-22-333|SUCCESS|2021-09-09T12:00:00+03:00"
        );
        assert_eq!(
            sign("test-secret-key", &message).unwrap(),
            "3a7759464408abbdcbf7bfcf243f79b2e240e6a29f7b7be8931a97037dc1c094"
        );
        let fixture = signature_message(
            Kopecks::new(10_101).unwrap(),
            "MA0000000552",
            "dfe0ff08-4796-46bb-a9fb-93fcd99ce748",
            "SUCCESS",
            "2020-07-24T17:20:00.999232+03:00",
        );
        assert_eq!(
            sign("test-secret-key", &fixture).unwrap(),
            "7bc0cbad4cf763a34427fec468259a85c3b03a3c5daac96830e4f886f95c2881"
        );
    }
}
