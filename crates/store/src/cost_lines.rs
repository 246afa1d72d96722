//! Replacing a sync window: a connection's workspaces and keys are upserted, its cost lines for
//! the window's days are deleted and written anew, and the rollup engine replaces the window in
//! every cost kind — all in one transaction, so a failure changes nothing and a re-run never
//! double counts. A day of a closed month whose money the provider restated keeps its lines
//! as they were first (`line_versions`).

use std::collections::{HashMap, HashSet};

use spendlens_domain::{ApiKeyRecord, CostLine, Day, DayRange, WorkspaceRecord};
use time::OffsetDateTime;

use crate::bulk::{BulkInsert, Value};
use crate::line_versions::KeepVersions;
use crate::rollups::{
    KEY_MODEL, KEY_UNIT, RollupWrite, cost_facts, key_model_facts, key_unit_facts,
};
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
    /// The window's money per usage day and invoice month, where the bill names invoice months
    /// (Vertex); `None` leaves the stored ones as they are.
    pub invoice_months: Option<&'a [spendlens_domain::services::InvoiceMonthAmount]>,
    pub now: OffsetDateTime,
}

const INVOICE_COLUMNS: [&str; 6] = [
    "org_id",
    "connection_id",
    "day",
    "invoice_month",
    "cost_nanos",
    "credits_nanos",
];

/// What a window replacement wrote.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct WriteCounts {
    pub workspaces: usize,
    pub api_keys: usize,
    pub lines: usize,
}

const WORKSPACE_COLUMNS: [&str; 9] = [
    "org_id",
    "connection_id",
    "provider_id",
    "provider_name",
    "display_name",
    "archived",
    "created_at",
    "first_seen_at",
    "last_seen_at",
];

const KEY_COLUMNS: [&str; 11] = [
    "org_id",
    "connection_id",
    "provider_id",
    "workspace_ref",
    "name",
    "hint",
    "status",
    "created_at",
    "last_used_at",
    "first_seen_at",
    "last_seen_at",
];

/// The last record of each id, in first-seen order (one statement cannot upsert a row twice on
/// PostgreSQL).
fn dedup_by_id<T>(records: &[T], id: impl Fn(&T) -> &String) -> Vec<&T> {
    let mut index: HashMap<&str, usize> = HashMap::new();
    let mut out: Vec<&T> = Vec::with_capacity(records.len());
    for record in records {
        match index.get(id(record).as_str()) {
            Some(at) => out[*at] = record,
            None => {
                index.insert(id(record).as_str(), out.len());
                out.push(record);
            }
        }
    }
    out
}

