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
    let actor = spendlens_store::Actor {
        name: "cli",
        at: now,
    };
    match command {
        KeysCommand::Create { name } => {
            let new = store.create_ingest_key(org, name, actor).await?;
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
            let new = store.regenerate_ingest_key(org, *id, actor).await?;
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
            let key = store.revoke_ingest_key(org, *id, actor).await?;
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
            let before = retention_cutoff(now, *keep_days)?;
            if !yes {
                eprintln!(
                    "This deletes every raw metered event before day {} (keeping {keep_days} days); rollups and the id ledger stay, so totals do not change. Run again with --yes to do it.",
                    spendlens_domain::Day::from_number(before)?
                );
                return Ok(ExitCode::FAILURE);
            }
            let pruned = prune(context.store(), context.org, "cli", before, now).await?;
            println!(
                "Deleted {} raw metered events ({} day partitions); rollups kept.",
                pruned.events, pruned.partitions
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The first day kept when keeping `keep_days` days up to `now`'s day.
fn retention_cutoff(now: time::OffsetDateTime, keep_days: u32) -> anyhow::Result<i32> {
    let today = spendlens_domain::Day::of(now);
    Ok(i32::try_from(
        i64::from(today.number()) - i64::from(keep_days) + 1,
    )?)
}

/// Prunes raw events before day `before` and audits it when anything went.
async fn prune(
    store: &spendlens_store::Store,
    org: spendlens_store::OrgId,
    actor: &str,
    before: i32,
    now: time::OffsetDateTime,
) -> anyhow::Result<spendlens_store::Pruned> {
    let pruned = store.prune_meter_events(before).await?;
    if pruned.events > 0 || pruned.partitions > 0 {
        store
            .audit(
                org,
                actor,
                "meter.prune",
                "meter_events",
                &format!(
                    "{} raw events before day {before} deleted ({} partitions)",
                    pruned.events, pruned.partitions
                ),
                now,
            )
            .await?;
    }
    Ok(pruned)
}

/// `serve --meter-retention-days N`: prunes at start and every six hours.
pub fn spawn_retention(context: &Context, keep_days: u32) -> tokio::task::JoinHandle<()> {
    let engine = context.engine.clone();
    let org = context.org;
    tokio::spawn(async move {
        loop {
            let now = engine.now();
            let result = match retention_cutoff(now, keep_days) {
                Ok(before) => prune(engine.store(), org, "retention", before, now).await,
                Err(err) => Err(err),
            };
            match result {
                Ok(pruned) if pruned.events > 0 => tracing::info!(
                    events = pruned.events,
                    partitions = pruned.partitions,
                    "pruned raw metered events past the retention"
                ),
                Ok(_) => {}
                Err(err) => tracing::warn!(error = %err, "pruning raw metered events failed"),
            }
            tokio::time::sleep(std::time::Duration::from_secs(6 * 3600)).await;
        }
    })
}
