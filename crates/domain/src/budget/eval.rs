//! Budget decisions: a cap's state (ok / soft / hard) from its spend, the tightest-wins check
//! of one call against every enabled cap governing it, and the tenant ceiling (a tenant cap
//! sits at or below the tightest enabled platform cap governing it).
//!
//! One comparison operator everywhere: a call is allowed when `spend + estimate ≤ limit`, and a
//! cap is at its hard limit when `spend ≥ limit` (a call may bring spend exactly to the limit;
//! the next one with any cost is denied).

use rust_decimal::Decimal;
use serde::Serialize;

use super::{BudgetError, CapScope, CapSpec, Provenance, UnpricedPolicy};
use crate::money::Money;

/// Where a cap stands in its period.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BudgetState {
    /// Under the soft limit.
    Ok,
    /// At or above the soft limit, under the limit.
    Soft,
    /// At or above the limit: calls with a cost are denied.
    Hard,
}

impl BudgetState {
    pub const fn as_str(self) -> &'static str {
        match self {
            BudgetState::Ok => "ok",
            BudgetState::Soft => "soft",
            BudgetState::Hard => "hard",
        }
    }
}

/// The state of a cap with `spend` against `limit` and its soft percentage.
pub fn state(spend: Money, limit: Money, soft_pct: u8) -> BudgetState {
    if spend >= limit {
        return BudgetState::Hard;
    }
    // spend × 100 ≥ limit × soft_pct, in i128 so no product overflows.
    let spend100 = i128::from(spend.nanos()) * 100;
    let soft = i128::from(limit.nanos()) * i128::from(soft_pct);
    if spend100 >= soft {
        BudgetState::Soft
    } else {
        BudgetState::Ok
    }
}

/// Spend as a percentage of the limit, two decimals (truncated toward zero, so 99.999 % reads
/// 99.99 % and never 100 % before the limit is reached).
pub fn utilization_pct(spend: Money, limit: Money) -> Decimal {
    if limit.nanos() <= 0 {
        return Decimal::ZERO;
    }
    let basis_points = i128::from(spend.nanos()) * 10_000 / i128::from(limit.nanos());
    Decimal::from_i128_with_scale(basis_points, 2)
}

/// One cap as a check sees it: its limit and the spend counted against it (settled spend and
/// open reservations).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CapLoad {
    pub id: i64,
    pub limit: Money,
    pub spend: Money,
    pub enabled: bool,
    pub unpriced: UnpricedPolicy,
}

impl CapLoad {
    /// What is left before the limit (negative when over).
    pub fn remaining(&self) -> Money {
        self.limit - self.spend
    }
}

/// A check's answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    /// The cap with the least remaining (the one that denied, when denied); `None` when no
    /// enabled cap governs the call.
    pub binding: Option<i64>,
    /// The binding cap's remaining, before this call.
    pub remaining: Option<Money>,
    /// Why, in words.
    pub reason: String,
}

