//! The JSON bodies of `GetCostAndUsage` and `GetDimensionValues`, validated as the service
//! validates them (doc §4): `TimePeriod` dates, `Granularity`, `Metrics`, at most 2 `GroupBy`
//! entries, `Filter` expressions with exactly one root operator, `Dimensions` match options, and
//! a SERVICE filter that must cover the whole request (never under `Not`, in every `Or` branch).
//!
//! Dimensions the fake models: SERVICE, USAGE_TYPE, RECORD_TYPE, LINKED_ACCOUNT, REGION and
//! BILLING_ENTITY; tags (the fake's resources carry none) and the Bedrock product attributes
//! `provider`, `model`, `inferenceType`, `feature`. Other documented dimensions are valid in
//! Cost Explorer but not modelled: the fake refuses them with a `ValidationException` whose
//! message says so, rather than invent values.

use serde_json::{Map, Value};
use time::Date;
use time::macros::format_description;

use super::http::AwsError;
use crate::common::time_text::unix_day;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Granularity {
    Daily,
    Monthly,
}

/// A cost metric or UsageQuantity, as named in the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Metric {
    UnblendedCost,
    NetUnblendedCost,
    BlendedCost,
    AmortizedCost,
    NetAmortizedCost,
    UsageQuantity,
    NormalizedUsageAmount,
}

impl Metric {
    const ALL: [Metric; 7] = [
        Metric::AmortizedCost,
        Metric::BlendedCost,
        Metric::NetAmortizedCost,
        Metric::NetUnblendedCost,
        Metric::NormalizedUsageAmount,
        Metric::UnblendedCost,
        Metric::UsageQuantity,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::UnblendedCost => "UnblendedCost",
            Self::NetUnblendedCost => "NetUnblendedCost",
            Self::BlendedCost => "BlendedCost",
            Self::AmortizedCost => "AmortizedCost",
            Self::NetAmortizedCost => "NetAmortizedCost",
            Self::UsageQuantity => "UsageQuantity",
            Self::NormalizedUsageAmount => "NormalizedUsageAmount",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.name() == text)
    }
}

/// A dimension the fake has values for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Dim {
    Service,
    UsageType,
    RecordType,
    LinkedAccount,
    Region,
    BillingEntity,
}

impl Dim {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Service => "SERVICE",
            Self::UsageType => "USAGE_TYPE",
            Self::RecordType => "RECORD_TYPE",
            Self::LinkedAccount => "LINKED_ACCOUNT",
            Self::Region => "REGION",
            Self::BillingEntity => "BILLING_ENTITY",
        }
    }
}

/// Every value of the service model's `Dimension` enum.
const DIMENSIONS: &[&str] = &[
    "AZ",
    "INSTANCE_TYPE",
    "LINKED_ACCOUNT",
    "LINKED_ACCOUNT_NAME",
    "OPERATION",
    "PURCHASE_TYPE",
    "REGION",
    "SERVICE",
    "SERVICE_CODE",
    "USAGE_TYPE",
    "USAGE_TYPE_GROUP",
    "RECORD_TYPE",
    "OPERATING_SYSTEM",
    "TENANCY",
    "SCOPE",
    "PLATFORM",
    "SUBSCRIPTION_ID",
    "LEGAL_ENTITY_NAME",
    "DEPLOYMENT_OPTION",
    "DATABASE_ENGINE",
    "CACHE_ENGINE",
    "INSTANCE_TYPE_FAMILY",
    "BILLING_ENTITY",
    "RESERVATION_ID",
    "RESOURCE_ID",
    "RIGHTSIZING_TYPE",
    "SAVINGS_PLANS_TYPE",
    "SAVINGS_PLAN_ARN",
    "PAYMENT_OPTION",
    "AGREEMENT_END_DATE_TIME_AFTER",
    "AGREEMENT_END_DATE_TIME_BEFORE",
    "INVOICING_ENTITY",
    "ANOMALY_TOTAL_IMPACT_ABSOLUTE",
    "ANOMALY_TOTAL_IMPACT_PERCENTAGE",
];

