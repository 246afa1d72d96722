//! `spendlens bench budgets`: N caps on a scratch SQLite or PostgreSQL database, the real
//! server (this binary, `serve`) on loopback, and `POST /api/v1/budgets/check` driven by C
//! concurrent callers (closed loop: each sends its next check when the last one answers; or
//! open loop with `--rate`: the callers together send R checks/s on a fixed schedule, latency
//! counted from the planned send), half of the checks reserving; p50/p99 latency and checks/s
//! per caller count. The ledger's own check (in process, no HTTP, no authentication) is timed
//! over the same caps, so the report says where the time goes. Figures are measured here, never
//! assumed.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use serde_json::json;
use spendlens_domain::Money;
use spendlens_domain::budget::ledger::{Ledger, Reserve};
use spendlens_domain::budget::{
    BudgetPeriod, CapScope, CapSpec, DEFAULT_SOFT_PCT, Provenance, UnpricedPolicy,
};
use spendlens_store::testing::{TestStore, tempfile_dir};
use spendlens_store::{OrgId, Store};

use super::bench::percentile;
use super::bench_meter::{database_url, now_of, start_server};
use crate::cli::{BenchArgs, BenchBackend};

const MODELS: [&str; 4] = [
    "gpt-4o-mini",
    "gpt-4o",
    "claude-sonnet-4-5",
    "claude-haiku-4-5",
];

