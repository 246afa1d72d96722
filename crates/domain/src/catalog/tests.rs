//! Table tests and property tests of the catalog's lookup and of pricing.

use proptest::prelude::*;
use rust_decimal::Decimal;
use time::OffsetDateTime;
use time::macros::datetime;

use super::*;
use crate::money::{Currency, Money, Quantity};

fn day(text: &str) -> Day {
    text.parse().unwrap()
}

fn dec(text: &str) -> Decimal {
    text.parse().unwrap()
}

const AT: OffsetDateTime = datetime!(2026-11-01 12:00 UTC);

fn entry(provider: ProviderKind, glob: &str, input: &str, output: &str) -> PriceEntry {
    PriceEntry {
        id: String::new(),
        provider,
        model_glob: glob.to_owned(),
        tokens: TokenPrices {
            input: Some(dec(input)),
            cache_read: None,
            cache_write_5m: None,
            cache_write_1h: None,
            output: Some(dec(output)),
            reasoning: None,
        },
        units: Vec::new(),
        conditions: Conditions::default(),
        effective_from: day("2024-01-01"),
        effective_to: None,
        currency: Currency::usd(),
        source: PriceSource::BuiltIn,
        note: "test".to_owned(),
    }
    .validate()
    .unwrap()
}

/// Validates again after a test changed fields, with a fresh derived id.
fn fixed(e: PriceEntry) -> PriceEntry {
    PriceEntry {
        id: String::new(),
        ..e
    }
    .validate()
    .unwrap()
}

fn priced(pricing: Pricing) -> Priced {
    match pricing {
        Pricing::Priced(p) => p,
        Pricing::Unpriced(reason) => panic!("unpriced: {reason}"),
    }
}

fn unpriced(pricing: Pricing) -> Unpriced {
    match pricing {
        Pricing::Priced(p) => panic!("priced {} by {}", p.cost, p.entry_id),
        Pricing::Unpriced(reason) => reason,
    }
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
    assert_eq!(opus.tokens.output, Some(dec("75")));
}

#[test]
fn an_unknown_model_is_unpriced_not_free() {
    let catalog = PriceCatalog::built_in();
    assert!(
        catalog
            .lookup(ProviderKind::OpenAi, "my-fine-tune", day("2026-11-01"))
            .is_none()
    );
    let reason = unpriced(price(
        &catalog,
        ProviderKind::OpenAi,
        "my-fine-tune",
        AT,
        &CanonicalUsage {
            input: 10,
            ..CanonicalUsage::default()
        },
    ));
    assert!(matches!(reason, Unpriced::UnknownModel { .. }), "{reason}");
    assert!(reason.to_string().contains("my-fine-tune"), "{reason}");
}

#[test]
fn allocation_weights_multiply_tokens_per_million() {
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
        sonnet.price_nanos(tokens, &Unit::tokens(), Decimal::ZERO),
        18_300_000_000
    );
}

/// METERING.md §3.3: one Anthropic call seen three ways, always $0.054399.
#[test]
fn the_worked_example_costs_what_anthropic_billed() {
    let catalog = PriceCatalog::built_in();
    let usage = CanonicalUsage {
        input: 3,
        cache_read: 0,
        cache_write_5m: 12_304,
        output: 550,
        ..CanonicalUsage::default()
    };
    for model in [
        "claude-3-7-sonnet-20250219",
        "anthropic/claude-3-7-sonnet-20250219",
        "Claude-3-7-Sonnet-20250219",
    ] {
        let p = priced(price(&catalog, ProviderKind::Anthropic, model, AT, &usage));
        assert_eq!(p.cost.to_exact_string(), "0.054399", "{model}");
        assert_eq!(p.currency, Currency::usd());
        let lines: Vec<(CostClass, i64)> =
            p.lines.iter().map(|l| (l.class, l.cost.nanos())).collect();
        assert_eq!(
            lines,
            vec![
                (CostClass::Input, 9_000),
                (CostClass::CacheWrite5m, 46_140_000),
                (CostClass::Output, 8_250_000),
            ]
        );
        assert_eq!(p.lines.iter().map(|l| l.cost).sum::<Money>(), p.cost);
    }
    // The naive over-count of LiteLLM #9812 (12,307 input tokens) is not what we compute.
    let naive = CanonicalUsage {
        input: 12_307,
        ..usage.clone()
    };
    let p = priced(price(
        &catalog,
        ProviderKind::Anthropic,
        "claude-3-7-sonnet-20250219",
        AT,
        &naive,
    ));
    assert_eq!(p.cost.to_exact_string(), "0.091311");
}

