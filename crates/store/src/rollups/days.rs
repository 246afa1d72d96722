//! Day by day: each series' metrics per bucket over a range of days, the difference of
//! consecutive running totals in `rollup_cum` (one range seek per series), for the
//! spend-over-time charts. The cost kinds and the metered rollup get typed reads here, from
//! the same rollups (and filters) the period totals read, so a chart adds up to its table.

use std::fmt::Write as _;

use spendlens_domain::{Day, DayRange, Money};

use super::cost::{IMAGE, KEY, MODEL, RollupFilter, WORKSPACE, WORKSPACE_MODEL, series_filter};
use super::grouped_days::GroupedRead;
use super::read::filter_clauses;
use super::write::read_dims;
use super::{DIM_COLUMNS, DimValue, METRIC_COLUMNS, Metrics, RollupKind, SeriesFilter, SeriesKey};
use crate::connections::day_from_number;
use crate::meter::{Attribution, METER_DAY, MeterFilter};
use crate::{
    ApiKeyId, ConnectionId, OrgId, RowExt, Store, StoreError, StoreResult, WorkspaceId, with_pool,
};

/// One series' metrics over one bucket.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BucketRow {
    pub series: SeriesKey,
    pub bucket: i64,
    pub metrics: Metrics,
}

/// What a cost view's chart stacks by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DailyBy {
    /// Per (connection, workspace): the Providers and Workspaces views.
    Workspace,
    /// Per (connection, workspace, key).
    Key,
    /// Per (connection, model, unit).
    Model,
    /// Image lines per (connection, model).
    Image,
}

/// The cost of one group on one day. Fields a grouping does not have are `None` / empty.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DailyCost {
    pub connection_id: ConnectionId,
    pub workspace_id: Option<WorkspaceId>,
    pub api_key_id: Option<ApiKeyId>,
    pub model: String,
    pub unit: String,
    pub day: Day,
    pub cost: Money,
}

/// A few metrics of one series over one bucket: the columns a reader asked for, in its order.
#[derive(Clone, Debug, PartialEq, Eq)]
struct BucketValues {
    series: SeriesKey,
    bucket: i64,
    values: Vec<i64>,
}

/// The SQL of [`Store::read_days`]: per series the last running total before the range (its
/// baseline) and every running total inside it, in series and bucket order, of the metric
/// columns `metrics`.
fn days_sql(kind: &RollupKind, clauses: &str, first: i64, last: i64, metrics: &[&str]) -> String {
    let dims = &DIM_COLUMNS[..kind.dims.len()];
    let mut sql = String::from("WITH base AS MATERIALIZED (SELECT s.id, s.connection_id");
    for d in dims {
        let _ = write!(sql, ", s.{d}");
    }
    let _ = write!(
        sql,
        ", (SELECT MAX(b.bucket) FROM rollup_cum b WHERE b.series_id = s.id AND b.bucket < {first}) AS lo \
         FROM rollup_series s WHERE s.org_id = $1 AND s.kind = $2{clauses}) SELECT p.id, p.connection_id"
    );
    for d in dims {
        let _ = write!(sql, ", p.{d}");
    }
    sql.push_str(", c.bucket");
    for c in metrics {
        let _ = write!(sql, ", c.{c}");
    }
    let _ = write!(
        sql,
        " FROM base p JOIN rollup_cum c ON c.series_id = p.id AND c.bucket >= COALESCE(p.lo, {first}) \
         AND c.bucket <= {last} ORDER BY p.id, c.bucket"
    );
    sql
}

fn id_at(key: &SeriesKey, index: usize) -> Option<i64> {
    key.dims.get(index).and_then(DimValue::id)
}

fn text_at(key: &SeriesKey, index: usize) -> String {
    key.dims
        .get(index)
        .and_then(DimValue::text)
        .unwrap_or_default()
        .to_owned()
}

