//! `GET /api/v1/export/focus`: the FOCUS 1.2 export of billed, allocated and metered spend
//! for a period (CSV, or Parquet with `format=parquet`), with any token (read scope). The
//! dashboard's "Export FOCUS CSV" and "Parquet" buttons serve the same bytes through
//! [`focus_file`].

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
    /// `csv` (default) or `parquet`.
    pub format: Option<String>,
}

/// The file format of an export.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FocusFormat {
    Csv,
    Parquet,
}

impl FocusFormat {
    /// The `format` parameter: `csv` (default) or `parquet`.
    pub fn parse(text: Option<&str>) -> Result<FocusFormat, QueryError> {
        match text.map(str::trim).unwrap_or("csv") {
            "csv" | "" => Ok(FocusFormat::Csv),
            "parquet" => Ok(FocusFormat::Parquet),
            other => Err(QueryError::Invalid(format!(
                "format must be csv or parquet, not \"{other}\""
            ))),
        }
    }

    fn extension(self) -> &'static str {
        match self {
            FocusFormat::Csv => "csv",
            FocusFormat::Parquet => "parquet",
        }
    }

    fn content_type(self) -> &'static str {
        match self {
            FocusFormat::Csv => "text/csv; charset=utf-8",
            FocusFormat::Parquet => "application/vnd.apache.parquet",
        }
    }
}

/// The period asked for, parsed as every view parses it (`from` + `to`, or a preset), and the
/// format (checked first, so a bad one is said whatever the period).
pub fn focus_request(
    params: &FocusParams,
    today: Day,
) -> Result<(DayRange, FocusFormat), QueryError> {
    let format = FocusFormat::parse(params.format.as_deref())?;
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
    Ok((view.period, format))
}

/// Why an export's file could not be made: the data could not be read, or (never expected)
/// the writer failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Query(#[from] QueryError),
    #[error("writing the FOCUS {0} failed: {1}")]
    Write(&'static str, String),
}

impl From<ExportError> for ApiError {
    fn from(err: ExportError) -> ApiError {
        match err {
            ExportError::Query(err) => err.into(),
            ExportError::Write(..) => ApiError::Internal(err.to_string()),
        }
    }
}

/// The export of `org` over `period` as the file's bytes, and the file name to offer.
pub async fn focus_file(
    state: &AppState,
    org: OrgId,
    period: DayRange,
    format: FocusFormat,
) -> Result<(String, Vec<u8>), ExportError> {
    let export = focus::export(&state.store, org, period).await?;
    let bytes = match format {
        FocusFormat::Csv => {
            let mut bytes = Vec::new();
            focus::write_csv(&export.rows, &mut bytes)
                .map_err(|e| ExportError::Write("CSV", e.to_string()))?;
            bytes
        }
        FocusFormat::Parquet => focus::write_parquet(&export.rows)
            .map_err(|e| ExportError::Write("Parquet", e.to_string()))?,
    };
    Ok((focus::file_name(period, format.extension()), bytes))
}

/// A file download.
pub fn download(filename: &str, format: FocusFormat, bytes: Vec<u8>) -> Response {
    (
        [
            (header::CONTENT_TYPE, format.content_type().to_owned()),
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
    let (period, format) = focus_request(&params, Day::of(state.now()))?;
    let (filename, bytes) = focus_file(&state, org, period, format).await?;
    Ok(download(&filename, format, bytes))
}

/// The export path for the OpenAPI document.
pub fn document_paths(doc: &mut Value, with_errors: &dyn Fn(Value) -> Value) {
    let query = |name: &str, description: &str| json!({"name": name, "in": "query", "required": false, "description": description, "schema": {"type": "string"}});
    let paths = json!({"/export/focus": {"get": {
        "summary": "FOCUS 1.2 (CostAndUsage) export of billed, allocated and metered spend for a period, as CSV or Parquet (the same columns and values: text as STRING, money and quantities as DECIMAL(38,9), periods as UTC TIMESTAMP, counts as INT64, x_Estimated as BOOLEAN, null where the CSV cell is empty). Rows are told apart by x_SpendlensSource (billed | allocated | metered); metered rows are not charges: their BilledCost, EffectiveCost, ListCost and ContractedCost are 0 and the meter's estimate is x_MeteredCost, so Σ BilledCost over the file is the bill after credits. Credits are rows with ChargeCategory Credit. A day of a closed month that the provider restated later shows as invoiced, and the change as rows with ChargeClass Correction (ChargePeriod the restated day, BillingPeriod the month the restatement was seen, no quantities), so files of consecutive months add up to the bill as stored now. Any token may read it (read scope).",
        "parameters": [
            query("from", "First day YYYY-MM-DD (with to, replaces period)."),
            query("to", "Last day, inclusive. At most 366 days per export."),
            query("period", "last-7-days, last-30-days (default), last-90-days, this-month, last-month."),
            query("format", "csv (default) or parquet."),
        ],
        "responses": with_errors(json!({"200": {"description": "The FOCUS CSV (a header of column ids, one row per cost line, credit or metered day series)", "content": {
            "text/csv": {"schema": {"type": "string"}},
            "application/vnd.apache.parquet": {"schema": {"type": "string", "format": "binary"}}
        }}}))
    }}});
    if let (Some(target), Value::Object(extra)) =
        (doc.get_mut("paths").and_then(Value::as_object_mut), paths)
    {
        target.extend(extra);
    }
}
