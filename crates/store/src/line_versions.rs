//! Versions of a closed billing period's cost lines, kept when a sync restates them (the FOCUS
//! export's `Correction` rows): which days a window replacement restates (pure), and the copy
//! of those days' lines as they stood, inside the sync's transaction (migration 0031).
//!
//! A billing period is a UTC calendar month; it is closed (invoiced) once the sync's UTC day is
//! in a later month. A day is restated when it had stored lines and the money of its lines
//! (cost, credits, and both in the billing currency, per line identity) changes. Its lines as
//! they were are copied to `cost_line_versions` stamped with the sync's day, once per day and
//! month of the sync: each month keeps the state its first restatement found, so the first
//! version of a day is what was invoiced and each next state minus the one before is the
//! correction billed in the month it was seen. Days a re-read of the whole bill covers
//! (`connections.reread_from`: the user changed which services count) are not restatements:
//! the bill itself did not change.

use std::collections::{BTreeMap, BTreeSet};

use spendlens_domain::{Day, DayRange};
use sqlx::{PgConnection, SqliteConnection};

use crate::cost_lines::{LINE_COLUMNS, ResolvedLine};
use crate::{ConnectionId, OrgId, StoreResult};

/// A line's identity within its connection: day, workspace, API key, model, category, unit,
/// detail, allocated.
type LineKey = (
    i64,
    Option<i64>,
    Option<i64>,
    String,
    String,
    String,
    String,
    bool,
);

/// The money of one stored or incoming line: cost, credits, and both in the billing currency
/// (nano-units).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct LineMoney {
    pub key: LineKey,
    pub money: [i64; 4],
}

impl LineMoney {
    /// An incoming line's identity and money, as `cost_lines` stores them.
    fn of(resolved: &ResolvedLine<'_>) -> LineMoney {
        let line = resolved.line;
        let billed = line.billed();
        LineMoney {
            key: (
                i64::from(line.day.number()),
                resolved.workspace_ref,
                resolved.api_key_ref,
                line.model.clone(),
                line.category.as_str().to_owned(),
                line.unit.as_str().to_owned(),
                line.detail.clone(),
                line.allocated,
            ),
            money: [
                line.cost.nanos(),
                line.credits.nanos(),
                billed.cost.nanos(),
                billed.credits.nanos(),
            ],
        }
    }
}

/// The days of `old` whose lines' money differs from `new`'s. A day with no stored line is a
/// first read, not a restatement.
pub(crate) fn restated_days(old: &[LineMoney], new: &[LineMoney]) -> Vec<i64> {
    fn sums(lines: &[LineMoney]) -> BTreeMap<&LineKey, [i64; 4]> {
        let mut sums: BTreeMap<&LineKey, [i64; 4]> = BTreeMap::new();
        for line in lines {
            let sum = sums.entry(&line.key).or_default();
            for (total, part) in sum.iter_mut().zip(line.money) {
                *total = total.saturating_add(part);
            }
        }
        sums
    }
    let stored_days: BTreeSet<i64> = old.iter().map(|l| l.key.0).collect();
    let (before, after) = (sums(old), sums(new));
    let mut days = BTreeSet::new();
    for key in before.keys().chain(after.keys()) {
        if !stored_days.contains(&key.0) || days.contains(&key.0) {
            continue;
        }
        let was = before.get(key).copied().unwrap_or_default();
        let is = after.get(key).copied().unwrap_or_default();
        if was != is {
            days.insert(key.0);
        }
    }
    days.into_iter().collect()
}

/// The closed days of `window` as of `today` (before the first of today's month), if any.
pub(crate) fn closed_days(window: DayRange, today: Day) -> Option<(i64, i64)> {
    let first_open = i64::from(today.first_of_month().number());
    let (from, to) = (
        i64::from(window.from().number()),
        i64::from(window.to().number()),
    );
    (from < first_open).then(|| (from, to.min(first_open - 1)))
}

