//! Period reads of the bill kept in memory under the billed-rollup revision: answered from
//! memory while nothing writes the bill, never stale after a sync (also one made by another
//! process on the same database), a deleted connection or a rebuild, and always equal to what
//! the database holds. SQLite, and PostgreSQL when `SPENDLENS_TEST_DATABASE_URL` is set.

use spendlens_store::testing::TestStore;
use spendlens_store::{Actor, KeyTotals, OrgId, RollupFilter, Store};

use crate::store_suite::{NOW, connection, line, range, write};

async fn keys(store: &Store, org: OrgId) -> Vec<KeyTotals> {
    let mut rows = store
        .totals_by_key(
            org,
            range("2026-11-10", "2026-11-12"),
            Some(range("2026-11-07", "2026-11-09")),
            &RollupFilter::default(),
        )
        .await
        .unwrap();
    rows.sort_by_key(|r| (r.connection_id, r.workspace_id, r.api_key_id));
    rows
}

fn costs(rows: &[KeyTotals]) -> Vec<String> {
    rows.iter()
        .map(|r| format!("{} {}", r.current.cost.to_exact_string(), r.previous.cost))
        .collect()
}

#[tokio::test]
async fn period_reads_of_the_bill_are_kept_until_the_bill_is_written() {
    let test = TestStore::new().await.unwrap();
    let store = &test.store;
    let org = store.ensure_default_org(NOW).await.unwrap();
    let main = connection(store, org, "main").await;
    let window = range("2026-11-08", "2026-11-11");
    let lines = |dollars: &str| {
        vec![
            line("2026-11-08", "proj_a", Some("key_a"), "gpt-4o", "1"),
            line("2026-11-11", "proj_a", Some("key_a"), "gpt-4o", dollars),
            line("2026-11-11", "proj_b", None, "gpt-4o", "0.5"),
        ]
    };
    write(store, org, main, window, &lines("2")).await.unwrap();
    let first = keys(store, org).await;
    assert_eq!(costs(&first), ["2.00 1.00", "0.50 0.00"]);
    let kept = store.period_reads_kept();
    assert_eq!(keys(store, org).await, first);
    assert_eq!(
        store.period_reads_kept(),
        kept + 1,
        "read again from memory"
    );

    // A sync through another handle on the same database, as another server process.
    let other = Store::open(store.location()).await.unwrap();
    write(&other, org, main, window, &lines("7")).await.unwrap();
    let after = keys(store, org).await;
    assert_eq!(costs(&after), ["7.00 1.00", "0.50 0.00"]);
    assert_eq!(
        store.period_reads_kept(),
        kept + 1,
        "the revision moved: read"
    );
    assert_eq!(keys(store, org).await, after);
    assert_eq!(
        keys(&other, org).await,
        after,
        "the other process reads the same"
    );

    // A rebuild of the bill's rollups, then a deleted connection.
    store.rebuild_cost_rollups().await.unwrap();
    assert_eq!(keys(store, org).await, after);
    let second = connection(store, org, "second").await;
    write(store, org, second, window, &lines("3"))
        .await
        .unwrap();
    assert_eq!(keys(store, org).await.len(), 4);
    store
        .delete_connection(
            org,
            second,
            Actor {
                name: "test",
                at: NOW,
            },
            "",
        )
        .await
        .unwrap();
    assert_eq!(keys(store, org).await, after);
    test.teardown().await;
}