#[test]
fn cache_writes_by_lifetime_and_reasoning_default_to_their_prices() {
    let catalog = PriceCatalog::built_in();
    let usage = CanonicalUsage {
        cache_write_1h: 1_000_000,
        cache_write_unknown: 1_000_000,
        reasoning: 1_000_000,
        ..CanonicalUsage::default()
    };
    let p = priced(price(
        &catalog,
        ProviderKind::Anthropic,
        "claude-3-7-sonnet-20250219",
        AT,
        &usage,
    ));
    // 1h at $6, unknown at the 5m $3.75 (flagged), reasoning at output $15.
    assert_eq!(p.cost.to_exact_string(), "24.75");
    assert!(p.assumed_cache_write_5m);
    // Sonnet 4.5 above 200k input tokens: the long-context prices for the whole request.
    let p = priced(price(
        &catalog,
        ProviderKind::Anthropic,
        "claude-sonnet-4-5",
        AT,
        &usage,
    ));
    assert_eq!(p.cost.to_exact_string(), "42.00");
}

#[test]
fn fractional_nano_prices_round_once_per_line_half_to_even() {
    // $0.0375 per 1M tokens is 37.5 nano-dollars per token.
    let mut e = entry(ProviderKind::OpenAi, "tiny", "0.0375", "0.0375");
    e.tokens.cache_read = Some(dec("0.0375"));
    let catalog = PriceCatalog::new(vec![e]);
    let one = CanonicalUsage {
        input: 1,
        output: 3,
        cache_read: 2,
        ..CanonicalUsage::default()
    };
    let p = priced(price(&catalog, ProviderKind::OpenAi, "tiny", AT, &one));
    // 37.5 → 38 (half to even), 75 → 75, 112.5 → 112 (half to even).
    let lines: Vec<i64> = p.lines.iter().map(|l| l.cost.nanos()).collect();
    assert_eq!(lines, vec![38, 75, 112]);
    assert_eq!(p.cost.nanos(), 225);
}

#[test]
fn non_token_units_are_priced_per_unit() {
    let catalog = PriceCatalog::built_in();
    let usage = CanonicalUsage {
        quantity: Some((Unit::images(), Quantity::from_whole(3))),
        ..CanonicalUsage::default()
    };
    let p = priced(price(
        &catalog,
        ProviderKind::OpenAi,
        "dall-e-3",
        AT,
        &usage,
    ));
    assert_eq!(p.cost.to_exact_string(), "0.12");
    let usage = CanonicalUsage {
        quantity: Some((Unit::seconds(), Quantity::from_whole(3))),
        ..CanonicalUsage::default()
    };
    let reason = unpriced(price(
        &catalog,
        ProviderKind::OpenAi,
        "dall-e-3",
        AT,
        &usage,
    ));
    assert!(matches!(reason, Unpriced::NoUnitPrice { .. }), "{reason}");
}

#[test]
fn a_class_without_a_price_leaves_the_call_unpriced() {
    let catalog = PriceCatalog::new(vec![entry(ProviderKind::OpenAi, "m", "1", "2")]);
    let usage = CanonicalUsage {
        cache_read: 5,
        ..CanonicalUsage::default()
    };
    let reason = unpriced(price(&catalog, ProviderKind::OpenAi, "m", AT, &usage));
    assert!(reason.to_string().contains("cache_read"), "{reason}");
}

#[test]
fn long_context_prices_the_whole_request_on_total_input() {
    let base = entry(ProviderKind::Anthropic, "claude-sonnet-4*", "3", "15");
    let mut long = entry(ProviderKind::Anthropic, "claude-sonnet-4*", "6", "22.50");
    long.conditions.context_above = Some(200_000);
    long.tokens.cache_read = Some(dec("0.60"));
    let long = fixed(long);
    let mut base = base;
    base.tokens.cache_read = Some(dec("0.30"));
    let catalog = PriceCatalog::new(vec![base, long.clone()]);
    // 100k uncached + 150k cached = 250k total input > 200k: every token at the long price.
    let usage = CanonicalUsage {
        input: 100_000,
        cache_read: 150_000,
        output: 1_000,
        ..CanonicalUsage::default()
    };
    let p = priced(price(
        &catalog,
        ProviderKind::Anthropic,
        "claude-sonnet-4-5",
        AT,
        &usage,
    ));
    assert_eq!(p.entry_id, long.id);
    // 0.1M x 6 + 0.15M x 0.60 + 0.001M x 22.50
    assert_eq!(p.cost.to_exact_string(), "0.7125");
    let exactly = CanonicalUsage {
        input: 50_000,
        cache_read: 150_000,
        ..CanonicalUsage::default()
    };
    let p = priced(price(
        &catalog,
        ProviderKind::Anthropic,
        "claude-sonnet-4-5",
        AT,
        &exactly,
    ));
    assert_ne!(p.entry_id, long.id, "200k is not above 200k");
}

