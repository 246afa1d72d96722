//! The fake AWS organization and its Cost Explorer records: 1–3 linked accounts, daily rows per
//! (account, product, RECORD_TYPE), all computed up front from the seed (about 3,000 rows for
//! 120 days).
//!
//! The plan, per logical account (folded onto fewer accounts when fewer are configured):
//! - `management`: an EC2 `g5.xlarge` pair (not Bedrock), and Titan embeddings — real volume on
//!   weekdays, a health check of a few dozen tokens on weekends, whose cost (< $0.000001)
//!   Cost Explorer writes in exponent form;
//! - `ml-prod`: Claude Sonnet 4.5 (on-demand, cache read/write, global cross-region), Claude
//!   Haiku 4.5 (on-demand, weekly batch jobs), Nova Pro, and Claude Opus 4.1 from 70% of the
//!   window on (a model that appears mid-window, with the newer usage-type form);
//! - `research`: Nova Lite, Jamba 1.5 Mini on some days, a little Sonnet, and EC2 for a while.
//!
//! Credits (RECORD_TYPE `Credit`, negative): `ml-prod`'s `Amazon Bedrock` usage fully covered
//! for the first 45% of the window; `research`'s `Amazon Bedrock` usage covered from 20% to 90%;
//! on some days half of `ml-prod`'s Haiku on-demand input (a Marketplace credit). One `Refund`
//! of $12.34 on Sonnet output at 60% of the window. With
//! [`edp_discount_percent`](super::BedrockFakeBuilder::edp_discount_percent): a `Discount`
//! record (negative) of that share of `ml-prod`'s first-party usage every day, and one
//! `BundledDiscount` of $5 on Nova Pro input.

use std::collections::BTreeMap;

use super::catalog::{Family, RecordType, ids, product_of};
use crate::common::daily::{Daily, growth, is_weekend, scaled};
use crate::common::prng::SplitMix64;

/// A share of the data window in thousandths (0: its first day; 1000: the day after its last).
type Permille = i64;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cadence {
    Daily,
    /// Only on this weekday (0 = Monday).
    Weekly(i64),
    /// On a seeded share of days, in thousandths (the same days for every product of `group`).
    Some {
        per_mille: u64,
        group: u64,
    },
}

#[derive(Debug, Clone, Copy)]
struct Plan {
    account: u8,
    product: u8,
    /// Tokens (hours for EC2) on a weekday at the start of the window.
    base: u64,
    weekend_pct: u64,
    active: (Permille, Permille),
    cadence: Cadence,
}

const fn plan(account: u8, product: u8, base: u64, weekend_pct: u64) -> Plan {
    Plan {
        account,
        product,
        base,
        weekend_pct,
        active: (0, 1000),
        cadence: Cadence::Daily,
    }
}

const fn during(mut p: Plan, from: Permille, until: Permille) -> Plan {
    p.active = (from, until);
    p
}

const fn on(mut p: Plan, cadence: Cadence) -> Plan {
    p.cadence = cadence;
    p
}

const MANAGEMENT: u8 = 0;
const ML_PROD: u8 = 1;
const RESEARCH: u8 = 2;

const JAMBA_DAYS: Cadence = Cadence::Some {
    per_mille: 600,
    group: 1,
};

