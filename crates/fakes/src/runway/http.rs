//! The Runway fake's HTTP surface: `Authorization: Bearer` + `X-Runway-Version` auth, routing,
//! the two organization endpoints, and the `{"error": "…"}` envelope.
//!
//! The document names no error envelope; the fake uses `{"error": "<message>"}`, adding
//! `"issues": [{"path": [field], "message"}]` to body-validation errors (the usual shape of a
//! schema-validated JSON API). Auth: no `Authorization: Bearer …` or an unknown key (or the key
//! after [`RunningFake::set_revoked`](crate::RunningFake::set_revoked)) → 401; then a missing
//! `X-Runway-Version` → 400, and any value but `2024-11-06` → 400. The key is checked before the
//! version (undocumented order). A wrong method on a known path → 405; an unknown path → 404.
//!
//! `POST /v1/organization/usage` takes a JSON object body (empty body = `{}`) with optional
//! `startDate` / `beforeDate` (`YYYY-MM-DD`, UTC, `beforeDate` exclusive); defaults: `startDate`
//! = `today − 30`, `beforeDate` = `startDate + 30` (the fake's `today` is the configured date).
//! 400 for: a body that is not a JSON object, an unknown field (the fake is strict), a value
//! that is not a `YYYY-MM-DD` string, `beforeDate ≤ startDate`, or more than 90 days between
//! them. `startDate` may lie before the data: such days are simply absent. Results are by date
//! ascending, `usedCredits` by model name; a (day, model) with activity is present even when its
//! net is 0, a day without any usage is absent; the reserved `apiKeys`/`resultsByApiKey` are not
//! sent. Under [`Fault::MissingField`](crate::Fault::MissingField) `usedCredits[]` lack `amount`,
//! and `GET /v1/organization` lacks `creditBalance`. There is no pagination, so
//! [`Fault::RepeatPage`](crate::Fault::RepeatPage) answers normally; the page is always 1.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::Response;
use serde_json::{Map, Value, json};
use time::Date;

use super::data::{Data, MODELS};
use crate::common::respond::{
    ApiError, Dialect, ErrorKind, Prepared, Variant, error_response, json_bytes, respond,
};
use crate::common::server::Controls;
use crate::common::time_text::{date_of, unix_day};

pub(crate) const VERSION: &str = "2024-11-06";
const USAGE: &str = "/v1/organization/usage";
const ORGANIZATION: &str = "/v1/organization";

pub(crate) struct ServerState {
    pub(crate) data: Arc<Data>,
    pub(crate) api_key: String,
    pub(crate) controls: Controls,
}

pub(crate) struct RunwayDialect;

impl Dialect for RunwayDialect {
    fn body(&self, e: &ApiError) -> Value {
        match &e.param {
            Some(path) => json!({
                "error": e.message,
                "issues": [{"path": [path], "message": e.message}],
            }),
            None => json!({"error": e.message}),
        }
    }

    fn rate_limited(&self) -> ApiError {
        ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            ErrorKind::RateLimit,
            "You have exceeded the rate limit. Please slow down and retry later.",
        )
    }

    fn server_error(&self, status: StatusCode) -> ApiError {
        ApiError::new(status, ErrorKind::Server, "An internal error occurred.")
    }
}

fn authenticate(headers: &HeaderMap, state: &ServerState) -> Result<(), ApiError> {
    let unauthorized =
        |message: &str| ApiError::new(StatusCode::UNAUTHORIZED, ErrorKind::Authentication, message);
    let key = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|k| !k.is_empty());
    let Some(key) = key else {
        return Err(unauthorized(
            "Missing API key. Send it as 'Authorization: Bearer <RUNWAYML_API_SECRET>'.",
        ));
    };
    if key != state.api_key || state.controls.is_revoked() {
        return Err(unauthorized(
            "Invalid API key. Check that the key is correct and has not been disabled.",
        ));
    }
    match headers
        .get("x-runway-version")
        .and_then(|v| v.to_str().ok())
    {
        None => Err(ApiError::invalid(format!(
            "The X-Runway-Version header is required. Set it to {VERSION}."
        ))),
        Some(VERSION) => Ok(()),
        Some(other) => Err(ApiError::invalid(format!(
            "Invalid X-Runway-Version header: '{other}'. Supported version: {VERSION}."
        ))),
    }
}

/// Every request lands here: log, authenticate, route, validate, answer (or fault).
pub(crate) async fn handle(State(state): State<Arc<ServerState>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let path = parts.uri.path().to_owned();
    let body = axum::body::to_bytes(body, 1 << 20)
        .await
        .unwrap_or_default();
    let body_text = String::from_utf8_lossy(&body);
    state
        .controls
        .log
        .record_with_body(&path, parts.uri.query(), &body_text);
    if let Err(e) = authenticate(&parts.headers, &state) {
        return error_response(&RunwayDialect, &e);
    }
    let wrong_method = || {
        let mut e = ApiError::invalid(format!("Method {} not allowed on {path}", parts.method));
        e.status = StatusCode::METHOD_NOT_ALLOWED;
        e
    };
    let prepared = match (path.as_str(), &parts.method) {
        (USAGE, &Method::POST) => usage(&state.data, &body),
        (ORGANIZATION, &Method::GET) => Ok(organization(&state.data)),
        (USAGE | ORGANIZATION, _) => Err(wrong_method()),
        _ => Err(ApiError::not_found(format!("Not found: {path}"))),
    };
    match prepared {
        Ok(prepared) => respond(&RunwayDialect, &state.controls.faults, &path, prepared).await,
        Err(e) => error_response(&RunwayDialect, &e),
    }
}

