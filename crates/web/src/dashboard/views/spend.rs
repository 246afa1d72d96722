//! The spend-over-time charts of a metric view: the page's chart stacked by the view's rows
//! and the Images panel's, drawn from `spendlens_query::over_time`, each click a plain link.

use askama::Template;
use spendlens_query::{View, ViewQuery};

use super::page::CHART_TOP;
use crate::dashboard::error::PageError;
use crate::dashboard::{charts, format};

/// A spend-over-time chart: its heading, the drawn SVG and its legend.
pub struct SpendChart {
    pub title: String,
    pub svg: String,
    pub legend: Vec<charts::stacked::StackLegend>,
    /// What a click on a bar or a legend entry shows.
    pub hint: String,
}

/// What a view's rows are called, for chart headings.
pub fn row_noun(view: View) -> &'static str {
    match view {
        View::Providers => "provider",
        View::Workspaces => "workspace",
        View::Keys => "API key",
        View::Models => "model",
        View::Customers => "customer",
        View::Products => "product",
        View::Agents => "agent",
    }
}

/// Draws a spend-over-time chart whose clicks filter `query`'s page.
pub fn spend_chart(
    query: &ViewQuery,
    chart: &spendlens_query::over_time::OverTime,
    what: &str,
    noun: &str,
) -> Result<SpendChart, PageError> {
    let grain = if chart.weekly { "week" } else { "day" };
    let link = |target: Option<&spendlens_query::over_time::Target>,
                days: Option<spendlens_domain::DayRange>| {
        super::filters::target_href(query, target, days)
    };
    let drawn = charts::stacked::stacked(
        &format!("{what} per {grain}, by {noun}"),
        chart,
        CHART_TOP,
        &link,
    );
    Ok(SpendChart {
        title: drawn.title.clone(),
        svg: drawn.render()?,
        hint: format!(
            "Click a bar to see that {grain} and {noun}, a name to see one {noun} over the period. Total {}.",
            format::money(chart.total())
        ),
        legend: drawn.legend,
    })
}
