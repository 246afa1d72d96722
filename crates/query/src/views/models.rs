//! The Models view: spend per model and unit class, the most efficient model, and the Images
//! panel.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};

use rust_decimal::Decimal;
use serde::Serialize;
use spendlens_domain::{Category, Money, ProviderKind, Quantity, Unit};
use spendlens_store::{ConnectionId, OrgId, Prior, Store, Totals};

use super::{
    Catalog, Header, Metrics, compare_metrics, compare_opt, cost_per_million, cost_per_unit,
    finish_sort, percent, set_shares, sum_requests, sum_usage,
};
use crate::QueryError;
use crate::coverage::CoverageMemory;
use crate::params::ViewQuery;
use crate::work::{UnitAmount, WorkSum};

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
