//! Coverage kept between reads. Computing it joins every billed and metered (key, model) of the
//! period — a few index seeks per rollup series, hundreds of thousands of series at 10M cost
//! lines — so a server keeps what it computed of the *comparable* days (those each bill is final
//! for) under a [`Stamp`] and computes it again only when the stamp moved. The lag days (after
//! the bills' "complete through" day, today among them) are read fresh on every request from one
//! series per provider, so calls metered today show at once.
//!
//! The stamp is read before the data, so a write landing in between leaves newer figures under
//! an older stamp (computed again next time), never older figures under a newer one. It holds:
//! - the rollup revision, which every write of the bill moves and a restate of metered costs
//!   moves too;
//! - each provider's connections and "complete through" day (they decide the comparable days);
//! - each provider's metered totals over its comparable days, from `meter.provider`: every call
//!   stored for one of those days adds to their `lines`, whenever it arrives;
//! - the names workspaces are shown with (a rename moves nothing else).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use spendlens_domain::{Day, DayRange, Money, ProviderKind};
use spendlens_store::{ConnectionId, Metrics, OrgId, Totals, WorkspaceId};

use super::{CoverageQuery, ProviderReport};

/// Queries kept per server; one more starts the memory afresh.
const KEPT: usize = 64;

/// What the comparable days' coverage depends on (see the module docs).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Stamp {
    pub revision: i64,
    pub workspaces: Vec<(WorkspaceId, String)>,
    pub providers: Vec<ProviderStamp>,
}

/// One provider's part of a [`Stamp`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct ProviderStamp {
    pub provider: ProviderKind,
    pub connections: Vec<ConnectionId>,
    pub complete_through: Option<Day>,
    /// The provider names its metered calls carry.
    pub names: Vec<String>,
    /// Its metered totals over its comparable days.
    pub metered: Metrics,
}

/// The comparable days' coverage of one query.
#[derive(Debug)]
pub(super) struct Comparable {
    /// Every provider's report without its lag days (all providers, before the filter that
    /// drops providers with nothing to show), with the billed cost of its lag days.
    pub providers: Vec<(ProviderReport, Money)>,
    /// The bill per connection and day of the period, when the query asked for days.
    pub billed_days: Vec<(ConnectionId, Day, Totals)>,
}

/// A query as the memory files it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Key {
    org: OrgId,
    period: DayRange,
    providers: Vec<ProviderKind>,
    daily: bool,
}

impl Key {
    fn of(org: OrgId, query: &CoverageQuery) -> Key {
        let mut providers = query.providers.clone();
        providers.sort_unstable();
        providers.dedup();
        Key {
            org,
            period: query.period,
            providers,
            daily: query.daily,
        }
    }
}

/// One query's comparable days and the stamp they were computed under.
type Kept = (Stamp, Arc<Comparable>);

/// What a server keeps of coverage (cheap to clone: one memory shared).
#[derive(Clone, Debug, Default)]
pub struct CoverageMemory {
    kept: Arc<Mutex<HashMap<Key, Kept>>>,
    /// Times the comparable days were computed (the other requests found them kept).
    computed: Arc<AtomicU64>,
}

impl CoverageMemory {
    /// The comparable days kept for `query` under `stamp`, if any.
    pub(super) fn get(
        &self,
        org: OrgId,
        query: &CoverageQuery,
        stamp: &Stamp,
    ) -> Option<Arc<Comparable>> {
        let kept = self.kept.lock().unwrap_or_else(PoisonError::into_inner);
        kept.get(&Key::of(org, query))
            .filter(|(at, _)| at == stamp)
            .map(|(_, comparable)| Arc::clone(comparable))
    }

    /// Keeps what was computed for `query` under `stamp` (read before the data).
    pub(super) fn keep(
        &self,
        org: OrgId,
        query: &CoverageQuery,
        stamp: Stamp,
        comparable: Arc<Comparable>,
    ) {
        self.computed.fetch_add(1, Ordering::Relaxed);
        let mut kept = self.kept.lock().unwrap_or_else(PoisonError::into_inner);
        let key = Key::of(org, query);
        if kept.len() >= KEPT && !kept.contains_key(&key) {
            kept.clear();
        }
        // A slower request that read an older revision does not replace a newer read.
        if kept
            .get(&key)
            .is_none_or(|(at, _)| at.revision <= stamp.revision)
        {
            kept.insert(key, (stamp, comparable));
        }
    }

    /// How many times the comparable days were computed rather than found kept.
    pub fn computed(&self) -> u64 {
        self.computed.load(Ordering::Relaxed)
    }
}
