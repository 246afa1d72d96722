//! One sync run from start to finish: claim the connection's lease and record the run
//! ([`SyncEngine::begin_sync`]), then fetch, apply and record the outcome while renewing the
//! lease ([`SyncEngine::run_started`]). Splitting the two lets "sync now" answer with the truth
//! (409 with the running run's id, or the real error) before the work moves to a task.

use std::time::Duration;

use spendlens_domain::allocation::allocate;
use spendlens_domain::{Credential, DayRange, SyncRequest};
use spendlens_providers::{CallStats, ConnectorConfig};
use spendlens_store::{
    ConnectionId, ConnectionRow, ConnectionStatus, OrgId, SyncRunId, SyncRunOutcome, SyncRunStatus,
    WindowWrite, WriteCounts,
};
use time::OffsetDateTime;
use tracing::{info, warn};

use crate::plan::{self, SyncPlan, SyncState, next_watermark};
use crate::{AUTH_FAILURES_BEFORE_DISCONNECT, SyncEngine, SyncError, SyncReport};

/// A run that has its lease and its row in the sync log, waiting to be run.
#[derive(Debug)]
pub struct StartedSync {
    org: OrgId,
    connection: ConnectionRow,
    credential: Credential,
    config: ConnectorConfig,
    plan: SyncPlan,
    /// A re-read the services' change asked for (`Store::reread_from`).
    reread_from: Option<spendlens_domain::Day>,
    holder: String,
    run: SyncRunId,
}

impl StartedSync {
    /// The run's id in the sync log.
    pub fn run_id(&self) -> SyncRunId {
        self.run
    }
}

/// What "already running" tells the user: which run, and when the connection is free again if
/// the process running it stopped.
pub(crate) fn already_running_message(
    name: &str,
    run: Option<SyncRunId>,
    free_at: Option<OffsetDateTime>,
) -> String {
    let mut message = format!("a sync of \"{name}\" is already running");
    if let Some(run) = run {
        message.push_str(&format!(" (run {})", run.0));
    }
    message.push_str(" in this or another spendlens process; wait for it to finish");
    if let Some(free_at) = free_at {
        let format = time::macros::format_description!("[hour]:[minute]:[second] UTC");
        if let Ok(at) = free_at.to_offset(time::UtcOffset::UTC).format(&format) {
            message.push_str(&format!(
                ". If that process stopped, the connection is free again at {at}"
            ));
        }
    }
    message
}

impl SyncEngine {
    /// Syncs one connection: a planned window, or `requested` when given. `request` says
    /// who asked. `stats` counts HTTP calls as they happen (for progress bars).
    ///
    /// A provider or store failure is not an `Err`: it is a failed run, logged and reported
    /// in the returned [`SyncReport`]. `Err` means no run could start (already running, no
    /// credential, bad window).
    pub async fn sync_connection(
        &self,
        org: OrgId,
        connection_id: ConnectionId,
        requested: Option<DayRange>,
        request: SyncRequest,
        stats: &CallStats,
    ) -> Result<SyncReport, SyncError> {
        let started = self
            .begin_sync(org, connection_id, requested, request)
            .await?;
        self.run_started(started, stats).await
    }

