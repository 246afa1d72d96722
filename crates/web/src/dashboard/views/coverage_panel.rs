//! The Providers view's coverage panel: the waterfall billed → causes → metered for the
//! providers shown, coverage per day, the same steps per provider, and the rows behind each
//! cause.

use std::collections::BTreeMap;

use spendlens_domain::Money;
use spendlens_query::coverage::math::{CauseKind, Join};
use spendlens_query::coverage::{ProviderReport, WORKSPACE_NOTE};
use spendlens_query::views::ProvidersReport;

use askama::Template;

use crate::dashboard::charts::coverage_days;
use crate::dashboard::charts::waterfall::{Step, waterfall};
use crate::dashboard::error::PageError;
use crate::dashboard::format;

/// Rows shown behind each cause (the largest first; the JSON API and CSV have them all).
const ROWS_PER_CAUSE: usize = 8;

pub struct CoveragePanel {
    pub svg: String,
    /// Coverage per day (when the report has the daily series).
    pub days_svg: Option<String>,
    /// Column heads: "All shown", then each metered provider.
    pub heads: Vec<String>,
    /// Step label, then one amount per column.
    pub steps: Vec<Vec<String>>,
    /// (cause, provider, key, model, billed, metered, billed per 1M, catalog per 1M, amount).
    pub rows: Vec<Vec<String>>,
    pub unmetered: Option<String>,
    pub notes: Vec<String>,
}

/// The panel, when metering is set up (some metered traffic exists).
pub fn panel(r: &ProvidersReport) -> Result<Option<CoveragePanel>, PageError> {
    let Some(coverage) = &r.coverage else {
        return Ok(None);
    };
    let shown: Vec<&ProviderReport> = r
        .rows
        .iter()
        .filter_map(|row| coverage.provider(row.provider))
        .collect();
    let mut totals: BTreeMap<CauseKind, Money> = BTreeMap::new();
    for p in &shown {
        for cause in &p.causes {
            *totals.entry(cause.cause).or_default() += cause.amount;
        }
    }
    let billed: Money = shown.iter().map(|p| p.period_billed_cost).sum();
    let metered: Money = shown.iter().map(|p| p.period_metered_cost).sum();
    let steps: Vec<Step> = CauseKind::ALL
        .iter()
        .map(|kind| Step {
            label: kind.label().to_owned(),
            amount: totals.get(kind).copied().unwrap_or_default(),
        })
        .collect();
    let chart = waterfall(
        "Billed spend to metered spend, by cause",
        billed,
        &steps,
        metered,
    );
    let metered_providers: Vec<&&ProviderReport> = shown
        .iter()
        .filter(|p| !p.period_metered_cost.is_zero() || p.ratio.metered_calls > 0)
        .collect();
    let mut heads = vec!["All shown".to_owned()];
    heads.extend(metered_providers.iter().map(|p| p.provider_name.to_owned()));
    let mut table = Vec::new();
    let mut line = |label: &str, all: Money, each: &dyn Fn(&ProviderReport) -> Money| {
        let mut cells = vec![label.to_owned(), format::money(all)];
        cells.extend(metered_providers.iter().map(|p| format::money(each(p))));
        table.push(cells);
    };
    line("Billed", billed, &|p| p.period_billed_cost);
    for kind in CauseKind::ALL {
        let all = totals.get(&kind).copied().unwrap_or_default();
        line(&format!("− {}", kind.label()), all, &|p| {
            p.causes
                .iter()
                .find(|c| c.cause == kind)
                .map_or(Money::ZERO, |c| c.amount)
        });
    }
    line("= Metered", metered, &|p| p.period_metered_cost);
    let mut rows = Vec::new();
    for p in &metered_providers {
        for cause in &p.causes {
            for row in cause.rows.iter().take(ROWS_PER_CAUSE) {
                rows.push(vec![
                    cause.label.to_owned(),
                    p.provider_name.to_owned(),
                    row.key_name.clone().unwrap_or_default(),
                    row.model.clone().unwrap_or_default(),
                    format::money(row.billed_cost),
                    format::money(row.metered_cost),
                    format::rate(row.billed_per_1m),
                    format::rate(row.metered_per_1m),
                    format::money(row.amount),
                ]);
            }
        }
    }
    let never: Vec<&str> = shown
        .iter()
        .filter(|p| p.ratio.metered_calls == 0 && p.period_metered_cost.is_zero())
        .map(|p| p.provider_name)
        .collect();
    let unmetered = (!never.is_empty()).then(|| {
        format!(
            "Not metered at all (every dollar under unmetered keys): {}.",
            never.join(", ")
        )
    });
    let mut notes = vec![
        "Ratios compare the days each bill is final (a connection's sync watermark, never today); \
         later days count as billing lag. A negative cause is metered spend the bill does not \
         carry (e.g. a catalog price above the billed one)."
            .to_owned(),
        WORKSPACE_NOTE.to_owned(),
        "Every row: GET /api/v1/coverage (JSON, or format=csv) and `spendlens report coverage`."
            .to_owned(),
    ];
    for p in &metered_providers {
        if let Some(day) = p.complete_through {
            notes.push(format!(
                "{}: bill final through {day}; joined by {}.",
                p.provider_name,
                match p.join {
                    Join::Model => "model only",
                    Join::KeyAndModel => "API key and model",
                    Join::WorkspaceAndModel => "workspace and model",
                }
            ));
        }
    }
    let days_svg = match coverage_days::combine(&shown) {
        Some(points) if !points.is_empty() => Some(
            coverage_days::coverage_days("Coverage per day (metered ÷ billed)", &points)
                .render()?,
        ),
        _ => None,
    };
    Ok(Some(CoveragePanel {
        svg: chart.render()?,
        days_svg,
        heads,
        steps: table,
        rows,
        unmetered,
        notes,
    }))
}
