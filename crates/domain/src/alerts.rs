//! Alert rules as pure decisions: what a rule watches (its kind, scope, period or window and
//! threshold), which UTC period "now" falls in, whether an observed value crosses, and the
//! de-duplication state machine — one firing per crossing, re-armed when the value recovers or
//! a new period starts.
//!
//! A rule kind is one [`RuleKind`] variant plus, in the web crate's evaluator, the function
//! that turns data into [`Observation`]s. Budget soft/hard crossings and anomalies are meant
//! to be added that way: a variant here (with its data source and whether a threshold is
//! money), and an evaluator arm reading the budgets' or anomalies' status.

use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::Serialize;
use time::{Duration, OffsetDateTime};

use crate::calendar::{Day, DayRange};

/// What a rule watches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleKind {
    /// Spend over a threshold (USD) in the current UTC day, week or month.
    Spend,
    /// Spend over a threshold (USD) in the trailing window of hours (the current hour included).
    SpendRate,
    /// Average cost per priced call (USD) above a threshold, over the period or the window.
    AvgCost,
    /// Calls of a model the price catalog cannot price (one firing per model and period).
    UnpricedModel,
    /// A provider-reported cost differs from the catalog's by more than a percentage (per model).
    PriceDrift,
    /// A connection's sync failing this many times in a row (per connection).
    SyncFailing,
    /// A budget cap reached its soft limit (per cap; the threshold is not used).
    BudgetSoft,
    /// A budget cap reached its limit (per cap; the threshold is not used).
    BudgetHard,
}

impl RuleKind {
    pub const ALL: [RuleKind; 8] = [
        RuleKind::Spend,
        RuleKind::SpendRate,
        RuleKind::AvgCost,
        RuleKind::UnpricedModel,
        RuleKind::PriceDrift,
        RuleKind::SyncFailing,
        RuleKind::BudgetSoft,
        RuleKind::BudgetHard,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            RuleKind::Spend => "spend",
            RuleKind::SpendRate => "spend_rate",
            RuleKind::AvgCost => "avg_cost",
            RuleKind::UnpricedModel => "unpriced_model",
            RuleKind::PriceDrift => "price_drift",
            RuleKind::SyncFailing => "sync_failing",
            RuleKind::BudgetSoft => "budget_soft",
            RuleKind::BudgetHard => "budget_hard",
        }
    }

    /// A short description for pages and messages.
    pub const fn title(self) -> &'static str {
        match self {
            RuleKind::Spend => "Spend over a threshold per period",
            RuleKind::SpendRate => "Spend rate over a window of hours",
            RuleKind::AvgCost => "Average cost per call above",
            RuleKind::UnpricedModel => "Unpriced model seen",
            RuleKind::PriceDrift => "Reported or billed price drifts from the catalog (%)",
            RuleKind::SyncFailing => "Sync failing (runs in a row)",
            RuleKind::BudgetSoft => "Budget at its soft limit",
            RuleKind::BudgetHard => "Budget at its limit",
        }
    }

    /// What the threshold is: USD, a percentage or a count.
    pub const fn threshold_unit(self) -> ThresholdUnit {
        match self {
            RuleKind::Spend | RuleKind::SpendRate | RuleKind::AvgCost => ThresholdUnit::Usd,
            RuleKind::PriceDrift | RuleKind::BudgetSoft | RuleKind::BudgetHard => {
                ThresholdUnit::Percent
            }
            RuleKind::UnpricedModel | RuleKind::SyncFailing => ThresholdUnit::Count,
        }
    }

    /// The kinds that need a period; `SpendRate` needs a window instead; the others neither.
    pub const fn uses_period(self) -> bool {
        matches!(
            self,
            RuleKind::Spend | RuleKind::AvgCost | RuleKind::UnpricedModel
        )
    }
}

impl fmt::Display for RuleKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RuleKind {
    type Err = String;
    fn from_str(text: &str) -> Result<RuleKind, String> {
        RuleKind::ALL
            .into_iter()
            .find(|k| k.as_str() == text.trim())
            .ok_or_else(|| {
                format!(
                    "unknown rule kind \"{text}\"; use one of {}",
                    RuleKind::ALL.map(RuleKind::as_str).join(", ")
                )
            })
    }
}

/// How a threshold reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ThresholdUnit {
    Usd,
    Percent,
    Count,
}

/// Which spend a rule looks at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ScopeKind {
    Org,
    Provider,
    Model,
    Customer,
    ApiKey,
    Workspace,
}

impl ScopeKind {
    pub const ALL: [ScopeKind; 6] = [
        ScopeKind::Org,
        ScopeKind::Provider,
        ScopeKind::Model,
        ScopeKind::Customer,
        ScopeKind::ApiKey,
        ScopeKind::Workspace,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            ScopeKind::Org => "org",
            ScopeKind::Provider => "provider",
            ScopeKind::Model => "model",
            ScopeKind::Customer => "customer",
            ScopeKind::ApiKey => "api_key",
            ScopeKind::Workspace => "workspace",
        }
    }
}

