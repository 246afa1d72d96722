//! Decoding both OTLP encodings and encoding the answers.

use prost::Message;
use time::macros::datetime;

use super::proto::{AnyValue, KeyValue, Span, any_value::Value};
use super::*;

const NOW: time::OffsetDateTime = datetime!(2026-12-04 12:00 UTC);

/// The example of METERING.md §2.2, dated inside the accepted window.
const SPEC_JSON: &str = r#"{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"billing-bot"}}]},
  "scopeSpans":[{"scope":{"name":"opentelemetry.instrumentation.openai"},
  "spans":[{"traceId":"4BF92F3577B34DA6A3CE929D0E0E4736","spanId":"00f067aa0ba902b7","name":"chat gpt-4o",
    "kind":3,"startTimeUnixNano":"1796385538800000000","endTimeUnixNano":1796385540000000000,
    "attributes":[{"key":"gen_ai.operation.name","value":{"stringValue":"chat"}},
      {"key":"gen_ai.provider.name","value":{"stringValue":"openai"}},
      {"key":"gen_ai.response.model","value":{"stringValue":"gpt-4o-2024-08-06"}},
      {"key":"gen_ai.usage.input_tokens","value":{"intValue":"1200"}},
      {"key":"gen_ai.usage.cache_read.input_tokens","value":{"intValue":1024}},
      {"key":"gen_ai.usage.output_tokens","value":{"intValue":"85"}},
      {"key":"gen_ai.input.messages","value":{"stringValue":"SECRET PROMPT"}},
      {"key":"empty","value":{}},
      {"key":"nested","value":{"kvlistValue":{"values":[{"key":"a","value":{"arrayValue":{"values":[{"boolValue":true},{"doubleValue":"NaN"},{"bytesValue":"AAE="}]}}}]}}}],
    "events":[{"timeUnixNano":"1796385539000000000","name":"gen_ai.content.prompt","attributes":[{"key":"gen_ai.prompt","value":{"stringValue":"SECRET EVENT PROMPT"}}]}],
    "status":{"code":0},"someFutureField":{"x":1}}]}]}]}"#;

#[test]
fn the_spec_json_example_decodes_and_converts() {
    let request = decode(SPEC_JSON.as_bytes(), Encoding::Json).unwrap();
    let span = &request.resource_spans[0].scope_spans[0].spans[0];
    assert_eq!(
        hex::encode(&span.trace_id),
        "4bf92f3577b34da6a3ce929d0e0e4736"
    );
    assert_eq!(span.end_time_unix_nano, 1_796_385_540_000_000_000);
    // Span events are not even decoded.
    assert!(!format!("{request:?}").contains("SECRET EVENT PROMPT"));
    let batch = spans_to_events(&request, NOW);
    let event = batch.items[0].as_ref().unwrap();
    assert_eq!(event.model, "gpt-4o-2024-08-06");
    assert_eq!(event.attribution.product.as_deref(), Some("billing-bot"));
    let t = event.tokens.unwrap();
    assert_eq!(
        (t.input_uncached, t.cache_read, t.output_visible),
        (176, 1024, 85)
    );
    assert_eq!(event.latency_ms, Some(1200));
    assert_eq!(batch.content_attributes_dropped, 1);
    assert!(!format!("{event:?}").contains("SECRET"));
}

