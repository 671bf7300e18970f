//! Delivery of a bank's notifications to the merchant: POSTed with retries and growing pauses
//! until the receiver answers HTTP 200 (and, for banks that want one, the expected body), in
//! the background. What a notification says and how it is signed is each bank's own.

use std::time::Duration;

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

/// One notification ready to send.
#[derive(Debug, Clone)]
pub(crate) struct Delivery {
    /// The receiver.
    pub(crate) url: String,
    /// The body.
    pub(crate) body: String,
    /// Its `Content-Type` (JSON for Raiffeisen and T-Bank, a form for RBS).
    pub(crate) content_type: &'static str,
    /// The `X-Api-Signature-SHA256` value (Raiffeisen; `None` for T-Bank, whose body is signed).
    /// A header that authenticates the notification (name, value), if the bank sends one.
    pub(crate) signature: Option<(&'static str, String)>,
    /// The body the receiver must answer (T-Bank: `OK`); `None` = any.
    pub(crate) expect_body: Option<&'static str>,
    /// For logs: the transaction (or T-Bank payment) id.
    pub(crate) transaction_id: u64,
}

/// Sends `delivery` `copies` times in a row (each copy retried until accepted), after `delay`, from a spawned
/// task. Outside a Tokio runtime nothing can be spawned: the notification is logged and lost.
pub(crate) fn spawn(client: reqwest::Client, delivery: Delivery, copies: usize, delay: Duration) {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        tracing::warn!(
            transaction_id = delivery.transaction_id,
            "sandbox callback not sent: no Tokio runtime"
        );
        return;
    };
    runtime.spawn(async move {
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
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
            .header(reqwest::header::CONTENT_TYPE, delivery.content_type)
            .body(delivery.body.clone());
        if let Some((header, value)) = &delivery.signature {
            request = request.header(*header, value);
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
    use super::*;

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
