//! The LiteLLM fake's HTTP surface: `Authorization: Bearer` auth over the master key and the
//! virtual keys, routing, FastAPI-style parameter validation and LiteLLM's two error shapes.
//!
//! Errors: authentication failures use the proxy's `ProxyException` body
//! `{"error": {"message", "type": "auth_error", "param": "None", "code": "401"}}`; errors an
//! endpoint raises as `HTTPException` use FastAPI's `{"detail": …}` (403 "Non-admin users can
//! only view their own spend data.", 400 `{"detail": {"error": "Please provide start_date and
//! end_date"}}`); query-type and range violations are FastAPI 422s
//! `{"detail": [{"type", "loc": ["query", name], "msg"}]}` (the `input`/`ctx` members are left
//! out); unknown routes 404 `{"detail": "Not Found"}`. A 429 or 5xx fault uses the
//! `ProxyException` body with `code` `"429"` / the status.
//!
//! Auth: no bearer token → 401 "No api key passed in."; a token not starting with `sk-` → 401
//! "LiteLLM Virtual Key expected…"; the master key (until
//! [`RunningFake::set_revoked`](crate::RunningFake::set_revoked)) → admin; a live virtual key →
//! its owner's role (`alice` is `proxy_admin`, so her keys have the admin view; `bob` and `carol`
//! are `internal_user`); a deleted or unknown key → 401 "Invalid proxy server token passed…".
//! Unknown query parameters are ignored, as FastAPI does.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::Response;
use serde_json::json;

use super::data::{Data, sha256_hex};
use super::{activity, lists};
use crate::common::query::Query;
use crate::common::respond::{ApiError, Dialect, ErrorKind, error_response, respond};
use crate::common::server::Controls;

pub(crate) struct ServerState {
    pub(crate) data: Arc<Data>,
    pub(crate) controls: Controls,
}

pub(crate) struct LiteLlmDialect;

/// `code` of a 422 item is its FastAPI `type`; `param` its query parameter name.
impl Dialect for LiteLlmDialect {
    fn body(&self, e: &ApiError) -> serde_json::Value {
        let proxy = |kind: &str| {
            json!({"error": {
                "message": e.message,
                "type": kind,
                "param": e.param.as_deref().unwrap_or("None"),
                "code": e.status.as_u16().to_string(),
            }})
        };
        match e.kind {
            ErrorKind::Authentication => proxy("auth_error"),
            ErrorKind::RateLimit => proxy("None"),
            ErrorKind::Server => proxy("internal_server_error"),
            ErrorKind::InvalidRequest if e.status == StatusCode::UNPROCESSABLE_ENTITY => {
                json!({"detail": [{
                    "type": e.code.unwrap_or("value_error"),
                    "loc": ["query", e.param.as_deref().unwrap_or_default()],
                    "msg": e.message,
                }]})
            }
            ErrorKind::InvalidRequest => json!({"detail": {"error": e.message}}),
            ErrorKind::Permission | ErrorKind::NotFound => json!({"detail": e.message}),
        }
    }

    fn rate_limited(&self) -> ApiError {
        ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            ErrorKind::RateLimit,
            "Max parallel request limit reached. Hit limit for api_key. Try again later.",
        )
    }

    fn server_error(&self, status: StatusCode) -> ApiError {
        ApiError::new(status, ErrorKind::Server, "Internal Server Error")
    }
}

/// Who is calling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Caller {
    pub(crate) user: u8,
    pub(crate) admin: bool,
}

