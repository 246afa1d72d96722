//! Cost → Reports: the stored chargeback and compliance (SOC 2, HIPAA, GDPR) reports (ID, type, scope, period, status, generated at and by,
//! downloads, content hash) with a type filter, the form that generates one (admins), the
//! page naming what a deletion removes before it happens, and downloads. The page refreshes
//! itself every 10 s while a report is building. Viewers read and download only.

use std::sync::Arc;

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use spendlens_domain::Day;
use spendlens_store::{ReportDocumentRow, ReportFormat, ReportKind, ReportStatus};

use crate::AppState;
use crate::dashboard::error::PageError;
use crate::dashboard::format::instant;
use crate::dashboard::session::{Viewer, capitalize, flash, redirect_with};
use crate::dashboard::{Layout, respond};
use crate::documents;
use crate::error::ApiError;

const ACTIVE: &str = "/cost";
const PAGE: &str = "/cost/reports";

/// One stored report as the list shows it.
pub struct DocumentView {
    pub id: i64,
    pub kind: &'static str,
    pub scope: String,
    pub period_from: String,
    pub period_to: String,
    pub status: &'static str,
    pub error: String,
    pub generated_at: String,
    pub generated_by: String,
    pub has_csv: bool,
    pub ready: bool,
    /// The first characters of the content SHA-256 (the list shows these).
    pub hash: String,
    /// The whole SHA-256, one click away (and selectable at once) in the list.
    pub hash_full: String,
    pub size: String,
}

fn scope_words(scope: &str) -> String {
    if scope == documents::ORGANIZATION {
        return "The whole organization".to_owned();
    }
    spendlens_query::chargeback::ChargebackScope::parse(scope)
        .map_or_else(|_| scope.to_owned(), |s| s.describe())
}

fn view(row: &ReportDocumentRow) -> DocumentView {
    DocumentView {
        id: row.id,
        kind: row.kind.title(),
        scope: scope_words(&row.scope),
        period_from: row.period_from.to_string(),
        period_to: row.period_to.to_string(),
        status: row.status.as_str(),
        error: row.error.clone().unwrap_or_default(),
        generated_at: match row.generated_at {
            Some(at) => instant(Some(at)),
            None => format!("requested {}", instant(Some(row.requested_at))),
        },
        generated_by: row.requested_by.clone(),
        has_csv: row.kind.has_csv(),
        ready: row.status == ReportStatus::Ready,
        hash: row
            .content_sha256
            .as_deref()
            .map(|h| h.get(..10).unwrap_or(h).to_owned())
            .unwrap_or_default(),
        hash_full: row.content_sha256.clone().unwrap_or_default(),
        size: format!("{:.1} KiB", row.pdf_bytes as f64 / 1024.0),
    }
}

/// The generate form as typed (kept on errors).
#[derive(Clone, Debug, Default, Deserialize)]
pub struct GenerateForm {
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub kind: String,
    /// `all`, `customer` or `workspace`.
    #[serde(default)]
    pub scope_kind: String,
    #[serde(default)]
    pub scope_value: String,
    #[serde(default)]
    pub from: String,
    #[serde(default)]
    pub to: String,
}

