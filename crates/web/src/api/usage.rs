//! Token usage over the API: `GET /api/v1/token-usage` (metered calls newest first, a page at
//! a time with a keyset cursor, API keys masked, unknown tokens and costs `null` and flagged
//! `estimated`) and `GET /api/v1/token-usage/summary` (totals from the rollups, never a scan of
//! the events). Both need a token with the `read` scope; ingest keys are refused.

use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use spendlens_domain::Scope;
use spendlens_store::OrgId;

use crate::AppState;
use crate::auth::ApiCaller;
use crate::error::ApiError;
use crate::usage::{self, UsageParams, UsageQuery, UsageTotals};

/// The caller's organization and its parsed, key-resolved query.
async fn query(
    state: &AppState,
    caller: ApiCaller,
    params: &UsageParams,
) -> Result<(OrgId, UsageQuery), ApiError> {
    let org = caller.require(Scope::Read, "read token usage")?;
    let mut query = usage::parse(params).map_err(ApiError::BadRequest)?;
    usage::resolve_keys(state.store(), org, &mut query).await?;
    Ok((org, query))
}

/// `GET /api/v1/token-usage`.
pub async fn records(
    State(state): State<Arc<AppState>>,
    caller: ApiCaller,
    params: Result<Query<UsageParams>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(params) = params.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let (org, query) = query(&state, caller, &params).await?;
    let mut rows = state
        .store()
        .usage_records(org, &query.filter, query.cursor.as_ref(), query.limit + 1)
        .await?;
    let more = rows.len() > query.limit as usize;
    rows.truncate(query.limit as usize);
    let next = more
        .then(|| rows.last().map(usage::encode_cursor))
        .flatten();
    Ok(Json(json!({
        "count": rows.len(),
        "limit": query.limit,
        "next_cursor": next,
        "rows": rows.iter().map(usage::record_json).collect::<Vec<_>>(),
    }))
    .into_response())
}

/// `GET /api/v1/token-usage/summary`.
pub async fn summary(
    State(state): State<Arc<AppState>>,
    caller: ApiCaller,
    params: Result<Query<UsageParams>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(params) = params.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    if !params.limit.trim().is_empty() || !params.cursor.trim().is_empty() {
        return Err(ApiError::BadRequest(
            "the summary has no pages; drop limit and cursor".to_owned(),
        ));
    }
    let (org, query) = query(&state, caller, &params).await?;
    let series = state.store().usage_series(org, &query.filter, &[]).await?;
    let mut body = UsageTotals::of(&series).json();
    body["from"] = json!(usage::hour_text(query.filter.from_hour));
    body["to"] = json!(usage::hour_text(query.filter.to_hour));
    Ok(Json(body).into_response())
}
