//! The Anthropic organization's generated data: token usage per (day, workspace, key or
//! Console, model, service tier, context window), and cost per (day, workspace, cost item),
//! computed up front from the seed.

use std::collections::BTreeMap;

use super::models::{self, Context, Model, Tier, TokenType};
use super::org::{CODE_EXECUTION_WORKSPACE, CONSOLE, KEYS, Org, Use, window_day};
use crate::common::daily::{Daily, growth, is_weekend, scaled};
use crate::common::prng::SplitMix64;

/// One day's use of one model by one key (or the Console) in one tier and context window.
#[derive(Debug, Clone)]
pub(crate) struct UsageRow {
    pub(crate) day: i64,
    /// `None`: the default workspace.
    pub(crate) workspace: Option<u8>,
    /// `None`: Console traffic.
    pub(crate) key: Option<u8>,
    pub(crate) model: Model,
    pub(crate) tier: Tier,
    pub(crate) context: Context,
    pub(crate) uncached: u64,
    pub(crate) write_5m: u64,
    pub(crate) write_1h: u64,
    pub(crate) read: u64,
    pub(crate) output: u64,
    pub(crate) web_searches: u64,
}

impl UsageRow {
    pub(crate) fn tokens(&self, token: TokenType) -> u64 {
        match token {
            TokenType::Uncached => self.uncached,
            TokenType::Output => self.output,
            TokenType::CacheRead => self.read,
            TokenType::CacheWrite5m => self.write_5m,
            TokenType::CacheWrite1h => self.write_1h,
        }
    }
}

/// What a cost line is for; the cost report's description and its structured fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CostItem {
    pub(crate) description: String,
    pub(crate) cost_type: &'static str,
    pub(crate) model: Option<Model>,
    pub(crate) token_type: Option<TokenType>,
    pub(crate) tier: Option<Tier>,
    pub(crate) context: Option<Context>,
}

#[derive(Debug, Clone)]
pub(crate) struct CostRow {
    pub(crate) day: i64,
    pub(crate) workspace: Option<u8>,
    /// Index into [`Data::items`].
    pub(crate) item: u16,
    pub(crate) nanos: u64,
}

#[derive(Debug)]
pub(crate) struct Data {
    pub(crate) org: Org,
    pub(crate) first_day: i64,
    pub(crate) last_day: i64,
    pub(crate) items: Vec<CostItem>,
    pub(crate) usage: Daily<UsageRow>,
    pub(crate) costs: Daily<CostRow>,
}

struct Costs {
    items: Vec<CostItem>,
    index: BTreeMap<String, u16>,
    rows: Daily<CostRow>,
}

impl Costs {
    fn bill(&mut self, day: i64, workspace: Option<u8>, item: CostItem, nanos: u64) {
        if nanos == 0 {
            return;
        }
        let next = u16::try_from(self.items.len()).unwrap_or(u16::MAX);
        let index = *self.index.entry(item.description.clone()).or_insert(next);
        if index == next {
            self.items.push(item);
        }
        self.rows.push(CostRow {
            day,
            workspace,
            item: index,
            nanos,
        });
    }

    fn bill_usage(&mut self, u: &UsageRow) {
        for token in TokenType::ALL {
            let price = models::token_price(u.model, u.context, u.tier, token);
            let batch = if u.tier == Tier::Batch { " Batch" } else { "" };
            let long = if u.context == Context::Over200k {
                " Long Context"
            } else {
                ""
            };
            let item = CostItem {
                description: format!(
                    "{}{batch}{long} Usage - {}",
                    u.model.display(),
                    token.description()
                ),
                cost_type: "tokens",
                model: Some(u.model),
                token_type: Some(token),
                tier: Some(u.tier),
                context: Some(u.context),
            };
            self.bill(u.day, u.workspace, item, u.tokens(token) * price);
        }
        let search = CostItem {
            description: "Web Search Usage".into(),
            cost_type: "web_search",
            model: None,
            token_type: None,
            tier: None,
            context: None,
        };
        self.bill(
            u.day,
            u.workspace,
            search,
            u.web_searches * models::WEB_SEARCH,
        );
    }
}

