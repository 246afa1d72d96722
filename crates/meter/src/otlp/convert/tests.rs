//! Span → event mapping: one test per rule, each alias spelled out literally so a dropped alias
//! fails a test.

use time::macros::datetime;

use super::*;
use crate::otlp::proto::{KeyValue, Resource, ResourceSpans, ScopeSpans, Status, any_value::Value};

const NOW: OffsetDateTime = datetime!(2026-12-04 12:00 UTC);
const END_NS: u64 = 1_796_385_540_000_000_000; // 2026-12-04 11:59:00 UTC
const TRACE: [u8; 16] = [
    0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36,
];
const SPAN: [u8; 8] = [0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7];

fn s(text: &str) -> Value {
    Value::StringValue(text.to_owned())
}
fn i(n: i64) -> Value {
    Value::IntValue(n)
}
fn d(f: f64) -> Value {
    Value::DoubleValue(f)
}
fn kv(key: &str, value: Value) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue { value: Some(value) }),
    }
}

fn span(attributes: Vec<KeyValue>) -> Span {
    Span {
        trace_id: TRACE.to_vec(),
        span_id: SPAN.to_vec(),
        name: "chat gpt-4o".to_owned(),
        kind: 3,
        start_time_unix_nano: END_NS - 1_250_000_000,
        end_time_unix_nano: END_NS,
        attributes,
        ..Default::default()
    }
}

fn chat(extra: Vec<KeyValue>) -> Span {
    let mut attributes = vec![
        kv("gen_ai.operation.name", s("chat")),
        kv("gen_ai.provider.name", s("openai")),
        kv("gen_ai.request.model", s("gpt-4o")),
    ];
    attributes.extend(extra);
    span(attributes)
}

fn request(resource: Vec<KeyValue>, spans: Vec<Span>) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: resource,
            }),
            scope_spans: vec![ScopeSpans {
                scope: Some(InstrumentationScope {
                    name: "opentelemetry.instrumentation.openai_v2".to_owned(),
                    version: "2.1b0".to_owned(),
                }),
                spans,
            }],
        }],
    }
}

fn convert_with(resource: Vec<KeyValue>, span: Span) -> SpanBatch {
    spans_to_events(&request(resource, vec![span]), NOW)
}

fn event_of(span: Span) -> MeteredEvent {
    let mut batch = convert_with(vec![], span);
    assert_eq!(batch.items.len(), 1, "{batch:?}");
    batch.items.remove(0).expect("a metered event")
}

fn rejection_of(span: Span) -> String {
    let mut batch = convert_with(vec![], span);
    assert_eq!(batch.items.len(), 1, "{batch:?}");
    batch.items.remove(0).expect_err("a rejected span").0
}

fn ignored(span: Span) -> bool {
    let batch = convert_with(vec![], span);
    batch.items.is_empty() && batch.ignored == 1
}

#[test]
fn a_spec_chat_span_becomes_one_event() {
    let e = event_of(chat(vec![
        kv("gen_ai.response.model", s("gpt-4o-2024-08-06")),
        kv("gen_ai.usage.input_tokens", i(1200)),
        kv("gen_ai.usage.cache_read.input_tokens", i(1024)),
        kv("gen_ai.usage.output_tokens", i(85)),
    ]));
    assert_eq!(
        e.id,
        "otlp-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7"
    );
    assert_eq!(e.provider, "openai");
    assert_eq!(e.model, "gpt-4o-2024-08-06");
    let t = e.tokens.unwrap();
    assert_eq!(
        (t.input_uncached, t.cache_read, t.output_visible),
        (176, 1024, 85)
    );
    assert_eq!(e.time, datetime!(2026-12-04 11:59 UTC));
    assert_eq!(e.latency_ms, Some(1250));
    assert_eq!(e.status, CallStatus::Ok);
    assert_eq!(e.source, EventSource::Otlp);
    assert_eq!(
        e.attribution.trace_id.as_deref(),
        Some("4bf92f3577b34da6a3ce929d0e0e4736")
    );
    assert_eq!(e.attribution.span_id.as_deref(), Some("00f067aa0ba902b7"));
    assert_eq!(e.tags.get("operation").map(String::as_str), Some("chat"));
    assert_eq!(
        e.tags.get("otel_scope").map(String::as_str),
        Some("opentelemetry.instrumentation.openai_v2")
    );
    assert_eq!(e.reported_cost, None);
}

