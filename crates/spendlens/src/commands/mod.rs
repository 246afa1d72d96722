//! One module per subcommand.

pub mod alerts;
pub mod audit;
pub mod bench;
pub mod bench_alerts;
pub mod bench_budgets;
pub mod bench_coverage;
pub mod bench_meter;
pub mod bench_pages;
pub mod budgets;
pub mod connection_months;
pub mod connections;
pub mod demo;
pub mod demo_traffic;
pub mod export;
pub mod forecast;
pub mod keys;
pub mod prices;
pub mod prices_observed;
pub mod prices_restate;
pub mod report;
pub mod report_coverage;
pub mod reports;
pub mod serve;
pub mod sync;
pub mod tokens;
pub mod users;

use std::process::ExitCode;

use crate::cli::Cli;
use crate::context::Context;

pub async fn migrate(cli: &Cli) -> anyhow::Result<ExitCode> {
    let context = Context::open(cli).await?;
    // Opening migrated already; say where.
    println!(
        "The database at {} is up to date.",
        context.store().location()
    );
    Ok(ExitCode::SUCCESS)
}
