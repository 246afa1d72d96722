//! `spendlens report coverage`: metered ÷ billed per provider and workspace (and per key and
//! model in JSON and CSV), and each provider's gap billed − metered split into causes — the same report as
//! `GET /api/v1/coverage`.

use std::process::ExitCode;

use spendlens_domain::display::format_money;
use spendlens_domain::{Day, Money};
use spendlens_query::coverage::{CoverageQuery, CoverageReport, WORKSPACE_NOTE, coverage, csv};
use spendlens_query::{View, ViewParams, ViewQuery};

use crate::cli::{Cli, Format, ReportArgs};
use crate::context::Context;
use crate::render::text_table;

pub async fn run(cli: &Cli, args: &ReportArgs) -> anyhow::Result<ExitCode> {
    let context = Context::open(cli).await?;
    let params = ViewParams {
        period: args.period.clone(),
        from: args.from.clone(),
        to: args.to.clone(),
        provider: args.provider.clone(),
        ..ViewParams::default()
    };
    let view = match ViewQuery::parse(View::Providers, &params, Day::of(context.engine.now())) {
        Ok(view) => view,
        Err(err) => {
            eprintln!("error: {err}");
            return Ok(ExitCode::from(2));
        }
    };
    let query = CoverageQuery {
        period: view.period,
        providers: view.providers.clone(),
        daily: true,
    };
    let report = coverage(context.store(), context.org, &query).await?;
    match args.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&report)?),
        Format::Csv => print!("{}", csv::to_csv(&report, &view.filters_text())?),
        Format::Table => print_table(&report),
    }
    Ok(ExitCode::SUCCESS)
}

fn money(value: Money) -> String {
    format_money(value.round_to_cents(), "USD")
}

fn pct(value: Option<rust_decimal::Decimal>) -> String {
    value.map_or_else(|| "N/A".to_owned(), |p| format!("{p}%"))
}

fn print_table(report: &CoverageReport) {
    println!(
        "Coverage (metered ÷ billed) — {} (UTC) · {}",
        report.period, report.currency
    );
    if report.providers.is_empty() {
        println!("Nothing billed or metered in this period.");
        return;
    }
    let columns = [
        "Provider",
        "Billed",
        "Metered",
        "Coverage",
        "Token coverage",
        "Bill final through",
    ];
    let rows: Vec<Vec<String>> = report
        .providers
        .iter()
        .map(|p| {
            vec![
                p.provider_name.to_owned(),
                money(p.ratio.billed_cost),
                money(p.ratio.metered_cost),
                pct(p.ratio.coverage_pct),
                pct(p.ratio.token_coverage_pct),
                p.complete_through
                    .map_or_else(|| "not synced".to_owned(), |d| d.to_string()),
            ]
        })
        .collect();
    let total = vec![
        "Total".to_owned(),
        money(report.total.billed_cost),
        money(report.total.metered_cost),
        pct(report.total.coverage_pct),
        pct(report.total.token_coverage_pct),
        String::new(),
    ];
    print!("{}", text_table(&columns, &rows, Some(&total)));
    for p in &report.providers {
        println!();
        println!(
            "{}: billed − metered over {}",
            p.provider_name, report.period
        );
        let mut rows = vec![vec!["Billed".to_owned(), money(p.period_billed_cost)]];
        for cause in &p.causes {
            rows.push(vec![cause.label.to_owned(), money(-cause.amount)]);
        }
        rows.push(vec!["Metered".to_owned(), money(p.period_metered_cost)]);
        print!("{}", text_table(&["Step", "Amount"], &rows, None));
        if p.workspaces.iter().any(|w| w.workspace_id.is_some()) {
            let rows: Vec<Vec<String>> = p
                .workspaces
                .iter()
                .map(|w| {
                    vec![
                        match (&w.provider_workspace_id, w.billed) {
                            (Some(id), _) => format!("{} ({id})", w.workspace_name),
                            (None, true) => w.workspace_name.clone(),
                            (None, false) => format!("{} (not on the bill)", w.workspace_name),
                        },
                        money(w.ratio.billed_cost),
                        money(w.ratio.metered_cost),
                        pct(w.ratio.coverage_pct),
                    ]
                })
                .collect();
            print!(
                "{}",
                text_table(&["Workspace", "Billed", "Metered", "Coverage"], &rows, None)
            );
        }
    }
    println!();
    println!("{WORKSPACE_NOTE}");
}
