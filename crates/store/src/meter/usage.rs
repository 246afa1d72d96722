//! Cost records and token usage over metered events.
//!
//! Two reads with different costs, on purpose:
//! - [`Store::usage_records`]: the raw events, newest first, a page at a time with a keyset
//!   cursor on `(time_ms, event_id)` served by the index `meter_events_org_time_id` (read
//!   backwards); a page costs one index range scan whatever the table's size. On PostgreSQL the
//!   day bounds let the planner skip partitions outside the range.
//! - [`Store::usage_series`]: totals per series for a range of whole hours, from the rollups
//!   only (`meter_day` for the whole days inside the range, `meter_hour` for the partial days
//!   at its ends), never from `meter_events`: a few index seeks per series.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

use spendlens_domain::{Day, DayRange, Money, Quantity};

use super::rollup::{METER_DAY, METER_DIMS, METER_HOUR, METER_PROVIDER};
use crate::rollups::{BucketRange, DimValue, Metrics, SeriesFilter, SeriesKey};
use crate::{OrgId, Store, StoreResult, with_pool};

/// The earliest and latest hours an open range reaches (far beyond any event).
const OPEN_FROM_HOUR: i64 = -24 * 1_000_000;
const OPEN_TO_HOUR: i64 = 24 * 10_000_000;

/// Which metered events: every field narrows; `None` does not.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UsageFilter {
    pub provider: Option<String>,
    pub model: Option<String>,
    pub customer: Option<String>,
    /// Stored API key values (hints or ids): the caller resolves what was typed to these.
    pub api_keys: Option<Vec<String>>,
    /// First hour included (hours since 1970-01-01 00:00 UTC).
    pub from_hour: Option<i64>,
    /// First hour *not* included.
    pub to_hour: Option<i64>,
}

impl UsageFilter {
    /// The dimension filter of the rollup kinds (provider, model, api key, customer).
    fn series_filter(&self) -> SeriesFilter {
        let mut dims = Vec::new();
        let text = |v: &String| vec![DimValue::Text(v.clone())];
        if let Some(p) = &self.provider {
            dims.push((0, text(p)));
        }
        if let Some(m) = &self.model {
            dims.push((1, text(m)));
        }
        if let Some(keys) = &self.api_keys {
            dims.push((2, keys.iter().cloned().map(DimValue::Text).collect()));
        }
        if let Some(c) = &self.customer {
            dims.push((3, text(c)));
        }
        SeriesFilter {
            connections: None,
            dims,
        }
    }
}

/// Where the next page starts: the last row of the previous page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordCursor {
    pub time_ms: i64,
    pub event_id: String,
}

/// One stored event as the records list shows it. Token counts are `None` when the sender
/// reported none; costs are `None` when unknown.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UsageRecord {
    pub event_id: String,
    pub time_ms: i64,
    pub provider: String,
    pub model: String,
    pub customer: Option<String>,
    /// As stored: a hint or an id (mask before showing).
    pub api_key: Option<String>,
    pub status: String,
    /// Input tokens neither read from nor written to the cache.
    pub input_uncached: Option<i64>,
    pub cache_read: Option<i64>,
    pub cache_write: Option<i64>,
    /// Visible output (reasoning excluded).
    pub output_visible: Option<i64>,
    pub reasoning: Option<i64>,
    pub token_flags: Option<String>,
    pub quantity: Option<(Quantity, String)>,
    pub cost: Option<Money>,
    pub cost_source: String,
    pub reported_cost: Option<Money>,
    pub catalog_cost: Option<Money>,
    /// The catalog cost's input and output parts (`None` for events stored before the split
    /// was kept, or not priced by the catalog).
    pub catalog_input_cost: Option<Money>,
    pub catalog_output_cost: Option<Money>,
    pub unpriced_reason: Option<String>,
    pub latency_ms: Option<i64>,
}

