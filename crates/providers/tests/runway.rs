//! The Runway connector against the local fake of Runway's developer API (spendlens-fakes).

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "test helpers, like tests, stop loudly (clippy only exempts #[test] functions)"
)]

use crate::common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::{canned, config, date, nanos_of_dollars, range};
use spendlens_domain::{
    Category, Credential, DayRange, FetchedWindow, Money, ProviderKind, Quantity, Unit,
};
use spendlens_fakes::runway::{RunningRunwayFake, RunwayFake};
use spendlens_fakes::{Fault, FaultRule};
use spendlens_providers::{CallStats, ProviderError, check_connection, fetch_window};

/// The fake's 120 days of data (2025-10-04 to 2026-01-31): two usage requests (90 + 30 days).
fn all_days() -> DayRange {
    range("2025-10-04", "2026-01-31")
}

async fn spawn() -> RunningRunwayFake {
    RunwayFake::builder().seed(5).build().spawn().await.unwrap()
}

fn credential(fake: &RunningRunwayFake) -> Credential {
    Credential::parse(ProviderKind::Runway, fake.admin_key()).unwrap()
}

async fn fetch(
    fake: &RunningRunwayFake,
    window: DayRange,
) -> (Result<FetchedWindow, ProviderError>, CallStats) {
    let stats = CallStats::new();
    let result = fetch_window(&credential(fake), &config(fake.base_url()), window, &stats).await;
    (result, stats)
}

#[tokio::test]
async fn net_credits_become_dollars_equal_to_the_fake_s_to_the_nano_dollar() {
    let fake = spawn().await;
    let window = all_days();
    let (result, stats) = fetch(&fake, window).await;
    let fetched = result.unwrap();
    let truth = fake.truth();
    let (from, to) = (date(window.from()), date(window.to()));

    let total: i64 = fetched.costs.iter().map(|c| c.cost.nanos()).sum();
    assert_eq!(total, nanos_of_dollars(&truth.total_usd(from, to)));

    let mine: BTreeMap<(time::Date, String), i64> = fetched
        .costs
        .iter()
        .map(|c| ((c.day.date(), c.model.clone().unwrap()), c.cost.nanos()))
        .collect();
    let expected: BTreeMap<(time::Date, String), i64> = truth
        .usd_by_day_model(from, to)
        .into_iter()
        .map(|(cell, dollars)| (cell, nanos_of_dollars(&dollars)))
        .filter(|(_, nanos)| *nanos != 0)
        .collect();
    assert_eq!(mine, expected);

    // Usage carries the same credits as a quantity, with no key and unknown requests.
    let credits: BTreeMap<(time::Date, String), i64> = fetched
        .usage
        .iter()
        .map(|u| {
            assert_eq!(u.unit, Unit::credits());
            assert_eq!(u.api_key_id, None);
            assert_eq!(u.requests, None);
            assert_eq!(u.workspace_id.as_deref(), Some("organization"));
            assert!(u.tokens.is_zero());
            (
                (u.day.date(), u.model.clone()),
                u.quantity.micros() / 1_000_000,
            )
        })
        .collect();
    let expected_credits: BTreeMap<(time::Date, String), i64> = truth
        .credits_by_day_model(from, to)
        .into_iter()
        .filter(|(_, c)| *c != 0)
        .collect();
    assert_eq!(credits, expected_credits);
    for cost in &fetched.costs {
        assert_eq!(cost.api_key_id, None);
        assert_eq!(cost.currency.as_str(), "USD");
        assert_eq!(cost.credits, Money::ZERO);
        assert!(!cost.estimated);
    }
    // One organization call plus two usage requests, no retries.
    assert_eq!(stats.snapshot().http_calls, 3);
    assert_eq!(stats.snapshot().retries, 0);
}

#[tokio::test]
async fn a_window_longer_than_90_days_is_asked_for_in_90_day_pieces() {
    let fake = spawn().await;
    fetch(&fake, all_days()).await.0.unwrap();
    let bodies: Vec<serde_json::Value> = fake
        .log()
        .requests_to("/v1/organization/usage")
        .iter()
        .map(|r| serde_json::from_str(&r.body).unwrap())
        .collect();
    assert_eq!(
        bodies,
        vec![
            serde_json::json!({"startDate": "2025-10-04", "beforeDate": "2026-01-02"}),
            serde_json::json!({"startDate": "2026-01-02", "beforeDate": "2026-02-01"}),
        ]
    );
}

#[tokio::test]
async fn refund_days_keep_their_negative_net() {
    let fake = spawn().await;
    let window = all_days();
    let fetched = fetch(&fake, window).await.0.unwrap();
    let negative = fake
        .truth()
        .negative_cells(date(window.from()), date(window.to()));
    assert!(!negative.is_empty());
    for (day, model, credits) in negative {
        let cost = fetched
            .costs
            .iter()
            .find(|c| c.day.date() == day && c.model.as_deref() == Some(model.as_str()))
            .unwrap();
        assert_eq!(cost.cost.nanos(), credits * 10_000_000, "{model} on {day}");
        assert!(cost.cost.is_negative());
        let usage = fetched
            .usage
            .iter()
            .find(|u| u.day.date() == day && u.model == model)
            .unwrap();
        assert_eq!(usage.quantity, Quantity::from_whole(credits));
    }
}