/// The DIMENSION keys GroupBy accepts (doc §4), plus REGION (seen working in public code).
const GROUP_BY_DIMENSIONS: &[&str] = &[
    "AZ",
    "INSTANCE_TYPE",
    "LEGAL_ENTITY_NAME",
    "INVOICING_ENTITY",
    "LINKED_ACCOUNT",
    "OPERATION",
    "PLATFORM",
    "PURCHASE_TYPE",
    "SERVICE",
    "TENANCY",
    "RECORD_TYPE",
    "USAGE_TYPE",
    "REGION",
];

fn modelled_dim(key: &str) -> Option<Dim> {
    Some(match key {
        "SERVICE" => Dim::Service,
        "USAGE_TYPE" => Dim::UsageType,
        "RECORD_TYPE" => Dim::RecordType,
        "LINKED_ACCOUNT" => Dim::LinkedAccount,
        "REGION" => Dim::Region,
        "BILLING_ENTITY" => Dim::BillingEntity,
        _ => return None,
    })
}

fn not_modelled(what: &str, key: &str) -> AwsError {
    AwsError::validation(format!(
        "{what} '{key}' is valid in Cost Explorer but not modelled by this fake (it models \
         SERVICE, USAGE_TYPE, RECORD_TYPE, LINKED_ACCOUNT, REGION, BILLING_ENTITY, tags and the \
         Bedrock product attributes)"
    ))
}

fn dimension(key: &str, what: &str) -> Result<Dim, AwsError> {
    if let Some(d) = modelled_dim(key) {
        return Ok(d);
    }
    if DIMENSIONS.contains(&key) {
        return Err(not_modelled(what, key));
    }
    Err(AwsError::validation(format!(
        "1 validation error detected: Value '{key}' at '{what}' failed to satisfy constraint: \
         Member must satisfy enum value set: [{}]",
        DIMENSIONS.join(", ")
    )))
}

/// A Bedrock product attribute (doc §6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Attr {
    Provider,
    Model,
    InferenceType,
    Feature,
}

impl Attr {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Provider => "provider",
            Self::Model => "model",
            Self::InferenceType => "inferenceType",
            Self::Feature => "feature",
        }
    }

    fn parse(key: &str) -> Result<Self, AwsError> {
        Ok(match key {
            "provider" => Self::Provider,
            "model" => Self::Model,
            "inferenceType" => Self::InferenceType,
            "feature" => Self::Feature,
            other => {
                return Err(AwsError::validation(format!(
                    "Invalid product attribute key '{other}'; Bedrock product attributes are \
                     provider, model, inferenceType and feature"
                )));
            }
        })
    }
}

/// What a group is keyed by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum GroupKey {
    Dimension(Dim),
    /// Every resource is untagged: the key is `"<tag>$"`.
    Tag(String),
    ProductAttribute(Attr),
}

impl GroupKey {
    /// The `GroupDefinitions` entry.
    pub(crate) fn definition(&self) -> Value {
        let (kind, key) = match self {
            Self::Dimension(d) => ("DIMENSION", d.name().to_owned()),
            Self::Tag(t) => ("TAG", t.clone()),
            Self::ProductAttribute(a) => ("PRODUCT_ATTRIBUTE", a.name().to_owned()),
        };
        serde_json::json!({"Type": kind, "Key": key})
    }
}

/// A `Filter` expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Expr {
    And(Vec<Expr>),
    Or(Vec<Expr>),
    Not(Box<Expr>),
    Dimension {
        dim: Dim,
        values: Vec<String>,
    },
    /// Tags or cost categories: nothing is tagged or categorised, so only `ABSENT` matches.
    Untagged {
        absent_matches: bool,
    },
    ProductAttribute {
        attr: Attr,
        values: Vec<String>,
    },
}

impl Expr {
    fn mentions_service(&self) -> bool {
        match self {
            Self::And(list) | Self::Or(list) => list.iter().any(Self::mentions_service),
            Self::Not(inner) => inner.mentions_service(),
            Self::Dimension { dim, .. } => *dim == Dim::Service,
            Self::Untagged { .. } | Self::ProductAttribute { .. } => false,
        }
    }

