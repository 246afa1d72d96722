//! The FOCUS 1.2 export (FinOps Open Cost and Usage Specification, `CostAndUsage` dataset) of
//! billed *and* metered spend for a period of UTC days.
//!
//! One file, three kinds of rows, told apart by `x_SpendlensSource`:
//! - `billed`: a cost line as the provider billed it (no API key, or a provider that bills per
//!   key);
//! - `allocated`: a cost line spread down to an API key from a coarser billed grain (the sum of
//!   a bill's allocated and billed rows is the bill, to the nano-dollar);
//! - `metered`: the calls applications reported (`meter_day` rollup, per day and attribution
//!   series). These are **not charges**: every FOCUS cost column (BilledCost, EffectiveCost,
//!   ListCost, ContractedCost) is 0 and the meter's estimate is in `x_MeteredCost`, so summing
//!   any cost column over the whole file gives the bill, never bill + estimate. Their
//!   ConsumedQuantity is the meter's own measure of the same usage the bill's rows carry: a
//!   consumer summing consumption filters on `x_SpendlensSource` first.
//!
//! BillingCurrency is the currency the provider billed in (EUR for a Google billing account in
//! euros) and BilledCost, EffectiveCost, ListCost and ContractedCost are in it, as FOCUS asks;
//! `x_BilledCostInUsd` carries the same amount in USD (the exact conversion at the provider's
//! own rate, what the dashboard shows), so a mixed-currency file still sums in one currency.
//!
//! Credits are their own rows (ChargeCategory `Credit`, negative BilledCost) beside the usage
//! row they reduce. Money is exact decimal text from nano-dollars; quantities are exact decimals.
//!
//! A provider's restatement of a closed month (a sync changed the money of a day whose month
//! had ended) is shown as FOCUS asks: the day as invoiced (the lines kept before the first
//! restatement), and the change as `Correction` rows billed in the month the sync saw it
//! (`corrections.rs`). Exports of consecutive periods add up to the bill as stored now. A
//! restated metered price rewrites the meter's rollups in place: metered rows carry no FOCUS
//! cost, so it makes no correction.
//!
//! Two files of the same cells: CSV (`csv.rs`) and Parquet (`parquet.rs`, typed columns read
//! from the CSV's own cells).

mod corrections;
mod csv;
mod parquet;
mod rows;

pub use corrections::{Correction, apply_history, correction_rows};
pub use csv::{COLUMNS, write_csv};
pub use parquet::{ColumnType, ParquetError, column_type, write_parquet};
pub use rows::{ChargeCategory, FocusRow, Source, billed_rows, metered_rows};

use spendlens_domain::{Day, DayRange, Money};
use spendlens_store::{OrgId, Store};

use crate::QueryError;

/// The longest period one export covers.
pub const MAX_DAYS: i64 = 366;

/// An export's rows and what they add up to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FocusExport {
    pub period: DayRange,
    pub rows: Vec<FocusRow>,
    pub totals: FocusTotals,
}

/// Sums of an export, exact.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FocusTotals {
    /// Σ x_BilledCostInUsd of the `Usage` rows: the bill before credits in USD (the Providers
    /// view's cost; BilledCost itself is in each row's BillingCurrency).
    pub usage_billed: Money,
    /// Σ x_BilledCostInUsd of the `Credit` rows (zero or negative).
    pub credits: Money,
    /// Σ x_BilledCostInUsd of the `Correction` rows: restatements of closed months billed in
    /// this period (usage and credit changes together; either sign).
    pub corrections: Money,
    /// Σ x_MeteredCost of the metered rows (priced calls only).
    pub metered_cost: Money,
    pub billed_rows: usize,
    pub allocated_rows: usize,
    pub credit_rows: usize,
    pub correction_rows: usize,
    pub metered_rows: usize,
}

