//! Spend per scope and day, the one read forecasts and anomalies share: the bill per
//! (connection, workspace, key, model) and day from `cost.key_model`, metered calls per
//! (provider, model, key, customer) and day from `meter_day` — rollups only — with what is
//! known of each connection's freshness (its "complete through" day, as coverage computes it)
//! and history (its "history from" day), and the names the surfaces show.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use serde::Serialize;
use spendlens_domain::{Day, DayRange, Money, ProviderKind};
use spendlens_store::{
    ApiKeyId, BilledDays, ConnectionId, ConnectionRow, MeteredSpend, OrgId, Store, WorkspaceId,
};
use time::OffsetDateTime;

use crate::QueryError;
use crate::coverage::{mask, watermark};

/// Days read back from today: 4 baseline weeks before a day that may lag a few days, and the
/// 14 days a forecast's trend compares.
pub const READ_DAYS: i64 = 40;

/// What a scope groups spend by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ScopeKind {
    Provider,
    Workspace,
    Model,
    Key,
    Customer,
}

impl ScopeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ScopeKind::Provider => "provider",
            ScopeKind::Workspace => "workspace",
            ScopeKind::Model => "model",
            ScopeKind::Key => "key",
            ScopeKind::Customer => "customer",
        }
    }

    pub fn parse(text: &str) -> Option<ScopeKind> {
        [
            ScopeKind::Provider,
            ScopeKind::Workspace,
            ScopeKind::Model,
            ScopeKind::Key,
            ScopeKind::Customer,
        ]
        .into_iter()
        .find(|k| k.as_str() == text)
    }

    /// Customers are metered (applications report them); the rest is the bill.
    pub fn source(self) -> Source {
        match self {
            ScopeKind::Customer => Source::Metered,
            _ => Source::Billed,
        }
    }
}

/// Where a scope's spend comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    Billed,
    Metered,
}

/// One cell of spend: a billed (connection, workspace, key, model) or a metered (provider,
/// model, key, customer), per day.
#[derive(Clone, Debug)]
pub struct Cell {
    pub source: Source,
    pub connection: Option<ConnectionId>,
    pub provider: Option<ProviderKind>,
    pub provider_name: String,
    /// The workspace's display name (billed cells with one).
    pub workspace: Option<String>,
    /// A stable id of the key (`None`: spend no key carries, or calls without one).
    pub key_id: Option<String>,
    /// The key as shown: its name and hint, or masked.
    pub key_label: String,
    pub model: String,
    pub customer: Option<String>,
    /// Spend before the days read.
    pub active_before: bool,
    /// Credits applied on the bill over the days read.
    pub credits: Money,
    /// Per day: cost and volume (tokens: input, cache and output); shared with the read a
    /// server keeps ([`BilledRead`]).
    pub days: Arc<BTreeMap<Day, (Money, i64)>>,
}

/// The bill per (connection, workspace, key, model) and day over the days read: the large part
/// of [`SpendDays`], which a server may keep while the organization's billed-rollup revision
/// stays, and bring up to date window by window after syncs ([`BilledRead::refreshed`],
/// [`crate::Reports::spend_days`]). Names are not in it: they are read fresh.
#[derive(Debug, PartialEq, Eq)]
pub struct BilledRead {
    pub read: DayRange,
    /// In the order of their rollup series.
    pub series: Vec<BilledSeries>,
}

/// One (connection, workspace, key, model) of [`BilledRead`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BilledSeries {
    pub series_id: i64,
    pub connection_id: ConnectionId,
    pub workspace_id: Option<WorkspaceId>,
    pub api_key_id: Option<ApiKeyId>,
    pub model: String,
    pub active_before: bool,
    /// The days with credits, and how much.
    pub credit_days: BTreeMap<Day, Money>,
    pub days: Arc<BTreeMap<Day, (Money, i64)>>,
}

impl BilledSeries {
    /// Credits over the days read.
    pub fn credits(&self) -> Money {
        self.credit_days.values().copied().sum()
    }

