//! The API Keys view: spend per key, every known key shown (at zero when idle), and a row for
//! spend no key carries.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet, HashMap};

use rust_decimal::Decimal;
use serde::Serialize;
use spendlens_domain::{Money, ProviderKind};
use spendlens_store::{
    ApiKeyId, ApiKeyRow, ConnectionId, OrgId, Prior, Store, Totals, WorkspaceId,
};

use super::{
    Catalog, Header, Metrics, compare_metrics, compare_opt, cost_per_million, finish_sort,
    set_shares, sum_requests, sum_usage,
};
use crate::QueryError;
use crate::coverage::CoverageMemory;
use crate::params::ViewQuery;
use crate::work::{UnitAmount, WorkSum};

#[derive(Clone, Debug, Serialize)]
pub struct KeyViewRow {
    /// spendlens's id for the key (`null` for spend no key carries).
    pub key_id: Option<ApiKeyId>,
    /// The provider's id for the key.
    pub provider_key_id: Option<String>,
    pub key_name: String,
    pub key_hint: Option<String>,
    pub workspace: Option<String>,
    pub provider: ProviderKind,
    pub status: String,
    /// Part of this key's cost was spread from a coarser billed grain.
    pub allocated: bool,
    pub cost_per_1m: Option<Money>,
    /// Metered ÷ billed spend on the days the bill is final; `null` until metering is set up.
    pub coverage_pct: Option<Decimal>,
    #[serde(flatten)]
    pub metrics: Metrics,
}

#[derive(Clone, Debug, Serialize)]
pub struct KeysReport {
    #[serde(flatten)]
    pub header: Header,
    pub active_keys: usize,
    pub total_requests: Option<i64>,
    /// The rows' work in its own units, summed unit by unit (as the table's total row);
    /// `null` when part of it is unknown.
    pub total_usage: Option<Vec<UnitAmount>>,
    pub average_cost_per_1m: Option<Money>,
    pub rows: Vec<KeyViewRow>,
}

