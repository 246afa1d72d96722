//! Budget caps as pure decisions: what a cap governs (its scope — organization, provider,
//! workspace, API key, customer, model, combinable), its UTC period with half-open boundaries
//! `[start, end)` (weeks start on Monday), its limit and soft percentage, and who set it
//! (platform or tenant). [`eval`] decides states, tightest-wins checks and the tenant ceiling;
//! [`ledger`] holds reservations and settles them against ingested calls.

pub mod eval;
pub mod ledger;
pub mod overlap;
#[cfg(test)]
mod tests;

use std::fmt;
use std::str::FromStr;

use serde::Serialize;
use time::{Duration, OffsetDateTime};

use crate::calendar::{Day, DayRange};
use crate::catalog::normalize_model;
use crate::money::{Money, NANOS_PER_UNIT};
use crate::provider::ProviderKind;

/// The largest limit a cap accepts: $10,000,000 (anything above is a typo, not a budget).
pub const MAX_LIMIT: Money = Money::from_nanos(10_000_000 * NANOS_PER_UNIT);

/// The soft percentage when none is given.
pub const DEFAULT_SOFT_PCT: u8 = 80;

/// Why a cap or a check was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BudgetError {
    #[error("{0}")]
    Invalid(String),
    /// A tenant cap above the platform cap that governs it.
    #[error(
        "the limit {limit} USD is above the platform cap \"{ceiling_name}\" (id {ceiling_id}, {ceiling_limit} USD per {period}) that governs this scope; set it at or below {ceiling_limit}"
    )]
    AboveCeiling {
        limit: String,
        ceiling_id: i64,
        ceiling_name: String,
        ceiling_limit: String,
        period: &'static str,
    },
}

/// A cap's period: a UTC day, a week starting on Monday 00:00 UTC, or a calendar month.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum BudgetPeriod {
    Daily,
    Weekly,
    Monthly,
}

impl BudgetPeriod {
    pub const ALL: [BudgetPeriod; 3] = [
        BudgetPeriod::Daily,
        BudgetPeriod::Weekly,
        BudgetPeriod::Monthly,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            BudgetPeriod::Daily => "DAILY",
            BudgetPeriod::Weekly => "WEEKLY",
            BudgetPeriod::Monthly => "MONTHLY",
        }
    }

    /// The word used in sentences ("per day").
    pub const fn noun(self) -> &'static str {
        match self {
            BudgetPeriod::Daily => "day",
            BudgetPeriod::Weekly => "week",
            BudgetPeriod::Monthly => "month",
        }
    }

    /// How the boundaries read, for the API and the dashboard.
    pub const fn boundaries(self) -> &'static str {
        match self {
            BudgetPeriod::Daily => "UTC day, 00:00 to 00:00",
            BudgetPeriod::Weekly => "UTC week, Monday 00:00 to Monday 00:00",
            BudgetPeriod::Monthly => "UTC calendar month, the 1st 00:00 to the next 1st 00:00",
        }
    }

    /// The period holding `at`: `[start, end)` in UTC. Every instant is in exactly one period.
    pub fn bounds(self, at: OffsetDateTime) -> (OffsetDateTime, OffsetDateTime) {
        let first = self.first_day(Day::of(at));
        let next = self.next_first_day(first);
        (first.start(), next.start())
    }

    /// The days of the period holding `at`, first through last.
    pub fn days(self, at: OffsetDateTime) -> DayRange {
        let first = self.first_day(Day::of(at));
        let last = self.next_first_day(first).add_days(-1).unwrap_or(first);
        DayRange::new(first, last).unwrap_or_else(|_| DayRange::single(first))
    }

    fn first_day(self, day: Day) -> Day {
        match self {
            BudgetPeriod::Daily => day,
            BudgetPeriod::Weekly => {
                let back = i64::from(day.date().weekday().number_days_from_monday());
                day.add_days(-back).unwrap_or(day)
            }
            BudgetPeriod::Monthly => day.first_of_month(),
        }
    }

    fn next_first_day(self, first: Day) -> Day {
        let days = match self {
            BudgetPeriod::Daily => 1,
            BudgetPeriod::Weekly => 7,
            BudgetPeriod::Monthly => {
                // 32 days after the 1st is always in the next month.
                return first.add_days(32).map(Day::first_of_month).unwrap_or(first);
            }
        };
        first.add_days(days).unwrap_or(first)
    }

    /// The length of the longest period (for reading enough days back).
    pub const LONGEST: Duration = Duration::days(31);
}

impl fmt::Display for BudgetPeriod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for BudgetPeriod {
    type Err = BudgetError;
    fn from_str(text: &str) -> Result<BudgetPeriod, BudgetError> {
        match text.trim().to_ascii_lowercase().as_str() {
            "daily" | "day" => Ok(BudgetPeriod::Daily),
            "weekly" | "week" => Ok(BudgetPeriod::Weekly),
            "monthly" | "month" => Ok(BudgetPeriod::Monthly),
            other => Err(BudgetError::Invalid(format!(
                "unknown period \"{other}\"; use DAILY, WEEKLY or MONTHLY (UTC; weeks start on Monday)"
            ))),
        }
    }
}

