//! One query layer for every surface: the dashboard, the JSON API, CSV export and the CLI
//! read the same reports, so the four never disagree.
//!
//! Architecture invariant: this crate reads through the store's rollup API and knows no SQL,
//! HTTP or HTML; it only shapes numbers.

pub mod anomaly;
pub mod attribution;
pub mod budget;
pub mod chargeback;
pub mod compliance;
pub mod coverage;
pub mod focus;
pub mod forecast;
pub mod history;
pub mod months;
pub mod observed;
pub mod over_time;
pub mod params;
pub mod spend_days;
pub mod table;
pub mod unpriced;
mod view;
pub mod views;
pub mod work;

pub use params::{View, ViewParams, ViewQuery};
pub use views::{Report, report};

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use spendlens_store::{OrgId, Store};
use time::OffsetDateTime;

use crate::spend_days::{BilledRead, MeteredRead, SpendDays};

/// Organizations whose bill read [`Reports`] keeps; one more starts the memory afresh.
const KEPT_BILLS: usize = 16;

/// A bill read, with the billed-rollup revision read before it.
type KeptBill = (i64, Arc<BilledRead>);

/// What tells whether metered days kept are current: the provider names calls carry and their
/// totals over the days kept (every call stored for one of those days adds to them, however late
/// it arrives), and the rollup revision — a restate of metered costs moves it, and so do syncs,
/// which log each move (`Store::billed_changes`), so a move that was only syncs keeps the days.
#[derive(Clone, Debug, PartialEq, Eq)]
struct MeteredStamp {
    revision: i64,
    names: Vec<String>,
    totals: spendlens_store::Metrics,
}

impl MeteredStamp {
    /// The same calls as `kept`, whatever syncs wrote in between.
    fn same_calls(&self, kept: &MeteredStamp) -> bool {
        self.names == kept.names && self.totals == kept.totals
    }
}

/// Metered days kept, with the stamp read before them.
type KeptMetered = (MeteredStamp, Arc<MeteredRead>);

/// The reports service: every view, read through one store.
#[derive(Clone, Debug)]
pub struct Reports {
    store: Store,
    /// Per organization: the bill forecasts and anomalies last read, under the billed-rollup
    /// revision read before it.
    bills: Arc<Mutex<HashMap<OrgId, KeptBill>>>,
    /// Times the whole bill was read from the store (the other reads came from memory).
    bill_reads: Arc<AtomicU64>,
    /// Times the windows syncs rewrote were read again into the kept bill.
    bill_updates: Arc<AtomicU64>,
    /// Per organization: the metered calls of the days before today forecasts and anomalies
    /// last read (today's are read fresh on every load).
    metered: Arc<Mutex<HashMap<OrgId, KeptMetered>>>,
    /// Times the metered days before today were read from the store.
    metered_reads: Arc<AtomicU64>,
    /// Coverage of the comparable days, kept while current (views and `GET /coverage`).
    coverage: coverage::CoverageMemory,
}

impl Reports {
    pub fn new(store: Store) -> Reports {
        Reports {
            store,
            bills: Arc::default(),
            bill_reads: Arc::default(),
            bill_updates: Arc::default(),
            metered: Arc::default(),
            metered_reads: Arc::default(),
            coverage: coverage::CoverageMemory::default(),
        }
    }