#[test]
fn batch_and_service_tier_choose_their_entries() {
    let base = entry(ProviderKind::OpenAi, "gpt-4o*", "2.50", "10");
    let mut batch = entry(ProviderKind::OpenAi, "gpt-4o*", "1.25", "5");
    batch.conditions.batch = true;
    let batch = fixed(batch);
    let mut priority = entry(ProviderKind::OpenAi, "gpt-4o*", "4.25", "17");
    priority.conditions.service_tier = Some("Priority".to_owned());
    let priority = fixed(priority);
    let catalog = PriceCatalog::new(vec![base.clone(), batch.clone(), priority.clone()]);
    let usage = |tier: Option<&str>, batch: bool| CanonicalUsage {
        input: 1_000_000,
        service_tier: tier.map(str::to_owned),
        batch,
        ..CanonicalUsage::default()
    };
    let id = |u: CanonicalUsage| {
        priced(price(&catalog, ProviderKind::OpenAi, "gpt-4o", AT, &u)).entry_id
    };
    assert_eq!(id(usage(None, false)), base.id);
    assert_eq!(id(usage(Some("default"), false)), base.id);
    assert_eq!(id(usage(Some("auto"), false)), base.id);
    assert_eq!(id(usage(None, true)), batch.id);
    assert_eq!(id(usage(Some("batch"), false)), batch.id);
    assert_eq!(id(usage(Some("priority"), false)), priority.id);
    assert_eq!(id(usage(Some("fast"), false)), priority.id);
    let reason = unpriced(price(
        &catalog,
        ProviderKind::OpenAi,
        "gpt-4o",
        AT,
        &usage(Some("flex"), false),
    ));
    assert!(matches!(reason, Unpriced::NoTierPrice { .. }), "{reason}");
    let only_base = PriceCatalog::new(vec![base]);
    let reason = unpriced(price(
        &only_base,
        ProviderKind::OpenAi,
        "gpt-4o",
        AT,
        &usage(None, true),
    ));
    assert!(matches!(reason, Unpriced::NoBatchPrice { .. }), "{reason}");
}

#[test]
fn prices_apply_by_event_time() {
    let mut old = entry(ProviderKind::OpenAi, "m*", "1", "1");
    old.effective_to = Some(day("2026-06-30"));
    let old = fixed(old);
    let mut new = entry(ProviderKind::OpenAi, "m*", "2", "2");
    new.effective_from = day("2026-07-01");
    let new = fixed(new);
    let catalog = PriceCatalog::new(vec![old.clone(), new.clone()]);
    let usage = CanonicalUsage {
        input: 1_000_000,
        ..CanonicalUsage::default()
    };
    let before = priced(price(
        &catalog,
        ProviderKind::OpenAi,
        "m1",
        datetime!(2026-06-30 23:59 UTC),
        &usage,
    ));
    let after = priced(price(
        &catalog,
        ProviderKind::OpenAi,
        "m1",
        datetime!(2026-07-01 00:00 UTC),
        &usage,
    ));
    assert_eq!((before.entry_id, after.entry_id), (old.id, new.id));
    let reason = unpriced(price(
        &catalog,
        ProviderKind::OpenAi,
        "m1",
        datetime!(2023-12-31 00:00 UTC),
        &usage,
    ));
    assert!(matches!(reason, Unpriced::UnknownModel { .. }));
}

#[test]
fn gateways_are_priced_at_the_upstream_price() {
    let catalog = PriceCatalog::built_in();
    let usage = CanonicalUsage {
        input: 3,
        cache_write_5m: 12_304,
        output: 550,
        ..CanonicalUsage::default()
    };
    let p = priced(price(
        &catalog,
        ProviderKind::OpenRouter,
        "anthropic/claude-3.7-sonnet",
        AT,
        &usage,
    ));
    assert_eq!(p.cost.to_exact_string(), "0.054399");
    assert_eq!(
        p.upstream,
        Some((ProviderKind::Anthropic, "claude-3-7-sonnet".to_owned()))
    );
    let p = priced(price(
        &catalog,
        ProviderKind::LiteLlm,
        "gpt-4o-mini",
        AT,
        &usage_in(1_000_000),
    ));
    assert_eq!(p.cost.to_exact_string(), "0.15");
    let reason = unpriced(price(
        &catalog,
        ProviderKind::OpenRouter,
        "meta-llama/llama-3-70b",
        AT,
        &usage,
    ));
    assert!(matches!(reason, Unpriced::UnknownModel { .. }));
}

