//! Workspace Management: every workspace's metadata, its display name (renamed inline, in bulk,
//! or reverted to any earlier name from its history) and search. Workspaces given the same name
//! — even across providers — are one row in the Workspaces view.

use std::sync::Arc;

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use spendlens_store::{WorkspaceId, WorkspaceRow};

use crate::AppState;
use crate::dashboard::error::PageError;
use crate::dashboard::session::{Viewer, flash, redirect_with};
use crate::dashboard::{Layout, format, respond};

pub struct HistoryItem {
    pub id: i64,
    pub text: String,
    pub old_name: String,
}

pub struct Row {
    pub id: i64,
    pub display_name: String,
    pub provider: String,
    pub provider_label: String,
    pub provider_id: String,
    pub provider_name: String,
    pub status: &'static str,
    pub renamed: bool,
    pub first_seen: String,
    pub last_seen: String,
    /// When a sync first saw the workspace (the cell shows its day).
    pub first_seen_at: String,
    pub history: Vec<HistoryItem>,
    pub shares_name: usize,
}

#[derive(Template)]
#[template(path = "manage.html")]
struct ManagePage {
    layout: Layout,
    search: String,
    rows: Vec<Row>,
    total: usize,
}

#[derive(Debug, Default, Deserialize)]
pub struct SearchParams {
    pub search: Option<String>,
}

pub async fn page(
    State(state): State<Arc<AppState>>,
    viewer: Viewer,
    headers: HeaderMap,
    Query(params): Query<SearchParams>,
) -> Result<Response, PageError> {
    let search = params.search.unwrap_or_default().trim().to_owned();
    if search.chars().count() > 200 {
        return Err(PageError::BadRequest(
            "the search text is longer than 200 characters".to_owned(),
        ));
    }
    let needle = search.to_lowercase();
    let workspaces = state.store().list_workspaces(viewer.org()).await?;
    let last_spend = state.store().last_spend_days(viewer.org()).await?;
    let total = workspaces.len();
    let mut histories: std::collections::HashMap<WorkspaceId, Vec<HistoryItem>> =
        std::collections::HashMap::new();
    for change in state.store().all_workspace_history(viewer.org()).await? {
        histories
            .entry(change.workspace_id)
            .or_default()
            .push(HistoryItem {
                id: change.id,
                text: format!(
                    "{}: “{}” → “{}” by {}",
                    format::instant(Some(change.changed_at)),
                    change.old_name,
                    change.new_name,
                    change.changed_by
                ),
                old_name: change.old_name,
            });
    }
    let mut rows = Vec::new();
    for workspace in &workspaces {
        let matches = needle.is_empty()
            || [
                &workspace.display_name,
                &workspace.provider_name,
                &workspace.provider_id,
                &workspace.provider.as_str().to_owned(),
            ]
            .iter()
            .any(|t| t.to_lowercase().contains(&needle));
        if !matches {
            continue;
        }
        let history = histories.remove(&workspace.id).unwrap_or_default();
        rows.push(row(
            workspace,
            &workspaces,
            history,
            last_spend.get(&workspace.id).copied(),
        ));
    }
    let layout = Layout::new(
        &state,
        &viewer,
        &headers,
        "Workspace Management",
        "/workspace-management",
    )
    .await?;
    let template = ManagePage {
        layout,
        search,
        rows,
        total,
    };
    respond(&template.layout, &headers, StatusCode::OK, &template)
}

/// A workspace's row; "last seen" is its last day with spend (not when a sync last saw it).
fn row(
    workspace: &WorkspaceRow,
    all: &[WorkspaceRow],
    history: Vec<HistoryItem>,
    last_spend: Option<spendlens_domain::Day>,
) -> Row {
    Row {
        id: workspace.id.0,
        display_name: workspace.display_name.clone(),
        provider: workspace.provider.as_str().to_owned(),
        provider_label: workspace.provider.display_name().to_owned(),
        provider_id: workspace.provider_id.clone(),
        provider_name: workspace.provider_name.clone(),
        status: if workspace.archived {
            "archived"
        } else {
            "active"
        },
        renamed: workspace.renamed,
        first_seen: spendlens_domain::Day::of(workspace.first_seen_at).to_string(),
        first_seen_at: format::instant(Some(workspace.first_seen_at)),
        last_seen: last_spend.map_or_else(|| "no spend yet".to_owned(), |day| day.to_string()),
        history,
        shares_name: all
            .iter()
            .filter(|w| w.id != workspace.id && w.display_name == workspace.display_name)
            .count(),
    }
}

