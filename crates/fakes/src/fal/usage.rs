//! `GET /v1/models/usage`: usage line items in time buckets (`expand=time_series`, the default)
//! and/or for the whole range (`expand=summary`).
//!
//! Window: `start` (default: 24 h before "now", the end of the fake's `today`), `end`
//! (exclusive, default "now"); `start >= end` → 400. `timeframe` is `minute`…`month`; when it is
//! left out it is auto-detected from `end − start` exactly as documented (minute < 2 h, hour <
//! 2 d, day < 64 d, week < 183 d, month ≥ 183 d), so a 90-day request without `timeframe` gets
//! week buckets. With `bound_to_timeframe=true` (default) `start` moves back to the start of its
//! period and `end` forward to the next period boundary unless it is one (so a week timeframe can
//! reach days before `start`); with `false` only usage inside `[start, end)` counts, in buckets
//! still aligned to the timeframe. Periods (weeks start on Monday) are aligned in `timezone`, and
//! `bucket` is the period's local start with the zone offset (see [`super::time`]).
//!
//! Rows: one per (bucket, endpoint, auth method when `auth_method`/`auth_method_structured` is
//! expanded, unit price, percent discount), sorted by bucket, endpoint, key and price; so one
//! (bucket, endpoint, key) often has several rows that must be summed. Without an auth expansion
//! the keys are merged into one row. `quantity`, prices and costs are JSON numbers with the exact
//! decimal text; `percent_discount` is null when there is none; `cost` (deprecated) equals
//! `cost_total` — unless the fake is built with
//! [`legacy_cost_only`](super::FalFakeBuilder::legacy_cost_only), which sends the older shape:
//! `cost` only, no `cost_subtotal`/`cost_discount`/`cost_total`. Buckets without usage are left
//! out. `auth_method` is the key alias, or `"User token"` for a login; `auth_method_structured`
//! is `{"detail": alias, "api_key_id"}` or `{"detail": username, "login_username"}`. Filters:
//! `endpoint_id`, `api_key_id`, `login_username` (several filters: a request must match all).
//!
//! Pagination (see [`super::http`]): `limit` counts line items — time-series rows first, then
//! summary rows — so a bucket can continue on the next page under the same `bucket` label.
//! Default 100; maximum 1000, or 500 when an auth method is expanded. Under
//! [`Fault::MissingField`](crate::Fault::MissingField) the rows lack `endpoint_id`.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::{Value, json};

use super::data::{Data, ENDPOINTS, Event, SOURCES};
use super::http::{Paging, expand, id_list, known_params, paging};
use super::time::{Timeframe, Zone, parse_instant};
use crate::common::money;
use crate::common::query::Query;
use crate::common::respond::{ApiError, Prepared, Variant, json_bytes};

const PARAMS: [&str; 11] = [
    "start",
    "end",
    "timezone",
    "timeframe",
    "bound_to_timeframe",
    "endpoint_id",
    "api_key_id",
    "login_username",
    "expand",
    "limit",
    "cursor",
];

const EXPAND: [&str; 4] = [
    "time_series",
    "summary",
    "auth_method",
    "auth_method_structured",
];

/// The identity of a line item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct RowKey {
    endpoint: u8,
    /// The source, when an auth method is expanded.
    source: Option<u8>,
    unit_price: u64,
    discount: Option<u8>,
}

/// Sums over the events of a line item.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Sums {
    /// Thousandths of a unit.
    pub(crate) quantity: u64,
    pub(crate) subtotal: u64,
    pub(crate) discount: u64,
    pub(crate) total: u64,
    pub(crate) requests: u64,
}

impl Sums {
    pub(crate) fn add(&mut self, e: &Event) {
        self.quantity += e.quantity;
        self.subtotal += e.subtotal();
        self.discount += e.discount_nanos();
        self.total += e.total();
        self.requests += 1;
    }
}

/// One item of the paged sequence.
#[derive(Debug, Clone)]
enum Item {
    TimeSeries {
        bucket: i64,
        key: RowKey,
        sums: Sums,
    },
    Summary {
        key: RowKey,
        sums: Sums,
    },
}

/// Which events a filter admits.
#[derive(Debug, Clone, Default)]
pub(crate) struct Filter {
    pub(crate) endpoints: Option<Vec<String>>,
    pub(crate) keys: Option<Vec<String>>,
    pub(crate) logins: Option<Vec<String>>,
}

impl Filter {
    pub(crate) fn parse(pairs: &[(String, String)]) -> Result<Self, ApiError> {
        Ok(Self {
            endpoints: id_list(pairs, "endpoint_id")?,
            keys: id_list(pairs, "api_key_id")?,
            logins: id_list(pairs, "login_username")?,
        })
    }

    pub(crate) fn admits(&self, data: &Data, e: &Event) -> bool {
        let endpoint = ENDPOINTS[usize::from(e.endpoint)].id;
        let source = &SOURCES[usize::from(e.source)];
        let key_id = data.key_of(e.source).map(|k| k.key_id.as_str());
        self.endpoints
            .as_ref()
            .is_none_or(|l| l.iter().any(|x| x == endpoint))
            && self
                .keys
                .as_ref()
                .is_none_or(|l| key_id.is_some_and(|k| l.iter().any(|x| x == k)))
            && self
                .logins
                .as_ref()
                .is_none_or(|l| source.login && l.iter().any(|x| x == source.name))
    }
}

