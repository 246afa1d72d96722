//! `GET /v1/models/billing-events`: one record per billed request, oldest first, in the spec's
//! `{"billing_events": […], "next_cursor", "has_more"}` envelope (the document names the item
//! fields but not the envelope; the fake follows the OpenAPI spec the document cites).
//!
//! `start`/`end` as for usage but always UTC (there is no `timezone`; defaults: the 24 h
//! before "now"); `end − start` over 90 days → 400. Filters `endpoint_id`, `request_id`,
//! `api_key_id`, `login_username` (repeated or comma-separated, 1–50); `expand` `auth_method`
//! and/or `auth_method_structured`. `limit` counts records: default 100, at most 10,000.
//! `output_units` is the billed quantity, `cost_estimate_nano_usd` the integer nano-dollars of
//! `cost_total`. Under [`Fault::MissingField`](crate::Fault::MissingField) records lack
//! `cost_total`.

use std::sync::Arc;

use serde::Serialize;
use serde_json::Value;
use serde_json::value::RawValue;

use super::data::{Data, ENDPOINTS, Event};
use super::http::{Paging, expand, id_list, known_params, paging};
use super::time::{Zone, parse_instant};
use super::usage::{Filter, auth_fields, dollars, quantity};
use crate::common::query::Query;
use crate::common::respond::{ApiError, Prepared, Variant, json_bytes};
use crate::common::time_text::rfc3339;

const PARAMS: [&str; 9] = [
    "limit",
    "cursor",
    "start",
    "end",
    "endpoint_id",
    "request_id",
    "api_key_id",
    "login_username",
    "expand",
];

#[derive(Serialize)]
struct Record {
    request_id: String,
    endpoint_id: &'static str,
    timestamp: String,
    output_units: Box<RawValue>,
    unit_price: Box<RawValue>,
    percent_discount: Option<u8>,
    cost_subtotal: Box<RawValue>,
    cost_discount: Box<RawValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cost_total: Option<Box<RawValue>>,
    cost_estimate_nano_usd: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    auth_method: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    auth_method_structured: Option<Value>,
}

#[derive(Serialize)]
struct Page {
    billing_events: Vec<Record>,
    next_cursor: Option<String>,
    has_more: bool,
}

struct Request {
    data: Arc<Data>,
    /// Indices into `data.events`.
    events: Vec<usize>,
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
    let instant = |name: &str, default: i64| -> Result<i64, ApiError> {
        match q.first(name) {
            None => Ok(default),
            Some(text) => parse_instant(text, Zone::UTC).ok_or_else(|| {
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
    if end - start > 90 * 86_400 {
        return Err(ApiError::invalid(
            "The date range is capped at 90 days per request",
        ));
    }
    let expanded = expand(pairs, &["auth_method", "auth_method_structured"])?;
    let filter = Filter::parse(pairs)?;
    let request_ids = id_list(pairs, "request_id")?;
    let paging = paging(q, 100, 10_000)?;
    let first = data.events.partition_point(|e| e.ts < start);
    let events = data
        .events_between(start, end)
        .iter()
        .enumerate()
        .filter(|(_, e)| {
            filter.admits(data, e)
                && request_ids
                    .as_ref()
                    .is_none_or(|ids| ids.contains(&e.request_id()))
        })
        .map(|(i, _)| first + i)
        .collect();
    let request = Request {
        data: Arc::clone(data),
        events,
        label: expanded.contains(&"auth_method"),
        structured: expanded.contains(&"auth_method_structured"),
        paging,
    };
    Ok(Prepared {
        page: request.paging.page,
        render: Arc::new(move |variant| request.render(variant)),
    })
}

impl Request {
    fn record(&self, e: &Event, missing: bool) -> Result<Record, ApiError> {
        let (auth_method, auth_method_structured) =
            auth_fields(&self.data, e.source, self.label, self.structured);
        Ok(Record {
            request_id: e.request_id(),
            endpoint_id: ENDPOINTS[usize::from(e.endpoint)].id,
            timestamp: rfc3339(e.ts),
            output_units: quantity(e.quantity)?,
            unit_price: dollars(e.unit_price)?,
            percent_discount: e.discount,
            cost_subtotal: dollars(e.subtotal())?,
            cost_discount: dollars(e.discount_nanos())?,
            cost_total: (!missing).then(|| dollars(e.total())).transpose()?,
            cost_estimate_nano_usd: e.total(),
            auth_method,
            auth_method_structured,
        })
    }

    fn render(&self, variant: Variant) -> Result<Vec<u8>, ApiError> {
        let ((start, end), next_cursor, has_more) = self.paging.slice(self.events.len(), variant);
        let missing = variant == Variant::MissingField;
        let billing_events = self.events[start..end]
            .iter()
            .map(|&i| self.record(&self.data.events[i], missing))
            .collect::<Result<_, _>>()?;
        json_bytes(&Page {
            billing_events,
            next_cursor,
            has_more,
        })
    }
}
