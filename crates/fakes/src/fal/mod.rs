//! A local stand-in for fal.ai's Platform API usage and billing endpoints
//! (`/v1/models/usage`, `/v1/models/billing-events`, `/v1/keys`, `/v1/account/billing`),
//! written from `shared/providers/fal.md` (and, where it is silent, the OpenAPI spec it cites).
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use spendlens_fakes::fal::FalFake;
//! let running = FalFake::builder().seed(7).build().spawn().await?; // http://127.0.0.1:PORT/v1
//! let admin = running.admin_key(); // "key_id:key_secret", sent as `Authorization: Key …`
//! let api_scope = running.api_scope_key(); // 403 "Access denied"
//! let t = running.truth();
//! let per_cell = t.cost_usd_by_day_endpoint_key(t.first_day(), t.today());
//! # let _ = (admin, api_scope, per_cell); Ok(()) }
//! ```
//!
//! Data: `days` days (default 120) ending with `today` (default 2026-01-31), the fake's current
//! UTC date: "now" is the end of `today` (it never reads the clock). Account `acme-studio`; five
//! API-scope keys (`Production Key`, `Staging`, `Batch Renderer`, `Marketing Studio`, and the
//! deleted `Old Prototype`) plus a team member `mina` using a login token; six endpoints billed
//! in `megapixels`, `image`, `seconds` and `video`; about 250 requests a day, each with its own
//! timestamp, quantity, unit price and discount, so every bucket size and time zone sums exactly.
//! The base URL is `http://ADDR/v1`. See [`http`](self), [`usage`](self) and the other modules'
//! notes for the wire details and every choice the document left open.

mod account;
mod data;
mod events;
mod http;
mod serverless;
mod time;
mod truth;
mod usage;

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

use axum::Router;

pub use truth::{EventLine, FalTruth, KeyInfo, ServerlessLine};

use crate::common::server::{Controls, RunningFake, Served, serve};
use crate::common::time_text::unix_day;
use crate::{DEFAULT_DAYS, DEFAULT_TODAY};

/// A running fal.ai fake; [`RunningFake::admin_key`] is the ADMIN key as `key_id:key_secret`.
pub type RunningFalFake = RunningFake<FalTruth>;

impl RunningFake<FalTruth> {
    /// An API-scope key as `key_id:key_secret` (403 on every endpoint served here).
    pub fn api_scope_key(&self) -> String {
        self.truth().api_scope_key()
    }
}

/// Settings of a [`FalFake`].
#[derive(Debug, Clone)]
pub struct FalFakeBuilder {
    seed: u64,
    today: ::time::Date,
    days: u32,
    legacy_cost_only: bool,
}

/// A generated fal.ai account, ready to serve.
#[derive(Debug, Clone)]
pub struct FalFake {
    data: Arc<data::Data>,
}

impl Default for FalFakeBuilder {
    fn default() -> Self {
        Self {
            seed: 0,
            today: DEFAULT_TODAY,
            days: DEFAULT_DAYS,
            legacy_cost_only: false,
        }
    }
}

impl FalFakeBuilder {
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// The fake's current UTC date and last day with data.
    pub fn today(mut self, today: ::time::Date) -> Self {
        self.today = today;
        self
    }

    /// How many days of data, `today` included (at least 1).
    pub fn days(mut self, days: u32) -> Self {
        self.days = days.max(1);
        self
    }

    /// Serve the older usage item shape the document mentions: `cost` only, without
    /// `cost_subtotal`, `cost_discount` and `cost_total` (default: false).
    pub fn legacy_cost_only(mut self, legacy: bool) -> Self {
        self.legacy_cost_only = legacy;
        self
    }

    /// Generates the account's data (key ids are UUIDs, secrets 32 hex characters).
    pub fn build(self) -> FalFake {
        let today = unix_day(self.today);
        let first_day = today - i64::from(self.days) + 1;
        let mut data = data::Data::generate(self.seed, first_day, today);
        data.legacy_cost_only = self.legacy_cost_only;
        FalFake {
            data: Arc::new(data),
        }
    }
}

impl FalFake {
    pub fn builder() -> FalFakeBuilder {
        FalFakeBuilder::default()
    }

    /// The exact data this fake serves.
    pub fn truth(&self) -> FalTruth {
        FalTruth::new(Arc::clone(&self.data))
    }

    /// Serves on `127.0.0.1` at a free port.
    pub async fn spawn(self) -> std::io::Result<RunningFalFake> {
        self.spawn_on(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
            .await
    }

    /// Serves on `addr`; the base URL is `http://ADDR/v1`.
    pub async fn spawn_on(self, addr: SocketAddr) -> std::io::Result<RunningFalFake> {
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
                base_path: "/v1",
                admin_key: truth.admin_key(),
                controls,
                truth: Arc::new(truth),
            },
        )
        .await
    }
}
