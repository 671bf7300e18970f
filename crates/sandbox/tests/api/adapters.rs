//! qrpayd's bank adapters against the sandbox: the Raiffeisen adapter's cash-register links,
//! the T-Bank adapter, and the `sandbox` adapter's customer QRs, each through its whole life
//! (create, status, notification, cancel race, expiry, partial refund) — the contract the
//! service's end-to-end tests rely on.

use std::time::Duration;

use qrpayd_bank::raiffeisen::{Raiffeisen, RaiffeisenConfig};
use qrpayd_bank::sandbox::SandboxBank;
use qrpayd_bank::tbank::{TBank, TBankConfig};
use qrpayd_bank::{
    BankAdapter, BankError, BankPaymentStatus, BankRefundStatus, CreateQr, Deactivation, IssuedQr,
    PaymentQuery, QrKind, QrType, RefundRequest,
};
use qrpayd_domain::ids::{PaymentId, RefundId};
use qrpayd_domain::money::{Currency, Kopecks};
use qrpayd_domain::secret::Secret;

use crate::support::{
    Bank, MERCHANT, SECRET, TBANK_PASSWORD, TERMINAL, receiver, receiver_replying, start,
};

fn k(v: i64) -> Kopecks {
    Kopecks::new(v).unwrap()
}

fn raiffeisen_config(bank: &Bank) -> RaiffeisenConfig {
    RaiffeisenConfig {
        base_url: bank.base.clone(),
        sbp_merchant_id: MERCHANT.into(),
        secret_key: Secret::new(SECRET),
        public_id: None,
        timeout: Duration::from_secs(5),
    }
}

fn create(bank: &Bank, id: &str, amount: i64, kind: QrKind) -> CreateQr {
    CreateQr {
        payment_id: PaymentId::parse(id).unwrap(),
        amount: k(amount),
        currency: Currency::Rub,
        expires_at: bank.now() + chrono::Duration::minutes(5),
        description: Some("Чек".into()),
        kind,
    }
}

fn query(id: &str, qr: &IssuedQr, amount: i64, qr_type: QrType) -> PaymentQuery {
    PaymentQuery {
        payment_id: PaymentId::parse(id).unwrap(),
        qr_id: qr.qr_id.clone(),
        amount: k(amount),
        currency: Currency::Rub,
        qr_type,
    }
}

fn refund(id: &str, q: &PaymentQuery, amount: i64) -> RefundRequest {
    refund_after(id, q, amount, 0)
}

/// A refund of `q`'s payment after `before` kopecks were refunded.
fn refund_after(id: &str, q: &PaymentQuery, amount: i64, before: i64) -> RefundRequest {
    RefundRequest {
        refund_id: RefundId::parse(id).unwrap(),
        payment_id: q.payment_id.clone(),
        amount: k(amount),
        transaction_id: None,
        details: None,
        qr_type: q.qr_type,
        qr_id: Some(q.qr_id.clone()),
        paid_amount: q.amount,
        refunded_before: k(before),
    }
}

/// Asks for the refund's status until it is final (the sandbox completes on the second read).
async fn settled(adapter: &dyn BankAdapter, request: &RefundRequest) -> BankRefundStatus {
    for _ in 0..3 {
        match adapter.refund_status(request).await.unwrap() {
            Some(BankRefundStatus::InProgress) => continue,
            Some(other) => return other,
            None => panic!("the bank does not know {}", request.refund_id),
        }
    }
    panic!("{} never settled", request.refund_id)
}

