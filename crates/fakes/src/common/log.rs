//! The log of requests a fake received: every request's path and raw query string, in order,
//! recorded before authentication, so tests can count calls and read the parameters sent.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

/// One request as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    /// The path, e.g. `/v1/organization/usage/completions`.
    pub path: String,
    /// The raw (still percent-encoded) query string, empty if none.
    pub query: String,
    /// The request body as text (JSON for POST endpoints such as Runway's usage), empty if none.
    pub body: String,
}

impl RecordedRequest {
    /// The decoded query pairs, repeated keys kept in order (`group_by[]` stays `group_by[]`).
    pub fn params(&self) -> Vec<(String, String)> {
        form_urlencoded::parse(self.query.as_bytes())
            .into_owned()
            .collect()
    }

    /// The first decoded value of `key`.
    pub fn param(&self, key: &str) -> Option<String> {
        self.params()
            .into_iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }
}

/// Every request a running fake received. Cloning shares it.
#[derive(Debug, Clone, Default)]
pub struct RequestLog {
    requests: Arc<Mutex<Vec<RecordedRequest>>>,
}

impl RequestLog {
    fn lock(&self) -> MutexGuard<'_, Vec<RecordedRequest>> {
        self.requests.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn record(&self, path: &str, query: Option<&str>) {
        self.record_with_body(path, query, "");
    }

    /// Records a request that carries a body (kept as text, lossily decoded).
    pub(crate) fn record_with_body(&self, path: &str, query: Option<&str>, body: &str) {
        self.lock().push(RecordedRequest {
            path: path.to_owned(),
            query: query.unwrap_or_default().to_owned(),
            body: body.to_owned(),
        });
    }

    /// Every request so far, oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.lock().clone()
    }

    /// The requests whose path contains `path_contains`.
    pub fn requests_to(&self, path_contains: &str) -> Vec<RecordedRequest> {
        self.lock()
            .iter()
            .filter(|r| r.path.contains(path_contains))
            .cloned()
            .collect()
    }

    /// Number of requests per exact path.
    pub fn served(&self) -> BTreeMap<String, u64> {
        let mut counts = BTreeMap::new();
        for r in self.lock().iter() {
            *counts.entry(r.path.clone()).or_insert(0) += 1;
        }
        counts
    }

    /// Number of requests whose path contains `path_contains`.
    pub fn count(&self, path_contains: &str) -> u64 {
        self.lock()
            .iter()
            .filter(|r| r.path.contains(path_contains))
            .count() as u64
    }

    /// Forgets every request recorded so far.
    pub fn clear(&self) {
        self.lock().clear();
    }
}
