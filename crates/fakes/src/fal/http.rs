//! The fal.ai fake's HTTP surface: `Authorization: Key <key_id>:<key_secret>` auth, routing
//! under `/v1`, the shared parameter rules, cursor pagination and the
//! `{"error": {"type", "message"}}` envelope.
//!
//! Auth: no `Authorization` header, another scheme (`Bearer …`), a value without
//! `key_id:key_secret`, an unknown or deleted key, or the admin key after
//! [`RunningFake::set_revoked`](crate::RunningFake::set_revoked) → 401 `authorization_error`;
//! an API-scope key → 403 `authorization_error` "Access denied" (every endpoint served here
//! needs the admin key); the ADMIN key passes. Only `GET`; another method → 405, an unknown path
//! → 404 `not_found`. A query parameter the endpoint does not document → 400
//! `validation_error` (the real API may ignore it; the fake refuses so a misspelling is found).
//!
//! Lists of ids (`endpoint_id`, `api_key_id`, `login_username`, `request_id`) may be repeated
//! or comma-separated, 1–50 values (more → 400). `expand` is repeatable, one value per
//! occurrence (a comma inside a value is an unknown value → 400).
//!
//! Pagination: `limit` (integer ≥ 1, else 400) asks for at most that many items; a larger value
//! than the endpoint's maximum is silently lowered to it (the spec: "actual maximum depends on
//! query type and expansion parameters"). `cursor` is base64 of the page number as decimal text
//! (`Mg==` = page 2), as the spec's example says; a cursor that is not one → 400. The next
//! page starts at `(page − 1) × limit`, so keep `limit` constant while paging. Every page has
//! `next_cursor` (null on the last) and `has_more`. Under
//! [`Fault::RepeatPage`](crate::Fault::RepeatPage) `next_cursor` is the cursor that was sent
//! (`MQ==`, page 1, on the first page) and `has_more` true.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::Response;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::json;

use super::data::Data;
use super::{account, events, serverless, usage};
use crate::common::query::Query;
use crate::common::respond::{ApiError, Dialect, ErrorKind, Variant, error_response, respond};
use crate::common::server::Controls;

pub(crate) struct ServerState {
    pub(crate) data: Arc<Data>,
    pub(crate) controls: Controls,
}

pub(crate) struct FalDialect;

impl Dialect for FalDialect {
    fn body(&self, e: &ApiError) -> serde_json::Value {
        let kind = match e.kind {
            ErrorKind::InvalidRequest => "validation_error",
            ErrorKind::Authentication | ErrorKind::Permission => "authorization_error",
            ErrorKind::NotFound => "not_found",
            ErrorKind::RateLimit => "rate_limited",
            ErrorKind::Server => "server_error",
        };
        json!({"error": {"type": kind, "message": e.message}})
    }

    fn rate_limited(&self) -> ApiError {
        ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            ErrorKind::RateLimit,
            "Rate limit exceeded. Please retry later.",
        )
    }

    fn server_error(&self, status: StatusCode) -> ApiError {
        ApiError::new(status, ErrorKind::Server, "Internal server error")
    }
}

fn authenticate(headers: &HeaderMap, state: &ServerState) -> Result<(), ApiError> {
    let unauthorized =
        |message: &str| ApiError::new(StatusCode::UNAUTHORIZED, ErrorKind::Authentication, message);
    let Some(value) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return Err(unauthorized(
            "Missing credentials: send 'Authorization: Key <key_id>:<key_secret>'",
        ));
    };
    let Some(credential) = value.strip_prefix("Key ").map(str::trim) else {
        return Err(unauthorized(
            "Invalid authorization scheme: use 'Authorization: Key <key_id>:<key_secret>'",
        ));
    };
    let Some((key_id, secret)) = credential.split_once(':') else {
        return Err(unauthorized(
            "Invalid key format: expected '<key_id>:<key_secret>'",
        ));
    };
    let data = &state.data;
    if key_id == data.admin.key_id && secret == data.admin.secret {
        if state.controls.is_revoked() {
            return Err(unauthorized("Invalid API key"));
        }
        return Ok(());
    }
    let api_scope = data
        .keys
        .iter()
        .enumerate()
        .filter_map(|(i, k)| k.as_ref().map(|k| (i, k)))
        .any(|(i, k)| k.key_id == key_id && k.secret == secret && !super::data::SOURCES[i].deleted);
    if api_scope {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            ErrorKind::Permission,
            "Access denied",
        ));
    }
    Err(unauthorized("Invalid API key"))
}

/// Refuses parameters outside `allowed`.
pub(crate) fn known_params(raw: Option<&str>, allowed: &[&str]) -> Result<(), ApiError> {
    for (k, _) in form_urlencoded::parse(raw.unwrap_or_default().as_bytes()) {
        if !allowed.contains(&k.as_ref()) {
            return Err(ApiError::invalid(format!(
                "Unknown query parameter '{k}'. Allowed: {}",
                allowed.join(", ")
            )));
        }
    }
    Ok(())
}

