//! Period-over-period trends: how a figure moved against the previous period of equal length.

use rust_decimal::{Decimal, RoundingStrategy};
use serde::Serialize;

use crate::money::Money;

/// The direction of a change, for arrows and colours (↑ red, ↓ green).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Trend {
    Up,
    Down,
    Flat,
    /// No spend in the previous period, some now.
    New,
    /// No spend in either period.
    None,
    /// The data does not cover the previous period (before the first synced day, or beyond
    /// what the provider serves): nothing to compare with, which is not "new".
    #[serde(rename = "no_history")]
    NoHistory,
}

impl Trend {
    /// Every trend, in declaration order (the OpenAPI document's enum is built from it; a new
    /// variant breaks `as_str`'s match, and belongs here too).
    pub const ALL: [Trend; 6] = [
        Trend::Up,
        Trend::Down,
        Trend::Flat,
        Trend::New,
        Trend::None,
        Trend::NoHistory,
    ];

    /// The name the API and CSV use.
    pub const fn as_str(self) -> &'static str {
        match self {
            Trend::Up => "up",
            Trend::Down => "down",
            Trend::Flat => "flat",
            Trend::New => "new",
            Trend::None => "none",
            Trend::NoHistory => "no_history",
        }
    }
}

/// The change from `previous` to `current`, in percent of `previous`, to one decimal.
/// `None` when there was nothing before to compare with.
pub fn trend_pct(current: Money, previous: Money) -> Option<Decimal> {
    if previous.is_zero() {
        return None;
    }
    let change = Decimal::from(current.nanos()) - Decimal::from(previous.nanos());
    let pct = change * Decimal::ONE_HUNDRED / Decimal::from(previous.nanos()).abs();
    Some(pct.round_dp_with_strategy(1, RoundingStrategy::MidpointAwayFromZero))
}

pub fn trend(current: Money, previous: Money) -> Trend {
    match (current.is_zero(), previous.is_zero()) {
        (true, true) => Trend::None,
        (false, true) => Trend::New,
        _ => match trend_pct(current, previous) {
            Some(pct) if pct > Decimal::ZERO => Trend::Up,
            Some(pct) if pct < Decimal::ZERO => Trend::Down,
            _ => Trend::Flat,
        },
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_trend_is_listed_once_under_its_serialized_name() {
        for trend in Trend::ALL {
            assert_eq!(
                serde_json::to_value(trend).unwrap(),
                serde_json::Value::String(trend.as_str().to_owned())
            );
        }
        let mut names: Vec<_> = Trend::ALL.iter().map(|t| t.as_str()).collect();
        names.dedup();
        assert_eq!(names.len(), 6);
    }

    use super::*;

    fn usd(text: &str) -> Money {
        Money::parse_units(text).unwrap()
    }

    #[test]
    fn a_rise_of_half_is_fifty_percent_up() {
        assert_eq!(
            trend_pct(usd("150"), usd("100")),
            Some(Decimal::new(500, 1))
        );
        assert_eq!(trend(usd("150"), usd("100")), Trend::Up);
        assert_eq!(trend(usd("50"), usd("100")), Trend::Down);
    }

    #[test]
    fn nothing_before_is_new_not_infinite() {
        assert_eq!(trend_pct(usd("5"), Money::ZERO), None);
        assert_eq!(trend(usd("5"), Money::ZERO), Trend::New);
        assert_eq!(trend(Money::ZERO, Money::ZERO), Trend::None);
    }

    #[test]
    fn tiny_changes_round_to_flat() {
        assert_eq!(trend(usd("100.0001"), usd("100")), Trend::Flat);
    }
}
