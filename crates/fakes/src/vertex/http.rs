//! The Vertex fake's HTTP surface: the OAuth token endpoint and four BigQuery v2 calls
//! (doc §3, §10), Google's error envelope, and Bearer authentication.
//!
//! - `POST /token` ([`super::oauth`]): errors as `{"error", "error_description"}`.
//! - `POST /bigquery/v2/projects/{p}/queries` ([`super::query`]).
//! - `GET /bigquery/v2/projects/{p}/queries/{jobId}` ([`super::jobs`]).
//! - `GET /bigquery/v2/projects/{p}/datasets` and `…/datasets/{d}/tables` ([`super::discovery`]).
//!
//! BigQuery errors: `{"error": {"code", "message", "errors": [{"message", "domain": "global",
//! "reason"}], "status"}}`. A missing `Authorization: Bearer` is a 401 with reason `required`;
//! an unknown or expired token a 401 `authError` (both with a `WWW-Authenticate` header); a
//! token whose scopes include none of BigQuery's a 403 `insufficientPermissions`. Faults apply to
//! every endpoint after authentication and validation: a rate limit is a 429 with reason
//! `rateLimitExceeded` and `Retry-After` (real BigQuery also sends 403 `rateLimitExceeded`;
//! treat both as retryable), a server error `backendError`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::Instant;

use axum::body::to_bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use serde_json::json;

use super::data::Data;
use super::jobs::Job;
use super::{Config, discovery, jobs, oauth, query};
use crate::common::prng::{ALPHANUMERIC, SplitMix64};
use crate::common::query::Query;
use crate::common::respond::{ApiError, Dialect, ErrorKind, error_response, respond};
use crate::common::server::Controls;

/// Scopes BigQuery's four calls accept (doc §2), plus `bigquery.readonly`.
pub(crate) const BIGQUERY_SCOPES: [&str; 4] = [
    "https://www.googleapis.com/auth/bigquery",
    "https://www.googleapis.com/auth/bigquery.readonly",
    "https://www.googleapis.com/auth/cloud-platform",
    "https://www.googleapis.com/auth/cloud-platform.read-only",
];

/// An access token the fake issued.
#[derive(Debug, Clone)]
pub(crate) struct IssuedToken {
    pub(crate) expires_at: Instant,
    pub(crate) scopes: Vec<String>,
}

pub(crate) struct ServerState {
    pub(crate) data: Arc<Data>,
    pub(crate) config: Arc<Config>,
    pub(crate) controls: Controls,
    /// `http://ADDR/token`, set once the port is bound.
    pub(crate) token_uri: OnceLock<String>,
    pub(crate) tokens: Mutex<HashMap<String, IssuedToken>>,
    pub(crate) jobs: Mutex<HashMap<String, Job>>,
    pub(crate) counter: AtomicU64,
}

impl ServerState {
    pub(crate) fn tokens(&self) -> MutexGuard<'_, HashMap<String, IssuedToken>> {
        self.tokens.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn jobs(&self) -> MutexGuard<'_, HashMap<String, Job>> {
        self.jobs.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A fresh serial number (for token and job ids).
    pub(crate) fn next_number(&self) -> u64 {
        self.counter.fetch_add(1, Ordering::Relaxed)
    }

    /// Deterministic text for serial `n` of `kind`.
    pub(crate) fn random_text(&self, kind: u64, n: u64, len: usize) -> String {
        SplitMix64::for_cell(self.config.seed, &[kind, n]).string(ALPHANUMERIC, len)
    }
}

/// BigQuery's error envelope. `ApiError::code` carries the `reason`.
pub(crate) struct GoogleDialect;

fn status_text(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "INVALID_ARGUMENT",
        401 => "UNAUTHENTICATED",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        409 => "ALREADY_EXISTS",
        429 => "RESOURCE_EXHAUSTED",
        501 => "NOT_IMPLEMENTED",
        503 => "UNAVAILABLE",
        504 => "DEADLINE_EXCEEDED",
        _ => "INTERNAL",
    }
}

impl Dialect for GoogleDialect {
    fn body(&self, e: &ApiError) -> serde_json::Value {
        let reason = e.code.unwrap_or(match e.kind {
            ErrorKind::InvalidRequest => "invalid",
            ErrorKind::Authentication => "authError",
            ErrorKind::Permission => "accessDenied",
            ErrorKind::NotFound => "notFound",
            ErrorKind::RateLimit => "rateLimitExceeded",
            ErrorKind::Server => "backendError",
        });
        json!({"error": {
            "code": e.status.as_u16(),
            "message": e.message,
            "errors": [{"message": e.message, "domain": "global", "reason": reason}],
            "status": status_text(e.status),
        }})
    }

    fn rate_limited(&self) -> ApiError {
        ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            ErrorKind::RateLimit,
            "Exceeded rate limits: too many api requests per user per method for this \
             user_method. For more information, see \
             https://cloud.google.com/bigquery/docs/troubleshoot-quotas",
        )
        .code("rateLimitExceeded")
    }

    fn server_error(&self, status: StatusCode) -> ApiError {
        ApiError::new(
            status,
            ErrorKind::Server,
            "Error encountered during execution. Retrying may solve the problem.",
        )
        .code("backendError")
    }
}

