//! The billing export query (doc §8) over `jobs.query`: named parameters, `maximumBytesBilled`
//! (the connection's cap), polling `getQueryResults` while the job runs and paging through the
//! results by `pageToken`. Rows come back as text cells by column name.
//!
//! Partition pruning (doc §5): the export is partitioned by ingestion time, so besides the
//! `usage_start_time` window the query keeps `_PARTITIONTIME` within the window widened by
//! [`PARTITION_MARGIN_DAYS`] on each side (rows load days after their usage), and BigQuery
//! scans those partitions only. A table `tables.list` reports as unpartitioned (or partitioned
//! on another column) is read without it, and one named in `billing_dataset` that turns out to
//! have no `_PARTITIONTIME` is read again without it; a note says the whole table was scanned.

use std::collections::BTreeMap;

use spendlens_domain::{Day, DayRange};

use super::PROVIDER;
use super::client::BigQuery;
use super::discovery::{ExportTable, MAX_LIST_PAGES, Partitioning, TableId};
use super::services::{self, discovery_sql};
use super::wire::{JobReference, QueryPage, Schema};
use crate::error::ProviderError;
use crate::http::At;
use crate::paging::CursorGuard;
use spendlens_domain::services::{BilledService, ServiceChoices};

/// Rows per page of query results.
const MAX_RESULTS: u32 = 10_000;
/// How long BigQuery may wait for the query to finish within one call, in milliseconds.
const QUERY_TIMEOUT_MS: u32 = 20_000;
/// Polls of a running query before giving up (each waits up to `QUERY_TIMEOUT_MS`).
const MAX_POLLS: u32 = 60;
/// Days of ingestion partitions read before and after the usage window (doc §5: "give it a
/// wide margin, such as ±3 days"): late rows load into a later partition than their usage day.
pub(super) const PARTITION_MARGIN_DAYS: i64 = 3;

/// Whether the query prunes ingestion-time partitions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Pruning {
    PartitionTime,
    Unpruned,
}

impl Pruning {
    /// The partition filter's lines of the WHERE clause.
    pub(super) fn filter(self) -> &'static str {
        match self {
            Pruning::PartitionTime => {
                "\n  AND _PARTITIONTIME >= @partition_start AND _PARTITIONTIME < @partition_end"
            }
            Pruning::Unpruned => "",
        }
    }
}

/// Which statement a job runs.
#[derive(Clone, Copy, Debug)]
enum Statement<'a> {
    /// The services of the window (`services::discovery_sql`).
    Discovery,
    /// The spend of these service ids ([`query_sql`]).
    Spend(&'a [String]),
}

/// The query of doc §8, with the table spliced in after its parts were validated, the
/// conversion rate of §5 beside the currency, the invoice month (§7) and the partition filter
/// when pruning.
fn query_sql(table: &TableId, pruning: Pruning) -> String {
    let partitions = pruning.filter();
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
  ANY_VALUE(usage.pricing_unit) AS pricing_unit,
  IFNULL(invoice.month, '') AS invoice_month
FROM `{}`
WHERE usage_start_time >= @start AND usage_start_time < @end{partitions}
  AND service.id IN UNNEST(@services)
GROUP BY usage_date, service_id, service, sku_id, sku, project_id, currency, conversion_rate, cost_type, invoice_month
ORDER BY usage_date",
        table.full()
    )
}

/// `35593216` → `"35.5 MB"` (decimal megabytes, cut to one decimal), `"20.0 GB"` from 10^9.
pub(super) fn bytes_text(bytes: u64) -> String {
    if bytes >= 1_000_000_000 {
        format!(
            "{}.{} GB",
            bytes / 1_000_000_000,
            bytes % 1_000_000_000 / 100_000_000
        )
    } else {
        format!("{}.{} MB", bytes / 1_000_000, bytes % 1_000_000 / 100_000)
    }
}

/// What the export query returned, and what the user should know about how it ran.
#[derive(Debug, Default)]
pub(super) struct QueryOutcome {
    pub(super) rows: Vec<Row>,
    /// `totalBytesProcessed` of the two queries that answered (discovery and spend); `None`
    /// if BigQuery did not say for one of them.
    pub(super) bytes_processed: Option<u64>,
    pub(super) notes: Vec<String>,
    /// Every service of the window, and whether it counts.
    pub(super) services: Vec<BilledService>,
}

