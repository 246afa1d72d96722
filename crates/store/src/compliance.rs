//! What compliance reports count: audit actions and access-log entries per kind in a period,
//! the actors behind sign-ins, token use and denied requests, live sessions, and the oldest
//! data held of each kind (for retention). Counts only: the reports never copy log entries'
//! details beyond actor, kind and request line.

use serde::Serialize;
use spendlens_domain::Day;
use time::OffsetDateTime;

use crate::{OrgId, Store, StoreResult, from_millis, millis, with_pool};

/// A name and how often it occurred.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NamedCount {
    pub name: String,
    pub count: i64,
}

/// The oldest item held of each kind of data; `None` when there is none.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct OldestData {
    /// The first billed day (cost lines).
    pub cost_line_day: Option<Day>,
    /// The oldest raw metered event kept (retention deletes older ones; rollups stay).
    pub metered_event_day: Option<Day>,
    /// The first day with metered totals (rollups, kept past raw-event retention).
    pub metered_rollup_day: Option<Day>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub audit_entry_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub access_entry_at: Option<OffsetDateTime>,
    pub cost_lines: i64,
    pub metered_events: i64,
    pub audit_entries: i64,
    pub access_entries: i64,
}

/// What is recorded of budgets: the caps set now, and the budget alerts fired in a period.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct BudgetFacts {
    pub caps: i64,
    pub caps_enabled: i64,
    /// Firings of `budget_hard` alert rules (a hard cap reached).
    pub hard_firings: i64,
    /// Firings of `budget_soft` alert rules (a soft threshold crossed).
    pub soft_firings: i64,
    /// Budget checks denied (every cap), and of them the ones without a price.
    pub denials: i64,
    pub unpriced_denials: i64,
    /// The estimated cost of the priced denied checks.
    pub denied_estimate: spendlens_domain::Money,
    /// Caps that denied at least one check.
    pub denying_caps: i64,
}

fn day_of(n: Option<i64>) -> Option<Day> {
    n.and_then(|n| i32::try_from(n).ok())
        .and_then(|n| Day::from_number(n).ok())
}

fn counts(rows: Vec<(String, i64)>) -> Vec<NamedCount> {
    rows.into_iter()
        .map(|(name, count)| NamedCount { name, count })
        .collect()
}

