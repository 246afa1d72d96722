//! A report as a plain table of text cells — the one shape behind CSV export and the CLI's
//! tables, so both show exactly the report's rows, in its order, with its totals.

use spendlens_domain::Money;
use spendlens_domain::display::{cents_adding_up, format_money, format_rate};

use crate::views::{Metrics, Report};

/// How money cells are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MoneyStyle {
    /// `1234.567891234`: exact, for CSV and machines.
    Exact,
    /// `$1,234.57`: rounded to cents so that shown rows add up to the shown total.
    Cents,
}

/// Column titles, rows, and a closing total row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Table {
    pub columns: Vec<&'static str>,
    pub rows: Vec<Vec<String>>,
    pub total: Vec<String>,
}

/// `+12.5%`, `-3.0%`, `new`, or empty when there was no spend in either period.
pub fn trend_text(
    trend: spendlens_domain::Trend,
    trend_pct: Option<rust_decimal::Decimal>,
) -> String {
    use spendlens_domain::Trend;
    match (trend, trend_pct) {
        (Trend::New, _) => "new".to_owned(),
        (Trend::None, _) => String::new(),
        (_, Some(pct)) if pct > rust_decimal::Decimal::ZERO => format!("+{pct}%"),
        (_, Some(pct)) => format!("{pct}%"),
        (_, None) => String::new(),
    }
}

fn opt<T: ToString>(value: Option<T>) -> String {
    value.map_or_else(|| "N/A".to_owned(), |v| v.to_string())
}

/// Formats money cells of one column so that, in cents style, they add up to the total.
struct MoneyColumn {
    cells: Vec<String>,
    total: String,
}

fn money_column(values: &[Money], style: MoneyStyle) -> MoneyColumn {
    let total: Money = values.iter().sum();
    match style {
        MoneyStyle::Exact => MoneyColumn {
            cells: values.iter().map(|m| m.to_exact_string()).collect(),
            total: total.to_exact_string(),
        },
        MoneyStyle::Cents => MoneyColumn {
            cells: cents_adding_up(values, total)
                .into_iter()
                .map(|cents| format_money(cents, "USD"))
                .collect(),
            total: format_money(total.round_to_cents(), "USD"),
        },
    }
}

fn opt_money(value: Option<Money>, style: MoneyStyle) -> String {
    match (value, style) {
        (None, _) => "N/A".to_owned(),
        (Some(m), MoneyStyle::Exact) => m.to_exact_string(),
        (Some(m), MoneyStyle::Cents) => format_rate(m),
    }
}

fn pct(value: Option<rust_decimal::Decimal>) -> String {
    value.map_or_else(String::new, |p| format!("{p}%"))
}

