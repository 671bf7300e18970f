//! Notification signatures: lowercase hex HMAC-SHA256 with the secret key over
//! `amount|sbpMerchantId|order|paymentStatus|transactionDate` for SBP payment notifications
//! (BANKS.md §1.7a), and over `amount|publicId|orderId|status.value|status.date` for order
//! (cash-register link activation) notifications (§1.7b). Same header,
//! `X-Api-Signature-SHA256`.

use hmac::{Hmac, Mac};
use qrpayd_domain::secret::Secret;
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

fn mac(key: &Secret, fields: [&str; 5]) -> Option<HmacSha256> {
    let mut mac = HmacSha256::new_from_slice(key.expose().as_bytes()).ok()?;
    mac.update(fields.join("|").as_bytes());
    Some(mac)
}

/// The signature the bank puts in `X-Api-Signature-SHA256`.
pub fn notification_signature(
    key: &Secret,
    amount: &str,
    sbp_merchant_id: &str,
    order: &str,
    payment_status: &str,
    transaction_date: &str,
) -> String {
    mac(
        key,
        [
            amount,
            sbp_merchant_id,
            order,
            payment_status,
            transaction_date,
        ],
    )
    .map(|m| hex::encode(m.finalize().into_bytes()))
    .unwrap_or_default()
}

/// Checks a received signature in constant time; hex case does not matter.
pub fn verify_notification_signature(
    key: &Secret,
    amount: &str,
    sbp_merchant_id: &str,
    order: &str,
    payment_status: &str,
    transaction_date: &str,
    given_hex: &str,
) -> bool {
    let Ok(given) = hex::decode(given_hex.trim()) else {
        return false;
    };
    mac(
        key,
        [
            amount,
            sbp_merchant_id,
            order,
            payment_status,
            transaction_date,
        ],
    )
    .is_some_and(|m| m.verify_slice(&given).is_ok())
}

/// The signature of an order notification (§1.7b):
/// `amount|publicId|orderId|status.value|status.date`.
pub fn order_notification_signature(
    key: &Secret,
    amount: &str,
    public_id: &str,
    order_id: &str,
    status_value: &str,
    status_date: &str,
) -> String {
    notification_signature(key, amount, public_id, order_id, status_value, status_date)
}

/// Checks an order notification's signature in constant time; hex case does not matter.
pub fn verify_order_notification_signature(
    key: &Secret,
    amount: &str,
    public_id: &str,
    order_id: &str,
    status_value: &str,
    status_date: &str,
    given_hex: &str,
) -> bool {
    verify_notification_signature(
        key,
        amount,
        public_id,
        order_id,
        status_value,
        status_date,
        given_hex,
    )
}

#[cfg(test)]
mod tests {
    // fixed-dates: pure transitions and renderings with the time handed in; nothing here reads the wall clock.
    use super::*;

    #[test]
    fn order_notification_vector_from_the_ecom_sdks() {
        let key = Secret::new("test_secret_key");
        let expected = "96c4b6fa97866f01acabcf32116e3e1347e0e5769b8587eeb877b79180eea4cb";
        let args = (
            "1",
            "test_public_id",
            "test_transaction_order_id",
            "test_transaction_status_value",
            "test_transaction_status_date",
        );
        assert_eq!(
            order_notification_signature(&key, args.0, args.1, args.2, args.3, args.4),
            expected
        );
        assert!(verify_order_notification_signature(
            &key,
            args.0,
            args.1,
            args.2,
            args.3,
            args.4,
            &expected.to_uppercase()
        ));
        assert!(!verify_order_notification_signature(
            &key, "2", args.1, args.2, args.3, args.4, expected
        ));
    }

    #[test]
    fn banks_md_vectors() {
        let key = Secret::new("test-secret-key");
        assert_eq!(
            notification_signature(
                &key,
                "101.01",
                "MA0000000552",
                "dfe0ff08-4796-46bb-a9fb-93fcd99ce748",
                "SUCCESS",
                "2020-07-24T17:20:00.999232+03:00"
            ),
            "7bc0cbad4cf763a34427fec468259a85c3b03a3c5daac96830e4f886f95c2881"
        );
        assert_eq!(
            notification_signature(
                &key,
                "1110",
                "MA0000000552",
                "1-22-333",
                "SUCCESS",
                "2021-09-09T12:00:00+03:00"
            ),
            "3a7759464408abbdcbf7bfcf243f79b2e240e6a29f7b7be8931a97037dc1c094"
        );
    }

    #[test]
    fn verification_is_strict_and_case_insensitive() {
        let key = Secret::new("test-secret-key");
        let args = (
            "1110",
            "MA0000000552",
            "1-22-333",
            "SUCCESS",
            "2021-09-09T12:00:00+03:00",
        );
        let good = "3A7759464408ABBDCBF7BFCF243F79B2E240E6A29F7B7BE8931A97037DC1C094";
        assert!(verify_notification_signature(
            &key, args.0, args.1, args.2, args.3, args.4, good
        ));
        assert!(!verify_notification_signature(
            &key, "1110.01", args.1, args.2, args.3, args.4, good
        ));
        assert!(!verify_notification_signature(
            &Secret::new("other"),
            args.0,
            args.1,
            args.2,
            args.3,
            args.4,
            good
        ));
        assert!(!verify_notification_signature(
            &key, args.0, args.1, args.2, args.3, args.4, "zz"
        ));
    }
}
