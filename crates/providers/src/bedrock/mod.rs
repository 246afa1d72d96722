//! AWS Bedrock: spend and usage from AWS Cost Explorer (shared/providers/aws-bedrock.md), read
//! with the official SDK (`aws-sdk-costexplorer`).
//!
//! One fetch makes these calls, each page one request (AWS charges $0.01 per request):
//! 1. `GetDimensionValues` SERVICE, search "Bedrock": the Bedrock services with spend in the
//!    window — `Amazon Bedrock` and every `… (Amazon Bedrock Edition)` (Marketplace models).
//!    Never a fixed list: new models appear as new services.
//! 2. `GetDimensionValues` LINKED_ACCOUNT, filtered to those services: the AWS accounts
//!    (spendlens workspaces) that used Bedrock. One account (a member account, or a payer
//!    with one Bedrock user) is the usual case.
//! 3. `GetDimensionValues` USAGE_TYPE, filtered to those services: the pricing unit of each
//!    usage type, which says how many tokens one unit of `UsageQuantity` is.
//! 4. Per account, `GetCostAndUsage` DAILY, `UnblendedCost` + `UsageQuantity`, grouped by
//!    SERVICE and USAGE_TYPE, filtered to the services, the account and every record type
//!    but `Credit`, `Refund`, `Discount` and `BundledDiscount`: gross cost and usage.
//! 5. Per account, `GetCostAndUsage` DAILY grouped by SERVICE and RECORD_TYPE, filtered to
//!    those four: credits and discounts (negative in Cost Explorer, stored positive). Credits on
//!    `Amazon Bedrock` itself go to model `bedrock-general`; on a Marketplace service, to
//!    its model.
//!
//! Accounts are queried one by one because GetCostAndUsage allows two GroupBy keys and both
//! are needed for SERVICE (the Marketplace model) and USAGE_TYPE (the token direction); the
//! account filter attributes every amount exactly. What Cost Explorer cannot give: API keys
//! (Bedrock spend has no key dimension: lines have no key), request counts (`None`, shown
//! N/A), and a per-request model id for Marketplace models beyond the service name.

mod sdk;
mod usage_type;

use std::collections::{BTreeSet, HashMap, HashSet};

use aws_sdk_costexplorer::types::{
    DateInterval, Dimension, DimensionValues, Expression, Granularity, GroupDefinition,
    GroupDefinitionType, MetricValue,
};
use rust_decimal::{Decimal, RoundingStrategy};
use spendlens_domain::money::parse_decimal;
use spendlens_domain::{
    BilledCost, Category, Credential, Currency, Day, DayRange, FetchedWindow, Money, Quantity,
    TokenClass, TokenCounts, Unit, UsageRecord, WorkspaceRecord,
};

use crate::error::ProviderError;
use crate::http::{At, CallStats};
use crate::paging::CursorGuard;
use crate::{ConnectionCheck, ConnectorConfig};
use sdk::{CostExplorer, Op, PROVIDER, map_error};
use usage_type::{Measure, UsageKind, classify, is_bedrock_service};

const GET_COST_AND_USAGE: &str = "GetCostAndUsage";
const GET_DIMENSION_VALUES: &str = "GetDimensionValues";
const COST_METRIC: &str = "UnblendedCost";
const QUANTITY_METRIC: &str = "UsageQuantity";
/// Record types that are not gross spend: read by the credits query, kept out of the usage query.
/// Discounts (EDP / private pricing `Discount`, `BundledDiscount`) are negative like credits and
/// reduce the bill the same way: netted into gross cost they would understate what was used.
const CREDIT_RECORD_TYPES: [&str; 4] = ["Credit", "Refund", "Discount", "BundledDiscount"];
/// A listing longer than this many pages is a server that never stops.
const MAX_PAGES: u32 = 5_000;

/// The window as Cost Explorer's TimePeriod (start inclusive, end exclusive).
fn time_period(window: DayRange) -> Result<DateInterval, ProviderError> {
    let end = window
        .end_exclusive()
        .map_err(|error| ProviderError::InvalidWindow {
            provider: PROVIDER,
            window: window.to_string(),
            reason: error.to_string(),
        })?;
    DateInterval::builder()
        .start(window.from().to_string())
        .end(end.to_string())
        .build()
        .map_err(|error| ProviderError::InvalidWindow {
            provider: PROVIDER,
            window: window.to_string(),
            reason: error.to_string(),
        })
}

