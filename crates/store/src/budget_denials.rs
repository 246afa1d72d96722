//! Budget-check denials (migration 0028): per organization, binding cap and UTC day, how many
//! checks the cap denied (and how many of those had no price), the estimated cost denied and
//! the first and last denial. Servers tally denials in memory and add them here about once a
//! second; an upsert adds to the row, so several servers (or a retried flush of tallies that
//! failed to write) share one row per cap and day.

use serde::Serialize;
use spendlens_domain::{Day, DayRange, Money};
use time::OffsetDateTime;

use crate::{OrgId, Store, StoreError, StoreResult, from_millis, millis, with_pool};

/// Denials of one cap on one UTC day, as a server tallied them or as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DenialTally {
    pub cap_id: i64,
    /// The cap's name when it denied (kept after the cap is deleted).
    pub cap_name: String,
    pub day: Day,
    /// Checks denied.
    pub denials: i64,
    /// Of them, checks without an estimate (an unpriced model).
    pub unpriced: i64,
    /// The estimates of the priced denied checks, summed.
    pub estimate: Money,
    #[serde(with = "time::serde::rfc3339")]
    pub first_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub last_at: OffsetDateTime,
}

impl DenialTally {
    /// Adds `other` (the same cap and day) to this one.
    pub fn merge(&mut self, other: &DenialTally) {
        self.denials += other.denials;
        self.unpriced += other.unpriced;
        self.estimate += other.estimate;
        self.first_at = self.first_at.min(other.first_at);
        if other.last_at >= self.last_at {
            self.last_at = other.last_at;
            self.cap_name.clone_from(&other.cap_name);
        }
    }
}

/// Denials of one cap over a period (its days' tallies added up).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CapDenials {
    pub cap_id: i64,
    /// The name of the cap's latest denial.
    pub cap_name: String,
    pub denials: i64,
    pub unpriced: i64,
    pub estimate: Money,
    /// UTC days with at least one denial.
    pub days: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub first_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub last_at: OffsetDateTime,
}

/// Per cap over all the tallies' days, most denials first (then by cap id).
pub fn denials_by_cap(tallies: &[DenialTally]) -> Vec<CapDenials> {
    let mut by_cap: std::collections::BTreeMap<i64, (DenialTally, i64)> = Default::default();
    for t in tallies {
        by_cap
            .entry(t.cap_id)
            .and_modify(|(sum, days)| {
                sum.merge(t);
                *days += 1;
            })
            .or_insert_with(|| (t.clone(), 1));
    }
    let mut caps: Vec<CapDenials> = by_cap
        .into_values()
        .map(|(t, days)| CapDenials {
            cap_id: t.cap_id,
            cap_name: t.cap_name,
            denials: t.denials,
            unpriced: t.unpriced,
            estimate: t.estimate,
            days,
            first_at: t.first_at,
            last_at: t.last_at,
        })
        .collect();
    caps.sort_by(|a, b| b.denials.cmp(&a.denials).then(a.cap_id.cmp(&b.cap_id)));
    caps
}

impl Store {
    /// Adds tallies to the stored denials, all in one transaction (all or none).
    pub async fn add_budget_denials(&self, org: OrgId, tallies: &[DenialTally]) -> StoreResult<()> {
        if tallies.is_empty() {
            return Ok(());
        }
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            for t in tallies {
                sqlx::query(
                    "INSERT INTO budget_denials (org_id, cap_id, day, cap_name, denials, unpriced, \
                     estimate_nanos, first_at, last_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
                     ON CONFLICT (org_id, cap_id, day) DO UPDATE SET \
                     denials = budget_denials.denials + excluded.denials, \
                     unpriced = budget_denials.unpriced + excluded.unpriced, \
                     estimate_nanos = budget_denials.estimate_nanos + excluded.estimate_nanos, \
                     first_at = CASE WHEN excluded.first_at < budget_denials.first_at \
                       THEN excluded.first_at ELSE budget_denials.first_at END, \
                     cap_name = CASE WHEN excluded.last_at >= budget_denials.last_at \
                       THEN excluded.cap_name ELSE budget_denials.cap_name END, \
                     last_at = CASE WHEN excluded.last_at > budget_denials.last_at \
                       THEN excluded.last_at ELSE budget_denials.last_at END",
                )
                .bind(org.0)
                .bind(t.cap_id)
                .bind(i64::from(t.day.number()))
                .bind(&t.cap_name)
                .bind(t.denials)
                .bind(t.unpriced)
                .bind(t.estimate.nanos())
                .bind(millis(t.first_at))
                .bind(millis(t.last_at))
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// The stored denials of the days in `period`, by day then cap.
    pub async fn budget_denials(
        &self,
        org: OrgId,
        period: DayRange,
    ) -> StoreResult<Vec<DenialTally>> {
        type Row = (i64, String, i64, i64, i64, i64, i64, i64);
        let rows: Vec<Row> = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT cap_id, cap_name, day, denials, unpriced, estimate_nanos, first_at, last_at \
                 FROM budget_denials WHERE org_id = $1 AND day >= $2 AND day <= $3 \
                 ORDER BY day, cap_id",
            )
            .bind(org.0)
            .bind(i64::from(period.from().number()))
            .bind(i64::from(period.to().number()))
            .fetch_all(pool)
            .await?
        });
        rows.into_iter()
            .map(
                |(cap_id, cap_name, day, denials, unpriced, estimate, first, last)| {
                    let day = i32::try_from(day)
                        .ok()
                        .and_then(|n| Day::from_number(n).ok())
                        .ok_or_else(|| {
                            StoreError::Corrupt(format!("budget denials: day {day} out of range"))
                        })?;
                    Ok(DenialTally {
                        cap_id,
                        cap_name,
                        day,
                        denials,
                        unpriced,
                        estimate: Money::from_nanos(estimate),
                        first_at: from_millis(first),
                        last_at: from_millis(last),
                    })
                },
            )
            .collect()
    }
}
