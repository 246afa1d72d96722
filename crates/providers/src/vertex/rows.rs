//! Mapping the export's rows — one (UTC day, service, SKU, project, currency, cost type) — to
//! billed costs (cost and credits, exact NUMERIC sums read as strings) and usage records
//! (tokens or the pricing unit's quantity), and the money of each usage day per invoice month
//! (`invoice.month`).

use std::collections::{BTreeMap, BTreeSet};

use rust_decimal::prelude::ToPrimitive;
use rust_decimal::{Decimal, RoundingStrategy};
use spendlens_domain::billing::{Billed, ConversionRate, billed_to_usd};
use spendlens_domain::money::parse_decimal;
use spendlens_domain::{
    BilledCost, Category, Currency, Day, DayRange, FetchedWindow, Money, Quantity, TokenClass,
    TokenCounts, Unit, UsageRecord, WorkspaceRecord,
};

use spendlens_domain::services::{InvoiceMonth, InvoiceMonthAmount};

use super::PROVIDER;
use super::query::Row;
use super::sku::{self, SkuMeasure};
use crate::error::ProviderError;

pub(super) fn row_error(row: &Row, detail: String) -> ProviderError {
    ProviderError::UnexpectedPage {
        provider: PROVIDER,
        endpoint: "query results".to_owned(),
        page: row.page,
        detail,
    }
}

/// A decimal cell, `None` (null or empty) as zero, exponent forms accepted.
pub(super) fn decimal_cell(row: &Row, column: &str) -> Result<Decimal, ProviderError> {
    match row.text(column).filter(|text| !text.is_empty()) {
        None => Ok(Decimal::ZERO),
        Some(text) => {
            parse_decimal(text).map_err(|error| row_error(row, format!("column {column}: {error}")))
        }
    }
}

pub(super) fn money_cell(row: &Row, column: &str) -> Result<Money, ProviderError> {
    let value = decimal_cell(row, column)?;
    Money::from_decimal(value).map_err(|error| row_error(row, format!("column {column}: {error}")))
}

pub(super) fn to_count(value: Decimal) -> i64 {
    value
        .round_dp_with_strategy(0, RoundingStrategy::MidpointNearestEven)
        .to_i64()
        .unwrap_or(i64::MAX)
}

/// The service a row belongs to among `counted` (service id → current name): by its id, or
/// by its name when the row has no id.
fn counted_service<'a>(
    counted: &'a BTreeMap<String, String>,
    id: Option<&str>,
    name: &str,
) -> Option<&'a str> {
    match id.filter(|id| !id.is_empty()) {
        Some(id) => counted.get(id).map(String::as_str),
        None => counted.values().find(|n| *n == name).map(String::as_str),
    }
}

