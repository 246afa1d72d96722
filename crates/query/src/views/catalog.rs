//! The organization's connections, workspaces and history starts, read once per report.

use std::collections::{BTreeSet, HashMap};

use spendlens_domain::{Day, DayRange, ProviderKind};
use spendlens_store::{
    ConnectionId, ConnectionRow, OrgId, RollupFilter, Store, UnitTotals, WorkspaceId, WorkspaceRow,
};

use crate::QueryError;
use crate::history::Coverage;
use crate::params::ViewQuery;

/// The organization's names and providers, read once per report.
pub(crate) struct Catalog {
    pub(crate) connections: HashMap<ConnectionId, ConnectionRow>,
    pub(crate) workspaces: HashMap<WorkspaceId, WorkspaceRow>,
    pub(crate) coverage: Coverage,
}

impl Catalog {
    pub(crate) async fn load(store: &Store, org: OrgId) -> Result<Catalog, QueryError> {
        let connections: HashMap<ConnectionId, ConnectionRow> = store
            .list_connections(org)
            .await?
            .into_iter()
            .map(|c| (c.id, c))
            .collect();
        let starts = store.history_starts(org).await?;
        let coverage = Coverage::new(&starts, |id| connections.get(&id).map(|c| c.provider));
        let workspaces = store
            .list_workspaces(org)
            .await?
            .into_iter()
            .map(|w| (w.id, w))
            .collect();
        Ok(Catalog {
            connections,
            workspaces,
            coverage,
        })
    }

    /// The last day the bills of all these connections are final for.
    pub(crate) fn complete_through(&self, ids: &BTreeSet<ConnectionId>) -> Option<Day> {
        let mut through: Option<Day> = None;
        for c in ids.iter().filter_map(|id| self.connections.get(id)) {
            let day = crate::coverage::watermark::complete_through(
                c.provider,
                c.synced_through,
                c.last_success_at.map(Day::of),
            )?;
            through = Some(through.map_or(day, |t| t.min(day)));
        }
        through
    }

    pub(crate) fn provider(&self, connection: ConnectionId) -> Option<ProviderKind> {
        self.connections.get(&connection).map(|c| c.provider)
    }

    /// Work in own units from the key-unit rollup, read only for the connections whose
    /// provider counts no requests: a provider that counts requests has its work (requests)
    /// in the view's own totals rows already, so reading its unit series again would only
    /// cost time (see [`WorkSum::add_counted`]).
    pub(crate) async fn unit_totals(
        &self,
        store: &Store,
        org: OrgId,
        period: DayRange,
        filter: &RollupFilter,
    ) -> Result<Vec<UnitTotals>, QueryError> {
        let uncounted: Vec<ConnectionId> = self
            .connections
            .values()
            .filter(|c| !c.provider.reports_request_counts())
            .filter(|c| {
                filter
                    .connections
                    .as_ref()
                    .is_none_or(|ids| ids.contains(&c.id))
            })
            .map(|c| c.id)
            .collect();
        if uncounted.is_empty() {
            return Ok(Vec::new());
        }
        let narrowed = RollupFilter {
            connections: Some(uncounted),
            ..filter.clone()
        };
        Ok(store.totals_by_unit(org, period, &narrowed).await?)
    }

    pub(crate) fn filter(&self, query: &ViewQuery) -> RollupFilter {
        let connections = (!query.providers.is_empty()).then(|| {
            self.connections
                .values()
                .filter(|c| query.includes_provider(c.provider))
                .map(|c| c.id)
                .collect()
        });
        let workspaces = query.workspace.as_ref().map(|name| {
            self.workspaces
                .values()
                .filter(|w| &w.display_name == name)
                .map(|w| w.id)
                .collect()
        });
        RollupFilter {
            connections,
            workspaces,
            api_key: query.key,
        }
    }

    pub(crate) fn workspace_name(
        &self,
        id: Option<WorkspaceId>,
        connection: ConnectionId,
    ) -> String {
        match id.and_then(|id| self.workspaces.get(&id)) {
            Some(workspace) => workspace.display_name.clone(),
            None => match self.provider(connection) {
                Some(provider) => format!("(no {})", provider.workspace_noun()),
                None => "(none)".to_owned(),
            },
        }
    }
}
