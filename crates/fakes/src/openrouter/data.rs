//! The OpenRouter account's generated data: three workspaces, three members, 126 API keys (one
//! of them the regular key a test can use, one deleted, a few disabled) and, per (UTC day, key,
//! model, provider endpoint), requests, tokens, credit usage and BYOK inference cost, all in
//! integer nano-dollars, computed up front from the seed.
//!
//! Prices (nano-dollars per token = dollars per million tokens × 1000) are the fake's own table,
//! close to 2025 list prices; several models are served by two providers at different prices.
//! `completion_tokens` include `reasoning_tokens`; `cached_tokens` are a subset of
//! `prompt_tokens` billed at the cached price. A BYOK key's rows carry the upstream inference
//! cost in `byok_usage_inference` and only OpenRouter's 5 % fee in `usage`.

use sha2::{Digest, Sha256};

use crate::common::daily::{Daily, growth, is_weekend, scaled};
use crate::common::prng::{ALPHANUMERIC, SplitMix64};

/// A model as OpenRouter names it.
pub(crate) struct ModelSpec {
    pub(crate) slug: &'static str,
    pub(crate) permaslug: &'static str,
}

pub(crate) const MODELS: [ModelSpec; 10] = [
    ModelSpec {
        slug: "openai/gpt-4.1",
        permaslug: "openai/gpt-4.1-2025-04-14",
    },
    ModelSpec {
        slug: "openai/o4-mini",
        permaslug: "openai/o4-mini-2025-04-16",
    },
    ModelSpec {
        slug: "anthropic/claude-sonnet-4",
        permaslug: "anthropic/claude-4-sonnet-20250522",
    },
    ModelSpec {
        slug: "google/gemini-2.5-flash",
        permaslug: "google/gemini-2.5-flash",
    },
    ModelSpec {
        slug: "google/gemini-2.5-pro",
        permaslug: "google/gemini-2.5-pro",
    },
    ModelSpec {
        slug: "meta-llama/llama-3.3-70b-instruct",
        permaslug: "meta-llama/llama-3.3-70b-instruct",
    },
    ModelSpec {
        slug: "deepseek/deepseek-chat-v3-0324",
        permaslug: "deepseek/deepseek-chat-v3-0324",
    },
    ModelSpec {
        slug: "deepseek/deepseek-r1",
        permaslug: "deepseek/deepseek-r1",
    },
    ModelSpec {
        slug: "mistralai/mistral-small-3.2-24b-instruct",
        permaslug: "mistralai/mistral-small-3.2-24b-instruct-2506",
    },
    ModelSpec {
        slug: "qwen/qwen3-235b-a22b",
        permaslug: "qwen/qwen3-235b-a22b-04-28",
    },
];

/// One provider endpoint serving a model: its prices in nano-dollars per token.
pub(crate) struct EndpointSpec {
    pub(crate) model: u8,
    pub(crate) provider: &'static str,
    pub(crate) input: u64,
    pub(crate) cached: u64,
    pub(crate) output: u64,
}

const fn ep(
    model: u8,
    provider: &'static str,
    input: u64,
    cached: u64,
    output: u64,
) -> EndpointSpec {
    EndpointSpec {
        model,
        provider,
        input,
        cached,
        output,
    }
}

pub(crate) const ENDPOINTS: [EndpointSpec; 13] = [
    ep(0, "OpenAI", 2_000, 500, 8_000),
    ep(1, "OpenAI", 1_100, 275, 4_400),
    ep(2, "Anthropic", 3_000, 300, 15_000),
    ep(2, "Google", 3_000, 300, 15_000),
    ep(3, "Google AI Studio", 300, 75, 2_500),
    ep(4, "Google", 1_250, 310, 10_000),
    ep(5, "DeepInfra", 230, 230, 400),
    ep(5, "Together", 880, 880, 880),
    ep(6, "DeepSeek", 270, 70, 1_100),
    ep(6, "Fireworks", 900, 900, 900),
    ep(7, "DeepSeek", 550, 140, 2_190),
    ep(8, "Mistral", 100, 100, 300),
    ep(9, "DeepInfra", 130, 130, 600),
];

