//! Bulk inserts, the one place the two dialects write differently: SQLite takes multi-row
//! `VALUES` with anonymous `?` placeholders (its named-parameter lookup is linear per parameter),
//! PostgreSQL takes one array per column through `UNNEST`, which it plans once per chunk.

use sqlx::{PgConnection, SqliteConnection};

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

pub(crate) trait BulkInsert {
    /// Inserts `rows` (each with one value per column) into `table`, with `suffix` (an
    /// `ON CONFLICT …` clause, or nothing) after the rows.
    fn insert_rows_then(
        &mut self,
        table: &str,
        columns: &[&str],
        rows: &[Vec<Value>],
        suffix: &str,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    /// Inserts `rows` into `table`.
    fn insert_rows(
        &mut self,
        table: &str,
        columns: &[&str],
        rows: &[Vec<Value>],
    ) -> impl Future<Output = StoreResult<()>> + Send {
        self.insert_rows_then(table, columns, rows, "")
    }
}

fn sqlite_sql(table: &str, columns: &[&str], rows: usize) -> String {
    let one = format!("({})", vec!["?"; columns.len()].join(", "));
    format!(
        "INSERT INTO {table} ({}) VALUES {}",
        columns.join(", "),
        vec![one; rows].join(", ")
    )
}

impl BulkInsert for SqliteConnection {
    async fn insert_rows_then(
        &mut self,
        table: &str,
        columns: &[&str],
        rows: &[Vec<Value>],
        suffix: &str,
    ) -> StoreResult<()> {
        let per_statement = (SQLITE_CELLS_PER_STATEMENT / columns.len().max(1)).max(1);
        for chunk in rows.chunks(per_statement) {
            let sql = format!("{} {suffix}", sqlite_sql(table, columns, chunk.len()));
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for row in chunk {
                for value in row {
                    query = match value {
                        Value::Int(v) => query.bind(*v),
                        Value::OptInt(v) => query.bind(*v),
                        Value::Text(v) => query.bind(v.as_str()),
                        Value::OptText(v) => query.bind(v.as_deref()),
                        Value::Bool(v) => query.bind(*v),
                    };
                }
            }
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

impl BulkInsert for PgConnection {
    async fn insert_rows_then(
        &mut self,
        table: &str,
        columns: &[&str],
        rows: &[Vec<Value>],
        suffix: &str,
    ) -> StoreResult<()> {
        for chunk in rows.chunks(POSTGRES_ROWS_PER_STATEMENT) {
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
                        (Column::Ints(a), Value::Int(v)) => a.push(Some(*v)),
                        (Column::Ints(a), Value::OptInt(v)) => a.push(*v),
                        (Column::Texts(a), Value::Text(v)) => a.push(Some(v.clone())),
                        (Column::Texts(a), Value::OptText(v)) => a.push(v.clone()),
                        (Column::Bools(a), Value::Bool(v)) => a.push(*v),
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
