//! The metered side of coverage, `meter.coverage`: ingest and restate write it per (provider,
//! workspace, API key, model, status) and day, and migration 0027 builds it from the events
//! stored before it — from `meter_day`, with no workspace, for days whose raw events were
//! pruned — with exact figures.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a failing test should stop loudly

use spendlens_domain::{Day, DayRange};
use spendlens_meter::PricedEvent;
use spendlens_store::testing::TestStore;
use spendlens_store::{MeteredKeyModel, OrgId, Store, meter_extra};
use time::OffsetDateTime;
use time::macros::datetime;

const NOW: OffsetDateTime = datetime!(2026-11-22 08:00 UTC);

fn range(from: &str, to: &str) -> DayRange {
    DayRange::new(from.parse::<Day>().unwrap(), to.parse::<Day>().unwrap()).unwrap()
}

/// An event as sent, priced at its reported cost (`None`: unpriced).
fn event(json: &str, cost: Option<&str>) -> PricedEvent {
    crate::support::priced(json, NOW, cost)
}

fn events() -> Vec<PricedEvent> {
    vec![
        // 2026-11-18: two Bedrock accounts (this day's raw events are pruned below).
        event(
            r#"{"id": "b1", "time": "2026-11-18T10:00:00Z", "provider": "bedrock", "model": "claude", "tokens": {"input": 100, "output": 10}, "workspace": "111111111111", "cost": "0.40"}"#,
            Some("0.40"),
        ),
        event(
            r#"{"id": "b2", "time": "2026-11-18T11:00:00Z", "provider": "bedrock", "model": "claude", "tokens": {"input": 50, "output": 5}, "workspace": "222222222222", "cost": "0.10"}"#,
            Some("0.10"),
        ),
        // 2026-11-19 and 20: OpenAI project proj_1 on one key, and a failed unpriced call
        // with no workspace on another.
        event(
            r#"{"id": "o1", "time": "2026-11-19T09:00:00Z", "provider": "anthropic", "model": "claude-x", "tokens": {"input": 1000, "output": 200, "reasoning": 50}, "latency_ms": 120, "api_key": "key_a", "workspace": "proj_1", "cost": "1.50"}"#,
            Some("1.50"),
        ),
        event(
            r#"{"id": "o2", "time": "2026-11-20T09:00:00Z", "provider": "anthropic", "model": "claude-x", "tokens": {"input": 10, "output": 2}, "api_key": "key_a", "workspace": "proj_1", "cost": "2.25"}"#,
            Some("2.25"),
        ),
        event(
            r#"{"id": "o3", "time": "2026-11-19T12:00:00Z", "provider": "anthropic", "model": "mystery", "status": "error", "api_key": "key_b"}"#,
            None,
        ),
    ]
}

async fn cells(store: &Store, org: OrgId, period: DayRange) -> Vec<MeteredKeyModel> {
    store
        .metered_by_key_model(
            org,
            &["anthropic".to_owned(), "bedrock".to_owned()],
            Some(period),
            None,
        )
        .await
        .unwrap()
}

/// (provider, workspace, key, model, status, cost, calls, input, output, failed, unpriced,
/// latency sum) of each cell.
type Row = (
    String,
    String,
    String,
    String,
    String,
    String,
    i64,
    i64,
    i64,
    i64,
    i64,
    i64,
);

fn rows(cells: &[MeteredKeyModel]) -> Vec<Row> {
    cells
        .iter()
        .map(|c| {
            let m = &c.comparable;
            (
                c.provider.clone(),
                c.workspace.clone(),
                c.api_key.clone(),
                c.model.clone(),
                c.status.clone(),
                m.totals.cost.to_exact_string(),
                m.totals.requests,
                m.totals.input_tokens,
                m.totals.output_tokens,
                m.extra[meter_extra::FAILED],
                m.extra[meter_extra::UNPRICED],
                m.extra[meter_extra::LATENCY_MS_SUM],
            )
        })
        .collect()
}

/// (provider, day, cost, calls) per provider and day, from `meter.provider`.
async fn provider_days(store: &Store, org: OrgId) -> Vec<(String, String, String, i64)> {
    store
        .metered_provider_days(org, range("2026-11-18", "2026-11-20"))
        .await
        .unwrap()
        .into_iter()
        .map(|(p, d, m)| {
            (
                p,
                d.to_string(),
                m.totals.cost.to_exact_string(),
                m.totals.requests,
            )
        })
        .collect()
}

