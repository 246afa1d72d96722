//! The sync-run log: one row per sync of a connection, with its window, outcome, counts,
//! HTTP calls, retries and error text. This is the "Sync Logs" screen.

use serde::Serialize;
use spendlens_domain::{DayRange, ProviderKind};
use time::OffsetDateTime;

use crate::connections::day_from_number;
use crate::{
    ConnectionId, OrgId, RowExt, Store, StoreError, StoreResult, SyncRunId, WriteCounts,
    from_millis, millis, with_pool,
};

pub use spendlens_domain::{SyncRunStatus, SyncTrigger};

/// How a run ended.
#[derive(Clone, Debug)]
pub struct SyncRunOutcome {
    pub status: SyncRunStatus,
    pub counts: WriteCounts,
    pub http_calls: u64,
    pub retries: u64,
    pub error: Option<String>,
    pub notes: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct SyncRunRow {
    pub id: SyncRunId,
    pub connection_id: ConnectionId,
    pub connection_name: String,
    pub provider: ProviderKind,
    pub trigger: String,
    pub window: DayRange,
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub finished_at: Option<OffsetDateTime>,
    pub status: SyncRunStatus,
    pub workspaces: i64,
    pub api_keys: i64,
    pub lines: i64,
    pub http_calls: i64,
    pub retries: i64,
    pub error: Option<String>,
    pub notes: Option<String>,
}

impl SyncRunRow {
    pub fn duration_ms(&self) -> Option<i64> {
        self.finished_at
            .map(|end| (end - self.started_at).whole_milliseconds() as i64)
    }
}

#[derive(Clone, Debug, Default)]
pub struct SyncRunFilter {
    pub connection: Option<ConnectionId>,
    pub status: Option<SyncRunStatus>,
    pub limit: Option<i64>,
}

impl Store {
    pub async fn start_sync_run(
        &self,
        org: OrgId,
        connection: ConnectionId,
        trigger: SyncTrigger,
        window: DayRange,
        now: OffsetDateTime,
    ) -> StoreResult<SyncRunId> {
        let id: i64 = with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            // The caller holds the connection's lease: a run still marked running was left by
            // a process that stopped before it finished (its lease ran out). Close it.
            sqlx::query(ABANDONED_RUN_UPDATE)
                .bind(millis(now))
                .bind(connection.0)
                .execute(&mut *tx)
                .await?;
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO sync_runs (org_id, connection_id, trigger_kind, window_from, window_to, started_at, status) \
                 VALUES ($1, $2, $3, $4, $5, $6, 'running') RETURNING id",
            )
            .bind(org.0)
            .bind(connection.0)
            .bind(trigger.as_str())
            .bind(i64::from(window.from().number()))
            .bind(i64::from(window.to().number()))
            .bind(millis(now))
            .fetch_one(&mut *tx)
            .await?;
            tx.commit().await?;
            id
        });
        Ok(SyncRunId(id))
    }

    /// Who holds a connection's sync lease: the run on record as running, and when the lease
    /// runs out (the connection is free again then if its holder stopped).
    pub async fn sync_lease_holder(
        &self,
        connection: ConnectionId,
    ) -> StoreResult<(Option<SyncRunId>, Option<OffsetDateTime>)> {
        let (run, until): (Option<i64>, Option<i64>) = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT (SELECT MAX(id) FROM sync_runs WHERE connection_id = $1 AND status = 'running'), \
                 (SELECT lease_until FROM connections WHERE id = $1)",
            )
            .bind(connection.0)
            .fetch_one(pool)
            .await?
        });
        Ok((run.map(SyncRunId), until.map(from_millis)))
    }

    pub async fn finish_sync_run(
        &self,
        run: SyncRunId,
        outcome: &SyncRunOutcome,
        now: OffsetDateTime,
    ) -> StoreResult<()> {
        let to_i64 = |v: usize| i64::try_from(v).unwrap_or(i64::MAX);
        with_pool!(self, pool => {
            sqlx::query(
                "UPDATE sync_runs SET finished_at = $1, status = $2, workspaces = $3, api_keys = $4, lines = $5, \
                 http_calls = $6, retries = $7, error = $8, notes = $9 WHERE id = $10",
            )
            .bind(millis(now))
            .bind(outcome.status.as_str())
            .bind(to_i64(outcome.counts.workspaces))
            .bind(to_i64(outcome.counts.api_keys))
            .bind(to_i64(outcome.counts.lines))
            .bind(i64::try_from(outcome.http_calls).unwrap_or(i64::MAX))
            .bind(i64::try_from(outcome.retries).unwrap_or(i64::MAX))
            .bind(outcome.error.as_deref())
            .bind(outcome.notes.as_deref())
            .bind(run.0)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// Marks runs left `running` by a process that stopped mid-sync (its lease expired) as
    /// failed. Their data was never committed.
    pub async fn fail_abandoned_runs(&self, now: OffsetDateTime) -> StoreResult<u64> {
        let count = with_pool!(self, pool => {
            sqlx::query(
                "UPDATE sync_runs SET status = 'failed', finished_at = $1, \
                 error = 'The sync was interrupted (the process stopped before it finished). Nothing from this run was stored; the next sync fetches the window again.' \
                 WHERE status = 'running' AND connection_id IN \
                 (SELECT id FROM connections WHERE lease_until IS NULL OR lease_until < $1)",
            )
            .bind(millis(now))
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(count)
    }

    pub async fn list_sync_runs(
        &self,
        org: OrgId,
        filter: &SyncRunFilter,
    ) -> StoreResult<Vec<SyncRunRow>> {
        let limit = filter.limit.unwrap_or(200).clamp(1, 10_000);
        with_pool!(self, pool => {
            let rows = sqlx::query(
                "SELECT r.id, r.connection_id, c.name AS connection_name, c.provider, r.trigger_kind, r.window_from, \
                 r.window_to, r.started_at, r.finished_at, r.status, r.workspaces, r.api_keys, r.lines, \
                 r.http_calls, r.retries, r.error, r.notes \
                 FROM sync_runs r JOIN connections c ON c.id = r.connection_id \
                 WHERE r.org_id = $1 AND ($2 IS NULL OR r.connection_id = $2) AND ($3 IS NULL OR r.status = $3) \
                 ORDER BY r.started_at DESC, r.id DESC LIMIT $4",
            )
            .bind(org.0)
            .bind(filter.connection.map(|c| c.0))
            .bind(filter.status.map(|s| s.as_str()))
            .bind(limit)
            .fetch_all(pool)
            .await?;
            rows.iter()
                .map(|row| {
                    let provider = row.text("provider")?;
                    Ok(SyncRunRow {
                        id: SyncRunId(row.int("id")?),
                        connection_id: ConnectionId(row.int("connection_id")?),
                        connection_name: row.text("connection_name")?,
                        provider: provider
                            .parse()
                            .map_err(|_| StoreError::Corrupt(format!("provider \"{provider}\"")))?,
                        trigger: row.text("trigger_kind")?,
                        window: DayRange::new(
                            day_from_number(row.int("window_from")?)?,
                            day_from_number(row.int("window_to")?)?,
                        )
                        .map_err(|e| StoreError::Corrupt(e.to_string()))?,
                        started_at: from_millis(row.int("started_at")?),
                        finished_at: row.opt_int("finished_at")?.map(from_millis),
                        status: row.text("status")?.parse()?,
                        workspaces: row.int("workspaces")?,
                        api_keys: row.int("api_keys")?,
                        lines: row.int("lines")?,
                        http_calls: row.int("http_calls")?,
                        retries: row.int("retries")?,
                        error: row.opt_text("error")?,
                        notes: row.opt_text("notes")?,
                    })
                })
                .collect()
        })
    }
}

/// Closes the runs of connection `$2` left running by a stopped process, at `$1`.
const ABANDONED_RUN_UPDATE: &str = "UPDATE sync_runs SET status = 'failed', finished_at = $1, \
     error = 'The sync was interrupted (the process stopped before it finished). Nothing from this run was stored; the next sync fetches the window again.' \
     WHERE status = 'running' AND connection_id = $2";
