//! Budget spend per cap, read from rollups only: the bill (`cost.key_model`) through each
//! provider's "complete through" day (the earliest of its connections' watermarks, as
//! coverage computes them), and metered calls (`meter_day`) after it; caps on an API key or a
//! customer count metered calls only. A metered day is counted only where the bill does not
//! cover it, so no dollar is counted twice. The result is a [`Snapshot`] for the check
//! ledger, and [`status`] turns a cap's spend into what the surfaces show.

use std::collections::{BTreeMap, HashMap};

use rust_decimal::Decimal;
use serde::Serialize;
use spendlens_domain::budget::eval::{BudgetState, state, utilization_pct};
use spendlens_domain::budget::ledger::{LedgerCap, Snapshot};
use spendlens_domain::budget::{BudgetPeriod, CallScope, CapScope};
use spendlens_domain::{Day, DayRange, Money, ProviderKind};
use spendlens_store::{BudgetCapRow, OrgId, Store, meter_extra};
use time::OffsetDateTime;

use crate::QueryError;
use crate::coverage::{keys::match_key, watermark};

/// One cell of spend with its sums per period kind: `[0]` every day of the period counted
/// for it, `[1]` (metered cells) only the days after its provider's bill is complete.
#[derive(Clone, Debug)]
struct SpendCell {
    call: CallScope,
    billed: bool,
    cost: [[Money; 2]; 3],
    unpriced: [[i64; 2]; 3],
}

fn period_index(period: BudgetPeriod) -> usize {
    match period {
        BudgetPeriod::Daily => 0,
        BudgetPeriod::Weekly => 1,
        BudgetPeriod::Monthly => 2,
    }
}

/// A cap's spend in its current period.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CapSpend {
    pub settled: Money,
    /// Metered calls in the period the catalog could not price (not in `settled`).
    pub unpriced_calls: i64,
}

/// What a read found: the ledger's snapshot and, per cap (same order), its unpriced calls.
#[derive(Clone, Debug)]
pub struct BudgetRead {
    pub snapshot: Snapshot,
    pub unpriced_calls: Vec<i64>,
    pub caps: Vec<BudgetCapRow>,
    /// Where metered calls' keys sit (their workspace), for calls settled after the read.
    pub keys: KeyPlacement,
}

/// Billed keys per provider and their workspaces: a metered call's workspace is its key's.
#[derive(Clone, Debug, Default)]
pub struct KeyPlacement {
    keys: HashMap<String, Vec<(String, Option<String>)>>,
    workspace: HashMap<(String, String), String>,
}

impl KeyPlacement {
    /// The workspace (display name) of the billed key a metered key names, if one does.
    pub fn workspace_of(&self, provider: &str, api_key: &str) -> Option<String> {
        let id = match_key(api_key, self.keys.get(provider)?)?;
        self.workspace
            .get(&(provider.to_owned(), id.to_owned()))
            .cloned()
    }
}

