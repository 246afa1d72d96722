//! Opening what every command needs from the global options: the store (SQLite in the data
//! directory unless a database URL is given), the master key, the default organization and a
//! sync engine.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context as _;
use spendlens_domain::PriceCatalog;
use spendlens_store::vault::Vault;
use spendlens_store::{DatabaseLocation, OrgId, Store};
use spendlens_sync::{SyncEngine, SyncSettings, SystemClock};

use crate::cli::Cli;

/// The environment variable holding the master key (else a key file in the data directory).
pub const MASTER_KEY_ENV: &str = "SPENDLENS_MASTER_KEY";

pub struct Context {
    pub engine: SyncEngine,
    pub org: OrgId,
}

impl Context {
    pub async fn open(cli: &Cli) -> anyhow::Result<Context> {
        let location = match &cli.database_url {
            Some(url) if !url.trim().is_empty() => DatabaseLocation::parse(url)?,
            _ => DatabaseLocation::in_data_dir(&cli.data_dir),
        };
        let mut context = Context::open_at(&location, &cli.data_dir).await?;
        let hosts: Vec<String> = cli
            .base_url_hosts
            .iter()
            .map(|h| h.trim().to_owned())
            .filter(|h| !h.is_empty())
            .collect();
        if !hosts.is_empty() {
            context.engine = context.engine.with_allowed_base_url_hosts(hosts);
        }
        Ok(context)
    }

    pub async fn open_at(location: &DatabaseLocation, data_dir: &Path) -> anyhow::Result<Context> {
        let store = Store::open(location)
            .await
            .with_context(|| format!("opening the database {location}"))?;
        let vault = Vault::load(std::env::var(MASTER_KEY_ENV).ok().as_deref(), data_dir)?;
        let engine = SyncEngine::new(
            store,
            vault,
            PriceCatalog::built_in(),
            Arc::new(SystemClock),
            SyncSettings::default(),
        );
        let org = engine.store().ensure_default_org(engine.now()).await?;
        Ok(Context { engine, org })
    }

    pub fn store(&self) -> &Store {
        self.engine.store()
    }
}
