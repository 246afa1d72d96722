//! The fake OpenAI organization: five projects (one archived), four users, three service
//! accounts and thirteen project API keys — twelve listed, one deleted (it appears in usage and
//! costs but in no key list) — and what each key uses. Ids and key material come from the seed.

use super::models::{ImageSize, Model};
use crate::common::prng::{ALPHANUMERIC, SplitMix64};

/// A share of the data window, in thousandths (0 = its first day, 1000 = the day after its last).
pub(crate) type Permille = i64;

pub(crate) struct ProjectSpec {
    pub(crate) name: &'static str,
    /// Archived at this point of the window; it has no usage from then on.
    pub(crate) archived_at: Option<Permille>,
}

pub(crate) const PROJECTS: [ProjectSpec; 5] = [
    ProjectSpec {
        name: "Default project",
        archived_at: None,
    },
    ProjectSpec {
        name: "Customer Support Bot",
        archived_at: None,
    },
    ProjectSpec {
        name: "Search & Retrieval",
        archived_at: None,
    },
    ProjectSpec {
        name: "Marketing Studio",
        archived_at: None,
    },
    ProjectSpec {
        name: "Legacy Prototype",
        archived_at: Some(625),
    },
];

/// Index of the project that pays for web search calls and vector storage.
pub(crate) const SEARCH_PROJECT: u8 = 2;

pub(crate) const USERS: [(&str, &str, &str); 4] = [
    ("Alice Martin", "alice@example.com", "owner"),
    ("Bob Chen", "bob@example.com", "member"),
    ("Carla Diaz", "carla@example.com", "member"),
    ("Dev Patel", "dev@example.com", "member"),
];

pub(crate) const SERVICE_ACCOUNTS: [&str; 3] = ["support-bot", "search-indexer", "legacy-batch"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Owner {
    User(u8),
    ServiceAccount(u8),
}

/// One model a key uses, and how much on a weekday at the start of the window.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Use {
    pub(crate) model: Model,
    pub(crate) size: Option<ImageSize>,
    pub(crate) requests: u64,
    /// Input tokens (characters for tts-1, seconds for whisper-1) per request.
    pub(crate) per_request_in: u64,
    pub(crate) per_request_out: u64,
    /// Share of input tokens read from the cache, percent.
    pub(crate) cached_pct: u64,
    /// Weekend volume as a percentage of a weekday's.
    pub(crate) weekend_pct: u64,
}

const fn text(model: Model, requests: u64, per_in: u64, per_out: u64, cached_pct: u64) -> Use {
    Use {
        model,
        size: None,
        requests,
        per_request_in: per_in,
        per_request_out: per_out,
        cached_pct,
        weekend_pct: 35,
    }
}

const fn other(model: Model, requests: u64, per_in: u64) -> Use {
    text(model, requests, per_in, 0, 0)
}

const fn image(size: ImageSize, requests: u64) -> Use {
    Use {
        size: Some(size),
        ..other(Model::DallE3, requests, 0)
    }
}

const fn weekend(use_: Use, weekend_pct: u64) -> Use {
    Use {
        weekend_pct,
        ..use_
    }
}

pub(crate) struct KeySpec {
    pub(crate) name: &'static str,
    pub(crate) project: u8,
    pub(crate) owner: Owner,
    /// False for the deleted key: in usage and costs, in no key list.
    pub(crate) listed: bool,
    /// Active from..until (exclusive) in thousandths of the window.
    pub(crate) active: (Permille, Permille),
    /// Chance in thousandths that the key is idle on a given day.
    pub(crate) idle_permille: u64,
    pub(crate) uses: &'static [Use],
}

use Model::*;
use Owner::{ServiceAccount as Sa, User as Person};

