//! `Store::metered_spend_days`, the metered read of forecasts and anomalies, sums each day's
//! calls per (provider, model, key, customer) in the database. It must give what the per-series
//! read (`metered_days_anchored`, every series and metric, folded in Rust) gives: the same cells,
//! days, cost to the nano, tokens and "active before", for anchors at and before the range, with
//! cells split over several series (product, agent, status) and calls stored late and out of
//! order. SQLite, and PostgreSQL when `SPENDLENS_TEST_DATABASE_URL` is set.

use spendlens_domain::{Day, DayRange, Money};
use spendlens_meter::PricedEvent;
use spendlens_store::testing::TestStore;
use spendlens_store::{MeteredSpend, OrgId, Store};
use time::OffsetDateTime;
use time::macros::datetime;

const NOW: OffsetDateTime = datetime!(2026-11-30 08:00 UTC);

fn day(text: &str) -> Day {
    text.parse().unwrap()
}

/// A call on 2026-11-`day` at `hour`, with its extra JSON fields, at `cost` (`None`: unpriced).
fn call(id: &str, day: u8, hour: u8, fields: &str, cost: Option<&str>) -> PricedEvent {
    let json = format!(
        r#"{{"id": "{id}", "time": "2026-11-{day:02}T{hour:02}:00:00Z", "provider": "openai", "model": "gpt-4o", "tokens": {{"input": 100, "cache_read": 30, "output": 10}}{fields}}}"#
    );
    crate::support::priced(&json, NOW, cost)
}

/// The reference: every `meter_day` series read on its own, folded per cell in Rust.
async fn reference(store: &Store, org: OrgId, days: DayRange, anchor: Day) -> Vec<MeteredSpend> {
    store
        .metered_days_anchored(org, days, anchor)
        .await
        .unwrap()
        .into_iter()
        .map(|m| MeteredSpend {
            provider: m.provider,
            model: m.model,
            api_key: m.api_key,
            customer: m.customer,
            active_before: m.active_before,
            days: m
                .days
                .into_iter()
                .map(|(day, metrics)| {
                    let t = metrics.totals;
                    let tokens = t.input_tokens
                        + t.cache_read_tokens
                        + t.cache_write_tokens
                        + t.output_tokens;
                    (day, t.cost, tokens)
                })
                .collect(),
        })
        .collect()
}

async fn ingest(store: &Store, org: OrgId, events: &[PricedEvent]) {
    let outcome = store.ingest_events(org, None, NOW, events).await.unwrap();
    assert_eq!(outcome.inserted.len(), events.len());
}

/// Every (range, anchor) the checks read.
fn reads() -> Vec<(DayRange, Day)> {
    let mut out = Vec::new();
    for (from, to) in [
        ("2026-11-01", "2026-11-30"),
        ("2026-11-10", "2026-11-29"),
        ("2026-11-20", "2026-11-20"),
        ("2026-11-21", "2026-11-21"),
        ("2026-11-29", "2026-11-30"),
    ] {
        let days = DayRange::new(day(from), day(to)).unwrap();
        for anchor in ["2026-11-01", "2026-11-12", from] {
            if day(anchor) <= days.from() {
                out.push((days, day(anchor)));
            }
        }
    }
    out
}

async fn check_all(store: &Store, org: OrgId) {
    for (days, anchor) in reads() {
        let narrow = store.metered_spend_days(org, days, anchor).await.unwrap();
        let wide = reference(store, org, days, anchor).await;
        assert_eq!(narrow, wide, "{days} anchored at {anchor}");
    }
}

#[tokio::test]
async fn the_days_summed_in_the_database_equal_every_series_read_on_its_own() {
    let test = TestStore::new().await.unwrap();
    let store = &test.store;
    let org = store.ensure_default_org(NOW).await.unwrap();
    let acme_chat = r#", "customer": "acme", "product": "chat", "api_key": "k1""#;
    let acme_batch = r#", "customer": "acme", "product": "batch", "agent": "a", "api_key": "k1""#;
    let acme_failed =
        r#", "customer": "acme", "product": "chat", "api_key": "k1", "status": "error""#;
    let beta = r#", "customer": "beta", "api_key": "k2""#;
    ingest(
        store,
        org,
        &[
            // acme/k1 over three series (two products, one failed call), on several days.
            call("a1", 5, 9, acme_chat, Some("1.00")),
            call("a2", 15, 9, acme_chat, Some("2.50")),
            call("a3", 15, 10, acme_batch, Some("0.25")),
            call("a4", 20, 9, acme_failed, Some("0.10")),
            call("a5", 20, 11, acme_batch, None),
            call("a6", 29, 9, acme_chat, Some("0.40")),
            // beta: once long before, then only on the last day.
            call("b1", 2, 9, beta, Some("7.00")),
            call("b2", 30, 7, beta, Some("1.25")),
            // No customer, no key.
            call("n1", 21, 9, "", Some("3.00")),
        ],
    )
    .await;
    check_all(store, org).await;

    // Explicit figures: acme/k1 over 11-12..11-29 anchored at 11-10.
    let got = store
        .metered_spend_days(
            org,
            DayRange::new(day("2026-11-12"), day("2026-11-29")).unwrap(),
            day("2026-11-10"),
        )
        .await
        .unwrap();
    let acme = got.iter().find(|m| m.customer == "acme").unwrap();
    assert!(acme.active_before, "acme was metered on 11-05");
    let per_call = 70 + 30 + 10; // uncached input, cache reads, output
    assert_eq!(
        acme.days,
        vec![
            (
                day("2026-11-15"),
                Money::parse_units("2.75").unwrap(),
                2 * per_call
            ),
            (
                day("2026-11-20"),
                Money::parse_units("0.10").unwrap(),
                2 * per_call
            ),
            (
                day("2026-11-29"),
                Money::parse_units("0.40").unwrap(),
                per_call
            ),
        ]
    );
    // beta has nothing in the range: no cell.
    assert!(got.iter().all(|m| m.customer != "beta"), "{got:#?}");

    // Calls stored late, into days before the last ones of their series.
    ingest(
        store,
        org,
        &[
            call("l1", 12, 9, acme_chat, Some("0.05")),
            call("l2", 20, 23, beta, Some("0.30")),
            call("l3", 1, 9, acme_failed, Some("0.01")),
        ],
    )
    .await;
    check_all(store, org).await;
}
