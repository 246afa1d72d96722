//! The sync engine: plan a window, fetch it whole through the connector, allocate billed cost
//! to the cost-line grain, replace the window atomically, and log the run.
//!
//! Sync is split as fetch → pure plan/allocation → apply: [`plan`] and
//! `spendlens_domain::allocation` are pure; the connector does the I/O of fetching and the
//! store the I/O of applying. A run holds the connection's lease in the database the whole
//! time, so exactly one process syncs a connection at a time, whichever store it shares.

pub mod connections;
pub mod plan;
mod run;
pub mod scheduler;

pub use run::StartedSync;

use std::sync::Arc;
use std::time::Duration;

use spendlens_domain::{Day, DayRange, PriceCatalog, SyncRequest};
use spendlens_providers::{CallStats, ConnectorConfig, HttpSettings, ProviderError};
use spendlens_store::vault::Vault;
use spendlens_store::{
    ConnectionId, ConnectionRow, OrgId, Store, StoreError, SyncRunId, SyncRunStatus, SyncTrigger,
    WriteCounts,
};
use time::OffsetDateTime;

use plan::PlanError;
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
    /// When not empty, the only hosts a connection's base-URL override may name (`host` or
    /// `*.domain`): without it, whoever may add connections can make the server call any host.
    pub allowed_base_url_hosts: Vec<String>,
}

impl Default for SyncSettings {
    fn default() -> SyncSettings {
        SyncSettings {
            // Renewed every third of it while a sync runs, so a crashed process blocks its
            // connection for at most this long.
            lease: Duration::from_secs(90),
            http: HttpSettings::default(),
            owner: default_owner(),
            allowed_base_url_hosts: Vec::new(),
        }
    }
}

fn default_owner() -> String {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "spendlens".to_owned());
    format!("{host}:{}", std::process::id())
}

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("{}", run::already_running_message(name, *run, *free_at))]
    AlreadyRunning {
        name: String,
        /// The run that holds the connection, when it is on record.
        run: Option<SyncRunId>,
        /// When the lease runs out if its holder stopped without releasing it.
        free_at: Option<OffsetDateTime>,
    },
    #[error(
        "connection \"{name}\" has no credential (it was removed); give it a new key on its page to sync it"
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

    /// The same engine, admitting base-URL overrides only on these hosts.
    pub fn with_allowed_base_url_hosts(mut self, hosts: Vec<String>) -> SyncEngine {
        self.settings.allowed_base_url_hosts = hosts;
        self
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

    /// A base-URL override as users type it ([`parse_base_url`]), on a host the allowlist
    /// admits.
    pub fn check_base_url(&self, text: &str) -> Result<url::Url, String> {
        let url = parse_base_url(text)?;
        let allowed = &self.settings.allowed_base_url_hosts;
        let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
        if !allowed.is_empty() && !allowed.iter().any(|pattern| host_matches(pattern, &host)) {
            return Err(format!(
                "the base URL's host {host} is not on this server's allowlist ({}); an \
                 administrator can add it with --base-url-hosts",
                allowed.join(", ")
            ));
        }
        Ok(url)
    }

    /// The connector settings for a base-URL override and our HTTP settings.
    pub fn connector_config(&self, base_url: Option<&str>) -> Result<ConnectorConfig, SyncError> {
        let base_url = match base_url {
            Some(text) => Some(
                self.check_base_url(text)
                    .map_err(|e| SyncError::Store(StoreError::Invalid(e)))?,
            ),
            None => None,
        };
        Ok(ConnectorConfig {
            base_url,
            http: self.settings.http.clone(),
            services: Default::default(),
        })
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

/// Whether `host` is `pattern` (any case) or, for `*.domain`, a subdomain of it.
fn host_matches(pattern: &str, host: &str) -> bool {
    let pattern = pattern.trim().to_ascii_lowercase();
    match pattern.strip_prefix("*.") {
        Some(domain) => host.ends_with(&format!(".{domain}")),
        None => pattern == host,
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

#[cfg(test)]
mod tests {
    use super::*;

    async fn engine(hosts: &[&str]) -> (spendlens_store::testing::TestStore, SyncEngine) {
        let test = spendlens_store::testing::TestStore::sqlite()
            .await
            .expect("a test store");
        let engine = SyncEngine::new(
            test.store.clone(),
            Vault::from_key([1; 32]),
            PriceCatalog::built_in(),
            Arc::new(FixedClock::new(
                time::macros::datetime!(2026-11-22 12:00 UTC),
            )),
            SyncSettings::default(),
        )
        .with_allowed_base_url_hosts(hosts.iter().map(|h| (*h).to_owned()).collect());
        (test, engine)
    }

    #[tokio::test]
    async fn base_url_overrides_stay_on_the_allowlist() {
        let (_test, open) = engine(&[]).await;
        assert!(
            open.check_base_url("https://anywhere.example.org/v1")
                .is_ok()
        );
        let (_test, closed) = engine(&["gateway.internal", "*.corp.example"]).await;
        assert!(closed.check_base_url("https://gateway.internal/v1").is_ok());
        assert!(
            closed
                .check_base_url("https://GATEWAY.internal:8443")
                .is_ok()
        );
        assert!(
            closed
                .check_base_url("https://litellm.corp.example")
                .is_ok()
        );
        for refused in [
            "https://corp.example",
            "https://evil.example/gateway.internal",
            "https://gateway.internal.evil.example",
            "http://169.254.169.254/latest",
        ] {
            let err = closed.check_base_url(refused).expect_err(refused);
            assert!(err.contains("allowlist"), "{err}");
        }
    }
}
