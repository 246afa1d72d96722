//! Reads for bulk exports (the FOCUS export): every cost line of a period with the names of its
//! connection, workspace and API key, and the metered calls of a period per UTC day and
//! attribution series from the `meter_day` rollup (never from raw events, which retention
//! prunes). Unlike the views, an export needs the line grain, so it reads `cost_lines` by
//! connection and day (the index `cost_lines_window`). A day a provider restated after its
//! month closed also has its earlier versions (`cost_line_versions`, see `line_versions`).

use spendlens_domain::{Day, DayRange, Money, ProviderKind, Quantity};

use crate::rollups::{DIM_COLUMNS, Metrics, read_dims, read_metrics};
use crate::{ConnectionId, OrgId, RowExt, Store, StoreError, StoreResult, with_pool};

/// One stored cost line with the names around it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExportLine {
    pub connection_id: ConnectionId,
    pub connection_name: String,
    pub provider: ProviderKind,
    pub day: Day,
    /// The provider's workspace id and the name shown for it.
    pub workspace: Option<(String, String)>,
    /// The provider's key id (not a secret), its name and masked hint.
    pub api_key_id: Option<String>,
    pub api_key_name: Option<String>,
    pub api_key_hint: Option<String>,
    pub model: String,
    pub category: String,
    pub unit: String,
    pub detail: String,
    /// All input tokens; `cache_read` and `cache_write` are parts of it.
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub cache_read_tokens: i64,
    pub cache_write_tokens: i64,
    pub requests: Option<i64>,
    pub quantity: Quantity,
    /// List cost before credits.
    pub cost: Money,
    /// Credits applied (zero or positive).
    pub credits: Money,
    pub currency: String,
    pub estimated: bool,
    pub allocated: bool,
    /// The currency the provider billed in, and cost and credits in it (nano-units); the same
    /// as `currency`, `cost` and `credits` for spend billed in USD.
    pub billing_currency: String,
    pub billing_cost: Money,
    pub billing_credits: Money,
    /// The line's usage has no known price: its cost is unknown, not `cost`.
    pub unpriced: bool,
}

/// One connection's day that a provider restated after its month closed: every kept version
/// (oldest first, each with the UTC day a sync superseded it) and the lines stored now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DayHistory {
    pub connection_id: ConnectionId,
    pub day: Day,
    pub versions: Vec<(Day, Vec<ExportLine>)>,
    pub current: Vec<ExportLine>,
}

/// The metered calls of one `meter_day` series on one day.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MeterDayRow {
    pub day: Day,
    /// The [`crate::METER_DIMS`] values in order (provider, model, api key, customer, product,
    /// agent, workflow, status); an absent value is the empty string.
    pub dims: Vec<String>,
    pub metrics: Metrics,
}

const LINE_COLUMNS: &str = "l.connection_id, c.name AS connection_name, c.provider, l.day, \
    w.provider_id AS workspace_id, w.display_name AS workspace_name, \
    k.provider_id AS key_id, k.name AS key_name, k.hint AS key_hint, \
    l.model, l.category, l.unit, l.detail, l.input_tokens, l.output_tokens, \
    l.cache_read_tokens, l.cache_write_tokens, l.requests, l.quantity_micros, l.cost_nanos, \
    l.credits_nanos, l.currency, l.estimated, l.allocated, l.billing_currency, \
    l.billing_cost_nanos, l.billing_credits_nanos, l.unpriced";

/// The names a line's columns join (`l` is the line, from `cost_lines` or a kept version).
const LINE_JOINS: &str = "JOIN connections c ON c.id = l.connection_id \
    LEFT JOIN workspaces w ON w.id = l.workspace_ref \
    LEFT JOIN api_keys k ON k.id = l.api_key_ref";

/// Lines of one connection and day in the order they were written.
const LINE_ORDER: &str = "l.workspace_ref, l.api_key_ref, l.model, l.category, l.unit, l.detail";

