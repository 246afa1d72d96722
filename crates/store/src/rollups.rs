//! Daily rollups per view dimension (workspace, API key, model): written with the window they
//! summarize, read by every view so that no view scans cost lines.
//!
//! Reads return, per group, the totals of the current period and the cost of the previous
//! period in one pass (the previous period ends the day before the current one starts).

use std::collections::HashMap;
use std::fmt::Write as _;

use serde::Serialize;
use spendlens_domain::{Category, DayRange, Money, Quantity, Unit};

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

pub(crate) enum Value {
    Int(i64),
    OptInt(Option<i64>),
    Text(String),
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

/// The rollup rows of one window, computed from its lines in memory.
pub(crate) struct RollupRows {
    workspace: Vec<Vec<Value>>,
    key: Vec<Vec<Value>>,
    model: Vec<Vec<Value>>,
    workspace_columns: Vec<&'static str>,
    key_columns: Vec<&'static str>,
    model_columns: Vec<&'static str>,
}

/// One rollup table's name, columns and rows.
pub(crate) type RollupTable<'a> = (&'static str, &'a [&'static str], &'a [Vec<Value>]);

type ModelGroup = (i64, Option<i64>, String, &'static str, String);

impl RollupRows {
    pub(crate) fn from_lines(lines: &[ResolvedLine<'_>]) -> RollupRows {
        let mut by_workspace: HashMap<(i64, Option<i64>), Totals> = HashMap::new();
        let mut by_key: HashMap<(i64, Option<i64>, Option<i64>), Totals> = HashMap::new();
        let mut by_model: HashMap<ModelGroup, Totals> = HashMap::new();
        for item in lines {
            let day = i64::from(item.line.day.number());
            by_workspace
                .entry((day, item.workspace_ref))
                .or_default()
                .add_line(item.line);
            by_key
                .entry((day, item.workspace_ref, item.api_key_ref))
                .or_default()
                .add_line(item.line);
            by_model
                .entry((
                    day,
                    item.workspace_ref,
                    item.line.model.clone(),
                    item.line.category.as_str(),
                    item.line.unit.as_str().to_owned(),
                ))
                .or_default()
                .add_line(item.line);
        }
        let with_metrics = |mut dims: Vec<Value>, totals: &Totals| {
            dims.extend(metric_values(totals));
            dims
        };
        let columns = |dims: &[&'static str]| {
            let mut all = vec!["org_id", "connection_id"];
            all.extend_from_slice(dims);
            all.extend_from_slice(&METRIC_COLUMNS);
            all
        };
        RollupRows {
            workspace: by_workspace
                .iter()
                .map(|((day, ws), t)| with_metrics(vec![Value::Int(*day), Value::OptInt(*ws)], t))
                .collect(),
            key: by_key
                .iter()
                .map(|((day, ws, key), t)| {
                    with_metrics(
                        vec![Value::Int(*day), Value::OptInt(*ws), Value::OptInt(*key)],
                        t,
                    )
                })
                .collect(),
            model: by_model
                .into_iter()
                .map(|((day, ws, model, category, unit), t)| {
                    with_metrics(
                        vec![
                            Value::Int(day),
                            Value::OptInt(ws),
                            Value::Text(model),
                            Value::Text(category.to_owned()),
                            Value::Text(unit),
                        ],
                        &t,
                    )
                })
                .collect(),
            workspace_columns: columns(&["day", "workspace_ref"]),
            key_columns: columns(&["day", "workspace_ref", "api_key_ref"]),
            model_columns: columns(&["day", "workspace_ref", "model", "category", "unit"]),
        }
    }

    /// (table, all columns, rows without org and connection).
    pub(crate) fn tables(&self) -> [RollupTable<'_>; 3] {
        [
            (
                "rollup_workspace_day",
                &self.workspace_columns,
                &self.workspace,
            ),
            ("rollup_key_day", &self.key_columns, &self.key),
            ("rollup_model_day", &self.model_columns, &self.model),
        ]
    }
}

/// Where a read sums from.
#[derive(Clone, Copy)]
enum Source {
    Rollup(&'static str),
    Lines,
}

impl Source {
    fn table(self) -> &'static str {
        match self {
            Source::Rollup(table) => table,
            Source::Lines => "cost_lines",
        }
    }

    fn metric_expression(self, column: &str) -> String {
        match (self, column) {
            (Source::Lines, "requests") => "COALESCE(requests, 0)".to_owned(),
            (Source::Lines, "requests_unknown") => {
                "CASE WHEN requests IS NULL THEN 1 ELSE 0 END".to_owned()
            }
            (Source::Lines, "lines") => "1".to_owned(),
            (Source::Lines, "allocated_lines") => {
                "CASE WHEN allocated THEN 1 ELSE 0 END".to_owned()
            }
            _ => column.to_owned(),
        }
    }
}

/// `SELECT <dims>, <current metrics>, previous cost FROM … WHERE … GROUP BY <dims>`.
/// Parameters: $1 org, $2 first day read, $3 last day, $4 first day of the current period.
fn grouped_sql(source: Source, dims: &[&str], filter: &RollupFilter) -> String {
    let mut sql = String::from("SELECT ");
    for dim in dims {
        let _ = write!(sql, "{dim}, ");
    }
    for column in METRIC_COLUMNS {
        let expr = source.metric_expression(column);
        let _ = write!(
            sql,
            "CAST(SUM(CASE WHEN day >= $4 THEN {expr} ELSE 0 END) AS BIGINT) AS {column}, "
        );
    }
    let _ = write!(
        sql,
        "CAST(SUM(CASE WHEN day < $4 THEN cost_nanos ELSE 0 END) AS BIGINT) AS previous_cost_nanos \
         FROM {} WHERE org_id = $1 AND day >= $2 AND day <= $3",
        source.table()
    );
    // Ids are integers formatted by Rust: nothing user-typed reaches the SQL text.
    let id_list = |ids: &mut dyn Iterator<Item = i64>| {
        ids.map(|id| id.to_string()).collect::<Vec<_>>().join(", ")
    };
    if let Some(connections) = &filter.connections {
        let ids = id_list(&mut connections.iter().map(|c| c.0));
        let _ = write!(
            sql,
            " AND connection_id IN ({})",
            if ids.is_empty() { "NULL".into() } else { ids }
        );
    }
    if let Some(workspaces) = &filter.workspaces {
        let ids = id_list(&mut workspaces.iter().map(|w| w.0));
        let _ = write!(
            sql,
            " AND workspace_ref IN ({})",
            if ids.is_empty() { "NULL".into() } else { ids }
        );
    }
    if let (Source::Lines, Some(key)) = (source, filter.api_key) {
        let _ = write!(sql, " AND api_key_ref = {}", key.0);
    }
    if !dims.is_empty() {
        let _ = write!(sql, " GROUP BY {}", dims.join(", "));
    }
    sql
}

fn read_totals(row: &impl RowExt) -> StoreResult<(Totals, Money)> {
    Ok((
        Totals {
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
        },
        Money::from_nanos(row.int("previous_cost_nanos")?),
    ))
}

/// The day numbers a read covers: from the previous period's start to the current end.
fn read_bounds(current: DayRange, previous: Option<DayRange>) -> (i64, i64, i64) {
    let first = previous.map_or(current.from(), |p| p.from().min(current.from()));
    (
        i64::from(first.number()),
        i64::from(current.to().number()),
        i64::from(current.from().number()),
    )
}

fn is_active(totals: &Totals, previous: Money) -> bool {
    totals.lines > 0 || !previous.is_zero()
}

impl Store {
    async fn grouped_rows<T>(
        &self,
        org: OrgId,
        current: DayRange,
        previous: Option<DayRange>,
        sql: String,
        map: impl Fn(&dyn RowExtDyn, Totals, Money) -> StoreResult<T>,
    ) -> StoreResult<Vec<T>> {
        let (first, last, current_from) = read_bounds(current, previous);
        with_pool!(self, pool => {
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(org.0)
                .bind(first)
                .bind(last)
                .bind(current_from)
                .fetch_all(pool)
                .await?;
            let mut out = Vec::with_capacity(rows.len());
            for row in &rows {
                let (totals, previous_cost) = read_totals(row)?;
                if is_active(&totals, previous_cost) {
                    out.push(map(row, totals, previous_cost)?);
                }
            }
            Ok(out)
        })
    }

    /// Totals per connection.
    pub async fn totals_by_connection(
        &self,
        org: OrgId,
        current: DayRange,
        previous: Option<DayRange>,
        filter: &RollupFilter,
    ) -> StoreResult<Vec<ConnectionTotals>> {
        let sql = grouped_sql(
            Source::Rollup("rollup_workspace_day"),
            &["connection_id"],
            filter,
        );
        self.grouped_rows(
            org,
            current,
            previous,
            sql,
            |row, current, previous_cost| {
                Ok(ConnectionTotals {
                    connection_id: ConnectionId(row.dyn_int("connection_id")?),
                    current,
                    previous_cost,
                })
            },
        )
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
        let sql = grouped_sql(
            Source::Rollup("rollup_workspace_day"),
            &["connection_id", "workspace_ref"],
            filter,
        );
        self.grouped_rows(
            org,
            current,
            previous,
            sql,
            |row, current, previous_cost| {
                Ok(WorkspaceTotals {
                    connection_id: ConnectionId(row.dyn_int("connection_id")?),
                    workspace_id: row.dyn_opt_int("workspace_ref")?.map(WorkspaceId),
                    current,
                    previous_cost,
                })
            },
        )
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
        let sql = grouped_sql(
            Source::Rollup("rollup_key_day"),
            &["connection_id", "workspace_ref", "api_key_ref"],
            filter,
        );
        let mut rows = self
            .grouped_rows(
                org,
                current,
                previous,
                sql,
                |row, current, previous_cost| {
                    Ok(KeyTotals {
                        connection_id: ConnectionId(row.dyn_int("connection_id")?),
                        workspace_id: row.dyn_opt_int("workspace_ref")?.map(WorkspaceId),
                        api_key_id: row.dyn_opt_int("api_key_ref")?.map(ApiKeyId),
                        current,
                        previous_cost,
                    })
                },
            )
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
        } else {
            Source::Rollup("rollup_model_day")
        };
        let sql = grouped_sql(
            source,
            &["connection_id", "model", "category", "unit"],
            filter,
        );
        self.grouped_rows(
            org,
            current,
            previous,
            sql,
            |row, current, previous_cost| {
                let category = row.dyn_text("category")?;
                let unit = row.dyn_text("unit")?;
                Ok(ModelTotals {
                    connection_id: ConnectionId(row.dyn_int("connection_id")?),
                    model: row.dyn_text("model")?,
                    category: category
                        .parse()
                        .map_err(|_| StoreError::Corrupt(format!("category \"{category}\"")))?,
                    unit: Unit::parse(&unit)
                        .map_err(|_| StoreError::Corrupt(format!("unit \"{unit}\"")))?,
                    current,
                    previous_cost,
                })
            },
        )
        .await
    }
}

/// Object-safe column reads, so one closure serves both backends' rows.
pub(crate) trait RowExtDyn {
    fn dyn_int(&self, column: &str) -> StoreResult<i64>;
    fn dyn_opt_int(&self, column: &str) -> StoreResult<Option<i64>>;
    fn dyn_text(&self, column: &str) -> StoreResult<String>;
}

impl<T: RowExt> RowExtDyn for T {
    fn dyn_int(&self, column: &str) -> StoreResult<i64> {
        self.int(column)
    }
    fn dyn_opt_int(&self, column: &str) -> StoreResult<Option<i64>> {
        self.opt_int(column)
    }
    fn dyn_text(&self, column: &str) -> StoreResult<String> {
        self.text(column)
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
        let sql = grouped_sql(
            Source::Rollup("rollup_key_day"),
            &["connection_id"],
            &filter,
        );
        assert!(sql.contains("connection_id IN (3, 4)"), "{sql}");
        assert!(sql.contains("workspace_ref IN (NULL)"), "{sql}");
    }
}
