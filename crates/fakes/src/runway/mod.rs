//! A local stand-in for Runway's developer API organization endpoints (`GET /v1/organization`,
//! `POST /v1/organization/usage`), written from `shared/providers/runway.md`.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use spendlens_fakes::runway::RunwayFake;
//! let running = RunwayFake::builder().seed(7).build().spawn().await?; // http://127.0.0.1:PORT
//! let (start, before) = running.truth().default_window();
//! let credits = running.truth().total_credits(start, before.previous_day().unwrap_or(start));
//! # let _ = credits; Ok(()) }
//! ```
//!
//! Data: `days` days (default 120) ending with `today` (default 2026-01-31), which is also the
//! fake's current UTC date (it never reads the clock): the default usage window is
//! `[today − 30, today)`. Six models (`gen4_turbo`, `gen4.5`, `gen4_image`, `veo3.1`, `act_two`,
//! `eleven_multilingual_v2`), integer net credits per (day, model), some negative (refunds), one
//! day without any usage. One organization, one accepted key (`key_` + 64 hex characters from the
//! seed); the base URL is `http://ADDR` (the documented paths start with `/v1`). See
//! [`http`](self) for the wire details and every choice the document left open.

mod data;
mod http;
mod truth;

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

use axum::Router;
use time::Date;

pub use truth::{RunwayTruth, credits_to_usd};

use crate::common::prng::SplitMix64;
use crate::common::server::{Controls, RunningFake, Served, serve};
use crate::common::time_text::unix_day;
use crate::{DEFAULT_DAYS, DEFAULT_TODAY};

/// The one `X-Runway-Version` the fake accepts.
pub const RUNWAY_VERSION: &str = http::VERSION;

/// A running Runway fake; [`RunningFake::admin_key`] is the organization's API key.
pub type RunningRunwayFake = RunningFake<RunwayTruth>;

/// Settings of a [`RunwayFake`].
#[derive(Debug, Clone)]
pub struct RunwayFakeBuilder {
    seed: u64,
    today: Date,
    days: u32,
    api_key: Option<String>,
}

/// A generated Runway organization, ready to serve.
#[derive(Debug, Clone)]
pub struct RunwayFake {
    data: Arc<data::Data>,
    api_key: String,
}

impl Default for RunwayFakeBuilder {
    fn default() -> Self {
        Self {
            seed: 0,
            today: DEFAULT_TODAY,
            days: DEFAULT_DAYS,
            api_key: None,
        }
    }
}

impl RunwayFakeBuilder {
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

    /// The API key to accept (default: `key_` + 64 hex characters from the seed).
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(key.into());
        self
    }

    /// Generates the organization's data.
    pub fn build(self) -> RunwayFake {
        let today = unix_day(self.today);
        let first_day = today - i64::from(self.days) + 1;
        let api_key = self.api_key.unwrap_or_else(|| {
            let mut rng = SplitMix64::for_cell(self.seed, &[0x0120_A7CE]);
            format!("key_{}", rng.string(b"0123456789abcdef", 64))
        });
        RunwayFake {
            data: Arc::new(data::Data::generate(self.seed, first_day, today)),
            api_key,
        }
    }
}

impl RunwayFake {
    pub fn builder() -> RunwayFakeBuilder {
        RunwayFakeBuilder::default()
    }

    /// The accepted API key.
    pub fn api_key(&self) -> &str {
        &self.api_key
    }

    /// The exact data this fake serves.
    pub fn truth(&self) -> RunwayTruth {
        RunwayTruth::new(Arc::clone(&self.data), self.api_key.clone())
    }

    /// Serves on `127.0.0.1` at a free port.
    pub async fn spawn(self) -> std::io::Result<RunningRunwayFake> {
        self.spawn_on(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
            .await
    }

    /// Serves on `addr`; the base URL is `http://ADDR`.
    pub async fn spawn_on(self, addr: SocketAddr) -> std::io::Result<RunningRunwayFake> {
        let controls = Controls::default();
        let state = Arc::new(http::ServerState {
            data: Arc::clone(&self.data),
            api_key: self.api_key.clone(),
            controls: controls.clone(),
        });
        let router = Router::new().fallback(http::handle).with_state(state);
        let truth = Arc::new(self.truth());
        serve(
            addr,
            Served {
                router,
                base_path: "",
                admin_key: self.api_key,
                controls,
                truth,
            },
        )
        .await
    }
}