    /// Does every row this expression admits pass a SERVICE filter (directly, or under `And`,
    /// or in every branch of an `Or`)?
    fn constrains_service(&self) -> bool {
        match self {
            Self::And(list) => list.iter().any(Self::constrains_service),
            Self::Or(list) => list.iter().all(Self::constrains_service),
            Self::Dimension { dim, .. } => *dim == Dim::Service,
            Self::Not(_) | Self::Untagged { .. } | Self::ProductAttribute { .. } => false,
        }
    }

    fn uses_product_attributes(&self) -> bool {
        match self {
            Self::And(list) | Self::Or(list) => list.iter().any(Self::uses_product_attributes),
            Self::Not(inner) => inner.uses_product_attributes(),
            Self::ProductAttribute { .. } => true,
            Self::Dimension { .. } | Self::Untagged { .. } => false,
        }
    }
}

/// A validated `TimePeriod`: Unix days, `end` exclusive.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Period {
    pub(crate) start: i64,
    pub(crate) end: i64,
}

#[derive(Debug, Clone)]
pub(crate) struct CostRequest {
    pub(crate) period: Period,
    pub(crate) granularity: Granularity,
    pub(crate) metrics: Vec<Metric>,
    pub(crate) group_by: Vec<GroupKey>,
    pub(crate) filter: Option<Expr>,
    pub(crate) next_page_token: Option<String>,
}

#[derive(Debug, Clone)]
pub(crate) struct DimensionRequest {
    pub(crate) period: Period,
    pub(crate) dim: Dim,
    pub(crate) search: Option<String>,
    pub(crate) filter: Option<Expr>,
    pub(crate) max_results: Option<u32>,
    pub(crate) next_page_token: Option<String>,
}

/// The day the product attributes start (doc §6).
const PRODUCT_ATTRIBUTES_FROM: Date = time::macros::date!(2026 - 09 - 01);

fn null_member(name: &str) -> AwsError {
    AwsError::validation(format!(
        "1 validation error detected: Value null at '{name}' failed to satisfy constraint: \
         Member must not be null"
    ))
}

fn object<'a>(value: &'a Value, name: &str) -> Result<&'a Map<String, Value>, AwsError> {
    value.as_object().ok_or_else(|| {
        AwsError::serialization(format!("Expected an object for '{name}', got {value}"))
    })
}

fn string<'a>(value: &'a Value, name: &str) -> Result<&'a str, AwsError> {
    value.as_str().ok_or_else(|| {
        AwsError::serialization(format!("Expected a string for '{name}', got {value}"))
    })
}

fn array<'a>(value: &'a Value, name: &str) -> Result<&'a Vec<Value>, AwsError> {
    value.as_array().ok_or_else(|| {
        AwsError::serialization(format!("Expected a list for '{name}', got {value}"))
    })
}

fn strings(value: &Value, name: &str) -> Result<Vec<String>, AwsError> {
    array(value, name)?
        .iter()
        .map(|v| string(v, name).map(str::to_owned))
        .collect()
}

