//! The one place errors become HTTP responses: a status, a stable code, a message a user can
//! act on, and the request id to quote in a bug report. Internal errors are logged with their
//! cause and shown only as "internal error".

use axum::Json;
use axum::http::StatusCode;
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

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error(
        "missing or invalid API token; send Authorization: Bearer <token> (create one with `spendlens tokens create`)"
    )]
    Unauthorized,
    #[error("{0}")]
    Forbidden(String),
    #[error("{0} not found")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    /// A provider refused or failed a live check: the message says what to do.
    #[error("{0}")]
    Upstream(String),
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
}

impl ApiError {
    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            ApiError::Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized"),
            ApiError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            ApiError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            ApiError::Upstream(_) => (StatusCode::UNPROCESSABLE_ENTITY, "provider_check_failed"),
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
            },
        };
        (status, Json(body)).into_response()
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> ApiError {
        match err {
            StoreError::NotFound { what } => ApiError::NotFound(what),
            StoreError::Conflict(message) => ApiError::Conflict(message),
            StoreError::Invalid(message) => ApiError::BadRequest(message),
            other => ApiError::Internal(other.to_string()),
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
            SyncError::AlreadyRunning { .. } => ApiError::Conflict(err.to_string()),
            SyncError::NoCredential { .. } | SyncError::Plan(_) => {
                ApiError::BadRequest(err.to_string())
            }
            SyncError::Provider(provider) => ApiError::Upstream(provider.to_string()),
            SyncError::Store(store) => store.into(),
            SyncError::Unsupported(message) => ApiError::Upstream(message),
        }
    }
}