/// The OAuth token endpoint's error shape, `{"error": <code>, "error_description": <message>}`.
/// `ApiError::code` carries the OAuth error code.
pub(crate) struct OAuthDialect;

impl Dialect for OAuthDialect {
    fn body(&self, e: &ApiError) -> serde_json::Value {
        let code = e.code.unwrap_or(match e.kind {
            ErrorKind::InvalidRequest | ErrorKind::NotFound => "invalid_request",
            ErrorKind::Authentication | ErrorKind::Permission => "invalid_grant",
            ErrorKind::RateLimit => "rate_limit_exceeded",
            ErrorKind::Server => "internal_failure",
        });
        json!({"error": code, "error_description": e.message})
    }

    fn rate_limited(&self) -> ApiError {
        ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            ErrorKind::RateLimit,
            "Rate limit exceeded for the token endpoint; retry later.",
        )
        .code("rate_limit_exceeded")
    }

    fn server_error(&self, status: StatusCode) -> ApiError {
        ApiError::new(status, ErrorKind::Server, "Backend Error").code("internal_failure")
    }
}

pub(crate) fn invalid(reason: &'static str, message: impl Into<String>) -> ApiError {
    ApiError::invalid(message).code(reason)
}

pub(crate) fn not_found(message: impl Into<String>) -> ApiError {
    ApiError::not_found(message).code("notFound")
}

pub(crate) fn access_denied(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::FORBIDDEN, ErrorKind::Permission, message).code("accessDenied")
}

const DEVCONSOLE: &str =
    "See https://developers.google.com/identity/sign-in/web/devconsole-project.";

/// Checks `Authorization: Bearer <token>` against the issued tokens and their scopes.
fn authenticate(state: &ServerState, headers: &HeaderMap) -> Result<(), ApiError> {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty());
    let Some(token) = bearer else {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            ErrorKind::Authentication,
            format!(
                "Request is missing required authentication credential. Expected OAuth 2 access \
                 token, login cookie or other valid authentication credential. {DEVCONSOLE}"
            ),
        )
        .code("required"));
    };
    let issued = state.tokens().get(token).cloned();
    let invalid = || {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            ErrorKind::Authentication,
            format!(
                "Request had invalid authentication credentials. Expected OAuth 2 access token, \
                 login cookie or other valid authentication credential. {DEVCONSOLE}"
            ),
        )
        .code("authError")
    };
    let Some(issued) = issued else {
        return Err(invalid());
    };
    if Instant::now() >= issued.expires_at {
        return Err(invalid());
    }
    if !issued
        .scopes
        .iter()
        .any(|s| BIGQUERY_SCOPES.contains(&s.as_str()))
    {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            ErrorKind::Permission,
            "Request had insufficient authentication scopes.",
        )
        .code("insufficientPermissions"));
    }
    Ok(())
}

fn google_error(error: &ApiError) -> Response {
    let mut response = error_response(&GoogleDialect, error);
    if error.status == StatusCode::UNAUTHORIZED {
        let value = if error.code == Some("required") {
            "Bearer realm=\"https://accounts.google.com/\""
        } else {
            "Bearer realm=\"https://accounts.google.com/\", error=\"invalid_token\""
        };
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(value));
    }
    response
}

/// Every request lands here: log, route, authenticate, validate, answer (or fault).
pub(crate) async fn handle(State(state): State<Arc<ServerState>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let path = parts.uri.path().to_owned();
    let body = match to_bytes(body, 4 << 20).await {
        Ok(b) => b,
        Err(e) => {
            let error = ApiError::invalid(format!("could not read the request body: {e}"));
            return error_response(&GoogleDialect, &error);
        }
    };
    state
        .controls
        .log
        .record_with_body(&path, parts.uri.query(), &String::from_utf8_lossy(&body));
    if path == "/token" {
        let prepared = if parts.method == Method::POST {
            oauth::token(&state, &parts.headers, &body)
        } else {
            Err(ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                ErrorKind::InvalidRequest,
                "The token endpoint takes POST only",
            )
            .code("invalid_request"))
        };
        return match prepared {
            Ok(p) => respond(&OAuthDialect, &state.controls.faults, &path, p).await,
            Err(e) => error_response(&OAuthDialect, &e),
        };
    }
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let Some(route) = segments.strip_prefix(&["bigquery", "v2", "projects"]) else {
        return google_error(&not_found(format!("Not found: URL {path}")));
    };
    if let Err(e) = authenticate(&state, &parts.headers) {
        return google_error(&e);
    }
    let query = Query::parse(parts.uri.query());
    let method = &parts.method;
    let prepared = match (method, route) {
        (&Method::POST, [project, "queries"]) => query::jobs_query(&state, project, &body),
        (&Method::GET, [project, "queries", job]) => {
            jobs::get_query_results(&state, project, job, &query)
        }
        (&Method::GET, [project, "datasets"]) => discovery::datasets(&state, project, &query),
        (&Method::GET, [project, "datasets", dataset, "tables"]) => {
            discovery::tables(&state, project, dataset, &query)
        }
        _ => Err(not_found(format!("Not found: {method} {path}"))),
    };
    match prepared {
        Ok(p) => respond(&GoogleDialect, &state.controls.faults, &path, p).await,
        Err(e) => google_error(&e),
    }
}
