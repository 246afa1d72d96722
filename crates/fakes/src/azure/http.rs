//! The Azure fake's HTTP surface, from shared/providers/azure-openai.md §2, §4–§7, §10, §14:
//! the Entra token endpoint and Cost Management's query endpoint on one local host.
//!
//! - `POST /{tenant}/oauth2/v2.0/token` (form): `grant_type=client_credentials`, `scope` ending
//!   `/.default`; unknown tenant → 400 AADSTS90002, unknown client → 400 AADSTS700016, wrong
//!   secret (or any secret after `set_revoked(true)`) → 401 AADSTS7000215 with Entra's own text.
//!   Success: `{"token_type":"Bearer","expires_in":3599,"ext_expires_in":3599,"access_token"}`.
//! - `POST {scope}/providers/Microsoft.CostManagement/query?api-version=…`: Bearer token of the
//!   current generation (`expire_tokens` starts a new one: older tokens get 401
//!   `ExpiredAuthenticationToken`); body validated like the service (400 `BadRequest`); scopes:
//!   the USD and EUR subscriptions (and their resource groups), an empty one (204), one without
//!   the role (403 `AuthorizationFailed`), anything else 404 `SubscriptionNotFound`.
//!   Pages of `page_size` rows; `nextLink` carries `$skiptoken` (the row offset) and the older
//!   api-version `2023-11-01`, as the spec examples do.
//! - Faults: `RateLimited` answers 429 with `x-ms-ratelimit-microsoft.costmanagement-qpu-retry-after`
//!   set to the rule's seconds and a smaller `Retry-After` (1 s), so the longest must win;
//!   `RepeatPage` hands out a nextLink equal to the one just used (page 1: a link to page 1);
//!   `MissingField` drops the cost column.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use serde_json::{Value, json};

use super::data::{
    Data, EMPTY_SUBSCRIPTION, EUR_SUBSCRIPTION, NO_ROLE_SUBSCRIPTION, USD_SUBSCRIPTION, femto_text,
    micro_text,
};
use super::query::{Query, parse_query};
use crate::Fault;
use crate::common::server::Controls;

const QUERY_SUFFIX: &str = "/providers/microsoft.costmanagement/query";

pub(crate) struct ServerState {
    pub(crate) data: Arc<Data>,
    pub(crate) tenant: String,
    pub(crate) client_id: String,
    pub(crate) client_secret: String,
    pub(crate) page_size: usize,
    pub(crate) controls: Controls,
    /// Tokens carry their generation; `expire_tokens` moves it on.
    pub(crate) generation: Arc<AtomicU64>,
    pub(crate) tokens_issued: Arc<AtomicU64>,
}