/// A stored day number as a [`Day`] (`what` names the column for the error).
fn stored_day(number: i64, what: &str) -> StoreResult<Day> {
    i32::try_from(number)
        .ok()
        .and_then(|d| Day::from_number(d).ok())
        .ok_or_else(|| StoreError::Corrupt(format!("{what} {number} is not a day")))
}

fn line_from_row<R: RowExt>(row: &R) -> StoreResult<ExportLine> {
    let provider = row.text("provider")?;
    let day = row.int("day")?;
    let workspace = match (
        row.opt_text("workspace_id")?,
        row.opt_text("workspace_name")?,
    ) {
        (Some(id), Some(name)) => Some((id, name)),
        _ => None,
    };
    Ok(ExportLine {
        connection_id: ConnectionId(row.int("connection_id")?),
        connection_name: row.text("connection_name")?,
        provider: provider
            .parse()
            .map_err(|_| StoreError::Corrupt(format!("provider \"{provider}\"")))?,
        day: stored_day(day, "cost line day")?,
        workspace,
        api_key_id: row.opt_text("key_id")?,
        api_key_name: row.opt_text("key_name")?,
        api_key_hint: row.opt_text("key_hint")?,
        model: row.text("model")?,
        category: row.text("category")?,
        unit: row.text("unit")?,
        detail: row.text("detail")?,
        input_tokens: row.int("input_tokens")?,
        output_tokens: row.int("output_tokens")?,
        cache_read_tokens: row.int("cache_read_tokens")?,
        cache_write_tokens: row.int("cache_write_tokens")?,
        requests: row.opt_int("requests")?,
        quantity: Quantity::from_micros(row.int("quantity_micros")?),
        cost: Money::from_nanos(row.int("cost_nanos")?),
        credits: Money::from_nanos(row.int("credits_nanos")?),
        currency: row.text("currency")?,
        estimated: row.flag("estimated")?,
        allocated: row.flag("allocated")?,
        billing_currency: match row.opt_text("billing_currency")? {
            Some(code) => code,
            None => row.text("currency")?,
        },
        billing_cost: Money::from_nanos(match row.opt_int("billing_cost_nanos")? {
            Some(nanos) => nanos,
            None => row.int("cost_nanos")?,
        }),
        billing_credits: Money::from_nanos(match row.opt_int("billing_credits_nanos")? {
            Some(nanos) => nanos,
            None => row.int("credits_nanos")?,
        }),
        unpriced: row.flag("unpriced")?,
    })
}

/// The currencies of [`Store::foreign_billing_currencies`] for one connection (`$1`) and days
/// (`$2`..`$3`). Every lookup repeats the partial index's condition, so both databases use it.
const FOREIGN_CODES: &str = "WITH RECURSIVE codes(code) AS ( \
     SELECT MIN(billing_currency) FROM cost_lines WHERE connection_id = $1 \
     AND billing_currency IS NOT NULL AND billing_currency <> currency \
     UNION ALL \
     SELECT (SELECT MIN(l.billing_currency) FROM cost_lines l WHERE l.connection_id = $1 \
     AND l.billing_currency IS NOT NULL AND l.billing_currency <> l.currency \
     AND l.billing_currency > codes.code) FROM codes WHERE codes.code IS NOT NULL) \
     SELECT code FROM codes WHERE code IS NOT NULL AND EXISTS (SELECT 1 FROM cost_lines l \
     WHERE l.connection_id = $1 AND l.billing_currency = codes.code \
     AND l.billing_currency IS NOT NULL AND l.billing_currency <> l.currency \
     AND l.day BETWEEN $2 AND $3) ORDER BY code";

