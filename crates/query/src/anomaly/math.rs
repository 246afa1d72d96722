//! The anomaly test of one scope, pure: a day's spend against the same weekday of the trailing
//! weeks, the deviation in percent, and why — the change split into volume, price and mix
//! over the scope's items (the keys, models or customers inside it), exactly.
//!
//! # The split
//! Each item has a cost and a volume (its tokens: input, cache and output) on the
//! day and summed over the `k` baseline days. Its baseline cost is that sum ÷ k, rounded to the
//! nano-dollar, and the scope's baseline is the sum of its items' baselines.
//! - **price**: per item, its cost now minus its volume now at its baseline cost per unit
//!   (`b_i = q1 × C0sum ÷ Q0sum`, rounded once). An item with no baseline volume (new, or
//!   without a volume measure) has no baseline price: `b_i` is its cost now, price 0.
//! - **volume**: the scope's volume change at its baseline average cost per unit:
//!   `(k·Q1 − Q0sum) × C0 ÷ Q0sum` (when the scope had no baseline volume, all of Σb − C0).
//! - **mix**: the rest of Σb − C0 — what moving volume between items of different unit
//!   costs (and new or volume-less items) changed.
//!
//! volume + price + mix = current − baseline to the nano-dollar, by construction.
//! Imports `domain` only.

use rust_decimal::Decimal;
use serde::Serialize;
use spendlens_domain::Money;
use spendlens_domain::trend::trend_pct;

/// One item of a scope on the evaluated day and over its baseline days.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ItemInput {
    pub label: String,
    pub current_cost: Money,
    pub current_volume: i64,
    /// Summed over the baseline days.
    pub baseline_cost_sum: Money,
    pub baseline_volume_sum: i64,
}

/// One item's part of the change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Driver {
    pub label: String,
    pub baseline: Money,
    pub current: Money,
    pub change: Money,
    /// The part of its change from its own cost per unit.
    pub price: Money,
}

/// A scope's day against its baseline, explained.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Explanation {
    pub baseline: Money,
    pub current: Money,
    pub change: Money,
    pub deviation_pct: Option<Decimal>,
    pub volume: Money,
    pub price: Money,
    pub mix: Money,
    /// Items by the size of their change, largest first.
    pub drivers: Vec<Driver>,
}

/// `num ÷ den` rounded half to even (`den` > 0).
fn div_round(num: i128, den: i128) -> i128 {
    let q = num.div_euclid(den);
    let r = num.rem_euclid(den);
    match (2 * r).cmp(&den) {
        std::cmp::Ordering::Less => q,
        std::cmp::Ordering::Greater => q + 1,
        std::cmp::Ordering::Equal => q + (q & 1),
    }
}

fn money(n: i128) -> Money {
    Money::from_nanos(i64::try_from(n).unwrap_or(if n < 0 { i64::MIN } else { i64::MAX }))
}