impl GenerateForm {
    fn scope(&self) -> String {
        match self.scope_kind.trim() {
            "" | "all" => "all".to_owned(),
            kind => format!("{kind}:{}", self.scope_value.trim()),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    pub kind: Option<String>,
}

/// A monthly schedule as the page shows it.
pub struct ScheduleView {
    pub id: i64,
    pub kind: &'static str,
    pub scope: String,
    pub created_by: String,
    pub last: String,
}

fn schedule_view(row: &spendlens_store::ReportScheduleRow) -> ScheduleView {
    ScheduleView {
        id: row.id,
        kind: row.kind.title(),
        scope: scope_words(&row.scope),
        created_by: row.created_by.clone(),
        last: row
            .last_period_to
            .map_or_else(|| "not yet".to_owned(), |d| format!("the month to {d}")),
    }
}

#[derive(Template)]
#[template(path = "reports.html")]
struct ReportsPage {
    layout: Layout,
    schedules: Vec<ScheduleView>,
    documents: Vec<DocumentView>,
    building: usize,
    kind_filter: String,
    kinds: Vec<(&'static str, &'static str)>,
    form: GenerateForm,
    workspaces: Vec<String>,
}

/// The previous whole month: the form's default period.
fn last_month(today: Day) -> (Day, Day) {
    let this = today.first_of_month();
    let end = this.add_days(-1).unwrap_or(this);
    (end.first_of_month(), end)
}

async fn show(
    state: &AppState,
    viewer: &Viewer,
    headers: &HeaderMap,
    kind_filter: &str,
    notice: Option<(&str, String)>,
    form: GenerateForm,
    status: StatusCode,
) -> Result<Response, PageError> {
    let org = viewer.org();
    let kind = ReportKind::parse(kind_filter);
    let rows = documents::list(state, org, kind)
        .await
        .map_err(page_error)?;
    let mut layout = Layout::new(state, viewer, headers, "Reports", ACTIVE).await?;
    let building = rows
        .iter()
        .filter(|r| r.status == ReportStatus::Building)
        .count();
    if building > 0 {
        layout.auto_refresh = Some(10);
    }
    if let Some((kind, text)) = notice {
        layout = layout.with_notice(kind, text);
    }
    let mut workspaces: Vec<String> = state
        .store()
        .list_workspaces(org)
        .await?
        .into_iter()
        .map(|w| w.display_name)
        .collect();
    workspaces.sort();
    workspaces.dedup();
    let schedules = state
        .store()
        .report_schedules(org)
        .await?
        .iter()
        .map(schedule_view)
        .collect();
    let template = ReportsPage {
        layout,
        schedules,
        documents: rows.iter().map(view).collect(),
        building,
        kind_filter: kind.map_or("all", ReportKind::as_str).to_owned(),
        kinds: ReportKind::ALL
            .iter()
            .map(|k| (k.as_str(), k.title()))
            .collect(),
        form,
        workspaces,
    };
    respond(&template.layout, headers, status, &template)
}

/// An API error as the dashboard shows it.
fn page_error(err: ApiError) -> PageError {
    match err {
        ApiError::BadRequest(m) => PageError::BadRequest(m),
        ApiError::Forbidden(m) => PageError::Forbidden(m),
        ApiError::NotFound(m) => PageError::NotFound(m),
        ApiError::Conflict(message) => PageError::Rejected {
            status: StatusCode::CONFLICT,
            message,
        },
        other => PageError::Internal(other.to_string()),
    }
}

pub async fn page(
    State(state): State<Arc<AppState>>,
    viewer: Viewer,
    headers: HeaderMap,
    Query(query): Query<ListQuery>,
) -> Result<Response, PageError> {
    let (from, to) = last_month(Day::of(state.now()));
    let form = GenerateForm {
        kind: "chargeback".to_owned(),
        scope_kind: "all".to_owned(),
        from: from.to_string(),
        to: to.to_string(),
        ..GenerateForm::default()
    };
    let filter = query.kind.unwrap_or_default();
    show(
        &state,
        &viewer,
        &headers,
        &filter,
        None,
        form,
        StatusCode::OK,
    )
    .await
}

pub async fn generate(
    State(state): State<Arc<AppState>>,
    viewer: Viewer,
    headers: HeaderMap,
    Form(form): Form<GenerateForm>,
) -> Result<Response, PageError> {
    viewer.check_csrf(&form.csrf)?;
    viewer.require_admin()?;
    let checked = documents::check_request(
        &form.kind,
        Some(&form.scope()),
        &form.from,
        &form.to,
        Day::of(state.now()),
    );
    let outcome = match checked {
        Ok(request) => documents::request(&state, viewer.org(), &request, &viewer.actor())
            .await
            .map_err(|e| match e {
                ApiError::BadRequest(m) | ApiError::Conflict(m) => Ok(m),
                other => Err(page_error(other)),
            }),
        Err(message) => Err(Ok(message)),
    };
    match outcome {
        Ok((row, created)) => {
            let text = if created {
                format!(
                    "Report {} is being built; this page refreshes every 10 s until it is ready.",
                    row.id
                )
            } else {
                format!(
                    "The identical report {} is already being built; no second one was started.",
                    row.id
                )
            };
            Ok(redirect_with(PAGE, vec![flash(&headers, "ok", &text)]))
        }
        Err(Ok(message)) => {
            let text = format!("No report was generated: {}.", capitalize(&message));
            show(
                &state,
                &viewer,
                &headers,
                "",
                Some(("error", text)),
                form,
                StatusCode::BAD_REQUEST,
            )
            .await
        }
        Err(Err(err)) => Err(err),
    }
}

pub async fn download(
    State(state): State<Arc<AppState>>,
    viewer: Viewer,
    Path((id, format)): Path<(i64, String)>,
) -> Result<Response, PageError> {
    let format = ReportFormat::parse(&format)
        .ok_or_else(|| PageError::NotFound(format!("the format \"{format}\"")))?;
    crate::api::report_documents::file_response(&state, viewer.org(), id, format)
        .await
        .map_err(page_error)
}

#[derive(Template)]
#[template(path = "report_delete.html")]
struct DeletePage {
    layout: Layout,
    doc: DocumentView,
    content_sha256: String,
}

pub async fn confirm_delete(
    State(state): State<Arc<AppState>>,
    viewer: Viewer,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    viewer.require_admin()?;
    let row = state
        .store()
        .report_document(viewer.org(), id)
        .await?
        .ok_or_else(|| PageError::NotFound(format!("report {id}")))?;
    let template = DeletePage {
        layout: Layout::new(&state, &viewer, &headers, "Reports", ACTIVE).await?,
        content_sha256: row.content_sha256.clone().unwrap_or_default(),
        doc: view(&row),
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
    let row = documents::delete(&state, viewer.org(), id, &viewer.actor())
        .await
        .map_err(page_error)?
        .ok_or_else(|| PageError::NotFound(format!("report {id}")))?;
    Ok(redirect_with(
        PAGE,
        vec![flash(
            &headers,
            "ok",
            &format!(
                "Deleted report {} ({}, {} to {}); its PDF, CSV and JSON are gone.",
                row.id,
                row.kind.title(),
                row.period_from,
                row.period_to
            ),
        )],
    ))
}

pub async fn add_schedule(
    State(state): State<Arc<AppState>>,
    viewer: Viewer,
    headers: HeaderMap,
    Form(form): Form<GenerateForm>,
) -> Result<Response, PageError> {
    viewer.check_csrf(&form.csrf)?;
    viewer.require_admin()?;
    let scope = form.scope();
    match documents::schedule(
        &state,
        viewer.org(),
        &form.kind,
        Some(&scope),
        &viewer.actor(),
    )
    .await
    {
        Ok(row) => Ok(redirect_with(
            PAGE,
            vec![flash(
                &headers,
                "ok",
                &format!(
                    "Scheduled a monthly {} report ({}); last month's is being built now.",
                    row.kind.title(),
                    scope_words(&row.scope)
                ),
            )],
        )),
        Err(ApiError::BadRequest(m) | ApiError::Conflict(m)) => {
            let text = format!("Nothing was scheduled: {}.", capitalize(&m));
            show(
                &state,
                &viewer,
                &headers,
                "",
                Some(("error", text)),
                form,
                StatusCode::BAD_REQUEST,
            )
            .await
        }
        Err(other) => Err(page_error(other)),
    }
}

#[derive(Template)]
#[template(path = "report_schedule_delete.html")]
struct ScheduleDeletePage {
    layout: Layout,
    schedule: ScheduleView,
}

pub async fn confirm_unschedule(
    State(state): State<Arc<AppState>>,
    viewer: Viewer,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    viewer.require_admin()?;
    let row = state
        .store()
        .report_schedules(viewer.org())
        .await?
        .into_iter()
        .find(|s| s.id == id)
        .ok_or_else(|| PageError::NotFound(format!("report schedule {id}")))?;
    let template = ScheduleDeletePage {
        layout: Layout::new(&state, &viewer, &headers, "Reports", ACTIVE).await?,
        schedule: schedule_view(&row),
    };
    respond(&template.layout, &headers, StatusCode::OK, &template)
}

pub async fn unschedule(
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
            &format!("{PAGE}/schedules/{id}/delete"),
            vec![flash(
                &headers,
                "warn",
                "Nothing was stopped yet: confirm below.",
            )],
        ));
    }
    documents::unschedule(&state, viewer.org(), id, &viewer.actor())
        .await
        .map_err(page_error)?
        .ok_or_else(|| PageError::NotFound(format!("report schedule {id}")))?;
    Ok(redirect_with(
        PAGE,
        vec![flash(
            &headers,
            "ok",
            &format!("Stopped schedule {id}; the reports it generated stay."),
        )],
    ))
}
