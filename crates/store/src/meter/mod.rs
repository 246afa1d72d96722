//! Metered events: idempotent ingest, their rollups, and raw-event retention.
//!
//! One transaction per batch: the batch's event ids go into the ledger `meter_event_ids` with
//! insert-or-ignore (its primary key is (org, event id)), and only the ids the database reports
//! as *inserted* are written to `meter_events` and added to the rollups (`meter_hour`,
//! `meter_day`). Two servers sending the same event at once both try the insert; the unique
//! index makes one wait for the other's commit and then skip it, so an event is counted once
//! whatever the retries, restarts or number of servers. The caller acknowledges only after the
//! commit.
//!
//! On PostgreSQL `meter_events` is partitioned by the event's UTC day; partitions are created
//! on demand before the batch's transaction ([`partitions`]). The ledger is not partitioned
//! (a unique index over a partitioned table must include the partition key, which would let
//! the same id on two days through).

mod attribution;
mod partitions;
pub mod restate;
pub mod rollup;
mod turn;
pub mod usage;

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use spendlens_meter::PricedEvent;
use sqlx::{PgConnection, SqliteConnection};
use time::OffsetDateTime;

use crate::bulk::{BulkInsert, Value, bind_rows_for};
use crate::{OrgId, Store, StoreError, StoreResult, millis, with_pool};

pub use attribution::{Attribution, AttributionTotals, MeterFacets, MeterFilter};
pub use partitions::{PartitionCache, Pruned};
pub use rollup::{METER_COVERAGE, METER_DAY, METER_HOUR};
pub use turn::IngestTurn;

/// What happened to each event of a batch, by its index in the batch.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IngestOutcome {
    /// Stored and counted now.
    pub inserted: Vec<usize>,
    /// Already stored (an earlier batch, or earlier in this one) with the same content.
    pub duplicate: Vec<usize>,
    /// Already stored with *different* content under the same id: not counted; the first
    /// event stands.
    pub conflict: Vec<usize>,
}

/// An event's UTC day number.
pub(crate) fn day_of(time: OffsetDateTime) -> i32 {
    i32::try_from(time.unix_timestamp().div_euclid(86_400)).unwrap_or(i32::MAX)
}

const EVENT_COLUMNS: [&str; 37] = [
    "org_id",
    "event_id",
    "day",
    "time_ms",
    "received_ms",
    "ingest_key_id",
    "source",
    "provider",
    "model",
    "input_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "output_tokens",
    "reasoning_tokens",
    "token_flags",
    "quantity_micros",
    "unit",
    "reported_cost_nanos",
    "catalog_cost_nanos",
    "cost_nanos",
    "cost_source",
    "price_entry",
    "unpriced_reason",
    "latency_ms",
    "status",
    "api_key",
    "workspace",
    "customer",
    "subscriber",
    "product",
    "agent",
    "workflow",
    "trace_id",
    "span_id",
    "tags",
    "catalog_input_cost_nanos",
    "catalog_output_cost_nanos",
];

fn event_row(org: OrgId, key: Option<i64>, received: i64, p: &PricedEvent) -> Vec<Value> {
    let e = &p.event;
    let tokens = |f: fn(&spendlens_meter::TokenBuckets) -> u64| {
        Value::OptInt(e.tokens.map(|t| i64::try_from(f(&t)).unwrap_or(i64::MAX)))
    };
    let flags = e.token_flags;
    let flag_text = flags.any().then(|| {
        [
            (flags.input_read_as_disjoint, "input_read_as_disjoint"),
            (
                flags.reasoning_read_as_separate,
                "reasoning_read_as_separate",
            ),
            (flags.total_mismatch, "total_mismatch"),
        ]
        .iter()
        .filter(|(on, _)| *on)
        .map(|(_, name)| *name)
        .collect::<Vec<_>>()
        .join(",")
    });
    let a = &e.attribution;
    vec![
        Value::Int(org.0),
        Value::Text(e.id.clone()),
        Value::Int(i64::from(day_of(e.time))),
        Value::Int(millis(e.time)),
        Value::Int(received),
        Value::OptInt(key),
        Value::Text(e.source.as_str().to_owned()),
        Value::Text(e.provider.clone()),
        Value::Text(e.model.clone()),
        tokens(|t| t.input_uncached),
        tokens(|t| t.cache_read),
        tokens(|t| t.cache_write),
        tokens(|t| t.output_visible),
        tokens(|t| t.output_reasoning),
        Value::OptText(flag_text),
        Value::OptInt(e.quantity.as_ref().map(|(q, _)| q.micros())),
        Value::OptText(e.quantity.as_ref().map(|(_, unit)| unit.clone())),
        Value::OptInt(e.reported_cost.map(|c| c.nanos())),
        Value::OptInt(p.cost.catalog_cost.map(|c| c.nanos())),
        Value::OptInt(p.cost.cost.map(|c| c.nanos())),
        Value::Text(p.cost.source.as_str().to_owned()),
        Value::OptText(p.cost.price_entry.clone()),
        Value::OptText(p.cost.unpriced_reason.clone()),
        Value::OptInt(e.latency_ms),
        Value::Text(e.status.as_str().to_owned()),
        Value::OptText(e.api_key.clone()),
        Value::OptText(e.workspace.clone()),
        Value::OptText(a.customer.clone()),
        Value::OptText(a.subscriber.clone()),
        Value::OptText(a.product.clone()),
        Value::OptText(a.agent.clone()),
        Value::OptText(a.workflow.clone()),
        Value::OptText(a.trace_id.clone()),
        Value::OptText(a.span_id.clone()),
        Value::OptText(
            (!e.tags.is_empty()).then(|| serde_json::to_string(&e.tags).unwrap_or_default()),
        ),
        Value::OptInt(p.cost.catalog_split.map(|s| s.input.nanos())),
        Value::OptInt(p.cost.catalog_split.map(|s| s.output.nanos())),
    ]
}

