//! Exact money: an amount is a whole number of nano-units (1e-9) of its currency.
//!
//! Providers send money in three shapes — OpenAI dollars as JSON numbers or strings, Anthropic
//! cents as decimal strings with fractional cents, Cost Explorer decimal strings — and every one
//! of them is parsed from its text into [`Money`] without passing through a float. Sums of `i64`
//! nano-units are exact in Rust, SQLite and PostgreSQL alike.

use std::fmt;
use std::iter::Sum;
use std::ops::{Add, AddAssign, Neg, Sub};
use std::str::FromStr;

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Nano-units in one whole unit of a currency.
pub const NANOS_PER_UNIT: i64 = 1_000_000_000;

/// An exact amount of money in nano-units (1e-9) of its currency.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Money(i64);

/// Why a text or number could not become [`Money`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("\"{0}\" is not a decimal amount")]
    NotADecimal(String),
    #[error("the amount {0} is too large to store")]
    Overflow(String),
}

impl Money {
    pub const ZERO: Money = Money(0);

    pub const fn from_nanos(nanos: i64) -> Money {
        Money(nanos)
    }

    pub const fn nanos(self) -> i64 {
        self.0
    }

    /// Whole units (dollars for USD), exactly; digits beyond 1e-9 are rounded half to even.
    pub fn from_decimal(units: Decimal) -> Result<Money, MoneyError> {
        let nanos = units
            .checked_mul(Decimal::from(NANOS_PER_UNIT))
            .ok_or_else(|| MoneyError::Overflow(units.to_string()))?
            .round_dp_with_strategy(0, RoundingStrategy::MidpointNearestEven);
        i64::try_from(nanos)
            .map(Money)
            .map_err(|_| MoneyError::Overflow(units.to_string()))
    }

    /// Parse whole units from a decimal text such as `"12.5"`, `"-0.000001"` or `"1.2e-5"`.
    pub fn parse_units(text: &str) -> Result<Money, MoneyError> {
        Money::from_decimal(parse_decimal(text)?)
    }

    /// Parse hundredths of a unit (cents), as Anthropic's cost report sends them: `"123.78912"`
    /// is $1.2378912.
    pub fn parse_cents(text: &str) -> Result<Money, MoneyError> {
        let cents = parse_decimal(text)?;
        Money::from_decimal(cents / Decimal::ONE_HUNDRED)
    }

    pub fn to_decimal(self) -> Decimal {
        Decimal::from_i128_with_scale(i128::from(self.0), 9).normalize()
    }

    pub fn checked_add(self, other: Money) -> Option<Money> {
        self.0.checked_add(other.0).map(Money)
    }

    pub fn is_zero(self) -> bool {
        self.0 == 0
    }

    pub fn is_negative(self) -> bool {
        self.0 < 0
    }

    pub fn abs(self) -> Money {
        Money(self.0.saturating_abs())
    }

    /// The amount with at least two decimals and no trailing zeros beyond them:
    /// `"1.50"`, `"0.123456789"`, `"-3.00"`. This is the exact form used in JSON and CSV.
    pub fn to_exact_string(self) -> String {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        let whole = abs / NANOS_PER_UNIT as u64;
        let frac = abs % NANOS_PER_UNIT as u64;
        let mut frac_text = format!("{frac:09}");
        while frac_text.len() > 2 && frac_text.ends_with('0') {
            frac_text.pop();
        }
        format!("{sign}{whole}.{frac_text}")
    }

    /// Rounded to whole cents (half away from zero), as a number of cents.
    pub fn round_to_cents(self) -> i64 {
        let per_cent = NANOS_PER_UNIT / 100;
        let q = self.0 / per_cent;
        let r = self.0 % per_cent;
        if r.abs() * 2 >= per_cent {
            q + r.signum()
        } else {
            q
        }
    }

    /// Cost × factor / divisor, rounded half to even, for derived figures such as cost per 1M
    /// tokens. `None` when the divisor is zero.
    pub fn scaled(self, factor: i128, divisor: i128) -> Option<Money> {
        if divisor == 0 {
            return None;
        }
        let value = Decimal::from_i128_with_scale(i128::from(self.0), 0)
            .checked_mul(Decimal::from_i128_with_scale(factor, 0))?
            .checked_div(Decimal::from_i128_with_scale(divisor, 0))?
            .round_dp_with_strategy(0, RoundingStrategy::MidpointNearestEven);
        i64::try_from(value).ok().map(Money)
    }
}

/// Parse a decimal text exactly, accepting an exponent form (`"1.095e-05"`).
pub fn parse_decimal(text: &str) -> Result<Decimal, MoneyError> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(MoneyError::NotADecimal(text.to_owned()));
    }
    if trimmed.contains(['e', 'E']) {
        Decimal::from_scientific(trimmed).map_err(|_| MoneyError::NotADecimal(text.to_owned()))
    } else {
        Decimal::from_str(trimmed).map_err(|_| MoneyError::NotADecimal(text.to_owned()))
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_exact_string())
    }
}

impl Add for Money {
    type Output = Money;
    fn add(self, rhs: Money) -> Money {
        Money(self.0.saturating_add(rhs.0))
    }
}

impl AddAssign for Money {
    fn add_assign(&mut self, rhs: Money) {
        self.0 = self.0.saturating_add(rhs.0);
    }
}

