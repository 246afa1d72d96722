//! The Model pricing page's "catalog vs observed" part: each billed model's latest observed
//! price per token class beside the catalog price that prices its calls, with the drift, and
//! the billed models without a price ("new model, no price"), from
//! `spendlens_query::observed`.

use spendlens_domain::{Day, DayRange, Money, PriceSource};
use spendlens_query::observed::{PriceComparison, comparison};
use spendlens_store::OrgId;

use crate::AppState;
use crate::dashboard::error::PageError;
use crate::dashboard::format;

/// One row of the comparison table, as text.
pub struct ObservedRow {
    pub provider: &'static str,
    pub provider_label: &'static str,
    pub model: String,
    pub day: String,
    pub class: &'static str,
    pub billed: String,
    pub tokens: String,
    pub observed: String,
    pub catalog: String,
    pub catalog_source: &'static str,
    pub drift: String,
    pub drifted: bool,
}

/// A billed model the catalog has no price for.
pub struct NewModel {
    pub provider: &'static str,
    pub provider_label: &'static str,
    pub model: String,
    pub model_query: String,
    pub billed: String,
}

/// The part as the template shows it.
pub struct ObservedPart {
    pub rows: Vec<ObservedRow>,
    pub drifted: usize,
    pub threshold: String,
    pub new_models: Vec<NewModel>,
}

/// A price per 1M tokens exactly as billed (`$3.333333333`), or `N/A`.
fn per_1m(value: Option<Money>) -> String {
    value.map_or_else(|| "N/A".to_owned(), |m| format!("${}", m.to_exact_string()))
}

fn part(c: &PriceComparison) -> ObservedPart {
    ObservedPart {
        rows: c
            .rows
            .iter()
            .map(|r| ObservedRow {
                provider: r.provider.as_str(),
                provider_label: r.provider_name,
                model: r.model.clone(),
                day: r.day.to_string(),
                class: r.token_class.label(),
                billed: format!("${}", r.billed_cost.to_exact_string()),
                tokens: format::count(r.tokens.total()),
                observed: per_1m(r.observed_per_1m),
                catalog: per_1m(r.catalog_per_1m),
                catalog_source: match r.catalog_source {
                    Some(PriceSource::User) => "yours",
                    Some(PriceSource::BuiltIn) => "built-in",
                    Some(PriceSource::Observed) | None => "no price",
                },
                drift: r
                    .drift_pct
                    .map_or_else(|| "N/A".to_owned(), |d| format!("{d} %")),
                drifted: r.drifted,
            })
            .collect(),
        drifted: c.drifted,
        threshold: c.threshold_pct.normalize().to_string(),
        new_models: c
            .new_models
            .iter()
            .take(50)
            .map(|m| NewModel {
                provider: m.provider.as_str(),
                provider_label: m.provider_name,
                model_query: url::form_urlencoded::byte_serialize(m.model.as_bytes()).collect(),
                model: m.model.clone(),
                billed: format::money(m.billed_cost),
            })
            .collect(),
    }
}

/// Reads the part: new models over the last 30 days, drift at the default threshold.
pub async fn read(state: &AppState, org: OrgId) -> Result<ObservedPart, PageError> {
    let today = Day::of(state.now());
    let period = today
        .add_days(-29)
        .ok()
        .and_then(|start| DayRange::new(start, today).ok())
        .unwrap_or_else(|| DayRange::single(today));
    let threshold = spendlens_domain::catalog::observed::DEFAULT_DRIFT_THRESHOLD_PCT;
    let c = comparison(state.store(), org, period, threshold)
        .await
        .map_err(PageError::from)?;
    Ok(part(&c))
}
