//! Calls on the wire: the native JSON event of `POST /api/v1/meter/events`, and OTLP GenAI
//! spans (`ExportTraceServiceRequest`, built with the message types the receiver decodes) with
//! the semantic-convention attributes instrumentations send. Never a prompt or a completion.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};
use spendlens_meter::otlp::proto::{
    AnyValue, ExportTraceServiceRequest, InstrumentationScope, KeyValue, Resource, ResourceSpans,
    STATUS_CODE_ERROR, ScopeSpans, Span, Status, any_value,
};
use time::format_description::well_known::Rfc3339;

use crate::plan::{Call, CallStatus, Work};
use crate::rng::span_ids;

/// The native JSON event of a call. Token counts follow the provider's semantics: OpenAI's
/// `input` includes cached tokens, Anthropic's parts are disjoint.
pub(crate) fn native_event(call: &Call) -> Value {
    let mut event = Map::new();
    event.insert("id".into(), json!(call.id));
    let time = call.time.format(&Rfc3339).unwrap_or_default();
    event.insert("time".into(), json!(time));
    event.insert("provider".into(), json!(call.provider));
    event.insert("model".into(), json!(call.model));
    match call.work {
        Work::Tokens {
            input,
            cache_read,
            cache_write,
            output,
        } => {
            let input = if call.provider == "openai" {
                input + cache_read
            } else {
                input
            };
            let mut tokens = Map::new();
            tokens.insert("input".into(), json!(input));
            if cache_read > 0 {
                tokens.insert("cache_read".into(), json!(cache_read));
            }
            if cache_write > 0 {
                tokens.insert("cache_write".into(), json!(cache_write));
            }
            tokens.insert("output".into(), json!(output));
            event.insert("tokens".into(), Value::Object(tokens));
        }
        Work::Units { quantity, unit } => {
            event.insert("quantity".into(), json!(quantity));
            event.insert("unit".into(), json!(unit));
        }
    }
    event.insert("latency_ms".into(), json!(call.latency_ms));
    event.insert("status".into(), json!(call.status.as_str()));
    if let Some(key) = &call.api_key {
        event.insert("api_key".into(), json!(key));
    }
    if let Some(workspace) = &call.workspace {
        event.insert("workspace".into(), json!(workspace));
    }
    if let Some(customer) = call.customer {
        event.insert("customer".into(), json!(customer));
    }
    event.insert("product".into(), json!(call.product));
    event.insert("agent".into(), json!(call.agent));
    if let Some(workflow) = call.workflow {
        event.insert("workflow".into(), json!(workflow));
    }
    event.insert(
        "tags".into(),
        json!({"env": call.env, "source": "spendlens-demo"}),
    );
    Value::Object(event)
}

fn text(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(value.to_owned())),
        }),
    }
}

fn int(key: &str, value: u64) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue {
            value: Some(any_value::Value::IntValue(
                i64::try_from(value).unwrap_or(i64::MAX),
            )),
        }),
    }
}

/// One OTLP export of `calls`, one resource per product (its `service.name`), as an
/// OpenTelemetry GenAI instrumentation would send them. Calls with a unit quantity instead of
/// tokens are not spans' business and are left out.
pub(crate) fn otlp_request(calls: &[&Call]) -> ExportTraceServiceRequest {
    let mut by_product: BTreeMap<(&str, &str), Vec<Span>> = BTreeMap::new();
    for call in calls {
        if let Some(span) = span(call) {
            by_product
                .entry((call.product.as_str(), call.env))
                .or_default()
                .push(span);
        }
    }
    let resource_spans = by_product
        .into_iter()
        .map(|((product, env), spans)| ResourceSpans {
            resource: Some(Resource {
                attributes: vec![
                    text("service.name", product),
                    text("deployment.environment.name", env),
                ],
            }),
            scope_spans: vec![ScopeSpans {
                scope: Some(InstrumentationScope {
                    name: "spendlens-demo".to_owned(),
                    version: env!("CARGO_PKG_VERSION").to_owned(),
                }),
                spans,
            }],
        })
        .collect();
    ExportTraceServiceRequest { resource_spans }
}