fn authenticate(headers: &HeaderMap, state: &ServerState) -> Result<Caller, ApiError> {
    let unauthorized = |message: String| {
        ApiError::new(StatusCode::UNAUTHORIZED, ErrorKind::Authentication, message)
    };
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|k| !k.is_empty());
    let Some(token) = token else {
        return Err(unauthorized(
            "Authentication Error, No api key passed in.".into(),
        ));
    };
    if !token.starts_with("sk-") {
        return Err(unauthorized(format!(
            "Authentication Error, LiteLLM Virtual Key expected. Received={}, expected to start \
             with 'sk-'.",
            masked(token)
        )));
    }
    let data = &state.data;
    let found = data.keys.iter().find(|k| k.raw == token && !k.deleted);
    match found {
        Some(k) if k.master && state.controls.is_revoked() => {}
        Some(k) => {
            return Ok(Caller {
                user: k.user,
                admin: k.master || data.is_admin(k.user),
            });
        }
        None => {}
    }
    Err(unauthorized(format!(
        "Authentication Error, Invalid proxy server token passed. Received API Key = {}, Key \
         Hash (Token) ={}. Unable to find token in cache or `LiteLLM_VerificationTokenTable`",
        masked(token),
        sha256_hex(token)
    )))
}

/// `sk-...abcd`.
fn masked(token: &str) -> String {
    let tail: String = token
        .chars()
        .skip(token.chars().count().saturating_sub(4))
        .collect();
    format!("sk-...{tail}")
}

/// A FastAPI 422 for query parameter `name`.
pub(crate) fn unprocessable(name: &str, kind: &'static str, msg: impl Into<String>) -> ApiError {
    let mut e = ApiError::invalid(msg).param(name).code(kind);
    e.status = StatusCode::UNPROCESSABLE_ENTITY;
    e
}

/// An integer query parameter within `min..=max` (FastAPI `ge`/`le`).
pub(crate) fn int_param(
    q: &Query,
    name: &str,
    default: i64,
    min: i64,
    max: i64,
) -> Result<i64, ApiError> {
    let Some(text) = q.first(name) else {
        return Ok(default);
    };
    let value: i64 = text.trim().parse().map_err(|_| {
        unprocessable(
            name,
            "int_parsing",
            "Input should be a valid integer, unable to parse string as an integer",
        )
    })?;
    if value < min {
        return Err(unprocessable(
            name,
            "greater_than_equal",
            format!("Input should be greater than or equal to {min}"),
        ));
    }
    if value > max {
        return Err(unprocessable(
            name,
            "less_than_equal",
            format!("Input should be less than or equal to {max}"),
        ));
    }
    Ok(value)
}

/// A boolean query parameter as FastAPI parses it.
pub(crate) fn bool_param(q: &Query, name: &str) -> Result<Option<bool>, ApiError> {
    q.first(name)
        .map(|text| match text.to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" | "t" | "y" => Ok(true),
            "false" | "0" | "no" | "off" | "f" | "n" => Ok(false),
            _ => Err(unprocessable(
                name,
                "bool_parsing",
                "Input should be a valid boolean, unable to interpret input",
            )),
        })
        .transpose()
}

/// Every request lands here: log, authenticate, route, validate, answer (or fault).
pub(crate) async fn handle(State(state): State<Arc<ServerState>>, request: Request) -> Response {
    let method = request.method().clone();
    let uri = request.uri().clone();
    let path = uri.path();
    state.controls.log.record(path, uri.query());
    const ROUTES: [&str; 4] = [
        "/user/daily/activity",
        "/team/daily/activity",
        "/key/list",
        "/team/list",
    ];
    if !ROUTES.contains(&path) {
        return error_response(&LiteLlmDialect, &ApiError::not_found("Not Found"));
    }
    let caller = match authenticate(request.headers(), &state) {
        Ok(caller) => caller,
        Err(e) => return error_response(&LiteLlmDialect, &e),
    };
    if method != Method::GET {
        let mut e = ApiError::not_found("Method Not Allowed");
        e.status = StatusCode::METHOD_NOT_ALLOWED;
        return error_response(&LiteLlmDialect, &e);
    }
    let q = Query::parse(uri.query());
    let data = &state.data;
    let prepared = match path {
        "/user/daily/activity" => activity::prepare(data, &q, caller, activity::View::User),
        "/team/daily/activity" => activity::prepare(data, &q, caller, activity::View::Team),
        "/key/list" => lists::keys(data, &q, caller),
        _ => lists::teams(data, &q, caller),
    };
    match prepared {
        Ok(prepared) => respond(&LiteLlmDialect, &state.controls.faults, path, prepared).await,
        Err(e) => error_response(&LiteLlmDialect, &e),
    }
}
