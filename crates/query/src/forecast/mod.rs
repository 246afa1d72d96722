//! Forecasts: per provider, workspace, model (the bill) and customer (metered calls), the
//! trailing 7 complete days → a daily rate → projected month-end spend, the next 7 days and a
//! trend ([`math`], pure); and prepaid credit balances with the day they run out at the rate
//! ([`credits`]). Read from rollups through [`crate::spend_days`].

pub mod credits;
pub mod csv;
pub mod math;

use serde::Serialize;
use spendlens_domain::{Day, Money};
use time::OffsetDateTime;

use self::credits::CreditBalance;
use self::math::{Forecast, ForecastInput, ForecastStatus};
use crate::spend_days::{ScopeKind, Source, SpendDays};

/// The scopes forecast, in the order surfaces show them.
pub const SCOPES: [ScopeKind; 4] = [
    ScopeKind::Provider,
    ScopeKind::Workspace,
    ScopeKind::Model,
    ScopeKind::Customer,
];

/// Said on every forecast report.
pub const NOTES: [&str; 3] = [
    "Projections are estimates: month to date over the complete days, plus the trailing 7 \
     complete days' daily rate for every day after them (days not final yet are projected, \
     never read as zero). A scope with fewer than 7 complete days of history has no forecast (N/A).",
    math::TREND_RULE,
    "Billed scopes (provider, workspace, model) are complete through each connection's sync \
     watermark (never today; Vertex and Bedrock two more days, Azure one); customers are \
     metered calls, complete through yesterday (UTC).",
];

/// One scope's forecast.
#[derive(Clone, Debug, Serialize)]
pub struct ScopeForecast {
    pub scope: ScopeKind,
    pub id: String,
    pub label: String,
    pub source: Source,
    pub history_from: Option<Day>,
    #[serde(flatten)]
    pub forecast: Forecast,
}

/// The organization's projected month: the sum of its providers' forecasts.
#[derive(Clone, Debug, Serialize)]
pub struct TotalForecast {
    pub month_to_date: Money,
    pub daily_rate: Money,
    pub projected_month_end: Money,
    pub next_7_days: Money,
    /// Providers summed.
    pub providers: Vec<String>,
    /// Providers without a forecast (N/A), left out of the sums.
    pub left_out: Vec<String>,
    pub estimated: bool,
}

/// Every forecast of one organization.
#[derive(Clone, Debug, Serialize)]
pub struct ForecastReport {
    #[serde(with = "time::serde::rfc3339")]
    pub generated_at: OffsetDateTime,
    pub today: Day,
    pub time_zone: &'static str,
    pub currency: &'static str,
    /// `None` when no provider has a forecast.
    pub total: Option<TotalForecast>,
    pub forecasts: Vec<ScopeForecast>,
    pub credits: Vec<CreditBalance>,
    pub notes: Vec<String>,
}

impl ForecastReport {
    pub fn of(&self, scope: ScopeKind) -> impl Iterator<Item = &ScopeForecast> {
        self.forecasts.iter().filter(move |f| f.scope == scope)
    }
}

/// The forecasts of the scopes asked for (empty: all of [`SCOPES`]).
pub fn forecasts(data: &SpendDays, scopes: &[ScopeKind]) -> ForecastReport {
    let mut out = Vec::new();
    for kind in SCOPES {
        if !scopes.is_empty() && !scopes.contains(&kind) {
            continue;
        }
        let mut rows: Vec<ScopeForecast> = data
            .scopes(kind)
            .into_iter()
            .map(|scope| ScopeForecast {
                scope: kind,
                forecast: math::forecast(&ForecastInput {
                    today: Some(data.today),
                    complete_through: scope.complete_through,
                    history_from: scope.history_from,
                    daily: scope.daily(),
                }),
                history_from: scope.history_from,
                source: kind.source(),
                id: scope.id,
                label: scope.label,
            })
            .collect();
        // Largest projection first; N/A after, by name.
        rows.sort_by(|a, b| {
            b.forecast
                .projected_month_end
                .cmp(&a.forecast.projected_month_end)
                .then_with(|| a.label.cmp(&b.label))
        });
        out.extend(rows);
    }
    let providers: Vec<&ScopeForecast> =
        if scopes.is_empty() || scopes.contains(&ScopeKind::Provider) {
            out.iter()
                .filter(|f| f.scope == ScopeKind::Provider)
                .collect()
        } else {
            Vec::new()
        };
    let total = total(&providers);
    ForecastReport {
        generated_at: data.now,
        today: data.today,
        time_zone: "UTC",
        currency: "USD",
        total,
        forecasts: out,
        credits: credits::balances(data),
        notes: NOTES
            .iter()
            .map(|n| (*n).to_owned())
            .chain(data.unpriced.as_ref().map(|u| u.note("these forecasts")))
            .collect(),
    }
}

fn total(providers: &[&ScopeForecast]) -> Option<TotalForecast> {
    let (ok, left_out): (Vec<&&ScopeForecast>, Vec<&&ScopeForecast>) = providers
        .iter()
        .partition(|p| p.forecast.status == ForecastStatus::Ok);
    if ok.is_empty() {
        return None;
    }
    let sum = |f: fn(&Forecast) -> Option<Money>| -> Money {
        ok.iter().filter_map(|p| f(&p.forecast)).sum()
    };
    Some(TotalForecast {
        month_to_date: ok.iter().map(|p| p.forecast.month_to_date).sum(),
        daily_rate: sum(|f| f.daily_rate),
        projected_month_end: sum(|f| f.projected_month_end),
        next_7_days: sum(|f| f.next_7_days),
        providers: ok.iter().map(|p| p.label.clone()).collect(),
        left_out: left_out.iter().map(|p| p.label.clone()).collect(),
        estimated: true,
    })
}
