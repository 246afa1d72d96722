//! `spendlens users add | list | role | disable | enable | remove`: a tenant user is bound to
//! one customer (`--role tenant --customer acme`).

use std::io::Read as _;
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use rand::RngCore;
use spendlens_domain::password::MAX_PASSWORD_BYTES;
use spendlens_store::{OrgId, Role, Store};
use spendlens_web::dashboard::account::access_text;
use spendlens_web::dashboard::session::hash_password;

use crate::cli::{Cli, RoleArg, UsersCommand};
use crate::context::Context;
use crate::render::text_table;

/// A random password of 20 letters and digits (about 119 bits).
pub fn generate_password() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    let mut bytes = [0u8; 20];
    rand::rng().fill_bytes(&mut bytes);
    bytes
        .iter()
        .map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char)
        .collect()
}

/// Adds an admin or viewer with a hashed password; returns the row.
pub async fn add_user(
    store: &Store,
    org: OrgId,
    email: &str,
    role: Role,
    password: &str,
    now: time::OffsetDateTime,
) -> anyhow::Result<spendlens_store::UserRow> {
    add_user_bound(store, org, email, role, None, password, now).await
}

/// Adds a user with a hashed password, a tenant bound to `customer`; returns the row.
pub async fn add_user_bound(
    store: &Store,
    org: OrgId,
    email: &str,
    role: Role,
    customer: Option<&str>,
    password: &str,
    now: time::OffsetDateTime,
) -> anyhow::Result<spendlens_store::UserRow> {
    if let Err(problem) = spendlens_domain::tenant::binding(role, customer) {
        bail!("{problem}");
    }
    if let Err(problem) = spendlens_domain::password::check_new_password(password, email) {
        bail!("{problem}");
    }
    let hash = hash_password(password).map_err(anyhow::Error::msg)?;
    let actor = spendlens_store::Actor {
        name: "cli",
        at: now,
    };
    let user = store
        .create_user_bound(org, email, &hash, role, customer, actor)
        .await?;
    Ok(user)
}

fn role_of(arg: RoleArg) -> Role {
    match arg {
        RoleArg::Admin => Role::Admin,
        RoleArg::Viewer => Role::Viewer,
        RoleArg::Tenant => Role::Tenant,
    }
}

pub async fn run(cli: &Cli, command: &UsersCommand) -> anyhow::Result<ExitCode> {
    let context = Context::open(cli).await?;
    match command {
        UsersCommand::Add {
            email,
            role,
            customer,
            password_stdin,
        } => {
            let role = role_of(*role);
            if let Err(problem) = spendlens_domain::tenant::binding(role, customer.as_deref()) {
                bail!("{problem}");
            }
            let (password, generated) = if *password_stdin {
                // Read a little more than the longest password (and its line break), so a
                // longer one is refused rather than cut.
                let mut bytes = Vec::new();
                std::io::stdin()
                    .take(MAX_PASSWORD_BYTES as u64 + 3)
                    .read_to_end(&mut bytes)
                    .context("reading the password from standard input")?;
                if bytes.len() > MAX_PASSWORD_BYTES + 2 {
                    bail!(
                        "the password on standard input is too long (at most {MAX_PASSWORD_BYTES} bytes)"
                    );
                }
                let text = String::from_utf8(bytes)
                    .context("the password on standard input is not UTF-8 text")?;
                (text.trim_end_matches(['\n', '\r']).to_owned(), false)
            } else {
                (generate_password(), true)
            };
            let user = add_user_bound(
                context.store(),
                context.org,
                email,
                role,
                customer.as_deref(),
                &password,
                context.engine.now(),
            )
            .await?;
            println!(
                "Added {} as {}.",
                user.email,
                access_text(user.role, user.customer.as_deref())
            );
            if user.role == Role::Tenant {
                println!(
                    "They sign in at /login and see only {}'s portal (/portal).",
                    user.customer.as_deref().unwrap_or_default()
                );
            }
            if generated {
                println!("Password (shown once): {password}");
            }
        }
        UsersCommand::Role {
            email,
            role,
            customer,
        } => {
            let role = role_of(*role);
            let now = context.engine.now();
            let before = context.store().user_by_email(context.org, email).await?;
            let wanted = spendlens_domain::tenant::binding(role, customer.as_deref())
                .map_err(anyhow::Error::msg)?;
            if before.role == role && before.customer == wanted {
                println!(
                    "{} is already {}; nothing changed.",
                    before.email,
                    access_text(role, wanted.as_deref())
                );
                return Ok(ExitCode::SUCCESS);
            }
            let actor = spendlens_store::Actor {
                name: "cli",
                at: now,
            };
            let after = context
                .store()
                .set_user_access(context.org, before.id, role, wanted.as_deref(), actor)
                .await?;
            println!(
                "{} is now {} (was {}).",
                after.email,
                access_text(after.role, after.customer.as_deref()),
                access_text(before.role, before.customer.as_deref())
            );
        }
        UsersCommand::List => {
            let users = context.store().list_users(context.org).await?;
            let rows: Vec<Vec<String>> = users
                .iter()
                .map(|u| {
                    vec![
                        u.email.clone(),
                        access_text(u.role, u.customer.as_deref()),
                        u.created_at.to_string(),
                        u.last_login_at
                            .map_or_else(|| "never".into(), |t| t.to_string()),
                        u.disabled_at
                            .map_or_else(|| "active".into(), |t| format!("disabled {t}")),
                    ]
                })
                .collect();
            print!(
                "{}",
                text_table(
                    &["Email", "Role", "Added", "Last sign-in", "Status"],
                    &rows,
                    None
                )
            );
        }
        UsersCommand::Disable { email } | UsersCommand::Enable { email } => {
            let disable = matches!(command, UsersCommand::Disable { .. });
            let now = context.engine.now();
            let user = context.store().user_by_email(context.org, email).await?;
            let actor = spendlens_store::Actor {
                name: "cli",
                at: now,
            };
            let user = context
                .store()
                .set_user_disabled(context.org, user.id, disable, actor)
                .await?;
            if disable {
                println!("Disabled {}: signed out everywhere.", user.email);
            } else {
                println!("Enabled {}.", user.email);
            }
        }
        UsersCommand::Remove { email, yes } => {
            let user = context.store().user_by_email(context.org, email).await?;
            if !*yes {
                bail!(
                    "this removes {} ({}) for good and ends their sessions; run again with --yes to confirm (or `users disable` to stop them for a while)",
                    user.email,
                    user.role
                );
            }
            let actor = spendlens_store::Actor {
                name: "cli",
                at: context.engine.now(),
            };
            let removed = context
                .store()
                .remove_user(context.org, user.id, actor)
                .await?;
            println!("Removed {}.", removed.email);
        }
    }
    Ok(ExitCode::SUCCESS)
}