/// One endpoint a key uses, and how much on a weekday at the start of the window.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Use {
    pub(crate) endpoint: u8,
    pub(crate) requests: u64,
    pub(crate) prompt: u64,
    pub(crate) completion: u64,
    /// Per mille of completion tokens that are reasoning tokens.
    pub(crate) reasoning_permille: u64,
    /// Per mille of prompt tokens read from the cache.
    pub(crate) cached_permille: u64,
    /// Bring-your-own-key: the upstream bills the inference, OpenRouter charges a 5 % fee.
    pub(crate) byok: bool,
}

const fn u(endpoint: u8, requests: u64, prompt: u64, completion: u64) -> Use {
    Use {
        endpoint,
        requests,
        prompt,
        completion,
        reasoning_permille: 0,
        cached_permille: 0,
        byok: false,
    }
}

const fn byok(use_: Use) -> Use {
    Use { byok: true, ..use_ }
}

const fn cached(use_: Use, cached_permille: u64) -> Use {
    Use {
        cached_permille,
        ..use_
    }
}

const fn reasoning(use_: Use, reasoning_permille: u64) -> Use {
    Use {
        reasoning_permille,
        ..use_
    }
}

pub(crate) struct WorkspaceSpec {
    pub(crate) name: &'static str,
    pub(crate) slug: &'static str,
}

pub(crate) const WORKSPACES: [WorkspaceSpec; 3] = [
    WorkspaceSpec {
        name: "Default Workspace",
        slug: "default",
    },
    WorkspaceSpec {
        name: "Research",
        slug: "research",
    },
    WorkspaceSpec {
        name: "Data Pipeline",
        slug: "data-pipeline",
    },
];

/// Organization members who create keys.
pub(crate) const MEMBERS: usize = 3;

/// A named (non-customer) key.
pub(crate) struct KeySpec {
    pub(crate) name: &'static str,
    pub(crate) workspace: u8,
    pub(crate) creator: Option<u8>,
    pub(crate) disabled: bool,
    /// Deleted: its usage is in `/activity` and `/credits`, the key is in no list.
    pub(crate) deleted: bool,
    pub(crate) limit_dollars: Option<u64>,
    pub(crate) limit_reset: Option<&'static str>,
    /// Active from..until (exclusive), thousandths of the window.
    pub(crate) active: (i64, i64),
    pub(crate) uses: &'static [Use],
}

/// Index (in [`Org::keys`]) of the regular key the fake accepts.
pub(crate) const REGULAR_KEY: usize = 0;

