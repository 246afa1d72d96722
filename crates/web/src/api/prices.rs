//! The price catalog over the API: list (with filters), get, add, edit and delete user
//! prices (built-in ones are read-only here; `spendlens prices import` refreshes them), and
//! check what a call would cost and which entry prices it — or why it is unpriced. Every
//! change is audited and needs an admin-scoped token; any token reads and checks.

use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use spendlens_domain::catalog::entry_from_json;
use spendlens_domain::{Day, DayRange, PriceEntry, PriceSource, ProviderKind, Scope, price};
use spendlens_store::OrgId;

use crate::AppState;
use crate::auth::{ApiCaller, ApiOrg};
use crate::error::ApiError;
use crate::prices::{CheckParams, entry_json, pricing_json};

/// The audit log's one-line description of an entry.
pub fn describe(entry: &PriceEntry) -> String {
    let mut text = format!(
        "{} {} from {}",
        entry.provider, entry.model_glob, entry.effective_from
    );
    if let Some(to) = entry.effective_to {
        text.push_str(&format!(" to {to}"));
    }
    let t = &entry.tokens;
    for (name, value) in [
        ("input", t.input),
        ("cache_read", t.cache_read),
        ("cache_write", t.cache_write_5m),
        ("cache_write_1h", t.cache_write_1h),
        ("output", t.output),
        ("reasoning", t.reasoning),
    ] {
        if let Some(v) = value {
            text.push_str(&format!(" {name}={}/1M", v.normalize()));
        }
    }
    for unit in &entry.units {
        text.push_str(&format!(" {}={}", unit.unit, unit.price.normalize()));
    }
    text.push_str(&format!(" {}", entry.currency));
    text
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    pub provider: Option<String>,
    /// Text in the model pattern.
    pub search: Option<String>,
    /// built_in, observed or user.
    pub provenance: Option<String>,
}

/// Filters entries by provider, text in the glob and provenance.
pub fn filter(
    entries: Vec<PriceEntry>,
    provider: Option<ProviderKind>,
    search: &str,
    provenance: Option<PriceSource>,
) -> Vec<PriceEntry> {
    let search = search.trim().to_ascii_lowercase();
    entries
        .into_iter()
        .filter(|e| provider.is_none_or(|p| e.provider == p))
        .filter(|e| provenance.is_none_or(|s| e.source == s))
        .filter(|e| search.is_empty() || e.model_glob.contains(&search))
        .collect()
}

pub async fn list(
    State(state): State<Arc<AppState>>,
    ApiOrg(org): ApiOrg,
    params: Result<Query<ListParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(params) = params.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let provider = params
        .provider
        .as_deref()
        .filter(|p| !p.trim().is_empty())
        .map(|p| p.parse::<ProviderKind>())
        .transpose()
        .map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let provenance = params
        .provenance
        .as_deref()
        .filter(|p| !p.trim().is_empty())
        .map(|p| p.parse::<PriceSource>())
        .transpose()
        .map_err(ApiError::BadRequest)?;
    let search = params.search.unwrap_or_default();
    if search.len() > 200 {
        return Err(ApiError::BadRequest(
            "search is at most 200 characters".to_owned(),
        ));
    }
    let entries = filter(
        state.store().prices(org).await?,
        provider,
        &search,
        provenance,
    );
    Ok(Json(serde_json::json!({
        "count": entries.len(),
        "entries": entries.iter().map(entry_json).collect::<Vec<_>>(),
    }))
    .into_response())
}

pub async fn get(
    State(state): State<Arc<AppState>>,
    ApiOrg(org): ApiOrg,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    let entry = state.store().get_price(org, id).await?;
    Ok(Json(entry_json(&entry)).into_response())
}

/// A body in the price file's entry shape; provenance defaults to `user`.
fn parse_body(body: serde_json::Value) -> Result<PriceEntry, ApiError> {
    if !body.is_object() {
        return Err(ApiError::BadRequest(
            "send one price entry as a JSON object".to_owned(),
        ));
    }
    let mut body = body;
    if let Some(map) = body.as_object_mut() {
        // Ids and flags the list shows are not part of an entry's fields.
        map.remove("id");
        map.remove("editable");
    }
    entry_from_json(body, PriceSource::User).map_err(ApiError::BadRequest)
}

async fn audit(
    state: &AppState,
    org: OrgId,
    action: &str,
    subject: &str,
    detail: &str,
) -> Result<(), ApiError> {
    state
        .store()
        .audit(org, "api token", action, subject, detail, state.now())
        .await?;
    Ok(())
}

