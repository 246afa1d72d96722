//! One metric view page: the report's sheet rendered as a paged table (each amount rounded
//! to the cent on its own; the total row states a rounding difference), with the view's
//! cards, charts and notes around it.

use std::sync::Arc;

use askama::Template;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use spendlens_domain::Money;
use spendlens_query::table::{ColumnId, Sheet, Value};
use spendlens_query::views::Report;
use spendlens_query::{View, ViewQuery};
use spendlens_store::{ConnectionRow, SyncRunFilter, SyncRunStatus};

use super::cells::{Cell, Column, is_summed_money, money_of};
use super::filters::{
    Drill, FilterForm, choice_options, default_query, drill_href, drill_of, filter_form, heading,
    href, keep_typed, page_number, parse_filters, state_pairs, view_path,
};
use super::spend::{SpendChart, row_noun, spend_chart};
use super::{PageParams, attribution, keys, models, providers, workspaces};
use crate::AppState;
use crate::dashboard::charts;
use crate::dashboard::error::PageError;
use crate::dashboard::session::Viewer;
use crate::dashboard::{Layout, format, respond};

/// Rows per page of a table.
pub const PAGE_SIZE: usize = 100;
/// Groups in a chart before the rest become "Other".
pub const CHART_TOP: usize = 6;

pub struct Card {
    pub label: String,
    pub value: String,
    pub sub: String,
}

pub fn card(label: &str, value: impl Into<String>, sub: impl Into<String>) -> Card {
    Card {
        label: label.to_owned(),
        value: value.into(),
        sub: sub.into(),
    }
}

/// The total work card of a view, as its table's total row counts it: requests where every
/// provider counts them; each provider's own unit beside them where one counts none (fal.ai
/// images or seconds, Runway credits — never added across units); N/A when part of it is
/// unknown (tokens of a provider that reports no request counts).
pub fn work_card(total: Option<&[spendlens_query::work::UnitAmount]>) -> Card {
    use spendlens_query::work;
    let Some(total) = total else {
        return card(
            "Total requests",
            "N/A",
            "a provider here counts no requests for its token usage",
        );
    };
    if work::is_requests_only(total) {
        let count = total
            .first()
            .map_or(spendlens_domain::Quantity::ZERO, |a| a.quantity);
        return card(
            "Total requests",
            crate::dashboard::format::quantity(count),
            "where providers report them",
        );
    }
    // The first unit large, the others in the line below: one figure per unit, never a sum.
    let amounts: Vec<String> = total
        .iter()
        .map(|a| {
            format!(
                "{} {}",
                crate::dashboard::format::compact_quantity(a.quantity),
                work::unit_words(&a.unit)
            )
        })
        .collect();
    let (first, rest) = amounts
        .split_first()
        .map_or(("", &[][..]), |(f, r)| (f.as_str(), r));
    let sub = if rest.is_empty() {
        "in the provider's own unit (it counts no requests)".to_owned()
    } else {
        format!(
            "and {} — each provider's own unit, never added together",
            rest.join(" · ")
        )
    };
    card("Total work", first, sub)
}

pub struct Pager {
    pub text: String,
    pub previous: Option<String>,
    pub next: Option<String>,
}

pub struct LegendItem {
    pub class: String,
    pub label: String,
    pub share: String,
    pub href: Option<String>,
}

/// The Models page's Images panel.
pub struct ImagesPanel {
    pub count: String,
    pub cost: String,
    pub per_image: String,
    pub rows: Vec<Vec<String>>,
    pub note: String,
    /// Image cost over time, stacked by model.
    pub chart: Option<SpendChart>,
}

