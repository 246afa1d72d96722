//! The PiAPI fake's HTTP surface (shared/providers/piapi.md §3–§7, §10).
//!
//! - Auth: `x-api-key` (header names are case-insensitive). An unknown or revoked key → 401
//!   `{"code":401,"message":"Invalid API key","data":null}`, or with `errors_in_body` HTTP 200
//!   `{"code":10001,"message":"invalid api key","data":null}` (the doc's second error path).
//! - `GET /account/info` → `{code:200, message:"success", data:{…}}` (or the bare object with
//!   `bare_account`), including `api_key` itself, as the real service does.
//! - `GET /api/open/tasks/histories?page&page_size&start_time&end_time` → `{code, message,
//!   data:{data:[rows], page, size, total}}`, rows newest first; `page_size` default 10, over 100
//!   → 400; `start_time`/`end_time` Unix seconds, both inclusive (the doc leaves it open).
//!   Rows: snake_case, every fifth camelCase; `created_at` as `+08:00` local time for every
//!   third row, else UTC with nanoseconds; statuses in several spellings.
//! - Faults: `ShiftedPage` (a task arrived after page 1: later pages start one row earlier and
//!   `total` is one higher), `RepeatPage` (page N ≥ 2 repeats page 1), `MissingField` (rows lack
//!   `usage`), and the shared ones (429 with `Retry-After`, 5xx, malformed, truncated, delay).
//! - Not served: `GET /api/v1/task/{id}` and `/account/active_tasks` (the connector does not read
//!   them) → 404.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use serde_json::{Map, Value, json};
use time::{OffsetDateTime, UtcOffset};

use super::data::{Data, Task};
use crate::common::respond::{
    ApiError, Dialect, ErrorKind, Prepared, Variant, error_response, json_bytes, respond,
};
use crate::common::server::Controls;

pub(crate) const ACCOUNT: &str = "/account/info";
pub(crate) const HISTORY: &str = "/api/open/tasks/histories";

pub(crate) struct ServerState {
    pub(crate) data: Arc<Data>,
    pub(crate) api_key: String,
    pub(crate) controls: Controls,
    pub(crate) errors_in_body: bool,
    pub(crate) bare_account: bool,
}

struct PiApiDialect;

impl Dialect for PiApiDialect {
    fn body(&self, e: &ApiError) -> Value {
        json!({"code": e.status.as_u16(), "message": e.message, "data": null})
    }

    fn rate_limited(&self) -> ApiError {
        ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            ErrorKind::RateLimit,
            "Too many requests, please slow down",
        )
    }

    fn server_error(&self, status: StatusCode) -> ApiError {
        ApiError::new(status, ErrorKind::Server, "upstream service error")
    }
}

fn authenticated(headers: &HeaderMap, state: &ServerState) -> bool {
    headers
        .get("x-api-key")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|key| key == state.api_key && !state.controls.is_revoked())
}

pub(crate) async fn handle(State(state): State<Arc<ServerState>>, request: Request) -> Response {
    let (parts, _body) = request.into_parts();
    let path = parts.uri.path().to_owned();
    let query = parts.uri.query().unwrap_or("").to_owned();
    state.controls.log.record(&path, Some(&query));
    if !authenticated(&parts.headers, &state) {
        if state.errors_in_body {
            let mut response = Response::new(axum::body::Body::from(
                json!({"code": 10001, "message": "invalid api key", "data": null}).to_string(),
            ));
            response.headers_mut().insert(
                axum::http::header::CONTENT_TYPE,
                axum::http::HeaderValue::from_static("application/json"),
            );
            return response;
        }
        return error_response(
            &PiApiDialect,
            &ApiError::new(
                StatusCode::UNAUTHORIZED,
                ErrorKind::Authentication,
                "Invalid API key",
            ),
        );
    }
    if parts.method != Method::GET {
        let mut e = ApiError::invalid(format!("Method {} not allowed", parts.method));
        e.status = StatusCode::METHOD_NOT_ALLOWED;
        return error_response(&PiApiDialect, &e);
    }
    let prepared = match path.as_str() {
        ACCOUNT => Ok(account(&state)),
        HISTORY => history(&state, &query),
        _ => Err(ApiError::not_found(format!(
            "task or route not found: {path}"
        ))),
    };
    match prepared {
        Ok(prepared) => respond(&PiApiDialect, &state.controls.faults, &path, prepared).await,
        Err(e) => error_response(&PiApiDialect, &e),
    }
}

