//! Attribute names (METERING.md §1.3–§1.5): every generation of the GenAI semantic conventions
//! plus the OpenLLMetry/Traceloop, OpenInference, OpenLIT, LiteLLM and Vercel AI SDK spellings,
//! each list in precedence order; and the typed reading of an attribute value, coercing the
//! ints-as-doubles-as-strings that sloppy emitters send.

use std::collections::HashMap;

use rust_decimal::Decimal;

use super::proto::{AnyValue, KeyValue, any_value::Value};

pub const OPERATION: &[&str] = &["gen_ai.operation.name", "llm.request.type"];
pub const PROVIDER: &[&str] = &[
    "gen_ai.provider.name",
    "gen_ai.system",
    "llm.provider",
    "llm.system",
    "ai.model.provider",
    "llm.vendor",
];
/// The model actually used first (price on it), the requested one as a fallback.
pub const MODEL: &[&str] = &[
    "gen_ai.response.model",
    "llm.response.model",
    "ai.response.model",
    "ai.model.id",
    "gen_ai.request.model",
    "llm.request.model",
    "llm.model_name",
];
pub const INPUT_TOKENS: &[&str] = &[
    "gen_ai.usage.input_tokens",
    "gen_ai.usage.prompt_tokens",
    "llm.usage.prompt_tokens",
    "llm.token_count.prompt",
    "ai.usage.inputTokens",
    "ai.usage.promptTokens",
];
pub const OUTPUT_TOKENS: &[&str] = &[
    "gen_ai.usage.output_tokens",
    "gen_ai.usage.completion_tokens",
    "llm.usage.completion_tokens",
    "llm.token_count.completion",
    "ai.usage.outputTokens",
    "ai.usage.completionTokens",
];
pub const CACHE_READ_TOKENS: &[&str] = &[
    "gen_ai.usage.cache_read.input_tokens",
    "gen_ai.usage.cache_read_input_tokens",
    "gen_ai.usage.prompt_tokens_details.cached_tokens",
    "gen_ai.usage.cached_tokens",
    "llm.token_count.prompt_details.cache_read",
    "ai.usage.cachedInputTokens",
];
pub const CACHE_WRITE_TOKENS: &[&str] = &[
    "gen_ai.usage.cache_write.input_tokens",
    "gen_ai.usage.cache_creation.input_tokens",
    "gen_ai.usage.cache_creation_input_tokens",
    "gen_ai.usage.prompt_tokens_details.cache_creation_tokens",
    "llm.token_count.prompt_details.cache_write",
    "ai.usage.cacheCreationInputTokens",
];
pub const REASONING_TOKENS: &[&str] = &[
    "gen_ai.usage.reasoning.output_tokens",
    "gen_ai.usage.reasoning_tokens",
    "gen_ai.usage.output_tokens.reasoning",
    "gen_ai.usage.completion_tokens_details.reasoning_tokens",
    "llm.usage.reasoning_tokens",
    "llm.token_count.completion_details.reasoning",
    "ai.usage.reasoningTokens",
];
/// Totals: a consistency check of the input semantics, never priced.
pub const TOTAL_TOKENS: &[&str] = &[
    "gen_ai.usage.total_tokens",
    "llm.usage.total_tokens",
    "llm.token_count.total",
    "ai.usage.totalTokens",
    "ai.usage.tokens",
    "gen_ai.client.token.usage",
];
/// Gateway- and SDK-reported cost in USD (semconv has none). Totals only: LiteLLM v2, LiteLLM v1,
/// OpenInference, OpenLIT, Logfire.
pub const COST: &[&str] = &[
    "litellm.cost.total",
    "gen_ai.cost.total_cost",
    "llm.cost.total",
    "gen_ai.usage.cost",
    "operation.cost",
];
/// OpenLIT writes `gen_ai.usage.cost` = 0 when it does not know the model: that zero means
/// "unknown", never "free".
pub const COST_ZERO_MEANS_UNKNOWN: &str = "gen_ai.usage.cost";

