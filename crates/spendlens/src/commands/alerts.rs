//! `spendlens alerts`: rules (list, add, enable, disable, delete), channels (list, add,
//! delete), the history of firings, the delivery log and the SMTP settings. The same checks as
//! the API (`spendlens_web::alerts::input`); every change is audited. A running server
//! evaluates the rules and delivers; these commands change and read what it uses.

use std::io::Read as _;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use serde_json::Value;
use spendlens_store::{NewAlertChannel, NewAlertRule};
use spendlens_web::alerts::input::{
    ChannelInput, RuleInput, SmtpInput, channel_json, describe_rule, rule_json,
};

use crate::cli::Cli;
use crate::context::Context;
use crate::render::text_table;

#[derive(Debug, Subcommand)]
pub enum AlertsCommand {
    /// Alert rules: list, add, enable, disable, delete.
    #[command(subcommand)]
    Rules(RulesCommand),
    /// Where firings go: webhooks (signed JSON), Slack-compatible webhooks, email.
    #[command(subcommand)]
    Channels(ChannelsCommand),
    /// Firings, newest first: the value that crossed and the threshold.
    History {
        #[arg(long, default_value_t = 50)]
        limit: i64,
        /// json instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// The delivery log: one row per attempt.
    Deliveries {
        #[arg(long, default_value_t = 50)]
        limit: i64,
    },
    /// The SMTP server email channels send through.
    #[command(subcommand)]
    Smtp(SmtpCommand),
}

#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    List,
    /// Add a rule, e.g. `--name expensive --kind avg_cost --scope customer --scope-value
    /// cus_42 --threshold 1.25`.
    Add(Box<RuleArgs>),
    Enable {
        id: i64,
    },
    Disable {
        id: i64,
    },
    /// Delete a rule (its firings stay in the history); --yes confirms.
    Delete {
        id: i64,
        #[arg(long)]
        yes: bool,
    },
}

#[derive(Debug, Args)]
pub struct RuleArgs {
    #[arg(long)]
    pub name: String,
    /// spend, spend_rate, avg_cost, unpriced_model, price_drift, sync_failing, budget_soft or budget_hard (per budget; threshold unused, give 0).
    #[arg(long)]
    pub kind: String,
    /// USD (spend, spend_rate, avg_cost), percent (price_drift) or a count.
    #[arg(long, allow_hyphen_values = true)]
    pub threshold: String,
    /// metered (default) or billed.
    #[arg(long)]
    pub source: Option<String>,
    /// org (default), provider, model, customer, api_key or workspace.
    #[arg(long)]
    pub scope: Option<String>,
    /// The scope's value, or * for each value on its own.
    #[arg(long)]
    pub scope_value: Option<String>,
    /// day, week or month (UTC).
    #[arg(long)]
    pub period: Option<String>,
    #[arg(long)]
    pub window_hours: Option<i64>,
    #[arg(long)]
    pub min_calls: Option<i64>,
    /// A channel id to deliver to (repeat for several).
    #[arg(long = "channel")]
    pub channels: Vec<i64>,
    /// Add it disabled.
    #[arg(long)]
    pub disabled: bool,
}

