//! PostgreSQL day partitions of `meter_events`, created on demand, and raw-event retention
//! (dropping whole day partitions on PostgreSQL, deleting rows on SQLite). Rollups and the id
//! ledger are kept: totals stay right and a late retry of a pruned event still counts nothing.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use crate::{Backend, Pool, Store, StoreResult};

/// The day partitions this process knows exist (so a batch costs no catalog query).
#[derive(Clone, Debug, Default)]
pub struct PartitionCache(Arc<Mutex<HashSet<i32>>>);

impl PartitionCache {
    fn missing(&self, days: &HashSet<i32>) -> Vec<i32> {
        let known = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let mut missing: Vec<i32> = days
            .iter()
            .copied()
            .filter(|d| !known.contains(d))
            .collect();
        missing.sort_unstable();
        missing
    }

    fn add(&self, days: &[i32]) {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend(days.iter().copied());
    }

    fn forget_before(&self, day: i32) {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|d| *d >= day);
    }
}

/// The partition table of a day.
fn partition_name(day: i32) -> String {
    format!("meter_events_d{day}")
}

/// Raw events removed by a prune.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pruned {
    pub events: i64,
    /// PostgreSQL day partitions dropped.
    pub partitions: usize,
}

impl Store {
    /// Creates the day partitions of `meter_events` that do not exist yet (PostgreSQL; nothing
    /// on SQLite). Servers creating the same day at once are serialized by an advisory lock.
    pub(crate) async fn ensure_meter_partitions(&self, days: &HashSet<i32>) -> StoreResult<()> {
        let Pool::Postgres(pool) = &self.pool else {
            return Ok(());
        };
        let missing = self.partitions.missing(days);
        if missing.is_empty() {
            return Ok(());
        }
        let mut tx = pool.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock(hashtext('spendlens.meter_events.partitions'))")
            .execute(&mut *tx)
            .await?;
        for day in &missing {
            let name = partition_name(*day);
            let exists: Option<String> = sqlx::query_scalar("SELECT to_regclass($1)::text")
                .bind(&name)
                .fetch_one(&mut *tx)
                .await?;
            if exists.is_some() {
                continue;
            }
            // Created apart, then attached: `CREATE TABLE … PARTITION OF` locks the parent
            // ACCESS EXCLUSIVE, so it waited for every open ingest transaction and stopped
            // every new one until it committed (the meter bench's batches queued behind each
            // new day). ATTACH PARTITION takes SHARE UPDATE EXCLUSIVE, which inserts do not
            // wait for; checking the empty table against its range costs nothing.
            for sql in [
                format!(
                    "CREATE TABLE {name} (LIKE meter_events INCLUDING DEFAULTS INCLUDING CONSTRAINTS)"
                ),
                format!(
                    "ALTER TABLE meter_events ATTACH PARTITION {name} FOR VALUES FROM ({day}) TO ({})",
                    day + 1
                ),
            ] {
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .execute(&mut *tx)
                    .await?;
            }
        }
        tx.commit().await?;
        self.partitions.add(&missing);
        Ok(())
    }

    /// Removes raw metered events of days before `before_day` (days since 1970-01-01), in
    /// every organization: retention is a server setting. Rollups and the id ledger stay.
    pub async fn prune_meter_events(&self, before_day: i32) -> StoreResult<Pruned> {
        match &self.pool {
            Pool::Sqlite(pool) => {
                let done = sqlx::query("DELETE FROM meter_events WHERE day < $1")
                    .bind(before_day)
                    .execute(pool)
                    .await?;
                Ok(Pruned {
                    events: i64::try_from(done.rows_affected()).unwrap_or(i64::MAX),
                    partitions: 0,
                })
            }
            Pool::Postgres(pool) => {
                let names: Vec<String> = sqlx::query_scalar(
                    "SELECT c.relname::TEXT FROM pg_inherits i \
                     JOIN pg_class c ON c.oid = i.inhrelid \
                     JOIN pg_class p ON p.oid = i.inhparent \
                     JOIN pg_namespace n ON n.oid = p.relnamespace \
                     WHERE p.relname = 'meter_events' AND n.nspname = current_schema()",
                )
                .fetch_all(pool)
                .await?;
                let mut pruned = Pruned::default();
                for name in names {
                    let Some(day) = name
                        .strip_prefix("meter_events_d")
                        .and_then(|d| d.parse::<i32>().ok())
                    else {
                        continue;
                    };
                    if day >= before_day {
                        continue;
                    }
                    let mut tx = pool.begin().await?;
                    // Serialized with partition creation and with other servers' prunes.
                    sqlx::query(
                        "SELECT pg_advisory_xact_lock(hashtext('spendlens.meter_events.partitions'))",
                    )
                    .execute(&mut *tx)
                    .await?;
                    let exists: Option<String> = sqlx::query_scalar("SELECT to_regclass($1)::TEXT")
                        .bind(&name)
                        .fetch_one(&mut *tx)
                        .await?;
                    if exists.is_none() {
                        continue;
                    }
                    let count: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                        "SELECT COUNT(*) FROM {name}"
                    )))
                    .fetch_one(&mut *tx)
                    .await?;
                    sqlx::query(sqlx::AssertSqlSafe(format!("DROP TABLE {name}")))
                        .execute(&mut *tx)
                        .await?;
                    tx.commit().await?;
                    pruned.events += count;
                    pruned.partitions += 1;
                }
                self.partitions.forget_before(before_day);
                Ok(pruned)
            }
        }
    }

    /// Whether this store partitions `meter_events` (PostgreSQL).
    pub fn meter_events_partitioned(&self) -> bool {
        self.backend() == Backend::Postgres
    }
}
