//! How fast OTLP export requests decode and convert into metered events, per encoding:
//! `cargo run --release -p spendlens-meter --example otlp_decode_bench`. A request of 512 GenAI
//! spans (the Python SDK's default batch size) shaped like the real SDK's, each span carrying a
//! 2 KB prompt attribute that is dropped.

use std::time::Instant;

use prost::Message;
use spendlens_meter::otlp::proto::{
    AnyValue, ExportTraceServiceRequest, KeyValue, Resource, ResourceSpans, ScopeSpans, Span,
    any_value::Value,
};
use spendlens_meter::otlp::{Encoding, decode, spans_to_events};
use time::macros::datetime;

fn kv(key: &str, value: Value) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue { value: Some(value) }),
    }
}

fn main() {
    let now = datetime!(2026-12-04 12:00 UTC);
    let end: u64 = 1_796_385_540_000_000_000;
    let prompt = "x".repeat(2048);
    let spans: Vec<Span> = (0..512u64)
        .map(|i| Span {
            trace_id: (i + 1).to_be_bytes().repeat(2),
            span_id: (i + 1).to_be_bytes().to_vec(),
            parent_span_id: Vec::new(),
            name: "chat gpt-4o".to_owned(),
            kind: 3,
            start_time_unix_nano: end - 1_200_000_000,
            end_time_unix_nano: end,
            attributes: vec![
                kv("gen_ai.operation.name", Value::StringValue("chat".into())),
                kv("gen_ai.provider.name", Value::StringValue("openai".into())),
                kv("gen_ai.request.model", Value::StringValue("gpt-4o".into())),
                kv(
                    "gen_ai.response.model",
                    Value::StringValue("gpt-4o-2024-08-06".into()),
                ),
                kv("gen_ai.usage.input_tokens", Value::IntValue(1200)),
                kv(
                    "gen_ai.usage.cache_read.input_tokens",
                    Value::IntValue(1024),
                ),
                kv("gen_ai.usage.output_tokens", Value::IntValue(85)),
                kv("enduser.id", Value::StringValue("acme".into())),
                kv("gen_ai.agent.name", Value::StringValue("triage".into())),
                kv("gen_ai.input.messages", Value::StringValue(prompt.clone())),
            ],
            status: None,
        })
        .collect();
    let request = ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![kv("service.name", Value::StringValue("support-bot".into()))],
            }),
            scope_spans: vec![ScopeSpans { scope: None, spans }],
        }],
    };
    let protobuf = request.encode_to_vec();
    let json = json_of(&request);
    for (name, body, encoding) in [
        ("protobuf", protobuf.as_slice(), Encoding::Protobuf),
        ("json", json.as_bytes(), Encoding::Json),
    ] {
        let rounds = 200;
        let started = Instant::now();
        let mut events = 0;
        for _ in 0..rounds {
            let decoded = decode(body, encoding).unwrap_or_default();
            events += spans_to_events(&decoded, now).items.len();
        }
        let secs = started.elapsed().as_secs_f64();
        println!(
            "{name:>8}: {} bytes/request, {:.0} spans/s decoded and converted ({events} events in {secs:.2} s)",
            body.len(),
            events as f64 / secs
        );
    }
}

/// The same request in OTLP/JSON, written the way the exporters write it.
fn json_of(request: &ExportTraceServiceRequest) -> String {
    let value = |v: &Option<AnyValue>| match v.as_ref().and_then(|a| a.value.as_ref()) {
        Some(Value::StringValue(s)) => serde_json::json!({"stringValue": s}),
        Some(Value::IntValue(n)) => serde_json::json!({"intValue": n.to_string()}),
        _ => serde_json::json!({}),
    };
    let attrs = |list: &[KeyValue]| {
        list.iter()
            .map(|kv| serde_json::json!({"key": kv.key, "value": value(&kv.value)}))
            .collect::<Vec<_>>()
    };
    let rs = &request.resource_spans[0];
    let spans: Vec<_> = rs.scope_spans[0]
        .spans
        .iter()
        .map(|s| {
            serde_json::json!({
                "traceId": hex::encode(&s.trace_id), "spanId": hex::encode(&s.span_id),
                "name": s.name, "kind": s.kind,
                "startTimeUnixNano": s.start_time_unix_nano.to_string(),
                "endTimeUnixNano": s.end_time_unix_nano.to_string(),
                "attributes": attrs(&s.attributes), "status": {}
            })
        })
        .collect();
    let resource = rs
        .resource
        .as_ref()
        .map(|r| attrs(&r.attributes))
        .unwrap_or_default();
    serde_json::json!({"resourceSpans": [{"resource": {"attributes": resource},
        "scopeSpans": [{"scope": {"name": "bench"}, "spans": spans}]}]})
    .to_string()
}
