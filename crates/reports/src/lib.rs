//! PDF rendering of spendlens's reports: a [`doc::Doc`] (cover, headings, paragraphs, tables,
//! bar charts, alerts) is laid out into pages by [`layout`] — pure, measured with the embedded
//! font's own advances — and written by [`pdf`] with krilla: DejaVu Sans embedded (subset),
//! text selectable and extractable, "Page i of n" on every page, tables that break across pages
//! with their header repeated, and an alert (a broken audit chain) on the cover and in every
//! footer. [`chargeback`] and [`compliance`] turn the query layer's reports into documents.
//!
//! Architecture invariant: this crate renders; it reads nothing and decides no figure. Every
//! number it prints comes formatted from the report it is given.

pub mod chargeback;
pub mod compliance;
pub mod doc;
pub mod fonts;
pub mod layout;
pub mod pdf;

pub use doc::{BarChart, Block, Doc};

/// Why a PDF could not be written.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("the embedded font could not be read: {0}")]
    Font(&'static str),
    #[error("the PDF could not be written: {0}")]
    Pdf(String),
}
