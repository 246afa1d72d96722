//! Priority Tier: usage the cost report leaves out (anthropic.md, pitfall 4). Usage is grouped
//! by `service_tier` (and `context_window`); priority usage gets a model of its own
//! (`<model> (priority tier)`) so that the standard-tier bill is never spread onto it, and an
//! *estimated* cost priced at the catalog's list price, flagged, so the total is honest and the
//! flag says why. Priority Tier is a commitment bought from Anthropic's sales team; what it
//! really costs is in that contract, not in any API.

use std::collections::BTreeMap;

use spendlens_domain::{
    BilledCost, Category, Currency, Money, PriceCatalog, ProviderKind, TokenCounts, Unit,
    UsageRecord,
};

/// The suffix of a priority model's name.
pub(super) const SUFFIX: &str = " (priority tier)";

/// Whether a `service_tier` is one of the priority tiers (`priority`, `priority_on_demand`).
pub(super) fn is_priority(tier: Option<&str>) -> bool {
    tier.is_some_and(|tier| tier.trim().to_ascii_lowercase().starts_with("priority"))
}

/// Estimated costs for the priority usage among `usage`, and notes on what could not be
/// priced.
pub(super) fn estimate(
    usage: &[UsageRecord],
    catalog: &PriceCatalog,
) -> (Vec<BilledCost>, Vec<String>) {
    // Per (day, workspace, key, model): priority tokens summed over context windows.
    let mut cells: BTreeMap<_, TokenCounts> = BTreeMap::new();
    for record in usage {
        if record.unit == Unit::tokens() && record.model.ends_with(SUFFIX) {
            cells
                .entry((
                    record.day,
                    record.workspace_id.clone(),
                    record.api_key_id.clone(),
                    record.model.clone(),
                ))
                .or_insert_with(TokenCounts::default)
                .add(record.tokens);
        }
    }
    let mut costs = Vec::new();
    let mut unpriced: BTreeMap<String, i64> = BTreeMap::new();
    let mut estimated = Money::ZERO;
    for ((day, workspace_id, api_key_id, model), tokens) in cells {
        let base = model.trim_end_matches(SUFFIX);
        let Some(price) = catalog.lookup(ProviderKind::Anthropic, base, day) else {
            *unpriced.entry(base.to_owned()).or_default() += tokens.input + tokens.output;
            continue;
        };
        let nanos = price.price_nanos(tokens, &Unit::tokens(), rust_decimal::Decimal::ZERO);
        let cost = Money::from_nanos(i64::try_from(nanos).unwrap_or(i64::MAX));
        estimated += cost;
        costs.push(BilledCost {
            day,
            workspace_id,
            api_key_id,
            model: Some(model.clone()),
            token_class: None,
            category: Some(Category::Text),
            description: format!(
                "{base} Priority Tier usage, estimated at list price (Anthropic's cost report \
                 leaves Priority Tier out)"
            ),
            cost,
            credits: Money::ZERO,
            currency: Currency::usd(),
            estimated: true,
            billing: None,
        });
    }
    let mut notes = Vec::new();
    if !costs.is_empty() {
        notes.push(format!(
            "Anthropic's cost report leaves Priority Tier usage out. spendlens priced it at the \
             standard list price (${} in this window) and marks those lines estimated: your \
             Priority Tier contract sets what it really costs.",
            estimated.to_exact_string()
        ));
    }
    for (model, tokens) in unpriced {
        notes.push(format!(
            "{tokens} Priority Tier tokens of {model} have no list price in spendlens's catalog, \
             so their cost is unknown and not included."
        ));
    }
    (costs, notes)
}
