//! Rounding for display so that shown rows add up to the shown total.
//!
//! Rows rounded to cents one by one can miss their rounded total by a cent or two, which a
//! finance reader notices. [`cents_adding_up`] rounds with the largest-remainder method instead.

use rust_decimal::Decimal;

use crate::money::{Money, NANOS_PER_UNIT};

/// Each row in whole cents, such that the cents sum to the total rounded to cents — when the
/// rows are the whole of the total. Otherwise each row is rounded on its own.
pub fn cents_adding_up(rows: &[Money], total: Money) -> Vec<i64> {
    let sum: Money = rows.iter().sum();
    if sum != total {
        return rows.iter().map(|row| row.round_to_cents()).collect();
    }
    let per_cent = NANOS_PER_UNIT / 100;
    let target = total.round_to_cents();
    let mut cents: Vec<i64> = rows
        .iter()
        .map(|row| row.nanos().div_euclid(per_cent))
        .collect();
    let mut left = target - cents.iter().sum::<i64>();
    let mut order: Vec<(i64, usize)> = rows
        .iter()
        .enumerate()
        .map(|(index, row)| (row.nanos().rem_euclid(per_cent), index))
        .collect();
    order.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let mut index = 0;
    while left > 0 && !order.is_empty() {
        cents[order[index % order.len()].1] += 1;
        left -= 1;
        index += 1;
    }
    while left < 0 && !order.is_empty() {
        let at = order[order.len() - 1 - (index % order.len())].1;
        cents[at] -= 1;
        left += 1;
        index += 1;
    }
    cents
}

/// A whole number with thousands separators: `12,345,678`.
pub fn group_thousands(value: i64) -> String {
    let sign = if value < 0 { "-" } else { "" };
    format!("{sign}{}", group_digits(value.unsigned_abs()))
}

fn group_digits(value: u64) -> String {
    let digits = value.to_string();
    let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    grouped
}

/// `1234567` cents as `12,345.67`.
pub fn format_cents(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let abs = cents.unsigned_abs();
    format!("{sign}{}.{:02}", group_digits(abs / 100), abs % 100)
}

/// A rate (per 1M tokens, per image) in dollars to four significant digits and at least two
/// decimals — `$12.69`, `$5.738`, `$0.9371`, `$0.000015` — so that small unit prices stay
/// readable where cents would show `$0.00`.
pub fn format_rate(value: Money) -> String {
    let decimal = value.to_decimal();
    let magnitude = decimal.abs();
    // Digits before the point minus one, or minus the zeros after it.
    let mut exponent: i32 = 0;
    let mut scaled = magnitude;
    if magnitude >= Decimal::ONE {
        while scaled >= Decimal::TEN {
            scaled /= Decimal::TEN;
            exponent += 1;
        }
    } else if !magnitude.is_zero() {
        while scaled < Decimal::ONE && exponent > -9 {
            scaled *= Decimal::TEN;
            exponent -= 1;
        }
    }
    let decimals = u32::try_from((3 - exponent).clamp(2, 9)).unwrap_or(2);
    let mut text = decimal.round_dp(decimals).normalize().to_string();
    match text.find('.') {
        None => text.push_str(".00"),
        Some(dot) if text.len() - dot - 1 < 2 => text.push('0'),
        _ => {}
    }
    match text.strip_prefix('-') {
        Some(rest) => format!("-${rest}"),
        None => format!("${text}"),
    }
}

/// Money as `$12,345.67` (USD) or `12,345.67 EUR`.
pub fn format_money(cents: i64, currency: &str) -> String {
    if currency.eq_ignore_ascii_case("USD") {
        let text = format_cents(cents);
        match text.strip_prefix('-') {
            Some(rest) => format!("-${rest}"),
            None => format!("${text}"),
        }
    } else {
        format!("{} {currency}", format_cents(cents))
    }
}

/// `first`, ended as a sentence (a full stop added unless it ends in `.`, `!` or `?`), then
/// `next`: "… region \"us-east-1\"}" + "The key was not changed." reads as two sentences.
pub fn then_sentence(first: &str, next: &str) -> String {
    let first = first.trim_end();
    if first.is_empty() {
        return next.to_owned();
    }
    let stop = if first.ends_with(['.', '!', '?']) {
        ""
    } else {
        "."
    };
    format!("{first}{stop} {next}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_message_is_ended_before_the_next_sentence() {
        assert_eq!(
            then_sentence("Refused (401)", "Not changed."),
            "Refused (401). Not changed."
        );
        assert_eq!(
            then_sentence("Refused.  ", "Not changed."),
            "Refused. Not changed."
        );
        assert_eq!(then_sentence("", "Not changed."), "Not changed.");
    }

    #[test]
    fn three_thirds_show_as_a_whole() {
        let third = Money::from_nanos(333_333_333);
        let rows = [third, third, Money::from_nanos(333_333_334)];
        let cents = cents_adding_up(&rows, Money::from_nanos(1_000_000_000));
        assert_eq!(cents.iter().sum::<i64>(), 100);
    }

    #[test]
    fn rates_keep_four_significant_digits() {
        let rate = |text: &str| format_rate(Money::parse_units(text).unwrap());
        assert_eq!(rate("2.5"), "$2.50");
        assert_eq!(rate("5.73841"), "$5.738");
        assert_eq!(rate("12.691"), "$12.69");
        assert_eq!(rate("0.93711"), "$0.9371");
        assert_eq!(rate("0.02"), "$0.02");
        assert_eq!(rate("0.000015"), "$0.000015");
        assert_eq!(rate("0"), "$0.00");
        assert_eq!(group_thousands(-1_234_567), "-1,234,567");
    }

    #[test]
    fn thousands_are_grouped() {
        assert_eq!(format_money(123_456_789, "USD"), "$1,234,567.89");
        assert_eq!(format_money(-5, "USD"), "-$0.05");
        assert_eq!(format_money(100, "EUR"), "1.00 EUR");
    }

    proptest! {
        #[test]
        fn shown_rows_add_up_to_the_shown_total(rows in prop::collection::vec(-10_000_000_000i64..10_000_000_000, 1..30)) {
            let rows: Vec<Money> = rows.into_iter().map(Money::from_nanos).collect();
            let total: Money = rows.iter().sum();
            let cents = cents_adding_up(&rows, total);
            prop_assert_eq!(cents.iter().sum::<i64>(), total.round_to_cents());
            for (row, shown) in rows.iter().zip(&cents) {
                prop_assert!((row.nanos() - shown * 10_000_000).abs() < 20_000_000);
            }
        }
    }
}
