//! `GET /user/daily/activity` and `GET /team/daily/activity`, with the documented pagination
//! pitfall: `page`/`page_size` page over the underlying rollup rows — (user, date, key, model,
//! provider) for the user view, (team, date, key, model, provider) for the team view — ordered by
//! date descending (then user or team, key hash, model, provider), and each page is folded into
//! per-date results. One date is therefore often split across pages; only merging every page by
//! date gives the day's totals. `metadata.total_*` are the totals of the page's rows (not of the
//! whole range); `total_pages` = ⌈rows / page_size⌉, `has_more` = page·page_size < rows.
//!
//! Parameters: `start_date`, `end_date` (required, `YYYY-MM-DD`, inclusive UTC dates; missing →
//! 400 `{"detail": {"error": "Please provide start_date and end_date"}}`, malformed → 400);
//! `page` ≥ 1 (default 1) and `page_size` 1–1000 (default 50 user view, 10 team view), both
//! 422 outside; `model`; `api_key` (the hash, or a raw `sk-…` key that the fake hashes);
//! `timezone` (minutes, JavaScript `getTimezoneOffset` sign: the local dates are turned into the
//! UTC dates they overlap, e.g. `300` reads `start_date ..= end_date + 1`); and
//! `include_current_utc_day` (true: the range is extended to the proxy's current UTC date).
//! User view: `user_id` (admins may omit it for everyone; a non-admin without it is silently
//! scoped to themselves, and asking for another user is a 403 "Non-admin users can only view
//! their own spend data."). Team view: `team_ids` (comma list) and `exclude_team_ids`; rows only
//! for keys that belong to a team; a non-admin is scoped to their teams, and naming another
//! team is a 401 like `/team/list`.
//!
//! Each result: `date`, `metrics` and `breakdown.{models, model_groups, providers, api_keys,
//! mcp_servers, endpoints, entities, guardrails}`; the first three hold
//! `{metrics, metadata: {}, api_key_breakdown: {hash: {metrics, metadata: {key_alias,
//! team_id}}}}`, `api_keys` hold `{metrics, metadata: {key_alias, team_id, user_id, user_email,
//! key_exists}}` (`key_exists` false for a deleted key and for the master key, whose alias is
//! null), `entities` (team view only) `{team_id: {metrics, metadata: {team_alias},
//! api_key_breakdown}}`. Spend is written as Python prints a float: plain decimals from 0.0001,
//! scientific notation below (`1.095e-05`), always with a `.` or an exponent (`0.0`). Under
//! [`Fault::MissingField`](crate::Fault::MissingField) every `metrics` lacks `spend`;
//! [`Fault::RepeatPage`](crate::Fault::RepeatPage) serves the previous page's rows (page 1 on
//! the first) under the requested page's metadata; [`Fault::ShiftedPage`](crate::Fault::ShiftedPage)
//! starts every page after the first one row early (a row written at the head while the
//! listing was read). Rows with no model (see
//! [`modelless_spend`](super::LiteLlmFakeBuilder::modelless_spend)) count in the date's
//! `metrics` and `api_keys` but not in `models`, `model_groups` or `providers`, as LiteLLM
//! builds its breakdown only from rows that name a model.

use std::cmp::Reverse;
use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::{Value, json};

use super::data::{Data, MODELS, Row, TEAMS, USERS, sha256_hex};
use super::http::{Caller, bool_param, int_param};
use super::num::py_float;
use crate::common::query::Query;
use crate::common::respond::{ApiError, ErrorKind, Prepared, Variant, json_bytes};
use crate::common::time_text::{date_of, unix_day};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum View {
    User,
    Team,
}

/// Metrics summed over rows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Sums {
    pub(crate) spend: u64,
    pub(crate) prompt: u64,
    pub(crate) completion: u64,
    pub(crate) cache_read: u64,
    pub(crate) cache_creation: u64,
    pub(crate) requests: u64,
    pub(crate) successful: u64,
    pub(crate) failed: u64,
}

impl Sums {
    pub(crate) fn add(&mut self, r: &Row) {
        self.spend += r.spend;
        self.prompt += r.prompt;
        self.completion += r.completion;
        self.cache_read += r.cache_read;
        self.cache_creation += r.cache_creation;
        self.requests += r.requests;
        self.successful += r.successful;
        self.failed += r.failed;
    }
}

#[derive(Serialize)]
struct Metrics {
    #[serde(skip_serializing_if = "Option::is_none")]
    spend: Option<Box<RawValue>>,
    prompt_tokens: u64,
    completion_tokens: u64,
    total_tokens: u64,
    cache_read_input_tokens: u64,
    cache_creation_input_tokens: u64,
    api_requests: u64,
    successful_requests: u64,
    failed_requests: u64,
}

