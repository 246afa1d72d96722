//! Span → event mapping: one test per rule, each alias spelled out literally so a dropped alias
//! fails a test. Token aliases in `tokens.rs`, attribution and cost in `attribution.rs`.

use time::macros::datetime;

use super::*;

mod attribution;
mod tokens;
use crate::otlp::proto::{KeyValue, Resource, ResourceSpans, ScopeSpans, Status, any_value::Value};

pub(super) const NOW: OffsetDateTime = datetime!(2026-12-04 12:00 UTC);
pub(super) const END_NS: u64 = 1_796_385_540_000_000_000; // 2026-12-04 11:59:00 UTC
const TRACE: [u8; 16] = [
    0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36,
];
const SPAN: [u8; 8] = [0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7];

pub(super) fn s(text: &str) -> Value {
    Value::StringValue(text.to_owned())
}
pub(super) fn i(n: i64) -> Value {
    Value::IntValue(n)
}
pub(super) fn d(f: f64) -> Value {
    Value::DoubleValue(f)
}
pub(super) fn kv(key: &str, value: Value) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue { value: Some(value) }),
    }
}

pub(super) fn span(attributes: Vec<KeyValue>) -> Span {
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

pub(super) fn chat(extra: Vec<KeyValue>) -> Span {
    let mut attributes = vec![
        kv("gen_ai.operation.name", s("chat")),
        kv("gen_ai.provider.name", s("openai")),
        kv("gen_ai.request.model", s("gpt-4o")),
    ];
    attributes.extend(extra);
    span(attributes)
}

pub(super) fn request(resource: Vec<KeyValue>, spans: Vec<Span>) -> ExportTraceServiceRequest {
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

pub(super) fn convert_with(resource: Vec<KeyValue>, span: Span) -> SpanBatch {
    spans_to_events(&request(resource, vec![span]), NOW)
}

pub(super) fn event_of(span: Span) -> MeteredEvent {
    let mut batch = convert_with(vec![], span);
    assert_eq!(batch.items.len(), 1, "{batch:?}");
    batch.items.remove(0).expect("a metered event")
}

pub(super) fn rejection_of(span: Span) -> String {
    let mut batch = convert_with(vec![], span);
    assert_eq!(batch.items.len(), 1, "{batch:?}");
    batch.items.remove(0).expect_err("a rejected span").0
}

pub(super) fn ignored(span: Span) -> bool {
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
