//! `GET /api/v1/forecasts` (projected month-end spend per provider, workspace, model and
//! customer, with trends and credit balances) and `GET /api/v1/anomalies` (days that moved
//! past their threshold, explained): JSON, or CSV with `format=csv`.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use spendlens_query::spend_days::parse_scopes;
use spendlens_query::{anomaly, forecast};

use crate::AppState;
use crate::auth::ApiOrg;
use crate::error::ApiError;

#[derive(Debug, Default, Deserialize)]
pub struct ForecastParams {
    /// Scopes, comma-separated (`provider,workspace,model,customer`); all by default.
    pub scope: Option<String>,
    /// `json` (default) or `csv`.
    pub format: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct AnomalyParams {
    /// Scopes, comma-separated (`customer,model,key,workspace`); all by default.
    pub scope: Option<String>,
    /// The global threshold in percent for this request (the stored setting otherwise).
    pub threshold: Option<String>,
    /// Days under this many USD on both sides are not tested.
    pub min_daily: Option<String>,
    /// Baseline weeks, 1–8.
    pub weeks: Option<String>,
    pub format: Option<String>,
}

fn csv_response(csv: String, name: &str) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        csv,
    )
        .into_response()
}

fn bad_format(other: &str) -> ApiError {
    ApiError::BadRequest(format!("format must be json or csv, not \"{other}\""))
}

pub async fn forecasts(
    State(state): State<Arc<AppState>>,
    ApiOrg(org): ApiOrg,
    Query(params): Query<ForecastParams>,
) -> Result<Response, ApiError> {
    let scopes = parse_scopes(params.scope.as_deref(), &forecast::SCOPES)?;
    let format = params.format.as_deref().unwrap_or("json");
    if !matches!(format, "json" | "csv") {
        return Err(bad_format(format));
    }
    let data = state.reports.spend_days(org, state.now()).await?;
    let report = forecast::forecasts(&data, &scopes);
    if format == "csv" {
        let csv = forecast::csv::to_csv(&report).map_err(|e| ApiError::Internal(e.to_string()))?;
        return Ok(csv_response(
            csv,
            &format!("spendlens-forecasts-{}.csv", report.today),
        ));
    }
    Ok(Json(report).into_response())
}

pub async fn anomalies(
    State(state): State<Arc<AppState>>,
    ApiOrg(org): ApiOrg,
    Query(params): Query<AnomalyParams>,
) -> Result<Response, ApiError> {
    let scopes = parse_scopes(params.scope.as_deref(), &anomaly::SCOPES)?;
    let format = params.format.as_deref().unwrap_or("json");
    if !matches!(format, "json" | "csv") {
        return Err(bad_format(format));
    }
    let settings = anomaly::settings::load(&state.store, org)
        .await?
        .with_options(
            params.threshold.as_deref(),
            params.min_daily.as_deref(),
            params.weeks.as_deref(),
        )?;
    let data = state.reports.spend_days(org, state.now()).await?;
    let report = anomaly::anomalies(&data, &settings, &scopes);
    if format == "csv" {
        let csv = anomaly::csv::to_csv(&report).map_err(|e| ApiError::Internal(e.to_string()))?;
        return Ok(csv_response(
            csv,
            &format!("spendlens-anomalies-{}.csv", data.today),
        ));
    }
    Ok(Json(report).into_response())
}

