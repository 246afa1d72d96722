//! The four cost views built from the store's rollups (the attribution views are in
//! [`crate::attribution`]): rows with current and previous
//! cost, trend, share and usage, filtered, searched and sorted the same way for every surface.
//!
//! A report's totals are the sums of the rows it returns, so totals shown anywhere add up to
//! their rows.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet, HashMap};

use rust_decimal::{Decimal, RoundingStrategy};
use serde::Serialize;
use spendlens_domain::trend::{trend, trend_pct};
use spendlens_domain::{Category, Day, DayRange, Money, ProviderKind, Quantity, Trend, Unit};
use spendlens_store::{
    ApiKeyId, ApiKeyRow, ConnectionId, ConnectionRow, OrgId, Prior, RollupFilter, Store, Totals,
    UnitTotals, WorkspaceId, WorkspaceRow,
};

use crate::QueryError;
use crate::coverage::CoverageMemory;
use crate::history::Coverage;
use crate::params::{View, ViewQuery};
use crate::work::{UnitAmount, WorkSum};

/// Money, tokens and requests of one row, with its trend against the previous period.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Metrics {
    pub cost: Money,
    pub credits: Money,
    pub net_cost: Money,
    pub previous_cost: Money,
    /// Every line of the previous period is unpriced: its cost is unknown, not $0 (shown as
    /// "unpriced").
    pub previous_cost_unknown: bool,
    /// Percent change against the previous period; `null` when there was none.
    pub trend_pct: Option<Decimal>,
    pub trend: Trend,
    /// Percent of the report's total cost.
    pub share_pct: Option<Decimal>,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub cache_read_tokens: i64,
    pub cache_write_tokens: i64,
    pub total_tokens: i64,
    /// `null` when the provider does not report request counts (Anthropic).
    pub requests: Option<i64>,
    /// The work in its own units: requests where the provider counts them, else the unit it
    /// bills in (fal.ai images or seconds, Runway credits), one entry per unit, never added
    /// across units; `null` when part of it is counted in neither (tokens of a provider that
    /// reports no requests).
    pub usage: Option<Vec<UnitAmount>>,
    /// Lines whose usage has no known price (PiAPI's Midjourney `point` usage): what they cost
    /// is unknown, and `cost` does not include it.
    pub unpriced_lines: i64,
    /// The requests of those lines ("3,120 requests unpriced").
    pub unpriced_requests: i64,
    /// Every line behind the row is unpriced and nothing was billed: the cost is unknown, not
    /// $0 (shown as "unpriced").
    pub cost_unknown: bool,
    /// The first day every connection behind the row has data for; a previous period that
    /// starts earlier has no comparable history (`trend` is `no_history`).
    pub history_from: Option<Day>,
    /// Nothing in the period (no line): its unknown work (`usage` null) adds nothing to a
    /// total, where a row with lines but no count makes the total unknown.
    #[serde(skip)]
    pub idle: bool,
}

impl Metrics {
    pub(crate) fn new(current: &Totals, previous: Prior) -> Metrics {
        let previous_cost = previous.cost;
        let cost_unknown = current.lines > 0
            && current.unpriced_lines == current.lines
            && current.cost.is_zero()
            && current.credits.is_zero();
        let previous_cost_unknown = previous.cost_unknown();
        // A cost no one knows on either side has no trend.
        let unknown = cost_unknown || previous_cost_unknown;
        Metrics {
            cost: current.cost,
            credits: current.credits,
            net_cost: current.net_cost(),
            previous_cost,
            previous_cost_unknown,
            trend_pct: if unknown {
                None
            } else {
                trend_pct(current.cost, previous_cost)
            },
            trend: if unknown {
                Trend::None
            } else {
                trend(current.cost, previous_cost)
            },
            share_pct: None,
            input_tokens: current.input_tokens,
            output_tokens: current.output_tokens,
            cache_read_tokens: current.cache_read_tokens,
            cache_write_tokens: current.cache_write_tokens,
            total_tokens: current.total_tokens(),
            requests: current.known_requests(),
            usage: current.known_requests().map(|requests| {
                vec![UnitAmount {
                    unit: Unit::requests(),
                    quantity: Quantity::from_whole(requests),
                }]
            }),
            unpriced_lines: current.unpriced_lines,
            unpriced_requests: current.unpriced_requests,
            cost_unknown,
            history_from: None,
            idle: current.lines == 0,
        }
    }