    fn of(b: BilledDays) -> BilledSeries {
        let credit_days: BTreeMap<Day, Money> = b
            .days
            .iter()
            .filter(|(_, t)| t.credits != Money::ZERO)
            .map(|(day, t)| (*day, t.credits))
            .collect();
        BilledSeries {
            series_id: b.series_id,
            connection_id: b.connection_id,
            workspace_id: b.workspace_id,
            api_key_id: b.api_key_id,
            credit_days,
            days: Arc::new(
                b.days
                    .into_iter()
                    .map(|(day, t)| {
                        (
                            day,
                            (t.cost, t.input_tokens.saturating_add(t.output_tokens)),
                        )
                    })
                    .collect(),
            ),
            model: b.model,
            active_before: b.active_before,
        }
    }
}

/// Metered calls per (provider, model, key, customer) and day of a read: the days before its
/// last are final (a call for them arrives late, if ever), the last — today — moves with every
/// call. [`MeteredRead::last_day_fresh`] reads only the last day and puts it after days kept.
#[derive(Clone, Debug)]
pub struct MeteredRead {
    pub read: DayRange,
    pub cells: Vec<MeteredSpend>,
}

impl MeteredRead {
    /// The days of `read` before its last, from `meter_day` (`None` for a one-day read).
    pub fn past(read: DayRange) -> Option<DayRange> {
        let before = read.to().add_days(-1).ok()?;
        DayRange::new(read.from(), before).ok()
    }

    /// Reads the days of `read` before its last (to be kept while they do not change).
    pub async fn load_past(
        store: &Store,
        org: OrgId,
        read: DayRange,
    ) -> Result<MeteredRead, QueryError> {
        let past = Self::past(read)
            .ok_or_else(|| QueryError::Invalid(format!("{read} has no day before its last")))?;
        Ok(MeteredRead {
            read: past,
            cells: store.metered_spend_days(org, past, past.from()).await?,
        })
    }

    /// What [`Store::metered_spend_days`] of `read` gives now: this read of the days before `read`'s
    /// last with the last day read fresh (refused when this read is not of those days).
    pub async fn last_day_fresh(
        &self,
        store: &Store,
        org: OrgId,
        read: DayRange,
    ) -> Result<Vec<MeteredSpend>, QueryError> {
        if Self::past(read) != Some(self.read) {
            return Err(QueryError::Invalid(format!(
                "the metered read covers {}, not the days before the last of {read}",
                self.read
            )));
        }
        let last =
            DayRange::new(read.to(), read.to()).map_err(|e| QueryError::Invalid(e.to_string()))?;
        let fresh = store.metered_spend_days(org, last, read.from()).await?;
        Ok(merge_metered(&self.cells, fresh))
    }
}

/// The cells of days read apart — `past`, then `last` (later days, read with the same anchor)
/// — as one read of both: cells in (provider, model, key, customer) order, each one's days in
/// order, metered before the read when either part says so. Both parts come in that order, one
/// cell per key, as [`Store::metered_spend_days`] gives them: they are merged in one walk, each
/// kept cell copied once (this runs on every Providers load).
pub fn merge_metered(past: &[MeteredSpend], last: Vec<MeteredSpend>) -> Vec<MeteredSpend> {
    fn key(m: &MeteredSpend) -> (&str, &str, &str, &str) {
        (&m.provider, &m.model, &m.api_key, &m.customer)
    }
    debug_assert!(past.windows(2).all(|w| key(&w[0]) < key(&w[1])));
    debug_assert!(last.windows(2).all(|w| key(&w[0]) < key(&w[1])));
    let mut out = Vec::with_capacity(past.len() + last.len());
    let mut past = past.iter().peekable();
    for m in last {
        while let Some(p) = past.next_if(|p| key(p) < key(&m)) {
            out.push(p.clone());
        }
        match past.next_if(|p| key(p) == key(&m)) {
            Some(p) => {
                let mut cell = p.clone();
                cell.active_before |= m.active_before;
                cell.days.extend(m.days);
                out.push(cell);
            }
            None => out.push(m),
        }
    }
    out.extend(past.cloned());
    out
}

