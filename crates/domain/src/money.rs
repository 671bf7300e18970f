//! Money: integer kopecks, never floating point.
//!
//! Registers send kopecks (`12345` = 123.45 ₽); Raiffeisen's wire wants rubles as a JSON number
//! (`123.45`) and signs callbacks over the amount's text. [`Kopecks::to_rubles_text`] writes the
//! canonical shortest form the bank's SDKs agree on (`100`, `10.5`, `101.01`) and
//! [`Kopecks::parse_rubles`] reads any exact decimal text back, both with integer arithmetic only.

use std::fmt;

use serde::{Deserialize, Serialize};

/// An amount of money in kopecks (1/100 of a ruble). Always non-negative.
///
/// The inner value is private: the only ways in are [`Kopecks::new`] and
/// [`Kopecks::parse_rubles`], which refuse negative or absurd values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Kopecks(i64);

/// Why an amount was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    /// The value was below zero.
    #[error("amount must not be negative")]
    Negative,
    /// The value does not fit the range we store (more than [`Kopecks::MAX`]).
    #[error("amount is too large")]
    TooLarge,
    /// The ruble text is not a plain decimal number with at most two significant decimals.
    #[error(
        "`{0}` is not an exact ruble amount (digits, optionally `.` and up to two kopeck digits)"
    )]
    BadRubleText(String),
}

impl Kopecks {
    /// Zero kopecks.
    pub const ZERO: Kopecks = Kopecks(0);
    /// The largest amount qrpayd stores: 10^15 kopecks, far above any SBP limit but small
    /// enough that sums of many payments never overflow `i64`.
    pub const MAX: Kopecks = Kopecks(1_000_000_000_000_000);

    /// Checked constructor.
    pub fn new(kopecks: i64) -> Result<Self, AmountError> {
        if kopecks < 0 {
            Err(AmountError::Negative)
        } else if kopecks > Self::MAX.0 {
            Err(AmountError::TooLarge)
        } else {
            Ok(Kopecks(kopecks))
        }
    }

    /// A constant amount of whole rubles, for limits written in code (a `u32` of rubles is
    /// always a valid amount, so this cannot fail).
    pub const fn from_rubles(rubles: u32) -> Kopecks {
        #[expect(
            clippy::as_conversions,
            reason = "u32 → i64 is lossless (no const From)"
        )]
        Kopecks(rubles as i64 * 100)
    }

    /// The amount as a plain integer of kopecks (for storage and the NSPK `sum` field).
    pub fn get(self) -> i64 {
        self.0
    }

    /// Is this zero?
    pub fn is_zero(self) -> bool {
        self.0 == 0
    }

    /// Checked addition (None on overflow or beyond [`Kopecks::MAX`]).
    pub fn checked_add(self, other: Kopecks) -> Option<Kopecks> {
        self.0
            .checked_add(other.0)
            .and_then(|v| Kopecks::new(v).ok())
    }

    /// Checked subtraction (None when the result would be negative).
    pub fn checked_sub(self, other: Kopecks) -> Option<Kopecks> {
        self.0
            .checked_sub(other.0)
            .and_then(|v| Kopecks::new(v).ok())
    }

    /// Rubles in canonical shortest text: `100`, `10.5`, `101.01`, `0.01`.
    ///
    /// This is what we put on the Raiffeisen wire and what the sandbox signs, so that the
    /// bank's two ways of printing an amount (`10.50` and `10.5`) never disagree with ours.
    pub fn to_rubles_text(self) -> String {
        let rubles = self.0 / 100;
        let kop = self.0 % 100;
        if kop == 0 {
            format!("{rubles}")
        } else if kop % 10 == 0 {
            format!("{rubles}.{}", kop / 10)
        } else {
            format!("{rubles}.{kop:02}")
        }
    }

    /// Rubles with exactly two decimals (`123.45`, `100.00`): for people, slips and reports.
    pub fn to_rubles_fixed(self) -> String {
        format!("{}.{:02}", self.0 / 100, self.0 % 100)
    }

    /// Parses an exact ruble amount as the bank writes it: `1110.11`, `100`, `10.5`, `10.50`,
    /// `0.010`. Extra decimals are accepted only when they are zeros (a kopeck is the
    /// smallest unit); signs, exponents, spaces and commas are refused.
    pub fn parse_rubles(text: &str) -> Result<Kopecks, AmountError> {
        let bad = || AmountError::BadRubleText(text.chars().take(40).collect());
        let (int_part, frac_part) = match text.split_once('.') {
            Some((i, f)) => (i, Some(f)),
            None => (text, None),
        };
        if int_part.is_empty() || !int_part.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let mut kopecks: i64 = 0;
        for b in int_part.bytes() {
            kopecks = kopecks
                .checked_mul(10)
                .and_then(|v| v.checked_add(i64::from(b - b'0')))
                .ok_or(AmountError::TooLarge)?;
        }
        kopecks = kopecks.checked_mul(100).ok_or(AmountError::TooLarge)?;
        if let Some(frac) = frac_part {
            if frac.is_empty() || !frac.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad());
            }
            let mut digits = frac.bytes();
            let tens = digits.next().map_or(0, |b| i64::from(b - b'0'));
            let ones = digits.next().map_or(0, |b| i64::from(b - b'0'));
            if digits.any(|b| b != b'0') {
                return Err(bad());
            }
            kopecks = kopecks
                .checked_add(tens * 10 + ones)
                .ok_or(AmountError::TooLarge)?;
        }
        Kopecks::new(kopecks)
    }
}

