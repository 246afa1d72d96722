//! Coverage day by day (pure): one provider's billed and metered cost and tokens per UTC day
//! of a period, the ratio of each day whose bill is final, and the days after the bill's
//! "complete through" day marked `lag` — never a 0 % for a bill that is not in yet.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::Serialize;
use spendlens_domain::{Day, DayRange, Money};

use super::math::percent;

/// Whether a day's bill can be compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DayStatus {
    /// On or before the bill's "complete through" day.
    Comparable,
    /// After it: the bill may still grow, so no ratio is given.
    Lag,
}

impl DayStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DayStatus::Comparable => "comparable",
            DayStatus::Lag => "lag",
        }
    }
}

/// Cost and tokens of one side on one day.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DaySide {
    pub cost: Money,
    pub tokens: i64,
}

impl DaySide {
    pub fn add(&mut self, cost: Money, tokens: i64) {
        self.cost += cost;
        self.tokens = self.tokens.saturating_add(tokens);
    }
}

/// One provider's coverage on one day.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DayCoverage {
    pub day: Day,
    pub status: DayStatus,
    pub billed_cost: Money,
    pub metered_cost: Money,
    /// Metered ÷ billed cost in percent; `null` on a lag day or a day with nothing billed.
    pub coverage_pct: Option<Decimal>,
    pub billed_tokens: i64,
    pub metered_tokens: i64,
    pub token_coverage_pct: Option<Decimal>,
}

/// Every day of `period`, in order: the day's sums (zero where a side had nothing), its status
/// against `complete_through` (`None`: no day is final) and, on comparable days, the ratios.
pub fn daily(
    period: DayRange,
    complete_through: Option<Day>,
    billed: &BTreeMap<Day, DaySide>,
    metered: &BTreeMap<Day, DaySide>,
) -> Vec<DayCoverage> {
    period
        .days()
        .map(|day| {
            let b = billed.get(&day).copied().unwrap_or_default();
            let m = metered.get(&day).copied().unwrap_or_default();
            let status = match complete_through {
                Some(through) if day <= through => DayStatus::Comparable,
                _ => DayStatus::Lag,
            };
            let comparable = status == DayStatus::Comparable;
            DayCoverage {
                day,
                status,
                billed_cost: b.cost,
                metered_cost: m.cost,
                coverage_pct: percent(i128::from(m.cost.nanos()), i128::from(b.cost.nanos()))
                    .filter(|_| comparable),
                billed_tokens: b.tokens,
                metered_tokens: m.tokens,
                token_coverage_pct: percent(i128::from(m.tokens), i128::from(b.tokens))
                    .filter(|_| comparable),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> Day {
        text.parse().unwrap()
    }

    fn side(dollars: &str, tokens: i64) -> DaySide {
        DaySide {
            cost: Money::parse_units(dollars).unwrap(),
            tokens,
        }
    }

    #[test]
    fn final_days_have_ratios_and_days_after_are_lag_not_zero() {
        let period = DayRange::new(day("2026-11-01"), day("2026-11-04")).unwrap();
        let billed = BTreeMap::from([
            (day("2026-11-01"), side("10", 1000)),
            (day("2026-11-02"), side("3", 300)),
        ]);
        let metered = BTreeMap::from([
            (day("2026-11-01"), side("7.5", 900)),
            (day("2026-11-03"), side("1", 100)),
            (day("2026-11-04"), side("2", 200)),
        ]);
        let days = daily(period, Some(day("2026-11-03")), &billed, &metered);
        let got: Vec<(String, &str, Option<String>, Option<String>)> = days
            .iter()
            .map(|d| {
                (
                    d.day.to_string(),
                    d.status.as_str(),
                    d.coverage_pct.map(|p| p.to_string()),
                    d.token_coverage_pct.map(|p| p.to_string()),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                (
                    "2026-11-01".into(),
                    "comparable",
                    Some("75.0".into()),
                    Some("90.0".into())
                ),
                // Nothing metered on a final day: 0 %, the honest figure.
                (
                    "2026-11-02".into(),
                    "comparable",
                    Some("0.0".into()),
                    Some("0.0".into())
                ),
                // Metered with nothing billed on a final day: no ratio (N/A), the cost shown.
                ("2026-11-03".into(), "comparable", None, None),
                // After the bill's final day: lag, no ratio, whatever was metered.
                ("2026-11-04".into(), "lag", None, None),
            ]
        );
        assert_eq!(days[3].metered_cost, Money::parse_units("2").unwrap());
        // Never synced: every day is lag.
        assert!(
            daily(period, None, &billed, &metered)
                .iter()
                .all(|d| d.status == DayStatus::Lag && d.coverage_pct.is_none())
        );
    }
}
