//! A local stand-in for AWS Cost Explorer as a Bedrock connector uses it (`GetCostAndUsage`,
//! `GetDimensionValues`), written from `shared/providers/aws-bedrock.md`.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use spendlens_fakes::bedrock::BedrockFake;
//! let running = BedrockFake::builder()
//!     .seed(7)
//!     .today(time::macros::date!(2025 - 06 - 30))
//!     .build()
//!     .spawn()
//!     .await?;
//! // Give the SDK `endpoint_url(running.endpoint_url())`, region `us-east-1`, and
//! // static credentials `running.access_key_id()` / `running.secret_access_key()`.
//! let t = running.truth();
//! let net = t.bedrock_net_total(t.first_day(), t.last_day());
//! # let _ = net; Ok(()) }
//! ```
//!
//! **Wire format** (doc §3, §8): `POST /`, JSON 1.1, SigV4 with service `ce`, errors as HTTP
//! 400 `{"__type", "Message"}`; the `http` module lists the order of checks. The signature itself is
//! verified with the known secret (the canonical request as the AWS SDK builds it).
//! Every call is `POST /`, so the [`RequestLog`](crate::RequestLog) and fault rules see the
//! operation as the path `/#AWSInsightsIndexService.<Operation>` (e.g.
//! `FaultRule::new(..).on_path("GetCostAndUsage")`); the log keeps each JSON body. Throttling
//! is Cost Explorer's: HTTP 400 `LimitExceededException`, which the SDK retries by itself.
//!
//! **Data** (the `data` module): `days` days (default 120) ending with `today` (default 2026-01-31), a
//! complete day; the fake never reads the clock. 1–3 linked accounts (default 3), SERVICE
//! values `Amazon Bedrock`, four `… (Amazon Bedrock Edition)` Marketplace models (Claude Sonnet
//! 4.5, Claude Haiku 4.5, Claude Opus 4.1, Jamba 1.5 Mini) and one
//! non-Bedrock service (`Amazon Elastic Compute Cloud - Compute`) a connector must exclude;
//! RECORD_TYPE `Usage`, `Credit` (negative, mostly on `Amazon Bedrock`, sometimes on Haiku) and
//! one `Refund`. The last `estimated_days` days (default 3) are `Estimated`.
//!
//! **Choices where the document is silent or uncertain** (also in the submodules):
//! - UsageQuantity is in the pricing unit: thousands of tokens (`1K tokens`) for first-party
//!   usage types, millions (`Units`) for Marketplace ones, hours (`Hrs`) for EC2; GetDimensionValues
//!   on USAGE_TYPE reports it as the attribute `unit`. `UsageQuantity.Unit` is `N/A`.
//! - Amounts are Java-style decimal strings: exponent form (`"4.2E-7"`) below 10^-6.
//! - NetUnblendedCost equals UnblendedCost unless [`BedrockFakeBuilder::net_discount_percent`]
//!   is set; then `Usage` records are discounted by that percentage.
//! - Start later than `today`, Start before the 14 months of history, HOURLY granularity, and
//!   valid-but-unmodelled dimensions are `ValidationException`s; product attributes before
//!   2026-09-01 are a `DataUnavailableException` (doc §6).
//! - "Cost Explorer not enabled" is either `DataUnavailableException` or `AccessDeniedException`
//!   ("User not enabled for cost explorer access") — the document is unsure which, so both are
//!   scenarios ([`CostExplorerState`]).
//! - Pages hold whole periods (every day on exactly one page).

mod amount;
mod catalog;
mod cost;
mod data;
mod dimensions;
mod http;
mod request;
mod sigv4;
mod token;
mod truth;

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use axum::Router;
use time::Date;

pub use truth::{AccountInfo, BedrockTruth, CostLine};

use crate::common::prng::SplitMix64;
use crate::common::server::{Controls, RunningFake, Served, serve};
use crate::common::time_text::unix_day;
use crate::{DEFAULT_DAYS, DEFAULT_TODAY};

/// A running Cost Explorer fake.
pub type RunningBedrockFake = RunningFake<BedrockTruth>;

/// Whether Cost Explorer was enabled in the console (it cannot be enabled through the API).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CostExplorerState {
    #[default]
    Enabled,
    /// Not enabled: every call gets `DataUnavailableException`.
    NotEnabledDataUnavailable,
    /// Not enabled: every call gets `AccessDeniedException` "User not enabled for cost explorer
    /// access".
    NotEnabledAccessDenied,
}

/// A set of AWS credentials the fake knows.
#[derive(Debug, Clone)]
pub(crate) struct Credentials {
    pub(crate) access_key_id: String,
    pub(crate) secret_access_key: String,
    pub(crate) session_token: Option<String>,
}

