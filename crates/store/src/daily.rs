//! Reads of the daily grain that the dashboard needs beside the period totals: where each
//! connection's history starts (so a previous period the data cannot cover is not compared),
//! what deleting a connection would lose, and each workspace's last day with spend.

use serde::Serialize;
use spendlens_domain::{Day, Money};
use time::OffsetDateTime;

use crate::connections::day_from_number;
use crate::{ConnectionId, OrgId, RowExt, Store, StoreResult, from_millis, with_pool};

/// What the store knows about the start of a connection's history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct HistoryStart {
    pub connection_id: ConnectionId,
    /// The earliest first day of a successful (or partial) sync window.
    pub first_window_from: Option<Day>,
    /// When the first successful (or partial) sync started.
    #[serde(with = "time::serde::rfc3339::option")]
    pub first_sync_at: Option<OffsetDateTime>,
    /// The earliest day with a cost line.
    pub first_line_day: Option<Day>,
}

/// What a connection holds: what deleting it would lose.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ConnectionHoldings {
    pub lines: i64,
    pub days: i64,
    pub cost: Money,
    pub first_day: Option<Day>,
    pub last_day: Option<Day>,
}

impl ConnectionHoldings {
    /// `12,345 cost lines over 90 days, $4,210.55 of spend`: what deleting the connection loses,
    /// as the confirmation page, the audit log and the command line say it.
    pub fn describe(&self) -> String {
        format!(
            "{} cost lines over {} days, {} of spend",
            spendlens_domain::display::group_thousands(self.lines),
            spendlens_domain::display::group_thousands(self.days),
            spendlens_domain::display::format_money(self.cost.round_to_cents(), "USD")
        )
    }
}

impl Store {
    /// Where each connection's history starts, for every connection of the organization.
    pub async fn history_starts(&self, org: OrgId) -> StoreResult<Vec<HistoryStart>> {
        with_pool!(self, pool => {
            let rows = sqlx::query(
                "SELECT c.id, \
                 (SELECT MIN(r.window_from) FROM sync_runs r WHERE r.connection_id = c.id \
                    AND r.status IN ('success', 'partial')) AS first_window_from, \
                 (SELECT MIN(r.started_at) FROM sync_runs r WHERE r.connection_id = c.id \
                    AND r.status IN ('success', 'partial')) AS first_sync_at, \
                 (SELECT MIN(l.day) FROM cost_lines l WHERE l.connection_id = c.id) AS first_line_day \
                 FROM connections c WHERE c.org_id = $1 ORDER BY c.id",
            )
            .bind(org.0)
            .fetch_all(pool)
            .await?;
            rows.iter()
                .map(|row| {
                    Ok(HistoryStart {
                        connection_id: ConnectionId(row.int("id")?),
                        first_window_from: row
                            .opt_int("first_window_from")?
                            .map(day_from_number)
                            .transpose()?,
                        first_sync_at: row.opt_int("first_sync_at")?.map(from_millis),
                        first_line_day: row
                            .opt_int("first_line_day")?
                            .map(day_from_number)
                            .transpose()?,
                    })
                })
                .collect()
        })
    }

    /// Lines, days with data, cost and the day span synced through one connection.
    pub async fn connection_holdings(
        &self,
        org: OrgId,
        id: ConnectionId,
    ) -> StoreResult<ConnectionHoldings> {
        self.get_connection(org, id).await?;
        with_pool!(self, pool => {
            let row = sqlx::query(
                "SELECT COUNT(*) AS lines, COUNT(DISTINCT day) AS days, \
                 CAST(COALESCE(SUM(cost_nanos), 0) AS BIGINT) AS cost_nanos, \
                 MIN(day) AS first_day, MAX(day) AS last_day \
                 FROM cost_lines WHERE org_id = $1 AND connection_id = $2",
            )
            .bind(org.0)
            .bind(id.0)
            .fetch_one(pool)
            .await?;
            Ok(ConnectionHoldings {
                lines: row.int("lines")?,
                days: row.int("days")?,
                cost: Money::from_nanos(row.int("cost_nanos")?),
                first_day: row.opt_int("first_day")?.map(day_from_number).transpose()?,
                last_day: row.opt_int("last_day")?.map(day_from_number).transpose()?,
            })
        })
    }
}
