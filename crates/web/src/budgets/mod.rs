//! Budget checks at request speed: one in-memory [`Ledger`] per organization (the domain's,
//! behind a mutex) over a snapshot of the caps and their settled spend read from the store
//! (`spendlens_query::budget::read`). A snapshot older than [`FRESH`] is re-read in the
//! background while checks go on against the old one plus the calls settled since; one older
//! than [`MAX_AGE`], one whose period ended, or none at all is read before answering. Ingest
//! settles reservations ([`Budgets::after_ingest`], called by `ingest_parsed` after the
//! commit), and cap changes drop the snapshot ([`Budgets::invalidate`]).

pub mod denials;
pub mod input;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use serde::Serialize;
use spendlens_domain::Money;
use spendlens_domain::budget::CallScope;
use spendlens_domain::budget::ledger::{CheckOutcome, Ledger, Reserve};
use spendlens_meter::PricedEvent;
use spendlens_query::QueryError;
use spendlens_query::budget::{self, CapStatus, KeyPlacement};
use spendlens_store::{OrgId, Store};
use time::{Duration, OffsetDateTime};

/// A snapshot younger than this answers without a new read.
pub const FRESH: Duration = Duration::seconds(2);
/// A snapshot older than this is re-read before answering.
pub const MAX_AGE: Duration = Duration::seconds(30);
/// A reservation's lifetime when the check names none, and the longest accepted.
pub const DEFAULT_RESERVATION_TTL: Duration = Duration::seconds(60);
pub const MAX_RESERVATION_TTL: Duration = Duration::hours(1);

#[derive(Debug, Default)]
struct OrgState {
    ledger: Ledger,
    keys: KeyPlacement,
    unpriced: HashMap<i64, i64>,
    refreshing: bool,
}

#[derive(Debug, Default)]
struct OrgBudgets {
    state: Mutex<OrgState>,
    /// One read at a time per organization.
    read: tokio::sync::Mutex<()>,
}

impl OrgBudgets {
    fn lock(&self) -> MutexGuard<'_, OrgState> {
        // A panic while holding the lock leaves plain data: keep using it.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Every organization's ledger.
#[derive(Debug, Default)]
pub struct Budgets {
    orgs: Mutex<HashMap<OrgId, Arc<OrgBudgets>>>,
    /// Denied checks, tallied for the store's record of denials.
    pub denials: denials::DenialLog,
}

/// A check as the API takes it.
#[derive(Clone, Debug)]
pub struct CheckRequest {
    pub call: CallScope,
    /// `None`: the call has no price (an unpriced model): each cap's policy decides.
    pub estimate: Option<Money>,
    pub reservation: Option<(String, Duration)>,
}

/// A check's answer.
#[derive(Clone, Debug, Serialize)]
pub struct CheckAnswer {
    pub allowed: bool,
    /// `allow` or `deny`.
    pub decision: &'static str,
    pub binding_cap: Option<BindingCap>,
    /// The binding cap's remaining before this call (`null` when no enabled cap governs it).
    pub remaining: Option<Money>,
    pub reason: String,
    pub reserved: bool,
    pub reservation_id: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub reservation_expires_at: Option<OffsetDateTime>,
    /// Every enabled cap governing the call, with its remaining before this call.
    pub caps: Vec<GoverningCap>,
}

#[derive(Clone, Debug, Serialize)]
pub struct BindingCap {
    pub id: i64,
    pub name: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct GoverningCap {
    pub id: i64,
    pub remaining: Money,
}

fn answer(outcome: CheckOutcome, reservation: Option<(String, OffsetDateTime)>) -> CheckAnswer {
    let d = outcome.decision;
    let (reservation_id, expires) = match (outcome.reserved, reservation) {
        (true, Some((id, at))) => (Some(id), Some(at)),
        _ => (None, None),
    };
    CheckAnswer {
        allowed: d.allowed,
        decision: if d.allowed { "allow" } else { "deny" },
        binding_cap: d.binding.map(|id| BindingCap {
            id,
            name: outcome.binding_name.unwrap_or_default(),
        }),
        remaining: d.remaining,
        reason: d.reason,
        reserved: outcome.reserved,
        reservation_id,
        reservation_expires_at: expires,
        caps: outcome
            .governing
            .into_iter()
            .map(|(id, remaining)| GoverningCap { id, remaining })
            .collect(),
    }
}

impl Budgets {
    fn org(&self, org: OrgId) -> Arc<OrgBudgets> {
        let mut orgs = self
            .orgs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        orgs.entry(org).or_default().clone()
    }

    fn existing(&self, org: OrgId) -> Option<Arc<OrgBudgets>> {
        self.orgs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&org)
            .cloned()
    }

    /// Reads the caps and their spend unless a usable snapshot appeared meanwhile.
    async fn read(
        store: &Store,
        org: OrgId,
        entry: &OrgBudgets,
        now: OffsetDateTime,
        fresh: Duration,
    ) -> Result<(), QueryError> {
        let _one = entry.read.lock().await;
        // Twice at most: a cap change during the read makes the ledger refuse it.
        for _ in 0..2 {
            let seq = {
                let state = entry.lock();
                if state.ledger.usable(now, fresh) {
                    return Ok(());
                }
                state.ledger.sequence()
            };
            let read = budget::read(store, org, now, seq).await?;
            let mut state = entry.lock();
            state.unpriced = read
                .caps
                .iter()
                .map(|c| c.id)
                .zip(read.unpriced_calls.iter().copied())
                .collect();
            state.keys = read.keys;
            state.ledger.install(read.snapshot);
            state.refreshing = false;
            if state.ledger.usable(now, fresh) {
                return Ok(());
            }
        }
        Ok(())
    }

