//! Finding the billing export table: `billing_dataset` from the key JSON (`dataset`,
//! `project.dataset` or `project.dataset.table`), else every dataset of the key's project is
//! listed and its `gcp_billing_export_v1_*` tables are collected. Table ids are validated
//! before they are spliced into SQL.

use super::client::BigQuery;
use super::wire::{DatasetList, TableList};
use super::{PROVIDER, no_export_table};
use crate::error::ProviderError;
use crate::http::At;
use crate::paging::CursorGuard;

/// The prefix of the standard usage cost export tables.
const EXPORT_TABLE_PREFIX: &str = "gcp_billing_export_v1_";
/// Items per page of the dataset and table lists.
const LIST_MAX_RESULTS: u32 = 1_000;
pub(super) const MAX_LIST_PAGES: u32 = 1_000;

/// A table's full id, each part checked before it goes between backticks.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct TableId {
    pub(super) project: String,
    pub(super) dataset: String,
    pub(super) table: String,
}

impl TableId {
    pub(super) fn new(project: &str, dataset: &str, table: &str) -> Option<TableId> {
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

    pub(super) fn full(&self) -> String {
        format!("{}.{}.{}", self.project, self.dataset, self.table)
    }
}

pub(super) fn is_dataset_id(dataset: &str) -> bool {
    !dataset.is_empty()
        && dataset
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// `billing_dataset` of the key JSON: `dataset`, `project.dataset`, or
/// `project.dataset.gcp_billing_export_v1_…` (the project may itself contain dots, as a
/// domain-scoped `example.com:project` does).
pub(super) fn parse_billing_dataset(
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

/// How the export table is partitioned, as `tables.list` reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Partitioning {
    /// Not listed (`billing_dataset` named the table): the standard export is partitioned by
    /// ingestion time, so the pruned query is tried and an unpartitioned table falls back.
    Unknown,
    /// By ingestion time: `_PARTITIONTIME` (the standard export, doc §5).
    IngestionTime,
    /// On one of its columns.
    Column(String),
    /// Not partitioned: every query scans the whole table.
    None,
}

/// The export table and where its dataset lives.
#[derive(Clone, Debug)]
pub(super) struct ExportTable {
    pub(super) id: TableId,
    pub(super) location: Option<String>,
    pub(super) partitioning: Partitioning,
}

/// The export tables to choose from, sorted by full id; never empty (no table is an error).
pub(super) async fn export_tables(
    bq: &mut BigQuery<'_>,
) -> Result<Vec<ExportTable>, ProviderError> {
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
                    .map(|id| {
                        vec![ExportTable {
                            id,
                            location,
                            partitioning: Partitioning::Unknown,
                        }]
                    })
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
pub(super) async fn list_datasets(
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
pub(super) async fn dataset_location(
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
pub(super) async fn export_tables_in(
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
            let partitioning = match item.time_partitioning {
                None => Partitioning::None,
                Some(time) => match time.field.filter(|field| !field.is_empty()) {
                    Some(field) => Partitioning::Column(field),
                    None => Partitioning::IngestionTime,
                },
            };
            if let Some(id) = TableId::new(&table_project, &table_dataset, &table) {
                out.push(ExportTable {
                    id,
                    location: location.clone(),
                    partitioning,
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
