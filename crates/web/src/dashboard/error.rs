//! Errors of HTML routes: an HTML page with the status, a message the user can act on and the
//! request id — never JSON, never a stack trace.

use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use spendlens_query::QueryError;
use spendlens_store::StoreError;
use spendlens_sync::SyncError;

use crate::error::current_request_id;
use crate::passwords::HashError;

#[derive(Debug, Clone, thiserror::Error)]
pub enum PageError {
    /// Not signed in (or first run): go there.
    #[error("redirect to {0}")]
    Redirect(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0} not found")]
    NotFound(String),
    /// No route answers the address: the message says so in full.
    #[error("{0}")]
    NoSuchPage(String),
    /// A request the server refused before any page code ran (too large, wrong type, wrong
    /// method): its status and axum's words.
    #[error("{message}")]
    Rejected { status: StatusCode, message: String },
    /// Come back later: sent with `Retry-After` (seconds).
    #[error("{message}")]
    TooManyRequests { message: String, retry_after: u64 },
    #[error("internal error")]
    Internal(String),
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    status: u16,
    title: &'a str,
    message: String,
    request_id: String,
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let (status, title) = match &self {
            PageError::Redirect(to) => return Redirect::to(to).into_response(),
            PageError::BadRequest(_) => (StatusCode::BAD_REQUEST, "That request cannot be shown"),
            PageError::Forbidden(_) => (StatusCode::FORBIDDEN, "Not allowed"),
            PageError::NotFound(_) => (StatusCode::NOT_FOUND, "Not found"),
            PageError::NoSuchPage(_) => (StatusCode::NOT_FOUND, "Page not found"),
            PageError::TooManyRequests { .. } => (StatusCode::TOO_MANY_REQUESTS, "Try again later"),
            PageError::Rejected { status, .. } => (*status, "That request cannot be handled"),
            PageError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "Something went wrong"),
        };
        let request_id = current_request_id();
        let message = match &self {
            PageError::Internal(cause) => {
                tracing::error!(request_id = %request_id, cause = %cause, "internal error");
                "spendlens hit an internal error. Quote the request id below when you report it."
                    .to_owned()
            }
            other => other.to_string(),
        };
        let page = ErrorPage {
            status: status.as_u16(),
            title,
            message,
            request_id,
        };
        let mut response = match page.render() {
            Ok(html) => (status, Html(html)).into_response(),
            Err(_) => (status, page.message).into_response(),
        };
        if let PageError::TooManyRequests { retry_after, .. } = &self {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(*retry_after));
        }
        response
    }
}

/// Renders every plain-text error response of the dashboard (an extractor's rejection: a form
/// too large or of the wrong type, a bad path, a wrong method) as the HTML error page, keeping
/// its status.
pub async fn html_errors(response: Response) -> Response {
    let status = response.status();
    let is_text = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/plain"));
    if !(status.is_client_error() || status.is_server_error()) || !is_text {
        return response;
    }
    let allow = response.headers().get(header::ALLOW).cloned();
    let text = axum::body::to_bytes(response.into_body(), 64 * 1024)
        .await
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
        .unwrap_or_default();
    let message = match status {
        StatusCode::PAYLOAD_TOO_LARGE => format!(
            "{}; a form may send at most {} bytes",
            text.trim(),
            crate::BODY_LIMIT
        ),
        _ => text.trim().chars().take(500).collect(),
    };
    let mut page = PageError::Rejected { status, message }.into_response();
    if let Some(allow) = allow {
        page.headers_mut().insert(header::ALLOW, allow);
    }
    page
}

impl From<HashError> for PageError {
    fn from(err: HashError) -> PageError {
        match err {
            HashError::Busy { retry_after } => PageError::TooManyRequests {
                message: err.to_string(),
                retry_after,
            },
            HashError::Failed(cause) => PageError::Internal(cause),
        }
    }
}

impl From<StoreError> for PageError {
    fn from(err: StoreError) -> PageError {
        match err {
            StoreError::NotFound { what } => PageError::NotFound(what),
            StoreError::Invalid(message) | StoreError::Conflict(message) => {
                PageError::BadRequest(message)
            }
            other => PageError::Internal(crate::error::cause_chain(&other)),
        }
    }
}

impl From<QueryError> for PageError {
    fn from(err: QueryError) -> PageError {
        match err {
            QueryError::Invalid(message) => PageError::BadRequest(message),
            QueryError::Store(store) => store.into(),
        }
    }
}

impl From<SyncError> for PageError {
    fn from(err: SyncError) -> PageError {
        match err {
            SyncError::Store(store) => store.into(),
            // The provider refused or failed: 422, as the API answers.
            err @ (SyncError::Provider(_) | SyncError::Unsupported(_)) => PageError::Rejected {
                status: StatusCode::UNPROCESSABLE_ENTITY,
                message: err.to_string(),
            },
            other => PageError::BadRequest(other.to_string()),
        }
    }
}

impl From<askama::Error> for PageError {
    fn from(err: askama::Error) -> PageError {
        PageError::Internal(format!("template: {err}"))
    }
}
