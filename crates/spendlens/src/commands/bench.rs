//! `spendlens bench`: generates a synthetic organization of a chosen size, writes it through
//! the store's window replacement (as syncs do) with metered calls beside it (through ingest,
//! `bench_coverage`), and times each view query over the last 30 days and the coverage reads —
//! on SQLite, PostgreSQL or both. Figures are measured here, never assumed.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use spendlens_domain::{
    ApiKeyRecord, Category, CostLine, Credential, Currency, Day, DayRange, KeyStatus, Money,
    ProviderKind, Quantity, TokenCounts, Unit, WorkspaceRecord,
};
use spendlens_query::{View, ViewParams, ViewQuery};
use spendlens_store::testing::TestStore;
use spendlens_store::vault::Vault;
use spendlens_store::{NewConnection, Store, WindowWrite};

use super::bench_pages::{AfterSync, PageTiming, measure_pages};
use crate::cli::{BenchArgs, BenchBackend, BenchTarget, Cli};

/// Days in the measured period; the same again before it feeds the trends.
const PERIOD_DAYS: i64 = 30;

/// The synthetic organization's shape for a given number of lines per period.
#[derive(Clone, Copy, Debug)]
pub struct Shape {
    pub workspaces: usize,
    pub keys: usize,
    pub models: usize,
    pub models_per_key: usize,
}

impl Shape {
    /// The shape for `lines` per period over `keys` API keys (by default one key per 30 lines
    /// a day, between 4 and 5,000).
    pub fn with_keys(lines: usize, keys: Option<usize>) -> Shape {
        let per_day = (lines as f64 / PERIOD_DAYS as f64).ceil() as usize;
        let keys = keys.map_or((per_day / 30).clamp(4, 5000), |k| k.max(2));
        let models_per_key = per_day.div_ceil(keys).max(1);
        Shape {
            workspaces: (keys / 20).max(2),
            keys,
            models: (models_per_key * 2).max(4),
            models_per_key,
        }
    }

    pub fn lines_per_day(&self) -> usize {
        self.keys * self.models_per_key
    }
}

pub async fn run(_cli: &Cli, args: &BenchArgs) -> anyhow::Result<ExitCode> {
    if args.target == BenchTarget::Meter {
        return super::bench_meter::run(args).await;
    }
    if args.target == BenchTarget::Budgets {
        return super::bench_budgets::run(args).await;
    }
    let shape = Shape::with_keys(args.lines, args.keys);
    println!(
        "Synthetic organization: {} workspaces, {} API keys, {} models, {} lines per day; {} days measured plus {} days before them ({} lines in the measured period).",
        shape.workspaces,
        shape.keys,
        shape.models,
        shape.lines_per_day(),
        PERIOD_DAYS,
        PERIOD_DAYS,
        shape.lines_per_day() * PERIOD_DAYS as usize
    );
    let mut backends = Vec::new();
    if matches!(args.backend, BenchBackend::Sqlite | BenchBackend::Both) {
        backends.push(("SQLite", TestStore::sqlite().await?));
    }
    if matches!(args.backend, BenchBackend::Postgres | BenchBackend::Both) {
        backends.push(("PostgreSQL", TestStore::postgres(&args.postgres_url).await?));
    }
    for (name, test) in backends {
        let result = measure(&test.store, shape, args.samples).await;
        test.teardown().await;
        let result = result?;
        println!("\n== {name}");
        println!(
            "write: {} lines in {:.2} s = {:.0} lines/s (window replacement with rollups, one day per transaction)",
            result.lines_written,
            result.write_time.as_secs_f64(),
            result.lines_written as f64 / result.write_time.as_secs_f64()
        );
        println!(
            "metered: {} events in {:.2} s = {:.0} events/s (store ingest with rollups, {} per transaction)",
            result.events_written,
            result.ingest_time.as_secs_f64(),
            result.events_written as f64 / result.ingest_time.as_secs_f64().max(1e-9),
            5_000
        );
        for (what, p50, p95) in &result.coverage {
            println!(
                "{what:<74} p50 {:>7.2} ms  p95 {:>7.2} ms  ({} samples, last 30 days)",
                p50.as_secs_f64() * 1000.0,
                p95.as_secs_f64() * 1000.0,
                args.samples
            );
        }
        for t in result.views {
            println!(
                "view {:<10} p50 {:>7.2} ms  p95 {:>7.2} ms  first {:>8.2} ms  ({} samples, last 30 days vs previous 30; first: the read after the bill was written)",
                t.view.as_str(),
                t.p50.as_secs_f64() * 1000.0,
                t.p95.as_secs_f64() * 1000.0,
                t.first.as_secs_f64() * 1000.0,
                args.samples
            );
        }
        for page in result.pages {
            println!(
                "page {:<22} p50 {:>7.2} ms  p95 {:>7.2} ms  first {:>8.2} ms  {:>7.1} KB  (server time through the router, signed in)",
                page.path,
                page.p50.as_secs_f64() * 1000.0,
                page.p95.as_secs_f64() * 1000.0,
                page.first.as_secs_f64() * 1000.0,
                page.bytes as f64 / 1024.0
            );
            if let Some(ready) = page.panel_ready {
                println!(
                    "  its forecast panel ready {:>8.2} ms  (from the first load's start until GET /cost/forecast/panel hands it over; the page waits for it at most {:.1} s)",
                    ready.as_secs_f64() * 1000.0,
                    spendlens_web::WebSettings::default()
                        .forecast_panel_wait
                        .as_secs_f64()
                );
            }
        }
        result.after_sync.print(args.samples);
    }
    Ok(ExitCode::SUCCESS)
}

