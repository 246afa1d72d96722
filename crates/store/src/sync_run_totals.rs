//! Every organization's sync runs counted by provider and outcome, with their durations in
//! fixed buckets: what `/metrics` reports (read from the log itself, so runs from the CLI, other
//! servers and before a restart all count).

use spendlens_domain::ProviderKind;

use crate::{RowExt, Store, StoreError, StoreResult, with_pool};

/// Upper bounds, in seconds, of the duration buckets (the last bucket is everything longer).
pub const SYNC_DURATION_BUCKETS: [i64; 7] = [1, 5, 15, 60, 300, 900, 3600];

/// The finished runs of one provider with one outcome.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyncRunTotals {
    pub provider: ProviderKind,
    /// `ok`, `failed`, `partial`… as the sync log says; `running` rows are counted apart.
    pub status: String,
    pub runs: u64,
    /// The runs' durations added up, in milliseconds.
    pub duration_ms: u64,
    /// How many runs took at most each of [`SYNC_DURATION_BUCKETS`] (not cumulative: each
    /// run is in the first bucket that holds it; runs longer than the last are in none).
    pub buckets: [u64; SYNC_DURATION_BUCKETS.len()],
}

/// Runs still in progress, per provider.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyncRunsRunning {
    pub provider: ProviderKind,
    pub runs: u64,
}

impl Store {
    /// Finished runs by provider and status, and runs in progress by provider.
    pub async fn sync_run_totals(&self) -> StoreResult<(Vec<SyncRunTotals>, Vec<SyncRunsRunning>)> {
        let duration = "(r.finished_at - r.started_at)";
        let mut bucket_columns = String::new();
        let mut lower = i64::MIN;
        for (i, upper) in SYNC_DURATION_BUCKETS.iter().enumerate() {
            let upper_ms = upper * 1000;
            let low = if lower == i64::MIN {
                String::new()
            } else {
                format!("{duration} > {lower} AND ")
            };
            bucket_columns.push_str(&format!(
                ", CAST(SUM(CASE WHEN {low}{duration} <= {upper_ms} THEN 1 ELSE 0 END) AS BIGINT) AS b{i}"
            ));
            lower = upper_ms;
        }
        let totals_sql = format!(
            "SELECT c.provider, r.status, CAST(COUNT(*) AS BIGINT) AS runs, \
             CAST(COALESCE(SUM({duration}), 0) AS BIGINT) AS duration_ms{bucket_columns} \
             FROM sync_runs r JOIN connections c ON c.id = r.connection_id \
             WHERE r.finished_at IS NOT NULL GROUP BY c.provider, r.status ORDER BY c.provider, r.status"
        );
        let running_sql = "SELECT c.provider, CAST(COUNT(*) AS BIGINT) AS runs \
             FROM sync_runs r JOIN connections c ON c.id = r.connection_id \
             WHERE r.finished_at IS NULL GROUP BY c.provider ORDER BY c.provider";
        let count = |v: i64| u64::try_from(v.max(0)).unwrap_or(0);
        let provider_of = |text: String| {
            text.parse::<ProviderKind>()
                .map_err(|_| StoreError::Corrupt(format!("provider \"{text}\"")))
        };
        with_pool!(self, pool => {
            // Built from constants only (bucket bounds), never from input.
            let rows = sqlx::query(sqlx::AssertSqlSafe(totals_sql.clone()))
                .fetch_all(pool)
                .await?;
            let mut totals = Vec::with_capacity(rows.len());
            for row in &rows {
                let mut buckets = [0u64; SYNC_DURATION_BUCKETS.len()];
                for (i, bucket) in buckets.iter_mut().enumerate() {
                    *bucket = count(row.int(&format!("b{i}"))?);
                }
                totals.push(SyncRunTotals {
                    provider: provider_of(row.text("provider")?)?,
                    status: row.text("status")?,
                    runs: count(row.int("runs")?),
                    duration_ms: count(row.int("duration_ms")?),
                    buckets,
                });
            }
            let rows = sqlx::query(running_sql).fetch_all(pool).await?;
            let mut running = Vec::with_capacity(rows.len());
            for row in &rows {
                running.push(SyncRunsRunning {
                    provider: provider_of(row.text("provider")?)?,
                    runs: count(row.int("runs")?),
                });
            }
            Ok((totals, running))
        })
    }
}