impl Store {
    /// Audit entries per action in `[from, to)`, most frequent first.
    pub async fn audit_action_counts(
        &self,
        org: OrgId,
        from: OffsetDateTime,
        to: OffsetDateTime,
    ) -> StoreResult<Vec<NamedCount>> {
        let rows: Vec<(String, i64)> = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT action, CAST(COUNT(*) AS BIGINT) AS n FROM audit_log \
                 WHERE org_id = $1 AND at >= $2 AND at < $3 GROUP BY action ORDER BY n DESC, action",
            )
            .bind(org.0)
            .bind(millis(from))
            .bind(millis(to))
            .fetch_all(pool)
            .await?
        });
        Ok(counts(rows))
    }

    /// Access-log entries per kind in `[from, to)`.
    pub async fn access_kind_counts(
        &self,
        org: OrgId,
        from: OffsetDateTime,
        to: OffsetDateTime,
    ) -> StoreResult<Vec<NamedCount>> {
        let rows: Vec<(String, i64)> = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT kind, CAST(COUNT(*) AS BIGINT) AS n FROM access_log \
                 WHERE org_id = $1 AND at >= $2 AND at < $3 GROUP BY kind ORDER BY n DESC, kind",
            )
            .bind(org.0)
            .bind(millis(from))
            .bind(millis(to))
            .fetch_all(pool)
            .await?
        });
        Ok(counts(rows))
    }

    /// Access-log entries of one kind in `[from, to)` per actor (or per request line with
    /// `by_request`), most frequent first, at most `limit`.
    pub async fn access_counts_by(
        &self,
        org: OrgId,
        kind: crate::AccessKind,
        by_request: bool,
        from: OffsetDateTime,
        to: OffsetDateTime,
        limit: i64,
    ) -> StoreResult<Vec<NamedCount>> {
        let group = if by_request {
            "method || ' ' || path"
        } else {
            "actor"
        };
        let sql = format!(
            "SELECT {group} AS name, CAST(COUNT(*) AS BIGINT) AS n FROM access_log \
             WHERE org_id = $1 AND kind = $2 AND at >= $3 AND at < $4 \
             GROUP BY {group} ORDER BY n DESC, name LIMIT {}",
            limit.clamp(1, 1000)
        );
        let rows: Vec<(String, i64)> = with_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(org.0)
                .bind(kind.as_str())
                .bind(millis(from))
                .bind(millis(to))
                .fetch_all(pool)
                .await?
        });
        Ok(counts(rows))
    }

    /// The budget caps set now and the budget alerts fired in `[from, to)`.
    pub async fn budget_facts(
        &self,
        org: OrgId,
        from: OffsetDateTime,
        to: OffsetDateTime,
    ) -> StoreResult<BudgetFacts> {
        let (caps, caps_enabled): (i64, i64) = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT CAST(COUNT(*) AS BIGINT),                  CAST(COALESCE(SUM(CASE WHEN enabled THEN 1 ELSE 0 END), 0) AS BIGINT)                  FROM budget_caps WHERE org_id = $1",
            )
            .bind(org.0)
            .fetch_one(pool)
            .await?
        });
        let fired: Vec<(String, i64)> = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT kind, CAST(COUNT(*) AS BIGINT) FROM alert_firings WHERE org_id = $1                  AND fired_at >= $2 AND fired_at < $3 AND kind IN ('budget_soft', 'budget_hard')                  GROUP BY kind",
            )
            .bind(org.0)
            .bind(millis(from))
            .bind(millis(to))
            .fetch_all(pool)
            .await?
        });
        let count = |kind: &str| fired.iter().find(|(k, _)| k == kind).map_or(0, |(_, n)| *n);
        // Denials are kept per UTC day: the days from `from`'s through the one before `to`'s.
        let (denials, unpriced, estimate, denying): (i64, i64, i64, i64) = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT CAST(COALESCE(SUM(denials), 0) AS BIGINT), \
                 CAST(COALESCE(SUM(unpriced), 0) AS BIGINT), \
                 CAST(COALESCE(SUM(estimate_nanos), 0) AS BIGINT), \
                 CAST(COUNT(DISTINCT cap_id) AS BIGINT) \
                 FROM budget_denials WHERE org_id = $1 AND day >= $2 AND day < $3",
            )
            .bind(org.0)
            .bind(i64::from(Day::of(from).number()))
            .bind(i64::from(Day::of(to).number()))
            .fetch_one(pool)
            .await?
        });
        Ok(BudgetFacts {
            caps,
            caps_enabled,
            hard_firings: count("budget_hard"),
            soft_firings: count("budget_soft"),
            denials,
            unpriced_denials: unpriced,
            denied_estimate: spendlens_domain::Money::from_nanos(estimate),
            denying_caps: denying,
        })
    }

    /// Sessions not expired at `now`.
    pub async fn live_session_count(&self, org: OrgId, now: OffsetDateTime) -> StoreResult<i64> {
        Ok(with_pool!(self, pool => {
            sqlx::query_scalar::<_, i64>(
                "SELECT CAST(COUNT(*) AS BIGINT) FROM sessions WHERE org_id = $1 AND expires_at > $2",
            )
            .bind(org.0)
            .bind(millis(now))
            .fetch_one(pool)
            .await?
        }))
    }

    /// The oldest data held of each kind, and how much.
    pub async fn oldest_data(&self, org: OrgId) -> StoreResult<OldestData> {
        let pair = |sql: &'static str| async move {
            let row: (Option<i64>, i64) = with_pool!(self, pool => {
                sqlx::query_as(sql).bind(org.0).fetch_one(pool).await?
            });
            Ok::<_, crate::StoreError>(row)
        };
        let (cost_day, cost_lines) = pair(
            "SELECT CAST(MIN(day) AS BIGINT), CAST(COUNT(*) AS BIGINT) FROM cost_lines WHERE org_id = $1",
        )
        .await?;
        let (event_day, events) = pair(
            "SELECT CAST(MIN(day) AS BIGINT), CAST(COUNT(*) AS BIGINT) FROM meter_events WHERE org_id = $1",
        )
        .await?;
        let (rollup_day, _) = pair(
            "SELECT CAST(MIN(day) AS BIGINT), CAST(COUNT(*) AS BIGINT) FROM meter_event_ids WHERE org_id = $1",
        )
        .await?;
        let (audit_at, audit) = pair(
            "SELECT CAST(MIN(at) AS BIGINT), CAST(COUNT(*) AS BIGINT) FROM audit_log WHERE org_id = $1",
        )
        .await?;
        let (access_at, access) = pair(
            "SELECT CAST(MIN(at) AS BIGINT), CAST(COUNT(*) AS BIGINT) FROM access_log WHERE org_id = $1",
        )
        .await?;
        Ok(OldestData {
            cost_line_day: day_of(cost_day),
            metered_event_day: day_of(event_day),
            metered_rollup_day: day_of(rollup_day),
            audit_entry_at: audit_at.map(from_millis),
            access_entry_at: access_at.map(from_millis),
            cost_lines,
            metered_events: events,
            audit_entries: audit,
            access_entries: access,
        })
    }
}
