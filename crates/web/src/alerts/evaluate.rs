//! The evaluator: turns rollups, ingest notes and sync runs into [`Observation`]s per rule and
//! subject, and records firings and re-arms through the store (whose upsert decides, so a
//! crossing fires once however many servers evaluate it).
//!
//! Metered rules read `meter_day` (periods) and `meter_hour` (windows): one read per distinct
//! range, shared by every rule that needs it, so 100 rules cost about as much as one. Billed
//! rules (bills, sync failures) run on the tick.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::sync::Weak;
use std::time::Instant;

use rust_decimal::Decimal;
use spendlens_domain::alerts::{
    ArmState, Observation, RuleKind, ScopeKind, Source, Transition, transition,
};
use spendlens_domain::{DayRange, Money, SyncRunStatus};
use spendlens_store::{
    AlertRuleRow, BucketRange, FireAlert, METER_DAY, METER_HOUR, OrgId, PeriodRow, RollupFilter,
    SeriesFilter, Store, StoreError, SyncRunFilter, meter_extra,
};
use time::OffsetDateTime;
use tokio::sync::mpsc;

use super::{DriftFacts, Note};
use crate::AppState;

/// The evaluator's loop: wait for a note or the tick, coalesce, evaluate, repeat. Ends when the
/// server's state is dropped.
pub(crate) async fn run(state: Weak<AppState>, mut notes: mpsc::Receiver<Note>) {
    let settings = match state.upgrade() {
        Some(s) => s.alerts.settings.clone(),
        None => return,
    };
    let mut tick = tokio::time::interval(settings.tick);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_run: Option<Instant> = None;
    let mut pending: HashMap<OrgId, DriftFacts> = HashMap::new();
    loop {
        let mut full = false;
        tokio::select! {
            note = notes.recv() => match note {
                Some(note) => merge(&mut pending, note),
                None => return,
            },
            _ = tick.tick() => full = true,
        }
        if let Some(at) = last_run {
            let wait = settings.min_interval.saturating_sub(at.elapsed());
            if !wait.is_zero() {
                tokio::time::sleep(wait).await;
            }
        }
        while let Ok(note) = notes.try_recv() {
            merge(&mut pending, note);
        }
        let Some(state) = state.upgrade() else { return };
        if full {
            match state.store().orgs_with_alert_rules().await {
                Ok(orgs) => {
                    for org in orgs {
                        pending.entry(org).or_default();
                    }
                }
                Err(err) => tracing::warn!(error = %err, "alerts: cannot list organizations"),
            }
        }
        for (org, drift) in std::mem::take(&mut pending) {
            if let Err(err) = evaluate_org(&state, org, &drift, full).await {
                tracing::warn!(org = org.0, error = %err, "alerts: evaluation failed; retried on the next note or tick");
            }
        }
        last_run = Some(Instant::now());
    }
}

fn merge(pending: &mut HashMap<OrgId, DriftFacts>, note: Note) {
    let facts = pending.entry(note.org).or_default();
    for (key, sums) in note.drift {
        let at = facts.entry(key).or_default();
        at.reported += sums.reported;
        at.catalog += sums.catalog;
        at.calls += sums.calls;
    }
}

/// Rollup reads shared by the rules of one evaluation.
#[derive(Default)]
struct Reads {
    days: HashMap<(i32, i32), Vec<PeriodRow>>,
    hours: HashMap<(i64, i64), Vec<PeriodRow>>,
}

impl Reads {
    async fn days(
        &mut self,
        store: &Store,
        org: OrgId,
        range: DayRange,
    ) -> Result<&[PeriodRow], StoreError> {
        let key = (range.from().number(), range.to().number());
        if let Entry::Vacant(slot) = self.days.entry(key) {
            let rows = store
                .read_period(
                    org,
                    &METER_DAY,
                    &SeriesFilter::default(),
                    METER_DAY.buckets(range),
                    None,
                )
                .await?;
            slot.insert(rows);
        }
        Ok(self.days.get(&key).map(Vec::as_slice).unwrap_or_default())
    }

    async fn hours(
        &mut self,
        store: &Store,
        org: OrgId,
        now: OffsetDateTime,
        window: i64,
    ) -> Result<&[PeriodRow], StoreError> {
        let last = now.unix_timestamp().div_euclid(3600);
        let key = (last - window + 1, last);
        if let Entry::Vacant(slot) = self.hours.entry(key) {
            let range = BucketRange {
                first: key.0,
                last: key.1,
            };
            let rows = store
                .read_period(org, &METER_HOUR, &SeriesFilter::default(), range, None)
                .await?;
            slot.insert(rows);
        }
        Ok(self.hours.get(&key).map(Vec::as_slice).unwrap_or_default())
    }
}

