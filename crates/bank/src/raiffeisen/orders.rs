//! Cash-register links at Raiffeisen (BANKS.md §1.6): a `QRVariable` is registered once and
//! printed; each payment *activates* it by creating an order bound to it, whose id is our
//! payment id.
//!
//! * activate: `POST /api/payment/v1/orders {amount, id, qr: {id}, expirationDate, comment}`;
//! * status: `GET /api/payment/v1/orders/{id}`, `status.value` `NEW` → not paid, `PAID` →
//!   paid, `CANCELLED`/`EXPIRED` → not paid (after a deactivation that means closed);
//! * deactivate: `DELETE /api/payment/v1/orders/{id}`; `ORDER_HAS_FINAL_STATUS` (paid,
//!   cancelled or expired) and "not found" (`ORDER_NOT_FOUND`, and the bare `NOT_FOUND` /
//!   `ERROR.NOT_FOUND` the bank's other APIs use) mean nobody can pay it any more:
//!   [`Deactivation::Closed`], and the status decides (an unknown order is not paid);
//! * refunds: `POST`/`GET /api/payments/v1/orders/{id}/refunds/{refundId}` (note *payments*);
//! * notifications (§1.7b): `{"event":"payment","transaction":{…}}`, signed with the same HMAC
//!   over `amount|publicId|orderId|status.value|status.date`; `transaction.id` and
//!   `paymentParams` are not signed and are not read.
//!
//! Uncertain (BANKS.md §6): which identifier plays `publicId` for an SBP-only merchant: the
//! provider setting `public_id`, by default the `sbpMerchantId` (what the SBP notice signs in
//! the same position); confirm against the bank's test environment before production. Also
//! unknown: whether the bank refuses a second order on a link with a live one; qrpayd's
//! sandbox does (`ERROR.ORDER_ALREADY_ACTIVE`), and any code naming `ORDER_ALREADY_ACTIVE`
//! becomes [`BankError::LinkBusy`].
//!
//! Order answers are bare objects (no `code`); errors are the usual envelope with HTTP 4xx.

use qrpayd_domain::ids::{PaymentId, QrId};
use qrpayd_domain::money::{Currency, Kopecks};
use reqwest::Method;
use serde::de::DeserializeOwned;

use super::{
    Raiffeisen, Success, check_amount, decode, expiry_text, refund_answer, refund_lookup, to_json,
    verify_order_notification_signature, wire,
};
use crate::{
    BankError, BankPaymentStatus, BankRefundStatus, CallbackError, CallbackNotice, CreateQr,
    Deactivation, IssuedQr, PaymentQuery, RefundRequest,
};

/// The error code of a cancel on a paid, cancelled or expired order.
const ORDER_HAS_FINAL_STATUS: &str = "ORDER_HAS_FINAL_STATUS";

/// Does an error code say the bank has no such order? The orders API answers
/// `ORDER_NOT_FOUND`; the bank's other APIs use `NOT_FOUND` and `ERROR.NOT_FOUND`.
fn is_not_found(code: &str) -> bool {
    matches!(code, "ORDER_NOT_FOUND" | "NOT_FOUND" | "ERROR.NOT_FOUND")
}

/// An order's `status.value` as a payment status.
fn order_payment_status(value: &str) -> BankPaymentStatus {
    match value {
        "NEW" | "CANCELLED" | "EXPIRED" => BankPaymentStatus::NotPaid,
        "PAID" => BankPaymentStatus::Paid {
            transaction_id: None,
        },
        other => BankPaymentStatus::Unrecognised(other.to_owned()),
    }
}

/// Does an error code say the link already has a live activation?
fn is_link_busy(code: &str) -> bool {
    code.contains("ORDER_ALREADY_ACTIVE")
}

impl Raiffeisen {
    /// Sends an order-API request; its answers are bare objects ([`Success::Bare`]).
    async fn call_order<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> Result<T, BankError> {
        self.call(method, path, true, body, Success::Bare).await
    }

