//! `meter.attribution`, the Customers, Products and Agents views' rollup (one series per
//! value): what ingest writes and what migration 0034 builds from `meter_day` for events stored
//! before it both give the same totals, to the nano, as summing `meter_day`'s series per value.

use spendlens_domain::{Day, DayRange, Money};
use spendlens_meter::PricedEvent;
use spendlens_store::testing::TestStore;
use spendlens_store::{Attribution, AttributionTotals, MeterFilter, OrgId, Store};
use time::OffsetDateTime;
use time::macros::datetime;

const NOW: OffsetDateTime = datetime!(2026-11-22 08:00 UTC);

fn range(from: &str, to: &str) -> DayRange {
    DayRange::new(from.parse::<Day>().unwrap(), to.parse::<Day>().unwrap()).unwrap()
}

/// An event as sent, priced at its reported cost (`None`: unpriced).
fn event(id: &str, day: u8, model: &str, attribution: &str, cost: Option<&str>) -> PricedEvent {
    let cost_field = cost.map_or(String::new(), |c| format!(r#", "cost": "{c}""#));
    let json = format!(
        r#"{{"id": "{id}", "time": "2026-11-{day:02}T09:00:00Z", "provider": "openai", "model": "{model}", "tokens": {{"input": 100, "output": 10}}, "api_key": "key_{model}"{attribution}{cost_field}}}"#
    );
    crate::support::priced(&json, NOW, cost)
}

fn events() -> Vec<PricedEvent> {
    let acme = r#", "customer": "acme", "product": "chat", "agent": "triage""#;
    let beta = r#", "customer": "beta", "product": "chat""#;
    vec![
        // The previous period (11-15..11-17) and the current one (11-18..11-20), on two models.
        event("a1", 15, "gpt-4o", acme, Some("1.00")),
        event("a2", 18, "gpt-4o", acme, Some("2.00")),
        event("a3", 19, "gpt-4o-mini", acme, Some("0.25")),
        event("a4", 20, "gpt-4o-mini", acme, None),
        event("b1", 16, "gpt-4o", beta, Some("0.50")),
        event("b2", 20, "gpt-4o", beta, Some("0.75")),
        // No attribution at all.
        event("n1", 19, "gpt-4o", "", Some("3.00")),
    ]
}

/// Every attribution's totals, through `meter.attribution` (no filter) and through
/// `meter_day` (a provider filter naming the one provider).
async fn both_ways(
    store: &Store,
    org: OrgId,
) -> Vec<(Vec<AttributionTotals>, Vec<AttributionTotals>)> {
    let mut out = Vec::new();
    for by in [
        Attribution::Customer,
        Attribution::Product,
        Attribution::Agent,
    ] {
        let (current, previous) = (
            range("2026-11-18", "2026-11-20"),
            range("2026-11-15", "2026-11-17"),
        );
        let narrow = store
            .meter_totals_by(org, by, current, Some(previous), &MeterFilter::default())
            .await
            .unwrap();
        let wide = store
            .meter_totals_by(
                org,
                by,
                current,
                Some(previous),
                &MeterFilter {
                    providers: Some(vec!["openai".to_owned()]),
                    models: None,
                },
            )
            .await
            .unwrap();
        out.push((narrow, wide));
    }
    out
}

fn figures(rows: &[AttributionTotals]) -> Vec<(Option<String>, Money, i64, Money, i64)> {
    rows.iter()
        .map(|r| {
            (
                r.value.clone(),
                r.current.totals.cost,
                r.current.totals.requests,
                r.previous.totals.cost,
                r.previous.totals.requests,
            )
        })
        .collect()
}

fn money(text: &str) -> Money {
    Money::parse_units(text).unwrap()
}

#[tokio::test]
async fn ingest_and_the_upgrade_give_the_same_totals_as_meter_day() {
    let test = TestStore::unmigrated().await.unwrap();
    let store = &test.store;
    store.migrate_through_for_tests(33).await.unwrap();
    let org = store.ensure_default_org(NOW).await.unwrap();
    store
        .ingest_events(org, None, NOW, &events())
        .await
        .unwrap();
    // Ingest wrote the kind; the two ways agree.
    for (narrow, wide) in both_ways(store, org).await {
        assert_eq!(narrow, wide);
    }
    let customers = &both_ways(store, org).await[0].0;
    assert_eq!(
        figures(customers),
        vec![
            (None, money("3.00"), 1, Money::ZERO, 0),
            (Some("acme".into()), money("2.25"), 3, money("1.00"), 1),
            (Some("beta".into()), money("0.75"), 1, money("0.50"), 1),
        ]
    );
    // The views' filters offer what was metered, from its first day.
    let facets = store.meter_facets(org).await.unwrap();
    assert_eq!(facets.providers, vec!["openai"]);
    assert_eq!(facets.models, vec!["gpt-4o", "gpt-4o-mini"]);
    assert_eq!(facets.first_day, Some("2026-11-15".parse::<Day>().unwrap()));
    // Before 34 nothing wrote the kind: take away what this build's ingest wrote, then
    // upgrade.
    store
        .execute_for_tests(
            "DELETE FROM rollup_cum WHERE series_id IN \
             (SELECT id FROM rollup_series WHERE kind = 'meter.attribution')",
        )
        .await
        .unwrap();
    store
        .execute_for_tests("DELETE FROM rollup_series WHERE kind = 'meter.attribution'")
        .await
        .unwrap();
    assert!(both_ways(store, org).await[0].0.is_empty());
    assert_eq!(store.migrate_through_for_tests(34).await.unwrap(), 1);
    for (narrow, wide) in both_ways(store, org).await {
        assert_eq!(narrow, wide);
    }
    let products = &both_ways(store, org).await[1].0;
    assert_eq!(
        figures(products),
        vec![
            (None, money("3.00"), 1, Money::ZERO, 0),
            (Some("chat".into()), money("3.00"), 4, money("1.50"), 2),
        ]
    );
    // Later ingest adds to the running totals the migration wrote, on a day before its last.
    store
        .ingest_events(
            org,
            None,
            NOW,
            &[event(
                "a5",
                18,
                "gpt-4o",
                r#", "customer": "acme""#,
                Some("0.10"),
            )],
        )
        .await
        .unwrap();
    let all = both_ways(store, org).await;
    for (narrow, wide) in &all {
        assert_eq!(narrow, wide);
    }
    assert_eq!(
        figures(&all[0].0)[1],
        (Some("acme".into()), money("2.35"), 4, money("1.00"), 1)
    );
    test.teardown().await;
}

/// The usage totals with no filter but the provider read `meter.provider` for whole days; they
/// must equal the per-customer series of `meter_day` added up, over whole and partial days.
#[tokio::test]
async fn usage_totals_by_provider_equal_the_sum_of_every_series() {
    use spendlens_store::{Metrics, UsageFilter};
    let test = TestStore::new().await.unwrap();
    let store = &test.store;
    let org = store.ensure_default_org(NOW).await.unwrap();
    store
        .ingest_events(org, None, NOW, &events())
        .await
        .unwrap();
    let day_hour = |day: i64| ("2026-11-01".parse::<Day>().unwrap().number() as i64 + day - 1) * 24;
    let ranges = [
        (None, None),
        (Some(day_hour(16)), Some(day_hour(20))),
        // Partial days at both ends (the events are at 09:00).
        (Some(day_hour(15) + 10), Some(day_hour(20) + 10)),
    ];
    for (from_hour, to_hour) in ranges {
        for provider in [
            None,
            Some("openai".to_owned()),
            Some("anthropic".to_owned()),
        ] {
            let filter = UsageFilter {
                provider,
                from_hour,
                to_hour,
                ..UsageFilter::default()
            };
            let sum = |rows: Vec<(spendlens_store::SeriesKey, Metrics)>| {
                rows.into_iter()
                    .fold(Metrics::default(), |a, (_, m)| a.plus(m))
            };
            let narrow = sum(store.usage_series(org, &filter, &[]).await.unwrap());
            let by_provider = sum(store.usage_series(org, &filter, &[0]).await.unwrap());
            let wide = sum(store.usage_series(org, &filter, &[3]).await.unwrap());
            assert_eq!(narrow, wide, "{filter:?}");
            assert_eq!(by_provider, wide, "{filter:?}");
        }
    }
    // Not vacuous: every call, and the partial range's share of them.
    let all = store
        .usage_series(org, &UsageFilter::default(), &[])
        .await
        .unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].1.totals.requests, 7);
    assert_eq!(all[0].1.totals.cost, money("7.50"));
    test.teardown().await;
}
