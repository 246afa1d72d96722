//! `GET /key/list` and `GET /team/list`.
//!
//! `/key/list`: `page` ≥ 1 (default 1) and `size` 1–100 (default 10), both 422 outside;
//! `return_full_object` (default false: `keys` is a list of hashes); filters `user_id`,
//! `team_id`, `key_alias`, `key_hash`; the other documented parameters (`organization_id`,
//! `status`, `include_team_keys`, `expand`, `sort_by`, `sort_order`) are accepted and have no
//! effect. Newest `created_at` first. The deleted key and the master key are never listed. A
//! non-admin caller sees only their own keys (`user_id` is forced, as the proxy does for spend
//! logs). Full objects carry `spend` as a *budget counter*: keys with a `budget_duration` count
//! only the current budget window (it started `today − 23` for `30d`, `today − 4` for `7d`, and
//! `budget_reset_at` says when it ends), the others their lifetime spend. MissingField: full
//! objects lack `token`, hash lists lack `total_count`; RepeatPage serves the previous page.
//!
//! `/team/list`: a JSON array of every team (`user_id` filters to that user's teams;
//! `organization_id` accepted, no team has one). A non-admin must pass their own `user_id`,
//! otherwise 401 "Only admin users can query all teams/other teams…". Team `spend` is the
//! lifetime spend of the team's keys. MissingField: teams lack `team_id`. No pagination.

use std::cmp::Reverse;
use std::sync::Arc;

use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value, json};

use super::activity::not_admin;
use super::data::{Data, TEAMS, USERS, sha256_hex};
use super::http::{Caller, bool_param, int_param};
use super::num::py_float;
use crate::common::query::Query;
use crate::common::respond::{ApiError, Prepared, Variant, json_bytes};
use crate::common::time_text::rfc3339;

#[derive(Serialize)]
struct KeyPage {
    keys: Vec<Box<RawValue>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    total_count: Option<usize>,
    current_page: usize,
    total_pages: usize,
}

fn raw(text: String) -> Result<Box<RawValue>, ApiError> {
    RawValue::from_string(text).map_err(|e| ApiError::internal(format!("bad number text: {e}")))
}

/// `(window start day, reset Unix seconds)` of a budget duration.
pub(crate) fn budget_window(data: &Data, duration: &str) -> (i64, i64) {
    match duration {
        "7d" => (data.today - 4, (data.today + 3) * 86_400),
        _ => (data.today - 23, (data.today + 7) * 86_400),
    }
}

/// The budget-counter `spend` of key `k`, nano-dollars.
pub(crate) fn counter_spend(data: &Data, k: usize) -> u64 {
    let key = &data.keys[k];
    let since = key
        .budget
        .map_or(i64::MIN, |(_, d)| budget_window(data, d).0);
    data.rows
        .all()
        .iter()
        .filter(|r| usize::from(r.key) == k && r.day >= since)
        .map(|r| r.spend)
        .sum()
}

/// A full key object, without its float members (`spend`, `max_budget`).
fn full_object(data: &Data, k: usize, missing: bool) -> Value {
    let key = &data.keys[k];
    let mut m = Map::new();
    if !missing {
        m.insert("token".into(), json!(key.hash));
    }
    m.insert("key_name".into(), json!(key.masked()));
    m.insert("key_alias".into(), json!(key.alias));
    m.insert("budget_duration".into(), json!(key.budget.map(|b| b.1)));
    m.insert(
        "budget_reset_at".into(),
        json!(key.budget.map(|(_, d)| rfc3339(budget_window(data, d).1))),
    );
    m.insert(
        "team_id".into(),
        json!(key.team.map(|t| &data.team_ids[usize::from(t)])),
    );
    m.insert("user_id".into(), json!(data.user_id(key.user)));
    m.insert("organization_id".into(), Value::Null);
    m.insert("models".into(), json!([]));
    m.insert("metadata".into(), json!({}));
    m.insert("blocked".into(), Value::Null);
    m.insert("expires".into(), Value::Null);
    m.insert("created_at".into(), json!(rfc3339(key.created_at)));
    m.insert("updated_at".into(), json!(rfc3339(key.created_at)));
    m.insert("model_spend".into(), json!({}));
    m.insert("model_max_budget".into(), json!({}));
    m.insert("tpm_limit".into(), Value::Null);
    m.insert("rpm_limit".into(), Value::Null);
    Value::Object(m)
}

/// Splices float members into a serialized object: `{"a":1}` + `spend` → `{"a":1,"spend":0.5}`.
fn with_floats(object: &Value, floats: &[(&str, String)]) -> Result<Box<RawValue>, ApiError> {
    let mut text = serde_json::to_string(object)
        .map_err(|e| ApiError::internal(format!("serialization failed: {e}")))?;
    if text.ends_with('}') {
        text.pop();
        for (name, number) in floats {
            if text.len() > 1 {
                text.push(',');
            }
            text.push_str(&format!("\"{name}\":{number}"));
        }
        text.push('}');
    }
    raw(text)
}

