//! The Keys view's spend-over-time chart read apart: only the largest keys' series day by day
//! and the rest as every line less theirs, never different from the chart read from every
//! key's series (the stacks drawn apart equal, the rest equal to the sum of the others, over
//! daily and weekly buckets); and read from every series when a search or cost bound hides
//! rows that carry spend. SQLite, and PostgreSQL when `SPENDLENS_TEST_DATABASE_URL` is set.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a failing test should stop loudly

use spendlens_domain::{ApiKeyRecord, CostLine, Day, DayRange, KeyStatus, Money, ProviderKind};
use spendlens_query::over_time::{self, OverTime, Target, assemble};
use spendlens_query::{Report, View, ViewParams, ViewQuery};
use spendlens_store::testing::TestStore;
use spendlens_store::{DailyBy, OrgId, RollupFilter, Store, WindowWrite};
use time::OffsetDateTime;
use time::macros::datetime;

use crate::common;

const NOW: OffsetDateTime = datetime!(2026-12-16 12:00 UTC);
const KEYS: usize = 12;

fn day(text: &str) -> Day {
    text.parse().unwrap()
}

fn key(k: usize) -> ApiKeyRecord {
    ApiKeyRecord {
        provider_id: format!("key_{k}"),
        name: Some(format!("service-{k}")),
        hint: None,
        workspace_id: None,
        status: KeyStatus::Active,
        created_at: None,
        last_used_at: None,
    }
}

/// Twelve keys over a hundred days: key k spends on every (k+1)-th day, more the higher k;
/// key 0 only lines that cost nothing; key 11 is idle; keys 5 and 6 tie; spend no key carries.
fn lines() -> Vec<CostLine> {
    let first = day("2026-09-01");
    let mut out = Vec::new();
    for offset in 0..106 {
        let d = first.add_days(offset).unwrap().to_string();
        for k in 0..KEYS - 1 {
            // Keys 5 and 6 spend the same on the same days: a tie, drawn in label order.
            let every = if k == 6 { 6 } else { k as i64 + 1 };
            if offset % every != 0 {
                continue;
            }
            let nanos = match k {
                0 => 0,
                6 => 5_000_000 + offset * 1_000,
                _ => k as i64 * 1_000_000 + offset * 1_000,
            };
            out.push(common::bill_line(
                &d,
                &format!("key_{k}"),
                &Money::from_nanos(nanos).to_exact_string(),
            ));
        }
        if offset % 5 == 0 {
            let mut keyless = common::bill_line(&d, "unused", "0.25");
            keyless.api_key_id = None;
            out.push(keyless);
        }
    }
    out
}

async fn fill(store: &Store) -> OrgId {
    let org = store.ensure_default_org(NOW).await.unwrap();
    let conn = common::openai_connection(store, org, "openai", NOW).await;
    let keys: Vec<ApiKeyRecord> = (0..KEYS).map(key).collect();
    store
        .replace_window(WindowWrite {
            invoice_months: None,
            org,
            connection: conn,
            window: DayRange::new(day("2026-09-01"), day("2026-12-15")).unwrap(),
            workspaces: &[],
            api_keys: &keys,
            api_keys_complete: true,
            lines: &lines(),
            now: NOW,
        })
        .await
        .unwrap();
    org
}

fn query(params: ViewParams) -> ViewQuery {
    ViewQuery::parse(View::Keys, &params, day("2026-12-16")).unwrap()
}

fn range(from: &str, to: &str) -> ViewParams {
    ViewParams {
        from: Some(from.into()),
        to: Some(to.into()),
        ..ViewParams::default()
    }
}

