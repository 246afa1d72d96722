//! What alerts did: each rule's armed/fired state per subject, the firings (history), the
//! notifications to send per firing and channel, and one delivery-log row per attempt.
//!
//! A firing is recorded only in the transaction whose upsert turned the state's `fired` on
//! (`ON CONFLICT … DO UPDATE … WHERE NOT fired OR another period … RETURNING`), so however
//! many evaluators see the same crossing, it fires once.

use serde::Serialize;
use spendlens_domain::alerts::ArmState;
use time::OffsetDateTime;

use super::{AlertChannelRow, AlertRuleRow};
use crate::{OrgId, RowExt, Store, StoreResult, from_millis, millis, with_pool};

/// One firing of a rule.
#[derive(Clone, Debug, Serialize)]
pub struct FiringRow {
    pub id: i64,
    /// `None` once the rule was deleted (its name stays).
    pub rule_id: Option<i64>,
    pub rule_name: String,
    pub kind: String,
    pub scope: String,
    /// The customer, model or connection that crossed; empty for the rule as a whole.
    pub subject: String,
    /// The period it crossed in (`2026-12-04`, `2026-12`), empty for rules without one.
    pub period_key: String,
    /// The value that crossed and the threshold, exact decimals.
    pub value: String,
    pub threshold: String,
    pub message: String,
    #[serde(with = "time::serde::rfc3339")]
    pub fired_at: OffsetDateTime,
    /// Notifications by status.
    pub delivered: i64,
    pub failed: i64,
    pub pending: i64,
}

/// A notification claimed for delivery, with what is needed to send it.
#[derive(Clone, Debug)]
pub struct NotificationJob {
    pub id: i64,
    pub org: OrgId,
    pub attempts: i64,
    pub firing: FiringRow,
    pub channel: AlertChannelRow,
}

/// One delivery attempt, as the log shows it.
#[derive(Clone, Debug, Serialize)]
pub struct DeliveryRow {
    pub id: i64,
    pub notification_id: i64,
    pub firing_id: i64,
    pub rule_name: String,
    pub channel_name: String,
    pub attempt: i64,
    /// `delivered`, `retrying` (another attempt follows) or `failed` (the last one).
    pub outcome: String,
    pub http_status: Option<i64>,
    pub error: Option<String>,
    pub duration_ms: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

/// What a firing records.
#[derive(Clone, Debug)]
pub struct FireAlert<'a> {
    pub subject: &'a str,
    pub period_key: &'a str,
    pub value: String,
    pub message: String,
}

const FIRING_COLUMNS: &str = "f.id, f.rule_id, f.rule_name, f.kind, f.scope, f.subject, f.period_key, f.value, \
     f.threshold, f.message, f.fired_at, \
     (SELECT COUNT(*) FROM alert_notifications n WHERE n.firing_id = f.id AND n.status = 'delivered') AS delivered, \
     (SELECT COUNT(*) FROM alert_notifications n WHERE n.firing_id = f.id AND n.status = 'failed') AS failed, \
     (SELECT COUNT(*) FROM alert_notifications n WHERE n.firing_id = f.id AND n.status IN ('pending', 'sending')) AS pending";

fn firing_from_row<R: RowExt>(row: &R) -> StoreResult<FiringRow> {
    Ok(FiringRow {
        id: row.int("id")?,
        rule_id: row.opt_int("rule_id")?,
        rule_name: row.text("rule_name")?,
        kind: row.text("kind")?,
        scope: row.text("scope")?,
        subject: row.text("subject")?,
        period_key: row.text("period_key")?,
        value: row.text("value")?,
        threshold: row.text("threshold")?,
        message: row.text("message")?,
        fired_at: from_millis(row.int("fired_at")?),
        delivered: row.int("delivered")?,
        failed: row.int("failed")?,
        pending: row.int("pending")?,
    })
}

impl Store {
    /// Every rule's remembered state, by (rule id, subject).
    pub async fn alert_states(&self, org: OrgId) -> StoreResult<Vec<(i64, String, ArmState)>> {
        with_pool!(self, pool => {
            let rows = sqlx::query(
                "SELECT s.rule_id, s.subject, s.period_key, s.fired FROM alert_rule_state s \
                 JOIN alert_rules r ON r.id = s.rule_id WHERE r.org_id = $1",
            )
            .bind(org.0)
            .fetch_all(pool)
            .await?;
            rows.iter()
                .map(|row| {
                    Ok((
                        row.int("rule_id")?,
                        row.text("subject")?,
                        ArmState {
                            fired: row.flag("fired")?,
                            period_key: row.text("period_key")?,
                        },
                    ))
                })
                .collect()
        })
    }

