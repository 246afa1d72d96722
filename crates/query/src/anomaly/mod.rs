//! Anomalies: each customer's (metered), model's, API key's and workspace's (billed) spend on
//! its last complete day against the same weekday of the trailing weeks, flagged when it moves
//! by at least the threshold (global, or the scope's own), and explained — the items that drove
//! it and the change split into volume, price and mix ([`math`], pure, exact).
//!
//! [`anomalies`] is pure over the days read ([`SpendDays`]); [`current`] reads and evaluates
//! one organization, for the API, the dashboard, the CLI and alert rules.

pub mod csv;
pub mod math;
pub mod settings;

pub use settings::{AnomalySettings, ThresholdOverride};

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::Serialize;
use spendlens_domain::{Day, Money};
use spendlens_store::{OrgId, Store};
use time::OffsetDateTime;

use self::math::{Driver, ItemInput};
use crate::QueryError;
use crate::spend_days::{Cell, Scope, ScopeKind, Source, SpendDays};

/// The scopes tested, in the order surfaces show them.
pub const SCOPES: [ScopeKind; 4] = [
    ScopeKind::Customer,
    ScopeKind::Model,
    ScopeKind::Key,
    ScopeKind::Workspace,
];

/// Baseline days a scope needs (the same weekday of earlier weeks inside its history).
pub const MIN_BASELINE_DAYS: usize = 2;

/// Drivers listed per anomaly.
pub const MAX_DRIVERS: usize = 5;

/// One scope's day that moved past its threshold, explained.
#[derive(Clone, Debug, Serialize)]
pub struct Anomaly {
    pub scope: ScopeKind,
    pub id: String,
    pub label: String,
    pub source: Source,
    /// The model behind the largest part of the change (the scope's own for a model).
    pub model: Option<String>,
    /// The day tested: the scope's last complete day.
    pub day: Day,
    pub weekday: String,
    pub baseline_days: Vec<Day>,
    pub current_daily: Money,
    pub baseline_daily: Money,
    pub change: Money,
    /// `null` when the baseline spent nothing (`direction`: `new`).
    pub deviation_pct: Option<Decimal>,
    /// `spike`, `drop` or `new`.
    pub direction: &'static str,
    pub threshold_pct: Decimal,
    /// `global` or `scope`.
    pub threshold_source: &'static str,
    /// When the day's data was complete: the end of the metered day, or the sync that
    /// brought the bill in.
    #[serde(with = "time::serde::rfc3339")]
    pub detected_at: OffsetDateTime,
    /// What moved the spend: more or fewer tokens (`volume`), each item's cost per
    /// unit (`price`), and the shift between items of different unit costs (`mix`).
    pub volume: Money,
    pub price: Money,
    pub mix: Money,
    /// `tokens` (input, cache and output; a call that reported none has no volume).
    pub volume_unit: &'static str,
    pub current_volume: i64,
    pub baseline_volume: Decimal,
    /// What the items are: `model · key`, `key`, `model`…
    pub driver_kind: &'static str,
    pub drivers: Vec<Driver>,
    /// Items changed but not listed.
    pub other_drivers: usize,
}

/// The anomalies of one organization.
#[derive(Clone, Debug, Serialize)]
pub struct AnomalyReport {
    #[serde(with = "time::serde::rfc3339")]
    pub generated_at: OffsetDateTime,
    pub time_zone: &'static str,
    pub currency: &'static str,
    pub settings: AnomalySettings,
    /// Largest |change| first.
    pub anomalies: Vec<Anomaly>,
    /// Scopes tested.
    pub tested: usize,
    /// Scopes with too little history to test (fewer than 2 baseline days).
    pub insufficient_history: usize,
    pub notes: Vec<String>,
}

fn driver_kind(kind: ScopeKind) -> &'static str {
    match kind {
        ScopeKind::Customer => "model · key",
        ScopeKind::Model => "key · workspace",
        ScopeKind::Key => "model",
        ScopeKind::Workspace | ScopeKind::Provider => "model · key",
    }
}

/// An item's label and model.
fn item_of(kind: ScopeKind, cell: &Cell) -> (String, String) {
    let label = match kind {
        ScopeKind::Key => cell.model.clone(),
        ScopeKind::Model => match &cell.workspace {
            Some(w) => format!("{} · {w}", cell.key_label),
            None => cell.key_label.clone(),
        },
        _ => format!("{} · {}", cell.model, cell.key_label),
    };
    (label, cell.model.clone())
}

