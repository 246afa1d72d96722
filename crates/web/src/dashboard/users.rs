//! Users (admins only): who can sign in, with which role, and adding people — admins change
//! everything, viewers read and export, a tenant sees only the portal of the one customer
//! they are bound to.

use std::sync::Arc;

use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use spendlens_store::Role;

use crate::AppState;
use crate::dashboard::account::access_text;
use crate::dashboard::error::PageError;
use crate::dashboard::session::{Viewer, capitalize, check_new_password, flash, redirect_with};
use crate::dashboard::{Layout, format, respond};

pub struct Row {
    pub id: i64,
    pub is_me: bool,
    pub disabled: bool,
    pub email: String,
    pub role: String,
    /// The customer a tenant is bound to (empty for admins and viewers).
    pub customer: String,
    pub created: String,
    pub last_login: String,
}

#[derive(Template)]
#[template(path = "users.html")]
struct UsersPage {
    layout: Layout,
    rows: Vec<Row>,
    form_email: String,
    form_customer: String,
    form_error: Option<String>,
}

async fn show(
    state: &AppState,
    viewer: &Viewer,
    headers: &HeaderMap,
    email: String,
    customer: String,
    error: Option<String>,
    status: StatusCode,
) -> Result<Response, PageError> {
    let rows = state
        .store()
        .list_users(viewer.org())
        .await?
        .into_iter()
        .map(|u| Row {
            id: u.id,
            is_me: u.id == viewer.user().id,
            disabled: u.disabled_at.is_some(),
            email: u.email,
            role: u.role.to_string(),
            customer: u.customer.unwrap_or_default(),
            created: format::instant(Some(u.created_at)),
            last_login: format::instant(u.last_login_at),
        })
        .collect();
    let layout = Layout::new(state, viewer, headers, "Users", "/users").await?;
    let template = UsersPage {
        layout,
        rows,
        form_email: email,
        form_customer: customer,
        form_error: error,
    };
    respond(&template.layout, headers, status, &template)
}

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
        String::new(),
        String::new(),
        None,
        StatusCode::OK,
    )
    .await
}

#[derive(Debug, Deserialize)]
pub struct AddForm {
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub role: String,
    /// The customer a tenant is bound to (only with the tenant role).
    #[serde(default)]
    pub customer: String,
    #[serde(default)]
    pub password: String,
    #[serde(default)]
    pub password_confirm: String,
}

pub async fn add(
    State(state): State<Arc<AppState>>,
    viewer: Viewer,
    headers: HeaderMap,
    Form(form): Form<AddForm>,
) -> Result<Response, PageError> {
    viewer.check_csrf(&form.csrf)?;
    viewer.require_admin()?;
    let email: String = form.email.chars().take(254).collect();
    let customer_typed: String = form.customer.chars().take(300).collect();
    let binding = form.role.parse::<Role>().map(|role| {
        let customer = (role == Role::Tenant).then_some(form.customer.as_str());
        (role, spendlens_domain::tenant::binding(role, customer))
    });
    let problem = match (
        &binding,
        spendlens_store::normalize_email(&form.email),
        check_new_password(&form.password, &form.password_confirm, &form.email),
    ) {
        (Err(err), _, _) => Some(err.to_string()),
        (Ok((_, Err(err))), _, _) => Some(err.to_string()),
        (_, Err(err), _) => Some(err.to_string()),
        (_, _, Err(err)) => Some(err),
        (Ok((_, Ok(_))), Ok(_), Ok(())) => None,
    };
    let (role, customer) = match (problem, binding) {
        (None, Ok((role, Ok(customer)))) => (role, customer),
        (problem, _) => {
            let problem = problem.unwrap_or_else(|| "the form could not be read".to_owned());
            return show(
                &state,
                &viewer,
                &headers,
                email,
                customer_typed,
                Some(capitalize(&problem)),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
    };
    let hash = state.hasher.hash(form.password.clone()).await?;
    let actor = viewer.actor();
    let actor = spendlens_store::Actor {
        name: &actor,
        at: state.now(),
    };
    match state
        .store()
        .create_user_bound(
            viewer.org(),
            &form.email,
            &hash,
            role,
            customer.as_deref(),
            actor,
        )
        .await
    {
        Ok(user) => {
            let access = access_text(user.role, user.customer.as_deref());
            Ok(redirect_with(
                "/users",
                vec![flash(
                    &headers,
                    "ok",
                    &format!("Added {} as {access}.", user.email),
                )],
            ))
        }
        Err(spendlens_store::StoreError::Conflict(message)) => {
            show(
                &state,
                &viewer,
                &headers,
                email,
                customer_typed,
                Some(capitalize(&message)),
                StatusCode::CONFLICT,
            )
            .await
        }
        Err(other) => Err(other.into()),
    }
}
