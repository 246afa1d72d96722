//! The Anthropic connector against the local fake of Anthropic's Admin API (spendlens-fakes).

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "test helpers, like tests, stop loudly (clippy only exempts #[test] functions)"
)]

use crate::common;

use std::collections::BTreeMap;

use common::{canned, config, date, nanos_of_dollars, range};
use spendlens_domain::{
    Category, Credential, DayRange, FetchedWindow, KeyStatus, ProviderKind, TokenClass, Unit,
};
use spendlens_fakes::anthropic::{AnthropicFake, RunningAnthropicFake};
use spendlens_fakes::{Fault, FaultRule};
use spendlens_providers::{CallStats, ProviderError, check_connection, fetch_window};

/// 90 days ending with the fake's last day: three pages of each report at 31 buckets.
fn ninety_days() -> DayRange {
    range("2025-11-03", "2026-01-31")
}

async fn spawn() -> RunningAnthropicFake {
    AnthropicFake::builder()
        .seed(11)
        .build()
        .spawn()
        .await
        .unwrap()
}

fn credential(fake: &RunningAnthropicFake) -> Credential {
    Credential::parse(ProviderKind::Anthropic, fake.admin_key()).unwrap()
}

async fn fetch(
    fake: &RunningAnthropicFake,
    window: DayRange,
) -> (Result<FetchedWindow, ProviderError>, CallStats) {
    let stats = CallStats::new();
    let result = fetch_window(&credential(fake), &config(fake.base_url()), window, &stats).await;
    (result, stats)
}

fn or_default(workspace: Option<String>) -> String {
    workspace.unwrap_or_else(|| "default".to_owned())
}

#[tokio::test]
async fn costs_in_cents_add_up_to_the_fake_s_bill_to_the_nano_dollar() {
    let fake = spawn().await;
    let window = ninety_days();
    let (result, stats) = fetch(&fake, window).await;
    let fetched = result.unwrap();
    let truth = fake.truth();
    let (from, to) = (date(window.from()), date(window.to()));

    let total: i64 = fetched.costs.iter().map(|c| c.cost.nanos()).sum();
    assert_eq!(total as u64, truth.total_cost_nanos(from, to));
    assert_eq!(
        spendlens_domain::Money::from_nanos(total).to_exact_string(),
        spendlens_domain::Money::parse_units(&truth.total_cost_usd(from, to))
            .unwrap()
            .to_exact_string()
    );

    let mut billed: BTreeMap<(time::Date, String, String), i64> = BTreeMap::new();
    for cost in &fetched.costs {
        assert_eq!(cost.currency.as_str(), "USD");
        assert_eq!(cost.api_key_id, None);
        *billed
            .entry((
                cost.day.date(),
                cost.workspace_id.clone().unwrap(),
                cost.description.clone(),
            ))
            .or_default() += cost.cost.nanos();
    }
    let expected: BTreeMap<(time::Date, String, String), i64> = truth
        .cost_usd_by_day_workspace_description(from, to)
        .into_iter()
        .map(|((day, workspace, description), dollars)| {
            (
                (day, or_default(workspace), description),
                nanos_of_dollars(&dollars),
            )
        })
        .collect();
    assert_eq!(billed, expected);

    // Three pages of each report (31 + 31 + 28 days).
    assert_eq!(fake.log().count("/usage_report/messages"), 3);
    assert_eq!(fake.log().count("/cost_report"), 3);
    assert_eq!(stats.snapshot().retries, 0);
    assert_eq!(stats.snapshot().http_calls, stats.snapshot().pages);
}

