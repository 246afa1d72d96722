//! API-token authentication: `Authorization: Bearer sl_…` names the organization a request
//! acts for and what it may do. [`ApiOrg`] admits any valid token (every token reads);
//! [`ApiCaller`] carries the token's scopes for routes that write. Ingest keys (`sl_ingest_…`,
//! [`IngestAuth`]) may only send metered events and are refused on every other route.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use spendlens_domain::Scope;
use spendlens_store::{INGEST_KEY_PREFIX, IngestKeyCheck, OrgId, TokenAuth};

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
        let token = bearer(&parts.headers).ok_or(ApiError::Unauthorized)?;
        if is_ingest_key(token) {
            return Err(ApiError::Forbidden(
                "an ingest key can only send events (POST /api/v1/meter/events); it reads and changes nothing. Use an API token (`spendlens tokens create`) for this route".to_owned(),
            ));
        }
        let now = state.now();
        match state.store().authenticate_token(token, now).await? {
            Some(auth) => {
                if auth.use_recorded {
                    let client =
                        crate::client::client_addr(parts, state.settings.trust_forwarded_for);
                    // The path as sent (a nested router sees it without `/api/v1`).
                    let path = parts
                        .extensions
                        .get::<axum::extract::OriginalUri>()
                        .map_or_else(|| parts.uri.path().to_owned(), |u| u.path().to_owned());
                    crate::access::token_used(
                        state,
                        auth.org,
                        auth.token_id,
                        parts.method.as_str(),
                        &path,
                        client,
                    )
                    .await;
                }
                Ok(ApiCaller(auth))
            }
            None => Err(ApiError::Unauthorized),
        }
    }
}

/// The bearer credential of a request, if any: the scheme in any case, the credential trimmed
/// and at most 200 characters (longer is no credential of ours, and is never looked up).
pub(crate) fn bearer(headers: &axum::http::HeaderMap) -> Option<&str> {
    let value = headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .trim();
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty() && token.len() <= 200)
        .then_some(token)
}

fn is_ingest_key(token: &str) -> bool {
    token.starts_with(INGEST_KEY_PREFIX)
}

/// Who sent metered events: an ingest key (the normal case) or an API token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IngestAuth {
    pub org: OrgId,
    /// The ingest key's id; `None` when an API token sent the events.
    pub key_id: Option<i64>,
}

impl IngestAuth {
    /// Checks a presented secret: a live ingest key, or an admin-scoped API token (which may
    /// send events too). Revoked and regenerated keys get a message saying so.
    pub async fn check(state: &AppState, token: &str) -> Result<IngestAuth, ApiError> {
        let now = state.now();
        if !is_ingest_key(token) {
            return match state.store().authenticate_token(token, now).await? {
                Some(auth) if auth.scopes.allows(Scope::Admin) => Ok(IngestAuth {
                    org: auth.org,
                    key_id: None,
                }),
                Some(auth) => Err(ApiError::Forbidden(format!(
                    "this API token (scopes: {}) may not send events; send with an ingest key (sl_ingest_…) or an admin token",
                    auth.scopes
                ))),
                None => Err(ApiError::UnauthorizedBecause(
                    "missing or invalid ingest key; send Authorization: Bearer sl_ingest_… (create one on the Connections page or with `spendlens keys create`)".to_owned(),
                )),
            };
        }
        match state.store().check_ingest_key(token, now).await? {
            IngestKeyCheck::Valid { org, id, .. } => Ok(IngestAuth {
                org,
                key_id: Some(id),
            }),
            IngestKeyCheck::Revoked { name, at } => Err(ApiError::UnauthorizedBecause(format!(
                "the ingest key \"{name}\" was revoked at {at}; nothing was stored. Create a new key (Connections page or `spendlens keys create`) and send with it"
            ))),
            IngestKeyCheck::Replaced { name, at } => Err(ApiError::UnauthorizedBecause(format!(
                "the ingest key \"{name}\" was regenerated at {at} and this is its old secret; nothing was stored. Send with the new secret"
            ))),
            IngestKeyCheck::Unknown => Err(ApiError::UnauthorizedBecause(
                "unknown ingest key; nothing was stored. Check the key (Connections page or `spendlens keys list`)".to_owned(),
            )),
        }
    }
}

impl FromRequestParts<Arc<AppState>> for IngestAuth {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<IngestAuth, ApiError> {
        let token = bearer(&parts.headers).ok_or_else(|| {
            ApiError::UnauthorizedBecause(
                "missing ingest key; send Authorization: Bearer sl_ingest_… (create one on the Connections page or with `spendlens keys create`)".to_owned(),
            )
        })?;
        IngestAuth::check(state, token).await
    }
}

/// Who asks a budget check: a live ingest key (the gateway that will send the call's event)
/// or any API token, remembered for two seconds once verified ([`crate::credentials`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CheckAuth(pub OrgId);

impl FromRequestParts<Arc<AppState>> for CheckAuth {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<CheckAuth, ApiError> {
        let token = bearer(&parts.headers).ok_or(ApiError::Unauthorized)?;
        let token_hash = spendlens_store::hash_token(token);
        let now = state.now();
        if let Some(org) = state.credentials.get(&token_hash, now) {
            return Ok(CheckAuth(org));
        }
        let org = if is_ingest_key(token) {
            IngestAuth::check(state, token).await?.org
        } else {
            ApiOrg::from_request_parts(parts, state).await?.0
        };
        state.credentials.put(token_hash, org, now);
        Ok(CheckAuth(org))
    }
}
