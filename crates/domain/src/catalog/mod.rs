//! The price catalog: list prices per 1M tokens (and per non-token unit) by provider, model
//! glob, conditions and effective date, and the pricing of one metered call.
//!
//! The catalog weighs allocation (a key's share of a billed amount is its usage priced at list
//! price) and prices metered events ([`price`]). A model the catalog does not know is
//! *unpriced*: it is never treated as free.

mod data;
mod entry;
mod model_id;
pub mod observed;
mod pricing;

use std::sync::Arc;

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

use crate::calendar::Day;
use crate::provider::ProviderKind;
use crate::usage::{TokenClass, TokenCounts, Unit};

pub use data::{
    BUILT_IN_PRICES_JSON, PriceFileError, entry_from_json, entry_to_json, parse_price_file,
    write_price_file,
};
pub use entry::{
    Conditions, EntryError, PriceEntry, PriceSource, Provenance, TokenPrices, UnitPrice,
};
pub use model_id::{normalize_model, upstream_model};
pub use pricing::{
    CanonicalUsage, CostClass, LineCost, Priced, Pricing, Unpriced, normalize_tier, price,
    price_with,
};
use pricing::{Miss, Wanted};

/// The name the sync's allocation has always used for an entry.
pub type ModelPrice = PriceEntry;

impl PriceEntry {
    /// USD per 1M tokens of an allocation token class (zero where the entry has no price).
    pub fn per_m(&self, class: TokenClass) -> Decimal {
        let price = match class {
            TokenClass::Input => self.tokens.input,
            TokenClass::CachedInput => self.tokens.cache_read,
            TokenClass::CacheWrite => self.tokens.cache_write_5m,
            TokenClass::Output => self.tokens.output,
        };
        price.unwrap_or(Decimal::ZERO)
    }

    /// List price of the given tokens and non-token quantity, in nano-units, as a weight for
    /// allocation (classes the entry does not price weigh nothing).
    pub fn price_nanos(&self, tokens: TokenCounts, unit: &Unit, quantity: Decimal) -> i128 {
        let mut total = Decimal::ZERO;
        for class in TokenClass::ALL {
            let count = Decimal::from(tokens.of_class(class));
            total += count * self.per_m(class) / Decimal::from(1_000_000);
        }
        if let Some(each) = self.unit_price(unit) {
            total += quantity * each;
        }
        (total * Decimal::from(1_000_000_000))
            .round()
            .to_i128()
            .unwrap_or(0)
    }
}

/// A set of prices with a most-specific-match lookup.
///
/// Which entries' provider and model glob fit a (provider, model) pair does not depend on the
/// call, so it is remembered per pair ([`Matches`]): a metered batch of one model compares the
/// model with the globs once, not once per event and entry.
#[derive(Debug, Default)]
pub struct PriceCatalog {
    entries: Vec<PriceEntry>,
    /// Each entry's glob, lower case (entries read from older files may not be).
    globs: Vec<String>,
    matches: Matches,
}

impl Clone for PriceCatalog {
    fn clone(&self) -> PriceCatalog {
        PriceCatalog::new(self.entries.clone())
    }
}

/// The entries (by index) whose provider and glob fit a (provider, normalized model) pair.
/// Bounded: past [`Matches::MAX_PAIRS`] pairs (a sender inventing model names) it starts
/// again, so memory stays flat whatever the input. Looked up by `&str`: a hit allocates
/// nothing.
#[derive(Debug, Default)]
struct Matches(std::sync::Mutex<Pairs>);

/// provider → normalized model → indexes of the entries that fit it.
type Pairs =
    std::collections::HashMap<ProviderKind, std::collections::HashMap<String, Arc<[usize]>>>;

impl Matches {
    const MAX_PAIRS: usize = 4_096;

    fn get_or(
        &self,
        provider: ProviderKind,
        model_id: &str,
        find: impl FnOnce() -> Vec<usize>,
    ) -> Arc<[usize]> {
        if let Some(found) = self.lock().get(&provider).and_then(|m| m.get(model_id)) {
            return found.clone();
        }
        let found: Arc<[usize]> = find().into();
        let mut pairs = self.lock();
        if pairs
            .values()
            .map(std::collections::HashMap::len)
            .sum::<usize>()
            >= Self::MAX_PAIRS
        {
            pairs.clear();
        }
        pairs
            .entry(provider)
            .or_default()
            .insert(model_id.to_owned(), found.clone());
        found
    }