/// `TimePeriod`, checked against the fake's `today` (a Unix day) and its 14 months of history.
fn time_period(
    body: &Map<String, Value>,
    granularity: Granularity,
    today: i64,
) -> Result<Period, AwsError> {
    let tp = body
        .get("TimePeriod")
        .ok_or_else(|| null_member("timePeriod"))?;
    let tp = object(tp, "TimePeriod")?;
    let date = |name: &str| -> Result<i64, AwsError> {
        let text = tp
            .get(name)
            .ok_or_else(|| null_member(&format!("timePeriod.{}", name.to_ascii_lowercase())))?;
        let text = string(text, name)?;
        let format = format_description!("[year]-[month]-[day]");
        let parsed = Date::parse(text, &format).map_err(|_| {
            AwsError::validation(format!(
                "{name} date '{text}' is invalid: use YYYY-MM-DD with DAILY and MONTHLY granularity"
            ))
        })?;
        Ok(unix_day(parsed))
    };
    let start = date("Start")?;
    let end = date("End")?;
    if start >= end {
        return Err(AwsError::validation(
            "Start date (and hour) should be before end date (and hour)",
        ));
    }
    if start > today {
        return Err(AwsError::validation(
            "Start date (and hour) should not be later than today: Cost Explorer has no data \
             for the future",
        ));
    }
    let oldest = oldest_day(today);
    if start < oldest {
        let what = match granularity {
            Granularity::Daily => "DAILY",
            Granularity::Monthly => "MONTHLY",
        };
        return Err(AwsError::validation(format!(
            "Start date is before the 14 months of history Cost Explorer keeps at {what} \
             granularity (the current month and the previous 13; multi-year data is not enabled)"
        )));
    }
    Ok(Period { start, end })
}

/// The first day of the month 13 months before `today`'s month.
pub(crate) fn oldest_day(today: i64) -> i64 {
    let Some(date) = crate::common::time_text::date_of(today) else {
        return today;
    };
    let months = date.year() * 12 + i32::from(u8::from(date.month())) - 1 - 13;
    let (year, month) = (months.div_euclid(12), months.rem_euclid(12) + 1);
    let month = u8::try_from(month)
        .ok()
        .and_then(|m| time::Month::try_from(m).ok());
    month
        .and_then(|m| Date::from_calendar_date(year, m, 1).ok())
        .map_or(today, unix_day)
}

fn optional_token(body: &Map<String, Value>) -> Result<Option<String>, AwsError> {
    body.get("NextPageToken")
        .filter(|v| !v.is_null())
        .map(|v| string(v, "NextPageToken").map(str::to_owned))
        .transpose()
}

fn match_options(expr: &Map<String, Value>, kind: &str) -> Result<Vec<String>, AwsError> {
    match expr.get("MatchOptions") {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(v) => strings(v, &format!("{kind}.MatchOptions")),
    }
}

/// One `Expression`.
fn expression(value: &Value, path: &str) -> Result<Expr, AwsError> {
    let map = object(value, path)?;
    let operators: Vec<(&String, &Value)> = map.iter().filter(|(_, v)| !v.is_null()).collect();
    let [(operator, operand)] = operators.as_slice() else {
        return Err(AwsError::validation(format!(
            "Expression at '{path}' must have exactly one root operator (And, Or, Not, \
             Dimensions, Tags, CostCategories or ProductAttributes); it has {}",
            operators.len()
        )));
    };
    let list = |name: &str| -> Result<Vec<Expr>, AwsError> {
        let items = array(operand, name)?;
        if items.len() < 2 {
            return Err(AwsError::validation(format!(
                "{name} at '{path}' needs at least two expressions"
            )));
        }
        items
            .iter()
            .enumerate()
            .map(|(i, e)| expression(e, &format!("{path}.{name}[{i}]")))
            .collect()
    };
    Ok(match operator.as_str() {
        "And" => Expr::And(list("And")?),
        "Or" => Expr::Or(list("Or")?),
        "Not" => Expr::Not(Box::new(expression(operand, &format!("{path}.Not"))?)),
        "Dimensions" => {
            let d = object(operand, "Dimensions")?;
            let key = string(
                d.get("Key").ok_or_else(|| null_member("Dimensions.Key"))?,
                "Key",
            )?;
            let dim = dimension(key, "Filter.Dimensions.Key")?;
            for option in match_options(d, "Dimensions")? {
                if option != "EQUALS" && option != "CASE_SENSITIVE" {
                    return Err(AwsError::validation(format!(
                        "MatchOptions for Dimensions can only be EQUALS or CASE_SENSITIVE; got \
                         {option}"
                    )));
                }
            }
            let values = match d.get("Values") {
                Some(v) if !v.is_null() => strings(v, "Dimensions.Values")?,
                _ => return Err(null_member("filter.dimensions.values")),
            };
            Expr::Dimension { dim, values }
        }
        "Tags" | "CostCategories" => {
            let t = object(operand, operator)?;
            if !t.get("Key").is_some_and(Value::is_string) {
                return Err(null_member(&format!("{operator}.Key")));
            }
            let absent_matches = match_options(t, operator)?.iter().any(|o| o == "ABSENT");
            Expr::Untagged { absent_matches }
        }
        "ProductAttributes" => {
            let p = object(operand, "ProductAttributes")?;
            let key = string(
                p.get("Key")
                    .ok_or_else(|| null_member("ProductAttributes.Key"))?,
                "Key",
            )?;
            let values = match p.get("Values") {
                Some(v) if !v.is_null() => strings(v, "ProductAttributes.Values")?,
                _ => return Err(null_member("filter.productAttributes.values")),
            };
            Expr::ProductAttribute {
                attr: Attr::parse(key)?,
                values,
            }
        }
        other => {
            return Err(AwsError::validation(format!(
                "Unknown operator '{other}' in the expression at '{path}'"
            )));
        }
    })
}

