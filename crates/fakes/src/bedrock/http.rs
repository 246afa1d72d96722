//! The Cost Explorer fake's HTTP surface (doc §3, §8): `POST /` with
//! `Content-Type: application/x-amz-json-1.1` and `X-Amz-Target: AWSInsightsIndexService.<op>`,
//! SigV4 authentication, and errors as on the wire — HTTP 400 with
//! `{"__type": "<code>", "Message": "…"}` and the same content type.
//!
//! Checks, in order: the `Authorization` header (missing: `MissingAuthenticationTokenException`;
//! malformed: `IncompleteSignatureException`), `X-Amz-Date` and the credential scope (date,
//! service `ce`, the configured region, `aws4_request`: `InvalidSignatureException`), the access
//! key id (unknown or revoked: `UnrecognizedClientException`), the signature recomputed with the
//! key's secret (`InvalidSignatureException`), a session token if one is configured, the
//! operation (`UnknownOperationException`), the key's permission (the no-permission key:
//! `AccessDeniedException`), the content type and JSON body (`SerializationException`), whether
//! Cost Explorer is enabled, then the request itself (`ValidationException`,
//! `DataUnavailableException`, `InvalidNextTokenException`, `RequestChangedException`). Faults
//! come last. The clock is never read: `X-Amz-Date` is not checked against the time of day.
//!
//! Every call is `POST /`, so the request log and fault rules see the operation as the path:
//! `/#AWSInsightsIndexService.GetCostAndUsage` (match it with `on_path("GetCostAndUsage")`).
//! A rate-limit fault is Cost Explorer's throttling — HTTP 400 `LimitExceededException`, no
//! `Retry-After` — which the AWS SDK retries by itself (3 attempts in all).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use serde_json::{Value, json};

use super::data::Data;
use super::{Config, CostExplorerState, Credentials, cost, dimensions, request, sigv4};
use crate::common::faults::Fault;
use crate::common::prng::mix;
use crate::common::respond::Variant;
use crate::common::server::Controls;

pub(crate) const TARGET_PREFIX: &str = "AWSInsightsIndexService.";
const CONTENT_TYPE: &str = "application/x-amz-json-1.1";

/// An error before it is written as `{"__type", "Message"}`.
#[derive(Debug, Clone)]
pub(crate) struct AwsError {
    pub(crate) status: StatusCode,
    pub(crate) error_type: &'static str,
    pub(crate) message: String,
}

impl AwsError {
    pub(crate) fn new(error_type: &'static str, message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            error_type,
            message: message.into(),
        }
    }

    pub(crate) fn validation(message: impl Into<String>) -> Self {
        Self::new("ValidationException", message)
    }

    pub(crate) fn serialization(message: impl Into<String>) -> Self {
        Self::new("SerializationException", message)
    }

    pub(crate) fn data_unavailable(message: impl Into<String>) -> Self {
        Self::new("DataUnavailableException", message)
    }

    pub(crate) fn invalid_token() -> Self {
        Self::new(
            "InvalidNextTokenException",
            "The pagination token is invalid. Try again without a pagination token.",
        )
    }

    pub(crate) fn request_changed() -> Self {
        Self::new(
            "RequestChangedException",
            "Your request parameters changed between pages. Try again with the old parameters \
             or without a pagination token.",
        )
    }

    fn invalid_signature(message: impl Into<String>) -> Self {
        Self::new("InvalidSignatureException", message)
    }

    fn unrecognized_client() -> Self {
        Self::new(
            "UnrecognizedClientException",
            "The security token included in the request is invalid.",
        )
    }
}

/// Paging limits of GetCostAndUsage.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Settings {
    pub(crate) page_periods: u32,
    pub(crate) page_groups: u32,
}

/// A validated request, ready to answer.
pub(crate) struct Prepared {
    /// The 1-based page, for fault rules.
    pub(crate) page: u32,
    pub(crate) render: Box<dyn Fn(Variant) -> Vec<u8> + Send + Sync>,
}

pub(crate) struct ServerState {
    pub(crate) data: Arc<Data>,
    pub(crate) config: Arc<Config>,
    pub(crate) controls: Controls,
    pub(crate) request_counter: AtomicU64,
}

impl ServerState {
    fn request_id(&self) -> String {
        let n = self.request_counter.fetch_add(1, Ordering::Relaxed);
        let a = mix(n ^ 0x5EED_0CE0);
        let b = mix(a);
        format!(
            "{:08x}-{:04x}-4{:03x}-a{:03x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xFFFF,
            a & 0xFFF,
            (b >> 52) & 0xFFF,
            b & 0xFFFF_FFFF_FFFF
        )
    }
}

