//! `/api/v1/report-documents`: stored chargeback and compliance reports. `POST` asks for one (202, building;
//! the identical report already building is returned instead of a second build), `GET` lists
//! them, `GET /{id}` reads one, `GET /{id}/{pdf|csv|json}` downloads a file (409 while it is
//! building or when it failed, 404 once deleted), `DELETE /{id}` deletes one (audited). Any
//! token reads; generating and deleting need an admin-scoped token.

use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use spendlens_domain::{Day, Scope};
use spendlens_store::{ReportFormat, ReportKind, ReportStatus};

use crate::AppState;
use crate::auth::ApiCaller;
use crate::documents;
use crate::error::ApiError;

#[derive(Debug, Deserialize)]
pub struct GenerateBody {
    pub kind: String,
    #[serde(default)]
    pub scope: Option<String>,
    pub from: String,
    pub to: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct ListParams {
    pub kind: Option<String>,
}

/// Links to a document's files.
fn with_links(row: &spendlens_store::ReportDocumentRow) -> Value {
    let mut value = serde_json::to_value(row).unwrap_or(Value::Null);
    let base = format!("/api/v1/report-documents/{}", row.id);
    let mut links =
        json!({"self": base, "pdf": format!("{base}/pdf"), "json": format!("{base}/json")});
    if row.kind.has_csv() {
        links["csv"] = json!(format!("{base}/csv"));
    }
    value["links"] = links;
    value
}

async fn actor(state: &AppState, caller: &ApiCaller) -> String {
    state
        .store
        .api_token_label(caller.0.org, caller.0.token_id)
        .await
        .unwrap_or_else(|_| format!("API token {}", caller.0.token_id))
}

pub async fn generate(
    State(state): State<Arc<AppState>>,
    caller: ApiCaller,
    body: Result<Json<GenerateBody>, JsonRejection>,
) -> Result<Response, ApiError> {
    let org = caller.require(Scope::Admin, "generate reports")?;
    let Json(body) = body?;
    let request = documents::check_request(
        &body.kind,
        body.scope.as_deref(),
        &body.from,
        &body.to,
        Day::of(state.now()),
    )
    .map_err(ApiError::BadRequest)?;
    let actor = actor(&state, &caller).await;
    let (row, created) = documents::request(&state, org, &request, &actor).await?;
    let message = if created {
        "building; GET the document until its status is ready".to_owned()
    } else {
        format!(
            "the identical report (document {}) is already building; this request joined it",
            row.id
        )
    };
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({"created": created, "message": message, "document": with_links(&row)})),
    )
        .into_response())
}

pub async fn list(
    State(state): State<Arc<AppState>>,
    caller: ApiCaller,
    Query(params): Query<ListParams>,
) -> Result<Json<Value>, ApiError> {
    let org = caller.0.org;
    let kind = match params
        .kind
        .as_deref()
        .map(str::trim)
        .filter(|k| !k.is_empty() && *k != "all")
    {
        Some(text) => Some(ReportKind::parse(text).ok_or_else(|| {
            ApiError::BadRequest(format!(
                "kind must be one of chargeback, soc2, hipaa, gdpr, not \"{text}\""
            ))
        })?),
        None => None,
    };
    let rows = documents::list(&state, org, kind).await?;
    let building = rows
        .iter()
        .filter(|r| r.status == ReportStatus::Building)
        .count();
    Ok(Json(json!({
        "count": rows.len(),
        "building": building,
        "documents": rows.iter().map(with_links).collect::<Vec<_>>(),
    })))
}

fn parse_id(text: &str) -> Result<i64, ApiError> {
    text.parse::<i64>()
        .map_err(|_| ApiError::BadRequest(format!("a report id is a number, not \"{text}\"")))
}

pub async fn get(
    State(state): State<Arc<AppState>>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = parse_id(&id)?;
    let row = state
        .store
        .report_document(caller.0.org, id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("report {id}")))?;
    Ok(Json(with_links(&row)))
}

