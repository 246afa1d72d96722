//! Anomalies as CSV: one row per anomaly and one per driver under it, exact money, the
//! settings stated first; formula-like cells neutralized.

use super::AnomalyReport;
use crate::table::neutralize_cell;

const COLUMNS: [&str; 19] = [
    "level",
    "scope",
    "name",
    "model",
    "day",
    "current_daily",
    "baseline_daily",
    "change",
    "deviation_pct",
    "direction",
    "threshold_pct",
    "threshold_source",
    "detected_at",
    "volume",
    "price",
    "mix",
    "volume_unit",
    "driver",
    "driver_price",
];

/// The report as CSV.
pub fn to_csv(report: &AnomalyReport) -> Result<String, csv::Error> {
    let mut writer = csv::WriterBuilder::new()
        .flexible(true)
        .from_writer(Vec::new());
    writer.write_record(["# spendlens report: anomalies"])?;
    writer.write_record([format!(
        "# generated {} (UTC); threshold {} % (global); baseline: the same weekday of up to {} weeks; currency: {}",
        report
            .generated_at
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default(),
        report.settings.threshold_pct,
        report.settings.weeks,
        report.currency
    )])?;
    for note in &report.notes {
        writer.write_record([format!("# {note}")])?;
    }
    writer.write_record(COLUMNS)?;
    for a in &report.anomalies {
        let detected = a
            .detected_at
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        let cells = [
            "anomaly".to_owned(),
            a.scope.as_str().to_owned(),
            a.label.clone(),
            a.model.clone().unwrap_or_default(),
            a.day.to_string(),
            a.current_daily.to_exact_string(),
            a.baseline_daily.to_exact_string(),
            a.change.to_exact_string(),
            a.deviation_pct
                .map_or_else(|| "N/A".to_owned(), |p| p.to_string()),
            a.direction.to_owned(),
            a.threshold_pct.to_string(),
            a.threshold_source.to_owned(),
            detected,
            a.volume.to_exact_string(),
            a.price.to_exact_string(),
            a.mix.to_exact_string(),
            a.volume_unit.to_owned(),
            String::new(),
            String::new(),
        ];
        writer.write_record(cells.iter().map(|c| neutralize_cell(c)))?;
        for d in &a.drivers {
            let cells = [
                "driver".to_owned(),
                a.scope.as_str().to_owned(),
                a.label.clone(),
                String::new(),
                a.day.to_string(),
                d.current.to_exact_string(),
                d.baseline.to_exact_string(),
                d.change.to_exact_string(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                d.label.clone(),
                d.price.to_exact_string(),
            ];
            writer.write_record(cells.iter().map(|c| neutralize_cell(c)))?;
        }
    }
    let bytes = writer
        .into_inner()
        .map_err(|e| csv::Error::from(e.into_error()))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}