#[tokio::test]
async fn raiffeisen_cash_link_life() {
    let bank = start().await;
    let mut merchant = receiver(0).await;
    let adapter = Raiffeisen::new(raiffeisen_config(&bank)).unwrap();
    adapter.register_callback_url(&merchant.url).await.unwrap();
    let link = adapter.register_cash_link().await.unwrap();
    let kind = QrKind::CashLink {
        link_qr_id: link.qr_id.clone(),
        link_payload: link.payload.clone(),
    };

    // Pay: the activation answers the link itself; the notice names our payment.
    let issued = adapter
        .create_qr(&create(&bank, "pay_link_1", 12_345, kind.clone()))
        .await
        .unwrap();
    assert_eq!(issued, link);
    let q1 = query("pay_link_1", &issued, 12_345, QrType::CashRegister);
    assert_eq!(
        adapter.payment_status(&q1).await,
        Ok(BankPaymentStatus::NotPaid)
    );
    // One live activation per link.
    assert!(matches!(
        adapter
            .create_qr(&create(&bank, "pay_link_2", 100, kind.clone()))
            .await,
        Err(BankError::LinkBusy(_))
    ));
    bank.sandbox
        .pay(link.qr_id.as_str(), k(12_345))
        .await
        .unwrap();
    let notice = merchant.next().await;
    let notice = adapter
        .parse_callback(&notice.headers, notice.json.body.as_bytes())
        .unwrap();
    assert_eq!(notice.order.as_deref(), Some("pay_link_1"));
    assert_eq!(notice.amount, Some(k(12_345)));
    assert!(matches!(
        notice.status,
        Some(BankPaymentStatus::Paid { .. })
    ));
    assert!(matches!(
        adapter.payment_status(&q1).await,
        Ok(BankPaymentStatus::Paid { .. })
    ));
    // Deactivating a paid activation is "final status": closed, and the status says paid.
    assert_eq!(adapter.deactivate_qr(&q1).await, Ok(Deactivation::Closed));
    // Partial refund.
    let r1 = refund("rf_link_1", &q1, 5_000);
    assert_eq!(adapter.refund(&r1).await, Ok(BankRefundStatus::InProgress));
    assert_eq!(adapter.refund(&r1).await, Ok(BankRefundStatus::InProgress));
    assert_eq!(settled(&adapter, &r1).await, BankRefundStatus::Completed);
    assert_eq!(
        adapter.refund_status(&refund("rf_never", &q1, 1)).await,
        Ok(None)
    );

    // Cancel: the next activation is cancelled unpaid; a payment afterwards fails.
    let issued = adapter
        .create_qr(&create(&bank, "pay_link_2", 100, kind.clone()))
        .await
        .unwrap();
    let q2 = query("pay_link_2", &issued, 100, QrType::CashRegister);
    assert_eq!(adapter.deactivate_qr(&q2).await, Ok(Deactivation::Closed));
    assert_eq!(adapter.deactivate_qr(&q2).await, Ok(Deactivation::Closed));
    assert_eq!(
        adapter.payment_status(&q2).await,
        Ok(BankPaymentStatus::NotPaid)
    );
    assert!(bank.sandbox.pay(link.qr_id.as_str(), k(100)).await.is_err());

    // Cancel race: the customer pays just before the cancel; the re-check says paid.
    let issued = adapter
        .create_qr(&create(&bank, "pay_link_3", 200, kind.clone()))
        .await
        .unwrap();
    let q3 = query("pay_link_3", &issued, 200, QrType::CashRegister);
    bank.sandbox.set_faults(qrpayd_sandbox::Faults {
        customer_pays_before_cancel: 1,
        ..qrpayd_sandbox::Faults::default()
    });
    assert_eq!(adapter.deactivate_qr(&q3).await, Ok(Deactivation::Closed));
    assert!(matches!(
        adapter.payment_status(&q3).await,
        Ok(BankPaymentStatus::Paid { .. })
    ));

    // Expiry at the bank.
    let issued = adapter
        .create_qr(&create(&bank, "pay_link_4", 300, kind))
        .await
        .unwrap();
    let q4 = query("pay_link_4", &issued, 300, QrType::CashRegister);
    bank.call(
        reqwest::Method::POST,
        &format!("/sandbox/qrs/{}/expire", link.qr_id),
        None,
        None,
    )
    .await;
    assert_eq!(
        adapter.payment_status(&q4).await,
        Ok(BankPaymentStatus::NotPaid)
    );
    assert_eq!(adapter.deactivate_qr(&q4).await, Ok(Deactivation::Closed));

    // An activation the bank never got (its answer lost before it arrived): cancelling it is
    // "not found" — closed — and it is not paid.
    let never = query("pay_link_9", &link, 500, QrType::CashRegister);
    assert_eq!(
        adapter.deactivate_qr(&never).await,
        Ok(Deactivation::Closed)
    );
    assert_eq!(
        adapter.payment_status(&never).await,
        Ok(BankPaymentStatus::NotPaid)
    );
}

