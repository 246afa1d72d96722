//! The metered events' rollups: kinds `meter_hour` and `meter_day` of the one rollup engine,
//! fed by deltas at ingest (only for rows actually inserted), over the attribution dimensions,
//! and `meter.coverage` (per day over provider, workspace, API key, model and status: the
//! metered side of coverage) and `meter.provider` (per day and provider: its daily series),
//! both from migration 0027, and `meter.attribution` (per day and customer, product or agent
//! alone, migration 0034). Dashboards read these, never `meter_events`.

use std::collections::HashMap;

use spendlens_meter::{CallStatus, PricedEvent};

use crate::rollups::{
    BucketSize, DimType, DimValue, Fact, Metrics, RollupKind, RollupWrite, SeriesKey,
};
use crate::{OrgId, StoreResult};

/// The dimensions of both kinds, in stored order. An absent value is the empty string
/// (shown as N/A, never as a value).
pub const METER_DIMS: &[(&str, DimType)] = &[
    ("provider", DimType::Text),
    ("model", DimType::Text),
    ("api_key", DimType::Text),
    ("customer", DimType::Text),
    ("product", DimType::Text),
    ("agent", DimType::Text),
    ("workflow", DimType::Text),
    ("status", DimType::Text),
];

/// The extra metrics (beyond cost, tokens, requests, requests with unknown usage, lines):
/// events without a price, events whose cost was reported by the sender, reasoning tokens
/// (part of `output_tokens`), failed calls (error or timeout), and the latency sum and count
/// of the events that reported one.
pub const METER_EXTRA: &[&str] = &[
    "unpriced",
    "reported_cost",
    "reasoning_tokens",
    "failed",
    "latency_ms_sum",
    "latency_known",
];

/// Index of each extra in [`Metrics::extra`].
pub mod extra {
    pub const UNPRICED: usize = 0;
    pub const REPORTED_COST: usize = 1;
    pub const REASONING_TOKENS: usize = 2;
    pub const FAILED: usize = 3;
    pub const LATENCY_MS_SUM: usize = 4;
    pub const LATENCY_KNOWN: usize = 5;
}

/// Metered calls per hour (hours since 1970-01-01 00:00 UTC) and attribution.
pub static METER_HOUR: RollupKind = RollupKind {
    name: "meter_hour",
    bucket: BucketSize::Hour,
    dims: METER_DIMS,
    extra: METER_EXTRA,
};

/// Metered calls per UTC day and attribution.
pub static METER_DAY: RollupKind = RollupKind {
    name: "meter_day",
    bucket: BucketSize::Day,
    dims: METER_DIMS,
    extra: METER_EXTRA,
};

/// The dimensions of [`METER_COVERAGE`], in stored order; absent values are empty strings.
pub const COVERAGE_DIMS: &[(&str, DimType)] = &[
    ("provider", DimType::Text),
    ("workspace", DimType::Text),
    ("api_key", DimType::Text),
    ("model", DimType::Text),
    ("status", DimType::Text),
];

/// Metered calls per UTC day and (provider, workspace, API key, model, status): what coverage
/// joins to the bill, with no attribution dimension to multiply its series (migration 0027
/// built it from the events stored before it).
pub static METER_COVERAGE: RollupKind = RollupKind {
    name: "meter.coverage",
    bucket: BucketSize::Day,
    dims: COVERAGE_DIMS,
    extra: METER_EXTRA,
};

/// Metered calls per UTC day and provider: coverage's day-by-day series (the Providers view's
/// chart) in one series per provider, whatever the keys and models (migration 0027).
pub static METER_PROVIDER: RollupKind = RollupKind {
    name: "meter.provider",
    bucket: BucketSize::Day,
    dims: &[("provider", DimType::Text)],
    extra: METER_EXTRA,
};

/// Metered calls per UTC day and attribution value alone: `d0` names the attribution
/// (`customer`, `product` or `agent`), `d1` its value (empty: none). Each event counts once
/// under each attribution. The Customers, Products and Agents views read it when no provider or
/// model filter applies: one series per customer, not one per (model, key, status, …) of it
/// (migration 0034).
pub static METER_ATTRIBUTION: RollupKind = RollupKind {
    name: "meter.attribution",
    bucket: BucketSize::Day,
    dims: &[("attribution", DimType::Text), ("value", DimType::Text)],
    extra: METER_EXTRA,
};