/// How the fake answers, beyond its data.
#[derive(Debug)]
pub(crate) struct Config {
    /// The accepted credentials, allowed `ce:GetCostAndUsage` and `ce:GetDimensionValues`.
    pub(crate) main: Credentials,
    /// Valid credentials of an IAM user without Cost Explorer permissions.
    pub(crate) no_permission: Credentials,
    pub(crate) no_permission_user: String,
    pub(crate) payer_account_id: String,
    pub(crate) region: String,
    pub(crate) cost_explorer: CostExplorerState,
    pub(crate) settings: http::Settings,
}

/// Settings of a [`BedrockFake`].
#[derive(Debug, Clone)]
pub struct BedrockFakeBuilder {
    seed: u64,
    today: Date,
    days: u32,
    accounts: u8,
    estimated_days: u32,
    discount_pct: u8,
    edp_pct: u8,
    access_key_id: Option<String>,
    secret_access_key: Option<String>,
    session_token: Option<String>,
    region: String,
    cost_explorer: CostExplorerState,
    page_periods: u32,
    page_groups: u32,
}

/// A generated AWS organization, ready to serve.
#[derive(Debug, Clone)]
pub struct BedrockFake {
    data: Arc<data::Data>,
    config: Arc<Config>,
}

impl Default for BedrockFakeBuilder {
    fn default() -> Self {
        Self {
            seed: 0,
            today: DEFAULT_TODAY,
            days: DEFAULT_DAYS,
            accounts: 3,
            estimated_days: 3,
            discount_pct: 0,
            edp_pct: 0,
            access_key_id: None,
            secret_access_key: None,
            session_token: None,
            region: "us-east-1".to_owned(),
            cost_explorer: CostExplorerState::Enabled,
            page_periods: 30,
            page_groups: 500,
        }
    }
}

const KEY_ID_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const SECRET_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn generated_credentials(seed: u64, cell: u64) -> Credentials {
    let mut rng = SplitMix64::for_cell(seed, &[cell]);
    Credentials {
        access_key_id: format!("AKIA{}", rng.string(KEY_ID_ALPHABET, 16)),
        secret_access_key: rng.string(SECRET_ALPHABET, 40),
        session_token: None,
    }
}

impl BedrockFakeBuilder {
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// The last day with data (UTC); requests may not start later.
    pub fn today(mut self, today: Date) -> Self {
        self.today = today;
        self
    }

    /// How many days of data, `today` included (at least 1).
    pub fn days(mut self, days: u32) -> Self {
        self.days = days.max(1);
        self
    }

    /// How many linked accounts (1–3, default 3); usage of the missing ones folds onto the rest.
    pub fn linked_accounts(mut self, accounts: u8) -> Self {
        self.accounts = accounts.clamp(1, 3);
        self
    }

    /// How many of the last days are `Estimated` (default 3).
    pub fn estimated_days(mut self, days: u32) -> Self {
        self.estimated_days = days;
        self
    }

    /// A discount (e.g. an EDP) that makes NetUnblendedCost lower than UnblendedCost on `Usage`
    /// records (default 0: the two are equal).
    pub fn net_discount_percent(mut self, percent: u8) -> Self {
        self.discount_pct = percent.min(100);
        self
    }

    /// The accepted access key id (default: `AKIA` + 16 characters from the seed).
    /// Adds discount records (aws-bedrock.md §7): an EDP `Discount` of `percent` of `ml-prod`'s
    /// first-party Bedrock usage every day, and one `BundledDiscount` of $5 — negative amounts
    /// that are discounts, not gross spend.
    pub fn edp_discount_percent(mut self, percent: u8) -> Self {
        self.edp_pct = percent.min(100);
        self
    }

    pub fn access_key_id(mut self, id: impl Into<String>) -> Self {
        self.access_key_id = Some(id.into());
        self
    }

    /// The secret of the accepted access key (default: 40 characters from the seed).
    pub fn secret_access_key(mut self, secret: impl Into<String>) -> Self {
        self.secret_access_key = Some(secret.into());
        self
    }

    /// Makes the accepted credentials temporary: requests must carry this
    /// `X-Amz-Security-Token` (default: none, and a sent token is refused).
    pub fn session_token(mut self, token: impl Into<String>) -> Self {
        self.session_token = Some(token.into());
        self
    }