/// Which ids of a batch the ledger took as new.
enum NewIds {
    /// Every one (nearly always: retries and replays are rare).
    All,
    Only(HashSet<String>),
}

impl NewIds {
    fn contains(&self, id: &str) -> bool {
        match self {
            NewIds::All => true,
            NewIds::Only(ids) => ids.contains(id),
        }
    }
}

/// Inserts ledger rows `(event_id, day, hash)` with insert-or-ignore and returns the ids that
/// were new. Rows are inserted in id order, so concurrent batches wait on each other in one
/// order and never deadlock.
trait InsertIds {
    fn insert_new_ids(
        &mut self,
        org: OrgId,
        rows: &[(&str, i32, &str)],
    ) -> impl Future<Output = StoreResult<NewIds>> + Send;
}

/// SQLite binds every cell; 4 per row.
const SQLITE_ID_ROWS: usize = 8_000;

/// The ledger's insert of `chunk`, bound; `returning` asks for the ids that were new.
fn sqlite_ledger_insert(
    org: OrgId,
    chunk: &[(&str, i32, &str)],
    returning: bool,
) -> sqlx::query::Query<'static, sqlx::Sqlite, sqlx::sqlite::SqliteArguments> {
    let sql = format!(
        "INSERT INTO meter_event_ids (org_id, event_id, day, payload_hash) VALUES {} \
         ON CONFLICT (org_id, event_id) DO NOTHING{}",
        vec!["(?, ?, ?, ?)"; chunk.len()].join(", "),
        if returning { " RETURNING event_id" } else { "" }
    );
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
    for (id, day, hash) in chunk {
        query = query
            .bind(org.0)
            .bind(id.to_string())
            .bind(*day)
            .bind(hash.to_string());
    }
    query
}

impl InsertIds for SqliteConnection {
    /// First without `RETURNING`, which would send each new id back across sqlx's worker
    /// thread one row at a time (it was a third of the ledger's time): when the count of rows
    /// inserted is the count sent, every id was new. Otherwise the insert is undone (a
    /// savepoint; the transaction holds SQLite's one write lock, so nothing else got in
    /// between) and done again asking which ids were new.
    async fn insert_new_ids(
        &mut self,
        org: OrgId,
        rows: &[(&str, i32, &str)],
    ) -> StoreResult<NewIds> {
        sqlx::query("SAVEPOINT meter_ledger")
            .execute(&mut *self)
            .await?;
        let mut all_new = true;
        for chunk in rows.chunks(SQLITE_ID_ROWS) {
            let inserted = sqlite_ledger_insert(org, chunk, false)
                .execute(&mut *self)
                .await?;
            if inserted.rows_affected() != chunk.len() as u64 {
                all_new = false;
                break;
            }
        }
        if all_new {
            sqlx::query("RELEASE meter_ledger")
                .execute(&mut *self)
                .await?;
            return Ok(NewIds::All);
        }
        sqlx::query("ROLLBACK TO meter_ledger")
            .execute(&mut *self)
            .await?;
        sqlx::query("RELEASE meter_ledger")
            .execute(&mut *self)
            .await?;
        let mut new = HashSet::with_capacity(rows.len());
        for chunk in rows.chunks(SQLITE_ID_ROWS) {
            for row in sqlite_ledger_insert(org, chunk, true)
                .fetch_all(&mut *self)
                .await?
            {
                new.insert(sqlx::Row::try_get::<String, _>(&row, 0)?);
            }
        }
        Ok(NewIds::Only(new))
    }
}