pub(crate) fn keys(data: &Arc<Data>, q: &Query, caller: Caller) -> Result<Prepared, ApiError> {
    let page = int_param(q, "page", 1, 1, i64::MAX)? as usize;
    let size = int_param(q, "size", 10, 1, 100)? as usize;
    let full = bool_param(q, "return_full_object")?.unwrap_or(false);
    let user = if caller.admin {
        q.first("user_id").map(str::to_owned)
    } else {
        Some(data.user_id(caller.user).to_owned())
    };
    let team = q.first("team_id").map(str::to_owned);
    let alias = q.first("key_alias").map(str::to_owned);
    let hash = q.first("key_hash").map(|h| {
        if h.starts_with("sk-") {
            sha256_hex(h)
        } else {
            h.to_owned()
        }
    });
    let mut listed: Vec<usize> = (0..data.keys.len())
        .filter(|&k| {
            let key = &data.keys[k];
            key.listed()
                && user.as_deref().is_none_or(|u| u == data.user_id(key.user))
                && team
                    .as_deref()
                    .is_none_or(|t| key.team.is_some_and(|i| data.team_ids[usize::from(i)] == t))
                && alias.as_deref().is_none_or(|a| key.alias == Some(a))
                && hash.as_deref().is_none_or(|h| key.hash == h)
        })
        .collect();
    listed.sort_by_key(|&k| (Reverse(data.keys[k].created_at), k));
    let data = Arc::clone(data);
    Ok(Prepared {
        page: u32::try_from(page).unwrap_or(u32::MAX),
        render: Arc::new(move |variant| {
            let served = if variant == Variant::RepeatPage {
                page.saturating_sub(1).max(1)
            } else {
                page
            };
            let start = (served - 1).saturating_mul(size).min(listed.len());
            let end = start.saturating_add(size).min(listed.len());
            let missing = variant == Variant::MissingField;
            let keys: Vec<Box<RawValue>> = listed[start..end]
                .iter()
                .map(|&k| {
                    if full {
                        let spend = py_float(counter_spend(&data, k));
                        let max_budget = data.keys[k]
                            .budget
                            .map_or_else(|| "null".to_owned(), |(max, _)| format!("{max}.0"));
                        with_floats(
                            &full_object(&data, k, missing),
                            &[("spend", spend), ("max_budget", max_budget)],
                        )
                    } else {
                        raw(json!(data.keys[k].hash).to_string())
                    }
                })
                .collect::<Result<_, _>>()?;
            let total = listed.len();
            json_bytes(&KeyPage {
                keys,
                total_count: (full || !missing).then_some(total),
                current_page: page,
                total_pages: total.div_ceil(size),
            })
        }),
    })
}

pub(crate) fn teams(data: &Arc<Data>, q: &Query, caller: Caller) -> Result<Prepared, ApiError> {
    let wanted = q.first("user_id");
    if !caller.admin && wanted != Some(data.user_id(caller.user)) {
        return Err(not_admin(caller));
    }
    let member = wanted.and_then(|id| USERS.iter().position(|u| u.0 == id));
    let data = Arc::clone(data);
    let only_user = wanted.is_some();
    Ok(Prepared {
        page: 1,
        render: Arc::new(move |variant| {
            let mut teams = Vec::new();
            for (t, (alias, members)) in TEAMS.iter().enumerate() {
                if only_user
                    && !member.is_some_and(|m| members.iter().any(|(u, _)| usize::from(*u) == m))
                {
                    continue;
                }
                let keys: Vec<usize> = (0..data.keys.len())
                    .filter(|&k| data.keys[k].team == Some(t as u8))
                    .collect();
                let spend: u64 = data
                    .rows
                    .all()
                    .iter()
                    .filter(|r| keys.contains(&usize::from(r.key)))
                    .map(|r| r.spend)
                    .sum();
                let mut m = Map::new();
                if variant != Variant::MissingField {
                    m.insert("team_id".into(), json!(data.team_ids[t]));
                }
                m.insert("team_alias".into(), json!(alias));
                m.insert("organization_id".into(), Value::Null);
                m.insert("max_budget".into(), Value::Null);
                m.insert("budget_duration".into(), Value::Null);
                m.insert("models".into(), json!([]));
                m.insert(
                    "members_with_roles".into(),
                    json!(
                        members
                            .iter()
                            .map(|(u, role)| json!({
                                "user_id": USERS[usize::from(*u)].0,
                                "user_email": USERS[usize::from(*u)].2,
                                "role": role,
                            }))
                            .collect::<Vec<_>>()
                    ),
                );
                m.insert("metadata".into(), json!({}));
                m.insert("blocked".into(), json!(false));
                m.insert(
                    "created_at".into(),
                    json!(rfc3339((data.first_day - 300 + t as i64) * 86_400)),
                );
                m.insert("team_memberships".into(), json!([]));
                m.insert(
                    "keys".into(),
                    json!(
                        keys.iter()
                            .filter(|&&k| data.keys[k].listed())
                            .map(|&k| json!({
                                "token": data.keys[k].hash,
                                "key_alias": data.keys[k].alias,
                                "user_id": data.user_id(data.keys[k].user),
                            }))
                            .collect::<Vec<_>>()
                    ),
                );
                teams.push(with_floats(
                    &Value::Object(m),
                    &[("spend", py_float(spend))],
                )?);
            }
            json_bytes(&teams)
        }),
    })
}