/// Finds the window's services, then runs the export query for those that count (`choices`
/// over their kinds' defaults), both pruned by ingestion partitions where the table has them.
pub(super) async fn run_query(
    bq: &mut BigQuery<'_>,
    table: &ExportTable,
    window: DayRange,
    choices: &ServiceChoices,
) -> Result<QueryOutcome, ProviderError> {
    let mut outcome = QueryOutcome::default();
    let whole_table = |why: &str| {
        format!(
            "The billing export table {} {why}, so every sync scans the whole table and BigQuery \
             bills the bytes of all of it; the standard export is partitioned by ingestion time \
             (_PARTITIONTIME), so check that \"billing_dataset\" names the export Google writes",
            table.id.full()
        )
    };
    let pruning = match &table.partitioning {
        Partitioning::IngestionTime | Partitioning::Unknown => Pruning::PartitionTime,
        Partitioning::Column(field) if field == "usage_start_time" => {
            // The usage_start_time window itself prunes.
            Pruning::Unpruned
        }
        Partitioning::Column(field) => {
            outcome.notes.push(whole_table(&format!(
                "is partitioned on its column {field}, not by ingestion time"
            )));
            Pruning::Unpruned
        }
        Partitioning::None => {
            outcome.notes.push(whole_table(
                "is not partitioned (BigQuery lists no timePartitioning for it)",
            ));
            Pruning::Unpruned
        }
    };
    let mut pruning = pruning;
    let (found, discovery_bytes) =
        match run_once(bq, table, window, pruning, Statement::Discovery).await {
            Err(error)
                if pruning == Pruning::PartitionTime
                    && table.partitioning == Partitioning::Unknown
                    && lacks_partition_column(&error) =>
            {
                outcome.notes.push(whole_table(
                "has no _PARTITIONTIME column (BigQuery: \"Unrecognized name: _PARTITIONTIME\")",
            ));
                pruning = Pruning::Unpruned;
                run_once(bq, table, window, pruning, Statement::Discovery).await?
            }
            other => other?,
        };
    outcome.services = services::discovered(&found, window, choices)?;
    outcome
        .notes
        .extend(services::note(&outcome.services, choices));
    let ids: Vec<String> = outcome
        .services
        .iter()
        .filter(|s| s.counted)
        .map(|s| s.id.clone())
        .collect();
    if ids.is_empty() {
        // Nothing counts: no spend query (an empty list would match nothing anyway).
        outcome.bytes_processed = discovery_bytes;
        return Ok(outcome);
    }
    let (rows, bytes) = run_once(bq, table, window, pruning, Statement::Spend(&ids)).await?;
    outcome.rows = rows;
    outcome.bytes_processed = discovery_bytes.zip(bytes).map(|(a, b)| a.saturating_add(b));
    Ok(outcome)
}

/// BigQuery's answer when the table has no ingestion-time pseudo-column.
fn lacks_partition_column(error: &ProviderError) -> bool {
    match error {
        ProviderError::RequestRefused { message, .. } => {
            message.contains("Unrecognized name: _PARTITIONTIME")
        }
        _ => false,
    }
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

async fn run_once(
    bq: &mut BigQuery<'_>,
    table: &ExportTable,
    window: DayRange,
    pruning: Pruning,
    statement: Statement<'_>,
) -> Result<(Vec<Row>, Option<u64>), ProviderError> {
    let invalid = |error: spendlens_domain::CalendarError| ProviderError::InvalidWindow {
        provider: PROVIDER,
        window: window.to_string(),
        reason: error.to_string(),
    };
    let end = window.end_exclusive().map_err(invalid)?;
    let mut parameters = vec![
        timestamp_parameter("start", window.from()),
        timestamp_parameter("end", end),
    ];
    let sql = match statement {
        Statement::Discovery => discovery_sql(&table.id, pruning),
        Statement::Spend(ids) => {
            let services: Vec<serde_json::Value> = ids
                .iter()
                .map(|id| serde_json::json!({"value": id}))
                .collect();
            parameters.push(serde_json::json!({
                "name": "services",
                "parameterType": {"type": "ARRAY", "arrayType": {"type": "STRING"}},
                "parameterValue": {"arrayValues": services},
            }));
            query_sql(&table.id, pruning)
        }
    };
    if pruning == Pruning::PartitionTime {
        let from = window
            .from()
            .add_days(-PARTITION_MARGIN_DAYS)
            .map_err(invalid)?;
        let until = end.add_days(PARTITION_MARGIN_DAYS).map_err(invalid)?;
        parameters.push(timestamp_parameter("partition_start", from));
        parameters.push(timestamp_parameter("partition_end", until));
    }
    let mut request = serde_json::json!({
        "query": sql,
        "useLegacySql": false,
        "parameterMode": "NAMED",
        "timeoutMs": QUERY_TIMEOUT_MS,
        "maxResults": MAX_RESULTS,
        "maximumBytesBilled": bq.account().maximum_bytes_billed.to_string(),
        "queryParameters": parameters,
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
    let mut bytes: Option<u64> = None;
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
        if let Some(processed) = page
            .total_bytes_processed
            .as_deref()
            .and_then(|text| text.trim().parse::<u64>().ok())
        {
            bytes = Some(bytes.map_or(processed, |seen| seen.max(processed)));
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
            return Ok((rows, bytes));
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
        let sql = query_sql(
            &TableId::new("my-proj", "billing", "gcp_billing_export_v1_X").unwrap(),
            Pruning::PartitionTime,
        );
        assert!(
            sql.contains("AND _PARTITIONTIME >= @partition_start"),
            "{sql}"
        );
        assert!(
            sql.contains("FROM `my-proj.billing.gcp_billing_export_v1_X`"),
            "{sql}"
        );
        assert!(sql.contains("service.id IN UNNEST(@services)"), "{sql}");
        assert!(
            !sql.contains(", UNNEST(credits)"),
            "the double-count join: {sql}"
        );
    }

    #[test]
    fn bytes_read_as_megabytes_and_gigabytes_cut_to_one_decimal() {
        assert_eq!(bytes_text(35_593_216), "35.5 MB");
        assert_eq!(bytes_text(10_485_760), "10.4 MB");
        assert_eq!(bytes_text(20_000_000_000), "20.0 GB");
        assert_eq!(bytes_text(999), "0.0 MB");
    }
}
