//! Helpers the query suites share.

#![allow(clippy::expect_used)] // a failing test should stop loudly

use spendlens_domain::{
    Category, CostLine, Credential, Currency, Money, ProviderKind, Quantity, TokenCounts, Unit,
};
use spendlens_meter::{
    Attribution, CallStatus, CostSource, EventCost, EventSource, MeteredEvent, PricedEvent,
    TokenBuckets, TokenFlags,
};
use spendlens_store::vault::Vault;
use spendlens_store::{ConnectionId, NewConnection, OrgId, Store};
use time::OffsetDateTime;

/// An OpenAI connection named `name`, created at `now`.
pub async fn openai_connection(
    store: &Store,
    org: OrgId,
    name: &str,
    now: OffsetDateTime,
) -> ConnectionId {
    let credential = Credential::parse(
        ProviderKind::OpenAi,
        "sk-admin-AbCdefghijklmnopqrstuvwxYz12",
    )
    .expect("a valid admin key");
    store
        .create_connection(
            org,
            NewConnection {
                name,
                credential: &credential,
                base_url: None,
                sync_interval_secs: 3600,
                backfill_days: 90,
                lookback_days: Some(3),
            },
            &Vault::from_key([1; 32]),
            now,
        )
        .await
        .expect("the connection is created")
        .id
}

/// An OpenAI call of key `key_a` reporting its cost.
pub fn call(id: &str, time: OffsetDateTime, dollars: &str) -> PricedEvent {
    call_of("gpt-4o", id, time, dollars)
}

pub fn call_of(model: &str, id: &str, time: OffsetDateTime, dollars: &str) -> PricedEvent {
    call_for(model, "", id, time, dollars)
}

/// A call of `customer` (empty: none).
pub fn call_for(
    model: &str,
    customer: &str,
    id: &str,
    time: OffsetDateTime,
    dollars: &str,
) -> PricedEvent {
    let cost = Money::parse_units(dollars).expect("valid");
    PricedEvent {
        event: MeteredEvent {
            id: id.to_owned(),
            time,
            provider: "openai".to_owned(),
            model: model.to_owned(),
            tokens: Some(TokenBuckets {
                input_uncached: 900,
                cache_read: 0,
                cache_write: 0,
                output_visible: 90,
                output_reasoning: 0,
            }),
            token_flags: TokenFlags::default(),
            quantity: None,
            reported_cost: Some(cost),
            latency_ms: None,
            status: CallStatus::Ok,
            api_key: Some("key_a".to_owned()),
            workspace: None,
            attribution: Attribution {
                customer: (!customer.is_empty()).then(|| customer.to_owned()),
                ..Attribution::default()
            },
            tags: Default::default(),
            source: EventSource::Native,
        },
        cost: EventCost {
            cost: Some(cost),
            source: CostSource::Reported,
            catalog_cost: None,
            price_entry: None,
            unpriced_reason: None,
            catalog_split: None,
        },
    }
}

pub async fn meter(store: &Store, org: OrgId, now: OffsetDateTime, calls: &[PricedEvent]) {
    let outcome = store
        .ingest_events(org, None, now, calls)
        .await
        .expect("valid");
    assert_eq!(outcome.inserted.len(), calls.len());
}

/// A billed line of key `key`'s gpt-4o usage on `day` (no workspace).
pub fn bill_line(day: &str, key: &str, dollars: &str) -> CostLine {
    CostLine {
        day: day.parse().expect("valid"),
        workspace_id: None,
        api_key_id: Some(key.to_owned()),
        model: "gpt-4o".to_owned(),
        category: Category::Text,
        unit: Unit::tokens(),
        detail: String::new(),
        tokens: TokenCounts {
            input: 1_000,
            output: 100,
            cache_read: 0,
            cache_write: 0,
        },
        requests: Some(3),
        quantity: Quantity::ZERO,
        cost: Money::parse_units(dollars).expect("valid"),
        credits: Money::ZERO,
        currency: Currency::usd(),
        estimated: false,
        allocated: false,
        billing: None,
        unpriced: false,
    }
}