pub(crate) const NAMED_KEYS: [KeySpec; 13] = [
    KeySpec {
        name: "prod-backend",
        workspace: 0,
        creator: Some(0),
        disabled: false,
        deleted: false,
        limit_dollars: Some(1_500),
        limit_reset: Some("monthly"),
        active: (0, 1000),
        uses: &[
            cached(u(0, 180, 1_800, 420), 300),
            cached(u(2, 90, 3_200, 650), 450),
            u(3, 60, 1_200, 300),
        ],
    },
    KeySpec {
        name: "staging",
        workspace: 0,
        creator: Some(1),
        disabled: false,
        deleted: false,
        limit_dollars: None,
        limit_reset: None,
        active: (0, 1000),
        uses: &[u(5, 70, 900, 250), u(6, 40, 1_100, 380)],
    },
    KeySpec {
        name: "byok-anthropic",
        workspace: 0,
        creator: Some(0),
        disabled: false,
        deleted: false,
        limit_dollars: Some(50),
        limit_reset: None,
        active: (150, 1000),
        uses: &[byok(cached(u(2, 55, 4_000, 800), 500))],
    },
    KeySpec {
        name: "chat-frontend",
        workspace: 0,
        creator: Some(2),
        disabled: false,
        deleted: false,
        limit_dollars: Some(300),
        limit_reset: Some("weekly"),
        active: (0, 1000),
        uses: &[cached(u(8, 160, 700, 300), 200), u(9, 45, 700, 300)],
    },
    KeySpec {
        name: "old-prototype",
        workspace: 0,
        creator: Some(1),
        disabled: true,
        deleted: false,
        limit_dollars: None,
        limit_reset: None,
        active: (0, 400),
        uses: &[u(7, 25, 600, 150)],
    },
    KeySpec {
        name: "hackathon-2025",
        workspace: 0,
        creator: Some(2),
        disabled: false,
        deleted: true,
        limit_dollars: None,
        limit_reset: None,
        active: (100, 450),
        uses: &[u(0, 30, 1_500, 500), u(5, 20, 800, 200)],
    },
    KeySpec {
        name: "research-notebooks",
        workspace: 1,
        creator: Some(1),
        disabled: false,
        deleted: false,
        limit_dollars: Some(400),
        limit_reset: Some("monthly"),
        active: (0, 1000),
        uses: &[
            reasoning(u(1, 40, 2_500, 2_200), 700),
            cached(u(2, 15, 6_000, 900), 600),
        ],
    },
    KeySpec {
        name: "eval-harness",
        workspace: 1,
        creator: Some(2),
        disabled: false,
        deleted: false,
        limit_dollars: None,
        limit_reset: None,
        active: (200, 1000),
        uses: &[u(4, 30, 5_000, 1_200), u(0, 25, 3_000, 700)],
    },
    KeySpec {
        name: "research-archive",
        workspace: 1,
        creator: Some(0),
        disabled: true,
        deleted: false,
        limit_dollars: None,
        limit_reset: None,
        active: (0, 0),
        uses: &[],
    },
    KeySpec {
        name: "etl-summaries",
        workspace: 2,
        creator: Some(0),
        disabled: false,
        deleted: false,
        limit_dollars: None,
        limit_reset: None,
        active: (0, 1000),
        uses: &[u(11, 400, 1_500, 200), u(12, 120, 1_800, 350)],
    },
    KeySpec {
        name: "pipeline-reasoning",
        workspace: 2,
        creator: Some(1),
        disabled: false,
        deleted: false,
        limit_dollars: Some(200),
        limit_reset: Some("daily"),
        active: (300, 1000),
        uses: &[cached(reasoning(u(10, 35, 2_000, 3_000), 650), 250)],
    },
    KeySpec {
        name: "pipeline-fallback",
        workspace: 2,
        creator: Some(1),
        disabled: false,
        deleted: false,
        limit_dollars: None,
        limit_reset: None,
        active: (0, 1000),
        uses: &[u(7, 6, 800, 250), u(6, 10, 1_000, 300)],
    },
    KeySpec {
        name: "vertex-sonnet",
        workspace: 2,
        creator: Some(2),
        disabled: false,
        deleted: false,
        limit_dollars: None,
        limit_reset: None,
        active: (500, 1000),
        uses: &[u(3, 30, 1_000, 200), u(2, 12, 2_500, 500)],
    },
];

/// Customer keys provisioned through the management API, all in the default workspace.
pub(crate) const CUSTOMER_KEYS: usize = 113;

/// A key as the fake knows it.
#[derive(Debug, Clone)]
pub(crate) struct Key {
    pub(crate) secret: String,
    pub(crate) hash: String,
    pub(crate) name: String,
    pub(crate) workspace: u8,
    pub(crate) creator: Option<u8>,
    pub(crate) disabled: bool,
    pub(crate) deleted: bool,
    pub(crate) limit_dollars: Option<u64>,
    pub(crate) limit_reset: Option<&'static str>,
    /// Unix seconds.
    pub(crate) created_at: i64,
    pub(crate) updated_at: Option<i64>,
}

