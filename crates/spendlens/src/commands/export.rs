//! `spendlens export focus --from --to [--format csv|parquet] [--out FILE]`: the FOCUS 1.2
//! export of billed, allocated and metered spend (the same file as the API and the dashboard;
//! Parquet only to a file).

use std::io::Write as _;
use std::process::ExitCode;

use clap::{Args, Subcommand, ValueEnum};
use spendlens_domain::Day;
use spendlens_query::{View, ViewParams, ViewQuery, focus};

use crate::cli::Cli;
use crate::context::Context;

#[derive(Debug, Subcommand)]
pub enum ExportCommand {
    /// FOCUS 1.2 (CostAndUsage) CSV or Parquet of billed, allocated and metered rows, told
    /// apart by x_SpendlensSource; metered rows carry no cost (their estimate is x_MeteredCost).
    Focus(FocusArgs),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum FocusFormat {
    Csv,
    /// The same columns and values, typed: DECIMAL(38,9) money and quantities, UTC timestamps,
    /// INT64 counts (to a file: --out, or a redirect).
    Parquet,
}

#[derive(Debug, Args)]
pub struct FocusArgs {
    /// First day (YYYY-MM-DD, UTC, inclusive); with --to.
    #[arg(long)]
    pub from: Option<String>,
    /// Last day, inclusive (at most 366 days per export).
    #[arg(long)]
    pub to: Option<String>,
    /// Instead of --from/--to: last-7-days, last-30-days, last-90-days, this-month, last-month.
    #[arg(long)]
    pub period: Option<String>,
    #[arg(long, value_enum, default_value = "csv")]
    pub format: FocusFormat,
    /// Write to this file instead of standard output.
    #[arg(long)]
    pub out: Option<std::path::PathBuf>,
}

pub async fn run(cli: &Cli, command: &ExportCommand) -> anyhow::Result<ExitCode> {
    let ExportCommand::Focus(args) = command;
    if args.format == FocusFormat::Parquet
        && args.out.is_none()
        && std::io::IsTerminal::is_terminal(&std::io::stdout())
    {
        eprintln!(
            "error: Parquet is binary: give --out FILE (for example --out focus.parquet) or redirect the output to a file"
        );
        return Ok(ExitCode::from(2));
    }
    let context = Context::open(cli).await?;
    let params = ViewParams {
        period: args.period.clone(),
        from: args.from.clone(),
        to: args.to.clone(),
        ..ViewParams::default()
    };
    let period = match ViewQuery::parse(View::Providers, &params, Day::of(context.engine.now()))
        .and_then(|q| focus::check_period(q.period).map(|()| q.period))
    {
        Ok(period) => period,
        Err(err) => {
            eprintln!("error: {err}");
            return Ok(ExitCode::from(2));
        }
    };
    let export = focus::export(context.store(), context.org, period).await?;
    let bytes = match args.format {
        FocusFormat::Csv => {
            let mut bytes = Vec::new();
            focus::write_csv(&export.rows, &mut bytes)?;
            bytes
        }
        FocusFormat::Parquet => focus::write_parquet(&export.rows)?,
    };
    let t = export.totals;
    let mut summary = format!(
        "FOCUS 1.2 export {} to {}: {} billed, {} allocated, {} credit and {} metered rows; \
         BilledCost {} USD (usage {}, credits {}), metered estimate {} USD (not in BilledCost)",
        period.from(),
        period.to(),
        t.billed_rows,
        t.allocated_rows,
        t.credit_rows,
        t.metered_rows,
        t.billed_total().to_exact_string(),
        t.usage_billed.to_exact_string(),
        t.credits.to_exact_string(),
        t.metered_cost.to_exact_string(),
    );
    if t.correction_rows > 0 {
        summary.push_str(&format!(
            "\n{} Correction rows: providers restated closed months, billed in this period: {} USD \
             (in BilledCost; the restated days show as invoiced)",
            t.correction_rows,
            t.corrections.to_exact_string(),
        ));
    }
    match &args.out {
        Some(path) => {
            std::fs::write(path, &bytes)
                .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
            eprintln!("{summary}\nwritten to {}", path.display());
        }
        None => {
            std::io::stdout().write_all(&bytes)?;
            eprintln!("{summary}");
        }
    }
    Ok(ExitCode::SUCCESS)
}