/// The forecast and anomaly paths for the OpenAPI document.
pub fn document_paths(doc: &mut Value, with_errors: &dyn Fn(Value) -> Value) {
    let query = |name: &str, description: &str| json!({"name": name, "in": "query", "required": false, "description": description, "schema": {"type": "string"}});
    let money = json!({"type": "string", "description": "Exact USD decimal"});
    let opt_money = json!({"type": ["string", "null"], "description": "Exact USD decimal; null when unknown (N/A)"});
    let day = json!({"type": ["string", "null"], "format": "date"});
    let forecast = json!({"type": "object", "properties": {
        "scope": {"type": "string", "enum": ["provider", "workspace", "model", "customer"]},
        "id": {"type": "string"}, "label": {"type": "string"},
        "source": {"type": "string", "enum": ["billed", "metered"]},
        "status": {"type": "string", "enum": ["ok", "insufficient_history", "not_complete"]},
        "reason": {"type": ["string", "null"], "description": "Why there is no forecast"},
        "complete_through": day, "history_from": day,
        "trailing_7d": opt_money, "daily_rate": opt_money, "next_7_days": opt_money,
        "month_to_date": money, "incomplete_recorded": money,
        "remaining_days": {"type": "integer"}, "projected_month_end": opt_money,
        "previous_7d": opt_money,
        "trend": {"type": "string", "enum": ["increasing", "decreasing", "stable", "no_history"]},
        "trend_pct": {"type": ["string", "null"]},
        "estimated": {"type": "boolean"}}});
    let credit = json!({"type": "object", "properties": {
        "connection": {"type": "string"}, "provider": {"type": "string"},
        "kind": {"type": "string", "enum": ["prepaid_balance", "cloud_credits"]},
        "balance": opt_money, "as_of": {"type": ["string", "null"], "format": "date-time"},
        "daily_rate": opt_money, "exhausted_on": day, "days_left": {"type": ["integer", "null"]},
        "credits_applied": money, "missing": {"type": ["string", "null"]}}});
    let driver = json!({"type": "object", "properties": {
        "label": {"type": "string"}, "baseline": money, "current": money, "change": money, "price": money}});
    let anomaly = json!({"type": "object", "properties": {
        "scope": {"type": "string", "enum": ["customer", "model", "key", "workspace"]},
        "id": {"type": "string"}, "label": {"type": "string"}, "model": {"type": ["string", "null"]},
        "day": {"type": "string", "format": "date"},
        "baseline_days": {"type": "array", "items": {"type": "string", "format": "date"}},
        "current_daily": money, "baseline_daily": money, "change": money,
        "deviation_pct": {"type": ["string", "null"], "description": "null when the baseline spent nothing (direction new)"},
        "direction": {"type": "string", "enum": ["spike", "drop", "new"]},
        "threshold_pct": {"type": "string"}, "threshold_source": {"type": "string", "enum": ["global", "scope"]},
        "detected_at": {"type": "string", "format": "date-time"},
        "volume": money, "price": money, "mix": money,
        "volume_unit": {"type": "string", "enum": ["tokens"]},
        "drivers": {"type": "array", "items": driver}}});
    let csv = json!({"schema": {"type": "string"}});
    let paths = json!({
        "/forecasts": {"get": {
            "summary": "Projected month-end spend, the next 7 days and the trend per provider, workspace and model (the bill) and customer (metered calls), from the trailing 7 complete days; credit balances with the day they run out. Estimates; N/A with a reason where history is short",
            "parameters": [
                query("scope", "provider, workspace, model, customer (comma-separated; all by default)."),
                query("format", "json (default) or csv."),
            ],
            "responses": with_errors(json!({"200": {"description": "Forecasts", "content": {
                "application/json": {"schema": {"type": "object", "properties": {
                    "today": {"type": "string", "format": "date"},
                    "total": {"type": ["object", "null"], "properties": {
                        "month_to_date": money, "daily_rate": money, "projected_month_end": money,
                        "next_7_days": money, "providers": {"type": "array"}, "left_out": {"type": "array"}}},
                    "forecasts": {"type": "array", "items": forecast},
                    "credits": {"type": "array", "items": credit},
                    "notes": {"type": "array", "items": {"type": "string"}}}}},
                "text/csv": csv.clone()}}}))
        }},
        "/anomalies": {"get": {
            "summary": "Customers, models, API keys and workspaces whose last complete day moved from the same weekday of the trailing weeks by at least the threshold, with the drivers and the change split into volume, price and mix (adding up exactly)",
            "parameters": [
                query("scope", "customer, model, key, workspace (comma-separated; all by default)."),
                query("threshold", "Global threshold in percent for this request (default: the stored setting, 50)."),
                query("min_daily", "Days under this many USD on both sides are not tested (default 1)."),
                query("weeks", "Baseline weeks, 1–8 (default 4)."),
                query("format", "json (default) or csv."),
            ],
            "responses": with_errors(json!({"200": {"description": "Anomalies", "content": {
                "application/json": {"schema": {"type": "object", "properties": {
                    "settings": {"type": "object"},
                    "anomalies": {"type": "array", "items": anomaly},
                    "tested": {"type": "integer"}, "insufficient_history": {"type": "integer"},
                    "notes": {"type": "array", "items": {"type": "string"}}}}},
                "text/csv": csv}}}))
        }}
    });
    if let (Some(target), Some(paths)) = (doc["paths"].as_object_mut(), paths.as_object()) {
        target.extend(paths.clone());
    }
}
