//! `jobs.query` (doc §3, §8): the fake does not run SQL. It checks that the request is the
//! document's §8 query — or one equivalent to it — and answers it from its own hourly rows.
//!
//! Checks, in order: the URL's project is the billing project (else 403 `accessDenied`, no
//! `bigquery.jobs.create`); a JSON body with `query`; `useLegacySql: false` (it defaults to
//! true; else 400 `invalidQuery`); `location`, if sent, the dataset's (else 404 `notFound`); the
//! SQL names a table in backticks — the configured export table (a 2-part `dataset.table` is
//! read in the URL's project), another existing `gcp_billing_export_v1_*` table (which has no
//! AI rows: an empty result), or else 404 `notFound` for the dataset or table, 403
//! `accessDenied` in the access-denied scenario; the **double-count trap**: `FROM <table>,
//! UNNEST(credits)` or `JOIN UNNEST(credits)` while summing `cost` is refused with 400
//! `invalidQuery` saying why (§7); the SELECT list produces the 13 columns of §8 and
//! `conversion_rate`; the WHERE
//! clause has `usage_start_time >= @start` and `usage_start_time < @end`; `parameterMode`
//! `NAMED`; parameters `start` and `end` of type TIMESTAMP and, when the SQL uses `@services`,
//! `services` of type `ARRAY<STRING>` (matched against `service.id` when the SQL says
//! `service.id IN UNNEST(@services)`, else `service.description`); no other parameters; and
//! the partition filter (see the `partition` module: a partitioned table must be pruned);
//! `maximumBytesBilled`, if sent, at least the bytes the query would process (else 400
//! `bytesBilledLimitExceeded`; bytes are the rows of the partitions read).
//!
//! The answer: rows grouped by (UTC date of `usage_start_time`, service, SKU, project id or
//! `""`, currency, `cost_type`) for `start <= usage_start_time < end`, ordered by those keys,
//! with `currency_conversion_rate` as a last column `conversion_rate` (the §5 column, which §7
//! divides by for USD); every
//! cell a STRING as in the §8 response: `cost`, `credits` and `promo_credits` as exact NUMERIC
//! text (`"0.3188"`, `"-0.3188"`, `"0"`); `pricing_qty` as FLOAT text, in exponent form below
//! 10^-4 (`"3.7E-5"`, the document's `"1.0E-5"` shape); NULL (`{"v": null}`) `pricing_qty` and
//! `pricing_unit` where `usage` is NULL (the tax rows). A query that also selects
//! `invoice.month AS invoice_month` is grouped by it too and gets it as a last column (`YYYYMM`,
//! the month the row was loaded in). The service discovery query (`SELECT DISTINCT` services
//! with `transaction_type` and `seller_name`, doc §6) is answered by the `services` module.

use std::collections::BTreeMap;

use serde_json::{Map, Value};
use time::{Date, Month, PrimitiveDateTime, Time};

use super::catalog::{CostType, SERVICES, Service, sku_of};
use super::data::{Data, Row};
use super::http::{ServerState, access_denied, invalid, not_found};
use super::jobs::{self, Job};
use super::partition::{self, Partitions};
use super::{Config, ExportTables};
use crate::common::respond::{ApiError, Prepared};
use crate::common::time_text::date_of;

/// The columns of the §8 query, in order.
pub(crate) const COLUMNS: [&str; 14] = [
    "usage_date",
    "service_id",
    "service",
    "sku_id",
    "sku",
    "project_id",
    "currency",
    "cost_type",
    "cost",
    "credits",
    "promo_credits",
    "pricing_qty",
    "pricing_unit",
    "conversion_rate",
];

/// The output columns: the §8 ones, and `invoice_month` when the query groups by it.
pub(crate) fn columns(by_invoice: bool) -> Vec<&'static str> {
    let mut columns = COLUMNS.to_vec();
    if by_invoice {
        columns.push("invoice_month");
    }
    columns
}

