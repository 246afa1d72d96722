//! `GET|PUT|DELETE /api/v1/anomaly-thresholds`: the organization's global anomaly threshold and
//! the thresholds of single customers, models, API keys or workspaces. Any token reads;
//! changes need an admin-scoped token and are audited.

use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use spendlens_domain::scope::Scope;
use spendlens_query::anomaly::settings::{DEFAULT_THRESHOLD_PCT, parse_threshold};
use spendlens_store::THRESHOLD_SCOPES;

use crate::AppState;
use crate::auth::{ApiCaller, ApiOrg};
use crate::error::ApiError;

#[derive(Debug, Deserialize)]
pub struct ThresholdBody {
    /// `global`, `customer`, `model`, `key` or `workspace`.
    pub scope: String,
    /// The scope's id as the anomaly list shows it (not for `global`).
    #[serde(default)]
    pub id: Option<String>,
    /// Percent, e.g. `"25"`.
    pub threshold_pct: String,
}

#[derive(Debug, Deserialize)]
pub struct ThresholdTarget {
    pub scope: String,
    #[serde(default)]
    pub id: Option<String>,
}

/// The scope and id, checked: a scope other than `global` needs an id.
pub fn target(scope: &str, id: Option<&str>) -> Result<(String, String), String> {
    if !THRESHOLD_SCOPES.contains(&scope) {
        return Err(format!(
            "scope must be one of {}, not \"{scope}\"",
            THRESHOLD_SCOPES.join(", ")
        ));
    }
    let id = id.map(str::trim).unwrap_or_default();
    if scope == "global" {
        return Ok((scope.to_owned(), String::new()));
    }
    if id.is_empty() || id.len() > 500 {
        return Err(format!(
            "a {scope} threshold needs the {scope}'s id (as the anomaly list shows it), at most 500 characters"
        ));
    }
    Ok((scope.to_owned(), id.to_owned()))
}

pub async fn list(
    State(state): State<Arc<AppState>>,
    ApiOrg(org): ApiOrg,
) -> Result<Response, ApiError> {
    let rows = state.store.anomaly_thresholds(org).await?;
    Ok(Json(
        json!({"default_threshold_pct": DEFAULT_THRESHOLD_PCT.to_string(), "thresholds": rows}),
    )
    .into_response())
}

pub async fn set(
    State(state): State<Arc<AppState>>,
    caller: ApiCaller,
    body: Result<Json<ThresholdBody>, JsonRejection>,
) -> Result<Response, ApiError> {
    let org = caller.require(Scope::Admin, "change anomaly thresholds")?;
    let Json(body) = body?;
    let (scope, id) = target(&body.scope, body.id.as_deref()).map_err(ApiError::BadRequest)?;
    let pct = parse_threshold(&body.threshold_pct)?;
    let previous = state
        .store
        .set_anomaly_threshold(
            org,
            &scope,
            &id,
            &pct.to_string(),
            spendlens_store::Actor {
                name: "api token",
                at: state.now(),
            },
        )
        .await?;
    Ok(Json(json!({"scope": scope, "id": id, "threshold_pct": pct.to_string(), "previous_pct": previous}))
        .into_response())
}

pub async fn remove(
    State(state): State<Arc<AppState>>,
    caller: ApiCaller,
    Query(params): Query<ThresholdTarget>,
) -> Result<Response, ApiError> {
    let org = caller.require(Scope::Admin, "change anomaly thresholds")?;
    let (scope, id) = target(&params.scope, params.id.as_deref()).map_err(ApiError::BadRequest)?;
    match state
        .store
        .remove_anomaly_threshold(
            org,
            &scope,
            &id,
            spendlens_store::Actor {
                name: "api token",
                at: state.now(),
            },
        )
        .await?
    {
        Some(old) => {
            Ok(Json(json!({"scope": scope, "id": id, "removed_pct": old})).into_response())
        }
        None => Err(ApiError::NotFound(format!(
            "anomaly threshold of {scope} {id}"
        ))),
    }
}

/// The threshold paths for the OpenAPI document.
pub fn document_paths(doc: &mut Value, with_errors: &dyn Fn(Value) -> Value) {
    let scope = json!({"type": "string", "enum": THRESHOLD_SCOPES});
    let paths = json!({"/anomaly-thresholds": {
        "get": {"summary": "The global anomaly threshold and the thresholds of single scopes",
            "responses": with_errors(json!({"200": {"description": "Thresholds", "content": {"application/json": {"schema": {"type": "object"}}}}}))},
        "put": {"summary": "Set the global threshold or one scope's (admin token; audited)",
            "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["scope", "threshold_pct"], "properties": {
                "scope": scope, "id": {"type": "string", "description": "The scope's id as the anomaly list shows it; not for global"},
                "threshold_pct": {"type": "string", "description": "Percent above 0, e.g. \"25\""}}}}}},
            "responses": with_errors(json!({"200": {"description": "Set", "content": {"application/json": {"schema": {"type": "object"}}}}}))},
        "delete": {"summary": "Remove a threshold: the scope falls back to the global one (admin token; audited)",
            "parameters": [
                {"name": "scope", "in": "query", "required": true, "schema": scope},
                {"name": "id", "in": "query", "required": false, "schema": {"type": "string"}}],
            "responses": with_errors(json!({"200": {"description": "Removed", "content": {"application/json": {"schema": {"type": "object"}}}}}))}
    }});
    if let (Some(target), Some(paths)) = (doc["paths"].as_object_mut(), paths.as_object()) {
        target.extend(paths.clone());
    }
}