pub(crate) const LINE_COLUMNS: [&str; 24] = [
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
    "billing_currency",
    "billing_cost_nanos",
    "billing_credits_nanos",
    "unpriced",
];

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

            let listed: Vec<Vec<Value>> = dedup_by_id(write.workspaces, |w| &w.provider_id)
                .into_iter()
                .map(|w| {
                    vec![
                        Value::Int(org),
                        Value::Int(connection),
                        Value::Text(w.provider_id.clone()),
                        Value::Text(w.name.clone()),
                        Value::Text(w.name.clone()),
                        Value::Bool(w.archived),
                        Value::OptInt(w.created_at.map(millis)),
                        Value::Int(now),
                        Value::Int(now),
                    ]
                })
                .collect();
            tx
                .insert_rows_then(
                    "workspaces",
                    &WORKSPACE_COLUMNS,
                    listed,
                    "ON CONFLICT (connection_id, provider_id) DO UPDATE SET provider_name = excluded.provider_name, \
                     display_name = CASE WHEN workspaces.display_name_custom THEN workspaces.display_name \
                     ELSE excluded.provider_name END, archived = excluded.archived, \
                     created_at = COALESCE(excluded.created_at, workspaces.created_at), last_seen_at = excluded.last_seen_at",
                )
                .await?;
            let referenced: Vec<Vec<Value>> = referenced_workspaces
                .iter()
                .map(|id| {
                    vec![
                        Value::Int(org),
                        Value::Int(connection),
                        Value::Text((*id).to_owned()),
                        Value::Text((*id).to_owned()),
                        Value::Text((*id).to_owned()),
                        Value::Bool(false),
                        Value::OptInt(None),
                        Value::Int(now),
                        Value::Int(now),
                    ]
                })
                .collect();
            tx
                .insert_rows_then(
                    "workspaces",
                    &WORKSPACE_COLUMNS,
                    referenced,
                    "ON CONFLICT (connection_id, provider_id) DO UPDATE SET last_seen_at = excluded.last_seen_at",
                )
                .await?;
            let workspace_ids: HashMap<String, i64> = sqlx::query_as::<_, (String, i64)>(
                "SELECT provider_id, id FROM workspaces WHERE connection_id = $1",
            )
            .bind(connection)
            .fetch_all(&mut *tx)
            .await?
            .into_iter()
            .collect();

            let key_row = |provider_id: &str, workspace: Option<&str>, key: Option<&ApiKeyRecord>| {
                vec![
                    Value::Int(org),
                    Value::Int(connection),
                    Value::Text(provider_id.to_owned()),
                    Value::OptInt(workspace.and_then(|w| workspace_ids.get(w)).copied()),
                    Value::OptText(key.and_then(|k| k.name.clone())),
                    Value::OptText(key.and_then(|k| k.hint.clone())),
                    Value::Text(key.map_or("unlisted", |k| k.status.as_str()).to_owned()),
                    Value::OptInt(key.and_then(|k| k.created_at).map(millis)),
                    Value::OptInt(key.and_then(|k| k.last_used_at).map(millis)),
                    Value::Int(now),
                    Value::Int(now),
                ]
            };
            let listed: Vec<Vec<Value>> = dedup_by_id(write.api_keys, |k| &k.provider_id)
                .into_iter()
                .map(|k| key_row(&k.provider_id, k.workspace_id.as_deref(), Some(k)))
                .collect();
            tx
                .insert_rows_then(
                    "api_keys",
                    &KEY_COLUMNS,
                    listed,
                    "ON CONFLICT (connection_id, provider_id) DO UPDATE SET workspace_ref = excluded.workspace_ref, \
                     name = excluded.name, hint = excluded.hint, status = excluded.status, \
                     created_at = COALESCE(excluded.created_at, api_keys.created_at), \
                     last_used_at = COALESCE(excluded.last_used_at, api_keys.last_used_at), \
                     last_seen_at = excluded.last_seen_at",
                )
                .await?;
            // Keys seen only in usage keep what is known of them; `last_seen_at` stays, so a
            // key the provider stopped listing is marked below.
            let referenced: Vec<Vec<Value>> = referenced_keys
                .iter()
                .map(|(id, workspace)| key_row(id, *workspace, None))
                .collect();
            tx
                .insert_rows_then(
                    "api_keys",
                    &KEY_COLUMNS,
                    referenced,
                    "ON CONFLICT (connection_id, provider_id) DO UPDATE SET \
                     workspace_ref = COALESCE(api_keys.workspace_ref, excluded.workspace_ref)",
                )
                .await?;
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

            let resolved: Vec<ResolvedLine<'_>> = write
                .lines
                .iter()
                .map(|line| ResolvedLine {
                    line,
                    workspace_ref: line.workspace_id.as_ref().and_then(|w| workspace_ids.get(w)).copied(),
                    api_key_ref: line.api_key_id.as_ref().and_then(|k| key_ids.get(k)).copied(),
                })
                .collect();
            // A closed month's day the provider restated keeps its lines as they were (FOCUS
            // Correction rows), before they are replaced.
            (*tx)
                .keep_restated_days(write.org, write.connection, write.window, &resolved, Day::of(write.now))
                .await?;
            sqlx::query("DELETE FROM cost_lines WHERE connection_id = $1 AND day >= $2 AND day <= $3")
                .bind(connection)
                .bind(from)
                .bind(to)
                .execute(&mut *tx)
                .await?;

            let rows: Vec<Vec<Value>> = resolved
                .iter()
                .map(|item| {
                    let line = item.line;
                    let billed = line.billed();
                    vec![
                        Value::Int(org),
                        Value::Int(connection),
                        Value::Int(i64::from(line.day.number())),
                        Value::OptInt(item.workspace_ref),
                        Value::OptInt(item.api_key_ref),
                        Value::Text(line.model.clone()),
                        Value::Text(line.category.as_str().to_owned()),
                        Value::Text(line.unit.as_str().to_owned()),
                        Value::Text(line.detail.clone()),
                        Value::Int(line.tokens.input),
                        Value::Int(line.tokens.output),
                        Value::Int(line.tokens.cache_read),
                        Value::Int(line.tokens.cache_write),
                        Value::OptInt(line.requests),
                        Value::Int(line.quantity.micros()),
                        Value::Int(line.cost.nanos()),
                        Value::Int(line.credits.nanos()),
                        Value::Text(line.currency.as_str().to_owned()),
                        Value::Bool(line.estimated),
                        Value::Bool(line.allocated),
                        Value::Text(billed.currency.as_str().to_owned()),
                        Value::Int(billed.cost.nanos()),
                        Value::Int(billed.credits.nanos()),
                        Value::Bool(line.unpriced),
                    ]
                })
                .collect();
            tx.insert_rows("cost_lines", &LINE_COLUMNS, rows).await?;
            if let Some(months) = write.invoice_months {
                sqlx::query("DELETE FROM invoice_month_days WHERE connection_id = $1 AND day >= $2 AND day <= $3")
                    .bind(connection)
                    .bind(from)
                    .bind(to)
                    .execute(&mut *tx)
                    .await?;
                let rows: Vec<Vec<Value>> = months
                    .iter()
                    .filter(|m| write.window.contains(m.day))
                    .map(|m| {
                        vec![
                            Value::Int(org),
                            Value::Int(connection),
                            Value::Int(i64::from(m.day.number())),
                            Value::Int(i64::from(m.invoice_month.number())),
                            Value::Int(m.cost.nanos()),
                            Value::Int(m.credits.nanos()),
                        ]
                    })
                    .collect();
                tx.insert_rows("invoice_month_days", &INVOICE_COLUMNS, rows).await?;
            }

            for (kind, facts) in cost_facts(write.connection, &resolved) {
                tx.replace_rollup_window(write.org, kind, Some(write.connection), kind.buckets(write.window), &facts)
                    .await?;
            }
            let facts = key_model_facts(write.connection, &resolved);
            tx.replace_rollup_window(write.org, &KEY_MODEL, Some(write.connection), KEY_MODEL.buckets(write.window), &facts)
                .await?;
            let facts = key_unit_facts(write.connection, &resolved);
            tx.replace_rollup_window(write.org, &KEY_UNIT, Some(write.connection), KEY_UNIT.buckets(write.window), &facts)
                .await?;

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
