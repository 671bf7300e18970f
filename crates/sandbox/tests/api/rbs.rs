//! BPC's RBS gateway under `/rbs/payment/rest/`: form calls with the merchant's login or token,
//! `errorCode` with HTTP 200, register → SBP QR → status → reject, refunds keyed by
//! `externalRefundId`, form notifications whose `checksum` qrpayd's adapter verifies, faults in
//! the gateway's shape; and qrpayd's adapter against it.

#![expect(
    clippy::indexing_slicing,
    reason = "serde_json's Index answers Null for a missing field; it never panics on objects"
)]

use std::time::Duration;

use qrpayd_bank::rbs::checksum::{encode_form, parse_form, symmetric_checksum};
use qrpayd_bank::rbs::{Auth, CallbackCheck, Rbs, RbsConfig};
use qrpayd_bank::{BankAdapter, BankPaymentStatus, CreateQr, PaymentQuery, QrKind, QrType};
use qrpayd_domain::ids::PaymentId;
use qrpayd_domain::money::{Currency, Kopecks};
use qrpayd_domain::nspk::parse_link;
use qrpayd_domain::secret::Secret;
use qrpayd_sandbox::Faults;
use serde_json::Value;

use crate::support::{Bank, RBS_CALLBACK_KEY, RBS_PASSWORD, RBS_USER, receiver, start};

impl Bank {
    /// A call to the gateway with the merchant's login and `params`; the JSON answer.
    async fn rbs(&self, method: &str, params: &[(&str, &str)]) -> (u16, Value) {
        let mut form = vec![("userName", RBS_USER), ("password", RBS_PASSWORD)];
        form.extend_from_slice(params);
        self.rbs_raw(method, &encode_form(form)).await
    }

