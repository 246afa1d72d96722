//! The engine's day-by-day read for forecasts and anomalies: each series' totals per bucket
//! over a range (and whether it was active before it), from the cumulative rows inside it and the one before it (a range scan on
//! the primary key per series, never the facts), and the two typed reads built on it — the
//! billed side (`cost.key_model`) and the metered side (`meter_day`, summed over the
//! attribution dimensions forecasts and anomalies do not split by).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use futures_util::TryStreamExt as _;

use spendlens_domain::{Day, DayRange, Money};

use super::coverage::KEY_MODEL;
use super::grouped_days::GroupedRead;
use super::read::filter_clauses;
use super::write::{read_dims, read_metrics};
use super::{BucketRange, DimValue, Metrics, RollupKind, SeriesFilter, SeriesKey};
use crate::{
    ApiKeyId, ConnectionId, OrgId, Store, StoreError, StoreResult, WorkspaceId, with_pool,
};

/// One series' activity per bucket inside a range.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeriesDays {
    /// The series' row id (reads list series in its order).
    pub id: i64,
    pub series: SeriesKey,
    /// The series had activity before the range (before the anchor, when one was given).
    pub active_before: bool,
    /// Buckets with activity, in order, and what each added.
    pub buckets: Vec<(i64, Metrics)>,
}

/// The rows of `range` and the one before it, per series; with `anchor` before the range, also
/// the last row before `anchor` (whether the series was active before it).
fn days_sql(kind: &RollupKind, clauses: &str, range: BucketRange, anchor: i64) -> String {
    let dims: String =
        super::DIM_COLUMNS[..kind.dims.len()]
            .iter()
            .fold(String::new(), |mut out, d| {
                let _ = write!(out, ", s.{d}");
                out
            });
    let metrics: String = kind
        .metric_columns()
        .iter()
        .fold(String::new(), |mut out, c| {
            let _ = write!(out, ", c.{c}");
            out
        });
    let (first, last) = (range.first, range.last);
    // Only series with a row inside the range are read at all (the others are dropped anyway),
    // so a short range of a kind with many series costs one probe per series, not three.
    let before = |bound: i64| {
        format!(
            " UNION ALL \
             SELECT s.id, s.connection_id{dims}, c.bucket{metrics} \
             FROM rollup_series s JOIN rollup_cum c ON c.series_id = s.id \
             WHERE s.org_id = $1 AND s.kind = $2{clauses} \
             AND EXISTS (SELECT 1 FROM rollup_cum r WHERE r.series_id = s.id \
             AND r.bucket >= {first} AND r.bucket <= {last}) AND c.bucket = \
             (SELECT MAX(b.bucket) FROM rollup_cum b WHERE b.series_id = s.id AND b.bucket < {bound})"
        )
    };
    let anchored = if anchor < first {
        before(anchor)
    } else {
        String::new()
    };
    format!(
        "SELECT s.id, s.connection_id{dims}, c.bucket{metrics} \
         FROM rollup_series s JOIN rollup_cum c ON c.series_id = s.id \
         WHERE s.org_id = $1 AND s.kind = $2{clauses} AND c.bucket >= {first} AND c.bucket <= {last}\
         {before_first}{anchored} \
         ORDER BY 1, {bucket_column}",
        before_first = before(first),
        bucket_column = 3 + kind.dims.len(),
    )
}

impl Store {
    /// Every series of `kind` matching `filter` with activity inside `range`, with what each
    /// bucket of the range added (differences of consecutive cumulative rows).
    pub async fn read_series_days(
        &self,
        org: OrgId,
        kind: &RollupKind,
        filter: &SeriesFilter,
        range: BucketRange,
    ) -> StoreResult<Vec<SeriesDays>> {
        self.read_series_days_anchored(org, kind, filter, range, range.first)
            .await
    }

