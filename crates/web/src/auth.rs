//! API-token authentication: `Authorization: Bearer sl_…` names the organization a request
//! acts for and what it may do. [`ApiOrg`] admits any valid token (every token reads);
//! [`ApiCaller`] carries the token's scopes for routes that write.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use spendlens_domain::Scope;
use spendlens_store::{OrgId, TokenAuth};

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
        let caller = ApiCaller::from_request_parts(parts, state).await?;
        Ok(ApiOrg(caller.0.org))
    }
}

/// The token a request was authenticated by, with its scopes.
#[derive(Clone, Copy, Debug)]
pub struct ApiCaller(pub TokenAuth);

impl ApiCaller {
    /// The organization, if the token's scopes cover `needed`; 403 saying which scope to
    /// ask for otherwise.
    pub fn require(&self, needed: Scope, doing: &str) -> Result<OrgId, ApiError> {
        if self.0.scopes.allows(needed) {
            Ok(self.0.org)
        } else {
            Err(ApiError::Forbidden(format!(
                "this token (scopes: {}) may not {doing}; it needs the \"{needed}\" scope \
                 (create one with `spendlens tokens create --scope {needed}`)",
                self.0.scopes
            )))
        }
    }
}

impl FromRequestParts<Arc<AppState>> for ApiCaller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<ApiCaller, ApiError> {
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
        match state.store().authenticate_token(token, now).await? {
            Some(auth) => Ok(ApiCaller(auth)),
            None => Err(ApiError::Unauthorized),
        }
    }
}