pub(crate) const KEYS: [KeySpec; 13] = [
    KeySpec {
        name: "default-key",
        project: 0,
        owner: Person(0),
        listed: true,
        active: (0, 1000),
        idle_permille: 0,
        uses: &[
            text(Gpt4oMini, 800, 900, 250, 20),
            text(Gpt41, 150, 2_000, 400, 30),
            other(TextEmbedding3Small, 300, 500),
        ],
    },
    KeySpec {
        name: "alice-notebook",
        project: 0,
        owner: Person(0),
        listed: true,
        active: (0, 1000),
        idle_permille: 400,
        uses: &[
            text(Gpt4o, 60, 3_000, 800, 10),
            text(O4Mini, 40, 1_500, 2_500, 5),
        ],
    },
    KeySpec {
        name: "support-prod",
        project: 1,
        owner: Sa(0),
        listed: true,
        active: (0, 1000),
        idle_permille: 0,
        uses: &[
            weekend(text(Gpt4oMini, 12_000, 1_500, 300, 45), 80),
            weekend(text(Gpt4o, 900, 2_500, 450, 35), 80),
            weekend(other(OmniModeration, 12_000, 400), 80),
            weekend(other(TextEmbedding3Small, 3_000, 200), 80),
        ],
    },
    KeySpec {
        name: "support-staging",
        project: 1,
        owner: Person(1),
        listed: true,
        active: (0, 1000),
        idle_permille: 100,
        uses: &[weekend(text(Gpt4oMini, 400, 1_500, 300, 40), 10)],
    },
    KeySpec {
        name: "support-evals",
        project: 1,
        owner: Person(2),
        listed: true,
        active: (300, 1000),
        idle_permille: 200,
        uses: &[
            text(Gpt41, 500, 3_000, 600, 25),
            text(O4Mini, 300, 2_000, 3_000, 10),
        ],
    },
    KeySpec {
        name: "search-indexer",
        project: 2,
        owner: Sa(1),
        listed: true,
        active: (0, 1000),
        idle_permille: 0,
        uses: &[weekend(other(TextEmbedding3Small, 20_000, 800), 100)],
    },
    KeySpec {
        name: "search-api",
        project: 2,
        owner: Sa(1),
        listed: true,
        active: (0, 1000),
        idle_permille: 0,
        uses: &[
            weekend(text(Gpt41, 2_500, 4_000, 350, 50), 60),
            weekend(text(Gpt4oMini, 6_000, 2_000, 200, 30), 60),
        ],
    },
    KeySpec {
        name: "search-legacy",
        project: 2,
        owner: Person(3),
        listed: false,
        active: (0, 500),
        idle_permille: 0,
        uses: &[
            text(Gpt4o, 1_500, 3_500, 400, 20),
            other(TextEmbedding3Small, 5_000, 600),
        ],
    },
    KeySpec {
        name: "creative-studio",
        project: 3,
        owner: Person(1),
        listed: true,
        active: (0, 1000),
        idle_permille: 50,
        uses: &[
            weekend(image(ImageSize::Square1024, 120), 20),
            weekend(image(ImageSize::Portrait1024x1792, 45), 20),
        ],
    },
    KeySpec {
        name: "voice-over",
        project: 3,
        owner: Person(1),
        listed: true,
        active: (0, 1000),
        idle_permille: 150,
        uses: &[other(Tts1, 200, 900)],
    },
    KeySpec {
        name: "transcriber",
        project: 3,
        owner: Person(3),
        listed: true,
        active: (100, 1000),
        idle_permille: 0,
        uses: &[other(Whisper1, 300, 95)],
    },
    KeySpec {
        name: "legacy-bot",
        project: 4,
        owner: Person(2),
        listed: true,
        active: (0, 625),
        idle_permille: 0,
        uses: &[weekend(text(Gpt4oMini, 3_000, 1_200, 250, 20), 90)],
    },
    KeySpec {
        name: "legacy-batch",
        project: 4,
        owner: Sa(2),
        listed: true,
        active: (0, 625),
        idle_permille: 0,
        uses: &[text(Gpt4o, 700, 2_800, 600, 0)],
    },
];

