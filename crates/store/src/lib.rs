//! spendlens's storage: one [`Store`] over SQLite (the embedded default) or PostgreSQL.
//!
//! SQL is written once, in the dialect both databases share: `$1` placeholders (SQLite binds
//! them by number), `BIGINT` integers for money (nano-units), quantities (micro-units), days
//! (days since 1970-01-01) and instants (Unix milliseconds), `ON CONFLICT … DO UPDATE`, and
//! `RETURNING`. The two dialects differ only in their migration files and in the bulk-insert
//! path. [`with_pool!`] expands each query once per backend.
//!
//! Architecture invariant: only this crate knows SQL; it knows nothing of HTTP.

mod access_log;
mod alerts;
mod anomaly_thresholds;
mod api_keys;
mod audit;
mod budget_denials;
mod budgets;
mod bulk;
mod compliance;
mod connections;
mod cost_lines;
mod daily;
mod export;
mod ingest_keys;
mod line_versions;
mod location;
mod meter;
mod migrations;
mod observed_prices;
mod orgs;
mod prices;
mod report_documents;
mod report_schedules;
mod rollups;
mod schema;
mod services;
mod sqlite_files;
mod sync_run_totals;
mod sync_runs;
pub mod testing;
mod tokens;
mod user_admin;
mod users;
pub mod vault;
mod workspaces;

use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, SqlitePool};
use time::OffsetDateTime;

pub use access_log::{AccessEntry, AccessFilter, AccessKind, NewAccess};
pub use alerts::{
    AlertChannelRow, AlertRuleRow, DeliveryRow, FireAlert, FiringRow, NewAlertChannel,
    NewAlertRule, NotificationJob, PasswordChange, SmtpSettings,
};
pub use anomaly_thresholds::{THRESHOLD_SCOPES, ThresholdRow};
pub use api_keys::ApiKeyRow;
pub use audit::{Actor, AuditEntry, AuditVerdict};
pub use budget_denials::{CapDenials, DenialTally, denials_by_cap};
pub use budgets::{BudgetCapRow, BudgetCapVersion, describe as describe_budget, overlaps_of};
pub use compliance::{BudgetFacts, NamedCount, OldestData};
pub use connections::{ConnectionRow, ConnectionStatus, NewConnection, validate_connection_name};
pub use cost_lines::{WindowWrite, WriteCounts};
pub use daily::{ConnectionHoldings, HistoryStart};
pub use export::{DayHistory, ExportLine, MeterDayRow};
pub use ingest_keys::{INGEST_KEY_PREFIX, IngestKeyCheck, IngestKeyRow, NewIngestKey};
pub use location::DatabaseLocation;
pub use meter::restate::{CostChange, RestateCursor};
pub use meter::rollup::{METER_DIMS, METER_EXTRA, extra as meter_extra};
pub use meter::usage::{RecordCursor, UsageFilter, UsageRecord};
pub use meter::{Attribution, AttributionTotals, MeterFacets, MeterFilter, Pruned};
pub use meter::{IngestOutcome, METER_COVERAGE, METER_DAY, METER_HOUR};
pub use observed_prices::ObservedRow;
pub use prices::{CatalogSnapshot, PriceImport};
pub use report_documents::{
    NewReport, ReportDocumentRow, ReportFiles, ReportFormat, ReportKind, ReportStatus,
    content_sha256,
};
pub use report_schedules::ReportScheduleRow;
pub use rollups::{
    BilledDays, BucketRange, BucketRow, BucketSize, ConnectionTotals, DailyBy, DailyCost, DimType,
    DimValue, Fact, GroupDays, GroupedRead, ImageTotals, KeyModelTotals, KeyTotals, MAX_DIMS,
    MAX_EXTRA, MeteredDays, MeteredKeyModel, MeteredSpend, Metrics, ModelTotals, PeriodRow, Prior,
    RollupFilter, RollupKind, RollupWrite, SeriesDays, SeriesFilter, SeriesKey, Totals, UnitTotals,
    WorkspaceTotals,
};
pub use schema::Schema;
pub use services::{InvoiceMonthTotal, ServiceRow};
pub use sync_run_totals::{SYNC_DURATION_BUCKETS, SyncRunTotals, SyncRunsRunning};
pub use sync_runs::{SyncRunFilter, SyncRunOutcome, SyncRunRow, SyncRunStatus, SyncTrigger};
pub use tokens::{ApiTokenRow, NewApiToken, TokenAuth, hash_token};
pub use user_admin::{SessionInfo, access_text};
pub use users::{NewSession, Role, SessionRow, UserRow, normalize_email};
pub use workspaces::{MAX_DISPLAY_NAME, WorkspaceNameChange, WorkspaceRow, validate_display_name};

