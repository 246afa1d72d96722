//! `GET /api/v1/access-log`: sign-ins, failed and refused sign-ins, API token use and denied
//! requests, newest first, for admin tokens (who accessed what is itself sensitive). Filters:
//! `kind` (comma-separated), `actor` (contains), `from` / `to` (UTC days, inclusive),
//! `limit` (default 100, at most 1000) and `before` (the last id of the previous page).

use std::sync::Arc;

use axum::Json;
use axum::extract::{Query, State};
use serde::Deserialize;
use serde_json::{Value, json};
use spendlens_domain::{Day, Scope};
use spendlens_store::{AccessFilter, AccessKind};

use crate::AppState;
use crate::auth::ApiCaller;
use crate::error::ApiError;

#[derive(Debug, Default, Deserialize)]
pub struct AccessParams {
    pub kind: Option<String>,
    pub actor: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub limit: Option<String>,
    pub before: Option<String>,
}

fn non_empty(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

/// The filter the parameters ask for; the error says which value is wrong and what fits.
pub fn access_filter(params: &AccessParams, default_limit: i64) -> Result<AccessFilter, String> {
    let mut kinds = Vec::new();
    for name in non_empty(&params.kind)
        .unwrap_or("")
        .split(',')
        .map(str::trim)
    {
        if name.is_empty() || name == "all" {
            continue;
        }
        let kind = AccessKind::parse(name).ok_or_else(|| {
            let all: Vec<&str> = AccessKind::ALL.iter().map(|k| k.as_str()).collect();
            format!("unknown kind \"{name}\"; use one of {}", all.join(", "))
        })?;
        if !kinds.contains(&kind) {
            kinds.push(kind);
        }
    }
    let day = |value: &Option<String>, name: &str| -> Result<Option<Day>, String> {
        non_empty(value)
            .map(|v| v.parse::<Day>().map_err(|e| format!("{name}: {e}")))
            .transpose()
    };
    let from = day(&params.from, "from")?;
    let to = day(&params.to, "to")?;
    if let (Some(f), Some(t)) = (from, to)
        && f > t
    {
        return Err(format!("from ({f}) is after to ({t})"));
    }
    let limit = match non_empty(&params.limit) {
        Some(text) => match text.parse::<i64>() {
            Ok(n) if (1..=1000).contains(&n) => n,
            _ => return Err(format!("limit must be 1 to 1000, not \"{text}\"")),
        },
        None => default_limit,
    };
    let before_id = match non_empty(&params.before) {
        Some(text) => Some(
            text.parse::<i64>()
                .map_err(|_| format!("before must be an entry id, not \"{text}\""))?,
        ),
        None => None,
    };
    let actor = non_empty(&params.actor).map(|a| a.chars().take(200).collect());
    Ok(AccessFilter {
        kinds,
        actor,
        from: from.map(Day::start),
        to: to.and_then(|t| t.add_days(1).ok()).map(Day::start),
        before_id,
        limit,
    })
}

pub async fn list(
    State(state): State<Arc<AppState>>,
    caller: ApiCaller,
    Query(params): Query<AccessParams>,
) -> Result<Json<Value>, ApiError> {
    let org = caller.require(Scope::Admin, "read the access log")?;
    let filter = access_filter(&params, 100).map_err(ApiError::BadRequest)?;
    let entries = state.store().access_entries(org, &filter).await?;
    let next = (entries.len() as i64 == filter.limit)
        .then(|| entries.last().map(|e| e.id))
        .flatten();
    // The chain is checked in full on the first page only: checking it again for every older
    // page would make walking a long log quadratic.
    let verdict = if filter.before_id.is_some() {
        Value::Null
    } else {
        match state.store().verify_access_log(org).await? {
            spendlens_store::AuditVerdict::Intact { entries } => {
                json!({"intact": true, "entries": entries})
            }
            spendlens_store::AuditVerdict::Broken { entry_id, reason } => {
                json!({"intact": false, "entry_id": entry_id, "reason": reason})
            }
        }
    };
    Ok(Json(json!({
        "count": entries.len(),
        "next_before": next,
        "chain": verdict,
        "entries": entries,
    })))
}

/// The access-log path for the OpenAPI document.
pub fn document_paths(doc: &mut Value, with_errors: &dyn Fn(Value) -> Value) {
    let query = |name: &str, description: &str| json!({"name": name, "in": "query", "required": false, "description": description, "schema": {"type": "string"}});
    let paths = json!({"/access-log": {"get": {
        "summary": "The access log, newest first: sign_in, sign_in_failed, sign_in_refused, token_use (one entry per token and minute it was used) and denied (401/403 answers). Append-only and hash-chained; `chain` says whether the whole chain verifies (checked on the first page; null on pages asked for with `before`). Admin tokens only.",
        "parameters": [
            query("kind", "Kinds, comma-separated: sign_in, sign_in_failed, sign_in_refused, token_use, denied."),
            query("actor", "Only actors containing this text (an email, a token name or prefix)."),
            query("from", "First UTC day YYYY-MM-DD, inclusive."),
            query("to", "Last UTC day, inclusive."),
            query("limit", "Entries per page, 1 to 1000 (default 100)."),
            query("before", "next_before of the previous page."),
        ],
        "responses": with_errors(json!({"200": {"description": "Entries", "content": {"application/json": {"schema": {"type": "object", "properties": {
            "count": {"type": "integer"},
            "next_before": {"type": ["integer", "null"]},
            "chain": {"type": ["object", "null"], "properties": {"intact": {"type": "boolean"}, "entries": {"type": "integer"}, "entry_id": {"type": "integer"}, "reason": {"type": "string"}}},
            "entries": {"type": "array", "items": {"type": "object", "properties": {
                "id": {"type": "integer"}, "at": {"type": "string", "format": "date-time"},
                "kind": {"type": "string"}, "actor": {"type": "string"}, "client": {"type": "string"},
                "method": {"type": "string"}, "path": {"type": "string"},
                "status": {"type": "integer", "description": "The answer's status (0 for token use, written before the answer)"},
                "detail": {"type": "string"}}}}}}}}}}))
    }}});
    if let (Some(target), Value::Object(extra)) =
        (doc.get_mut("paths").and_then(Value::as_object_mut), paths)
    {
        target.extend(extra);
    }
}
