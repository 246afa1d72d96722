//! The OpenRouter connector against the local fake of OpenRouter's management API
//! (spendlens-fakes).

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "test helpers, like tests, stop loudly (clippy only exempts #[test] functions)"
)]

use crate::common;

use std::collections::{BTreeMap, HashSet};

use common::{canned, config, nanos_of_dollars, range};
use spendlens_domain::{
    Category, Credential, DayRange, FetchedWindow, KeyStatus, Money, ProviderKind, Unit,
};
use spendlens_fakes::openrouter::{OpenRouterFake, RunningOpenRouterFake};
use spendlens_fakes::{Fault, FaultRule};
use spendlens_providers::{CallStats, ProviderError, check_connection, fetch_window};
use time::Date;

async fn spawn() -> RunningOpenRouterFake {
    OpenRouterFake::builder()
        .seed(3)
        .build()
        .spawn()
        .await
        .unwrap()
}

/// The 30 completed days `/activity` serves (2026-01-01 to 2026-01-30).
fn served(fake: &RunningOpenRouterFake) -> DayRange {
    let (from, to) = fake.truth().activity_window();
    DayRange::new(from.into_day(), to.into_day()).unwrap()
}

trait IntoDay {
    fn into_day(self) -> spendlens_domain::Day;
}

impl IntoDay for Date {
    fn into_day(self) -> spendlens_domain::Day {
        spendlens_domain::Day::from_date(self)
    }
}

fn management(fake: &RunningOpenRouterFake) -> Credential {
    Credential::parse(ProviderKind::OpenRouter, fake.management_key()).unwrap()
}

async fn fetch_with(
    fake: &RunningOpenRouterFake,
    credential: &Credential,
    window: DayRange,
) -> (Result<FetchedWindow, ProviderError>, CallStats) {
    let stats = CallStats::new();
    let result = fetch_window(credential, &config(fake.base_url()), window, &stats).await;
    (result, stats)
}

async fn fetch(
    fake: &RunningOpenRouterFake,
    window: DayRange,
) -> (Result<FetchedWindow, ProviderError>, CallStats) {
    fetch_with(fake, &management(fake), window).await
}

fn deleted_keys(fake: &RunningOpenRouterFake) -> HashSet<String> {
    fake.truth()
        .keys()
        .into_iter()
        .filter(|k| k.deleted)
        .map(|k| k.hash)
        .collect()
}

#[tokio::test]
async fn spend_per_workspace_model_and_key_equals_the_fake_s_to_the_nano_dollar() {
    let fake = spawn().await;
    let window = served(&fake);
    let (result, stats) = fetch(&fake, window).await;
    let fetched = result.unwrap();
    let truth = fake.truth();
    let (from, to) = (window.from().date(), window.to().date());

    let total: i64 = fetched.costs.iter().map(|c| c.cost.nanos()).sum();
    assert_eq!(total as u64, truth.total_usage_nanos(from, to));

    let mut by_workspace: BTreeMap<(Date, String, String), i64> = BTreeMap::new();
    let mut by_key: BTreeMap<(Date, String, String), i64> = BTreeMap::new();
    for cost in &fetched.costs {
        assert_eq!(cost.currency.as_str(), "USD");
        assert!(!cost.estimated);
        let model = cost.model.clone().unwrap();
        *by_workspace
            .entry((
                cost.day.date(),
                cost.workspace_id.clone().unwrap(),
                model.clone(),
            ))
            .or_default() += cost.cost.nanos();
        if let Some(key) = &cost.api_key_id {
            *by_key
                .entry((cost.day.date(), key.clone(), model))
                .or_default() += cost.cost.nanos();
        }
    }
    let expected: BTreeMap<(Date, String, String), i64> = truth
        .usage_usd_by_day_workspace_model(from, to)
        .into_iter()
        .map(|(cell, dollars)| (cell, nanos_of_dollars(&dollars)))
        .collect();
    assert_eq!(by_workspace, expected);
    let deleted = deleted_keys(&fake);
    let expected_by_key: BTreeMap<(Date, String, String), i64> = truth
        .usage_usd_by_day_key_model(from, to)
        .into_iter()
        .filter(|((_, key, _), _)| !deleted.contains(key))
        .map(|(cell, dollars)| (cell, nanos_of_dollars(&dollars)))
        .collect();
    assert_eq!(by_key, expected_by_key);

    // Requests and tokens come through; every line is tokens with known requests.
    let requests: i64 = fetched.usage.iter().map(|u| u.requests.unwrap()).sum();
    assert_eq!(requests as u64, truth.total_requests(from, to));
    let lines = truth.lines(from, to);
    let prompt: u64 = lines.iter().map(|l| l.prompt_tokens).sum();
    let completion: u64 = lines.iter().map(|l| l.completion_tokens).sum();
    let cached: u64 = lines.iter().map(|l| l.cached_tokens).sum();
    assert_eq!(
        fetched.usage.iter().map(|u| u.tokens.input).sum::<i64>() as u64,
        prompt
    );
    assert_eq!(
        fetched.usage.iter().map(|u| u.tokens.output).sum::<i64>() as u64,
        completion
    );
    assert_eq!(
        fetched
            .usage
            .iter()
            .map(|u| u.tokens.cache_read)
            .sum::<i64>() as u64,
        cached
    );
    for record in &fetched.usage {
        assert_eq!(record.unit, Unit::tokens());
        assert_eq!(record.category, Category::Text);
    }
    assert_eq!(stats.snapshot().retries, 0);
}