#[tokio::test]
async fn usage_sums_the_disjoint_input_parts_and_leaves_requests_unknown() {
    let fake = spawn().await;
    let window = ninety_days();
    let fetched = fetch(&fake, window).await.0.unwrap();
    let truth = fake.truth();

    #[derive(Debug, Default, PartialEq, Eq)]
    struct Totals {
        input: u64,
        cache_read: u64,
        cache_write: u64,
        output: u64,
        searches: u64,
    }
    let mut mine: BTreeMap<Option<String>, Totals> = BTreeMap::new();
    for record in &fetched.usage {
        assert_eq!(record.requests, None, "{record:?}");
        let totals = mine.entry(record.api_key_id.clone()).or_default();
        match record.category {
            Category::Text => {
                assert_eq!(record.unit, Unit::tokens());
                totals.input += record.tokens.input as u64;
                totals.cache_read += record.tokens.cache_read as u64;
                totals.cache_write += record.tokens.cache_write as u64;
                totals.output += record.tokens.output as u64;
            }
            Category::Tool => {
                assert_eq!(record.model, "web search");
                assert_eq!(record.unit, Unit::requests());
                totals.searches += (record.quantity.micros() / 1_000_000) as u64;
            }
            other => panic!("unexpected category {other}"),
        }
    }
    let expected: BTreeMap<Option<String>, Totals> = truth
        .usage_by_key(date(window.from()), date(window.to()))
        .into_iter()
        .map(|(key, t)| {
            (
                key,
                Totals {
                    input: t.input_tokens(),
                    cache_read: t.cache_read_input_tokens,
                    cache_write: t.cache_creation_5m_input_tokens
                        + t.cache_creation_1h_input_tokens,
                    output: t.output_tokens,
                    searches: t.web_search_requests,
                },
            )
        })
        .collect();
    assert_eq!(mine, expected);
    assert!(mine.contains_key(&None), "Console traffic has no key");
    let search_total: u64 = mine.values().map(|t| t.searches).sum();
    assert!(search_total > 0);
}

#[tokio::test]
async fn workspaces_include_the_default_one_and_keys_of_every_status_are_listed() {
    let fake = spawn().await;
    let fetched = fetch(&fake, range("2026-01-01", "2026-01-31"))
        .await
        .0
        .unwrap();
    let truth = fake.truth();

    assert_eq!(fetched.workspaces[0].provider_id, "default");
    assert_eq!(fetched.workspaces[0].name, "Default workspace");
    let named: Vec<(String, String, bool)> = fetched.workspaces[1..]
        .iter()
        .map(|w| (w.provider_id.clone(), w.name.clone(), w.archived))
        .collect();
    let expected: Vec<(String, String, bool)> = truth
        .workspaces()
        .into_iter()
        .map(|w| (w.id, w.name, w.archived))
        .collect();
    assert_eq!(named, expected);

    let mut keys: Vec<(String, Option<String>, KeyStatus)> = fetched
        .api_keys
        .iter()
        .map(|k| (k.provider_id.clone(), k.workspace_id.clone(), k.status))
        .collect();
    keys.sort_by(|a, b| a.0.cmp(&b.0));
    let mut expected: Vec<(String, Option<String>, KeyStatus)> = truth
        .api_keys()
        .into_iter()
        .map(|k| {
            (
                k.id,
                Some(or_default(k.workspace_id)),
                KeyStatus::parse(&k.status),
            )
        })
        .collect();
    expected.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(keys, expected);
    for status in [
        KeyStatus::Active,
        KeyStatus::Inactive,
        KeyStatus::Archived,
        KeyStatus::Expired,
    ] {
        assert!(keys.iter().any(|k| k.2 == status), "no {status:?} key");
    }
    // Usage and cost of the default workspace land on it.
    assert!(
        fetched
            .usage
            .iter()
            .any(|u| u.workspace_id.as_deref() == Some("default"))
    );
    assert!(
        fetched
            .costs
            .iter()
            .any(|c| c.workspace_id.as_deref() == Some("default"))
    );
}

#[tokio::test]
async fn requests_use_the_documented_headers_and_parameters() {
    let fake = spawn().await;
    fetch(&fake, range("2026-01-01", "2026-01-31"))
        .await
        .0
        .unwrap();
    let usage = &fake.log().requests_to("/usage_report/messages")[0];
    assert_eq!(
        usage.param("starting_at").as_deref(),
        Some("2026-01-01T00:00:00Z")
    );
    assert_eq!(
        usage.param("ending_at").as_deref(),
        Some("2026-02-01T00:00:00Z")
    );
    assert_eq!(usage.param("limit").as_deref(), Some("31"));
    let group_by: Vec<String> = usage
        .params()
        .into_iter()
        .filter(|(k, _)| k == "group_by[]")
        .map(|(_, v)| v)
        .collect();
    assert_eq!(
        group_by,
        [
            "workspace_id",
            "api_key_id",
            "model",
            "service_tier",
            "context_window"
        ]
    );
    let cost = &fake.log().requests_to("/cost_report")[0];
    assert_eq!(cost.param("limit").as_deref(), Some("31"));
    let workspaces = &fake.log().requests_to("/workspaces")[0];
    assert_eq!(
        workspaces.param("include_archived").as_deref(),
        Some("true")
    );
    assert_eq!(workspaces.param("limit").as_deref(), Some("1000"));
    let statuses: Vec<String> = fake
        .log()
        .requests_to("/api_keys")
        .iter()
        .filter_map(|r| r.param("status"))
        .collect();
    assert_eq!(statuses, ["active", "inactive", "archived", "expired"]);
}