    async fn rbs_raw(&self, method: &str, body: &str) -> (u16, Value) {
        let response = reqwest::Client::new()
            .post(format!("{}/rbs/payment/rest/{method}.do", self.base))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(body.to_owned())
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// Registers an order of `amount` kopecks and gets its QR: (mdOrder, qrId, payload).
    async fn rbs_order(
        &self,
        number: &str,
        amount: &str,
        notify: &str,
    ) -> (String, String, String) {
        let expires = qrpayd_domain::moscow::time(self.now() + chrono::TimeDelta::minutes(5))
            .format("%Y-%m-%dT%H:%M:%S")
            .to_string();
        let (status, registered) = self
            .rbs(
                "register",
                &[
                    ("orderNumber", number),
                    ("amount", amount),
                    ("currency", "643"),
                    ("returnUrl", "https://shop.example/back"),
                    ("expirationDate", &expires),
                    ("dynamicCallbackUrl", notify),
                ],
            )
            .await;
        assert_eq!(
            (status, &registered["errorCode"]),
            (200, &Value::from("0")),
            "{registered}"
        );
        let md_order = registered["orderId"].as_str().unwrap().to_owned();
        let (_, qr) = self
            .rbs("sbp/c2b/qr/dynamic/get", &[("mdOrder", &md_order)])
            .await;
        assert_eq!(qr["qrStatus"], "STARTED", "{qr}");
        (
            md_order,
            qr["qrId"].as_str().unwrap().to_owned(),
            qr["payload"].as_str().unwrap().to_owned(),
        )
    }
}

fn adapter(bank: &Bank, auth: Auth) -> Rbs {
    Rbs::new(RbsConfig {
        base_url: format!("{}/rbs/payment", bank.base),
        auth,
        callback: CallbackCheck::Key(Secret::new(RBS_CALLBACK_KEY)),
        timeout: Duration::from_secs(5),
    })
    .unwrap()
}

#[tokio::test]
async fn order_qr_payment_and_a_signed_notification() {
    let bank = start().await;
    let mut merchant = receiver(1).await;
    let (md_order, qr_id, payload) = bank.rbs_order("ord-1", "12345", &merchant.url).await;
    let link = parse_link(&payload).unwrap();
    assert_eq!(link.sum, Some(Kopecks::new(12_345).unwrap()));
    assert_eq!(link.crc_ok, Some(true));
    assert!(payload.contains(&qr_id));
    let (_, status) = bank
        .rbs(
            "sbp/c2b/qr/status",
            &[("mdOrder", &md_order), ("qrId", &qr_id)],
        )
        .await;
    assert_eq!(
        (&status["qrStatus"], &status["transactionState"]),
        (&"STARTED".into(), &"CREATED".into())
    );

    bank.sandbox.rbs_pay(&md_order).unwrap();
    // Refused once (HTTP 500), delivered again.
    let first = merchant.next().await;
    let second = merchant.next().await;
    assert_eq!(first.json.body, second.json.body);
    assert_eq!(
        second.headers["content-type"],
        "application/x-www-form-urlencoded"
    );
    let params = parse_form(second.json.body.as_bytes()).unwrap();
    let field = |name: &str| {
        params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(field("operation"), Some("deposited"));
    assert_eq!(field("status"), Some("1"));
    assert_eq!(field("orderNumber"), Some("ord-1"));
    assert_eq!(field("amount"), Some("12345"));
    assert_eq!(
        field("checksum").unwrap(),
        symmetric_checksum(&params, &Secret::new(RBS_CALLBACK_KEY))
    );
    // qrpayd's adapter verifies it.
    let notice = adapter(&bank, Auth::Token(Secret::new(RBS_PASSWORD)))
        .parse_callback(
            &reqwest::header::HeaderMap::new(),
            second.json.body.as_bytes(),
        )
        .unwrap();
    assert_eq!(notice.order.as_deref(), Some("ord-1"));
    let (_, order) = bank
        .rbs("getOrderStatusExtended", &[("orderId", &md_order)])
        .await;
    assert_eq!(
        (&order["orderStatus"], &order["amount"]),
        (&2.into(), &12_345.into()),
        "{order}"
    );
    // A paid QR cannot be rejected or paid again.
    let (status, refused) = bank
        .rbs(
            "sbp/c2b/qr/dynamic/reject",
            &[("mdOrder", &md_order), ("qrId", &qr_id)],
        )
        .await;
    assert_eq!((status, &refused["errorCode"]), (200, &Value::from("7")));
    assert!(bank.sandbox.rbs_pay(&md_order).is_err());
}

#[tokio::test]
async fn errors_come_with_http_200() {
    let bank = start().await;
    let (status, denied) = bank
        .rbs_raw(
            "register",
            &encode_form([("userName", RBS_USER), ("password", "wrong")]),
        )
        .await;
    assert_eq!(
        (status, &denied["errorCode"]),
        (200, &Value::from("5")),
        "{denied}"
    );
    let (_, missing) = bank
        .rbs("register", &[("orderNumber", "x"), ("amount", "100")])
        .await;
    assert_eq!(missing["errorCode"], "4", "{missing}");
    bank.rbs_order("dup", "100", "http://127.0.0.1:9/none")
        .await;
    let (_, duplicate) = bank
        .rbs(
            "register",
            &[
                ("orderNumber", "dup"),
                ("amount", "100"),
                ("returnUrl", "https://x"),
            ],
        )
        .await;
    assert_eq!(duplicate["errorCode"], "1");
    let (_, unknown) = bank
        .rbs(
            "getOrderStatusExtended",
            &[("orderId", "00000000-0000-0000-0000-000000000000")],
        )
        .await;
    assert_eq!(unknown["errorCode"], "6");
    bank.sandbox.set_faults(Faults {
        http_500_next: 1,
        business_error_next: 1,
        ..Faults::default()
    });
    let (status, _) = bank
        .rbs("getOrderStatusExtended", &[("orderId", "x")])
        .await;
    assert_eq!(status, 500);
    let (status, injected) = bank
        .rbs("getOrderStatusExtended", &[("orderId", "x")])
        .await;
    assert_eq!((status, &injected["errorCode"]), (200, &Value::from("7")));
}

#[tokio::test]
async fn reject_expiry_and_refunds_by_external_id() {
    let bank = start().await;
    let (md_order, qr_id, _) = bank
        .rbs_order("rej", "500", "http://127.0.0.1:9/none")
        .await;
    let (_, rejected) = bank
        .rbs(
            "sbp/c2b/qr/dynamic/reject",
            &[("mdOrder", &md_order), ("qrId", &qr_id)],
        )
        .await;
    assert_eq!(rejected["rejected"], true, "{rejected}");
    assert!(bank.sandbox.rbs_pay(&md_order).is_err());

    // An ignored deactivation is answered as done and leaves the QR payable (a late payment).
    let (ignored, ignored_qr, _) = bank
        .rbs_order("ign", "500", "http://127.0.0.1:9/none")
        .await;
    bank.sandbox.ignore_next_deactivation(&ignored);
    let (_, answered) = bank
        .rbs(
            "sbp/c2b/qr/dynamic/reject",
            &[("mdOrder", &ignored), ("qrId", &ignored_qr)],
        )
        .await;
    assert_eq!(answered["rejected"], true, "{answered}");
    bank.sandbox.rbs_pay(&ignored).unwrap();

    let (expiring, _, _) = bank
        .rbs_order("exp", "500", "http://127.0.0.1:9/none")
        .await;
    bank.clock.advance(chrono::TimeDelta::minutes(6));
    let (_, order) = bank
        .rbs("getOrderStatusExtended", &[("orderId", &expiring)])
        .await;
    assert_eq!(
        (&order["orderStatus"], &order["actionCode"]),
        (&6.into(), &(-2007).into())
    );
    assert!(bank.sandbox.rbs_pay(&expiring).is_err());

    let (paid, _, _) = bank
        .rbs_order("ref", "1000", "http://127.0.0.1:9/none")
        .await;
    bank.sandbox.rbs_pay(&paid).unwrap();
    let refund = [
        ("orderId", paid.as_str()),
        ("amount", "300"),
        ("externalRefundId", "r1"),
    ];
    assert_eq!(bank.rbs("refund", &refund).await.1["errorCode"], "0");
    // The same id again is the same refund.
    assert_eq!(bank.rbs("refund", &refund).await.1["errorCode"], "0");
    let (_, too_much) = bank
        .rbs(
            "refund",
            &[
                ("orderId", &paid),
                ("amount", "701"),
                ("externalRefundId", "r2"),
            ],
        )
        .await;
    assert_eq!(too_much["errorCode"], "7");
    let (_, first) = bank
        .rbs("getOrderStatusExtended", &[("orderId", &paid)])
        .await;
    assert_eq!(first["refunds"].as_array().unwrap().len(), 1, "{first}");
    assert!(first["refunds"][0].get("actionCode").is_none(), "{first}");
    let (_, second) = bank
        .rbs("getOrderStatusExtended", &[("orderId", &paid)])
        .await;
    assert_eq!(second["refunds"][0]["actionCode"], 0, "{second}");
    assert_eq!(second["orderStatus"], 4);
    assert_eq!(second["paymentAmountInfo"]["refundedAmount"], 300);
    bank.rbs(
        "refund",
        &[
            ("orderId", &paid),
            ("amount", "700"),
            ("externalRefundId", "r3"),
        ],
    )
    .await;
    bank.sandbox.rbs_decline_refund(&paid).unwrap();
    let (_, declined) = bank
        .rbs("getOrderStatusExtended", &[("orderId", &paid)])
        .await;
    assert_eq!(declined["refunds"][1]["actionCode"], -2019, "{declined}");
}

#[tokio::test]
async fn the_adapter_against_the_sandbox() {
    let bank = start().await;
    let rbs = adapter(
        &bank,
        Auth::Login {
            user_name: RBS_USER.into(),
            password: Secret::new(RBS_PASSWORD),
        },
    );
    let payment_id = PaymentId::parse("pay_0192f0c1e2d37a8b9c0d1e2f3a4b5c6d").unwrap();
    let issued = rbs
        .create_qr(&CreateQr {
            payment_id: payment_id.clone(),
            amount: Kopecks::new(5_000).unwrap(),
            currency: Currency::Rub,
            expires_at: bank.now() + chrono::TimeDelta::minutes(5),
            description: Some("Чек 7".into()),
            kind: QrKind::Dynamic,
        })
        .await
        .unwrap();
    let query = PaymentQuery {
        payment_id,
        qr_id: issued.qr_id.clone(),
        amount: Kopecks::new(5_000).unwrap(),
        currency: Currency::Rub,
        qr_type: QrType::Dynamic,
    };
    assert_eq!(
        rbs.payment_status(&query).await.unwrap(),
        BankPaymentStatus::NotPaid
    );
    bank.sandbox.rbs_decline(issued.qr_id.as_str()).unwrap();
    assert_eq!(
        rbs.payment_status(&query).await.unwrap(),
        BankPaymentStatus::Declined
    );
}
