//! Billed vs allocated: turning a provider's usage (fine grain, no money) and billed cost
//! (coarse grain, exact money) into cost lines whose money adds up to the bill exactly.
//!
//! Within each (day, workspace, model) the billed amounts are spread over the usage lines in
//! proportion to their catalog-priced usage — or, when the bill names the token kind
//! ("…, cached input"), in proportion to that kind of token. Splits use the largest-remainder
//! method on nano-units, so the parts always sum to the whole. Money no usage can carry stays
//! on a line of its own with no API key (never dropped).

use std::collections::{BTreeMap, HashMap};

use crate::billing::Billed;
use crate::calendar::Day;
use crate::catalog::{ModelPrice, PriceCatalog};
use crate::cost_line::{CostLine, LineKey};
use crate::money::{Currency, Money, Quantity};
use crate::provider::ProviderKind;
use crate::usage::{BilledCost, Category, TokenCounts, Unit, UsageRecord};

/// Split `total` into parts proportional to `weights` that sum to `total` exactly.
///
/// Each part is the floor of its exact share; the nano-units left over go, one each, to the
/// parts with the largest remainders (ties to the earlier part). Returns `None` when the
/// weights are all zero (or any is negative), because then there is nothing to be proportional to.
pub fn split_proportionally(total: i64, weights: &[i128]) -> Option<Vec<i64>> {
    if weights.iter().any(|w| *w < 0) {
        return None;
    }
    let weights = scale_down(weights);
    let weight_sum: i128 = weights.iter().sum();
    if weight_sum == 0 {
        return None;
    }
    let magnitude = i128::from(total).abs();
    let mut parts: Vec<i128> = Vec::with_capacity(weights.len());
    let mut remainders: Vec<(i128, usize)> = Vec::with_capacity(weights.len());
    for (index, weight) in weights.iter().enumerate() {
        let product = magnitude * weight;
        parts.push(product / weight_sum);
        remainders.push((product % weight_sum, index));
    }
    let assigned: i128 = parts.iter().sum();
    let mut left = magnitude - assigned;
    remainders.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    for (_, index) in remainders {
        if left == 0 {
            break;
        }
        parts[index] += 1;
        left -= 1;
    }
    let sign = if total < 0 { -1 } else { 1 };
    parts
        .into_iter()
        .map(|part| i64::try_from(part * sign).ok())
        .collect()
}

/// Keeps `magnitude * weight` inside i128 by dividing large weights down (proportions are kept
/// to well beyond nano precision).
fn scale_down(weights: &[i128]) -> Vec<i128> {
    const LIMIT: i128 = 1 << 60;
    let max = weights.iter().copied().max().unwrap_or(0);
    if max <= LIMIT {
        return weights.to_vec();
    }
    let divisor = max / LIMIT + 1;
    weights.iter().map(|w| w / divisor).collect()
}

