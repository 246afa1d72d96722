//! The native JSON event (`POST /api/v1/meter/events`) → [`MeteredEvent`], with one message per
//! problem saying what to fix. Nothing here trusts the sender: counts are bounded, times are
//! bounded, strings are bounded, and fields that carry prompts or completions are refused.

use serde_json::{Map, Value};
use spendlens_domain::credential::hint_of;
use spendlens_domain::{Money, Quantity};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

use crate::event::{Attribution, CallStatus, EventSource, MeteredEvent, Tags};
use crate::provider::normalize_provider;
use crate::tokens::{InputSemantics, RawTokens, normalize_tokens};

/// More tokens than any model takes or gives in one call: a count above this is a bug in the
/// sender, not usage.
pub const MAX_TOKENS_PER_BUCKET: u64 = 100_000_000;
/// The longest call worth believing: one day.
pub const MAX_LATENCY_MS: i64 = 86_400_000;
/// How far ahead of the server's clock an event may be (clock skew).
pub const MAX_FUTURE: Duration = Duration::minutes(5);
/// Events before this are refused: there was no metered AI spend to speak of.
pub const EARLIEST_YEAR: i32 = 2020;
pub const MAX_ID_LEN: usize = 255;
pub const MAX_TEXT_LEN: usize = 256;
pub const MAX_TAGS: usize = 50;

/// Why one event was refused, as a message for the sender.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct EventProblem(pub String);

fn problem(message: impl Into<String>) -> EventProblem {
    EventProblem(message.into())
}

const KNOWN_FIELDS: &[&str] = &[
    "id",
    "time",
    "provider",
    "model",
    "tokens",
    "input_includes_cache",
    "output_includes_reasoning",
    "quantity",
    "unit",
    "cost",
    "latency_ms",
    "status",
    "api_key",
    "workspace",
    "customer",
    "subscriber",
    "product",
    "agent",
    "workflow",
    "trace_id",
    "span_id",
    "tags",
];

/// Fields that would carry the content of a call. spendlens meters; it never stores content.
const CONTENT_FIELDS: &[&str] = &[
    "prompt",
    "prompts",
    "completion",
    "completions",
    "messages",
    "input_messages",
    "output_messages",
    "response",
    "request",
    "content",
];

const TOKEN_FIELDS: &[&str] = &[
    "input",
    "cache_read",
    "cache_write",
    "output",
    "reasoning",
    "total",
];

/// Parses one event from its JSON text.
pub fn parse_event(text: &str, now: OffsetDateTime) -> Result<MeteredEvent, EventProblem> {
    let value: Value =
        serde_json::from_str(text).map_err(|err| problem(format!("not valid JSON: {err}")))?;
    parse_event_value(&value, now)
}