pub(crate) async fn check_connection(
    credential: &Credential,
    config: &ConnectorConfig,
    stats: &CallStats,
) -> Result<ConnectionCheck, ProviderError> {
    let mut ce = sdk::client(credential, config, stats)?;
    #[expect(
        clippy::disallowed_methods,
        reason = "a live check asks Cost Explorer about the last 30 real days"
    )]
    let today = Day::of(time::OffsetDateTime::now_utc());
    let from = today.add_days(-30).unwrap_or(today);
    let to = today.add_days(-1).unwrap_or(today);
    let window = DayRange::new(from, to).map_err(|error| ProviderError::InvalidWindow {
        provider: PROVIDER,
        window: format!("{from} – {to}"),
        reason: error.to_string(),
    })?;
    let (services, _) = discover_services(&mut ce, window).await?;
    let summary = if services.is_empty() {
        "AWS Cost Explorer reachable: no Amazon Bedrock spend in the last 30 days yet".to_owned()
    } else {
        let plural = if services.len() == 1 {
            "service"
        } else {
            "services"
        };
        format!(
            "AWS Cost Explorer reachable: {} Bedrock {plural} with spend in the last 30 days ({})",
            services.len(),
            services.join(", ")
        )
    };
    Ok(ConnectionCheck { summary })
}

pub(crate) async fn fetch_window(
    credential: &Credential,
    config: &ConnectorConfig,
    window: DayRange,
    stats: &CallStats,
) -> Result<FetchedWindow, ProviderError> {
    let mut ce = sdk::client(credential, config, stats)?;
    let mut fetched = FetchedWindow::default();
    let pages_before = stats.snapshot().pages;

    let (services, other_bedrock_named) = discover_services(&mut ce, window).await?;
    if !other_bedrock_named.is_empty() {
        fetched.notes.push(format!(
            "Cost Explorer also lists {} for this window; spendlens counts only Amazon Bedrock \
             and the Marketplace models sold through it (\"… (Amazon Bedrock Edition)\") as \
             Bedrock model spend",
            other_bedrock_named.join(", ")
        ));
    }
    if services.is_empty() {
        fetched.notes.push(format!(
            "Cost Explorer shows no Amazon Bedrock spend between {} and {}",
            window.from(),
            window.to()
        ));
        push_request_note(&mut fetched, stats.snapshot().pages - pages_before);
        return Ok(fetched);
    }

    let accounts = discover_accounts(&mut ce, window, &services).await?;
    let mut units = usage_type_units(&mut ce, window, &services).await?;
    let scopes: Vec<Option<&Account>> = if accounts.is_empty() {
        // Cost Explorer named no account: the amounts are read unfiltered and carry no
        // workspace rather than being lost.
        fetched.notes.push(
            "Cost Explorer named no AWS account for this Bedrock spend; it is shown without a \
             workspace"
                .to_owned(),
        );
        vec![None]
    } else {
        accounts.iter().map(Some).collect()
    };

    let mut estimated_days: BTreeSet<Day> = BTreeSet::new();
    for scope in scopes {
        let account_id = scope.map(|account| account.id.as_str());
        let usage = get_cost_and_usage(
            &mut ce,
            window,
            ["SERVICE", "USAGE_TYPE"],
            filter(&services, account_id, RecordTypes::AllButCredits),
            &mut units,
            &mut estimated_days,
        )
        .await?;
        for row in usage {
            map_usage_row(&row, account_id, &units, &mut fetched)?;
        }
        let credits = get_cost_and_usage(
            &mut ce,
            window,
            ["SERVICE", "RECORD_TYPE"],
            filter(&services, account_id, RecordTypes::OnlyCredits),
            &mut units,
            &mut estimated_days,
        )
        .await?;
        for row in credits {
            map_credit_row(&row, account_id, &mut fetched)?;
        }
        if let Some(account) = scope {
            fetched.workspaces.push(WorkspaceRecord {
                provider_id: account.id.clone(),
                name: account.name.clone(),
                archived: false,
                created_at: None,
            });
        }
    }

    if let (Some(first), Some(last)) = (estimated_days.first(), estimated_days.last()) {
        let count = estimated_days.len();
        let days = if count == 1 {
            format!("{first} is")
        } else {
            format!("{count} days ({first} – {last}) are")
        };
        fetched.notes.push(format!(
            "Cost Explorer says {days} estimated: amounts may still change until AWS finalizes \
             them; spendlens reads recent days again on every sync"
        ));
    }
    push_request_note(&mut fetched, stats.snapshot().pages - pages_before);
    Ok(fetched)
}

