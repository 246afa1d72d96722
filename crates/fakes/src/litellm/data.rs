//! The LiteLLM proxy's generated data: users, teams, virtual keys (stored by SHA-256 hash), and
//! the `LiteLLM_DailyUserSpend` rollup rows — one per (user, UTC day, key, model, provider) —
//! with spend in integer nano-dollars, computed up front from the seed.
//!
//! Spend is LiteLLM's own estimate from the fake's price table (nano-dollars per token, close to
//! 2025 list prices). `healthcheck` makes one tiny call a day (25 prompt + 12 completion tokens
//! of `gpt-4o-mini` = $0.00001095, written `1.095e-05`). Failed requests cost nothing.

use sha2::{Digest, Sha256};

use crate::common::daily::{Daily, growth, is_weekend, scaled};
use crate::common::prng::{BASE64URL, SplitMix64};

/// A deployment: `model`, `model_group`, `custom_llm_provider` and nano-dollars per token.
pub(crate) struct ModelSpec {
    pub(crate) model: &'static str,
    pub(crate) group: &'static str,
    pub(crate) provider: &'static str,
    pub(crate) input: u64,
    pub(crate) output: u64,
    pub(crate) cache_read: u64,
    pub(crate) cache_write: u64,
}

const fn m(
    model: &'static str,
    group: &'static str,
    provider: &'static str,
    prices: [u64; 4],
) -> ModelSpec {
    ModelSpec {
        model,
        group,
        provider,
        input: prices[0],
        output: prices[1],
        cache_read: prices[2],
        cache_write: prices[3],
    }
}

/// The index of the model-less spec: requests LiteLLM logged without a model.
pub(crate) const NO_MODEL: u8 = 7;

pub(crate) const MODELS: [ModelSpec; 8] = [
    m("gpt-4o-mini", "gpt-4o-mini", "openai", [150, 600, 75, 0]),
    m("gpt-4o", "gpt-4o", "openai", [2_500, 10_000, 1_250, 0]),
    m("gpt-4o", "gpt-4o", "azure", [2_500, 10_000, 1_250, 0]),
    m(
        "claude-sonnet-4-20250514",
        "claude-sonnet",
        "anthropic",
        [3_000, 15_000, 300, 3_750],
    ),
    m(
        "text-embedding-3-small",
        "embeddings",
        "openai",
        [20, 0, 0, 0],
    ),
    m(
        "gemini-2.5-flash",
        "gemini-flash",
        "vertex_ai",
        [300, 2_500, 75, 0],
    ),
    m(
        "anthropic.claude-3-haiku-20240307-v1:0",
        "claude-haiku",
        "bedrock",
        [250, 1_250, 0, 0],
    ),
    m("", "", "", [150, 600, 0, 0]),
];

/// `(user_id, user_role, user_email)`.
pub(crate) const USERS: [(&str, &str, Option<&str>); 4] = [
    ("alice", "proxy_admin", Some("alice@example.com")),
    ("bob", "internal_user", Some("bob@example.com")),
    ("carol", "internal_user", Some("carol@example.com")),
    ("default_user_id", "proxy_admin", None),
];

/// The user of requests made with the master key.
pub(crate) const MASTER_USER: u8 = 3;

/// `(team_alias, members as (user, role))`.
pub(crate) const TEAMS: [(&str, &[(u8, &str)]); 3] = [
    ("Platform", &[(0, "admin"), (1, "user")]),
    ("Support", &[(2, "admin")]),
    ("Research", &[(1, "admin"), (2, "user")]),
];

/// One deployment a key calls, and how much on a weekday at the start of the window.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Use {
    pub(crate) model: u8,
    pub(crate) requests: u64,
    pub(crate) prompt: u64,
    pub(crate) completion: u64,
    /// Per mille of prompt tokens read from the cache (a subset of `prompt_tokens`).
    pub(crate) cache_read_permille: u64,
    /// Per mille of prompt tokens written to the cache.
    pub(crate) cache_write_permille: u64,
}