/// Every value of a repeatable query parameter.
fn all<'q>(raw: &'q [(String, String)], name: &str) -> impl Iterator<Item = &'q str> {
    raw.iter()
        .filter(move |(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// A list of ids, repeated or comma-separated, 1–50 values; `None` when not sent.
pub(crate) fn id_list(
    pairs: &[(String, String)],
    name: &str,
) -> Result<Option<Vec<String>>, ApiError> {
    let values: Vec<String> = all(pairs, name)
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
        .collect();
    if all(pairs, name).next().is_none() {
        return Ok(None);
    }
    if values.is_empty() || values.len() > 50 {
        return Err(ApiError::invalid(format!(
            "'{name}' accepts 1 to 50 values, got {}",
            values.len()
        )));
    }
    Ok(Some(values))
}

/// The `expand` values, each one of `allowed`.
pub(crate) fn expand<'q>(
    pairs: &'q [(String, String)],
    allowed: &[&str],
) -> Result<Vec<&'q str>, ApiError> {
    let values: Vec<&str> = all(pairs, "expand").collect();
    match values.iter().find(|v| !allowed.contains(v)) {
        Some(bad) => Err(ApiError::invalid(format!(
            "Invalid 'expand' value '{bad}'. Allowed values: {} (repeat the parameter for several)",
            allowed.join(", ")
        ))),
        None => Ok(values),
    }
}

/// Where a page starts.
#[derive(Debug, Clone)]
pub(crate) struct Paging {
    /// 1-based page number.
    pub(crate) page: u32,
    pub(crate) limit: usize,
    pub(crate) sent_cursor: Option<String>,
}

pub(crate) fn encode_cursor(page: u32) -> String {
    STANDARD.encode(page.to_string())
}

/// `limit` (default `default`, silently capped at `max`) and `cursor`.
pub(crate) fn paging(q: &Query, default: usize, max: usize) -> Result<Paging, ApiError> {
    let limit = match q.first("limit") {
        None => default,
        Some(text) => match text.trim().parse::<i64>() {
            Ok(n) if n >= 1 => usize::try_from(n).unwrap_or(usize::MAX).min(max),
            _ => {
                return Err(ApiError::invalid(format!(
                    "Invalid 'limit': expected an integer >= 1, got '{text}'"
                )));
            }
        },
    };
    let page = match q.first("cursor") {
        None => 1,
        Some(text) => STANDARD
            .decode(text)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .and_then(|s| s.parse::<u32>().ok())
            .filter(|&p| p >= 1)
            .ok_or_else(|| ApiError::invalid(format!("Invalid cursor '{text}'")))?,
    };
    Ok(Paging {
        page,
        limit,
        sent_cursor: q.first("cursor").map(str::to_owned),
    })
}

impl Paging {
    /// The slice of `total` items this page holds, and `(next_cursor, has_more)`.
    pub(crate) fn slice(
        &self,
        total: usize,
        variant: Variant,
    ) -> ((usize, usize), Option<String>, bool) {
        let start = (self.page as usize - 1)
            .saturating_mul(self.limit)
            .min(total);
        let end = start.saturating_add(self.limit).min(total);
        if variant == Variant::RepeatPage {
            let same = self
                .sent_cursor
                .clone()
                .unwrap_or_else(|| encode_cursor(self.page));
            return ((start, end), Some(same), true);
        }
        if end < total {
            ((start, end), Some(encode_cursor(self.page + 1)), true)
        } else {
            ((start, end), None, false)
        }
    }
}

/// Every request lands here: log, authenticate, route, validate, answer (or fault).
pub(crate) async fn handle(State(state): State<Arc<ServerState>>, request: Request) -> Response {
    let method = request.method().clone();
    let uri = request.uri().clone();
    let path = uri.path();
    state.controls.log.record(path, uri.query());
    if let Err(e) = authenticate(request.headers(), &state) {
        return error_response(&FalDialect, &e);
    }
    const ROUTES: [&str; 5] = [
        "/v1/models/usage",
        "/v1/serverless/usage",
        "/v1/models/billing-events",
        "/v1/keys",
        "/v1/account/billing",
    ];
    if !ROUTES.contains(&path) {
        return error_response(
            &FalDialect,
            &ApiError::not_found(format!("Not found: {path}")),
        );
    }
    if method != Method::GET {
        let mut e = ApiError::invalid(format!("Method {method} not allowed on {path}"));
        e.status = StatusCode::METHOD_NOT_ALLOWED;
        return error_response(&FalDialect, &e);
    }
    let raw = uri.query();
    let q = Query::parse(raw);
    let pairs: Vec<(String, String)> = form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
        .into_owned()
        .collect();
    let data = &state.data;
    let prepared = match path {
        "/v1/models/usage" => usage::prepare(data, &q, raw, &pairs),
        "/v1/serverless/usage" => serverless::prepare(data, &q, raw, &pairs),
        "/v1/models/billing-events" => events::prepare(data, &q, raw, &pairs),
        "/v1/keys" => account::keys(data, &q, raw, &pairs),
        _ => account::billing(data, raw, &pairs),
    };
    match prepared {
        Ok(prepared) => respond(&FalDialect, &state.controls.faults, path, prepared).await,
        Err(e) => error_response(&FalDialect, &e),
    }
}