#[tokio::test]
async fn workspaces_and_keys_of_every_workspace_are_listed_over_several_pages() {
    let fake = spawn().await;
    let fetched = fetch(&fake, served(&fake)).await.0.unwrap();
    let truth = fake.truth();

    let workspaces: Vec<(String, String)> = fetched
        .workspaces
        .iter()
        .map(|w| (w.provider_id.clone(), w.name.clone()))
        .collect();
    let expected: Vec<(String, String)> = truth
        .workspaces()
        .into_iter()
        .map(|w| (w.id, w.name))
        .collect();
    assert_eq!(workspaces, expected);

    let mut keys: Vec<(String, Option<String>, KeyStatus)> = fetched
        .api_keys
        .iter()
        .map(|k| (k.provider_id.clone(), k.workspace_id.clone(), k.status))
        .collect();
    keys.sort_by(|a, b| a.0.cmp(&b.0));
    let mut expected: Vec<(String, Option<String>, KeyStatus)> = truth
        .keys()
        .into_iter()
        .filter(|k| !k.deleted)
        .map(|k| {
            let status = if k.disabled {
                KeyStatus::Inactive
            } else {
                KeyStatus::Active
            };
            (k.hash, Some(k.workspace_id), status)
        })
        .collect();
    expected.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(keys, expected);
    assert!(fetched.api_keys.iter().all(|k| k.name.is_some()));
    assert!(fetched.api_keys.iter().all(|k| {
        k.hint
            .as_deref()
            .is_some_and(|h| h.starts_with("sk-or-v1-"))
    }));

    // The default workspace's keys take two pages of 100; every workspace is asked for.
    let log = fake.log().requests_to("/api/v1/keys");
    assert!(
        log.iter()
            .any(|r| r.param("offset").as_deref() == Some("100"))
    );
    for workspace in truth.workspaces() {
        assert!(
            log.iter()
                .any(|r| r.param("workspace_id").as_deref() == Some(workspace.id.as_str()))
        );
    }
    assert!(
        log.iter()
            .all(|r| r.param("include_disabled").as_deref() == Some("true"))
    );
    let activity = fake.log().requests_to("/api/v1/activity");
    assert_eq!(activity[0].param("group_by").as_deref(), Some("workspace"));
}

#[tokio::test]
async fn spend_of_a_deleted_key_stays_on_a_line_without_a_key() {
    // 40 days of data: the deleted key was used inside the 30 served days.
    let fake = OpenRouterFake::builder()
        .seed(3)
        .days(40)
        .build()
        .spawn()
        .await
        .unwrap();
    let window = served(&fake);
    let fetched = fetch(&fake, window).await.0.unwrap();
    let truth = fake.truth();
    let (from, to) = (window.from().date(), window.to().date());
    let deleted = deleted_keys(&fake);
    let expected: i64 = truth
        .usage_usd_by_day_key_model(from, to)
        .into_iter()
        .filter(|((_, key, _), _)| deleted.contains(key))
        .map(|(_, dollars)| nanos_of_dollars(&dollars))
        .sum();
    assert!(expected > 0);
    let keyless: i64 = fetched
        .costs
        .iter()
        .filter(|c| c.api_key_id.is_none())
        .map(|c| c.cost.nanos())
        .sum();
    assert_eq!(keyless, expected);
    let total: i64 = fetched.costs.iter().map(|c| c.cost.nanos()).sum();
    assert_eq!(total as u64, truth.total_usage_nanos(from, to));
    let note = fetched
        .notes
        .iter()
        .find(|n| n.contains("belongs to no listed API key"))
        .unwrap();
    assert!(
        note.starts_with(&format!("${}", Money::from_nanos(expected))),
        "{note}"
    );
}

