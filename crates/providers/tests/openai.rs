//! The OpenAI connector against the local fake of OpenAI's Admin API (spendlens-fakes).

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "test helpers, like tests, stop loudly (clippy only exempts #[test] functions)"
)]

use crate::common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use common::{canned, config, date, nanos_of_dollars, range};
use spendlens_domain::{
    Category, Credential, DayRange, FetchedWindow, KeyStatus, ProviderKind, TokenClass, Unit,
};
use spendlens_fakes::openai::{OpenAiFake, RunningOpenAiFake};
use spendlens_fakes::{Fault, FaultRule};
use spendlens_providers::{
    CallStats, ConnectorConfig, ProviderError, check_connection, fetch_window,
};

/// 90 days ending with the fake's last day: three pages of every usage endpoint at 31 buckets.
fn ninety_days() -> DayRange {
    range("2025-11-03", "2026-01-31")
}

async fn spawn() -> RunningOpenAiFake {
    OpenAiFake::builder().seed(7).build().spawn().await.unwrap()
}

fn credential(fake: &RunningOpenAiFake) -> Credential {
    Credential::parse(ProviderKind::OpenAi, fake.admin_key()).unwrap()
}

async fn fetch(
    fake: &RunningOpenAiFake,
    window: DayRange,
) -> (Result<FetchedWindow, ProviderError>, CallStats) {
    fetch_with(fake, &config(fake.base_url()), window).await
}

async fn fetch_with(
    fake: &RunningOpenAiFake,
    config: &ConnectorConfig,
    window: DayRange,
) -> (Result<FetchedWindow, ProviderError>, CallStats) {
    let stats = CallStats::new();
    let result = fetch_window(&credential(fake), config, window, &stats).await;
    (result, stats)
}

#[derive(Debug, Default, PartialEq, Eq)]
struct Totals {
    input: u64,
    cached: u64,
    output: u64,
    requests: u64,
    images: u64,
    characters: u64,
    seconds: u64,
}

fn usage_by_model(fetched: &FetchedWindow) -> BTreeMap<String, Totals> {
    let mut out: BTreeMap<String, Totals> = BTreeMap::new();
    for record in &fetched.usage {
        let totals = out.entry(record.model.clone()).or_default();
        totals.input += record.tokens.input as u64;
        totals.cached += record.tokens.cache_read as u64;
        totals.output += record.tokens.output as u64;
        totals.requests += record.requests.unwrap() as u64;
        let whole = (record.quantity.micros() / 1_000_000) as u64;
        match record.unit.as_str() {
            "images" => totals.images += whole,
            "characters" => totals.characters += whole,
            "seconds" => totals.seconds += whole,
            _ => assert_eq!(record.quantity.micros(), 0),
        }
    }
    out
}