impl Key {
    /// `sk-or-v1-abc...890`.
    pub(crate) fn label(&self) -> String {
        let head: String = self.secret.chars().take(12).collect();
        let tail: String = self
            .secret
            .chars()
            .skip(self.secret.len().saturating_sub(3))
            .collect();
        format!("{head}...{tail}")
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Workspace {
    pub(crate) id: String,
    pub(crate) name: &'static str,
    pub(crate) slug: &'static str,
    pub(crate) created_at: i64,
}

/// One key's use of one provider endpoint on one day.
#[derive(Debug, Clone)]
pub(crate) struct Row {
    pub(crate) day: i64,
    pub(crate) key: u16,
    pub(crate) endpoint: u8,
    pub(crate) requests: u64,
    pub(crate) prompt: u64,
    pub(crate) completion: u64,
    pub(crate) reasoning: u64,
    pub(crate) cached: u64,
    /// OpenRouter credits spent (`usage`), nano-dollars.
    pub(crate) usage: u64,
    /// Upstream BYOK inference cost (`byok_usage_inference`), nano-dollars.
    pub(crate) byok: u64,
}

#[derive(Debug)]
pub(crate) struct Data {
    pub(crate) first_day: i64,
    /// The fake's current UTC date (the last day with data; never in `/activity`).
    pub(crate) today: i64,
    pub(crate) workspaces: Vec<Workspace>,
    pub(crate) member_ids: Vec<String>,
    pub(crate) endpoint_ids: Vec<String>,
    pub(crate) keys: Vec<Key>,
    pub(crate) management_key: String,
    pub(crate) rows: Daily<Row>,
    pub(crate) total_credits_nanos: u64,
    /// Per key: `(usage, byok_usage)` windows.
    pub(crate) windows: Vec<(Windows, Windows)>,
}

pub(crate) fn sha256_hex(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// A version-4-shaped UUID from the generator.
pub(crate) fn uuid(rng: &mut SplitMix64) -> String {
    let hex = rng.string(b"0123456789abcdef", 32);
    format!(
        "{}-{}-4{}-a{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[13..16],
        &hex[17..20],
        &hex[20..32]
    )
}

fn key_secret(rng: &mut SplitMix64) -> String {
    format!("sk-or-v1-{}", rng.string(b"0123456789abcdef", 64))
}

struct Spec<'a> {
    active: (i64, i64),
    uses: &'a [Use],
    idle_permille: u64,
}

impl Data {
    pub(crate) fn generate(seed: u64, first_day: i64, today: i64) -> Self {
        let days = today - first_day + 1;
        let mut rng = SplitMix64::for_cell(seed, &[0x09E7_0A7E]);
        let day_start = |d: i64| d * 86_400;
        let workspaces = WORKSPACES
            .iter()
            .enumerate()
            .map(|(i, w)| Workspace {
                id: uuid(&mut rng),
                name: w.name,
                slug: w.slug,
                created_at: day_start(first_day - 400 + 30 * i as i64) + 36_000,
            })
            .collect();
        let member_ids = (0..MEMBERS)
            .map(|_| format!("user_{}", rng.string(ALPHANUMERIC, 27)))
            .collect();
        let endpoint_ids = ENDPOINTS.iter().map(|_| uuid(&mut rng)).collect();
        let management_key = key_secret(&mut rng);
        let mut keys = Vec::new();
        let mut specs = Vec::new();
        for (i, k) in NAMED_KEYS.iter().enumerate() {
            let secret = key_secret(&mut rng);
            let created_at = day_start(first_day - 200 + 7 * i as i64) + 50_000 + i as i64 * 13;
            keys.push(Key {
                hash: sha256_hex(&secret),
                secret,
                name: k.name.to_owned(),
                workspace: k.workspace,
                creator: k.creator,
                disabled: k.disabled,
                deleted: k.deleted,
                limit_dollars: k.limit_dollars,
                limit_reset: k.limit_reset,
                created_at,
                updated_at: k
                    .disabled
                    .then_some(day_start(first_day + days * k.active.1 / 1000) + 3_600),
            });
            specs.push(Spec {
                active: k.active,
                uses: k.uses,
                idle_permille: 30,
            });
        }
        const CUSTOMER_USES: [[Use; 1]; 3] = [
            [u(5, 6, 600, 180)],
            [u(8, 9, 500, 220)],
            [u(6, 4, 900, 300)],
        ];
        for c in 0..CUSTOMER_KEYS {
            let secret = key_secret(&mut rng);
            keys.push(Key {
                hash: sha256_hex(&secret),
                secret,
                name: format!("customer-{:03}", c + 1),
                workspace: 0,
                creator: None,
                disabled: c % 9 == 4,
                deleted: false,
                limit_dollars: Some(5),
                limit_reset: Some("daily"),
                created_at: day_start(first_day - 180 + c as i64) + 43_200 + c as i64,
                updated_at: None,
            });
            specs.push(Spec {
                active: if c % 9 == 4 { (0, 500) } else { (0, 1000) },
                uses: &CUSTOMER_USES[c % 3],
                idle_permille: 900,
            });
        }
        let mut rows = Daily::new(first_day);
        for day in first_day..=today {
            let growth = growth(day, first_day, days);
            let weekday = if is_weekend(day) { 400 } else { 1000 };
            for (k, spec) in specs.iter().enumerate() {
                let (from, until) = spec.active;
                if day < first_day + days * from / 1000 || day >= first_day + days * until / 1000 {
                    continue;
                }
                let mut idle = SplitMix64::for_cell(seed, &[day as u64, k as u64, 0x1D]);
                if idle.chance(spec.idle_permille) {
                    continue;
                }
                for (n, use_) in spec.uses.iter().enumerate() {
                    let mut rng = SplitMix64::for_cell(seed, &[day as u64, k as u64, n as u64]);
                    let requests = scaled(use_.requests, &[growth, weekday, rng.range(750, 1_250)]);
                    if requests == 0 {
                        continue;
                    }
                    let prompt = requests * scaled(use_.prompt, &[rng.range(800, 1_200)]);
                    let completion = requests * scaled(use_.completion, &[rng.range(800, 1_200)]);
                    let reasoning = scaled(completion, &[use_.reasoning_permille]);
                    let cached =
                        scaled(prompt, &[use_.cached_permille, rng.range(800, 1_200)]).min(prompt);
                    let e = &ENDPOINTS[usize::from(use_.endpoint)];
                    let cost =
                        (prompt - cached) * e.input + cached * e.cached + completion * e.output;
                    let (usage, byok) = if use_.byok {
                        (cost * 5 / 100, cost)
                    } else {
                        (cost, 0)
                    };
                    rows.push(Row {
                        day,
                        key: k as u16,
                        endpoint: use_.endpoint,
                        requests,
                        prompt,
                        completion,
                        reasoning,
                        cached,
                        usage,
                        byok,
                    });
                }
            }
            rows.close_day();
        }
        let used: u64 = rows.all().iter().map(|r| r.usage).sum();
        let hundred = 100_000_000_000;
        let total_credits_nanos = (used / hundred + 3) * hundred + 500_000_000;
        let mut data = Self {
            first_day,
            today,
            workspaces,
            member_ids,
            endpoint_ids,
            keys,
            management_key,
            rows,
            total_credits_nanos,
            windows: Vec::new(),
        };
        data.windows = data.compute_windows();
        data
    }

    /// The first and last day `/activity` covers: the 30 completed UTC days before `today`.
    pub(crate) fn activity_window(&self) -> (i64, i64) {
        (self.today - 30, self.today - 1)
    }

    /// Monday of `today`'s week and the first of `today`'s month.
    pub(crate) fn week_and_month_start(&self) -> (i64, i64) {
        let week = self.today - (self.today + 3).rem_euclid(7);
        let month = crate::common::time_text::date_of(self.today)
            .and_then(|d| d.replace_day(1).ok())
            .map_or(self.today, crate::common::time_text::unix_day);
        (week, month)
    }
}

/// A key's spend totals, nano-dollars: lifetime, today, this week, this month.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Windows {
    pub(crate) all: u64,
    pub(crate) daily: u64,
    pub(crate) weekly: u64,
    pub(crate) monthly: u64,
}

impl Data {
    /// `(usage, byok_usage)` windows of key `k`.
    pub(crate) fn key_windows(&self, k: usize) -> (Windows, Windows) {
        self.windows.get(k).copied().unwrap_or_default()
    }

    fn compute_windows(&self) -> Vec<(Windows, Windows)> {
        let (week, month) = self.week_and_month_start();
        let mut out = vec![(Windows::default(), Windows::default()); self.keys.len()];
        for r in self.rows.all() {
            let Some((usage, byok)) = out.get_mut(usize::from(r.key)) else {
                continue;
            };
            for (w, v) in [(usage, r.usage), (byok, r.byok)] {
                w.all += v;
                if r.day == self.today {
                    w.daily += v;
                }
                if r.day >= week {
                    w.weekly += v;
                }
                if r.day >= month {
                    w.monthly += v;
                }
            }
        }
        out
    }
}
