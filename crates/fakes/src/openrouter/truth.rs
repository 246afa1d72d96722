//! Ground truth of the OpenRouter fake. Date ranges are inclusive UTC days; money is exact
//! decimal text in dollars (or integer nano-dollars). `usage` is OpenRouter credit spend;
//! `byok` is upstream BYOK inference cost (not in `usage`).

use std::collections::BTreeMap;
use std::sync::Arc;

use time::Date;

use super::data::{Data, ENDPOINTS, MODELS, REGULAR_KEY, Row};
use crate::common::money;
use crate::common::time_text::{date_of, unix_day};

/// Exact figures of the data an [`OpenRouterFake`](super::OpenRouterFake) serves.
#[derive(Debug, Clone)]
pub struct OpenRouterTruth {
    data: Arc<Data>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkspaceInfo {
    pub id: String,
    pub name: String,
    pub slug: String,
}

/// An API key (the management key is not among them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyInfo {
    /// SHA-256 hex of the key, its id.
    pub hash: String,
    pub name: String,
    pub workspace_id: String,
    pub creator_user_id: Option<String>,
    pub disabled: bool,
    /// Deleted keys are in no list; their spend is still in `/activity` and `/credits`.
    pub deleted: bool,
}

/// One day's use of one provider endpoint by one key, as generated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivityLine {
    pub date: Date,
    pub workspace_id: String,
    pub key_hash: String,
    pub model: String,
    pub model_permaslug: String,
    pub endpoint_id: String,
    pub provider_name: String,
    pub requests: u64,
    pub prompt_tokens: u64,
    /// Reasoning tokens included.
    pub completion_tokens: u64,
    pub reasoning_tokens: u64,
    pub cached_tokens: u64,
    pub usage_nanos: u64,
    pub byok_usage_inference_nanos: u64,
}

/// Spend windows of one key as `/key` and `/keys` state them, exact dollars.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyUsage {
    pub usage: String,
    pub usage_daily: String,
    pub usage_weekly: String,
    pub usage_monthly: String,
    pub byok_usage: String,
    pub byok_usage_daily: String,
    pub byok_usage_weekly: String,
    pub byok_usage_monthly: String,
}

impl OpenRouterTruth {
    pub(crate) fn new(data: Arc<Data>) -> Self {
        Self { data }
    }

    fn date(day: i64) -> Date {
        date_of(day).unwrap_or(Date::MIN)
    }

    /// The management key (`sk-or-v1-…`; also [`RunningFake::admin_key`](crate::RunningFake::admin_key)).
    pub fn management_key(&self) -> &str {
        &self.data.management_key
    }

    /// A regular (inference) key: `prod-backend` in the default workspace.
    pub fn regular_key(&self) -> &str {
        &self.data.keys[REGULAR_KEY].secret
    }

    /// The hash of [`regular_key`](Self::regular_key).
    pub fn regular_key_hash(&self) -> &str {
        &self.data.keys[REGULAR_KEY].hash
    }

    pub fn first_day(&self) -> Date {
        Self::date(self.data.first_day)
    }

    /// The fake's current UTC date: the last day with data, never in `/activity`.
    pub fn today(&self) -> Date {
        Self::date(self.data.today)
    }

    /// The days `/activity` covers, inclusive: `today − 30 ..= today − 1`.
    pub fn activity_window(&self) -> (Date, Date) {
        let (a, b) = self.data.activity_window();
        (Self::date(a), Self::date(b))
    }

    /// Workspaces, the default one first.
    pub fn workspaces(&self) -> Vec<WorkspaceInfo> {
        self.data
            .workspaces
            .iter()
            .map(|w| WorkspaceInfo {
                id: w.id.clone(),
                name: w.name.to_owned(),
                slug: w.slug.to_owned(),
            })
            .collect()
    }

    /// Every API key, deleted ones included.
    pub fn keys(&self) -> Vec<KeyInfo> {
        self.data
            .keys
            .iter()
            .map(|k| KeyInfo {
                hash: k.hash.clone(),
                name: k.name.clone(),
                workspace_id: self.data.workspaces[usize::from(k.workspace)].id.clone(),
                creator_user_id: k
                    .creator
                    .map(|c| self.data.member_ids[usize::from(c)].clone()),
                disabled: k.disabled,
                deleted: k.deleted,
            })
            .collect()
    }

    /// Organization member ids (`creator_user_id`, the `/activity` `user_id` filter).
    pub fn member_ids(&self) -> Vec<String> {
        self.data.member_ids.clone()
    }

    fn line(&self, r: &Row) -> ActivityLine {
        let key = &self.data.keys[usize::from(r.key)];
        let e = &ENDPOINTS[usize::from(r.endpoint)];
        let m = &MODELS[usize::from(e.model)];
        ActivityLine {
            date: Self::date(r.day),
            workspace_id: self.data.workspaces[usize::from(key.workspace)].id.clone(),
            key_hash: key.hash.clone(),
            model: m.slug.to_owned(),
            model_permaslug: m.permaslug.to_owned(),
            endpoint_id: self.data.endpoint_ids[usize::from(r.endpoint)].clone(),
            provider_name: e.provider.to_owned(),
            requests: r.requests,
            prompt_tokens: r.prompt,
            completion_tokens: r.completion,
            reasoning_tokens: r.reasoning,
            cached_tokens: r.cached,
            usage_nanos: r.usage,
            byok_usage_inference_nanos: r.byok,
        }
    }

