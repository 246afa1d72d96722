//! Ground truth of the fal.ai fake. Date ranges are inclusive UTC days; money is exact decimal
//! text in dollars (or integer nano-dollars), quantities exact decimal text in the endpoint's
//! unit. `None` as a key stands for usage made with a team member's login (no API key).

use std::collections::BTreeMap;
use std::sync::Arc;

use time::Date;

use super::data::{API_SCOPE_SOURCE, Data, ENDPOINTS, Event, SOURCES};
use crate::common::money;
use crate::common::time_text::{date_of, unix_day};

/// Exact figures of the data a [`FalFake`](super::FalFake) serves.
#[derive(Debug, Clone)]
pub struct FalTruth {
    data: Arc<Data>,
}

/// An API-scope key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyInfo {
    pub key_id: String,
    pub alias: String,
    /// Deleted keys are in usage and billing events but not in `/keys`.
    pub deleted: bool,
}

/// Machine-seconds of one serverless app on one day, at normal or surge price.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerlessLine {
    pub date: Date,
    pub app: String,
    pub machine_type: String,
    pub is_surge: bool,
    /// Exact decimal text, e.g. `"9702.47"`.
    pub seconds: String,
    pub cost_nanos: u64,
}

/// One billed request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventLine {
    pub request_id: String,
    /// Unix seconds.
    pub timestamp: i64,
    /// The UTC date of `timestamp`.
    pub date: Date,
    pub endpoint_id: String,
    pub unit: String,
    pub api_key_id: Option<String>,
    pub login_username: Option<String>,
    /// Exact decimal text, e.g. `"1.05"`.
    pub quantity: String,
    pub unit_price_nanos: u64,
    pub percent_discount: Option<u8>,
    pub cost_subtotal_nanos: u64,
    pub cost_discount_nanos: u64,
    pub cost_total_nanos: u64,
}

impl FalTruth {
    pub(crate) fn new(data: Arc<Data>) -> Self {
        Self { data }
    }

    fn date(day: i64) -> Date {
        date_of(day).unwrap_or(Date::MIN)
    }

    /// The ADMIN key as `key_id:key_secret` (send `Authorization: Key <this>`; also
    /// [`RunningFake::admin_key`](crate::RunningFake::admin_key)).
    pub fn admin_key(&self) -> String {
        format!("{}:{}", self.data.admin.key_id, self.data.admin.secret)
    }

    /// An API-scope key (`Production Key`) as `key_id:key_secret`: 403 on every endpoint here.
    pub fn api_scope_key(&self) -> String {
        self.data.keys[API_SCOPE_SOURCE]
            .as_ref()
            .map(|k| format!("{}:{}", k.key_id, k.secret))
            .unwrap_or_default()
    }

    /// `username` of `/account/billing`.
    pub fn username(&self) -> &str {
        self.data.username
    }

    /// `credits.current_balance` in dollars.
    pub fn credit_balance_usd(&self) -> String {
        money::dollars(self.data.balance_nanos)
    }

    pub fn first_day(&self) -> Date {
        Self::date(self.data.first_day)
    }

    /// The fake's current UTC date; "now" is the end of it.
    pub fn today(&self) -> Date {
        Self::date(self.data.today)
    }

    /// Every API-scope key, the deleted one included.
    pub fn keys(&self) -> Vec<KeyInfo> {
        SOURCES
            .iter()
            .enumerate()
            .filter_map(|(i, s)| {
                self.data.keys[i].as_ref().map(|k| KeyInfo {
                    key_id: k.key_id.clone(),
                    alias: s.name.to_owned(),
                    deleted: s.deleted,
                })
            })
            .collect()
    }

    fn line(&self, e: &Event) -> EventLine {
        let source = &SOURCES[usize::from(e.source)];
        let endpoint = &ENDPOINTS[usize::from(e.endpoint)];
        EventLine {
            request_id: e.request_id(),
            timestamp: e.ts,
            date: Self::date(e.ts.div_euclid(86_400)),
            endpoint_id: endpoint.id.to_owned(),
            unit: endpoint.unit.to_owned(),
            api_key_id: self.data.key_of(e.source).map(|k| k.key_id.clone()),
            login_username: source.login.then(|| source.name.to_owned()),
            quantity: money::decimal(u128::from(e.quantity), 3),
            unit_price_nanos: e.unit_price,
            percent_discount: e.discount,
            cost_subtotal_nanos: e.subtotal(),
            cost_discount_nanos: e.discount_nanos(),
            cost_total_nanos: e.total(),
        }
    }

    /// Every request from `from` to `to` (UTC days, inclusive), oldest first.
    pub fn events(&self, from: Date, to: Date) -> Vec<EventLine> {
        self.events_between(unix_day(from) * 86_400, (unix_day(to) + 1) * 86_400)
    }

    /// Every request with `start <= timestamp < end` (Unix seconds).
    pub fn events_between(&self, start: i64, end: i64) -> Vec<EventLine> {
        self.data
            .events_between(start, end)
            .iter()
            .map(|e| self.line(e))
            .collect()
    }

