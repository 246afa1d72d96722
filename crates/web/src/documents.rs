//! Stored report documents — chargeback (PDF, CSV, JSON) and compliance (SOC 2, HIPAA, GDPR:
//! PDF and JSON) —: the checked request shared by the API, the dashboard and the CLI, and the
//! build — a request stores a `building` row (or joins the identical one already
//! building), a task reads the report through the query layer, renders the PDF off the async
//! threads, and stores PDF, CSV and JSON with their hashes; a failure is stored with its
//! message. Every request, deletion and failure is audited.

use std::sync::Arc;

use spendlens_domain::{Day, DayRange};
use spendlens_query::QueryError;
use spendlens_query::chargeback::{self, ChargebackRequest, ChargebackScope};
use spendlens_store::{NewReport, OrgId, ReportDocumentRow, ReportFiles, ReportKind};

use crate::AppState;
use crate::error::ApiError;

/// A build still `building` after this long is failed: its server stopped.
pub const STALLED_AFTER: time::Duration = time::Duration::minutes(15);

/// A report asked for, checked.
#[derive(Clone, Debug)]
pub struct DocumentRequest {
    pub kind: ReportKind,
    pub scope: String,
    pub period: DayRange,
}

/// The scope of compliance reports.
pub const ORGANIZATION: &str = "organization";

/// Checks raw input: `kind` (chargeback, soc2, hipaa, gdpr), `scope` (chargeback: `all`,
/// `customer:NAME`, `workspace:NAME`; compliance: the organization), `from` / `to` (UTC days,
/// at most five years, not after today).
pub fn check_request(
    kind: &str,
    scope: Option<&str>,
    from: &str,
    to: &str,
    today: Day,
) -> Result<DocumentRequest, String> {
    let kind_name = kind.trim();
    let kind = ReportKind::parse(kind_name).ok_or_else(|| {
        format!("kind must be one of chargeback, soc2, hipaa, gdpr, not \"{kind_name}\"")
    })?;
    let day = |text: &str, name: &str| -> Result<Day, String> {
        let text = text.trim();
        if text.is_empty() {
            return Err(format!("{name} is required: a UTC day YYYY-MM-DD"));
        }
        text.parse::<Day>()
            .map_err(|e| format!("{name}: \"{text}\" is not a day YYYY-MM-DD ({e})"))
    };
    let from = day(from, "from")?;
    let to = day(to, "to")?;
    let period = chargeback::check_period(from, to, today).map_err(|e| e.to_string())?;
    if kind != ReportKind::Chargeback {
        return match scope.map(str::trim).unwrap_or("") {
            "" | "all" | ORGANIZATION => Ok(DocumentRequest {
                kind,
                scope: ORGANIZATION.to_owned(),
                period,
            }),
            other => Err(format!(
                "{} reports cover the whole organization; leave the scope out (not \"{other}\")",
                kind.title()
            )),
        };
    }
    let scope = ChargebackScope::parse(scope.unwrap_or("all")).map_err(|e| e.to_string())?;
    Ok(DocumentRequest {
        kind,
        scope: scope.as_text(),
        period,
    })
}

/// A workspace scope must name a workspace that exists (before anything is stored).
async fn known_scope(
    state: &AppState,
    org: OrgId,
    request: &DocumentRequest,
) -> Result<(), ApiError> {
    if let Some(ChargebackScope::Workspace(name)) = (request.kind == ReportKind::Chargeback)
        .then(|| ChargebackScope::parse(&request.scope).ok())
        .flatten()
    {
        let known = state.store.list_workspaces(org).await?;
        if !known.iter().any(|w| w.display_name == name) {
            return Err(QueryError::Invalid(format!(
                "no workspace is named \"{name}\" (the Workspaces view lists their names)"
            ))
            .into());
        }
    }
    Ok(())
}

/// Stores the request and starts its build (unless the identical report is already
/// building: then that one is returned, `false`).
pub async fn request(
    state: &Arc<AppState>,
    org: OrgId,
    request: &DocumentRequest,
    actor: &str,
) -> Result<(ReportDocumentRow, bool), ApiError> {
    let now = state.now();
    known_scope(state, org, request).await?;
    // A build a stopped server left behind would otherwise be handed back as "the identical
    // report, already building" and never finish.
    state
        .store
        .fail_stalled_reports(org, now - STALLED_AFTER, now)
        .await?;
    let (row, created) = state
        .store
        .request_report(
            org,
            &NewReport {
                kind: request.kind,
                scope: &request.scope,
                period: request.period,
                schedule_id: None,
            },
            spendlens_store::Actor {
                name: actor,
                at: now,
            },
        )
        .await?;
    if created {
        let state = state.clone();
        let id = row.id;
        let built = request.clone();
        let actor = actor.to_owned();
        tokio::spawn(async move { build(state, org, id, built, actor).await });
    }
    Ok((row, created))
}

/// Builds one report and stores the outcome.
async fn build(state: Arc<AppState>, org: OrgId, id: i64, request: DocumentRequest, actor: String) {
    let outcome = files(&state, org, id, &request, &actor).await;
    let now = state.now();
    let stored = match outcome {
        Ok(files) => state
            .store
            .finish_report(org, id, &files, now)
            .await
            .map(|_| ()),
        Err(message) => {
            tracing::warn!(report = id, error = %message, "a report failed to build");
            state.store.fail_report(org, id, &message, now).await
        }
    };
    if let Err(err) = stored {
        tracing::error!(report = id, error = %err, "a built report could not be stored");
    }
}