    /// The region requests must be signed for (default `us-east-1`, doc §2).
    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.region = region.into();
        self
    }

    /// Whether Cost Explorer is enabled (default: enabled).
    pub fn cost_explorer(mut self, state: CostExplorerState) -> Self {
        self.cost_explorer = state;
        self
    }

    /// At most this many periods per GetCostAndUsage page (default 30).
    pub fn page_periods(mut self, periods: u32) -> Self {
        self.page_periods = periods.max(1);
        self
    }

    /// At most this many groups per GetCostAndUsage page, past its first period (default 500).
    pub fn page_groups(mut self, groups: u32) -> Self {
        self.page_groups = groups.max(1);
        self
    }

    /// Generates the organization's data.
    pub fn build(self) -> BedrockFake {
        let last_day = unix_day(self.today);
        let first_day = last_day - i64::from(self.days) + 1;
        let data = data::Data::generate(
            self.seed,
            data::Shape {
                first_day,
                last_day,
                accounts: self.accounts,
                estimated_days: self.estimated_days,
                discount_pct: self.discount_pct,
                edp_pct: self.edp_pct,
            },
        );
        let mut main = generated_credentials(self.seed, 0xAC_CE55);
        if let Some(id) = self.access_key_id {
            main.access_key_id = id;
        }
        if let Some(secret) = self.secret_access_key {
            main.secret_access_key = secret;
        }
        main.session_token = self.session_token;
        let no_permission = generated_credentials(self.seed, 0xDE_4CE5);
        let payer_account_id = data.account_id(0).to_owned();
        BedrockFake {
            data: Arc::new(data),
            config: Arc::new(Config {
                main,
                no_permission,
                no_permission_user: "spendlens-no-ce".to_owned(),
                payer_account_id,
                region: self.region,
                cost_explorer: self.cost_explorer,
                settings: http::Settings {
                    page_periods: self.page_periods,
                    page_groups: self.page_groups,
                },
            }),
        }
    }
}

impl BedrockFake {
    pub fn builder() -> BedrockFakeBuilder {
        BedrockFakeBuilder::default()
    }

    /// The accepted access key id.
    pub fn access_key_id(&self) -> &str {
        &self.config.main.access_key_id
    }

    /// The secret of the accepted access key.
    pub fn secret_access_key(&self) -> &str {
        &self.config.main.secret_access_key
    }

    /// The exact data this fake serves.
    pub fn truth(&self) -> BedrockTruth {
        BedrockTruth {
            data: Arc::clone(&self.data),
            config: Arc::clone(&self.config),
        }
    }

    /// Serves on `127.0.0.1` at a free port.
    pub async fn spawn(self) -> std::io::Result<RunningBedrockFake> {
        self.spawn_on(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
            .await
    }

    /// Serves on `addr`; the endpoint URL is `http://ADDR`.
    pub async fn spawn_on(self, addr: SocketAddr) -> std::io::Result<RunningBedrockFake> {
        let controls = Controls::default();
        let state = Arc::new(http::ServerState {
            data: Arc::clone(&self.data),
            config: Arc::clone(&self.config),
            controls: controls.clone(),
            request_counter: AtomicU64::new(0),
        });
        let router = Router::new().fallback(http::handle).with_state(state);
        let truth = self.truth();
        serve(
            addr,
            Served {
                router,
                base_path: "",
                admin_key: self.config.main.access_key_id.clone(),
                controls,
                truth: Arc::new(truth),
            },
        )
        .await
    }
}

/// Cost Explorer specifics of a running fake. [`RunningFake::admin_key`] is the access key id;
/// [`RunningFake::set_revoked`] makes it an unknown key (`UnrecognizedClientException`).
impl RunningFake<BedrockTruth> {
    /// The URL to give the SDK's `endpoint_url` (same as [`RunningFake::base_url`]).
    pub fn endpoint_url(&self) -> &str {
        self.base_url()
    }

    /// The accepted access key id.
    pub fn access_key_id(&self) -> &str {
        &self.truth().config.main.access_key_id
    }

    /// The secret of the accepted access key.
    pub fn secret_access_key(&self) -> &str {
        &self.truth().config.main.secret_access_key
    }

    /// The session token the accepted credentials need, if they were made temporary.
    pub fn session_token(&self) -> Option<&str> {
        self.truth().config.main.session_token.as_deref()
    }

    /// Valid credentials of an IAM user allowed nothing in Cost Explorer
    /// (`AccessDeniedException`): access key id.
    pub fn no_permission_access_key_id(&self) -> &str {
        &self.truth().config.no_permission.access_key_id
    }

    /// The secret of [`Self::no_permission_access_key_id`].
    pub fn no_permission_secret_access_key(&self) -> &str {
        &self.truth().config.no_permission.secret_access_key
    }

    /// The region requests must be signed for.
    pub fn region(&self) -> &str {
        &self.truth().config.region
    }
}
