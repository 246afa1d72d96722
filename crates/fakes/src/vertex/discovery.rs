//! `datasets.list` and `tables.list` for auto-discovery of `gcp_billing_export_v1_*` tables
//! (doc §3), per the [`ExportTables`] scenario:
//!
//! - `One`: dataset `billing_export` holds `gcp_billing_export_v1_<ACCOUNT>`, the detailed
//!   `gcp_billing_export_resource_v1_<ACCOUNT>` and `cloud_pricing_export`; dataset `analytics`
//!   holds an unrelated `events_daily`.
//! - `Two`: as `One`, plus a second billing account's `gcp_billing_export_v1_<OTHER>` (an old
//!   account: queries against it succeed with no rows).
//! - `None`: `billing_export` holds only `cloud_pricing_export`.
//! - `NoDatasets`: the project has no datasets (`datasets` is left out of the answer).
//!
//! Lists are sorted by id and paged with `maxResults` / `pageToken` (`nextPageToken`); empty
//! lists are left out, as Google does. A dataset that does not exist is a 404 `notFound`;
//! another project, or the export dataset in the access-denied scenario, a 403 `accessDenied`.
//! Under [`Fault::MissingField`](crate::Fault::MissingField) entries lack their
//! `datasetReference` / `tableReference`.

use std::sync::Arc;

use serde_json::{Map, Value, json};

use super::ExportTables;
use super::http::{ServerState, access_denied, invalid, not_found};
use super::query::max_results;
use crate::common::prng::mix;
use crate::common::query::Query;
use crate::common::respond::{ApiError, Prepared, Variant, json_bytes};

const ANALYTICS: &str = "analytics";
const DATASETS_SALT: u64 = 0xDA7A;
const TABLES_SALT: u64 = 0x7AB1E;

fn repeat_token(query: &Query, salt: u64) -> String {
    query
        .first("pageToken")
        .map_or_else(|| list_token(0, salt), str::to_owned)
}

fn list_token(offset: usize, salt: u64) -> String {
    format!("{offset}~{:08x}", mix(offset as u64 ^ salt) >> 32)
}

fn parse_list_token(text: &str, salt: u64) -> Option<usize> {
    let (offset, _) = text.split_once('~')?;
    let offset: usize = offset.parse().ok()?;
    (list_token(offset, salt) == text).then_some(offset)
}

/// A page of `items` from `pageToken`, at most `maxResults` (default: all).
fn page(
    items: Vec<Value>,
    query: &Query,
    salt: u64,
) -> Result<(Vec<Value>, Option<String>, u32), ApiError> {
    let size = max_results(
        query
            .first("maxResults")
            .map(|v| Value::String(v.to_owned()))
            .as_ref(),
    )?
    .map_or(usize::MAX, |n| (n as usize).max(1));
    let offset = match query.first("pageToken") {
        None => 0,
        Some(t) => parse_list_token(t, salt)
            .filter(|&o| o <= items.len())
            .ok_or_else(|| invalid("invalid", format!("Invalid page token: {t}")))?,
    };
    let end = offset.saturating_add(size).min(items.len());
    let next = (end < items.len()).then(|| list_token(end, salt));
    let number = u32::try_from(offset / size.max(1) + 1).unwrap_or(u32::MAX);
    Ok((items[offset..end].to_vec(), next, number))
}

/// One page of a list, ready to answer.
struct ListPage {
    kind: &'static str,
    field: &'static str,
    reference: &'static str,
    items: Vec<Value>,
    next: Option<String>,
    /// The token a repeated page returns: the one sent, or one leading back to the first page.
    repeat: String,
    page: u32,
    total: Option<usize>,
}

