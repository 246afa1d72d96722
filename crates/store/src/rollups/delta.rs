//! The statements behind [`super::RollupWrite::add_rollup_deltas`], set-based: a batch of
//! deltas costs a few statements whatever the number of series and buckets it touches (it was
//! three or four statements per (series, bucket) plus one per series, which held metered ingest
//! to tens of thousands of events a second).
//!
//! Three steps, each one statement per chunk of rows:
//! 1. [`DeltaSql::series_ids`]: the ids of the batch's series (inserted before if new).
//! 2. [`DeltaSql::open_buckets`]: a running-total row at each (series, bucket) of the batch that
//!    has none, holding the series' total before that bucket (the row before it, or zero). Every
//!    row then still holds its total before the batch, so the order rows are opened in does not
//!    matter.
//! 3. [`DeltaSql::add_ranges`]: every row of a series at or after a delta's bucket grows by the
//!    sum of the batch's deltas at or before it: one disjoint bucket range per delta
//!    ([`ranges`]), so no row is matched twice.
//!
//! SQLite binds each cell of a `VALUES` list (anonymous `?`, at most 32,766 per statement);
//! PostgreSQL binds one array per column and reads them with `UNNEST`.

use std::collections::BTreeMap;

use sqlx::{PgConnection, SqliteConnection};

use super::{DIM_COLUMNS, DimValue, MAX_DIMS, Metrics, RollupKind, SeriesKey, connection_column};
use crate::{OrgId, StoreError, StoreResult};

/// Cells bound per SQLite statement (its limit is 32,766).
const SQLITE_CELLS: usize = 30_000;
/// Rows per PostgreSQL statement.
const POSTGRES_ROWS: usize = 20_000;

/// One bucket range of a series and what each of its running totals grows by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Range {
    pub series: i64,
    /// First bucket of the range.
    pub from: i64,
    /// First bucket after it (`i64::MAX`: open-ended).
    pub until: i64,
    pub add: Metrics,
}

/// For one series' deltas (by bucket), the disjoint ranges `[b_k, b_k+1)` and what every
/// running total in each grows by: the sum of the deltas at or before `b_k`. The last range is
/// open-ended.
pub(crate) fn ranges(series: i64, deltas: &BTreeMap<i64, Metrics>) -> Vec<Range> {
    let mut out = Vec::with_capacity(deltas.len());
    let mut sum = Metrics::default();
    let mut buckets = deltas.iter().peekable();
    while let Some((bucket, delta)) = buckets.next() {
        sum = sum.plus(*delta);
        let until = buckets.peek().map_or(i64::MAX, |(next, _)| **next);
        out.push(Range {
            series,
            from: *bucket,
            until,
            add: sum,
        });
    }
    out
}

/// The three set-based statements of a delta write, per dialect.
pub(crate) trait DeltaSql {
    /// The ids of `keys` (which must exist) in `kind`, in the order of `keys`.
    fn series_ids(
        &mut self,
        org: OrgId,
        kind: &RollupKind,
        keys: &[&SeriesKey],
    ) -> impl Future<Output = StoreResult<Vec<i64>>> + Send;

    /// Opens a running-total row at each (series, bucket) that has none (see the module docs).
    fn open_buckets(
        &mut self,
        kind: &RollupKind,
        points: &[(i64, i64)],
    ) -> impl Future<Output = StoreResult<()>> + Send;

    /// Adds each range's metrics to the running totals in it.
    fn add_ranges(
        &mut self,
        kind: &RollupKind,
        ranges: &[Range],
    ) -> impl Future<Output = StoreResult<()>> + Send;
}

/// Orders the ids found for `keys` (each with its position) as `keys` are.
fn in_order(found: Vec<(i64, i64)>, keys: usize) -> StoreResult<Vec<i64>> {
    let mut ids = vec![None; keys];
    for (position, id) in found {
        if let Some(slot) = usize::try_from(position).ok().and_then(|p| ids.get_mut(p)) {
            *slot = Some(id);
        }
    }
    ids.into_iter()
        .collect::<Option<Vec<i64>>>()
        .ok_or_else(|| {
            StoreError::Corrupt("a rollup series written in this batch is missing".to_owned())
        })
}

fn dims_of(key: &SeriesKey) -> impl Iterator<Item = String> + '_ {
    (0..MAX_DIMS).map(|i| key.dims.get(i).map(DimValue::encode).unwrap_or_default())
}

/// `SELECT position, id` of the series in `v(k, c, d0…d7)` (a `VALUES` list or `UNNEST`
/// defined by the caller), with the organization and kind bound as `org` and `kind`; the id is
/// NULL for a series that is not there.
///
/// One lookup on the unique key per row of `v`, as a correlated subquery: written as a join,
/// PostgreSQL's generic plan for a table whose statistics lag its growth (a new organization's
/// first minutes of traffic) put `rollup_series` outside and scanned the whole list once per
/// series — seconds per batch, quadratic in the batch's series.
fn series_ids_sql(source: &str, org: &str, kind: &str) -> String {
    let dims: String = DIM_COLUMNS
        .iter()
        .map(|d| format!(" AND s.{d} = v.{d}"))
        .collect();
    format!(
        "{source} SELECT v.k, (SELECT s.id FROM rollup_series s \
         WHERE s.org_id = {org} AND s.kind = {kind} AND s.connection_id = v.c{dims}) FROM v"
    )
}

