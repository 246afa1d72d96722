//! The rollup engine against brute force: random sequences of window replacements and deltas,
//! then every period read must equal the sum of the facts it covers; concurrent deltas must all
//! count; the migration's backfill must agree with the engine. SQLite, and PostgreSQL when
//! `SPENDLENS_TEST_DATABASE_URL` is set.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a failing test should stop loudly

use std::collections::BTreeMap;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use spendlens_domain::{
    Category, CostLine, Credential, Currency, Day, DayRange, Money, ProviderKind, Quantity,
    TokenCounts, Unit,
};
use spendlens_store::testing::TestStore;
use spendlens_store::vault::Vault;
use spendlens_store::{
    BucketRange, BucketSize, ConnectionId, DimType, DimValue, Fact, Metrics, NewConnection, OrgId,
    RollupFilter, RollupKind, SeriesFilter, SeriesKey, Store, WindowWrite,
};
use time::OffsetDateTime;
use time::macros::datetime;

const NOW: OffsetDateTime = datetime!(2026-11-22 08:00 UTC);

/// A metered-events-like kind: hourly, text and id dimensions, two extra metrics.
const EVENTS: RollupKind = RollupKind {
    name: "test.events",
    bucket: BucketSize::Hour,
    dims: &[("customer", DimType::Text), ("api_key", DimType::Id)],
    extra: &["errors", "unpriced"],
};

#[derive(Clone, Debug)]
enum Op {
    /// Replace buckets [first, first + len) with these facts (bucket offsets modulo len).
    Replace {
        first: i64,
        len: i64,
        facts: Vec<RawFact>,
    },
    Deltas(Vec<RawFact>),
}

/// (customer, key or none, bucket, [cost, lines, errors, unpriced]).
type RawFact = (u8, u8, i64, [i64; 4]);

fn raw_fact() -> impl Strategy<Value = RawFact> {
    (
        0u8..3,
        0u8..3,
        0i64..40,
        [-5i64..100, 0i64..4, 0i64..3, -2i64..3],
    )
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0i64..40, 1i64..10, prop::collection::vec(raw_fact(), 0..8))
            .prop_map(|(first, len, facts)| Op::Replace { first, len, facts }),
        prop::collection::vec(raw_fact(), 1..6).prop_map(Op::Deltas),
    ]
}

fn fact(connection: ConnectionId, (customer, key, bucket, m): RawFact) -> Fact {
    let mut metrics = Metrics::default();
    metrics.totals.cost = Money::from_nanos(m[0]);
    metrics.totals.lines = m[1];
    metrics.extra[0] = m[2];
    metrics.extra[1] = m[3];
    Fact {
        series: SeriesKey {
            connection: Some(connection),
            dims: vec![
                DimValue::Text(format!("customer-{customer}")),
                DimValue::Id((key < 2).then_some(i64::from(key) * 1000)),
            ],
        },
        bucket,
        metrics,
    }
}

/// The facts as they should stand, per (series, bucket), with every bucket that ever had one.
type Truth = BTreeMap<(SeriesKey, i64), Metrics>;

fn brute_force(
    truth: &Truth,
    filter: Option<&str>,
    current: BucketRange,
    previous: BucketRange,
) -> BTreeMap<SeriesKey, (Metrics, Metrics)> {
    let span = (previous.first.min(current.first), current.last);
    let mut out: BTreeMap<SeriesKey, (Metrics, Metrics)> = BTreeMap::new();
    for ((series, bucket), metrics) in truth {
        if filter.is_some_and(|c| series.dims[0] != DimValue::Text(c.to_owned())) {
            continue;
        }
        if *bucket < span.0 || *bucket > span.1 {
            continue;
        }
        let entry = out.entry(series.clone()).or_default();
        if (current.first..=current.last).contains(bucket) {
            entry.0 = entry.0.plus(*metrics);
        }
        if (previous.first..=previous.last).contains(bucket) {
            entry.1 = entry.1.plus(*metrics);
        }
    }
    out
}

