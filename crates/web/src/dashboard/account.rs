//! A user's role and password from the dashboard: admins change another user's role (never
//! the last active admin's) and set a new password for them (ending their sessions); everyone
//! changes their own password with the current one (ending their other sessions). Every change
//! is audited; a form's error is said at its top with what was typed kept (never a password).
//! Wrong current passwords count against the same throttle as failed sign-ins, so a stolen
//! session cannot be used to guess the password at full speed.

use std::sync::Arc;

use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use serde::Deserialize;
use spendlens_store::{Role, Store, StoreError};

use crate::AppState;
use crate::client::ClientAddr;
use crate::dashboard::error::PageError;
use crate::dashboard::session::{
    AnyUser, SESSION_COOKIE, Viewer, capitalize, check_new_password, cookie, flash, redirect_with,
    seconds_until, when,
};
use crate::dashboard::throttle::Verdict;
use crate::dashboard::{Layout, respond};

#[derive(Debug, Deserialize)]
pub struct RoleForm {
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub role: String,
    /// The customer a tenant is bound to (only with the tenant role).
    #[serde(default)]
    pub customer: String,
}

/// `POST /users/{id}/role`.
pub async fn set_role(
    State(state): State<Arc<AppState>>,
    viewer: Viewer,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Form(form): Form<RoleForm>,
) -> Result<Response, PageError> {
    viewer.check_csrf(&form.csrf)?;
    viewer.require_admin()?;
    let target = state.store().get_user(viewer.org(), id).await?;
    let back = |kind: &str, message: &str| {
        Ok(redirect_with(
            "/users",
            vec![flash(&headers, kind, message)],
        ))
    };
    if target.id == viewer.user().id {
        return back(
            "error",
            "You cannot change your own role; ask another admin.",
        );
    }
    let role: Role = match form.role.parse() {
        Ok(role) => role,
        Err(_) => return back("error", "Choose admin, viewer or tenant."),
    };
    let customer = (role == Role::Tenant).then_some(form.customer.as_str());
    let wanted = match spendlens_domain::tenant::binding(role, customer) {
        Ok(customer) => customer,
        Err(err) => {
            return back(
                "error",
                &format!(
                    "Nothing changed for {}: {}.",
                    target.email,
                    capitalize(&err.to_string())
                ),
            );
        }
    };
    if role == target.role && wanted == target.customer {
        return back(
            "ok",
            &format!(
                "{} is already {}; nothing changed.",
                target.email,
                access_text(role, wanted.as_deref())
            ),
        );
    }
    let actor = viewer.actor();
    let actor = spendlens_store::Actor {
        name: &actor,
        at: state.now(),
    };
    let changed = match state
        .store()
        .set_user_access(viewer.org(), id, role, wanted.as_deref(), actor)
        .await
    {
        Ok(changed) => changed,
        Err(StoreError::Conflict(message) | StoreError::Invalid(message)) => {
            return back("error", &capitalize(&message));
        }
        Err(other) => return Err(other.into()),
    };
    back(
        "ok",
        &format!(
            "{} is now {}{}.",
            changed.email,
            access_text(changed.role, changed.customer.as_deref()),
            match changed.role {
                Role::Admin => " (everything)",
                Role::Viewer => " (read and export only)",
                Role::Tenant => " (that customer's portal only)",
            }
        ),
    )
}

/// `viewer`, `admin`, or `tenant of acme`.
pub use spendlens_store::access_text;

#[derive(Template)]
#[template(path = "user_password.html")]
struct PasswordPage {
    layout: Layout,
    /// Where the form posts.
    action: String,
    email: String,
    /// Changing one's own password asks for the current one.
    own: bool,
    error: Option<String>,
}

async fn show(
    state: &AppState,
    viewer: &Viewer,
    headers: &HeaderMap,
    target: Option<(i64, String)>,
    error: Option<String>,
    status: StatusCode,
) -> Result<Response, PageError> {
    let (action, email, own) = match target {
        Some((id, email)) => (format!("/users/{id}/password"), email, false),
        None => (
            "/account/password".to_owned(),
            viewer.user().email.clone(),
            true,
        ),
    };
    let layout = Layout::new(state, viewer, headers, "Change a password", "/users").await?;
    let page = PasswordPage {
        layout,
        action,
        email,
        own,
        error,
    };
    respond(&page.layout, headers, status, &page)
}

#[derive(Debug, Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub current: String,
    #[serde(default)]
    pub password: String,
    #[serde(default)]
    pub password_confirm: String,
}

/// `GET /account/password`: change your own.
pub async fn own_form(
    State(state): State<Arc<AppState>>,
    AnyUser(viewer): AnyUser,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    show(&state, &viewer, &headers, None, None, StatusCode::OK).await
}

