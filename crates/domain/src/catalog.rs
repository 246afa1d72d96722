//! The price catalog: list prices per 1M tokens (and per non-token unit) by model glob,
//! provider and effective date.
//!
//! Today the catalog weighs allocation (a key's share of a billed amount is its usage priced at
//! list price) and prices usage that a provider reports without cost. A model the catalog does
//! not know is *unpriced*: it is never treated as free.

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde::Serialize;

use crate::calendar::Day;
use crate::money::Money;
use crate::provider::ProviderKind;
use crate::usage::{TokenClass, TokenCounts, Unit};

/// Where a price came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PriceSource {
    BuiltIn,
    User,
    Observed,
}

/// One catalog entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ModelPrice {
    pub provider: ProviderKind,
    /// `*` matches any run of characters: `gpt-4o-mini*` matches `gpt-4o-mini-2024-07-18`.
    pub model_glob: String,
    /// USD per 1M uncached input tokens.
    pub input_per_m: Decimal,
    /// USD per 1M tokens read from the prompt cache.
    pub cached_input_per_m: Decimal,
    /// USD per 1M tokens written to the prompt cache.
    pub cache_write_per_m: Decimal,
    /// USD per 1M output tokens.
    pub output_per_m: Decimal,
    /// A price per non-token unit (per image, per character, per second), when the model is
    /// billed that way.
    pub per_unit: Option<(Unit, Decimal)>,
    pub effective_from: Day,
    pub effective_to: Option<Day>,
    pub source: PriceSource,
}

impl ModelPrice {
    pub fn per_m(&self, class: TokenClass) -> Decimal {
        match class {
            TokenClass::Input => self.input_per_m,
            TokenClass::CachedInput => self.cached_input_per_m,
            TokenClass::CacheWrite => self.cache_write_per_m,
            TokenClass::Output => self.output_per_m,
        }
    }

    /// List price of the given tokens and non-token quantity, in USD nano-units.
    pub fn price_nanos(&self, tokens: TokenCounts, unit: &Unit, quantity: Decimal) -> i128 {
        let mut total = Decimal::ZERO;
        for class in TokenClass::ALL {
            let count = Decimal::from(tokens.of_class(class));
            total += count * self.per_m(class) / Decimal::from(1_000_000);
        }
        if let Some((price_unit, price)) = &self.per_unit
            && price_unit == unit
        {
            total += quantity * price;
        }
        (total * Decimal::from(1_000_000_000))
            .round()
            .to_i128()
            .unwrap_or(0)
    }

    /// The same as [`Self::price_nanos`] as money.
    pub fn price(&self, tokens: TokenCounts, unit: &Unit, quantity: Decimal) -> Money {
        Money::from_nanos(
            i64::try_from(self.price_nanos(tokens, unit, quantity)).unwrap_or(i64::MAX),
        )
    }

    fn applies_on(&self, day: Day) -> bool {
        self.effective_from <= day && self.effective_to.is_none_or(|to| day <= to)
    }
}

/// A set of prices with a most-specific-match lookup.
#[derive(Clone, Debug, Default)]
pub struct PriceCatalog {
    entries: Vec<ModelPrice>,
}

impl PriceCatalog {
    pub fn new(entries: Vec<ModelPrice>) -> PriceCatalog {
        PriceCatalog { entries }
    }

    /// The prices spendlens ships with (OpenAI and Anthropic list prices).
    pub fn built_in() -> PriceCatalog {
        PriceCatalog::new(built_in_prices())
    }

    pub fn entries(&self) -> &[ModelPrice] {
        &self.entries
    }

