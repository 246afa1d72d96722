//! `spendlens bench meter`: starts the real server (this binary, `serve`, as a child process)
//! on a scratch SQLite or PostgreSQL database, drives `POST /api/v1/meter/events` from
//! concurrent clients on loopback with pre-built batches, and reports sustained events/s,
//! p50/p99 acknowledgement latency and the server's resident memory, then times the Customers
//! view (`GET /api/v1/reports/customers`, last 30 days, through the same server) over the events
//! loaded. Events are spread over the last 60 days, oldest first, so the daily rollup is as deep
//! as real traffic makes it. Figures are measured, not assumed; every acknowledged event is
//! checked in the database afterwards, and the view's calls against them.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use serde_json::{Value, json};
use spendlens_store::testing::{TestStore, tempfile_dir};
use spendlens_store::{BucketRange, DatabaseLocation, METER_DAY, SeriesFilter};

use crate::cli::{BenchArgs, BenchBackend};

/// What one run measured.
pub struct MeterResult {
    pub events: usize,
    pub elapsed: Duration,
    pub p50: Duration,
    pub p99: Duration,
    pub rss_kib: u64,
    pub peak_rss_kib: u64,
    /// The Customers view: (p50, p95, samples, rows).
    pub customers: (Duration, Duration, usize, usize),
    /// The token-usage summary with no filter: (p50, p95, requests it counts).
    pub summary: (Duration, Duration, u64),
    /// With alert rules: how long after the last acknowledged batch the first firing was
    /// recorded (the last batches carry today's spend).
    pub first_firing: Option<Duration>,
}

/// Days the events are spread over, ending a minute ago.
const SPAN_DAYS: i64 = 60;

