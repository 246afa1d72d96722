//! Ground truth of the Anthropic fake: the exact figures it serves. Date ranges are inclusive
//! UTC days; money is exact decimal text in US dollars (the API's cents divided by 100), in
//! cents, or integer nano-dollars. `None` stands for the default workspace (`workspace_id: null`)
//! and for Console traffic (`api_key_id: null`).

use std::collections::BTreeMap;
use std::sync::Arc;

use time::Date;

use super::data::{CostRow, Data, UsageRow};
use crate::common::money;
use crate::common::time_text::{date_of, unix_day};

/// Exact figures of the data an [`AnthropicFake`](super::AnthropicFake) serves.
#[derive(Debug, Clone)]
pub struct AnthropicTruth {
    data: Arc<Data>,
}

/// Token usage summed over some rows (input parts are disjoint).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TokenTotals {
    pub uncached_input_tokens: u64,
    pub cache_creation_5m_input_tokens: u64,
    pub cache_creation_1h_input_tokens: u64,
    pub cache_read_input_tokens: u64,
    pub output_tokens: u64,
    pub web_search_requests: u64,
}

impl TokenTotals {
    /// All input: uncached + both cache writes + cache reads.
    pub fn input_tokens(&self) -> u64 {
        self.uncached_input_tokens
            + self.cache_creation_5m_input_tokens
            + self.cache_creation_1h_input_tokens
            + self.cache_read_input_tokens
    }

    fn add(&mut self, u: &UsageRow) {
        self.uncached_input_tokens += u.uncached;
        self.cache_creation_5m_input_tokens += u.write_5m;
        self.cache_creation_1h_input_tokens += u.write_1h;
        self.cache_read_input_tokens += u.read;
        self.output_tokens += u.output;
        self.web_search_requests += u.web_searches;
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkspaceInfo {
    pub id: String,
    pub name: String,
    pub archived: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyInfo {
    pub id: String,
    pub name: String,
    /// `None`: the default workspace.
    pub workspace_id: Option<String>,
    /// `active`, `inactive`, `archived` or `expired`.
    pub status: String,
}

/// One day's usage of one key (or the Console) and model in one tier and context window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageLine {
    pub day: Date,
    pub workspace_id: Option<String>,
    pub api_key_id: Option<String>,
    pub model: String,
    pub service_tier: String,
    pub context_window: String,
    pub totals: TokenTotals,
}

/// One billed amount, at the finest grain the fake generated (a workspace's cost item on one
/// day for one usage row; the API sums these per workspace and description).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CostLine {
    pub day: Date,
    pub workspace_id: Option<String>,
    pub description: String,
    /// `tokens`, `web_search` or `code_execution`.
    pub cost_type: String,
    pub model: Option<String>,
    pub token_type: Option<String>,
    pub nanos: u64,
}

impl AnthropicTruth {
    pub(crate) fn new(data: Arc<Data>) -> Self {
        Self { data }
    }

    fn day(&self, day: i64) -> Date {
        date_of(day).unwrap_or(Date::MIN)
    }

    fn workspace_id(&self, w: Option<u8>) -> Option<String> {
        w.map(|w| self.data.org.workspaces[usize::from(w)].id.clone())
    }

    pub fn first_day(&self) -> Date {
        self.day(self.data.first_day)
    }

    /// The last day with data (the configured `today`).
    pub fn last_day(&self) -> Date {
        self.day(self.data.last_day)
    }

    /// The named workspaces (the default workspace is not one of them), archived included.
    pub fn workspaces(&self) -> Vec<WorkspaceInfo> {
        self.data
            .org
            .workspaces
            .iter()
            .map(|w| WorkspaceInfo {
                id: w.id.clone(),
                name: w.name.to_owned(),
                archived: w.archived_at.is_some(),
            })
            .collect()
    }

    pub fn api_keys(&self) -> Vec<ApiKeyInfo> {
        self.data
            .org
            .keys
            .iter()
            .map(|k| ApiKeyInfo {
                id: k.id.clone(),
                name: k.name.to_owned(),
                workspace_id: self.workspace_id(k.workspace),
                status: k.status.text().to_owned(),
            })
            .collect()
    }

    fn cost_line(&self, c: &CostRow) -> CostLine {
        let item = &self.data.items[usize::from(c.item)];
        CostLine {
            day: self.day(c.day),
            workspace_id: self.workspace_id(c.workspace),
            description: item.description.clone(),
            cost_type: item.cost_type.to_owned(),
            model: item.model.map(|m| m.name().to_owned()),
            token_type: item.token_type.map(|t| t.text().to_owned()),
            nanos: c.nanos,
        }
    }