#[derive(Template)]
#[template(path = "metric_view.html")]
pub struct MetricPage {
    pub images: Option<ImagesPanel>,
    /// The Providers view's coverage waterfall and causes.
    pub coverage: Option<super::coverage_panel::CoveragePanel>,
    /// The Providers view's forecast cards and anomalies (rendered `forecast_panel.html`).
    pub forecast: Option<String>,
    pub layout: Layout,
    pub heading: String,
    pub drill: Option<Drill>,
    pub period_text: String,
    pub filters: FilterForm,
    pub export_href: String,
    /// The Providers view's "Export FOCUS CSV" link: the shown period as explicit days.
    pub focus_href: Option<String>,
    pub auto_href: String,
    pub cards: Vec<Card>,
    /// Spend over time, stacked by the view's rows.
    pub spend: Option<SpendChart>,
    pub donut: String,
    pub donut_title: String,
    pub legend: Vec<LegendItem>,
    pub bars: String,
    pub bars_title: String,
    pub columns: Vec<Column>,
    pub rows: Vec<Vec<Cell>>,
    pub others: Option<Vec<Cell>>,
    pub totals: Vec<Cell>,
    pub pager: Option<Pager>,
    pub last_sync: String,
    pub running: usize,
    pub notes: Vec<String>,
    pub empty: Option<String>,
    /// A link under the empty-state message (the attribution views' "how to send events").
    pub empty_link: Option<(String, String)>,
    /// False when there is nothing to tabulate at all (no metered call yet): the page says how
    /// to start instead of showing an empty table.
    pub show_table: bool,
}

/// The period alone, as a query string (`?period=…`), for tabs whose other filters differ.
fn period_only(query: &ViewQuery) -> String {
    let params = query.to_params();
    href(
        "",
        &[
            ("period", params.period.unwrap_or_default()),
            ("from", params.from.unwrap_or_default()),
            ("to", params.to.unwrap_or_default()),
        ],
    )
}

/// The attribution views filter by the providers and models of the metered calls.
fn metered_choices(
    filters: &mut FilterForm,
    query: &ViewQuery,
    r: &spendlens_query::attribution::AttributionReport,
) {
    let provider_label = |p: &String| {
        p.parse::<spendlens_domain::ProviderKind>()
            .map_or_else(|_| p.clone(), |k| k.display_name().to_owned())
    };
    let chosen: Vec<(String, String)> = query
        .meter_providers
        .iter()
        .map(|p| (p.clone(), provider_label(p)))
        .collect();
    filters.providers = choice_options(
        "All providers",
        r.providers.iter().map(|p| (p.clone(), provider_label(p))),
        &chosen,
    );
    let chosen: Vec<(String, String)> = query
        .models
        .iter()
        .map(|m| (m.clone(), m.clone()))
        .collect();
    filters.models = choice_options(
        "All models",
        r.models.iter().map(|m| (m.clone(), m.clone())),
        &chosen,
    );
}

/// Decorates the cell of a row (by index) and column.
pub type Decorate<'a> = Box<dyn Fn(usize, ColumnId, &mut Cell) + Send + Sync + 'a>;

/// What a view adds around its table, and how it decorates its cells (links, badges, notes
/// under names) by column id.
pub struct Built<'a> {
    pub cards: Vec<Card>,
    pub donut: charts::Donut,
    pub bars: charts::Bars,
    pub notes: Vec<String>,
    pub key_label: Option<String>,
    pub images: Option<ImagesPanel>,
    pub decorate: Decorate<'a>,
}

/// The "Total cost" card every view leads with.
pub fn total_card(report: &Report) -> Card {
    let header = report.header();
    let (text, _, _) = format::trend(header.trend, header.trend_pct);
    let sub = if header.trend == spendlens_domain::Trend::NoHistory {
        // A previous figure beside "no comparable history" read as a contradiction: the figure
        // is what is stored for the previous period, which the data does not wholly cover.
        format!(
            "no trend: the data does not cover the whole previous period ({} stored for it)",
            format::money(header.previous_total_cost)
        )
    } else {
        format!(
            "{text} vs {} before",
            format::money(header.previous_total_cost)
        )
    };
    card("Total cost", format::money(header.total_cost), sub)
}

/// The labels of the current and the previous period, for chart legends.
pub fn period_labels(report: &Report) -> (String, String) {
    let header = report.header();
    (
        format::range(header.period),
        format::range(header.previous_period),
    )
}

/// A sortable column: clicking sorts by it, clicking again reverses.
fn column(query: &ViewQuery, title: &str, sort: Option<&str>, numeric: bool, auto: bool) -> Column {
    let Some(sort) = sort else {
        return Column {
            title: title.to_owned(),
            href: None,
            numeric,
            sorted: "none",
        };
    };
    let active = query.sort == sort;
    let descending_next = if active { !query.descending } else { numeric };
    let order = if descending_next { "desc" } else { "asc" };
    Column {
        title: title.to_owned(),
        href: Some(href(
            view_path(query.view),
            &state_pairs(
                query,
                &[
                    ("sort", Some(sort.to_owned())),
                    ("order", Some(order.to_owned())),
                ],
                auto,
            ),
        )),
        numeric,
        sorted: match (active, query.descending) {
            (false, _) => "none",
            (true, true) => "descending",
            (true, false) => "ascending",
        },
    }
}

