//! Forecasts as CSV: one row per scope and one per credit balance, exact money, `N/A` where a
//! figure is unknown, the day and time zone stated first; formula-like cells neutralized.

use spendlens_domain::Money;

use super::ForecastReport;
use crate::table::neutralize_cell;

const COLUMNS: [&str; 17] = [
    "scope",
    "name",
    "source",
    "status",
    "complete_through",
    "history_from",
    "trailing_7d",
    "daily_rate",
    "month_to_date",
    "incomplete_recorded",
    "remaining_days",
    "projected_month_end",
    "next_7_days",
    "previous_7d",
    "trend",
    "trend_pct",
    "note",
];

fn opt<T: ToString>(value: Option<T>) -> String {
    value.map_or_else(|| "N/A".to_owned(), |v| v.to_string())
}

fn money(value: Option<Money>) -> String {
    value.map_or_else(|| "N/A".to_owned(), Money::to_exact_string)
}

/// The report as CSV.
pub fn to_csv(report: &ForecastReport) -> Result<String, csv::Error> {
    let mut writer = csv::WriterBuilder::new()
        .flexible(true)
        .from_writer(Vec::new());
    writer.write_record(["# spendlens report: forecasts (estimates)"])?;
    writer.write_record([format!(
        "# today: {} (UTC); month {} to {}; currency: {}",
        report.today,
        report
            .forecasts
            .first()
            .map_or_else(|| report.today.first_of_month(), |f| f.forecast.month_start),
        report
            .forecasts
            .first()
            .map_or(report.today, |f| f.forecast.month_end),
        report.currency
    )])?;
    for note in &report.notes {
        writer.write_record([format!("# {note}")])?;
    }
    writer.write_record(COLUMNS)?;
    if let Some(t) = &report.total {
        let cells = [
            "organization".to_owned(),
            "all providers".to_owned(),
            "billed".to_owned(),
            "ok".to_owned(),
            String::new(),
            String::new(),
            String::new(),
            t.daily_rate.to_exact_string(),
            t.month_to_date.to_exact_string(),
            String::new(),
            String::new(),
            t.projected_month_end.to_exact_string(),
            t.next_7_days.to_exact_string(),
            String::new(),
            String::new(),
            String::new(),
            if t.left_out.is_empty() {
                String::new()
            } else {
                format!("left out (no forecast): {}", t.left_out.join(", "))
            },
        ];
        writer.write_record(cells.iter().map(|c| neutralize_cell(c)))?;
    }
    for row in &report.forecasts {
        let f = &row.forecast;
        let cells = [
            row.scope.as_str().to_owned(),
            row.label.clone(),
            match row.source {
                crate::spend_days::Source::Billed => "billed".to_owned(),
                crate::spend_days::Source::Metered => "metered".to_owned(),
            },
            match f.status {
                super::math::ForecastStatus::Ok => "ok".to_owned(),
                super::math::ForecastStatus::InsufficientHistory => {
                    "N/A: insufficient history".to_owned()
                }
                super::math::ForecastStatus::NotComplete => "N/A: no complete day".to_owned(),
            },
            opt(f.complete_through),
            opt(row.history_from),
            money(f.trailing_7d),
            money(f.daily_rate),
            f.month_to_date.to_exact_string(),
            f.incomplete_recorded.to_exact_string(),
            f.remaining_days.to_string(),
            money(f.projected_month_end),
            money(f.next_7_days),
            money(f.previous_7d),
            f.trend.label().to_owned(),
            opt(f.trend_pct),
            f.reason.clone().unwrap_or_default(),
        ];
        writer.write_record(cells.iter().map(|c| neutralize_cell(c)))?;
    }
    writer.write_record([""])?;
    writer.write_record([
        "credit_connection",
        "provider",
        "kind",
        "balance",
        "as_of",
        "daily_rate",
        "exhausted_on",
        "days_left",
        "credits_applied",
        "missing",
    ])?;
    for c in &report.credits {
        let cells = [
            c.connection.clone(),
            c.provider.as_str().to_owned(),
            c.kind.to_owned(),
            money(c.balance),
            c.as_of
                .and_then(|t| {
                    t.format(&time::format_description::well_known::Rfc3339)
                        .ok()
                })
                .unwrap_or_else(|| "N/A".to_owned()),
            money(c.daily_rate),
            opt(c.exhausted_on),
            opt(c.days_left),
            c.credits_applied.to_exact_string(),
            c.missing.clone().unwrap_or_default(),
        ];
        writer.write_record(cells.iter().map(|c| neutralize_cell(c)))?;
    }
    let bytes = writer
        .into_inner()
        .map_err(|e| csv::Error::from(e.into_error()))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}
