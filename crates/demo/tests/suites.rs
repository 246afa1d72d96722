//! Every end-to-end suite of the demo crate, linked into one test binary.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a failing test should stop loudly

// Helpers the suites share, compiled once.
mod focus_support;

mod demo_traffic_suite;
mod focus_corrections_suite;
mod focus_suite;
