//! The record of budget-check denials: each denied check is tallied in memory (per
//! organization, binding cap and UTC day — a counter bump under a mutex, so the check stays at
//! request speed) and the tallies are added to the store (`budget_denials`) by a flusher about
//! once a second, by every read of the record (so a reader sees every denial this server
//! answered), and once more when the server stops. A failed write keeps the tallies for the
//! next flush. What a crash loses: the denials of at most the last second, which is said in the
//! API's description and the README.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use spendlens_domain::{Day, Money};
use spendlens_store::{DenialTally, OrgId, Store, StoreError};
use time::OffsetDateTime;

use crate::AppState;

/// How often the flusher adds the tallies to the store.
pub const FLUSH_EVERY: Duration = Duration::from_secs(1);

type Key = (OrgId, i64, Day);

/// Denials answered by this server and not yet in the store.
#[derive(Debug, Default)]
pub struct DenialLog {
    pending: Mutex<HashMap<Key, DenialTally>>,
    /// One flush at a time (a reader's and the flusher's would otherwise interleave).
    flushing: tokio::sync::Mutex<()>,
}

impl DenialLog {
    fn pending(&self) -> std::sync::MutexGuard<'_, HashMap<Key, DenialTally>> {
        self.pending
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Tallies one denied check of `cap` (`estimate`: `None` for a check without a price).
    pub fn record(
        &self,
        org: OrgId,
        cap_id: i64,
        cap_name: &str,
        estimate: Option<Money>,
        at: OffsetDateTime,
    ) {
        let day = Day::of(at);
        let mut pending = self.pending();
        let tally = pending
            .entry((org, cap_id, day))
            .or_insert_with(|| DenialTally {
                cap_id,
                cap_name: cap_name.to_owned(),
                day,
                denials: 0,
                unpriced: 0,
                estimate: Money::ZERO,
                first_at: at,
                last_at: at,
            });
        tally.merge(&DenialTally {
            cap_id,
            cap_name: cap_name.to_owned(),
            day,
            denials: 1,
            unpriced: i64::from(estimate.is_none()),
            estimate: estimate.unwrap_or(Money::ZERO).max(Money::ZERO),
            first_at: at,
            last_at: at,
        });
    }

    /// Adds every pending tally to the store, organization by organization; the tallies of an
    /// organization whose write failed are kept (merged with any recorded meanwhile) and the
    /// first error is returned.
    pub async fn flush(&self, store: &Store) -> Result<(), StoreError> {
        let _one = self.flushing.lock().await;
        let taken = std::mem::take(&mut *self.pending());
        if taken.is_empty() {
            return Ok(());
        }
        let mut by_org: HashMap<OrgId, Vec<DenialTally>> = HashMap::new();
        for ((org, _, _), tally) in taken {
            by_org.entry(org).or_default().push(tally);
        }
        let mut first_error = None;
        for (org, tallies) in by_org {
            if let Err(err) = store.add_budget_denials(org, &tallies).await {
                let mut pending = self.pending();
                for tally in tallies {
                    let key = (org, tally.cap_id, tally.day);
                    match pending.get_mut(&key) {
                        Some(newer) => newer.merge(&tally),
                        None => {
                            pending.insert(key, tally);
                        }
                    }
                }
                first_error.get_or_insert(err);
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// Denials recorded and not yet flushed (for tests and `/metrics`).
    pub fn pending_denials(&self) -> i64 {
        self.pending().values().map(|t| t.denials).sum()
    }
}

/// Starts the flusher (only inside a Tokio runtime); it ends when the server's state is dropped.
pub fn start(state: &Arc<AppState>) {
    if tokio::runtime::Handle::try_current().is_err() {
        return;
    }
    let weak: Weak<AppState> = Arc::downgrade(state);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(FLUSH_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let Some(state) = weak.upgrade() else { return };
            if let Err(err) = state.budgets.denials.flush(state.store()).await {
                tracing::warn!(error = %err, "budget denials could not be written; kept for the next try");
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> OffsetDateTime {
        OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).unwrap()
    }

    #[test]
    fn denials_are_tallied_per_cap_and_utc_day() {
        let log = DenialLog::default();
        let org = OrgId(1);
        let cent = Money::parse_units("0.01").unwrap();
        log.record(org, 7, "team", Some(cent), at("2026-12-05T23:59:59.999Z"));
        log.record(org, 7, "team", None, at("2026-12-06T00:00:00Z"));
        log.record(
            org,
            7,
            "team renamed",
            Some(cent),
            at("2026-12-06T00:00:01Z"),
        );
        log.record(org, 8, "org", Some(cent), at("2026-12-06T00:00:02Z"));
        assert_eq!(log.pending_denials(), 4);
        let pending = log.pending();
        let day = |d: &str| d.parse::<Day>().unwrap();
        let late = &pending[&(org, 7, day("2026-12-05"))];
        assert_eq!((late.denials, late.unpriced, late.estimate), (1, 0, cent));
        let next = &pending[&(org, 7, day("2026-12-06"))];
        assert_eq!((next.denials, next.unpriced, next.estimate), (2, 1, cent));
        assert_eq!(next.cap_name, "team renamed");
        assert_eq!(next.first_at, at("2026-12-06T00:00:00Z"));
        assert_eq!(next.last_at, at("2026-12-06T00:00:01Z"));
    }
}
