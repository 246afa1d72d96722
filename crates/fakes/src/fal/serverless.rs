//! `GET /v1/serverless/usage`: machine-seconds of the serverless apps the account deployed
//! itself, a spend stream of its own that `/models/usage` does not include. Written from fal's
//! "Platform APIs for Serverless" page (the Usage section), which fal.md only summarizes.
//!
//! Rows: one per (bucket, app, machine type, `is_surge`) with `app`, `environment` (null),
//! `machine_type`, `unit` (always `"second"`), `quantity` (machine-seconds, two decimals),
//! `unit_price`, `cost` (net of discounts: quantity × unit price here) and `currency`. Surge and
//! non-surge seconds of one app and machine are separate rows. `expand=time_series` (default) or
//! `summary`; `timeframe` as in `/models/usage` (this fake serves `day` only and refuses others
//! with 400); `timezone` as in `/models/usage`; `app` (exact names, comma list or repeated) and
//! `search` (case-insensitive substring) filter. Paging: `limit` (default 100, max 1000) counts
//! rows, `cursor` as everywhere in the Platform API; faults as in `/models/usage`
//! ([`Fault::MissingField`](crate::Fault::MissingField) drops `cost`).

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Serialize;
use serde_json::value::RawValue;

use super::data::Data;
use super::http::{Paging, expand, id_list, known_params, paging};
use super::time::{Timeframe, Zone, parse_instant};
use super::usage::{dollars, raw};
use crate::common::money;
use crate::common::query::Query;
use crate::common::respond::{ApiError, Prepared, Variant, json_bytes};

const PARAMS: [&str; 10] = [
    "start",
    "end",
    "timezone",
    "timeframe",
    "bound_to_timeframe",
    "app",
    "search",
    "expand",
    "limit",
    "cursor",
];

/// A deployed app: its name, machine type, price per second (nano-dollars, a multiple of 100
/// so that seconds in hundredths give whole nano-dollars), and the surge price.
pub(crate) struct AppSpec {
    pub(crate) app: &'static str,
    pub(crate) machine_type: &'static str,
    pub(crate) price: u64,
    pub(crate) surge_price: u64,
}

pub(crate) const APPS: [AppSpec; 3] = [
    AppSpec {
        app: "acme-upscaler-prod",
        machine_type: "GPU-H100",
        price: 1_250_000,
        surge_price: 1_875_000,
    },
    AppSpec {
        app: "acme-upscaler-dev",
        machine_type: "GPU-A100",
        price: 990_000,
        surge_price: 1_485_000,
    },
    AppSpec {
        app: "acme-captioner",
        machine_type: "GPU-A10G",
        price: 430_000,
        surge_price: 645_000,
    },
];

/// One day's machine-seconds of one app, at normal or surge price.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ServerlessRow {
    /// Unix day.
    pub(crate) day: i64,
    pub(crate) app: u8,
    pub(crate) surge: bool,
    /// Hundredths of a second.
    pub(crate) hundredths: u64,
}

impl ServerlessRow {
    pub(crate) fn unit_price(&self) -> u64 {
        let spec = &APPS[usize::from(self.app)];
        if self.surge {
            spec.surge_price
        } else {
            spec.price
        }
    }

    /// Nano-dollars: hundredths of a second × price per second / 100, exact.
    pub(crate) fn cost(&self) -> u64 {
        self.hundredths * self.unit_price() / 100
    }
}

/// Every app's seconds from `first_day` to `today`, deterministic in the seed: the dev app idles
/// on weekends, the production app runs every day and surges on some days.
pub(crate) fn generate(seed: u64, first_day: i64, today: i64) -> Vec<ServerlessRow> {
    let mut rows = Vec::new();
    for day in first_day..=today {
        for app in 0..APPS.len() {
            let mix = splitmix(seed ^ (day as u64).wrapping_mul(0x9E37_79B9) ^ (app as u64) << 40);
            let weekend = (day + 3).rem_euclid(7) >= 5;
            if app == 1 && weekend {
                continue;
            }
            if app == 2 && mix.is_multiple_of(4) {
                continue;
            }
            let hundredths = 50_000 + mix % 1_500_000;
            rows.push(ServerlessRow {
                day,
                app: app as u8,
                surge: false,
                hundredths,
            });
            if app == 0 && (mix >> 20).is_multiple_of(3) {
                rows.push(ServerlessRow {
                    day,
                    app: 0,
                    surge: true,
                    hundredths: 1_000 + (mix >> 24) % 200_000,
                });
            }
        }
    }
    rows
}

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[derive(Serialize)]
struct Line {
    app: &'static str,
    environment: Option<&'static str>,
    machine_type: &'static str,
    unit: &'static str,
    quantity: Box<RawValue>,
    unit_price: Box<RawValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cost: Option<Box<RawValue>>,
    currency: &'static str,
    is_surge: bool,
}

#[derive(Serialize)]
struct BucketOut {
    bucket: String,
    results: Vec<Line>,
}

#[derive(Serialize)]
struct Page {
    #[serde(skip_serializing_if = "Option::is_none")]
    time_series: Option<Vec<BucketOut>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    summary: Option<Vec<Line>>,
    next_cursor: Option<String>,
    has_more: bool,
}

/// (app, surge) with the hundredths of seconds summed.
type Cell = (u8, bool);

enum Item {
    TimeSeries {
        bucket: i64,
        cell: Cell,
        hundredths: u64,
    },
    Summary {
        cell: Cell,
        hundredths: u64,
    },
}

