//! `spendlens tokens create | list | revoke`.

use std::process::ExitCode;

use spendlens_domain::Scopes;

use crate::cli::{Cli, TokensCommand};
use crate::context::Context;
use crate::render::text_table;

pub async fn run(cli: &Cli, command: &TokensCommand) -> anyhow::Result<ExitCode> {
    let context = Context::open(cli).await?;
    let now = context.engine.now();
    match command {
        TokensCommand::Create {
            name,
            scope,
            expires_in_days,
        } => {
            let scopes: Scopes = scope.parse()?;
            let expires_at = expires_in_days.map(|days| now + time::Duration::days(days));
            let actor = spendlens_store::Actor {
                name: "cli",
                at: now,
            };
            let token = context
                .store()
                .create_scoped_api_token(context.org, name, scopes, expires_at, actor)
                .await?;
            println!("{}", token.secret);
            let expiry =
                expires_at.map_or_else(|| "no expiry".to_owned(), |at| format!("expires {at}"));
            eprintln!(
                "Created API token {} (\"{name}\", scopes {scopes}, {expiry}). It is shown only now; store it safely.\nUse it as: curl -H 'Authorization: Bearer {}' http://127.0.0.1:8080/api/v1/reports/providers",
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
                        t.scopes.to_string(),
                        t.expires_at
                            .map_or_else(|| "never".into(), |x| x.to_string()),
                        match (t.revoked_at, t.expires_at) {
                            (Some(at), _) => format!("revoked {at}"),
                            (None, Some(at)) if at <= now => "expired".to_owned(),
                            _ => "active".to_owned(),
                        },
                    ]
                })
                .collect();
            print!(
                "{}",
                text_table(
                    &[
                        "Id",
                        "Name",
                        "Token",
                        "Created",
                        "Last used",
                        "Scopes",
                        "Expires",
                        "Status"
                    ],
                    &rows,
                    None
                )
            );
        }
        TokensCommand::Revoke { id } => {
            context
                .store()
                .revoke_api_token(
                    context.org,
                    *id,
                    spendlens_store::Actor {
                        name: "cli",
                        at: now,
                    },
                )
                .await?;
            println!("Revoked token {id}.");
        }
    }
    Ok(ExitCode::SUCCESS)
}