    /// What forecasts and anomalies read at `now`: the bill's days (kept under the
    /// organization's billed-rollup revision, so a page load does not read every (key, model)
    /// and day again; after syncs only the windows they rewrote are read again, and after any
    /// other write of the bill all of it), metered calls (the days before today kept while no
    /// call arrives for them, today's read fresh) and the rest read fresh — connections, names.
    pub async fn spend_days(
        &self,
        org: OrgId,
        now: OffsetDateTime,
    ) -> Result<SpendDays, QueryError> {
        let read = spend_days::read_range(now)?;
        // The revision before the data: a write landing in between leaves a newer bill under an
        // older revision, read again next time — never an older bill under a newer one.
        let revision = self.store.rollup_revision(org).await?;
        let kept = self
            .bills
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&org)
            .filter(|(at, bill)| *at <= revision && bill.read == read)
            .map(|(at, bill)| (*at, Arc::clone(bill)));
        let changes = match &kept {
            Some((at, _)) if *at < revision => {
                self.store.billed_changes(org, *at, revision).await?
            }
            _ => None,
        };
        let bill = match (kept, changes) {
            (Some((at, bill)), _) if at == revision => {
                return self.load(org, now, revision, &bill).await;
            }
            (Some((_, bill)), Some(changes)) => {
                self.bill_updates.fetch_add(1, Ordering::Relaxed);
                bill.refreshed(&self.store, org, &changes).await?
            }
            _ => {
                self.bill_reads.fetch_add(1, Ordering::Relaxed);
                BilledRead::load(&self.store, org, read).await?
            }
        };
        let bill = Arc::new(bill);
        {
            let mut bills = self.bills.lock().unwrap_or_else(PoisonError::into_inner);
            if bills.len() >= KEPT_BILLS && !bills.contains_key(&org) {
                bills.clear();
            }
            // A slower request that read an older revision does not replace a newer read.
            if bills.get(&org).is_none_or(|(at, _)| *at <= revision) {
                bills.insert(org, (revision, Arc::clone(&bill)));
            }
        }
        self.load(org, now, revision, &bill).await
    }

    /// The rest of what forecasts and anomalies read around `bill`: metered calls (the days
    /// before today kept while their stamp holds, today's fresh), connections and names.
    async fn load(
        &self,
        org: OrgId,
        now: OffsetDateTime,
        revision: i64,
        bill: &BilledRead,
    ) -> Result<SpendDays, QueryError> {
        let read = spend_days::read_range(now)?;
        let Some(past) = MeteredRead::past(read) else {
            return SpendDays::load_with(&self.store, org, now, bill).await;
        };
        // The stamp before the data (see `MeteredStamp`).
        let names = self.store.metered_provider_names(org).await?;
        let (totals, _) = self
            .store
            .metered_provider_sums(org, &names, Some(past), None)
            .await?;
        let stamp = MeteredStamp {
            revision,
            names,
            totals,
        };
        let kept = self
            .metered
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&org)
            .filter(|(at, metered)| stamp.same_calls(at) && metered.read == past)
            .map(|(at, metered)| (at.revision, Arc::clone(metered)));
        // Between the two revisions, only syncs (each logged) may have moved it: no restate.
        let kept = match kept {
            Some((at, metered)) if at == revision => Some(metered),
            Some((at, metered)) if at < revision => self
                .store
                .billed_changes(org, at, revision)
                .await?
                .map(|_| metered),
            _ => None,
        };
        let metered = match kept {
            Some(metered) => {
                let mut kept = self.metered.lock().unwrap_or_else(PoisonError::into_inner);
                kept.insert(org, (stamp, Arc::clone(&metered)));
                metered
            }
            None => {
                self.metered_reads.fetch_add(1, Ordering::Relaxed);
                let metered = Arc::new(MeteredRead::load_past(&self.store, org, read).await?);
                let mut kept = self.metered.lock().unwrap_or_else(PoisonError::into_inner);
                if kept.len() >= KEPT_BILLS && !kept.contains_key(&org) {
                    kept.clear();
                }
                kept.insert(org, (stamp, Arc::clone(&metered)));
                metered
            }
        };
        let cells = metered.last_day_fresh(&self.store, org, read).await?;
        SpendDays::load_around(&self.store, org, now, bill, cells).await
    }

    /// Reads what the Providers page and the other views keep (the bill and metered days of
    /// forecasts and anomalies, coverage of the default period with and without its days), so
    /// the first page after a server starts does not wait for them. `serve` runs it in the
    /// background at start.
    pub async fn warm(&self, org: OrgId, now: OffsetDateTime) -> Result<(), QueryError> {
        self.spend_days(org, now).await?;
        let today = spendlens_domain::Day::of(now);
        for view in [View::Providers, View::Keys] {
            let query = ViewQuery::parse(view, &ViewParams::default(), today)?;
            self.report(org, &query).await?;
        }
        Ok(())
    }

    /// How many times [`Reports::spend_days`] read the metered days before today from the
    /// store (the other loads kept them and read only today's).
    pub fn metered_reads(&self) -> u64 {
        self.metered_reads.load(Ordering::Relaxed)
    }

    /// How many times [`Reports::spend_days`] read the whole bill from the store.
    pub fn bill_reads(&self) -> u64 {
        self.bill_reads.load(Ordering::Relaxed)
    }

    /// How many times [`Reports::spend_days`] read again only the windows syncs rewrote.
    pub fn bill_updates(&self) -> u64 {
        self.bill_updates.load(Ordering::Relaxed)
    }

    /// One view of one organization, as every surface shows it.
    pub async fn report(&self, org: OrgId, query: &ViewQuery) -> Result<Report, QueryError> {
        views::report_kept(&self.store, &self.coverage, org, query).await
    }

    /// A view's cost over time, stacked by the report's rows, for a chart that draws the
    /// `top` largest apart (see [`over_time::over_time`]).
    pub async fn over_time(
        &self,
        org: OrgId,
        query: &ViewQuery,
        report: &Report,
        top: usize,
    ) -> Result<over_time::OverTime, QueryError> {
        over_time::over_time(&self.store, org, query, report, top).await
    }

    /// The Images panel's cost over time, stacked by model.
    pub async fn images_over_time(
        &self,
        org: OrgId,
        query: &ViewQuery,
        images: &views::ImagesSummary,
    ) -> Result<over_time::OverTime, QueryError> {
        over_time::images_over_time(&self.store, org, query, images).await
    }

    /// Coverage of one organization's bills by its metered traffic.
    pub async fn coverage(
        &self,
        org: OrgId,
        query: &coverage::CoverageQuery,
    ) -> Result<coverage::CoverageReport, QueryError> {
        coverage::coverage_kept(&self.store, &self.coverage, org, query).await
    }

    /// How many times coverage's comparable days were computed rather than found kept.
    pub fn coverage_computed(&self) -> u64 {
        self.coverage.computed()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    /// The request was wrong: the message says how.
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] spendlens_store::StoreError),
}
