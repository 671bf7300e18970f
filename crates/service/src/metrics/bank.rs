//! [`InstrumentedBank`]: a [`BankAdapter`] that times every call of the adapter it wraps and
//! records the outcome (the latency histogram, and the provider's health on the
//! [`HealthBoard`]). Startup wraps every provider's
//! adapter in one, so the orchestration code knows nothing about metrics.

use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use qrpayd_bank::{
    BankAdapter, BankError, BankPaymentStatus, BankRefundStatus, CallbackError, CallbackNotice,
    Capabilities, CreateQr, Deactivation, IssuedQr, PaymentQuery, RefundRequest,
};

use super::Metrics;
use crate::health::{HealthBoard, counts_against_bank};

/// Times and counts the calls of `inner`.
pub struct InstrumentedBank {
    inner: Arc<dyn BankAdapter>,
    provider: String,
    metrics: Arc<Metrics>,
    health: Arc<HealthBoard>,
}

impl InstrumentedBank {
    /// Wraps `inner`, the adapter of `provider`.
    pub fn wrap(
        inner: Arc<dyn BankAdapter>,
        provider: &str,
        metrics: Arc<Metrics>,
        health: Arc<HealthBoard>,
    ) -> Arc<dyn BankAdapter> {
        Arc::new(InstrumentedBank {
            inner,
            provider: provider.to_owned(),
            metrics,
            health,
        })
    }

    fn record<T>(&self, operation: &'static str, started: Instant, result: &Result<T, BankError>) {
        let (outcome, failure) = match result {
            Ok(_) => ("ok", None),
            Err(e) => {
                let outcome = match e {
                    BankError::Timeout => "timeout",
                    BankError::Unavailable(_) => "unavailable",
                    BankError::Rejected { .. } => "rejected",
                    BankError::Protocol(_) => "protocol",
                    BankError::Unsupported(_) => "unsupported",
                    BankError::LinkBusy(_) => "link_busy",
                };
                // The bank answered (a refusal of the request is an answer): only silence,
                // nonsense or the bank's own internal errors count against its health.
                let failed = counts_against_bank(e, &self.inner.capabilities());
                (outcome, failed.then(|| e.to_string()))
            }
        };
        if outcome == "unsupported" {
            return; // nothing was sent to the bank
        }
        self.metrics
            .bank_call(&self.provider, operation, outcome, started.elapsed());
        self.health.record(&self.provider, failure);
    }
}

#[async_trait]
impl BankAdapter for InstrumentedBank {
    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }

    async fn create_qr(&self, request: &CreateQr) -> Result<IssuedQr, BankError> {
        let started = Instant::now();
        let result = self.inner.create_qr(request).await;
        self.record("create_qr", started, &result);
        result
    }

    async fn register_cash_link(&self) -> Result<IssuedQr, BankError> {
        let started = Instant::now();
        let result = self.inner.register_cash_link().await;
        self.record("register_cash_link", started, &result);
        result
    }

    async fn payment_status(&self, query: &PaymentQuery) -> Result<BankPaymentStatus, BankError> {
        let started = Instant::now();
        let result = self.inner.payment_status(query).await;
        self.record("payment_status", started, &result);
        result
    }

    async fn deactivate_qr(&self, query: &PaymentQuery) -> Result<Deactivation, BankError> {
        let started = Instant::now();
        let result = self.inner.deactivate_qr(query).await;
        self.record("deactivate_qr", started, &result);
        result
    }

    async fn refund(&self, request: &RefundRequest) -> Result<BankRefundStatus, BankError> {
        let started = Instant::now();
        let result = self.inner.refund(request).await;
        self.record("refund", started, &result);
        result
    }

    async fn refund_status(
        &self,
        request: &RefundRequest,
    ) -> Result<Option<BankRefundStatus>, BankError> {
        let started = Instant::now();
        let result = self.inner.refund_status(request).await;
        self.record("refund_status", started, &result);
        result
    }

    async fn register_callback_url(&self, url: &str) -> Result<(), BankError> {
        let started = Instant::now();
        let result = self.inner.register_callback_url(url).await;
        self.record("register_callback_url", started, &result);
        result
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
