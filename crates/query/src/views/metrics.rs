//! A row's money, tokens and work with its trend ([`Metrics`]), and the exact percent and
//! per-unit rates every view derives from them.

use std::collections::BTreeSet;

use rust_decimal::{Decimal, RoundingStrategy};
use serde::Serialize;
use spendlens_domain::trend::{trend, trend_pct};
use spendlens_domain::{Day, DayRange, Money, ProviderKind, Quantity, Trend, Unit};
use spendlens_store::{ConnectionId, Prior, Totals};

use crate::history::Coverage;
use crate::work::{UnitAmount, WorkSum};

/// Money, tokens and requests of one row, with its trend against the previous period.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Metrics {
    pub cost: Money,
    pub credits: Money,
    pub net_cost: Money,
    pub previous_cost: Money,
    /// Every line of the previous period is unpriced: its cost is unknown, not $0 (shown as
    /// "unpriced").
    pub previous_cost_unknown: bool,
    /// Percent change against the previous period; `null` when there was none.
    pub trend_pct: Option<Decimal>,
    pub trend: Trend,
    /// Percent of the report's total cost.
    pub share_pct: Option<Decimal>,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub cache_read_tokens: i64,
    pub cache_write_tokens: i64,
    pub total_tokens: i64,
    /// `null` when the provider does not report request counts (Anthropic).
    pub requests: Option<i64>,
    /// The work in its own units: requests where the provider counts them, else the unit it
    /// bills in (fal.ai images or seconds, Runway credits), one entry per unit, never added
    /// across units; `null` when part of it is counted in neither (tokens of a provider that
    /// reports no requests).
    pub usage: Option<Vec<UnitAmount>>,
    /// Lines whose usage has no known price (PiAPI's Midjourney `point` usage): what they cost
    /// is unknown, and `cost` does not include it.
    pub unpriced_lines: i64,
    /// The requests of those lines ("3,120 requests unpriced").
    pub unpriced_requests: i64,
    /// Every line behind the row is unpriced and nothing was billed: the cost is unknown, not
    /// $0 (shown as "unpriced").
    pub cost_unknown: bool,
    /// The first day every connection behind the row has data for; a previous period that
    /// starts earlier has no comparable history (`trend` is `no_history`).
    pub history_from: Option<Day>,
    /// Nothing in the period (no line): its unknown work (`usage` null) adds nothing to a
    /// total, where a row with lines but no count makes the total unknown.
    #[serde(skip)]
    pub idle: bool,
}

impl Metrics {
    pub(crate) fn new(current: &Totals, previous: Prior) -> Metrics {
        let previous_cost = previous.cost;
        let cost_unknown = current.lines > 0
            && current.unpriced_lines == current.lines
            && current.cost.is_zero()
            && current.credits.is_zero();
        let previous_cost_unknown = previous.cost_unknown();
        // A cost no one knows on either side has no trend.
        let unknown = cost_unknown || previous_cost_unknown;
        Metrics {
            cost: current.cost,
            credits: current.credits,
            net_cost: current.net_cost(),
            previous_cost,
            previous_cost_unknown,
            trend_pct: if unknown {
                None
            } else {
                trend_pct(current.cost, previous_cost)
            },
            trend: if unknown {
                Trend::None
            } else {
                trend(current.cost, previous_cost)
            },
            share_pct: None,
            input_tokens: current.input_tokens,
            output_tokens: current.output_tokens,
            cache_read_tokens: current.cache_read_tokens,
            cache_write_tokens: current.cache_write_tokens,
            total_tokens: current.total_tokens(),
            requests: current.known_requests(),
            usage: current.known_requests().map(|requests| {
                vec![UnitAmount {
                    unit: Unit::requests(),
                    quantity: Quantity::from_whole(requests),
                }]
            }),
            unpriced_lines: current.unpriced_lines,
            unpriced_requests: current.unpriced_requests,
            cost_unknown,
            history_from: None,
            idle: current.lines == 0,
        }
    }

    /// Work with nothing in the period and no count to be 0 (an idle key of a provider that
    /// counts no requests): shown N/A, added to no total.
    pub fn idle_without_count(&self) -> bool {
        self.idle && self.usage.is_none()
    }

    /// Sets the row's work in its own units, given the providers behind the row. Requests are
    /// unknown where a provider reports none; so is its work when the row has none to show in
    /// any unit (an idle Anthropic key reads N/A, not 0 requests: no count exists to be 0).
    pub(crate) fn with_work(
        mut self,
        work: Option<WorkSum>,
        providers: &[ProviderKind],
    ) -> Metrics {
        let counted = providers.iter().all(|p| p.reports_request_counts());
        if !counted {
            self.requests = None;
        }
        self.usage = work
            .unwrap_or_default()
            .finish()
            .filter(|work| counted || !work.is_empty());
        self
    }

    /// Marks the trend "no comparable history" when the connections behind the row have no
    /// data for the start of the previous period.
    pub(crate) fn with_history(
        mut self,
        coverage: &Coverage,
        connections: &BTreeSet<ConnectionId>,
        previous: DayRange,
    ) -> Metrics {
        self.history_from = coverage.history_from(connections.iter().copied());
        if self.trend != Trend::None && !coverage.covers(connections.iter().copied(), previous) {
            self.trend = Trend::NoHistory;
            self.trend_pct = None;
        }
        self
    }
}

/// Percent of `part` in `whole`, to one decimal.
pub fn percent(part: Money, whole: Money) -> Option<Decimal> {
    if whole.is_zero() {
        return None;
    }
    let pct = Decimal::from(part.nanos()) * Decimal::ONE_HUNDRED / Decimal::from(whole.nanos());
    Some(pct.round_dp_with_strategy(1, RoundingStrategy::MidpointAwayFromZero))
}

/// Cost per 1M tokens, exact to the nano-dollar; `None` without tokens.
pub fn cost_per_million(cost: Money, tokens: i64) -> Option<Money> {
    if tokens <= 0 {
        return None;
    }
    cost.scaled(1_000_000, i128::from(tokens))
}

/// Cost per unit of a non-token quantity; `None` without quantity.
pub fn cost_per_unit(cost: Money, quantity: Quantity) -> Option<Money> {
    if quantity.micros() <= 0 {
        return None;
    }
    cost.scaled(1_000_000, i128::from(quantity.micros()))
}
