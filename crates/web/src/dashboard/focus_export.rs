//! `GET /export/focus?from&to[&format=parquet]`: the Providers view's "Export FOCUS CSV" and
//! "Parquet" buttons — the FOCUS 1.2 export of the shown period (every provider; billed,
//! allocated and metered rows), the same bytes as `GET /api/v1/export/focus`. Viewers may
//! export.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::response::Response;
use spendlens_domain::Day;

use super::error::PageError;
use super::session::Viewer;
use crate::AppState;
use crate::api::export::{FocusParams, download as file_download, focus_file, focus_request};

pub async fn download(
    State(state): State<Arc<AppState>>,
    viewer: Viewer,
    Query(params): Query<FocusParams>,
) -> Result<Response, PageError> {
    let (period, format) = focus_request(&params, Day::of(state.now())).map_err(|err| {
        PageError::BadRequest(format!(
            "The FOCUS export cannot use this period: {err}. Go back to /providers and pick another."
        ))
    })?;
    let (filename, bytes) = focus_file(&state, viewer.org(), period, format)
        .await
        .map_err(|err| match err {
            crate::api::export::ExportError::Query(err) => PageError::from(err),
            other => PageError::Internal(other.to_string()),
        })?;
    Ok(file_download(&filename, format, bytes))
}
