//! The portal's Spend page (`GET /portal`): one customer's metered spend over a period — cards
//! (cost, calls, tokens), cost per day, cost by model and the newest cost records — and their
//! budgets' status. Every read is filtered on the customer the tenant is bound to, from the
//! session; no parameter names a customer. Unknown is not zero: a customer with no metered call
//! at all is told so, a period without calls says so, unpriced calls are counted apart from
//! cost, and token counts nobody reported are N/A.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use spendlens_domain::{Day, DayRange, PeriodPreset};
use spendlens_store::UsageFilter;

use super::Tenant;
use super::budgets::{PortalCap, portal_caps};
use super::chart::{DayCost, daily};
use crate::AppState;
use crate::dashboard::cost::{
    Card, RecordRow, label_money, na, plural, provider_label, record_row,
};
use crate::dashboard::error::PageError;
use crate::dashboard::{Layout, format, respond};
use crate::usage::{UsageTotals, group_by};

/// How many of the newest cost records the page lists.
const RECENT: u32 = 20;
/// The longest period, in days.
const MAX_DAYS: i64 = 366;

#[derive(Debug, Default, Deserialize)]
pub struct SpendQuery {
    #[serde(default)]
    pub period: String,
    #[serde(default)]
    pub from: String,
    #[serde(default)]
    pub to: String,
}

/// The period asked for: a preset, or `from`/`to` days (inclusive, UTC); the last 30 days
/// when nothing is given.
pub(super) fn period(query: &SpendQuery, today: Day) -> Result<(DayRange, String), String> {
    let (from, to) = (query.from.trim(), query.to.trim());
    if !from.is_empty() || !to.is_empty() {
        let day = |text: &str, name: &str| {
            text.parse::<Day>().map_err(|_| {
                format!(
                    "{name} \"{}\" is not a date (YYYY-MM-DD)",
                    text.chars().take(20).collect::<String>()
                )
            })
        };
        // One bound alone is a single day.
        let (from, to) = (
            day(if from.is_empty() { to } else { from }, "from")?,
            day(if to.is_empty() { from } else { to }, "to")?,
        );
        let range = DayRange::new(from, to)
            .map_err(|_| format!("from ({from}) is after to ({to}); give from ≤ to"))?;
        if range.len_days() > MAX_DAYS {
            return Err(format!(
                "the period is {} days; give at most {MAX_DAYS}",
                range.len_days()
            ));
        }
        return Ok((range, String::new()));
    }
    let name = match query.period.trim() {
        "" => "last-30-days",
        other => other,
    };
    let preset: PeriodPreset = name.parse().map_err(|_| {
        format!(
            "period must be one of {}, or give from and to",
            PeriodPreset::NAMES.join(", ")
        )
    })?;
    let range = preset
        .resolve(today)
        .map_err(|e| format!("the period cannot be read: {e}"))?;
    Ok((range, preset.name()))
}

/// A preset link above the page.
pub struct Preset {
    pub label: &'static str,
    pub href: String,
    pub current: bool,
}

/// Cost, calls and tokens of one model.
pub struct ModelRow {
    pub model: String,
    pub provider: String,
    pub calls: String,
    pub tokens: String,
    pub cost: String,
    pub unpriced: i64,
    pub share: String,
}

#[derive(Template)]
#[template(path = "portal.html")]
struct SpendPage {
    layout: Layout,
    customer: String,
    presets: Vec<Preset>,
    from: String,
    to: String,
    range: String,
    error: Option<String>,
    /// The customer has metered calls at all (on any day).
    has_data: bool,
    /// Calls in the period.
    calls: i64,
    cards: Vec<Card>,
    chart: String,
    models: Vec<ModelRow>,
    records: Vec<RecordRow>,
    more_records: bool,
    caps: Vec<PortalCap>,
}

