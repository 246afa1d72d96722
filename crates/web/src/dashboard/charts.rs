//! Charts drawn on the server as SVG: a donut for how cost divides, grouped bars for current
//! vs previous period, horizontal bars for a ranking (cost by model), the coverage waterfall
//! (`waterfall`) and coverage per day (`coverage_days`). Geometry is computed here (floats are fine for pixels, never for money);
//! the markup comes from templates, so every label is escaped, and each shape has a `<title>`
//! tooltip.

pub mod coverage_days;
pub mod stacked;
pub mod waterfall;

use askama::Template;
use spendlens_domain::Money;

use crate::dashboard::format;

/// Colours available to segments (`s1`…`s7` in the stylesheet); the last is "Other".
pub(crate) const PALETTE: usize = 7;

/// One labelled amount.
#[derive(Clone, Debug)]
pub struct Slice {
    pub label: String,
    pub value: Money,
    /// Where clicking the slice goes (the page filtered to it).
    pub href: Option<String>,
}

/// A drawn donut segment.
#[derive(Debug)]
pub struct Segment {
    pub path: String,
    pub class: String,
    pub title: String,
    pub label: String,
    pub share: String,
    pub href: Option<String>,
}

#[derive(Template, Debug)]
#[template(path = "chart_donut.svg", escape = "html")]
pub struct Donut {
    pub title: String,
    pub segments: Vec<Segment>,
    pub total: String,
    pub empty: bool,
}

/// The top slices, the rest summed as "Other"; negative amounts (refunds) are left out of the
/// drawing (a donut cannot show them) but stay in the table.
pub fn donut(title: &str, mut slices: Vec<Slice>, top: usize) -> Donut {
    slices.retain(|s| s.value.nanos() > 0);
    slices.sort_by(|a, b| b.value.cmp(&a.value).then_with(|| a.label.cmp(&b.label)));
    if slices.len() > top {
        let rest: Money = slices[top..].iter().map(|s| s.value).sum();
        let others = slices.len() - top;
        slices.truncate(top);
        slices.push(Slice {
            label: format!("Other ({others})"),
            value: rest,
            href: None,
        });
    }
    let total: Money = slices.iter().map(|s| s.value).sum();
    let angles = angles(&slices.iter().map(|s| s.value.nanos()).collect::<Vec<_>>());
    let mut start = 0.0f64;
    let segments = slices
        .iter()
        .zip(angles)
        .enumerate()
        .map(|(index, (slice, sweep))| {
            let path = arc_path(start, sweep);
            start += sweep;
            let pct = crate::dashboard::percent(slice.value, total);
            Segment {
                path,
                class: format!("s{}", (index % PALETTE) + 1),
                title: format!("{}: {} ({})", slice.label, format::money(slice.value), pct),
                label: slice.label.clone(),
                share: pct,
                href: slice.href.clone(),
            }
        })
        .collect::<Vec<_>>();
    Donut {
        title: title.to_owned(),
        empty: segments.is_empty(),
        segments,
        total: format::money(total),
    }
}

/// Sweep angles in degrees, proportional to the values, summing to 360 (0 when all are 0).
pub fn angles(values: &[i64]) -> Vec<f64> {
    let total: f64 = values.iter().map(|v| (*v).max(0) as f64).sum();
    if total <= 0.0 {
        return vec![0.0; values.len()];
    }
    values
        .iter()
        .map(|v| (*v).max(0) as f64 / total * 360.0)
        .collect()
}

const CENTER: f64 = 100.0;
const OUTER: f64 = 92.0;
const INNER: f64 = 56.0;

fn point(radius: f64, degrees: f64) -> (f64, f64) {
    let radians = (degrees - 90.0).to_radians();
    (
        CENTER + radius * radians.cos(),
        CENTER + radius * radians.sin(),
    )
}

/// The ring segment from `start` sweeping `sweep` degrees. A full ring is two half rings (an
/// SVG arc cannot end where it starts).
fn arc_path(start: f64, sweep: f64) -> String {
    if sweep >= 359.999 {
        return format!("{} {}", arc_path(0.0, 180.0), arc_path(180.0, 180.0));
    }
    let end = start + sweep;
    let large = i32::from(sweep > 180.0);
    let (x0, y0) = point(OUTER, start);
    let (x1, y1) = point(OUTER, end);
    let (x2, y2) = point(INNER, end);
    let (x3, y3) = point(INNER, start);
    format!(
        "M{x0:.2} {y0:.2}A{OUTER} {OUTER} 0 {large} 1 {x1:.2} {y1:.2}L{x2:.2} {y2:.2}A{INNER} {INNER} 0 {large} 0 {x3:.2} {y3:.2}Z"
    )
}

/// One group of the grouped bar chart.
#[derive(Clone, Debug)]
pub struct Pair {
    pub label: String,
    pub current: Money,
    pub previous: Money,
}

#[derive(Debug)]
pub struct Bar {
    pub x: String,
    pub y: String,
    pub width: String,
    pub height: String,
    pub class: &'static str,
    pub title: String,
}