/// The dimension of `meter_day`/`meter_hour` a scope reads.
fn meter_dim(scope: ScopeKind) -> Option<usize> {
    match scope {
        ScopeKind::Provider => Some(0),
        ScopeKind::Model => Some(1),
        ScopeKind::ApiKey => Some(2),
        ScopeKind::Customer => Some(3),
        ScopeKind::Org | ScopeKind::Workspace => None,
    }
}

/// Sums of the rows in a rule's scope, per subject (`""` for the scope as a whole).
#[derive(Clone, Copy, Default)]
struct Sums {
    cost: Money,
    calls: i64,
    unpriced: i64,
}

fn group(rule: &AlertRuleRow, rows: &[PeriodRow]) -> HashMap<String, Sums> {
    let dim = meter_dim(rule.spec.scope);
    let value = rule.spec.scope_value.as_deref();
    let each = rule.spec.each();
    let mut out: HashMap<String, Sums> = HashMap::new();
    if !each {
        out.insert(String::new(), Sums::default());
    }
    for row in rows {
        let text = dim
            .and_then(|d| row.series.dims.get(d))
            .and_then(|v| v.text())
            .unwrap_or_default();
        let subject = match (dim, each) {
            (None, _) => "",
            (Some(_), true) if text.is_empty() => continue,
            (Some(_), true) => text,
            (Some(_), false) if Some(text) == value => "",
            (Some(_), false) => continue,
        };
        let sums = match out.get_mut(subject) {
            Some(s) => s,
            None => out.entry(subject.to_owned()).or_default(),
        };
        sums.cost += row.current.totals.cost;
        sums.calls += row.current.totals.requests;
        sums.unpriced += row.current.extra[meter_extra::UNPRICED];
    }
    out
}

fn usd(money: Money) -> Decimal {
    money.to_decimal().normalize()
}

/// The observations of one metered rule.
async fn observe_metered(
    store: &Store,
    org: OrgId,
    rule: &AlertRuleRow,
    now: OffsetDateTime,
    reads: &mut Reads,
    drift: &DriftFacts,
) -> Result<Vec<Observation>, StoreError> {
    let spec = &rule.spec;
    let threshold = spec.threshold;
    let rows = match (spec.kind, spec.window_hours, spec.period) {
        (RuleKind::PriceDrift, _, _) => &[][..],
        (_, Some(window), _) => reads.hours(store, org, now, window).await?,
        (_, None, Some(period)) => reads.days(store, org, period.so_far(now)).await?,
        (_, None, None) => &[][..],
    };
    let mut out = Vec::new();
    match spec.kind {
        RuleKind::Spend | RuleKind::SpendRate => {
            for (subject, sums) in group(rule, rows) {
                let value = usd(sums.cost);
                out.push(Observation {
                    crossed: value > threshold,
                    subject,
                    value,
                });
            }
        }
        RuleKind::AvgCost => {
            for (subject, sums) in group(rule, rows) {
                let priced = sums.calls - sums.unpriced;
                let value = if priced > 0 {
                    (usd(sums.cost) / Decimal::from(priced))
                        .round_dp(9)
                        .normalize()
                } else {
                    Decimal::ZERO
                };
                out.push(Observation {
                    crossed: priced >= spec.min_calls && value > threshold,
                    subject,
                    value,
                });
            }
        }
        RuleKind::UnpricedModel => {
            let mut models: HashMap<String, i64> = HashMap::new();
            for row in rows {
                let in_scope = match (meter_dim(spec.scope), spec.scope_value.as_deref()) {
                    (Some(d), Some(v)) if v != "*" => {
                        row.series.dims.get(d).and_then(|x| x.text()) == Some(v)
                    }
                    _ => true,
                };
                let unpriced = row.current.extra[meter_extra::UNPRICED];
                if !in_scope || unpriced == 0 {
                    continue;
                }
                let text = |i: usize| row.series.dims.get(i).and_then(|v| v.text()).unwrap_or("");
                *models
                    .entry(format!("{}/{}", text(0), text(1)))
                    .or_default() += unpriced;
            }
            for (subject, count) in models {
                let value = Decimal::from(count);
                out.push(Observation {
                    crossed: value > threshold,
                    subject,
                    value,
                });
            }
        }
        RuleKind::PriceDrift => {
            for ((provider, model), sums) in drift {
                let in_scope = match (spec.scope, spec.scope_value.as_deref()) {
                    (ScopeKind::Provider, Some(v)) if v != "*" => provider == v,
                    (ScopeKind::Model, Some(v)) if v != "*" => model == v,
                    (ScopeKind::Org | ScopeKind::Provider | ScopeKind::Model, _) => true,
                    _ => false,
                };
                if !in_scope || sums.catalog.is_zero() {
                    continue;
                }
                let pct = ((usd(sums.reported) - usd(sums.catalog)) * Decimal::from(100)
                    / usd(sums.catalog))
                .round_dp(2)
                .normalize();
                out.push(Observation {
                    subject: format!("{provider}/{model}"),
                    crossed: pct.abs() > threshold,
                    value: pct,
                });
            }
            // Prices observed on bills: each model's latest billed day per token class
            // against the catalog price that prices its calls.
            let catalog = store.price_catalog(org).await?.catalog;
            let cells: Vec<_> = store
                .latest_observed_prices(org)
                .await?
                .into_iter()
                .map(|r| (r.provider, r.cell))
                .collect();
            for row in spendlens_query::observed::compare_cells(&catalog, &cells, threshold) {
                let in_scope = match (spec.scope, spec.scope_value.as_deref()) {
                    (ScopeKind::Provider, Some(v)) if v != "*" => row.provider.as_str() == v,
                    (ScopeKind::Model, Some(v)) if v != "*" => {
                        row.model == spendlens_domain::catalog::normalize_model(row.provider, v)
                    }
                    (ScopeKind::Org | ScopeKind::Provider | ScopeKind::Model, _) => true,
                    _ => false,
                };
                let Some(pct) = row.drift_pct.filter(|_| in_scope) else {
                    continue;
                };
                out.push(Observation {
                    subject: bill_subject(&row),
                    crossed: row.drifted,
                    value: pct,
                });
            }
        }
        // Read from the budgets' status by `observe_budgets`.
        RuleKind::SyncFailing | RuleKind::BudgetSoft | RuleKind::BudgetHard => {}
    }
    Ok(out)
}

