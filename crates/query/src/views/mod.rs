//! The four cost views built from the store's rollups (the attribution views are in
//! [`crate::attribution`]): rows with current and previous
//! cost, trend, share and usage, filtered, searched and sorted the same way for every surface.
//!
//! A report's totals are the sums of the rows it returns, so totals shown anywhere add up to
//! their rows.

mod catalog;
mod header;
mod keys;
mod metrics;
mod models;
mod providers;
mod sort;
mod workspaces;

#[cfg(test)]
mod tests;

use serde::Serialize;
use spendlens_store::{OrgId, Store};

use crate::QueryError;
use crate::coverage::CoverageMemory;
use crate::params::{View, ViewQuery};

pub(crate) use catalog::Catalog;
pub use header::Header;
pub(crate) use header::{set_shares, sum_requests, sum_usage};
pub use keys::{KeyViewRow, KeysReport, keys};
pub use metrics::{Metrics, cost_per_million, cost_per_unit, percent};
pub use models::{ImageRow, ImagesSummary, ModelViewRow, ModelsReport, models};
pub use providers::{ProviderRow, ProvidersReport, providers};
pub(crate) use sort::{compare_metrics, compare_opt, finish_sort};
pub use workspaces::{WorkspaceViewRow, WorkspacesReport, workspaces};

/// Any of the four reports.
#[derive(Clone, Debug, Serialize)]
#[serde(untagged)]
pub enum Report {
    Providers(ProvidersReport),
    Workspaces(WorkspacesReport),
    Keys(KeysReport),
    Models(ModelsReport),
    /// Customers, Products or Agents (the header's `view` says which).
    Attribution(crate::attribution::AttributionReport),
}

impl Report {
    pub fn header(&self) -> &Header {
        match self {
            Report::Providers(r) => &r.header,
            Report::Workspaces(r) => &r.header,
            Report::Keys(r) => &r.header,
            Report::Models(r) => &r.header,
            Report::Attribution(r) => &r.header,
        }
    }
}

/// Builds the report a query asks for (keeping nothing between calls: a server keeps its
/// coverage through [`crate::Reports::report`]).
pub async fn report(store: &Store, org: OrgId, query: &ViewQuery) -> Result<Report, QueryError> {
    report_kept(store, &CoverageMemory::default(), org, query).await
}

/// [`report`], with the coverage column's figures kept in `memory` while they are current.
pub async fn report_kept(
    store: &Store,
    memory: &CoverageMemory,
    org: OrgId,
    query: &ViewQuery,
) -> Result<Report, QueryError> {
    Ok(match query.view {
        View::Providers => Report::Providers(providers(store, memory, org, query).await?),
        View::Workspaces => Report::Workspaces(workspaces(store, memory, org, query).await?),
        View::Keys => Report::Keys(keys(store, memory, org, query).await?),
        View::Models => Report::Models(models(store, memory, org, query).await?),
        View::Customers | View::Products | View::Agents => {
            Report::Attribution(crate::attribution::report(store, org, query).await?)
        }
    })
}
