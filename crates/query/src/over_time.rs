//! Spend over time: a view's cost per day (per week for periods longer than
//! [`WEEKLY_AFTER_DAYS`]), one stack per row of the view — provider, workspace, key, model or
//! customer/product/agent — read from the same rollups and filters as the view's totals.
//!
//! Only rows the report shows are stacked (search and cost bounds hide the same rows from
//! the chart as from the table), so the stacks of all buckets add up to the report's total
//! cost, exactly. The Images panel has its own chart, stacked by model.

use std::collections::HashMap;

use spendlens_domain::{Day, DayRange, Money, ProviderKind};
use spendlens_store::{ApiKeyId, DailyBy, DailyCost, MeterFilter, OrgId, RollupFilter, Store};

use crate::QueryError;
use crate::params::ViewQuery;
use crate::views::{Catalog, ImagesSummary, KeyViewRow, Report};

/// Periods longer than this many days are charted by week.
pub const WEEKLY_AFTER_DAYS: i64 = 62;

/// What a stack is: the filter that shows only it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Target {
    Provider(ProviderKind),
    Workspace(String),
    Key(ApiKeyId),
    /// Spend no key carries, of one provider and workspace.
    Keyless {
        provider: ProviderKind,
        workspace: String,
    },
    /// A model (per unit: a model billed in tokens and in images is two rows).
    Model {
        provider: ProviderKind,
        model: String,
        unit: String,
    },
    /// A customer, product or agent (`None`: calls sent without one).
    Attribution(Option<String>),
}

/// One row's cost in each bucket.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stack {
    pub target: Target,
    pub label: String,
    pub amounts: Vec<Money>,
    pub total: Money,
}

/// The rows of a chart not read one by one, together: each bucket's cost of every row less
/// the stacks drawn apart.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Other {
    /// How many rows with spend in the period it holds.
    pub rows: usize,
    pub amounts: Vec<Money>,
}

impl Other {
    /// Its cost over the period.
    pub fn total(&self) -> Money {
        self.amounts.iter().copied().sum()
    }
}

/// A chart's buckets and stacks (largest total first), and the rest together when only the
/// largest rows were read apart.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OverTime {
    pub weekly: bool,
    pub buckets: Vec<DayRange>,
    pub stacks: Vec<Stack>,
    pub other: Option<Other>,
}

impl OverTime {
    /// The cost of every stack (and of the rest) in bucket `index`.
    pub fn bucket_total(&self, index: usize) -> Money {
        self.stacks_total(index)
            + self
                .other
                .as_ref()
                .and_then(|o| o.amounts.get(index))
                .copied()
                .unwrap_or(Money::ZERO)
    }

    /// The cost of the stacks apart in bucket `index`.
    fn stacks_total(&self, index: usize) -> Money {
        self.stacks
            .iter()
            .filter_map(|s| s.amounts.get(index))
            .copied()
            .sum()
    }

    /// The cost of every stack (and of the rest) over the period.
    pub fn total(&self) -> Money {
        self.stacks.iter().map(|s| s.total).sum::<Money>()
            + self.other.as_ref().map_or(Money::ZERO, Other::total)
    }
}

/// Sums `points` into the buckets of `period`, for the targets in `shown` (with their labels).
pub fn assemble(
    period: DayRange,
    shown: Vec<(Target, String)>,
    points: impl IntoIterator<Item = (Target, Day, Money)>,
) -> OverTime {
    let weekly = period.len_days() > WEEKLY_AFTER_DAYS;
    let size: i64 = if weekly { 7 } else { 1 };
    let buckets = period.chunks(size);
    let mut stacks: Vec<Stack> = Vec::new();
    let mut index: HashMap<Target, usize> = HashMap::new();
    for (target, label) in shown {
        if index.contains_key(&target) {
            continue;
        }
        index.insert(target.clone(), stacks.len());
        stacks.push(Stack {
            target,
            label,
            amounts: vec![Money::ZERO; buckets.len()],
            total: Money::ZERO,
        });
    }
    for (target, day, cost) in points {
        let Some(stack) = index.get(&target).and_then(|i| stacks.get_mut(*i)) else {
            continue;
        };
        if let Some(amount) = bucket_of(period, weekly, day).and_then(|b| stack.amounts.get_mut(b))
        {
            *amount += cost;
            stack.total += cost;
        }
    }
    stacks.retain(|s| s.amounts.iter().any(|a| !a.is_zero()));
    stacks.sort_by(|a, b| b.total.cmp(&a.total).then_with(|| a.label.cmp(&b.label)));
    OverTime {
        weekly,
        buckets,
        stacks,
        other: None,
    }
}