#[derive(Debug)]
pub struct AxisLabel {
    pub x: String,
    pub y: String,
    pub text: String,
}

#[derive(Template, Debug)]
#[template(path = "chart_bars.svg", escape = "html")]
pub struct Bars {
    pub title: String,
    pub bars: Vec<Bar>,
    pub labels: Vec<AxisLabel>,
    pub ticks: Vec<AxisLabel>,
    pub gridlines: Vec<String>,
    pub empty: bool,
}

const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 250.0;
const LEFT: f64 = 64.0;
const BOTTOM: f64 = 40.0;
const TOP: f64 = 12.0;

/// The money axis of a bar chart whose tallest bar is `max` nano-dollars, drawn `plot` pixels
/// tall from `top` down: five ticks from zero to `max` (labels right-aligned left of `left`)
/// and a gridline at each.
pub(crate) fn money_axis(
    max: i64,
    top: f64,
    plot: f64,
    left: f64,
) -> (Vec<AxisLabel>, Vec<String>) {
    axis(max, top, plot, left, |v| {
        format::money_compact(Money::from_nanos(v))
    })
}

/// The percent axis of a bar chart whose top is `max` percent (a multiple of 4 keeps the
/// ticks whole), drawn like [`money_axis`].
pub(crate) fn percent_axis(
    max: i64,
    top: f64,
    plot: f64,
    left: f64,
) -> (Vec<AxisLabel>, Vec<String>) {
    axis(max, top, plot, left, |v| format!("{v}%"))
}

/// Five ticks from zero to `max` (in the axis's own unit, written by `label`), each with its
/// gridline.
fn axis(
    max: i64,
    top: f64,
    plot: f64,
    left: f64,
    label: impl Fn(i64) -> String,
) -> (Vec<AxisLabel>, Vec<String>) {
    (0..=4)
        .map(|step| {
            let value = max / 4 * step;
            let height = if max == 0 {
                0.0
            } else {
                value.max(0) as f64 / max as f64 * plot
            };
            let y = top + plot - height;
            let tick = AxisLabel {
                x: format!("{:.1}", left - 6.0),
                y: format!("{:.1}", y + 4.0),
                text: label(value),
            };
            (tick, format!("{y:.1}"))
        })
        .unzip()
}

/// A day as an axis label: `3 Nov`.
pub(crate) fn short_day(day: spendlens_domain::Day) -> String {
    let date = day.date();
    let month = date.month().to_string();
    format!("{} {}", date.day(), &month[..3.min(month.len())])
}

/// Current (dark) and previous (light) period side by side for each group.
pub fn bars(title: &str, pairs: &[Pair], current_label: &str, previous_label: &str) -> Bars {
    let max = pairs
        .iter()
        .flat_map(|p| [p.current.nanos(), p.previous.nanos()])
        .max()
        .unwrap_or(0)
        .max(0);
    let plot_height = HEIGHT - BOTTOM - TOP;
    let group_width = if pairs.is_empty() {
        0.0
    } else {
        (WIDTH - LEFT - 8.0) / pairs.len() as f64
    };
    let bar_width = (group_width * 0.36).min(34.0);
    let scale = |value: i64| -> f64 {
        if max == 0 {
            0.0
        } else {
            value.max(0) as f64 / max as f64 * plot_height
        }
    };
    let mut bars = Vec::new();
    let mut labels = Vec::new();
    for (index, pair) in pairs.iter().enumerate() {
        let center = LEFT + group_width * (index as f64 + 0.5);
        for (offset, value, class, period) in [
            (-bar_width - 1.0, pair.current, "bar-current", current_label),
            (1.0, pair.previous, "bar-previous", previous_label),
        ] {
            let height = scale(value.nanos());
            bars.push(Bar {
                x: format!("{:.1}", center + offset),
                y: format!("{:.1}", TOP + plot_height - height),
                width: format!("{bar_width:.1}"),
                height: format!("{height:.1}"),
                class,
                title: format!("{}: {} ({period})", pair.label, format::money(value)),
            });
        }
        let mut text: String = pair.label.chars().take(14).collect();
        if pair.label.chars().count() > 14 {
            text.push('…');
        }
        labels.push(AxisLabel {
            x: format!("{center:.1}"),
            y: format!("{:.1}", HEIGHT - BOTTOM + 16.0),
            text,
        });
    }
    let (ticks, gridlines) = money_axis(max, TOP, plot_height, LEFT);
    Bars {
        title: title.to_owned(),
        empty: pairs.is_empty() || max == 0,
        bars,
        labels,
        ticks,
        gridlines,
    }
}

/// A drawn horizontal bar: label, bar and amount on one row.
#[derive(Debug)]
pub struct HBar {
    pub label: String,
    pub y: String,
    pub text_y: String,
    pub width: String,
    pub value_x: String,
    pub value: String,
    pub class: String,
    pub title: String,
}