#[test]
fn a_re_exported_span_is_the_same_event() {
    let attrs = vec![kv("gen_ai.usage.input_tokens", i(10))];
    let a = event_of(chat(attrs.clone()));
    let b = event_of(chat(attrs));
    assert_eq!(a, b);
    assert_eq!(a.payload_hash(), b.payload_hash());
    // A different span id is a different call.
    let mut other = chat(vec![kv("gen_ai.usage.input_tokens", i(10))]);
    other.span_id[7] ^= 1;
    assert_ne!(event_of(other).id, a.id);
}

#[test]
fn every_provider_alias() {
    for (key, value, want) in [
        ("gen_ai.provider.name", "anthropic", "anthropic"),
        ("gen_ai.system", "Anthropic", "anthropic"),
        ("gen_ai.system", "az.ai.openai", "azure.ai.openai"),
        ("gen_ai.system", "gcp.gen_ai", "vertex"),
        ("llm.provider", "openai", "openai"),
        ("llm.system", "anthropic", "anthropic"),
        ("ai.model.provider", "anthropic.messages", "anthropic"),
        ("ai.model.provider", "amazon-bedrock", "bedrock"),
        ("llm.vendor", "OpenAI", "openai"),
    ] {
        let e = event_of(span(vec![
            kv(key, s(value)),
            kv("gen_ai.request.model", s("m")),
        ]));
        assert_eq!(e.provider, want, "{key}={value}");
    }
    // The current name wins over the deprecated one.
    let e = event_of(span(vec![
        kv("gen_ai.system", s("openai")),
        kv("gen_ai.provider.name", s("x_ai")),
    ]));
    assert_eq!(e.provider, "x_ai");
}

#[test]
fn a_missing_provider_is_inferred_from_the_host_then_the_model() {
    let e = event_of(span(vec![
        kv("gen_ai.request.model", s("some-model")),
        kv("server.address", s("api.anthropic.com")),
    ]));
    assert_eq!(e.provider, "anthropic");
    let e = event_of(span(vec![kv(
        "gen_ai.request.model",
        s("claude-sonnet-4-5"),
    )]));
    assert_eq!(e.provider, "anthropic");
    let e = event_of(span(vec![kv("gen_ai.request.model", s("gpt-4.1-mini"))]));
    assert_eq!(e.provider, "openai");
    let e = event_of(span(vec![kv("gen_ai.request.model", s("llama-3"))]));
    assert_eq!(e.provider, "unknown");
}

#[test]
fn every_model_alias_and_the_response_model_first() {
    for key in [
        "gen_ai.response.model",
        "llm.response.model",
        "ai.response.model",
        "ai.model.id",
        "gen_ai.request.model",
        "llm.request.model",
        "llm.model_name",
    ] {
        let e = event_of(span(vec![
            kv("gen_ai.system", s("openai")),
            kv(key, s("gpt-x")),
        ]));
        assert_eq!(e.model, "gpt-x", "{key}");
    }
    let e = event_of(chat(vec![kv(
        "gen_ai.response.model",
        s("gpt-4o-2024-08-06"),
    )]));
    assert_eq!(e.model, "gpt-4o-2024-08-06");
    // A GenAI span without any model is still metered, under "unknown".
    let e = event_of(span(vec![kv("gen_ai.operation.name", s("chat"))]));
    assert_eq!(
        (e.model.as_str(), e.provider.as_str()),
        ("unknown", "unknown")
    );
}

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

#[test]
fn spans_that_are_not_inference_calls_are_ignored() {
    // No GenAI attribute at all.
    assert!(ignored(span(vec![kv("http.method", s("GET"))])));
    // Agent and workflow spans aggregate their children's usage: counting them double counts.
    for op in [
        "invoke_agent",
        "invoke_workflow",
        "execute_tool",
        "create_agent",
        "fetch_response",
        "retrieval",
    ] {
        assert!(
            ignored(span(vec![
                kv("gen_ai.operation.name", s(op)),
                kv("gen_ai.provider.name", s("openai")),
                kv("gen_ai.usage.input_tokens", i(5000)),
            ])),
            "{op}"
        );
    }
    assert!(ignored(span(vec![
        kv("openinference.span.kind", s("CHAIN")),
        kv("llm.token_count.prompt", i(5)),
    ])));
    assert!(ignored(span(vec![
        kv("traceloop.span.kind", s("workflow")),
        kv("gen_ai.usage.input_tokens", i(5)),
    ])));
    let mut raw = chat(vec![]);
    raw.name = "raw_gen_ai_request".to_owned();
    assert!(ignored(raw));
    // Embeddings spans are metered.
    let e = event_of(span(vec![
        kv("gen_ai.operation.name", s("embeddings")),
        kv("gen_ai.provider.name", s("openai")),
        kv("gen_ai.request.model", s("text-embedding-3-small")),
        kv("gen_ai.usage.input_tokens", i(42)),
    ]));
    assert_eq!(e.input_tokens(), Some(42));
}

