//! Coverage: what share of each provider's bill is metered, and why the rest is not.
//!
//! This module reads (from rollups only: `cost.key_model` for the bill, `meter_day` for the
//! meter) and names things; the join and the gap split are the pure [`math`], and where a
//! bill is final is the pure [`watermark`].
//!
//! Both sides are joined by provider, provider key (the metered key matched to a billed key's
//! id or hint) and model, normalized the same way on both sides
//! (`domain::catalog::normalize_model`). Providers whose bill has no keys (Bedrock, Vertex,
//! Runway) or whose events carry none join by workspace and model when the events name billed
//! workspaces, else by model only. An event's workspace is the billed workspace whose provider
//! id it carries (so a renamed workspace still joins), else the one whose name it carries, else
//! its key's workspace ([`workspaces::match_workspace`]).

pub mod csv;
pub mod daily;
mod keep;
pub mod keys;
pub mod math;
pub mod watermark;
pub mod workspaces;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use rust_decimal::Decimal;
use serde::Serialize;
use spendlens_domain::catalog::normalize_model;
use spendlens_domain::credential::hint_of;
use spendlens_domain::{Day, DayRange, Money, ProviderKind};
use spendlens_store::{
    ApiKeyRow, ConnectionRow, OrgId, Store, WorkspaceId, WorkspaceRow, meter_extra,
};

use self::daily::{DayCoverage, DaySide};
pub use self::keep::CoverageMemory;
use self::keep::{Comparable, ProviderStamp, Stamp};
use self::keys::KeyMatcher;
use self::math::{BilledCell, Cause, Join, JoinKey, MeteredCell, ProviderInput, Ratio};
use self::workspaces::{WorkspaceCoverage, Workspaces};
use crate::QueryError;

/// What coverage is asked for: a period and, optionally, some providers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CoverageQuery {
    pub period: DayRange,
    /// Empty: every provider.
    pub providers: Vec<ProviderKind>,
    /// Also each provider's day-by-day series (two more rollup reads).
    pub daily: bool,
}

/// Said on every coverage report.
pub const WORKSPACE_NOTE: &str = "A metered call counts in the billed workspace whose id (or, \
    failing that, name) its workspace field carries, else in its API key's workspace; calls \
    naming neither count under no workspace.";

/// Coverage of every provider with a bill or metered traffic in the period.
#[derive(Clone, Debug, Serialize)]
pub struct CoverageReport {
    pub period: DayRange,
    pub time_zone: &'static str,
    pub currency: &'static str,
    /// All providers together, over each one's comparable days.
    pub total: Ratio,
    pub billed_cost: Money,
    pub metered_cost: Money,
    pub providers: Vec<ProviderReport>,
    pub notes: Vec<&'static str>,
}

/// One provider's coverage.
#[derive(Clone, Debug, Serialize)]
pub struct ProviderReport {
    pub provider: ProviderKind,
    pub provider_name: &'static str,
    /// The last day the bill is final for (every connection of the provider); `null` before
    /// the first sync.
    pub complete_through: Option<Day>,
    /// The days the ratio compares; `null` when none is complete yet.
    pub comparable: Option<DayRange>,
    /// The days after `complete_through`, counted as billing lag.
    pub lag: Option<DayRange>,
    /// `key_and_model`; `workspace_and_model` when the bill or the events carry no keys but
    /// both name workspaces; else `model`.
    pub join: Join,
    #[serde(flatten)]
    pub ratio: Ratio,
    /// Over the whole period: billed = metered + the causes' amounts.
    pub period_billed_cost: Money,
    pub period_metered_cost: Money,
    pub causes: Vec<Cause>,
    pub keys: Vec<KeyCoverage>,
    /// Per billed workspace (and the metered calls naming no billed workspace).
    pub workspaces: Vec<WorkspaceCoverage>,
    pub models: Vec<ModelCoverage>,
    /// Every day of the period (when asked for): the day's ratio while its bill is final,
    /// `lag` after. The comparable days' sums are `billed_cost` and `metered_cost` above.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub days: Option<Vec<DayCoverage>>,
}

