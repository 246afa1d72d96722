//! Spend billed in another currency than USD: the amount as billed, the provider's conversion
//! rate, and the exact conversion to USD (integer arithmetic, half to even at the nano-unit,
//! never floating point).

use std::fmt;

use rust_decimal::Decimal;

use crate::money::{Currency, Money, MoneyError, parse_decimal};

/// An amount as the provider billed it, in its billing currency (nano-units of that currency).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Billed {
    pub currency: Currency,
    /// Cost before credits, in nano-units of `currency`.
    pub cost: Money,
    /// Credits applied (zero or positive), in nano-units of `currency`.
    pub credits: Money,
}

impl Billed {
    /// `self + other`; `None` when the currencies differ.
    pub fn plus(&self, other: &Billed) -> Option<Billed> {
        (self.currency == other.currency).then(|| Billed {
            currency: self.currency.clone(),
            cost: self.cost + other.cost,
            credits: self.credits + other.credits,
        })
    }
}

/// Units of the billing currency per USD, as the provider reports it (Google's
/// `currency_conversion_rate`: 0.92 means 0.92 EUR per USD). Exact: a decimal mantissa and
/// scale, strictly positive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConversionRate {
    rate: Decimal,
}

/// Why a conversion rate or a conversion was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BillingError {
    #[error("the conversion rate \"{0}\" is not a decimal number")]
    NotARate(String),
    #[error("the conversion rate {0} is not above zero")]
    NotPositive(String),
    #[error("converting {amount} at {rate} per USD does not fit in the stored range")]
    Overflow { amount: String, rate: String },
}

impl ConversionRate {
    /// One unit per USD (USD itself).
    pub fn one() -> ConversionRate {
        ConversionRate { rate: Decimal::ONE }
    }

    /// Reads `"0.92"`, `"153.2"`, `"9.2E-1"`; refuses zero, negatives and non-numbers.
    pub fn parse(text: &str) -> Result<ConversionRate, BillingError> {
        let rate = parse_decimal(text).map_err(|error| match error {
            MoneyError::NotADecimal(_) | MoneyError::Overflow(_) => {
                BillingError::NotARate(text.trim().to_owned())
            }
        })?;
        if rate <= Decimal::ZERO {
            return Err(BillingError::NotPositive(rate.normalize().to_string()));
        }
        Ok(ConversionRate {
            rate: rate.normalize(),
        })
    }

    pub fn as_decimal(self) -> Decimal {
        self.rate
    }
}

impl fmt::Display for ConversionRate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.rate.normalize())
    }
}

/// `amount` (nano-units of the billing currency) ÷ `rate` (units per USD) in USD nano-dollars,
/// exactly: with the rate as m / 10^s, USD = amount × 10^s / m, and the remainder decides the
/// rounding, half to even.
pub fn to_usd(amount: Money, rate: ConversionRate) -> Result<Money, BillingError> {
    let overflow = || BillingError::Overflow {
        amount: amount.to_exact_string(),
        rate: rate.to_string(),
    };
    let mantissa = rate.rate.mantissa();
    let scale = 10i128.checked_pow(rate.rate.scale()).ok_or_else(overflow)?;
    let numerator = i128::from(amount.nanos())
        .checked_mul(scale)
        .ok_or_else(overflow)?;
    let quotient = numerator / mantissa;
    let remainder = numerator % mantissa;
    // |remainder| × 2 against the divisor decides; ties go to the even quotient.
    let twice = remainder.unsigned_abs() * 2;
    let divisor = mantissa.unsigned_abs();
    let away = twice > divisor || (twice == divisor && quotient % 2 != 0);
    let rounded = if away {
        quotient + numerator.signum()
    } else {
        quotient
    };
    i64::try_from(rounded)
        .map(Money::from_nanos)
        .map_err(|_| overflow())
}