const fn u(model: u8, requests: u64, prompt: u64, completion: u64) -> Use {
    Use {
        model,
        requests,
        prompt,
        completion,
        cache_read_permille: 0,
        cache_write_permille: 0,
    }
}

const fn cache(use_: Use, read: u64, write: u64) -> Use {
    Use {
        cache_read_permille: read,
        cache_write_permille: write,
        ..use_
    }
}

pub(crate) struct KeySpec {
    pub(crate) alias: &'static str,
    pub(crate) team: Option<u8>,
    pub(crate) user: u8,
    pub(crate) deleted: bool,
    /// `(max_budget dollars, budget_duration)`.
    pub(crate) budget: Option<(u64, &'static str)>,
    /// Active from..until (exclusive), thousandths of the window.
    pub(crate) active: (i64, i64),
    pub(crate) idle_permille: u64,
    /// `None`: exactly one request a day of 25 + 12 tokens (the health check).
    pub(crate) uses: &'static [Use],
}

const fn key(
    alias: &'static str,
    team: Option<u8>,
    user: u8,
    active: (i64, i64),
    idle_permille: u64,
    uses: &'static [Use],
) -> KeySpec {
    KeySpec {
        alias,
        team,
        user,
        deleted: false,
        budget: None,
        active,
        idle_permille,
        uses,
    }
}

/// Index of the non-admin key (`bob-dev`, owned by `bob`, an `internal_user`).
pub(crate) const NON_ADMIN_KEY: usize = 2;
/// Index of the health-check key.
pub(crate) const HEALTHCHECK_KEY: usize = 4;

pub(crate) const KEYS: [KeySpec; 13] = [
    KeySpec {
        budget: Some((500, "30d")),
        ..key(
            "prod-backend",
            Some(0),
            0,
            (0, 1000),
            20,
            &[cache(u(0, 900, 1_200, 350), 250, 0), u(2, 140, 2_000, 500)],
        )
    },
    key(
        "support-bot",
        Some(1),
        2,
        (0, 1000),
        20,
        &[cache(u(3, 160, 3_500, 700), 400, 60), u(4, 1_500, 400, 0)],
    ),
    key(
        "bob-dev",
        Some(2),
        1,
        (0, 1000),
        150,
        &[u(1, 45, 1_800, 600), u(5, 80, 2_200, 500)],
    ),
    key(
        "batch-etl",
        Some(0),
        0,
        (100, 1000),
        80,
        &[u(6, 700, 1_500, 200), u(0, 300, 900, 250)],
    ),
    key("healthcheck", None, 0, (0, 1000), 0, &[u(0, 1, 25, 12)]),
    KeySpec {
        budget: Some((200, "7d")),
        ..key(
            "research-agent",
            Some(2),
            1,
            (250, 1000),
            60,
            &[cache(u(3, 60, 6_000, 1_500), 550, 80), u(1, 40, 2_500, 800)],
        )
    },
    key(
        "carol-notebook",
        None,
        2,
        (0, 1000),
        300,
        &[u(5, 50, 3_000, 700)],
    ),
    key(
        "ci-runner-1",
        Some(0),
        0,
        (0, 1000),
        850,
        &[u(0, 40, 800, 200)],
    ),
    key(
        "ci-runner-2",
        Some(0),
        0,
        (0, 1000),
        850,
        &[u(0, 40, 800, 200)],
    ),
    key(
        "ci-runner-3",
        Some(0),
        0,
        (300, 1000),
        850,
        &[u(0, 40, 800, 200)],
    ),
    key(
        "ci-runner-4",
        Some(0),
        0,
        (600, 1000),
        900,
        &[u(4, 200, 300, 0)],
    ),
    key("ci-runner-5", Some(0), 1, (0, 1000), 1000, &[]),
    KeySpec {
        deleted: true,
        ..key(
            "old-prototype",
            Some(1),
            2,
            (0, 400),
            50,
            &[u(1, 60, 1_500, 400), u(3, 20, 2_000, 500)],
        )
    },
];

/// What the master key itself is used for (an admin's occasional manual tests).
const MASTER_USES: [Use; 1] = [u(1, 6, 1_000, 300)];

/// A virtual key (or the master key) as the fake knows it.
#[derive(Debug, Clone)]
pub(crate) struct Key {
    pub(crate) raw: String,
    /// `sha256(raw)` hex: the `token` and every `api_key` field.
    pub(crate) hash: String,
    pub(crate) alias: Option<&'static str>,
    pub(crate) team: Option<u8>,
    pub(crate) user: u8,
    pub(crate) deleted: bool,
    pub(crate) master: bool,
    pub(crate) budget: Option<(u64, &'static str)>,
    /// Unix seconds.
    pub(crate) created_at: i64,
}

impl Key {
    /// `sk-...abcd`.
    pub(crate) fn masked(&self) -> String {
        let tail: String = self
            .raw
            .chars()
            .skip(self.raw.chars().count().saturating_sub(4))
            .collect();
        format!("sk-...{tail}")
    }

