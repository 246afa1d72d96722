//! Rollups per view dimension (workspace, API key, model, workspace × model), written with the
//! window they summarize and read by every view, so that no view scans cost lines.
//!
//! Rollups are kept in dyadic day blocks: level 0 is one day, level k a block of 2^k days that
//! starts at a multiple of 2^k. [`blocks`] cuts any period into about 2·log2(length) blocks, so
//! a 30-day view reads a handful of rows per key instead of thirty. Reads return, per group, the
//! totals of the current period and the cost of the previous period in one pass.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

use serde::Serialize;
use spendlens_domain::{Category, DayRange, Money, Quantity, Unit};

use crate::bulk::Value;
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
    }

    fn add_line(&mut self, line: &spendlens_domain::CostLine) {
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
    pub previous_cost: Money,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct WorkspaceTotals {
    pub connection_id: ConnectionId,
    pub workspace_id: Option<WorkspaceId>,
    pub current: Totals,
    pub previous_cost: Money,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct KeyTotals {
    pub connection_id: ConnectionId,
    pub workspace_id: Option<WorkspaceId>,
    pub api_key_id: Option<ApiKeyId>,
    pub current: Totals,
    pub previous_cost: Money,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ModelTotals {
    pub connection_id: ConnectionId,
    pub model: String,
    pub category: Category,
    pub unit: Unit,
    pub current: Totals,
    pub previous_cost: Money,
}

const METRIC_COLUMNS: [&str; 11] = [
    "cost_nanos",
    "credits_nanos",
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "requests",
    "requests_unknown",
    "quantity_micros",
    "lines",
    "allocated_lines",
];

fn metric_values(totals: &Totals) -> [Value; 11] {
    [
        Value::Int(totals.cost.nanos()),
        Value::Int(totals.credits.nanos()),
        Value::Int(totals.input_tokens),
        Value::Int(totals.output_tokens),
        Value::Int(totals.cache_read_tokens),
        Value::Int(totals.cache_write_tokens),
        Value::Int(totals.requests),
        Value::Int(totals.requests_unknown),
        Value::Int(totals.quantity.micros()),
        Value::Int(totals.lines),
        Value::Int(totals.allocated_lines),
    ]
}

/// The highest block level: blocks of 2^7 = 128 days.
pub(crate) const MAX_LEVEL: u32 = 7;

/// A rollup table, its grouping columns and how many block levels it keeps above single
/// days (a table always read for a few groups needs none; rewriting levels is most of the cost
/// of a window replacement).
pub(crate) struct RollupTable {
    pub name: &'static str,
    pub dims: &'static [&'static str],
    pub levels: u32,
}

pub(crate) const ROLLUP_TABLES: [RollupTable; 4] = [
    RollupTable {
        name: "rollup_workspace",
        dims: &["workspace_ref"],
        levels: MAX_LEVEL,
    },
    RollupTable {
        name: "rollup_key",
        dims: &["workspace_ref", "api_key_ref"],
        levels: MAX_LEVEL,
    },
    RollupTable {
        name: "rollup_model",
        dims: &["model", "category", "unit"],
        levels: MAX_LEVEL,
    },
    // Read only for the models of one workspace (a drill-down): days are few enough.
    RollupTable {
        name: "rollup_workspace_model",
        dims: &["workspace_ref", "model", "category", "unit"],
        levels: 0,
    },
];

/// The blocks that tile `[first, last]` (day numbers) exactly, largest first where aligned.
#[cfg(test)]
fn blocks(first: i64, last: i64) -> Vec<(u32, i64)> {
    blocks_up_to(first, last, MAX_LEVEL)
}

/// [`blocks`] for a table that keeps levels up to `max_level`.
pub fn blocks_up_to(first: i64, last: i64, max_level: u32) -> Vec<(u32, i64)> {
    let mut out = Vec::new();
    let mut start = first;
    while start <= last {
        let mut level = 0;
        while level < max_level {
            let size = 1i64 << (level + 1);
            if start.rem_euclid(size) == 0 && start + size - 1 <= last {
                level += 1;
            } else {
                break;
            }
        }
        out.push((level, start));
        start += 1i64 << level;
    }
    out
}

/// SQL that rebuilds level `level` of `table` for a connection from level `level - 1`.
/// Parameters: $1 connection, $2 first block start, $3 last block start, $4 last child start.
pub(crate) fn rebuild_sql(table: &RollupTable, level: u32) -> [String; 2] {
    let size = 1i64 << level;
    let dims = table.dims.join(", ");
    let sums: Vec<String> = METRIC_COLUMNS
        .iter()
        .map(|c| format!("CAST(SUM({c}) AS BIGINT)"))
        .collect();
    [
        format!(
            "DELETE FROM {name} WHERE connection_id = $1 AND level = {level} AND block_start >= $2 AND block_start <= $3",
            name = table.name
        ),
        format!(
            "INSERT INTO {name} (org_id, connection_id, level, block_start, {dims}, {metrics}) \
             SELECT org_id, connection_id, {level}, (block_start / {size}) * {size}, {dims}, {sums} \
             FROM {name} WHERE connection_id = $1 AND level = {child} AND block_start >= $2 AND block_start <= $4 \
             GROUP BY org_id, connection_id, (block_start / {size}) * {size}, {dims}",
            name = table.name,
            metrics = METRIC_COLUMNS.join(", "),
            sums = sums.join(", "),
            child = level - 1,
        ),
    ]
}

/// A rollup table, its columns and its level-0 rows.
type TableRows = (&'static RollupTable, Vec<&'static str>, Vec<Vec<Value>>);

/// The level-0 rollup rows of one window, computed from its lines in memory.
pub(crate) struct RollupRows {
    tables: Vec<TableRows>,
}

type ModelKey = (i64, Option<i64>, String, &'static str, String);

impl RollupRows {
    pub(crate) fn from_lines(lines: &[ResolvedLine<'_>]) -> RollupRows {
        let mut by_workspace: HashMap<(i64, Option<i64>), Totals> = HashMap::new();
        let mut by_key: HashMap<(i64, Option<i64>, Option<i64>), Totals> = HashMap::new();
        let mut by_model: HashMap<(i64, String, &'static str, String), Totals> = HashMap::new();
        let mut by_workspace_model: HashMap<ModelKey, Totals> = HashMap::new();
        for item in lines {
            let line = item.line;
            let day = i64::from(line.day.number());
            by_workspace
                .entry((day, item.workspace_ref))
                .or_default()
                .add_line(line);
            by_key
                .entry((day, item.workspace_ref, item.api_key_ref))
                .or_default()
                .add_line(line);
            by_model
                .entry((
                    day,
                    line.model.clone(),
                    line.category.as_str(),
                    line.unit.as_str().to_owned(),
                ))
                .or_default()
                .add_line(line);
            by_workspace_model
                .entry((
                    day,
                    item.workspace_ref,
                    line.model.clone(),
                    line.category.as_str(),
                    line.unit.as_str().to_owned(),
                ))
                .or_default()
                .add_line(line);
        }
        let row = |day: i64, mut dims: Vec<Value>, totals: &Totals| {
            let mut values = vec![Value::Int(0), Value::Int(day)];
            values.append(&mut dims);
            values.extend(metric_values(totals));
            values
        };
        let columns = |table: &RollupTable| {
            let mut all = vec!["org_id", "connection_id", "level", "block_start"];
            all.extend_from_slice(table.dims);
            all.extend_from_slice(&METRIC_COLUMNS);
            all
        };
        let [workspace, key, model, workspace_model] = &ROLLUP_TABLES;
        RollupRows {
            tables: vec![
                (
                    workspace,
                    columns(workspace),
                    by_workspace
                        .iter()
                        .map(|((day, ws), t)| row(*day, vec![Value::OptInt(*ws)], t))
                        .collect(),
                ),
                (
                    key,
                    columns(key),
                    by_key
                        .iter()
                        .map(|((day, ws, k), t)| {
                            row(*day, vec![Value::OptInt(*ws), Value::OptInt(*k)], t)
                        })
                        .collect(),
                ),
                (
                    model,
                    columns(model),
                    by_model
                        .into_iter()
                        .map(|((day, m, c, u), t)| {
                            row(
                                day,
                                vec![Value::Text(m), Value::Text(c.to_owned()), Value::Text(u)],
                                &t,
                            )
                        })
                        .collect(),
                ),
                (
                    workspace_model,
                    columns(workspace_model),
                    by_workspace_model
                        .into_iter()
                        .map(|((day, ws, m, c, u), t)| {
                            row(
                                day,
                                vec![
                                    Value::OptInt(ws),
                                    Value::Text(m),
                                    Value::Text(c.to_owned()),
                                    Value::Text(u),
                                ],
                                &t,
                            )
                        })
                        .collect(),
                ),
            ],
        }
    }

    /// (table, all columns, level-0 rows without org and connection).
    pub(crate) fn tables(
        &self,
    ) -> impl Iterator<Item = (&'static RollupTable, &[&'static str], &[Vec<Value>])> {
        self.tables
            .iter()
            .map(|(table, columns, rows)| (*table, columns.as_slice(), rows.as_slice()))
    }
}

/// Where a read sums from.
#[derive(Clone, Copy)]
enum Source {
    Rollup(&'static str),
    Lines,
}

/// The days a read covers, as day numbers: the current period and, before it, the previous.
#[derive(Clone, Copy, Debug)]
struct Span {
    first: i64,
    last: i64,
    current_from: i64,
}

impl Span {
    fn new(current: DayRange, previous: Option<DayRange>) -> Span {
        let current_from = i64::from(current.from().number());
        let first = previous.map_or(current_from, |p| {
            i64::from(p.from().number()).min(current_from)
        });
        Span {
            first,
            last: i64::from(current.to().number()),
            current_from,
        }
    }
}

/// `AND …` clauses for a filter's connections and workspaces, and its key when the table has
/// a key column. Ids are integers formatted by Rust: nothing user-typed reaches the SQL text.
fn filter_clauses(filter: &RollupFilter, has_key_column: bool) -> String {
    let id_list = |ids: Vec<i64>| {
        if ids.is_empty() {
            "NULL".to_owned()
        } else {
            ids.iter()
                .map(i64::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        }
    };
    let mut clauses = String::new();
    if let Some(connections) = &filter.connections {
        let _ = write!(
            clauses,
            " AND connection_id IN ({})",
            id_list(connections.iter().map(|c| c.0).collect())
        );
    }
    if let Some(workspaces) = &filter.workspaces {
        let _ = write!(
            clauses,
            " AND workspace_ref IN ({})",
            id_list(workspaces.iter().map(|w| w.0).collect())
        );
    }
    if let (true, Some(key)) = (has_key_column, filter.api_key) {
        let _ = write!(clauses, " AND api_key_ref = {}", key.0);
    }
    clauses
}

/// The two reads of a view: the current period's totals per group, and the previous period's
/// cost per group. Two plain aggregations are cheaper than one with a condition per column.
/// Parameter: $1 org. Block lists and ids are integers formatted by Rust: nothing user-typed
/// reaches the SQL text.
fn grouped_sql(source: Source, dims: &[&str], filter: &RollupFilter, span: Span) -> [String; 2] {
    let (table, position) = match source {
        Source::Rollup(table) => (table, "block_start"),
        Source::Lines => ("cost_lines", "day"),
    };
    let metric = |column: &str| match (source, column) {
        (Source::Lines, "requests") => "COALESCE(requests, 0)".to_owned(),
        (Source::Lines, "requests_unknown") => {
            "CASE WHEN requests IS NULL THEN 1 ELSE 0 END".to_owned()
        }
        (Source::Lines, "lines") => "1".to_owned(),
        (Source::Lines, "allocated_lines") => "CASE WHEN allocated THEN 1 ELSE 0 END".to_owned(),
        _ => column.to_owned(),
    };
    let filters = filter_clauses(filter, matches!(source, Source::Lines));
    let select_dims: String = dims.iter().map(|d| format!("{d}, ")).collect();
    let group = if dims.is_empty() {
        String::new()
    } else {
        format!(" GROUP BY {}", dims.join(", "))
    };
    // The rows of the days [first, last] with `columns`: for rollups one indexed lookup per
    // block level, joined with UNION ALL (an OR of levels would scan every level's rows).
    let rows_of = |first: i64, last: i64, columns: &str| -> String {
        if first > last {
            return format!("SELECT {columns} FROM {table} WHERE org_id = $1 AND 1 = 0");
        }
        match source {
            Source::Lines => format!(
                "SELECT {columns} FROM {table} WHERE org_id = $1 AND {position} >= {first} AND {position} <= {last}{filters}"
            ),
            Source::Rollup(_) => {
                let mut by_level: BTreeMap<u32, Vec<i64>> = BTreeMap::new();
                let max_level = ROLLUP_TABLES
                    .iter()
                    .find(|t| t.name == table)
                    .map_or(0, |t| t.levels);
                for (level, start) in blocks_up_to(first, last, max_level) {
                    by_level.entry(level).or_default().push(start);
                }
                by_level
                    .iter()
                    .map(|(level, starts)| {
                        let list: Vec<String> = starts.iter().map(i64::to_string).collect();
                        format!(
                            "SELECT {columns} FROM {table} WHERE org_id = $1 AND level = {level} AND block_start IN ({}){filters}",
                            list.join(", ")
                        )
                    })
                    .collect::<Vec<_>>()
                    .join(" UNION ALL ")
            }
        }
    };
    let current_columns: String = dims
        .iter()
        .map(|d| (*d).to_owned())
        .chain(
            METRIC_COLUMNS
                .iter()
                .map(|c| format!("{} AS {c}", metric(c))),
        )
        .collect::<Vec<_>>()
        .join(", ");
    let previous_columns: String = dims
        .iter()
        .map(|d| (*d).to_owned())
        .chain(std::iter::once("cost_nanos".to_owned()))
        .collect::<Vec<_>>()
        .join(", ");
    let sums: Vec<String> = METRIC_COLUMNS
        .iter()
        .map(|c| format!("CAST(SUM({c}) AS BIGINT) AS {c}"))
        .collect();
    [
        format!(
            "SELECT {select_dims}{} FROM ({}) AS period_rows{group}",
            sums.join(", "),
            rows_of(span.current_from, span.last, &current_columns)
        ),
        format!(
            "SELECT {select_dims}CAST(SUM(cost_nanos) AS BIGINT) AS cost_nanos FROM ({}) AS period_rows{group}",
            rows_of(span.first, span.current_from - 1, &previous_columns)
        ),
    ]
}

/// A group's identity in a view read: its dimension values, in the order asked for.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct GroupKey(Vec<KeyPart>);

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum KeyPart {
    Int(Option<i64>),
    Text(String),
}

/// Dimensions read as text; every other dimension is an integer id.
const TEXT_DIMS: [&str; 3] = ["model", "category", "unit"];

impl GroupKey {
    fn read(row: &impl RowExt, dims: &[&str]) -> StoreResult<GroupKey> {
        dims.iter()
            .map(|dim| {
                Ok(if TEXT_DIMS.contains(dim) {
                    KeyPart::Text(row.text(dim)?)
                } else {
                    KeyPart::Int(row.opt_int(dim)?)
                })
            })
            .collect::<StoreResult<Vec<_>>>()
            .map(GroupKey)
    }

    fn opt_int(&self, index: usize) -> StoreResult<Option<i64>> {
        match self.0.get(index) {
            Some(KeyPart::Int(value)) => Ok(*value),
            _ => Err(StoreError::Corrupt(format!(
                "group dimension {index} is not an id"
            ))),
        }
    }

    fn int(&self, index: usize) -> StoreResult<i64> {
        self.opt_int(index)?
            .ok_or_else(|| StoreError::Corrupt(format!("group dimension {index} is empty")))
    }

    fn text(&self, index: usize) -> StoreResult<String> {
        match self.0.get(index) {
            Some(KeyPart::Text(value)) => Ok(value.clone()),
            _ => Err(StoreError::Corrupt(format!(
                "group dimension {index} is not text"
            ))),
        }
    }
}

fn read_totals(row: &impl RowExt) -> StoreResult<Totals> {
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
    })
}

fn is_active(totals: &Totals, previous: Money) -> bool {
    totals.lines > 0 || !previous.is_zero()
}

impl Store {
    async fn grouped_rows<T>(
        &self,
        org: OrgId,
        dims: &[&str],
        [current_sql, previous_sql]: [String; 2],
        map: impl Fn(&GroupKey, Totals, Money) -> StoreResult<T>,
    ) -> StoreResult<Vec<T>> {
        let mut groups: HashMap<GroupKey, (Totals, Money)> = HashMap::new();
        with_pool!(self, pool => {
            let rows = sqlx::query(sqlx::AssertSqlSafe(current_sql))
                .bind(org.0)
                .fetch_all(pool)
                .await?;
            for row in &rows {
                groups.insert(GroupKey::read(row, dims)?, (read_totals(row)?, Money::ZERO));
            }
            let rows = sqlx::query(sqlx::AssertSqlSafe(previous_sql))
                .bind(org.0)
                .fetch_all(pool)
                .await?;
            for row in &rows {
                let cost = Money::from_nanos(row.int("cost_nanos")?);
                groups.entry(GroupKey::read(row, dims)?).or_default().1 += cost;
            }
        });
        let mut out = Vec::with_capacity(groups.len());
        for (key, (totals, previous_cost)) in groups {
            if is_active(&totals, previous_cost) {
                out.push(map(&key, totals, previous_cost)?);
            }
        }
        Ok(out)
    }

    /// Totals per connection.
    pub async fn totals_by_connection(
        &self,
        org: OrgId,
        current: DayRange,
        previous: Option<DayRange>,
        filter: &RollupFilter,
    ) -> StoreResult<Vec<ConnectionTotals>> {
        let dims = ["connection_id"];
        let sql = grouped_sql(
            Source::Rollup("rollup_workspace"),
            &dims,
            filter,
            Span::new(current, previous),
        );
        self.grouped_rows(org, &dims, sql, |row, current, previous_cost| {
            Ok(ConnectionTotals {
                connection_id: ConnectionId(row.int(0)?),
                current,
                previous_cost,
            })
        })
        .await
    }

    /// Totals per (connection, workspace).
    pub async fn totals_by_workspace(
        &self,
        org: OrgId,
        current: DayRange,
        previous: Option<DayRange>,
        filter: &RollupFilter,
    ) -> StoreResult<Vec<WorkspaceTotals>> {
        let dims = ["connection_id", "workspace_ref"];
        let sql = grouped_sql(
            Source::Rollup("rollup_workspace"),
            &dims,
            filter,
            Span::new(current, previous),
        );
        self.grouped_rows(org, &dims, sql, |row, current, previous_cost| {
            Ok(WorkspaceTotals {
                connection_id: ConnectionId(row.int(0)?),
                workspace_id: row.opt_int(1)?.map(WorkspaceId),
                current,
                previous_cost,
            })
        })
        .await
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
        let dims = ["connection_id", "workspace_ref", "api_key_ref"];
        let sql = grouped_sql(
            Source::Rollup("rollup_key"),
            &dims,
            filter,
            Span::new(current, previous),
        );
        let mut rows = self
            .grouped_rows(org, &dims, sql, |row, current, previous_cost| {
                Ok(KeyTotals {
                    connection_id: ConnectionId(row.int(0)?),
                    workspace_id: row.opt_int(1)?.map(WorkspaceId),
                    api_key_id: row.opt_int(2)?.map(ApiKeyId),
                    current,
                    previous_cost,
                })
            })
            .await?;
        if let Some(key) = filter.api_key {
            rows.retain(|r| r.api_key_id == Some(key));
        }
        Ok(rows)
    }

    /// Totals per (connection, model, category, unit). With a key in the filter, read from the
    /// cost lines (the model rollup has no key dimension).
    pub async fn totals_by_model(
        &self,
        org: OrgId,
        current: DayRange,
        previous: Option<DayRange>,
        filter: &RollupFilter,
    ) -> StoreResult<Vec<ModelTotals>> {
        let source = if filter.api_key.is_some() {
            Source::Lines
        } else if filter.workspaces.is_some() {
            Source::Rollup("rollup_workspace_model")
        } else {
            Source::Rollup("rollup_model")
        };
        let dims = ["connection_id", "model", "category", "unit"];
        let sql = grouped_sql(source, &dims, filter, Span::new(current, previous));
        self.grouped_rows(org, &dims, sql, |row, current, previous_cost| {
            let category = row.text(2)?;
            let unit = row.text(3)?;
            Ok(ModelTotals {
                connection_id: ConnectionId(row.int(0)?),
                model: row.text(1)?,
                category: category
                    .parse()
                    .map_err(|_| StoreError::Corrupt(format!("category \"{category}\"")))?,
                unit: Unit::parse(&unit)
                    .map_err(|_| StoreError::Corrupt(format!("unit \"{unit}\"")))?,
                current,
                previous_cost,
            })
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_become_integer_lists_only() {
        let filter = RollupFilter {
            connections: Some(vec![ConnectionId(3), ConnectionId(4)]),
            workspaces: Some(vec![]),
            api_key: None,
        };
        let span = Span {
            first: 100,
            last: 159,
            current_from: 130,
        };
        for sql in grouped_sql(
            Source::Rollup("rollup_key"),
            &["connection_id"],
            &filter,
            span,
        ) {
            assert!(sql.contains("connection_id IN (3, 4)"), "{sql}");
            assert!(sql.contains("workspace_ref IN (NULL)"), "{sql}");
        }
    }

    #[test]
    fn a_thirty_day_period_is_a_handful_of_blocks() {
        let cut = blocks(20_750, 20_779);
        assert!(cut.len() <= 8, "{cut:?}");
        assert_eq!(cut.first().map(|b| b.1), Some(20_750));
    }

    proptest::proptest! {
        #[test]
        fn blocks_tile_a_range_exactly(first in 0i64..40_000, len in 1i64..800) {
            let last = first + len - 1;
            let cut = blocks(first, last);
            let mut next = first;
            for (level, start) in &cut {
                proptest::prop_assert_eq!(*start, next);
                proptest::prop_assert_eq!(start.rem_euclid(1 << level), 0);
                proptest::prop_assert!(*level <= MAX_LEVEL);
                next = start + (1i64 << level);
            }
            proptest::prop_assert_eq!(next, last + 1);
            // About 2 log2(length) blocks, plus whole 128-day blocks for long ranges.
            let bound = 2 * (64 - (len as u64).leading_zeros() as usize) + (len as usize) / 128 + 2;
            proptest::prop_assert!(cut.len() <= bound, "{} blocks for {} days", cut.len(), len);
        }
    }
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

impl Store {
    /// Image lines of a period by model and size (images are few lines; read from the cost
    /// lines through their category index).
    pub async fn image_totals(
        &self,
        org: OrgId,
        period: DayRange,
        filter: &RollupFilter,
    ) -> StoreResult<Vec<ImageTotals>> {
        let mut sql = format!(
            "SELECT connection_id, model, detail, CAST(SUM(quantity_micros) AS BIGINT) AS quantity_micros, \
             CAST(SUM(cost_nanos) AS BIGINT) AS cost_nanos, CAST(SUM(credits_nanos) AS BIGINT) AS credits_nanos \
             FROM cost_lines WHERE org_id = $1 AND category = 'image' AND unit = 'images' AND day >= {} AND day <= {}",
            period.from().number(),
            period.to().number()
        );
        sql.push_str(&filter_clauses(filter, true));
        sql.push_str(" GROUP BY connection_id, model, detail");
        with_pool!(self, pool => {
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(org.0).fetch_all(pool).await?;
            rows.iter()
                .map(|row| {
                    Ok(ImageTotals {
                        connection_id: ConnectionId(row.int("connection_id")?),
                        model: row.text("model")?,
                        detail: row.text("detail")?,
                        images: Quantity::from_micros(row.int("quantity_micros")?),
                        cost: Money::from_nanos(row.int("cost_nanos")?),
                        credits: Money::from_nanos(row.int("credits_nanos")?),
                    })
                })
                .collect()
        })
    }
}