/// The errors of the storage layer.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("{0}")]
    Location(String),
    #[error("migration {version} ({name}) failed: {source}")]
    Migration {
        version: i64,
        name: &'static str,
        source: sqlx::Error,
    },
    #[error("{what} not found")]
    NotFound { what: String },
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Vault(#[from] vault::VaultError),
    #[error("stored data is inconsistent: {0}")]
    Corrupt(String),
    /// The filesystem holding the SQLite database has (almost) no space left.
    #[error(
        "the disk holding the database is full ({free} bytes free); free some space: writes resume without a restart"
    )]
    DiskFull { free: u64 },
}

/// A stored status or role the domain does not know: the database holds something this
/// version did not write.
impl From<spendlens_domain::UnknownValue> for StoreError {
    fn from(err: spendlens_domain::UnknownValue) -> StoreError {
        StoreError::Corrupt(err.to_string())
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

pub use spendlens_domain::{ApiKeyId, ConnectionId, OrgId, SyncRunId, WorkspaceId};

#[derive(Clone, Debug)]
enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Runs `$body` with `$pool` bound to the concrete pool of either backend.
macro_rules! with_pool {
    ($store:expr, $pool:ident => $body:expr) => {
        match &$store.pool {
            $crate::Pool::Sqlite($pool) => $body,
            $crate::Pool::Postgres($pool) => $body,
        }
    };
}
pub(crate) use with_pool;

/// The database, whichever backend holds it.
#[derive(Clone, Debug)]
pub struct Store {
    pool: Pool,
    location: DatabaseLocation,
    /// Day partitions of `meter_events` known to exist (PostgreSQL).
    partitions: meter::PartitionCache,
    /// Metered batches take turns here before their SQLite transaction (see
    /// [`meter::IngestTurn`]).
    ingest_turn: meter::IngestTurn,
    /// Period reads of the bill's rollups, kept under their revision (`rollups::memo`).
    period_memo: rollups::PeriodMemo,
}

/// Which backend a store runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Store {
    /// Opens (creating if needed) the database at `location` and brings its schema up to date.
    pub async fn open(location: &DatabaseLocation) -> StoreResult<Store> {
        let store = Store::connect(location).await?;
        store.migrate().await?;
        Ok(store)
    }

    /// Opens the database without running migrations.
    pub async fn connect(location: &DatabaseLocation) -> StoreResult<Store> {
        let pool = match location {
            DatabaseLocation::Sqlite { path } => {
                sqlite_files::prepare(path)?;
                let options = SqliteConnectOptions::new()
                    .filename(path)
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    // FULL: every commit is synced to disk before it returns, so an
                    // acknowledged event or a finished sync survives a power cut, not only a
                    // crash of the process (NORMAL, in WAL mode, syncs only at checkpoints).
                    // METERING.md: acknowledge after a durable commit.
                    .synchronous(SqliteSynchronous::Full)
                    .busy_timeout(Duration::from_secs(30))
                    .foreign_keys(true)
                    .pragma("cache_size", "-65536")
                    .pragma("temp_store", "memory");
                let pool = SqlitePoolOptions::new()
                    .max_connections(8)
                    .after_release(|conn, _| Box::pin(sqlite_files::release_clean(conn)))
                    .connect_with(options)
                    .await
                    .map_err(|err| {
                        StoreError::Location(format!(
                            "cannot open the SQLite database {}: {err}",
                            path.display()
                        ))
                    })?;
                Pool::Sqlite(pool)
            }
            DatabaseLocation::Postgres { url } => {
                let options: PgConnectOptions = url.parse().map_err(|err| {
                    StoreError::Location(format!(
                        "the PostgreSQL URL {} is not valid: {err}",
                        location.redacted()
                    ))
                })?;
                let pool = PgPoolOptions::new()
                    .max_connections(16)
                    .acquire_timeout(Duration::from_secs(30))
                    .connect_with(options)
                    .await
                    .map_err(|err| {
                        StoreError::Location(format!(
                            "cannot connect to PostgreSQL at {}: {err}",
                            location.redacted()
                        ))
                    })?;
                Pool::Postgres(pool)
            }
        };
        Ok(Store {
            pool,
            location: location.clone(),
            partitions: meter::PartitionCache::default(),
            ingest_turn: meter::IngestTurn::default(),
            period_memo: rollups::PeriodMemo::default(),
        })
    }

    pub fn backend(&self) -> Backend {
        match self.pool {
            Pool::Sqlite(_) => Backend::Sqlite,
            Pool::Postgres(_) => Backend::Postgres,
        }
    }

    pub fn location(&self) -> &DatabaseLocation {
        &self.location
    }

    /// Applies every migration not yet applied; returns how many ran.
    pub async fn migrate(&self) -> StoreResult<usize> {
        migrations::run(self, None).await
    }

    /// A cheap round trip, for health checks.
    pub async fn ping(&self) -> StoreResult<()> {
        with_pool!(self, pool => {
            sqlx::query("SELECT 1").execute(pool).await?;
        });
        Ok(())
    }

    /// Commits a 64 KiB write, for health checks: a database that answers reads but cannot
    /// take a real write (a full disk, a read-only file, a lost lock) fails here, with the
    /// database's reason. On SQLite the data directory's free space is checked first: a small
    /// write can still fit in pages the write-ahead log already holds while every write that
    /// grows the database fails.
    pub async fn probe_write(&self, now: OffsetDateTime) -> StoreResult<()> {
        const PROBE_BYTES: usize = 64 * 1024;
        if let DatabaseLocation::Sqlite { path } = &self.location
            && let Some(free) = sqlite_files::free_bytes(path)
            && free < sqlite_files::MIN_FREE_BYTES
        {
            return Err(StoreError::DiskFull { free });
        }
        let filler = format!("{}{}", millis(now), "0".repeat(PROBE_BYTES));
        with_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO health_probe (id, at, filler) VALUES (1, $1, $2) \
                 ON CONFLICT (id) DO UPDATE SET at = excluded.at, filler = excluded.filler",
            )
            .bind(millis(now))
            .bind(&filler)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    pub async fn close(&self) {
        with_pool!(self, pool => pool.close().await);
    }
}

/// An instant as stored: Unix milliseconds.
pub fn millis(instant: OffsetDateTime) -> i64 {
    i64::try_from(instant.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

/// A stored instant back as a time.
pub fn from_millis(millis: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(millis) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// Typed column reads that read the same on both backends.
pub(crate) trait RowExt {
    fn int(&self, column: &str) -> StoreResult<i64>;
    fn opt_int(&self, column: &str) -> StoreResult<Option<i64>>;
    fn text(&self, column: &str) -> StoreResult<String>;
    fn opt_text(&self, column: &str) -> StoreResult<Option<String>>;
    fn flag(&self, column: &str) -> StoreResult<bool>;
}

macro_rules! impl_row_ext {
    ($row:ty) => {
        impl RowExt for $row {
            fn int(&self, column: &str) -> StoreResult<i64> {
                Ok(sqlx::Row::try_get(self, column)?)
            }
            fn opt_int(&self, column: &str) -> StoreResult<Option<i64>> {
                Ok(sqlx::Row::try_get(self, column)?)
            }
            fn text(&self, column: &str) -> StoreResult<String> {
                Ok(sqlx::Row::try_get(self, column)?)
            }
            fn opt_text(&self, column: &str) -> StoreResult<Option<String>> {
                Ok(sqlx::Row::try_get(self, column)?)
            }
            fn flag(&self, column: &str) -> StoreResult<bool> {
                Ok(sqlx::Row::try_get(self, column)?)
            }
        }
    };
}
impl_row_ext!(sqlx::sqlite::SqliteRow);
impl_row_ext!(sqlx::postgres::PgRow);

impl From<std::io::Error> for StoreError {
    fn from(err: std::io::Error) -> StoreError {
        StoreError::Location(err.to_string())
    }
}
