//! Notifications ("callbacks") as the banks send them.
//!
//! Raiffeisen (BANKS.md §1.7): the body is the notification JSON; the header
//! `X-Api-Signature-SHA256` is the lowercase hex HMAC-SHA256, keyed with the merchant's secret
//! key, of `amount|sbpMerchantId|order|paymentStatus|transactionDate` for SBP payment notices
//! and of `amount|publicId|orderId|status.value|status.date` for order (cash-link) notices
//! (amount in canonical ruble text, dates verbatim as in the body; the sandbox's `publicId`
//! is the `sbpMerchantId`). T-Bank (§3.3): the body carries its own `Token`, no header, and
//! only an answer whose body is `OK` counts as delivered.
//!
//! Delivery runs in a spawned task and is retried until the receiver accepts it (HTTP 200,
//! and the expected body if any), with a bounded back-off, then given up with a warning.

use std::time::Duration;

use hmac::{Hmac, Mac};
use qrpayd_domain::money::Kopecks;
use sha2::Sha256;

/// The signature header.
pub(crate) const SIGNATURE_HEADER: &str = "X-Api-Signature-SHA256";

/// Pauses between attempts: these first, then [`STEADY_BACKOFF`].
const BACKOFF: [Duration; 4] = [
    Duration::from_millis(200),
    Duration::from_millis(500),
    Duration::from_secs(1),
    Duration::from_secs(2),
];
/// The pause between later attempts.
const STEADY_BACKOFF: Duration = Duration::from_secs(5);
/// How many attempts before giving up (about 80 seconds in all).
const MAX_ATTEMPTS: usize = 20;
/// How long one attempt may take.
pub(crate) const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);

/// The signed text: `amount|sbpMerchantId|order|paymentStatus|transactionDate` (SBP
/// notices), or `amount|publicId|orderId|status.value|status.date` (order notices: the same
/// shape).
pub(crate) fn signature_message(
    amount: Kopecks,
    sbp_merchant_id: &str,
    order: &str,
    payment_status: &str,
    transaction_date: &str,
) -> String {
    format!(
        "{}|{sbp_merchant_id}|{order}|{payment_status}|{transaction_date}",
        amount.to_rubles_text()
    )
}

/// Lowercase hex HMAC-SHA256 of `message` keyed with `secret_key`. `None` only if the HMAC
/// implementation refused the key, which it never does for HMAC (any key length is valid).
pub(crate) fn sign(secret_key: &str, message: &str) -> Option<String> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret_key.as_bytes()).ok()?;
    mac.update(message.as_bytes());
    Some(hex::encode(mac.finalize().into_bytes()))
}

/// One notification ready to send.
#[derive(Debug, Clone)]
pub(crate) struct Delivery {
    /// The receiver.
    pub(crate) url: String,
    /// The JSON body.
    pub(crate) body: String,
    /// The `X-Api-Signature-SHA256` value (Raiffeisen; `None` for T-Bank, whose body is signed).
    pub(crate) signature: Option<String>,
    /// The body the receiver must answer (T-Bank: `OK`); `None` = any.
    pub(crate) expect_body: Option<&'static str>,
    /// For logs: the transaction (or T-Bank payment) id.
    pub(crate) transaction_id: u64,
}

/// Sends `delivery` `copies` times in a row (each copy retried until accepted) from a spawned
/// task. Outside a Tokio runtime nothing can be spawned: the notification is logged and lost.
pub(crate) fn spawn(client: reqwest::Client, delivery: Delivery, copies: usize) {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        tracing::warn!(
            transaction_id = delivery.transaction_id,
            "sandbox callback not sent: no Tokio runtime"
        );
        return;
    };
    runtime.spawn(async move {
        for _ in 0..copies {
            deliver(&client, &delivery).await;
        }
    });
}

/// The pause after failed attempt number `attempt` (0-based).
fn backoff(attempt: usize) -> Duration {
    BACKOFF.get(attempt).copied().unwrap_or(STEADY_BACKOFF)
}

/// Posts until HTTP 200 or [`MAX_ATTEMPTS`] attempts. Returns whether it was accepted.
async fn deliver(client: &reqwest::Client, delivery: &Delivery) -> bool {
    for attempt in 0..MAX_ATTEMPTS {
        let mut request = client
            .post(&delivery.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(delivery.body.clone());
        if let Some(signature) = &delivery.signature {
            request = request.header(SIGNATURE_HEADER, signature);
        }
        match request.send().await {
            Ok(response) if response.status() == reqwest::StatusCode::OK => {
                let answer = response.text().await.unwrap_or_default();
                if delivery
                    .expect_body
                    .is_none_or(|expected| answer.trim() == expected)
                {
                    tracing::debug!(
                        transaction_id = delivery.transaction_id,
                        attempt,
                        "sandbox callback accepted"
                    );
                    return true;
                }
                tracing::debug!(
                    transaction_id = delivery.transaction_id,
                    attempt,
                    answer = %answer.chars().take(80).collect::<String>(),
                    "sandbox callback answered without the expected body, will retry"
                );
            }
            Ok(response) => tracing::debug!(
                transaction_id = delivery.transaction_id,
                attempt,
                status = %response.status(),
                "sandbox callback refused, will retry"
            ),
            Err(error) => tracing::debug!(
                transaction_id = delivery.transaction_id,
                attempt,
                %error,
                "sandbox callback failed, will retry"
            ),
        }
        if attempt.saturating_add(1) < MAX_ATTEMPTS {
            tokio::time::sleep(backoff(attempt)).await;
        }
    }
    tracing::warn!(
        transaction_id = delivery.transaction_id,
        url = %delivery.url,
        attempts = MAX_ATTEMPTS,
        "sandbox callback given up: the receiver never answered HTTP 200"
    );
    false
}

#[cfg(test)]
mod tests {
    // fixed-dates: pure transitions and renderings with the time handed in; nothing here reads the wall clock.
    use super::*;

    #[test]
    fn signature_matches_banks_md_vectors() {
        let message = signature_message(
            Kopecks::new(111_000).unwrap(),
            "MA0000000552",
            "1-22-333",
            "SUCCESS",
            "2021-09-09T12:00:00+03:00",
        );
        assert_eq!(
            message,
            "1110|MA0000000552|1-22-333|SUCCESS|2021-09-09T12:00:00+03:00"
        );
        assert_eq!(
            sign("test-secret-key", &message).unwrap(),
            "3a7759464408abbdcbf7bfcf243f79b2e240e6a29f7b7be8931a97037dc1c094"
        );
        let fixture = signature_message(
            Kopecks::new(10_101).unwrap(),
            "MA0000000552",
            "dfe0ff08-4796-46bb-a9fb-93fcd99ce748",
            "SUCCESS",
            "2020-07-24T17:20:00.999232+03:00",
        );
        assert_eq!(
            sign("test-secret-key", &fixture).unwrap(),
            "7bc0cbad4cf763a34427fec468259a85c3b03a3c5daac96830e4f886f95c2881"
        );
    }

    #[test]
    fn backoff_is_bounded() {
        assert_eq!(backoff(0), Duration::from_millis(200));
        assert_eq!(backoff(3), Duration::from_secs(2));
        assert_eq!(backoff(4), STEADY_BACKOFF);
        assert_eq!(backoff(usize::MAX), STEADY_BACKOFF);
        let total: Duration = (0..MAX_ATTEMPTS.saturating_sub(1)).map(backoff).sum();
        assert!(total < Duration::from_secs(120));
    }
}
