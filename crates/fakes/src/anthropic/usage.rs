//! `GET /v1/organizations/usage_report/messages`.
//!
//! Buckets are whole UTC minutes, hours or days that start on or after `starting_at` and end on
//! or before `ending_at` (RFC 3339 text); shorter-than-a-day buckets hold a prorated share of
//! the day (see [`crate::common::buckets`]). Empty buckets are present with `"results": []`.
//! `group_by[]` ∈ `api_key_id`, `workspace_id`, `model`, `service_tier`, `context_window`, and
//! the newer `inference_geo`, `account_id`, `service_account_id` (always null: no OAuth or
//! federation traffic) and `speed` (only with an `anthropic-beta: fast-mode-…` header; always
//! `standard`). Dimensions are null unless grouped; the default workspace is always
//! `workspace_id: null` and Console traffic `api_key_id: null`. Filters: `api_key_ids[]`,
//! `workspace_ids[]`, `models[]`, `service_tiers[]`, `context_window[]`, `inference_geos[]`,
//! `account_ids[]`, `service_account_ids[]`. Under
//! [`Fault::MissingField`](crate::Fault::MissingField) results lack `output_tokens`.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Serialize;
use serde_json::{Map, Value, json};

use super::data::{Data, UsageRow};
use super::models::{Context, Model, Tier};
use super::params;
use crate::common::buckets::{Bucket, Width};
use crate::common::query::Query;
use crate::common::respond::{ApiError, Prepared, Variant, json_bytes};
use crate::common::time_text::rfc3339;
use crate::common::window::Window;

const GROUP_BY: &[&str] = &[
    "api_key_id",
    "workspace_id",
    "model",
    "service_tier",
    "context_window",
    "inference_geo",
    "account_id",
    "service_account_id",
];
const SERVICE_TIERS: &[&str] = &[
    "standard",
    "batch",
    "priority",
    "priority_on_demand",
    "flex",
    "flex_discount",
];
const CONTEXT_WINDOWS: &[&str] = &["0-200k", "200k-1M"];
const INFERENCE_GEOS: &[&str] = &["global", "us", "not_available"];

#[derive(Debug, Clone, Copy, Default)]
struct Dims {
    key: bool,
    workspace: bool,
    model: bool,
    tier: bool,
    context: bool,
    geo: bool,
    speed: bool,
}

#[derive(Debug, Clone, Default)]
struct Filters {
    keys: Option<Vec<Option<u8>>>,
    workspaces: Option<Vec<Option<u8>>>,
    models: Option<Vec<Model>>,
    tiers: Option<Vec<String>>,
    contexts: Option<Vec<String>>,
    geos: Option<Vec<String>>,
    /// An `account_ids[]` or `service_account_ids[]` filter: nothing here has either.
    principals: bool,
}

fn ids<'a>(sent: &[&str], all: impl Iterator<Item = &'a str>) -> Option<Vec<Option<u8>>> {
    (!sent.is_empty()).then(|| {
        all.enumerate()
            .filter(|(_, id)| sent.contains(id))
            .map(|(i, _)| Some(i as u8))
            .collect()
    })
}

fn texts(values: Vec<&str>) -> Option<Vec<String>> {
    (!values.is_empty()).then(|| values.into_iter().map(str::to_owned).collect())
}

impl Filters {
    fn parse(q: &Query, data: &Data) -> Result<Self, ApiError> {
        let org = &data.org;
        let models = params::array(q, "models")?;
        Ok(Self {
            keys: ids(
                &params::array(q, "api_key_ids")?,
                org.keys.iter().map(|k| k.id.as_str()),
            ),
            workspaces: ids(
                &params::array(q, "workspace_ids")?,
                org.workspaces.iter().map(|w| w.id.as_str()),
            ),
            models: (!models.is_empty()).then(|| {
                Model::ALL
                    .into_iter()
                    .filter(|m| models.contains(&m.name()))
                    .collect()
            }),
            tiers: texts(params::enum_array(q, "service_tiers", SERVICE_TIERS)?),
            contexts: texts(params::enum_array(q, "context_window", CONTEXT_WINDOWS)?),
            geos: texts(params::enum_array(q, "inference_geos", INFERENCE_GEOS)?),
            principals: !params::array(q, "account_ids")?.is_empty()
                || !params::array(q, "service_account_ids")?.is_empty(),
        })
    }

