//! The one place errors become HTTP responses: a status, a stable code, a message a user can
//! act on, and the request id to quote in a bug report. Internal errors are logged with their
//! cause and shown only as "internal error".

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use spendlens_query::QueryError;
use spendlens_store::StoreError;
use spendlens_sync::SyncError;

tokio::task_local! {
    /// The id of the request being served, set by the request-id middleware.
    pub static REQUEST_ID: String;
}

/// The id of the current request, or `-` outside one.
pub fn current_request_id() -> String {
    REQUEST_ID
        .try_with(Clone::clone)
        .unwrap_or_else(|_| "-".to_owned())
}

/// An error and every error under it, `: `-separated, for the log of a 500 (the response
/// itself says only "internal error" and the request id).
pub fn cause_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let next = cause.to_string();
        // thiserror's `#[error("...: {0}")]` often repeats its source; don't say it twice.
        if !text.ends_with(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        source = cause.source();
    }
    text
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error(
        "missing or invalid API token; send Authorization: Bearer <token> (create one with `spendlens tokens create`)"
    )]
    Unauthorized,
    /// A credential was presented but is not (or no longer) good here: the message says why.
    #[error("{0}")]
    UnauthorizedBecause(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0} not found")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    /// A sync of the connection is already running (`run_id`: the run on record).
    #[error("{message}")]
    AlreadyRunning {
        message: String,
        run_id: Option<i64>,
    },
    /// A provider refused or failed a live check: the message says what to do.
    #[error("{0}")]
    Upstream(String),
    /// The request body is larger than the server accepts.
    #[error("{0}")]
    TooLarge(String),
    /// The request body is not of a type this route reads.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// Come back later (with `Retry-After`, seconds).
    #[error("{message}")]
    TooManyRequests { message: String, retry_after: u64 },
    /// The server cannot take the request now (the database is busy or unreachable): retry
    /// after `retry_after` seconds; nothing was stored.
    #[error("{message}")]
    Unavailable { message: String, retry_after: u64 },
    #[error("internal error")]
    Internal(String),
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: ErrorDetail<'a>,
}

#[derive(Serialize)]
struct ErrorDetail<'a> {
    code: &'a str,
    message: String,
    request_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    run_id: Option<i64>,
}

impl ApiError {
    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            ApiError::Unauthorized | ApiError::UnauthorizedBecause(_) => {
                (StatusCode::UNAUTHORIZED, "unauthorized")
            }
            ApiError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            ApiError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            ApiError::AlreadyRunning { .. } => (StatusCode::CONFLICT, "already_running"),
            ApiError::Upstream(_) => (StatusCode::UNPROCESSABLE_ENTITY, "provider_check_failed"),
            ApiError::TooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            ApiError::UnsupportedMediaType(_) => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
            }
            ApiError::TooManyRequests { .. } => {
                (StatusCode::TOO_MANY_REQUESTS, "too_many_requests")
            }
            ApiError::Unavailable { .. } => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            ApiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        let request_id = current_request_id();
        if let ApiError::Internal(cause) = &self {
            tracing::error!(request_id = %request_id, cause = %cause, "internal error");
        }
        let body = ErrorBody {
            error: ErrorDetail {
                code,
                message: self.to_string(),
                request_id,
                run_id: match &self {
                    ApiError::AlreadyRunning { run_id, .. } => *run_id,
                    _ => None,
                },
            },
        };
        let mut response = (status, Json(body)).into_response();
        if let ApiError::TooManyRequests { retry_after, .. }
        | ApiError::Unavailable { retry_after, .. } = &self
        {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(*retry_after));
        }
        response
    }
}

impl ApiError {
    /// The error for a response axum made itself (an extractor's rejection, an unknown route
    /// or method): its status, and its text as the message.
    pub fn from_status(status: StatusCode, text: &str) -> ApiError {
        let text = text.trim();
        let message = if text.is_empty() {
            status.canonical_reason().unwrap_or("error").to_owned()
        } else {
            text.chars().take(500).collect()
        };
        match status {
            StatusCode::PAYLOAD_TOO_LARGE => ApiError::TooLarge(format!(
                "{message}; the body may be at most {} bytes",
                crate::BODY_LIMIT
            )),
            StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::UnsupportedMediaType(format!(
                "{message}; send Content-Type: application/json"
            )),
            StatusCode::NOT_FOUND => ApiError::NotFound(format!("route ({message})")),
            StatusCode::UNAUTHORIZED => ApiError::Unauthorized,
            StatusCode::FORBIDDEN => ApiError::Forbidden(message),
            StatusCode::CONFLICT => ApiError::Conflict(message),
            status if status.is_server_error() => ApiError::Internal(message),
            _ => ApiError::BadRequest(message),
        }
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> ApiError {
        ApiError::from_status(
            rejection.status(),
            &format!("invalid JSON body: {}", rejection.body_text()),
        )
    }
}

/// Turns every error response under `/api/v1` that is not JSON yet — an extractor's plain-text
/// rejection (bad path or query, a body too large or of the wrong type), 404 and 405 — into the
/// JSON error envelope, keeping its status.
pub async fn json_errors(response: Response) -> Response {
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let allow = response.headers().get(header::ALLOW).cloned();
    let text = axum::body::to_bytes(response.into_body(), 64 * 1024)
        .await
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
        .unwrap_or_default();
    let mut error = ApiError::from_status(status, &text);
    if status == StatusCode::METHOD_NOT_ALLOWED {
        error = ApiError::BadRequest(format!("{text}: this route does not take that method"));
    }
    let mut json = error.into_response();
    *json.status_mut() = status;
    if let Some(allow) = allow {
        json.headers_mut().insert(header::ALLOW, allow);
    }
    json
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> ApiError {
        match err {
            StoreError::NotFound { what } => ApiError::NotFound(what),
            StoreError::Conflict(message) => ApiError::Conflict(message),
            StoreError::Invalid(message) => ApiError::BadRequest(message),
            other => ApiError::Internal(cause_chain(&other)),
        }
    }
}

impl From<QueryError> for ApiError {
    fn from(err: QueryError) -> ApiError {
        match err {
            QueryError::Invalid(message) => ApiError::BadRequest(message),
            QueryError::Store(store) => store.into(),
        }
    }
}

impl From<SyncError> for ApiError {
    fn from(err: SyncError) -> ApiError {
        match err {
            SyncError::AlreadyRunning { run, .. } => ApiError::AlreadyRunning {
                message: err.to_string(),
                run_id: run.map(|r| r.0),
            },
            SyncError::NoCredential { .. } | SyncError::Plan(_) => {
                ApiError::BadRequest(err.to_string())
            }
            SyncError::Provider(provider) => ApiError::Upstream(provider.to_string()),
            SyncError::Store(store) => store.into(),
            SyncError::Unsupported(message) => ApiError::Upstream(message),
        }
    }
}

#[cfg(test)]
mod chain_tests {
    use super::cause_chain;

    #[derive(Debug, thiserror::Error)]
    #[error("outer failed")]
    struct Outer(#[source] Inner);

    #[derive(Debug, thiserror::Error)]
    #[error("inner failed: {0}")]
    struct Inner(#[source] std::io::Error);

    #[test]
    fn an_internal_error_keeps_every_cause_once() {
        let err = Outer(Inner(std::io::Error::other("disk on fire")));
        assert_eq!(
            cause_chain(&err),
            "outer failed: inner failed: disk on fire"
        );
    }
}