/// Who set a cap: an administrator (platform) or a customer's own user (tenant), whose caps
/// sit at or below the tightest enabled platform cap governing them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Provenance {
    Platform,
    Tenant,
}

impl Provenance {
    pub const fn as_str(self) -> &'static str {
        match self {
            Provenance::Platform => "platform",
            Provenance::Tenant => "tenant",
        }
    }
}

impl FromStr for Provenance {
    type Err = BudgetError;
    fn from_str(text: &str) -> Result<Provenance, BudgetError> {
        match text.trim() {
            "platform" => Ok(Provenance::Platform),
            "tenant" => Ok(Provenance::Tenant),
            other => Err(BudgetError::Invalid(format!(
                "unknown provenance \"{other}\"; use platform or tenant"
            ))),
        }
    }
}

/// What a check without a price (an unpriced model) gets from a cap.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum UnpricedPolicy {
    /// Allowed while the cap is under its limit.
    FailOpen,
    /// Denied.
    FailClosed,
}

impl UnpricedPolicy {
    pub const fn as_str(self) -> &'static str {
        match self {
            UnpricedPolicy::FailOpen => "fail_open",
            UnpricedPolicy::FailClosed => "fail_closed",
        }
    }
}

impl FromStr for UnpricedPolicy {
    type Err = BudgetError;
    fn from_str(text: &str) -> Result<UnpricedPolicy, BudgetError> {
        match text.trim() {
            "fail_open" | "fail-open" | "open" => Ok(UnpricedPolicy::FailOpen),
            "fail_closed" | "fail-closed" | "closed" => Ok(UnpricedPolicy::FailClosed),
            other => Err(BudgetError::Invalid(format!(
                "unknown unpriced policy \"{other}\"; use fail_open or fail_closed"
            ))),
        }
    }
}

/// The fields a scope may set, in display order.
pub const SCOPE_FIELDS: [&str; 5] = ["provider", "workspace", "api_key", "customer", "model"];

/// What a cap governs: every call whose fields equal each field set here (none set: the whole
/// organization). Fields combine: customer × model governs that customer's calls of that model.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize)]
pub struct CapScope {
    pub provider: Option<String>,
    pub workspace: Option<String>,
    pub api_key: Option<String>,
    pub customer: Option<String>,
    pub model: Option<String>,
}

/// The scope of one call (what a check or a metered event carries).
pub type CallScope = CapScope;

fn clean(value: Option<&str>) -> Option<String> {
    value
        .map(str::trim)
        .filter(|v| !v.is_empty() && *v != "*")
        .map(str::to_owned)
}

impl CapScope {
    /// A scope from optional fields (blank or `*`: not set); a provider must be one spendlens
    /// knows and is stored by its name (`openai`).
    pub fn new(
        provider: Option<&str>,
        workspace: Option<&str>,
        api_key: Option<&str>,
        customer: Option<&str>,
        model: Option<&str>,
    ) -> Result<CapScope, BudgetError> {
        let provider = match clean(provider) {
            Some(p) => Some(
                p.parse::<ProviderKind>()
                    .map_err(|e| BudgetError::Invalid(e.to_string()))?
                    .as_str()
                    .to_owned(),
            ),
            None => None,
        };
        let scope = CapScope {
            provider,
            workspace: clean(workspace),
            api_key: clean(api_key),
            customer: clean(customer),
            model: clean(model),
        };
        if let Some(long) = scope.values().into_iter().find(|(_, v)| v.len() > 200) {
            return Err(BudgetError::Invalid(format!(
                "the {} is longer than 200 characters",
                long.0
            )));
        }
        Ok(scope)
    }

    /// A call's scope as it arrives (nothing checked; a provider's alias is normalized).
    pub fn call(
        provider: Option<&str>,
        workspace: Option<&str>,
        api_key: Option<&str>,
        customer: Option<&str>,
        model: Option<&str>,
    ) -> CallScope {
        let provider = clean(provider).map(|p| {
            p.parse::<ProviderKind>()
                .map_or(p, |k| k.as_str().to_owned())
        });
        CapScope {
            provider,
            workspace: clean(workspace),
            api_key: clean(api_key),
            customer: clean(customer),
            model: clean(model),
        }
    }

    /// The fields set, in display order.
    pub fn values(&self) -> Vec<(&'static str, &str)> {
        let fields = [
            &self.provider,
            &self.workspace,
            &self.api_key,
            &self.customer,
            &self.model,
        ];
        SCOPE_FIELDS
            .into_iter()
            .zip(fields)
            .filter_map(|(name, value)| value.as_deref().map(|v| (name, v)))
            .collect()
    }

    pub fn is_organization(&self) -> bool {
        self.values().is_empty()
    }

    /// Keys and customers are known only from metered calls: such a cap counts metered spend.
    pub fn metered_only(&self) -> bool {
        self.api_key.is_some() || self.customer.is_some()
    }