const RECORD_COLUMNS: &str = "event_id, time_ms, provider, model, customer, api_key, status, \
     input_tokens, cache_read_tokens, cache_write_tokens, output_tokens, reasoning_tokens, \
     token_flags, quantity_micros, unit, cost_nanos, cost_source, reported_cost_nanos, \
     catalog_cost_nanos, catalog_input_cost_nanos, catalog_output_cost_nanos, unpriced_reason, \
     latency_ms";

/// The records query: integers are formatted by Rust, text is bound after `$1` (the org).
fn records_sql(
    filter: &UsageFilter,
    after: Option<&RecordCursor>,
    limit: u32,
) -> Option<(String, Vec<String>)> {
    let mut sql = format!("SELECT {RECORD_COLUMNS} FROM meter_events WHERE org_id = $1");
    let mut binds: Vec<String> = Vec::new();
    let bind = |binds: &mut Vec<String>, value: &str| {
        binds.push(value.to_owned());
        format!("${}", binds.len() + 1)
    };
    for (column, value) in [
        ("provider", &filter.provider),
        ("model", &filter.model),
        ("customer", &filter.customer),
    ] {
        if let Some(value) = value {
            let p = bind(&mut binds, value);
            let _ = write!(sql, " AND {column} = {p}");
        }
    }
    if let Some(keys) = &filter.api_keys {
        if keys.is_empty() {
            return None;
        }
        let list: Vec<String> = keys.iter().map(|k| bind(&mut binds, k)).collect();
        let _ = write!(sql, " AND api_key IN ({})", list.join(", "));
    }
    // Day bounds too: on PostgreSQL they skip whole partitions.
    if let Some(from) = filter.from_hour {
        let _ = write!(
            sql,
            " AND time_ms >= {} AND day >= {}",
            from * 3_600_000,
            from.div_euclid(24)
        );
    }
    if let Some(to) = filter.to_hour {
        let _ = write!(
            sql,
            " AND time_ms < {} AND day <= {}",
            to * 3_600_000,
            (to - 1).div_euclid(24)
        );
    }
    if let Some(cursor) = after {
        let p = bind(&mut binds, &cursor.event_id);
        let _ = write!(
            sql,
            " AND (time_ms, event_id) < ({}, {p}) AND day <= {}",
            cursor.time_ms,
            cursor.time_ms.div_euclid(86_400_000)
        );
    }
    let _ = write!(sql, " ORDER BY time_ms DESC, event_id DESC LIMIT {limit}");
    Some((sql, binds))
}

/// Cuts `[from, to)` hours into whole days and the partial days at the ends:
/// (days, head hours, tail hours), each an inclusive bucket range when not empty.
fn plan(from: i64, to: i64) -> (Option<BucketRange>, Vec<BucketRange>) {
    if to <= from {
        return (None, Vec::new());
    }
    let first_day = from.div_euclid(24) + i64::from(from.rem_euclid(24) != 0);
    let last_day = to.div_euclid(24) - 1;
    if first_day > last_day {
        return (
            None,
            vec![BucketRange {
                first: from,
                last: to - 1,
            }],
        );
    }
    let mut hours = Vec::new();
    if from < first_day * 24 {
        hours.push(BucketRange {
            first: from,
            last: first_day * 24 - 1,
        });
    }
    if to > (last_day + 1) * 24 {
        hours.push(BucketRange {
            first: (last_day + 1) * 24,
            last: to - 1,
        });
    }
    (
        Some(BucketRange {
            first: first_day,
            last: last_day,
        }),
        hours,
    )
}

