//! The check ledger of one organization, pure: a snapshot of the caps and their settled spend
//! (read from the store), the calls settled since that read, and the open reservations.
//!
//! A check counts, for every enabled cap governing the call, the snapshot's spend + the calls
//! settled since + the reservations held, and (when allowed and asked) holds the estimate on
//! each of those caps until the call's event arrives ([`Ledger::settle`]) or the reservation
//! times out. Every settle takes a sequence number; a snapshot records the number when its
//! read began, and installing it drops only the settled calls numbered at or before that (the
//! read saw them), so no dollar is lost between reads — and one counted twice only until the
//! next read, which errs toward denying.

use std::collections::{BTreeMap, HashMap};

use time::OffsetDateTime;

use super::eval::{CapLoad, Decision, evaluate};
use super::{CallScope, CapSpec};
use crate::calendar::Day;
use crate::money::Money;

/// One cap in a snapshot: its definition, its current period `[start, end)` and the settled
/// spend read for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LedgerCap {
    pub id: i64,
    pub spec: CapSpec,
    pub start: OffsetDateTime,
    pub end: OffsetDateTime,
    /// Settled spend in the period when the snapshot was read.
    pub base: Money,
}

/// Caps and their spend as read from the store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Snapshot {
    pub caps: Vec<LedgerCap>,
    /// Per provider (spendlens's name): the last day its bill is complete for. A cap that reads
    /// the bill counts a metered call only after that day (before, the bill has it).
    pub watermarks: BTreeMap<String, Day>,
    /// [`Ledger::sequence`] when the read began.
    pub seq: u64,
    pub taken_at: OffsetDateTime,
}

impl Snapshot {
    /// Whether a settled call at `time` counts against `cap`.
    fn counts(&self, cap: &LedgerCap, call: &CallScope, time: OffsetDateTime) -> bool {
        if time < cap.start || time >= cap.end || !cap.spec.scope.governs(call) {
            return false;
        }
        if cap.spec.scope.metered_only() {
            return true;
        }
        match call
            .provider
            .as_deref()
            .and_then(|p| self.watermarks.get(p))
        {
            Some(through) => Day::of(time) > *through,
            None => true,
        }
    }
}

#[derive(Clone, Debug)]
struct Settled {
    seq: u64,
    call: CallScope,
    time: OffsetDateTime,
    cost: Money,
}

#[derive(Clone, Debug)]
struct Reservation {
    caps: Vec<i64>,
    amount: Money,
    expires: OffsetDateTime,
}

/// A check's answer with the caps it read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckOutcome {
    pub decision: Decision,
    /// Name of the binding cap.
    pub binding_name: Option<String>,
    /// Each enabled cap governing the call: id and remaining before this call.
    pub governing: Vec<(i64, Money)>,
    /// The reservation was recorded (allowed, asked for).
    pub reserved: bool,
}

/// A reservation request: its id (the id the call's metered event will carry) and when it
/// lapses.
#[derive(Clone, Debug)]
pub struct Reserve {
    pub id: String,
    pub expires: OffsetDateTime,
}

/// The ledger of one organization.
#[derive(Clone, Debug, Default)]
pub struct Ledger {
    seq: u64,
    snapshot: Option<Snapshot>,
    settled: Vec<Settled>,
    /// Settled spend since the snapshot, per snapshot cap (same order).
    settled_by_cap: Vec<Money>,
    reservations: HashMap<String, Reservation>,
    held: HashMap<i64, Money>,
    next_expiry: Option<OffsetDateTime>,
    /// Snapshots read before this sequence number are refused (caps changed, or settled calls
    /// were dropped since).
    min_install_seq: u64,
}

/// Settled calls kept without a new snapshot before the ledger drops them and asks for a read.
pub const MAX_SETTLED: usize = 200_000;

impl Ledger {
    /// The sequence number a read starting now records in its snapshot.
    pub fn sequence(&self) -> u64 {
        self.seq
    }

    pub fn snapshot(&self) -> Option<&Snapshot> {
        self.snapshot.as_ref()
    }

    /// Whether the snapshot can answer at `now`: there is one, no cap's period has ended and
    /// it was read no longer than `max_age` ago.
    pub fn usable(&self, now: OffsetDateTime, max_age: time::Duration) -> bool {
        self.snapshot.as_ref().is_some_and(|s| {
            now - s.taken_at <= max_age
                && now >= s.taken_at
                && s.caps.iter().all(|c| now < c.end && now >= c.start)
        })
    }

    /// Drops the snapshot (caps changed): the next check needs a new read.
    pub fn invalidate(&mut self) {
        self.min_install_seq = self.seq;
        self.snapshot = None;
        self.settled.clear();
        self.settled_by_cap.clear();
    }

    /// Installs a snapshot unless a newer one is in place; settled calls the read saw are
    /// dropped, the others counted on top of it.
    pub fn install(&mut self, snapshot: Snapshot) {
        if snapshot.seq < self.min_install_seq
            || self
                .snapshot
                .as_ref()
                .is_some_and(|current| current.seq > snapshot.seq)
        {
            return;
        }
        self.settled.retain(|s| s.seq > snapshot.seq);
        let mut by_cap = vec![Money::ZERO; snapshot.caps.len()];
        for settled in &self.settled {
            for (i, cap) in snapshot.caps.iter().enumerate() {
                if snapshot.counts(cap, &settled.call, settled.time) {
                    by_cap[i] += settled.cost;
                }
            }
        }
        self.settled_by_cap = by_cap;
        self.snapshot = Some(snapshot);
    }