async fn files(
    state: &Arc<AppState>,
    org: OrgId,
    id: i64,
    request: &DocumentRequest,
    actor: &str,
) -> Result<ReportFiles, String> {
    if request.kind != ReportKind::Chargeback {
        return compliance_files(state, org, id, request, actor).await;
    }
    let scope = ChargebackScope::parse(&request.scope).map_err(|e| e.to_string())?;
    let report = chargeback::chargeback(
        &state.store,
        org,
        &ChargebackRequest {
            period: request.period,
            scope,
            generated_by: actor.to_owned(),
        },
        state.now(),
    )
    .await
    .map_err(|e| format!("the report could not be read: {e}"))?;
    let json = serde_json::to_vec_pretty(&serde_json::json!({
        "id": id,
        "report": report,
    }))
    .map_err(|e| format!("the JSON could not be written: {e}"))?;
    let csv = chargeback::table::to_csv(&report)
        .map_err(|e| format!("the CSV could not be written: {e}"))?;
    let name = format!("#{id}");
    let pdf =
        tokio::task::spawn_blocking(move || spendlens_reports::chargeback::pdf(&report, &name))
            .await
            .map_err(|e| format!("the PDF renderer stopped: {e}"))?
            .map_err(|e| e.to_string())?;
    Ok(ReportFiles {
        pdf,
        csv: Some(csv.into_bytes()),
        json,
    })
}

async fn compliance_files(
    state: &Arc<AppState>,
    org: OrgId,
    id: i64,
    request: &DocumentRequest,
    actor: &str,
) -> Result<ReportFiles, String> {
    // The denials this server tallied are part of the evidence: written before reading.
    if let Err(err) = state.budgets.denials.flush(&state.store).await {
        return Err(format!(
            "the budget denials could not be written first: {err}"
        ));
    }
    let report = spendlens_query::compliance::compliance(
        &state.store,
        org,
        request.kind,
        request.period,
        actor,
        state.now(),
        &spendlens_query::compliance::ServerFacts {
            meter_retention_days: state.settings.meter_retention_days,
        },
    )
    .await
    .map_err(|e| format!("the report could not be read: {e}"))?;
    let json = serde_json::to_vec_pretty(&serde_json::json!({"id": id, "report": report}))
        .map_err(|e| format!("the JSON could not be written: {e}"))?;
    let name = format!("#{id}");
    let pdf =
        tokio::task::spawn_blocking(move || spendlens_reports::compliance::pdf(&report, &name))
            .await
            .map_err(|e| format!("the PDF renderer stopped: {e}"))?
            .map_err(|e| e.to_string())?;
    Ok(ReportFiles {
        pdf,
        csv: None,
        json,
    })
}

/// Adds a monthly schedule (audited) and generates what is due at once.
pub async fn schedule(
    state: &Arc<AppState>,
    org: OrgId,
    kind: &str,
    scope: Option<&str>,
    actor: &str,
) -> Result<spendlens_store::ReportScheduleRow, ApiError> {
    // The same checks as a one-off report, over last month.
    let today = Day::of(state.now());
    let month = crate::schedules::last_month(today)
        .ok_or_else(|| ApiError::BadRequest("no month before today".to_owned()))?;
    let checked = check_request(
        kind,
        scope,
        &month.from().to_string(),
        &month.to().to_string(),
        today,
    )
    .map_err(ApiError::BadRequest)?;
    known_scope(state, org, &checked).await?;
    let actor = spendlens_store::Actor {
        name: actor,
        at: state.now(),
    };
    let row = state
        .store
        .create_report_schedule(org, checked.kind, &checked.scope, actor)
        .await?;
    crate::schedules::run_due(state).await?;
    Ok(row)
}

/// Removes a schedule (audited); the reports it generated stay.
pub async fn unschedule(
    state: &Arc<AppState>,
    org: OrgId,
    id: i64,
    actor: &str,
) -> Result<Option<spendlens_store::ReportScheduleRow>, ApiError> {
    let actor = spendlens_store::Actor {
        name: actor,
        at: state.now(),
    };
    Ok(state.store.delete_report_schedule(org, id, actor).await?)
}

/// Deletes a stored report, audited. `None` when there is none.
pub async fn delete(
    state: &Arc<AppState>,
    org: OrgId,
    id: i64,
    actor: &str,
) -> Result<Option<ReportDocumentRow>, ApiError> {
    let actor = spendlens_store::Actor {
        name: actor,
        at: state.now(),
    };
    Ok(state.store.delete_report(org, id, actor).await?)
}

/// The stored reports, newest first (builds left by a stopped server are failed first).
pub async fn list(
    state: &AppState,
    org: OrgId,
    kind: Option<ReportKind>,
) -> Result<Vec<ReportDocumentRow>, ApiError> {
    let now = state.now();
    state
        .store
        .fail_stalled_reports(org, now - STALLED_AFTER, now)
        .await?;
    Ok(state.store.report_documents(org, kind, 200).await?)
}

/// A file name for a download: `spendlens-chargeback-12-2026-11-01-2026-11-30.pdf`.
pub fn file_name(row: &ReportDocumentRow, extension: &str) -> String {
    format!(
        "spendlens-{}-{}-{}-{}.{extension}",
        row.kind.as_str(),
        row.id,
        row.period_from,
        row.period_to
    )
}