fn model_label(model: &str, unit: &str) -> String {
    if unit == "tokens" || unit.is_empty() {
        model.to_owned()
    } else {
        format!("{model} ({})", unit.replace('_', " "))
    }
}

/// The view's cost over time, stacked by its rows. A chart that draws the `top` largest rows
/// apart and the rest together may get only those stacks and [`OverTime::other`] (the Keys
/// view, whose rows can be thousands); either way its buckets add up to the report's total.
pub async fn over_time(
    store: &Store,
    org: OrgId,
    query: &ViewQuery,
    report: &Report,
    top: usize,
) -> Result<OverTime, QueryError> {
    let period = query.period;
    if let Report::Attribution(r) = report {
        let Some(by) = query.view.attribution() else {
            return Ok(assemble(period, Vec::new(), Vec::new()));
        };
        let filter = MeterFilter {
            providers: (!query.meter_providers.is_empty()).then(|| query.meter_providers.clone()),
            models: (!query.models.is_empty()).then(|| query.models.clone()),
        };
        let shown = r
            .rows
            .iter()
            .map(|row| (Target::Attribution(row.name.clone()), row.label.clone()))
            .collect();
        let points = store
            .meter_daily_cost(org, by, period, &filter)
            .await?
            .into_iter()
            .map(|(value, day, cost)| (Target::Attribution(value), day, cost));
        return Ok(assemble(period, shown, points));
    }
    let catalog = Catalog::load(store, org).await?;
    let filter = catalog.filter(query);
    if let Report::Keys(r) = report
        && let Some(chart) = keys_apart(store, org, query, &catalog, &filter, &r.rows, top).await?
    {
        return Ok(chart);
    }
    let (by, shown): (DailyBy, Vec<(Target, String)>) = match report {
        Report::Providers(r) => (
            DailyBy::Workspace,
            r.rows
                .iter()
                .map(|row| (Target::Provider(row.provider), row.provider_name.to_owned()))
                .collect(),
        ),
        Report::Workspaces(r) => (
            DailyBy::Workspace,
            r.rows
                .iter()
                .map(|row| {
                    (
                        Target::Workspace(row.workspace.clone()),
                        row.workspace.clone(),
                    )
                })
                .collect(),
        ),
        Report::Keys(r) => (DailyBy::Key, r.rows.iter().map(key_shown).collect()),
        Report::Models(r) => (
            DailyBy::Model,
            r.rows
                .iter()
                .map(|row| {
                    (
                        Target::Model {
                            provider: row.provider,
                            model: row.model.clone(),
                            unit: row.unit.as_str().to_owned(),
                        },
                        model_label(&row.model, row.unit.as_str()),
                    )
                })
                .collect(),
        ),
        // Answered above.
        Report::Attribution(_) => return Ok(assemble(period, Vec::new(), Vec::new())),
    };
    let daily = store.daily_cost(org, by, period, &filter).await?;
    let points = daily.into_iter().filter_map(|d| {
        let provider = catalog.provider(d.connection_id)?;
        let target = match report {
            Report::Providers(_) => Target::Provider(provider),
            Report::Workspaces(_) => {
                Target::Workspace(catalog.workspace_name(d.workspace_id, d.connection_id))
            }
            Report::Keys(_) => key_target(&catalog, provider, &d),
            _ => Target::Model {
                provider,
                model: d.model,
                unit: d.unit,
            },
        };
        Some((target, d.day, d.cost))
    });
    Ok(assemble(period, shown, points))
}