#[test]
fn spans_with_bad_ids_are_rejected_each_with_a_reason() {
    let mut no_ids = chat(vec![]);
    no_ids.trace_id.clear();
    no_ids.span_id.clear();
    let msg = rejection_of(no_ids);
    assert!(
        msg.contains("span #1") && msg.contains("logs or metrics exporter"),
        "{msg}"
    );
    let mut short = chat(vec![]);
    short.trace_id.truncate(8);
    assert!(rejection_of(short).contains("trace id must be 16 bytes"));
    let mut zero = chat(vec![]);
    zero.span_id = vec![0; 8];
    assert!(rejection_of(zero).contains("span id must be 8 bytes and not all zero"));
    // Also for spans that would be ignored: the payload itself is broken.
    let mut plain = span(vec![]);
    plain.span_id.clear();
    assert_eq!(convert_with(vec![], plain).rejected(), 1);
}

#[test]
fn span_status_becomes_the_call_status() {
    let with_status = |code: i32, message: &str, extra: Vec<KeyValue>| {
        let mut sp = chat(extra);
        sp.status = Some(Status {
            message: message.to_owned(),
            code,
        });
        event_of(sp).status
    };
    assert_eq!(with_status(0, "", vec![]), CallStatus::Ok);
    assert_eq!(with_status(1, "", vec![]), CallStatus::Ok);
    assert_eq!(with_status(2, "rate limited", vec![]), CallStatus::Error);
    assert_eq!(
        with_status(2, "Request timed out.", vec![]),
        CallStatus::Timeout
    );
    assert_eq!(
        with_status(2, "", vec![kv("error.type", s("openai.APITimeoutError"))]),
        CallStatus::Timeout
    );
    assert_eq!(
        with_status(2, "", vec![kv("error.type", s("504"))]),
        CallStatus::Timeout
    );
    // error.type alone (status left unset by the instrumentation) is still a failure.
    assert_eq!(
        with_status(0, "", vec![kv("error.type", s("_OTHER"))]),
        CallStatus::Error
    );
    // A failed call keeps its usage: it may be billed.
    let mut failed = chat(vec![kv("gen_ai.usage.input_tokens", i(900))]);
    failed.status = Some(Status {
        message: String::new(),
        code: 2,
    });
    let e = event_of(failed);
    assert_eq!((e.status, e.input_tokens()), (CallStatus::Error, Some(900)));
}

#[test]
fn the_end_time_is_the_event_time_and_start_to_end_the_latency() {
    let mut sp = chat(vec![]);
    sp.start_time_unix_nano = END_NS - 2_500_999_999;
    assert_eq!(event_of(sp.clone()).latency_ms, Some(2500));
    sp.end_time_unix_nano = 0;
    let e = event_of(sp);
    assert_eq!(
        (e.time, e.latency_ms),
        (datetime!(2026-12-04 11:58:57.499000001 UTC), None)
    );

    let mut backwards = chat(vec![]);
    backwards.start_time_unix_nano = END_NS + 1;
    assert!(rejection_of(backwards).contains("ends before it starts"));
    let mut timeless = chat(vec![]);
    timeless.start_time_unix_nano = 0;
    timeless.end_time_unix_nano = 0;
    assert!(rejection_of(timeless).contains("no start or end time"));
    let mut future = chat(vec![]);
    future.end_time_unix_nano = END_NS + 3_600_000_000_000;
    assert!(rejection_of(future).contains("in the future"));
    let mut ancient = chat(vec![]);
    ancient.start_time_unix_nano = 1_000_000_000;
    ancient.end_time_unix_nano = 2_000_000_000;
    assert!(rejection_of(ancient).contains("before 2020"));
    // A span open for more than a day claims no latency.
    let mut long = chat(vec![]);
    long.start_time_unix_nano = END_NS - 2 * 86_400 * 1_000_000_000;
    assert_eq!(event_of(long).latency_ms, None);
}

