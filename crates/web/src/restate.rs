//! Restating metered events after a price change: every stored event of a range of UTC days is
//! priced again with the organization's current catalog (a cost the sender reported stays the
//! cost; its catalog cost is recomputed beside it), and the differences are shown per model
//! before anything changes. Applying writes the new costs and adjusts the rollups by the exact
//! differences, one transaction per page of events; a rerun finds nothing left to change.
//! The CLI (`spendlens prices restate`) and the API (`POST /api/v1/prices/restate`) share it.

use std::collections::BTreeMap;

use serde::Serialize;
use spendlens_domain::{DayRange, Money, PriceCatalog};
use spendlens_meter::{EventCost, cost_event};
use spendlens_store::{CostChange, OrgId, RestateCursor, Store, StoreResult, millis};

/// Events read (and, when applying, written) per transaction.
pub const PAGE: u32 = 1_000;

/// What restating changes for one model.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ModelRestate {
    pub provider: String,
    pub model: String,
    /// Events whose stored cost (or catalog cost) changes.
    pub events: u64,
    /// Their cost before and after; unpriced events count in neither.
    pub old_total: Money,
    pub new_total: Money,
    pub difference: Money,
    /// Unpriced before, priced now.
    pub newly_priced: u64,
    /// Priced before, unpriced now.
    pub newly_unpriced: u64,
}

/// What a restate found, and did unless it was a dry run.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RestateReport {
    pub from: String,
    pub to: String,
    pub dry_run: bool,
    /// Events of the range read.
    pub scanned: u64,
    /// Events whose cost (or catalog cost) changes.
    pub changed: u64,
    /// Events written (0 in a dry run).
    pub applied: u64,
    pub old_total: Money,
    pub new_total: Money,
    pub difference: Money,
    pub newly_priced: u64,
    pub newly_unpriced: u64,
    /// Per model, largest difference first.
    pub models: Vec<ModelRestate>,
}

impl RestateReport {
    /// The audit log's one-line account.
    pub fn audit_detail(&self) -> String {
        format!(
            "{} of {} metered events from {} to {} re-priced with the current catalog: {} USD before, {} USD after (difference {}); {} newly priced, {} newly unpriced",
            self.applied,
            self.scanned,
            self.from,
            self.to,
            self.old_total,
            self.new_total,
            self.difference,
            self.newly_priced,
            self.newly_unpriced
        )
    }
}

/// Whether a new cost is a change worth writing: the cost, the catalog cost, where the cost
/// comes from or the entry that priced it. A reworded unpriced reason, or the input/output
/// split that events stored before it was kept lack, is not.
fn differs(old: &EventCost, new: &EventCost) -> bool {
    old.cost != new.cost
        || old.catalog_cost != new.catalog_cost
        || old.source != new.source
        || old.price_entry != new.price_entry
}

/// Prices the events of `range` with `catalog` and reports the differences; with `apply`,
/// also writes them (one transaction per page of [`PAGE`] events).
pub async fn restate(
    store: &Store,
    org: OrgId,
    catalog: &PriceCatalog,
    range: DayRange,
    apply: bool,
) -> StoreResult<RestateReport> {
    let mut report = RestateReport {
        from: range.from().to_string(),
        to: range.to().to_string(),
        dry_run: !apply,
        ..RestateReport::default()
    };
    let mut models: BTreeMap<(String, String), ModelRestate> = BTreeMap::new();
    let first = i64::from(range.from().number());
    let last = i64::from(range.to().number());
    let mut cursor: Option<RestateCursor> = None;
    loop {
        let page = store
            .meter_events_to_restate(org, first, last, cursor.as_ref(), PAGE)
            .await?;
        let Some(tail) = page.last() else {
            break;
        };
        cursor = Some(RestateCursor {
            time_ms: millis(tail.event.time),
            event_id: tail.event.id.clone(),
        });
        report.scanned += page.len() as u64;
        let full = page.len() as u32 == PAGE;
        let mut changes = Vec::new();
        for stored in page {
            let new = cost_event(catalog, &stored.event);
            if !differs(&stored.cost, &new) {
                continue;
            }
            let row = models
                .entry((stored.event.provider.clone(), stored.event.model.clone()))
                .or_insert_with(|| ModelRestate {
                    provider: stored.event.provider.clone(),
                    model: stored.event.model.clone(),
                    ..ModelRestate::default()
                });
            row.events += 1;
            row.old_total += stored.cost.cost.unwrap_or_default();
            row.new_total += new.cost.unwrap_or_default();
            match (stored.cost.cost.is_some(), new.cost.is_some()) {
                (false, true) => row.newly_priced += 1,
                (true, false) => row.newly_unpriced += 1,
                _ => {}
            }
            changes.push(CostChange { stored, new });
        }
        report.changed += changes.len() as u64;
        if apply {
            report.applied += store.restate_meter_events(org, &changes).await? as u64;
        }
        if !full {
            break;
        }
    }
    let mut models: Vec<ModelRestate> = models
        .into_values()
        .map(|mut m| {
            m.difference = m.new_total - m.old_total;
            m
        })
        .collect();
    models.sort_by(|a, b| {
        b.difference
            .abs()
            .cmp(&a.difference.abs())
            .then_with(|| (&a.provider, &a.model).cmp(&(&b.provider, &b.model)))
    });
    report.old_total = models.iter().map(|m| m.old_total).sum();
    report.new_total = models.iter().map(|m| m.new_total).sum();
    report.difference = report.new_total - report.old_total;
    report.newly_priced = models.iter().map(|m| m.newly_priced).sum();
    report.newly_unpriced = models.iter().map(|m| m.newly_unpriced).sum();
    report.models = models;
    Ok(report)
}