    /// Work with nothing in the period and no count to be 0 (an idle key of a provider that
    /// counts no requests): shown N/A, added to no total.
    pub fn idle_without_count(&self) -> bool {
        self.idle && self.usage.is_none()
    }

    /// Sets the row's work in its own units, given the providers behind the row. Requests are
    /// unknown where a provider reports none; so is its work when the row has none to show in
    /// any unit (an idle Anthropic key reads N/A, not 0 requests: no count exists to be 0).
    fn with_work(mut self, work: Option<WorkSum>, providers: &[ProviderKind]) -> Metrics {
        let counted = providers.iter().all(|p| p.reports_request_counts());
        if !counted {
            self.requests = None;
        }
        self.usage = work
            .unwrap_or_default()
            .finish()
            .filter(|work| counted || !work.is_empty());
        self
    }

    /// Marks the trend "no comparable history" when the connections behind the row have no
    /// data for the start of the previous period.
    fn with_history(
        mut self,
        coverage: &Coverage,
        connections: &BTreeSet<ConnectionId>,
        previous: DayRange,
    ) -> Metrics {
        self.history_from = coverage.history_from(connections.iter().copied());
        if self.trend != Trend::None && !coverage.covers(connections.iter().copied(), previous) {
            self.trend = Trend::NoHistory;
            self.trend_pct = None;
        }
        self
    }
}

/// Trends sort by their percent, then "new", then "no comparable history", then rows with no
/// spend at all — in either direction, so rows without a real trend never lead.
pub(crate) fn compare_trend(a: &Metrics, b: &Metrics, descending: bool) -> Ordering {
    let rank = |m: &Metrics| match (m.trend, m.trend_pct) {
        (Trend::Up | Trend::Down | Trend::Flat, Some(_)) => 0,
        (Trend::New, _) => 1,
        (Trend::NoHistory, _) => 2,
        _ => 3,
    };
    rank(a).cmp(&rank(b)).then_with(|| {
        let order = compare_opt(&a.trend_pct, &b.trend_pct);
        if descending { order.reverse() } else { order }
    })
}

/// Requests sort by count; rows whose work is in the provider's own units (fal.ai images or
/// seconds, Runway credits) come after every count, grouped by unit (by its name, the first of
/// the row's units) and by quantity within a unit; unknown work (N/A) is last. In either
/// direction: a count is never compared with images or credits, and unknown never leads.
pub(crate) fn compare_work(a: &Metrics, b: &Metrics, descending: bool) -> Ordering {
    // (group, unit, quantity): 0 a request count (no work is 0 requests), 1 own units,
    // 2 unknown.
    fn key(m: &Metrics) -> (u8, Option<&Unit>, Quantity) {
        match (&m.usage, m.requests) {
            (None, Some(n)) => (0, None, Quantity::from_whole(n)),
            (None, None) => (2, None, Quantity::ZERO),
            (Some(work), _) => match work.first() {
                None => (0, None, Quantity::ZERO),
                Some(first) if first.unit == Unit::requests() => (0, None, first.quantity),
                Some(first) => (1, Some(&first.unit), first.quantity),
            },
        }
    }
    let ((group_a, unit_a, quantity_a), (group_b, unit_b, quantity_b)) = (key(a), key(b));
    group_a
        .cmp(&group_b)
        .then_with(|| unit_a.cmp(&unit_b))
        .then_with(|| {
            let order = quantity_a.cmp(&quantity_b);
            if descending { order.reverse() } else { order }
        })
}

/// Percent of `part` in `whole`, to one decimal.
pub fn percent(part: Money, whole: Money) -> Option<Decimal> {
    if whole.is_zero() {
        return None;
    }
    let pct = Decimal::from(part.nanos()) * Decimal::ONE_HUNDRED / Decimal::from(whole.nanos());
    Some(pct.round_dp_with_strategy(1, RoundingStrategy::MidpointAwayFromZero))
}

/// Cost per 1M tokens, exact to the nano-dollar; `None` without tokens.
pub fn cost_per_million(cost: Money, tokens: i64) -> Option<Money> {
    if tokens <= 0 {
        return None;
    }
    cost.scaled(1_000_000, i128::from(tokens))
}