impl InsertIds for PgConnection {
    async fn insert_new_ids(
        &mut self,
        org: OrgId,
        rows: &[(&str, i32, &str)],
    ) -> StoreResult<NewIds> {
        let ids: Vec<&str> = rows.iter().map(|r| r.0).collect();
        let days: Vec<i32> = rows.iter().map(|r| r.1).collect();
        let hashes: Vec<&str> = rows.iter().map(|r| r.2).collect();
        let new: Vec<String> = sqlx::query_scalar(
            "INSERT INTO meter_event_ids (org_id, event_id, day, payload_hash) \
             SELECT $1, i, d, h FROM UNNEST($2::text[], $3::int[], $4::text[]) AS u(i, d, h) \
             ON CONFLICT (org_id, event_id) DO NOTHING RETURNING event_id",
        )
        .bind(org.0)
        .bind(ids)
        .bind(days)
        .bind(hashes)
        .fetch_all(&mut *self)
        .await?;
        Ok(if new.len() == rows.len() {
            NewIds::All
        } else {
            NewIds::Only(new.into_iter().collect())
        })
    }
}

/// Whether a PostgreSQL error is worth retrying the whole batch for (a deadlock or a
/// serialization failure: another server's batch won a race).
fn retryable(err: &StoreError) -> bool {
    match err {
        StoreError::Database(sqlx::Error::Database(db)) => {
            matches!(db.code().as_deref(), Some("40P01" | "40001"))
        }
        _ => false,
    }
}

impl Store {
    /// Stores a batch of priced events for `org`, sent with ingest key `key` (`None`: an API
    /// token), counting each event id once ever. Returns only after the commit.
    pub async fn ingest_events(
        &self,
        org: OrgId,
        key: Option<i64>,
        received: OffsetDateTime,
        events: &[PricedEvent],
    ) -> StoreResult<IngestOutcome> {
        if events.is_empty() {
            return Ok(IngestOutcome::default());
        }
        // The first occurrence of an id in the batch is the candidate; later ones are
        // duplicates (or conflicts) of it.
        let hashes: Vec<String> = events.iter().map(|p| p.event.payload_hash()).collect();
        let mut first: HashMap<&str, usize> = HashMap::with_capacity(events.len());
        let mut outcome = IngestOutcome::default();
        let mut candidates = Vec::with_capacity(events.len());
        for (i, p) in events.iter().enumerate() {
            match first.get(p.event.id.as_str()) {
                Some(&j) if hashes[j] == hashes[i] => outcome.duplicate.push(i),
                Some(_) => outcome.conflict.push(i),
                None => {
                    first.insert(&p.event.id, i);
                    candidates.push(i);
                }
            }
        }
        candidates.sort_by(|&a, &b| events[a].event.id.cmp(&events[b].event.id));
        let days: HashSet<i32> = candidates
            .iter()
            .map(|&i| day_of(events[i].event.time))
            .collect();
        self.ensure_meter_partitions(&days).await?;
        let mut attempt = 0;
        let (inserted, stored) = loop {
            attempt += 1;
            match self
                .ingest_once(org, key, millis(received), events, &hashes, &candidates)
                .await
            {
                Err(err) if attempt < 5 && retryable(&err) => {
                    tracing::warn!(attempt, error = %err, "meter ingest: retrying the batch");
                    continue;
                }
                other => break other?,
            }
        };
        if let crate::Pool::Sqlite(pool) = &self.pool {
            self.ingest_turn.checkpoint_after(pool);
        }
        for i in candidates {
            if inserted.contains(&i) {
                outcome.inserted.push(i);
            } else if stored.get(events[i].event.id.as_str()) == Some(&hashes[i]) {
                outcome.duplicate.push(i);
            } else {
                outcome.conflict.push(i);
            }
        }
        outcome.inserted.sort_unstable();
        outcome.duplicate.sort_unstable();
        outcome.conflict.sort_unstable();
        Ok(outcome)
    }

