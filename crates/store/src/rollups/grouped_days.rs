//! Day-by-day reads summed in the database: each bucket's activity (a running total minus the
//! series' row before it) summed per kept dimension and bucket, with only the metric columns
//! asked for. One row per (group, bucket) crosses the driver instead of one per (series,
//! bucket) plus the one or two rows before the range, each holding every metric: what the
//! Providers page's forecasts and anomalies read on every load.

use std::fmt::Write as _;

use futures_util::TryStreamExt as _;

use super::read::filter_clauses;
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

/// What a grouped day read sums.
#[derive(Clone, Copy, Debug)]
pub struct GroupedRead<'a> {
    pub range: BucketRange,
    /// Whether a group was active before this bucket (at or before the range's first) is said;
    /// with none, every group reads as not active before (and no series is probed for it).
    pub anchor: Option<i64>,
    /// The dimensions kept, by index.
    pub keep: &'a [usize],
    /// The metric columns summed, e.g. `cost_nanos`.
    pub metrics: &'a [&'a str],
}

/// The grouped read's SQL: kept columns `g…`, then the bucket, whether a series of the group
/// was active before `anchor`, and one sum per metric; ordered by group, then bucket. One pass
/// over the kind's series: each row inside the range minus the series' row before it (two
/// seeks on the primary key), and whether the series has a row before the anchor (one more).
fn grouped_days_sql(
    clauses: &str,
    range: BucketRange,
    anchor: Option<i64>,
    keep: &[&str],
    metrics: &[&str],
) -> String {
    // Each kept column and the bucket: with nothing kept, one group of every series.
    let kept: String = keep.iter().map(|d| format!("s.{d}, ")).collect();
    let groups: String = keep.iter().map(|d| format!("{d}, ")).collect();
    let diffs: String = metrics.iter().fold(String::new(), |mut out, m| {
        let _ = write!(out, ", c.{m} - COALESCE(p.{m}, 0) AS {m}");
        out
    });
    let sums: String = metrics.iter().fold(String::new(), |mut out, m| {
        let _ = write!(out, ", CAST(SUM({m}) AS BIGINT)");
        out
    });
    let (first, last) = (range.first, range.last);
    let active_before = match anchor {
        Some(anchor) => format!(
            "CASE WHEN EXISTS (SELECT 1 FROM rollup_cum a WHERE a.series_id = s.id \
             AND a.bucket < {anchor}) THEN 1 ELSE 0 END"
        ),
        None => "0".to_owned(),
    };
    format!(
        "WITH t AS (SELECT {kept}c.bucket AS bucket, {active_before} AS ab{diffs} \
         FROM rollup_series s JOIN rollup_cum c ON c.series_id = s.id \
         AND c.bucket >= {first} AND c.bucket <= {last} \
         LEFT JOIN rollup_cum p ON p.series_id = s.id AND p.bucket = \
         (SELECT MAX(x.bucket) FROM rollup_cum x WHERE x.series_id = s.id AND x.bucket < c.bucket) \
         WHERE s.org_id = $1 AND s.kind = $2{clauses}) \
         SELECT {groups}bucket, CAST(MAX(ab) AS BIGINT){sums} FROM t \
         GROUP BY {groups}bucket ORDER BY {groups}bucket"
    )
}

impl Store {
    /// Every group of `kind`'s series matching `filter` (its dimensions `read.keep`; with none
    /// kept, all the series as one group) with activity inside `read.range`: what each bucket of the range added to `read.metrics`,
    /// summed over the group's series, and whether one of them was active before `read.anchor`.
    /// Groups come in the database's order of their text.
    pub async fn read_days_grouped(
        &self,
        org: OrgId,
        kind: &RollupKind,
        filter: &SeriesFilter,
        read: &GroupedRead<'_>,
    ) -> StoreResult<Vec<GroupDays>> {
        let GroupedRead {
            range,
            anchor,
            keep,
            metrics,
        } = *read;
        kind.check()?;
        if let Some(anchor) = anchor {
            range.check_anchor(anchor)?;
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
        if let Some(m) = metrics.iter().find(|m| !kind.metric_columns().contains(*m)) {
            return Err(StoreError::Invalid(format!(
                "rollup kind {} has no metric {m}",
                kind.name
            )));
        }
        let Some((clauses, binds)) = filter_clauses(kind, filter)? else {
            return Ok(Vec::new());
        };
        let sql = grouped_days_sql(&clauses, range, anchor, &keep, metrics);
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
    #[test]
    fn the_sum_is_per_kept_dimension_and_bucket_of_the_range_only() {
        let sql = grouped_days_sql(
            "",
            BucketRange {
                first: 10,
                last: 20,
            },
            Some(4),
            &["d0"],
            &["cost_nanos"],
        );
        assert!(
            sql.starts_with("WITH t AS (SELECT s.d0, c.bucket AS bucket"),
            "{sql}"
        );
        assert!(
            sql.contains("c.cost_nanos - COALESCE(p.cost_nanos, 0)"),
            "{sql}"
        );
        assert!(sql.contains("a.bucket < 4) THEN 1"), "{sql}");
        assert!(sql.contains("c.bucket >= 10 AND c.bucket <= 20"), "{sql}");
        assert!(
            sql.ends_with("GROUP BY d0, bucket ORDER BY d0, bucket"),
            "{sql}"
        );
        // Only the metric asked is read from the running totals.
        assert!(!sql.contains("input_tokens"), "{sql}");
    }

    #[test]
    fn with_nothing_kept_the_sum_is_per_bucket() {
        let range = BucketRange { first: 1, last: 2 };
        let sql = grouped_days_sql("", range, None, &[], &["cost_nanos"]);
        assert!(
            sql.starts_with("WITH t AS (SELECT c.bucket AS bucket, 0 AS ab"),
            "{sql}"
        );
        assert!(!sql.contains("EXISTS"), "no anchor, no probe: {sql}");
        assert!(sql.contains("SELECT bucket, CAST(MAX(ab)"), "{sql}");
        assert!(sql.ends_with("GROUP BY bucket ORDER BY bucket"), "{sql}");
    }
}