/// Maps the spend rows of the services in `counted` (service id → current name).
pub(super) fn map_rows(
    rows: Vec<Row>,
    window: DayRange,
    counted: &BTreeMap<String, String>,
    fetched: &mut FetchedWindow,
) -> Result<(), ProviderError> {
    let mut invoice: BTreeMap<(Day, InvoiceMonth), (Money, Money)> = BTreeMap::new();
    let mut without_month = 0_usize;
    let mut projects: BTreeSet<String> = BTreeSet::new();
    let mut currencies: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut former_names: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for row in &rows {
        let day_text = row.text("usage_date").unwrap_or("");
        let day: Day = day_text
            .parse()
            .map_err(|_| row_error(row, format!("usage_date \"{day_text}\" is not a day")))?;
        if !window.contains(day) {
            return Err(row_error(
                row,
                format!("a row for {day} is outside the requested window {window}"),
            ));
        }
        let named = row.text("service").unwrap_or("");
        let Some(service) = counted_service(counted, row.text("service_id"), named) else {
            // Only the queried services can come back; anything else does not count.
            continue;
        };
        if named != service {
            former_names
                .entry(service)
                .or_default()
                .insert(named.to_owned());
        }
        let project = row
            .text("project_id")
            .filter(|id| !id.is_empty())
            .map(str::to_owned);
        if let Some(project) = &project {
            projects.insert(project.clone());
        }
        let currency_text = row
            .text("currency")
            .filter(|c| !c.is_empty())
            .unwrap_or("USD");
        let currency = Currency::parse(currency_text).map_err(|_| {
            row_error(
                row,
                format!("currency \"{currency_text}\" is not a currency code"),
            )
        })?;
        let billed_cost = money_cell(row, "cost")?;
        // Negative in the export; positive in spendlens.
        let billed_credits = -money_cell(row, "credits")?;
        let (cost, credits, billing) = in_usd(
            row,
            currency.clone(),
            billed_cost,
            billed_credits,
            &mut currencies,
        )?;
        match row
            .text("invoice_month")
            .filter(|m| !m.is_empty())
            .map(|m| (m, InvoiceMonth::parse(m)))
        {
            Some((_, Some(month))) => {
                let sums = invoice.entry((day, month)).or_default();
                sums.0 += cost;
                sums.1 += credits;
            }
            Some((text, None)) => {
                return Err(row_error(
                    row,
                    format!("invoice_month \"{text}\" is not a YYYYMM month"),
                ));
            }
            None => without_month += 1,
        }
        let quantity = decimal_cell(row, "pricing_qty")?;
        let pricing_unit = row.text("pricing_unit").unwrap_or("");
        let sku_text = row
            .text("sku")
            .filter(|s| !s.is_empty())
            .unwrap_or("unnamed SKU");
        // The raw SKU stays in the description, so the mapping can be redone later.
        let sku_id = row.text("sku_id").unwrap_or("");
        let described = if sku_id.is_empty() {
            format!("{service}: {sku_text}")
        } else {
            format!("{service}: {sku_text} [{sku_id}]")
        };
        let cost_type = row
            .text("cost_type")
            .filter(|t| !t.is_empty())
            .unwrap_or("regular")
            .to_ascii_lowercase();

        if cost_type != "regular" {
            // Tax, adjustments and rounding: money of their own, no usage.
            if !cost.is_zero() || !credits.is_zero() {
                fetched.costs.push(BilledCost {
                    day,
                    workspace_id: project.clone(),
                    api_key_id: None,
                    model: Some(cost_type.replace('_', " ")),
                    token_class: None,
                    category: Some(Category::Other),
                    description: format!("{described} {cost_type}"),
                    cost,
                    credits,
                    currency: Currency::usd(),
                    estimated: false,
                    billing: billing.clone(),
                });
            }
            continue;
        }

        let kind = sku::classify(sku_text);
        let (scale, base) = sku::pricing_unit(pricing_unit);
        let amount = quantity.checked_mul(scale).unwrap_or(Decimal::MAX);
        let (tokens, unit, other_quantity, token_class) = match kind.measure {
            SkuMeasure::Tokens(class) if sku::counts_tokens(&base) => {
                let count = to_count(amount);
                let mut tokens = TokenCounts::default();
                match class {
                    TokenClass::Input => tokens.input = count,
                    TokenClass::CachedInput => {
                        tokens.input = count;
                        tokens.cache_read = count;
                    }
                    TokenClass::CacheWrite => {
                        tokens.input = count;
                        tokens.cache_write = count;
                    }
                    TokenClass::Output => tokens.output = count,
                }
                (tokens, Unit::tokens(), Quantity::ZERO, Some(class))
            }
            _ => {
                let unit = match kind.category {
                    Category::Image if sku::counts_tokens(&base) => Unit::images(),
                    _ => sku::other_unit(&base),
                };
                let other = Quantity::from_decimal(amount)
                    .map_err(|error| row_error(row, format!("column pricing_qty: {error}")))?;
                (TokenCounts::default(), unit, other, None)
            }
        };
        if !tokens.is_zero() || !other_quantity.is_zero() {
            fetched.usage.push(UsageRecord {
                day,
                workspace_id: project.clone(),
                api_key_id: None,
                model: kind.model.clone(),
                category: kind.category,
                unit,
                detail: String::new(),
                tokens,
                requests: None,
                quantity: other_quantity,
                unpriced: false,
            });
        }
        if !cost.is_zero() || !credits.is_zero() {
            fetched.costs.push(BilledCost {
                day,
                workspace_id: project,
                api_key_id: None,
                model: Some(kind.model),
                token_class,
                category: Some(kind.category),
                description: described,
                cost,
                credits,
                currency: Currency::usd(),
                estimated: false,
                billing,
            });
        }
    }
    fetched.workspaces = projects
        .into_iter()
        .map(|id| WorkspaceRecord {
            name: id.clone(),
            provider_id: id,
            archived: false,
            created_at: None,
        })
        .collect();
    let foreign: Vec<String> = currencies
        .iter()
        .filter(|(currency, _)| currency.as_str() != "USD")
        .map(|(currency, rates)| {
            let rates: Vec<&str> = rates.iter().map(String::as_str).collect();
            format!("{currency} (at {} {currency} per USD)", rates.join(", "))
        })
        .collect();
    for (service, names) in &former_names {
        let names: Vec<String> = names.iter().map(|n| format!("\"{n}\"")).collect();
        fetched.notes.push(format!(
            "Some rows name {service} {} (a former or other name of the same service id): read \
             by the service's id and stored as {service}",
            names.join(", ")
        ));
    }
    if !foreign.is_empty() {
        fetched.notes.push(format!(
            "The billing account is billed in {}: spendlens keeps each amount as billed and \
             in USD, converted exactly at the export's own currency_conversion_rate of its row; \
             reports show USD",
            foreign.join(", ")
        ));
    }
    fetched.invoice_months = Some(
        invoice
            .into_iter()
            .map(
                |((day, invoice_month), (cost, credits))| InvoiceMonthAmount {
                    day,
                    invoice_month,
                    cost,
                    credits,
                },
            )
            .collect(),
    );
    if without_month > 0 {
        fetched.notes.push(format!(
            "{without_month} export rows carry no invoice.month: their money is in the UTC \
             days but in no invoice month"
        ));
    }
    Ok(())
}