pub async fn create(
    State(state): State<Arc<AppState>>,
    caller: ApiCaller,
    body: Result<Json<serde_json::Value>, JsonRejection>,
) -> Result<Response, ApiError> {
    let org = caller.require(Scope::Admin, "change prices")?;
    let Json(body) = body?;
    let entry = parse_body(body)?;
    let name = format!("api token {}", caller.0.token_id);
    let actor = spendlens_store::Actor {
        name: &name,
        at: state.now(),
    };
    let added = state.store().add_price(org, entry, actor, describe).await?;
    Ok((StatusCode::CREATED, Json(entry_json(&added))).into_response())
}

pub async fn update(
    State(state): State<Arc<AppState>>,
    caller: ApiCaller,
    Path(id): Path<i64>,
    body: Result<Json<serde_json::Value>, JsonRejection>,
) -> Result<Response, ApiError> {
    let org = caller.require(Scope::Admin, "change prices")?;
    let Json(body) = body?;
    let entry = parse_body(body)?;
    let name = format!("api token {}", caller.0.token_id);
    let actor = spendlens_store::Actor {
        name: &name,
        at: state.now(),
    };
    let (before, after) = state
        .store()
        .edit_price(org, id, entry, actor, describe)
        .await?;
    Ok(Json(serde_json::json!({
        "before": entry_json(&before),
        "entry": entry_json(&after),
    }))
    .into_response())
}

pub async fn remove(
    State(state): State<Arc<AppState>>,
    caller: ApiCaller,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    let org = caller.require(Scope::Admin, "delete prices")?;
    let name = format!("api token {}", caller.0.token_id);
    let actor = spendlens_store::Actor {
        name: &name,
        at: state.now(),
    };
    let deleted = state.store().delete_price(org, id, actor, describe).await?;
    Ok(Json(serde_json::json!({ "deleted": entry_json(&deleted) })).into_response())
}

pub async fn check(
    State(state): State<Arc<AppState>>,
    ApiOrg(org): ApiOrg,
    params: Result<Query<CheckParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(params) = params.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let check = params
        .into_check(state.now())
        .map_err(ApiError::BadRequest)?;
    let catalog = state.prices.catalog(state.store(), org).await?;
    let pricing = price(
        &catalog,
        check.provider,
        &check.model,
        check.at,
        &check.usage,
    );
    Ok(Json(pricing_json(&check, &pricing)).into_response())
}

/// The body of `POST /prices/restate`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RestateBody {
    /// First UTC day (YYYY-MM-DD), inclusive.
    pub from: String,
    /// Last UTC day, inclusive.
    pub to: String,
    /// Only report what would change.
    #[serde(default)]
    pub dry_run: bool,
}

/// Re-prices the stored metered events of a range of days with the current catalog: with
/// `dry_run`, only the differences; else they are written, the rollups adjusted, and the
/// restate audited.
pub async fn restate(
    State(state): State<Arc<AppState>>,
    caller: ApiCaller,
    body: Result<Json<RestateBody>, JsonRejection>,
) -> Result<Response, ApiError> {
    let org = caller.require(Scope::Admin, "restate metered costs")?;
    let Json(body) = body?;
    let day = |text: &str, field: &str| -> Result<Day, ApiError> {
        text.trim().parse::<Day>().map_err(|_| {
            ApiError::BadRequest(format!(
                "\"{field}\" must be a UTC day as YYYY-MM-DD, e.g. 2026-11-01, got \"{text}\""
            ))
        })
    };
    let range = DayRange::new(day(&body.from, "from")?, day(&body.to, "to")?)
        .map_err(|err| ApiError::BadRequest(format!("{err}; \"from\" must not be after \"to\"")))?;
    let store = state.store();
    let catalog = store.price_catalog(org).await?.catalog;
    let report = crate::restate::restate(store, org, &catalog, range, !body.dry_run).await?;
    if !body.dry_run {
        audit(
            &state,
            org,
            "price.restate",
            &format!("metered events {} to {}", report.from, report.to),
            &report.audit_detail(),
        )
        .await?;
    }
    Ok(Json(report).into_response())
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObservedParams {
    /// The period new models are looked for in (as every view takes it; default 30 days).
    pub period: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    /// Drift threshold in percent (default 2).
    pub threshold: Option<String>,
}

/// `GET /api/v1/prices/observed`: each billed model's latest observed price beside the
/// catalog's, with the drift, and the billed models without a catalog price.
pub async fn observed(
    State(state): State<Arc<AppState>>,
    ApiOrg(org): ApiOrg,
    params: Result<Query<ObservedParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(params) = params.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let threshold = spendlens_query::observed::threshold(params.threshold.as_deref())?;
    let (query, _) = crate::api::coverage::coverage_query(
        params.period,
        params.from,
        params.to,
        None,
        Day::of(state.now()),
    )?;
    let comparison =
        spendlens_query::observed::comparison(state.store(), org, query.period, threshold).await?;
    Ok(Json(comparison).into_response())
}
