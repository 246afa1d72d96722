//! The portal's Budgets page: the caps on the tenant's customer with their status (bars green
//! under the soft limit, amber at it, red at the limit, as Cost → Budgets draws them) —
//! platform caps read-only behind a lock, the customer's own (tenant) caps with Edit and
//! Delete, and the platform's caps on every customer's calls (the organization, a provider, a
//! model), which govern the tenant's calls and cap their caps too, without their spend (it is
//! every customer's) — and the forms. Whatever a form sends, the customer is the tenant's (from the
//! session) and the provenance `tenant`; workspace and API key scopes are the platform's and
//! are never set here. A cap above the platform cap governing it is refused by the store with
//! the message naming that cap. Caps of other customers answer 404 (as if absent), platform
//! caps 403; the store checks ownership again in the transaction that changes a cap. Deleting
//! asks first on a page naming what goes; every change is versioned and audited under the
//! tenant's email.

use std::sync::Arc;

use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use spendlens_domain::budget::Provenance;
use spendlens_store::{BudgetCapRow, OrgId, StoreError, describe_budget};

use super::{Tenant, scope_text};
use crate::AppState;
use crate::dashboard::budgets::{
    BudgetRow, CapForm, ConfirmForm, added_text, refusal, row, saved_text,
};
use crate::dashboard::error::PageError;
use crate::dashboard::session::{capitalize, flash, redirect_with};
use crate::dashboard::{Layout, respond};

const PAGE: &str = "/portal/budgets";

/// A cap as the portal shows it.
pub struct PortalCap {
    pub row: BudgetRow,
    /// The scope without the customer (implied).
    pub scope: String,
    /// A platform cap: read-only here.
    pub platform: bool,
    /// An enabled platform cap on every customer's calls (the whole organization, or a
    /// provider or model of it): it governs the tenant's calls and is a ceiling for their
    /// caps, but its spend is every customer's, so it is not shown.
    pub shared: bool,
}

/// Whether a cap on no customer governs every customer's calls the same way (no workspace or
/// key of the platform's own in its scope), so a tenant is shown it.
fn shared_with_every_customer(cap: &BudgetCapRow) -> bool {
    let s = &cap.spec;
    s.provenance == Provenance::Platform
        && s.enabled
        && s.scope.customer.is_none()
        && s.scope.workspace.is_none()
        && s.scope.api_key.is_none()
}

/// The scope of a shared cap as a tenant reads it.
fn shared_scope_text(cap: &BudgetCapRow) -> String {
    let mut parts = vec!["every customer's calls together".to_owned()];
    if let Some(provider) = &cap.spec.scope.provider {
        parts.push(format!(
            "provider {}",
            crate::dashboard::cost::provider_label(provider)
        ));
    }
    if let Some(model) = &cap.spec.scope.model {
        parts.push(format!("model {model}"));
    }
    parts.join(" · ")
}

/// The caps on `customer` (each with its status) and the platform's caps shared by every
/// customer (without their spend), platform caps first, then by name.
pub(super) async fn portal_caps(
    state: &AppState,
    org: OrgId,
    customer: &str,
) -> Result<Vec<PortalCap>, PageError> {
    let caps: Vec<BudgetCapRow> = state
        .store()
        .list_budget_caps(org)
        .await?
        .into_iter()
        .filter(|c| {
            c.spec.scope.customer.as_deref() == Some(customer) || shared_with_every_customer(c)
        })
        .collect();
    if caps.is_empty() {
        return Ok(Vec::new());
    }
    let statuses = state
        .budgets
        .statuses(state.store(), org, state.now())
        .await?;
    let mut out: Vec<PortalCap> = caps
        .iter()
        .map(|c| {
            if shared_with_every_customer(c) {
                return PortalCap {
                    row: row(c, None),
                    scope: shared_scope_text(c),
                    platform: true,
                    shared: true,
                };
            }
            PortalCap {
                row: row(c, statuses.iter().find(|s| s.id == c.id)),
                scope: scope_text(&c.spec.scope, customer),
                platform: c.spec.provenance == Provenance::Platform,
                shared: false,
            }
        })
        .collect();
    out.sort_by(|a, b| {
        b.platform
            .cmp(&a.platform)
            .then_with(|| a.row.name.cmp(&b.row.name))
    });
    Ok(out)
}

#[derive(Template)]
#[template(path = "portal_budgets.html")]
struct BudgetsPage {
    layout: Layout,
    customer: String,
    caps: Vec<PortalCap>,
    own: usize,
}