#[tokio::test]
async fn raiffeisen_dynamic_qr_cancel_race_against_a_v2_status_without_code() {
    let bank = start().await;
    let adapter = Raiffeisen::new(raiffeisen_config(&bank)).unwrap();
    let issued = adapter
        .create_qr(&create(&bank, "pay_race_1", 4_200, QrKind::Dynamic))
        .await
        .unwrap();
    let q = query("pay_race_1", &issued, 4_200, QrType::Dynamic);
    bank.sandbox.set_faults(qrpayd_sandbox::Faults {
        customer_pays_before_cancel: 1,
        ..qrpayd_sandbox::Faults::default()
    });
    // The DELETE is refused (just paid); the v2 status, which has no `code`, says PAID.
    assert_eq!(adapter.deactivate_qr(&q).await, Ok(Deactivation::Closed));
    assert!(matches!(
        adapter.payment_status(&q).await,
        Ok(BankPaymentStatus::Paid {
            transaction_id: Some(_)
        })
    ));
}

#[tokio::test]
async fn t_bank_life() {
    let bank = start().await;
    let mut merchant = receiver_replying(0, "OK").await;
    let adapter = TBank::new(TBankConfig {
        base_url: format!("{}/tbank", bank.base),
        terminal_key: TERMINAL.into(),
        password: Secret::new(TBANK_PASSWORD),
        timeout: Duration::from_secs(5),
    })
    .unwrap();
    adapter.register_callback_url(&merchant.url).await.unwrap();

    // Pay, notified.
    let issued = adapter
        .create_qr(&create(&bank, "pay_tb_1", 12_345, QrKind::Dynamic))
        .await
        .unwrap();
    assert!(issued.payload.starts_with("https://qr.nspk.ru/"));
    let q1 = query("pay_tb_1", &issued, 12_345, QrType::Dynamic);
    assert_eq!(
        adapter.payment_status(&q1).await,
        Ok(BankPaymentStatus::NotPaid)
    );
    bank.sandbox.tbank_pay(issued.qr_id.as_str()).unwrap();
    let received = merchant.next().await;
    let notice = adapter
        .parse_callback(&received.headers, received.json.body.as_bytes())
        .unwrap();
    assert_eq!(notice.order.as_deref(), Some("pay_tb_1"));
    assert_eq!(notice.amount, Some(k(12_345)));
    assert!(matches!(
        notice.status,
        Some(BankPaymentStatus::Paid { .. })
    ));
    assert_eq!(adapter.callback_ack_body(), Some("OK"));
    // Deactivating a paid payment must not refund it.
    assert_eq!(adapter.deactivate_qr(&q1).await, Ok(Deactivation::Closed));
    assert!(matches!(
        adapter.payment_status(&q1).await,
        Ok(BankPaymentStatus::Paid { .. })
    ));
    assert_eq!(
        bank.sandbox.tbank_status(issued.qr_id.as_str()).unwrap(),
        "CONFIRMED"
    );

    // Partial refunds, one at a time, their outcome read from the payment's amounts.
    let r1 = refund("rf_tb_1", &q1, 2_345);
    assert_eq!(adapter.refund_status(&r1).await, Ok(None));
    assert_eq!(adapter.refund(&r1).await, Ok(BankRefundStatus::InProgress));
    // Sending it again while it is in progress is refused by the adapter, never sent twice.
    assert!(matches!(
        adapter.refund(&r1).await,
        Err(BankError::Protocol(_))
    ));
    assert_eq!(settled(&adapter, &r1).await, BankRefundStatus::Completed);
    // Against the journal's amounts, a second send of the completed refund is refused too.
    assert!(matches!(
        adapter.refund(&r1).await,
        Err(BankError::Protocol(_))
    ));
    let r2 = refund_after("rf_tb_2", &q1, 10_000, 2_345);
    assert_eq!(adapter.refund(&r2).await, Ok(BankRefundStatus::InProgress));
    assert_eq!(settled(&adapter, &r2).await, BankRefundStatus::Completed);
    assert!(matches!(
        adapter
            .refund(&refund_after("rf_tb_3", &q1, 1, 12_345))
            .await,
        Err(BankError::Protocol(_))
    ));
    assert!(matches!(
        adapter.payment_status(&q1).await,
        Ok(BankPaymentStatus::Paid { .. })
    ));
    assert_eq!(
        bank.sandbox.tbank_status(issued.qr_id.as_str()).unwrap(),
        "REFUNDED"
    );

    // A declined refund: the SBP refused it; the payment is as it was.
    let issued = adapter
        .create_qr(&create(&bank, "pay_tb_5", 3_000, QrKind::Dynamic))
        .await
        .unwrap();
    bank.sandbox.tbank_pay(issued.qr_id.as_str()).unwrap();
    let q5 = query("pay_tb_5", &issued, 3_000, QrType::Dynamic);
    let r5 = refund("rf_tb_5", &q5, 1_000);
    assert_eq!(adapter.refund(&r5).await, Ok(BankRefundStatus::InProgress));
    bank.sandbox
        .tbank_decline_refund(issued.qr_id.as_str())
        .unwrap();
    assert_eq!(
        adapter.refund_status(&r5).await,
        Ok(Some(BankRefundStatus::Declined))
    );

    // Cancel racing the payment: the bank turns the Cancel into a refund.
    let issued = adapter
        .create_qr(&create(&bank, "pay_tb_6", 4_000, QrKind::Dynamic))
        .await
        .unwrap();
    let q6 = query("pay_tb_6", &issued, 4_000, QrType::Dynamic);
    bank.sandbox.set_faults(qrpayd_sandbox::Faults {
        customer_pays_before_cancel: 1,
        ..qrpayd_sandbox::Faults::default()
    });
    assert_eq!(
        adapter.deactivate_qr(&q6).await,
        Ok(Deactivation::Refunded {
            amount: k(4_000),
            status: BankRefundStatus::InProgress
        })
    );
    assert!(matches!(
        adapter.payment_status(&q6).await,
        Ok(BankPaymentStatus::Paid { .. })
    ));
    // That refund, recorded by the service as its own, settles like any other.
    assert_eq!(
        settled(&adapter, &refund("rf_tb_6", &q6, 4_000)).await,
        BankRefundStatus::Completed
    );

    // Cancel: an unpaid payment is cancelled and stays unpaid.
    let issued = adapter
        .create_qr(&create(&bank, "pay_tb_2", 1_000, QrKind::Dynamic))
        .await
        .unwrap();
    let q2 = query("pay_tb_2", &issued, 1_000, QrType::Dynamic);
    assert_eq!(adapter.deactivate_qr(&q2).await, Ok(Deactivation::Closed));
    assert_eq!(adapter.deactivate_qr(&q2).await, Ok(Deactivation::Closed));
    assert_eq!(
        adapter.payment_status(&q2).await,
        Ok(BankPaymentStatus::NotPaid)
    );
    assert_eq!(
        bank.sandbox.tbank_status(issued.qr_id.as_str()).unwrap(),
        "CANCELED"
    );

    // Rejected, expired.
    let issued = adapter
        .create_qr(&create(&bank, "pay_tb_3", 1_000, QrKind::Dynamic))
        .await
        .unwrap();
    bank.sandbox.tbank_reject(issued.qr_id.as_str()).unwrap();
    let q3 = query("pay_tb_3", &issued, 1_000, QrType::Dynamic);
    assert_eq!(
        adapter.payment_status(&q3).await,
        Ok(BankPaymentStatus::Declined)
    );
    let issued = adapter
        .create_qr(&create(&bank, "pay_tb_4", 1_000, QrKind::Dynamic))
        .await
        .unwrap();
    bank.sandbox.tbank_expire(issued.qr_id.as_str()).unwrap();
    let q4 = query("pay_tb_4", &issued, 1_000, QrType::Dynamic);
    assert_eq!(
        adapter.payment_status(&q4).await,
        Ok(BankPaymentStatus::NotPaid)
    );
    assert_eq!(adapter.deactivate_qr(&q4).await, Ok(Deactivation::Closed));

    // Faults arrive in T-Bank's shape and are errors.
    bank.sandbox.set_faults(qrpayd_sandbox::Faults {
        business_error_next: 1,
        ..qrpayd_sandbox::Faults::default()
    });
    assert!(matches!(
        adapter.payment_status(&q4).await,
        Err(BankError::Rejected { code, .. }) if code == "9999"
    ));
    // A wrong password is refused by the bank.
    let wrong = TBank::new(TBankConfig {
        base_url: format!("{}/tbank", bank.base),
        terminal_key: TERMINAL.into(),
        password: Secret::new("wrong"),
        timeout: Duration::from_secs(5),
    })
    .unwrap();
    assert!(matches!(
        wrong.payment_status(&q4).await,
        Err(BankError::Rejected { code, .. }) if code == "204"
    ));
}

