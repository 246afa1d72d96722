//! The five OpenRouter endpoints. Dollar amounts are JSON numbers written as the exact decimal
//! text of the fake's nano-dollar figures.
//!
//! - `GET /key` (and `/auth/key`): the calling key. For an API key: `usage` = lifetime,
//!   `usage_daily` = `today`, `usage_weekly` = Monday..today, `usage_monthly` = the 1st..today
//!   (UTC), same for `byok_usage*`; `limit_remaining` = `limit` − the usage of the `limit_reset`
//!   window (lifetime when null), floored at 0. The management key reports zero usage and
//!   `limit: null`. `rate_limit.requests` is −1 (the schema says it "will always return -1").
//!   MissingField: no `usage`.
//! - `GET /credits`: `total_credits` (purchased) and `total_usage` (every key's lifetime
//!   `usage`, today and deleted keys included). MissingField: no `total_usage`.
//! - `GET /activity`: one row per (date, model, provider endpoint) for the 30 completed UTC days
//!   `today − 30 ..= today − 1` (never `today`), dates descending, then model and provider
//!   name; with `group_by=workspace` also per workspace, with `workspace_id`. Filters: `date`
//!   (`YYYY-MM-DD` inside the window, else 400), `api_key_hash` (unknown → no rows),
//!   `user_id` (the keys' `creator_user_id`; unknown → no rows), `workspace_id` (malformed →
//!   400, unknown → 404). `cached_tokens` is sent (the newer SDK's field). No pagination.
//!   MissingField: rows lack `usage`.
//! - `GET /keys`: API keys of one workspace (the default one unless `workspace_id`), newest
//!   `created_at` first, 100 per page from `offset`; disabled keys only with
//!   `include_disabled=true`; `include_expired` is accepted (no key is expired). No total is
//!   sent: loop until a short or empty page. MissingField: rows lack `hash`.
//! - `GET /workspaces`: `offset`, `limit` 1–100 (default 50; outside → 400), oldest first (the
//!   default workspace first), with `total_count`. MissingField: rows lack `id`.
//!
//! [`Fault::RepeatPage`](crate::Fault::RepeatPage) on the offset listings serves the previous
//! page again (the same page on the first); on the other endpoints it answers normally. The
//! page number for fault rules is `offset / page size + 1`.

use std::cmp::Reverse;
use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Serialize;
use serde_json::value::RawValue;

use super::data::{Data, ENDPOINTS, MODELS, Windows};
use super::http::{Caller, boolean, known_params, non_negative};
use crate::common::money;
use crate::common::query::Query;
use crate::common::respond::{ApiError, Prepared, Variant, json_bytes};
use crate::common::time_text::{date_of, rfc3339, unix_day};

const KEYS_PAGE: usize = 100;

fn raw(text: String) -> Result<Box<RawValue>, ApiError> {
    RawValue::from_string(text).map_err(|e| ApiError::internal(format!("bad number text: {e}")))
}

fn dollars(nanos: u64) -> Result<Box<RawValue>, ApiError> {
    raw(money::dollars(nanos))
}

fn day_text(day: i64) -> String {
    date_of(day).map(|d| d.to_string()).unwrap_or_default()
}