fn response(state: &ServerState, status: StatusCode, body: Vec<u8>) -> Response {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    if let Ok(id) = HeaderValue::from_str(&state.request_id()) {
        headers.insert("x-amzn-requestid", id);
    }
    response
}

fn error_response(state: &ServerState, error: &AwsError) -> Response {
    let body = json!({"__type": error.error_type, "Message": error.message});
    response(
        state,
        error.status,
        serde_json::to_vec(&body).unwrap_or_default(),
    )
}

fn header_text<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Authenticates the request; returns which credentials signed it.
fn authenticate<'c>(
    config: &'c Config,
    controls: &Controls,
    parts: &axum::http::request::Parts,
    body: &[u8],
) -> Result<&'c Credentials, AwsError> {
    let Some(value) = header_text(&parts.headers, "authorization") else {
        return Err(AwsError::new(
            "MissingAuthenticationTokenException",
            "Missing Authentication Token",
        ));
    };
    let auth = sigv4::parse(value).map_err(|m| AwsError::new("IncompleteSignatureException", m))?;
    let Some(amz_date) = header_text(&parts.headers, "x-amz-date") else {
        return Err(AwsError::new(
            "IncompleteSignatureException",
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.",
        ));
    };
    let well_formed = amz_date.len() == 16
        && amz_date.as_bytes().get(8) == Some(&b'T')
        && amz_date.ends_with('Z');
    if !well_formed {
        return Err(AwsError::new(
            "IncompleteSignatureException",
            format!(
                "X-Amz-Date must be in the ISO-8601 basic format yyyyMMddTHHmmssZ: '{amz_date}'"
            ),
        ));
    }
    if !amz_date.starts_with(&auth.date) {
        return Err(AwsError::invalid_signature(format!(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from \
             HTTP: '{}' != '{}', from '{amz_date}'.",
            auth.date,
            &amz_date[..8]
        )));
    }
    if auth.terminator != "aws4_request" {
        return Err(AwsError::invalid_signature(format!(
            "Credential should be scoped with a valid terminator: 'aws4_request', not '{}'.",
            auth.terminator
        )));
    }
    if auth.service != "ce" {
        return Err(AwsError::invalid_signature(
            "Credential should be scoped to correct service: 'ce'. ",
        ));
    }
    if !auth.signed_headers.iter().any(|h| h == "host") {
        return Err(AwsError::invalid_signature(
            "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.",
        ));
    }
    let credentials = [&config.main, &config.no_permission]
        .into_iter()
        .find(|c| c.access_key_id == auth.access_key_id)
        .ok_or_else(AwsError::unrecognized_client)?;
    if auth.region != config.region {
        return Err(AwsError::invalid_signature(format!(
            "Credential should be scoped to a valid region, not '{}'. ",
            auth.region
        )));
    }
    let signed = sigv4::Signed {
        method: parts.method.as_str(),
        path: parts.uri.path(),
        query: parts.uri.query().unwrap_or_default(),
        headers: &parts.headers,
        body,
        amz_date,
    };
    if sigv4::expected_signature(&signed, &auth, &credentials.secret_access_key) != auth.signature {
        return Err(AwsError::invalid_signature(
            "The request signature we calculated does not match the signature you provided. \
             Check your AWS Secret Access Key and signing method. Consult the service \
             documentation for details.",
        ));
    }
    let sent_token = header_text(&parts.headers, "x-amz-security-token");
    if sent_token != credentials.session_token.as_deref() {
        return Err(AwsError::unrecognized_client());
    }
    let revoked = std::ptr::eq(credentials, &config.main) && controls.is_revoked();
    if revoked {
        return Err(AwsError::unrecognized_client());
    }
    Ok(credentials)
}

/// Every request lands here: log, authenticate, route, validate, answer (or fault).
pub(crate) async fn handle(State(state): State<Arc<ServerState>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body = match to_bytes(body, 4 << 20).await {
        Ok(b) => b,
        Err(e) => {
            let error = AwsError::serialization(format!("could not read the request body: {e}"));
            return error_response(&state, &error);
        }
    };
    let target = header_text(&parts.headers, "x-amz-target").unwrap_or_default();
    let log_path = format!("{}#{target}", parts.uri.path());
    state.controls.log.record_with_body(
        &log_path,
        parts.uri.query(),
        &String::from_utf8_lossy(&body),
    );
    match prepare(&state, &parts, &body) {
        Ok(prepared) => respond(&state, &log_path, prepared).await,
        Err(e) => error_response(&state, &e),
    }
}