/// A Keys view row's stack and label.
fn key_shown(row: &KeyViewRow) -> (Target, String) {
    match row.key_id {
        Some(id) => (Target::Key(id), row.key_name.clone()),
        None => {
            let workspace = row.workspace.clone().unwrap_or_default();
            (
                Target::Keyless {
                    provider: row.provider,
                    workspace: workspace.clone(),
                },
                format!("(no API key) {workspace}"),
            )
        }
    }
}

/// The stack a day of a key series belongs to.
fn key_target(catalog: &Catalog, provider: ProviderKind, d: &DailyCost) -> Target {
    match d.api_key_id {
        Some(id) => Target::Key(id),
        None => Target::Keyless {
            provider,
            workspace: catalog.workspace_name(d.workspace_id, d.connection_id),
        },
    }
}

/// The Keys view's chart from the series of the rows it draws apart, not every key's: the
/// `top` rows with the largest cost (ties by label, as [`assemble`] orders stacks) read day by
/// day, and the rest as each day's cost of every line less theirs. With no more rows than
/// `top`, only the rows shown are read. `None` (read every series) when the rows do not
/// account for every line the filter admits — a search or cost bound hides some — or when
/// a stack read apart does not add up to its row.
async fn keys_apart(
    store: &Store,
    org: OrgId,
    query: &ViewQuery,
    catalog: &Catalog,
    filter: &RollupFilter,
    rows: &[KeyViewRow],
    top: usize,
) -> Result<Option<OverTime>, QueryError> {
    let period = query.period;
    let mut ranked: Vec<(&KeyViewRow, Target, String)> = rows
        .iter()
        .filter(|row| !row.metrics.cost.is_zero())
        .map(|row| {
            let (target, label) = key_shown(row);
            (row, target, label)
        })
        .collect();
    ranked.sort_by(|a, b| {
        b.0.metrics
            .cost
            .cmp(&a.0.metrics.cost)
            .then_with(|| a.2.cmp(&b.2))
    });
    let few = rows.len() <= top;
    let apart = if few {
        &ranked[..]
    } else {
        &ranked[..top.min(ranked.len())]
    };
    let rest = &ranked[apart.len()..];
    let mut keys: Vec<Option<ApiKeyId>> = apart.iter().map(|(row, _, _)| row.key_id).collect();
    keys.sort_unstable();
    keys.dedup();
    let daily = if keys.is_empty() {
        Vec::new()
    } else {
        store.daily_cost_of_keys(org, period, filter, &keys).await?
    };
    let points = daily.into_iter().filter_map(|d| {
        let provider = catalog.provider(d.connection_id)?;
        Some((key_target(catalog, provider, &d), d.day, d.cost))
    });
    let shown = apart
        .iter()
        .map(|(_, t, l)| (t.clone(), l.clone()))
        .collect();
    let mut chart = assemble(period, shown, points);
    // Each stack read apart adds up to its row (the same rollup, over the same days).
    let costs: HashMap<&Target, Money> = apart
        .iter()
        .map(|(row, target, _)| (target, row.metrics.cost))
        .collect();
    if chart.stacks.len() != apart.len()
        || chart
            .stacks
            .iter()
            .any(|s| costs.get(&s.target) != Some(&s.total))
    {
        return Ok(None);
    }
    if few {
        return Ok(Some(chart));
    }
    // The rest: every line's cost per bucket, less the stacks apart, once the lines are
    // known to be exactly the rows'.
    let mut amounts = vec![Money::ZERO; chart.buckets.len()];
    for (day, cost) in store.daily_total_cost(org, period, filter).await? {
        if let Some(amount) = bucket_of(period, chart.weekly, day).and_then(|b| amounts.get_mut(b))
        {
            *amount += cost;
        }
    }
    let rows_total: Money = rows.iter().map(|row| row.metrics.cost).sum();
    if amounts.iter().copied().sum::<Money>() != rows_total {
        return Ok(None);
    }
    for (b, amount) in amounts.iter_mut().enumerate() {
        *amount = *amount - chart.stacks_total(b);
    }
    let spent = amounts.iter().any(|a| !a.is_zero());
    if rest.is_empty() {
        // No other row has spend: nothing may be left over.
        return Ok((!spent).then_some(chart));
    }
    chart.other = Some(Other {
        rows: rest.len(),
        amounts,
    });
    Ok(Some(chart))
}

