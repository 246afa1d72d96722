//! What the schema holds, read back from the database: every table and its columns. The
//! SQLite and PostgreSQL migrations must define the same ones (a test compares them).

use std::collections::{BTreeMap, BTreeSet};

use crate::{Backend, RowExt, Store, StoreResult, with_pool};

/// Tables and their columns, by name.
pub type Schema = BTreeMap<String, BTreeSet<String>>;

impl Store {
    /// The tables of the schema (without the database's own) and their columns. Partitions of
    /// a partitioned PostgreSQL table are left out: they are storage, not schema.
    pub async fn schema(&self) -> StoreResult<Schema> {
        let sql = match self.backend() {
            Backend::Sqlite => {
                "SELECT m.name AS table_name, p.name AS column_name \
                 FROM sqlite_master AS m, pragma_table_info(m.name) AS p \
                 WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'"
            }
            Backend::Postgres => {
                "SELECT c.table_name::TEXT AS table_name, c.column_name::TEXT AS column_name \
                 FROM information_schema.columns AS c \
                 JOIN pg_catalog.pg_class AS k ON k.relname = c.table_name \
                 JOIN pg_catalog.pg_namespace AS n ON n.oid = k.relnamespace AND n.nspname = c.table_schema \
                 WHERE c.table_schema = current_schema() AND NOT k.relispartition"
            }
        };
        let mut schema = Schema::new();
        with_pool!(self, pool => {
            for row in sqlx::query(sql).fetch_all(pool).await? {
                schema
                    .entry(row.text("table_name")?)
                    .or_default()
                    .insert(row.text("column_name")?);
            }
        });
        Ok(schema)
    }
}