#[tokio::test]
async fn sandbox_customer_qr_life() {
    let bank = start().await;
    let mut merchant = receiver(0).await;
    let adapter = SandboxBank::new(raiffeisen_config(&bank)).unwrap();
    assert!(adapter.capabilities().customer_qr);
    adapter.register_callback_url(&merchant.url).await.unwrap();

    let scanned = bank.sandbox.new_customer_qr(None, false);
    let issued = adapter
        .create_qr(&create(
            &bank,
            "pay_cust_1",
            5_000,
            QrKind::Customer {
                scanned: format!("{scanned}\n"),
            },
        ))
        .await
        .unwrap();
    let q1 = query("pay_cust_1", &issued, 5_000, QrType::Customer);
    assert!(matches!(
        adapter.payment_status(&q1).await,
        Ok(BankPaymentStatus::Paid { .. })
    ));
    let received = merchant.next().await;
    let notice = adapter
        .parse_callback(&received.headers, received.json.body.as_bytes())
        .unwrap();
    assert_eq!(notice.order.as_deref(), Some("pay_cust_1"));
    let r1 = refund("rf_cust_1", &q1, 1_000);
    assert_eq!(adapter.refund(&r1).await, Ok(BankRefundStatus::InProgress));
    assert_eq!(settled(&adapter, &r1).await, BankRefundStatus::Completed);

    // Manual confirmation: cancelled before the customer confirms.
    let scanned = bank.sandbox.new_customer_qr(None, true);
    let issued = adapter
        .create_qr(&create(
            &bank,
            "pay_cust_2",
            700,
            QrKind::Customer { scanned },
        ))
        .await
        .unwrap();
    let q2 = query("pay_cust_2", &issued, 700, QrType::Customer);
    assert_eq!(
        adapter.payment_status(&q2).await,
        Ok(BankPaymentStatus::NotPaid)
    );
    assert_eq!(adapter.deactivate_qr(&q2).await, Ok(Deactivation::Closed));
    assert!(
        bank.sandbox
            .pay(issued.qr_id.as_str(), k(700))
            .await
            .is_err()
    );

    // Over the limit: declined; an unknown QR: refused.
    let scanned = bank.sandbox.new_customer_qr(Some(k(100)), false);
    let issued = adapter
        .create_qr(&create(
            &bank,
            "pay_cust_3",
            101,
            QrKind::Customer { scanned },
        ))
        .await
        .unwrap();
    let q3 = query("pay_cust_3", &issued, 101, QrType::Customer);
    assert_eq!(
        adapter.payment_status(&q3).await,
        Ok(BankPaymentStatus::Declined)
    );
    assert!(matches!(
        adapter
            .create_qr(&create(&bank,
                "pay_cust_4",
                1,
                QrKind::Customer {
                    scanned: "https://qr.nspk.ru/AD10000000000000000000000000TEST".into()
                },
            ))
            .await,
        Err(BankError::Rejected { code, .. }) if code == "ERROR.CUSTOMER_QR_NOT_FOUND"
    ));
    // Dynamic QRs and links work through the same adapter.
    let dynamic = adapter
        .create_qr(&create(&bank, "pay_dyn_1", 100, QrKind::Dynamic))
        .await
        .unwrap();
    assert!(dynamic.payload.contains("type=02"));
    assert!(adapter.register_cash_link().await.is_ok());
}
