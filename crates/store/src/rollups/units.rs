//! Work per unit: cost-line totals per (connection, workspace, API key, unit) and day
//! (migration 0023), for the views that show work in its own unit — requests where a provider
//! counts them, images, seconds or credits where it does not — never summed across units.

use serde::Serialize;
use spendlens_domain::{DayRange, Unit};

use super::cost::{connection_of, dim_id, dim_text, parse_unit, series_filter};
use super::coverage::per_key_facts;
use super::{BucketSize, DimType, DimValue, Fact, RollupKind};
use crate::cost_lines::ResolvedLine;
use crate::{ApiKeyId, ConnectionId, OrgId, RollupFilter, Store, StoreResult, Totals, WorkspaceId};

/// Per (connection, workspace, key, unit).
pub(crate) const KEY_UNIT: RollupKind = RollupKind {
    name: "cost.key_unit",
    bucket: BucketSize::Day,
    dims: &[
        ("workspace", DimType::Id),
        ("api_key", DimType::Id),
        ("unit", DimType::Text),
    ],
    extra: &[],
};

/// The facts of a window's lines for [`KEY_UNIT`].
pub(crate) fn key_unit_facts(connection: ConnectionId, lines: &[ResolvedLine<'_>]) -> Vec<Fact> {
    per_key_facts(connection, lines, |line| line.unit.as_str())
}

/// The totals of one (connection, workspace, key, unit) over a period.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct UnitTotals {
    pub connection_id: ConnectionId,
    pub workspace_id: Option<WorkspaceId>,
    /// `None` for spend no key carries.
    pub api_key_id: Option<ApiKeyId>,
    pub unit: Unit,
    pub current: Totals,
}

impl Store {
    /// Totals per (connection, workspace, key, unit) with lines in `period`.
    pub async fn totals_by_unit(
        &self,
        org: OrgId,
        period: DayRange,
        filter: &RollupFilter,
    ) -> StoreResult<Vec<UnitTotals>> {
        let mut series = series_filter(filter, Some(0));
        if let Some(key) = filter.api_key {
            series.dims.push((1, vec![DimValue::Id(Some(key.0))]));
        }
        let rows = self
            .read_period(org, &KEY_UNIT, &series, KEY_UNIT.buckets(period), None)
            .await?;
        rows.iter()
            .filter(|row| row.current.totals.lines > 0)
            .map(|row| {
                Ok(UnitTotals {
                    connection_id: connection_of(row)?,
                    workspace_id: dim_id(row, 0).map(WorkspaceId),
                    api_key_id: dim_id(row, 1).map(ApiKeyId),
                    unit: parse_unit(&dim_text(row, 2))?,
                    current: row.current.totals,
                })
            })
            .collect()
    }
}