fn clamp(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// The dimension values of the series an event counts in ([`METER_DIMS`] order), borrowed
/// from the event: a batch turns each distinct series into a [`SeriesKey`] once.
pub fn series_of(priced: &PricedEvent) -> [&str; 8] {
    let e = &priced.event;
    fn text(v: &Option<String>) -> &str {
        v.as_deref().unwrap_or_default()
    }
    [
        &e.provider,
        &e.model,
        text(&e.api_key),
        text(&e.attribution.customer),
        text(&e.attribution.product),
        text(&e.attribution.agent),
        text(&e.attribution.workflow),
        e.status.as_str(),
    ]
}

/// The dimension values of the [`METER_COVERAGE`] series an event counts in.
pub fn coverage_series_of(priced: &PricedEvent) -> [&str; 5] {
    let e = &priced.event;
    [
        &e.provider,
        e.workspace.as_deref().unwrap_or_default(),
        e.api_key.as_deref().unwrap_or_default(),
        &e.model,
        e.status.as_str(),
    ]
}

/// A series of no connection with these text dimensions.
fn series_key(dims: &[&str]) -> SeriesKey {
    SeriesKey {
        connection: None,
        dims: dims
            .iter()
            .map(|d| DimValue::Text((*d).to_owned()))
            .collect(),
    }
}

/// What one event adds to its series.
pub fn metrics_of(priced: &PricedEvent) -> Metrics {
    let e = &priced.event;
    let mut m = Metrics::default();
    let t = &mut m.totals;
    t.cost = priced.cost.cost.unwrap_or_default();
    t.requests = 1;
    t.lines = 1;
    match e.tokens {
        Some(tokens) => {
            t.input_tokens = clamp(tokens.input_uncached);
            t.cache_read_tokens = clamp(tokens.cache_read);
            t.cache_write_tokens = clamp(tokens.cache_write);
            t.output_tokens = clamp(tokens.output_total());
            m.extra[extra::REASONING_TOKENS] = clamp(tokens.output_reasoning);
        }
        None => t.requests_unknown = 1,
    }
    if priced.cost.cost.is_none() {
        m.extra[extra::UNPRICED] = 1;
    }
    if priced.cost.source == spendlens_meter::CostSource::Reported {
        m.extra[extra::REPORTED_COST] = 1;
    }
    if e.status != CallStatus::Ok {
        m.extra[extra::FAILED] = 1;
    }
    if let Some(ms) = e.latency_ms {
        m.extra[extra::LATENCY_MS_SUM] = ms;
        m.extra[extra::LATENCY_KNOWN] = 1;
    }
    m
}

/// Facts of some events (or of changes to them) for each metered kind, summed per series and
/// bucket, keyed by dimension values borrowed from the events.
#[derive(Default)]
pub struct MeterFacts<'a> {
    hours: HashMap<([&'a str; 8], i64), Metrics>,
    days: HashMap<([&'a str; 8], i64), Metrics>,
    coverage: HashMap<([&'a str; 5], i64), Metrics>,
    providers: HashMap<(&'a str, i64), Metrics>,
    attribution: HashMap<([&'a str; 2], i64), Metrics>,
}

fn add_at<K: std::hash::Hash + Eq>(map: &mut HashMap<K, Metrics>, key: K, metrics: Metrics) {
    let at = map.entry(key).or_default();
    *at = at.plus(metrics);
}

impl<'a> MeterFacts<'a> {
    /// Adds what `metrics` (an event's, or a change's) adds to `priced`'s series.
    pub fn add(&mut self, priced: &'a PricedEvent, metrics: Metrics) {
        let hour = priced.event.time.unix_timestamp().div_euclid(3600);
        let day = hour.div_euclid(24);
        let series = series_of(priced);
        add_at(&mut self.days, (series, day), metrics);
        add_at(&mut self.hours, (series, hour), metrics);
        add_at(
            &mut self.coverage,
            (coverage_series_of(priced), day),
            metrics,
        );
        add_at(
            &mut self.providers,
            (priced.event.provider.as_str(), day),
            metrics,
        );
        for (name, value) in [
            ("customer", series[3]),
            ("product", series[4]),
            ("agent", series[5]),
        ] {
            add_at(&mut self.attribution, ([name, value], day), metrics);
        }
    }

    /// Adds every kind's facts to its rollup, in the caller's transaction.
    pub async fn write<W: RollupWrite + Send>(self, tx: &mut W, org: OrgId) -> StoreResult<()> {
        fn into<K>(map: HashMap<(K, i64), Metrics>, dims: impl Fn(&K) -> SeriesKey) -> Vec<Fact> {
            map.into_iter()
                .map(|((key, bucket), metrics)| Fact {
                    series: dims(&key),
                    bucket,
                    metrics,
                })
                .collect()
        }
        let hours = into(self.hours, |k| series_key(k));
        let days = into(self.days, |k| series_key(k));
        let coverage = into(self.coverage, |k| series_key(k));
        let providers = into(self.providers, |k| series_key(&[k]));
        let attribution = into(self.attribution, |k| series_key(k));
        tx.add_rollup_deltas_of(
            org,
            &[
                (&METER_HOUR, &hours),
                (&METER_DAY, &days),
                (&METER_COVERAGE, &coverage),
                (&METER_PROVIDER, &providers),
                (&METER_ATTRIBUTION, &attribution),
            ],
        )
        .await
    }
}

/// Facts of stored events for each metered kind.
pub fn facts<'a>(events: impl Iterator<Item = &'a PricedEvent>) -> MeterFacts<'a> {
    let mut out = MeterFacts::default();
    for priced in events {
        out.add(priced, metrics_of(priced));
    }
    out
}