/// `GET /portal/budgets`.
pub async fn page(
    State(state): State<Arc<AppState>>,
    tenant: Tenant,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let mut layout = Layout::new(&state, &tenant.viewer, &headers, "Budgets", PAGE).await?;
    layout.auto_refresh = Some(10);
    let caps = portal_caps(&state, tenant.viewer.org(), &tenant.customer).await?;
    let template = BudgetsPage {
        layout,
        own: caps.iter().filter(|c| !c.platform).count(),
        customer: tenant.customer,
        caps,
    };
    respond(&template.layout, &headers, StatusCode::OK, &template)
}

/// The tenant's own cap `id`: 404 for a cap that is not on their customer (as if absent),
/// 403 for a platform cap on it.
async fn own_cap(state: &AppState, tenant: &Tenant, id: i64) -> Result<BudgetCapRow, PageError> {
    let missing = || PageError::NotFound(format!("budget {id}"));
    let cap = match state.store().get_budget_cap(tenant.viewer.org(), id).await {
        Ok(cap) => cap,
        Err(StoreError::NotFound { .. }) => return Err(missing()),
        Err(other) => return Err(other.into()),
    };
    if cap.spec.scope.customer.as_deref() != Some(tenant.customer.as_str()) {
        return Err(missing());
    }
    if cap.spec.provenance == Provenance::Platform {
        return Err(PageError::Forbidden(format!(
            "“{}” is a platform cap: it sets the ceiling for {}'s caps and only the platform's admins change it",
            cap.spec.name, tenant.customer
        )));
    }
    Ok(cap)
}

/// The form as the tenant may send it: their customer and the tenant provenance, whatever
/// came; no workspace or API key.
fn pinned(mut form: CapForm, customer: &str) -> CapForm {
    form.customer = customer.to_owned();
    form.provenance = Provenance::Tenant.as_str().to_owned();
    form.workspace.clear();
    form.api_key.clear();
    form
}

#[derive(Template)]
#[template(path = "portal_budget_form.html")]
struct FormPage {
    layout: Layout,
    heading: String,
    action: String,
    submit: &'static str,
    form: CapForm,
    customer: String,
    providers: Vec<&'static str>,
    /// The platform caps over this customer's calls, its own and those shared by every
    /// customer (the ceilings the form's limit must sit under).
    ceilings: Vec<PortalCap>,
}