/// Whether the SELECT list has `invoice_month`, and then that it is `invoice.month`.
fn invoice_month_selected(sql: &str) -> Result<bool, ApiError> {
    let main_from = sql.rfind(" from `").unwrap_or(sql.len());
    if !has_word(&sql[..main_from], "invoice_month") {
        return Ok(false);
    }
    if !sql.contains("invoice.month") {
        return Err(invalid_query(
            "spendlens fake: invoice_month must be the export's invoice.month (doc §5)",
        ));
    }
    if !has_word(&sql[main_from..], "invoice_month") {
        return Err(invalid_query(
            "SELECT list expression references invoice.month which is neither grouped nor \
             aggregated",
        ));
    }
    Ok(true)
}

/// One output row: a cell per column, `None` for NULL.
pub(crate) type Cells = Vec<Option<String>>;

/// How `@services` is matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ServiceFilter {
    All,
    Descriptions(Vec<String>),
    Ids(Vec<String>),
}

impl ServiceFilter {
    /// Whether a row of `service` dated `day` (data up to `last_day`) passes: by description,
    /// the name the row carries (a renamed service's older rows carry the former name).
    fn admits(&self, service: &Service, day: i64, last_day: i64) -> bool {
        match self {
            Self::All => true,
            Self::Descriptions(list) => list
                .iter()
                .any(|d| d == service.description_on(day, last_day)),
            Self::Ids(list) => list.iter().any(|d| d == service.id),
        }
    }
}

/// Sums of one output row.
#[derive(Debug, Clone, Default)]
pub(crate) struct Sums {
    pub(crate) cost: i128,
    pub(crate) credits: i128,
    pub(crate) promo: i128,
    /// Σ `amount_in_pricing_units` in 10^-9 units; `None` while every `usage` was NULL.
    pub(crate) quantity: Option<i128>,
    pub(crate) unit: Option<&'static str>,
}

/// The grouping key of the §8 query.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Key {
    pub(crate) day: i64,
    pub(crate) service: &'static str,
    pub(crate) sku: u8,
    pub(crate) project_id: &'static str,
    pub(crate) cost_type: CostType,
    /// `invoice.month` (`YYYYMM`) when the query groups by it, else 0.
    pub(crate) invoice_month: u32,
}

/// The §8 aggregation over `[start, end)` (microseconds since the epoch).
pub(crate) fn aggregate(
    data: &Data,
    start_micros: i128,
    end_micros: i128,
    services: &ServiceFilter,
    partitions: Option<&Partitions>,
    by_invoice: bool,
) -> BTreeMap<Key, Sums> {
    let mut groups: BTreeMap<Key, Sums> = BTreeMap::new();
    if end_micros <= start_micros {
        return groups;
    }
    let day_of = |micros: i128| i64::try_from(micros.div_euclid(86_400_000_000)).unwrap_or(0);
    for row in data.rows.between(day_of(start_micros), day_of(end_micros)) {
        let at = i128::from(row.hour) * 3_600_000_000;
        if at < start_micros || at >= end_micros {
            continue;
        }
        if partitions.is_some_and(|p| !p.admits(row.partition_day())) {
            continue;
        }
        let sku = sku_of(row.sku);
        if !services.admits(&sku.service, row.day(), data.last_day) {
            continue;
        }
        let key = Key {
            day: row.day(),
            service: sku.service.id,
            sku: row.sku,
            project_id: project_id(row),
            cost_type: row.cost_type,
            invoice_month: if by_invoice { row.invoice_month() } else { 0 },
        };
        add(groups.entry(key).or_default(), row);
    }
    groups
}

fn project_id(row: &Row) -> &'static str {
    row.project
        .and_then(|p| super::catalog::PROJECTS.get(usize::from(p)))
        .map_or("", |p| p.id)
}

fn add(sums: &mut Sums, row: &Row) {
    sums.cost += i128::from(row.cost);
    sums.credits += i128::from(row.credits());
    sums.promo += i128::from(row.promotion);
    if let Some(q) = row.quantity {
        let sku = sku_of(row.sku);
        let nanos = i128::from(q) * 10i128.pow(9 - sku.quantity_scale.min(9));
        *sums.quantity.get_or_insert(0) += nanos;
        sums.unit = Some(sku.pricing_unit);
    }
}

