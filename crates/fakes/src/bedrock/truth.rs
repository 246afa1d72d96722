//! Ground truth of the Cost Explorer fake: every record it serves, at the grain (day, linked
//! account, SERVICE, USAGE_TYPE, RECORD_TYPE), with exact amounts. Date ranges are inclusive UTC
//! days; amounts are plain decimal strings in dollars (never exponent form) or integer
//! nano-dollars.

use std::collections::BTreeMap;
use std::sync::Arc;

use time::Date;

use super::Config;
use super::catalog::product_of;
use super::data::{Data, Row};
use crate::common::time_text::{date_of, unix_day};

/// Exact figures of the data a [`BedrockFake`](super::BedrockFake) serves.
#[derive(Debug, Clone)]
pub struct BedrockTruth {
    pub(crate) data: Arc<Data>,
    pub(crate) config: Arc<Config>,
}

/// A linked account of the fake organization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountInfo {
    /// 12 digits.
    pub id: String,
    pub name: String,
}

/// One Cost Explorer record: what one account was billed for one (SERVICE, USAGE_TYPE) on one
/// day, under one RECORD_TYPE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CostLine {
    pub day: Date,
    pub account_id: String,
    pub service: String,
    pub usage_type: String,
    /// `Usage`, `Credit` or `Refund`.
    pub record_type: String,
    /// `Amazon Bedrock` or `… (Amazon Bedrock Edition)`: what a connector must keep.
    pub is_bedrock: bool,
    /// UnblendedCost, nano-dollars (negative for credits and refunds).
    pub unblended_nanos: i64,
    /// NetUnblendedCost, nano-dollars.
    pub net_unblended_nanos: i64,
    /// UnblendedCost in dollars, exact plain decimal (e.g. `"-0.0032"`).
    pub unblended_cost: String,
    pub net_unblended_cost: String,
    /// UsageQuantity in the pricing unit, exact plain decimal.
    pub usage_quantity: String,
    /// The pricing unit: `1K tokens`, `Units` (1M tokens) or `Hrs`.
    pub unit: String,
    /// Raw usage: tokens (hours for EC2); 0 for credits and refunds.
    pub usage: u64,
    /// Whether Cost Explorer marks the day `Estimated`.
    pub estimated: bool,
}

/// `value × 10^-scale` as a plain decimal, sign included, trailing zeros trimmed.
pub(crate) fn plain_decimal(value: i128, scale: u32) -> String {
    let sign = if value < 0 { "-" } else { "" };
    let magnitude = value.unsigned_abs();
    let divisor = 10u128.pow(scale);
    let (whole, fraction) = (magnitude / divisor, magnitude % divisor);
    if fraction == 0 {
        return format!("{sign}{whole}");
    }
    let digits = format!("{fraction:0width$}", width = scale as usize);
    format!("{sign}{whole}.{}", digits.trim_end_matches('0'))
}

impl BedrockTruth {
    fn date(day: i64) -> Date {
        date_of(day).unwrap_or(Date::MIN)
    }

    /// The first day with data.
    pub fn first_day(&self) -> Date {
        Self::date(self.data.first_day)
    }

    /// The last day with data (the configured `today`).
    pub fn last_day(&self) -> Date {
        Self::date(self.data.last_day)
    }

    /// The first day Cost Explorer marks `Estimated` (every later day is estimated too).
    pub fn first_estimated_day(&self) -> Date {
        Self::date(self.data.estimated_from)
    }

    /// The linked accounts; the first is the management (payer) account.
    pub fn accounts(&self) -> Vec<AccountInfo> {
        self.data
            .accounts
            .iter()
            .map(|a| AccountInfo {
                id: a.id.clone(),
                name: a.name.to_owned(),
            })
            .collect()
    }

    fn line(&self, row: &Row) -> CostLine {
        let product = product_of(row.product);
        let quantity = i128::try_from(row.quantity_micros()).unwrap_or(i128::MAX);
        CostLine {
            day: Self::date(row.day),
            account_id: self.data.account_id(row.account).to_owned(),
            service: product.service.to_owned(),
            usage_type: product.usage_type.to_owned(),
            record_type: row.record.name().to_owned(),
            is_bedrock: product.is_bedrock(),
            unblended_nanos: row.nanos,
            net_unblended_nanos: row.net_nanos,
            unblended_cost: plain_decimal(i128::from(row.nanos), 9),
            net_unblended_cost: plain_decimal(i128::from(row.net_nanos), 9),
            usage_quantity: plain_decimal(quantity, 6),
            unit: product.unit.to_owned(),
            usage: row.count,
            estimated: row.day >= self.data.estimated_from,
        }
    }

    /// Every record from `from` to `to` (inclusive), Bedrock or not.
    pub fn lines(&self, from: Date, to: Date) -> Vec<CostLine> {
        self.data
            .rows
            .between(unix_day(from), unix_day(to))
            .map(|r| self.line(r))
            .collect()
    }

