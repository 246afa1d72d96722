//! The services of a connection's bill (migration 0030, Vertex): what the last sync that saw
//! each one found, and the user's include/exclude choice, kept across syncs. A changed choice
//! asks the next sync to read the connection's stored days again (`connections.reread_from`),
//! so every stored day follows the same choice. And the bill per usage day and invoice month
//! (`invoice_month_days`), replaced with each sync's window in the cost lines' transaction.

use serde::Serialize;
use spendlens_domain::services::{
    BilledService, InvoiceMonth, ServiceChoice, ServiceChoices, ServiceKind,
};
use spendlens_domain::{Day, DayRange, Money, ProviderKind};
use time::OffsetDateTime;

use crate::audit::{Actor, audit_change};
use crate::connections::day_from_number;
use crate::{ConnectionId, OrgId, RowExt, Store, StoreError, StoreResult, millis, with_pool};

/// A stored service of a connection's bill.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ServiceRow {
    pub id: String,
    pub name: String,
    pub other_names: Vec<String>,
    pub kind: ServiceKind,
    pub transaction_type: Option<String>,
    pub seller: Option<String>,
    /// Gross cost over `window`, in `currency` (the billing account's), as the sync saw it.
    pub cost: Money,
    pub currency: String,
    /// The last usage day of its rows in `window`.
    pub last_day: Option<Day>,
    /// The window of the last sync that found it.
    pub window: DayRange,
    /// The user's choice; `None`: the default of its kind.
    pub choice: Option<ServiceChoice>,
    /// Whether its spend counts (the choice, else the default).
    pub counted: bool,
}

/// One month of a connection's bill by invoice month (USD).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct InvoiceMonthTotal {
    pub month: InvoiceMonth,
    pub cost: Money,
    pub credits: Money,
    /// The usage days billed on it.
    pub first_day: Day,
    pub last_day: Day,
}

const SERVICE_COLUMNS: &str = "service_id, name, other_names, kind, transaction_type, seller, \
    currency, cost_nanos, last_day, window_from, window_to, choice";

fn service_row(row: &impl RowExt) -> StoreResult<ServiceRow> {
    let kind_text = row.text("kind")?;
    let kind: ServiceKind = kind_text.parse().map_err(StoreError::Corrupt)?;
    let choice = row
        .opt_text("choice")?
        .map(|c| c.parse::<ServiceChoice>().map_err(StoreError::Corrupt))
        .transpose()?;
    let window = DayRange::new(
        day_from_number(row.int("window_from")?)?,
        day_from_number(row.int("window_to")?)?,
    )
    .map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let other_names = row.text("other_names")?;
    Ok(ServiceRow {
        id: row.text("service_id")?,
        name: row.text("name")?,
        other_names: other_names
            .split('\n')
            .filter(|n| !n.is_empty())
            .map(str::to_owned)
            .collect(),
        kind,
        transaction_type: row.opt_text("transaction_type")?,
        seller: row.opt_text("seller")?,
        cost: Money::from_nanos(row.int("cost_nanos")?),
        currency: row.text("currency")?,
        last_day: row.opt_int("last_day")?.map(day_from_number).transpose()?,
        window,
        counted: spendlens_domain::services::counts(kind, choice),
        choice,
    })
}

