//! The native JSON event (`POST /api/v1/meter/events`) → [`MeteredEvent`], with one message per
//! problem saying what to fix. Nothing here trusts the sender: counts are bounded, times are
//! bounded, strings are bounded, and fields that carry prompts or completions are refused.

use std::borrow::Cow;

use serde_json::Value;
use serde_json::value::RawValue;
use spendlens_domain::credential::hint_of;
use spendlens_domain::{Money, Quantity};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

use crate::event::{Attribution, CallStatus, EventSource, MeteredEvent, Tags};
use crate::provider::normalize_provider;
use crate::tokens::{InputSemantics, RawTokens, normalize_tokens};

mod raw;

use raw::{RawEvent, RawObject};

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
    let event =
        raw::event_of(text.as_bytes()).map_err(|err| problem(format!("not valid JSON: {err}")))?;
    event_from(&event, now)
}

/// Parses one event from a JSON value; `now` is the server's present instant.
pub fn parse_event_value(value: &Value, now: OffsetDateTime) -> Result<MeteredEvent, EventProblem> {
    parse_event(&value.to_string(), now)
}

/// Why a whole batch could not be read (one bad event only spoils itself).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BatchProblem {
    #[error("the body is not valid JSON ({0})")]
    NotJson(String),
    #[error("the body must be a JSON array of events (or one event object)")]
    NotABatch,
    #[error("the batch has {count} events; at most {max} are taken per request — split it")]
    TooMany { count: usize, max: usize },
}

/// The events of a JSON body (an array of events, or one event object), each parsed on its own,
/// in one pass over the body: no event is built as a `Value` tree first.
pub fn parse_json_batch(
    body: &[u8],
    max_events: usize,
    now: OffsetDateTime,
) -> Result<Vec<Result<MeteredEvent, EventProblem>>, BatchProblem> {
    let batch = raw::batch_of(body, max_events)
        .map_err(|err| BatchProblem::NotJson(err.to_string()))?
        .ok_or(BatchProblem::NotABatch)?;
    if batch.count > max_events {
        return Err(BatchProblem::TooMany {
            count: batch.count,
            max: max_events,
        });
    }
    Ok(batch.events.iter().map(|e| event_from(e, now)).collect())
}

/// The events of an NDJSON body, one per non-blank line; a line that is not JSON fails alone,
/// with its line number.
pub fn parse_ndjson_batch(
    body: &[u8],
    max_events: usize,
    now: OffsetDateTime,
) -> Result<Vec<Result<MeteredEvent, EventProblem>>, BatchProblem> {
    let lines: Vec<(usize, &[u8])> = body
        .split(|b| *b == b'\n')
        .enumerate()
        .filter(|(_, line)| !line.trim_ascii().is_empty())
        .collect();
    if lines.len() > max_events {
        return Err(BatchProblem::TooMany {
            count: lines.len(),
            max: max_events,
        });
    }
    Ok(lines
        .into_iter()
        .map(|(number, line)| {
            let event = raw::event_of(line)
                .map_err(|err| problem(format!("line {}: not valid JSON: {err}", number + 1)))?;
            event_from(&event, now)
        })
        .collect())
}

