//! One price-catalog entry: which models it prices (provider + glob), the prices per 1M tokens
//! of each token class and per non-token unit, the conditions under which it applies, when it
//! is effective, and where it came from.

use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::calendar::Day;
use crate::money::Currency;
use crate::provider::ProviderKind;
use crate::usage::Unit;

/// Where a price came from. A user's price beats the built-in list price. A price observed on
/// a bill (the effective price the provider charged a day) is evidence shown beside the
/// catalog, never a price that prices calls: it blends tiers, contexts and batch, and pricing
/// calls with it would hide the drift it exists to show (adopt one by adding it as a user
/// price).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PriceSource {
    #[serde(alias = "builtin", alias = "built-in")]
    BuiltIn,
    Observed,
    User,
}

/// The spelling used in the catalog's documents; the same as [`PriceSource`].
pub type Provenance = PriceSource;

impl PriceSource {
    pub const ALL: [PriceSource; 3] = [
        PriceSource::BuiltIn,
        PriceSource::Observed,
        PriceSource::User,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            PriceSource::BuiltIn => "built_in",
            PriceSource::Observed => "observed",
            PriceSource::User => "user",
        }
    }

    /// Whether entries of this provenance price calls (and weigh allocation).
    pub const fn prices_calls(self) -> bool {
        !matches!(self, PriceSource::Observed)
    }

    /// Higher wins when several entries match.
    pub const fn rank(self) -> u8 {
        match self {
            PriceSource::BuiltIn => 0,
            PriceSource::Observed => 1,
            PriceSource::User => 2,
        }
    }
}

impl FromStr for PriceSource {
    type Err = String;
    fn from_str(text: &str) -> Result<PriceSource, String> {
        match text.trim().to_ascii_lowercase().replace('-', "_").as_str() {
            "built_in" | "builtin" => Ok(PriceSource::BuiltIn),
            "observed" => Ok(PriceSource::Observed),
            "user" => Ok(PriceSource::User),
            _ => Err(format!(
                "unknown price provenance \"{text}\"; expected built_in, observed or user"
            )),
        }
    }
}

impl fmt::Display for PriceSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Prices in the entry's currency per 1M tokens of each canonical, disjoint token class.
/// `None` means the entry does not price the class: tokens of it leave the call unpriced,
/// except reasoning tokens, which default to the output price.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenPrices {
    /// Uncached input.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<Decimal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_read: Option<Decimal>,
    /// Cache writes with a 5-minute lifetime (also used for writes of unknown lifetime).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_write_5m: Option<Decimal>,
    /// Cache writes with a 1-hour lifetime.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_write_1h: Option<Decimal>,
    /// Visible output.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<Decimal>,
    /// Reasoning (thinking) output; the output price when not set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning: Option<Decimal>,
}

impl TokenPrices {
    pub fn is_empty(&self) -> bool {
        *self == TokenPrices::default()
    }

    fn all(&self) -> [Option<Decimal>; 6] {
        [
            self.input,
            self.cache_read,
            self.cache_write_5m,
            self.cache_write_1h,
            self.output,
            self.reasoning,
        ]
    }
}

/// When an entry applies beyond model and date.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conditions {
    /// Applies when the request's total input (uncached + cache read + cache writes) is above
    /// this many tokens; its prices then apply to the whole request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context_above: Option<i64>,
    /// Applies to batch calls only (otherwise to non-batch calls only).
    #[serde(default)]
    pub batch: bool,
    /// Applies to this service tier only (`priority`, `flex`, ...); `None` is the standard tier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_tier: Option<String>,
}

/// A price per one non-token unit (per image, per second, per character, per request).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct UnitPrice {
    pub unit: Unit,
    pub price: Decimal,
}

/// One catalog entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PriceEntry {
    /// Stable identity: the store's row id for stored entries, a key derived from the fields
    /// for built-in ones (`builtin:anthropic:claude-3-7-sonnet*:2024-01-01`).
    pub id: String,
    pub provider: ProviderKind,
    /// `*` matches any run of characters: `gpt-4o-mini*` matches `gpt-4o-mini-2024-07-18`.
    /// Matched case-insensitively against the normalized model id.
    pub model_glob: String,
    pub tokens: TokenPrices,
    pub units: Vec<UnitPrice>,
    pub conditions: Conditions,
    pub effective_from: Day,
    /// Last day the entry applies (inclusive); `None`: until further notice.
    pub effective_to: Option<Day>,
    pub currency: Currency,
    pub source: PriceSource,
    /// Where the figure was read (a document, a bill, a person) and when.
    pub note: String,
}

