//! The metered calls forecasts and anomalies read, kept by [`Reports::spend_days`]: the days
//! before today read once while no call arrives for them, today's read fresh on every load;
//! after a call today, a late call, syncs, a restate of metered costs and a new day, what it gives
//! equals a fresh read, and it reads the past days again exactly when they changed. SQLite, and
//! PostgreSQL when `SPENDLENS_TEST_DATABASE_URL` is set.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a failing test should stop loudly

use spendlens_domain::{ApiKeyRecord, DayRange, KeyStatus, Money};
use spendlens_query::Reports;
use spendlens_query::spend_days::{Source, SpendDays};
use spendlens_store::testing::TestStore;
use spendlens_store::{CostChange, OrgId, Store, WindowWrite};
use time::OffsetDateTime;
use time::macros::datetime;

use crate::common;

const NOW: OffsetDateTime = datetime!(2026-12-16 12:00 UTC);

/// Every metered cell as text, whole.
fn metered(data: &SpendDays) -> Vec<String> {
    let mut out: Vec<String> = data
        .cells
        .iter()
        .filter(|c| c.source == Source::Metered)
        .map(|c| format!("{c:?}"))
        .collect();
    out.sort();
    out
}

/// The kept read at `now`, checked against a fresh one; and how many past reads so far.
async fn kept_equals_fresh(
    reports: &Reports,
    store: &Store,
    org: OrgId,
    now: OffsetDateTime,
) -> (Vec<String>, u64) {
    let kept = metered(&reports.spend_days(org, now).await.unwrap());
    let fresh = metered(&SpendDays::load(store, org, now).await.unwrap());
    assert_eq!(kept, fresh);
    (kept, reports.metered_reads())
}

