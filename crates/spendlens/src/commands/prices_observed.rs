//! `spendlens prices observed`: the catalog beside the prices observed on bills, the drift
//! and the billed models without a price — the same comparison as
//! `GET /api/v1/prices/observed` and Cost → Model pricing.

use std::process::ExitCode;

use spendlens_domain::display::format_money;
use spendlens_domain::{Day, Money};
use spendlens_query::observed::{PriceComparison, comparison, threshold};
use spendlens_query::{View, ViewParams, ViewQuery};

use crate::cli::Format;
use crate::context::Context;
use crate::render::text_table;

pub async fn run(
    context: &Context,
    period: &Option<String>,
    threshold_text: &Option<String>,
    format: Format,
) -> anyhow::Result<ExitCode> {
    let params = ViewParams {
        period: period.clone(),
        ..ViewParams::default()
    };
    let parsed = ViewQuery::parse(View::Providers, &params, Day::of(context.engine.now()))
        .and_then(|view| Ok((view, threshold(threshold_text.as_deref())?)));
    let (view, threshold_pct) = match parsed {
        Ok(found) => found,
        Err(err) => {
            eprintln!("error: {err}");
            return Ok(ExitCode::from(2));
        }
    };
    let report = comparison(context.store(), context.org, view.period, threshold_pct).await?;
    match format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&report)?),
        Format::Csv => print!("{}", csv(&report)),
        Format::Table => print_table(&report),
    }
    Ok(ExitCode::SUCCESS)
}

fn per_1m(value: Option<Money>) -> String {
    value.map_or_else(|| "N/A".to_owned(), |m| m.to_exact_string())
}

fn rows(report: &PriceComparison) -> Vec<Vec<String>> {
    report
        .rows
        .iter()
        .map(|r| {
            vec![
                r.provider.as_str().to_owned(),
                r.model.clone(),
                r.day.to_string(),
                r.token_class.as_str().to_owned(),
                r.billed_cost.to_exact_string(),
                r.tokens.total().to_string(),
                per_1m(r.observed_per_1m),
                per_1m(r.catalog_per_1m),
                r.catalog_source
                    .map_or_else(|| "none".to_owned(), |s| s.as_str().to_owned()),
                r.drift_pct
                    .map_or_else(|| "N/A".to_owned(), |d| d.to_string()),
                if r.drifted { "yes" } else { "no" }.to_owned(),
            ]
        })
        .collect()
}

const COLUMNS: [&str; 11] = [
    "provider",
    "model",
    "day",
    "token_class",
    "billed_cost",
    "tokens",
    "observed_per_1m",
    "catalog_per_1m",
    "catalog_source",
    "drift_pct",
    "drifted",
];

/// One row per observed class; models, days and amounts need no quoting but are quoted
/// when they hold a comma or quote.
fn csv(report: &PriceComparison) -> String {
    let quote = |c: &str| {
        if c.contains([',', '"', '\n']) {
            format!("\"{}\"", c.replace('"', "\"\""))
        } else {
            c.to_owned()
        }
    };
    let mut out = COLUMNS.join(",");
    out.push('\n');
    for row in rows(report) {
        out.push_str(&row.iter().map(|c| quote(c)).collect::<Vec<_>>().join(","));
        out.push('\n');
    }
    out
}

fn print_table(report: &PriceComparison) {
    println!(
        "Catalog vs observed on bills (USD per 1M tokens) · drift threshold {} %",
        report.threshold_pct.normalize()
    );
    if report.rows.is_empty() {
        println!(
            "No observed prices yet: they appear after a sync of a provider whose bill gives both cost and tokens."
        );
    } else {
        let titles = [
            "Provider",
            "Model",
            "Day",
            "Tokens of",
            "Billed",
            "Tokens",
            "Observed",
            "Catalog",
            "Source",
            "Drift %",
            "Drifted",
        ];
        print!("{}", text_table(&titles, &rows(report), None));
        println!("{} drifted beyond the threshold.", report.drifted);
    }
    if report.new_models.is_empty() {
        println!(
            "Every model billed in {} has a catalog price.",
            report.period
        );
    } else {
        println!("New models, no price (billed in {}):", report.period);
        for m in &report.new_models {
            println!(
                "  {} {} — billed {}",
                m.provider,
                m.model,
                format_money(m.billed_cost.round_to_cents(), "USD")
            );
        }
    }
    for note in &report.notes {
        println!("Note: {note}");
    }
}
