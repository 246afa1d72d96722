//! A local stand-in for Microsoft Entra ID's token endpoint and Azure Cost Management's Query
//! API on one host, written from `shared/providers/azure-openai.md` (see [`http`](self) for the
//! wire details and every choice the document left open).
//!
//! Data: `days` days (default 120) ending with `today` (default 2026-01-31). The USD
//! subscription holds three Cognitive Services accounts in two resource groups (`rg-ai-prod`,
//! `rg-research`) with meters in every spelling of §8 (1K and 1M token meters, cached, batch,
//! PTU hours, Sora seconds, one meter that names no unit) and a Marketplace `SaaS` resource that
//! the `ResourceType` filter must exclude; `aoai-eastus` comes back with its resource group in
//! upper case every third day. The EUR subscription holds one account billed in EUR, with
//! `CostUSD` at 1.0842 USD per EUR. Money has 15 decimals (16–19 significant digits).
//! Point the connector's login and ARM bases at [`RunningFake::base_url`].

mod data;
mod http;
mod query;

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use time::Date;

pub use data::{EMPTY_SUBSCRIPTION, EUR_SUBSCRIPTION, NO_ROLE_SUBSCRIPTION, USD_SUBSCRIPTION};

use crate::common::prng::{ALPHANUMERIC, SplitMix64};
use crate::common::server::{Controls, RunningFake, Served, serve};
use crate::common::time_text::{date_of, unix_day};
use crate::{DEFAULT_DAYS, DEFAULT_TODAY};

/// The tenant the fake's app registration lives in.
pub const TENANT_ID: &str = "11111111-2222-3333-4444-555555555555";
/// The app registration's Application (client) ID.
pub const CLIENT_ID: &str = "66666666-7777-8888-9999-aaaaaaaaaaaa";

/// A running Azure fake; [`RunningFake::admin_key`] is the client secret's Value.
pub type RunningAzureFake = RunningFake<AzureTruth>;

/// Settings of an [`AzureFake`].
#[derive(Debug, Clone)]
pub struct AzureFakeBuilder {
    seed: u64,
    today: Date,
    days: u32,
    page_size: usize,
}

impl Default for AzureFakeBuilder {
    fn default() -> Self {
        Self {
            seed: 0,
            today: DEFAULT_TODAY,
            days: DEFAULT_DAYS,
            page_size: 40,
        }
    }
}

impl AzureFakeBuilder {
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

    /// Rows per query page (default 40, so a month of the USD subscription takes several pages).
    pub fn page_size(mut self, rows: usize) -> Self {
        self.page_size = rows.max(1);
        self
    }

    pub fn build(self) -> AzureFake {
        let today = unix_day(self.today);
        let first_day = today - i64::from(self.days) + 1;
        let mut rng = SplitMix64::for_cell(self.seed, &[0x0A2E_5EC2]);
        let secret = format!(
            "{}8Q~{}",
            rng.string(ALPHANUMERIC, 3),
            rng.string(ALPHANUMERIC, 34)
        );
        AzureFake {
            data: Arc::new(data::Data::generate(self.seed, first_day, today)),
            client_secret: secret,
            first_day,
            page_size: self.page_size,
        }
    }
}

/// A generated Azure tenant, ready to serve.
#[derive(Debug, Clone)]
pub struct AzureFake {
    data: Arc<data::Data>,
    client_secret: String,
    first_day: i64,
    page_size: usize,
}

impl AzureFake {
    pub fn builder() -> AzureFakeBuilder {
        AzureFakeBuilder::default()
    }

    pub async fn spawn(self) -> std::io::Result<RunningAzureFake> {
        let controls = Controls::default();
        let generation = Arc::new(AtomicU64::new(0));
        let tokens_issued = Arc::new(AtomicU64::new(0));
        let state = Arc::new(http::ServerState {
            data: Arc::clone(&self.data),
            tenant: TENANT_ID.to_owned(),
            client_id: CLIENT_ID.to_owned(),
            client_secret: self.client_secret.clone(),
            page_size: self.page_size,
            controls: controls.clone(),
            generation: Arc::clone(&generation),
            tokens_issued: Arc::clone(&tokens_issued),
        });
        let router = Router::new().fallback(http::handle).with_state(state);
        let truth = Arc::new(AzureTruth {
            data: Arc::clone(&self.data),
            first_day: self.first_day,
            generation,
            tokens_issued,
        });
        serve(
            SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            Served {
                router,
                base_path: "",
                admin_key: self.client_secret,
                controls,
                truth,
            },
        )
        .await
    }
}

/// One (day, account, meter) as the fake holds it, for assertions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TruthRow {
    pub date: Date,
    /// Lower-case resource ID of the account.
    pub account: String,
    pub meter: String,
    /// Billing-currency amount, exact decimal text.
    pub cost: String,
    /// USD amount, exact decimal text.
    pub cost_usd: String,
    pub currency: String,
    /// `UsageQuantity`, exact decimal text in the meter's unit.
    pub quantity: String,
}

/// Exact figures of the data an [`AzureFake`] serves, and its token counters.
#[derive(Debug)]
pub struct AzureTruth {
    data: Arc<data::Data>,
    first_day: i64,
    generation: Arc<AtomicU64>,
    tokens_issued: Arc<AtomicU64>,
}

impl AzureTruth {
    pub fn first_day(&self) -> Date {
        date_of(self.first_day).unwrap_or(Date::MIN)
    }

    pub fn today(&self) -> Date {
        date_of(self.data.today).unwrap_or(Date::MIN)
    }

    /// The Cognitive Services rows of `subscription` (optionally one resource group) in
    /// `from..=to`: the Marketplace SaaS resource is not among them.
    pub fn rows(
        &self,
        subscription: &str,
        group: Option<&str>,
        from: Date,
        to: Date,
    ) -> Vec<TruthRow> {
        let (from, to) = (unix_day(from), unix_day(to));
        self.data
            .rows
            .iter()
            .filter(|row| row.day >= from && row.day <= to)
            .filter_map(|row| {
                let resource = &self.data.resources[row.resource];
                let id = resource.id.to_ascii_lowercase();
                let keep = resource.resource_type == data::COGNITIVE
                    && id.starts_with(&format!("/subscriptions/{subscription}/"))
                    && group.is_none_or(|g| {
                        id.contains(&format!("/resourcegroups/{}/", g.to_ascii_lowercase()))
                    });
                keep.then(|| TruthRow {
                    date: date_of(row.day).unwrap_or(Date::MIN),
                    account: id,
                    meter: row.meter.to_owned(),
                    cost: data::femto_text(row.cost_femto),
                    cost_usd: data::femto_text(row.usd_femto),
                    currency: resource.currency.to_owned(),
                    quantity: data::micro_text(row.quantity_micro),
                })
            })
            .collect()
    }

    /// Accounts (lower-case resource IDs) → number of rows, for a quick look at the data.
    pub fn accounts(&self, subscription: &str, from: Date, to: Date) -> BTreeMap<String, usize> {
        let mut out = BTreeMap::new();
        for row in self.rows(subscription, None, from, to) {
            *out.entry(row.account).or_insert(0) += 1;
        }
        out
    }

    /// Access tokens issued so far.
    pub fn tokens_issued(&self) -> u64 {
        self.tokens_issued.load(Ordering::Relaxed)
    }

    /// Makes every token issued so far expire (the next ARM call with one gets 401).
    pub fn expire_tokens(&self) {
        self.generation.fetch_add(1, Ordering::Relaxed);
    }
}