/// Parses one event from a JSON value; `now` is the server's present instant.
pub fn parse_event_value(value: &Value, now: OffsetDateTime) -> Result<MeteredEvent, EventProblem> {
    let Value::Object(obj) = value else {
        return Err(problem(format!(
            "an event must be a JSON object, got {}",
            kind(value)
        )));
    };
    for key in obj.keys() {
        if CONTENT_FIELDS.contains(&key.as_str()) {
            return Err(problem(format!(
                "field \"{key}\" looks like call content; spendlens never stores prompts or completions — remove it"
            )));
        }
        if !KNOWN_FIELDS.contains(&key.as_str()) {
            return Err(problem(format!(
                "unknown field \"{key}\"; put custom values in \"tags\" (known fields: {})",
                KNOWN_FIELDS.join(", ")
            )));
        }
    }
    let id = required_text(obj, "id", MAX_ID_LEN)?;
    let time_text = required_text(obj, "time", 64)?;
    let time = OffsetDateTime::parse(&time_text, &Rfc3339).map_err(|_| {
        problem(format!(
            "\"time\" must be an RFC 3339 timestamp such as 2026-12-01T12:00:00Z, got \"{time_text}\""
        ))
    })?;
    validate_time(time, now)?;
    let provider = normalize_provider(&required_text(obj, "provider", 64)?);
    let model = required_text(obj, "model", MAX_TEXT_LEN)?;

    let raw = match obj.get("tokens") {
        None | Some(Value::Null) => RawTokens::default(),
        Some(Value::Object(tokens)) => raw_tokens(tokens)?,
        Some(other) => {
            return Err(problem(format!(
                "\"tokens\" must be an object like {{\"input\": 1200, \"output\": 85}}, got {}",
                kind(other)
            )));
        }
    };
    let mut semantics = InputSemantics::for_provider(&provider);
    if let Some(flag) = opt_bool(obj, "input_includes_cache")? {
        semantics.input_includes_cache = flag;
    }
    if let Some(flag) = opt_bool(obj, "output_includes_reasoning")? {
        semantics.output_includes_reasoning = flag;
    }
    let (tokens, token_flags) = match normalize_tokens(&raw, semantics) {
        Some((buckets, flags)) => (Some(buckets), flags),
        None => (None, Default::default()),
    };

    let quantity = match (obj.get("quantity"), opt_text(obj, "unit", 32)?) {
        (None | Some(Value::Null), None) => None,
        (Some(q), Some(unit)) if !q.is_null() => {
            let amount = decimal(q, "quantity")?;
            if amount.is_sign_negative() {
                return Err(problem("\"quantity\" must not be negative"));
            }
            let quantity = Quantity::from_decimal(amount)
                .map_err(|err| problem(format!("\"quantity\": {err}")))?;
            Some((quantity, unit.to_ascii_lowercase()))
        }
        _ => {
            return Err(problem(
                "\"quantity\" and \"unit\" go together, e.g. \"quantity\": 3, \"unit\": \"images\"",
            ));
        }
    };
    let reported_cost = match obj.get("cost") {
        None | Some(Value::Null) => None,
        Some(v) => {
            let amount = decimal(v, "cost")?;
            if amount.is_sign_negative() {
                return Err(problem("\"cost\" must not be negative"));
            }
            Some(Money::from_decimal(amount).map_err(|err| problem(format!("\"cost\": {err}")))?)
        }
    };
    let latency_ms = match obj.get("latency_ms") {
        None | Some(Value::Null) => None,
        Some(v) => {
            let ms = v.as_i64().ok_or_else(|| {
                problem(format!(
                    "\"latency_ms\" must be a whole number of milliseconds, got {}",
                    shown(v)
                ))
            })?;
            if !(0..=MAX_LATENCY_MS).contains(&ms) {
                return Err(problem(format!(
                    "\"latency_ms\" must be between 0 and {MAX_LATENCY_MS} (one day), got {ms}"
                )));
            }
            Some(ms)
        }
    };
    let status = match opt_text(obj, "status", 16)? {
        None => CallStatus::Ok,
        Some(text) => CallStatus::parse(&text).ok_or_else(|| {
            problem(format!(
                "\"status\" must be \"ok\", \"error\" or \"timeout\", got \"{text}\""
            ))
        })?,
    };
    let api_key = opt_text(obj, "api_key", 200)?.map(|key| key_hint(&key));
    let attribution = Attribution {
        customer: opt_text(obj, "customer", MAX_TEXT_LEN)?,
        subscriber: opt_text(obj, "subscriber", MAX_TEXT_LEN)?,
        product: opt_text(obj, "product", MAX_TEXT_LEN)?,
        agent: opt_text(obj, "agent", MAX_TEXT_LEN)?,
        workflow: opt_text(obj, "workflow", MAX_TEXT_LEN)?,
        trace_id: opt_text(obj, "trace_id", 64)?,
        span_id: opt_text(obj, "span_id", 64)?,
    };
    let tags = match obj.get("tags") {
        None | Some(Value::Null) => Tags::new(),
        Some(Value::Object(map)) => tags(map)?,
        Some(other) => {
            return Err(problem(format!(
                "\"tags\" must be an object of strings like {{\"env\": \"prod\"}}, got {}",
                kind(other)
            )));
        }
    };
    Ok(MeteredEvent {
        id,
        time,
        provider,
        model,
        tokens,
        token_flags,
        quantity,
        reported_cost,
        latency_ms,
        status,
        api_key,
        workspace: opt_text(obj, "workspace", MAX_TEXT_LEN)?,
        attribution,
        tags,
        source: EventSource::Native,
    })
}

/// Refuses times more than five minutes ahead of `now` or before 2020.
pub fn validate_time(time: OffsetDateTime, now: OffsetDateTime) -> Result<(), EventProblem> {
    if time > now + MAX_FUTURE {
        return Err(problem(format!(
            "\"time\" {time} is more than 5 minutes in the future (server time {now}); send the time the call happened, in UTC or with its offset"
        )));
    }
    if time.year() < EARLIEST_YEAR {
        return Err(problem(format!(
            "\"time\" {time} is before {EARLIEST_YEAR}; send the time the call happened (RFC 3339, e.g. 2026-12-01T12:00:00Z)"
        )));
    }
    Ok(())
}

/// A provider key as a hint: a full secret sent by mistake is cut down before it goes anywhere.
/// A provider's key *id* is kept whole: it names the key and unlocks nothing (Anthropic's
/// `apikey_01…` ids are 31 characters).
pub(crate) fn key_hint(key: &str) -> String {
    if key.contains('…') || key.contains("...") || key.chars().count() <= 24 || is_key_id(key) {
        return key.to_owned();
    }
    let prefix_len = key
        .char_indices()
        .take(16)
        .filter(|(_, c)| *c == '-' || *c == '_')
        .map(|(i, _)| i + 1)
        .last()
        .unwrap_or(0);
    hint_of(key, prefix_len)
}