/// Spend per API key, with every known key of the selected providers (at zero when idle)
/// and a row for spend no key carries.
pub async fn keys(
    store: &Store,
    memory: &CoverageMemory,
    org: OrgId,
    query: &ViewQuery,
) -> Result<KeysReport, QueryError> {
    let catalog = Catalog::load(store, org).await?;
    let filter = catalog.filter(query);
    let totals = store
        .totals_by_key(org, query.period, Some(query.previous), &filter)
        .await?;
    // Work in its own units per key (and per connection+workspace for key-less spend).
    let mut key_work: HashMap<ApiKeyId, WorkSum> = HashMap::new();
    let mut keyless_work: BTreeMap<(ConnectionId, Option<WorkspaceId>), WorkSum> = BTreeMap::new();
    for row in catalog
        .unit_totals(store, org, query.period, &filter)
        .await?
    {
        let Some(provider) = catalog.provider(row.connection_id) else {
            continue;
        };
        let entry = match row.api_key_id {
            Some(key) => key_work.entry(key).or_default(),
            None => keyless_work
                .entry((row.connection_id, row.workspace_id))
                .or_default(),
        };
        entry.add(provider, &row.unit, &row.current);
    }
    let known_keys: HashMap<ApiKeyId, ApiKeyRow> = store
        .list_api_keys(org)
        .await?
        .into_iter()
        .map(|k| (k.id, k))
        .collect();
    // Spend per key (and per connection+workspace for key-less spend).
    let mut by_key: HashMap<ApiKeyId, (Totals, Prior)> = HashMap::new();
    let mut keyless: BTreeMap<(ConnectionId, Option<WorkspaceId>), (Totals, Prior)> =
        BTreeMap::new();
    for row in totals {
        if let Some(provider) = catalog.provider(row.connection_id) {
            let work = match row.api_key_id {
                Some(key) => key_work.entry(key).or_default(),
                None => keyless_work
                    .entry((row.connection_id, row.workspace_id))
                    .or_default(),
            };
            work.add_counted(provider, &row.current);
        }
        let entry = match row.api_key_id {
            Some(key) => by_key.entry(key).or_default(),
            None => keyless
                .entry((row.connection_id, row.workspace_id))
                .or_default(),
        };
        entry.0.add(&row.current);
        entry.1 += row.previous;
    }
    let workspace_allowed = |id: Option<WorkspaceId>| match &filter.workspaces {
        None => true,
        Some(ids) => id.is_some_and(|id| ids.contains(&id)),
    };
    let mut rows: Vec<KeyViewRow> = Vec::new();
    for key in known_keys.values() {
        let Some(provider) = catalog.provider(key.connection_id) else {
            continue;
        };
        if !query.includes_provider(provider) || !workspace_allowed(key.workspace_id) {
            continue;
        }
        if query.key.is_some_and(|wanted| wanted != key.id) {
            continue;
        }
        let (current, previous) = by_key.remove(&key.id).unwrap_or_default();
        rows.push(key_row(
            Some(key),
            provider,
            catalog.workspace_name(key.workspace_id, key.connection_id),
            &current,
            Metrics::new(&current, previous)
                .with_history(
                    &catalog.coverage,
                    &BTreeSet::from([key.connection_id]),
                    query.previous,
                )
                .with_work(key_work.remove(&key.id), &[provider]),
        ));
    }
    // Keys present in rollups but not in the key table cannot happen; key-less spend can.
    if query.key.is_none() {
        for ((connection, workspace), (current, previous)) in keyless {
            let Some(provider) = catalog.provider(connection) else {
                continue;
            };
            rows.push(key_row(
                None,
                provider,
                catalog.workspace_name(workspace, connection),
                &current,
                Metrics::new(&current, previous)
                    .with_history(
                        &catalog.coverage,
                        &BTreeSet::from([connection]),
                        query.previous,
                    )
                    .with_work(keyless_work.remove(&(connection, workspace)), &[provider]),
            ));
        }
    }
    if let Some(c) =
        crate::coverage::for_view(store, memory, org, query.period, &query.providers).await?
    {
        let lookup = c.lookup();
        for row in &mut rows {
            row.coverage_pct = lookup.key_pct(row.provider, row.provider_key_id.as_deref());
        }
    }
    rows.retain(|row| {
        query.cost_in_range(row.metrics.cost)
            && query.matches_search(&[
                row.key_name.as_str(),
                row.key_hint.as_deref().unwrap_or(""),
                row.workspace.as_deref().unwrap_or(""),
                row.provider_key_id.as_deref().unwrap_or(""),
                row.provider.as_str(),
            ])
    });
    let total: Money = rows.iter().map(|r| r.metrics.cost).sum();
    set_shares(rows.iter_mut().map(|r| &mut r.metrics), total);
    let column = query.sort.as_str();
    finish_sort(&mut rows, column, query.descending, |a, b| match column {
        "key_name" => a.key_name.to_lowercase().cmp(&b.key_name.to_lowercase()),
        "workspace" => a
            .workspace
            .as_deref()
            .map(str::to_lowercase)
            .cmp(&b.workspace.as_deref().map(str::to_lowercase)),
        "provider" => a.provider.display_name().cmp(b.provider.display_name()),
        "status" => a.status.cmp(&b.status),
        "cost_per_1m" => compare_opt(&a.cost_per_1m, &b.cost_per_1m),
        "coverage" => compare_opt(&a.coverage_pct, &b.coverage_pct),
        _ => compare_metrics(column, &a.metrics, &b.metrics).unwrap_or(Ordering::Equal),
    });
    // Ties keep a stable, readable order.
    let header = Header::new(query, &rows.iter().map(|r| &r.metrics).collect::<Vec<_>>());
    let tokens: i64 = rows.iter().map(|r| r.metrics.total_tokens).sum();
    let token_cost: Money = rows
        .iter()
        .filter(|r| r.metrics.total_tokens > 0)
        .map(|r| r.metrics.cost)
        .sum();
    Ok(KeysReport {
        active_keys: rows
            .iter()
            .filter(|r| {
                r.key_id.is_some() && (r.metrics.total_tokens > 0 || !r.metrics.cost.is_zero())
            })
            .count(),
        total_requests: sum_requests(rows.iter().map(|r| &r.metrics)),
        total_usage: sum_usage(rows.iter().map(|r| &r.metrics)),
        average_cost_per_1m: cost_per_million(token_cost, tokens),
        header,
        rows,
    })
}

fn key_row(
    key: Option<&ApiKeyRow>,
    provider: ProviderKind,
    workspace: String,
    current: &Totals,
    metrics: Metrics,
) -> KeyViewRow {
    KeyViewRow {
        key_id: key.map(|k| k.id),
        provider_key_id: key.map(|k| k.provider_id.clone()),
        key_name: match key {
            Some(k) => k.name.clone().unwrap_or_else(|| unnamed_key(provider, k)),
            None => "(no API key)".to_owned(),
        },
        key_hint: key.and_then(|k| k.hint.clone()),
        workspace: Some(workspace),
        provider,
        status: key.map_or_else(|| "n/a".to_owned(), |k| k.status.clone()),
        allocated: current.allocated_lines > 0,
        cost_per_1m: cost_per_million(current.cost, current.total_tokens()),
        coverage_pct: None,
        metrics,
    }
}

/// The name of a key without one: its id, or for a long hash (LiteLLM's 64-character key
/// hashes, of keys seen only in usage: the master key, deleted keys) its last characters.
pub(super) fn unnamed_key(provider: ProviderKind, key: &ApiKeyRow) -> String {
    let id = &key.provider_id;
    let chars = id.chars().count();
    if chars <= 32 {
        return id.clone();
    }
    let tail: String = id.chars().skip(chars - 8).collect();
    let what = if key.status == "unlisted" {
        format!("unlisted {} key", provider.display_name())
    } else {
        format!("{} key", provider.display_name())
    };
    format!("{what} …{tail}")
}
