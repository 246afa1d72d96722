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
//! 3. finds the services of the window (doc §6: service id, names, `transaction_type`,
//!    `seller_name`; `services.rs`): Google's AI services and partner models sold through
//!    Vertex count by default, the connection's include/exclude choices override; then runs
//!    the query of the doc §8 for the services that count with `jobs.query` (named
//!    parameters, `useLegacySql: false`, services matched by `service.id`, so a renamed
//!    service is still read and a note names any former name seen; grouped by
//!    `invoice.month` too; `maximumBytesBilled` from the key JSON's `maximum_bytes_billed`,
//!    default 20 GB), both pruned to the ingestion partitions of the window ±3 days, polls
//!    `getQueryResults` while a job runs and pages through it; the bytes BigQuery processed
//!    go in the sync's notes;
//! 4. maps each row — one (UTC day, service, SKU, project, currency, cost type) — to a billed
//!    cost (cost and credits, both exact NUMERIC sums read as strings) and, for usage, a usage
//!    record with tokens or the pricing unit's quantity, and sums each usage day's money per
//!    invoice month.
//!
//! Workspace = GCP project. Model and token direction come from the SKU description. Credits
//! are negative in the export; they are stored positive on the same line as the cost they
//! reduce, so a row fully covered by a credit nets to zero. Tax, adjustment and rounding rows
//! (`cost_type` other than `regular`) are kept as lines of their own (model `tax`,
//! `adjustment`, …, category `other`). An account billed in another currency (EUR, JPY, …)
//! is read with the export's `currency_conversion_rate` per row: each amount is kept as billed
//! and converted to USD exactly (`domain::billing::to_usd`, half to even at the nano-dollar),
//! and a note names the currency and rate. What the export cannot give: API keys (none), request
//! counts (`None`, shown N/A), and the last 24–48 h (a note says so).

mod client;
mod discovery;
mod key;
mod query;
mod rows;
mod services;
mod sku;
mod wire;

use spendlens_domain::{Credential, DayRange, FetchedWindow, ProviderKind};

use crate::error::ProviderError;
use crate::http::CallStats;
use crate::{ConnectionCheck, ConnectorConfig};
use client::BigQuery;
use discovery::export_tables;
use key::ServiceAccount;
use query::run_query;
use rows::map_rows;

pub(crate) const PROVIDER: ProviderKind = ProviderKind::Vertex;

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
    let outcome = run_query(&mut bq, &table, window, &config.services).await?;
    fetched.notes.extend(outcome.notes);
    let counted: std::collections::BTreeMap<String, String> = outcome
        .services
        .iter()
        .filter(|s| s.counted)
        .map(|s| (s.id.clone(), s.name.clone()))
        .collect();
    fetched.services = outcome.services;
    let cap = bq.account().maximum_bytes_billed;
    fetched.notes.push(match outcome.bytes_processed {
        Some(bytes) => format!(
            "BigQuery processed {bytes} bytes ({}) for this sync (cap: maximum_bytes_billed {cap} \
             bytes, {})",
            query::bytes_text(bytes),
            query::bytes_text(cap)
        ),
        None => format!(
            "BigQuery did not report the bytes this sync's query processed (cap: \
             maximum_bytes_billed {cap} bytes)"
        ),
    });
    map_rows(outcome.rows, window, &counted, &mut fetched)?;
    fetched.notes.push(format!(
        "Google's billing export lags 24–48 h and late usage keeps arriving: amounts for the last \
         days up to {} may still grow; spendlens reads recent days again on every sync",
        window.to()
    ));
    Ok(fetched)
}

pub(super) fn no_export_table(bq: &BigQuery<'_>) -> ProviderError {
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
