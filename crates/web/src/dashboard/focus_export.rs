//! `GET /export/focus?from&to`: the Providers view's "Export FOCUS CSV" button — the FOCUS 1.2
//! export of the shown period (every provider; billed, allocated and metered rows), the same
//! bytes as `GET /api/v1/export/focus`. Viewers may export.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::response::Response;
use spendlens_domain::Day;

use super::error::PageError;
use super::session::Viewer;
use crate::AppState;
use crate::api::export::{FocusParams, csv_download, focus_csv, focus_period};

pub async fn download(
    State(state): State<Arc<AppState>>,
    viewer: Viewer,
    Query(params): Query<FocusParams>,
) -> Result<Response, PageError> {
    let period = focus_period(&params, Day::of(state.now())).map_err(|err| {
        PageError::BadRequest(format!(
            "The FOCUS export cannot use this period: {err}. Go back to /providers and pick another."
        ))
    })?;
    let (filename, bytes) = focus_csv(&state, viewer.org(), period).await?;
    Ok(csv_download(&filename, bytes))
}