impl FromStr for ScopeKind {
    type Err = String;
    fn from_str(text: &str) -> Result<ScopeKind, String> {
        ScopeKind::ALL
            .into_iter()
            .find(|k| k.as_str() == text.trim())
            .ok_or_else(|| {
                format!(
                    "unknown scope \"{text}\"; use one of {}",
                    ScopeKind::ALL.map(ScopeKind::as_str).join(", ")
                )
            })
    }
}

/// A UTC calendar period (weeks start on Monday).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertPeriod {
    Day,
    Week,
    Month,
}

impl AlertPeriod {
    pub const fn as_str(self) -> &'static str {
        match self {
            AlertPeriod::Day => "day",
            AlertPeriod::Week => "week",
            AlertPeriod::Month => "month",
        }
    }

    /// The days of the period `now` falls in, from its first day through today.
    pub fn so_far(self, now: OffsetDateTime) -> DayRange {
        let today = Day::of(now);
        let first = match self {
            AlertPeriod::Day => today,
            AlertPeriod::Week => {
                let back = i64::from(today.date().weekday().number_days_from_monday());
                today.add_days(-back).unwrap_or(today)
            }
            AlertPeriod::Month => today.first_of_month(),
        };
        DayRange::new(first, today).unwrap_or_else(|_| DayRange::single(today))
    }

    /// The period's name as recorded with a firing: `2026-12-04`, `week of 2026-11-30`,
    /// `2026-12`.
    pub fn key(self, now: OffsetDateTime) -> String {
        let first = self.so_far(now).from();
        match self {
            AlertPeriod::Day => first.to_string(),
            AlertPeriod::Week => format!("week of {first}"),
            AlertPeriod::Month => first.to_string()[..7].to_owned(),
        }
    }
}

impl FromStr for AlertPeriod {
    type Err = String;
    fn from_str(text: &str) -> Result<AlertPeriod, String> {
        match text.trim() {
            "day" | "daily" => Ok(AlertPeriod::Day),
            "week" | "weekly" => Ok(AlertPeriod::Week),
            "month" | "monthly" => Ok(AlertPeriod::Month),
            other => Err(format!(
                "unknown period \"{other}\"; use day, week or month (UTC; weeks start on Monday)"
            )),
        }
    }
}

/// Where a rule's numbers come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// Metered calls: evaluated within seconds of the events arriving.
    Metered,
    /// Synced bills: evaluated after syncs.
    Billed,
}

impl Source {
    pub const fn as_str(self) -> &'static str {
        match self {
            Source::Metered => "metered",
            Source::Billed => "billed",
        }
    }
}

impl FromStr for Source {
    type Err = String;
    fn from_str(text: &str) -> Result<Source, String> {
        match text.trim() {
            "metered" => Ok(Source::Metered),
            "billed" => Ok(Source::Billed),
            other => Err(format!("unknown source \"{other}\"; use metered or billed")),
        }
    }
}

/// The longest window a spend-rate or average-cost rule may have (one week of hours).
pub const MAX_WINDOW_HOURS: i64 = 24 * 7;

/// A rule's definition, checked: every combination that cannot be evaluated is refused here.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RuleSpec {
    pub kind: RuleKind,
    pub source: Source,
    pub scope: ScopeKind,
    /// The scope's value (a provider, model, customer, key or workspace); `*` evaluates each
    /// value on its own; `None` for the organization.
    pub scope_value: Option<String>,
    pub period: Option<AlertPeriod>,
    pub window_hours: Option<i64>,
    /// USD, percent or a count (see [`RuleKind::threshold_unit`]); exact decimal.
    pub threshold: Decimal,
    /// Average cost: the fewest priced calls before the average counts.
    pub min_calls: i64,
}

