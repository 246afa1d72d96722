//! What every report carries besides its rows ([`Header`]), and the sums of its rows: shares,
//! requests and work in its own units.

use rust_decimal::Decimal;
use serde::Serialize;
use spendlens_domain::trend::{trend, trend_pct};
use spendlens_domain::{DayRange, Money, Trend};

use super::{Metrics, percent};
use crate::params::{View, ViewQuery};
use crate::work::UnitAmount;

/// What every report carries besides its rows.
#[derive(Clone, Debug, Serialize)]
pub struct Header {
    pub view: View,
    pub period: DayRange,
    pub previous_period: DayRange,
    pub time_zone: &'static str,
    pub currency: &'static str,
    /// The sum of the rows' cost.
    pub total_cost: Money,
    pub previous_total_cost: Money,
    pub total_credits: Money,
    pub total_net_cost: Money,
    pub trend_pct: Option<Decimal>,
    pub trend: Trend,
}

impl Header {
    pub(crate) fn new(query: &ViewQuery, metrics: &[&Metrics]) -> Header {
        let total_cost: Money = metrics.iter().map(|m| m.cost).sum();
        let previous: Money = metrics.iter().map(|m| m.previous_cost).sum();
        let credits: Money = metrics.iter().map(|m| m.credits).sum();
        // The total compares only when every row does.
        let no_history = metrics.iter().any(|m| m.trend == Trend::NoHistory);
        Header {
            view: query.view,
            period: query.period,
            previous_period: query.previous,
            time_zone: "UTC",
            currency: "USD",
            total_cost,
            previous_total_cost: previous,
            total_credits: credits,
            total_net_cost: total_cost - credits,
            trend_pct: if no_history {
                None
            } else {
                trend_pct(total_cost, previous)
            },
            trend: if no_history {
                Trend::NoHistory
            } else {
                trend(total_cost, previous)
            },
        }
    }
}

pub(crate) fn set_shares<'a>(metrics: impl Iterator<Item = &'a mut Metrics>, total: Money) {
    for m in metrics {
        m.share_pct = percent(m.cost, total);
    }
}

/// Requests summed where every part is known.
/// The rows' work summed unit by unit, as the table's total row sums it (rows idle without a
/// count add nothing; any other unknown makes the total unknown).
pub(crate) fn sum_usage<'a>(metrics: impl Iterator<Item = &'a Metrics>) -> Option<Vec<UnitAmount>> {
    crate::work::sum(
        metrics
            .filter(|m| !m.idle_without_count())
            .map(|m| &m.usage),
    )
}

pub(crate) fn sum_requests<'a>(metrics: impl Iterator<Item = &'a Metrics>) -> Option<i64> {
    let mut total = 0i64;
    for m in metrics {
        total = total.saturating_add(m.requests?);
    }
    Some(total)
}
