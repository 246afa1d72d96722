//! API tokens from the dashboard (admins): the list (name, first characters, scopes, created,
//! last used, expiry, state), creating one with scopes and an expiry — its secret shown once,
//! on the answer to the form, never stored — and revoking one after a confirmation naming what
//! stops working. Every change is audited, as from the CLI.

use std::sync::Arc;

use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use serde::Deserialize;
use spendlens_domain::{Scope, Scopes};
use spendlens_store::{Actor, ApiTokenRow, StoreError};

use crate::AppState;
use crate::dashboard::error::PageError;
use crate::dashboard::session::{Viewer, capitalize, flash, redirect_with};
use crate::dashboard::{Layout, format, respond};

/// Expiry choices of the form, in days (`0`: never).
const EXPIRY_DAYS: [(i64, &str); 5] = [
    (30, "in 30 days"),
    (90, "in 90 days"),
    (365, "in a year"),
    (7, "in 7 days"),
    (0, "never"),
];

pub struct TokenView {
    pub id: i64,
    pub name: String,
    pub prefix: String,
    pub scopes: String,
    pub created: String,
    pub last_used: String,
    pub expires: String,
    pub state: &'static str,
    pub active: bool,
}

fn view(token: &ApiTokenRow, now: time::OffsetDateTime) -> TokenView {
    let state = match (token.revoked_at, token.expires_at) {
        (Some(_), _) => "revoked",
        (None, Some(at)) if at <= now => "expired",
        _ => "active",
    };
    TokenView {
        id: token.id,
        name: token.name.clone(),
        prefix: format!("{}…", token.prefix),
        scopes: token.scopes.to_string(),
        created: format::instant(Some(token.created_at)),
        last_used: token
            .last_used_at
            .map_or_else(|| "never".to_owned(), |at| format::instant(Some(at))),
        expires: token
            .expires_at
            .map_or_else(|| "never".to_owned(), |at| format::instant(Some(at))),
        state,
        active: state == "active",
    }
}

pub struct Choice {
    pub value: i64,
    pub label: &'static str,
    pub selected: bool,
}

#[derive(Template)]
#[template(path = "tokens.html")]
struct TokensPage {
    layout: Layout,
    rows: Vec<TokenView>,
    form_name: String,
    form_scopes: Vec<(&'static str, &'static str, bool)>,
    expiry: Vec<Choice>,
    error: Option<String>,
    /// The token just created: shown on this answer only.
    created: Option<Created>,
}

pub struct Created {
    pub name: String,
    pub secret: String,
    pub scopes: String,
    pub expires: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct CreateForm {
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub scope_connections: Option<String>,
    #[serde(default)]
    pub scope_sync: Option<String>,
    #[serde(default)]
    pub scope_admin: Option<String>,
    #[serde(default)]
    pub expires_in_days: Option<String>,
}

impl CreateForm {
    fn scopes(&self) -> Scopes {
        let mut scopes = vec![Scope::Read];
        for (on, scope) in [
            (&self.scope_connections, Scope::Connections),
            (&self.scope_sync, Scope::Sync),
            (&self.scope_admin, Scope::Admin),
        ] {
            if on.is_some() {
                scopes.push(scope);
            }
        }
        Scopes::of(scopes)
    }

