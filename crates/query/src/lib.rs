//! One query layer for every surface: the dashboard, the JSON API, CSV export and the CLI
//! read the same reports, so the four never disagree.
//!
//! Architecture invariant: this crate reads through the store's rollup API and knows no SQL,
//! HTTP or HTML; it only shapes numbers.

pub mod anomaly;
pub mod attribution;
pub mod budget;
pub mod chargeback;
pub mod compliance;
pub mod coverage;
pub mod focus;
pub mod forecast;
pub mod history;
pub mod observed;
pub mod over_time;
pub mod params;
pub mod spend_days;
pub mod table;
mod view;
pub mod views;
pub mod work;

pub use params::{View, ViewParams, ViewQuery};
pub use views::{Report, report};

use spendlens_store::{OrgId, Store};

/// The reports service: every view, read through one store.
#[derive(Clone, Debug)]
pub struct Reports {
    store: Store,
}

impl Reports {
    pub fn new(store: Store) -> Reports {
        Reports { store }
    }

    /// One view of one organization, as every surface shows it.
    pub async fn report(&self, org: OrgId, query: &ViewQuery) -> Result<Report, QueryError> {
        views::report(&self.store, org, query).await
    }

    /// A view's cost over time, stacked by the report's rows.
    pub async fn over_time(
        &self,
        org: OrgId,
        query: &ViewQuery,
        report: &Report,
    ) -> Result<over_time::OverTime, QueryError> {
        over_time::over_time(&self.store, org, query, report).await
    }

    /// The Images panel's cost over time, stacked by model.
    pub async fn images_over_time(
        &self,
        org: OrgId,
        query: &ViewQuery,
        images: &views::ImagesSummary,
    ) -> Result<over_time::OverTime, QueryError> {
        over_time::images_over_time(&self.store, org, query, images).await
    }

    /// Coverage of one organization's bills by its metered traffic.
    pub async fn coverage(
        &self,
        org: OrgId,
        query: &coverage::CoverageQuery,
    ) -> Result<coverage::CoverageReport, QueryError> {
        coverage::coverage(&self.store, org, query).await
    }
}

#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    /// The request was wrong: the message says how.
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] spendlens_store::StoreError),
}
