//! The engine's writes, inside the caller's transaction: window replacement (sync), deltas
//! (ingest) and deleting a connection's series. See the module docs of [`crate::rollups`].

use std::collections::{BTreeMap, HashMap};

use sqlx::{PgConnection, SqliteConnection};

use super::delta::{self, DeltaSql};
use super::{
    BucketRange, DIM_COLUMNS, DimValue, Fact, MAX_DIMS, Metrics, RollupKind, SeriesKey,
    connection_column,
};
use crate::bulk::{BulkInsert, Value};
use crate::{ConnectionId, OrgId, StoreError, StoreResult};

/// The engine's writes on an open connection (pass `&mut *tx` to write inside a transaction).
pub trait RollupWrite {
    /// Makes the series of `kind` and `connection` hold exactly `facts` for the buckets of
    /// `window` (facts outside the window or of another connection are refused); rows after
    /// the window move by the window's change.
    fn replace_rollup_window(
        &mut self,
        org: OrgId,
        kind: &RollupKind,
        connection: Option<ConnectionId>,
        window: BucketRange,
        facts: &[Fact],
    ) -> impl Future<Output = StoreResult<()>> + Send;

    /// Adds each fact's metrics at its bucket (and to every later row of its series).
    fn add_rollup_deltas(
        &mut self,
        org: OrgId,
        kind: &RollupKind,
        deltas: &[Fact],
    ) -> impl Future<Output = StoreResult<()>> + Send;

    /// [`RollupWrite::add_rollup_deltas`] for several kinds at once: every kind's series are
    /// found first and then locked together (PostgreSQL), so concurrent batches hold the
    /// locks for the writes alone, not for the lookups of the kinds after the first.
    fn add_rollup_deltas_of(
        &mut self,
        org: OrgId,
        kinds: &[(&RollupKind, &[Fact])],
    ) -> impl Future<Output = StoreResult<()>> + Send;

    /// Removes every series of a connection, of every kind.
    fn delete_connection_rollups(
        &mut self,
        connection: ConnectionId,
    ) -> impl Future<Output = StoreResult<()>> + Send;
}

/// Facts summed per series and bucket, series in key order, buckets ascending.
fn aggregate(
    kind: &RollupKind,
    facts: &[Fact],
) -> StoreResult<BTreeMap<SeriesKey, BTreeMap<i64, Metrics>>> {
    kind.check()?;
    let mut out: BTreeMap<SeriesKey, BTreeMap<i64, Metrics>> = BTreeMap::new();
    let mut index: HashMap<&SeriesKey, ()> = HashMap::new();
    for fact in facts {
        if !index.contains_key(&fact.series) {
            kind.check_key(&fact.series)?;
            index.insert(&fact.series, ());
        }
        let at = out
            .entry(fact.series.clone())
            .or_default()
            .entry(fact.bucket)
            .or_default();
        *at = at.plus(fact.metrics);
    }
    Ok(out)
}

/// `rollup_series` rows for these keys.
fn series_rows(
    org: OrgId,
    kind: &RollupKind,
    keys: impl Iterator<Item = SeriesKey>,
) -> Vec<Vec<Value>> {
    keys.map(|key| {
        let mut row = vec![
            Value::Int(org.0),
            Value::Text(kind.name.to_owned()),
            Value::Int(connection_column(key.connection)),
        ];
        row.extend(
            (0..MAX_DIMS)
                .map(|i| Value::Text(key.dims.get(i).map(DimValue::encode).unwrap_or_default())),
        );
        row
    })
    .collect()
}

fn series_columns() -> Vec<&'static str> {
    let mut columns = vec!["org_id", "kind", "connection_id"];
    columns.extend_from_slice(&DIM_COLUMNS);
    columns
}

fn series_conflict() -> String {
    format!(
        "ON CONFLICT (org_id, kind, connection_id, {}) DO NOTHING",
        DIM_COLUMNS.join(", ")
    )
}

fn cum_columns(kind: &RollupKind) -> Vec<&'static str> {
    let mut columns = vec!["series_id", "bucket"];
    columns.extend_from_slice(kind.metric_columns());
    columns
}

fn cum_row(kind: &RollupKind, series: i64, bucket: i64, metrics: Metrics) -> Vec<Value> {
    let values = metrics.to_array();
    let mut row = vec![Value::Int(series), Value::Int(bucket)];
    row.extend(
        values[..kind.metric_columns().len()]
            .iter()
            .map(|v| Value::Int(*v)),
    );
    row
}

