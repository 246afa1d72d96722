//! Replacing a sync window: a connection's workspaces and keys are upserted, and its cost
//! lines and daily rollups for the window's days are deleted and written anew — all in one
//! transaction, so a failure changes nothing and a re-run never double counts.

use std::collections::{HashMap, HashSet};

use spendlens_domain::{ApiKeyRecord, CostLine, DayRange, WorkspaceRecord};
use time::OffsetDateTime;

use crate::rollups::RollupRows;
use crate::{ConnectionId, OrgId, Store, StoreError, StoreResult, millis, with_pool};

/// Everything one window replacement writes.
#[derive(Debug)]
pub struct WindowWrite<'a> {
    pub org: OrgId,
    pub connection: ConnectionId,
    pub window: DayRange,
    pub workspaces: &'a [WorkspaceRecord],
    pub api_keys: &'a [ApiKeyRecord],
    /// True when `api_keys` is the provider's complete key list: keys missing from it are
    /// then marked `unlisted` (deleted at the provider).
    pub api_keys_complete: bool,
    pub lines: &'a [CostLine],
    pub now: OffsetDateTime,
}

/// What a window replacement wrote.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct WriteCounts {
    pub workspaces: usize,
    pub api_keys: usize,
    pub lines: usize,
}

const LINE_COLUMNS: [&str; 20] = [
    "org_id",
    "connection_id",
    "day",
    "workspace_ref",
    "api_key_ref",
    "model",
    "category",
    "unit",
    "detail",
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "requests",
    "quantity_micros",
    "cost_nanos",
    "credits_nanos",
    "currency",
    "estimated",
    "allocated",
];

/// Rows per multi-row INSERT: 20 columns x 500 stays under both backends' bind limits.
const LINES_PER_STATEMENT: usize = 500;

/// `INSERT INTO table (cols) VALUES ($1, …), (…)` for `rows` rows.
pub(crate) fn insert_sql(table: &str, columns: &[&str], rows: usize) -> String {
    let mut sql = format!("INSERT INTO {table} ({}) VALUES ", columns.join(", "));
    let mut param = 1;
    for row in 0..rows {
        if row > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        for column in 0..columns.len() {
            if column > 0 {
                sql.push_str(", ");
            }
            sql.push('$');
            sql.push_str(&param.to_string());
            param += 1;
        }
        sql.push(')');
    }
    sql
}

/// A line with its workspace and key resolved to stored ids.
pub(crate) struct ResolvedLine<'a> {
    pub line: &'a CostLine,
    pub workspace_ref: Option<i64>,
    pub api_key_ref: Option<i64>,
}