async fn run_ops(
    store: &Store,
    org: OrgId,
    connection: ConnectionId,
    ops: Vec<Op>,
    reads: Vec<(i64, i64, i64, bool)>,
) -> Result<(), TestCaseError> {
    let mut truth: Truth = BTreeMap::new();
    for op in ops {
        match op {
            Op::Replace { first, len, facts } => {
                let facts: Vec<Fact> = facts
                    .into_iter()
                    .map(|(c, k, b, m)| fact(connection, (c, k, first + b % len, m)))
                    .collect();
                let window = BucketRange {
                    first,
                    last: first + len - 1,
                };
                store_replace(store, org, connection, window, &facts).await;
                truth.retain(|(_, bucket), _| *bucket < window.first || *bucket > window.last);
                for f in facts {
                    let at = truth.entry((f.series, f.bucket)).or_default();
                    *at = at.plus(f.metrics);
                }
            }
            Op::Deltas(raw) => {
                let facts: Vec<Fact> = raw.into_iter().map(|r| fact(connection, r)).collect();
                store.add_deltas(org, &EVENTS, &facts).await.unwrap();
                for f in facts {
                    let at = truth.entry((f.series, f.bucket)).or_default();
                    *at = at.plus(f.metrics);
                }
            }
        }
        for (from, len, gap, filtered) in &reads {
            let current = BucketRange {
                first: *from,
                last: from + len,
            };
            let previous = BucketRange {
                first: from - len - 1 - gap,
                last: from - 1 - gap,
            };
            let customer = filtered.then_some("customer-1");
            let filter = SeriesFilter {
                connections: Some(vec![connection]),
                dims: customer
                    .map(|c| vec![(0, vec![DimValue::Text(c.to_owned())])])
                    .unwrap_or_default(),
            };
            let rows = store
                .read_period(org, &EVENTS, &filter, current, Some(previous))
                .await
                .unwrap();
            let got: BTreeMap<SeriesKey, (Metrics, Metrics)> = rows
                .into_iter()
                .map(|r| (r.series, (r.current, r.previous)))
                .filter(|(_, (c, p))| !(c.is_zero() && p.is_zero()))
                .collect();
            let mut want = brute_force(&truth, customer, current, previous);
            want.retain(|_, (c, p)| !(c.is_zero() && p.is_zero()));
            prop_assert_eq!(
                got,
                want.clone(),
                "current {:?} previous {:?}",
                current,
                previous
            );
            // Summed in the database: per customer, and all series together.
            for keep in [&[0usize][..], &[]] {
                let got: BTreeMap<SeriesKey, (Metrics, Metrics)> = store
                    .read_period_grouped(org, &EVENTS, &filter, current, Some(previous), keep)
                    .await
                    .unwrap()
                    .into_iter()
                    .map(|r| (r.series, (r.current, r.previous)))
                    .filter(|(_, (c, p))| !(c.is_zero() && p.is_zero()))
                    .collect();
                let mut want_grouped: BTreeMap<SeriesKey, (Metrics, Metrics)> = BTreeMap::new();
                for (series, (c, p)) in &want {
                    let group = SeriesKey {
                        connection: None,
                        dims: vec![
                            if keep.contains(&0) {
                                series.dims[0].clone()
                            } else {
                                DimValue::Text(String::new())
                            },
                            DimValue::Id(None),
                        ],
                    };
                    let at = want_grouped.entry(group).or_default();
                    *at = (at.0.plus(*c), at.1.plus(*p));
                }
                want_grouped.retain(|_, (c, p)| !(c.is_zero() && p.is_zero()));
                prop_assert_eq!(got, want_grouped, "grouped by {:?}", keep);
            }
            // Without a previous period, the current one alone.
            let alone: BTreeMap<SeriesKey, Metrics> = store
                .read_period(org, &EVENTS, &filter, current, None)
                .await
                .unwrap()
                .into_iter()
                .filter(|r| !r.current.is_zero())
                .map(|r| (r.series, r.current))
                .collect();
            let want_alone: BTreeMap<SeriesKey, Metrics> =
                brute_force(&truth, customer, current, current)
                    .into_iter()
                    .filter(|(_, (c, _))| !c.is_zero())
                    .map(|(k, (c, _))| (k, c))
                    .collect();
            prop_assert_eq!(alone, want_alone);
        }
    }
    Ok(())
}

async fn store_replace(
    store: &Store,
    org: OrgId,
    connection: ConnectionId,
    window: BucketRange,
    facts: &[Fact],
) {
    store
        .replace_rollup_window(org, &EVENTS, Some(connection), window, facts)
        .await
        .unwrap();
}