fn is_uuid(text: &str) -> bool {
    let parts: Vec<&str> = text.split('-').collect();
    parts.len() == 5
        && parts
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(p, n)| p.len() == n && p.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// A workspace by `workspace_id`: 400 if not a UUID, 404 if unknown.
fn workspace(data: &Data, id: &str) -> Result<u8, ApiError> {
    if !is_uuid(id) {
        return Err(ApiError::invalid(format!(
            "Invalid 'workspace_id': expected a UUID, got '{id}'"
        )));
    }
    data.workspaces
        .iter()
        .position(|w| w.id == id)
        .map(|i| i as u8)
        .ok_or_else(|| ApiError::not_found("Workspace not found"))
}

#[derive(Serialize)]
struct RateLimit {
    interval: &'static str,
    note: &'static str,
    requests: i64,
}

#[derive(Serialize)]
struct KeyData {
    label: String,
    limit: Option<u64>,
    limit_remaining: Option<Box<RawValue>>,
    limit_reset: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    usage: Option<Box<RawValue>>,
    usage_daily: Box<RawValue>,
    usage_weekly: Box<RawValue>,
    usage_monthly: Box<RawValue>,
    byok_usage: Box<RawValue>,
    byok_usage_daily: Box<RawValue>,
    byok_usage_weekly: Box<RawValue>,
    byok_usage_monthly: Box<RawValue>,
    include_byok_in_limit: bool,
    is_free_tier: bool,
    is_management_key: bool,
    is_provisioning_key: bool,
    creator_user_id: Option<String>,
    expires_at: Option<String>,
    rate_limit: RateLimit,
    workspace_id: Option<String>,
}

#[derive(Serialize)]
struct Envelope<T> {
    data: T,
}

fn remaining(limit: Option<u64>, reset: Option<&str>, usage: &Windows) -> Option<u64> {
    let used = match reset {
        Some("daily") => usage.daily,
        Some("weekly") => usage.weekly,
        Some("monthly") => usage.monthly,
        _ => usage.all,
    };
    limit.map(|l| (l * 1_000_000_000).saturating_sub(used))
}

pub(crate) fn key(data: &Arc<Data>, caller: Caller) -> Prepared {
    let data = Arc::clone(data);
    Prepared {
        page: 1,
        render: Arc::new(move |variant| {
            let zero = Windows::default();
            let (label, limit, reset, (usage, byok), management, creator, workspace) = match caller
            {
                Caller::Management => {
                    let secret = &data.management_key;
                    let label = format!(
                        "{}...{}",
                        &secret[..12.min(secret.len())],
                        &secret[secret.len().saturating_sub(3)..]
                    );
                    (label, None, None, (zero, zero), true, None, None)
                }
                Caller::Key(k) => {
                    let key = &data.keys[k];
                    (
                        key.label(),
                        key.limit_dollars,
                        key.limit_reset,
                        data.key_windows(k),
                        false,
                        key.creator.map(|c| data.member_ids[usize::from(c)].clone()),
                        Some(data.workspaces[usize::from(key.workspace)].id.clone()),
                    )
                }
            };
            let body = KeyData {
                label,
                limit,
                limit_remaining: remaining(limit, reset, &usage).map(dollars).transpose()?,
                limit_reset: reset,
                usage: if variant == Variant::MissingField {
                    None
                } else {
                    Some(dollars(usage.all)?)
                },
                usage_daily: dollars(usage.daily)?,
                usage_weekly: dollars(usage.weekly)?,
                usage_monthly: dollars(usage.monthly)?,
                byok_usage: dollars(byok.all)?,
                byok_usage_daily: dollars(byok.daily)?,
                byok_usage_weekly: dollars(byok.weekly)?,
                byok_usage_monthly: dollars(byok.monthly)?,
                include_byok_in_limit: false,
                is_free_tier: false,
                is_management_key: management,
                is_provisioning_key: management,
                creator_user_id: creator,
                expires_at: None,
                rate_limit: RateLimit {
                    interval: "1h",
                    note: "This field is deprecated and safe to ignore.",
                    requests: -1,
                },
                workspace_id: workspace,
            };
            json_bytes(&Envelope { data: body })
        }),
    }
}

#[derive(Serialize)]
struct Credits {
    total_credits: Box<RawValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    total_usage: Option<Box<RawValue>>,
}

pub(crate) fn credits(data: &Arc<Data>) -> Prepared {
    let data = Arc::clone(data);
    Prepared {
        page: 1,
        render: Arc::new(move |variant| {
            let used: u64 = data.rows.all().iter().map(|r| r.usage).sum();
            json_bytes(&Envelope {
                data: Credits {
                    total_credits: dollars(data.total_credits_nanos)?,
                    total_usage: if variant == Variant::MissingField {
                        None
                    } else {
                        Some(dollars(used)?)
                    },
                },
            })
        }),
    }
}

#[derive(Serialize)]
struct ActivityRow {
    date: String,
    model: &'static str,
    model_permaslug: &'static str,
    endpoint_id: String,
    provider_name: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    usage: Option<Box<RawValue>>,
    byok_usage_inference: Box<RawValue>,
    requests: u64,
    prompt_tokens: u64,
    completion_tokens: u64,
    reasoning_tokens: u64,
    cached_tokens: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    workspace_id: Option<String>,
}

/// (date, newest first; model; provider; endpoint; workspace when grouped).
type GroupKey = (Reverse<i64>, &'static str, &'static str, u8, Option<u8>);

#[derive(Debug, Clone, Copy, Default)]
struct Sums {
    usage: u64,
    byok: u64,
    requests: u64,
    prompt: u64,
    completion: u64,
    reasoning: u64,
    cached: u64,
}

pub(crate) fn activity(
    data: &Arc<Data>,
    q: &Query,
    raw_query: Option<&str>,
) -> Result<Prepared, ApiError> {
    known_params(
        raw_query,
        &[
            "date",
            "api_key_hash",
            "user_id",
            "workspace_id",
            "group_by",
        ],
    )?;
    let (first, last) = data.activity_window();
    let date = match q.first("date") {
        None => None,
        Some(text) => {
            let format = time::macros::format_description!("[year]-[month]-[day]");
            let day = (text.len() == 10)
                .then(|| time::Date::parse(text, &format).ok())
                .flatten()
                .map(unix_day)
                .ok_or_else(|| {
                    ApiError::invalid(format!("Invalid 'date': expected YYYY-MM-DD, got '{text}'"))
                })?;
            if day < first || day > last {
                return Err(ApiError::invalid(format!(
                    "Invalid 'date': must be one of the last 30 completed UTC days ({} to {})",
                    day_text(first),
                    day_text(last)
                )));
            }
            Some(day)
        }
    };
    let by_workspace = match q.first("group_by") {
        None => false,
        Some("workspace") => true,
        Some(other) => {
            return Err(ApiError::invalid(format!(
                "Invalid 'group_by': '{other}'. Supported value: 'workspace'"
            )));
        }
    };
    let workspace_filter = q
        .first("workspace_id")
        .map(|id| workspace(data, id))
        .transpose()?;
    let key_hash = q.first("api_key_hash").map(str::to_owned);
    let user = q.first("user_id").map(str::to_owned);
    let (from, to) = date.map_or((first, last), |d| (d, d));
    let data = Arc::clone(data);
    Ok(Prepared {
        page: 1,
        render: Arc::new(move |variant| {
            let mut groups: BTreeMap<GroupKey, Sums> = BTreeMap::new();
            for r in data.rows.between(from, to) {
                let key = &data.keys[usize::from(r.key)];
                let admitted = key_hash.as_deref().is_none_or(|h| h == key.hash)
                    && user.as_deref().is_none_or(|u| {
                        key.creator
                            .is_some_and(|c| data.member_ids[usize::from(c)] == u)
                    })
                    && workspace_filter.is_none_or(|w| w == key.workspace);
                if !admitted {
                    continue;
                }
                let e = &ENDPOINTS[usize::from(r.endpoint)];
                let g = (
                    Reverse(r.day),
                    MODELS[usize::from(e.model)].slug,
                    e.provider,
                    r.endpoint,
                    by_workspace.then_some(key.workspace),
                );
                let s = groups.entry(g).or_default();
                s.usage += r.usage;
                s.byok += r.byok;
                s.requests += r.requests;
                s.prompt += r.prompt;
                s.completion += r.completion;
                s.reasoning += r.reasoning;
                s.cached += r.cached;
            }
            let mut rows = Vec::with_capacity(groups.len());
            for ((Reverse(day), _, _, endpoint, ws), s) in groups {
                let e = &ENDPOINTS[usize::from(endpoint)];
                let m = &MODELS[usize::from(e.model)];
                rows.push(ActivityRow {
                    date: day_text(day),
                    model: m.slug,
                    model_permaslug: m.permaslug,
                    endpoint_id: data.endpoint_ids[usize::from(endpoint)].clone(),
                    provider_name: e.provider,
                    usage: if variant == Variant::MissingField {
                        None
                    } else {
                        Some(dollars(s.usage)?)
                    },
                    byok_usage_inference: dollars(s.byok)?,
                    requests: s.requests,
                    prompt_tokens: s.prompt,
                    completion_tokens: s.completion,
                    reasoning_tokens: s.reasoning,
                    cached_tokens: s.cached,
                    workspace_id: ws.map(|w| data.workspaces[usize::from(w)].id.clone()),
                });
            }
            json_bytes(&Envelope { data: rows })
        }),
    })
}

#[derive(Serialize)]
struct KeyRow {
    #[serde(skip_serializing_if = "Option::is_none")]
    hash: Option<String>,
    name: String,
    label: String,
    disabled: bool,
    limit: Option<u64>,
    limit_remaining: Option<Box<RawValue>>,
    limit_reset: Option<&'static str>,
    usage: Box<RawValue>,
    usage_daily: Box<RawValue>,
    usage_weekly: Box<RawValue>,
    usage_monthly: Box<RawValue>,
    byok_usage: Box<RawValue>,
    byok_usage_daily: Box<RawValue>,
    byok_usage_weekly: Box<RawValue>,
    byok_usage_monthly: Box<RawValue>,
    include_byok_in_limit: bool,
    created_at: String,
    updated_at: Option<String>,
    expires_at: Option<String>,
    creator_user_id: Option<String>,
    workspace_id: String,
}

fn key_row(data: &Data, k: usize, missing: bool) -> Result<KeyRow, ApiError> {
    let key = &data.keys[k];
    let (u, b) = data.key_windows(k);
    Ok(KeyRow {
        hash: (!missing).then(|| key.hash.clone()),
        name: key.name.clone(),
        label: key.label(),
        disabled: key.disabled,
        limit: key.limit_dollars,
        limit_remaining: remaining(key.limit_dollars, key.limit_reset, &u)
            .map(dollars)
            .transpose()?,
        limit_reset: key.limit_reset,
        usage: dollars(u.all)?,
        usage_daily: dollars(u.daily)?,
        usage_weekly: dollars(u.weekly)?,
        usage_monthly: dollars(u.monthly)?,
        byok_usage: dollars(b.all)?,
        byok_usage_daily: dollars(b.daily)?,
        byok_usage_weekly: dollars(b.weekly)?,
        byok_usage_monthly: dollars(b.monthly)?,
        include_byok_in_limit: false,
        created_at: rfc3339(key.created_at),
        updated_at: key.updated_at.map(rfc3339),
        expires_at: None,
        creator_user_id: key.creator.map(|c| data.member_ids[usize::from(c)].clone()),
        workspace_id: data.workspaces[usize::from(key.workspace)].id.clone(),
    })
}

/// The offset a page starts at, bent back one page under `RepeatPage`.
fn effective_offset(offset: usize, size: usize, variant: Variant) -> usize {
    if variant == Variant::RepeatPage {
        offset.saturating_sub(size)
    } else {
        offset
    }
}

fn page_number(offset: usize, size: usize) -> u32 {
    u32::try_from(offset / size.max(1) + 1).unwrap_or(u32::MAX)
}

pub(crate) fn keys(
    data: &Arc<Data>,
    q: &Query,
    raw_query: Option<&str>,
) -> Result<Prepared, ApiError> {
    known_params(
        raw_query,
        &[
            "include_disabled",
            "offset",
            "workspace_id",
            "include_expired",
        ],
    )?;
    let include_disabled = boolean(q, "include_disabled")?.unwrap_or(false);
    let _include_expired = boolean(q, "include_expired")?;
    let offset = usize::try_from(non_negative(q, "offset")?.unwrap_or(0)).unwrap_or(usize::MAX);
    let ws = match q.first("workspace_id") {
        Some(id) => workspace(data, id)?,
        None => 0,
    };
    let mut listed: Vec<usize> = (0..data.keys.len())
        .filter(|&k| {
            let key = &data.keys[k];
            key.workspace == ws && !key.deleted && (include_disabled || !key.disabled)
        })
        .collect();
    listed.sort_by_key(|&k| (Reverse(data.keys[k].created_at), k));
    let data = Arc::clone(data);
    Ok(Prepared {
        page: page_number(offset, KEYS_PAGE),
        render: Arc::new(move |variant| {
            let start = effective_offset(offset, KEYS_PAGE, variant).min(listed.len());
            let end = start.saturating_add(KEYS_PAGE).min(listed.len());
            let rows = listed[start..end]
                .iter()
                .map(|&k| key_row(&data, k, variant == Variant::MissingField))
                .collect::<Result<Vec<_>, _>>()?;
            json_bytes(&Envelope { data: rows })
        }),
    })
}

#[derive(Serialize)]
struct WorkspaceRow {
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<String>,
    name: &'static str,
    slug: &'static str,
    created_at: String,
    updated_at: Option<String>,
}

#[derive(Serialize)]
struct WorkspacePage {
    data: Vec<WorkspaceRow>,
    total_count: usize,
}

pub(crate) fn workspaces(
    data: &Arc<Data>,
    q: &Query,
    raw_query: Option<&str>,
) -> Result<Prepared, ApiError> {
    known_params(raw_query, &["offset", "limit"])?;
    let offset = usize::try_from(non_negative(q, "offset")?.unwrap_or(0)).unwrap_or(usize::MAX);
    let limit = match non_negative(q, "limit")? {
        None => 50,
        Some(l) if (1..=100).contains(&l) => l as usize,
        Some(l) => {
            return Err(ApiError::invalid(format!(
                "Invalid 'limit': must be between 1 and 100, got {l}"
            )));
        }
    };
    let data = Arc::clone(data);
    Ok(Prepared {
        page: page_number(offset, limit),
        render: Arc::new(move |variant| {
            let all = &data.workspaces;
            let start = effective_offset(offset, limit, variant).min(all.len());
            let end = start.saturating_add(limit).min(all.len());
            let rows = all[start..end]
                .iter()
                .map(|w| WorkspaceRow {
                    id: (variant != Variant::MissingField).then(|| w.id.clone()),
                    name: w.name,
                    slug: w.slug,
                    created_at: rfc3339(w.created_at),
                    updated_at: None,
                })
                .collect();
            json_bytes(&WorkspacePage {
                data: rows,
                total_count: all.len(),
            })
        }),
    })
}