/// NUMERIC text: exact, trailing zeros trimmed, `"0"` for zero.
pub(crate) fn numeric(nanos: i128) -> String {
    let sign = if nanos < 0 { "-" } else { "" };
    let magnitude = nanos.unsigned_abs();
    let (whole, fraction) = (magnitude / 1_000_000_000, magnitude % 1_000_000_000);
    if fraction == 0 {
        return format!("{sign}{whole}");
    }
    let digits = format!("{fraction:09}");
    format!("{sign}{whole}.{}", digits.trim_end_matches('0'))
}

/// FLOAT text: plain at 10^-4 and above (`"2125333"`, `"0.025"`), exponent form below
/// (`"3.7E-5"`, `"1.0E-5"`).
pub(crate) fn float_text(nanos: i128) -> String {
    if nanos == 0 || nanos.unsigned_abs() >= 100_000 {
        return numeric(nanos);
    }
    let sign = if nanos < 0 { "-" } else { "" };
    let digits = nanos.unsigned_abs().to_string();
    let exponent = digits.len() as i64 - 1 - 9;
    let digits = digits.trim_end_matches('0');
    let (first, rest) = digits.split_at(1);
    let rest = if rest.is_empty() { "0" } else { rest };
    format!("{sign}{first}.{rest}E{exponent}")
}

/// The `service.description` of service `id` on `day` (data up to `last_day`).
pub(crate) fn service_description(id: &str, day: i64, last_day: i64) -> &'static str {
    SERVICES
        .iter()
        .find(|s| s.id == id)
        .map_or("", |s| s.description_on(day, last_day))
}

/// The output cells of one group (data up to `last_day`).
pub(crate) fn cells(
    key: &Key,
    sums: &Sums,
    currency: &str,
    rate_micros: u64,
    last_day: i64,
) -> Cells {
    let sku = sku_of(key.sku);
    let date = date_of(key.day).map(|d| d.to_string()).unwrap_or_default();
    let mut cells: Cells = vec![
        Some(date),
        Some(key.service.to_owned()),
        Some(service_description(key.service, key.day, last_day).to_owned()),
        Some(sku.id.to_owned()),
        Some(sku.description.to_owned()),
        Some(key.project_id.to_owned()),
        Some(currency.to_owned()),
        Some(key.cost_type.name().to_owned()),
        Some(numeric(sums.cost)),
        Some(numeric(sums.credits)),
        Some(numeric(sums.promo)),
        sums.quantity.map(float_text),
        sums.unit.map(str::to_owned),
        // FLOAT64 cast to STRING: the shortest text that reads back as the same number.
        Some(numeric(i128::from(rate_micros) * 1_000)),
    ];
    if key.invoice_month != 0 {
        cells.push(Some(format!("{:06}", key.invoice_month)));
    }
    cells
}

/// SQL with runs of whitespace as one space and `` `a`.`b` `` joined to `` `a.b` ``; case is
/// kept (table names are case-sensitive).
fn normalize(sql: &str) -> String {
    let joined = sql.split_whitespace().collect::<Vec<_>>().join(" ");
    joined.replace("`.`", ".")
}

/// Is `word` in `text` as a whole identifier?
pub(crate) fn has_word(text: &str, word: &str) -> bool {
    let is_ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    text.match_indices(word).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + word.len()..].chars().next();
        !before.is_some_and(is_ident) && !after.is_some_and(is_ident)
    })
}

/// Which table the SQL reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    /// The export table with the data.
    Billing,
    /// Another billing export table in the dataset: no AI rows.
    Empty,
}

fn invalid_query(message: impl Into<String>) -> ApiError {
    invalid("invalidQuery", message)
}

