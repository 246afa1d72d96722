//! How numbers read on the page: money in dollars and cents (each amount rounded on its own,
//! the same everywhere; a total row states any rounding difference),
//! rates with enough digits to matter, counts with separators, trends with arrows, and `N/A`
//! where a provider does not say.

use rust_decimal::Decimal;
use spendlens_domain::display::{format_money, format_rate, group_thousands};
use spendlens_domain::{Money, Trend};

/// `$1,234.57`.
pub fn money(value: Money) -> String {
    format_money(value.round_to_cents(), "USD")
}

/// The note a total row carries when its rows, each rounded to the cent on its own, do not
/// add up to the rounded total: amounts stay honest, the difference is stated.
pub fn rounding_note(rows: &[Money], total: Money) -> Option<String> {
    let shown: i64 = rows.iter().map(|m| m.round_to_cents()).sum();
    let difference = total.round_to_cents() - shown;
    (difference != 0).then(|| {
        format!(
            "rows add to {} ({}¢ rounding)",
            format_money(shown, "USD"),
            difference.abs()
        )
    })
}

/// A rate (per 1M tokens, per image), or `N/A` when there is none.
pub fn rate(value: Option<Money>) -> String {
    value.map_or_else(|| "N/A".to_owned(), format_rate)
}

/// Money compactly for chart axes: `$11K`, `$2.5K`, `$1.2M`, `$950` (whole dollars, integer
/// arithmetic: one decimal below 10K and for millions).
pub fn money_compact(value: Money) -> String {
    let dollars = value.round_to_cents() / 100;
    let sign = if dollars < 0 { "-" } else { "" };
    let abs = dollars.unsigned_abs();
    // `units` tenths of a thousand or million, rounded half up.
    let tenths = |divisor: u64| (abs * 10 + divisor / 2) / divisor;
    match abs {
        n if n >= 1_000_000 => {
            let t = tenths(1_000_000);
            format!("{sign}${}.{}M", t / 10, t % 10)
        }
        n if n >= 10_000 => format!("{sign}${}K", (abs + 500) / 1000),
        n if n >= 1_000 => {
            let t = tenths(1_000);
            format!("{sign}${}.{}K", t / 10, t % 10)
        }
        _ => format!("{sign}${abs}"),
    }
}

/// `12,345,678`.
pub fn count(value: i64) -> String {
    group_thousands(value)
}

/// A non-token quantity with separators: `4,216`, `1,234.5`.
pub fn quantity(value: spendlens_domain::Quantity) -> String {
    let decimal = value.to_decimal();
    let whole = decimal.trunc();
    let fraction = (decimal - whole).abs().normalize();
    let whole_text =
        count(i64::try_from(whole.mantissa() / 10i128.pow(whole.scale())).unwrap_or(0));
    if fraction.is_zero() {
        whole_text
    } else {
        let fraction_text = fraction.to_string();
        format!("{whole_text}{}", fraction_text.trim_start_matches('0'))
    }
}

/// A non-token quantity, compactly from 10,000 on (`598.4K`), else with its decimals.
pub fn compact_quantity(value: spendlens_domain::Quantity) -> String {
    let whole = value.micros() / 1_000_000;
    if whole.unsigned_abs() >= 10_000 {
        compact(whole)
    } else {
        quantity(value)
    }
}

/// Large token counts compactly: `1.2B`, `345.6M`, `12.3K`.
pub fn compact(value: i64) -> String {
    let v = value as f64; // display only; never money
    let (scaled, suffix) = match value.unsigned_abs() {
        n if n >= 1_000_000_000 => (v / 1e9, "B"),
        n if n >= 1_000_000 => (v / 1e6, "M"),
        n if n >= 10_000 => (v / 1e3, "K"),
        _ => return count(value),
    };
    format!("{scaled:.1}{suffix}")
}

/// A trend for a table cell: (text, CSS class, accessible label).
pub fn trend(trend: Trend, pct: Option<Decimal>) -> (String, &'static str, String) {
    match (trend, pct) {
        (Trend::New, _) => ("new".to_owned(), "new", "new this period".to_owned()),
        (Trend::None, _) => ("—".to_owned(), "na", "no spend in either period".to_owned()),
        (Trend::NoHistory, _) => (
            "no comparable history".to_owned(),
            "na",
            "no comparable history".to_owned(),
        ),
        (Trend::Up, Some(p)) => (format!("↑ {p}%"), "up", format!("up {p} percent")),
        (Trend::Down, Some(p)) => (
            format!("↓ {}%", p.abs()),
            "down",
            format!("down {} percent", p.abs()),
        ),
        (_, Some(p)) => (format!("{p}%"), "na", "unchanged".to_owned()),
        (_, None) => ("—".to_owned(), "na", "unchanged".to_owned()),
    }
}

/// A percentage share, `12.3%`.
pub fn share(pct: Option<Decimal>) -> String {
    pct.map_or_else(|| "—".to_owned(), |p| format!("{p}%"))
}

/// An instant in UTC, minutes precision.
pub fn instant(at: Option<time::OffsetDateTime>) -> String {
    match at {
        None => "never".to_owned(),
        Some(at) => {
            let at = at.to_offset(time::UtcOffset::UTC);
            format!(
                "{:04}-{:02}-{:02} {:02}:{:02} UTC",
                at.year(),
                at.month() as u8,
                at.day(),
                at.hour(),
                at.minute()
            )
        }
    }
}

/// A day range as `2026-10-24 – 2026-11-22`.
pub fn range(range: spendlens_domain::DayRange) -> String {
    format!("{} – {}", range.from(), range.to())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_as_a_finance_person_expects() {
        assert_eq!(money(Money::parse_units("1234.567").unwrap()), "$1,234.57");
        assert_eq!(count(1234567), "1,234,567");
        assert_eq!(compact(1_234_567_890), "1.2B");
        assert_eq!(
            rate(Some(Money::parse_units("0.000015").unwrap())),
            "$0.000015"
        );
        assert_eq!(rate(Some(Money::parse_units("2.5").unwrap())), "$2.50");
        assert_eq!(rate(Some(Money::parse_units("5.73841").unwrap())), "$5.738");
        assert_eq!(rate(Some(Money::parse_units("12.691").unwrap())), "$12.69");
        assert_eq!(
            rate(Some(Money::parse_units("0.93711").unwrap())),
            "$0.9371"
        );
        assert_eq!(rate(Some(Money::parse_units("0.02").unwrap())), "$0.02");
        assert_eq!(
            money_compact(Money::parse_units("10918.09").unwrap()),
            "$11K"
        );
        assert_eq!(
            money_compact(Money::parse_units("1234567").unwrap()),
            "$1.2M"
        );
        assert_eq!(
            money_compact(Money::parse_units("2461.34").unwrap()),
            "$2.5K"
        );
        assert_eq!(rate(None), "N/A");
        assert_eq!(
            quantity(spendlens_domain::Quantity::from_whole(830_814)),
            "830,814"
        );
        assert_eq!(
            quantity(spendlens_domain::Quantity::from_micros(1_234_500_000)),
            "1,234.5"
        );
    }
}
