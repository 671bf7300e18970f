//! The T-Bank terminal under `/tbank/v2/`: Init, GetQr, GetState, SbpPayTest, Cancel (cancel
//! and refunds; `ExternalRequestId` ignored as the spec says it is for SBP), GetQrState (no
//! refund id), the SBP limits (3016, 3017), Token checks, notifications (Token-signed, retried
//! until `OK`, fiscal receipts), faults (a customer paying just before a cancel).

use std::time::Duration;

use qrpayd_domain::nspk::parse_link;
use qrpayd_sandbox::Faults;
use serde_json::{Value, json};

use crate::support::{Bank, TBANK_PASSWORD, TERMINAL, receiver_replying, start, tbank_token};

/// A field of a JSON object (`null` when absent).
fn field<'a>(value: &'a Value, name: &str) -> &'a Value {
    value.get(name).unwrap_or(&Value::Null)
}

/// Init; returns the PaymentId.
async fn new_payment(bank: &Bank, order: &str, amount: i64, notify: Option<&str>) -> String {
    let due = bank.expires_in(5);
    let mut init = json!({
        "Amount": amount,
        "OrderId": order,
        "Description": "Чек 1",
        "RedirectDueDate": due,
    });
    if let Some(url) = notify {
        init.as_object_mut()
            .unwrap()
            .insert("NotificationURL".into(), url.into());
    }
    let answer = bank.tbank("Init", init).await;
    assert_eq!(field(&answer, "Success"), &json!(true), "{answer}");
    assert_eq!(field(&answer, "ErrorCode"), "0");
    assert_eq!(field(&answer, "Status"), "NEW");
    assert_eq!(field(&answer, "Amount"), amount);
    assert_eq!(field(&answer, "OrderId"), order);
    assert_eq!(field(&answer, "TerminalKey"), TERMINAL);
    field(&answer, "PaymentId").as_str().unwrap().to_owned()
}

fn assert_notification_signed(body: &str) -> Value {
    let n: Value = serde_json::from_str(body).unwrap();
    assert_eq!(
        field(&n, "Token").as_str().unwrap(),
        tbank_token(&n, TBANK_PASSWORD),
        "{body}"
    );
    assert_eq!(field(&n, "TerminalKey"), TERMINAL);
    n
}

#[tokio::test]
async fn init_qr_pay_and_notify() {
    let bank = start().await;
    let mut merchant = receiver_replying(0, "OK").await;
    let id = new_payment(&bank, "tb-1", 12_345, Some(&merchant.url)).await;
    let qr = bank
        .tbank("GetQr", json!({"PaymentId": id, "DataType": "PAYLOAD"}))
        .await;
    assert_eq!(qr["Success"], true, "{qr}");
    assert_eq!(qr["PaymentId"].to_string(), id);
    let link = parse_link(qr["Data"].as_str().unwrap()).unwrap();
    assert_eq!(link.sum.unwrap().get(), 12_345);
    assert_eq!(link.bank.as_deref(), Some("100000000004"));
    assert_eq!(link.crc_ok, Some(true));
    let state = bank.tbank("GetState", json!({"PaymentId": id})).await;
    assert_eq!(state["Status"], "FORM_SHOWED");

    let paid = bank.tbank("SbpPayTest", json!({"PaymentId": id})).await;
    assert_eq!(paid["Success"], true, "{paid}");
    let notification = merchant.next().await;
    let n = assert_notification_signed(&notification.json.body);
    assert_eq!(n["Status"], "CONFIRMED");
    assert_eq!(n["OrderId"], "tb-1");
    assert_eq!(n["Amount"], 12_345);
    assert_eq!(n["PaymentId"].to_string(), id);
    assert_eq!(n["Success"], true);
    assert_eq!(
        bank.tbank("GetState", json!({"PaymentId": id})).await["Status"],
        "CONFIRMED"
    );
    assert_eq!(bank.sandbox.tbank_status(&id).unwrap(), "CONFIRMED");
    // Paid once only.
    let again = bank.tbank("SbpPayTest", json!({"PaymentId": id})).await;
    assert_eq!(
        (again["Success"].clone(), again["ErrorCode"].clone()),
        (json!(false), json!("4"))
    );
}

