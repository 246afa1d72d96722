//! Ground truth of the LiteLLM fake. Date ranges are inclusive UTC days; spend is exact decimal
//! text in dollars (or integer nano-dollars). Keys are identified by their SHA-256 hash.

use std::collections::BTreeMap;
use std::sync::Arc;

use time::Date;

use super::data::{Data, MODELS, NON_ADMIN_KEY, Row, TEAMS, USERS};
use super::lists::counter_spend;
use crate::common::money;
use crate::common::time_text::{date_of, unix_day};

/// Exact figures of the data a [`LiteLlmFake`](super::LiteLlmFake) serves.
#[derive(Debug, Clone)]
pub struct LiteLlmTruth {
    data: Arc<Data>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyInfo {
    /// `sha256(raw key)` hex: `token`, `api_key`.
    pub hash: String,
    pub key_alias: Option<String>,
    pub team_id: Option<String>,
    pub user_id: String,
    /// Deleted: in the spend rows (`key_exists: false`), in no key list.
    pub deleted: bool,
    /// The master key (in the spend rows under `default_user_id`, in no key list).
    pub master: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeamInfo {
    pub team_id: String,
    pub team_alias: String,
    pub member_user_ids: Vec<String>,
}

/// One `LiteLLM_DailyUserSpend` row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpendLine {
    pub date: Date,
    pub user_id: String,
    pub api_key: String,
    pub key_alias: Option<String>,
    pub team_id: Option<String>,
    pub model: String,
    pub model_group: String,
    pub custom_llm_provider: String,
    pub spend_nanos: u64,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub cache_read_input_tokens: u64,
    pub cache_creation_input_tokens: u64,
    pub api_requests: u64,
    pub successful_requests: u64,
    pub failed_requests: u64,
}

impl LiteLlmTruth {
    pub(crate) fn new(data: Arc<Data>) -> Self {
        Self { data }
    }

    fn date(day: i64) -> Date {
        date_of(day).unwrap_or(Date::MIN)
    }

    /// The master key (also [`RunningFake::admin_key`](crate::RunningFake::admin_key)).
    pub fn master_key(&self) -> &str {
        self.data
            .keys
            .iter()
            .find(|k| k.master)
            .map_or("", |k| k.raw.as_str())
    }

    /// `bob-dev`, a virtual key of `bob`, an `internal_user` (no admin view).
    pub fn non_admin_key(&self) -> &str {
        &self.data.keys[NON_ADMIN_KEY].raw
    }

    /// The owner of [`non_admin_key`](Self::non_admin_key): `bob`.
    pub fn non_admin_user_id(&self) -> &str {
        self.data.user_id(self.data.keys[NON_ADMIN_KEY].user)
    }

    /// `prod-backend`, a virtual key of `alice`, a `proxy_admin` (admin view).
    pub fn admin_user_key(&self) -> &str {
        &self.data.keys[0].raw
    }

    pub fn first_day(&self) -> Date {
        Self::date(self.data.first_day)
    }

    /// The proxy's current UTC date, the last day with data.
    pub fn today(&self) -> Date {
        Self::date(self.data.today)
    }

    /// Every key, deleted and master included.
    pub fn keys(&self) -> Vec<KeyInfo> {
        self.data
            .keys
            .iter()
            .map(|k| KeyInfo {
                hash: k.hash.clone(),
                key_alias: k.alias.map(str::to_owned),
                team_id: k.team.map(|t| self.data.team_ids[usize::from(t)].clone()),
                user_id: self.data.user_id(k.user).to_owned(),
                deleted: k.deleted,
                master: k.master,
            })
            .collect()
    }

    pub fn teams(&self) -> Vec<TeamInfo> {
        TEAMS
            .iter()
            .enumerate()
            .map(|(t, (alias, members))| TeamInfo {
                team_id: self.data.team_ids[t].clone(),
                team_alias: (*alias).to_owned(),
                member_user_ids: members
                    .iter()
                    .map(|(u, _)| USERS[usize::from(*u)].0.to_owned())
                    .collect(),
            })
            .collect()
    }

