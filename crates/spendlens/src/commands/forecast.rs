//! `spendlens forecast` (projected month-end spend per provider, workspace, model and
//! customer, trends, credit balances) and `spendlens anomalies list|thresholds|set-threshold|
//! remove-threshold`: the same reports as `GET /api/v1/forecasts` and `/anomalies`.

use std::process::ExitCode;

use clap::{Args, Subcommand};
use spendlens_domain::Money;
use spendlens_domain::display::format_money;
use spendlens_query::anomaly::settings::{DEFAULT_THRESHOLD_PCT, parse_threshold};
use spendlens_query::anomaly::{self, AnomalyReport};
use spendlens_query::forecast::{self, ForecastReport};
use spendlens_query::spend_days::{SpendDays, parse_scopes};

use crate::cli::{Cli, Format};
use crate::context::Context;
use crate::render::text_table;

#[derive(Debug, Args)]
pub struct ForecastArgs {
    /// Scopes, comma-separated: provider, workspace, model, customer (all by default).
    #[arg(long)]
    pub scope: Option<String>,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

#[derive(Debug, Subcommand)]
pub enum AnomaliesCommand {
    /// Days that moved past their threshold, with why (volume, price, mix and the drivers).
    List {
        /// Scopes, comma-separated: customer, model, key, workspace (all by default).
        #[arg(long)]
        scope: Option<String>,
        /// The global threshold in percent for this run (the stored setting otherwise).
        #[arg(long)]
        threshold: Option<String>,
        /// Days under this many USD on both sides are not tested (default 1).
        #[arg(long)]
        min_daily: Option<String>,
        /// Baseline weeks, 1–8 (default 4).
        #[arg(long)]
        weeks: Option<String>,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// The stored thresholds: the global one and single scopes'.
    Thresholds,
    /// Set the global threshold (`--scope global`) or one scope's, in percent.
    SetThreshold {
        /// global, customer, model, key or workspace.
        #[arg(long, default_value = "global")]
        scope: String,
        /// The scope's id as `anomalies list` shows it (not for global).
        #[arg(long)]
        id: Option<String>,
        /// Percent, e.g. 25.
        threshold_pct: String,
    },
    /// Remove a threshold: the scope falls back to the global one (the global one to 50 %).
    RemoveThreshold {
        #[arg(long, default_value = "global")]
        scope: String,
        #[arg(long)]
        id: Option<String>,
    },
}

fn money(value: Option<Money>) -> String {
    value.map_or_else(
        || "N/A".to_owned(),
        |m| format_money(m.round_to_cents(), "USD"),
    )
}

pub async fn run_forecast(cli: &Cli, args: &ForecastArgs) -> anyhow::Result<ExitCode> {
    let scopes = match parse_scopes(args.scope.as_deref(), &forecast::SCOPES) {
        Ok(scopes) => scopes,
        Err(err) => {
            eprintln!("error: {err}");
            return Ok(ExitCode::from(2));
        }
    };
    let context = Context::open(cli).await?;
    let data = SpendDays::load(context.store(), context.org, context.engine.now()).await?;
    let report = forecast::forecasts(&data, &scopes);
    match args.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&report)?),
        Format::Csv => print!("{}", forecast::csv::to_csv(&report)?),
        Format::Table => print_forecasts(&report),
    }
    Ok(ExitCode::SUCCESS)
}

fn print_forecasts(report: &ForecastReport) {
    println!("Forecasts (estimates) — today {} (UTC) · USD", report.today);
    if let Some(t) = &report.total {
        println!(
            "All providers: projected month end {}, month to date {}, daily rate {}, next 7 days {}{}",
            money(Some(t.projected_month_end)),
            money(Some(t.month_to_date)),
            money(Some(t.daily_rate)),
            money(Some(t.next_7_days)),
            if t.left_out.is_empty() {
                String::new()
            } else {
                format!(" (without {}: N/A)", t.left_out.join(", "))
            }
        );
    }
    let rows: Vec<Vec<String>> = report
        .forecasts
        .iter()
        .map(|f| {
            let x = &f.forecast;
            vec![
                f.scope.as_str().to_owned(),
                f.label.clone(),
                x.complete_through
                    .map_or_else(|| "N/A".to_owned(), |d| d.to_string()),
                money(x.daily_rate),
                money(Some(x.month_to_date)),
                money(x.projected_month_end),
                money(x.next_7_days),
                match (x.reason.as_deref(), x.trend_pct) {
                    (Some(_), _) => "N/A".to_owned(),
                    (None, Some(p)) => format!("{} ({p}%)", x.trend.label()),
                    (None, None) => x.trend.label().to_owned(),
                },
                x.reason.clone().unwrap_or_default(),
            ]
        })
        .collect();
    print!(
        "{}",
        text_table(
            &[
                "Scope",
                "Name",
                "Complete through",
                "Daily rate",
                "Month to date",
                "Projected month end",
                "Next 7 days",
                "Trend",
                "Note",
            ],
            &rows,
            None
        )
    );
    if !report.credits.is_empty() {
        println!("\nCredit balances");
        let rows: Vec<Vec<String>> = report
            .credits
            .iter()
            .map(|c| {
                vec![
                    c.connection.clone(),
                    money(c.balance),
                    money(c.daily_rate),
                    c.exhausted_on
                        .map_or_else(|| "N/A".to_owned(), |d| d.to_string()),
                    money(Some(c.credits_applied)),
                    c.missing.clone().unwrap_or_default(),
                ]
            })
            .collect();
        print!(
            "{}",
            text_table(
                &[
                    "Connection",
                    "Balance",
                    "Daily rate",
                    "Runs out",
                    "Credits applied",
                    "Missing"
                ],
                &rows,
                None
            )
        );
    }
    for note in &report.notes {
        println!("· {note}");
    }
}

