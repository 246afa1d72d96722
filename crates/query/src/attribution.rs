//! The attribution views — Customers, Products, Agents — over metered calls: per value of the
//! attribution, cost, calls, tokens, average cost per call, error share, the previous period's
//! cost, trend and share, read from the metered rollups with the same filters, periods, sort
//! and CSV as the cost views.
//!
//! Rules (unknown is never zero):
//! - Calls sent without the attribution are one row, `name: null`, labelled `(none)`; the
//!   dashboard marks it as "calls without a customer" and CSV says `Attributed: no`, so it
//!   never reads as a customer named "(none)".
//! - Calls without a price are counted (`unpriced_calls`); `cost` leaves them out and is then
//!   incomplete, never $0 for them. The average cost per call divides by priced calls only
//!   (`null` when none was priced).
//! - Calls that reported no token usage are counted (`usage_unknown_calls`); token figures sum
//!   the calls that did, and are `null` when no call of the row reported usage.
//! - Error share is failed (error or timeout) ÷ all calls.
//! - Trend: metering starts on the organization's first metered day; a previous period that
//!   begins earlier is not covered, so rows have "no comparable history" instead of "new".
//! - Totals are the sums of the rows shown.

use std::cmp::Ordering;

use rust_decimal::Decimal;
use serde::Serialize;
use spendlens_domain::{Day, DayRange, Money, Trend};
use spendlens_store::{
    Attribution, AttributionTotals, MeterFilter, Metrics as Rolled, OrgId, Store, Totals,
    meter_extra,
};

use crate::QueryError;
use crate::params::ViewQuery;
use crate::views::{
    Header, Metrics, compare_metrics, compare_opt, finish_sort, percent, set_shares,
};

/// The label of the row of calls sent without the attribution.
pub const NONE_LABEL: &str = "(none)";

/// One customer, product or agent.
#[derive(Clone, Debug, Serialize)]
pub struct AttributionRow {
    /// The value as sent; `null` for calls sent without one.
    pub name: Option<String>,
    /// `name`, or `(none)` for calls sent without one.
    pub label: String,
    pub cost: Money,
    pub previous_cost: Money,
    pub trend_pct: Option<Decimal>,
    pub trend: Trend,
    pub share_pct: Option<Decimal>,
    /// The first metered day; a previous period starting earlier has no comparable history.
    pub history_from: Option<Day>,
    pub calls: i64,
    pub failed_calls: i64,
    /// Failed ÷ calls, in percent to one decimal.
    pub error_share_pct: Option<Decimal>,
    /// Calls without a price: `cost` does not include them.
    pub unpriced_calls: i64,
    /// Calls that reported no token usage: token figures do not include them.
    pub usage_unknown_calls: i64,
    /// Cost ÷ priced calls; `null` when no call was priced.
    pub avg_cost_per_call: Option<Money>,
    /// All input tokens (cache reads and writes included); `null` when no call reported usage.
    pub input_tokens: Option<i64>,
    pub cache_read_tokens: Option<i64>,
    pub cache_write_tokens: Option<i64>,
    /// Output tokens (reasoning included).
    pub output_tokens: Option<i64>,
    pub reasoning_tokens: Option<i64>,
    pub total_tokens: Option<i64>,
    /// Mean latency of the calls that reported one.
    pub avg_latency_ms: Option<i64>,
    #[serde(skip)]
    pub metrics: Metrics,
}

/// A Customers, Products or Agents report.
#[derive(Clone, Debug, Serialize)]
pub struct AttributionReport {
    #[serde(flatten)]
    pub header: Header,
    /// `customer`, `product` or `agent`.
    pub attribution: &'static str,
    /// Whether the organization has metered any call yet (otherwise the page explains how).
    pub has_metered_calls: bool,
    /// The first metered day.
    pub metering_since: Option<Day>,
    pub total_calls: i64,
    pub failed_calls: i64,
    pub error_share_pct: Option<Decimal>,
    pub unpriced_calls: i64,
    pub usage_unknown_calls: i64,
    pub avg_cost_per_call: Option<Money>,
    pub input_tokens: Option<i64>,
    pub output_tokens: Option<i64>,
    pub total_tokens: Option<i64>,
    /// The providers and models of the organization's metered calls (the filters' choices).
    pub providers: Vec<String>,
    pub models: Vec<String>,
    pub rows: Vec<AttributionRow>,
}

