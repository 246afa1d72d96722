//! A local stand-in for OpenRouter's account endpoints (`/key`, `/credits`, `/activity`,
//! `/keys`, `/workspaces`), written from `shared/providers/openrouter.md`.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use spendlens_fakes::openrouter::OpenRouterFake;
//! let running = OpenRouterFake::builder().seed(7).build().spawn().await?; // …/api/v1
//! let management = running.truth().management_key(); // also running.admin_key()
//! let regular = running.regular_key();
//! let (from, to) = running.truth().activity_window();
//! let by_model = running.truth().usage_usd_by_day_model(from, to);
//! # let _ = (management, regular, by_model); Ok(()) }
//! ```
//!
//! Data: `days` days (default 120) ending with `today` (default 2026-01-31), the fake's current
//! UTC date (it never reads the clock); `/activity` covers the 30 days before it. Three
//! workspaces ("Default Workspace", "Research", "Data Pipeline"), three members, 13 named keys
//! (one deleted, two disabled, one BYOK) and 113 provisioned `customer-NNN` keys in the default
//! workspace (so its `/keys` listing takes two pages), ten models over thirteen provider
//! endpoints. The base URL is `http://ADDR/api/v1`. See [`http`](self) and the endpoint notes for
//! every choice the document left open.

mod data;
mod endpoints;
mod http;
mod truth;

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

use axum::Router;
use time::Date;

pub use truth::{ActivityLine, KeyInfo, KeyUsage, OpenRouterTruth, WorkspaceInfo};

use crate::common::server::{Controls, RunningFake, Served, serve};
use crate::common::time_text::unix_day;
use crate::{DEFAULT_DAYS, DEFAULT_TODAY};

/// A running OpenRouter fake; [`RunningFake::admin_key`] is the management key.
pub type RunningOpenRouterFake = RunningFake<OpenRouterTruth>;

impl RunningFake<OpenRouterTruth> {
    /// The management key (the same as [`RunningFake::admin_key`]).
    pub fn management_key(&self) -> &str {
        self.truth().management_key()
    }

    /// A regular (inference) API key: `prod-backend`, in the default workspace.
    pub fn regular_key(&self) -> &str {
        self.truth().regular_key()
    }
}

/// Settings of an [`OpenRouterFake`].
#[derive(Debug, Clone)]
pub struct OpenRouterFakeBuilder {
    seed: u64,
    today: Date,
    days: u32,
}

/// A generated OpenRouter account, ready to serve.
#[derive(Debug, Clone)]
pub struct OpenRouterFake {
    data: Arc<data::Data>,
}

impl Default for OpenRouterFakeBuilder {
    fn default() -> Self {
        Self {
            seed: 0,
            today: DEFAULT_TODAY,
            days: DEFAULT_DAYS,
        }
    }
}

impl OpenRouterFakeBuilder {
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// The fake's current UTC date and last day with data.
    pub fn today(mut self, today: Date) -> Self {
        self.today = today;
        self
    }

    /// How many days of data, `today` included (at least 1).
    pub fn days(mut self, days: u32) -> Self {
        self.days = days.max(1);
        self
    }

    /// Generates the account's data (keys are `sk-or-v1-` + 64 hex characters from the seed).
    pub fn build(self) -> OpenRouterFake {
        let today = unix_day(self.today);
        let first_day = today - i64::from(self.days) + 1;
        OpenRouterFake {
            data: Arc::new(data::Data::generate(self.seed, first_day, today)),
        }
    }
}

impl OpenRouterFake {
    pub fn builder() -> OpenRouterFakeBuilder {
        OpenRouterFakeBuilder::default()
    }

    /// The exact data this fake serves.
    pub fn truth(&self) -> OpenRouterTruth {
        OpenRouterTruth::new(Arc::clone(&self.data))
    }

    /// Serves on `127.0.0.1` at a free port.
    pub async fn spawn(self) -> std::io::Result<RunningOpenRouterFake> {
        self.spawn_on(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
            .await
    }

    /// Serves on `addr`; the base URL is `http://ADDR/api/v1`.
    pub async fn spawn_on(self, addr: SocketAddr) -> std::io::Result<RunningOpenRouterFake> {
        let controls = Controls::default();
        let state = Arc::new(http::ServerState {
            data: Arc::clone(&self.data),
            controls: controls.clone(),
        });
        let router = Router::new().fallback(http::handle).with_state(state);
        serve(
            addr,
            Served {
                router,
                base_path: "/api/v1",
                admin_key: self.data.management_key.clone(),
                controls,
                truth: Arc::new(self.truth()),
            },
        )
        .await
    }
}
