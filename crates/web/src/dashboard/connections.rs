//! Connections: add one (provider picker, the credential shape that provider expects, optional
//! base URL), test, sync now, remove; status, last sync and last error for each. A secret never
//! comes back to the browser — only its hint.

use spendlens_domain::SyncRequest;
use std::sync::Arc;

use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use spendlens_domain::ProviderKind;
use spendlens_domain::credential::expected_shape;
use spendlens_providers::CallStats;
use spendlens_store::{Actor, ConnectionId, ConnectionRow};
use spendlens_sync::SyncError;
use spendlens_sync::connections::{AddConnection, AddConnectionError};

use crate::AppState;
use crate::dashboard::error::PageError;
use crate::dashboard::ingest_keys::{KeyRow, ShownSecret};
use crate::dashboard::session::{CsrfForm, Viewer, flash, redirect_with};
use crate::dashboard::{Layout, format, respond};

pub struct Row {
    pub id: i64,
    pub name: String,
    pub provider: String,
    pub provider_label: String,
    pub hint: String,
    pub base_url: String,
    pub status: String,
    /// Pending, Connected, Error or Disconnected.
    pub status_label: String,
    pub message: String,
    pub last_sync: String,
    pub synced_through: String,
    pub notes: String,
    pub has_credential: bool,
}

pub struct Choice {
    pub value: &'static str,
    pub label: &'static str,
    pub selected: bool,
}

#[derive(Template)]
#[template(path = "connections.html")]
struct ConnectionsPage {
    layout: Layout,
    rows: Vec<Row>,
    providers: Vec<Choice>,
    shapes_json: String,
    form_name: String,
    form_base_url: String,
    form_error: Option<String>,
    form_aws_key_id: String,
    form_aws_region: String,
    regions: Vec<(&'static str, &'static str)>,
    placeholder: String,
    hint: String,
    ingest_keys: Vec<KeyRow>,
    /// A just created or regenerated ingest key's secret: this response is its only showing.
    shown_secret: Option<ShownSecret>,
}

fn row(connection: &ConnectionRow) -> Row {
    Row {
        id: connection.id.0,
        name: connection.name.clone(),
        provider: connection.provider.as_str().to_owned(),
        provider_label: connection.provider.display_name().to_owned(),
        hint: connection
            .credential_hint
            .clone()
            .filter(|_| connection.has_credential)
            .unwrap_or_else(|| "(removed)".to_owned()),
        base_url: connection.base_url.clone().unwrap_or_default(),
        status: connection.status.to_string(),
        status_label: crate::dashboard::session::capitalize(connection.status.as_str()),
        message: connection.status_message.clone().unwrap_or_default(),
        last_sync: format::instant(connection.last_sync_at),
        synced_through: connection
            .synced_through
            .map_or_else(|| "—".to_owned(), |d| d.to_string()),
        notes: connection.notes.clone().unwrap_or_default(),
        has_credential: connection.has_credential,
    }
}

struct FormState {
    provider: ProviderKind,
    name: String,
    base_url: String,
    error: Option<String>,
    aws_key_id: String,
    aws_region: String,
}

impl FormState {
    fn empty() -> FormState {
        FormState {
            provider: ProviderKind::OpenAi,
            name: String::new(),
            base_url: String::new(),
            error: None,
            aws_key_id: String::new(),
            aws_region: "us-east-1".to_owned(),
        }
    }
}

async fn render_page(
    state: &AppState,
    viewer: &Viewer,
    headers: &HeaderMap,
    form: FormState,
    status: StatusCode,
    shown_secret: Option<ShownSecret>,
) -> Result<Response, PageError> {
    let connections = state.store().list_connections(viewer.org()).await?;
    let shapes: serde_json::Map<String, serde_json::Value> = ProviderKind::ALL
        .iter()
        .map(|p| {
            let (placeholder, hint) = expected_shape(*p);
            (
                p.as_str().to_owned(),
                serde_json::json!({"placeholder": placeholder, "hint": hint}),
            )
        })
        .collect();
    let (placeholder, hint) = expected_shape(form.provider);
    let layout = Layout::new(state, viewer, headers, "Connections", "/connections").await?;
    let template = ConnectionsPage {
        layout,
        rows: connections.iter().map(row).collect(),
        providers: ProviderKind::ALL
            .iter()
            .map(|p| Choice {
                value: p.as_str(),
                label: p.display_name(),
                selected: *p == form.provider,
            })
            .collect(),
        shapes_json: serde_json::Value::Object(shapes).to_string(),
        form_name: form.name,
        form_base_url: form.base_url,
        form_error: form.error,
        form_aws_key_id: form.aws_key_id,
        form_aws_region: form.aws_region,
        regions: super::aws_form::REGIONS.to_vec(),
        placeholder: placeholder.to_owned(),
        hint: hint.to_owned(),
        ingest_keys: super::ingest_keys::rows(state, viewer.org()).await?,
        shown_secret,
    };
    let secret_shown = template.shown_secret.is_some();
    let mut response = respond(&template.layout, headers, status, &template)?;
    if secret_shown {
        response.headers_mut().insert(
            axum::http::header::CACHE_CONTROL,
            axum::http::HeaderValue::from_static("no-store"),
        );
    }
    Ok(response)
}