/// `POST /account/password`: the current password, then the new one twice. Other browsers
/// are signed out; this one stays.
pub async fn change_own(
    State(state): State<Arc<AppState>>,
    AnyUser(viewer): AnyUser,
    client: ClientAddr,
    headers: HeaderMap,
    Form(form): Form<PasswordForm>,
) -> Result<Response, PageError> {
    viewer.check_csrf(&form.csrf)?;
    let me = viewer.user().clone();
    let now = state.now();
    if let Verdict::Wait { until, locked } = state.logins.check(&me.email, client.0, now) {
        tracing::warn!(target: "spendlens::access", email = ?me.email, client = %client, locked, "password change refused: too many wrong current passwords");
        let why = if locked {
            "This account is locked after too many wrong passwords"
        } else {
            "Too many wrong passwords"
        };
        let mut response = show(
            &state,
            &viewer,
            &headers,
            None,
            Some(format!(
                "{why}; nothing changed. Try again after {}.",
                when(until, now)
            )),
            StatusCode::TOO_MANY_REQUESTS,
        )
        .await?;
        if let Ok(value) = HeaderValue::from_str(&seconds_until(until, now).to_string()) {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        return Ok(response);
    }
    let hash = state
        .store()
        .user_password_hash(viewer.org(), me.id)
        .await?;
    let problem = if !state
        .hasher
        .verify(form.current.clone(), Some(hash))
        .await?
    {
        let failure = state.logins.record_failure(&me.email, client.0, now);
        tracing::warn!(target: "spendlens::access", email = ?me.email, client = %client, failures = failure.failures, "password change: wrong current password");
        state
            .store()
            .audit(
                viewer.org(),
                &viewer.actor(),
                "user.password.failed",
                &me.email,
                &format!(
                    "wrong current password from {client}; failure {} in a row",
                    failure.failures
                ),
                now,
            )
            .await?;
        Some("The current password is not right; nothing changed.".to_owned())
    } else if form.current == form.password {
        Some("The new password is the current one; choose another.".to_owned())
    } else {
        check_new_password(&form.password, &form.password_confirm, &me.email)
            .err()
            .map(|e| capitalize(&e))
    };
    if let Some(problem) = problem {
        return show(
            &state,
            &viewer,
            &headers,
            None,
            Some(problem),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    state.logins.record_success(&me.email);
    let hash = state.hasher.hash(form.password.clone()).await?;
    let keep = cookie(&headers, SESSION_COOKIE).map(|c| Store::session_id_of(&c));
    let actor = viewer.actor();
    let actor = spendlens_store::Actor {
        name: &actor,
        at: state.now(),
    };
    let ended = state
        .store()
        .set_user_password(
            viewer.org(),
            me.id,
            &hash,
            keep.as_deref(),
            actor,
            |ended| format!("changed by the user; {ended} other session(s) ended"),
        )
        .await?;
    // A tenant's own sessions page is outside their portal: they go back to it.
    let back = if viewer.is_tenant() {
        crate::dashboard::session::PORTAL.to_owned()
    } else {
        format!("/users/{}/sessions", me.id)
    };
    Ok(redirect_with(
        &back,
        vec![flash(
            &headers,
            "ok",
            &format!(
                "Password changed. {ended} other session{} signed out; this browser stays signed in.",
                if ended == 1 { "" } else { "s" }
            ),
        )],
    ))
}

/// `GET /users/{id}/password`: an admin sets a new password for someone else.
pub async fn reset_form(
    State(state): State<Arc<AppState>>,
    viewer: Viewer,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    viewer.require_admin()?;
    if id == viewer.user().id {
        return Ok(redirect_with("/account/password", Vec::new()));
    }
    let target = state.store().get_user(viewer.org(), id).await?;
    show(
        &state,
        &viewer,
        &headers,
        Some((id, target.email)),
        None,
        StatusCode::OK,
    )
    .await
}

/// `POST /users/{id}/password`: the new password twice; all their sessions end.
pub async fn reset(
    State(state): State<Arc<AppState>>,
    viewer: Viewer,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Form(form): Form<PasswordForm>,
) -> Result<Response, PageError> {
    viewer.check_csrf(&form.csrf)?;
    viewer.require_admin()?;
    if id == viewer.user().id {
        return Ok(redirect_with("/account/password", Vec::new()));
    }
    let target = state.store().get_user(viewer.org(), id).await?;
    if let Err(problem) = check_new_password(&form.password, &form.password_confirm, &target.email)
    {
        return show(
            &state,
            &viewer,
            &headers,
            Some((id, target.email)),
            Some(capitalize(&problem)),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    let hash = state.hasher.hash(form.password.clone()).await?;
    let actor = viewer.actor();
    let actor = spendlens_store::Actor {
        name: &actor,
        at: state.now(),
    };
    let ended = state
        .store()
        .set_user_password(viewer.org(), id, &hash, None, actor, |ended| {
            format!("set by an admin; {ended} session(s) ended")
        })
        .await?;
    Ok(redirect_with(
        "/users",
        vec![flash(
            &headers,
            "ok",
            &format!(
                "New password set for {}; {ended} open session{} ended. Tell them the password another way than email.",
                target.email,
                if ended == 1 { "" } else { "s" }
            ),
        )],
    ))
}