/// Reads every cap of the organization and its settled spend at `now`. `seq` is the ledger's
/// sequence number taken before the read began.
pub async fn read(
    store: &Store,
    org: OrgId,
    now: OffsetDateTime,
    seq: u64,
) -> Result<BudgetRead, QueryError> {
    let caps = store.list_budget_caps(org).await?;
    let today = Day::of(now);
    let from = BudgetPeriod::ALL
        .iter()
        .map(|p| p.days(now).from())
        .min()
        .unwrap_or(today);
    let range = DayRange::new(from, today).map_err(|e| QueryError::Invalid(e.to_string()))?;
    let periods: [DayRange; 3] = BudgetPeriod::ALL.map(|p| p.days(now));

    // Each provider's "complete through": the earliest of its connections' (none when one
    // never synced).
    let connections = store.list_connections(org).await?;
    let mut marks: HashMap<String, Option<Day>> = HashMap::new();
    for c in &connections {
        let through = watermark::complete_through(
            c.provider,
            c.synced_through,
            c.last_success_at.map(Day::of),
        );
        marks
            .entry(c.provider.as_str().to_owned())
            .and_modify(|m| *m = m.zip(through).map(|(a, b)| a.min(b)))
            .or_insert(through);
    }
    let watermarks: BTreeMap<String, Day> = marks
        .iter()
        .filter_map(|(p, d)| d.map(|d| (p.clone(), d)))
        .collect();
    let providers: HashMap<_, _> = connections.iter().map(|c| (c.id, c.provider)).collect();
    let workspaces: HashMap<i64, String> = store
        .list_workspaces(org)
        .await?
        .into_iter()
        .map(|w| (w.id.0, w.display_name))
        .collect();
    // Billed keys per provider (id, hint) and their workspace, to place metered calls.
    let mut placement = KeyPlacement::default();
    for k in store.list_api_keys(org).await? {
        let p = k.provider.as_str().to_owned();
        if let Some(ws) = k.workspace_id.and_then(|w| workspaces.get(&w.0)) {
            placement
                .workspace
                .insert((p.clone(), k.provider_id.clone()), ws.clone());
        }
        placement
            .keys
            .entry(p)
            .or_default()
            .push((k.provider_id, k.hint));
    }

    let mut cells = Vec::new();
    for b in store.billed_days(org, range).await? {
        let Some(provider) = providers.get(&b.connection_id) else {
            continue;
        };
        let Some(through) = watermarks.get(provider.as_str()).copied() else {
            continue; // no complete bill: metered calls stand for it
        };
        let mut cost = [[Money::ZERO; 2]; 3];
        for (day, totals) in &b.days {
            for (i, period) in periods.iter().enumerate() {
                if period.contains(*day) && *day <= through {
                    cost[i][0] += totals.cost;
                }
            }
        }
        cells.push(SpendCell {
            call: CapScope {
                provider: Some(provider.as_str().to_owned()),
                workspace: b.workspace_id.and_then(|w| workspaces.get(&w.0).cloned()),
                api_key: None,
                customer: None,
                model: Some(b.model),
            },
            billed: true,
            cost,
            unpriced: [[0; 2]; 3],
        });
    }
    for m in store.metered_days(org, range).await? {
        let provider = m
            .provider
            .parse::<ProviderKind>()
            .map_or_else(|_| m.provider.clone(), |k| k.as_str().to_owned());
        let through = watermarks.get(&provider).copied();
        let workspace = placement.workspace_of(&provider, &m.api_key);
        let mut cost = [[Money::ZERO; 2]; 3];
        let mut unpriced = [[0_i64; 2]; 3];
        for (day, metrics) in &m.days {
            let calls = metrics.extra[meter_extra::UNPRICED];
            for (i, period) in periods.iter().enumerate() {
                if !period.contains(*day) {
                    continue;
                }
                cost[i][0] += metrics.totals.cost;
                unpriced[i][0] += calls;
                if through.is_none_or(|t| *day > t) {
                    cost[i][1] += metrics.totals.cost;
                    unpriced[i][1] += calls;
                }
            }
        }
        cells.push(SpendCell {
            call: CapScope {
                provider: Some(provider),
                workspace,
                api_key: (!m.api_key.is_empty()).then_some(m.api_key),
                customer: (!m.customer.is_empty()).then_some(m.customer),
                model: Some(m.model),
            },
            billed: false,
            cost,
            unpriced,
        });
    }

    let mut ledger_caps = Vec::with_capacity(caps.len());
    let mut unpriced_calls = Vec::with_capacity(caps.len());
    for cap in &caps {
        let spend = spend_of(&cap.spec.scope, cap.spec.period, &cells);
        let (start, end) = cap.spec.period.bounds(now);
        ledger_caps.push(LedgerCap {
            id: cap.id,
            spec: cap.spec.clone(),
            start,
            end,
            base: spend.settled,
        });
        unpriced_calls.push(spend.unpriced_calls);
    }
    Ok(BudgetRead {
        snapshot: Snapshot {
            caps: ledger_caps,
            watermarks,
            seq,
            taken_at: now,
        },
        unpriced_calls,
        caps,
        keys: placement,
    })
}

