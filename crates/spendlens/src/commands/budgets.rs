//! `spendlens budgets`: caps (list, create, edit, delete, versions), their status and a check.
//! The same checks as the API (`spendlens_web::budgets::input`); every change is versioned and
//! audited by the store. Status and check here read the database: they see settled spend, not
//! the reservations a running server holds in memory (ask the server's
//! `POST /api/v1/budgets/check` for those).

use std::process::ExitCode;

use clap::{Args, Subcommand};
use serde_json::{Value, json};
use spendlens_domain::Money;
use spendlens_domain::budget::CapScope;
use spendlens_domain::budget::ledger::Ledger;
use spendlens_query::budget::{self, CapStatus};
use spendlens_store::{BudgetCapRow, OrgId, Store, overlaps_of};
use spendlens_web::budgets::input::{CapInput, cap_json, input_of, version_json};

use crate::cli::Cli;
use crate::context::Context;
use crate::render::text_table;

const ACTOR: &str = "cli";

#[derive(Debug, Subcommand)]
pub enum BudgetsCommand {
    /// Every cap, with a summary (total, enabled, disabled).
    List {
        /// Only caps whose scope sets this field: organization, provider, workspace, api_key,
        /// customer or model.
        #[arg(long)]
        scope: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Add a cap, e.g. `--name acme --customer acme --period MONTHLY --limit 500`.
    Create(Box<CapArgs>),
    /// Change a cap: only the options given change; its version goes up.
    Edit {
        id: i64,
        #[command(flatten)]
        changes: Box<EditArgs>,
    },
    /// Delete a cap (its versions stay); --yes confirms.
    Delete {
        id: i64,
        #[arg(long)]
        yes: bool,
    },
    /// Every version of a cap, newest first.
    Versions { id: i64 },
    /// Spend, limit, period, utilization, remaining and state of every cap (settled spend).
    Status {
        #[arg(long)]
        json: bool,
    },
    /// Would a call be allowed now? (Against settled spend; reservations live in the server.)
    Check(Box<CheckArgs>),
}

#[derive(Debug, Args)]
pub struct ScopeArgs {
    #[arg(long)]
    pub provider: Option<String>,
    /// The workspace's display name.
    #[arg(long)]
    pub workspace: Option<String>,
    /// As metered calls carry it.
    #[arg(long)]
    pub api_key: Option<String>,
    #[arg(long)]
    pub customer: Option<String>,
    #[arg(long)]
    pub model: Option<String>,
}

#[derive(Debug, Args)]
pub struct CapArgs {
    #[arg(long)]
    pub name: String,
    #[command(flatten)]
    pub scope: ScopeArgs,
    /// DAILY, WEEKLY (from Monday) or MONTHLY; UTC.
    #[arg(long)]
    pub period: String,
    /// USD.
    #[arg(long, allow_hyphen_values = true)]
    pub limit: String,
    /// Soft limit, percent of the limit (default 80).
    #[arg(long)]
    pub soft_pct: Option<String>,
    /// A tenant cap (for --customer; at or below the platform cap governing it).
    #[arg(long)]
    pub tenant: bool,
    /// Deny calls without a price (default: allow while under the limit).
    #[arg(long)]
    pub fail_closed: bool,
    /// Add it disabled.
    #[arg(long)]
    pub disabled: bool,
}

#[derive(Debug, Args)]
pub struct EditArgs {
    #[arg(long)]
    pub name: Option<String>,
    #[command(flatten)]
    pub scope: ScopeArgs,
    /// Remove every scope field not given again (else the stored ones stay).
    #[arg(long)]
    pub replace_scope: bool,
    #[arg(long)]
    pub period: Option<String>,
    #[arg(long, allow_hyphen_values = true)]
    pub limit: Option<String>,
    #[arg(long)]
    pub soft_pct: Option<String>,
    /// enabled or disabled.
    #[arg(long)]
    pub state: Option<String>,
    /// fail_open or fail_closed.
    #[arg(long)]
    pub unpriced: Option<String>,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub scope: ScopeArgs,
    /// USD; absent: an unpriced call.
    #[arg(long, allow_hyphen_values = true)]
    pub estimated_cost: Option<String>,
}

fn opt(value: &Option<String>) -> Option<String> {
    value.clone()
}

fn describe(cap: &BudgetCapRow) -> String {
    spendlens_store::describe_budget(&cap.spec)
}

/// Prints the overlap warnings that involve cap `id` (after a create or an edit).
async fn warn_overlaps(store: &Store, org: OrgId, id: i64) -> anyhow::Result<()> {
    let caps = store.list_budget_caps(org).await?;
    for overlap in overlaps_of(&caps)
        .iter()
        .filter(|o| o.cap == id || o.by == id)
    {
        println!("Warning: {}.", overlap.message);
    }
    Ok(())
}

pub async fn run(cli: &Cli, command: &BudgetsCommand) -> anyhow::Result<ExitCode> {
    let context = Context::open(cli).await?;
    let store = context.store();
    let org = context.org;
    let now = context.engine.now();
    match command {
        BudgetsCommand::List { scope, json } => {
            let caps = store.list_budget_caps(org).await?;
            let overlaps = overlaps_of(&caps);
            let caps: Vec<&BudgetCapRow> = match scope.as_deref() {
                None => caps.iter().collect(),
                Some("organization") => caps
                    .iter()
                    .filter(|c| c.spec.scope.is_organization())
                    .collect(),
                Some(field) => {
                    if !spendlens_domain::budget::SCOPE_FIELDS.contains(&field) {
                        anyhow::bail!(
                            "--scope is organization, provider, workspace, api_key, customer or model, not \"{field}\""
                        );
                    }
                    caps.iter()
                        .filter(|c| c.spec.scope.values().iter().any(|(f, _)| *f == field))
                        .collect()
                }
            };
            let enabled = caps.iter().filter(|c| c.spec.enabled).count();
            if *json {
                let list: Vec<Value> = caps.iter().map(|c| cap_json(c)).collect();
                println!(
                    "{}",
                    serde_json::to_string_pretty(
                        &json!({"count": caps.len(), "enabled": enabled, "disabled": caps.len() - enabled, "budgets": list, "overlaps": overlaps})
                    )?
                );
                return Ok(ExitCode::SUCCESS);
            }
            let rows: Vec<Vec<String>> = caps
                .iter()
                .map(|c| {
                    let s = &c.spec;
                    vec![
                        c.id.to_string(),
                        s.name.clone(),
                        s.scope.to_string(),
                        s.period.as_str().to_owned(),
                        format!("${}", s.limit),
                        format!("{} %", s.soft_pct),
                        if s.enabled { "enabled" } else { "disabled" }.to_owned(),
                        c.version.to_string(),
                        s.provenance.as_str().to_owned(),
                    ]
                })
                .collect();
            print!(
                "{}",
                text_table(
                    &[
                        "Id", "Name", "Scope", "Period", "Limit", "Soft", "State", "Version",
                        "Set by"
                    ],
                    &rows,
                    None
                )
            );
            println!(
                "{} budgets: {enabled} enabled, {} disabled. Periods are UTC; weeks start on Monday.",
                caps.len(),
                caps.len() - enabled
            );
            for overlap in &overlaps {
                println!("Warning: {}.", overlap.message);
            }
        }
        BudgetsCommand::Create(args) => {
            let input = CapInput {
                name: args.name.clone(),
                provider: opt(&args.scope.provider),
                workspace: opt(&args.scope.workspace),
                api_key: opt(&args.scope.api_key),
                customer: opt(&args.scope.customer),
                model: opt(&args.scope.model),
                period: args.period.clone(),
                limit: Value::String(args.limit.clone()),
                soft_pct: args.soft_pct.clone().map(Value::String),
                enabled: Some(!args.disabled),
                provenance: Some(if args.tenant { "tenant" } else { "platform" }.to_owned()),
                unpriced: Some(
                    if args.fail_closed {
                        "fail_closed"
                    } else {
                        "fail_open"
                    }
                    .to_owned(),
                ),
                expected_version: None,
            };
            let spec = input.into_spec().map_err(anyhow::Error::msg)?;
            let cap = store.create_budget_cap(org, &spec, ACTOR, now).await?;
            println!("Added budget {} (version 1): {}", cap.id, describe(&cap));
            warn_overlaps(store, org, cap.id).await?;
        }
        BudgetsCommand::Edit { id, changes } => {
            let cap = store.get_budget_cap(org, *id).await?;
            let mut input = input_of(&cap);
            let c = changes.as_ref();
            if c.replace_scope {
                input.provider = None;
                input.workspace = None;
                input.api_key = None;
                input.customer = None;
                input.model = None;
            }
            for (field, value) in [
                (&mut input.provider, &c.scope.provider),
                (&mut input.workspace, &c.scope.workspace),
                (&mut input.api_key, &c.scope.api_key),
                (&mut input.customer, &c.scope.customer),
                (&mut input.model, &c.scope.model),
            ] {
                if let Some(v) = value {
                    *field = Some(v.clone());
                }
            }
            if let Some(name) = &c.name {
                input.name = name.clone();
            }
            if let Some(period) = &c.period {
                input.period = period.clone();
            }
            if let Some(limit) = &c.limit {
                input.limit = Value::String(limit.clone());
            }
            if let Some(soft) = &c.soft_pct {
                input.soft_pct = Some(Value::String(soft.clone()));
            }
            if let Some(unpriced) = &c.unpriced {
                input.unpriced = Some(unpriced.clone());
            }
            match c.state.as_deref() {
                None => {}
                Some("enabled") => input.enabled = Some(true),
                Some("disabled") => input.enabled = Some(false),
                Some(other) => anyhow::bail!("--state is enabled or disabled, not \"{other}\""),
            }
            let expected = input.expected_version;
            let spec = input.into_spec().map_err(anyhow::Error::msg)?;
            let (before, after) = store
                .update_budget_cap(org, *id, &spec, expected, ACTOR, now)
                .await?;
            println!(
                "Budget {id}: version {} → {}",
                before.version, after.version
            );
            println!("  was {}", describe(&before));
            println!("  now {}", describe(&after));
            warn_overlaps(store, org, after.id).await?;
        }
        BudgetsCommand::Delete { id, yes } => {
            let cap = store.get_budget_cap(org, *id).await?;
            if !yes {
                eprintln!(
                    "Deleting budget {id} ({}) stops it capping spend: checks no longer count it. Its versions stay. Run again with --yes to delete it.",
                    describe(&cap)
                );
                return Ok(ExitCode::FAILURE);
            }
            store.delete_budget_cap(org, *id, ACTOR, now).await?;
            println!("Deleted budget {id} ({}).", describe(&cap));
        }
        BudgetsCommand::Versions { id } => {
            let versions = store.budget_cap_versions(org, *id).await?;
            let rows: Vec<Vec<String>> = versions
                .iter()
                .map(|v| {
                    let j = version_json(v);
                    vec![
                        v.version.to_string(),
                        v.change.clone(),
                        j["changed_at"].as_str().unwrap_or_default().to_owned(),
                        v.changed_by.clone(),
                        spendlens_store::describe_budget(&v.spec),
                    ]
                })
                .collect();
            print!(
                "{}",
                text_table(
                    &["Version", "Change", "At", "By", "Definition"],
                    &rows,
                    None
                )
            );
        }
        BudgetsCommand::Status { json } => {
            let statuses = read_statuses(store, org, now).await?;
            if *json {
                println!("{}", serde_json::to_string_pretty(&statuses)?);
                return Ok(ExitCode::SUCCESS);
            }
            let rows: Vec<Vec<String>> = statuses
                .iter()
                .map(|s| {
                    vec![
                        s.id.to_string(),
                        s.name.clone(),
                        s.scope.clone(),
                        format!("{} from {}", s.period.as_str(), s.period_start.date()),
                        format!("${}", s.spend),
                        format!("${}", s.limit),
                        format!("{} %", s.utilization_pct),
                        format!("${}", s.remaining),
                        s.state.as_str().to_owned(),
                        if s.unpriced_calls > 0 {
                            format!("{} unpriced calls", s.unpriced_calls)
                        } else {
                            String::new()
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
                        "Scope",
                        "Period",
                        "Spend",
                        "Limit",
                        "Used",
                        "Remaining",
                        "State",
                        ""
                    ],
                    &rows,
                    None
                )
            );
            println!(
                "Settled spend (the bill through its complete-through day, metered calls after); a running server also counts its open reservations."
            );
            if let Some(note) = spendlens_query::budget::unpriced_note(store, org, now).await? {
                println!("{note}.");
            }
        }
        BudgetsCommand::Check(args) => {
            let estimate = match &args.estimated_cost {
                None => None,
                Some(text) => {
                    let money = Money::parse_units(text.trim()).map_err(|_| {
                        anyhow::anyhow!("--estimated-cost is USD such as 0.05, not \"{text}\"")
                    })?;
                    if money.is_negative() {
                        anyhow::bail!("--estimated-cost cannot be negative");
                    }
                    Some(money)
                }
            };
            let read = budget::read(store, org, now, 0).await?;
            let mut call = CapScope::call(
                args.scope.provider.as_deref(),
                args.scope.workspace.as_deref(),
                args.scope.api_key.as_deref(),
                args.scope.customer.as_deref(),
                args.scope.model.as_deref(),
            );
            if call.workspace.is_none()
                && let (Some(p), Some(k)) = (call.provider.as_deref(), call.api_key.as_deref())
            {
                call.workspace = read.keys.workspace_of(p, k);
            }
            let mut ledger = Ledger::default();
            ledger.install(read.snapshot);
            let Some(outcome) = ledger.check(&call, estimate, None, now) else {
                anyhow::bail!("the budgets could not be read");
            };
            let d = &outcome.decision;
            println!("{}: {}", if d.allowed { "allow" } else { "deny" }, d.reason);
            if let (Some(id), Some(remaining)) = (d.binding, d.remaining) {
                println!(
                    "binding budget: {} (id {id}), ${remaining} remaining",
                    outcome.binding_name.clone().unwrap_or_default()
                );
            }
            return Ok(if d.allowed {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(2)
            });
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Every cap's status from the database (no reservations: those live in a server).
pub async fn read_statuses(
    store: &spendlens_store::Store,
    org: spendlens_store::OrgId,
    now: time::OffsetDateTime,
) -> anyhow::Result<Vec<CapStatus>> {
    let read = budget::read(store, org, now, 0).await?;
    let mut out: Vec<CapStatus> = read
        .snapshot
        .caps
        .iter()
        .zip(read.unpriced_calls.iter())
        .map(|(cap, unpriced)| budget::status(cap, cap.base, Money::ZERO, *unpriced))
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// The demo's budgets, sized from the spend its traffic left so each state shows: the
/// organization's month at half its limit (ok), the customer with the most spend this month at
/// 90 % of its cap (soft), the next one over its cap (hard), and a tenant cap (with its lock)
/// under the first customer's platform cap. Created with a placeholder limit, then edited to
/// the sized one, so each also shows a second version. Returns the customer given the tenant
/// cap (the demo's tenant user is bound to it), if any customer has metered calls.
pub async fn demo_budgets(
    store: &spendlens_store::Store,
    org: spendlens_store::OrgId,
    now: time::OffsetDateTime,
) -> anyhow::Result<Option<String>> {
    use spendlens_domain::budget::{
        BudgetPeriod, CapSpec, DEFAULT_SOFT_PCT, MAX_LIMIT, Provenance, UnpricedPolicy,
    };
    let placeholder = Money::from_nanos(1_000_000 * 1_000_000_000);
    let spec = |name: &str, customer: Option<&str>, period: BudgetPeriod, limit: Money| CapSpec {
        name: name.to_owned(),
        scope: CapScope {
            customer: customer.map(str::to_owned),
            ..CapScope::default()
        },
        period,
        limit,
        soft_pct: DEFAULT_SOFT_PCT,
        enabled: true,
        provenance: Provenance::Platform,
        unpriced: UnpricedPolicy::FailOpen,
    };
    let org_cap = store
        .create_budget_cap(
            org,
            &spec(
                "Organization this month",
                None,
                BudgetPeriod::Monthly,
                placeholder,
            ),
            "demo",
            now,
        )
        .await?;
    // Customers by this month's spend, largest first.
    let mut customers = Vec::new();
    for customer in store.meter_dimension_values(org, 3).await? {
        let cap = store
            .create_budget_cap(
                org,
                &spec(
                    &format!("{customer} this month"),
                    Some(&customer),
                    BudgetPeriod::Monthly,
                    placeholder,
                ),
                "demo",
                now,
            )
            .await?;
        customers.push((customer, cap.id));
    }
    let statuses = read_statuses(store, org, now).await?;
    let spend_of = |id: i64| {
        statuses
            .iter()
            .find(|s| s.id == id)
            .map_or(Money::ZERO, |s| s.spend)
    };
    let mut ranked: Vec<(String, i64, Money)> = customers
        .iter()
        .map(|(c, id)| (c.clone(), *id, spend_of(*id)))
        .collect();
    ranked.sort_by(|a, b| b.2.cmp(&a.2).then(a.0.cmp(&b.0)));
    // Keep two customers' caps (soft, hard); the others go (their versions stay).
    for (_, id, _) in ranked.iter().skip(2) {
        store.delete_budget_cap(org, *id, "demo", now).await?;
    }
    let sized = |spend: Money, factor: i128, divisor: i128| -> Money {
        let limit = spend.scaled(factor, divisor).unwrap_or(spend);
        // Whole cents read better than nano-dollars on a limit.
        let limit = Money::from_nanos(limit.round_to_cents().saturating_mul(10_000_000));
        if limit <= Money::ZERO {
            Money::from_nanos(100 * 1_000_000_000)
        } else {
            limit.min(MAX_LIMIT)
        }
    };
    let edit = |id: i64, limit: Money| async move {
        let mut cap = store.get_budget_cap(org, id).await?.spec;
        cap.limit = limit;
        store
            .update_budget_cap(org, id, &cap, None, "demo", now)
            .await?;
        anyhow::Ok(())
    };
    edit(org_cap.id, sized(spend_of(org_cap.id), 2, 1)).await?;
    if let Some((customer, id, spend)) = ranked.first() {
        let limit = sized(*spend, 10, 9);
        edit(*id, limit).await?;
        let mut tenant = spec(
            &format!("{customer} (own cap, daily)"),
            Some(customer),
            BudgetPeriod::Daily,
            sized(limit, 1, 10),
        );
        tenant.provenance = Provenance::Tenant;
        store.create_budget_cap(org, &tenant, "demo", now).await?;
    }
    if let Some((customer, id, spend)) = ranked.get(1) {
        edit(*id, sized(*spend, 9, 10)).await?;
        // A gateway keeps asking for the customer whose cap is at its limit: the checks are
        // denied through the real check path and their record is written, so the Budgets page
        // and the SOC 2 report show denials.
        let budgets = spendlens_web::budgets::Budgets::default();
        for estimate in ["0.25", "0.40", "1.10", "0.08"] {
            let request = spendlens_web::budgets::CheckRequest {
                call: CapScope::call(Some("openai"), None, None, Some(customer), Some("gpt-4o")),
                estimate: Some(Money::parse_units(estimate).map_err(anyhow::Error::msg)?),
                reservation: None,
            };
            budgets.check(store, org, request, now).await?;
        }
        budgets.denials.flush(store).await?;
    }
    Ok(ranked.first().map(|(customer, _, _)| customer.clone()))
}
