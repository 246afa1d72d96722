//! Every end-to-end suite of the web crate that can share a process, linked into one test binary
//! (one link instead of two dozen: CI ran out of disk linking them one by one). `otlp_suite` (a
//! process-wide log capture), `meter_suite` (it measures the process's memory), `login_flood` and
//! `browser` stay binaries of their own.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a failing test should stop loudly

// Helpers the suites share, compiled once.
#[path = "alerts/browser.rs"]
mod alerts_browser;
#[path = "alerts/harness.rs"]
mod alerts_harness;
#[path = "reports/harness.rs"]
mod reports_harness;

mod access_suite;
mod alerts_suite;
mod api_suite;
mod attribution_suite;
mod budgets_page_suite;
mod budgets_suite;
mod compliance_suite;
mod connection_services_suite;
mod cost_suite;
mod coverage_suite;
mod coverage_workspace_suite;
mod dashboard_suite;
mod forecast_suite;
mod limits_suite;
mod metrics_suite;
mod observed_prices_suite;
mod people_suite;
mod portal_suite;
mod prices_suite;
mod reports_suite;
mod restate_suite;
mod sdk_keys_page_suite;
mod units_suite;