/// Why an entry cannot be accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EntryError {
    #[error("the model pattern is empty; give a model id or a glob such as \"gpt-4o*\"")]
    EmptyGlob,
    #[error("the model pattern \"{0}\" is too long (at most 200 characters)")]
    GlobTooLong(String),
    #[error("a price cannot be negative ({0})")]
    NegativePrice(String),
    #[error("the entry prices nothing: give at least one token price or unit price")]
    NoPrices,
    #[error("effective_to {to} is before effective_from {from}")]
    BadDates { from: Day, to: Day },
    #[error("context_above must be a positive number of tokens, not {0}")]
    BadContext(i64),
    #[error("service tier \"{0}\" is not a tier name (letters, digits, '_' or '-')")]
    BadTier(String),
    #[error("the unit \"{0}\" is listed twice")]
    DuplicateUnit(String),
    #[error("tokens are priced per 1M in the token prices, not as a unit")]
    TokensAsUnit,
}

impl PriceEntry {
    /// The key used as id for entries that have no stored id.
    pub fn derived_id(&self) -> String {
        let mut id = format!(
            "{}:{}:{}:{}",
            self.source, self.provider, self.model_glob, self.effective_from
        );
        if let Some(n) = self.conditions.context_above {
            id.push_str(&format!(":context>{n}"));
        }
        if self.conditions.batch {
            id.push_str(":batch");
        }
        if let Some(tier) = &self.conditions.service_tier {
            id.push_str(&format!(":tier={tier}"));
        }
        id
    }

    /// Checks the entry's shape and normalizes its glob and tier to lower case.
    pub fn validate(mut self) -> Result<PriceEntry, EntryError> {
        self.model_glob = self.model_glob.trim().to_ascii_lowercase();
        if self.model_glob.is_empty() {
            return Err(EntryError::EmptyGlob);
        }
        if self.model_glob.len() > 200 {
            return Err(EntryError::GlobTooLong(self.model_glob));
        }
        for price in self
            .tokens
            .all()
            .into_iter()
            .flatten()
            .chain(self.units.iter().map(|u| u.price))
        {
            if price.is_sign_negative() && !price.is_zero() {
                return Err(EntryError::NegativePrice(price.to_string()));
            }
        }
        if self.tokens.is_empty() && self.units.is_empty() {
            return Err(EntryError::NoPrices);
        }
        if let Some(to) = self.effective_to
            && to < self.effective_from
        {
            return Err(EntryError::BadDates {
                from: self.effective_from,
                to,
            });
        }
        if let Some(n) = self.conditions.context_above
            && n <= 0
        {
            return Err(EntryError::BadContext(n));
        }
        self.conditions.service_tier = match self.conditions.service_tier.take() {
            None => None,
            Some(tier) => {
                let valid = !tier.trim().is_empty()
                    && tier.len() <= 40
                    && tier
                        .trim()
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
                if !valid {
                    return Err(EntryError::BadTier(tier));
                }
                crate::catalog::normalize_tier(Some(&tier))
            }
        };
        let mut seen: Vec<&Unit> = Vec::new();
        for unit in &self.units {
            if unit.unit.is_tokens() {
                return Err(EntryError::TokensAsUnit);
            }
            if seen.contains(&&unit.unit) {
                return Err(EntryError::DuplicateUnit(unit.unit.to_string()));
            }
            seen.push(&unit.unit);
        }
        if self.id.trim().is_empty() {
            self.id = self.derived_id();
        }
        Ok(self)
    }

    pub(crate) fn applies_on(&self, day: Day) -> bool {
        self.effective_from <= day && self.effective_to.is_none_or(|to| day <= to)
    }

    /// The price of one non-token unit, when the entry has one.
    pub fn unit_price(&self, unit: &Unit) -> Option<Decimal> {
        self.units.iter().find(|u| &u.unit == unit).map(|u| u.price)
    }

    /// Literal characters of the glob (how specific it is), then whether it is exact.
    pub(crate) fn specificity(&self) -> (usize, bool) {
        (
            self.model_glob.chars().filter(|c| *c != '*').count(),
            !self.model_glob.contains('*'),
        )
    }
}
