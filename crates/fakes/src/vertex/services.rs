//! The service discovery query (doc §6: "Discover them with `SELECT DISTINCT service.description,
//! service.id, transaction_type, seller_name …` over a recent window, and let the user tick
//! which services count as AI"). The fake does not run SQL: it recognises a query whose SELECT
//! list has `transaction_type` and `seller_name` and no SKU, checks it and answers it from its
//! hourly rows.
//!
//! Checked: the columns `service_id`, `service`, `transaction_type`, `seller_name`, `currency`,
//! `cost` and `last_day` (the last UTC day a row of the group was used, `FORMAT_DATE('%F',
//! DATE(MAX(usage_start_time)))`); `service.id`, `service.description`, `transaction_type`
//! and `seller_name` read from the export; a GROUP BY; the §8 window (`usage_start_time >=
//! @start`, `< @end`); no `@services` (discovery reads every service); the partition filter as
//! for the §8 query; `maximumBytesBilled` if sent. Answer: one row per (service id, the name
//! its rows carry, transaction type, seller, currency), ordered by id then name, the cost an
//! exact NUMERIC sum. Bytes: the rows of the partitions read × [`DISCOVERY_ROW_BYTES`] (it
//! reads five narrow columns, not the §8 query's fourteen).

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::catalog::sku_of;
use super::http::{ServerState, invalid};
use super::jobs::{self, Job};
use super::partition;
use super::query::{Cells, has_word, max_results, numeric, parameters};
use crate::common::respond::{ApiError, Prepared};
use crate::common::time_text::date_of;

/// The columns of the discovery query, in order.
pub(crate) const COLUMNS: [&str; 7] = [
    "service_id",
    "service",
    "transaction_type",
    "seller_name",
    "currency",
    "cost",
    "last_day",
];

/// Bytes BigQuery processes per export row for the discovery query's columns.
pub(crate) const DISCOVERY_ROW_BYTES: u64 = 128;

fn invalid_query(message: impl Into<String>) -> ApiError {
    invalid("invalidQuery", message)
}

/// Lower-case, normalized `sql` selecting services rather than SKUs.
pub(crate) fn is_discovery(sql: &str) -> bool {
    let main_from = sql.rfind(" from `").unwrap_or(sql.len());
    let select = &sql[..main_from];
    has_word(select, "seller_name")
        && has_word(select, "transaction_type")
        && !has_word(select, "sku_id")
}

fn check(sql: &str) -> Result<(), ApiError> {
    let main_from = sql.rfind(" from `").unwrap_or(sql.len());
    let select = &sql[..main_from];
    let missing: Vec<&str> = COLUMNS
        .iter()
        .copied()
        .filter(|c| !has_word(select, c))
        .collect();
    if !missing.is_empty() {
        return Err(invalid_query(format!(
            "spendlens fake: the service discovery query must produce the columns {}; missing: {}",
            COLUMNS.join(", "),
            missing.join(", ")
        )));
    }
    for source in ["service.id", "service.description", "max(usage_start_time)"] {
        if !select.contains(source) {
            return Err(invalid_query(format!(
                "spendlens fake: the service discovery query must read {source}"
            )));
        }
    }
    if !sql.contains(" group by ") {
        return Err(invalid_query(
            "SELECT list expression references column service which is neither grouped nor \
             aggregated",
        ));
    }
    for predicate in ["usage_start_time >= @start", "usage_start_time < @end"] {
        if !sql.contains(predicate) {
            return Err(invalid_query(format!(
                "spendlens fake: the WHERE clause must select the window with `{predicate}`"
            )));
        }
    }
    if has_word(sql, "@services") {
        return Err(invalid_query(
            "spendlens fake: service discovery reads every service of the export; filter \
             the spend query by @services, not this one",
        ));
    }
    Ok(())
}

