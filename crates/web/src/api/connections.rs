//! Connections over the API: add (shape check, live check, encrypted save), list, get, test,
//! a new key (rotation, or resuming a disconnected connection), remove. A secret is never
//! returned: only its hint.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use spendlens_domain::ProviderKind;
use spendlens_store::{Actor, ConnectionId};
use spendlens_sync::connections::{AddConnection, AddConnectionError};

use crate::AppState;
use spendlens_domain::Scope;

use crate::auth::{ApiCaller, ApiOrg};
use crate::error::ApiError;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateConnection {
    pub provider: String,
    pub name: String,
    pub credential: String,
    pub base_url: Option<String>,
    #[serde(default)]
    pub skip_check: bool,
    pub sync_interval_minutes: Option<i64>,
    pub backfill_days: Option<i64>,
    /// Days every sync reads again before the last synced day (0–62); without it, the
    /// provider's own look-back.
    pub lookback_days: Option<i64>,
}

pub async fn list(
    State(state): State<Arc<AppState>>,
    ApiOrg(org): ApiOrg,
) -> Result<Response, ApiError> {
    let connections = state.store().list_connections(org).await?;
    Ok(Json(serde_json::json!({ "connections": connections })).into_response())
}

pub async fn get(
    State(state): State<Arc<AppState>>,
    ApiOrg(org): ApiOrg,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    let connection = state.store().get_connection(org, ConnectionId(id)).await?;
    let services = state
        .store()
        .connection_services(org, connection.id)
        .await?;
    // The connection as listed, with the services of its bill (empty but for Vertex).
    let mut body = serde_json::to_value(&connection)
        .map_err(|e| ApiError::Internal(format!("connection as JSON: {e}")))?;
    body["services"] = serde_json::to_value(&services)
        .map_err(|e| ApiError::Internal(format!("services as JSON: {e}")))?;
    Ok(Json(body).into_response())
}

