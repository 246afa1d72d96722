//! The pure half of coverage: join one provider's billed cells to its metered cells, compute
//! the ratios (metered ÷ billed cost and tokens) and split the gap billed − metered into causes
//! that add up to it exactly. Imports only `domain`: no store, no clock, no I/O.
//!
//! Every dollar of the period is assigned once. On the days the bill is complete for:
//! - a billed key with no metered call is **unmetered** (all its spend);
//! - on a metered key, failed or timed-out calls count their metered cost under **failed**
//!   (negative: cost the meter saw that a bill usually does not charge);
//! - a model metered with a price: its metered tokens valued at the billed effective price
//!   minus their catalog cost is **price drift** when the two prices differ by more than
//!   [`DRIFT_THRESHOLD_PCT`]; the billed cost of tokens the meter did not see is
//!   **unexplained**;
//! - billed models of a metered key without priced metered traffic form a pool: the key's
//!   unpriced metered tokens, valued at the pool's billed price, are **unpriced**; the rest of
//!   the pool is unexplained (unmetered when the provider joins by model only);
//! - metered cost with nothing billed to set it against is unexplained (negative).
//!
//! Days after the bill's "complete through" day are **lag**: billed − metered there. The
//! remainder, **unexplained**, is what is left: billed = metered + Σ causes, to the nano-dollar.

use std::collections::{BTreeMap, BTreeSet};

use rust_decimal::{Decimal, RoundingStrategy};
use serde::Serialize;
use spendlens_domain::Money;

/// Metered and billed effective prices closer than this (percent of the metered price) are
/// the same price; the difference stays unexplained.
pub const DRIFT_THRESHOLD_PCT: i128 = 2;

/// The billed key (or workspace) a cell belongs to, as the join sees it (`None`: spend no key
/// or workspace carries).
pub type JoinKey = Option<String>;

/// What the cells of a provider are joined on, besides the model.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Join {
    /// The model only: neither keys nor workspaces on both sides.
    #[default]
    Model,
    /// The provider key: the bill and the events both carry keys.
    KeyAndModel,
    /// The workspace (project, account): providers whose bill has no keys (Bedrock, Vertex,
    /// Runway) or whose events carry none, when both sides name workspaces.
    WorkspaceAndModel,
}

impl Join {
    pub fn as_str(self) -> &'static str {
        match self {
            Join::Model => "model",
            Join::KeyAndModel => "key_and_model",
            Join::WorkspaceAndModel => "workspace_and_model",
        }
    }
}

/// Billed totals of one (key, model) over the comparable days.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BilledCell {
    pub key: JoinKey,
    /// The billed workspace (`None`: spend no workspace carries).
    pub workspace: JoinKey,
    /// Normalized (the same normalization as the metered side).
    pub model: String,
    pub cost: Money,
    pub tokens: i64,
    /// `None` when the provider reports no request counts.
    pub requests: Option<i64>,
}

/// Metered totals of one (key, model, ok or failed) over the comparable days.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MeteredCell {
    /// The billed key the events' key matched, or the events' own key text when none did
    /// (`None`: the events carried no key).
    pub key: JoinKey,
    /// The billed workspace the events' workspace (or key) matched, or a text no billed
    /// workspace has (`None`: the events named neither).
    pub workspace: JoinKey,
    pub model: String,
    /// Error or timeout.
    pub failed: bool,
    /// Priced cost (unpriced events add nothing).
    pub cost: Money,
    pub tokens: i64,
    pub calls: i64,
    /// Calls without a price.
    pub unpriced: i64,
}

/// One provider's inputs for a period.
#[derive(Clone, Debug, Default)]
pub struct ProviderInput {
    pub billed: Vec<BilledCell>,
    pub metered: Vec<MeteredCell>,
    /// Billed and metered cost on the days after the bill's "complete through" day.
    pub billed_lag: Money,
    pub metered_lag: Money,
    pub join: Join,
}

/// Metered ÷ billed, in cost and in tokens, over the comparable days.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Ratio {
    pub billed_cost: Money,
    pub metered_cost: Money,
    /// Percent to one decimal; `null` without billed cost. Above 100 when the meter saw more.
    pub coverage_pct: Option<Decimal>,
    pub billed_tokens: i64,
    pub metered_tokens: i64,
    pub token_coverage_pct: Option<Decimal>,
    /// `null` when the provider reports no request counts (unknown, not zero).
    pub billed_requests: Option<i64>,
    pub metered_calls: i64,
}