fn push_request_note(fetched: &mut FetchedWindow, requests: u64) {
    let cents = requests;
    let plural = if requests == 1 { "request" } else { "requests" };
    fetched.notes.push(format!(
        "AWS charges $0.01 per Cost Explorer request: this sync made {requests} {plural} \
         (${}.{:02})",
        cents / 100,
        cents % 100
    ));
}

/// An AWS account, spendlens's Bedrock workspace.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Account {
    id: String,
    name: String,
}

/// Every value of a dimension in the window, with its attributes, following NextPageToken.
async fn dimension_values(
    ce: &mut CostExplorer<'_>,
    window: DayRange,
    dimension: Dimension,
    search: Option<&str>,
    filter: Option<Expression>,
) -> Result<Vec<(String, HashMap<String, String>)>, ProviderError> {
    let period = time_period(window)?;
    let mut values = Vec::new();
    let mut seen = HashSet::new();
    let mut guard = CursorGuard::new(MAX_PAGES);
    let mut token: Option<String> = None;
    let mut page = 1;
    loop {
        let op = Op {
            name: GET_DIMENSION_VALUES,
            page,
        };
        let result = ce
            .client
            .get_dimension_values()
            .time_period(period.clone())
            .dimension(dimension.clone())
            .set_search_string(search.map(str::to_owned))
            .set_filter(filter.clone())
            .set_next_page_token(token.clone())
            .send()
            .await;
        let retries = ce.retries_of_last_operation();
        ce.sync_stats();
        let output = result.map_err(|error| map_error(error, op, retries, ce))?;
        ce.count_page();
        for value in output.dimension_values() {
            let Some(text) = value.value().map(str::trim).filter(|text| !text.is_empty()) else {
                continue;
            };
            if seen.insert(text.to_owned()) {
                values.push((
                    text.to_owned(),
                    value.attributes().cloned().unwrap_or_default(),
                ));
            }
        }
        let next = output
            .next_page_token()
            .filter(|next| !next.is_empty())
            .map(str::to_owned);
        let at = At {
            endpoint: GET_DIMENSION_VALUES,
            page,
        };
        match guard.advance(PROVIDER, at, next)? {
            Some(next) => token = Some(next),
            None => return Ok(values),
        }
        page += 1;
    }
}

/// The Bedrock services with spend in the window (sorted), and the other services whose
/// name contains "Bedrock" but which are not model spend.
async fn discover_services(
    ce: &mut CostExplorer<'_>,
    window: DayRange,
) -> Result<(Vec<String>, Vec<String>), ProviderError> {
    let values = dimension_values(ce, window, Dimension::Service, Some("Bedrock"), None).await?;
    let (mut bedrock, mut other): (Vec<String>, Vec<String>) = values
        .into_iter()
        .map(|(value, _)| value)
        .partition(|service| is_bedrock_service(service));
    bedrock.sort();
    other.sort();
    Ok((bedrock, other))
}

/// The accounts with Bedrock spend in the window, sorted by id, named by their description.
async fn discover_accounts(
    ce: &mut CostExplorer<'_>,
    window: DayRange,
    services: &[String],
) -> Result<Vec<Account>, ProviderError> {
    let values = dimension_values(
        ce,
        window,
        Dimension::LinkedAccount,
        None,
        Some(dimension(Dimension::Service, services)),
    )
    .await?;
    let mut accounts: Vec<Account> = values
        .into_iter()
        .map(|(id, attributes)| Account {
            name: attribute(&attributes, "description")
                .filter(|name| !name.is_empty())
                .unwrap_or(&id)
                .to_owned(),
            id,
        })
        .collect();
    accounts.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(accounts)
}

