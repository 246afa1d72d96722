//! `GET /v1/organizations/cost_report`: daily buckets only, `limit` 1–31 (default 7),
//! `group_by[]` ∈ `workspace_id`, `description`.
//!
//! `amount` is a decimal string in cents with fractional cents (the fake's nano-dollars / 10^7,
//! e.g. `"123.78912"`), `currency` `"USD"`. Without `description` grouping, `description`,
//! `cost_type`, `model`, `token_type`, `service_tier` and `context_window` are null; with it,
//! token costs carry all of them, while web search and code execution carry only
//! `description` and `cost_type` (their model, tier and context are null). Code execution has
//! no counterpart in the usage report. `inference_geo` (newer) is always present and null.
//! Under [`Fault::MissingField`](crate::Fault::MissingField) results lack `amount`.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Serialize;

use super::data::Data;
use super::models::{Context, Model, Tier, TokenType};
use super::params;
use crate::common::buckets::{Bucket, Width};
use crate::common::money;
use crate::common::query::Query;
use crate::common::respond::{ApiError, Prepared, Variant, json_bytes};
use crate::common::time_text::rfc3339;
use crate::common::window::Window;

#[derive(Serialize)]
struct CostResult {
    currency: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    amount: Option<String>,
    workspace_id: Option<String>,
    description: Option<String>,
    cost_type: Option<&'static str>,
    context_window: Option<&'static str>,
    model: Option<&'static str>,
    service_tier: Option<&'static str>,
    token_type: Option<&'static str>,
    inference_geo: Option<&'static str>,
}

#[derive(Serialize)]
struct BucketOut {
    starting_at: String,
    ending_at: String,
    results: Vec<CostResult>,
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
    by_workspace: bool,
    by_description: bool,
}

pub(crate) fn prepare(data: &Arc<Data>, q: &Query) -> Result<Prepared, ApiError> {
    let window = params::window(q, data.default_end(), &["1d"], |_: Width| (7, 31))?;
    let group_by = params::enum_array(q, "group_by", &["workspace_id", "description"])?;
    let request = Request {
        data: Arc::clone(data),
        window,
        by_workspace: group_by.contains(&"workspace_id"),
        by_description: group_by.contains(&"description"),
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

    fn results(&self, bucket: Bucket, missing: bool) -> Vec<CostResult> {
        let slice = bucket.day_slice();
        let mut groups: BTreeMap<(Option<u8>, Option<u16>), u64> = BTreeMap::new();
        for c in self.data.costs.on(slice.day) {
            let workspace = if self.by_workspace { c.workspace } else { None };
            let item = self.by_description.then_some(c.item);
            *groups.entry((workspace, item)).or_default() += slice.prorate(c.nanos);
        }
        let org = &self.data.org;
        groups
            .into_iter()
            .filter(|(_, nanos)| *nanos > 0)
            .map(|((workspace, item), nanos)| {
                let item = item.map(|i| &self.data.items[usize::from(i)]);
                CostResult {
                    currency: "USD",
                    amount: (!missing).then(|| money::cents(nanos)),
                    workspace_id: workspace.map(|w| org.workspaces[usize::from(w)].id.clone()),
                    description: item.map(|i| i.description.clone()),
                    cost_type: item.map(|i| i.cost_type),
                    context_window: item.and_then(|i| i.context).map(Context::text),
                    model: item.and_then(|i| i.model).map(Model::name),
                    service_tier: item.and_then(|i| i.tier).map(Tier::text),
                    token_type: item.and_then(|i| i.token_type).map(TokenType::text),
                    inference_geo: None,
                }
            })
            .collect()
    }
}
