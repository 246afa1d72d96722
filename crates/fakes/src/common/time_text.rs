//! Days and timestamps: Unix day numbers, and RFC 3339 text as Anthropic writes it.

use time::format_description::well_known::Rfc3339;
use time::{Date, OffsetDateTime};

const UNIX_EPOCH_JULIAN_DAY: i64 = 2_440_588;

/// Days since 1970-01-01.
pub(crate) fn unix_day(date: Date) -> i64 {
    i64::from(date.to_julian_day()) - UNIX_EPOCH_JULIAN_DAY
}

/// The date of a Unix day number (`None` far outside the calendar `time` supports).
pub(crate) fn date_of(day: i64) -> Option<Date> {
    let julian = i32::try_from(day + UNIX_EPOCH_JULIAN_DAY).ok()?;
    Date::from_julian_day(julian).ok()
}

/// Unix seconds as `2025-08-01T00:00:00Z`.
pub(crate) fn rfc3339(unix_seconds: i64) -> String {
    OffsetDateTime::from_unix_timestamp(unix_seconds)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_default()
}

/// RFC 3339 text (any offset) as Unix seconds.
pub(crate) fn parse_rfc3339(text: &str) -> Option<i64> {
    OffsetDateTime::parse(text, &Rfc3339)
        .ok()
        .map(OffsetDateTime::unix_timestamp)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn days_and_text_round_trip() {
        assert_eq!(unix_day(date!(1970 - 01 - 02)), 1);
        assert_eq!(
            date_of(unix_day(date!(2025 - 08 - 01))),
            Some(date!(2025 - 08 - 01))
        );
        assert_eq!(rfc3339(1_754_006_400), "2025-08-01T00:00:00Z");
        assert_eq!(parse_rfc3339("2025-08-01T00:00:00Z"), Some(1_754_006_400));
        assert_eq!(
            parse_rfc3339("2025-08-01T02:00:00+02:00"),
            Some(1_754_006_400)
        );
        assert_eq!(parse_rfc3339("yesterday"), None);
    }
}
