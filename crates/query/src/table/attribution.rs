//! The attribution views' columns (Customers, Products, Agents), declared once like every
//! other view's: CSV carries them all in this order, the dashboard and the terminal pick theirs.

use super::columns::{column, common, name};
use super::{Column, ColumnId, Kind, Row, Sheet, Total, Value};
use crate::attribution::{AttributionReport, AttributionRow};
use crate::params::View;
use crate::views::Metrics;

impl Row for AttributionRow {
    fn metrics(&self) -> &Metrics {
        &self.metrics
    }
}

const HTML: &[ColumnId] = &[
    ColumnId::Attribution,
    ColumnId::Cost,
    ColumnId::UnpricedCalls,
    ColumnId::Calls,
    ColumnId::AvgCostPerCall,
    ColumnId::ErrorShare,
    ColumnId::InputTokens,
    ColumnId::OutputTokens,
    ColumnId::PreviousCost,
    ColumnId::Trend,
    ColumnId::Share,
];

const CLI: &[ColumnId] = &[
    ColumnId::Attribution,
    ColumnId::Cost,
    ColumnId::UnpricedCalls,
    ColumnId::Calls,
    ColumnId::AvgCostPerCall,
    ColumnId::ErrorShare,
    ColumnId::Tokens,
    ColumnId::PreviousCost,
    ColumnId::Trend,
    ColumnId::Share,
];

fn count(
    id: ColumnId,
    title: &'static str,
    sort: Option<&'static str>,
    unit: &'static str,
    total: Total,
    value: fn(&AttributionRow) -> Value,
) -> Column<AttributionRow> {
    column(
        id,
        title,
        Some(title),
        Kind::Count,
        sort,
        unit,
        total,
        value,
    )
}

fn pick(id: ColumnId) -> Option<Column<AttributionRow>> {
    common::<AttributionRow>()
        .into_iter()
        .find(|c| c.spec.id == id)
}

fn columns(view: View, r: &AttributionReport) -> Vec<Column<AttributionRow>> {
    let (title, sort) = match view {
        View::Products => ("Product", "product"),
        View::Agents => ("Agent", "agent"),
        _ => ("Customer", "customer"),
    };
    let mut columns = vec![
        name(
            ColumnId::Attribution,
            title,
            title,
            sort,
            |r: &AttributionRow| Value::Text(r.label.clone()),
        ),
        column(
            ColumnId::Attributed,
            "Attributed",
            Some("Attributed"),
            Kind::Text,
            None,
            "",
            Total::Empty,
            |r: &AttributionRow| Value::Text(if r.name.is_some() { "yes" } else { "no" }.into()),
        ),
    ];
    columns.extend(pick(ColumnId::Cost));
    columns.extend([
        count(
            ColumnId::UnpricedCalls,
            "Unpriced calls",
            Some("unpriced"),
            "calls",
            Total::Sum,
            |r| Value::Count(Some(r.unpriced_calls)),
        ),
        count(
            ColumnId::Calls,
            "Calls",
            Some("calls"),
            "calls",
            Total::Sum,
            |r| Value::Count(Some(r.calls)),
        ),
        count(
            ColumnId::FailedCalls,
            "Failed calls",
            None,
            "calls",
            Total::Sum,
            |r| Value::Count(Some(r.failed_calls)),
        ),
        column(
            ColumnId::ErrorShare,
            "Error share",
            Some("Error share"),
            Kind::Percent,
            Some("error_share"),
            "% of calls failed",
            Total::Whole(Value::Percent(r.error_share_pct)),
            |r: &AttributionRow| Value::Percent(r.error_share_pct),
        ),
        column(
            ColumnId::AvgCostPerCall,
            "Avg cost/call",
            Some("Avg cost/call"),
            Kind::Money,
            Some("avg_cost_per_call"),
            "USD per priced call",
            Total::Whole(Value::Rate(r.avg_cost_per_call)),
            |r: &AttributionRow| Value::Rate(r.avg_cost_per_call),
        ),
        count(
            ColumnId::InputTokens,
            "Input tokens",
            None,
            "tokens",
            Total::Whole(Value::Count(r.input_tokens)),
            |r| Value::Count(r.input_tokens),
        ),
        count(
            ColumnId::OutputTokens,
            "Output tokens",
            None,
            "tokens",
            Total::Whole(Value::Count(r.output_tokens)),
            |r| Value::Count(r.output_tokens),
        ),
        count(
            ColumnId::Tokens,
            "Tokens",
            Some("tokens"),
            "tokens",
            Total::Whole(Value::Count(r.total_tokens)),
            |r| Value::Count(r.total_tokens),
        ),
        count(
            ColumnId::UsageUnknown,
            "Calls without usage",
            None,
            "calls",
            Total::Sum,
            |r| Value::Count(Some(r.usage_unknown_calls)),
        ),
    ]);
    for id in [ColumnId::PreviousCost, ColumnId::Trend, ColumnId::Share] {
        columns.extend(pick(id));
    }
    columns
}

/// The sheet of a Customers, Products or Agents report.
pub fn sheet(r: &AttributionReport) -> Sheet {
    let view = r.header.view;
    Sheet::new(view, columns(view, r), &r.rows, HTML, CLI)
}