    /// One attempt: returns the indexes inserted and, for the others, the stored hashes.
    ///
    /// What can be prepared without the database (each candidate's row, the batch's rollup
    /// facts) is prepared before the transaction, for all candidates: nearly always every one
    /// is new, and the transaction is the part batches cannot run side by side (SQLite has one
    /// writer). When some were stored already, rows and facts are made again for the rest.
    async fn ingest_once(
        &self,
        org: OrgId,
        key: Option<i64>,
        received: i64,
        events: &[PricedEvent],
        hashes: &[String],
        candidates: &[usize],
    ) -> StoreResult<(HashSet<usize>, HashMap<String, String>)> {
        let started = Instant::now();
        let ids: Vec<(&str, i32, &str)> = candidates
            .iter()
            .map(|&i| {
                (
                    events[i].event.id.as_str(),
                    day_of(events[i].event.time),
                    hashes[i].as_str(),
                )
            })
            .collect();
        let mut order: Vec<usize> = candidates.to_vec();
        order.sort_unstable();
        let rows_of = |kept: &[usize]| -> Vec<Vec<Value>> {
            kept.iter()
                .map(|&i| event_row(org, key, received, &events[i]))
                .collect()
        };
        let all_facts = rollup::facts(order.iter().map(|&i| &events[i]));
        with_pool!(self, pool => {
            let all_rows = bind_rows_for(pool, "meter_events", &EVENT_COLUMNS, rows_of(&order))?;
            let prepared = Instant::now();
            let _turn = self.ingest_turn.take(self.backend()).await;
            let turn = Instant::now();
            let mut tx = pool.begin().await?;
            let began = Instant::now();
            let new = tx.insert_new_ids(org, &ids).await?;
            let ledger = Instant::now();
            let inserted: HashSet<usize> = candidates
                .iter()
                .copied()
                .filter(|&i| new.contains(&events[i].event.id))
                .collect();
            let mut stored = HashMap::new();
            let old: Vec<&str> = candidates
                .iter()
                .filter(|i| !inserted.contains(i))
                .map(|&i| events[i].event.id.as_str())
                .collect();
            for chunk in old.chunks(500) {
                let sql = format!(
                    "SELECT event_id, payload_hash FROM meter_event_ids WHERE org_id = $1 AND event_id IN ({})",
                    (0..chunk.len()).map(|i| format!("${}", i + 2)).collect::<Vec<_>>().join(", ")
                );
                let mut query = sqlx::query_as::<_, (String, String)>(sqlx::AssertSqlSafe(sql)).bind(org.0);
                for id in chunk {
                    query = query.bind(*id);
                }
                stored.extend(query.fetch_all(&mut *tx).await?);
            }
            let (rows, facts) = if old.is_empty() {
                (all_rows, all_facts)
            } else {
                let kept: Vec<usize> = order.iter().copied().filter(|i| inserted.contains(i)).collect();
                (
                    bind_rows_for(pool, "meter_events", &EVENT_COLUMNS, rows_of(&kept))?,
                    rollup::facts(kept.iter().map(|&i| &events[i])),
                )
            };
            tx.insert_bound(rows).await?;
            let written = Instant::now();
            facts.write(&mut *tx, org).await?;
            let rolled = Instant::now();
            tx.commit().await?;
            let ms = |from: Instant, to: Instant| to.duration_since(from).as_secs_f64() * 1e3;
            tracing::debug!(
                events = candidates.len(),
                prepare_ms = ms(started, prepared),
                turn_wait_ms = ms(prepared, turn),
                begin_ms = ms(turn, began),
                ledger_ms = ms(began, ledger),
                events_ms = ms(ledger, written),
                rollups_ms = ms(written, rolled),
                commit_ms = ms(rolled, Instant::now()),
                "meter batch stored"
            );
            Ok((inserted, stored))
        })
    }

    /// How many raw events the organization has stored (tests and the CLI).
    pub async fn meter_event_count(&self, org: OrgId) -> StoreResult<i64> {
        with_pool!(self, pool => {
            Ok(sqlx::query_scalar("SELECT COUNT(*) FROM meter_events WHERE org_id = $1")
                .bind(org.0)
                .fetch_one(pool)
                .await?)
        })
    }

    /// How many of `ids` the organization's ledger holds (tests: acknowledged events are there).
    pub async fn meter_events_known(&self, org: OrgId, ids: &[String]) -> StoreResult<i64> {
        let mut known = 0;
        for chunk in ids.chunks(500) {
            let sql = format!(
                "SELECT COUNT(*) FROM meter_event_ids WHERE org_id = $1 AND event_id IN ({})",
                (0..chunk.len())
                    .map(|i| format!("${}", i + 2))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            let count: i64 = with_pool!(self, pool => {
                let mut query = sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).bind(org.0);
                for id in chunk {
                    query = query.bind(id);
                }
                query.fetch_one(pool).await?
            });
            known += count;
        }
        Ok(known)
    }

    /// How many event ids the organization's ledger holds (every event ever accepted).
    pub async fn meter_event_id_count(&self, org: OrgId) -> StoreResult<i64> {
        with_pool!(self, pool => {
            Ok(sqlx::query_scalar("SELECT COUNT(*) FROM meter_event_ids WHERE org_id = $1")
                .bind(org.0)
                .fetch_one(pool)
                .await?)
        })
    }
}