#[derive(Template, Debug)]
#[template(path = "chart_hbars.svg", escape = "html")]
pub struct HBars {
    pub title: String,
    pub height: String,
    pub rows: Vec<HBar>,
    pub empty: bool,
}

const HBAR_LABEL: f64 = 170.0;
const HBAR_ROW: f64 = 26.0;
const HBAR_MAX: f64 = 360.0;

/// One bar per slice, longest first, the top ones and the rest as "Other"; the amount is
/// written by `label` (bars whose amount is not positive are left out of the drawing).
pub fn hbars(title: &str, mut slices: Vec<Slice>, top: usize, label: fn(Money) -> String) -> HBars {
    slices.retain(|s| s.value.nanos() > 0);
    slices.sort_by(|a, b| b.value.cmp(&a.value).then_with(|| a.label.cmp(&b.label)));
    if slices.len() > top {
        let rest: Money = slices[top..].iter().map(|s| s.value).sum();
        let others = slices.len() - top;
        slices.truncate(top);
        slices.push(Slice {
            label: format!("Other ({others})"),
            value: rest,
            href: None,
        });
    }
    let max = slices.iter().map(|s| s.value.nanos()).max().unwrap_or(0);
    let rows = slices
        .iter()
        .enumerate()
        .map(|(index, slice)| {
            let y = 8.0 + HBAR_ROW * index as f64;
            let width = if max > 0 {
                (slice.value.nanos() as f64 / max as f64 * HBAR_MAX).max(1.0)
            } else {
                0.0
            };
            let mut text: String = slice.label.chars().take(24).collect();
            if slice.label.chars().count() > 24 {
                text.push('…');
            }
            HBar {
                label: text,
                y: format!("{y:.1}"),
                text_y: format!("{:.1}", y + 13.0),
                width: format!("{width:.1}"),
                value_x: format!("{:.1}", HBAR_LABEL + 8.0 + width + 6.0),
                value: label(slice.value),
                class: format!("s{}", (index % PALETTE) + 1),
                title: format!("{}: {}", slice.label, label(slice.value)),
            }
        })
        .collect::<Vec<_>>();
    HBars {
        title: title.to_owned(),
        height: format!("{:.0}", 16.0 + HBAR_ROW * rows.len().max(1) as f64),
        empty: rows.is_empty(),
        rows,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_single_slice_is_a_full_ring() {
        let chart = donut(
            "t",
            vec![Slice {
                label: "A".into(),
                value: Money::from_nanos(5),
                href: None,
            }],
            5,
        );
        assert_eq!(chart.segments.len(), 1);
        assert_eq!(chart.segments[0].path.matches('M').count(), 2);
    }

    #[test]
    fn no_spend_draws_an_empty_chart() {
        assert!(donut("t", vec![], 5).empty);
        assert!(bars("t", &[], "now", "before").empty);
        let zero = Pair {
            label: "x".into(),
            current: Money::ZERO,
            previous: Money::ZERO,
        };
        assert!(bars("t", &[zero], "now", "before").empty);
    }

    #[test]
    fn labels_are_escaped_in_the_svg() {
        let chart = donut(
            "t",
            vec![Slice {
                label: "<script>alert(1)</script>".into(),
                value: Money::from_nanos(5),
                href: None,
            }],
            5,
        );
        let svg = chart.render().unwrap();
        assert!(!svg.contains("<script>"), "{svg}");
        assert!(
            svg.contains("&lt;script&gt;") || svg.contains("&#60;script&#62;"),
            "{svg}"
        );
    }

    #[test]
    fn small_slices_become_other() {
        let slices = (1..=8)
            .map(|i| Slice {
                label: format!("s{i}"),
                value: Money::from_nanos(i),
                href: None,
            })
            .collect();
        let chart = donut("t", slices, 5);
        assert_eq!(chart.segments.len(), 6);
        assert_eq!(chart.segments[5].label, "Other (3)");
    }

    #[test]
    fn horizontal_bars_are_longest_first_and_escape_labels() {
        let slices = ["a", "<b>", "c"]
            .iter()
            .zip([5, 50, 0])
            .map(|(label, nanos)| Slice {
                label: (*label).to_owned(),
                value: Money::from_nanos(nanos),
                href: None,
            })
            .collect();
        let chart = hbars("t", slices, 5, format::money);
        assert_eq!(chart.rows.len(), 2, "nothing drawn for zero");
        assert_eq!(chart.rows[0].label, "<b>");
        assert_eq!(chart.rows[0].width, "360.0");
        let svg = chart.render().unwrap();
        assert!(!svg.contains("<b>"), "{svg}");
        assert!(hbars("t", vec![], 5, format::money).empty);
    }

    proptest! {
        #[test]
        fn angles_sum_to_a_full_turn(values in prop::collection::vec(0i64..1_000_000_000_000, 1..20)) {
            let sum: f64 = angles(&values).iter().sum();
            if values.iter().all(|v| *v == 0) {
                prop_assert_eq!(sum, 0.0);
            } else {
                prop_assert!((sum - 360.0).abs() < 1e-6);
            }
        }
    }
}
