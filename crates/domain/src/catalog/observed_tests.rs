//! Observed prices: per class where the bill names classes, blended where it does not, and
//! the drift against the catalog with exact figures.

use rust_decimal::Decimal;

use super::*;
use crate::catalog::{Conditions, PriceSource, TokenPrices};
use crate::money::{Currency, Quantity};
use crate::usage::{TokenCounts, Unit};

fn day(text: &str) -> Day {
    text.parse().unwrap()
}

fn dec(text: &str) -> Decimal {
    text.parse().unwrap()
}

fn usage(d: &str, model: &str, input: i64, cached: i64, output: i64) -> UsageRecord {
    UsageRecord {
        day: day(d),
        workspace_id: None,
        api_key_id: Some("key_a".to_owned()),
        model: model.to_owned(),
        category: Category::Text,
        unit: Unit::tokens(),
        detail: String::new(),
        tokens: TokenCounts {
            input,
            output,
            cache_read: cached,
            cache_write: 0,
        },
        requests: Some(1),
        quantity: Quantity::ZERO,
        unpriced: false,
    }
}

fn cost(d: &str, model: &str, class: Option<TokenClass>, dollars: &str) -> BilledCost {
    BilledCost {
        day: day(d),
        workspace_id: None,
        api_key_id: None,
        model: Some(model.to_owned()),
        token_class: class,
        category: None,
        description: String::new(),
        cost: Money::parse_units(dollars).unwrap(),
        credits: Money::ZERO,
        currency: Currency::usd(),
        estimated: false,
        billing: None,
    }
}

fn entry(input: &str, cached: Option<&str>, output: &str) -> PriceEntry {
    PriceEntry {
        id: String::new(),
        provider: ProviderKind::OpenAi,
        model_glob: "gpt-4o*".to_owned(),
        tokens: TokenPrices {
            input: Some(dec(input)),
            cache_read: cached.map(dec),
            output: Some(dec(output)),
            ..TokenPrices::default()
        },
        units: Vec::new(),
        conditions: Conditions::default(),
        effective_from: day("2024-01-01"),
        effective_to: None,
        currency: Currency::usd(),
        source: PriceSource::BuiltIn,
        note: String::new(),
    }
    .validate()
    .unwrap()
}

