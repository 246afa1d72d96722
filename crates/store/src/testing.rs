//! Fresh stores for tests, on SQLite by default and on PostgreSQL when
//! `SPENDLENS_TEST_DATABASE_URL` is set (each test gets a database of its own, dropped at the end).
//!
//! Used by the tests of this crate and of the layers above, so that one suite runs on both.

use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use rand::RngCore;
use sqlx::Connection;
use sqlx::postgres::PgConnection;

use crate::{Backend, DatabaseLocation, Store, StoreResult};

/// The variable that points the suite at PostgreSQL (an admin URL, e.g.
/// `postgres://postgres@127.0.0.1:5432/postgres`).
pub const TEST_DATABASE_URL: &str = "SPENDLENS_TEST_DATABASE_URL";

/// A migrated store and what it takes to throw it away.
#[derive(Debug)]
pub struct TestStore {
    pub store: Store,
    /// Keeps a SQLite test's directory alive.
    pub dir: Option<tempfile_dir::TempDir>,
    cleanup: Option<(String, String)>,
}

/// The backend this test run uses.
pub fn test_backend() -> Backend {
    match std::env::var(TEST_DATABASE_URL) {
        Ok(url) if !url.trim().is_empty() => Backend::Postgres,
        _ => Backend::Sqlite,
    }
}

impl TestStore {
    pub async fn new() -> StoreResult<TestStore> {
        let test = TestStore::unmigrated().await?;
        test.store.migrate().await?;
        Ok(test)
    }

    /// A fresh database with no schema yet, on this run's backend: for migration tests
    /// (`Store::migrate_through_for_tests`).
    pub async fn unmigrated() -> StoreResult<TestStore> {
        match std::env::var(TEST_DATABASE_URL) {
            Ok(url) if !url.trim().is_empty() => TestStore::open_postgres(url.trim()).await,
            _ => TestStore::open_sqlite().await,
        }
    }

    pub async fn sqlite() -> StoreResult<TestStore> {
        let test = TestStore::open_sqlite().await?;
        test.store.migrate().await?;
        Ok(test)
    }

    /// A fresh database on the PostgreSQL server of `admin_url`.
    pub async fn postgres(admin_url: &str) -> StoreResult<TestStore> {
        let test = TestStore::open_postgres(admin_url).await?;
        test.store.migrate().await?;
        Ok(test)
    }

    async fn open_sqlite() -> StoreResult<TestStore> {
        let dir = tempfile_dir::TempDir::new()?;
        let location = DatabaseLocation::Sqlite {
            path: dir.path().join("spendlens.db"),
        };
        Ok(TestStore {
            store: Store::connect(&location).await?,
            dir: Some(dir),
            cleanup: None,
        })
    }

    async fn open_postgres(admin_url: &str) -> StoreResult<TestStore> {
        let mut admin = PgConnection::connect(admin_url).await?;
        drop_stale_databases(&mut admin).await;
        #[expect(clippy::disallowed_methods, reason = "names a test database uniquely")]
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let name = format!("spendlens_test_{now}_{:08x}", rand::rng().next_u32());
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut admin)
            .await?;
        admin.close().await?;
        let mut url = url::Url::parse(admin_url)
            .map_err(|e| crate::StoreError::Location(format!("{TEST_DATABASE_URL}: {e}")))?;
        url.set_path(&format!("/{name}"));
        let location = DatabaseLocation::Postgres {
            url: url.to_string(),
        };
        Ok(TestStore {
            store: Store::connect(&location).await?,
            dir: None,
            cleanup: Some((admin_url.to_owned(), name)),
        })
    }

    /// Closes the store and drops its PostgreSQL database. Call at the end of a test.
    pub async fn teardown(self) {
        self.store.close().await;
        if let Some((admin_url, name)) = &self.cleanup
            && let Ok(mut admin) = PgConnection::connect(admin_url).await
        {
            let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
            )))
            .execute(&mut admin)
            .await;
            let _ = admin.close().await;
        }
    }

    /// Where a SQLite test's data directory is (for the master key file).
    pub fn data_dir(&self) -> Option<PathBuf> {
        self.dir.as_ref().map(|d| d.path().to_path_buf())
    }
}

impl crate::Store {
    /// Applies the migrations not yet applied up to `version` only: for tests of a migration
    /// against data written by the schema before it. Not for product code.
    pub async fn migrate_through_for_tests(&self, version: i64) -> StoreResult<usize> {
        crate::migrations::run(self, Some(version)).await
    }

    /// One integer read with raw SQL (a pragma, a count): for tests of settings the store keeps
    /// to itself. Not for product code.
    pub async fn scalar_for_tests(&self, sql: &str) -> StoreResult<i64> {
        Ok(crate::with_pool!(self, pool => {
            sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned())).fetch_one(pool).await?
        }))
    }

    /// Runs raw SQL: for tests that must change stored data behind the store's back (tamper
    /// checks). Not for product code.
    pub async fn execute_for_tests(&self, sql: &str) -> StoreResult<()> {
        crate::with_pool!(self, pool => {
            sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned())).execute(pool).await?;
        });
        Ok(())
    }
}

/// Test databases more than two hours old were left by crashed runs.
async fn drop_stale_databases(admin: &mut PgConnection) {
    #[expect(
        clippy::disallowed_methods,
        reason = "the age of leftover test databases"
    )]
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let names: Vec<String> =
        sqlx::query_scalar("SELECT datname FROM pg_database WHERE datname LIKE 'spendlens_test_%'")
            .fetch_all(&mut *admin)
            .await
            .unwrap_or_default();
    for name in names {
        let created = name
            .split('_')
            .nth(2)
            .and_then(|t| t.parse::<u64>().ok())
            .unwrap_or(now);
        if now.saturating_sub(created) > 7200
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
            )))
            .execute(&mut *admin)
            .await;
        }
    }
}

/// A minimal temporary directory, removed on drop (kept here so the store crate's public
/// test helper needs no dev-only dependency).
pub mod tempfile_dir {
    use std::path::{Path, PathBuf};

    #[derive(Debug)]
    pub struct TempDir(PathBuf);

    impl TempDir {
        pub fn new() -> std::io::Result<TempDir> {
            let mut bytes = [0u8; 8];
            rand::RngCore::fill_bytes(&mut rand::rng(), &mut bytes);
            let path = std::env::temp_dir().join(format!("spendlens-test-{}", hex::encode(bytes)));
            std::fs::create_dir_all(&path)?;
            Ok(TempDir(path))
        }

        pub fn path(&self) -> &Path {
            &self.0
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}
