//! Table cells of the metric views, rendered from the query crate's column model: each
//! value becomes a cell by its column's kind; views then decorate cells by column id.

use spendlens_domain::{Money, ProviderKind, Quantity};
use spendlens_query::table::{ColumnId, Kind, Spec, Value};
use spendlens_query::views::Metrics;
use spendlens_query::work::{self, UnitAmount};

use crate::dashboard::format;

pub struct Column {
    pub title: String,
    pub href: Option<String>,
    pub numeric: bool,
    pub sorted: &'static str,
}

#[derive(Default)]
pub struct Cell {
    pub text: String,
    pub class: String,
    pub href: Option<String>,
    pub title: Option<String>,
    pub badges: Vec<(String, String)>,
    pub sub: Option<String>,
    /// Further lines of the value itself, each on its own line (work in several units).
    pub lines: Vec<String>,
    pub star: bool,
    /// The column's sort key, as `data-col` (for scripts and tests; never a position).
    pub col: &'static str,
}

impl Cell {
    pub fn text(text: impl Into<String>) -> Cell {
        Cell {
            text: text.into(),
            ..Cell::default()
        }
    }

    pub fn num(text: impl Into<String>) -> Cell {
        Cell {
            text: text.into(),
            class: "num".to_owned(),
            ..Cell::default()
        }
    }

    pub fn na(text: impl Into<String>) -> Cell {
        Cell {
            text: text.into(),
            class: "num na".to_owned(),
            ..Cell::default()
        }
    }

    /// Provider badges in place of the cell's text (several wrap inside the column).
    pub fn set_badges(&mut self, providers: &[ProviderKind]) {
        self.text.clear();
        self.class = "badges".to_owned();
        self.badges = providers
            .iter()
            .map(|p| (p.as_str().to_owned(), p.display_name().to_owned()))
            .collect();
    }

    /// A cell from a value, by its column's kind. Money cells are left empty: the page fills
    /// them (`metrics` gives a row's trend its tooltip; summary rows have none).
    pub fn of(spec: &Spec, value: &Value, metrics: Option<&Metrics>) -> Cell {
        match value {
            Value::Empty if spec.kind.is_numeric() => Cell::num(""),
            Value::Empty => Cell::text(""),
            Value::Text(text) => Cell::text(text.clone()),
            Value::Money(_) => Cell::num(""),
            Value::Unpriced => Cell {
                title: Some(
                    "Usage with no known price: what it cost is unknown, not $0 (the provider \
                     documents no rate for it)"
                        .to_owned(),
                ),
                ..Cell::na("unpriced")
            },
            Value::Rate(rate) => Cell::num(format::rate(*rate)),
            // Work not billed in tokens (images, seconds, characters): "—", not a 0 that reads
            // like unused tokens; on the total row too when no row has tokens.
            Value::NotApplicable => Cell {
                title: Some(if spec.unit == "tokens" {
                    "Not billed in tokens".to_owned()
                } else {
                    "Does not apply".to_owned()
                }),
                ..Cell::na("—")
            },
            Value::Count(Some(n)) if spec.unit == "tokens" => Cell::num(format::compact(*n)),
            Value::Count(Some(n)) => Cell::num(format::count(*n)),
            Value::Count(None) => Cell {
                title: (spec.id == ColumnId::Requests).then(|| {
                    "This provider's billing API does not report request counts".to_owned()
                }),
                ..Cell::na("N/A")
            },
            Value::Usage(None) => Cell {
                title: Some(
                    "Unknown: a provider here reports neither request counts nor another unit for this work"
                        .to_owned(),
                ),
                ..Cell::na("N/A")
            },
            Value::Usage(Some(work)) => usage(work),
            Value::Idle => Cell {
                title: Some(
                    "Nothing in this period: this provider counts no requests, so there is no 0 to show"
                        .to_owned(),
                ),
                ..Cell::na("N/A")
            },
            Value::Quantity(q) => Cell::num(format::quantity(*q)),
            Value::Percent(p) => Cell::num(format::share(*p)),
            Value::Trend(trend, pct) => {
                let (text, class, label) = format::trend(*trend, *pct);
                Cell {
                    text,
                    class: format!("num {class}"),
                    title: metrics.map(|m| match (m.trend, m.history_from) {
                        (spendlens_domain::Trend::NoHistory, Some(from)) => format!(
                            "No comparable history: the data starts {from}, after the previous period began (it shows {} so far)",
                            format::money(m.previous_cost)
                        ),
                        (spendlens_domain::Trend::NoHistory, None) => {
                            "No comparable history: no data was synced for the previous period"
                                .to_owned()
                        }
                        _ if m.previous_cost_unknown || m.cost_unknown => {
                            "No trend: a cost here is unpriced (unknown, not $0)".to_owned()
                        }
                        _ => format!(
                            "{label}; previous period {}",
                            format::money(m.previous_cost)
                        ),
                    }),
                    ..Cell::default()
                }
            }
        }
    }
}

