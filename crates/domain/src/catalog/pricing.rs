//! Pricing one metered call: canonical (disjoint) usage in, exact money and a per-class
//! breakdown out — or *unpriced* with the reason, never $0 for a model the catalog does not know.
//!
//! Rounding rule: each line (token class or unit) costs `units × price_per_1M / 1e6` computed
//! exactly in decimal and rounded once to whole nano-units, half to even; the call's cost is the
//! sum of its lines, so the breakdown always adds up to the total.

use std::fmt;

use rust_decimal::{Decimal, RoundingStrategy};
use serde::Serialize;
use time::OffsetDateTime;

use crate::calendar::Day;
use crate::money::{Currency, Money, Quantity};
use crate::provider::ProviderKind;
use crate::usage::Unit;

use super::PriceCatalog;
use super::entry::PriceEntry;

/// One call's usage in canonical buckets: every token is in exactly one bucket
/// (METERING.md §3.1). Callers normalize the provider's shape first (OpenAI's input includes
/// cached tokens, Anthropic's parts are disjoint; reasoning is a part of OpenAI's output).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct CanonicalUsage {
    /// Input neither read from nor written to the cache.
    pub input: i64,
    pub cache_read: i64,
    pub cache_write_5m: i64,
    pub cache_write_1h: i64,
    /// Cache writes whose lifetime the emitter did not say: priced at the 5-minute rate and
    /// flagged.
    pub cache_write_unknown: i64,
    /// Visible output (output minus reasoning).
    pub output: i64,
    pub reasoning: i64,
    /// Non-token work (images, seconds, characters, requests).
    pub quantity: Option<(Unit, Quantity)>,
    /// The service tier the provider *applied* (from the response): `priority`, `flex`, ...
    /// `None`, `default`, `standard`, `auto` and `on_demand` are the standard tier.
    pub service_tier: Option<String>,
    pub batch: bool,
}

impl CanonicalUsage {
    /// All input tokens, cached or not: what context-length conditions compare.
    pub fn total_input(&self) -> i64 {
        self.input
            .saturating_add(self.cache_read)
            .saturating_add(self.cache_write_5m)
            .saturating_add(self.cache_write_1h)
            .saturating_add(self.cache_write_unknown)
    }

    pub fn total_output(&self) -> i64 {
        self.output.saturating_add(self.reasoning)
    }
}

/// A priced line of a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CostClass {
    Input,
    CacheRead,
    CacheWrite5m,
    CacheWrite1h,
    /// Cache writes of unknown lifetime, priced at the 5-minute rate.
    CacheWriteUnknown,
    Output,
    Reasoning,
    /// The non-token unit of the usage.
    Unit,
}

impl CostClass {
    pub const fn as_str(self) -> &'static str {
        match self {
            CostClass::Input => "input",
            CostClass::CacheRead => "cache_read",
            CostClass::CacheWrite5m => "cache_write_5m",
            CostClass::CacheWrite1h => "cache_write_1h",
            CostClass::CacheWriteUnknown => "cache_write_unknown",
            CostClass::Output => "output",
            CostClass::Reasoning => "reasoning",
            CostClass::Unit => "unit",
        }
    }
}

/// One line of the breakdown: `units` at `unit_price` (per 1M for tokens, per one unit
/// otherwise) cost `cost`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LineCost {
    pub class: CostClass,
    /// `tokens`, or the non-token unit.
    pub unit: Unit,
    pub units: Decimal,
    pub unit_price: Decimal,
    pub cost: Money,
}

/// A priced call.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Priced {
    pub cost: Money,
    pub currency: Currency,
    /// The entry that priced it.
    pub entry_id: String,
    pub entry: Box<PriceEntry>,
    /// Lines with units; their costs add up to `cost`.
    pub lines: Vec<LineCost>,
    /// Set when the call was priced at another provider's entry: a gateway's (OpenRouter,
    /// LiteLLM) upstream, or Anthropic for Claude on Bedrock and Vertex.
    pub upstream: Option<(ProviderKind, String)>,
    /// Cache writes of unknown lifetime were priced at the 5-minute rate.
    pub assumed_cache_write_5m: bool,
}