#[test]
fn claude_on_bedrock_and_vertex_costs_what_anthropic_lists() {
    let catalog = PriceCatalog::built_in();
    let usage = CanonicalUsage {
        input: 3,
        cache_write_5m: 12_304,
        output: 550,
        ..CanonicalUsage::default()
    };
    for (provider, model) in [
        (
            ProviderKind::Bedrock,
            "us.anthropic.claude-3-7-sonnet-20250219-v1:0",
        ),
        (
            ProviderKind::Bedrock,
            "anthropic.claude-3-7-sonnet-20250219-v1:0",
        ),
        (ProviderKind::Vertex, "claude-3-7-sonnet@20250219"),
        (
            ProviderKind::LiteLlm,
            "bedrock/global.anthropic.claude-3-7-sonnet-20250219-v1:0",
        ),
    ] {
        let p = priced(price(&catalog, provider, model, AT, &usage));
        assert_eq!(p.cost.to_exact_string(), "0.054399", "{provider} {model}");
        assert_eq!(p.upstream.map(|u| u.0), Some(ProviderKind::Anthropic));
    }
    // Bedrock's own models are priced at Bedrock's entries.
    let p = priced(price(
        &catalog,
        ProviderKind::Bedrock,
        "us.amazon.nova-lite-v1:0",
        AT,
        &usage_in(1_000_000),
    ));
    assert_eq!(
        (p.cost.to_exact_string(), p.upstream),
        ("0.06".to_owned(), None)
    );
}

#[test]
fn every_provider_has_built_in_prices_except_fal() {
    let catalog = PriceCatalog::built_in();
    for provider in ProviderKind::ALL {
        let own = catalog
            .entries()
            .iter()
            .filter(|e| e.provider == provider)
            .count();
        match provider {
            // Gateways are priced at their upstream's entries; fal publishes no list we can cite;
            // Azure OpenAI bills every amount itself (Cost Management), nothing to estimate.
            ProviderKind::OpenRouter
            | ProviderKind::LiteLlm
            | ProviderKind::Fal
            | ProviderKind::AzureOpenAi
            | ProviderKind::PiApi => {
                assert_eq!(own, 0)
            }
            _ => assert!(own > 0, "{provider} has no built-in price"),
        }
    }
    // Runway bills every model in credits at $0.01.
    let usage = CanonicalUsage {
        quantity: Some((Unit::credits(), Quantity::from_whole(120))),
        ..CanonicalUsage::default()
    };
    let p = priced(price(&catalog, ProviderKind::Runway, "gen4.5", AT, &usage));
    assert_eq!(p.cost.to_exact_string(), "1.20");
    // Gemini's long-context price applies above 200k input tokens, cached ones included.
    let long = CanonicalUsage {
        input: 150_000,
        cache_read: 60_000,
        output: 1_000_000,
        ..CanonicalUsage::default()
    };
    let p = priced(price(
        &catalog,
        ProviderKind::Vertex,
        "gemini-2.5-pro",
        AT,
        &long,
    ));
    // 0.15M x 2.50 + 0.06M x 0.25 + 1M x 15
    assert_eq!(p.cost.to_exact_string(), "15.39");
    let reason = unpriced(price(
        &catalog,
        ProviderKind::Fal,
        "fal-ai/flux/dev",
        AT,
        &usage,
    ));
    assert!(matches!(reason, Unpriced::UnknownModel { .. }));
}

#[test]
fn negative_usage_is_refused() {
    let reason = unpriced(price(
        &PriceCatalog::built_in(),
        ProviderKind::OpenAi,
        "gpt-4o",
        AT,
        &usage_in(-1),
    ));
    assert!(matches!(reason, Unpriced::InvalidUsage(_)), "{reason}");
}

fn usage_in(input: i64) -> CanonicalUsage {
    CanonicalUsage {
        input,
        ..CanonicalUsage::default()
    }
}

