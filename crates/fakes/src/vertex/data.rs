//! The fake billing export table: hourly rows (`usage_start_time` on the hour) per project and
//! SKU, computed up front from the seed (about 40,000 rows for 120 days).
//!
//! - `demo-app`: Gemini 2.5 Flash on Vertex AI (input, output, thinking), Gemini 2.0 Flash input
//!   until 60% of the window, Gemini 3 Flash caching from 50% on (and its storage, a few
//!   micro-GiB-hours a day: exponent-form `pricing_qty`), and the Gemini API (2.5 Pro short
//!   and long input, 2.5 Flash output, Grounding with Google Search in business hours,
//!   embeddings).
//! - `research-ml`: Gemini 2.5 Pro on Vertex AI in business hours, 2.5 Flash input, Gemini API
//!   cached image input.
//! - `data-platform`: BigQuery analysis and Compute Engine cores — not AI.
//! - Partner models sold through Vertex: Claude Sonnet 4.5 (input and output, business hours)
//!   for `research-ml`, Llama 3.3 input and output for `demo-app`, and Mistral Large input for
//!   `demo-app` from 30% of the window on. Google's credits do not apply to them.
//!
//! Credits (negative): a 3% `DISCOUNT` on every Vertex AI row of `demo-app` and every AI row of
//! `research-ml`; a `PROMOTION` (free trial) covering the rest of `research-ml`'s AI rows fully
//! until noon of the day at 35% of the window (the trial runs out mid-day); a 20%
//! `SUSTAINED_USAGE_DISCOUNT` on Compute Engine; and one credit-only row (cost 0, a $5
//! `PROMOTION`) for `demo-app` at 80% of the window. Each day has one `tax` row (8% of the
//! day's Gemini API cost, no project, NULL usage); one `adjustment` row (−$3.21, usage 0) lands
//! at 40% of the window. Amounts are USD, or converted at the configured rate. Each row lands
//! in an ingestion partition up to three days after its usage (see `Row::partition_day`).

use super::catalog::{
    CostType, DATA_PLATFORM, DEMO_APP, GEMINI_API, RESEARCH_ML, VERTEX_AI, ids, sku_of,
};
use crate::common::daily::{Daily, growth, is_weekend, scaled};
use crate::common::prng::SplitMix64;

type Permille = i64;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hours {
    All,
    /// 08:00–19:59 UTC.
    Business,
    /// Two seeded hours a day, a few units each.
    Few,
}

#[derive(Debug, Clone, Copy)]
struct Plan {
    project: u8,
    sku: u8,
    /// Quantity steps on a weekday at the start of the window.
    per_day: u64,
    weekend_pct: u64,
    active: (Permille, Permille),
    hours: Hours,
}

const fn plan(project: u8, sku: u8, per_day: u64, weekend_pct: u64, hours: Hours) -> Plan {
    Plan {
        project,
        sku,
        per_day,
        weekend_pct,
        active: (0, 1000),
        hours,
    }
}

const fn during(mut p: Plan, from: Permille, until: Permille) -> Plan {
    p.active = (from, until);
    p
}

use Hours::{All, Business, Few};

const PLANS: [Plan; 22] = [
    plan(DEMO_APP, ids::FLASH_IN, 30_000_000, 50, All),
    plan(DEMO_APP, ids::FLASH_OUT, 3_000_000, 50, All),
    plan(DEMO_APP, ids::FLASH_THINKING, 2_000_000, 50, All),
    during(
        plan(DEMO_APP, ids::FLASH_20_IN, 10_000_000, 50, All),
        0,
        600,
    ),
    during(plan(DEMO_APP, ids::CACHING, 20_000_000, 50, All), 500, 1000),
    during(plan(DEMO_APP, ids::CACHING_STORAGE, 0, 100, Few), 500, 1000),
    plan(DEMO_APP, ids::API_PRO_SHORT_IN, 5_000_000, 40, All),
    plan(DEMO_APP, ids::API_PRO_LONG_IN, 1_000_000, 40, All),
    plan(DEMO_APP, ids::API_FLASH_OUT, 2_000_000, 40, All),
    plan(DEMO_APP, ids::GROUNDING, 240, 20, Business),
    plan(DEMO_APP, ids::EMBEDDING, 8_000_000, 60, All),
    plan(RESEARCH_ML, ids::PRO_IN, 15_000_000, 10, Business),
    plan(RESEARCH_ML, ids::PRO_OUT, 1_500_000, 10, Business),
    plan(RESEARCH_ML, ids::FLASH_IN, 5_000_000, 30, All),
    plan(RESEARCH_ML, ids::API_CACHED_IMAGE, 4_000_000, 30, All),
    plan(DATA_PLATFORM, ids::BQ_ANALYSIS, 2_000_000, 20, Business),
    plan(DATA_PLATFORM, ids::N1_CORE, 96, 100, All),
    plan(RESEARCH_ML, ids::CLAUDE_IN, 2_000_000, 10, Business),
    plan(RESEARCH_ML, ids::CLAUDE_OUT, 200_000, 10, Business),
    plan(DEMO_APP, ids::LLAMA_IN, 4_000_000, 50, All),
    plan(DEMO_APP, ids::LLAMA_OUT, 600_000, 50, All),
    during(
        plan(DEMO_APP, ids::MISTRAL_IN, 3_000_000, 50, All),
        300,
        1000,
    ),
];

