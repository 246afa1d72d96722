//! Coverage kept by a server ([`Reports::coverage`], the views' coverage column): after every
//! kind of write — a call metered today, a late call for a day the bill is final for, a sync, a
//! restate of metered costs, a renamed workspace — what it answers equals a fresh computation,
//! and it computes the comparable days again exactly when they changed (a call metered today
//! does not make it). SQLite, and PostgreSQL when `SPENDLENS_TEST_DATABASE_URL` is set.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a failing test should stop loudly

use spendlens_domain::{
    ApiKeyRecord, ConnectionStatus, CostLine, Day, DayRange, KeyStatus, Money, ProviderKind,
    WorkspaceRecord,
};
use spendlens_query::Reports;
use spendlens_query::coverage::{CoverageQuery, CoverageReport, coverage};
use spendlens_store::testing::TestStore;
use spendlens_store::{ConnectionId, CostChange, OrgId, Store, WindowWrite};
use time::OffsetDateTime;
use time::macros::datetime;

use crate::common;

const NOW: OffsetDateTime = datetime!(2026-12-16 12:00 UTC);

fn day(d: &str) -> Day {
    d.parse().unwrap()
}

fn line(on: &str, key: &str, dollars: &str) -> CostLine {
    CostLine {
        workspace_id: Some("proj_a".to_owned()),
        ..common::bill_line(on, key, dollars)
    }
}

/// A sync of Dec 10–15: the bill, then the connection's watermark (final through Dec 15).
async fn sync(store: &Store, org: OrgId, conn: ConnectionId, lines: &[CostLine]) {
    store
        .replace_window(WindowWrite {
            invoice_months: None,
            org,
            connection: conn,
            window: DayRange::new(day("2026-12-10"), day("2026-12-15")).unwrap(),
            workspaces: &[WorkspaceRecord {
                provider_id: "proj_a".to_owned(),
                name: "Search".to_owned(),
                archived: false,
                created_at: None,
            }],
            api_keys: &[ApiKeyRecord {
                provider_id: "key_a".to_owned(),
                name: Some("app".to_owned()),
                hint: None,
                workspace_id: Some("proj_a".to_owned()),
                status: KeyStatus::Active,
                created_at: None,
                last_used_at: None,
            }],
            api_keys_complete: true,
            lines,
            now: NOW,
        })
        .await
        .unwrap();
    store
        .record_sync_outcome(
            org,
            conn,
            ConnectionStatus::Connected,
            None,
            Some(day("2026-12-15")),
            false,
            None,
            NOW,
            None,
        )
        .await
        .unwrap();
}

fn json(report: &CoverageReport) -> serde_json::Value {
    serde_json::to_value(report).unwrap()
}

/// The kept answer, checked against a fresh computation; and how many computations so far.
async fn kept_equals_fresh(
    reports: &Reports,
    store: &Store,
    org: OrgId,
    query: &CoverageQuery,
) -> (CoverageReport, u64) {
    let kept = reports.coverage(org, query).await.unwrap();
    let fresh = coverage(store, org, query).await.unwrap();
    assert_eq!(json(&kept), json(&fresh));
    (kept, reports.coverage_computed())
}