/// Parses one event read from the body.
fn event_from(event: &RawEvent<'_>, now: OffsetDateTime) -> Result<MeteredEvent, EventProblem> {
    let obj = match event {
        RawEvent::Object(obj) => obj,
        RawEvent::Other(kind) => {
            return Err(problem(format!(
                "an event must be a JSON object, got {kind}"
            )));
        }
    };
    for key in obj.keys() {
        if CONTENT_FIELDS.contains(&key) {
            return Err(problem(format!(
                "field \"{key}\" looks like call content; spendlens never stores prompts or completions — remove it"
            )));
        }
        if !KNOWN_FIELDS.contains(&key) {
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

    let raw = match present(obj, "tokens") {
        None => RawTokens::default(),
        Some(v) => match raw::object_of(v) {
            Some(tokens) => raw_tokens(&tokens)?,
            None => {
                return Err(problem(format!(
                    "\"tokens\" must be an object like {{\"input\": 1200, \"output\": 85}}, got {}",
                    raw::kind(v)
                )));
            }
        },
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

    let quantity = match (present(obj, "quantity"), opt_text(obj, "unit", 32)?) {
        (None, None) => None,
        (Some(q), Some(unit)) => {
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
    let reported_cost = match present(obj, "cost") {
        None => None,
        Some(v) => {
            let amount = decimal(v, "cost")?;
            if amount.is_sign_negative() {
                return Err(problem("\"cost\" must not be negative"));
            }
            Some(Money::from_decimal(amount).map_err(|err| problem(format!("\"cost\": {err}")))?)
        }
    };
    let latency_ms = match present(obj, "latency_ms") {
        None => None,
        Some(v) => {
            let ms = v.get().parse::<i64>().map_err(|_| {
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
    let tags = match present(obj, "tags") {
        None => Tags::new(),
        Some(v) => match raw::object_of(v) {
            Some(map) => tags(&map)?,
            None => {
                return Err(problem(format!(
                    "\"tags\" must be an object of strings like {{\"env\": \"prod\"}}, got {}",
                    raw::kind(v)
                )));
            }
        },
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

fn raw_tokens(tokens: &RawObject<'_>) -> Result<RawTokens, EventProblem> {
    for key in tokens.keys() {
        if !TOKEN_FIELDS.contains(&key) {
            return Err(problem(format!(
                "unknown token count \"tokens.{key}\"; expected {}",
                TOKEN_FIELDS.join(", ")
            )));
        }
    }
    let count = |name: &str| -> Result<Option<u64>, EventProblem> {
        let Some(v) = present(tokens, name) else {
            return Ok(None);
        };
        let n = match v.get().parse::<u64>() {
            Ok(n) => n,
            Err(_) => {
                return Err(match v.get().parse::<i64>() {
                    Ok(n) => problem(format!("\"tokens.{name}\" must not be negative, got {n}")),
                    Err(_) => problem(format!(
                        "\"tokens.{name}\" must be a whole number, got {}",
                        shown(v)
                    )),
                });
            }
        };
        if n > MAX_TOKENS_PER_BUCKET {
            return Err(problem(format!(
                "\"tokens.{name}\" = {n} is more than any single call uses (limit {MAX_TOKENS_PER_BUCKET}); send one event per call"
            )));
        }
        Ok(Some(n))
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

fn tags(map: &RawObject<'_>) -> Result<Tags, EventProblem> {
    if map.len() > MAX_TAGS {
        return Err(problem(format!(
            "at most {MAX_TAGS} tags per event, got {}",
            map.len()
        )));
    }
    let mut out = Tags::new();
    for (key, value) in map.iter() {
        if key.is_empty() || key.chars().count() > 64 || key.chars().any(char::is_control) {
            return Err(problem(format!(
                "tag names must be 1 to 64 printable characters, got \"{}\"",
                key.escape_debug()
            )));
        }
        let text = match raw::kind(value) {
            "a string" => string_of(value).into_owned(),
            "a number" => value_of(value).to_string(),
            "a boolean" => value.get().to_owned(),
            other => {
                return Err(problem(format!(
                    "tag \"{key}\" must be a string, number or boolean, got {other}"
                )));
            }
        };
        check_text(&format!("tags.{key}"), &text, MAX_TEXT_LEN)?;
        out.insert(key.to_owned(), text);
    }
    Ok(out)
}

fn decimal(value: &RawValue, name: &str) -> Result<rust_decimal::Decimal, EventProblem> {
    let text = match raw::kind(value) {
        "a string" => string_of(value).trim().to_owned(),
        // A JSON number keeps the digits it was written with (serde_json prints the shortest
        // text that reads back as the same number).
        "a number" => value_of(value).to_string(),
        other => {
            return Err(problem(format!(
                "\"{name}\" must be a decimal number or string like \"0.0123\", got {other}"
            )));
        }
    };
    spendlens_domain::money::parse_decimal(&text).map_err(|_| {
        problem(format!(
            "\"{name}\" must be a decimal number like \"0.0123\", got \"{text}\""
        ))
    })
}

/// The value of `name` unless it is absent or `null`.
fn present<'a>(obj: &RawObject<'a>, name: &str) -> Option<&'a RawValue> {
    obj.get(name).filter(|v| !raw::is_null(v))
}

/// A JSON string's text, borrowed when it holds no escapes (serde_json has checked it).
fn string_of(value: &RawValue) -> Cow<'_, str> {
    let text = value.get();
    let inner = &text[1..text.len() - 1];
    if inner.contains('\\') {
        Cow::Owned(serde_json::from_str(text).unwrap_or_default())
    } else {
        Cow::Borrowed(inner)
    }
}

/// A raw value as a `Value`, for the wording of a message.
fn value_of(value: &RawValue) -> Value {
    serde_json::from_str(value.get()).unwrap_or(Value::Null)
}

fn required_text(obj: &RawObject<'_>, name: &str, max: usize) -> Result<String, EventProblem> {
    opt_text(obj, name, max)?.ok_or_else(|| problem(format!("\"{name}\" is required")))
}

fn opt_text(obj: &RawObject<'_>, name: &str, max: usize) -> Result<Option<String>, EventProblem> {
    let Some(v) = present(obj, name) else {
        return Ok(None);
    };
    if raw::kind(v) != "a string" {
        return Err(problem(format!(
            "\"{name}\" must be a string, got {}",
            raw::kind(v)
        )));
    }
    let text = string_of(v);
    let s = text.trim();
    if s.is_empty() {
        return Ok(None);
    }
    check_text(name, s, max)?;
    Ok(Some(s.to_owned()))
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

fn opt_bool(obj: &RawObject<'_>, name: &str) -> Result<Option<bool>, EventProblem> {
    let Some(v) = present(obj, name) else {
        return Ok(None);
    };
    match v.get() {
        "true" => Ok(Some(true)),
        "false" => Ok(Some(false)),
        _ => Err(problem(format!(
            "\"{name}\" must be true or false, got {}",
            raw::kind(v)
        ))),
    }
}

fn shown(value: &RawValue) -> String {
    let text = value_of(value).to_string();
    if text.chars().count() > 40 {
        format!("{}…", text.chars().take(40).collect::<String>())
    } else {
        text
    }
}

#[cfg(test)]
mod tests;