#[tokio::test]
async fn a_ninety_day_window_is_read_over_several_pages_and_matches_the_fake_exactly() {
    let fake = spawn().await;
    let window = ninety_days();
    let (result, stats) = fetch(&fake, window).await;
    let fetched = result.unwrap();
    let truth = fake.truth();
    let (from, to) = (date(window.from()), date(window.to()));

    // Projects, archived ones included.
    let projects: Vec<(String, String, bool)> = fetched
        .workspaces
        .iter()
        .map(|w| (w.provider_id.clone(), w.name.clone(), w.archived))
        .collect();
    let expected: Vec<(String, String, bool)> = truth
        .projects()
        .into_iter()
        .map(|p| (p.id, p.name, p.archived))
        .collect();
    assert_eq!(projects, expected);

    // Every listed key, with its project; the deleted one is in no list.
    let mut keys: Vec<(String, Option<String>)> = fetched
        .api_keys
        .iter()
        .map(|k| (k.provider_id.clone(), k.workspace_id.clone()))
        .collect();
    keys.sort();
    let mut expected: Vec<(String, Option<String>)> = truth
        .api_keys()
        .into_iter()
        .filter(|k| !k.deleted)
        .map(|k| (k.id, Some(k.project_id)))
        .collect();
    expected.sort();
    assert_eq!(keys, expected);
    assert!(fetched.api_keys.iter().all(|k| k.hint.is_some()));

    // Money: to the nano-dollar, per day, project and line item.
    let mut billed: BTreeMap<(time::Date, String, String), i64> = BTreeMap::new();
    for cost in &fetched.costs {
        assert!(window.contains(cost.day));
        assert_eq!(cost.currency.as_str(), "USD");
        *billed
            .entry((
                cost.day.date(),
                cost.workspace_id.clone().unwrap(),
                cost.description.clone(),
            ))
            .or_default() += cost.cost.nanos();
    }
    let expected: BTreeMap<(time::Date, String, String), i64> = truth
        .cost_usd_by_day_project_line_item(from, to)
        .into_iter()
        .map(|(key, dollars)| (key, nanos_of_dollars(&dollars)))
        .collect();
    assert_eq!(billed, expected);
    let total: i64 = fetched.costs.iter().map(|c| c.cost.nanos()).sum();
    assert_eq!(total as u64, truth.total_cost_nanos(from, to));

    // Usage per model, every endpoint.
    let expected: BTreeMap<String, Totals> = truth
        .usage_by_model(from, to)
        .into_iter()
        .map(|(model, t)| {
            (
                model,
                Totals {
                    input: t.input_tokens,
                    cached: t.input_cached_tokens,
                    output: t.output_tokens,
                    requests: t.num_model_requests,
                    images: t.images,
                    characters: t.characters,
                    seconds: t.seconds,
                },
            )
        })
        .collect();
    assert_eq!(usage_by_model(&fetched), expected);

    // Three pages per usage endpoint (31 + 31 + 28 days), one page of costs (limit 180).
    assert_eq!(fake.log().count("/usage/completions"), 3);
    assert_eq!(fake.log().count("/usage/audio_transcriptions"), 3);
    assert_eq!(fake.log().count("/organization/costs"), 1);
    let counts = stats.snapshot();
    assert_eq!(counts.retries, 0);
    assert_eq!(counts.http_calls, counts.pages);
    assert_eq!(counts.http_calls, fake.log().requests().len() as u64);
}

#[tokio::test]
async fn requests_use_the_documented_parameters() {
    let fake = spawn().await;
    let window = range("2026-01-01", "2026-01-31");
    fetch(&fake, window).await.0.unwrap();
    let completions = &fake.log().requests_to("/usage/completions")[0];
    assert_eq!(
        completions.param("start_time").as_deref(),
        Some("1767225600")
    );
    assert_eq!(completions.param("end_time").as_deref(), Some("1769904000"));
    assert_eq!(completions.param("bucket_width").as_deref(), Some("1d"));
    assert_eq!(completions.param("limit").as_deref(), Some("31"));
    let group_by: Vec<String> = completions
        .params()
        .into_iter()
        .filter(|(k, _)| k == "group_by")
        .map(|(_, v)| v)
        .collect();
    assert_eq!(group_by, ["project_id", "api_key_id", "model"]);
    let images = &fake.log().requests_to("/usage/images")[0];
    assert!(
        images
            .params()
            .contains(&("group_by".to_owned(), "size".to_owned()))
    );
    let costs = &fake.log().requests_to("/organization/costs")[0];
    assert_eq!(costs.param("limit").as_deref(), Some("180"));
    let projects = &fake.log().requests_to("/organization/projects")[0];
    assert_eq!(projects.param("include_archived").as_deref(), Some("true"));
    assert_eq!(projects.param("limit").as_deref(), Some("100"));
}

#[tokio::test]
async fn fetching_the_same_window_twice_gives_the_same_records() {
    let fake = spawn().await;
    let window = ninety_days();
    let first = fetch(&fake, window).await.0.unwrap();
    let second = fetch(&fake, window).await.0.unwrap();
    assert_eq!(first.workspaces, second.workspaces);
    assert_eq!(first.api_keys, second.api_keys);
    assert_eq!(first.usage, second.usage);
    assert_eq!(first.costs, second.costs);
    assert!(!first.usage.is_empty() && !first.costs.is_empty());
}