/// The pricing unit of each Bedrock usage type (the `unit` attribute), where Cost Explorer
/// gives one.
async fn usage_type_units(
    ce: &mut CostExplorer<'_>,
    window: DayRange,
    services: &[String],
) -> Result<HashMap<String, String>, ProviderError> {
    let values = dimension_values(
        ce,
        window,
        Dimension::UsageType,
        None,
        Some(dimension(Dimension::Service, services)),
    )
    .await?;
    Ok(values
        .into_iter()
        .filter_map(|(usage_type, attributes)| {
            attribute(&attributes, "unit").map(|unit| (usage_type, unit.to_owned()))
        })
        .collect())
}

fn attribute<'a>(attributes: &'a HashMap<String, String>, key: &str) -> Option<&'a str> {
    attributes
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(key))
        .map(|(_, value)| value.trim())
}

fn dimension(key: Dimension, values: &[String]) -> Expression {
    Expression::builder()
        .dimensions(
            DimensionValues::builder()
                .key(key)
                .set_values(Some(values.to_vec()))
                .build(),
        )
        .build()
}

/// Which record types a query reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum RecordTypes {
    /// Gross spend: everything but credits and refunds.
    AllButCredits,
    /// Credits and refunds only.
    OnlyCredits,
}

/// The services, the account (when there is one) and the record types, all required.
fn filter(services: &[String], account: Option<&str>, records: RecordTypes) -> Expression {
    let credit_types: Vec<String> = CREDIT_RECORD_TYPES
        .iter()
        .map(|record_type| (*record_type).to_owned())
        .collect();
    let credit_records = dimension(Dimension::RecordType, &credit_types);
    let records = match records {
        RecordTypes::AllButCredits => Expression::builder().not(credit_records).build(),
        RecordTypes::OnlyCredits => credit_records,
    };
    let mut builder = Expression::builder().and(dimension(Dimension::Service, services));
    if let Some(account) = account {
        builder = builder.and(dimension(Dimension::LinkedAccount, &[account.to_owned()]));
    }
    builder.and(records).build()
}

