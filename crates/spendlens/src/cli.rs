//! The command line: global options and one subcommand per task.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "spendlens",
    version,
    about = "Self-hosted AI spend: sync billing data from AI providers, see it by provider, workspace, API key and model.",
    long_about = None,
    after_help = "Start with `spendlens demo` to see it with local stand-ins for the providers."
)]
pub struct Cli {
    /// A TOML configuration file: its settings fill what neither a flag nor a `SPENDLENS_*`
    /// variable sets (see `spendlens config check --help`).
    #[arg(long, global = true, env = "SPENDLENS_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Where spendlens keeps its SQLite database and master key.
    #[arg(
        long,
        global = true,
        env = "SPENDLENS_DATA_DIR",
        default_value = "./spendlens-data"
    )]
    pub data_dir: PathBuf,

    /// A PostgreSQL URL (postgres://user@host/db) instead of the embedded SQLite database.
    #[arg(
        long,
        global = true,
        env = "SPENDLENS_DATABASE_URL",
        hide_env_values = true
    )]
    pub database_url: Option<String>,

    /// Hosts a connection's base-URL override may name (comma-separated; `*.example.com` for
    /// subdomains). Unset: any host.
    #[arg(
        long,
        global = true,
        env = "SPENDLENS_BASE_URL_HOSTS",
        value_delimiter = ','
    )]
    pub base_url_hosts: Vec<String>,

    /// Log filter, e.g. info or spendlens=debug.
    #[arg(long, global = true, env = "SPENDLENS_LOG", default_value = "warn")]
    pub log: String,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run local stand-ins for the providers, connect and sync them, and serve the result.
    Demo(DemoArgs),
    /// Serve the JSON API and run scheduled syncs.
    Serve(ServeArgs),
    /// Add, list, test and remove provider connections.
    #[command(subcommand)]
    Connections(ConnectionsCommand),
    /// Sync connections now (all, or one), with a progress bar and a summary.
    Sync(SyncArgs),
    /// Show a view: providers, workspaces, keys or models.
    Report(ReportArgs),
    /// Export spend in a standard format: `export focus` (FOCUS 1.2 CSV).
    #[command(subcommand)]
    Export(crate::commands::export::ExportCommand),
    /// Create, list and revoke API tokens for the JSON API.
    #[command(subcommand)]
    Tokens(TokensCommand),
    /// Create, list, regenerate and revoke ingest keys (write-only keys applications use to
    /// send metered events).
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Metered events: raw-event retention.
    #[command(subcommand)]
    Meter(MeterCommand),
    /// Add and list dashboard users.
    #[command(subcommand)]
    Users(UsersCommand),
    /// Show and verify the append-only audit log.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// The price catalog that prices metered calls: list, check, add, edit, delete, import,
    /// export.
    #[command(subcommand)]
    Prices(PricesCommand),
    /// Alert rules, channels (webhooks, Slack, email), the history of firings, the delivery
    /// log and the SMTP settings.
    #[command(subcommand)]
    Alerts(crate::commands::alerts::AlertsCommand),
    /// Budget caps (organization, provider, workspace, API key, customer, model; per UTC day,
    /// week from Monday or month): list, create, edit, delete, versions, status, check.
    #[command(subcommand)]
    Budgets(crate::commands::budgets::BudgetsCommand),
    /// Stored reports: chargeback (PDF, CSV, JSON) and compliance (SOC 2, HIPAA, GDPR): generate,
    /// list, download, delete.
    #[command(subcommand)]
    Reports(crate::commands::reports::ReportsCommand),
    /// Projected month-end spend per provider, workspace, model and customer; credit balances.
    Forecast(crate::commands::forecast::ForecastArgs),
    /// Anomalies (daily spend vs the same weekday of earlier weeks) and their thresholds.
    #[command(subcommand)]
    Anomalies(crate::commands::forecast::AnomaliesCommand),
    /// Bring the database schema up to date (also done at every start).
    Migrate,
    /// The configuration file: `config check` reads it as `serve` would and shows what it sets.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Measure the store: write rate and view latency at a chosen size.
    Bench(BenchArgs),
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Check the file given with `--config` (or `SPENDLENS_CONFIG`) and list each setting it
    /// holds, and which environment variable overrides it. Precedence: a flag, then its
    /// `SPENDLENS_*` variable, then the file, then the default. Keys: data_dir, database_url,
    /// base_url_hosts (a list), log; under `[serve]`: listen, no_scheduler, trust_forwarded_for,
    /// secure_cookies,
    /// session_hours, session_idle_minutes, meter_retention_days, max_connections.
    Check,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Address to serve on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// Seed of the stand-ins' generated organization.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Set up, sync and print the summary, then exit instead of serving.
    #[arg(long)]
    pub no_serve: bool,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to serve on.
    #[arg(long, env = "SPENDLENS_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// Do not run scheduled syncs in this process.
    #[arg(long)]
    pub no_scheduler: bool,
    /// Believe the client address a reverse proxy appends to `X-Forwarded-For` (for sign-in
    /// throttling and logs). Only set this when every request comes through that proxy.
    #[arg(long, env = "SPENDLENS_TRUST_FORWARDED_FOR")]
    pub trust_forwarded_for: bool,
    /// Mark every cookie `Secure` (sent over HTTPS only), for a server reached only over HTTPS.
    /// Without it, cookies are marked `Secure` when a proxy says `X-Forwarded-Proto: https`.
    #[arg(long, env = "SPENDLENS_SECURE_COOKIES")]
    pub secure_cookies: bool,
    /// How long a dashboard sign-in lasts at most, in hours.
    #[arg(long, env = "SPENDLENS_SESSION_HOURS", default_value_t = 168, value_parser = clap::value_parser!(i64).range(1..=2160))]
    pub session_hours: i64,
    /// A dashboard session unused for this many minutes ends (idle expiry).
    #[arg(long, env = "SPENDLENS_SESSION_IDLE_MINUTES", default_value_t = 720, value_parser = clap::value_parser!(i64).range(5..=43200))]
    pub session_idle_minutes: i64,
    /// Keep raw metered events this many days (today included) and prune older ones at start
    /// and every six hours; rollups and the id ledger are kept. Unset: keep raw events forever.
    #[arg(long, env = "SPENDLENS_METER_RETENTION_DAYS", value_parser = clap::value_parser!(u32).range(1..=36500))]
    pub meter_retention_days: Option<u32>,
    /// Connections served at once; more wait in the kernel's backlog until one closes. Raise
    /// it for many gateways checking budgets over their own connections (each open connection
    /// takes a file descriptor: keep it under `ulimit -n`).
    #[arg(long, env = "SPENDLENS_MAX_CONNECTIONS", default_value_t = spendlens_web::server::DEFAULT_MAX_CONNECTIONS, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(16..=100_000))]
    pub max_connections: usize,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum ProviderArg {
    Openai,
    Anthropic,
    Bedrock,
    Vertex,
    Fal,
    Runway,
    Openrouter,
    Litellm,
    AzureOpenai,
    Piapi,
}