/// The observations of one billed rule (bills and sync runs).
async fn observe_billed(
    state: &AppState,
    org: OrgId,
    rule: &AlertRuleRow,
    now: OffsetDateTime,
) -> Result<Vec<Observation>, StoreError> {
    let store = state.store();
    let spec = &rule.spec;
    match spec.kind {
        RuleKind::SyncFailing => {
            let runs = store
                .list_sync_runs(
                    org,
                    &SyncRunFilter {
                        limit: Some(500),
                        ..SyncRunFilter::default()
                    },
                )
                .await?;
            // Newest first: count each connection's failures until its first success.
            let mut streaks: HashMap<String, (i64, bool)> = HashMap::new();
            for run in runs {
                let entry = streaks.entry(run.connection_name.clone()).or_default();
                match run.status {
                    SyncRunStatus::Running => {}
                    SyncRunStatus::Failed if !entry.1 => entry.0 += 1,
                    _ => entry.1 = true,
                }
            }
            Ok(streaks
                .into_iter()
                .map(|(subject, (failed, _))| {
                    let value = Decimal::from(failed);
                    Observation {
                        crossed: value >= spec.threshold,
                        subject,
                        value,
                    }
                })
                .collect())
        }
        RuleKind::Spend => {
            let Some(period) = spec.period else {
                return Ok(Vec::new());
            };
            let range = period.so_far(now);
            let connections = store.list_connections(org).await?;
            let provider_of = |id| {
                connections
                    .iter()
                    .find(|c| c.id == id)
                    .map(|c| c.provider.as_str().to_owned())
                    .unwrap_or_default()
            };
            let mut pairs: Vec<(String, Money)> = Vec::new();
            match spec.scope {
                ScopeKind::Model => {
                    for row in store
                        .totals_by_model(org, range, None, &RollupFilter::default())
                        .await?
                    {
                        pairs.push((row.model, row.current.cost));
                    }
                }
                ScopeKind::Workspace => {
                    let names: HashMap<_, _> = store
                        .list_workspaces(org)
                        .await?
                        .into_iter()
                        .map(|w| (w.id, w.display_name))
                        .collect();
                    for row in store
                        .totals_by_workspace(org, range, None, &RollupFilter::default())
                        .await?
                    {
                        let name = row
                            .workspace_id
                            .and_then(|w| names.get(&w).cloned())
                            .unwrap_or_default();
                        pairs.push((name, row.current.cost));
                    }
                }
                _ => {
                    for row in store
                        .totals_by_connection(org, range, None, &RollupFilter::default())
                        .await?
                    {
                        pairs.push((provider_of(row.connection_id), row.current.cost));
                    }
                }
            }
            let each = spec.each();
            let mut sums: HashMap<String, Money> = HashMap::new();
            if !each {
                sums.insert(String::new(), Money::ZERO);
            }
            for (name, cost) in pairs {
                let subject = match (spec.scope, spec.scope_value.as_deref()) {
                    (ScopeKind::Org, _) => String::new(),
                    (_, _) if each && name.is_empty() => continue,
                    (_, _) if each => name,
                    (_, Some(v)) if v == name => String::new(),
                    _ => continue,
                };
                *sums.entry(subject).or_default() += cost;
            }
            Ok(sums
                .into_iter()
                .map(|(subject, cost)| {
                    let value = usd(cost);
                    Observation {
                        crossed: value > spec.threshold,
                        subject,
                        value,
                    }
                })
                .collect())
        }
        _ => Ok(Vec::new()),
    }
}