    /// Whether this cap governs a call: each field set here equals the call's.
    pub fn governs(&self, call: &CallScope) -> bool {
        let same = |cap: &Option<String>, call: &Option<String>| match cap {
            None => true,
            Some(want) => call.as_deref() == Some(want.as_str()),
        };
        same(&self.provider, &call.provider)
            && same(&self.workspace, &call.workspace)
            && same(&self.api_key, &call.api_key)
            && same(&self.customer, &call.customer)
            && match &self.model {
                None => true,
                Some(want) => call
                    .model
                    .as_deref()
                    .is_some_and(|m| model_matches(want, call.provider.as_deref(), m)),
            }
    }

    /// Whether this scope governs every call `inner` governs (each field set here is set to
    /// the same value there).
    pub fn covers(&self, inner: &CapScope) -> bool {
        let same = |outer: &Option<String>, inner: &Option<String>| match outer {
            None => true,
            Some(want) => inner.as_deref() == Some(want.as_str()),
        };
        same(&self.provider, &inner.provider)
            && same(&self.workspace, &inner.workspace)
            && same(&self.api_key, &inner.api_key)
            && same(&self.customer, &inner.customer)
            && same(&self.model, &inner.model)
    }
}

/// A cap's model against a call's: the same text, or the same model once the provider's
/// naming is normalized (dated snapshots, gateway prefixes).
pub fn model_matches(cap_model: &str, provider: Option<&str>, call_model: &str) -> bool {
    if cap_model == call_model {
        return true;
    }
    match provider.and_then(|p| p.parse::<ProviderKind>().ok()) {
        Some(kind) => normalize_model(kind, cap_model) == normalize_model(kind, call_model),
        None => cap_model.eq_ignore_ascii_case(call_model),
    }
}

impl fmt::Display for CapScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let values = self.values();
        if values.is_empty() {
            return f.write_str("organization");
        }
        let parts: Vec<String> = values
            .iter()
            .map(|(name, value)| format!("{} {value}", name.replace('_', " ")))
            .collect();
        f.write_str(&parts.join(" × "))
    }
}

/// A cap's definition (what an edit replaces).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CapSpec {
    pub name: String,
    pub scope: CapScope,
    pub period: BudgetPeriod,
    pub limit: Money,
    /// The soft limit as a percentage of the limit (1–100).
    pub soft_pct: u8,
    pub enabled: bool,
    pub provenance: Provenance,
    pub unpriced: UnpricedPolicy,
}

impl CapSpec {
    /// Checks the name, the limit (above zero, at most [`MAX_LIMIT`]) and the soft percentage.
    pub fn validate(&self) -> Result<(), BudgetError> {
        let name = self.name.trim();
        if name.is_empty() {
            return Err(BudgetError::Invalid("a budget needs a name".to_owned()));
        }
        if name.chars().count() > 120 {
            return Err(BudgetError::Invalid(
                "a budget's name is at most 120 characters".to_owned(),
            ));
        }
        check_limit(self.limit)?;
        check_soft_pct(self.soft_pct)?;
        Ok(())
    }

    /// The soft limit in money (the limit × soft % / 100, to the nano, half to even).
    pub fn soft_limit(&self) -> Money {
        self.limit
            .scaled(i128::from(self.soft_pct), 100)
            .unwrap_or(self.limit)
    }
}

/// A limit must be above zero and at most [`MAX_LIMIT`].
pub fn check_limit(limit: Money) -> Result<Money, BudgetError> {
    if limit <= Money::ZERO {
        return Err(BudgetError::Invalid(format!(
            "the limit must be above zero, not {limit} USD"
        )));
    }
    if limit > MAX_LIMIT {
        return Err(BudgetError::Invalid(format!(
            "the limit {limit} USD is above the largest accepted, {MAX_LIMIT} USD; check the amount"
        )));
    }
    Ok(limit)
}

/// A soft percentage is 1–100.
pub fn check_soft_pct(pct: u8) -> Result<u8, BudgetError> {
    if (1..=100).contains(&pct) {
        Ok(pct)
    } else {
        Err(BudgetError::Invalid(format!(
            "the soft limit is a percentage of the limit from 1 to 100, not {pct}"
        )))
    }
}

/// Parses a soft percentage from text (a whole number 1–100).
pub fn parse_soft_pct(text: &str) -> Result<u8, BudgetError> {
    let text = text.trim().trim_end_matches('%').trim();
    let pct: u8 = text.parse().map_err(|_| {
        BudgetError::Invalid(format!(
            "the soft limit is a whole percentage from 1 to 100, not \"{text}\""
        ))
    })?;
    check_soft_pct(pct)
}

/// Parses a limit in USD from decimal text, with the same checks as [`check_limit`].
pub fn parse_limit(text: &str) -> Result<Money, BudgetError> {
    let text = text.trim().trim_start_matches('$');
    let money = Money::parse_units(text).map_err(|_| {
        BudgetError::Invalid(format!(
            "the limit must be an amount in USD such as 250 or 12.50, not \"{text}\""
        ))
    })?;
    check_limit(money)
}