    fn admits(&self, u: &UsageRow) -> bool {
        let has = |list: &Option<Vec<String>>, v: &str| {
            list.as_ref().is_none_or(|l| l.iter().any(|x| x == v))
        };
        !self.principals
            && self
                .keys
                .as_ref()
                .is_none_or(|l| u.key.is_some() && l.contains(&u.key))
            && self
                .workspaces
                .as_ref()
                .is_none_or(|l| u.workspace.is_some() && l.contains(&u.workspace))
            && self.models.as_ref().is_none_or(|l| l.contains(&u.model))
            && has(&self.tiers, u.tier.text())
            && has(&self.contexts, u.context.text())
            && has(&self.geos, u.model.inference_geo())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct GroupKey {
    workspace: Option<u8>,
    key: Option<u8>,
    model: Option<Model>,
    tier: Option<Tier>,
    context: Option<Context>,
    geo: Option<&'static str>,
}

#[derive(Debug, Clone, Copy, Default)]
struct Sums {
    uncached: u64,
    write_5m: u64,
    write_1h: u64,
    read: u64,
    output: u64,
    searches: u64,
}

#[derive(Serialize)]
struct BucketOut {
    starting_at: String,
    ending_at: String,
    results: Vec<Map<String, Value>>,
}

#[derive(Serialize)]
struct Page {
    data: Vec<BucketOut>,
    has_more: bool,
    next_page: Option<String>,
}

struct Request {
    data: Arc<Data>,
    window: Window,
    dims: Dims,
    filters: Filters,
}

pub(crate) fn prepare(
    data: &Arc<Data>,
    q: &Query,
    fast_mode_beta: bool,
) -> Result<Prepared, ApiError> {
    let window = params::window(
        q,
        data.default_end(),
        &["1d", "1h", "1m"],
        Width::usage_limits,
    )?;
    let mut allowed = GROUP_BY.to_vec();
    if fast_mode_beta {
        allowed.push("speed");
    }
    let group_by = params::enum_array(q, "group_by", &allowed)?;
    let has = |name: &str| group_by.contains(&name);
    let dims = Dims {
        key: has("api_key_id"),
        workspace: has("workspace_id"),
        model: has("model"),
        tier: has("service_tier"),
        context: has("context_window"),
        geo: has("inference_geo"),
        speed: has("speed"),
    };
    let request = Request {
        data: Arc::clone(data),
        window,
        dims,
        filters: Filters::parse(q, data)?,
    };
    Ok(Prepared {
        page: request.window.page,
        render: Arc::new(move |variant| request.render(variant)),
    })
}

impl Request {
    fn render(&self, variant: Variant) -> Result<Vec<u8>, ApiError> {
        let page = self.window.page(variant);
        let data = page
            .buckets
            .iter()
            .map(|&b| BucketOut {
                starting_at: rfc3339(b.start),
                ending_at: rfc3339(b.end),
                results: self.results(b, variant == Variant::MissingField),
            })
            .collect();
        json_bytes(&Page {
            data,
            has_more: page.has_more,
            next_page: page.next_page,
        })
    }

    fn results(&self, bucket: Bucket, missing: bool) -> Vec<Map<String, Value>> {
        let slice = bucket.day_slice();
        let d = self.dims;
        let mut groups: BTreeMap<GroupKey, Sums> = BTreeMap::new();
        for u in self.data.usage.on(slice.day) {
            if !self.filters.admits(u) {
                continue;
            }
            let key = GroupKey {
                workspace: if d.workspace { u.workspace } else { None },
                key: if d.key { u.key } else { None },
                model: d.model.then_some(u.model),
                tier: d.tier.then_some(u.tier),
                context: d.context.then_some(u.context),
                geo: d.geo.then_some(u.model.inference_geo()),
            };
            let s = groups.entry(key).or_default();
            s.uncached += slice.prorate(u.uncached);
            s.write_5m += slice.prorate(u.write_5m);
            s.write_1h += slice.prorate(u.write_1h);
            s.read += slice.prorate(u.read);
            s.output += slice.prorate(u.output);
            s.searches += slice.prorate(u.web_searches);
        }
        groups
            .into_iter()
            .filter(|(_, s)| {
                s.uncached + s.write_5m + s.write_1h + s.read + s.output + s.searches > 0
            })
            .map(|(key, s)| self.result(&key, &s, missing))
            .collect()
    }

    fn result(&self, key: &GroupKey, s: &Sums, missing: bool) -> Map<String, Value> {
        let org = &self.data.org;
        let mut m = Map::new();
        let mut put = |name: &str, value: Value| {
            m.insert(name.to_owned(), value);
        };
        put("uncached_input_tokens", json!(s.uncached));
        put(
            "cache_creation",
            json!({"ephemeral_1h_input_tokens": s.write_1h, "ephemeral_5m_input_tokens": s.write_5m}),
        );
        put("cache_read_input_tokens", json!(s.read));
        if !missing {
            put("output_tokens", json!(s.output));
        }
        put(
            "server_tool_use",
            json!({"web_search_requests": s.searches}),
        );
        put(
            "api_key_id",
            json!(key.key.map(|k| &org.keys[usize::from(k)].id)),
        );
        put(
            "workspace_id",
            json!(key.workspace.map(|w| &org.workspaces[usize::from(w)].id)),
        );
        put("model", json!(key.model.map(Model::name)));
        put("service_tier", json!(key.tier.map(Tier::text)));
        put("context_window", json!(key.context.map(Context::text)));
        put("inference_geo", json!(key.geo));
        put("account_id", Value::Null);
        put("service_account_id", Value::Null);
        if self.dims.speed {
            put("speed", json!("standard"));
        }
        m
    }
}