/// One API key's coverage.
#[derive(Clone, Debug, Serialize)]
pub struct KeyCoverage {
    /// The provider's id for the key (as billed); `null` for spend no key carries.
    pub provider_key_id: Option<String>,
    pub key_name: String,
    /// The key's hint, or the metered key masked when no billed key matched it.
    pub key_hint: Option<String>,
    /// The key is on the bill (`false`: only metered traffic names it).
    pub billed: bool,
    #[serde(flatten)]
    pub ratio: Ratio,
}

/// One model's coverage (normalized name).
#[derive(Clone, Debug, Serialize)]
pub struct ModelCoverage {
    pub model: String,
    #[serde(flatten)]
    pub ratio: Ratio,
}

/// A stored key value shown masked: hints as they are, anything else cut to its prefix, three
/// characters and the last four.
pub fn mask(stored: &str) -> String {
    if stored.contains('…') || stored.contains("...") {
        return stored.to_owned();
    }
    let prefix_len = stored
        .char_indices()
        .take(16)
        .filter(|(_, c)| *c == '-' || *c == '_')
        .map(|(i, _)| i + 1)
        .last()
        .unwrap_or(0);
    hint_of(stored, prefix_len)
}

/// Coverage for a metric view: `None` while the organization has no metered traffic at all
/// (metering not set up: the view shows N/A rather than 0 %).
pub async fn for_view(
    store: &Store,
    memory: &CoverageMemory,
    org: OrgId,
    period: DayRange,
    providers: &[ProviderKind],
) -> Result<Option<CoverageReport>, QueryError> {
    viewed(store, memory, org, period, providers, false).await
}

/// [`for_view`] with each provider's day-by-day series, for the Providers view's chart.
pub async fn for_providers_view(
    store: &Store,
    memory: &CoverageMemory,
    org: OrgId,
    period: DayRange,
    providers: &[ProviderKind],
) -> Result<Option<CoverageReport>, QueryError> {
    viewed(store, memory, org, period, providers, true).await
}

async fn viewed(
    store: &Store,
    memory: &CoverageMemory,
    org: OrgId,
    period: DayRange,
    providers: &[ProviderKind],
    daily: bool,
) -> Result<Option<CoverageReport>, QueryError> {
    if store.metered_provider_names(org).await?.is_empty() {
        return Ok(None);
    }
    let query = CoverageQuery {
        period,
        providers: providers.to_vec(),
        daily,
    };
    Ok(Some(coverage_kept(store, memory, org, &query).await?))
}

impl CoverageReport {
    pub fn provider(&self, provider: ProviderKind) -> Option<&ProviderReport> {
        self.providers.iter().find(|p| p.provider == provider)
    }

    /// The per-key, per-model and per-workspace figures indexed for a view's rows (one lookup
    /// per row rather than a pass over the report's rows).
    pub fn lookup(&self) -> CoverageLookup<'_> {
        let mut lookup = CoverageLookup::default();
        // One report per provider; within it the first matching row wins, as a search would.
        for p in &self.providers {
            for k in p.keys.iter().filter(|k| k.billed) {
                lookup
                    .keys
                    .entry((p.provider, k.provider_key_id.as_deref()))
                    .or_insert(k.ratio.coverage_pct);
            }
            for m in &p.models {
                lookup
                    .models
                    .entry((p.provider, m.model.as_str()))
                    .or_insert(m.ratio.coverage_pct);
            }
            for w in &p.workspaces {
                if let Some(id) = w.workspace_id {
                    let sums = lookup.workspaces.entry(id).or_default();
                    sums.0 += i128::from(w.ratio.billed_cost.nanos());
                    sums.1 += i128::from(w.ratio.metered_cost.nanos());
                }
            }
        }
        lookup
    }

    /// Metered ÷ billed cost over some providers (those a view shows).
    pub fn shown(&self, providers: impl Iterator<Item = ProviderKind>) -> Option<Decimal> {
        let (mut billed, mut metered) = (0i128, 0i128);
        for provider in providers {
            if let Some(p) = self.provider(provider) {
                billed += i128::from(p.ratio.billed_cost.nanos());
                metered += i128::from(p.ratio.metered_cost.nanos());
            }
        }
        math::percent(metered, billed)
    }
}

