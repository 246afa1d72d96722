//! Time zones, timeframes and the `start`/`end` text of fal's usage endpoints.
//!
//! Time zones: the fake has no time-zone database, so it knows zones with a fixed offset only:
//! `UTC`, `Etc/UTC`, `GMT`, `Etc/GMT`, `Etc/GMT±N` (POSIX sign: `Etc/GMT+5` is UTC−5), and
//! `Asia/Tokyo`, `Asia/Seoul`, `Asia/Shanghai`, `Asia/Singapore`, `Asia/Kolkata`, `Asia/Dubai`,
//! `America/Bogota`, `America/Lima`, `America/Phoenix`, `Pacific/Honolulu` (none of which has
//! daylight saving time). Any other name is a 400 `validation_error` naming this limitation.
//! Bucket labels are local times with the zone's offset, `+00:00` for UTC.
//!
//! `start`/`end`: RFC 3339 with an offset (or `Z`) is an instant; `YYYY-MM-DD` and
//! `YYYY-MM-DDTHH:MM:SS[.fff]` without an offset are local times in the requested `timezone`.

use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, PrimitiveDateTime, UtcOffset};

use crate::common::time_text::{date_of, unix_day};

/// A fixed-offset zone: seconds east of UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Zone {
    pub(crate) offset: i64,
}

const NAMED: [(&str, i64); 10] = [
    ("Asia/Tokyo", 9 * 3600),
    ("Asia/Seoul", 9 * 3600),
    ("Asia/Shanghai", 8 * 3600),
    ("Asia/Singapore", 8 * 3600),
    ("Asia/Kolkata", 5 * 3600 + 1800),
    ("Asia/Dubai", 4 * 3600),
    ("America/Bogota", -5 * 3600),
    ("America/Lima", -5 * 3600),
    ("America/Phoenix", -7 * 3600),
    ("Pacific/Honolulu", -10 * 3600),
];

impl Zone {
    pub(crate) const UTC: Zone = Zone { offset: 0 };

    pub(crate) fn parse(name: &str) -> Option<Zone> {
        if matches!(name, "UTC" | "Etc/UTC" | "GMT" | "Etc/GMT" | "Z") {
            return Some(Self::UTC);
        }
        if let Some(rest) = name.strip_prefix("Etc/GMT") {
            let (sign, digits) = match rest.as_bytes().first() {
                Some(b'+') => (-1, &rest[1..]),
                Some(b'-') => (1, &rest[1..]),
                _ => return None,
            };
            let hours: i64 = digits.parse().ok().filter(|h| (0..=14).contains(h))?;
            return Some(Zone {
                offset: sign * hours * 3600,
            });
        }
        NAMED
            .iter()
            .find(|(n, _)| *n == name)
            .map(|&(_, offset)| Zone { offset })
    }

    /// `2025-01-15T00:00:00-05:00` for the instant `utc`.
    pub(crate) fn label(self, utc: i64) -> String {
        let local = utc + self.offset;
        let day = local.div_euclid(86_400);
        let secs = local.rem_euclid(86_400);
        let date = date_of(day).map(|d| d.to_string()).unwrap_or_default();
        let sign = if self.offset < 0 { '-' } else { '+' };
        let off = self.offset.abs();
        format!(
            "{date}T{:02}:{:02}:{:02}{sign}{:02}:{:02}",
            secs / 3600,
            secs % 3600 / 60,
            secs % 60,
            off / 3600,
            off % 3600 / 60
        )
    }
}

/// `timeframe`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Timeframe {
    Minute,
    Hour,
    Day,
    Week,
    Month,
}

