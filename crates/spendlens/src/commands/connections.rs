//! `spendlens connections add | list | test | remove`.

use std::io::Read as _;
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use spendlens_domain::ProviderKind;
use spendlens_providers::ConnectionCheck;
use spendlens_store::ConnectionRow;
use spendlens_sync::connections::AddConnection;

use crate::cli::{
    AddConnectionArgs, Cli, ConnectionsCommand, CredentialSource, Format, ProviderArg,
};
use crate::context::Context;
use crate::render::text_table;

pub fn provider_of(arg: ProviderArg) -> ProviderKind {
    match arg {
        ProviderArg::Openai => ProviderKind::OpenAi,
        ProviderArg::Anthropic => ProviderKind::Anthropic,
        ProviderArg::Bedrock => ProviderKind::Bedrock,
        ProviderArg::Vertex => ProviderKind::Vertex,
        ProviderArg::Fal => ProviderKind::Fal,
        ProviderArg::Runway => ProviderKind::Runway,
        ProviderArg::Openrouter => ProviderKind::OpenRouter,
        ProviderArg::Litellm => ProviderKind::LiteLlm,
        ProviderArg::AzureOpenai => ProviderKind::AzureOpenAi,
        ProviderArg::Piapi => ProviderKind::PiApi,
    }
}