pub async fn run(args: &BenchArgs) -> anyhow::Result<ExitCode> {
    let batch = args.batch.clamp(1, 10_000);
    let batches = args.events.div_ceil(batch).max(1);
    println!(
        "Metering ingest: {} events in {batches} batches of {batch} over the last {SPAN_DAYS} days, {} customers, {} concurrent clients, real server on loopback ({}).",
        batches * batch,
        args.customers.max(1),
        args.clients,
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
        let result = measure(&test, batches, batch, args, 0).await;
        test.teardown().await;
        let r = result?;
        if args.alert_rules > 0 {
            let fresh = match name {
                "SQLite" => TestStore::sqlite().await?,
                _ => TestStore::postgres(&args.postgres_url).await?,
            };
            let with_rules = measure(&fresh, batches, batch, args, args.alert_rules).await;
            let firings = match &with_rules {
                Ok(_) => {
                    let org = fresh.store.ensure_default_org(now_of()).await?;
                    fresh.store.list_alert_firings(org, 10_000).await?.len()
                }
                Err(_) => 0,
            };
            fresh.teardown().await;
            let w = with_rules?;
            let base = r.events as f64 / r.elapsed.as_secs_f64();
            let rate = w.events as f64 / w.elapsed.as_secs_f64();
            println!("\n== {name}: alert rules");
            println!(
                "without rules: {base:.0} events/s; with {} alert rules active: {rate:.0} events/s ({:.0}% of the rate without rules; target >= 80%), ack p50 {:.1} ms, p99 {:.1} ms; {firings} firings recorded, the first {} after the last batch was acknowledged",
                args.alert_rules,
                rate / base * 100.0,
                w.p50.as_secs_f64() * 1000.0,
                w.p99.as_secs_f64() * 1000.0,
                w.first_firing.map_or_else(
                    || "none within 15 s".to_owned(),
                    |d| format!("{:.2} s", d.as_secs_f64())
                )
            );
        }
        println!("\n== {name}");
        println!(
            "sustained: {:.0} events/s ({} events acknowledged in {:.2} s)",
            r.events as f64 / r.elapsed.as_secs_f64(),
            r.events,
            r.elapsed.as_secs_f64()
        );
        println!(
            "ack latency per batch: p50 {:.1} ms, p99 {:.1} ms",
            r.p50.as_secs_f64() * 1000.0,
            r.p99.as_secs_f64() * 1000.0
        );
        println!(
            "server RSS: {:.1} MiB at the end, {:.1} MiB peak",
            r.rss_kib as f64 / 1024.0,
            r.peak_rss_kib as f64 / 1024.0
        );
        let (p50, p95, samples, rows) = r.customers;
        println!(
            "Customers view (GET /api/v1/reports/customers?period=last-30-days, {rows} rows, {} events stored): p50 {:.1} ms, p95 {:.1} ms over {samples} requests",
            r.events,
            p50.as_secs_f64() * 1000.0,
            p95.as_secs_f64() * 1000.0
        );
        let (p50, p95, requests) = r.summary;
        println!(
            "token-usage summary (GET /api/v1/token-usage/summary, {requests} requests in its default range): p50 {:.1} ms, p95 {:.1} ms over {samples} requests",
            p50.as_secs_f64() * 1000.0,
            p95.as_secs_f64() * 1000.0
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn database_url(location: &DatabaseLocation) -> String {
    match location {
        DatabaseLocation::Sqlite { path } => format!("sqlite://{}", path.display()),
        DatabaseLocation::Postgres { url } => url.clone(),
    }
}

/// The server, killed when dropped.
pub(crate) struct Server(pub(crate) Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `spendlens serve` on a free port of loopback, on `url`; returns it and its base URL.
pub(crate) fn start_server(
    url: &str,
    data_dir: &std::path::Path,
    extra: &[&str],
) -> anyhow::Result<(Server, String)> {
    let mut child = Command::new(std::env::current_exe()?)
        .env_remove("SPENDLENS_DATABASE_URL")
        .args(["--database-url", url, "--data-dir"])
        .arg(data_dir)
        .args(["serve", "--listen", "127.0.0.1:0", "--no-scheduler"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .context("starting the server")?;
    let stdout = child.stdout.take().context("the server's output")?;
    let server = Server(child);
    let mut reader = BufReader::new(stdout);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    std::thread::spawn(move || {
        let mut rest = String::new();
        while reader.read_line(&mut rest).is_ok_and(|n| n > 0) {
            rest.clear();
        }
    });
    let base = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .with_context(|| format!("the server did not say where it listens: {line:?}"))?
        .to_owned();
    Ok((server, base))
}

fn rss(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// One batch body: events of one instant, a realistic attribution spread (`customers`
/// customers, each with its product and agent; four models; two provider keys per model; 2%
/// failed calls).
fn body(number: usize, size: usize, time: &str, customers: usize) -> String {
    const MODELS: [(&str, &str); 4] = [
        ("openai", "gpt-4o-mini"),
        ("openai", "gpt-4o"),
        ("anthropic", "claude-sonnet-4-5"),
        ("anthropic", "claude-haiku-4-5"),
    ];
    let events: Vec<Value> = (0..size)
        .map(|i| {
            let n = number * size + i;
            let (provider, model) = MODELS[n % 4];
            let customer = (n / 7) % customers.max(1);
            json!({
                "id": format!("bench-{number}-{i}"),
                "time": time,
                "provider": provider,
                "model": model,
                "tokens": {"input": 800 + n % 1500, "cache_read": n % 3 * 100, "output": 120 + n % 400},
                "latency_ms": 300 + n % 900,
                "status": if n.is_multiple_of(50) { "error" } else { "ok" },
                "api_key": format!("sk-…{provider}{}", n % 2),
                "customer": format!("cus_{customer}"),
                "product": format!("product-{}", customer % 5),
                "agent": format!("agent-{}", customer % 3),
            })
        })
        .collect();
    Value::Array(events).to_string()
}

/// Times `samples` requests of `path` (after one warm-up); returns p50, p95 and the last body.
async fn time_requests(
    client: &reqwest::Client,
    url: &str,
    token: &str,
    samples: usize,
) -> anyhow::Result<(Duration, Duration, Value)> {
    let mut timings = Vec::with_capacity(samples);
    let mut last = Value::Null;
    for round in 0..=samples.max(1) {
        let started = Instant::now();
        let response = client.get(url).bearer_auth(token).send().await?;
        let status = response.status();
        let body: Value = response.json().await?;
        let took = started.elapsed();
        anyhow::ensure!(status == 200, "{url}: {status} {body}");
        if round > 0 {
            timings.push(took);
        }
        last = body;
    }
    timings.sort_unstable();
    let at = |pct: usize| timings[(timings.len() * pct / 100).min(timings.len() - 1)];
    Ok((at(50), at(95), last))
}

pub(crate) fn now_of() -> time::OffsetDateTime {
    spendlens_domain::Clock::now(&spendlens_domain::SystemClock)
}

async fn measure(
    test: &TestStore,
    batches: usize,
    batch: usize,
    args: &BenchArgs,
    alert_rules: usize,
) -> anyhow::Result<MeterResult> {
    let clients = args.clients;
    let url = database_url(test.store.location());
    let data_dir = tempfile_dir::TempDir::new()?;
    let now = spendlens_domain::Clock::now(&spendlens_domain::SystemClock);
    let org = test.store.ensure_default_org(now).await?;
    let key = test
        .store
        .create_ingest_key(
            org,
            "bench",
            spendlens_store::Actor {
                name: "bench",
                at: now,
            },
        )
        .await?
        .secret;
    super::bench_alerts::add_rules(&test.store, org, alert_rules, now).await?;
    let (server, base) = start_server(&url, data_dir.path(), &[])?;
    let pid = server.0.id();
    // Batch n happens at an even step from 60 days ago to a minute ago, oldest first.
    let last = now - time::Duration::minutes(1);
    let span = time::Duration::days(SPAN_DAYS);
    let time_of = |n: usize| -> anyhow::Result<String> {
        let step = span / i32::try_from(batches.max(1)).unwrap_or(i32::MAX);
        let back = span - step * i32::try_from(n).unwrap_or(i32::MAX);
        Ok((last - back).format(&time::format_description::well_known::Rfc3339)?)
    };
    // Built before the clock starts: the client's JSON encoding is not the server's time.
    let bodies: Arc<Vec<String>> = Arc::new(
        (0..batches)
            .map(|n| Ok(body(n, batch, &time_of(n)?, args.customers)))
            .collect::<anyhow::Result<_>>()?,
    );
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(120))
        .pool_max_idle_per_host(clients)
        .build()?;
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..clients.max(1) {
        let (client, base, key, bodies, next) = (
            client.clone(),
            base.clone(),
            key.clone(),
            bodies.clone(),
            next.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut accepted = 0usize;
            loop {
                let n = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let Some(body) = bodies.get(n) else {
                    break;
                };
                let sent = Instant::now();
                let response = client
                    .post(format!("{base}/api/v1/meter/events"))
                    .bearer_auth(&key)
                    .header("content-type", "application/json")
                    .body(body.clone())
                    .send()
                    .await?;
                let status = response.status();
                let answer: Value = response.json().await?;
                latencies.push(sent.elapsed());
                anyhow::ensure!(status == 200, "batch {n}: {status} {answer}");
                accepted += answer["accepted"].as_u64().unwrap_or(0) as usize;
            }
            anyhow::Ok((latencies, accepted))
        }));
    }
    let mut latencies = Vec::new();
    let mut events = 0;
    for task in tasks {
        let (l, a) = task.await??;
        latencies.extend(l);
        events += a;
    }
    let elapsed = started.elapsed();
    let mut first_firing = None;
    if alert_rules > 0 {
        let waited = Instant::now();
        while waited.elapsed() < Duration::from_secs(15) {
            if !test.store.list_alert_firings(org, 1).await?.is_empty() {
                first_firing = Some(waited.elapsed());
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    let (rss_kib, peak_rss_kib) = rss(pid);
    // The Customers view over what was loaded, through the same server.
    let token = test.store.create_api_token(org, "bench", now).await?.secret;
    let url = format!("{base}/api/v1/reports/customers?period=last-30-days");
    let (p50, p95, report) = time_requests(&client, &url, &token, args.samples).await?;
    let view_rows = report["rows"].as_array().map_or(0, Vec::len);
    let (summary_p50, summary_p95, summary) = time_requests(
        &client,
        &format!("{base}/api/v1/token-usage/summary"),
        &token,
        args.samples,
    )
    .await?;
    let (_, _, everything) = time_requests(
        &client,
        &format!("{base}/api/v1/reports/customers?period=last-90-days"),
        &token,
        1,
    )
    .await?;
    drop(server);
    anyhow::ensure!(
        everything["total_calls"].as_u64() == Some(events as u64),
        "the Customers view over 90 days counts {} calls of {events} acknowledged events",
        everything["total_calls"]
    );
    anyhow::ensure!(
        events == batches * batch,
        "{events} of {} events were acknowledged",
        batches * batch
    );
    let stored = test.store.meter_event_count(org).await?;
    let rows = test
        .store
        .read_period(
            org,
            &METER_DAY,
            &SeriesFilter::default(),
            BucketRange {
                first: 0,
                last: 10_000_000,
            },
            None,
        )
        .await?;
    let rolled: i64 = rows.iter().map(|r| r.current.totals.requests).sum();
    anyhow::ensure!(
        stored == events as i64 && rolled == events as i64,
        "stored {stored} and rolled up {rolled} of {events} acknowledged events"
    );
    latencies.sort_unstable();
    let at = |pct: usize| latencies[(latencies.len() * pct / 100).min(latencies.len() - 1)];
    Ok(MeterResult {
        events,
        elapsed,
        p50: at(50),
        p99: at(99),
        rss_kib,
        peak_rss_kib,
        customers: (p50, p95, args.samples.max(1), view_rows),
        summary: (
            summary_p50,
            summary_p95,
            summary["requests"].as_u64().unwrap_or_default(),
        ),
        first_firing,
    })
}