impl BilledRead {
    /// Reads the bill's days of `read` from the `cost.key_model` rollup.
    pub async fn load(store: &Store, org: OrgId, read: DayRange) -> Result<BilledRead, QueryError> {
        let series = store
            .billed_days(org, read)
            .await?
            .into_iter()
            .map(BilledSeries::of)
            .collect();
        Ok(BilledRead { read, series })
    }

    /// This read with the windows syncs rewrote since (`changes`: connection and days, from
    /// [`Store::billed_changes`]) read again: what [`BilledRead::load`] would read now, for a
    /// fraction of its cost. A window reaching before the days read may change which series
    /// were billed before them, so it reads the connection's whole range again.
    pub async fn refreshed(
        &self,
        store: &Store,
        org: OrgId,
        changes: &[(ConnectionId, DayRange)],
    ) -> Result<BilledRead, QueryError> {
        let (from, to) = (self.read.from(), self.read.to());
        let mut windows: BTreeMap<ConnectionId, (Day, Day)> = BTreeMap::new();
        for (connection, days) in changes {
            let window = if days.from() < from {
                (from, to)
            } else if days.from() > to {
                continue;
            } else {
                (days.from(), days.to().min(to))
            };
            windows
                .entry(*connection)
                .and_modify(|w| *w = (w.0.min(window.0), w.1.max(window.1)))
                .or_insert(window);
        }
        let mut series: BTreeMap<i64, BilledSeries> = self
            .series
            .iter()
            .map(|s| (s.series_id, s.clone()))
            .collect();
        for (connection, (first, last)) in windows {
            let days =
                DayRange::new(first, last).map_err(|e| QueryError::Invalid(e.to_string()))?;
            // The window's days as they were read go; what is there now comes back.
            for s in series.values_mut() {
                if s.connection_id == connection && s.days.range(first..=last).next().is_some() {
                    let mut kept = (*s.days).clone();
                    kept.retain(|day, _| !days.contains(*day));
                    s.days = Arc::new(kept);
                    s.credit_days.retain(|day, _| !days.contains(*day));
                }
            }
            for fresh in store.billed_days_of(org, connection, days, from).await? {
                let fresh = BilledSeries::of(fresh);
                match series.get_mut(&fresh.series_id) {
                    Some(s) => {
                        let mut merged = (*s.days).clone();
                        merged.extend(fresh.days.iter().map(|(day, v)| (*day, *v)));
                        s.days = Arc::new(merged);
                        s.credit_days.extend(fresh.credit_days);
                        s.active_before = fresh.active_before;
                    }
                    None => {
                        series.insert(fresh.series_id, fresh);
                    }
                }
            }
        }
        Ok(BilledRead {
            read: self.read,
            series: series
                .into_values()
                .filter(|s| !s.days.is_empty())
                .collect(),
        })
    }
}

/// The days [`SpendDays`] reads at `now`: [`READ_DAYS`] back from today.
pub fn read_range(now: OffsetDateTime) -> Result<DayRange, QueryError> {
    let today = Day::of(now);
    let from = today
        .add_days(-READ_DAYS)
        .map_err(|e| QueryError::Invalid(e.to_string()))?;
    DayRange::new(from, today).map_err(|e| QueryError::Invalid(e.to_string()))
}

/// What is known of one connection.
#[derive(Clone, Debug)]
pub struct ConnectionFacts {
    pub row: ConnectionRow,
    pub complete_through: Option<Day>,
    pub history_from: Option<Day>,
}