/// Share of a day's volume per UTC hour, per mille of an even share (averages about 1000).
const DIURNAL: [u64; 24] = [
    450, 400, 380, 380, 420, 520, 700, 900, 1100, 1300, 1450, 1550, 1600, 1600, 1550, 1450, 1350,
    1250, 1150, 1050, 900, 750, 600, 500,
];

/// One row of the export table.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Row {
    /// `usage_start_time` in Unix hours (the row covers one hour).
    pub(crate) hour: i64,
    /// `None`: `project` is NULL (tax rows).
    pub(crate) project: Option<u8>,
    pub(crate) sku: u8,
    pub(crate) cost_type: CostType,
    /// `usage.amount_in_pricing_units` × 10^scale; `None`: `usage` is NULL.
    pub(crate) quantity: Option<u64>,
    /// `cost`, billing-currency nano-units.
    pub(crate) cost: i64,
    /// `credits.amount` by type (≤ 0), billing-currency nano-units.
    pub(crate) promotion: i64,
    pub(crate) discount: i64,
    pub(crate) sustained: i64,
}

impl Row {
    pub(crate) fn credits(&self) -> i64 {
        self.promotion + self.discount + self.sustained
    }

    pub(crate) fn day(&self) -> i64 {
        self.hour.div_euclid(24)
    }

    /// The ingestion partition (`_PARTITIONTIME`, a UTC day) the row was loaded into: 2–31 hours
    /// after its usage hour, and one row in 23 late, 50–71 hours after (the document: loads
    /// have no latency guarantee; a ±3-day partition margin covers these).
    pub(crate) fn partition_day(&self) -> i64 {
        let mix = (self.hour as u64)
            .wrapping_mul(0x9E37_79B9_7F4A_7C15)
            .wrapping_add(u64::from(self.sku) * 0x0100_0193)
            .wrapping_add(u64::from(self.project.unwrap_or(0xFF)) * 0x1F3D_5B79);
        let mix = mix ^ (mix >> 29);
        let lag_hours = if mix.is_multiple_of(23) {
            50 + (mix >> 8) % 22
        } else {
            2 + (mix >> 8) % 30
        };
        (self.hour + lag_hours as i64).div_euclid(24)
    }

    /// `invoice.month` (`YYYYMM`): the month the row was loaded in. Usage loaded after its
    /// month ended lands on the next invoice (doc §1: "late usage can land on the next invoice
    /// month").
    pub(crate) fn invoice_month(&self) -> u32 {
        invoice_month_of(self.partition_day())
    }
}

/// `YYYYMM` of a Unix day.
pub(crate) fn invoice_month_of(day: i64) -> u32 {
    crate::common::time_text::date_of(day).map_or(0, |d| {
        d.year().unsigned_abs() * 100 + u32::from(u8::from(d.month()))
    })
}

#[derive(Debug)]
pub(crate) struct Data {
    pub(crate) first_day: i64,
    pub(crate) last_day: i64,
    pub(crate) rows: Daily<Row>,
}

fn window_day(first_day: i64, days: i64, permille: Permille) -> i64 {
    first_day + days * permille / 1000
}

