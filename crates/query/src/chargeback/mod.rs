//! Chargeback reports: who owes what for a period, for all customers, one customer or one
//! workspace. Seven sections — customers, API keys, models, providers, days (each with net
//! cost = cost − credits and every row marked billed, allocated or metered), forecasts and
//! anomalies (the forecast and anomaly code as of generation) — with cents that add up: each
//! money column's shown rows sum to its shown total ([`Amount`]).
//!
//! [`build`] is pure over what [`load`] read; [`table`] turns a report into the generic tables
//! the PDF and the CSV render.

mod build;
pub mod table;

use serde::Serialize;
use spendlens_domain::{Day, DayRange, Money};
use spendlens_store::{BilledDays, MeteredDays, OrgId, Store};
use time::OffsetDateTime;

use crate::QueryError;
use crate::anomaly::{self, Anomaly};
use crate::forecast::{self, ScopeForecast};
use crate::spend_days::{ScopeKind, SpendDays};

pub use build::build;

/// The longest period a report covers: five years.
pub const MAX_YEARS: i32 = 5;

/// Who a chargeback is for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum ChargebackScope {
    /// Every customer (metered) and the whole bill.
    All,
    /// One customer's metered calls.
    Customer(String),
    /// One workspace's bill (by display name), for internal chargeback.
    Workspace(String),
}

impl ChargebackScope {
    /// `all`, `customer:NAME` or `workspace:NAME`.
    pub fn parse(text: &str) -> Result<ChargebackScope, QueryError> {
        let text = text.trim();
        if text.is_empty() || text == "all" {
            return Ok(ChargebackScope::All);
        }
        let bad = || {
            QueryError::Invalid(format!(
                "scope must be \"all\", \"customer:NAME\" or \"workspace:NAME\", not \"{text}\""
            ))
        };
        let (kind, value) = text.split_once(':').ok_or_else(bad)?;
        let value = value.trim();
        if value.is_empty() || value.chars().count() > 200 {
            return Err(bad());
        }
        match kind.trim() {
            "customer" => Ok(ChargebackScope::Customer(value.to_owned())),
            "workspace" => Ok(ChargebackScope::Workspace(value.to_owned())),
            _ => Err(bad()),
        }
    }

    /// The form [`ChargebackScope::parse`] reads back.
    pub fn as_text(&self) -> String {
        match self {
            ChargebackScope::All => "all".to_owned(),
            ChargebackScope::Customer(c) => format!("customer:{c}"),
            ChargebackScope::Workspace(w) => format!("workspace:{w}"),
        }
    }

    /// In words, for covers and lists.
    pub fn describe(&self) -> String {
        match self {
            ChargebackScope::All => "All customers and the whole bill".to_owned(),
            ChargebackScope::Customer(c) => format!("Customer \"{c}\" (metered calls)"),
            ChargebackScope::Workspace(w) => format!("Workspace \"{w}\" (the bill)"),
        }
    }
}

/// A period checked for reports: from ≤ to, at most [`MAX_YEARS`] years, not after today.
pub fn check_period(from: Day, to: Day, today: Day) -> Result<DayRange, QueryError> {
    if to < from {
        return Err(QueryError::Invalid(format!(
            "the period ends ({to}) before it starts ({from})"
        )));
    }
    if from > today {
        return Err(QueryError::Invalid(format!(
            "the period starts in the future ({from}); today is {today} (UTC)"
        )));
    }
    let limit = years_after(from, MAX_YEARS);
    if to >= limit {
        let last = limit.add_days(-1).unwrap_or(limit);
        return Err(QueryError::Invalid(format!(
            "a report covers at most {MAX_YEARS} years: from {from} it may end on {last} at the \
             latest, not {to}. Split the period into shorter reports"
        )));
    }
    DayRange::new(from, to).map_err(|e| QueryError::Invalid(e.to_string()))
}

/// The same calendar day `years` later (29 February → 1 March).
fn years_after(day: Day, years: i32) -> Day {
    let date = day.date();
    let target = date.year() + years;
    date.replace_year(target)
        .or_else(|_| time::Date::from_calendar_date(target, time::Month::March, 1))
        .map_or(day, Day::from_date)
}

/// Where a row's money comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Basis {
    /// The provider's bill as billed.
    Billed,
    /// Billed cost spread down to API keys (the provider bills coarser than it reports usage).
    Allocated,
    /// Metered calls reported by applications, priced by the catalog or reported by them.
    Metered,
}

impl Basis {
    pub fn as_str(self) -> &'static str {
        match self {
            Basis::Billed => "billed",
            Basis::Allocated => "allocated",
            Basis::Metered => "metered",
        }
    }
}

/// Money as computed (exact) and as shown (whole cents, adding up within its column).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Amount {
    pub exact: Money,
    /// Cents as shown, `-1234.56`.
    #[serde(serialize_with = "cents_text")]
    pub shown: i64,
}

