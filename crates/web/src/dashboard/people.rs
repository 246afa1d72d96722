//! Managing people from the Users page (admins): disable and enable a user (signing them out
//! everywhere), remove one after a confirmation that names them, and list and end sessions —
//! any user may see and end their own. Every change is audited; the last active admin stays.

use std::sync::Arc;

use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use spendlens_store::{Actor, SessionInfo, Store, StoreError, UserRow};

use crate::AppState;
use crate::dashboard::error::PageError;
use crate::dashboard::session::{SESSION_COOKIE, Viewer, cookie, flash, redirect_with};
use crate::dashboard::{Layout, format, respond};

/// A user's id in a path, checked against the viewer's organization.
async fn user(state: &AppState, viewer: &Viewer, id: i64) -> Result<UserRow, PageError> {
    Ok(state.store().get_user(viewer.org(), id).await?)
}

/// What a refused change says on the Users page (the last admin, say).
fn refused(headers: &HeaderMap, err: StoreError) -> Result<Response, PageError> {
    match err {
        StoreError::Conflict(message) => Ok(redirect_with(
            "/users",
            vec![flash(
                headers,
                "error",
                &crate::dashboard::session::capitalize(&message),
            )],
        )),
        other => Err(other.into()),
    }
}

#[derive(Debug, Deserialize)]
pub struct CsrfOnly {
    #[serde(default)]
    pub csrf: String,
}

/// `POST /users/{id}/disable`.
pub async fn disable(
    State(state): State<Arc<AppState>>,
    viewer: Viewer,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Form(form): Form<CsrfOnly>,
) -> Result<Response, PageError> {
    set_disabled(state, viewer, headers, id, form, true).await
}

/// `POST /users/{id}/enable`.
pub async fn enable(
    State(state): State<Arc<AppState>>,
    viewer: Viewer,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Form(form): Form<CsrfOnly>,
) -> Result<Response, PageError> {
    set_disabled(state, viewer, headers, id, form, false).await
}

async fn set_disabled(
    state: Arc<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    id: i64,
    form: CsrfOnly,
    disabled: bool,
) -> Result<Response, PageError> {
    viewer.check_csrf(&form.csrf)?;
    viewer.require_admin()?;
    let target = user(&state, &viewer, id).await?;
    if disabled && target.id == viewer.user().id {
        return Ok(redirect_with(
            "/users",
            vec![flash(
                &headers,
                "error",
                "You cannot disable your own account; ask another admin.",
            )],
        ));
    }
    let actor = viewer.actor();
    let actor = spendlens_store::Actor {
        name: &actor,
        at: state.now(),
    };
    let changed = match state
        .store()
        .set_user_disabled(viewer.org(), id, disabled, actor)
        .await
    {
        Ok(changed) => changed,
        Err(err) => return refused(&headers, err),
    };
    let message = if disabled {
        format!(
            "Disabled {}: signed out everywhere, and cannot sign in until enabled again.",
            changed.email
        )
    } else {
        format!("Enabled {}: they can sign in again.", changed.email)
    };
    Ok(redirect_with(
        "/users",
        vec![flash(&headers, "ok", &message)],
    ))
}

#[derive(Template)]
#[template(path = "user_remove.html")]
struct RemovePage {
    layout: Layout,
    id: i64,
    email: String,
    role: String,
    sessions: usize,
    error: Option<String>,
}

/// `GET /users/{id}/remove`: what removing the user means, and the confirmation form.
pub async fn confirm_remove(
    State(state): State<Arc<AppState>>,
    viewer: Viewer,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    viewer.require_admin()?;
    show_remove(&state, &viewer, &headers, id, None, StatusCode::OK).await
}

async fn show_remove(
    state: &AppState,
    viewer: &Viewer,
    headers: &HeaderMap,
    id: i64,
    error: Option<String>,
    status: StatusCode,
) -> Result<Response, PageError> {
    let target = user(state, viewer, id).await?;
    let sessions = state
        .store()
        .list_sessions(viewer.org(), id, state.now())
        .await?
        .len();
    let layout = Layout::new(state, viewer, headers, "Remove a user", "/users").await?;
    let page = RemovePage {
        layout,
        id,
        email: target.email,
        role: target.role.to_string(),
        sessions,
        error,
    };
    respond(&page.layout, headers, status, &page)
}

