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

/// `spendlens config check`: the file was read and checked before any command ran (a bad file
/// stops every command); this lists what it sets and what overrides each setting here.
pub fn config_check(cli: &Cli, command: &crate::cli::ConfigCommand) -> anyhow::Result<ExitCode> {
    let crate::cli::ConfigCommand::Check = command;
    let Some(path) = &cli.config else {
        anyhow::bail!(
            "no configuration file given: pass --config FILE or set SPENDLENS_CONFIG (without one, flags, SPENDLENS_* variables and the defaults apply)"
        );
    };
    let file = crate::config::FileConfig::load(path)?;
    let entries = file.entries();
    println!("{} is valid: {} setting(s).", path.display(), entries.len());
    let width = entries.iter().map(|e| e.key.len()).max().unwrap_or(0);
    for entry in entries {
        let overridden = entry
            .env
            .filter(|name| std::env::var_os(name).is_some())
            .map(|name| format!("  (overridden here by {name})"))
            .unwrap_or_default();
        println!("  {:width$}  {}{overridden}", entry.key, entry.value);
    }
    Ok(ExitCode::SUCCESS)
}
