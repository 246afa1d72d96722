//! Budgets over the API: caps (`/budgets`: list, create, read, edit, delete, versions), their
//! status (`/budgets/status`, `/budgets/{id}/status`), and the check gateways call before a
//! model call (`POST /budgets/check`, with an optional reservation released by
//! `DELETE /budgets/reservations/{id}` or settled by the call's metered event). Any token
//! reads and checks (an ingest key checks too); changes need the `admin` scope and are audited
//! in the store's transaction.

use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use spendlens_domain::Scope;
use spendlens_domain::budget::CapScope;
use spendlens_domain::budget::overlap::Overlap;
use spendlens_store::{BudgetCapRow, OrgId, overlaps_of};
use time::Duration;

use crate::AppState;
use crate::auth::{ApiCaller, ApiOrg, CheckAuth};
use crate::budgets::input::{CapInput, cap_json, version_json};
use crate::budgets::{CheckRequest, DEFAULT_RESERVATION_TTL, MAX_RESERVATION_TTL};
use crate::error::ApiError;

const ACTOR: &str = "api token";

pub async fn list(
    State(state): State<Arc<AppState>>,
    ApiOrg(org): ApiOrg,
) -> Result<Response, ApiError> {
    let caps = state.store().list_budget_caps(org).await?;
    let enabled = caps.iter().filter(|c| c.spec.enabled).count();
    Ok(Json(json!({
        "count": caps.len(),
        "enabled": enabled,
        "disabled": caps.len() - enabled,
        "budgets": caps.iter().map(cap_json).collect::<Vec<_>>(),
        "overlaps": overlaps_of(&caps),
    }))
    .into_response())
}

/// A saved cap's JSON with `warnings`: the overlaps (duplicates, caps that can never deny
/// alone) that involve it once saved.
async fn with_warnings(
    state: &AppState,
    org: OrgId,
    cap: &BudgetCapRow,
) -> Result<Value, ApiError> {
    let caps = state.store().list_budget_caps(org).await?;
    let warnings: Vec<Overlap> = overlaps_of(&caps)
        .into_iter()
        .filter(|o| o.cap == cap.id || o.by == cap.id)
        .collect();
    let mut value = cap_json(cap);
    if let Value::Object(map) = &mut value {
        map.insert("warnings".to_owned(), json!(warnings));
    }
    Ok(value)
}

pub async fn get(
    State(state): State<Arc<AppState>>,
    ApiOrg(org): ApiOrg,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    let cap = state.store().get_budget_cap(org, id).await?;
    Ok(Json(cap_json(&cap)).into_response())
}

pub async fn versions(
    State(state): State<Arc<AppState>>,
    ApiOrg(org): ApiOrg,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    let versions = state.store().budget_cap_versions(org, id).await?;
    Ok(Json(json!({
        "count": versions.len(),
        "versions": versions.iter().map(version_json).collect::<Vec<_>>(),
    }))
    .into_response())
}

