//! The demo's traffic generator against the real server on a random port (SQLite, or
//! PostgreSQL with `SPENDLENS_TEST_DATABASE_URL`): the backfill arrives through
//! `POST /api/v1/meter/events`, live ticks through it and `POST /v1/traces`, sending it all
//! again counts nothing twice, and the gaps are there — a synced key with billed cost and no
//! events, an unpriced model, a burst of failed calls.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a failing test should stop loudly

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use spendlens_demo::{CallStatus, Sender, Sources, Traffic, Work, live};
use spendlens_domain::{Clock, FixedClock, PriceCatalog, ProviderKind};
use spendlens_fakes::anthropic::AnthropicFake;
use spendlens_fakes::openai::OpenAiFake;
use spendlens_providers::HttpSettings;
use spendlens_store::testing::TestStore;
use spendlens_store::vault::Vault;
use spendlens_store::{
    BucketRange, DimValue, METER_DAY, Metrics, OrgId, SeriesFilter, Store, meter_extra,
};
use spendlens_sync::connections::AddConnection;
use spendlens_sync::{SyncEngine, SyncSettings};
use time::macros::{date, datetime};
use time::{Date, OffsetDateTime};

const SEED: u64 = 7;
const TODAY: Date = date!(2026 - 12 - 04);
const FIRST: Date = date!(2026 - 11 - 27);
/// The server's clock: mid-afternoon of the last day, so today is partly metered.
const NOW: OffsetDateTime = datetime!(2026-12-04 15:30 UTC);

struct App {
    base: String,
    store: Store,
    org: OrgId,
    engine: SyncEngine,
    clock: Arc<FixedClock>,
    _test: TestStore,
}

