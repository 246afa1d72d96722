//! The Runway organization's generated data: per (UTC day, model) the generations started, the
//! credits charged and the credits refunded, computed up front from the seed.
//!
//! Amounts are integer credits (1 credit = $0.01). Net = charged − refunded and may be negative:
//! on a few days a model gets a bulk refund larger than that day's charges (always on
//! `today − 10` for `veo3.1`, when that day is in the data). One day has no usage at all
//! (`today − 20`, when in the data), and `act_two` is idle on weekends, so days and models
//! without usage are absent from the usage report.

use crate::common::daily::{Daily, growth, is_weekend, scaled};
use crate::common::prng::SplitMix64;

/// One model Runway bills, and how the organization uses it.
pub(crate) struct ModelSpec {
    pub(crate) name: &'static str,
    /// Credits per generation, one drawn per generation.
    pub(crate) credits_per_generation: &'static [i64],
    /// Generations on a weekday at the start of the window.
    pub(crate) generations: u64,
    /// Active from this share of the window (thousandths).
    pub(crate) from_permille: i64,
    pub(crate) weekends: bool,
    /// `(maxConcurrentGenerations, maxDailyGenerations)`; `None` = no limit (JSON null).
    pub(crate) tier: (Option<u32>, Option<u32>),
}

pub(crate) const MODELS: [ModelSpec; 6] = [
    ModelSpec {
        name: "gen4_turbo",
        credits_per_generation: &[25, 50],
        generations: 22,
        from_permille: 0,
        weekends: true,
        tier: (Some(5), Some(500)),
    },
    ModelSpec {
        name: "gen4.5",
        credits_per_generation: &[60, 120],
        generations: 8,
        from_permille: 250,
        weekends: true,
        tier: (Some(2), Some(200)),
    },
    ModelSpec {
        name: "gen4_image",
        credits_per_generation: &[5, 8],
        generations: 45,
        from_permille: 0,
        weekends: true,
        tier: (Some(10), None),
    },
    ModelSpec {
        name: "veo3.1",
        credits_per_generation: &[320, 400],
        generations: 2,
        from_permille: 300,
        weekends: true,
        tier: (Some(1), Some(50)),
    },
    ModelSpec {
        name: "act_two",
        credits_per_generation: &[50],
        generations: 3,
        from_permille: 0,
        weekends: false,
        tier: (None, None),
    },
    ModelSpec {
        name: "eleven_multilingual_v2",
        credits_per_generation: &[2, 3, 5, 8],
        generations: 16,
        from_permille: 100,
        weekends: true,
        tier: (Some(10), Some(1000)),
    },
];

/// Index of `veo3.1` in [`MODELS`], the model of the guaranteed refund day.
const VEO: u8 = 3;

/// One model's activity on one day.
#[derive(Debug, Clone)]
pub(crate) struct UsageRow {
    pub(crate) day: i64,
    pub(crate) model: u8,
    pub(crate) generations: u64,
    pub(crate) charged: i64,
    pub(crate) refunded: i64,
}

impl UsageRow {
    /// Net credits, as the usage report states them.
    pub(crate) fn net(&self) -> i64 {
        self.charged - self.refunded
    }

    pub(crate) fn model_name(&self) -> &'static str {
        MODELS[usize::from(self.model)].name
    }
}

#[derive(Debug)]
pub(crate) struct Data {
    pub(crate) first_day: i64,
    /// The configured `today`: the fake's current UTC date, the last day with data.
    pub(crate) today: i64,
    pub(crate) usage: Daily<UsageRow>,
    pub(crate) credit_balance: i64,
    pub(crate) max_monthly_credit_spend: i64,
}

impl Data {
    pub(crate) fn generate(seed: u64, first_day: i64, today: i64) -> Self {
        let days = today - first_day + 1;
        let mut usage = Daily::new(first_day);
        for day in first_day..=today {
            if day == today - 20 {
                usage.close_day();
                continue;
            }
            let growth = growth(day, first_day, days);
            let weekend = is_weekend(day);
            for (m, spec) in MODELS.iter().enumerate() {
                if day < first_day + days * spec.from_permille / 1000 || (weekend && !spec.weekends)
                {
                    continue;
                }
                let mut rng = SplitMix64::for_cell(seed, &[day as u64, m as u64, 0x0012_00A7]);
                let weekday = if weekend { 450 } else { 1000 };
                let generations =
                    scaled(spec.generations, &[growth, weekday, rng.range(700, 1300)])
                        .max(u64::from(m == usize::from(VEO) && day == today - 10));
                let mut charged = 0;
                for _ in 0..generations {
                    let i = rng.range(0, spec.credits_per_generation.len() as u64 - 1) as usize;
                    charged += spec.credits_per_generation[i];
                }
                // A few failed generations are refunded the same day.
                let failed = rng.range(0, 2).min(generations / 4);
                let mut refunded = failed as i64 * spec.credits_per_generation[0];
                // A bulk refund (for an earlier outage) now and then, larger than the day's charges.
                let bulk = (m == usize::from(VEO) && day == today - 10) || rng.chance(12);
                if bulk && charged > 0 {
                    refunded = charged + spec.credits_per_generation[0] * rng.range(1, 4) as i64;
                }
                if generations == 0 && refunded == 0 {
                    continue;
                }
                usage.push(UsageRow {
                    day,
                    model: m as u8,
                    generations,
                    charged,
                    refunded,
                });
            }
            usage.close_day();
        }
        let total: i64 = usage.all().iter().map(UsageRow::net).sum();
        let purchased = (total.max(0) / 10_000 + 1) * 10_000 + 5_000;
        Self {
            first_day,
            today,
            usage,
            credit_balance: purchased - total,
            max_monthly_credit_spend: 100_000,
        }
    }
}