fn filter(body: &Map<String, Value>) -> Result<Option<Expr>, AwsError> {
    let Some(value) = body.get("Filter").filter(|v| !v.is_null()) else {
        return Ok(None);
    };
    let expr = expression(value, "Filter")?;
    check_service_filter(&expr)?;
    Ok(Some(expr))
}

/// §4: a SERVICE filter inside `Not` is a ValidationException, and one must cover the whole
/// request (under `And`, or in every `Or` branch).
fn check_service_filter(expr: &Expr) -> Result<(), AwsError> {
    match expr {
        Expr::Not(inner) if inner.mentions_service() => Err(AwsError::validation(
            "SERVICE dimension filters cannot be used with the Not operator. Use a SERVICE \
             filter under And, or in every branch of an Or",
        )),
        Expr::Or(branches)
            if expr.mentions_service() && !branches.iter().all(Expr::constrains_service) =>
        {
            Err(AwsError::validation(
                "A SERVICE dimension filter must apply to the whole request: repeat it in every \
                 branch of the Or, or put it under And",
            ))
        }
        Expr::And(list) | Expr::Or(list) => list.iter().try_for_each(check_service_filter),
        Expr::Not(inner) => check_service_filter(inner),
        Expr::Dimension { .. } | Expr::Untagged { .. } | Expr::ProductAttribute { .. } => Ok(()),
    }
}

fn product_attributes_available(period: Period, uses: bool) -> Result<(), AwsError> {
    if uses && period.start < unix_day(PRODUCT_ATTRIBUTES_FROM) {
        return Err(AwsError::data_unavailable(
            "Product attribute data is only available for time periods that start on or after \
             2026-09-01",
        ));
    }
    Ok(())
}