    /// [`Store::read_series_days`], saying whether each series was active before `anchor`
    /// (at or before the range's first bucket) rather than before the range.
    pub async fn read_series_days_anchored(
        &self,
        org: OrgId,
        kind: &RollupKind,
        filter: &SeriesFilter,
        range: BucketRange,
        anchor: i64,
    ) -> StoreResult<Vec<SeriesDays>> {
        kind.check()?;
        range.check_anchor(anchor)?;
        let Some((clauses, binds)) = filter_clauses(kind, filter)? else {
            return Ok(Vec::new());
        };
        let sql = days_sql(kind, &clauses, range, anchor);
        let n = kind.metric_columns().len();
        let dims = kind.dims.len();
        // Rows come ordered by series id and bucket, and are folded as they stream in: a whole
        // read of a large bill is never held as database rows (a series' dimensions are read
        // once, from its first row).
        let mut out: Vec<SeriesDays> = Vec::new();
        let mut current: Option<(i64, Metrics)> = None;
        with_pool!(self, pool => {
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(org.0).bind(kind.name);
            for value in binds {
                query = query.bind(value);
            }
            let mut rows = query.fetch(pool);
            while let Some(row) = rows.try_next().await? {
                let id: i64 = sqlx::Row::try_get(&row, 0)?;
                let bucket: i64 = sqlx::Row::try_get(&row, 2 + dims)?;
                let cum = read_metrics(&row, 3 + dims, n)?;
                let previous = match current {
                    Some((open, last)) if open == id => last,
                    _ => {
                        let connection: i64 = sqlx::Row::try_get(&row, 1)?;
                        out.push(SeriesDays {
                            id,
                            series: SeriesKey {
                                connection: (connection != 0).then_some(ConnectionId(connection)),
                                dims: read_dims(&row, 2, kind)?,
                            },
                            active_before: false,
                            buckets: Vec::new(),
                        });
                        Metrics::default()
                    }
                };
                current = Some((id, cum));
                let Some(series) = out.last_mut() else {
                    continue;
                };
                if bucket < anchor {
                    series.active_before = true;
                } else if bucket >= range.first {
                    series.buckets.push((bucket, cum.minus(previous)));
                }
            }
        });
        out.retain(|s| !s.buckets.is_empty());
        Ok(out)
    }
}

/// Billed totals of one (connection, workspace, key, model) per day of a range.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BilledDays {
    /// The rollup series' id: reads list series in its order.
    pub series_id: i64,
    pub connection_id: ConnectionId,
    pub workspace_id: Option<WorkspaceId>,
    /// `None` for spend no key carries.
    pub api_key_id: Option<ApiKeyId>,
    pub model: String,
    /// The series was billed before the range.
    pub active_before: bool,
    pub days: Vec<(Day, crate::Totals)>,
}

/// Metered totals of one (provider, model, key, customer) per day of a range, summed over
/// product, agent, workflow and status.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MeteredDays {
    pub provider: String,
    pub model: String,
    /// As the events carried it; empty when they carried none.
    pub api_key: String,
    /// Empty for calls sent without a customer.
    pub customer: String,
    /// The cell was metered before the range.
    pub active_before: bool,
    pub days: Vec<(Day, Metrics)>,
}

/// Metered spend of one (provider, model, key, customer) per day of a range: what forecasts
/// and anomalies read (cost and tokens only), summed over product, agent, workflow and status
/// in the database.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MeteredSpend {
    pub provider: String,
    pub model: String,
    /// As the events carried it; empty when they carried none.
    pub api_key: String,
    /// Empty for calls sent without a customer.
    pub customer: String,
    /// The cell was metered before the anchor.
    pub active_before: bool,
    /// Per day with calls: the cost, and every token (uncached input, cache reads and writes,
    /// output).
    pub days: Vec<(Day, Money, i64)>,
}

fn day_of(bucket: i64) -> StoreResult<Day> {
    i32::try_from(bucket)
        .ok()
        .and_then(|n| Day::from_number(n).ok())
        .ok_or_else(|| StoreError::Corrupt(format!("rollup bucket {bucket} is not a day")))
}

impl Store {
    /// The bill per (connection, workspace, key, model) and day of `days`, from the
    /// `cost.key_model` rollup.
    pub async fn billed_days(&self, org: OrgId, days: DayRange) -> StoreResult<Vec<BilledDays>> {
        self.billed_days_where(org, &SeriesFilter::default(), days, days.from())
            .await
    }

