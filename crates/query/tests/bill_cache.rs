//! The bill forecasts and anomalies read, kept in memory by [`Reports::spend_days`]: read once
//! while nothing writes the bill, read again after any write (a sync's window, a deleted
//! connection), and never different from a fresh read; names and metered calls are always
//! fresh. SQLite, and PostgreSQL when `SPENDLENS_TEST_DATABASE_URL` is set.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a failing test should stop loudly

use spendlens_domain::{
    ApiKeyRecord, Category, CostLine, Credential, Currency, Day, DayRange, KeyStatus, Money,
    ProviderKind, Quantity, TokenCounts, Unit,
};
use spendlens_query::Reports;
use spendlens_query::spend_days::SpendDays;
use spendlens_store::testing::TestStore;
use spendlens_store::vault::Vault;
use spendlens_store::{ConnectionId, NewConnection, OrgId, Store, WindowWrite};
use time::OffsetDateTime;
use time::macros::datetime;

const NOW: OffsetDateTime = datetime!(2026-12-16 12:00 UTC);

fn line(day: &str, key: &str, dollars: &str) -> CostLine {
    CostLine {
        day: day.parse().unwrap(),
        workspace_id: None,
        api_key_id: Some(key.to_owned()),
        model: "gpt-4o".to_owned(),
        category: Category::Text,
        unit: Unit::tokens(),
        detail: String::new(),
        tokens: TokenCounts {
            input: 1_000,
            output: 100,
            cache_read: 0,
            cache_write: 0,
        },
        requests: Some(3),
        quantity: Quantity::ZERO,
        cost: Money::parse_units(dollars).unwrap(),
        credits: Money::ZERO,
        currency: Currency::usd(),
        estimated: false,
        allocated: false,
        billing: None,
        unpriced: false,
    }
}

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

async fn connection(store: &Store, org: OrgId, name: &str) -> ConnectionId {
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
    let first = connection(store, org, "first").await;
    let second = connection(store, org, "second").await;
    write(
        store,
        org,
        first,
        "app",
        &[line("2026-12-14", "key_a", "5")],
    )
    .await;
    write(
        store,
        org,
        second,
        "app",
        &[line("2026-12-15", "key_a", "7")],
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
        &[line("2026-12-14", "key_a", "50")],
    )
    .await;
    let after = reports.spend_days(org, NOW).await.unwrap();
    same_as_fresh(&after, &SpendDays::load(store, org, NOW).await.unwrap());
    assert_ne!(cells(&after), cells(&kept));
    assert!(cells(&after).iter().any(|c| c.contains("app (renamed)")));
    assert_eq!(reports.bill_reads(), 2);

    // A deleted connection: its cells are gone.
    store.delete_connection(org, second).await.unwrap();
    let after = reports.spend_days(org, NOW).await.unwrap();
    same_as_fresh(&after, &SpendDays::load(store, org, NOW).await.unwrap());
    assert!(after.cells.iter().all(|c| c.connection == Some(first)));
    assert_eq!(reports.bill_reads(), 3);

    // Another day reads another range.
    let tomorrow = NOW + time::Duration::days(1);
    let later = reports.spend_days(org, tomorrow).await.unwrap();
    same_as_fresh(
        &later,
        &SpendDays::load(store, org, tomorrow).await.unwrap(),
    );
    assert_eq!(reports.bill_reads(), 4);
    test.teardown().await;
}
