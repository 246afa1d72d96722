//! The FOCUS CSV: a header of column ids, then one record per row. FOCUS columns first, then
//! spendlens's own `x_` columns (as the spec asks: after the FOCUS columns, not interleaved).
//! Numbers are plain decimals that always carry a decimal point (`5000.0`, `0.00`), so that
//! a reader that infers column types (the FinOps Foundation's validator does) sees decimals,
//! never integers; dates are `YYYY-MM-DDT00:00:00Z`; a null is an empty cell.
//!
//! `CommitmentDiscountStatus` is present and always null (no commitment discount applies to
//! these charges): FOCUS conditions ConsumedQuantity's nullability on it, and the FinOps
//! Foundation's validator (2.2.1) fails those rules when the column is absent. `InvoiceId` is
//! present (recommended) and null: the providers' usage APIs give no invoice ids.

use rust_decimal::Decimal;
use spendlens_domain::Day;

use super::rows::FocusRow;
use crate::table::neutralize_cell;

/// The header, in file order.
pub const COLUMNS: &[&str] = &[
    "BilledCost",
    "BillingAccountId",
    "BillingAccountName",
    "BillingCurrency",
    "BillingPeriodEnd",
    "BillingPeriodStart",
    "ChargeCategory",
    "ChargeClass",
    "ChargeDescription",
    "ChargeFrequency",
    "ChargePeriodEnd",
    "ChargePeriodStart",
    "CommitmentDiscountStatus",
    "ConsumedQuantity",
    "ConsumedUnit",
    "ContractedCost",
    "EffectiveCost",
    "InvoiceId",
    "InvoiceIssuerName",
    "ListCost",
    "PricingCategory",
    "PricingQuantity",
    "PricingUnit",
    "ProviderName",
    "PublisherName",
    "ServiceCategory",
    "ServiceName",
    "ServiceSubcategory",
    "SubAccountId",
    "SubAccountName",
    "x_SpendlensSource",
    "x_SpendlensProvider",
    "x_Model",
    "x_Category",
    "x_Unit",
    "x_Detail",
    "x_ApiKeyId",
    "x_ApiKeyName",
    "x_ApiKeyHint",
    "x_Customer",
    "x_Product",
    "x_Agent",
    "x_Workflow",
    "x_CallStatus",
    "x_InputTokens",
    "x_CacheReadTokens",
    "x_CacheWriteTokens",
    "x_OutputTokens",
    "x_ReasoningTokens",
    "x_Requests",
    "x_RequestsWithoutUsage",
    "x_UnpricedRequests",
    "x_Estimated",
    "x_MeteredCost",
    "x_MeteredCostStatus",
    "x_BilledCostInUsd",
];

/// A decimal with a decimal point and no exponent: `5000` → `5000.0`, `1.500000` → `1.5`.
pub(crate) fn decimal_text(value: Decimal) -> String {
    let text = value.normalize().to_string();
    if text.contains('.') {
        text
    } else {
        format!("{text}.0")
    }
}

fn instant(day: Day) -> String {
    format!("{day}T00:00:00Z")
}

fn opt_int(value: Option<i64>) -> String {
    value.map(|v| format!("{v}.0")).unwrap_or_default()
}

fn record(row: &FocusRow) -> Vec<String> {
    let cost = row.billed_cost.to_exact_string();
    let end = row.day.add_days(1).unwrap_or(row.day);
    // A correction is billed in the month it was seen, an ordinary row in its own day's.
    let billed_in = row.correction.unwrap_or(row.day);
    let period_start = billed_in.first_of_month();
    let period_end = super::next_month(billed_in);
    let usage = row.charge_category == super::ChargeCategory::Usage;
    let opt = |v: &Option<String>| v.clone().unwrap_or_default();
    let (pricing_quantity, pricing_unit) = match &row.pricing {
        Some((q, u)) => (decimal_text(*q), u.clone()),
        None => (String::new(), String::new()),
    };
    let (consumed_quantity, consumed_unit) = match &row.consumed {
        Some((q, u)) => (decimal_text(*q), u.clone()),
        None => (String::new(), String::new()),
    };
    let (sub_id, sub_name) = row.sub_account.clone().unwrap_or_default();
    vec![
        cost.clone(),
        row.billing_account_id.clone(),
        row.billing_account_name.clone(),
        row.currency.clone(),
        instant(period_end),
        instant(period_start),
        row.charge_category.as_str().to_owned(),
        if row.correction.is_some() {
            "Correction".to_owned()
        } else {
            String::new()
        },
        row.description.clone(),
        "Usage-Based".to_owned(),
        instant(end),
        instant(row.day),
        String::new(),
        consumed_quantity,
        consumed_unit,
        cost.clone(),
        cost.clone(),
        String::new(),
        row.provider_name.clone(),
        cost,
        if usage {
            "Standard".to_owned()
        } else {
            String::new()
        },
        pricing_quantity,
        pricing_unit,
        row.provider_name.clone(),
        row.publisher_name.clone(),
        "AI and Machine Learning".to_owned(),
        row.service_name.clone(),
        "Generative AI".to_owned(),
        sub_id,
        sub_name,
        row.source.as_str().to_owned(),
        row.provider_key.clone(),
        row.model.clone(),
        opt(&row.category),
        opt(&row.unit),
        opt(&row.detail),
        opt(&row.api_key_id),
        opt(&row.api_key_name),
        opt(&row.api_key_hint),
        opt(&row.customer),
        opt(&row.product),
        opt(&row.agent),
        opt(&row.workflow),
        opt(&row.call_status),
        opt_int(row.input_tokens),
        opt_int(row.cache_read_tokens),
        opt_int(row.cache_write_tokens),
        opt_int(row.output_tokens),
        opt_int(row.reasoning_tokens),
        opt_int(row.requests),
        opt_int(row.requests_without_usage),
        opt_int(row.unpriced_requests),
        if row.estimated { "true" } else { "false" }.to_owned(),
        row.metered_cost
            .map(|m| m.to_exact_string())
            .unwrap_or_default(),
        row.metered_cost_status.unwrap_or_default().to_owned(),
        row.billed_cost_usd.to_exact_string(),
    ]
}

/// Every row's cells as the CSV writes them (before formula neutralization): the Parquet file
/// reads its values from these, so the two formats carry the same figures.
pub(crate) fn records(rows: &[FocusRow]) -> Vec<Vec<String>> {
    rows.iter().map(record).collect()
}

/// Writes the export as CSV. Text cells a spreadsheet would run as formulas are neutralized
/// (negative amounts are left as they are).
pub fn write_csv<W: std::io::Write>(rows: &[FocusRow], out: W) -> Result<(), ::csv::Error> {
    let mut writer = ::csv::Writer::from_writer(out);
    writer.write_record(COLUMNS)?;
    for row in rows {
        let cells = record(row);
        debug_assert_eq!(cells.len(), COLUMNS.len());
        writer.write_record(cells.iter().map(|c| neutralize_cell(c)))?;
    }
    writer.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_always_carry_a_point_and_never_an_exponent() {
        assert_eq!(decimal_text(Decimal::from(5000)), "5000.0");
        assert_eq!(decimal_text(Decimal::new(1_500_000, 6)), "1.5");
        assert_eq!(decimal_text(Decimal::new(1, 6)), "0.000001");
        assert_eq!(decimal_text(Decimal::from(0)), "0.0");
        assert_eq!(decimal_text(Decimal::new(10_000_000_000, 6)), "10000.0");
    }
}
