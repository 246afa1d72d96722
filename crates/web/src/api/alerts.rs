//! Alerts over the API: rules (`/alerts/rules`), channels (`/alerts/channels`; a webhook's
//! signing secret is shown once, at creation), the history of firings, the delivery log, and
//! the SMTP settings (the password is write-only). Any token reads; changes need the `admin`
//! scope and are audited.

use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use spendlens_domain::Scope;

use crate::AppState;
use crate::alerts::input::{
    ChannelInput, RuleInput, SmtpInput, channel_json, describe_rule, rule_json,
};
use crate::auth::{ApiCaller, ApiOrg};
use crate::error::ApiError;

/// The caller as the audit log names it: `api token <id>`.
fn actor_name(caller: &ApiCaller) -> String {
    format!("api token {}", caller.0.token_id)
}

pub async fn list_rules(
    State(state): State<Arc<AppState>>,
    ApiOrg(org): ApiOrg,
) -> Result<Response, ApiError> {
    let rules = state.store().list_alert_rules(org).await?;
    Ok(Json(json!({
        "count": rules.len(),
        "rules": rules.iter().map(rule_json).collect::<Vec<_>>(),
    }))
    .into_response())
}

pub async fn get_rule(
    State(state): State<Arc<AppState>>,
    ApiOrg(org): ApiOrg,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    let rule = state.store().get_alert_rule(org, id).await?;
    Ok(Json(rule_json(&rule)).into_response())
}

pub async fn create_rule(
    State(state): State<Arc<AppState>>,
    caller: ApiCaller,
    body: Result<Json<RuleInput>, JsonRejection>,
) -> Result<Response, ApiError> {
    let org = caller.require(Scope::Admin, "change alert rules")?;
    let Json(input) = body?;
    let rule = input.into_rule().map_err(ApiError::BadRequest)?;
    let name = actor_name(&caller);
    let actor = spendlens_store::Actor {
        name: &name,
        at: state.now(),
    };
    let added = state
        .store()
        .create_alert_rule(org, &rule, actor, describe_rule)
        .await?;
    Ok((StatusCode::CREATED, Json(rule_json(&added))).into_response())
}

pub async fn update_rule(
    State(state): State<Arc<AppState>>,
    caller: ApiCaller,
    Path(id): Path<i64>,
    body: Result<Json<RuleInput>, JsonRejection>,
) -> Result<Response, ApiError> {
    let org = caller.require(Scope::Admin, "change alert rules")?;
    let Json(input) = body?;
    let rule = input.into_rule().map_err(ApiError::BadRequest)?;
    let name = actor_name(&caller);
    let actor = spendlens_store::Actor {
        name: &name,
        at: state.now(),
    };
    let (before, after) = state
        .store()
        .update_alert_rule(org, id, &rule, actor, describe_rule)
        .await?;
    Ok(Json(json!({"before": rule_json(&before), "rule": rule_json(&after)})).into_response())
}

pub async fn delete_rule(
    State(state): State<Arc<AppState>>,
    caller: ApiCaller,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    let org = caller.require(Scope::Admin, "delete alert rules")?;
    let name = actor_name(&caller);
    let actor = spendlens_store::Actor {
        name: &name,
        at: state.now(),
    };
    let deleted = state
        .store()
        .delete_alert_rule(org, id, actor, describe_rule)
        .await?;
    Ok(Json(json!({"deleted": rule_json(&deleted)})).into_response())
}

pub async fn list_channels(
    State(state): State<Arc<AppState>>,
    ApiOrg(org): ApiOrg,
) -> Result<Response, ApiError> {
    let channels = state.store().list_alert_channels(org).await?;
    Ok(Json(json!({
        "count": channels.len(),
        "channels": channels.iter().map(channel_json).collect::<Vec<_>>(),
    }))
    .into_response())
}

