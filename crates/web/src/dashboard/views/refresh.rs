//! "Refresh data" (sync every connection now, in the background) and the sync progress the
//! metric pages poll.

use std::sync::Arc;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::{Form, Json};
use serde::Deserialize;
use spendlens_store::{SyncRunFilter, SyncRunStatus};

use crate::AppState;
use crate::dashboard::error::PageError;
use crate::dashboard::format;
use crate::dashboard::session::{Viewer, flash, redirect_with};

#[derive(Debug, Deserialize)]
pub struct RefreshForm {
    #[serde(default)]
    pub csrf: String,
    /// Where to come back to.
    pub back: Option<String>,
}

/// "Refresh data": sync every connection now, in the background.
pub async fn refresh(
    State(state): State<Arc<AppState>>,
    viewer: Viewer,
    headers: HeaderMap,
    Form(form): Form<RefreshForm>,
) -> Result<Response, PageError> {
    viewer.check_csrf(&form.csrf)?;
    viewer.require_admin()?;
    let org = viewer.org();
    let engine = state.sync.clone();
    let started = engine
        .store()
        .list_connections(org)
        .await?
        .iter()
        .filter(|c| c.has_credential)
        .count();
    state
        .store()
        .audit(
            org,
            &viewer.actor(),
            "sync.all",
            "all connections",
            "manual refresh from the dashboard",
            state.now(),
        )
        .await?;
    tokio::spawn(async move {
        if let Err(err) = engine
            .sync_all(org, None, spendlens_domain::SyncRequest::Manual)
            .await
        {
            tracing::warn!(error = %err, "dashboard refresh failed to start");
        }
    });
    let back = form
        .back
        .filter(|b| b.starts_with('/') && !b.starts_with("//"))
        .unwrap_or_else(|| "/providers".to_owned());
    let message = if started == 0 {
        (
            "warn",
            "There are no connections to sync yet; add one under Connections.".to_owned(),
        )
    } else {
        (
            "ok",
            format!("Sync of {started} connection(s) started; this page updates when it ends."),
        )
    };
    Ok(redirect_with(
        &back,
        vec![flash(&headers, message.0, &message.1)],
    ))
}

/// What the page polls while syncs run.
pub async fn sync_status(
    State(state): State<Arc<AppState>>,
    viewer: Viewer,
) -> Result<Response, PageError> {
    let runs = state
        .store()
        .list_sync_runs(
            viewer.org(),
            &SyncRunFilter {
                limit: Some(50),
                ..SyncRunFilter::default()
            },
        )
        .await?;
    let running: Vec<&spendlens_store::SyncRunRow> = runs
        .iter()
        .filter(|r| r.status == SyncRunStatus::Running)
        .collect();
    let connections = state.store().list_connections(viewer.org()).await?;
    Ok(Json(serde_json::json!({
        "running": running.len(),
        "running_connections": running.iter().map(|r| r.connection_name.clone()).collect::<Vec<_>>(),
        "lines": runs.iter().take(20).map(|r| r.lines).sum::<i64>(),
        "last_sync_at": connections.iter().filter_map(|c| c.last_sync_at).max().map(|t| format::instant(Some(t))),
    }))
    .into_response())
}