#[test]
fn every_period_read_equals_the_brute_force_sum_of_its_facts() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let test = runtime.block_on(TestStore::new()).unwrap();
    let org = runtime
        .block_on(test.store.ensure_default_org(NOW))
        .unwrap();
    let mut runner = TestRunner::new(Config {
        cases: 40,
        ..Config::default()
    });
    let case = std::cell::Cell::new(0i64);
    let strategy = (
        prop::collection::vec(op(), 1..10),
        prop::collection::vec((0i64..45, 0i64..20, 0i64..3, any::<bool>()), 1..3),
    );
    let result = runner.run(&strategy, |(ops, reads)| {
        // Each case writes series of a connection id of its own (the engine does not need
        // the connection to exist), so cases never see each other's facts.
        case.set(case.get() + 1);
        runtime.block_on(run_ops(
            &test.store,
            org,
            ConnectionId(1000 + case.get()),
            ops,
            reads,
        ))
    });
    runtime.block_on(test.teardown());
    result.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_deltas_are_never_lost() {
    let test = TestStore::new().await.unwrap();
    let store = test.store.clone();
    let org = store.ensure_default_org(NOW).await.unwrap();
    let connection = ConnectionId(7);
    let mut tasks = Vec::new();
    for writer in 0..6i64 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            for round in 0..15i64 {
                // Every writer touches the same series, in differing orders and buckets.
                let facts: Vec<Fact> = (0..3u8)
                    .map(|customer| {
                        let customer = (customer + (writer as u8)) % 3;
                        fact(
                            connection,
                            (customer, 0, (round * 7 + writer) % 20, [1, 1, 0, 0]),
                        )
                    })
                    .collect();
                store.add_deltas(org, &EVENTS, &facts).await.unwrap();
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let rows = store
        .read_period(
            org,
            &EVENTS,
            &SeriesFilter::default(),
            BucketRange { first: 0, last: 30 },
            None,
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), 3);
    for row in rows {
        assert_eq!(row.current.totals.lines, 6 * 15, "{:?}", row.series);
        assert_eq!(row.current.totals.cost.nanos(), 6 * 15);
    }
    test.teardown().await;
}

/// A second kind like [`EVENTS`], for writes of several kinds in one transaction.
const EVENTS_DAILY: RollupKind = RollupKind {
    name: "test.events_daily",
    bucket: BucketSize::Day,
    dims: &[("customer", DimType::Text), ("api_key", DimType::Id)],
    extra: &["errors", "unpriced"],
};

/// Writers of two kinds in one transaction each, half of them naming the kinds in the other
/// order: every series is locked in one id order whatever the kinds' order, so PostgreSQL
/// finds no deadlock (locking kind by kind, opposite orders deadlocked: 40P01) and no delta
/// is lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_deltas_of_several_kinds_never_deadlock_nor_get_lost() {
    let test = TestStore::new().await.unwrap();
    let store = test.store.clone();
    let org = store.ensure_default_org(NOW).await.unwrap();
    let connection = ConnectionId(8);
    // The series exist first: new series are inserted in one order (kinds as the caller
    // names them, then key order), which a caller keeps by naming its kinds in one order.
    let seed: Vec<Fact> = (0..3u8)
        .map(|customer| fact(connection, (customer, 0, 0, [0, 0, 0, 0])))
        .collect();
    store
        .add_deltas_of(org, &[(&EVENTS, &seed), (&EVENTS_DAILY, &seed)])
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for writer in 0..6i64 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            for round in 0..15i64 {
                let facts: Vec<Fact> = (0..3u8)
                    .map(|customer| fact(connection, (customer, 0, round % 5, [1, 1, 0, 0])))
                    .collect();
                let kinds: [(&RollupKind, &[Fact]); 2] = if writer % 2 == 0 {
                    [(&EVENTS, &facts), (&EVENTS_DAILY, &facts)]
                } else {
                    [(&EVENTS_DAILY, &facts), (&EVENTS, &facts)]
                };
                store.add_deltas_of(org, &kinds).await.unwrap();
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    for kind in [&EVENTS, &EVENTS_DAILY] {
        let rows = store
            .read_period(
                org,
                kind,
                &SeriesFilter::default(),
                BucketRange { first: 0, last: 30 },
                None,
            )
            .await
            .unwrap();
        assert_eq!(rows.len(), 3, "{}", kind.name);
        for row in rows {
            assert_eq!(
                row.current.totals.lines,
                6 * 15,
                "{} {:?}",
                kind.name,
                row.series
            );
        }
    }
    test.teardown().await;
}

