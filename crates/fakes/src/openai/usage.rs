//! `GET /v1/organization/usage/{completions, embeddings, moderations, images, audio_speeches,
//! audio_transcriptions, vector_stores, code_interpreter_sessions}`.
//!
//! Buckets: Unix seconds, end exclusive, the first bucket runs from `start_time` to the next
//! boundary and the last is cut at `end_time` (partial buckets hold a prorated share of the
//! day, see [`crate::common::buckets`]). Empty buckets are present with `"results": []`; a
//! result whose every figure is zero is left out. Dimension fields are null unless grouped by.
//! Filters: `project_ids`, `user_ids`, `api_key_ids`, `models`, `batch`, `sizes`, `sources`.
//! `vector_stores` reports the bytes held that day (a level, not prorated);
//! `code_interpreter_sessions` is always empty (the organization has no sessions). Every
//! completions request is non-batch with `service_tier` `"default"`; every image is an
//! `image.generation`. Under [`Fault::MissingField`](crate::Fault::MissingField) the first figure
//! of each result is left out: `output_tokens` (completions), `input_tokens` (embeddings,
//! moderations), `images`, `characters`, `seconds`, `usage_bytes`, `num_sessions`.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Serialize;
use serde_json::{Map, Value, json};

use super::data::{Data, UsageRow};
use super::models::{Endpoint, ImageSize, Model};
use super::org::Owner;
use super::params;
use crate::common::buckets::{Bucket, DaySlice, Width};
use crate::common::query::Query;
use crate::common::respond::{ApiError, Prepared, Variant, json_bytes};
use crate::common::window::Window;

/// Which dimensions are grouped by.
#[derive(Debug, Clone, Copy, Default)]
struct Dims {
    project: bool,
    user: bool,
    key: bool,
    model: bool,
    batch: bool,
    tier: bool,
    size: bool,
    source: bool,
}

impl Dims {
    fn parse(values: &[&str]) -> Self {
        let has = |name: &str| values.contains(&name);
        Self {
            project: has("project_id"),
            user: has("user_id"),
            key: has("api_key_id"),
            model: has("model"),
            batch: has("batch"),
            tier: has("service_tier"),
            size: has("size"),
            source: has("source"),
        }
    }
}

/// Filters; `None` is "not filtered".
#[derive(Debug, Clone, Default)]
struct Filters {
    projects: Option<Vec<u8>>,
    users: Option<Vec<u8>>,
    keys: Option<Vec<u8>>,
    models: Option<Vec<Model>>,
    batch: Option<bool>,
    sizes: Option<Vec<ImageSize>>,
    sources: Option<Vec<String>>,
}

/// Indices of the items whose id was sent (unknown ids match nothing).
fn indices<'a>(sent: &[&str], ids: impl Iterator<Item = &'a str>) -> Option<Vec<u8>> {
    if sent.is_empty() {
        return None;
    }
    Some(
        ids.enumerate()
            .filter(|(_, id)| sent.contains(id))
            .map(|(i, _)| i as u8)
            .collect(),
    )
}

fn non_empty<T>(v: Vec<T>) -> Option<Vec<T>> {
    (!v.is_empty()).then_some(v)
}

impl Filters {
    fn parse(q: &Query, data: &Data) -> Result<Self, ApiError> {
        let org = &data.org;
        let models = params::array(q, "models")?;
        let sizes = params::array(q, "sizes")?;
        Ok(Self {
            projects: indices(
                &params::array(q, "project_ids")?,
                org.projects.iter().map(|p| p.id.as_str()),
            ),
            users: indices(
                &params::array(q, "user_ids")?,
                org.users.iter().map(|u| u.id.as_str()),
            ),
            keys: indices(
                &params::array(q, "api_key_ids")?,
                org.keys.iter().map(|k| k.id.as_str()),
            ),
            models: (!models.is_empty()).then(|| {
                Model::ALL
                    .into_iter()
                    .filter(|m| models.contains(&m.name()))
                    .collect()
            }),
            batch: params::boolean(q, "batch")?,
            sizes: (!sizes.is_empty()).then(|| {
                [ImageSize::Square1024, ImageSize::Portrait1024x1792]
                    .into_iter()
                    .filter(|s| sizes.contains(&s.text()))
                    .collect()
            }),
            sources: non_empty(
                params::array(q, "sources")?
                    .into_iter()
                    .map(str::to_owned)
                    .collect(),
            ),
        })
    }