#[test]
fn resource_and_span_attributes_become_attribution() {
    let resource = vec![
        kv("service.name", s("support-bot")),
        kv("deployment.environment.name", s("prod")),
        kv("enduser.id", s("resource-user")),
    ];
    let mut batch = convert_with(
        resource.clone(),
        chat(vec![
            kv("gen_ai.agent.name", s("triage")),
            kv("gen_ai.workflow.name", s("ticket_reply")),
            kv("spendlens.tag.team", s("growth")),
            kv("spendlens.tag.tier", i(2)),
        ]),
    );
    let e = batch.items.remove(0).unwrap();
    assert_eq!(e.attribution.product.as_deref(), Some("support-bot"));
    assert_eq!(e.attribution.customer.as_deref(), Some("resource-user"));
    assert_eq!(e.attribution.agent.as_deref(), Some("triage"));
    assert_eq!(e.attribution.workflow.as_deref(), Some("ticket_reply"));
    assert_eq!(e.tags.get("environment").map(String::as_str), Some("prod"));
    assert_eq!(e.tags.get("team").map(String::as_str), Some("growth"));
    assert_eq!(e.tags.get("tier").map(String::as_str), Some("2"));

    // Span attributes win over resource attributes; explicit keys over conventions.
    let mut batch = convert_with(
        resource,
        chat(vec![
            kv("enduser.id", s("span-user")),
            kv("spendlens.product", s("billing")),
        ]),
    );
    let e = batch.items.remove(0).unwrap();
    assert_eq!(e.attribution.customer.as_deref(), Some("span-user"));
    assert_eq!(e.attribution.product.as_deref(), Some("billing"));
}

#[test]
fn every_customer_alias_in_order() {
    let keys = [
        "spendlens.customer",
        "customer",
        "customer.id",
        "traceloop.association.properties.customer_id",
        "litellm.end_user.id",
        "metadata.user_api_key_end_user_id",
        "user.id",
        "enduser.id",
        "gen_ai.user",
        "llm.user",
    ];
    for (n, key) in keys.iter().enumerate() {
        // Each key, alone, is read; with every later key present, it still wins.
        let attrs: Vec<KeyValue> = keys[n..]
            .iter()
            .rev()
            .map(|k| kv(k, s(&format!("from-{k}"))))
            .collect();
        let e = event_of(chat(attrs));
        assert_eq!(e.attribution.customer, Some(format!("from-{key}")), "{key}");
    }
}

#[test]
fn agent_workflow_and_subscriber_aliases() {
    for key in [
        "spendlens.agent",
        "gen_ai.agent.name",
        "gen_ai.agent.id",
        "agent.name",
    ] {
        assert_eq!(
            event_of(chat(vec![kv(key, s("a1"))]))
                .attribution
                .agent
                .as_deref(),
            Some("a1"),
            "{key}"
        );
    }
    for key in [
        "spendlens.workflow",
        "gen_ai.workflow.name",
        "traceloop.workflow.name",
    ] {
        assert_eq!(
            event_of(chat(vec![kv(key, s("w1"))]))
                .attribution
                .workflow
                .as_deref(),
            Some("w1"),
            "{key}"
        );
    }
    for key in [
        "spendlens.subscriber",
        "traceloop.association.properties.user_id",
        "langfuse.user.id",
        "user.id",
        "enduser.id",
    ] {
        assert_eq!(
            event_of(chat(vec![kv(key, s("u1"))]))
                .attribution
                .subscriber
                .as_deref(),
            Some("u1"),
            "{key}"
        );
    }
}

#[test]
fn the_sdk_default_service_name_is_no_product() {
    let mut batch = convert_with(
        vec![kv("service.name", s("unknown_service:python"))],
        chat(vec![]),
    );
    assert_eq!(batch.items.remove(0).unwrap().attribution.product, None);
}

fn cost_of(key: &str, value: Value) -> Result<Option<i64>, String> {
    let mut batch = convert_with(vec![], chat(vec![kv(key, value)]));
    batch
        .items
        .remove(0)
        .map(|e| e.reported_cost.map(Money::nanos))
        .map_err(|p| p.0)
}

#[test]
fn every_cost_alias_is_the_reported_cost() {
    for key in [
        "litellm.cost.total",
        "gen_ai.cost.total_cost",
        "llm.cost.total",
        "gen_ai.usage.cost",
        "operation.cost",
    ] {
        assert_eq!(
            cost_of(key, s("0.012345678")),
            Ok(Some(12_345_678)),
            "{key}"
        );
    }
    // LiteLLM's own total wins over a per-part key or another emitter's.
    let e = event_of(chat(vec![
        kv("gen_ai.usage.cost", s("9")),
        kv("litellm.cost.total", s("0.5")),
        kv("gen_ai.cost.input_cost", s("0.1")),
    ]));
    assert_eq!(e.reported_cost.map(Money::nanos), Some(500_000_000));
}