    pub fn cost_lines(&self, from: Date, to: Date) -> Vec<CostLine> {
        self.data
            .costs
            .between(unix_day(from), unix_day(to))
            .map(|c| self.cost_line(c))
            .collect()
    }

    pub fn total_cost_nanos(&self, from: Date, to: Date) -> u64 {
        self.data
            .costs
            .between(unix_day(from), unix_day(to))
            .map(|c| c.nanos)
            .sum()
    }

    /// Total in US dollars, exact (the API's cents / 100).
    pub fn total_cost_usd(&self, from: Date, to: Date) -> String {
        money::dollars(self.total_cost_nanos(from, to))
    }

    /// Total in cents, as the API writes amounts.
    pub fn total_cost_cents(&self, from: Date, to: Date) -> String {
        money::cents(self.total_cost_nanos(from, to))
    }

    fn cost_by<K: Ord>(
        &self,
        from: Date,
        to: Date,
        key: impl Fn(CostLine) -> K,
    ) -> BTreeMap<K, String> {
        let mut sums: BTreeMap<K, u64> = BTreeMap::new();
        for line in self.cost_lines(from, to) {
            let nanos = line.nanos;
            *sums.entry(key(line)).or_default() += nanos;
        }
        sums.into_iter()
            .map(|(k, nanos)| (k, money::dollars(nanos)))
            .collect()
    }

    /// Dollars per workspace id (`None`: the default workspace).
    pub fn cost_usd_by_workspace(&self, from: Date, to: Date) -> BTreeMap<Option<String>, String> {
        self.cost_by(from, to, |l| l.workspace_id)
    }

    /// Dollars per model (`None`: web search and code execution).
    pub fn cost_usd_by_model(&self, from: Date, to: Date) -> BTreeMap<Option<String>, String> {
        self.cost_by(from, to, |l| l.model)
    }

    /// Dollars per cost description.
    pub fn cost_usd_by_description(&self, from: Date, to: Date) -> BTreeMap<String, String> {
        self.cost_by(from, to, |l| l.description)
    }

    /// Dollars per day.
    pub fn cost_usd_by_day(&self, from: Date, to: Date) -> BTreeMap<Date, String> {
        self.cost_by(from, to, |l| l.day)
    }

    /// Dollars per (day, workspace, description): the grain of `cost_report` grouped by
    /// `workspace_id` and `description`.
    pub fn cost_usd_by_day_workspace_description(
        &self,
        from: Date,
        to: Date,
    ) -> BTreeMap<(Date, Option<String>, String), String> {
        self.cost_by(from, to, |l| (l.day, l.workspace_id, l.description))
    }

    pub fn usage_lines(&self, from: Date, to: Date) -> Vec<UsageLine> {
        let keys = &self.data.org.keys;
        self.data
            .usage
            .between(unix_day(from), unix_day(to))
            .map(|u| {
                let mut totals = TokenTotals::default();
                totals.add(u);
                UsageLine {
                    day: self.day(u.day),
                    workspace_id: self.workspace_id(u.workspace),
                    api_key_id: u.key.map(|k| keys[usize::from(k)].id.clone()),
                    model: u.model.name().to_owned(),
                    service_tier: u.tier.text().to_owned(),
                    context_window: u.context.text().to_owned(),
                    totals,
                }
            })
            .collect()
    }

    fn usage_by<K: Ord>(
        &self,
        from: Date,
        to: Date,
        key: impl Fn(&UsageRow) -> K,
    ) -> BTreeMap<K, TokenTotals> {
        let mut sums: BTreeMap<K, TokenTotals> = BTreeMap::new();
        for u in self.data.usage.between(unix_day(from), unix_day(to)) {
            sums.entry(key(u)).or_default().add(u);
        }
        sums
    }

    /// Tokens per API key id (`None`: Console traffic).
    pub fn usage_by_key(&self, from: Date, to: Date) -> BTreeMap<Option<String>, TokenTotals> {
        let keys = &self.data.org.keys;
        self.usage_by(from, to, |u| u.key.map(|k| keys[usize::from(k)].id.clone()))
    }

    /// Tokens per model.
    pub fn usage_by_model(&self, from: Date, to: Date) -> BTreeMap<String, TokenTotals> {
        self.usage_by(from, to, |u| u.model.name().to_owned())
    }

    /// Tokens per workspace id (`None`: the default workspace).
    pub fn usage_by_workspace(
        &self,
        from: Date,
        to: Date,
    ) -> BTreeMap<Option<String>, TokenTotals> {
        self.usage_by(from, to, |u| self.workspace_id(u.workspace))
    }
}
