//! Anomaly thresholds (migration 0016): an organization's global threshold and the thresholds
//! of single customers, models, API keys or workspaces, in percent as exact decimal text.
//! Every change is audited here, after it is written.

use serde::Serialize;
use time::OffsetDateTime;

use crate::audit::{Actor, audit_actor, lock_org};
use crate::{OrgId, RowExt, Store, StoreError, StoreResult, from_millis, millis, with_pool};

/// The scope kinds a threshold may name (`global`: the organization's default).
pub const THRESHOLD_SCOPES: [&str; 5] = ["global", "customer", "model", "key", "workspace"];

/// One stored threshold.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ThresholdRow {
    pub scope_kind: String,
    /// Empty for the global threshold.
    pub scope_id: String,
    /// Percent, exact decimal text.
    pub threshold_pct: String,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    pub updated_by: String,
}

fn check_kind(kind: &str) -> StoreResult<()> {
    if THRESHOLD_SCOPES.contains(&kind) {
        Ok(())
    } else {
        Err(StoreError::Invalid(format!(
            "a threshold's scope must be one of {}, not \"{kind}\"",
            THRESHOLD_SCOPES.join(", ")
        )))
    }
}

impl Store {
    /// Every threshold of the organization, global first.
    pub async fn anomaly_thresholds(&self, org: OrgId) -> StoreResult<Vec<ThresholdRow>> {
        with_pool!(self, pool => {
            let rows = sqlx::query(
                "SELECT scope_kind, scope_id, threshold_pct, updated_at, updated_by \
                 FROM anomaly_thresholds WHERE org_id = $1 \
                 ORDER BY CASE WHEN scope_kind = 'global' THEN 0 ELSE 1 END, scope_kind, scope_id",
            )
            .bind(org.0)
            .fetch_all(pool)
            .await?;
            rows.iter()
                .map(|row| {
                    Ok(ThresholdRow {
                        scope_kind: row.text("scope_kind")?,
                        scope_id: row.text("scope_id")?,
                        threshold_pct: row.text("threshold_pct")?,
                        updated_at: from_millis(row.int("updated_at")?),
                        updated_by: row.text("updated_by")?,
                    })
                })
                .collect()
        })
    }

    /// Sets a threshold (the caller checked the number), returning the one it replaced.
    /// Audited as `actor`'s (`anomaly_threshold.set`, `old % → new %`) in the same
    /// transaction.
    pub async fn set_anomaly_threshold(
        &self,
        org: OrgId,
        scope_kind: &str,
        scope_id: &str,
        threshold_pct: &str,
        actor: Actor<'_>,
    ) -> StoreResult<Option<String>> {
        check_kind(scope_kind)?;
        let scope_id = if scope_kind == "global" { "" } else { scope_id };
        let subject = threshold_subject(scope_kind, scope_id);
        let previous: Option<String> = with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            lock_org!(tx, org);
            let previous: Option<String> = sqlx::query_scalar(
                "SELECT threshold_pct FROM anomaly_thresholds \
                 WHERE org_id = $1 AND scope_kind = $2 AND scope_id = $3",
            )
            .bind(org.0)
            .bind(scope_kind)
            .bind(scope_id)
            .fetch_optional(&mut *tx)
            .await?;
            sqlx::query(
                "INSERT INTO anomaly_thresholds (org_id, scope_kind, scope_id, threshold_pct, updated_at, updated_by) \
                 VALUES ($1, $2, $3, $4, $5, $6) \
                 ON CONFLICT (org_id, scope_kind, scope_id) DO UPDATE SET \
                 threshold_pct = excluded.threshold_pct, updated_at = excluded.updated_at, updated_by = excluded.updated_by",
            )
            .bind(org.0)
            .bind(scope_kind)
            .bind(scope_id)
            .bind(threshold_pct)
            .bind(millis(actor.at))
            .bind(actor.name)
            .execute(&mut *tx)
            .await?;
            let detail = match &previous {
                Some(old) => format!("{old} % → {threshold_pct} %"),
                None => format!("{threshold_pct} %"),
            };
            audit_actor!(tx, org, actor, "anomaly_threshold.set", &subject, &detail);
            tx.commit().await?;
            previous
        });
        Ok(previous)
    }

    /// Removes a threshold (the scope falls back to the global one, the global one to the
    /// built-in default), returning the one removed. Audited as `actor`'s
    /// (`anomaly_threshold.remove`, `old %`) in the same transaction; nothing is logged when
    /// there was none.
    pub async fn remove_anomaly_threshold(
        &self,
        org: OrgId,
        scope_kind: &str,
        scope_id: &str,
        actor: Actor<'_>,
    ) -> StoreResult<Option<String>> {
        check_kind(scope_kind)?;
        let scope_id = if scope_kind == "global" { "" } else { scope_id };
        let subject = threshold_subject(scope_kind, scope_id);
        let removed: Option<String> = with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            lock_org!(tx, org);
            let removed: Option<String> = sqlx::query_scalar(
                "DELETE FROM anomaly_thresholds WHERE org_id = $1 AND scope_kind = $2 AND scope_id = $3 \
                 RETURNING threshold_pct",
            )
            .bind(org.0)
            .bind(scope_kind)
            .bind(scope_id)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(old) = &removed {
                let detail = format!("{old} %");
                audit_actor!(tx, org, actor, "anomaly_threshold.remove", &subject, &detail);
                tx.commit().await?;
            }
            removed
        });
        Ok(removed)
    }
}

fn threshold_subject(kind: &str, id: &str) -> String {
    if kind == "global" {
        "anomaly threshold (global)".to_owned()
    } else {
        format!("anomaly threshold of {kind} {id}")
    }
}
