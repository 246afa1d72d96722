//! The dashboard: server-rendered pages over the same reports as the API and the CLI.
//!
//! Tabs: Providers, Workspaces, API Keys, Models, Customers, Products, Agents (metric views with
//! filters, cards, charts, tables and CSV; the last three over metered calls), Workspace Management, Connections, Sync Logs, Cost (Cost records, Token usage, Model pricing), Users.
//! A tenant user sees only the customer portal (`portal/`: Spend and Budgets of their customer). The URL holds a view's
//! whole state, so a page can be bookmarked, shared and exported with the same numbers. Pages
//! work without JavaScript; `app.js` only saves clicks.

mod access_log;
pub mod account;
mod alerts;
mod aws_form;
mod budgets;
pub mod charts;
mod connection_key;
mod connection_page;
mod connections;
mod cost;
pub mod error;
mod focus_export;
pub mod forecast_panel;
pub mod forecast_rows;
pub mod forecasts;
pub mod format;
mod ingest_keys;
mod manage;
mod people;
mod portal;
mod pricing;
mod pricing_edit;
mod pricing_observed;
mod reports;
pub mod session;
mod sync_logs;
pub mod throttle;
mod token_usage;
mod tokens;
mod users;
mod views;

use std::sync::Arc;

use askama::Template;
use axum::Router;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use rust_decimal::Decimal;
use spendlens_domain::Money;

use crate::AppState;
use error::PageError;
use session::{FLASH_COOKIE, Viewer, set_cookie, take_flash};

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/providers") }))
        .route("/setup", get(session::setup_form).post(session::setup))
        .route("/login", get(session::login_form).post(session::login))
        .route("/logout", post(session::logout))
        .route("/providers", get(views::providers))
        .route("/workspaces", get(views::workspaces))
        .route("/keys", get(views::keys))
        .route("/models", get(views::models))
        .route("/customers", get(views::customers))
        .route("/products", get(views::products))
        .route("/agents", get(views::agents))
        .route("/export/focus", get(focus_export::download))
        .route("/export/{view}", get(views::export))
        .route("/refresh", post(views::refresh))
        .route("/sync-status", get(views::sync_status))
        .route("/workspace-management", get(manage::page))
        .route("/workspace-management/{id}/rename", post(manage::rename))
        .route("/workspace-management/{id}/revert", post(manage::revert))
        .route(
            "/workspace-management/bulk-rename",
            post(manage::bulk_rename),
        )
        .route(
            "/connections",
            get(connections::page).post(connections::add),
        )
        .route("/connections/{id}", get(connection_page::page))
        .route("/connections/{id}/services", post(connection_page::choose))
        .route(
            "/connections/{id}/credential",
            post(connection_key::replace),
        )
        .route("/connections/{id}/test", post(connections::test))
        .route("/connections/{id}/sync", post(connections::sync_now))
        .route(
            "/connections/{id}/remove",
            get(connections::confirm_remove).post(connections::remove),
        )
        .route("/ingest-keys", post(ingest_keys::create))
        .route(
            "/ingest-keys/{id}/{action}",
            get(ingest_keys::confirm).post(ingest_keys::act),
        )
        .route("/sync-logs", get(sync_logs::page))
        .route("/access-log", get(access_log::page))
        .route("/users", get(users::page).post(users::add))
        .route("/users/{id}/disable", post(people::disable))
        .route("/users/{id}/enable", post(people::enable))
        .route(
            "/users/{id}/remove",
            get(people::confirm_remove).post(people::remove),
        )
        .route("/users/{id}/role", post(account::set_role))
        .route(
            "/users/{id}/password",
            get(account::reset_form).post(account::reset),
        )
        .route(
            "/account/password",
            get(account::own_form).post(account::change_own),
        )
        .route("/tokens", get(tokens::page).post(tokens::create))
        .route(
            "/tokens/{id}/revoke",
            get(tokens::confirm_revoke).post(tokens::revoke),
        )
        .route("/users/{id}/sessions", get(people::sessions))
        .route("/users/{id}/sessions/revoke", post(people::revoke))
        .route("/cost", get(cost::page))
        .route("/cost/live", get(cost::live_part))
        .route("/cost/forecast", get(forecasts::page))
        .route("/cost/forecast/export", get(forecasts::export))
        .route("/cost/forecast/panel", get(forecast_panel::fragment))
        .route("/cost/forecast/thresholds", post(forecasts::set_threshold))
        .route(
            "/cost/forecast/thresholds/remove",
            post(forecasts::remove_threshold),
        )
        .route("/cost/usage", get(token_usage::page))
        .route(
            "/cost/pricing",
            get(pricing::page).post(pricing_edit::create),
        )
        .route("/cost/pricing/new", get(pricing_edit::new_form))
        .route(
            "/cost/pricing/{id}/edit",
            get(pricing_edit::edit_form).post(pricing_edit::edit),
        )
        .route(
            "/cost/pricing/{id}/delete",
            get(pricing_edit::confirm_delete).post(pricing_edit::delete),
        )
        .route("/cost/budgets", get(budgets::page).post(budgets::create))
        .route("/cost/budgets/new", get(budgets::new_form))
        .route("/cost/budgets/{id}", post(budgets::update))
        .route("/cost/budgets/{id}/edit", get(budgets::edit_form))
        .route(
            "/cost/budgets/{id}/delete",
            get(budgets::confirm_delete).post(budgets::delete),
        )
        .route("/cost/reports", get(reports::page).post(reports::generate))
        .route("/cost/reports/schedules", post(reports::add_schedule))
        .route(
            "/cost/reports/schedules/{id}/delete",
            get(reports::confirm_unschedule).post(reports::unschedule),
        )
        .route(
            "/cost/reports/{id}/delete",
            get(reports::confirm_delete).post(reports::delete),
        )
        .route("/cost/reports/{id}/{format}", get(reports::download))
        .route("/cost/alerts", get(alerts::page))
        .route("/cost/alerts/rules", post(alerts::create_rule))
        .route("/cost/alerts/rules/{id}/toggle", post(alerts::toggle_rule))
        .route("/cost/alerts/channels", post(alerts::create_channel))
        .route("/cost/alerts/smtp", post(alerts::save_smtp))
        .route(
            "/cost/alerts/{what}/{id}/delete",
            get(alerts::confirm_delete).post(alerts::delete),
        )
        .route("/portal", get(portal::page))
        .route(
            "/portal/budgets",
            get(portal::budgets_page).post(portal::create),
        )
        .route("/portal/budgets/new", get(portal::new_form))
        .route("/portal/budgets/{id}", post(portal::update))
        .route("/portal/budgets/{id}/edit", get(portal::edit_form))
        .route(
            "/portal/budgets/{id}/delete",
            get(portal::confirm_delete).post(portal::delete),
        )
        .route("/static/app.css", get(stylesheet))
        .route("/static/app.js", get(script))
        .layer(axum::middleware::map_response(error::html_errors))
}

