//! The bill forecasts and anomalies read, kept in memory by [`Reports::spend_days`]: read once
//! while nothing writes the bill, only the windows syncs rewrote read again after syncs (also
//! across a sync that failed midway), the whole bill after any other write (a deleted
//! connection), and never different from a fresh read; names and metered calls are always
//! fresh. SQLite, and PostgreSQL when `SPENDLENS_TEST_DATABASE_URL` is set.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a failing test should stop loudly

use spendlens_domain::{ApiKeyRecord, CostLine, Day, DayRange, KeyStatus, Money};
use spendlens_query::Reports;
use spendlens_query::spend_days::{self, BilledRead, SpendDays};
use spendlens_store::testing::TestStore;
use spendlens_store::{ConnectionId, OrgId, Store, WindowWrite};
use time::OffsetDateTime;
use time::macros::datetime;

use crate::common;

const NOW: OffsetDateTime = datetime!(2026-12-16 12:00 UTC);

fn key(name: &str) -> ApiKeyRecord {
    ApiKeyRecord {
        provider_id: "key_a".to_owned(),
        name: Some(name.to_owned()),
        hint: None,
        workspace_id: None,
        status: KeyStatus::Active,
        created_at: None,
        last_used_at: None,
    }
}

async fn write(store: &Store, org: OrgId, conn: ConnectionId, name: &str, lines: &[CostLine]) {
    let day = |d: &str| -> Day { d.parse().unwrap() };
    store
        .replace_window(WindowWrite {
            invoice_months: None,
            org,
            connection: conn,
            window: DayRange::new(day("2026-12-10"), day("2026-12-15")).unwrap(),
            workspaces: &[],
            api_keys: &[key(name)],
            api_keys_complete: true,
            lines,
            now: NOW,
        })
        .await
        .unwrap();
}

/// Every cell as text: connection, key as shown, model and its days.
fn cells(data: &SpendDays) -> Vec<String> {
    let mut out: Vec<String> = data
        .cells
        .iter()
        .map(|c| {
            format!(
                "{:?} {} {} {:?}",
                c.connection, c.key_label, c.model, c.days
            )
        })
        .collect();
    out.sort();
    out
}

#[tokio::test]
async fn the_bill_is_read_again_after_every_write_and_never_differs_from_a_fresh_read() {
    let test = TestStore::new().await.unwrap();
    let store = &test.store;
    let org = store.ensure_default_org(NOW).await.unwrap();
    let reports = Reports::new(store.clone());
    let first = common::openai_connection(store, org, "first", NOW).await;
    let second = common::openai_connection(store, org, "second", NOW).await;
    write(
        store,
        org,
        first,
        "app",
        &[common::bill_line("2026-12-14", "key_a", "5")],
    )
    .await;
    write(
        store,
        org,
        second,
        "app",
        &[common::bill_line("2026-12-15", "key_a", "7")],
    )
    .await;
    let same_as_fresh = |kept: &SpendDays, fresh: &SpendDays| {
        assert_eq!(cells(kept), cells(fresh));
        assert!(!kept.cells.is_empty());
    };
    let kept = reports.spend_days(org, NOW).await.unwrap();
    same_as_fresh(&kept, &SpendDays::load(store, org, NOW).await.unwrap());
    let again = reports.spend_days(org, NOW).await.unwrap();
    same_as_fresh(&again, &kept);
    assert_eq!(reports.bill_reads(), 1, "nothing wrote the bill: one read");

    // A sync's window: the new cost, not the kept one; the key's new name too.
    write(
        store,
        org,
        first,
        "app (renamed)",
        &[common::bill_line("2026-12-14", "key_a", "50")],
    )
    .await;
    let after = reports.spend_days(org, NOW).await.unwrap();
    same_as_fresh(&after, &SpendDays::load(store, org, NOW).await.unwrap());
    assert_ne!(cells(&after), cells(&kept));
    assert!(cells(&after).iter().any(|c| c.contains("app (renamed)")));
    assert_eq!((reports.bill_reads(), reports.bill_updates()), (1, 1));

    // A deleted connection: its cells are gone.
    store
        .delete_connection(
            org,
            second,
            spendlens_store::Actor {
                name: "test",
                at: NOW,
            },
            "",
        )
        .await
        .unwrap();
    let after = reports.spend_days(org, NOW).await.unwrap();
    same_as_fresh(&after, &SpendDays::load(store, org, NOW).await.unwrap());
    assert!(after.cells.iter().all(|c| c.connection == Some(first)));
    assert_eq!((reports.bill_reads(), reports.bill_updates()), (2, 1));

    // Another day reads another range.
    let tomorrow = NOW + time::Duration::days(1);
    let later = reports.spend_days(org, tomorrow).await.unwrap();
    same_as_fresh(
        &later,
        &SpendDays::load(store, org, tomorrow).await.unwrap(),
    );
    assert_eq!(reports.bill_reads(), 3);
    test.teardown().await;
}