    /// Checks an order answer against the payment: its id, amount and link.
    fn check_order(
        order: &wire::Order,
        payment_id: &PaymentId,
        amount: Kopecks,
        link: &QrId,
    ) -> Result<(), BankError> {
        if order.id != payment_id.as_str() {
            return Err(BankError::Protocol(format!(
                "order {}, we asked about {payment_id}",
                order.id
            )));
        }
        check_amount(
            "order",
            order.amount.as_deref(),
            None,
            amount,
            Currency::Rub,
        )?;
        if let Some(qr) = order.qr.as_ref().and_then(|q| q.id.as_deref())
            && !qr.eq_ignore_ascii_case(link.as_str())
        {
            return Err(BankError::Protocol(format!(
                "order {} is bound to QR {qr}, we activated {link}",
                order.id
            )));
        }
        Ok(())
    }

    /// Activates the link `link_qr_id` with the payment's amount.
    pub(super) async fn create_order(
        &self,
        request: &CreateQr,
        link_qr_id: &QrId,
        link_payload: &str,
    ) -> Result<IssuedQr, BankError> {
        let body = wire::CreateOrder {
            amount: wire::amount(request.amount)?,
            id: request.payment_id.as_str(),
            comment: request.description.as_deref(),
            expiration_date: expiry_text(request.expires_at)?,
            qr: wire::OrderQrRef {
                id: link_qr_id.as_str(),
                payment_details: request.description.as_deref(),
            },
        };
        let order: wire::Order = match self
            .call_order(
                Method::POST,
                "/api/payment/v1/orders",
                Some(to_json(&body)?),
            )
            .await
        {
            Err(BankError::Rejected { code, message }) if is_link_busy(&code) => {
                return Err(BankError::LinkBusy(format!("{code}: {message}")));
            }
            other => other?,
        };
        Self::check_order(&order, &request.payment_id, request.amount, link_qr_id)?;
        Ok(IssuedQr {
            qr_id: link_qr_id.clone(),
            payload: link_payload.to_owned(),
        })
    }

    /// `GET /api/payment/v1/orders/{id}`. An order the bank does not have was never created
    /// (an activation whose answer was lost before it reached the bank): not paid.
    pub(super) async fn order_status(
        &self,
        query: &PaymentQuery,
    ) -> Result<BankPaymentStatus, BankError> {
        let path = format!("/api/payment/v1/orders/{}", query.payment_id.as_str());
        let order: wire::Order = match self.call_order(Method::GET, &path, None).await {
            Err(BankError::Rejected { code, .. }) if is_not_found(&code) => {
                return Ok(BankPaymentStatus::NotPaid);
            }
            other => other?,
        };
        Self::check_order(&order, &query.payment_id, query.amount, &query.qr_id)?;
        Ok(order_payment_status(&order.status.value))
    }

