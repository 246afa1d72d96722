//! GenAI spans → [`MeteredEvent`]s (METERING.md §1.4, §2.3 steps 5–7): which spans are metered,
//! how their attributes map onto the event, and the span's identity as the idempotency key, so a
//! re-exported span is the same event and counts once.
//!
//! The event depends only on the span and its resource — never on the arrival time or on the
//! other spans of the batch — so a retried export reproduces it exactly.

use std::collections::HashMap;

use spendlens_domain::Money;
use time::OffsetDateTime;

use super::attrs::{self, Attrs, BadValue};
use super::proto::{
    AnyValue, ExportTraceServiceRequest, InstrumentationScope, STATUS_CODE_ERROR, Span,
};
use crate::event::{Attribution, CallStatus, EventSource, MeteredEvent, Tags};
use crate::parse::{
    EventProblem, MAX_LATENCY_MS, MAX_TAGS, MAX_TEXT_LEN, MAX_TOKENS_PER_BUCKET, key_hint,
    validate_time,
};
use crate::provider::normalize_provider;
use crate::tokens::{InputSemantics, RawTokens, normalize_tokens};

/// What one export request holds, span by span.
#[derive(Debug, Default)]
pub struct SpanBatch {
    /// One entry per metered GenAI span and per rejected span, in request order.
    pub items: Vec<Result<MeteredEvent, EventProblem>>,
    /// Every span in the request.
    pub spans: usize,
    /// Valid spans that are not GenAI inference spans: acknowledged, not metered.
    pub ignored: usize,
    /// Prompt/completion attributes seen on metered spans and dropped.
    pub content_attributes_dropped: usize,
}

impl SpanBatch {
    pub fn rejected(&self) -> usize {
        self.items.iter().filter(|i| i.is_err()).count()
    }
}

enum Outcome {
    Event(Box<MeteredEvent>),
    Ignored,
    Rejected(EventProblem),
}

/// Converts every span of a decoded request; `now` bounds the event times (clock skew).
pub fn spans_to_events(request: &ExportTraceServiceRequest, now: OffsetDateTime) -> SpanBatch {
    let mut batch = SpanBatch::default();
    for resource_spans in &request.resource_spans {
        let resource_attributes = resource_spans
            .resource
            .as_ref()
            .map(|r| r.attributes.as_slice())
            .unwrap_or_default();
        let resource = attrs::index(resource_attributes);
        for scope_spans in &resource_spans.scope_spans {
            for span in &scope_spans.spans {
                batch.spans += 1;
                let ordinal = batch.spans;
                match convert_span(span, scope_spans.scope.as_ref(), &resource, now) {
                    Outcome::Event(event) => {
                        batch.content_attributes_dropped += span
                            .attributes
                            .iter()
                            .filter(|kv| attrs::is_content_key(&kv.key))
                            .count();
                        batch.items.push(Ok(*event));
                    }
                    Outcome::Ignored => batch.ignored += 1,
                    Outcome::Rejected(problem) => batch.items.push(Err(EventProblem(format!(
                        "{}: {}",
                        span_label(span, ordinal),
                        problem.0
                    )))),
                }
            }
        }
    }
    batch
}

fn span_label(span: &Span, ordinal: usize) -> String {
    if span.span_id.is_empty() {
        format!("span #{ordinal} (no span id)")
    } else {
        format!(
            "span {} of trace {}",
            hex::encode(&span.span_id),
            hex::encode(&span.trace_id)
        )
    }
}

fn problem(message: impl Into<String>) -> EventProblem {
    EventProblem(message.into())
}

fn convert_span(
    span: &Span,
    scope: Option<&InstrumentationScope>,
    resource: &HashMap<&str, &AnyValue>,
    now: OffsetDateTime,
) -> Outcome {
    if let Err(p) = check_ids(span) {
        return Outcome::Rejected(p);
    }
    let attrs = Attrs::new(&span.attributes, resource);
    let operation = attrs
        .first_on_span(attrs::OPERATION)
        .and_then(|(_, v)| attrs::text(v));
    if !is_inference_span(span, &attrs, operation.as_deref()) {
        return Outcome::Ignored;
    }
    match build_event(span, scope, &attrs, operation, now) {
        Ok(event) => Outcome::Event(Box::new(event)),
        Err(p) => Outcome::Rejected(p),
    }
}

