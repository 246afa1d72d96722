//! The billing export query (doc §8) over `jobs.query`: named parameters, `maximumBytesBilled`,
//! polling `getQueryResults` while the job runs and paging through the results by
//! `pageToken`. Rows come back as text cells by column name.

use std::collections::BTreeMap;

use spendlens_domain::{Day, DayRange};

use super::client::BigQuery;
use super::discovery::{ExportTable, MAX_LIST_PAGES, TableId};
use super::wire::{JobReference, QueryPage, Schema};
use super::{PROVIDER, SERVICES};
use crate::error::ProviderError;
use crate::http::At;
use crate::paging::CursorGuard;

/// Rows per page of query results.
const MAX_RESULTS: u32 = 10_000;
/// How long BigQuery may wait for the query to finish within one call, in milliseconds.
const QUERY_TIMEOUT_MS: u32 = 20_000;
/// The query fails rather than bill more than this many bytes scanned (about $0.12 on demand).
pub(crate) const MAX_BYTES_BILLED: u64 = 20_000_000_000;
/// Polls of a running query before giving up (each waits up to `QUERY_TIMEOUT_MS`).
const MAX_POLLS: u32 = 60;

/// The query of doc §8, with the table spliced in after its parts were validated.
fn query_sql(table: &TableId) -> String {
    format!(
        "SELECT
  FORMAT_DATE('%F', DATE(usage_start_time)) AS usage_date,
  service.id AS service_id, service.description AS service,
  sku.id AS sku_id, sku.description AS sku,
  IFNULL(project.id, '') AS project_id, currency,
  CAST(currency_conversion_rate AS STRING) AS conversion_rate, cost_type,
  CAST(SUM(CAST(cost AS NUMERIC)) AS STRING) AS cost,
  CAST(SUM(IFNULL((SELECT SUM(CAST(c.amount AS NUMERIC)) FROM UNNEST(credits) c), 0)) AS STRING) AS credits,
  CAST(SUM(IFNULL((SELECT SUM(CAST(c.amount AS NUMERIC)) FROM UNNEST(credits) c WHERE c.type = 'PROMOTION'), 0)) AS STRING) AS promo_credits,
  CAST(SUM(usage.amount_in_pricing_units) AS STRING) AS pricing_qty,
  ANY_VALUE(usage.pricing_unit) AS pricing_unit
FROM `{}`
WHERE usage_start_time >= @start AND usage_start_time < @end
  AND service.description IN UNNEST(@services)
GROUP BY usage_date, service_id, service, sku_id, sku, project_id, currency, conversion_rate, cost_type
ORDER BY usage_date",
        table.full()
    )
}

/// A row of results by column name.
#[derive(Debug, Default)]
pub(super) struct Row {
    pub(super) cells: BTreeMap<String, Option<String>>,
    pub(super) page: u32,
}

impl Row {
    pub(super) fn text(&self, column: &str) -> Option<&str> {
        self.cells
            .get(column)
            .and_then(Option::as_deref)
            .map(str::trim)
    }
}

pub(super) fn timestamp_parameter(name: &str, day: Day) -> serde_json::Value {
    serde_json::json!({
        "name": name,
        "parameterType": {"type": "TIMESTAMP"},
        "parameterValue": {"value": format!("{day} 00:00:00+00")},
    })
}