fn expected_provider_days() -> Vec<(String, String, String, i64)> {
    [
        ("anthropic", "2026-11-19", "1.50", 2),
        ("anthropic", "2026-11-20", "2.25", 1),
        ("bedrock", "2026-11-18", "0.50", 2),
    ]
    .into_iter()
    .map(|(p, d, c, n)| (p.to_owned(), d.to_owned(), c.to_owned(), n))
    .collect()
}

fn row(cells: [&str; 6], counts: [i64; 6]) -> Row {
    let [p, w, k, m, s, c] = cells.map(str::to_owned);
    let [calls, input, output, failed, unpriced, latency] = counts;
    (
        p, w, k, m, s, c, calls, input, output, failed, unpriced, latency,
    )
}

fn days_18_to_20() -> Vec<Row> {
    vec![
        row(
            ["anthropic", "", "key_b", "mystery", "error", "0.00"],
            [1, 0, 0, 1, 1, 0],
        ),
        row(
            ["anthropic", "proj_1", "key_a", "claude-x", "ok", "3.75"],
            [2, 1010, 202, 0, 0, 120],
        ),
    ]
}

#[tokio::test]
async fn ingest_writes_each_call_under_its_workspace_key_and_model() {
    let test = TestStore::new().await.unwrap();
    let store = &test.store;
    let org = store.ensure_default_org(NOW).await.unwrap();
    let first = store
        .ingest_events(org, None, NOW, &events()[..3])
        .await
        .unwrap();
    assert_eq!(first.inserted, [0, 1, 2]);
    // A batch with ids seen before and new ones: the new are stored, the others counted as
    // duplicates, and nothing twice (the ledger's insert is undone and done again).
    let mixed = store
        .ingest_events(org, None, NOW, &events())
        .await
        .unwrap();
    assert_eq!(
        (mixed.inserted, mixed.duplicate),
        (vec![3, 4], vec![0, 1, 2])
    );
    // A retried batch counts nothing twice.
    let retried = store
        .ingest_events(org, None, NOW, &events())
        .await
        .unwrap();
    assert_eq!(retried.duplicate, [0, 1, 2, 3, 4]);
    assert_eq!(store.meter_event_count(org).await.unwrap(), 5);
    let mut expected = vec![
        row(
            ["bedrock", "111111111111", "", "claude", "ok", "0.40"],
            [1, 100, 10, 0, 0, 0],
        ),
        row(
            ["bedrock", "222222222222", "", "claude", "ok", "0.10"],
            [1, 50, 5, 0, 0, 0],
        ),
    ];
    expected.extend(days_18_to_20());
    expected.sort();
    let mut got = rows(&cells(store, org, range("2026-11-18", "2026-11-20")).await);
    got.sort();
    assert_eq!(got, expected);
    // One day alone: the cumulative rows give the day's difference.
    let got = rows(&cells(store, org, range("2026-11-20", "2026-11-20")).await);
    assert_eq!(
        got,
        vec![row(
            ["anthropic", "proj_1", "key_a", "claude-x", "ok", "2.25"],
            [1, 10, 2, 0, 0, 0],
        )]
    );
    assert_eq!(provider_days(store, org).await, expected_provider_days());
    test.teardown().await;
}