    /// The price for a model on a day: among entries of the provider whose glob matches and
    /// that apply on the day, the one with the longest literal text, then the latest start.
    pub fn lookup(&self, provider: ProviderKind, model: &str, day: Day) -> Option<&ModelPrice> {
        let model = model.trim().to_ascii_lowercase();
        self.entries
            .iter()
            .filter(|e| e.provider == provider && e.applies_on(day))
            .filter(|e| glob_matches(&e.model_glob.to_ascii_lowercase(), &model))
            .max_by_key(|e| (e.model_glob.replace('*', "").len(), e.effective_from))
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

fn usd(text: &str) -> Decimal {
    text.parse().unwrap_or(Decimal::ZERO)
}

struct Row(
    ProviderKind,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
);

/// List prices per 1M tokens: input, cached input, cache write, output. Effective from
/// 2024-01-01 unless a later row for the same glob says otherwise.
fn built_in_prices() -> Vec<ModelPrice> {
    use ProviderKind::{Anthropic, OpenAi};
    let rows = [
        // OpenAI (cache writes are not charged separately).
        Row(OpenAi, "gpt-5*", "1.25", "0.125", "0", "10"),
        Row(OpenAi, "gpt-5-mini*", "0.25", "0.025", "0", "2"),
        Row(OpenAi, "gpt-5-nano*", "0.05", "0.005", "0", "0.40"),
        Row(OpenAi, "gpt-4.1*", "2", "0.50", "0", "8"),
        Row(OpenAi, "gpt-4.1-mini*", "0.40", "0.10", "0", "1.60"),
        Row(OpenAi, "gpt-4.1-nano*", "0.10", "0.025", "0", "0.40"),
        Row(OpenAi, "gpt-4o*", "2.50", "1.25", "0", "10"),
        Row(OpenAi, "gpt-4o-mini*", "0.15", "0.075", "0", "0.60"),
        Row(OpenAi, "gpt-4o-audio*", "2.50", "1.25", "0", "10"),
        Row(OpenAi, "gpt-realtime*", "4", "0.40", "0", "16"),
        Row(OpenAi, "o1*", "15", "7.50", "0", "60"),
        Row(OpenAi, "o1-mini*", "1.10", "0.55", "0", "4.40"),
        Row(OpenAi, "o3*", "2", "0.50", "0", "8"),
        Row(OpenAi, "o3-mini*", "1.10", "0.55", "0", "4.40"),
        Row(OpenAi, "o4-mini*", "1.10", "0.275", "0", "4.40"),
        Row(OpenAi, "gpt-3.5-turbo*", "0.50", "0.50", "0", "1.50"),
        Row(OpenAi, "gpt-4-turbo*", "10", "10", "0", "30"),
        Row(OpenAi, "text-embedding-3-small*", "0.02", "0.02", "0", "0"),
        Row(OpenAi, "text-embedding-3-large*", "0.13", "0.13", "0", "0"),
        Row(OpenAi, "text-embedding-ada-002*", "0.10", "0.10", "0", "0"),
        Row(OpenAi, "omni-moderation*", "0", "0", "0", "0"),
        Row(OpenAi, "text-moderation*", "0", "0", "0", "0"),
        Row(OpenAi, "gpt-image-1*", "5", "1.25", "0", "40"),
        Row(OpenAi, "gpt-image-1-mini*", "2", "0.20", "0", "8"),
        Row(OpenAi, "gpt-4o-transcribe*", "2.50", "2.50", "0", "10"),
        Row(OpenAi, "gpt-4o-mini-transcribe*", "1.25", "1.25", "0", "5"),
        Row(OpenAi, "gpt-4o-mini-tts*", "0.60", "0.60", "0", "12"),
        // Anthropic (cache writes at the 5-minute rate, 1.25x input).
        Row(Anthropic, "claude-opus-4-5*", "5", "0.50", "6.25", "25"),
        Row(Anthropic, "claude-opus-4-1*", "15", "1.50", "18.75", "75"),
        Row(Anthropic, "claude-opus-4-0*", "15", "1.50", "18.75", "75"),
        Row(
            Anthropic,
            "claude-opus-4-2025*",
            "15",
            "1.50",
            "18.75",
            "75",
        ),
        Row(Anthropic, "claude-opus-4*", "5", "0.50", "6.25", "25"),
        Row(Anthropic, "claude-sonnet-4*", "3", "0.30", "3.75", "15"),
        Row(Anthropic, "claude-3-7-sonnet*", "3", "0.30", "3.75", "15"),
        Row(Anthropic, "claude-3-5-sonnet*", "3", "0.30", "3.75", "15"),
        Row(Anthropic, "claude-haiku-4*", "1", "0.10", "1.25", "5"),
        Row(Anthropic, "claude-3-5-haiku*", "0.80", "0.08", "1", "4"),
        Row(Anthropic, "claude-3-haiku*", "0.25", "0.03", "0.30", "1.25"),
        Row(Anthropic, "claude-3-opus*", "15", "1.50", "18.75", "75"),
    ];
    let since = Day::from_date(time::macros::date!(2024 - 01 - 01));
    let mut prices: Vec<ModelPrice> = rows
        .into_iter()
        .map(
            |Row(provider, glob, input, cached, write, output)| ModelPrice {
                provider,
                model_glob: glob.to_owned(),
                input_per_m: usd(input),
                cached_input_per_m: usd(cached),
                cache_write_per_m: usd(write),
                output_per_m: usd(output),
                per_unit: None,
                effective_from: since,
                effective_to: None,
                source: PriceSource::BuiltIn,
            },
        )
        .collect();
    // Models billed per unit rather than per token.
    let per_unit = [
        ("dall-e-3*", Unit::images(), "0.04"),
        ("dall-e-2*", Unit::images(), "0.02"),
        ("whisper-1*", Unit::seconds(), "0.0001"),
        ("tts-1-hd*", Unit::characters(), "0.00003"),
        ("tts-1*", Unit::characters(), "0.000015"),
    ];
    for (glob, unit, price) in per_unit {
        prices.push(ModelPrice {
            provider: OpenAi,
            model_glob: glob.to_owned(),
            input_per_m: Decimal::ZERO,
            cached_input_per_m: Decimal::ZERO,
            cache_write_per_m: Decimal::ZERO,
            output_per_m: Decimal::ZERO,
            per_unit: Some((unit, usd(price))),
            effective_from: since,
            effective_to: None,
            source: PriceSource::BuiltIn,
        });
    }
    prices
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> Day {
        text.parse().unwrap()
    }

    #[test]
    fn globs_match_prefixes_and_middles() {
        assert!(glob_matches("gpt-4o*", "gpt-4o-2024-08-06"));
        assert!(glob_matches("gpt-4o", "gpt-4o"));
        assert!(!glob_matches("gpt-4o", "gpt-4o-mini"));
        assert!(glob_matches("claude-*-4*", "claude-sonnet-4-20250514"));
        assert!(!glob_matches("claude-*-4*", "claude-3-5-haiku"));
        assert!(glob_matches("*", ""));
    }

    #[test]
    fn the_most_specific_glob_wins() {
        let catalog = PriceCatalog::built_in();
        let mini = catalog
            .lookup(
                ProviderKind::OpenAi,
                "gpt-4o-mini-2024-07-18",
                day("2026-11-01"),
            )
            .unwrap();
        assert_eq!(mini.model_glob, "gpt-4o-mini*");
        let opus = catalog
            .lookup(
                ProviderKind::Anthropic,
                "claude-opus-4-1-20250805",
                day("2026-11-01"),
            )
            .unwrap();
        assert_eq!(opus.output_per_m, usd("75"));
    }

    #[test]
    fn an_unknown_model_is_unpriced_not_free() {
        let catalog = PriceCatalog::built_in();
        assert!(
            catalog
                .lookup(ProviderKind::OpenAi, "my-fine-tune", day("2026-11-01"))
                .is_none()
        );
    }

    #[test]
    fn prices_multiply_tokens_per_million() {
        let catalog = PriceCatalog::built_in();
        let sonnet = catalog
            .lookup(
                ProviderKind::Anthropic,
                "claude-sonnet-4-5",
                day("2026-11-01"),
            )
            .unwrap();
        let tokens = TokenCounts {
            input: 2_000_000,
            output: 1_000_000,
            cache_read: 1_000_000,
            cache_write: 0,
        };
        // 1M uncached x $3 + 1M cached x $0.30 + 1M output x $15
        assert_eq!(
            sonnet
                .price(tokens, &Unit::tokens(), Decimal::ZERO)
                .to_exact_string(),
            "18.30"
        );
    }
}
