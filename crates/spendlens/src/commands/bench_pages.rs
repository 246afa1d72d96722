//! `spendlens bench`'s dashboard pages: each page's server time through the real router (no
//! network) as a signed-in admin — its first load after the data was written, then warm — and
//! the Providers page loaded right after each of a run of syncs, with what a full read of the
//! bill costs beside it (what every first load after a sync paid before the kept bill was
//! brought up to date window by window).

use std::time::{Duration, Instant};

use spendlens_domain::DayRange;
use spendlens_query::spend_days::{BilledRead, MeteredRead, read_range};
use spendlens_store::vault::Vault;
use spendlens_store::{OrgId, Store};
use tower::ServiceExt as _;

use super::bench::percentile;

/// One dashboard page's server time and weight.
pub struct PageTiming {
    pub path: &'static str,
    pub p50: Duration,
    pub p95: Duration,
    /// The first load, after the data was written (what a server keeps is not read yet);
    /// `p50` and `p95` are of the loads after it.
    pub first: Duration,
    pub bytes: usize,
    /// `/providers` only: from the start of its first load until `GET /cost/forecast/panel`
    /// hands the forecast panel over (the page shows it as being read when its read takes
    /// longer than the page waits).
    pub panel_ready: Option<Duration>,
}

/// The Providers page right after syncs.
pub struct AfterSync {
    /// The days each sync wrote again.
    pub window: DayRange,
    /// Each sync's first load of `/providers`, in order.
    pub loads: Vec<Duration>,
    /// Of those loads, how many read the whole bill from the store.
    pub full_reads: u64,
    /// A full read of the bill forecasts and anomalies use, each time (sorted).
    pub bill_reads: Vec<Duration>,
    /// A whole read of the metered calls forecasts and anomalies use (sorted).
    pub metered_reads: Vec<Duration>,
    /// What a load reads of them when the days before today are kept: today's (sorted).
    pub metered_today: Vec<Duration>,
    /// Everything forecasts and anomalies read on a load when nothing but today changed (the
    /// server's path: the bill and the metered days before today kept; sorted).
    pub around_bill: Vec<Duration>,
}

