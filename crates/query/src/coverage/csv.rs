//! Coverage as CSV: one row per provider, API key, workspace (level `workspace`, the workspace
//! in the key column: its name and provider id), model, cause row and day (level `day`, its
//! status — `comparable` or `lag` — in the cause column, the day last), exact money, the
//! period and time zone stated first; formula-like cells neutralized.

use spendlens_domain::Money;

use super::CoverageReport;
use super::math::Ratio;
use crate::table::neutralize_cell;

const COLUMNS: [&str; 14] = [
    "level",
    "provider",
    "key",
    "model",
    "cause",
    "billed_cost",
    "metered_cost",
    "coverage_pct",
    "billed_tokens",
    "metered_tokens",
    "token_coverage_pct",
    "billed_requests",
    "amount",
    "day",
];

fn opt<T: ToString>(value: Option<T>) -> String {
    value.map_or_else(|| "N/A".to_owned(), |v| v.to_string())
}

fn ratio_cells(r: &Ratio) -> [String; 6] {
    [
        r.billed_cost.to_exact_string(),
        r.metered_cost.to_exact_string(),
        opt(r.coverage_pct),
        r.billed_tokens.to_string(),
        r.metered_tokens.to_string(),
        opt(r.token_coverage_pct),
    ]
}

/// The report as CSV.
pub fn to_csv(report: &CoverageReport, filters: &str) -> Result<String, csv::Error> {
    let mut writer = csv::WriterBuilder::new()
        .flexible(true)
        .from_writer(Vec::new());
    writer.write_record(["# spendlens report: coverage (metered ÷ billed)"])?;
    writer.write_record([format!(
        "# period: {} (UTC); ratios over each provider's days with a final bill; currency: {}",
        report.period, report.currency
    )])?;
    writer.write_record([format!(
        "# filters: {}",
        if filters.is_empty() { "none" } else { filters }
    )])?;
    writer.write_record(COLUMNS)?;
    let mut write = |cells: Vec<String>| -> Result<(), csv::Error> {
        writer.write_record(cells.iter().map(|c| neutralize_cell(c)))
    };
    let row = |level: &str, provider: &str, key: &str, model: &str, ratio: &Ratio| {
        let mut cells = vec![
            level.to_owned(),
            provider.to_owned(),
            key.to_owned(),
            model.to_owned(),
            String::new(),
        ];
        cells.extend(ratio_cells(ratio));
        cells.push(opt(ratio.billed_requests));
        cells.push(String::new());
        cells
    };
    for p in &report.providers {
        let name = p.provider.as_str();
        write(row("provider", name, "", "", &p.ratio))?;
        for k in &p.keys {
            let label = match &k.key_hint {
                Some(hint) => format!("{} ({hint})", k.key_name),
                None => k.key_name.clone(),
            };
            write(row("key", name, &label, "", &k.ratio))?;
        }
        for w in &p.workspaces {
            let label = match &w.provider_workspace_id {
                Some(id) => format!("{} ({id})", w.workspace_name),
                None if w.billed => w.workspace_name.clone(),
                None => format!("{} (not on the bill)", w.workspace_name),
            };
            write(row("workspace", name, &label, "", &w.ratio))?;
        }
        for m in &p.models {
            write(row("model", name, "", &m.model, &m.ratio))?;
        }
        write(waterfall_row(name, "billed", p.period_billed_cost))?;
        for cause in &p.causes {
            write(waterfall_row(name, cause.cause.as_str(), cause.amount))?;
            for r in &cause.rows {
                let mut cells = vec![
                    "cause_row".to_owned(),
                    name.to_owned(),
                    r.key_name.clone().unwrap_or_default(),
                    r.model.clone().unwrap_or_default(),
                    cause.cause.as_str().to_owned(),
                    r.billed_cost.to_exact_string(),
                    r.metered_cost.to_exact_string(),
                    String::new(),
                    r.billed_tokens.to_string(),
                    r.metered_tokens.to_string(),
                    String::new(),
                    String::new(),
                ];
                cells.push(r.amount.to_exact_string());
                write(cells)?;
            }
        }
        write(waterfall_row(name, "metered", p.period_metered_cost))?;
        for d in p.days.iter().flatten() {
            write(vec![
                "day".to_owned(),
                name.to_owned(),
                String::new(),
                String::new(),
                d.status.as_str().to_owned(),
                d.billed_cost.to_exact_string(),
                d.metered_cost.to_exact_string(),
                opt(d.coverage_pct),
                d.billed_tokens.to_string(),
                d.metered_tokens.to_string(),
                opt(d.token_coverage_pct),
                String::new(),
                String::new(),
                d.day.to_string(),
            ])?;
        }
    }
    write(row("total", "", "", "", &report.total))?;
    let bytes = writer
        .into_inner()
        .map_err(|e| csv::Error::from(e.into_error()))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

fn waterfall_row(provider: &str, step: &str, amount: Money) -> Vec<String> {
    let mut cells = vec![
        "waterfall".to_owned(),
        provider.to_owned(),
        String::new(),
        String::new(),
        step.to_owned(),
    ];
    cells.extend(std::iter::repeat_n(String::new(), 7));
    cells.push(amount.to_exact_string());
    cells
}