fn raw(text: String) -> Result<Box<RawValue>, ApiError> {
    RawValue::from_string(text).map_err(|e| ApiError::internal(format!("bad number text: {e}")))
}

fn metrics(s: &Sums, missing: bool) -> Result<Metrics, ApiError> {
    Ok(Metrics {
        spend: if missing {
            None
        } else {
            Some(raw(py_float(s.spend))?)
        },
        prompt_tokens: s.prompt,
        completion_tokens: s.completion,
        total_tokens: s.prompt + s.completion,
        cache_read_input_tokens: s.cache_read,
        cache_creation_input_tokens: s.cache_creation,
        api_requests: s.requests,
        successful_requests: s.successful,
        failed_requests: s.failed,
    })
}

#[derive(Serialize)]
struct KeyCell {
    metrics: Metrics,
    metadata: Value,
}

#[derive(Serialize)]
struct Cell {
    metrics: Metrics,
    metadata: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    api_key_breakdown: Option<BTreeMap<String, KeyCell>>,
}

#[derive(Serialize)]
struct Breakdown {
    models: BTreeMap<String, Cell>,
    model_groups: BTreeMap<String, Cell>,
    providers: BTreeMap<String, Cell>,
    api_keys: BTreeMap<String, Cell>,
    mcp_servers: BTreeMap<String, Cell>,
    endpoints: BTreeMap<String, Cell>,
    entities: BTreeMap<String, Cell>,
    guardrails: BTreeMap<String, Cell>,
}

#[derive(Serialize)]
struct DayResult {
    date: String,
    metrics: Metrics,
    breakdown: Breakdown,
}

#[derive(Serialize)]
struct PageMetadata {
    total_spend: Box<RawValue>,
    total_prompt_tokens: u64,
    total_completion_tokens: u64,
    total_tokens: u64,
    total_cache_read_input_tokens: u64,
    total_cache_creation_input_tokens: u64,
    total_api_requests: u64,
    total_successful_requests: u64,
    total_failed_requests: u64,
    page: u64,
    total_pages: u64,
    has_more: bool,
}

#[derive(Serialize)]
struct Page {
    results: Vec<DayResult>,
    metadata: PageMetadata,
}

/// A dimension's cell: its metrics and per-key metrics.
#[derive(Default)]
struct Agg {
    sums: Sums,
    keys: BTreeMap<u8, Sums>,
}

impl Agg {
    fn add(&mut self, r: &Row) {
        self.sums.add(r);
        self.keys.entry(r.key).or_default().add(r);
    }
}

#[derive(Default)]
struct DayAgg {
    sums: Sums,
    models: BTreeMap<&'static str, Agg>,
    groups: BTreeMap<&'static str, Agg>,
    providers: BTreeMap<&'static str, Agg>,
    keys: BTreeMap<u8, Sums>,
    teams: BTreeMap<u8, Agg>,
}

struct Request {
    data: Arc<Data>,
    view: View,
    /// Indices into `data.rows.all()`, in page order.
    rows: Vec<usize>,
    page: u64,
    page_size: u64,
}

fn parse_day(text: &str) -> Option<i64> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    (text.len() == 10)
        .then(|| time::Date::parse(text, &format).ok())
        .flatten()
        .map(unix_day)
}

fn day_text(day: i64) -> String {
    date_of(day).map(|d| d.to_string()).unwrap_or_default()
}

fn forbidden(message: &str) -> ApiError {
    ApiError::new(
        axum::http::StatusCode::FORBIDDEN,
        ErrorKind::Permission,
        message,
    )
}

/// The 401 a non-admin gets for other users' or teams' data.
pub(crate) fn not_admin(caller: Caller) -> ApiError {
    ApiError::new(
        axum::http::StatusCode::UNAUTHORIZED,
        ErrorKind::Authentication,
        format!(
            "Only admin users can query all teams/other teams. Your user role={}",
            USERS[usize::from(caller.user)].1
        ),
    )
}

/// The `api_key` filter as a hash (a raw `sk-…` key is hashed, as the proxy does).
fn key_filter(text: &str) -> String {
    if text.starts_with("sk-") {
        sha256_hex(text)
    } else {
        text.to_owned()
    }
}

