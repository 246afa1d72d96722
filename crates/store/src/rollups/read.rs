//! The engine's read: one statement per kind returns every matching series' totals over the
//! current and previous periods, from three or four primary-key seeks per series (the bill's
//! kinds kept in memory under their revision, see `memo`).

use std::fmt::Write as _;

use futures_util::TryStreamExt as _;

use super::write::{read_dims, read_metrics};
use super::{BucketRange, DIM_COLUMNS, PeriodRow, RollupKind, SeriesFilter, SeriesKey};
use crate::{ConnectionId, OrgId, Store, StoreError, StoreResult, with_pool};

/// A read's SQL, the text parameters it binds after `$1` org and `$2` kind, and where its
/// columns are.
struct ReadSql {
    sql: String,
    binds: Vec<String>,
    previous: bool,
}

/// The `AND …` clauses (on `rollup_series s`) of a filter and the text values they bind after
/// `$1` org and `$2` kind. `None` when the filter admits nothing.
pub(super) fn filter_clauses(
    kind: &RollupKind,
    filter: &SeriesFilter,
) -> StoreResult<Option<(String, Vec<String>)>> {
    let mut clauses = String::new();
    let mut binds = Vec::new();
    if let Some(connections) = &filter.connections {
        if connections.is_empty() {
            return Ok(None);
        }
        let ids: Vec<String> = connections.iter().map(|c| c.0.to_string()).collect();
        let _ = write!(clauses, " AND s.connection_id IN ({})", ids.join(", "));
    }
    for (dim, values) in &filter.dims {
        let Some(column) = DIM_COLUMNS.get(*dim).filter(|_| *dim < kind.dims.len()) else {
            return Err(StoreError::Invalid(format!(
                "rollup kind {} has no dimension {dim}",
                kind.name
            )));
        };
        if values.is_empty() {
            return Ok(None);
        }
        let placeholders: Vec<String> = values
            .iter()
            .map(|value| {
                binds.push(value.encode());
                format!("${}", binds.len() + 2)
            })
            .collect();
        let _ = write!(clauses, " AND s.{column} IN ({})", placeholders.join(", "));
    }
    Ok(Some((clauses, binds)))
}