pub async fn create(
    State(state): State<Arc<AppState>>,
    caller: ApiCaller,
    body: Result<Json<CreateConnection>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, ApiError> {
    let org = caller.require(Scope::Connections, "add connections")?;
    let Json(body) = body?;
    if body
        .base_url
        .as_deref()
        .is_some_and(|u| !u.trim().is_empty())
    {
        caller.require(
            Scope::Admin,
            "set a base URL (it makes the server call the host it names)",
        )?;
    }
    let provider: ProviderKind =
        body.provider
            .parse()
            .map_err(|e: spendlens_domain::provider::UnknownProvider| {
                ApiError::BadRequest(e.to_string())
            })?;
    let name = format!("api token {}", caller.0.token_id);
    let actor = spendlens_store::Actor {
        name: &name,
        at: state.now(),
    };
    let result = state
        .sync
        .add_connection_as(
            org,
            AddConnection {
                provider,
                name: &body.name,
                secret: &body.credential,
                base_url: body.base_url.as_deref(),
                skip_check: body.skip_check,
                sync_interval_secs: body.sync_interval_minutes.unwrap_or(60).saturating_mul(60),
                backfill_days: body.backfill_days.unwrap_or(90),
                lookback_days: body.lookback_days,
            },
            actor,
        )
        .await;
    match result {
        Ok((connection, check)) => Ok((
            StatusCode::CREATED,
            Json(serde_json::json!({
                "connection": connection,
                "check": check.map(|c| c.summary),
            })),
        )
            .into_response()),
        Err(AddConnectionError::Store(store)) => Err(store.into()),
        Err(err @ AddConnectionError::Check(_)) => Err(ApiError::Upstream(err.to_string())),
        Err(err) => Err(ApiError::BadRequest(err.to_string())),
    }
}

pub async fn test(
    State(state): State<Arc<AppState>>,
    caller: ApiCaller,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    let org = caller.require(Scope::Connections, "test connections")?;
    let check = state.sync.test_connection(org, ConnectionId(id)).await?;
    Ok(Json(serde_json::json!({ "ok": true, "summary": check.summary })).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewKey {
    pub credential: String,
}

/// `PUT /connections/{id}/credential`: a rotated key, or one that resumes a disconnected
/// connection. Checked for its shape and live against the connection's own base URL; saved
/// (audited) only when both pass. The connection keeps its id and history.
pub async fn replace_credential(
    State(state): State<Arc<AppState>>,
    caller: ApiCaller,
    Path(id): Path<i64>,
    body: Result<Json<NewKey>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, ApiError> {
    let org = caller.require(Scope::Connections, "give connections a new key")?;
    let Json(body) = body?;
    let name = format!("api token {}", caller.0.token_id);
    let actor = Actor {
        name: &name,
        at: state.now(),
    };
    match state
        .sync
        .replace_credential_as(org, ConnectionId(id), &body.credential, actor)
        .await
    {
        Ok((connection, check)) => Ok(Json(serde_json::json!({
            "connection": connection,
            "check": check.summary,
        }))
        .into_response()),
        Err(AddConnectionError::Store(store)) => Err(store.into()),
        Err(err @ AddConnectionError::Check(_)) => Err(ApiError::Upstream(err.key_not_changed())),
        Err(err) => Err(ApiError::BadRequest(err.key_not_changed())),
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct RemoveParams {
    /// Also delete everything synced through the connection.
    #[serde(default)]
    pub purge: bool,
}

pub async fn remove(
    State(state): State<Arc<AppState>>,
    caller: ApiCaller,
    Path(id): Path<i64>,
    Query(params): Query<RemoveParams>,
) -> Result<Response, ApiError> {
    let org = caller.require(Scope::Connections, "remove connections")?;
    let id = ConnectionId(id);
    let connection = state.store().get_connection(org, id).await?;
    let lost = state
        .store()
        .connection_holdings(org, connection.id)
        .await?
        .describe();
    let name = format!("api token {}", caller.0.token_id);
    let actor = Actor {
        name: &name,
        at: state.now(),
    };
    if params.purge {
        state
            .store()
            .delete_connection(org, id, actor, &format!("deleted {lost}"))
            .await?;
    } else {
        state
            .store()
            .remove_credential(org, id, actor, &format!("kept {lost}"))
            .await?;
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The services of a connection's bill and what each one's choice is.
pub async fn services(
    State(state): State<Arc<AppState>>,
    ApiOrg(org): ApiOrg,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    let connection = state.store().get_connection(org, ConnectionId(id)).await?;
    let services = state
        .store()
        .connection_services(org, connection.id)
        .await?;
    Ok(Json(serde_json::json!({
        "connection_id": connection.id,
        "connection": connection.name,
        "provider": connection.provider,
        "reread_from": state.store().reread_from(org, connection.id).await?,
        "services": services,
    }))
    .into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceChoiceBody {
    /// `include`, `exclude`, or `default` (the kind's default).
    pub choice: String,
}

/// Includes or excludes one service of a connection's bill; audited.
pub async fn set_service(
    State(state): State<Arc<AppState>>,
    caller: ApiCaller,
    Path((id, service_id)): Path<(i64, String)>,
    body: Result<Json<ServiceChoiceBody>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, ApiError> {
    let org = caller.require(Scope::Connections, "choose a connection's services")?;
    let Json(body) = body?;
    let choice =
        spendlens_domain::services::parse_choice(&body.choice).map_err(ApiError::BadRequest)?;
    let outcome = crate::services::choose_service(
        &state,
        org,
        ConnectionId(id),
        &service_id,
        choice,
        &format!("api token {}", caller.0.token_id),
    )
    .await?;
    Ok(Json(serde_json::json!({
        "service": outcome.service,
        "reread_from": outcome.reread_from,
        "message": outcome.message,
    }))
    .into_response())
}

/// The connection's months: UTC days and, where the bill names them, invoice months.
pub async fn months(
    State(state): State<Arc<AppState>>,
    ApiOrg(org): ApiOrg,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    let report =
        spendlens_query::months::connection_months(state.store(), org, ConnectionId(id)).await?;
    Ok(Json(report).into_response())
}