pub(crate) fn prepare(
    data: &Arc<Data>,
    q: &Query,
    caller: Caller,
    view: View,
) -> Result<Prepared, ApiError> {
    let (Some(start), Some(end)) = (q.first("start_date"), q.first("end_date")) else {
        return Err(ApiError::invalid("Please provide start_date and end_date"));
    };
    let (Some(start), Some(end)) = (parse_day(start), parse_day(end)) else {
        return Err(ApiError::invalid("Invalid date format. Use YYYY-MM-DD"));
    };
    let default_size = match view {
        View::User => 50,
        View::Team => 10,
    };
    let page = int_param(q, "page", 1, 1, i64::MAX)? as u64;
    let page_size = int_param(q, "page_size", default_size, 1, 1000)? as u64;
    let timezone = int_param(q, "timezone", 0, i64::MIN, i64::MAX)?;
    let include_today = bool_param(q, "include_current_utc_day")?.unwrap_or(false);
    let shift = timezone.saturating_mul(60);
    let (from, mut to) = (
        (start * 86_400).saturating_add(shift).div_euclid(86_400),
        (end * 86_400 + 86_399)
            .saturating_add(shift)
            .div_euclid(86_400),
    );
    if include_today {
        to = to.max(data.today);
    }
    let model = q.first("model").map(str::to_owned);
    let api_key = q.first("api_key").map(key_filter);
    // Which users (user view) or teams (team view) are visible.
    let mut users: Option<Vec<u8>> = None;
    let mut teams: Option<Vec<u8>> = None;
    match view {
        View::User => {
            let wanted = q.first("user_id");
            if caller.admin {
                if let Some(id) = wanted {
                    users = Some(
                        USERS
                            .iter()
                            .enumerate()
                            .filter(|(_, u)| u.0 == id)
                            .map(|(i, _)| i as u8)
                            .collect(),
                    );
                }
            } else {
                if wanted.is_some_and(|id| id != data.user_id(caller.user)) {
                    return Err(forbidden(
                        "Non-admin users can only view their own spend data.",
                    ));
                }
                users = Some(vec![caller.user]);
            }
        }
        View::Team => {
            let list = |name: &str| -> Vec<String> {
                q.first(name)
                    .map(|t| {
                        t.split(',')
                            .map(|s| s.trim().to_owned())
                            .filter(|s| !s.is_empty())
                            .collect()
                    })
                    .unwrap_or_default()
            };
            let ids = list("team_ids");
            let excluded = list("exclude_team_ids");
            let index = |id: &String| data.team_ids.iter().position(|t| t == id);
            let mut visible: Vec<u8> = if ids.is_empty() {
                (0..TEAMS.len() as u8).collect()
            } else {
                ids.iter().filter_map(index).map(|i| i as u8).collect()
            };
            if !caller.admin {
                let own = data.teams_of(caller.user);
                if ids.is_empty() {
                    visible.retain(|t| own.contains(t));
                } else if ids
                    .iter()
                    .any(|id| index(id).is_none_or(|i| !own.contains(&(i as u8))))
                {
                    return Err(not_admin(caller));
                }
            }
            visible.retain(|t| !excluded.iter().any(|e| index(e) == Some(usize::from(*t))));
            teams = Some(visible);
        }
    }
    let all = data.rows.all();
    let mut rows: Vec<usize> = (0..all.len())
        .filter(|&i| {
            let r = &all[i];
            let key = &data.keys[usize::from(r.key)];
            let spec = &MODELS[usize::from(r.model)];
            r.day >= from
                && r.day <= to
                && model.as_deref().is_none_or(|m| m == spec.model)
                && api_key.as_deref().is_none_or(|h| h == key.hash)
                && users.as_ref().is_none_or(|u| u.contains(&r.user))
                && match view {
                    View::User => true,
                    View::Team => key
                        .team
                        .is_some_and(|t| teams.as_ref().is_none_or(|v| v.contains(&t))),
                }
        })
        .collect();
    let order = |i: &usize| {
        let r = &all[*i];
        let key = &data.keys[usize::from(r.key)];
        let spec = &MODELS[usize::from(r.model)];
        let entity = match view {
            View::User => data.user_id(r.user).to_owned(),
            View::Team => key
                .team
                .map(|t| data.team_ids[usize::from(t)].clone())
                .unwrap_or_default(),
        };
        (
            Reverse(r.day),
            entity,
            key.hash.clone(),
            spec.model,
            spec.provider,
        )
    };
    rows.sort_by_cached_key(order);
    let request = Request {
        data: Arc::clone(data),
        view,
        rows,
        page,
        page_size,
    };
    Ok(Prepared {
        page: u32::try_from(page).unwrap_or(u32::MAX),
        render: Arc::new(move |variant| request.render(variant)),
    })
}

