//! Each view's columns, declared once: the CSV carries them in this order, the dashboard and
//! the terminal pick theirs by [`ColumnId`].

use spendlens_domain::Money;

use super::{Column, ColumnId, Kind, Row, Sheet, Spec, Total, Value};
use crate::params::View;
use crate::views::{KeyViewRow, Metrics, ModelViewRow, ProviderRow, Report, WorkspaceViewRow};

impl Row for ProviderRow {
    fn metrics(&self) -> &Metrics {
        &self.metrics
    }
}

impl Row for WorkspaceViewRow {
    fn metrics(&self) -> &Metrics {
        &self.metrics
    }
}

impl Row for KeyViewRow {
    fn metrics(&self) -> &Metrics {
        &self.metrics
    }
}

impl Row for ModelViewRow {
    fn metrics(&self) -> &Metrics {
        &self.metrics
    }
}

#[expect(
    clippy::too_many_arguments,
    reason = "a column's description is its fields"
)]
pub(super) fn column<R>(
    id: ColumnId,
    title: &'static str,
    csv: Option<&'static str>,
    kind: Kind,
    sort: Option<&'static str>,
    unit: &'static str,
    total: Total,
    value: fn(&R) -> Value,
) -> Column<R> {
    Column {
        spec: Spec {
            id,
            title,
            csv,
            kind,
            sort,
            unit,
            total,
        },
        value,
    }
}

/// A text column (title and CSV name alike) whose total cell is empty.
fn text<R>(
    id: ColumnId,
    title: &'static str,
    sort: Option<&'static str>,
    value: fn(&R) -> Value,
) -> Column<R> {
    column(
        id,
        title,
        Some(title),
        Kind::Text,
        sort,
        "",
        Total::Empty,
        value,
    )
}

/// The leading name column, whose total cell carries the row label.
pub(super) fn name<R>(
    id: ColumnId,
    title: &'static str,
    csv: &'static str,
    sort: &'static str,
    value: fn(&R) -> Value,
) -> Column<R> {
    column(
        id,
        title,
        Some(csv),
        Kind::Text,
        Some(sort),
        "",
        Total::Label,
        value,
    )
}

fn money_sum<R>(
    id: ColumnId,
    title: &'static str,
    csv: &'static str,
    sort: &'static str,
    value: fn(&R) -> Value,
) -> Column<R> {
    column(
        id,
        title,
        Some(csv),
        Kind::Money,
        Some(sort),
        "USD",
        Total::Sum,
        value,
    )
}

/// Cost, credits, net cost, previous cost, trend, share, tokens and requests: every view's.
pub(super) fn common<R: Row>() -> Vec<Column<R>> {
    vec![
        money_sum(ColumnId::Cost, "Cost", "Cost", "cost", |r: &R| {
            cost_or_unpriced(r.metrics(), r.metrics().cost)
        }),
        money_sum(
            ColumnId::Credits,
            "Credits",
            "Credits",
            "credits",
            |r: &R| Value::Money(r.metrics().credits),
        ),
        money_sum(
            ColumnId::NetCost,
            "Net cost",
            "Net cost",
            "net_cost",
            |r: &R| cost_or_unpriced(r.metrics(), r.metrics().net_cost),
        ),
        money_sum(
            ColumnId::PreviousCost,
            "Previous",
            "Previous cost",
            "previous_cost",
            |r: &R| {
                if r.metrics().previous_cost_unknown {
                    Value::Unpriced
                } else {
                    Value::Money(r.metrics().previous_cost)
                }
            },
        ),
        column(
            ColumnId::Trend,
            "Trend",
            Some("Trend %"),
            Kind::Trend,
            Some("trend"),
            "% change",
            Total::Trend,
            |r: &R| Value::Trend(r.metrics().trend, r.metrics().trend_pct),
        ),
        column(
            ColumnId::Share,
            "Share",
            Some("Share"),
            Kind::Percent,
            Some("share"),
            "% of total cost",
            Total::Share,
            |r: &R| Value::Percent(r.metrics().share_pct),
        ),
        column(
            ColumnId::InputTokens,
            "Input tokens",
            Some("Input tokens"),
            Kind::Count,
            None,
            "tokens",
            Total::Sum,
            |r: &R| tokens(r.metrics(), r.metrics().input_tokens),
        ),
        column(
            ColumnId::OutputTokens,
            "Output tokens",
            Some("Output tokens"),
            Kind::Count,
            None,
            "tokens",
            Total::Sum,
            |r: &R| tokens(r.metrics(), r.metrics().output_tokens),
        ),
        column(
            ColumnId::Tokens,
            "Tokens",
            Some("Tokens"),
            Kind::Count,
            Some("tokens"),
            "tokens",
            Total::Sum,
            |r: &R| tokens(r.metrics(), r.metrics().total_tokens),
        ),
        column(
            ColumnId::Requests,
            "Requests",
            Some("Requests"),
            Kind::Count,
            Some("requests"),
            "requests",
            Total::Sum,
            |r: &R| Value::Count(r.metrics().requests),
        ),
        column(
            ColumnId::Usage,
            "Requests",
            Some("Usage"),
            Kind::Usage,
            Some("requests"),
            "requests, or the provider's own unit of work",
            Total::Sum,
            |r: &R| {
                let m = r.metrics();
                if m.idle_without_count() {
                    Value::Idle
                } else {
                    Value::Usage(m.usage.clone())
                }
            },
        ),
        column(
            ColumnId::UnpricedRequests,
            "Unpriced",
            Some("Unpriced requests"),
            Kind::Count,
            None,
            "requests whose usage has no known price (their cost is not in Cost)",
            Total::Sum,
            |r: &R| {
                let m = r.metrics();
                if m.unpriced_lines > 0 {
                    Value::Count(Some(m.unpriced_requests))
                } else {
                    Value::Empty
                }
            },
        ),
    ]
}

