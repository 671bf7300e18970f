//! The daily registry (`GET /sandbox/registry?date=YYYY-MM-DD`): Raiffeisen's CSV in
//! Windows-1251, read back with the bank adapter's parser; exact amounts, fees and totals.

// fixed-dates: dates here are inputs (bank vectors, malformed dates, the manual clock's start);
// the code under test gets its time from the test, never from the wall clock.

use chrono::NaiveDate;
use qrpayd_bank::raiffeisen::registry::{Registry, RegistryKind, parse};
use qrpayd_domain::money::Kopecks;

use crate::support::{Bank, MERCHANT, start};

fn k(v: i64) -> Kopecks {
    Kopecks::new(v).unwrap()
}

/// The registry of `date` over HTTP: checks the headers and the encoding, then parses.
async fn fetch(bank: &Bank, date: NaiveDate) -> (Vec<u8>, Registry) {
    let response = reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .get(format!("{}/sandbox/registry?date={date}", bank.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "text/csv; charset=windows-1251"
    );
    let bytes = response.bytes().await.unwrap().to_vec();
    let registry = parse(&bytes).unwrap();
    (bytes, registry)
}

/// Pays two QRs and refunds part of one (completing the refund); returns the QR ids.
async fn two_payments_and_a_refund(bank: &Bank, tag: &str) -> (String, String) {
    let first = bank.register_dynamic(&format!("{tag}-1"), "3806").await;
    let second = bank.register_dynamic(&format!("{tag}-2"), "3923.01").await;
    bank.pay(&first, "3806").await.assert_success();
    bank.pay(&second, "3923.01").await.assert_success();
    bank.post(
        "/api/sbp/v1/refund",
        &format!(r#"{{"amount":100.5,"order":"{tag}-2","refundId":"{tag}-r"}}"#),
    )
    .await
    .assert_success();
    // The second read completes it.
    for status in ["IN_PROGRESS", "COMPLETED"] {
        let read = bank.get(&format!("/api/sbp/v1/refund/{tag}-r")).await;
        assert_eq!(read.text("refundStatus"), status);
    }
    (first, second)
}

#[tokio::test]
async fn the_days_payments_and_completed_refunds() {
    let bank = start().await;
    // The bank's clock stands still: the scenario cannot straddle Moscow midnight.
    let date = bank.msk_today();
    let tag = "reg".to_owned();
    let (first, second) = two_payments_and_a_refund(&bank, &tag).await;
    let (bytes, registry) = fetch(&bank, date).await;

    let day = date.format("%d/%m/%Y").to_string();
    assert_eq!(
        registry.title,
        format!(
            "Instant Payments C2B Transactions report for {day} / Отчет по СБП C2B транзакциям за {day}"
        )
    );
    assert_eq!(registry.date, Some(date));
    // Windows-1251 on the wire, CRLF line ends, as the bank's sample.
    let (text, _, malformed) = encoding_rs::WINDOWS_1251.decode(&bytes);
    assert!(!malformed);
    assert!(std::str::from_utf8(&bytes).is_err(), "not UTF-8");
    assert!(
        text.contains("\r\nМерчант;Дата операции МСК;Тип;"),
        "{text}"
    );
    assert!(text.contains(";Payment;reg"), "{text}");
    assert!(text.contains(";3806.00;15.22;\r\n"), "{text}");

    let rows: Vec<_> = registry
        .rows
        .iter()
        .filter(|r| r.order.starts_with(&format!("{tag}-")))
        .collect();
    let summary: Vec<_> = rows
        .iter()
        .map(|r| {
            (
                r.kind.clone(),
                r.order.as_str(),
                r.refund_id.as_deref(),
                r.qr_id.as_deref(),
                r.amount,
                r.fee,
            )
        })
        .collect();
    let (o1, o2, refund_id) = (format!("{tag}-1"), format!("{tag}-2"), format!("{tag}-r"));
    assert_eq!(
        summary,
        vec![
            (
                RegistryKind::Payment,
                o1.as_str(),
                None,
                Some(first.as_str()),
                k(380_600),
                k(1_522)
            ),
            (
                RegistryKind::Payment,
                o2.as_str(),
                None,
                Some(second.as_str()),
                k(392_301),
                k(1_569)
            ),
            (
                RegistryKind::Refund,
                o2.as_str(),
                Some(refund_id.as_str()),
                Some(second.as_str()),
                k(10_050),
                Kopecks::ZERO
            ),
        ]
    );
    for row in &rows {
        assert_eq!(row.merchant, MERCHANT);
        assert_eq!(row.method, "Instant Payment QR");
        assert!(
            row.payer.starts_with("0079******") && row.payer.len() == 12,
            "{}",
            row.payer
        );
        // The registry's times are the bank's clock, written to the minute.
        let now = bank.now();
        assert!(row.at <= now && now - row.at < chrono::TimeDelta::minutes(1));
    }
    assert_eq!(registry.total_amount, Some(k(380_600 + 392_301 + 10_050)));
    assert_eq!(registry.total_fee, Some(k(1_522 + 1_569)));
    // The in-process view is what the route wrote.
    assert_eq!(bank.sandbox.registry(date), registry);

    for other in [date.pred_opt().unwrap(), date.succ_opt().unwrap()] {
        let (_, registry) = fetch(&bank, other).await;
        assert!(registry.rows.is_empty(), "{other}: {:?}", registry.rows);
        assert_eq!(registry.date, Some(other));
        assert_eq!(registry.total_amount, Some(Kopecks::ZERO));
        assert_eq!(registry.total_fee, Some(Kopecks::ZERO));
    }
}

#[tokio::test]
async fn unfinished_refunds_and_declines_are_not_in_the_registry() {
    let bank = start().await;
    let date = bank.msk_today();
    let declined = bank.register_dynamic("declined", "5").await;
    bank.post_open(&format!("/sandbox/qrs/{declined}/decline"), "")
        .await
        .assert_success();
    let paid = bank.register_dynamic("paid", "5").await;
    bank.pay(&paid, "5").await.assert_success();
    bank.post(
        "/api/sbp/v1/refund",
        r#"{"amount":1,"order":"paid","refundId":"pending"}"#,
    )
    .await
    .assert_success();
    let registry = bank.sandbox.registry(date);
    let kinds: Vec<_> = registry
        .rows
        .iter()
        .map(|r| (r.kind.clone(), r.order.as_str(), r.amount, r.fee))
        .collect();
    assert_eq!(kinds, vec![(RegistryKind::Payment, "paid", k(500), k(2))]);
}

#[tokio::test]
async fn a_missing_or_bad_date_is_an_invalid_request() {
    let bank = start().await;
    for query in [
        "",
        "?date=",
        "?day=2024-05-01",
        "?date=2024-13-01",
        "?date=2024-02-30",
        "?date=01.05.2024",
        "?date=2024-5-1",
        "?date=2024-05-01T00:00:00",
        "?date=%FF",
    ] {
        let answer = bank
            .call(
                reqwest::Method::GET,
                &format!("/sandbox/registry{query}"),
                None,
                None,
            )
            .await;
        let message = answer.assert_error(400, "ERROR.INVALID_REQUEST");
        assert!(
            message.contains("date") || message.contains("дата"),
            "{query}: {message}"
        );
    }
}
