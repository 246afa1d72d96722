//! The sync engine: plan a window, fetch it whole through the connector, allocate billed cost
//! to the cost-line grain, replace the window atomically, and log the run.
//!
//! Sync is split as fetch → pure plan/allocation → apply: [`plan`] and
//! `spendlens_domain::allocation` are pure; the connector does the I/O of fetching and the
//! store the I/O of applying. A run holds the connection's lease in the database the whole
//! time, so exactly one process syncs a connection at a time, whichever store it shares.

pub mod connections;
pub mod plan;
pub mod scheduler;

use std::sync::Arc;
use std::time::Duration;

use spendlens_domain::allocation::allocate;
use spendlens_domain::{Day, DayRange, PriceCatalog, SyncRequest};
use spendlens_providers::{CallStats, ConnectorConfig, HttpSettings, ProviderError};
use spendlens_store::vault::Vault;
use spendlens_store::{
    ConnectionId, ConnectionRow, ConnectionStatus, OrgId, Store, StoreError, SyncRunId,
    SyncRunOutcome, SyncRunStatus, SyncTrigger, WindowWrite, WriteCounts,
};
use time::OffsetDateTime;
use tracing::{info, warn};

use plan::{PlanError, SyncState, next_watermark};
pub use spendlens_domain::{Clock, FixedClock, SystemClock};

/// After this many syncs in a row with a rejected credential, a connection is disconnected
/// (no more scheduled syncs) until its credential is replaced or it is synced by hand.
pub const AUTH_FAILURES_BEFORE_DISCONNECT: i64 = 3;

/// The engine's settings.
#[derive(Clone, Debug)]
pub struct SyncSettings {
    /// How long a claimed lease lasts before another process may take over (renewed while
    /// the sync runs).
    pub lease: Duration,
    /// HTTP settings for every connector.
    pub http: HttpSettings,
    /// A name for this process in leases (host and pid by default).
    pub owner: String,
}

impl Default for SyncSettings {
    fn default() -> SyncSettings {
        SyncSettings {
            lease: Duration::from_secs(600),
            http: HttpSettings::default(),
            owner: default_owner(),
        }
    }
}

fn default_owner() -> String {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "spendlens".to_owned());
    format!("{host}:{}", std::process::id())
}

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(
        "a sync of \"{name}\" is already running (in this or another spendlens process); wait for it to finish"
    )]
    AlreadyRunning { name: String },
    #[error(
        "connection \"{name}\" has no credential (it was removed); add the connection again to sync it"
    )]
    NoCredential { name: String },
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error("{0}")]
    Provider(#[from] ProviderError),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The provider sent something spendlens cannot store correctly yet.
    #[error("{0}")]
    Unsupported(String),
}

/// What one sync did.
#[derive(Clone, Debug, serde::Serialize)]
pub struct SyncReport {
    pub run_id: SyncRunId,
    pub connection_id: ConnectionId,
    pub connection_name: String,
    pub window: DayRange,
    pub trigger: SyncTrigger,
    pub status: SyncRunStatus,
    pub counts: WriteCounts,
    pub http_calls: u64,
    pub retries: u64,
    pub error: Option<String>,
    pub notes: Vec<String>,
}

/// Runs syncs against one store.
#[derive(Clone)]
pub struct SyncEngine {
    store: Store,
    vault: Vault,
    catalog: Arc<PriceCatalog>,
    clock: Arc<dyn Clock>,
    settings: SyncSettings,
}

impl std::fmt::Debug for SyncEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyncEngine")
            .field("store", self.store.location())
            .field("owner", &self.settings.owner)
            .finish_non_exhaustive()
    }
}

