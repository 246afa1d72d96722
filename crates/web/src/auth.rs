//! API-token authentication: `Authorization: Bearer sl_…` names the organization a request
//! acts for.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use spendlens_store::OrgId;

use crate::AppState;
use crate::error::ApiError;

/// The organization of a request authenticated by an API token.
#[derive(Clone, Copy, Debug)]
pub struct ApiOrg(pub OrgId);

impl FromRequestParts<Arc<AppState>> for ApiOrg {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<ApiOrg, ApiError> {
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or(ApiError::Unauthorized)?;
        let token = header
            .strip_prefix("Bearer ")
            .or_else(|| header.strip_prefix("bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty() && t.len() <= 200)
            .ok_or(ApiError::Unauthorized)?;
        let now = state.now();
        match state.store().authenticate_api_token(token, now).await? {
            Some(org) => Ok(ApiOrg(org)),
            None => Err(ApiError::Unauthorized),
        }
    }
}