async fn show_form(
    state: &AppState,
    tenant: &Tenant,
    headers: &HeaderMap,
    id: Option<i64>,
    form: CapForm,
    error: Option<String>,
) -> Result<Response, PageError> {
    let mut layout = Layout::new(state, &tenant.viewer, headers, "Budgets", PAGE).await?;
    let status = if let Some(text) = error {
        layout = layout.with_notice("error", text);
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let (heading, action, submit) = match id {
        Some(id) => (
            format!("Edit the budget “{}”", form.name),
            format!("{PAGE}/{id}"),
            "Save (new version)",
        ),
        None => (
            format!("New budget for {}", tenant.customer),
            PAGE.to_owned(),
            "Add budget",
        ),
    };
    let ceilings = portal_caps(state, tenant.viewer.org(), &tenant.customer)
        .await?
        .into_iter()
        .filter(|c| c.platform && c.row.enabled)
        .collect();
    let template = FormPage {
        layout,
        heading,
        action,
        submit,
        form,
        customer: tenant.customer.clone(),
        providers: spendlens_domain::ProviderKind::ALL
            .iter()
            .map(|p| p.as_str())
            .collect(),
        ceilings,
    };
    respond(&template.layout, headers, status, &template)
}

/// `GET /portal/budgets/new`.
pub async fn new_form(
    State(state): State<Arc<AppState>>,
    tenant: Tenant,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let form = pinned(CapForm::new_cap(Provenance::Tenant), &tenant.customer);
    show_form(&state, &tenant, &headers, None, form, None).await
}

/// `GET /portal/budgets/{id}/edit`.
pub async fn edit_form(
    State(state): State<Arc<AppState>>,
    tenant: Tenant,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    let cap = own_cap(&state, &tenant, id).await?;
    show_form(&state, &tenant, &headers, Some(id), CapForm::of(&cap), None).await
}

/// `POST /portal/budgets`.
pub async fn create(
    State(state): State<Arc<AppState>>,
    tenant: Tenant,
    headers: HeaderMap,
    Form(form): Form<CapForm>,
) -> Result<Response, PageError> {
    tenant.viewer.check_csrf(&form.csrf)?;
    save(&state, &tenant, &headers, None, form).await
}

/// `POST /portal/budgets/{id}`.
pub async fn update(
    State(state): State<Arc<AppState>>,
    tenant: Tenant,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Form(form): Form<CapForm>,
) -> Result<Response, PageError> {
    tenant.viewer.check_csrf(&form.csrf)?;
    let cap = own_cap(&state, &tenant, id).await?;
    save(&state, &tenant, &headers, Some(cap), form).await
}

async fn save(
    state: &AppState,
    tenant: &Tenant,
    headers: &HeaderMap,
    cap: Option<BudgetCapRow>,
    form: CapForm,
) -> Result<Response, PageError> {
    let org = tenant.viewer.org();
    let form = pinned(form, &tenant.customer);
    let id = cap.as_ref().map(|c| c.id);
    let input = form.input();
    // The version read is the one changed: a cap moved or edited meanwhile is refused.
    let expected = input.expected_version.or(cap.as_ref().map(|c| c.version));
    let spec = match input.into_spec() {
        Ok(spec) => spec,
        Err(message) => {
            let text = format!("The budget was not saved: {}.", capitalize(&message));
            return show_form(state, tenant, headers, id, form, Some(text)).await;
        }
    };
    let actor = tenant.viewer.actor();
    let now = state.now();
    let saved = match id {
        None => state
            .store()
            .create_budget_cap(org, &spec, &actor, now)
            .await
            .map(|cap| added_text(&cap)),
        Some(id) => state
            .store()
            .update_tenant_budget_cap(org, &tenant.customer, id, &spec, expected, &actor, now)
            .await
            .map(|(_, after)| saved_text(&after)),
    };
    match saved {
        Ok(text) => {
            state.budgets.invalidate(org);
            Ok(redirect_with(PAGE, vec![flash(headers, "ok", &text)]))
        }
        Err(StoreError::NotFound { .. }) => Err(PageError::NotFound(format!(
            "budget {}",
            id.unwrap_or_default()
        ))),
        Err(err) => {
            let text = format!("The budget was not saved: {}", refusal(err)?);
            show_form(state, tenant, headers, id, form, Some(text)).await
        }
    }
}

#[derive(Template)]
#[template(path = "portal_budget_delete.html")]
struct DeletePage {
    layout: Layout,
    id: i64,
    name: String,
    summary: String,
    versions: usize,
}

/// `GET /portal/budgets/{id}/delete`: what goes, and a button.
pub async fn confirm_delete(
    State(state): State<Arc<AppState>>,
    tenant: Tenant,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    let cap = own_cap(&state, &tenant, id).await?;
    let versions = state
        .store()
        .budget_cap_versions(tenant.viewer.org(), id)
        .await?
        .len();
    let layout = Layout::new(&state, &tenant.viewer, &headers, "Budgets", PAGE).await?;
    let template = DeletePage {
        layout,
        id,
        name: cap.spec.name.clone(),
        summary: describe_budget(&cap.spec),
        versions,
    };
    respond(&template.layout, &headers, StatusCode::OK, &template)
}

/// `POST /portal/budgets/{id}/delete`: only with `confirm=delete` (from the page above).
pub async fn delete(
    State(state): State<Arc<AppState>>,
    tenant: Tenant,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Form(form): Form<ConfirmForm>,
) -> Result<Response, PageError> {
    tenant.viewer.check_csrf(&form.csrf)?;
    own_cap(&state, &tenant, id).await?;
    if form.confirm.as_deref() != Some("delete") {
        return Ok(redirect_with(
            &format!("{PAGE}/{id}/delete"),
            vec![flash(
                &headers,
                "warn",
                "Nothing was deleted yet: confirm below.",
            )],
        ));
    }
    let org = tenant.viewer.org();
    let cap = match state
        .store()
        .delete_tenant_budget_cap(
            org,
            &tenant.customer,
            id,
            &tenant.viewer.actor(),
            state.now(),
        )
        .await
    {
        Ok(cap) => cap,
        Err(StoreError::NotFound { .. }) => {
            return Err(PageError::NotFound(format!("budget {id}")));
        }
        Err(other) => return Err(other.into()),
    };
    state.budgets.invalidate(org);
    Ok(redirect_with(
        PAGE,
        vec![flash(
            &headers,
            "ok",
            &format!("Deleted the budget {}.", describe_budget(&cap.spec)),
        )],
    ))
}