fn cards(t: &UsageTotals) -> Vec<Card> {
    if t.requests == 0 {
        let none = || "no calls".to_owned();
        return vec![
            Card {
                label: "Cost",
                value: none(),
                sub: "no metered call in this period".to_owned(),
            },
            Card {
                label: "Calls",
                value: "0".to_owned(),
                sub: String::new(),
            },
            Card {
                label: "Tokens",
                value: "N/A".to_owned(),
                sub: "no call reported any".to_owned(),
            },
        ];
    }
    let priced = t.requests - t.unpriced;
    vec![
        Card {
            label: "Cost",
            value: t
                .priced_cost()
                .map_or_else(|| "unpriced".to_owned(), label_money),
            sub: if t.unpriced > 0 {
                format!(
                    "of {}; plus {} (cost unknown)",
                    plural(priced, "priced call"),
                    plural(t.unpriced, "unpriced call")
                )
            } else {
                "every call priced".to_owned()
            },
        },
        Card {
            label: "Calls",
            value: format::count(t.requests),
            sub: if t.failed > 0 {
                plural(t.failed, "failed call")
            } else {
                String::new()
            },
        },
        Card {
            label: "Tokens",
            value: na(t.total()),
            sub: match (t.input(), t.output()) {
                (Some(i), Some(o)) => {
                    let mut text = format!("{} in · {} out", format::count(i), format::count(o));
                    if t.requests_without_tokens > 0 {
                        text.push_str(&format!(
                            " · {} without counts",
                            plural(t.requests_without_tokens, "call")
                        ));
                    }
                    text
                }
                _ => "no call reported token counts".to_owned(),
            },
        },
    ]
}

/// `GET /portal`.
pub async fn page(
    State(state): State<Arc<AppState>>,
    tenant: Tenant,
    headers: HeaderMap,
    Query(query): Query<SpendQuery>,
) -> Result<Response, PageError> {
    let org = tenant.viewer.org();
    let customer = tenant.customer.clone();
    let today = Day::of(state.now());
    let layout = Layout::new(&state, &tenant.viewer, &headers, "Spend", "/portal").await?;
    let (range, chosen, error) = match period(&query, today) {
        Ok((range, chosen)) => (range, chosen, None),
        Err(message) => (
            PeriodPreset::LastDays(30)
                .resolve(today)
                .map_err(|e| PageError::Internal(e.to_string()))?,
            "last-30-days".to_owned(),
            Some(message),
        ),
    };
    let store = state.store();
    let ever = UsageFilter {
        customer: Some(customer.clone()),
        ..UsageFilter::default()
    };
    let has_data = !store.usage_records(org, &ever, None, 1).await?.is_empty();
    let filter = UsageFilter {
        from_hour: Some(i64::from(range.from().number()) * 24),
        to_hour: Some((i64::from(range.to().number()) + 1) * 24),
        ..ever
    };
    let series = store.usage_series(org, &filter, &[0, 1]).await?;
    let totals = UsageTotals::of(&series);
    let days: Vec<DayCost> = store
        .usage_days(org, &filter, range)
        .await?
        .into_iter()
        .map(|(day, m)| DayCost {
            day,
            cost: m.totals.cost,
            calls: m.totals.requests,
            unpriced: m.extra[spendlens_store::meter_extra::UNPRICED],
        })
        .collect();
    let chart = daily(&format!("{customer}: cost per day"), range, &days).render()?;
    let models = group_by(&series, 1)
        .into_iter()
        .map(|(model, t)| {
            let provider = series
                .iter()
                .find(|(k, _)| k.dims.get(1).and_then(|d| d.text()) == Some(model.as_str()))
                .and_then(|(k, _)| k.dims.first().and_then(|d| d.text()))
                .map(|p| provider_label(p).to_owned())
                .unwrap_or_default();
            ModelRow {
                provider,
                calls: format::count(t.requests),
                tokens: na(t.total()),
                cost: t
                    .priced_cost()
                    .map_or_else(|| "unpriced".to_owned(), label_money),
                unpriced: t.unpriced,
                share: crate::dashboard::percent(t.cost, totals.cost),
                model,
            }
        })
        .collect();
    let mut records = store.usage_records(org, &filter, None, RECENT + 1).await?;
    let more_records = records.len() > RECENT as usize;
    records.truncate(RECENT as usize);
    let href = |period: &str| format!("/portal?period={period}");
    let presets = [
        ("Last 7 days", "last-7-days"),
        ("Last 30 days", "last-30-days"),
        ("This month", "this-month"),
        ("Last month", "last-month"),
    ]
    .into_iter()
    .map(|(label, name)| Preset {
        label,
        href: href(name),
        current: chosen == name,
    })
    .collect();
    let template = SpendPage {
        layout,
        customer: customer.clone(),
        presets,
        from: range.from().to_string(),
        to: range.to().to_string(),
        range: format!("{} to {} (UTC days)", range.from(), range.to()),
        error,
        has_data,
        calls: totals.requests,
        cards: cards(&totals),
        chart,
        models,
        records: records.iter().map(record_row).collect(),
        more_records,
        caps: portal_caps(&state, org, &customer).await?,
    };
    let status = if template.error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    respond(&template.layout, &headers, status, &template)
}