#[tokio::test]
async fn cached_tokens_are_part_of_input_and_never_counted_twice() {
    let fake = spawn().await;
    let window = range("2026-01-01", "2026-01-31");
    let fetched = fetch(&fake, window).await.0.unwrap();
    let truth = fake.truth();
    let by_key = truth.usage_by_key(date(window.from()), date(window.to()));
    let text: Vec<_> = fetched
        .usage
        .iter()
        .filter(|r| r.category == Category::Text)
        .collect();
    assert!(text.iter().any(|r| r.tokens.cache_read > 0));
    for record in &text {
        assert!(
            record.tokens.cache_read <= record.tokens.input,
            "{record:?}"
        );
        assert_eq!(record.tokens.cache_write, 0);
    }
    let mut input_by_key: BTreeMap<String, (i64, i64)> = BTreeMap::new();
    for record in &fetched.usage {
        let entry = input_by_key
            .entry(record.api_key_id.clone().unwrap())
            .or_default();
        entry.0 += record.tokens.input;
        entry.1 += record.tokens.cache_read;
    }
    for (key, totals) in by_key {
        let (input, cached) = input_by_key[&key];
        assert_eq!(input as u64, totals.input_tokens, "{key}");
        assert_eq!(cached as u64, totals.input_cached_tokens, "{key}");
    }
    // The bill names cached input apart from input.
    assert!(
        fetched
            .costs
            .iter()
            .any(|c| c.token_class == Some(TokenClass::CachedInput))
    );
}

#[tokio::test]
async fn non_token_usage_and_costs_keep_their_units_and_categories() {
    let fake = spawn().await;
    let fetched = fetch(&fake, range("2026-01-01", "2026-01-31"))
        .await
        .0
        .unwrap();
    let images: Vec<_> = fetched
        .usage
        .iter()
        .filter(|r| r.category == Category::Image)
        .collect();
    assert!(!images.is_empty());
    assert!(
        images
            .iter()
            .all(|r| r.unit == Unit::images() && !r.detail.is_empty())
    );
    assert!(
        fetched
            .usage
            .iter()
            .any(|r| r.category == Category::Audio && r.unit == Unit::seconds())
    );
    assert!(
        fetched
            .usage
            .iter()
            .any(|r| r.category == Category::Audio && r.unit == Unit::characters())
    );
    let vector = fetched
        .costs
        .iter()
        .find(|c| c.description == "Vector storage")
        .unwrap();
    assert_eq!(vector.model, None);
    assert_eq!(vector.category, Some(Category::Other));
    let image_cost = fetched
        .costs
        .iter()
        .find(|c| c.model.as_deref() == Some("dall-e-3"))
        .unwrap();
    assert_eq!(image_cost.category, Some(Category::Image));
    // Archived projects' keys are listed as archived.
    let archived: Vec<_> = fetched.workspaces.iter().filter(|w| w.archived).collect();
    assert_eq!(archived.len(), 1);
    assert!(
        fetched
            .api_keys
            .iter()
            .any(|k| k.status == KeyStatus::Archived
                && k.workspace_id.as_deref() == Some(archived[0].provider_id.as_str()))
    );
}

#[tokio::test]
async fn a_revoked_key_is_rejected_with_openai_s_words_and_what_to_do() {
    let fake = spawn().await;
    fake.set_revoked(true);
    let (result, stats) = fetch(&fake, ninety_days()).await;
    let err = result.unwrap_err();
    assert!(err.is_credential_rejected(), "{err:?}");
    assert!(!err.is_retryable_later());
    let message = err.to_string();
    assert!(message.starts_with("OpenAI rejected the key on /organization/projects (HTTP 401: Incorrect API key provided"), "{message}");
    assert!(message.contains("revoked or mistyped"), "{message}");
    assert!(
        message.contains("https://platform.openai.com/settings/organization/admin-keys"),
        "{message}"
    );
    assert!(!message.contains(fake.admin_key()), "{message}");
    assert_eq!(stats.snapshot().retries, 0);
    assert_eq!(stats.snapshot().http_calls, 1);
}