/// Trace id 16 bytes, span id 8 bytes, neither all zero (§2.3 step 5).
fn check_ids(span: &Span) -> Result<(), EventProblem> {
    let valid = |id: &[u8], len: usize| id.len() == len && id.iter().any(|b| *b != 0);
    if span.trace_id.is_empty() && span.span_id.is_empty() {
        return Err(problem(
            "the span has no trace id and no span id; is an OTLP logs or metrics exporter pointed at /v1/traces? Only traces are received here",
        ));
    }
    if !valid(&span.trace_id, 16) {
        return Err(problem(format!(
            "the trace id must be 16 bytes and not all zero, got {} bytes",
            span.trace_id.len()
        )));
    }
    if !valid(&span.span_id, 8) {
        return Err(problem(format!(
            "the span id must be 8 bytes and not all zero, got {} bytes",
            span.span_id.len()
        )));
    }
    Ok(())
}

/// A GenAI inference or embeddings span (§1.4): it names an operation, a provider, a model or
/// usage, and it is not an agent/workflow/tool span that aggregates or makes no model call.
fn is_inference_span(span: &Span, attrs: &Attrs<'_>, operation: Option<&str>) -> bool {
    // LiteLLM v1's raw provider payload, flattened: never usage.
    if span.name == "raw_gen_ai_request" {
        return false;
    }
    if let Some(op) = operation {
        let op = op.to_ascii_lowercase();
        if attrs::NOT_INFERENCE_OPERATIONS.contains(&op.as_str()) || op.contains("memory") {
            return false;
        }
    }
    let span_kind_text = |key: &'static str| {
        attrs
            .first_on_span(&[key])
            .and_then(|(_, v)| attrs::text(v))
            .map(|t| t.to_ascii_uppercase())
    };
    if let Some(kind) = span_kind_text("openinference.span.kind")
        && kind != "LLM"
        && kind != "EMBEDDING"
    {
        return false;
    }
    // OpenLLMetry's workflow/task/agent/tool spans carry no call of their own.
    if span_kind_text("traceloop.span.kind")
        .is_some_and(|k| ["WORKFLOW", "TASK", "AGENT", "TOOL"].contains(&k.as_str()))
    {
        return false;
    }
    operation.is_some()
        || attrs.first_on_span(attrs::PROVIDER).is_some()
        || attrs.first_on_span(attrs::MODEL).is_some()
        || [
            attrs::INPUT_TOKENS,
            attrs::OUTPUT_TOKENS,
            attrs::CACHE_READ_TOKENS,
            attrs::CACHE_WRITE_TOKENS,
            attrs::REASONING_TOKENS,
        ]
        .iter()
        .any(|keys| attrs.first_on_span(keys).is_some())
}

fn build_event(
    span: &Span,
    scope: Option<&InstrumentationScope>,
    attrs: &Attrs<'_>,
    operation: Option<String>,
    now: OffsetDateTime,
) -> Result<MeteredEvent, EventProblem> {
    let trace_id = hex::encode(&span.trace_id);
    let span_id = hex::encode(&span.span_id);

    let (time, latency_ms) = timing(span)?;
    validate_time(time, now)?;

    let model = match attrs.first_on_span(attrs::MODEL) {
        Some((key, v)) => attrs::text(v)
            .map(|m| bounded(key, m, MAX_TEXT_LEN))
            .transpose()?,
        None => None,
    };
    let provider = provider(attrs, model.as_deref())?;
    let raw = raw_tokens(attrs)?;
    // The spec's semantics (input includes the cache, output the reasoning); normalization
    // reads a smaller input as disjoint and flags it (OpenLIT's Anthropic spans).
    let (tokens, token_flags) = match normalize_tokens(&raw, InputSemantics::INCLUSIVE) {
        Some((buckets, flags)) => (Some(buckets), flags),
        None => (None, Default::default()),
    };

    let attribution = Attribution {
        customer: text_of(attrs, attrs::CUSTOMER)?,
        subscriber: text_of(attrs, attrs::SUBSCRIBER)?,
        product: match text_of(attrs, attrs::PRODUCT)? {
            Some(p) => Some(p),
            // The SDK's default service name means "not set".
            None => attrs
                .resource(attrs::SERVICE_NAME)
                .and_then(attrs::text)
                .filter(|name| !name.starts_with("unknown_service"))
                .map(|name| bounded(attrs::SERVICE_NAME, name, MAX_TEXT_LEN))
                .transpose()?,
        },
        agent: text_of(attrs, attrs::AGENT)?,
        workflow: text_of(attrs, attrs::WORKFLOW)?,
        trace_id: Some(trace_id.clone()),
        span_id: Some(span_id.clone()),
    };

    Ok(MeteredEvent {
        id: format!("otlp-{trace_id}-{span_id}"),
        time,
        provider,
        model: model.unwrap_or_else(|| "unknown".to_owned()),
        tokens,
        token_flags,
        quantity: None,
        reported_cost: reported_cost(attrs)?,
        latency_ms,
        status: status(span, attrs),
        api_key: text_of(attrs, attrs::API_KEY)?.map(|k| key_hint(&k)),
        workspace: text_of(attrs, attrs::WORKSPACE)?,
        attribution,
        tags: tags(attrs, scope, operation)?,
        source: EventSource::Otlp,
    })
}

