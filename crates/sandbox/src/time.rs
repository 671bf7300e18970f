//! Time as the emulated banks write it: Moscow time (UTC+3, no DST), with the precision each
//! field has on the bank's wire.

use chrono::{DateTime, FixedOffset, SecondsFormat, Utc};

/// `now` in Moscow time, the offset the banks write their timestamps in.
pub(crate) fn to_msk(now: DateTime<Utc>) -> DateTime<FixedOffset> {
    qrpayd_domain::moscow::time(now)
}

/// A timestamp the way the bank writes `transactionDate` / `createDate`:
/// `2020-07-24T17:20:00.999232+03:00`.
pub(crate) fn micros_text(at: DateTime<FixedOffset>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, false)
}

/// A timestamp the way the bank writes `qrExpirationDate`: `2023-07-22T09:14:38+03:00`
/// (fractions only when the client sent them).
pub(crate) fn expiration_text(at: DateTime<FixedOffset>) -> String {
    at.to_rfc3339_opts(SecondsFormat::AutoSi, false)
}

#[cfg(test)]
mod tests {
    // fixed-dates: pure renderings of given times; nothing here reads the wall clock.
    use super::*;

    #[test]
    fn timestamps_look_like_the_banks() {
        let at = DateTime::parse_from_rfc3339("2020-07-24T14:20:00.999232Z")
            .unwrap()
            .to_utc();
        assert_eq!(micros_text(to_msk(at)), "2020-07-24T17:20:00.999232+03:00");
        assert_eq!(
            expiration_text(DateTime::parse_from_rfc3339("2023-07-22T09:14:38+03:00").unwrap()),
            "2023-07-22T09:14:38+03:00"
        );
    }
}