/// Keeping restated days' lines, on an open connection (pass `&mut *tx`: it must run in the
/// window replacement's transaction, before the old lines are deleted).
pub(crate) trait KeepVersions {
    /// Copies the stored lines of every closed day of `window` that `new` (the window's
    /// incoming lines) restates, unless this month already kept a version of that day. Returns
    /// the days kept. A window with no closed day reads and copies nothing.
    fn keep_restated_days(
        &mut self,
        org: OrgId,
        connection: ConnectionId,
        window: DayRange,
        new: &[ResolvedLine<'_>],
        today: Day,
    ) -> impl Future<Output = StoreResult<usize>> + Send;
}

macro_rules! impl_keep_versions {
    ($conn:ty) => {
        impl KeepVersions for $conn {
            async fn keep_restated_days(
                &mut self,
                org: OrgId,
                connection: ConnectionId,
                window: DayRange,
                new: &[ResolvedLine<'_>],
                today: Day,
            ) -> StoreResult<usize> {
                let Some((from, mut to)) = closed_days(window, today) else {
                    return Ok(0);
                };
                let reread: Option<i64> =
                    sqlx::query_scalar("SELECT reread_from FROM connections WHERE id = $1")
                        .bind(connection.0)
                        .fetch_optional(&mut *self)
                        .await?
                        .flatten();
                if let Some(reread) = reread {
                    to = to.min(reread - 1);
                }
                if from > to {
                    return Ok(0);
                }
                let rows: Vec<(
                    i64,
                    Option<i64>,
                    Option<i64>,
                    String,
                    String,
                    String,
                    String,
                    bool,
                    i64,
                    i64,
                    i64,
                    i64,
                )> = sqlx::query_as(
                    "SELECT day, workspace_ref, api_key_ref, model, category, unit, detail, \
                     allocated, cost_nanos, credits_nanos, COALESCE(billing_cost_nanos, cost_nanos), \
                     COALESCE(billing_credits_nanos, credits_nanos) FROM cost_lines \
                     WHERE connection_id = $1 AND day >= $2 AND day <= $3",
                )
                .bind(connection.0)
                .bind(from)
                .bind(to)
                .fetch_all(&mut *self)
                .await?;
                if rows.is_empty() {
                    return Ok(0);
                }
                let old: Vec<LineMoney> = rows
                    .into_iter()
                    .map(|r| LineMoney {
                        key: (r.0, r.1, r.2, r.3, r.4, r.5, r.6, r.7),
                        money: [r.8, r.9, r.10, r.11],
                    })
                    .collect();
                let new: Vec<LineMoney> = new
                    .iter()
                    .filter(|l| (from..=to).contains(&i64::from(l.line.day.number())))
                    .map(LineMoney::of)
                    .collect();
                let today_number = i64::from(today.number());
                let month_start = i64::from(today.first_of_month().number());
                let columns = LINE_COLUMNS.join(", ");
                let mut kept = 0;
                for day in restated_days(&old, &new) {
                    let copied = sqlx::query(sqlx::AssertSqlSafe(format!(
                        "INSERT INTO cost_line_versions ({columns}, superseded_on) \
                         SELECT {columns}, $4 FROM cost_lines \
                         WHERE org_id = $1 AND connection_id = $2 AND day = $3 AND NOT EXISTS \
                         (SELECT 1 FROM cost_line_versions v WHERE v.connection_id = $2 \
                         AND v.day = $3 AND v.superseded_on >= $5)"
                    )))
                    .bind(org.0)
                    .bind(connection.0)
                    .bind(day)
                    .bind(today_number)
                    .bind(month_start)
                    .execute(&mut *self)
                    .await?
                    .rows_affected();
                    if copied > 0 {
                        kept += 1;
                    }
                }
                Ok(kept)
            }
        }
    };
}

impl_keep_versions!(SqliteConnection);
impl_keep_versions!(PgConnection);

#[cfg(test)]
mod tests {
    use super::*;

    fn line(day: i64, model: &str, cost: i64) -> LineMoney {
        LineMoney {
            key: (
                day,
                Some(1),
                None,
                model.to_owned(),
                "tokens".to_owned(),
                "tokens".to_owned(),
                String::new(),
                false,
            ),
            money: [cost, 0, cost, 0],
        }
    }

    fn day(text: &str) -> Day {
        text.parse().unwrap()
    }

    #[test]
    fn a_day_is_restated_when_the_money_of_a_line_changes_appears_or_goes() {
        let old = [
            line(10, "a", 5),
            line(10, "b", 7),
            line(11, "a", 1),
            line(12, "a", 2),
        ];
        let new = [
            line(10, "a", 5),
            line(10, "b", 7),
            line(11, "a", 2),
            line(12, "a", 2),
            line(12, "c", 3),
            line(13, "a", 9),
        ];
        // Day 11 changed, day 12 gained a line; day 13 was never stored: a first read.
        assert_eq!(restated_days(&old, &new), vec![11, 12]);
        // A line that went away restates its day; lines split in two that add up do not.
        let split = [line(10, "a", 2), line(10, "a", 3), line(10, "b", 7)];
        assert_eq!(restated_days(&old[..2], &split), Vec::<i64>::new());
        assert_eq!(restated_days(&old[..2], &old[..1]), vec![10]);
    }

    #[test]
    fn only_days_of_months_before_the_sync_day_are_closed() {
        let window = DayRange::new(day("2026-11-25"), day("2026-12-03")).unwrap();
        let (from, to) = closed_days(window, day("2026-12-03")).unwrap();
        assert_eq!(from, i64::from(day("2026-11-25").number()));
        assert_eq!(to, i64::from(day("2026-11-30").number()));
        let open = DayRange::new(day("2026-12-01"), day("2026-12-03")).unwrap();
        assert_eq!(closed_days(open, day("2026-12-03")), None);
    }
}