pub(crate) fn cost_request(body: &Value, today: i64) -> Result<CostRequest, AwsError> {
    let body = object(body, "request")?;
    let granularity = match body.get("Granularity").filter(|v| !v.is_null()) {
        None => return Err(null_member("granularity")),
        Some(v) => match string(v, "Granularity")? {
            "DAILY" => Granularity::Daily,
            "MONTHLY" => Granularity::Monthly,
            "HOURLY" => {
                return Err(AwsError::validation(
                    "Hourly granularity is not enabled for this account: it is a paid opt-in \
                     in Cost Management preferences",
                ));
            }
            other => {
                return Err(AwsError::validation(format!(
                    "1 validation error detected: Value '{other}' at 'granularity' failed to \
                     satisfy constraint: Member must satisfy enum value set: [DAILY, MONTHLY, \
                     HOURLY]"
                )));
            }
        },
    };
    let period = time_period(body, granularity, today)?;
    let metrics = match body.get("Metrics").filter(|v| !v.is_null()) {
        None => return Err(null_member("metrics")),
        Some(v) => strings(v, "Metrics")?,
    };
    if metrics.is_empty() {
        return Err(AwsError::validation(
            "Metrics must name at least one metric",
        ));
    }
    let metrics = metrics
        .iter()
        .map(|m| {
            Metric::parse(m).ok_or_else(|| {
                AwsError::validation(format!(
                    "Invalid metric '{m}': use one of AmortizedCost, BlendedCost, \
                     NetAmortizedCost, NetUnblendedCost, NormalizedUsageAmount, UnblendedCost, \
                     UsageQuantity"
                ))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut group_by = Vec::new();
    if let Some(v) = body.get("GroupBy").filter(|v| !v.is_null()) {
        let entries = array(v, "GroupBy")?;
        if entries.len() > 2 {
            return Err(AwsError::validation(format!(
                "GroupBy can have at most 2 entries; got {}",
                entries.len()
            )));
        }
        for entry in entries {
            let entry = object(entry, "GroupBy")?;
            let kind = entry.get("Type").and_then(Value::as_str);
            let key = entry.get("Key").and_then(Value::as_str);
            let (Some(kind), Some(key)) = (kind, key) else {
                return Err(AwsError::validation(
                    "Each GroupBy entry needs a Type and a Key",
                ));
            };
            let group = match kind {
                "DIMENSION" => {
                    if !GROUP_BY_DIMENSIONS.contains(&key) {
                        return Err(AwsError::validation(format!(
                            "Group Definition dimension is invalid. Valid values are AZ, \
                             INSTANCE_TYPE, LEGAL_ENTITY_NAME, INVOICING_ENTITY, LINKED_ACCOUNT, \
                             OPERATION, PLATFORM, PURCHASE_TYPE, SERVICE, TENANCY, RECORD_TYPE, \
                             and USAGE_TYPE; got {key}"
                        )));
                    }
                    GroupKey::Dimension(dimension(key, "GroupBy.Key")?)
                }
                "TAG" => GroupKey::Tag(key.to_owned()),
                "PRODUCT_ATTRIBUTE" => GroupKey::ProductAttribute(Attr::parse(key)?),
                "COST_CATEGORY" => return Err(not_modelled("GroupBy type", "COST_CATEGORY")),
                other => {
                    return Err(AwsError::validation(format!(
                        "1 validation error detected: Value '{other}' at 'groupBy.type' failed \
                         to satisfy constraint: Member must satisfy enum value set: [DIMENSION, \
                         TAG, COST_CATEGORY, PRODUCT_ATTRIBUTE]"
                    )));
                }
            };
            if group_by.contains(&group) {
                return Err(AwsError::validation("GroupBy entries must be distinct"));
            }
            group_by.push(group);
        }
    }
    let filter = filter(body)?;
    let uses_attributes = group_by
        .iter()
        .any(|g| matches!(g, GroupKey::ProductAttribute(_)))
        || filter.as_ref().is_some_and(Expr::uses_product_attributes);
    product_attributes_available(period, uses_attributes)?;
    if body.get("BillingViewArn").is_some_and(|v| !v.is_null()) {
        return Err(AwsError::new(
            "ResourceNotFoundException",
            "The billing view was not found: this account has no custom billing views",
        ));
    }
    Ok(CostRequest {
        period,
        granularity,
        metrics,
        group_by,
        filter,
        next_page_token: optional_token(body)?,
    })
}

pub(crate) fn dimension_request(body: &Value, today: i64) -> Result<DimensionRequest, AwsError> {
    let body = object(body, "request")?;
    let period = time_period(body, Granularity::Daily, today)?;
    let dim = match body.get("Dimension").filter(|v| !v.is_null()) {
        None => return Err(null_member("dimension")),
        Some(v) => dimension(string(v, "Dimension")?, "dimension")?,
    };
    if let Some(context) = body.get("Context").and_then(Value::as_str)
        && context != "COST_AND_USAGE"
    {
        return Err(not_modelled("Context", context));
    }
    let search = body
        .get("SearchString")
        .filter(|v| !v.is_null())
        .map(|v| string(v, "SearchString").map(str::to_owned))
        .transpose()?;
    let max_results = match body.get("MaxResults").filter(|v| !v.is_null()) {
        None => None,
        Some(v) => match v.as_u64() {
            Some(n @ 1..=10_000) => Some(n as u32),
            _ => {
                return Err(AwsError::validation(format!(
                    "MaxResults must be an integer from 1 to 10000; got {v}"
                )));
            }
        },
    };
    let filter = filter(body)?;
    product_attributes_available(
        period,
        filter.as_ref().is_some_and(Expr::uses_product_attributes),
    )?;
    Ok(DimensionRequest {
        period,
        dim,
        search,
        filter,
        max_results,
        next_page_token: optional_token(body)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use time::macros::date;

    fn today() -> i64 {
        unix_day(date!(2025 - 06 - 30))
    }

    fn base() -> Value {
        json!({"TimePeriod": {"Start": "2025-06-01", "End": "2025-06-08"}, "Granularity": "DAILY",
               "Metrics": ["UnblendedCost"]})
    }

    fn with(key: &str, value: Value) -> Value {
        let mut b = base();
        b[key] = value;
        b
    }

    fn error_type(body: &Value) -> String {
        cost_request(body, today())
            .unwrap_err()
            .error_type
            .to_owned()
    }

    #[test]
    fn a_plain_request_is_accepted() {
        let r = cost_request(&base(), today()).unwrap();
        assert_eq!(r.period.end - r.period.start, 7);
        assert_eq!(r.metrics, vec![Metric::UnblendedCost]);
    }

    #[test]
    fn bad_periods_are_validation_errors() {
        let bad = [
            json!({"Start": "2025-06-08", "End": "2025-06-01"}),
            json!({"Start": "2025-06-01", "End": "2025-06-01"}),
            json!({"Start": "2025/06/01", "End": "2025-06-08"}),
            json!({"Start": "2025-07-01", "End": "2025-07-08"}),
            json!({"Start": "2024-01-01", "End": "2024-02-01"}),
        ];
        for tp in bad {
            assert_eq!(error_type(&with("TimePeriod", tp)), "ValidationException");
        }
        assert_eq!(oldest_day(today()), unix_day(date!(2024 - 05 - 01)));
    }

    #[test]
    fn group_by_takes_at_most_two_keys() {
        let three = json!([{"Type":"DIMENSION","Key":"SERVICE"},{"Type":"DIMENSION","Key":"USAGE_TYPE"},
                           {"Type":"DIMENSION","Key":"RECORD_TYPE"}]);
        assert_eq!(error_type(&with("GroupBy", three)), "ValidationException");
        let bad = json!([{"Type":"DIMENSION","Key":"BILLING_ENTITY"}]);
        assert_eq!(error_type(&with("GroupBy", bad)), "ValidationException");
    }

    #[test]
    fn service_filters_must_cover_the_request() {
        let svc = json!({"Dimensions": {"Key": "SERVICE", "Values": ["Amazon Bedrock"]}});
        let rec = json!({"Dimensions": {"Key": "RECORD_TYPE", "Values": ["Credit"]}});
        assert_eq!(
            error_type(&with("Filter", json!({"Not": svc}))),
            "ValidationException"
        );
        assert_eq!(
            error_type(&with("Filter", json!({"Or": [svc, rec]}))),
            "ValidationException"
        );
        let ok = with("Filter", json!({"And": [svc, {"Not": rec}]}));
        assert!(cost_request(&ok, today()).is_ok());
        let two_roots = with(
            "Filter",
            json!({"Dimensions": {"Key": "SERVICE", "Values": []}, "Not": rec}),
        );
        assert_eq!(error_type(&two_roots), "ValidationException");
        let contains = with(
            "Filter",
            json!({"Dimensions": {"Key": "SERVICE", "Values": ["x"], "MatchOptions": ["CONTAINS"]}}),
        );
        assert_eq!(error_type(&contains), "ValidationException");
    }

    #[test]
    fn product_attributes_need_recent_periods() {
        let g = json!([{"Type":"PRODUCT_ATTRIBUTE","Key":"model"}]);
        assert_eq!(error_type(&with("GroupBy", g)), "DataUnavailableException");
    }
}
