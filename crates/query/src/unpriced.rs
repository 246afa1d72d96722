//! Billed lines with no known price (PiAPI usage no rate is documented for): budgets,
//! forecasts and chargeback reports add up known money only, so they say how many such lines
//! a period holds instead of silently reading them as $0.

use std::collections::{BTreeSet, HashMap};

use serde::Serialize;
use spendlens_domain::{DayRange, ProviderKind};
use spendlens_store::{OrgId, RollupFilter, Store, WorkspaceId};

use crate::QueryError;

/// The unpriced billed lines of a period.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct UnpricedBill {
    pub period: DayRange,
    pub lines: i64,
    /// The requests of those lines.
    pub requests: i64,
    /// The providers they come from, by display name.
    pub providers: Vec<&'static str>,
}

impl UnpricedBill {
    /// "3 billed lines (120 requests) from PiAPI in 2026-12-01 – 2026-12-06 are unpriced: …
    /// not counted in `what`".
    pub fn note(&self, what: &str) -> String {
        let lines = if self.lines == 1 {
            "1 billed line".to_owned()
        } else {
            format!("{} billed lines", self.lines)
        };
        let requests = if self.requests == 1 {
            "1 request".to_owned()
        } else {
            format!("{} requests", self.requests)
        };
        format!(
            "{lines} ({requests}) from {} in {} are unpriced: no price is known for their \
             usage, so their cost is unknown (not $0) and not counted in {what}",
            self.providers.join(", "),
            self.period
        )
    }
}

/// The unpriced billed lines of `period` (of these workspaces only, when given); `None` when
/// there are none. Read from the cost rollups (their unpriced extras), never the lines.
pub async fn unpriced_bill(
    store: &Store,
    org: OrgId,
    period: DayRange,
    workspaces: Option<Vec<WorkspaceId>>,
) -> Result<Option<UnpricedBill>, QueryError> {
    let providers: HashMap<_, ProviderKind> = store
        .list_connections(org)
        .await?
        .into_iter()
        .map(|c| (c.id, c.provider))
        .collect();
    let filter = RollupFilter {
        workspaces,
        ..RollupFilter::default()
    };
    let rows = store
        .totals_by_workspace(org, period, None, &filter)
        .await?;
    let (mut lines, mut requests) = (0_i64, 0_i64);
    let mut names: BTreeSet<&'static str> = BTreeSet::new();
    for row in rows.iter().filter(|r| r.current.unpriced_lines > 0) {
        lines += row.current.unpriced_lines;
        requests += row.current.unpriced_requests;
        if let Some(provider) = providers.get(&row.connection_id) {
            names.insert(provider.display_name());
        }
    }
    Ok((lines > 0).then(|| UnpricedBill {
        period,
        lines,
        requests,
        providers: names.into_iter().collect(),
    }))
}
