//! Ground truth of the Runway fake. Date ranges are inclusive UTC days; credits are integers
//! (net: charges minus refunds, possibly negative) and dollars exact decimal text at $0.01 per
//! credit (e.g. `"-3.2"`, `"1234.5"`).

use std::collections::BTreeMap;
use std::sync::Arc;

use time::Date;

use super::data::{Data, MODELS};
use crate::common::money;
use crate::common::time_text::{date_of, unix_day};

/// Exact figures of the data a [`RunwayFake`](super::RunwayFake) serves.
#[derive(Debug, Clone)]
pub struct RunwayTruth {
    data: Arc<Data>,
    api_key: String,
}

/// Credits as dollars at $0.01 per credit, exact (`-250` → `"-2.5"`).
pub fn credits_to_usd(credits: i64) -> String {
    let text = money::decimal(u128::from(credits.unsigned_abs()), 2);
    if credits < 0 {
        format!("-{text}")
    } else {
        text
    }
}

impl RunwayTruth {
    pub(crate) fn new(data: Arc<Data>, api_key: String) -> Self {
        Self { data, api_key }
    }

    fn date(day: i64) -> Date {
        date_of(day).unwrap_or(Date::MIN)
    }

    /// The accepted API key (also [`RunningFake::admin_key`](crate::RunningFake::admin_key)).
    pub fn api_key(&self) -> &str {
        &self.api_key
    }

    /// The first day with data.
    pub fn first_day(&self) -> Date {
        Self::date(self.data.first_day)
    }

    /// The configured `today`: the fake's current UTC date and the last day with data.
    pub fn today(&self) -> Date {
        Self::date(self.data.today)
    }

    /// The window of a request without `startDate`/`beforeDate`: `[today − 30, today)`, as
    /// `(startDate, beforeDate)`.
    pub fn default_window(&self) -> (Date, Date) {
        (
            Self::date(self.data.today - 30),
            Self::date(self.data.today),
        )
    }

    /// Every model the fake knows, usage or not.
    pub fn models(&self) -> Vec<String> {
        MODELS.iter().map(|m| m.name.to_owned()).collect()
    }

    /// Net credits per (day, model) from `from` to `to` inclusive; only cells with activity.
    pub fn credits_by_day_model(&self, from: Date, to: Date) -> BTreeMap<(Date, String), i64> {
        self.data
            .usage
            .between(unix_day(from), unix_day(to))
            .map(|r| ((Self::date(r.day), r.model_name().to_owned()), r.net()))
            .collect()
    }

    /// Dollars per (day, model), exact.
    pub fn usd_by_day_model(&self, from: Date, to: Date) -> BTreeMap<(Date, String), String> {
        self.credits_by_day_model(from, to)
            .into_iter()
            .map(|(k, c)| (k, credits_to_usd(c)))
            .collect()
    }

    /// Net credits per day (days without usage absent).
    pub fn credits_by_day(&self, from: Date, to: Date) -> BTreeMap<Date, i64> {
        let mut out = BTreeMap::new();
        for ((day, _), c) in self.credits_by_day_model(from, to) {
            *out.entry(day).or_insert(0) += c;
        }
        out
    }

    /// Net credits per model.
    pub fn credits_by_model(&self, from: Date, to: Date) -> BTreeMap<String, i64> {
        let mut out = BTreeMap::new();
        for ((_, model), c) in self.credits_by_day_model(from, to) {
            *out.entry(model).or_insert(0) += c;
        }
        out
    }

    /// Net credits in total.
    pub fn total_credits(&self, from: Date, to: Date) -> i64 {
        self.credits_by_day_model(from, to).values().sum()
    }

    /// Net dollars in total, exact.
    pub fn total_usd(&self, from: Date, to: Date) -> String {
        credits_to_usd(self.total_credits(from, to))
    }

    /// Credits charged and refunded (before netting) per (day, model).
    pub fn gross_by_day_model(&self, from: Date, to: Date) -> BTreeMap<(Date, String), (i64, i64)> {
        self.data
            .usage
            .between(unix_day(from), unix_day(to))
            .map(|r| {
                (
                    (Self::date(r.day), r.model_name().to_owned()),
                    (r.charged, r.refunded),
                )
            })
            .collect()
    }

    /// The (day, model) cells whose net amount is negative.
    pub fn negative_cells(&self, from: Date, to: Date) -> Vec<(Date, String, i64)> {
        self.credits_by_day_model(from, to)
            .into_iter()
            .filter(|(_, c)| *c < 0)
            .map(|((d, m), c)| (d, m, c))
            .collect()
    }

    /// Days in `from..=to` within the data that have no usage at all (absent from `results`).
    pub fn days_without_usage(&self, from: Date, to: Date) -> Vec<Date> {
        let (a, b) = (
            unix_day(from).max(self.data.first_day),
            unix_day(to).min(self.data.today),
        );
        (a..=b)
            .filter(|&d| self.data.usage.on(d).is_empty())
            .map(Self::date)
            .collect()
    }

    /// `creditBalance` of `GET /v1/organization`.
    pub fn credit_balance(&self) -> i64 {
        self.data.credit_balance
    }

    /// `tier.maxMonthlyCreditSpend`.
    pub fn max_monthly_credit_spend(&self) -> i64 {
        self.data.max_monthly_credit_spend
    }

    /// `usage.models.<model>.dailyGenerations`: generations on `today` (the rolling past day).
    pub fn daily_generations(&self) -> BTreeMap<String, u64> {
        self.data
            .usage
            .on(self.data.today)
            .iter()
            .filter(|r| r.generations > 0)
            .map(|r| (r.model_name().to_owned(), r.generations))
            .collect()
    }
}