#[tokio::test]
async fn kept_coverage_equals_a_fresh_one_after_every_write_and_is_computed_only_when_final_days_change()
 {
    let test = TestStore::new().await.unwrap();
    let store = &test.store;
    let org = store.ensure_default_org(NOW).await.unwrap();
    let conn = common::openai_connection(store, org, "openai", NOW).await;
    sync(
        store,
        org,
        conn,
        &[
            line("2026-12-12", "key_a", "10"),
            line("2026-12-13", "key_a", "10"),
            line("2026-12-14", "key_a", "10"),
        ],
    )
    .await;
    common::meter(
        store,
        org,
        NOW,
        &[
            common::call("a", datetime!(2026-12-12 10:00 UTC), "8"),
            common::call("b", datetime!(2026-12-13 10:00 UTC), "8"),
            common::call_of("gpt-4o-mini", "c", datetime!(2026-12-14 10:00 UTC), "8"),
        ],
    )
    .await;
    let reports = Reports::new(store.clone());
    let query = CoverageQuery {
        period: DayRange::new(day("2026-12-10"), day("2026-12-16")).unwrap(),
        providers: Vec::new(),
        daily: true,
    };
    let (first, computed) = kept_equals_fresh(&reports, store, org, &query).await;
    assert_eq!(computed, 1);
    let openai = first.provider(ProviderKind::OpenAi).unwrap();
    assert_eq!(openai.ratio.coverage_pct.unwrap().to_string(), "80.0");
    assert_eq!(
        openai.lag,
        Some(DayRange::new(day("2026-12-16"), day("2026-12-16")).unwrap())
    );

    // Read again: kept.
    let (_, computed) = kept_equals_fresh(&reports, store, org, &query).await;
    assert_eq!(computed, 1);

    // A call metered today (a lag day) shows at once, without computing the final days again.
    common::meter(
        store,
        org,
        NOW,
        &[common::call("d", datetime!(2026-12-16 11:00 UTC), "2")],
    )
    .await;
    let (today, computed) = kept_equals_fresh(&reports, store, org, &query).await;
    assert_eq!(computed, 1);
    assert_eq!(
        today.metered_cost,
        first.metered_cost + Money::parse_units("2").unwrap()
    );

    // A late call for a final day changes the ratio: computed again.
    common::meter(
        store,
        org,
        NOW,
        &[common::call("e", datetime!(2026-12-13 23:00 UTC), "6")],
    )
    .await;
    let (late, computed) = kept_equals_fresh(&reports, store, org, &query).await;
    assert_eq!(computed, 2);
    let ratio = late
        .provider(ProviderKind::OpenAi)
        .unwrap()
        .ratio
        .coverage_pct;
    assert_eq!(ratio.unwrap().to_string(), "100.0");

    // A sync that restates the bill.
    sync(
        store,
        org,
        conn,
        &[
            line("2026-12-12", "key_a", "10"),
            line("2026-12-13", "key_a", "20"),
            line("2026-12-14", "key_a", "10"),
        ],
    )
    .await;
    let (_, computed) = kept_equals_fresh(&reports, store, org, &query).await;
    assert_eq!(computed, 3);

    // A restate that moves no provider total, only cost between models: one call down, the
    // other up by as much (the models' coverage changes; a stale answer would differ).
    let stored = store
        .meter_events_to_restate(
            org,
            i64::from(day("2026-12-12").number()),
            i64::from(day("2026-12-14").number()),
            None,
            100,
        )
        .await
        .unwrap();
    let change = |id: &str, dollars: &str| {
        let stored = stored.iter().find(|e| e.event.id == id).unwrap().clone();
        let mut new = stored.cost.clone();
        new.cost = Some(Money::parse_units(dollars).unwrap());
        CostChange { stored, new }
    };
    let changed = store
        .restate_meter_events(org, &[change("a", "7"), change("c", "9")])
        .await
        .unwrap();
    assert_eq!(changed, 2);
    let (_, computed) = kept_equals_fresh(&reports, store, org, &query).await;
    assert_eq!(computed, 4);

    // A renamed workspace.
    let workspace = store.list_workspaces(org).await.unwrap()[0].id;
    store
        .rename_workspace(
            org,
            workspace,
            "Search (renamed)",
            spendlens_store::Actor {
                name: "admin@example.com",
                at: NOW,
            },
        )
        .await
        .unwrap();
    let (renamed, computed) = kept_equals_fresh(&reports, store, org, &query).await;
    assert_eq!(computed, 5);
    let names: Vec<&str> = renamed.providers[0]
        .workspaces
        .iter()
        .map(|w| w.workspace_name.as_str())
        .collect();
    assert!(names.contains(&"Search (renamed)"), "{names:?}");
    test.teardown().await;
}