/// [`Store::last_spend_days`]: per workspace series of `cost.workspace`, its latest bucket
/// whose running cost differs from the row before it (walked back from the newest row, so a
/// series whose last day had spend costs a few seeks), then the latest per workspace.
const LAST_SPEND_SQL: &str = "SELECT d0, MAX(last_day) FROM (SELECT s.d0 AS d0, \
     (SELECT c.bucket FROM rollup_cum c WHERE c.series_id = s.id AND c.cost_nanos <> \
     COALESCE((SELECT p.cost_nanos FROM rollup_cum p WHERE p.series_id = s.id \
     AND p.bucket < c.bucket ORDER BY p.bucket DESC LIMIT 1), 0) \
     ORDER BY c.bucket DESC LIMIT 1) AS last_day \
     FROM rollup_series s WHERE s.org_id = $1 AND s.kind = $2 AND s.d0 <> '') w \
     WHERE last_day IS NOT NULL GROUP BY d0";

impl Store {
    /// The last day with spend (a day whose cost lines add up to a cost other than zero) of
    /// each workspace of the organization that has one, from the `cost.workspace` rollup:
    /// a few seeks per workspace, whatever the size of the bill.
    pub async fn last_spend_days(
        &self,
        org: OrgId,
    ) -> StoreResult<std::collections::HashMap<WorkspaceId, Day>> {
        with_pool!(self, pool => {
            let rows = sqlx::query(LAST_SPEND_SQL)
                .bind(org.0)
                .bind(WORKSPACE.name)
                .fetch_all(pool)
                .await?;
            rows.iter()
                .map(|row| {
                    let id: String = sqlx::Row::try_get(row, 0)?;
                    let day: i64 = sqlx::Row::try_get(row, 1)?;
                    let id = id.parse::<i64>().map_err(|_| {
                        StoreError::Corrupt(format!("workspace rollup dimension {id:?} is not an id"))
                    })?;
                    Ok((WorkspaceId(id), day_from_number(day)?))
                })
                .collect()
        })
    }

    /// Every series of `kind` matching `filter`, with its metrics in each bucket of `days`
    /// that has activity (buckets without any are absent).
    pub async fn read_days(
        &self,
        org: OrgId,
        kind: &RollupKind,
        filter: &SeriesFilter,
        days: DayRange,
    ) -> StoreResult<Vec<BucketRow>> {
        let rows = self
            .read_day_values(org, kind, filter, days, kind.metric_columns())
            .await?;
        Ok(rows
            .into_iter()
            .map(|row| {
                let mut all = [0i64; METRIC_COLUMNS.len()];
                all[..row.values.len()].copy_from_slice(&row.values);
                BucketRow {
                    series: row.series,
                    bucket: row.bucket,
                    metrics: Metrics::from_array(all),
                }
            })
            .collect())
    }

    /// [`Store::read_days`] of only the metric columns `metrics` (what each bucket added to
    /// each, in that order): a chart that draws cost reads two columns a row, not all of them.
    async fn read_day_values(
        &self,
        org: OrgId,
        kind: &RollupKind,
        filter: &SeriesFilter,
        days: DayRange,
        metrics: &[&str],
    ) -> StoreResult<Vec<BucketValues>> {
        kind.check()?;
        if let Some(m) = metrics.iter().find(|m| !kind.metric_columns().contains(*m)) {
            return Err(StoreError::Invalid(format!(
                "rollup kind {} has no metric {m}",
                kind.name
            )));
        }
        let Some((clauses, binds)) = filter_clauses(kind, filter)? else {
            return Ok(Vec::new());
        };
        let range = kind.buckets(days);
        let sql = days_sql(kind, &clauses, range.first, range.last, metrics);
        let dims = kind.dims.len();
        with_pool!(self, pool => {
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(org.0).bind(kind.name);
            for value in binds {
                query = query.bind(value);
            }
            let rows = query.fetch_all(pool).await?;
            let mut out = Vec::new();
            let mut series: Option<i64> = None;
            let mut before = vec![0i64; metrics.len()];
            for row in &rows {
                let id: i64 = sqlx::Row::try_get(row, 0)?;
                if series != Some(id) {
                    series = Some(id);
                    before.iter_mut().for_each(|v| *v = 0);
                }
                let bucket: i64 = sqlx::Row::try_get(row, 2 + dims)?;
                let running = (0..metrics.len())
                    .map(|i| sqlx::Row::try_get::<i64, _>(row, 3 + dims + i))
                    .collect::<Result<Vec<i64>, _>>()?;
                if bucket >= range.first {
                    let connection: i64 = sqlx::Row::try_get(row, 1)?;
                    out.push(BucketValues {
                        series: SeriesKey {
                            connection: (connection != 0).then_some(ConnectionId(connection)),
                            dims: read_dims(row, 2, kind)?,
                        },
                        bucket,
                        values: running.iter().zip(&before).map(|(r, b)| r - b).collect(),
                    });
                }
                before = running;
            }
            Ok(out)
        })
    }

