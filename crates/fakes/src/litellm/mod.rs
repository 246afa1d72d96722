//! A local stand-in for a LiteLLM proxy's spend endpoints (`/user/daily/activity`,
//! `/team/daily/activity`, `/key/list`, `/team/list`), written from
//! `shared/providers/litellm.md`.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use spendlens_fakes::litellm::LiteLlmFake;
//! let running = LiteLlmFake::builder().seed(7).build().spawn().await?; // http://127.0.0.1:PORT
//! let master = running.admin_key();
//! let viewer = running.non_admin_key();
//! let t = running.truth();
//! let per_day = t.spend_usd_by_day(t.first_day(), t.today());
//! # let _ = (master, viewer, per_day); Ok(()) }
//! ```
//!
//! Data: `days` days (default 120) ending with `today` (default 2026-01-31), the proxy's
//! current UTC date (the fake never reads the clock). Users `alice` (`proxy_admin`), `bob` and
//! `carol` (`internal_user`) and `default_user_id` (the master key's traffic); teams Platform,
//! Support and Research; twelve listed virtual keys, one deleted key, and the master key's own
//! usage; seven deployments over five providers (`gpt-4o` both on `openai` and `azure`). Roughly
//! fifteen rollup rows a day, so any multi-day request spans several pages and splits dates
//! across them. The base URL is `http://ADDR`. See [`http`](self), the activity and list notes
//! for the wire details and every choice the document left open.

mod activity;
mod data;
mod http;
mod lists;
mod num;
mod truth;

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

use axum::Router;
use time::Date;

pub use truth::{KeyInfo, LiteLlmTruth, SpendLine, TeamInfo};

use crate::common::prng::{ALPHANUMERIC, SplitMix64};
use crate::common::server::{Controls, RunningFake, Served, serve};
use crate::common::time_text::unix_day;
use crate::{DEFAULT_DAYS, DEFAULT_TODAY};

/// A running LiteLLM fake; [`RunningFake::admin_key`] is the master key.
pub type RunningLiteLlmFake = RunningFake<LiteLlmTruth>;

impl RunningFake<LiteLlmTruth> {
    /// The master key (the same as [`RunningFake::admin_key`]).
    pub fn master_key(&self) -> &str {
        self.truth().master_key()
    }

    /// A virtual key of an `internal_user` (`bob`): no admin view.
    pub fn non_admin_key(&self) -> &str {
        self.truth().non_admin_key()
    }
}

/// Settings of a [`LiteLlmFake`].
#[derive(Debug, Clone)]
pub struct LiteLlmFakeBuilder {
    seed: u64,
    today: Date,
    days: u32,
    master_key: Option<String>,
    modelless: bool,
}

/// A generated LiteLLM proxy database, ready to serve.
#[derive(Debug, Clone)]
pub struct LiteLlmFake {
    data: Arc<data::Data>,
}

impl Default for LiteLlmFakeBuilder {
    fn default() -> Self {
        Self {
            seed: 0,
            today: DEFAULT_TODAY,
            days: DEFAULT_DAYS,
            master_key: None,
            modelless: false,
        }
    }
}

impl LiteLlmFakeBuilder {
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// The proxy's current UTC date and last day with data.
    pub fn today(mut self, today: Date) -> Self {
        self.today = today;
        self
    }

    /// How many days of data, `today` included (at least 1).
    pub fn days(mut self, days: u32) -> Self {
        self.days = days.max(1);
        self
    }

    /// The master key (default: `sk-` + 32 characters from the seed).
    pub fn master_key(mut self, key: impl Into<String>) -> Self {
        self.master_key = Some(key.into());
        self
    }

    /// Adds a few requests a day, on the first key, that LiteLLM logged without a model: in
    /// each date's totals but in no model's breakdown.
    pub fn modelless_spend(mut self, on: bool) -> Self {
        self.modelless = on;
        self
    }

    /// Generates the proxy's data.
    pub fn build(self) -> LiteLlmFake {
        let today = unix_day(self.today);
        let first_day = today - i64::from(self.days) + 1;
        let master_key = self.master_key.unwrap_or_else(|| {
            let mut rng = SplitMix64::for_cell(self.seed, &[0x003A_57E2]);
            format!("sk-{}", rng.string(ALPHANUMERIC, 32))
        });
        LiteLlmFake {
            data: Arc::new(data::Data::generate(
                self.seed,
                first_day,
                today,
                &master_key,
                self.modelless,
            )),
        }
    }
}

impl LiteLlmFake {
    pub fn builder() -> LiteLlmFakeBuilder {
        LiteLlmFakeBuilder::default()
    }

    /// The exact data this fake serves.
    pub fn truth(&self) -> LiteLlmTruth {
        LiteLlmTruth::new(Arc::clone(&self.data))
    }

    /// Serves on `127.0.0.1` at a free port.
    pub async fn spawn(self) -> std::io::Result<RunningLiteLlmFake> {
        self.spawn_on(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
            .await
    }

    /// Serves on `addr`; the base URL is `http://ADDR`.
    pub async fn spawn_on(self, addr: SocketAddr) -> std::io::Result<RunningLiteLlmFake> {
        let controls = Controls::default();
        let state = Arc::new(http::ServerState {
            data: Arc::clone(&self.data),
            controls: controls.clone(),
        });
        let router = Router::new().fallback(http::handle).with_state(state);
        let truth = self.truth();
        serve(
            addr,
            Served {
                router,
                base_path: "",
                admin_key: truth.master_key().to_owned(),
                controls,
                truth: Arc::new(truth),
            },
        )
        .await
    }
}