impl Timeframe {
    pub(crate) fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "minute" => Self::Minute,
            "hour" => Self::Hour,
            "day" => Self::Day,
            "week" => Self::Week,
            "month" => Self::Month,
            _ => return None,
        })
    }

    /// The documented auto-detection: minute < 2 h, hour < 2 d, day < 64 d, week < 183 d,
    /// month otherwise.
    pub(crate) fn detect(span_seconds: i64) -> Self {
        const HOUR: i64 = 3_600;
        const DAY: i64 = 86_400;
        match span_seconds {
            s if s < 2 * HOUR => Self::Minute,
            s if s < 2 * DAY => Self::Hour,
            s if s < 64 * DAY => Self::Day,
            s if s < 183 * DAY => Self::Week,
            _ => Self::Month,
        }
    }

    /// The start (UTC seconds) of the period holding `utc`, periods aligned in `zone`.
    pub(crate) fn floor(self, utc: i64, zone: Zone) -> i64 {
        let local = utc + zone.offset;
        let start_local = match self {
            Self::Minute => local.div_euclid(60) * 60,
            Self::Hour => local.div_euclid(3_600) * 3_600,
            Self::Day => local.div_euclid(86_400) * 86_400,
            Self::Week => {
                let day = local.div_euclid(86_400);
                (day - (day + 3).rem_euclid(7)) * 86_400
            }
            Self::Month => {
                let day = local.div_euclid(86_400);
                date_of(day)
                    .and_then(|d| d.replace_day(1).ok())
                    .map_or(day, unix_day)
                    * 86_400
            }
        };
        start_local - zone.offset
    }

    /// The start of the next period after the one starting at `start`.
    pub(crate) fn next(self, start: i64, zone: Zone) -> i64 {
        match self {
            Self::Minute => start + 60,
            Self::Hour => start + 3_600,
            Self::Day => start + 86_400,
            Self::Week => start + 7 * 86_400,
            Self::Month => {
                // 32 days on always lands in the next month.
                self.floor(start + 32 * 86_400, zone)
            }
        }
    }

    /// `utc` if it is a boundary, else the next boundary.
    pub(crate) fn ceil(self, utc: i64, zone: Zone) -> i64 {
        let floor = self.floor(utc, zone);
        if floor == utc {
            utc
        } else {
            self.next(floor, zone)
        }
    }
}

/// A `start`/`end` value as Unix seconds; local forms are read in `zone`.
pub(crate) fn parse_instant(text: &str, zone: Zone) -> Option<i64> {
    if let Ok(t) = OffsetDateTime::parse(text, &Rfc3339) {
        return Some(t.unix_timestamp());
    }
    let date_only = time::macros::format_description!("[year]-[month]-[day]");
    if text.len() == 10
        && let Ok(d) = time::Date::parse(text, &date_only)
    {
        return Some(unix_day(d) * 86_400 - zone.offset);
    }
    let local = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second][optional [.[subsecond]]]"
    );
    PrimitiveDateTime::parse(text, &local)
        .ok()
        .map(|t| t.assume_offset(UtcOffset::UTC).unix_timestamp() - zone.offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_carry_the_zone_offset() {
        let bogota = Zone::parse("America/Bogota").unwrap();
        // 2025-01-15T05:00:00Z is midnight in Bogotá.
        assert_eq!(bogota.label(1_736_917_200), "2025-01-15T00:00:00-05:00");
        assert_eq!(Zone::UTC.label(1_736_899_200), "2025-01-15T00:00:00+00:00");
        assert_eq!(Zone::parse("Etc/GMT+5"), Some(bogota));
        assert_eq!(Zone::parse("America/New_York"), None);
    }

    #[test]
    fn weeks_start_on_monday_and_months_on_the_first() {
        // 2025-01-15 is a Wednesday; its week starts on Monday 2025-01-13.
        let wed = 1_736_899_200 + 3_600;
        assert_eq!(Timeframe::Week.floor(wed, Zone::UTC), 1_736_726_400);
        assert_eq!(Timeframe::Month.floor(wed, Zone::UTC), 1_735_689_600);
        assert_eq!(
            Timeframe::Month.next(1_735_689_600, Zone::UTC),
            1_738_368_000
        );
        assert_eq!(Timeframe::Day.ceil(wed, Zone::UTC), 1_736_985_600);
    }

    #[test]
    fn detects_the_documented_timeframes() {
        assert_eq!(Timeframe::detect(3_600), Timeframe::Minute);
        assert_eq!(Timeframe::detect(86_400), Timeframe::Hour);
        assert_eq!(Timeframe::detect(30 * 86_400), Timeframe::Day);
        assert_eq!(Timeframe::detect(90 * 86_400), Timeframe::Week);
        assert_eq!(Timeframe::detect(200 * 86_400), Timeframe::Month);
    }

    #[test]
    fn local_forms_are_read_in_the_zone() {
        let bogota = Zone::parse("America/Bogota").unwrap();
        assert_eq!(parse_instant("2025-01-15", bogota), Some(1_736_917_200));
        assert_eq!(
            parse_instant("2025-01-15T00:00:00Z", bogota),
            Some(1_736_899_200)
        );
        assert_eq!(
            parse_instant("2025-01-15T00:00:00", Zone::UTC),
            Some(1_736_899_200)
        );
        assert_eq!(parse_instant("15/01/2025", Zone::UTC), None);
    }
}
