//! Prices observed on bills: the effective price a provider billed per 1M tokens of a model on
//! a day — per token class where the bill says which class the money pays for (OpenAI line
//! items, Anthropic token types, Bedrock and Vertex usage types, Azure meters), else for all of
//! the model's tokens together — and how far the catalog's price is from it. Pure and exact:
//! money in nano-dollars, prices as decimals, no floats.
//!
//! Observed prices are evidence, not a price source: [`super::PriceCatalog`] never prices a
//! call with one (see `PriceSource::prices_calls`).

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use rust_decimal::{Decimal, RoundingStrategy};
use serde::Serialize;

use super::{PriceEntry, normalize_model};
use crate::calendar::Day;
use crate::money::Money;
use crate::provider::ProviderKind;
use crate::usage::{BilledCost, Category, TokenClass, UsageRecord};

/// A catalog price further than this from the billed one (percent of the catalog price) is
/// drift, by default.
pub const DEFAULT_DRIFT_THRESHOLD_PCT: Decimal = Decimal::from_parts(2, 0, 0, false, 0);

/// What an observed price is a price of: one token class, or all of a model's tokens when the
/// bill does not say which class its money pays for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ObservedClass {
    /// Uncached input.
    Input,
    CachedInput,
    CacheWrite,
    Output,
    /// Every token of the model together (a blend of the classes' prices).
    All,
}

impl ObservedClass {
    pub const ALL: [ObservedClass; 5] = [
        ObservedClass::Input,
        ObservedClass::CachedInput,
        ObservedClass::CacheWrite,
        ObservedClass::Output,
        ObservedClass::All,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            ObservedClass::Input => "input",
            ObservedClass::CachedInput => "cached_input",
            ObservedClass::CacheWrite => "cache_write",
            ObservedClass::Output => "output",
            ObservedClass::All => "all",
        }
    }

    pub const fn label(self) -> &'static str {
        match self {
            ObservedClass::Input => "input",
            ObservedClass::CachedInput => "cached input",
            ObservedClass::CacheWrite => "cache write",
            ObservedClass::Output => "output",
            ObservedClass::All => "all tokens",
        }
    }

    fn of(class: TokenClass) -> ObservedClass {
        match class {
            TokenClass::Input => ObservedClass::Input,
            TokenClass::CachedInput => ObservedClass::CachedInput,
            TokenClass::CacheWrite => ObservedClass::CacheWrite,
            TokenClass::Output => ObservedClass::Output,
        }
    }
}

impl fmt::Display for ObservedClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ObservedClass {
    type Err = String;
    fn from_str(text: &str) -> Result<ObservedClass, String> {
        ObservedClass::ALL
            .into_iter()
            .find(|c| c.as_str() == text)
            .ok_or_else(|| {
                format!(
                    "unknown token class \"{text}\"; expected input, cached_input, cache_write, output or all"
                )
            })
    }
}

/// Tokens in the four disjoint classes a bill prices.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ClassTokens {
    /// Uncached input.
    pub input: i64,
    pub cache_read: i64,
    pub cache_write: i64,
    pub output: i64,
}

impl ClassTokens {
    pub fn total(self) -> i64 {
        self.input
            .saturating_add(self.cache_read)
            .saturating_add(self.cache_write)
            .saturating_add(self.output)
    }

    pub fn of(self, class: TokenClass) -> i64 {
        match class {
            TokenClass::Input => self.input,
            TokenClass::CachedInput => self.cache_read,
            TokenClass::CacheWrite => self.cache_write,
            TokenClass::Output => self.output,
        }
    }

    /// Only the tokens of `class` (all of them for [`ObservedClass::All`]).
    pub fn only(self, class: ObservedClass) -> ClassTokens {
        let keep = |c: TokenClass| {
            if class == ObservedClass::All || class == ObservedClass::of(c) {
                self.of(c)
            } else {
                0
            }
        };
        ClassTokens {
            input: keep(TokenClass::Input),
            cache_read: keep(TokenClass::CachedInput),
            cache_write: keep(TokenClass::CacheWrite),
            output: keep(TokenClass::Output),
        }
    }

    pub fn add(&mut self, other: ClassTokens) {
        self.input = self.input.saturating_add(other.input);
        self.cache_read = self.cache_read.saturating_add(other.cache_read);
        self.cache_write = self.cache_write.saturating_add(other.cache_write);
        self.output = self.output.saturating_add(other.output);
    }
}

/// What one model's bill of one day paid for one class of tokens (or for all its tokens).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ObservedCell {
    pub day: Day,
    /// Normalized (`normalize_model`), as coverage joins it.
    pub model: String,
    pub class: ObservedClass,
    /// List cost before credits.
    pub cost: Money,
    /// The tokens that cost pays for (only the class's own for a class cell).
    pub tokens: ClassTokens,
}

impl ObservedCell {
    /// The billed price per 1M tokens, rounded half to even to the nano-dollar.
    pub fn per_1m(&self) -> Option<Money> {
        per_1m(self.cost, self.tokens.total())
    }
}

/// Cost per 1M tokens, rounded half to even to the nano-dollar; `None` without tokens.
pub fn per_1m(cost: Money, tokens: i64) -> Option<Money> {
    if tokens <= 0 {
        return None;
    }
    cost.scaled(1_000_000, i128::from(tokens))
}