pub const CUSTOMER: &[&str] = &[
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
pub const SUBSCRIBER: &[&str] = &[
    "spendlens.subscriber",
    "traceloop.association.properties.user_id",
    "langfuse.user.id",
    "user.id",
    "enduser.id",
];
/// `service.name` is read from the resource after these (see [`SERVICE_NAME`]).
pub const PRODUCT: &[&str] = &["spendlens.product", "product"];
pub const SERVICE_NAME: &str = "service.name";
pub const AGENT: &[&str] = &[
    "spendlens.agent",
    "gen_ai.agent.name",
    "gen_ai.agent.id",
    "agent.name",
];
pub const WORKFLOW: &[&str] = &[
    "spendlens.workflow",
    "gen_ai.workflow.name",
    "traceloop.workflow.name",
];
pub const API_KEY: &[&str] = &["spendlens.api_key"];
pub const WORKSPACE: &[&str] = &["spendlens.workspace"];
pub const ENVIRONMENT: &[&str] = &[
    "deployment.environment.name",
    "deployment.environment",
    "gen_ai.environment",
];
pub const SERVICE_TIER: &[&str] = &[
    "openai.response.service_tier",
    "gen_ai.openai.response.service_tier",
    "openai.request.service_tier",
    "gen_ai.openai.request.service_tier",
];
pub const ERROR_TYPE: &str = "error.type";
pub const SERVER_ADDRESS: &str = "server.address";
/// Free-form tags a sender sets explicitly: `spendlens.tag.<name>`.
pub const TAG_PREFIX: &str = "spendlens.tag.";

/// Operations whose spans never carry a call's own usage (§1.4): agent and workflow spans
/// aggregate their children, tools and retrieval make no model call, `fetch_response` must not
/// report usage. Compared lower-case.
pub const NOT_INFERENCE_OPERATIONS: &[&str] = &[
    "invoke_agent",
    "create_agent",
    "execute_tool",
    "invoke_workflow",
    "retrieval",
    "plan",
    "fetch_response",
    "execute_task",
    "agent",
    "workflow",
    "task",
    "tool",
];

/// Keys that carry call content. They are never read into an event; seeing one only counts it.
/// (Span events, where newer instrumentations put messages, are not even decoded.)
pub fn is_content_key(key: &str) -> bool {
    const PREFIXES: &[&str] = &[
        "gen_ai.input.messages",
        "gen_ai.output.messages",
        "gen_ai.system_instructions",
        "gen_ai.prompt",
        "gen_ai.completion",
        "gen_ai.tool.call.arguments",
        "gen_ai.tool.call.result",
        "gen_ai.tool.definitions",
        "llm.prompts",
        "llm.completions",
        "llm.input_messages",
        "llm.output_messages",
        "input.value",
        "output.value",
        "traceloop.entity.input",
        "traceloop.entity.output",
        "ai.prompt",
        "ai.response.text",
        "ai.response.object",
        "ai.response.toolCalls",
        "ai.values",
    ];
    PREFIXES.iter().any(|p| {
        key.strip_prefix(p)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('.'))
    })
}

/// One span's attributes over its resource's: span attributes win.
pub struct Attrs<'a> {
    span: HashMap<&'a str, &'a AnyValue>,
    resource: &'a HashMap<&'a str, &'a AnyValue>,
}

/// Indexes a list of attributes by key (the last of repeated keys wins, like the SDKs).
pub fn index(attributes: &[KeyValue]) -> HashMap<&str, &AnyValue> {
    attributes
        .iter()
        .filter_map(|kv| kv.value.as_ref().map(|v| (kv.key.as_str(), v)))
        .collect()
}