/// The end time is the event's time; start to end is the latency.
fn timing(span: &Span) -> Result<(OffsetDateTime, Option<i64>), EventProblem> {
    let (start, end) = (span.start_time_unix_nano, span.end_time_unix_nano);
    let at = if end != 0 { end } else { start };
    if at == 0 {
        return Err(problem("the span has no start or end time"));
    }
    let time = OffsetDateTime::from_unix_timestamp_nanos(i128::from(at))
        .map_err(|_| problem(format!("the span's time {at} ns is out of range")))?;
    if start == 0 || end == 0 {
        return Ok((time, None));
    }
    if end < start {
        return Err(problem(
            "the span ends before it starts (endTimeUnixNano < startTimeUnixNano)",
        ));
    }
    let ms = i64::try_from((end - start) / 1_000_000).unwrap_or(i64::MAX);
    // A "call" longer than a day is a span around something else: no latency claimed.
    Ok((time, (ms <= MAX_LATENCY_MS).then_some(ms)))
}

fn provider(attrs: &Attrs<'_>, model: Option<&str>) -> Result<String, EventProblem> {
    if let Some((key, v)) = attrs.first_on_span(attrs::PROVIDER)
        && let Some(raw) = attrs::text(v)
    {
        let raw = bounded(key, raw, 64)?;
        // The Vercel AI SDK writes "openai.chat", "anthropic.messages", "amazon-bedrock".
        let raw = if key == "ai.model.provider" {
            raw.split('.').next().unwrap_or_default().to_owned()
        } else {
            raw
        };
        let raw = match raw.to_ascii_lowercase().as_str() {
            "amazon-bedrock" | "amazon_bedrock" => "aws.bedrock".to_owned(),
            "azure" => "azure.ai.openai".to_owned(),
            _ => raw,
        };
        return Ok(normalize_provider(&raw));
    }
    let server = attrs
        .first(&[attrs::SERVER_ADDRESS])
        .and_then(|(_, v)| attrs::text(v))
        .unwrap_or_default()
        .to_ascii_lowercase();
    Ok(infer_provider(&server, model.unwrap_or_default()).to_owned())
}

/// When a span names no provider: the host it called, else the model's family.
fn infer_provider(server: &str, model: &str) -> &'static str {
    let by_host = [
        ("api.openai.com", "openai"),
        (".openai.azure.com", "azure.ai.openai"),
        ("api.anthropic.com", "anthropic"),
        ("bedrock-runtime", "bedrock"),
        ("aiplatform.googleapis.com", "vertex"),
        ("generativelanguage.googleapis.com", "vertex"),
        ("openrouter.ai", "openrouter"),
        ("fal.run", "fal"),
        ("api.x.ai", "x_ai"),
        ("api.mistral.ai", "mistral_ai"),
    ];
    if let Some((_, p)) = by_host.iter().find(|(host, _)| server.contains(host)) {
        return p;
    }
    let model = model.to_ascii_lowercase();
    let by_model = [
        ("gpt-", "openai"),
        ("o1", "openai"),
        ("o3", "openai"),
        ("o4", "openai"),
        ("text-embedding-", "openai"),
        ("claude", "anthropic"),
        ("gemini", "vertex"),
        ("grok", "x_ai"),
        ("mistral", "mistral_ai"),
    ];
    by_model
        .iter()
        .find(|(prefix, _)| model.starts_with(prefix))
        .map_or("unknown", |(_, p)| p)
}

fn raw_tokens(attrs: &Attrs<'_>) -> Result<RawTokens, EventProblem> {
    let read = |keys: &[&'static str]| -> Result<Option<u64>, EventProblem> {
        let Some((key, v)) = attrs.first_on_span(keys) else {
            return Ok(None);
        };
        let n = attrs::count(v).map_err(|bad| bad_value(key, &bad))?;
        let Some(n) = n else { return Ok(None) };
        if n < 0 {
            return Err(problem(format!("{key} must not be negative, got {n}")));
        }
        if n > i128::from(MAX_TOKENS_PER_BUCKET) {
            return Err(problem(format!(
                "{key} = {n} is more than any single call uses (limit {MAX_TOKENS_PER_BUCKET})"
            )));
        }
        Ok(Some(n as u64))
    };
    Ok(RawTokens {
        input: read(attrs::INPUT_TOKENS)?,
        cache_read: read(attrs::CACHE_READ_TOKENS)?,
        cache_write: read(attrs::CACHE_WRITE_TOKENS)?,
        output: read(attrs::OUTPUT_TOKENS)?,
        reasoning: read(attrs::REASONING_TOKENS)?,
        total: read(attrs::TOTAL_TOKENS)?,
    })
}