    /// `DELETE /api/payment/v1/orders/{id}`: HTTP 200 with an empty body. A final order
    /// (paid, cancelled, expired) or an unknown one cannot be paid any more: closed, and the
    /// status the caller asks next decides.
    pub(super) async fn cancel_order(
        &self,
        payment_id: &PaymentId,
    ) -> Result<Deactivation, BankError> {
        let path = format!("/api/payment/v1/orders/{}", payment_id.as_str());
        let (status, bytes) = self.send(Method::DELETE, &path, true, None).await?;
        if status.is_success() && bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Deactivation::Closed);
        }
        match decode::<serde_json::Value>(&path, status, &bytes, Success::Bare) {
            Ok(_) => Ok(Deactivation::Closed),
            Err(BankError::Rejected { code, .. })
                if code == ORDER_HAS_FINAL_STATUS || is_not_found(&code) =>
            {
                tracing::debug!(order = %payment_id, code, "order final or unknown; the status decides");
                Ok(Deactivation::Closed)
            }
            Err(BankError::Rejected { code, message }) => Ok(Deactivation::StillOpen(format!(
                "the bank refused to cancel order {payment_id}: {code}: {message}"
            ))),
            Err(e) => Err(e),
        }
    }

    fn order_refund_path(request: &RefundRequest) -> String {
        format!(
            "/api/payments/v1/orders/{}/refunds/{}",
            request.payment_id.as_str(),
            request.refund_id.as_str()
        )
    }

    /// `POST /api/payments/v1/orders/{id}/refunds/{refundId}`.
    pub(super) async fn order_refund(
        &self,
        request: &RefundRequest,
    ) -> Result<BankRefundStatus, BankError> {
        let body = wire::OrderRefundRequest {
            amount: wire::amount(request.amount)?,
            payment_details: request.details.as_deref(),
        };
        let answer: wire::RefundAnswer = self
            .call(
                Method::POST,
                &Self::order_refund_path(request),
                true,
                Some(to_json(&body)?),
                Success::Code,
            )
            .await?;
        refund_answer("order refund", &answer, request.amount)
    }

    /// `GET /api/payments/v1/orders/{id}/refunds/{refundId}`.
    pub(super) async fn order_refund_status(
        &self,
        request: &RefundRequest,
    ) -> Result<Option<BankRefundStatus>, BankError> {
        let path = Self::order_refund_path(request);
        refund_lookup(
            self.call::<wire::RefundAnswer>(Method::GET, &path, true, None, Success::Code)
                .await,
            request.amount,
        )
    }

    /// An order notification (§1.7b), verified with the configured `publicId`.
    pub(super) fn parse_order_notification(
        &self,
        given: &str,
        body: &[u8],
    ) -> Result<CallbackNotice, CallbackError> {
        let notice: wire::OrderNotification =
            serde_json::from_slice(body).map_err(|e| CallbackError::Malformed(e.to_string()))?;
        let transaction = notice.transaction;
        let date =
            transaction.status.date.as_deref().ok_or_else(|| {
                CallbackError::Malformed("transaction.status.date missing".into())
            })?;
        let amount_text = transaction.amount.get();
        let amount = Kopecks::parse_rubles(amount_text)
            .map_err(|e| CallbackError::Malformed(format!("amount: {e}")))?;
        let signed = |amount: &str| {
            verify_order_notification_signature(
                &self.config.secret_key,
                amount,
                self.public_id(),
                &transaction.order_id,
                &transaction.status.value,
                date,
                given,
            )
        };
        // As for SBP notices: the text as sent, then the canonical form.
        if !(signed(amount_text) || signed(&amount.to_rubles_text())) {
            return Err(CallbackError::BadSignature);
        }
        // Transaction statuses (`SUCCESS`, `NOT_FOUND` in the e-com spec) and order statuses.
        let status = match transaction.status.value.as_str() {
            "SUCCESS" | "PAID" => BankPaymentStatus::Paid {
                transaction_id: None,
            },
            "DECLINED" => BankPaymentStatus::Declined,
            "IN_PROGRESS" => BankPaymentStatus::InProgress,
            "NEW" | "NOT_FOUND" | "CANCELLED" | "EXPIRED" => BankPaymentStatus::NotPaid,
            other => BankPaymentStatus::Unrecognised(other.to_owned()),
        };
        tracing::debug!(order = %transaction.order_id, "order notification verified");
        Ok(CallbackNotice {
            order: Some(transaction.order_id).filter(|o| !o.is_empty()),
            amount: Some(amount),
            currency: None,
            status: Some(status),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_statuses() {
        assert_eq!(order_payment_status("NEW"), BankPaymentStatus::NotPaid);
        assert_eq!(
            order_payment_status("PAID"),
            BankPaymentStatus::Paid {
                transaction_id: None
            }
        );
        assert_eq!(
            order_payment_status("CANCELLED"),
            BankPaymentStatus::NotPaid
        );
        assert_eq!(order_payment_status("EXPIRED"), BankPaymentStatus::NotPaid);
        assert_eq!(
            order_payment_status("WHATEVER"),
            BankPaymentStatus::Unrecognised("WHATEVER".into())
        );
        assert!(is_link_busy("ERROR.ORDER_ALREADY_ACTIVE"));
        assert!(!is_link_busy("ORDER_NOT_FOUND"));
        for code in ["ORDER_NOT_FOUND", "NOT_FOUND", "ERROR.NOT_FOUND"] {
            assert!(is_not_found(code), "{code}");
        }
        assert!(!is_not_found("ORDER_HAS_FINAL_STATUS"));
    }
}