/// Work in its own units: a plain count when it is only requests, else one line per unit
/// (`1,137 images`, `598.4K machine seconds`), never added across units; the exact amounts are
/// in the tooltip.
fn usage(work: &[UnitAmount]) -> Cell {
    if work::is_requests_only(work) {
        return Cell::num(format::quantity(
            work.first().map_or(Quantity::ZERO, |a| a.quantity),
        ));
    }
    let line =
        |a: &UnitAmount, quantity: String| format!("{quantity} {}", work::unit_words(&a.unit));
    let mut lines: Vec<String> = work
        .iter()
        .map(|a| line(a, format::compact_quantity(a.quantity)))
        .collect();
    let exact: Vec<String> = work
        .iter()
        .map(|a| line(a, format::quantity(a.quantity)))
        .collect();
    let first = lines.remove(0);
    Cell {
        title: Some(format!(
            "{}: work in the provider's own units where it counts no requests; units are never added together",
            exact.join(" · ")
        )),
        lines,
        ..Cell::num(first)
    }
}

/// Whether a column's cells are money that sums into the total row.
pub fn is_summed_money(spec: &Spec) -> bool {
    spec.kind == Kind::Money && spec.total == spendlens_query::table::Total::Sum
}

/// The money of a cell, zero for anything else.
pub fn money_of(value: &Value) -> Money {
    match value {
        Value::Money(m) => *m,
        _ => Money::ZERO,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use spendlens_domain::Unit;
    use spendlens_query::table::Total;

    fn spec() -> Spec {
        Spec {
            id: ColumnId::Usage,
            title: "Requests",
            csv: Some("Usage"),
            kind: Kind::Usage,
            sort: Some("requests"),
            unit: "requests, or the provider's own unit of work",
            total: Total::Sum,
        }
    }

    fn amount(unit: &str, micros: i64) -> UnitAmount {
        UnitAmount {
            unit: Unit::parse(unit).unwrap(),
            quantity: Quantity::from_micros(micros),
        }
    }

    #[test]
    fn work_reads_in_its_own_units_and_requests_alone_as_a_count() {
        let cell = Cell::of(
            &spec(),
            &Value::Usage(Some(vec![
                amount("images", 4_200_000_000),
                amount("machine_seconds", 36_500_000),
            ])),
            None,
        );
        assert_eq!(cell.text, "4,200 images");
        assert_eq!(cell.lines, ["36.5 machine seconds"]);
        assert!(
            cell.title
                .unwrap()
                .starts_with("4,200 images · 36.5 machine seconds: work in")
        );
        let cell = Cell::of(
            &spec(),
            &Value::Usage(Some(vec![
                amount("requests", 120_000_000),
                amount("machine_seconds", 598_402_780_000),
            ])),
            None,
        );
        assert_eq!(
            (cell.text.as_str(), cell.lines.as_slice()),
            (
                "120 requests",
                ["598.4K machine seconds".to_owned()].as_slice()
            )
        );
        assert!(
            cell.title
                .unwrap()
                .starts_with("120 requests · 598,402.78 machine seconds")
        );
        let cell = Cell::of(
            &spec(),
            &Value::Usage(Some(vec![amount("requests", 12_345_000_000)])),
            None,
        );
        assert_eq!((cell.text.as_str(), cell.title), ("12,345", None));
        let cell = Cell::of(&spec(), &Value::Usage(Some(Vec::new())), None);
        assert_eq!(cell.text, "0");
        let cell = Cell::of(&spec(), &Value::Usage(None), None);
        assert_eq!((cell.text.as_str(), cell.class.as_str()), ("N/A", "num na"));
    }
}