/// `billed` in USD: cost and credits each converted at `rate`.
pub fn billed_to_usd(
    billed: &Billed,
    rate: ConversionRate,
) -> Result<(Money, Money), BillingError> {
    Ok((to_usd(billed.cost, rate)?, to_usd(billed.credits, rate)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn rate(text: &str) -> ConversionRate {
        ConversionRate::parse(text).unwrap()
    }

    #[test]
    fn euros_become_dollars_at_the_exports_rate_exactly() {
        // 92 EUR at 0.92 EUR per USD is 100 USD.
        assert_eq!(
            to_usd(Money::from_nanos(92_000_000_000), rate("0.92")),
            Ok(Money::from_nanos(100_000_000_000))
        );
        // 1 nano-euro ÷ 0.92 = 1.0869… → 1.
        assert_eq!(
            to_usd(Money::from_nanos(1), rate("0.92")),
            Ok(Money::from_nanos(1))
        );
        // 0.3188 EUR ÷ 0.92 = 0.346521739130… USD → 346521739 nanos.
        assert_eq!(
            to_usd(Money::from_nanos(318_800_000), rate("0.92")),
            Ok(Money::from_nanos(346_521_739))
        );
        // Yen: 15320 JPY at 153.2 per USD = 100 USD.
        assert_eq!(
            to_usd(Money::from_nanos(15_320_000_000_000), rate("1.532E2")),
            Ok(Money::from_nanos(100_000_000_000))
        );
    }

    #[test]
    fn ties_round_to_even_in_both_signs() {
        // 5 nanos ÷ 2 = 2.5 → 2; 7 ÷ 2 = 3.5 → 4; negatives mirror.
        assert_eq!(
            to_usd(Money::from_nanos(5), rate("2")),
            Ok(Money::from_nanos(2))
        );
        assert_eq!(
            to_usd(Money::from_nanos(7), rate("2")),
            Ok(Money::from_nanos(4))
        );
        assert_eq!(
            to_usd(Money::from_nanos(-5), rate("2")),
            Ok(Money::from_nanos(-2))
        );
        assert_eq!(
            to_usd(Money::from_nanos(-7), rate("2")),
            Ok(Money::from_nanos(-4))
        );
        // 1.5 ÷ 1 at scale: 3 nanos ÷ 2.0 = 1.5 → 2.
        assert_eq!(
            to_usd(Money::from_nanos(3), rate("2.0")),
            Ok(Money::from_nanos(2))
        );
    }

    #[test]
    fn rates_that_are_not_positive_numbers_are_refused() {
        assert!(matches!(
            ConversionRate::parse("0"),
            Err(BillingError::NotPositive(_))
        ));
        assert!(matches!(
            ConversionRate::parse("-0.9"),
            Err(BillingError::NotPositive(_))
        ));
        assert!(matches!(
            ConversionRate::parse("eur"),
            Err(BillingError::NotARate(_))
        ));
        assert!(matches!(
            ConversionRate::parse(""),
            Err(BillingError::NotARate(_))
        ));
    }

    #[test]
    fn amounts_that_do_not_fit_are_an_error_not_a_wrong_number() {
        assert!(matches!(
            to_usd(Money::from_nanos(i64::MAX), rate("0.0001")),
            Err(BillingError::Overflow { .. })
        ));
    }

    proptest! {
        #[test]
        fn conversion_is_within_half_a_nano_of_the_exact_quotient(
            nanos in -1_000_000_000_000_000i64..1_000_000_000_000_000,
            mantissa in 1i64..100_000_000,
            scale in 0u32..9,
        ) {
            let rate = ConversionRate::parse(&Decimal::new(mantissa, scale).to_string()).unwrap();
            let d = rate.as_decimal();
            let m = d.mantissa();
            let s = 10i128.pow(d.scale());
            // The exact quotient nanos × 10^s / m, truncated, in i128 (it cannot overflow there):
            // a small rate can take it past i64, and then the conversion must refuse, not wrap.
            let exact = (i128::from(nanos) * s / m).abs();
            match to_usd(Money::from_nanos(nanos), rate) {
                Ok(usd) => {
                    prop_assert!(exact <= i128::from(i64::MAX), "{nanos} at {d}: {usd:?} fits?");
                    // |usd × m − nanos × 10^s| ≤ m / 2, in integers.
                    let error = (i128::from(usd.nanos()) * m - i128::from(nanos) * s).abs();
                    prop_assert!(error * 2 <= m, "{nanos} at {d}: {usd:?}");
                }
                Err(BillingError::Overflow { .. }) => {
                    // Refused only when the rounded quotient really is out of range.
                    prop_assert!(exact >= i128::from(i64::MAX) - 1, "{nanos} at {d}: refused");
                }
                Err(other) => prop_assert!(false, "{nanos} at {d}: {other}"),
            }
        }
    }
}