/// Any address no route answers (outside `/api/v1`, which answers JSON): the styled page.
pub async fn not_found(uri: axum::http::Uri) -> PageError {
    let path: String = uri.path().chars().take(200).collect();
    PageError::NoSuchPage(format!(
        "There is no page at {path}. The address may be mistyped, or the page has moved; the tabs above lead to every view."
    ))
}

const STYLESHEET: &str = include_str!("../../assets/app.css");
const SCRIPT: &str = include_str!("../../assets/app.js");

async fn stylesheet() -> Response {
    static_asset(STYLESHEET, "text/css; charset=utf-8")
}

async fn script() -> Response {
    static_asset(SCRIPT, "text/javascript; charset=utf-8")
}

fn static_asset(body: &'static str, content_type: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response()
}

/// The tabs, in order: (path, label, admin only).
const TABS: [(&str, &str, bool); 13] = [
    ("/providers", "Providers", false),
    ("/workspaces", "Workspaces", false),
    ("/keys", "API Keys", false),
    ("/models", "Models", false),
    ("/customers", "Customers", false),
    ("/products", "Products", false),
    ("/agents", "Agents", false),
    ("/workspace-management", "Workspace Management", false),
    ("/connections", "Connections", false),
    ("/sync-logs", "Sync Logs", false),
    ("/cost", "Cost", false),
    ("/users", "Users", true),
    ("/access-log", "Access Log", true),
];