/// The SQL of [`Store::read_period`] and, with `group`, of [`Store::read_period_grouped`].
/// Bounds and ids are integers formatted by Rust; dimension values are bound. `None` when the
/// filter admits nothing.
fn read_sql(
    kind: &RollupKind,
    filter: &SeriesFilter,
    current: BucketRange,
    previous: Option<BucketRange>,
    group: Option<&[usize]>,
) -> StoreResult<Option<ReadSql>> {
    let Some((clauses, binds)) = filter_clauses(kind, filter)? else {
        return Ok(None);
    };
    if let Some(bad) = group.and_then(|g| g.iter().find(|d| **d >= kind.dims.len())) {
        return Err(StoreError::Invalid(format!(
            "rollup kind {} has no dimension {bad}",
            kind.name
        )));
    }
    // Distinct bounds (cumulative points) and which point each period boundary reads.
    let mut bounds: Vec<i64> = vec![current.last, current.first - 1];
    if let Some(p) = previous {
        bounds.push(p.last);
        bounds.push(p.first - 1);
    }
    let mut points: Vec<i64> = bounds.clone();
    points.sort_unstable();
    points.dedup();
    let at = |bound: i64| points.iter().position(|p| *p == bound).unwrap_or(0);
    let dims = &DIM_COLUMNS[..kind.dims.len()];
    let mut sql = String::from("WITH pts AS MATERIALIZED (SELECT s.id, s.connection_id");
    for d in dims {
        let _ = write!(sql, ", s.{d}");
    }
    for (i, point) in points.iter().enumerate() {
        let _ = write!(
            sql,
            ", (SELECT MAX(c.bucket) FROM rollup_cum c WHERE c.series_id = s.id AND c.bucket <= {point}) AS b{i}"
        );
    }
    let _ = write!(
        sql,
        " FROM rollup_series s WHERE s.org_id = $1 AND s.kind = $2{clauses}) SELECT "
    );
    // Grouped, the database sums the series of each group: the rows sent back (each a hop
    // through the driver) are the groups', not the series'. Dimensions not kept read ''.
    match group {
        None => {
            sql.push_str("p.connection_id");
            for d in dims {
                let _ = write!(sql, ", p.{d}");
            }
        }
        Some(keep) => {
            sql.push_str("CAST(0 AS BIGINT)");
            for (i, d) in dims.iter().enumerate() {
                if keep.contains(&i) {
                    let _ = write!(sql, ", p.{d}");
                } else {
                    sql.push_str(", CAST('' AS TEXT)");
                }
            }
        }
    }
    let grouped = group.is_some();
    let mut difference = |hi: usize, lo: usize| {
        for c in kind.metric_columns() {
            if grouped {
                let _ = write!(
                    sql,
                    ", CAST(SUM(COALESCE(c{hi}.{c}, 0) - COALESCE(c{lo}.{c}, 0)) AS BIGINT)"
                );
            } else {
                let _ = write!(sql, ", COALESCE(c{hi}.{c}, 0) - COALESCE(c{lo}.{c}, 0)");
            }
        }
    };
    difference(at(current.last), at(current.first - 1));
    if let Some(p) = previous {
        difference(at(p.last), at(p.first - 1));
    }
    sql.push_str(" FROM pts p");
    for i in 0..points.len() {
        let _ = write!(
            sql,
            " LEFT JOIN rollup_cum c{i} ON c{i}.series_id = p.id AND c{i}.bucket = p.b{i}"
        );
    }
    // Only series with a row inside the span read (the highest point above the lowest).
    let (lowest, highest) = (0, points.len() - 1);
    let _ = write!(
        sql,
        " WHERE p.b{highest} IS NOT NULL AND (p.b{lowest} IS NULL OR p.b{highest} > p.b{lowest})"
    );
    match group {
        // No group: one row of every series together, none when no series read.
        Some([]) => sql.push_str(" HAVING COUNT(*) > 0"),
        Some(keep) => {
            let columns: Vec<String> = keep.iter().map(|i| format!("p.{}", dims[*i])).collect();
            let _ = write!(sql, " GROUP BY {}", columns.join(", "));
        }
        None => {}
    }
    Ok(Some(ReadSql {
        sql,
        binds,
        previous: previous.is_some(),
    }))
}

impl Store {
    /// Every series of `kind` matching `filter` with activity in the current or previous
    /// period, with its totals over each (see the module docs).
    pub async fn read_period(
        &self,
        org: OrgId,
        kind: &RollupKind,
        filter: &SeriesFilter,
        current: BucketRange,
        previous: Option<BucketRange>,
    ) -> StoreResult<Vec<PeriodRow>> {
        self.read_periods(org, kind, filter, current, previous, None)
            .await
    }

    /// As [`Store::read_period`], summed in the database over the series that share the
    /// dimensions `keep` (indexes into the kind's dimensions; the others read as empty and
    /// the connection as none): one row per group, or a single row for all when `keep` is
    /// empty. For views that show groups, not series (a customer's calls over every model
    /// and key).
    pub async fn read_period_grouped(
        &self,
        org: OrgId,
        kind: &RollupKind,
        filter: &SeriesFilter,
        current: BucketRange,
        previous: Option<BucketRange>,
        keep: &[usize],
    ) -> StoreResult<Vec<PeriodRow>> {
        self.read_periods(org, kind, filter, current, previous, Some(keep))
            .await
    }