impl RuleSpec {
    /// Checks a definition, saying what to change when it cannot be evaluated.
    pub fn check(self) -> Result<RuleSpec, String> {
        let kind = self.kind;
        if self.threshold.is_sign_negative() {
            return Err("the threshold must not be negative".to_owned());
        }
        if self.threshold > Decimal::from(1_000_000_000_i64) {
            return Err(
                "the threshold is absurdly large (at most 1,000,000,000); check the unit"
                    .to_owned(),
            );
        }
        if kind.threshold_unit() == ThresholdUnit::Count && !self.threshold.fract().is_zero() {
            return Err(format!("a {kind} threshold is a whole count"));
        }
        if kind == RuleKind::SyncFailing && self.threshold < Decimal::ONE {
            return Err("sync_failing counts failed runs in a row: at least 1".to_owned());
        }
        match (kind, self.source) {
            (RuleKind::SyncFailing, Source::Metered) => {
                return Err("sync_failing reads sync runs: use source billed".to_owned());
            }
            (
                RuleKind::SpendRate
                | RuleKind::AvgCost
                | RuleKind::UnpricedModel
                | RuleKind::PriceDrift,
                Source::Billed,
            ) => {
                return Err(format!(
                    "{kind} is evaluated on metered calls as they arrive: use source metered"
                ));
            }
            _ => {}
        }
        let value = self
            .scope_value
            .as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty());
        match (self.scope, value) {
            (ScopeKind::Org, Some(_)) => {
                return Err("the org scope takes no value".to_owned());
            }
            (ScopeKind::Org, None) => {}
            (scope, None) => {
                return Err(format!(
                    "the {} scope needs a value (or * for each {} on its own)",
                    scope.as_str(),
                    scope.as_str()
                ));
            }
            (_, Some(v)) if v.len() > 200 => {
                return Err("a scope value is at most 200 characters".to_owned());
            }
            _ => {}
        }
        if self.source == Source::Metered && self.scope == ScopeKind::Workspace {
            return Err(
                "metered calls are not rolled up by workspace: a workspace scope reads the bills (source billed)"
                    .to_owned(),
            );
        }
        if self.source == Source::Billed
            && !matches!(
                self.scope,
                ScopeKind::Org | ScopeKind::Provider | ScopeKind::Model | ScopeKind::Workspace
            )
            && kind == RuleKind::Spend
        {
            return Err(format!(
                "billed spend is read by org, provider, model or workspace; a {} scope reads metered calls (source metered)",
                self.scope.as_str()
            ));
        }
        if matches!(kind, RuleKind::BudgetSoft | RuleKind::BudgetHard) {
            if self.source != Source::Metered {
                return Err(format!(
                    "{kind} watches the budgets' status as calls arrive: use source metered"
                ));
            }
            if self.scope != ScopeKind::Org {
                return Err(format!(
                    "{kind} watches every enabled budget (one firing per budget): use the org scope"
                ));
            }
        }
        if kind == RuleKind::SyncFailing && self.scope != ScopeKind::Org {
            return Err("sync_failing watches every connection: use the org scope".to_owned());
        }
        let (period, window) = match kind {
            RuleKind::Spend | RuleKind::UnpricedModel => {
                (Some(self.period.unwrap_or(AlertPeriod::Day)), None)
            }
            RuleKind::SpendRate => (None, Some(self.window_hours.unwrap_or(1))),
            RuleKind::AvgCost => match self.window_hours {
                Some(w) => (None, Some(w)),
                None => (Some(self.period.unwrap_or(AlertPeriod::Day)), None),
            },
            RuleKind::PriceDrift
            | RuleKind::SyncFailing
            | RuleKind::BudgetSoft
            | RuleKind::BudgetHard => (None, None),
        };
        if let Some(w) = window
            && !(1..=MAX_WINDOW_HOURS).contains(&w)
        {
            return Err(format!(
                "the window is 1 to {MAX_WINDOW_HOURS} hours, got {w}"
            ));
        }
        if !(1..=1_000_000).contains(&self.min_calls) {
            return Err("min_calls is 1 to 1,000,000".to_owned());
        }
        Ok(RuleSpec {
            scope_value: value.map(str::to_owned),
            period,
            window_hours: window,
            ..self
        })
    }

    /// Whether each value of the scope is watched on its own.
    pub fn each(&self) -> bool {
        self.scope_value.as_deref() == Some("*")
    }

    /// The period key of a firing at `now` (empty when the rule has no period).
    pub fn period_key(&self, now: OffsetDateTime) -> String {
        self.period.map(|p| p.key(now)).unwrap_or_default()
    }

    /// The scope as people read it: `organization`, `customer cus_42`, `each customer`.
    pub fn scope_text(&self) -> String {
        match (&self.scope, self.scope_value.as_deref()) {
            (ScopeKind::Org, _) | (_, None) => "organization".to_owned(),
            (scope, Some("*")) => format!("each {}", scope.as_str().replace('_', " ")),
            (scope, Some(value)) => format!("{} {value}", scope.as_str().replace('_', " ")),
        }
    }
}

/// One evaluated value of a rule: for the rule as a whole (`subject` empty) or for one
/// subject (a customer under `*`, a model, a connection).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Observation {
    pub subject: String,
    pub value: Decimal,
    pub crossed: bool,
}

/// What is remembered of a rule and subject between evaluations.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArmState {
    pub fired: bool,
    pub period_key: String,
}

/// What an observation does to the state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transition {
    /// Nothing changes.
    Stay,
    /// Crossed while armed: record a firing.
    Fire,
    /// Recovered (or a new period began) after a firing: armed again, nothing is sent.
    Rearm,
}

