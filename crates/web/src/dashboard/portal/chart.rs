//! The portal's daily chart: one bar per UTC day of the period, its height the day's priced
//! metered cost, each with its amount (as the cards show amounts) and call count in a tooltip. Days without a call
//! draw no bar (and say "no calls"); the chart is an SVG from a template (the CSP allows no
//! inline styles).

use askama::Template;
use spendlens_domain::{Day, DayRange, Money};

use crate::dashboard::charts::{AxisLabel, money_axis, short_day};
use crate::dashboard::cost::label_money;
use crate::dashboard::format;

/// One day's figures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DayCost {
    pub day: Day,
    pub cost: Money,
    pub calls: i64,
    pub unpriced: i64,
}

#[derive(Debug)]
pub struct DayBar {
    pub x: String,
    pub y: String,
    pub width: String,
    pub height: String,
    pub title: String,
}

#[derive(Template, Debug)]
#[template(path = "chart_days.svg", escape = "html")]
pub struct DailyChart {
    pub title: String,
    pub bars: Vec<DayBar>,
    pub labels: Vec<AxisLabel>,
    pub ticks: Vec<AxisLabel>,
    pub gridlines: Vec<String>,
    pub empty: bool,
}

const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 220.0;
const LEFT: f64 = 56.0;
const BOTTOM: f64 = 28.0;
const TOP: f64 = 10.0;

/// The chart of `range`, from the days that had calls (`days`, any order).
pub fn daily(title: &str, range: DayRange, days: &[DayCost]) -> DailyChart {
    let all: Vec<Day> = range.days().collect();
    let max = days
        .iter()
        .map(|d| d.cost.nanos())
        .max()
        .unwrap_or(0)
        .max(0);
    let plot = HEIGHT - BOTTOM - TOP;
    let slot = (WIDTH - LEFT - 8.0) / all.len().max(1) as f64;
    let width = (slot * 0.7).clamp(1.0, 28.0);
    let scale = |nanos: i64| {
        if max == 0 {
            0.0
        } else {
            nanos.max(0) as f64 / max as f64 * plot
        }
    };
    let label_every = all.len().div_ceil(8).max(1);
    let mut bars = Vec::new();
    let mut labels = Vec::new();
    for (index, day) in all.iter().enumerate() {
        let center = LEFT + slot * (index as f64 + 0.5);
        if let Some(d) = days.iter().find(|d| d.day == *day) {
            let height = scale(d.cost.nanos()).max(if d.calls > 0 { 1.0 } else { 0.0 });
            let unpriced = if d.unpriced > 0 {
                format!(", {} unpriced", format::count(d.unpriced))
            } else {
                String::new()
            };
            bars.push(DayBar {
                x: format!("{:.1}", center - width / 2.0),
                y: format!("{:.1}", TOP + plot - height),
                width: format!("{width:.1}"),
                height: format!("{height:.1}"),
                title: format!(
                    "{day}: {} over {} call{}{unpriced}",
                    label_money(d.cost),
                    format::count(d.calls),
                    if d.calls == 1 { "" } else { "s" }
                ),
            });
        }
        if index % label_every == 0 {
            labels.push(AxisLabel {
                x: format!("{center:.1}"),
                y: format!("{:.1}", HEIGHT - BOTTOM + 16.0),
                text: short_day(*day),
            });
        }
    }
    let (ticks, gridlines) = money_axis(max, TOP, plot, LEFT);
    DailyChart {
        title: title.to_owned(),
        empty: days.iter().all(|d| d.calls == 0),
        bars,
        labels,
        ticks,
        gridlines,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bar_per_day_with_calls_the_tallest_the_costliest() {
        let range =
            DayRange::new("2026-12-01".parse().unwrap(), "2026-12-04".parse().unwrap()).unwrap();
        let days = [
            DayCost {
                day: "2026-12-02".parse().unwrap(),
                cost: Money::from_nanos(2_000_000_000),
                calls: 3,
                unpriced: 0,
            },
            DayCost {
                day: "2026-12-04".parse().unwrap(),
                cost: Money::from_nanos(500_000_000),
                calls: 1,
                unpriced: 1,
            },
        ];
        let chart = daily("Cost per day", range, &days);
        assert_eq!(chart.bars.len(), 2);
        assert!(!chart.empty);
        assert_eq!(
            chart.bars[0].height,
            format!("{:.1}", HEIGHT - BOTTOM - TOP)
        );
        assert!(
            chart.bars[0].title.contains("$2.00 over 3 calls"),
            "{}",
            chart.bars[0].title
        );
        assert!(chart.bars[1].title.contains("1 call, 1 unpriced"));
        assert_eq!(chart.labels.len(), 4);
        let none = daily("Cost per day", range, &[]);
        assert!(none.empty && none.bars.is_empty());
    }
}