pub async fn create_channel(
    State(state): State<Arc<AppState>>,
    caller: ApiCaller,
    body: Result<Json<ChannelInput>, JsonRejection>,
) -> Result<Response, ApiError> {
    let org = caller.require(Scope::Admin, "change alert channels")?;
    let Json(input) = body?;
    let checked = input.check().map_err(ApiError::BadRequest)?;
    let name = actor_name(&caller);
    let actor = spendlens_store::Actor {
        name: &name,
        at: state.now(),
    };
    let added = state
        .store()
        .create_alert_channel(
            org,
            &spendlens_store::NewAlertChannel {
                name: &checked.name,
                kind: checked.kind,
                target: &checked.target,
                secret: checked.secret.as_deref(),
            },
            state.sync.vault(),
            actor,
            |added| {
                channel_json(added)["target"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned()
            },
        )
        .await?;
    let mut body = json!({"channel": channel_json(&added)});
    if checked.generated_secret {
        body["secret"] = Value::String(checked.secret.unwrap_or_default());
        body["note"] = Value::String(
            "the signing secret is shown once; verify X-Spendlens-Signature with it".to_owned(),
        );
    }
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

pub async fn delete_channel(
    State(state): State<Arc<AppState>>,
    caller: ApiCaller,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    let org = caller.require(Scope::Admin, "delete alert channels")?;
    let name = actor_name(&caller);
    let actor = spendlens_store::Actor {
        name: &name,
        at: state.now(),
    };
    let deleted = state.store().delete_alert_channel(org, id, actor).await?;
    Ok(Json(json!({"deleted": channel_json(&deleted)})).into_response())
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitParams {
    /// Rows, newest first (default 100, at most 1000).
    pub limit: Option<i64>,
}

fn limit(params: &LimitParams) -> Result<i64, ApiError> {
    match params.limit {
        None => Ok(100),
        Some(n) if (1..=1000).contains(&n) => Ok(n),
        Some(n) => Err(ApiError::BadRequest(format!("limit is 1 to 1000, got {n}"))),
    }
}

pub async fn history(
    State(state): State<Arc<AppState>>,
    ApiOrg(org): ApiOrg,
    params: Result<Query<LimitParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(params) = params.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let firings = state
        .store()
        .list_alert_firings(org, limit(&params)?)
        .await?;
    Ok(Json(json!({"count": firings.len(), "firings": firings})).into_response())
}

pub async fn deliveries(
    State(state): State<Arc<AppState>>,
    ApiOrg(org): ApiOrg,
    params: Result<Query<LimitParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(params) = params.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let rows = state
        .store()
        .list_alert_deliveries(org, limit(&params)?)
        .await?;
    Ok(Json(json!({"count": rows.len(), "deliveries": rows})).into_response())
}

pub async fn get_smtp(
    State(state): State<Arc<AppState>>,
    ApiOrg(org): ApiOrg,
) -> Result<Response, ApiError> {
    let smtp = state.store().alert_smtp(org).await?;
    Ok(Json(json!({"smtp": smtp})).into_response())
}

pub async fn put_smtp(
    State(state): State<Arc<AppState>>,
    caller: ApiCaller,
    body: Result<Json<SmtpInput>, JsonRejection>,
) -> Result<Response, ApiError> {
    let org = caller.require(Scope::Admin, "change the SMTP settings")?;
    let Json(input) = body?;
    let (settings, password) = input.check().map_err(ApiError::BadRequest)?;
    let name = actor_name(&caller);
    let actor = spendlens_store::Actor {
        name: &name,
        at: state.now(),
    };
    let saved = state
        .store()
        .put_alert_smtp(org, &settings, password, state.sync.vault(), actor)
        .await?;
    Ok(Json(json!({"smtp": saved})).into_response())
}

/// The alert paths and schemas, merged into the OpenAPI document.
pub fn document_paths(doc: &mut Value, with_errors: &dyn Fn(Value) -> Value) {
    let id = json!([{"name": "id", "in": "path", "required": true, "schema": {"type": "integer"}}]);
    let ok = |description: &str, schema: Value| json!({"description": description, "content": {"application/json": {"schema": schema}}});
    let rule = json!({"$ref": "#/components/schemas/AlertRule"});
    let rule_body = json!({"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/AlertRuleInput"}}}});
    let channel = json!({"$ref": "#/components/schemas/AlertChannel"});
    let limit = json!([{"name": "limit", "in": "query", "required": false, "description": "Rows, newest first (1 to 1000, default 100)", "schema": {"type": "integer"}}]);
    let smtp = json!({"type": ["object", "null"], "properties": {
        "host": {"type": "string"}, "port": {"type": "integer"}, "security": {"type": "string", "enum": ["starttls", "tls", "none"]},
        "username": {"type": ["string", "null"]}, "from_address": {"type": "string"}, "password_set": {"type": "boolean"}}});
    let paths = json!({
        "/alerts/rules": {
            "get": {"summary": "Alert rules", "responses": with_errors(json!({"200": ok("Rules", json!({"type": "object", "properties": {"count": {"type": "integer"}, "rules": {"type": "array", "items": rule}}}))}))},
            "post": {"summary": "Add a rule (admin)", "requestBody": rule_body,
                "responses": with_errors(json!({"201": ok("Added", rule.clone()), "409": {"description": "A rule with this name exists."}}))}
        },
        "/alerts/rules/{id}": {
            "parameters": id,
            "get": {"summary": "One rule", "responses": with_errors(json!({"200": ok("The rule", rule.clone())}))},
            "put": {"summary": "Replace a rule (admin); its version goes up and it starts armed", "requestBody": rule_body,
                "responses": with_errors(json!({"200": ok("Before and after", json!({"type": "object", "properties": {"before": rule, "rule": rule}}))}))},
            "delete": {"summary": "Delete a rule (admin); its firings stay in the history", "responses": with_errors(json!({"200": ok("Deleted", json!({"type": "object", "properties": {"deleted": rule}}))}))}
        },
        "/alerts/channels": {
            "get": {"summary": "Delivery channels (URLs masked, secrets never shown)", "responses": with_errors(json!({"200": ok("Channels", json!({"type": "object", "properties": {"count": {"type": "integer"}, "channels": {"type": "array", "items": channel}}}))}))},
            "post": {"summary": "Add a channel (admin): webhook (generic JSON signed with HMAC-SHA256), slack or email",
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["name", "kind"], "properties": {
                    "name": {"type": "string"}, "kind": {"type": "string", "enum": ["webhook", "slack", "email"]},
                    "url": {"type": "string", "description": "webhook and slack"}, "to": {"type": "string", "description": "email: addresses, comma-separated"},
                    "secret": {"type": "string", "description": "webhook signing secret (16–200 characters); generated and returned once when absent"}}}}}},
                "responses": with_errors(json!({"201": ok("Added", json!({"type": "object", "properties": {"channel": channel, "secret": {"type": "string", "description": "only when generated"}}}))}))}
        },
        "/alerts/channels/{id}": {"parameters": id, "delete": {"summary": "Delete a channel (admin); rules stop delivering there", "responses": with_errors(json!({"200": ok("Deleted", json!({"type": "object"}))}))}},
        "/alerts/history": {"get": {"summary": "Firings, newest first: the value that crossed, the threshold, the period and delivery counts",
            "parameters": limit.clone(), "responses": with_errors(json!({"200": ok("Firings", json!({"type": "object", "properties": {"count": {"type": "integer"}, "firings": {"type": "array", "items": {"$ref": "#/components/schemas/AlertFiring"}}}}))}))}},
        "/alerts/deliveries": {"get": {"summary": "The delivery log: one row per attempt (outcome delivered, retrying or failed; HTTP status; error)",
            "parameters": limit, "responses": with_errors(json!({"200": ok("Attempts", json!({"type": "object", "properties": {"count": {"type": "integer"}, "deliveries": {"type": "array", "items": {"type": "object"}}}}))}))}},
        "/alerts/smtp": {
            "get": {"summary": "The SMTP settings for email channels (the password is never returned)", "responses": with_errors(json!({"200": ok("Settings", json!({"type": "object", "properties": {"smtp": smtp}}))}))},
            "put": {"summary": "Set the SMTP settings (admin); an absent password keeps the stored one, \"\" clears it",
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["host", "from"], "properties": {
                    "host": {"type": "string"}, "port": {"type": "integer"}, "security": {"type": "string", "enum": ["starttls", "tls", "none"], "default": "starttls"},
                    "username": {"type": "string"}, "password": {"type": "string", "writeOnly": true}, "from": {"type": "string"}}}}}},
                "responses": with_errors(json!({"200": ok("Saved", json!({"type": "object", "properties": {"smtp": smtp}}))}))}
        }
    });
    let threshold = json!({"type": "string", "description": "Exact decimal: USD (spend, spend_rate, avg_cost), percent (price_drift) or a count (unpriced_model: calls over it; sync_failing: failed runs in a row)"});
    let input_properties = json!({
        "name": {"type": "string"},
        "kind": {"type": "string", "enum": ["spend", "spend_rate", "avg_cost", "unpriced_model", "price_drift", "sync_failing", "budget_soft", "budget_hard"]},
        "source": {"type": "string", "enum": ["metered", "billed"], "default": "metered", "description": "metered: evaluated within seconds of ingest; billed: after syncs (sync_failing, spend by workspace)"},
        "scope": {"type": "string", "enum": ["org", "provider", "model", "customer", "api_key", "workspace"], "default": "org"},
        "scope_value": {"type": ["string", "null"], "description": "The provider, model, customer, key or workspace; * watches each one on its own"},
        "period": {"type": ["string", "null"], "enum": ["day", "week", "month", null], "description": "UTC calendar periods, weeks from Monday; spend and unpriced_model default to day"},
        "window_hours": {"type": ["integer", "null"], "description": "spend_rate (default 1) and avg_cost over a trailing window instead of a period"},
        "threshold": threshold,
        "min_calls": {"type": "integer", "default": 1, "description": "avg_cost: priced calls needed before the average counts"},
        "channels": {"type": "array", "items": {"type": "integer"}},
        "enabled": {"type": "boolean", "default": true}
    });
    let mut rule_properties = input_properties.clone();
    if let Some(map) = rule_properties.as_object_mut() {
        for (k, v) in [
            ("id", json!({"type": "integer"})),
            ("version", json!({"type": "integer"})),
            ("description", json!({"type": "string"})),
            (
                "created_at",
                json!({"type": "string", "format": "date-time"}),
            ),
            (
                "updated_at",
                json!({"type": "string", "format": "date-time"}),
            ),
        ] {
            map.insert(k.to_owned(), v);
        }
    }
    let schemas = json!({
        "AlertRuleInput": {"type": "object", "required": ["name", "kind", "threshold"], "properties": input_properties},
        "AlertRule": {"type": "object", "properties": rule_properties},
        "AlertChannel": {"type": "object", "properties": {
            "id": {"type": "integer"}, "name": {"type": "string"}, "kind": {"type": "string"},
            "target": {"type": "string", "description": "email addresses, or the URL's scheme and host only"},
            "signed": {"type": "boolean"}, "enabled": {"type": "boolean"}, "created_at": {"type": "string", "format": "date-time"}}},
        "AlertFiring": {"type": "object", "properties": {
            "id": {"type": "integer"}, "rule_id": {"type": ["integer", "null"]}, "rule_name": {"type": "string"}, "kind": {"type": "string"},
            "scope": {"type": "string"}, "subject": {"type": "string"}, "period_key": {"type": "string"},
            "value": {"type": "string"}, "threshold": {"type": "string"}, "message": {"type": "string"},
            "fired_at": {"type": "string", "format": "date-time"},
            "delivered": {"type": "integer"}, "failed": {"type": "integer"}, "pending": {"type": "integer"}}}
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
