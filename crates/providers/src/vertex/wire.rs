//! BigQuery's REST answers as serde types: the dataset and table lists, and `QueryResponse` /
//! `GetQueryResultsResponse` with the fields spendlens reads.

use serde::Deserialize;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct DatasetList {
    #[serde(default)]
    pub(super) datasets: Vec<DatasetItem>,
    pub(super) next_page_token: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct DatasetItem {
    pub(super) dataset_reference: Option<DatasetReference>,
    pub(super) location: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct DatasetReference {
    pub(super) dataset_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct TableList {
    #[serde(default)]
    pub(super) tables: Vec<TableItem>,
    pub(super) next_page_token: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct TableItem {
    pub(super) table_reference: Option<TableReference>,
    /// Absent when the table is not partitioned by time.
    pub(super) time_partitioning: Option<TimePartitioning>,
}

/// `timePartitioning` (its `type` is DAY, HOUR, MONTH or YEAR): for a table partitioned on one
/// of its columns, `field`; without `field` the table is partitioned by ingestion time
/// (`_PARTITIONTIME`).
#[derive(Deserialize, Clone, Debug)]
#[serde(rename_all = "camelCase")]
pub(super) struct TimePartitioning {
    pub(super) field: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct TableReference {
    pub(super) project_id: Option<String>,
    pub(super) dataset_id: Option<String>,
    pub(super) table_id: Option<String>,
}

/// `QueryResponse` and `GetQueryResultsResponse`: the fields spendlens reads.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct QueryPage {
    pub(super) job_reference: Option<JobReference>,
    pub(super) job_complete: Option<bool>,
    pub(super) schema: Option<Schema>,
    #[serde(default)]
    pub(super) rows: Vec<RowCells>,
    pub(super) page_token: Option<String>,
    #[serde(default)]
    pub(super) errors: Vec<ErrorProto>,
    /// int64 as a string, once the job is complete.
    pub(super) total_bytes_processed: Option<String>,
}

#[derive(Deserialize, Clone)]
#[serde(rename_all = "camelCase")]
pub(super) struct JobReference {
    pub(super) project_id: Option<String>,
    pub(super) job_id: Option<String>,
    pub(super) location: Option<String>,
}

#[derive(Deserialize, Clone)]
pub(super) struct Schema {
    #[serde(default)]
    pub(super) fields: Vec<Field>,
}

#[derive(Deserialize, Clone)]
pub(super) struct Field {
    pub(super) name: String,
}

#[derive(Deserialize)]
pub(super) struct RowCells {
    #[serde(default)]
    pub(super) f: Vec<Cell>,
}

#[derive(Deserialize)]
pub(super) struct Cell {
    #[serde(default)]
    pub(super) v: serde_json::Value,
}

#[derive(Deserialize)]
pub(super) struct ErrorProto {
    pub(super) reason: Option<String>,
    pub(super) message: Option<String>,
}
