//! Keeps tenant users inside their customer's portal, server-side, for every route the server
//! has and any added later: a middleware over the whole router looks up the session a request's
//! cookie names (once; the dashboard's extractors reuse it) and, for a tenant user, lets
//! through only the portal (`/portal`, `/portal/…`), signing in and out, their own password
//! and the static assets. Anything else is refused: a page read (GET/HEAD) is sent to the
//! portal (303), a page write answers 403, and the API, `/metrics`, `/healthz` and the OTLP
//! receiver answer a JSON 403. A session cookie never authenticates the API anyway (tokens do,
//! and tenants can create none), so this is the one rule that holds even where a route forgets
//! to check a role.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use spendlens_store::Role;

use crate::AppState;
use crate::dashboard::error::PageError;
use crate::dashboard::session::{KnownSession, PORTAL, SESSION_COOKIE, cookie, is_portal_path};
use crate::error::ApiError;

/// Paths a tenant user may reach besides the portal's.
const OPEN_TO_TENANTS: &[&str] = &[
    "/login",
    "/logout",
    "/account/password",
    "/static/app.css",
    "/static/app.js",
];

/// Whether a tenant user may reach `path`.
pub fn open_to_tenants(path: &str) -> bool {
    is_portal_path(path) || OPEN_TO_TENANTS.contains(&path)
}

/// Paths that answer JSON (or OTLP), where a refusal is a JSON 403 rather than a page.
fn machine_path(path: &str) -> bool {
    path == "/api"
        || path.starts_with("/api/")
        || path.starts_with("/v1/")
        || path == "/metrics"
        || path == "/healthz"
}

/// The middleware: see the module's documentation.
pub async fn guard(
    State(state): State<Arc<AppState>>,
    mut request: Request,
    next: Next,
) -> Response {
    // The stylesheet and script are everyone's: no session lookup for them.
    if request.uri().path().starts_with("/static/") {
        return next.run(request).await;
    }
    let Some(token) = cookie(request.headers(), SESSION_COOKIE) else {
        return next.run(request).await;
    };
    let session = match state
        .store()
        .session(&token, state.now(), state.settings.session_idle)
        .await
    {
        Ok(session) => session,
        Err(err) => return PageError::from(err).into_response(),
    };
    let tenant = session
        .as_ref()
        .filter(|s| s.user.role == Role::Tenant)
        .map(|s| s.user.email.clone());
    request.extensions_mut().insert(KnownSession(session));
    let Some(email) = tenant else {
        return next.run(request).await;
    };
    let path = request.uri().path().to_owned();
    if open_to_tenants(&path) {
        return next.run(request).await;
    }
    tracing::info!(target: "spendlens::access", email = ?email, path = %path, "tenant kept to the portal");
    if machine_path(&path) {
        return ApiError::Forbidden(
            "a tenant user sees only their customer's portal (/portal); the API, metrics and ingest are not open to tenants"
                .to_owned(),
        )
        .into_response();
    }
    if request.method() == Method::GET || request.method() == Method::HEAD {
        return Redirect::to(PORTAL).into_response();
    }
    PageError::Forbidden(
        "a tenant user sees only their customer's portal; this page is not open to tenants"
            .to_owned(),
    )
    .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_portal_and_the_account_basics_are_open() {
        for open in [
            "/portal",
            "/portal/budgets",
            "/portal/budgets/3/delete",
            "/login",
            "/logout",
            "/account/password",
            "/static/app.css",
        ] {
            assert!(open_to_tenants(open), "{open}");
        }
        for closed in [
            "/",
            "/portalx",
            "/portal-admin",
            "/providers",
            "/customers",
            "/cost/budgets",
            "/users",
            "/tokens",
            "/api/v1/budgets",
            "/metrics",
            "/static/other.js",
            "/account/password/x",
        ] {
            assert!(!open_to_tenants(closed), "{closed}");
        }
        assert!(machine_path("/api/v1/budgets") && machine_path("/v1/traces"));
        assert!(machine_path("/metrics") && !machine_path("/providers"));
    }
}