/// Builds the table of a report.
pub fn table(report: &Report, style: MoneyStyle) -> Table {
    let metrics: Vec<&Metrics> = match report {
        Report::Providers(r) => r.rows.iter().map(|x| &x.metrics).collect(),
        Report::Workspaces(r) => r.rows.iter().map(|x| &x.metrics).collect(),
        Report::Keys(r) => r.rows.iter().map(|x| &x.metrics).collect(),
        Report::Models(r) => r.rows.iter().map(|x| &x.metrics).collect(),
    };
    let cost = money_column(&metrics.iter().map(|m| m.cost).collect::<Vec<_>>(), style);
    let previous = money_column(
        &metrics.iter().map(|m| m.previous_cost).collect::<Vec<_>>(),
        style,
    );
    let credits = money_column(
        &metrics.iter().map(|m| m.credits).collect::<Vec<_>>(),
        style,
    );
    let net = money_column(
        &metrics.iter().map(|m| m.net_cost).collect::<Vec<_>>(),
        style,
    );
    let header = report.header();
    let total_tokens: i64 = metrics.iter().map(|m| m.total_tokens).sum();
    let total_requests = {
        let mut sum = Some(0i64);
        for m in &metrics {
            sum = match (sum, m.requests) {
                (Some(a), Some(b)) => Some(a + b),
                _ => None,
            };
        }
        sum
    };
    // CSV carries the trend as a plain signed number (a leading "+" reads as a formula).
    let trend_cell =
        |trend: spendlens_domain::Trend, pct: Option<rust_decimal::Decimal>| match style {
            MoneyStyle::Cents => trend_text(trend, pct),
            MoneyStyle::Exact => match (trend, pct) {
                (spendlens_domain::Trend::New, _) => "new".to_owned(),
                (_, Some(pct)) => pct.to_string(),
                (_, None) => String::new(),
            },
        };
    let common = |i: usize, m: &Metrics| {
        vec![
            cost.cells[i].clone(),
            credits.cells[i].clone(),
            net.cells[i].clone(),
            previous.cells[i].clone(),
            trend_cell(m.trend, m.trend_pct),
            pct(m.share_pct),
            m.input_tokens.to_string(),
            m.output_tokens.to_string(),
            m.total_tokens.to_string(),
            opt(m.requests),
        ]
    };
    let common_total = vec![
        cost.total.clone(),
        credits.total.clone(),
        net.total.clone(),
        previous.total.clone(),
        trend_cell(header.trend, header.trend_pct),
        if metrics.is_empty() {
            String::new()
        } else {
            "100.0%".to_owned()
        },
        metrics
            .iter()
            .map(|m| m.input_tokens)
            .sum::<i64>()
            .to_string(),
        metrics
            .iter()
            .map(|m| m.output_tokens)
            .sum::<i64>()
            .to_string(),
        total_tokens.to_string(),
        opt(total_requests),
    ];
    const COMMON: [&str; 10] = [
        "Cost",
        "Credits",
        "Net cost",
        "Previous cost",
        "Trend %",
        "Share",
        "Input tokens",
        "Output tokens",
        "Tokens",
        "Requests",
    ];
    let with_common = |lead: &[&'static str], tail: &[&'static str]| {
        let mut columns = lead.to_vec();
        columns.extend_from_slice(&COMMON);
        columns.extend_from_slice(tail);
        columns
    };
    match report {
        Report::Providers(r) => Table {
            columns: with_common(&["Provider"], &["Connections"]),
            rows: r
                .rows
                .iter()
                .enumerate()
                .map(|(i, row)| {
                    let mut cells = vec![row.provider_name.to_owned()];
                    cells.extend(common(i, &row.metrics));
                    cells.push(row.connections.join("; "));
                    cells
                })
                .collect(),
            total: {
                let mut cells = vec!["Total".to_owned()];
                cells.extend(common_total.clone());
                cells.push(String::new());
                cells
            },
        },
        Report::Workspaces(r) => Table {
            columns: with_common(&["Workspace", "Provider"], &[]),
            rows: r
                .rows
                .iter()
                .enumerate()
                .map(|(i, row)| {
                    let mut cells = vec![row.workspace.clone(), row.provider.clone()];
                    cells.extend(common(i, &row.metrics));
                    cells
                })
                .collect(),
            total: {
                let mut cells = vec!["Total".to_owned(), String::new()];
                cells.extend(common_total.clone());
                cells
            },
        },
        Report::Keys(r) => Table {
            columns: with_common(
                &["Key name", "Workspace", "Key hint", "Provider", "Status"],
                &["Cost/1M tokens", "Allocated"],
            ),
            rows: r
                .rows
                .iter()
                .enumerate()
                .map(|(i, row)| {
                    let mut cells = vec![
                        row.key_name.clone(),
                        row.workspace.clone().unwrap_or_default(),
                        row.key_hint.clone().unwrap_or_default(),
                        row.provider.as_str().to_owned(),
                        row.status.clone(),
                    ];
                    cells.extend(common(i, &row.metrics));
                    cells.push(opt_money(row.cost_per_1m, style));
                    cells.push(if row.allocated { "yes" } else { "no" }.to_owned());
                    cells
                })
                .collect(),
            total: {
                let mut cells = vec![
                    "Total".to_owned(),
                    String::new(),
                    String::new(),
                    String::new(),
                    String::new(),
                ];
                cells.extend(common_total.clone());
                cells.push(opt_money(r.average_cost_per_1m, style));
                cells.push(String::new());
                cells
            },
        },
        Report::Models(r) => Table {
            columns: with_common(
                &["Model", "Provider", "Category"],
                &[
                    "Unit",
                    "Quantity",
                    "Cost/1M tokens",
                    "Cost/unit",
                    "Avg tokens/req",
                    "Most efficient",
                ],
            ),
            rows: r
                .rows
                .iter()
                .enumerate()
                .map(|(i, row)| {
                    let mut cells = vec![
                        row.model.clone(),
                        row.provider.as_str().to_owned(),
                        row.category.as_str().to_owned(),
                    ];
                    cells.extend(common(i, &row.metrics));
                    cells.push(row.unit.as_str().to_owned());
                    cells.push(if row.unit.is_tokens() {
                        String::new()
                    } else {
                        row.quantity.to_string()
                    });
                    cells.push(if row.unit.is_tokens() {
                        opt_money(row.cost_per_1m, style)
                    } else {
                        String::new()
                    });
                    cells.push(if row.unit.is_tokens() {
                        String::new()
                    } else {
                        opt_money(row.cost_per_unit, style)
                    });
                    cells.push(opt(row.avg_tokens_per_request));
                    cells.push(if row.most_efficient { "★" } else { "" }.to_owned());
                    cells
                })
                .collect(),
            total: {
                let mut cells = vec!["Total".to_owned(), String::new(), String::new()];
                cells.extend(common_total.clone());
                cells.extend(std::iter::repeat_n(String::new(), 6));
                cells
            },
        },
    }
}

