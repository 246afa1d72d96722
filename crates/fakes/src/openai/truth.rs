//! Ground truth of the OpenAI fake: the exact figures it serves, for tests to compare a sync
//! against. Date ranges are inclusive UTC days; money is exact decimal text in dollars (or
//! integer nano-dollars).

use std::collections::BTreeMap;
use std::sync::Arc;

use time::Date;

use super::data::{CostRow, Data, UsageRow};
use super::org::Owner;
use crate::common::money;
use crate::common::time_text::{date_of, unix_day};

/// Exact figures of the data an [`OpenAiFake`](super::OpenAiFake) serves.
#[derive(Debug, Clone)]
pub struct OpenAiTruth {
    data: Arc<Data>,
}

/// Usage summed over some rows. Only the fields the rows' endpoints report are non-zero.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UsageTotals {
    /// Includes `input_cached_tokens`.
    pub input_tokens: u64,
    pub input_cached_tokens: u64,
    pub output_tokens: u64,
    pub num_model_requests: u64,
    pub images: u64,
    pub characters: u64,
    pub seconds: u64,
}

impl UsageTotals {
    fn add(&mut self, row: &UsageRow) {
        self.input_tokens += row.input;
        self.input_cached_tokens += row.cached;
        self.output_tokens += row.output;
        self.num_model_requests += row.requests;
        match row.model.endpoint() {
            super::models::Endpoint::Images => self.images += row.units,
            super::models::Endpoint::AudioSpeeches => self.characters += row.units,
            super::models::Endpoint::AudioTranscriptions => self.seconds += row.units,
            _ => {}
        }
    }
}

/// A project as the fake knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectInfo {
    pub id: String,
    pub name: String,
    pub archived: bool,
}

/// A project API key as the fake knows it (including the deleted one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyInfo {
    pub id: String,
    pub name: String,
    pub project_id: String,
    /// The owning user's id (`None` for a service account's key).
    pub user_id: Option<String>,
    /// Deleted keys appear in usage and costs but in no key list.
    pub deleted: bool,
}

/// One day's usage of one key and model (and image size), as the fake generated it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageLine {
    pub day: Date,
    pub project_id: String,
    pub api_key_id: String,
    pub user_id: Option<String>,
    pub model: String,
    pub size: Option<String>,
    pub totals: UsageTotals,
}

/// One day's bill for one project, key and line item, as the fake computed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CostLine {
    pub day: Date,
    pub project_id: String,
    /// `None` for items not tied to a key (web search tool calls, vector storage).
    pub api_key_id: Option<String>,
    pub line_item: String,
    pub nanos: u64,
}

impl OpenAiTruth {
    pub(crate) fn new(data: Arc<Data>) -> Self {
        Self { data }
    }

    fn days(from: Date, to: Date) -> (i64, i64) {
        (unix_day(from), unix_day(to))
    }

    fn day(&self, day: i64) -> Date {
        date_of(day).unwrap_or(Date::MIN)
    }

    /// The first day with data.
    pub fn first_day(&self) -> Date {
        self.day(self.data.first_day)
    }

    /// The last day with data (the configured `today`).
    pub fn last_day(&self) -> Date {
        self.day(self.data.last_day)
    }

    /// Every project, archived ones included, in creation order.
    pub fn projects(&self) -> Vec<ProjectInfo> {
        self.data
            .org
            .projects
            .iter()
            .map(|p| ProjectInfo {
                id: p.id.clone(),
                name: p.name.to_owned(),
                archived: p.archived_at.is_some(),
            })
            .collect()
    }

    /// Every key, the deleted one included.
    pub fn api_keys(&self) -> Vec<ApiKeyInfo> {
        let org = &self.data.org;
        org.keys
            .iter()
            .map(|k| ApiKeyInfo {
                id: k.id.clone(),
                name: k.name.to_owned(),
                project_id: org.projects[usize::from(k.project)].id.clone(),
                user_id: match k.owner {
                    Owner::User(u) => Some(org.users[usize::from(u)].id.clone()),
                    Owner::ServiceAccount(_) => None,
                },
                deleted: !k.listed,
            })
            .collect()
    }

    /// Every cost row from `from` to `to`.
    pub fn cost_lines(&self, from: Date, to: Date) -> Vec<CostLine> {
        let (a, b) = Self::days(from, to);
        self.data
            .costs
            .between(a, b)
            .map(|c| self.cost_line(c))
            .collect()
    }

