//! A connection's new key (`POST /connections/{id}/credential`): a rotated key, or one that
//! resumes a disconnected connection. The key goes through the same shape check and live call as
//! a new connection's and is saved only when both pass; the connection keeps its id and history,
//! so resuming never counts the same bill twice under a second connection.

use std::sync::Arc;

use axum::Form;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde::Deserialize;
use spendlens_domain::ProviderKind;
use spendlens_store::ConnectionId;
use spendlens_sync::connections::AddConnectionError;

use crate::AppState;
use crate::dashboard::error::PageError;
use crate::dashboard::session::{Viewer, capitalize, flash, redirect_with};

#[derive(Debug, Deserialize)]
pub struct KeyForm {
    #[serde(default)]
    pub csrf: String,
    #[serde(flatten)]
    pub key: super::aws_form::PostedKey,
}

pub async fn replace(
    State(state): State<Arc<AppState>>,
    viewer: Viewer,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Form(form): Form<KeyForm>,
) -> Result<Response, PageError> {
    viewer.check_csrf(&form.csrf)?;
    viewer.require_admin()?;
    let org = viewer.org();
    let connection = state.store().get_connection(org, ConnectionId(id)).await?;
    let page = format!("/connections/{id}");
    let secret = form
        .key
        .secret(connection.provider == ProviderKind::Bedrock)?;
    let actor = viewer.actor();
    let actor = spendlens_store::Actor {
        name: &actor,
        at: state.now(),
    };
    let notice = match state
        .sync
        .replace_credential_as(org, connection.id, &secret, actor)
        .await
    {
        Ok((row, check)) => (
            "ok",
            format!(
                "“{}” has its new key ({}): {}. It syncs again on schedule, or now with Sync now.",
                row.name,
                row.credential_hint.as_deref().unwrap_or("hidden"),
                check.summary
            ),
        ),
        Err(AddConnectionError::Store(err)) => return Err(PageError::Internal(err.to_string())),
        Err(other) => ("error", capitalize(&other.key_not_changed())),
    };
    Ok(redirect_with(
        &format!("{page}#replace-key"),
        vec![flash(&headers, notice.0, &notice.1)],
    ))
}