#[tokio::test]
async fn tool_costs_are_named_and_token_costs_carry_their_token_kind() {
    let fake = spawn().await;
    let fetched = fetch(&fake, ninety_days()).await.0.unwrap();
    let code = fetched
        .costs
        .iter()
        .find(|c| c.model.as_deref() == Some("code execution"))
        .unwrap();
    assert_eq!(code.category, Some(Category::Tool));
    let search = fetched
        .costs
        .iter()
        .find(|c| c.model.as_deref() == Some("web search"))
        .unwrap();
    assert_eq!(search.category, Some(Category::Tool));
    for class in TokenClass::ALL {
        assert!(
            fetched.costs.iter().any(|c| c.token_class == Some(class)),
            "no {class:?} cost"
        );
    }
    assert!(
        fetched
            .costs
            .iter()
            .filter(|c| c.token_class.is_some())
            .all(|c| c.model.is_some() && c.category == Some(Category::Text))
    );
}

#[tokio::test]
async fn fetching_the_same_window_twice_gives_the_same_records() {
    let fake = spawn().await;
    let first = fetch(&fake, ninety_days()).await.0.unwrap();
    let second = fetch(&fake, ninety_days()).await.0.unwrap();
    assert_eq!(first.workspaces, second.workspaces);
    assert_eq!(first.api_keys, second.api_keys);
    assert_eq!(first.usage, second.usage);
    assert_eq!(first.costs, second.costs);
}

#[tokio::test]
async fn a_revoked_key_is_rejected_with_anthropic_s_words_and_what_to_do() {
    let fake = spawn().await;
    fake.set_revoked(true);
    let (result, stats) = fetch(&fake, ninety_days()).await;
    let err = result.unwrap_err();
    assert!(err.is_credential_rejected(), "{err:?}");
    let message = err.to_string();
    assert!(
        message.starts_with(
            "Anthropic rejected the key on /v1/organizations/workspaces (HTTP 401: invalid x-api-key)"
        ),
        "{message}"
    );
    assert!(
        message.contains("https://console.anthropic.com/settings/admin-keys"),
        "{message}"
    );
    assert!(!message.contains(fake.admin_key()), "{message}");
    assert_eq!(stats.snapshot().http_calls, 1);
}