    /// [`Store::billed_days`] of one connection, `active_before` saying whether a series was
    /// billed before `anchor` (at or before `days`' first day): what a reader that kept the bill
    /// from `anchor` on reads again of a window a sync rewrote.
    pub async fn billed_days_of(
        &self,
        org: OrgId,
        connection: ConnectionId,
        days: DayRange,
        anchor: Day,
    ) -> StoreResult<Vec<BilledDays>> {
        let filter = SeriesFilter {
            connections: Some(vec![connection]),
            dims: Vec::new(),
        };
        self.billed_days_where(org, &filter, days, anchor).await
    }

    /// The windows of `cost.key_model` that syncs rewrote after the billed-rollup revision
    /// `after` up to `through` (each connection and days), or `None` when another write moved
    /// the revision in between (a deleted connection, a rebuild) or the log no longer reaches
    /// back to `after`: then only a whole read is current.
    pub async fn billed_changes(
        &self,
        org: OrgId,
        after: i64,
        through: i64,
    ) -> StoreResult<Option<Vec<(ConnectionId, DayRange)>>> {
        let Some(changes) = self.rollup_changes(org, &KEY_MODEL, after, through).await? else {
            return Ok(None);
        };
        changes
            .into_iter()
            .map(|c| {
                let days = DayRange::new(day_of(c.buckets.first)?, day_of(c.buckets.last)?)
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                Ok((c.connection, days))
            })
            .collect::<StoreResult<Vec<_>>>()
            .map(Some)
    }

    async fn billed_days_where(
        &self,
        org: OrgId,
        filter: &SeriesFilter,
        days: DayRange,
        anchor: Day,
    ) -> StoreResult<Vec<BilledDays>> {
        let rows = self
            .read_series_days_anchored(
                org,
                &KEY_MODEL,
                filter,
                KEY_MODEL.buckets(days),
                i64::from(anchor.number()),
            )
            .await?;
        rows.into_iter()
            .map(|row| {
                let connection_id = row.series.connection.ok_or_else(|| {
                    StoreError::Corrupt("a cost rollup series has no connection".into())
                })?;
                let dims = &row.series.dims;
                Ok(BilledDays {
                    series_id: row.id,
                    connection_id,
                    workspace_id: dims.first().and_then(DimValue::id).map(WorkspaceId),
                    api_key_id: dims.get(1).and_then(DimValue::id).map(ApiKeyId),
                    model: dims
                        .get(2)
                        .and_then(DimValue::text)
                        .unwrap_or_default()
                        .to_owned(),
                    active_before: row.active_before,
                    days: row
                        .buckets
                        .into_iter()
                        .map(|(bucket, m)| Ok((day_of(bucket)?, m.totals)))
                        .collect::<StoreResult<_>>()?,
                })
            })
            .collect()
    }

    /// Metered calls per (provider, model, key, customer) and day of `days`, from `meter_day`.
    pub async fn metered_days(&self, org: OrgId, days: DayRange) -> StoreResult<Vec<MeteredDays>> {
        self.metered_days_anchored(org, days, days.from()).await
    }

    /// [`Store::metered_days`], `active_before` saying whether a cell was metered before
    /// `anchor` (at or before `days`' first day): what a reader that kept the days from
    /// `anchor` on reads of the newest ones.
    pub async fn metered_days_anchored(
        &self,
        org: OrgId,
        days: DayRange,
        anchor: Day,
    ) -> StoreResult<Vec<MeteredDays>> {
        use crate::meter::rollup::METER_DAY;
        let rows = self
            .read_series_days_anchored(
                org,
                &METER_DAY,
                &SeriesFilter::default(),
                METER_DAY.buckets(days),
                i64::from(anchor.number()),
            )
            .await?;
        let text = |dims: &[DimValue], i: usize| {
            dims.get(i)
                .and_then(DimValue::text)
                .unwrap_or_default()
                .to_owned()
        };
        type Cell = (String, String, String, String);
        let mut grouped: BTreeMap<Cell, (bool, BTreeMap<i64, Metrics>)> = BTreeMap::new();
        for row in rows {
            let d = &row.series.dims;
            let at = grouped
                .entry((text(d, 0), text(d, 1), text(d, 2), text(d, 3)))
                .or_default();
            at.0 |= row.active_before;
            for (bucket, m) in row.buckets {
                let sum = at.1.entry(bucket).or_default();
                *sum = sum.plus(m);
            }
        }
        grouped
            .into_iter()
            .map(
                |((provider, model, api_key, customer), (active_before, days))| {
                    Ok(MeteredDays {
                        provider,
                        model,
                        api_key,
                        customer,
                        active_before,
                        days: days
                            .into_iter()
                            .map(|(bucket, m)| Ok((day_of(bucket)?, m)))
                            .collect::<StoreResult<_>>()?,
                    })
                },
            )
            .collect()
    }
}