impl Ratio {
    fn add_billed(&mut self, cell: &BilledCell) {
        self.billed_cost += cell.cost;
        self.billed_tokens = self.billed_tokens.saturating_add(cell.tokens);
        self.billed_requests = match (self.billed_requests, cell.requests) {
            (Some(a), Some(b)) => Some(a.saturating_add(b)),
            _ => None,
        };
    }

    fn add_metered(&mut self, cell: &MeteredCell) {
        self.metered_cost += cell.cost;
        self.metered_tokens = self.metered_tokens.saturating_add(cell.tokens);
        self.metered_calls = self.metered_calls.saturating_add(cell.calls);
    }

    fn finish(mut self) -> Ratio {
        self.coverage_pct = percent(
            i128::from(self.metered_cost.nanos()),
            i128::from(self.billed_cost.nanos()),
        );
        self.token_coverage_pct = percent(
            i128::from(self.metered_tokens),
            i128::from(self.billed_tokens),
        );
        self
    }

    fn empty() -> Ratio {
        Ratio {
            billed_requests: Some(0),
            ..Ratio::default()
        }
    }
}

/// `part` ÷ `whole` in percent, to one decimal; `None` when `whole` is not positive.
pub fn percent(part: i128, whole: i128) -> Option<Decimal> {
    if whole <= 0 {
        return None;
    }
    let pct = Decimal::from_i128_with_scale(part, 0).checked_mul(Decimal::ONE_HUNDRED)?
        / Decimal::from_i128_with_scale(whole, 0);
    let mut pct = pct.round_dp_with_strategy(1, RoundingStrategy::MidpointAwayFromZero);
    pct.rescale(1);
    Some(pct)
}

/// Why billed and metered differ.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CauseKind {
    UnmeteredKeys,
    PriceDrift,
    UnpricedModels,
    FailedCalls,
    BillingLag,
    Unexplained,
}

impl CauseKind {
    pub const ALL: [CauseKind; 6] = [
        CauseKind::UnmeteredKeys,
        CauseKind::PriceDrift,
        CauseKind::UnpricedModels,
        CauseKind::FailedCalls,
        CauseKind::BillingLag,
        CauseKind::Unexplained,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CauseKind::UnmeteredKeys => "unmetered_keys",
            CauseKind::PriceDrift => "price_drift",
            CauseKind::UnpricedModels => "unpriced_models",
            CauseKind::FailedCalls => "failed_calls",
            CauseKind::BillingLag => "billing_lag",
            CauseKind::Unexplained => "unexplained",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            CauseKind::UnmeteredKeys => "Unmetered keys",
            CauseKind::PriceDrift => "Price drift",
            CauseKind::UnpricedModels => "Unpriced models",
            CauseKind::FailedCalls => "Failed calls",
            CauseKind::BillingLag => "Billing lag",
            CauseKind::Unexplained => "Unexplained",
        }
    }
}

/// One row behind a cause: a key, a model, or a (key, model), with what it adds to the gap.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct CauseRow {
    pub key: JoinKey,
    /// The key as people know it (filled in by the caller; the math knows ids only).
    pub key_name: Option<String>,
    pub model: Option<String>,
    pub billed_cost: Money,
    pub billed_tokens: i64,
    pub metered_cost: Money,
    pub metered_tokens: i64,
    /// Billed effective price per 1M tokens (price drift, unpriced).
    pub billed_per_1m: Option<Money>,
    /// Metered (catalog) effective price per 1M tokens (price drift).
    pub metered_per_1m: Option<Money>,
    pub calls: i64,
    /// What this row adds to billed − metered.
    pub amount: Money,
}

/// One cause: its amount (what it adds to billed − metered; negative when the meter saw more)
/// and the rows behind it, which add up to it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Cause {
    pub cause: CauseKind,
    pub label: &'static str,
    pub amount: Money,
    pub rows: Vec<CauseRow>,
}

/// A provider's coverage: the ratio and the gap split.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ProviderCoverage {
    pub ratio: Ratio,
    /// Billed over the whole period (comparable and lag days).
    pub billed_cost: Money,
    /// Metered over the whole period.
    pub metered_cost: Money,
    /// billed_cost = metered_cost + Σ amounts, in [`CauseKind::ALL`] order.
    pub causes: Vec<Cause>,
    pub per_key: BTreeMap<JoinKey, Ratio>,
    pub per_workspace: BTreeMap<JoinKey, Ratio>,
    pub per_model: BTreeMap<String, Ratio>,
}

/// Cost per 1M tokens, exact to the nano-dollar.
fn per_million(cost: Money, tokens: i64) -> Option<Money> {
    (tokens > 0)
        .then(|| cost.scaled(1_000_000, i128::from(tokens)))
        .flatten()
}

