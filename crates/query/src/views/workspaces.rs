//! The Workspaces view: spend per workspace display name (workspaces sharing a name merged).

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};

use rust_decimal::Decimal;
use serde::Serialize;
use spendlens_domain::{Money, ProviderKind};
use spendlens_store::{ConnectionId, OrgId, Prior, Store, Totals, WorkspaceId};

use super::sort::provider_names;
use super::{Catalog, Header, Metrics, compare_metrics, compare_opt, finish_sort, set_shares};
use crate::QueryError;
use crate::coverage::CoverageMemory;
use crate::params::ViewQuery;
use crate::work::WorkSum;

#[derive(Clone, Debug, Serialize)]
pub struct WorkspaceViewRow {
    /// The display name: workspaces given the same name are this one row.
    pub workspace: String,
    /// The provider, or providers joined with `+` when the row merges several.
    pub provider: String,
    pub providers: Vec<ProviderKind>,
    pub workspace_ids: Vec<WorkspaceId>,
    /// Metered ÷ billed spend of the row's workspaces on the days their bills are final;
    /// `null` until metering is set up, or without billed spend on final days.
    pub coverage_pct: Option<Decimal>,
    #[serde(flatten)]
    pub metrics: Metrics,
}

#[derive(Clone, Debug, Serialize)]
pub struct WorkspacesReport {
    #[serde(flatten)]
    pub header: Header,
    pub active_workspaces: usize,
    pub cost_by_provider: BTreeMap<ProviderKind, Money>,
    pub rows: Vec<WorkspaceViewRow>,
}

/// Spend per workspace display name (workspaces sharing a name are merged).
pub async fn workspaces(
    store: &Store,
    memory: &CoverageMemory,
    org: OrgId,
    query: &ViewQuery,
) -> Result<WorkspacesReport, QueryError> {
    let catalog = Catalog::load(store, org).await?;
    let filter = catalog.filter(query);
    let totals = store
        .totals_by_workspace(org, query.period, Some(query.previous), &filter)
        .await?;
    let mut work: BTreeMap<String, WorkSum> = BTreeMap::new();
    for row in catalog
        .unit_totals(store, org, query.period, &filter)
        .await?
    {
        if let Some(provider) = catalog.provider(row.connection_id) {
            work.entry(catalog.workspace_name(row.workspace_id, row.connection_id))
                .or_default()
                .add(provider, &row.unit, &row.current);
        }
    }
    struct Merged {
        totals: Totals,
        previous: Prior,
        providers: BTreeSet<ProviderKind>,
        ids: BTreeSet<WorkspaceId>,
        connections: BTreeSet<ConnectionId>,
    }
    // Each name's cost per provider, so merged rows split back for the per-provider card.
    let mut split: BTreeMap<String, BTreeMap<ProviderKind, Money>> = BTreeMap::new();
    let mut merged: BTreeMap<String, Merged> = BTreeMap::new();
    for row in totals {
        let Some(provider) = catalog.provider(row.connection_id) else {
            continue;
        };
        let name = catalog.workspace_name(row.workspace_id, row.connection_id);
        work.entry(name.clone())
            .or_default()
            .add_counted(provider, &row.current);
        *split
            .entry(name.clone())
            .or_default()
            .entry(provider)
            .or_default() += row.current.cost;
        let entry = merged.entry(name).or_insert_with(|| Merged {
            totals: Totals::default(),
            previous: Prior::default(),
            providers: BTreeSet::new(),
            ids: BTreeSet::new(),
            connections: BTreeSet::new(),
        });
        entry.connections.insert(row.connection_id);
        entry.totals.add(&row.current);
        entry.previous += row.previous;
        entry.providers.insert(provider);
        if let Some(id) = row.workspace_id {
            entry.ids.insert(id);
        }
    }
    let mut rows: Vec<WorkspaceViewRow> = merged
        .into_iter()
        .map(|(name, m)| {
            let providers: Vec<ProviderKind> = m.providers.into_iter().collect();
            let metrics = Metrics::new(&m.totals, m.previous)
                .with_history(&catalog.coverage, &m.connections, query.previous)
                .with_work(work.remove(&name), &providers);
            WorkspaceViewRow {
                workspace: name,
                provider: providers
                    .iter()
                    .map(|p| p.as_str())
                    .collect::<Vec<_>>()
                    .join("+"),
                providers,
                workspace_ids: m.ids.into_iter().collect(),
                coverage_pct: None,
                metrics,
            }
        })
        .filter(|row| {
            query.cost_in_range(row.metrics.cost)
                && query.matches_search(&[row.workspace.as_str(), row.provider.as_str()])
        })
        .collect();
    if let Some(c) =
        crate::coverage::for_view(store, memory, org, query.period, &query.providers).await?
    {
        let lookup = c.lookup();
        for row in &mut rows {
            row.coverage_pct = lookup.workspaces_pct(&row.workspace_ids);
        }
    }
    let total: Money = rows.iter().map(|r| r.metrics.cost).sum();
    set_shares(rows.iter_mut().map(|r| &mut r.metrics), total);
    let column = query.sort.as_str();
    finish_sort(&mut rows, column, query.descending, |a, b| match column {
        "workspace" => a.workspace.to_lowercase().cmp(&b.workspace.to_lowercase()),
        "provider" => provider_names(&a.providers).cmp(&provider_names(&b.providers)),
        "coverage" => compare_opt(&a.coverage_pct, &b.coverage_pct),
        _ => compare_metrics(column, &a.metrics, &b.metrics).unwrap_or(Ordering::Equal),
    });
    let mut cost_by_provider: BTreeMap<ProviderKind, Money> = BTreeMap::new();
    for row in &rows {
        for (provider, cost) in split.get(&row.workspace).into_iter().flatten() {
            *cost_by_provider.entry(*provider).or_default() += *cost;
        }
    }
    let header = Header::new(query, &rows.iter().map(|r| &r.metrics).collect::<Vec<_>>());
    Ok(WorkspacesReport {
        header,
        active_workspaces: rows.iter().filter(|r| !r.metrics.cost.is_zero()).count(),
        cost_by_provider,
        rows,
    })
}