fn arb_usage() -> impl Strategy<Value = CanonicalUsage> {
    let n = 0i64..2_000_000;
    (
        n.clone(),
        n.clone(),
        n.clone(),
        n.clone(),
        n.clone(),
        n.clone(),
        n,
    )
        .prop_map(
            |(
                input,
                cache_read,
                cache_write_5m,
                cache_write_1h,
                cache_write_unknown,
                output,
                reasoning,
            )| {
                CanonicalUsage {
                    input,
                    cache_read,
                    cache_write_5m,
                    cache_write_1h,
                    cache_write_unknown,
                    output,
                    reasoning,
                    ..CanonicalUsage::default()
                }
            },
        )
}

const CLAUDE: [&str; 4] = [
    "claude-sonnet-4-5",
    "claude-3-7-sonnet-20250219",
    "claude-opus-4-1",
    "claude-3-5-haiku-20241022",
];

proptest! {
    /// More of any bucket never costs less, and the lines always add up to the cost.
    #[test]
    fn cost_is_monotonic_in_usage(usage in arb_usage(), bucket in 0usize..7, extra in 0i64..3_000_000, model in 0usize..4) {
        let catalog = PriceCatalog::built_in();
        let base = priced(price(&catalog, ProviderKind::Anthropic, CLAUDE[model], AT, &usage));
        let mut more = usage.clone();
        let field = match bucket {
            0 => &mut more.input,
            1 => &mut more.cache_read,
            2 => &mut more.cache_write_5m,
            3 => &mut more.cache_write_1h,
            4 => &mut more.cache_write_unknown,
            5 => &mut more.output,
            _ => &mut more.reasoning,
        };
        *field += extra;
        let bigger = priced(price(&catalog, ProviderKind::Anthropic, CLAUDE[model], AT, &more));
        prop_assert!(bigger.cost >= base.cost, "{} < {}", bigger.cost, base.cost);
        prop_assert_eq!(bigger.lines.iter().map(|l| l.cost).sum::<Money>(), bigger.cost);
    }

    /// A user's entry for the model beats every built-in one, whatever its glob or date.
    #[test]
    fn a_user_price_beats_built_in(usage in arb_usage(), model in 0usize..4, input in 0u32..100, from_days in 0i64..600) {
        let mut entries = PriceCatalog::built_in().entries().to_vec();
        let mut mine = entry(ProviderKind::Anthropic, "claude*", &input.to_string(), "1");
        mine.tokens.cache_read = Some(Decimal::ONE);
        mine.tokens.cache_write_5m = Some(Decimal::ONE);
        mine.tokens.cache_write_1h = Some(Decimal::ONE);
        mine.source = PriceSource::User;
        mine.effective_from = day("2024-01-01").add_days(from_days).unwrap();
        let mine = fixed(mine);
        entries.push(mine.clone());
        let catalog = PriceCatalog::new(entries);
        let p = priced(price(&catalog, ProviderKind::Anthropic, CLAUDE[model], AT, &usage));
        prop_assert_eq!(p.entry_id, mine.id);
    }

    /// A price observed on a bill never prices a call, however specific or new: the user's or
    /// built-in entry does (and with neither, the call is unpriced, never priced by the bill).
    #[test]
    fn an_observed_price_never_prices_a_call(usage in arb_usage(), model in 0usize..4, input in 0u32..100, user in any::<bool>()) {
        let mut entries = PriceCatalog::built_in().entries().to_vec();
        let mut seen = entry(ProviderKind::Anthropic, CLAUDE[model], &input.to_string(), "1");
        seen.tokens.cache_read = Some(Decimal::ONE);
        seen.tokens.cache_write_5m = Some(Decimal::ONE);
        seen.tokens.cache_write_1h = Some(Decimal::ONE);
        seen.source = PriceSource::Observed;
        seen.effective_from = day("2026-11-01");
        seen.effective_to = Some(day("2026-11-01"));
        let seen = fixed(seen);
        entries.push(seen.clone());
        if user {
            let mut mine = entry(ProviderKind::Anthropic, "claude*", "7", "1");
            mine.tokens.cache_read = Some(Decimal::ONE);
            mine.tokens.cache_write_5m = Some(Decimal::ONE);
            mine.tokens.cache_write_1h = Some(Decimal::ONE);
            mine.source = PriceSource::User;
            entries.push(fixed(mine));
        }
        let catalog = PriceCatalog::new(entries);
        let p = priced(price(&catalog, ProviderKind::Anthropic, CLAUDE[model], AT, &usage));
        prop_assert_ne!(&p.entry_id, &seen.id);
        let only_observed = PriceCatalog::new(vec![seen]);
        prop_assert!(matches!(price(&only_observed, ProviderKind::Anthropic, CLAUDE[model], AT, &usage), Pricing::Unpriced(_)));
        prop_assert!(only_observed.lookup(ProviderKind::Anthropic, CLAUDE[model], day("2026-11-01")).is_none());
    }

    /// Among entries of one glob, the newest one effective at the event's day wins; an entry
    /// not yet effective or already ended never does.
    #[test]
    fn the_newest_effective_entry_wins(starts in proptest::collection::vec(0i64..1000, 1..6), at in 0i64..1000, end in proptest::option::of(0i64..1000)) {
        let origin = day("2024-01-01");
        let entries: Vec<PriceEntry> = starts
            .iter()
            .enumerate()
            .map(|(i, start)| {
                let mut e = entry(ProviderKind::OpenAi, "m*", &(i + 1).to_string(), "1");
                e.effective_from = origin.add_days(*start).unwrap();
                // The first entry may end; the others run on.
                if i == 0 && let Some(end) = end && end >= *start {
                    e.effective_to = Some(origin.add_days(end).unwrap());
                }
                PriceEntry { id: format!("e{i}"), ..e }
            })
            .collect();
        let at_day = origin.add_days(at).unwrap();
        let want = entries
            .iter()
            .filter(|e| e.applies_on(at_day))
            .max_by_key(|e| e.effective_from)
            .map(|e| e.effective_from);
        let catalog = PriceCatalog::new(entries);
        let got = price(&catalog, ProviderKind::OpenAi, "m1", at_day.start(), &usage_in(1));
        match (want, got) {
            (None, Pricing::Unpriced(Unpriced::UnknownModel { .. })) => {}
            (Some(from), Pricing::Priced(p)) => prop_assert_eq!(p.entry.effective_from, from),
            (want, got) => prop_assert!(false, "want {:?}, got {}", want, got),
        }
    }

    /// The longer glob wins among built-ins of one provenance.
    #[test]
    fn the_most_specific_glob_wins_whatever_the_order(order in Just(()).prop_perturb(|_, mut rng| rng.random::<u64>())) {
        let mut entries = vec![
            entry(ProviderKind::OpenAi, "gpt*", "9", "9"),
            entry(ProviderKind::OpenAi, "gpt-4o*", "2.50", "10"),
            entry(ProviderKind::OpenAi, "gpt-4o-mini*", "0.15", "0.60"),
        ];
        let n = entries.len();
        entries.rotate_left((order % n as u64) as usize);
        let catalog = PriceCatalog::new(entries);
        let p = priced(price(&catalog, ProviderKind::OpenAi, "gpt-4o-mini-2024-07-18", AT, &usage_in(1_000_000)));
        prop_assert_eq!(p.cost.to_exact_string(), "0.15");
    }
}