/// The explained change of a scope over `weeks` baseline days (see the module docs).
/// `weeks` ≥ 1.
pub fn explain(items: &[ItemInput], weeks: i64) -> Explanation {
    let k = i128::from(weeks.max(1));
    let (mut c0_total, mut c1_total, mut b_total, mut price_total) = (0i128, 0i128, 0i128, 0i128);
    let (mut q1_total, mut q0_sum_total) = (0i128, 0i128);
    let mut drivers = Vec::with_capacity(items.len());
    for item in items {
        let c1 = i128::from(item.current_cost.nanos());
        let c0_sum = i128::from(item.baseline_cost_sum.nanos());
        let (q1, q0_sum) = (
            i128::from(item.current_volume.max(0)),
            i128::from(item.baseline_volume_sum.max(0)),
        );
        let c0 = div_round(c0_sum, k);
        let b = if q0_sum > 0 {
            div_round(q1 * c0_sum, q0_sum)
        } else {
            c1
        };
        c0_total += c0;
        c1_total += c1;
        b_total += b;
        price_total += c1 - b;
        q1_total += q1;
        q0_sum_total += q0_sum;
        drivers.push(Driver {
            label: item.label.clone(),
            baseline: money(c0),
            current: money(c1),
            change: money(c1 - c0),
            price: money(c1 - b),
        });
    }
    let volume = if q0_sum_total > 0 {
        div_round((k * q1_total - q0_sum_total) * c0_total, q0_sum_total)
    } else {
        b_total - c0_total
    };
    let mix = b_total - c0_total - volume;
    drivers.sort_by(|a, b| {
        b.change
            .abs()
            .cmp(&a.change.abs())
            .then_with(|| a.label.cmp(&b.label))
    });
    let (baseline, current) = (money(c0_total), money(c1_total));
    Explanation {
        baseline,
        current,
        change: money(c1_total - c0_total),
        deviation_pct: trend_pct(current, baseline).map(|mut p| {
            p.rescale(1);
            p
        }),
        volume: money(volume),
        price: money(price_total),
        mix: money(mix),
        drivers,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn usd(text: &str) -> Money {
        Money::parse_units(text).unwrap()
    }

    fn item(label: &str, now: (&str, i64), base: (&str, i64)) -> ItemInput {
        ItemInput {
            label: label.to_owned(),
            current_cost: usd(now.0),
            current_volume: now.1,
            baseline_cost_sum: usd(base.0),
            baseline_volume_sum: base.1,
        }
    }

    #[test]
    fn more_calls_at_the_same_prices_are_volume() {
        // Four baseline weeks of 100 calls at $0.01 → $1/day; now 300 calls → $3.
        let e = explain(&[item("gpt-4o", ("3", 300), ("4", 400))], 4);
        assert_eq!(e.baseline, usd("1"));
        assert_eq!(e.change, usd("2"));
        assert_eq!(e.deviation_pct, Some(Decimal::new(2000, 1)));
        assert_eq!((e.volume, e.price, e.mix), (usd("2"), usd("0"), usd("0")));
    }

    #[test]
    fn a_dearer_model_taking_the_calls_is_mix_and_a_dearer_price_is_price() {
        // Baseline per day: mini 90 calls at $0.001, gpt-4o 10 calls at $0.01 → $0.19.
        // Now: mini 50 calls, gpt-4o 50 calls at $0.012 → $0.05 + $0.60 = $0.65.
        let e = explain(
            &[
                item("mini", ("0.05", 50), ("0.18", 180)),
                item("gpt-4o", ("0.6", 50), ("0.2", 20)),
            ],
            2,
        );
        assert_eq!(e.baseline, usd("0.19"));
        assert_eq!(e.current, usd("0.65"));
        assert_eq!(e.volume, usd("0")); // 100 calls both days
        assert_eq!(e.price, usd("0.1")); // 50 gpt-4o calls × $0.002 more
        assert_eq!(e.mix, usd("0.36")); // 40 calls moved from $0.001 to $0.01
        assert_eq!(e.volume + e.price + e.mix, e.change);
        assert_eq!(e.drivers[0].label, "gpt-4o");
        assert_eq!(e.drivers[0].change, usd("0.5"));
    }

    #[test]
    fn a_new_item_is_mix_and_a_scope_without_volume_is_all_volume() {
        let e = explain(
            &[
                item("old", ("1", 10), ("2", 20)),
                item("new", ("5", 10), ("0", 0)),
            ],
            2,
        );
        assert_eq!(e.change, usd("5"));
        assert_eq!(e.price, usd("0"));
        assert_eq!(e.volume + e.mix, usd("5"));
        let no_volume = explain(&[item("video", ("9", 0), ("6", 0))], 2);
        assert_eq!((no_volume.volume, no_volume.mix), (usd("6"), usd("0")));
        assert_eq!(no_volume.deviation_pct, Some(Decimal::new(2000, 1)));
    }

    fn any_item() -> impl Strategy<Value = ItemInput> {
        (
            0i64..1_000_000_000_000,
            0i64..10_000_000,
            0i64..4_000_000_000_000,
            0i64..40_000_000,
            "[a-d]",
        )
            .prop_map(|(c1, q1, c0, q0, label)| ItemInput {
                label,
                current_cost: Money::from_nanos(c1),
                current_volume: q1,
                baseline_cost_sum: Money::from_nanos(c0),
                baseline_volume_sum: q0,
            })
    }

    proptest! {
        #[test]
        fn volume_price_and_mix_add_up_to_the_change_exactly(
            items in proptest::collection::vec(any_item(), 0..8),
            weeks in 1i64..6,
        ) {
            let e = explain(&items, weeks);
            prop_assert_eq!(e.volume + e.price + e.mix, e.change);
            prop_assert_eq!(e.current - e.baseline, e.change);
            let drivers: Money = e.drivers.iter().map(|d| d.change).sum();
            prop_assert_eq!(drivers, e.change);
            let prices: Money = e.drivers.iter().map(|d| d.price).sum();
            prop_assert_eq!(prices, e.price);
        }

        #[test]
        fn the_same_day_again_explains_nothing(
            days in proptest::collection::vec((0i64..1_000_000_000_000, 1i64..10_000_000), 1..6),
            weeks in 1i64..6,
        ) {
            let items: Vec<ItemInput> = days.iter().enumerate().map(|(i, (c, q))| ItemInput {
                label: i.to_string(),
                current_cost: Money::from_nanos(*c),
                current_volume: *q,
                baseline_cost_sum: Money::from_nanos(c * weeks),
                baseline_volume_sum: q * weeks,
            }).collect();
            let e = explain(&items, weeks);
            prop_assert_eq!((e.change, e.volume, e.price, e.mix), (Money::ZERO, Money::ZERO, Money::ZERO, Money::ZERO));
        }

        #[test]
        fn scaling_every_item_is_pure_volume_and_repricing_is_pure_price(
            days in proptest::collection::vec((0i64..1_000_000_000_000, 1i64..10_000_000), 1..6),
            factor in 2i64..5,
            weeks in 1i64..6,
        ) {
            let scaled: Vec<ItemInput> = days.iter().enumerate().map(|(i, (c, q))| ItemInput {
                label: i.to_string(),
                current_cost: Money::from_nanos(c * factor),
                current_volume: q * factor,
                baseline_cost_sum: Money::from_nanos(c * weeks),
                baseline_volume_sum: q * weeks,
            }).collect();
            let e = explain(&scaled, weeks);
            prop_assert_eq!((e.price, e.mix), (Money::ZERO, Money::ZERO));
            prop_assert_eq!(e.volume, e.change);
            let repriced: Vec<ItemInput> = days.iter().enumerate().map(|(i, (c, q))| ItemInput {
                label: i.to_string(),
                current_cost: Money::from_nanos(c * factor),
                current_volume: *q,
                baseline_cost_sum: Money::from_nanos(c * weeks),
                baseline_volume_sum: q * weeks,
            }).collect();
            let e = explain(&repriced, weeks);
            prop_assert_eq!((e.volume, e.mix), (Money::ZERO, Money::ZERO));
            prop_assert_eq!(e.price, e.change);
        }
    }
}