const PLANS: [Plan; 23] = [
    plan(MANAGEMENT, ids::EC2_G5, 48, 100),
    plan(MANAGEMENT, ids::TITAN_IN, 3_000_000, 0),
    plan(ML_PROD, ids::SONNET_IN, 40_000_000, 40),
    plan(ML_PROD, ids::SONNET_OUT, 4_000_000, 40),
    plan(ML_PROD, ids::SONNET_CACHE_READ, 120_000_000, 40),
    plan(ML_PROD, ids::SONNET_CACHE_WRITE, 8_000_000, 40),
    during(
        plan(ML_PROD, ids::SONNET_GLOBAL_IN, 6_000_000, 40),
        300,
        1000,
    ),
    during(
        plan(ML_PROD, ids::SONNET_GLOBAL_OUT, 600_000, 40),
        300,
        1000,
    ),
    plan(ML_PROD, ids::HAIKU_IN, 60_000_000, 50),
    plan(ML_PROD, ids::HAIKU_OUT, 6_000_000, 50),
    on(
        plan(ML_PROD, ids::HAIKU_BATCH_IN, 200_000_000, 100),
        Cadence::Weekly(2),
    ),
    on(
        plan(ML_PROD, ids::HAIKU_BATCH_OUT, 20_000_000, 100),
        Cadence::Weekly(2),
    ),
    plan(ML_PROD, ids::NOVA_PRO_IN, 20_000_000, 30),
    plan(ML_PROD, ids::NOVA_PRO_OUT, 2_000_000, 30),
    during(plan(ML_PROD, ids::OPUS_IN, 2_000_000, 20), 700, 1000),
    during(plan(ML_PROD, ids::OPUS_OUT, 200_000, 20), 700, 1000),
    plan(RESEARCH, ids::NOVA_LITE_IN, 50_000_000, 10),
    plan(RESEARCH, ids::NOVA_LITE_OUT, 5_000_000, 10),
    on(plan(RESEARCH, ids::JAMBA_IN, 10_000_000, 0), JAMBA_DAYS),
    on(plan(RESEARCH, ids::JAMBA_OUT, 1_000_000, 0), JAMBA_DAYS),
    plan(RESEARCH, ids::SONNET_IN, 3_000_000, 10),
    plan(RESEARCH, ids::SONNET_OUT, 300_000, 10),
    during(plan(RESEARCH, ids::EC2_G5, 24, 100), 500, 800),
];

/// Logical account names, with the account that pays for each plan.
pub(crate) const ACCOUNT_NAMES: [&str; 3] = ["acme-management", "acme-ml-prod", "acme-research"];

/// The bundled discount, in nano-dollars.
const BUNDLED_DISCOUNT_NANOS: i64 = 5_000_000_000;
/// The refund, in nano-dollars.
const REFUND_NANOS: i64 = 12_340_000_000;

#[derive(Debug, Clone)]
pub(crate) struct Account {
    /// 12 digits.
    pub(crate) id: String,
    pub(crate) name: &'static str,
}

/// One Cost Explorer record: what one account was billed for one product on one day.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Row {
    pub(crate) day: i64,
    pub(crate) account: u8,
    pub(crate) product: u8,
    pub(crate) record: RecordType,
    /// UnblendedCost, nano-dollars (negative for credits and refunds).
    pub(crate) nanos: i64,
    /// NetUnblendedCost, nano-dollars.
    pub(crate) net_nanos: i64,
    /// Raw usage: tokens (hours for EC2); 0 for credits and refunds.
    pub(crate) count: u64,
}

impl Row {
    /// UsageQuantity in micro-units of the product's pricing unit.
    pub(crate) fn quantity_micros(&self) -> u128 {
        let exponent = product_of(self.product).quantity_exponent;
        u128::from(self.count) * 10u128.pow(6 - exponent.min(6))
    }
}

#[derive(Debug)]
pub(crate) struct Data {
    pub(crate) first_day: i64,
    pub(crate) last_day: i64,
    /// Days from this one on are `Estimated`.
    pub(crate) estimated_from: i64,
    pub(crate) accounts: Vec<Account>,
    pub(crate) rows: Daily<Row>,
}

fn window_day(first_day: i64, days: i64, permille: Permille) -> i64 {
    first_day + days * permille / 1000
}

fn weekday(day: i64) -> i64 {
    // 1970-01-01 (day 0) was a Thursday (3 with Monday = 0).
    (day + 3).rem_euclid(7)
}