/// Tightest wins: the call is checked against every enabled cap given (the caller passes the
/// caps that govern it); it is allowed when its estimate fits in the least remaining. Without
/// an estimate (an unpriced model) a `fail_closed` cap denies and a `fail_open` cap allows
/// while it is under its limit. Ties on remaining go to the lowest id.
pub fn evaluate(caps: &[CapLoad], estimate: Option<Money>) -> Decision {
    let enabled = caps.iter().filter(|c| c.enabled);
    let binding = enabled
        .clone()
        .min_by(|a, b| a.remaining().cmp(&b.remaining()).then(a.id.cmp(&b.id)));
    let Some(binding) = binding else {
        return Decision {
            allowed: true,
            binding: None,
            remaining: None,
            reason: "no enabled budget governs this call".to_owned(),
        };
    };
    let remaining = binding.remaining();
    match estimate {
        Some(cost) => {
            let cost = cost.max(Money::ZERO);
            let allowed = cost <= remaining;
            Decision {
                allowed,
                binding: Some(binding.id),
                remaining: Some(remaining),
                reason: if allowed {
                    format!("the estimate {cost} USD fits in the {remaining} USD remaining")
                } else {
                    format!(
                        "the estimate {cost} USD is more than the {} USD remaining",
                        remaining.max(Money::ZERO)
                    )
                },
            }
        }
        None => {
            if let Some(closed) = enabled
                .clone()
                .filter(|c| c.unpriced == UnpricedPolicy::FailClosed)
                .min_by(|a, b| a.remaining().cmp(&b.remaining()).then(a.id.cmp(&b.id)))
            {
                return Decision {
                    allowed: false,
                    binding: Some(closed.id),
                    remaining: Some(closed.remaining()),
                    reason: "no estimated cost (unpriced model) and the budget fails closed"
                        .to_owned(),
                };
            }
            let allowed = remaining > Money::ZERO;
            Decision {
                allowed,
                binding: Some(binding.id),
                remaining: Some(remaining),
                reason: if allowed {
                    "no estimated cost (unpriced model); the budgets fail open and are under their limits".to_owned()
                } else {
                    "no estimated cost (unpriced model) and a budget is at its limit".to_owned()
                },
            }
        }
    }
}

/// A stored cap as the ceiling check reads it.
#[derive(Clone, Copy, Debug)]
pub struct ExistingCap<'a> {
    pub id: i64,
    pub spec: &'a CapSpec,
}

/// A tenant cap must sit at or below the tightest enabled platform cap governing its scope
/// (a platform cap whose scope covers the tenant cap's, over a period at least as long: a
/// daily tenant cap sits under a monthly platform cap, a monthly one is not compared with a
/// daily one). Platform caps have no ceiling. `except`: the cap being edited.
pub fn check_ceiling(
    spec: &CapSpec,
    existing: &[ExistingCap<'_>],
    except: Option<i64>,
) -> Result<(), BudgetError> {
    if spec.provenance != Provenance::Tenant || !spec.enabled {
        return Ok(());
    }
    let ceiling = existing
        .iter()
        .filter(|c| Some(c.id) != except)
        .filter(|c| c.spec.provenance == Provenance::Platform && c.spec.enabled)
        .filter(|c| c.spec.period >= spec.period && c.spec.scope.covers(&spec.scope))
        .min_by(|a, b| a.spec.limit.cmp(&b.spec.limit).then(a.id.cmp(&b.id)));
    match ceiling {
        Some(c) if spec.limit > c.spec.limit => Err(BudgetError::AboveCeiling {
            limit: spec.limit.to_string(),
            ceiling_id: c.id,
            ceiling_name: c.spec.name.clone(),
            ceiling_limit: c.spec.limit.to_string(),
            period: c.spec.period.noun(),
        }),
        _ => Ok(()),
    }
}

/// Whether a platform cap's new limit would leave an enabled tenant cap above it: the tenant
/// caps it would put over their ceiling (edits of platform caps are refused then, naming them).
pub fn tenants_above(
    platform: &CapSpec,
    existing: &[ExistingCap<'_>],
    except: Option<i64>,
) -> Vec<i64> {
    if platform.provenance != Provenance::Platform || !platform.enabled {
        return Vec::new();
    }
    existing
        .iter()
        .filter(|c| Some(c.id) != except)
        .filter(|c| c.spec.provenance == Provenance::Tenant && c.spec.enabled)
        .filter(|c| platform.period >= c.spec.period && platform.scope.covers(&c.spec.scope))
        .filter(|c| c.spec.limit > platform.limit)
        .map(|c| c.id)
        .collect()
}

/// The caps (indices into `scopes`) that govern a call.
pub fn governing<'a>(
    scopes: impl IntoIterator<Item = &'a CapScope>,
    call: &CapScope,
) -> Vec<usize> {
    scopes
        .into_iter()
        .enumerate()
        .filter(|(_, s)| s.governs(call))
        .map(|(i, _)| i)
        .collect()
}