    fn admits(&self, row: &UsageRow, user: Option<u8>) -> bool {
        let within = |list: &Option<Vec<u8>>, v: Option<u8>| {
            list.as_ref()
                .is_none_or(|l| v.is_some_and(|v| l.contains(&v)))
        };
        within(&self.projects, Some(row.project))
            && within(&self.users, user)
            && within(&self.keys, Some(row.key))
            && self.models.as_ref().is_none_or(|l| l.contains(&row.model))
            && self.batch.is_none_or(|b| !b)
            && self
                .sizes
                .as_ref()
                .is_none_or(|l| row.size.is_some_and(|s| l.contains(&s)))
            && self
                .sources
                .as_ref()
                .is_none_or(|l| l.iter().any(|s| s == "image.generation"))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct GroupKey {
    project: Option<u8>,
    user: Option<u8>,
    key: Option<u8>,
    model: Option<Model>,
    size: Option<ImageSize>,
    batch: bool,
    tier: bool,
    source: bool,
}

#[derive(Debug, Clone, Copy, Default)]
struct Sums {
    input: u64,
    cached: u64,
    output: u64,
    requests: u64,
    units: u64,
}

impl Sums {
    fn is_zero(&self) -> bool {
        self.input == 0
            && self.cached == 0
            && self.output == 0
            && self.requests == 0
            && self.units == 0
    }
}

#[derive(Serialize)]
struct BucketOut {
    object: &'static str,
    start_time: i64,
    end_time: i64,
    results: Vec<Map<String, Value>>,
}

#[derive(Serialize)]
struct Page {
    object: &'static str,
    data: Vec<BucketOut>,
    has_more: bool,
    next_page: Option<String>,
}

struct Request {
    data: Arc<Data>,
    endpoint: Endpoint,
    window: Window,
    dims: Dims,
    filters: Filters,
}

pub(crate) fn prepare(
    data: &Arc<Data>,
    endpoint: Endpoint,
    q: &Query,
) -> Result<Prepared, ApiError> {
    let window = params::window(
        q,
        data.default_end(),
        &["1m", "1h", "1d"],
        Width::usage_limits,
    )?;
    let dims = Dims::parse(&params::group_by(q, endpoint.group_by())?);
    let filters = Filters::parse(q, data)?;
    let request = Request {
        data: Arc::clone(data),
        endpoint,
        window,
        dims,
        filters,
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
                object: "bucket",
                start_time: b.start,
                end_time: b.end,
                results: self.results(b, variant == Variant::MissingField),
            })
            .collect();
        json_bytes(&Page {
            object: "page",
            data,
            has_more: page.has_more,
            next_page: page.next_page,
        })
    }

    fn user_of(&self, row: &UsageRow) -> Option<u8> {
        match self.data.org.keys[usize::from(row.key)].owner {
            Owner::User(u) => Some(u),
            Owner::ServiceAccount(_) => None,
        }
    }

    fn results(&self, bucket: Bucket, missing: bool) -> Vec<Map<String, Value>> {
        let slice = bucket.day_slice();
        match self.endpoint {
            Endpoint::CodeInterpreterSessions => Vec::new(),
            Endpoint::VectorStores => self.vector_results(slice, missing),
            _ => self.usage_results(slice, missing),
        }
    }

