//! Exact decimal text for integer amounts. Money is kept in integer nano-dollars (1e-9 USD) and
//! only turned into text at the edge, so no float ever touches it.

/// `value / 10^scale` as the shortest exact decimal text: `decimal(1_237_891_200, 9)` is
/// `"1.2378912"`, `decimal(5, 0)` is `"5"`, zero is `"0"`.
pub(crate) fn decimal(value: u128, scale: u32) -> String {
    let divisor = 10u128.pow(scale);
    let whole = value / divisor;
    let fraction = value % divisor;
    if fraction == 0 {
        return whole.to_string();
    }
    let digits = format!("{fraction:0width$}", width = scale as usize);
    format!("{whole}.{}", digits.trim_end_matches('0'))
}

/// Nano-dollars as dollars.
pub(crate) fn dollars(nanos: u64) -> String {
    decimal(u128::from(nanos), 9)
}

/// Nano-dollars as cents (Anthropic's unit): 1 cent = 10^7 nano-dollars.
pub(crate) fn cents(nanos: u64) -> String {
    decimal(u128::from(nanos), 7)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_exact_trimmed_decimals() {
        assert_eq!(decimal(1_237_891_200, 9), "1.2378912");
        assert_eq!(decimal(5, 0), "5");
        assert_eq!(decimal(0, 9), "0");
        assert_eq!(decimal(1, 9), "0.000000001");
        assert_eq!(decimal(60_000_000, 9), "0.06");
        assert_eq!(dollars(12_000_000_000), "12");
    }

    #[test]
    fn cents_carry_fractional_cents() {
        assert_eq!(cents(1_237_891_200), "123.78912");
        assert_eq!(cents(1), "0.0000001");
    }
}