#[tokio::test]
async fn categories_follow_the_model_names_and_the_workspace_is_the_organization() {
    let fake = spawn().await;
    let fetched = fetch(&fake, range("2026-01-01", "2026-01-31"))
        .await
        .0
        .unwrap();
    let category = |model: &str| {
        fetched
            .usage
            .iter()
            .find(|u| u.model == model)
            .map(|u| u.category)
    };
    assert_eq!(category("gen4_image"), Some(Category::Image));
    assert_eq!(category("gen4_turbo"), Some(Category::Video));
    assert_eq!(category("veo3.1"), Some(Category::Video));
    assert_eq!(category("eleven_multilingual_v2"), Some(Category::Audio));
    assert_eq!(fetched.workspaces.len(), 1);
    assert_eq!(fetched.workspaces[0].provider_id, "organization");
    assert_eq!(fetched.workspaces[0].name, "Runway organization");
    assert!(fetched.api_keys.is_empty());
}

#[tokio::test]
async fn the_balance_and_the_missing_per_key_data_are_explained_in_notes() {
    let fake = spawn().await;
    let fetched = fetch(&fake, range("2026-01-01", "2026-01-31"))
        .await
        .0
        .unwrap();
    let balance = fake.truth().credit_balance();
    let dollars = Money::from_nanos(balance * 10_000_000).to_exact_string();
    assert!(
        fetched.notes[0].starts_with(&format!(
            "Runway credit balance at sync time: {balance} credits (${dollars})"
        )),
        "{:?}",
        fetched.notes
    );
    assert!(
        fetched.notes.iter().any(|n| n.contains("not per API key")),
        "{:?}",
        fetched.notes
    );

    // Without creditBalance the balance note is left out; the sync still works.
    fake.faults()
        .add(FaultRule::new(Fault::MissingField).on_path("/v1/organization"));
    let fetched = fetch(&fake, range("2026-01-01", "2026-01-31"))
        .await
        .0
        .unwrap();
    assert!(!fetched.notes[0].contains("balance"), "{:?}", fetched.notes);
}

#[tokio::test]
async fn fetching_the_same_window_twice_gives_the_same_records() {
    let fake = spawn().await;
    let first = fetch(&fake, all_days()).await.0.unwrap();
    let second = fetch(&fake, all_days()).await.0.unwrap();
    assert_eq!(first.workspaces, second.workspaces);
    assert_eq!(first.usage, second.usage);
    assert_eq!(first.costs, second.costs);
    assert_eq!(first.notes, second.notes);
}

#[tokio::test]
async fn a_revoked_key_is_rejected_with_what_to_do() {
    let fake = spawn().await;
    fake.set_revoked(true);
    let (result, stats) = fetch(&fake, all_days()).await;
    let err = result.unwrap_err();
    assert!(err.is_credential_rejected(), "{err:?}");
    let message = err.to_string();
    assert!(
        message.starts_with(
            "Runway rejected the key on /v1/organization (HTTP 401: Invalid API key. Check that the key is correct and has not been disabled.)"
        ),
        "{message}"
    );
    assert!(message.contains("https://dev.runwayml.com"), "{message}");
    assert!(!message.contains(fake.admin_key()), "{message}");
    assert_eq!(stats.snapshot().http_calls, 1);
}

#[tokio::test]
async fn a_key_of_another_shape_is_refused_before_any_call() {
    let err = Credential::parse(ProviderKind::Runway, "rw_0123456789abcdef").unwrap_err();
    assert!(err.to_string().contains("starts with key_"), "{err}");
}

#[tokio::test]
async fn a_few_rate_limits_are_waited_out_and_a_storm_is_reported() {
    let fake = spawn().await;
    fake.faults().add(
        FaultRule::new(Fault::RateLimited {
            retry_after_secs: 1,
        })
        .on_path("/usage")
        .times(2),
    );
    let (result, stats) = fetch(&fake, all_days()).await;
    result.unwrap();
    assert_eq!(stats.snapshot().retries, 2);

    fake.faults().add(
        FaultRule::new(Fault::RateLimited {
            retry_after_secs: 1,
        })
        .on_path("/usage")
        .times(u32::MAX),
    );
    let (result, stats) = fetch(&fake, all_days()).await;
    let err = result.unwrap_err();
    assert!(matches!(err, ProviderError::RateLimited { .. }), "{err:?}");
    assert!(err.is_retryable_later());
    assert_eq!(
        err.to_string(),
        "Runway kept rate-limiting (HTTP 429) on /v1/organization/usage (page 1) after 6 retries; try again later"
    );
    assert_eq!(stats.snapshot().retries, 6);
}