/// A report's figures by row identity, for the views (see [`CoverageReport::lookup`]).
#[derive(Default)]
pub struct CoverageLookup<'a> {
    keys: HashMap<(ProviderKind, Option<&'a str>), Option<Decimal>>,
    models: HashMap<(ProviderKind, &'a str), Option<Decimal>>,
    /// Billed and metered nano-dollars per billed workspace.
    workspaces: HashMap<WorkspaceId, (i128, i128)>,
}

impl CoverageLookup<'_> {
    /// One billed key's coverage (`None`: spend no key carries).
    pub fn key_pct(
        &self,
        provider: ProviderKind,
        provider_key_id: Option<&str>,
    ) -> Option<Decimal> {
        self.keys
            .get(&(provider, provider_key_id))
            .copied()
            .flatten()
    }

    /// One model's coverage (the name as billed; normalized here as on both sides of the join).
    pub fn model_pct(&self, provider: ProviderKind, model: &str) -> Option<Decimal> {
        let model = normalize_model(provider, model);
        self.models
            .get(&(provider, model.as_str()))
            .copied()
            .flatten()
    }

    /// Metered ÷ billed cost of some billed workspaces together (a Workspaces row merges the
    /// workspaces sharing a display name); `None` when they have no billed cost on final days.
    pub fn workspaces_pct(&self, ids: &[WorkspaceId]) -> Option<Decimal> {
        let (mut billed, mut metered) = (0i128, 0i128);
        let unique: std::collections::BTreeSet<&WorkspaceId> = ids.iter().collect();
        for id in unique {
            if let Some((b, m)) = self.workspaces.get(id) {
                billed += b;
                metered += m;
            }
        }
        math::percent(metered, billed)
    }
}

/// A provider's connections and what is known of them.
struct ProviderSide<'a> {
    connections: Vec<&'a ConnectionRow>,
    complete_through: Option<Day>,
    /// The provider names its metered calls carry.
    names: Vec<String>,
}

/// Reads and computes coverage for a period (see the module docs), keeping nothing.
pub async fn coverage(
    store: &Store,
    org: OrgId,
    query: &CoverageQuery,
) -> Result<CoverageReport, QueryError> {
    coverage_kept(store, &CoverageMemory::default(), org, query).await
}