#[tokio::test]
async fn a_key_that_is_not_an_admin_key_is_explained() {
    // Project keys (sk-proj-…) are refused by the credential's shape check before any call, so
    // the fake's 403 for them cannot be reached; a canned server gives OpenAI's documented 403 to
    // a well-shaped key instead.
    let body = r#"{"error":{"message":"You have insufficient permissions for this operation. Missing scopes: api.usage.read.","type":"invalid_request_error","param":null,"code":null}}"#;
    let server = canned(&[], (403, body), "/v1").await;
    let credential = Credential::parse(
        ProviderKind::OpenAi,
        "sk-admin-looksrightbutisnotABCDEFGH1234",
    )
    .unwrap();
    let stats = CallStats::new();
    let err = fetch_window(
        &credential,
        &config(&server.base_url),
        ninety_days(),
        &stats,
    )
    .await
    .unwrap_err();
    assert!(err.is_credential_rejected());
    let message = err.to_string();
    assert!(message.contains("HTTP 403"), "{message}");
    assert!(
        message.contains("Missing scopes: api.usage.read"),
        "{message}"
    );
    assert!(
        message.contains("not an organization Admin key"),
        "{message}"
    );
    assert!(Credential::parse(ProviderKind::OpenAi, "sk-proj-abcdefghijklmnop1234").is_err());
}

#[tokio::test]
async fn a_storm_of_429s_ends_in_a_clear_error_after_every_retry() {
    let fake = spawn().await;
    fake.faults().add(
        FaultRule::new(Fault::RateLimited {
            retry_after_secs: 0,
        })
        .on_path("/usage/completions")
        .times(u32::MAX),
    );
    let (result, stats) = fetch(&fake, ninety_days()).await;
    let err = result.unwrap_err();
    assert!(err.is_retryable_later());
    assert!(!err.is_credential_rejected());
    assert_eq!(
        err.to_string(),
        "OpenAI kept rate-limiting (HTTP 429) on /organization/usage/completions (page 1) after 6 retries; try again later"
    );
    assert_eq!(stats.snapshot().retries, 6);
    assert_eq!(fake.log().count("/usage/completions"), 7);
}

#[tokio::test]
async fn a_few_429s_with_retry_after_are_waited_out_and_counted() {
    let fake = spawn().await;
    fake.faults().add(
        FaultRule::new(Fault::RateLimited {
            retry_after_secs: 1,
        })
        .on_path("/organization/costs")
        .times(2),
    );
    // Retry-After: 1 s, capped at 150 ms: the wait is honoured, and the cap holds.
    let mut config = config(fake.base_url());
    config.http.max_retry_after = Duration::from_millis(150);
    let started = Instant::now();
    let (result, stats) = fetch_with(&fake, &config, ninety_days()).await;
    let elapsed = started.elapsed();
    let fetched = result.unwrap();
    assert!(!fetched.costs.is_empty());
    assert_eq!(stats.snapshot().retries, 2);
    assert!(elapsed >= Duration::from_millis(300), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(2), "{elapsed:?}");
    assert_eq!(stats.snapshot().http_calls, stats.snapshot().pages + 2);
}

#[tokio::test]
async fn a_server_error_on_page_3_is_retried_and_then_reported_with_the_page() {
    let fake = spawn().await;
    fake.faults().add(
        FaultRule::new(Fault::ServerError(500))
            .on_path("/usage/completions")
            .on_page(3)
            .times(u32::MAX),
    );
    let (result, stats) = fetch(&fake, ninety_days()).await;
    let err = result.unwrap_err();
    assert!(err.is_retryable_later());
    let message = err.to_string();
    assert!(
        message.starts_with(
            "OpenAI kept failing with HTTP 500 on /organization/usage/completions (page 3) after 6 retries"
        ),
        "{message}"
    );
    assert!(message.contains("try again later"), "{message}");
    assert_eq!(stats.snapshot().retries, 6);
}

#[tokio::test]
async fn a_passing_server_error_is_retried_without_a_trace_in_the_data() {
    let fake = spawn().await;
    let clean = fetch(&fake, ninety_days()).await.0.unwrap();
    fake.faults().add(
        FaultRule::new(Fault::ServerError(502))
            .on_path("/usage/embeddings")
            .on_page(2)
            .times(2),
    );
    fake.faults()
        .add(FaultRule::new(Fault::ServerError(503)).on_path("/organization/projects"));
    let (result, stats) = fetch(&fake, ninety_days()).await;
    let fetched = result.unwrap();
    assert_eq!(stats.snapshot().retries, 3);
    assert_eq!(fetched.usage, clean.usage);
    assert_eq!(fetched.costs, clean.costs);
}

