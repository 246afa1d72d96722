//! Monthly report schedules (migration 0020): a kind and scope to generate every month for the
//! month before. A server claims a month with one UPDATE that moves `last_period_to` forward
//! only if it has not moved yet, so among several servers exactly one generates it.

use serde::Serialize;
use spendlens_domain::Day;
use time::OffsetDateTime;

use crate::audit::{Actor, audit_actor, audit_change, lock_org};
use crate::{
    OrgId, ReportKind, RowExt, Store, StoreError, StoreResult, from_millis, millis, with_pool,
};

/// A schedule.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ReportScheduleRow {
    pub id: i64,
    pub kind: ReportKind,
    pub scope: String,
    /// `monthly`: on the 1st (UTC), for the month before.
    pub cadence: String,
    pub created_by: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// The last day of the last month generated.
    pub last_period_to: Option<Day>,
}

const COLUMNS: &str = "id, org_id, kind, scope, cadence, created_by, created_at, last_period_to";

macro_rules! schedule_of {
    ($row:expr) => {{
        let row = $row;
        let kind = row.text("kind")?;
        Ok::<(OrgId, ReportScheduleRow), StoreError>((
            OrgId(row.int("org_id")?),
            ReportScheduleRow {
                id: row.int("id")?,
                kind: ReportKind::parse(&kind)
                    .ok_or_else(|| StoreError::Corrupt(format!("report kind \"{kind}\"")))?,
                scope: row.text("scope")?,
                cadence: row.text("cadence")?,
                created_by: row.text("created_by")?,
                created_at: from_millis(row.int("created_at")?),
                last_period_to: row
                    .opt_int("last_period_to")?
                    .and_then(|n| i32::try_from(n).ok())
                    .and_then(|n| Day::from_number(n).ok()),
            },
        ))
    }};
}

impl Store {
    /// Adds a monthly schedule created by `actor`, audited as theirs (`report_schedule.add`,
    /// `report schedule <id>`, `monthly <kind> · <scope>`) in the same transaction; the same
    /// kind and scope twice is a conflict (and logs nothing).
    pub async fn create_report_schedule(
        &self,
        org: OrgId,
        kind: ReportKind,
        scope: &str,
        actor: Actor<'_>,
    ) -> StoreResult<ReportScheduleRow> {
        let detail = format!("monthly {} · {scope}", kind.as_str());
        let id: Option<i64> = with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            lock_org!(tx, org);
            let id: Option<i64> = sqlx::query_scalar(
                "INSERT INTO report_schedules (org_id, kind, scope, cadence, created_by, created_at) \
                 VALUES ($1, $2, $3, 'monthly', $4, $5) ON CONFLICT DO NOTHING RETURNING id",
            )
            .bind(org.0)
            .bind(kind.as_str())
            .bind(scope)
            .bind(actor.name)
            .bind(millis(actor.at))
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(id) = id {
                let subject = format!("report schedule {id}");
                audit_actor!(tx, org, actor, "report_schedule.add", &subject, &detail);
                tx.commit().await?;
            }
            id
        });
        let id = id.ok_or_else(|| {
            StoreError::Conflict(format!(
                "a monthly {} report for {scope} is already scheduled",
                kind.as_str()
            ))
        })?;
        self.report_schedules(org)
            .await?
            .into_iter()
            .find(|s| s.id == id)
            .ok_or_else(|| StoreError::NotFound {
                what: format!("report schedule {id}"),
            })
    }

    /// An organization's schedules.
    pub async fn report_schedules(&self, org: OrgId) -> StoreResult<Vec<ReportScheduleRow>> {
        let sql = format!("SELECT {COLUMNS} FROM report_schedules WHERE org_id = $1 ORDER BY id");
        with_pool!(self, pool => {
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(org.0).fetch_all(pool).await?;
            rows.iter().map(|row| schedule_of!(row).map(|(_, s)| s)).collect()
        })
    }

    /// Every organization's schedules that have not generated the month ending `month_end`.
    pub async fn due_report_schedules(
        &self,
        month_end: Day,
    ) -> StoreResult<Vec<(OrgId, ReportScheduleRow)>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM report_schedules \
             WHERE last_period_to IS NULL OR last_period_to < $1 ORDER BY id"
        );
        with_pool!(self, pool => {
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(i64::from(month_end.number()))
                .fetch_all(pool)
                .await?;
            rows.iter().map(|row| schedule_of!(row)).collect()
        })
    }

    /// Claims the month ending `month_end` for a schedule: `true` for the one caller that
    /// moved it.
    pub async fn claim_report_schedule(
        &self,
        org: OrgId,
        id: i64,
        month_end: Day,
    ) -> StoreResult<bool> {
        let moved = with_pool!(self, pool => {
            sqlx::query(
                "UPDATE report_schedules SET last_period_to = $3 WHERE org_id = $1 AND id = $2 \
                 AND (last_period_to IS NULL OR last_period_to < $3)",
            )
            .bind(org.0)
            .bind(id)
            .bind(i64::from(month_end.number()))
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(moved == 1)
    }

    /// Removes a schedule (reports it generated stay); the row as it was.
    /// Removes a schedule (the reports it generated stay), audited as `actor`'s
    /// (`report_schedule.delete`) in the same transaction. `None` when there is none.
    pub async fn delete_report_schedule(
        &self,
        org: OrgId,
        id: i64,
        actor: Actor<'_>,
    ) -> StoreResult<Option<ReportScheduleRow>> {
        let Some(row) = self
            .report_schedules(org)
            .await?
            .into_iter()
            .find(|s| s.id == id)
        else {
            return Ok(None);
        };
        let subject = format!("report schedule {id}");
        let detail = format!("monthly {} · {}", row.kind.as_str(), row.scope);
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            audit_change!(tx, org, actor, "report_schedule.delete", &subject, &detail);
            sqlx::query("DELETE FROM report_schedules WHERE org_id = $1 AND id = $2")
                .bind(org.0)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
        });
        Ok(Some(row))
    }
}
