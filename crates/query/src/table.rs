//! One column model for every table a report is shown as: each view declares its columns once
//! (title, kind, sort key, CSV name, unit, how the total row sums it) in [`columns`], and the
//! dashboard's HTML, CSV export and the CLI's tables all render from that declaration.
//!
//! A [`Sheet`] is a report as typed cell values; [`table`] turns it into text for CSV (exact
//! money) or the terminal (cents). The dashboard reads the same sheet and decorates cells.

mod attribution;
pub mod columns;

use rust_decimal::Decimal;
use spendlens_domain::display::{format_money, format_rate};
use spendlens_domain::{Money, Quantity, Trend};

use crate::params::View;
use crate::views::{Metrics, Report, percent};
use crate::work::UnitAmount;

/// How money cells are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MoneyStyle {
    /// `1234.567891234`: exact, for CSV and machines.
    Exact,
    /// `$1,234.57`: each amount rounded to cents on its own, so one amount reads the same
    /// everywhere (a column of rounded rows may then differ from its total by a cent or two).
    Cents,
}

/// What a column holds; decides alignment, formatting and how cells add up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Text,
    Money,
    Count,
    Percent,
    Trend,
    /// Work in its own units (requests, images, seconds, credits), summed unit by unit.
    Usage,
}

impl Kind {
    pub fn is_numeric(self) -> bool {
        self != Kind::Text
    }
}

/// A column's identity, for surfaces choosing and decorating columns (never by position or
/// by title).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ColumnId {
    Provider,
    Connections,
    Workspace,
    KeyName,
    KeyHint,
    Status,
    Model,
    Category,
    Cost,
    Credits,
    NetCost,
    PreviousCost,
    Trend,
    Share,
    InputTokens,
    OutputTokens,
    Tokens,
    Requests,
    /// Requests where the provider counts them, else its own unit of work.
    Usage,
    CostPer1M,
    Allocated,
    Unit,
    Quantity,
    CostPerUnit,
    AvgTokensPerRequest,
    MostEfficient,
    Coverage,
    /// The customer, product or agent of an attribution view.
    Attribution,
    /// Whether the row's calls carried the attribution (`no` for the "(none)" row).
    Attributed,
    Calls,
    FailedCalls,
    ErrorShare,
    UnpricedCalls,
    /// Billed views: requests whose usage has no known price.
    UnpricedRequests,
    UsageUnknown,
    AvgCostPerCall,
}

/// How a column's cell in a total (or "other rows") row is made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Total {
    /// The row's label ("Total").
    Label,
    /// Left empty.
    Empty,
    /// The sum of the cells (unknown if any is unknown).
    Sum,
    /// The rows' share of the report's cost.
    Share,
    /// The trend of the rows' summed cost against their summed previous cost.
    Trend,
    /// A figure of the whole report (shown on the total row only).
    Whole(Value),
}

/// One cell's value, before any surface formats it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    Empty,
    Text(String),
    Money(Money),
    /// A rate (per 1M tokens, per unit): `N/A` when unknown.
    Rate(Option<Money>),
    /// A count: `N/A` when unknown.
    Count(Option<i64>),
    Quantity(Quantity),
    Percent(Option<Decimal>),
    Trend(Trend, Option<Decimal>),
    /// Work per unit: `N/A` when unknown.
    Usage(Option<Vec<UnitAmount>>),
    /// Work of a row with nothing in the period where no count exists to be 0 (an idle key of a
    /// provider that counts no requests): `N/A`; sums skip it.
    Idle,
    /// A cost no one knows (usage with no price): "unpriced", never $0; sums skip it.
    Unpriced,
    /// A measure that does not apply to the row (tokens of work billed in images, seconds or
    /// credits): "—", not a 0 that reads like none was used. A sum of only such cells is one too.
    NotApplicable,
}

/// A column's description, the same for every surface.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Spec {
    pub id: ColumnId,
    /// The dashboard's column title.
    pub title: &'static str,
    /// The CSV (and CLI) header; `None` for a column CSV does not carry.
    pub csv: Option<&'static str>,
    pub kind: Kind,
    /// The `sort=` value that sorts by this column.
    pub sort: Option<&'static str>,
    /// What the numbers count: `USD`, `tokens`, `requests`, `%`…; empty for text.
    pub unit: &'static str,
    pub total: Total,
}

/// A column of rows of type `R`: its description and how a row gives its value.
pub struct Column<R> {
    pub spec: Spec,
    pub value: fn(&R) -> Value,
}

/// Rows that carry the common metrics.
pub trait Row {
    fn metrics(&self) -> &Metrics;
}

/// A report as typed cells: the one table every surface renders.
#[derive(Clone, Debug)]
pub struct Sheet {
    pub view: View,
    pub specs: Vec<Spec>,
    pub rows: Vec<Vec<Value>>,
    pub metrics: Vec<Metrics>,
    /// The dashboard's columns, in order.
    pub html: &'static [ColumnId],
    /// The terminal's columns, in order.
    pub cli: &'static [ColumnId],
}