/// `part` of `whole` in percent, to one decimal (`None` for an empty whole).
fn share_of(part: i64, whole: i64) -> Option<Decimal> {
    percent(Money::from_nanos(part), Money::from_nanos(whole))
}

/// Cost per priced call, exact to the nano-dollar.
pub fn avg_cost_per_call(cost: Money, calls: i64, unpriced: i64) -> Option<Money> {
    let priced = calls - unpriced;
    if priced <= 0 {
        return None;
    }
    cost.scaled(1, i128::from(priced))
}

/// Whether metering covers all of the previous period.
fn covered(first: Option<Day>, previous: DayRange) -> bool {
    first.is_some_and(|first| first <= previous.from())
}

/// A row from one value's rolled-up totals.
pub fn row_of(
    totals: &AttributionTotals,
    first_day: Option<Day>,
    previous_period: DayRange,
) -> AttributionRow {
    let (current, previous): (&Rolled, &Rolled) = (&totals.current, &totals.previous);
    let t = &current.totals;
    let x = |index: usize| current.extra[index];
    let calls = t.requests;
    let unknown = t.requests_unknown;
    let known = |n: i64| (calls > unknown).then_some(n);
    // The meter rollup keeps uncached input apart from cache reads and writes; the views'
    // input counts all three.
    let input = t.input_tokens + t.cache_read_tokens + t.cache_write_tokens;
    let view_totals = Totals {
        input_tokens: input,
        ..*t
    };
    let mut metrics = Metrics::new(
        &view_totals,
        spendlens_store::Prior {
            cost: previous.totals.cost,
            ..Default::default()
        },
    );
    metrics.requests = Some(calls);
    metrics.history_from = first_day;
    if metrics.trend != Trend::None && !covered(first_day, previous_period) {
        metrics.trend = Trend::NoHistory;
        metrics.trend_pct = None;
    }
    let latency_known = x(meter_extra::LATENCY_KNOWN);
    AttributionRow {
        label: totals
            .value
            .clone()
            .unwrap_or_else(|| NONE_LABEL.to_owned()),
        name: totals.value.clone(),
        cost: metrics.cost,
        previous_cost: metrics.previous_cost,
        trend_pct: metrics.trend_pct,
        trend: metrics.trend,
        share_pct: None,
        history_from: first_day,
        calls,
        failed_calls: x(meter_extra::FAILED),
        error_share_pct: share_of(x(meter_extra::FAILED), calls),
        unpriced_calls: x(meter_extra::UNPRICED),
        usage_unknown_calls: unknown,
        avg_cost_per_call: avg_cost_per_call(t.cost, calls, x(meter_extra::UNPRICED)),
        input_tokens: known(input),
        cache_read_tokens: known(t.cache_read_tokens),
        cache_write_tokens: known(t.cache_write_tokens),
        output_tokens: known(t.output_tokens),
        reasoning_tokens: known(x(meter_extra::REASONING_TOKENS)),
        total_tokens: known(input + t.output_tokens),
        avg_latency_ms: (latency_known > 0).then(|| x(meter_extra::LATENCY_MS_SUM) / latency_known),
        metrics,
    }
}

/// Sums of optional counts: unknown only when every part is.
fn sum_known(values: impl Iterator<Item = Option<i64>>) -> Option<i64> {
    values.fold(None, |sum, v| match (sum, v) {
        (None, v) => v,
        (s, None) => s,
        (Some(a), Some(b)) => Some(a.saturating_add(b)),
    })
}

