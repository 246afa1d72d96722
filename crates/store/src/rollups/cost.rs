//! Cost lines on the rollup engine: the kinds sync writes with each window (workspace, key,
//! model, workspace × model, image work), the facts of a window's lines, and the store's read
//! API for the views (totals per connection, workspace, key and model; image totals).

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

use serde::Serialize;
use spendlens_domain::{Category, DayRange, Money, Quantity, Unit};

use super::{
    BucketSize, DimType, DimValue, Fact, Metrics, PeriodRow, RollupKind, SeriesFilter, SeriesKey,
};
use crate::cost_lines::ResolvedLine;
use crate::{
    ApiKeyId, ConnectionId, OrgId, RowExt, Store, StoreError, StoreResult, WorkspaceId, with_pool,
};

/// Sums over a set of cost lines.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Totals {
    pub cost: Money,
    pub credits: Money,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub cache_read_tokens: i64,
    pub cache_write_tokens: i64,
    /// Requests where known.
    pub requests: i64,
    /// Lines whose request count is unknown; when above zero, `requests` is incomplete.
    pub requests_unknown: i64,
    pub quantity: Quantity,
    pub lines: i64,
    /// Lines whose cost was spread from a coarser billed grain.
    pub allocated_lines: i64,
    /// Lines with usage no one has a price for: their cost is unknown, not `cost`.
    pub unpriced_lines: i64,
    /// The requests of those lines.
    pub unpriced_requests: i64,
}

impl Totals {
    pub fn net_cost(&self) -> Money {
        self.cost - self.credits
    }

    pub fn total_tokens(&self) -> i64 {
        self.input_tokens.saturating_add(self.output_tokens)
    }

    /// Requests, or `None` when any part is unknown.
    pub fn known_requests(&self) -> Option<i64> {
        (self.requests_unknown == 0).then_some(self.requests)
    }

    pub fn add(&mut self, other: &Totals) {
        self.cost += other.cost;
        self.credits += other.credits;
        self.input_tokens += other.input_tokens;
        self.output_tokens += other.output_tokens;
        self.cache_read_tokens += other.cache_read_tokens;
        self.cache_write_tokens += other.cache_write_tokens;
        self.requests += other.requests;
        self.requests_unknown += other.requests_unknown;
        self.quantity += other.quantity;
        self.lines += other.lines;
        self.allocated_lines += other.allocated_lines;
        self.unpriced_lines += other.unpriced_lines;
        self.unpriced_requests += other.unpriced_requests;
    }

    pub(crate) fn add_line(&mut self, line: &spendlens_domain::CostLine) {
        self.cost += line.cost;
        self.credits += line.credits;
        self.input_tokens += line.tokens.input;
        self.output_tokens += line.tokens.output;
        self.cache_read_tokens += line.tokens.cache_read;
        self.cache_write_tokens += line.tokens.cache_write;
        match line.requests {
            Some(requests) => self.requests += requests,
            None => self.requests_unknown += 1,
        }
        self.quantity += line.quantity;
        self.lines += 1;
        if line.allocated {
            self.allocated_lines += 1;
        }
        if line.unpriced {
            self.unpriced_lines += 1;
            self.unpriced_requests += line.requests.unwrap_or(0);
        }
    }
}

/// The previous period of a row: its cost, and whether that cost is known (a previous period
/// whose every line is unpriced has an unknown cost, not $0).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Prior {
    pub cost: Money,
    pub credits: Money,
    pub lines: i64,
    pub unpriced_lines: i64,
}

impl Prior {
    pub fn of(totals: &Totals) -> Prior {
        Prior {
            cost: totals.cost,
            credits: totals.credits,
            lines: totals.lines,
            unpriced_lines: totals.unpriced_lines,
        }
    }

    /// Every line of the period is unpriced and nothing was billed: the cost is unknown.
    pub fn cost_unknown(&self) -> bool {
        self.lines > 0
            && self.unpriced_lines == self.lines
            && self.cost.is_zero()
            && self.credits.is_zero()
    }
}

impl std::ops::AddAssign for Prior {
    fn add_assign(&mut self, other: Prior) {
        self.cost += other.cost;
        self.credits += other.credits;
        self.lines += other.lines;
        self.unpriced_lines += other.unpriced_lines;
    }
}

