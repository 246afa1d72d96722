//! Spend over time as stacked bars: one bar per day (per week for long periods), one segment
//! per row of the view (the largest ones, the rest as "Other"). Each segment is a plain link
//! that filters the page to its row and its day or week, and carries its exact amount
//! (`data-amount`) and a tooltip; the legend links filter to a row over the whole period.

use askama::Template;
use spendlens_domain::{DayRange, Money};
use spendlens_query::over_time::{OverTime, Target};

use super::{AxisLabel, PALETTE, money_axis, short_day};
use crate::dashboard::format;

/// A drawn segment.
#[derive(Debug)]
pub struct StackSegment {
    pub x: String,
    pub y: String,
    pub width: String,
    pub height: String,
    pub class: String,
    pub title: String,
    pub href: Option<String>,
    /// The exact amount, in dollars.
    pub amount: String,
}

/// A legend entry: swatch, row, its total over the period, and the link filtering to it.
#[derive(Debug)]
pub struct StackLegend {
    pub class: String,
    pub label: String,
    pub total: String,
    pub href: Option<String>,
}

#[derive(Template, Debug)]
#[template(path = "chart_stacked.svg", escape = "html")]
pub struct Stacked {
    pub title: String,
    pub segments: Vec<StackSegment>,
    pub labels: Vec<AxisLabel>,
    pub ticks: Vec<AxisLabel>,
    pub gridlines: Vec<String>,
    pub legend: Vec<StackLegend>,
    pub empty: bool,
}

const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 240.0;
const LEFT: f64 = 56.0;
const BOTTOM: f64 = 28.0;
const TOP: f64 = 10.0;

/// Where a click goes: the row (`None`: every row) over some days (`None`: the whole period).
pub type Link<'a> = &'a dyn Fn(Option<&Target>, Option<DayRange>) -> Option<String>;

/// The words for a bucket in a tooltip.
fn bucket_text(bucket: DayRange, weekly: bool) -> String {
    if weekly {
        format!("week {}", format::range(bucket))
    } else {
        bucket.from().to_string()
    }
}

/// How many of the largest rows a chart asked to draw `top` apart draws apart (one colour is
/// the rest's).
pub fn apart(top: usize) -> usize {
    top.min(PALETTE - 1)
}

