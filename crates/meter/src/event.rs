//! The metered event: one AI call as an application (or its OpenTelemetry spans) reported it,
//! with tokens already normalized into disjoint buckets.

use std::collections::BTreeMap;

use serde::Serialize;
use sha2::{Digest, Sha256};
use spendlens_domain::{Money, Quantity};
use time::OffsetDateTime;

use crate::tokens::{TokenBuckets, TokenFlags};

/// Free-form tags: sorted, so the same tags always hash the same.
pub type Tags = BTreeMap<String, String>;

/// How the call ended. Failed calls are often billed, so they are metered too.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CallStatus {
    Ok,
    Error,
    Timeout,
}

impl CallStatus {
    pub const fn as_str(self) -> &'static str {
        match self {
            CallStatus::Ok => "ok",
            CallStatus::Error => "error",
            CallStatus::Timeout => "timeout",
        }
    }

    pub fn parse(text: &str) -> Option<CallStatus> {
        match text.trim().to_ascii_lowercase().as_str() {
            "ok" | "success" => Some(CallStatus::Ok),
            "error" | "failed" => Some(CallStatus::Error),
            "timeout" => Some(CallStatus::Timeout),
            _ => None,
        }
    }
}

/// Which door the event came in by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EventSource {
    /// `POST /api/v1/meter/events`.
    Native,
    /// An OpenTelemetry GenAI span on `/v1/traces`.
    Otlp,
}

impl EventSource {
    pub const fn as_str(self) -> &'static str {
        match self {
            EventSource::Native => "native",
            EventSource::Otlp => "otlp",
        }
    }
}

/// Who and what a call was for. Every field is optional: unknown is not a value.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Attribution {
    pub customer: Option<String>,
    pub subscriber: Option<String>,
    pub product: Option<String>,
    pub agent: Option<String>,
    pub workflow: Option<String>,
    pub trace_id: Option<String>,
    pub span_id: Option<String>,
}

/// One metered AI call. Prompts and completions have no place here, by design.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MeteredEvent {
    /// The idempotency key: a retried event with the same id is counted once, forever.
    pub id: String,
    #[serde(with = "time::serde::rfc3339")]
    pub time: OffsetDateTime,
    /// Normalized provider name (`openai`, `anthropic`, `bedrock`, `vertex`, … or the sender's
    /// lower-cased name for providers spendlens does not sync).
    pub provider: String,
    pub model: String,
    /// Disjoint token buckets; `None` when the sender reported no token counts at all.
    pub tokens: Option<TokenBuckets>,
    /// What normalization had to decide or correct.
    pub token_flags: TokenFlags,
    /// A non-token quantity (images, seconds, characters, requests) and its unit.
    pub quantity: Option<(Quantity, String)>,
    /// The cost the provider, gateway or SDK reported, exactly as sent (USD).
    pub reported_cost: Option<Money>,
    pub latency_ms: Option<i64>,
    pub status: CallStatus,
    /// The provider API key used: its hint (`sk-…abcd`) or the provider's key id.
    pub api_key: Option<String>,
    pub workspace: Option<String>,
    pub attribution: Attribution,
    pub tags: Tags,
    pub source: EventSource,
}

impl MeteredEvent {
    /// A hash of everything the event says, to tell a replay (same hash) from a different event
    /// reusing an id (a conflict). Every field is length-prefixed so no two events collide by
    /// shifting text between fields.
    pub fn payload_hash(&self) -> String {
        let mut hasher = Sha256::new();
        let mut put = |part: &str| {
            hasher.update((part.len() as u64).to_be_bytes());
            hasher.update(part.as_bytes());
        };
        put(&self.id);
        put(&self.time.unix_timestamp_nanos().to_string());
        put(&self.provider);
        put(&self.model);
        match &self.tokens {
            Some(t) => put(&format!(
                "{},{},{},{},{}",
                t.input_uncached, t.cache_read, t.cache_write, t.output_visible, t.output_reasoning
            )),
            None => put("-"),
        }
        match &self.quantity {
            Some((q, unit)) => put(&format!("{q} {unit}")),
            None => put("-"),
        }
        put(&self
            .reported_cost
            .map_or_else(|| "-".into(), |c| c.nanos().to_string()));
        put(&self
            .latency_ms
            .map_or_else(|| "-".into(), |l| l.to_string()));
        put(self.status.as_str());
        fn opt(v: &Option<String>) -> &str {
            v.as_deref().unwrap_or("\u{0}")
        }
        put(opt(&self.api_key));
        put(opt(&self.workspace));
        let a = &self.attribution;
        for field in [
            &a.customer,
            &a.subscriber,
            &a.product,
            &a.agent,
            &a.workflow,
            &a.trace_id,
            &a.span_id,
        ] {
            put(opt(field));
        }
        put(&self.tags.len().to_string());
        for (key, value) in &self.tags {
            put(key);
            put(value);
        }
        put(self.source.as_str());
        hex::encode(hasher.finalize())
    }

    /// Tokens in, all buckets (`None` when unknown).
    pub fn input_tokens(&self) -> Option<u64> {
        self.tokens.map(|t| t.input_total())
    }

    /// Tokens out, visible plus reasoning (`None` when unknown).
    pub fn output_tokens(&self) -> Option<u64> {
        self.tokens.map(|t| t.output_total())
    }
}
