//! `GET /api/v1/coverage`: what share of each provider's bill is metered, per provider, API
//! key and model, and the gap split into causes (JSON, or CSV with `format=csv`).

use std::sync::Arc;

use axum::Json;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use spendlens_domain::Day;
use spendlens_query::coverage::CoverageQuery;
use spendlens_query::{View, ViewParams, ViewQuery};

use crate::AppState;
use crate::auth::ApiOrg;
use crate::error::ApiError;

#[derive(Debug, Default, Deserialize)]
pub struct CoverageParams {
    pub period: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    /// Provider ids, comma-separated.
    pub provider: Option<String>,
    /// `json` (default) or `csv`.
    pub format: Option<String>,
}

/// The period and providers asked for, parsed as every view parses them.
pub fn coverage_query(
    period: Option<String>,
    from: Option<String>,
    to: Option<String>,
    provider: Option<String>,
    today: Day,
) -> Result<(CoverageQuery, String), spendlens_query::QueryError> {
    let params = ViewParams {
        period,
        from,
        to,
        provider,
        ..ViewParams::default()
    };
    let view = ViewQuery::parse(View::Providers, &params, today)?;
    Ok((
        CoverageQuery {
            period: view.period,
            providers: view.providers.clone(),
            daily: true,
        },
        view.filters_text(),
    ))
}