impl Request {
    fn render(&self, variant: Variant) -> Result<Vec<u8>, ApiError> {
        let total = self.rows.len() as u64;
        let served_page = if variant == Variant::RepeatPage {
            self.page.saturating_sub(1).max(1)
        } else {
            self.page
        };
        let shifted = variant == Variant::ShiftedPage && self.page >= 2;
        let start = usize::try_from((served_page - 1).saturating_mul(self.page_size))
            .unwrap_or(usize::MAX)
            .saturating_sub(usize::from(shifted))
            .min(self.rows.len());
        let end = start
            .saturating_add(usize::try_from(self.page_size).unwrap_or(usize::MAX))
            .min(self.rows.len());
        let all = self.data.rows.all();
        let mut days: BTreeMap<Reverse<i64>, DayAgg> = BTreeMap::new();
        let mut page_sums = Sums::default();
        for &i in &self.rows[start..end] {
            let r = &all[i];
            let spec = &MODELS[usize::from(r.model)];
            let day = days.entry(Reverse(r.day)).or_default();
            day.sums.add(r);
            if !spec.model.is_empty() {
                day.models.entry(spec.model).or_default().add(r);
                day.groups.entry(spec.group).or_default().add(r);
                day.providers.entry(spec.provider).or_default().add(r);
            }
            day.keys.entry(r.key).or_default().add(r);
            if self.view == View::Team
                && let Some(team) = self.data.keys[usize::from(r.key)].team
            {
                day.teams.entry(team).or_default().add(r);
            }
            page_sums.add(r);
        }
        let missing = variant == Variant::MissingField;
        let mut results = Vec::with_capacity(days.len());
        for (Reverse(day), agg) in days {
            results.push(DayResult {
                date: day_text(day),
                metrics: metrics(&agg.sums, missing)?,
                breakdown: self.breakdown(&agg, missing)?,
            });
        }
        json_bytes(&Page {
            results,
            metadata: PageMetadata {
                total_spend: raw(py_float(page_sums.spend))?,
                total_prompt_tokens: page_sums.prompt,
                total_completion_tokens: page_sums.completion,
                total_tokens: page_sums.prompt + page_sums.completion,
                total_cache_read_input_tokens: page_sums.cache_read,
                total_cache_creation_input_tokens: page_sums.cache_creation,
                total_api_requests: page_sums.requests,
                total_successful_requests: page_sums.successful,
                total_failed_requests: page_sums.failed,
                page: self.page,
                total_pages: (total + u64::from(shifted)).div_ceil(self.page_size),
                has_more: self.page.saturating_mul(self.page_size) < total + u64::from(shifted),
            },
        })
    }

    fn key_metadata(&self, k: u8) -> Value {
        let key = &self.data.keys[usize::from(k)];
        json!({
            "key_alias": key.alias,
            "team_id": key.team.map(|t| &self.data.team_ids[usize::from(t)]),
        })
    }

    fn key_breakdown(
        &self,
        keys: &BTreeMap<u8, Sums>,
        missing: bool,
    ) -> Result<BTreeMap<String, KeyCell>, ApiError> {
        keys.iter()
            .map(|(&k, s)| {
                Ok((
                    self.data.keys[usize::from(k)].hash.clone(),
                    KeyCell {
                        metrics: metrics(s, missing)?,
                        metadata: self.key_metadata(k),
                    },
                ))
            })
            .collect()
    }

    fn cells(
        &self,
        map: &BTreeMap<&'static str, Agg>,
        missing: bool,
    ) -> Result<BTreeMap<String, Cell>, ApiError> {
        map.iter()
            .map(|(name, agg)| {
                Ok((
                    (*name).to_owned(),
                    Cell {
                        metrics: metrics(&agg.sums, missing)?,
                        metadata: json!({}),
                        api_key_breakdown: Some(self.key_breakdown(&agg.keys, missing)?),
                    },
                ))
            })
            .collect()
    }

    fn breakdown(&self, agg: &DayAgg, missing: bool) -> Result<Breakdown, ApiError> {
        let data = &self.data;
        let mut api_keys = BTreeMap::new();
        for (&k, s) in &agg.keys {
            let key = &data.keys[usize::from(k)];
            let user = USERS[usize::from(key.user)];
            let mut metadata = self.key_metadata(k);
            if let Some(map) = metadata.as_object_mut() {
                map.insert("user_id".into(), json!(user.0));
                map.insert("user_email".into(), json!(user.2));
                map.insert("key_exists".into(), json!(key.listed()));
            }
            api_keys.insert(
                key.hash.clone(),
                Cell {
                    metrics: metrics(s, missing)?,
                    metadata,
                    api_key_breakdown: None,
                },
            );
        }
        let mut entities = BTreeMap::new();
        for (&t, team_agg) in &agg.teams {
            entities.insert(
                data.team_ids[usize::from(t)].clone(),
                Cell {
                    metrics: metrics(&team_agg.sums, missing)?,
                    metadata: json!({"team_alias": TEAMS[usize::from(t)].0}),
                    api_key_breakdown: Some(self.key_breakdown(&team_agg.keys, missing)?),
                },
            );
        }
        Ok(Breakdown {
            models: self.cells(&agg.models, missing)?,
            model_groups: self.cells(&agg.groups, missing)?,
            providers: self.cells(&agg.providers, missing)?,
            api_keys,
            mcp_servers: BTreeMap::new(),
            endpoints: BTreeMap::new(),
            entities,
            guardrails: BTreeMap::new(),
        })
    }
}