/// A tenant's tabs: their customer's portal.
const PORTAL_TABS: [(&str, &str); 2] = [("/portal", "Spend"), ("/portal/budgets", "Budgets")];

pub struct Tab {
    pub href: &'static str,
    pub label: &'static str,
    pub current: bool,
    /// A query string the link carries (`?period=…`): metric tabs keep the period and provider.
    pub query: String,
}

/// What every page's frame shows: title, tabs, who is signed in, the CSRF token for its forms
/// and a one-time notice.
pub struct Layout {
    pub title: String,
    /// Where the brand links: the Providers view, or a tenant's portal.
    pub home: &'static str,
    pub tabs: Vec<Tab>,
    pub email: String,
    pub role: String,
    pub is_admin: bool,
    pub org_name: String,
    pub csrf: String,
    pub notice: Option<(String, String)>,
    /// `<meta http-equiv=refresh>` seconds, for auto-refresh (works without JavaScript).
    pub auto_refresh: Option<u32>,
    /// Alerts fired in the last 24 hours (the header's badge links to Cost → Alerts).
    pub alerts_recent: i64,
    had_flash: bool,
}

impl Layout {
    pub async fn new(
        state: &AppState,
        viewer: &Viewer,
        headers: &HeaderMap,
        title: &str,
        active: &str,
    ) -> Result<Layout, PageError> {
        let notice = take_flash(headers);
        let tenant = viewer.is_tenant();
        let tabs: Vec<Tab> = if tenant {
            PORTAL_TABS
                .iter()
                .map(|(href, label)| Tab {
                    href,
                    label,
                    current: *href == active,
                    query: String::new(),
                })
                .collect()
        } else {
            TABS.iter()
                .filter(|(_, _, admin)| !admin || viewer.is_admin())
                .map(|(href, label, _)| Tab {
                    href,
                    label,
                    current: *href == active,
                    query: String::new(),
                })
                .collect()
        };
        Ok(Layout {
            title: title.to_owned(),
            home: if tenant {
                session::PORTAL
            } else {
                "/providers"
            },
            tabs,
            email: viewer.user().email.clone(),
            role: account::access_text(viewer.user().role, viewer.customer()),
            is_admin: viewer.is_admin(),
            org_name: state.store().org_name(viewer.org()).await?,
            csrf: viewer.session.csrf_token.clone(),
            had_flash: notice.is_some(),
            notice,
            auto_refresh: None,
            // Alert firings are the organization's, across customers: not a tenant's to see.
            alerts_recent: if tenant {
                0
            } else {
                state
                    .store()
                    .count_alert_firings_since(viewer.org(), state.now() - time::Duration::days(1))
                    .await
                    .unwrap_or(0)
            },
        })
    }

    /// Sets a notice for this render (e.g. a form's error).
    pub fn with_notice(mut self, kind: &str, text: impl Into<String>) -> Layout {
        self.notice = Some((kind.to_owned(), text.into()));
        self
    }
}

/// Renders a template into an HTML response.
pub fn render(template: &impl Template) -> Result<Html<String>, PageError> {
    Ok(Html(template.render()?))
}

/// Renders a page; clears the flash cookie the layout consumed.
pub fn respond(
    layout: &Layout,
    headers: &HeaderMap,
    status: StatusCode,
    template: &impl Template,
) -> Result<Response, PageError> {
    let mut response = (status, render(template)?).into_response();
    if layout.had_flash {
        response
            .headers_mut()
            .append(header::SET_COOKIE, set_cookie(headers, FLASH_COOKIE, "", 0));
    }
    Ok(response)
}

/// Adds the security headers every dashboard response carries.
pub fn security_headers(headers: &mut HeaderMap) {
    let pairs = [
        (
            "content-security-policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
        ),
        ("x-frame-options", "DENY"),
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "same-origin"),
    ];
    for (name, value) in pairs {
        if !headers.contains_key(name) {
            headers.insert(name, HeaderValue::from_static(value));
        }
    }
}

/// `part` of `whole` as `12.3%`.
pub fn percent(part: Money, whole: Money) -> String {
    format::share(spendlens_query::views::percent(part, whole).map(|p: Decimal| p))
}
