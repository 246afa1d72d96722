//! Metered AI calls: one [`MeteredEvent`] per call an application reports, the validation of
//! the native JSON event (every problem comes back as a message saying what to fix), and the
//! normalization of each emitter's token counts into disjoint buckets (METERING.md §3), so a
//! cached or reasoning token is never counted twice.
//!
//! Architecture invariant: no I/O, no clock (the present instant is a parameter), no HTTP, no SQL.

pub mod cost;
pub mod event;
pub mod otlp;
pub mod parse;
pub mod provider;
pub mod tokens;

pub use cost::{CostSource, CostSplit, EventCost, PricedEvent, cost_event};
pub use event::{Attribution, CallStatus, EventSource, MeteredEvent, Tags};
pub use parse::{
    BatchProblem, EventProblem, parse_event, parse_event_value, parse_json_batch,
    parse_ndjson_batch, validate_time,
};
pub use provider::normalize_provider;
pub use tokens::{InputSemantics, RawTokens, TokenBuckets, TokenFlags, normalize_tokens};
