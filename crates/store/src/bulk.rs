//! Bulk inserts, the one place the two dialects write differently: SQLite takes multi-row
//! `VALUES` with anonymous `?` placeholders (its named-parameter lookup is linear per parameter),
//! PostgreSQL takes one array per column through `UNNEST`, which it plans once per chunk.

use sqlx::query::Query;
use sqlx::{Database, PgConnection, Postgres, Sqlite, SqliteConnection};

use crate::StoreResult;

/// One cell of a row to insert.
#[derive(Clone, Debug)]
pub(crate) enum Value {
    Int(i64),
    OptInt(Option<i64>),
    Text(String),
    OptText(Option<String>),
    Bool(bool),
}

/// Cells per statement on SQLite, which binds every cell (its limit is 32,766 parameters);
/// PostgreSQL binds one array per column.
const SQLITE_CELLS_PER_STATEMENT: usize = 30_000;
const POSTGRES_ROWS_PER_STATEMENT: usize = 20_000;

/// Rows already bound into their insert statements, to run later. Binding copies every cell:
/// work better done before a transaction that holds SQLite's one writer (metered ingest binds
/// its events before its turn).
pub(crate) struct Bound<DB: Database>(Vec<Query<'static, DB, <DB as Database>::Arguments>>);

/// How each dialect binds rows into insert statements.
pub(crate) trait BindRows: Database + Sized {
    /// `rows` (each with one value per column) bound into inserts into `table`, with `suffix`
    /// (an `ON CONFLICT …` clause, or nothing) after the rows.
    fn bind_rows(
        table: &str,
        columns: &[&str],
        rows: Vec<Vec<Value>>,
        suffix: &str,
    ) -> StoreResult<Bound<Self>>;
}

/// [`BindRows::bind_rows`] for the database of `pool`.
pub(crate) fn bind_rows_for<DB: BindRows>(
    _pool: &sqlx::Pool<DB>,
    table: &str,
    columns: &[&str],
    rows: Vec<Vec<Value>>,
) -> StoreResult<Bound<DB>> {
    DB::bind_rows(table, columns, rows, "")
}

pub(crate) trait BulkInsert {
    type Db: BindRows;

    /// Runs inserts bound before.
    fn insert_bound(
        &mut self,
        bound: Bound<Self::Db>,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    /// Inserts `rows` (each with one value per column) into `table`, with `suffix` (an
    /// `ON CONFLICT …` clause, or nothing) after the rows.
    fn insert_rows_then(
        &mut self,
        table: &str,
        columns: &[&str],
        rows: Vec<Vec<Value>>,
        suffix: &str,
    ) -> impl Future<Output = StoreResult<()>> + Send
    where
        Self: Send,
    {
        let bound = Self::Db::bind_rows(table, columns, rows, suffix);
        async move { self.insert_bound(bound?).await }
    }

    /// Inserts `rows` into `table`.
    fn insert_rows(
        &mut self,
        table: &str,
        columns: &[&str],
        rows: Vec<Vec<Value>>,
    ) -> impl Future<Output = StoreResult<()>> + Send
    where
        Self: Send,
    {
        self.insert_rows_then(table, columns, rows, "")
    }
}

/// `rows` in chunks of at most `size`, moved (not copied) into each chunk.
fn chunks_of(rows: Vec<Vec<Value>>, size: usize) -> impl Iterator<Item = Vec<Vec<Value>>> {
    let mut rows = rows.into_iter().peekable();
    std::iter::from_fn(move || {
        rows.peek()?;
        Some(rows.by_ref().take(size).collect())
    })
}

fn sqlite_sql(table: &str, columns: &[&str], rows: usize) -> String {
    let one = format!("({})", vec!["?"; columns.len()].join(", "));
    format!(
        "INSERT INTO {table} ({}) VALUES {}",
        columns.join(", "),
        vec![one; rows].join(", ")
    )
}

impl BindRows for Sqlite {
    fn bind_rows(
        table: &str,
        columns: &[&str],
        rows: Vec<Vec<Value>>,
        suffix: &str,
    ) -> StoreResult<Bound<Sqlite>> {
        let per_statement = (SQLITE_CELLS_PER_STATEMENT / columns.len().max(1)).max(1);
        let mut statements = Vec::with_capacity(rows.len().div_ceil(per_statement));
        for chunk in chunks_of(rows, per_statement) {
            let sql = format!("{} {suffix}", sqlite_sql(table, columns, chunk.len()));
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            // Texts are moved into the statement's arguments, not copied (a borrowed `&str`
            // would be copied once more for every cell).
            for row in chunk {
                for value in row {
                    query = match value {
                        Value::Int(v) => query.bind(v),
                        Value::OptInt(v) => query.bind(v),
                        Value::Text(v) => query.bind(v),
                        Value::OptText(v) => query.bind(v),
                        Value::Bool(v) => query.bind(v),
                    };
                }
            }
            statements.push(query);
        }
        Ok(Bound(statements))
    }
}

impl BulkInsert for SqliteConnection {
    type Db = Sqlite;

    async fn insert_bound(&mut self, bound: Bound<Sqlite>) -> StoreResult<()> {
        for query in bound.0 {
            query.execute(&mut *self).await?;
        }
        Ok(())
    }
}

/// One column's values as a PostgreSQL array.
enum Column {
    Ints(Vec<Option<i64>>),
    Texts(Vec<Option<String>>),
    Bools(Vec<bool>),
}

impl BindRows for Postgres {
    fn bind_rows(
        table: &str,
        columns: &[&str],
        rows: Vec<Vec<Value>>,
        suffix: &str,
    ) -> StoreResult<Bound<Postgres>> {
        let mut statements = Vec::new();
        for chunk in chunks_of(rows, POSTGRES_ROWS_PER_STATEMENT) {
            let Some(first) = chunk.first() else {
                continue;
            };
            let mut arrays: Vec<Column> = first
                .iter()
                .map(|value| match value {
                    Value::Int(_) | Value::OptInt(_) => {
                        Column::Ints(Vec::with_capacity(chunk.len()))
                    }
                    Value::Text(_) | Value::OptText(_) => {
                        Column::Texts(Vec::with_capacity(chunk.len()))
                    }
                    Value::Bool(_) => Column::Bools(Vec::with_capacity(chunk.len())),
                })
                .collect();
            for row in chunk {
                for (array, value) in arrays.iter_mut().zip(row) {
                    match (array, value) {
                        (Column::Ints(a), Value::Int(v)) => a.push(Some(v)),
                        (Column::Ints(a), Value::OptInt(v)) => a.push(v),
                        (Column::Texts(a), Value::Text(v)) => a.push(Some(v)),
                        (Column::Texts(a), Value::OptText(v)) => a.push(v),
                        (Column::Bools(a), Value::Bool(v)) => a.push(v),
                        _ => {
                            return Err(crate::StoreError::Corrupt(format!(
                                "mixed value kinds in one column of {table}"
                            )));
                        }
                    }
                }
            }
            let casts: Vec<String> = arrays
                .iter()
                .enumerate()
                .map(|(i, array)| {
                    let kind = match array {
                        Column::Ints(_) => "bigint",
                        Column::Texts(_) => "text",
                        Column::Bools(_) => "boolean",
                    };
                    format!("${}::{kind}[]", i + 1)
                })
                .collect();
            let sql = format!(
                "INSERT INTO {table} ({}) SELECT * FROM UNNEST({}) {suffix}",
                columns.join(", "),
                casts.join(", ")
            );
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for array in arrays {
                query = match array {
                    Column::Ints(a) => query.bind(a),
                    Column::Texts(a) => query.bind(a),
                    Column::Bools(a) => query.bind(a),
                };
            }
            statements.push(query);
        }
        Ok(Bound(statements))
    }
}

impl BulkInsert for PgConnection {
    type Db = Postgres;

    async fn insert_bound(&mut self, bound: Bound<Postgres>) -> StoreResult<()> {
        for query in bound.0 {
            query.execute(&mut *self).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_statements_use_anonymous_placeholders() {
        assert_eq!(
            sqlite_sql("t", &["a", "b"], 2),
            "INSERT INTO t (a, b) VALUES (?, ?), (?, ?)"
        );
    }
}
