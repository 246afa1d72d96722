//! Day-by-day reads summed in the database: each bucket's activity (a running total minus the
//! series' row before it, taken with `LAG` over the series' rows) summed per kept dimension and
//! bucket, with only the metric columns asked for. One row per (group, bucket) crosses the
//! driver instead of one per (series, bucket) plus the one or two rows before the range, each
//! holding every metric: what the Providers page's forecasts and anomalies read on every load.

use std::fmt::Write as _;

use futures_util::TryStreamExt as _;

use super::read::filter_clauses;
use super::series_days::days_rows_sql;
use super::{BucketRange, DIM_COLUMNS, RollupKind, SeriesFilter};
use crate::{OrgId, Store, StoreError, StoreResult, with_pool};

/// One group's activity per bucket inside a range.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupDays {
    /// The kept dimensions' stored text, in the order asked.
    pub dims: Vec<String>,
    /// A series of the group had activity before the anchor.
    pub active_before: bool,
    /// Buckets with activity, in order, and what each added to the metrics asked, in their
    /// order.
    pub buckets: Vec<(i64, Vec<i64>)>,
}

/// The grouped read's SQL: kept columns `g…`, then the bucket, whether a series of the group
/// was active before `anchor`, and one sum per metric; ordered by group, then bucket.
fn grouped_days_sql(
    kind: &RollupKind,
    clauses: &str,
    range: BucketRange,
    anchor: i64,
    keep: &[&str],
    metrics: &[&str],
) -> String {
    let dims = &DIM_COLUMNS[..kind.dims.len()];
    let rows = days_rows_sql(dims, metrics, clauses, range, anchor);
    let mut columns = String::from("id, connection_id");
    for d in dims {
        let _ = write!(columns, ", {d}");
    }
    columns.push_str(", bucket");
    for m in metrics {
        let _ = write!(columns, ", {m}");
    }
    let groups = keep.join(", ");
    let diffs: String = metrics.iter().fold(String::new(), |mut out, m| {
        let _ = write!(out, ", {m} - COALESCE(LAG({m}) OVER w, 0) AS {m}");
        out
    });
    let sums: String = metrics.iter().fold(String::new(), |mut out, m| {
        let _ = write!(out, ", CAST(SUM({m}) AS BIGINT)");
        out
    });
    // A row before the anchor may come twice (before the range and before the anchor, when
    // nothing lies between them): both copies are equal, so either one is the `LAG` of the
    // range's first row, and neither lies in the range.
    format!(
        "WITH r({columns}) AS ({rows}), \
         d AS (SELECT {groups}, bucket, \
         MAX(CASE WHEN bucket < {anchor} THEN 1 ELSE 0 END) OVER (PARTITION BY id) AS ab{diffs} \
         FROM r WINDOW w AS (PARTITION BY id ORDER BY bucket)) \
         SELECT {groups}, bucket, CAST(MAX(ab) AS BIGINT){sums} FROM d WHERE bucket >= {first} \
         GROUP BY {groups}, bucket ORDER BY {groups}, bucket",
        first = range.first,
    )
}

impl Store {
    /// Every group of `kind`'s series matching `filter` (its dimensions `keep`, by index) with
    /// activity inside `range`: what each bucket of the range added to `metrics` (metric
    /// columns, e.g. `cost_nanos`), summed over the group's series, and whether one of them was
    /// active before `anchor` (at or before the range's first bucket). Groups come in the
    /// database's order of their text.
    pub async fn read_days_grouped(
        &self,
        org: OrgId,
        kind: &RollupKind,
        filter: &SeriesFilter,
        range: BucketRange,
        anchor: i64,
        keep: &[usize],
        metrics: &[&str],
    ) -> StoreResult<Vec<GroupDays>> {
        kind.check()?;
        if anchor > range.first {
            return Err(StoreError::Invalid(format!(
                "the anchor {anchor} lies after the range's first bucket {}",
                range.first
            )));
        }
        let keep: Vec<&str> = keep
            .iter()
            .map(|i| {
                DIM_COLUMNS
                    .get(*i)
                    .filter(|_| *i < kind.dims.len())
                    .copied()
                    .ok_or_else(|| {
                        StoreError::Invalid(format!(
                            "rollup kind {} has no dimension {i}",
                            kind.name
                        ))
                    })
            })
            .collect::<StoreResult<_>>()?;
        if keep.is_empty() {
            return Err(StoreError::Invalid(
                "a grouped day read keeps at least one dimension".into(),
            ));
        }
        if let Some(m) = metrics.iter().find(|m| !kind.metric_columns().contains(*m)) {
            return Err(StoreError::Invalid(format!(
                "rollup kind {} has no metric {m}",
                kind.name
            )));
        }
        let Some((clauses, binds)) = filter_clauses(kind, filter)? else {
            return Ok(Vec::new());
        };
        let sql = grouped_days_sql(kind, &clauses, range, anchor, &keep, metrics);
        let mut out: Vec<GroupDays> = Vec::new();
        with_pool!(self, pool => {
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(org.0).bind(kind.name);
            for value in binds {
                query = query.bind(value);
            }
            let mut rows = query.fetch(pool);
            while let Some(row) = rows.try_next().await? {
                let dims = (0..keep.len())
                    .map(|i| sqlx::Row::try_get::<String, _>(&row, i))
                    .collect::<Result<Vec<String>, _>>()?;
                let bucket: i64 = sqlx::Row::try_get(&row, keep.len())?;
                let before: i64 = sqlx::Row::try_get(&row, keep.len() + 1)?;
                let values = (0..metrics.len())
                    .map(|i| sqlx::Row::try_get::<i64, _>(&row, keep.len() + 2 + i))
                    .collect::<Result<Vec<i64>, _>>()?;
                match out.last_mut() {
                    Some(group) if group.dims == dims => {
                        group.active_before |= before != 0;
                        group.buckets.push((bucket, values));
                    }
                    _ => out.push(GroupDays {
                        dims,
                        active_before: before != 0,
                        buckets: vec![(bucket, values)],
                    }),
                }
            }
        });
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rollups::{BucketSize, DimType};

    const KIND: RollupKind = RollupKind {
        name: "test.kind",
        bucket: BucketSize::Day,
        dims: &[("model", DimType::Text), ("key", DimType::Text)],
        extra: &[],
    };

    #[test]
    fn the_sum_is_per_kept_dimension_and_bucket_of_the_range_only() {
        let sql = grouped_days_sql(
            &KIND,
            "",
            BucketRange {
                first: 10,
                last: 20,
            },
            4,
            &["d0"],
            &["cost_nanos"],
        );
        assert!(
            sql.starts_with("WITH r(id, connection_id, d0, d1, bucket, cost_nanos) AS ("),
            "{sql}"
        );
        assert!(
            sql.contains("cost_nanos - COALESCE(LAG(cost_nanos) OVER w, 0)"),
            "{sql}"
        );
        assert!(sql.contains("CASE WHEN bucket < 4 THEN 1"), "{sql}");
        assert!(
            sql.ends_with("WHERE bucket >= 10 GROUP BY d0, bucket ORDER BY d0, bucket"),
            "{sql}"
        );
        // Only the metric asked is read from the running totals.
        assert!(!sql.contains("input_tokens"), "{sql}");
    }
}
