//! The Connections page's "SDK keys" section: ingest keys with name, masked key, created and
//! last used; create (the secret is shown once, with a copy button), regenerate and revoke, each
//! after a confirmation page that says what stops working. Every change is audited.

use std::sync::Arc;

use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use spendlens_store::{Actor, IngestKeyRow, OrgId};

use crate::AppState;
use crate::dashboard::error::PageError;
use crate::dashboard::session::{Viewer, flash, redirect_with};
use crate::dashboard::{Layout, format, respond};

/// One key as the page lists it.
pub struct KeyRow {
    pub id: i64,
    pub name: String,
    pub hint: String,
    pub created: String,
    pub last_used: String,
    pub revoked: bool,
    pub status: String,
}

/// A key whose secret this response shows, once.
pub struct ShownSecret {
    pub name: String,
    pub secret: String,
    pub regenerated: bool,
}

fn row(key: &IngestKeyRow) -> KeyRow {
    KeyRow {
        id: key.id,
        name: key.name.clone(),
        hint: key.hint.clone(),
        created: format::instant(Some(key.created_at)),
        last_used: format::instant(key.last_used_at),
        revoked: key.revoked_at.is_some(),
        status: match (key.revoked_at, key.regenerated_at) {
            (Some(at), _) => format!("revoked {}", format::instant(Some(at))),
            (None, Some(at)) => format!("active (regenerated {})", format::instant(Some(at))),
            (None, None) => "active".to_owned(),
        },
    }
}

/// The organization's keys for the page, newest first.
pub async fn rows(state: &AppState, org: OrgId) -> Result<Vec<KeyRow>, PageError> {
    Ok(state
        .store()
        .list_ingest_keys(org)
        .await?
        .iter()
        .map(row)
        .collect())
}

#[derive(Debug, Deserialize)]
pub struct CreateForm {
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub name: String,
}

/// `POST /ingest-keys`: creates a key and shows its secret on the Connections page, once.
pub async fn create(
    State(state): State<Arc<AppState>>,
    viewer: Viewer,
    headers: HeaderMap,
    Form(form): Form<CreateForm>,
) -> Result<Response, PageError> {
    viewer.check_csrf(&form.csrf)?;
    viewer.require_admin()?;
    let name = viewer.actor();
    let actor = Actor {
        name: &name,
        at: state.now(),
    };
    let new = match state
        .store()
        .create_ingest_key(viewer.org(), &form.name, actor)
        .await
    {
        Ok(new) => new,
        Err(spendlens_store::StoreError::Invalid(message)) => {
            return Ok(redirect_with(
                "/connections#sdk-keys",
                vec![flash(
                    &headers,
                    "error",
                    &crate::dashboard::session::capitalize(&message),
                )],
            ));
        }
        Err(other) => return Err(other.into()),
    };
    super::connections::page_with_secret(
        &state,
        &viewer,
        &headers,
        ShownSecret {
            name: new.key.name,
            secret: new.secret,
            regenerated: false,
        },
    )
    .await
}

/// What a confirmed action does to a key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Action {
    Regenerate,
    Revoke,
}

impl Action {
    fn parse(text: &str) -> Result<Action, PageError> {
        match text {
            "regenerate" => Ok(Action::Regenerate),
            "revoke" => Ok(Action::Revoke),
            _ => Err(PageError::NotFound(format!("action \"{text}\""))),
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Action::Regenerate => "regenerate",
            Action::Revoke => "revoke",
        }
    }
}

#[derive(Template)]
#[template(path = "ingest_key_confirm.html")]
struct ConfirmPage {
    layout: Layout,
    csrf: String,
    id: i64,
    name: String,
    hint: String,
    last_used: String,
    action: &'static str,
}

/// `GET /ingest-keys/{id}/{action}`: what regenerating or revoking would stop, and the button.
pub async fn confirm(
    State(state): State<Arc<AppState>>,
    viewer: Viewer,
    headers: HeaderMap,
    Path((id, action)): Path<(i64, String)>,
) -> Result<Response, PageError> {
    viewer.require_admin()?;
    let action = Action::parse(&action)?;
    let key = state.store().get_ingest_key(viewer.org(), id).await?;
    if key.revoked_at.is_some() {
        return Ok(redirect_with(
            "/connections#sdk-keys",
            vec![flash(
                &headers,
                "warn",
                &format!("The ingest key “{}” is already revoked.", key.name),
            )],
        ));
    }
    let layout = Layout::new(&state, &viewer, &headers, "Connections", "/connections").await?;
    let template = ConfirmPage {
        csrf: layout.csrf.clone(),
        layout,
        id: key.id,
        name: key.name,
        hint: key.hint,
        last_used: format::instant(key.last_used_at),
        action: action.as_str(),
    };
    respond(&template.layout, &headers, StatusCode::OK, &template)
}

#[derive(Debug, Deserialize)]
pub struct ActionForm {
    #[serde(default)]
    pub csrf: String,
    /// Must repeat the action: a stray POST does nothing.
    #[serde(default)]
    pub confirm: String,
}

/// `POST /ingest-keys/{id}/{action}`: does it, once confirmed.
pub async fn act(
    State(state): State<Arc<AppState>>,
    viewer: Viewer,
    headers: HeaderMap,
    Path((id, action)): Path<(i64, String)>,
    Form(form): Form<ActionForm>,
) -> Result<Response, PageError> {
    viewer.check_csrf(&form.csrf)?;
    viewer.require_admin()?;
    let action = Action::parse(&action)?;
    if form.confirm != action.as_str() {
        return Ok(redirect_with(
            &format!("/ingest-keys/{id}/{}", action.as_str()),
            vec![flash(
                &headers,
                "warn",
                "Nothing was changed yet: confirm below, where what stops working is listed.",
            )],
        ));
    }
    let now = state.now();
    let org = viewer.org();
    // An unknown key is a page not found, whatever the action.
    state.store().get_ingest_key(org, id).await?;
    match action {
        Action::Regenerate => {
            let actor = viewer.actor();
            let actor = Actor {
                name: &actor,
                at: now,
            };
            let new = state.regenerate_ingest_key(org, id, actor).await?;
            super::connections::page_with_secret(
                &state,
                &viewer,
                &headers,
                ShownSecret {
                    name: new.key.name,
                    secret: new.secret,
                    regenerated: true,
                },
            )
            .await
        }
        Action::Revoke => {
            let actor = viewer.actor();
            let actor = Actor {
                name: &actor,
                at: now,
            };
            let key = state.revoke_ingest_key(org, id, actor).await?;
            Ok(redirect_with(
                "/connections#sdk-keys",
                vec![flash(
                    &headers,
                    "ok",
                    &format!(
                        "Revoked “{}” ({}): events sent with it are refused from now on; those already stored stay.",
                        key.name, key.hint
                    ),
                )],
            ))
        }
    }
}
