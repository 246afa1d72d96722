//! The OpenRouter fake's HTTP surface: `Authorization: Bearer` auth with two kinds of key,
//! routing under `/api/v1`, strict query parameters and the `{"error": {"code", "message"}}`
//! envelope.
//!
//! Auth: no bearer token → 401 "No auth credentials found"; the management key → every endpoint;
//! any live API key (listed and not disabled; e.g. [`OpenRouterTruth::regular_key`]) → only
//! `/key` (and its older alias `/auth/key`), 403 "Only management keys can perform this
//! operation" elsewhere; anything else, a disabled or deleted key, or the management key after
//! [`RunningFake::set_revoked`](crate::RunningFake::set_revoked) → 401 "User not found." (the 401
//! messages are not in the document; they are OpenRouter's usual ones). Only `GET`; another
//! method → 405, an unknown path → 404. A query parameter the document does not list for the
//! endpoint → 400 (the real API may ignore it; the fake refuses so a misspelt name is found).
//!
//! [`OpenRouterTruth::regular_key`]: super::OpenRouterTruth::regular_key

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::Response;
use serde_json::json;

use super::data::Data;
use super::endpoints;
use crate::common::query::Query;
use crate::common::respond::{ApiError, Dialect, ErrorKind, error_response, respond};
use crate::common::server::Controls;

pub(crate) struct ServerState {
    pub(crate) data: Arc<Data>,
    pub(crate) controls: Controls,
}

pub(crate) struct OpenRouterDialect;

impl Dialect for OpenRouterDialect {
    fn body(&self, e: &ApiError) -> serde_json::Value {
        json!({"error": {"code": e.status.as_u16(), "message": e.message}})
    }

    fn rate_limited(&self) -> ApiError {
        ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            ErrorKind::RateLimit,
            "Rate limit exceeded: too many requests. Please retry later.",
        )
    }

    fn server_error(&self, status: StatusCode) -> ApiError {
        ApiError::new(status, ErrorKind::Server, "Internal Server Error")
    }
}

/// Who is calling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Caller {
    Management,
    /// An API key, by index into [`Data::keys`].
    Key(usize),
}

fn authenticate(headers: &HeaderMap, state: &ServerState) -> Result<Caller, ApiError> {
    let unauthorized =
        |message: &str| ApiError::new(StatusCode::UNAUTHORIZED, ErrorKind::Authentication, message);
    let key = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|k| !k.is_empty());
    let Some(key) = key else {
        return Err(unauthorized("No auth credentials found"));
    };
    let data = &state.data;
    if key == data.management_key {
        if state.controls.is_revoked() {
            return Err(unauthorized("User not found."));
        }
        return Ok(Caller::Management);
    }
    data.keys
        .iter()
        .position(|k| k.secret == key && !k.deleted && !k.disabled)
        .map(Caller::Key)
        .ok_or_else(|| unauthorized("User not found."))
}

fn management_only(caller: Caller) -> Result<(), ApiError> {
    match caller {
        Caller::Management => Ok(()),
        Caller::Key(_) => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            ErrorKind::Permission,
            "Only management keys can perform this operation",
        )),
    }
}

/// Refuses parameters outside `allowed`.
pub(crate) fn known_params(raw: Option<&str>, allowed: &[&str]) -> Result<(), ApiError> {
    let pairs = form_urlencoded::parse(raw.unwrap_or_default().as_bytes());
    for (k, _) in pairs {
        if !allowed.contains(&k.as_ref()) {
            return Err(ApiError::invalid(format!(
                "Unrecognized query parameter: '{k}'. Allowed: {}",
                if allowed.is_empty() {
                    "none".to_owned()
                } else {
                    allowed.join(", ")
                }
            )));
        }
    }
    Ok(())
}

pub(crate) fn boolean(q: &Query, name: &str) -> Result<Option<bool>, ApiError> {
    q.first(name)
        .map(|v| match v {
            "true" => Ok(true),
            "false" => Ok(false),
            _ => Err(ApiError::invalid(format!(
                "Invalid '{name}': expected \"true\" or \"false\", got '{v}'"
            ))),
        })
        .transpose()
}

pub(crate) fn non_negative(q: &Query, name: &str) -> Result<Option<u64>, ApiError> {
    q.first(name)
        .map(|v| {
            v.parse::<u64>().map_err(|_| {
                ApiError::invalid(format!(
                    "Invalid '{name}': expected a non-negative integer, got '{v}'"
                ))
            })
        })
        .transpose()
}

/// Every request lands here: log, authenticate, route, validate, answer (or fault).
pub(crate) async fn handle(State(state): State<Arc<ServerState>>, request: Request) -> Response {
    let method = request.method().clone();
    let uri = request.uri().clone();
    let path = uri.path();
    state.controls.log.record(path, uri.query());
    let caller = match authenticate(request.headers(), &state) {
        Ok(caller) => caller,
        Err(e) => return error_response(&OpenRouterDialect, &e),
    };
    let Some(route) = path.strip_prefix("/api/v1") else {
        return error_response(&OpenRouterDialect, &ApiError::not_found("Not Found"));
    };
    const ROUTES: [&str; 6] = [
        "/key",
        "/auth/key",
        "/credits",
        "/activity",
        "/keys",
        "/workspaces",
    ];
    if !ROUTES.contains(&route) {
        return error_response(&OpenRouterDialect, &ApiError::not_found("Not Found"));
    }
    if method != Method::GET {
        let mut e = ApiError::invalid(format!("Method {method} not allowed"));
        e.status = StatusCode::METHOD_NOT_ALLOWED;
        return error_response(&OpenRouterDialect, &e);
    }
    let raw = uri.query();
    let q = Query::parse(raw);
    let data = &state.data;
    let prepared = match route {
        "/key" | "/auth/key" => known_params(raw, &[]).map(|()| endpoints::key(data, caller)),
        other => management_only(caller).and_then(|()| match other {
            "/credits" => known_params(raw, &[]).map(|()| endpoints::credits(data)),
            "/activity" => endpoints::activity(data, &q, raw),
            "/keys" => endpoints::keys(data, &q, raw),
            _ => endpoints::workspaces(data, &q, raw),
        }),
    };
    match prepared {
        Ok(prepared) => respond(&OpenRouterDialect, &state.controls.faults, path, prepared).await,
        Err(e) => error_response(&OpenRouterDialect, &e),
    }
}