/// Tests one scope; `Err(())` when it has too little history, `Ok(None)` when it is normal.
fn test_scope(scope: &Scope<'_>, settings: &AnomalySettings) -> Result<Option<Anomaly>, ()> {
    let Some(day) = scope.complete_through else {
        return Err(());
    };
    let baseline_days: Vec<Day> = (1..=settings.weeks.max(1))
        .filter_map(|w| day.add_days(-7 * w).ok())
        .filter(|d| scope.history_from.is_some_and(|from| from <= *d))
        .collect();
    if baseline_days.len() < MIN_BASELINE_DAYS {
        return Err(());
    }
    let mut items: BTreeMap<String, (String, ItemInput)> = BTreeMap::new();
    for cell in &scope.cells {
        let (label, model) = item_of(scope.kind, cell);
        let entry = items.entry(label.clone()).or_insert_with(|| {
            (
                model,
                ItemInput {
                    label,
                    current_cost: Money::ZERO,
                    current_volume: 0,
                    baseline_cost_sum: Money::ZERO,
                    baseline_volume_sum: 0,
                },
            )
        });
        if let Some((cost, volume)) = cell.days.get(&day) {
            entry.1.current_cost += *cost;
            entry.1.current_volume = entry.1.current_volume.saturating_add(*volume);
        }
        for d in &baseline_days {
            if let Some((cost, volume)) = cell.days.get(d) {
                entry.1.baseline_cost_sum += *cost;
                entry.1.baseline_volume_sum = entry.1.baseline_volume_sum.saturating_add(*volume);
            }
        }
    }
    let models: BTreeMap<String, String> = items
        .iter()
        .map(|(label, (model, _))| (label.clone(), model.clone()))
        .collect();
    let inputs: Vec<ItemInput> = items.into_values().map(|(_, i)| i).collect();
    let weeks = i64::try_from(baseline_days.len()).unwrap_or(1);
    let e = math::explain(&inputs, weeks);
    if e.current < settings.min_daily && e.baseline < settings.min_daily {
        return Ok(None);
    }
    let (threshold, threshold_source) = settings.threshold_for(scope.kind, &scope.id);
    let direction = match e.deviation_pct {
        None if e.current.is_zero() => return Ok(None),
        None => "new",
        Some(pct) if pct.abs() < threshold => return Ok(None),
        Some(pct) if pct > Decimal::ZERO => "spike",
        Some(_) => "drop",
    };
    let mut drivers: Vec<Driver> = e
        .drivers
        .into_iter()
        .filter(|d| !d.change.is_zero())
        .collect();
    let other_drivers = drivers.len().saturating_sub(MAX_DRIVERS);
    drivers.truncate(MAX_DRIVERS);
    let model = match scope.kind {
        ScopeKind::Model => scope.cells.first().map(|c| c.model.clone()),
        _ => drivers.first().and_then(|d| models.get(&d.label).cloned()),
    };
    let day_end = day
        .add_days(1)
        .map(Day::start)
        .unwrap_or_else(|_| day.start());
    let detected_at = match scope.kind.source() {
        Source::Metered => day_end,
        Source::Billed => scope.data_at.map_or(day_end, |at| at.max(day_end)),
    };
    let current_volume: i64 = inputs.iter().map(|i| i.current_volume).sum();
    let baseline_volume_sum: i64 = inputs.iter().map(|i| i.baseline_volume_sum).sum();
    Ok(Some(Anomaly {
        scope: scope.kind,
        id: scope.id.clone(),
        label: scope.label.clone(),
        source: scope.kind.source(),
        model,
        day,
        weekday: day.date().weekday().to_string(),
        baseline_days,
        current_daily: e.current,
        baseline_daily: e.baseline,
        change: e.change,
        deviation_pct: e.deviation_pct,
        direction,
        threshold_pct: threshold,
        threshold_source,
        detected_at,
        volume: e.volume,
        price: e.price,
        mix: e.mix,
        volume_unit: "tokens",
        current_volume,
        baseline_volume: (Decimal::from(baseline_volume_sum) / Decimal::from(weeks)).round_dp(1),
        driver_kind: driver_kind(scope.kind),
        drivers,
        other_drivers,
    }))
}

/// The anomalies among the scopes asked for (empty: all of [`SCOPES`]).
pub fn anomalies(
    data: &SpendDays,
    settings: &AnomalySettings,
    scopes: &[ScopeKind],
) -> AnomalyReport {
    let (mut found, mut tested, mut short) = (Vec::new(), 0, 0);
    for kind in SCOPES {
        if !scopes.is_empty() && !scopes.contains(&kind) {
            continue;
        }
        for scope in data.scopes(kind) {
            match test_scope(&scope, settings) {
                Err(()) => short += 1,
                Ok(found_one) => {
                    tested += 1;
                    found.extend(found_one);
                }
            }
        }
    }
    found.sort_by(|a: &Anomaly, b: &Anomaly| {
        b.change
            .abs()
            .cmp(&a.change.abs())
            .then_with(|| a.label.cmp(&b.label))
    });
    AnomalyReport {
        generated_at: data.now,
        time_zone: "UTC",
        currency: "USD",
        notes: vec![
            format!(
                "Each scope's last complete day against the same weekday of up to {} earlier \
                 weeks (at least {MIN_BASELINE_DAYS} inside its history); an anomaly moves by at \
                 least the threshold ({} % unless the scope has its own), and days under ${} on \
                 both sides are not tested.",
                settings.weeks, settings.threshold_pct, settings.min_daily
            ),
            "volume + price + mix = change exactly: volume is tokens (input, cache and output) \
             at the baseline cost per unit, price each item's own cost per unit, mix the shift \
             between items (and new items)."
                .to_owned(),
        ],
        settings: settings.clone(),
        anomalies: found,
        tested,
        insufficient_history: short,
    }
}

/// One organization's current anomalies at `now`, with its stored thresholds — the function
/// alert rules call (`anomaly` kind): each [`Anomaly`] names its scope (`scope`, `id`), the day,
/// the deviation and why.
pub async fn current(
    store: &Store,
    org: OrgId,
    now: OffsetDateTime,
) -> Result<AnomalyReport, QueryError> {
    let settings = settings::load(store, org).await?;
    let data = SpendDays::load(store, org, now).await?;
    Ok(anomalies(&data, &settings, &[]))
}
