//! Stored report documents: the checked request shared by the API, the dashboard and the CLI,
//! and the build — a request stores a `building` row (or joins the identical one already
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

/// Checks raw input: `kind` (chargeback), `scope` (`all`, `customer:NAME`,
/// `workspace:NAME`), `from` / `to` (UTC days, at most five years, not after today).
pub fn check_request(
    kind: &str,
    scope: Option<&str>,
    from: &str,
    to: &str,
    today: Day,
) -> Result<DocumentRequest, String> {
    let kind_name = kind.trim();
    let kind = ReportKind::parse(kind_name)
        .ok_or_else(|| format!("kind must be chargeback, not \"{kind_name}\""))?;
    if kind != ReportKind::Chargeback {
        return Err(format!(
            "{} reports are not available in this version; kind must be chargeback",
            kind.title()
        ));
    }
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
    let scope = ChargebackScope::parse(scope.unwrap_or("all")).map_err(|e| e.to_string())?;
    Ok(DocumentRequest {
        kind,
        scope: scope.as_text(),
        period,
    })
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
    // The scope must make sense before anything is stored (a workspace that does not exist).
    let scope = ChargebackScope::parse(&request.scope)?;
    if let ChargebackScope::Workspace(name) = &scope {
        let known = state.store.list_workspaces(org).await?;
        if !known.iter().any(|w| &w.display_name == name) {
            return Err(QueryError::Invalid(format!(
                "no workspace is named \"{name}\" (the Workspaces view lists their names)"
            ))
            .into());
        }
    }
    let (row, created) = state
        .store
        .request_report(
            org,
            &NewReport {
                kind: request.kind,
                scope: &request.scope,
                period: request.period,
                requested_by: actor,
                schedule_id: None,
            },
            now,
        )
        .await?;
    if created {
        state
            .store
            .audit(
                org,
                actor,
                "report.generate",
                &format!("report {}", row.id),
                &format!(
                    "{} · {} · {} to {}",
                    request.kind.as_str(),
                    request.scope,
                    request.period.from(),
                    request.period.to()
                ),
                now,
            )
            .await?;
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

/// Deletes a stored report, audited. `None` when there is none.
pub async fn delete(
    state: &Arc<AppState>,
    org: OrgId,
    id: i64,
    actor: &str,
) -> Result<Option<ReportDocumentRow>, ApiError> {
    let Some(row) = state.store.delete_report(org, id).await? else {
        return Ok(None);
    };
    state
        .store
        .audit(
            org,
            actor,
            "report.delete",
            &format!("report {id}"),
            &format!(
                "{} · {} · {} to {} · {} · content sha256 {}",
                row.kind.as_str(),
                row.scope,
                row.period_from,
                row.period_to,
                row.status.as_str(),
                row.content_sha256.as_deref().unwrap_or("none")
            ),
            state.now(),
        )
        .await?;
    Ok(Some(row))
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
