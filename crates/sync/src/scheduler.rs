//! The scheduler of `spendlens serve`: every connection syncs on its interval (default
//! hourly). Due connections are read from the database and claimed through their lease, so
//! several serve processes sharing one PostgreSQL never sync a connection twice.

use spendlens_domain::SyncRequest;
use std::time::Duration;

use spendlens_providers::CallStats;
use tokio::sync::watch;
use tracing::{info, warn};

use crate::{SyncEngine, SyncError};

/// How often the scheduler looks for due connections.
pub const TICK: Duration = Duration::from_secs(30);

/// Runs until `shutdown` turns true. Each tick closes runs abandoned by crashed processes,
/// then syncs each due connection (one at a time, to be gentle with providers' rate limits).
pub async fn run(engine: SyncEngine, mut shutdown: watch::Receiver<bool>) {
    info!("scheduler started");
    loop {
        tick(&engine).await;
        tokio::select! {
            _ = shutdown.changed() => break,
            () = tokio::time::sleep(TICK) => {}
        }
        if *shutdown.borrow() {
            break;
        }
    }
    info!("scheduler stopped");
}

/// One pass: what is due now is synced now. Public for tests and `spendlens sync --due`.
pub async fn tick(engine: &SyncEngine) {
    let now = engine.now();
    match engine.store().fail_abandoned_runs(now).await {
        Ok(0) => {}
        Ok(count) => warn!(count, "closed sync runs interrupted by a stopped process"),
        Err(err) => warn!(error = %err, "could not check for interrupted sync runs"),
    }
    let due = match engine.store().due_connections(now).await {
        Ok(due) => due,
        Err(err) => {
            warn!(error = %err, "could not read due connections");
            return;
        }
    };
    for connection in due {
        let stats = CallStats::default();
        match engine
            .sync_connection(
                connection.org_id,
                connection.id,
                None,
                SyncRequest::Scheduled,
                &stats,
            )
            .await
        {
            Ok(report) => info!(
                connection = %connection.name,
                status = report.status.as_str(),
                lines = report.counts.lines,
                "scheduled sync finished"
            ),
            Err(SyncError::AlreadyRunning { .. }) => {}
            Err(err) => {
                warn!(connection = %connection.name, error = %err, "scheduled sync could not start")
            }
        }
    }
}