#[tokio::test]
async fn tokens_terminals_and_unknown_payments_are_checked() {
    let bank = start().await;
    let id = new_payment(&bank, "tb-2", 100, None).await;
    let mut body = json!({"TerminalKey": TERMINAL, "PaymentId": id});
    body["Token"] = tbank_token(&body, "wrong-password").into();
    let refused = bank.tbank_raw("GetState", &body.to_string()).await;
    assert_eq!(refused["Success"], false);
    assert_eq!(refused["ErrorCode"], "204");
    let no_token = bank
        .tbank_raw(
            "GetState",
            &json!({"TerminalKey": TERMINAL, "PaymentId": id}).to_string(),
        )
        .await;
    assert_eq!(no_token["ErrorCode"], "204");
    let mut other = json!({"TerminalKey": "OtherDEMO", "PaymentId": id});
    other["Token"] = tbank_token(&other, TBANK_PASSWORD).into();
    assert_eq!(
        bank.tbank_raw("GetState", &other.to_string()).await["ErrorCode"],
        "501"
    );
    // The PaymentId may be a number; an unknown one is 255.
    let numeric = bank
        .tbank("GetState", json!({"PaymentId": id.parse::<u64>().unwrap()}))
        .await;
    assert_eq!(numeric["Status"], "NEW");
    assert_eq!(
        bank.tbank("GetState", json!({"PaymentId": "1"})).await["ErrorCode"],
        "255"
    );
    let image = bank
        .tbank("GetQr", json!({"PaymentId": id, "DataType": "IMAGE"}))
        .await;
    assert_eq!(image["ErrorCode"], "8");
    assert_eq!(
        bank.tbank("Init", json!({"OrderId": "x"})).await["ErrorCode"],
        "8"
    );
}

#[tokio::test]
async fn refunds_are_async_one_at_a_time_and_never_deduplicated() {
    let bank = start().await;
    let mut merchant = receiver_replying(0, "OK").await;
    let id = new_payment(&bank, "tb-3", 10_000, Some(&merchant.url)).await;
    bank.sandbox.tbank_pay(&id).unwrap();
    assert_eq!(
        assert_notification_signed(&merchant.next().await.json.body)["Status"],
        "CONFIRMED"
    );
    // `ExternalRequestId` is ignored for SBP, as the spec says: no answer carries it.
    let refund = json!({"PaymentId": id, "Amount": 4_000, "ExternalRequestId": "rf-1"});
    let first = bank.tbank("Cancel", refund.clone()).await;
    assert_eq!(first["Status"], "ASYNC_REFUNDING", "{first}");
    assert_eq!(
        (first["OriginalAmount"].clone(), first["NewAmount"].clone()),
        (json!(10_000), json!(6_000))
    );
    assert!(first.get("ExternalRequestId").is_none(), "{first}");
    // One refund at a time: a repeat while the first is in progress is refused (not
    // recognised as the same refund).
    let repeat = bank.tbank("Cancel", refund.clone()).await;
    assert_eq!(repeat["ErrorCode"], "4", "{repeat}");
    // In progress: the payment shows it; what is left does not change until it completes.
    let state = bank.tbank("GetState", json!({"PaymentId": id})).await;
    assert_eq!(
        (state["Status"].clone(), state["Amount"].clone()),
        (json!("ASYNC_REFUNDING"), json!(10_000))
    );
    // The second status read completes it.
    let read = bank.tbank("GetQrState", json!({"PaymentId": id})).await;
    assert_eq!(
        (read["Status"].clone(), read["Amount"].clone()),
        (json!("PARTIAL_REFUNDED"), json!(4_000))
    );
    assert!(read.get("ExternalRequestId").is_none() && read.get("QrCancelCode").is_none());
    assert_eq!(
        assert_notification_signed(&merchant.next().await.json.body)["Status"],
        "PARTIAL_REFUNDED"
    );
    let state = bank.tbank("GetState", json!({"PaymentId": id})).await;
    assert_eq!(
        (state["Status"].clone(), state["Amount"].clone()),
        (json!("PARTIAL_REFUNDED"), json!(6_000))
    );
    // The same request again is a second refund: T-Bank has no refund id to recognise it by.
    let second = bank.tbank("Cancel", refund).await;
    assert_eq!(
        (
            second["OriginalAmount"].clone(),
            second["NewAmount"].clone()
        ),
        (json!(6_000), json!(2_000))
    );
    let too_much = bank
        .tbank("Cancel", json!({"PaymentId": id, "Amount": 2_001}))
        .await;
    assert_eq!(too_much["ErrorCode"], "4", "one in progress: {too_much}");
    // A declined refund (SBP refused it) leaves the payment as it was; GetQrState reports it.
    bank.sandbox.tbank_decline_refund(&id).unwrap();
    let declined = bank.tbank("GetQrState", json!({"PaymentId": id})).await;
    assert_eq!(
        (declined["Status"].clone(), declined["Amount"].clone()),
        (json!("PARTIAL_REFUNDED"), json!(4_000))
    );
    assert_eq!(declined["QrCancelCode"], "I05043");
    let state = bank.tbank("GetState", json!({"PaymentId": id})).await;
    assert_eq!(state["Amount"], 6_000);
    let too_much = bank
        .tbank("Cancel", json!({"PaymentId": id, "Amount": 6_001}))
        .await;
    assert_eq!(too_much["ErrorCode"], "14");
    let rest = bank.tbank("Cancel", json!({"PaymentId": id})).await;
    assert_eq!(
        (rest["OriginalAmount"].clone(), rest["NewAmount"].clone()),
        (json!(6_000), json!(0))
    );
}

