//! The query layer's end-to-end tests over a real store, one binary (SQLite, and PostgreSQL
//! when `SPENDLENS_TEST_DATABASE_URL` is set).

mod common;

mod bill_cache;
mod coverage_memory;
mod keys_chart;
mod metered_keep;
