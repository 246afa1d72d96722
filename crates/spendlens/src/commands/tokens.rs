//! `spendlens tokens create | list | revoke`.

use std::process::ExitCode;

use crate::cli::{Cli, TokensCommand};
use crate::context::Context;
use crate::render::text_table;

pub async fn run(cli: &Cli, command: &TokensCommand) -> anyhow::Result<ExitCode> {
    let context = Context::open(cli).await?;
    let now = context.engine.now();
    match command {
        TokensCommand::Create { name } => {
            let token = context
                .store()
                .create_api_token(context.org, name, now)
                .await?;
            println!("{}", token.secret);
            eprintln!(
                "Created API token {} (\"{name}\"). It is shown only now; store it safely.\nUse it as: curl -H 'Authorization: Bearer {}' http://127.0.0.1:8080/api/v1/reports/providers",
                token.id, token.secret
            );
        }
        TokensCommand::List => {
            let tokens = context.store().list_api_tokens(context.org).await?;
            let rows: Vec<Vec<String>> = tokens
                .iter()
                .map(|t| {
                    vec![
                        t.id.to_string(),
                        t.name.clone(),
                        format!("{}…", t.prefix),
                        t.created_at.to_string(),
                        t.last_used_at
                            .map_or_else(|| "never".into(), |x| x.to_string()),
                        t.revoked_at
                            .map_or_else(|| "active".into(), |x| format!("revoked {x}")),
                    ]
                })
                .collect();
            print!(
                "{}",
                text_table(
                    &["Id", "Name", "Token", "Created", "Last used", "Status"],
                    &rows,
                    None
                )
            );
        }
        TokensCommand::Revoke { id } => {
            context
                .store()
                .revoke_api_token(context.org, *id, now)
                .await?;
            println!("Revoked token {id}.");
        }
    }
    Ok(ExitCode::SUCCESS)
}