impl App {
    async fn start() -> App {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let test = TestStore::new().await.unwrap();
        let store = test.store.clone();
        let clock = Arc::new(FixedClock::new(NOW));
        let org = store.ensure_default_org(NOW).await.unwrap();
        let engine = SyncEngine::new(
            store.clone(),
            Vault::from_key([9; 32]),
            PriceCatalog::built_in(),
            clock.clone(),
            SyncSettings {
                lease: Duration::from_secs(60),
                http: HttpSettings {
                    timeout: Duration::from_secs(10),
                    connect_timeout: Duration::from_secs(2),
                    max_retries: 0,
                    base_backoff: Duration::from_millis(1),
                    max_backoff: Duration::from_millis(2),
                    max_retry_after: Duration::from_millis(10),
                },
                owner: "demo-traffic-test".into(),
                allowed_base_url_hosts: Vec::new(),
            },
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let router = spendlens_web::router(spendlens_web::AppState::new(engine.clone()));
        tokio::spawn(spendlens_web::serve(
            listener,
            router,
            std::future::pending(),
        ));
        App {
            base,
            store,
            org,
            engine,
            clock,
            _test: test,
        }
    }

    /// The daily meter rollup over the backfill's days, one row per series:
    /// (provider, model, api key, customer, product, agent, workflow, status) → metrics.
    async fn series(&self, first: Date, last: Date) -> Vec<(Vec<String>, Metrics)> {
        let day = |d: Date| (d - date!(1970 - 01 - 01)).whole_days();
        let rows = self
            .store
            .read_period(
                self.org,
                &METER_DAY,
                &SeriesFilter::default(),
                BucketRange {
                    first: day(first),
                    last: day(last),
                },
                None,
            )
            .await
            .unwrap();
        rows.into_iter()
            .map(|row| {
                let dims = row
                    .series
                    .dims
                    .iter()
                    .map(|d| match d {
                        DimValue::Text(t) => t.clone(),
                        DimValue::Id(id) => format!("{id:?}"),
                    })
                    .collect();
                (dims, row.current)
            })
            .collect()
    }
}

fn sources(
    openai: &spendlens_fakes::openai::RunningOpenAiFake,
    anthropic: &spendlens_fakes::anthropic::RunningAnthropicFake,
) -> Sources {
    Sources {
        openai: Some(openai.truth().clone()),
        anthropic: Some(anthropic.truth().clone()),
    }
}

#[tokio::test]
async fn the_demo_traffic_arrives_through_both_doors_once_and_leaves_its_gaps() {
    let app = App::start().await;
    let openai = OpenAiFake::builder()
        .seed(SEED)
        .today(TODAY)
        .days(40)
        .build()
        .spawn()
        .await
        .unwrap();
    let anthropic = AnthropicFake::builder()
        .seed(SEED)
        .today(TODAY)
        .days(40)
        .build()
        .spawn()
        .await
        .unwrap();

    // The OpenAI stand-in is connected and synced, so its keys and bills are in the store.
    app.engine
        .add_connection(
            app.org,
            AddConnection {
                provider: ProviderKind::OpenAi,
                name: "openai",
                secret: openai.admin_key(),
                base_url: Some(openai.base_url()),
                skip_check: true,
                sync_interval_secs: 3600,
                backfill_days: 10,
                lookback_days: Some(3),
            },
        )
        .await
        .unwrap();
    let synced = app
        .engine
        .sync_all(app.org, None, spendlens_domain::SyncRequest::Manual)
        .await
        .unwrap();
    assert!(synced.iter().all(|(_, r)| r.is_ok()), "{synced:?}");

    let key = app
        .store
        .create_ingest_key(
            app.org,
            "demo traffic",
            spendlens_store::Actor {
                name: "test",
                at: NOW,
            },
        )
        .await
        .unwrap()
        .secret;
    let sender = Sender::new(&app.base, &key).unwrap();
    let traffic = Traffic::new(&sources(&openai, &anthropic), SEED, FIRST, TODAY);

    // The backfill: every call up to now, none later, all accepted once.
    let calls = traffic.backfill(app.clock.now());
    assert!(calls.len() > 1_000, "{} calls", calls.len());
    assert!(calls.iter().all(|c| c.time <= NOW));
    assert!(calls.iter().any(|c| c.time.date() == TODAY));
    assert_eq!(
        traffic.backfill(app.clock.now()),
        calls,
        "the same seed and time give the same calls"
    );
    let first = sender.send_native(&calls).await.unwrap();
    assert_eq!(
        (first.accepted, first.duplicate, first.rejected),
        (calls.len() as u64, 0, 0),
        "{:?}",
        first.first_error
    );
    let stored = app.store.meter_event_count(app.org).await.unwrap();
    assert_eq!(stored, calls.len() as i64);

    // A restart sends the backfill again: nothing counts twice.
    let again = sender.send_native(&calls).await.unwrap();
    assert_eq!(
        (again.accepted, again.duplicate, again.rejected),
        (0, calls.len() as u64, 0)
    );
    assert_eq!(app.store.meter_event_count(app.org).await.unwrap(), stored);

    // A restart later in the day sends the same earlier calls plus the ones that happened since.
    app.clock.advance(time::Duration::hours(2));
    let later = traffic.backfill(app.clock.now());
    assert!(later.len() > calls.len());
    assert!(calls.iter().all(|c| later.contains(c)));
    let resent = sender.send_native(&later).await.unwrap();
    assert_eq!(resent.duplicate, calls.len() as u64);
    assert_eq!(resent.accepted, (later.len() - calls.len()) as u64);
    assert_eq!(resent.rejected, 0, "{:?}", resent.first_error);
    let stored = app.store.meter_event_count(app.org).await.unwrap();
    assert_eq!(stored, later.len() as i64);

    // A live tick: half native events, half OTLP spans, both stored; sent again, counted once.
    let now = app.clock.now();
    let report = live::tick(&traffic, &sender, now).await.unwrap();
    assert!(report.native.accepted >= 1, "{report:?}");
    assert!(report.spans >= 1, "{report:?}");
    assert_eq!(report.otlp.accepted, report.spans, "{report:?}");
    let number = now.unix_timestamp().div_euclid(live::EVERY_SECS);
    let tick_start = OffsetDateTime::from_unix_timestamp(number * live::EVERY_SECS).unwrap();
    let ticked = traffic.live(number, tick_start);
    let span_ids: Vec<String> = ticked
        .iter()
        .skip(1)
        .step_by(2)
        .map(|c| c.otlp_event_id())
        .collect();
    assert_eq!(
        app.store
            .meter_events_known(app.org, &span_ids)
            .await
            .unwrap(),
        span_ids.len() as i64,
        "the spans are stored under their OTLP ids"
    );
    let after_tick = app.store.meter_event_count(app.org).await.unwrap();
    assert_eq!(
        after_tick,
        stored + report.native.accepted as i64 + report.spans as i64
    );
    let repeat = live::tick(&traffic, &sender, now).await.unwrap();
    assert_eq!(repeat.native.accepted, 0);
    assert_eq!(repeat.native.duplicate, report.native.accepted);
    assert_eq!(
        app.store.meter_event_count(app.org).await.unwrap(),
        after_tick
    );

    let series = app.series(FIRST, TODAY).await;
    let gaps = traffic.gaps();

    // One key has billed cost in the store and not one event.
    let unmetered = gaps.unmetered_key.clone().expect("an unmetered key");
    assert!(
        app.store
            .list_api_keys(app.org)
            .await
            .unwrap()
            .iter()
            .any(|k| k.provider_id == unmetered.id),
        "the unmetered key was synced"
    );
    let billed: u64 = openai
        .truth()
        .cost_lines(FIRST, TODAY)
        .iter()
        .filter(|l| l.api_key_id.as_deref() == Some(unmetered.id.as_str()))
        .map(|l| l.nanos)
        .sum();
    assert!(billed > 0, "the unmetered key has billed cost");
    assert!(series.iter().all(|(dims, _)| dims[2] != unmetered.id));
    // Every other key with billed usage is metered, by the id the sync stored.
    let metered_keys: std::collections::BTreeSet<&str> =
        series.iter().map(|(dims, _)| dims[2].as_str()).collect();
    for line in openai
        .truth()
        .usage_lines(FIRST, TODAY - time::Duration::days(1))
    {
        if line.api_key_id != unmetered.id {
            assert!(
                metered_keys.contains(line.api_key_id.as_str()),
                "{}",
                line.api_key_id
            );
        }
    }

    // One model is unpriced: counted, its cost unknown — never $0.
    let (_, unpriced) = gaps.unpriced_model.clone().expect("an unpriced model");
    let unpriced_rows: Vec<_> = series.iter().filter(|(d, _)| d[1] == unpriced).collect();
    assert!(!unpriced_rows.is_empty());
    for (_, m) in &unpriced_rows {
        assert_eq!(m.extra[meter_extra::UNPRICED], m.totals.requests);
        assert_eq!(m.totals.cost.nanos(), 0);
    }
    assert!(
        series
            .iter()
            .any(|(d, m)| d[1] != unpriced && m.totals.cost.nanos() > 0)
    );

    // A burst of failed and timed-out calls on one day.
    let (burst_day, burst) = gaps.failed_burst.expect("a burst of failed calls");
    let burst_series = app.series(burst_day, burst_day).await;
    let failed: BTreeMap<&str, i64> = burst_series.iter().filter(|(d, _)| d[7] != "ok").fold(
        BTreeMap::new(),
        |mut acc, (d, m)| {
            *acc.entry(d[7].as_str()).or_default() += m.extra[meter_extra::FAILED];
            acc
        },
    );
    assert!(failed.get("error").copied().unwrap_or(0) > 0, "{failed:?}");
    assert!(
        failed.get("timeout").copied().unwrap_or(0) > 0,
        "{failed:?}"
    );
    assert!(failed.values().sum::<i64>() >= i64::from(burst));

    // Customers, products, agents and workflows are set; no call carries a prompt.
    for dim in [3, 4, 5, 6] {
        assert!(
            series.iter().any(|(d, _)| !d[dim].is_empty()),
            "dimension {dim}"
        );
    }
    assert!(calls.iter().any(|c| c.status == CallStatus::Timeout));

    // Most but not all of the billed usage: for every OpenAI text model, the metered output
    // tokens of the metered keys over the full days are 85–96 % of the billed ones.
    let yesterday = TODAY - time::Duration::days(1);
    let full_days = app.series(FIRST, yesterday).await;
    let mut billed_out: BTreeMap<String, u64> = BTreeMap::new();
    for line in openai.truth().usage_lines(FIRST, yesterday) {
        if line.api_key_id != unmetered.id && line.totals.output_tokens > 0 {
            *billed_out.entry(line.model).or_default() += line.totals.output_tokens;
        }
    }
    for (model, billed) in &billed_out {
        let metered: i64 = full_days
            .iter()
            .filter(|(d, _)| {
                d[0] == "openai"
                    && (&d[1] == model || (d[1] == unpriced && model.starts_with("gpt-4.1")))
            })
            .map(|(_, m)| m.totals.output_tokens)
            .sum();
        let share = metered as f64 / *billed as f64;
        assert!(
            (0.85..=0.96).contains(&share),
            "{model}: {metered} of {billed}"
        );
    }
    // Unit work is metered too (images, characters, seconds).
    assert!(
        calls
            .iter()
            .any(|c| matches!(c.work, Work::Units { unit: "images", .. }))
    );
}