/// `cost` × `num` ÷ `den`, rounded half to even; `cost` when `den` is zero.
fn share(cost: Money, num: i64, den: i64) -> Money {
    cost.scaled(i128::from(num), i128::from(den))
        .unwrap_or(cost)
}

/// Accumulates causes and their rows.
#[derive(Default)]
struct Split {
    causes: BTreeMap<CauseKind, (Money, Rows)>,
}

/// A cause's rows by (key, model).
type Rows = BTreeMap<(JoinKey, Option<String>), CauseRow>;

impl Split {
    fn add(&mut self, kind: CauseKind, key: &JoinKey, model: Option<&str>, row: CauseRow) {
        let entry = self.causes.entry(kind).or_default();
        entry.0 += row.amount;
        let at = entry
            .1
            .entry((key.clone(), model.map(str::to_owned)))
            .or_insert_with(|| CauseRow {
                key: key.clone(),
                model: model.map(str::to_owned),
                ..CauseRow::default()
            });
        at.amount += row.amount;
        at.billed_cost += row.billed_cost;
        at.billed_tokens = at.billed_tokens.saturating_add(row.billed_tokens);
        at.metered_cost += row.metered_cost;
        at.metered_tokens = at.metered_tokens.saturating_add(row.metered_tokens);
        at.calls = at.calls.saturating_add(row.calls);
        at.billed_per_1m = per_million(at.billed_cost, at.billed_tokens);
        at.metered_per_1m = per_million(at.metered_cost, at.metered_tokens);
    }

    fn amount(&self, kind: CauseKind) -> Money {
        self.causes.get(&kind).map_or(Money::ZERO, |c| c.0)
    }
}

/// Sums of the cells of one (key, model).
#[derive(Clone, Copy, Default)]
struct Sums {
    cost: Money,
    tokens: i64,
    calls: i64,
    unpriced: i64,
}

