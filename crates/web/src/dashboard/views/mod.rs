//! The metric views, one module each, and their CSV export: the cost views (Providers,
//! Workspaces, API Keys, Models) and the attribution views over metered calls (Customers,
//! Products, Agents, one module for the three).
//!
//! Each view renders the same `spendlens_query` report the API and CLI return, through the
//! query crate's one column model: summary cards, a donut and current-vs-previous bars, and a
//! table sorted and filtered by the URL. Tables show a page of rows plus one row summing the
//! rows on other pages, so the visible rows always add up to the total.

mod attribution;
mod cells;
mod coverage_panel;
mod filters;
mod keys;
mod models;
mod page;
mod providers;
mod refresh;
mod spend;
mod workspaces;

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use spendlens_query::views::Metrics;
use spendlens_query::{View, ViewParams};

pub use refresh::{refresh, sync_status};

use crate::AppState;
use crate::dashboard::charts::Pair;
use crate::dashboard::error::PageError;
use crate::dashboard::session::Viewer;
use filters::parse_query;
use page::{CHART_TOP, view_page};

#[derive(Debug, Default, Deserialize)]
pub struct PageParams {
    #[serde(flatten)]
    pub view: ViewParams,
    pub page: Option<String>,
    /// Reload every minute (a `<meta refresh>`, so it works without JavaScript).
    pub auto: Option<String>,
}

/// The largest rows by cost (then previous cost), for the current-vs-previous bars.
fn top_pairs<'a>(rows: impl Iterator<Item = (String, &'a Metrics)>) -> Vec<Pair> {
    let mut pairs: Vec<Pair> = rows
        .map(|(label, m)| Pair {
            label,
            current: m.cost,
            previous: m.previous_cost,
        })
        .collect();
    pairs.sort_by(|a, b| {
        b.current
            .cmp(&a.current)
            .then_with(|| b.previous.cmp(&a.previous))
    });
    pairs.truncate(CHART_TOP);
    pairs
}

pub async fn providers(
    State(state): State<Arc<AppState>>,
    viewer: Viewer,
    headers: HeaderMap,
    Query(params): Query<PageParams>,
) -> Result<Response, PageError> {
    view_page(&state, &viewer, &headers, View::Providers, params).await
}

pub async fn workspaces(
    State(state): State<Arc<AppState>>,
    viewer: Viewer,
    headers: HeaderMap,
    Query(params): Query<PageParams>,
) -> Result<Response, PageError> {
    view_page(&state, &viewer, &headers, View::Workspaces, params).await
}

pub async fn keys(
    State(state): State<Arc<AppState>>,
    viewer: Viewer,
    headers: HeaderMap,
    Query(params): Query<PageParams>,
) -> Result<Response, PageError> {
    view_page(&state, &viewer, &headers, View::Keys, params).await
}

pub async fn models(
    State(state): State<Arc<AppState>>,
    viewer: Viewer,
    headers: HeaderMap,
    Query(params): Query<PageParams>,
) -> Result<Response, PageError> {
    view_page(&state, &viewer, &headers, View::Models, params).await
}

pub async fn customers(
    State(state): State<Arc<AppState>>,
    viewer: Viewer,
    headers: HeaderMap,
    Query(params): Query<PageParams>,
) -> Result<Response, PageError> {
    view_page(&state, &viewer, &headers, View::Customers, params).await
}

pub async fn products(
    State(state): State<Arc<AppState>>,
    viewer: Viewer,
    headers: HeaderMap,
    Query(params): Query<PageParams>,
) -> Result<Response, PageError> {
    view_page(&state, &viewer, &headers, View::Products, params).await
}

pub async fn agents(
    State(state): State<Arc<AppState>>,
    viewer: Viewer,
    headers: HeaderMap,
    Query(params): Query<PageParams>,
) -> Result<Response, PageError> {
    view_page(&state, &viewer, &headers, View::Agents, params).await
}

/// CSV of exactly the view's rows, filters and sort (every page).
pub async fn export(
    State(state): State<Arc<AppState>>,
    viewer: Viewer,
    Path(view): Path<String>,
    Query(params): Query<PageParams>,
) -> Result<Response, PageError> {
    let view: View = view
        .trim_end_matches(".csv")
        .parse()
        .map_err(|_| PageError::NotFound(format!("view \"{view}\"")))?;
    let query = parse_query(&state, view, &params)?;
    let report = state.reports.report(viewer.org(), &query).await?;
    let csv = spendlens_query::table::to_csv(&report, &query.filters_text())
        .map_err(|e| PageError::Internal(e.to_string()))?;
    let filename = format!(
        "spendlens-{}-{}-{}.csv",
        view.as_str(),
        query.period.from(),
        query.period.to()
    );
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
        ],
        csv,
    )
        .into_response())
}