/// Draws `chart`, the `top` largest rows apart and the rest (with the chart's own rest, when
/// only its largest rows were read apart) as one "Other" stack.
pub fn stacked(title: &str, chart: &OverTime, top: usize, link: Link<'_>) -> Stacked {
    let top = apart(top);
    // (label, class, target, amounts)
    let mut stacks: Vec<(String, String, Option<&Target>, Vec<Money>)> = chart
        .stacks
        .iter()
        .take(top)
        .enumerate()
        .map(|(i, s)| {
            (
                s.label.clone(),
                format!("s{}", i + 1),
                Some(&s.target),
                s.amounts.clone(),
            )
        })
        .collect();
    let rest = chart.stacks.get(top..).unwrap_or_default();
    if !rest.is_empty() || chart.other.is_some() {
        let other = chart.other.as_ref();
        let amounts = (0..chart.buckets.len())
            .map(|b| {
                rest.iter()
                    .filter_map(|s| s.amounts.get(b))
                    .chain(other.and_then(|o| o.amounts.get(b)))
                    .copied()
                    .sum()
            })
            .collect();
        stacks.push((
            format!("Other ({})", rest.len() + other.map_or(0, |o| o.rows)),
            format!("s{PALETTE}"),
            None,
            amounts,
        ));
    }
    let positive = |m: &Money| m.nanos().max(0);
    let max = (0..chart.buckets.len())
        .map(|b| {
            stacks
                .iter()
                .map(|s| s.3.get(b).map_or(0, positive))
                .sum::<i64>()
        })
        .max()
        .unwrap_or(0);
    let plot = HEIGHT - BOTTOM - TOP;
    let scale = |nanos: i64| -> f64 {
        if max == 0 {
            0.0
        } else {
            nanos.max(0) as f64 / max as f64 * plot
        }
    };
    let slot = if chart.buckets.is_empty() {
        0.0
    } else {
        (WIDTH - LEFT - 4.0) / chart.buckets.len() as f64
    };
    let bar = (slot * 0.72).max(1.0);
    let label_every = chart.buckets.len().div_ceil(10).max(1);
    let mut segments = Vec::new();
    let mut labels = Vec::new();
    for (b, bucket) in chart.buckets.iter().enumerate() {
        let x = LEFT + slot * b as f64 + (slot - bar) / 2.0;
        let day_total: Money = stacks.iter().filter_map(|s| s.3.get(b)).copied().sum();
        let mut base = TOP + plot;
        for (label, class, target, amounts) in &stacks {
            let Some(amount) = amounts.get(b).copied().filter(|a| !a.is_zero()) else {
                continue;
            };
            let height = scale(amount.nanos());
            base -= height;
            segments.push(StackSegment {
                x: format!("{x:.1}"),
                y: format!("{base:.1}"),
                width: format!("{bar:.1}"),
                height: format!("{height:.1}"),
                class: class.clone(),
                title: format!(
                    "{} · {label}: {} of {}",
                    bucket_text(*bucket, chart.weekly),
                    format::money(amount),
                    format::money(day_total)
                ),
                href: link(*target, Some(*bucket)),
                amount: amount.to_exact_string(),
            });
        }
        if b % label_every == 0 {
            labels.push(AxisLabel {
                x: format!("{:.1}", x + bar / 2.0),
                y: format!("{:.1}", HEIGHT - BOTTOM + 16.0),
                text: short_day(bucket.from()),
            });
        }
    }
    let (ticks, gridlines) = money_axis(max, TOP, plot, LEFT);
    let legend = stacks
        .iter()
        .map(|(label, class, target, amounts)| StackLegend {
            class: class.clone(),
            label: label.clone(),
            total: format::money(amounts.iter().copied().sum()),
            href: target.and_then(|t| link(Some(t), None)),
        })
        .collect();
    Stacked {
        title: title.to_owned(),
        empty: max == 0,
        segments,
        labels,
        ticks,
        gridlines,
        legend,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use spendlens_query::over_time::assemble;

    fn day(text: &str) -> spendlens_domain::Day {
        text.parse().unwrap()
    }

    /// A chart of `n` workspaces over `period` whose spend is all on `on`: workspace `i` spends
    /// `base + i` nanodollars.
    fn workspaces_on(period: (&str, &str), n: usize, on: &str, base: i64) -> OverTime {
        let period = DayRange::new(day(period.0), day(period.1)).unwrap();
        let names: Vec<Target> = (0..n).map(|i| Target::Workspace(format!("w{i}"))).collect();
        assemble(
            period,
            names
                .iter()
                .map(|t| (t.clone(), format!("{t:?}")))
                .collect(),
            names
                .iter()
                .enumerate()
                .map(|(i, t)| (t.clone(), day(on), Money::from_nanos(base + i as i64))),
        )
    }

    #[test]
    fn segments_stack_to_the_tallest_day_and_link_to_their_row_and_day() {
        let chart = workspaces_on(("2026-11-01", "2026-11-03"), 8, "2026-11-02", 1);
        let link = |t: Option<&Target>, d: Option<DayRange>| {
            Some(format!(
                "{t:?}|{}",
                d.map(|d| d.to_string()).unwrap_or_default()
            ))
        };
        let drawn = stacked("t", &chart, 6, &link);
        assert_eq!(drawn.segments.len(), 7, "six rows and Other");
        let heights: f64 = drawn
            .segments
            .iter()
            .map(|s| s.height.parse::<f64>().unwrap())
            .sum();
        assert!((heights - (HEIGHT - BOTTOM - TOP)).abs() < 0.5, "{heights}");
        let amounts: i64 = drawn
            .segments
            .iter()
            .map(|s| Money::parse_units(&s.amount).unwrap().nanos())
            .sum();
        assert_eq!(amounts, 36);
        let other = drawn.segments.last().unwrap();
        assert!(other.title.contains("Other (2)"), "{}", other.title);
        assert_eq!(other.href.as_deref(), Some("None|2026-11-02 to 2026-11-02"));
        assert_eq!(drawn.legend.len(), 7);
        assert_eq!(drawn.legend[6].href, None);
        let svg = drawn.render().unwrap();
        assert_eq!(svg.matches("<a ").count(), 7, "{svg}");
    }

    #[test]
    fn the_rest_read_together_joins_the_stacks_beyond_the_top() {
        let mut chart = workspaces_on(("2026-11-01", "2026-11-02"), 3, "2026-11-01", 10);
        chart.other = Some(spendlens_query::over_time::Other {
            rows: 40,
            amounts: vec![Money::from_nanos(5), Money::from_nanos(7)],
        });
        assert_eq!(chart.total(), Money::from_nanos(45));
        assert_eq!(chart.bucket_total(1), Money::from_nanos(7));
        let link = |_: Option<&Target>, _: Option<DayRange>| None;
        let drawn = stacked("t", &chart, 2, &link);
        // w2 and w1 apart; w0 (10) and the 40 rows read together (5, then 7) as Other.
        assert_eq!(drawn.legend.len(), 3);
        assert_eq!(drawn.legend[2].label, "Other (41)");
        let amounts: Vec<&str> = drawn.segments.iter().map(|s| s.amount.as_str()).collect();
        assert_eq!(
            amounts,
            ["0.000000012", "0.000000011", "0.000000015", "0.000000007"],
            "{:?}",
            drawn.segments
        );
    }
}