/// The caps: one for the organization, then per customer, per customer × model, per model and
/// per provider, DAILY to MONTHLY, limits high enough that checks pass (the work is the same
/// either way).
fn caps(count: usize) -> Vec<CapSpec> {
    (0..count)
        .map(|i| {
            let customer = format!("cus_{}", i % 500);
            let model = MODELS[i % 4].to_owned();
            let scope = match i % 10 {
                0 if i == 0 => CapScope::default(),
                0..=5 => CapScope {
                    customer: Some(customer),
                    ..CapScope::default()
                },
                6..=8 => CapScope {
                    customer: Some(customer),
                    model: Some(model),
                    ..CapScope::default()
                },
                _ => CapScope {
                    model: Some(model),
                    ..CapScope::default()
                },
            };
            CapSpec {
                name: format!("bench cap {i}"),
                scope,
                period: BudgetPeriod::ALL[i % 3],
                limit: Money::from_nanos(1_000_000 * 1_000_000_000),
                soft_pct: DEFAULT_SOFT_PCT,
                enabled: true,
                provenance: Provenance::Platform,
                unpriced: UnpricedPolicy::FailOpen,
            }
        })
        .collect()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

async fn add_caps(store: &Store, org: OrgId, count: usize) -> anyhow::Result<()> {
    let now = now_of();
    for spec in caps(count) {
        store.create_budget_cap(org, &spec, "bench", now).await?;
    }
    Ok(())
}

/// The ledger alone: `samples` checks (half reserving) against a snapshot of the caps.
async fn ledger_alone(
    store: &Store,
    org: OrgId,
    samples: usize,
) -> anyhow::Result<(Duration, Duration)> {
    let now = now_of();
    let read = spendlens_query::budget::read(store, org, now, 0).await?;
    let mut ledger = Ledger::default();
    ledger.install(read.snapshot);
    let mut timings = Vec::with_capacity(samples);
    for n in 0..samples {
        let call = CapScope::call(
            Some("openai"),
            None,
            None,
            Some(&format!("cus_{}", n % 600)),
            Some(MODELS[n % 4]),
        );
        let reserve = n.is_multiple_of(2).then(|| Reserve {
            id: format!("r{n}"),
            expires: now + time::Duration::seconds(60),
        });
        let started = Instant::now();
        let outcome = ledger.check(&call, Some(Money::from_nanos(1_000_000)), reserve, now);
        timings.push(started.elapsed());
        anyhow::ensure!(
            outcome.is_some_and(|o| o.decision.allowed),
            "a bench check was denied"
        );
    }
    timings.sort_unstable();
    Ok((percentile(&timings, 50), percentile(&timings, 99)))
}

pub async fn run(args: &BenchArgs) -> anyhow::Result<ExitCode> {
    let callers: Vec<usize> = args
        .callers
        .split(',')
        .map(|c| c.trim().parse::<usize>())
        .collect::<Result<_, _>>()
        .map_err(|_| {
            anyhow::anyhow!("--callers is a comma-separated list of numbers, such as 10,100,1000")
        })?;
    let seconds = args.seconds.clamp(1, 120);
    println!(
        "Budget checks: {} caps, callers {:?}, {seconds} s per level, half the checks reserving; real server on loopback ({}).",
        args.caps,
        callers,
        if cfg!(debug_assertions) {
            "DEBUG build: figures are not representative, use --release"
        } else {
            "release build"
        }
    );
    let mut backends = Vec::new();
    if matches!(args.backend, BenchBackend::Sqlite | BenchBackend::Both) {
        backends.push(("SQLite", TestStore::sqlite().await?));
    }
    if matches!(args.backend, BenchBackend::Postgres | BenchBackend::Both) {
        backends.push(("PostgreSQL", TestStore::postgres(&args.postgres_url).await?));
    }
    for (name, test) in backends {
        let result = measure(&test, args.caps, &callers, seconds, args.rate).await;
        test.teardown().await;
        println!("\n== {name}");
        for line in result? {
            println!("{line}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn measure(
    test: &TestStore,
    count: usize,
    callers: &[usize],
    seconds: u64,
    rate: Option<u32>,
) -> anyhow::Result<Vec<String>> {
    let store = &test.store;
    let org = store.ensure_default_org(now_of()).await?;
    let started = Instant::now();
    add_caps(store, org, count).await?;
    let mut out = vec![format!(
        "{count} caps created in {:.1} s (each versioned and audited)",
        started.elapsed().as_secs_f64()
    )];
    let (p50, p99) = ledger_alone(store, org, 100_000).await?;
    out.push(format!(
        "ledger check alone (in process, {count} caps, 100,000 checks): p50 {:.3} ms, p99 {:.3} ms",
        ms(p50),
        ms(p99)
    ));
    let key = store
        .create_ingest_key(
            org,
            "bench",
            spendlens_store::Actor {
                name: "bench",
                at: now_of(),
            },
        )
        .await?
        .secret;
    let data_dir = tempfile_dir::TempDir::new()?;
    // Room for every caller's own connection (a gateway fleet keeps one each).
    let most = callers.iter().copied().max().unwrap_or(1);
    let cap = (most + 64).max(512).to_string();
    let (_server, base) = start_server(
        &database_url(store.location()),
        data_dir.path(),
        &["--max-connections", &cap],
    )?;
    let url = format!("{base}/api/v1/budgets/check");
    for &n in callers {
        let n = n.max(1);
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .pool_max_idle_per_host(n)
            .build()?;
        // Warm up: the first check reads the caps and their spend.
        client
            .post(&url)
            .bearer_auth(&key)
            .json(&json!({"customer": "cus_0", "estimated_cost": "0"}))
            .send()
            .await?;
        // Open loop: caller c sends at began + offset_c + k·interval, whatever the answers
        // do; latency is counted from the planned send time, so a stalled server is not
        // hidden by callers that stop sending while they wait.
        let interval = rate.map(|r| Duration::from_secs_f64(n as f64 / f64::from(r.max(1))));
        let began = Instant::now();
        let deadline = began + Duration::from_secs(seconds);
        let mut tasks = Vec::new();
        for c in 0..n {
            let (client, url, key) = (client.clone(), url.clone(), key.clone());
            // Open loop: caller c's offset (spread evenly over one interval) and the interval.
            let schedule = interval.map(|every| (every.mul_f64(c as f64 / n as f64), every));
            tasks.push(tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut i = 0usize;
                loop {
                    let planned = match schedule {
                        Some((offset, every)) => {
                            let at = began + offset + every.mul_f64(i as f64);
                            tokio::time::sleep_until(at.into()).await;
                            at
                        }
                        None => Instant::now(),
                    };
                    if planned >= deadline {
                        break;
                    }
                    i += 1;
                    let mut body = json!({"provider": "openai", "customer": format!("cus_{}", (c * 7 + i) % 600),
                                          "model": MODELS[i % 4], "estimated_cost": "0.001"});
                    if i.is_multiple_of(2) {
                        body["reservation_id"] = json!(format!("bench-{n}-{c}-{i}"));
                    }
                    let response = client.post(&url).bearer_auth(&key).json(&body).send().await?;
                    let status = response.status();
                    let _ = response.bytes().await?;
                    latencies.push(planned.elapsed());
                    anyhow::ensure!(status == 200, "check answered {status}");
                }
                anyhow::Ok(latencies)
            }));
        }
        let mut latencies = Vec::new();
        for task in tasks {
            latencies.extend(task.await??);
        }
        let elapsed = began.elapsed();
        latencies.sort_unstable();
        let mode = match rate {
            Some(r) => format!("open loop, {r} checks/s offered"),
            None => "closed loop".to_owned(),
        };
        out.push(format!(
            "{n:>5} callers ({mode}): {} checks in {:.1} s = {:.0} checks/s; latency p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms (target p99 <= 2 ms at 1,000 caps and 1,000 callers)",
            latencies.len(),
            elapsed.as_secs_f64(),
            latencies.len() as f64 / elapsed.as_secs_f64(),
            ms(percentile(&latencies, 50)),
            ms(percentile(&latencies, 99)),
            ms(latencies.last().copied().unwrap_or_default())
        ));
    }
    Ok(out)
}