impl Amount {
    /// Rounded on its own (forecasts and anomalies, which are not summed).
    pub fn alone(exact: Money) -> Amount {
        Amount {
            exact,
            shown: exact.round_to_cents(),
        }
    }

    pub fn shown_text(&self) -> String {
        cents_plain(self.shown)
    }
}

/// Cents as plain decimal text: `-1234.56`.
pub fn cents_plain(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let abs = cents.unsigned_abs();
    format!("{sign}{}.{:02}", abs / 100, abs % 100)
}

fn cents_text<S: serde::Serializer>(cents: &i64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&cents_plain(*cents))
}

/// One row of a summary section.
#[derive(Clone, Debug, Serialize)]
pub struct ChargeRow {
    pub label: String,
    /// The provider, workspace or other context of the label.
    pub detail: String,
    pub basis: Basis,
    pub cost: Amount,
    pub credits: Amount,
    /// Cost − credits.
    pub net: Amount,
    /// Input and output tokens (the bill), or input, cache and output (metered).
    pub tokens: i64,
    /// Requests; `None` when any part is unknown (Anthropic's bill reports none).
    pub requests: Option<i64>,
    /// Metered calls with no price (their cost is not in `cost`: unknown is not zero).
    pub unpriced_calls: i64,
}

/// A section's total: the sum of its rows, as computed and as shown.
#[derive(Clone, Debug, Serialize)]
pub struct ChargeTotal {
    pub cost: Amount,
    pub credits: Amount,
    pub net: Amount,
    pub tokens: i64,
    pub requests: Option<i64>,
    pub unpriced_calls: i64,
}

/// One summary section.
#[derive(Clone, Debug, Serialize)]
pub struct ChargeSection {
    pub id: &'static str,
    pub title: &'static str,
    /// What the rows are and where their money comes from.
    pub note: String,
    pub rows: Vec<ChargeRow>,
    pub total: ChargeTotal,
}

/// Forecasts of the report's scope, as of generation.
#[derive(Clone, Debug, Serialize)]
pub struct ForecastSection {
    pub note: String,
    pub rows: Vec<ForecastRow>,
}

#[derive(Clone, Debug, Serialize)]
pub struct ForecastRow {
    pub scope: &'static str,
    pub label: String,
    pub basis: Basis,
    /// `ok`, or why there is no forecast (N/A).
    pub status: String,
    pub month_to_date: Amount,
    pub projected_month_end: Option<Amount>,
    pub next_7_days: Option<Amount>,
    pub trend: String,
}

/// Anomalies of the report's scope, as of generation.
#[derive(Clone, Debug, Serialize)]
pub struct AnomalySection {
    pub note: String,
    pub rows: Vec<AnomalyRow>,
}

#[derive(Clone, Debug, Serialize)]
pub struct AnomalyRow {
    pub scope: &'static str,
    pub label: String,
    pub basis: Basis,
    pub day: Day,
    pub direction: &'static str,
    pub current_daily: Amount,
    pub baseline_daily: Amount,
    pub change: Amount,
    /// `None` when the baseline spent nothing.
    pub deviation_pct: Option<String>,
}

/// A whole chargeback report: the JSON download, and what the PDF and CSV render.
#[derive(Clone, Debug, Serialize)]
pub struct ChargebackReport {
    pub kind: &'static str,
    pub period: DayRange,
    pub days: i64,
    pub scope: ChargebackScope,
    pub scope_text: String,
    #[serde(with = "time::serde::rfc3339")]
    pub generated_at: OffsetDateTime,
    pub generated_by: String,
    pub time_zone: &'static str,
    pub currency: &'static str,
    /// The net cost the report charges: the scope's bill (all, workspace) or its metered
    /// calls (customer).
    pub charged: Amount,
    pub charged_basis: Basis,
    pub customers: ChargeSection,
    pub api_keys: ChargeSection,
    pub models: ChargeSection,
    pub providers: ChargeSection,
    pub daily: ChargeSection,
    pub forecasts: ForecastSection,
    pub anomalies: AnomalySection,
    pub notes: Vec<String>,
}

impl ChargebackReport {
    /// The five summary sections, in order.
    pub fn summaries(&self) -> [&ChargeSection; 5] {
        [
            &self.customers,
            &self.api_keys,
            &self.models,
            &self.providers,
            &self.daily,
        ]
    }
}

/// What a report was built from: the period's bill and metered calls, the names the
/// surfaces show, and the current forecasts and anomalies.
#[derive(Clone, Debug)]
pub struct Loaded {
    pub billed: Vec<BilledDays>,
    pub metered: Vec<MeteredDays>,
    pub connections: Vec<spendlens_store::ConnectionRow>,
    pub workspaces: Vec<spendlens_store::WorkspaceRow>,
    pub keys: Vec<spendlens_store::ApiKeyRow>,
    pub forecasts: Vec<ScopeForecast>,
    pub anomalies: Vec<Anomaly>,
    /// The period's billed lines with no known price in the report's scope (not counted).
    pub unpriced: Option<crate::unpriced::UnpricedBill>,
}