impl Store {
    /// Replaces the window's data for one connection atomically. See the module docs.
    pub async fn replace_window(&self, write: WindowWrite<'_>) -> StoreResult<WriteCounts> {
        let (from, to) = (
            i64::from(write.window.from().number()),
            i64::from(write.window.to().number()),
        );
        if let Some(outside) = write.lines.iter().find(|l| !write.window.contains(l.day)) {
            return Err(StoreError::Invalid(format!(
                "a cost line for {} lies outside the window {}; nothing was written",
                outside.day, write.window
            )));
        }
        let now = millis(write.now);
        let (org, connection) = (write.org.0, write.connection.0);

        // Workspaces and keys the lines refer to but the listings did not name.
        let listed_workspaces: HashSet<&str> = write
            .workspaces
            .iter()
            .map(|w| w.provider_id.as_str())
            .collect();
        let mut referenced_workspaces: Vec<&str> = write
            .lines
            .iter()
            .filter_map(|l| l.workspace_id.as_deref())
            .chain(
                write
                    .api_keys
                    .iter()
                    .filter_map(|k| k.workspace_id.as_deref()),
            )
            .filter(|id| !listed_workspaces.contains(id))
            .collect();
        referenced_workspaces.sort_unstable();
        referenced_workspaces.dedup();
        let listed_keys: HashSet<&str> = write
            .api_keys
            .iter()
            .map(|k| k.provider_id.as_str())
            .collect();
        let mut referenced_keys: Vec<(&str, Option<&str>)> = write
            .lines
            .iter()
            .filter_map(|l| {
                l.api_key_id
                    .as_deref()
                    .map(|key| (key, l.workspace_id.as_deref()))
            })
            .filter(|(key, _)| !listed_keys.contains(key))
            .collect();
        referenced_keys.sort_unstable();
        referenced_keys.dedup_by(|a, b| a.0 == b.0);

        let counts = with_pool!(self, pool => {
            let mut tx = pool.begin().await?;

            for workspace in write.workspaces {
                sqlx::query(
                    "INSERT INTO workspaces (org_id, connection_id, provider_id, provider_name, display_name, \
                     archived, created_at, first_seen_at, last_seen_at) VALUES ($1, $2, $3, $4, $4, $5, $6, $7, $7) \
                     ON CONFLICT (connection_id, provider_id) DO UPDATE SET provider_name = excluded.provider_name, \
                     display_name = CASE WHEN workspaces.display_name_custom THEN workspaces.display_name \
                     ELSE excluded.provider_name END, archived = excluded.archived, \
                     created_at = COALESCE(excluded.created_at, workspaces.created_at), last_seen_at = excluded.last_seen_at",
                )
                .bind(org)
                .bind(connection)
                .bind(&workspace.provider_id)
                .bind(&workspace.name)
                .bind(workspace.archived)
                .bind(workspace.created_at.map(millis))
                .bind(now)
                .execute(&mut *tx)
                .await?;
            }
            for provider_id in &referenced_workspaces {
                sqlx::query(
                    "INSERT INTO workspaces (org_id, connection_id, provider_id, provider_name, display_name, \
                     first_seen_at, last_seen_at) VALUES ($1, $2, $3, $3, $3, $4, $4) \
                     ON CONFLICT (connection_id, provider_id) DO UPDATE SET last_seen_at = excluded.last_seen_at",
                )
                .bind(org)
                .bind(connection)
                .bind(*provider_id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            }
            let workspace_ids: HashMap<String, i64> = sqlx::query_as::<_, (String, i64)>(
                "SELECT provider_id, id FROM workspaces WHERE connection_id = $1",
            )
            .bind(connection)
            .fetch_all(&mut *tx)
            .await?
            .into_iter()
            .collect();

            for key in write.api_keys {
                let workspace_ref = key.workspace_id.as_ref().and_then(|w| workspace_ids.get(w)).copied();
                sqlx::query(
                    "INSERT INTO api_keys (org_id, connection_id, provider_id, workspace_ref, name, hint, status, \
                     created_at, last_used_at, first_seen_at, last_seen_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) \
                     ON CONFLICT (connection_id, provider_id) DO UPDATE SET workspace_ref = excluded.workspace_ref, \
                     name = excluded.name, hint = excluded.hint, status = excluded.status, \
                     created_at = COALESCE(excluded.created_at, api_keys.created_at), \
                     last_used_at = COALESCE(excluded.last_used_at, api_keys.last_used_at), \
                     last_seen_at = excluded.last_seen_at",
                )
                .bind(org)
                .bind(connection)
                .bind(&key.provider_id)
                .bind(workspace_ref)
                .bind(key.name.as_deref())
                .bind(key.hint.as_deref())
                .bind(key.status.as_str())
                .bind(key.created_at.map(millis))
                .bind(key.last_used_at.map(millis))
                .bind(now)
                .execute(&mut *tx)
                .await?;
            }
            for (provider_id, workspace) in &referenced_keys {
                let workspace_ref = workspace.and_then(|w| workspace_ids.get(w)).copied();
                sqlx::query(
                    "INSERT INTO api_keys (org_id, connection_id, provider_id, workspace_ref, status, \
                     first_seen_at, last_seen_at) VALUES ($1, $2, $3, $4, 'unlisted', $5, $5) \
                     ON CONFLICT (connection_id, provider_id) DO UPDATE SET \
                     workspace_ref = COALESCE(api_keys.workspace_ref, excluded.workspace_ref)",
                )
                .bind(org)
                .bind(connection)
                .bind(*provider_id)
                .bind(workspace_ref)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            }
            if write.api_keys_complete {
                // Keys the provider no longer lists were deleted there.
                sqlx::query(
                    "UPDATE api_keys SET status = 'unlisted' WHERE connection_id = $1 AND last_seen_at < $2 \
                     AND status <> 'unlisted'",
                )
                .bind(connection)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            }
            let key_ids: HashMap<String, i64> = sqlx::query_as::<_, (String, i64)>(
                "SELECT provider_id, id FROM api_keys WHERE connection_id = $1",
            )
            .bind(connection)
            .fetch_all(&mut *tx)
            .await?
            .into_iter()
            .collect();

            for table in ["cost_lines", "rollup_workspace_day", "rollup_key_day", "rollup_model_day"] {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "DELETE FROM {table} WHERE connection_id = $1 AND day >= $2 AND day <= $3"
                )))
                .bind(connection)
                .bind(from)
                .bind(to)
                .execute(&mut *tx)
                .await?;
            }

            let resolved: Vec<ResolvedLine<'_>> = write
                .lines
                .iter()
                .map(|line| ResolvedLine {
                    line,
                    workspace_ref: line.workspace_id.as_ref().and_then(|w| workspace_ids.get(w)).copied(),
                    api_key_ref: line.api_key_id.as_ref().and_then(|k| key_ids.get(k)).copied(),
                })
                .collect();

            for chunk in resolved.chunks(LINES_PER_STATEMENT) {
                let sql = insert_sql("cost_lines", &LINE_COLUMNS, chunk.len());
                let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
                for item in chunk {
                    let line = item.line;
                    query = query
                        .bind(org)
                        .bind(connection)
                        .bind(i64::from(line.day.number()))
                        .bind(item.workspace_ref)
                        .bind(item.api_key_ref)
                        .bind(line.model.as_str())
                        .bind(line.category.as_str())
                        .bind(line.unit.as_str())
                        .bind(line.detail.as_str())
                        .bind(line.tokens.input)
                        .bind(line.tokens.output)
                        .bind(line.tokens.cache_read)
                        .bind(line.tokens.cache_write)
                        .bind(line.requests)
                        .bind(line.quantity.micros())
                        .bind(line.cost.nanos())
                        .bind(line.credits.nanos())
                        .bind(line.currency.as_str())
                        .bind(line.estimated)
                        .bind(line.allocated);
                }
                query.execute(&mut *tx).await?;
            }

            let rollups = RollupRows::from_lines(&resolved);
            for (table, columns, rows) in rollups.tables() {
                for chunk in rows.chunks(LINES_PER_STATEMENT) {
                    let sql = insert_sql(table, columns, chunk.len());
                    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
                    for row in chunk {
                        query = query.bind(org).bind(connection);
                        for value in row {
                            query = match value {
                                crate::rollups::Value::Int(v) => query.bind(*v),
                                crate::rollups::Value::OptInt(v) => query.bind(*v),
                                crate::rollups::Value::Text(v) => query.bind(v.as_str()),
                            };
                        }
                    }
                    query.execute(&mut *tx).await?;
                }
            }

            tx.commit().await?;
            WriteCounts {
                workspaces: write.workspaces.len() + referenced_workspaces.len(),
                api_keys: write.api_keys.len() + referenced_keys.len(),
                lines: write.lines.len(),
            }
        });
        Ok(counts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_sql_numbers_every_parameter() {
        assert_eq!(
            insert_sql("t", &["a", "b"], 2),
            "INSERT INTO t (a, b) VALUES ($1, $2), ($3, $4)"
        );
    }
}