/// USD nano-dollars in the billing currency: × rate (units per USD, in millionths), rounded down
/// toward zero.
fn convert(usd_nanos: i64, rate_micros: u64) -> i64 {
    let converted = i128::from(usd_nanos) * i128::from(rate_micros) / 1_000_000;
    i64::try_from(converted).unwrap_or(i64::MAX)
}

impl Data {
    pub(crate) fn generate(seed: u64, first_day: i64, last_day: i64, rate_micros: u64) -> Self {
        let days = last_day - first_day + 1;
        let at = |p: Permille| window_day(first_day, days, p);
        let promotion_ends = at(350) * 24 + 12;
        let mut rows = Daily::new(first_day);
        for day in first_day..=last_day {
            let growth = growth(day, first_day, days);
            let weekend = is_weekend(day);
            let mut gemini_api_cost = 0i64;
            for (i, p) in PLANS.iter().enumerate() {
                if day < at(p.active.0) || day >= at(p.active.1) {
                    continue;
                }
                let sku = sku_of(p.sku);
                let few_hours = {
                    let mut rng = SplitMix64::for_cell(seed, &[day as u64, i as u64, 0xF3]);
                    [rng.range(0, 11), rng.range(12, 23)]
                };
                for h in 0..24u64 {
                    let mut rng = SplitMix64::for_cell(seed, &[day as u64, i as u64, h]);
                    let quantity = match p.hours {
                        Hours::Few if few_hours.contains(&h) => rng.range(3, 20),
                        Hours::Few => 0,
                        Hours::Business if !(8..20).contains(&h) => 0,
                        _ if p.sku == ids::N1_CORE => p.per_day / 24,
                        hours => {
                            let shape = if hours == Hours::Business {
                                2000
                            } else {
                                DIURNAL[h as usize]
                            };
                            let weekday = if weekend { p.weekend_pct * 10 } else { 1000 };
                            scaled(
                                p.per_day / 24,
                                &[growth, weekday, shape, rng.range(850, 1_150)],
                            )
                        }
                    };
                    if quantity == 0 {
                        continue;
                    }
                    let hour = day * 24 + h as i64;
                    let usd =
                        i64::try_from(quantity.saturating_mul(sku.price_nanos)).unwrap_or(i64::MAX);
                    let cost = convert(usd, rate_micros);
                    let mut row = Row {
                        hour,
                        project: Some(p.project),
                        sku: p.sku,
                        cost_type: CostType::Regular,
                        quantity: Some(quantity),
                        cost,
                        promotion: 0,
                        discount: 0,
                        sustained: 0,
                    };
                    let vertex = sku.service == VERTEX_AI;
                    let google_ai = sku.service.ai && sku.service.first_party();
                    if (p.project == DEMO_APP && vertex) || (p.project == RESEARCH_ML && google_ai)
                    {
                        row.discount = -(cost * 3 / 100);
                    }
                    if p.project == RESEARCH_ML && google_ai && hour < promotion_ends {
                        row.promotion = -(cost + row.discount);
                    }
                    if p.sku == ids::N1_CORE {
                        row.sustained = -(cost / 5);
                    }
                    if sku.service == GEMINI_API {
                        gemini_api_cost += cost;
                    }
                    rows.push(row);
                }
            }
            if day == at(800) {
                rows.push(Row {
                    hour: day * 24,
                    project: Some(DEMO_APP),
                    sku: ids::FLASH_IN,
                    cost_type: CostType::Regular,
                    quantity: Some(0),
                    cost: 0,
                    promotion: convert(-5_000_000_000, rate_micros),
                    discount: 0,
                    sustained: 0,
                });
            }
            if day == at(400) {
                rows.push(Row {
                    hour: day * 24 + 12,
                    project: Some(DEMO_APP),
                    sku: ids::FLASH_IN,
                    cost_type: CostType::Adjustment,
                    quantity: Some(0),
                    cost: convert(-3_210_000_000, rate_micros),
                    promotion: 0,
                    discount: 0,
                    sustained: 0,
                });
            }
            if gemini_api_cost > 0 {
                rows.push(Row {
                    hour: day * 24 + 23,
                    project: None,
                    sku: ids::API_PRO_SHORT_IN,
                    cost_type: CostType::Tax,
                    quantity: None,
                    cost: gemini_api_cost * 8 / 100,
                    promotion: 0,
                    discount: 0,
                    sustained: 0,
                });
            }
            rows.close_day();
        }
        Self {
            first_day,
            last_day,
            rows,
        }
    }
}
