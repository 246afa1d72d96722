//! Restating stored metered events: read them back a page at a time (as priced events, so the
//! pricing engine can price them again), then write new costs and adjust the `meter_hour` and
//! `meter_day` rollups (and `meter.coverage`) by the exact differences through the rollup engine, in one transaction
//! per page.
//!
//! An event is changed only if its stored cost is still the one the caller read: a second
//! restate running at the same time (or a rerun) finds nothing left to change, so no
//! difference is ever added twice. Ingest only inserts events and restate only updates them,
//! and rollup deltas add up in any order, so both can run at once.

use spendlens_domain::{Money, Quantity};
use spendlens_meter::{
    Attribution, CallStatus, CostSource, CostSplit, EventCost, EventSource, MeteredEvent,
    PricedEvent, TokenBuckets, TokenFlags,
};
use time::OffsetDateTime;

use super::day_of;
use super::rollup::{MeterFacts, extra};
use crate::rollups::Metrics;
use crate::{OrgId, RowExt, Store, StoreError, StoreResult, with_pool};

/// Where the next page starts: the last event of the previous page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RestateCursor {
    pub time_ms: i64,
    pub event_id: String,
}

/// A stored event's new cost.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CostChange {
    /// The event as stored, with the cost it has now.
    pub stored: PricedEvent,
    pub new: EventCost,
}

const COLUMNS: &str = "event_id, time_ms, source, provider, model, input_tokens, \
     cache_read_tokens, cache_write_tokens, output_tokens, reasoning_tokens, quantity_micros, \
     unit, reported_cost_nanos, catalog_cost_nanos, cost_nanos, cost_source, price_entry, \
     unpriced_reason, latency_ms, status, api_key, workspace, customer, subscriber, product, \
     agent, workflow, trace_id, span_id, tags, catalog_input_cost_nanos, \
     catalog_output_cost_nanos";

const UPDATE: &str = "UPDATE meter_events SET cost_nanos = $1, catalog_cost_nanos = $2, \
     cost_source = $3, price_entry = $4, unpriced_reason = $5, catalog_input_cost_nanos = $6, \
     catalog_output_cost_nanos = $7 \
     WHERE org_id = $8 AND day = $9 AND event_id = $10 AND cost_source = $11 \
     AND cost_nanos IS NOT DISTINCT FROM $12 AND catalog_cost_nanos IS NOT DISTINCT FROM $13 \
     AND price_entry IS NOT DISTINCT FROM $14";

fn money(nanos: Option<i64>) -> Option<Money> {
    nanos.map(Money::from_nanos)
}

fn corrupt(what: &str, value: &str) -> StoreError {
    StoreError::Corrupt(format!("meter event {what} \"{value}\""))
}

/// A stored row back as the priced event ingest wrote (token flags are not needed to price).
fn priced_of(row: &impl RowExt) -> StoreResult<PricedEvent> {
    let int = |c: &str| row.opt_int(c);
    let text = |c: &str| row.opt_text(c);
    let need = |c: &str| -> StoreResult<String> {
        text(c)?.ok_or_else(|| StoreError::Corrupt(format!("meter event without {c}")))
    };
    let time_ms = int("time_ms")?.unwrap_or_default();
    let time = OffsetDateTime::from_unix_timestamp_nanos(i128::from(time_ms) * 1_000_000)
        .map_err(|_| corrupt("time", &time_ms.to_string()))?;
    let count = |c: &str| -> StoreResult<Option<u64>> {
        Ok(int(c)?.map(|n| u64::try_from(n).unwrap_or_default()))
    };
    let tokens = match count("input_tokens")? {
        Some(input_uncached) => Some(TokenBuckets {
            input_uncached,
            cache_read: count("cache_read_tokens")?.unwrap_or_default(),
            cache_write: count("cache_write_tokens")?.unwrap_or_default(),
            output_visible: count("output_tokens")?.unwrap_or_default(),
            output_reasoning: count("reasoning_tokens")?.unwrap_or_default(),
        }),
        None => None,
    };
    let quantity = match (int("quantity_micros")?, text("unit")?) {
        (Some(q), Some(unit)) => Some((Quantity::from_micros(q), unit)),
        _ => None,
    };
    let status = need("status")?;
    let source = need("source")?;
    let cost_source = need("cost_source")?;
    let tags = match text("tags")? {
        Some(json) => serde_json::from_str(&json).map_err(|_| corrupt("tags", &json))?,
        None => Default::default(),
    };
    let event = MeteredEvent {
        id: need("event_id")?,
        time,
        provider: need("provider")?,
        model: need("model")?,
        tokens,
        token_flags: TokenFlags::default(),
        quantity,
        reported_cost: money(int("reported_cost_nanos")?),
        latency_ms: int("latency_ms")?,
        status: CallStatus::parse(&status).ok_or_else(|| corrupt("status", &status))?,
        api_key: text("api_key")?,
        workspace: text("workspace")?,
        attribution: Attribution {
            customer: text("customer")?,
            subscriber: text("subscriber")?,
            product: text("product")?,
            agent: text("agent")?,
            workflow: text("workflow")?,
            trace_id: text("trace_id")?,
            span_id: text("span_id")?,
        },
        tags,
        source: match source.as_str() {
            "otlp" => EventSource::Otlp,
            _ => EventSource::Native,
        },
    };
    let catalog_cost = money(int("catalog_cost_nanos")?);
    let catalog_split = match (
        catalog_cost,
        money(int("catalog_input_cost_nanos")?),
        money(int("catalog_output_cost_nanos")?),
    ) {
        (Some(total), Some(input), Some(output)) => Some(CostSplit {
            input,
            output,
            other: total - input - output,
        }),
        _ => None,
    };
    let cost = EventCost {
        cost: money(int("cost_nanos")?),
        source: CostSource::parse(&cost_source)
            .ok_or_else(|| corrupt("cost source", &cost_source))?,
        catalog_cost,
        price_entry: text("price_entry")?,
        unpriced_reason: text("unpriced_reason")?,
        catalog_split,
    };
    Ok(PricedEvent { event, cost })
}

