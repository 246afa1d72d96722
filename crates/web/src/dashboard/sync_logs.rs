//! Sync Logs: every run with its times, provider, status, counts, HTTP calls, retries and error
//! text; filtered by connection and status.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use spendlens_store::{ConnectionId, SyncRunFilter, SyncRunStatus};

use crate::AppState;
use crate::dashboard::error::PageError;
use crate::dashboard::session::Viewer;
use crate::dashboard::{Layout, format, respond};

pub struct Option_ {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

pub struct Row {
    pub started: String,
    pub duration: String,
    pub connection: String,
    pub provider: String,
    pub provider_label: String,
    pub trigger: String,
    pub window: String,
    pub status: String,
    pub workspaces: String,
    pub keys: String,
    pub lines: String,
    pub http_calls: String,
    pub retries: String,
    pub error: String,
    /// The start of a long error, as the summary that opens it.
    pub error_short: String,
    pub notes: String,
}

#[derive(Template)]
#[template(path = "sync_logs.html")]
struct SyncLogsPage {
    layout: Layout,
    connections: Vec<Option_>,
    statuses: Vec<Option_>,
    rows: Vec<Row>,
    running: bool,
}

#[derive(Debug, Default, Deserialize)]
pub struct Params {
    pub connection: Option<String>,
    pub status: Option<String>,
}

pub async fn page(
    State(state): State<Arc<AppState>>,
    viewer: Viewer,
    headers: HeaderMap,
    Query(params): Query<Params>,
) -> Result<Response, PageError> {
    let connection = match params.connection.as_deref().filter(|c| !c.is_empty()) {
        Some(text) => Some(ConnectionId(text.parse().map_err(|_| {
            PageError::BadRequest(format!(
                "connection must be a connection's id, not \"{text}\""
            ))
        })?)),
        None => None,
    };
    let status = match params.status.as_deref().filter(|s| !s.is_empty()) {
        Some(text) => Some(
            text.parse::<SyncRunStatus>()
                .map_err(|e| PageError::BadRequest(e.to_string()))?,
        ),
        None => None,
    };
    let runs = state
        .store()
        .list_sync_runs(
            viewer.org(),
            &SyncRunFilter {
                connection,
                status,
                limit: Some(500),
            },
        )
        .await?;
    let all = state.store().list_connections(viewer.org()).await?;
    let mut connections = vec![Option_ {
        value: String::new(),
        label: "All connections".to_owned(),
        selected: connection.is_none(),
    }];
    connections.extend(all.iter().map(|c| Option_ {
        value: c.id.0.to_string(),
        label: c.name.clone(),
        selected: connection == Some(c.id),
    }));
    let mut statuses = vec![Option_ {
        value: String::new(),
        label: "Any status".to_owned(),
        selected: status.is_none(),
    }];
    statuses.extend(
        [
            SyncRunStatus::Running,
            SyncRunStatus::Success,
            SyncRunStatus::Partial,
            SyncRunStatus::Failed,
        ]
        .into_iter()
        .map(|s| Option_ {
            value: s.as_str().to_owned(),
            label: s.as_str().to_owned(),
            selected: status == Some(s),
        }),
    );
    let running = runs.iter().any(|r| r.status == SyncRunStatus::Running);
    let rows = runs
        .iter()
        .map(|run| Row {
            started: format::instant(Some(run.started_at)),
            duration: run.duration_ms().map_or_else(
                || "—".to_owned(),
                |ms| format!("{:.1} s", ms as f64 / 1000.0),
            ),
            connection: run.connection_name.clone(),
            provider: run.provider.as_str().to_owned(),
            provider_label: run.provider.display_name().to_owned(),
            trigger: run.trigger.clone(),
            window: format::range(run.window),
            status: run.status.to_string(),
            workspaces: format::count(run.workspaces),
            keys: format::count(run.api_keys),
            lines: format::count(run.lines),
            http_calls: format::count(run.http_calls),
            retries: format::count(run.retries),
            error: run.error.clone().unwrap_or_default(),
            error_short: run
                .error
                .as_deref()
                .map(|e| format!("{}…", e.chars().take(140).collect::<String>()))
                .unwrap_or_default(),
            notes: run.notes.clone().unwrap_or_default(),
        })
        .collect();
    let layout = Layout::new(&state, &viewer, &headers, "Sync Logs", "/sync-logs").await?;
    let template = SyncLogsPage {
        layout,
        connections,
        statuses,
        rows,
        running,
    };
    respond(&template.layout, &headers, StatusCode::OK, &template)
}
