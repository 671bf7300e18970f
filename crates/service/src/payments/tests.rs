//! The orchestration against a scripted bank with fewer capabilities than any real kind has
//! today (no partial refunds, no notifications), so that what the service does with each
//! capability is pinned before a bank that lacks it arrives.

use super::*;
use crate::clock::ManualClock;
use async_trait::async_trait;
use qrpayd_bank::{
    BankPaymentStatus, BankRefundStatus, CallbackNotice, Capabilities, CreateQr, Deactivation,
    IssuedQr, RefundIdentity, RefundRequest,
};
use qrpayd_domain::ids::{IdempotencyKey, QrId};
use qrpayd_domain::payment::PaymentState;

/// A bank that issues QRs, reports them paid, and refunds only whole payments; it sends no
/// notifications.
struct WholeRefundsOnly;

#[async_trait]
impl BankAdapter for WholeRefundsOnly {
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            dynamic_qr: true,
            cash_register_link: false,
            customer_qr: false,
            partial_refund: false,
            callbacks: false,
            min_amount: None,
            max_amount: None,
            min_lifetime_seconds: None,
            refund_identity: RefundIdentity::ById,
            bank_side_codes: &["ERROR.TRY_LATER"],
        }
    }
    async fn create_qr(&self, request: &CreateQr) -> Result<IssuedQr, BankError> {
        Ok(IssuedQr {
            qr_id: QrId::parse("QR1").map_err(|e| BankError::Protocol(e.to_string()))?,
            payload: format!("https://qr.nspk.ru/QR1?sum={}", request.amount.get()),
        })
    }
    async fn register_cash_link(&self) -> Result<IssuedQr, BankError> {
        Err(BankError::Unsupported("links".into()))
    }
    async fn payment_status(&self, _: &PaymentQuery) -> Result<BankPaymentStatus, BankError> {
        Ok(BankPaymentStatus::Paid {
            transaction_id: Some("1".into()),
        })
    }
    async fn deactivate_qr(&self, _: &PaymentQuery) -> Result<Deactivation, BankError> {
        Ok(Deactivation::Closed)
    }
    async fn refund(&self, _: &RefundRequest) -> Result<BankRefundStatus, BankError> {
        Ok(BankRefundStatus::Completed)
    }
    async fn refund_status(
        &self,
        _: &RefundRequest,
    ) -> Result<Option<BankRefundStatus>, BankError> {
        Ok(Some(BankRefundStatus::Completed))
    }
    async fn register_callback_url(&self, _: &str) -> Result<(), BankError> {
        Err(BankError::Unsupported("notifications".into()))
    }
    fn parse_callback(
        &self,
        _: &reqwest::header::HeaderMap,
        _: &[u8],
    ) -> Result<CallbackNotice, CallbackError> {
        panic!("a bank without notifications was asked to parse one")
    }
    fn callback_ack_body(&self) -> Option<&'static str> {
        None
    }
}

/// A bank that refuses every create with the code in the payment's description: a refusal of
/// the request (`ERROR.AMOUNT`), or its own internal error (`ERROR.TRY_LATER`).
struct Refuses;

#[async_trait]
impl BankAdapter for Refuses {
    fn capabilities(&self) -> Capabilities {
        WholeRefundsOnly.capabilities()
    }
    async fn create_qr(&self, request: &CreateQr) -> Result<IssuedQr, BankError> {
        Err(BankError::Rejected {
            code: request.description.clone().unwrap_or_default(),
            message: "refused".into(),
        })
    }
    async fn register_cash_link(&self) -> Result<IssuedQr, BankError> {
        WholeRefundsOnly.register_cash_link().await
    }
    async fn payment_status(&self, q: &PaymentQuery) -> Result<BankPaymentStatus, BankError> {
        WholeRefundsOnly.payment_status(q).await
    }
    async fn deactivate_qr(&self, q: &PaymentQuery) -> Result<Deactivation, BankError> {
        WholeRefundsOnly.deactivate_qr(q).await
    }
    async fn refund(&self, r: &RefundRequest) -> Result<BankRefundStatus, BankError> {
        WholeRefundsOnly.refund(r).await
    }
    async fn refund_status(
        &self,
        r: &RefundRequest,
    ) -> Result<Option<BankRefundStatus>, BankError> {
        WholeRefundsOnly.refund_status(r).await
    }
    async fn register_callback_url(&self, url: &str) -> Result<(), BankError> {
        WholeRefundsOnly.register_callback_url(url).await
    }
    fn parse_callback(
        &self,
        h: &reqwest::header::HeaderMap,
        b: &[u8],
    ) -> Result<CallbackNotice, CallbackError> {
        WholeRefundsOnly.parse_callback(h, b)
    }
    fn callback_ack_body(&self) -> Option<&'static str> {
        None
    }
}

