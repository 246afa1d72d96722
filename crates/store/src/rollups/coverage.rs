//! The cost kind coverage joins on: billed cost per (connection, workspace, API key, model)
//! and day, written with every window beside the kinds of `cost.rs`, and its read for coverage:
//! per series, the totals of a period's comparable days and of its lag days in one statement.

use std::collections::{BTreeMap, HashMap};

use spendlens_domain::{CostLine, Day, DayRange};

use super::{BucketSize, DimType, DimValue, Fact, Metrics, RollupKind, SeriesFilter, SeriesKey};
use crate::cost_lines::ResolvedLine;
use crate::{
    ApiKeyId, ConnectionId, OrgId, Store, StoreError, StoreResult, Totals, WorkspaceId, with_pool,
};

/// Per (connection, workspace, key, model): the billed side of coverage (migration 0013).
pub(crate) const KEY_MODEL: RollupKind = RollupKind {
    name: "cost.key_model",
    bucket: BucketSize::Day,
    dims: &[
        ("workspace", DimType::Id),
        ("api_key", DimType::Id),
        ("model", DimType::Text),
    ],
    extra: &[],
};

/// The facts of a window's lines for [`KEY_MODEL`].
pub(crate) fn key_model_facts(connection: ConnectionId, lines: &[ResolvedLine<'_>]) -> Vec<Fact> {
    per_key_facts(connection, lines, |line| line.model.as_str())
}

/// Lines summed per (day, workspace, key, `label` of the line), as facts of a kind with those
/// three dimensions: [`KEY_MODEL`] (the model) and `units::KEY_UNIT` (the unit).
pub(super) fn per_key_facts(
    connection: ConnectionId,
    lines: &[ResolvedLine<'_>],
    label: fn(&CostLine) -> &str,
) -> Vec<Fact> {
    // (day, workspace, key, label) → totals.
    type Cell<'a> = (i64, Option<i64>, Option<i64>, &'a str);
    let mut groups: HashMap<Cell<'_>, Totals> = HashMap::new();
    for item in lines {
        let line = item.line;
        groups
            .entry((
                i64::from(line.day.number()),
                item.workspace_ref,
                item.api_key_ref,
                label(line),
            ))
            .or_default()
            .add_line(line);
    }
    groups
        .into_iter()
        .map(|((bucket, workspace, key, label), totals)| Fact {
            series: SeriesKey {
                connection: Some(connection),
                dims: vec![
                    DimValue::Id(workspace),
                    DimValue::Id(key),
                    DimValue::Text(label.to_owned()),
                ],
            },
            bucket,
            metrics: Metrics {
                totals,
                extra: Default::default(),
            },
        })
        .collect()
}

/// Billed totals of one (connection, workspace, key, model) over a period's comparable days and
/// its lag days.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyModelTotals {
    pub connection_id: ConnectionId,
    pub workspace_id: Option<WorkspaceId>,
    /// `None` for spend no key carries.
    pub api_key_id: Option<ApiKeyId>,
    pub model: String,
    /// The days the bill is complete for.
    pub comparable: Totals,
    /// The days after the bill's "complete through" day.
    pub lag: Totals,
}

impl Store {
    /// Billed totals per (connection, workspace, key, model) of `connections`, over
    /// `comparable` and `lag` (either may be absent), from the rollup only: a few index seeks
    /// per series whatever the period's length.
    pub async fn billed_by_key_model(
        &self,
        org: OrgId,
        connections: &[ConnectionId],
        comparable: Option<DayRange>,
        lag: Option<DayRange>,
    ) -> StoreResult<Vec<KeyModelTotals>> {
        let Some((first, second, swapped)) = two_ranges(comparable, lag) else {
            return Ok(Vec::new());
        };
        let filter = SeriesFilter {
            connections: Some(connections.to_vec()),
            dims: Vec::new(),
        };
        let rows = self
            .read_period(
                org,
                &KEY_MODEL,
                &filter,
                KEY_MODEL.buckets(first),
                second.map(|r| KEY_MODEL.buckets(r)),
            )
            .await?;
        rows.into_iter()
            .filter(|row| row.current.totals.lines > 0 || row.previous.totals.lines > 0)
            .map(|row| {
                let connection_id = row.series.connection.ok_or_else(|| {
                    StoreError::Corrupt("a cost rollup series has no connection".into())
                })?;
                let dims = &row.series.dims;
                let (comparable, lag) = if swapped {
                    (Totals::default(), row.current.totals)
                } else {
                    (row.current.totals, row.previous.totals)
                };
                Ok(KeyModelTotals {
                    connection_id,
                    workspace_id: dims.first().and_then(DimValue::id).map(WorkspaceId),
                    api_key_id: dims.get(1).and_then(DimValue::id).map(ApiKeyId),
                    model: dims
                        .get(2)
                        .and_then(DimValue::text)
                        .unwrap_or_default()
                        .to_owned(),
                    comparable,
                    lag,
                })
            })
            .collect()
    }
}