#[derive(Debug, Subcommand)]
pub enum ConnectionsCommand {
    /// Add a connection. The credential is checked for shape, then with one live call, then
    /// stored encrypted.
    Add(AddConnectionArgs),
    /// List connections with their status and last sync (never their secrets).
    List(FormatArgs),
    /// Check a stored credential with one live call.
    Test {
        /// The connection's id or name.
        connection: String,
    },
    /// Change a connection's settings: how many days back every sync reads again.
    Edit {
        /// The connection's id or name.
        connection: String,
        /// Days before the last synced day every sync reads again (0–62).
        #[arg(long, value_parser = clap::value_parser!(i64).range(0..=62), conflicts_with = "provider_lookback", required_unless_present = "provider_lookback")]
        lookback_days: Option<i64>,
        /// Use the provider's own look-back again (see `connections add --help`).
        #[arg(long)]
        provider_lookback: bool,
    },
    /// The services of a connection's bill (Google Vertex AI) and whether each counts; with
    /// SERVICE and CHOICE, include or exclude one (`default`: its kind's default). A change
    /// makes the next sync read every stored day again.
    Services {
        /// The connection's id or name.
        connection: String,
        /// A service id, as listed.
        #[arg(requires = "choice")]
        service: Option<String>,
        /// include, exclude or default.
        choice: Option<String>,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// A connection's spend per month: the sum of UTC days, and the bill's invoice month where
    /// the provider names one (Vertex), both where they differ.
    Months {
        /// The connection's id or name.
        connection: String,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Give a connection a new key: a rotated one, or one for a connection whose credential was
    /// removed (its history stays). Checked for its shape, then with one live call against the
    /// connection's own base URL; saved (encrypted, audited) only when both pass. The
    /// connection keeps its id and history and is pending until its next sync.
    SetKey {
        /// The connection's id or name.
        connection: String,
        #[command(flatten)]
        credential: CredentialSource,
    },
    /// Remove a connection's credential (history stays), or everything with --purge.
    Remove {
        /// The connection's id or name.
        connection: String,
        /// Also delete everything synced through it.
        #[arg(long)]
        purge: bool,
    },
}

#[derive(Debug, Args)]
pub struct AddConnectionArgs {
    #[arg(long, value_enum)]
    pub provider: ProviderArg,
    /// A name for the connection, e.g. "openai-prod".
    #[arg(long)]
    pub name: String,
    #[command(flatten)]
    pub credential: CredentialSource,
    /// Send requests to this base URL instead of the provider's (proxies, gateways).
    #[arg(long)]
    pub base_url: Option<String>,
    /// Save without the live check.
    #[arg(long)]
    pub skip_check: bool,
    /// Minutes between scheduled syncs.
    #[arg(long, default_value_t = 60)]
    pub interval_minutes: i64,
    /// Days of history the first sync fetches.
    #[arg(long, default_value_t = 90)]
    pub backfill_days: i64,
    /// Days before the last synced day that every sync fetches again. Without it, the
    /// provider's own look-back (e.g. AWS and Vertex: 3 days, the open month, and the previous
    /// month through the 5th; OpenAI and Anthropic: 3 days and the previous month through the
    /// 3rd).
    #[arg(long, value_parser = clap::value_parser!(i64).range(0..=62))]
    pub lookback_days: Option<i64>,
}

/// Where a connection's credential is read from (never a flag's value: it would sit in the
/// shell's history and the process list).
#[derive(Debug, Args)]
pub struct CredentialSource {
    /// Read the credential from this file.
    #[arg(
        long,
        conflicts_with = "credential_stdin",
        required_unless_present = "credential_stdin"
    )]
    pub credential_file: Option<PathBuf>,
    /// Read the credential from standard input.
    #[arg(long)]
    pub credential_stdin: bool,
}

