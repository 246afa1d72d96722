//! The four metric views (Providers, Workspaces, API Keys, Models), their CSV export, the
//! "Refresh data" action and the sync progress the page polls.
//!
//! Each view renders the same `spendlens_query` report the API and CLI return: summary cards,
//! a donut and current-vs-previous bars, and a table sorted and filtered by the URL. Tables show
//! a page of rows plus one row summing the rows on other pages, so the visible rows always add
//! up to the total.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Form, Json};
use serde::Deserialize;
use spendlens_domain::{Day, Money, ProviderKind};
use spendlens_query::views::{Metrics, Report};
use spendlens_query::{View, ViewParams, ViewQuery};
use spendlens_store::{ConnectionRow, SyncRunFilter, SyncRunStatus};

use crate::AppState;
use crate::dashboard::charts::{self, Pair, Slice};
use crate::dashboard::error::PageError;
use crate::dashboard::session::{Viewer, flash, redirect_with};
use crate::dashboard::{Layout, format, respond};

/// The money columns a table may show, in the order of `Built::money_slots`: cost, credits,
/// net cost, previous cost.
const MONEY_FIELDS: [fn(&Metrics) -> Money; 4] = [
    |m| m.cost,
    |m| m.credits,
    |m| m.net_cost,
    |m| m.previous_cost,
];

/// Rows per page of a table.
pub const PAGE_SIZE: usize = 100;
/// Groups in a chart before the rest become "Other".
const CHART_TOP: usize = 6;

#[derive(Debug, Default, Deserialize)]
pub struct PageParams {
    #[serde(flatten)]
    pub view: ViewParams,
    pub page: Option<String>,
    /// Reload every minute (a `<meta refresh>`, so it works without JavaScript).
    pub auto: Option<String>,
}

pub struct Card {
    pub label: String,
    pub value: String,
    pub sub: String,
}

pub struct Column {
    pub title: String,
    pub href: Option<String>,
    pub numeric: bool,
    pub sorted: &'static str,
}

#[derive(Default)]
pub struct Cell {
    pub text: String,
    pub class: String,
    pub href: Option<String>,
    pub title: Option<String>,
    pub badges: Vec<(String, String)>,
    pub sub: Option<String>,
    pub star: bool,
}

impl Cell {
    fn text(text: impl Into<String>) -> Cell {
        Cell {
            text: text.into(),
            ..Cell::default()
        }
    }

    fn num(text: impl Into<String>) -> Cell {
        Cell {
            text: text.into(),
            class: "num".to_owned(),
            ..Cell::default()
        }
    }

    fn link(text: impl Into<String>, href: String) -> Cell {
        Cell {
            text: text.into(),
            href: Some(href),
            ..Cell::default()
        }
    }

    fn badges(providers: &[ProviderKind]) -> Cell {
        Cell {
            badges: providers
                .iter()
                .map(|p| (p.as_str().to_owned(), p.display_name().to_owned()))
                .collect(),
            ..Cell::default()
        }
    }

    fn trend(metrics: &Metrics) -> Cell {
        let (text, class, label) = format::trend(metrics.trend, metrics.trend_pct);
        Cell {
            text,
            class: format!("num {class}"),
            title: Some(format!(
                "{label}; previous period {}",
                format::money(metrics.previous_cost)
            )),
            ..Cell::default()
        }
    }

    fn requests(value: Option<i64>) -> Cell {
        match value {
            Some(n) => Cell::num(format::count(n)),
            None => Cell {
                text: "N/A".to_owned(),
                class: "num na".to_owned(),
                title: Some(
                    "This provider's billing API does not report request counts".to_owned(),
                ),
                ..Cell::default()
            },
        }
    }
}

