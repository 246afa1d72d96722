//! A local stand-in for PiAPI's account and task-history endpoints (`GET /account/info`,
//! `GET /api/open/tasks/histories`), written from `shared/providers/piapi.md` (see
//! [`http`](self) for the wire details and the choices the document left open).
//!
//! Data: `days` days (default 120) ending with `today` (default 2026-01-31), 0–6 tasks a day over
//! six kinds (Sora 2, Kling, Flux, Udio-style music, an LLM, and Midjourney on the `point` usage
//! type, which has no documented dollar rate), two API key ids, failed tasks with usage 0 and a
//! few failed tasks still charged, HYA (`private`) tasks whose usage PiAPI does not charge,
//! timestamps near midnight in `+08:00`. The base URL is `http://ADDR`.

mod data;
mod http;

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

use axum::Router;
use time::Date;

use crate::common::money::decimal;
use crate::common::prng::{ALPHANUMERIC, SplitMix64};
use crate::common::server::{Controls, RunningFake, Served, serve};
use crate::common::time_text::{date_of, unix_day};
use crate::{DEFAULT_DAYS, DEFAULT_TODAY};

/// A running PiAPI fake; [`RunningFake::admin_key`] is the account's API key.
pub type RunningPiApiFake = RunningFake<PiApiTruth>;

/// Settings of a [`PiApiFake`].
#[derive(Debug, Clone)]
pub struct PiApiFakeBuilder {
    seed: u64,
    today: Date,
    days: u32,
    errors_in_body: bool,
    bare_account: bool,
}

impl Default for PiApiFakeBuilder {
    fn default() -> Self {
        Self {
            seed: 0,
            today: DEFAULT_TODAY,
            days: DEFAULT_DAYS,
            errors_in_body: false,
            bare_account: false,
        }
    }
}

impl PiApiFakeBuilder {
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    pub fn today(mut self, today: Date) -> Self {
        self.today = today;
        self
    }

    pub fn days(mut self, days: u32) -> Self {
        self.days = days.max(1);
        self
    }

    /// Refuse a bad key with HTTP 200 and an error `code` in the body instead of a 401.
    pub fn errors_in_body(mut self, yes: bool) -> Self {
        self.errors_in_body = yes;
        self
    }

    /// Serve `/account/info` as a bare object, without the `{code, message, data}` envelope.
    pub fn bare_account(mut self, yes: bool) -> Self {
        self.bare_account = yes;
        self
    }

    pub fn build(self) -> PiApiFake {
        let today = unix_day(self.today);
        let first_day = today - i64::from(self.days) + 1;
        let mut rng = SplitMix64::for_cell(self.seed, &[0x0091_A919]);
        PiApiFake {
            data: Arc::new(data::Data::generate(self.seed, first_day, today)),
            api_key: rng.string(ALPHANUMERIC, 64).to_ascii_lowercase(),
            errors_in_body: self.errors_in_body,
            bare_account: self.bare_account,
        }
    }
}

/// A generated PiAPI account, ready to serve.
#[derive(Debug, Clone)]
pub struct PiApiFake {
    data: Arc<data::Data>,
    api_key: String,
    errors_in_body: bool,
    bare_account: bool,
}

impl PiApiFake {
    pub fn builder() -> PiApiFakeBuilder {
        PiApiFakeBuilder::default()
    }

    pub async fn spawn(self) -> std::io::Result<RunningPiApiFake> {
        let controls = Controls::default();
        let state = Arc::new(http::ServerState {
            data: Arc::clone(&self.data),
            api_key: self.api_key.clone(),
            controls: controls.clone(),
            errors_in_body: self.errors_in_body,
            bare_account: self.bare_account,
        });
        let router = Router::new().fallback(http::handle).with_state(state);
        serve(
            SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            Served {
                router,
                base_path: "",
                admin_key: self.api_key,
                controls,
                truth: Arc::new(PiApiTruth { data: self.data }),
            },
        )
        .await
    }
}

/// One (UTC day, API key id, task model) as the fake holds it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DayModel {
    /// Tasks of every status and mode.
    pub tasks: i64,
    /// Failed tasks among them.
    pub failed: i64,
    /// Dollars of PAYG `llm` usage, exact decimal text.
    pub usd: String,
    /// Raw usage of PAYG tasks charged in other usage types (`point`), summed: no documented
    /// dollar rate (piapi.md §8: unpriced; HYA tasks cost $0 at PiAPI).
    pub unpriced_usage: u64,
    /// Those tasks: PAYG, another usage type, usage above zero.
    pub unpriced_tasks: i64,
    /// HYA tasks among them.
    pub hya: i64,
}

/// Exact figures of the data a [`PiApiFake`] serves.
#[derive(Debug)]
pub struct PiApiTruth {
    data: Arc<data::Data>,
}

impl PiApiTruth {
    pub fn first_day(&self) -> Date {
        date_of(self.data.first_day).unwrap_or(Date::MIN)
    }

    pub fn today(&self) -> Date {
        date_of(self.data.today).unwrap_or(Date::MIN)
    }

    /// `equivalent_in_usd`, exact decimal text.
    pub fn balance_usd(&self) -> String {
        decimal(u128::from(self.data.balance_units), 7)
    }

    /// (UTC date, key id, task model) → figures, for tasks created on `from..=to` (UTC).
    pub fn by_day_key_model(
        &self,
        from: Date,
        to: Date,
    ) -> BTreeMap<(Date, String, String), DayModel> {
        let (from, to) = (unix_day(from), unix_day(to));
        let mut units: BTreeMap<(Date, String, String), (DayModel, u128)> = BTreeMap::new();
        for task in &self.data.tasks {
            let day = task.created.div_euclid(86_400);
            if day < from || day > to {
                continue;
            }
            let key = (
                date_of(day).unwrap_or(Date::MIN),
                task.api_key_id.to_string(),
                task.kind().model.to_owned(),
            );
            let (cell, llm_units) = units.entry(key).or_default();
            cell.tasks += 1;
            cell.failed += i64::from(task.status == "failed");
            cell.hya += i64::from(task.service_mode == "private");
            if task.is_priced() {
                *llm_units += u128::from(task.usage);
            } else if task.kind().usage_type != "llm"
                && task.service_mode == "public"
                && task.usage > 0
            {
                cell.unpriced_usage += task.usage;
                cell.unpriced_tasks += 1;
            }
        }
        units
            .into_iter()
            .map(|(key, (mut cell, llm_units))| {
                cell.usd = decimal(llm_units, 7);
                (key, cell)
            })
            .collect()
    }

    /// Tasks created on `from..=to` (UTC).
    pub fn task_count(&self, from: Date, to: Date) -> usize {
        self.by_day_key_model(from, to)
            .values()
            .map(|c| c.tasks as usize)
            .sum()
    }
}