/// Migration 27 builds `meter.coverage` from the events already stored; a day whose raw
/// events were pruned comes from `meter_day`, whole, with no workspace.
#[tokio::test]
async fn the_upgrade_builds_the_coverage_rollup_from_stored_events_and_pruned_days() {
    let test = TestStore::unmigrated().await.unwrap();
    let store = &test.store;
    store.migrate_through_for_tests(26).await.unwrap();
    let org = store.ensure_default_org(NOW).await.unwrap();
    store
        .ingest_events(org, None, NOW, &events())
        .await
        .unwrap();
    // Before 27 nothing wrote the kind: take away what this build's ingest wrote.
    store
        .execute_for_tests(
            "DELETE FROM rollup_cum WHERE series_id IN \
             (SELECT id FROM rollup_series WHERE kind = 'meter.coverage')",
        )
        .await
        .unwrap();
    store
        .execute_for_tests(
            "DELETE FROM rollup_cum WHERE series_id IN \
             (SELECT id FROM rollup_series WHERE kind = 'meter.provider')",
        )
        .await
        .unwrap();
    store
        .execute_for_tests(
            "DELETE FROM rollup_series WHERE kind IN ('meter.coverage', 'meter.provider')",
        )
        .await
        .unwrap();
    assert!(
        cells(store, org, range("2026-11-18", "2026-11-20"))
            .await
            .is_empty()
    );
    // Retention pruned 2026-11-18's raw events (the rollups keep them).
    let pruned = store
        .prune_meter_events("2026-11-19".parse::<Day>().unwrap().number())
        .await
        .unwrap();
    assert_eq!(store.meter_event_count(org).await.unwrap(), 3, "{pruned:?}");

    assert_eq!(store.migrate_through_for_tests(27).await.unwrap(), 1);
    let mut expected = vec![row(
        ["bedrock", "", "", "claude", "ok", "0.50"],
        [2, 150, 15, 0, 0, 0],
    )];
    expected.extend(days_18_to_20());
    expected.sort();
    let mut got = rows(&cells(store, org, range("2026-11-18", "2026-11-20")).await);
    got.sort();
    assert_eq!(got, expected);
    assert_eq!(provider_days(store, org).await, expected_provider_days());
    // Later ingest adds to the rows the migration wrote.
    let later = event(
        r#"{"id": "o4", "time": "2026-11-21T09:00:00Z", "provider": "anthropic", "model": "claude-x", "tokens": {"input": 1, "output": 1}, "api_key": "key_a", "workspace": "proj_1", "cost": "0.25"}"#,
        Some("0.25"),
    );
    store.ingest_events(org, None, NOW, &[later]).await.unwrap();
    let got = rows(&cells(store, org, range("2026-11-19", "2026-11-21")).await);
    let claude = got.iter().find(|r| r.3 == "claude-x").unwrap();
    assert_eq!((claude.5.as_str(), claude.6), ("4.00", 3));
    test.teardown().await;
}

/// A batch of a new day makes its PostgreSQL partition without waiting for the ingest
/// transactions open on other days (`CREATE TABLE … PARTITION OF` locked the whole table, so
/// every batch of a new day queued behind every open batch, and every new batch behind it).
#[tokio::test]
async fn a_new_days_partition_does_not_wait_for_open_ingest_transactions() {
    use sqlx::Connection as _;
    let test = TestStore::new().await.unwrap();
    let store = &test.store;
    let spendlens_store::DatabaseLocation::Postgres { url } = store.location().clone() else {
        test.teardown().await;
        return; // SQLite has no partitions.
    };
    let org = store.ensure_default_org(NOW).await.unwrap();
    store
        .ingest_events(org, None, NOW, &events()[..1])
        .await
        .unwrap();
    // Another writer's transaction, open on the events table as an insert holds it.
    let mut other = sqlx::PgConnection::connect(&url).await.unwrap();
    let mut open = other.begin().await.unwrap();
    sqlx::query("LOCK TABLE meter_events IN ROW EXCLUSIVE MODE")
        .execute(&mut *open)
        .await
        .unwrap();
    let new_day = event(
        r#"{"id": "n1", "time": "2026-11-21T10:00:00Z", "provider": "openai", "model": "gpt-4o", "tokens": {"input": 1, "output": 1}}"#,
        None,
    );
    let ingest = store.ingest_events(org, None, NOW, std::slice::from_ref(&new_day));
    let outcome = tokio::time::timeout(std::time::Duration::from_secs(10), ingest)
        .await
        .expect("the new day's batch waited for another transaction on meter_events")
        .unwrap();
    assert_eq!(outcome.inserted, vec![0]);
    open.rollback().await.unwrap();
    other.close().await.unwrap();
    test.teardown().await;
}

/// Migration 33 rebuilds the SQLite ledger without a rowid: every id stored before it is still
/// known after it, so a late retry still counts nothing twice.
#[tokio::test]
async fn the_ledger_keeps_every_id_through_its_rebuild() {
    let test = TestStore::unmigrated().await.unwrap();
    let store = &test.store;
    store.migrate_through_for_tests(32).await.unwrap();
    let org = store.ensure_default_org(NOW).await.unwrap();
    let before = store
        .ingest_events(org, None, NOW, &events())
        .await
        .unwrap();
    assert_eq!(before.inserted.len(), 5);
    store.migrate().await.unwrap();
    assert_eq!(store.meter_event_id_count(org).await.unwrap(), 5);
    let retried = store
        .ingest_events(org, None, NOW, &events())
        .await
        .unwrap();
    assert_eq!(retried.duplicate, [0, 1, 2, 3, 4]);
    assert_eq!(provider_days(store, org).await, expected_provider_days());
    test.teardown().await;
}
