//! Bank answers: every adapter (every `KINDS` entry) calls a local server that answers each
//! request with the input as its body, through every `BankAdapter` method, so each answer
//! decoder (the wire structs, the envelope and success rules, the amount, currency and id
//! checks behind them) sees the bytes.
//!
//! Input: the answer body. Each method gets it with HTTP 200; the status queries also with
//! 400, 404 and 500 (the error envelopes). Oracles: no panic, no hang, no unbounded allocation;
//! an answer is an outcome or an error, never anything else. The requests name the QR
//! `AD100004BAL7227F9BNP6KNE007J9B3K` (the spec's examples' id), 123.45 RUB, order `pay_1`.

use std::sync::{Arc, LazyLock, Mutex, PoisonError};
use std::time::Duration;

use axum::http::StatusCode;
use qrpayd_bank::{BankAdapter, CreateQr, KINDS, PaymentQuery, QrKind, QrType, RefundRequest};
use qrpayd_domain::ids::{PaymentId, QrId, RefundId};
use qrpayd_domain::money::{Currency, Kopecks};

use crate::Target;

/// The target.
pub(super) const TARGET: Target = Target {
    name: "bank_answers",
    run,
    max_len: 4096,
    dictionary: &[
        "\"code\":",
        "\"SUCCESS\"",
        "\"ERROR.NOT_FOUND\"",
        "\"ERROR.REFUND_NOT_FOUND\"",
        "\"message\":",
        "\"qrId\":",
        "\"AD100004BAL7227F9BNP6KNE007J9B3K\"",
        "\"payload\":",
        "\"https://qr.nspk.ru/AD100004BAL7227F9BNP6KNE007J9B3K?type=02&bank=100000000007&sum=12345&cur=RUB&crc=0000\"",
        "\"qrStatus\":",
        "\"NEW\"",
        "\"PAID\"",
        "\"CANCELLED\"",
        "\"EXPIRED\"",
        "\"amount\":",
        "123.45",
        "12345",
        "\"currency\":",
        "\"RUB\"",
        "\"order\":",
        "\"pay_1\"",
        "\"paymentStatus\":",
        "\"transactionId\":",
        "\"refundStatus\":",
        "\"COMPLETED\"",
        "\"IN_PROGRESS\"",
        "\"DECLINED\"",
        "\"callbackUrl\":",
        "\"Success\":",
        "true",
        "\"ErrorCode\":",
        "\"0\"",
        "\"TerminalKey\":",
        "\"TinkoffBankTest\"",
        "\"Status\":",
        "\"CONFIRMED\"",
        "\"PaymentId\":",
        "\"OrderId\":",
        "\"Amount\":",
        "\"Data\":",
        "\"Payload\":",
        "\"Message\":",
        "\"Details\":",
        "\"status\":",
        "\"value\":",
        "\"id\":",
        "\"qr\":",
        "\"expirationDate\":",
        "null",
        "{",
        "}",
        "[",
        "]",
    ],
};

struct Harness {
    runtime: tokio::runtime::Runtime,
    /// What the server answers: status and body.
    answer: Arc<Mutex<(u16, Vec<u8>)>>,
    banks: Vec<(&'static str, Arc<dyn BankAdapter>)>,
}

static HARNESS: LazyLock<Result<Harness, String>> = LazyLock::new(harness);

fn harness() -> Result<Harness, String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let answer = Arc::new(Mutex::new((200, Vec::new())));
    let served = answer.clone();
    let app = axum::Router::new().fallback(move || {
        let (status, body) = served
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        async move {
            (
                StatusCode::from_u16(status).unwrap_or(StatusCode::OK),
                [("content-type", "application/json")],
                body,
            )
        }
    });
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .map_err(|e| e.to_string())?;
    let base = format!(
        "http://{}",
        listener.local_addr().map_err(|e| e.to_string())?
    );
    // No Nagle delay: a body written in two segments would otherwise wait for the client's
    // delayed ACK (40 ms) and the target would crawl.
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        let _ = tcp.set_nodelay(true);
    });
    runtime.spawn(async move { axum::serve(listener, app).await });
    let mut banks = Vec::new();
    for name in KINDS {
        let kind = super::bank_kind(name, &format!("{base}/"))
            .ok_or_else(|| format!("cannot configure a {name} provider"))?;
        let adapter = runtime.block_on(async {
            kind.build(
                Duration::from_secs(2),
                std::sync::Arc::new(qrpayd_bank::clock::SystemClock),
            )
        });
        banks.push((name, adapter.map_err(|e| format!("{name}: {e}"))?));
    }
    Ok(Harness {
        runtime,
        answer,
        banks,
    })
}

