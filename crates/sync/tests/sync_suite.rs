//! The sync suite: the real engine and connectors against the provider fakes, on SQLite and
//! (with `SPENDLENS_TEST_DATABASE_URL`) on PostgreSQL. It checks what a user relies on: the
//! stored money equals what the provider billed, a re-run never double counts, and a failure
//! half way leaves stored data as it was and says why.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a failing test should stop loudly

use spendlens_domain::SyncRequest;
use std::sync::Arc;
use std::time::Duration;

use spendlens_domain::{Day, DayRange, Money, PriceCatalog, ProviderKind};
use spendlens_fakes::anthropic::AnthropicFake;
use spendlens_fakes::openai::OpenAiFake;
use spendlens_fakes::{Fault, FaultRule};
use spendlens_providers::{CallStats, HttpSettings};
use spendlens_store::testing::TestStore;
use spendlens_store::vault::Vault;
use spendlens_store::{
    ConnectionId, ConnectionStatus, OrgId, RollupFilter, Store, SyncRunFilter, SyncRunStatus,
    SyncTrigger,
};
use spendlens_sync::connections::AddConnection;
use spendlens_sync::{FixedClock, SyncEngine, SyncError, SyncSettings};
use time::macros::{date, datetime};

const TODAY: time::Date = date!(2026 - 11 - 22);

fn install_tls() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

fn engine(store: Store) -> SyncEngine {
    install_tls();
    SyncEngine::new(
        store,
        Vault::from_key([3; 32]),
        PriceCatalog::built_in(),
        Arc::new(FixedClock::new(datetime!(2026-11-22 12:00 UTC))),
        SyncSettings {
            lease: Duration::from_secs(60),
            http: HttpSettings {
                timeout: Duration::from_secs(5),
                connect_timeout: Duration::from_secs(2),
                max_retries: 3,
                base_backoff: Duration::from_millis(1),
                max_backoff: Duration::from_millis(5),
                max_retry_after: Duration::from_millis(20),
            },
            owner: "test".to_owned(),
            allowed_base_url_hosts: Vec::new(),
        },
    )
}

async fn connect(
    engine: &SyncEngine,
    org: OrgId,
    provider: ProviderKind,
    key: &str,
    base_url: &str,
) -> ConnectionId {
    engine
        .add_connection(
            org,
            AddConnection {
                provider,
                name: provider.as_str(),
                secret: key,
                base_url: Some(base_url),
                skip_check: false,
                sync_interval_secs: 3600,
                backfill_days: 45,
                lookback_days: Some(3),
            },
        )
        .await
        .unwrap()
        .0
        .id
}

/// A fresh store, an engine over it and its organization.
async fn setup() -> (TestStore, SyncEngine, OrgId) {
    let test = TestStore::new().await.unwrap();
    let engine = engine(test.store.clone());
    let org = engine
        .store()
        .ensure_default_org(engine.now())
        .await
        .unwrap();
    (test, engine, org)
}

/// An OpenAI fake with the given seed, connected through the real add-connection path.
async fn openai_connection(
    engine: &SyncEngine,
    org: OrgId,
    seed: u64,
) -> (spendlens_fakes::openai::RunningOpenAiFake, ConnectionId) {
    let fake = OpenAiFake::builder().seed(seed).today(TODAY).build();
    let key = fake.admin_key().to_owned();
    let fake = fake.spawn().await.unwrap();
    let id = connect(engine, org, ProviderKind::OpenAi, &key, fake.base_url()).await;
    (fake, id)
}

/// The same for Anthropic.
async fn anthropic_connection(
    engine: &SyncEngine,
    org: OrgId,
    seed: u64,
) -> (
    spendlens_fakes::anthropic::RunningAnthropicFake,
    ConnectionId,
) {
    let fake = AnthropicFake::builder().seed(seed).today(TODAY).build();
    let key = fake.admin_key().to_owned();
    let fake = fake.spawn().await.unwrap();
    let id = connect(engine, org, ProviderKind::Anthropic, &key, fake.base_url()).await;
    (fake, id)
}

fn window(from: &str, to: &str) -> DayRange {
    DayRange::new(from.parse().unwrap(), to.parse().unwrap()).unwrap()
}

fn to_date(day: Day) -> time::Date {
    day.date()
}

async fn stored_total(store: &Store, org: OrgId, range: DayRange) -> Money {
    store
        .totals_by_connection(org, range, None, &RollupFilter::default())
        .await
        .unwrap()
        .iter()
        .map(|t| t.current.cost)
        .sum()
}