fn span(call: &Call) -> Option<Span> {
    let Work::Tokens {
        input,
        cache_read,
        cache_write,
        output,
    } = call.work
    else {
        return None;
    };
    let operation = if call.model.starts_with("text-embedding") {
        "embeddings"
    } else {
        "chat"
    };
    let (trace_id, span_id) = span_ids(&call.id);
    let end = u64::try_from(call.time.unix_timestamp_nanos()).unwrap_or_default();
    let start = end.saturating_sub(call.latency_ms * 1_000_000);
    let mut attributes = vec![
        text("gen_ai.operation.name", operation),
        text("gen_ai.provider.name", call.provider),
        text("gen_ai.request.model", &call.model),
        text("gen_ai.response.model", &call.model),
        // The spec's input count includes cache reads and writes.
        int(
            "gen_ai.usage.input_tokens",
            input + cache_read + cache_write,
        ),
        int("gen_ai.usage.output_tokens", output),
        text("gen_ai.agent.name", call.agent),
    ];
    if cache_read > 0 {
        attributes.push(int("gen_ai.usage.cache_read.input_tokens", cache_read));
    }
    if cache_write > 0 {
        attributes.push(int("gen_ai.usage.cache_creation.input_tokens", cache_write));
    }
    if let Some(workflow) = call.workflow {
        attributes.push(text("gen_ai.workflow.name", workflow));
    }
    if let Some(customer) = call.customer {
        attributes.push(text("spendlens.customer", customer));
    }
    if let Some(key) = &call.api_key {
        attributes.push(text("spendlens.api_key", key));
    }
    if let Some(workspace) = &call.workspace {
        attributes.push(text("spendlens.workspace", workspace));
    }
    let status = match call.status {
        CallStatus::Ok => None,
        CallStatus::Error => {
            attributes.push(text("error.type", "500"));
            Some(Status {
                message: "upstream returned 500".to_owned(),
                code: STATUS_CODE_ERROR,
            })
        }
        CallStatus::Timeout => {
            attributes.push(text("error.type", "timeout"));
            Some(Status {
                message: "request timeout".to_owned(),
                code: STATUS_CODE_ERROR,
            })
        }
    };
    Some(Span {
        trace_id,
        span_id,
        parent_span_id: Vec::new(),
        name: format!("{operation} {}", call.model),
        kind: 3, // client
        start_time_unix_nano: start,
        end_time_unix_nano: end,
        attributes,
        status,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn call(provider: &'static str, work: Work) -> Call {
        Call {
            id: "demo-1".into(),
            time: datetime!(2026-12-01 10:00 UTC),
            provider,
            model: "m".into(),
            api_key: Some("key_1".into()),
            workspace: None,
            work,
            latency_ms: 500,
            status: CallStatus::Ok,
            customer: Some("acme-corp"),
            product: "support-bot".into(),
            agent: "triage",
            workflow: None,
            env: "production",
        }
    }

    #[test]
    fn openai_input_includes_the_cache_and_anthropic_input_does_not() {
        let work = Work::Tokens {
            input: 100,
            cache_read: 20,
            cache_write: 5,
            output: 7,
        };
        let openai = native_event(&call("openai", work));
        assert_eq!(openai["tokens"]["input"], 120);
        let anthropic = native_event(&call("anthropic", work));
        assert_eq!(anthropic["tokens"]["input"], 100);
        assert_eq!(anthropic["tokens"]["cache_write"], 5);
        assert_eq!(anthropic["time"], "2026-12-01T10:00:00Z");
        assert!(openai.get("workflow").is_none());
    }

    #[test]
    fn spans_carry_spec_input_and_leave_unit_work_out() {
        let work = Work::Tokens {
            input: 100,
            cache_read: 20,
            cache_write: 5,
            output: 7,
        };
        let tokens = call("anthropic", work);
        let units = call(
            "openai",
            Work::Units {
                quantity: 3,
                unit: "images",
            },
        );
        let request = otlp_request(&[&tokens, &units]);
        assert_eq!(request.resource_spans.len(), 1);
        let span = &request.resource_spans[0].scope_spans[0].spans[0];
        let input = span
            .attributes
            .iter()
            .find(|kv| kv.key == "gen_ai.usage.input_tokens")
            .and_then(|kv| kv.value.clone())
            .and_then(|v| v.value);
        assert_eq!(input, Some(any_value::Value::IntValue(125)));
        assert_eq!(
            span.end_time_unix_nano - span.start_time_unix_nano,
            500_000_000
        );
    }
}
