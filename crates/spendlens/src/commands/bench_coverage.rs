//! The coverage part of `spendlens bench`: metered calls beside the synthetic bill (one call
//! per billed cost line of nine keys in ten, at 90 % of its tokens and cost, through the store's
//! ingest path with its rollups), then the coverage reads timed — the Providers view's
//! (providers, per key and per workspace), the same with each provider's day-by-day series
//! (the Providers page's chart), and `GET /api/v1/coverage`'s equivalent.

use std::time::{Duration, Instant};

use spendlens_domain::{Day, DayRange, Money, ProviderKind};
use spendlens_meter::{
    Attribution, CallStatus, CostSource, EventCost, EventSource, MeteredEvent, PricedEvent,
    TokenBuckets, TokenFlags,
};
use spendlens_query::coverage::{
    CoverageMemory, CoverageQuery, coverage_kept, for_providers_view, for_view,
};
use spendlens_store::{OrgId, Store};

use super::bench::{Shape, lines_for, percentile};

/// Events stored per transaction.
const BATCH: usize = 5_000;

/// Stores the metered calls for `days` days from `first`; returns how many and how long.
pub async fn ingest(
    store: &Store,
    org: OrgId,
    shape: Shape,
    providers: &[ProviderKind],
    first: Day,
    days: i64,
) -> anyhow::Result<(usize, Duration)> {
    let now = spendlens_domain::Clock::now(&spendlens_domain::SystemClock);
    let mut batch: Vec<PricedEvent> = Vec::with_capacity(BATCH);
    let (mut stored, mut elapsed) = (0usize, Duration::ZERO);
    for (index, provider) in providers.iter().enumerate() {
        for offset in 0..days {
            let day = first.add_days(offset)?;
            let time = day.start();
            for (n, line) in lines_for(shape, *provider, index, providers.len(), day)
                .iter()
                .enumerate()
            {
                let Some(key) = &line.api_key_id else {
                    continue;
                };
                // One key in ten is never metered.
                if key.ends_with('0') {
                    continue;
                }
                let cost = line.cost.scaled(9, 10).unwrap_or(line.cost);
                batch.push(reported_call(
                    format!("{}-{day}-{n}", provider.as_str()),
                    time,
                    *provider,
                    line,
                    (
                        (line.tokens.input * 9 / 10).unsigned_abs(),
                        (line.tokens.output * 9 / 10).unsigned_abs(),
                    ),
                    cost,
                ));
                if batch.len() == BATCH {
                    elapsed += flush(store, org, now, &mut batch, &mut stored).await?;
                }
            }
        }
    }
    elapsed += flush(store, org, now, &mut batch, &mut stored).await?;
    Ok((stored, elapsed))
}

async fn flush(
    store: &Store,
    org: OrgId,
    now: time::OffsetDateTime,
    batch: &mut Vec<PricedEvent>,
    stored: &mut usize,
) -> anyhow::Result<Duration> {
    if batch.is_empty() {
        return Ok(Duration::ZERO);
    }
    let started = Instant::now();
    let outcome = store.ingest_events(org, None, now, batch).await?;
    let elapsed = started.elapsed();
    *stored += outcome.inserted.len();
    batch.clear();
    Ok(elapsed)
}