/// A day's line of `key` on `model` with credits.
fn credited(day: &str, key: &str, model: &str, dollars: &str, credits: &str) -> CostLine {
    let mut l = common::bill_line(day, key, dollars);
    l.model = model.to_owned();
    l.credits = Money::parse_units(credits).unwrap();
    l
}

/// A sync's window of `conn` over `from..=to`, keys `key_a` to `key_c` listed.
async fn sync(
    store: &Store,
    org: OrgId,
    conn: ConnectionId,
    from: &str,
    to: &str,
    lines: &[CostLine],
) {
    let keys: Vec<ApiKeyRecord> = ["key_a", "key_b", "key_c"]
        .into_iter()
        .map(|id| ApiKeyRecord {
            provider_id: id.to_owned(),
            ..key(id)
        })
        .collect();
    store
        .replace_window(WindowWrite {
            invoice_months: None,
            org,
            connection: conn,
            window: DayRange::new(from.parse().unwrap(), to.parse().unwrap()).unwrap(),
            workspaces: &[],
            api_keys: &keys,
            api_keys_complete: true,
            lines,
            now: NOW,
        })
        .await
        .unwrap();
}

/// Every cell with all it carries, in order.
fn everything(data: &SpendDays) -> Vec<String> {
    data.cells
        .iter()
        .map(|c| {
            format!(
                "{:?} {:?} {} {} before={} credits={} {:?}",
                c.source, c.connection, c.key_label, c.model, c.active_before, c.credits, c.days
            )
        })
        .collect()
}

/// The kept bill brought up to date from `at`, against a whole read; and what the server keeps.
async fn up_to_date(
    store: &Store,
    org: OrgId,
    reports: &Reports,
    kept: &mut (i64, BilledRead),
    what: &str,
) {
    let revision = store.rollup_revision(org).await.unwrap();
    let changes = store
        .billed_changes(org, kept.0, revision)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("{what}: the windows since {} are logged", kept.0));
    let read = spend_days::read_range(NOW).unwrap();
    let fresh = BilledRead::load(store, org, read).await.unwrap();
    let refreshed = kept.1.refreshed(store, org, &changes).await.unwrap();
    assert_eq!(refreshed, fresh, "{what}");
    *kept = (revision, refreshed);
    let served = reports.spend_days(org, NOW).await.unwrap();
    let whole = SpendDays::load(store, org, NOW).await.unwrap();
    assert_eq!(everything(&served), everything(&whole), "{what}");
}