/// [`coverage`], with the comparable days' figures kept in `memory` while they are current
/// (see [`keep`]): a request then reads a few rows per provider.
pub async fn coverage_kept(
    store: &Store,
    memory: &CoverageMemory,
    org: OrgId,
    query: &CoverageQuery,
) -> Result<CoverageReport, QueryError> {
    // The stamp is read before the data it stands for (see `keep`).
    let revision = store.rollup_revision(org).await?;
    let wanted = |p: ProviderKind| query.providers.is_empty() || query.providers.contains(&p);
    let connections = store.list_connections(org).await?;
    let mut sides: BTreeMap<ProviderKind, ProviderSide<'_>> = BTreeMap::new();
    for connection in connections.iter().filter(|c| wanted(c.provider)) {
        let through = watermark::complete_through(
            connection.provider,
            connection.synced_through,
            connection.last_success_at.map(Day::of),
        );
        let side = sides
            .entry(connection.provider)
            .or_insert_with(|| ProviderSide {
                connections: Vec::new(),
                complete_through: through,
                names: Vec::new(),
            });
        // A day is comparable only when every connection's bill is final for it.
        if !side.connections.is_empty() {
            side.complete_through = match (side.complete_through, through) {
                (Some(a), Some(b)) => Some(a.min(b)),
                _ => None,
            };
        }
        side.connections.push(connection);
    }
    // Metered providers without a connection still show (their traffic has no bill).
    for name in store.metered_provider_names(org).await? {
        if let Ok(provider) = name.parse::<ProviderKind>()
            && wanted(provider)
        {
            sides
                .entry(provider)
                .or_insert_with(|| ProviderSide {
                    connections: Vec::new(),
                    complete_through: None,
                    names: Vec::new(),
                })
                .names
                .push(name);
        }
    }
    let workspace_rows = store.list_workspaces(org).await?;
    // Each provider's metered totals over its comparable days (the stamp) and its lag days.
    let mut stamp = Stamp {
        revision,
        workspaces: workspace_rows
            .iter()
            .map(|w| (w.id, w.display_name.clone()))
            .collect(),
        providers: Vec::new(),
    };
    let mut metered_lag: BTreeMap<ProviderKind, Money> = BTreeMap::new();
    for (provider, side) in &sides {
        let (comparable, lag) = watermark::split_period(query.period, side.complete_through);
        let (metered, lagging) = store
            .metered_provider_sums(org, &side.names, comparable, lag)
            .await?;
        metered_lag.insert(*provider, lagging.totals.cost);
        stamp.providers.push(ProviderStamp {
            provider: *provider,
            connections: side.connections.iter().map(|c| c.id).collect(),
            complete_through: side.complete_through,
            names: side.names.clone(),
            metered,
        });
    }
    let comparable = match memory.get(org, query, &stamp) {
        Some(kept) => kept,
        None => {
            let computed =
                Arc::new(comparable_days(store, org, query, &sides, &workspace_rows).await?);
            memory.keep(org, query, stamp, Arc::clone(&computed));
            computed
        }
    };
    let metered_days = if query.daily {
        store.metered_provider_days(org, query.period).await?
    } else {
        Vec::new()
    };
    let mut providers = Vec::new();
    for (kept, billed_lag) in &comparable.providers {
        let mut report = kept.clone();
        let provider = report.provider;
        let lag = metered_lag.get(&provider).copied().unwrap_or_default();
        report.period_billed_cost += *billed_lag;
        report.period_metered_cost += lag;
        math::add_lag_cause(&mut report.causes, *billed_lag, lag);
        if query.daily {
            let side = &sides[&provider];
            let ids: Vec<_> = side.connections.iter().map(|c| c.id).collect();
            let mut billed: BTreeMap<Day, DaySide> = BTreeMap::new();
            for (_, day, totals) in comparable.billed_days.iter().filter(|r| ids.contains(&r.0)) {
                billed
                    .entry(*day)
                    .or_default()
                    .add(totals.cost, billed_tokens(totals));
            }
            let mut metered: BTreeMap<Day, DaySide> = BTreeMap::new();
            for (_, day, metrics) in metered_days
                .iter()
                .filter(|r| r.0.parse::<ProviderKind>().ok() == Some(provider))
            {
                metered
                    .entry(*day)
                    .or_default()
                    .add(metrics.totals.cost, metered_tokens(&metrics.totals));
            }
            report.days = Some(daily::daily(
                query.period,
                side.complete_through,
                &billed,
                &metered,
            ));
        }
        if !report.period_billed_cost.is_zero()
            || !report.period_metered_cost.is_zero()
            || report.ratio.metered_calls > 0
            || !sides[&provider].connections.is_empty()
        {
            providers.push(report);
        }
    }
    let mut total = Ratio::default();
    let mut requests = Some(0i64);
    for p in &providers {
        total.billed_cost += p.ratio.billed_cost;
        total.metered_cost += p.ratio.metered_cost;
        total.billed_tokens = total.billed_tokens.saturating_add(p.ratio.billed_tokens);
        total.metered_tokens = total.metered_tokens.saturating_add(p.ratio.metered_tokens);
        total.metered_calls = total.metered_calls.saturating_add(p.ratio.metered_calls);
        requests = requests.zip(p.ratio.billed_requests).map(|(a, b)| a + b);
    }
    total.billed_requests = requests;
    total.coverage_pct = math::percent(
        i128::from(total.metered_cost.nanos()),
        i128::from(total.billed_cost.nanos()),
    );
    total.token_coverage_pct = math::percent(
        i128::from(total.metered_tokens),
        i128::from(total.billed_tokens),
    );
    Ok(CoverageReport {
        period: query.period,
        time_zone: "UTC",
        currency: "USD",
        billed_cost: providers.iter().map(|p| p.period_billed_cost).sum(),
        metered_cost: providers.iter().map(|p| p.period_metered_cost).sum(),
        total,
        providers,
        notes: vec![WORKSPACE_NOTE],
    })
}