    /// Makes sure the organization's ledger has a usable snapshot: read now when it has none
    /// (or a stale one), in the background when it is merely not fresh.
    async fn ensure(
        &self,
        store: &Store,
        org: OrgId,
        now: OffsetDateTime,
    ) -> Result<Arc<OrgBudgets>, QueryError> {
        let entry = self.org(org);
        let (usable, fresh, refreshing) = {
            let state = entry.lock();
            (
                state.ledger.usable(now, MAX_AGE),
                state.ledger.usable(now, FRESH),
                state.refreshing,
            )
        };
        if !usable {
            Budgets::read(store, org, &entry, now, MAX_AGE).await?;
        } else if !fresh && !refreshing {
            entry.lock().refreshing = true;
            let store = store.clone();
            let background = entry.clone();
            tokio::spawn(async move {
                if let Err(err) = Budgets::read(&store, org, &background, now, FRESH).await {
                    tracing::warn!(error = %err, "budget spend read failed; checks use the previous read");
                    background.lock().refreshing = false;
                }
            });
        }
        Ok(entry)
    }

    /// Checks one call (and reserves its estimate when allowed and asked).
    pub async fn check(
        &self,
        store: &Store,
        org: OrgId,
        request: CheckRequest,
        now: OffsetDateTime,
    ) -> Result<CheckAnswer, QueryError> {
        let entry = self.ensure(store, org, now).await?;
        let reservation = request.reservation.map(|(id, ttl)| {
            (
                id,
                now + ttl.clamp(Duration::seconds(1), MAX_RESERVATION_TTL),
            )
        });
        let mut call = request.call;
        let mut state = entry.lock();
        if call.workspace.is_none()
            && let (Some(p), Some(k)) = (call.provider.as_deref(), call.api_key.as_deref())
        {
            call.workspace = state.keys.workspace_of(p, k);
        }
        let reserve = reservation
            .clone()
            .map(|(id, expires)| Reserve { id, expires });
        let outcome = state
            .ledger
            .check(&call, request.estimate, reserve, now)
            .ok_or_else(|| {
                QueryError::Invalid(
                    "the budgets could not be read just now; retry the check".to_owned(),
                )
            })?;
        drop(state);
        if !outcome.decision.allowed
            && let Some(cap) = outcome.decision.binding
        {
            let name = outcome.binding_name.as_deref().unwrap_or_default();
            self.denials.record(org, cap, name, request.estimate, now);
        }
        Ok(answer(outcome, reservation))
    }

    /// Releases a reservation whose call will not happen; whether it was open.
    pub fn release(&self, org: OrgId, id: &str) -> bool {
        self.existing(org)
            .is_some_and(|entry| entry.lock().ledger.release(id))
    }

    /// Every cap's status (settled spend read now, plus the ledger's reservations).
    pub async fn statuses(
        &self,
        store: &Store,
        org: OrgId,
        now: OffsetDateTime,
    ) -> Result<Vec<CapStatus>, QueryError> {
        let entry = self.org(org);
        Budgets::read(store, org, &entry, now, FRESH).await?;
        let mut state = entry.lock();
        state.ledger.expire(now);
        let Some(snapshot) = state.ledger.snapshot() else {
            return Ok(Vec::new());
        };
        let mut out = Vec::with_capacity(snapshot.caps.len());
        for (i, cap) in snapshot.caps.iter().enumerate() {
            let (settled, held) = state.ledger.spend_of(i).unwrap_or_default();
            let unpriced = state.unpriced.get(&cap.id).copied().unwrap_or(0);
            out.push(budget::status(cap, settled, held, unpriced));
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// Caps changed: the next check or status reads them again.
    pub fn invalidate(&self, org: OrgId) {
        if let Some(entry) = self.existing(org) {
            entry.lock().ledger.invalidate();
        }
    }

    /// Events were stored (`inserted`: indices of `events` newly stored; the others were
    /// duplicates): their reservations are released and their costs counted until the next
    /// read. Only organizations that have checked budgets keep a ledger.
    pub fn after_ingest(&self, org: OrgId, events: &[PricedEvent], inserted: &[usize]) {
        let Some(entry) = self.existing(org) else {
            return;
        };
        let mut fresh = vec![false; events.len()];
        for i in inserted {
            if let Some(f) = fresh.get_mut(*i) {
                *f = true;
            }
        }
        let mut state = entry.lock();
        for (priced, newly) in events.iter().zip(fresh) {
            let e = &priced.event;
            let mut call = CallScope::call(
                Some(&e.provider),
                None,
                e.api_key.as_deref(),
                e.attribution.customer.as_deref(),
                Some(&e.model),
            );
            if let (Some(p), Some(k)) = (call.provider.as_deref(), call.api_key.as_deref()) {
                call.workspace = state.keys.workspace_of(p, k);
            }
            state
                .ledger
                .settle(&e.id, call, e.time, priced.cost.cost, newly);
        }
    }
}
