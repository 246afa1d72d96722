//! Which services of the billing export count (google-vertex.md §6): a discovery query lists
//! every service with rows in the window — `service.id`, the names its rows carry,
//! `transaction_type`, `seller_name`, its gross cost and last day —, each is classified (Google's
//! AI services by id; partner models sold through Vertex by their seller or name; everything
//! else not AI) and the connection's choices are applied. Only the services that count are
//! asked for in the spend query, by id, so a renamed service still counts.

use std::collections::BTreeMap;

use spendlens_domain::services::{self, BilledService, ServiceChoices, ServiceKind};
use spendlens_domain::{Day, DayRange, Money};

use super::discovery::TableId;
use super::query::{Pruning, Row};
use super::rows::{money_cell, row_error};
use crate::error::ProviderError;

/// Google's AI services, by service id and current name (doc §6). Names change (the Gemini API
/// was billed as the Generative Language API); ids do not.
pub(super) const GOOGLE_AI: [(&str, &str); 2] = [
    ("C7E2-9256-1C43", "Vertex AI"),
    ("AEFD-7695-64FA", "Gemini API"),
];

/// Words that make a third-party line item a partner model (its seller or its name).
const MODEL_MAKERS: [&str; 12] = [
    "anthropic",
    "claude",
    "meta",
    "llama",
    "mistral",
    "codestral",
    "ai21",
    "jamba",
    "cohere",
    "deepseek",
    "qwen",
    "nvidia",
];

/// The discovery query: every service of the window (same window and pruning as the spend
/// query), with the names its rows carry and when it was last used.
pub(super) fn discovery_sql(table: &TableId, pruning: Pruning) -> String {
    format!(
        "SELECT
  service.id AS service_id, service.description AS service,
  IFNULL(transaction_type, '') AS transaction_type, IFNULL(seller_name, '') AS seller_name,
  currency,
  CAST(SUM(CAST(cost AS NUMERIC)) AS STRING) AS cost,
  FORMAT_DATE('%F', DATE(MAX(usage_start_time))) AS last_day
FROM `{}`
WHERE usage_start_time >= @start AND usage_start_time < @end{}
GROUP BY service_id, service, transaction_type, seller_name, currency
ORDER BY service_id, service",
        table.full(),
        pruning.filter()
    )
}

/// What a service is, from its id, name, transaction type and seller.
pub(super) fn kind_of(id: &str, name: &str, transaction_type: &str, seller: &str) -> ServiceKind {
    if GOOGLE_AI.iter().any(|(known, _)| *known == id) {
        return ServiceKind::GoogleAi;
    }
    let third_party = transaction_type
        .to_ascii_uppercase()
        .starts_with("THIRD_PARTY");
    let text = format!("{seller} {name}").to_ascii_lowercase();
    let maker = text
        .split(|c: char| !c.is_ascii_alphanumeric())
        .any(|word| MODEL_MAKERS.contains(&word));
    if third_party && maker {
        ServiceKind::PartnerModel
    } else {
        ServiceKind::Other
    }
}

/// One service being gathered from the discovery rows.
struct Found {
    names: BTreeMap<String, Option<Day>>,
    transaction_type: String,
    seller: String,
    currency: String,
    cost: Money,
    last_day: Option<Day>,
}