struct Request {
    zone: Zone,
    items: Vec<Item>,
    time_series: bool,
    summary: bool,
    paging: Paging,
}

pub(crate) fn prepare(
    data: &Arc<Data>,
    q: &Query,
    raw_query: Option<&str>,
    pairs: &[(String, String)],
) -> Result<Prepared, ApiError> {
    known_params(raw_query, &PARAMS)?;
    let zone = match q.first("timezone") {
        None => Zone::UTC,
        Some(name) => Zone::parse(name).ok_or_else(|| {
            ApiError::invalid(format!(
                "Unsupported timezone '{name}' (this fake knows UTC, Etc/GMT±N and fixed-offset \
                 zones only)"
            ))
        })?,
    };
    if zone != Zone::UTC {
        return Err(ApiError::invalid(
            "this fake serves serverless usage in UTC only",
        ));
    }
    let instant = |name: &str, default: i64| -> Result<i64, ApiError> {
        match q.first(name) {
            None => Ok(default),
            Some(text) => parse_instant(text, zone).ok_or_else(|| {
                ApiError::invalid(format!(
                    "Invalid '{name}': expected an ISO8601 datetime or YYYY-MM-DD, got '{text}'"
                ))
            }),
        }
    };
    let now = data.now();
    let end = instant("end", now)?;
    let start = instant("start", now - 86_400)?;
    if start >= end {
        return Err(ApiError::invalid("'start' must be before 'end'"));
    }
    match q.first("timeframe").map(Timeframe::parse) {
        Some(Some(Timeframe::Day)) => {}
        None | Some(Some(_)) => {
            return Err(ApiError::invalid(
                "this fake serves serverless usage with timeframe=day only",
            ));
        }
        Some(None) => {
            return Err(ApiError::invalid(
                "Invalid 'timeframe': expected minute, hour, day, week or month",
            ));
        }
    }
    let expanded = expand(pairs, &["time_series", "summary"])?;
    let (time_series, summary) = if expanded.is_empty() {
        (true, false)
    } else {
        (
            expanded.contains(&"time_series"),
            expanded.contains(&"summary"),
        )
    };
    let apps = id_list(pairs, "app")?;
    let search = q.first("search").map(str::to_ascii_lowercase);
    let paging = paging(q, 100, 1000)?;
    // Days are whole: start floors to its day, end (exclusive) rounds up.
    let first = start.div_euclid(86_400);
    let last = (end + 86_399).div_euclid(86_400) - 1;
    let mut series: BTreeMap<(i64, Cell), u64> = BTreeMap::new();
    let mut whole: BTreeMap<Cell, u64> = BTreeMap::new();
    for row in &data.serverless {
        if row.day < first || row.day > last {
            continue;
        }
        let name = APPS[usize::from(row.app)].app;
        if apps.as_ref().is_some_and(|l| !l.iter().any(|a| a == name))
            || search.as_ref().is_some_and(|s| !name.contains(s.as_str()))
        {
            continue;
        }
        let cell = (row.app, row.surge);
        if time_series {
            *series.entry((row.day * 86_400, cell)).or_default() += row.hundredths;
        }
        if summary {
            *whole.entry(cell).or_default() += row.hundredths;
        }
    }
    let items = series
        .into_iter()
        .map(|((bucket, cell), hundredths)| Item::TimeSeries {
            bucket,
            cell,
            hundredths,
        })
        .chain(
            whole
                .into_iter()
                .map(|(cell, hundredths)| Item::Summary { cell, hundredths }),
        )
        .collect();
    let request = Request {
        zone,
        items,
        time_series,
        summary,
        paging,
    };
    Ok(Prepared {
        page: request.paging.page,
        render: Arc::new(move |variant| request.render(variant)),
    })
}

fn line(cell: Cell, hundredths: u64, missing: bool) -> Result<Line, ApiError> {
    let row = ServerlessRow {
        day: 0,
        app: cell.0,
        surge: cell.1,
        hundredths,
    };
    let spec = &APPS[usize::from(cell.0)];
    Ok(Line {
        app: spec.app,
        environment: None,
        machine_type: spec.machine_type,
        unit: "second",
        quantity: raw(money::decimal(u128::from(hundredths), 2))?,
        unit_price: dollars(row.unit_price())?,
        cost: (!missing).then(|| dollars(row.cost())).transpose()?,
        currency: "USD",
        is_surge: cell.1,
    })
}

impl Request {
    fn render(&self, variant: Variant) -> Result<Vec<u8>, ApiError> {
        let ((start, end), next_cursor, has_more) = self.paging.slice(self.items.len(), variant);
        let missing = variant == Variant::MissingField;
        let mut buckets: Vec<BucketOut> = Vec::new();
        let mut last_bucket = None;
        let mut summary = Vec::new();
        for item in &self.items[start..end] {
            match item {
                Item::TimeSeries {
                    bucket,
                    cell,
                    hundredths,
                } => {
                    let line = line(*cell, *hundredths, missing)?;
                    match buckets.last_mut() {
                        Some(b) if last_bucket == Some(*bucket) => b.results.push(line),
                        _ => {
                            last_bucket = Some(*bucket);
                            buckets.push(BucketOut {
                                bucket: self.zone.label(*bucket),
                                results: vec![line],
                            });
                        }
                    }
                }
                Item::Summary { cell, hundredths } => {
                    summary.push(line(*cell, *hundredths, missing)?);
                }
            }
        }
        json_bytes(&Page {
            time_series: self.time_series.then_some(buckets),
            summary: self.summary.then_some(summary),
            next_cursor,
            has_more,
        })
    }
}
