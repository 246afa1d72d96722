//! Unit tests of the views' row arithmetic, work in own units and sorting.

use std::cmp::Ordering;

use spendlens_domain::{Money, ProviderKind, Quantity, Unit};
use spendlens_store::{ApiKeyId, ApiKeyRow, ConnectionId, Prior, Totals};

use super::keys::unnamed_key;
use super::*;
use crate::work::WorkSum;

#[test]
fn cost_per_million_tokens_is_exact() {
    let cost = Money::parse_units("3").unwrap();
    assert_eq!(
        cost_per_million(cost, 2_000_000).unwrap().to_exact_string(),
        "1.50"
    );
    assert_eq!(cost_per_million(cost, 0), None);
}

#[test]
fn a_long_unnamed_key_reads_by_its_last_characters() {
    let at = time::macros::datetime!(2026-11-01 00:00 UTC);
    let mut key = ApiKeyRow {
        id: ApiKeyId(1),
        connection_id: ConnectionId(1),
        provider: ProviderKind::LiteLlm,
        provider_id: "8f4e".repeat(15) + "abcd",
        workspace_id: None,
        name: None,
        hint: None,
        status: "unlisted".to_owned(),
        created_at: None,
        last_used_at: None,
        first_seen_at: at,
        last_seen_at: at,
    };
    let provider = ProviderKind::LiteLlm;
    let name = unnamed_key(provider, &key);
    assert_eq!(
        name,
        format!("unlisted {} key …8f4eabcd", provider.display_name())
    );
    key.provider_id = "key_short".to_owned();
    assert_eq!(unnamed_key(provider, &key), "key_short");
}

/// A row's metrics from its lines of one provider, each `(unit, lines, requests, quantity)`.
fn worked(provider: ProviderKind, lines: &[(&str, i64, i64, i64)]) -> Metrics {
    let mut totals = Totals::default();
    let mut work = WorkSum::default();
    for (unit, count, requests, whole) in lines {
        let line = Totals {
            lines: *count,
            requests: *requests,
            requests_unknown: if provider.reports_request_counts() {
                0
            } else {
                *count
            },
            quantity: Quantity::from_whole(*whole),
            cost: Money::from_nanos(1_000),
            ..Totals::default()
        };
        totals.add(&line);
        work.add(provider, &Unit::parse(unit).unwrap(), &line);
    }
    Metrics::new(&totals, Prior::default()).with_work(Some(work), &[provider])
}

#[test]
fn an_idle_row_of_a_provider_without_request_counts_has_unknown_work_not_zero() {
    for provider in [
        ProviderKind::Anthropic,
        ProviderKind::Bedrock,
        ProviderKind::Vertex,
        ProviderKind::AzureOpenAi,
        ProviderKind::Fal,
        ProviderKind::Runway,
    ] {
        let idle = worked(provider, &[]);
        assert_eq!((idle.requests, &idle.usage), (None, &None), "{provider:?}");
    }
    // Providers that count requests counted none.
    let idle = worked(ProviderKind::OpenAi, &[]);
    assert_eq!((idle.requests, idle.usage), (Some(0), Some(Vec::new())));
    // Work in its own units is known.
    let fal = worked(ProviderKind::Fal, &[("images", 2, 0, 5)]);
    assert_eq!(fal.requests, None);
    assert_eq!(crate::work::text(fal.usage.as_deref()), "5 images");
}

#[test]
fn idle_rows_add_nothing_to_the_total_work_and_unknown_work_makes_it_unknown() {
    let fal = worked(ProviderKind::Fal, &[("images", 2, 0, 5)]);
    let runway = worked(ProviderKind::Runway, &[("credits", 1, 0, 30)]);
    let idle_fal = worked(ProviderKind::Fal, &[]);
    let openai = worked(ProviderKind::OpenAi, &[("tokens", 3, 7, 0)]);
    let anthropic = worked(ProviderKind::Anthropic, &[("tokens", 1, 0, 0)]);
    let total = |rows: &[&Metrics]| crate::work::text(sum_usage(rows.iter().copied()).as_deref());
    assert!(idle_fal.idle_without_count() && !fal.idle_without_count());
    assert_eq!(total(&[&fal, &idle_fal, &runway]), "30 credits; 5 images");
    assert_eq!(total(&[&openai, &fal, &idle_fal]), "7 requests; 5 images");
    assert_eq!(total(&[&openai, &anthropic, &idle_fal]), "N/A");
    assert_eq!(total(&[&idle_fal]), "0");
}

struct Sorted(Metrics);

impl crate::table::Row for Sorted {
    fn metrics(&self) -> &Metrics {
        &self.0
    }
}

#[test]
fn requests_sort_counts_first_then_own_units_by_unit_and_unknown_last() {
    let rows = || {
        vec![
            Sorted(worked(ProviderKind::Fal, &[("images", 1, 0, 3)])),
            Sorted(worked(ProviderKind::Anthropic, &[("tokens", 4, 0, 0)])),
            Sorted(worked(ProviderKind::OpenAi, &[("tokens", 2, 5, 0)])),
            Sorted(worked(ProviderKind::Runway, &[("credits", 1, 0, 100)])),
            Sorted(worked(ProviderKind::Fal, &[("images", 1, 0, 10)])),
            Sorted(worked(ProviderKind::OpenAi, &[("tokens", 3, 50, 0)])),
            Sorted(worked(ProviderKind::OpenAi, &[])),
        ]
    };
    let texts = |rows: &[Sorted]| -> Vec<String> {
        rows.iter()
            .map(|r| crate::work::text(r.0.usage.as_deref()))
            .collect()
    };
    let mut descending = rows();
    finish_sort(&mut descending, "requests", true, |_, _| Ordering::Equal);
    assert_eq!(
        texts(&descending),
        [
            "50",
            "5",
            "0",
            "100 credits",
            "10 images",
            "3 images",
            "N/A"
        ]
    );
    let mut ascending = rows();
    finish_sort(&mut ascending, "requests", false, |_, _| Ordering::Equal);
    assert_eq!(
        texts(&ascending),
        [
            "0",
            "5",
            "50",
            "100 credits",
            "3 images",
            "10 images",
            "N/A"
        ]
    );
}

#[test]
fn shares_round_to_a_tenth_of_a_percent() {
    let third = percent(Money::from_nanos(1), Money::from_nanos(3)).unwrap();
    assert_eq!(third.to_string(), "33.3");
    assert_eq!(percent(Money::ZERO, Money::ZERO), None);
}