/// Everything forecasts and anomalies read, once.
#[derive(Clone, Debug)]
pub struct SpendDays {
    pub today: Day,
    pub now: OffsetDateTime,
    pub read: DayRange,
    pub cells: Vec<Cell>,
    pub connections: HashMap<ConnectionId, ConnectionFacts>,
    /// The month to date's billed lines with no known price (their cost is unknown; nothing
    /// here counts them).
    pub unpriced: Option<crate::unpriced::UnpricedBill>,
}

/// The cells of one scope, with its freshness and history.
#[derive(Clone, Debug)]
pub struct Scope<'a> {
    pub kind: ScopeKind,
    /// Stable within its kind (a provider's name, a workspace's display name, `provider/model`,
    /// a key's id, a customer).
    pub id: String,
    pub label: String,
    pub cells: Vec<&'a Cell>,
    pub complete_through: Option<Day>,
    pub history_from: Option<Day>,
    /// The sync that brought the bill in (billed scopes: the latest of its connections).
    pub data_at: Option<OffsetDateTime>,
}

impl Scope<'_> {
    /// Cost per day over the scope's cells.
    pub fn daily(&self) -> BTreeMap<Day, Money> {
        let mut out: BTreeMap<Day, Money> = BTreeMap::new();
        for cell in &self.cells {
            for (day, (cost, _)) in cell.days.iter() {
                *out.entry(*day).or_default() += *cost;
            }
        }
        out
    }
}

impl SpendDays {
    /// Reads the last [`READ_DAYS`] days of one organization.
    pub async fn load(
        store: &Store,
        org: OrgId,
        now: OffsetDateTime,
    ) -> Result<SpendDays, QueryError> {
        let billed = BilledRead::load(store, org, read_range(now)?).await?;
        SpendDays::load_with(store, org, now, &billed).await
    }

    /// Reads the last [`READ_DAYS`] days of one organization around a bill read before
    /// (refused when it covers other days).
    pub async fn load_with(
        store: &Store,
        org: OrgId,
        now: OffsetDateTime,
        billed: &BilledRead,
    ) -> Result<SpendDays, QueryError> {
        let read = read_range(now)?;
        let metered = store.metered_spend_days(org, read, read.from()).await?;
        SpendDays::load_around(store, org, now, billed, metered).await
    }