    /// Cost per day and group of a cost view, with the view's filter: the same rollups its
    /// period totals read (a key's models from its cost lines, as the Models view does).
    pub async fn daily_cost(
        &self,
        org: OrgId,
        by: DailyBy,
        days: DayRange,
        filter: &RollupFilter,
    ) -> StoreResult<Vec<DailyCost>> {
        if by == DailyBy::Model
            && let Some(key) = filter.api_key
        {
            return self.key_daily_models(org, key, days, filter).await;
        }
        self.daily_cost_read(org, by, days, filter, None).await
    }

    /// [`Store::daily_cost`] by key, of only the keys in `keys` (`None`: spend no key
    /// carries): a chart that stacks a few keys apart reads those series, not every key's.
    pub async fn daily_cost_of_keys(
        &self,
        org: OrgId,
        days: DayRange,
        filter: &RollupFilter,
        keys: &[Option<ApiKeyId>],
    ) -> StoreResult<Vec<DailyCost>> {
        let keys = keys.iter().map(|k| DimValue::Id(k.map(|k| k.0))).collect();
        self.daily_cost_read(org, DailyBy::Key, days, filter, Some(keys))
            .await
    }

    /// The cost of every line the filter admits, per day of `days` with any (a day whose
    /// lines add up to zero reads zero), summed in the database over the `cost.workspace`
    /// series: what a chart's stacks of one day add up to, whatever the number of its rows.
    pub async fn daily_total_cost(
        &self,
        org: OrgId,
        days: DayRange,
        filter: &RollupFilter,
    ) -> StoreResult<Vec<(Day, Money)>> {
        let range = WORKSPACE.buckets(days);
        let groups = self
            .read_days_grouped(
                org,
                &WORKSPACE,
                &series_filter(filter, Some(0)),
                &GroupedRead {
                    range,
                    anchor: None,
                    keep: &[],
                    metrics: &["cost_nanos"],
                },
            )
            .await?;
        groups
            .into_iter()
            .flat_map(|group| group.buckets)
            .map(|(bucket, values)| {
                let cost = values.first().copied().unwrap_or(0);
                Ok((day_from_number(bucket)?, Money::from_nanos(cost)))
            })
            .collect()
    }