/// Every provider's coverage over its comparable days (the join: every billed and metered
/// key and model of those days), with its lag days' billed cost.
async fn comparable_days(
    store: &Store,
    org: OrgId,
    query: &CoverageQuery,
    sides: &BTreeMap<ProviderKind, ProviderSide<'_>>,
    workspace_rows: &[WorkspaceRow],
) -> Result<Comparable, QueryError> {
    let keys = store.list_api_keys(org).await?;
    let billed_days = if query.daily {
        store.billed_connection_days(org, query.period).await?
    } else {
        Vec::new()
    };
    let mut providers = Vec::new();
    for (provider, side) in sides {
        let known = Known {
            keys: &keys,
            workspaces: workspace_rows,
        };
        providers.push(provider_report(store, org, query.period, *provider, side, known).await?);
    }
    Ok(Comparable {
        providers,
        billed_days,
    })
}

/// Billed tokens of a cell: all input (cache parts included) and output.
fn billed_tokens(t: &spendlens_store::Totals) -> i64 {
    t.input_tokens.saturating_add(t.output_tokens)
}

/// Metered tokens of a cell: the meter keeps uncached input, cache reads and writes apart.
fn metered_tokens(t: &spendlens_store::Totals) -> i64 {
    t.input_tokens
        .saturating_add(t.cache_read_tokens)
        .saturating_add(t.cache_write_tokens)
        .saturating_add(t.output_tokens)
}

/// The organization's billed keys and workspaces, for naming and matching.
#[derive(Clone, Copy)]
struct Known<'a> {
    keys: &'a [ApiKeyRow],
    workspaces: &'a [WorkspaceRow],
}

async fn provider_report(
    store: &Store,
    org: OrgId,
    period: DayRange,
    provider: ProviderKind,
    side: &ProviderSide<'_>,
    known_rows: Known<'_>,
) -> Result<(ProviderReport, Money), QueryError> {
    let keys = known_rows.keys;
    let (comparable, lag) = watermark::split_period(period, side.complete_through);
    let ids: Vec<_> = side.connections.iter().map(|c| c.id).collect();
    let billed_rows = if ids.is_empty() {
        Vec::new()
    } else {
        store
            .billed_by_key_model(org, &ids, comparable, lag)
            .await?
    };
    // The metered lag days are read fresh by the caller (one series per provider).
    let metered_rows = if side.names.is_empty() {
        Vec::new()
    } else {
        store
            .metered_by_key_model(org, &side.names, comparable, None)
            .await?
    };
    let by_id: HashMap<i64, &ApiKeyRow> = keys.iter().map(|k| (k.id.0, k)).collect();
    // The provider's billed keys: (provider id, hint), for matching metered keys.
    let known: Vec<(String, Option<String>)> = keys
        .iter()
        .filter(|k| ids.contains(&k.connection_id))
        .map(|k| (k.provider_id.clone(), k.hint.clone()))
        .collect();
    let matcher = KeyMatcher::new(&known);
    let places = Workspaces::new(known_rows.workspaces, keys, &ids);
    let reports_requests = provider.reports_request_counts();
    let mut input = ProviderInput::default();
    let mut billed_lag = Money::ZERO;
    let mut billed_keys = false;
    for row in &billed_rows {
        billed_lag += row.lag.cost;
        if row.comparable.lines == 0 {
            continue;
        }
        let key = row
            .api_key_id
            .and_then(|id| by_id.get(&id.0))
            .map(|k| k.provider_id.clone());
        billed_keys |= key.is_some();
        input.billed.push(BilledCell {
            key,
            workspace: row.workspace_id.map(Workspaces::join_key),
            model: normalize_model(provider, &row.model),
            cost: row.comparable.cost,
            tokens: billed_tokens(&row.comparable),
            requests: if reports_requests {
                row.comparable.known_requests()
            } else {
                None
            },
        });
    }
    let mut metered_keys = false;
    let (mut billed_workspaces, mut metered_workspaces) = (false, false);
    billed_workspaces |= input.billed.iter().any(|b| b.workspace.is_some());
    for row in &metered_rows {
        let m = &row.comparable;
        if m.is_zero() {
            continue;
        }
        let key: JoinKey = (!row.api_key.is_empty()).then(|| {
            matcher
                .find(&row.api_key)
                .map_or_else(|| row.api_key.clone(), str::to_owned)
        });
        metered_keys |= key.is_some();
        let (workspace, named) = places.of_metered(&row.workspace, key.as_deref());
        metered_workspaces |= named;
        input.metered.push(MeteredCell {
            key,
            workspace,
            model: normalize_model(provider, &row.model),
            failed: row.status != "ok",
            cost: m.totals.cost,
            tokens: metered_tokens(&m.totals),
            calls: m.totals.requests,
            unpriced: m.extra[meter_extra::UNPRICED],
        });
    }
    input.join = if billed_keys && metered_keys {
        Join::KeyAndModel
    } else if billed_workspaces && metered_workspaces {
        Join::WorkspaceAndModel
    } else {
        Join::Model
    };
    let computed = math::provider_coverage(&input);
    let keys_out = key_rows(&computed.per_key, keys, &ids);
    let workspaces_out = places.rows(&computed.per_workspace);
    let models = computed
        .per_model
        .into_iter()
        .map(|(model, ratio)| ModelCoverage { model, ratio })
        .collect();
    let mut causes = computed.causes;
    let key_names: HashMap<&str, &str> = keys_out
        .iter()
        .rev()
        .filter_map(|k| Some((k.provider_key_id.as_deref()?, k.key_name.as_str())))
        .collect();
    for cause in &mut causes {
        let unmetered = cause.cause == math::CauseKind::UnmeteredKeys;
        for row in &mut cause.rows {
            match input.join {
                Join::WorkspaceAndModel => places.label_row(row, unmetered),
                Join::KeyAndModel => label_row(row, unmetered, &key_names),
                Join::Model => label_row(row, false, &key_names),
            }
        }
    }
    let report = ProviderReport {
        provider,
        provider_name: provider.display_name(),
        complete_through: side.complete_through,
        comparable,
        lag,
        join: input.join,
        ratio: computed.ratio,
        period_billed_cost: computed.billed_cost,
        period_metered_cost: computed.metered_cost,
        causes,
        keys: keys_out,
        workspaces: workspaces_out,
        models,
        days: None,
    };
    Ok((report, billed_lag))
}