impl Store {
    /// Records the services a sync of `window` found; each one's choice stays.
    pub async fn record_services(
        &self,
        org: OrgId,
        connection: ConnectionId,
        window: DayRange,
        services: &[BilledService],
        now: OffsetDateTime,
    ) -> StoreResult<()> {
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            for s in services {
                sqlx::query(
                    "INSERT INTO connection_services (org_id, connection_id, service_id, name, \
                     other_names, kind, transaction_type, seller, currency, cost_nanos, first_day, \
                     last_day, window_from, window_to, seen_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11, $12, $13, $14) \
                     ON CONFLICT (connection_id, service_id) DO UPDATE SET name = excluded.name, \
                     other_names = excluded.other_names, kind = excluded.kind, \
                     transaction_type = excluded.transaction_type, seller = excluded.seller, \
                     currency = excluded.currency, cost_nanos = excluded.cost_nanos, \
                     last_day = excluded.last_day, window_from = excluded.window_from, \
                     window_to = excluded.window_to, seen_at = excluded.seen_at",
                )
                .bind(org.0)
                .bind(connection.0)
                .bind(&s.id)
                .bind(&s.name)
                .bind(s.other_names.join("\n"))
                .bind(s.kind.as_str())
                .bind(s.transaction_type.as_deref())
                .bind(s.seller.as_deref())
                .bind(&s.currency)
                .bind(s.cost.nanos())
                .bind(s.last_day.map(|d| i64::from(d.number())))
                .bind(i64::from(window.from().number()))
                .bind(i64::from(window.to().number()))
                .bind(millis(now))
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// The services of a connection's bill, by name.
    pub async fn connection_services(
        &self,
        org: OrgId,
        connection: ConnectionId,
    ) -> StoreResult<Vec<ServiceRow>> {
        let sql = format!(
            "SELECT {SERVICE_COLUMNS} FROM connection_services \
             WHERE org_id = $1 AND connection_id = $2 ORDER BY name, service_id"
        );
        with_pool!(self, pool => {
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(org.0)
                .bind(connection.0)
                .fetch_all(pool)
                .await?;
            rows.iter().map(service_row).collect()
        })
    }

    /// The user's choices of a connection, for its connector.
    pub async fn service_choices(
        &self,
        org: OrgId,
        connection: ConnectionId,
    ) -> StoreResult<ServiceChoices> {
        Ok(self
            .connection_services(org, connection)
            .await?
            .into_iter()
            .filter_map(|s| s.choice.map(|choice| (s.id, choice)))
            .collect())
    }

    /// Includes or excludes one service of a connection's bill (`None`: back to its kind's
    /// default). The service must be one a sync found. When whether it counts changes, the
    /// next sync reads every stored day again (from the connection's first stored day), so
    /// an excluded service's lines go and an included one's come in on every day. Returns the
    /// service as now stored and the day the re-read starts from, if one was asked for.
    /// Audited as `actor`'s (`connection.service`, the connection's name, `<service> [<id>]:
    /// <choice> (was <choice>); it counts|does not count`) in the same transaction.
    pub async fn set_service_choice(
        &self,
        org: OrgId,
        connection: ConnectionId,
        service_id: &str,
        choice: Option<ServiceChoice>,
        actor: Actor<'_>,
    ) -> StoreResult<(ServiceRow, Option<Day>)> {
        let row = self.get_connection(org, connection).await?;
        if row.provider != ProviderKind::Vertex {
            return Err(StoreError::Invalid(format!(
                "\"{}\" is a {} connection: only Google Vertex AI bills have services to include \
                 or exclude",
                row.name,
                row.provider.display_name()
            )));
        }
        let services = self.connection_services(org, connection).await?;
        let Some(before) = services.iter().find(|s| s.id == service_id.trim()) else {
            let known: Vec<String> = services
                .iter()
                .map(|s| format!("{} ({})", s.id, s.name))
                .collect();
            return Err(StoreError::Invalid(format!(
                "\"{}\" has no service \"{}\" on its bill; {}",
                row.name,
                service_id.trim(),
                if known.is_empty() {
                    "no sync has listed its services yet: sync it first".to_owned()
                } else {
                    format!("its services: {}", known.join(", "))
                }
            )));
        };
        let counted = spendlens_domain::services::counts(before.kind, choice);
        let reread = if counted == before.counted {
            None
        } else {
            let first = self.connection_holdings(org, connection).await?.first_day;
            first.or(row.synced_through)
        };
        let shown = |c: Option<ServiceChoice>| c.map_or("default", ServiceChoice::as_str);
        let detail = format!(
            "{} [{}]: {} (was {}); it {}",
            before.name,
            before.id,
            shown(choice),
            shown(before.choice),
            if counted { "counts" } else { "does not count" }
        );
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            audit_change!(tx, org, actor, "connection.service", &row.name, &detail);
            sqlx::query(
                "UPDATE connection_services SET choice = $1 \
                 WHERE org_id = $2 AND connection_id = $3 AND service_id = $4",
            )
            .bind(choice.map(ServiceChoice::as_str))
            .bind(org.0)
            .bind(connection.0)
            .bind(&before.id)
            .execute(&mut *tx)
            .await?;
            if let Some(day) = reread {
                sqlx::query(
                    "UPDATE connections SET reread_from = CASE WHEN reread_from IS NULL OR \
                     reread_from > $1 THEN $1 ELSE reread_from END WHERE org_id = $2 AND id = $3",
                )
                .bind(i64::from(day.number()))
                .bind(org.0)
                .bind(connection.0)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
        });
        let after = self
            .connection_services(org, connection)
            .await?
            .into_iter()
            .find(|s| s.id == before.id)
            .ok_or_else(|| StoreError::NotFound {
                what: format!("service {}", before.id),
            })?;
        Ok((after, reread))
    }

    /// The day a pending re-read starts from: after a change of the services that count, the
    /// next sync reads again from here (the connection's first stored day); `None`: none.
    pub async fn reread_from(
        &self,
        org: OrgId,
        connection: ConnectionId,
    ) -> StoreResult<Option<Day>> {
        let day: Option<Option<i64>> = with_pool!(self, pool => {
            sqlx::query_scalar("SELECT reread_from FROM connections WHERE org_id = $1 AND id = $2")
                .bind(org.0)
                .bind(connection.0)
                .fetch_optional(pool)
                .await?
        });
        let Some(day) = day else {
            return Err(StoreError::NotFound {
                what: format!("connection {}", connection.0),
            });
        };
        day.map(day_from_number).transpose()
    }

    /// Clears a connection's pending re-read once a sync read from `from` on.
    pub async fn clear_reread(
        &self,
        org: OrgId,
        connection: ConnectionId,
        from: Day,
    ) -> StoreResult<()> {
        with_pool!(self, pool => {
            sqlx::query(
                "UPDATE connections SET reread_from = NULL \
                 WHERE org_id = $1 AND id = $2 AND reread_from >= $3",
            )
            .bind(org.0)
            .bind(connection.0)
            .bind(i64::from(from.number()))
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// A connection's bill by invoice month; empty when its bill names none.
    pub async fn invoice_months(
        &self,
        org: OrgId,
        connection: ConnectionId,
    ) -> StoreResult<Vec<InvoiceMonthTotal>> {
        with_pool!(self, pool => {
            let rows = sqlx::query(
                "SELECT invoice_month, CAST(SUM(cost_nanos) AS BIGINT) AS cost_nanos, \
                 CAST(SUM(credits_nanos) AS BIGINT) AS credits_nanos, \
                 MIN(day) AS first_day, MAX(day) AS last_day FROM invoice_month_days \
                 WHERE org_id = $1 AND connection_id = $2 GROUP BY invoice_month \
                 ORDER BY invoice_month",
            )
            .bind(org.0)
            .bind(connection.0)
            .fetch_all(pool)
            .await?;
            rows.iter()
                .map(|row| {
                    let number = row.int("invoice_month")?;
                    Ok(InvoiceMonthTotal {
                        month: InvoiceMonth::from_number(number).ok_or_else(|| {
                            StoreError::Corrupt(format!("invoice month {number}"))
                        })?,
                        cost: Money::from_nanos(row.int("cost_nanos")?),
                        credits: Money::from_nanos(row.int("credits_nanos")?),
                        first_day: day_from_number(row.int("first_day")?)?,
                        last_day: day_from_number(row.int("last_day")?)?,
                    })
                })
                .collect()
        })
    }
}