    /// Pairs remembered (tests).
    #[cfg(test)]
    fn len(&self) -> usize {
        self.lock()
            .values()
            .map(std::collections::HashMap::len)
            .sum()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Pairs> {
        // A panic while holding the lock leaves a map that is still a valid memo.
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl PriceCatalog {
    pub fn new(entries: Vec<PriceEntry>) -> PriceCatalog {
        let globs = entries
            .iter()
            .map(|e| e.model_glob.to_ascii_lowercase())
            .collect();
        PriceCatalog {
            entries,
            globs,
            matches: Matches::default(),
        }
    }

    /// The prices spendlens ships with (`data/prices.json`).
    pub fn built_in() -> PriceCatalog {
        PriceCatalog::new(data::built_in_entries())
    }

    pub fn entries(&self) -> &[PriceEntry] {
        &self.entries
    }

    /// The standard-tier, non-batch price for a model on a day (what allocation weighs usage
    /// with): the matching entry of the highest provenance, most specific glob, latest start.
    pub fn lookup(&self, provider: ProviderKind, model: &str, day: Day) -> Option<&PriceEntry> {
        let wanted = Wanted {
            day,
            batch: false,
            tier: None,
            total_input: 0,
        };
        self.select(provider, &normalize_model(provider, model), &wanted)
            .ok()
    }

    /// [`PriceCatalog::lookup`], else the upstream provider's entry (a gateway's model, Claude
    /// on Bedrock or Vertex), as [`price`] falls back: the entry that prices the model's calls.
    pub fn lookup_for_calls(
        &self,
        provider: ProviderKind,
        model: &str,
        day: Day,
    ) -> Option<&PriceEntry> {
        self.lookup(provider, model, day).or_else(|| {
            let (up_provider, up_model) = upstream_model(provider, model)?;
            self.lookup(up_provider, &up_model, day)
        })
    }

    /// The entry that prices a call (see [`price`] for the order).
    pub(crate) fn select(
        &self,
        provider: ProviderKind,
        model_id: &str,
        wanted: &Wanted<'_>,
    ) -> Result<&PriceEntry, Miss> {
        let fitting = self.matches.get_or(provider, model_id, || {
            self.entries
                .iter()
                .zip(&self.globs)
                .enumerate()
                .filter(|(_, (e, glob))| {
                    e.source.prices_calls()
                        && e.provider == provider
                        && glob_matches(glob, model_id)
                })
                .map(|(i, _)| i)
                .collect()
        });
        let matching: Vec<&PriceEntry> = fitting
            .iter()
            .map(|&i| &self.entries[i])
            .filter(|e| e.applies_on(wanted.day))
            .collect();
        let rank = |e: &&PriceEntry| {
            (
                e.source.rank(),
                e.specificity(),
                e.effective_from,
                e.conditions.context_above.unwrap_or(0),
            )
        };
        if matching.is_empty() {
            return Err(Miss::Model);
        }
        let batch: Vec<&PriceEntry> = matching
            .iter()
            .copied()
            .filter(|e| e.conditions.batch == wanted.batch)
            .collect();
        if batch.is_empty() {
            return match (wanted.batch, matching.iter().copied().max_by_key(rank)) {
                (true, Some(best)) => Err(Miss::Batch(best.id.clone())),
                _ => Err(Miss::Model),
            };
        }
        let tiered: Vec<&PriceEntry> = batch
            .into_iter()
            .filter(|e| e.conditions.service_tier.as_deref() == wanted.tier)
            .collect();
        if tiered.is_empty() {
            return Err(Miss::Tier);
        }
        tiered
            .into_iter()
            .filter(|e| {
                e.conditions
                    .context_above
                    .is_none_or(|n| wanted.total_input > n)
            })
            .max_by_key(rank)
            .ok_or(Miss::Model)
    }
}

/// `*` matches any run of characters (including none); everything else matches itself.
pub fn glob_matches(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !text.starts_with(first) || text.len() < first.len() + last.len() || !text.ends_with(last) {
        return false;
    }
    let mut rest = &text[first.len()..text.len() - last.len()];
    for middle in &parts[1..parts.len() - 1] {
        match rest.find(middle) {
            Some(at) => rest = &rest[at + middle.len()..],
            None => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests;