/// Metered totals of one (provider, workspace, model, API key, status) over a period's
/// comparable days and its lag days.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MeteredKeyModel {
    pub provider: String,
    /// As the events carried it (a workspace or project id or name); empty when they carried
    /// none.
    pub workspace: String,
    pub model: String,
    /// As the events carried it (a provider key id or hint); empty when they carried none.
    pub api_key: String,
    /// `ok`, `error`, `timeout`…
    pub status: String,
    pub comparable: Metrics,
    pub lag: Metrics,
}

impl Store {
    /// Metered totals per (provider, workspace, model, key, status) of the given providers (as
    /// the events name them), over `comparable` and `lag`, from `meter.coverage` only.
    pub async fn metered_by_key_model(
        &self,
        org: OrgId,
        providers: &[String],
        comparable: Option<DayRange>,
        lag: Option<DayRange>,
    ) -> StoreResult<Vec<MeteredKeyModel>> {
        use crate::meter::rollup::METER_COVERAGE;
        let Some((first, second, swapped)) = two_ranges(comparable, lag) else {
            return Ok(Vec::new());
        };
        let filter = providers_filter(providers);
        let rows = self
            .read_period(
                org,
                &METER_COVERAGE,
                &filter,
                METER_COVERAGE.buckets(first),
                second.map(|r| METER_COVERAGE.buckets(r)),
            )
            .await?;
        let text = |dims: &[DimValue], i: usize| {
            dims.get(i)
                .and_then(DimValue::text)
                .unwrap_or_default()
                .to_owned()
        };
        // Dimensions: provider, workspace, API key, model, status (one series per cell).
        let mut out: Vec<MeteredKeyModel> = rows
            .into_iter()
            .map(|row| {
                let d = &row.series.dims;
                let (comparable, lag) = if swapped {
                    (Metrics::default(), row.current)
                } else {
                    (row.current, row.previous)
                };
                MeteredKeyModel {
                    provider: text(d, 0),
                    workspace: text(d, 1),
                    api_key: text(d, 2),
                    model: text(d, 3),
                    status: text(d, 4),
                    comparable,
                    lag,
                }
            })
            .filter(|m| !m.comparable.is_zero() || !m.lag.is_zero())
            .collect();
        out.sort_by(|a, b| {
            (&a.provider, &a.model, &a.api_key, &a.status, &a.workspace).cmp(&(
                &b.provider,
                &b.model,
                &b.api_key,
                &b.status,
                &b.workspace,
            ))
        });
        Ok(out)
    }
}

impl Store {
    /// The bill per connection and day of `days` (days without a line left out), from the
    /// `cost.workspace` rollup: the daily series of coverage, a few rows per connection and day.
    pub async fn billed_connection_days(
        &self,
        org: OrgId,
        days: DayRange,
    ) -> StoreResult<Vec<(ConnectionId, Day, Totals)>> {
        let rows = self
            .read_days(org, &super::cost::WORKSPACE, &SeriesFilter::default(), days)
            .await?;
        let mut sums: BTreeMap<(ConnectionId, i64), Totals> = BTreeMap::new();
        for row in rows {
            let connection = row.series.connection.ok_or_else(|| {
                StoreError::Corrupt("a cost rollup series has no connection".into())
            })?;
            sums.entry((connection, row.bucket))
                .or_default()
                .add(&row.metrics.totals);
        }
        sums.into_iter()
            .filter(|(_, totals)| totals.lines > 0)
            .map(|((connection, bucket), totals)| Ok((connection, day_of(bucket)?, totals)))
            .collect()
    }

