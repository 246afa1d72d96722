//! The forecast of one scope, pure: the trailing 7 complete days → a daily rate → the spend
//! projected to the end of the month and over the next 7 days, and the trend against the 7
//! days before. Days after the scope's "complete through" day are not read as zero: they are
//! projected at the rate, and what was recorded on them so far is shown apart.
//!
//! Imports `domain` only; every figure is exact money (nano-dollars), a projection rounded
//! once, half to even.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::Serialize;
use spendlens_domain::trend::trend_pct;
use spendlens_domain::{Day, DayRange, Money};

/// Complete days the daily rate is taken over.
pub const WINDOW_DAYS: i64 = 7;

/// The trend rule: the trailing 7 complete days against the 7 days before them; a change
/// within ± this percentage is stable.
pub const STABLE_BAND_PCT: i64 = 10;

/// The rule as stated on every surface.
pub const TREND_RULE: &str = "trend: the last 7 complete days against the 7 days before; \
    more than +10 % is increasing, less than −10 % decreasing, otherwise stable";

/// What one scope's forecast is computed from.
#[derive(Clone, Debug, Default)]
pub struct ForecastInput {
    /// The clock's UTC day: the month projected is the one it falls in.
    pub today: Option<Day>,
    /// The last day whose data is complete (`None`: none is yet).
    pub complete_through: Option<Day>,
    /// The first day the data covers for this scope (`None`: unknown, no history).
    pub history_from: Option<Day>,
    /// Spend per day; a complete day missing here spent nothing.
    pub daily: BTreeMap<Day, Money>,
}

/// Whether a forecast could be made.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ForecastStatus {
    Ok,
    /// Fewer than 7 complete days of history.
    InsufficientHistory,
    /// No day is complete yet (never synced).
    NotComplete,
}

/// The trend's direction (see [`TREND_RULE`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Increasing,
    Decreasing,
    Stable,
    /// Fewer than 14 complete days of history: nothing to compare with.
    NoHistory,
}

impl Direction {
    pub fn label(self) -> &'static str {
        match self {
            Direction::Increasing => "increasing",
            Direction::Decreasing => "decreasing",
            Direction::Stable => "stable",
            Direction::NoHistory => "no comparable history",
        }
    }
}

/// One scope's forecast. Every projected figure is an estimate (`estimated: true`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Forecast {
    pub status: ForecastStatus,
    /// Why there is no forecast (N/A), in words.
    pub reason: Option<String>,
    pub complete_through: Option<Day>,
    /// The 7 complete days the rate is taken over.
    pub window: Option<DayRange>,
    pub trailing_7d: Option<Money>,
    /// Trailing 7 days ÷ 7.
    pub daily_rate: Option<Money>,
    /// The daily rate × 7.
    pub next_7_days: Option<Money>,
    pub month_start: Day,
    pub month_end: Day,
    /// Spend on the month's complete days.
    pub month_to_date: Money,
    /// Spend recorded so far on the month's days after "complete through" (not final, not
    /// used by the projection, never read as zero either).
    pub incomplete_recorded: Money,
    /// The month's days after "complete through", projected at the daily rate.
    pub remaining_days: i64,
    /// Month to date + daily rate × remaining days.
    pub projected_month_end: Option<Money>,
    /// The 7 days before the window.
    pub previous_7d: Option<Money>,
    pub trend: Direction,
    pub trend_pct: Option<Decimal>,
    pub estimated: bool,
}

fn month_bounds(today: Day) -> (Day, Day) {
    let start = today.first_of_month();
    let end = start
        .add_days(31)
        .map(Day::first_of_month)
        .and_then(|next| next.add_days(-1))
        .unwrap_or(today);
    (start, end)
}

fn sum(daily: &BTreeMap<Day, Money>, range: DayRange) -> Money {
    daily
        .range(range.from()..=range.to())
        .map(|(_, m)| *m)
        .sum()
}

fn days_between(from: Day, to: Day) -> i64 {
    i64::from(to.number()) - i64::from(from.number()) + 1
}

