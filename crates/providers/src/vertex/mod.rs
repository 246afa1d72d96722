//! Google Vertex AI and the Gemini API: spend from the Cloud Billing export to BigQuery
//! (shared/providers/google-vertex.md), read over BigQuery's REST API with the service
//! account's own JWT-bearer token.
//!
//! One fetch:
//! 1. reads the key file and its private key (a broken key is reported before any call);
//! 2. finds the export table: `billing_dataset` from the key JSON (`dataset`,
//!    `project.dataset` or `project.dataset.table`), else every dataset of the key's project
//!    is listed and the `gcp_billing_export_v1_*` tables in them are found — several: the
//!    first by name is used and a note names it; none: an error says to enable the export;
//! 3. runs the query of the doc §8 with `jobs.query` (named parameters, `useLegacySql: false`,
//!    `maximumBytesBilled`), polls `getQueryResults` while the job runs and pages through it;
//! 4. maps each row — one (UTC day, service, SKU, project, currency, cost type) — to a billed
//!    cost (cost and credits, both exact NUMERIC sums read as strings) and, for usage, a usage
//!    record with tokens or the pricing unit's quantity.
//!
//! Workspace = GCP project. Model and token direction come from the SKU description. Credits
//! are negative in the export; they are stored positive on the same line as the cost they
//! reduce, so a row fully covered by a credit nets to zero. Tax, adjustment and rounding rows
//! (`cost_type` other than `regular`) are kept as lines of their own (model `tax`,
//! `adjustment`, …, category `other`). Amounts stay in the billing account's currency; a
//! note says so when it is not USD. What the export cannot give: API keys (none), request
//! counts (`None`, shown N/A), and the last 24–48 h (a note says so).

mod client;
mod key;
mod sku;

use std::collections::{BTreeMap, BTreeSet};

use rust_decimal::prelude::ToPrimitive;
use rust_decimal::{Decimal, RoundingStrategy};
use serde::Deserialize;
use spendlens_domain::money::parse_decimal;
use spendlens_domain::{
    BilledCost, Category, Credential, Currency, Day, DayRange, FetchedWindow, Money, ProviderKind,
    Quantity, TokenClass, TokenCounts, Unit, UsageRecord, WorkspaceRecord,
};

use crate::error::ProviderError;
use crate::http::{At, CallStats, CursorGuard};
use crate::{ConnectionCheck, ConnectorConfig};
use client::BigQuery;
use key::ServiceAccount;
use sku::SkuMeasure;

pub(crate) const PROVIDER: ProviderKind = ProviderKind::Vertex;

/// The services whose spend is AI spend (doc §6).
const SERVICES: [&str; 2] = ["Vertex AI", "Gemini API"];
/// The prefix of the standard usage cost export tables.
const EXPORT_TABLE_PREFIX: &str = "gcp_billing_export_v1_";
/// Rows per page of query results.
const MAX_RESULTS: u32 = 10_000;
/// How long BigQuery may wait for the query to finish within one call, in milliseconds.
const QUERY_TIMEOUT_MS: u32 = 20_000;
/// The query fails rather than bill more than this many bytes scanned (about $0.12 on demand).
pub(crate) const MAX_BYTES_BILLED: u64 = 20_000_000_000;
/// Polls of a running query before giving up (each waits up to `QUERY_TIMEOUT_MS`).
const MAX_POLLS: u32 = 60;
/// Items per page of the dataset and table lists.
const LIST_MAX_RESULTS: u32 = 1_000;
const MAX_LIST_PAGES: u32 = 1_000;

/// The query of doc §8, with the table spliced in after its parts were validated.
fn query_sql(table: &TableId) -> String {
    format!(
        "SELECT
  FORMAT_DATE('%F', DATE(usage_start_time)) AS usage_date,
  service.id AS service_id, service.description AS service,
  sku.id AS sku_id, sku.description AS sku,
  IFNULL(project.id, '') AS project_id, currency, cost_type,
  CAST(SUM(CAST(cost AS NUMERIC)) AS STRING) AS cost,
  CAST(SUM(IFNULL((SELECT SUM(CAST(c.amount AS NUMERIC)) FROM UNNEST(credits) c), 0)) AS STRING) AS credits,
  CAST(SUM(IFNULL((SELECT SUM(CAST(c.amount AS NUMERIC)) FROM UNNEST(credits) c WHERE c.type = 'PROMOTION'), 0)) AS STRING) AS promo_credits,
  CAST(SUM(usage.amount_in_pricing_units) AS STRING) AS pricing_qty,
  ANY_VALUE(usage.pricing_unit) AS pricing_unit
FROM `{}`
WHERE usage_start_time >= @start AND usage_start_time < @end
  AND service.description IN UNNEST(@services)
GROUP BY usage_date, service_id, service, sku_id, sku, project_id, currency, cost_type
ORDER BY usage_date",
        table.full()
    )
}