#[derive(Debug, Deserialize)]
pub struct RenameForm {
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub name: String,
    pub search: Option<String>,
}

fn back(search: Option<&str>) -> String {
    match search.filter(|s| !s.is_empty()) {
        Some(search) => {
            let encoded: String = url::form_urlencoded::byte_serialize(search.as_bytes()).collect();
            format!("/workspace-management?search={encoded}")
        }
        None => "/workspace-management".to_owned(),
    }
}

pub async fn rename(
    State(state): State<Arc<AppState>>,
    viewer: Viewer,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Form(form): Form<RenameForm>,
) -> Result<Response, PageError> {
    viewer.check_csrf(&form.csrf)?;
    viewer.require_admin()?;
    let before = state
        .store()
        .get_workspace(viewer.org(), WorkspaceId(id))
        .await?;
    let actor = viewer.actor();
    let actor = spendlens_store::Actor {
        name: &actor,
        at: state.now(),
    };
    let renamed = state
        .store()
        .rename_workspace(viewer.org(), WorkspaceId(id), &form.name, actor)
        .await?;
    Ok(redirect_with(
        &back(form.search.as_deref()),
        vec![flash(
            &headers,
            "ok",
            &format!(
                "Renamed “{}” to “{}”.",
                before.display_name, renamed.display_name
            ),
        )],
    ))
}

#[derive(Debug, Deserialize)]
pub struct RevertForm {
    #[serde(default)]
    pub csrf: String,
    pub change: i64,
    pub search: Option<String>,
}

pub async fn revert(
    State(state): State<Arc<AppState>>,
    viewer: Viewer,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Form(form): Form<RevertForm>,
) -> Result<Response, PageError> {
    viewer.check_csrf(&form.csrf)?;
    viewer.require_admin()?;
    let actor = viewer.actor();
    let actor = spendlens_store::Actor {
        name: &actor,
        at: state.now(),
    };
    let reverted = state
        .store()
        .revert_workspace_name(viewer.org(), WorkspaceId(id), form.change, actor)
        .await?;
    Ok(redirect_with(
        &back(form.search.as_deref()),
        vec![flash(
            &headers,
            "ok",
            &format!("Reverted to “{}”.", reverted.display_name),
        )],
    ))
}

/// The bulk form repeats `ids`, which serde's urlencoded reader cannot collect; read the pairs.
pub async fn bulk_rename(
    State(state): State<Arc<AppState>>,
    viewer: Viewer,
    headers: HeaderMap,
    body: String,
) -> Result<Response, PageError> {
    let mut csrf = String::new();
    let mut name = String::new();
    let mut search = None;
    let mut ids = Vec::new();
    for (key, value) in url::form_urlencoded::parse(body.as_bytes()) {
        match key.as_ref() {
            "csrf" => csrf = value.into_owned(),
            "name" => name = value.into_owned(),
            "search" => search = Some(value.into_owned()),
            "ids" => ids.push(value.parse::<i64>().map_err(|_| {
                PageError::BadRequest(format!("\"{value}\" is not a workspace id"))
            })?),
            _ => {}
        }
    }
    viewer.check_csrf(&csrf)?;
    viewer.require_admin()?;
    if ids.is_empty() {
        return Ok(redirect_with(
            &back(search.as_deref()),
            vec![flash(
                &headers,
                "warn",
                "Select the workspaces to rename first.",
            )],
        ));
    }
    if ids.len() > 1000 {
        return Err(PageError::BadRequest(
            "at most 1,000 workspaces can be renamed at once".to_owned(),
        ));
    }
    let display = spendlens_store::validate_display_name(&name)?;
    let actor = viewer.actor();
    let actor = spendlens_store::Actor {
        name: &actor,
        at: state.now(),
    };
    // One transaction: an unknown id changes nothing.
    let ids: Vec<WorkspaceId> = ids.into_iter().map(WorkspaceId).collect();
    state
        .store()
        .rename_workspaces(viewer.org(), &ids, &display, actor)
        .await?;
    Ok(redirect_with(
        &back(search.as_deref()),
        vec![flash(
            &headers,
            "ok",
            &format!(
                "Renamed {} workspace(s) to “{display}”; they now show as one row in Workspaces.",
                ids.len()
            ),
        )],
    ))
}