pub(super) async fn run_query(
    bq: &mut BigQuery<'_>,
    table: &ExportTable,
    window: DayRange,
) -> Result<Vec<Row>, ProviderError> {
    let end = window
        .end_exclusive()
        .map_err(|error| ProviderError::InvalidWindow {
            provider: PROVIDER,
            window: window.to_string(),
            reason: error.to_string(),
        })?;
    let services: Vec<serde_json::Value> = SERVICES
        .iter()
        .map(|service| serde_json::json!({"value": service}))
        .collect();
    let mut request = serde_json::json!({
        "query": query_sql(&table.id),
        "useLegacySql": false,
        "parameterMode": "NAMED",
        "timeoutMs": QUERY_TIMEOUT_MS,
        "maxResults": MAX_RESULTS,
        "maximumBytesBilled": MAX_BYTES_BILLED.to_string(),
        "queryParameters": [
            timestamp_parameter("start", window.from()),
            timestamp_parameter("end", end),
            {
                "name": "services",
                "parameterType": {"type": "ARRAY", "arrayType": {"type": "STRING"}},
                "parameterValue": {"arrayValues": services},
            },
        ],
    });
    if let Some(location) = &table.location {
        request["location"] = serde_json::Value::String(location.clone());
    }
    let project = bq.account().project_id.clone();
    let query_path = format!("/projects/{project}/queries");
    let mut page_number = 1;
    let mut page: QueryPage = bq.post(&query_path, &request, page_number).await?;
    check_job_errors(&page, &query_path, page_number)?;

    let job = page.job_reference.clone().unwrap_or(JobReference {
        project_id: None,
        job_id: None,
        location: None,
    });
    let job_project = job.project_id.clone().unwrap_or(project);
    let location = job.location.clone().or_else(|| table.location.clone());
    let results_path = |job_id: &str| format!("/projects/{job_project}/queries/{job_id}");

    let mut rows = Vec::new();
    let mut schema: Option<Schema> = None;
    let mut guard = CursorGuard::new(MAX_LIST_PAGES.saturating_mul(10));
    let mut polls = 0;
    loop {
        let path_now = job.job_id.as_deref().map(results_path);
        let endpoint = path_now.clone().unwrap_or_else(|| query_path.clone());
        if page.job_complete == Some(false) {
            // Still running: no rows yet. Wait on getQueryResults.
            let Some(path) = path_now else {
                return Err(unexpected(
                    &endpoint,
                    page_number,
                    "the query is still running but BigQuery gave no jobReference to wait on",
                ));
            };
            polls += 1;
            if polls > MAX_POLLS {
                return Err(unexpected(
                    &path,
                    page_number,
                    &format!("BigQuery still reports the query as running after {MAX_POLLS} polls"),
                ));
            }
            tokio::time::sleep(bq.settings().base_backoff).await;
            let mut query = results_query(location.as_deref());
            query.push(("maxResults", MAX_RESULTS.to_string()));
            page = bq.get(&path, &query, page_number).await?;
            check_job_errors(&page, &path, page_number)?;
            continue;
        }
        if let Some(found) = page.schema.take() {
            schema = Some(found);
        }
        let names: Vec<String> = schema
            .as_ref()
            .map(|schema| schema.fields.iter().map(|f| f.name.clone()).collect())
            .unwrap_or_default();
        if names.is_empty() && !page.rows.is_empty() {
            return Err(unexpected(
                &endpoint,
                page_number,
                "rows came without a schema",
            ));
        }
        for cells in std::mem::take(&mut page.rows) {
            let mut row = Row {
                page: page_number,
                ..Row::default()
            };
            for (name, cell) in names.iter().zip(cells.f) {
                row.cells.insert(name.clone(), cell_text(cell.v));
            }
            rows.push(row);
        }
        let next = page.page_token.take().filter(|token| !token.is_empty());
        let at = At {
            endpoint: &endpoint,
            page: page_number,
        };
        let Some(token) = guard.advance(PROVIDER, at, next)? else {
            return Ok(rows);
        };
        let Some(path) = path_now else {
            return Err(unexpected(
                &endpoint,
                page_number,
                "more rows follow but BigQuery gave no jobReference to page through",
            ));
        };
        page_number += 1;
        let mut query = results_query(location.as_deref());
        query.push(("pageToken", token));
        query.push(("maxResults", MAX_RESULTS.to_string()));
        page = bq.get(&path, &query, page_number).await?;
        check_job_errors(&page, &path, page_number)?;
    }
}

pub(super) fn results_query(location: Option<&str>) -> Vec<(&'static str, String)> {
    let mut query = vec![("timeoutMs", QUERY_TIMEOUT_MS.to_string())];
    if let Some(location) = location {
        query.push(("location", location.to_owned()));
    }
    query
}

/// A finished job that reports errors and has no result schema failed. (BigQuery also lists
/// warnings in `errors` for jobs that succeeded: those have a schema and are only logged.)
pub(super) fn check_job_errors(
    page: &QueryPage,
    endpoint: &str,
    number: u32,
) -> Result<(), ProviderError> {
    if page.job_complete == Some(false) || page.errors.is_empty() {
        return Ok(());
    }
    if page.schema.is_some() {
        tracing::warn!(
            provider = PROVIDER.as_str(),
            endpoint,
            warnings = page.errors.len(),
            "BigQuery answered with warnings"
        );
        return Ok(());
    }
    let detail: Vec<String> = page
        .errors
        .iter()
        .map(|error| {
            format!(
                "{}: {}",
                error.reason.as_deref().unwrap_or("error"),
                error.message.as_deref().unwrap_or("no message")
            )
        })
        .collect();
    Err(ProviderError::RequestRefused {
        provider: PROVIDER,
        endpoint: endpoint.to_owned(),
        page: number,
        status: 200,
        message: detail.join("; "),
        advice: "the billing export query failed in BigQuery; try again later, and if it \
                 persists please report it"
            .to_owned(),
    })
}

pub(super) fn unexpected(endpoint: &str, page: u32, detail: &str) -> ProviderError {
    ProviderError::UnexpectedPage {
        provider: PROVIDER,
        endpoint: endpoint.to_owned(),
        page,
        detail: detail.to_owned(),
    }
}

/// A cell's value as text: strings as they are, numbers and booleans as written, null as `None`.
pub(super) fn cell_text(value: serde_json::Value) -> Option<String> {
    match value {
        serde_json::Value::Null => None,
        serde_json::Value::String(text) => Some(text),
        serde_json::Value::Number(number) => Some(number.to_string()),
        serde_json::Value::Bool(flag) => Some(flag.to_string()),
        other => Some(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_ids_are_validated_before_they_are_spliced() {
        assert!(
            TableId::new(
                "my-proj",
                "billing",
                "gcp_billing_export_v1_01ABCD_234567_89EFAB"
            )
            .is_some()
        );
        assert!(TableId::new("my-proj", "bill`ing", "t").is_none());
        assert!(TableId::new("my proj", "billing", "t").is_none());
        assert!(TableId::new("p", "d", "t; DROP").is_none());
        let sql =
            query_sql(&TableId::new("my-proj", "billing", "gcp_billing_export_v1_X").unwrap());
        assert!(
            sql.contains("FROM `my-proj.billing.gcp_billing_export_v1_X`"),
            "{sql}"
        );
        assert!(
            !sql.contains(", UNNEST(credits)"),
            "the double-count join: {sql}"
        );
    }
}
