//! `spendlens report providers|workspaces|keys|models|customers|products|agents` (and
//! `coverage`, in `report_coverage`): the same reports as the API, as a table, JSON or CSV.

use std::process::ExitCode;

use spendlens_domain::Day;
use spendlens_query::table::{MoneyStyle, Surface, table, to_csv};
use spendlens_query::{Report, View, ViewParams, ViewQuery};

use crate::cli::{Cli, Format, ReportArgs, ViewArg};
use crate::context::Context;
use crate::render::text_table;

fn view_of(arg: ViewArg) -> Option<View> {
    Some(match arg {
        ViewArg::Providers => View::Providers,
        ViewArg::Workspaces => View::Workspaces,
        ViewArg::Keys => View::Keys,
        ViewArg::Models => View::Models,
        ViewArg::Customers => View::Customers,
        ViewArg::Products => View::Products,
        ViewArg::Agents => View::Agents,
        ViewArg::Coverage => return None,
    })
}

pub async fn run(cli: &Cli, args: &ReportArgs) -> anyhow::Result<ExitCode> {
    let Some(view) = view_of(args.view) else {
        return super::report_coverage::run(cli, args).await;
    };
    let context = Context::open(cli).await?;
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
        model: args.model.clone(),
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
    // The terminal's columns come from the view's one column declaration.
    let full = table(report, MoneyStyle::Cents, Surface::Cli);
    println!(
        "{} — {} (UTC), compared with {} · {}",
        match header.view {
            View::Providers => "Providers",
            View::Workspaces => "Workspaces",
            View::Keys => "API keys",
            View::Models => "Models",
            View::Customers => "Customers",
            View::Products => "Products",
            View::Agents => "Agents",
        },
        header.period,
        header.previous_period,
        header.currency
    );
    if let Report::Attribution(r) = report
        && !r.has_metered_calls
    {
        println!(
            "No metered calls yet. Create an SDK key (`spendlens serve`, Connections → SDK keys) and send events to POST /api/v1/meter/events or OpenTelemetry traces to /v1/traces; see README \"Send events (metering)\"."
        );
        return;
    }
    if full.rows.is_empty() {
        println!("No spend in this period. Sync with `spendlens sync`, or widen --period.");
        return;
    }
    print!(
        "{}",
        text_table(&full.columns, &full.rows, Some(&full.total))
    );
    match report {
        Report::Keys(r) => println!(
            "Active keys: {} · work: {} · average cost per 1M tokens: {}",
            r.active_keys,
            spendlens_query::work::text(r.total_usage.as_deref()),
            r.average_cost_per_1m
                .map_or("N/A".to_owned(), spendlens_domain::display::format_rate)
        ),
        Report::Models(r) => println!(
            "Models: {} · most efficient: {} · work: {}",
            r.model_count,
            r.most_efficient_model.as_deref().unwrap_or("N/A"),
            spendlens_query::work::text(r.total_usage.as_deref())
        ),
        Report::Workspaces(r) => println!("Active workspaces: {}", r.active_workspaces),
        Report::Attribution(r) => println!(
            "Calls: {} · failed: {} ({}) · unpriced (not in the cost): {} · without token usage: {} · \"(none)\" is the calls sent without a {} value",
            r.total_calls,
            r.failed_calls,
            r.error_share_pct
                .map_or_else(|| "N/A".to_owned(), |p| format!("{p}%")),
            r.unpriced_calls,
            r.usage_unknown_calls,
            r.attribution
        ),
        Report::Providers(_) => {}
    }
    if matches!(report, Report::Keys(_)) {
        println!(
            "Per-key cost is allocated from the bill in proportion to each key's list-priced usage."
        );
    }
}