fn respond_list(list: ListPage) -> Prepared {
    let ListPage {
        kind,
        field,
        reference,
        items,
        next,
        repeat,
        page,
        total,
    } = list;
    Prepared {
        page,
        render: Arc::new(move |variant| {
            let mut out = Map::new();
            out.insert("kind".into(), json!(kind));
            out.insert("etag".into(), json!(format!("{:016x}", mix(page as u64))));
            if !items.is_empty() {
                let items: Vec<Value> = if variant == Variant::MissingField {
                    items
                        .iter()
                        .map(|i| {
                            let mut i = i.clone();
                            if let Some(map) = i.as_object_mut() {
                                map.remove(reference);
                            }
                            i
                        })
                        .collect()
                } else {
                    items.clone()
                };
                out.insert(field.into(), Value::Array(items));
            }
            let token = if variant == Variant::RepeatPage {
                Some(repeat.clone())
            } else {
                next.clone()
            };
            if let Some(t) = token {
                out.insert("nextPageToken".into(), json!(t));
            }
            if let Some(total) = total {
                out.insert("totalItems".into(), json!(total));
            }
            json_bytes(&Value::Object(out))
        }),
    }
}

/// `GET projects/{p}/datasets`.
pub(crate) fn datasets(
    state: &ServerState,
    project: &str,
    query: &Query,
) -> Result<Prepared, ApiError> {
    let config = &state.config;
    if project != config.project {
        return Err(access_denied(format!(
            "Access Denied: Project {project}: User does not have bigquery.datasets.get \
             permission in project {project}."
        )));
    }
    let mut names = vec![ANALYTICS.to_owned(), config.dataset.clone()];
    names.sort();
    names.dedup();
    if config.export_tables == ExportTables::NoDatasets {
        names.clear();
    }
    let items: Vec<Value> = names
        .iter()
        .map(|d| {
            json!({"kind": "bigquery#dataset", "id": format!("{project}:{d}"),
                   "datasetReference": {"datasetId": d, "projectId": project},
                   "location": config.location})
        })
        .collect();
    let (items, next, number) = page(items, query, DATASETS_SALT)?;
    Ok(respond_list(ListPage {
        kind: "bigquery#datasetList",
        field: "datasets",
        reference: "datasetReference",
        items,
        next,
        repeat: repeat_token(query, DATASETS_SALT),
        page: number,
        total: None,
    }))
}

/// `GET projects/{p}/datasets/{d}/tables`.
pub(crate) fn tables(
    state: &ServerState,
    project: &str,
    dataset: &str,
    query: &Query,
) -> Result<Prepared, ApiError> {
    let config = &state.config;
    if project != config.project {
        return Err(access_denied(format!(
            "Access Denied: Project {project}: User does not have bigquery.tables.list \
             permission in project {project}."
        )));
    }
    let exists = config.export_tables != ExportTables::NoDatasets
        && (dataset == config.dataset || dataset == ANALYTICS);
    if !exists {
        return Err(not_found(format!("Not found: Dataset {project}:{dataset}")));
    }
    if dataset == config.dataset && config.access_denied {
        return Err(access_denied(format!(
            "Access Denied: Dataset {project}:{dataset}: Permission bigquery.tables.list denied \
             on dataset {project}:{dataset} (or it may not exist)."
        )));
    }
    let mut names: Vec<(String, bool)> = if dataset == config.dataset {
        let account = config.table.trim_start_matches("gcp_billing_export_v1_");
        let mut names = vec![("cloud_pricing_export".to_owned(), false)];
        if matches!(config.export_tables, ExportTables::One | ExportTables::Two) {
            names.push((config.table.clone(), config.partitioned));
            names.push((format!("gcp_billing_export_resource_v1_{account}"), true));
        }
        if config.export_tables == ExportTables::Two {
            names.push((config.second_table.clone(), true));
        }
        names
    } else {
        vec![("events_daily".to_owned(), true)]
    };
    names.sort();
    let created = (state.data.first_day - 30) * 86_400_000;
    let items: Vec<Value> = names
        .iter()
        .map(|(t, partitioned)| {
            let mut table = json!({"kind": "bigquery#table", "id": format!("{project}:{dataset}.{t}"),
                "tableReference": {"projectId": project, "datasetId": dataset, "tableId": t},
                "type": "TABLE", "creationTime": created.to_string()});
            if *partitioned {
                table["timePartitioning"] = json!({"type": "DAY"});
            }
            table
        })
        .collect();
    let total = items.len();
    let (items, next, number) = page(items, query, TABLES_SALT)?;
    Ok(respond_list(ListPage {
        kind: "bigquery#tableList",
        field: "tables",
        reference: "tableReference",
        items,
        next,
        repeat: repeat_token(query, TABLES_SALT),
        page: number,
        total: Some(total),
    }))
}
