//! What several store suites build alike: a metered event as an application sends it, priced
//! at the cost it reported.

use spendlens_domain::Money;
use spendlens_meter::{CostSource, EventCost, PricedEvent, parse_event};
use time::OffsetDateTime;

/// The event of `json` (received at `now`), priced at its reported `cost` (`None`: unpriced,
/// "no price").
pub fn priced(json: &str, now: OffsetDateTime, cost: Option<&str>) -> PricedEvent {
    PricedEvent {
        event: parse_event(json, now).unwrap(),
        cost: EventCost {
            cost: cost.map(|c| Money::parse_units(c).unwrap()),
            source: if cost.is_some() {
                CostSource::Reported
            } else {
                CostSource::Unpriced
            },
            catalog_cost: None,
            price_entry: None,
            unpriced_reason: cost.is_none().then(|| "no price".to_owned()),
            catalog_split: None,
        },
    }
}
