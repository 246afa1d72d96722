//! Cost → Budgets: every cap with its scope, period, limit, soft %, state (enabled), version
//! and provenance (a lock on tenant caps), a summary (total, enabled, disabled), a scope
//! filter, and each cap's status now — spend against the limit as a bar, green under the soft
//! limit, amber at it, red at the limit. The page refreshes itself every 10 s. Admins create
//! and edit caps (the API's checks, the tenant ceiling included) and delete one after a page
//! naming what goes; viewers read only. Every change is versioned and audited by the store.

use std::sync::Arc;

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use serde_json::Value;
use spendlens_domain::budget::{Provenance, SCOPE_FIELDS};
use spendlens_query::budget::CapStatus;
use spendlens_store::{BudgetCapRow, StoreError, describe_budget};

use crate::AppState;
use crate::budgets::input::{CapInput, input_of};
use crate::dashboard::error::PageError;
use crate::dashboard::session::{Viewer, capitalize, flash, redirect_with};
use crate::dashboard::{Layout, respond};

const ACTIVE: &str = "/cost";
const PAGE: &str = "/cost/budgets";

/// One row of the list: the cap and its status.
pub struct BudgetRow {
    pub id: i64,
    pub name: String,
    pub scope: String,
    pub period: &'static str,
    pub limit: String,
    pub soft_pct: u8,
    pub enabled: bool,
    pub version: i64,
    pub tenant: bool,
    pub spend: String,
    pub reserved: String,
    /// `$26.54 left`, or `$17.07 over` past the limit.
    pub remaining: String,
    pub utilization: String,
    /// Width of the bar, 0–100.
    pub bar: i64,
    /// `ok`, `soft` or `hard`.
    pub state: &'static str,
    pub period_range: String,
    pub unpriced_calls: i64,
    pub source: &'static str,
}

#[derive(Template)]
#[template(path = "budgets.html")]
struct BudgetsPage {
    layout: Layout,
    rows: Vec<BudgetRow>,
    total: usize,
    enabled: usize,
    disabled: usize,
    scope: String,
    scopes: Vec<&'static str>,
    /// Overlapping caps worth a warning, in words.
    overlaps: Vec<String>,
    /// Checks denied per cap over the last [`DENIAL_DAYS`] UTC days.
    denials: Vec<DenialRow>,
    denial_days: i64,
    /// Billed lines this month with no known price: in no cap's spend.
    unpriced_note: Option<String>,
}

/// Days of denials the page shows (today and the days before it).
const DENIAL_DAYS: i64 = 7;

/// One cap's denied checks.
pub struct DenialRow {
    pub cap: String,
    pub denials: i64,
    pub unpriced: i64,
    pub estimate: String,
    pub days: i64,
    pub last: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    pub scope: Option<String>,
}

/// Dollars and cents with separators, as every other page shows an amount.
fn money(m: spendlens_domain::Money) -> String {
    super::format::money(m)
}

pub(super) fn row(cap: &BudgetCapRow, status: Option<&CapStatus>) -> BudgetRow {
    let s = &cap.spec;
    let utilization = status.map(|st| st.utilization_pct);
    let bar = utilization
        .map(|u| {
            u.trunc()
                .to_string()
                .parse::<i64>()
                .unwrap_or(0)
                .clamp(0, 100)
        })
        .unwrap_or(0);
    BudgetRow {
        id: cap.id,
        name: s.name.clone(),
        scope: s.scope.to_string(),
        period: s.period.as_str(),
        limit: money(s.limit),
        soft_pct: s.soft_pct,
        enabled: s.enabled,
        version: cap.version,
        tenant: s.provenance == Provenance::Tenant,
        spend: status.map_or_else(|| "N/A".to_owned(), |st| money(st.spend)),
        reserved: status.map_or_else(String::new, |st| money(st.reserved)),
        remaining: status.map_or_else(
            || "N/A left".to_owned(),
            |st| {
                if st.remaining.is_negative() {
                    format!("{} over", money(-st.remaining))
                } else {
                    format!("{} left", money(st.remaining))
                }
            },
        ),
        utilization: utilization.map_or_else(|| "N/A".to_owned(), |u| format!("{u} %")),
        bar,
        state: status.map_or("ok", |st| st.state.as_str()),
        period_range: status.map_or_else(String::new, |st| {
            format!(
                "{} → {} (UTC, end exclusive)",
                st.period_start.date(),
                st.period_end.date()
            )
        }),
        unpriced_calls: status.map_or(0, |st| st.unpriced_calls),
        source: status.map_or("", |st| {
            if st.source == "metered" {
                "metered calls"
            } else {
                "bill, then metered calls"
            }
        }),
    }
}

