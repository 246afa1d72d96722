//! From a validated request to an HTTP response: the provider's error envelope, JSON bodies, and
//! the faults that replace or bend a normal response.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use serde::Serialize;

use super::faults::{Fault, Faults};

/// What the error is about; each provider spells it in its own envelope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ErrorKind {
    InvalidRequest,
    Authentication,
    Permission,
    NotFound,
    RateLimit,
    /// A 5xx (529 is Anthropic's "overloaded").
    Server,
}

/// An error response before it is put in a provider's envelope.
#[derive(Debug, Clone)]
pub(crate) struct ApiError {
    pub(crate) status: StatusCode,
    pub(crate) kind: ErrorKind,
    pub(crate) message: String,
    /// OpenAI's `param` (Anthropic has none).
    pub(crate) param: Option<String>,
    /// OpenAI's `code` (Anthropic has none).
    pub(crate) code: Option<&'static str>,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            status,
            kind,
            message: message.into(),
            param: None,
            code: None,
        }
    }

    /// A 400 about the request's parameters.
    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, ErrorKind::InvalidRequest, message)
    }

    pub(crate) fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, ErrorKind::NotFound, message)
    }

    pub(crate) fn internal(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            ErrorKind::Server,
            message,
        )
    }

    pub(crate) fn param(mut self, param: impl Into<String>) -> Self {
        self.param = Some(param.into());
        self
    }

    pub(crate) fn code(mut self, code: &'static str) -> Self {
        self.code = Some(code);
        self
    }
}

/// A provider's way of writing errors.
pub(crate) trait Dialect: Sync {
    /// The JSON body of an error.
    fn body(&self, error: &ApiError) -> serde_json::Value;
    /// The error a rate-limited request gets (the status is set to 429 by the caller).
    fn rate_limited(&self) -> ApiError;
    /// The error of an injected server failure with this status.
    fn server_error(&self, status: StatusCode) -> ApiError;
}

/// How a page is rendered: normally, or bent by a fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Variant {
    Normal,
    /// The cursor does not advance (see [`Fault::RepeatPage`]).
    RepeatPage,
    /// A required field is left out of the results (see [`Fault::MissingField`]).
    MissingField,
    /// Offset pages start one row early (see [`Fault::ShiftedPage`]).
    ShiftedPage,
}

/// Renders the body of a validated request.
pub(crate) type Render = Arc<dyn Fn(Variant) -> Result<Vec<u8>, ApiError> + Send + Sync>;

/// A validated request, ready to answer.
pub(crate) struct Prepared {
    /// The 1-based page within its listing, for fault rules.
    pub(crate) page: u32,
    pub(crate) render: Render,
}

pub(crate) fn json_bytes<T: Serialize>(value: &T) -> Result<Vec<u8>, ApiError> {
    serde_json::to_vec(value).map_err(|e| ApiError::internal(format!("serialization failed: {e}")))
}

fn json_response(status: StatusCode, body: Vec<u8>) -> Response {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

pub(crate) fn error_response(dialect: &dyn Dialect, error: &ApiError) -> Response {
    let body = serde_json::to_vec(&dialect.body(error)).unwrap_or_default();
    json_response(error.status, body)
}

/// A body that is not JSON, for [`Fault::Malformed`].
const MALFORMED_BODY: &[u8] =
    b"{\"data\": [{\"results\": [<html><body>upstream hiccup</body></html>";

/// Answers a validated request, unless a fault rule takes over.
pub(crate) async fn respond(
    dialect: &dyn Dialect,
    faults: &Faults,
    path: &str,
    prepared: Prepared,
) -> Response {
    let render = |variant| match (prepared.render)(variant) {
        Ok(body) => json_response(StatusCode::OK, body),
        Err(e) => error_response(dialect, &e),
    };
    match faults.take(path, prepared.page) {
        None => render(Variant::Normal),
        Some(Fault::Delay(duration)) => {
            tokio::time::sleep(duration).await;
            render(Variant::Normal)
        }
        Some(Fault::RateLimited { retry_after_secs }) => {
            let mut error = dialect.rate_limited();
            error.status = StatusCode::TOO_MANY_REQUESTS;
            let mut response = error_response(dialect, &error);
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
            response
        }
        Some(Fault::ServerError(code)) => {
            let status = StatusCode::from_u16(code)
                .ok()
                .filter(|s| s.is_server_error())
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            error_response(dialect, &dialect.server_error(status))
        }
        Some(Fault::Malformed) => json_response(StatusCode::OK, MALFORMED_BODY.to_vec()),
        Some(Fault::Truncated) => match (prepared.render)(Variant::Normal) {
            Ok(mut body) => {
                body.truncate(body.len() / 2);
                json_response(StatusCode::OK, body)
            }
            Err(e) => error_response(dialect, &e),
        },
        Some(Fault::RepeatPage) => render(Variant::RepeatPage),
        Some(Fault::MissingField) => render(Variant::MissingField),
        Some(Fault::ShiftedPage) => render(Variant::ShiftedPage),
    }
}