#[tokio::test]
async fn metered_days_are_kept_until_a_call_arrives_for_them_and_never_differ_from_a_fresh_read() {
    let test = TestStore::new().await.unwrap();
    let store = &test.store;
    let org = store.ensure_default_org(NOW).await.unwrap();
    common::meter(
        store,
        org,
        NOW,
        &[
            // Before the 41 days read (active before them), in them, and today.
            common::call_for(
                "gpt-4o",
                "acme",
                "old",
                datetime!(2026-10-01 10:00 UTC),
                "1",
            ),
            common::call_for(
                "gpt-4o",
                "hooli",
                "old2",
                datetime!(2026-10-02 10:00 UTC),
                "1",
            ),
            common::call_for("gpt-4o", "acme", "a", datetime!(2026-12-12 10:00 UTC), "8"),
            common::call_for(
                "gpt-4o-mini",
                "globex",
                "b",
                datetime!(2026-12-14 10:00 UTC),
                "8",
            ),
            common::call_for("gpt-4o", "acme", "c", datetime!(2026-12-16 09:00 UTC), "2"),
        ],
    )
    .await;
    let reports = Reports::new(store.clone());
    let (first, reads) = kept_equals_fresh(&reports, store, org, NOW).await;
    assert_eq!(reads, 1);
    assert_eq!(first.len(), 2, "{first:?}");

    // Calls today, one of a customer never seen: read fresh, the past kept.
    common::meter(
        store,
        org,
        NOW,
        &[
            common::call_for("gpt-4o", "acme", "d", datetime!(2026-12-16 11:00 UTC), "3"),
            common::call_for(
                "gpt-4o",
                "initech",
                "e",
                datetime!(2026-12-16 11:30 UTC),
                "4",
            ),
            // Metered on a day kept, and today.
            common::call_for(
                "gpt-4o-mini",
                "globex",
                "i",
                datetime!(2026-12-16 11:50 UTC),
                "1",
            ),
            // Metered before the days read, then not until today.
            common::call_for("gpt-4o", "hooli", "h", datetime!(2026-12-16 11:40 UTC), "4"),
        ],
    )
    .await;
    let (today, reads) = kept_equals_fresh(&reports, store, org, NOW).await;
    assert_eq!(reads, 1);
    assert_eq!(today.len(), 4, "{today:#?}");
    assert_ne!(today, first);

    // A late call for a past day: the past is read again.
    common::meter(
        store,
        org,
        NOW,
        &[common::call_for(
            "gpt-4o-mini",
            "globex",
            "f",
            datetime!(2026-12-13 23:00 UTC),
            "5",
        )],
    )
    .await;
    let (_, reads) = kept_equals_fresh(&reports, store, org, NOW).await;
    assert_eq!(reads, 2);

    // Syncs move the rollup revision and log each move: the metered days stay kept.
    let conn = common::openai_connection(store, org, "openai", NOW).await;
    for dollars in ["5", "6"] {
        store
            .replace_window(WindowWrite {
                invoice_months: None,
                org,
                connection: conn,
                window: DayRange::new("2026-12-10".parse().unwrap(), "2026-12-15".parse().unwrap())
                    .unwrap(),
                workspaces: &[],
                api_keys: &[ApiKeyRecord {
                    provider_id: "key_a".to_owned(),
                    name: Some("app".to_owned()),
                    hint: None,
                    workspace_id: None,
                    status: KeyStatus::Active,
                    created_at: None,
                    last_used_at: None,
                }],
                api_keys_complete: true,
                lines: &[common::bill_line("2026-12-14", "key_a", dollars)],
                now: NOW,
            })
            .await
            .unwrap();
        let (_, reads) = kept_equals_fresh(&reports, store, org, NOW).await;
        assert_eq!(reads, 2);
    }

    // A restate that moves cost between two cells and no total.
    let stored = store
        .meter_events_to_restate(org, 20_799, 20_801, None, 100)
        .await
        .unwrap();
    let change = |id: &str, dollars: &str| {
        let stored = stored.iter().find(|e| e.event.id == id).unwrap().clone();
        let mut new = stored.cost.clone();
        new.cost = Some(Money::parse_units(dollars).unwrap());
        CostChange { stored, new }
    };
    let changed = store
        .restate_meter_events(org, &[change("a", "7"), change("b", "9")])
        .await
        .unwrap();
    assert_eq!(changed, 2);
    let (_, reads) = kept_equals_fresh(&reports, store, org, NOW).await;
    assert_eq!(reads, 3);

    // The next day: yesterday joins the past.
    let tomorrow = datetime!(2026-12-17 08:00 UTC);
    common::meter(
        store,
        org,
        tomorrow,
        &[common::call_for(
            "gpt-4o",
            "acme",
            "g",
            datetime!(2026-12-17 07:00 UTC),
            "1",
        )],
    )
    .await;
    let (_, reads) = kept_equals_fresh(&reports, store, org, tomorrow).await;
    assert_eq!(reads, 4);
    let (_, reads) = kept_equals_fresh(&reports, store, org, tomorrow).await;
    assert_eq!(reads, 4);
    test.teardown().await;
}

#[tokio::test]
async fn warming_reads_what_the_first_pages_keep() {
    let test = TestStore::new().await.unwrap();
    let store = &test.store;
    let org = store.ensure_default_org(NOW).await.unwrap();
    common::meter(
        store,
        org,
        NOW,
        &[
            common::call("a", datetime!(2026-12-12 10:00 UTC), "8"),
            common::call("b", datetime!(2026-12-16 10:00 UTC), "2"),
        ],
    )
    .await;
    let reports = Reports::new(store.clone());
    reports.warm(org, NOW).await.unwrap();
    let counts = |r: &Reports| (r.bill_reads(), r.metered_reads(), r.coverage_computed());
    // The bill, the metered days, coverage with and without its days.
    assert_eq!(counts(&reports), (1, 1, 2));
    // What the Providers and API Keys pages then read comes from memory.
    reports.spend_days(org, NOW).await.unwrap();
    let today = spendlens_domain::Day::of(NOW);
    for view in [
        spendlens_query::View::Providers,
        spendlens_query::View::Keys,
    ] {
        let query =
            spendlens_query::ViewQuery::parse(view, &spendlens_query::ViewParams::default(), today)
                .unwrap();
        reports.report(org, &query).await.unwrap();
    }
    assert_eq!(counts(&reports), (1, 1, 2));
    test.teardown().await;
}