#[tokio::test]
async fn byok_inference_is_left_out_and_explained() {
    let fake = spawn().await;
    let window = served(&fake);
    let fetched = fetch(&fake, window).await.0.unwrap();
    let byok: i64 = fake
        .truth()
        .byok_usd_by_day_model(window.from().date(), window.to().date())
        .values()
        .map(|d| nanos_of_dollars(d))
        .sum();
    assert!(byok > 0);
    let note = fetched
        .notes
        .iter()
        .find(|n| n.starts_with("BYOK inference"))
        .unwrap();
    assert!(
        note.contains(&format!("${} in this window", Money::from_nanos(byok))),
        "{note}"
    );
}

#[tokio::test]
async fn a_window_beyond_the_30_served_days_is_clamped_and_explained() {
    let fake = spawn().await;
    let window = range("2025-11-01", "2026-01-31");
    let fetched = fetch(&fake, window).await.0.unwrap();
    let served = served(&fake);
    assert!(fetched.usage.iter().all(|u| served.contains(u.day)));
    let note = fetched
        .notes
        .iter()
        .find(|n| n.contains("last 30 completed UTC days"))
        .unwrap();
    assert!(
        note.contains("returned days 2026-01-01 to 2026-01-30"),
        "{note}"
    );
    // Inside the served days: no such note.
    let fetched = fetch(&fake, served).await.0.unwrap();
    assert!(
        !fetched
            .notes
            .iter()
            .any(|n| n.contains("last 30 completed UTC days")),
        "{:?}",
        fetched.notes
    );
}

#[tokio::test]
async fn the_balance_is_a_note_and_a_missing_total_only_drops_it() {
    let fake = spawn().await;
    let fetched = fetch(&fake, served(&fake)).await.0.unwrap();
    let truth = fake.truth();
    let bought = Money::parse_units(&truth.total_credits_usd()).unwrap();
    let used = Money::parse_units(&truth.lifetime_usage_usd()).unwrap();
    assert_eq!(
        fetched.notes[0],
        format!(
            "OpenRouter credit balance at sync time: ${} (${} bought, ${} used).",
            bought - used,
            bought,
            used
        )
    );
    fake.faults()
        .add(FaultRule::new(Fault::MissingField).on_path("/credits"));
    let fetched = fetch(&fake, served(&fake)).await.0.unwrap();
    assert!(!fetched.notes.iter().any(|n| n.contains("balance")));
    assert!(!fetched.costs.is_empty());
}

#[tokio::test]
async fn fetching_the_same_window_twice_gives_the_same_records() {
    let fake = spawn().await;
    let first = fetch(&fake, served(&fake)).await.0.unwrap();
    let second = fetch(&fake, served(&fake)).await.0.unwrap();
    assert_eq!(first.workspaces, second.workspaces);
    assert_eq!(first.api_keys, second.api_keys);
    assert_eq!(first.usage, second.usage);
    assert_eq!(first.costs, second.costs);
    assert_eq!(first.notes, second.notes);
}

#[tokio::test]
async fn a_regular_key_stores_nothing_and_says_what_a_management_key_would_show() {
    let fake = spawn().await;
    let regular = Credential::parse(ProviderKind::OpenRouter, fake.regular_key()).unwrap();
    let (result, stats) = fetch_with(&fake, &regular, served(&fake)).await;
    let fetched = result.unwrap();
    assert!(fetched.usage.is_empty());
    assert!(fetched.costs.is_empty());
    assert_eq!(stats.snapshot().http_calls, 1);
    let usage = fake
        .truth()
        .key_usage(fake.truth().regular_key_hash())
        .unwrap();
    let note = &fetched.notes[0];
    assert!(note.starts_with("This key (sk-or-v1-"), "{note}");
    assert!(
        note.contains("is a regular OpenRouter API key, not a management key"),
        "{note}"
    );
    let today = Money::parse_units(&usage.usage_daily).unwrap();
    let month = Money::parse_units(&usage.usage_monthly).unwrap();
    assert!(note.contains(&format!("today ${today}")), "{note}");
    assert!(note.contains(&format!("this month ${month}")), "{note}");
    assert!(note.contains("nothing was stored"), "{note}");
    assert!(
        note.contains("https://openrouter.ai/settings/management-keys"),
        "{note}"
    );
    // The key's workspace is still named.
    assert_eq!(
        fetched.workspaces[0].provider_id,
        fake.truth().workspaces()[0].id
    );

    // A regular key pasted as the provisioning key is named as such.
    let json = format!(
        r#"{{"apiKey": "{}", "provisioningKey": "{}"}}"#,
        fake.regular_key(),
        fake.regular_key()
    );
    let both = Credential::parse(ProviderKind::OpenRouter, &json).unwrap();
    let fetched = fetch_with(&fake, &both, served(&fake)).await.0.unwrap();
    assert!(
        fetched.notes[0].starts_with("The \"provisioningKey\" of this connection (sk-or-v1-"),
        "{}",
        fetched.notes[0]
    );

    let check = check_connection(&regular, &config(fake.base_url()), &CallStats::new())
        .await
        .unwrap();
    assert!(
        check.summary.contains("regular API key"),
        "{}",
        check.summary
    );
}

