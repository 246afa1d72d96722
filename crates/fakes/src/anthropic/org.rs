//! The fake Anthropic organization: the default workspace (`workspace_id: null`) plus four
//! named ones (one archived), three users, a service account, twelve API keys of every status
//! (7 active, 2 inactive, 2 archived, 1 expired) and Console traffic without a key. Ids and key
//! hints come from the seed.

use super::models::{Context, Model, Tier};
use crate::common::prng::{BASE58, SplitMix64};

/// A share of the data window in thousandths (see the OpenAI org for the same convention).
pub(crate) type Permille = i64;

pub(crate) struct WorkspaceSpec {
    pub(crate) name: &'static str,
    pub(crate) display_color: &'static str,
    pub(crate) archived_at: Option<Permille>,
}

pub(crate) const WORKSPACES: [WorkspaceSpec; 4] = [
    WorkspaceSpec {
        name: "Production",
        display_color: "#6C5BB9",
        archived_at: None,
    },
    WorkspaceSpec {
        name: "Research",
        display_color: "#4A90E2",
        archived_at: None,
    },
    WorkspaceSpec {
        name: "Internal Tools",
        display_color: "#2EB67D",
        archived_at: None,
    },
    WorkspaceSpec {
        name: "Sandbox",
        display_color: "#E8912D",
        archived_at: Some(700),
    },
];

/// The workspace with code execution costs.
pub(crate) const CODE_EXECUTION_WORKSPACE: Option<u8> = Some(1);

pub(crate) const USERS: [&str; 3] = ["Alice Martin", "Bob Chen", "Carla Diaz"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Creator {
    User(u8),
    ServiceAccount,
    /// A legacy key: `created_by` is null.
    Unknown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Status {
    Active,
    Inactive,
    Archived,
    Expired,
}

impl Status {
    pub(crate) fn text(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Inactive => "inactive",
            Self::Archived => "archived",
            Self::Expired => "expired",
        }
    }
}

/// One model a key (or the Console) uses, per weekday at the start of the window.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Use {
    pub(crate) model: Model,
    pub(crate) tier: Tier,
    pub(crate) context: Context,
    /// Requests per day (only to scale tokens: the API reports no request counts).
    pub(crate) requests: u64,
    /// Per request: uncached input, 5m cache writes, 1h cache writes, cache reads, output.
    pub(crate) tokens: [u64; 5],
    /// Web searches per 1,000 requests.
    pub(crate) searches_per_mille: u64,
    /// Weekend volume, percent of a weekday's.
    pub(crate) weekend_pct: u64,
}

const fn std(model: Model, requests: u64, tokens: [u64; 5]) -> Use {
    Use {
        model,
        tier: Tier::Standard,
        context: Context::Upto200k,
        requests,
        tokens,
        searches_per_mille: 0,
        weekend_pct: 40,
    }
}

const fn batch(use_: Use) -> Use {
    Use {
        tier: Tier::Batch,
        weekend_pct: 100,
        ..use_
    }
}

const fn long(use_: Use) -> Use {
    Use {
        context: Context::Over200k,
        ..use_
    }
}

const fn searching(use_: Use, searches_per_mille: u64) -> Use {
    Use {
        searches_per_mille,
        ..use_
    }
}

pub(crate) struct KeySpec {
    pub(crate) name: &'static str,
    /// `None`: the default workspace.
    pub(crate) workspace: Option<u8>,
    pub(crate) status: Status,
    pub(crate) creator: Creator,
    /// In use from..until (exclusive), thousandths of the window.
    pub(crate) active: (Permille, Permille),
    pub(crate) uses: &'static [Use],
}

use Model::*;