/// Finds the backticked table reference and resolves it; returns it with its byte position
/// (in the normalized SQL) just after the closing backtick.
fn resolve_table(config: &Config, project: &str, sql: &str) -> Result<(Target, usize), ApiError> {
    let mut references = Vec::new();
    let mut rest = sql;
    let mut offset = 0;
    while let Some(open) = rest.find('`') {
        let after = &rest[open + 1..];
        let Some(close) = after.find('`') else {
            return Err(invalid_query("Syntax error: Unclosed identifier literal"));
        };
        references.push((after[..close].to_owned(), offset + open + 1 + close + 1));
        offset += open + 1 + close + 1;
        rest = &after[close + 1..];
    }
    let Some((name, end)) = references.into_iter().find(|(n, _)| n.contains('.')) else {
        return Err(invalid_query(format!(
            "spendlens fake: the SQL must name the billing export table between backticks, \
             e.g. `{}.{}.{}` (table names cannot be query parameters)",
            config.project, config.dataset, config.table
        )));
    };
    let parts: Vec<&str> = name.split('.').collect();
    let (p, d, t) = match parts.as_slice() {
        [p, d, t] => ((*p).to_owned(), *d, *t),
        [d, t] => (project.to_owned(), *d, *t),
        _ => return Err(invalid_query(format!("Invalid table name: `{name}`"))),
    };
    let location = &config.location;
    if p != config.project {
        return Err(access_denied(format!(
            "Access Denied: Project {p}: User does not have permission to query tables in \
             project {p}."
        )));
    }
    let dataset_exists = config.export_tables != ExportTables::NoDatasets && d == config.dataset;
    if !dataset_exists {
        return Err(not_found(format!(
            "Not found: Dataset {}:{d} was not found in location {location}",
            config.project
        )));
    }
    let table_not_found = || {
        not_found(format!(
            "Not found: Table {}:{}.{t} was not found in location {location}",
            config.project, config.dataset
        ))
    };
    let target = if t == config.table
        && matches!(config.export_tables, ExportTables::One | ExportTables::Two)
    {
        Target::Billing
    } else if config.export_tables == ExportTables::Two && t == config.second_table {
        Target::Empty
    } else {
        return Err(table_not_found());
    };
    if config.access_denied {
        return Err(access_denied(format!(
            "Access Denied: Table {}:{}.{t}: User does not have permission to query table \
             {}:{}.{t}, or perhaps it does not exist.",
            config.project, config.dataset, config.project, config.dataset
        )));
    }
    Ok((target, end))
}

/// §7: `FROM t, UNNEST(credits)` (or a JOIN on it) repeats `cost` once per credit. `sql` is
/// lower-case; `after` the lower-case text after the table reference.
fn check_double_count(sql: &str, after: &str) -> Result<(), ApiError> {
    let from_clause = [" where ", " group by ", " order by ", " limit "]
        .iter()
        .filter_map(|stop| after.find(stop))
        .min()
        .map_or(after, |end| &after[..end]);
    let joins_credits = from_clause.contains("unnest(")
        && (from_clause.trim_start().starts_with(',')
            || from_clause
                .split(',')
                .skip(1)
                .any(|part| part.trim_start().starts_with("unnest("))
            || from_clause.contains("join unnest("));
    let sums_cost = sql.match_indices("sum(").any(|(i, _)| {
        let argument: String = sql[i + 4..].chars().take(60).collect();
        let argument = argument.split(')').next().unwrap_or("");
        has_word(argument, "cost")
    });
    if joins_credits && sums_cost {
        return Err(invalid_query(
            "spendlens fake: this query joins UNNEST(credits) to the billing export table while \
             summing cost, so cost is repeated once per credit and double-counted. Aggregate \
             credits in a correlated subquery instead: (SELECT SUM(c.amount) FROM \
             UNNEST(credits) c).",
        ));
    }
    Ok(())
}

/// The SELECT list must produce the §8 columns; the WHERE clause the §8 window.
fn check_shape(sql: &str) -> Result<(), ApiError> {
    let main_from = sql.rfind(" from `").unwrap_or(sql.len());
    let select = &sql[..main_from];
    let missing: Vec<&str> = COLUMNS
        .iter()
        .copied()
        .filter(|c| !has_word(select, c))
        .collect();
    if !missing.is_empty() {
        return Err(invalid_query(format!(
            "spendlens fake: the fake answers the §8 query shape only; the SELECT list must \
             produce the columns {}; missing: {}",
            COLUMNS.join(", "),
            missing.join(", ")
        )));
    }
    for predicate in ["usage_start_time >= @start", "usage_start_time < @end"] {
        if !sql.contains(predicate) {
            return Err(invalid_query(format!(
                "spendlens fake: the WHERE clause must select the window with `{predicate}` \
                 (half-open: start inclusive, end exclusive)"
            )));
        }
    }
    Ok(())
}

