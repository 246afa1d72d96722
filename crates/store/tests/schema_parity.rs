//! The SQLite and PostgreSQL migrations define the same tables with the same columns: a
//! column added to one dialect's migration and forgotten in the other fails here, not in
//! production. Needs `SPENDLENS_TEST_DATABASE_URL` (CI sets it); without it, it says so.

use spendlens_store::testing::{TEST_DATABASE_URL, TestStore};

#[tokio::test]
async fn both_dialects_define_the_same_tables_and_columns() {
    let Ok(url) = std::env::var(TEST_DATABASE_URL) else {
        eprintln!(
            "{TEST_DATABASE_URL} is not set: the PostgreSQL side of the parity check is skipped"
        );
        return;
    };
    let sqlite = TestStore::sqlite().await.unwrap();
    let postgres = TestStore::postgres(url.trim()).await.unwrap();
    let left = sqlite.store.schema().await.unwrap();
    let right = postgres.store.schema().await.unwrap();
    assert!(left.contains_key("cost_lines"), "{left:?}");
    let mut differences = Vec::new();
    for table in left
        .keys()
        .chain(right.keys())
        .collect::<std::collections::BTreeSet<_>>()
    {
        match (left.get(table), right.get(table)) {
            (Some(a), Some(b)) if a == b => {}
            (Some(a), Some(b)) => differences.push(format!(
                "{table}: only in SQLite {:?}, only in PostgreSQL {:?}",
                a.difference(b).collect::<Vec<_>>(),
                b.difference(a).collect::<Vec<_>>()
            )),
            (Some(_), None) => differences.push(format!("{table}: only in SQLite")),
            (None, Some(_)) => differences.push(format!("{table}: only in PostgreSQL")),
            (None, None) => {}
        }
    }
    postgres.teardown().await;
    sqlite.teardown().await;
    assert!(
        differences.is_empty(),
        "the dialects differ:\n{}",
        differences.join("\n")
    );
}