async fn payments() -> (Payments, qrpayd_store::test_db::TestDb) {
    let db = qrpayd_store::test_db::fresh().await.unwrap();
    let store = Store::connect(&db.url).await.unwrap();
    // fixed-date: the manual clock's start; nothing here compares it with the wall clock.
    let clock = ManualClock::new(
        DateTime::parse_from_rfc3339("2026-11-28T09:00:00Z")
            .unwrap()
            .to_utc(),
    );
    let provider = |name: &str, adapter: Arc<dyn BankAdapter>| {
        let name = ProviderName::parse(name).unwrap();
        (
            name.clone(),
            Provider {
                name,
                adapter,
                poll_interval: Duration::from_secs(2),
            },
        )
    };
    let providers = HashMap::from([
        provider("whole", Arc::new(WholeRefundsOnly)),
        provider("refuses", Arc::new(Refuses)),
    ]);
    let settings = Settings {
        payment_ttl: Duration::from_secs(300),
        bank_timeout: Duration::from_secs(1),
        register_timeout: Duration::from_secs(310),
        refund_settle: Duration::from_secs(600),
        late_payment_policy: LatePolicy::Refund,
    };
    let payments = Payments::new(
        store,
        Arc::new(clock.clone()),
        ChangeHub::default(),
        providers,
        Arc::new(crate::health::HealthBoard::new(
            Arc::new(clock.clone()),
            qrpayd_domain::health::BreakerSettings::default(),
        )),
        settings,
    );
    (payments, db)
}

#[tokio::test]
async fn a_bank_without_partial_refunds_gets_whole_refunds_only_and_nothing_is_saved_otherwise() {
    let (payments, _db) = payments().await;
    let register = RegisterId::parse("pos-1").unwrap();
    let created = payments
        .create(
            &register,
            IdempotencyKey::parse("sale-1").unwrap(),
            CreatePayment {
                amount: Kopecks::new(5_000).unwrap(),
                currency: Currency::Rub,
                provider: ProviderName::parse("whole").unwrap(),
                fallback: Vec::new(),
                order: None,
                description: None,
                qr_type: QrType::Dynamic,
                customer_qr: None,
            },
        )
        .await
        .unwrap();
    let id = created.payment.id.clone();
    // The poll finds it paid.
    payments.run_payment_job(&id, 0).await.unwrap();
    assert_eq!(
        payments.store().payment(&id).await.unwrap().unwrap().state,
        PaymentState::Paid
    );

    let part = payments
        .create_refund(
            &register,
            &id,
            IdempotencyKey::parse("ret-1").unwrap(),
            CreateRefund {
                amount: Kopecks::new(1_000).unwrap(),
                reason: None,
            },
        )
        .await;
    assert!(
        matches!(part, Err(RefundError::WholeAmountOnly(_))),
        "{part:?}"
    );
    assert!(payments.store().refunds_of(&id).await.unwrap().is_empty());

    let whole = payments
        .create_refund(
            &register,
            &id,
            IdempotencyKey::parse("ret-2").unwrap(),
            CreateRefund {
                amount: Kopecks::new(5_000).unwrap(),
                reason: None,
            },
        )
        .await;
    assert!(whole.is_ok(), "{whole:?}");
}

#[tokio::test]
async fn a_bank_without_notifications_has_no_notification_endpoint() {
    let (payments, _db) = payments().await;
    let outcome = payments
        .on_callback("whole", &reqwest::header::HeaderMap::new(), b"{}")
        .await;
    assert!(
        matches!(outcome, Err(CallbackProblem::UnknownProvider)),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn only_the_banks_own_trouble_moves_a_create_to_the_next_provider() {
    let (payments, _db) = payments().await;
    let register = RegisterId::parse("pos-1").unwrap();
    let request = |code: &str| CreatePayment {
        amount: Kopecks::new(5_000).unwrap(),
        currency: Currency::Rub,
        provider: ProviderName::parse("refuses").unwrap(),
        fallback: vec![ProviderName::parse("whole").unwrap()],
        order: None,
        description: Some(code.to_owned()),
        qr_type: QrType::Dynamic,
        customer_qr: None,
    };
    // The request's own fault: the next bank would refuse it too; it fails where it was.
    let refused = payments
        .create(
            &register,
            IdempotencyKey::parse("sale-1").unwrap(),
            request("ERROR.AMOUNT"),
        )
        .await;
    match refused {
        Err(PaymentError::CreationFailed(p, BankError::Rejected { code, .. })) => {
            assert_eq!(
                (p.provider.as_str(), code.as_str()),
                ("refuses", "ERROR.AMOUNT")
            );
        }
        other => panic!("{other:?}"),
    }
    // The bank's own internal error: the create moves on.
    let moved = payments
        .create(
            &register,
            IdempotencyKey::parse("sale-2").unwrap(),
            request("ERROR.TRY_LATER"),
        )
        .await
        .unwrap();
    assert_eq!(moved.payment.provider.as_str(), "whole");
    assert_eq!(moved.payment.state, PaymentState::Pending);
}