/// Computes one provider's coverage (see the module docs).
pub fn provider_coverage(input: &ProviderInput) -> ProviderCoverage {
    let mode = input.join;
    // Joined on something finer than the model: unmetered spend is whole keys or workspaces.
    let by_key = mode != Join::Model;
    let join = |key: &JoinKey, workspace: &JoinKey| match mode {
        Join::KeyAndModel => key.clone(),
        Join::WorkspaceAndModel => workspace.clone(),
        Join::Model => None,
    };
    let mut ratio = Ratio::empty();
    let mut per_key: BTreeMap<JoinKey, Ratio> = BTreeMap::new();
    let mut per_workspace: BTreeMap<JoinKey, Ratio> = BTreeMap::new();
    let mut per_model: BTreeMap<String, Ratio> = BTreeMap::new();
    // (key, model) → billed; (key, model) → metered ok; key → metered failed cells.
    let mut billed: BTreeMap<(JoinKey, String), (Money, i64)> = BTreeMap::new();
    for cell in &input.billed {
        ratio.add_billed(cell);
        per_key
            .entry(cell.key.clone())
            .or_insert_with(Ratio::empty)
            .add_billed(cell);
        per_workspace
            .entry(cell.workspace.clone())
            .or_insert_with(Ratio::empty)
            .add_billed(cell);
        per_model
            .entry(cell.model.clone())
            .or_insert_with(Ratio::empty)
            .add_billed(cell);
        let at = billed
            .entry((join(&cell.key, &cell.workspace), cell.model.clone()))
            .or_default();
        at.0 += cell.cost;
        at.1 = at.1.saturating_add(cell.tokens);
    }
    let mut ok: BTreeMap<(JoinKey, String), Sums> = BTreeMap::new();
    let mut metered_keys: BTreeSet<JoinKey> = BTreeSet::new();
    let mut split = Split::default();
    for cell in &input.metered {
        ratio.add_metered(cell);
        per_key
            .entry(cell.key.clone())
            .or_insert_with(Ratio::empty)
            .add_metered(cell);
        per_workspace
            .entry(cell.workspace.clone())
            .or_insert_with(Ratio::empty)
            .add_metered(cell);
        per_model
            .entry(cell.model.clone())
            .or_insert_with(Ratio::empty)
            .add_metered(cell);
        let key = join(&cell.key, &cell.workspace);
        metered_keys.insert(key.clone());
        if cell.failed {
            split.add(
                CauseKind::FailedCalls,
                &key,
                Some(&cell.model),
                CauseRow {
                    metered_cost: cell.cost,
                    metered_tokens: cell.tokens,
                    calls: cell.calls,
                    amount: -cell.cost,
                    ..CauseRow::default()
                },
            );
            continue;
        }
        let at = ok.entry((key, cell.model.clone())).or_default();
        at.cost += cell.cost;
        at.tokens = at.tokens.saturating_add(cell.tokens);
        at.calls = at.calls.saturating_add(cell.calls);
        at.unpriced = at.unpriced.saturating_add(cell.unpriced);
    }
    // Per metered key: the pool of billed models without priced metered traffic, and the
    // unpriced metered tokens that may stand for them.
    let mut pools: BTreeMap<JoinKey, Vec<(String, Money, i64)>> = BTreeMap::new();
    let mut unpriced_tokens: BTreeMap<JoinKey, i64> = BTreeMap::new();
    for ((key, model), &(cost, tokens)) in &billed {
        let billed_row = CauseRow {
            billed_cost: cost,
            billed_tokens: tokens,
            amount: cost,
            ..CauseRow::default()
        };
        if !metered_keys.contains(key) {
            let model = (!by_key).then_some(model.as_str());
            split.add(CauseKind::UnmeteredKeys, key, model, billed_row);
            continue;
        }
        match ok.get(&(key.clone(), model.clone())) {
            Some(m) if m.unpriced == 0 && m.tokens > 0 && tokens > 0 => {
                drift_or_shortfall(&mut split, key, model, cost, tokens, m);
            }
            _ => pools
                .entry(key.clone())
                .or_default()
                .push((model.clone(), cost, tokens)),
        }
    }
    for ((key, model), m) in &ok {
        let on_bill = billed.contains_key(&(key.clone(), model.clone()));
        if m.unpriced > 0 {
            *unpriced_tokens.entry(key.clone()).or_default() += m.tokens;
        }
        let priced_elsewhere = on_bill && m.unpriced == 0 && m.tokens > 0;
        if !priced_elsewhere || !billed_tokens_positive(&billed, key, model) {
            // Metered cost with no billed tokens to set it against.
            if !m.cost.is_zero() {
                split.add(
                    CauseKind::Unexplained,
                    key,
                    Some(model),
                    CauseRow {
                        metered_cost: m.cost,
                        metered_tokens: m.tokens,
                        calls: m.calls,
                        amount: -m.cost,
                        ..CauseRow::default()
                    },
                );
            }
        }
    }
    for (key, pool) in pools {
        split_pool(
            &mut split,
            &key,
            &pool,
            unpriced_tokens.get(&key).copied().unwrap_or(0),
            by_key,
        );
    }
    finish(input, ratio, [per_key, per_workspace], per_model, split)
}

fn billed_tokens_positive(
    billed: &BTreeMap<(JoinKey, String), (Money, i64)>,
    key: &JoinKey,
    model: &str,
) -> bool {
    billed
        .get(&(key.clone(), model.to_owned()))
        .is_some_and(|b| b.1 > 0)
}

/// A billed model with priced metered traffic: drift when the prices differ beyond the
/// threshold, and the billed cost of the tokens not metered left unexplained.
fn drift_or_shortfall(
    split: &mut Split,
    key: &JoinKey,
    model: &str,
    cost: Money,
    tokens: i64,
    m: &Sums,
) {
    let at_billed_price = share(cost, m.tokens, tokens);
    let difference = at_billed_price - m.cost;
    let beyond = i128::from(difference.nanos()).abs() * 100
        > DRIFT_THRESHOLD_PCT * i128::from(m.cost.nanos()).abs();
    let (drift, shortfall) = if beyond {
        (difference, cost - at_billed_price)
    } else {
        (Money::ZERO, cost - m.cost)
    };
    if !drift.is_zero() {
        split.add(
            CauseKind::PriceDrift,
            &None,
            Some(model),
            CauseRow {
                billed_cost: cost,
                billed_tokens: tokens,
                metered_cost: m.cost,
                metered_tokens: m.tokens,
                calls: m.calls,
                amount: drift,
                ..CauseRow::default()
            },
        );
    }
    if !shortfall.is_zero() {
        split.add(
            CauseKind::Unexplained,
            key,
            Some(model),
            CauseRow {
                billed_cost: cost,
                billed_tokens: tokens,
                metered_cost: m.cost,
                metered_tokens: m.tokens,
                calls: m.calls,
                amount: shortfall,
                ..CauseRow::default()
            },
        );
    }
}