    pub(crate) fn listed(&self) -> bool {
        !self.deleted && !self.master
    }
}

/// One `LiteLLM_DailyUserSpend` row.
#[derive(Debug, Clone)]
pub(crate) struct Row {
    pub(crate) day: i64,
    pub(crate) user: u8,
    /// Index into [`Data::keys`].
    pub(crate) key: u8,
    pub(crate) model: u8,
    pub(crate) spend: u64,
    pub(crate) prompt: u64,
    pub(crate) completion: u64,
    pub(crate) cache_read: u64,
    pub(crate) cache_creation: u64,
    pub(crate) requests: u64,
    pub(crate) successful: u64,
    pub(crate) failed: u64,
}

#[derive(Debug)]
pub(crate) struct Data {
    pub(crate) first_day: i64,
    /// The proxy's current UTC date, the last day with data.
    pub(crate) today: i64,
    pub(crate) team_ids: Vec<String>,
    /// [`KEYS`] in order, then the master key last.
    pub(crate) keys: Vec<Key>,
    pub(crate) rows: Daily<Row>,
}

pub(crate) fn sha256_hex(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

fn team_uuid(rng: &mut SplitMix64) -> String {
    let hex = rng.string(b"0123456789abcdef", 32);
    format!(
        "{}-{}-4{}-8{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[13..16],
        &hex[17..20],
        &hex[20..32]
    )
}

impl Data {
    pub(crate) fn generate(
        seed: u64,
        first_day: i64,
        today: i64,
        master_key: &str,
        modelless: bool,
    ) -> Self {
        let days = today - first_day + 1;
        let mut rng = SplitMix64::for_cell(seed, &[0x0011_7E11]);
        let team_ids = TEAMS.iter().map(|_| team_uuid(&mut rng)).collect();
        let mut keys: Vec<Key> = KEYS
            .iter()
            .enumerate()
            .map(|(i, k)| {
                let raw = format!("sk-{}", rng.string(BASE64URL, 22));
                Key {
                    hash: sha256_hex(&raw),
                    raw,
                    alias: Some(k.alias),
                    team: k.team,
                    user: k.user,
                    deleted: k.deleted,
                    master: false,
                    budget: k.budget,
                    created_at: (first_day - 150 + 9 * i as i64) * 86_400 + 40_000 + i as i64,
                }
            })
            .collect();
        keys.push(Key {
            raw: master_key.to_owned(),
            hash: sha256_hex(master_key),
            alias: None,
            team: None,
            user: MASTER_USER,
            deleted: false,
            master: true,
            budget: None,
            created_at: (first_day - 400) * 86_400,
        });
        let master_index = keys.len() - 1;
        let mut rows = Daily::new(first_day);
        for day in first_day..=today {
            let growth = growth(day, first_day, days);
            let weekday = if is_weekend(day) { 350 } else { 1000 };
            let specs = KEYS
                .iter()
                .map(|k| (k.active, k.idle_permille, k.uses, k.user))
                .chain([((0, 1000), 750, &MASTER_USES[..], MASTER_USER)]);
            for (k, (active, idle_permille, uses, user)) in specs.enumerate() {
                if day < first_day + days * active.0 / 1000
                    || day >= first_day + days * active.1 / 1000
                {
                    continue;
                }
                let mut idle = SplitMix64::for_cell(seed, &[day as u64, k as u64, 0x1D]);
                if idle.chance(idle_permille) {
                    continue;
                }
                for (n, use_) in uses.iter().enumerate() {
                    let mut rng = SplitMix64::for_cell(seed, &[day as u64, k as u64, n as u64]);
                    let row = if k == HEALTHCHECK_KEY {
                        let spec = &MODELS[usize::from(use_.model)];
                        Row {
                            day,
                            user,
                            key: k as u8,
                            model: use_.model,
                            spend: 25 * spec.input + 12 * spec.output,
                            prompt: 25,
                            completion: 12,
                            cache_read: 0,
                            cache_creation: 0,
                            requests: 1,
                            successful: 1,
                            failed: 0,
                        }
                    } else {
                        let requests =
                            scaled(use_.requests, &[growth, weekday, rng.range(750, 1_250)]);
                        if requests == 0 {
                            continue;
                        }
                        let failed = rng.range(0, requests / 40 + 1).min(requests);
                        let ok = requests - failed;
                        let prompt = ok * scaled(use_.prompt, &[rng.range(800, 1_200)]);
                        let completion = ok * scaled(use_.completion, &[rng.range(800, 1_200)]);
                        let cache_read = scaled(prompt, &[use_.cache_read_permille]);
                        let cache_creation =
                            scaled(prompt, &[use_.cache_write_permille]).min(prompt - cache_read);
                        let spec = &MODELS[usize::from(use_.model)];
                        let spend = (prompt - cache_read - cache_creation) * spec.input
                            + cache_read * spec.cache_read
                            + cache_creation * spec.cache_write
                            + completion * spec.output;
                        Row {
                            day,
                            user,
                            key: k as u8,
                            model: use_.model,
                            spend,
                            prompt,
                            completion,
                            cache_read,
                            cache_creation,
                            requests,
                            successful: ok,
                            failed,
                        }
                    };
                    rows.push(row);
                }
                // The first key also makes a few requests a day that LiteLLM logs without a
                // model (pass-through routes, failed routing).
                if modelless && k == 0 {
                    let requests = 3 + (day.rem_euclid(5)) as u64;
                    let (prompt, completion) = (requests * 800, requests * 100);
                    let spec = &MODELS[usize::from(NO_MODEL)];
                    rows.push(Row {
                        day,
                        user,
                        key: 0,
                        model: NO_MODEL,
                        spend: prompt * spec.input + completion * spec.output,
                        prompt,
                        completion,
                        cache_read: 0,
                        cache_creation: 0,
                        requests,
                        successful: requests,
                        failed: 0,
                    });
                }
            }
            rows.close_day();
        }
        debug_assert_eq!(master_index, KEYS.len());
        Self {
            first_day,
            today,
            team_ids,
            keys,
            rows,
        }
    }

    pub(crate) fn user_id(&self, user: u8) -> &'static str {
        USERS[usize::from(user)].0
    }

    pub(crate) fn is_admin(&self, user: u8) -> bool {
        matches!(
            USERS[usize::from(user)].1,
            "proxy_admin" | "proxy_admin_viewer"
        )
    }

    pub(crate) fn teams_of(&self, user: u8) -> Vec<u8> {
        TEAMS
            .iter()
            .enumerate()
            .filter(|(_, (_, members))| members.iter().any(|(m, _)| *m == user))
            .map(|(i, _)| i as u8)
            .collect()
    }
}