#[tokio::test]
async fn the_sbp_limits_are_enforced() {
    let bank = start().await;
    for amount in [999, 100_000_001] {
        let id = new_payment(&bank, &format!("lim-{amount}"), amount, None).await;
        let qr = bank.tbank("GetQr", json!({"PaymentId": id})).await;
        assert_eq!(qr["ErrorCode"], "3016", "{amount}: {qr}");
    }
    for amount in [1_000, 100_000_000] {
        let id = new_payment(&bank, &format!("ok-{amount}"), amount, None).await;
        let qr = bank.tbank("GetQr", json!({"PaymentId": id})).await;
        assert_eq!(qr["Success"], true, "{amount}: {qr}");
    }
    let init = |due: String| json!({"Amount": 1_000, "OrderId": "due", "RedirectDueDate": due});
    let at = |seconds: i64| {
        qrpayd_domain::moscow::time(bank.now() + chrono::TimeDelta::seconds(seconds))
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
    };
    for too_close_or_far in [at(59), at(91 * 86_400)] {
        let answer = bank.tbank("Init", init(too_close_or_far.clone())).await;
        assert_eq!(answer["ErrorCode"], "3017", "{too_close_or_far}: {answer}");
    }
    assert_eq!(bank.tbank("Init", init(at(60))).await["Success"], true);
}

#[tokio::test]
async fn a_customer_paying_just_before_the_cancel_gets_refunded_and_receipts_are_sent() {
    let bank = start().await;
    let mut merchant = receiver_replying(0, "OK").await;
    bank.sandbox.set_faults(Faults {
        customer_pays_before_cancel: 1,
        tbank_receipts: true,
        ..Faults::default()
    });
    let id = new_payment(&bank, "race-1", 5_000, Some(&merchant.url)).await;
    let cancel = bank.tbank("Cancel", json!({"PaymentId": id})).await;
    assert_eq!(
        (
            cancel["Status"].clone(),
            cancel["OriginalAmount"].clone(),
            cancel["NewAmount"].clone()
        ),
        (json!("ASYNC_REFUNDING"), json!(5_000), json!(0)),
        "{cancel}"
    );
    let paid = assert_notification_signed(&merchant.next().await.json.body);
    assert_eq!(paid["Status"], "CONFIRMED");
    let receipt = assert_notification_signed(&merchant.next().await.json.body);
    assert_eq!(
        (receipt["Status"].clone(), receipt["OrderId"].clone()),
        (json!("RECEIPT"), json!("race-1"))
    );
    // The fault is used up: the next cancel of an open payment just cancels it.
    let other = new_payment(&bank, "race-2", 5_000, None).await;
    assert_eq!(
        bank.tbank("Cancel", json!({"PaymentId": other})).await["Status"],
        "CANCELED"
    );
}