fn account(state: &ServerState) -> Prepared {
    let data = Arc::clone(&state.data);
    let key = state.api_key.clone();
    let bare = state.bare_account;
    Prepared {
        page: 1,
        render: Arc::new(move |_variant| {
            let usd = crate::common::money::decimal(u128::from(data.balance_units), 7);
            let account = json!({
                "id": 48213,
                "name": "acme-media",
                "plan": "pro",
                "type": "ppu",
                "equivalent_in_usd": "__USD__",
                "wallet": {"llm_remain": data.balance_units, "llm_used": 862_500_000, "point_remain": 0, "point_used": 0},
                "credit_pack_info": {"available_credits": 68711, "used_credits": 43125, "total_credits": 111836, "credit_packs_count": 2},
                "api_key": key,
            });
            let body = if bare {
                account
            } else {
                json!({"code": 200, "message": "success", "data": account})
            };
            // The balance is written as an exact number literal, never through f64.
            Ok(body.to_string().replace("\"__USD__\"", &usd).into_bytes())
        }),
    }
}

fn param(query: &str, name: &str) -> Option<String> {
    form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

fn number(query: &str, name: &str) -> Result<Option<i64>, ApiError> {
    match param(query, name) {
        None => Ok(None),
        Some(text) => text
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| ApiError::invalid(format!("{name} must be an integer"))),
    }
}

fn history(state: &ServerState, query: &str) -> Result<Prepared, ApiError> {
    let page = number(query, "page")?.unwrap_or(1);
    let size = number(query, "page_size")?.unwrap_or(10);
    if page < 1 {
        return Err(ApiError::invalid("page must be at least 1"));
    }
    if !(1..=100).contains(&size) {
        return Err(ApiError::invalid("page_size must be between 1 and 100"));
    }
    let start = number(query, "start_time")?.unwrap_or(i64::MIN);
    let end = number(query, "end_time")?.unwrap_or(i64::MAX);
    let data = Arc::clone(&state.data);
    let page_u32 = u32::try_from(page).unwrap_or(u32::MAX);
    Ok(Prepared {
        page: page_u32,
        render: Arc::new(move |variant| {
            let mut rows: Vec<&Task> = data
                .tasks
                .iter()
                .filter(|t| t.created >= start && t.created <= end)
                .collect();
            rows.sort_by(|a, b| b.created.cmp(&a.created).then(b.id.cmp(&a.id)));
            let mut total = rows.len();
            let size = size as usize;
            let mut offset = (page as usize - 1) * size;
            match variant {
                Variant::ShiftedPage if page >= 2 => {
                    offset -= 1;
                    total += 1;
                }
                Variant::RepeatPage if page >= 2 => offset = 0,
                _ => {}
            }
            let items: Vec<Value> = rows
                .iter()
                .skip(offset)
                .take(size)
                .map(|t| row(t, variant == Variant::MissingField))
                .collect();
            json_bytes(&json!({
                "code": 200,
                "message": "success",
                "data": {"data": items, "page": page, "size": size, "total": total},
            }))
        }),
    })
}

fn timestamp(task: &Task) -> String {
    let utc =
        OffsetDateTime::from_unix_timestamp(task.created).unwrap_or(OffsetDateTime::UNIX_EPOCH);
    if task.plus_eight {
        let offset = UtcOffset::from_hms(8, 0, 0).unwrap_or(UtcOffset::UTC);
        let local = utc.to_offset(offset);
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}+08:00",
            local.year(),
            u8::from(local.month()),
            local.day(),
            local.hour(),
            local.minute(),
            local.second()
        )
    } else {
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:09}Z",
            utc.year(),
            u8::from(utc.month()),
            utc.day(),
            utc.hour(),
            utc.minute(),
            utc.second(),
            (task.id % 1_000_000_000) as u32
        )
    }
}

fn row(task: &Task, without_usage: bool) -> Value {
    let kind = task.kind();
    let fields: [(&str, &str, Value); 11] = [
        ("id", "id", json!(task.id)),
        ("task_id", "taskId", json!(task.task_id)),
        ("task_model", "taskModel", json!(kind.model)),
        ("action", "action", json!(kind.action)),
        ("status", "status", json!(task.status)),
        ("service_mode", "serviceMode", json!(task.service_mode)),
        ("usage", "usage", json!(task.usage)),
        ("usage_type", "usageType", json!(kind.usage_type)),
        ("api_key_id", "apiKeyId", json!(task.api_key_id)),
        ("created_at", "createdAt", json!(timestamp(task))),
        (
            "detail",
            "detail",
            json!({"output": format!("https://img.theapi.app/ephemeral/{}.mp4", task.task_id)}),
        ),
    ];
    let mut map = Map::new();
    for (snake, camel, value) in fields {
        if without_usage && snake == "usage" {
            continue;
        }
        map.insert(if task.camel { camel } else { snake }.to_owned(), value);
    }
    Value::Object(map)
}