pub struct ProviderOption {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

pub struct FilterForm {
    pub action: String,
    pub presets: Vec<ProviderOption>,
    pub custom: bool,
    pub from: String,
    pub to: String,
    pub providers: Vec<ProviderOption>,
    pub search: String,
    pub min_cost: String,
    pub max_cost: String,
    pub sort: String,
    pub order: String,
    pub workspace: Option<String>,
    pub key: Option<String>,
    pub auto: bool,
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
}

/// The Models page's Images panel.
pub struct ImagesPanel {
    pub count: String,
    pub cost: String,
    pub per_image: String,
    pub rows: Vec<Vec<String>>,
    pub note: String,
}

#[derive(Template)]
#[template(path = "metric_view.html")]
pub struct MetricPage {
    pub images: Option<ImagesPanel>,
    pub layout: Layout,
    pub heading: String,
    pub drill: Option<(String, String)>,
    pub period_text: String,
    pub filters: FilterForm,
    pub export_href: String,
    pub auto_href: String,
    pub cards: Vec<Card>,
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
}

/// Query-string encoding of (key, value) pairs.
fn query_string(pairs: &[(&str, String)]) -> String {
    let mut serializer = url::form_urlencoded::Serializer::new(String::new());
    for (key, value) in pairs {
        if !value.is_empty() {
            serializer.append_pair(key, value);
        }
    }
    serializer.finish()
}

/// A view's parameters as URL pairs, with overrides.
fn state_pairs(
    query: &ViewQuery,
    overrides: &[(&str, Option<String>)],
    auto: bool,
) -> Vec<(&'static str, String)> {
    let params = query.to_params();
    let mut pairs: Vec<(&'static str, String)> = vec![
        ("period", params.period.unwrap_or_default()),
        ("from", params.from.unwrap_or_default()),
        ("to", params.to.unwrap_or_default()),
        ("provider", params.provider.unwrap_or_default()),
        ("search", params.search.unwrap_or_default()),
        ("min_cost", params.min_cost.unwrap_or_default()),
        ("max_cost", params.max_cost.unwrap_or_default()),
        ("sort", params.sort.unwrap_or_default()),
        ("order", params.order.unwrap_or_default()),
        ("workspace", params.workspace.unwrap_or_default()),
        ("key", params.key.unwrap_or_default()),
        ("auto", if auto { "1".to_owned() } else { String::new() }),
    ];
    for (name, value) in overrides {
        if let Some(slot) = pairs.iter_mut().find(|(k, _)| k == name) {
            slot.1 = value.clone().unwrap_or_default();
        }
    }
    pairs
}

fn href(path: &str, pairs: &[(&str, String)]) -> String {
    let query = query_string(pairs);
    if query.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{query}")
    }
}

/// Carries the period and provider filter into a drill-down link.
fn drill_href(path: &str, query: &ViewQuery, extra: &[(&str, String)]) -> String {
    let params = query.to_params();
    let mut pairs: Vec<(&str, String)> = vec![
        ("period", params.period.unwrap_or_default()),
        ("from", params.from.unwrap_or_default()),
        ("to", params.to.unwrap_or_default()),
        ("provider", params.provider.unwrap_or_default()),
    ];
    pairs.extend(extra.iter().cloned());
    href(path, &pairs)
}

fn view_path(view: View) -> &'static str {
    match view {
        View::Providers => "/providers",
        View::Workspaces => "/workspaces",
        View::Keys => "/keys",
        View::Models => "/models",
    }
}

fn heading(view: View) -> &'static str {
    match view {
        View::Providers => "Providers",
        View::Workspaces => "Workspaces",
        View::Keys => "API Keys",
        View::Models => "Models",
    }
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

fn card(label: &str, value: impl Into<String>, sub: impl Into<String>) -> Card {
    Card {
        label: label.to_owned(),
        value: value.into(),
        sub: sub.into(),
    }
}

fn trend_sub(metrics_cost: Money, previous: Money) -> String {
    let (text, _, _) = format::trend(
        spendlens_domain::trend::trend(metrics_cost, previous),
        spendlens_domain::trend::trend_pct(metrics_cost, previous),
    );
    format!("{text} vs {} before", format::money(previous))
}

fn filter_form(connections: &[ConnectionRow], query: &ViewQuery, auto: bool) -> FilterForm {
    let mut providers: Vec<ProviderKind> = connections.iter().map(|c| c.provider).collect();
    providers.sort();
    providers.dedup();
    let selected = query.providers.first().copied();
    let mut options = vec![ProviderOption {
        value: String::new(),
        label: "All providers".to_owned(),
        selected: selected.is_none(),
    }];
    options.extend(providers.iter().map(|p| ProviderOption {
        value: p.as_str().to_owned(),
        label: p.display_name().to_owned(),
        selected: selected == Some(*p),
    }));
    let params = query.to_params();
    let preset = params.period.clone().unwrap_or_default();
    let presets = [
        ("last-7-days", "Last 7 days"),
        ("last-30-days", "Last 30 days"),
        ("last-90-days", "Last 90 days"),
        ("this-month", "This month"),
        ("last-month", "Last month"),
        ("", "Custom range"),
    ]
    .into_iter()
    .map(|(value, label)| ProviderOption {
        value: value.to_owned(),
        label: label.to_owned(),
        selected: value == preset,
    })
    .collect();
    FilterForm {
        action: view_path(query.view).to_owned(),
        presets,
        custom: query.preset.is_none(),
        from: query.period.from().to_string(),
        to: query.period.to().to_string(),
        providers: options,
        search: query.search.clone().unwrap_or_default(),
        min_cost: query
            .min_cost
            .map(|m| m.to_exact_string())
            .unwrap_or_default(),
        max_cost: query
            .max_cost
            .map(|m| m.to_exact_string())
            .unwrap_or_default(),
        sort: query.sort.clone(),
        order: if query.descending { "desc" } else { "asc" }.to_owned(),
        workspace: query.workspace.clone(),
        key: query.key.map(|k| k.0.to_string()),
        auto,
    }
}