#[tokio::test]
async fn an_openai_sync_stores_exactly_what_was_billed() {
    let (test, engine, org) = setup().await;
    let (fake, id) = openai_connection(&engine, org, 11).await;

    let report = engine
        .sync_connection(org, id, None, SyncRequest::Scheduled, &CallStats::default())
        .await
        .unwrap();
    assert_eq!(report.status, SyncRunStatus::Success, "{:?}", report.error);
    assert_eq!(report.trigger, SyncTrigger::Initial);
    let synced = report.window;
    assert_eq!(synced.len_days(), 45);

    // The bill, to the nano-dollar.
    let billed = fake
        .truth()
        .total_cost_usd(to_date(synced.from()), to_date(synced.to()));
    assert_eq!(
        stored_total(engine.store(), org, synced).await,
        Money::parse_units(&billed).unwrap()
    );
    // Per-key sums equal the bill too (allocation keeps the total).
    let by_key: Money = engine
        .store()
        .totals_by_key(org, synced, None, &RollupFilter::default())
        .await
        .unwrap()
        .iter()
        .map(|k| k.current.cost)
        .sum();
    assert_eq!(by_key, Money::parse_units(&billed).unwrap());
    // Tokens: input includes cached tokens once, not twice.
    let usage = fake
        .truth()
        .usage_by_model(to_date(synced.from()), to_date(synced.to()));
    let truth_input: u64 = usage.values().map(|u| u.input_tokens).sum();
    let truth_cached: u64 = usage.values().map(|u| u.input_cached_tokens).sum();
    let truth_requests: u64 = usage.values().map(|u| u.num_model_requests).sum();
    let models = engine
        .store()
        .totals_by_model(org, synced, None, &RollupFilter::default())
        .await
        .unwrap();
    let stored_input: i64 = models.iter().map(|m| m.current.input_tokens).sum();
    let stored_cached: i64 = models.iter().map(|m| m.current.cache_read_tokens).sum();
    let stored_requests: i64 = models.iter().map(|m| m.current.requests).sum();
    assert_eq!(stored_input as u64, truth_input);
    assert_eq!(stored_cached as u64, truth_cached);
    assert_eq!(stored_requests as u64, truth_requests);

    let connection = engine.store().get_connection(org, id).await.unwrap();
    assert_eq!(connection.status, ConnectionStatus::Connected);
    assert_eq!(connection.synced_through, Some(synced.to()));
    fake.shutdown().await;
    test.teardown().await;
}

#[tokio::test]
async fn an_anthropic_sync_reads_cents_and_leaves_requests_unknown() {
    let (test, engine, org) = setup().await;
    let (fake, id) = anthropic_connection(&engine, org, 5).await;
    let report = engine
        .sync_connection(org, id, None, SyncRequest::Scheduled, &CallStats::default())
        .await
        .unwrap();
    assert_eq!(report.status, SyncRunStatus::Success, "{:?}", report.error);
    let synced = report.window;
    let billed = fake
        .truth()
        .total_cost_usd(to_date(synced.from()), to_date(synced.to()));
    let stored = stored_total(engine.store(), org, synced).await;
    assert_eq!(stored, Money::parse_units(&billed).unwrap());
    // Not a hundred times too much: cents were divided.
    let cents = fake
        .truth()
        .total_cost_cents(to_date(synced.from()), to_date(synced.to()));
    assert_eq!(stored, Money::parse_cents(&cents).unwrap());
    let by_model = engine
        .store()
        .totals_by_model(org, synced, None, &RollupFilter::default())
        .await
        .unwrap();
    assert!(
        by_model
            .iter()
            .filter(|m| m.model.starts_with("claude"))
            .all(|m| m.current.known_requests().is_none())
    );
    fake.shutdown().await;
    test.teardown().await;
}

#[tokio::test]
async fn syncing_the_same_window_again_never_double_counts() {
    let (test, engine, org) = setup().await;
    let (fake, id) = openai_connection(&engine, org, 2).await;
    let explicit = window("2026-10-01", "2026-11-10");
    let stats = CallStats::default();
    engine
        .sync_connection(org, id, Some(explicit), SyncRequest::Manual, &stats)
        .await
        .unwrap();
    let once = stored_total(engine.store(), org, explicit).await;
    let again = engine
        .sync_connection(
            org,
            id,
            Some(explicit),
            SyncRequest::Manual,
            &CallStats::default(),
        )
        .await
        .unwrap();
    assert_eq!(again.status, SyncRunStatus::Success);
    assert_eq!(stored_total(engine.store(), org, explicit).await, once);
    // An overlapping incremental run changes nothing either.
    engine
        .sync_connection(org, id, None, SyncRequest::Scheduled, &CallStats::default())
        .await
        .unwrap();
    assert_eq!(stored_total(engine.store(), org, explicit).await, once);
    let runs = engine
        .store()
        .list_sync_runs(org, &SyncRunFilter::default())
        .await
        .unwrap();
    assert_eq!(runs.len(), 3);
    // A 41-day window at 31 buckets per page takes two pages per endpoint.
    assert!(stats.snapshot().pages >= 14, "{:?}", stats.snapshot());
    fake.shutdown().await;
    test.teardown().await;
}

