//! `spendlens prices restate`: re-price stored metered events of a range of days with the
//! current catalog — the differences per model first, then (after a confirmation, or with
//! `--yes`) the new costs and rollups, audited. `--dry-run` changes nothing.

use std::io::{BufRead as _, IsTerminal as _, Write as _};
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use spendlens_domain::{Day, DayRange};
use spendlens_web::restate::{RestateReport, restate};

use crate::context::Context;
use crate::render::text_table;

pub async fn run(
    context: &Context,
    from: &str,
    to: &str,
    dry_run: bool,
    yes: bool,
) -> anyhow::Result<ExitCode> {
    let day = |text: &str, flag: &str| -> anyhow::Result<Day> {
        text.trim().parse::<Day>().map_err(|_| {
            anyhow::anyhow!(
                "{flag} \"{text}\" is not a day; write it as YYYY-MM-DD, e.g. 2026-11-01"
            )
        })
    };
    let range = DayRange::new(day(from, "--from")?, day(to, "--to")?)
        .map_err(|err| anyhow::anyhow!("{err}; --from must not be after --to"))?;
    let store = context.store();
    let catalog = store.price_catalog(context.org).await?.catalog;
    let plan = restate(store, context.org, &catalog, range, false)
        .await
        .context("reading the metered events to restate")?;
    print_report(&plan);
    if plan.changed == 0 {
        println!(
            "Nothing to restate: the current catalog prices every one of the {} metered events from {} to {} as stored.",
            plan.scanned, plan.from, plan.to
        );
        return Ok(ExitCode::SUCCESS);
    }
    if dry_run {
        println!("Dry run: nothing was changed. Run again without --dry-run to restate.");
        return Ok(ExitCode::SUCCESS);
    }
    if !yes && !confirmed(&plan)? {
        println!("Nothing was changed.");
        return Ok(ExitCode::FAILURE);
    }
    let now = context.engine.now();
    let done = restate(store, context.org, &catalog, range, true)
        .await
        .context("restating the metered events")?;
    store
        .audit(
            context.org,
            "cli",
            "price.restate",
            &format!("metered events {} to {}", done.from, done.to),
            &done.audit_detail(),
            now,
        )
        .await?;
    println!(
        "Restated {} metered events: {} USD → {} USD (difference {}).",
        done.applied, done.old_total, done.new_total, done.difference
    );
    Ok(ExitCode::SUCCESS)
}

/// Asks on the terminal; without one, refuses and says how to go on.
fn confirmed(plan: &RestateReport) -> anyhow::Result<bool> {
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        bail!(
            "restating rewrites the stored cost of {} metered events; add --yes to go ahead (or --dry-run to only look)",
            plan.changed
        );
    }
    print!(
        "Rewrite the stored cost of {} metered events ({} USD → {} USD)? The old costs are not kept. [y/N] ",
        plan.changed, plan.old_total, plan.new_total
    );
    std::io::stdout().flush()?;
    let mut answer = String::new();
    stdin.lock().read_line(&mut answer)?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes" | "YES" | "Yes"))
}

fn print_report(report: &RestateReport) {
    println!(
        "Metered events from {} to {}: {} read, {} priced differently by the current catalog.",
        report.from, report.to, report.scanned, report.changed
    );
    if report.models.is_empty() {
        return;
    }
    let rows: Vec<Vec<String>> = report
        .models
        .iter()
        .map(|m| {
            vec![
                m.provider.clone(),
                m.model.clone(),
                m.events.to_string(),
                m.old_total.to_string(),
                m.new_total.to_string(),
                m.difference.to_string(),
                m.newly_priced.to_string(),
                m.newly_unpriced.to_string(),
            ]
        })
        .collect();
    let total = vec![
        "total".to_owned(),
        String::new(),
        report.changed.to_string(),
        report.old_total.to_string(),
        report.new_total.to_string(),
        report.difference.to_string(),
        report.newly_priced.to_string(),
        report.newly_unpriced.to_string(),
    ];
    print!(
        "{}",
        text_table(
            &[
                "provider",
                "model",
                "events",
                "old USD",
                "new USD",
                "difference",
                "newly priced",
                "newly unpriced",
            ],
            &rows,
            Some(&total),
        )
    );
    println!("Unpriced events count in neither total (their cost is unknown, not $0).");
}