impl Store {
    /// Every cost line of `org` on the days of `days`, ordered by day, connection and line, with
    /// its connection's, workspace's and key's names.
    pub async fn export_cost_lines(
        &self,
        org: OrgId,
        days: DayRange,
    ) -> StoreResult<Vec<ExportLine>> {
        let sql = format!(
            "SELECT {LINE_COLUMNS} FROM cost_lines l {LINE_JOINS} \
             WHERE l.org_id = $1 AND l.connection_id = $2 AND l.day BETWEEN $3 AND $4 \
             ORDER BY l.day, {LINE_ORDER}"
        );
        let connections: Vec<i64> = with_pool!(self, pool => {
            sqlx::query_scalar("SELECT id FROM connections WHERE org_id = $1 ORDER BY id")
                .bind(org.0)
                .fetch_all(pool)
                .await?
        });
        let (from, to) = (
            i64::from(days.from().number()),
            i64::from(days.to().number()),
        );
        let mut lines = Vec::new();
        for connection in connections {
            let batch: Vec<ExportLine> = with_pool!(self, pool => {
                let rows = sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
                    .bind(org.0)
                    .bind(connection)
                    .bind(from)
                    .bind(to)
                    .fetch_all(pool)
                    .await?;
                rows.iter().map(line_from_row).collect::<StoreResult<Vec<_>>>()?
            });
            lines.extend(batch);
        }
        lines.sort_by_key(|l| (l.day, l.connection_id.0));
        Ok(lines)
    }

    /// The restated days an export of `days` needs: those inside `days` (their first version is
    /// what was invoiced) and those a sync restated during `days` (their corrections are billed
    /// then), each with all its versions and its current lines. Two reads, whatever the number
    /// of days.
    pub async fn export_line_history(
        &self,
        org: OrgId,
        days: DayRange,
    ) -> StoreResult<Vec<DayHistory>> {
        let (from, to) = (
            i64::from(days.from().number()),
            i64::from(days.to().number()),
        );
        // The (connection, day) pairs needed, as a subquery both reads share.
        const RESTATED: &str = "(l.connection_id, l.day) IN (SELECT connection_id, day \
            FROM cost_line_versions WHERE org_id = $1 AND ((day >= $2 AND day <= $3) \
            OR (superseded_on >= $2 AND superseded_on <= $3)))";
        let versions_sql = format!(
            "SELECT {LINE_COLUMNS}, l.superseded_on FROM cost_line_versions l {LINE_JOINS} \
             WHERE l.org_id = $1 AND {RESTATED} \
             ORDER BY l.day, l.connection_id, l.superseded_on, {LINE_ORDER}"
        );
        let current_sql = format!(
            "SELECT {LINE_COLUMNS} FROM cost_lines l {LINE_JOINS} \
             WHERE l.org_id = $1 AND {RESTATED} \
             ORDER BY l.day, l.connection_id, {LINE_ORDER}"
        );
        let (versions, current) = with_pool!(self, pool => {
            let mut read = Vec::with_capacity(2);
            for sql in [&versions_sql, &current_sql] {
                read.push(
                    sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
                        .bind(org.0)
                        .bind(from)
                        .bind(to)
                        .fetch_all(pool)
                        .await?,
                );
            }
            let current = read.pop().unwrap_or_default();
            let versions = read.pop().unwrap_or_default();
            let versions = versions
                .iter()
                .map(|row| Ok((stored_day(row.int("superseded_on")?, "superseded_on")?, line_from_row(row)?)))
                .collect::<StoreResult<Vec<_>>>()?;
            let current = current.iter().map(line_from_row).collect::<StoreResult<Vec<_>>>()?;
            (versions, current)
        });
        // Both reads are ordered by day and connection: group versions, then attach the lines.
        let mut history: Vec<DayHistory> = Vec::new();
        for (superseded, line) in versions {
            let same_day = history
                .last()
                .is_some_and(|h| (h.day, h.connection_id) == (line.day, line.connection_id));
            if !same_day {
                history.push(DayHistory {
                    connection_id: line.connection_id,
                    day: line.day,
                    versions: Vec::new(),
                    current: Vec::new(),
                });
            }
            let Some(h) = history.last_mut() else {
                continue;
            };
            match h.versions.last_mut() {
                Some((on, lines)) if *on == superseded => lines.push(line),
                _ => h.versions.push((superseded, vec![line])),
            }
        }
        for line in current {
            if let Ok(i) = history.binary_search_by_key(&(line.day, line.connection_id.0), |h| {
                (h.day, h.connection_id.0)
            }) {
                history[i].current.push(line);
            }
        }
        Ok(history)
    }