/// The de-duplication rule: a subject fires once per crossing; it is armed again when its
/// value recovers, and a new period starts armed.
pub fn transition(previous: Option<&ArmState>, period_key: &str, crossed: bool) -> Transition {
    let fired = previous.is_some_and(|s| s.fired && s.period_key == period_key);
    match (fired, crossed) {
        (false, true) => Transition::Fire,
        (true, false) => Transition::Rearm,
        (true, true) => Transition::Stay,
        (false, false) => {
            if previous.is_some_and(|s| s.fired) {
                // Fired in an earlier period: the new period starts armed.
                Transition::Rearm
            } else {
                Transition::Stay
            }
        }
    }
}

/// The wait before delivery attempt `attempt` (2, 3, …): `base` × 4^(attempt − 2), at most
/// `max`. The first attempt is immediate.
pub fn retry_delay(attempt: u32, base: Duration, max: Duration) -> Duration {
    if attempt <= 1 {
        return Duration::ZERO;
    }
    let factor = 4_i32.saturating_pow(attempt.saturating_sub(2).min(10));
    base.checked_mul(factor).unwrap_or(max).min(max)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn spec(kind: RuleKind) -> RuleSpec {
        RuleSpec {
            kind,
            source: Source::Metered,
            scope: ScopeKind::Org,
            scope_value: None,
            period: None,
            window_hours: None,
            threshold: Decimal::new(125, 2),
            min_calls: 1,
        }
    }

    #[test]
    fn periods_are_utc_calendar_periods() {
        let now = datetime!(2026-12-06 23:59:59.999 UTC); // a Sunday
        assert_eq!(AlertPeriod::Day.key(now), "2026-12-06");
        assert_eq!(AlertPeriod::Week.key(now), "week of 2026-11-30");
        assert_eq!(AlertPeriod::Month.key(now), "2026-12");
        let next = datetime!(2026-12-07 00:00 UTC);
        assert_eq!(AlertPeriod::Week.key(next), "week of 2026-12-07");
        assert_eq!(AlertPeriod::Week.so_far(now).len_days(), 7);
        assert_eq!(AlertPeriod::Month.so_far(now).len_days(), 6);
    }

    #[test]
    fn one_firing_per_crossing_rearmed_on_recovery_and_per_period() {
        let day = "2026-12-04";
        assert_eq!(transition(None, day, false), Transition::Stay);
        assert_eq!(transition(None, day, true), Transition::Fire);
        let fired = ArmState {
            fired: true,
            period_key: day.to_owned(),
        };
        assert_eq!(transition(Some(&fired), day, true), Transition::Stay);
        assert_eq!(transition(Some(&fired), day, false), Transition::Rearm);
        assert_eq!(
            transition(Some(&fired), "2026-12-05", true),
            Transition::Fire
        );
        assert_eq!(
            transition(Some(&fired), "2026-12-05", false),
            Transition::Rearm
        );
        let armed = ArmState {
            fired: false,
            period_key: day.to_owned(),
        };
        assert_eq!(transition(Some(&armed), day, false), Transition::Stay);
    }

    #[test]
    fn impossible_rules_are_refused_with_a_reason() {
        let mut s = spec(RuleKind::Spend);
        s.threshold = Decimal::new(-1, 0);
        assert!(s.check().unwrap_err().contains("negative"));
        let mut s = spec(RuleKind::Spend);
        s.scope = ScopeKind::Customer;
        assert!(s.check().unwrap_err().contains("needs a value"));
        let mut s = spec(RuleKind::Spend);
        s.scope = ScopeKind::Workspace;
        s.scope_value = Some("prod".into());
        assert!(s.check().unwrap_err().contains("billed"));
        let mut s = spec(RuleKind::SyncFailing);
        s.threshold = Decimal::ONE;
        assert!(s.check().unwrap_err().contains("billed"));
        let mut s = spec(RuleKind::SpendRate);
        s.window_hours = Some(0);
        assert!(s.check().unwrap_err().contains("window"));
        let ok = spec(RuleKind::AvgCost).check().unwrap();
        assert_eq!(ok.period, Some(AlertPeriod::Day));
        let ok = spec(RuleKind::SpendRate).check().unwrap();
        assert_eq!(ok.window_hours, Some(1));
    }

    #[test]
    fn retries_back_off_to_a_ceiling() {
        let base = Duration::seconds(5);
        let max = Duration::minutes(10);
        assert_eq!(retry_delay(1, base, max), Duration::ZERO);
        assert_eq!(retry_delay(2, base, max), Duration::seconds(5));
        assert_eq!(retry_delay(3, base, max), Duration::seconds(20));
        assert_eq!(retry_delay(4, base, max), Duration::seconds(80));
        assert_eq!(retry_delay(30, base, max), max);
    }
}
