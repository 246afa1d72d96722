//! `GET /v1/organization/costs`: daily buckets only (`bucket_width=1d`), `limit` 1–180 (default
//! 7), `group_by` ∈ `project_id`, `line_item`, `api_key_id` (the last from the newer spec),
//! filters `project_ids`, `api_key_ids`.
//!
//! `amount.value` is in dollars with the exact decimal text of the fake's nano-dollar figures: a
//! JSON number, except on a deterministic quarter of the results (chosen by bucket and group)
//! where it is a decimal string, as the doc says both occur. `currency` is `"usd"`. The newer
//! optional fields are present: `api_key_id` (null unless grouped) and `quantity` (set when
//! grouped by `line_item`: tokens, images, characters, seconds, calls, or GB-days for
//! vector storage). Under [`Fault::MissingField`](crate::Fault::MissingField) results lack `amount`.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Serialize;
use serde_json::value::RawValue;

use super::data::Data;
use super::params;
use crate::common::buckets::{Bucket, Width};
use crate::common::money;
use crate::common::prng::SplitMix64;
use crate::common::query::Query;
use crate::common::respond::{ApiError, Prepared, Variant, json_bytes};
use crate::common::window::Window;

const GROUP_BY: &[&str] = &["project_id", "line_item", "api_key_id"];

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct GroupKey {
    project: Option<u8>,
    key: Option<u8>,
    item: Option<u16>,
}

#[derive(Serialize)]
struct Amount {
    value: Box<RawValue>,
    currency: &'static str,
}

#[derive(Serialize)]
struct CostResult {
    object: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    amount: Option<Amount>,
    line_item: Option<String>,
    project_id: Option<String>,
    api_key_id: Option<String>,
    quantity: Option<Box<RawValue>>,
}

#[derive(Serialize)]
struct BucketOut {
    object: &'static str,
    start_time: i64,
    end_time: i64,
    results: Vec<CostResult>,
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
    window: Window,
    by_project: bool,
    by_item: bool,
    by_key: bool,
    projects: Option<Vec<u8>>,
    keys: Option<Vec<u8>>,
}

fn raw(text: String) -> Result<Box<RawValue>, ApiError> {
    RawValue::from_string(text).map_err(|e| ApiError::internal(format!("bad number text: {e}")))
}

pub(crate) fn prepare(data: &Arc<Data>, q: &Query) -> Result<Prepared, ApiError> {
    let window = params::window(q, data.default_end(), &["1d"], |_: Width| (7, 180))?;
    let group_by = params::group_by(q, GROUP_BY)?;
    let org = &data.org;
    let wanted = |sent: Vec<&str>, ids: Vec<&str>| {
        (!sent.is_empty()).then(|| {
            ids.iter()
                .enumerate()
                .filter(|(_, id)| sent.contains(id))
                .map(|(i, _)| i as u8)
                .collect()
        })
    };
    let request = Request {
        data: Arc::clone(data),
        window,
        by_project: group_by.contains(&"project_id"),
        by_item: group_by.contains(&"line_item"),
        by_key: group_by.contains(&"api_key_id"),
        projects: wanted(
            params::array(q, "project_ids")?,
            org.projects.iter().map(|p| p.id.as_str()).collect(),
        ),
        keys: wanted(
            params::array(q, "api_key_ids")?,
            org.keys.iter().map(|k| k.id.as_str()).collect(),
        ),
    };
    Ok(Prepared {
        page: request.window.page,
        render: Arc::new(move |variant| request.render(variant)),
    })
}

impl Request {
    fn render(&self, variant: Variant) -> Result<Vec<u8>, ApiError> {
        let page = self.window.page(variant);
        let mut data = Vec::with_capacity(page.buckets.len());
        for &b in &page.buckets {
            data.push(BucketOut {
                object: "bucket",
                start_time: b.start,
                end_time: b.end,
                results: self.results(b, variant == Variant::MissingField)?,
            });
        }
        json_bytes(&Page {
            object: "page",
            data,
            has_more: page.has_more,
            next_page: page.next_page,
        })
    }

    fn results(&self, bucket: Bucket, missing: bool) -> Result<Vec<CostResult>, ApiError> {
        let slice = bucket.day_slice();
        let mut groups: BTreeMap<GroupKey, (u64, u64)> = BTreeMap::new();
        for c in self.data.costs.on(slice.day) {
            let admitted = self
                .projects
                .as_ref()
                .is_none_or(|l| l.contains(&c.project))
                && self
                    .keys
                    .as_ref()
                    .is_none_or(|l| c.key.is_some_and(|k| l.contains(&k)));
            if !admitted {
                continue;
            }
            let key = GroupKey {
                project: self.by_project.then_some(c.project),
                key: if self.by_key { c.key } else { None },
                item: self.by_item.then_some(c.item),
            };
            let sums = groups.entry(key).or_default();
            sums.0 += slice.prorate(c.nanos);
            sums.1 += slice.prorate(c.quantity);
        }
        let org = &self.data.org;
        let mut results = Vec::with_capacity(groups.len());
        for (key, (nanos, quantity)) in groups {
            if nanos == 0 {
                continue;
            }
            let dollars = money::dollars(nanos);
            // A quarter of the results carry the amount as a decimal string.
            let cell = [
                bucket.start as u64,
                key.project.map_or(99, u64::from),
                key.key.map_or(99, u64::from),
                key.item.map_or(999, u64::from),
            ];
            let as_string = SplitMix64::for_cell(self.data.seed, &cell)
                .next_u64()
                .is_multiple_of(4);
            let value = if as_string {
                format!("\"{dollars}\"")
            } else {
                dollars
            };
            let item = key.item.map(|i| &self.data.line_items[usize::from(i)]);
            results.push(CostResult {
                object: "organization.costs.result",
                amount: if missing {
                    None
                } else {
                    Some(Amount {
                        value: raw(value)?,
                        currency: "usd",
                    })
                },
                line_item: item.map(|i| i.name.clone()),
                project_id: key.project.map(|p| org.projects[usize::from(p)].id.clone()),
                api_key_id: key.key.map(|k| org.keys[usize::from(k)].id.clone()),
                quantity: match item {
                    Some(i) => Some(raw(money::decimal(u128::from(quantity), i.quantity_scale))?),
                    None => None,
                },
            });
        }
        Ok(results)
    }
}