    fn line(&self, r: &Row) -> SpendLine {
        let key = &self.data.keys[usize::from(r.key)];
        let spec = &MODELS[usize::from(r.model)];
        SpendLine {
            date: Self::date(r.day),
            user_id: self.data.user_id(r.user).to_owned(),
            api_key: key.hash.clone(),
            key_alias: key.alias.map(str::to_owned),
            team_id: key.team.map(|t| self.data.team_ids[usize::from(t)].clone()),
            model: spec.model.to_owned(),
            model_group: spec.group.to_owned(),
            custom_llm_provider: spec.provider.to_owned(),
            spend_nanos: r.spend,
            prompt_tokens: r.prompt,
            completion_tokens: r.completion,
            cache_read_input_tokens: r.cache_read,
            cache_creation_input_tokens: r.cache_creation,
            api_requests: r.requests,
            successful_requests: r.successful,
            failed_requests: r.failed,
        }
    }

    /// Every rollup row from `from` to `to` (all users).
    pub fn lines(&self, from: Date, to: Date) -> Vec<SpendLine> {
        self.data
            .rows
            .between(unix_day(from), unix_day(to))
            .map(|r| self.line(r))
            .collect()
    }

    /// The number of rollup rows from `from` to `to`: what `/user/daily/activity` pages over.
    pub fn row_count(&self, from: Date, to: Date) -> usize {
        self.data.rows.between(unix_day(from), unix_day(to)).count()
    }

    fn sum_by<K: Ord>(
        &self,
        from: Date,
        to: Date,
        key: impl Fn(&SpendLine) -> K,
    ) -> BTreeMap<K, String> {
        let mut sums: BTreeMap<K, u64> = BTreeMap::new();
        for l in self.lines(from, to) {
            *sums.entry(key(&l)).or_default() += l.spend_nanos;
        }
        sums.into_iter()
            .map(|(k, v)| (k, money::dollars(v)))
            .collect()
    }

    /// Dollars per day.
    pub fn spend_usd_by_day(&self, from: Date, to: Date) -> BTreeMap<Date, String> {
        self.sum_by(from, to, |l| l.date)
    }

    /// Dollars per (day, model).
    pub fn spend_usd_by_day_model(&self, from: Date, to: Date) -> BTreeMap<(Date, String), String> {
        self.sum_by(from, to, |l| (l.date, l.model.clone()))
    }

    /// Dollars per (day, model, key hash): the `breakdown.models[m].api_key_breakdown[hash]`
    /// cells after merging every page.
    pub fn spend_usd_by_day_model_key(
        &self,
        from: Date,
        to: Date,
    ) -> BTreeMap<(Date, String, String), String> {
        self.sum_by(from, to, |l| (l.date, l.model.clone(), l.api_key.clone()))
    }

    /// Dollars per (day, provider).
    pub fn spend_usd_by_day_provider(
        &self,
        from: Date,
        to: Date,
    ) -> BTreeMap<(Date, String), String> {
        self.sum_by(from, to, |l| (l.date, l.custom_llm_provider.clone()))
    }

    /// Dollars per day for one user's rows only.
    pub fn spend_usd_by_day_for_user(
        &self,
        user_id: &str,
        from: Date,
        to: Date,
    ) -> BTreeMap<Date, String> {
        let mut sums: BTreeMap<Date, u64> = BTreeMap::new();
        for l in self.lines(from, to).iter().filter(|l| l.user_id == user_id) {
            *sums.entry(l.date).or_default() += l.spend_nanos;
        }
        sums.into_iter()
            .map(|(k, v)| (k, money::dollars(v)))
            .collect()
    }

    pub fn total_spend_nanos(&self, from: Date, to: Date) -> u64 {
        self.lines(from, to).iter().map(|l| l.spend_nanos).sum()
    }

    /// Total dollars, exact.
    pub fn total_spend_usd(&self, from: Date, to: Date) -> String {
        money::dollars(self.total_spend_nanos(from, to))
    }

    /// Total `api_requests`.
    pub fn total_requests(&self, from: Date, to: Date) -> u64 {
        self.lines(from, to).iter().map(|l| l.api_requests).sum()
    }

    /// The budget-counter `spend` `/key/list` reports for a key (not its lifetime spend when the
    /// key has a `budget_duration`).
    pub fn key_budget_spend_usd(&self, hash: &str) -> Option<String> {
        let k = self.data.keys.iter().position(|k| k.hash == hash)?;
        Some(money::dollars(counter_spend(&self.data, k)))
    }
}