#[test]
fn json_mistakes_get_messages_that_say_what_to_send() {
    let bad = |body: &str| decode(body.as_bytes(), Encoding::Json).unwrap_err().0;
    let msg = bad(
        r#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"attributes":{"gen_ai.system":"openai"}}]}]}]}"#,
    );
    assert!(msg.contains("attributes must be a list"), "{msg}");
    let msg = bad(
        r#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"S/kvNXezTaajzpKdDg5HNg=="}]}]}]}"#,
    );
    assert!(
        msg.contains("hex strings") && msg.contains("not base64"),
        "{msg}"
    );
    let msg =
        bad(r#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"kind":"SPAN_KIND_CLIENT"}]}]}]}"#);
    assert!(msg.contains("enums") && msg.contains("integers"), "{msg}");
    let msg = bad(
        r#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"startTimeUnixNano":"yesterday"}]}]}]}"#,
    );
    assert!(msg.contains("non-negative integer"), "{msg}");
    let msg = bad(r#"{"resourceSpans": [ {"#);
    assert!(msg.contains("not an OTLP/JSON"), "{msg}");
    let msg = bad("[1,2]");
    assert!(msg.contains("not an OTLP/JSON"), "{msg}");
    let msg = bad(
        r#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"attributes":[{"key":"k","value":{"intValue":"1.5"}}]}]}]}]}"#,
    );
    assert!(msg.contains("intValue must be an integer"), "{msg}");
}

#[test]
fn a_misplaced_value_is_not_quoted_back_whole() {
    let prompt = "SECRET ".repeat(1000);
    let body = format!(
        r#"{{"resourceSpans":[{{"scopeSpans":[{{"spans":[{{"attributes":[{{"key":"gen_ai.input.messages","value":"{prompt}"}}]}}]}}]}}]}}"#
    );
    let msg = decode(body.as_bytes(), Encoding::Json).unwrap_err().0;
    assert!(msg.len() < 400, "{}", msg.len());
    assert!(msg.contains("line 1 column"), "{msg}");
}

#[test]
fn json_nulls_and_empty_bodies_are_defaults() {
    assert_eq!(
        decode(b"", Encoding::Json).unwrap(),
        ExportTraceServiceRequest::default()
    );
    assert_eq!(
        decode(b"{}", Encoding::Json).unwrap(),
        ExportTraceServiceRequest::default()
    );
    let r = decode(
        br#"{"resourceSpans":[{"resource":null,"scopeSpans":[{"scope":null,"spans":[{"traceId":null,"name":null,"attributes":null,"status":null}]}]}]}"#,
        Encoding::Json,
    )
    .unwrap();
    assert_eq!(r.resource_spans[0].scope_spans[0].spans[0], Span::default());
}

#[test]
fn protobuf_round_trips_and_garbage_is_a_decode_error() {
    let request = decode(SPEC_JSON.as_bytes(), Encoding::Json).unwrap();
    let bytes = request.encode_to_vec();
    // Compared as bytes: the request holds a NaN, which is not equal to itself.
    assert_eq!(
        decode(&bytes, Encoding::Protobuf).unwrap().encode_to_vec(),
        bytes
    );
    assert!(
        format!("{:?}", decode(&bytes, Encoding::Protobuf).unwrap()).contains("BytesValue([0, 1])")
    );
    assert_eq!(
        decode(b"", Encoding::Protobuf).unwrap(),
        ExportTraceServiceRequest::default()
    );
    let msg = decode(b"\x0a\xff\xff\xff\xff\x0f garbage", Encoding::Protobuf)
        .unwrap_err()
        .0;
    assert!(
        msg.contains("not a protobuf ExportTraceServiceRequest"),
        "{msg}"
    );
    assert!(decode(b"{\"resourceSpans\":[]}", Encoding::Protobuf).is_err());
}

/// A span as the SDK sends it, with span events (tag 11) holding a prompt: the receiver's
/// message model has no field for them, so the decoder skips their bytes.
#[derive(Clone, PartialEq, prost::Message)]
struct SpanWithEvents {
    #[prost(bytes = "vec", tag = "1")]
    trace_id: Vec<u8>,
    #[prost(bytes = "vec", tag = "2")]
    span_id: Vec<u8>,
    #[prost(message, repeated, tag = "9")]
    attributes: Vec<KeyValue>,
    #[prost(message, repeated, tag = "11")]
    events: Vec<SpanEvent>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct SpanEvent {
    #[prost(fixed64, tag = "1")]
    time_unix_nano: u64,
    #[prost(string, tag = "2")]
    name: String,
    #[prost(message, repeated, tag = "3")]
    attributes: Vec<KeyValue>,
}

#[test]
fn protobuf_span_events_are_skipped_by_the_decoder() {
    let sent = SpanWithEvents {
        trace_id: vec![1; 16],
        span_id: vec![2; 8],
        attributes: vec![KeyValue {
            key: "gen_ai.system".into(),
            value: Some(AnyValue {
                value: Some(Value::StringValue("openai".into())),
            }),
        }],
        events: vec![SpanEvent {
            time_unix_nano: 1,
            name: "gen_ai.user.message".into(),
            attributes: vec![KeyValue {
                key: "content".into(),
                value: Some(AnyValue {
                    value: Some(Value::StringValue("SECRET EVENT PROMPT".into())),
                }),
            }],
        }],
    };
    let span = Span::decode(sent.encode_to_vec().as_slice()).unwrap();
    assert_eq!(span.span_id, vec![2; 8]);
    assert_eq!(span.attributes.len(), 1);
    assert!(!format!("{span:?}").contains("SECRET"));
}

#[test]
fn content_types_are_matched_on_the_media_type() {
    assert_eq!(
        Encoding::from_content_type("application/x-protobuf"),
        Some(Encoding::Protobuf)
    );
    assert_eq!(
        Encoding::from_content_type("application/json; charset=utf-8"),
        Some(Encoding::Json)
    );
    assert_eq!(
        Encoding::from_content_type("Application/JSON"),
        Some(Encoding::Json)
    );
    assert_eq!(Encoding::from_content_type("text/plain"), None);
    assert_eq!(Encoding::from_content_type(""), None);
}

#[test]
fn answers_in_both_encodings() {
    let ok = encode_response(Encoding::Protobuf, 0, "");
    assert!(ok.is_empty(), "partial_success unset on full success");
    let partial = encode_response(Encoding::Protobuf, 2, "2 spans rejected");
    let decoded = proto::ExportTraceServiceResponse::decode(partial.as_slice()).unwrap();
    let p = decoded.partial_success.unwrap();
    assert_eq!(
        (p.rejected_spans, p.error_message.as_str()),
        (2, "2 spans rejected")
    );

    assert_eq!(encode_response(Encoding::Json, 0, ""), b"{}");
    let json: serde_json::Value =
        serde_json::from_slice(&encode_response(Encoding::Json, 1, "bad id")).unwrap();
    assert_eq!(json["partialSuccess"]["rejectedSpans"], "1");
    assert_eq!(json["partialSuccess"]["errorMessage"], "bad id");

    let status = proto::RpcStatus::decode(
        encode_status(Encoding::Protobuf, rpc_code::INVALID_ARGUMENT, "broken").as_slice(),
    )
    .unwrap();
    assert_eq!((status.code, status.message.as_str()), (3, "broken"));
    let json: serde_json::Value =
        serde_json::from_slice(&encode_status(Encoding::Json, 16, "bad key")).unwrap();
    assert_eq!(json, serde_json::json!({"code": 16, "message": "bad key"}));
}

#[test]
fn deeply_nested_values_are_refused_not_overflowed() {
    // prost's recursion limit (100) bounds nested arrayValue/kvlistValue.
    let mut value = AnyValue {
        value: Some(Value::StringValue("x".into())),
    };
    for _ in 0..200 {
        value = AnyValue {
            value: Some(Value::ArrayValue(proto::ArrayValue {
                values: vec![value],
            })),
        };
    }
    let bytes = value.encode_to_vec();
    assert!(AnyValue::decode(bytes.as_slice()).is_err());
    // serde_json's limit (128) does the same for OTLP/JSON.
    let mut text = String::from(r#"{"stringValue":"x"}"#);
    for _ in 0..200 {
        text = format!(r#"{{"arrayValue":{{"values":[{text}]}}}}"#);
    }
    let body = format!(
        r#"{{"resourceSpans":[{{"scopeSpans":[{{"spans":[{{"attributes":[{{"key":"k","value":{text}}}]}}]}}]}}]}}"#
    );
    assert!(decode(body.as_bytes(), Encoding::Json).is_err());
}

/// Request bodies the real OpenTelemetry Python SDK sent (opentelemetry-sdk and
/// opentelemetry-exporter-otlp-proto-http 1.45.1, opentelemetry-exporter-otlp-json-http 0.66b1),
/// captured from crates/web/tests/otel/export_spans.py with the marker PROMPT-MARKER-7f3a.
const SDK_PROTOBUF: &[u8] = include_bytes!("fixtures/python-sdk-1.45.1.pb");
const SDK_JSON: &[u8] = include_bytes!("fixtures/python-json-exporter-0.66b1.json");
const CAPTURED_AT: time::OffsetDateTime = datetime!(2026-12-04 21:00 UTC);

#[test]
fn what_the_python_sdk_sends_converts_the_same_in_both_encodings() {
    for (body, encoding) in [
        (SDK_PROTOBUF, Encoding::Protobuf),
        (SDK_JSON, Encoding::Json),
    ] {
        let request = decode(body, encoding).unwrap();
        let batch = spans_to_events(&request, CAPTURED_AT);
        assert_eq!(
            (batch.spans, batch.ignored, batch.rejected()),
            (7, 2, 0),
            "{encoding:?}"
        );
        let events: Vec<_> = batch.items.iter().map(|i| i.as_ref().unwrap()).collect();
        assert_eq!(events.len(), 5);

        let full = events[0];
        assert_eq!(
            (full.provider.as_str(), full.model.as_str()),
            ("openai", "gpt-4o-2024-08-06")
        );
        let t = full.tokens.unwrap();
        assert_eq!(
            (
                t.input_uncached,
                t.cache_read,
                t.output_visible,
                t.output_reasoning
            ),
            (176, 1024, 65, 20)
        );
        assert_eq!(
            full.reported_cost.map(spendlens_domain::Money::nanos),
            Some(12_300_000)
        );
        assert_eq!(full.attribution.customer.as_deref(), Some("acme"));
        assert_eq!(full.attribution.product.as_deref(), Some("support-bot"));
        assert_eq!(full.attribution.agent.as_deref(), Some("triage"));
        assert_eq!(full.attribution.workflow.as_deref(), Some("ticket_reply"));
        assert_eq!(
            full.tags.get("environment").map(String::as_str),
            Some("test")
        );
        assert_eq!(full.tags.get("team").map(String::as_str), Some("support"));
        assert_eq!(
            full.tags.get("otel_scope").map(String::as_str),
            Some("spendlens.test.genai")
        );
        assert!(full.id.starts_with("otlp-") && full.id.len() == 5 + 32 + 1 + 16);

        let no_usage = events[1];
        assert_eq!(
            (no_usage.provider.as_str(), no_usage.tokens),
            ("anthropic", None)
        );

        let failed = events[2];
        assert_eq!(
            (failed.status, failed.input_tokens()),
            (crate::CallStatus::Error, Some(300))
        );
        assert_eq!(events[3].status, crate::CallStatus::Timeout);

        assert_eq!(events[4].model, "gpt-4.1");
        assert_eq!(batch.content_attributes_dropped, 5);
        for e in &events {
            let everything = format!("{e:?} {}", serde_json::to_string(e).unwrap());
            assert!(!everything.contains("PROMPT-MARKER"), "{everything}");
        }
    }
    // The two encodings carry different spans (two runs) but the same shapes; the protobuf
    // body holds the prompt marker only inside attributes and span events that are dropped.
    assert!(SDK_PROTOBUF.windows(18).any(|w| w == b"PROMPT-MARKER-7f3a"));
}