/// The sync state the toolbar shows: last sync time and how many syncs run now.
async fn sync_state(
    state: &AppState,
    viewer: &Viewer,
    connections: &[ConnectionRow],
) -> Result<(String, usize), PageError> {
    let last = connections.iter().filter_map(|c| c.last_sync_at).max();
    let running = state
        .store()
        .list_sync_runs(
            viewer.org(),
            &SyncRunFilter {
                status: Some(SyncRunStatus::Running),
                limit: Some(100),
                ..SyncRunFilter::default()
            },
        )
        .await?
        .len();
    Ok((format::instant(last), running))
}

fn build<'a>(query: &'a ViewQuery, report: &'a Report) -> Built<'a> {
    match report {
        Report::Providers(r) => providers::build(query, report, r),
        Report::Workspaces(r) => workspaces::build(query, report, r),
        Report::Keys(r) => keys::build(query, report, r),
        Report::Models(r) => models::build(query, report, r),
        Report::Attribution(r) => attribution::build(query, report, r),
    }
}

/// The table of a page: header, the page's rows, a row for the other pages, the total row.
struct Rendered {
    columns: Vec<Column>,
    rows: Vec<Vec<Cell>>,
    others: Option<Vec<Cell>>,
    totals: Vec<Cell>,
}

fn render_table(
    sheet: &Sheet,
    query: &ViewQuery,
    auto: bool,
    shown: &[usize],
    others: &[usize],
    decorate: &dyn Fn(usize, ColumnId, &mut Cell),
) -> Rendered {
    let positions = sheet.shown(sheet.html);
    let columns = positions
        .iter()
        .map(|p| {
            let spec = &sheet.specs[*p];
            column(query, spec.title, spec.sort, spec.kind.is_numeric(), auto)
        })
        .collect();
    let all: Vec<usize> = (0..sheet.rows.len()).collect();
    let total_values = sheet.summary(&all, "Total");
    let others_values = (!others.is_empty()).then(|| {
        sheet.summary(
            others,
            &format!("{} rows on other pages", format::count(others.len() as i64)),
        )
    });
    let mut rows: Vec<Vec<Cell>> = shown
        .iter()
        .map(|index| {
            positions
                .iter()
                .map(|p| {
                    let spec = &sheet.specs[*p];
                    let mut cell =
                        Cell::of(spec, &sheet.rows[*index][*p], Some(&sheet.metrics[*index]));
                    decorate(*index, spec.id, &mut cell);
                    cell.col = spec.sort.unwrap_or_default();
                    cell
                })
                .collect()
        })
        .collect();
    let summary_cells = |values: &[Value]| -> Vec<Cell> {
        positions
            .iter()
            .map(|p| Cell {
                col: sheet.specs[*p].sort.unwrap_or_default(),
                ..Cell::of(&sheet.specs[*p], &values[*p], None)
            })
            .collect()
    };
    let mut others_row = others_values.as_deref().map(summary_cells);
    let mut totals = summary_cells(&total_values);
    // Money: the page's rows plus the other pages' row add up to the total.
    for (out, position) in positions.iter().enumerate() {
        if !is_summed_money(&sheet.specs[*position]) {
            continue;
        }
        let mut values: Vec<Money> = shown
            .iter()
            .map(|i| money_of(&sheet.rows[*i][*position]))
            .collect();
        if let Some(others) = &others_values {
            values.push(money_of(&others[*position]));
        }
        let total = money_of(&total_values[*position]);
        // Each amount rounded on its own reads the same everywhere; the total row states any
        // difference its rounded rows make.
        let texts: Vec<String> = values.iter().map(|m| format::money(*m)).collect();
        for ((row, text), index) in rows.iter_mut().zip(&texts).zip(shown) {
            // An unknown cost stays "unpriced", never $0.00.
            if sheet.rows[*index][*position] != Value::Unpriced {
                row[out].text.clone_from(text);
            }
        }
        if let (Some(row), Some(text)) = (others_row.as_mut(), texts.get(shown.len())) {
            row[out].text.clone_from(text);
        }
        totals[out].text = format::money(total);
        totals[out].sub = format::rounding_note(&values, total);
    }
    if let Some(row) = others_row.as_mut() {
        for cell in row.iter_mut().filter(|c| !c.class.contains("num")) {
            cell.class.push_str(" more");
        }
    }
    Rendered {
        columns,
        rows,
        others: others_row,
        totals,
    }
}