fn json_response(status: StatusCode, body: &Value) -> Response {
    let mut response = Response::new(Body::from(body.to_string()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    response
}

fn arm_error(status: StatusCode, code: &str, message: &str) -> Response {
    json_response(
        status,
        &json!({"error": {"code": code, "message": message}}),
    )
}

fn entra_error(status: StatusCode, error: &str, code: u32, text: &str) -> Response {
    json_response(
        status,
        &json!({
            "error": error,
            "error_description": format!("AADSTS{code}: {text} Trace ID: 0000 Correlation ID: 0000 Timestamp: 2026-01-01 00:00:00Z"),
            "error_codes": [code],
            "timestamp": "2026-01-01 00:00:00Z",
            "trace_id": "00000000-0000-0000-0000-000000000000",
            "correlation_id": "00000000-0000-0000-0000-000000000000",
            "error_uri": format!("https://login.microsoftonline.com/error?code={code}"),
        }),
    )
}

pub(crate) async fn handle(State(state): State<Arc<ServerState>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let path = parts.uri.path().to_owned();
    let query = parts.uri.query().map(str::to_owned);
    let body = axum::body::to_bytes(body, 1 << 20)
        .await
        .unwrap_or_default();
    let text = String::from_utf8_lossy(&body).into_owned();
    // The token request's body holds the secret: the log keeps only its field names.
    let logged = if path.ends_with("/oauth2/v2.0/token") {
        form_urlencoded::parse(&body)
            .map(|(k, _)| k.into_owned())
            .collect::<Vec<_>>()
            .join("&")
    } else {
        text.clone()
    };
    state
        .controls
        .log
        .record_with_body(&path, query.as_deref(), &logged);
    if parts.method != axum::http::Method::POST {
        return arm_error(
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            "Only POST is supported.",
        );
    }
    if let Some(tenant) = path
        .strip_prefix('/')
        .and_then(|p| p.strip_suffix("/oauth2/v2.0/token"))
    {
        return token(&state, tenant, &body);
    }
    let lower = path.to_ascii_lowercase();
    if let Some(scope) = lower.strip_suffix(QUERY_SUFFIX) {
        let scope = path[..scope.len()].to_owned();
        return cost_query(&state, &parts.headers, &scope, query.as_deref(), &text).await;
    }
    arm_error(
        StatusCode::NOT_FOUND,
        "NotFound",
        &format!("No route for {path}"),
    )
}

fn token(state: &ServerState, tenant: &str, body: &[u8]) -> Response {
    let form: BTreeMap<String, String> = form_urlencoded::parse(body).into_owned().collect();
    if !tenant.eq_ignore_ascii_case(&state.tenant) {
        return entra_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            90002,
            &format!(
                "Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud."
            ),
        );
    }
    if form.get("grant_type").map(String::as_str) != Some("client_credentials") {
        return entra_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            70003,
            "The app requested an unsupported grant type.",
        );
    }
    if !form.get("scope").is_some_and(|s| s.ends_with("/.default")) {
        return entra_error(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            1002012,
            "The provided value for scope is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier.",
        );
    }
    if form.get("client_id").map(String::as_str) != Some(state.client_id.as_str()) {
        return entra_error(
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            700016,
            &format!(
                "Application with identifier '{}' was not found in the directory '{tenant}'.",
                form.get("client_id").map(String::as_str).unwrap_or("")
            ),
        );
    }
    let secret_ok =
        form.get("client_secret").map(String::as_str) == Some(state.client_secret.as_str());
    if !secret_ok || state.controls.is_revoked() {
        return entra_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            7000215,
            &format!(
                "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{}'.",
                state.client_id
            ),
        );
    }
    let n = state.tokens_issued.fetch_add(1, Ordering::Relaxed) + 1;
    let generation = state.generation.load(Ordering::Relaxed);
    json_response(
        StatusCode::OK,
        &json!({
            "token_type": "Bearer",
            "expires_in": 3599,
            "ext_expires_in": 3599,
            "access_token": format!("eyJ0eXAiOiJKV1QifQ.fake-{generation}-{n}"),
        }),
    )
}

/// `None` when the bearer token is current; otherwise ARM's 401.
fn refused_token(state: &ServerState, headers: &axum::http::HeaderMap) -> Option<Response> {
    let Some(token) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    else {
        return Some(arm_error(
            StatusCode::UNAUTHORIZED,
            "AuthenticationFailed",
            "Authentication failed. The 'Authorization' header is missing.",
        ));
    };
    let generation = state.generation.load(Ordering::Relaxed);
    let current = token
        .strip_prefix("eyJ0eXAiOiJKV1QifQ.fake-")
        .and_then(|rest| rest.split('-').next())
        .and_then(|g| g.parse::<u64>().ok());
    match current {
        Some(g) if g == generation && !state.controls.is_revoked() => None,
        Some(_) => Some(arm_error(
            StatusCode::UNAUTHORIZED,
            "ExpiredAuthenticationToken",
            "The access token expiry UTC time is earlier than current UTC time.",
        )),
        None => Some(arm_error(
            StatusCode::UNAUTHORIZED,
            "InvalidAuthenticationToken",
            "The access token is invalid.",
        )),
    }
}

/// The subscription and optional resource group of a scope, lower-case.
fn scope_parts(scope: &str) -> Option<(String, Option<String>)> {
    let lower = scope.to_ascii_lowercase();
    let rest = lower.strip_prefix("/subscriptions/")?;
    let mut parts = rest.split('/');
    let sub = parts.next()?.to_owned();
    match (parts.next(), parts.next(), parts.next()) {
        (None, _, _) => Some((sub, None)),
        (Some("resourcegroups"), Some(group), None) => Some((sub, Some(group.to_owned()))),
        _ => None,
    }
}

