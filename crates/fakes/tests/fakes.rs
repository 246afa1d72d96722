//! Every fake's test against its provider's documented wire format, linked into one test binary.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a failing test should stop loudly

// Helpers the suites share, compiled once.
mod support;

mod anthropic;
mod azure;
mod bedrock;
mod fal;
mod faults;
mod litellm;
mod openai;
mod openrouter;
mod piapi;
mod runway;
mod vertex;