    /// Reads the last [`READ_DAYS`] days of one organization around a bill and metered calls
    /// read before (refused when the bill covers other days; `metered` must be
    /// [`Store::metered_spend_days`] of [`read_range`]`(now)`, as [`MeteredRead`] gives it).
    pub async fn load_around(
        store: &Store,
        org: OrgId,
        now: OffsetDateTime,
        billed: &BilledRead,
        metered: Vec<MeteredSpend>,
    ) -> Result<SpendDays, QueryError> {
        let today = Day::of(now);
        let read = read_range(now)?;
        if billed.read != read {
            return Err(QueryError::Invalid(format!(
                "the bill read covers {}, not the days read at {today} ({read})",
                billed.read
            )));
        }
        let starts = store.history_starts(org).await?;
        let mut connections = HashMap::new();
        for row in store.list_connections(org).await? {
            let start = starts.iter().find(|s| s.connection_id == row.id);
            connections.insert(
                row.id,
                ConnectionFacts {
                    complete_through: watermark::complete_through(
                        row.provider,
                        row.synced_through,
                        row.last_success_at.map(Day::of),
                    ),
                    history_from: start.and_then(|s| crate::history::history_from(s, row.provider)),
                    row,
                },
            );
        }
        let workspaces: HashMap<i64, String> = store
            .list_workspaces(org)
            .await?
            .into_iter()
            .map(|w| (w.id.0, w.display_name))
            .collect();
        let keys: HashMap<i64, spendlens_store::ApiKeyRow> = store
            .list_api_keys(org)
            .await?
            .into_iter()
            .map(|k| (k.id.0, k))
            .collect();
        let mut cells = Vec::new();
        for b in &billed.series {
            let Some(facts) = connections.get(&b.connection_id) else {
                continue;
            };
            let provider = facts.row.provider;
            let key = b.api_key_id.and_then(|id| keys.get(&id.0));
            cells.push(Cell {
                source: Source::Billed,
                connection: Some(b.connection_id),
                provider: Some(provider),
                provider_name: provider.display_name().to_owned(),
                workspace: b.workspace_id.and_then(|w| workspaces.get(&w.0).cloned()),
                key_id: b.api_key_id.map(|id| id.0.to_string()),
                key_label: key.map_or_else(
                    || "(spend no key carries)".to_owned(),
                    |k| {
                        let name = k.name.clone().unwrap_or_else(|| k.provider_id.clone());
                        match &k.hint {
                            Some(hint) if *hint != name => format!("{name} ({hint})"),
                            _ => name,
                        }
                    },
                ),
                model: b.model.clone(),
                customer: None,
                active_before: b.active_before,
                credits: b.credits(),
                days: Arc::clone(&b.days),
            });
        }
        for m in metered {
            let provider = m.provider.parse::<ProviderKind>().ok();
            cells.push(Cell {
                source: Source::Metered,
                connection: None,
                provider,
                provider_name: provider
                    .map_or_else(|| m.provider.clone(), |p| p.display_name().to_owned()),
                workspace: None,
                key_id: (!m.api_key.is_empty()).then(|| m.api_key.clone()),
                key_label: if m.api_key.is_empty() {
                    "(no key)".to_owned()
                } else {
                    mask(&m.api_key)
                },
                model: m.model,
                customer: (!m.customer.is_empty()).then_some(m.customer),
                active_before: m.active_before,
                credits: Money::ZERO,
                days: Arc::new(
                    m.days
                        .into_iter()
                        // Tokens: uncached input, cache parts and output, summed by the store.
                        .map(|(day, cost, tokens)| (day, (cost, tokens)))
                        .collect(),
                ),
            });
        }
        let month = DayRange::new(today.first_of_month(), today)
            .map_err(|e| QueryError::Invalid(e.to_string()))?;
        let unpriced = crate::unpriced::unpriced_bill(store, org, month, None).await?;
        Ok(SpendDays {
            today,
            now,
            read,
            cells,
            connections,
            unpriced,
        })
    }

    /// Every scope of a kind with spend in the days read, with its freshness and history.
    pub fn scopes(&self, kind: ScopeKind) -> Vec<Scope<'_>> {
        let mut grouped: BTreeMap<String, (String, Vec<&Cell>)> = BTreeMap::new();
        for cell in self.cells.iter().filter(|c| c.source == kind.source()) {
            let (id, label) = match kind {
                ScopeKind::Provider => (cell.provider_name.clone(), cell.provider_name.clone()),
                ScopeKind::Workspace => match &cell.workspace {
                    Some(name) => (name.clone(), name.clone()),
                    None => continue,
                },
                ScopeKind::Model => (
                    format!("{}/{}", cell.provider_name, cell.model),
                    format!("{} ({})", cell.model, cell.provider_name),
                ),
                ScopeKind::Key => match &cell.key_id {
                    Some(id) => (
                        id.clone(),
                        format!("{} · {}", cell.key_label, cell.provider_name),
                    ),
                    None => continue,
                },
                ScopeKind::Customer => match &cell.customer {
                    Some(c) => (c.clone(), c.clone()),
                    None => continue,
                },
            };
            grouped
                .entry(id)
                .or_insert_with(|| (label, Vec::new()))
                .1
                .push(cell);
        }
        grouped
            .into_iter()
            .map(|(id, (label, cells))| self.scope(kind, id, label, cells))
            .collect()
    }

    fn scope<'a>(
        &self,
        kind: ScopeKind,
        id: String,
        label: String,
        cells: Vec<&'a Cell>,
    ) -> Scope<'a> {
        let first_active = if cells.iter().any(|c| c.active_before) {
            None
        } else {
            cells
                .iter()
                .filter_map(|c| c.days.keys().next().copied())
                .min()
        };
        let (complete_through, covered_from, data_at) = match kind.source() {
            // A metered day is complete when it has ended.
            Source::Metered => (self.today.add_days(-1).ok(), Some(self.read.from()), None),
            Source::Billed => {
                let mut ids: Vec<ConnectionId> =
                    cells.iter().filter_map(|c| c.connection).collect();
                ids.sort_unstable();
                ids.dedup();
                let facts: Vec<&ConnectionFacts> = ids
                    .iter()
                    .filter_map(|id| self.connections.get(id))
                    .collect();
                let all = |f: fn(&ConnectionFacts) -> Option<Day>| -> Option<Vec<Day>> {
                    facts.iter().map(|c| f(c)).collect()
                };
                (
                    all(|c| c.complete_through).and_then(|d| d.into_iter().min()),
                    // Data covers a day only when every connection behind the scope covers it.
                    all(|c| c.history_from).and_then(|d| d.into_iter().max()),
                    facts.iter().filter_map(|c| c.row.last_success_at).max(),
                )
            }
        };
        let history_from = match (covered_from, first_active) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, None) => a,
            (None, Some(_)) => None,
        };
        Scope {
            kind,
            id,
            label,
            cells,
            complete_through,
            history_from,
            data_at,
        }
    }
}