/// Renders one metric view.
pub async fn view_page(
    state: &Arc<AppState>,
    viewer: &Viewer,
    headers: &HeaderMap,
    view: View,
    params: PageParams,
) -> Result<Response, PageError> {
    // Filters that cannot be used are said on the form, with the values as typed; the page
    // shows the view unfiltered meanwhile (400, so scripts still see the failure).
    let (query, filter_error) = match parse_filters(state, view, &params) {
        Ok(query) => (query, None),
        Err(error) => (default_query(state, view)?, Some(error)),
    };
    let page_no = if filter_error.is_some() {
        1
    } else {
        page_number(&params)?
    };
    let auto = params.auto.as_deref() == Some("1");
    let report = state.reports.report(viewer.org(), &query).await?;
    let mut layout = Layout::new(state, viewer, headers, heading(view), view_path(view)).await?;
    if auto {
        layout.auto_refresh = Some(60);
    }
    // The metric tabs keep the period, custom range and provider; between cost and
    // attribution views only the period (their providers are named differently).
    let carried = drill_href("", &query, &[]);
    let period = period_only(&query);
    let on_attribution = query.view.attribution().is_some();
    for tab in &mut layout.tabs {
        let cost_tab = matches!(tab.href, "/providers" | "/workspaces" | "/keys" | "/models");
        let attribution_tab = matches!(tab.href, "/customers" | "/products" | "/agents");
        if (cost_tab && !on_attribution) || (attribution_tab && on_attribution) {
            tab.query.clone_from(&carried);
        } else if cost_tab || attribution_tab {
            tab.query.clone_from(&period);
        }
    }
    let header = report.header().clone();
    // One read of the connections serves the toolbar and the provider picker.
    let connections = state.store().list_connections(viewer.org()).await?;
    let (last_sync, running) = sync_state(state, viewer, &connections).await?;
    let workspace_names: Vec<String> = if matches!(view, View::Keys | View::Models) {
        let mut names: Vec<String> = state
            .store()
            .list_workspaces(viewer.org())
            .await?
            .into_iter()
            .map(|w| w.display_name)
            .collect();
        names.sort_by_key(|n| n.to_lowercase());
        names.dedup();
        names
    } else {
        Vec::new()
    };
    let mut filters = filter_form(&connections, &workspace_names, &query, auto);
    if let Report::Attribution(r) = &report {
        metered_choices(&mut filters, &query, r);
    }
    if let Some(error) = filter_error.clone() {
        keep_typed(&mut filters, &params, error);
    }
    let period_text = format!(
        "{} (UTC) compared with {} · amounts in {}",
        format::range(header.period),
        format::range(header.previous_period),
        header.currency
    );
    let export_href = href(
        &format!("/export/{}", view.as_str()),
        &state_pairs(&query, &[("auto", None)], false),
    );
    let focus_href = (view == View::Providers).then(|| {
        href(
            "/export/focus",
            &[
                ("from", query.period.from().to_string()),
                ("to", query.period.to().to_string()),
            ],
        )
    });
    let auto_href = href(
        view_path(view),
        &state_pairs(
            &query,
            &[(
                "auto",
                Some(if auto { String::new() } else { "1".to_owned() }),
            )],
            !auto,
        ),
    );
    let sheet = spendlens_query::table::sheet(&report);
    let built = build(&query, &report);
    let total_rows = sheet.rows.len();
    let pages = total_rows.div_ceil(PAGE_SIZE).max(1);
    if page_no > pages {
        return Err(PageError::NotFound(format!(
            "page {page_no} (this table has {pages} page{})",
            if pages == 1 { "" } else { "s" }
        )));
    }
    let start = (page_no - 1) * PAGE_SIZE;
    let end = (start + PAGE_SIZE).min(total_rows);
    let shown: Vec<usize> = (start..end).collect();
    let others: Vec<usize> = (0..start).chain(end..total_rows).collect();
    let table = render_table(&sheet, &query, auto, &shown, &others, &*built.decorate);
    let pager = (pages > 1).then(|| {
        let link = |n: usize| {
            href(view_path(view), &{
                let mut pairs = state_pairs(&query, &[], auto);
                pairs.push(("page", n.to_string()));
                pairs
            })
        };
        Pager {
            text: format!(
                "Rows {}–{} of {} · page {page_no} of {pages}",
                format::count(start as i64 + 1),
                format::count(end as i64),
                format::count(total_rows as i64)
            ),
            previous: (page_no > 1).then(|| link(page_no - 1)),
            next: (page_no < pages).then(|| link(page_no + 1)),
        }
    });
    let drill = drill_of(&query, auto, built.key_label.clone());
    let no_calls = match &report {
        Report::Attribution(r) if !r.has_metered_calls => Some(attribution::no_calls_text(r)),
        _ => None,
    };
    let empty = (total_rows == 0).then(|| {
        if let Some(text) = no_calls.clone() {
            text
        } else if query.view.attribution().is_some()
            && (query.search.is_some()
                || query.min_cost.is_some()
                || query.max_cost.is_some()
                || !query.meter_providers.is_empty()
                || !query.models.is_empty())
        {
            "No rows match these filters.".to_owned()
        } else if query.view.attribution().is_some() {
            "No metered calls in this period. Choose a longer period.".to_owned()
        } else if query.search.is_some()
            || query.min_cost.is_some()
            || query.max_cost.is_some()
            || !query.providers.is_empty()
        {
            "No rows match these filters.".to_owned()
        } else {
            "No spend in this period yet. Add a connection and sync it, or choose a longer period."
                .to_owned()
        }
    });
    let Built {
        mut cards,
        donut,
        bars,
        notes,
        mut images,
        ..
    } = built;
    // The card's "connected" is the Connections table's: connections whose status is
    // Connected, not providers shown.
    if let Some(card) = cards
        .iter_mut()
        .find(|c| view == View::Providers && c.label == "Providers with spend")
    {
        let connected = connections
            .iter()
            .filter(|c| c.status == spendlens_store::ConnectionStatus::Connected)
            .count();
        card.sub = format!(
            "{connected} of {} connection{} connected",
            connections.len(),
            if connections.len() == 1 { "" } else { "s" }
        );
    }
    let spend = if total_rows == 0 {
        None
    } else {
        let over = state
            .reports
            .over_time(
                viewer.org(),
                &query,
                &report,
                crate::dashboard::charts::stacked::apart(CHART_TOP),
            )
            .await?;
        Some(spend_chart(&query, &over, "Spend", row_noun(view))?)
    };
    if let (Some(panel), Report::Models(r)) = (images.as_mut(), &report) {
        let over = state
            .reports
            .images_over_time(viewer.org(), &query, &r.images)
            .await?;
        panel.chart = Some(spend_chart(&query, &over, "Image spend", "model")?);
    }
    let coverage = match &report {
        Report::Providers(r) => super::coverage_panel::panel(r)?,
        _ => None,
    };
    let forecast = match &report {
        Report::Providers(_) => {
            crate::dashboard::forecast_panel::for_page(state, viewer.org()).await?
        }
        _ => None,
    };
    let template = MetricPage {
        images,
        coverage,
        forecast,
        layout,
        heading: heading(view).to_owned(),
        drill,
        period_text,
        filters,
        export_href,
        focus_href,
        auto_href,
        cards,
        spend,
        donut: donut.render()?,
        donut_title: donut.title.clone(),
        legend: donut
            .segments
            .iter()
            .map(|s| LegendItem {
                class: s.class.clone(),
                label: s.label.clone(),
                share: s.share.clone(),
                href: s.href.clone(),
            })
            .collect(),
        bars: bars.render()?,
        bars_title: bars.title.clone(),
        columns: table.columns,
        rows: table.rows,
        others: table.others,
        totals: table.totals,
        pager,
        last_sync,
        running,
        notes,
        empty,
        empty_link: no_calls.as_ref().map(|_| {
            (
                "Create an SDK key".to_owned(),
                attribution::SEND_EVENTS_HREF.to_owned(),
            )
        }),
        show_table: no_calls.is_none(),
    };
    let status = if filter_error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    respond(&template.layout, headers, status, &template)
}