/// A BigQuery TIMESTAMP literal: `YYYY-MM-DD[( |T)HH:MM:SS[.ffffff]][ ][zone]` with zone `Z`,
/// `UTC`, `+HH`, `+HH:MM` (or `-`); no zone means UTC. Microseconds since the epoch.
pub(crate) fn parse_timestamp(text: &str) -> Option<i128> {
    let text = text.trim();
    let date_part = text.get(..10)?;
    let mut fields = date_part.split('-');
    let year: i32 = fields.next()?.parse().ok()?;
    let month: u8 = fields.next()?.parse().ok()?;
    let day: u8 = fields.next()?.parse().ok()?;
    let date = Date::from_calendar_date(year, Month::try_from(month).ok()?, day).ok()?;
    let mut rest = &text[10..];
    let mut time = Time::MIDNIGHT;
    if let Some(r) = rest.strip_prefix(' ').or_else(|| rest.strip_prefix('T'))
        && r.len() >= 8
        && r.as_bytes().get(2) == Some(&b':')
    {
        let h: u8 = r.get(0..2)?.parse().ok()?;
        let m: u8 = r.get(3..5)?.parse().ok()?;
        let s: u8 = r.get(6..8)?.parse().ok()?;
        let mut after = &r[8..];
        let mut micros = 0u32;
        if let Some(f) = after.strip_prefix('.') {
            let digits: String = f.chars().take_while(char::is_ascii_digit).collect();
            if digits.is_empty() || digits.len() > 6 {
                return None;
            }
            micros = format!("{digits:0<6}").parse().ok()?;
            after = &f[digits.len()..];
        }
        time = Time::from_hms_micro(h, m, s, micros).ok()?;
        rest = after;
    }
    let zone = rest.trim_start();
    let offset_secs: i64 = match zone {
        "" | "Z" | "UTC" | "+00" | "+00:00" | "-00:00" => 0,
        z => {
            let sign = match z.as_bytes().first()? {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let body = &z[1..];
            let (h, m) = match body.split_once(':') {
                Some((h, m)) => (h.parse::<i64>().ok()?, m.parse::<i64>().ok()?),
                None if body.len() == 2 => (body.parse::<i64>().ok()?, 0),
                None => return None,
            };
            sign * (h * 3600 + m * 60)
        }
    };
    let local = PrimitiveDateTime::new(date, time).assume_utc();
    let micros = i128::from(local.unix_timestamp()) * 1_000_000 + i128::from(time.microsecond());
    Some(micros - i128::from(offset_secs) * 1_000_000)
}

/// The named parameters, checked.
pub(crate) struct Parameters {
    pub(crate) start: i128,
    pub(crate) end: i128,
    pub(crate) services: ServiceFilter,
    /// Other TIMESTAMP or DATE parameters the SQL uses (the partition bounds), in microseconds.
    pub(crate) extra: BTreeMap<String, i128>,
}

pub(crate) fn parameters(body: &Map<String, Value>, sql: &str) -> Result<Parameters, ApiError> {
    let list = match body.get("queryParameters") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(list)) => list.clone(),
        Some(_) => return Err(invalid("invalid", "queryParameters must be a list")),
    };
    if !list.is_empty() && body.get("parameterMode").and_then(Value::as_str) != Some("NAMED") {
        return Err(invalid(
            "invalid",
            "spendlens fake: send \"parameterMode\": \"NAMED\" with named query parameters \
             (@start, @end, @services)",
        ));
    }
    let mut start = None;
    let mut end = None;
    let mut services: Option<Vec<String>> = None;
    let mut extra = BTreeMap::new();
    for p in &list {
        let name = p.get("name").and_then(Value::as_str).unwrap_or("");
        let kind = p
            .pointer("/parameterType/type")
            .and_then(Value::as_str)
            .unwrap_or("");
        match name {
            "start" | "end" => {
                if kind != "TIMESTAMP" {
                    return Err(invalid_query(format!(
                        "Query parameter '{name}' must be of type TIMESTAMP, not '{kind}'"
                    )));
                }
                let text = p
                    .pointer("/parameterValue/value")
                    .and_then(Value::as_str)
                    .unwrap_or("");
                let micros = parse_timestamp(text).ok_or_else(|| {
                    invalid_query(format!(
                        "Invalid timestamp: '{text}' for query parameter '{name}'"
                    ))
                })?;
                if name == "start" {
                    start = Some(micros);
                } else {
                    end = Some(micros);
                }
            }
            "services" => {
                let element = p
                    .pointer("/parameterType/arrayType/type")
                    .and_then(Value::as_str);
                if kind != "ARRAY" || element != Some("STRING") {
                    return Err(invalid_query(
                        "Query parameter 'services' must be of type ARRAY<STRING>",
                    ));
                }
                let values = p
                    .pointer("/parameterValue/arrayValues")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                let values = values
                    .iter()
                    .map(|v| {
                        v.get("value")
                            .and_then(Value::as_str)
                            .map(str::to_owned)
                            .ok_or_else(|| {
                                invalid_query("Each arrayValues entry of 'services' needs a value")
                            })
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                services = Some(values);
            }
            other
                if matches!(kind, "TIMESTAMP" | "DATE") && has_word(sql, &format!("@{other}")) =>
            {
                let text = p
                    .pointer("/parameterValue/value")
                    .and_then(Value::as_str)
                    .unwrap_or("");
                let micros = parse_timestamp(text).ok_or_else(|| {
                    invalid_query(format!(
                        "Invalid {kind}: '{text}' for query parameter '{other}'"
                    ))
                })?;
                extra.insert(other.to_owned(), micros);
            }
            other => {
                return Err(invalid_query(format!(
                    "spendlens fake: unsupported query parameter '{other}'; the §8 query uses \
                     @start, @end and @services"
                )));
            }
        }
    }
    let (Some(start), Some(end)) = (start, end) else {
        let which = if start.is_none() { "start" } else { "end" };
        return Err(invalid_query(format!(
            "Query parameter '{which}' not found"
        )));
    };
    let services = if has_word(sql, "@services") {
        let Some(values) = services else {
            return Err(invalid_query("Query parameter 'services' not found"));
        };
        if sql.contains("service.id in unnest(@services)") {
            ServiceFilter::Ids(values)
        } else {
            ServiceFilter::Descriptions(values)
        }
    } else {
        ServiceFilter::All
    };
    Ok(Parameters {
        start,
        end,
        services,
        extra,
    })
}

/// `maxResults` as a number or a numeric string.
pub(crate) fn max_results(value: Option<&Value>) -> Result<Option<u32>, ApiError> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(v) => {
            let n = v
                .as_u64()
                .or_else(|| v.as_str().and_then(|s| s.parse().ok()));
            n.map(|n| Some(u32::try_from(n).unwrap_or(u32::MAX)))
                .ok_or_else(|| invalid("invalid", format!("Invalid value for maxResults: {v}")))
        }
    }
}