#[tokio::test]
async fn a_failure_half_way_changes_nothing_and_says_so() {
    let (test, engine, org) = setup().await;
    let (fake, id) = openai_connection(&engine, org, 3).await;
    let range = window("2026-09-01", "2026-11-20");
    engine
        .sync_connection(
            org,
            id,
            Some(range),
            SyncRequest::Manual,
            &CallStats::default(),
        )
        .await
        .unwrap();
    let before = stored_total(engine.store(), org, range).await;

    for (fault, expected) in [
        (
            FaultRule::new(Fault::ServerError(500))
                .on_path("/usage/completions")
                .on_page(3)
                .times(u32::MAX),
            "500",
        ),
        (
            FaultRule::new(Fault::Truncated)
                .on_path("/usage/completions")
                .on_page(3),
            "",
        ),
        (
            FaultRule::new(Fault::Malformed)
                .on_path("/usage/embeddings")
                .on_page(2),
            "",
        ),
        (
            FaultRule::new(Fault::RepeatPage)
                .on_path("/usage/images")
                .on_page(2),
            "",
        ),
        (
            FaultRule::new(Fault::RateLimited {
                retry_after_secs: 1,
            })
            .on_path("/usage/completions")
            .times(u32::MAX),
            "429",
        ),
    ] {
        fake.faults().clear();
        fake.faults().add(fault.clone());
        let report = engine
            .sync_connection(
                org,
                id,
                Some(range),
                SyncRequest::Manual,
                &CallStats::default(),
            )
            .await
            .unwrap();
        assert_eq!(report.status, SyncRunStatus::Failed, "{fault:?}");
        let error = report.error.unwrap();
        assert!(error.contains("Stored data was left unchanged"), "{error}");
        assert!(error.contains(expected), "{fault:?}: {error}");
        assert_eq!(
            stored_total(engine.store(), org, range).await,
            before,
            "{fault:?}"
        );
        let connection = engine.store().get_connection(org, id).await.unwrap();
        assert_eq!(connection.status, ConnectionStatus::Error);
        assert!(connection.status_message.unwrap().contains("OpenAI"));
    }
    // A few 429s with Retry-After are ridden out, and counted.
    fake.faults().clear();
    fake.faults().add(
        FaultRule::new(Fault::RateLimited {
            retry_after_secs: 1,
        })
        .on_path("/usage/completions")
        .times(2),
    );
    let report = engine
        .sync_connection(
            org,
            id,
            Some(range),
            SyncRequest::Manual,
            &CallStats::default(),
        )
        .await
        .unwrap();
    assert_eq!(report.status, SyncRunStatus::Success, "{:?}", report.error);
    assert_eq!(report.retries, 2);
    assert_eq!(stored_total(engine.store(), org, range).await, before);
    fake.shutdown().await;
    test.teardown().await;
}

#[tokio::test]
async fn a_revoked_key_errors_then_disconnects_after_three_rejections() {
    let (test, engine, org) = setup().await;
    let (fake, id) = anthropic_connection(&engine, org, 9).await;
    fake.set_revoked(true);
    for attempt in 1..=3 {
        let report = engine
            .sync_connection(org, id, None, SyncRequest::Scheduled, &CallStats::default())
            .await
            .unwrap();
        assert_eq!(report.status, SyncRunStatus::Failed);
        let error = report.error.unwrap();
        assert!(error.contains("rejected the key"), "{error}");
        let connection = engine.store().get_connection(org, id).await.unwrap();
        let expected = if attempt < 3 {
            ConnectionStatus::Error
        } else {
            ConnectionStatus::Disconnected
        };
        assert_eq!(connection.status, expected, "attempt {attempt}");
    }
    // Disconnected connections are not scheduled.
    assert!(
        engine
            .store()
            .due_connections(engine.now() + time::Duration::days(1))
            .await
            .unwrap()
            .is_empty()
    );
    fake.shutdown().await;
    test.teardown().await;
}

