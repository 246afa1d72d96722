//! Every end-to-end suite of the store crate, linked into one test binary; `disk_full` (it mounts a
//! tmpfs) and `schema_parity` stay binaries of their own.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a failing test should stop loudly

mod meter_attribution_suite;
mod meter_coverage_suite;
mod meter_spend_days_suite;
mod period_memo_suite;
mod prices_suite;
mod rollup_suite;
mod store_suite;
mod support;