/// Scopes from a comma-separated list (`provider,customer`), each one of `allowed`; empty or
/// absent: all of them.
pub fn parse_scopes(
    text: Option<&str>,
    allowed: &[ScopeKind],
) -> Result<Vec<ScopeKind>, QueryError> {
    let Some(text) = text.filter(|t| !t.trim().is_empty()) else {
        return Ok(Vec::new());
    };
    text.split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(|t| {
            ScopeKind::parse(t)
                .filter(|k| allowed.contains(k))
                .ok_or_else(|| {
                    let names: Vec<&str> = allowed.iter().map(|k| k.as_str()).collect();
                    QueryError::Invalid(format!(
                        "scope must be one or more of {}, not \"{t}\"",
                        names.join(", ")
                    ))
                })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(model: &str, customer: &str, before: bool, days: &[(&str, &str)]) -> MeteredSpend {
        MeteredSpend {
            provider: "openai".into(),
            model: model.into(),
            api_key: "k".into(),
            customer: customer.into(),
            active_before: before,
            days: days
                .iter()
                .map(|(d, c)| (d.parse().unwrap(), Money::parse_units(c).unwrap(), 10))
                .collect(),
        }
    }

    #[test]
    fn kept_days_and_today_merge_in_key_order_with_either_flag() {
        let past = vec![
            cell("a", "x", false, &[("2026-11-01", "1")]),
            cell("c", "x", true, &[("2026-11-02", "2")]),
            cell("d", "x", false, &[("2026-11-03", "3")]),
        ];
        let last = vec![
            cell("b", "x", true, &[("2026-11-05", "4")]),
            cell("c", "x", false, &[("2026-11-05", "5")]),
            cell("e", "", false, &[("2026-11-05", "6")]),
        ];
        let got = merge_metered(&past, last);
        let keys: Vec<(&str, bool, usize)> = got
            .iter()
            .map(|m| (m.model.as_str(), m.active_before, m.days.len()))
            .collect();
        assert_eq!(
            keys,
            vec![
                ("a", false, 1),
                ("b", true, 1),
                ("c", true, 2),
                ("d", false, 1),
                ("e", false, 1)
            ]
        );
        assert_eq!(
            got[2].days,
            vec![
                (
                    "2026-11-02".parse().unwrap(),
                    Money::parse_units("2").unwrap(),
                    10
                ),
                (
                    "2026-11-05".parse().unwrap(),
                    Money::parse_units("5").unwrap(),
                    10
                ),
            ]
        );
        assert!(merge_metered(&[], Vec::new()).is_empty());
        assert_eq!(merge_metered(&past, Vec::new()), past);
    }
}