fn spend_of(scope: &CapScope, period: BudgetPeriod, cells: &[SpendCell]) -> CapSpend {
    let p = period_index(period);
    let metered_only = scope.metered_only();
    let mut out = CapSpend::default();
    for cell in cells {
        if !scope.governs(&cell.call) {
            continue;
        }
        match (cell.billed, metered_only) {
            (true, true) => {}
            (true, false) => out.settled += cell.cost[p][0],
            (false, only) => {
                let part = usize::from(!only);
                out.settled += cell.cost[p][part];
                out.unpriced_calls += cell.unpriced[p][part];
            }
        }
    }
    out
}

/// A cap's status as every surface shows it.
#[derive(Clone, Debug, Serialize)]
pub struct CapStatus {
    pub id: i64,
    pub name: String,
    pub scope: String,
    pub period: BudgetPeriod,
    /// How the period's boundaries read ("UTC week, Monday 00:00 to Monday 00:00").
    pub period_boundaries: &'static str,
    #[serde(with = "time::serde::rfc3339")]
    pub period_start: OffsetDateTime,
    /// Exclusive.
    #[serde(with = "time::serde::rfc3339")]
    pub period_end: OffsetDateTime,
    pub limit: Money,
    pub soft_pct: u8,
    pub soft_limit: Money,
    /// Settled spend plus open reservations.
    pub spend: Money,
    pub settled: Money,
    pub reserved: Money,
    /// Spend ÷ limit, percent, two decimals.
    pub utilization_pct: Decimal,
    /// Limit − spend (negative when over).
    pub remaining: Money,
    pub state: BudgetState,
    pub enabled: bool,
    pub provenance: &'static str,
    /// `bill_then_metered` or `metered`.
    pub source: &'static str,
    /// Metered calls in the period without a price: not in the spend (unknown, not zero).
    pub unpriced_calls: i64,
}

/// The status of one cap of a snapshot, with `settled` and `reserved` from the ledger.
pub fn status(cap: &LedgerCap, settled: Money, reserved: Money, unpriced_calls: i64) -> CapStatus {
    let spend = settled + reserved;
    let spec = &cap.spec;
    CapStatus {
        id: cap.id,
        name: spec.name.clone(),
        scope: spec.scope.to_string(),
        period: spec.period,
        period_boundaries: spec.period.boundaries(),
        period_start: cap.start,
        period_end: cap.end,
        limit: spec.limit,
        soft_pct: spec.soft_pct,
        soft_limit: spec.soft_limit(),
        spend,
        settled,
        reserved,
        utilization_pct: utilization_pct(spend, spec.limit),
        remaining: spec.limit - spend,
        state: state(spend, spec.limit, spec.soft_pct),
        enabled: spec.enabled,
        provenance: spec.provenance.as_str(),
        source: if spec.scope.metered_only() {
            "metered"
        } else {
            "bill_then_metered"
        },
        unpriced_calls,
    }
}

/// The month to date's billed lines with no known price, as a note for budget surfaces: a
/// cap's spend adds known money only, so their cost (unknown, not $0) is in no cap.
pub async fn unpriced_note(
    store: &Store,
    org: OrgId,
    now: OffsetDateTime,
) -> Result<Option<String>, QueryError> {
    let today = Day::of(now);
    let month = DayRange::new(today.first_of_month(), today)
        .map_err(|e| QueryError::Invalid(e.to_string()))?;
    Ok(crate::unpriced::unpriced_bill(store, org, month, None)
        .await?
        .map(|bill| bill.note("any budget's spend")))
}
