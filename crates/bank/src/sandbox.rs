//! The `sandbox` provider kind: qrpayd's own SBP sandbox bank, spoken to with Raiffeisen's
//! protocol ([`Raiffeisen`]) plus the sandbox's customer-presented QR extension, so that the
//! customer-QR flow can be tried and tested end to end.
//!
//! A customer QR is charged with `POST /sandbox/customer-qr/charge` (Bearer auth, like the
//! Raiffeisen API): `{"sbpMerchantId", "payload": <scanned text>, "order": <payment id>,
//! "amount": <rubles>, "qrExpirationDate", "paymentDetails"?}` → `{"code": "SUCCESS",
//! "qrId", …}`. The sandbox books the charge as a one-payment QR with `order` = our payment
//! id, so from then on the payment is a dynamic QR for every other call (payment-info,
//! deactivation, refunds, notifications): this adapter hands them to [`Raiffeisen`] as such.
//!
//! No real bank offers this; it exists for the demo, training and tests.

use async_trait::async_trait;
use reqwest::Method;
use serde::{Deserialize, Serialize};

use crate::raiffeisen::{CAPABILITIES as RAIFFEISEN, Raiffeisen, RaiffeisenConfig, Success};
use crate::{
    BankAdapter, BankError, BankPaymentStatus, BankRefundStatus, CallbackError, CallbackNotice,
    Capabilities, CreateQr, Deactivation, IssuedQr, PaymentQuery, QrKind, QrType, RefundRequest,
};

/// What the sandbox provider offers: Raiffeisen's, plus customer QRs.
pub const CAPABILITIES: Capabilities = Capabilities {
    customer_qr: true,
    ..RAIFFEISEN
};

/// The adapter: a Raiffeisen client aimed at qrpayd's sandbox, with the extension.
#[derive(Debug, Clone)]
pub struct SandboxBank {
    inner: Raiffeisen,
}

/// `POST /sandbox/customer-qr/charge` body.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Charge<'a> {
    /// Our merchant id.
    sbp_merchant_id: &'a str,
    /// The scanned customer QR, as read.
    payload: &'a str,
    /// Our payment id.
    order: &'a str,
    /// Rubles.
    amount: Box<serde_json::value::RawValue>,
    /// When the charge must stop waiting for the customer's confirmation.
    qr_expiration_date: String,
    /// Payment purpose shown to the customer.
    #[serde(skip_serializing_if = "Option::is_none")]
    payment_details: Option<&'a str>,
}

/// The charge's answer.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Charged {
    /// The sandbox's id of the charge (a QR id): our reference from now on.
    qr_id: String,
}

impl SandboxBank {
    /// Builds the adapter (same settings as Raiffeisen's).
    pub fn new(config: RaiffeisenConfig) -> Result<Self, BankError> {
        Ok(SandboxBank {
            inner: Raiffeisen::new(config)?,
        })
    }

    /// A customer-QR payment is a dynamic QR for everything after the charge.
    fn as_dynamic(qr_type: QrType) -> QrType {
        match qr_type {
            QrType::Customer => QrType::Dynamic,
            QrType::Dynamic => QrType::Dynamic,
            QrType::CashRegister => QrType::CashRegister,
        }
    }

    async fn charge(&self, request: &CreateQr, scanned: &str) -> Result<IssuedQr, BankError> {
        let expires = qrpayd_domain::moscow::time(request.expires_at).to_rfc3339();
        let amount = serde_json::value::RawValue::from_string(request.amount.to_rubles_text())
            .map_err(|e| BankError::Protocol(format!("amount encoding: {e}")))?;
        let body = Charge {
            sbp_merchant_id: self.inner.sbp_merchant_id(),
            payload: scanned,
            order: request.payment_id.as_str(),
            amount,
            qr_expiration_date: expires,
            payment_details: request.description.as_deref(),
        };
        let body = serde_json::to_vec(&body)
            .map_err(|e| BankError::Protocol(format!("cannot encode: {e}")))?;
        let answer: Charged = self
            .inner
            .call(
                Method::POST,
                "/sandbox/customer-qr/charge",
                true,
                Some(body),
                Success::Code,
            )
            .await?;
        let qr_id = qrpayd_domain::ids::QrId::parse(&answer.qr_id)
            .map_err(|e| BankError::Protocol(format!("qrId {:?}: {e}", answer.qr_id)))?;
        Ok(IssuedQr {
            qr_id,
            payload: scanned.to_owned(),
        })
    }
}

#[async_trait]
impl BankAdapter for SandboxBank {
    fn capabilities(&self) -> Capabilities {
        CAPABILITIES
    }

    async fn create_qr(&self, request: &CreateQr) -> Result<IssuedQr, BankError> {
        match &request.kind {
            QrKind::Customer { scanned } => self.charge(request, scanned).await,
            QrKind::Dynamic | QrKind::CashLink { .. } => self.inner.create_qr(request).await,
        }
    }

    async fn register_cash_link(&self) -> Result<IssuedQr, BankError> {
        self.inner.register_cash_link().await
    }

    async fn payment_status(&self, query: &PaymentQuery) -> Result<BankPaymentStatus, BankError> {
        let query = PaymentQuery {
            qr_type: Self::as_dynamic(query.qr_type),
            ..query.clone()
        };
        self.inner.payment_status(&query).await
    }

    async fn deactivate_qr(&self, query: &PaymentQuery) -> Result<Deactivation, BankError> {
        let query = PaymentQuery {
            qr_type: Self::as_dynamic(query.qr_type),
            ..query.clone()
        };
        self.inner.deactivate_qr(&query).await
    }

    async fn refund(&self, request: &RefundRequest) -> Result<BankRefundStatus, BankError> {
        let request = RefundRequest {
            qr_type: Self::as_dynamic(request.qr_type),
            ..request.clone()
        };
        self.inner.refund(&request).await
    }

    async fn refund_status(
        &self,
        request: &RefundRequest,
    ) -> Result<Option<BankRefundStatus>, BankError> {
        let request = RefundRequest {
            qr_type: Self::as_dynamic(request.qr_type),
            ..request.clone()
        };
        self.inner.refund_status(&request).await
    }

    async fn register_callback_url(&self, url: &str) -> Result<(), BankError> {
        self.inner.register_callback_url(url).await
    }

    fn parse_callback(
        &self,
        headers: &reqwest::header::HeaderMap,
        body: &[u8],
    ) -> Result<CallbackNotice, CallbackError> {
        self.inner.parse_callback(headers, body)
    }

    fn callback_ack_body(&self) -> Option<&'static str> {
        self.inner.callback_ack_body()
    }
}