/// A table's full id, each part checked before it goes between backticks.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct TableId {
    project: String,
    dataset: String,
    table: String,
}

impl TableId {
    fn new(project: &str, dataset: &str, table: &str) -> Option<TableId> {
        let project_ok = !project.is_empty()
            && project
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'));
        let dataset_ok = is_dataset_id(dataset);
        let table_ok = !table.is_empty()
            && table
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'));
        (project_ok && dataset_ok && table_ok).then(|| TableId {
            project: project.to_owned(),
            dataset: dataset.to_owned(),
            table: table.to_owned(),
        })
    }

    fn full(&self) -> String {
        format!("{}.{}.{}", self.project, self.dataset, self.table)
    }
}

fn is_dataset_id(dataset: &str) -> bool {
    !dataset.is_empty()
        && dataset
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// `billing_dataset` of the key JSON: `dataset`, `project.dataset`, or
/// `project.dataset.gcp_billing_export_v1_…` (the project may itself contain dots, as a
/// domain-scoped `example.com:project` does).
fn parse_billing_dataset(
    text: &str,
    default_project: &str,
) -> Option<(String, String, Option<String>)> {
    let parts: Vec<&str> = text.split('.').collect();
    let (table, rest) = match parts.split_last() {
        Some((last, rest)) if last.starts_with("gcp_billing_export") && !rest.is_empty() => {
            (Some((*last).to_owned()), rest)
        }
        _ => (None, parts.as_slice()),
    };
    let (dataset, project) = rest.split_last()?;
    let project = if project.is_empty() {
        default_project.to_owned()
    } else {
        project.join(".")
    };
    is_dataset_id(dataset).then(|| (project, (*dataset).to_owned(), table))
}

/// The export table and where its dataset lives.
#[derive(Clone, Debug)]
struct ExportTable {
    id: TableId,
    location: Option<String>,
}

// ---- wire ---------------------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DatasetList {
    #[serde(default)]
    datasets: Vec<DatasetItem>,
    next_page_token: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DatasetItem {
    dataset_reference: Option<DatasetReference>,
    location: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DatasetReference {
    dataset_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TableList {
    #[serde(default)]
    tables: Vec<TableItem>,
    next_page_token: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TableItem {
    table_reference: Option<TableReference>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TableReference {
    project_id: Option<String>,
    dataset_id: Option<String>,
    table_id: Option<String>,
}

/// `QueryResponse` and `GetQueryResultsResponse`: the fields spendlens reads.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct QueryPage {
    job_reference: Option<JobReference>,
    job_complete: Option<bool>,
    schema: Option<Schema>,
    #[serde(default)]
    rows: Vec<RowCells>,
    page_token: Option<String>,
    #[serde(default)]
    errors: Vec<ErrorProto>,
}

#[derive(Deserialize, Clone)]
#[serde(rename_all = "camelCase")]
struct JobReference {
    project_id: Option<String>,
    job_id: Option<String>,
    location: Option<String>,
}

#[derive(Deserialize, Clone)]
struct Schema {
    #[serde(default)]
    fields: Vec<Field>,
}

#[derive(Deserialize, Clone)]
struct Field {
    name: String,
}

#[derive(Deserialize)]
struct RowCells {
    #[serde(default)]
    f: Vec<Cell>,
}

#[derive(Deserialize)]
struct Cell {
    #[serde(default)]
    v: serde_json::Value,
}

#[derive(Deserialize)]
struct ErrorProto {
    reason: Option<String>,
    message: Option<String>,
}

// ---- entry points -------------------------------------------------------------------------

fn bigquery<'a>(
    credential: &Credential,
    config: &ConnectorConfig,
    stats: &'a CallStats,
) -> Result<BigQuery<'a>, ProviderError> {
    let account = ServiceAccount::from_credential(credential)?;
    BigQuery::new(account, config.base_url_for(PROVIDER), &config.http, stats)
}

pub(crate) async fn check_connection(
    credential: &Credential,
    config: &ConnectorConfig,
    stats: &CallStats,
) -> Result<ConnectionCheck, ProviderError> {
    let mut bq = bigquery(credential, config, stats)?;
    let tables = export_tables(&mut bq).await?;
    let Some(first) = tables.first() else {
        return Err(no_export_table(&bq));
    };
    let choice = if tables.len() > 1 {
        format!(
            "{} billing export tables, using {}",
            tables.len(),
            first.id.full()
        )
    } else {
        format!("billing export table {}", first.id.full())
    };
    Ok(ConnectionCheck {
        summary: format!(
            "BigQuery reachable as {}: {choice}",
            bq.account().client_email
        ),
    })
}

pub(crate) async fn fetch_window(
    credential: &Credential,
    config: &ConnectorConfig,
    window: DayRange,
    stats: &CallStats,
) -> Result<FetchedWindow, ProviderError> {
    let mut bq = bigquery(credential, config, stats)?;
    let mut fetched = FetchedWindow::default();
    let tables = export_tables(&mut bq).await?;
    let Some(table) = tables.first().cloned() else {
        return Err(no_export_table(&bq));
    };
    if tables.len() > 1 {
        let names: Vec<String> = tables.iter().map(|t| t.id.full()).collect();
        fetched.notes.push(format!(
            "Found {} Cloud Billing export tables ({}); spendlens reads {}. To read another, set \
             \"billing_dataset\" in the key JSON to its project.dataset.table",
            tables.len(),
            names.join(", "),
            table.id.full()
        ));
    }
    let rows = run_query(&mut bq, &table, window).await?;
    map_rows(rows, window, &mut fetched)?;
    fetched.notes.push(format!(
        "Google's billing export lags 24–48 h and late usage keeps arriving: amounts for the last \
         days up to {} may still grow; spendlens reads recent days again on every sync",
        window.to()
    ));
    Ok(fetched)
}

fn no_export_table(bq: &BigQuery<'_>) -> ProviderError {
    let account = bq.account();
    let searched = match &account.billing_dataset {
        Some(dataset) => format!(
            "the dataset \"{dataset}\" (billing_dataset) has no gcp_billing_export_v1_… table"
        ),
        None => format!(
            "no dataset of project {} that the service account {} can see holds a \
             gcp_billing_export_v1_… table",
            account.project_id, account.client_email
        ),
    };
    ProviderError::NotSetUp {
        provider: PROVIDER,
        reason: searched,
        advice: "enable the Cloud Billing export to BigQuery (Billing → Billing export → \
                 BigQuery export → Standard usage cost; it is not retroactive and first data \
                 takes a few hours), or set \"billing_dataset\" in the key JSON to the \
                 project.dataset that holds it, and grant the service account BigQuery Data \
                 Viewer on that dataset"
            .to_owned(),
    }
}

// ---- discovery ----------------------------------------------------------------------------

/// The export tables to choose from, sorted by full id; never empty (no table is an error).
async fn export_tables(bq: &mut BigQuery<'_>) -> Result<Vec<ExportTable>, ProviderError> {
    let account_project = bq.account().project_id.clone();
    let configured = bq.account().billing_dataset.clone();
    let tables = match configured {
        Some(text) => {
            let (project, dataset, table) = parse_billing_dataset(&text, &account_project)
                .ok_or_else(|| ProviderError::UnreadableCredential {
                    provider: PROVIDER,
                    reason: format!(
                        "\"billing_dataset\" \"{text}\" is not a dataset name (project.dataset)"
                    ),
                    advice: "set it to the project.dataset of the Cloud Billing export, e.g. \
                             my-project.billing_export"
                        .to_owned(),
                })?;
            let location = dataset_location(bq, &project, &dataset).await?;
            match table {
                Some(table) => TableId::new(&project, &dataset, &table)
                    .map(|id| vec![ExportTable { id, location }])
                    .unwrap_or_default(),
                None => export_tables_in(bq, &project, &dataset, location).await?,
            }
        }
        None => {
            let mut tables = Vec::new();
            for (dataset, location) in list_datasets(bq, &account_project).await? {
                tables.extend(export_tables_in(bq, &account_project, &dataset, location).await?);
            }
            tables
        }
    };
    if tables.is_empty() {
        return Err(no_export_table(bq));
    }
    let mut tables = tables;
    tables.sort_by(|a, b| a.id.cmp(&b.id));
    tables.dedup_by(|a, b| a.id == b.id);
    Ok(tables)
}

/// The datasets of `project` with their locations, following pageToken.
async fn list_datasets(
    bq: &mut BigQuery<'_>,
    project: &str,
) -> Result<Vec<(String, Option<String>)>, ProviderError> {
    let path = format!("/projects/{project}/datasets");
    let mut out = Vec::new();
    let mut guard = CursorGuard::new(MAX_LIST_PAGES);
    let mut token: Option<String> = None;
    let mut page = 1;
    loop {
        let mut query = vec![("maxResults", LIST_MAX_RESULTS.to_string())];
        if let Some(token) = &token {
            query.push(("pageToken", token.clone()));
        }
        let list: DatasetList = bq.get(&path, &query, page).await?;
        for item in list.datasets {
            if let Some(dataset) = item
                .dataset_reference
                .and_then(|reference| reference.dataset_id)
                .filter(|id| is_dataset_id(id))
            {
                out.push((dataset, item.location));
            }
        }
        let next = list.next_page_token.filter(|next| !next.is_empty());
        let at = At {
            endpoint: &path,
            page,
        };
        match guard.advance(PROVIDER, at, next)? {
            Some(next) => token = Some(next),
            None => return Ok(out),
        }
        page += 1;
    }
}

/// The location of `project.dataset`, from the project's dataset list; `None` when it is not
/// listed (BigQuery then finds the location from the table the query names).
async fn dataset_location(
    bq: &mut BigQuery<'_>,
    project: &str,
    dataset: &str,
) -> Result<Option<String>, ProviderError> {
    match list_datasets(bq, project).await {
        Ok(datasets) => Ok(datasets
            .into_iter()
            .find(|(id, _)| id == dataset)
            .and_then(|(_, location)| location)),
        // The account may read the dataset without being allowed to list the project's.
        Err(ProviderError::CredentialRejected { status: 403, .. })
        | Err(ProviderError::RequestRefused { status: 404, .. }) => Ok(None),
        Err(error) => Err(error),
    }
}

/// The `gcp_billing_export_v1_*` tables of one dataset.
async fn export_tables_in(
    bq: &mut BigQuery<'_>,
    project: &str,
    dataset: &str,
    location: Option<String>,
) -> Result<Vec<ExportTable>, ProviderError> {
    let path = format!("/projects/{project}/datasets/{dataset}/tables");
    let mut out = Vec::new();
    let mut guard = CursorGuard::new(MAX_LIST_PAGES);
    let mut token: Option<String> = None;
    let mut page = 1;
    loop {
        let mut query = vec![("maxResults", LIST_MAX_RESULTS.to_string())];
        if let Some(token) = &token {
            query.push(("pageToken", token.clone()));
        }
        let list: TableList = bq.get(&path, &query, page).await?;
        for item in list.tables {
            let Some(reference) = item.table_reference else {
                continue;
            };
            let Some(table) = reference
                .table_id
                .filter(|id| id.starts_with(EXPORT_TABLE_PREFIX))
            else {
                continue;
            };
            let table_project = reference.project_id.unwrap_or_else(|| project.to_owned());
            let table_dataset = reference.dataset_id.unwrap_or_else(|| dataset.to_owned());
            if let Some(id) = TableId::new(&table_project, &table_dataset, &table) {
                out.push(ExportTable {
                    id,
                    location: location.clone(),
                });
            }
        }
        let next = list.next_page_token.filter(|next| !next.is_empty());
        let at = At {
            endpoint: &path,
            page,
        };
        match guard.advance(PROVIDER, at, next)? {
            Some(next) => token = Some(next),
            None => return Ok(out),
        }
        page += 1;
    }
}

// ---- the query ----------------------------------------------------------------------------

/// A row of results by column name.
#[derive(Debug, Default)]
struct Row {
    cells: BTreeMap<String, Option<String>>,
    page: u32,
}

impl Row {
    fn text(&self, column: &str) -> Option<&str> {
        self.cells
            .get(column)
            .and_then(Option::as_deref)
            .map(str::trim)
    }
}

fn timestamp_parameter(name: &str, day: Day) -> serde_json::Value {
    serde_json::json!({
        "name": name,
        "parameterType": {"type": "TIMESTAMP"},
        "parameterValue": {"value": format!("{day} 00:00:00+00")},
    })
}

async fn run_query(
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

fn results_query(location: Option<&str>) -> Vec<(&'static str, String)> {
    let mut query = vec![("timeoutMs", QUERY_TIMEOUT_MS.to_string())];
    if let Some(location) = location {
        query.push(("location", location.to_owned()));
    }
    query
}

/// A finished job that reports errors and has no result schema failed. (BigQuery also lists
/// warnings in `errors` for jobs that succeeded: those have a schema and are only logged.)
fn check_job_errors(page: &QueryPage, endpoint: &str, number: u32) -> Result<(), ProviderError> {
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

fn unexpected(endpoint: &str, page: u32, detail: &str) -> ProviderError {
    ProviderError::UnexpectedPage {
        provider: PROVIDER,
        endpoint: endpoint.to_owned(),
        page,
        detail: detail.to_owned(),
    }
}

/// A cell's value as text: strings as they are, numbers and booleans as written, null as `None`.
fn cell_text(value: serde_json::Value) -> Option<String> {
    match value {
        serde_json::Value::Null => None,
        serde_json::Value::String(text) => Some(text),
        serde_json::Value::Number(number) => Some(number.to_string()),
        serde_json::Value::Bool(flag) => Some(flag.to_string()),
        other => Some(other.to_string()),
    }
}

// ---- mapping ------------------------------------------------------------------------------

fn row_error(row: &Row, detail: String) -> ProviderError {
    ProviderError::UnexpectedPage {
        provider: PROVIDER,
        endpoint: "query results".to_owned(),
        page: row.page,
        detail,
    }
}

/// A decimal cell, `None` (null or empty) as zero, exponent forms accepted.
fn decimal_cell(row: &Row, column: &str) -> Result<Decimal, ProviderError> {
    match row.text(column).filter(|text| !text.is_empty()) {
        None => Ok(Decimal::ZERO),
        Some(text) => {
            parse_decimal(text).map_err(|error| row_error(row, format!("column {column}: {error}")))
        }
    }
}

fn money_cell(row: &Row, column: &str) -> Result<Money, ProviderError> {
    let value = decimal_cell(row, column)?;
    Money::from_decimal(value).map_err(|error| row_error(row, format!("column {column}: {error}")))
}

fn to_count(value: Decimal) -> i64 {
    value
        .round_dp_with_strategy(0, RoundingStrategy::MidpointNearestEven)
        .to_i64()
        .unwrap_or(i64::MAX)
}

fn map_rows(
    rows: Vec<Row>,
    window: DayRange,
    fetched: &mut FetchedWindow,
) -> Result<(), ProviderError> {
    let mut projects: BTreeSet<String> = BTreeSet::new();
    let mut currencies: BTreeSet<String> = BTreeSet::new();
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
        let service = row.text("service").unwrap_or("");
        if !SERVICES.contains(&service) {
            // Only the queried services can come back; anything else is not AI spend.
            continue;
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
        currencies.insert(currency.as_str().to_owned());
        let cost = money_cell(row, "cost")?;
        // Negative in the export; positive in spendlens.
        let credits = -money_cell(row, "credits")?;
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
                    currency,
                    estimated: false,
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
                currency,
                estimated: false,
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
    let foreign: Vec<&String> = currencies.iter().filter(|c| c.as_str() != "USD").collect();
    if !foreign.is_empty() {
        let list: Vec<&str> = foreign.iter().map(|c| c.as_str()).collect();
        fetched.notes.push(format!(
            "The billing account is billed in {}: spendlens keeps these amounts in that \
             currency, as the billing export reports them, and does not convert them to USD",
            list.join(", ")
        ));
    }
    Ok(())
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

    #[test]
    fn billing_dataset_names_a_dataset_or_a_table() {
        assert_eq!(
            parse_billing_dataset("billing", "p"),
            Some(("p".into(), "billing".into(), None))
        );
        assert_eq!(
            parse_billing_dataset("other-proj.billing", "p"),
            Some(("other-proj".into(), "billing".into(), None))
        );
        assert_eq!(
            parse_billing_dataset("other-proj.billing.gcp_billing_export_v1_A", "p"),
            Some((
                "other-proj".into(),
                "billing".into(),
                Some("gcp_billing_export_v1_A".into())
            ))
        );
        assert_eq!(
            parse_billing_dataset("example.com:proj.billing", "p"),
            Some(("example.com:proj".into(), "billing".into(), None))
        );
        assert_eq!(parse_billing_dataset("proj.bad-dataset", "p"), None);
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
                    ("cost_type", Some("regular")),
                    ("cost", Some("1.5E-5")),
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
                    ("cost_type", Some("tax")),
                    ("cost", Some("0.19")),
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
            &mut fetched,
        )
        .unwrap();
        assert_eq!(fetched.costs.len(), 2);
        assert_eq!(fetched.costs[0].cost.nanos(), 15_000);
        assert_eq!(fetched.costs[0].credits, Money::ZERO);
        assert_eq!(fetched.costs[0].currency.as_str(), "EUR");
        assert_eq!(fetched.usage[0].tokens.output, 60);
        assert_eq!(fetched.costs[1].model.as_deref(), Some("tax"));
        assert_eq!(fetched.costs[1].workspace_id, None);
        assert_eq!(fetched.costs[1].category, Some(Category::Other));
        assert!(fetched.notes[0].contains("EUR"), "{:?}", fetched.notes);
    }
}
