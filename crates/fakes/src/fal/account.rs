//! `GET /v1/keys` and `GET /v1/account/billing`.
//!
//! `/v1/keys`: the API-scope keys (the admin key and the deleted key are not listed), oldest
//! first, `{"keys": [{key_id, alias, scope: "API", created_at}], "next_cursor", "has_more"}`;
//! `limit` default 50, at most 100; `expand=creator_info` adds `creator_nickname` and
//! `creator_email`. The listed `key_id`s are the `api_key_id`s of usage. MissingField: keys
//! lack `key_id`.
//!
//! `/v1/account/billing`: `{"username"}`, plus `credits: {current_balance, currency: "USD"}`
//! with `expand=credits` (the balance is exact decimal text). MissingField: no `username`.

use std::sync::Arc;

use serde::Serialize;
use serde_json::value::RawValue;

use super::data::{Data, SOURCES};
use super::http::{Paging, expand, known_params, paging};
use super::usage::dollars;
use crate::common::query::Query;
use crate::common::respond::{ApiError, Prepared, Variant, json_bytes};
use crate::common::time_text::rfc3339;

#[derive(Serialize)]
struct KeyOut {
    #[serde(skip_serializing_if = "Option::is_none")]
    key_id: Option<String>,
    alias: &'static str,
    scope: &'static str,
    created_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    creator_nickname: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    creator_email: Option<&'static str>,
}

#[derive(Serialize)]
struct KeyPage {
    keys: Vec<KeyOut>,
    next_cursor: Option<String>,
    has_more: bool,
}

struct KeysRequest {
    data: Arc<Data>,
    listed: Vec<usize>,
    creator_info: bool,
    paging: Paging,
}

pub(crate) fn keys(
    data: &Arc<Data>,
    q: &Query,
    raw_query: Option<&str>,
    pairs: &[(String, String)],
) -> Result<Prepared, ApiError> {
    known_params(raw_query, &["limit", "cursor", "expand"])?;
    let creator_info = !expand(pairs, &["creator_info"])?.is_empty();
    let paging = paging(q, 50, 100)?;
    let mut listed: Vec<usize> = (0..SOURCES.len())
        .filter(|&i| !SOURCES[i].deleted && data.keys[i].is_some())
        .collect();
    listed.sort_by_key(|&i| data.keys[i].as_ref().map_or(0, |k| k.created_at));
    let request = KeysRequest {
        data: Arc::clone(data),
        listed,
        creator_info,
        paging,
    };
    Ok(Prepared {
        page: request.paging.page,
        render: Arc::new(move |variant| request.render(variant)),
    })
}

impl KeysRequest {
    fn render(&self, variant: Variant) -> Result<Vec<u8>, ApiError> {
        let ((start, end), next_cursor, has_more) = self.paging.slice(self.listed.len(), variant);
        let keys = self.listed[start..end]
            .iter()
            .filter_map(|&i| self.data.keys[i].as_ref().map(|k| (i, k)))
            .map(|(i, k)| KeyOut {
                key_id: (variant != Variant::MissingField).then(|| k.key_id.clone()),
                alias: SOURCES[i].name,
                scope: "API",
                created_at: rfc3339(k.created_at),
                creator_nickname: self.creator_info.then_some(k.creator.0),
                creator_email: self.creator_info.then_some(k.creator.1),
            })
            .collect();
        json_bytes(&KeyPage {
            keys,
            next_cursor,
            has_more,
        })
    }
}

#[derive(Serialize)]
struct Credits {
    current_balance: Box<RawValue>,
    currency: &'static str,
}

#[derive(Serialize)]
struct Billing {
    #[serde(skip_serializing_if = "Option::is_none")]
    username: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    credits: Option<Credits>,
}

pub(crate) fn billing(
    data: &Arc<Data>,
    raw_query: Option<&str>,
    pairs: &[(String, String)],
) -> Result<Prepared, ApiError> {
    known_params(raw_query, &["expand"])?;
    let with_credits = !expand(pairs, &["credits"])?.is_empty();
    let data = Arc::clone(data);
    Ok(Prepared {
        page: 1,
        render: Arc::new(move |variant| {
            json_bytes(&Billing {
                username: (variant != Variant::MissingField).then_some(data.username),
                credits: with_credits
                    .then(|| {
                        Ok::<_, ApiError>(Credits {
                            current_balance: dollars(data.balance_nanos)?,
                            currency: "USD",
                        })
                    })
                    .transpose()?,
            })
        }),
    })
}
