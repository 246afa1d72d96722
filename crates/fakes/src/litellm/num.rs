//! Spend as Python prints a float (LiteLLM serializes Python floats): the exact decimal of the
//! fake's nano-dollar figure, in plain notation from 0.0001 up and in scientific notation below
//! (`0.00001095` → `1.095e-05`), with `.0` on whole numbers. The text always denotes exactly the
//! nano-dollar amount.

use crate::common::money;

pub(crate) fn py_float(nanos: u64) -> String {
    if nanos == 0 {
        return "0.0".to_owned();
    }
    if nanos >= 100_000 {
        let text = money::dollars(nanos);
        return if text.contains('.') {
            text
        } else {
            format!("{text}.0")
        };
    }
    let digits = nanos.to_string();
    let significant = digits.trim_end_matches('0');
    let exponent = 9 + 1 - digits.len();
    let mantissa = match significant.len() {
        1 => significant.to_owned(),
        _ => format!("{}.{}", &significant[..1], &significant[1..]),
    };
    format!("{mantissa}e-{exponent:02}")
}

#[cfg(test)]
mod tests {
    use super::py_float;

    #[test]
    fn writes_what_python_repr_writes() {
        assert_eq!(py_float(0), "0.0");
        assert_eq!(py_float(10_950), "1.095e-05");
        assert_eq!(py_float(10_000), "1e-05");
        assert_eq!(py_float(1), "1e-09");
        assert_eq!(py_float(99_999), "9.9999e-05");
        assert_eq!(py_float(100_000), "0.0001");
        assert_eq!(py_float(412_300_000), "0.4123");
        assert_eq!(py_float(5_000_000_000), "5.0");
        assert_eq!(py_float(12_345_678_901), "12.345678901");
    }
}
