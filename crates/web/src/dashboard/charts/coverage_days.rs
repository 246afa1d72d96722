//! Coverage per day on the Providers view: one bar per UTC day of the period, its height the
//! day's metered ÷ billed cost of the providers shown (over the providers whose bill is final
//! that day), a dashed line at 100 %. A day no shown provider's bill is final for is drawn as
//! **lag** — a pale full-height bar saying so — never as 0 %; a final day with nothing billed
//! draws no bar (N/A). Figures come from the coverage report's `days` (exact money; the ratio
//! is the report's own one-decimal percent, floats only for pixels).

use askama::Template;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use spendlens_domain::{Day, Money};
use spendlens_query::coverage::ProviderReport;
use spendlens_query::coverage::daily::DayStatus;
use spendlens_query::coverage::math::percent;

use crate::dashboard::charts::{AxisLabel, percent_axis, short_day};
use crate::dashboard::format;

/// One day of the providers shown.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DayPoint {
    pub day: Day,
    /// Over the providers whose bill is final that day.
    pub billed: Money,
    pub metered: Money,
    /// Some provider's bill is final that day.
    pub comparable: bool,
    /// The providers whose bill is not final that day.
    pub lag: Vec<&'static str>,
}

impl DayPoint {
    /// Metered ÷ billed in percent; `None` on a lag day or with nothing billed.
    pub fn pct(&self) -> Option<Decimal> {
        if !self.comparable {
            return None;
        }
        percent(
            i128::from(self.metered.nanos()),
            i128::from(self.billed.nanos()),
        )
    }
}

/// The days of the providers' series together, oldest first (`None` when no provider has a
/// series).
pub fn combine(providers: &[&ProviderReport]) -> Option<Vec<DayPoint>> {
    let mut out: Vec<DayPoint> = Vec::new();
    let mut any = false;
    for p in providers {
        let Some(days) = &p.days else { continue };
        any = true;
        for d in days {
            let at = match out.iter().position(|x| x.day == d.day) {
                Some(i) => i,
                None => {
                    out.push(DayPoint {
                        day: d.day,
                        billed: Money::ZERO,
                        metered: Money::ZERO,
                        comparable: false,
                        lag: Vec::new(),
                    });
                    out.len() - 1
                }
            };
            let point = &mut out[at];
            match d.status {
                DayStatus::Comparable => {
                    point.comparable = true;
                    point.billed += d.billed_cost;
                    point.metered += d.metered_cost;
                }
                DayStatus::Lag => point.lag.push(p.provider_name),
            }
        }
    }
    out.sort_by_key(|p| p.day);
    any.then_some(out)
}

#[derive(Debug)]
pub struct CoverageBar {
    pub x: String,
    pub y: String,
    pub width: String,
    pub height: String,
    /// `cov-bar`, `cov-over` (above 100 %), `cov-lag` or `cov-na`.
    pub class: &'static str,
    pub title: String,
    /// "lag" written on a lag bar when there is room.
    pub label: Option<(String, String)>,
}

#[derive(Template, Debug)]
#[template(path = "chart_coverage_days.svg", escape = "html")]
pub struct CoverageDays {
    pub title: String,
    pub bars: Vec<CoverageBar>,
    pub labels: Vec<AxisLabel>,
    pub ticks: Vec<AxisLabel>,
    pub gridlines: Vec<String>,
    /// Where the dashed 100 % line runs.
    pub hundred_y: String,
    pub empty: bool,
}

const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 220.0;
const LEFT: f64 = 56.0;
const BOTTOM: f64 = 28.0;
const TOP: f64 = 10.0;

/// The axis top in percent: 100, or the highest day rounded up to a multiple of 20.
fn axis_top(points: &[DayPoint]) -> i64 {
    let highest = points
        .iter()
        .filter_map(DayPoint::pct)
        .filter_map(|p| p.ceil().to_i64())
        .max()
        .unwrap_or(0);
    100.max((highest + 19) / 20 * 20)
}