/// The memo of which entries fit a model answers as a fresh catalog does, and stays bounded
/// when a sender invents model names.
#[test]
fn the_remembered_matches_answer_as_a_fresh_catalog_and_stay_bounded() {
    let catalog = PriceCatalog::new(vec![
        entry(ProviderKind::OpenAi, "gpt-4o*", "2.5", "10"),
        entry(ProviderKind::OpenAi, "gpt-4o-mini*", "0.15", "0.6"),
    ]);
    let d = day("2026-11-01");
    for _ in 0..3 {
        for model in ["gpt-4o", "gpt-4o-mini-2024", "GPT-4O-MINI", "o3"] {
            let fresh = PriceCatalog::new(catalog.entries().to_vec());
            assert_eq!(
                catalog
                    .lookup(ProviderKind::OpenAi, model, d)
                    .map(|e| &e.model_glob),
                fresh
                    .lookup(ProviderKind::OpenAi, model, d)
                    .map(|e| &e.model_glob),
                "{model}"
            );
        }
    }
    for n in 0..(Matches::MAX_PAIRS + 10) {
        assert!(
            catalog
                .lookup(ProviderKind::OpenAi, &format!("made-up-{n}"), d)
                .is_none()
        );
    }
    assert!(catalog.matches.len() <= Matches::MAX_PAIRS);
    assert_eq!(
        catalog
            .lookup(ProviderKind::OpenAi, "gpt-4o-mini", d)
            .map(|e| e.model_glob.as_str()),
        Some("gpt-4o-mini*")
    );
}