impl Store {
    /// One page of the organization's metered events matching `filter`, newest first,
    /// starting after `after`. Returns at most `limit` rows.
    pub async fn usage_records(
        &self,
        org: OrgId,
        filter: &UsageFilter,
        after: Option<&RecordCursor>,
        limit: u32,
    ) -> StoreResult<Vec<UsageRecord>> {
        let Some((sql, binds)) = records_sql(filter, after, limit) else {
            return Ok(Vec::new());
        };
        with_pool!(self, pool => {
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(org.0);
            for value in binds {
                query = query.bind(value);
            }
            let rows = query.fetch_all(pool).await?;
            let mut out = Vec::with_capacity(rows.len());
            for row in &rows {
                use sqlx::Row;
                let money = |v: Option<i64>| v.map(Money::from_nanos);
                let quantity: Option<i64> = row.try_get(13)?;
                let unit: Option<String> = row.try_get(14)?;
                out.push(UsageRecord {
                    event_id: row.try_get(0)?,
                    time_ms: row.try_get(1)?,
                    provider: row.try_get(2)?,
                    model: row.try_get(3)?,
                    customer: row.try_get(4)?,
                    api_key: row.try_get(5)?,
                    status: row.try_get(6)?,
                    input_uncached: row.try_get(7)?,
                    cache_read: row.try_get(8)?,
                    cache_write: row.try_get(9)?,
                    output_visible: row.try_get(10)?,
                    reasoning: row.try_get(11)?,
                    token_flags: row.try_get(12)?,
                    quantity: quantity.zip(unit).map(|(q, u)| (Quantity::from_micros(q), u)),
                    cost: money(row.try_get(15)?),
                    cost_source: row.try_get(16)?,
                    reported_cost: money(row.try_get(17)?),
                    catalog_cost: money(row.try_get(18)?),
                    catalog_input_cost: money(row.try_get(19)?),
                    catalog_output_cost: money(row.try_get(20)?),
                    unpriced_reason: row.try_get(21)?,
                    latency_ms: row.try_get(22)?,
                });
            }
            Ok(out)
        })
    }

    /// The metrics of the calls `filter` matches (its hour bounds aside) on each UTC day of
    /// `days` that had any, in day order, from `meter_day` alone: a day's figures are the
    /// difference of consecutive running totals, so the days add up to the period's total.
    pub async fn usage_days(
        &self,
        org: OrgId,
        filter: &UsageFilter,
        days: DayRange,
    ) -> StoreResult<Vec<(Day, Metrics)>> {
        let rows = self
            .read_days(org, &METER_DAY, &filter.series_filter(), days)
            .await?;
        let mut by_day: BTreeMap<i64, Metrics> = BTreeMap::new();
        for row in rows {
            let at = by_day.entry(row.bucket).or_default();
            *at = at.plus(row.metrics);
        }
        by_day
            .into_iter()
            .map(|(bucket, m)| Ok((crate::connections::day_from_number(bucket)?, m)))
            .collect()
    }

    /// Totals per series (provider, model, api key, customer, product, agent, workflow,
    /// status) of the events matching `filter`, from the rollups: whole days from `meter_day`,
    /// the partial days at the range's ends from `meter_hour`. Series without events in the
    /// range are left out. Summed in the database over the dimensions not in `keep` (indexes
    /// into [`super::rollup::METER_DIMS`], the others read as empty): `&[]` gives one total,
    /// and with no filter but the provider its whole days come from `meter.provider`.
    pub async fn usage_series(
        &self,
        org: OrgId,
        filter: &UsageFilter,
        keep: &[usize],
    ) -> StoreResult<Vec<(SeriesKey, Metrics)>> {
        let from = filter.from_hour.unwrap_or(OPEN_FROM_HOUR);
        let to = filter.to_hour.unwrap_or(OPEN_TO_HOUR);
        let series = filter.series_filter();
        let (days, hours) = plan(from, to);
        let mut totals: HashMap<SeriesKey, Metrics> = HashMap::new();
        let mut add = |key: SeriesKey, m: Metrics| {
            let at = totals.entry(key).or_default();
            *at = at.plus(m);
        };
        // Filtered or kept by provider alone, the whole days come from `meter.provider` (one
        // series per provider, whatever the customers, models and keys), the key padded to
        // `meter_day`'s dimensions.
        let by_provider = filter.model.is_none()
            && filter.customer.is_none()
            && filter.api_keys.is_none()
            && keep.iter().all(|d| *d == 0);
        if let Some(days) = days {
            let rows = if by_provider {
                let mut rows = self
                    .read_period_grouped(org, &METER_PROVIDER, &series, days, None, keep)
                    .await?;
                for row in &mut rows {
                    row.series
                        .dims
                        .resize(METER_DIMS.len(), DimValue::Text(String::new()));
                }
                rows
            } else {
                self.read_period_grouped(org, &METER_DAY, &series, days, None, keep)
                    .await?
            };
            for row in rows {
                add(row.series, row.current);
            }
        }
        if let Some(&head) = hours.first() {
            // Both ends in one read: the head as "current", the tail as "previous".
            for row in self
                .read_period_grouped(org, &METER_HOUR, &series, head, hours.get(1).copied(), keep)
                .await?
            {
                add(row.series, row.current.plus(row.previous));
            }
        }
        let mut out: Vec<(SeriesKey, Metrics)> =
            totals.into_iter().filter(|(_, m)| !m.is_zero()).collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    }