/// The forecast of one scope (see the module docs).
pub fn forecast(input: &ForecastInput) -> Forecast {
    let today = input
        .today
        .or(input.complete_through)
        .unwrap_or_else(|| Day::from_number(0).unwrap_or_else(|_| Day::from_date(time::Date::MIN)));
    let (month_start, month_end) = month_bounds(today);
    let ct = input.complete_through;
    let month_complete = ct
        .filter(|ct| *ct >= month_start)
        .and_then(|ct| DayRange::new(month_start, ct.min(month_end)).ok());
    let month_to_date = month_complete.map_or(Money::ZERO, |r| sum(&input.daily, r));
    let first_incomplete = ct
        .and_then(|ct| ct.add_days(1).ok())
        .map_or(month_start, |d| d.max(month_start));
    let (incomplete_recorded, remaining_days) = if first_incomplete <= month_end {
        let r = DayRange::new(first_incomplete, month_end).ok();
        (
            r.map_or(Money::ZERO, |r| sum(&input.daily, r)),
            days_between(first_incomplete, month_end),
        )
    } else {
        (Money::ZERO, 0)
    };
    let mut out = Forecast {
        status: ForecastStatus::Ok,
        reason: None,
        complete_through: ct,
        window: None,
        trailing_7d: None,
        daily_rate: None,
        next_7_days: None,
        month_start,
        month_end,
        month_to_date,
        incomplete_recorded,
        remaining_days,
        projected_month_end: None,
        previous_7d: None,
        trend: Direction::NoHistory,
        trend_pct: None,
        estimated: true,
    };
    let Some(ct) = ct else {
        out.status = ForecastStatus::NotComplete;
        out.reason = Some("no day is complete yet: the data has not been synced".to_owned());
        return out;
    };
    let window = ct
        .add_days(1 - WINDOW_DAYS)
        .ok()
        .and_then(|from| DayRange::new(from, ct).ok());
    let covered = |range: Option<DayRange>| match (range, input.history_from) {
        (Some(r), Some(from)) => from <= r.from(),
        _ => false,
    };
    if !covered(window) {
        let have = input
            .history_from
            .filter(|from| *from <= ct)
            .map_or(0, |from| days_between(from, ct));
        out.status = ForecastStatus::InsufficientHistory;
        out.reason = Some(match input.history_from {
            Some(from) => format!(
                "{have} complete day(s) of history (from {from} through {ct}); a forecast needs {WINDOW_DAYS}"
            ),
            None => format!("no history yet; a forecast needs {WINDOW_DAYS} complete days"),
        });
        return out;
    }
    let Some(window) = window else {
        return out;
    };
    let trailing = sum(&input.daily, window);
    out.window = Some(window);
    out.trailing_7d = Some(trailing);
    out.daily_rate = trailing.scaled(1, i128::from(WINDOW_DAYS));
    out.next_7_days = Some(trailing);
    out.projected_month_end = trailing
        .scaled(i128::from(remaining_days), i128::from(WINDOW_DAYS))
        .map(|rest| month_to_date + rest);
    let previous = window.previous().ok();
    if covered(previous)
        && let Some(previous) = previous
    {
        let before = sum(&input.daily, previous);
        out.previous_7d = Some(before);
        out.trend_pct = trend_pct(trailing, before).map(|mut p| {
            p.rescale(1);
            p
        });
        let band = Decimal::from(STABLE_BAND_PCT);
        out.trend = match out.trend_pct {
            Some(pct) if pct > band => Direction::Increasing,
            Some(pct) if pct < -band => Direction::Decreasing,
            Some(_) => Direction::Stable,
            None if trailing.is_zero() => Direction::Stable,
            None => Direction::Increasing,
        };
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn day(text: &str) -> Day {
        text.parse().unwrap()
    }

    fn usd(text: &str) -> Money {
        Money::parse_units(text).unwrap()
    }

    fn input(today: &str, ct: &str, from: &str, days: &[(&str, &str)]) -> ForecastInput {
        ForecastInput {
            today: Some(day(today)),
            complete_through: Some(day(ct)),
            history_from: Some(day(from)),
            daily: days.iter().map(|(d, m)| (day(d), usd(m))).collect(),
        }
    }

    #[test]
    fn seven_complete_days_project_the_rest_of_the_month_at_their_rate() {
        // Dec 5: complete through Dec 4; the window is Nov 28 – Dec 4.
        let mut days: Vec<(String, &str)> = Vec::new();
        for d in 21..=30 {
            days.push((format!("2026-11-{d}"), "7"));
        }
        for d in 1..=4 {
            days.push((format!("2026-12-0{d}"), "14"));
        }
        days.push(("2026-12-05".to_owned(), "3")); // today, not complete
        let days: Vec<(&str, &str)> = days.iter().map(|(d, m)| (d.as_str(), *m)).collect();
        let f = forecast(&input("2026-12-05", "2026-12-04", "2026-11-01", &days));
        assert_eq!(f.status, ForecastStatus::Ok);
        // 3 days at 7 + 4 at 14 = 77 over 7 days: 11 a day.
        assert_eq!(f.trailing_7d, Some(usd("77")));
        assert_eq!(f.daily_rate, Some(usd("11")));
        assert_eq!(f.month_to_date, usd("56"));
        assert_eq!(f.incomplete_recorded, usd("3"));
        // Dec 5 – Dec 31: 27 days × 11 = 297, + 56.
        assert_eq!(f.remaining_days, 27);
        assert_eq!(f.projected_month_end, Some(usd("353")));
        assert_eq!(f.next_7_days, Some(usd("77")));
        // The 7 days before (Nov 21 – 27) spent 49: +57.1 % → increasing.
        assert_eq!(f.previous_7d, Some(usd("49")));
        assert_eq!(f.trend, Direction::Increasing);
        assert_eq!(f.trend_pct, Some(Decimal::new(571, 1)));
        assert!(f.estimated);
    }

    #[test]
    fn a_slow_bill_projects_its_days_not_yet_final_instead_of_reading_them_as_zero() {
        // Complete through Dec 2 (a 2-day export lag); Dec 3 and 4 have partial data.
        let days = [
            ("2026-11-26", "10"),
            ("2026-11-27", "10"),
            ("2026-11-28", "10"),
            ("2026-11-29", "10"),
            ("2026-11-30", "10"),
            ("2026-12-01", "10"),
            ("2026-12-02", "10"),
            ("2026-12-03", "1"),
        ];
        let f = forecast(&input("2026-12-04", "2026-12-02", "2026-11-20", &days));
        assert_eq!(f.daily_rate, Some(usd("10")));
        assert_eq!(f.month_to_date, usd("20"));
        assert_eq!(f.incomplete_recorded, usd("1"));
        assert_eq!(f.remaining_days, 29);
        assert_eq!(f.projected_month_end, Some(usd("310")));
        // Only 13 days of history before the window's end: no trend.
        assert_eq!(f.trend, Direction::NoHistory);
    }

    #[test]
    fn too_little_history_is_said_never_invented() {
        let f = forecast(&input(
            "2026-12-05",
            "2026-12-04",
            "2026-12-01",
            &[("2026-12-01", "5")],
        ));
        assert_eq!(f.status, ForecastStatus::InsufficientHistory);
        assert_eq!(f.projected_month_end, None);
        assert_eq!(f.daily_rate, None);
        assert!(f.reason.unwrap().starts_with("4 complete day(s)"));
        let never = forecast(&ForecastInput {
            today: Some(day("2026-12-05")),
            ..ForecastInput::default()
        });
        assert_eq!(never.status, ForecastStatus::NotComplete);
        assert_eq!(never.projected_month_end, None);
    }

    #[test]
    fn the_first_of_the_month_projects_the_whole_month() {
        let days: Vec<(String, &str)> =
            (24..=30).map(|d| (format!("2026-11-{d}"), "1.5")).collect();
        let days: Vec<(&str, &str)> = days.iter().map(|(d, m)| (d.as_str(), *m)).collect();
        let f = forecast(&input("2026-12-01", "2026-11-30", "2026-11-01", &days));
        assert_eq!(f.month_to_date, Money::ZERO);
        assert_eq!(f.remaining_days, 31);
        assert_eq!(f.projected_month_end, Some(usd("46.5")));
    }

    #[test]
    fn the_trend_rule_has_a_stable_band() {
        let mut days: Vec<(String, &str)> =
            (1..=7).map(|d| (format!("2026-11-0{d}"), "10")).collect();
        days.extend((8..=14).map(|d| (format!("2026-11-{d:02}"), "10.9")));
        let days: Vec<(&str, &str)> = days.iter().map(|(d, m)| (d.as_str(), *m)).collect();
        let f = forecast(&input("2026-11-15", "2026-11-14", "2026-11-01", &days));
        assert_eq!(f.trend, Direction::Stable);
        assert_eq!(f.trend_pct, Some(Decimal::new(90, 1)));
    }

    proptest! {
        #[test]
        fn the_projection_is_month_to_date_plus_the_rate_over_the_rest(
            amounts in proptest::collection::vec(0i64..5_000_000_000_000, 40),
            lag in 0i64..4,
            today_offset in 0i64..60,
        ) {
            let base = day("2026-10-01");
            let today = base.add_days(20 + today_offset).unwrap();
            let ct = today.add_days(-1 - lag).unwrap();
            let daily: BTreeMap<Day, Money> = amounts
                .iter()
                .enumerate()
                .map(|(i, n)| (ct.add_days(-(i as i64)).unwrap(), Money::from_nanos(*n)))
                .collect();
            let f = forecast(&ForecastInput {
                today: Some(today),
                complete_through: Some(ct),
                history_from: Some(base),
                daily,
            });
            let rate_total = f.trailing_7d.unwrap();
            // Exact: projected − month to date is the 7-day total × remaining ÷ 7, rounded once.
            let rest = f.projected_month_end.unwrap() - f.month_to_date;
            let exact = i128::from(rate_total.nanos()) * i128::from(f.remaining_days);
            let diff = i128::from(rest.nanos()) * 7 - exact;
            prop_assert!(diff.abs() <= 4, "{diff}");
            prop_assert!(f.remaining_days >= 1 && f.remaining_days <= 31 + 4);
            prop_assert!(f.projected_month_end.unwrap() >= f.month_to_date);
        }
    }
}