#[tokio::test]
async fn a_management_endpoint_refusing_the_key_says_a_management_key_is_needed() {
    // A key that claims to be a management key but is refused on /credits.
    let server = canned(
        &[(
            "/api/v1/key",
            200,
            r#"{"data":{"label":"sk-or-v1-abc...123","is_management_key":true}}"#,
        )],
        (
            403,
            r#"{"error":{"code":403,"message":"Only management keys can perform this operation"}}"#,
        ),
        "/api/v1",
    )
    .await;
    let credential =
        Credential::parse(ProviderKind::OpenRouter, "sk-or-v1-0123456789abcdef0123").unwrap();
    let err = fetch_window(
        &credential,
        &config(&server.base_url),
        range("2026-01-01", "2026-01-30"),
        &CallStats::new(),
    )
    .await
    .unwrap_err();
    assert!(err.is_credential_rejected());
    assert_eq!(
        err.to_string(),
        "OpenRouter rejected the key on /credits (HTTP 403: Only management keys can perform this operation). \
         This is a regular OpenRouter API key; spend history needs a management key. Create one at \
         https://openrouter.ai/settings/management-keys and update the connection with it (alone, or as \
         {\"apiKey\": \"sk-or-v1-…\", \"provisioningKey\": \"<management key>\"})."
    );
}

#[tokio::test]
async fn a_revoked_key_is_rejected_with_what_to_do() {
    let fake = spawn().await;
    fake.set_revoked(true);
    let (result, stats) = fetch(&fake, served(&fake)).await;
    let err = result.unwrap_err();
    assert!(err.is_credential_rejected(), "{err:?}");
    let message = err.to_string();
    assert!(
        message.starts_with("OpenRouter rejected the key on /key (HTTP 401: User not found.)"),
        "{message}"
    );
    assert!(message.contains("management-keys"), "{message}");
    assert!(!message.contains(fake.management_key()), "{message}");
    assert_eq!(stats.snapshot().http_calls, 1);
}

#[tokio::test]
async fn a_few_rate_limits_are_waited_out_and_a_storm_is_reported() {
    let fake = spawn().await;
    fake.faults().add(
        FaultRule::new(Fault::RateLimited {
            retry_after_secs: 1,
        })
        .on_path("/activity")
        .times(3),
    );
    let (result, stats) = fetch(&fake, served(&fake)).await;
    result.unwrap();
    assert_eq!(stats.snapshot().retries, 3);

    fake.faults().add(
        FaultRule::new(Fault::RateLimited {
            retry_after_secs: 1,
        })
        .on_path("/workspaces")
        .times(u32::MAX),
    );
    let err = fetch(&fake, served(&fake)).await.0.unwrap_err();
    assert_eq!(
        err.to_string(),
        "OpenRouter kept rate-limiting (HTTP 429) on /workspaces (page 1) after 6 retries; try again later"
    );
}

#[tokio::test]
async fn a_server_error_on_a_later_key_page_fails_the_window() {
    let fake = spawn().await;
    fake.faults().add(
        FaultRule::new(Fault::ServerError(502))
            .on_path("/keys")
            .on_page(2)
            .times(u32::MAX),
    );
    let err = fetch(&fake, served(&fake)).await.0.unwrap_err();
    assert!(err.is_retryable_later());
    assert!(
        err.to_string().starts_with(
            "OpenRouter kept failing with HTTP 502 on /keys (page 2) after 6 retries (Internal Server Error)"
        ),
        "{err}"
    );
}