/// What [`Data::generate`] needs besides the seed.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Shape {
    pub(crate) first_day: i64,
    pub(crate) last_day: i64,
    pub(crate) accounts: u8,
    pub(crate) estimated_days: u32,
    /// NetUnblendedCost = UnblendedCost less this percentage on `Usage` records.
    pub(crate) discount_pct: u8,
    /// Discount records: an EDP `Discount` of this percentage of `ml-prod`'s first-party
    /// usage every day, and one `BundledDiscount` of $5 on Nova Pro input at 30% of the window.
    pub(crate) edp_pct: u8,
}

/// The raw usage (tokens; hours for EC2) plan `index` has on `day`, if it runs that day.
fn plan_count(seed: u64, day: i64, index: usize, first_day: i64, days: i64) -> Option<u64> {
    let p = PLANS.get(index)?;
    let at = |permille: Permille| window_day(first_day, days, permille);
    if day < at(p.active.0) || day >= at(p.active.1) {
        return None;
    }
    let runs = match p.cadence {
        Cadence::Daily => true,
        Cadence::Weekly(wd) => weekday(day) == wd,
        Cadence::Some { per_mille, group } => {
            SplitMix64::for_cell(seed, &[day as u64, 0xDA75, group]).chance(per_mille)
        }
    };
    if !runs {
        return None;
    }
    let weekend = is_weekend(day);
    let mut rng = SplitMix64::for_cell(seed, &[day as u64, index as u64, 0xB3D0]);
    let count = if product_of(p.product).family == Family::Other {
        // Instances run around the clock: whole hours, no jitter.
        p.base
    } else if p.product == ids::TITAN_IN && weekend {
        // The weekend health check: a few dozen tokens.
        rng.range(10, 40)
    } else {
        let weekday_factor = if weekend { p.weekend_pct * 10 } else { 1000 };
        let growth = growth(day, first_day, days);
        scaled(p.base, &[growth, weekday_factor, rng.range(800, 1_200)])
    };
    (count > 0).then_some(count)
}