/// What a report is asked for.
#[derive(Clone, Debug)]
pub struct ChargebackRequest {
    pub period: DayRange,
    pub scope: ChargebackScope,
    pub generated_by: String,
}

/// Reads what [`build`] needs. A workspace scope must name a known workspace.
pub async fn load(
    store: &Store,
    org: OrgId,
    request: &ChargebackRequest,
    now: OffsetDateTime,
) -> Result<Loaded, QueryError> {
    let workspaces = store.list_workspaces(org).await?;
    if let ChargebackScope::Workspace(name) = &request.scope
        && !workspaces.iter().any(|w| &w.display_name == name)
    {
        let mut known: Vec<&str> = workspaces.iter().map(|w| w.display_name.as_str()).collect();
        known.sort_unstable();
        known.dedup();
        return Err(QueryError::Invalid(format!(
            "no workspace is named \"{name}\"; known workspaces: {}",
            if known.is_empty() {
                "none yet".to_owned()
            } else {
                known.join(", ")
            }
        )));
    }
    let billed = match request.scope {
        ChargebackScope::Customer(_) => Vec::new(),
        _ => store.billed_days(org, request.period).await?,
    };
    // A customer's report counts metered calls only; a workspace's, that workspace's bill.
    let unpriced = match &request.scope {
        ChargebackScope::Customer(_) => None,
        ChargebackScope::All => {
            crate::unpriced::unpriced_bill(store, org, request.period, None).await?
        }
        ChargebackScope::Workspace(name) => {
            let ids = workspaces
                .iter()
                .filter(|w| &w.display_name == name)
                .map(|w| w.id)
                .collect();
            crate::unpriced::unpriced_bill(store, org, request.period, Some(ids)).await?
        }
    };
    let metered = store.metered_days(org, request.period).await?;
    let data = SpendDays::load(store, org, now).await?;
    let settings = anomaly::settings::load(store, org).await?;
    let forecasts = forecast::forecasts(&data, &[]).forecasts;
    let anomalies = anomaly::anomalies(&data, &settings, &[]).anomalies;
    Ok(Loaded {
        billed,
        metered,
        connections: store.list_connections(org).await?,
        workspaces,
        keys: store.list_api_keys(org).await?,
        forecasts,
        anomalies,
        unpriced,
    })
}

/// Reads and builds one report.
pub async fn chargeback(
    store: &Store,
    org: OrgId,
    request: &ChargebackRequest,
    now: OffsetDateTime,
) -> Result<ChargebackReport, QueryError> {
    let loaded = load(store, org, request, now).await?;
    Ok(build(request, &loaded, now))
}

/// Whether a forecast or anomaly scope belongs to the report's scope.
pub(crate) fn in_scope(scope: &ChargebackScope, kind: ScopeKind, id: &str) -> bool {
    match scope {
        ChargebackScope::All => matches!(kind, ScopeKind::Provider | ScopeKind::Customer),
        ChargebackScope::Customer(c) => kind == ScopeKind::Customer && id == c,
        ChargebackScope::Workspace(w) => kind == ScopeKind::Workspace && id == w,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> Day {
        text.parse().unwrap()
    }

    #[test]
    fn five_years_are_accepted_and_a_day_more_is_refused_with_the_last_day_allowed() {
        let today = day("2026-12-05");
        let ok = check_period(day("2021-12-06"), day("2026-12-05"), today).unwrap();
        assert_eq!(ok.len_days(), 1826);
        let err = check_period(day("2020-12-05"), day("2026-12-05"), today).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("at most 5 years"), "{text}");
        assert!(text.contains("2025-12-04"), "{text}");
    }

    #[test]
    fn reversed_and_future_periods_are_refused() {
        let today = day("2026-12-05");
        assert!(check_period(day("2026-03-02"), day("2026-03-01"), today).is_err());
        assert!(check_period(day("2026-12-06"), day("2026-12-07"), today).is_err());
    }

    #[test]
    fn a_leap_day_start_ends_on_the_last_of_february() {
        assert_eq!(years_after(day("2024-02-29"), 5), day("2029-03-01"));
    }

    #[test]
    fn scopes_read_back_what_they_print() {
        for text in ["all", "customer:acme", "workspace:Support Prod"] {
            assert_eq!(ChargebackScope::parse(text).unwrap().as_text(), text);
        }
        assert!(ChargebackScope::parse("team:x").is_err());
        assert!(ChargebackScope::parse("customer:").is_err());
    }
}
