//! What one metered call cost, decided once at ingest: the provider-reported cost wins (and is
//! flagged as such), else the catalog's price at the event's time, else the call is *unpriced* —
//! its cost unknown, never $0.

use serde::Serialize;
use spendlens_domain::catalog::{CanonicalUsage, CostClass, Priced, Pricing, price};
use spendlens_domain::usage::Unit;
use spendlens_domain::{Currency, Money, PriceCatalog, ProviderKind};

use crate::event::MeteredEvent;

/// Where an event's cost came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CostSource {
    /// The provider, gateway or SDK reported it on the event.
    Reported,
    /// The price catalog priced the event's usage.
    Catalog,
    /// Neither: the cost is unknown.
    Unpriced,
}

impl CostSource {
    pub const fn as_str(self) -> &'static str {
        match self {
            CostSource::Reported => "reported",
            CostSource::Catalog => "catalog",
            CostSource::Unpriced => "unpriced",
        }
    }

    pub fn parse(text: &str) -> Option<CostSource> {
        match text {
            "reported" => Some(CostSource::Reported),
            "catalog" => Some(CostSource::Catalog),
            "unpriced" => Some(CostSource::Unpriced),
            _ => None,
        }
    }
}

/// An event's cost as decided at ingest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EventCost {
    /// The cost counted: the reported one, else the catalog's; `None` when unpriced.
    pub cost: Option<Money>,
    pub source: CostSource,
    /// What the catalog says, kept beside a reported cost to show drift.
    pub catalog_cost: Option<Money>,
    /// The catalog entry that priced it.
    pub price_entry: Option<String>,
    /// Why the catalog could not price it (also set beside a reported cost).
    pub unpriced_reason: Option<String>,
    /// How the catalog cost divides between input and output tokens (set exactly when
    /// `catalog_cost` is).
    pub catalog_split: Option<CostSplit>,
}

/// The catalog cost of a call by side: every priced line is rounded on its own and the cost is
/// their sum, so `input + output + other` is exactly the catalog cost.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct CostSplit {
    /// Input tokens: uncached input, cache reads and cache writes.
    pub input: Money,
    /// Output tokens: visible output and reasoning.
    pub output: Money,
    /// Non-token work (images, seconds, characters, requests).
    pub other: Money,
}

impl CostSplit {
    /// The split of a priced call, from its lines.
    pub fn of(priced: &Priced) -> CostSplit {
        let mut split = CostSplit::default();
        for line in &priced.lines {
            let side = match line.class {
                CostClass::Input
                | CostClass::CacheRead
                | CostClass::CacheWrite5m
                | CostClass::CacheWrite1h
                | CostClass::CacheWriteUnknown => &mut split.input,
                CostClass::Output | CostClass::Reasoning => &mut split.output,
                CostClass::Unit => &mut split.other,
            };
            *side += line.cost;
        }
        split
    }
}

/// A metered event with its cost: what the store writes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PricedEvent {
    pub event: MeteredEvent,
    pub cost: EventCost,
}

/// Prices one event against `catalog`.
pub fn cost_event(catalog: &PriceCatalog, event: &MeteredEvent) -> EventCost {
    let catalog_price = catalog_price(catalog, event);
    let (catalog_cost, price_entry, unpriced_reason, catalog_split) = match catalog_price {
        Ok((cost, entry, split)) => (Some(cost), Some(entry), None, Some(split)),
        Err(reason) => (None, None, Some(reason), None),
    };
    match event.reported_cost {
        Some(reported) => EventCost {
            cost: Some(reported),
            source: CostSource::Reported,
            catalog_cost,
            price_entry,
            unpriced_reason,
            catalog_split,
        },
        None => EventCost {
            cost: catalog_cost,
            source: if catalog_cost.is_some() {
                CostSource::Catalog
            } else {
                CostSource::Unpriced
            },
            catalog_cost,
            price_entry,
            unpriced_reason,
            catalog_split,
        },
    }
}