fn image_line(on: &str, key: Option<&str>, detail: &str, nanos: i64) -> CostLine {
    CostLine {
        day: on.parse().unwrap(),
        workspace_id: Some("proj_a".into()),
        api_key_id: key.map(str::to_owned),
        model: "dall-e-3".into(),
        category: Category::Image,
        unit: Unit::parse("images").unwrap(),
        detail: detail.into(),
        tokens: TokenCounts::default(),
        requests: None,
        quantity: Quantity::from_micros(2_000_000),
        cost: Money::from_nanos(nanos),
        credits: Money::from_nanos(nanos / 10),
        currency: Currency::usd(),
        estimated: false,
        allocated: key.is_some(),
        billing: None,
        unpriced: false,
    }
}

fn text_line(on: &str, key: Option<&str>, model: &str, nanos: i64) -> CostLine {
    CostLine {
        category: Category::Text,
        unit: Unit::tokens(),
        model: model.into(),
        detail: String::new(),
        tokens: TokenCounts {
            input: 100,
            output: 10,
            cache_read: 1,
            cache_write: 0,
        },
        requests: key.map(|_| 3),
        quantity: Quantity::ZERO,
        ..image_line(on, key, "", nanos)
    }
}

async fn new_connection(store: &Store, org: OrgId, name: &str) -> ConnectionId {
    let credential = Credential::parse(
        ProviderKind::OpenAi,
        "sk-admin-AbCdefghijklmnopqrstuvwxYz12",
    )
    .unwrap();
    store
        .create_connection(
            org,
            NewConnection {
                name,
                credential: &credential,
                base_url: None,
                sync_interval_secs: 3600,
                backfill_days: 90,
                lookback_days: Some(3),
            },
            &Vault::from_key([1; 32]),
            NOW,
        )
        .await
        .unwrap()
        .id
}

async fn write_window(
    store: &Store,
    org: OrgId,
    conn: ConnectionId,
    window: DayRange,
    lines: &[CostLine],
) {
    store
        .replace_window(WindowWrite {
            invoice_months: None,
            org,
            connection: conn,
            window,
            workspaces: &[],
            api_keys: &[],
            api_keys_complete: false,
            lines,
            now: NOW,
        })
        .await
        .unwrap();
}

/// Every cost read of the views, as text (ids included), for comparing two states.
async fn every_view(store: &Store, org: OrgId, period: DayRange) -> String {
    let filter = RollupFilter::default();
    let previous = Some(period.previous().unwrap());
    let mut keys = store
        .totals_by_key(org, period, previous, &filter)
        .await
        .unwrap();
    keys.sort_by_key(|k| (k.connection_id, k.workspace_id, k.api_key_id));
    let mut workspaces = store
        .totals_by_workspace(org, period, previous, &filter)
        .await
        .unwrap();
    workspaces.sort_by_key(|w| (w.connection_id, w.workspace_id));
    let mut units = store.totals_by_unit(org, period, &filter).await.unwrap();
    units.sort_by(|a, b| {
        (a.connection_id, a.workspace_id, a.api_key_id, &a.unit).cmp(&(
            b.connection_id,
            b.workspace_id,
            b.api_key_id,
            &b.unit,
        ))
    });
    format!(
        "{:?}\n{keys:?}\n{workspaces:?}\n{units:?}\n{:?}\n{:?}",
        store
            .totals_by_connection(org, period, previous, &filter)
            .await
            .unwrap(),
        store
            .totals_by_model(org, period, previous, &filter)
            .await
            .unwrap(),
        store.image_totals(org, period, &filter).await.unwrap(),
    )
}

