//! The Anthropic fake's HTTP surface: routing, `x-api-key` + `anthropic-version` auth and the
//! `{"type": "error", "error": {"type", "message"}}` envelope.
//!
//! Auth outcomes: no `x-api-key` → 401 `authentication_error`; the admin key (not revoked) →
//! passes; an unknown key, or the revoked admin key → 401 `authentication_error` "invalid
//! x-api-key" (as third parties observed). A standard `sk-ant-api03-…` key → 403
//! `permission_error`: the doc only says such keys "don't work on /v1/organizations/*" without
//! the status, so the fake picks the documented type for a valid key lacking permission.
//! Then `anthropic-version` must be present (400 `invalid_request_error` otherwise) and one of
//! `2023-06-01` / `2023-01-01`.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use serde_json::json;

use super::data::Data;
use super::{cost, lists, usage};
use crate::common::query::Query;
use crate::common::respond::{ApiError, Dialect, ErrorKind, error_response, respond};
use crate::common::server::Controls;

pub(crate) struct ServerState {
    pub(crate) data: Arc<Data>,
    pub(crate) admin_key: String,
    pub(crate) controls: Controls,
}

pub(crate) struct AnthropicDialect;

impl Dialect for AnthropicDialect {
    fn body(&self, e: &ApiError) -> serde_json::Value {
        let error_type = match e.kind {
            ErrorKind::InvalidRequest => "invalid_request_error",
            ErrorKind::Authentication => "authentication_error",
            ErrorKind::Permission => "permission_error",
            ErrorKind::NotFound => "not_found_error",
            ErrorKind::RateLimit => "rate_limit_error",
            ErrorKind::Server if e.status.as_u16() == 529 => "overloaded_error",
            ErrorKind::Server => "api_error",
        };
        json!({"type": "error", "error": {"type": error_type, "message": e.message}})
    }

    fn rate_limited(&self) -> ApiError {
        ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            ErrorKind::RateLimit,
            "Number of requests has exceeded your rate limit. Please try again later.",
        )
    }

    fn server_error(&self, status: StatusCode) -> ApiError {
        let message = if status.as_u16() == 529 {
            "Overloaded"
        } else {
            "Internal server error"
        };
        ApiError::new(status, ErrorKind::Server, message)
    }
}

fn header<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn authenticate(headers: &HeaderMap, state: &ServerState) -> Result<(), ApiError> {
    let unauthorized =
        |message: &str| ApiError::new(StatusCode::UNAUTHORIZED, ErrorKind::Authentication, message);
    let Some(key) = header(headers, "x-api-key").filter(|k| !k.is_empty()) else {
        return Err(unauthorized("x-api-key header is required"));
    };
    if key != state.admin_key || state.controls.is_revoked() {
        if key.starts_with("sk-ant-api03-") {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                ErrorKind::Permission,
                "Your API key does not have permission to use the Admin API. Use an Admin API key \
                 (sk-ant-admin…) created in Console → Settings → Admin keys.",
            ));
        }
        return Err(unauthorized("invalid x-api-key"));
    }
    match header(headers, "anthropic-version") {
        None => Err(ApiError::invalid("anthropic-version: header is required")),
        Some("2023-06-01" | "2023-01-01") => Ok(()),
        Some(other) => Err(ApiError::invalid(format!(
            "anthropic-version: unknown version '{other}'"
        ))),
    }
}

/// Every request lands here: log, authenticate, route, validate, answer (or fault).
pub(crate) async fn handle(State(state): State<Arc<ServerState>>, request: Request) -> Response {
    let method = request.method().clone();
    let uri = request.uri().clone();
    let path = uri.path();
    state.controls.log.record(path, uri.query());
    if let Err(e) = authenticate(request.headers(), &state) {
        return error_response(&AnthropicDialect, &e);
    }
    if method != Method::GET {
        let mut e = ApiError::not_found(format!("{method} {path}: method not allowed"));
        e.status = StatusCode::METHOD_NOT_ALLOWED;
        e.kind = ErrorKind::InvalidRequest;
        return error_response(&AnthropicDialect, &e);
    }
    let fast_mode_beta = header(request.headers(), "anthropic-beta")
        .is_some_and(|b| b.split(',').any(|f| f.trim().starts_with("fast-mode-")));
    let query = Query::parse(uri.query());
    let prepared = match path {
        "/v1/organizations/usage_report/messages" => {
            usage::prepare(&state.data, &query, fast_mode_beta)
        }
        "/v1/organizations/cost_report" => cost::prepare(&state.data, &query),
        "/v1/organizations/workspaces" => lists::workspaces(&state.data, &query),
        "/v1/organizations/api_keys" => lists::api_keys(&state.data, &query),
        _ => Err(ApiError::not_found(format!("Not found: {path}"))),
    };
    match prepared {
        Ok(prepared) => respond(&AnthropicDialect, &state.controls.faults, path, prepared).await,
        Err(e) => error_response(&AnthropicDialect, &e),
    }
}