    /// The billing currencies other than USD that each of `connections` billed in over `days`
    /// (the Providers view says "billed in EUR, shown in USD"). Per connection, a few seeks per
    /// currency on the partial index `cost_lines_foreign_billing` (migration 0035): the
    /// currencies are stepped through one by one (`MIN(…) > previous`), then each is checked
    /// for a line inside the days; lines billed in USD are not in the index at all.
    pub async fn foreign_billing_currencies(
        &self,
        connections: &[ConnectionId],
        days: DayRange,
    ) -> StoreResult<Vec<(ConnectionId, String)>> {
        let (from, to) = (
            i64::from(days.from().number()),
            i64::from(days.to().number()),
        );
        let mut found = Vec::new();
        for connection in connections {
            let codes: Vec<String> = with_pool!(self, pool => {
                sqlx::query_scalar(FOREIGN_CODES)
                .bind(connection.0)
                .bind(from)
                .bind(to)
                .fetch_all(pool)
                .await?
            });
            found.extend(codes.into_iter().map(|code| (*connection, code)));
        }
        Ok(found)
    }

    /// The metered calls of `org` per UTC day and `meter_day` series over `days`: each day
    /// with activity is its cumulative row minus the series' previous one.
    pub async fn export_meter_days(
        &self,
        org: OrgId,
        days: DayRange,
    ) -> StoreResult<Vec<MeterDayRow>> {
        let kind = &crate::METER_DAY;
        let columns = kind.metric_columns();
        let dims = &DIM_COLUMNS[..kind.dims.len()];
        let mut sql = String::from("SELECT c.bucket");
        for d in dims {
            sql.push_str(&format!(", s.{d}"));
        }
        for col in columns {
            sql.push_str(&format!(", c.{col} - COALESCE(p.{col}, 0)"));
        }
        sql.push_str(
            " FROM rollup_series s JOIN rollup_cum c ON c.series_id = s.id \
             LEFT JOIN rollup_cum p ON p.series_id = c.series_id AND p.bucket = \
             (SELECT MAX(q.bucket) FROM rollup_cum q WHERE q.series_id = c.series_id AND q.bucket < c.bucket) \
             WHERE s.org_id = $1 AND s.kind = $2 AND c.bucket BETWEEN $3 AND $4 \
             ORDER BY c.bucket, s.id",
        );
        let (from, to) = (
            i64::from(days.from().number()),
            i64::from(days.to().number()),
        );
        let n = columns.len();
        let dim_count = kind.dims.len();
        with_pool!(self, pool => {
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(org.0)
                .bind(kind.name)
                .bind(from)
                .bind(to)
                .fetch_all(pool)
                .await?;
            rows.iter()
                .map(|row| {
                    let bucket: i64 = sqlx::Row::try_get(row, 0)?;
                    let day = i32::try_from(bucket)
                        .ok()
                        .and_then(|d| Day::from_number(d).ok())
                        .ok_or_else(|| StoreError::Corrupt(format!("meter_day bucket {bucket}")))?;
                    let dims = read_dims(row, 1, kind)?
                        .into_iter()
                        .map(|v| v.encode())
                        .collect();
                    Ok(MeterDayRow {
                        day,
                        dims,
                        metrics: read_metrics(row, 1 + dim_count, n)?,
                    })
                })
                .filter(|row: &StoreResult<MeterDayRow>| {
                    row.as_ref().map_or(true, |r| !r.metrics.is_zero())
                })
                .collect()
        })
    }
}