    /// The Bedrock records only (SERVICE `Amazon Bedrock` or `… (Amazon Bedrock Edition)`).
    pub fn bedrock_lines(&self, from: Date, to: Date) -> Vec<CostLine> {
        let mut lines = self.lines(from, to);
        lines.retain(|l| l.is_bedrock);
        lines
    }

    /// The distinct SERVICE values with records in the range, sorted.
    pub fn services(&self, from: Date, to: Date) -> Vec<String> {
        let mut services: Vec<String> = self
            .lines(from, to)
            .into_iter()
            .map(|l| l.service)
            .collect();
        services.sort();
        services.dedup();
        services
    }

    /// The distinct Bedrock SERVICE values with records in the range, sorted.
    pub fn bedrock_services(&self, from: Date, to: Date) -> Vec<String> {
        let mut services: Vec<String> = self
            .bedrock_lines(from, to)
            .into_iter()
            .map(|l| l.service)
            .collect();
        services.sort();
        services.dedup();
        services
    }

    /// UnblendedCost summed per key, for the records `key` maps to `Some`, in dollars.
    pub fn unblended_by<K: Ord>(
        &self,
        from: Date,
        to: Date,
        key: impl Fn(&CostLine) -> Option<K>,
    ) -> BTreeMap<K, String> {
        self.sum_by(from, to, key, |l| l.unblended_nanos)
    }

    /// NetUnblendedCost summed per key, for the records `key` maps to `Some`, in dollars.
    pub fn net_unblended_by<K: Ord>(
        &self,
        from: Date,
        to: Date,
        key: impl Fn(&CostLine) -> Option<K>,
    ) -> BTreeMap<K, String> {
        self.sum_by(from, to, key, |l| l.net_unblended_nanos)
    }

    fn sum_by<K: Ord>(
        &self,
        from: Date,
        to: Date,
        key: impl Fn(&CostLine) -> Option<K>,
        amount: impl Fn(&CostLine) -> i64,
    ) -> BTreeMap<K, String> {
        let mut sums: BTreeMap<K, i128> = BTreeMap::new();
        for line in self.lines(from, to) {
            if let Some(k) = key(&line) {
                *sums.entry(k).or_default() += i128::from(amount(&line));
            }
        }
        sums.into_iter()
            .map(|(k, v)| (k, plain_decimal(v, 9)))
            .collect()
    }

    /// Bedrock UnblendedCost, all record types (usage less credits and refunds), in dollars.
    pub fn bedrock_net_total(&self, from: Date, to: Date) -> String {
        self.unblended_by(from, to, |l| l.is_bedrock.then_some(()))
            .remove(&())
            .unwrap_or_else(|| "0".to_owned())
    }

    /// Bedrock UnblendedCost per RECORD_TYPE (`Usage` is the gross cost), in dollars.
    pub fn bedrock_by_record_type(&self, from: Date, to: Date) -> BTreeMap<String, String> {
        self.unblended_by(from, to, |l| l.is_bedrock.then(|| l.record_type.clone()))
    }

    /// Bedrock UnblendedCost per day, all record types, in dollars.
    pub fn bedrock_by_day(&self, from: Date, to: Date) -> BTreeMap<Date, String> {
        self.unblended_by(from, to, |l| l.is_bedrock.then_some(l.day))
    }

    /// Bedrock UnblendedCost per (day, SERVICE, USAGE_TYPE), all record types, in dollars: the
    /// grain of the document's recipe (GroupBy SERVICE, USAGE_TYPE).
    pub fn bedrock_by_day_service_usage_type(
        &self,
        from: Date,
        to: Date,
    ) -> BTreeMap<(Date, String, String), String> {
        self.unblended_by(from, to, |l| {
            l.is_bedrock
                .then(|| (l.day, l.service.clone(), l.usage_type.clone()))
        })
    }

    /// Raw Bedrock usage (tokens) per (SERVICE, USAGE_TYPE), `Usage` records only.
    pub fn bedrock_tokens_by_usage_type(
        &self,
        from: Date,
        to: Date,
    ) -> BTreeMap<(String, String), u64> {
        let mut sums = BTreeMap::new();
        for l in self.bedrock_lines(from, to) {
            *sums.entry((l.service, l.usage_type)).or_default() += l.usage;
        }
        sums
    }
}

#[cfg(test)]
mod tests {
    use super::plain_decimal;

    #[test]
    fn plain_decimals_keep_their_sign() {
        assert_eq!(plain_decimal(-3_200_000, 9), "-0.0032");
        assert_eq!(plain_decimal(420, 9), "0.00000042");
        assert_eq!(plain_decimal(12_000_000_000, 9), "12");
        assert_eq!(plain_decimal(0, 9), "0");
    }
}