    /// Records a crossing: turns the state's `fired` on and, only if this call did, writes the
    /// firing and a pending notification per enabled channel of the rule. Returns the firing's
    /// id, or `None` when the crossing had already fired.
    pub async fn fire_alert(
        &self,
        org: OrgId,
        rule: &AlertRuleRow,
        fire: &FireAlert<'_>,
        now: OffsetDateTime,
    ) -> StoreResult<Option<i64>> {
        let channels: Vec<AlertChannelRow> = if rule.channels.is_empty() {
            Vec::new()
        } else {
            self.list_alert_channels(org)
                .await?
                .into_iter()
                .filter(|c| c.enabled && rule.channels.contains(&c.id))
                .collect()
        };
        let at = millis(now);
        let id = with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let won: Option<i64> = sqlx::query_scalar(
                "INSERT INTO alert_rule_state (rule_id, subject, period_key, fired, value, updated_at) \
                 VALUES ($1, $2, $3, TRUE, $4, $5) ON CONFLICT (rule_id, subject) DO UPDATE SET \
                 fired = TRUE, period_key = excluded.period_key, value = excluded.value, updated_at = excluded.updated_at \
                 WHERE alert_rule_state.fired = FALSE OR alert_rule_state.period_key <> excluded.period_key \
                 RETURNING rule_id",
            )
            .bind(rule.id)
            .bind(fire.subject)
            .bind(fire.period_key)
            .bind(&fire.value)
            .bind(at)
            .fetch_optional(&mut *tx)
            .await?;
            if won.is_none() {
                tx.rollback().await?;
                None
            } else {
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO alert_firings (org_id, rule_id, rule_name, kind, scope, subject, period_key, \
                     value, threshold, message, fired_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
                     RETURNING id",
                )
                .bind(org.0)
                .bind(rule.id)
                .bind(&rule.name)
                .bind(rule.spec.kind.as_str())
                .bind(rule.spec.scope_text())
                .bind(fire.subject)
                .bind(fire.period_key)
                .bind(&fire.value)
                .bind(rule.spec.threshold.normalize().to_string())
                .bind(&fire.message)
                .bind(at)
                .fetch_one(&mut *tx)
                .await?;
                for channel in &channels {
                    sqlx::query(
                        "INSERT INTO alert_notifications (org_id, firing_id, channel_id, channel_name, status, \
                         attempts, updated_at) VALUES ($1, $2, $3, $4, 'pending', 0, $5)",
                    )
                    .bind(org.0)
                    .bind(id)
                    .bind(channel.id)
                    .bind(&channel.name)
                    .bind(at)
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await?;
                Some(id)
            }
        });
        Ok(id)
    }

    /// Arms a fired subject again (its value recovered, or a new period began).
    pub async fn rearm_alert(
        &self,
        rule_id: i64,
        subject: &str,
        period_key: &str,
        value: &str,
        now: OffsetDateTime,
    ) -> StoreResult<()> {
        with_pool!(self, pool => {
            sqlx::query(
                "UPDATE alert_rule_state SET fired = FALSE, period_key = $3, value = $4, updated_at = $5 \
                 WHERE rule_id = $1 AND subject = $2 AND fired",
            )
            .bind(rule_id)
            .bind(subject)
            .bind(period_key)
            .bind(value)
            .bind(millis(now))
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// The newest firings first.
    pub async fn list_alert_firings(&self, org: OrgId, limit: i64) -> StoreResult<Vec<FiringRow>> {
        let sql = format!(
            "SELECT {FIRING_COLUMNS} FROM alert_firings f WHERE f.org_id = $1 ORDER BY f.id DESC LIMIT $2"
        );
        with_pool!(self, pool => {
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(org.0)
                .bind(limit.clamp(1, 10_000))
                .fetch_all(pool)
                .await?;
            rows.iter().map(firing_from_row).collect()
        })
    }

    /// How many firings since `since` (the dashboard's badge).
    pub async fn count_alert_firings_since(
        &self,
        org: OrgId,
        since: OffsetDateTime,
    ) -> StoreResult<i64> {
        with_pool!(self, pool => {
            Ok(sqlx::query_scalar(
                "SELECT COUNT(*) FROM alert_firings WHERE org_id = $1 AND fired_at >= $2",
            )
            .bind(org.0)
            .bind(millis(since))
            .fetch_one(pool)
            .await?)
        })
    }

    /// Claims notifications to send: pending ones, and ones claimed before `stale` (a server
    /// stopped while sending). Each is claimed by one statement, so two servers never both
    /// send one.
    pub async fn claim_alert_notifications(
        &self,
        now: OffsetDateTime,
        stale: OffsetDateTime,
        limit: i64,
    ) -> StoreResult<Vec<NotificationJob>> {
        let candidates: Vec<(i64, i64, i64, Option<i64>, i64)> = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id, org_id, firing_id, channel_id, attempts FROM alert_notifications \
                 WHERE status = 'pending' OR (status = 'sending' AND claimed_at < $1) ORDER BY id LIMIT $2",
            )
            .bind(millis(stale))
            .bind(limit)
            .fetch_all(pool)
            .await?
        });
        let mut jobs = Vec::new();
        for (id, org, firing_id, channel_id, attempts) in candidates {
            let claimed: Option<i64> = with_pool!(self, pool => {
                sqlx::query_scalar(
                    "UPDATE alert_notifications SET status = 'sending', claimed_at = $2, updated_at = $2 \
                     WHERE id = $1 AND (status = 'pending' OR (status = 'sending' AND claimed_at < $3)) RETURNING id",
                )
                .bind(id)
                .bind(millis(now))
                .bind(millis(stale))
                .fetch_optional(pool)
                .await?
            });
            if claimed.is_none() {
                continue;
            }
            let org = OrgId(org);
            let channel = match channel_id {
                Some(c) => self
                    .list_alert_channels(org)
                    .await?
                    .into_iter()
                    .find(|row| row.id == c),
                None => None,
            };
            let Some(channel) = channel else {
                // The channel was deleted meanwhile: nothing to send to.
                self.record_alert_attempt(
                    org,
                    id,
                    attempts + 1,
                    "failed",
                    None,
                    Some("the channel was deleted before delivery"),
                    0,
                    now,
                )
                .await?;
                continue;
            };
            let sql = format!("SELECT {FIRING_COLUMNS} FROM alert_firings f WHERE f.id = $1");
            let firing = with_pool!(self, pool => {
                let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(firing_id).fetch_one(pool).await?;
                firing_from_row(&row)?
            });
            jobs.push(NotificationJob {
                id,
                org,
                attempts,
                firing,
                channel,
            });
        }
        Ok(jobs)
    }

    /// Logs one attempt and moves the notification on: `delivered`, `failed` (no more
    /// attempts) or `retrying` (it stays claimed for the next attempt).
    #[allow(clippy::too_many_arguments)]
    pub async fn record_alert_attempt(
        &self,
        org: OrgId,
        notification: i64,
        attempt: i64,
        outcome: &str,
        http_status: Option<i64>,
        error: Option<&str>,
        duration_ms: i64,
        now: OffsetDateTime,
    ) -> StoreResult<()> {
        let status = match outcome {
            "delivered" => "delivered",
            "failed" => "failed",
            _ => "sending",
        };
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query(
                "INSERT INTO alert_deliveries (org_id, notification_id, attempt, outcome, http_status, error, \
                 duration_ms, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(org.0)
            .bind(notification)
            .bind(attempt)
            .bind(outcome)
            .bind(http_status)
            .bind(error)
            .bind(duration_ms)
            .bind(millis(now))
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "UPDATE alert_notifications SET status = $2, attempts = $3, updated_at = $4 WHERE id = $1",
            )
            .bind(notification)
            .bind(status)
            .bind(attempt)
            .bind(millis(now))
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// The delivery log, newest first.
    pub async fn list_alert_deliveries(
        &self,
        org: OrgId,
        limit: i64,
    ) -> StoreResult<Vec<DeliveryRow>> {
        with_pool!(self, pool => {
            let rows = sqlx::query(
                "SELECT d.id, d.notification_id, n.firing_id, f.rule_name, n.channel_name, d.attempt, d.outcome, \
                 d.http_status, d.error, d.duration_ms, d.at FROM alert_deliveries d \
                 JOIN alert_notifications n ON n.id = d.notification_id \
                 JOIN alert_firings f ON f.id = n.firing_id \
                 WHERE d.org_id = $1 ORDER BY d.id DESC LIMIT $2",
            )
            .bind(org.0)
            .bind(limit.clamp(1, 10_000))
            .fetch_all(pool)
            .await?;
            rows.iter()
                .map(|row| {
                    Ok(DeliveryRow {
                        id: row.int("id")?,
                        notification_id: row.int("notification_id")?,
                        firing_id: row.int("firing_id")?,
                        rule_name: row.text("rule_name")?,
                        channel_name: row.text("channel_name")?,
                        attempt: row.int("attempt")?,
                        outcome: row.text("outcome")?,
                        http_status: row.opt_int("http_status")?,
                        error: row.opt_text("error")?,
                        duration_ms: row.int("duration_ms")?,
                        at: from_millis(row.int("at")?),
                    })
                })
                .collect()
        })
    }
}