/// The cost dashboard's budget panel: the enabled caps, most used first (at most `limit`).
pub(crate) async fn panel_rows(
    state: &AppState,
    org: spendlens_store::OrgId,
    limit: usize,
) -> Result<Vec<BudgetRow>, PageError> {
    let caps = state.store().list_budget_caps(org).await?;
    if caps.is_empty() {
        return Ok(Vec::new());
    }
    let statuses = state
        .budgets
        .statuses(state.store(), org, state.now())
        .await?;
    let mut rows: Vec<(rust_decimal::Decimal, BudgetRow)> = caps
        .iter()
        .filter(|c| c.spec.enabled)
        .filter_map(|c| {
            let status = statuses.iter().find(|s| s.id == c.id)?;
            Some((status.utilization_pct, row(c, Some(status))))
        })
        .collect();
    rows.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.name.cmp(&b.1.name)));
    Ok(rows.into_iter().take(limit).map(|(_, r)| r).collect())
}

/// The checks each cap denied over the last [`DENIAL_DAYS`] UTC days (this server's tallies
/// written first, so the page holds every denial it answered).
async fn denial_rows(
    state: &AppState,
    org: spendlens_store::OrgId,
) -> Result<Vec<DenialRow>, PageError> {
    state.budgets.denials.flush(state.store()).await?;
    let today = spendlens_domain::Day::of(state.now());
    let from = today.add_days(1 - DENIAL_DAYS).unwrap_or(today);
    let period = spendlens_domain::DayRange::new(from, today)
        .unwrap_or_else(|_| spendlens_domain::DayRange::single(today));
    let days = state.store().budget_denials(org, period).await?;
    Ok(spendlens_store::denials_by_cap(&days)
        .into_iter()
        .map(|c| DenialRow {
            cap: format!("{} (#{})", c.cap_name, c.cap_id),
            denials: c.denials,
            unpriced: c.unpriced,
            estimate: money(c.estimate),
            days: c.days,
            last: super::format::instant(Some(c.last_at)),
        })
        .collect())
}

fn matches_scope(cap: &BudgetCapRow, scope: &str) -> bool {
    match scope {
        "" | "all" => true,
        "organization" => cap.spec.scope.is_organization(),
        field => cap.spec.scope.values().iter().any(|(f, _)| *f == field),
    }
}

pub async fn page(
    State(state): State<Arc<AppState>>,
    viewer: Viewer,
    headers: HeaderMap,
    Query(query): Query<ListQuery>,
) -> Result<Response, PageError> {
    let org = viewer.org();
    let mut layout = Layout::new(&state, &viewer, &headers, "Budgets", ACTIVE).await?;
    layout.auto_refresh = Some(10);
    let scope = query.scope.unwrap_or_default();
    if !scope.is_empty()
        && scope != "all"
        && scope != "organization"
        && !SCOPE_FIELDS.contains(&scope.as_str())
    {
        return Err(PageError::BadRequest(format!(
            "scope must be organization, {}, not \"{scope}\"",
            SCOPE_FIELDS.join(", ")
        )));
    }
    let caps = state.store().list_budget_caps(org).await?;
    let statuses = state
        .budgets
        .statuses(state.store(), org, state.now())
        .await?;
    let enabled = caps.iter().filter(|c| c.spec.enabled).count();
    let rows = caps
        .iter()
        .filter(|c| matches_scope(c, &scope))
        .map(|c| row(c, statuses.iter().find(|s| s.id == c.id)))
        .collect();
    let mut scopes = vec!["organization"];
    scopes.extend(SCOPE_FIELDS);
    let overlaps = spendlens_store::overlaps_of(&caps)
        .into_iter()
        .map(|o| o.message)
        .collect();
    let denials = denial_rows(&state, org).await?;
    let template = BudgetsPage {
        layout,
        rows,
        total: caps.len(),
        enabled,
        disabled: caps.len() - enabled,
        scope,
        scopes,
        overlaps,
        denials,
        denial_days: DENIAL_DAYS,
        unpriced_note: spendlens_query::budget::unpriced_note(state.store(), org, state.now())
            .await?,
    };
    respond(&template.layout, &headers, StatusCode::OK, &template)
}