#[tokio::test]
async fn a_wrong_key_type_is_refused_before_any_call_and_a_rejected_key_is_not_saved() {
    let (test, engine, org) = setup().await;
    let fake = OpenAiFake::builder()
        .seed(1)
        .today(TODAY)
        .build()
        .spawn()
        .await
        .unwrap();
    let add = |secret: &'static str| AddConnection {
        provider: ProviderKind::OpenAi,
        name: "x",
        secret,
        base_url: Some(fake.base_url()),
        skip_check: false,
        sync_interval_secs: 3600,
        backfill_days: 30,
        lookback_days: Some(3),
    };
    let err = engine
        .add_connection(org, add("sk-proj-abcdefghijklmnopqrstuvwxyz0123456789"))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("project key") && err.contains("Admin key"),
        "{err}"
    );
    assert!(
        fake.log().requests().is_empty(),
        "a shape error makes no call"
    );
    let err = engine
        .add_connection(org, add("sk-admin-thisIsNotTheRightKeyAtAllxxxxxxxxxxxxxx"))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("401") && err.contains("not saved"), "{err}");
    assert!(
        engine
            .store()
            .list_connections(org)
            .await
            .unwrap()
            .is_empty()
    );
    fake.shutdown().await;
    test.teardown().await;
}

#[tokio::test]
async fn only_one_sync_of_a_connection_runs_at_a_time() {
    let (test, engine, org) = setup().await;
    let (fake, id) = openai_connection(&engine, org, 4).await;
    fake.faults()
        .add(FaultRule::new(Fault::Delay(Duration::from_millis(300))).times(3));
    let (stats_a, stats_b) = (CallStats::default(), CallStats::default());
    let (a, b) = tokio::join!(
        engine.sync_connection(org, id, None, SyncRequest::Manual, &stats_a),
        engine.sync_connection(org, id, None, SyncRequest::Manual, &stats_b)
    );
    let outcomes = [a, b];
    assert_eq!(
        outcomes
            .iter()
            .filter(|r| matches!(r, Err(SyncError::AlreadyRunning { .. })))
            .count(),
        1
    );
    assert_eq!(outcomes.iter().filter(|r| r.is_ok()).count(), 1);
    fake.shutdown().await;
    test.teardown().await;
}

/// An engine of another process over the same store, at `at`.
fn engine_at(store: Store, owner: &str, at: time::OffsetDateTime) -> SyncEngine {
    install_tls();
    SyncEngine::new(
        store,
        Vault::from_key([3; 32]),
        PriceCatalog::built_in(),
        Arc::new(FixedClock::new(at)),
        SyncSettings {
            lease: Duration::from_secs(60),
            owner: owner.to_owned(),
            ..SyncSettings::default()
        },
    )
}

#[tokio::test]
async fn a_crashed_run_frees_its_connection_when_its_lease_runs_out() {
    let (test, engine, org) = setup().await;
    let (fake, id) = openai_connection(&engine, org, 5).await;
    // A process starts a run and dies (kill -9): the run stays "running", the lease held.
    let started = engine
        .begin_sync(org, id, None, SyncRequest::Manual)
        .await
        .unwrap();
    let crashed_run = started.run_id();
    drop(started);

    // Another process (the CLI, say) is told which run holds the connection and when it is free.
    let t0 = datetime!(2026-11-22 12:00 UTC);
    let other = engine_at(
        test.store.clone(),
        "cli:2",
        t0 + time::Duration::seconds(30),
    );
    let stats = CallStats::default();
    let err = other
        .sync_connection(org, id, None, SyncRequest::Manual, &stats)
        .await
        .unwrap_err();
    match &err {
        SyncError::AlreadyRunning { run, free_at, .. } => {
            assert_eq!(*run, Some(crashed_run));
            assert_eq!(*free_at, Some(t0 + time::Duration::seconds(60)));
        }
        other => panic!("expected already running, got {other}"),
    }
    let message = err.to_string();
    assert!(
        message.contains(&format!("run {}", crashed_run.0)),
        "{message}"
    );
    assert!(message.contains("free again at 12:01:00 UTC"), "{message}");

    // Once the lease has run out, that process syncs, and the abandoned run is closed as failed.
    let later = engine_at(
        test.store.clone(),
        "cli:2",
        t0 + time::Duration::seconds(61),
    );
    let report = later
        .sync_connection(org, id, None, SyncRequest::Manual, &stats)
        .await
        .unwrap();
    assert_eq!(report.status, SyncRunStatus::Success);
    let runs = test
        .store
        .list_sync_runs(org, &SyncRunFilter::default())
        .await
        .unwrap();
    let abandoned = runs.iter().find(|r| r.id == crashed_run).unwrap();
    assert_eq!(abandoned.status, SyncRunStatus::Failed);
    assert!(
        abandoned
            .error
            .as_deref()
            .unwrap_or_default()
            .contains("interrupted"),
        "{abandoned:?}"
    );
    assert_eq!(
        runs.iter()
            .filter(|r| r.status == SyncRunStatus::Running)
            .count(),
        0
    );
    fake.shutdown().await;
    test.teardown().await;
}

