//! Business time. Russian banks write their dates in Moscow time, registries and the store's
//! day run from Moscow midnight to Moscow midnight, receipts print Moscow hours. Moscow has been
//! UTC+3 all year since 2014, so a fixed offset is exact. This module is the one place that
//! knows it: every conversion between an instant (UTC) and a Moscow date or clock face goes
//! through here.

use chrono::{DateTime, Duration, FixedOffset, NaiveDate, Utc};

/// Moscow's offset from UTC, in seconds.
pub const OFFSET_SECONDS: i32 = 3 * 3600;

/// Moscow's offset as a chrono time zone (checked when compiling: 3 h is in chrono's range).
const OFFSET: FixedOffset = match FixedOffset::east_opt(OFFSET_SECONDS) {
    Some(offset) => offset,
    None => panic!("Moscow's offset is out of chrono's range"),
};

/// Moscow's offset as a chrono time zone.
pub fn offset() -> FixedOffset {
    OFFSET
}

/// `at` on a Moscow clock.
pub fn time(at: DateTime<Utc>) -> DateTime<FixedOffset> {
    at.with_timezone(&offset())
}

/// The Moscow date at the instant `at` (the store's and the registry's "day").
pub fn date(at: DateTime<Utc>) -> NaiveDate {
    time(at).date_naive()
}

/// The instant Moscow's `date` begins.
pub fn start_of(date: NaiveDate) -> DateTime<Utc> {
    date.and_time(chrono::NaiveTime::MIN).and_utc() - Duration::seconds(i64::from(OFFSET_SECONDS))
}

/// Moscow's `date` as the half-open UTC range `[00:00, 24:00)`.
pub fn day(date: NaiveDate) -> (DateTime<Utc>, DateTime<Utc>) {
    let start = start_of(date);
    (start, start + Duration::days(1))
}

#[cfg(test)]
mod tests {
    // fixed-dates: pure conversions of given instants; nothing here reads the wall clock.
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().to_utc()
    }

    #[test]
    fn a_moscow_day_starts_at_21_utc_the_evening_before() {
        let date = NaiveDate::from_ymd_opt(2024, 3, 1).unwrap();
        let (start, end) = day(date);
        assert_eq!(start, at("2024-02-29T21:00:00Z"));
        assert_eq!(end, at("2024-03-01T21:00:00Z"));
        // The last instant of the day and the first of the next.
        assert_eq!(super::date(end - Duration::nanoseconds(1)), date);
        assert_eq!(super::date(end), date.succ_opt().unwrap());
    }

    #[test]
    fn moscow_clock_faces_carry_the_offset() {
        let t = time(at("2020-07-24T14:20:00Z"));
        assert_eq!(t.to_rfc3339(), "2020-07-24T17:20:00+03:00");
        assert_eq!(t.to_utc(), at("2020-07-24T14:20:00Z"));
    }
}