/// Why a call could not be priced. Shown and counted; the cost is unknown, not zero.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum Unpriced {
    #[error("no price for {provider} model \"{model}\" on {day}")]
    UnknownModel {
        provider: ProviderKind,
        model: String,
        day: Day,
    },
    #[error("no batch price for \"{model}\" (entry {entry_id} is for non-batch calls)")]
    NoBatchPrice { model: String, entry_id: String },
    #[error("no price for service tier \"{tier}\" of \"{model}\"")]
    NoTierPrice { model: String, tier: String },
    #[error("entry {entry_id} has no {class} price, and the call has {units} {class} tokens")]
    NoClassPrice {
        entry_id: String,
        class: &'static str,
        units: i64,
    },
    #[error("entry {entry_id} has no price per {unit}, and the call used {quantity} {unit}")]
    NoUnitPrice {
        entry_id: String,
        unit: Unit,
        quantity: Quantity,
    },
    #[error("the usage is invalid: {0}")]
    InvalidUsage(String),
    #[error("the cost is too large to represent")]
    Overflow,
}

/// The outcome of pricing one call.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Pricing {
    Priced(Priced),
    Unpriced(Unpriced),
}

impl Pricing {
    /// The cost when priced; `None` (unknown) when not.
    pub fn cost(&self) -> Option<Money> {
        match self {
            Pricing::Priced(p) => Some(p.cost),
            Pricing::Unpriced(_) => None,
        }
    }

    pub fn is_priced(&self) -> bool {
        matches!(self, Pricing::Priced(_))
    }
}

impl fmt::Display for Pricing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Pricing::Priced(p) => write!(f, "{} {} ({})", p.cost, p.currency, p.entry_id),
            Pricing::Unpriced(reason) => write!(f, "unpriced: {reason}"),
        }
    }
}

/// Standard-tier spellings become `None`; others are lower-cased (`fast` and Vertex's
/// `ON_DEMAND_PRIORITY` are `priority`).
pub fn normalize_tier(tier: Option<&str>) -> Option<String> {
    let tier = tier?.trim().to_ascii_lowercase().replace('-', "_");
    match tier.as_str() {
        "" | "auto" | "default" | "standard" | "standard_only" | "on_demand" => None,
        "fast" | "on_demand_priority" => Some("priority".to_owned()),
        _ => Some(tier),
    }
}

/// Prices one call of `model` at `provider` at instant `at` from the catalog.
///
/// Entry choice: the provider's entries whose glob matches the normalized model id and that are
/// effective on `at`'s UTC day, whose batch flag and service tier equal the call's, and whose
/// context condition (if any) the call's total input exceeds; among those, the highest
/// provenance (user > built-in; prices observed on bills never price a call), then the most specific glob, then the newest
/// `effective_from`, then the highest context threshold. A model the provider has no entry
/// for is priced at its upstream's entry when there is one ([`super::upstream_model`]: a
/// gateway's upstream provider, Anthropic for Claude on Bedrock and Vertex).
pub fn price(
    catalog: &PriceCatalog,
    provider: ProviderKind,
    model: &str,
    at: OffsetDateTime,
    usage: &CanonicalUsage,
) -> Pricing {
    if let Err(problem) = check_usage(usage) {
        return Pricing::Unpriced(Unpriced::InvalidUsage(problem));
    }
    let day = Day::of(at);
    let mut batch = usage.batch;
    let mut tier = normalize_tier(usage.service_tier.as_deref());
    if tier.as_deref() == Some("batch") {
        batch = true;
        tier = None;
    }
    let wanted = Wanted {
        day,
        batch,
        tier: tier.as_deref(),
        total_input: usage.total_input(),
    };
    let model_id = super::normalize_model(provider, model);
    let mut chosen = catalog.select(provider, &model_id, &wanted);
    let mut upstream = None;
    if matches!(chosen, Err(Miss::Model))
        && let Some((up_provider, up_model)) = super::upstream_model(provider, model)
    {
        chosen = catalog.select(up_provider, &up_model, &wanted);
        upstream = Some((up_provider, up_model));
    }
    match chosen {
        Ok(entry) => match price_with(entry, usage) {
            Ok(mut priced) => {
                priced.upstream = upstream;
                Pricing::Priced(priced)
            }
            Err(reason) => Pricing::Unpriced(reason),
        },
        Err(miss) => Pricing::Unpriced(match miss {
            Miss::Model => Unpriced::UnknownModel {
                provider,
                model: model.trim().to_owned(),
                day,
            },
            Miss::Batch(entry_id) => Unpriced::NoBatchPrice {
                model: model.trim().to_owned(),
                entry_id,
            },
            Miss::Tier => Unpriced::NoTierPrice {
                model: model.trim().to_owned(),
                tier: tier.unwrap_or_default(),
            },
        }),
    }
}