/// Parses the URL into a query, with a 400 page naming the bad value.
fn parse_query(state: &AppState, view: View, params: &PageParams) -> Result<ViewQuery, PageError> {
    let mut view_params = params.view.clone();
    // A custom range in the form replaces the preset.
    if view_params.from.as_deref().is_some_and(|f| !f.is_empty())
        && view_params.to.as_deref().is_some_and(|t| !t.is_empty())
    {
        view_params.period = None;
    }
    ViewQuery::parse(view, &view_params, Day::of(state.engine.now())).map_err(|err| {
        PageError::BadRequest(format!(
            "This filter cannot be used: {err}. Fix it, or start again from {}.",
            view_path(view)
        ))
    })
}

fn page_number(params: &PageParams) -> Result<usize, PageError> {
    match params
        .page
        .as_deref()
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        None => Ok(1),
        Some(text) => text
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=1_000_000).contains(n))
            .ok_or_else(|| {
                PageError::BadRequest(format!("page must be a positive number, not \"{text}\""))
            }),
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

/// Renders one metric view.
async fn view_page(
    state: &AppState,
    viewer: &Viewer,
    headers: &HeaderMap,
    view: View,
    params: PageParams,
) -> Result<Response, PageError> {
    let query = parse_query(state, view, &params)?;
    let page_no = page_number(&params)?;
    let auto = params.auto.as_deref() == Some("1");
    let report = spendlens_query::report(state.store(), viewer.org(), &query).await?;
    let mut layout = Layout::new(state, viewer, headers, heading(view), view_path(view)).await?;
    if auto {
        layout.auto_refresh = Some(60);
    }
    let header = report.header().clone();
    // One read of the connections serves the toolbar and the provider picker.
    let connections = state.store().list_connections(viewer.org()).await?;
    let (last_sync, running) = sync_state(state, viewer, &connections).await?;
    let filters = filter_form(&connections, &query, auto);
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
    let built = build(&query, &report, auto);
    let total_rows = built.rows.len();
    let pages = total_rows.div_ceil(PAGE_SIZE).max(1);
    if page_no > pages {
        return Err(PageError::NotFound(format!(
            "page {page_no} (this table has {pages} page{})",
            if pages == 1 { "" } else { "s" }
        )));
    }
    let start = (page_no - 1) * PAGE_SIZE;
    let end = (start + PAGE_SIZE).min(total_rows);
    // Money cells: the rows shown plus the rows on other pages add up to the total.
    let shown: Vec<usize> = (start..end).collect();
    let others: Vec<usize> = (0..start).chain(end..total_rows).collect();
    let totals_of_fields = [
        header.total_cost,
        header.total_credits,
        header.total_net_cost,
        header.previous_total_cost,
    ];
    let mut money_text: Vec<Vec<String>> = Vec::new();
    for (field, total) in MONEY_FIELDS.iter().zip(totals_of_fields) {
        let mut values: Vec<Money> = shown.iter().map(|i| field(&built.metrics[*i])).collect();
        if !others.is_empty() {
            values.push(others.iter().map(|i| field(&built.metrics[*i])).sum());
        }
        money_text.push(format::money_column(&values, total));
    }
    let mut rows = Vec::with_capacity(shown.len());
    let mut cells_source = built.rows;
    for (position, index) in shown.iter().enumerate() {
        let mut cells = std::mem::take(&mut cells_source[*index]);
        fill_money(&mut cells, &built.money_slots, &money_text, position);
        rows.push(cells);
    }
    let others_row = (!others.is_empty()).then(|| {
        let position = shown.len();
        let metrics: Vec<&Metrics> = others.iter().map(|i| &built.metrics[*i]).collect();
        let mut cells = summary_cells(
            &built.columns,
            &format!("{} rows on other pages", format::count(others.len() as i64)),
            &metrics,
        );
        fill_money(&mut cells, &built.money_slots, &money_text, position);
        for cell in &mut cells {
            if !cell.class.contains("num") {
                cell.class.push_str(" more");
            }
        }
        cells
    });
    let all_metrics: Vec<&Metrics> = built.metrics.iter().collect();
    let mut totals = summary_cells(&built.columns, "Total", &all_metrics);
    for (slot, total) in built.money_slots.iter().zip(totals_of_fields) {
        if let Some(slot) = slot
            && let Some(cell) = totals.get_mut(*slot)
        {
            cell.text = format::money(total);
        }
    }
    if let Some(trend_slot) = built.trend_slot
        && let Some(cell) = totals.get_mut(trend_slot)
    {
        let (text, class, _) = format::trend(header.trend, header.trend_pct);
        cell.text = text;
        cell.class = format!("num {class}");
    }
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
    let drill = match (&query.workspace, query.key) {
        (Some(workspace), _) => Some((
            format!("Only workspace “{workspace}”"),
            href(
                view_path(view),
                &state_pairs(&query, &[("workspace", None)], auto),
            ),
        )),
        (None, Some(key)) => Some((
            format!(
                "Only API key {}",
                built.key_label.unwrap_or_else(|| key.0.to_string())
            ),
            href(
                view_path(view),
                &state_pairs(&query, &[("key", None)], auto),
            ),
        )),
        _ => None,
    };
    let empty = (total_rows == 0).then(|| {
        if query.search.is_some()
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
    let images = match &report {
        Report::Models(r) if !r.images.rows.is_empty() => Some(ImagesPanel {
            count: format::quantity(r.images.image_count),
            cost: format::money(r.images.image_cost),
            per_image: format::rate(r.images.cost_per_image),
            rows: {
                let costs = format::money_column(
                    &r.images.rows.iter().map(|i| i.cost).collect::<Vec<_>>(),
                    r.images.image_cost,
                );
                r.images
                    .rows
                    .iter()
                    .zip(costs)
                    .map(|(i, cost)| {
                        vec![
                            i.model.clone(),
                            i.provider.display_name().to_owned(),
                            i.size.clone().unwrap_or_else(|| "not reported".to_owned()),
                            format::quantity(i.images),
                            format::share(i.share_of_images_pct),
                            cost,
                            format::rate(i.cost_per_image),
                        ]
                    })
                    .collect()
            },
            note: r.images.note.to_owned(),
        }),
        _ => None,
    };
    let template = MetricPage {
        images,
        layout,
        heading: heading(view).to_owned(),
        drill,
        period_text,
        filters,
        export_href,
        auto_href,
        cards: built.cards,
        donut: built.donut.render()?,
        donut_title: built.donut.title.clone(),
        legend: built
            .donut
            .segments
            .iter()
            .map(|s| LegendItem {
                class: s.class.clone(),
                label: s.label.clone(),
                share: s.share.clone(),
            })
            .collect(),
        bars: built.bars.render()?,
        bars_title: built.bars.title.clone(),
        columns: built.columns,
        rows,
        others: others_row,
        totals,
        pager,
        last_sync,
        running,
        notes: built.notes,
        empty,
    };
    respond(&template.layout, headers, StatusCode::OK, &template)
}

fn fill_money(
    cells: &mut [Cell],
    slots: &[Option<usize>; 4],
    money: &[Vec<String>],
    position: usize,
) {
    for (slot, column) in slots.iter().zip(money) {
        if let (Some(slot), Some(text)) = (slot, column.get(position))
            && let Some(cell) = cells.get_mut(*slot)
        {
            cell.text = text.clone();
        }
    }
}

/// A row of sums (tokens, requests) under the given label; money is filled in separately.
fn summary_cells(columns: &[Column], label: &str, metrics: &[&Metrics]) -> Vec<Cell> {
    let requests = metrics
        .iter()
        .try_fold(0i64, |acc, m| m.requests.map(|r| acc.saturating_add(r)));
    let tokens: i64 = metrics.iter().map(|m| m.total_tokens).sum();
    let input: i64 = metrics.iter().map(|m| m.input_tokens).sum();
    let output: i64 = metrics.iter().map(|m| m.output_tokens).sum();
    columns
        .iter()
        .enumerate()
        .map(|(index, column)| {
            if index == 0 {
                return Cell::text(label);
            }
            match column.title.as_str() {
                "Tokens" => Cell::num(format::compact(tokens)),
                "Input tokens" => Cell::num(format::compact(input)),
                "Output tokens" => Cell::num(format::compact(output)),
                "Requests" => Cell::requests(requests),
                "Share" | "% of total" => {
                    Cell::num(if metrics.is_empty() { "—" } else { "100.0%" })
                }
                _ if column.numeric => Cell::num(""),
                _ => Cell::text(""),
            }
        })
        .collect()
}

/// Everything a view contributes: cards, charts, columns, rows (money filled in later) and
/// which columns hold money.
struct Built {
    cards: Vec<Card>,
    donut: charts::Donut,
    bars: charts::Bars,
    columns: Vec<Column>,
    rows: Vec<Vec<Cell>>,
    metrics: Vec<Metrics>,
    /// Column indexes of cost, credits, net cost and previous cost (if shown).
    money_slots: [Option<usize>; 4],
    trend_slot: Option<usize>,
    notes: Vec<String>,
    key_label: Option<String>,
}

fn period_labels(report: &Report) -> (String, String) {
    let header = report.header();
    (
        format::range(header.period),
        format::range(header.previous_period),
    )
}

fn build(query: &ViewQuery, report: &Report, auto: bool) -> Built {
    let (current_label, previous_label) = period_labels(report);
    let header = report.header();
    let total_card = card(
        "Total cost",
        format::money(header.total_cost),
        trend_sub(header.total_cost, header.previous_total_cost),
    );
    let col =
        |title: &str, sort: Option<&str>, numeric: bool| column(query, title, sort, numeric, auto);
    match report {
        Report::Providers(r) => {
            let columns = vec![
                col("Provider", Some("provider"), false),
                col("Cost", Some("cost"), true),
                col("Share", Some("share"), true),
                col("Credits", Some("credits"), true),
                col("Net cost", Some("net_cost"), true),
                col("Previous", Some("previous_cost"), true),
                col("Trend", Some("trend"), true),
                col("Input tokens", None, true),
                col("Output tokens", None, true),
                col("Requests", Some("requests"), true),
                col("Coverage", None, true),
            ];
            let rows = r
                .rows
                .iter()
                .map(|row| {
                    vec![
                        Cell {
                            badges: vec![(row.provider.as_str().to_owned(), row.provider_name.to_owned())],
                            href: Some(drill_href("/workspaces", query, &[("provider", row.provider.as_str().to_owned())])),
                            sub: Some(row.connections.join(", ")),
                            ..Cell::default()
                        },
                        Cell::num(""),
                        Cell::num(format::share(row.metrics.share_pct)),
                        Cell::num(""),
                        Cell::num(""),
                        Cell::num(""),
                        Cell::trend(&row.metrics),
                        Cell::num(format::compact(row.metrics.input_tokens)),
                        Cell::num(format::compact(row.metrics.output_tokens)),
                        Cell::requests(row.metrics.requests),
                        Cell {
                            text: "N/A".to_owned(),
                            class: "num na".to_owned(),
                            title: Some("Coverage (metered ÷ billed spend) appears once applications report their AI calls".to_owned()),
                            ..Cell::default()
                        },
                    ]
                })
                .collect();
            let slices = r
                .rows
                .iter()
                .map(|row| Slice {
                    label: row.provider_name.to_owned(),
                    value: row.metrics.cost,
                })
                .collect();
            let pairs: Vec<Pair> = r
                .rows
                .iter()
                .take(CHART_TOP)
                .map(|row| Pair {
                    label: row.provider_name.to_owned(),
                    current: row.metrics.cost,
                    previous: row.metrics.previous_cost,
                })
                .collect();
            Built {
                cards: vec![
                    total_card,
                    card(
                        "Credits applied",
                        format::money(header.total_credits),
                        "credits and refunds from providers",
                    ),
                    card(
                        "Net cost",
                        format::money(header.total_net_cost),
                        "cost minus credits",
                    ),
                    card(
                        "Providers with spend",
                        r.provider_count.to_string(),
                        format!("{} connected", r.rows.len()),
                    ),
                    card(
                        "Coverage",
                        "N/A",
                        "metered ÷ billed spend, once metering is set up",
                    ),
                ],
                donut: charts::donut("Cost by provider", slices, CHART_TOP),
                bars: charts::bars(
                    "Cost by provider, this period vs the previous one",
                    &pairs,
                    &current_label,
                    &previous_label,
                ),
                columns,
                rows,
                metrics: r.rows.iter().map(|row| row.metrics.clone()).collect(),
                money_slots: [Some(1), Some(3), Some(4), Some(5)],
                trend_slot: Some(6),
                notes: Vec::new(),
                key_label: None,
            }
        }
        Report::Workspaces(r) => {
            let columns = vec![
                col("Name", Some("workspace"), false),
                col("Provider", Some("provider"), false),
                col("Cost", Some("cost"), true),
                col("% of total", Some("share"), true),
                col("Requests", Some("requests"), true),
                col("Tokens", Some("tokens"), true),
                col("Previous", Some("previous_cost"), true),
                col("Trend", Some("trend"), true),
            ];
            let rows = r
                .rows
                .iter()
                .map(|row| {
                    vec![
                        Cell {
                            title: Some(format!("Show the API keys of {}", row.workspace)),
                            ..Cell::link(
                                row.workspace.clone(),
                                drill_href("/keys", query, &[("workspace", row.workspace.clone())]),
                            )
                        },
                        Cell::badges(&row.providers),
                        Cell::num(""),
                        Cell::num(format::share(row.metrics.share_pct)),
                        Cell::requests(row.metrics.requests),
                        Cell::num(format::compact(row.metrics.total_tokens)),
                        Cell::num(""),
                        Cell::trend(&row.metrics),
                    ]
                })
                .collect();
            let slices = r
                .cost_by_provider
                .iter()
                .map(|(p, cost)| Slice {
                    label: p.display_name().to_owned(),
                    value: *cost,
                })
                .collect();
            let pairs: Vec<Pair> = top_pairs(
                r.rows
                    .iter()
                    .map(|row| (row.workspace.clone(), &row.metrics)),
            );
            let mut by_provider: Vec<String> = r
                .cost_by_provider
                .iter()
                .map(|(p, cost)| format!("{} {}", p.display_name(), format::money(*cost)))
                .collect();
            if by_provider.is_empty() {
                by_provider.push("—".to_owned());
            }
            Built {
                cards: vec![
                    total_card,
                    card(
                        "Active workspaces",
                        r.active_workspaces.to_string(),
                        format!("{} with spend in either period", r.rows.len()),
                    ),
                    card(
                        "Cost per provider",
                        by_provider.first().cloned().unwrap_or_default(),
                        by_provider
                            .iter()
                            .skip(1)
                            .cloned()
                            .collect::<Vec<_>>()
                            .join(" · "),
                    ),
                ],
                donut: charts::donut("Cost by provider", slices, CHART_TOP),
                bars: charts::bars(
                    "Top workspaces, this period vs the previous one",
                    &pairs,
                    &current_label,
                    &previous_label,
                ),
                columns,
                rows,
                metrics: r.rows.iter().map(|row| row.metrics.clone()).collect(),
                money_slots: [Some(2), None, None, Some(6)],
                trend_slot: Some(7),
                notes: vec![
                    "Workspaces given the same name in Workspace Management show as one row."
                        .to_owned(),
                ],
                key_label: None,
            }
        }
        Report::Keys(r) => {
            let columns = vec![
                col("Key name", Some("key_name"), false),
                col("Key hint", None, false),
                col("Provider", Some("provider"), false),
                col("Status", Some("status"), false),
                col("Cost", Some("cost"), true),
                col("Tokens", Some("tokens"), true),
                col("Requests", Some("requests"), true),
                col("Cost/1M", Some("cost_per_1m"), true),
                col("Previous", Some("previous_cost"), true),
                col("Trend", Some("trend"), true),
            ];
            let key_label = query.key.and_then(|wanted| {
                r.rows
                    .iter()
                    .find(|row| row.key_id == Some(wanted))
                    .map(|row| row.key_name.clone())
            });
            let rows = r
                .rows
                .iter()
                .map(|row| {
                    let name = match row.key_id {
                        Some(id) => Cell {
                            sub: row.workspace.clone(),
                            title: Some(format!("Show the models used with {}", row.key_name)),
                            ..Cell::link(row.key_name.clone(), drill_href("/models", query, &[("key", id.0.to_string())]))
                        },
                        None => Cell {
                            sub: row.workspace.clone(),
                            title: Some("Spend no API key carries: console use, organization-level items".to_owned()),
                            ..Cell::text(row.key_name.clone())
                        },
                    };
                    vec![
                        name,
                        Cell { class: "muted small".to_owned(), ..Cell::text(row.key_hint.clone().unwrap_or_else(|| "—".to_owned())) },
                        Cell::badges(&[row.provider]),
                        Cell { class: format!("status-{}", row.status), ..Cell::text(row.status.clone()) },
                        Cell {
                            title: row.allocated.then(|| "Allocated from the provider's bill in proportion to this key's list-priced usage".to_owned()),
                            ..Cell::num("")
                        },
                        Cell::num(format::compact(row.metrics.total_tokens)),
                        Cell::requests(row.metrics.requests),
                        Cell::num(format::rate(row.cost_per_1m)),
                        Cell::num(""),
                        Cell::trend(&row.metrics),
                    ]
                })
                .collect();
            let slices = r
                .rows
                .iter()
                .map(|row| Slice {
                    label: row.key_name.clone(),
                    value: row.metrics.cost,
                })
                .collect();
            let pairs = top_pairs(
                r.rows
                    .iter()
                    .map(|row| (row.key_name.clone(), &row.metrics)),
            );
            Built {
                cards: vec![
                    total_card,
                    card("Active keys", r.active_keys.to_string(), format!("{} keys known", r.rows.iter().filter(|k| k.key_id.is_some()).count())),
                    card(
                        "Total requests",
                        format::opt_count(r.total_requests),
                        if r.total_requests.is_none() { "N/A: a provider here does not report requests" } else { "where providers report them" },
                    ),
                    card("Average cost per 1M tokens", format::rate(r.average_cost_per_1m), "over keys with token usage"),
                ],
                donut: charts::donut("Top keys by cost", slices, CHART_TOP),
                bars: charts::bars("Top keys, this period vs the previous one", &pairs, &current_label, &previous_label),
                columns,
                rows,
                metrics: r.rows.iter().map(|row| row.metrics.clone()).collect(),
                money_slots: [Some(4), None, None, Some(8)],
                trend_slot: Some(9),
                notes: vec![
                    "Per-key cost is allocated: providers bill per project or workspace and line item, so each key gets its share in proportion to its list-priced usage. Per-key sums equal the bill.".to_owned(),
                ],
                key_label,
            }
        }
        Report::Models(r) => {
            let columns = vec![
                col("Model", Some("model"), false),
                col("Provider", Some("provider"), false),
                col("Cost/1M", Some("cost_per_1m"), true),
                col("Cost", Some("cost"), true),
                col("Tokens", Some("tokens"), true),
                col("Requests", Some("requests"), true),
                col("Avg tokens/req", Some("avg_tokens_per_request"), true),
                col("Previous", Some("previous_cost"), true),
                col("Trend", Some("trend"), true),
            ];
            let rows = r
                .rows
                .iter()
                .map(|row| {
                    let tokens = row.unit.is_tokens();
                    vec![
                        Cell {
                            star: row.most_efficient,
                            sub: (!tokens || row.category != spendlens_domain::Category::Text)
                                .then(|| row.category.to_string()),
                            title: row.most_efficient.then(|| {
                                "The lowest cost per 1M tokens among text models with spend"
                                    .to_owned()
                            }),
                            ..Cell::text(row.model.clone())
                        },
                        Cell::badges(&[row.provider]),
                        if tokens {
                            Cell::num(format::rate(row.cost_per_1m))
                        } else if row.cost_per_unit.is_none() {
                            Cell {
                                class: "num na".to_owned(),
                                ..Cell::text("—")
                            }
                        } else {
                            Cell {
                                title: Some(format!(
                                    "Cost per {} (this model is billed per {})",
                                    singular(row.unit.as_str()),
                                    singular(row.unit.as_str())
                                )),
                                ..Cell::num(format!(
                                    "{} / {}",
                                    format::rate(row.cost_per_unit),
                                    singular(row.unit.as_str())
                                ))
                            }
                        },
                        Cell::num(""),
                        if tokens {
                            Cell::num(format::compact(row.metrics.total_tokens))
                        } else if row.quantity.is_zero() {
                            Cell {
                                class: "num na".to_owned(),
                                ..Cell::text("—")
                            }
                        } else {
                            Cell::num(format!(
                                "{} {}",
                                format::quantity(row.quantity),
                                row.unit.as_str().replace('_', " ")
                            ))
                        },
                        Cell::requests(row.metrics.requests),
                        match row.avg_tokens_per_request {
                            Some(avg) => Cell::num(format::count(avg)),
                            None => Cell {
                                class: "num na".to_owned(),
                                ..Cell::text("N/A")
                            },
                        },
                        Cell::num(""),
                        Cell::trend(&row.metrics),
                    ]
                })
                .collect();
            let slices = r
                .rows
                .iter()
                .map(|row| Slice {
                    label: row.model.clone(),
                    value: row.metrics.cost,
                })
                .collect();
            let pairs = top_pairs(r.rows.iter().map(|row| (row.model.clone(), &row.metrics)));
            let efficient = r.rows.iter().find(|row| row.most_efficient);
            Built {
                cards: vec![
                    total_card,
                    card("Models", r.model_count.to_string(), "with spend or usage in either period"),
                    card(
                        "Total requests",
                        format::opt_count(r.total_requests),
                        if r.total_requests.is_none() { "N/A: a provider here does not report requests" } else { "where providers report them" },
                    ),
                    card(
                        "Most efficient model",
                        efficient.map_or_else(|| "N/A".to_owned(), |row| format!("★ {}", row.model)),
                        efficient.map_or_else(String::new, |row| format!("{} per 1M tokens", format::rate(row.cost_per_1m))),
                    ),
                ],
                donut: charts::donut("Cost by model", slices, CHART_TOP),
                bars: charts::bars("Top models, this period vs the previous one", &pairs, &current_label, &previous_label),
                columns,
                rows,
                metrics: r.rows.iter().map(|row| row.metrics.clone()).collect(),
                money_slots: [Some(3), None, None, Some(7)],
                trend_slot: Some(8),
                notes: vec!["Cost/1M compares token-billed models; models billed per image, second or character show their cost per unit.".to_owned()],
                key_label: None,
            }
        }
    }
}

fn singular(unit: &str) -> String {
    unit.strip_suffix('s').unwrap_or(unit).replace('_', " ")
}

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
    let report = spendlens_query::report(state.store(), viewer.org(), &query).await?;
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

#[derive(Debug, Deserialize)]
pub struct RefreshForm {
    #[serde(default)]
    pub csrf: String,
    /// Where to come back to.
    pub back: Option<String>,
}

/// "Refresh data": sync every connection now, in the background.
pub async fn refresh(
    State(state): State<Arc<AppState>>,
    viewer: Viewer,
    headers: HeaderMap,
    Form(form): Form<RefreshForm>,
) -> Result<Response, PageError> {
    viewer.check_csrf(&form.csrf)?;
    viewer.require_admin()?;
    let org = viewer.org();
    let engine = state.engine.clone();
    let started = engine
        .store()
        .list_connections(org)
        .await?
        .iter()
        .filter(|c| c.has_credential)
        .count();
    state
        .store()
        .audit(
            org,
            &viewer.actor(),
            "sync.all",
            "all connections",
            "manual refresh from the dashboard",
            state.engine.now(),
        )
        .await?;
    tokio::spawn(async move {
        if let Err(err) = engine.sync_all(org, None, true).await {
            tracing::warn!(error = %err, "dashboard refresh failed to start");
        }
    });
    let back = form
        .back
        .filter(|b| b.starts_with('/') && !b.starts_with("//"))
        .unwrap_or_else(|| "/providers".to_owned());
    let message = if started == 0 {
        (
            "warn",
            "There are no connections to sync yet; add one under Connections.".to_owned(),
        )
    } else {
        (
            "ok",
            format!("Sync of {started} connection(s) started; this page updates when it ends."),
        )
    };
    Ok(redirect_with(
        &back,
        vec![flash(&headers, message.0, &message.1)],
    ))
}

/// What the page polls while syncs run.
pub async fn sync_status(
    State(state): State<Arc<AppState>>,
    viewer: Viewer,
) -> Result<Response, PageError> {
    let runs = state
        .store()
        .list_sync_runs(
            viewer.org(),
            &SyncRunFilter {
                limit: Some(50),
                ..SyncRunFilter::default()
            },
        )
        .await?;
    let running: Vec<&spendlens_store::SyncRunRow> = runs
        .iter()
        .filter(|r| r.status == SyncRunStatus::Running)
        .collect();
    let connections = state.store().list_connections(viewer.org()).await?;
    Ok(Json(serde_json::json!({
        "running": running.len(),
        "running_connections": running.iter().map(|r| r.connection_name.clone()).collect::<Vec<_>>(),
        "lines": runs.iter().take(20).map(|r| r.lines).sum::<i64>(),
        "last_sync_at": connections.iter().filter_map(|c| c.last_sync_at).max().map(|t| format::instant(Some(t))),
    }))
    .into_response())
}
