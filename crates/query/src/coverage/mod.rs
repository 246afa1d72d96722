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
pub mod keys;
pub mod math;
pub mod watermark;
pub mod workspaces;

use std::collections::{BTreeMap, HashMap};

use rust_decimal::Decimal;
use serde::Serialize;
use spendlens_domain::catalog::normalize_model;
use spendlens_domain::credential::hint_of;
use spendlens_domain::{Day, DayRange, Money, ProviderKind};
use spendlens_store::{
    ApiKeyRow, ConnectionRow, OrgId, Store, WorkspaceId, WorkspaceRow, meter_extra,
};

use self::daily::{DayCoverage, DaySide};
use self::keys::match_key;
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
    org: OrgId,
    period: DayRange,
    providers: &[ProviderKind],
) -> Result<Option<CoverageReport>, QueryError> {
    viewed(store, org, period, providers, false).await
}

/// [`for_view`] with each provider's day-by-day series, for the Providers view's chart.
pub async fn for_providers_view(
    store: &Store,
    org: OrgId,
    period: DayRange,
    providers: &[ProviderKind],
) -> Result<Option<CoverageReport>, QueryError> {
    viewed(store, org, period, providers, true).await
}

async fn viewed(
    store: &Store,
    org: OrgId,
    period: DayRange,
    providers: &[ProviderKind],
    daily: bool,
) -> Result<Option<CoverageReport>, QueryError> {
    if store.meter_dimension_values(org, 0).await?.is_empty() {
        return Ok(None);
    }
    let query = CoverageQuery {
        period,
        providers: providers.to_vec(),
        daily,
    };
    Ok(Some(coverage(store, org, &query).await?))
}

impl CoverageReport {
    pub fn provider(&self, provider: ProviderKind) -> Option<&ProviderReport> {
        self.providers.iter().find(|p| p.provider == provider)
    }

    /// One billed key's coverage (`None`: spend no key carries).
    pub fn key_pct(
        &self,
        provider: ProviderKind,
        provider_key_id: Option<&str>,
    ) -> Option<Decimal> {
        self.provider(provider)?
            .keys
            .iter()
            .find(|k| k.billed && k.provider_key_id.as_deref() == provider_key_id)
            .and_then(|k| k.ratio.coverage_pct)
    }

    /// One model's coverage (the name as billed; normalized here as on both sides of the join).
    pub fn model_pct(&self, provider: ProviderKind, model: &str) -> Option<Decimal> {
        let model = normalize_model(provider, model);
        self.provider(provider)?
            .models
            .iter()
            .find(|m| m.model == model)
            .and_then(|m| m.ratio.coverage_pct)
    }

