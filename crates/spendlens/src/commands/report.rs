//! `spendlens report providers|workspaces|keys|models`: the same reports as the API, as a
//! table, JSON or CSV.

use std::process::ExitCode;

use spendlens_domain::Day;
use spendlens_query::table::{MoneyStyle, table, to_csv};
use spendlens_query::{Report, View, ViewParams, ViewQuery};

use crate::cli::{Cli, Format, ReportArgs, ViewArg};
use crate::context::Context;
use crate::render::text_table;

fn view_of(arg: ViewArg) -> View {
    match arg {
        ViewArg::Providers => View::Providers,
        ViewArg::Workspaces => View::Workspaces,
        ViewArg::Keys => View::Keys,
        ViewArg::Models => View::Models,
    }
}

/// The columns a terminal table shows per view (the CSV and JSON carry all of them).
fn terminal_columns(view: View) -> &'static [&'static str] {
    match view {
        View::Providers => &[
            "Provider",
            "Cost",
            "Credits",
            "Net cost",
            "Previous cost",
            "Trend %",
            "Share",
            "Tokens",
            "Requests",
        ],
        View::Workspaces => &[
            "Workspace",
            "Provider",
            "Cost",
            "Share",
            "Previous cost",
            "Trend %",
            "Tokens",
            "Requests",
        ],
        View::Keys => &[
            "Key name",
            "Workspace",
            "Key hint",
            "Provider",
            "Status",
            "Cost",
            "Previous cost",
            "Trend %",
            "Tokens",
            "Requests",
            "Cost/1M tokens",
        ],
        View::Models => &[
            "Model",
            "Provider",
            "Cost",
            "Previous cost",
            "Trend %",
            "Tokens",
            "Requests",
            "Cost/1M tokens",
            "Cost/unit",
            "Unit",
            "Avg tokens/req",
            "Most efficient",
        ],
    }
}

pub async fn run(cli: &Cli, args: &ReportArgs) -> anyhow::Result<ExitCode> {
    let context = Context::open(cli).await?;
    let view = view_of(args.view);
    let params = ViewParams {
        period: args.period.clone(),
        from: args.from.clone(),
        to: args.to.clone(),
        provider: args.provider.clone(),
        search: args.search.clone(),
        min_cost: args.min_cost.clone(),
        max_cost: args.max_cost.clone(),
        sort: args.sort.clone(),
        order: args.order.clone(),
        workspace: args.workspace.clone(),
        key: args.key.clone(),
    };
    let query = match ViewQuery::parse(view, &params, Day::of(context.engine.now())) {
        Ok(query) => query,
        Err(err) => {
            eprintln!("error: {err}");
            return Ok(ExitCode::from(2));
        }
    };
    let report = spendlens_query::report(context.store(), context.org, &query).await?;
    match args.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&report)?),
        Format::Csv => print!("{}", to_csv(&report, &query.filters_text())?),
        Format::Table => print_table(&report),
    }
    Ok(ExitCode::SUCCESS)
}

fn print_table(report: &Report) {
    let header = report.header();
    let full = table(report, MoneyStyle::Cents);
    let wanted = terminal_columns(header.view);
    let indexes: Vec<usize> = wanted
        .iter()
        .filter_map(|name| full.columns.iter().position(|c| c == name))
        .collect();
    let pick = |row: &Vec<String>| -> Vec<String> {
        indexes
            .iter()
            .map(|i| row.get(*i).cloned().unwrap_or_default())
            .collect()
    };
    let columns: Vec<&str> = indexes.iter().map(|i| full.columns[*i]).collect();
    println!(
        "{} — {} (UTC), compared with {} · {}",
        match header.view {
            View::Providers => "Providers",
            View::Workspaces => "Workspaces",
            View::Keys => "API keys",
            View::Models => "Models",
        },
        header.period,
        header.previous_period,
        header.currency
    );
    if full.rows.is_empty() {
        println!("No spend in this period. Sync with `spendlens sync`, or widen --period.");
        return;
    }
    let rows: Vec<Vec<String>> = full.rows.iter().map(pick).collect();
    let total = pick(&full.total);
    print!("{}", text_table(&columns, &rows, Some(&total)));
    match report {
        Report::Keys(r) => println!(
            "Active keys: {} · requests: {} · average cost per 1M tokens: {}",
            r.active_keys,
            r.total_requests.map_or(
                "N/A (some providers do not report requests)".to_owned(),
                |n| n.to_string()
            ),
            r.average_cost_per_1m
                .map_or("N/A".to_owned(), spendlens_domain::display::format_rate)
        ),
        Report::Models(r) => println!(
            "Models: {} · most efficient: {} · requests: {}",
            r.model_count,
            r.most_efficient_model.as_deref().unwrap_or("N/A"),
            r.total_requests.map_or(
                "N/A (some providers do not report requests)".to_owned(),
                |n| n.to_string()
            )
        ),
        Report::Workspaces(r) => println!("Active workspaces: {}", r.active_workspaces),
        Report::Providers(_) => {}
    }
    if matches!(report, Report::Keys(_)) {
        println!(
            "Per-key cost is allocated from the bill in proportion to each key's list-priced usage."
        );
    }
}
