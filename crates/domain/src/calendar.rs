//! UTC days, inclusive day ranges and the named reporting periods.
//!
//! Every figure in spendlens belongs to one UTC day. A [`DayRange`] is inclusive at both ends
//! (`--from 2026-11-01 --to 2026-11-07` is seven days) and is never empty. The previous period
//! of a range is the range of equal length that ends the day before it starts.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::{Date, Duration, Month, OffsetDateTime, format_description::well_known::Rfc3339};

/// One UTC calendar day.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Day(Date);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    #[error("\"{0}\" is not a date; use YYYY-MM-DD, for example 2026-11-01")]
    BadDate(String),
    #[error(
        "the period starts on {from} but ends earlier, on {to}; put the earlier date in --from"
    )]
    Reversed { from: Day, to: Day },
    #[error("the period {from} to {to} is {days} days long; the longest allowed is {max} days")]
    TooLong {
        from: Day,
        to: Day,
        days: i64,
        max: i64,
    },
    #[error(
        "unknown period \"{0}\"; use last-7-days, last-30-days, last-90-days, this-month or last-month, or give --from and --to"
    )]
    UnknownPeriod(String),
    #[error("a date outside the supported calendar")]
    OutOfRange,
}

/// 1970-01-01, day number zero.
const EPOCH: Date = time::macros::date!(1970 - 01 - 01);

impl Day {
    pub const fn from_date(date: Date) -> Day {
        Day(date)
    }

    pub const fn date(self) -> Date {
        self.0
    }

    /// The UTC day an instant falls on.
    pub fn of(instant: OffsetDateTime) -> Day {
        Day(instant.to_offset(time::UtcOffset::UTC).date())
    }

    /// Days since 1970-01-01: the form stored in both databases.
    pub fn number(self) -> i32 {
        // The calendar spans +-9999 years, far inside i32 days.
        i32::try_from((self.0 - EPOCH).whole_days()).unwrap_or(i32::MAX)
    }

    pub fn from_number(number: i32) -> Result<Day, CalendarError> {
        EPOCH
            .checked_add(Duration::days(i64::from(number)))
            .map(Day)
            .ok_or(CalendarError::OutOfRange)
    }

    pub fn add_days(self, days: i64) -> Result<Day, CalendarError> {
        self.0
            .checked_add(Duration::days(days))
            .map(Day)
            .ok_or(CalendarError::OutOfRange)
    }

    /// Midnight UTC at the start of this day.
    pub fn start(self) -> OffsetDateTime {
        self.0.midnight().assume_utc()
    }

    /// Midnight UTC at the start of this day, as Unix seconds.
    pub fn start_unix(self) -> i64 {
        self.start().unix_timestamp()
    }

    /// Midnight UTC at the start of this day, as RFC 3339 (`2026-11-01T00:00:00Z`).
    pub fn start_rfc3339(self) -> String {
        self.start()
            .format(&Rfc3339)
            .unwrap_or_else(|_| format!("{self}T00:00:00Z"))
    }

    pub fn first_of_month(self) -> Day {
        Day(self.0.replace_day(1).unwrap_or(self.0))
    }

    pub fn year(self) -> i32 {
        self.0.year()
    }

    pub fn month(self) -> Month {
        self.0.month()
    }
}

impl FromStr for Day {
    type Err = CalendarError;

    fn from_str(text: &str) -> Result<Day, CalendarError> {
        let format = time::macros::format_description!("[year]-[month]-[day]");
        Date::parse(text.trim(), &format)
            .map(Day)
            .map_err(|_| CalendarError::BadDate(text.to_owned()))
    }
}

impl fmt::Display for Day {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (year, month, day) = (self.0.year(), self.0.month() as u8, self.0.day());
        write!(f, "{year:04}-{month:02}-{day:02}")
    }
}

impl Serialize for Day {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Day {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Day, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// An inclusive, non-empty range of UTC days.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct DayRange {
    from: Day,
    to: Day,
}

impl DayRange {
    /// The longest range a report or sync window may span (ten years).
    pub const MAX_DAYS: i64 = 3660;

    pub fn new(from: Day, to: Day) -> Result<DayRange, CalendarError> {
        if to < from {
            return Err(CalendarError::Reversed { from, to });
        }
        let days = (to.0 - from.0).whole_days() + 1;
        if days > Self::MAX_DAYS {
            return Err(CalendarError::TooLong {
                from,
                to,
                days,
                max: Self::MAX_DAYS,
            });
        }
        Ok(DayRange { from, to })
    }

    pub fn single(day: Day) -> DayRange {
        DayRange { from: day, to: day }
    }

    pub fn from(self) -> Day {
        self.from
    }

    pub fn to(self) -> Day {
        self.to
    }

    /// Number of days, at least one.
    pub fn len_days(self) -> i64 {
        (self.to.0 - self.from.0).whole_days() + 1
    }

    pub fn contains(self, day: Day) -> bool {
        self.from <= day && day <= self.to
    }

    /// The range of equal length that ends the day before this one starts.
    pub fn previous(self) -> Result<DayRange, CalendarError> {
        let to = self.from.add_days(-1)?;
        let from = self.from.add_days(-self.len_days())?;
        Ok(DayRange { from, to })
    }

    /// The first day after the range, as the exclusive end that OpenAI and Anthropic expect.
    pub fn end_exclusive(self) -> Result<Day, CalendarError> {
        self.to.add_days(1)
    }

    /// Every day of the range, in order.
    pub fn days(self) -> impl Iterator<Item = Day> {
        let from = self.from;
        (0..self.len_days()).filter_map(move |offset| from.add_days(offset).ok())
    }