/// The auth members of an item or event, per expansion.
pub(crate) fn auth_fields(
    data: &Data,
    source: u8,
    label: bool,
    structured: bool,
) -> (Option<String>, Option<Value>) {
    let spec = &SOURCES[usize::from(source)];
    let text = if spec.login {
        "User token".to_owned()
    } else {
        spec.name.to_owned()
    };
    let object = if spec.login {
        json!({"detail": spec.name, "login_username": spec.name})
    } else {
        json!({"detail": spec.name, "api_key_id": data.key_of(source).map(|k| k.key_id.clone())})
    };
    (label.then_some(text), structured.then_some(object))
}

pub(crate) fn raw(text: String) -> Result<Box<RawValue>, ApiError> {
    RawValue::from_string(text).map_err(|e| ApiError::internal(format!("bad number text: {e}")))
}

pub(crate) fn dollars(nanos: u64) -> Result<Box<RawValue>, ApiError> {
    raw(money::dollars(nanos))
}

pub(crate) fn quantity(thousandths: u64) -> Result<Box<RawValue>, ApiError> {
    raw(money::decimal(u128::from(thousandths), 3))
}

#[derive(Serialize)]
struct Line {
    #[serde(skip_serializing_if = "Option::is_none")]
    endpoint_id: Option<&'static str>,
    unit: &'static str,
    quantity: Box<RawValue>,
    unit_price: Box<RawValue>,
    percent_discount: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cost_subtotal: Option<Box<RawValue>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cost_discount: Option<Box<RawValue>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cost_total: Option<Box<RawValue>>,
    cost: Box<RawValue>,
    currency: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    auth_method: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    auth_method_structured: Option<Value>,
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

struct Request {
    data: Arc<Data>,
    zone: Zone,
    items: Vec<Item>,
    time_series: bool,
    summary: bool,
    label: bool,
    structured: bool,
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
    let timeframe = match q.first("timeframe") {
        None => Timeframe::detect(end - start),
        Some(text) => Timeframe::parse(text).ok_or_else(|| {
            ApiError::invalid(format!(
                "Invalid 'timeframe' '{text}': expected minute, hour, day, week or month"
            ))
        })?,
    };
    let bound = match q.first("bound_to_timeframe") {
        None | Some("true") => true,
        Some("false") => false,
        Some(other) => {
            return Err(ApiError::invalid(format!(
                "Invalid 'bound_to_timeframe' '{other}': expected \"true\" or \"false\""
            )));
        }
    };
    let (start, end) = if bound {
        (timeframe.floor(start, zone), timeframe.ceil(end, zone))
    } else {
        (start, end)
    };
    let expanded = expand(pairs, &EXPAND)?;
    let has = |v: &str| expanded.contains(&v);
    let (time_series, summary) = if expanded.is_empty() {
        (true, false)
    } else {
        (has("time_series"), has("summary"))
    };
    if !time_series && !summary {
        return Err(ApiError::invalid(
            "At least one of 'time_series' or 'summary' must be expanded",
        ));
    }
    let (label, structured) = (has("auth_method"), has("auth_method_structured"));
    let by_auth = label || structured;
    let paging = paging(q, 100, if by_auth { 500 } else { 1000 })?;
    let filter = Filter::parse(pairs)?;
    let mut series: BTreeMap<(i64, RowKey), Sums> = BTreeMap::new();
    let mut whole: BTreeMap<RowKey, Sums> = BTreeMap::new();
    for e in data.events_between(start, end) {
        if !filter.admits(data, e) {
            continue;
        }
        let key = RowKey {
            endpoint: e.endpoint,
            source: by_auth.then_some(e.source),
            unit_price: e.unit_price,
            discount: e.discount,
        };
        if time_series {
            series
                .entry((timeframe.floor(e.ts, zone), key))
                .or_default()
                .add(e);
        }
        if summary {
            whole.entry(key).or_default().add(e);
        }
    }
    let items = series
        .into_iter()
        .map(|((bucket, key), sums)| Item::TimeSeries { bucket, key, sums })
        .chain(
            whole
                .into_iter()
                .map(|(key, sums)| Item::Summary { key, sums }),
        )
        .collect();
    let request = Request {
        data: Arc::clone(data),
        zone,
        items,
        time_series,
        summary,
        label,
        structured,
        paging,
    };
    Ok(Prepared {
        page: request.paging.page,
        render: Arc::new(move |variant| request.render(variant)),
    })
}

impl Request {
    fn line(&self, key: &RowKey, s: &Sums, missing: bool) -> Result<Line, ApiError> {
        let e = &ENDPOINTS[usize::from(key.endpoint)];
        let (auth_method, auth_method_structured) = match key.source {
            Some(source) => auth_fields(&self.data, source, self.label, self.structured),
            None => (None, None),
        };
        let modern = !self.data.legacy_cost_only;
        Ok(Line {
            endpoint_id: (!missing).then_some(e.id),
            unit: e.unit,
            quantity: quantity(s.quantity)?,
            unit_price: dollars(key.unit_price)?,
            percent_discount: key.discount,
            cost_subtotal: modern.then(|| dollars(s.subtotal)).transpose()?,
            cost_discount: modern.then(|| dollars(s.discount)).transpose()?,
            cost_total: modern.then(|| dollars(s.total)).transpose()?,
            cost: dollars(s.total)?,
            currency: "USD",
            auth_method,
            auth_method_structured,
        })
    }

    fn render(&self, variant: Variant) -> Result<Vec<u8>, ApiError> {
        let ((start, end), next_cursor, has_more) = self.paging.slice(self.items.len(), variant);
        let missing = variant == Variant::MissingField;
        let mut buckets: Vec<BucketOut> = Vec::new();
        let mut last_bucket = None;
        let mut summary = Vec::new();
        for item in &self.items[start..end] {
            match item {
                Item::TimeSeries { bucket, key, sums } => {
                    let line = self.line(key, sums, missing)?;
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
                Item::Summary { key, sums } => summary.push(self.line(key, sums, missing)?),
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