impl Sub for Money {
    type Output = Money;
    fn sub(self, rhs: Money) -> Money {
        Money(self.0.saturating_sub(rhs.0))
    }
}

impl Neg for Money {
    type Output = Money;
    fn neg(self) -> Money {
        Money(self.0.saturating_neg())
    }
}

impl Sum for Money {
    fn sum<I: Iterator<Item = Money>>(iter: I) -> Money {
        iter.fold(Money::ZERO, |a, b| a + b)
    }
}

impl<'a> Sum<&'a Money> for Money {
    fn sum<I: Iterator<Item = &'a Money>>(iter: I) -> Money {
        iter.fold(Money::ZERO, |a, b| a + *b)
    }
}

impl Serialize for Money {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_exact_string())
    }
}

impl<'de> Deserialize<'de> for Money {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Money, D::Error> {
        let text = String::deserialize(deserializer)?;
        Money::parse_units(&text).map_err(serde::de::Error::custom)
    }
}

/// A currency as an upper-case ISO 4217 code (`USD`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Currency(String);

impl Currency {
    pub fn usd() -> Currency {
        Currency("USD".to_owned())
    }

    /// Accepts `usd`, `USD`, ` Usd `: three ASCII letters.
    pub fn parse(code: &str) -> Result<Currency, MoneyError> {
        let code = code.trim();
        if code.len() == 3 && code.chars().all(|c| c.is_ascii_alphabetic()) {
            Ok(Currency(code.to_ascii_uppercase()))
        } else {
            Err(MoneyError::NotADecimal(format!("currency {code}")))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A non-token quantity (images, characters, seconds, credits) in micro-units (1e-6), exact.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Quantity(i64);

impl Quantity {
    pub const ZERO: Quantity = Quantity(0);
    const MICROS: i64 = 1_000_000;

    pub const fn from_micros(micros: i64) -> Quantity {
        Quantity(micros)
    }

    pub const fn micros(self) -> i64 {
        self.0
    }

    pub fn from_whole(units: i64) -> Quantity {
        Quantity(units.saturating_mul(Self::MICROS))
    }

    pub fn from_decimal(units: Decimal) -> Result<Quantity, MoneyError> {
        let micros = units
            .checked_mul(Decimal::from(Self::MICROS))
            .ok_or_else(|| MoneyError::Overflow(units.to_string()))?
            .round_dp_with_strategy(0, RoundingStrategy::MidpointNearestEven);
        i64::try_from(micros)
            .map(Quantity)
            .map_err(|_| MoneyError::Overflow(units.to_string()))
    }

    pub fn to_decimal(self) -> Decimal {
        Decimal::from_i128_with_scale(i128::from(self.0), 6).normalize()
    }

    pub fn is_zero(self) -> bool {
        self.0 == 0
    }
}

impl Add for Quantity {
    type Output = Quantity;
    fn add(self, rhs: Quantity) -> Quantity {
        Quantity(self.0.saturating_add(rhs.0))
    }
}

impl AddAssign for Quantity {
    fn add_assign(&mut self, rhs: Quantity) {
        self.0 = self.0.saturating_add(rhs.0);
    }
}

impl Serialize for Quantity {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&self.to_decimal())
    }
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.to_decimal())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anthropic_cents_become_dollars_exactly() {
        assert_eq!(
            Money::parse_cents("123.78912").unwrap().nanos(),
            1_237_891_200
        );
        assert_eq!(
            Money::parse_cents("123.45").unwrap().to_exact_string(),
            "1.2345"
        );
    }

    #[test]
    fn dollars_parse_from_plain_and_exponent_text() {
        assert_eq!(Money::parse_units("0.06").unwrap().nanos(), 60_000_000);
        assert_eq!(Money::parse_units("1.095e-05").unwrap().nanos(), 10_950);
        assert_eq!(
            Money::parse_units("-1.5").unwrap().to_exact_string(),
            "-1.50"
        );
        assert!(Money::parse_units("abc").is_err());
        assert!(Money::parse_units("").is_err());
    }

    #[test]
    fn digits_beyond_nanos_round_half_to_even() {
        assert_eq!(Money::parse_units("0.0000000005").unwrap().nanos(), 0);
        assert_eq!(Money::parse_units("0.0000000015").unwrap().nanos(), 2);
    }

    #[test]
    fn exact_string_keeps_two_decimals_at_least() {
        assert_eq!(Money::from_nanos(0).to_exact_string(), "0.00");
        assert_eq!(Money::from_nanos(1).to_exact_string(), "0.000000001");
        assert_eq!(Money::from_nanos(-5_000_000_000).to_exact_string(), "-5.00");
    }

    #[test]
    fn cents_rounding_is_half_away_from_zero() {
        assert_eq!(Money::from_nanos(5_000_000).round_to_cents(), 1);
        assert_eq!(Money::from_nanos(4_999_999).round_to_cents(), 0);
        assert_eq!(Money::from_nanos(-5_000_000).round_to_cents(), -1);
    }

    #[test]
    fn huge_amounts_are_refused_not_wrapped() {
        assert!(matches!(
            Money::parse_units("99999999999999999999"),
            Err(MoneyError::Overflow(_))
        ));
    }

    #[test]
    fn currency_codes_are_normalized() {
        assert_eq!(Currency::parse("usd").unwrap().as_str(), "USD");
        assert!(Currency::parse("dollars").is_err());
    }
}