/// One view's read: the first after the bill was written, and the reads after it.
pub struct ViewTiming {
    pub view: View,
    pub first: Duration,
    pub p50: Duration,
    pub p95: Duration,
}

pub struct BenchResult {
    pub lines_written: usize,
    pub write_time: Duration,
    pub events_written: usize,
    pub ingest_time: Duration,
    /// (read, p50, p95) of each coverage read.
    pub coverage: Vec<(&'static str, Duration, Duration)>,
    pub views: Vec<ViewTiming>,
    pub pages: Vec<PageTiming>,
    /// The Providers page loaded right after each of a run of syncs.
    pub after_sync: AfterSync,
}

/// Fills `store` with the synthetic organization and times the views.
pub async fn measure(store: &Store, shape: Shape, samples: usize) -> anyhow::Result<BenchResult> {
    let now = spendlens_domain::Clock::now(&spendlens_domain::SystemClock);
    let today = Day::of(now);
    let org = store.ensure_default_org(now).await?;
    let vault = Vault::from_key([9; 32]);
    let mut connections = Vec::new();
    for (provider, key) in [
        (
            ProviderKind::OpenAi,
            "sk-admin-benchbenchbenchbenchbenchbench01",
        ),
        (
            ProviderKind::Anthropic,
            "sk-ant-admin01-benchbenchbenchbenchbenchbenchbenchbench",
        ),
    ] {
        let credential = Credential::parse(provider, key)?;
        let row = store
            .create_connection(
                org,
                NewConnection {
                    name: provider.as_str(),
                    credential: &credential,
                    base_url: None,
                    sync_interval_secs: 3600,
                    backfill_days: 90,
                    lookback_days: Some(3),
                },
                &vault,
                now,
            )
            .await?;
        connections.push((provider, row.id));
    }
    let first = today.add_days(1 - 2 * PERIOD_DAYS)?;
    let mut written = 0usize;
    let mut write_time = Duration::ZERO;
    for (index, (provider, connection)) in connections.iter().enumerate() {
        let workspaces = workspaces(shape, index, connections.len());
        let keys = keys(shape, index, connections.len());
        for offset in 0..2 * PERIOD_DAYS {
            let day = first.add_days(offset)?;
            let lines = lines_for(shape, *provider, index, connections.len(), day);
            let started = Instant::now();
            let counts = store
                .replace_window(WindowWrite {
                    invoice_months: None,
                    org,
                    connection: *connection,
                    window: DayRange::single(day),
                    workspaces: &workspaces,
                    api_keys: &keys,
                    api_keys_complete: true,
                    lines: &lines,
                    now,
                })
                .await?;
            write_time += started.elapsed();
            written += counts.lines;
        }
    }
    let providers: Vec<ProviderKind> = connections.iter().map(|c| c.0).collect();
    let (events_written, ingest_time) =
        super::bench_coverage::ingest(store, org, shape, &providers, first, 2 * PERIOD_DAYS)
            .await?;
    let period = DayRange::new(today.add_days(1 - PERIOD_DAYS)?, today)?;
    let coverage =
        super::bench_coverage::time_reads(store, org, shape, &providers, period, samples).await?;
    let reports = spendlens_query::Reports::new(store.clone());
    let mut views = Vec::new();
    for view in View::ALL {
        let query = ViewQuery::parse(
            view,
            &ViewParams {
                period: Some("last-30-days".into()),
                ..ViewParams::default()
            },
            today,
        )?;
        // Through the reports service, as the server reads them (coverage's comparable days
        // kept while current). The first read is the one after a write of the bill (nothing
        // kept yet); the samples are reads while nothing writes it, as between syncs.
        let started = Instant::now();
        reports.report(org, &query).await?;
        let first = started.elapsed();
        let mut timings = Vec::with_capacity(samples);
        for _ in 0..samples.max(1) {
            let started = Instant::now();
            reports.report(org, &query).await?;
            timings.push(started.elapsed());
        }
        timings.sort();
        views.push(ViewTiming {
            view,
            first,
            p50: percentile(&timings, 50),
            p95: percentile(&timings, 95),
        });
    }
    // What a sync does every hour: the last days of one connection's bill written again.
    let (provider, connection) = connections[0];
    let window = DayRange::new(today.add_days(-3)?, today)?;
    let sync_workspaces = workspaces(shape, 0, connections.len());
    let sync_keys = keys(shape, 0, connections.len());
    let sync_lines: Vec<CostLine> = window
        .days()
        .flat_map(|day| lines_for(shape, provider, 0, connections.len(), day))
        .collect();
    let sync = async || {
        store
            .replace_window(WindowWrite {
                invoice_months: None,
                org,
                connection,
                window,
                workspaces: &sync_workspaces,
                api_keys: &sync_keys,
                api_keys_complete: true,
                lines: &sync_lines,
                now,
            })
            .await?;
        Ok::<(), anyhow::Error>(())
    };
    let (pages, after_sync) = measure_pages(store, org, samples, window, sync).await?;
    Ok(BenchResult {
        lines_written: written,
        write_time,
        events_written,
        ingest_time,
        coverage,
        views,
        pages,
        after_sync,
    })
}

pub(crate) fn percentile(sorted: &[Duration], pct: usize) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = (pct * sorted.len()).div_ceil(100).max(1) - 1;
    sorted[rank.min(sorted.len() - 1)]
}