/// `UPDATE` adding `$3…` to every metric of series `$1` at buckets `{op} $2`.
fn shift_sql(kind: &RollupKind, op: &str) -> String {
    let sets: Vec<String> = kind
        .metric_columns()
        .iter()
        .enumerate()
        .map(|(i, c)| format!("{c} = {c} + ${}", i + 3))
        .collect();
    format!(
        "UPDATE rollup_cum SET {} WHERE series_id = $1 AND bucket {op} $2",
        sets.join(", ")
    )
}

/// The series of a kind and connection with, for a window, the cumulative rows before it and
/// at its end, and their last bucket. Parameters: $1 org, $2 kind, $3 connection, $4 window
/// first bucket, $5 window last bucket.
fn window_points_sql(kind: &RollupKind) -> String {
    let dims: String = DIM_COLUMNS[..kind.dims.len()]
        .iter()
        .map(|d| format!(", s.{d}"))
        .collect();
    let pdims: String = DIM_COLUMNS[..kind.dims.len()]
        .iter()
        .map(|d| format!(", p.{d}"))
        .collect();
    let metrics = |alias: &str| -> String {
        kind.metric_columns()
            .iter()
            .map(|c| format!(", COALESCE({alias}.{c}, 0)"))
            .collect()
    };
    format!(
        "WITH pts AS MATERIALIZED (SELECT s.id{dims}, \
         (SELECT MAX(c.bucket) FROM rollup_cum c WHERE c.series_id = s.id AND c.bucket < $4) AS b_base, \
         (SELECT MAX(c.bucket) FROM rollup_cum c WHERE c.series_id = s.id AND c.bucket <= $5) AS b_end, \
         (SELECT MAX(c.bucket) FROM rollup_cum c WHERE c.series_id = s.id) AS b_last \
         FROM rollup_series s WHERE s.org_id = $1 AND s.kind = $2 AND s.connection_id = $3) \
         SELECT p.id, p.b_last{pdims}{} {} FROM pts p \
         LEFT JOIN rollup_cum b ON b.series_id = p.id AND b.bucket = p.b_base \
         LEFT JOIN rollup_cum e ON e.series_id = p.id AND e.bucket = p.b_end",
        metrics("b"),
        metrics("e"),
    )
}

/// Reads `n` integer metric columns from `start` into metrics.
pub(crate) fn read_metrics<R>(row: &R, start: usize, n: usize) -> StoreResult<Metrics>
where
    R: sqlx::Row,
    usize: sqlx::ColumnIndex<R>,
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let mut values = [0i64; super::METRIC_COLUMNS.len()];
    for (i, value) in values.iter_mut().enumerate().take(n) {
        *value = row.try_get(start + i)?;
    }
    Ok(Metrics::from_array(values))
}

/// Reads a kind's dimension columns from `start`.
pub(crate) fn read_dims<R>(row: &R, start: usize, kind: &RollupKind) -> StoreResult<Vec<DimValue>>
where
    R: sqlx::Row,
    usize: sqlx::ColumnIndex<R>,
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    kind.dims
        .iter()
        .enumerate()
        .map(|(i, (_, ty))| DimValue::decode(row.try_get(start + i)?, *ty))
        .collect()
}

/// Locks rows of `rollup_series` against concurrent engine writes, in id order (PostgreSQL;
/// SQLite's single writer lock is already held).
trait LockSeries {
    fn lock_series(&mut self, ids: &[i64]) -> impl Future<Output = StoreResult<()>> + Send;
    /// Locks every series of a kind and connection.
    fn lock_connection_series(
        &mut self,
        org: OrgId,
        kind: &str,
        connection: i64,
    ) -> impl Future<Output = StoreResult<()>> + Send;
}

impl LockSeries for SqliteConnection {
    async fn lock_series(&mut self, _ids: &[i64]) -> StoreResult<()> {
        Ok(())
    }
    async fn lock_connection_series(&mut self, _: OrgId, _: &str, _: i64) -> StoreResult<()> {
        Ok(())
    }
}

impl LockSeries for PgConnection {
    async fn lock_series(&mut self, ids: &[i64]) -> StoreResult<()> {
        if !ids.is_empty() {
            sqlx::query("SELECT id FROM rollup_series WHERE id = ANY($1) ORDER BY id FOR UPDATE")
                .bind(ids.to_vec())
                .fetch_all(&mut *self)
                .await?;
        }
        Ok(())
    }
    async fn lock_connection_series(
        &mut self,
        org: OrgId,
        kind: &str,
        connection: i64,
    ) -> StoreResult<()> {
        sqlx::query(
            "SELECT id FROM rollup_series WHERE org_id = $1 AND kind = $2 AND connection_id = $3 \
             ORDER BY id FOR UPDATE",
        )
        .bind(org.0)
        .bind(kind)
        .bind(connection)
        .fetch_all(&mut *self)
        .await?;
        Ok(())
    }
}

