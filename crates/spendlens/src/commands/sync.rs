//! `spendlens sync`: sync now, with a progress line per connection on a terminal and a summary
//! at the end; exits non-zero when a run failed.

use spendlens_domain::SyncRequest;
use std::process::ExitCode;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use spendlens_domain::{Day, DayRange};
use spendlens_providers::CallStats;
use spendlens_store::{ConnectionRow, SyncRunStatus};
use spendlens_sync::{SyncEngine, SyncReport};

use crate::cli::{Cli, SyncArgs};
use crate::context::Context;

pub async fn run(cli: &Cli, args: &SyncArgs) -> anyhow::Result<ExitCode> {
    let context = Context::open(cli).await?;
    let window = match (&args.from, &args.to) {
        (Some(from), Some(to)) => Some(DayRange::new(from.parse::<Day>()?, to.parse::<Day>()?)?),
        _ => None,
    };
    let connections: Vec<ConnectionRow> = match &args.connection {
        Some(wanted) => vec![context.store().find_connection(context.org, wanted).await?],
        None => context
            .store()
            .list_connections(context.org)
            .await?
            .into_iter()
            .filter(|c| c.has_credential)
            .collect(),
    };
    if connections.is_empty() {
        println!("No connections to sync. Add one with `spendlens connections add`.");
        return Ok(ExitCode::SUCCESS);
    }
    let mut failed = false;
    for connection in &connections {
        match sync_with_progress(&context.engine, context.org, connection, window).await {
            Ok(report) => {
                print_report(&report);
                failed |= report.status == SyncRunStatus::Failed;
            }
            Err(err) => {
                eprintln!("{}: could not start: {err}", connection.name);
                failed = true;
            }
        }
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// Syncs one connection while a spinner shows the HTTP calls made so far.
pub async fn sync_with_progress(
    engine: &SyncEngine,
    org: spendlens_store::OrgId,
    connection: &ConnectionRow,
    window: Option<DayRange>,
) -> Result<SyncReport, spendlens_sync::SyncError> {
    let stats = CallStats::default();
    let bar = ProgressBar::new_spinner();
    bar.set_style(
        ProgressStyle::with_template("{spinner} {prefix}: {msg} [{elapsed}]")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.set_prefix(connection.name.clone());
    bar.enable_steady_tick(Duration::from_millis(120));
    let work = engine.sync_connection(org, connection.id, window, SyncRequest::Manual, &stats);
    tokio::pin!(work);
    let result = loop {
        tokio::select! {
            result = &mut work => break result,
            () = tokio::time::sleep(Duration::from_millis(200)) => {
                let counts = stats.snapshot();
                bar.set_message(format!(
                    "{} pages, {} HTTP calls, {} retries",
                    counts.pages, counts.http_calls, counts.retries
                ));
            }
        }
    };
    bar.finish_and_clear();
    result
}

pub fn print_report(report: &SyncReport) {
    match report.status {
        SyncRunStatus::Failed => {
            eprintln!(
                "{}: sync FAILED for {} ({} HTTP calls, {} retries)\n  {}",
                report.connection_name,
                report.window,
                report.http_calls,
                report.retries,
                report.error.as_deref().unwrap_or("unknown error")
            );
        }
        _ => {
            println!(
                "{}: synced {} ({}): {} workspaces, {} API keys, {} cost lines; {} HTTP calls, {} retries",
                report.connection_name,
                report.window,
                report.trigger.as_str(),
                report.counts.workspaces,
                report.counts.api_keys,
                report.counts.lines,
                report.http_calls,
                report.retries
            );
            for note in &report.notes {
                println!("  note: {note}");
            }
        }
    }
}