#[tokio::test]
async fn a_repeated_key_page_stops_the_fetch() {
    let fake = spawn().await;
    fake.faults().add(
        FaultRule::new(Fault::RepeatPage)
            .on_path("/keys")
            .on_page(2),
    );
    let err = fetch(&fake, served(&fake)).await.0.unwrap_err();
    assert!(
        matches!(err, ProviderError::RepeatedPage { page: 2, .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn truncated_malformed_and_incomplete_answers_are_told_apart() {
    let fake = spawn().await;
    fake.faults()
        .add(FaultRule::new(Fault::Truncated).on_path("/activity"));
    let err = fetch(&fake, served(&fake)).await.0.unwrap_err();
    assert!(
        matches!(err, ProviderError::TruncatedPage { .. }),
        "{err:?}"
    );

    fake.faults()
        .add(FaultRule::new(Fault::Malformed).on_path("/workspaces"));
    let err = fetch(&fake, served(&fake)).await.0.unwrap_err();
    assert!(
        matches!(err, ProviderError::InvalidJson { page: 1, .. }),
        "{err:?}"
    );

    fake.faults()
        .add(FaultRule::new(Fault::MissingField).on_path("/activity"));
    let err = fetch(&fake, served(&fake)).await.0.unwrap_err();
    assert!(err.to_string().contains("has no usage amount"), "{err}");

    fake.faults()
        .add(FaultRule::new(Fault::MissingField).on_path("/keys"));
    let err = fetch(&fake, served(&fake)).await.0.unwrap_err();
    assert!(
        matches!(err, ProviderError::UnexpectedPage { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("hash"), "{err}");
}

#[tokio::test]
async fn the_connection_check_makes_one_call() {
    let fake = spawn().await;
    let stats = CallStats::new();
    let check = check_connection(&management(&fake), &config(fake.base_url()), &stats)
        .await
        .unwrap();
    assert!(
        check
            .summary
            .starts_with("OpenRouter management key accepted"),
        "{}",
        check.summary
    );
    assert_eq!(stats.snapshot().http_calls, 1);
}

#[tokio::test]
async fn an_account_without_workspaces_unknown_models_and_new_fields_are_handled() {
    let activity = r#"{"data":[
        {"date":"2026-01-30","model":"newlab/omega-9","model_permaslug":"newlab/omega-9-2026","endpoint_id":"e1",
         "provider_name":"NewLab","usage":0.000000001,"byok_usage_inference":0,"requests":1,"prompt_tokens":3,
         "completion_tokens":4,"reasoning_tokens":0,"shiny_new_metric":{"a":1}},
        {"date":"2026-01-30","model":"openai/text-embedding-3-large","usage":1.5e-3,"requests":2,"prompt_tokens":10,"completion_tokens":0}]}"#;
    let server = canned(
        &[
            (
                "/api/v1/key",
                200,
                r#"{"data":{"label":"sk-or-v1-abc...123","is_provisioning_key":true,"budgets":[]}}"#,
            ),
            (
                "/api/v1/credits",
                200,
                r#"{"data":{"total_credits":10,"total_usage":2.5}}"#,
            ),
            ("/api/v1/keys", 200, r#"{"data":[]}"#),
            ("/api/v1/activity", 200, activity),
        ],
        (404, r#"{"error":{"code":404,"message":"Not Found"}}"#),
        "/api/v1",
    )
    .await;
    let credential =
        Credential::parse(ProviderKind::OpenRouter, "sk-or-v1-0123456789abcdef0123").unwrap();
    let fetched = fetch_window(
        &credential,
        &config(&server.base_url),
        range("2026-01-30", "2026-01-30"),
        &CallStats::new(),
    )
    .await
    .unwrap();
    assert_eq!(fetched.workspaces.len(), 1);
    assert_eq!(fetched.workspaces[0].provider_id, "account");
    assert_eq!(fetched.workspaces[0].name, "OpenRouter account");
    let costs: Vec<(String, i64, Option<String>)> = fetched
        .costs
        .iter()
        .map(|c| {
            (
                c.model.clone().unwrap(),
                c.cost.nanos(),
                c.workspace_id.clone(),
            )
        })
        .collect();
    assert_eq!(
        costs,
        [
            ("newlab/omega-9".to_owned(), 1, Some("account".to_owned())),
            (
                "openai/text-embedding-3-large".to_owned(),
                1_500_000,
                Some("account".to_owned())
            ),
        ]
    );
    assert_eq!(fetched.usage[1].category, Category::Embedding);
    assert!(fetched.notes[0].starts_with("OpenRouter credit balance at sync time: $7.50"));
}
