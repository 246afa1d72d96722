//! The OpenAI fake's HTTP surface: routing, `Authorization: Bearer` auth and the
//! `{"error": {"message", "type", "param", "code"}}` envelope.
//!
//! Auth outcomes (the doc's `[obs]` notes): the admin key passes; any `sk-proj-…` or
//! `sk-svcacct-…` key gets 403 "… Missing scopes: api.usage.read" (the fake cannot tell a real
//! project key from a made-up one, so every such key is treated as valid but under-scoped); any
//! other key, or the admin key after [`RunningFake::set_revoked`](crate::RunningFake::set_revoked),
//! gets 401 `invalid_api_key`; no `Authorization: Bearer` header gets 401. The `type`/`code` of
//! these errors were not confirmed by the doc; the fake uses OpenAI's usual
//! `invalid_request_error` with code `invalid_api_key` (401) and no code (403).

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::Response;
use serde_json::json;

use super::data::Data;
use super::models::Endpoint;
use super::{costs, lists, usage};
use crate::common::query::Query;
use crate::common::respond::{ApiError, Dialect, ErrorKind, error_response, respond};
use crate::common::server::Controls;

pub(crate) struct ServerState {
    pub(crate) data: Arc<Data>,
    pub(crate) admin_key: String,
    pub(crate) controls: Controls,
}

pub(crate) struct OpenAiDialect;

impl Dialect for OpenAiDialect {
    fn body(&self, e: &ApiError) -> serde_json::Value {
        let error_type = match e.kind {
            ErrorKind::InvalidRequest
            | ErrorKind::Authentication
            | ErrorKind::Permission
            | ErrorKind::NotFound => "invalid_request_error",
            ErrorKind::RateLimit => "requests",
            ErrorKind::Server => "server_error",
        };
        json!({"error": {"message": e.message, "type": error_type, "param": e.param, "code": e.code}})
    }

    fn rate_limited(&self) -> ApiError {
        ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            ErrorKind::RateLimit,
            "Rate limit reached for requests to the organization admin API. Please try again later.",
        )
        .code("rate_limit_exceeded")
    }

    fn server_error(&self, status: StatusCode) -> ApiError {
        ApiError::new(
            status,
            ErrorKind::Server,
            "The server had an error while processing your request. Sorry about that!",
        )
    }
}

/// `sk-…abcd`: enough to recognise a key, never the key.
fn key_hint(key: &str) -> String {
    let chars: Vec<char> = key.chars().collect();
    if chars.len() < 12 {
        return "…".to_owned();
    }
    let head: String = chars[..3].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}…{tail}")
}

fn authenticate(headers: &HeaderMap, state: &ServerState) -> Result<(), ApiError> {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|k| !k.is_empty());
    let Some(key) = bearer else {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            ErrorKind::Authentication,
            "You didn't provide an API key. You need to provide your API key in an Authorization \
             header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
        ));
    };
    if key == state.admin_key && !state.controls.is_revoked() {
        return Ok(());
    }
    if key != state.admin_key && (key.starts_with("sk-proj-") || key.starts_with("sk-svcacct-")) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            ErrorKind::Permission,
            "You have insufficient permissions for this operation. Missing scopes: \
             api.usage.read. Check that you have the correct role in your organization (Reader, \
             Writer, Owner) and project (Member, Owner), and if you're using a restricted API \
             key, that it has the necessary scopes.",
        ));
    }
    Err(ApiError::new(
        StatusCode::UNAUTHORIZED,
        ErrorKind::Authentication,
        format!(
            "Incorrect API key provided: {}. You can find your API key at \
             https://platform.openai.com/account/api-keys.",
            key_hint(key)
        ),
    )
    .code("invalid_api_key"))
}

/// Every request lands here: log, authenticate, route, validate, answer (or fault).
pub(crate) async fn handle(State(state): State<Arc<ServerState>>, request: Request) -> Response {
    let method = request.method().clone();
    let uri = request.uri().clone();
    let path = uri.path();
    state.controls.log.record(path, uri.query());
    if let Err(e) = authenticate(request.headers(), &state) {
        return error_response(&OpenAiDialect, &e);
    }
    let invalid_url = || ApiError::not_found(format!("Invalid URL ({method} {path})"));
    if method != Method::GET {
        let mut e = invalid_url();
        e.status = StatusCode::METHOD_NOT_ALLOWED;
        e.message = format!("Invalid method for URL ({method} {path})");
        return error_response(&OpenAiDialect, &e);
    }
    let query = Query::parse(uri.query());
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let prepared = match segments.as_slice() {
        ["v1", "organization", "usage", endpoint] => match Endpoint::from_path(endpoint) {
            Some(endpoint) => usage::prepare(&state.data, endpoint, &query),
            None => Err(invalid_url()),
        },
        ["v1", "organization", "costs"] => costs::prepare(&state.data, &query),
        ["v1", "organization", "projects"] => lists::projects(&state.data, &query),
        ["v1", "organization", "projects", project, "api_keys"] => {
            lists::api_keys(&state.data, project, &query)
        }
        _ => Err(invalid_url()),
    };
    match prepared {
        Ok(prepared) => respond(&OpenAiDialect, &state.controls.faults, path, prepared).await,
        Err(e) => error_response(&OpenAiDialect, &e),
    }
}

#[cfg(test)]
mod tests {
    use super::key_hint;

    #[test]
    fn key_hint_shows_only_the_ends() {
        assert_eq!(key_hint("sk-admin-0123456789abcd"), "sk-…abcd");
        assert_eq!(key_hint("short"), "…");
    }
}
