//! `spendlens keys create | list | regenerate | revoke` (ingest keys) and `spendlens meter
//! prune` (raw-event retention).

use std::process::ExitCode;

use crate::cli::{Cli, KeysCommand, MeterCommand};
use crate::context::Context;
use crate::render::text_table;

pub async fn run(cli: &Cli, command: &KeysCommand) -> anyhow::Result<ExitCode> {
    let context = Context::open(cli).await?;
    let now = context.engine.now();
    let store = context.store();
    let org = context.org;
    match command {
        KeysCommand::Create { name } => {
            let new = store.create_ingest_key(org, name, now).await?;
            store
                .audit(
                    org,
                    "cli",
                    "ingest_key.create",
                    &new.key.name,
                    &new.key.hint,
                    now,
                )
                .await?;
            println!("{}", new.secret);
            eprintln!(
                "Created ingest key {} (\"{}\"). It is shown only now; store it safely.\nIt can only send events: curl -H 'Authorization: Bearer <key>' -H 'Content-Type: application/json' --data '[...]' http://127.0.0.1:8080/api/v1/meter/events",
                new.key.id, new.key.name
            );
        }
        KeysCommand::List => {
            let keys = store.list_ingest_keys(org).await?;
            let rows: Vec<Vec<String>> = keys
                .iter()
                .map(|k| {
                    vec![
                        k.id.to_string(),
                        k.name.clone(),
                        k.hint.clone(),
                        k.created_at.to_string(),
                        k.last_used_at
                            .map_or_else(|| "never".into(), |x| x.to_string()),
                        k.revoked_at
                            .map_or_else(|| "active".into(), |x| format!("revoked {x}")),
                    ]
                })
                .collect();
            print!(
                "{}",
                text_table(
                    &["Id", "Name", "Key", "Created", "Last used", "Status"],
                    &rows,
                    None
                )
            );
        }
        KeysCommand::Regenerate { id, yes } => {
            let key = store.get_ingest_key(org, *id).await?;
            if !yes {
                eprintln!(
                    "Regenerating \"{}\" ({}) stops its current secret at once: every application sending with it will be refused until it gets the new one. Run again with --yes to do it.",
                    key.name, key.hint
                );
                return Ok(ExitCode::FAILURE);
            }
            let new = store.regenerate_ingest_key(org, *id, now).await?;
            store
                .audit(
                    org,
                    "cli",
                    "ingest_key.regenerate",
                    &new.key.name,
                    &format!("{} replaced by {}", key.hint, new.key.hint),
                    now,
                )
                .await?;
            println!("{}", new.secret);
            eprintln!(
                "Regenerated ingest key {} (\"{}\"); the old secret no longer works. The new one is shown only now.",
                new.key.id, new.key.name
            );
        }
        KeysCommand::Revoke { id, yes } => {
            let key = store.get_ingest_key(org, *id).await?;
            if !yes {
                eprintln!(
                    "Revoking \"{}\" ({}) refuses every event sent with it from now on (events already stored stay). Run again with --yes to do it.",
                    key.name, key.hint
                );
                return Ok(ExitCode::FAILURE);
            }
            let key = store.revoke_ingest_key(org, *id, now).await?;
            store
                .audit(org, "cli", "ingest_key.revoke", &key.name, &key.hint, now)
                .await?;
            println!("Revoked ingest key {id} (\"{}\").", key.name);
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn meter(cli: &Cli, command: &MeterCommand) -> anyhow::Result<ExitCode> {
    let context = Context::open(cli).await?;
    let now = context.engine.now();
    match command {
        MeterCommand::Prune { keep_days, yes } => {
            if *keep_days == 0 {
                anyhow::bail!("--keep-days must be at least 1 (today's events are always kept)");
            }
            let today = spendlens_domain::Day::of(now);
            let before = i32::try_from(i64::from(today.number()) - i64::from(*keep_days) + 1)?;
            if !yes {
                eprintln!(
                    "This deletes every raw metered event before day {} (keeping {keep_days} days); rollups and the id ledger stay, so totals do not change. Run again with --yes to do it.",
                    spendlens_domain::Day::from_number(before)?
                );
                return Ok(ExitCode::FAILURE);
            }
            let pruned = context.store().prune_meter_events(before).await?;
            context
                .store()
                .audit(
                    context.org,
                    "cli",
                    "meter.prune",
                    "meter_events",
                    &format!(
                        "{} raw events before day {before} deleted ({} partitions)",
                        pruned.events, pruned.partitions
                    ),
                    now,
                )
                .await?;
            println!(
                "Deleted {} raw metered events ({} day partitions); rollups kept.",
                pruned.events, pruned.partitions
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
