//! Fault injection, shared by every fake: rules that a test adds (also while the server runs)
//! and that the next matching requests consume.
//!
//! A fault is checked after the request was authenticated and its parameters validated, so a
//! fault never hides a 401 or a 400; the first rule that matches and still has uses left wins.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

/// What goes wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// HTTP 429 with `Retry-After: <secs>` and the provider's rate-limit error body.
    RateLimited { retry_after_secs: u64 },
    /// This status (500, 502, 503, 529, …) with the provider's error envelope.
    ServerError(u16),
    /// HTTP 200 whose body is not JSON.
    Malformed,
    /// HTTP 200 with the first half of the real body.
    Truncated,
    /// HTTP 200 with the real data, but the cursor does not advance: `next_page` equals the cursor
    /// that was sent (on the first page, a cursor that leads back to the first page); on the
    /// list endpoints `last_id` equals the `after`/`after_id` that was sent (null on the first
    /// page) while `has_more` stays true.
    RepeatPage,
    /// The real response, after this delay (for client timeouts).
    Delay(Duration),
    /// HTTP 200 whose results lack a required field (see each provider's module for which).
    MissingField,
    /// Offset pages only (LiteLLM's activity): a row was written at the head of the listing
    /// after page 1 was read, so every later page starts one row earlier — the last row of
    /// one page comes back as the first row of the next — and the listing is one row longer.
    ShiftedPage,
}

/// When a fault fires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaultRule {
    /// Only requests whose path contains this text (e.g. `"/usage/completions"`); `None`: any.
    pub path_contains: Option<String>,
    /// Only the N-th page of a listing, 1-based: page 1 is the request without a cursor, page 2
    /// the one sent with the first page's cursor, and so on; `None`: any page.
    pub page: Option<u32>,
    /// How many matching requests it affects before it is used up (`u32::MAX`: practically always).
    pub times: u32,
    pub fault: Fault,
}

impl FaultRule {
    /// Any path, any page, once.
    pub fn new(fault: Fault) -> Self {
        Self {
            path_contains: None,
            page: None,
            times: 1,
            fault,
        }
    }

    pub fn on_path(mut self, path_contains: impl Into<String>) -> Self {
        self.path_contains = Some(path_contains.into());
        self
    }

    pub fn on_page(mut self, page: u32) -> Self {
        self.page = Some(page);
        self
    }

    pub fn times(mut self, times: u32) -> Self {
        self.times = times;
        self
    }

    fn matches(&self, path: &str, page: u32) -> bool {
        self.path_contains
            .as_deref()
            .is_none_or(|needle| path.contains(needle))
            && self.page.is_none_or(|p| p == page)
    }
}

#[derive(Debug)]
struct ActiveRule {
    rule: FaultRule,
    remaining: u32,
}

#[derive(Debug, Default)]
struct FaultState {
    rules: Vec<ActiveRule>,
    fired: u64,
}

/// The fault rules of one running fake. Cloning shares them.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    state: Arc<Mutex<FaultState>>,
}

impl Faults {
    fn lock(&self) -> MutexGuard<'_, FaultState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Adds a rule after the existing ones.
    pub fn add(&self, rule: FaultRule) {
        let remaining = rule.times;
        self.lock().rules.push(ActiveRule { rule, remaining });
    }

    /// Removes every rule (the count of fired faults stays).
    pub fn clear(&self) {
        self.lock().rules.clear();
    }

    /// How many faults have fired so far.
    pub fn fired(&self) -> u64 {
        self.lock().fired
    }

    /// How many uses the rules have left in total.
    pub fn remaining(&self) -> u64 {
        self.lock()
            .rules
            .iter()
            .map(|r| u64::from(r.remaining))
            .sum()
    }

    /// Consumes one use of the first matching rule.
    pub(crate) fn take(&self, path: &str, page: u32) -> Option<Fault> {
        let mut state = self.lock();
        let fault = state
            .rules
            .iter_mut()
            .find(|r| r.remaining > 0 && r.rule.matches(path, page))
            .map(|r| {
                r.remaining -= 1;
                r.rule.fault.clone()
            });
        if fault.is_some() {
            state.fired += 1;
        }
        fault
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rule_fires_as_many_times_as_asked_on_matching_requests_only() {
        let faults = Faults::default();
        faults.add(
            FaultRule::new(Fault::ServerError(503))
                .on_path("/costs")
                .on_page(2)
                .times(2),
        );
        assert_eq!(faults.take("/v1/organization/costs", 1), None);
        assert_eq!(faults.take("/v1/organization/projects", 2), None);
        assert_eq!(
            faults.take("/v1/organization/costs", 2),
            Some(Fault::ServerError(503))
        );
        assert_eq!(
            faults.take("/v1/organization/costs", 2),
            Some(Fault::ServerError(503))
        );
        assert_eq!(faults.take("/v1/organization/costs", 2), None);
        assert_eq!(faults.fired(), 2);
        assert_eq!(faults.remaining(), 0);
    }
}