#[tokio::test]
async fn cancel_reject_and_deadline() {
    let bank = start().await;
    let mut merchant = receiver_replying(0, "OK").await;
    bank.sandbox
        .set_tbank_notification_url(Some(merchant.url.clone()));
    let cancelled = new_payment(&bank, "tb-4", 500, None).await;
    let answer = bank
        .tbank("Cancel", json!({"PaymentId": cancelled, "Amount": 1}))
        .await;
    assert_eq!(answer["Status"], "CANCELED", "{answer}");
    assert_eq!(answer["NewAmount"], 0);
    let late = bank
        .tbank("SbpPayTest", json!({"PaymentId": cancelled}))
        .await;
    assert_eq!(late["ErrorCode"], "4");

    let rejected = new_payment(&bank, "tb-5", 500, None).await;
    let answer = bank
        .tbank(
            "SbpPayTest",
            json!({"PaymentId": rejected, "IsRejected": true}),
        )
        .await;
    assert_eq!(answer["Success"], true, "{answer}");
    // Sent to the terminal's notification URL (the payment has none of its own).
    let n = assert_notification_signed(&merchant.next().await.json.body);
    assert_eq!(
        (n["Status"].clone(), n["OrderId"].clone()),
        (json!("REJECTED"), json!("tb-5"))
    );

    let expired = new_payment(&bank, "tb-6", 500, None).await;
    bank.sandbox.tbank_expire(&expired).unwrap();
    let n = assert_notification_signed(&merchant.next().await.json.body);
    assert_eq!(n["Status"], "DEADLINE_EXPIRED");
    assert_eq!(
        bank.tbank("GetState", json!({"PaymentId": expired})).await["Status"],
        "DEADLINE_EXPIRED"
    );
    let both = bank
        .tbank(
            "SbpPayTest",
            json!({"PaymentId": rejected, "IsRejected": true, "IsDeadlineExpired": true}),
        )
        .await;
    assert_eq!(both["ErrorCode"], "8");

    let put = bank
        .call(
            reqwest::Method::PUT,
            "/sandbox/tbank/notification-url",
            Some(r#"{"url":"ftp://x"}"#),
            None,
        )
        .await;
    put.assert_error(400, "ERROR.INVALID_REQUEST");
    let put = bank
        .call(
            reqwest::Method::PUT,
            "/sandbox/tbank/notification-url",
            Some(r#"{"url":null}"#),
            None,
        )
        .await;
    assert_eq!(put.status, 200, "{}", put.body);
}

#[tokio::test]
async fn notifications_are_retried_until_the_answer_is_ok() {
    let bank = start().await;
    // HTTP 500 twice, then 200 but without `OK`: never accepted.
    let mut merchant = receiver_replying(2, "accepted").await;
    let id = new_payment(&bank, "tb-7", 100, Some(&merchant.url)).await;
    bank.sandbox.tbank_pay(&id).unwrap();
    assert_eq!(merchant.next().await.json.status, 500);
    assert_eq!(merchant.next().await.json.status, 500);
    let third = merchant.next().await;
    assert_eq!(third.json.status, 200);
    let fourth = merchant.next().await;
    assert_eq!(fourth.json.body, third.json.body);

    let mut ok = receiver_replying(0, "OK").await;
    let id = new_payment(&bank, "tb-8", 100, Some(&ok.url)).await;
    bank.sandbox.tbank_pay(&id).unwrap();
    ok.next().await;
    let nothing_more = tokio::time::timeout(Duration::from_millis(700), ok.next()).await;
    assert!(
        nothing_more.is_err(),
        "an accepted notification was sent again"
    );
}

#[tokio::test]
async fn faults_apply_in_t_banks_shape() {
    let bank = start().await;
    let id = new_payment(&bank, "tb-9", 100, None).await;
    bank.sandbox.set_faults(Faults {
        business_error_next: 1,
        http_500_next: 1,
        ..Faults::default()
    });
    let server_error = bank
        .call(
            reqwest::Method::POST,
            "/tbank/v2/GetState",
            Some("{}"),
            None,
        )
        .await;
    assert_eq!(server_error.status, 500);
    let business = bank.tbank("GetState", json!({"PaymentId": id})).await;
    assert_eq!(
        (business["Success"].clone(), business["ErrorCode"].clone()),
        (json!(false), json!("9999"))
    );
    assert_eq!(
        bank.tbank("GetState", json!({"PaymentId": id})).await["Status"],
        "NEW"
    );
    let overview = bank
        .call(reqwest::Method::GET, "/sandbox/qrs", None, None)
        .await;
    let overview: Value = serde_json::from_str(&overview.body).unwrap();
    assert_eq!(overview["tbankPayments"][0]["paymentId"], id.as_str());
}