/// The index of the bucket of `period` (of days, or weeks when `weekly`) holding `day`, if the
/// period holds it.
fn bucket_of(period: DayRange, weekly: bool, day: Day) -> Option<usize> {
    if !period.contains(day) {
        return None;
    }
    let size: i64 = if weekly { 7 } else { 1 };
    let from = i64::from(period.from().number());
    usize::try_from((i64::from(day.number()) - from) / size).ok()
}

/// The Images panel's cost over time, stacked by model.
pub async fn images_over_time(
    store: &Store,
    org: OrgId,
    query: &ViewQuery,
    images: &ImagesSummary,
) -> Result<OverTime, QueryError> {
    let catalog = Catalog::load(store, org).await?;
    let target = |provider: ProviderKind, model: &str| Target::Model {
        provider,
        model: model.to_owned(),
        unit: "images".to_owned(),
    };
    let shown = images
        .rows
        .iter()
        .map(|row| (target(row.provider, &row.model), row.model.clone()))
        .collect();
    let daily = store
        .daily_cost(org, DailyBy::Image, query.period, &catalog.filter(query))
        .await?;
    let points = daily.into_iter().filter_map(|d| {
        let provider = catalog.provider(d.connection_id)?;
        Some((target(provider, &d.model), d.day, d.cost))
    });
    Ok(assemble(query.period, shown, points))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> Day {
        text.parse().unwrap()
    }

    #[test]
    fn long_periods_are_weekly_and_stacks_add_up() {
        let period = DayRange::new(day("2026-09-01"), day("2026-11-29")).unwrap();
        let a = Target::Workspace("a".into());
        let b = Target::Workspace("b".into());
        let hidden = Target::Workspace("hidden".into());
        let chart = assemble(
            period,
            vec![(a.clone(), "a".into()), (b.clone(), "b".into())],
            vec![
                (a.clone(), day("2026-09-01"), Money::from_nanos(5)),
                (a.clone(), day("2026-09-07"), Money::from_nanos(7)),
                (b.clone(), day("2026-09-08"), Money::from_nanos(100)),
                (hidden, day("2026-09-08"), Money::from_nanos(1_000)),
                (a, day("2026-11-29"), Money::from_nanos(1)),
            ],
        );
        assert!(chart.weekly);
        assert_eq!(chart.buckets.len(), 13);
        assert_eq!(chart.stacks[0].label, "b", "largest first");
        assert_eq!(chart.stacks[1].amounts[0], Money::from_nanos(12));
        assert_eq!(chart.stacks[1].amounts[12], Money::from_nanos(1));
        assert_eq!(chart.bucket_total(1), Money::from_nanos(100));
        assert_eq!(chart.total(), Money::from_nanos(113));
    }

    #[test]
    fn a_month_is_daily_and_idle_rows_are_left_out() {
        let period = DayRange::new(day("2026-11-01"), day("2026-11-30")).unwrap();
        let chart = assemble(
            period,
            vec![(Target::Attribution(None), "(none)".into())],
            Vec::new(),
        );
        assert!(!chart.weekly);
        assert_eq!(chart.buckets.len(), 30);
        assert!(chart.stacks.is_empty());
    }
}
