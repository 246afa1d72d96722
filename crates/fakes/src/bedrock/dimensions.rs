//! `GetDimensionValues` (doc §1, §6): the values of one dimension that have records in the
//! period (and pass the filter), sorted; `SearchString` is a case-insensitive substring match
//! (so `"Bedrock"` finds `Amazon Bedrock` and every `… (Amazon Bedrock Edition)`).
//!
//! Attributes: LINKED_ACCOUNT values carry `{"description": <account name>}`; USAGE_TYPE values
//! carry `{"unit": <pricing unit>}` — `1K tokens` for first-party Bedrock token types, `Units`
//! (1 Unit = 1M tokens) for Marketplace ones, `Hrs` for EC2 (the document says a unit attribute
//! exists; its key name `unit` is the fake's choice); others `{}`. Pages of `MaxResults`
//! values (default 1000) with a `NextPageToken` bound to the other parameters.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{Map, Value, json};

use super::catalog::product_of;
use super::cost::{admits, dim_value};
use super::data::Data;
use super::http::{AwsError, Prepared};
use super::request::{Dim, DimensionRequest};
use super::token::{PageToken, params_hash};
use crate::common::respond::Variant;

pub(crate) const OPERATION: &str = "GetDimensionValues";

const DEFAULT_PAGE: usize = 1000;

pub(crate) fn prepare(
    data: &Arc<Data>,
    body: &Value,
    request: DimensionRequest,
) -> Result<Prepared, AwsError> {
    let params = params_hash(OPERATION, body);
    let needle = request.search.as_ref().map(|s| s.to_lowercase());
    let mut values: BTreeMap<String, Value> = BTreeMap::new();
    for row in data
        .rows
        .between(request.period.start, request.period.end - 1)
    {
        if !request.filter.as_ref().is_none_or(|f| admits(data, f, row)) {
            continue;
        }
        let value = dim_value(data, row, request.dim);
        if needle
            .as_ref()
            .is_some_and(|n| !value.to_lowercase().contains(n.as_str()))
        {
            continue;
        }
        if values.contains_key(value) {
            continue;
        }
        let attributes = match request.dim {
            Dim::LinkedAccount => {
                let name = data
                    .accounts
                    .get(usize::from(row.account))
                    .map_or("", |a| a.name);
                json!({"description": name})
            }
            Dim::UsageType => json!({"unit": product_of(row.product).unit}),
            _ => json!({}),
        };
        values.insert(value.to_owned(), attributes);
    }
    let all: Vec<(String, Value)> = values.into_iter().collect();
    let (position, page_number) = match &request.next_page_token {
        None => (0usize, 1u32),
        Some(text) => {
            let token = PageToken::decode(text).ok_or_else(AwsError::invalid_token)?;
            if token.params != params {
                return Err(AwsError::request_changed());
            }
            if token.position as usize > all.len() {
                return Err(AwsError::invalid_token());
            }
            (token.position as usize, token.page)
        }
    };
    let size = request
        .max_results
        .map_or(DEFAULT_PAGE, |n| n as usize)
        .max(1);
    let end = (position + size).min(all.len());
    let page: Vec<Value> = all[position..end]
        .iter()
        .map(|(v, a)| json!({"Value": v, "Attributes": a}))
        .collect();
    let total = all.len();
    let next = (end < total).then(|| PageToken {
        params,
        position: end as u32,
        page: page_number + 1,
    });
    let sent = request.next_page_token.clone();
    Ok(Prepared {
        page: page_number,
        render: Box::new(move |variant| {
            let mut out = Map::new();
            let values: Vec<Value> = if variant == Variant::MissingField {
                page.iter()
                    .map(|v| json!({"Attributes": v["Attributes"].clone()}))
                    .collect()
            } else {
                page.clone()
            };
            out.insert("ReturnSize".into(), json!(values.len()));
            out.insert("DimensionValues".into(), Value::Array(values));
            out.insert("TotalSize".into(), json!(total));
            let token = match variant {
                Variant::RepeatPage => Some(sent.clone().unwrap_or_else(|| {
                    PageToken {
                        params,
                        position: 0,
                        page: page_number,
                    }
                    .encode()
                })),
                _ => next.map(PageToken::encode),
            };
            if let Some(t) = token {
                out.insert("NextPageToken".into(), Value::String(t));
            }
            serde_json::to_vec(&Value::Object(out)).unwrap_or_default()
        }),
    })
}
