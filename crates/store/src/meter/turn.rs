//! Turns for metered batches' transactions on SQLite.
//!
//! SQLite has one writer. A connection that finds the write lock taken waits in SQLite's busy
//! handler, which sleeps 1, 2, 5, 10 … up to 100 ms between tries: while one batch commits, the
//! next may sleep on for tens of milliseconds with the lock free, and the cores sit idle (the
//! meter bench measured a third of the machine idle and acknowledgements at p99 2–4 s). Batches
//! of one process instead queue here, first come first served, and the next starts the moment
//! the last commits. Other writers, and other processes, still meet SQLite's busy handler.
//! PostgreSQL takes row locks and needs no turn.
//!
//! After a batch's turn, the write-ahead log's new pages are copied into the database file on
//! another connection, and so on another thread and core ([`IngestTurn::checkpoint_after`]):
//! SQLite's automatic checkpoint runs inside the commit that fills the log, which held up every
//! batch queued behind it (commits of 3 ms took 17 ms when one ran). The checkpoint is
//! passive: it neither waits for nor blocks a writer. The automatic one stays as the backstop
//! and then finds little left to copy.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use sqlx::SqlitePool;
use tokio::sync::{Mutex, OwnedMutexGuard};

use crate::Backend;

/// The queue (cloned with the store: one per opened database).
#[derive(Clone, Debug, Default)]
pub struct IngestTurn {
    turn: Arc<Mutex<()>>,
    /// A background checkpoint is running.
    checkpointing: Arc<AtomicBool>,
}

impl IngestTurn {
    /// Waits for this batch's turn (none needed on PostgreSQL); the turn ends when the guard
    /// is dropped, after the commit.
    pub(crate) async fn take(&self, backend: Backend) -> Option<OwnedMutexGuard<()>> {
        match backend {
            Backend::Sqlite => Some(self.turn.clone().lock_owned().await),
            Backend::Postgres => None,
        }
    }

    /// Starts a passive checkpoint of `pool` in the background, unless one is running.
    pub(crate) fn checkpoint_after(&self, pool: &SqlitePool) {
        if self.checkpointing.swap(true, Ordering::AcqRel) {
            return;
        }
        let (pool, running) = (pool.clone(), self.checkpointing.clone());
        tokio::spawn(async move {
            if let Err(err) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
                .execute(&pool)
                .await
            {
                tracing::warn!(error = %err, "a background checkpoint of the SQLite log failed; the next commit will checkpoint instead");
            }
            running.store(false, Ordering::Release);
        });
    }
}