    /// The first half of [`SyncEngine::sync_connection`]: plans the window, claims the
    /// connection's lease and records the run as running. `Err` says why no run could start
    /// (already running — with the run and when the connection is free again —, no credential,
    /// a bad window, a database that cannot write), so a caller that answers at once (the API's
    /// "sync now") can tell the truth before handing [`SyncEngine::run_started`] to a task.
    pub async fn begin_sync(
        &self,
        org: OrgId,
        connection_id: ConnectionId,
        requested: Option<DayRange>,
        request: SyncRequest,
    ) -> Result<StartedSync, SyncError> {
        let connection = self.store.get_connection(org, connection_id).await?;
        let reread_from = self.store.reread_from(org, connection_id).await?;
        let plan = plan::plan(
            SyncState {
                synced_through: connection.synced_through,
                backfill_days: connection.backfill_days,
                lookback: connection
                    .lookback_days
                    .map(spendlens_domain::Lookback::days)
                    .unwrap_or_else(|| connection.provider.lookback()),
                reread_from,
            },
            self.today(),
            requested,
            request,
        )?;
        let Some(credential) = self
            .store
            .load_credential(org, connection.id, &self.vault)
            .await?
        else {
            return Err(SyncError::NoCredential {
                name: connection.name.clone(),
            });
        };
        let mut config = self.connector_config(connection.base_url.as_deref())?;
        config.services = self.store.service_choices(org, connection.id).await?;

        // Each run holds the lease under its own name, so two runs in one process exclude
        // each other as two processes do.
        let holder = format!("{}#{:08x}", self.settings.owner, rand::random::<u32>());
        let now = self.now();
        if !self
            .store
            .claim_sync_lease(
                connection.org_id,
                connection.id,
                &holder,
                now,
                now + self.settings.lease,
            )
            .await?
        {
            // The holder records its run right after claiming the lease: give it a moment, so
            // a 409 can name the run instead of racing it (seen under load in the API suite).
            let mut holder_run = (None, None);
            for _ in 0..50 {
                holder_run = self
                    .store
                    .sync_lease_holder(connection.id)
                    .await
                    .unwrap_or((None, None));
                if holder_run.0.is_some() || holder_run.1.is_none() {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
            let (run, free_at) = holder_run;
            return Err(SyncError::AlreadyRunning {
                name: connection.name.clone(),
                run,
                free_at,
            });
        }
        let run = self
            .store
            .start_sync_run(org, connection.id, plan.trigger, plan.window, now)
            .await;
        let run = match run {
            Ok(run) => run,
            Err(err) => {
                self.release(&connection, &holder).await;
                return Err(err.into());
            }
        };
        info!(connection = %connection.name, window = %plan.window, trigger = plan.trigger.as_str(), "sync started");
        Ok(StartedSync {
            org,
            connection,
            credential,
            config,
            plan,
            reread_from,
            holder,
            run,
        })
    }

    /// The second half of [`SyncEngine::sync_connection`]: fetches, applies and records the
    /// outcome of a run [`SyncEngine::begin_sync`] started, then releases the lease.
    pub async fn run_started(
        &self,
        started: StartedSync,
        stats: &CallStats,
    ) -> Result<SyncReport, SyncError> {
        let StartedSync {
            org,
            connection,
            credential,
            config,
            plan,
            reread_from,
            holder,
            run,
        } = started;

        let work = self.fetch_and_apply(
            org,
            (&connection, reread_from),
            &credential,
            &config,
            plan.window,
            stats,
        );
        let result = self.while_holding_lease(&connection, &holder, work).await;

        // The lease is released whatever recording the outcome does (an early return on a
        // store error must not keep the connection blocked until the lease runs out).
        let report = self
            .record_outcome(&connection, &plan, run, result, stats)
            .await;
        self.release(&connection, &holder).await;
        report
    }

    /// Records how a run ended: the sync-log row and the connection's status.
    async fn record_outcome(
        &self,
        connection: &ConnectionRow,
        plan: &SyncPlan,
        run: SyncRunId,
        result: Result<(WriteCounts, Vec<String>), SyncError>,
        stats: &CallStats,
    ) -> Result<SyncReport, SyncError> {
        let counts = stats.snapshot();
        let finished = self.now();
        let report = match result {
            Ok((written, notes)) => {
                let outcome = SyncRunOutcome {
                    status: SyncRunStatus::Success,
                    counts: written,
                    http_calls: counts.http_calls,
                    retries: counts.retries,
                    error: None,
                    notes: (!notes.is_empty()).then(|| notes.join("\n")),
                };
                self.store.finish_sync_run(run, &outcome, finished).await?;
                self.store
                    .record_sync_outcome(
                        connection.org_id,
                        connection.id,
                        ConnectionStatus::Connected,
                        None,
                        next_watermark(connection.synced_through, plan.window),
                        false,
                        outcome.notes.as_deref(),
                        finished,
                        Some(
                            finished
                                + time::Duration::seconds(connection.sync_interval_secs.max(60)),
                        ),
                    )
                    .await?;
                info!(connection = %connection.name, lines = written.lines, "sync succeeded");
                SyncReport {
                    run_id: run,
                    connection_id: connection.id,
                    connection_name: connection.name.clone(),
                    window: plan.window,
                    trigger: plan.trigger,
                    status: SyncRunStatus::Success,
                    counts: written,
                    http_calls: counts.http_calls,
                    retries: counts.retries,
                    error: None,
                    notes,
                }
            }
            Err(err) => {
                let rejected = matches!(&err, SyncError::Provider(p) if p.is_credential_rejected());
                let message = format!("{err} Stored data was left unchanged.");
                warn!(connection = %connection.name, error = %message, "sync failed");
                let outcome = SyncRunOutcome {
                    status: SyncRunStatus::Failed,
                    counts: WriteCounts::default(),
                    http_calls: counts.http_calls,
                    retries: counts.retries,
                    error: Some(message.clone()),
                    notes: None,
                };
                self.store.finish_sync_run(run, &outcome, finished).await?;
                let disconnect =
                    rejected && connection.auth_failures + 1 >= AUTH_FAILURES_BEFORE_DISCONNECT;
                let (status, next) = if disconnect {
                    (ConnectionStatus::Disconnected, None)
                } else {
                    (
                        ConnectionStatus::Error,
                        Some(
                            finished
                                + time::Duration::seconds(connection.sync_interval_secs.max(60)),
                        ),
                    )
                };
                let status_message = if disconnect {
                    format!(
                        "{message} Scheduled syncs stopped after {AUTH_FAILURES_BEFORE_DISCONNECT} rejections in a row; replace the credential to resume."
                    )
                } else {
                    message.clone()
                };
                self.store
                    .record_sync_outcome(
                        connection.org_id,
                        connection.id,
                        status,
                        Some(&status_message),
                        None,
                        rejected,
                        None,
                        finished,
                        next,
                    )
                    .await?;
                SyncReport {
                    run_id: run,
                    connection_id: connection.id,
                    connection_name: connection.name.clone(),
                    window: plan.window,
                    trigger: plan.trigger,
                    status: SyncRunStatus::Failed,
                    counts: WriteCounts::default(),
                    http_calls: counts.http_calls,
                    retries: counts.retries,
                    error: Some(message),
                    notes: Vec::new(),
                }
            }
        };
        Ok(report)
    }

    async fn fetch_and_apply(
        &self,
        org: OrgId,
        (connection, reread_from): (&ConnectionRow, Option<spendlens_domain::Day>),
        credential: &spendlens_domain::Credential,
        config: &ConnectorConfig,
        window: DayRange,
        stats: &CallStats,
    ) -> Result<(WriteCounts, Vec<String>), SyncError> {
        let fetched = spendlens_providers::fetch_window(credential, config, window, stats).await?;
        // Every report is in USD; amounts in another currency would be added as if they were.
        if let Some(foreign) = fetched
            .costs
            .iter()
            .map(|c| c.currency.as_str())
            .find(|c| *c != "USD")
        {
            return Err(SyncError::Unsupported(format!(
                "{} bills this account in {foreign}; spendlens reports in USD and does not convert \
                 currencies yet, so nothing from this sync was stored. Use a USD billing account or \
                 follow the currency-conversion issue.",
                connection.provider.display_name()
            )));
        }
        let api_keys_complete = !fetched.api_keys.is_empty();
        // Replace only the days the provider could answer for (never wipe older history it
        // no longer serves); lines outside them cannot be stored.
        let replaced = fetched
            .served
            .and_then(|served| {
                DayRange::new(
                    served.from().max(window.from()),
                    served.to().min(window.to()),
                )
                .ok()
            })
            .unwrap_or(window);
        // What the bill charged per 1M tokens, per model and day (days that have ended only:
        // today's bill is still moving).
        let today = spendlens_domain::Day::of(self.now());
        let observed: Vec<_> = spendlens_domain::catalog::observed::observe(
            connection.provider,
            &fetched.usage,
            &fetched.costs,
        )
        .into_iter()
        .filter(|cell| replaced.contains(cell.day) && cell.day < today)
        .collect();
        let lines: Vec<_> = allocate(
            connection.provider,
            fetched.usage,
            fetched.costs,
            &self.catalog,
        )
        .into_iter()
        .filter(|line| replaced.contains(line.day))
        .collect();
        let counts = self
            .store
            .replace_window(WindowWrite {
                org,
                connection: connection.id,
                window: replaced,
                workspaces: &fetched.workspaces,
                api_keys: &fetched.api_keys,
                api_keys_complete,
                lines: &lines,
                invoice_months: fetched.invoice_months.as_deref(),
                now: self.now(),
            })
            .await?;
        if !fetched.services.is_empty() {
            self.store
                .record_services(org, connection.id, window, &fetched.services, self.now())
                .await?;
        }
        if let Some(from) = reread_from
            && window.from() <= from
        {
            self.store.clear_reread(org, connection.id, from).await?;
        }
        let mut notes = fetched.notes;
        if let Some(from) = reread_from {
            notes.push(if window.from() <= from {
                format!(
                    "The services that count changed: this sync read every stored day again from \
                     {from}, so each day follows the same choice"
                )
            } else {
                format!(
                    "The services that count changed: days from {from} to {} keep the former \
                     choice until a sync reads them (sync with --from {from})",
                    window.from().add_days(-1).unwrap_or(window.from())
                )
            });
        }
        // Derived data: a failure here leaves the stored bill as written and says so.
        if let Err(err) = self
            .store
            .replace_observed_prices(
                org,
                connection.id,
                connection.provider,
                replaced,
                &observed,
                self.now(),
            )
            .await
        {
            tracing::warn!(connection = connection.id.0, error = %err, "observed prices not updated");
            notes.push(format!(
                "The bill was stored, but the prices observed on it were not updated ({err}); the next sync retries."
            ));
        }
        Ok((counts, notes))
    }

    /// Runs `work` while renewing the connection's lease, so a long sync keeps it and a
    /// crashed one loses it within one lease period.
    async fn while_holding_lease<T>(
        &self,
        connection: &ConnectionRow,
        holder: &str,
        work: impl Future<Output = Result<T, SyncError>>,
    ) -> Result<T, SyncError> {
        let renew_every = (self.settings.lease / 3).max(Duration::from_secs(1));
        tokio::pin!(work);
        loop {
            tokio::select! {
                result = &mut work => return result,
                () = tokio::time::sleep(renew_every) => {
                    let now = self.now();
                    if let Err(err) = self
                        .store
                        .claim_sync_lease(connection.org_id, connection.id, holder, now, now + self.settings.lease)
                        .await
                    {
                        warn!(connection = %connection.name, error = %err, "could not renew the sync lease");
                    }
                }
            }
        }
    }

    async fn release(&self, connection: &ConnectionRow, holder: &str) {
        if let Err(err) = self
            .store
            .release_sync_lease(connection.org_id, connection.id, holder)
            .await
        {
            warn!(connection = %connection.name, error = %err, "could not release the sync lease");
        }
    }
}