macro_rules! impl_rollup_write {
    ($conn:ty) => {
        impl RollupWrite for $conn {
            async fn replace_rollup_window(
                &mut self,
                org: OrgId,
                kind: &RollupKind,
                connection: Option<ConnectionId>,
                window: BucketRange,
                facts: &[Fact],
            ) -> StoreResult<()> {
                if let Some(bad) = facts.iter().find(|f| {
                    f.series.connection != connection
                        || f.bucket < window.first
                        || f.bucket > window.last
                }) {
                    return Err(StoreError::Invalid(format!(
                        "a {} fact at bucket {} of connection {:?} lies outside the window {}..={} of connection {:?}",
                        kind.name, bad.bucket, bad.series.connection, window.first, window.last, connection
                    )));
                }
                // The revision first: every writer of the bill's rollups takes its row lock
                // before any series', so writers never wait on each other in a cycle.
                if super::revision::is_billed(kind) {
                    let revision: i64 = sqlx::query_scalar(super::revision::BUMP_ORG)
                        .bind(org.0)
                        .fetch_one(&mut *self)
                        .await?;
                    // What this move rewrote, for readers that keep the bill (none without a
                    // connection: such a move makes them read it all again).
                    if let Some(connection) = connection {
                        sqlx::query(super::revision::LOG_WINDOW)
                            .bind(org.0)
                            .bind(revision)
                            .bind(kind.name)
                            .bind(connection.0)
                            .bind(window.first)
                            .bind(window.last)
                            .execute(&mut *self)
                            .await?;
                    }
                    sqlx::query(super::revision::PRUNE_LOG)
                        .bind(org.0)
                        .bind(revision - super::revision::LOG_KEPT)
                        .execute(&mut *self)
                        .await?;
                }
                let new = aggregate(kind, facts)?;
                let rows = series_rows(org, kind, new.keys().cloned());
                self.insert_rows_then("rollup_series", &series_columns(), rows, &series_conflict())
                    .await?;
                let conn_id = connection_column(connection);
                self.lock_connection_series(org, kind.name, conn_id).await?;
                let points = sqlx::query(sqlx::AssertSqlSafe(window_points_sql(kind)))
                    .bind(org.0)
                    .bind(kind.name)
                    .bind(conn_id)
                    .bind(window.first)
                    .bind(window.last)
                    .fetch_all(&mut *self)
                    .await?;
                let n = kind.metric_columns().len();
                let dims = kind.dims.len();
                let mut series = Vec::with_capacity(points.len());
                for row in &points {
                    let id: i64 = sqlx::Row::try_get(row, 0)?;
                    let last: Option<i64> = sqlx::Row::try_get(row, 1)?;
                    let key = SeriesKey {
                        connection,
                        dims: read_dims(row, 2, kind)?,
                    };
                    let base = read_metrics(row, 2 + dims, n)?;
                    let end = read_metrics(row, 2 + dims + n, n)?;
                    series.push((id, last, key, base, end));
                }
                sqlx::query(
                    "DELETE FROM rollup_cum WHERE series_id IN \
                     (SELECT id FROM rollup_series WHERE org_id = $1 AND kind = $2 AND connection_id = $3) \
                     AND bucket >= $4 AND bucket <= $5",
                )
                .bind(org.0)
                .bind(kind.name)
                .bind(conn_id)
                .bind(window.first)
                .bind(window.last)
                .execute(&mut *self)
                .await?;
                let shift = shift_sql(kind, ">");
                let mut inserts = Vec::new();
                for (id, last, key, base, end) in series {
                    let old_window = end.minus(base);
                    let mut running = base;
                    if let Some(buckets) = new.get(&key) {
                        for (bucket, metrics) in buckets {
                            running = running.plus(*metrics);
                            inserts.push(cum_row(kind, id, *bucket, running));
                        }
                    }
                    let change = running.minus(base).minus(old_window);
                    if last.is_some_and(|last| last > window.last) && !change.is_zero() {
                        let mut query = sqlx::query(sqlx::AssertSqlSafe(shift.clone()))
                            .bind(id)
                            .bind(window.last);
                        for value in &change.to_array()[..n] {
                            query = query.bind(*value);
                        }
                        query.execute(&mut *self).await?;
                    }
                }
                self.insert_rows("rollup_cum", &cum_columns(kind), inserts).await
            }

            async fn add_rollup_deltas(
                &mut self,
                org: OrgId,
                kind: &RollupKind,
                deltas: &[Fact],
            ) -> StoreResult<()> {
                self.add_rollup_deltas_of(org, &[(kind, deltas)]).await
            }

            async fn add_rollup_deltas_of(
                &mut self,
                org: OrgId,
                kinds: &[(&RollupKind, &[Fact])],
            ) -> StoreResult<()> {
                // Every kind's series exist and are known by id before any is locked, so the
                // locks are held for the writes only.
                let mut prepared = Vec::with_capacity(kinds.len());
                for (kind, deltas) in kinds {
                    let deltas = aggregate(kind, deltas)?;
                    if deltas.is_empty() {
                        continue;
                    }
                    if super::revision::is_billed(kind) {
                        sqlx::query(super::revision::BUMP_ORG).bind(org.0).execute(&mut *self).await?;
                    }
                    let rows = series_rows(org, kind, deltas.keys().cloned());
                    self.insert_rows_then("rollup_series", &series_columns(), rows, &series_conflict())
                        .await?;
                    let keys: Vec<&SeriesKey> = deltas.keys().collect();
                    let ids = self.series_ids(org, kind, &keys).await?;
                    let by_id: Vec<(i64, BTreeMap<i64, Metrics>)> =
                        ids.into_iter().zip(deltas.into_values()).collect();
                    prepared.push((*kind, by_id));
                }
                let mut ids: Vec<i64> = prepared
                    .iter()
                    .flat_map(|(_, by_id)| by_id.iter().map(|(id, _)| *id))
                    .collect();
                ids.sort_unstable();
                self.lock_series(&ids).await?;
                for (kind, by_id) in prepared {
                    let points: Vec<(i64, i64)> = by_id
                        .iter()
                        .flat_map(|(id, buckets)| buckets.keys().map(move |bucket| (*id, *bucket)))
                        .collect();
                    self.open_buckets(kind, &points).await?;
                    let ranges: Vec<delta::Range> = by_id
                        .iter()
                        .flat_map(|(id, buckets)| delta::ranges(*id, buckets))
                        .collect();
                    self.add_ranges(kind, &ranges).await?;
                }
                Ok(())
            }

            async fn delete_connection_rollups(&mut self, connection: ConnectionId) -> StoreResult<()> {
                sqlx::query(super::revision::BUMP_CONNECTION_ORG)
                    .bind(connection.0)
                    .execute(&mut *self)
                    .await?;
                sqlx::query(
                    "DELETE FROM rollup_cum WHERE series_id IN (SELECT id FROM rollup_series WHERE connection_id = $1)",
                )
                .bind(connection.0)
                .execute(&mut *self)
                .await?;
                sqlx::query("DELETE FROM rollup_series WHERE connection_id = $1")
                    .bind(connection.0)
                    .execute(&mut *self)
                    .await?;
                Ok(())
            }
        }
    };
}

