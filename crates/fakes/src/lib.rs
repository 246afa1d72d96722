//! Local, in-process stand-ins for AI providers' billing APIs, written from the provider
//! documents in `shared/providers/` — never from spendlens's connectors, on which this crate does
//! not depend.
//!
//! Each fake speaks the documented wire format (paths, auth headers, query parameters and
//! their array spelling, bucket and cursor pagination with documented limits, error envelopes,
//! 429 with `Retry-After`), serves deterministic data generated from a seed, exposes the exact
//! figures it serves as ground truth for assertions, and takes fault rules while it runs.
//!
//! - [`openai::OpenAiFake`]: `/v1/organization/{usage/*, costs, projects, projects/*/api_keys}`.
//! - [`anthropic::AnthropicFake`]: `/v1/organizations/{usage_report/messages, cost_report,
//!   workspaces, api_keys}`.
//!
//! Shared machinery: [`Faults`]/[`FaultRule`]/[`Fault`], the [`RequestLog`] and
//! [`RunningFake`], the handle of a fake serving on a local port.

pub mod anthropic;
pub mod azure;
pub mod bedrock;
mod common;
pub mod fal;
pub mod litellm;
pub mod openai;
pub mod openrouter;
pub mod piapi;
pub mod runway;
pub mod vertex;

pub use common::faults::{Fault, FaultRule, Faults};
pub use common::log::{RecordedRequest, RequestLog};
pub use common::server::RunningFake;

/// The last day of data when a fake is not given `today` (the fakes never read the clock).
pub const DEFAULT_TODAY: time::Date = time::macros::date!(2026 - 01 - 31);

/// The number of days of data when a fake is not given `days`.
pub const DEFAULT_DAYS: u32 = 120;