    /// Metered ÷ billed cost of some billed workspaces together (a Workspaces row merges the
    /// workspaces sharing a display name); `None` when they have no billed cost on final days.
    pub fn workspaces_pct(&self, ids: &[WorkspaceId]) -> Option<Decimal> {
        let (mut billed, mut metered) = (0i128, 0i128);
        for w in self.providers.iter().flat_map(|p| &p.workspaces) {
            if w.workspace_id.is_some_and(|id| ids.contains(&id)) {
                billed += i128::from(w.ratio.billed_cost.nanos());
                metered += i128::from(w.ratio.metered_cost.nanos());
            }
        }
        math::percent(metered, billed)
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

/// A provider's connections and what is known of them.
struct ProviderSide<'a> {
    connections: Vec<&'a ConnectionRow>,
    complete_through: Option<Day>,
}

/// Reads and computes coverage for a period (see the module docs).
pub async fn coverage(
    store: &Store,
    org: OrgId,
    query: &CoverageQuery,
) -> Result<CoverageReport, QueryError> {
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
    let metered_providers = store.meter_dimension_values(org, 0).await?;
    for name in &metered_providers {
        if let Ok(provider) = name.parse::<ProviderKind>()
            && wanted(provider)
        {
            sides.entry(provider).or_insert_with(|| ProviderSide {
                connections: Vec::new(),
                complete_through: None,
            });
        }
    }
    let keys = store.list_api_keys(org).await?;
    let workspace_rows = store.list_workspaces(org).await?;
    let (billed_days, metered_days) = if query.daily {
        (
            store.billed_connection_days(org, query.period).await?,
            store.metered_provider_days(org, query.period).await?,
        )
    } else {
        (Vec::new(), Vec::new())
    };
    let mut providers = Vec::new();
    for (provider, side) in &sides {
        let names: Vec<String> = metered_providers
            .iter()
            .filter(|n| n.parse::<ProviderKind>().ok() == Some(*provider))
            .cloned()
            .collect();
        let known = Known {
            keys: &keys,
            workspaces: &workspace_rows,
        };
        let mut report =
            provider_report(store, org, query.period, *provider, side, &names, known).await?;
        if query.daily {
            let ids: Vec<_> = side.connections.iter().map(|c| c.id).collect();
            let mut billed: BTreeMap<Day, DaySide> = BTreeMap::new();
            for (_, day, totals) in billed_days.iter().filter(|r| ids.contains(&r.0)) {
                billed
                    .entry(*day)
                    .or_default()
                    .add(totals.cost, billed_tokens(totals));
            }
            let mut metered: BTreeMap<Day, DaySide> = BTreeMap::new();
            for (_, day, metrics) in metered_days
                .iter()
                .filter(|r| r.0.parse::<ProviderKind>().ok() == Some(*provider))
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
            || !side.connections.is_empty()
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
    metered_names: &[String],
    known_rows: Known<'_>,
) -> Result<ProviderReport, QueryError> {
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
    let metered_rows = if metered_names.is_empty() {
        Vec::new()
    } else {
        store
            .metered_by_key_model(org, metered_names, comparable, lag)
            .await?
    };
    let by_id: HashMap<i64, &ApiKeyRow> = keys.iter().map(|k| (k.id.0, k)).collect();
    // The provider's billed keys: (provider id, hint), for matching metered keys.
    let known: Vec<(String, Option<String>)> = keys
        .iter()
        .filter(|k| ids.contains(&k.connection_id))
        .map(|k| (k.provider_id.clone(), k.hint.clone()))
        .collect();
    let places = Workspaces::new(known_rows.workspaces, keys, &ids);
    let reports_requests = provider.reports_request_counts();
    let mut input = ProviderInput::default();
    let mut billed_keys = false;
    for row in &billed_rows {
        input.billed_lag += row.lag.cost;
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
        input.metered_lag += row.lag.totals.cost;
        let m = &row.comparable;
        if m.is_zero() {
            continue;
        }
        let key: JoinKey = (!row.api_key.is_empty()).then(|| {
            match_key(&row.api_key, &known).map_or_else(|| row.api_key.clone(), str::to_owned)
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
    for cause in &mut causes {
        let unmetered = cause.cause == math::CauseKind::UnmeteredKeys;
        for row in &mut cause.rows {
            match input.join {
                Join::WorkspaceAndModel => places.label_row(row, unmetered),
                Join::KeyAndModel => label_row(row, unmetered, &keys_out),
                Join::Model => label_row(row, false, &keys_out),
            }
        }
    }
    Ok(ProviderReport {
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
    })
}

/// Names a cause row's key: the billed key's name, or the metered key masked.
fn label_row(row: &mut math::CauseRow, keyless_is_spend: bool, keys: &[KeyCoverage]) {
    let Some(key) = row.key.clone() else {
        if keyless_is_spend {
            row.key_name = Some("(spend no key carries)".to_owned());
        }
        return;
    };
    match keys
        .iter()
        .find(|k| k.provider_key_id.as_ref() == Some(&key))
    {
        Some(k) => row.key_name = Some(k.key_name.clone()),
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
    let mut out: Vec<KeyCoverage> = per_key
        .iter()
        .map(|(key, ratio)| {
            let billed = keys.iter().find(|k| {
                connections.contains(&k.connection_id) && Some(&k.provider_id) == key.as_ref()
            });
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
