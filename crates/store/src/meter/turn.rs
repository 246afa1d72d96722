//! Turns for metered batches' transactions on SQLite.
//!
//! SQLite has one writer. A connection that finds the write lock taken waits in SQLite's busy
//! handler, which sleeps 1, 2, 5, 10 … up to 100 ms between tries: while one batch commits, the
//! next may sleep on for tens of milliseconds with the lock free, and the cores sit idle (the
//! meter bench measured a third of the machine idle and acknowledgements at p99 2–4 s). Batches
//! of one process instead queue here, first come first served, and the next starts the moment
//! the last commits. Other writers, and other processes, still meet SQLite's busy handler.
//! PostgreSQL takes row locks and needs no turn.

use std::sync::Arc;

use tokio::sync::{Mutex, OwnedMutexGuard};

use crate::Backend;

/// The queue (cloned with the store: one per opened database).
#[derive(Clone, Debug, Default)]
pub struct IngestTurn(Arc<Mutex<()>>);

impl IngestTurn {
    /// Waits for this batch's turn (none needed on PostgreSQL); the turn ends when the guard
    /// is dropped, after the commit.
    pub(crate) async fn take(&self, backend: Backend) -> Option<OwnedMutexGuard<()>> {
        match backend {
            Backend::Sqlite => Some(self.0.clone().lock_owned().await),
            Backend::Postgres => None,
        }
    }
}