#[tokio::test]
async fn the_migration_backfill_summarizes_lines_as_the_engine_does() {
    let test = TestStore::new().await.unwrap();
    let store = &test.store;
    let org = store.ensure_default_org(NOW).await.unwrap();
    let conn = new_connection(store, org, "c").await;
    let day = |d: &str| -> Day { d.parse().unwrap() };
    let window = DayRange::new(day("2026-11-01"), day("2026-11-06")).unwrap();
    let lines = vec![
        image_line("2026-11-01", Some("key_1"), "1024x1024", 40_000_000),
        image_line("2026-11-03", None, "1024x1024", 80_000_000),
        image_line("2026-11-03", Some("key_1"), "512x512", 20_000_000),
        text_line("2026-11-02", Some("key_1"), "gpt-4o", 7_000_000),
        text_line("2026-11-05", None, "gpt-4o-mini", 9_000_000),
        // Usage with no known price: counted apart, its requests too.
        CostLine {
            category: Category::Image,
            unit: Unit::parse("point_usage").unwrap(),
            model: "mj".into(),
            requests: Some(4),
            quantity: Quantity::from_micros(96_000_000),
            cost: Money::ZERO,
            credits: Money::ZERO,
            unpriced: true,
            ..image_line("2026-11-02", Some("key_1"), "", 0)
        },
    ];
    write_window(store, org, conn, window, &lines).await;
    // A second window over part of the first, as a look-back sync would write.
    let again = DayRange::new(day("2026-11-03"), day("2026-11-04")).unwrap();
    write_window(
        store,
        org,
        conn,
        again,
        &[text_line("2026-11-04", Some("key_2"), "o3", 5)],
    )
    .await;
    let periods = [
        window,
        DayRange::new(day("2026-11-03"), day("2026-11-08")).unwrap(),
        DayRange::new(day("2026-11-02"), day("2026-11-02")).unwrap(),
    ];
    let mut before = Vec::new();
    for period in periods {
        before.push(every_view(store, org, period).await);
    }
    assert!(
        before[0].contains("1024x1024") && !before[0].contains("512x512"),
        "{}",
        before[0]
    );
    assert!(
        before[0].contains("unit: Unit(\"images\")")
            && before[0].contains("unit: Unit(\"tokens\")")
            && before[0].contains("unpriced_lines: 1, unpriced_requests: 4"),
        "{}",
        before[0]
    );
    store.rebuild_cost_rollups().await.unwrap();
    for (period, expected) in periods.into_iter().zip(before) {
        assert_eq!(every_view(store, org, period).await, expected, "{period}");
    }
    test.teardown().await;
}

#[tokio::test]
async fn deleting_a_connection_removes_its_series_of_every_kind() {
    let test = TestStore::new().await.unwrap();
    let store = &test.store;
    let org = store.ensure_default_org(NOW).await.unwrap();
    let keep = new_connection(store, org, "keep").await;
    let drop = new_connection(store, org, "drop").await;
    for conn in [keep, drop] {
        store
            .add_deltas(org, &EVENTS, &[fact(conn, (0, 0, 5, [3, 1, 0, 0]))])
            .await
            .unwrap();
        let day = "2026-11-01".parse::<Day>().unwrap();
        write_window(
            store,
            org,
            conn,
            DayRange::single(day),
            &[text_line("2026-11-01", None, "m", 9)],
        )
        .await;
    }
    store
        .delete_connection(
            org,
            drop,
            spendlens_store::Actor {
                name: "test",
                at: NOW,
            },
            "",
        )
        .await
        .unwrap();
    let rows = store
        .read_period(
            org,
            &EVENTS,
            &SeriesFilter::default(),
            BucketRange { first: 0, last: 9 },
            None,
        )
        .await
        .unwrap();
    assert_eq!(
        rows.iter().map(|r| r.series.connection).collect::<Vec<_>>(),
        vec![Some(keep)]
    );
    let day = "2026-11-01".parse::<Day>().unwrap();
    let left = store
        .totals_by_connection(org, DayRange::single(day), None, &RollupFilter::default())
        .await
        .unwrap();
    assert_eq!(
        left.iter().map(|r| r.connection_id).collect::<Vec<_>>(),
        vec![keep]
    );
    test.teardown().await;
}

/// A cost kind for the revision test (the bill's kinds are named `cost.*`).
const BILLED: RollupKind = RollupKind {
    name: "cost.test",
    bucket: BucketSize::Day,
    dims: &[("customer", DimType::Text), ("api_key", DimType::Id)],
    extra: &["errors", "unpriced"],
};