    /// The distinct values of one dimension (by index in [`super::rollup::METER_DIMS`]) the
    /// organization's metered events carry, empty ones left out: the known API keys, models,
    /// customers, providers (filter choices, and resolving a masked key).
    pub async fn meter_dimension_values(&self, org: OrgId, dim: usize) -> StoreResult<Vec<String>> {
        let column = match dim {
            0 => "d0",
            1 => "d1",
            2 => "d2",
            3 => "d3",
            4 => "d4",
            5 => "d5",
            6 => "d6",
            _ => "d7",
        };
        let sql = format!(
            "SELECT DISTINCT {column} FROM rollup_series WHERE org_id = $1 AND kind = $2 \
             AND {column} <> '' ORDER BY {column}"
        );
        with_pool!(self, pool => {
            Ok(sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                .bind(org.0)
                .bind(METER_DAY.name)
                .fetch_all(pool)
                .await?)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_range_is_whole_days_and_the_hours_at_its_ends() {
        // 2 days + 3 hours before + 5 hours after.
        let (days, hours) = plan(10 * 24 - 3, 12 * 24 + 5);
        assert_eq!(
            days,
            Some(BucketRange {
                first: 10,
                last: 11
            })
        );
        assert_eq!(
            hours,
            vec![
                BucketRange {
                    first: 237,
                    last: 239
                },
                BucketRange {
                    first: 288,
                    last: 292
                }
            ]
        );
        // Whole days only.
        assert_eq!(
            plan(240, 288),
            (
                Some(BucketRange {
                    first: 10,
                    last: 11
                }),
                vec![]
            )
        );
        // Inside one day: hours only.
        assert_eq!(
            plan(241, 250),
            (
                None,
                vec![BucketRange {
                    first: 241,
                    last: 249
                }]
            )
        );
        assert_eq!(plan(5, 5), (None, vec![]));
    }

    #[test]
    fn records_bind_text_and_page_on_the_key() {
        let (sql, binds) = records_sql(
            &UsageFilter {
                customer: Some("x'; DROP TABLE meter_events".into()),
                api_keys: Some(vec!["a".into(), "b".into()]),
                from_hour: Some(48),
                to_hour: Some(72),
                ..UsageFilter::default()
            },
            Some(&RecordCursor {
                time_ms: 200_000_000,
                event_id: "e-9".into(),
            }),
            51,
        )
        .unwrap();
        assert!(!sql.contains("DROP"), "{sql}");
        assert_eq!(binds, vec!["x'; DROP TABLE meter_events", "a", "b", "e-9"]);
        assert!(sql.contains("customer = $2") && sql.contains("api_key IN ($3, $4)"));
        assert!(
            sql.contains("(time_ms, event_id) < (200000000, $5)"),
            "{sql}"
        );
        assert!(
            sql.contains("day >= 2") && sql.contains("day <= 2"),
            "{sql}"
        );
        assert!(sql.ends_with("ORDER BY time_ms DESC, event_id DESC LIMIT 51"));
        let none = UsageFilter {
            api_keys: Some(vec![]),
            ..UsageFilter::default()
        };
        assert!(records_sql(&none, None, 5).is_none());
    }
}