/// Cost per unit of a non-token quantity; `None` without quantity.
pub fn cost_per_unit(cost: Money, quantity: Quantity) -> Option<Money> {
    if quantity.micros() <= 0 {
        return None;
    }
    cost.scaled(1_000_000, i128::from(quantity.micros()))
}

/// What every report carries besides its rows.
#[derive(Clone, Debug, Serialize)]
pub struct Header {
    pub view: View,
    pub period: DayRange,
    pub previous_period: DayRange,
    pub time_zone: &'static str,
    pub currency: &'static str,
    /// The sum of the rows' cost.
    pub total_cost: Money,
    pub previous_total_cost: Money,
    pub total_credits: Money,
    pub total_net_cost: Money,
    pub trend_pct: Option<Decimal>,
    pub trend: Trend,
}

impl Header {
    pub(crate) fn new(query: &ViewQuery, metrics: &[&Metrics]) -> Header {
        let total_cost: Money = metrics.iter().map(|m| m.cost).sum();
        let previous: Money = metrics.iter().map(|m| m.previous_cost).sum();
        let credits: Money = metrics.iter().map(|m| m.credits).sum();
        // The total compares only when every row does.
        let no_history = metrics.iter().any(|m| m.trend == Trend::NoHistory);
        Header {
            view: query.view,
            period: query.period,
            previous_period: query.previous,
            time_zone: "UTC",
            currency: "USD",
            total_cost,
            previous_total_cost: previous,
            total_credits: credits,
            total_net_cost: total_cost - credits,
            trend_pct: if no_history {
                None
            } else {
                trend_pct(total_cost, previous)
            },
            trend: if no_history {
                Trend::NoHistory
            } else {
                trend(total_cost, previous)
            },
        }
    }
}

pub(crate) fn set_shares<'a>(metrics: impl Iterator<Item = &'a mut Metrics>, total: Money) {
    for m in metrics {
        m.share_pct = percent(m.cost, total);
    }
}

/// Requests summed where every part is known.
/// The rows' work summed unit by unit, as the table's total row sums it (rows idle without a
/// count add nothing; any other unknown makes the total unknown).
fn sum_usage<'a>(metrics: impl Iterator<Item = &'a Metrics>) -> Option<Vec<UnitAmount>> {
    crate::work::sum(
        metrics
            .filter(|m| !m.idle_without_count())
            .map(|m| &m.usage),
    )
}

fn sum_requests<'a>(metrics: impl Iterator<Item = &'a Metrics>) -> Option<i64> {
    let mut total = 0i64;
    for m in metrics {
        total = total.saturating_add(m.requests?);
    }
    Some(total)
}

// ---------------------------------------------------------------------------------------
// Providers

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

// ---------------------------------------------------------------------------------------
// Workspaces

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

// ---------------------------------------------------------------------------------------
// API keys

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

// ---------------------------------------------------------------------------------------
// Models

#[derive(Clone, Debug, Serialize)]
pub struct ModelViewRow {
    pub model: String,
    pub provider: ProviderKind,
    pub category: Category,
    /// `tokens`, or the non-token unit the model is billed in.
    pub unit: Unit,
    pub quantity: Quantity,
    pub cost_per_1m: Option<Money>,
    /// For non-token units: cost per one `unit`.
    pub cost_per_unit: Option<Money>,
    pub avg_tokens_per_request: Option<i64>,
    pub most_efficient: bool,
    /// Metered ÷ billed spend on the days the bill is final; `null` until metering is set up.
    pub coverage_pct: Option<Decimal>,
    #[serde(flatten)]
    pub metrics: Metrics,
}

#[derive(Clone, Debug, Serialize)]
pub struct ModelsReport {
    #[serde(flatten)]
    pub header: Header,
    pub model_count: usize,
    pub total_requests: Option<i64>,
    /// The rows' work in its own units, summed unit by unit (as the table's total row);
    /// `null` when part of it is unknown.
    pub total_usage: Option<Vec<UnitAmount>>,
    pub most_efficient_model: Option<String>,
    pub rows: Vec<ModelViewRow>,
    /// Image generation by model and size, for the Images panel.
    pub images: ImagesSummary,
}

/// Images generated in the period: count, cost, cost per image and the mix of sizes.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ImagesSummary {
    pub image_count: Quantity,
    pub image_cost: Money,
    pub cost_per_image: Option<Money>,
    pub rows: Vec<ImageRow>,
    /// What the providers' APIs do not say about images.
    pub note: &'static str,
}