struct Day {
    day: i64,
    growth: u64,
    weekend: bool,
}

fn usage_row(
    seed: u64,
    at: &Day,
    cell: &[u64],
    workspace: Option<u8>,
    key: Option<u8>,
    u: &Use,
) -> Option<UsageRow> {
    let mut coordinates = vec![at.day as u64];
    coordinates.extend_from_slice(cell);
    let mut rng = SplitMix64::for_cell(seed, &coordinates);
    let weekday = if at.weekend { u.weekend_pct * 10 } else { 1000 };
    let requests = scaled(u.requests, &[at.growth, weekday, rng.range(850, 1_150)]);
    if requests == 0 {
        return None;
    }
    let mut per_request = |i: usize| requests * scaled(u.tokens[i], &[rng.range(800, 1_200)]);
    let [uncached, write_5m, write_1h, read, output] = [0, 1, 2, 3, 4].map(&mut per_request);
    Some(UsageRow {
        day: at.day,
        workspace,
        key,
        model: u.model,
        tier: u.tier,
        context: u.context,
        uncached,
        write_5m,
        write_1h,
        read,
        output,
        web_searches: scaled(requests, &[u.searches_per_mille]),
    })
}

impl Data {
    /// `priority`: the first use of the first key runs on Priority Tier (usage only, no cost).
    pub(crate) fn generate(seed: u64, first_day: i64, last_day: i64, priority: bool) -> Self {
        let days = last_day - first_day + 1;
        let org = Org::build(seed, first_day, days);
        let mut costs = Costs {
            items: Vec::new(),
            index: BTreeMap::new(),
            rows: Daily::new(first_day),
        };
        let mut usage = Daily::new(first_day);
        for day in first_day..=last_day {
            let at = Day {
                day,
                growth: growth(day, first_day, days),
                weekend: is_weekend(day),
            };
            for (k, spec) in KEYS.iter().enumerate() {
                let (from, until) = spec.active;
                if day < window_day(first_day, days, from)
                    || day >= window_day(first_day, days, until)
                {
                    continue;
                }
                for (u, use_) in spec.uses.iter().enumerate() {
                    let cell = [k as u64, u as u64];
                    let use_ = if priority && k == 0 && u == 0 {
                        Use {
                            tier: Tier::Priority,
                            ..*use_
                        }
                    } else {
                        *use_
                    };
                    if let Some(row) =
                        usage_row(seed, &at, &cell, spec.workspace, Some(k as u8), &use_)
                    {
                        // The cost report leaves Priority Tier out.
                        if row.tier != Tier::Priority {
                            costs.bill_usage(&row);
                        }
                        usage.push(row);
                    }
                }
            }
            let mut rng = SplitMix64::for_cell(seed, &[day as u64, 0xC0_4501E]);
            for (c, (workspace, use_)) in CONSOLE.iter().enumerate() {
                if at.weekend || !rng.chance(600) {
                    continue;
                }
                let cell = [0xC0, c as u64];
                if let Some(row) = usage_row(seed, &at, &cell, *workspace, None, use_) {
                    costs.bill_usage(&row);
                    usage.push(row);
                }
            }
            if !at.weekend && rng.chance(600) {
                let centihours = rng.range(20, 600);
                let item = CostItem {
                    description: "Code Execution Usage".into(),
                    cost_type: "code_execution",
                    model: None,
                    token_type: None,
                    tier: None,
                    context: None,
                };
                let nanos = centihours * models::CODE_EXECUTION_CENTIHOUR;
                costs.bill(day, CODE_EXECUTION_WORKSPACE, item, nanos);
            }
            usage.close_day();
            costs.rows.close_day();
        }
        Self {
            org,
            first_day,
            last_day,
            items: costs.items,
            usage,
            costs: costs.rows,
        }
    }

    /// The end of the last day with data, the default `ending_at`.
    pub(crate) fn default_end(&self) -> i64 {
        (self.last_day + 1) * 86_400
    }
}
