//! The grain spendlens stores: one cost line per (connection, workspace, API key or none,
//! model, category, unit, detail, UTC day).

use crate::billing::Billed;
use crate::calendar::Day;
use crate::money::{Currency, Money, Quantity};
use crate::usage::{Category, TokenCounts, Unit};

/// One cell of spend and usage at spendlens's grain, for one connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CostLine {
    pub day: Day,
    /// The provider's workspace id; `None` when the provider names none.
    pub workspace_id: Option<String>,
    /// The provider's key id; `None` for spend no key can be tied to.
    pub api_key_id: Option<String>,
    pub model: String,
    pub category: Category,
    pub unit: Unit,
    pub detail: String,
    pub tokens: TokenCounts,
    /// `None` when the provider does not report request counts.
    pub requests: Option<i64>,
    pub quantity: Quantity,
    /// List cost, before credits.
    pub cost: Money,
    /// Credits applied (zero or positive).
    pub credits: Money,
    pub currency: Currency,
    /// Priced from the catalog because the provider gave usage but no price.
    pub estimated: bool,
    /// Cost spread down from a coarser billed grain (see DESIGN.md "Billed vs allocated").
    pub allocated: bool,
    /// Some of the line's usage has no known price (`UsageRecord::unpriced`): its cost is
    /// unknown, not the $0 (or the part) in `cost`. Views show it as unpriced and count it.
    pub unpriced: bool,
    /// The amount in the provider's billing currency when it is not `currency` (`cost` and
    /// `credits` are then its conversion); `None`: billed as `cost` and `credits`.
    pub billing: Option<Billed>,
}

impl CostLine {
    /// Cost after credits.
    pub fn net_cost(&self) -> Money {
        self.cost - self.credits
    }

    /// The amount in the billing currency: `billing`, or the line's own cost and credits.
    pub fn billed(&self) -> Billed {
        self.billing.clone().unwrap_or_else(|| Billed {
            currency: self.currency.clone(),
            cost: self.cost,
            credits: self.credits,
        })
    }

    /// The identity of the line within its connection.
    pub fn key(&self) -> LineKey {
        LineKey {
            day: self.day,
            workspace_id: self.workspace_id.clone(),
            api_key_id: self.api_key_id.clone(),
            model: self.model.clone(),
            category: self.category,
            unit: self.unit.clone(),
            detail: self.detail.clone(),
        }
    }
}

/// The grain's dimensions: two lines with equal keys are one line.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LineKey {
    pub day: Day,
    pub workspace_id: Option<String>,
    pub api_key_id: Option<String>,
    pub model: String,
    pub category: Category,
    pub unit: Unit,
    pub detail: String,
}