/// The chart of `points` (one per day of the period).
pub fn coverage_days(title: &str, points: &[DayPoint]) -> CoverageDays {
    let top = axis_top(points);
    let plot = HEIGHT - BOTTOM - TOP;
    let slot = (WIDTH - LEFT - 8.0) / points.len().max(1) as f64;
    let width = (slot * 0.7).clamp(1.0, 28.0);
    let scale = |pct: f64| (pct / top as f64 * plot).clamp(0.0, plot);
    let label_every = points.len().div_ceil(8).max(1);
    let mut bars = Vec::new();
    let mut labels = Vec::new();
    for (index, point) in points.iter().enumerate() {
        let center = LEFT + slot * (index as f64 + 0.5);
        let x = format!("{:.1}", center - width / 2.0);
        let lag_note = if point.lag.is_empty() {
            String::new()
        } else {
            format!("; billing lag: {}", point.lag.join(", "))
        };
        let bar = if !point.comparable {
            CoverageBar {
                x,
                y: format!("{TOP:.1}"),
                width: format!("{width:.1}"),
                height: format!("{plot:.1}"),
                class: "cov-lag",
                title: format!(
                    "{}: lag — the bill is not final yet ({})",
                    point.day,
                    point.lag.join(", ")
                ),
                label: (slot >= 16.0)
                    .then(|| (format!("{center:.1}"), format!("{:.1}", TOP + 14.0))),
            }
        } else if let Some(pct) = point.pct() {
            let height = scale(pct.to_f64().unwrap_or(0.0)).max(1.0);
            CoverageBar {
                x,
                y: format!("{:.1}", TOP + plot - height),
                width: format!("{width:.1}"),
                height: format!("{height:.1}"),
                class: if pct > Decimal::ONE_HUNDRED {
                    "cov-over"
                } else {
                    "cov-bar"
                },
                title: format!(
                    "{}: {pct}% — metered {} of billed {}{lag_note}",
                    point.day,
                    format::money(point.metered),
                    format::money(point.billed)
                ),
                label: None,
            }
        } else {
            CoverageBar {
                x,
                y: format!("{:.1}", TOP + plot - 2.0),
                width: format!("{width:.1}"),
                height: "2.0".to_owned(),
                class: "cov-na",
                title: format!(
                    "{}: N/A — nothing billed (metered {}){lag_note}",
                    point.day,
                    format::money(point.metered)
                ),
                label: None,
            }
        };
        bars.push(bar);
        if index % label_every == 0 {
            labels.push(AxisLabel {
                x: format!("{center:.1}"),
                y: format!("{:.1}", HEIGHT - BOTTOM + 16.0),
                text: short_day(point.day),
            });
        }
    }
    let (ticks, gridlines) = percent_axis(top, TOP, plot, LEFT);
    CoverageDays {
        title: title.to_owned(),
        empty: points.iter().all(|p| p.pct().is_none() && p.comparable),
        bars,
        labels,
        ticks,
        gridlines,
        hundred_y: format!("{:.1}", TOP + plot - scale(100.0)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(day: &str, billed: &str, metered: &str, lag: &[&'static str]) -> DayPoint {
        DayPoint {
            day: day.parse().unwrap(),
            billed: Money::parse_units(billed).unwrap(),
            metered: Money::parse_units(metered).unwrap(),
            comparable: billed != "lag",
            lag: lag.to_vec(),
        }
    }

    #[test]
    fn lag_days_are_drawn_as_lag_never_as_zero() {
        let points = [
            point("2026-11-29", "0", "0", &[]),
            point("2026-11-30", "23.00", "18.20", &[]),
            point("2026-12-01", "10.00", "15.00", &["Vertex AI"]),
            DayPoint {
                comparable: false,
                ..point("2026-12-04", "0", "0", &["OpenAI"])
            },
        ];
        let chart = coverage_days("Coverage per day", &points);
        // 150 % is the highest day: the axis runs to 160 %.
        assert_eq!(chart.ticks.last().unwrap().text, "160%");
        let plot = HEIGHT - BOTTOM - TOP;
        let classes: Vec<&str> = chart.bars.iter().map(|b| b.class).collect();
        assert_eq!(classes, ["cov-na", "cov-bar", "cov-over", "cov-lag"]);
        assert_eq!(chart.bars[1].height, format!("{:.1}", 79.1 / 160.0 * plot));
        assert_eq!(
            chart.bars[1].title,
            "2026-11-30: 79.1% — metered $18.20 of billed $23.00"
        );
        assert!(chart.bars[2].title.ends_with("; billing lag: Vertex AI"));
        assert_eq!(chart.bars[3].height, format!("{plot:.1}"));
        assert_eq!(
            chart.bars[3].title,
            "2026-12-04: lag — the bill is not final yet (OpenAI)"
        );
        assert!(chart.bars[3].label.is_some());
        assert_eq!(
            chart.hundred_y,
            format!("{:.1}", TOP + plot - 100.0 / 160.0 * plot)
        );
        let svg = chart.render().unwrap();
        assert!(svg.contains(">lag</text>"), "{svg}");
        assert!(!svg.contains(">0%</title>"), "{svg}");
        assert!(!chart.empty);
    }

    #[test]
    fn the_axis_tops_at_100_percent_at_least() {
        assert_eq!(axis_top(&[point("2026-11-30", "10", "5", &[])]), 100);
        assert_eq!(axis_top(&[]), 100);
        assert_eq!(axis_top(&[point("2026-11-30", "10", "12.1", &[])]), 140);
    }
}