    fn cost_line(&self, c: &CostRow) -> CostLine {
        let org = &self.data.org;
        CostLine {
            day: self.day(c.day),
            project_id: org.projects[usize::from(c.project)].id.clone(),
            api_key_id: c.key.map(|k| org.keys[usize::from(k)].id.clone()),
            line_item: self.data.line_items[usize::from(c.item)].name.clone(),
            nanos: c.nanos,
        }
    }

    /// Total billed, in nano-dollars.
    pub fn total_cost_nanos(&self, from: Date, to: Date) -> u64 {
        let (a, b) = Self::days(from, to);
        self.data.costs.between(a, b).map(|c| c.nanos).sum()
    }

    /// Total billed, in dollars, exact (e.g. `"1234.567891234"`).
    pub fn total_cost_usd(&self, from: Date, to: Date) -> String {
        money::dollars(self.total_cost_nanos(from, to))
    }

    fn cost_by<K: Ord>(
        &self,
        from: Date,
        to: Date,
        key: impl Fn(&CostLine) -> K,
    ) -> BTreeMap<K, String> {
        let mut sums: BTreeMap<K, u64> = BTreeMap::new();
        for line in self.cost_lines(from, to) {
            *sums.entry(key(&line)).or_default() += line.nanos;
        }
        sums.into_iter()
            .map(|(k, nanos)| (k, money::dollars(nanos)))
            .collect()
    }

    /// Dollars per project id.
    pub fn cost_usd_by_project(&self, from: Date, to: Date) -> BTreeMap<String, String> {
        self.cost_by(from, to, |l| l.project_id.clone())
    }

    /// Dollars per line item (e.g. `"gpt-4o-2024-08-06, cached input"`).
    pub fn cost_usd_by_line_item(&self, from: Date, to: Date) -> BTreeMap<String, String> {
        self.cost_by(from, to, |l| l.line_item.clone())
    }

    /// Dollars per day.
    pub fn cost_usd_by_day(&self, from: Date, to: Date) -> BTreeMap<Date, String> {
        self.cost_by(from, to, |l| l.day)
    }

    /// Dollars per (day, project id, line item): the grain of `/organization/costs` grouped by
    /// `project_id` and `line_item`.
    pub fn cost_usd_by_day_project_line_item(
        &self,
        from: Date,
        to: Date,
    ) -> BTreeMap<(Date, String, String), String> {
        self.cost_by(from, to, |l| {
            (l.day, l.project_id.clone(), l.line_item.clone())
        })
    }

    /// Every usage row from `from` to `to`.
    pub fn usage_lines(&self, from: Date, to: Date) -> Vec<UsageLine> {
        let (a, b) = Self::days(from, to);
        let org = &self.data.org;
        self.data
            .usage
            .between(a, b)
            .map(|u| {
                let key = &org.keys[usize::from(u.key)];
                let mut totals = UsageTotals::default();
                totals.add(u);
                UsageLine {
                    day: self.day(u.day),
                    project_id: org.projects[usize::from(u.project)].id.clone(),
                    api_key_id: key.id.clone(),
                    user_id: match key.owner {
                        Owner::User(i) => Some(org.users[usize::from(i)].id.clone()),
                        Owner::ServiceAccount(_) => None,
                    },
                    model: u.model.name().to_owned(),
                    size: u.size.map(|s| s.text().to_owned()),
                    totals,
                }
            })
            .collect()
    }

    fn usage_by(
        &self,
        from: Date,
        to: Date,
        key: impl Fn(&UsageRow) -> String,
    ) -> BTreeMap<String, UsageTotals> {
        let (a, b) = Self::days(from, to);
        let mut sums: BTreeMap<String, UsageTotals> = BTreeMap::new();
        for u in self.data.usage.between(a, b) {
            sums.entry(key(u)).or_default().add(u);
        }
        sums
    }

    /// Usage per API key id (all endpoints together).
    pub fn usage_by_key(&self, from: Date, to: Date) -> BTreeMap<String, UsageTotals> {
        let keys = &self.data.org.keys;
        self.usage_by(from, to, |u| keys[usize::from(u.key)].id.clone())
    }

    /// Usage per model.
    pub fn usage_by_model(&self, from: Date, to: Date) -> BTreeMap<String, UsageTotals> {
        self.usage_by(from, to, |u| u.model.name().to_owned())
    }

    /// Usage per project id.
    pub fn usage_by_project(&self, from: Date, to: Date) -> BTreeMap<String, UsageTotals> {
        let projects = &self.data.org.projects;
        self.usage_by(from, to, |u| projects[usize::from(u.project)].id.clone())
    }
}
