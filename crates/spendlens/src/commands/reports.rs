//! `spendlens reports generate|list|download|delete`: stored chargeback and compliance (SOC 2,
//! HIPAA, GDPR) reports, with the same
//! checks, build and audit as `POST /api/v1/report-documents` (`spendlens_web::documents`).
//! `generate` waits for the build and prints the document's id and hashes; `delete` asks for
//! `--yes`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Subcommand;
use spendlens_domain::Day;
use spendlens_store::{ReportFormat, ReportKind, ReportStatus};
use spendlens_web::documents;

use crate::cli::Cli;
use crate::context::Context;
use crate::render::text_table;

#[derive(Debug, Subcommand)]
pub enum ReportsCommand {
    /// Generate a report and wait until it is stored.
    Generate {
        /// chargeback, soc2, hipaa or gdpr.
        #[arg(long, default_value = "chargeback")]
        kind: String,
        /// Chargeback: all, customer:NAME or workspace:NAME (compliance reports cover the
        /// organization).
        #[arg(long, default_value = "all")]
        scope: String,
        /// First UTC day, YYYY-MM-DD (inclusive).
        #[arg(long)]
        from: String,
        /// Last UTC day, inclusive (at most 5 years after --from).
        #[arg(long)]
        to: String,
    },
    /// Stored reports, newest first.
    List {
        /// all, chargeback, soc2, hipaa or gdpr.
        #[arg(long, default_value = "all")]
        kind: String,
        /// json instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Write one file of a stored report (its SHA-256 is checked first).
    Download {
        id: i64,
        /// pdf, csv or json.
        #[arg(long, default_value = "pdf")]
        format: String,
        /// Where to write it (default: the report's file name in the current directory; - for
        /// standard output).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Generate a report every month (on the 1st, UTC, by a running server) for the month
    /// before; last month's is generated at once.
    Schedule {
        /// chargeback, soc2, hipaa or gdpr.
        #[arg(long, default_value = "chargeback")]
        kind: String,
        /// Chargeback: all, customer:NAME or workspace:NAME.
        #[arg(long, default_value = "all")]
        scope: String,
    },
    /// The monthly schedules.
    Schedules,
    /// Stop a monthly schedule (the reports it generated stay); --yes confirms.
    Unschedule {
        id: i64,
        #[arg(long)]
        yes: bool,
    },
    /// Delete a stored report (audited); --yes confirms.
    Delete {
        id: i64,
        #[arg(long)]
        yes: bool,
    },
}

fn fail(message: impl std::fmt::Display) -> anyhow::Result<ExitCode> {
    eprintln!("error: {message}");
    Ok(ExitCode::from(2))
}

pub async fn run(cli: &Cli, command: &ReportsCommand) -> anyhow::Result<ExitCode> {
    let context = Context::open(cli).await?;
    let org = context.org;
    let state = spendlens_web::AppState::new(context.engine.clone());
    let store = context.store();
    match command {
        ReportsCommand::Generate {
            kind,
            scope,
            from,
            to,
        } => {
            let request =
                match documents::check_request(kind, Some(scope), from, to, Day::of(state.now())) {
                    Ok(request) => request,
                    Err(message) => return fail(message),
                };
            let (row, created) = match documents::request(&state, org, &request, "cli").await {
                Ok(done) => done,
                Err(err) => return fail(err),
            };
            if !created {
                println!(
                    "The identical report {} is already building; waiting for it.",
                    row.id
                );
            }
            loop {
                let Some(now) = store.report_document(org, row.id).await? else {
                    return fail(format!(
                        "report {} was deleted while it was building",
                        row.id
                    ));
                };
                match now.status {
                    ReportStatus::Building => tokio::time::sleep(Duration::from_millis(200)).await,
                    ReportStatus::Failed => {
                        return fail(format!(
                            "report {} failed: {}",
                            now.id,
                            now.error.unwrap_or_default()
                        ));
                    }
                    ReportStatus::Ready => {
                        println!(
                            "Report {}: {} · {} · {} to {}",
                            now.id,
                            now.kind.title(),
                            now.scope,
                            now.period_from,
                            now.period_to
                        );
                        for (name, hash, bytes) in [
                            ("pdf", &now.pdf_sha256, now.pdf_bytes),
                            ("csv", &now.csv_sha256, now.csv_bytes),
                            ("json", &now.json_sha256, now.json_bytes),
                        ] {
                            if let Some(hash) = hash {
                                println!("  {name:<5} {bytes:>9} bytes  sha256 {hash}");
                            }
                        }
                        println!(
                            "  content sha256 {}",
                            now.content_sha256.unwrap_or_default()
                        );
                        println!(
                            "Download: spendlens reports download {} --format pdf",
                            now.id
                        );
                        return Ok(ExitCode::SUCCESS);
                    }
                }
            }
        }
        ReportsCommand::List { kind, json } => {
            let kind = match kind.trim() {
                "" | "all" => None,
                text => match ReportKind::parse(text) {
                    Some(k) => Some(k),
                    None => {
                        return fail(format!(
                            "--kind must be all, chargeback, soc2, hipaa or gdpr, not \"{text}\""
                        ));
                    }
                },
            };
            let rows = match documents::list(&state, org, kind).await {
                Ok(rows) => rows,
                Err(err) => return fail(err),
            };
            if *json {
                println!("{}", serde_json::to_string_pretty(&rows)?);
                return Ok(ExitCode::SUCCESS);
            }
            if rows.is_empty() {
                println!("No stored report.");
                return Ok(ExitCode::SUCCESS);
            }
            let table: Vec<Vec<String>> = rows
                .iter()
                .map(|r| {
                    vec![
                        r.id.to_string(),
                        r.kind.as_str().to_owned(),
                        r.scope.clone(),
                        format!("{} to {}", r.period_from, r.period_to),
                        r.status.as_str().to_owned(),
                        r.generated_at
                            .map(|t| {
                                t.format(&time::format_description::well_known::Rfc3339)
                                    .unwrap_or_default()
                            })
                            .unwrap_or_else(|| "—".to_owned()),
                        r.requested_by.clone(),
                        r.content_sha256
                            .as_deref()
                            .map(|h| h.get(..12).unwrap_or(h).to_owned())
                            .unwrap_or_default(),
                    ]
                })
                .collect();
            print!(
                "{}",
                text_table(
                    &[
                        "ID",
                        "Kind",
                        "Scope",
                        "Period",
                        "Status",
                        "Generated at",
                        "Generated by",
                        "SHA-256"
                    ],
                    &table,
                    None
                )
            );
            Ok(ExitCode::SUCCESS)
        }
        ReportsCommand::Download { id, format, out } => {
            let Some(format) = ReportFormat::parse(format) else {
                return fail(format!(
                    "--format must be pdf, csv or json, not \"{format}\""
                ));
            };
            let Some(row) = store.report_document(org, *id).await? else {
                return fail(format!(
                    "there is no report {id} (deleted, or never generated)"
                ));
            };
            match row.status {
                ReportStatus::Building => {
                    return fail(format!("report {id} is still building; try again shortly"));
                }
                ReportStatus::Failed => {
                    return fail(format!(
                        "report {id} failed and has no files: {}",
                        row.error.unwrap_or_default()
                    ));
                }
                ReportStatus::Ready => {}
            }
            let Some(bytes) = store.report_file(org, *id, format).await? else {
                return fail(format!(
                    "report {id} has no {} ({} reports are a PDF and JSON)",
                    format.as_str(),
                    row.kind.title()
                ));
            };
            let path = out
                .clone()
                .unwrap_or_else(|| PathBuf::from(documents::file_name(&row, format.as_str())));
            if path.as_os_str() == "-" {
                use std::io::Write as _;
                std::io::stdout().write_all(&bytes)?;
            } else {
                std::fs::write(&path, &bytes)?;
                eprintln!("Wrote {} ({} bytes).", path.display(), bytes.len());
            }
            Ok(ExitCode::SUCCESS)
        }
        ReportsCommand::Schedule { kind, scope } => {
            match documents::schedule(&state, org, kind, Some(scope), "cli").await {
                Ok(row) => {
                    println!(
                        "Scheduled {}: a monthly {} report ({}); last month's was requested now.",
                        row.id,
                        row.kind.as_str(),
                        row.scope
                    );
                    // The build runs in this process: wait for it before exiting.
                    wait_for_builds(store, org).await?;
                    Ok(ExitCode::SUCCESS)
                }
                Err(err) => fail(err),
            }
        }
        ReportsCommand::Schedules => {
            let rows = store.report_schedules(org).await?;
            if rows.is_empty() {
                println!("No report is scheduled.");
                return Ok(ExitCode::SUCCESS);
            }
            let table: Vec<Vec<String>> = rows
                .iter()
                .map(|s| {
                    vec![
                        s.id.to_string(),
                        s.kind.as_str().to_owned(),
                        s.scope.clone(),
                        s.created_by.clone(),
                        s.last_period_to
                            .map_or_else(|| "not yet".to_owned(), |d| d.to_string()),
                    ]
                })
                .collect();
            print!(
                "{}",
                text_table(
                    &["ID", "Kind", "Scope", "Set by", "Last month generated (to)"],
                    &table,
                    None
                )
            );
            Ok(ExitCode::SUCCESS)
        }
        ReportsCommand::Unschedule { id, yes } => {
            if !yes {
                println!(
                    "Stopping schedule {id} generates no more monthly reports for it; the reports it generated stay. Run again with --yes."
                );
                return Ok(ExitCode::from(1));
            }
            match documents::unschedule(&state, org, *id, "cli").await {
                Ok(Some(_)) => {
                    println!("Stopped schedule {id}.");
                    Ok(ExitCode::SUCCESS)
                }
                Ok(None) => fail(format!("there is no report schedule {id}")),
                Err(err) => fail(err),
            }
        }
        ReportsCommand::Delete { id, yes } => {
            let Some(row) = store.report_document(org, *id).await? else {
                return fail(format!("there is no report {id}"));
            };
            if !yes {
                println!(
                    "Deleting report {id} ({} · {} · {} to {}) removes its PDF, CSV and JSON for good; the data it was built from stays. Run again with --yes to delete it.",
                    row.kind.title(),
                    row.scope,
                    row.period_from,
                    row.period_to
                );
                return Ok(ExitCode::from(1));
            }
            match documents::delete(&state, org, *id, "cli").await {
                Ok(Some(_)) => {
                    println!("Deleted report {id}.");
                    Ok(ExitCode::SUCCESS)
                }
                Ok(None) => fail(format!("there is no report {id}")),
                Err(err) => fail(err),
            }
        }
    }
}

/// Waits until no report of the organization is building (a build started by this process
/// would stop with it).
async fn wait_for_builds(
    store: &spendlens_store::Store,
    org: spendlens_store::OrgId,
) -> anyhow::Result<()> {
    for _ in 0..600 {
        let building = store
            .report_documents(org, None, 50)
            .await?
            .iter()
            .any(|r| r.status == ReportStatus::Building);
        if !building {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Ok(())
}