pub(crate) fn jobs_query(
    state: &ServerState,
    project: &str,
    body: &[u8],
) -> Result<Prepared, ApiError> {
    let config = &state.config;
    if project != config.project {
        return Err(access_denied(format!(
            "Access Denied: Project {project}: User does not have bigquery.jobs.create permission \
             in project {project}."
        )));
    }
    let json: Value = serde_json::from_slice(body)
        .map_err(|e| invalid("parseError", format!("Invalid JSON payload received. {e}")))?;
    let Some(body) = json.as_object() else {
        return Err(invalid("parseError", "Invalid JSON payload received."));
    };
    let Some(raw_sql) = body.get("query").and_then(Value::as_str) else {
        return Err(invalid("required", "Required parameter is missing: query"));
    };
    if body.get("useLegacySql").and_then(Value::as_bool) != Some(false) {
        return Err(invalid_query(
            "Query parameters cannot be used in legacy SQL queries, and backticks are not legacy \
             SQL: useLegacySql defaults to true — send \"useLegacySql\": false",
        ));
    }
    if let Some(location) = body.get("location").and_then(Value::as_str)
        && location != config.location
    {
        return Err(not_found(format!(
            "Not found: Dataset {}:{} was not found in location {location}",
            config.project, config.dataset
        )));
    }
    let text = normalize(raw_sql);
    let (target, table_end) = resolve_table(config, project, &text)?;
    let sql = text.to_lowercase();
    let after = text.get(table_end..).unwrap_or_default().to_lowercase();
    check_double_count(&sql, &after)?;
    if super::services::is_discovery(&sql) {
        return super::services::answer(state, body, &sql, raw_sql, target == Target::Billing);
    }
    check_shape(&sql)?;
    let params = parameters(body, &sql)?;
    let by_invoice = invoice_month_selected(&sql)?;
    let table = format!("{}:{}.{}", config.project, config.dataset, config.table);
    let partitions = partition::read(
        &sql,
        raw_sql,
        &params.extra,
        (params.start, params.end),
        config.partitioned,
        &table,
    )?;
    let pruned = config.partitioned.then_some(&partitions);
    let (groups, bytes) = match target {
        Target::Billing => (
            aggregate(
                &state.data,
                params.start,
                params.end,
                &params.services,
                pruned,
                by_invoice,
            ),
            partitions.bytes(&state.data),
        ),
        Target::Empty => (BTreeMap::new(), 0),
    };
    let rows: Vec<Cells> = groups
        .iter()
        .map(|(key, sums)| {
            cells(
                key,
                sums,
                &config.currency,
                config.rate_micros,
                state.data.last_day,
            )
        })
        .collect();
    if let Some(limit) = body.get("maximumBytesBilled") {
        let limit = limit
            .as_str()
            .and_then(|s| s.parse::<u64>().ok())
            .or_else(|| limit.as_u64());
        if let Some(limit) = limit
            && limit < bytes
        {
            return Err(invalid(
                "bytesBilledLimitExceeded",
                format!(
                    "Query exceeded limit for bytes billed: {limit}. {bytes} or higher required."
                ),
            ));
        }
    }
    let page_size = max_results(body.get("maxResults"))?;
    let job = Job::new(state, columns(by_invoice), rows, bytes);
    jobs::first_response(state, job, page_size)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_written_as_bigquery_casts_them() {
        assert_eq!(numeric(318_800_000), "0.3188");
        assert_eq!(numeric(-318_800_000), "-0.3188");
        assert_eq!(numeric(0), "0");
        assert_eq!(float_text(2_125_333_000_000_000), "2125333");
        assert_eq!(float_text(37_000), "3.7E-5");
        assert_eq!(float_text(10_000), "1.0E-5");
        assert_eq!(float_text(100_000), "0.0001");
    }

    #[test]
    fn timestamps_parse_in_bigquery_literal_forms() {
        let midnight = 1_748_736_000i128 * 1_000_000; // 2025-06-01T00:00:00Z
        for text in [
            "2025-06-01 00:00:00+00",
            "2025-06-01T00:00:00Z",
            "2025-06-01 00:00:00 UTC",
            "2025-06-01 00:00:00.000000+00:00",
            "2025-06-01",
            "2025-06-01 02:00:00+02:00",
        ] {
            assert_eq!(parse_timestamp(text), Some(midnight), "{text}");
        }
        assert_eq!(parse_timestamp("yesterday"), None);
        assert_eq!(parse_timestamp("2025-13-01"), None);
    }

    #[test]
    fn the_double_count_trap_is_recognised() {
        let sql = |from: &str| {
            normalize(&format!(
                "SELECT SUM(CAST(cost AS NUMERIC)) AS cost, SUM(c.amount) FROM `p.d.t` {from} \
                 WHERE usage_start_time >= @start"
            ))
        };
        for trap in [
            ", UNNEST(credits) c",
            "AS t, UNNEST(credits) AS c",
            "t CROSS JOIN UNNEST(credits) c",
            "LEFT JOIN UNNEST(credits) c",
        ] {
            let s = sql(trap).to_lowercase();
            let end = s.find("`p.d.t`").unwrap() + 7;
            assert!(check_double_count(&s, &s[end..]).is_err(), "{trap}");
        }
        let correlated = normalize(
            "SELECT SUM(CAST(cost AS NUMERIC)), SUM(IFNULL((SELECT SUM(CAST(c.amount AS NUMERIC)) \
             FROM UNNEST(credits) c), 0)) FROM `p.d.t` WHERE service.description IN \
             UNNEST(@services)",
        )
        .to_lowercase();
        let end = correlated.find("`p.d.t`").unwrap() + 7;
        assert!(check_double_count(&correlated, &correlated[end..]).is_ok());
    }
}