impl_rollup_write!(SqliteConnection);
impl_rollup_write!(PgConnection);

impl crate::Store {
    /// Replaces a window in a transaction of its own (see
    /// [`RollupWrite::replace_rollup_window`]).
    pub async fn replace_rollup_window(
        &self,
        org: OrgId,
        kind: &RollupKind,
        connection: Option<ConnectionId>,
        window: BucketRange,
        facts: &[Fact],
    ) -> StoreResult<()> {
        crate::with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            tx.replace_rollup_window(org, kind, connection, window, facts).await?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// Adds deltas of several kinds in a transaction of their own (see
    /// [`RollupWrite::add_rollup_deltas_of`]).
    pub async fn add_deltas_of(
        &self,
        org: OrgId,
        kinds: &[(&RollupKind, &[Fact])],
    ) -> StoreResult<()> {
        crate::with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            tx.add_rollup_deltas_of(org, kinds).await?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// Adds deltas in a transaction of their own (see [`RollupWrite::add_rollup_deltas`]).
    pub async fn add_deltas(
        &self,
        org: OrgId,
        kind: &RollupKind,
        deltas: &[Fact],
    ) -> StoreResult<()> {
        crate::with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            tx.add_rollup_deltas(org, kind, deltas).await?;
            tx.commit().await?;
        });
        Ok(())
    }
}