/// What a change adds to its series: the cost's difference and the unpriced count's.
fn delta(change: &CostChange) -> Metrics {
    let mut m = Metrics::default();
    let old = &change.stored.cost;
    m.totals.cost = change.new.cost.unwrap_or_default() - old.cost.unwrap_or_default();
    m.extra[extra::UNPRICED] = i64::from(change.new.cost.is_none()) - i64::from(old.cost.is_none());
    m.extra[extra::REPORTED_COST] = i64::from(change.new.source == CostSource::Reported)
        - i64::from(old.source == CostSource::Reported);
    m
}

/// Facts of the applied changes for each metered kind.
fn facts<'a>(changes: impl Iterator<Item = &'a CostChange>) -> MeterFacts<'a> {
    let mut out = MeterFacts::default();
    for change in changes {
        out.add(&change.stored, delta(change));
    }
    out
}

impl Store {
    /// Up to `limit` stored events of UTC days `first_day..=last_day` (day numbers since
    /// 1970-01-01), in (time, id) order, after `after`.
    pub async fn meter_events_to_restate(
        &self,
        org: OrgId,
        first_day: i64,
        last_day: i64,
        after: Option<&RestateCursor>,
        limit: u32,
    ) -> StoreResult<Vec<PricedEvent>> {
        let from_ms = first_day.saturating_mul(86_400_000);
        let to_ms = last_day.saturating_add(1).saturating_mul(86_400_000);
        let (after_ms, after_id) = match after {
            Some(c) => (c.time_ms, c.event_id.clone()),
            None => (from_ms - 1, String::new()),
        };
        let sql = format!(
            "SELECT {COLUMNS} FROM meter_events WHERE org_id = $1 AND day >= $2 AND day <= $3 \
             AND time_ms >= $4 AND time_ms < $5 AND (time_ms > $6 OR (time_ms = $6 AND event_id > $7)) \
             ORDER BY time_ms, event_id LIMIT {limit}"
        );
        let day = |d: i64| i32::try_from(d).unwrap_or(if d < 0 { i32::MIN } else { i32::MAX });
        with_pool!(self, pool => {
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(org.0)
                .bind(day(first_day))
                .bind(day(last_day))
                .bind(from_ms)
                .bind(to_ms)
                .bind(after_ms)
                .bind(after_id)
                .fetch_all(pool)
                .await?;
            rows.iter().map(priced_of).collect()
        })
    }

    /// Writes the new costs of `changes` and adds their exact differences to `meter_hour` and
    /// `meter_day`, in one transaction. An event whose stored cost is no longer the one in its
    /// change (restated meanwhile) is left alone. Returns how many events changed.
    pub async fn restate_meter_events(
        &self,
        org: OrgId,
        changes: &[CostChange],
    ) -> StoreResult<usize> {
        if changes.is_empty() {
            return Ok(0);
        }
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let mut applied = Vec::with_capacity(changes.len());
            for change in changes {
                let old = &change.stored.cost;
                let new = &change.new;
                let e = &change.stored.event;
                let done = sqlx::query(UPDATE)
                    .bind(new.cost.map(Money::nanos))
                    .bind(new.catalog_cost.map(Money::nanos))
                    .bind(new.source.as_str())
                    .bind(new.price_entry.clone())
                    .bind(new.unpriced_reason.clone())
                    .bind(new.catalog_split.map(|s| s.input.nanos()))
                    .bind(new.catalog_split.map(|s| s.output.nanos()))
                    .bind(org.0)
                    .bind(day_of(e.time))
                    .bind(e.id.as_str())
                    .bind(old.source.as_str())
                    .bind(old.cost.map(Money::nanos))
                    .bind(old.catalog_cost.map(Money::nanos))
                    .bind(old.price_entry.clone())
                    .execute(&mut *tx)
                    .await?;
                if done.rows_affected() == 1 {
                    applied.push(change);
                }
            }
            facts(applied.iter().copied())
                .write(&mut *tx, org)
                .await?;
            if !applied.is_empty() {
                // Readers that keep what they computed from metered days (coverage) see a
                // restated cost as a move of the revision, like a change of the bill.
                sqlx::query(crate::rollups::BUMP_REVISION)
                    .bind(org.0)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            Ok(applied.len())
        })
    }
}