#[tokio::test]
async fn every_write_of_the_bill_moves_the_rollup_revision_and_metered_deltas_do_not() {
    let test = TestStore::new().await.unwrap();
    let store = &test.store;
    let org = store.ensure_default_org(NOW).await.unwrap();
    let conn = new_connection(store, org, "c").await;
    let gone = new_connection(store, org, "gone").await;
    assert_eq!(store.rollup_revision(org).await.unwrap(), 0);
    let mut seen = vec![0];
    let mut moved = |revision: i64, what: &str| {
        assert!(
            revision > *seen.last().unwrap(),
            "{what}: {revision} after {seen:?}"
        );
        seen.push(revision);
    };
    let day = "2026-11-01".parse::<Day>().unwrap();
    write_window(
        store,
        org,
        conn,
        DayRange::single(day),
        &[text_line("2026-11-01", None, "m", 9)],
    )
    .await;
    moved(store.rollup_revision(org).await.unwrap(), "a window");
    // A window logs what it rewrote, for a reader that kept the bill to read just that again.
    let at_window = store.rollup_revision(org).await.unwrap();
    assert_eq!(
        store.billed_changes(org, 0, at_window).await.unwrap(),
        Some(vec![(conn, DayRange::single(day))])
    );
    assert_eq!(
        store
            .billed_changes(org, at_window, at_window)
            .await
            .unwrap(),
        Some(vec![])
    );
    // The same window again (a look-back sync), even with nothing in it.
    write_window(store, org, gone, DayRange::single(day), &[]).await;
    moved(store.rollup_revision(org).await.unwrap(), "an empty window");
    let at_empty = store.rollup_revision(org).await.unwrap();
    assert_eq!(
        store
            .billed_changes(org, at_window, at_empty)
            .await
            .unwrap(),
        Some(vec![(gone, DayRange::single(day))])
    );
    store
        .add_deltas(org, &BILLED, &[fact(conn, (0, 0, 5, [3, 1, 0, 0]))])
        .await
        .unwrap();
    moved(store.rollup_revision(org).await.unwrap(), "cost deltas");
    // Any other write of the bill logs no window: a reader behind it reads the whole bill.
    let at_deltas = store.rollup_revision(org).await.unwrap();
    assert_eq!(store.billed_changes(org, 0, at_deltas).await.unwrap(), None);
    assert_eq!(
        store
            .billed_changes(org, at_empty, at_deltas)
            .await
            .unwrap(),
        None
    );
    // Metered deltas (ingest) are read fresh: they leave it.
    let before = store.rollup_revision(org).await.unwrap();
    store
        .add_deltas(org, &EVENTS, &[fact(conn, (0, 0, 5, [3, 1, 0, 0]))])
        .await
        .unwrap();
    assert_eq!(store.rollup_revision(org).await.unwrap(), before);
    store
        .delete_connection(
            org,
            gone,
            spendlens_store::Actor {
                name: "test",
                at: NOW,
            },
            "",
        )
        .await
        .unwrap();
    moved(
        store.rollup_revision(org).await.unwrap(),
        "a deleted connection",
    );
    let at_delete = store.rollup_revision(org).await.unwrap();
    assert_eq!(
        store
            .billed_changes(org, at_deltas, at_delete)
            .await
            .unwrap(),
        None
    );
    store.rebuild_cost_rollups().await.unwrap();
    moved(store.rollup_revision(org).await.unwrap(), "a rebuild");
    let at_rebuild = store.rollup_revision(org).await.unwrap();
    assert_eq!(
        store
            .billed_changes(org, at_delete, at_rebuild)
            .await
            .unwrap(),
        None
    );
    // Another organization's revision is its own.
    let other = store.create_org("other", NOW).await.unwrap();
    let at = store.rollup_revision(other).await.unwrap();
    write_window(
        store,
        org,
        conn,
        DayRange::single(day),
        &[text_line("2026-11-01", None, "m", 9)],
    )
    .await;
    moved(store.rollup_revision(org).await.unwrap(), "a window again");
    assert_eq!(
        store
            .billed_changes(org, at_rebuild, store.rollup_revision(org).await.unwrap())
            .await
            .unwrap(),
        Some(vec![(conn, DayRange::single(day))])
    );
    assert_eq!(store.rollup_revision(other).await.unwrap(), at);
    test.teardown().await;
}