fn invalid_field(field: &str, message: impl Into<String>) -> ApiError {
    ApiError::invalid(message).param(field)
}

/// `YYYY-MM-DD`, exactly.
pub(crate) fn parse_day(text: &str) -> Option<i64> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    (text.len() == 10)
        .then(|| Date::parse(text, &format).ok())
        .flatten()
        .map(unix_day)
}

fn day_text(day: i64) -> String {
    date_of(day).map(|d| d.to_string()).unwrap_or_default()
}

fn date_field(body: &Map<String, Value>, field: &str) -> Result<Option<i64>, ApiError> {
    match body.get(field) {
        None => Ok(None),
        Some(Value::String(text)) => parse_day(text).map(Some).ok_or_else(|| {
            invalid_field(
                field,
                format!("Invalid {field}: expected a date as YYYY-MM-DD, got '{text}'"),
            )
        }),
        Some(other) => Err(invalid_field(
            field,
            format!("Invalid {field}: expected a string (YYYY-MM-DD), got {other}"),
        )),
    }
}

fn usage(data: &Arc<Data>, body: &[u8]) -> Result<Prepared, ApiError> {
    let parsed: Value = if body.iter().all(u8::is_ascii_whitespace) {
        json!({})
    } else {
        serde_json::from_slice(body)
            .map_err(|e| ApiError::invalid(format!("Request body is not valid JSON: {e}")))?
    };
    let Value::Object(fields) = parsed else {
        return Err(ApiError::invalid("Request body must be a JSON object"));
    };
    if let Some(unknown) = fields
        .keys()
        .find(|k| *k != "startDate" && *k != "beforeDate")
    {
        return Err(invalid_field(
            unknown,
            format!("Unrecognized key in body: '{unknown}'"),
        ));
    }
    let start = date_field(&fields, "startDate")?.unwrap_or(data.today - 30);
    let before = date_field(&fields, "beforeDate")?.unwrap_or(start + 30);
    if before <= start {
        return Err(invalid_field(
            "beforeDate",
            "beforeDate must be after startDate",
        ));
    }
    if before - start > 90 {
        return Err(invalid_field(
            "beforeDate",
            format!(
                "Up to 90 days of data can be queried at a time: {} to {} is {} days",
                day_text(start),
                day_text(before),
                before - start
            ),
        ));
    }
    let data = Arc::clone(data);
    Ok(Prepared {
        page: 1,
        render: Arc::new(move |variant| render_usage(&data, start, before, variant)),
    })
}

fn render_usage(
    data: &Data,
    start: i64,
    before: i64,
    variant: Variant,
) -> Result<Vec<u8>, ApiError> {
    let mut by_day: BTreeMap<i64, Vec<Value>> = BTreeMap::new();
    let mut models = BTreeSet::new();
    let mut rows: Vec<_> = data.usage.between(start, before - 1).collect();
    rows.sort_by_key(|r| (r.day, r.model_name()));
    for r in rows {
        models.insert(r.model_name());
        let entry = if variant == Variant::MissingField {
            json!({"model": r.model_name()})
        } else {
            json!({"model": r.model_name(), "amount": r.net()})
        };
        by_day.entry(r.day).or_default().push(entry);
    }
    let results: Vec<Value> = by_day
        .into_iter()
        .map(|(day, used)| json!({"date": day_text(day), "usedCredits": used}))
        .collect();
    json_bytes(&json!({"results": results, "models": models}))
}

fn organization(data: &Arc<Data>) -> Prepared {
    let data = Arc::clone(data);
    Prepared {
        page: 1,
        render: Arc::new(move |variant| {
            let tier_models: Map<String, Value> = MODELS
                .iter()
                .map(|m| {
                    (
                        m.name.to_owned(),
                        json!({
                            "maxConcurrentGenerations": m.tier.0,
                            "maxDailyGenerations": m.tier.1,
                        }),
                    )
                })
                .collect();
            let usage_models: Map<String, Value> = data
                .usage
                .on(data.today)
                .iter()
                .filter(|r| r.generations > 0)
                .map(|r| {
                    (
                        r.model_name().to_owned(),
                        json!({"dailyGenerations": r.generations}),
                    )
                })
                .collect();
            let mut body = json!({
                "tier": {
                    "maxMonthlyCreditSpend": data.max_monthly_credit_spend,
                    "models": tier_models,
                },
                "creditBalance": data.credit_balance,
                "usage": {"models": usage_models},
            });
            if variant == Variant::MissingField
                && let Some(map) = body.as_object_mut()
            {
                map.remove("creditBalance");
            }
            json_bytes(&body)
        }),
    }
}