/// One group of one day of a GetCostAndUsage answer.
#[derive(Clone, Debug)]
struct Row {
    day: Day,
    keys: [String; 2],
    cost: Option<MetricValue>,
    quantity: Option<MetricValue>,
    at: (&'static str, u32),
}

/// Every group of a DAILY GetCostAndUsage over `window`, following NextPageToken. A page may
/// continue a day of the page before (Cost Explorer splits groups over pages), but the same
/// (day, keys) group twice would count twice and stops the fetch.
async fn get_cost_and_usage(
    ce: &mut CostExplorer<'_>,
    window: DayRange,
    group_by: [&str; 2],
    filter: Expression,
    units: &mut HashMap<String, String>,
    estimated_days: &mut BTreeSet<Day>,
) -> Result<Vec<Row>, ProviderError> {
    let period = time_period(window)?;
    let groups: Vec<GroupDefinition> = group_by
        .iter()
        .map(|key| {
            GroupDefinition::builder()
                .r#type(GroupDefinitionType::Dimension)
                .key(*key)
                .build()
        })
        .collect();
    let mut rows = Vec::new();
    let mut seen: HashSet<(Day, [String; 2])> = HashSet::new();
    let mut guard = CursorGuard::new(MAX_PAGES);
    let mut token: Option<String> = None;
    let mut page = 1;
    loop {
        let op = Op {
            name: GET_COST_AND_USAGE,
            page,
        };
        let unexpected = |detail: String| ProviderError::UnexpectedPage {
            provider: PROVIDER,
            endpoint: GET_COST_AND_USAGE.to_owned(),
            page,
            detail,
        };
        let result = ce
            .client
            .get_cost_and_usage()
            .time_period(period.clone())
            .granularity(Granularity::Daily)
            .metrics(COST_METRIC)
            .metrics(QUANTITY_METRIC)
            .set_group_by(Some(groups.clone()))
            .filter(filter.clone())
            .set_next_page_token(token.clone())
            .send()
            .await;
        let retries = ce.retries_of_last_operation();
        ce.sync_stats();
        let output = result.map_err(|error| map_error(error, op, retries, ce))?;
        ce.count_page();

        // Units Cost Explorer attaches to the usage types it returns, when it does.
        for value in output.dimension_value_attributes() {
            if let (Some(usage_type), Some(unit)) = (
                value.value(),
                value
                    .attributes()
                    .and_then(|attributes| attribute(attributes, "unit")),
            ) {
                units
                    .entry(usage_type.to_owned())
                    .or_insert_with(|| unit.to_owned());
            }
        }
        for result in output.results_by_time() {
            let start = result
                .time_period()
                .map(DateInterval::start)
                .unwrap_or_default();
            let day: Day = start.get(..10).unwrap_or(start).parse().map_err(|_| {
                unexpected(format!(
                    "a result starts at \"{start}\", which is not a day"
                ))
            })?;
            if !window.contains(day) {
                return Err(unexpected(format!(
                    "a result for {day} is outside the requested window {window}"
                )));
            }
            if result.estimated() {
                estimated_days.insert(day);
            }
            for group in result.groups() {
                let keys = match group.keys() {
                    [first, second, ..] => [first.clone(), second.clone()],
                    other => {
                        return Err(unexpected(format!(
                            "a group of {day} has {} keys, not the 2 asked for",
                            other.len()
                        )));
                    }
                };
                if !seen.insert((day, keys.clone())) {
                    return Err(ProviderError::DuplicateBucket {
                        provider: PROVIDER,
                        endpoint: GET_COST_AND_USAGE.to_owned(),
                        page,
                        day: format!("{day} ({} / {})", keys[0], keys[1]),
                    });
                }
                let metric = |name: &str| {
                    group
                        .metrics()
                        .and_then(|metrics| metrics.get(name))
                        .cloned()
                };
                rows.push(Row {
                    day,
                    cost: metric(COST_METRIC),
                    quantity: metric(QUANTITY_METRIC),
                    keys,
                    at: (GET_COST_AND_USAGE, page),
                });
            }
        }
        let next = output
            .next_page_token()
            .filter(|next| !next.is_empty())
            .map(str::to_owned);
        let at = At {
            endpoint: GET_COST_AND_USAGE,
            page,
        };
        match guard.advance(PROVIDER, at, next)? {
            Some(next) => token = Some(next),
            None => return Ok(rows),
        }
        page += 1;
    }
}

fn unexpected_at(row: &Row, detail: String) -> ProviderError {
    ProviderError::UnexpectedPage {
        provider: PROVIDER,
        endpoint: row.at.0.to_owned(),
        page: row.at.1,
        detail,
    }
}

/// The amount and currency of a row's cost; a group without it is a page spendlens cannot read.
fn cost_of(row: &Row) -> Result<(Money, Currency), ProviderError> {
    let Some(amount) = row.cost.as_ref().and_then(MetricValue::amount) else {
        return Err(unexpected_at(
            row,
            format!(
                "{} / {} on {} has no {COST_METRIC} amount",
                row.keys[0], row.keys[1], row.day
            ),
        ));
    };
    let money = Money::parse_units(amount).map_err(|error| {
        unexpected_at(
            row,
            format!(
                "the cost of {} / {} on {}: {error}",
                row.keys[0], row.keys[1], row.day
            ),
        )
    })?;
    let currency = match row.cost.as_ref().and_then(MetricValue::unit).map(str::trim) {
        Some(unit) if !unit.is_empty() && unit != "N/A" => Currency::parse(unit).map_err(|_| {
            unexpected_at(
                row,
                format!(
                    "the cost of {} on {} is in \"{unit}\", not a currency",
                    row.keys[0], row.day
                ),
            )
        })?,
        _ => Currency::usd(),
    };
    Ok((money, currency))
}

fn quantity_of(row: &Row) -> Result<Decimal, ProviderError> {
    let Some(amount) = row.quantity.as_ref().and_then(MetricValue::amount) else {
        return Ok(Decimal::ZERO);
    };
    parse_decimal(amount).map_err(|error| {
        unexpected_at(
            row,
            format!(
                "the usage quantity of {} / {} on {}: {error}",
                row.keys[0], row.keys[1], row.day
            ),
        )
    })
}

fn to_count(value: Decimal) -> i64 {
    use rust_decimal::prelude::ToPrimitive;
    value
        .round_dp_with_strategy(0, RoundingStrategy::MidpointNearestEven)
        .to_i64()
        .unwrap_or(i64::MAX)
}

/// One (day, service, usage type) group: a usage record (tokens or other units) and its cost.
fn map_usage_row(
    row: &Row,
    account: Option<&str>,
    units: &HashMap<String, String>,
    fetched: &mut FetchedWindow,
) -> Result<(), ProviderError> {
    let [service, usage_type] = &row.keys;
    if !is_bedrock_service(service) {
        // Only the filtered services can come back; anything else is not Bedrock spend.
        return Ok(());
    }
    let (cost, currency) = cost_of(row)?;
    let quantity = quantity_of(row)?;
    let kind = classify(service, usage_type);
    let pricing_unit = units.get(usage_type).map(String::as_str);
    let (tokens, unit, other_quantity) = measure(&kind, quantity, pricing_unit, row)?;
    let token_class = match kind.measure {
        Measure::Tokens(class) => Some(class),
        _ => None,
    };
    if !tokens.is_zero() || !other_quantity.is_zero() {
        fetched.usage.push(UsageRecord {
            day: row.day,
            workspace_id: account.map(str::to_owned),
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
    if !cost.is_zero() {
        fetched.costs.push(BilledCost {
            day: row.day,
            workspace_id: account.map(str::to_owned),
            api_key_id: None,
            model: Some(kind.model),
            token_class,
            category: Some(kind.category),
            description: format!("{service}: {usage_type}"),
            cost,
            credits: Money::ZERO,
            currency,
            estimated: false,
            billing: None,
        });
    }
    Ok(())
}

/// The tokens, unit and non-token quantity of one usage group.
fn measure(
    kind: &UsageKind,
    quantity: Decimal,
    pricing_unit: Option<&str>,
    row: &Row,
) -> Result<(TokenCounts, Unit, Quantity), ProviderError> {
    let overflow = |error: spendlens_domain::MoneyError| {
        unexpected_at(
            row,
            format!(
                "the usage quantity of {} on {}: {error}",
                row.keys[1], row.day
            ),
        )
    };
    match kind.measure {
        Measure::Tokens(class) => {
            let scale = usage_type::tokens_per_unit(kind, pricing_unit);
            let count = to_count(quantity.checked_mul(scale).unwrap_or(Decimal::MAX));
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
            Ok((tokens, Unit::tokens(), Quantity::ZERO))
        }
        Measure::Images | Measure::Other => Ok((
            TokenCounts::default(),
            usage_type::other_unit(&kind.measure, pricing_unit),
            Quantity::from_decimal(quantity).map_err(overflow)?,
        )),
    }
}

/// One (day, service, record type) credit or refund: a positive `credits` amount on the
/// service's model (`bedrock-general` for Amazon Bedrock itself).
fn map_credit_row(
    row: &Row,
    account: Option<&str>,
    fetched: &mut FetchedWindow,
) -> Result<(), ProviderError> {
    let [service, record_type] = &row.keys;
    if !is_bedrock_service(service) || !CREDIT_RECORD_TYPES.contains(&record_type.as_str()) {
        // Other record types are gross spend, read by the usage query.
        return Ok(());
    }
    let (amount, currency) = cost_of(row)?;
    if amount.is_zero() {
        return Ok(());
    }
    let model = usage_type::credit_model(service);
    // Credits on Amazon Bedrock itself belong to no model: a line of their own. Credits on a
    // Marketplace model go to its usage of the model's kind.
    let category = if model == usage_type::GENERAL_MODEL {
        Category::Other
    } else {
        usage_type::model_category(&model)
    };
    // Credits are negative; a positive amount under a credit record type is a charge.
    let (cost, credits) = if amount.is_negative() {
        (Money::ZERO, -amount)
    } else {
        (amount, Money::ZERO)
    };
    fetched.costs.push(BilledCost {
        day: row.day,
        workspace_id: account.map(str::to_owned),
        api_key_id: None,
        model: Some(model),
        token_class: None,
        category: Some(category),
        description: format!("{record_type} on {service}"),
        cost,
        credits,
        currency,
        estimated: false,
        billing: None,
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> Day {
        text.parse().unwrap()
    }

    fn metric(amount: &str, unit: &str) -> Option<MetricValue> {
        Some(MetricValue::builder().amount(amount).unit(unit).build())
    }

    fn row(keys: [&str; 2], cost: &str, quantity: &str) -> Row {
        Row {
            day: day("2025-01-01"),
            keys: [keys[0].to_owned(), keys[1].to_owned()],
            cost: metric(cost, "USD"),
            quantity: metric(quantity, "N/A"),
            at: (GET_COST_AND_USAGE, 1),
        }
    }

    #[test]
    fn the_window_end_is_exclusive() {
        let window = DayRange::new(day("2025-01-01"), day("2025-01-31")).unwrap();
        let period = time_period(window).unwrap();
        assert_eq!(period.start(), "2025-01-01");
        assert_eq!(period.end(), "2025-02-01");
    }

    #[test]
    fn marketplace_tokens_are_millions_and_cost_is_exact() {
        let mut fetched = FetchedWindow::default();
        map_usage_row(
            &row(
                [
                    "Claude 3.5 Sonnet (Amazon Bedrock Edition)",
                    "USE1-MP:USE1_CacheReadInputTokenCount-Units",
                ],
                "1.5",
                "0.5",
            ),
            Some("123456789012"),
            &HashMap::new(),
            &mut fetched,
        )
        .unwrap();
        let usage = &fetched.usage[0];
        assert_eq!(usage.model, "Claude 3.5 Sonnet");
        assert_eq!(usage.tokens.input, 500_000);
        assert_eq!(usage.tokens.cache_read, 500_000);
        assert_eq!(usage.requests, None);
        let cost = &fetched.costs[0];
        assert_eq!(cost.cost.nanos(), 1_500_000_000);
        assert_eq!(cost.token_class, Some(TokenClass::CachedInput));
        assert_eq!(cost.workspace_id.as_deref(), Some("123456789012"));
    }

    #[test]
    fn first_party_tokens_are_thousands_unless_the_unit_says_otherwise() {
        let mut fetched = FetchedWindow::default();
        let mut units = HashMap::new();
        map_usage_row(
            &row(
                ["Amazon Bedrock", "USE1-NovaPro-output-tokens"],
                "0.032",
                "10",
            ),
            None,
            &units,
            &mut fetched,
        )
        .unwrap();
        assert_eq!(fetched.usage[0].model, "nova-pro");
        assert_eq!(fetched.usage[0].tokens.output, 10_000);
        units.insert("USE1-NovaPro-output-tokens".to_owned(), "Tokens".to_owned());
        map_usage_row(
            &row(
                ["Amazon Bedrock", "USE1-NovaPro-output-tokens"],
                "0.032",
                "10",
            ),
            None,
            &units,
            &mut fetched,
        )
        .unwrap();
        assert_eq!(fetched.usage[1].tokens.output, 10);
    }

    #[test]
    fn credits_are_positive_and_general_credits_go_to_bedrock_general() {
        let mut fetched = FetchedWindow::default();
        map_credit_row(
            &row(["Amazon Bedrock", "Credit"], "-2.5", "0"),
            Some("1"),
            &mut fetched,
        )
        .unwrap();
        map_credit_row(
            &row(
                ["Jamba 1.5 Mini (Amazon Bedrock Edition)", "Credit"],
                "-1e-3",
                "0",
            ),
            Some("1"),
            &mut fetched,
        )
        .unwrap();
        map_credit_row(
            &row(["Amazon Bedrock", "Usage"], "5", "0"),
            Some("1"),
            &mut fetched,
        )
        .unwrap();
        assert_eq!(fetched.costs.len(), 2);
        assert_eq!(fetched.costs[0].model.as_deref(), Some("bedrock-general"));
        assert_eq!(fetched.costs[0].credits.nanos(), 2_500_000_000);
        assert_eq!(fetched.costs[0].cost, Money::ZERO);
        assert_eq!(fetched.costs[1].model.as_deref(), Some("Jamba 1.5 Mini"));
        assert_eq!(fetched.costs[1].credits.nanos(), 1_000_000);
    }

    #[test]
    fn unknown_usage_types_keep_their_money() {
        let mut fetched = FetchedWindow::default();
        map_usage_row(
            &row(["Amazon Bedrock", "USE1-SomethingNew-Hrs"], "7.25", "3"),
            None,
            &HashMap::new(),
            &mut fetched,
        )
        .unwrap();
        assert_eq!(fetched.costs[0].model.as_deref(), Some("SomethingNew-Hrs"));
        assert_eq!(fetched.costs[0].cost.nanos(), 7_250_000_000);
        assert_eq!(fetched.usage[0].category, Category::Other);
        assert_eq!(fetched.usage[0].quantity, Quantity::from_whole(3));
    }
}