    /// [`Store::daily_cost`] from the rollups, with the key dimension narrowed to `keys`
    /// when given.
    async fn daily_cost_read(
        &self,
        org: OrgId,
        by: DailyBy,
        days: DayRange,
        filter: &RollupFilter,
        keys: Option<Vec<DimValue>>,
    ) -> StoreResult<Vec<DailyCost>> {
        let with_key = |mut series: SeriesFilter| {
            if let Some(key) = filter.api_key {
                series.dims.push((1, vec![DimValue::Id(Some(key.0))]));
            }
            if let Some(keys) = &keys {
                series.dims.push((1, keys.clone()));
            }
            series
        };
        // (kind, filter, workspace dim, key dim, model dim, unit dim)
        let (kind, series, workspace, key, model, unit): (&RollupKind, _, _, _, _, _) = match by {
            DailyBy::Workspace => (
                &WORKSPACE,
                series_filter(filter, Some(0)),
                Some(0),
                None,
                None,
                None,
            ),
            DailyBy::Key => (
                &KEY,
                with_key(series_filter(filter, Some(0))),
                Some(0),
                Some(1),
                None,
                None,
            ),
            DailyBy::Model if filter.workspaces.is_some() => (
                &WORKSPACE_MODEL,
                series_filter(filter, Some(0)),
                Some(0),
                None,
                Some(1),
                Some(3),
            ),
            DailyBy::Model => (
                &MODEL,
                series_filter(filter, None),
                None,
                None,
                Some(0),
                Some(2),
            ),
            DailyBy::Image => (
                &IMAGE,
                with_key(series_filter(filter, Some(0))),
                Some(0),
                Some(1),
                Some(2),
                None,
            ),
        };
        // (cost, lines) of each day: a day with lines or cost is a point.
        let rows = self
            .read_day_values(org, kind, &series, days, &["cost_nanos", "lines"])
            .await?;
        rows.into_iter()
            .filter(|row| row.values.iter().any(|v| *v != 0))
            .map(|row| {
                let connection_id = row.series.connection.ok_or_else(|| {
                    StoreError::Corrupt("a cost rollup series has no connection".into())
                })?;
                Ok(DailyCost {
                    connection_id,
                    workspace_id: workspace
                        .and_then(|i| id_at(&row.series, i))
                        .map(WorkspaceId),
                    api_key_id: key.and_then(|i| id_at(&row.series, i)).map(ApiKeyId),
                    model: model.map(|i| text_at(&row.series, i)).unwrap_or_default(),
                    unit: match (by, unit) {
                        (DailyBy::Image, _) => "images".to_owned(),
                        (_, Some(i)) => text_at(&row.series, i),
                        (_, None) => String::new(),
                    },
                    day: day_from_number(row.bucket)?,
                    cost: Money::from_nanos(row.values[0]),
                })
            })
            .collect()
    }

    /// One key's cost per day and model, from its cost lines (the model rollups have no key).
    async fn key_daily_models(
        &self,
        org: OrgId,
        key: ApiKeyId,
        days: DayRange,
        filter: &RollupFilter,
    ) -> StoreResult<Vec<DailyCost>> {
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
        let mut clauses = format!(" AND api_key_ref = {}", key.0);
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
        let sql = format!(
            "SELECT day, connection_id, model, unit, CAST(SUM(cost_nanos) AS BIGINT) AS cost_nanos \
             FROM cost_lines WHERE org_id = $1 AND day >= {} AND day <= {}{clauses} \
             GROUP BY day, connection_id, model, unit ORDER BY day",
            days.from().number(),
            days.to().number()
        );
        with_pool!(self, pool => {
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(org.0)
                .fetch_all(pool)
                .await?;
            rows.iter()
                .map(|row| {
                    Ok(DailyCost {
                        connection_id: ConnectionId(row.int("connection_id")?),
                        workspace_id: None,
                        api_key_id: Some(key),
                        model: row.text("model")?,
                        unit: row.text("unit")?,
                        day: day_from_number(row.int("day")?)?,
                        cost: Money::from_nanos(row.int("cost_nanos")?),
                    })
                })
                .collect()
        })
    }

    /// Metered cost per day and value of an attribution (`None`: calls sent without one), with
    /// the attribution views' filter.
    pub async fn meter_daily_cost(
        &self,
        org: OrgId,
        by: Attribution,
        days: DayRange,
        filter: &MeterFilter,
    ) -> StoreResult<Vec<(Option<String>, Day, Money)>> {
        // (cost, calls) of each day: a day with calls or cost is a point.
        let rows = self
            .read_day_values(
                org,
                &METER_DAY,
                &filter.meter_day_filter(),
                days,
                &["cost_nanos", "requests"],
            )
            .await?;
        rows.into_iter()
            .filter(|row| row.values.iter().any(|v| *v != 0))
            .map(|row| {
                let value = text_at(&row.series, by.dim());
                Ok((
                    (!value.is_empty()).then_some(value),
                    day_from_number(row.bucket)?,
                    Money::from_nanos(row.values[0]),
                ))
            })
            .collect()
    }
}