pub async fn coverage(
    State(state): State<Arc<AppState>>,
    ApiOrg(org): ApiOrg,
    Query(params): Query<CoverageParams>,
) -> Result<Response, ApiError> {
    let (query, filters) = coverage_query(
        params.period,
        params.from,
        params.to,
        params.provider,
        Day::of(state.now()),
    )?;
    let report = state.reports.coverage(org, &query).await?;
    match params.format.as_deref().unwrap_or("json") {
        "json" => Ok(Json(report).into_response()),
        "csv" => {
            let csv = spendlens_query::coverage::csv::to_csv(&report, &filters)
                .map_err(|e| ApiError::Internal(e.to_string()))?;
            let filename = format!(
                "spendlens-coverage-{}-{}.csv",
                query.period.from(),
                query.period.to()
            );
            Ok((
                [
                    (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
                    (
                        header::CONTENT_DISPOSITION,
                        format!("attachment; filename=\"{filename}\""),
                    ),
                ],
                csv,
            )
                .into_response())
        }
        other => Err(ApiError::BadRequest(format!(
            "format must be json or csv, not \"{other}\""
        ))),
    }
}

/// The coverage path for the OpenAPI document: every field `GET /coverage` returns (the
/// coverage suites check a real answer against it, field by field).
pub fn document_paths(doc: &mut Value, with_errors: &dyn Fn(Value) -> Value) {
    let query = |name: &str, description: &str| json!({"name": name, "in": "query", "required": false, "description": description, "schema": {"type": "string"}});
    let money = json!({"type": "string", "description": "Exact USD decimal"});
    let pct = json!({"type": ["string", "null"], "description": "Percent, one decimal; null without a billed amount (e.g. only billing lag)"});
    let text = json!({"type": "string"});
    let opt_text = json!({"type": ["string", "null"]});
    let int = json!({"type": "integer"});
    let range = json!({"type": ["object", "null"], "properties": {"from": {"type": "string", "format": "date"}, "to": {"type": "string", "format": "date"}}});
    let ratio_fields = json!({
        "billed_cost": money, "metered_cost": money, "coverage_pct": pct,
        "billed_tokens": int, "metered_tokens": int, "token_coverage_pct": pct,
        "billed_requests": {"type": ["integer", "null"], "description": "null when the provider reports no request counts"},
        "metered_calls": int});
    // A ratio's fields beside some of a row's own (rows flatten their ratio).
    let with_ratio = |own: Value| {
        let mut properties = ratio_fields.clone();
        if let (Some(target), Some(own)) = (properties.as_object_mut(), own.as_object()) {
            target.extend(own.clone());
        }
        json!({"type": "object", "properties": properties})
    };
    let cause_row = json!({"type": "object", "properties": {
        "key": {"type": ["string", "null"], "description": "The billed key (or, for providers joined by workspace, the workspace's provider id); masked when only the meter names it"},
        "key_name": opt_text, "model": opt_text,
        "billed_cost": money, "billed_tokens": int, "metered_cost": money, "metered_tokens": int,
        "billed_per_1m": {"type": ["string", "null"]}, "metered_per_1m": {"type": ["string", "null"]},
        "calls": int, "amount": money}});
    let cause = json!({"type": "object", "properties": {
        "cause": {"type": "string", "enum": ["unmetered_keys", "price_drift", "unpriced_models", "failed_calls", "billing_lag", "unexplained"]},
        "label": text, "amount": money, "rows": {"type": "array", "items": cause_row}}});
    let key = with_ratio(json!({
        "provider_key_id": opt_text, "key_name": text, "key_hint": opt_text,
        "billed": {"type": "boolean", "description": "false: only metered traffic names the key"}}));
    let workspace = with_ratio(json!({
        "workspace_id": {"type": ["integer", "null"], "description": "spendlens's id of the billed workspace (the Workspaces view's workspace_ids); null for calls naming no billed workspace"},
        "provider_workspace_id": {"type": ["string", "null"], "description": "The provider's id (proj_…, wrkspc_…, a GCP project, an AWS account)"},
        "workspace_name": text,
        "billed": {"type": "boolean", "description": "false: only metered traffic names the workspace"}}));
    let model = with_ratio(json!({"model": text}));
    let day = json!({"type": "object", "properties": {
        "day": {"type": "string", "format": "date"},
        "status": {"type": "string", "enum": ["comparable", "lag"], "description": "lag: after the bill's complete-through day, no ratio (never 0 %)"},
        "billed_cost": money, "metered_cost": money, "coverage_pct": pct,
        "billed_tokens": int, "metered_tokens": int, "token_coverage_pct": pct}});
    let provider = with_ratio(json!({
        "provider": text, "provider_name": text,
        "complete_through": {"type": ["string", "null"], "format": "date"},
        "comparable": range, "lag": range,
        "join": {"type": "string", "enum": ["key_and_model", "workspace_and_model", "model"]},
        "period_billed_cost": money, "period_metered_cost": money,
        "causes": {"type": "array", "items": cause},
        "keys": {"type": "array", "items": key},
        "workspaces": {"type": "array", "items": workspace},
        "models": {"type": "array", "items": model},
        "days": {"type": "array", "items": day, "description": "Every day of the period, oldest first"}}));
    let paths = json!({"/coverage": {"get": {
        "summary": "Metered ÷ billed cost and tokens per provider, workspace, API key, model and day over the days each bill is final, and billed − metered split into causes (unmetered keys, price drift, unpriced models, failed calls, billing lag, unexplained) that add up exactly",
        "parameters": [
            query("period", "last-7-days, last-30-days (default), last-90-days, this-month, last-month."),
            query("from", "First day YYYY-MM-DD (with to, replaces period)."),
            query("to", "Last day, inclusive."),
            query("provider", "Provider ids, comma-separated."),
            query("format", "json (default) or csv."),
        ],
        "responses": with_errors(json!({"200": {"description": "Coverage", "content": {
            "application/json": {"schema": {"type": "object", "properties": {
                "period": range, "time_zone": {"const": "UTC"}, "currency": {"const": "USD"},
                "total": with_ratio(json!({})),
                "billed_cost": money, "metered_cost": money,
                "providers": {"type": "array", "items": provider},
                "notes": {"type": "array", "items": text}}}},
            "text/csv": {"schema": {"type": "string"}}
        }}}))
    }}});
    if let (Some(target), Some(paths)) = (doc["paths"].as_object_mut(), paths.as_object()) {
        target.extend(paths.clone());
    }
}