/// Turns a window's usage and billed cost for one connection into cost lines.
///
/// Guarantees: for every (day, workspace) the lines' cost and credits sum to the billed
/// amounts exactly; every usage record's tokens, requests and quantity appear in exactly one
/// line; no billed amount is dropped.
pub fn allocate(
    provider: ProviderKind,
    usage: Vec<UsageRecord>,
    costs: Vec<BilledCost>,
    catalog: &PriceCatalog,
) -> Vec<CostLine> {
    let default_currency = costs
        .first()
        .map(|c| c.currency.clone())
        .unwrap_or_else(Currency::usd);
    let mut lines: BTreeMap<LineKey, CostLine> = BTreeMap::new();
    for record in usage {
        let line = CostLine {
            day: record.day,
            workspace_id: record.workspace_id,
            api_key_id: record.api_key_id,
            model: record.model,
            category: record.category,
            unit: record.unit,
            detail: record.detail,
            tokens: record.tokens,
            requests: record.requests,
            quantity: record.quantity,
            cost: Money::ZERO,
            credits: Money::ZERO,
            currency: default_currency.clone(),
            estimated: false,
            allocated: false,
            unpriced: record.unpriced,
            billing: None,
        };
        merge_line(&mut lines, line);
    }

    // The usage lines of each (day, workspace, model), for the bill to be spread over.
    let mut groups: HashMap<GroupKey, Vec<LineKey>> = HashMap::new();
    for key in lines.keys() {
        groups
            .entry(GroupKey::new(
                key.day,
                key.workspace_id.as_deref(),
                &key.model,
            ))
            .or_default()
            .push(key.clone());
    }

    for cost in costs {
        place_cost(provider, cost, &groups, &mut lines, catalog);
    }
    lines.into_values().collect()
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct GroupKey {
    day: Day,
    workspace_id: Option<String>,
    model: String,
}

impl GroupKey {
    fn new(day: Day, workspace_id: Option<&str>, model: &str) -> GroupKey {
        GroupKey {
            day,
            workspace_id: workspace_id.map(str::to_owned),
            model: normalize_model(model),
        }
    }
}

/// Model names compare case-insensitively and without surrounding space.
pub fn normalize_model(model: &str) -> String {
    model.trim().to_ascii_lowercase()
}

fn merge_line(lines: &mut BTreeMap<LineKey, CostLine>, line: CostLine) {
    match lines.get_mut(&line.key()) {
        Some(existing) => {
            existing.tokens.add(line.tokens);
            existing.requests = match (existing.requests, line.requests) {
                (Some(a), Some(b)) => Some(a.saturating_add(b)),
                _ => None,
            };
            existing.quantity += line.quantity;
            existing.billing = add_billing(existing, line.billing);
            existing.cost += line.cost;
            existing.credits += line.credits;
            existing.estimated |= line.estimated;
            existing.allocated |= line.allocated;
            existing.unpriced |= line.unpriced;
        }
        None => {
            lines.insert(line.key(), line);
        }
    }
}

/// The billing-currency amount of `existing` plus `more`. A line with no billing amount yet is
/// billed as its own cost (zero for usage-only lines), so the first foreign amount starts it;
/// amounts in two different billing currencies cannot be one line's and keep the first.
fn add_billing(existing: &CostLine, more: Option<Billed>) -> Option<Billed> {
    let Some(more) = more else {
        return existing.billing.clone();
    };
    let mine = match &existing.billing {
        Some(billing) => billing.clone(),
        None if existing.cost.is_zero() && existing.credits.is_zero() => Billed {
            currency: more.currency.clone(),
            cost: Money::ZERO,
            credits: Money::ZERO,
        },
        None => existing.billed(),
    };
    Some(mine.plus(&more).unwrap_or(mine))
}

fn place_cost(
    provider: ProviderKind,
    cost: BilledCost,
    groups: &HashMap<GroupKey, Vec<LineKey>>,
    lines: &mut BTreeMap<LineKey, CostLine>,
    catalog: &PriceCatalog,
) {
    let model_name = cost
        .model
        .clone()
        .unwrap_or_else(|| cost.description.clone());
    let group = groups
        .get(&GroupKey::new(
            cost.day,
            cost.workspace_id.as_deref(),
            &model_name,
        ))
        .map(Vec::as_slice)
        .unwrap_or(&[]);

    // Narrow to the billed key, and to the billed category when usage has it. A provider that
    // bills per key names the key exactly: no key there means the key-less line, not a spread.
    let exact_key = provider.bills_per_key() || cost.api_key_id.is_some();
    let mut candidates: Vec<&LineKey> = group
        .iter()
        .filter(|key| !exact_key || key.api_key_id == cost.api_key_id)
        .collect();
    if let Some(category) = cost.category
        && candidates.iter().any(|key| key.category == category)
    {
        candidates.retain(|key| key.category == category);
    }
    // Usage with no known price did not cause a known bill: money goes to priced usage only.
    if candidates
        .iter()
        .any(|key| lines.get(*key).is_some_and(|l| !l.unpriced))
    {
        candidates.retain(|key| lines.get(*key).is_some_and(|l| !l.unpriced));
    }
    // A bill line that names a usage detail ("dall-e-3, 1024x1792") pays for that detail only.
    let named: Vec<&LineKey> = candidates
        .iter()
        .copied()
        .filter(|key| !key.detail.is_empty() && names_detail(&cost.description, &key.detail))
        .collect();
    if !named.is_empty() {
        candidates = named;
    }

    let price = catalog.lookup(provider, &model_name, cost.day);
    let usages: Vec<UsageShape> = candidates
        .iter()
        .filter_map(|key| lines.get(*key))
        .map(|line| (line.tokens, line.unit.clone(), line.quantity, line.requests))
        .collect();
    let weights = weights_for(&cost, price, &usages);

    let cost_parts = split_proportionally(cost.cost.nanos(), &weights);
    let credit_parts = split_proportionally(cost.credits.nanos(), &weights);
    // The billing-currency amount is split with the same weights, so its parts add up too.
    let billing_parts: Option<Vec<Billed>> = match &cost.billing {
        None => None,
        Some(billing) => split_proportionally(billing.cost.nanos(), &weights)
            .zip(split_proportionally(billing.credits.nanos(), &weights))
            .map(|(costs, credits)| {
                costs
                    .into_iter()
                    .zip(credits)
                    .map(|(cost, credits)| Billed {
                        currency: billing.currency.clone(),
                        cost: Money::from_nanos(cost),
                        credits: Money::from_nanos(credits),
                    })
                    .collect()
            }),
    };
    match (cost_parts, credit_parts) {
        (Some(cost_parts), Some(credit_parts)) => {
            let spread = !exact_key;
            for (index, ((key, cost_part), credit_part)) in candidates
                .iter()
                .zip(cost_parts)
                .zip(credit_parts)
                .enumerate()
            {
                if let Some(line) = lines.get_mut(*key) {
                    let part = billing_parts
                        .as_ref()
                        .and_then(|parts| parts.get(index).cloned());
                    line.billing = add_billing(line, part);
                    line.cost += Money::from_nanos(cost_part);
                    line.credits += Money::from_nanos(credit_part);
                    line.currency = cost.currency.clone();
                    line.estimated |= cost.estimated;
                    line.allocated |= spread && line.api_key_id.is_some();
                }
            }
        }
        _ => {
            // No usage to carry it: the money stays on a line of its own, in the unit its
            // model's usage is counted in when there is any.
            let (category, unit) = match (group.first(), &cost.model, cost.category) {
                (Some(usage), _, category) => {
                    (category.unwrap_or(usage.category), usage.unit.clone())
                }
                (None, _, Some(category)) => (category, unit_for(category)),
                (None, Some(_), None) => (Category::Text, Unit::tokens()),
                (None, None, None) => (Category::Other, Unit::requests()),
            };
            let line = CostLine {
                day: cost.day,
                workspace_id: cost.workspace_id,
                api_key_id: cost.api_key_id,
                model: model_name,
                category,
                unit,
                detail: String::new(),
                tokens: TokenCounts::default(),
                // No requests carried this money; where the provider reports none, unknown.
                requests: provider.reports_request_counts().then_some(0),
                quantity: Quantity::ZERO,
                cost: cost.cost,
                credits: cost.credits,
                currency: cost.currency,
                estimated: cost.estimated,
                allocated: false,
                unpriced: false,
                billing: cost.billing,
            };
            merge_line(lines, line);
        }
    }
}

/// Whether `description` names `detail` as a whole word (`"dall-e-3, 1024x1792"` names
/// `1024x1792`, not `1024x179`).
fn names_detail(description: &str, detail: &str) -> bool {
    description
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '.'))
        .any(|word| word.eq_ignore_ascii_case(detail))
}