impl Sheet {
    pub fn new<R: Row>(
        view: View,
        columns: Vec<Column<R>>,
        rows: &[R],
        html: &'static [ColumnId],
        cli: &'static [ColumnId],
    ) -> Sheet {
        Sheet {
            view,
            rows: rows
                .iter()
                .map(|row| columns.iter().map(|c| (c.value)(row)).collect())
                .collect(),
            metrics: rows.iter().map(|r| r.metrics().clone()).collect(),
            specs: columns.into_iter().map(|c| c.spec).collect(),
            html,
            cli,
        }
    }

    /// The position of a column in `specs` and each row.
    pub fn position(&self, id: ColumnId) -> Option<usize> {
        self.specs.iter().position(|s| s.id == id)
    }

    /// The positions of `ids` (the columns a view declares) a page or terminal shows: the
    /// unpriced-requests column only when some row has unpriced usage (the CSV always carries
    /// it).
    pub fn shown(&self, ids: &[ColumnId]) -> Vec<usize> {
        let any_unpriced = self.metrics.iter().any(|m| m.unpriced_lines > 0);
        ids.iter()
            .filter(|id| any_unpriced || **id != ColumnId::UnpricedRequests)
            .filter_map(|id| self.position(*id))
            .collect()
    }

    /// The CSV columns, in declaration order.
    pub fn csv_positions(&self) -> Vec<usize> {
        (0..self.specs.len())
            .filter(|i| self.specs[*i].csv.is_some())
            .collect()
    }

    /// A summary row of the given rows, the first text column holding `label`.
    pub fn summary(&self, rows: &[usize], label: &str) -> Vec<Value> {
        let whole = rows.len() == self.rows.len();
        let all_cost: Money = self.metrics.iter().map(|m| m.cost).sum();
        let cost: Money = rows.iter().map(|i| self.metrics[*i].cost).sum();
        let previous: Money = rows.iter().map(|i| self.metrics[*i].previous_cost).sum();
        let no_history = rows
            .iter()
            .any(|i| self.metrics[*i].trend == Trend::NoHistory);
        self.specs
            .iter()
            .enumerate()
            .map(|(column, spec)| match &spec.total {
                Total::Label => Value::Text(label.to_owned()),
                Total::Empty => Value::Empty,
                Total::Whole(value) if whole => value.clone(),
                Total::Whole(_) => Value::Empty,
                Total::Share if rows.is_empty() => Value::Percent(None),
                Total::Share if whole => Value::Percent(Some(Decimal::new(1000, 1))),
                Total::Share => Value::Percent(percent(cost, all_cost)),
                // Rows without comparable history make their sum incomparable too.
                Total::Trend if no_history => Value::Trend(Trend::NoHistory, None),
                Total::Trend => Value::Trend(
                    spendlens_domain::trend::trend(cost, previous),
                    spendlens_domain::trend::trend_pct(cost, previous),
                ),
                Total::Sum => sum(spec.kind, rows.iter().map(|i| &self.rows[*i][column])),
            })
            .collect()
    }
}

fn sum<'a>(kind: Kind, values: impl Iterator<Item = &'a Value>) -> Value {
    let mut total = match kind {
        Kind::Money => Value::Money(Money::ZERO),
        Kind::Usage => Value::Usage(Some(Vec::new())),
        _ => Value::Count(Some(0)),
    };
    // Whether every cell summed is "does not apply" (and there is one).
    let mut not_applicable = None;
    for value in values {
        let skipped = *value == Value::NotApplicable;
        not_applicable = Some(not_applicable.unwrap_or(true) && skipped);
        if skipped {
            continue;
        }
        total = match (total, value) {
            (Value::Usage(a), Value::Usage(b)) => Value::Usage(crate::work::sum([&a, b])),
            (Value::Money(a), Value::Money(b)) => Value::Money(a + *b),
            (Value::Count(a), Value::Count(b)) => {
                Value::Count(a.zip(*b).map(|(a, b)| a.saturating_add(b)))
            }
            (total, Value::Empty | Value::Unpriced | Value::Idle) => total,
            (_, _) => Value::Empty,
        };
    }
    if not_applicable == Some(true) {
        return Value::NotApplicable;
    }
    total
}

/// The sheet of a report.
pub fn sheet(report: &Report) -> Sheet {
    columns::sheet(report)
}

/// Column titles, rows, and a closing total row, as text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Table {
    pub columns: Vec<&'static str>,
    pub rows: Vec<Vec<String>>,
    pub total: Vec<String>,
}

/// Which table of a report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Surface {
    /// Every CSV column.
    Csv,
    /// The terminal's narrower choice.
    Cli,
}

/// `+12.5%`, `-3.0%`, `new`, or empty when there was no spend in either period.
pub fn trend_text(trend: Trend, trend_pct: Option<Decimal>) -> String {
    match (trend, trend_pct) {
        (Trend::New, _) => "new".to_owned(),
        (Trend::None, _) => String::new(),
        (Trend::NoHistory, _) => "no comparable history".to_owned(),
        (_, Some(pct)) if pct > Decimal::ZERO => format!("+{pct}%"),
        (_, Some(pct)) => format!("{pct}%"),
        (_, None) => String::new(),
    }
}

