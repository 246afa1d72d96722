//! Tests of the native event parser: every bad input gets a message naming the field.

use proptest::prelude::*;
use serde_json::json;
use time::macros::datetime;

use super::*;

const NOW: OffsetDateTime = datetime!(2026-12-04 12:00 UTC);

fn good() -> Value {
    json!({
        "id": "evt-1",
        "time": "2026-12-04T11:59:00Z",
        "provider": "openai",
        "model": "gpt-4o",
        "tokens": {"input": 1200, "cache_read": 1024, "output": 85, "reasoning": 10},
        "cost": "0.012345678",
        "latency_ms": 850,
        "status": "ok",
        "api_key": "sk-proj-abc…wxyz",
        "customer": "acme",
        "product": "support-bot",
        "agent": "triage",
        "tags": {"env": "prod", "tier": 2}
    })
}

fn message(value: Value) -> String {
    parse_event_value(&value, NOW).unwrap_err().0
}

fn with(field: &str, v: Value) -> Value {
    let mut e = good();
    e[field] = v;
    e
}

#[test]
fn a_good_event_parses_and_normalizes() {
    let e = parse_event_value(&good(), NOW).unwrap();
    assert_eq!(e.id, "evt-1");
    let t = e.tokens.unwrap();
    assert_eq!(
        (
            t.input_uncached,
            t.cache_read,
            t.output_visible,
            t.output_reasoning
        ),
        (176, 1024, 75, 10)
    );
    assert_eq!(e.reported_cost.unwrap().nanos(), 12_345_678);
    assert_eq!(e.status, CallStatus::Ok);
    assert_eq!(e.attribution.customer.as_deref(), Some("acme"));
    assert_eq!(e.tags.get("tier").map(String::as_str), Some("2"));
    assert_eq!(e.source, EventSource::Native);
}

#[test]
fn anthropic_parts_are_disjoint_by_default() {
    let mut v = good();
    v["provider"] = json!("anthropic");
    v["tokens"] = json!({"input": 3, "cache_write": 12304, "output": 550});
    let t = parse_event_value(&v, NOW).unwrap().tokens.unwrap();
    assert_eq!(t.input_uncached, 3);
    assert_eq!(t.input_total(), 12_307);
    // The sender may say otherwise.
    v["input_includes_cache"] = json!(true);
    v["tokens"] = json!({"input": 12307, "cache_write": 12304, "output": 550});
    let t = parse_event_value(&v, NOW).unwrap().tokens.unwrap();
    assert_eq!(t.input_uncached, 3);
}

#[test]
fn no_tokens_is_unknown_usage() {
    let mut v = good();
    v.as_object_mut().unwrap().remove("tokens");
    assert_eq!(parse_event_value(&v, NOW).unwrap().tokens, None);
}

#[test]
fn bad_inputs_say_what_to_fix() {
    let cases: Vec<(Value, &str)> = vec![
        (json!([1]), "must be a JSON object"),
        (with("id", json!(7)), "\"id\" must be a string"),
        (with("id", json!("")), "\"id\" is required"),
        (with("id", json!("x".repeat(300))), "longer than 255"),
        (with("time", json!("yesterday")), "RFC 3339"),
        (with("time", json!("2026-12-04T12:06:00Z")), "in the future"),
        (with("time", json!("2019-12-31T23:59:59Z")), "before 2020"),
        (with("model", Value::Null), "\"model\" is required"),
        (with("tokens", json!({"input": -5})), "must not be negative"),
        (with("tokens", json!({"input": 1.5})), "whole number"),
        (with("tokens", json!({"input": "12"})), "whole number"),
        (
            with("tokens", json!({"output": 5_000_000_000u64})),
            "more than any single call",
        ),
        (
            with("tokens", json!({"prompt_tokens": 5})),
            "unknown token count",
        ),
        (with("tokens", json!(12)), "\"tokens\" must be an object"),
        (with("cost", json!("twelve")), "decimal number"),
        (with("cost", json!("-1")), "must not be negative"),
        (with("latency_ms", json!(-1)), "latency_ms"),
        (
            with("latency_ms", json!("fast")),
            "whole number of milliseconds",
        ),
        (
            with("status", json!("maybe")),
            "\"ok\", \"error\" or \"timeout\"",
        ),
        (with("quantity", json!(3)), "go together"),
        (with("prompt", json!("hello")), "never stores prompts"),
        (with("messages", json!([])), "never stores prompts"),
        (with("customr", json!("acme")), "unknown field \"customr\""),
        (with("tags", json!({"a": {"b": 1}})), "tag \"a\" must be"),
        (
            with("tags", json!("env=prod")),
            "\"tags\" must be an object",
        ),
        (with("customer", json!("a\u{0}b")), "control characters"),
    ];
    for (value, want) in cases {
        let got = message(value.clone());
        assert!(got.contains(want), "for {value}: {got:?} lacks {want:?}");
    }
}