fn unit_for(category: Category) -> Unit {
    match category {
        Category::Image => Unit::images(),
        Category::Text | Category::Embedding | Category::Moderation => Unit::tokens(),
        _ => Unit::requests(),
    }
}

type UsageShape = (TokenCounts, Unit, Quantity, Option<i64>);

/// The weight of each candidate line for one billed amount: the billed token kind when the
/// bill names it, else catalog-priced usage; then, when those are all zero, non-token
/// quantity, then total tokens, then requests.
fn weights_for(cost: &BilledCost, price: Option<&ModelPrice>, usages: &[UsageShape]) -> Vec<i128> {
    let by = |f: &dyn Fn(&UsageShape) -> i128| -> Vec<i128> { usages.iter().map(f).collect() };
    let nonzero = |weights: &Vec<i128>| weights.iter().any(|w| *w > 0);

    if let Some(class) = cost.token_class {
        let weights = by(&|(tokens, ..)| i128::from(tokens.of_class(class)));
        if nonzero(&weights) {
            return weights;
        }
    }
    if let Some(price) = price {
        let weights = by(&|(tokens, unit, quantity, _)| {
            price.price_nanos(*tokens, unit, quantity.to_decimal())
        });
        if nonzero(&weights) {
            return weights;
        }
    }
    // Refund days carry negative quantities: their size still says how to split.
    let weights = by(&|(_, _, quantity, _)| i128::from(quantity.micros().saturating_abs()));
    if nonzero(&weights) {
        return weights;
    }
    let weights = by(&|(tokens, ..)| i128::from(tokens.total().max(0)));
    if nonzero(&weights) {
        return weights;
    }
    by(&|(.., requests)| i128::from(requests.unwrap_or(0).max(0)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::usage::TokenClass;
    use proptest::prelude::*;

    fn day() -> Day {
        "2026-11-01".parse().unwrap()
    }

    fn usage(key: &str, model: &str, input: i64, cached: i64, output: i64) -> UsageRecord {
        UsageRecord {
            day: day(),
            workspace_id: Some("proj_a".into()),
            api_key_id: Some(key.into()),
            model: model.into(),
            category: Category::Text,
            unit: Unit::tokens(),
            detail: String::new(),
            tokens: TokenCounts {
                input,
                output,
                cache_read: cached,
                cache_write: 0,
            },
            requests: Some(1),
            quantity: Quantity::ZERO,
            unpriced: false,
        }
    }

    fn bill(model: Option<&str>, class: Option<TokenClass>, dollars: &str) -> BilledCost {
        BilledCost {
            day: day(),
            workspace_id: Some("proj_a".into()),
            api_key_id: None,
            model: model.map(str::to_owned),
            token_class: class,
            category: None,
            description: model.unwrap_or("Vector storage").to_owned(),
            cost: Money::parse_units(dollars).unwrap(),
            credits: Money::ZERO,
            currency: Currency::usd(),
            estimated: false,
            billing: None,
        }
    }

    #[test]
    fn a_split_always_sums_to_the_whole() {
        assert_eq!(split_proportionally(10, &[1, 1, 1]).unwrap(), vec![4, 3, 3]);
        assert_eq!(
            split_proportionally(-10, &[1, 1, 1]).unwrap(),
            vec![-4, -3, -3]
        );
        assert_eq!(split_proportionally(7, &[0, 5]).unwrap(), vec![0, 7]);
        assert!(split_proportionally(7, &[0, 0]).is_none());
    }

    #[test]
    fn an_amount_billed_in_euros_is_split_with_its_dollars_and_both_add_up() {
        let mut eur = bill(Some("gpt-4o"), None, "10.000000001");
        eur.billing = Some(Billed {
            currency: Currency::parse("EUR").unwrap(),
            cost: Money::parse_units("9.200000001").unwrap(),
            credits: Money::parse_units("0.000000003").unwrap(),
        });
        let lines = allocate(
            ProviderKind::OpenAi,
            vec![
                usage("key_a", "gpt-4o", 1000, 0, 0),
                usage("key_b", "gpt-4o", 1000, 0, 0),
            ],
            vec![eur],
            &PriceCatalog::built_in(),
        );
        let billed: Vec<Billed> = lines.iter().map(CostLine::billed).collect();
        assert!(billed.iter().all(|b| b.currency.as_str() == "EUR"));
        let nanos = |f: &dyn Fn(&Billed) -> Money| billed.iter().map(f).sum::<Money>().nanos();
        assert_eq!(nanos(&|b| b.cost), 9_200_000_001);
        assert_eq!(nanos(&|b| b.credits), 3);
        assert_eq!(
            lines.iter().map(|l| l.cost).sum::<Money>().nanos(),
            10_000_000_001
        );
    }

    #[test]
    fn a_billed_token_kind_is_spread_by_that_kind_of_token() {
        let lines = allocate(
            ProviderKind::OpenAi,
            vec![
                usage("key_a", "gpt-4o", 1000, 1000, 0),
                usage("key_b", "gpt-4o", 3000, 0, 0),
            ],
            vec![bill(Some("gpt-4o"), Some(TokenClass::Input), "0.30")],
            &PriceCatalog::built_in(),
        );
        // key_a's input was all cached: the uncached-input bill goes to key_b.
        let costs: Vec<_> = lines.iter().map(|l| l.cost.to_exact_string()).collect();
        assert_eq!(costs, vec!["0.00", "0.30"]);
        assert!(lines[1].allocated);
    }

    #[test]
    fn a_bill_goes_to_priced_usage_and_unpriced_usage_stays_marked() {
        let tasks = UsageRecord {
            category: Category::Image,
            unit: Unit::parse("tasks").unwrap(),
            tokens: TokenCounts::default(),
            requests: Some(3),
            quantity: Quantity::from_whole(3),
            ..usage("3112", "mj", 0, 0, 0)
        };
        // Ten tasks charged in points: a huge quantity, which would win a split by quantity.
        let points = UsageRecord {
            unit: Unit::parse("point_usage").unwrap(),
            requests: Some(10),
            quantity: Quantity::from_whole(240),
            unpriced: true,
            ..tasks.clone()
        };
        let mut charged = bill(Some("mj"), None, "0.75");
        charged.api_key_id = Some("3112".into());
        let lines = allocate(
            ProviderKind::PiApi,
            vec![tasks, points.clone(), points],
            vec![charged],
            &PriceCatalog::built_in(),
        );
        assert_eq!(lines.len(), 2);
        let priced = lines.iter().find(|l| !l.unpriced).unwrap();
        let unpriced = lines.iter().find(|l| l.unpriced).unwrap();
        assert_eq!(priced.cost.to_exact_string(), "0.75");
        assert_eq!(unpriced.cost, Money::ZERO);
        assert_eq!(unpriced.requests, Some(20));
        assert_eq!(unpriced.quantity, Quantity::from_whole(480));
    }

    #[test]
    fn money_without_usage_is_kept_on_its_own_line() {
        let lines = allocate(
            ProviderKind::OpenAi,
            vec![usage("key_a", "gpt-4o", 10, 0, 10)],
            vec![bill(None, None, "1.25")],
            &PriceCatalog::built_in(),
        );
        let orphan = lines.iter().find(|l| l.model == "Vector storage").unwrap();
        assert_eq!(orphan.cost.to_exact_string(), "1.25");
        assert_eq!(orphan.api_key_id, None);
        assert_eq!(orphan.category, Category::Other);
        assert!(!orphan.allocated);
    }

    #[test]
    fn an_unpriced_model_is_spread_by_tokens() {
        let lines = allocate(
            ProviderKind::OpenAi,
            vec![
                usage("key_a", "ft:custom", 100, 0, 100),
                usage("key_b", "ft:custom", 300, 0, 300),
            ],
            vec![bill(Some("ft:custom"), None, "4.00")],
            &PriceCatalog::built_in(),
        );
        let costs: Vec<_> = lines.iter().map(|l| l.cost.to_exact_string()).collect();
        assert_eq!(costs, vec!["1.00", "3.00"]);
    }

    #[test]
    fn a_provider_billing_per_key_keeps_key_less_money_off_the_keys() {
        let mut keyed = usage("key_a", "fal-ai/flux/dev", 0, 0, 0);
        keyed.unit = Unit::images();
        keyed.quantity = Quantity::from_whole(10);
        let mut login = keyed.clone();
        login.api_key_id = None;
        login.quantity = Quantity::from_whole(2);
        let mut for_key = bill(Some("fal-ai/flux/dev"), None, "1.00");
        for_key.api_key_id = Some("key_a".into());
        let no_key = bill(Some("fal-ai/flux/dev"), None, "0.20");
        let lines = allocate(
            ProviderKind::Fal,
            vec![keyed, login],
            vec![for_key, no_key],
            &PriceCatalog::built_in(),
        );
        let key_less = lines.iter().find(|l| l.api_key_id.is_none()).unwrap();
        assert_eq!(key_less.cost.to_exact_string(), "0.20");
        let key_a = lines.iter().find(|l| l.api_key_id.is_some()).unwrap();
        assert_eq!(key_a.cost.to_exact_string(), "1.00");
        assert!(!key_a.allocated);
    }

    #[test]
    fn a_bill_line_naming_an_image_size_pays_for_that_size() {
        let image = |key: &str, size: &str, count: i64| {
            let mut u = usage(key, "dall-e-3", 0, 0, 0);
            u.category = Category::Image;
            u.unit = Unit::images();
            u.detail = size.to_owned();
            u.quantity = Quantity::from_whole(count);
            u
        };
        let mut large = bill(Some("dall-e-3"), None, "8.00");
        large.description = "dall-e-3, 1024x1792".into();
        large.category = Some(Category::Image);
        let lines = allocate(
            ProviderKind::OpenAi,
            vec![
                image("key_a", "1024x1024", 100),
                image("key_b", "1024x1792", 100),
            ],
            vec![large],
            &PriceCatalog::built_in(),
        );
        let by_size = |size: &str| {
            lines
                .iter()
                .find(|l| l.detail == size)
                .unwrap()
                .cost
                .to_exact_string()
        };
        assert_eq!(by_size("1024x1792"), "8.00");
        assert_eq!(by_size("1024x1024"), "0.00");
    }

    #[test]
    fn a_refund_day_lands_on_its_usage_line() {
        let mut refund = usage("x", "gen4.5", 0, 0, 0);
        refund.api_key_id = None;
        refund.unit = Unit::credits();
        refund.requests = None;
        refund.quantity = Quantity::from_whole(-10);
        let mut cost = bill(Some("gen4.5"), None, "-0.10");
        cost.api_key_id = None;
        let lines = allocate(
            ProviderKind::Runway,
            vec![refund],
            vec![cost],
            &PriceCatalog::built_in(),
        );
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert_eq!(lines[0].cost.to_exact_string(), "-0.10");
        assert_eq!(lines[0].unit, Unit::credits());
    }

    proptest! {
        #[test]
        fn splits_sum_exactly(total in -1_000_000_000_000i64..1_000_000_000_000, weights in prop::collection::vec(0i128..1_000_000_000_000_000, 1..20)) {
            if let Some(parts) = split_proportionally(total, &weights) {
                prop_assert_eq!(parts.iter().sum::<i64>(), total);
                prop_assert!(parts.iter().all(|p| p.signum() * total.signum() >= 0));
            } else {
                prop_assert!(weights.iter().all(|w| *w == 0));
            }
        }

        #[test]
        fn per_key_sums_equal_the_bill_to_the_nano_dollar(
            keys in prop::collection::vec((0i64..5_000_000, 0i64..5_000_000, 0i64..2_000_000), 1..12),
            bills in prop::collection::vec((0usize..5, 0i64..50_000_000_000), 1..8),
        ) {
            let models = ["gpt-4o", "gpt-4o-mini", "claude-sonnet-4", "unknown-model", "whisper-1"];
            let classes = [None, Some(TokenClass::Input), Some(TokenClass::CachedInput), Some(TokenClass::Output)];
            let usage_records: Vec<_> = keys.iter().enumerate().map(|(i, (input, cached, output))| {
                usage(&format!("key_{i}"), models[i % 3], *input + *cached, *cached, *output)
            }).collect();
            let costs: Vec<_> = bills.iter().enumerate().map(|(i, (model, nanos))| {
                let mut b = bill(Some(models[*model]), classes[i % 4], "0");
                b.cost = Money::from_nanos(*nanos);
                b.credits = Money::from_nanos(*nanos / 7);
                b
            }).collect();
            let billed: i64 = costs.iter().map(|c| c.cost.nanos()).sum();
            let credited: i64 = costs.iter().map(|c| c.credits.nanos()).sum();
            let input_tokens: i64 = usage_records.iter().map(|u| u.tokens.input).sum();
            let lines = allocate(ProviderKind::OpenAi, usage_records, costs, &PriceCatalog::built_in());
            prop_assert_eq!(lines.iter().map(|l| l.cost.nanos()).sum::<i64>(), billed);
            prop_assert_eq!(lines.iter().map(|l| l.credits.nanos()).sum::<i64>(), credited);
            prop_assert_eq!(lines.iter().map(|l| l.tokens.input).sum::<i64>(), input_tokens);
        }
    }
}
