//! `spendlens prices list | check | observed | add | edit | delete | import | export`: the
//! price catalog that prices metered calls. User prices beat built-in ones; `import` replaces
//! only the built-in ones and says what changed. Every change is audited.

use std::process::ExitCode;

use anyhow::{Context as _, bail};
use serde_json::{Map, Value, json};
use spendlens_domain::catalog::{
    BUILT_IN_PRICES_JSON, entry_from_json, entry_to_json, parse_price_file, write_price_file,
};
use spendlens_domain::{Day, PriceEntry, PriceSource, Pricing, ProviderKind, price};
use spendlens_web::api::prices::{describe, filter};
use spendlens_web::prices::{CheckParams, entry_json, pricing_json};

use crate::cli::{Cli, Format, PriceCheckArgs, PriceEntryArgs, PricesCommand};
use crate::context::Context;
use crate::render::text_table;

pub async fn run(cli: &Cli, command: &PricesCommand) -> anyhow::Result<ExitCode> {
    let context = Context::open(cli).await?;
    match command {
        PricesCommand::List {
            provider,
            search,
            provenance,
            format,
        } => list(&context, provider, search, provenance, *format).await,
        PricesCommand::Check(args) => check(&context, args).await,
        PricesCommand::Observed {
            period,
            threshold,
            format,
        } => super::prices_observed::run(&context, period, threshold, *format).await,
        PricesCommand::Add(args) => add(&context, args).await,
        PricesCommand::Edit { id, entry } => edit(&context, *id, entry).await,
        PricesCommand::Delete { id, yes } => delete(&context, *id, *yes).await,
        PricesCommand::Import { file, dry_run } => {
            let (text, name) = match file {
                Some(path) => (
                    std::fs::read_to_string(path)
                        .with_context(|| format!("reading {}", path.display()))?,
                    path.display().to_string(),
                ),
                None => (
                    BUILT_IN_PRICES_JSON.to_owned(),
                    "the list built into this version".to_owned(),
                ),
            };
            import(&context, &text, &name, *dry_run).await
        }
        PricesCommand::Restate {
            from,
            to,
            dry_run,
            yes,
        } => super::prices_restate::run(&context, from, to, *dry_run, *yes).await,
        PricesCommand::Export { output, provenance } => {
            let provenance = parse_provenance(provenance)?;
            let entries = filter(
                context.store().prices(context.org).await?,
                None,
                "",
                provenance,
            );
            let text = write_price_file(&entries)?;
            match output {
                Some(path) => {
                    std::fs::write(path, format!("{text}\n"))
                        .with_context(|| format!("writing {}", path.display()))?;
                    eprintln!(
                        "Wrote {} price entries to {}.",
                        entries.len(),
                        path.display()
                    );
                }
                None => println!("{text}"),
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn parse_provenance(text: &Option<String>) -> anyhow::Result<Option<PriceSource>> {
    text.as_deref()
        .filter(|t| !t.trim().is_empty())
        .map(|t| t.parse::<PriceSource>().map_err(anyhow::Error::msg))
        .transpose()
}

fn cell(value: Option<rust_decimal::Decimal>) -> String {
    value.map_or_else(String::new, |d| d.normalize().to_string())
}

fn conditions(entry: &PriceEntry) -> String {
    let c = &entry.conditions;
    let mut parts = Vec::new();
    if let Some(n) = c.context_above {
        parts.push(format!("input>{n}"));
    }
    if c.batch {
        parts.push("batch".to_owned());
    }
    if let Some(tier) = &c.service_tier {
        parts.push(format!("tier={tier}"));
    }
    parts.join(" ")
}

async fn list(
    context: &Context,
    provider: &Option<String>,
    search: &Option<String>,
    provenance: &Option<String>,
    format: Format,
) -> anyhow::Result<ExitCode> {
    let provider = provider
        .as_deref()
        .map(str::parse::<ProviderKind>)
        .transpose()?;
    let provenance = parse_provenance(provenance)?;
    let entries = filter(
        context.store().prices(context.org).await?,
        provider,
        search.as_deref().unwrap_or_default(),
        provenance,
    );
    if format == Format::Json {
        let list: Vec<Value> = entries.iter().map(entry_json).collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({"entries": list}))?
        );
        return Ok(ExitCode::SUCCESS);
    }
    let rows: Vec<Vec<String>> = entries
        .iter()
        .map(|e| {
            vec![
                e.id.clone(),
                e.provider.as_str().to_owned(),
                e.model_glob.clone(),
                cell(e.tokens.input),
                cell(e.tokens.cache_read),
                cell(e.tokens.cache_write_5m),
                cell(e.tokens.output),
                cell(e.tokens.reasoning),
                e.units
                    .iter()
                    .map(|u| format!("{}={}", u.unit, u.price.normalize()))
                    .collect::<Vec<_>>()
                    .join(" "),
                conditions(e),
                match e.effective_to {
                    Some(to) => format!("{}..{to}", e.effective_from),
                    None => format!("{}..", e.effective_from),
                },
                e.currency.to_string(),
                e.source.as_str().to_owned(),
            ]
        })
        .collect();
    let columns = [
        "Id",
        "Provider",
        "Model",
        "Input/1M",
        "Cache read",
        "Cache write",
        "Output/1M",
        "Reasoning",
        "Per unit",
        "Conditions",
        "Effective",
        "Currency",
        "Provenance",
    ];
    if format == Format::Csv {
        let quote = |c: &str| {
            if c.contains([',', '"', '\n']) {
                format!("\"{}\"", c.replace('"', "\"\""))
            } else {
                c.to_owned()
            }
        };
        println!("{}", columns.join(","));
        for row in &rows {
            println!(
                "{}",
                row.iter().map(|c| quote(c)).collect::<Vec<_>>().join(",")
            );
        }
    } else if rows.is_empty() {
        println!("No price matches.");
    } else {
        print!("{}", text_table(&columns, &rows, None));
    }
    Ok(ExitCode::SUCCESS)
}

async fn check(context: &Context, args: &PriceCheckArgs) -> anyhow::Result<ExitCode> {
    let params = CheckParams {
        provider: args.provider.clone(),
        model: args.model.clone(),
        input: args.input,
        cache_read: args.cache_read,
        cache_write: args.cache_write,
        cache_write_1h: args.cache_write_1h,
        output: args.output,
        reasoning: args.reasoning,
        quantity: args.quantity.clone(),
        unit: args.unit.clone(),
        batch: Some(args.batch),
        service_tier: args.tier.clone(),
        at: args.at.clone(),
    };
    let check = params
        .into_check(context.engine.now())
        .map_err(anyhow::Error::msg)?;
    let catalog = context.store().price_catalog(context.org).await?.catalog;
    let pricing = price(
        &catalog,
        check.provider,
        &check.model,
        check.at,
        &check.usage,
    );
    if args.format == Format::Json {
        println!(
            "{}",
            serde_json::to_string_pretty(&pricing_json(&check, &pricing))?
        );
        return Ok(ExitCode::SUCCESS);
    }
    let at = check
        .at
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    println!("{} \"{}\" at {at}", check.provider, check.model);
    match &pricing {
        Pricing::Priced(p) => {
            println!(
                "Matched entry {} ({}): {}",
                p.entry.id,
                p.entry.source,
                describe(&p.entry)
            );
            if let Some((provider, model)) = &p.upstream {
                println!("Priced at the upstream {provider} model \"{model}\".");
            }
            let rows: Vec<Vec<String>> = p
                .lines
                .iter()
                .map(|l| {
                    vec![
                        l.class.as_str().to_owned(),
                        l.units.normalize().to_string(),
                        l.unit.to_string(),
                        l.unit_price.normalize().to_string(),
                        l.cost.to_exact_string(),
                    ]
                })
                .collect();
            if !rows.is_empty() {
                print!(
                    "{}",
                    text_table(&["Class", "Units", "Unit", "Price", "Cost"], &rows, None)
                );
            }
            println!("Cost: {} {}", p.cost.to_exact_string(), p.currency);
        }
        Pricing::Unpriced(reason) => {
            println!("Unpriced: {reason}. The cost is unknown, not zero.");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Applies the options given to an entry in the price file's JSON shape ("" removes a field).
fn apply_args(map: &mut Map<String, Value>, args: &PriceEntryArgs) -> anyhow::Result<()> {
    let mut set = |key: &str, value: &Option<String>| {
        if let Some(value) = value {
            if value.trim().is_empty() {
                map.remove(key);
            } else {
                map.insert(key.to_owned(), json!(value.trim()));
            }
        }
    };
    set("provider", &args.provider);
    set("model", &args.model);
    set("input", &args.input);
    set("cache_read", &args.cache_read);
    set("cache_write_5m", &args.cache_write);
    set("cache_write_1h", &args.cache_write_1h);
    set("output", &args.output);
    set("reasoning", &args.reasoning);
    set("service_tier", &args.tier);
    set("effective_from", &args.from);
    set("effective_to", &args.to);
    set("currency", &args.currency);
    set("source", &args.note);
    set("provenance", &args.provenance);
    if let Some(context) = &args.context_above {
        if context.trim().is_empty() {
            map.remove("context_above");
        } else {
            let n: i64 = context
                .trim()
                .parse()
                .with_context(|| format!("--context-above \"{context}\" is not a whole number"))?;
            map.insert("context_above".to_owned(), json!(n));
        }
    }
    if let Some(batch) = args.batch {
        map.insert("batch".to_owned(), json!(batch));
    }
    if !args.unit_prices.is_empty() {
        let mut units = Map::new();
        for pair in &args.unit_prices {
            let Some((unit, price)) = pair.split_once('=') else {
                bail!("--unit-price \"{pair}\" should read unit=price, e.g. images=0.04");
            };
            units.insert(unit.trim().to_owned(), json!(price.trim()));
        }
        map.insert("units".to_owned(), Value::Object(units));
    }
    Ok(())
}

async fn add(context: &Context, args: &PriceEntryArgs) -> anyhow::Result<ExitCode> {
    if args.provider.is_none() || args.model.is_none() || args.note.is_none() {
        bail!(
            "a new price needs --provider, --model and --note (where the price comes from), e.g. --provider openai --model 'gpt-4o-mini*' --input 0.15 --output 0.60 --note 'contract 2026-11'"
        );
    }
    let now = context.engine.now();
    let mut map = Map::new();
    map.insert("effective_from".to_owned(), json!(Day::of(now).to_string()));
    apply_args(&mut map, args)?;
    let entry =
        entry_from_json(Value::Object(map), PriceSource::User).map_err(anyhow::Error::msg)?;
    let actor = spendlens_store::Actor {
        name: "cli",
        at: now,
    };
    let added = context
        .store()
        .add_price(context.org, entry, actor, describe)
        .await?;
    println!("Added price entry {}: {}.", added.id, describe(&added));
    Ok(ExitCode::SUCCESS)
}

async fn edit(context: &Context, id: i64, args: &PriceEntryArgs) -> anyhow::Result<ExitCode> {
    let now = context.engine.now();
    let current = context.store().get_price(context.org, id).await?;
    let Value::Object(mut map) = entry_to_json(&current) else {
        bail!("price entry {id} could not be read");
    };
    apply_args(&mut map, args)?;
    let entry =
        entry_from_json(Value::Object(map), PriceSource::User).map_err(anyhow::Error::msg)?;
    let actor = spendlens_store::Actor {
        name: "cli",
        at: now,
    };
    let (before, after) = context
        .store()
        .edit_price(context.org, id, entry, actor, describe)
        .await?;
    println!("Price entry {id} was: {}", describe(&before));
    println!("             now is: {}", describe(&after));
    Ok(ExitCode::SUCCESS)
}

async fn delete(context: &Context, id: i64, yes: bool) -> anyhow::Result<ExitCode> {
    let entry = context.store().get_price(context.org, id).await?;
    if !yes {
        println!(
            "Would delete price entry {id} ({}): {}. Calls it prices will then be priced by the next matching entry, or stay unpriced. Run again with --yes to delete it.",
            entry.source,
            describe(&entry)
        );
        return Ok(ExitCode::SUCCESS);
    }
    let actor = spendlens_store::Actor {
        name: "cli",
        at: context.engine.now(),
    };
    let deleted = context
        .store()
        .delete_price(context.org, id, actor, describe)
        .await?;
    println!("Deleted price entry {id}: {}.", describe(&deleted));
    Ok(ExitCode::SUCCESS)
}

async fn import(
    context: &Context,
    text: &str,
    name: &str,
    dry_run: bool,
) -> anyhow::Result<ExitCode> {
    let entries = parse_price_file(text, PriceSource::BuiltIn)?;
    let actor = spendlens_store::Actor {
        name: "cli",
        at: context.engine.now(),
    };
    let report = context
        .store()
        .import_built_in_prices(context.org, entries, (!dry_run).then_some((actor, name)))
        .await?;
    for entry in &report.added {
        println!("+ {}", describe(entry));
    }
    for (before, after) in &report.changed {
        println!("~ {}\n    was {}", describe(after), describe(before));
    }
    for entry in &report.removed {
        println!("- {}", describe(entry));
    }
    let summary = report.summary();
    if dry_run {
        println!("Dry run, nothing changed. Importing {name} would give: {summary}.");
    } else {
        println!("Imported built-in prices from {name}: {summary}. User prices are unchanged.");
    }
    Ok(ExitCode::SUCCESS)
}