impl AfterSync {
    pub fn print(&self, samples: usize) {
        let mut loads = self.loads.clone();
        loads.sort();
        println!(
            "page /providers after a sync  p50 {:>7.2} ms  p95 {:>7.2} ms  ({} syncs of one connection's {} days, each followed by one load; {} of them read the whole bill)",
            ms(percentile(&loads, 50)),
            ms(percentile(&loads, 95)),
            self.loads.len(),
            self.window.len_days(),
            self.full_reads
        );
        for (what, sorted) in [
            ("bill read, whole (41 days)", &self.bill_reads),
            ("metered read, whole (41 days)", &self.metered_reads),
            ("metered read, today (the rest kept)", &self.metered_today),
            (
                "forecast read, kept (today's calls fresh)",
                &self.around_bill,
            ),
        ] {
            println!(
                "{what:<42} p50 {:>7.2} ms  p95 {:>7.2} ms  ({samples} samples)",
                ms(percentile(sorted, 50)),
                ms(percentile(sorted, 95)),
            );
        }
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The dashboard pages timed, each with the default filters.
const PAGES: [&str; 7] = [
    "/providers",
    "/workspaces",
    "/keys",
    "/models",
    "/workspace-management",
    "/connections",
    "/sync-logs",
];

/// Times each dashboard page through the real router, then `/providers` after each of
/// `samples` runs of `sync` (which writes `window` again).
pub async fn measure_pages(
    store: &Store,
    org: OrgId,
    samples: usize,
    window: DayRange,
    mut sync: impl AsyncFnMut() -> anyhow::Result<()>,
) -> anyhow::Result<(Vec<PageTiming>, AfterSync)> {
    let now = spendlens_domain::Clock::now(&spendlens_domain::SystemClock);
    let hash = spendlens_web::dashboard::session::hash_password("bench password 123")
        .map_err(anyhow::Error::msg)?;
    let user = store
        .create_user(
            org,
            "bench@spendlens.local",
            &hash,
            spendlens_store::Role::Admin,
            now,
        )
        .await?;
    let session = store
        .create_session(&user, now, time::Duration::hours(1))
        .await?;
    let engine = spendlens_sync::SyncEngine::new(
        store.clone(),
        Vault::from_key([9; 32]),
        spendlens_domain::PriceCatalog::built_in(),
        std::sync::Arc::new(spendlens_sync::SystemClock),
        spendlens_sync::SyncSettings::default(),
    );
    let state = spendlens_web::AppState::new(engine);
    let reports = state.reports.clone();
    let router = spendlens_web::router(state);
    let load = async |path: &str| -> anyhow::Result<(Duration, usize)> {
        let request = axum::http::Request::builder()
            .uri(path)
            .header("cookie", format!("spendlens_session={}", session.token))
            .body(axum::body::Body::empty())?;
        let started = Instant::now();
        let response = router.clone().oneshot(request).await?;
        let status = response.status();
        let body = axum::body::to_bytes(response.into_body(), 10 * 1024 * 1024).await?;
        let elapsed = started.elapsed();
        anyhow::ensure!(status.is_success(), "{path} answered {status}");
        Ok((elapsed, body.len()))
    };
    // `GET /cost/forecast/panel` until it answers with the panel (202: still reading).
    let panel = async || -> anyhow::Result<()> {
        for _ in 0..360 {
            let request = axum::http::Request::builder()
                .uri("/cost/forecast/panel")
                .header("cookie", format!("spendlens_session={}", session.token))
                .body(axum::body::Body::empty())?;
            let status = router.clone().oneshot(request).await?.status();
            if status != axum::http::StatusCode::ACCEPTED {
                anyhow::ensure!(
                    status.is_success(),
                    "/cost/forecast/panel answered {status}"
                );
                return Ok(());
            }
        }
        anyhow::bail!("the forecast panel was still being read after an hour")
    };
    let mut out = Vec::new();
    for path in PAGES {
        let mut timings = Vec::with_capacity(samples);
        let mut bytes = 0;
        let mut first = Duration::ZERO;
        let mut panel_ready = None;
        for round in 0..=samples.max(1) {
            let started = Instant::now();
            let (elapsed, len) = load(path).await?;
            bytes = len;
            if round > 0 {
                timings.push(elapsed);
            } else {
                first = elapsed;
                if path == "/providers" {
                    panel().await?;
                    panel_ready = Some(started.elapsed());
                }
            }
        }
        timings.sort();
        out.push(PageTiming {
            path,
            p50: percentile(&timings, 50),
            p95: percentile(&timings, 95),
            first,
            bytes,
            panel_ready,
        });
    }
    let reads_before = reports.bill_reads();
    let mut loads = Vec::with_capacity(samples);
    for _ in 0..samples.max(1) {
        sync().await?;
        loads.push(load("/providers").await?.0);
        // A forecast read that outlasted the page's wait finishes before the next sync.
        panel().await?;
    }
    let full_reads = reports.bill_reads() - reads_before;
    let read = read_range(now)?;
    let (mut bill_reads, mut metered_reads, mut around_bill) = (Vec::new(), Vec::new(), Vec::new());
    let mut metered_today = Vec::new();
    let past = MeteredRead::load_past(store, org, read).await?;
    for _ in 0..samples.max(1) {
        let started = Instant::now();
        BilledRead::load(store, org, read).await?;
        bill_reads.push(started.elapsed());
        let started = Instant::now();
        store.metered_spend_days(org, read, read.from()).await?;
        metered_reads.push(started.elapsed());
        let started = Instant::now();
        past.last_day_fresh(store, org, read).await?;
        metered_today.push(started.elapsed());
        let started = Instant::now();
        reports.spend_days(org, now).await?;
        around_bill.push(started.elapsed());
    }
    for sorted in [
        &mut bill_reads,
        &mut metered_reads,
        &mut metered_today,
        &mut around_bill,
    ] {
        sorted.sort();
    }
    Ok((
        out,
        AfterSync {
            window,
            loads,
            full_reads,
            bill_reads,
            metered_reads,
            metered_today,
            around_bill,
        },
    ))
}