/// The (position, id) pairs of the series found.
fn found_ids(rows: Vec<(i64, Option<i64>)>) -> impl Iterator<Item = (i64, i64)> {
    rows.into_iter()
        .filter_map(|(position, id)| id.map(|id| (position, id)))
}

/// Opens rows at the points of `v(s, b)`.
fn open_buckets_sql(kind: &RollupKind, source: &str) -> String {
    let columns = kind.metric_columns();
    let carried: String = columns
        .iter()
        .map(|c| format!(", COALESCE(c.{c}, 0)"))
        .collect();
    format!(
        "{source} INSERT INTO rollup_cum (series_id, bucket, {}) \
         SELECT v.s, v.b{carried} FROM v \
         LEFT JOIN rollup_cum c ON c.series_id = v.s AND c.bucket = \
         (SELECT MAX(p.bucket) FROM rollup_cum p WHERE p.series_id = v.s AND p.bucket < v.b) \
         WHERE NOT EXISTS (SELECT 1 FROM rollup_cum x WHERE x.series_id = v.s AND x.bucket = v.b)",
        columns.join(", ")
    )
}

/// Adds the metrics `a0…` of the ranges in `v(s, lo, hi, a0…)`.
fn add_ranges_sql(kind: &RollupKind, source: &str) -> String {
    let sets: Vec<String> = kind
        .metric_columns()
        .iter()
        .enumerate()
        .map(|(i, c)| format!("{c} = {c} + v.a{i}"))
        .collect();
    format!(
        "{source} UPDATE rollup_cum SET {} FROM v \
         WHERE rollup_cum.series_id = v.s AND rollup_cum.bucket >= v.lo AND rollup_cum.bucket < v.hi",
        sets.join(", ")
    )
}

fn range_columns(kind: &RollupKind) -> Vec<String> {
    let mut columns = vec!["s".to_owned(), "lo".to_owned(), "hi".to_owned()];
    columns.extend((0..kind.metric_columns().len()).map(|i| format!("a{i}")));
    columns
}

/// `WITH v(columns) AS (VALUES (?, …), …)` for `rows` rows.
fn sqlite_values(columns: &[String], rows: usize) -> String {
    let one = format!("({})", vec!["?"; columns.len()].join(", "));
    format!(
        "WITH v({}) AS (VALUES {})",
        columns.join(", "),
        vec![one; rows].join(", ")
    )
}

fn key_columns() -> Vec<String> {
    let mut columns = vec!["k".to_owned(), "c".to_owned()];
    columns.extend(DIM_COLUMNS.iter().map(|d| (*d).to_owned()));
    columns
}

impl DeltaSql for SqliteConnection {
    async fn series_ids(
        &mut self,
        org: OrgId,
        kind: &RollupKind,
        keys: &[&SeriesKey],
    ) -> StoreResult<Vec<i64>> {
        let columns = key_columns();
        let mut found = Vec::with_capacity(keys.len());
        let per = SQLITE_CELLS / columns.len();
        for (n, chunk) in keys.chunks(per).enumerate() {
            let sql = series_ids_sql(&sqlite_values(&columns, chunk.len()), "?", "?");
            let mut query = sqlx::query_as::<_, (i64, Option<i64>)>(sqlx::AssertSqlSafe(sql));
            for (i, key) in chunk.iter().enumerate() {
                query = query
                    .bind(i64::try_from(n * per + i).unwrap_or(i64::MAX))
                    .bind(connection_column(key.connection));
                for dim in dims_of(key) {
                    query = query.bind(dim);
                }
            }
            found.extend(found_ids(
                query
                    .bind(org.0)
                    .bind(kind.name)
                    .fetch_all(&mut *self)
                    .await?,
            ));
        }
        in_order(found, keys.len())
    }

    async fn open_buckets(&mut self, kind: &RollupKind, points: &[(i64, i64)]) -> StoreResult<()> {
        let columns = ["s".to_owned(), "b".to_owned()];
        for chunk in points.chunks(SQLITE_CELLS / columns.len()) {
            let sql = open_buckets_sql(kind, &sqlite_values(&columns, chunk.len()));
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for (series, bucket) in chunk {
                query = query.bind(*series).bind(*bucket);
            }
            query.execute(&mut *self).await?;
        }
        Ok(())
    }

    async fn add_ranges(&mut self, kind: &RollupKind, ranges: &[Range]) -> StoreResult<()> {
        let columns = range_columns(kind);
        let n = kind.metric_columns().len();
        for chunk in ranges.chunks(SQLITE_CELLS / columns.len()) {
            let sql = add_ranges_sql(kind, &sqlite_values(&columns, chunk.len()));
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for range in chunk {
                query = query.bind(range.series).bind(range.from).bind(range.until);
                for value in &range.add.to_array()[..n] {
                    query = query.bind(*value);
                }
            }
            query.execute(&mut *self).await?;
        }
        Ok(())
    }
}