async fn cost_query(
    state: &ServerState,
    headers: &axum::http::HeaderMap,
    scope: &str,
    query: Option<&str>,
    body: &str,
) -> Response {
    if let Some(refused) = refused_token(state, headers) {
        return refused;
    }
    let params: BTreeMap<String, String> = form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .into_owned()
        .collect();
    if !params.contains_key("api-version") {
        return arm_error(
            StatusCode::BAD_REQUEST,
            "MissingApiVersionParameter",
            "The api-version query parameter (?api-version=) is required for all requests.",
        );
    }
    let parsed = match parse_query(body, state.data.today) {
        Ok(parsed) => parsed,
        Err(message) => return arm_error(StatusCode::BAD_REQUEST, "BadRequest", &message),
    };
    let Some((sub, group)) = scope_parts(scope) else {
        return arm_error(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            &format!("Invalid scope '{scope}'."),
        );
    };
    match sub.as_str() {
        NO_ROLE_SUBSCRIPTION => {
            return arm_error(
                StatusCode::FORBIDDEN,
                "AuthorizationFailed",
                &format!(
                    "The client '{}' does not have authorization to perform action 'Microsoft.CostManagement/query/action' over scope '{scope}' or the scope is invalid.",
                    state.client_id
                ),
            );
        }
        EMPTY_SUBSCRIPTION => {
            let mut response = Response::new(Body::empty());
            *response.status_mut() = StatusCode::NO_CONTENT;
            return response;
        }
        USD_SUBSCRIPTION | EUR_SUBSCRIPTION => {}
        _ => {
            return arm_error(
                StatusCode::NOT_FOUND,
                "SubscriptionNotFound",
                &format!("The subscription '{sub}' could not be found."),
            );
        }
    }
    let offset: usize = params
        .get("$skiptoken")
        .and_then(|t| t.parse().ok())
        .unwrap_or(0);
    let page = u32::try_from(offset / state.page_size.max(1) + 1).unwrap_or(u32::MAX);
    let fault = state
        .controls
        .faults
        .take("/providers/Microsoft.CostManagement/query", page);
    match fault {
        Some(Fault::RateLimited { retry_after_secs }) => {
            let mut response = arm_error(
                StatusCode::TOO_MANY_REQUESTS,
                "429",
                "Too many requests. Please retry.",
            );
            let headers = response.headers_mut();
            headers.insert(
                "x-ms-ratelimit-microsoft.costmanagement-qpu-retry-after",
                HeaderValue::from(retry_after_secs),
            );
            headers.insert(header::RETRY_AFTER, HeaderValue::from(1_u64));
            return response;
        }
        Some(Fault::ServerError(code)) => {
            let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            return arm_error(
                status,
                "ServerTimeout",
                "The request timed out. Diagnostic information: timestamp '20260101T000000Z'.",
            );
        }
        Some(Fault::Delay(duration)) => tokio::time::sleep(duration).await,
        _ => {}
    }
    let table = table(
        state,
        &parsed,
        &sub,
        group.as_deref(),
        fault == Some(Fault::MissingField),
    );
    let total = table.rows.len();
    let end = (offset + state.page_size).min(total);
    let rows: Vec<String> = table.rows.get(offset..end).unwrap_or_default().to_vec();
    let link = |skip: usize| {
        format!(
            "http://{}{scope}/providers/Microsoft.CostManagement/query?api-version=2023-11-01&$skiptoken={skip}",
            headers
                .get(header::HOST)
                .and_then(|h| h.to_str().ok())
                .unwrap_or("127.0.0.1")
        )
    };
    let next = match fault {
        Some(Fault::RepeatPage) => Some(link(offset)),
        _ if end < total => Some(link(end)),
        _ => None,
    };
    let body = json!({
        "id": format!("{scope}/providers/Microsoft.CostManagement/query/6b7c1d2e-0000-4000-8000-{page:012}"),
        "name": format!("6b7c1d2e-0000-4000-8000-{page:012}"),
        "type": "microsoft.costmanagement/Query",
        "location": null,
        "sku": null,
        "eTag": null,
        "properties": {"nextLink": next, "columns": table.columns, "rows": "__ROWS__"},
    });
    let text = body
        .to_string()
        .replace("\"__ROWS__\"", &format!("[{}]", rows.join(",")));
    let bytes = match fault {
        Some(Fault::Malformed) => {
            b"{\"properties\": {\"rows\": [<html>upstream hiccup</html>".to_vec()
        }
        Some(Fault::Truncated) => text.as_bytes()[..text.len() / 2].to_vec(),
        _ => text.into_bytes(),
    };
    let mut response = Response::new(Body::from(bytes));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    response.headers_mut().insert(
        "x-ms-ratelimit-microsoft.costmanagement-qpu-remaining",
        HeaderValue::from_static("QueriesPerHour:597,QueriesPerMin:57,QueriesPer10Sec:9"),
    );
    response
}