    fn days(&self) -> Result<i64, String> {
        let text = self.expires_in_days.as_deref().unwrap_or("30").trim();
        text.parse::<i64>()
            .ok()
            .filter(|d| (0..=3650).contains(d))
            .ok_or_else(|| {
                format!(
                    "the expiry must be a number of days from 0 (never) to 3650, not \"{text}\""
                )
            })
    }
}

async fn show(
    state: &AppState,
    viewer: &Viewer,
    headers: &HeaderMap,
    form: &CreateForm,
    error: Option<String>,
    created: Option<Created>,
    status: StatusCode,
) -> Result<Response, PageError> {
    let now = state.now();
    let rows = state
        .store()
        .list_api_tokens(viewer.org())
        .await?
        .iter()
        .rev()
        .map(|t| view(t, now))
        .collect();
    let scopes = form.scopes();
    let days = form.days().unwrap_or(30);
    let layout = Layout::new(state, viewer, headers, "API tokens", "/users").await?;
    let page = TokensPage {
        layout,
        rows,
        form_name: if created.is_some() {
            String::new()
        } else {
            form.name.clone()
        },
        form_scopes: vec![
            (
                "scope_connections",
                "connections: add, test and remove connections",
                scopes.allows(Scope::Connections) && !scopes.allows(Scope::Admin),
            ),
            (
                "scope_sync",
                "sync: start syncs",
                scopes.allows(Scope::Sync) && !scopes.allows(Scope::Admin),
            ),
            (
                "scope_admin",
                "admin: everything, including base-URL overrides",
                scopes.allows(Scope::Admin),
            ),
        ],
        expiry: EXPIRY_DAYS
            .iter()
            .map(|(value, label)| Choice {
                value: *value,
                label,
                selected: *value == days,
            })
            .collect(),
        error,
        created,
    };
    let mut response = respond(&page.layout, headers, status, &page)?;
    // The page may carry a secret: never kept by a cache or the back button.
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// `GET /tokens`.
pub async fn page(
    State(state): State<Arc<AppState>>,
    viewer: Viewer,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    viewer.require_admin()?;
    show(
        &state,
        &viewer,
        &headers,
        &CreateForm::default(),
        None,
        None,
        StatusCode::OK,
    )
    .await
}

/// `POST /tokens`: creates a token and shows its secret, once.
pub async fn create(
    State(state): State<Arc<AppState>>,
    viewer: Viewer,
    headers: HeaderMap,
    Form(form): Form<CreateForm>,
) -> Result<Response, PageError> {
    viewer.check_csrf(&form.csrf)?;
    viewer.require_admin()?;
    let now = state.now();
    let days = match form.days() {
        Ok(days) => days,
        Err(problem) => {
            return show(
                &state,
                &viewer,
                &headers,
                &form,
                Some(capitalize(&problem)),
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
    };
    let scopes = form.scopes();
    let expires_at = (days > 0).then(|| now + time::Duration::days(days));
    let actor = viewer.actor();
    let actor = spendlens_store::Actor {
        name: &actor,
        at: now,
    };
    let token = match state
        .store()
        .create_scoped_api_token(viewer.org(), &form.name, scopes, expires_at, actor)
        .await
    {
        Ok(token) => token,
        Err(StoreError::Invalid(problem)) => {
            return show(
                &state,
                &viewer,
                &headers,
                &form,
                Some(capitalize(&problem)),
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
        Err(other) => return Err(other.into()),
    };
    let name = form.name.trim().to_owned();
    let created = Created {
        name,
        secret: token.secret,
        scopes: scopes.to_string(),
        expires: expires_at.map_or_else(|| "never".to_owned(), |at| format::instant(Some(at))),
    };
    show(
        &state,
        &viewer,
        &headers,
        &CreateForm::default(),
        None,
        Some(created),
        StatusCode::CREATED,
    )
    .await
}

#[derive(Template)]
#[template(path = "token_revoke.html")]
struct RevokePage {
    layout: Layout,
    token: TokenView,
}

async fn token(state: &AppState, viewer: &Viewer, id: i64) -> Result<TokenView, PageError> {
    let now = state.now();
    state
        .store()
        .list_api_tokens(viewer.org())
        .await?
        .iter()
        .find(|t| t.id == id)
        .map(|t| view(t, now))
        .ok_or_else(|| PageError::NotFound(format!("API token {id}")))
}

/// `GET /tokens/{id}/revoke`: what revoking stops, and the confirmation.
pub async fn confirm_revoke(
    State(state): State<Arc<AppState>>,
    viewer: Viewer,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    viewer.require_admin()?;
    let token = token(&state, &viewer, id).await?;
    let layout = Layout::new(&state, &viewer, &headers, "Revoke an API token", "/users").await?;
    let page = RevokePage { layout, token };
    respond(&page.layout, &headers, StatusCode::OK, &page)
}

#[derive(Debug, Deserialize)]
pub struct RevokeForm {
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub confirm: String,
}

/// `POST /tokens/{id}/revoke`: only from the confirmation page.
pub async fn revoke(
    State(state): State<Arc<AppState>>,
    viewer: Viewer,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Form(form): Form<RevokeForm>,
) -> Result<Response, PageError> {
    viewer.check_csrf(&form.csrf)?;
    viewer.require_admin()?;
    let token = token(&state, &viewer, id).await?;
    if form.confirm != "revoke" {
        return Err(PageError::BadRequest(format!(
            "Revoking \"{}\" needs the confirmation page: /tokens/{id}/revoke",
            token.name
        )));
    }
    let now = state.now();
    let actor = viewer.actor();
    let actor = Actor {
        name: &actor,
        at: now,
    };
    match state.revoke_api_token(viewer.org(), id, actor).await {
        Ok(()) => {}
        Err(StoreError::NotFound { .. }) => {
            return Ok(redirect_with(
                "/tokens",
                vec![flash(
                    &headers,
                    "error",
                    &format!("\"{}\" was already revoked.", token.name),
                )],
            ));
        }
        Err(other) => return Err(other.into()),
    }
    Ok(redirect_with(
        "/tokens",
        vec![flash(
            &headers,
            "ok",
            &format!(
                "Revoked \"{}\" ({}): scripts using it are refused from now on.",
                token.name, token.prefix
            ),
        )],
    ))
}