fn catalog_price(
    catalog: &PriceCatalog,
    event: &MeteredEvent,
) -> Result<(Money, String, CostSplit), String> {
    let provider: ProviderKind = event.provider.parse().map_err(|_| {
        format!(
            "spendlens has no prices for provider \"{}\"",
            event.provider
        )
    })?;
    if event.tokens.is_none() && event.quantity.is_none() {
        return Err("the event reports no token counts and no quantity".to_owned());
    }
    let tokens = event.tokens.unwrap_or_default();
    let count = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
    let quantity = match &event.quantity {
        Some((quantity, unit)) => Some((
            Unit::parse(unit).map_err(|err| format!("unit: {err}"))?,
            *quantity,
        )),
        None => None,
    };
    let usage = CanonicalUsage {
        input: count(tokens.input_uncached),
        cache_read: count(tokens.cache_read),
        cache_write_unknown: count(tokens.cache_write),
        output: count(tokens.output_visible),
        reasoning: count(tokens.output_reasoning),
        quantity,
        ..CanonicalUsage::default()
    };
    match price(catalog, provider, &event.model, event.time, &usage) {
        Pricing::Priced(priced) if priced.currency == Currency::usd() => {
            let split = CostSplit::of(&priced);
            Ok((priced.cost, priced.entry_id, split))
        }
        Pricing::Priced(priced) => Err(format!(
            "the catalog prices \"{}\" in {}, not USD",
            event.model,
            priced.currency.as_str()
        )),
        Pricing::Unpriced(reason) => Err(reason.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse_event;
    use time::macros::datetime;

    fn event(json: &str) -> MeteredEvent {
        parse_event(json, datetime!(2026-12-01 12:00 UTC)).unwrap()
    }

    #[test]
    fn a_known_model_is_priced_from_the_catalog() {
        let e = event(
            r#"{"id":"a","time":"2026-12-01T11:00:00Z","provider":"openai","model":"gpt-4o-mini","tokens":{"input":1000000,"output":0}}"#,
        );
        let cost = cost_event(&PriceCatalog::built_in(), &e);
        assert_eq!(cost.source, CostSource::Catalog);
        assert!(cost.cost.is_some_and(|c| c.nanos() > 0), "{cost:?}");
        assert_eq!(cost.cost, cost.catalog_cost);
    }

    #[test]
    fn the_catalog_split_adds_up_to_the_catalog_cost() {
        let e = event(
            r#"{"id":"a","time":"2026-12-01T11:00:00Z","provider":"openai","model":"gpt-4o-mini","tokens":{"input":1234567,"cache_read":1000,"output":7654321,"reasoning":11}}"#,
        );
        let cost = cost_event(&PriceCatalog::built_in(), &e);
        let split = cost.catalog_split.unwrap();
        assert!(
            split.input.nanos() > 0 && split.output.nanos() > 0,
            "{split:?}"
        );
        assert_eq!(split.other, Money::ZERO);
        assert_eq!(
            Some(split.input + split.output + split.other),
            cost.catalog_cost
        );
        let unpriced = event(
            r#"{"id":"a","time":"2026-12-01T11:00:00Z","provider":"openai","model":"no-such-model-9","tokens":{"input":10}}"#,
        );
        assert_eq!(
            cost_event(&PriceCatalog::built_in(), &unpriced).catalog_split,
            None
        );
    }

    #[test]
    fn an_unknown_model_is_unpriced_not_free() {
        let e = event(
            r#"{"id":"a","time":"2026-12-01T11:00:00Z","provider":"openai","model":"no-such-model-9","tokens":{"input":10,"output":5}}"#,
        );
        let cost = cost_event(&PriceCatalog::built_in(), &e);
        assert_eq!(cost.source, CostSource::Unpriced);
        assert_eq!(cost.cost, None);
        assert!(cost.unpriced_reason.unwrap().contains("no-such-model-9"));
    }

    #[test]
    fn unknown_usage_and_unknown_providers_are_unpriced() {
        let no_usage = event(
            r#"{"id":"a","time":"2026-12-01T11:00:00Z","provider":"openai","model":"gpt-4o-mini"}"#,
        );
        let cost = cost_event(&PriceCatalog::built_in(), &no_usage);
        assert_eq!((cost.source, cost.cost), (CostSource::Unpriced, None));
        let other = event(
            r#"{"id":"a","time":"2026-12-01T11:00:00Z","provider":"acme-llm","model":"m","tokens":{"input":1}}"#,
        );
        let cost = cost_event(&PriceCatalog::built_in(), &other);
        assert_eq!(cost.source, CostSource::Unpriced);
        assert!(cost.unpriced_reason.unwrap().contains("acme-llm"));
    }

    #[test]
    fn a_reported_cost_wins_and_the_catalog_cost_is_kept_beside_it() {
        let e = event(
            r#"{"id":"a","time":"2026-12-01T11:00:00Z","provider":"openai","model":"gpt-4o-mini","tokens":{"input":1000},"cost":"0.5"}"#,
        );
        let cost = cost_event(&PriceCatalog::built_in(), &e);
        assert_eq!(cost.source, CostSource::Reported);
        assert_eq!(cost.cost, Some(Money::from_nanos(500_000_000)));
        assert!(cost.catalog_cost.is_some());
        assert_ne!(cost.catalog_cost, cost.cost);
    }
}