    /// Every generated row from `from` to `to` (any day, not only the activity window).
    pub fn lines(&self, from: Date, to: Date) -> Vec<ActivityLine> {
        self.data
            .rows
            .between(unix_day(from), unix_day(to))
            .map(|r| self.line(r))
            .collect()
    }

    fn sum_by<K: Ord>(
        &self,
        from: Date,
        to: Date,
        key: impl Fn(&ActivityLine) -> K,
        value: impl Fn(&ActivityLine) -> u64,
    ) -> BTreeMap<K, String> {
        let mut sums: BTreeMap<K, u64> = BTreeMap::new();
        for l in self.lines(from, to) {
            *sums.entry(key(&l)).or_default() += value(&l);
        }
        sums.into_iter()
            .map(|(k, v)| (k, money::dollars(v)))
            .collect()
    }

    /// `usage` dollars per (day, model).
    pub fn usage_usd_by_day_model(&self, from: Date, to: Date) -> BTreeMap<(Date, String), String> {
        self.sum_by(from, to, |l| (l.date, l.model.clone()), |l| l.usage_nanos)
    }

    /// `usage` dollars per (day, model, provider_name): the rows of an unfiltered `/activity`.
    pub fn usage_usd_by_day_model_provider(
        &self,
        from: Date,
        to: Date,
    ) -> BTreeMap<(Date, String, String), String> {
        self.sum_by(
            from,
            to,
            |l| (l.date, l.model.clone(), l.provider_name.clone()),
            |l| l.usage_nanos,
        )
    }

    /// `usage` dollars per (day, workspace id, model): `/activity?group_by=workspace` summed
    /// over providers.
    pub fn usage_usd_by_day_workspace_model(
        &self,
        from: Date,
        to: Date,
    ) -> BTreeMap<(Date, String, String), String> {
        self.sum_by(
            from,
            to,
            |l| (l.date, l.workspace_id.clone(), l.model.clone()),
            |l| l.usage_nanos,
        )
    }

    /// `usage` dollars per (day, key hash, model): what `/activity?api_key_hash=…` per key gives.
    pub fn usage_usd_by_day_key_model(
        &self,
        from: Date,
        to: Date,
    ) -> BTreeMap<(Date, String, String), String> {
        self.sum_by(
            from,
            to,
            |l| (l.date, l.key_hash.clone(), l.model.clone()),
            |l| l.usage_nanos,
        )
    }

    /// `byok_usage_inference` dollars per (day, model).
    pub fn byok_usd_by_day_model(&self, from: Date, to: Date) -> BTreeMap<(Date, String), String> {
        let mut out = self.sum_by(from, to, |l| (l.date, l.model.clone()), |l| l.byok_nanos());
        out.retain(|_, v| v != "0");
        out
    }

    /// Total `usage` dollars.
    pub fn total_usage_usd(&self, from: Date, to: Date) -> String {
        money::dollars(self.total_usage_nanos(from, to))
    }

    pub fn total_usage_nanos(&self, from: Date, to: Date) -> u64 {
        self.lines(from, to).iter().map(|l| l.usage_nanos).sum()
    }

    /// Total requests.
    pub fn total_requests(&self, from: Date, to: Date) -> u64 {
        self.lines(from, to).iter().map(|l| l.requests).sum()
    }

    /// `/credits` `total_credits` (dollars purchased).
    pub fn total_credits_usd(&self) -> String {
        money::dollars(self.data.total_credits_nanos)
    }

    /// `/credits` `total_usage`: every key's lifetime `usage`, today included.
    pub fn lifetime_usage_usd(&self) -> String {
        money::dollars(self.data.rows.all().iter().map(|r| r.usage).sum())
    }

    /// The spend windows `/key` and `/keys` report for a key (by hash); `None` if unknown.
    pub fn key_usage(&self, hash: &str) -> Option<KeyUsage> {
        let k = self.data.keys.iter().position(|k| k.hash == hash)?;
        let (u, b) = self.data.key_windows(k);
        Some(KeyUsage {
            usage: money::dollars(u.all),
            usage_daily: money::dollars(u.daily),
            usage_weekly: money::dollars(u.weekly),
            usage_monthly: money::dollars(u.monthly),
            byok_usage: money::dollars(b.all),
            byok_usage_daily: money::dollars(b.daily),
            byok_usage_weekly: money::dollars(b.weekly),
            byok_usage_monthly: money::dollars(b.monthly),
        })
    }
}

impl ActivityLine {
    fn byok_nanos(&self) -> u64 {
        self.byok_usage_inference_nanos
    }
}
