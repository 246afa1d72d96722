//! The Providers view: spend per provider, with coverage and the currencies billed in.

use std::collections::{BTreeMap, BTreeSet};

use rust_decimal::Decimal;
use serde::Serialize;
use spendlens_domain::{Day, Money, ProviderKind};
use spendlens_store::{ConnectionId, OrgId, Prior, Store, Totals};

use super::{Catalog, Header, Metrics, compare_metrics, compare_opt, finish_sort, set_shares};
use crate::QueryError;
use crate::coverage::CoverageMemory;
use crate::params::ViewQuery;
use crate::work::WorkSum;

#[derive(Clone, Debug, Serialize)]
pub struct ProviderRow {
    pub provider: ProviderKind,
    pub provider_name: &'static str,
    pub connections: Vec<String>,
    #[serde(flatten)]
    pub metrics: Metrics,
    /// Metered spend ÷ billed spend. `null` until metering is set up.
    pub coverage_pct: Option<Decimal>,
    /// The last day every connection's bill is final for (its sync watermark, never today;
    /// see `coverage::watermark`); `null` before a first sync.
    pub complete_through: Option<Day>,
    /// The currencies other than USD this provider's connections bill in during the period
    /// (their amounts are shown converted to USD at the provider's own rate).
    pub billed_in: Vec<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct ProvidersReport {
    #[serde(flatten)]
    pub header: Header,
    pub provider_count: usize,
    pub rows: Vec<ProviderRow>,
    /// Metered ÷ billed spend of the providers shown, over the days their bills are final;
    /// `null` until metering is set up (details: `GET /api/v1/coverage`).
    pub coverage_pct: Option<Decimal>,
    /// The coverage behind the column and card (the page draws its waterfall).
    #[serde(skip)]
    pub coverage: Option<crate::coverage::CoverageReport>,
}

/// Spend per provider.
pub async fn providers(
    store: &Store,
    memory: &CoverageMemory,
    org: OrgId,
    query: &ViewQuery,
) -> Result<ProvidersReport, QueryError> {
    let catalog = Catalog::load(store, org).await?;
    let filter = catalog.filter(query);
    let totals = store
        .totals_by_connection(org, query.period, Some(query.previous), &filter)
        .await?;
    let mut work: BTreeMap<ProviderKind, WorkSum> = BTreeMap::new();
    for row in catalog
        .unit_totals(store, org, query.period, &filter)
        .await?
    {
        if let Some(provider) = catalog.provider(row.connection_id) {
            work.entry(provider)
                .or_default()
                .add(provider, &row.unit, &row.current);
        }
    }
    type Entry = (Totals, Prior, BTreeSet<String>, BTreeSet<ConnectionId>);
    let mut by_provider: BTreeMap<ProviderKind, Entry> = BTreeMap::new();
    for row in totals {
        let Some(connection) = catalog.connections.get(&row.connection_id) else {
            continue;
        };
        work.entry(connection.provider)
            .or_default()
            .add_counted(connection.provider, &row.current);
        let entry = by_provider.entry(connection.provider).or_default();
        entry.0.add(&row.current);
        entry.1 += row.previous;
        entry.2.insert(connection.name.clone());
        entry.3.insert(connection.id);
    }
    // Connected providers with nothing in the period still show, at zero.
    for connection in catalog.connections.values() {
        if query.includes_provider(connection.provider) {
            by_provider
                .entry(connection.provider)
                .or_default()
                .2
                .insert(connection.name.clone());
        }
    }
    let coverage =
        crate::coverage::for_providers_view(store, memory, org, query.period, &query.providers)
            .await?;
    let all_ids: Vec<ConnectionId> = by_provider
        .values()
        .flat_map(|e| e.3.iter().copied())
        .collect();
    let foreign = store
        .foreign_billing_currencies(&all_ids, query.period)
        .await?;
    let mut rows: Vec<ProviderRow> = by_provider
        .into_iter()
        .map(|(provider, (current, previous, names, ids))| {
            let billed_in: BTreeSet<String> = foreign
                .iter()
                .filter(|(id, _)| ids.contains(id))
                .map(|(_, code)| code.clone())
                .collect();
            let metrics = Metrics::new(&current, previous)
                .with_history(&catalog.coverage, &ids, query.previous)
                .with_work(work.remove(&provider), &[provider]);
            ProviderRow {
                provider,
                provider_name: provider.display_name(),
                connections: names.into_iter().collect(),
                metrics,
                coverage_pct: coverage
                    .as_ref()
                    .and_then(|c| c.provider(provider))
                    .and_then(|p| p.ratio.coverage_pct),
                complete_through: catalog.complete_through(&ids),
                billed_in: billed_in.into_iter().collect(),
            }
        })
        .filter(|row| {
            query.cost_in_range(row.metrics.cost)
                && query.matches_search(&[row.provider.as_str(), row.provider_name])
        })
        .collect();
    let total: Money = rows.iter().map(|r| r.metrics.cost).sum();
    set_shares(rows.iter_mut().map(|r| &mut r.metrics), total);
    let column = query.sort.as_str();
    finish_sort(&mut rows, column, query.descending, |a, b| {
        compare_metrics(column, &a.metrics, &b.metrics)
            .or_else(|| {
                (column == "coverage").then(|| compare_opt(&a.coverage_pct, &b.coverage_pct))
            })
            .unwrap_or_else(|| a.provider_name.cmp(b.provider_name))
    });
    let header = Header::new(query, &rows.iter().map(|r| &r.metrics).collect::<Vec<_>>());
    Ok(ProvidersReport {
        header,
        provider_count: rows.iter().filter(|r| !r.metrics.cost.is_zero()).count(),
        coverage_pct: coverage
            .as_ref()
            .and_then(|c| c.shown(rows.iter().map(|r| r.provider))),
        rows,
        coverage,
    })
}