pub async fn page_handler(
    state: &AppState,
    viewer: &Viewer,
    headers: &HeaderMap,
) -> Result<Response, PageError> {
    render_page(
        state,
        viewer,
        headers,
        FormState::empty(),
        StatusCode::OK,
        None,
    )
    .await
}

/// The page with a new ingest key's secret shown once (after create or regenerate).
pub async fn page_with_secret(
    state: &AppState,
    viewer: &Viewer,
    headers: &HeaderMap,
    shown: ShownSecret,
) -> Result<Response, PageError> {
    render_page(
        state,
        viewer,
        headers,
        FormState::empty(),
        StatusCode::OK,
        Some(shown),
    )
    .await
}

pub async fn page(
    State(state): State<Arc<AppState>>,
    viewer: Viewer,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    page_handler(&state, &viewer, &headers).await
}

#[derive(Debug, Deserialize)]
pub struct AddForm {
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub provider: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub base_url: String,
    #[serde(flatten)]
    pub key: super::aws_form::PostedKey,
}

pub async fn add(
    State(state): State<Arc<AppState>>,
    viewer: Viewer,
    headers: HeaderMap,
    Form(form): Form<AddForm>,
) -> Result<Response, PageError> {
    viewer.check_csrf(&form.csrf)?;
    viewer.require_admin()?;
    let provider: ProviderKind =
        form.provider
            .parse()
            .map_err(|e: spendlens_domain::provider::UnknownProvider| {
                PageError::BadRequest(e.to_string())
            })?;
    let secret = form.key.secret(provider == ProviderKind::Bedrock)?;
    let actor = viewer.actor();
    let actor = spendlens_store::Actor {
        name: &actor,
        at: state.now(),
    };
    let result = state
        .sync
        .add_connection_as(
            viewer.org(),
            AddConnection {
                provider,
                name: &form.name,
                secret: &secret,
                base_url: Some(form.base_url.as_str()).filter(|u| !u.trim().is_empty()),
                skip_check: false,
                sync_interval_secs: 3600,
                backfill_days: 90,
                lookback_days: None,
            },
            actor,
        )
        .await;
    match result {
        Ok((connection, check)) => {
            // The first sync starts now, in the background.
            let engine = state.sync.clone();
            let (org, id) = (viewer.org(), connection.id);
            tokio::spawn(async move {
                let stats = CallStats::default();
                if let Err(err) = engine
                    .sync_connection(org, id, None, SyncRequest::Manual, &stats)
                    .await
                {
                    tracing::warn!(error = %err, "first sync could not start");
                }
            });
            let checked = check
                .map(|c| format!(" {}.", c.summary))
                .unwrap_or_default();
            Ok(redirect_with(
                "/connections",
                vec![flash(
                    &headers,
                    "ok",
                    &format!(
                        "Added “{}”.{checked} The first sync has started.",
                        connection.name
                    ),
                )],
            ))
        }
        Err(err) => {
            let message = match &err {
                AddConnectionError::Store(spendlens_store::StoreError::Conflict(m)) => m.clone(),
                AddConnectionError::Store(other) => {
                    return Err(PageError::Internal(other.to_string()));
                }
                other => other.to_string(),
            };
            render_page(
                &state,
                &viewer,
                &headers,
                FormState {
                    provider,
                    name: form.name.chars().take(80).collect(),
                    base_url: form.base_url.chars().take(500).collect(),
                    error: Some(crate::dashboard::session::capitalize(&message)),
                    // What was typed stays, except secrets: they never come back to the browser.
                    aws_key_id: form.key.aws_access_key_id.chars().take(128).collect(),
                    aws_region: Some(form.key.aws_region.chars().take(32).collect::<String>())
                        .filter(|r| !r.is_empty())
                        .unwrap_or_else(|| "us-east-1".to_owned()),
                },
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
            )
            .await
        }
    }
}

