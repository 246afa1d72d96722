//! Alerts at run time: rules on metered calls are evaluated within seconds of the events that
//! cross them, rules on bills after syncs; each crossing fires once (see
//! `spendlens_domain::alerts`) and is delivered in-app, to webhooks (generic JSON signed with
//! HMAC-SHA256, or Slack-compatible) and by email over SMTP, retried with backoff and logged.
//!
//! Ingest never waits for any of it: after a batch is committed, [`Alerts::after_ingest`] puts a
//! small note on a bounded channel with `try_send` (a full channel drops the note — the
//! evaluator already has notes queued that will read the same rollups after this commit). The
//! evaluator ([`evaluate`]) coalesces notes, runs at most once per `min_interval`, reads the
//! rollups (one read per distinct period, whatever the number of rules) and records firings;
//! the delivery worker ([`deliver`]) sends them on its own tasks, with timeouts.

pub mod deliver;
mod email;
pub mod evaluate;
pub mod input;
pub mod message;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use spendlens_domain::Money;
use spendlens_meter::{CostSource, PricedEvent};
use spendlens_store::OrgId;
use tokio::sync::{Notify, mpsc};

use crate::AppState;

/// How alerts run.
#[derive(Clone, Debug)]
pub struct AlertSettings {
    /// Evaluate and deliver at all (a bench without rules may turn it off; servers keep it on).
    pub enabled: bool,
    /// The evaluator runs at most this often (notes arriving meanwhile are coalesced).
    pub min_interval: Duration,
    /// Every rule (bills and sync failures included) is evaluated at least this often.
    pub tick: Duration,
    /// Notes waiting for the evaluator, at most.
    pub queue: usize,
    /// A webhook call or an SMTP session taking longer fails (and is retried).
    pub send_timeout: Duration,
    /// The wait before the second attempt; each later one waits 4× longer, up to `retry_max`.
    pub retry_base: Duration,
    pub retry_max: Duration,
    /// Attempts per notification before it is logged as failed.
    pub max_attempts: u32,
}

impl Default for AlertSettings {
    fn default() -> AlertSettings {
        AlertSettings {
            enabled: true,
            min_interval: Duration::from_secs(1),
            tick: Duration::from_secs(30),
            queue: 1024,
            send_timeout: Duration::from_secs(10),
            retry_base: Duration::from_secs(5),
            retry_max: Duration::from_secs(600),
            max_attempts: 5,
        }
    }
}

/// Reported vs catalog cost of a batch's calls of one model (price drift's input).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DriftSums {
    pub reported: Money,
    pub catalog: Money,
    pub calls: i64,
}

/// Per (provider, model).
pub type DriftFacts = HashMap<(String, String), DriftSums>;

/// What ingest tells the evaluator.
#[derive(Debug)]
pub(crate) struct Note {
    pub org: OrgId,
    pub drift: DriftFacts,
}

/// The alerts of one server: the evaluator's queue and the delivery worker's wake-up.
#[derive(Debug)]
pub struct Alerts {
    pub settings: AlertSettings,
    sender: mpsc::Sender<Note>,
    receiver: Mutex<Option<mpsc::Receiver<Note>>>,
    deliveries: Arc<Notify>,
    started: AtomicBool,
    dropped: std::sync::atomic::AtomicU64,
}

impl Alerts {
    pub fn new(settings: AlertSettings) -> Alerts {
        let (sender, receiver) = mpsc::channel(settings.queue.max(1));
        Alerts {
            settings,
            sender,
            receiver: Mutex::new(Some(receiver)),
            deliveries: Arc::new(Notify::new()),
            started: AtomicBool::new(false),
            dropped: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// Starts the evaluator and the delivery worker (once; only inside a Tokio runtime).
    pub fn start(state: &Arc<AppState>) {
        let alerts = &state.alerts;
        if !alerts.settings.enabled || tokio::runtime::Handle::try_current().is_err() {
            return;
        }
        if alerts.started.swap(true, Ordering::SeqCst) {
            return;
        }
        let receiver = match alerts.receiver.lock() {
            Ok(mut slot) => slot.take(),
            Err(_) => None,
        };
        let Some(receiver) = receiver else { return };
        let weak: Weak<AppState> = Arc::downgrade(state);
        tokio::spawn(evaluate::run(weak.clone(), receiver));
        tokio::spawn(deliver::run(weak, alerts.deliveries.clone()));
    }

    /// After a committed batch: note the organization (and the reported-vs-catalog sums of
    /// the inserted calls) for the evaluator. Never waits, never fails.
    pub fn after_ingest(&self, org: OrgId, events: &[PricedEvent], inserted: &[usize]) {
        if !self.settings.enabled || inserted.is_empty() {
            return;
        }
        let mut drift = DriftFacts::new();
        for priced in inserted.iter().filter_map(|i| events.get(*i)) {
            if priced.cost.source != CostSource::Reported {
                continue;
            }
            let (Some(reported), Some(catalog)) = (priced.cost.cost, priced.cost.catalog_cost)
            else {
                continue;
            };
            let sums = drift
                .entry((priced.event.provider.clone(), priced.event.model.clone()))
                .or_default();
            sums.reported += reported;
            sums.catalog += catalog;
            sums.calls += 1;
        }
        if self.sender.try_send(Note { org, drift }).is_err() {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Notes dropped because the evaluator's queue was full (it had notes queued already).
    pub fn dropped_notes(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Wakes the delivery worker (a firing was recorded).
    pub(crate) fn wake_delivery(&self) {
        self.deliveries.notify_one();
    }
}
