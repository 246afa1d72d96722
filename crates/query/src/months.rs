//! A connection's spend per month two ways: the sum of its UTC days (what every view adds up,
//! read from the cost rollups), and — where the bill names one (Vertex's `invoice.month`) — the
//! invoice month the money was billed on. Usage loaded after its month ended is billed on the
//! next invoice, so the two can differ; a month where they do shows both. A provider whose bill
//! names no invoice month says so: its months are UTC days only.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use spendlens_domain::services::InvoiceMonth;
use spendlens_domain::{Day, DayRange, Money, ProviderKind};
use spendlens_store::{ConnectionId, OrgId, RollupFilter, Store};

use crate::QueryError;

/// Cost, credits and net of one month, one way.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct MonthMoney {
    pub cost: Money,
    pub credits: Money,
    pub net: Money,
}

impl MonthMoney {
    fn new(cost: Money, credits: Money) -> MonthMoney {
        MonthMoney {
            cost,
            credits,
            net: cost - credits,
        }
    }
}

/// One month of a connection.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MonthRow {
    /// `2026-11`.
    pub month: InvoiceMonth,
    /// The sum of the month's UTC days.
    pub utc_days: MonthMoney,
    /// What the bill's invoice month holds; `null` where the bill names no invoice months.
    pub invoice: Option<MonthMoney>,
    /// Both are known and they differ.
    pub differs: bool,
}

/// The months of one connection.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MonthsReport {
    pub connection_id: ConnectionId,
    pub connection: String,
    pub provider: ProviderKind,
    /// Whether the provider's bill names invoice months.
    pub invoice_months: bool,
    pub rows: Vec<MonthRow>,
    pub notes: Vec<String>,
}

/// The calendar months `from..=to` touches, each cut to that range.
fn months_of(range: DayRange) -> Result<Vec<(InvoiceMonth, DayRange)>, QueryError> {
    let invalid = |e: spendlens_domain::CalendarError| QueryError::Invalid(e.to_string());
    let mut out = Vec::new();
    let mut start = range.from();
    while start <= range.to() {
        let next = start
            .first_of_month()
            .add_days(31)
            .map_err(invalid)?
            .first_of_month();
        let end = next.add_days(-1).map_err(invalid)?.min(range.to());
        out.push((
            InvoiceMonth::of(start),
            DayRange::new(start, end).map_err(invalid)?,
        ));
        start = next;
    }
    Ok(out)
}

/// The months of `connection`, oldest first.
pub async fn connection_months(
    store: &Store,
    org: OrgId,
    connection: ConnectionId,
) -> Result<MonthsReport, QueryError> {
    let row = store.get_connection(org, connection).await?;
    let holdings = store.connection_holdings(org, connection).await?;
    let invoices = store.invoice_months(org, connection).await?;
    let has_invoices = row.provider == ProviderKind::Vertex;
    let mut days: Vec<Day> = holdings
        .first_day
        .into_iter()
        .chain(holdings.last_day)
        .collect();
    days.extend(invoices.iter().flat_map(|i| [i.first_day, i.last_day]));
    let mut utc: BTreeMap<InvoiceMonth, MonthMoney> = BTreeMap::new();
    if let (Some(first), Some(last)) = (days.iter().min(), days.iter().max()) {
        let range = DayRange::new(*first, *last).map_err(|e| QueryError::Invalid(e.to_string()))?;
        let filter = RollupFilter {
            connections: Some(vec![connection]),
            ..RollupFilter::default()
        };
        for (month, period) in months_of(range)? {
            let totals = store
                .totals_by_connection(org, period, None, &filter)
                .await?;
            let (cost, credits) = totals.iter().fold((Money::ZERO, Money::ZERO), |acc, t| {
                (acc.0 + t.current.cost, acc.1 + t.current.credits)
            });
            utc.insert(month, MonthMoney::new(cost, credits));
        }
    }
    let invoiced: BTreeMap<InvoiceMonth, MonthMoney> = invoices
        .iter()
        .map(|i| (i.month, MonthMoney::new(i.cost, i.credits)))
        .collect();
    let months: BTreeSet<InvoiceMonth> = utc.keys().chain(invoiced.keys()).copied().collect();
    let rows: Vec<MonthRow> = months
        .into_iter()
        .map(|month| {
            let utc_days = utc.get(&month).copied().unwrap_or_default();
            let invoice = invoiced.get(&month).copied();
            MonthRow {
                month,
                differs: invoice.is_some_and(|i| i != utc_days),
                utc_days,
                invoice,
            }
        })
        .collect();
    let mut notes = Vec::new();
    if has_invoices {
        notes.push(
            "Invoice months are the bill's own invoice.month: usage Google loads after its month \
             ended is billed on the next invoice, so an invoice month can differ from the sum of \
             its UTC days (both are shown where they do); the latest month's invoice is still \
             open."
                .to_owned(),
        );
        if invoices.is_empty() && holdings.lines > 0 {
            notes.push(
                "No invoice months are stored yet: each sync stores them for the days it reads \
                 (sync with --from to fill older days)."
                    .to_owned(),
            );
        }
    } else {
        notes.push(format!(
            "{}'s billing API names no invoice month: each month here is the sum of its UTC \
             days, and no invoice total is shown.",
            row.provider.display_name()
        ));
    }
    Ok(MonthsReport {
        connection_id: row.id,
        connection: row.name,
        provider: row.provider,
        invoice_months: has_invoices,
        rows,
        notes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_range_splits_into_its_calendar_months() {
        let day = |t: &str| -> Day { t.parse().unwrap() };
        let months =
            months_of(DayRange::new(day("2025-12-30"), day("2026-02-03")).unwrap()).unwrap();
        let text: Vec<String> = months.iter().map(|(m, r)| format!("{m} {r}")).collect();
        assert_eq!(
            text,
            [
                "2025-12 2025-12-30 to 2025-12-31",
                "2026-01 2026-01-01 to 2026-01-31",
                "2026-02 2026-02-01 to 2026-02-03"
            ]
        );
    }
}
