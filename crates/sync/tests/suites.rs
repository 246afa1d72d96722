//! Every end-to-end suite of the sync crate, linked into one test binary.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a failing test should stop loudly

mod missing_spend_suite;
mod new_connectors_suite;
mod sync_suite;
mod vertex_services_suite;