#[test]
fn the_default_lease_frees_a_crashed_connection_within_two_minutes() {
    assert!(SyncSettings::default().lease <= Duration::from_secs(120));
}

#[tokio::test]
async fn each_sync_rereads_the_providers_lookback_or_the_connections_own() {
    let (test, engine, org) = setup().await;
    // The fake bills through 2 December; the first sync runs on 22 November.
    let fake = OpenAiFake::builder()
        .seed(5)
        .today(date!(2026 - 12 - 02))
        .build();
    let key = fake.admin_key().to_owned();
    let fake = fake.spawn().await.unwrap();
    let id = engine
        .add_connection(
            org,
            AddConnection {
                provider: ProviderKind::OpenAi,
                name: "openai-default",
                secret: &key,
                base_url: Some(fake.base_url()),
                skip_check: false,
                sync_interval_secs: 3600,
                backfill_days: 45,
                lookback_days: None,
            },
        )
        .await
        .unwrap()
        .0
        .id;
    let sync_on = |at: time::OffsetDateTime| {
        let engine = engine_at(engine.store().clone(), "lookback", at);
        async move {
            let report = engine
                .sync_connection(org, id, None, SyncRequest::Scheduled, &CallStats::default())
                .await
                .unwrap();
            assert_eq!(report.status, SyncRunStatus::Success, "{:?}", report.error);
            report.window
        }
    };
    assert_eq!(
        sync_on(datetime!(2026-11-22 12:00 UTC)).await,
        window("2026-10-09", "2026-11-22")
    );
    // Mid-month, OpenAI's own look-back is three days before the watermark.
    assert_eq!(
        sync_on(datetime!(2026-11-25 12:00 UTC)).await,
        window("2026-11-19", "2026-11-25")
    );
    // On 2 December the previous month is read again whole: its bill is not final yet.
    assert_eq!(
        sync_on(datetime!(2026-12-02 12:00 UTC)).await,
        window("2026-11-01", "2026-12-02")
    );
    let november = window("2026-11-01", "2026-11-30");
    let billed = fake
        .truth()
        .total_cost_usd(date!(2026 - 11 - 01), date!(2026 - 11 - 30));
    assert_eq!(
        stored_total(engine.store(), org, november).await,
        Money::parse_units(&billed).unwrap()
    );
    // On the 4th the previous month is final: back to three days.
    assert_eq!(
        sync_on(datetime!(2026-12-04 12:00 UTC)).await,
        window("2026-11-29", "2026-12-04")
    );
    // The connection's own ten days replace the provider's policy, and clearing it restores it.
    engine
        .store()
        .set_connection_lookback(
            org,
            id,
            Some(10),
            spendlens_store::Actor {
                name: "test",
                at: datetime!(2026-12-04 12:00 UTC),
            },
            "",
        )
        .await
        .unwrap();
    assert_eq!(
        engine
            .store()
            .get_connection(org, id)
            .await
            .unwrap()
            .lookback_days,
        Some(10)
    );
    assert_eq!(
        sync_on(datetime!(2026-12-04 13:00 UTC)).await,
        window("2026-11-24", "2026-12-04")
    );
    let err = engine
        .store()
        .set_connection_lookback(
            org,
            id,
            Some(63),
            spendlens_store::Actor {
                name: "test",
                at: datetime!(2026-12-04 12:00 UTC),
            },
            "",
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("outside 0–62"), "{err}");
    engine
        .store()
        .set_connection_lookback(
            org,
            id,
            None,
            spendlens_store::Actor {
                name: "test",
                at: datetime!(2026-12-04 12:00 UTC),
            },
            "",
        )
        .await
        .unwrap();
    assert_eq!(
        sync_on(datetime!(2026-12-04 14:00 UTC)).await,
        window("2026-12-01", "2026-12-04")
    );
    fake.shutdown().await;
    test.teardown().await;
}