    async fn read_periods(
        &self,
        org: OrgId,
        kind: &RollupKind,
        filter: &SeriesFilter,
        current: BucketRange,
        previous: Option<BucketRange>,
        group: Option<&[usize]>,
    ) -> StoreResult<Vec<PeriodRow>> {
        kind.check()?;
        // The bill's kinds move the revision with every write: read it first, and answer from
        // memory while it stands. A revision that cannot be read (a database migrated only part
        // of the way, as upgrade tests hold) keeps nothing; the read below says any real error.
        let revision = if super::revision::is_billed(kind) {
            self.rollup_revision(org).await.ok()
        } else {
            None
        };
        let kept = match revision {
            Some(revision) => {
                let key = format!(
                    "{}|{filter:?}|{current:?}|{previous:?}|{group:?}",
                    kind.name
                );
                if let Some(rows) = self.period_memo.get(org, revision, &key) {
                    return Ok(rows);
                }
                Some((revision, key))
            }
            None => None,
        };
        let Some(read) = read_sql(kind, filter, current, previous, group)? else {
            return Ok(Vec::new());
        };
        let n = kind.metric_columns().len();
        let dims = kind.dims.len();
        // Converted as the rows stream in, never all held as database rows.
        let mut out = Vec::new();
        with_pool!(self, pool => {
            let mut query = sqlx::query(sqlx::AssertSqlSafe(read.sql)).bind(org.0).bind(kind.name);
            for value in read.binds {
                query = query.bind(value);
            }
            let mut rows = query.fetch(pool);
            while let Some(row) = rows.try_next().await? {
                let connection: i64 = sqlx::Row::try_get(&row, 0)?;
                out.push(PeriodRow {
                    series: SeriesKey {
                        connection: (connection != 0).then_some(ConnectionId(connection)),
                        dims: read_dims(&row, 1, kind)?,
                    },
                    current: read_metrics(&row, 1 + dims, n)?,
                    previous: if read.previous {
                        read_metrics(&row, 1 + dims + n, n)?
                    } else {
                        super::Metrics::default()
                    },
                });
            }
        });
        if let Some((revision, key)) = kept {
            self.period_memo.put(org, revision, key, &out);
        }
        Ok(out)
    }

    /// How many period reads of the bill's rollups were answered from memory (see `memo`).
    pub fn period_reads_kept(&self) -> u64 {
        self.period_memo.hits()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rollups::{BucketSize, DimType, DimValue};

    const KIND: RollupKind = RollupKind {
        name: "test.kind",
        bucket: BucketSize::Day,
        dims: &[("workspace", DimType::Id), ("model", DimType::Text)],
        extra: &[],
    };

    #[test]
    fn contiguous_periods_share_a_point_and_values_are_bound() {
        let read = read_sql(
            &KIND,
            &SeriesFilter {
                connections: Some(vec![ConnectionId(3), ConnectionId(4)]),
                dims: vec![(1, vec![DimValue::Text("x'; DROP TABLE t".into())])],
            },
            BucketRange {
                first: 130,
                last: 159,
            },
            Some(BucketRange {
                first: 100,
                last: 129,
            }),
            None,
        )
        .unwrap()
        .unwrap();
        assert_eq!(read.sql.matches("MAX(c.bucket)").count(), 3, "{}", read.sql);
        assert!(read.sql.contains("s.connection_id IN (3, 4)"));
        assert!(read.sql.contains("s.d1 IN ($3)"));
        assert!(!read.sql.contains("DROP"));
        assert_eq!(read.binds.len(), 1);
    }

    #[test]
    fn an_empty_filter_list_reads_nothing_and_a_bad_dimension_is_refused() {
        let empty = SeriesFilter {
            connections: Some(vec![]),
            dims: vec![],
        };
        let range = BucketRange { first: 1, last: 2 };
        assert!(
            read_sql(&KIND, &empty, range, None, None)
                .unwrap()
                .is_none()
        );
        let bad = SeriesFilter {
            connections: None,
            dims: vec![(2, vec![DimValue::Id(None)])],
        };
        assert!(read_sql(&KIND, &bad, range, None, None).is_err());
        assert!(read_sql(&KIND, &SeriesFilter::default(), range, None, Some(&[2])).is_err());
    }
}
