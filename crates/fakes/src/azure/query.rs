//! The Azure fake's check of a `QueryDefinition` (shared/providers/azure-openai.md §5), as the
//! service validates it: required fields, `Custom` needs `timePeriod`, at most 2 aggregations
//! (`Sum` only) and 2 groupings (no duplicates, none also aggregated), `and`/`or` with at least
//! 2 children, plural `dimensions`/`tags` leaves with operator `In` and at least one value.
//! Daily queries span at most 31 days (the doc's cap; longer ones are refused here rather than
//! silently truncated). Only `ResourceType` filters are applied to the data (top level or inside
//! `and`); any other valid filter is accepted and ignored.

use serde_json::{Map, Value};
use time::Date;

use crate::common::time_text::{date_of, unix_day};

const SOURCES: [&str; 5] = [
    "cost",
    "costusd",
    "pretaxcost",
    "pretaxcostusd",
    "usagequantity",
];

/// A validated query.
#[derive(Debug)]
pub(crate) struct Query {
    /// Unix days, inclusive.
    pub(crate) from: i64,
    pub(crate) to: i64,
    pub(crate) daily: bool,
    /// Source columns, lower-case, in the body's order.
    pub(crate) aggregation: Vec<String>,
    /// The same, as the body spelled them (the answer's column names).
    pub(crate) aggregation_names: Vec<String>,
    pub(crate) grouping: Vec<String>,
    pub(crate) grouping_names: Vec<String>,
    /// `ResourceType` values to keep (lower-case); `None`: all.
    pub(crate) resource_types: Option<Vec<String>>,
}

fn day_of(text: &str) -> Option<i64> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(text.get(..10)?, &format).ok().map(unix_day)
}

pub(crate) fn parse_query(body: &str, today: i64) -> Result<Query, String> {
    let value: Value = serde_json::from_str(body)
        .map_err(|e| format!("The request body is not valid JSON: {e}"))?;
    let Value::Object(body) = value else {
        return Err("The request body must be a QueryDefinition object.".to_owned());
    };
    let kind = body.get("type").and_then(Value::as_str).unwrap_or("");
    if !["Usage", "ActualCost", "AmortizedCost"].contains(&kind) {
        return Err(format!(
            "Invalid query type '{kind}'. Allowed: Usage, ActualCost, AmortizedCost."
        ));
    }
    let timeframe = body.get("timeframe").and_then(Value::as_str).unwrap_or("");
    let (from, to) = match timeframe {
        "Custom" => {
            let period = body
                .get("timePeriod")
                .and_then(Value::as_object)
                .ok_or("timePeriod is required when timeframe is Custom.")?;
            let read = |field: &str| {
                period
                    .get(field)
                    .and_then(Value::as_str)
                    .and_then(day_of)
                    .ok_or_else(|| format!("timePeriod.{field} must be a date-time."))
            };
            (read("from")?, read("to")?)
        }
        "MonthToDate" | "BillingMonthToDate" => {
            let date = date_of(today).unwrap_or(Date::MIN);
            (today - i64::from(date.day()) + 1, today)
        }
        other => {
            return Err(format!(
                "Invalid timeframe '{other}'. Allowed: MonthToDate, BillingMonthToDate, TheLastMonth, TheLastBillingMonth, WeekToDate, Custom."
            ));
        }
    };
    if to < from {
        return Err("timePeriod.to must not be before timePeriod.from.".to_owned());
    }
    let dataset = body
        .get("dataset")
        .and_then(Value::as_object)
        .ok_or("dataset is required.")?;
    let daily = match dataset.get("granularity").and_then(Value::as_str) {
        Some("Daily") => true,
        None | Some("None") => false,
        Some(other) => return Err(format!("Invalid granularity '{other}'.")),
    };
    if daily && to - from + 1 > 31 {
        return Err("Daily granularity supports at most 31 days per query.".to_owned());
    }
    let mut aggregation = Vec::new();
    let mut aggregation_names = Vec::new();
    if let Some(map) = dataset.get("aggregation").and_then(Value::as_object) {
        if map.len() > 2 {
            return Err("At most 2 aggregations are allowed.".to_owned());
        }
        for (alias, spec) in map {
            let name = spec.get("name").and_then(Value::as_str).unwrap_or("");
            if spec.get("function").and_then(Value::as_str) != Some("Sum") {
                return Err(format!("Aggregation '{alias}': function must be Sum."));
            }
            if !SOURCES.contains(&name.to_ascii_lowercase().as_str()) {
                return Err(format!("Aggregation '{alias}': unknown column '{name}'."));
            }
            aggregation.push(name.to_ascii_lowercase());
            aggregation_names.push(name.to_owned());
        }
    }
    let mut grouping = Vec::new();
    let mut grouping_names = Vec::new();
    if let Some(list) = dataset.get("grouping").and_then(Value::as_array) {
        if list.len() > 2 {
            return Err("At most 2 groupings are allowed.".to_owned());
        }
        for item in list {
            let kind = item.get("type").and_then(Value::as_str).unwrap_or("");
            let name = item.get("name").and_then(Value::as_str).unwrap_or("");
            if kind != "Dimension" && kind != "TagKey" {
                return Err(format!(
                    "Grouping '{name}': type must be Dimension or TagKey."
                ));
            }
            let lower = name.to_ascii_lowercase();
            if grouping.contains(&lower) {
                return Err(format!("Grouping '{name}' is given twice."));
            }
            if aggregation.contains(&lower) {
                return Err(format!("'{name}' cannot be both grouped and aggregated."));
            }
            grouping.push(lower);
            grouping_names.push(name.to_owned());
        }
    }
    let mut resource_types = None;
    if let Some(filter) = dataset.get("filter") {
        check_filter(filter, true, &mut resource_types)?;
    }
    Ok(Query {
        from,
        to,
        daily,
        aggregation,
        aggregation_names,
        grouping,
        grouping_names,
        resource_types,
    })
}

