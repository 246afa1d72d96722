//! A local stand-in for Anthropic's Admin API (usage report, cost report, workspaces, API keys),
//! written from `shared/providers/anthropic.md`.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use spendlens_fakes::anthropic::AnthropicFake;
//! let running = AnthropicFake::builder().seed(7).build().spawn().await?; // http://127.0.0.1:PORT
//! let (from, to) = (running.truth().first_day(), running.truth().last_day());
//! let total_usd = running.truth().total_cost_usd(from, to);
//! # let _ = total_usd; Ok(()) }
//! ```
//!
//! Data: `days` days (default 120) ending with `today` (default 2026-01-31), `today` being a
//! complete day. The fake never reads the clock; `ending_at` defaults to the end of `today`.

mod cost;
mod data;
mod http;
mod lists;
mod models;
mod org;
mod params;
mod truth;
mod usage;

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

use axum::Router;
use time::Date;

pub use truth::{AnthropicTruth, ApiKeyInfo, CostLine, TokenTotals, UsageLine, WorkspaceInfo};

use crate::common::prng::{BASE64URL, SplitMix64};
use crate::common::server::{Controls, RunningFake, Served, serve};
use crate::common::time_text::unix_day;
use crate::{DEFAULT_DAYS, DEFAULT_TODAY};

/// A running Anthropic fake.
pub type RunningAnthropicFake = RunningFake<AnthropicTruth>;

/// Settings of an [`AnthropicFake`].
#[derive(Debug, Clone)]
pub struct AnthropicFakeBuilder {
    seed: u64,
    today: Date,
    days: u32,
    admin_key: Option<String>,
    priority: bool,
}

/// A generated Anthropic organization, ready to serve.
#[derive(Debug, Clone)]
pub struct AnthropicFake {
    data: Arc<data::Data>,
    admin_key: String,
}

impl Default for AnthropicFakeBuilder {
    fn default() -> Self {
        Self {
            seed: 0,
            today: DEFAULT_TODAY,
            days: DEFAULT_DAYS,
            admin_key: None,
            priority: false,
        }
    }
}

impl AnthropicFakeBuilder {
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// The last day with data (UTC).
    pub fn today(mut self, today: Date) -> Self {
        self.today = today;
        self
    }

    /// How many days of data, `today` included (at least 1).
    pub fn days(mut self, days: u32) -> Self {
        self.days = days.max(1);
        self
    }

    /// The admin key to accept (default: `sk-ant-admin01-` + 86 characters from the seed + `AA`).
    pub fn admin_key(mut self, key: impl Into<String>) -> Self {
        self.admin_key = Some(key.into());
        self
    }

    /// Runs the first key's first model on Priority Tier: its usage is in the usage report
    /// (`service_tier: "priority"`) and nothing of it in the cost report.
    pub fn priority_tier(mut self, on: bool) -> Self {
        self.priority = on;
        self
    }

    /// Generates the organization's data.
    pub fn build(self) -> AnthropicFake {
        let last_day = unix_day(self.today);
        let first_day = last_day - i64::from(self.days) + 1;
        let admin_key = self.admin_key.unwrap_or_else(|| {
            let mut rng = SplitMix64::for_cell(self.seed, &[0xAD_A17]);
            format!("sk-ant-admin01-{}AA", rng.string(BASE64URL, 86))
        });
        AnthropicFake {
            data: Arc::new(data::Data::generate(
                self.seed,
                first_day,
                last_day,
                self.priority,
            )),
            admin_key,
        }
    }
}

impl AnthropicFake {
    pub fn builder() -> AnthropicFakeBuilder {
        AnthropicFakeBuilder::default()
    }

    /// The accepted admin key.
    pub fn admin_key(&self) -> &str {
        &self.admin_key
    }

    /// The exact data this fake serves.
    pub fn truth(&self) -> AnthropicTruth {
        AnthropicTruth::new(Arc::clone(&self.data))
    }

    /// Serves on `127.0.0.1` at a free port.
    pub async fn spawn(self) -> std::io::Result<RunningAnthropicFake> {
        self.spawn_on(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
            .await
    }

    /// Serves on `addr`; the base URL is `http://ADDR` (the documented paths start with `/v1`).
    pub async fn spawn_on(self, addr: SocketAddr) -> std::io::Result<RunningAnthropicFake> {
        let controls = Controls::default();
        let state = Arc::new(http::ServerState {
            data: Arc::clone(&self.data),
            admin_key: self.admin_key.clone(),
            controls: controls.clone(),
        });
        let router = Router::new().fallback(http::handle).with_state(state);
        serve(
            addr,
            Served {
                router,
                base_path: "",
                admin_key: self.admin_key,
                controls,
                truth: Arc::new(AnthropicTruth::new(self.data)),
            },
        )
        .await
    }
}