impl Data {
    pub(crate) fn generate(seed: u64, shape: Shape) -> Self {
        let Shape {
            first_day,
            last_day,
            ..
        } = shape;
        let days = last_day - first_day + 1;
        let account_count = shape.accounts.clamp(1, 3);
        let mut id_rng = SplitMix64::for_cell(seed, &[0xACC0_0417]);
        let accounts: Vec<Account> = ACCOUNT_NAMES
            .iter()
            .take(usize::from(account_count))
            .map(|name| Account {
                id: format!("{:012}", id_rng.range(100_000_000_000, 999_999_999_999)),
                name,
            })
            .collect();
        let fold = |logical: u8| logical % account_count;
        let at = |p: Permille| window_day(first_day, days, p);
        let refund_day = at(600);
        let mut rows = Daily::new(first_day);
        for day in first_day..=last_day {
            let mut cells: BTreeMap<(u8, u8, RecordType), Row> = BTreeMap::new();
            let mut add = |account: u8, product: u8, record: RecordType, nanos: i64, count: u64| {
                let row = cells.entry((account, product, record)).or_insert(Row {
                    day,
                    account,
                    product,
                    record,
                    nanos: 0,
                    net_nanos: 0,
                    count: 0,
                });
                row.nanos += nanos;
                row.count += count;
            };
            // Each logical account's own cost per product today, for its credits: a credit for
            // one logical account never covers another's usage folded onto the same account.
            let mut own: BTreeMap<(u8, u8), i64> = BTreeMap::new();
            for (i, p) in PLANS.iter().enumerate() {
                let Some(count) = plan_count(seed, day, i, first_day, days) else {
                    continue;
                };
                let nanos = i64::try_from(count.saturating_mul(product_of(p.product).price_nanos))
                    .unwrap_or(i64::MAX);
                *own.entry((p.account, p.product)).or_default() += nanos;
                add(fold(p.account), p.product, RecordType::Usage, nanos, count);
            }
            for (&(logical, product), &nanos) in &own {
                let first_party = product_of(product).family == Family::FirstParty;
                let promotional = [(ML_PROD, 0, 450), (RESEARCH, 200, 900)]
                    .iter()
                    .any(|&(a, from, until)| a == logical && day >= at(from) && day < at(until));
                if first_party && promotional {
                    add(fold(logical), product, RecordType::Credit, -nanos, 0);
                }
            }
            let haiku_credit_today = SplitMix64::for_cell(seed, &[day as u64, 0xC4ED]).chance(60);
            if haiku_credit_today && let Some(&nanos) = own.get(&(ML_PROD, ids::HAIKU_IN)) {
                add(
                    fold(ML_PROD),
                    ids::HAIKU_IN,
                    RecordType::Credit,
                    -(nanos / 2),
                    0,
                );
            }
            if shape.edp_pct > 0 {
                for (&(logical, product), &nanos) in &own {
                    if logical == ML_PROD && product_of(product).family == Family::FirstParty {
                        let discount = nanos * i64::from(shape.edp_pct.min(100)) / 100;
                        add(fold(logical), product, RecordType::Discount, -discount, 0);
                    }
                }
                if day == at(300) {
                    add(
                        fold(ML_PROD),
                        ids::NOVA_PRO_IN,
                        RecordType::BundledDiscount,
                        -BUNDLED_DISCOUNT_NANOS,
                        0,
                    );
                }
            }
            if day == refund_day {
                add(
                    fold(ML_PROD),
                    ids::SONNET_OUT,
                    RecordType::Refund,
                    -REFUND_NANOS,
                    0,
                );
            }
            for mut row in cells.into_values() {
                row.net_nanos = if row.record == RecordType::Usage {
                    row.nanos - row.nanos * i64::from(shape.discount_pct.min(100)) / 100
                } else {
                    row.nanos
                };
                rows.push(row);
            }
            rows.close_day();
        }
        let estimated = i64::from(shape.estimated_days);
        Self {
            first_day,
            last_day,
            estimated_from: last_day - estimated + 1,
            accounts,
            rows,
        }
    }

    pub(crate) fn account_id(&self, account: u8) -> &str {
        self.accounts
            .get(usize::from(account))
            .map_or("", |a| a.id.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bedrock::catalog::{PRODUCTS, RecordType};

    fn shape() -> Shape {
        Shape {
            first_day: 20_000,
            last_day: 20_119,
            accounts: 3,
            estimated_days: 3,
            discount_pct: 0,
            edp_pct: 0,
        }
    }

    #[test]
    fn usage_is_priced_and_credits_never_exceed_it() {
        let data = Data::generate(5, shape());
        let mut credits = 0i64;
        let mut bedrock_usage = 0i64;
        for row in data.rows.all() {
            let product = &PRODUCTS[usize::from(row.product)];
            match row.record {
                RecordType::Usage => {
                    assert_eq!(row.nanos as u64, row.count * product.price_nanos);
                    if product.is_bedrock() {
                        bedrock_usage += row.nanos;
                    }
                }
                RecordType::Credit => {
                    assert!(row.nanos < 0 && row.count == 0);
                    credits += row.nanos;
                }
                RecordType::Refund => assert_eq!(row.nanos, -REFUND_NANOS),
                RecordType::Discount | RecordType::BundledDiscount => {
                    panic!("no discount records unless asked for")
                }
            }
            assert_eq!(row.net_nanos, row.nanos);
        }
        assert!(credits < 0 && -credits < bedrock_usage);
        assert_eq!(data.estimated_from, 20_117);
        // Some weekend Titan rows cost less than a millionth of a dollar.
        assert!(
            data.rows
                .all()
                .iter()
                .any(|r| r.product == ids::TITAN_IN && r.nanos > 0 && r.nanos < 1_000)
        );
    }
}