pub async fn create(
    State(state): State<Arc<AppState>>,
    caller: ApiCaller,
    body: Result<Json<CapInput>, JsonRejection>,
) -> Result<Response, ApiError> {
    let org = caller.require(Scope::Admin, "change budgets")?;
    let Json(input) = body?;
    let spec = input.into_spec().map_err(ApiError::BadRequest)?;
    let cap = state
        .store()
        .create_budget_cap(org, &spec, ACTOR, state.now())
        .await?;
    state.budgets.invalidate(org);
    let body = with_warnings(&state, org, &cap).await?;
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

pub async fn update(
    State(state): State<Arc<AppState>>,
    caller: ApiCaller,
    Path(id): Path<i64>,
    body: Result<Json<CapInput>, JsonRejection>,
) -> Result<Response, ApiError> {
    let org = caller.require(Scope::Admin, "change budgets")?;
    let Json(input) = body?;
    let expected = input.expected_version;
    let spec = input.into_spec().map_err(ApiError::BadRequest)?;
    let (before, after) = state
        .store()
        .update_budget_cap(org, id, &spec, expected, ACTOR, state.now())
        .await?;
    state.budgets.invalidate(org);
    let after = with_warnings(&state, org, &after).await?;
    Ok(Json(json!({"before": cap_json(&before), "budget": after})).into_response())
}

pub async fn delete(
    State(state): State<Arc<AppState>>,
    caller: ApiCaller,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    let org = caller.require(Scope::Admin, "delete budgets")?;
    let cap = state
        .store()
        .delete_budget_cap(org, id, ACTOR, state.now())
        .await?;
    state.budgets.invalidate(org);
    Ok(Json(json!({"deleted": cap_json(&cap)})).into_response())
}

pub async fn status(
    State(state): State<Arc<AppState>>,
    ApiOrg(org): ApiOrg,
) -> Result<Response, ApiError> {
    let statuses = state
        .budgets
        .statuses(state.store(), org, state.now())
        .await?;
    Ok(Json(json!({
        "count": statuses.len(),
        "at": state.now().format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
        "budgets": statuses,
    }))
    .into_response())
}

pub async fn status_one(
    State(state): State<Arc<AppState>>,
    ApiOrg(org): ApiOrg,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    let statuses = state
        .budgets
        .statuses(state.store(), org, state.now())
        .await?;
    let one = statuses
        .into_iter()
        .find(|s| s.id == id)
        .ok_or_else(|| ApiError::NotFound(format!("budget {id}")))?;
    Ok(Json(one).into_response())
}

/// `POST /budgets/check`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckInput {
    #[serde(default)]
    pub provider: Option<String>,
    #[serde(default)]
    pub workspace: Option<String>,
    #[serde(default)]
    pub api_key: Option<String>,
    #[serde(default)]
    pub customer: Option<String>,
    #[serde(default)]
    pub model: Option<String>,
    /// USD as decimal text or a number; `null`/absent: the call has no price.
    #[serde(default)]
    pub estimated_cost: Option<Value>,
    /// Hold the estimate until the metered event with this id arrives.
    #[serde(default)]
    pub reservation_id: Option<String>,
    /// Seconds the reservation is held at most (default 60, at most 3600).
    #[serde(default)]
    pub reservation_ttl_seconds: Option<i64>,
}