/// Which rows a view reads.
#[derive(Clone, Debug, Default)]
pub struct RollupFilter {
    /// Only these connections (`None`: all of the organization's).
    pub connections: Option<Vec<ConnectionId>>,
    /// Only these workspaces.
    pub workspaces: Option<Vec<WorkspaceId>>,
    /// Only this key (then the model view reads cost lines, which carry the key).
    pub api_key: Option<ApiKeyId>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ConnectionTotals {
    pub connection_id: ConnectionId,
    pub current: Totals,
    pub previous: Prior,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct WorkspaceTotals {
    pub connection_id: ConnectionId,
    pub workspace_id: Option<WorkspaceId>,
    pub current: Totals,
    pub previous: Prior,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct KeyTotals {
    pub connection_id: ConnectionId,
    pub workspace_id: Option<WorkspaceId>,
    pub api_key_id: Option<ApiKeyId>,
    pub current: Totals,
    pub previous: Prior,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ModelTotals {
    pub connection_id: ConnectionId,
    pub model: String,
    pub category: Category,
    pub unit: Unit,
    pub current: Totals,
    pub previous: Prior,
}

/// Image work of one (connection, model, size): count and money over a period.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ImageTotals {
    pub connection_id: ConnectionId,
    pub model: String,
    /// The size or resolution (`1024x1024`), empty when the provider gives none.
    pub detail: String,
    pub images: Quantity,
    pub cost: Money,
    pub credits: Money,
}

/// The extra metrics of every cost kind: lines with unpriced usage, and their requests.
const UNPRICED_EXTRA: &[&str] = &["unpriced_lines", "unpriced_requests"];

/// Per (connection, workspace): the Providers and Workspaces views.
pub(crate) const WORKSPACE: RollupKind = RollupKind {
    name: "cost.workspace",
    bucket: BucketSize::Day,
    dims: &[("workspace", DimType::Id)],
    extra: UNPRICED_EXTRA,
};

/// Per (connection, workspace, key): the Keys view.
pub(crate) const KEY: RollupKind = RollupKind {
    name: "cost.key",
    bucket: BucketSize::Day,
    dims: &[("workspace", DimType::Id), ("api_key", DimType::Id)],
    extra: UNPRICED_EXTRA,
};

/// Per (connection, model, category, unit): the Models view.
pub(crate) const MODEL: RollupKind = RollupKind {
    name: "cost.model",
    bucket: BucketSize::Day,
    dims: &[
        ("model", DimType::Text),
        ("category", DimType::Text),
        ("unit", DimType::Text),
    ],
    extra: UNPRICED_EXTRA,
};

/// Per (connection, workspace, model, category, unit): the models of some workspaces.
pub(crate) const WORKSPACE_MODEL: RollupKind = RollupKind {
    name: "cost.workspace_model",
    bucket: BucketSize::Day,
    dims: &[
        ("workspace", DimType::Id),
        ("model", DimType::Text),
        ("category", DimType::Text),
        ("unit", DimType::Text),
    ],
    extra: UNPRICED_EXTRA,
};

/// Image lines (category `image`, unit `images`) per (connection, workspace, key, model,
/// size): the Images panel.
pub(crate) const IMAGE: RollupKind = RollupKind {
    name: "cost.image",
    bucket: BucketSize::Day,
    dims: &[
        ("workspace", DimType::Id),
        ("api_key", DimType::Id),
        ("model", DimType::Text),
        ("detail", DimType::Text),
    ],
    extra: UNPRICED_EXTRA,
};

/// Every kind a cost-line window writes.
pub(crate) const COST_KINDS: [&RollupKind; 5] =
    [&WORKSPACE, &KEY, &MODEL, &WORKSPACE_MODEL, &IMAGE];

fn is_image(line: &spendlens_domain::CostLine) -> bool {
    line.category == Category::Image && line.unit.as_str() == "images"
}

type Grouped<K> = HashMap<(i64, K), Totals>;

fn facts<K>(
    connection: ConnectionId,
    groups: Grouped<K>,
    dims: impl Fn(K) -> Vec<DimValue>,
) -> Vec<Fact> {
    groups
        .into_iter()
        .map(|((bucket, key), totals)| Fact {
            series: SeriesKey {
                connection: Some(connection),
                dims: dims(key),
            },
            bucket,
            metrics: with_unpriced_extra(totals),
        })
        .collect()
}

/// A cost kind's metrics: the totals, with the unpriced counts in the kind's extras.
fn with_unpriced_extra(totals: Totals) -> Metrics {
    let mut extra = [0; super::MAX_EXTRA];
    extra[0] = totals.unpriced_lines;
    extra[1] = totals.unpriced_requests;
    Metrics { totals, extra }
}

/// The totals of a cost kind's metrics, the unpriced counts read back from its extras.
pub(super) fn totals_of(metrics: &Metrics) -> Totals {
    Totals {
        unpriced_lines: metrics.extra[0],
        unpriced_requests: metrics.extra[1],
        ..metrics.totals
    }
}

fn text(value: &str) -> DimValue {
    DimValue::Text(value.to_owned())
}

/// The facts of a window's lines for each cost kind (lines summed per series and day in
/// memory, keyed by borrowed values: one allocation per series, none per line).
pub(crate) fn cost_facts(
    connection: ConnectionId,
    lines: &[ResolvedLine<'_>],
) -> [(&'static RollupKind, Vec<Fact>); 5] {
    let mut by_workspace: Grouped<Option<i64>> = HashMap::new();
    let mut by_key: Grouped<(Option<i64>, Option<i64>)> = HashMap::new();
    let mut by_model: Grouped<(&str, &str, &str)> = HashMap::new();
    let mut by_workspace_model: Grouped<(Option<i64>, &str, &str, &str)> = HashMap::new();
    let mut by_image: Grouped<(Option<i64>, Option<i64>, &str, &str)> = HashMap::new();
    for item in lines {
        let line = item.line;
        let day = i64::from(line.day.number());
        let (model, category, unit) = (
            line.model.as_str(),
            line.category.as_str(),
            line.unit.as_str(),
        );
        by_workspace
            .entry((day, item.workspace_ref))
            .or_default()
            .add_line(line);
        by_key
            .entry((day, (item.workspace_ref, item.api_key_ref)))
            .or_default()
            .add_line(line);
        by_model
            .entry((day, (model, category, unit)))
            .or_default()
            .add_line(line);
        by_workspace_model
            .entry((day, (item.workspace_ref, model, category, unit)))
            .or_default()
            .add_line(line);
        if is_image(line) {
            by_image
                .entry((
                    day,
                    (
                        item.workspace_ref,
                        item.api_key_ref,
                        model,
                        line.detail.as_str(),
                    ),
                ))
                .or_default()
                .add_line(line);
        }
    }
    [
        (
            &WORKSPACE,
            facts(connection, by_workspace, |w| vec![DimValue::Id(w)]),
        ),
        (
            &KEY,
            facts(connection, by_key, |(w, k)| {
                vec![DimValue::Id(w), DimValue::Id(k)]
            }),
        ),
        (
            &MODEL,
            facts(connection, by_model, |(m, c, u)| {
                vec![text(m), text(c), text(u)]
            }),
        ),
        (
            &WORKSPACE_MODEL,
            facts(connection, by_workspace_model, |(w, m, c, u)| {
                vec![DimValue::Id(w), text(m), text(c), text(u)]
            }),
        ),
        (
            &IMAGE,
            facts(connection, by_image, |(w, k, m, d)| {
                vec![DimValue::Id(w), DimValue::Id(k), text(m), text(d)]
            }),
        ),
    ]
}

/// The engine filter for a view filter; `workspace_dim` is where the kind keeps the workspace.
pub(super) fn series_filter(filter: &RollupFilter, workspace_dim: Option<usize>) -> SeriesFilter {
    let mut dims = Vec::new();
    if let (Some(dim), Some(workspaces)) = (workspace_dim, &filter.workspaces) {
        dims.push((
            dim,
            workspaces.iter().map(|w| DimValue::Id(Some(w.0))).collect(),
        ));
    }
    SeriesFilter {
        connections: filter.connections.clone(),
        dims,
    }
}

fn is_active(totals: &Totals, previous: &Prior) -> bool {
    totals.lines > 0 || !previous.cost.is_zero() || previous.unpriced_lines > 0
}

pub(super) fn dim_id(row: &PeriodRow, index: usize) -> Option<i64> {
    row.series.dims.get(index).and_then(DimValue::id)
}

pub(super) fn dim_text(row: &PeriodRow, index: usize) -> String {
    row.series
        .dims
        .get(index)
        .and_then(DimValue::text)
        .unwrap_or_default()
        .to_owned()
}

pub(super) fn connection_of(row: &PeriodRow) -> StoreResult<ConnectionId> {
    row.series
        .connection
        .ok_or_else(|| StoreError::Corrupt("a cost rollup series has no connection".into()))
}

fn parse_category(text: &str) -> StoreResult<Category> {
    text.parse()
        .map_err(|_| StoreError::Corrupt(format!("category \"{text}\"")))
}

pub(super) fn parse_unit(text: &str) -> StoreResult<Unit> {
    Unit::parse(text).map_err(|_| StoreError::Corrupt(format!("unit \"{text}\"")))
}

/// (connection, model, category, unit) → current totals and previous cost.
type ModelGroups = BTreeMap<(i64, String, String, String), (Totals, Prior)>;

impl Store {
    async fn read_cost(
        &self,
        org: OrgId,
        kind: &RollupKind,
        filter: SeriesFilter,
        current: DayRange,
        previous: Option<DayRange>,
    ) -> StoreResult<Vec<PeriodRow>> {
        let mut rows = self
            .read_period(
                org,
                kind,
                &filter,
                kind.buckets(current),
                previous.map(|p| kind.buckets(p)),
            )
            .await?;
        for row in &mut rows {
            row.current.totals = totals_of(&row.current);
            row.previous.totals = totals_of(&row.previous);
        }
        Ok(rows)
    }

    /// Totals per connection.
    pub async fn totals_by_connection(
        &self,
        org: OrgId,
        current: DayRange,
        previous: Option<DayRange>,
        filter: &RollupFilter,
    ) -> StoreResult<Vec<ConnectionTotals>> {
        let rows = self
            .read_cost(
                org,
                &WORKSPACE,
                series_filter(filter, Some(0)),
                current,
                previous,
            )
            .await?;
        let mut by_connection: BTreeMap<ConnectionId, (Totals, Prior)> = BTreeMap::new();
        for row in &rows {
            let entry = by_connection.entry(connection_of(row)?).or_default();
            entry.0.add(&row.current.totals);
            entry.1 += Prior::of(&row.previous.totals);
        }
        Ok(by_connection
            .into_iter()
            .filter(|(_, (totals, previous))| is_active(totals, previous))
            .map(|(connection_id, (current, previous))| ConnectionTotals {
                connection_id,
                current,
                previous,
            })
            .collect())
    }

    /// Totals per (connection, workspace).
    pub async fn totals_by_workspace(
        &self,
        org: OrgId,
        current: DayRange,
        previous: Option<DayRange>,
        filter: &RollupFilter,
    ) -> StoreResult<Vec<WorkspaceTotals>> {
        let rows = self
            .read_cost(
                org,
                &WORKSPACE,
                series_filter(filter, Some(0)),
                current,
                previous,
            )
            .await?;
        rows.iter()
            .filter(|row| is_active(&row.current.totals, &Prior::of(&row.previous.totals)))
            .map(|row| {
                Ok(WorkspaceTotals {
                    connection_id: connection_of(row)?,
                    workspace_id: dim_id(row, 0).map(WorkspaceId),
                    current: row.current.totals,
                    previous: Prior::of(&row.previous.totals),
                })
            })
            .collect()
    }

    /// Totals per (connection, workspace, key); `api_key_id` is `None` for spend no key
    /// carries.
    pub async fn totals_by_key(
        &self,
        org: OrgId,
        current: DayRange,
        previous: Option<DayRange>,
        filter: &RollupFilter,
    ) -> StoreResult<Vec<KeyTotals>> {
        let mut series = series_filter(filter, Some(0));
        if let Some(key) = filter.api_key {
            series.dims.push((1, vec![DimValue::Id(Some(key.0))]));
        }
        let rows = self.read_cost(org, &KEY, series, current, previous).await?;
        rows.iter()
            .filter(|row| is_active(&row.current.totals, &Prior::of(&row.previous.totals)))
            .map(|row| {
                Ok(KeyTotals {
                    connection_id: connection_of(row)?,
                    workspace_id: dim_id(row, 0).map(WorkspaceId),
                    api_key_id: dim_id(row, 1).map(ApiKeyId),
                    current: row.current.totals,
                    previous: Prior::of(&row.previous.totals),
                })
            })
            .collect()
    }

    /// Totals per (connection, model, category, unit). With a key in the filter, read from the
    /// cost lines of that key (by index: the model rollups have no key dimension).
    pub async fn totals_by_model(
        &self,
        org: OrgId,
        current: DayRange,
        previous: Option<DayRange>,
        filter: &RollupFilter,
    ) -> StoreResult<Vec<ModelTotals>> {
        let mut groups: ModelGroups = BTreeMap::new();
        if let Some(key) = filter.api_key {
            groups = self.key_models(org, key, current, previous, filter).await?;
        } else {
            let (kind, offset) = if filter.workspaces.is_some() {
                (&WORKSPACE_MODEL, 1)
            } else {
                (&MODEL, 0)
            };
            let rows = self
                .read_cost(
                    org,
                    kind,
                    series_filter(filter, Some(0).filter(|_| offset == 1)),
                    current,
                    previous,
                )
                .await?;
            for row in &rows {
                let entry = groups
                    .entry((
                        connection_of(row)?.0,
                        dim_text(row, offset),
                        dim_text(row, offset + 1),
                        dim_text(row, offset + 2),
                    ))
                    .or_default();
                entry.0.add(&row.current.totals);
                entry.1 += Prior::of(&row.previous.totals);
            }
        }
        groups
            .into_iter()
            .filter(|(_, (totals, previous))| is_active(totals, previous))
            .map(
                |((connection, model, category, unit), (current, previous))| {
                    Ok(ModelTotals {
                        connection_id: ConnectionId(connection),
                        model,
                        category: parse_category(&category)?,
                        unit: parse_unit(&unit)?,
                        current,
                        previous,
                    })
                },
            )
            .collect()
    }

    /// The models of one key, from its cost lines (index `cost_lines_key`).
    async fn key_models(
        &self,
        org: OrgId,
        key: ApiKeyId,
        current: DayRange,
        previous: Option<DayRange>,
        filter: &RollupFilter,
    ) -> StoreResult<ModelGroups> {
        let mut clauses = format!(" AND api_key_ref = {}", key.0);
        let list = |ids: Vec<i64>| {
            if ids.is_empty() {
                "NULL".to_owned()
            } else {
                ids.iter()
                    .map(i64::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        };
        if let Some(connections) = &filter.connections {
            let _ = write!(
                clauses,
                " AND connection_id IN ({})",
                list(connections.iter().map(|c| c.0).collect())
            );
        }
        if let Some(workspaces) = &filter.workspaces {
            let _ = write!(
                clauses,
                " AND workspace_ref IN ({})",
                list(workspaces.iter().map(|w| w.0).collect())
            );
        }
        let sql = |range: DayRange| {
            format!(
                "SELECT connection_id, model, category, unit, \
                 CAST(SUM(cost_nanos) AS BIGINT) AS cost_nanos, CAST(SUM(credits_nanos) AS BIGINT) AS credits_nanos, \
                 CAST(SUM(input_tokens) AS BIGINT) AS input_tokens, CAST(SUM(output_tokens) AS BIGINT) AS output_tokens, \
                 CAST(SUM(cache_read_tokens) AS BIGINT) AS cache_read_tokens, \
                 CAST(SUM(cache_write_tokens) AS BIGINT) AS cache_write_tokens, \
                 CAST(SUM(COALESCE(requests, 0)) AS BIGINT) AS requests, \
                 CAST(SUM(CASE WHEN requests IS NULL THEN 1 ELSE 0 END) AS BIGINT) AS requests_unknown, \
                 CAST(SUM(quantity_micros) AS BIGINT) AS quantity_micros, CAST(COUNT(*) AS BIGINT) AS lines, \
                 CAST(SUM(CASE WHEN allocated THEN 1 ELSE 0 END) AS BIGINT) AS allocated_lines, \
                 CAST(SUM(CASE WHEN unpriced THEN 1 ELSE 0 END) AS BIGINT) AS unpriced_lines, \
                 CAST(SUM(CASE WHEN unpriced THEN COALESCE(requests, 0) ELSE 0 END) AS BIGINT) \
                 AS unpriced_requests \
                 FROM cost_lines WHERE org_id = $1 AND day >= {} AND day <= {}{clauses} \
                 GROUP BY connection_id, model, category, unit",
                range.from().number(),
                range.to().number()
            )
        };
        let mut groups: ModelGroups = BTreeMap::new();
        let periods = [Some(current), previous];
        for (index, period) in periods.into_iter().enumerate() {
            let Some(period) = period else { continue };
            with_pool!(self, pool => {
                let rows = sqlx::query(sqlx::AssertSqlSafe(sql(period)))
                    .bind(org.0)
                    .fetch_all(pool)
                    .await?;
                for row in &rows {
                    let totals = read_line_totals(row)?;
                    let entry = groups
                        .entry((
                            row.int("connection_id")?,
                            row.text("model")?,
                            row.text("category")?,
                            row.text("unit")?,
                        ))
                        .or_default();
                    if index == 0 {
                        entry.0 = totals;
                    } else {
                        entry.1 = Prior::of(&totals);
                    }
                }
            });
        }
        Ok(groups)
    }

    /// Image work of a period by model and size, from the image rollup.
    pub async fn image_totals(
        &self,
        org: OrgId,
        period: DayRange,
        filter: &RollupFilter,
    ) -> StoreResult<Vec<ImageTotals>> {
        let mut series = series_filter(filter, Some(0));
        if let Some(key) = filter.api_key {
            series.dims.push((1, vec![DimValue::Id(Some(key.0))]));
        }
        let rows = self.read_cost(org, &IMAGE, series, period, None).await?;
        let mut groups: BTreeMap<(ConnectionId, String, String), Totals> = BTreeMap::new();
        for row in &rows {
            groups
                .entry((connection_of(row)?, dim_text(row, 2), dim_text(row, 3)))
                .or_default()
                .add(&row.current.totals);
        }
        Ok(groups
            .into_iter()
            .filter(|(_, totals)| totals.lines > 0)
            .map(|((connection_id, model, detail), totals)| ImageTotals {
                connection_id,
                model,
                detail,
                images: totals.quantity,
                cost: totals.cost,
                credits: totals.credits,
            })
            .collect())
    }
}

/// The part of a migration (0003 and 0026, 0013, 0023) that summarizes the cost lines into
/// cost kinds.
fn backfill_sql(migration: &'static str) -> StoreResult<&'static str> {
    migration
        .find("-- backfill:")
        .map(|at| &migration[at..])
        .ok_or_else(|| StoreError::Corrupt("a rollup migration has no backfill section".into()))
}

impl Store {
    /// Rebuilds every cost kind from the cost lines (the migration's backfill): a repair tool,
    /// and the check that the migration summarizes lines as the engine does.
    pub async fn rebuild_cost_rollups(&self) -> StoreResult<()> {
        let names: Vec<String> = COST_KINDS
            .into_iter()
            .chain([&super::KEY_MODEL, &super::KEY_UNIT])
            .map(|k| format!("'{}'", k.name))
            .collect();
        let names = names.join(", ");
        with_pool!(self, pool => {
            let (base, key_model, key_unit) = match self.backend() {
                crate::Backend::Sqlite => (
                    include_str!("../../migrations/sqlite/0026_unpriced_lines.sql"),
                    include_str!("../../migrations/sqlite/0013_coverage.sql"),
                    include_str!("../../migrations/sqlite/0023_key_unit.sql"),
                ),
                crate::Backend::Postgres => (
                    include_str!("../../migrations/postgres/0026_unpriced_lines.sql"),
                    include_str!("../../migrations/postgres/0013_coverage.sql"),
                    include_str!("../../migrations/postgres/0023_key_unit.sql"),
                ),
            };
            let sql = format!(
                "{}\n{}\n{}",
                backfill_sql(base)?,
                backfill_sql(key_model)?,
                backfill_sql(key_unit)?
            );
            let mut tx = pool.begin().await?;
            // The revisions first, as every writer of the bill's rollups (see `revision`).
            sqlx::query(super::revision::BUMP_ALL).execute(&mut *tx).await?;
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "DELETE FROM rollup_cum WHERE series_id IN (SELECT id FROM rollup_series WHERE kind IN ({names}))"
            )))
            .execute(&mut *tx)
            .await?;
            sqlx::query(sqlx::AssertSqlSafe(format!("DELETE FROM rollup_series WHERE kind IN ({names})")))
                .execute(&mut *tx)
                .await?;
            sqlx::raw_sql(sqlx::AssertSqlSafe(sql)).execute(&mut *tx).await?;
            tx.commit().await?;
        });
        Ok(())
    }
}

fn read_line_totals(row: &impl RowExt) -> StoreResult<Totals> {
    Ok(Totals {
        cost: Money::from_nanos(row.int("cost_nanos")?),
        credits: Money::from_nanos(row.int("credits_nanos")?),
        input_tokens: row.int("input_tokens")?,
        output_tokens: row.int("output_tokens")?,
        cache_read_tokens: row.int("cache_read_tokens")?,
        cache_write_tokens: row.int("cache_write_tokens")?,
        requests: row.int("requests")?,
        requests_unknown: row.int("requests_unknown")?,
        quantity: Quantity::from_micros(row.int("quantity_micros")?),
        lines: row.int("lines")?,
        allocated_lines: row.int("allocated_lines")?,
        unpriced_lines: row.int("unpriced_lines")?,
        unpriced_requests: row.int("unpriced_requests")?,
    })
}