/// A project as the fake serves it.
#[derive(Debug, Clone)]
pub(crate) struct Project {
    pub(crate) id: String,
    pub(crate) name: &'static str,
    pub(crate) created_at: i64,
    pub(crate) archived_at: Option<i64>,
}

#[derive(Debug, Clone)]
pub(crate) struct User {
    pub(crate) id: String,
    pub(crate) name: &'static str,
    pub(crate) email: &'static str,
    pub(crate) role: &'static str,
    pub(crate) added_at: i64,
}

#[derive(Debug, Clone)]
pub(crate) struct ServiceAccount {
    pub(crate) id: String,
    pub(crate) name: &'static str,
    pub(crate) created_at: i64,
}

#[derive(Debug, Clone)]
pub(crate) struct Key {
    pub(crate) id: String,
    pub(crate) name: &'static str,
    pub(crate) project: u8,
    pub(crate) owner: Owner,
    pub(crate) listed: bool,
    pub(crate) redacted_value: String,
    pub(crate) created_at: i64,
}

/// The organization with its seeded ids.
#[derive(Debug, Clone)]
pub(crate) struct Org {
    pub(crate) projects: Vec<Project>,
    pub(crate) users: Vec<User>,
    pub(crate) service_accounts: Vec<ServiceAccount>,
    pub(crate) keys: Vec<Key>,
}

/// The day (Unix day number) at `permille` of a window of `days` days starting at `first_day`.
pub(crate) fn window_day(first_day: i64, days: i64, permille: Permille) -> i64 {
    first_day + days * permille / 1000
}

impl Org {
    pub(crate) fn build(seed: u64, first_day: i64, days: i64) -> Self {
        let mut rng = SplitMix64::for_cell(seed, &[0x0009_E4A1]);
        let day_start = |day: i64| day * 86_400;
        let before_window = day_start(first_day - 400);
        let projects = PROJECTS
            .iter()
            .enumerate()
            .map(|(i, spec)| Project {
                id: format!("proj_{}", rng.string(ALPHANUMERIC, 24)),
                name: spec.name,
                created_at: before_window + i as i64 * 30 * 86_400 + rng.range(0, 86_399) as i64,
                archived_at: spec.archived_at.map(|p| {
                    day_start(window_day(first_day, days, p)) + rng.range(0, 3_599) as i64
                }),
            })
            .collect();
        let users = USERS
            .iter()
            .enumerate()
            .map(|(i, &(name, email, role))| User {
                id: format!("user-{}", rng.string(ALPHANUMERIC, 24)),
                name,
                email,
                role,
                added_at: before_window - 86_400 * (10 - i as i64),
            })
            .collect();
        let service_accounts = SERVICE_ACCOUNTS
            .iter()
            .enumerate()
            .map(|(i, &name)| ServiceAccount {
                id: format!("svc_acct_{}", rng.string(ALPHANUMERIC, 24)),
                name,
                created_at: before_window + 86_400 * (60 + 20 * i as i64),
            })
            .collect();
        let keys = KEYS
            .iter()
            .map(|spec| {
                let prefix = match spec.owner {
                    Owner::User(_) => "sk-proj-",
                    Owner::ServiceAccount(_) => "sk-svcacct-",
                };
                let secret = rng.string(ALPHANUMERIC, 48);
                let created_day = window_day(first_day, days, spec.active.0) - 3;
                Key {
                    id: format!("key_{}", rng.string(ALPHANUMERIC, 16)),
                    name: spec.name,
                    project: spec.project,
                    owner: spec.owner,
                    listed: spec.listed,
                    redacted_value: format!("{prefix}{}...{}", &secret[..3], &secret[44..]),
                    created_at: day_start(created_day) + rng.range(0, 86_399) as i64,
                }
            })
            .collect();
        Self {
            projects,
            users,
            service_accounts,
            keys,
        }
    }
}