/// The chart from every key's series: each row of the report a stack, each day of every
/// series a point, as the chart was read before stacks were read apart.
async fn every_series(store: &Store, org: OrgId, query: &ViewQuery, report: &Report) -> OverTime {
    let Report::Keys(r) = report else {
        panic!("a Keys report")
    };
    let keyless = r.rows.iter().find(|row| row.key_id.is_none()).map(|row| {
        let workspace = row.workspace.clone().unwrap_or_default();
        (
            Target::Keyless {
                provider: ProviderKind::OpenAi,
                workspace: workspace.clone(),
            },
            format!("(no API key) {workspace}"),
        )
    });
    let shown = r
        .rows
        .iter()
        .map(|row| match row.key_id {
            Some(id) => (Target::Key(id), row.key_name.clone()),
            None => keyless.clone().unwrap(),
        })
        .collect();
    let daily = store
        .daily_cost(org, DailyBy::Key, query.period, &RollupFilter::default())
        .await
        .unwrap();
    let points = daily.into_iter().filter_map(|d| {
        let target = match d.api_key_id {
            Some(id) => Target::Key(id),
            None => keyless.clone()?.0,
        };
        Some((target, d.day, d.cost))
    });
    assemble(query.period, shown, points)
}

fn report_total(report: &Report) -> Money {
    let Report::Keys(r) = report else {
        panic!("a Keys report")
    };
    r.rows.iter().map(|row| row.metrics.cost).sum()
}

#[tokio::test]
async fn the_largest_keys_apart_and_the_rest_together_equal_the_chart_of_every_series() {
    let test = TestStore::new().await.unwrap();
    let store = &test.store;
    let org = fill(store).await;
    // A fortnight (daily buckets) and a hundred days (weekly buckets).
    for params in [
        range("2026-12-01", "2026-12-15"),
        range("2026-09-01", "2026-12-15"),
    ] {
        let query = query(params);
        let report = spendlens_query::report(store, org, &query).await.unwrap();
        let whole = every_series(store, org, &query, &report).await;
        assert!(whole.stacks.len() > 6, "{}", whole.stacks.len());
        for top in [1, 3, 6] {
            let chart = over_time::over_time(store, org, &query, &report, top)
                .await
                .unwrap();
            assert_eq!(chart.weekly, whole.weekly);
            assert_eq!(chart.buckets, whole.buckets);
            assert_eq!(chart.stacks, whole.stacks[..top], "top {top}");
            let other = chart.other.as_ref().expect("the rest, read together");
            let rest = &whole.stacks[top..];
            assert_eq!(other.rows, rest.len(), "top {top}");
            for (b, amount) in other.amounts.iter().enumerate() {
                let expected: Money = rest.iter().map(|s| s.amounts[b]).sum();
                assert_eq!(*amount, expected, "top {top}, bucket {b}");
            }
            assert_eq!(chart.total(), whole.total());
            assert_eq!(chart.total(), report_total(&report));
            for b in 0..chart.buckets.len() {
                assert_eq!(chart.bucket_total(b), whole.bucket_total(b));
            }
        }
        // As many stacks apart as rows with spend: every stack, nothing left over.
        let all = over_time::over_time(store, org, &query, &report, 100)
            .await
            .unwrap();
        assert_eq!(all, whole);
    }
    test.teardown().await;
}

#[tokio::test]
async fn a_search_or_cost_bound_that_hides_spend_reads_every_series() {
    let test = TestStore::new().await.unwrap();
    let store = &test.store;
    let org = fill(store).await;
    let cases = [
        // Hides spend no key carries (it has no provider key id to match): more rows than
        // drawn apart, and the lines are not the rows'.
        ViewParams {
            search: Some("key_".into()),
            ..range("2026-12-01", "2026-12-15")
        },
        // Hides the cheaper keys.
        ViewParams {
            min_cost: Some("0.05".into()),
            ..range("2026-12-01", "2026-12-15")
        },
        // Leaves fewer rows than drawn apart: only theirs are read.
        ViewParams {
            search: Some("service-1".into()),
            ..range("2026-09-01", "2026-12-15")
        },
    ];
    for params in cases {
        let query = query(params);
        let report = spendlens_query::report(store, org, &query).await.unwrap();
        let whole = every_series(store, org, &query, &report).await;
        assert!(!whole.stacks.is_empty());
        let chart = over_time::over_time(store, org, &query, &report, 3)
            .await
            .unwrap();
        assert_eq!(chart, whole, "{query:?}");
        assert!(chart.other.is_none());
        assert_eq!(chart.total(), report_total(&report));
    }
    test.teardown().await;
}