    /// Serverless lines from `from` to `to` (UTC days, inclusive): one per (day, app, machine
    /// type, surge), as `/serverless/usage` rows before it sums them per bucket.
    pub fn serverless(&self, from: Date, to: Date) -> Vec<ServerlessLine> {
        let (first, last) = (unix_day(from), unix_day(to));
        self.data
            .serverless
            .iter()
            .filter(|row| row.day >= first && row.day <= last)
            .map(|row| {
                let spec = &super::serverless::APPS[usize::from(row.app)];
                ServerlessLine {
                    date: Self::date(row.day),
                    app: spec.app.to_owned(),
                    machine_type: spec.machine_type.to_owned(),
                    is_surge: row.surge,
                    seconds: money::decimal(u128::from(row.hundredths), 2),
                    cost_nanos: row.cost(),
                }
            })
            .collect()
    }

    /// `cost_total` dollars of the requests with `start <= timestamp < end`.
    pub fn cost_usd_between(&self, start: i64, end: i64) -> String {
        money::dollars(
            self.data
                .events_between(start, end)
                .iter()
                .map(Event::total)
                .sum(),
        )
    }

    fn sum_by<K: Ord>(
        &self,
        from: Date,
        to: Date,
        key: impl Fn(&EventLine) -> K,
        value: impl Fn(&EventLine) -> u64,
    ) -> BTreeMap<K, u64> {
        let mut sums = BTreeMap::new();
        for l in self.events(from, to) {
            *sums.entry(key(&l)).or_default() += value(&l);
        }
        sums
    }

    fn dollars<K: Ord>(sums: BTreeMap<K, u64>) -> BTreeMap<K, String> {
        sums.into_iter()
            .map(|(k, v)| (k, money::dollars(v)))
            .collect()
    }

    /// `cost_total` dollars per (UTC day, endpoint, api_key_id): the grain of
    /// `timeframe=day&timezone=UTC&expand=auth_method_structured` after summing the rows.
    pub fn cost_usd_by_day_endpoint_key(
        &self,
        from: Date,
        to: Date,
    ) -> BTreeMap<(Date, String, Option<String>), String> {
        Self::dollars(self.sum_by(
            from,
            to,
            |l| (l.date, l.endpoint_id.clone(), l.api_key_id.clone()),
            |l| l.cost_total_nanos,
        ))
    }

    /// `cost_total` dollars per (UTC day, endpoint).
    pub fn cost_usd_by_day_endpoint(
        &self,
        from: Date,
        to: Date,
    ) -> BTreeMap<(Date, String), String> {
        Self::dollars(self.sum_by(
            from,
            to,
            |l| (l.date, l.endpoint_id.clone()),
            |l| l.cost_total_nanos,
        ))
    }

    /// `cost_total` dollars per UTC day.
    pub fn cost_usd_by_day(&self, from: Date, to: Date) -> BTreeMap<Date, String> {
        Self::dollars(self.sum_by(from, to, |l| l.date, |l| l.cost_total_nanos))
    }

    /// `cost_total` in nano-dollars.
    pub fn total_cost_nanos(&self, from: Date, to: Date) -> u64 {
        self.events(from, to)
            .iter()
            .map(|l| l.cost_total_nanos)
            .sum()
    }

    /// `cost_total` in dollars, exact.
    pub fn total_cost_usd(&self, from: Date, to: Date) -> String {
        money::dollars(self.total_cost_nanos(from, to))
    }

    /// `cost_subtotal` (before discounts) in dollars.
    pub fn total_subtotal_usd(&self, from: Date, to: Date) -> String {
        money::dollars(
            self.events(from, to)
                .iter()
                .map(|l| l.cost_subtotal_nanos)
                .sum(),
        )
    }

    /// Quantity per (UTC day, endpoint, api_key_id, unit), exact decimal text.
    pub fn quantity_by_day_endpoint_key_unit(
        &self,
        from: Date,
        to: Date,
    ) -> BTreeMap<(Date, String, Option<String>, String), String> {
        let mut sums: BTreeMap<_, u64> = BTreeMap::new();
        for e in self
            .data
            .events_between(unix_day(from) * 86_400, (unix_day(to) + 1) * 86_400)
        {
            let l = self.line(e);
            *sums
                .entry((l.date, l.endpoint_id, l.api_key_id, l.unit))
                .or_default() += e.quantity;
        }
        sums.into_iter()
            .map(|(k, v)| (k, money::decimal(u128::from(v), 3)))
            .collect()
    }

    /// Requests (billing events) per (UTC day, endpoint, api_key_id).
    pub fn requests_by_day_endpoint_key(
        &self,
        from: Date,
        to: Date,
    ) -> BTreeMap<(Date, String, Option<String>), u64> {
        self.sum_by(
            from,
            to,
            |l| (l.date, l.endpoint_id.clone(), l.api_key_id.clone()),
            |_| 1,
        )
    }
}