/// A row's tokens, or "does not apply" when the row has work but none of it in tokens (images,
/// seconds, credits).
fn tokens(metrics: &Metrics, count: i64) -> Value {
    if metrics.total_tokens == 0 && (!metrics.cost.is_zero() || metrics.unpriced_lines > 0) {
        Value::NotApplicable
    } else {
        Value::Count(Some(count))
    }
}

/// A row's cost, or "unpriced" when all of its usage has no known price (unknown, not $0).
fn cost_or_unpriced(metrics: &Metrics, amount: Money) -> Value {
    if metrics.cost_unknown {
        Value::Unpriced
    } else {
        Value::Money(amount)
    }
}

fn with_common<R: Row>(lead: Vec<Column<R>>, tail: Vec<Column<R>>) -> Vec<Column<R>> {
    let mut columns = lead;
    columns.extend(common());
    columns.extend(tail);
    columns
}

fn rate<R>(
    id: ColumnId,
    title: &'static str,
    csv: &'static str,
    sort: Option<&'static str>,
    unit: &'static str,
    total: Total,
    value: fn(&R) -> Value,
) -> Column<R> {
    column(id, title, Some(csv), Kind::Money, sort, unit, total, value)
}

const PROVIDERS_HTML: &[ColumnId] = &[
    ColumnId::Provider,
    ColumnId::Cost,
    ColumnId::Share,
    ColumnId::Credits,
    ColumnId::NetCost,
    ColumnId::PreviousCost,
    ColumnId::Trend,
    ColumnId::InputTokens,
    ColumnId::OutputTokens,
    ColumnId::Usage,
    ColumnId::UnpricedRequests,
    ColumnId::Coverage,
];
const PROVIDERS_CLI: &[ColumnId] = &[
    ColumnId::Provider,
    ColumnId::Cost,
    ColumnId::Credits,
    ColumnId::NetCost,
    ColumnId::PreviousCost,
    ColumnId::Trend,
    ColumnId::Share,
    ColumnId::Tokens,
    ColumnId::Usage,
    ColumnId::UnpricedRequests,
    ColumnId::Coverage,
];

fn providers() -> Vec<Column<ProviderRow>> {
    with_common(
        vec![name(
            ColumnId::Provider,
            "Provider",
            "Provider",
            "provider",
            |r: &ProviderRow| Value::Text(r.provider_name.to_owned()),
        )],
        vec![
            text(
                ColumnId::Connections,
                "Connections",
                None,
                |r: &ProviderRow| Value::Text(r.connections.join("; ")),
            ),
            column(
                ColumnId::Coverage,
                "Coverage",
                Some("Coverage %"),
                Kind::Percent,
                Some("coverage"),
                "% of billed spend metered",
                Total::Empty,
                |r: &ProviderRow| Value::Percent(r.coverage_pct),
            ),
        ],
    )
}