/// What an entry must fit, besides provider and model.
pub(crate) struct Wanted<'a> {
    pub day: Day,
    pub batch: bool,
    pub tier: Option<&'a str>,
    pub total_input: i64,
}

/// Why no entry fits.
pub(crate) enum Miss {
    /// No entry for the model on the day.
    Model,
    /// The model has entries, none for batch calls (the id of the one that would apply).
    Batch(String),
    /// The model has entries, none for the call's service tier.
    Tier,
}

fn check_usage(usage: &CanonicalUsage) -> Result<(), String> {
    let buckets = [
        ("input", usage.input),
        ("cache_read", usage.cache_read),
        ("cache_write_5m", usage.cache_write_5m),
        ("cache_write_1h", usage.cache_write_1h),
        ("cache_write_unknown", usage.cache_write_unknown),
        ("output", usage.output),
        ("reasoning", usage.reasoning),
    ];
    for (name, count) in buckets {
        if count < 0 {
            return Err(format!("{name} is negative ({count})"));
        }
    }
    if let Some((unit, quantity)) = &usage.quantity
        && quantity.micros() < 0
    {
        return Err(format!("the quantity of {unit} is negative ({quantity})"));
    }
    Ok(())
}

/// Prices `usage` with one chosen entry.
pub fn price_with(entry: &PriceEntry, usage: &CanonicalUsage) -> Result<Priced, Unpriced> {
    let p = &entry.tokens;
    let token_lines = [
        (CostClass::Input, usage.input, p.input),
        (CostClass::CacheRead, usage.cache_read, p.cache_read),
        (
            CostClass::CacheWrite5m,
            usage.cache_write_5m,
            p.cache_write_5m,
        ),
        (
            CostClass::CacheWrite1h,
            usage.cache_write_1h,
            p.cache_write_1h,
        ),
        (
            CostClass::CacheWriteUnknown,
            usage.cache_write_unknown,
            p.cache_write_5m,
        ),
        (CostClass::Output, usage.output, p.output),
        (
            CostClass::Reasoning,
            usage.reasoning,
            p.reasoning.or(p.output),
        ),
    ];
    let mut lines = Vec::new();
    let mut total = Money::ZERO;
    for (class, count, per_m) in token_lines {
        if count == 0 {
            continue;
        }
        let Some(per_m) = per_m else {
            return Err(Unpriced::NoClassPrice {
                entry_id: entry.id.clone(),
                class: class.as_str(),
                units: count,
            });
        };
        let cost = line_nanos(Decimal::from(count), per_m, Decimal::from(1_000))?;
        total = total.checked_add(cost).ok_or(Unpriced::Overflow)?;
        lines.push(LineCost {
            class,
            unit: Unit::tokens(),
            units: Decimal::from(count),
            unit_price: per_m,
            cost,
        });
    }
    if let Some((unit, quantity)) = &usage.quantity
        && !quantity.is_zero()
    {
        let Some(each) = entry.unit_price(unit) else {
            return Err(Unpriced::NoUnitPrice {
                entry_id: entry.id.clone(),
                unit: unit.clone(),
                quantity: *quantity,
            });
        };
        let units = quantity.to_decimal();
        let cost = line_nanos(units, each, Decimal::from(1_000_000_000))?;
        total = total.checked_add(cost).ok_or(Unpriced::Overflow)?;
        lines.push(LineCost {
            class: CostClass::Unit,
            unit: unit.clone(),
            units,
            unit_price: each,
            cost,
        });
    }
    Ok(Priced {
        cost: total,
        currency: entry.currency.clone(),
        entry_id: entry.id.clone(),
        entry: Box::new(entry.clone()),
        lines,
        upstream: None,
        assumed_cache_write_5m: usage.cache_write_unknown > 0,
    })
}

/// `units × price × nanos_per_price_unit`, rounded once to whole nanos, half to even.
/// Token prices are per 1M tokens in whole currency units, so nanos per token = price × 1e3.
fn line_nanos(units: Decimal, price: Decimal, scale: Decimal) -> Result<Money, Unpriced> {
    let nanos = units
        .checked_mul(price)
        .and_then(|v| v.checked_mul(scale))
        .ok_or(Unpriced::Overflow)?
        .round_dp_with_strategy(0, RoundingStrategy::MidpointNearestEven);
    i64::try_from(nanos)
        .map(Money::from_nanos)
        .map_err(|_| Unpriced::Overflow)
}
