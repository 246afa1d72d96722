//! The attribution views' reads (Customers, Products, Agents): metered calls per attribution
//! value over a period and the one before it, from the rollups of the one rollup engine
//! (O(series) seeks whatever the period's length; never `meter_events`): `meter.attribution`
//! (one series per value) when no provider or model filter applies, else `meter_day` summed
//! per value in the database; and the facets
//! a view's filters offer (providers and models seen, the first metered day).

use std::collections::BTreeSet;

use spendlens_domain::{Day, DayRange};

use super::rollup::{METER_ATTRIBUTION, METER_COVERAGE, METER_DAY};
use crate::rollups::{DimValue, Metrics, SeriesFilter};
use crate::{OrgId, Store, StoreResult, with_pool};

/// What a view groups metered calls by: one of the rollup's attribution dimensions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Attribution {
    Customer,
    Product,
    Agent,
}

impl Attribution {
    /// The dimension's index in [`super::rollup::METER_DIMS`].
    pub const fn dim(self) -> usize {
        match self {
            Attribution::Customer => 3,
            Attribution::Product => 4,
            Attribution::Agent => 5,
        }
    }

    pub const fn as_str(self) -> &'static str {
        match self {
            Attribution::Customer => "customer",
            Attribution::Product => "product",
            Attribution::Agent => "agent",
        }
    }
}

/// Which metered calls a view reads. `None`: any.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MeterFilter {
    /// Provider names as stored (normalized at ingest: `openai`, `bedrock`, `groq`…).
    pub providers: Option<Vec<String>>,
    /// Model names as sent.
    pub models: Option<Vec<String>>,
}

impl MeterFilter {
    /// The filter on `meter_day`'s provider and model dimensions.
    pub(crate) fn meter_day_filter(&self) -> SeriesFilter {
        let text = |values: &Vec<String>| values.iter().cloned().map(DimValue::Text).collect();
        let mut dims = Vec::new();
        if let Some(providers) = &self.providers {
            dims.push((0, text(providers)));
        }
        if let Some(models) = &self.models {
            dims.push((1, text(models)));
        }
        SeriesFilter {
            connections: None,
            dims,
        }
    }
}

/// One attribution value's totals over the current and the previous period.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttributionTotals {
    /// The value (a customer id…); `None` for calls sent without one.
    pub value: Option<String>,
    pub current: Metrics,
    /// Zero when no previous period was asked for.
    pub previous: Metrics,
}

/// What the organization's metered calls offer to filter by.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MeterFacets {
    /// The first UTC day with a metered call (`None`: no call was ever metered).
    pub first_day: Option<Day>,
    pub providers: Vec<String>,
    pub models: Vec<String>,
}

impl Store {
    /// Metered calls per value of `by`, over `current` and `previous`: from `meter.attribution`
    /// without a filter, else from the daily rollup's series (the values of the other
    /// dimensions added up). Only values with calls in either period are returned; calls
    /// without a value are one row (`None`).
    pub async fn meter_totals_by(
        &self,
        org: OrgId,
        by: Attribution,
        current: DayRange,
        previous: Option<DayRange>,
        filter: &MeterFilter,
    ) -> StoreResult<Vec<AttributionTotals>> {
        // Either read gives one row per value: a series of `meter.attribution`, or the
        // `meter_day` series of that value summed in the database.
        let (rows, dim) = if filter.providers.is_none() && filter.models.is_none() {
            let only = SeriesFilter {
                connections: None,
                dims: vec![(0, vec![DimValue::Text(by.as_str().to_owned())])],
            };
            let rows = self
                .read_period(
                    org,
                    &METER_ATTRIBUTION,
                    &only,
                    METER_ATTRIBUTION.buckets(current),
                    previous.map(|p| METER_ATTRIBUTION.buckets(p)),
                )
                .await?;
            (rows, 1)
        } else {
            let rows = self
                .read_period_grouped(
                    org,
                    &METER_DAY,
                    &filter.meter_day_filter(),
                    METER_DAY.buckets(current),
                    previous.map(|p| METER_DAY.buckets(p)),
                    &[by.dim()],
                )
                .await?;
            (rows, by.dim())
        };
        let mut out: Vec<AttributionTotals> = rows
            .into_iter()
            .filter(|row| row.current.totals.requests > 0 || row.previous.totals.requests > 0)
            .map(|row| {
                let value = row
                    .series
                    .dims
                    .get(dim)
                    .and_then(DimValue::text)
                    .unwrap_or_default();
                AttributionTotals {
                    value: (!value.is_empty()).then(|| value.to_owned()),
                    current: row.current,
                    previous: row.previous,
                }
            })
            .collect();
        out.sort_by(|a, b| a.value.cmp(&b.value));
        Ok(out)
    }

    /// The providers and models of the organization's metered calls and its first metered
    /// day: one index seek per `meter.coverage` series (provider, workspace, key, model,
    /// status: no attribution dimensions to multiply them), grouped in the database (one row
    /// per provider and model).
    pub async fn meter_facets(&self, org: OrgId) -> StoreResult<MeterFacets> {
        let rows: Vec<(String, String, Option<i64>)> = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT s.d0, s.d3, MIN((SELECT MIN(c.bucket) FROM rollup_cum c WHERE c.series_id = s.id)) \
                 FROM rollup_series s WHERE s.org_id = $1 AND s.kind = $2 GROUP BY s.d0, s.d3",
            )
            .bind(org.0)
            .bind(METER_COVERAGE.name)
            .fetch_all(pool)
            .await?
        });
        let mut providers = BTreeSet::new();
        let mut models = BTreeSet::new();
        let mut first: Option<i64> = None;
        for (provider, model, bucket) in rows {
            let Some(bucket) = bucket else { continue };
            first = Some(first.map_or(bucket, |f| f.min(bucket)));
            providers.insert(provider);
            models.insert(model);
        }
        Ok(MeterFacets {
            first_day: first
                .and_then(|b| i32::try_from(b).ok())
                .and_then(|b| Day::from_number(b).ok()),
            providers: providers.into_iter().collect(),
            models: models.into_iter().collect(),
        })
    }
}