struct Table {
    columns: Vec<Value>,
    /// Each row as JSON text: numbers written exactly, never through `f64`.
    rows: Vec<String>,
}

/// The answer to a valid query: aggregations (source names), then groupings, then
/// `UsageDate` (daily), then `Currency`.
fn table(
    state: &ServerState,
    q: &Query,
    sub: &str,
    group: Option<&str>,
    missing_cost: bool,
) -> Table {
    let data = &state.data;
    let mut cells: BTreeMap<Vec<String>, (Vec<i128>, String)> = BTreeMap::new();
    for row in &data.rows {
        let resource = &data.resources[row.resource];
        let id = resource.id.to_ascii_lowercase();
        let in_scope = id.starts_with(&format!("/subscriptions/{sub}/"))
            && group.is_none_or(|g| id.contains(&format!("/resourcegroups/{g}/")));
        if !in_scope || row.day < q.from || row.day > q.to {
            continue;
        }
        if let Some(types) = &q.resource_types
            && !types.iter().any(|t| t == resource.resource_type)
        {
            continue;
        }
        let mut key = Vec::new();
        for dim in &q.grouping {
            key.push(match dim.as_str() {
                "resourceid" => data.row_resource_id(row),
                "meter" => row.meter.to_owned(),
                "resourcetype" => resource.resource_type.to_owned(),
                _ => String::new(),
            });
        }
        if q.daily {
            key.push(row.day.to_string());
        }
        let values: Vec<i128> = q
            .aggregation
            .iter()
            .map(|source| match source.as_str() {
                "costusd" | "pretaxcostusd" => row.usd_femto,
                "usagequantity" => i128::from(row.quantity_micro) * 1_000_000_000,
                _ => row.cost_femto,
            })
            .collect();
        let entry = cells
            .entry(key)
            .or_insert_with(|| (vec![0; values.len()], resource.currency.to_owned()));
        for (sum, value) in entry.0.iter_mut().zip(values) {
            *sum += value;
        }
    }
    let mut columns: Vec<Value> = Vec::new();
    for source in &q.aggregation_names {
        if !(missing_cost && source.to_ascii_lowercase().starts_with("cost")) {
            columns.push(json!({"name": source, "type": "Number"}));
        }
    }
    for dim in &q.grouping_names {
        columns.push(json!({"name": dim, "type": "String"}));
    }
    if q.daily {
        columns.push(json!({"name": "UsageDate", "type": "Number"}));
    }
    columns.push(json!({"name": "Currency", "type": "String"}));
    let rows = cells
        .into_iter()
        .map(|(mut key, (values, currency))| {
            let mut row: Vec<String> = Vec::new();
            for (source, value) in q.aggregation.iter().zip(values) {
                if missing_cost && source.starts_with("cost") {
                    continue;
                }
                row.push(if source == "usagequantity" {
                    micro_text(i64::try_from(value / 1_000_000_000).unwrap_or(0))
                } else {
                    femto_text(value)
                });
            }
            let day = if q.daily { key.pop() } else { None };
            row.extend(key.into_iter().map(|text| Value::String(text).to_string()));
            if let Some(day) = day.and_then(|d| d.parse::<i64>().ok()) {
                let date = crate::common::time_text::date_of(day).unwrap_or(time::Date::MIN);
                let number = i64::from(date.year()) * 10_000
                    + i64::from(u8::from(date.month())) * 100
                    + i64::from(date.day());
                row.push(number.to_string());
            }
            row.push(Value::String(currency).to_string());
            format!("[{}]", row.join(","))
        })
        .collect();
    Table { columns, rows }
}