#[test]
fn a_bill_that_names_classes_gives_a_price_per_class() {
    // Two keys' usage of one model on one day; input includes the cached tokens.
    let used = [
        usage(
            "2026-11-02",
            "gpt-4o-2024-08-06",
            1_500_000,
            500_000,
            200_000,
        ),
        usage("2026-11-02", "gpt-4o-2024-08-06", 500_000, 0, 100_000),
    ];
    let billed = [
        cost(
            "2026-11-02",
            "gpt-4o-2024-08-06",
            Some(TokenClass::Input),
            "3.75",
        ),
        cost(
            "2026-11-02",
            "gpt-4o-2024-08-06",
            Some(TokenClass::Input),
            "1.25",
        ),
        cost(
            "2026-11-02",
            "gpt-4o-2024-08-06",
            Some(TokenClass::CachedInput),
            "0.625",
        ),
        cost(
            "2026-11-02",
            "gpt-4o-2024-08-06",
            Some(TokenClass::Output),
            "3",
        ),
    ];
    let cells = observe(ProviderKind::OpenAi, &used, &billed);
    let got: Vec<(ObservedClass, i64, String)> = cells
        .iter()
        .map(|c| {
            (
                c.class,
                c.tokens.total(),
                c.per_1m().unwrap().to_exact_string(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (ObservedClass::Input, 1_500_000, "3.333333333".to_owned()),
            (ObservedClass::CachedInput, 500_000, "1.25".to_owned()),
            (ObservedClass::Output, 300_000, "10.00".to_owned()),
        ]
    );
    assert!(cells.iter().all(|c| c.day == day("2026-11-02")));
    // The catalog's gpt-4o: $2.50 input, $1.25 cached, $10 output.
    let catalog = entry("2.50", Some("1.25"), "10");
    let input = drift(&cells[0], Some(&catalog), DEFAULT_DRIFT_THRESHOLD_PCT);
    assert_eq!(input.catalog_cost, Some(dec("3.75")));
    assert_eq!(
        input.catalog_per_1m,
        Some(Money::parse_units("2.5").unwrap())
    );
    // (5.00 − 3.75) ÷ 3.75 = 33.33…%
    assert_eq!(input.drift_pct, Some(dec("33.3")));
    assert!(input.drifted);
    let cached = drift(&cells[1], Some(&catalog), DEFAULT_DRIFT_THRESHOLD_PCT);
    assert_eq!(cached.drift_pct, Some(dec("0.0")));
    assert!(!cached.drifted);
}

#[test]
fn a_bill_without_classes_gives_one_blended_price_and_no_cell_without_tokens() {
    let used = [
        usage("2026-11-02", "openai/gpt-4o", 1_000_000, 0, 100_000),
        usage("2026-11-03", "openai/gpt-4o", 0, 0, 0),
    ];
    let billed = [
        cost("2026-11-02", "openai/gpt-4o", None, "3.5"),
        cost("2026-11-03", "openai/gpt-4o", None, "1"),
        // A day with cost and no usage at all: no price.
        cost("2026-11-04", "openai/gpt-4o", None, "1"),
    ];
    let cells = observe(ProviderKind::OpenRouter, &used, &billed);
    assert_eq!(cells.len(), 1);
    let cell = &cells[0];
    assert_eq!(cell.class, ObservedClass::All);
    assert_eq!(cell.tokens.total(), 1_100_000);
    // $3.50 for 1.1M tokens: $3.181818181818… per 1M, half to even at the nano-dollar.
    assert_eq!(cell.per_1m().unwrap().to_exact_string(), "3.181818182");
    // Catalog: 1M input at $2.50 + 0.1M output at $10 = $3.50 exactly: no drift.
    let d = drift(
        cell,
        Some(&entry("2.5", None, "10")),
        DEFAULT_DRIFT_THRESHOLD_PCT,
    );
    assert_eq!(d.catalog_cost, Some(dec("3.5")));
    assert_eq!(d.drift_pct, Some(dec("0.0")));
    assert!(!d.drifted);
}

#[test]
fn the_threshold_is_exclusive_and_exact() {
    let cell = ObservedCell {
        day: day("2026-11-02"),
        model: "gpt-4o".to_owned(),
        class: ObservedClass::Input,
        cost: Money::parse_units("1.02").unwrap(),
        tokens: ClassTokens {
            input: 400_000,
            ..ClassTokens::default()
        },
    };
    // Catalog $2.50 per 1M: $1.00 for the tokens; billed $1.02 is exactly 2 %: not beyond.
    let catalog = entry("2.5", None, "10");
    let at = drift(&cell, Some(&catalog), DEFAULT_DRIFT_THRESHOLD_PCT);
    assert_eq!(at.drift_pct, Some(dec("2.0")));
    assert!(!at.drifted);
    let beyond = ObservedCell {
        cost: Money::from_nanos(1_020_000_001),
        ..cell.clone()
    };
    assert!(drift(&beyond, Some(&catalog), DEFAULT_DRIFT_THRESHOLD_PCT).drifted);
    let below = ObservedCell {
        cost: Money::from_nanos(979_999_999),
        ..cell.clone()
    };
    let d = drift(&below, Some(&catalog), DEFAULT_DRIFT_THRESHOLD_PCT);
    assert_eq!(d.drift_pct, Some(dec("-2.0")));
    assert!(d.drifted);
}

#[test]
fn no_catalog_price_is_unknown_drift_not_zero() {
    let cell = ObservedCell {
        day: day("2026-11-02"),
        model: "gpt-4o".to_owned(),
        class: ObservedClass::CachedInput,
        cost: Money::parse_units("1").unwrap(),
        tokens: ClassTokens {
            cache_read: 1_000_000,
            ..ClassTokens::default()
        },
    };
    // The entry prices no cached input: the catalog cost of these tokens is unknown.
    let d = drift(
        &cell,
        Some(&entry("2.5", None, "10")),
        DEFAULT_DRIFT_THRESHOLD_PCT,
    );
    assert_eq!(
        (d.catalog_cost, d.drift_pct, d.drifted),
        (None, None, false)
    );
    let d = drift(&cell, None, DEFAULT_DRIFT_THRESHOLD_PCT);
    assert_eq!(
        (d.catalog_cost, d.drift_pct, d.drifted),
        (None, None, false)
    );
}

#[test]
fn estimated_and_non_token_amounts_are_not_observed() {
    let used = [usage("2026-11-02", "gpt-4o", 1_000_000, 0, 0)];
    let mut estimated = cost("2026-11-02", "gpt-4o", Some(TokenClass::Input), "2.5");
    estimated.estimated = true;
    let mut tool = cost("2026-11-02", "gpt-4o", Some(TokenClass::Input), "9");
    tool.category = Some(Category::Tool);
    assert!(observe(ProviderKind::OpenAi, &used, &[estimated, tool]).is_empty());
}

#[test]
fn classes_parse_back() {
    for class in ObservedClass::ALL {
        assert_eq!(class.as_str().parse::<ObservedClass>(), Ok(class));
    }
    assert!("tokens".parse::<ObservedClass>().is_err());
}

#[test]
fn a_gateway_model_is_compared_with_the_upstream_price_that_prices_its_calls() {
    let catalog = super::super::PriceCatalog::new(vec![entry("2.5", None, "10")]);
    let at = day("2026-11-02");
    assert!(
        catalog
            .lookup(ProviderKind::OpenRouter, "openai/gpt-4o", at)
            .is_none()
    );
    let upstream = catalog
        .lookup_for_calls(ProviderKind::OpenRouter, "openai/gpt-4o", at)
        .unwrap();
    assert_eq!(upstream.provider, ProviderKind::OpenAi);
}