#[tokio::test]
async fn after_a_sync_only_its_window_is_read_again_and_the_bill_equals_a_whole_read() {
    let test = TestStore::new().await.unwrap();
    let store = &test.store;
    let org = store.ensure_default_org(NOW).await.unwrap();
    let reports = Reports::new(store.clone());
    let first = common::openai_connection(store, org, "first", NOW).await;
    let second = common::openai_connection(store, org, "second", NOW).await;
    let every = |from: &str, to: &str, key: &str, dollars: &str| -> Vec<CostLine> {
        DayRange::new(from.parse().unwrap(), to.parse().unwrap())
            .unwrap()
            .days()
            .map(|d| common::bill_line(&d.to_string(), key, dollars))
            .collect()
    };
    // The days read at NOW: 2026-11-06 to 2026-12-16; the first bill starts before them.
    sync(
        store,
        org,
        first,
        "2026-11-01",
        "2026-12-16",
        &every("2026-11-01", "2026-12-15", "key_a", "5"),
    )
    .await;
    sync(
        store,
        org,
        second,
        "2026-11-01",
        "2026-12-16",
        &every("2026-12-01", "2026-12-15", "key_a", "7"),
    )
    .await;
    let read = spend_days::read_range(NOW).unwrap();
    let mut kept = (
        store.rollup_revision(org).await.unwrap(),
        BilledRead::load(store, org, read).await.unwrap(),
    );
    reports.spend_days(org, NOW).await.unwrap();
    assert_eq!((reports.bill_reads(), reports.bill_updates()), (1, 0));

    // A look-back sync: new costs, a new model with credits, today's first line.
    let mut lines = every("2026-12-12", "2026-12-15", "key_a", "6");
    lines.push(credited("2026-12-16", "key_a", "gpt-4.1", "2.5", "1"));
    sync(store, org, first, "2026-12-12", "2026-12-16", &lines).await;
    up_to_date(store, org, &reports, &mut kept, "a look-back window").await;
    assert_eq!((reports.bill_reads(), reports.bill_updates()), (1, 1));

    // Days that are gone, then a series with no day left in the range.
    sync(store, org, second, "2026-12-10", "2026-12-16", &[]).await;
    up_to_date(store, org, &reports, &mut kept, "days gone").await;
    sync(store, org, second, "2026-12-01", "2026-12-09", &[]).await;
    up_to_date(store, org, &reports, &mut kept, "a series gone").await;
    // A window before the days read: the first key was not billed before them any more.
    sync(store, org, first, "2026-11-01", "2026-11-05", &[]).await;
    up_to_date(store, org, &reports, &mut kept, "a window before the range").await;
    // A window across the range's start: a new series billed before it and inside it.
    let mut lines = every("2026-11-03", "2026-11-08", "key_c", "1");
    lines.push(credited("2026-11-07", "key_b", "gpt-4o", "3", "0.5"));
    sync(store, org, second, "2026-11-03", "2026-11-08", &lines).await;
    up_to_date(store, org, &reports, &mut kept, "a window across the start").await;
    // Two syncs before the next read, one of them credits only.
    sync(
        store,
        org,
        first,
        "2026-12-13",
        "2026-12-16",
        &[credited("2026-12-14", "key_a", "gpt-4o", "3", "2")],
    )
    .await;
    sync(store, org, second, "2026-11-07", "2026-11-07", &[]).await;
    up_to_date(store, org, &reports, &mut kept, "two syncs").await;
    // A series billed before the days read whose days inside them all go: the kept bill drops
    // it as a whole read does.
    sync(store, org, second, "2026-11-06", "2026-11-08", &[]).await;
    up_to_date(
        store,
        org,
        &reports,
        &mut kept,
        "a series left before the range only",
    )
    .await;
    assert_eq!((reports.bill_reads(), reports.bill_updates()), (1, 7));

    // A sync that fails after writing the bill's rollups (as a crash would) commits nothing:
    // neither the revision nor a window to read; the kept bill stays a fresh one.
    let backend = spendlens_store::testing::test_backend();
    let (crash, recover) = if backend == spendlens_store::Backend::Sqlite {
        (
            "CREATE TRIGGER crash BEFORE INSERT ON rollup_changes WHEN NEW.kind = 'cost.key_unit' \
             BEGIN SELECT RAISE(ABORT, 'crash mid-sync'); END"
                .to_owned(),
            "DROP TRIGGER crash",
        )
    } else {
        (
            "CREATE FUNCTION crash() RETURNS trigger AS $$ BEGIN \
             IF NEW.kind = 'cost.key_unit' THEN RAISE EXCEPTION 'crash mid-sync'; END IF; \
             RETURN NEW; END $$ LANGUAGE plpgsql; \
             CREATE TRIGGER crash BEFORE INSERT ON rollup_changes FOR EACH ROW EXECUTE FUNCTION crash()"
                .to_owned(),
            "DROP TRIGGER crash ON rollup_changes",
        )
    };
    store.execute_for_tests(&crash).await.unwrap();
    let before = store.rollup_revision(org).await.unwrap();
    let failed = store
        .replace_window(WindowWrite {
            invoice_months: None,
            org,
            connection: first,
            window: DayRange::single("2026-12-15".parse().unwrap()),
            workspaces: &[],
            api_keys: &[],
            api_keys_complete: false,
            lines: &[common::bill_line("2026-12-15", "key_a", "1000")],
            now: NOW,
        })
        .await;
    assert!(failed.is_err(), "the crash stops the sync");
    assert_eq!(store.rollup_revision(org).await.unwrap(), before);
    let served = reports.spend_days(org, NOW).await.unwrap();
    assert_eq!(
        everything(&served),
        everything(&SpendDays::load(store, org, NOW).await.unwrap())
    );
    store.execute_for_tests(recover).await.unwrap();
    sync(
        store,
        org,
        first,
        "2026-12-15",
        "2026-12-15",
        &[common::bill_line("2026-12-15", "key_a", "1000")],
    )
    .await;
    up_to_date(store, org, &reports, &mut kept, "after the crash").await;
    assert_eq!((reports.bill_reads(), reports.bill_updates()), (1, 8));

    // Anything else that writes the bill (a deleted connection) reads it whole.
    store
        .delete_connection(
            org,
            second,
            spendlens_store::Actor {
                name: "test",
                at: NOW,
            },
            "",
        )
        .await
        .unwrap();
    let revision = store.rollup_revision(org).await.unwrap();
    assert_eq!(
        store.billed_changes(org, kept.0, revision).await.unwrap(),
        None
    );
    let served = reports.spend_days(org, NOW).await.unwrap();
    assert_eq!(
        everything(&served),
        everything(&SpendDays::load(store, org, NOW).await.unwrap())
    );
    assert_eq!((reports.bill_reads(), reports.bill_updates()), (2, 8));
    test.teardown().await;
}