/// An Anthropic API key id (`apikey_01` + base58), which is not a secret.
fn is_key_id(key: &str) -> bool {
    key.strip_prefix("apikey_")
        .is_some_and(|rest| rest.len() <= 40 && rest.chars().all(|c| c.is_ascii_alphanumeric()))
}

fn raw_tokens(tokens: &Map<String, Value>) -> Result<RawTokens, EventProblem> {
    for key in tokens.keys() {
        if !TOKEN_FIELDS.contains(&key.as_str()) {
            return Err(problem(format!(
                "unknown token count \"tokens.{key}\"; expected {}",
                TOKEN_FIELDS.join(", ")
            )));
        }
    }
    let count = |name: &str| -> Result<Option<u64>, EventProblem> {
        match tokens.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => {
                let Some(n) = v.as_i64().or_else(|| v.as_u64().map(|u| u as i64)) else {
                    return Err(problem(format!(
                        "\"tokens.{name}\" must be a whole number, got {}",
                        shown(v)
                    )));
                };
                if n < 0 {
                    return Err(problem(format!(
                        "\"tokens.{name}\" must not be negative, got {n}"
                    )));
                }
                let n = n as u64;
                if n > MAX_TOKENS_PER_BUCKET {
                    return Err(problem(format!(
                        "\"tokens.{name}\" = {n} is more than any single call uses (limit {MAX_TOKENS_PER_BUCKET}); send one event per call"
                    )));
                }
                Ok(Some(n))
            }
        }
    };
    Ok(RawTokens {
        input: count("input")?,
        cache_read: count("cache_read")?,
        cache_write: count("cache_write")?,
        output: count("output")?,
        reasoning: count("reasoning")?,
        total: count("total")?,
    })
}

fn tags(map: &Map<String, Value>) -> Result<Tags, EventProblem> {
    if map.len() > MAX_TAGS {
        return Err(problem(format!(
            "at most {MAX_TAGS} tags per event, got {}",
            map.len()
        )));
    }
    let mut out = Tags::new();
    for (key, value) in map {
        if key.is_empty() || key.chars().count() > 64 || key.chars().any(char::is_control) {
            return Err(problem(format!(
                "tag names must be 1 to 64 printable characters, got \"{}\"",
                key.escape_debug()
            )));
        }
        let text = match value {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            other => {
                return Err(problem(format!(
                    "tag \"{key}\" must be a string, number or boolean, got {}",
                    kind(other)
                )));
            }
        };
        check_text(&format!("tags.{key}"), &text, MAX_TEXT_LEN)?;
        out.insert(key.clone(), text);
    }
    Ok(out)
}

fn decimal(value: &Value, name: &str) -> Result<rust_decimal::Decimal, EventProblem> {
    let text = match value {
        Value::String(s) => s.trim().to_owned(),
        // A JSON number keeps the digits it was written with (serde_json prints the shortest
        // text that reads back as the same number).
        Value::Number(n) => n.to_string(),
        other => {
            return Err(problem(format!(
                "\"{name}\" must be a decimal number or string like \"0.0123\", got {}",
                kind(other)
            )));
        }
    };
    spendlens_domain::money::parse_decimal(&text).map_err(|_| {
        problem(format!(
            "\"{name}\" must be a decimal number like \"0.0123\", got \"{text}\""
        ))
    })
}

fn required_text(obj: &Map<String, Value>, name: &str, max: usize) -> Result<String, EventProblem> {
    opt_text(obj, name, max)?.ok_or_else(|| problem(format!("\"{name}\" is required")))
}

fn opt_text(
    obj: &Map<String, Value>,
    name: &str,
    max: usize,
) -> Result<Option<String>, EventProblem> {
    match obj.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => {
            let s = s.trim();
            if s.is_empty() {
                return Ok(None);
            }
            check_text(name, s, max)?;
            Ok(Some(s.to_owned()))
        }
        Some(other) => Err(problem(format!(
            "\"{name}\" must be a string, got {}",
            kind(other)
        ))),
    }
}

fn check_text(name: &str, text: &str, max: usize) -> Result<(), EventProblem> {
    if text.chars().count() > max {
        return Err(problem(format!(
            "\"{name}\" is longer than {max} characters"
        )));
    }
    if text.chars().any(char::is_control) {
        return Err(problem(format!(
            "\"{name}\" contains control characters; send plain text"
        )));
    }
    Ok(())
}

fn opt_bool(obj: &Map<String, Value>, name: &str) -> Result<Option<bool>, EventProblem> {
    match obj.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(other) => Err(problem(format!(
            "\"{name}\" must be true or false, got {}",
            kind(other)
        ))),
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn shown(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() > 40 {
        format!("{}…", text.chars().take(40).collect::<String>())
    } else {
        text
    }
}

#[cfg(test)]
mod tests;