const WORKSPACES_HTML: &[ColumnId] = &[
    ColumnId::Workspace,
    ColumnId::Provider,
    ColumnId::Cost,
    ColumnId::Credits,
    ColumnId::NetCost,
    ColumnId::Share,
    ColumnId::Usage,
    ColumnId::Tokens,
    ColumnId::PreviousCost,
    ColumnId::Trend,
    ColumnId::Coverage,
];
const WORKSPACES_CLI: &[ColumnId] = &[
    ColumnId::Workspace,
    ColumnId::Provider,
    ColumnId::Cost,
    ColumnId::Share,
    ColumnId::PreviousCost,
    ColumnId::Trend,
    ColumnId::Tokens,
    ColumnId::Usage,
    ColumnId::Coverage,
];

fn workspaces() -> Vec<Column<WorkspaceViewRow>> {
    let mut columns = with_common(
        vec![
            name(
                ColumnId::Workspace,
                "Name",
                "Workspace",
                "workspace",
                |r: &WorkspaceViewRow| Value::Text(r.workspace.clone()),
            ),
            text(
                ColumnId::Provider,
                "Provider",
                Some("provider"),
                |r: &WorkspaceViewRow| Value::Text(r.provider.clone()),
            ),
        ],
        vec![column(
            ColumnId::Coverage,
            "Coverage",
            Some("Coverage %"),
            Kind::Percent,
            Some("coverage"),
            "% of billed spend metered",
            Total::Empty,
            |r: &WorkspaceViewRow| Value::Percent(r.coverage_pct),
        )],
    );
    rename(&mut columns, ColumnId::Share, "% of total");
    columns
}

const KEYS_HTML: &[ColumnId] = &[
    ColumnId::KeyName,
    ColumnId::Provider,
    ColumnId::Status,
    ColumnId::Cost,
    ColumnId::Credits,
    ColumnId::NetCost,
    ColumnId::Tokens,
    ColumnId::Usage,
    ColumnId::CostPer1M,
    ColumnId::PreviousCost,
    ColumnId::Trend,
    ColumnId::Coverage,
];
const KEYS_CLI: &[ColumnId] = &[
    ColumnId::KeyName,
    ColumnId::Workspace,
    ColumnId::KeyHint,
    ColumnId::Provider,
    ColumnId::Status,
    ColumnId::Cost,
    ColumnId::PreviousCost,
    ColumnId::Trend,
    ColumnId::Tokens,
    ColumnId::Usage,
    ColumnId::CostPer1M,
    ColumnId::Coverage,
];

fn keys(average_cost_per_1m: Option<Money>) -> Vec<Column<KeyViewRow>> {
    with_common(
        vec![
            name(
                ColumnId::KeyName,
                "Key name",
                "Key name",
                "key_name",
                |r: &KeyViewRow| Value::Text(r.key_name.clone()),
            ),
            text(
                ColumnId::Workspace,
                "Workspace",
                Some("workspace"),
                |r: &KeyViewRow| Value::Text(r.workspace.clone().unwrap_or_default()),
            ),
            text(ColumnId::KeyHint, "Key hint", None, |r: &KeyViewRow| {
                Value::Text(r.key_hint.clone().unwrap_or_default())
            }),
            text(
                ColumnId::Provider,
                "Provider",
                Some("provider"),
                |r: &KeyViewRow| Value::Text(r.provider.as_str().to_owned()),
            ),
            text(
                ColumnId::Status,
                "Status",
                Some("status"),
                |r: &KeyViewRow| Value::Text(r.status.clone()),
            ),
        ],
        vec![
            rate(
                ColumnId::CostPer1M,
                "Cost/1M",
                "Cost/1M tokens",
                Some("cost_per_1m"),
                "USD per 1M tokens",
                Total::Whole(Value::Rate(average_cost_per_1m)),
                |r: &KeyViewRow| Value::Rate(r.cost_per_1m),
            ),
            text(ColumnId::Allocated, "Allocated", None, |r: &KeyViewRow| {
                Value::Text(if r.allocated { "yes" } else { "no" }.to_owned())
            }),
            column(
                ColumnId::Coverage,
                "Coverage",
                Some("Coverage %"),
                Kind::Percent,
                Some("coverage"),
                "% of billed spend metered, on the days the bill is final",
                Total::Empty,
                |r: &KeyViewRow| Value::Percent(r.coverage_pct),
            ),
        ],
    )
}

