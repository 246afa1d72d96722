//! Every connector's test against its provider's fake, linked into one test binary.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a failing test should stop loudly

// Helpers the suites share, compiled once.
mod common;

mod anthropic;
mod azure;
mod bedrock;
mod fal;
mod litellm;
mod openai;
mod openrouter;
mod piapi;
mod runway;
mod vertex;
mod vertex_services;
