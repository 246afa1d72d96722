//! Cost Explorer's number strings. Amounts are kept as integers (nano-dollars; micro-units of
//! usage) and written as Java's `BigDecimal.toString()` writes a value whose trailing zeros were
//! stripped: plain decimals (`"1.5"`, `"-0.032"`, `"24"`), and scientific notation when the value
//! is below 10^-6 in magnitude (`"4.2E-7"`). The document asks connectors to accept an exponent
//! form "in case one appears"; the fake makes it appear on the tiny weekend Titan rows.

/// `value × 10^-scale` as text (see the module docs).
pub(crate) fn java_decimal(value: i128, scale: u32) -> String {
    if value == 0 {
        return "0".to_owned();
    }
    let sign = if value < 0 { "-" } else { "" };
    let mut digits = value.unsigned_abs().to_string();
    let mut scale = i64::from(scale);
    while scale > 0 && digits.ends_with('0') {
        digits.pop();
        scale -= 1;
    }
    let adjusted = digits.len() as i64 - 1 - scale;
    if scale == 0 {
        return format!("{sign}{digits}");
    }
    if adjusted >= -6 {
        let point = digits.len() as i64 - scale;
        if point > 0 {
            let (whole, fraction) = digits.split_at(point as usize);
            format!("{sign}{whole}.{fraction}")
        } else {
            let zeros = "0".repeat((-point) as usize);
            format!("{sign}0.{zeros}{digits}")
        }
    } else {
        let (first, rest) = digits.split_at(1);
        if rest.is_empty() {
            format!("{sign}{first}E{adjusted}")
        } else {
            format!("{sign}{first}.{rest}E{adjusted}")
        }
    }
}

/// Nano-dollars as dollars.
pub(crate) fn dollars(nanos: i128) -> String {
    java_decimal(nanos, 9)
}

/// Usage micro-units (10^-6 of the pricing unit) as the pricing unit.
pub(crate) fn quantity(micros: i128) -> String {
    java_decimal(micros, 6)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_plain_decimals_and_java_style_exponents() {
        assert_eq!(dollars(0), "0");
        assert_eq!(dollars(1_500_000_000), "1.5");
        assert_eq!(dollars(-32_000_000), "-0.032");
        assert_eq!(dollars(24_000_000_000), "24");
        assert_eq!(dollars(1_000), "0.000001");
        assert_eq!(dollars(420), "4.2E-7");
        assert_eq!(dollars(-5), "-5E-9");
        assert_eq!(dollars(999), "9.99E-7");
        assert_eq!(quantity(25_000), "0.025");
        assert_eq!(quantity(3_123_456_000), "3123.456");
        assert_eq!(java_decimal(1000, 0), "1000");
    }
}