/// The cap form as typed (kept on errors).
#[derive(Clone, Debug, Default, Deserialize)]
pub struct CapForm {
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub provider: String,
    #[serde(default)]
    pub workspace: String,
    #[serde(default)]
    pub api_key: String,
    #[serde(default)]
    pub customer: String,
    #[serde(default)]
    pub model: String,
    #[serde(default)]
    pub period: String,
    #[serde(default)]
    pub limit: String,
    #[serde(default)]
    pub soft_pct: String,
    /// Checkbox: present when enabled.
    #[serde(default)]
    pub enabled: Option<String>,
    #[serde(default)]
    pub provenance: String,
    #[serde(default)]
    pub unpriced: String,
    #[serde(default)]
    pub expected_version: String,
}

fn blank(text: &str) -> Option<String> {
    let t = text.trim();
    (!t.is_empty()).then(|| t.to_owned())
}

impl CapForm {
    /// The form of a new cap: monthly, soft limit at 80 %, enabled, unpriced calls let through.
    pub(super) fn new_cap(provenance: Provenance) -> CapForm {
        CapForm {
            period: "MONTHLY".to_owned(),
            soft_pct: "80".to_owned(),
            enabled: Some("on".to_owned()),
            provenance: provenance.as_str().to_owned(),
            unpriced: "fail_open".to_owned(),
            ..CapForm::default()
        }
    }

    pub(super) fn input(&self) -> CapInput {
        CapInput {
            name: self.name.clone(),
            provider: blank(&self.provider),
            workspace: blank(&self.workspace),
            api_key: blank(&self.api_key),
            customer: blank(&self.customer),
            model: blank(&self.model),
            period: self.period.clone(),
            limit: Value::String(self.limit.clone()),
            soft_pct: blank(&self.soft_pct).map(Value::String),
            enabled: Some(self.enabled.is_some()),
            provenance: blank(&self.provenance),
            unpriced: blank(&self.unpriced),
            expected_version: self.expected_version.trim().parse().ok(),
        }
    }

    pub(super) fn of(cap: &BudgetCapRow) -> CapForm {
        let input = input_of(cap);
        let text = |v: Option<String>| v.unwrap_or_default();
        CapForm {
            csrf: String::new(),
            name: input.name,
            provider: text(input.provider),
            workspace: text(input.workspace),
            api_key: text(input.api_key),
            customer: text(input.customer),
            model: text(input.model),
            period: input.period,
            limit: cap.spec.limit.to_exact_string(),
            soft_pct: cap.spec.soft_pct.to_string(),
            enabled: cap.spec.enabled.then(|| "on".to_owned()),
            provenance: cap.spec.provenance.as_str().to_owned(),
            unpriced: cap.spec.unpriced.as_str().to_owned(),
            expected_version: cap.version.to_string(),
        }
    }
}

#[derive(Template)]
#[template(path = "budget_form.html")]
struct FormPage {
    layout: Layout,
    heading: String,
    action: String,
    submit: &'static str,
    form: CapForm,
    providers: Vec<&'static str>,
}

async fn show_form(
    state: &AppState,
    viewer: &Viewer,
    headers: &HeaderMap,
    id: Option<i64>,
    form: CapForm,
    error: Option<String>,
) -> Result<Response, PageError> {
    let mut layout = Layout::new(state, viewer, headers, "Budgets", ACTIVE).await?;
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
        None => ("New budget".to_owned(), PAGE.to_owned(), "Add budget"),
    };
    let template = FormPage {
        layout,
        heading,
        action,
        submit,
        form,
        providers: spendlens_domain::ProviderKind::ALL
            .iter()
            .map(|p| p.as_str())
            .collect(),
    };
    respond(&template.layout, headers, status, &template)
}

pub async fn new_form(
    State(state): State<Arc<AppState>>,
    viewer: Viewer,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    viewer.require_admin()?;
    let form = CapForm::new_cap(Provenance::Platform);
    show_form(&state, &viewer, &headers, None, form, None).await
}