#[derive(Clone, Copy, Debug, Default, ValueEnum, PartialEq, Eq)]
pub enum Format {
    #[default]
    Table,
    Json,
    Csv,
}

#[derive(Debug, Args)]
pub struct FormatArgs {
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct SyncArgs {
    /// Only this connection (id or name).
    #[arg(long)]
    pub connection: Option<String>,
    /// First day to sync (YYYY-MM-DD, UTC); with --to.
    #[arg(long, requires = "to")]
    pub from: Option<String>,
    /// Last day to sync, inclusive.
    #[arg(long, requires = "from")]
    pub to: Option<String>,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum ViewArg {
    Providers,
    Workspaces,
    Keys,
    Models,
    /// Metered calls per customer.
    Customers,
    /// Metered calls per product.
    Products,
    /// Metered calls per agent.
    Agents,
    /// Metered ÷ billed per provider, key and model, and the gap's causes.
    Coverage,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    #[arg(value_enum)]
    pub view: ViewArg,
    /// last-7-days, last-30-days, last-90-days, this-month or last-month.
    #[arg(long)]
    pub period: Option<String>,
    /// First day (YYYY-MM-DD, UTC, inclusive); with --to.
    #[arg(long)]
    pub from: Option<String>,
    /// Last day, inclusive.
    #[arg(long)]
    pub to: Option<String>,
    /// Only these providers, comma-separated.
    #[arg(long)]
    pub provider: Option<String>,
    /// Only rows whose names contain this text.
    #[arg(long)]
    pub search: Option<String>,
    /// Only rows costing at least this much (USD).
    #[arg(long)]
    pub min_cost: Option<String>,
    /// Only rows costing at most this much (USD).
    #[arg(long)]
    pub max_cost: Option<String>,
    /// Sort column (cost, trend, tokens, requests, ... — the error lists them).
    #[arg(long)]
    pub sort: Option<String>,
    /// asc or desc.
    #[arg(long)]
    pub order: Option<String>,
    /// Only this workspace (display name).
    #[arg(long)]
    pub workspace: Option<String>,
    /// Only this API key (its id in the keys view).
    #[arg(long)]
    pub key: Option<String>,
    /// Only these models, comma-separated (customers, products and agents).
    #[arg(long)]
    pub model: Option<String>,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

#[derive(Debug, Subcommand)]
pub enum TokensCommand {
    /// Create a token; it is shown once.
    Create {
        /// What the token is for.
        #[arg(long, default_value = "cli")]
        name: String,
        /// What it may do, comma-separated: read (reports, connections, sync runs — every
        /// token reads), connections (add, test, remove), sync (start syncs), admin
        /// (everything, including base-URL overrides).
        #[arg(long, default_value = "read")]
        scope: String,
        /// Refuse the token after this many days (default: no expiry).
        #[arg(long, value_parser = clap::value_parser!(i64).range(1..=3650))]
        expires_in_days: Option<i64>,
    },
    /// List tokens (prefixes only).
    List,
    /// Revoke a token by id.
    Revoke { id: i64 },
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Create an ingest key; its secret is printed once.
    Create {
        /// What the key is for (the application or service that sends with it).
        #[arg(long)]
        name: String,
    },
    /// List ingest keys (masked).
    List,
    /// Give a key a new secret; the old one stops working at once.
    Regenerate {
        id: i64,
        /// Confirm: applications still sending with the old secret will be refused.
        #[arg(long)]
        yes: bool,
    },
    /// Revoke a key: events sent with it are refused from now on (stored ones stay).
    Revoke {
        id: i64,
        /// Confirm: applications sending with this key will be refused.
        #[arg(long)]
        yes: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum MeterCommand {
    /// Delete raw metered events older than the retention (rollups and the idempotency ledger
    /// are kept, so totals do not change and late retries still count once).
    Prune {
        /// Keep the raw events of this many most recent days (today included).
        #[arg(long, env = "SPENDLENS_METER_RETENTION_DAYS")]
        keep_days: u32,
        /// Confirm the deletion.
        #[arg(long)]
        yes: bool,
    },
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum RoleArg {
    Admin,
    Viewer,
    /// One customer's portal only (give --customer).
    Tenant,
}

#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// Add a user. The password comes from standard input, or is generated and printed once.
    Add {
        #[arg(long)]
        email: String,
        #[arg(long, value_enum, default_value_t = RoleArg::Viewer)]
        role: RoleArg,
        /// The customer a tenant is bound to: the `customer` value its metered calls carry
        /// (required with --role tenant, refused with any other role).
        #[arg(long)]
        customer: Option<String>,
        /// Read the password from standard input instead of generating one.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Change a user's role, or the customer a tenant is bound to (audited).
    Role {
        email: String,
        #[arg(long, value_enum)]
        role: RoleArg,
        /// The customer (required with --role tenant, refused with any other role).
        #[arg(long)]
        customer: Option<String>,
    },
    /// List users.
    List,
    /// Stop a user signing in (their sessions end now); `enable` undoes it.
    Disable { email: String },
    /// Let a disabled user sign in again.
    Enable { email: String },
    /// Remove a user for good (the audit log keeps what they did). Asks for --yes.
    Remove {
        email: String,
        /// Confirm the removal.
        #[arg(long)]
        yes: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Recompute the hash chain and report the first broken entry, if any.
    Verify,
    /// Show the newest entries.
    List {
        /// How many entries (1 to 100000; a larger number is refused, not cut down).
        #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(i64).range(1..=100_000))]
        limit: i64,
    },
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum BenchBackend {
    Sqlite,
    Postgres,
    Both,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum BenchTarget {
    /// The store: sync writes and view latency (the default).
    Store,
    /// Metering ingest through the real HTTP endpoint.
    Meter,
    /// Budget checks (`POST /api/v1/budgets/check`) through the real server.
    Budgets,
}

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// What to measure.
    #[arg(value_enum, default_value_t = BenchTarget::Store)]
    pub target: BenchTarget,
    /// `meter`: events to send.
    #[arg(long, default_value_t = 1_000_000)]
    pub events: usize,
    /// `meter`: events per request (1 to 10,000).
    #[arg(long, default_value_t = 5_000)]
    pub batch: usize,
    /// `meter`: concurrent clients.
    #[arg(long, default_value_t = 4)]
    pub clients: usize,
    /// `meter`: distinct customers the events are spread over (each with its product and
    /// agent); the Customers view is timed over them.
    #[arg(long, default_value_t = 40)]
    pub customers: usize,
    /// Cost lines in the 30-day period measured.
    #[arg(long, default_value_t = 1_000_000)]
    pub lines: usize,
    /// API keys in the organization (default: one per 30 lines a day, at most 5,000); the
    /// lines of a day are spread over them.
    #[arg(long)]
    pub keys: Option<usize>,
    /// Which stores to measure.
    #[arg(long, value_enum, default_value_t = BenchBackend::Sqlite)]
    pub backend: BenchBackend,
    /// PostgreSQL admin URL for the PostgreSQL run (a scratch database is created and dropped).
    #[arg(
        long,
        env = "SPENDLENS_BENCH_DATABASE_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/postgres"
    )]
    pub postgres_url: String,
    /// Queries per view to time.
    #[arg(long, default_value_t = 50)]
    pub samples: usize,
    /// meter: also measure ingest with this many alert rules active (a fresh database each),
    /// and report the rate against the run without rules.
    #[arg(long, default_value_t = 0)]
    pub alert_rules: usize,
    /// budgets: caps in the organization.
    #[arg(long, default_value_t = 1000)]
    pub caps: usize,
    /// budgets: concurrent callers, one run per number (comma-separated).
    #[arg(long, default_value = "10,100,1000")]
    pub callers: String,
    /// budgets: seconds each caller count runs.
    #[arg(long, default_value_t = 5)]
    pub seconds: u64,
    /// budgets: open loop — all callers together send this many checks per second, evenly
    /// spread (a fleet of gateways checking as calls arrive), instead of each sending its next
    /// check as soon as the last one answers (closed loop, the default).
    #[arg(long)]
    pub rate: Option<u32>,
}

#[derive(Debug, Subcommand)]
pub enum PricesCommand {
    /// List the organization's prices (built-in and yours).
    List {
        /// Only this provider.
        #[arg(long)]
        provider: Option<String>,
        /// Only model patterns containing this text.
        #[arg(long)]
        search: Option<String>,
        /// Only this provenance: built_in, observed or user.
        #[arg(long)]
        provenance: Option<String>,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Which entry prices a call and what it costs — or why it is unpriced.
    Check(PriceCheckArgs),
    /// The catalog beside the prices observed on bills (each model's latest billed day, per
    /// token class where the bill names it), the drift, and billed models without a price.
    Observed {
        /// The period new models are looked for in: last_30_days (default), this_month, …
        #[arg(long)]
        period: Option<String>,
        /// Drift threshold in percent (default 2).
        #[arg(long)]
        threshold: Option<String>,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Add a user price (it takes precedence over built-in prices).
    Add(PriceEntryArgs),
    /// Change a user price: only the options given change ("" clears an optional one).
    Edit {
        id: i64,
        #[command(flatten)]
        entry: PriceEntryArgs,
    },
    /// Delete a user price; without --yes, only shows what would be deleted.
    Delete {
        id: i64,
        #[arg(long)]
        yes: bool,
    },
    /// Replace the built-in prices with a price file (the format of `export`); without a
    /// file, with the list compiled into this version. Shows what changes; user prices stay.
    Import {
        file: Option<PathBuf>,
        /// Show what would change, change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Re-price the stored metered events of a range of UTC days with the current catalog:
    /// shows the differences per model first, then asks (--yes skips); audited. A cost the
    /// sender reported stays the cost; its catalog cost is recomputed.
    Restate {
        /// First day, YYYY-MM-DD (inclusive).
        #[arg(long)]
        from: String,
        /// Last day, YYYY-MM-DD (inclusive).
        #[arg(long)]
        to: String,
        /// Show what would change, change nothing.
        #[arg(long)]
        dry_run: bool,
        /// Do not ask for a confirmation.
        #[arg(long)]
        yes: bool,
    },
    /// Write the prices as a price file (to standard output without --output).
    Export {
        #[arg(long)]
        output: Option<PathBuf>,
        /// Only this provenance: built_in, observed or user.
        #[arg(long)]
        provenance: Option<String>,
    },
}

#[derive(Debug, Args)]
pub struct PriceCheckArgs {
    /// openai, anthropic, bedrock, vertex, fal, runway, openrouter or litellm.
    pub provider: String,
    /// The model id as the provider reports it.
    pub model: String,
    /// Uncached input tokens.
    #[arg(long)]
    pub input: Option<i64>,
    #[arg(long)]
    pub cache_read: Option<i64>,
    /// Cache-write tokens (5-minute lifetime).
    #[arg(long)]
    pub cache_write: Option<i64>,
    #[arg(long)]
    pub cache_write_1h: Option<i64>,
    /// Visible output tokens.
    #[arg(long)]
    pub output: Option<i64>,
    #[arg(long)]
    pub reasoning: Option<i64>,
    /// Non-token quantity, with --unit.
    #[arg(long, requires = "unit")]
    pub quantity: Option<String>,
    /// images, seconds, characters, requests, ...
    #[arg(long, requires = "quantity")]
    pub unit: Option<String>,
    #[arg(long)]
    pub batch: bool,
    /// The service tier the provider applied (priority, flex, ...).
    #[arg(long)]
    pub tier: Option<String>,
    /// When the call happened (RFC 3339 or a UTC day); now by default.
    #[arg(long)]
    pub at: Option<String>,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

/// The fields of a price entry. Prices are decimal text per 1M tokens ("2.50", "0.0375").
#[derive(Debug, Args, Default)]
pub struct PriceEntryArgs {
    #[arg(long)]
    pub provider: Option<String>,
    /// Model id or pattern (`*` matches anything), e.g. "gpt-4o-mini*".
    #[arg(long)]
    pub model: Option<String>,
    #[arg(long)]
    pub input: Option<String>,
    #[arg(long)]
    pub cache_read: Option<String>,
    /// Cache writes with a 5-minute (or unknown) lifetime.
    #[arg(long)]
    pub cache_write: Option<String>,
    #[arg(long)]
    pub cache_write_1h: Option<String>,
    #[arg(long)]
    pub output: Option<String>,
    #[arg(long)]
    pub reasoning: Option<String>,
    /// A non-token unit price, unit=price (repeatable): --unit-price images=0.04.
    #[arg(long = "unit-price")]
    pub unit_prices: Vec<String>,
    /// Applies only when the call's total input is above this many tokens ("" clears).
    #[arg(long)]
    pub context_above: Option<String>,
    /// Applies to batch calls only (true) or non-batch calls only (false).
    #[arg(long)]
    pub batch: Option<bool>,
    /// Applies to this service tier only ("" = the standard tier).
    #[arg(long)]
    pub tier: Option<String>,
    /// First day the price applies (YYYY-MM-DD, UTC); today by default for a new price.
    #[arg(long)]
    pub from: Option<String>,
    /// Last day the price applies, inclusive ("" = until further notice).
    #[arg(long)]
    pub to: Option<String>,
    /// ISO 4217 code; USD by default.
    #[arg(long)]
    pub currency: Option<String>,
    /// Where the price comes from and when (required for a new price).
    #[arg(long)]
    pub note: Option<String>,
    /// user (default) or observed (read from a bill).
    #[arg(long)]
    pub provenance: Option<String>,
}