#[tokio::test]
async fn a_server_error_on_the_second_request_fails_the_whole_window() {
    let fake = spawn().await;
    // The first usage request is answered normally, every later one fails.
    fake.faults().add(
        FaultRule::new(Fault::Delay(Duration::ZERO))
            .on_path("/usage")
            .times(1),
    );
    fake.faults().add(
        FaultRule::new(Fault::ServerError(500))
            .on_path("/usage")
            .times(u32::MAX),
    );
    let err = fetch(&fake, all_days()).await.0.unwrap_err();
    assert!(err.is_retryable_later());
    assert!(
        err.to_string().starts_with(
            "Runway kept failing with HTTP 500 on /v1/organization/usage (page 2) after 6 retries (An internal error occurred.)"
        ),
        "{err}"
    );
}

#[tokio::test]
async fn truncated_malformed_and_amountless_answers_are_told_apart() {
    let fake = spawn().await;
    fake.faults()
        .add(FaultRule::new(Fault::Truncated).on_path("/usage"));
    let err = fetch(&fake, all_days()).await.0.unwrap_err();
    assert!(
        matches!(err, ProviderError::TruncatedPage { page: 1, .. }),
        "{err:?}"
    );

    fake.faults()
        .add(FaultRule::new(Fault::Malformed).on_path("/usage"));
    let err = fetch(&fake, all_days()).await.0.unwrap_err();
    assert!(
        matches!(err, ProviderError::InvalidJson { page: 1, .. }),
        "{err:?}"
    );

    fake.faults()
        .add(FaultRule::new(Fault::MissingField).on_path("/usage"));
    let err = fetch(&fake, all_days()).await.0.unwrap_err();
    assert!(
        matches!(err, ProviderError::UnexpectedPage { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("have no amount"), "{err}");
}

#[tokio::test]
async fn the_connection_check_makes_one_call_and_shows_the_balance() {
    let fake = spawn().await;
    let stats = CallStats::new();
    let check = check_connection(&credential(&fake), &config(fake.base_url()), &stats)
        .await
        .unwrap();
    let balance = fake.truth().credit_balance();
    assert!(
        check.summary.starts_with(&format!(
            "Runway organization reachable: {balance} credits ($"
        )),
        "{}",
        check.summary
    );
    assert_eq!(stats.snapshot().http_calls, 1);
}

const ORGANIZATION: &str = r#"{"tier":{"maxMonthlyCreditSpend":10000,"models":{}},"creditBalance":5000,"usage":{"models":{}},"brandNew":true}"#;

fn canned_key() -> Credential {
    Credential::parse(
        ProviderKind::Runway,
        "key_0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
    )
    .unwrap()
}

#[tokio::test]
async fn unknown_models_fractional_credits_and_new_fields_are_carried_through() {
    let usage = r#"{"results":[{"date":"2026-01-30","usedCredits":[
            {"model":"gen9_hyper","amount":12,"apiKeyId":null,"extra":{"x":1}},
            {"model":"gen9_hyper","amount":0.5},
            {"model":"aleph","amount":-7}],"newField":[1,2]}],
        "models":["gen9_hyper","aleph"],"apiKeys":["k1"],"resultsByApiKey":[{"date":"2026-01-30","usedCredits":[{"amount":5,"apiKeyId":"k1"}]}]}"#;
    let server = canned(
        &[
            ("/v1/organization", 200, ORGANIZATION),
            ("/v1/organization/usage", 200, usage),
        ],
        (404, r#"{"error":"Not found"}"#),
        "",
    )
    .await;
    let stats = CallStats::new();
    let fetched = fetch_window(
        &canned_key(),
        &config(&server.base_url),
        range("2026-01-30", "2026-01-31"),
        &stats,
    )
    .await
    .unwrap();
    let costs: Vec<(String, i64)> = fetched
        .costs
        .iter()
        .map(|c| (c.model.clone().unwrap(), c.cost.nanos()))
        .collect();
    assert_eq!(
        costs,
        [
            ("aleph".to_owned(), -70_000_000),
            ("gen9_hyper".to_owned(), 125_000_000)
        ]
    );
    assert_eq!(fetched.usage[1].quantity, Quantity::from_micros(12_500_000));
    assert_eq!(fetched.usage[1].category, Category::Video);
    assert!(fetched.notes[0].contains("5000 credits ($50.00)"));
    assert!(fetched.notes[0].contains("10000 credits ($100.00) a month"));
}

#[tokio::test]
async fn a_day_sent_twice_stops_the_fetch() {
    let usage = r#"{"results":[
        {"date":"2026-01-30","usedCredits":[{"model":"gen4_turbo","amount":12}]},
        {"date":"2026-01-30","usedCredits":[{"model":"gen4_turbo","amount":12}]}],"models":["gen4_turbo"]}"#;
    let server = canned(
        &[
            ("/v1/organization", 200, ORGANIZATION),
            ("/v1/organization/usage", 200, usage),
        ],
        (404, r#"{"error":"Not found"}"#),
        "",
    )
    .await;
    let err = fetch_window(
        &canned_key(),
        &config(&server.base_url),
        range("2026-01-30", "2026-01-31"),
        &CallStats::new(),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err, ProviderError::DuplicateBucket { .. }),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .starts_with("Runway sent the day 2026-01-30 twice on /v1/organization/usage (page 1)"),
        "{err}"
    );
}
