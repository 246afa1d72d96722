//! The demo's traffic generator: metered AI calls consistent with the provider stand-ins'
//! billed data, sent the way an application would — through the real ingest API
//! (`POST /api/v1/meter/events`) and the OpenTelemetry receiver (`POST /v1/traces`).
//!
//! - [`Traffic`] reads the stand-ins' ground truth (OpenAI and Anthropic usage per day, API key
//!   and model) and turns a large share of it (85–96 % of each day's tokens, per key and model)
//!   into calls with customers, products, agents, workflows, latency and status. Everything is
//!   derived from the seed: the same seed gives the same calls with the same ids, so sending
//!   them again counts nothing twice.
//! - It leaves known gaps, so coverage (metered ÷ billed) has every cause to show: one API key
//!   is never metered, one model is reported under a fine-tuned name the catalog does not
//!   price, a burst of failed and timed-out calls hits one day, and [`STALE_PRICE`] is a
//!   catalog price that no longer matches the bill (the demo adds it to its catalog).
//! - [`Sender`] posts calls as native JSON events in batches, or as OTLP/HTTP protobuf spans
//!   with the GenAI semantic-convention attributes (never a prompt or a completion).
//! - [`live`] keeps sending a few calls every few seconds, timed by the server's clock.
//!
//! Event ids are deterministic (`demo-…` from the seed, the day, the key, the model and the
//! call's number), and an OTLP span's ids are derived from its call's id.

mod attribution;
pub mod live;
mod plan;
mod rng;
mod send;
mod usage;
mod wire;

pub use attribution::{SPIKE, Spike};
pub use plan::{Call, CallStatus, Gaps, KeyRef, Traffic, Work};
pub use send::{Counts, Sender};
pub use usage::Sources;

/// A catalog price that no longer matches what the provider bills: gpt-4o at its launch price
/// ($5 / $15 per 1M tokens) while the stand-in bills `gpt-4o-2024-08-06` at $2.50 / $10. The
/// demo adds it as a user price so metered gpt-4o calls are over-estimated, as a stale entry
/// would make them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StalePrice {
    pub provider: &'static str,
    /// An exact model id, not a glob: `gpt-4o*` would also price gpt-4o-mini.
    pub model: &'static str,
    /// USD per 1M input tokens, as decimal text.
    pub input: &'static str,
    pub cache_read: &'static str,
    pub output: &'static str,
    pub effective_from: &'static str,
    pub note: &'static str,
}

/// The demo's stale catalog price (see [`StalePrice`]).
pub const STALE_PRICE: StalePrice = StalePrice {
    provider: "openai",
    model: "gpt-4o-2024-08-06",
    input: "5",
    cache_read: "2.5",
    output: "15",
    effective_from: "2024-08-06",
    note: "demo: copied from the May 2024 price list and never updated (gpt-4o-2024-08-06 bills $2.50 / $10) — a stale price on purpose",
};

/// What can go wrong while sending traffic.
#[derive(Debug, thiserror::Error)]
pub enum TrafficError {
    #[error("the server at {url} could not be reached: {source}")]
    Unreachable {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("the server answered {status} to {what}: {body}")]
    Refused {
        what: String,
        status: u16,
        body: String,
    },
    #[error("the server's answer to {what} could not be read: {detail}")]
    BadAnswer { what: String, detail: String },
    #[error("cannot build the HTTP client: {0}")]
    Client(#[source] reqwest::Error),
}