pub async fn run(cli: &Cli, command: &ConnectionsCommand) -> anyhow::Result<ExitCode> {
    let context = Context::open(cli).await?;
    match command {
        ConnectionsCommand::Add(args) => add(&context, args).await,
        ConnectionsCommand::List(format) => list(&context, format.format).await,
        ConnectionsCommand::Test { connection } => {
            let row = context
                .store()
                .find_connection(context.org, connection)
                .await?;
            match context.engine.test_connection(context.org, row.id).await {
                Ok(check) => {
                    println!("ok: {}", check.summary);
                    Ok(ExitCode::SUCCESS)
                }
                Err(err) => {
                    eprintln!("connection \"{}\" failed its check: {err}", row.name);
                    Ok(ExitCode::FAILURE)
                }
            }
        }
        ConnectionsCommand::Edit {
            connection,
            lookback_days: days,
            provider_lookback: provider_default,
        } => {
            let row = context
                .store()
                .find_connection(context.org, connection)
                .await?;
            let days = if *provider_default { None } else { *days };
            let said = match days {
                Some(days) => format!("the last {days} days before the last synced day"),
                None => format!(
                    "{}'s own look-back: {}",
                    row.provider.display_name(),
                    row.provider.lookback().describe()
                ),
            };
            let actor = spendlens_store::Actor {
                name: "cli",
                at: context.engine.now(),
            };
            context
                .store()
                .set_connection_lookback(context.org, row.id, days, actor, &said)
                .await?;
            println!("Every sync of \"{}\" now reads again {said}.", row.name);
            Ok(ExitCode::SUCCESS)
        }
        ConnectionsCommand::Services {
            connection,
            service,
            choice,
            format,
        } => {
            let row = context
                .store()
                .find_connection(context.org, connection)
                .await?;
            if let (Some(service), Some(choice)) = (service, choice) {
                let choice = match spendlens_domain::services::parse_choice(choice) {
                    Ok(choice) => choice,
                    Err(message) => {
                        eprintln!("error: {message}");
                        return Ok(ExitCode::FAILURE);
                    }
                };
                match spendlens_web::services::choose_service_in(
                    context.store(),
                    context.org,
                    row.id,
                    service,
                    choice,
                    "cli",
                    context.engine.now(),
                )
                .await
                {
                    Ok(outcome) => println!("{}", outcome.message),
                    Err(spendlens_store::StoreError::Invalid(message)) => {
                        eprintln!("error: {message}");
                        return Ok(ExitCode::FAILURE);
                    }
                    Err(other) => return Err(other.into()),
                }
            }
            super::connection_months::services(&context, &row, *format).await
        }
        ConnectionsCommand::Months { connection, format } => {
            let row = context
                .store()
                .find_connection(context.org, connection)
                .await?;
            super::connection_months::months(&context, &row, *format).await
        }
        ConnectionsCommand::Remove { connection, purge } => {
            let row = context
                .store()
                .find_connection(context.org, connection)
                .await?;
            let lost = context
                .store()
                .connection_holdings(context.org, row.id)
                .await?
                .describe();
            let actor = spendlens_store::Actor {
                name: "cli",
                at: context.engine.now(),
            };
            if *purge {
                context
                    .store()
                    .delete_connection(context.org, row.id, actor, &format!("deleted {lost}"))
                    .await?;
                println!(
                    "Removed connection \"{}\" and everything synced through it ({lost}).",
                    row.name
                );
            } else {
                context
                    .store()
                    .remove_credential(context.org, row.id, actor, &format!("kept {lost}"))
                    .await?;
                println!(
                    "Removed the credential of \"{}\"; its history ({lost}) stays (use --purge to delete it too). `spendlens connections set-key {} --credential-stdin < key.txt` gives it a new key and it syncs again.",
                    row.name, row.id.0
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        ConnectionsCommand::SetKey {
            connection,
            credential,
        } => set_key(&context, connection, credential).await,
    }
}

fn read_credential(source: &CredentialSource) -> anyhow::Result<String> {
    let text = match &source.credential_file {
        Some(path) => std::fs::read_to_string(path)
            .with_context(|| format!("reading the credential file {}", path.display()))?,
        None => {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .context("reading the credential from standard input")?;
            text
        }
    };
    if text.trim().is_empty() {
        bail!("the credential is empty");
    }
    Ok(text.trim().to_owned())
}

async fn add(context: &Context, args: &AddConnectionArgs) -> anyhow::Result<ExitCode> {
    let secret = read_credential(&args.credential)?;
    let provider = provider_of(args.provider);
    let actor = spendlens_store::Actor {
        name: "cli",
        at: context.engine.now(),
    };
    let result = context
        .engine
        .add_connection_as(
            context.org,
            AddConnection {
                provider,
                name: &args.name,
                secret: &secret,
                base_url: args.base_url.as_deref(),
                skip_check: args.skip_check,
                sync_interval_secs: args.interval_minutes.saturating_mul(60),
                backfill_days: args.backfill_days,
                lookback_days: args.lookback_days,
            },
            actor,
        )
        .await;
    match result {
        Ok((row, check)) => {
            println!(
                "Added {} connection \"{}\" (id {}, key {}).",
                provider.display_name(),
                row.name,
                row.id.0,
                row.credential_hint.as_deref().unwrap_or("?")
            );
            print_next(&row, check.as_ref());
            Ok(ExitCode::SUCCESS)
        }
        Err(err) => {
            eprintln!("error: {err}");
            Ok(ExitCode::FAILURE)
        }
    }
}

async fn set_key(
    context: &Context,
    connection: &str,
    source: &CredentialSource,
) -> anyhow::Result<ExitCode> {
    let row = context
        .store()
        .find_connection(context.org, connection)
        .await?;
    let secret = read_credential(source)?;
    let actor = spendlens_store::Actor {
        name: "cli",
        at: context.engine.now(),
    };
    match context
        .engine
        .replace_credential_as(context.org, row.id, &secret, actor)
        .await
    {
        Ok((row, check)) => {
            println!(
                "Gave connection \"{}\" (id {}) a new key {}; it is pending until its next sync.",
                row.name,
                row.id.0,
                row.credential_hint.as_deref().unwrap_or("?")
            );
            print_next(&row, Some(&check));
            Ok(ExitCode::SUCCESS)
        }
        Err(err) => {
            eprintln!("error: {}", err.key_not_changed());
            Ok(ExitCode::FAILURE)
        }
    }
}

/// After a key was saved: what its live check said, and how to sync now.
fn print_next(row: &ConnectionRow, check: Option<&ConnectionCheck>) {
    if let Some(check) = check {
        println!("Check: {}", check.summary);
    }
    println!(
        "Run `spendlens sync --connection {}` to fetch its data now.",
        row.id.0
    );
}

async fn list(context: &Context, format: Format) -> anyhow::Result<ExitCode> {
    let rows = context.store().list_connections(context.org).await?;
    match format {
        Format::Json => println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({"connections": rows}))?
        ),
        Format::Csv | Format::Table => {
            if rows.is_empty() {
                println!(
                    "No connections yet. Add one with `spendlens connections add --provider openai --name NAME --credential-stdin`."
                );
                return Ok(ExitCode::SUCCESS);
            }
            let cells: Vec<Vec<String>> = rows
                .iter()
                .map(|c| {
                    vec![
                        c.id.0.to_string(),
                        c.name.clone(),
                        c.provider.display_name().to_owned(),
                        c.credential_hint
                            .clone()
                            .unwrap_or_else(|| "(removed)".into()),
                        c.status.to_string(),
                        c.last_sync_at
                            .map_or_else(|| "never".into(), |t| t.to_string()),
                        c.synced_through.map_or_else(String::new, |d| d.to_string()),
                        c.base_url.clone().unwrap_or_default(),
                        c.status_message.clone().unwrap_or_default(),
                    ]
                })
                .collect();
            print!(
                "{}",
                text_table(
                    &[
                        "Id",
                        "Name",
                        "Provider",
                        "Key",
                        "Status",
                        "Last sync",
                        "Synced through",
                        "Base URL",
                        "Message"
                    ],
                    &cells,
                    None
                )
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