    fn vector_results(&self, slice: DaySlice, missing: bool) -> Vec<Map<String, Value>> {
        let mut sums: BTreeMap<Option<u8>, u64> = BTreeMap::new();
        for v in self.data.vector.on(slice.day) {
            if self
                .filters
                .projects
                .as_ref()
                .is_none_or(|l| l.contains(&v.project))
            {
                let key = self.dims.project.then_some(v.project);
                *sums.entry(key).or_default() += v.megabytes * 1_000_000;
            }
        }
        sums.into_iter()
            .map(|(project, bytes)| {
                let mut m = Map::new();
                m.insert("object".into(), json!(self.endpoint.result_object()));
                if !missing {
                    m.insert("usage_bytes".into(), json!(bytes));
                }
                m.insert(
                    "project_id".into(),
                    json!(project.map(|p| self.project_id(p))),
                );
                m
            })
            .collect()
    }

    fn usage_results(&self, slice: DaySlice, missing: bool) -> Vec<Map<String, Value>> {
        let mut groups: BTreeMap<GroupKey, Sums> = BTreeMap::new();
        for row in self.data.usage.on(slice.day) {
            let user = self.user_of(row);
            if row.model.endpoint() != self.endpoint || !self.filters.admits(row, user) {
                continue;
            }
            let d = self.dims;
            let key = GroupKey {
                project: d.project.then_some(row.project),
                user: if d.user { user } else { None },
                key: d.key.then_some(row.key),
                model: d.model.then_some(row.model),
                size: if d.size { row.size } else { None },
                batch: d.batch,
                tier: d.tier,
                source: d.source,
            };
            let s = groups.entry(key).or_default();
            s.input += slice.prorate(row.input);
            s.cached += slice.prorate(row.cached);
            s.output += slice.prorate(row.output);
            s.requests += slice.prorate(row.requests);
            s.units += slice.prorate(row.units);
        }
        groups
            .into_iter()
            .filter(|(_, s)| !s.is_zero())
            .map(|(key, sums)| self.usage_result(&key, &sums, missing))
            .collect()
    }

    fn project_id(&self, p: u8) -> &str {
        &self.data.org.projects[usize::from(p)].id
    }

    fn usage_result(&self, key: &GroupKey, s: &Sums, missing: bool) -> Map<String, Value> {
        let org = &self.data.org;
        let mut m = Map::new();
        let mut put = |name: &str, value: Value| {
            m.insert(name.to_owned(), value);
        };
        put("object", json!(self.endpoint.result_object()));
        let (first, rest): (&str, Vec<(&str, u64)>) = match self.endpoint {
            Endpoint::Completions => (
                "output_tokens",
                vec![
                    ("input_tokens", s.input),
                    ("input_cached_tokens", s.cached),
                    ("input_audio_tokens", 0),
                    ("output_audio_tokens", 0),
                ],
            ),
            Endpoint::Images => ("images", vec![]),
            Endpoint::AudioSpeeches => ("characters", vec![]),
            Endpoint::AudioTranscriptions => ("seconds", vec![]),
            _ => ("input_tokens", vec![]),
        };
        let first_value = match first {
            "output_tokens" => s.output,
            "input_tokens" => s.input,
            _ => s.units,
        };
        if !missing {
            put(first, json!(first_value));
        }
        for (name, value) in rest {
            put(name, json!(value));
        }
        put("num_model_requests", json!(s.requests));
        put("project_id", json!(key.project.map(|p| self.project_id(p))));
        put(
            "user_id",
            json!(key.user.map(|u| &org.users[usize::from(u)].id)),
        );
        put(
            "api_key_id",
            json!(key.key.map(|k| &org.keys[usize::from(k)].id)),
        );
        put("model", json!(key.model.map(Model::name)));
        match self.endpoint {
            Endpoint::Completions => {
                put("batch", json!(key.batch.then_some(false)));
                put("service_tier", json!(key.tier.then_some("default")));
            }
            Endpoint::Images => {
                put("size", json!(key.size.map(ImageSize::text)));
                put("source", json!(key.source.then_some("image.generation")));
            }
            _ => {}
        }
        m
    }
}