impl fmt::Display for Kopecks {
    /// Shows `123.45 RUB`-style text without the currency: `123.45`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rubles_fixed())
    }
}

impl<'de> Deserialize<'de> for Kopecks {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = i64::deserialize(d)?;
        Kopecks::new(v).map_err(serde::de::Error::custom)
    }
}

/// The currencies qrpayd handles. SBP settles in rubles only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
pub enum Currency {
    /// Russian ruble.
    #[serde(rename = "RUB")]
    Rub,
}

impl Currency {
    /// ISO 4217 code.
    pub fn code(self) -> &'static str {
        match self {
            Currency::Rub => "RUB",
        }
    }

    /// Parses an ISO 4217 code that qrpayd supports.
    pub fn parse(code: &str) -> Option<Currency> {
        match code {
            "RUB" => Some(Currency::Rub),
            _ => None,
        }
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn k(v: i64) -> Kopecks {
        Kopecks::new(v).unwrap_or(Kopecks::ZERO)
    }

    #[test]
    fn canonical_ruble_text() {
        assert_eq!(k(10000).to_rubles_text(), "100");
        assert_eq!(k(1050).to_rubles_text(), "10.5");
        assert_eq!(k(10101).to_rubles_text(), "101.01");
        assert_eq!(k(111011).to_rubles_text(), "1110.11");
        assert_eq!(k(1).to_rubles_text(), "0.01");
        assert_eq!(k(10).to_rubles_text(), "0.1");
        assert_eq!(k(0).to_rubles_text(), "0");
        assert_eq!(k(12345).to_rubles_fixed(), "123.45");
        assert_eq!(k(10000).to_rubles_fixed(), "100.00");
    }

    #[test]
    fn parses_exact_ruble_text() {
        assert_eq!(Kopecks::parse_rubles("1110.11"), Ok(k(111011)));
        assert_eq!(Kopecks::parse_rubles("100"), Ok(k(10000)));
        assert_eq!(Kopecks::parse_rubles("10.5"), Ok(k(1050)));
        assert_eq!(Kopecks::parse_rubles("10.50"), Ok(k(1050)));
        assert_eq!(Kopecks::parse_rubles("0.010"), Ok(k(1)));
        assert_eq!(Kopecks::parse_rubles("314"), Ok(k(31400)));
    }

    #[test]
    fn refuses_inexact_or_odd_ruble_text() {
        for bad in [
            "", ".", "1.", ".5", "-1", "+1", "1e2", "1.001", "1,5", " 1", "1 ", "0x10", "1.2.3",
            "１",
        ] {
            assert!(
                Kopecks::parse_rubles(bad).is_err(),
                "{bad:?} must be refused"
            );
        }
        assert_eq!(
            Kopecks::parse_rubles("99999999999999999999999"),
            Err(AmountError::TooLarge)
        );
    }

    #[test]
    fn constructor_limits() {
        assert_eq!(Kopecks::new(-1), Err(AmountError::Negative));
        assert_eq!(
            Kopecks::new(Kopecks::MAX.get() + 1),
            Err(AmountError::TooLarge)
        );
        assert_eq!(Kopecks::MAX.checked_add(k(1)), None);
        assert_eq!(k(5).checked_sub(k(6)), None);
        assert_eq!(k(5).checked_sub(k(5)), Some(Kopecks::ZERO));
    }

    proptest! {
        #[test]
        fn rubles_text_round_trips(v in 0i64..=Kopecks::MAX.get()) {
            let amount = k(v);
            prop_assert_eq!(Kopecks::parse_rubles(&amount.to_rubles_text()), Ok(amount));
            prop_assert_eq!(Kopecks::parse_rubles(&amount.to_rubles_fixed()), Ok(amount));
        }

        #[test]
        fn parse_never_panics(s in "\\PC{0,30}") {
            let _ = Kopecks::parse_rubles(&s);
        }

        #[test]
        fn canonical_text_has_no_trailing_zero_decimals(v in 0i64..1_000_000_000) {
            let text = k(v).to_rubles_text();
            if let Some((_, frac)) = text.split_once('.') {
                prop_assert!(!frac.ends_with('0'));
                prop_assert!(frac.len() <= 2);
            }
        }
    }
}
