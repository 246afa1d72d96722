//! A local stand-in for OpenAI's organization Admin API (usage, costs, projects, project API
//! keys), written from `shared/providers/openai.md`.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use spendlens_fakes::openai::OpenAiFake;
//! let fake = OpenAiFake::builder().seed(7).today(time::macros::date!(2025 - 06 - 30)).build();
//! let running = fake.spawn().await?; // http://127.0.0.1:PORT/v1
//! let total = running.truth().total_cost_usd(
//!     time::macros::date!(2025 - 06 - 01),
//!     time::macros::date!(2025 - 06 - 30),
//! );
//! # let _ = total; Ok(()) }
//! ```
//!
//! Data: `days` days (default 120) ending with `today` (default 2026-01-31), `today` being a
//! complete day: requests reaching past its end get empty buckets, and so do days before the
//! window. The fake never reads the clock; `end_time` defaults to the end of `today`.

mod costs;
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

pub use truth::{ApiKeyInfo, CostLine, OpenAiTruth, ProjectInfo, UsageLine, UsageTotals};

use crate::common::prng::{ALPHANUMERIC, SplitMix64};
use crate::common::server::{Controls, RunningFake, Served, serve};
use crate::common::time_text::unix_day;
use crate::{DEFAULT_DAYS, DEFAULT_TODAY};

/// A running OpenAI fake.
pub type RunningOpenAiFake = RunningFake<OpenAiTruth>;

/// Settings of an [`OpenAiFake`].
#[derive(Debug, Clone)]
pub struct OpenAiFakeBuilder {
    seed: u64,
    today: Date,
    days: u32,
    admin_key: Option<String>,
    spike: Option<Spike>,
}

/// A jump in one key's use of one model over the last days of the window: its requests (and
/// so its tokens and cost) multiplied by `factor`. Off unless asked for (the demo plants one
/// so that anomalies have something to find).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spike {
    /// The key's name (`support-prod`).
    pub key: String,
    /// A prefix of the served model name (`gpt-4o-2024`).
    pub model: String,
    /// The last `days` days of the window, today included.
    pub days: u32,
    pub factor: u64,
}

/// A generated OpenAI organization, ready to serve.
#[derive(Debug, Clone)]
pub struct OpenAiFake {
    data: Arc<data::Data>,
    admin_key: String,
}

impl Default for OpenAiFakeBuilder {
    fn default() -> Self {
        Self {
            seed: 0,
            today: DEFAULT_TODAY,
            days: DEFAULT_DAYS,
            admin_key: None,
            spike: None,
        }
    }
}

impl OpenAiFakeBuilder {
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

    /// The admin key to accept (default: `sk-admin-` + 48 characters from the seed).
    pub fn admin_key(mut self, key: impl Into<String>) -> Self {
        self.admin_key = Some(key.into());
        self
    }

    /// Plants a spike (see [`Spike`]).
    pub fn spike(mut self, spike: Spike) -> Self {
        self.spike = Some(spike);
        self
    }

    /// Generates the organization's data.
    pub fn build(self) -> OpenAiFake {
        let last_day = unix_day(self.today);
        let first_day = last_day - i64::from(self.days) + 1;
        let admin_key = self.admin_key.unwrap_or_else(|| {
            let mut rng = SplitMix64::for_cell(self.seed, &[0xAD_0141]);
            format!("sk-admin-{}", rng.string(ALPHANUMERIC, 48))
        });
        OpenAiFake {
            data: Arc::new(data::Data::generate(
                self.seed,
                first_day,
                last_day,
                self.spike.as_ref(),
            )),
            admin_key,
        }
    }
}

impl OpenAiFake {
    pub fn builder() -> OpenAiFakeBuilder {
        OpenAiFakeBuilder::default()
    }

    /// The accepted admin key.
    pub fn admin_key(&self) -> &str {
        &self.admin_key
    }

    /// The exact data this fake serves.
    pub fn truth(&self) -> OpenAiTruth {
        OpenAiTruth::new(Arc::clone(&self.data))
    }

    /// Serves on `127.0.0.1` at a free port.
    pub async fn spawn(self) -> std::io::Result<RunningOpenAiFake> {
        self.spawn_on(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
            .await
    }

    /// Serves on `addr`; the base URL is `http://ADDR/v1`.
    pub async fn spawn_on(self, addr: SocketAddr) -> std::io::Result<RunningOpenAiFake> {
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
                base_path: "/v1",
                admin_key: self.admin_key,
                controls,
                truth: Arc::new(OpenAiTruth::new(self.data)),
            },
        )
        .await
    }
}
