//! Cash-register links at Raiffeisen (BANKS.md §1.6): a `QRVariable` is registered once and
//! printed; each payment *activates* it by creating an order bound to it, whose id is our
//! payment id.
//!
//! * activate: `POST /api/payment/v1/orders {amount, id, qr: {id}, expirationDate, comment}`;
//! * status: `GET /api/payment/v1/orders/{id}`, `status.value` `NEW` → not paid, `PAID` →
//!   paid, `CANCELLED`/`EXPIRED` → not paid (after a deactivation that means closed);
//! * deactivate: `DELETE /api/payment/v1/orders/{id}`; `ORDER_HAS_FINAL_STATUS` (paid,
//!   cancelled or expired) and `ORDER_NOT_FOUND` mean nobody can pay it any more: `Ok`, and the
//!   status decides;
//! * refunds: `POST`/`GET /api/payments/v1/orders/{id}/refunds/{refundId}` (note *payments*);
//! * notifications (§1.7b): `{"event":"payment","transaction":{…}}`, signed with the same HMAC
//!   over `amount|publicId|orderId|status.value|status.date`.
//!
//! Uncertain (BANKS.md §6): which identifier plays `publicId` for an SBP-only merchant. We use
//! the `sbpMerchantId` (what the SBP notice signs in the same position); confirm against the
//! bank's test environment before production. Also unknown: whether the bank refuses a second
//! order on a link with a live one; qrpayd's sandbox does (`ERROR.ORDER_ALREADY_ACTIVE`), and
//! any code naming `ORDER_ALREADY_ACTIVE` becomes [`BankError::LinkBusy`].
//!
//! Order answers are bare objects (no `code`); errors are the usual envelope with HTTP 4xx.

use qrpayd_domain::ids::{PaymentId, QrId};
use qrpayd_domain::money::{Currency, Kopecks};
use reqwest::Method;
use serde::de::DeserializeOwned;

use super::{
    Raiffeisen, check_amount, expiry_text, refund_answer, refund_lookup, to_json,
    verify_order_notification_signature, wire,
};
use crate::{
    BankError, BankPaymentStatus, BankRefundStatus, CallbackError, CallbackNotice, CreateQr,
    IssuedQr, PaymentQuery, RefundRequest,
};

/// The error code of a cancel on a paid, cancelled or expired order.
const ORDER_HAS_FINAL_STATUS: &str = "ORDER_HAS_FINAL_STATUS";
/// The error code of an unknown order.
const ORDER_NOT_FOUND: &str = "ORDER_NOT_FOUND";

/// An order's `status.value` as a payment status.
fn order_payment_status(value: &str) -> Result<BankPaymentStatus, BankError> {
    match value {
        "NEW" | "CANCELLED" | "EXPIRED" => Ok(BankPaymentStatus::NotPaid),
        "PAID" => Ok(BankPaymentStatus::Paid {
            transaction_id: None,
        }),
        other => Err(BankError::Protocol(format!(
            "unknown order status {other:?}"
        ))),
    }
}

/// Does an error code say the link already has a live activation?
fn is_link_busy(code: &str) -> bool {
    code.contains("ORDER_ALREADY_ACTIVE")
}

