//! A chargeback report as generic tables — columns declared once, cells typed — which the PDF
//! renderer lays out and [`to_csv`] writes as one CSV file with a `section` column (one file,
//! not a zip: the sections share one header, the union of their columns, and a cell is empty
//! where its section has no such column; `line` says whether a line is a row or the total).

use super::{Amount, ChargeSection, ChargebackReport, cents_plain};
use crate::table::neutralize_cell;

/// How a column is aligned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Align {
    Left,
    Right,
}

/// One column: its CSV name, its title and its relative width on the page.
#[derive(Clone, Copy, Debug)]
pub struct Column {
    pub key: &'static str,
    pub title: &'static str,
    pub align: Align,
    pub width: f32,
}

/// A typed cell.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cell {
    Text(String),
    /// Whole cents, as shown.
    Money(i64),
    /// A count; `None` is unknown (N/A).
    Count(Option<i64>),
    /// Not applicable (an estimate that could not be made).
    NotAvailable,
}

/// One section as a table.
#[derive(Clone, Debug)]
pub struct Table {
    pub id: &'static str,
    pub title: String,
    pub note: String,
    pub columns: Vec<Column>,
    pub rows: Vec<Vec<Cell>>,
    /// The sum of the rows (summaries only).
    pub total: Option<Vec<Cell>>,
}

const fn col(key: &'static str, title: &'static str, align: Align, width: f32) -> Column {
    Column {
        key,
        title,
        align,
        width,
    }
}

fn summary(section: &ChargeSection, label_title: &'static str, detail: bool) -> Table {
    let mut columns = vec![
        col("label", label_title, Align::Left, 3.2),
        col("detail", "Provider / where", Align::Left, 2.4),
        col("basis", "Basis", Align::Left, 1.1),
        col("cost_usd", "Cost", Align::Right, 1.4),
        col("credits_usd", "Credits", Align::Right, 1.2),
        col("net_usd", "Net cost", Align::Right, 1.4),
        col("tokens", "Tokens", Align::Right, 1.5),
        col("requests", "Requests", Align::Right, 1.1),
        col("unpriced_calls", "Unpriced", Align::Right, 0.9),
    ];
    let mut rows: Vec<Vec<Cell>> = section
        .rows
        .iter()
        .map(|r| {
            vec![
                Cell::Text(r.label.clone()),
                Cell::Text(r.detail.clone()),
                Cell::Text(r.basis.as_str().to_owned()),
                Cell::Money(r.cost.shown),
                Cell::Money(r.credits.shown),
                Cell::Money(r.net.shown),
                Cell::Count(Some(r.tokens)),
                Cell::Count(r.requests),
                Cell::Count(Some(r.unpriced_calls)),
            ]
        })
        .collect();
    let t = &section.total;
    let mut total = vec![
        Cell::Text(format!("Total ({} rows)", section.rows.len())),
        Cell::Text(String::new()),
        Cell::Text(String::new()),
        Cell::Money(t.cost.shown),
        Cell::Money(t.credits.shown),
        Cell::Money(t.net.shown),
        Cell::Count(Some(t.tokens)),
        Cell::Count(t.requests),
        Cell::Count(Some(t.unpriced_calls)),
    ];
    if !detail {
        columns.remove(1);
        for row in &mut rows {
            row.remove(1);
        }
        total.remove(1);
    }
    Table {
        id: section.id,
        title: section.title.to_owned(),
        note: section.note.clone(),
        columns,
        rows,
        total: Some(total),
    }
}

fn opt_money(a: Option<Amount>) -> Cell {
    a.map_or(Cell::NotAvailable, |a| Cell::Money(a.shown))
}