/// The services of the discovery rows with the connection's `choices` applied.
pub(super) fn discovered(
    rows: &[Row],
    window: DayRange,
    choices: &ServiceChoices,
) -> Result<Vec<BilledService>, ProviderError> {
    let mut found: BTreeMap<String, Found> = BTreeMap::new();
    for row in rows {
        let id = row.text("service_id").unwrap_or("").to_owned();
        if id.is_empty() {
            return Err(row_error(row, "a service has no service.id".to_owned()));
        }
        let name = row.text("service").unwrap_or("").to_owned();
        let last_day = match row.text("last_day").filter(|t| !t.is_empty()) {
            None => None,
            Some(text) => Some(
                text.parse::<Day>()
                    .map_err(|_| row_error(row, format!("last_day \"{text}\" is not a day")))?,
            ),
        };
        if last_day.is_some_and(|day| !window.contains(day)) {
            return Err(row_error(
                row,
                format!("service {id} was last used outside the requested window {window}"),
            ));
        }
        let cost = money_cell(row, "cost")?;
        let entry = found.entry(id).or_insert_with(|| Found {
            names: BTreeMap::new(),
            transaction_type: row.text("transaction_type").unwrap_or("").to_owned(),
            seller: row.text("seller_name").unwrap_or("").to_owned(),
            currency: row
                .text("currency")
                .filter(|c| !c.is_empty())
                .unwrap_or("USD")
                .to_owned(),
            cost: Money::ZERO,
            last_day: None,
        });
        entry.cost += cost;
        entry.last_day = entry.last_day.max(last_day);
        let seen = entry.names.entry(name).or_insert(last_day);
        *seen = (*seen).max(last_day);
    }
    Ok(found
        .into_iter()
        .map(|(id, found)| {
            // Google's own name for its AI services; else the name of the latest rows.
            let name = GOOGLE_AI
                .iter()
                .find(|(known, _)| *known == id)
                .map(|(_, name)| (*name).to_owned())
                .or_else(|| {
                    found
                        .names
                        .iter()
                        .max_by_key(|(name, day)| (**day, std::cmp::Reverse((*name).clone())))
                        .map(|(name, _)| name.clone())
                })
                .unwrap_or_else(|| id.clone());
            let kind = kind_of(&id, &name, &found.transaction_type, &found.seller);
            let counted = services::counts(kind, choices.get(&id).copied());
            BilledService {
                other_names: found
                    .names
                    .keys()
                    .filter(|n| **n != name)
                    .cloned()
                    .collect(),
                transaction_type: Some(found.transaction_type).filter(|t| !t.is_empty()),
                seller: Some(found.seller).filter(|s| !s.is_empty()),
                currency: found.currency,
                cost: found.cost,
                last_day: found.last_day,
                counted,
                kind,
                id,
                name,
            }
        })
        .collect())
}

/// The note a sync leaves about the services: which were read, which were left out and why.
pub(super) fn note(services: &[BilledService], choices: &ServiceChoices) -> Option<String> {
    if services.is_empty() {
        return None;
    }
    let describe = |s: &BilledService| match (&s.seller, s.kind) {
        (Some(seller), ServiceKind::PartnerModel) => format!("{} (partner: {seller})", s.name),
        _ => s.name.clone(),
    };
    let mut sorted: Vec<&BilledService> = services.iter().collect();
    sorted.sort_by(|a, b| a.name.cmp(&b.name));
    let names = |keep: &dyn Fn(&BilledService) -> bool| -> Vec<String> {
        sorted
            .iter()
            .filter(|s| keep(s))
            .map(|s| describe(s))
            .collect()
    };
    let read = names(&|s| s.counted);
    let chosen_out = names(&|s| !s.counted && choices.contains_key(&s.id));
    let not_ai = names(&|s| !s.counted && !choices.contains_key(&s.id));
    let mut text = format!(
        "Services in the billing export: read {}",
        if read.is_empty() {
            "none".to_owned()
        } else {
            read.join(", ")
        }
    );
    if !chosen_out.is_empty() {
        text.push_str(&format!(
            "; excluded on this connection: {}",
            chosen_out.join(", ")
        ));
    }
    if !not_ai.is_empty() {
        text.push_str(&format!(
            "; not AI spend, left out (include one on the connection's page): {}",
            not_ai.join(", ")
        ));
    }
    Some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partner_models_are_third_party_items_of_a_model_maker() {
        assert_eq!(
            kind_of("C7E2-9256-1C43", "Vertex AI", "GOOGLE", "Google"),
            ServiceKind::GoogleAi
        );
        assert_eq!(
            kind_of("AEFD-7695-64FA", "Generative Language API", "", ""),
            ServiceKind::GoogleAi
        );
        assert_eq!(
            kind_of(
                "X",
                "Claude Sonnet 4.5",
                "THIRD_PARTY_RESELLER",
                "Anthropic"
            ),
            ServiceKind::PartnerModel
        );
        assert_eq!(
            kind_of("X", "Llama 3.3 API Service", "THIRD_PARTY_RESELLER", "Meta"),
            ServiceKind::PartnerModel
        );
        // A marketplace product of no model maker, and Google's own other services.
        assert_eq!(
            kind_of("X", "Acme Log Vault", "THIRD_PARTY_RESELLER", "Acme"),
            ServiceKind::Other
        );
        assert_eq!(
            kind_of("24E6-581D-38E5", "BigQuery", "GOOGLE", "Google"),
            ServiceKind::Other
        );
        // "metadata" is not Meta.
        assert_eq!(
            kind_of("X", "Metadata Store", "THIRD_PARTY_RESELLER", "Datacorp"),
            ServiceKind::Other
        );
    }
}