fn reported_cost(attrs: &Attrs<'_>) -> Result<Option<Money>, EventProblem> {
    let Some((key, v)) = attrs.first_on_span(attrs::COST) else {
        return Ok(None);
    };
    let Some(amount) = attrs::decimal(v).map_err(|bad| bad_value(key, &bad))? else {
        return Ok(None);
    };
    if amount.is_sign_negative() && !amount.is_zero() {
        return Err(problem(format!("{key} must not be negative, got {amount}")));
    }
    if amount.is_zero() && key == attrs::COST_ZERO_MEANS_UNKNOWN {
        return Ok(None);
    }
    Money::from_decimal(amount)
        .map(Some)
        .map_err(|err| problem(format!("{key}: {err}")))
}

/// Span status ERROR (or an `error.type`) is an error; one that names a timeout is a timeout.
fn status(span: &Span, attrs: &Attrs<'_>) -> CallStatus {
    let error_type = attrs
        .first_on_span(&[attrs::ERROR_TYPE])
        .and_then(|(_, v)| attrs::text(v));
    let code = span.status.as_ref().map_or(0, |s| s.code);
    if code != STATUS_CODE_ERROR && error_type.is_none() {
        return CallStatus::Ok;
    }
    let message = span
        .status
        .as_ref()
        .map(|s| s.message.as_str())
        .unwrap_or("");
    let says_timeout = |text: &str| {
        let t = text.to_ascii_lowercase();
        t.contains("timeout")
            || t.contains("timed out")
            || t.contains("time out")
            || t.contains("deadline")
            || t == "408"
            || t == "504"
    };
    if error_type.as_deref().is_some_and(says_timeout) || says_timeout(message) {
        CallStatus::Timeout
    } else {
        CallStatus::Error
    }
}

fn tags(
    attrs: &Attrs<'_>,
    scope: Option<&InstrumentationScope>,
    operation: Option<String>,
) -> Result<Tags, EventProblem> {
    let mut tags = Tags::new();
    let mut put = |name: &str, value: Option<String>| -> Result<(), EventProblem> {
        if let Some(value) = value {
            tags.insert(name.to_owned(), bounded(name, value, MAX_TEXT_LEN)?);
        }
        Ok(())
    };
    put("operation", operation)?;
    put("environment", text_of(attrs, attrs::ENVIRONMENT)?)?;
    put("service_tier", text_of(attrs, attrs::SERVICE_TIER)?)?;
    put(
        "server",
        attrs
            .first_on_span(&[attrs::SERVER_ADDRESS])
            .and_then(|(_, v)| attrs::text(v)),
    )?;
    put(
        "otel_scope",
        scope
            .map(|s| s.name.trim().to_owned())
            .filter(|n| !n.is_empty()),
    )?;
    let mut custom: Vec<(&str, &AnyValue)> = attrs
        .span_entries()
        .filter(|(k, _)| k.starts_with(attrs::TAG_PREFIX))
        .collect();
    custom.sort_by_key(|(k, _)| *k);
    for (key, value) in custom {
        let name = &key[attrs::TAG_PREFIX.len()..];
        if name.is_empty() || name.chars().count() > 64 || name.chars().any(char::is_control) {
            return Err(problem(format!(
                "{} must name a tag of 1 to 64 printable characters",
                key.escape_debug()
            )));
        }
        put(name, attrs::text(value))?;
    }
    if tags.len() > MAX_TAGS {
        return Err(problem(format!(
            "at most {MAX_TAGS} tags per span, got {}",
            tags.len()
        )));
    }
    Ok(tags)
}

fn text_of(attrs: &Attrs<'_>, keys: &[&'static str]) -> Result<Option<String>, EventProblem> {
    match attrs.first(keys) {
        Some((key, v)) => attrs::text(v)
            .map(|t| bounded(key, t, MAX_TEXT_LEN))
            .transpose(),
        None => Ok(None),
    }
}

fn bounded(key: &str, text: String, max: usize) -> Result<String, EventProblem> {
    if text.chars().count() > max {
        return Err(problem(format!("{key} is longer than {max} characters")));
    }
    if text.chars().any(char::is_control) {
        return Err(problem(format!("{key} contains control characters")));
    }
    Ok(text)
}

fn bad_value(key: &str, bad: &BadValue) -> EventProblem {
    match bad {
        BadValue::NotACount(v) => {
            problem(format!("{key} must be a whole number of tokens, got {v}"))
        }
        BadValue::NotADecimal(v) => problem(format!("{key} must be a decimal amount, got {v}")),
    }
}

#[cfg(test)]
mod tests;