const QR: &str = "AD100004BAL7227F9BNP6KNE007J9B3K";
const LINK: &str = "AS1R0000000000000000000000000TST";

fn ids() -> Result<(PaymentId, QrId, QrId, RefundId, Kopecks), String> {
    Ok((
        PaymentId::parse("pay_1").map_err(|e| e.to_string())?,
        QrId::parse(QR).map_err(|e| e.to_string())?,
        QrId::parse(LINK).map_err(|e| e.to_string())?,
        RefundId::parse("rf_1").map_err(|e| e.to_string())?,
        Kopecks::new(12345).map_err(|e| e.to_string())?,
    ))
}

fn run(body: &[u8]) -> Result<String, String> {
    let harness = HARNESS.as_ref().map_err(Clone::clone)?;
    let (payment_id, qr_id, link_id, refund_id, amount) = ids()?;
    // A moment with no meaning (nothing compares it with the clock): the QR's expiry.
    let expires_at = chrono::DateTime::from_timestamp(1_900_000_000, 0).ok_or("no expiry")?;
    let answer = |status: u16| {
        *harness
            .answer
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = (status, body.to_vec());
    };
    let mut outcomes = Vec::new();
    let mut note = |what: &str, text: String| {
        outcomes.push(format!(
            "{what}:{}",
            text.chars().take(60).collect::<String>()
        ));
    };
    for (name, bank) in &harness.banks {
        let capabilities = bank.capabilities();
        let kinds = [
            QrKind::Dynamic,
            QrKind::CashLink {
                link_qr_id: link_id.clone(),
                link_payload: format!("https://qr.nspk.ru/{LINK}"),
            },
            QrKind::Customer {
                scanned: format!("https://qr.nspk.ru/{QR}?type=02&bank=100000000007"),
            },
        ];
        harness.runtime.block_on(async {
            answer(200);
            for kind in kinds {
                if !capabilities.supports(kind.qr_type()) {
                    continue;
                }
                let qr_type = kind.qr_type();
                let request = CreateQr {
                    payment_id: payment_id.clone(),
                    amount,
                    currency: Currency::Rub,
                    expires_at,
                    description: Some("fuzz".into()),
                    kind,
                };
                note(name, super::outcome(&bank.create_qr(&request).await));
                let query = PaymentQuery {
                    payment_id: payment_id.clone(),
                    qr_id: if qr_type == QrType::CashRegister {
                        link_id.clone()
                    } else {
                        qr_id.clone()
                    },
                    amount,
                    currency: Currency::Rub,
                    qr_type,
                };
                for status in [200, 400, 404, 500] {
                    answer(status);
                    note(name, super::outcome(&bank.payment_status(&query).await));
                }
                answer(200);
                note(name, super::outcome(&bank.deactivate_qr(&query).await));
                let refund = RefundRequest {
                    refund_id: refund_id.clone(),
                    payment_id: payment_id.clone(),
                    amount,
                    transaction_id: Some("17998".into()),
                    details: None,
                    qr_type,
                    qr_id: Some(query.qr_id.clone()),
                    paid_amount: amount,
                    refunded_before: Kopecks::ZERO,
                };
                note(name, super::outcome(&bank.refund(&refund).await));
                for status in [200, 404] {
                    answer(status);
                    note(name, super::outcome(&bank.refund_status(&refund).await));
                }
                answer(200);
            }
            if capabilities.cash_register_link {
                note(name, super::outcome(&bank.register_cash_link().await));
            }
            if capabilities.callbacks {
                note(
                    name,
                    super::outcome(&bank.register_callback_url("https://yoururl.ru").await),
                );
            }
        });
    }
    Ok(outcomes.join(" "))
}