#[tokio::test]
async fn a_malformed_page_is_reported_with_its_endpoint_and_page() {
    let fake = spawn().await;
    fake.faults().add(
        FaultRule::new(Fault::Malformed)
            .on_path("/usage/embeddings")
            .on_page(2),
    );
    let (result, stats) = fetch(&fake, ninety_days()).await;
    let err = result.unwrap_err();
    assert!(
        matches!(err, ProviderError::InvalidJson { page: 2, .. }),
        "{err:?}"
    );
    assert!(
        err.to_string().starts_with(
            "OpenAI sent a page that is not valid JSON on /organization/usage/embeddings (page 2): "
        ),
        "{err}"
    );
    assert_eq!(stats.snapshot().retries, 0);
}

#[tokio::test]
async fn a_truncated_page_is_reported_as_cut_off() {
    let fake = spawn().await;
    fake.faults()
        .add(FaultRule::new(Fault::Truncated).on_path("/organization/costs"));
    let err = fetch(&fake, ninety_days()).await.0.unwrap_err();
    assert!(
        matches!(err, ProviderError::TruncatedPage { page: 1, .. }),
        "{err:?}"
    );
    assert!(err.is_retryable_later());
    assert!(
        err.to_string()
            .starts_with("OpenAI sent an incomplete page on /organization/costs (page 1)"),
        "{err}"
    );
}

#[tokio::test]
async fn a_page_whose_cursor_does_not_advance_stops_the_fetch() {
    let fake = spawn().await;
    fake.faults().add(
        FaultRule::new(Fault::RepeatPage)
            .on_path("/usage/completions")
            .on_page(2),
    );
    let (result, stats) = fetch(&fake, ninety_days()).await;
    let err = result.unwrap_err();
    assert!(
        matches!(err, ProviderError::RepeatedPage { page: 2, .. }),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .contains("/organization/usage/completions (page 2)"),
        "{err}"
    );
    // Stopped at once: pages 1 and 2, nothing more.
    assert_eq!(fake.log().count("/usage/completions"), 2);
    assert_eq!(stats.snapshot().retries, 0);
}

#[tokio::test]
async fn a_first_page_that_leads_back_to_itself_is_caught_as_a_repeated_day() {
    let fake = spawn().await;
    fake.faults().add(
        FaultRule::new(Fault::RepeatPage)
            .on_path("/usage/moderations")
            .on_page(1),
    );
    let err = fetch(&fake, ninety_days()).await.0.unwrap_err();
    assert!(
        matches!(
            err,
            ProviderError::DuplicateBucket { .. } | ProviderError::RepeatedPage { .. }
        ),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("/organization/usage/moderations"),
        "{err}"
    );
}