/// Names a cause row's key: the billed key's name, or the metered key masked.
/// `key_names`: each key row's provider key id → its name (the first row's, as they are listed).
fn label_row(row: &mut math::CauseRow, keyless_is_spend: bool, key_names: &HashMap<&str, &str>) {
    let Some(key) = row.key.clone() else {
        if keyless_is_spend {
            row.key_name = Some("(spend no key carries)".to_owned());
        }
        return;
    };
    match key_names.get(key.as_str()) {
        Some(name) => row.key_name = Some((*name).to_owned()),
        None => {
            // A key only the meter names: shown masked, like every metered key.
            row.key = Some(mask(&key));
            row.key_name = Some(format!("{} (not on the bill)", mask(&key)));
        }
    }
}

fn key_rows(
    per_key: &BTreeMap<JoinKey, Ratio>,
    keys: &[ApiKeyRow],
    connections: &[spendlens_store::ConnectionId],
) -> Vec<KeyCoverage> {
    // The provider's billed keys by provider id (the first in list order, as a search finds).
    let billed_keys: HashMap<&str, &ApiKeyRow> = keys
        .iter()
        .rev()
        .filter(|k| connections.contains(&k.connection_id))
        .map(|k| (k.provider_id.as_str(), k))
        .collect();
    let mut out: Vec<KeyCoverage> = per_key
        .iter()
        .map(|(key, ratio)| {
            let billed = key.as_deref().and_then(|key| billed_keys.get(key).copied());
            match (key, billed) {
                (None, _) => KeyCoverage {
                    provider_key_id: None,
                    key_name: "(no key)".to_owned(),
                    key_hint: None,
                    billed: !ratio.billed_cost.is_zero() || ratio.billed_tokens > 0,
                    ratio: ratio.clone(),
                },
                (Some(_), Some(k)) => KeyCoverage {
                    provider_key_id: Some(k.provider_id.clone()),
                    key_name: k.name.clone().unwrap_or_else(|| k.provider_id.clone()),
                    key_hint: k.hint.clone(),
                    billed: true,
                    ratio: ratio.clone(),
                },
                (Some(raw), None) => KeyCoverage {
                    provider_key_id: None,
                    key_name: "(not on the bill)".to_owned(),
                    key_hint: Some(mask(raw)),
                    billed: false,
                    ratio: ratio.clone(),
                },
            }
        })
        .collect();
    out.sort_by_key(|k| std::cmp::Reverse(k.ratio.billed_cost));
    out
}