impl<'a> Attrs<'a> {
    pub fn new(span: &'a [KeyValue], resource: &'a HashMap<&'a str, &'a AnyValue>) -> Attrs<'a> {
        Attrs {
            span: index(span),
            resource,
        }
    }

    /// The first key of `keys` present on the span, then the first present on the resource.
    pub fn first(&self, keys: &[&'static str]) -> Option<(&'static str, &'a AnyValue)> {
        self.first_on_span(keys).or_else(|| {
            keys.iter()
                .find_map(|k| self.resource.get(k).map(|v| (*k, *v)))
        })
    }

    pub fn first_on_span(&self, keys: &[&'static str]) -> Option<(&'static str, &'a AnyValue)> {
        keys.iter().find_map(|k| self.span.get(k).map(|v| (*k, *v)))
    }

    pub fn resource(&self, key: &str) -> Option<&'a AnyValue> {
        self.resource.get(key).copied()
    }

    /// Span attribute keys, for prefix scans (tags, content counting).
    pub fn span_entries(&self) -> impl Iterator<Item = (&'a str, &'a AnyValue)> + '_ {
        self.span.iter().map(|(k, v)| (*k, *v))
    }

    pub fn has_span_key_with_prefix(&self, prefixes: &[&str]) -> bool {
        self.span
            .keys()
            .any(|k| prefixes.iter().any(|p| k.starts_with(p)))
    }
}

/// A value as text: strings as sent (trimmed), numbers and booleans written out; empty,
/// arrays, maps and bytes are not text.
pub fn text(value: &AnyValue) -> Option<String> {
    match value.value.as_ref()? {
        Value::StringValue(s) => {
            let s = s.trim();
            (!s.is_empty()).then(|| s.to_owned())
        }
        Value::IntValue(n) => Some(n.to_string()),
        Value::DoubleValue(f) if f.is_finite() => Some(f.to_string()),
        Value::BoolValue(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Why a value could not be read as what its key means.
#[derive(Debug, PartialEq, Eq)]
pub enum BadValue {
    NotACount(String),
    NotADecimal(String),
}

/// A token count: a non-negative integer sent as `intValue`, an integral `doubleValue`, or a
/// decimal string. `Ok(None)` for an empty value.
pub fn count(value: &AnyValue) -> Result<Option<i128>, BadValue> {
    let Some(v) = value.value.as_ref() else {
        return Ok(None);
    };
    match v {
        Value::IntValue(n) => Ok(Some(i128::from(*n))),
        Value::DoubleValue(f) if f.is_finite() && f.fract() == 0.0 && f.abs() < 1.0e18 => {
            Ok(Some(*f as i128))
        }
        Value::StringValue(s) if s.trim().is_empty() => Ok(None),
        Value::StringValue(s) => s
            .trim()
            .parse::<i128>()
            .map(Some)
            .map_err(|_| BadValue::NotACount(shown(v))),
        _ => Err(BadValue::NotACount(shown(v))),
    }
}

/// An exact decimal. A `doubleValue` is read through its shortest round-trip text (Rust prints
/// `0.1` for the double nearest 0.1), so no binary-float artifact becomes money.
pub fn decimal(value: &AnyValue) -> Result<Option<Decimal>, BadValue> {
    let Some(v) = value.value.as_ref() else {
        return Ok(None);
    };
    let text = match v {
        Value::StringValue(s) if s.trim().is_empty() => return Ok(None),
        Value::StringValue(s) => s.trim().to_owned(),
        Value::IntValue(n) => n.to_string(),
        Value::DoubleValue(f) if f.is_finite() => format!("{f}"),
        _ => return Err(BadValue::NotADecimal(shown(v))),
    };
    spendlens_domain::money::parse_decimal(&text)
        .map(Some)
        .map_err(|_| BadValue::NotADecimal(shown(v)))
}

/// A short rendering of a (numeric or short) value for an error message.
fn shown(value: &Value) -> String {
    let text = match value {
        Value::StringValue(s) => format!("\"{s}\""),
        Value::IntValue(n) => n.to_string(),
        Value::DoubleValue(f) => f.to_string(),
        Value::BoolValue(b) => b.to_string(),
        Value::ArrayValue(_) => "an array".to_owned(),
        Value::KvlistValue(_) => "a key-value list".to_owned(),
        Value::BytesValue(_) => "bytes".to_owned(),
    };
    if text.chars().count() > 40 {
        format!("{}…", text.chars().take(40).collect::<String>())
    } else {
        text
    }
}
