//! One query layer for every surface: the dashboard, the JSON API, CSV export and the CLI
//! read the same reports, so the four never disagree.
//!
//! Architecture invariant: this crate reads through the store's rollup API and knows no SQL,
//! HTTP or HTML; it only shapes numbers.

pub mod params;
pub mod table;
pub mod views;

pub use params::{View, ViewParams, ViewQuery};
pub use views::{Report, report};

#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    /// The request was wrong: the message says how.
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] spendlens_store::StoreError),
}