/// The observations of a budget rule: one per enabled cap (its name), the value its
/// utilization in percent, crossed at the soft limit (`budget_soft`) or the limit
/// (`budget_hard`). The budgets' status is read once per evaluation.
async fn observe_budgets(
    state: &AppState,
    org: OrgId,
    rule: &AlertRuleRow,
    now: OffsetDateTime,
    cache: &mut Option<Vec<spendlens_query::budget::CapStatus>>,
) -> Result<Vec<Observation>, StoreError> {
    use spendlens_domain::budget::eval::BudgetState;
    if cache.is_none() {
        let statuses = state
            .budgets
            .statuses(state.store(), org, now)
            .await
            .map_err(|err| match err {
                spendlens_query::QueryError::Store(store) => store,
                spendlens_query::QueryError::Invalid(message) => StoreError::Invalid(message),
            })?;
        *cache = Some(statuses);
    }
    let wanted = if rule.spec.kind == RuleKind::BudgetHard {
        BudgetState::Hard
    } else {
        BudgetState::Soft
    };
    Ok(cache
        .iter()
        .flatten()
        .filter(|s| s.enabled)
        .map(|s| Observation {
            subject: s.name.clone(),
            value: s.utilization_pct,
            crossed: s.state >= wanted,
        })
        .collect())
}

/// Evaluates an organization's enabled rules: metered ones always, billed ones when `billed`.
pub async fn evaluate_org(
    state: &AppState,
    org: OrgId,
    drift: &DriftFacts,
    billed: bool,
) -> Result<usize, StoreError> {
    let store = state.store();
    let rules: Vec<AlertRuleRow> = store
        .list_alert_rules(org)
        .await?
        .into_iter()
        .filter(|r| r.enabled)
        .collect();
    if rules.is_empty() {
        return Ok(0);
    }
    let states: HashMap<(i64, String), ArmState> = store
        .alert_states(org)
        .await?
        .into_iter()
        .map(|(rule, subject, s)| ((rule, subject), s))
        .collect();
    let now = state.now();
    let mut reads = Reads::default();
    let mut budgets: Option<Vec<spendlens_query::budget::CapStatus>> = None;
    let mut fired = 0;
    for rule in &rules {
        let observations = match rule.spec.source {
            _ if matches!(rule.spec.kind, RuleKind::BudgetSoft | RuleKind::BudgetHard) => {
                observe_budgets(state, org, rule, now, &mut budgets).await?
            }
            Source::Metered => observe_metered(store, org, rule, now, &mut reads, drift).await?,
            Source::Billed if billed => observe_billed(state, org, rule, now).await?,
            Source::Billed => continue,
        };
        let period_key = rule.spec.period_key(now);
        for obs in observations {
            let previous = states.get(&(rule.id, obs.subject.clone()));
            match transition(previous, &period_key, obs.crossed) {
                Transition::Stay => {}
                Transition::Rearm => {
                    store
                        .rearm_alert(
                            rule.id,
                            &obs.subject,
                            &period_key,
                            &obs.value.to_string(),
                            now,
                        )
                        .await?;
                }
                Transition::Fire => {
                    let message = super::message::text(rule, &obs, &period_key);
                    let fire = FireAlert {
                        subject: &obs.subject,
                        period_key: &period_key,
                        value: obs.value.to_string(),
                        message,
                    };
                    if store.fire_alert(org, rule, &fire, now).await?.is_some() {
                        fired += 1;
                        tracing::info!(rule = %rule.name, subject = %obs.subject, value = %obs.value, "alert fired");
                    }
                }
            }
        }
    }
    if fired > 0 {
        state.alerts.wake_delivery();
    }
    Ok(fired)
}

/// The subject of a price observed on a bill: `openai/gpt-4o input, billed 2026-11-02`.
fn bill_subject(row: &spendlens_query::observed::PriceComparisonRow) -> String {
    format!(
        "{}/{} {}{BILLED}{}",
        row.provider,
        row.model,
        row.token_class.label(),
        row.day
    )
}

/// What marks a price-drift subject observed on a bill (the message words it so).
pub(crate) const BILLED: &str = ", billed ";