#[test]
fn a_full_provider_key_is_cut_to_a_hint() {
    let e = parse_event_value(
        &with(
            "api_key",
            json!("sk-proj-ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"),
        ),
        NOW,
    )
    .unwrap();
    let hint = e.api_key.unwrap();
    assert!(!hint.contains("KLMNOP"), "{hint}");
    assert!(hint.ends_with("6789"), "{hint}");
}

#[test]
fn a_provider_key_id_is_kept_whole_but_a_secret_shaped_like_one_is_not() {
    let id = "apikey_01Rj2N8SVvo6BePZj99NhmiT";
    let e = parse_event_value(&with("api_key", json!(id)), NOW).unwrap();
    assert_eq!(e.api_key.as_deref(), Some(id));
    let secret = "sk-ant-api03-R2D2C3POabcdefghijklmnopqrstuvwxyz0123456789";
    let e = parse_event_value(&with("api_key", json!(secret)), NOW).unwrap();
    assert!(!e.api_key.unwrap().contains("abcdefghij"));
    let odd = "apikey_01-not/an-id-but-long-enough-to-cut";
    let e = parse_event_value(&with("api_key", json!(odd)), NOW).unwrap();
    assert_ne!(e.api_key.as_deref(), Some(odd));
}

#[test]
fn quantity_and_unit_are_kept_exactly() {
    let mut v = good();
    v["quantity"] = json!("2.5");
    v["unit"] = json!("Seconds");
    let (q, unit) = parse_event_value(&v, NOW).unwrap().quantity.unwrap();
    assert_eq!(q.to_decimal().to_string(), "2.5");
    assert_eq!(unit, "seconds");
}

#[test]
fn the_payload_hash_tells_replays_from_conflicts() {
    let a = parse_event_value(&good(), NOW).unwrap();
    let b = parse_event_value(&good(), NOW).unwrap();
    assert_eq!(a.payload_hash(), b.payload_hash());
    let c = parse_event_value(&with("customer", json!("globex")), NOW).unwrap();
    assert_ne!(a.payload_hash(), c.payload_hash());
}

proptest! {
    /// Any JSON the parser is given yields an event or a message, never a panic.
    #[test]
    fn arbitrary_values_never_panic(s in "\\PC{0,200}") {
        let _ = parse_event(&s, NOW);
    }

    #[test]
    fn any_in_range_count_is_accepted_and_any_negative_refused(n in 0i64..=100_000_000, m in i64::MIN..0) {
        let ok = parse_event_value(&with("tokens", json!({"output": n})), NOW).is_ok();
        let refused = parse_event_value(&with("tokens", json!({"output": m})), NOW).is_err();
        prop_assert!(ok);
        prop_assert!(refused);
    }
}

/// Stored hashes are compared with new ones for as long as the ledger keeps an id: the hash of
/// an event must never change between versions (a replay would then read as a conflict).
#[test]
fn the_payload_hash_of_an_event_never_changes_between_versions() {
    let a = parse_event_value(&good(), NOW).unwrap();
    assert_eq!(
        a.payload_hash(),
        "36a18e315709e7355ddf9c122dbaa8ffdb18e420ed480abfc9400332fcdbf34a"
    );
}