    /// The settled spend (snapshot + settled since) and the reservations held on cap `index`
    /// of the snapshot.
    pub fn spend_of(&self, index: usize) -> Option<(Money, Money)> {
        let snapshot = self.snapshot.as_ref()?;
        let cap = snapshot.caps.get(index)?;
        let settled = cap.base + self.settled_by_cap.get(index).copied().unwrap_or_default();
        Some((settled, self.held.get(&cap.id).copied().unwrap_or_default()))
    }

    /// Checks a call; when allowed and `reserve` is given, holds the estimate on every enabled
    /// cap governing it. A reservation id already open is replaced (a retried check). `None`
    /// without a snapshot.
    pub fn check(
        &mut self,
        call: &CallScope,
        estimate: Option<Money>,
        reserve: Option<Reserve>,
        now: OffsetDateTime,
    ) -> Option<CheckOutcome> {
        self.expire(now);
        if let Some(r) = &reserve {
            self.release(&r.id);
        }
        let snapshot = self.snapshot.as_ref()?;
        let mut loads = Vec::new();
        for (i, cap) in snapshot.caps.iter().enumerate() {
            if !cap.spec.enabled || !cap.spec.scope.governs(call) {
                continue;
            }
            let (settled, held) = self.spend_of(i)?;
            loads.push(CapLoad {
                id: cap.id,
                limit: cap.spec.limit,
                spend: settled + held,
                enabled: true,
                unpriced: cap.spec.unpriced,
            });
        }
        let decision = evaluate(&loads, estimate);
        let binding_name = decision.binding.and_then(|id| {
            snapshot
                .caps
                .iter()
                .find(|c| c.id == id)
                .map(|c| c.spec.name.clone())
        });
        let governing = loads.iter().map(|l| (l.id, l.remaining())).collect();
        let mut reserved = false;
        if decision.allowed
            && let Some(r) = reserve
        {
            let amount = estimate.unwrap_or_default().max(Money::ZERO);
            let caps: Vec<i64> = loads.iter().map(|l| l.id).collect();
            for id in &caps {
                *self.held.entry(*id).or_default() += amount;
            }
            self.next_expiry = Some(self.next_expiry.map_or(r.expires, |e| e.min(r.expires)));
            self.reservations.insert(
                r.id,
                Reservation {
                    caps,
                    amount,
                    expires: r.expires,
                },
            );
            reserved = true;
        }
        Some(CheckOutcome {
            decision,
            binding_name,
            governing,
            reserved,
        })
    }

    /// A metered call was stored (its id, scope, time and cost — `None`: unpriced): its
    /// reservation, if any, is released and its cost counted until the next snapshot.
    pub fn settle(
        &mut self,
        id: &str,
        call: CallScope,
        time: OffsetDateTime,
        cost: Option<Money>,
        newly_stored: bool,
    ) {
        self.seq += 1;
        self.release(id);
        let (Some(cost), true) = (cost, newly_stored) else {
            return;
        };
        if self.settled.len() >= MAX_SETTLED {
            self.invalidate();
            return;
        }
        // Kept even without a snapshot: a read in progress may have begun before this call
        // was stored.
        if let Some(snapshot) = self.snapshot.as_ref() {
            for (i, cap) in snapshot.caps.iter().enumerate() {
                if snapshot.counts(cap, &call, time)
                    && let Some(sum) = self.settled_by_cap.get_mut(i)
                {
                    *sum += cost;
                }
            }
        }
        self.settled.push(Settled {
            seq: self.seq,
            call,
            time,
            cost,
        });
    }

    /// Releases a reservation (its call will not happen); whether it was open.
    pub fn release(&mut self, id: &str) -> bool {
        let Some(r) = self.reservations.remove(id) else {
            return false;
        };
        for cap in &r.caps {
            if let Some(held) = self.held.get_mut(cap) {
                *held = *held - r.amount;
                if *held <= Money::ZERO {
                    self.held.remove(cap);
                }
            }
        }
        true
    }

    /// Releases the reservations that lapsed by `now`.
    pub fn expire(&mut self, now: OffsetDateTime) {
        if self.next_expiry.is_none_or(|e| e > now) {
            return;
        }
        let lapsed: Vec<String> = self
            .reservations
            .iter()
            .filter(|(_, r)| r.expires <= now)
            .map(|(id, _)| id.clone())
            .collect();
        for id in lapsed {
            self.release(&id);
        }
        self.next_expiry = self.reservations.values().map(|r| r.expires).min();
    }

    /// Open reservations.
    pub fn open_reservations(&self) -> usize {
        self.reservations.len()
    }

    /// Settled calls kept since the snapshot.
    pub fn settled_since_snapshot(&self) -> usize {
        self.settled.len()
    }
}
