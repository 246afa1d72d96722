//! Catalog vs observed prices: each billed model's latest observed day (the effective price the
//! bill charged per 1M tokens, per class where the bill names classes) beside the catalog price
//! that prices its calls (user or built-in, never an observed one), the drift in percent and
//! whether it passes the threshold; and the models billed in a period that the catalog has no
//! price for ("new model, no price"). Reads the store's observed cells and the catalog; the
//! math is `domain::catalog::observed`.

use std::collections::{BTreeMap, HashMap};

use rust_decimal::Decimal;
use serde::Serialize;
use spendlens_domain::catalog::observed::{ClassTokens, DEFAULT_DRIFT_THRESHOLD_PCT, drift};
use spendlens_domain::catalog::observed::{ObservedCell, ObservedClass};
use spendlens_domain::{Category, Day, DayRange, Money, PriceCatalog, PriceSource, ProviderKind};
use spendlens_store::{ConnectionId, OrgId, RollupFilter, Store};

use crate::QueryError;

/// Said with every comparison.
pub const NOTES: [&str; 3] = [
    "Observed prices are what the bill charged per 1M tokens on a model's latest billed day that has ended: per token class where the bill names the class (OpenAI, Anthropic, Bedrock, Vertex, Azure OpenAI), else for all the model's tokens together (OpenRouter). LiteLLM's spend is its own estimate and fal.ai, Runway and PiAPI bill in other units, so none of theirs is observed.",
    "An observed price is a day's average over every tier, context length and batch discount the bill blended; it is shown beside the catalog and never prices a call. To price calls with it, add it as a user price.",
    "Drift is (billed − catalog) ÷ catalog for the same tokens; beyond the threshold it is flagged, and a price_drift alert rule fires on it.",
];

/// One class (or all tokens) of one model's latest observed day against the catalog.
#[derive(Clone, Debug, Serialize)]
pub struct PriceComparisonRow {
    pub provider: ProviderKind,
    pub provider_name: &'static str,
    pub model: String,
    pub day: Day,
    pub token_class: ObservedClass,
    pub billed_cost: Money,
    pub tokens: ClassTokens,
    /// Billed price per 1M tokens, to the nano-dollar (half to even).
    pub observed_per_1m: Option<Money>,
    /// The catalog's price per 1M of the same tokens; `null` when the catalog has none.
    pub catalog_per_1m: Option<Money>,
    /// The catalog entry that prices the model's calls that day, and its provenance.
    pub catalog_entry: Option<String>,
    pub catalog_source: Option<PriceSource>,
    /// (billed − catalog) ÷ catalog in percent, one decimal; `null` without a catalog price.
    pub drift_pct: Option<Decimal>,
    pub drifted: bool,
}

/// A model the bill names that no catalog entry prices.
#[derive(Clone, Debug, Serialize)]
pub struct NewModel {
    pub provider: ProviderKind,
    pub provider_name: &'static str,
    pub model: String,
    /// Billed cost in the period.
    pub billed_cost: Money,
}

/// The comparison as every surface shows it.
#[derive(Clone, Debug, Serialize)]
pub struct PriceComparison {
    pub threshold_pct: Decimal,
    /// The period the new models were looked for in.
    pub period: DayRange,
    pub rows: Vec<PriceComparisonRow>,
    pub drifted: usize,
    pub new_models: Vec<NewModel>,
    pub notes: Vec<&'static str>,
}

/// Sets cells against the catalog (pure; `catalog` should be what prices calls).
pub fn compare_cells(
    catalog: &PriceCatalog,
    cells: &[(ProviderKind, ObservedCell)],
    threshold_pct: Decimal,
) -> Vec<PriceComparisonRow> {
    cells
        .iter()
        .map(|(provider, cell)| {
            let entry = catalog.lookup_for_calls(*provider, &cell.model, cell.day);
            let d = drift(cell, entry, threshold_pct);
            PriceComparisonRow {
                provider: *provider,
                provider_name: provider.display_name(),
                model: cell.model.clone(),
                day: cell.day,
                token_class: cell.class,
                billed_cost: cell.cost,
                tokens: cell.tokens,
                observed_per_1m: cell.per_1m(),
                catalog_per_1m: d.catalog_per_1m,
                catalog_entry: entry.map(|e| e.id.clone()),
                catalog_source: entry.map(|e| e.source),
                drift_pct: d.drift_pct,
                drifted: d.drifted,
            }
        })
        .collect()
}

/// The threshold asked for, checked: a percent from 0 to 1000.
pub fn threshold(text: Option<&str>) -> Result<Decimal, QueryError> {
    let Some(text) = text.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(DEFAULT_DRIFT_THRESHOLD_PCT);
    };
    let value: Decimal = text.parse().map_err(|_| {
        QueryError::Invalid(format!(
            "threshold \"{text}\" is not a number; give a percent such as 2 or 0.5"
        ))
    })?;
    if value.is_sign_negative() || value > Decimal::from(1000) {
        return Err(QueryError::Invalid(format!(
            "threshold {text} is out of range; give a percent from 0 to 1000"
        )));
    }
    Ok(value)
}

/// Reads the comparison: every model's latest observed day, and the models billed in `period`
/// without a catalog price.
pub async fn comparison(
    store: &Store,
    org: OrgId,
    period: DayRange,
    threshold_pct: Decimal,
) -> Result<PriceComparison, QueryError> {
    let catalog = store.price_catalog(org).await?.catalog;
    let cells: Vec<(ProviderKind, ObservedCell)> = store
        .latest_observed_prices(org)
        .await?
        .into_iter()
        .map(|r| (r.provider, r.cell))
        .collect();
    let rows = compare_cells(&catalog, &cells, threshold_pct);
    let providers: HashMap<ConnectionId, ProviderKind> = store
        .list_connections(org)
        .await?
        .into_iter()
        .map(|c| (c.id, c.provider))
        .collect();
    // Billed cost per (provider, model as the catalog names it) without a catalog price.
    let mut unpriced: BTreeMap<(ProviderKind, String), Money> = BTreeMap::new();
    let models = store
        .totals_by_model(org, period, None, &RollupFilter::default())
        .await?;
    for row in models {
        let Some(&provider) = providers.get(&row.connection_id) else {
            continue;
        };
        // Tool calls and storage are spend, not models.
        let tool = matches!(row.category, Category::Tool | Category::Other);
        if tool
            || row.current.cost.is_zero()
            || catalog
                .lookup_for_calls(provider, &row.model, period.to())
                .is_some()
        {
            continue;
        }
        let model = spendlens_domain::catalog::normalize_model(provider, &row.model);
        *unpriced.entry((provider, model)).or_default() += row.current.cost;
    }
    let mut new_models: Vec<NewModel> = unpriced
        .into_iter()
        .map(|((provider, model), billed_cost)| NewModel {
            provider,
            provider_name: provider.display_name(),
            model,
            billed_cost,
        })
        .collect();
    new_models.sort_by(|a, b| {
        b.billed_cost
            .cmp(&a.billed_cost)
            .then_with(|| (a.provider, &a.model).cmp(&(b.provider, &b.model)))
    });
    Ok(PriceComparison {
        threshold_pct,
        period,
        drifted: rows.iter().filter(|r| r.drifted).count(),
        rows,
        new_models,
        notes: NOTES.to_vec(),
    })
}