/// A model's billed amounts of one day, each with the class it pays for when the bill says.
type Amounts = Vec<(Option<TokenClass>, Money)>;

/// Token work a bill's token prices cover (images, audio and tool calls are priced otherwise).
fn token_category(category: Category) -> bool {
    matches!(category, Category::Text | Category::Embedding)
}

/// The observed cells of one fetched window: per day and model, the billed list cost (not
/// estimated, before credits) against the usage's tokens. Per class when every amount of the
/// model's day names its class; else one cell for all the model's tokens. A class (or day)
/// without tokens or without cost gives no cell: a price needs both.
pub fn observe(
    provider: ProviderKind,
    usage: &[UsageRecord],
    costs: &[BilledCost],
) -> Vec<ObservedCell> {
    let mut tokens: BTreeMap<(Day, String), ClassTokens> = BTreeMap::new();
    for record in usage {
        if !record.unit.is_tokens() || !token_category(record.category) {
            continue;
        }
        let t = record.tokens;
        tokens
            .entry((record.day, normalize_model(provider, &record.model)))
            .or_default()
            .add(ClassTokens {
                input: t.uncached_input(),
                cache_read: t.cache_read,
                cache_write: t.cache_write,
                output: t.output,
            });
    }
    let mut billed: BTreeMap<(Day, String), Amounts> = BTreeMap::new();
    for cost in costs {
        let Some(model) = cost.model.as_deref() else {
            continue;
        };
        if cost.estimated || !cost.category.is_none_or(token_category) || cost.cost.is_zero() {
            continue;
        }
        billed
            .entry((cost.day, normalize_model(provider, model)))
            .or_default()
            .push((cost.token_class, cost.cost));
    }
    let mut out = Vec::new();
    for ((day, model), amounts) in billed {
        let Some(used) = tokens.get(&(day, model.clone())).copied() else {
            continue;
        };
        let mut cell = |class: ObservedClass, cost: Money| {
            let tokens = used.only(class);
            if tokens.total() > 0 && cost.nanos() > 0 {
                out.push(ObservedCell {
                    day,
                    model: model.clone(),
                    class,
                    cost,
                    tokens,
                });
            }
        };
        if amounts.iter().all(|(class, _)| class.is_some()) {
            let mut by_class: BTreeMap<TokenClass, Money> = BTreeMap::new();
            for (class, cost) in amounts {
                if let Some(class) = class {
                    *by_class.entry(class).or_default() += cost;
                }
            }
            for (class, cost) in by_class {
                cell(ObservedClass::of(class), cost);
            }
        } else {
            cell(ObservedClass::All, amounts.iter().map(|(_, c)| *c).sum());
        }
    }
    out
}

/// An observed price set against the catalog's.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Drift {
    /// The catalog's price of the same tokens (exact, in dollars); `None` when the catalog has
    /// no USD price for the model or for one of the classes used.
    pub catalog_cost: Option<Decimal>,
    /// The catalog's price per 1M of the same tokens, to the nano-dollar.
    pub catalog_per_1m: Option<Money>,
    /// (billed − catalog) ÷ catalog, in percent to one decimal.
    pub drift_pct: Option<Decimal>,
    /// The two differ by more than the threshold.
    pub drifted: bool,
}

/// The catalog's price of some tokens under an entry: `None` when a class with tokens has no
/// price, or the entry is not in USD.
pub fn catalog_cost(entry: &PriceEntry, tokens: ClassTokens) -> Option<Decimal> {
    if entry.currency.as_str() != "USD" {
        return None;
    }
    let prices = &entry.tokens;
    let mut total = Decimal::ZERO;
    for (count, price) in [
        (tokens.input, prices.input),
        (tokens.cache_read, prices.cache_read),
        (tokens.cache_write, prices.cache_write_5m),
        (tokens.output, prices.output),
    ] {
        if count == 0 {
            continue;
        }
        total += Decimal::from(count).checked_mul(price?)? / Decimal::from(1_000_000);
    }
    Some(total)
}

/// How far the catalog (`entry`, the one that would price the model on the cell's day) is
/// from what the bill charged for the cell's tokens.
pub fn drift(cell: &ObservedCell, entry: Option<&PriceEntry>, threshold_pct: Decimal) -> Drift {
    let catalog = entry.and_then(|e| catalog_cost(e, cell.tokens));
    let billed = cell.cost.to_decimal();
    let tokens = cell.tokens.total();
    let catalog_per_1m = catalog.and_then(|c| {
        if tokens <= 0 {
            return None;
        }
        Money::from_decimal(c * Decimal::from(1_000_000) / Decimal::from(tokens)).ok()
    });
    let (drift_pct, drifted) = match catalog {
        Some(c) if c > Decimal::ZERO => {
            let diff = billed - c;
            let mut pct = (diff * Decimal::ONE_HUNDRED / c)
                .round_dp_with_strategy(1, RoundingStrategy::MidpointAwayFromZero);
            pct.rescale(1);
            (
                Some(pct),
                diff.abs() * Decimal::ONE_HUNDRED > threshold_pct * c,
            )
        }
        // A free catalog price against a billed one is drift of unknown size.
        Some(_) => (None, billed > Decimal::ZERO),
        None => (None, false),
    };
    Drift {
        catalog_cost: catalog,
        catalog_per_1m,
        drift_pct,
        drifted,
    }
}

#[cfg(test)]
#[path = "observed_tests.rs"]
mod tests;