/// A cell as plain text.
pub fn text(value: &Value, style: MoneyStyle) -> String {
    match value {
        Value::Empty => String::new(),
        Value::Unpriced => "unpriced".to_owned(),
        Value::NotApplicable => "—".to_owned(),
        Value::Text(text) => text.clone(),
        Value::Money(m) => match style {
            MoneyStyle::Exact => m.to_exact_string(),
            MoneyStyle::Cents => format_money(m.round_to_cents(), "USD"),
        },
        Value::Rate(None) | Value::Count(None) => "N/A".to_owned(),
        Value::Rate(Some(m)) => match style {
            MoneyStyle::Exact => m.to_exact_string(),
            MoneyStyle::Cents => format_rate(*m),
        },
        Value::Count(Some(n)) => n.to_string(),
        Value::Usage(work) => crate::work::text(work.as_deref()),
        Value::Idle => crate::work::text(None),
        Value::Quantity(q) => q.to_string(),
        Value::Percent(p) => p.map_or_else(String::new, |p| format!("{p}%")),
        // CSV carries the trend as a plain signed number (a leading "+" reads as a formula).
        Value::Trend(trend, pct) => match style {
            MoneyStyle::Cents => trend_text(*trend, *pct),
            MoneyStyle::Exact => match (trend, pct) {
                (Trend::New, _) => "new".to_owned(),
                (Trend::NoHistory, _) => "no comparable history".to_owned(),
                (_, Some(pct)) => pct.to_string(),
                (_, None) => String::new(),
            },
        },
    }
}

/// Builds the text table of a report for CSV or the terminal.
pub fn table(report: &Report, style: MoneyStyle, surface: Surface) -> Table {
    let sheet = sheet(report);
    let positions = match surface {
        Surface::Csv => sheet.csv_positions(),
        Surface::Cli => sheet.shown(sheet.cli),
    };
    let all: Vec<usize> = (0..sheet.rows.len()).collect();
    let total = sheet.summary(&all, "Total");
    let rows: Vec<Vec<String>> = sheet
        .rows
        .iter()
        .map(|row| positions.iter().map(|p| text(&row[*p], style)).collect())
        .collect();
    let total_text: Vec<String> = positions.iter().map(|p| text(&total[*p], style)).collect();
    Table {
        columns: positions
            .iter()
            .map(|p| sheet.specs[*p].csv.unwrap_or(sheet.specs[*p].title))
            .collect(),
        rows,
        total: total_text,
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
    let table = table(report, MoneyStyle::Exact, Surface::Csv);
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
    fn an_idle_row_reads_na_and_adds_nothing_to_the_total_work() {
        let work = |unit: &str, whole: i64| {
            Value::Usage(Some(vec![UnitAmount {
                unit: spendlens_domain::Unit::parse(unit).unwrap(),
                quantity: spendlens_domain::Quantity::from_whole(whole),
            }]))
        };
        let total = sum(
            Kind::Usage,
            [work("images", 5), Value::Idle, work("credits", 30)].iter(),
        );
        assert_eq!(text(&total, MoneyStyle::Exact), "30 credits; 5 images");
        assert_eq!(text(&Value::Idle, MoneyStyle::Exact), "N/A");
        // Work that is unknown (a row with usage and no count) still makes the total unknown.
        let unknown = sum(Kind::Usage, [work("images", 5), Value::Usage(None)].iter());
        assert_eq!(text(&unknown, MoneyStyle::Exact), "N/A");
    }

    #[test]
    fn formula_cells_are_neutralized_but_negative_numbers_are_not() {
        assert_eq!(neutralize_cell("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(neutralize_cell("+1+1"), "'+1+1");
        assert_eq!(neutralize_cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(neutralize_cell("-cmd|x"), "'-cmd|x");
        assert_eq!(neutralize_cell("-12.50"), "-12.50");
        assert_eq!(neutralize_cell("plain"), "plain");
    }

    #[test]
    fn sums_keep_unknown_counts_unknown() {
        let values = [Value::Count(Some(2)), Value::Count(None)];
        assert_eq!(sum(Kind::Count, values.iter()), Value::Count(None));
        let values = [Value::Money(Money::from_nanos(5)), Value::Empty];
        assert_eq!(
            sum(Kind::Money, values.iter()),
            Value::Money(Money::from_nanos(5))
        );
    }

    #[test]
    fn a_sum_of_cells_that_do_not_apply_does_not_apply() {
        let none = [Value::NotApplicable, Value::NotApplicable];
        assert_eq!(sum(Kind::Count, none.iter()), Value::NotApplicable);
        assert_eq!(text(&Value::NotApplicable, MoneyStyle::Exact), "—");
        // Beside real counts, they add nothing.
        let some = [Value::NotApplicable, Value::Count(Some(7))];
        assert_eq!(sum(Kind::Count, some.iter()), Value::Count(Some(7)));
        assert_eq!(sum(Kind::Count, [].iter()), Value::Count(Some(0)));
    }
}