pub async fn test(
    State(state): State<Arc<AppState>>,
    viewer: Viewer,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, PageError> {
    viewer.check_csrf(&form.csrf)?;
    viewer.require_admin()?;
    let connection = state
        .store()
        .get_connection(viewer.org(), ConnectionId(id))
        .await?;
    let notice = match state
        .sync
        .test_connection(viewer.org(), connection.id)
        .await
    {
        Ok(check) => (
            "ok",
            format!("“{}” works: {}.", connection.name, check.summary),
        ),
        Err(err) => (
            "error",
            format!("“{}” failed its check: {err}", connection.name),
        ),
    };
    Ok(redirect_with(
        "/connections",
        vec![flash(&headers, notice.0, &notice.1)],
    ))
}

pub async fn sync_now(
    State(state): State<Arc<AppState>>,
    viewer: Viewer,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, PageError> {
    viewer.check_csrf(&form.csrf)?;
    viewer.require_admin()?;
    let connection = state
        .store()
        .get_connection(viewer.org(), ConnectionId(id))
        .await?;
    if !connection.has_credential {
        return Err(PageError::BadRequest(format!(
            "“{}” has no credential; add the connection again to sync it",
            connection.name
        )));
    }
    let org = viewer.org();
    let started = match state
        .sync
        .begin_sync(org, connection.id, None, SyncRequest::Manual)
        .await
    {
        Ok(started) => started,
        Err(err @ SyncError::AlreadyRunning { .. }) => {
            return Ok(redirect_with(
                "/sync-logs",
                vec![flash(&headers, "error", &format!("{err}."))],
            ));
        }
        Err(err) => return Err(err.into()),
    };
    let engine = state.sync.clone();
    tokio::spawn(async move {
        let stats = CallStats::default();
        if let Err(err) = engine.run_started(started, &stats).await {
            tracing::warn!(error = %err, "manual sync failed");
        }
    });
    Ok(redirect_with(
        "/sync-logs",
        vec![flash(
            &headers,
            "ok",
            "Sync started; it appears below and the page updates when it ends.",
        )],
    ))
}

#[derive(Template)]
#[template(path = "connection_remove.html")]
struct RemovePage {
    layout: Layout,
    csrf: String,
    id: i64,
    name: String,
    provider: &'static str,
    lines: String,
    days: String,
    span: String,
    cost: String,
    limited: bool,
    limit_days: i64,
}

/// The confirmation page: what deleting the connection would lose, with "disconnect, keep
/// data" as the first choice.
pub async fn confirm_remove(
    State(state): State<Arc<AppState>>,
    viewer: Viewer,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    viewer.require_admin()?;
    let connection = state
        .store()
        .get_connection(viewer.org(), ConnectionId(id))
        .await?;
    let holdings = state
        .store()
        .connection_holdings(viewer.org(), connection.id)
        .await?;
    let layout = Layout::new(&state, &viewer, &headers, "Connections", "/connections").await?;
    let limit = spendlens_query::history::history_limit_days(connection.provider);
    let template = RemovePage {
        csrf: layout.csrf.clone(),
        layout,
        id: connection.id.0,
        name: connection.name.clone(),
        provider: connection.provider.display_name(),
        lines: format::count(holdings.lines),
        days: format::count(holdings.days),
        span: match (holdings.first_day, holdings.last_day) {
            (Some(first), Some(last)) => format!("{first} – {last}"),
            _ => String::new(),
        },
        cost: format::money(holdings.cost),
        limited: limit.is_some(),
        limit_days: limit.unwrap_or(0),
    };
    respond(&template.layout, &headers, StatusCode::OK, &template)
}

#[derive(Debug, Deserialize)]
pub struct RemoveForm {
    #[serde(default)]
    pub csrf: String,
    /// Also delete everything synced through the connection.
    #[serde(default)]
    pub purge: Option<String>,
    /// `disconnect` to forget the credential; the connection's name to delete everything.
    #[serde(default)]
    pub confirm: Option<String>,
}

/// Removes a connection's credential ("disconnect, keep data") or deletes the connection
/// with its data — only with the confirmation the page above asks for.
pub async fn remove(
    State(state): State<Arc<AppState>>,
    viewer: Viewer,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Form(form): Form<RemoveForm>,
) -> Result<Response, PageError> {
    viewer.check_csrf(&form.csrf)?;
    viewer.require_admin()?;
    let connection = state
        .store()
        .get_connection(viewer.org(), ConnectionId(id))
        .await?;
    let purge = form.purge.as_deref() == Some("1");
    let confirm = form.confirm.as_deref().map(str::trim).unwrap_or_default();
    let confirmed = if purge {
        confirm == connection.name
    } else {
        confirm == "disconnect"
    };
    let back = format!("/connections/{}/remove", connection.id.0);
    if !confirmed {
        let message = if purge && !confirm.is_empty() {
            format!(
                "Nothing was deleted: “{confirm}” is not the connection's name. Type {} exactly to delete it.",
                connection.name
            )
        } else {
            "Nothing was removed yet: confirm below, where what would be lost is listed.".to_owned()
        };
        return Ok(redirect_with(
            &back,
            vec![flash(&headers, "warn", &message)],
        ));
    }
    let holdings = state
        .store()
        .connection_holdings(viewer.org(), connection.id)
        .await?;
    let lost = holdings.describe();
    let actor = viewer.actor();
    let actor = Actor {
        name: &actor,
        at: state.now(),
    };
    let message = if purge {
        state
            .store()
            .delete_connection(
                viewer.org(),
                connection.id,
                actor,
                &format!("deleted {lost}"),
            )
            .await?;
        format!(
            "Deleted “{}” and everything synced through it ({lost}).",
            connection.name
        )
    } else {
        state
            .store()
            .remove_credential(viewer.org(), connection.id, actor, &format!("kept {lost}"))
            .await?;
        format!(
            "Disconnected “{}”: its credential is erased; its history ({lost}) stays.",
            connection.name
        )
    };
    Ok(redirect_with(
        "/connections",
        vec![flash(&headers, "ok", &message)],
    ))
}
