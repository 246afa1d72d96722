//! `GET /api/v1/reports/{view}`: the four views as JSON (or CSV with `format=csv`).

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use spendlens_domain::Day;
use spendlens_query::{View, ViewParams, ViewQuery};

use crate::AppState;
use crate::auth::ApiOrg;
use crate::error::ApiError;

#[derive(Debug, Default, Deserialize)]
pub struct ReportParams {
    #[serde(flatten)]
    pub view: ViewParams,
    /// `json` (default) or `csv`.
    pub format: Option<String>,
}

pub async fn report(
    State(state): State<Arc<AppState>>,
    ApiOrg(org): ApiOrg,
    Path(view): Path<String>,
    Query(params): Query<ReportParams>,
) -> Result<Response, ApiError> {
    let view: View = view.parse()?;
    let query = ViewQuery::parse(view, &params.view, Day::of(state.now()))?;
    let report = state.reports.report(org, &query).await?;
    match params.format.as_deref().unwrap_or("json") {
        "json" => Ok(Json(report).into_response()),
        "csv" => {
            let filters = query.filters_text();
            let csv = spendlens_query::table::to_csv(&report, &filters)
                .map_err(|e| ApiError::Internal(e.to_string()))?;
            let filename = format!(
                "spendlens-{}-{}-{}.csv",
                view.as_str(),
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

pub async fn workspaces(
    State(state): State<Arc<AppState>>,
    ApiOrg(org): ApiOrg,
) -> Result<Response, ApiError> {
    let rows = state.store().list_workspaces(org).await?;
    Ok(Json(serde_json::json!({ "workspaces": rows })).into_response())
}

pub async fn api_keys(
    State(state): State<Arc<AppState>>,
    ApiOrg(org): ApiOrg,
) -> Result<Response, ApiError> {
    let rows = state.store().list_api_keys(org).await?;
    Ok(Json(serde_json::json!({ "api_keys": rows })).into_response())
}