fn share(total: usize, index: usize, parts: usize) -> std::ops::Range<usize> {
    let per = total.div_ceil(parts);
    (index * per).min(total)..((index + 1) * per).min(total)
}

fn workspaces(shape: Shape, index: usize, parts: usize) -> Vec<WorkspaceRecord> {
    share(shape.workspaces, index, parts)
        .map(|w| WorkspaceRecord {
            provider_id: format!("ws_{w}"),
            name: format!("Workspace {w}"),
            archived: false,
            created_at: None,
        })
        .collect()
}

fn keys(shape: Shape, index: usize, parts: usize) -> Vec<ApiKeyRecord> {
    let workspaces = share(shape.workspaces, index, parts);
    let span = workspaces.len().max(1);
    share(shape.keys, index, parts)
        .map(|k| ApiKeyRecord {
            provider_id: format!("key_{k}"),
            name: Some(format!("service-{k}")),
            hint: Some(format!("sk-…{k:04}")),
            workspace_id: Some(format!("ws_{}", workspaces.start + k % span)),
            status: KeyStatus::Active,
            created_at: None,
            last_used_at: None,
        })
        .collect()
}

/// A deterministic day of lines: every key uses `models_per_key` models.
pub(crate) fn lines_for(
    shape: Shape,
    provider: ProviderKind,
    index: usize,
    parts: usize,
    day: Day,
) -> Vec<CostLine> {
    let workspaces = share(shape.workspaces, index, parts);
    let span = workspaces.len().max(1);
    let mut lines = Vec::with_capacity(shape.lines_per_day() / parts + 1);
    let day_number = i64::from(day.number());
    for k in share(shape.keys, index, parts) {
        for m in 0..shape.models_per_key {
            let model = (k * 7 + m) % shape.models;
            let seed = (k as i64 * 31 + model as i64 * 17 + day_number * 13).rem_euclid(997);
            let input = 10_000 + seed * 1_000;
            let output = 1_000 + seed * 100;
            lines.push(CostLine {
                day,
                workspace_id: Some(format!("ws_{}", workspaces.start + k % span)),
                api_key_id: Some(format!("key_{k}")),
                model: format!("{}-model-{model}", provider.as_str()),
                category: Category::Text,
                unit: Unit::tokens(),
                detail: String::new(),
                tokens: TokenCounts {
                    input,
                    output,
                    cache_read: input / 4,
                    cache_write: 0,
                },
                requests: (provider == ProviderKind::OpenAi).then_some(seed + 1),
                quantity: Quantity::ZERO,
                cost: Money::from_nanos(input * 2_500 + output * 10_000),
                credits: Money::ZERO,
                currency: Currency::usd(),
                estimated: false,
                allocated: true,
                billing: None,
                unpriced: false,
            });
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shape_reaches_the_asked_size() {
        for lines in [1_000, 100_000, 1_000_000] {
            let shape = Shape::with_keys(lines, None);
            let per_period = shape.lines_per_day() * PERIOD_DAYS as usize;
            assert!(
                per_period >= lines && per_period < lines + lines / 10 + 200,
                "{lines}: {shape:?}"
            );
        }
    }

    #[test]
    fn keys_can_be_chosen() {
        let shape = Shape::with_keys(1_000_000, Some(20_000));
        assert_eq!(shape.keys, 20_000);
        assert_eq!(shape.workspaces, 1_000);
        assert!(shape.lines_per_day() * PERIOD_DAYS as usize >= 1_000_000);
    }

    #[tokio::test]
    async fn a_small_bench_runs_on_sqlite() {
        let test = TestStore::sqlite().await.unwrap();
        let result = measure(&test.store, Shape::with_keys(2_000, None), 2)
            .await
            .unwrap();
        assert!(result.lines_written >= 4_000);
        // One call per billed line of every key but those ending in 0: here key_0 of four.
        assert_eq!(result.events_written * 4, result.lines_written * 3);
        assert_eq!(result.coverage.len(), 4);
        assert_eq!(result.views.len(), 4);
        assert_eq!(result.pages.len(), 7);
        assert!(result.pages.iter().all(|p| p.bytes > 1000));
        assert_eq!(result.after_sync.loads.len(), 2);
        test.teardown().await;
    }
}