/// `WITH v(columns) AS (SELECT * FROM UNNEST($1::type[], …))`, one array per column.
fn postgres_unnest(columns: &[String], types: &[&str]) -> String {
    let arrays: Vec<String> = types
        .iter()
        .enumerate()
        .map(|(i, ty)| format!("${}::{ty}[]", i + 1))
        .collect();
    format!(
        "WITH v({}) AS (SELECT * FROM UNNEST({}))",
        columns.join(", "),
        arrays.join(", ")
    )
}

impl DeltaSql for PgConnection {
    async fn series_ids(
        &mut self,
        org: OrgId,
        kind: &RollupKind,
        keys: &[&SeriesKey],
    ) -> StoreResult<Vec<i64>> {
        let columns = key_columns();
        let mut types = vec!["bigint", "bigint"];
        types.extend([("text"); MAX_DIMS]);
        let params = columns.len();
        let sql = series_ids_sql(
            &postgres_unnest(&columns, &types),
            &format!("${}", params + 1),
            &format!("${}", params + 2),
        );
        let mut found = Vec::with_capacity(keys.len());
        for (n, chunk) in keys.chunks(POSTGRES_ROWS).enumerate() {
            let positions: Vec<i64> = (0..chunk.len())
                .map(|i| i64::try_from(n * POSTGRES_ROWS + i).unwrap_or(i64::MAX))
                .collect();
            let connections: Vec<i64> = chunk
                .iter()
                .map(|k| connection_column(k.connection))
                .collect();
            let mut dims: Vec<Vec<String>> = (0..MAX_DIMS)
                .map(|_| Vec::with_capacity(chunk.len()))
                .collect();
            for key in chunk {
                for (column, value) in dims.iter_mut().zip(dims_of(key)) {
                    column.push(value);
                }
            }
            let mut query =
                sqlx::query_as::<_, (i64, Option<i64>)>(sqlx::AssertSqlSafe(sql.clone()))
                    .bind(positions)
                    .bind(connections);
            for column in dims {
                query = query.bind(column);
            }
            found.extend(found_ids(
                query
                    .bind(org.0)
                    .bind(kind.name)
                    .fetch_all(&mut *self)
                    .await?,
            ));
        }
        in_order(found, keys.len())
    }

    async fn open_buckets(&mut self, kind: &RollupKind, points: &[(i64, i64)]) -> StoreResult<()> {
        let columns = ["s".to_owned(), "b".to_owned()];
        let sql = open_buckets_sql(kind, &postgres_unnest(&columns, &["bigint", "bigint"]));
        for chunk in points.chunks(POSTGRES_ROWS) {
            let series: Vec<i64> = chunk.iter().map(|p| p.0).collect();
            let buckets: Vec<i64> = chunk.iter().map(|p| p.1).collect();
            sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
                .bind(series)
                .bind(buckets)
                .execute(&mut *self)
                .await?;
        }
        Ok(())
    }

    async fn add_ranges(&mut self, kind: &RollupKind, ranges: &[Range]) -> StoreResult<()> {
        let columns = range_columns(kind);
        let types = vec!["bigint"; columns.len()];
        let sql = add_ranges_sql(kind, &postgres_unnest(&columns, &types));
        let n = kind.metric_columns().len();
        for chunk in ranges.chunks(POSTGRES_ROWS) {
            let mut arrays: Vec<Vec<i64>> = (0..columns.len())
                .map(|_| Vec::with_capacity(chunk.len()))
                .collect();
            for range in chunk {
                let values = range.add.to_array();
                let row = [range.series, range.from, range.until]
                    .into_iter()
                    .chain(values[..n].iter().copied());
                for (array, value) in arrays.iter_mut().zip(row) {
                    array.push(value);
                }
            }
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql.clone()));
            for array in arrays {
                query = query.bind(array);
            }
            query.execute(&mut *self).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cost(nanos: i64) -> Metrics {
        let mut m = Metrics::default();
        m.totals.cost = spendlens_domain::Money::from_nanos(nanos);
        m
    }

    #[test]
    fn each_range_adds_the_deltas_at_or_before_it_and_the_last_is_open() {
        let deltas: BTreeMap<i64, Metrics> = [(3, cost(5)), (7, cost(-2)), (9, cost(10))].into();
        let got = ranges(4, &deltas);
        assert_eq!(
            got,
            vec![
                Range {
                    series: 4,
                    from: 3,
                    until: 7,
                    add: cost(5)
                },
                Range {
                    series: 4,
                    from: 7,
                    until: 9,
                    add: cost(3)
                },
                Range {
                    series: 4,
                    from: 9,
                    until: i64::MAX,
                    add: cost(13)
                },
            ]
        );
    }

    #[test]
    fn no_deltas_no_ranges() {
        assert!(ranges(1, &BTreeMap::new()).is_empty());
    }
}