#[derive(Debug, Subcommand)]
pub enum ChannelsCommand {
    List,
    /// Add a channel: --kind webhook --url …, --kind slack --url …, or --kind email --to ….
    Add {
        #[arg(long)]
        name: String,
        #[arg(long)]
        kind: String,
        #[arg(long)]
        url: Option<String>,
        /// Email addresses, comma-separated.
        #[arg(long)]
        to: Option<String>,
        /// Read the webhook's signing secret from standard input (else one is generated and
        /// printed once).
        #[arg(long)]
        secret_stdin: bool,
    },
    /// Delete a channel; rules stop delivering there. --yes confirms.
    Delete {
        id: i64,
        #[arg(long)]
        yes: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum SmtpCommand {
    Show,
    /// Set the SMTP server (the password, if any, from standard input).
    Set {
        #[arg(long)]
        host: String,
        #[arg(long)]
        port: Option<u16>,
        /// starttls (default), tls or none.
        #[arg(long)]
        security: Option<String>,
        #[arg(long)]
        username: Option<String>,
        /// Read the password from standard input (else the stored one is kept).
        #[arg(long)]
        password_stdin: bool,
        /// The sender, e.g. "spendlens <alerts@example.com>".
        #[arg(long)]
        from: String,
    },
}

fn stdin_line() -> anyhow::Result<String> {
    let mut text = String::new();
    std::io::stdin().read_to_string(&mut text)?;
    Ok(text.trim_end_matches(['\n', '\r']).to_owned())
}

pub async fn run(cli: &Cli, command: &AlertsCommand) -> anyhow::Result<ExitCode> {
    let context = Context::open(cli).await?;
    let store = context.store();
    let org = context.org;
    let now = context.engine.now();
    let cli_actor = spendlens_store::Actor {
        name: "cli",
        at: now,
    };
    let vault = context.engine.vault();
    match command {
        AlertsCommand::Rules(RulesCommand::List) => {
            let rows: Vec<Vec<String>> = store
                .list_alert_rules(org)
                .await?
                .iter()
                .map(|r| {
                    let json = rule_json(r);
                    let when = match (r.spec.period, r.spec.window_hours) {
                        (Some(p), _) => format!("per {}", p.as_str()),
                        (None, Some(w)) => format!("last {w} h"),
                        _ => "-".to_owned(),
                    };
                    vec![
                        r.id.to_string(),
                        r.name.clone(),
                        r.spec.kind.to_string(),
                        r.spec.scope_text(),
                        when,
                        json["threshold"].as_str().unwrap_or_default().to_owned(),
                        format!("{:?}", r.channels),
                        if r.enabled { "enabled" } else { "disabled" }.to_owned(),
                        r.version.to_string(),
                    ]
                })
                .collect();
            print!(
                "{}",
                text_table(
                    &[
                        "Id",
                        "Name",
                        "Kind",
                        "Scope",
                        "When",
                        "Threshold",
                        "Channels",
                        "State",
                        "Version"
                    ],
                    &rows,
                    None
                )
            );
        }
        AlertsCommand::Rules(RulesCommand::Add(args)) => {
            let input = RuleInput {
                name: args.name.clone(),
                kind: args.kind.clone(),
                source: args.source.clone(),
                scope: args.scope.clone(),
                scope_value: args.scope_value.clone(),
                period: args.period.clone(),
                window_hours: args.window_hours,
                threshold: Value::String(args.threshold.clone()),
                min_calls: args.min_calls,
                channels: args.channels.clone(),
                enabled: Some(!args.disabled),
            };
            let rule = input.into_rule().map_err(anyhow::Error::msg)?;
            let added = store
                .create_alert_rule(org, &rule, cli_actor, describe_rule)
                .await?;
            let detail = describe_rule(&added);
            println!("Added alert rule {}: {detail}", added.id);
        }
        AlertsCommand::Rules(RulesCommand::Enable { id } | RulesCommand::Disable { id }) => {
            let enable = matches!(command, AlertsCommand::Rules(RulesCommand::Enable { .. }));
            let rule = store.get_alert_rule(org, *id).await?;
            let new = NewAlertRule {
                name: rule.name.clone(),
                spec: rule.spec.clone(),
                channels: rule.channels.clone(),
                enabled: enable,
            };
            let (_, after) = store
                .update_alert_rule(org, *id, &new, cli_actor, describe_rule)
                .await?;
            println!("{}", describe_rule(&after));
        }
        AlertsCommand::Rules(RulesCommand::Delete { id, yes }) => {
            let rule = store.get_alert_rule(org, *id).await?;
            if !yes {
                eprintln!(
                    "Deleting rule {id} ({}) stops it watching spend; its firings stay in the history. Run again with --yes to delete it.",
                    describe_rule(&rule)
                );
                return Ok(ExitCode::FAILURE);
            }
            let actor = spendlens_store::Actor {
                name: "cli",
                at: now,
            };
            store
                .delete_alert_rule(org, *id, actor, describe_rule)
                .await?;
            println!("Deleted alert rule {id}.");
        }
        AlertsCommand::Channels(ChannelsCommand::List) => {
            let rows: Vec<Vec<String>> = store
                .list_alert_channels(org)
                .await?
                .iter()
                .map(|c| {
                    let json = channel_json(c);
                    vec![
                        c.id.to_string(),
                        c.name.clone(),
                        c.kind.clone(),
                        json["target"].as_str().unwrap_or_default().to_owned(),
                        if c.has_secret { "yes" } else { "no" }.to_owned(),
                    ]
                })
                .collect();
            print!(
                "{}",
                text_table(&["Id", "Name", "Kind", "To", "Signed"], &rows, None)
            );
        }
        AlertsCommand::Channels(ChannelsCommand::Add {
            name,
            kind,
            url,
            to,
            secret_stdin,
        }) => {
            let secret = if *secret_stdin {
                Some(stdin_line()?)
            } else {
                None
            };
            let checked = ChannelInput {
                name: name.clone(),
                kind: kind.clone(),
                url: url.clone(),
                to: to.clone(),
                secret,
            }
            .check()
            .map_err(anyhow::Error::msg)?;
            let new = NewAlertChannel {
                name: &checked.name,
                kind: checked.kind,
                target: &checked.target,
                secret: checked.secret.as_deref(),
            };
            let added = store
                .create_alert_channel(org, &new, vault, cli_actor, |added| {
                    channel_json(added)["target"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned()
                })
                .await?;
            let shown = channel_json(&added)["target"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            if checked.generated_secret {
                println!("{}", checked.secret.unwrap_or_default());
                eprintln!(
                    "Added channel {} ({}). Its signing secret (above) is shown only now.",
                    added.id, added.name
                );
            } else {
                println!("Added channel {} ({} to {shown}).", added.id, added.kind);
            }
        }
        AlertsCommand::Channels(ChannelsCommand::Delete { id, yes }) => {
            let channel = store.get_alert_channel(org, *id).await?;
            if !yes {
                eprintln!(
                    "Deleting channel {id} ({} {}) stops every rule delivering there and loses its signing secret. Run again with --yes to delete it.",
                    channel.name, channel.kind
                );
                return Ok(ExitCode::FAILURE);
            }
            let actor = spendlens_store::Actor {
                name: "cli",
                at: now,
            };
            store.delete_alert_channel(org, *id, actor).await?;
            println!("Deleted channel {id}.");
        }
        AlertsCommand::History { limit, json } => {
            let firings = store
                .list_alert_firings(org, (*limit).clamp(1, 1000))
                .await?;
            if *json {
                println!("{}", serde_json::to_string_pretty(&firings)?);
                return Ok(ExitCode::SUCCESS);
            }
            let rows: Vec<Vec<String>> = firings
                .iter()
                .map(|f| {
                    vec![
                        f.fired_at.to_string(),
                        f.rule_name.clone(),
                        if f.subject.is_empty() {
                            f.scope.clone()
                        } else {
                            format!("{} · {}", f.scope, f.subject)
                        },
                        f.value.clone(),
                        f.threshold.clone(),
                        f.period_key.clone(),
                        format!("{}/{}/{}", f.delivered, f.failed, f.pending),
                    ]
                })
                .collect();
            print!(
                "{}",
                text_table(
                    &[
                        "Fired",
                        "Rule",
                        "Scope",
                        "Value",
                        "Threshold",
                        "Period",
                        "Sent/failed/pending"
                    ],
                    &rows,
                    None
                )
            );
        }
        AlertsCommand::Deliveries { limit } => {
            let rows: Vec<Vec<String>> = store
                .list_alert_deliveries(org, (*limit).clamp(1, 1000))
                .await?
                .iter()
                .map(|d| {
                    vec![
                        d.at.to_string(),
                        d.rule_name.clone(),
                        d.channel_name.clone(),
                        d.attempt.to_string(),
                        d.outcome.clone(),
                        d.http_status.map(|s| s.to_string()).unwrap_or_default(),
                        d.error.clone().unwrap_or_default(),
                    ]
                })
                .collect();
            print!(
                "{}",
                text_table(
                    &[
                        "At", "Rule", "Channel", "Attempt", "Outcome", "HTTP", "Error"
                    ],
                    &rows,
                    None
                )
            );
        }
        AlertsCommand::Smtp(SmtpCommand::Show) => match store.alert_smtp(org).await? {
            Some(s) => println!(
                "{}:{} ({}) from {}, user {}, password {}",
                s.host,
                s.port,
                s.security,
                s.from_address,
                s.username.as_deref().unwrap_or("-"),
                if s.password_set {
                    "stored (encrypted)"
                } else {
                    "not set"
                }
            ),
            None => {
                println!("No SMTP server is set: `spendlens alerts smtp set --host … --from …`.")
            }
        },
        AlertsCommand::Smtp(SmtpCommand::Set {
            host,
            port,
            security,
            username,
            password_stdin,
            from,
        }) => {
            let password = if *password_stdin {
                Some(stdin_line()?)
            } else {
                None
            };
            let (settings, change) = SmtpInput {
                host: host.clone(),
                port: *port,
                security: security.clone(),
                username: username.clone(),
                password,
                from: from.clone(),
            }
            .check()
            .map_err(anyhow::Error::msg)?;
            let word = change.describe();
            let saved = store
                .put_alert_smtp(org, &settings, change, vault, cli_actor)
                .await?;
            println!(
                "Saved: {}:{} ({}) from {} ({word}).",
                saved.host, saved.port, saved.security, saved.from_address
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The demo's rules (in-app only): daily and monthly spend, the last 24 hours' spend rate,
/// each customer's average cost per call, unpriced models, price drift and failing syncs —
/// so the Alerts page has firings to show once the demo traffic arrives.
pub async fn demo_rules(
    store: &spendlens_store::Store,
    org: spendlens_store::OrgId,
    now: time::OffsetDateTime,
) -> anyhow::Result<()> {
    // Audited as the demo's, as its other seeded changes are.
    let actor = spendlens_store::Actor {
        name: "demo",
        at: now,
    };
    let rules = [
        (
            "Metered spend this month over $100",
            "spend",
            "org",
            None,
            Some("month"),
            None,
            "100",
        ),
        (
            "Spend in the last 24 h over $50",
            "spend_rate",
            "org",
            None,
            None,
            Some(24),
            "50",
        ),
        (
            "Daily metered spend over $25",
            "spend",
            "org",
            None,
            Some("day"),
            None,
            "25",
        ),
        (
            "A customer's calls average over $1.25",
            "avg_cost",
            "customer",
            Some("*"),
            Some("day"),
            None,
            "1.25",
        ),
        (
            "Unpriced model seen",
            "unpriced_model",
            "org",
            None,
            Some("month"),
            None,
            "0",
        ),
        (
            "Reported cost drifts over 5% from the catalog",
            "price_drift",
            "org",
            None,
            None,
            None,
            "5",
        ),
        (
            "A budget reached its soft limit",
            "budget_soft",
            "org",
            None,
            None,
            None,
            "0",
        ),
        (
            "A budget reached its limit",
            "budget_hard",
            "org",
            None,
            None,
            None,
            "0",
        ),
    ];
    for (name, kind, scope, value, period, window, threshold) in rules {
        let rule = RuleInput {
            name: name.to_owned(),
            kind: kind.to_owned(),
            scope: Some(scope.to_owned()),
            scope_value: value.map(str::to_owned),
            period: period.map(str::to_owned),
            window_hours: window,
            threshold: Value::String(threshold.to_owned()),
            ..RuleInput::default()
        }
        .into_rule()
        .map_err(anyhow::Error::msg)?;
        store
            .create_alert_rule(org, &rule, actor, describe_rule)
            .await?;
    }
    let failing = RuleInput {
        name: "A connection's sync failed twice in a row".to_owned(),
        kind: "sync_failing".to_owned(),
        source: Some("billed".to_owned()),
        threshold: Value::String("2".to_owned()),
        ..RuleInput::default()
    }
    .into_rule()
    .map_err(anyhow::Error::msg)?;
    store
        .create_alert_rule(org, &failing, actor, describe_rule)
        .await?;
    Ok(())
}
