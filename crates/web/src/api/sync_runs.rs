//! Sync over the API: "sync now" of one connection starts its run (409 with the running run's
//! id when one is already running) and answers 202 with the new run's id while the fetching
//! goes on in the background; "sync all" starts every connection in the background;
//! `GET /sync-runs` is the log.

use spendlens_domain::SyncRequest;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use spendlens_providers::CallStats;
use spendlens_store::{ConnectionId, SyncRunFilter, SyncRunStatus};

use crate::AppState;
use spendlens_domain::Scope;

use crate::auth::{ApiCaller, ApiOrg};
use crate::error::ApiError;

/// The most runs one page of the log returns (a larger `limit` is refused, not cut down).
pub const MAX_RUNS_LIMIT: i64 = 10_000;

#[derive(Debug, Default, Deserialize)]
pub struct RunParams {
    pub connection: Option<i64>,
    pub status: Option<String>,
    pub limit: Option<i64>,
}

pub async fn list(
    State(state): State<Arc<AppState>>,
    ApiOrg(org): ApiOrg,
    Query(params): Query<RunParams>,
) -> Result<Response, ApiError> {
    let status = params
        .status
        .as_deref()
        .filter(|s| !s.is_empty())
        .map(str::parse::<SyncRunStatus>)
        .transpose()
        .map_err(|e| ApiError::BadRequest(e.to_string()))?;
    if let Some(limit) = params.limit
        && !(1..=MAX_RUNS_LIMIT).contains(&limit)
    {
        return Err(ApiError::BadRequest(format!(
            "limit must be between 1 and {MAX_RUNS_LIMIT}, not {limit}"
        )));
    }
    let runs = state
        .store()
        .list_sync_runs(
            org,
            &SyncRunFilter {
                connection: params.connection.map(ConnectionId),
                status,
                limit: params.limit,
            },
        )
        .await?;
    Ok(Json(serde_json::json!({ "sync_runs": runs })).into_response())
}

pub async fn sync_one(
    State(state): State<Arc<AppState>>,
    caller: ApiCaller,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    let org = caller.require(Scope::Sync, "start syncs")?;
    let connection = state.store().get_connection(org, ConnectionId(id)).await?;
    if !connection.has_credential {
        return Err(ApiError::BadRequest(format!(
            "connection \"{}\" has no credential; add it again to sync",
            connection.name
        )));
    }
    // Start the run here, so the answer is the truth: 409 with the running run's id, or the
    // real error (a database that cannot write); only the fetching moves to a task.
    let started = state
        .sync
        .begin_sync(org, connection.id, None, SyncRequest::Manual)
        .await?;
    let run_id = started.run_id();
    let engine = state.sync.clone();
    tokio::spawn(async move {
        let stats = CallStats::default();
        if let Err(err) = engine.run_started(started, &stats).await {
            tracing::warn!(connection = %connection.name, error = %err, "manual sync failed");
        }
    });
    Ok((
        StatusCode::ACCEPTED,
        Json(serde_json::json!({
            "started": [id],
            "run_id": run_id.0,
            "message": "sync started; follow it in GET /api/v1/sync-runs",
        })),
    )
        .into_response())
}

pub async fn sync_all(
    State(state): State<Arc<AppState>>,
    caller: ApiCaller,
) -> Result<Response, ApiError> {
    let org = caller.require(Scope::Sync, "start syncs")?;
    let connections = state.store().list_connections(org).await?;
    let ids: Vec<i64> = connections
        .iter()
        .filter(|c| c.has_credential)
        .map(|c| c.id.0)
        .collect();
    let engine = state.sync.clone();
    tokio::spawn(async move {
        if let Err(err) = engine.sync_all(org, None, SyncRequest::Manual).await {
            tracing::warn!(error = %err, "manual sync of all connections failed to start");
        }
    });
    Ok((
        StatusCode::ACCEPTED,
        Json(serde_json::json!({
            "started": ids,
            "message": "sync of every connection started; follow it in GET /api/v1/sync-runs",
        })),
    )
        .into_response())
}