#[derive(Clone, Debug, Serialize)]
pub struct ImageRow {
    pub provider: ProviderKind,
    pub model: String,
    /// Size or resolution (`1024x1024`); `null` when the provider gives none.
    pub size: Option<String>,
    pub images: Quantity,
    /// Percent of all images in the period.
    pub share_of_images_pct: Option<Decimal>,
    pub cost: Money,
    pub net_cost: Money,
    pub cost_per_image: Option<Money>,
}

/// Any of the four reports.
#[derive(Clone, Debug, Serialize)]
#[serde(untagged)]
pub enum Report {
    Providers(ProvidersReport),
    Workspaces(WorkspacesReport),
    Keys(KeysReport),
    Models(ModelsReport),
    /// Customers, Products or Agents (the header's `view` says which).
    Attribution(crate::attribution::AttributionReport),
}

impl Report {
    pub fn header(&self) -> &Header {
        match self {
            Report::Providers(r) => &r.header,
            Report::Workspaces(r) => &r.header,
            Report::Keys(r) => &r.header,
            Report::Models(r) => &r.header,
            Report::Attribution(r) => &r.header,
        }
    }
}

/// The organization's names and providers, read once per report.
pub(crate) struct Catalog {
    pub(crate) connections: HashMap<ConnectionId, ConnectionRow>,
    workspaces: HashMap<WorkspaceId, WorkspaceRow>,
    coverage: Coverage,
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
    fn complete_through(&self, ids: &BTreeSet<ConnectionId>) -> Option<Day> {
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

/// Providers by the names people read, for sorting.
fn provider_names(providers: &[ProviderKind]) -> Vec<&'static str> {
    providers.iter().map(|p| p.display_name()).collect()
}

fn compare_money(a: Money, b: Money) -> Ordering {
    a.cmp(&b)
}

pub(crate) fn compare_opt<T: Ord>(a: &Option<T>, b: &Option<T>) -> Ordering {
    // Unknown sorts below every known value.
    match (a, b) {
        (Some(a), Some(b)) => a.cmp(b),
        (Some(_), None) => Ordering::Greater,
        (None, Some(_)) => Ordering::Less,
        (None, None) => Ordering::Equal,
    }
}

pub(crate) fn compare_metrics(column: &str, a: &Metrics, b: &Metrics) -> Option<Ordering> {
    Some(match column {
        "cost" | "share" => compare_money(a.cost, b.cost),
        "previous_cost" => compare_money(a.previous_cost, b.previous_cost),
        "net_cost" => compare_money(a.net_cost, b.net_cost),
        "credits" => compare_money(a.credits, b.credits),
        "trend" => compare_opt(&a.trend_pct, &b.trend_pct),
        "tokens" => a.total_tokens.cmp(&b.total_tokens),
        _ => return None,
    })
}

pub(crate) fn finish_sort<T: crate::table::Row>(
    rows: &mut [T],
    column: &str,
    descending: bool,
    compare: impl Fn(&T, &T) -> Ordering,
) {
    if column == "trend" {
        rows.sort_by(|a, b| compare_trend(a.metrics(), b.metrics(), descending));
        return;
    }
    if column == "requests" {
        rows.sort_by(|a, b| compare_work(a.metrics(), b.metrics(), descending));
        return;
    }
    rows.sort_by(|a, b| {
        let order = compare(a, b);
        if descending { order.reverse() } else { order }
    });
}

/// Builds the report a query asks for (keeping nothing between calls: a server keeps its
/// coverage through [`crate::Reports::report`]).
pub async fn report(store: &Store, org: OrgId, query: &ViewQuery) -> Result<Report, QueryError> {
    report_kept(store, &CoverageMemory::default(), org, query).await
}

/// [`report`], with the coverage column's figures kept in `memory` while they are current.
pub async fn report_kept(
    store: &Store,
    memory: &CoverageMemory,
    org: OrgId,
    query: &ViewQuery,
) -> Result<Report, QueryError> {
    Ok(match query.view {
        View::Providers => Report::Providers(providers(store, memory, org, query).await?),
        View::Workspaces => Report::Workspaces(workspaces(store, memory, org, query).await?),
        View::Keys => Report::Keys(keys(store, memory, org, query).await?),
        View::Models => Report::Models(models(store, memory, org, query).await?),
        View::Customers | View::Products | View::Agents => {
            Report::Attribution(crate::attribution::report(store, org, query).await?)
        }
    })
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
        "workspace" => a.workspace.cmp(&b.workspace),
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
fn unnamed_key(provider: ProviderKind, key: &ApiKeyRow) -> String {
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

/// Spend per model (per unit class: a model billed in tokens and in images is two rows).
pub async fn models(
    store: &Store,
    memory: &CoverageMemory,
    org: OrgId,
    query: &ViewQuery,
) -> Result<ModelsReport, QueryError> {
    let catalog = Catalog::load(store, org).await?;
    let totals = store
        .totals_by_model(
            org,
            query.period,
            Some(query.previous),
            &catalog.filter(query),
        )
        .await?;
    type Entry = (Category, Totals, Prior, BTreeSet<ConnectionId>, WorkSum);
    let mut merged: BTreeMap<(ProviderKind, String, Unit), Entry> = BTreeMap::new();
    for row in totals {
        let Some(provider) = catalog.provider(row.connection_id) else {
            continue;
        };
        let entry = merged
            .entry((provider, row.model.clone(), row.unit.clone()))
            .or_insert((
                row.category,
                Totals::default(),
                Prior::default(),
                BTreeSet::new(),
                WorkSum::default(),
            ));
        entry.1.add(&row.current);
        entry.2 += row.previous;
        entry.3.insert(row.connection_id);
        entry.4.add(provider, &row.unit, &row.current);
    }
    let mut rows: Vec<ModelViewRow> = merged
        .into_iter()
        .map(
            |((provider, model, unit), (category, current, previous, ids, work))| {
                let metrics = Metrics::new(&current, previous)
                    .with_history(&catalog.coverage, &ids, query.previous)
                    .with_work(Some(work), &[provider]);
                let tokens = unit.is_tokens();
                // Unpriced usage has no known cost: no rate is derived from it.
                let priced = current.unpriced_lines == 0;
                ModelViewRow {
                    cost_per_1m: if tokens && priced {
                        cost_per_million(current.cost, current.total_tokens())
                    } else {
                        None
                    },
                    cost_per_unit: if tokens || !priced {
                        None
                    } else {
                        cost_per_unit(current.cost, current.quantity)
                    },
                    avg_tokens_per_request: match (tokens, metrics.requests) {
                        (true, Some(requests)) if requests > 0 => {
                            Some(current.total_tokens() / requests)
                        }
                        _ => None,
                    },
                    quantity: current.quantity,
                    most_efficient: false,
                    coverage_pct: None,
                    model,
                    provider,
                    category,
                    unit,
                    metrics,
                }
            },
        )
        .filter(|row| {
            query.cost_in_range(row.metrics.cost)
                && query.includes_model(&row.model)
                && query.matches_search(&[
                    row.model.as_str(),
                    row.provider.as_str(),
                    row.category.as_str(),
                ])
        })
        .collect();
    if let Some(c) =
        crate::coverage::for_view(store, memory, org, query.period, &query.providers).await?
    {
        let lookup = c.lookup();
        for row in &mut rows {
            row.coverage_pct = lookup.model_pct(row.provider, &row.model);
        }
    }
    // The most efficient model: the lowest cost per 1M tokens among text-generation models
    // with spend (embeddings and moderation are not alternatives to them).
    let best = rows
        .iter()
        .enumerate()
        .filter(|(_, r)| {
            r.unit.is_tokens() && r.category == Category::Text && !r.metrics.cost.is_zero()
        })
        .filter_map(|(index, r)| r.cost_per_1m.map(|c| (c, index)))
        .min();
    if let Some((_, index)) = best {
        rows[index].most_efficient = true;
    }
    let total: Money = rows.iter().map(|r| r.metrics.cost).sum();
    set_shares(rows.iter_mut().map(|r| &mut r.metrics), total);
    let column = query.sort.as_str();
    finish_sort(&mut rows, column, query.descending, |a, b| match column {
        "model" => a
            .model
            .to_lowercase()
            .cmp(&b.model.to_lowercase())
            .then_with(|| a.model.cmp(&b.model)),
        "provider" => a.provider.display_name().cmp(b.provider.display_name()),
        "cost_per_1m" => compare_opt(&a.cost_per_1m, &b.cost_per_1m),
        "coverage" => compare_opt(&a.coverage_pct, &b.coverage_pct),
        "avg_tokens_per_request" => {
            compare_opt(&a.avg_tokens_per_request, &b.avg_tokens_per_request)
        }
        _ => compare_metrics(column, &a.metrics, &b.metrics).unwrap_or(Ordering::Equal),
    });
    let header = Header::new(query, &rows.iter().map(|r| &r.metrics).collect::<Vec<_>>());
    let images = images(store, org, query, &catalog).await?;
    Ok(ModelsReport {
        images,
        header,
        model_count: rows.len(),
        total_requests: sum_requests(rows.iter().map(|r| &r.metrics)),
        total_usage: sum_usage(rows.iter().map(|r| &r.metrics)),
        most_efficient_model: rows
            .iter()
            .find(|r| r.most_efficient)
            .map(|r| r.model.clone()),
        rows,
    })
}

/// The Images panel: image lines of the period by model and size.
async fn images(
    store: &Store,
    org: OrgId,
    query: &ViewQuery,
    catalog: &Catalog,
) -> Result<ImagesSummary, QueryError> {
    let totals = store
        .image_totals(org, query.period, &catalog.filter(query))
        .await?;
    let mut rows: Vec<ImageRow> = totals
        .into_iter()
        .filter_map(|t| {
            let provider = catalog.provider(t.connection_id)?;
            (query.includes_provider(provider)
                && query.includes_model(&t.model)
                && query.matches_search(&[t.model.as_str(), t.detail.as_str()]))
            .then(|| ImageRow {
                provider,
                size: (!t.detail.is_empty()).then(|| t.detail.clone()),
                cost_per_image: cost_per_unit(t.cost, t.images),
                net_cost: t.cost - t.credits,
                share_of_images_pct: None,
                images: t.images,
                cost: t.cost,
                model: t.model,
            })
        })
        .collect();
    let image_count = rows.iter().fold(Quantity::ZERO, |acc, r| acc + r.images);
    let image_cost: Money = rows.iter().map(|r| r.cost).sum();
    for row in &mut rows {
        row.share_of_images_pct = percent(
            Money::from_nanos(row.images.micros()),
            Money::from_nanos(image_count.micros()),
        );
    }
    rows.sort_by(|a, b| b.cost.cmp(&a.cost).then_with(|| a.model.cmp(&b.model)));
    Ok(ImagesSummary {
        cost_per_image: cost_per_unit(image_cost, image_count),
        image_count,
        image_cost,
        rows,
        note: "Sizes come from the provider's usage report. OpenAI's usage API does not report image quality (standard or HD); a higher cost per image at the same size shows HD use.",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cost_per_million_tokens_is_exact() {
        let cost = Money::parse_units("3").unwrap();
        assert_eq!(
            cost_per_million(cost, 2_000_000).unwrap().to_exact_string(),
            "1.50"
        );
        assert_eq!(cost_per_million(cost, 0), None);
    }

    #[test]
    fn a_long_unnamed_key_reads_by_its_last_characters() {
        let at = time::macros::datetime!(2026-11-01 00:00 UTC);
        let mut key = ApiKeyRow {
            id: ApiKeyId(1),
            connection_id: ConnectionId(1),
            provider: ProviderKind::LiteLlm,
            provider_id: "8f4e".repeat(15) + "abcd",
            workspace_id: None,
            name: None,
            hint: None,
            status: "unlisted".to_owned(),
            created_at: None,
            last_used_at: None,
            first_seen_at: at,
            last_seen_at: at,
        };
        let provider = ProviderKind::LiteLlm;
        let name = unnamed_key(provider, &key);
        assert_eq!(
            name,
            format!("unlisted {} key …8f4eabcd", provider.display_name())
        );
        key.provider_id = "key_short".to_owned();
        assert_eq!(unnamed_key(provider, &key), "key_short");
    }

    /// A row's metrics from its lines of one provider, each `(unit, lines, requests, quantity)`.
    fn worked(provider: ProviderKind, lines: &[(&str, i64, i64, i64)]) -> Metrics {
        let mut totals = Totals::default();
        let mut work = WorkSum::default();
        for (unit, count, requests, whole) in lines {
            let line = Totals {
                lines: *count,
                requests: *requests,
                requests_unknown: if provider.reports_request_counts() {
                    0
                } else {
                    *count
                },
                quantity: Quantity::from_whole(*whole),
                cost: Money::from_nanos(1_000),
                ..Totals::default()
            };
            totals.add(&line);
            work.add(provider, &Unit::parse(unit).unwrap(), &line);
        }
        Metrics::new(&totals, Prior::default()).with_work(Some(work), &[provider])
    }

    #[test]
    fn an_idle_row_of_a_provider_without_request_counts_has_unknown_work_not_zero() {
        for provider in [
            ProviderKind::Anthropic,
            ProviderKind::Bedrock,
            ProviderKind::Vertex,
            ProviderKind::AzureOpenAi,
            ProviderKind::Fal,
            ProviderKind::Runway,
        ] {
            let idle = worked(provider, &[]);
            assert_eq!((idle.requests, &idle.usage), (None, &None), "{provider:?}");
        }
        // Providers that count requests counted none.
        let idle = worked(ProviderKind::OpenAi, &[]);
        assert_eq!((idle.requests, idle.usage), (Some(0), Some(Vec::new())));
        // Work in its own units is known.
        let fal = worked(ProviderKind::Fal, &[("images", 2, 0, 5)]);
        assert_eq!(fal.requests, None);
        assert_eq!(crate::work::text(fal.usage.as_deref()), "5 images");
    }

    #[test]
    fn idle_rows_add_nothing_to_the_total_work_and_unknown_work_makes_it_unknown() {
        let fal = worked(ProviderKind::Fal, &[("images", 2, 0, 5)]);
        let runway = worked(ProviderKind::Runway, &[("credits", 1, 0, 30)]);
        let idle_fal = worked(ProviderKind::Fal, &[]);
        let openai = worked(ProviderKind::OpenAi, &[("tokens", 3, 7, 0)]);
        let anthropic = worked(ProviderKind::Anthropic, &[("tokens", 1, 0, 0)]);
        let total =
            |rows: &[&Metrics]| crate::work::text(sum_usage(rows.iter().copied()).as_deref());
        assert!(idle_fal.idle_without_count() && !fal.idle_without_count());
        assert_eq!(total(&[&fal, &idle_fal, &runway]), "30 credits; 5 images");
        assert_eq!(total(&[&openai, &fal, &idle_fal]), "7 requests; 5 images");
        assert_eq!(total(&[&openai, &anthropic, &idle_fal]), "N/A");
        assert_eq!(total(&[&idle_fal]), "0");
    }

    struct Sorted(Metrics);

    impl crate::table::Row for Sorted {
        fn metrics(&self) -> &Metrics {
            &self.0
        }
    }

    #[test]
    fn requests_sort_counts_first_then_own_units_by_unit_and_unknown_last() {
        let rows = || {
            vec![
                Sorted(worked(ProviderKind::Fal, &[("images", 1, 0, 3)])),
                Sorted(worked(ProviderKind::Anthropic, &[("tokens", 4, 0, 0)])),
                Sorted(worked(ProviderKind::OpenAi, &[("tokens", 2, 5, 0)])),
                Sorted(worked(ProviderKind::Runway, &[("credits", 1, 0, 100)])),
                Sorted(worked(ProviderKind::Fal, &[("images", 1, 0, 10)])),
                Sorted(worked(ProviderKind::OpenAi, &[("tokens", 3, 50, 0)])),
                Sorted(worked(ProviderKind::OpenAi, &[])),
            ]
        };
        let texts = |rows: &[Sorted]| -> Vec<String> {
            rows.iter()
                .map(|r| crate::work::text(r.0.usage.as_deref()))
                .collect()
        };
        let mut descending = rows();
        finish_sort(&mut descending, "requests", true, |_, _| Ordering::Equal);
        assert_eq!(
            texts(&descending),
            [
                "50",
                "5",
                "0",
                "100 credits",
                "10 images",
                "3 images",
                "N/A"
            ]
        );
        let mut ascending = rows();
        finish_sort(&mut ascending, "requests", false, |_, _| Ordering::Equal);
        assert_eq!(
            texts(&ascending),
            [
                "0",
                "5",
                "50",
                "100 credits",
                "3 images",
                "10 images",
                "N/A"
            ]
        );
    }

    #[test]
    fn shares_round_to_a_tenth_of_a_percent() {
        let third = percent(Money::from_nanos(1), Money::from_nanos(3)).unwrap();
        assert_eq!(third.to_string(), "33.3");
        assert_eq!(percent(Money::ZERO, Money::ZERO), None);
    }
}