fn print_anomalies(report: &AnomalyReport) {
    println!(
        "Anomalies — threshold {} % · {} scopes tested, {} with too little history",
        report.settings.threshold_pct, report.tested, report.insufficient_history
    );
    if report.anomalies.is_empty() {
        println!("None.");
    }
    for a in &report.anomalies {
        println!(
            "\n{} {} ({}) on {}: {} a day vs a baseline of {} ({}; threshold {} % {}), detected {}",
            a.scope.as_str(),
            a.label,
            a.model.as_deref().unwrap_or("N/A"),
            a.day,
            money(Some(a.current_daily)),
            money(Some(a.baseline_daily)),
            a.deviation_pct
                .map_or_else(|| "new".to_owned(), |p| format!("{p}%")),
            a.threshold_pct,
            a.threshold_source,
            a.detected_at
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default()
        );
        println!(
            "  change {} = volume {} + price {} + mix {} (exact: {} = {} + {} + {})",
            money(Some(a.change)),
            money(Some(a.volume)),
            money(Some(a.price)),
            money(Some(a.mix)),
            a.change,
            a.volume,
            a.price,
            a.mix
        );
        for d in &a.drivers {
            println!(
                "  · {}: {} → {} (price {})",
                d.label,
                money(Some(d.baseline)),
                money(Some(d.current)),
                money(Some(d.price))
            );
        }
    }
    for note in &report.notes {
        println!("· {note}");
    }
}

pub async fn run_anomalies(cli: &Cli, command: &AnomaliesCommand) -> anyhow::Result<ExitCode> {
    let context = Context::open(cli).await?;
    let store = context.store();
    let now = context.engine.now();
    match command {
        AnomaliesCommand::List {
            scope,
            threshold,
            min_daily,
            weeks,
            format,
        } => {
            let settings = anomaly::settings::load(store, context.org)
                .await?
                .with_options(threshold.as_deref(), min_daily.as_deref(), weeks.as_deref());
            let scopes = parse_scopes(scope.as_deref(), &anomaly::SCOPES);
            let (settings, scopes) = match (settings, scopes) {
                (Ok(s), Ok(k)) => (s, k),
                (Err(err), _) | (_, Err(err)) => {
                    eprintln!("error: {err}");
                    return Ok(ExitCode::from(2));
                }
            };
            let data = SpendDays::load(store, context.org, now).await?;
            let report = anomaly::anomalies(&data, &settings, &scopes);
            match format {
                Format::Json => println!("{}", serde_json::to_string_pretty(&report)?),
                Format::Csv => print!("{}", anomaly::csv::to_csv(&report)?),
                Format::Table => print_anomalies(&report),
            }
        }
        AnomaliesCommand::Thresholds => {
            let rows: Vec<Vec<String>> = store
                .anomaly_thresholds(context.org)
                .await?
                .into_iter()
                .map(|t| {
                    vec![
                        t.scope_kind,
                        t.scope_id,
                        format!("{} %", t.threshold_pct),
                        t.updated_by,
                    ]
                })
                .collect();
            if rows.is_empty() {
                println!(
                    "No thresholds stored: the global threshold is the default, {DEFAULT_THRESHOLD_PCT} %."
                );
            } else {
                print!(
                    "{}",
                    text_table(&["Scope", "Id", "Threshold", "Set by"], &rows, None)
                );
            }
        }
        AnomaliesCommand::SetThreshold {
            scope,
            id,
            threshold_pct,
        } => {
            let checked =
                spendlens_web::api::thresholds::target(scope, id.as_deref()).and_then(|t| {
                    parse_threshold(threshold_pct)
                        .map(|p| (t, p))
                        .map_err(|e| e.to_string())
                });
            let ((scope, id), pct) = match checked {
                Ok(ok) => ok,
                Err(err) => {
                    eprintln!("error: {err}");
                    return Ok(ExitCode::from(2));
                }
            };
            let previous = store
                .set_anomaly_threshold(
                    context.org,
                    &scope,
                    &id,
                    &pct.to_string(),
                    spendlens_store::Actor {
                        name: "cli",
                        at: now,
                    },
                )
                .await?;
            println!(
                "The {} anomaly threshold is now {pct} %{}.",
                if scope == "global" {
                    "global".to_owned()
                } else {
                    format!("{scope} {id}")
                },
                previous
                    .map(|p| format!(" (was {p} %)"))
                    .unwrap_or_default()
            );
        }
        AnomaliesCommand::RemoveThreshold { scope, id } => {
            let (scope, id) = match spendlens_web::api::thresholds::target(scope, id.as_deref()) {
                Ok(t) => t,
                Err(err) => {
                    eprintln!("error: {err}");
                    return Ok(ExitCode::from(2));
                }
            };
            match store
                .remove_anomaly_threshold(
                    context.org,
                    &scope,
                    &id,
                    spendlens_store::Actor {
                        name: "cli",
                        at: now,
                    },
                )
                .await?
            {
                Some(old) => println!("Removed the threshold of {old} % ({scope} {id})."),
                None => {
                    eprintln!("error: there is no {scope} threshold {id}");
                    return Ok(ExitCode::from(1));
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