fn check_filter(
    filter: &Value,
    applied: bool,
    resource_types: &mut Option<Vec<String>>,
) -> Result<(), String> {
    let Value::Object(map) = filter else {
        return Err("filter must be an object.".to_owned());
    };
    if map.contains_key("dimension") || map.contains_key("tag") {
        return Err("Invalid filter: use 'dimensions' and 'tags' (plural).".to_owned());
    }
    for (key, applies) in [("and", applied), ("or", false)] {
        if let Some(children) = map.get(key) {
            let children = children
                .as_array()
                .ok_or(format!("filter.{key} must be a list."))?;
            if children.len() < 2 {
                return Err(format!("filter.{key} needs at least 2 expressions."));
            }
            for child in children {
                check_filter(child, applies, resource_types)?;
            }
        }
    }
    for key in ["dimensions", "tags"] {
        if let Some(leaf) = map.get(key).and_then(Value::as_object) {
            let (name, values) = leaf_of(leaf, key)?;
            if applied && key == "dimensions" && name.eq_ignore_ascii_case("ResourceType") {
                *resource_types = Some(values);
            }
        }
    }
    Ok(())
}

fn leaf_of(leaf: &Map<String, Value>, key: &str) -> Result<(String, Vec<String>), String> {
    let name = leaf.get("name").and_then(Value::as_str).unwrap_or("");
    if name.is_empty() {
        return Err(format!("filter.{key}.name is required."));
    }
    if leaf.get("operator").and_then(Value::as_str) != Some("In") {
        return Err(format!("filter.{key}.operator must be In."));
    }
    let values: Vec<String> = leaf
        .get("values")
        .and_then(Value::as_array)
        .map(|v| {
            v.iter()
                .filter_map(Value::as_str)
                .map(str::to_ascii_lowercase)
                .collect()
        })
        .unwrap_or_default();
    if values.is_empty() {
        return Err(format!("filter.{key}.values needs at least one value."));
    }
    Ok((name.to_owned(), values))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_service_s_rules_are_checked() {
        let ok = r#"{"type":"AmortizedCost","timeframe":"Custom","timePeriod":{"from":"2026-01-01T00:00:00Z","to":"2026-01-31T23:59:59Z"},
            "dataset":{"granularity":"Daily","aggregation":{"a":{"name":"Cost","function":"Sum"}},"grouping":[{"type":"Dimension","name":"Meter"}],
            "filter":{"dimensions":{"name":"ResourceType","operator":"In","values":["microsoft.cognitiveservices/accounts"]}}}}"#;
        let q = parse_query(ok, 0).unwrap();
        assert_eq!(q.to - q.from, 30);
        assert_eq!(
            q.resource_types.unwrap(),
            vec!["microsoft.cognitiveservices/accounts"]
        );
        for (bad, says) in [
            (ok.replace("\"Custom\"", "\"Yesterday\""), "timeframe"),
            (ok.replace("dimensions", "dimension"), "plural"),
            (ok.replace("Sum", "Avg"), "Sum"),
            (ok.replace("2026-01-31", "2026-02-15"), "31 days"),
            (
                ok.replace("\"name\":\"Meter\"", "\"name\":\"Cost\""),
                "both grouped",
            ),
        ] {
            let err = parse_query(&bad, 0).unwrap_err();
            assert!(err.contains(says), "{err}");
        }
    }
}