impl FocusTotals {
    /// Σ x_BilledCostInUsd over the whole file: the bill after credits and corrections, in USD.
    pub fn billed_total(&self) -> Money {
        self.usage_billed + self.credits + self.corrections
    }

    fn of(rows: &[FocusRow]) -> FocusTotals {
        let mut t = FocusTotals::default();
        for row in rows {
            if row.correction.is_some() {
                t.corrections += row.billed_cost_usd;
                t.correction_rows += 1;
                continue;
            }
            match (row.charge_category, row.source) {
                (ChargeCategory::Credit, _) => {
                    t.credits += row.billed_cost_usd;
                    t.credit_rows += 1;
                }
                (ChargeCategory::Usage, Source::Billed) => {
                    t.usage_billed += row.billed_cost_usd;
                    t.billed_rows += 1;
                }
                (ChargeCategory::Usage, Source::Allocated) => {
                    t.usage_billed += row.billed_cost_usd;
                    t.allocated_rows += 1;
                }
                (ChargeCategory::Usage, Source::Metered) => {
                    t.metered_cost += row.metered_cost.unwrap_or_default();
                    t.metered_rows += 1;
                }
            }
        }
        t
    }
}

/// Checks that `period` is not longer than [`MAX_DAYS`].
pub fn check_period(period: DayRange) -> Result<(), QueryError> {
    if period.len_days() > MAX_DAYS {
        return Err(QueryError::Invalid(format!(
            "a FOCUS export covers at most {MAX_DAYS} days; this period has {} ({} to {}): export a year at a time",
            period.len_days(),
            period.from(),
            period.to()
        )));
    }
    Ok(())
}

/// Every billed, allocated, credit, correction and metered row of `org` over `period`, ordered
/// by day.
pub async fn export(
    store: &Store,
    org: OrgId,
    period: DayRange,
) -> Result<FocusExport, QueryError> {
    check_period(period)?;
    let lines = store.export_cost_lines(org, period).await?;
    let history = store.export_line_history(org, period).await?;
    let (lines, corrections) = apply_history(lines, &history, period);
    let metered = store.export_meter_days(org, period).await?;
    let mut rows = billed_rows(&lines);
    rows.extend(correction_rows(&corrections));
    rows.extend(metered_rows(&metered));
    rows.sort_by_key(|r| (r.day, r.source.order(), r.charge_category as u8));
    let totals = FocusTotals::of(&rows);
    Ok(FocusExport {
        period,
        rows,
        totals,
    })
}

/// The file name an export is offered under: `spendlens-focus-2026-11-01-to-2026-11-30.csv`.
pub fn file_name(period: DayRange, extension: &str) -> String {
    format!(
        "spendlens-focus-{}-to-{}.{extension}",
        period.from(),
        period.to()
    )
}

/// The first day of the month after `day`'s (the exclusive end of its billing period).
pub(crate) fn next_month(day: Day) -> Day {
    let first = day.first_of_month();
    let mut next = first;
    for _ in 0..32 {
        match next.add_days(1) {
            Ok(d) => next = d,
            Err(_) => return next,
        }
        if next.first_of_month() != first {
            return next;
        }
    }
    next
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> Day {
        text.parse().unwrap()
    }

    #[test]
    fn billing_periods_are_calendar_months() {
        assert_eq!(next_month(day("2026-11-17")), day("2026-12-01"));
        assert_eq!(next_month(day("2026-12-31")), day("2027-01-01"));
        assert_eq!(next_month(day("2028-02-01")), day("2028-03-01"));
    }

    #[test]
    fn a_period_over_a_year_is_refused_with_the_way_out() {
        let long = DayRange::new(day("2021-01-01"), day("2025-12-31")).unwrap();
        let err = check_period(long).unwrap_err().to_string();
        assert!(err.contains("at most 366 days"), "{err}");
        let year = DayRange::new(day("2024-01-01"), day("2024-12-31")).unwrap();
        assert!(check_period(year).is_ok());
    }
}