#[tokio::test]
async fn a_key_without_admin_permission_is_explained() {
    // Standard keys (sk-ant-api03-…) are refused by the credential's shape check before any
    // call, so the fake's 403 for them cannot be reached; a canned server gives the 403.
    let body = r#"{"type":"error","error":{"type":"permission_error","message":"Your API key does not have permission to use the Admin API."}}"#;
    let server = canned(&[], (403, body), "").await;
    let credential = Credential::parse(
        ProviderKind::Anthropic,
        "sk-ant-admin01-abcdefghijklmnopqrstuvwxyz0123456789AA",
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
    assert!(
        message.contains("HTTP 403: Your API key does not have permission"),
        "{message}"
    );
    assert!(message.contains("organization Admin key"), "{message}");
    assert!(
        Credential::parse(
            ProviderKind::Anthropic,
            "sk-ant-api03-abcdefghijklmnopqrstuv"
        )
        .is_err()
    );
}

#[tokio::test]
async fn overloaded_answers_are_retried_then_reported() {
    let fake = spawn().await;
    fake.faults().add(
        FaultRule::new(Fault::ServerError(529))
            .on_path("/cost_report")
            .on_page(2)
            .times(3),
    );
    let (result, stats) = fetch(&fake, ninety_days()).await;
    result.unwrap();
    assert_eq!(stats.snapshot().retries, 3);

    fake.faults().add(
        FaultRule::new(Fault::ServerError(529))
            .on_path("/cost_report")
            .on_page(3)
            .times(u32::MAX),
    );
    let err = fetch(&fake, ninety_days()).await.0.unwrap_err();
    assert!(err.is_retryable_later());
    assert!(
        err.to_string().starts_with(
            "Anthropic kept failing with HTTP 529 on /v1/organizations/cost_report (page 3) after 6 retries (Overloaded)"
        ),
        "{err}"
    );
}

#[tokio::test]
async fn rate_limits_are_waited_out() {
    let fake = spawn().await;
    fake.faults().add(
        FaultRule::new(Fault::RateLimited {
            retry_after_secs: 1,
        })
        .on_path("/usage_report/messages")
        .times(2),
    );
    let (result, stats) = fetch(&fake, range("2026-01-01", "2026-01-31")).await;
    result.unwrap();
    assert_eq!(stats.snapshot().retries, 2);
}

#[tokio::test]
async fn a_repeated_cost_page_stops_the_fetch() {
    let fake = spawn().await;
    fake.faults().add(
        FaultRule::new(Fault::RepeatPage)
            .on_path("/cost_report")
            .on_page(2),
    );
    let err = fetch(&fake, ninety_days()).await.0.unwrap_err();
    assert!(
        matches!(err, ProviderError::RepeatedPage { page: 2, .. }),
        "{err:?}"
    );
    assert!(
        err.to_string().starts_with(
            "Anthropic sent a page cursor on /v1/organizations/cost_report (page 2) that points back to a page already read"
        ),
        "{err}"
    );
}

#[tokio::test]
async fn truncated_and_malformed_pages_are_told_apart() {
    let fake = spawn().await;
    fake.faults().add(
        FaultRule::new(Fault::Truncated)
            .on_path("/usage_report/messages")
            .on_page(2),
    );
    let err = fetch(&fake, ninety_days()).await.0.unwrap_err();
    assert!(
        matches!(err, ProviderError::TruncatedPage { page: 2, .. }),
        "{err:?}"
    );

    fake.faults()
        .add(FaultRule::new(Fault::Malformed).on_path("/workspaces"));
    let err = fetch(&fake, ninety_days()).await.0.unwrap_err();
    assert!(
        matches!(err, ProviderError::InvalidJson { page: 1, .. }),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .starts_with("Anthropic sent a page that is not valid JSON on /v1/organizations/workspaces (page 1): "),
        "{err}"
    );
}

#[tokio::test]
async fn a_cost_without_an_amount_is_an_error_not_a_zero() {
    let fake = spawn().await;
    fake.faults()
        .add(FaultRule::new(Fault::MissingField).on_path("/cost_report"));
    let err = fetch(&fake, ninety_days()).await.0.unwrap_err();
    assert!(
        matches!(err, ProviderError::UnexpectedPage { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("amount"), "{err}");
}

#[tokio::test]
async fn the_connection_check_makes_one_call_and_counts_workspaces() {
    let fake = spawn().await;
    let stats = CallStats::new();
    let check = check_connection(&credential(&fake), &config(fake.base_url()), &stats)
        .await
        .unwrap();
    let named = fake.truth().workspaces().len();
    assert_eq!(
        check.summary,
        format!(
            "Anthropic organization reachable: {named} workspaces visible, plus the default workspace"
        )
    );
    assert_eq!(stats.snapshot().http_calls, 1);
}

#[tokio::test]
async fn unknown_models_and_new_fields_are_carried_through() {
    let usage = r#"{"data":[{"starting_at":"2026-01-31T00:00:00Z","ending_at":"2026-02-01T00:00:00Z","results":[
        {"uncached_input_tokens":100,"cache_creation":{"ephemeral_1h_input_tokens":7,"ephemeral_5m_input_tokens":3,"ephemeral_24h_input_tokens":99},
         "cache_read_input_tokens":40,"output_tokens":9,"server_tool_use":{"web_search_requests":2,"web_fetch_requests":5},
         "api_key_id":"apikey_1","workspace_id":"wrkspc_1","model":"claude-zeta-9","service_tier":null,"context_window":null,
         "inference_geo":null,"speed":"fast","account_id":null,"service_account_id":null,"brand_new":{"x":1}}]}],
        "has_more":false,"next_page":null}"#;
    let cost = r#"{"data":[{"starting_at":"2026-01-31T00:00:00Z","ending_at":"2026-02-01T00:00:00Z","results":[
        {"currency":"USD","amount":"0.0000001","workspace_id":"wrkspc_1","description":"Claude Zeta 9 Usage - Output Tokens",
         "cost_type":"tokens","model":"claude-zeta-9","token_type":"output_tokens","service_tier":"standard",
         "context_window":"0-200k","inference_geo":"global","speed":"fast"},
        {"currency":"USD","amount":"250","workspace_id":null,"description":"Session Usage","cost_type":"session_usage",
         "model":null,"token_type":null}]}],"has_more":false,"next_page":null}"#;
    let empty_list = r#"{"data":[],"has_more":false,"first_id":null,"last_id":null}"#;
    let server = canned(
        &[
            ("/v1/organizations/usage_report/messages", 200, usage),
            ("/v1/organizations/cost_report", 200, cost),
        ],
        (200, empty_list),
        "",
    )
    .await;
    let credential = Credential::parse(
        ProviderKind::Anthropic,
        "sk-ant-admin01-abcdefghijklmnopqrstuvwxyz0123456789AA",
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
    assert_eq!(fetched.workspaces.len(), 1);
    assert_eq!(fetched.usage.len(), 2);
    let tokens = &fetched.usage[0];
    assert_eq!(tokens.model, "claude-zeta-9");
    assert_eq!(tokens.tokens.input, 150);
    assert_eq!(tokens.tokens.cache_write, 10);
    assert_eq!(fetched.usage[1].model, "web search");
    assert_eq!(fetched.costs[0].cost.nanos(), 1);
    assert_eq!(fetched.costs[0].token_class, Some(TokenClass::Output));
    assert_eq!(fetched.costs[1].model.as_deref(), Some("session"));
    assert_eq!(fetched.costs[1].workspace_id.as_deref(), Some("default"));
    assert_eq!(fetched.costs[1].cost.nanos(), 2_500_000_000);
}

