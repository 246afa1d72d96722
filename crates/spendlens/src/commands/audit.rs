//! `spendlens audit verify | list`: the hash-chained audit log.

use std::process::ExitCode;

use spendlens_store::AuditVerdict;

use crate::cli::{AuditCommand, Cli};
use crate::context::Context;
use crate::render::text_table;

pub async fn run(cli: &Cli, command: &AuditCommand) -> anyhow::Result<ExitCode> {
    let context = Context::open(cli).await?;
    match command {
        AuditCommand::Verify => {
            let mut ok = true;
            match context.store().verify_audit(context.org).await? {
                AuditVerdict::Intact { entries } => {
                    println!("The audit log is intact: {entries} entries, every hash checks.");
                }
                AuditVerdict::Broken { entry_id, reason } => {
                    eprintln!("The audit log is BROKEN at entry {entry_id}: {reason}.");
                    ok = false;
                }
            }
            match context.store().verify_access_log(context.org).await? {
                AuditVerdict::Intact { entries } => {
                    println!("The access log is intact: {entries} entries, every hash checks.");
                }
                AuditVerdict::Broken { entry_id, reason } => {
                    eprintln!("The access log is BROKEN at entry {entry_id}: {reason}.");
                    ok = false;
                }
            }
            Ok(if ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        AuditCommand::List { limit } => {
            let entries = context.store().audit_entries(context.org, *limit).await?;
            let rows: Vec<Vec<String>> = entries
                .iter()
                .map(|e| {
                    vec![
                        e.id.to_string(),
                        e.at.to_string(),
                        e.actor.clone(),
                        e.action.clone(),
                        e.subject.clone(),
                        e.detail.clone(),
                    ]
                })
                .collect();
            print!(
                "{}",
                text_table(
                    &["Id", "At", "Actor", "Action", "Subject", "Detail"],
                    &rows,
                    None
                )
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}
