//! Token counts: every alias of every class, the inclusive/disjoint reading, coercion and bounds.

use super::*;

fn tokens_with(key: &str, n: i64) -> TokenBuckets {
    event_of(chat(vec![kv(key, i(n))])).tokens.expect("tokens")
}

use crate::tokens::TokenBuckets;

#[test]
fn every_input_token_alias() {
    for key in [
        "gen_ai.usage.input_tokens",
        "gen_ai.usage.prompt_tokens",
        "llm.usage.prompt_tokens",
        "llm.token_count.prompt",
        "ai.usage.inputTokens",
        "ai.usage.promptTokens",
    ] {
        assert_eq!(tokens_with(key, 321).input_total(), 321, "{key}");
    }
}

#[test]
fn every_output_token_alias() {
    for key in [
        "gen_ai.usage.output_tokens",
        "gen_ai.usage.completion_tokens",
        "llm.usage.completion_tokens",
        "llm.token_count.completion",
        "ai.usage.outputTokens",
        "ai.usage.completionTokens",
    ] {
        assert_eq!(tokens_with(key, 77).output_visible, 77, "{key}");
    }
}

#[test]
fn every_cache_read_alias_is_a_subset_of_input() {
    for key in [
        "gen_ai.usage.cache_read.input_tokens",
        "gen_ai.usage.cache_read_input_tokens",
        "gen_ai.usage.prompt_tokens_details.cached_tokens",
        "gen_ai.usage.cached_tokens",
        "llm.token_count.prompt_details.cache_read",
        "ai.usage.cachedInputTokens",
    ] {
        let e = event_of(chat(vec![
            kv("gen_ai.usage.input_tokens", i(1000)),
            kv(key, i(600)),
        ]));
        let t = e.tokens.unwrap();
        assert_eq!((t.input_uncached, t.cache_read), (400, 600), "{key}");
    }
}

#[test]
fn every_cache_write_alias_is_a_subset_of_input() {
    for key in [
        "gen_ai.usage.cache_write.input_tokens",
        "gen_ai.usage.cache_creation.input_tokens",
        "gen_ai.usage.cache_creation_input_tokens",
        "gen_ai.usage.prompt_tokens_details.cache_creation_tokens",
        "llm.token_count.prompt_details.cache_write",
        "ai.usage.cacheCreationInputTokens",
    ] {
        let e = event_of(chat(vec![
            kv("gen_ai.usage.input_tokens", i(12_307)),
            kv(key, i(12_304)),
        ]));
        let t = e.tokens.unwrap();
        assert_eq!((t.input_uncached, t.cache_write), (3, 12_304), "{key}");
    }
}

#[test]
fn every_reasoning_alias_is_a_subset_of_output() {
    for key in [
        "gen_ai.usage.reasoning.output_tokens",
        "gen_ai.usage.reasoning_tokens",
        "gen_ai.usage.output_tokens.reasoning",
        "gen_ai.usage.completion_tokens_details.reasoning_tokens",
        "llm.usage.reasoning_tokens",
        "llm.token_count.completion_details.reasoning",
        "ai.usage.reasoningTokens",
    ] {
        let e = event_of(chat(vec![
            kv("gen_ai.usage.output_tokens", i(500)),
            kv(key, i(300)),
        ]));
        let t = e.tokens.unwrap();
        assert_eq!((t.output_visible, t.output_reasoning), (200, 300), "{key}");
    }
}

#[test]
fn legacy_prompt_and_completion_tokens() {
    let e = event_of(span(vec![
        kv("gen_ai.system", s("openai")),
        kv("gen_ai.request.model", s("gpt-3.5-turbo")),
        kv("gen_ai.usage.prompt_tokens", i(40)),
        kv("gen_ai.usage.completion_tokens", i(8)),
    ]));
    assert_eq!((e.input_tokens(), e.output_tokens()), (Some(40), Some(8)));
    // The current name wins when both are sent.
    let e = event_of(chat(vec![
        kv("gen_ai.usage.prompt_tokens", i(1)),
        kv("gen_ai.usage.input_tokens", i(2)),
    ]));
    assert_eq!(e.input_tokens(), Some(2));
}

#[test]
fn openinference_and_traceloop_spellings() {
    let e = event_of(span(vec![
        kv("openinference.span.kind", s("LLM")),
        kv("llm.provider", s("anthropic")),
        kv("llm.model_name", s("claude-3-7-sonnet")),
        kv("llm.token_count.prompt", i(12_307)),
        kv("llm.token_count.prompt_details.cache_write", i(12_304)),
        kv("llm.token_count.completion", i(550)),
        kv("llm.token_count.total", i(12_857)),
    ]));
    let t = e.tokens.unwrap();
    assert_eq!(
        (t.input_uncached, t.cache_write, t.output_visible),
        (3, 12_304, 550)
    );
    assert!(!e.token_flags.any());
    let e = event_of(span(vec![
        kv("llm.request.type", s("chat")),
        kv("gen_ai.system", s("OpenAI")),
        kv("llm.request.model", s("gpt-4o")),
        kv("llm.usage.prompt_tokens", i(9)),
        kv("llm.usage.completion_tokens", i(3)),
        kv("llm.usage.total_tokens", i(12)),
    ]));
    assert_eq!(
        (e.provider.as_str(), e.input_tokens(), e.output_tokens()),
        ("openai", Some(9), Some(3))
    );
    assert_eq!(e.tags.get("operation").map(String::as_str), Some("chat"));
}

#[test]
fn an_exclusive_input_is_read_as_disjoint_and_flagged() {
    // OpenLIT's Anthropic spans: input is the uncached part only.
    let e = event_of(chat(vec![
        kv("gen_ai.usage.input_tokens", i(3)),
        kv("gen_ai.usage.cache_creation.input_tokens", i(12_304)),
        kv("gen_ai.usage.output_tokens", i(550)),
    ]));
    let t = e.tokens.unwrap();
    assert_eq!((t.input_uncached, t.cache_write), (3, 12_304));
    assert!(e.token_flags.input_read_as_disjoint);
}

#[test]
fn a_total_only_checks_and_is_never_priced() {
    let e = event_of(chat(vec![kv("gen_ai.usage.total_tokens", i(99))]));
    // A total alone is no usage.
    assert_eq!(e.tokens, None);
}

#[test]
fn counts_arrive_as_ints_doubles_or_strings() {
    let e = event_of(chat(vec![
        kv("gen_ai.usage.input_tokens", d(1200.0)),
        kv("gen_ai.usage.output_tokens", s(" 85 ")),
    ]));
    assert_eq!(
        (e.input_tokens(), e.output_tokens()),
        (Some(1200), Some(85))
    );
}

#[test]
fn bad_counts_reject_the_span_naming_the_attribute() {
    for (value, fragment) in [
        (i(-5), "must not be negative"),
        (d(1.5), "whole number"),
        (s("lots"), "whole number"),
        (Value::BoolValue(true), "whole number"),
        (i(100_000_001), "more than any single call"),
    ] {
        let msg = rejection_of(chat(vec![kv("gen_ai.usage.output_tokens", value)]));
        assert!(msg.contains("gen_ai.usage.output_tokens"), "{msg}");
        assert!(msg.contains(fragment), "{msg}");
        assert!(msg.contains("00f067aa0ba902b7"), "names the span: {msg}");
    }
}

#[test]
fn a_genai_span_without_usage_is_an_event_with_unknown_usage() {
    let e = event_of(chat(vec![]));
    assert_eq!(e.tokens, None);
    assert_eq!(e.input_tokens(), None);
}
