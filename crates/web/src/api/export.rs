//! `GET /api/v1/export/focus`: the FOCUS 1.2 export of billed, allocated and metered spend
//! for a period (CSV), with any token (read scope). The dashboard's "Export FOCUS CSV" button
//! serves the same bytes through [`focus_csv`].

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use spendlens_domain::{Day, DayRange};
use spendlens_query::{QueryError, View, ViewParams, ViewQuery, focus};
use spendlens_store::OrgId;

use crate::AppState;
use crate::auth::ApiOrg;
use crate::error::ApiError;

#[derive(Debug, Default, Deserialize)]
pub struct FocusParams {
    pub period: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    /// `csv` (default). `parquet` is answered 400: not built (see the README).
    pub format: Option<String>,
}

/// The period asked for, parsed as every view parses it (`from` + `to`, or a preset).
pub fn focus_period(params: &FocusParams, today: Day) -> Result<DayRange, QueryError> {
    match params.format.as_deref().map(str::trim).unwrap_or("csv") {
        "csv" | "" => {}
        "parquet" => {
            return Err(QueryError::Invalid(
                "Parquet is not available in this version of spendlens; use format=csv (FOCUS tools read CSV)".to_owned(),
            ));
        }
        other => {
            return Err(QueryError::Invalid(format!(
                "format must be csv, not \"{other}\""
            )));
        }
    }
    let view = ViewQuery::parse(
        View::Providers,
        &ViewParams {
            period: params.period.clone(),
            from: params.from.clone(),
            to: params.to.clone(),
            ..ViewParams::default()
        },
        today,
    )?;
    focus::check_period(view.period)?;
    Ok(view.period)
}

/// The export of `org` over `period` as CSV bytes, and the file name to offer.
pub async fn focus_csv(
    state: &AppState,
    org: OrgId,
    period: DayRange,
) -> Result<(String, Vec<u8>), QueryError> {
    let export = focus::export(&state.store, org, period).await?;
    let mut bytes = Vec::new();
    focus::write_csv(&export.rows, &mut bytes)
        .map_err(|e| QueryError::Invalid(format!("writing the CSV failed: {e}")))?;
    Ok((focus::file_name(period, "csv"), bytes))
}

/// A CSV download.
pub fn csv_download(filename: &str, bytes: Vec<u8>) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        bytes,
    )
        .into_response()
}

pub async fn focus_export(
    State(state): State<Arc<AppState>>,
    ApiOrg(org): ApiOrg,
    Query(params): Query<FocusParams>,
) -> Result<Response, ApiError> {
    let period = focus_period(&params, Day::of(state.now()))?;
    let (filename, bytes) = focus_csv(&state, org, period).await?;
    Ok(csv_download(&filename, bytes))
}

/// The export path for the OpenAPI document.
pub fn document_paths(doc: &mut Value, with_errors: &dyn Fn(Value) -> Value) {
    let query = |name: &str, description: &str| json!({"name": name, "in": "query", "required": false, "description": description, "schema": {"type": "string"}});
    let paths = json!({"/export/focus": {"get": {
        "summary": "FOCUS 1.2 (CostAndUsage) export of billed, allocated and metered spend for a period, as CSV. Rows are told apart by x_SpendlensSource (billed | allocated | metered); metered rows are not charges: their BilledCost, EffectiveCost, ListCost and ContractedCost are 0 and the meter's estimate is x_MeteredCost, so Σ BilledCost over the file is the bill after credits. Credits are rows with ChargeCategory Credit. Any token may read it (read scope).",
        "parameters": [
            query("from", "First day YYYY-MM-DD (with to, replaces period)."),
            query("to", "Last day, inclusive. At most 366 days per export."),
            query("period", "last-7-days, last-30-days (default), last-90-days, this-month, last-month."),
            query("format", "csv (default). parquet is a 400: not available in this version."),
        ],
        "responses": with_errors(json!({"200": {"description": "The FOCUS CSV (a header of column ids, one row per cost line, credit or metered day series)", "content": {
            "text/csv": {"schema": {"type": "string"}}
        }}}))
    }}});
    if let (Some(target), Value::Object(extra)) =
        (doc.get_mut("paths").and_then(Value::as_object_mut), paths)
    {
        target.extend(extra);
    }
}