/// A CSV cell that a spreadsheet would run as a formula starts with `'` instead.
pub fn neutralize_cell(cell: &str) -> String {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => {
            // Negative numbers stay numbers.
            if cell.starts_with('-')
                && cell[1..].chars().all(|c| c.is_ascii_digit() || c == '.')
                && cell.len() > 1
            {
                cell.to_owned()
            } else {
                format!("'{cell}")
            }
        }
        _ => cell.to_owned(),
    }
}

/// The report as CSV: lines stating the view, period, time zone, currency and filters, then
/// the columns, the rows (exact money) and a total row. Formula-like cells are neutralized.
pub fn to_csv(report: &Report, filters: &str) -> Result<String, csv::Error> {
    let header = report.header();
    let table = table(report, MoneyStyle::Exact);
    let mut writer = csv::WriterBuilder::new()
        .flexible(true)
        .from_writer(Vec::new());
    writer.write_record([format!("# spendlens report: {}", header.view.as_str())])?;
    writer.write_record([format!(
        "# period: {} (UTC); previous period: {}; currency: {}",
        header.period, header.previous_period, header.currency
    )])?;
    writer.write_record([format!(
        "# filters: {}",
        if filters.is_empty() { "none" } else { filters }
    )])?;
    writer.write_record(&table.columns)?;
    for row in table.rows.iter().chain(std::iter::once(&table.total)) {
        writer.write_record(row.iter().map(|cell| neutralize_cell(cell)))?;
    }
    let bytes = writer
        .into_inner()
        .map_err(|e| csv::Error::from(e.into_error()))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_cells_are_neutralized_but_negative_numbers_are_not() {
        assert_eq!(neutralize_cell("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(neutralize_cell("+1+1"), "'+1+1");
        assert_eq!(neutralize_cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(neutralize_cell("-cmd|x"), "'-cmd|x");
        assert_eq!(neutralize_cell("-12.50"), "-12.50");
        assert_eq!(neutralize_cell("plain"), "plain");
    }
}