pub async fn download(
    State(state): State<Arc<AppState>>,
    caller: ApiCaller,
    Path((id, format)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let format = ReportFormat::parse(&format)
        .ok_or_else(|| ApiError::NotFound(format!("format \"{format}\" (use pdf, csv or json)")))?;
    file_response(&state, caller.0.org, id, format).await
}

/// A stored file as a download, shared with the dashboard.
pub async fn file_response(
    state: &AppState,
    org: spendlens_store::OrgId,
    id: i64,
    format: ReportFormat,
) -> Result<Response, ApiError> {
    let row = state.store.report_document(org, id).await?.ok_or_else(|| {
        ApiError::NotFound(format!("report {id} (it was deleted, or never existed)"))
    })?;
    match row.status {
        ReportStatus::Building => {
            return Err(ApiError::Conflict(format!(
                "report {id} is still building; try again in a few seconds"
            )));
        }
        ReportStatus::Failed => {
            return Err(ApiError::Conflict(format!(
                "report {id} failed and has no files: {}",
                row.error.as_deref().unwrap_or("no reason recorded")
            )));
        }
        ReportStatus::Ready => {}
    }
    if format == ReportFormat::Csv && !row.kind.has_csv() {
        return Err(ApiError::NotFound(format!(
            "a CSV of report {id} ({} reports are a PDF and JSON)",
            row.kind.title()
        )));
    }
    let bytes = state
        .store
        .report_file(org, id, format)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("the {} of report {id}", format.as_str())))?;
    let (content_type, extension) = match format {
        ReportFormat::Pdf => ("application/pdf", "pdf"),
        ReportFormat::Csv => ("text/csv; charset=utf-8", "csv"),
        ReportFormat::Json => ("application/json", "json"),
    };
    let hash = match format {
        ReportFormat::Pdf => row.pdf_sha256.clone(),
        ReportFormat::Csv => row.csv_sha256.clone(),
        ReportFormat::Json => row.json_sha256.clone(),
    }
    .unwrap_or_default();
    Ok((
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!(
                    "attachment; filename=\"{}\"",
                    documents::file_name(&row, extension)
                ),
            ),
            (header::HeaderName::from_static("x-content-sha256"), hash),
        ],
        bytes,
    )
        .into_response())
}

pub async fn remove(
    State(state): State<Arc<AppState>>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let org = caller.require(Scope::Admin, "delete reports")?;
    let id = parse_id(&id)?;
    let actor = actor(&state, &caller).await;
    let row = documents::delete(&state, org, id, &actor)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("report {id}")))?;
    Ok(Json(json!({"deleted": row})))
}

#[derive(Debug, Deserialize)]
pub struct ScheduleBody {
    pub kind: String,
    #[serde(default)]
    pub scope: Option<String>,
}

pub async fn list_schedules(
    State(state): State<Arc<AppState>>,
    caller: ApiCaller,
) -> Result<Json<Value>, ApiError> {
    let rows = state.store.report_schedules(caller.0.org).await?;
    Ok(Json(json!({"count": rows.len(), "schedules": rows})))
}

pub async fn create_schedule(
    State(state): State<Arc<AppState>>,
    caller: ApiCaller,
    body: Result<Json<ScheduleBody>, JsonRejection>,
) -> Result<Response, ApiError> {
    let org = caller.require(Scope::Admin, "schedule reports")?;
    let Json(body) = body?;
    let actor = actor(&state, &caller).await;
    let row = documents::schedule(&state, org, &body.kind, body.scope.as_deref(), &actor).await?;
    Ok((StatusCode::CREATED, Json(json!({"schedule": row}))).into_response())
}

pub async fn remove_schedule(
    State(state): State<Arc<AppState>>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let org = caller.require(Scope::Admin, "remove report schedules")?;
    let id = parse_id(&id)?;
    let actor = actor(&state, &caller).await;
    let row = documents::unschedule(&state, org, id, &actor)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("report schedule {id}")))?;
    Ok(Json(json!({"deleted": row})))
}