impl SyncEngine {
    pub fn new(
        store: Store,
        vault: Vault,
        catalog: PriceCatalog,
        clock: Arc<dyn Clock>,
        settings: SyncSettings,
    ) -> SyncEngine {
        SyncEngine {
            store,
            vault,
            catalog: Arc::new(catalog),
            clock,
            settings,
        }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn vault(&self) -> &Vault {
        &self.vault
    }

    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    pub fn now(&self) -> OffsetDateTime {
        self.clock.now()
    }

    pub fn today(&self) -> Day {
        Day::of(self.clock.now())
    }

    /// The connector settings for a base-URL override and our HTTP settings.
    pub fn connector_config(&self, base_url: Option<&str>) -> Result<ConnectorConfig, SyncError> {
        let base_url = match base_url {
            Some(text) => {
                Some(parse_base_url(text).map_err(|e| SyncError::Store(StoreError::Invalid(e)))?)
            }
            None => None,
        };
        Ok(ConnectorConfig {
            base_url,
            http: self.settings.http.clone(),
        })
    }

    /// Syncs one connection: a planned window, or `requested` when given. `request` says
    /// who asked. `stats` counts HTTP calls as they happen (for progress bars).
    ///
    /// A provider or store failure is not an `Err`: it is a failed run, logged and reported
    /// in the returned [`SyncReport`]. `Err` means no run could start (already running, no
    /// credential, bad window).
    pub async fn sync_connection(
        &self,
        org: OrgId,
        connection_id: ConnectionId,
        requested: Option<DayRange>,
        request: SyncRequest,
        stats: &CallStats,
    ) -> Result<SyncReport, SyncError> {
        let connection = self.store.get_connection(org, connection_id).await?;
        let plan = plan::plan(
            SyncState {
                synced_through: connection.synced_through,
                backfill_days: connection.backfill_days,
                lookback_days: connection.lookback_days,
            },
            self.today(),
            requested,
            request,
        )?;
        let Some(credential) = self
            .store
            .load_credential(org, connection.id, &self.vault)
            .await?
        else {
            return Err(SyncError::NoCredential {
                name: connection.name.clone(),
            });
        };
        let config = self.connector_config(connection.base_url.as_deref())?;

        // Each run holds the lease under its own name, so two runs in one process exclude
        // each other as two processes do.
        let holder = format!("{}#{:08x}", self.settings.owner, rand::random::<u32>());
        let now = self.now();
        if !self
            .store
            .claim_sync_lease(connection.id, &holder, now, now + self.settings.lease)
            .await?
        {
            return Err(SyncError::AlreadyRunning {
                name: connection.name.clone(),
            });
        }
        let run = self
            .store
            .start_sync_run(org, connection.id, plan.trigger, plan.window, now)
            .await;
        let run = match run {
            Ok(run) => run,
            Err(err) => {
                self.release(&connection, &holder).await;
                return Err(err.into());
            }
        };
        info!(connection = %connection.name, window = %plan.window, trigger = plan.trigger.as_str(), "sync started");

        let work = self.fetch_and_apply(org, &connection, &credential, &config, plan.window, stats);
        let result = self.while_holding_lease(&connection, &holder, work).await;

        let counts = stats.snapshot();
        let finished = self.now();
        let report = match result {
            Ok((written, notes)) => {
                let outcome = SyncRunOutcome {
                    status: SyncRunStatus::Success,
                    counts: written,
                    http_calls: counts.http_calls,
                    retries: counts.retries,
                    error: None,
                    notes: (!notes.is_empty()).then(|| notes.join("\n")),
                };
                self.store.finish_sync_run(run, &outcome, finished).await?;
                self.store
                    .record_sync_outcome(
                        connection.id,
                        ConnectionStatus::Connected,
                        None,
                        next_watermark(connection.synced_through, plan.window),
                        false,
                        outcome.notes.as_deref(),
                        finished,
                        Some(
                            finished
                                + time::Duration::seconds(connection.sync_interval_secs.max(60)),
                        ),
                    )
                    .await?;
                info!(connection = %connection.name, lines = written.lines, "sync succeeded");
                SyncReport {
                    run_id: run,
                    connection_id: connection.id,
                    connection_name: connection.name.clone(),
                    window: plan.window,
                    trigger: plan.trigger,
                    status: SyncRunStatus::Success,
                    counts: written,
                    http_calls: counts.http_calls,
                    retries: counts.retries,
                    error: None,
                    notes,
                }
            }
            Err(err) => {
                let rejected = matches!(&err, SyncError::Provider(p) if p.is_credential_rejected());
                let message = format!("{err} Stored data was left unchanged.");
                warn!(connection = %connection.name, error = %message, "sync failed");
                let outcome = SyncRunOutcome {
                    status: SyncRunStatus::Failed,
                    counts: WriteCounts::default(),
                    http_calls: counts.http_calls,
                    retries: counts.retries,
                    error: Some(message.clone()),
                    notes: None,
                };
                self.store.finish_sync_run(run, &outcome, finished).await?;
                let disconnect =
                    rejected && connection.auth_failures + 1 >= AUTH_FAILURES_BEFORE_DISCONNECT;
                let (status, next) = if disconnect {
                    (ConnectionStatus::Disconnected, None)
                } else {
                    (
                        ConnectionStatus::Error,
                        Some(
                            finished
                                + time::Duration::seconds(connection.sync_interval_secs.max(60)),
                        ),
                    )
                };
                let status_message = if disconnect {
                    format!(
                        "{message} Scheduled syncs stopped after {AUTH_FAILURES_BEFORE_DISCONNECT} rejections in a row; replace the credential to resume."
                    )
                } else {
                    message.clone()
                };
                self.store
                    .record_sync_outcome(
                        connection.id,
                        status,
                        Some(&status_message),
                        None,
                        rejected,
                        None,
                        finished,
                        next,
                    )
                    .await?;
                SyncReport {
                    run_id: run,
                    connection_id: connection.id,
                    connection_name: connection.name.clone(),
                    window: plan.window,
                    trigger: plan.trigger,
                    status: SyncRunStatus::Failed,
                    counts: WriteCounts::default(),
                    http_calls: counts.http_calls,
                    retries: counts.retries,
                    error: Some(message),
                    notes: Vec::new(),
                }
            }
        };
        self.release(&connection, &holder).await;
        Ok(report)
    }

    async fn fetch_and_apply(
        &self,
        org: OrgId,
        connection: &ConnectionRow,
        credential: &spendlens_domain::Credential,
        config: &ConnectorConfig,
        window: DayRange,
        stats: &CallStats,
    ) -> Result<(WriteCounts, Vec<String>), SyncError> {
        let fetched = spendlens_providers::fetch_window(credential, config, window, stats).await?;
        // Every report is in USD; amounts in another currency would be added as if they were.
        if let Some(foreign) = fetched
            .costs
            .iter()
            .map(|c| c.currency.as_str())
            .find(|c| *c != "USD")
        {
            return Err(SyncError::Unsupported(format!(
                "{} bills this account in {foreign}; spendlens reports in USD and does not convert \
                 currencies yet, so nothing from this sync was stored. Use a USD billing account or \
                 follow the currency-conversion issue.",
                connection.provider.display_name()
            )));
        }
        let api_keys_complete = !fetched.api_keys.is_empty();
        // Replace only the days the provider could answer for (never wipe older history it
        // no longer serves); lines outside them cannot be stored.
        let replaced = fetched
            .served
            .and_then(|served| {
                DayRange::new(
                    served.from().max(window.from()),
                    served.to().min(window.to()),
                )
                .ok()
            })
            .unwrap_or(window);
        let lines: Vec<_> = allocate(
            connection.provider,
            fetched.usage,
            fetched.costs,
            &self.catalog,
        )
        .into_iter()
        .filter(|line| replaced.contains(line.day))
        .collect();
        let counts = self
            .store
            .replace_window(WindowWrite {
                org,
                connection: connection.id,
                window: replaced,
                workspaces: &fetched.workspaces,
                api_keys: &fetched.api_keys,
                api_keys_complete,
                lines: &lines,
                now: self.now(),
            })
            .await?;
        Ok((counts, fetched.notes))
    }

    /// Runs `work` while renewing the connection's lease, so a long sync keeps it and a
    /// crashed one loses it within one lease period.
    async fn while_holding_lease<T>(
        &self,
        connection: &ConnectionRow,
        holder: &str,
        work: impl Future<Output = Result<T, SyncError>>,
    ) -> Result<T, SyncError> {
        let renew_every = (self.settings.lease / 3).max(Duration::from_secs(1));
        tokio::pin!(work);
        loop {
            tokio::select! {
                result = &mut work => return result,
                () = tokio::time::sleep(renew_every) => {
                    let now = self.now();
                    if let Err(err) = self
                        .store
                        .claim_sync_lease(connection.id, holder, now, now + self.settings.lease)
                        .await
                    {
                        warn!(connection = %connection.name, error = %err, "could not renew the sync lease");
                    }
                }
            }
        }
    }

    async fn release(&self, connection: &ConnectionRow, holder: &str) {
        if let Err(err) = self.store.release_sync_lease(connection.id, holder).await {
            warn!(connection = %connection.name, error = %err, "could not release the sync lease");
        }
    }

    /// Syncs every connection of an organization that has a credential, one after another.
    /// Returns one result per connection.
    pub async fn sync_all(
        &self,
        org: OrgId,
        requested: Option<DayRange>,
        request: SyncRequest,
    ) -> Result<Vec<(ConnectionRow, Result<SyncReport, SyncError>)>, SyncError> {
        let connections = self.store.list_connections(org).await?;
        let mut results = Vec::with_capacity(connections.len());
        for connection in connections.into_iter().filter(|c| c.has_credential) {
            let stats = CallStats::default();
            let result = self
                .sync_connection(org, connection.id, requested, request, &stats)
                .await;
            results.push((connection, result));
        }
        Ok(results)
    }

    /// Checks a credential with one cheap live call, through an optional base URL.
    pub async fn check_credential(
        &self,
        credential: &spendlens_domain::Credential,
        base_url: Option<&str>,
    ) -> Result<spendlens_providers::ConnectionCheck, SyncError> {
        let config = self.connector_config(base_url)?;
        let stats = CallStats::default();
        Ok(spendlens_providers::check_connection(credential, &config, &stats).await?)
    }
}

/// A base URL as users type it: http(s), a host, no credentials, query or fragment in it (it
/// is shown on pages and in the API as it is).
pub fn parse_base_url(text: &str) -> Result<url::Url, String> {
    let url = url::Url::parse(text.trim()).map_err(|err| {
        // The text is not repeated: it may hold a password.
        format!("the base URL is not a URL ({err}); use e.g. https://gateway.example.com/v1")
    })?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!(
            "the base URL must start with http:// or https://, not \"{}:\"",
            url.scheme()
        ));
    }
    if url.host_str().is_none() {
        return Err("the base URL needs a host name".to_owned());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("put credentials in the credential field, not in the base URL".to_owned());
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(
            "the base URL cannot have a query (?…) or fragment (#…); put tokens in the credential field"
                .to_owned(),
        );
    }
    Ok(url)
}