    /// Metered calls per provider (as the events name it) and day of `days`, from
    /// `meter.provider` (one series per provider).
    pub async fn metered_provider_days(
        &self,
        org: OrgId,
        days: DayRange,
    ) -> StoreResult<Vec<(String, Day, Metrics)>> {
        use crate::meter::rollup::METER_PROVIDER;
        let rows = self
            .read_days(org, &METER_PROVIDER, &SeriesFilter::default(), days)
            .await?;
        let mut sums: BTreeMap<(String, i64), Metrics> = BTreeMap::new();
        for row in rows {
            let provider = row
                .series
                .dims
                .first()
                .and_then(DimValue::text)
                .unwrap_or_default()
                .to_owned();
            let at = sums.entry((provider, row.bucket)).or_default();
            *at = at.plus(row.metrics);
        }
        sums.into_iter()
            .filter(|(_, m)| !m.is_zero())
            .map(|((provider, bucket), m)| Ok((provider, day_of(bucket)?, m)))
            .collect()
    }
}

impl Store {
    /// The provider names metered calls carried (one `meter.provider` series each), sorted: a
    /// few rows, where listing them from `meter_day` reads every attribution series.
    pub async fn metered_provider_names(&self, org: OrgId) -> StoreResult<Vec<String>> {
        use crate::meter::rollup::METER_PROVIDER;
        with_pool!(self, pool => {
            Ok(sqlx::query_scalar(
                "SELECT DISTINCT d0 FROM rollup_series WHERE org_id = $1 AND kind = $2 \
                 AND d0 <> '' ORDER BY d0",
            )
            .bind(org.0)
            .bind(METER_PROVIDER.name)
            .fetch_all(pool)
            .await?)
        })
    }

    /// Metered totals of some providers (as the events name them) over `first` and `second`
    /// (either may be absent), summed over the names, from `meter.provider` (a few seeks per
    /// name): what coverage reads fresh on every request — the lag days, which today's calls
    /// move — and what tells it whether the comparable days it kept are still current.
    pub async fn metered_provider_sums(
        &self,
        org: OrgId,
        providers: &[String],
        first: Option<DayRange>,
        second: Option<DayRange>,
    ) -> StoreResult<(Metrics, Metrics)> {
        use crate::meter::rollup::METER_PROVIDER;
        let Some((current, previous, swapped)) = two_ranges(first, second) else {
            return Ok(Default::default());
        };
        if providers.is_empty() {
            return Ok(Default::default());
        }
        let filter = providers_filter(providers);
        let rows = self
            .read_period(
                org,
                &METER_PROVIDER,
                &filter,
                METER_PROVIDER.buckets(current),
                previous.map(|r| METER_PROVIDER.buckets(r)),
            )
            .await?;
        let (mut a, mut b) = (Metrics::default(), Metrics::default());
        for row in rows {
            a = a.plus(row.current);
            b = b.plus(row.previous);
        }
        Ok(if swapped {
            (Metrics::default(), a)
        } else {
            (a, b)
        })
    }
}

/// Two optional ranges as the engine's "current" and optional "previous" (one statement reads
/// both): the first when there is one, else the second alone (`true`: read swapped). `None`
/// when neither is there.
fn two_ranges(
    first: Option<DayRange>,
    second: Option<DayRange>,
) -> Option<(DayRange, Option<DayRange>, bool)> {
    match (first, second) {
        (Some(a), b) => Some((a, b, false)),
        (None, Some(b)) => Some((b, None, true)),
        (None, None) => None,
    }
}

/// Series whose first dimension (the provider, as the events name it) is one of `providers`.
fn providers_filter(providers: &[String]) -> SeriesFilter {
    SeriesFilter {
        connections: None,
        dims: vec![(
            0,
            providers
                .iter()
                .map(|p| DimValue::Text(p.clone()))
                .collect(),
        )],
    }
}

fn day_of(bucket: i64) -> StoreResult<Day> {
    i32::try_from(bucket)
        .ok()
        .and_then(|n| Day::from_number(n).ok())
        .ok_or_else(|| StoreError::Corrupt(format!("rollup bucket {bucket} is not a day")))
}
