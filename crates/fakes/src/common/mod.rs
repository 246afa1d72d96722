//! Machinery shared by every fake: PRNG, money text, query parsing, cursors, buckets, fault
//! rules, the request log, responses and serving.

pub(crate) mod buckets;
pub(crate) mod cursor;
pub(crate) mod daily;
pub(crate) mod faults;
pub(crate) mod listing;
pub(crate) mod log;
pub(crate) mod money;
pub(crate) mod prng;
pub(crate) mod query;
pub(crate) mod respond;
pub(crate) mod server;
pub(crate) mod time_text;
pub(crate) mod window;