/// The discovery rows of `[start, end)` from the rows admitted by `partitions`.
fn discover(
    state: &ServerState,
    start: i128,
    end: i128,
    partitions: Option<&partition::Partitions>,
) -> Vec<Cells> {
    let data = &state.data;
    type Group = (&'static str, &'static str, &'static str, &'static str);
    let mut groups: BTreeMap<Group, (i128, i64)> = BTreeMap::new();
    let day_of = |micros: i128| i64::try_from(micros.div_euclid(86_400_000_000)).unwrap_or(0);
    for row in data.rows.between(day_of(start), day_of(end)) {
        let at = i128::from(row.hour) * 3_600_000_000;
        if at < start || at >= end || partitions.is_some_and(|p| !p.admits(row.partition_day())) {
            continue;
        }
        let service = sku_of(row.sku).service;
        let name = service.description_on(row.day(), data.last_day);
        let group = groups
            .entry((service.id, name, service.transaction_type, service.seller))
            .or_insert((0, row.day()));
        group.0 += i128::from(row.cost);
        group.1 = group.1.max(row.day());
    }
    groups
        .into_iter()
        .map(|((id, name, transaction, seller), (cost, last))| {
            vec![
                Some(id.to_owned()),
                Some(name.to_owned()),
                Some(transaction.to_owned()),
                Some(seller.to_owned()),
                Some(state.config.currency.clone()),
                Some(numeric(cost)),
                date_of(last).map(|d| d.to_string()),
            ]
        })
        .collect()
}

/// Answers a discovery query (`billing`: it names the export table with the data; another
/// export table has no rows).
pub(crate) fn answer(
    state: &ServerState,
    body: &Map<String, Value>,
    sql: &str,
    raw_sql: &str,
    billing: bool,
) -> Result<Prepared, ApiError> {
    check(sql)?;
    let params = parameters(body, sql)?;
    let config = &state.config;
    let table = format!("{}:{}.{}", config.project, config.dataset, config.table);
    let partitions = partition::read(
        sql,
        raw_sql,
        &params.extra,
        (params.start, params.end),
        config.partitioned,
        &table,
    )?;
    let pruned = config.partitioned.then_some(&partitions);
    let (rows, bytes) = if billing {
        let read = state
            .data
            .rows
            .all()
            .iter()
            .filter(|row| pruned.is_none_or(|p| p.admits(row.partition_day())))
            .count() as u64;
        (
            discover(state, params.start, params.end, pruned),
            read * DISCOVERY_ROW_BYTES,
        )
    } else {
        (Vec::new(), 0)
    };
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
    let job = Job::new(state, COLUMNS.to_vec(), rows, bytes);
    jobs::first_response(state, job, page_size)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn normalized(sql: &str) -> String {
        sql.split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_lowercase()
    }

    const DISCOVERY: &str = "SELECT service.id AS service_id, service.description AS service, \
        IFNULL(transaction_type, '') AS transaction_type, IFNULL(seller_name, '') AS seller_name, \
        currency, CAST(SUM(CAST(cost AS NUMERIC)) AS STRING) AS cost, \
        FORMAT_DATE('%F', DATE(MAX(usage_start_time))) AS last_day \
        FROM `p.d.gcp_billing_export_v1_X` \
        WHERE usage_start_time >= @start AND usage_start_time < @end \
        GROUP BY service_id, service, transaction_type, seller_name, currency";

    #[test]
    fn the_discovery_query_is_told_from_the_spend_query_and_checked() {
        let sql = normalized(DISCOVERY);
        assert!(is_discovery(&sql));
        assert!(check(&sql).is_ok());
        // The §8 spend query selects SKUs: not discovery.
        assert!(!is_discovery(&normalized(
            "SELECT sku.id AS sku_id, transaction_type, seller_name FROM `p.d.t`"
        )));
        let refused = |sql: &str| {
            let error = check(&normalized(sql)).unwrap_err();
            format!("{error:?}")
        };
        let without_last_day = DISCOVERY.replace(
            ", FORMAT_DATE('%F', DATE(MAX(usage_start_time))) AS last_day",
            "",
        );
        assert!(refused(&without_last_day).contains("missing: last_day"));
        let filtered = DISCOVERY.replace(
            "usage_start_time < @end",
            "usage_start_time < @end AND service.id IN UNNEST(@services)",
        );
        assert!(refused(&filtered).contains("reads every service"));
        let ungrouped = DISCOVERY.replace(
            " GROUP BY service_id, service, transaction_type, seller_name, currency",
            "",
        );
        assert!(refused(&ungrouped).contains("neither grouped nor aggregated"));
        let open = DISCOVERY.replace("usage_start_time < @end", "TRUE");
        assert!(refused(&open).contains("usage_start_time < @end"));
    }
}