#[test]
fn a_double_cost_is_read_without_binary_float_artifacts() {
    // 0.1 as a double is 0.1000000000000000055…; its shortest text is "0.1".
    assert_eq!(cost_of("llm.cost.total", d(0.1)), Ok(Some(100_000_000)));
    assert_eq!(
        cost_of("llm.cost.total", d(12.34)),
        Ok(Some(12_340_000_000))
    );
    // 2.5e-9 is exactly half a nano as a decimal: banker's rounding gives 2. The double's exact
    // binary value is a hair above, which would round to 3.
    assert_eq!(cost_of("llm.cost.total", d(2.5e-9)), Ok(Some(2)));
    assert_eq!(cost_of("llm.cost.total", i(3)), Ok(Some(3_000_000_000)));
}

#[test]
fn zero_and_bad_costs() {
    // OpenLIT writes 0 for a model it cannot price: that is unknown, never $0.
    assert_eq!(cost_of("gen_ai.usage.cost", d(0.0)), Ok(None));
    // A gateway's 0 (a cache hit) is a real $0.
    assert_eq!(cost_of("litellm.cost.total", d(0.0)), Ok(Some(0)));
    let msg = cost_of("llm.cost.total", s("-0.5")).unwrap_err();
    assert!(msg.contains("llm.cost.total must not be negative"), "{msg}");
    let msg = cost_of("llm.cost.total", s("cheap")).unwrap_err();
    assert!(msg.contains("must be a decimal amount"), "{msg}");
    let msg = cost_of("llm.cost.total", d(f64::NAN)).unwrap_err();
    assert!(msg.contains("must be a decimal amount"), "{msg}");
}

#[test]
fn prompts_and_completions_are_dropped_at_the_edge() {
    let secret = "PROMPT-TEXT-do-not-store";
    let reply = "COMPLETION-TEXT-do-not-store";
    let sp = chat(vec![
        kv(
            "gen_ai.input.messages",
            s(&format!("[{{\"role\":\"user\",\"content\":\"{secret}\"}}]")),
        ),
        kv("gen_ai.output.messages", s(reply)),
        kv("gen_ai.system_instructions", s(secret)),
        kv("gen_ai.prompt.0.content", s(secret)),
        kv("gen_ai.completion.0.content", s(reply)),
        kv("llm.input_messages.0.message.content", s(secret)),
        kv("input.value", s(secret)),
        kv("output.value", s(reply)),
        kv("traceloop.entity.input", s(secret)),
        kv("gen_ai.usage.input_tokens", i(10)),
    ]);
    let batch = convert_with(vec![], sp);
    assert_eq!(batch.content_attributes_dropped, 9);
    let e = batch.items[0].as_ref().unwrap();
    let everything = format!("{e:?} {}", serde_json::to_string(e).unwrap());
    assert!(!everything.contains("PROMPT-TEXT") && !everything.contains("COMPLETION-TEXT"));
    assert_eq!(e.input_tokens(), Some(10));
}

#[test]
fn a_provider_key_is_kept_as_a_hint_only() {
    let e = event_of(chat(vec![kv(
        "spendlens.api_key",
        s("sk-proj-abcdefghijklmnopqrstuvwxyz0123456789"),
    )]));
    let hint = e.api_key.unwrap();
    assert!(!hint.contains("ghijklmnopqrstuvwxyz0123"), "{hint}");
    assert!(hint.ends_with("6789"), "{hint}");
}

#[test]
fn over_long_or_control_text_rejects_the_span() {
    let msg = rejection_of(chat(vec![kv("enduser.id", s(&"x".repeat(300)))]));
    assert!(msg.contains("enduser.id is longer than 256"), "{msg}");
    let msg = rejection_of(chat(vec![kv("gen_ai.agent.name", s("a\u{7}b"))]));
    assert!(msg.contains("control characters"), "{msg}");
}

#[test]
fn a_batch_counts_spans_ignored_and_rejected() {
    let mut bad = chat(vec![kv("gen_ai.usage.input_tokens", i(-1))]);
    bad.span_id[0] = 9;
    let req = request(
        vec![],
        vec![chat(vec![]), span(vec![kv("http.route", s("/"))]), bad],
    );
    let batch = spans_to_events(&req, NOW);
    assert_eq!(
        (
            batch.spans,
            batch.ignored,
            batch.items.len(),
            batch.rejected()
        ),
        (3, 1, 2, 1)
    );
}