impl CheckInput {
    pub fn into_request(self) -> Result<CheckRequest, String> {
        let estimate = match self.estimated_cost {
            None | Some(Value::Null) => None,
            Some(value) => {
                let text = match &value {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                let money = spendlens_domain::Money::parse_units(text.trim()).map_err(|_| {
                    format!(
                        "estimated_cost must be an amount in USD such as \"0.0125\", not {value}"
                    )
                })?;
                if money.is_negative() {
                    return Err(format!("estimated_cost cannot be negative ({text})"));
                }
                Some(money)
            }
        };
        let reservation = match self.reservation_id.map(|r| r.trim().to_owned()) {
            None => None,
            Some(id) if id.is_empty() || id.len() > 200 => {
                return Err("reservation_id must be 1 to 200 characters: the id the call's metered event will carry".to_owned());
            }
            Some(id) => {
                let ttl = match self.reservation_ttl_seconds {
                    None => DEFAULT_RESERVATION_TTL,
                    Some(s) if (1..=MAX_RESERVATION_TTL.whole_seconds()).contains(&s) => {
                        Duration::seconds(s)
                    }
                    Some(s) => {
                        return Err(format!(
                            "reservation_ttl_seconds must be from 1 to {}, not {s}",
                            MAX_RESERVATION_TTL.whole_seconds()
                        ));
                    }
                };
                Some((id, ttl))
            }
        };
        Ok(CheckRequest {
            call: CapScope::call(
                self.provider.as_deref(),
                self.workspace.as_deref(),
                self.api_key.as_deref(),
                self.customer.as_deref(),
                self.model.as_deref(),
            ),
            estimate,
            reservation,
        })
    }
}

pub async fn check(
    State(state): State<Arc<AppState>>,
    CheckAuth(org): CheckAuth,
    body: Result<Json<CheckInput>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(input) = body?;
    let request = input.into_request().map_err(ApiError::BadRequest)?;
    let answer = state
        .budgets
        .check(state.store(), org, request, state.now())
        .await?;
    Ok(Json(answer).into_response())
}

pub async fn release(
    State(state): State<Arc<AppState>>,
    CheckAuth(org): CheckAuth,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let released = state.budgets.release(org, &id);
    Ok(Json(json!({"reservation_id": id, "released": released})).into_response())
}

/// The budgets' paths and schemas in the OpenAPI document.
pub fn document_paths(doc: &mut Value, with_errors: &dyn Fn(Value) -> Value) {
    let id = json!([{"name": "id", "in": "path", "required": true, "schema": {"type": "integer"}}]);
    let ok = |description: &str, schema: Value| json!({"description": description, "content": {"application/json": {"schema": schema}}});
    let cap = json!({"$ref": "#/components/schemas/BudgetCap"});
    let overlap = json!({"type": "object", "properties": {
        "kind": {"type": "string", "enum": ["duplicate", "shadowed"]},
        "cap": {"type": "integer", "description": "The redundant cap"},
        "by": {"type": "integer", "description": "The cap that makes it redundant"},
        "message": {"type": "string"}}});
    let status = json!({"$ref": "#/components/schemas/BudgetStatus"});
    let body = json!({"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/BudgetCapInput"}}}});
    let money =
        |d: &str| json!({"type": "string", "description": format!("{d} (USD, exact decimal)")});
    let paths = json!({
        "/budgets": {
            "get": {"summary": "Budget caps, with how many are enabled and disabled, and the overlapping caps worth a warning: a duplicate (same scope and period: only the lower limit can deny) or a shadowed cap (another enabled cap governs every call it governs, over a period containing its own, with a limit no higher: it can never deny a call the other would allow)", "responses": with_errors(json!({"200": ok("Caps", json!({"type": "object", "properties": {
                "count": {"type": "integer"}, "enabled": {"type": "integer"}, "disabled": {"type": "integer"}, "budgets": {"type": "array", "items": cap},
                "overlaps": {"type": "array", "items": overlap.clone()}}}))}))},
            "post": {"summary": "Add a cap (admin; audited). A tenant cap above the tightest enabled platform cap governing it is refused (400), naming that cap. The answer's `warnings` lists the overlaps (see GET) this cap takes part in; an overlap is allowed, not refused", "requestBody": body,
                "responses": with_errors(json!({"201": ok("Added (version 1), with `warnings`", json!({"allOf": [cap.clone(), {"type": "object", "properties": {"warnings": {"type": "array", "items": overlap.clone()}}}]})), "409": {"description": "A cap with this name exists."}}))}
        },
        "/budgets/status": {"get": {"summary": "Every cap's status now: spend (the bill through each provider's complete-through day + metered calls after it; key and customer caps: metered calls) + open reservations, limit, period start and end (UTC, end exclusive), utilization, remaining and state (ok, soft, hard)",
            "responses": with_errors(json!({"200": ok("Statuses", json!({"type": "object", "properties": {"count": {"type": "integer"}, "at": {"type": "string", "format": "date-time"}, "budgets": {"type": "array", "items": status}}}))}))}},
        "/budgets/check": {"post": {"summary": "Check a call before making it: allowed when its estimated cost fits in the least remaining of every enabled cap governing it (tightest wins). With reservation_id the estimate is held until the metered event with that id is ingested, the reservation is released or its TTL ends, so concurrent calls cannot together pass a hard cap. An ingest key or any API token may check",
            "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "properties": {
                "provider": {"type": "string"}, "workspace": {"type": "string"}, "api_key": {"type": "string"}, "customer": {"type": "string"}, "model": {"type": "string"},
                "estimated_cost": {"type": ["string", "number", "null"], "description": "USD; absent or null: unpriced, each cap's unpriced policy decides"},
                "reservation_id": {"type": "string", "description": "The id the call's metered event will carry"},
                "reservation_ttl_seconds": {"type": "integer", "default": 60, "minimum": 1, "maximum": 3600}}}}}},
            "responses": with_errors(json!({"200": ok("The decision (allowed or denied: both 200)", json!({"type": "object", "properties": {
                "allowed": {"type": "boolean"}, "decision": {"type": "string", "enum": ["allow", "deny"]},
                "binding_cap": {"type": ["object", "null"], "properties": {"id": {"type": "integer"}, "name": {"type": "string"}}},
                "remaining": {"type": ["string", "null"], "description": "The binding cap's remaining before this call (USD)"},
                "reason": {"type": "string"}, "reserved": {"type": "boolean"}, "reservation_id": {"type": ["string", "null"]},
                "reservation_expires_at": {"type": ["string", "null"], "format": "date-time"},
                "caps": {"type": "array", "items": {"type": "object", "properties": {"id": {"type": "integer"}, "remaining": money("Remaining before this call")}}}}}))}))}},
        "/budgets/reservations/{id}": {"parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
            "delete": {"summary": "Release a reservation whose call will not happen", "responses": with_errors(json!({"200": ok("Released or not open", json!({"type": "object", "properties": {"reservation_id": {"type": "string"}, "released": {"type": "boolean"}}}))}))}},
        "/budgets/{id}": {
            "parameters": id,
            "get": {"summary": "One cap", "responses": with_errors(json!({"200": ok("The cap", cap.clone())}))},
            "put": {"summary": "Replace a cap's definition (admin; audited); its version goes up and the old one stays in its versions. expected_version refuses the edit (409) when the cap changed since it was read", "requestBody": body,
                "responses": with_errors(json!({"200": ok("Before and after", json!({"type": "object", "properties": {"before": cap, "budget": cap}})), "409": {"description": "Name taken, or the cap is at another version."}}))},
            "delete": {"summary": "Delete a cap (admin; audited); its versions stay", "responses": with_errors(json!({"200": ok("Deleted", json!({"type": "object", "properties": {"deleted": cap}}))}))}
        },
        "/budgets/{id}/versions": {"parameters": id, "get": {"summary": "Every version of a cap, newest first (created, edited, deleted), with who and when",
            "responses": with_errors(json!({"200": ok("Versions", json!({"type": "object", "properties": {"count": {"type": "integer"}, "versions": {"type": "array", "items": {"type": "object"}}}}))}))}},
        "/budgets/{id}/status": {"parameters": id, "get": {"summary": "One cap's status", "responses": with_errors(json!({"200": ok("Status", status.clone())}))}}
    });
    let input = json!({
        "name": {"type": "string"},
        "provider": {"type": ["string", "null"]}, "workspace": {"type": ["string", "null"], "description": "The workspace's display name"},
        "api_key": {"type": ["string", "null"], "description": "As metered calls carry it"}, "customer": {"type": ["string", "null"]}, "model": {"type": ["string", "null"]},
        "period": {"type": "string", "enum": ["DAILY", "WEEKLY", "MONTHLY"], "description": "UTC; [start, end); weeks start Monday 00:00 UTC"},
        "limit": {"type": ["string", "number"], "description": "USD, above 0 and at most 10000000"},
        "soft_pct": {"type": "integer", "minimum": 1, "maximum": 100, "default": 80},
        "enabled": {"type": "boolean", "default": true},
        "provenance": {"type": "string", "enum": ["platform", "tenant"], "default": "platform", "description": "tenant: a customer's own cap (needs customer), at or below the platform cap governing it"},
        "unpriced": {"type": "string", "enum": ["fail_open", "fail_closed"], "default": "fail_open"},
        "expected_version": {"type": "integer", "description": "Edits only"}
    });
    let schemas = json!({
        "BudgetCapInput": {"type": "object", "required": ["name", "period", "limit"], "properties": input},
        "BudgetCap": {"type": "object", "properties": {
            "id": {"type": "integer"}, "version": {"type": "integer"}, "name": {"type": "string"}, "scope": {"type": "string"},
            "provider": {"type": ["string", "null"]}, "workspace": {"type": ["string", "null"]}, "api_key": {"type": ["string", "null"]},
            "customer": {"type": ["string", "null"]}, "model": {"type": ["string", "null"]},
            "period": {"type": "string"}, "period_boundaries": {"type": "string"}, "limit": money("Limit"), "soft_pct": {"type": "integer"}, "soft_limit": money("Soft limit"),
            "enabled": {"type": "boolean"}, "provenance": {"type": "string"}, "unpriced": {"type": "string"},
            "created_at": {"type": "string", "format": "date-time"}, "updated_at": {"type": "string", "format": "date-time"}, "updated_by": {"type": "string"}}},
        "BudgetStatus": {"type": "object", "properties": {
            "id": {"type": "integer"}, "name": {"type": "string"}, "scope": {"type": "string"}, "period": {"type": "string"}, "period_boundaries": {"type": "string"},
            "period_start": {"type": "string", "format": "date-time"}, "period_end": {"type": "string", "format": "date-time", "description": "Exclusive"},
            "limit": money("Limit"), "soft_pct": {"type": "integer"}, "soft_limit": money("Soft limit"),
            "spend": money("Settled + reserved"), "settled": money("Settled"), "reserved": money("Open reservations"),
            "utilization_pct": {"type": "string"}, "remaining": money("Limit − spend"), "state": {"type": "string", "enum": ["ok", "soft", "hard"]},
            "enabled": {"type": "boolean"}, "provenance": {"type": "string"}, "source": {"type": "string", "enum": ["bill_then_metered", "metered"]},
            "unpriced_calls": {"type": "integer", "description": "Metered calls in the period without a price (not in spend: unknown, not zero)"}}}
    });
    for (section, extra) in [("paths", paths), ("schemas", schemas)] {
        let target = if section == "paths" {
            doc.get_mut("paths")
        } else {
            doc.get_mut("components").and_then(|c| c.get_mut("schemas"))
        };
        if let (Some(target), Value::Object(extra)) = (target.and_then(Value::as_object_mut), extra)
        {
            target.extend(extra);
        }
    }
}