/// Billing-currency cost and credits → (USD cost, USD credits, the billed amount when it is not
/// USD), at the row's `conversion_rate` (units of the billing currency per USD, doc §7).
fn in_usd(
    row: &Row,
    currency: Currency,
    cost: Money,
    credits: Money,
    currencies: &mut BTreeMap<String, BTreeSet<String>>,
) -> Result<(Money, Money, Option<Billed>), ProviderError> {
    let rate_text = row.text("conversion_rate").filter(|text| !text.is_empty());
    let rates = currencies.entry(currency.as_str().to_owned()).or_default();
    if currency == Currency::usd() {
        // USD accounts report a rate of 1; anything else would be a different currency.
        if let Some(text) = rate_text {
            let rate = ConversionRate::parse(text)
                .map_err(|error| row_error(row, format!("column conversion_rate: {error}")))?;
            if rate != ConversionRate::one() {
                return Err(row_error(
                    row,
                    format!("a USD row has the conversion rate {rate}, not 1"),
                ));
            }
        }
        return Ok((cost, credits, None));
    }
    let Some(text) = rate_text else {
        return Err(row_error(
            row,
            format!(
                "the row is billed in {currency} but has no currency_conversion_rate, so it \
                 cannot be converted to USD; nothing from this sync was stored"
            ),
        ));
    };
    let rate = ConversionRate::parse(text)
        .map_err(|error| row_error(row, format!("column conversion_rate: {error}")))?;
    rates.insert(rate.to_string());
    let billed = Billed {
        currency,
        cost,
        credits,
    };
    let (usd_cost, usd_credits) = billed_to_usd(&billed, rate)
        .map_err(|error| row_error(row, format!("converting to USD: {error}")))?;
    Ok((usd_cost, usd_credits, Some(billed)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(cells: &[(&str, Option<&str>)]) -> Row {
        Row {
            cells: cells
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.map(str::to_owned)))
                .collect(),
            page: 1,
        }
    }

    fn window() -> DayRange {
        DayRange::new("2025-06-01".parse().unwrap(), "2025-06-30".parse().unwrap()).unwrap()
    }

    /// Google's AI services, the ones these rows' spend counts for.
    fn ai() -> BTreeMap<String, String> {
        super::super::services::GOOGLE_AI
            .iter()
            .map(|(id, name)| ((*id).to_owned(), (*name).to_owned()))
            .collect()
    }

    #[test]
    fn a_fully_credited_row_nets_to_zero_and_tokens_are_counted() {
        let mut fetched = FetchedWindow::default();
        map_rows(
            vec![row(&[
                ("usage_date", Some("2025-06-01")),
                ("service", Some("Vertex AI")),
                ("sku", Some("Gemini 2.0 Flash Text Input - Predictions")),
                ("project_id", Some("demo-app")),
                ("currency", Some("USD")),
                ("cost_type", Some("regular")),
                ("cost", Some("0.3188")),
                ("credits", Some("-0.3188")),
                ("promo_credits", Some("-0.3188")),
                ("pricing_qty", Some("2125333")),
                ("pricing_unit", Some("count")),
            ])],
            window(),
            &ai(),
            &mut fetched,
        )
        .unwrap();
        let cost = &fetched.costs[0];
        assert_eq!(cost.cost.nanos(), 318_800_000);
        assert_eq!(cost.credits.nanos(), 318_800_000);
        assert_eq!((cost.cost - cost.credits).nanos(), 0);
        assert_eq!(cost.token_class, Some(TokenClass::Input));
        let usage = &fetched.usage[0];
        assert_eq!(usage.model, "gemini-2.0-flash");
        assert_eq!(usage.tokens.input, 2_125_333);
        assert_eq!(usage.requests, None);
        assert_eq!(fetched.workspaces[0].provider_id, "demo-app");
    }

    #[test]
    fn nulls_are_zero_exponents_are_exact_and_tax_is_its_own_line() {
        let mut fetched = FetchedWindow::default();
        map_rows(
            vec![
                row(&[
                    ("usage_date", Some("2025-06-02")),
                    ("service", Some("Gemini API")),
                    (
                        "sku",
                        Some("Generate content output token count gemini 2.5 flash"),
                    ),
                    ("project_id", Some("p")),
                    ("currency", Some("EUR")),
                    ("conversion_rate", Some("0.92")),
                    ("cost_type", Some("regular")),
                    ("cost", Some("1.5E-5")),
                    ("invoice_month", Some("202506")),
                    ("credits", None),
                    ("pricing_qty", Some("6.0E1")),
                    ("pricing_unit", None),
                ]),
                row(&[
                    ("usage_date", Some("2025-06-02")),
                    ("service", Some("Vertex AI")),
                    ("sku", Some("Tax")),
                    ("project_id", Some("")),
                    ("currency", Some("EUR")),
                    ("conversion_rate", Some("0.92")),
                    ("cost_type", Some("tax")),
                    ("cost", Some("0.19")),
                    ("invoice_month", Some("202507")),
                    ("credits", Some("0")),
                ]),
                row(&[
                    ("usage_date", Some("2025-06-02")),
                    ("service", Some("Compute Engine")),
                    ("sku", Some("N1 core")),
                    ("cost", Some("100")),
                ]),
            ],
            window(),
            &ai(),
            &mut fetched,
        )
        .unwrap();
        assert_eq!(fetched.costs.len(), 2);
        // 0.000015 EUR at 0.92 EUR per USD = 0.0000163043… USD → 16304 nano-dollars.
        assert_eq!(fetched.costs[0].cost.nanos(), 16_304);
        assert_eq!(fetched.costs[0].credits, Money::ZERO);
        assert_eq!(fetched.costs[0].currency.as_str(), "USD");
        let billed = fetched.costs[0].billing.clone().unwrap();
        assert_eq!(
            (billed.currency.as_str(), billed.cost.nanos()),
            ("EUR", 15_000)
        );
        // Tax 0.19 EUR → 0.206521739130… USD.
        assert_eq!(fetched.costs[1].cost.nanos(), 206_521_739);
        assert_eq!(fetched.usage[0].tokens.output, 60);
        assert_eq!(fetched.costs[1].model.as_deref(), Some("tax"));
        assert_eq!(fetched.costs[1].workspace_id, None);
        assert_eq!(fetched.costs[1].category, Some(Category::Other));
        assert!(fetched.notes[0].contains("EUR"), "{:?}", fetched.notes);
        // The tax row was billed on the next invoice: each month has its own day amount.
        let months = fetched.invoice_months.unwrap();
        let june = InvoiceMonth::parse("202506").unwrap();
        let july = InvoiceMonth::parse("202507").unwrap();
        assert_eq!(months.len(), 2, "{months:?}");
        assert_eq!(
            (months[0].invoice_month, months[0].cost.nanos()),
            (june, 16_304)
        );
        assert_eq!(
            (months[1].invoice_month, months[1].cost.nanos()),
            (july, 206_521_739)
        );
    }

    #[test]
    fn a_foreign_row_without_a_rate_is_refused_not_stored_as_dollars() {
        let mut fetched = FetchedWindow::default();
        let error = map_rows(
            vec![row(&[
                ("usage_date", Some("2025-06-02")),
                ("service", Some("Vertex AI")),
                ("sku", Some("Gemini 2.5 Flash GA Text Input - Predictions")),
                ("currency", Some("JPY")),
                ("cost_type", Some("regular")),
                ("cost", Some("150")),
            ])],
            window(),
            &ai(),
            &mut fetched,
        )
        .unwrap_err();
        assert!(
            error.to_string().contains("currency_conversion_rate"),
            "{error}"
        );
    }
}
