//! The PiAPI fake's generated task history: tasks per day with models, actions, statuses,
//! service modes, usage types and consumption in PiAPI's units (1e-7 USD for `llm`).

use crate::common::prng::SplitMix64;

/// One kind of task: (task_model, action, usage type, usage per task range).
pub(crate) struct Kind {
    pub(crate) model: &'static str,
    pub(crate) action: &'static str,
    pub(crate) usage_type: &'static str,
    pub(crate) usage: (u64, u64),
}

pub(crate) const KINDS: &[Kind] = &[
    // Sora 2 at $0.08/s: 4 s = 3,200,000 (the doc's own example), up to 12 s.
    Kind {
        model: "sora2",
        action: "sora2-video",
        usage_type: "llm",
        usage: (3_200_000, 9_600_000),
    },
    Kind {
        model: "kling",
        action: "video_generation",
        usage_type: "llm",
        usage: (1_300_000, 5_200_000),
    },
    Kind {
        model: "Qubico/flux1-dev",
        action: "txt2img",
        usage_type: "llm",
        usage: (150_000, 450_000),
    },
    Kind {
        model: "music-u",
        action: "generate_music",
        usage_type: "llm",
        usage: (400_000, 800_000),
    },
    Kind {
        model: "gpt-4o-mini",
        action: "chat",
        usage_type: "llm",
        usage: (1_234, 98_765),
    },
    // Midjourney quota: a usage type with no documented dollar rate.
    Kind {
        model: "mj",
        action: "imagine",
        usage_type: "point",
        usage: (8, 32),
    },
];

/// The API key ids of the account's keys.
pub(crate) const KEY_IDS: [u64; 2] = [3112, 3187];

#[derive(Debug, Clone)]
pub(crate) struct Task {
    /// History row id (unique, grows with time).
    pub(crate) id: u64,
    pub(crate) task_id: String,
    pub(crate) kind: usize,
    /// Unix seconds, UTC.
    pub(crate) created: i64,
    pub(crate) status: &'static str,
    /// `public` (PAYG) or `private` (HYA).
    pub(crate) service_mode: &'static str,
    pub(crate) usage: u64,
    pub(crate) api_key_id: u64,
    /// Written as `+08:00` local time (else `Z` with nanoseconds).
    pub(crate) plus_eight: bool,
    /// Written in camelCase (else snake_case).
    pub(crate) camel: bool,
}

impl Task {
    pub(crate) fn kind(&self) -> &'static Kind {
        &KINDS[self.kind]
    }

    /// Whether the task is charged in dollars: usage type `llm`, PAYG.
    pub(crate) fn is_priced(&self) -> bool {
        self.kind().usage_type == "llm" && self.service_mode == "public"
    }
}

#[derive(Debug)]
pub(crate) struct Data {
    pub(crate) first_day: i64,
    pub(crate) today: i64,
    /// Oldest first.
    pub(crate) tasks: Vec<Task>,
    /// `equivalent_in_usd` in 1e-7 USD.
    pub(crate) balance_units: u64,
}

const STATUSES: [&str; 5] = ["completed", "Completed", "success", "finished", "completed"];

impl Data {
    pub(crate) fn generate(seed: u64, first_day: i64, today: i64) -> Data {
        let mut tasks = Vec::new();
        let mut id = 7_700_000;
        for day in first_day..=today {
            let mut rng = SplitMix64::for_cell(seed, &[0x0D1A_7117, day as u64]);
            let count = rng.range(0, 6);
            let mut seconds: Vec<i64> = (0..count).map(|_| rng.range(0, 86_399) as i64).collect();
            seconds.sort_unstable();
            for second in seconds {
                id += 1;
                let kind = rng.range(0, KINDS.len() as u64 - 1) as usize;
                let (lo, hi) = KINDS[kind].usage;
                let mut usage = rng.range(lo, hi);
                let roll = rng.range(0, 99);
                let (status, service_mode) = match roll {
                    0..=5 => {
                        usage = 0;
                        ("failed", "public")
                    }
                    // A failed task that was still charged.
                    6..=7 => ("failed", "public"),
                    8..=11 => ("completed", "private"),
                    _ => (STATUSES[(roll % 5) as usize], "public"),
                };
                tasks.push(Task {
                    id,
                    task_id: format!(
                        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
                        rng.next_u64() as u32,
                        rng.range(0, 0xffff),
                        rng.range(0, 0xfff),
                        rng.range(0, 0xfff),
                        rng.next_u64() & 0xffff_ffff_ffff
                    ),
                    kind,
                    created: day * 86_400 + second,
                    status,
                    service_mode,
                    usage,
                    api_key_id: KEY_IDS[(id % 2) as usize],
                    plus_eight: id % 3 == 0,
                    camel: id % 5 == 0,
                });
            }
        }
        let mut rng = SplitMix64::for_cell(seed, &[0x0BA1_A7CE]);
        Data {
            first_day,
            today,
            tasks,
            balance_units: rng.range(500_000_000, 2_000_000_000),
        }
    }
}
