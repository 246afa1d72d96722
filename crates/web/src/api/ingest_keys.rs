//! Ingest keys over the API (`/api/v1/ingest-keys`, API token required): list, create (the
//! secret is in this one answer only), regenerate (the old secret stops at once), revoke.
//! Every change is audited.

use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::AppState;
use spendlens_domain::Scope;
use spendlens_store::Actor;

use crate::auth::{ApiCaller, ApiOrg};
use crate::error::ApiError;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateIngestKey {
    pub name: String,
}

pub async fn list(
    State(state): State<Arc<AppState>>,
    ApiOrg(org): ApiOrg,
) -> Result<Response, ApiError> {
    let keys = state.store().list_ingest_keys(org).await?;
    Ok(Json(serde_json::json!({ "ingest_keys": keys })).into_response())
}

pub async fn create(
    State(state): State<Arc<AppState>>,
    caller: ApiCaller,
    body: Result<Json<CreateIngestKey>, JsonRejection>,
) -> Result<Response, ApiError> {
    let org = caller.require(Scope::Admin, "create ingest keys")?;
    let Json(body) = body?;
    let name = format!("api token {}", caller.0.token_id);
    let actor = Actor {
        name: &name,
        at: state.now(),
    };
    let new = state
        .store()
        .create_ingest_key(org, &body.name, actor)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(serde_json::json!({
            "ingest_key": new.key,
            "secret": new.secret,
            "note": "the secret is shown once; store it now",
        })),
    )
        .into_response())
}

pub async fn regenerate(
    State(state): State<Arc<AppState>>,
    caller: ApiCaller,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    let org = caller.require(Scope::Admin, "regenerate ingest keys")?;
    let name = format!("api token {}", caller.0.token_id);
    let actor = Actor {
        name: &name,
        at: state.now(),
    };
    let new = state.regenerate_ingest_key(org, id, actor).await?;
    Ok(Json(serde_json::json!({
        "ingest_key": new.key,
        "secret": new.secret,
        "note": "the old secret no longer works; the new one is shown once",
    }))
    .into_response())
}

pub async fn revoke(
    State(state): State<Arc<AppState>>,
    caller: ApiCaller,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    let org = caller.require(Scope::Admin, "revoke ingest keys")?;
    let name = format!("api token {}", caller.0.token_id);
    let actor = Actor {
        name: &name,
        at: state.now(),
    };
    let key = state.revoke_ingest_key(org, id, actor).await?;
    Ok(Json(serde_json::json!({ "ingest_key": key })).into_response())
}
