//! The coverage waterfall, drawn on the server as SVG: the billed amount, each cause taking it
//! down (or, when negative, up) and the metered amount, as horizontal steps. Floats are for
//! pixels only; every label is exact money formatted once.

use askama::Template;
use spendlens_domain::Money;

use crate::dashboard::format;

/// One step: a label and an amount (the totals are drawn from zero, the causes float).
#[derive(Clone, Debug)]
pub struct Step {
    pub label: String,
    pub amount: Money,
}

#[derive(Debug)]
pub struct DrawnStep {
    pub label: String,
    pub x: String,
    pub y: String,
    pub text_y: String,
    pub width: String,
    pub value_x: String,
    pub anchor: &'static str,
    pub value: String,
    pub class: &'static str,
    pub title: String,
}

#[derive(Template, Debug)]
#[template(path = "chart_waterfall.svg", escape = "html")]
pub struct Waterfall {
    pub title: String,
    pub height: String,
    pub zero_x: String,
    pub axis_bottom: String,
    pub steps: Vec<DrawnStep>,
    pub connector: Option<String>,
}

const LEFT: f64 = 190.0;
const RIGHT: f64 = 560.0;
const ROW: f64 = 28.0;

/// Billed → each cause → metered. `billed − Σ causes = metered` is the caller's invariant; the
/// drawing follows the running amount from billed down to metered.
pub fn waterfall(title: &str, billed: Money, causes: &[Step], metered: Money) -> Waterfall {
    // The running amount before and after each cause.
    let mut running = billed.nanos() as f64;
    let mut spans = vec![(0.0, billed.nanos() as f64)];
    for cause in causes {
        let next = running - cause.amount.nanos() as f64;
        spans.push((running, next));
        running = next;
    }
    spans.push((0.0, metered.nanos() as f64));
    let low = spans.iter().flat_map(|s| [s.0, s.1]).fold(0.0f64, f64::min);
    let high = spans.iter().flat_map(|s| [s.0, s.1]).fold(0.0f64, f64::max);
    let range = (high - low).max(1.0);
    let x_of = |v: f64| LEFT + (v - low) / range * (RIGHT - LEFT);
    let labels = std::iter::once(("Billed".to_owned(), billed, "wf-total"))
        .chain(causes.iter().map(|c| {
            let class = if c.amount.is_negative() {
                "wf-up"
            } else {
                "wf-down"
            };
            (c.label.clone(), c.amount, class)
        }))
        .chain(std::iter::once(("Metered".to_owned(), metered, "wf-total")));
    let steps: Vec<DrawnStep> = spans
        .iter()
        .zip(labels)
        .enumerate()
        .map(|(index, (&(from, to), (label, amount, class)))| {
            let (a, b) = (x_of(from.min(to)), x_of(from.max(to)));
            let y = 6.0 + ROW * index as f64;
            let width = (b - a).max(1.0);
            let value = if class == "wf-total" {
                format::money(amount)
            } else {
                // A cause takes the bill down toward the meter: shown with its sign as a step.
                format::money(-amount)
            };
            DrawnStep {
                title: format!("{label}: {value}"),
                label,
                x: format!("{a:.1}"),
                y: format!("{y:.1}"),
                text_y: format!("{:.1}", y + 13.0),
                width: format!("{width:.1}"),
                value_x: format!("{:.1}", a + width + 6.0),
                anchor: "start",
                value,
                class,
            }
        })
        .collect();
    let bottom = 6.0 + ROW * steps.len() as f64;
    Waterfall {
        title: title.to_owned(),
        height: format!("{:.0}", bottom + 6.0),
        zero_x: format!("{:.1}", x_of(0.0)),
        axis_bottom: format!("{bottom:.1}"),
        connector: None,
        steps,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usd(text: &str) -> Money {
        Money::parse_units(text).unwrap()
    }

    #[test]
    fn steps_run_from_billed_to_metered() {
        let chart = waterfall(
            "t",
            usd("100"),
            &[
                Step {
                    label: "Unmetered keys".into(),
                    amount: usd("30"),
                },
                Step {
                    label: "Price drift".into(),
                    amount: usd("-10"),
                },
            ],
            usd("80"),
        );
        assert_eq!(chart.steps.len(), 4);
        // Billed spans the whole width; the first cause ends where the second starts.
        assert_eq!(chart.steps[0].x, "190.0");
        assert_eq!(chart.steps[0].width, "370.0");
        assert_eq!(chart.steps[1].class, "wf-down");
        assert_eq!(chart.steps[1].value, "-$30.00");
        assert_eq!(chart.steps[2].class, "wf-up");
        assert_eq!(chart.steps[2].value, "$10.00");
        assert_eq!(chart.steps[3].value, "$80.00");
        let svg = chart.render().unwrap();
        assert!(svg.contains("<title>Price drift: $10.00</title>"), "{svg}");
    }

    #[test]
    fn nothing_billed_or_metered_draws_without_dividing_by_zero() {
        let chart = waterfall("t", Money::ZERO, &[], Money::ZERO);
        assert!(chart.steps.iter().all(|s| !s.x.contains("NaN")));
    }
}