pub async fn edit_form(
    State(state): State<Arc<AppState>>,
    viewer: Viewer,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    viewer.require_admin()?;
    let cap = state.store().get_budget_cap(viewer.org(), id).await?;
    show_form(&state, &viewer, &headers, Some(id), CapForm::of(&cap), None).await
}

/// What the page says once `cap` was added.
pub(super) fn added_text(cap: &BudgetCapRow) -> String {
    format!(
        "Added the budget {} (version 1).",
        describe_budget(&cap.spec)
    )
}

/// What the page says once a cap was saved as `after`.
pub(super) fn saved_text(after: &BudgetCapRow) -> String {
    format!(
        "Saved the budget {} (version {}).",
        describe_budget(&after.spec),
        after.version
    )
}

pub(super) fn refusal(err: StoreError) -> Result<String, PageError> {
    match err {
        StoreError::Invalid(message) | StoreError::Conflict(message) => Ok(capitalize(&message)),
        other => Err(other.into()),
    }
}

pub async fn create(
    State(state): State<Arc<AppState>>,
    viewer: Viewer,
    headers: HeaderMap,
    Form(form): Form<CapForm>,
) -> Result<Response, PageError> {
    viewer.check_csrf(&form.csrf)?;
    viewer.require_admin()?;
    save(&state, &viewer, &headers, None, form).await
}

pub async fn update(
    State(state): State<Arc<AppState>>,
    viewer: Viewer,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Form(form): Form<CapForm>,
) -> Result<Response, PageError> {
    viewer.check_csrf(&form.csrf)?;
    viewer.require_admin()?;
    save(&state, &viewer, &headers, Some(id), form).await
}

async fn save(
    state: &AppState,
    viewer: &Viewer,
    headers: &HeaderMap,
    id: Option<i64>,
    form: CapForm,
) -> Result<Response, PageError> {
    let org = viewer.org();
    let input = form.input();
    let expected = input.expected_version;
    let spec = match input.into_spec() {
        Ok(spec) => spec,
        Err(message) => {
            let text = format!("The budget was not saved: {}.", capitalize(&message));
            return show_form(state, viewer, headers, id, form, Some(text)).await;
        }
    };
    let actor = viewer.actor();
    let now = state.now();
    let saved = match id {
        None => state
            .store()
            .create_budget_cap(org, &spec, &actor, now)
            .await
            .map(|cap| added_text(&cap)),
        Some(id) => state
            .store()
            .update_budget_cap(org, id, &spec, expected, &actor, now)
            .await
            .map(|(_, after)| saved_text(&after)),
    };
    match saved {
        Ok(text) => {
            state.budgets.invalidate(org);
            Ok(redirect_with(PAGE, vec![flash(headers, "ok", &text)]))
        }
        Err(err) => {
            let text = format!("The budget was not saved: {}", refusal(err)?);
            show_form(state, viewer, headers, id, form, Some(text)).await
        }
    }
}

#[derive(Template)]
#[template(path = "budget_delete.html")]
struct DeletePage {
    layout: Layout,
    id: i64,
    name: String,
    summary: String,
    versions: usize,
}

pub async fn confirm_delete(
    State(state): State<Arc<AppState>>,
    viewer: Viewer,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    viewer.require_admin()?;
    let org = viewer.org();
    let cap = state.store().get_budget_cap(org, id).await?;
    let versions = state.store().budget_cap_versions(org, id).await?.len();
    let layout = Layout::new(&state, &viewer, &headers, "Budgets", ACTIVE).await?;
    let template = DeletePage {
        layout,
        id,
        name: cap.spec.name.clone(),
        summary: describe_budget(&cap.spec),
        versions,
    };
    respond(&template.layout, &headers, StatusCode::OK, &template)
}

#[derive(Debug, Deserialize)]
pub struct ConfirmForm {
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub confirm: Option<String>,
}

pub async fn delete(
    State(state): State<Arc<AppState>>,
    viewer: Viewer,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Form(form): Form<ConfirmForm>,
) -> Result<Response, PageError> {
    viewer.check_csrf(&form.csrf)?;
    viewer.require_admin()?;
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
    let org = viewer.org();
    let cap = state
        .store()
        .delete_budget_cap(org, id, &viewer.actor(), state.now())
        .await?;
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