impl Store {
    /// [`Store::metered_days_anchored`] narrowed to what forecasts and anomalies read — cost and
    /// tokens per (provider, model, key, customer) and day, the days summed in the database —
    /// in (provider, model, key, customer) order.
    pub async fn metered_spend_days(
        &self,
        org: OrgId,
        days: DayRange,
        anchor: Day,
    ) -> StoreResult<Vec<MeteredSpend>> {
        use crate::meter::rollup::METER_DAY;
        let groups = self
            .read_days_grouped(
                org,
                &METER_DAY,
                &SeriesFilter::default(),
                &GroupedRead {
                    range: METER_DAY.buckets(days),
                    anchor: Some(i64::from(anchor.number())),
                    keep: &[0, 1, 2, 3],
                    metrics: &SPEND_METRICS,
                },
            )
            .await?;
        let mut out = groups
            .into_iter()
            .map(|g| {
                let mut dims = g.dims.into_iter();
                let mut next = || dims.next().unwrap_or_default();
                Ok(MeteredSpend {
                    provider: next(),
                    model: next(),
                    api_key: next(),
                    customer: next(),
                    active_before: g.active_before,
                    days: g
                        .buckets
                        .into_iter()
                        .map(|(bucket, v)| {
                            let (cost, tokens) = v.split_first().ok_or_else(|| {
                                StoreError::Corrupt("a grouped day read gave no metrics".into())
                            })?;
                            let tokens = tokens.iter().fold(0_i64, |sum, t| sum.saturating_add(*t));
                            Ok((day_of(bucket)?, Money::from_nanos(*cost), tokens))
                        })
                        .collect::<StoreResult<_>>()?,
                })
            })
            .collect::<StoreResult<Vec<_>>>()?;
        // The database's text order may not be Rust's (PostgreSQL's collation).
        out.sort_by(|a, b| {
            (&a.provider, &a.model, &a.api_key, &a.customer).cmp(&(
                &b.provider,
                &b.model,
                &b.api_key,
                &b.customer,
            ))
        });
        Ok(out)
    }
}

/// The columns [`Store::metered_spend_days`] reads: the cost, then every token column.
const SPEND_METRICS: [&str; 5] = [
    "cost_nanos",
    "input_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "output_tokens",
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rollups::{BucketSize, DimType};

    const KIND: RollupKind = RollupKind {
        name: "test.kind",
        bucket: BucketSize::Day,
        dims: &[("model", DimType::Text)],
        extra: &[],
    };

    #[test]
    fn the_read_takes_the_range_and_the_row_before_it() {
        let sql = days_sql(
            &KIND,
            " AND s.d0 IN ($3)",
            BucketRange {
                first: 10,
                last: 20,
            },
            10,
        );
        assert!(sql.contains("c.bucket >= 10 AND c.bucket <= 20"), "{sql}");
        assert!(sql.contains("b.bucket < 10"), "{sql}");
        assert!(sql.ends_with("ORDER BY 1, 4"), "{sql}");
        assert_eq!(sql.matches("s.d0 IN ($3)").count(), 2);
    }

    #[test]
    fn an_anchor_before_the_range_also_takes_the_row_before_it() {
        let sql = days_sql(
            &KIND,
            "",
            BucketRange {
                first: 10,
                last: 20,
            },
            4,
        );
        assert!(sql.contains("b.bucket < 10"), "{sql}");
        assert!(sql.contains("b.bucket < 4"), "{sql}");
        assert_eq!(sql.matches("UNION ALL").count(), 2);
    }
}