#[derive(Debug, Deserialize)]
pub struct RemoveForm {
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub confirm: String,
}

/// `POST /users/{id}/remove`: only with the user's email typed in.
pub async fn remove(
    State(state): State<Arc<AppState>>,
    viewer: Viewer,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Form(form): Form<RemoveForm>,
) -> Result<Response, PageError> {
    viewer.check_csrf(&form.csrf)?;
    viewer.require_admin()?;
    let target = user(&state, &viewer, id).await?;
    if target.id == viewer.user().id {
        return Ok(redirect_with(
            "/users",
            vec![flash(
                &headers,
                "error",
                "You cannot remove your own account; ask another admin.",
            )],
        ));
    }
    if !form.confirm.trim().eq_ignore_ascii_case(&target.email) {
        return show_remove(
            &state,
            &viewer,
            &headers,
            id,
            Some(format!(
                "Type {} exactly to confirm; nothing was removed.",
                target.email
            )),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    let actor = viewer.actor();
    let actor = Actor {
        name: &actor,
        at: state.now(),
    };
    let removed = match state.store().remove_user(viewer.org(), id, actor).await {
        Ok(removed) => removed,
        Err(err) => return refused(&headers, err),
    };
    Ok(redirect_with(
        "/users",
        vec![flash(
            &headers,
            "ok",
            &format!(
                "Removed {}; the audit log keeps what they did.",
                removed.email
            ),
        )],
    ))
}

pub struct SessionView {
    pub id: String,
    pub started: String,
    pub last_seen: String,
    pub expires: String,
    pub current: bool,
}

#[derive(Template)]
#[template(path = "user_sessions.html")]
struct SessionsPage {
    layout: Layout,
    id: i64,
    email: String,
    rows: Vec<SessionView>,
}

/// Admins see anyone's sessions; everyone sees their own.
fn may_manage(viewer: &Viewer, id: i64) -> Result<(), PageError> {
    if viewer.user().id == id {
        Ok(())
    } else {
        viewer.require_admin()
    }
}

fn view(session: SessionInfo, current: &str) -> SessionView {
    SessionView {
        current: session.id == current,
        started: format::instant(Some(session.created_at)),
        last_seen: format::instant(Some(session.last_seen_at)),
        expires: format::instant(Some(session.expires_at)),
        id: session.id,
    }
}

/// `GET /users/{id}/sessions`.
pub async fn sessions(
    State(state): State<Arc<AppState>>,
    viewer: Viewer,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    may_manage(&viewer, id)?;
    let target = user(&state, &viewer, id).await?;
    let current = cookie(&headers, SESSION_COOKIE)
        .map(|c| Store::session_id_of(&c))
        .unwrap_or_default();
    let rows = state
        .store()
        .list_sessions(viewer.org(), id, state.now())
        .await?
        .into_iter()
        .map(|s| view(s, &current))
        .collect();
    let layout = Layout::new(&state, &viewer, &headers, "Sessions", "/users").await?;
    let page = SessionsPage {
        layout,
        id,
        email: target.email,
        rows,
    };
    respond(&page.layout, &headers, StatusCode::OK, &page)
}

#[derive(Debug, Deserialize)]
pub struct RevokeForm {
    #[serde(default)]
    pub csrf: String,
    /// One session's id, or empty for all of them.
    #[serde(default)]
    pub session: String,
}

/// `POST /users/{id}/sessions/revoke`: one session, or all when none is named.
pub async fn revoke(
    State(state): State<Arc<AppState>>,
    viewer: Viewer,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Form(form): Form<RevokeForm>,
) -> Result<Response, PageError> {
    viewer.check_csrf(&form.csrf)?;
    may_manage(&viewer, id)?;
    let target = user(&state, &viewer, id).await?;
    let one = Some(form.session.trim()).filter(|s| !s.is_empty());
    let actor = viewer.actor();
    let actor = spendlens_store::Actor {
        name: &actor,
        at: state.now(),
    };
    let ended = state
        .store()
        .revoke_sessions(viewer.org(), id, one, actor)
        .await?;
    let back = format!("/users/{id}/sessions");
    Ok(redirect_with(
        &back,
        vec![flash(
            &headers,
            "ok",
            &format!(
                "Ended {ended} session{} of {}.",
                if ended == 1 { "" } else { "s" },
                target.email
            ),
        )],
    ))
}
