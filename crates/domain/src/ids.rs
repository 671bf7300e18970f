//! Identifiers, each a strict newtype parsed at the edge.
//!
//! A newtype's field is private and the only way in is `parse` (for text from outside) or a
//! constructor from already-trusted parts, so a `PaymentId` can never hold a register key or
//! a bank's QR id by mistake.

use std::fmt;

use serde::Serialize;

/// Why an identifier was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} {reason}")]
pub struct IdError {
    what: &'static str,
    reason: &'static str,
}

fn check_token(
    what: &'static str,
    text: &str,
    max_len: usize,
    allowed: fn(u8) -> bool,
) -> Result<(), IdError> {
    if text.is_empty() {
        return Err(IdError {
            what,
            reason: "must not be empty",
        });
    }
    if text.len() > max_len {
        return Err(IdError {
            what,
            reason: "is too long",
        });
    }
    if !text.bytes().all(allowed) {
        return Err(IdError {
            what,
            reason: "contains characters that are not allowed",
        });
    }
    Ok(())
}

fn id_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.')
}

fn printable_ascii(b: u8) -> bool {
    (0x21..=0x7e).contains(&b)
}

macro_rules! text_id {
    ($(#[$doc:meta])* $name:ident, $what:literal, $max:expr, $allowed:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Longest accepted text.
            pub const MAX_LEN: usize = $max;

            /// Parses untrusted text.
            pub fn parse(text: &str) -> Result<Self, IdError> {
                check_token($what, text, $max, $allowed)?;
                Ok(Self(text.to_owned()))
            }

            /// The identifier's text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

text_id!(
    /// qrpayd's id of a payment, `pay_` + 32 hex digits of a UUIDv7 (time-ordered).
    ///
    /// It is also the `order` we send to the bank, so it fits the bank's
    /// `[A-Za-z0-9_.-]{1,40}` rule.
    PaymentId, "payment id", 40, id_char
);

impl PaymentId {
    /// Builds the id from a fresh 128-bit value (the caller makes it: the domain has no
    /// randomness). Use UUIDv7 bits so ids sort by creation time.
    pub fn from_u128(bits: u128) -> Self {
        PaymentId(format!("pay_{bits:032x}"))
    }
}

text_id!(
    /// qrpayd's id of a refund, `rf_` + 32 hex digits of a UUIDv7. Also the bank's `refundId`
    /// (≤ 40 characters), so a retry re-sends the same id and the bank cannot refund twice.
    RefundId, "refund id", 40, id_char
);

impl RefundId {
    /// Builds the id from a fresh 128-bit value (UUIDv7 bits, made by the caller).
    pub fn from_u128(bits: u128) -> Self {
        RefundId(format!("rf_{bits:032x}"))
    }
}

text_id!(
    /// A cash register (or kiosk) as named in the config, e.g. `pos-1`.
    RegisterId, "register id", 64, id_char
);

text_id!(
    /// The provider (the register's "payment module") as named in the config, e.g. `raiffeisen`.
    ProviderName, "provider name", 64, id_char
);

text_id!(
    /// The register's `Idempotency-Key` header: any printable ASCII, up to 255 characters.
    /// Unique per register, not globally.
    IdempotencyKey, "Idempotency-Key", 255, printable_ascii
);

impl IdempotencyKey {
    /// A key as stored in the journal: a register's ([`IdempotencyKey::parse`]) or an
    /// automatic one ([`IdempotencyKey::automatic`]).
    pub fn parse_stored(text: &str) -> Result<Self, IdError> {
        match text.strip_prefix(AUTOMATIC_PREFIX) {
            Some(rest) if rest.chars().all(|c| c.is_ascii_graphic() || c == ' ') => {
                Ok(IdempotencyKey(text.to_owned()))
            }
            _ => Self::parse(text),
        }
    }

    /// The key of a refund qrpayd makes on its own (`purpose`, e.g. `late-payment-refund`, for
    /// `payment`). It contains spaces, which [`IdempotencyKey::parse`] refuses, so a register's
    /// key can never collide with it: automatic refunds live in a key space of their own.
    pub fn automatic(purpose: &str, payment: &PaymentId) -> Self {
        IdempotencyKey(format!("{AUTOMATIC_PREFIX}{purpose} {payment}"))
    }
}

/// How automatic keys begin (with a space no register key can contain).
const AUTOMATIC_PREFIX: &str = "qrpayd ";

text_id!(
    /// A bank's id of a registered QR (`qrId`, NSPK `qrcId`), e.g. `AD100004BAL7227F9BNP6KNE007J9B3K`.
    QrId, "QR id", 64, id_char
);

/// The register's sale receipt reference (`order` in our API). Free text, because register
/// software numbers receipts in its own ways, but bounded and without control characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct OrderRef(String);

impl OrderRef {
    /// Longest accepted text, in characters.
    pub const MAX_CHARS: usize = 64;

    /// Parses untrusted text.
    pub fn parse(text: &str) -> Result<Self, IdError> {
        let what = "order";
        if text.trim().is_empty() {
            return Err(IdError {
                what,
                reason: "must not be empty",
            });
        }
        if text.chars().count() > Self::MAX_CHARS {
            return Err(IdError {
                what,
                reason: "is too long (64 characters at most)",
            });
        }
        if text.chars().any(char::is_control) {
            return Err(IdError {
                what,
                reason: "contains control characters",
            });
        }
        Ok(OrderRef(text.to_owned()))
    }

    /// The receipt reference's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payment_id_fits_bank_order_rule() {
        let id = PaymentId::from_u128(u128::MAX);
        assert_eq!(id.as_str().len(), 36);
        assert!(PaymentId::parse(id.as_str()).is_ok());
        assert!(id.as_str().bytes().all(id_char));
    }

    #[test]
    fn ids_refuse_bad_text() {
        assert!(PaymentId::parse("").is_err());
        assert!(PaymentId::parse("pay/../x").is_err());
        assert!(RegisterId::parse("pos 1").is_err());
        assert!(IdempotencyKey::parse("key with space").is_err());
        // An automatic refund's key is one no register can send.
        let payment = PaymentId::from_u128(7);
        let automatic = IdempotencyKey::automatic("late-payment-refund", &payment);
        assert!(IdempotencyKey::parse(automatic.as_str()).is_err());
        assert_eq!(
            IdempotencyKey::parse_stored(automatic.as_str()).ok(),
            Some(automatic.clone())
        );
        assert!(IdempotencyKey::parse_stored("key with space").is_err());
        assert_ne!(
            IdempotencyKey::parse(&format!("late-payment-refund:{payment}")).ok(),
            Some(automatic)
        );
        assert!(IdempotencyKey::parse(&"k".repeat(256)).is_err());
        assert!(IdempotencyKey::parse(&"k".repeat(255)).is_ok());
        assert!(OrderRef::parse("чек 12/345").is_ok());
        assert!(OrderRef::parse("a\nb").is_err());
        assert!(OrderRef::parse("   ").is_err());
        assert!(OrderRef::parse(&"я".repeat(65)).is_err());
    }
}
