//! spendlens's HTTP surface: the dashboard (server-rendered pages behind a login), the JSON API
//! under `/api/v1` (behind API tokens, described by `/api/v1/openapi.json`), `/healthz` and
//! Prometheus metrics at `/metrics`.
//!
//! Architecture invariant: only this crate knows HTTP. Handlers turn input into domain types
//! on their first line, call the query layer, the store or the sync engine, and map errors in
//! one place ([`error::ApiError`]).

pub mod access;
pub mod alerts;
pub mod api;
pub mod auth;
pub mod budgets;
pub mod client;
pub mod credentials;
pub mod dashboard;
pub mod documents;
pub mod error;
pub mod metrics;
pub mod otlp;
pub mod passwords;
pub mod prices;
pub mod restate;
pub mod schedules;
pub mod server;
pub mod services;
pub mod tenant_guard;
pub mod usage;

use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::HeaderValue;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use rand::RngCore;
use spendlens_domain::Clock;
use spendlens_query::Reports;
use spendlens_store::Store;
use spendlens_sync::SyncEngine;
use time::OffsetDateTime;
use tokio::net::TcpListener;

/// Settings of the HTTP surface.
#[derive(Clone, Debug)]
pub struct WebSettings {
    /// The server sits behind a proxy that appends the client's address to `X-Forwarded-For`
    /// (only then is that header believed, for sign-in throttling and logs).
    pub trust_forwarded_for: bool,
    /// Every cookie is marked `Secure` (`serve --secure-cookies`); without it, only when a
    /// proxy says `X-Forwarded-Proto: https`.
    pub secure_cookies: bool,
    /// How long a dashboard session lasts at most.
    pub session_lifetime: time::Duration,
    /// A session unused this long ends (idle expiry).
    pub session_idle: time::Duration,
    /// How alert rules are evaluated and their notifications delivered.
    pub alerts: alerts::AlertSettings,
    /// Raw metered events older than this many days are deleted (`serve
    /// --meter-retention-days`); compliance reports state it.
    pub meter_retention_days: Option<u32>,
    /// How long the Providers view waits for a forecast read before it shows that the read is
    /// running (the panel then fills in by itself); zero: it never waits.
    pub forecast_panel_wait: std::time::Duration,
}

impl Default for WebSettings {
    fn default() -> WebSettings {
        WebSettings {
            trust_forwarded_for: false,
            secure_cookies: false,
            session_lifetime: time::Duration::days(7),
            session_idle: time::Duration::hours(12),
            alerts: alerts::AlertSettings::default(),
            meter_retention_days: None,
            forecast_panel_wait: std::time::Duration::from_secs(1),
        }
    }
}

/// What every handler can reach: explicit services, each with one job. Handlers ask the
/// clock for the time, read reports through `reports`, run and check syncs through `sync`, and
/// reach users, sessions, tokens, workspaces and the audit log through `store`.
pub struct AppState {
    /// Where the time comes from (a fixed clock in tests).
    pub clock: Arc<dyn Clock>,
    /// The database: users, sessions, API tokens, workspaces, connections and the audit log.
    pub store: Store,
    /// The reports every surface shows (the query layer).
    pub reports: Reports,
    /// Syncs, connection checks and additions.
    pub sync: SyncEngine,
    /// Every password hash and check of this server goes through it (bounded concurrency).
    pub hasher: passwords::Hasher,
    /// Failed sign-ins per account and per client address.
    pub logins: Arc<dashboard::throttle::LoginThrottle>,
    /// Each organization's price catalog, rebuilt when its prices change.
    pub prices: prices::PriceCache,
    /// Alert rules' evaluator queue and delivery worker (started by [`router`]).
    pub alerts: alerts::Alerts,
    /// Budget checks: each organization's ledger of caps, spend and reservations.
    pub budgets: budgets::Budgets,
    /// Credentials the budget check route verified in the last two seconds.
    pub credentials: credentials::CredentialCache,
    /// Caps the access log's denied-request entries per client address and minute.
    pub access: access::DeniedLimiter,
    /// Request latencies, ingest counts and the sync log's totals for `/metrics`.
    pub metrics: metrics::Metrics,
    /// The Providers view's forecast reads running now (loads share one).
    pub forecast_panels: dashboard::forecast_panel::PanelReads,
    pub settings: WebSettings,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("store", self.store.location())
            .finish_non_exhaustive()
    }
}