const MODELS_HTML: &[ColumnId] = &[
    ColumnId::Model,
    ColumnId::Provider,
    ColumnId::CostPer1M,
    ColumnId::Cost,
    ColumnId::Credits,
    ColumnId::NetCost,
    ColumnId::Tokens,
    ColumnId::Usage,
    ColumnId::UnpricedRequests,
    ColumnId::AvgTokensPerRequest,
    ColumnId::PreviousCost,
    ColumnId::Trend,
    ColumnId::Coverage,
];
const MODELS_CLI: &[ColumnId] = &[
    ColumnId::Model,
    ColumnId::Provider,
    ColumnId::Cost,
    ColumnId::PreviousCost,
    ColumnId::Trend,
    ColumnId::Tokens,
    ColumnId::Usage,
    ColumnId::UnpricedRequests,
    ColumnId::CostPer1M,
    ColumnId::CostPerUnit,
    ColumnId::Unit,
    ColumnId::AvgTokensPerRequest,
    ColumnId::MostEfficient,
    ColumnId::Coverage,
];

fn models() -> Vec<Column<ModelViewRow>> {
    with_common(
        vec![
            name(
                ColumnId::Model,
                "Model",
                "Model",
                "model",
                |r: &ModelViewRow| Value::Text(r.model.clone()),
            ),
            text(
                ColumnId::Provider,
                "Provider",
                Some("provider"),
                |r: &ModelViewRow| Value::Text(r.provider.as_str().to_owned()),
            ),
            text(ColumnId::Category, "Category", None, |r: &ModelViewRow| {
                Value::Text(r.category.as_str().to_owned())
            }),
        ],
        vec![
            text(ColumnId::Unit, "Unit", None, |r: &ModelViewRow| {
                Value::Text(r.unit.as_str().to_owned())
            }),
            column(
                ColumnId::Quantity,
                "Quantity",
                Some("Quantity"),
                Kind::Count,
                None,
                "the row's unit",
                Total::Empty,
                |r: &ModelViewRow| {
                    if r.unit.is_tokens() {
                        Value::Empty
                    } else {
                        Value::Quantity(r.quantity)
                    }
                },
            ),
            rate(
                ColumnId::CostPer1M,
                "Cost/1M",
                "Cost/1M tokens",
                Some("cost_per_1m"),
                "USD per 1M tokens",
                Total::Empty,
                |r: &ModelViewRow| {
                    if r.unit.is_tokens() {
                        Value::Rate(r.cost_per_1m)
                    } else {
                        Value::Empty
                    }
                },
            ),
            rate(
                ColumnId::CostPerUnit,
                "Cost/unit",
                "Cost/unit",
                None,
                "USD per unit",
                Total::Empty,
                |r: &ModelViewRow| {
                    if r.unit.is_tokens() {
                        Value::Empty
                    } else {
                        Value::Rate(r.cost_per_unit)
                    }
                },
            ),
            column(
                ColumnId::AvgTokensPerRequest,
                "Avg tokens/req",
                Some("Avg tokens/req"),
                Kind::Count,
                Some("avg_tokens_per_request"),
                "tokens per request",
                Total::Empty,
                |r: &ModelViewRow| Value::Count(r.avg_tokens_per_request),
            ),
            text(
                ColumnId::MostEfficient,
                "Most efficient",
                None,
                |r: &ModelViewRow| Value::Text(if r.most_efficient { "★" } else { "" }.to_owned()),
            ),
            column(
                ColumnId::Coverage,
                "Coverage",
                Some("Coverage %"),
                Kind::Percent,
                Some("coverage"),
                "% of billed spend metered, on the days the bill is final",
                Total::Empty,
                |r: &ModelViewRow| Value::Percent(r.coverage_pct),
            ),
        ],
    )
}

fn rename<R>(columns: &mut [Column<R>], id: ColumnId, title: &'static str) {
    for column in columns.iter_mut().filter(|c| c.spec.id == id) {
        column.spec.title = title;
    }
}

/// The sheet of a report, from its view's columns.
pub fn sheet(report: &Report) -> Sheet {
    match report {
        Report::Providers(r) => Sheet::new(
            View::Providers,
            providers(),
            &r.rows,
            PROVIDERS_HTML,
            PROVIDERS_CLI,
        ),
        Report::Workspaces(r) => Sheet::new(
            View::Workspaces,
            workspaces(),
            &r.rows,
            WORKSPACES_HTML,
            WORKSPACES_CLI,
        ),
        Report::Keys(r) => Sheet::new(
            View::Keys,
            keys(r.average_cost_per_1m),
            &r.rows,
            KEYS_HTML,
            KEYS_CLI,
        ),
        Report::Models(r) => Sheet::new(View::Models, models(), &r.rows, MODELS_HTML, MODELS_CLI),
        Report::Attribution(r) => super::attribution::sheet(r),
    }
}