#[tokio::test]
async fn priority_tier_usage_gets_a_flagged_list_price_estimate_the_cost_report_lacks() {
    let fake = AnthropicFake::builder()
        .seed(11)
        .priority_tier(true)
        .build()
        .spawn()
        .await
        .unwrap();
    let window = ninety_days();
    let fetched = fetch(&fake, window).await.0.unwrap();
    let truth = fake.truth();
    let (from, to) = (date(window.from()), date(window.to()));

    // What the cost report bills is still exactly the bill.
    let billed: i64 = fetched
        .costs
        .iter()
        .filter(|c| !c.estimated)
        .map(|c| c.cost.nanos())
        .sum();
    assert_eq!(billed as u64, truth.total_cost_nanos(from, to));

    // Priority usage, priced by hand at Claude Sonnet 4.5's list prices ($3 input, $0.30
    // cache read, $3.75 cache write, $15 output per 1M tokens), in nano-dollars per token.
    let priority: Vec<_> = truth
        .usage_lines(from, to)
        .into_iter()
        .filter(|line| line.service_tier == "priority")
        .collect();
    assert!(!priority.is_empty());
    let mut expected: i64 = 0;
    let mut input: u64 = 0;
    for line in &priority {
        assert_eq!(line.model, "claude-sonnet-4-5-20250929");
        let t = &line.totals;
        expected += (t.uncached_input_tokens * 3_000
            + t.cache_read_input_tokens * 300
            + (t.cache_creation_5m_input_tokens + t.cache_creation_1h_input_tokens) * 3_750
            + t.output_tokens * 15_000) as i64;
        input += t.input_tokens();
    }
    let estimated: Vec<_> = fetched.costs.iter().filter(|c| c.estimated).collect();
    assert!(!estimated.is_empty());
    for cost in &estimated {
        assert_eq!(
            cost.model.as_deref(),
            Some("claude-sonnet-4-5-20250929 (priority tier)")
        );
        assert!(cost.description.contains("Priority Tier"), "{cost:?}");
        assert!(cost.api_key_id.is_some(), "{cost:?}");
    }
    let estimate: i64 = estimated.iter().map(|c| c.cost.nanos()).sum();
    assert_eq!(estimate, expected);
    // The usage sits under the priority model, every token once.
    let mine: i64 = fetched
        .usage
        .iter()
        .filter(|u| u.model.ends_with(" (priority tier)"))
        .map(|u| u.tokens.input)
        .sum();
    assert_eq!(mine as u64, input);
    assert!(
        fetched.notes.iter().any(|n| n.contains("Priority Tier")),
        "{:?}",
        fetched.notes
    );
}