impl AppState {
    /// The services of a server whose syncs run through `sync` (they share its store and
    /// clock).
    pub fn new(sync: SyncEngine) -> Arc<AppState> {
        AppState::with_settings(sync, WebSettings::default())
    }

    pub fn with_settings(sync: SyncEngine, settings: WebSettings) -> Arc<AppState> {
        Arc::new(AppState {
            clock: sync.clock().clone(),
            store: sync.store().clone(),
            reports: Reports::new(sync.store().clone()),
            sync,
            hasher: passwords::Hasher::default(),
            logins: Arc::default(),
            prices: prices::PriceCache::default(),
            alerts: alerts::Alerts::new(settings.alerts.clone()),
            budgets: budgets::Budgets::default(),
            credentials: credentials::CredentialCache::default(),
            access: access::DeniedLimiter::default(),
            metrics: metrics::Metrics::default(),
            forecast_panels: dashboard::forecast_panel::PanelReads::default(),
            settings,
        })
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The current time, from the clock.
    pub fn now(&self) -> OffsetDateTime {
        self.clock.now()
    }
}

/// The largest request body read, in bytes (larger ones answer 413).
pub const BODY_LIMIT: usize = 2 * 1024 * 1024;

/// The longest pause between two chunks of a request body.
pub const BODY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Every route of the server.
pub fn router(state: Arc<AppState>) -> Router {
    alerts::Alerts::start(&state);
    schedules::start(&state);
    budgets::denials::start(&state);
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics::scrape))
        .nest("/api/v1", api::routes())
        .merge(otlp::routes())
        .merge(dashboard::routes())
        .fallback(dashboard::not_found)
        // Inside the routes (so it sees each route's template), outside everything else.
        .layer(middleware::from_fn_with_state(
            state.clone(),
            metrics::track,
        ))
        // Tenant users stay inside their customer's portal, whatever the route; refusals
        // reach the access log below.
        .layer(middleware::from_fn_with_state(
            state.clone(),
            tenant_guard::guard,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            access::record_denied,
        ))
        .layer(axum::extract::DefaultBodyLimit::max(BODY_LIMIT))
        .layer(tower_http::timeout::RequestBodyTimeoutLayer::new(
            BODY_TIMEOUT,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            dashboard::session::secure_cookies,
        ))
        .layer(middleware::from_fn(request_id))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        // Brotli (quality 4, tower-http's default for dynamic bodies) or gzip for clients that
        // ask, brotli preferred at equal weight (pages, CSV and JSON shrink 5–10×); tiny
        // bodies, images and event streams are left as they are.
        .layer(tower_http::compression::CompressionLayer::new())
        .with_state(state)
}

/// Gives each request an id (or keeps the caller's `x-request-id`), makes it available to
/// error responses and returns it in the response header.
async fn request_id(request: Request, next: Next) -> Response {
    let id = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty()
                && v.len() <= 64
                && v.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
        .map(str::to_owned)
        .unwrap_or_else(|| {
            let mut bytes = [0u8; 8];
            rand::rng().fill_bytes(&mut bytes);
            hex::encode(bytes)
        });
    let mut response = error::REQUEST_ID.scope(id.clone(), next.run(request)).await;
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert("x-request-id", value);
    }
    dashboard::security_headers(response.headers_mut());
    response
}

async fn healthz(State(state): State<Arc<AppState>>) -> Response {
    use axum::http::StatusCode;
    if let Err(err) = state.store().ping().await {
        tracing::error!(error = %err, "health check: database unreachable");
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(serde_json::json!({"status": "unavailable", "database": "unreachable"})),
        )
            .into_response();
    }
    // A database that reads but cannot commit (full disk, read-only file) is not healthy.
    if let Err(err) = state.store().probe_write(state.now()).await {
        tracing::error!(error = %err, "health check: the database cannot write");
        let (database, message) = match &err {
            spendlens_store::StoreError::DiskFull { .. } => ("disk_full", err.to_string()),
            _ => (
                "cannot_write",
                "the database answers reads but cannot commit a write (is the disk full or the file read-only?)"
                    .to_owned(),
            ),
        };
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(serde_json::json!({
                "status": "unavailable",
                "database": database,
                "message": message,
            })),
        )
            .into_response();
    }
    axum::Json(serde_json::json!({"status": "ok", "database": "ok"})).into_response()
}

/// Serves `router` on an already-bound listener until `shutdown` completes, under the default
/// [`server::ServeLimits`] (timeouts and a connection cap).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    server::serve_with_limits(listener, router, shutdown, server::ServeLimits::default()).await
}