/// A metered key's billed models without priced metered traffic: the key's unpriced metered
/// tokens valued at the pool's billed price are "unpriced"; the rest is unexplained (or, when
/// the provider joins by model only, unmetered).
fn split_pool(
    split: &mut Split,
    key: &JoinKey,
    pool: &[(String, Money, i64)],
    unpriced: i64,
    by_key: bool,
) {
    let pool_tokens: i64 = pool.iter().map(|p| p.2).fold(0, i64::saturating_add);
    let covered = unpriced.min(pool_tokens).max(0);
    let rest_kind = if by_key {
        CauseKind::Unexplained
    } else {
        CauseKind::UnmeteredKeys
    };
    for (model, cost, tokens) in pool {
        let priced_part = if unpriced <= 0 {
            Money::ZERO
        } else if pool_tokens <= 0 {
            *cost
        } else {
            // This model's share of the covered tokens, at its own billed price.
            share(*cost, covered, pool_tokens)
        };
        let row = |amount: Money| CauseRow {
            billed_cost: *cost,
            billed_tokens: *tokens,
            amount,
            ..CauseRow::default()
        };
        if !priced_part.is_zero() {
            split.add(
                CauseKind::UnpricedModels,
                key,
                Some(model),
                row(priced_part),
            );
        }
        let rest = *cost - priced_part;
        if !rest.is_zero() || (priced_part.is_zero() && !by_key) {
            split.add(rest_kind, key, Some(model), row(rest));
        }
    }
}

fn finish(
    input: &ProviderInput,
    ratio: Ratio,
    [per_key, per_workspace]: [BTreeMap<JoinKey, Ratio>; 2],
    per_model: BTreeMap<String, Ratio>,
    mut split: Split,
) -> ProviderCoverage {
    let ratio = ratio.finish();
    let (billed_cost, metered_cost) = (ratio.billed_cost, ratio.metered_cost);
    // Whatever the rows did not explain (rounding of shares included) stays unexplained. The
    // lag days add as much to billed − metered as their cause explains, so they are left out.
    let explained: Money = CauseKind::ALL.iter().map(|k| split.amount(*k)).sum();
    let remainder = billed_cost - metered_cost - explained;
    if !remainder.is_zero() {
        split.add(
            CauseKind::Unexplained,
            &None,
            None,
            CauseRow {
                amount: remainder,
                ..CauseRow::default()
            },
        );
    }
    let causes = CauseKind::ALL
        .iter()
        .map(|kind| {
            let (amount, rows) = split.causes.remove(kind).unwrap_or_default();
            let mut rows: Vec<CauseRow> = rows.into_values().collect();
            rows.sort_by_key(|r| std::cmp::Reverse(r.amount.abs()));
            Cause {
                cause: *kind,
                label: kind.label(),
                amount,
                rows,
            }
        })
        .collect();
    let mut coverage = ProviderCoverage {
        ratio,
        billed_cost,
        metered_cost,
        causes,
        per_key: per_key.into_iter().map(|(k, r)| (k, r.finish())).collect(),
        per_workspace: per_workspace
            .into_iter()
            .map(|(k, r)| (k, r.finish()))
            .collect(),
        per_model: per_model
            .into_iter()
            .map(|(k, r)| (k, r.finish()))
            .collect(),
    };
    coverage.add_lag(input.billed_lag, input.metered_lag);
    coverage
}

impl ProviderCoverage {
    /// Adds the lag days (billed and metered after the bill's "complete through" day) to a
    /// coverage computed without them: the period's totals and the billing-lag cause. They
    /// touch nothing else, so the comparable days' coverage can be kept and the lag, which
    /// moves with every call metered today, added fresh.
    pub fn add_lag(&mut self, billed_lag: Money, metered_lag: Money) {
        self.billed_cost += billed_lag;
        self.metered_cost += metered_lag;
        add_lag_cause(&mut self.causes, billed_lag, metered_lag);
    }
}

/// Adds the billing-lag cause's one row (billed and metered on the lag days) to `causes` of a
/// coverage computed without lag days (in [`CauseKind::ALL`] order, each kind once).
pub fn add_lag_cause(causes: &mut [Cause], billed_lag: Money, metered_lag: Money) {
    let lag = billed_lag - metered_lag;
    if lag.is_zero() {
        return;
    }
    if let Some(cause) = causes.iter_mut().find(|c| c.cause == CauseKind::BillingLag) {
        cause.amount += lag;
        cause.rows.push(CauseRow {
            billed_cost: billed_lag,
            metered_cost: metered_lag,
            amount: lag,
            ..CauseRow::default()
        });
    }
}

#[cfg(test)]
#[path = "math_tests.rs"]
mod tests;
