//! Table cells of the metric views, rendered from the query crate's column model: each
//! value becomes a cell by its column's kind; views then decorate cells by column id.

use spendlens_domain::{Money, ProviderKind};
use spendlens_query::table::{ColumnId, Kind, Spec, Value};
use spendlens_query::views::Metrics;

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

    /// Provider badges in place of the cell's text.
    pub fn set_badges(&mut self, providers: &[ProviderKind]) {
        self.text.clear();
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
            Value::Rate(rate) => Cell::num(format::rate(*rate)),
            // Spend without any tokens is not billed in tokens (images, seconds, characters):
            // "—", not a 0 that reads like unused tokens.
            Value::Count(Some(0))
                if spec.id == ColumnId::Tokens && metrics.is_some_and(|m| !m.cost.is_zero()) =>
            {
                Cell {
                    title: Some("Not billed in tokens".to_owned()),
                    ..Cell::na("—")
                }
            }
            Value::Count(Some(n)) if spec.unit == "tokens" => Cell::num(format::compact(*n)),
            Value::Count(Some(n)) => Cell::num(format::count(*n)),
            Value::Count(None) => Cell {
                title: (spec.id == ColumnId::Requests).then(|| {
                    "This provider's billing API does not report request counts".to_owned()
                }),
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
