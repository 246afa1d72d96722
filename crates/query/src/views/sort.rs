//! How every view sorts its rows: money, trends and work in their own units, with unknown
//! values never leading.

use std::cmp::Ordering;

use spendlens_domain::{Money, ProviderKind, Quantity, Trend, Unit};

use super::Metrics;

/// Trends sort by their percent, then "new", then "no comparable history", then rows with no
/// spend at all — in either direction, so rows without a real trend never lead.
pub(crate) fn compare_trend(a: &Metrics, b: &Metrics, descending: bool) -> Ordering {
    let rank = |m: &Metrics| match (m.trend, m.trend_pct) {
        (Trend::Up | Trend::Down | Trend::Flat, Some(_)) => 0,
        (Trend::New, _) => 1,
        (Trend::NoHistory, _) => 2,
        _ => 3,
    };
    rank(a).cmp(&rank(b)).then_with(|| {
        let order = compare_opt(&a.trend_pct, &b.trend_pct);
        if descending { order.reverse() } else { order }
    })
}

/// Requests sort by count; rows whose work is in the provider's own units (fal.ai images or
/// seconds, Runway credits) come after every count, grouped by unit (by its name, the first of
/// the row's units) and by quantity within a unit; unknown work (N/A) is last. In either
/// direction: a count is never compared with images or credits, and unknown never leads.
pub(crate) fn compare_work(a: &Metrics, b: &Metrics, descending: bool) -> Ordering {
    // (group, unit, quantity): 0 a request count (no work is 0 requests), 1 own units,
    // 2 unknown.
    fn key(m: &Metrics) -> (u8, Option<&Unit>, Quantity) {
        match (&m.usage, m.requests) {
            (None, Some(n)) => (0, None, Quantity::from_whole(n)),
            (None, None) => (2, None, Quantity::ZERO),
            (Some(work), _) => match work.first() {
                None => (0, None, Quantity::ZERO),
                Some(first) if first.unit == Unit::requests() => (0, None, first.quantity),
                Some(first) => (1, Some(&first.unit), first.quantity),
            },
        }
    }
    let ((group_a, unit_a, quantity_a), (group_b, unit_b, quantity_b)) = (key(a), key(b));
    group_a
        .cmp(&group_b)
        .then_with(|| unit_a.cmp(&unit_b))
        .then_with(|| {
            let order = quantity_a.cmp(&quantity_b);
            if descending { order.reverse() } else { order }
        })
}

/// Providers by the names people read, for sorting.
pub(crate) fn provider_names(providers: &[ProviderKind]) -> Vec<&'static str> {
    providers.iter().map(|p| p.display_name()).collect()
}

pub(crate) fn compare_money(a: Money, b: Money) -> Ordering {
    a.cmp(&b)
}

pub(crate) fn compare_opt<T: Ord>(a: &Option<T>, b: &Option<T>) -> Ordering {
    // Unknown sorts below every known value.
    match (a, b) {
        (Some(a), Some(b)) => a.cmp(b),
        (Some(_), None) => Ordering::Greater,
        (None, Some(_)) => Ordering::Less,
        (None, None) => Ordering::Equal,
    }
}

pub(crate) fn compare_metrics(column: &str, a: &Metrics, b: &Metrics) -> Option<Ordering> {
    Some(match column {
        "cost" | "share" => compare_money(a.cost, b.cost),
        "previous_cost" => compare_money(a.previous_cost, b.previous_cost),
        "net_cost" => compare_money(a.net_cost, b.net_cost),
        "credits" => compare_money(a.credits, b.credits),
        "trend" => compare_opt(&a.trend_pct, &b.trend_pct),
        "tokens" => a.total_tokens.cmp(&b.total_tokens),
        _ => return None,
    })
}

pub(crate) fn finish_sort<T: crate::table::Row>(
    rows: &mut [T],
    column: &str,
    descending: bool,
    compare: impl Fn(&T, &T) -> Ordering,
) {
    if column == "trend" {
        rows.sort_by(|a, b| compare_trend(a.metrics(), b.metrics(), descending));
        return;
    }
    if column == "requests" {
        rows.sort_by(|a, b| compare_work(a.metrics(), b.metrics(), descending));
        return;
    }
    rows.sort_by(|a, b| {
        let order = compare(a, b);
        if descending { order.reverse() } else { order }
    });
}