    /// Consecutive sub-ranges of at most `max_days` each, covering the range in order.
    pub fn chunks(self, max_days: i64) -> Vec<DayRange> {
        let step = max_days.max(1);
        let mut out = Vec::new();
        let mut start = self.from;
        while start <= self.to {
            let end = start
                .add_days(step - 1)
                .map_or(self.to, |end| end.min(self.to));
            out.push(DayRange {
                from: start,
                to: end,
            });
            match end.add_days(1) {
                Ok(next) => start = next,
                Err(_) => break,
            }
        }
        out
    }
}

impl fmt::Display for DayRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} to {}", self.from, self.to)
    }
}

/// A named reporting period, resolved against "today".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PeriodPreset {
    LastDays(u16),
    ThisMonth,
    LastMonth,
}

impl PeriodPreset {
    pub const NAMES: [&'static str; 5] = [
        "last-7-days",
        "last-30-days",
        "last-90-days",
        "this-month",
        "last-month",
    ];

    pub fn name(self) -> String {
        match self {
            PeriodPreset::LastDays(days) => format!("last-{days}-days"),
            PeriodPreset::ThisMonth => "this-month".to_owned(),
            PeriodPreset::LastMonth => "last-month".to_owned(),
        }
    }

    /// The days the period covers when today is `today` (UTC). "Last N days" ends today.
    pub fn resolve(self, today: Day) -> Result<DayRange, CalendarError> {
        match self {
            PeriodPreset::LastDays(days) => {
                DayRange::new(today.add_days(1 - i64::from(days.max(1)))?, today)
            }
            PeriodPreset::ThisMonth => DayRange::new(today.first_of_month(), today),
            PeriodPreset::LastMonth => {
                let last_day = today.first_of_month().add_days(-1)?;
                DayRange::new(last_day.first_of_month(), last_day)
            }
        }
    }
}

impl FromStr for PeriodPreset {
    type Err = CalendarError;

    fn from_str(text: &str) -> Result<PeriodPreset, CalendarError> {
        match text.trim() {
            "last-7-days" | "7d" => Ok(PeriodPreset::LastDays(7)),
            "last-30-days" | "30d" => Ok(PeriodPreset::LastDays(30)),
            "last-90-days" | "90d" => Ok(PeriodPreset::LastDays(90)),
            "this-month" => Ok(PeriodPreset::ThisMonth),
            "last-month" => Ok(PeriodPreset::LastMonth),
            other => Err(CalendarError::UnknownPeriod(other.to_owned())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn day(text: &str) -> Day {
        text.parse().unwrap()
    }

    #[test]
    fn day_numbers_start_at_the_unix_epoch() {
        assert_eq!(day("1970-01-01").number(), 0);
        assert_eq!(day("2026-11-22").number(), 20_779);
        assert_eq!(Day::from_number(20_779).unwrap(), day("2026-11-22"));
    }

    #[test]
    fn a_reversed_range_says_which_date_to_move() {
        let err = DayRange::new(day("2026-11-10"), day("2026-11-01")).unwrap_err();
        assert!(err.to_string().contains("--from"), "{err}");
    }

    #[test]
    fn bad_dates_name_the_expected_form() {
        let err = "2026-13-01".parse::<Day>().unwrap_err();
        assert!(err.to_string().contains("YYYY-MM-DD"));
    }

    #[test]
    fn presets_resolve_against_today() {
        let today = day("2026-11-22");
        let week = PeriodPreset::LastDays(7).resolve(today).unwrap();
        assert_eq!((week.from(), week.to()), (day("2026-11-16"), today));
        let month = PeriodPreset::ThisMonth.resolve(today).unwrap();
        assert_eq!(month.from(), day("2026-11-01"));
        let last = PeriodPreset::LastMonth.resolve(today).unwrap();
        assert_eq!(
            (last.from(), last.to()),
            (day("2026-10-01"), day("2026-10-31"))
        );
        let jan = PeriodPreset::LastMonth.resolve(day("2026-01-05")).unwrap();
        assert_eq!(
            (jan.from(), jan.to()),
            (day("2025-12-01"), day("2025-12-31"))
        );
    }

    #[test]
    fn the_previous_period_has_equal_length_and_ends_the_day_before() {
        let range = DayRange::new(day("2026-11-01"), day("2026-11-22")).unwrap();
        let previous = range.previous().unwrap();
        assert_eq!(previous.to(), day("2026-10-31"));
        assert_eq!(previous.from(), day("2026-10-10"));
    }

    proptest! {
        #[test]
        fn previous_periods_tile_the_calendar(start in 0i32..30_000, len in 1i64..400) {
            let from = Day::from_number(start).unwrap();
            let range = DayRange::new(from, from.add_days(len - 1).unwrap()).unwrap();
            let previous = range.previous().unwrap();
            prop_assert_eq!(previous.len_days(), range.len_days());
            prop_assert_eq!(previous.to().add_days(1).unwrap(), range.from());
        }

        #[test]
        fn chunks_cover_the_range_exactly_once(start in 0i32..30_000, len in 1i64..400, max in 1i64..100) {
            let from = Day::from_number(start).unwrap();
            let range = DayRange::new(from, from.add_days(len - 1).unwrap()).unwrap();
            let chunks = range.chunks(max);
            prop_assert_eq!(chunks.iter().map(|c| c.len_days()).sum::<i64>(), len);
            prop_assert!(chunks.iter().all(|c| c.len_days() <= max));
            prop_assert_eq!(chunks[0].from(), range.from());
            prop_assert_eq!(chunks[chunks.len() - 1].to(), range.to());
            for pair in chunks.windows(2) {
                prop_assert_eq!(pair[0].to().add_days(1).unwrap(), pair[1].from());
            }
        }
    }
}