/// (what, p50, p95) of each coverage read over `period`: computed afresh (what the first read
/// after a sync, a late call or a restate costs), then as a server reads it — the comparable
/// days kept, the lag days read fresh — with a call metered today stored before every read.
pub async fn time_reads(
    store: &Store,
    org: OrgId,
    shape: Shape,
    providers: &[ProviderKind],
    period: DayRange,
    samples: usize,
) -> anyhow::Result<Vec<(&'static str, Duration, Duration)>> {
    let memory = CoverageMemory::default();
    let mut out = Vec::new();
    let mut calls = 0usize;
    for what in [
        COMPUTED,
        "coverage kept, a call today before each read: Providers view",
        "coverage kept, a call today before each read: Providers page (with days)",
        "coverage kept, a call today before each read: GET /api/v1/coverage",
    ] {
        let mut timings = Vec::with_capacity(samples);
        let mut metered_before = Money::ZERO;
        for round in 0..=samples.max(1) {
            if what != COMPUTED {
                calls += 1;
                call_today(store, org, shape, providers, period.to(), calls).await?;
            }
            let started = Instant::now();
            let report = match what {
                COMPUTED => for_view(store, &CoverageMemory::default(), org, period, &[]).await?,
                "coverage kept, a call today before each read: Providers view" => {
                    for_view(store, &memory, org, period, &[]).await?
                }
                "coverage kept, a call today before each read: Providers page (with days)" => {
                    for_providers_view(store, &memory, org, period, &[]).await?
                }
                _ => Some(
                    coverage_kept(
                        store,
                        &memory,
                        org,
                        &CoverageQuery {
                            period,
                            providers: Vec::new(),
                            daily: true,
                        },
                    )
                    .await?,
                ),
            };
            let elapsed = started.elapsed();
            let metered = report.map_or(Money::ZERO, |r| r.metered_cost);
            anyhow::ensure!(metered > Money::ZERO, "{what}: no metered spend");
            // Each call metered today shows in the next read (never a stale figure).
            anyhow::ensure!(
                what == COMPUTED || round == 0 || metered > metered_before,
                "{what}: the call metered today is missing ({metered} after {metered_before})"
            );
            metered_before = metered;
            // The first round warms up, as a running server would be.
            if round > 0 {
                timings.push(elapsed);
            }
        }
        timings.sort();
        out.push((what, percentile(&timings, 50), percentile(&timings, 95)));
    }
    Ok(out)
}

const COMPUTED: &str = "coverage computed (first read after a change): Providers view";

/// Stores one call metered today (one of the synthetic bill's key and model, $0.01).
async fn call_today(
    store: &Store,
    org: OrgId,
    shape: Shape,
    providers: &[ProviderKind],
    today: Day,
    n: usize,
) -> anyhow::Result<()> {
    let now = spendlens_domain::Clock::now(&spendlens_domain::SystemClock);
    let provider = providers[0];
    let line = lines_for(shape, provider, 0, providers.len(), today)
        .into_iter()
        .find(|l| l.api_key_id.as_ref().is_some_and(|k| !k.ends_with('0')))
        .ok_or_else(|| anyhow::anyhow!("no metered key in the synthetic bill"))?;
    let cost = Money::from_nanos(10_000_000);
    let mut batch = vec![reported_call(
        format!("bench-today-{n}"),
        now,
        provider,
        &line,
        (1_000, 100),
        cost,
    )];
    let mut stored = 0;
    flush(store, org, now, &mut batch, &mut stored).await?;
    anyhow::ensure!(stored == 1, "the call metered today was not stored");
    Ok(())
}

/// A call of the synthetic bill's key and model reporting its cost, with (input, output) tokens.
fn reported_call(
    id: String,
    time: time::OffsetDateTime,
    provider: ProviderKind,
    line: &spendlens_domain::CostLine,
    (input, output): (u64, u64),
    cost: Money,
) -> PricedEvent {
    PricedEvent {
        event: MeteredEvent {
            id,
            time,
            provider: provider.as_str().to_owned(),
            model: line.model.clone(),
            tokens: Some(TokenBuckets {
                input_uncached: input,
                cache_read: 0,
                cache_write: 0,
                output_visible: output,
                output_reasoning: 0,
            }),
            token_flags: TokenFlags::default(),
            quantity: None,
            reported_cost: Some(cost),
            latency_ms: Some(800),
            status: CallStatus::Ok,
            api_key: line.api_key_id.clone(),
            workspace: line.workspace_id.clone(),
            attribution: Attribution::default(),
            tags: Default::default(),
            source: EventSource::Native,
        },
        cost: EventCost {
            cost: Some(cost),
            source: CostSource::Reported,
            catalog_cost: None,
            price_entry: None,
            unpriced_reason: None,
            catalog_split: None,
        },
    }
}