/// The report's seven sections as tables, in order.
pub fn tables(report: &ChargebackReport) -> Vec<Table> {
    let mut out = vec![
        summary(&report.customers, "Customer", false),
        summary(&report.api_keys, "API key", true),
        summary(&report.models, "Model", true),
        summary(&report.providers, "Provider", false),
        summary(&report.daily, "Day (UTC)", false),
    ];
    out.push(Table {
        id: "forecasts",
        title: "Forecasts".to_owned(),
        note: report.forecasts.note.clone(),
        columns: vec![
            col("scope", "Scope", Align::Left, 1.1),
            col("label", "Name", Align::Left, 3.0),
            col("basis", "Basis", Align::Left, 1.0),
            col("month_to_date_usd", "Month to date", Align::Right, 1.5),
            col("projected_month_end_usd", "Month end", Align::Right, 1.5),
            col("next_7_days_usd", "Next 7 days", Align::Right, 1.4),
            col("trend", "Trend", Align::Left, 1.4),
            col("status", "Status", Align::Left, 3.2),
        ],
        rows: report
            .forecasts
            .rows
            .iter()
            .map(|f| {
                vec![
                    Cell::Text(f.scope.to_owned()),
                    Cell::Text(f.label.clone()),
                    Cell::Text(f.basis.as_str().to_owned()),
                    Cell::Money(f.month_to_date.shown),
                    opt_money(f.projected_month_end),
                    opt_money(f.next_7_days),
                    Cell::Text(f.trend.clone()),
                    Cell::Text(f.status.clone()),
                ]
            })
            .collect(),
        total: None,
    });
    out.push(Table {
        id: "anomalies",
        title: "Anomalies".to_owned(),
        note: report.anomalies.note.clone(),
        columns: vec![
            col("scope", "Scope", Align::Left, 1.1),
            col("label", "Name", Align::Left, 3.2),
            col("basis", "Basis", Align::Left, 1.0),
            col("day", "Day", Align::Left, 1.2),
            col("direction", "Direction", Align::Left, 1.0),
            col("current_daily_usd", "Day's spend", Align::Right, 1.4),
            col("baseline_daily_usd", "Baseline", Align::Right, 1.4),
            col("change_usd", "Change", Align::Right, 1.4),
            col("deviation_pct", "Deviation %", Align::Right, 1.2),
        ],
        rows: report
            .anomalies
            .rows
            .iter()
            .map(|a| {
                vec![
                    Cell::Text(a.scope.to_owned()),
                    Cell::Text(a.label.clone()),
                    Cell::Text(a.basis.as_str().to_owned()),
                    Cell::Text(a.day.to_string()),
                    Cell::Text(a.direction.to_owned()),
                    Cell::Money(a.current_daily.shown),
                    Cell::Money(a.baseline_daily.shown),
                    Cell::Money(a.change.shown),
                    a.deviation_pct
                        .clone()
                        .map_or(Cell::NotAvailable, Cell::Text),
                ]
            })
            .collect(),
        total: None,
    });
    out
}

/// A cell as CSV text: money as plain decimal (`1234.56`), unknown as `N/A`.
fn csv_text(cell: &Cell) -> String {
    match cell {
        Cell::Text(t) => neutralize_cell(t),
        Cell::Money(c) => cents_plain(*c),
        Cell::Count(Some(n)) => n.to_string(),
        Cell::Count(None) | Cell::NotAvailable => "N/A".to_owned(),
    }
}

/// The whole report as one CSV: comment lines (report, period, scope, generation, notes),
/// then the header `section,line,<every column of every section>` and the rows.
pub fn to_csv(report: &ChargebackReport) -> Result<String, csv::Error> {
    let tables = tables(report);
    let mut header: Vec<&'static str> = Vec::new();
    for table in &tables {
        for c in &table.columns {
            if !header.contains(&c.key) {
                header.push(c.key);
            }
        }
    }
    let mut writer = csv::WriterBuilder::new()
        .flexible(true)
        .from_writer(Vec::new());
    writer.write_record(["# spendlens chargeback report"])?;
    writer.write_record([format!(
        "# period: {} to {} (UTC, inclusive); scope: {}; currency: {}",
        report.period.from(),
        report.period.to(),
        neutralize_cell(&report.scope_text),
        report.currency
    )])?;
    writer.write_record([format!(
        "# generated at {} by {}",
        report
            .generated_at
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default(),
        neutralize_cell(&report.generated_by)
    )])?;
    writer.write_record(["# one file, every section: `section` names it, `line` is row or total; money in USD cents as shown in the PDF (columns add up)"])?;
    for note in &report.notes {
        writer.write_record([format!("# {note}")])?;
    }
    let mut head = vec!["section", "line"];
    head.extend(&header);
    writer.write_record(&head)?;
    for table in &tables {
        let lines = table
            .rows
            .iter()
            .map(|r| ("row", r))
            .chain(table.total.iter().map(|t| ("total", t)));
        for (line, cells) in lines {
            let mut record = vec![table.id.to_owned(), line.to_owned()];
            for key in &header {
                let at = table.columns.iter().position(|c| c.key == *key);
                record.push(
                    at.and_then(|i| cells.get(i))
                        .map(csv_text)
                        .unwrap_or_default(),
                );
            }
            writer.write_record(&record)?;
        }
    }
    let bytes = writer
        .into_inner()
        .map_err(|e| csv::Error::from(std::io::Error::other(e.to_string())))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}