pub(crate) const KEYS: [KeySpec; 12] = [
    KeySpec {
        name: "prod-api",
        workspace: Some(0),
        status: Status::Active,
        creator: Creator::User(0),
        active: (0, 1000),
        uses: &[
            std(Sonnet45, 5_000, [1_200, 300, 0, 6_000, 450]),
            std(Haiku45, 20_000, [800, 100, 0, 2_000, 200]),
        ],
    },
    KeySpec {
        name: "prod-batch",
        workspace: Some(0),
        status: Status::Active,
        creator: Creator::ServiceAccount,
        active: (0, 1000),
        uses: &[
            batch(std(Haiku45, 15_000, [2_500, 0, 0, 0, 400])),
            batch(std(Haiku35, 8_000, [1_800, 0, 0, 0, 300])),
        ],
    },
    KeySpec {
        name: "prod-old",
        workspace: Some(0),
        status: Status::Inactive,
        creator: Creator::User(0),
        active: (0, 400),
        uses: &[std(Sonnet45, 3_000, [1_500, 200, 0, 3_000, 500])],
    },
    KeySpec {
        name: "research-agents",
        workspace: Some(1),
        status: Status::Active,
        creator: Creator::User(1),
        active: (0, 1000),
        uses: &[
            searching(std(Opus41, 250, [3_000, 800, 1_500, 12_000, 900]), 300),
            searching(
                long(std(Sonnet45, 60, [150_000, 2_000, 4_000, 90_000, 1_500])),
                150,
            ),
        ],
    },
    KeySpec {
        name: "research-evals",
        workspace: Some(1),
        status: Status::Expired,
        creator: Creator::User(1),
        active: (0, 550),
        uses: &[
            std(Opus41, 300, [5_000, 0, 0, 0, 1_200]),
            std(Haiku45, 2_000, [4_000, 0, 0, 0, 600]),
        ],
    },
    KeySpec {
        name: "tools-slackbot",
        workspace: Some(2),
        status: Status::Active,
        creator: Creator::User(2),
        active: (0, 1000),
        uses: &[
            std(Haiku45, 4_000, [600, 150, 0, 1_500, 250]),
            std(Haiku35, 2_500, [500, 0, 0, 0, 200]),
        ],
    },
    KeySpec {
        name: "tools-summarizer",
        workspace: Some(2),
        status: Status::Active,
        creator: Creator::ServiceAccount,
        active: (150, 1000),
        uses: &[std(Sonnet45, 1_500, [6_000, 500, 0, 2_000, 700])],
    },
    KeySpec {
        name: "sandbox-alice",
        workspace: Some(3),
        status: Status::Archived,
        creator: Creator::User(0),
        active: (0, 700),
        uses: &[std(Sonnet45, 200, [2_000, 0, 0, 0, 600])],
    },
    KeySpec {
        name: "sandbox-bob",
        workspace: Some(3),
        status: Status::Archived,
        creator: Creator::User(1),
        active: (0, 700),
        uses: &[std(Haiku45, 500, [1_000, 0, 0, 0, 300])],
    },
    KeySpec {
        name: "default-legacy",
        workspace: None,
        status: Status::Active,
        creator: Creator::Unknown,
        active: (0, 1000),
        uses: &[std(Haiku35, 3_000, [700, 0, 0, 0, 250])],
    },
    KeySpec {
        name: "default-cli",
        workspace: None,
        status: Status::Active,
        creator: Creator::User(2),
        active: (300, 1000),
        uses: &[std(Sonnet45, 1_200, [2_500, 400, 0, 8_000, 900])],
    },
    KeySpec {
        name: "default-temp",
        workspace: None,
        status: Status::Inactive,
        creator: Creator::User(0),
        active: (0, 0),
        uses: &[],
    },
];

/// Console (Workbench) traffic: `api_key_id: null`, in these workspaces.
pub(crate) const CONSOLE: [(Option<u8>, Use); 3] = [
    (None, std(Sonnet45, 120, [2_000, 0, 0, 0, 700])),
    (None, std(Opus41, 30, [3_000, 0, 0, 0, 1_000])),
    (Some(1), std(Sonnet45, 80, [4_000, 0, 0, 0, 900])),
];

#[derive(Debug, Clone)]
pub(crate) struct Workspace {
    pub(crate) id: String,
    pub(crate) name: &'static str,
    pub(crate) display_color: &'static str,
    pub(crate) created_at: i64,
    pub(crate) archived_at: Option<i64>,
}

#[derive(Debug, Clone)]
pub(crate) struct Key {
    pub(crate) id: String,
    pub(crate) name: &'static str,
    pub(crate) workspace: Option<u8>,
    pub(crate) status: Status,
    pub(crate) creator: Creator,
    pub(crate) partial_key_hint: String,
    pub(crate) created_at: i64,
    pub(crate) expires_at: Option<i64>,
}

#[derive(Debug, Clone)]
pub(crate) struct Org {
    pub(crate) workspaces: Vec<Workspace>,
    pub(crate) users: Vec<(String, &'static str)>,
    pub(crate) service_account: String,
    pub(crate) keys: Vec<Key>,
}

/// The day at `permille` of a window of `days` days from `first_day`.
pub(crate) fn window_day(first_day: i64, days: i64, permille: Permille) -> i64 {
    first_day + days * permille / 1000
}

impl Org {
    pub(crate) fn build(seed: u64, first_day: i64, days: i64) -> Self {
        let mut rng = SplitMix64::for_cell(seed, &[0xA17_4401]);
        let mut id = |prefix: &str| format!("{prefix}_01{}", rng.string(BASE58, 22));
        let before_window = (first_day - 300) * 86_400;
        let workspaces = WORKSPACES
            .iter()
            .enumerate()
            .map(|(i, w)| Workspace {
                id: id("wrkspc"),
                name: w.name,
                display_color: w.display_color,
                created_at: before_window + i as i64 * 40 * 86_400 + 3_600 * (i as i64 + 9),
                archived_at: w
                    .archived_at
                    .map(|p| window_day(first_day, days, p) * 86_400 + 11 * 3_600),
            })
            .collect();
        let users = USERS.iter().map(|&name| (id("user"), name)).collect();
        let service_account = id("svac");
        let mut keys = Vec::with_capacity(KEYS.len());
        for (i, k) in KEYS.iter().enumerate() {
            let key_id = id("apikey");
            let hint_rng = &mut SplitMix64::for_cell(seed, &[0x4E17, i as u64]);
            let head = hint_rng.string(BASE58, 3);
            let tail = hint_rng.string(BASE58, 2);
            let created_day = window_day(first_day, days, k.active.0) - 2 - i as i64;
            keys.push(Key {
                id: key_id,
                name: k.name,
                workspace: k.workspace,
                status: k.status,
                creator: k.creator,
                partial_key_hint: format!("sk-ant-api03-{head}...{tail}AA"),
                created_at: created_day * 86_400 + 3_600 * 10 + i as i64 * 61,
                expires_at: (k.status == Status::Expired)
                    .then(|| window_day(first_day, days, k.active.1) * 86_400),
            });
        }
        Self {
            workspaces,
            users,
            service_account,
            keys,
        }
    }
}
