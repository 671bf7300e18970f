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

async fn payments() -> (Payments, qrpayd_store::test_db::TestDb) {
    let db = qrpayd_store::test_db::fresh().await.unwrap();
    let store = Store::connect(&db.url).await.unwrap();
    // fixed-date: the manual clock's start; nothing here compares it with the wall clock.
    let clock = ManualClock::new(
        DateTime::parse_from_rfc3339("2026-11-28T09:00:00Z")
            .unwrap()
            .to_utc(),
    );
    let name = ProviderName::parse("whole").unwrap();
    let provider = Provider {
        name: name.clone(),
        adapter: Arc::new(WholeRefundsOnly),
        poll_interval: Duration::from_secs(2),
    };
    let settings = Settings {
        payment_ttl: Duration::from_secs(300),
        bank_timeout: Duration::from_secs(1),
        refund_settle: Duration::from_secs(600),
        late_payment_policy: LatePolicy::Refund,
    };
    let payments = Payments::new(
        store,
        Arc::new(clock.clone()),
        ChangeHub::default(),
        HashMap::from([(name, provider)]),
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