fn prepare(
    state: &ServerState,
    parts: &axum::http::request::Parts,
    body: &[u8],
) -> Result<Prepared, AwsError> {
    let config = &state.config;
    let credentials = authenticate(config, &state.controls, parts, body)?;
    let target = header_text(&parts.headers, "x-amz-target").unwrap_or_default();
    let operation = target.strip_prefix(TARGET_PREFIX).unwrap_or_default();
    let known = operation == cost::OPERATION || operation == dimensions::OPERATION;
    if parts.method != Method::POST || parts.uri.path() != "/" || !known {
        return Err(AwsError::new(
            "UnknownOperationException",
            format!(
                "Unknown operation: {} {} with X-Amz-Target '{target}'. This fake serves POST / \
                 with AWSInsightsIndexService.GetCostAndUsage and \
                 AWSInsightsIndexService.GetDimensionValues",
                parts.method,
                parts.uri.path()
            ),
        ));
    }
    if std::ptr::eq(credentials, &config.no_permission) {
        let account = &config.payer_account_id;
        return Err(AwsError::new(
            "AccessDeniedException",
            format!(
                "User: arn:aws:iam::{account}:user/{} is not authorized to perform: \
                 ce:{operation} on resource: arn:aws:ce:{}:{account}:/{operation} because no \
                 identity-based policy allows the ce:{operation} action",
                config.no_permission_user, config.region
            ),
        ));
    }
    let content_type = header_text(&parts.headers, "content-type").unwrap_or_default();
    if content_type.split(';').next().map(str::trim) != Some(CONTENT_TYPE) {
        return Err(AwsError::serialization(format!(
            "Content-Type must be {CONTENT_TYPE} (AWS JSON 1.1); got '{content_type}'"
        )));
    }
    let json: Value = serde_json::from_slice(body)
        .map_err(|e| AwsError::serialization(format!("The request body is not valid JSON: {e}")))?;
    match config.cost_explorer {
        CostExplorerState::Enabled => {}
        CostExplorerState::NotEnabledDataUnavailable => {
            return Err(AwsError::data_unavailable(
                "Data is not available. Please try to adjust the time period. If just enabled \
                 Cost Explorer, data might not be ingested yet",
            ));
        }
        CostExplorerState::NotEnabledAccessDenied => {
            return Err(AwsError::new(
                "AccessDeniedException",
                "User not enabled for cost explorer access",
            ));
        }
    }
    let today = state.data.last_day;
    if operation == cost::OPERATION {
        let request = request::cost_request(&json, today)?;
        cost::prepare(&state.data, &config.settings, &json, request)
    } else {
        let request = request::dimension_request(&json, today)?;
        dimensions::prepare(&state.data, &json, request)
    }
}

/// A body that is not JSON, for [`Fault::Malformed`].
const MALFORMED_BODY: &[u8] = b"{\"ResultsByTime\": [{\"TimePeriod\": <html>Service Unavailable";

async fn respond(state: &ServerState, path: &str, prepared: Prepared) -> Response {
    let ok = |variant| response(state, StatusCode::OK, (prepared.render)(variant));
    match state.controls.faults.take(path, prepared.page) {
        None => ok(Variant::Normal),
        Some(Fault::Delay(duration)) => {
            tokio::time::sleep(duration).await;
            ok(Variant::Normal)
        }
        Some(Fault::RateLimited { .. }) => error_response(
            state,
            &AwsError::new("LimitExceededException", "Rate exceeded"),
        ),
        Some(Fault::ServerError(code)) => {
            let status = StatusCode::from_u16(code)
                .ok()
                .filter(|s| s.is_server_error())
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let error_type = if status == StatusCode::SERVICE_UNAVAILABLE {
                "ServiceUnavailable"
            } else {
                "InternalFailure"
            };
            let mut error = AwsError::new(
                error_type,
                "The request processing has failed because of an unknown error, exception or \
                 failure.",
            );
            error.status = status;
            error_response(state, &error)
        }
        Some(Fault::Malformed) => response(state, StatusCode::OK, MALFORMED_BODY.to_vec()),
        Some(Fault::Truncated) => {
            let mut body = (prepared.render)(Variant::Normal);
            body.truncate(body.len() / 2);
            response(state, StatusCode::OK, body)
        }
        Some(Fault::RepeatPage) => ok(Variant::RepeatPage),
        Some(Fault::MissingField) => ok(Variant::MissingField),
        // Cost Explorer pages by token, not by offset: a shifted page is an ordinary one.
        Some(Fault::ShiftedPage) => ok(Variant::Normal),
    }
}