#[tokio::test]
async fn a_result_missing_a_required_field_is_reported() {
    let fake = spawn().await;
    fake.faults()
        .add(FaultRule::new(Fault::MissingField).on_path("/usage/completions"));
    let err = fetch(&fake, ninety_days()).await.0.unwrap_err();
    assert!(
        matches!(err, ProviderError::UnexpectedPage { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("output_tokens"), "{err}");
}

#[tokio::test]
async fn a_slow_answer_times_out_and_is_retried() {
    let fake = spawn().await;
    fake.faults().add(
        FaultRule::new(Fault::Delay(Duration::from_secs(2))).on_path("/organization/projects"),
    );
    let mut config = config(fake.base_url());
    config.http.timeout = Duration::from_millis(300);
    let (result, stats) = fetch_with(&fake, &config, range("2026-01-25", "2026-01-31")).await;
    result.unwrap();
    assert_eq!(stats.snapshot().retries, 1);
}

#[tokio::test]
async fn an_unreachable_api_is_reported_after_the_retries() {
    // A port nothing listens on.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}/v1", listener.local_addr().unwrap());
    drop(listener);
    let credential = Credential::parse(
        ProviderKind::OpenAi,
        "sk-admin-abcdefghijklmnopqrstuvwxyz12",
    )
    .unwrap();
    let stats = CallStats::new();
    let err = check_connection(&credential, &config(&base), &stats)
        .await
        .unwrap_err();
    assert!(matches!(err, ProviderError::Unreachable { .. }), "{err:?}");
    assert!(err.is_retryable_later());
    assert!(
        err.to_string().starts_with(
            "Could not reach OpenAI on /organization/projects (page 1) after 6 retries"
        ),
        "{err}"
    );
    assert_eq!(stats.snapshot().http_calls, 7);
}

#[tokio::test]
async fn the_connection_check_makes_one_call_and_counts_projects() {
    let fake = spawn().await;
    let stats = CallStats::new();
    let check = check_connection(&credential(&fake), &config(fake.base_url()), &stats)
        .await
        .unwrap();
    assert_eq!(
        check.summary,
        "OpenAI organization reachable: 5 projects visible"
    );
    assert_eq!(stats.snapshot().http_calls, 1);
}

#[tokio::test]
async fn unknown_models_and_new_fields_are_carried_through() {
    let usage = r#"{"object":"page","data":[{"object":"bucket","start_time":1769817600,"end_time":1769904000,"results":[
        {"object":"organization.usage.completions.result","input_tokens":1000,"output_tokens":50,"input_cached_tokens":400,
         "input_audio_tokens":0,"output_audio_tokens":0,"num_model_requests":3,"project_id":"proj_1","user_id":null,
         "api_key_id":"key_1","model":"gpt-7-ultra-2027-01-01","batch":null,"service_tier":"flex",
         "api_source":"responses","input_cache_write_tokens":12,"reasoning":{"effort":"high"}}]}],
        "has_more":false,"next_page":null,"brand_new_envelope_field":1}"#;
    let costs = r#"{"object":"page","data":[{"object":"bucket","start_time":1769817600,"end_time":1769904000,"results":[
        {"object":"organization.costs.result","amount":{"value":"0.123456789","currency":"usd"},
         "line_item":"flex | gpt-7-ultra-2027-01-01, cached input","project_id":"proj_1","api_key_id":null,
         "quantity":400,"quantity_unit":"tokens"},
        {"object":"organization.costs.result","amount":{"value":2.5e-7,"currency":"usd"},
         "line_item":"Hologram rendering","project_id":"proj_1"}]}],"has_more":false,"next_page":null}"#;
    let projects = r#"{"object":"list","data":[{"id":"proj_1","object":"organization.project","name":"P","created_at":1,
        "archived_at":null,"status":"active","external_key_id":"ext","compartment":"new"}],"first_id":"proj_1","last_id":"proj_1","has_more":false}"#;
    let keys = r#"{"object":"list","data":[{"object":"organization.project.api_key","id":"key_1","name":"k",
        "redacted_value":"sk-abc...def","created_at":1,"last_used_at":null,
        "owner":{"type":"service_account","service_account":{"id":"svc","created_at":1,"name":"s","role":"member"}}}],
        "first_id":"key_1","last_id":"key_1","has_more":false}"#;
    let empty = r#"{"object":"page","data":[],"has_more":false,"next_page":null}"#;
    let server = canned(
        &[
            ("/v1/organization/usage/completions", 200, usage),
            ("/v1/organization/costs", 200, costs),
            ("/v1/organization/projects", 200, projects),
            ("/v1/organization/projects/proj_1/api_keys", 200, keys),
        ],
        (200, empty),
        "/v1",
    )
    .await;
    let credential = Credential::parse(
        ProviderKind::OpenAi,
        "sk-admin-abcdefghijklmnopqrstuvwxyz12",
    )
    .unwrap();
    let stats = CallStats::new();
    let fetched = fetch_window(
        &credential,
        &config(&server.base_url),
        range("2026-01-31", "2026-01-31"),
        &stats,
    )
    .await
    .unwrap();
    assert_eq!(fetched.usage.len(), 1);
    let record = &fetched.usage[0];
    assert_eq!(record.model, "gpt-7-ultra-2027-01-01");
    assert_eq!((record.tokens.input, record.tokens.cache_read), (1000, 400));
    assert_eq!(fetched.costs.len(), 2);
    assert_eq!(
        fetched.costs[0].model.as_deref(),
        Some("gpt-7-ultra-2027-01-01")
    );
    assert_eq!(fetched.costs[0].token_class, Some(TokenClass::CachedInput));
    assert_eq!(fetched.costs[0].cost.nanos(), 123_456_789);
    assert_eq!(fetched.costs[1].model, None);
    assert_eq!(fetched.costs[1].description, "Hologram rendering");
    assert_eq!(fetched.costs[1].cost.nanos(), 250);
    assert_eq!(fetched.api_keys[0].hint.as_deref(), Some("sk-abc...def"));
}