fn compare_rows(column: &str, a: &AttributionRow, b: &AttributionRow) -> Ordering {
    match column {
        "customer" | "product" | "agent" => (a.name.is_none(), a.label.to_lowercase(), &a.label)
            .cmp(&(b.name.is_none(), b.label.to_lowercase(), &b.label)),
        "calls" => a.calls.cmp(&b.calls),
        "unpriced" => a.unpriced_calls.cmp(&b.unpriced_calls),
        "tokens" => compare_opt(&a.total_tokens, &b.total_tokens),
        "avg_cost_per_call" => compare_opt(&a.avg_cost_per_call, &b.avg_cost_per_call),
        "error_share" => compare_opt(&a.error_share_pct, &b.error_share_pct),
        _ => compare_metrics(column, &a.metrics, &b.metrics).unwrap_or(Ordering::Equal),
    }
}

/// Rows filtered, shared and sorted as the query asks, and the report around them.
pub fn assemble(
    query: &ViewQuery,
    attribution: Attribution,
    totals: &[AttributionTotals],
    facets: spendlens_store::MeterFacets,
) -> AttributionReport {
    let mut rows: Vec<AttributionRow> = totals
        .iter()
        .map(|t| row_of(t, facets.first_day, query.previous))
        .filter(|row| query.cost_in_range(row.cost) && query.matches_search(&[row.label.as_str()]))
        .collect();
    let total: Money = rows.iter().map(|r| r.cost).sum();
    set_shares(rows.iter_mut().map(|r| &mut r.metrics), total);
    for row in &mut rows {
        row.share_pct = row.metrics.share_pct;
    }
    let column = query.sort.as_str();
    finish_sort(&mut rows, column, query.descending, |a, b| {
        compare_rows(column, a, b).then_with(|| a.name.cmp(&b.name))
    });
    let header = Header::new(query, &rows.iter().map(|r| &r.metrics).collect::<Vec<_>>());
    let sum = |f: fn(&AttributionRow) -> i64| rows.iter().map(f).sum::<i64>();
    let (calls, failed, unpriced) = (
        sum(|r| r.calls),
        sum(|r| r.failed_calls),
        sum(|r| r.unpriced_calls),
    );
    AttributionReport {
        attribution: attribution.as_str(),
        has_metered_calls: facets.first_day.is_some(),
        metering_since: facets.first_day,
        total_calls: calls,
        failed_calls: failed,
        error_share_pct: share_of(failed, calls),
        unpriced_calls: unpriced,
        usage_unknown_calls: sum(|r| r.usage_unknown_calls),
        avg_cost_per_call: avg_cost_per_call(header.total_cost, calls, unpriced),
        input_tokens: sum_known(rows.iter().map(|r| r.input_tokens)),
        output_tokens: sum_known(rows.iter().map(|r| r.output_tokens)),
        total_tokens: sum_known(rows.iter().map(|r| r.total_tokens)),
        providers: facets.providers,
        models: facets.models,
        header,
        rows,
    }
}

/// The Customers, Products or Agents report a query asks for.
pub async fn report(
    store: &Store,
    org: OrgId,
    query: &ViewQuery,
) -> Result<AttributionReport, QueryError> {
    let attribution = query.view.attribution().ok_or_else(|| {
        QueryError::Invalid(format!(
            "{} is not an attribution view",
            query.view.as_str()
        ))
    })?;
    let filter = MeterFilter {
        providers: (!query.meter_providers.is_empty()).then(|| query.meter_providers.clone()),
        models: (!query.models.is_empty()).then(|| query.models.clone()),
    };
    let facets = store.meter_facets(org).await?;
    let totals = if facets.first_day.is_some() {
        store
            .meter_totals_by(
                org,
                attribution,
                query.period,
                Some(query.previous),
                &filter,
            )
            .await?
    } else {
        Vec::new()
    };
    Ok(assemble(query, attribution, &totals, facets))
}

#[cfg(test)]
#[path = "attribution_tests.rs"]
mod tests;