impl Raiffeisen {
    /// Sends an order-API request: success is a 2xx answer whose `code`, if any, is
    /// `SUCCESS`; anything else is the bank's refusal.
    async fn call_order<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> Result<T, BankError> {
        let (status, bytes) = self.send(method, path, true, body).await?;
        let envelope: Option<wire::Envelope> = serde_json::from_slice(&bytes).ok();
        let code = envelope.as_ref().and_then(|e| e.code.clone());
        if !status.is_success() || code.as_deref().is_some_and(|c| c != "SUCCESS") {
            return Err(BankError::Rejected {
                code: code.unwrap_or_else(|| format!("HTTP_{}", status.as_u16())),
                message: envelope.and_then(|e| e.message).unwrap_or_default(),
            });
        }
        serde_json::from_slice(&bytes)
            .map_err(|e| BankError::Protocol(format!("unexpected order answer: {e}")))
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

    /// `GET /api/payment/v1/orders/{id}`.
    pub(super) async fn order_status(
        &self,
        query: &PaymentQuery,
    ) -> Result<BankPaymentStatus, BankError> {
        let path = format!("/api/payment/v1/orders/{}", query.payment_id.as_str());
        let order: wire::Order = self.call_order(Method::GET, &path, None).await?;
        Self::check_order(&order, &query.payment_id, query.amount, &query.qr_id)?;
        order_payment_status(&order.status.value)
    }

    /// `DELETE /api/payment/v1/orders/{id}`: HTTP 200 with an empty body. A final order
    /// (paid, cancelled, expired) or an unknown one cannot be paid any more: `Ok`, and the
    /// status the caller asks next decides.
    pub(super) async fn cancel_order(&self, payment_id: &PaymentId) -> Result<(), BankError> {
        let path = format!("/api/payment/v1/orders/{}", payment_id.as_str());
        let (status, bytes) = self.send(Method::DELETE, &path, true, None).await?;
        let envelope: Option<wire::Envelope> = serde_json::from_slice(&bytes).ok();
        let code = envelope.as_ref().and_then(|e| e.code.clone());
        if status.is_success() && matches!(code.as_deref(), None | Some("SUCCESS")) {
            return Ok(());
        }
        match code.as_deref() {
            Some(ORDER_HAS_FINAL_STATUS | ORDER_NOT_FOUND) => {
                tracing::debug!(order = %payment_id, code = ?code, "order already final; the status decides");
                Ok(())
            }
            _ => Err(BankError::Rejected {
                code: code.unwrap_or_else(|| format!("HTTP_{}", status.as_u16())),
                message: envelope.and_then(|e| e.message).unwrap_or_default(),
            }),
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
            self.call::<wire::RefundAnswer>(Method::GET, &path, true, None)
                .await,
            request.amount,
        )
    }

    /// An order notification (§1.7b). `publicId` is taken to be the `sbpMerchantId`.
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
                self.sbp_merchant_id(),
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
        let status = match transaction.status.value.as_str() {
            "SUCCESS" | "PAID" => BankPaymentStatus::Paid {
                transaction_id: transaction.id.map(|id| id.to_string()),
            },
            "DECLINED" => BankPaymentStatus::Declined,
            "IN_PROGRESS" => BankPaymentStatus::InProgress,
            "NEW" | "NOT_FOUND" | "CANCELLED" | "EXPIRED" => BankPaymentStatus::NotPaid,
            other => {
                return Err(CallbackError::Malformed(format!(
                    "unknown transaction status {other:?}"
                )));
            }
        };
        tracing::debug!(
            order = %transaction.order_id,
            link = ?transaction.payment_params.and_then(|p| p.qr_id),
            "order notification verified"
        );
        Ok(CallbackNotice {
            // Every activation of a link shares its QR id: the order names the payment.
            qr_id: None,
            order: Some(transaction.order_id),
            amount,
            currency: None,
            status,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_statuses() {
        assert_eq!(order_payment_status("NEW"), Ok(BankPaymentStatus::NotPaid));
        assert_eq!(
            order_payment_status("PAID"),
            Ok(BankPaymentStatus::Paid {
                transaction_id: None
            })
        );
        assert_eq!(
            order_payment_status("CANCELLED"),
            Ok(BankPaymentStatus::NotPaid)
        );
        assert_eq!(
            order_payment_status("EXPIRED"),
            Ok(BankPaymentStatus::NotPaid)
        );
        assert!(matches!(
            order_payment_status("WHATEVER"),
            Err(BankError::Protocol(_))
        ));
        assert!(is_link_busy("ERROR.ORDER_ALREADY_ACTIVE"));
        assert!(!is_link_busy("ORDER_NOT_FOUND"));
    }
}