/// The paths for the OpenAPI document.
pub fn document_paths(doc: &mut Value, with_errors: &dyn Fn(Value) -> Value) {
    let id = json!({"name": "id", "in": "path", "required": true, "schema": {"type": "integer"}});
    let document = json!({"type": "object", "properties": {
        "id": {"type": "integer"},
        "kind": {"type": "string", "enum": ["chargeback", "soc2", "hipaa", "gdpr"]},
        "scope": {"type": "string", "description": "all, customer:NAME or workspace:NAME"},
        "period_from": {"type": "string", "format": "date"},
        "period_to": {"type": "string", "format": "date"},
        "status": {"type": "string", "enum": ["building", "ready", "failed"]},
        "requested_by": {"type": "string"},
        "requested_at": {"type": "string", "format": "date-time"},
        "generated_at": {"type": ["string", "null"], "format": "date-time"},
        "error": {"type": ["string", "null"]},
        "pdf_sha256": {"type": ["string", "null"]},
        "csv_sha256": {"type": ["string", "null"]},
        "json_sha256": {"type": ["string", "null"]},
        "content_sha256": {"type": ["string", "null"], "description": "SHA-256 of the pdf, csv (empty when none) and json hashes joined by newlines"},
        "pdf_bytes": {"type": "integer"}, "csv_bytes": {"type": "integer"}, "json_bytes": {"type": "integer"},
        "links": {"type": "object", "additionalProperties": {"type": "string"}}
    }});
    let schedule = json!({"type": "object", "properties": {
        "id": {"type": "integer"}, "kind": {"type": "string"}, "scope": {"type": "string"},
        "cadence": {"type": "string", "enum": ["monthly"]}, "created_by": {"type": "string"},
        "created_at": {"type": "string", "format": "date-time"},
        "last_period_to": {"type": ["string", "null"], "format": "date", "description": "The last day of the last month generated"}}});
    let paths = json!({
        "/report-schedules": {
            "get": {"summary": "Monthly report schedules.",
                "responses": with_errors(json!({"200": {"description": "Schedules", "content": {"application/json": {"schema": {"type": "object", "properties": {"count": {"type": "integer"}, "schedules": {"type": "array", "items": schedule}}}}}}}))},
            "post": {"summary": "Generate a report every month (on the 1st, UTC) for the month before; a schedule added mid-month generates the month before at once. Admin tokens only; audited.",
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["kind"], "properties": {
                    "kind": {"type": "string", "enum": ["chargeback", "soc2", "hipaa", "gdpr"]},
                    "scope": {"type": "string", "description": "chargeback: all (default), customer:NAME or workspace:NAME"}}}}}},
                "responses": with_errors(json!({"201": {"description": "Scheduled", "content": {"application/json": {"schema": {"type": "object", "properties": {"schedule": schedule}}}}}}))}
        },
        "/report-schedules/{id}": {
            "delete": {"summary": "Stop a schedule (the reports it generated stay). Admin tokens only; audited.", "parameters": [id.clone()],
                "responses": with_errors(json!({"200": {"description": "Removed", "content": {"application/json": {"schema": {"type": "object", "properties": {"deleted": schedule}}}}}}))}
        },
        "/report-documents": {
            "get": {
                "summary": "Stored reports, newest first. Builds left by a stopped server are failed first.",
                "parameters": [{"name": "kind", "in": "query", "required": false, "schema": {"type": "string", "enum": ["all", "chargeback", "soc2", "hipaa", "gdpr"]}}],
                "responses": with_errors(json!({"200": {"description": "Documents", "content": {"application/json": {"schema": {"type": "object", "properties": {
                    "count": {"type": "integer"}, "building": {"type": "integer"},
                    "documents": {"type": "array", "items": document}}}}}}}))
            },
            "post": {
                "summary": "Generate a report for a period (at most 5 years, UTC days, inclusive): a chargeback for a scope (PDF, CSV, JSON), or SOC 2 / HIPAA / GDPR compliance evidence for the organization (PDF, JSON; both hash chains checked and the result stated). Answers 202 while it builds; an identical report already building is returned (created: false) instead of a second build. Admin tokens only; audited.",
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["kind", "from", "to"], "properties": {
                    "kind": {"type": "string", "enum": ["chargeback", "soc2", "hipaa", "gdpr"]},
                    "scope": {"type": "string", "description": "chargeback: all (default), customer:NAME or workspace:NAME; compliance: left out (the organization)"},
                    "from": {"type": "string", "format": "date"},
                    "to": {"type": "string", "format": "date"}}}}}},
                "responses": with_errors(json!({"202": {"description": "Building", "content": {"application/json": {"schema": {"type": "object", "properties": {
                    "created": {"type": "boolean"}, "message": {"type": "string"}, "document": document}}}}}}))
            }
        },
        "/report-documents/{id}": {
            "get": {"summary": "One stored report (status, hashes, sizes, links).", "parameters": [id],
                "responses": with_errors(json!({"200": {"description": "The document", "content": {"application/json": {"schema": document}}}}))},
            "delete": {"summary": "Delete a stored report (audited, with its content hash). Admin tokens only.", "parameters": [id],
                "responses": with_errors(json!({"200": {"description": "Deleted", "content": {"application/json": {"schema": {"type": "object", "properties": {"deleted": document}}}}}}))}
        },
        "/report-documents/{id}/{format}": {
            "get": {
                "summary": "Download a ready report: pdf, csv (chargeback: one file, every section, a `section` column) or json (the figures, exact and as shown). 409 while it builds or when it failed; 404 once deleted. The stored SHA-256 is checked first and sent as X-Content-SHA256.",
                "parameters": [id, {"name": "format", "in": "path", "required": true, "schema": {"type": "string", "enum": ["pdf", "csv", "json"]}}],
                "responses": with_errors(json!({"200": {"description": "The file", "content": {
                    "application/pdf": {"schema": {"type": "string", "format": "binary"}},
                    "text/csv": {"schema": {"type": "string"}},
                    "application/json": {"schema": {"type": "object"}}}}}))
            }
        }
    });
    if let (Some(target), Value::Object(extra)) =
        (doc.get_mut("paths").and_then(Value::as_object_mut), paths)
    {
        target.extend(extra);
    }
}
