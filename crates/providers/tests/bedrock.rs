//! The Bedrock connector against the local Cost Explorer fake (spendlens-fakes) through the
//! SDK's endpoint override, against a canned server for answers the fake does not give
//! (unknown models and usage types, new fields), and against moto's server for the signed wire
//! path (shared/providers/aws-bedrock.md §10).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers, like tests, stop loudly (clippy only exempts #[test] functions)"
)]

use crate::common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::{Bytes, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use common::{config, date, nanos_of_dollars, range};
use spendlens_domain::{Category, Credential, DayRange, FetchedWindow, Money, ProviderKind, Unit};
use spendlens_fakes::bedrock::{BedrockFake, CostExplorerState, RunningBedrockFake};
use spendlens_fakes::{Fault, FaultRule};
use spendlens_providers::{
    CallStats, ConnectorConfig, ProviderError, check_connection, fetch_window,
};

/// The fake's data ends on 2026-01-31; 90 days ending then.
fn ninety_days() -> DayRange {
    range("2025-11-03", "2026-01-31")
}

async fn spawn_with(builder: spendlens_fakes::bedrock::BedrockFakeBuilder) -> RunningBedrockFake {
    builder.build().spawn().await.unwrap()
}

async fn spawn() -> RunningBedrockFake {
    spawn_with(BedrockFake::builder().seed(5)).await
}

fn aws_credential(key_id: &str, secret: &str) -> Credential {
    let json = serde_json::json!({
        "accessKeyId": key_id,
        "secretAccessKey": secret,
        "region": "eu-west-1",
    });
    Credential::parse(ProviderKind::Bedrock, &json.to_string()).unwrap()
}

fn credential(fake: &RunningBedrockFake) -> Credential {
    aws_credential(fake.access_key_id(), fake.secret_access_key())
}

async fn fetch(
    fake: &RunningBedrockFake,
    window: DayRange,
) -> (Result<FetchedWindow, ProviderError>, CallStats) {
    let stats = CallStats::new();
    let result = fetch_window(
        &credential(fake),
        &config(fake.endpoint_url()),
        window,
        &stats,
    )
    .await;
    (result, stats)
}

/// The model a Marketplace service is for, or `bedrock-general` for Amazon Bedrock itself: where
/// the document says credits on a service go.
fn credit_model(service: &str) -> String {
    service
        .strip_suffix(" (Amazon Bedrock Edition)")
        .map_or_else(|| "bedrock-general".to_owned(), str::to_owned)
}

#[tokio::test]
async fn a_90_day_sync_equals_the_fake_s_truth_to_the_nano_dollar() {
    let fake = spawn().await;
    let window = ninety_days();
    let (result, stats) = fetch(&fake, window).await;
    let fetched = result.unwrap();
    let truth = fake.truth();
    let (from, to) = (date(window.from()), date(window.to()));

    // Gross cost per (day, account, service, usage type): every Usage record, exactly.
    let mut mine: BTreeMap<(time::Date, String, String), i64> = BTreeMap::new();
    let mut credits: BTreeMap<(time::Date, String, String), i64> = BTreeMap::new();
    for cost in &fetched.costs {
        assert_eq!(cost.currency.as_str(), "USD");
        assert_eq!(cost.api_key_id, None);
        let account = cost.workspace_id.clone().unwrap();
        if cost.credits.is_zero() {
            *mine
                .entry((cost.day.date(), account, cost.description.clone()))
                .or_default() += cost.cost.nanos();
        } else {
            assert_eq!(cost.cost, Money::ZERO, "{cost:?}");
            *credits
                .entry((cost.day.date(), account, cost.model.clone().unwrap()))
                .or_default() += cost.credits.nanos();
        }
    }
    let mut expected: BTreeMap<(time::Date, String, String), i64> = BTreeMap::new();
    let mut expected_credits: BTreeMap<(time::Date, String, String), i64> = BTreeMap::new();
    let mut usage_tokens: u64 = 0;
    for line in truth.bedrock_lines(from, to) {
        if line.record_type == "Usage" {
            *expected
                .entry((
                    line.day,
                    line.account_id.clone(),
                    format!("{}: {}", line.service, line.usage_type),
                ))
                .or_default() += line.unblended_nanos;
            usage_tokens += line.usage;
        } else {
            *expected_credits
                .entry((
                    line.day,
                    line.account_id.clone(),
                    credit_model(&line.service),
                ))
                .or_default() -= line.unblended_nanos;
        }
    }
    assert_eq!(mine, expected);
    assert_eq!(credits, expected_credits);
    assert!(
        credits
            .keys()
            .any(|(_, _, model)| model == "bedrock-general"),
        "credits on Amazon Bedrock itself"
    );
    assert!(
        credits
            .keys()
            .any(|(_, _, model)| model == "Claude Haiku 4.5"),
        "credits on a Marketplace model"
    );

    // Net = cost − credits equals every Bedrock record summed, to the nano-dollar.
    let net: i64 = fetched
        .costs
        .iter()
        .map(|c| (c.cost - c.credits).nanos())
        .sum();
    assert_eq!(net, nanos_of_dollars(&truth.bedrock_net_total(from, to)));
    let by_type = truth.bedrock_by_record_type(from, to);
    let gross: i64 = fetched.costs.iter().map(|c| c.cost.nanos()).sum();
    assert_eq!(gross, nanos_of_dollars(&by_type["Usage"]));

    // Tokens: UsageQuantity in the pricing unit (1K tokens first-party, 1M Marketplace) times
    // the unit is the fake's raw token count; each token counted once.
    let tokens: i64 = fetched
        .usage
        .iter()
        .map(|u| u.tokens.input + u.tokens.output)
        .sum();
    assert_eq!(tokens as u64, usage_tokens);
    for record in &fetched.usage {
        assert_eq!(
            record.requests, None,
            "Cost Explorer gives no request counts"
        );
        assert_eq!(record.api_key_id, None);
        assert_eq!(record.unit, Unit::tokens());
    }

    // The EC2 instance of the same accounts is not Bedrock spend.
    assert!(
        fetched
            .costs
            .iter()
            .all(|c| !c.description.contains("Elastic Compute Cloud")),
    );
    assert!(
        truth
            .lines(from, to)
            .iter()
            .any(|l| !l.is_bedrock && l.unblended_nanos > 0)
    );

    // Workspaces are the accounts, named.
    let mut accounts: Vec<(String, String)> = fetched
        .workspaces
        .iter()
        .map(|w| (w.provider_id.clone(), w.name.clone()))
        .collect();
    accounts.sort();
    let mut expected_accounts: Vec<(String, String)> = truth
        .accounts()
        .into_iter()
        .map(|a| (a.id, a.name))
        .collect();
    expected_accounts.sort();
    assert_eq!(accounts, expected_accounts);

    // Estimated days are a note, not an error.
    assert!(
        fetched
            .notes
            .iter()
            .any(|n| n.contains("3 days (2026-01-29 – 2026-01-31) are estimated")),
        "{:?}",
        fetched.notes
    );
    let counts = stats.snapshot();
    assert_eq!(counts.retries, 0);
    assert_eq!(counts.http_calls, counts.pages);
    // 3 discovery calls, then per account at least 3 pages of usage (30 days a page) and 1+
    // of credits.
    assert!(
        fake.log().count("GetCostAndUsage") >= 3 * 4,
        "{:?}",
        fake.log().served()
    );
    assert_eq!(fake.log().count("GetDimensionValues"), 3);
    assert!(
        fetched
            .notes
            .iter()
            .any(|n| n.contains(&format!("this sync made {} requests", counts.pages))),
        "{:?}",
        fetched.notes
    );
}

#[tokio::test]
async fn models_categories_and_token_directions_come_from_service_and_usage_type() {
    let fake = spawn().await;
    let window = ninety_days();
    let fetched = fetch(&fake, window).await.0.unwrap();
    let truth = fake.truth();
    let (from, to) = (date(window.from()), date(window.to()));

    let mut by_model: BTreeMap<String, (Category, i64, i64, i64, i64)> = BTreeMap::new();
    for record in &fetched.usage {
        let entry = by_model
            .entry(record.model.clone())
            .or_insert((record.category, 0, 0, 0, 0));
        assert_eq!(entry.0, record.category);
        entry.1 += record.tokens.input;
        entry.2 += record.tokens.cache_read;
        entry.3 += record.tokens.cache_write;
        entry.4 += record.tokens.output;
    }
    let raw = truth.bedrock_tokens_by_usage_type(from, to);
    let raw_of = |service: &str, usage_type: &str| -> i64 {
        raw.get(&(service.to_owned(), usage_type.to_owned()))
            .copied()
            .unwrap_or(0) as i64
    };
    let sonnet = "Claude Sonnet 4.5 (Amazon Bedrock Edition)";
    let (category, input, cache_read, cache_write, output) = by_model["Claude Sonnet 4.5"];
    assert_eq!(category, Category::Text);
    assert_eq!(
        cache_read,
        raw_of(sonnet, "USE1-MP:USE1_CacheReadInputTokenCount-Units")
    );
    assert_eq!(
        cache_write,
        raw_of(sonnet, "USE1-MP:USE1_CacheWriteInputTokenCount-Units")
    );
    // Input counts every input token, cached or not, global or not.
    assert_eq!(
        input,
        raw_of(sonnet, "USE1-MP:USE1_InputTokenCount-Units")
            + raw_of(sonnet, "USE1-MP:USE1_InputTokenCount_Global-Units")
            + cache_read
            + cache_write
    );
    assert_eq!(
        output,
        raw_of(sonnet, "USE1-MP:USE1_OutputTokenCount-Units")
            + raw_of(sonnet, "USE1-MP:USE1_OutputTokenCount_Global-Units")
    );
    let nova = by_model["nova-pro"];
    assert_eq!(
        nova.1,
        raw_of("Amazon Bedrock", "USE1-NovaPro-input-tokens")
    );
    assert_eq!(
        nova.4,
        raw_of("Amazon Bedrock", "USE1-NovaPro-output-tokens")
    );
    assert_eq!(by_model["titan-embed-text-v2"].0, Category::Embedding);
    assert!(
        by_model.contains_key("Claude Opus 4.1"),
        "a model that appears mid-window"
    );
    assert!(by_model.contains_key("Jamba 1.5 Mini"));
    assert!(by_model.contains_key("nova-lite"));
}

#[tokio::test]
async fn the_records_allocate_into_cost_lines_that_keep_every_nano_dollar() {
    let fake = spawn().await;
    let fetched = fetch(&fake, ninety_days()).await.0.unwrap();
    let cost: i64 = fetched.costs.iter().map(|c| c.cost.nanos()).sum();
    let credits: i64 = fetched.costs.iter().map(|c| c.credits.nanos()).sum();
    let tokens: i64 = fetched.usage.iter().map(|u| u.tokens.total()).sum();
    let lines = spendlens_domain::allocation::allocate(
        ProviderKind::Bedrock,
        fetched.usage,
        fetched.costs,
        &spendlens_domain::PriceCatalog::built_in(),
    );
    assert_eq!(lines.iter().map(|l| l.cost.nanos()).sum::<i64>(), cost);
    assert_eq!(
        lines.iter().map(|l| l.credits.nanos()).sum::<i64>(),
        credits
    );
    assert_eq!(lines.iter().map(|l| l.tokens.total()).sum::<i64>(), tokens);
    let general: Vec<_> = lines
        .iter()
        .filter(|l| l.model == "bedrock-general")
        .collect();
    assert!(!general.is_empty());
    assert!(
        general
            .iter()
            .all(|l| l.cost.is_zero() && l.requests.is_none())
    );
    assert!(lines.iter().all(|l| !l.allocated && l.api_key_id.is_none()));
}

#[tokio::test]
async fn pages_split_inside_a_day_are_read_once_each() {
    let fake = spawn_with(
        BedrockFake::builder()
            .seed(9)
            .linked_accounts(1)
            .page_periods(4)
            .page_groups(7),
    )
    .await;
    let window = range("2026-01-01", "2026-01-31");
    let (result, stats) = fetch(&fake, window).await;
    let fetched = result.unwrap();
    let truth = fake.truth();
    let (from, to) = (date(window.from()), date(window.to()));
    let net: i64 = fetched
        .costs
        .iter()
        .map(|c| (c.cost - c.credits).nanos())
        .sum();
    assert_eq!(net, nanos_of_dollars(&truth.bedrock_net_total(from, to)));
    assert_eq!(fetched.workspaces.len(), 1);
    assert!(
        fake.log().count("GetCostAndUsage") > 8,
        "{:?}",
        fake.log().served()
    );
    assert_eq!(stats.snapshot().http_calls, stats.snapshot().pages);
}

#[tokio::test]
async fn temporary_credentials_send_their_session_token() {
    let fake = spawn_with(
        BedrockFake::builder()
            .seed(4)
            .linked_accounts(1)
            .access_key_id("ASIATEMPORARYKEY0001")
            .session_token("session-token-from-sts"),
    )
    .await;
    let json = serde_json::json!({
        "accessKeyId": fake.access_key_id(),
        "secretAccessKey": fake.secret_access_key(),
        "sessionToken": fake.session_token().unwrap(),
        "region": "us-east-1",
    });
    let credential = Credential::parse(ProviderKind::Bedrock, &json.to_string()).unwrap();
    let window = range("2026-01-01", "2026-01-31");
    let fetched = fetch_window(
        &credential,
        &config(fake.endpoint_url()),
        window,
        &CallStats::new(),
    )
    .await
    .unwrap();
    let net: i64 = fetched
        .costs
        .iter()
        .map(|c| (c.cost - c.credits).nanos())
        .sum();
    let truth = fake.truth();
    assert_eq!(
        net,
        nanos_of_dollars(&truth.bedrock_net_total(date(window.from()), date(window.to())))
    );
}

#[tokio::test]
async fn a_key_without_cost_explorer_permissions_is_told_which_to_grant() {
    let fake = spawn().await;
    let credential = aws_credential(
        fake.no_permission_access_key_id(),
        fake.no_permission_secret_access_key(),
    );
    let stats = CallStats::new();
    let error = fetch_window(
        &credential,
        &config(fake.endpoint_url()),
        ninety_days(),
        &stats,
    )
    .await
    .unwrap_err();
    assert!(error.is_credential_rejected(), "{error:?}");
    let text = error.to_string();
    assert!(
        text.contains("ce:GetCostAndUsage and ce:GetDimensionValues"),
        "{text}"
    );
    assert!(text.contains("is not authorized to perform"), "{text}");
    assert!(!text.contains(fake.no_permission_secret_access_key()));
    assert_eq!(stats.snapshot().http_calls, 1, "no retry of a refusal");
}

#[tokio::test]
async fn a_revoked_or_mistyped_key_says_so() {
    let fake = spawn().await;
    fake.set_revoked(true);
    let error = fetch(&fake, ninety_days()).await.0.unwrap_err();
    assert!(error.is_credential_rejected(), "{error:?}");
    assert!(
        error
            .to_string()
            .contains("AWS does not know this access key id"),
        "{error}"
    );
    fake.set_revoked(false);
    let wrong_secret = aws_credential(fake.access_key_id(), "not-the-secret-0000000000000000");
    let error = fetch_window(
        &wrong_secret,
        &config(fake.endpoint_url()),
        ninety_days(),
        &CallStats::new(),
    )
    .await
    .unwrap_err();
    assert!(
        error
            .to_string()
            .contains("The secret access key does not belong to this access key id"),
        "{error}"
    );
}

#[tokio::test]
async fn cost_explorer_not_enabled_says_how_to_enable_it() {
    for state in [
        CostExplorerState::NotEnabledDataUnavailable,
        CostExplorerState::NotEnabledAccessDenied,
    ] {
        let fake = spawn_with(BedrockFake::builder().seed(1).cost_explorer(state)).await;
        let error = fetch(&fake, ninety_days()).await.0.unwrap_err();
        assert!(
            matches!(error, ProviderError::NotSetUp { .. }),
            "{state:?}: {error:?}"
        );
        let text = error.to_string();
        assert!(
            text.contains("Cost Explorer is not enabled for this AWS account"),
            "{text}"
        );
        assert!(
            text.contains("enable Cost Explorer once in the AWS console"),
            "{text}"
        );
        assert!(text.contains("within 24 h"), "{text}");
    }
}

#[tokio::test]
async fn throttling_is_retried_and_counted_and_a_storm_ends_in_a_clear_error() {
    let fake = spawn().await;
    fake.faults().add(
        FaultRule::new(Fault::RateLimited {
            retry_after_secs: 0,
        })
        .on_path("GetCostAndUsage")
        .times(4),
    );
    let (result, stats) = fetch(&fake, range("2026-01-01", "2026-01-31")).await;
    result.unwrap();
    let counts = stats.snapshot();
    assert_eq!(counts.retries, 4);
    assert_eq!(counts.http_calls, counts.pages + 4);

    let fake = spawn().await;
    fake.faults().add(
        FaultRule::new(Fault::RateLimited {
            retry_after_secs: 0,
        })
        .on_path("GetCostAndUsage")
        .times(u32::MAX),
    );
    let (result, stats) = fetch(&fake, range("2026-01-01", "2026-01-31")).await;
    let error = result.unwrap_err();
    assert!(
        matches!(
            error,
            ProviderError::RateLimited {
                retries: 6,
                page: 1,
                ..
            }
        ),
        "{error:?}"
    );
    assert!(error.is_retryable_later());
    assert!(error.to_string().contains("GetCostAndUsage"), "{error}");
    let counts = stats.snapshot();
    assert_eq!(counts.retries, 6);
    assert_eq!(
        counts.http_calls,
        3 + 7,
        "3 discovery calls, then 7 attempts"
    );
}

#[tokio::test]
async fn a_server_error_is_retried_and_a_malformed_page_is_an_error() {
    let fake = spawn().await;
    fake.faults()
        .add(FaultRule::new(Fault::ServerError(500)).on_path("GetCostAndUsage"));
    let (result, stats) = fetch(&fake, range("2026-01-01", "2026-01-31")).await;
    result.unwrap();
    assert_eq!(stats.snapshot().retries, 1);

    let fake = spawn().await;
    fake.faults().add(
        FaultRule::new(Fault::ServerError(503))
            .on_path("GetCostAndUsage")
            .times(u32::MAX),
    );
    let error = fetch(&fake, range("2026-01-01", "2026-01-31"))
        .await
        .0
        .unwrap_err();
    assert!(
        matches!(
            error,
            ProviderError::ServerError {
                status: 503,
                retries: 6,
                ..
            }
        ),
        "{error:?}"
    );

    let fake = spawn().await;
    fake.faults().add(
        FaultRule::new(Fault::Malformed)
            .on_path("GetCostAndUsage")
            .on_page(2),
    );
    let error = fetch(&fake, ninety_days()).await.0.unwrap_err();
    assert!(
        matches!(
            error,
            ProviderError::InvalidJson { page: 2, .. }
                | ProviderError::TruncatedPage { page: 2, .. }
        ),
        "{error:?}"
    );
    assert!(
        error.to_string().contains("GetCostAndUsage (page 2)"),
        "{error}"
    );

    let fake = spawn().await;
    fake.faults()
        .add(FaultRule::new(Fault::MissingField).on_path("GetCostAndUsage"));
    let error = fetch(&fake, ninety_days()).await.0.unwrap_err();
    assert!(
        matches!(error, ProviderError::UnexpectedPage { page: 1, .. }),
        "{error:?}"
    );
    assert!(
        error.to_string().contains("has no UnblendedCost amount"),
        "{error}"
    );
}

#[tokio::test]
async fn a_repeated_page_token_stops_the_sync_instead_of_counting_twice() {
    let fake = spawn().await;
    fake.faults().add(
        FaultRule::new(Fault::RepeatPage)
            .on_path("GetCostAndUsage")
            .on_page(2),
    );
    let error = fetch(&fake, ninety_days()).await.0.unwrap_err();
    assert!(
        matches!(error, ProviderError::RepeatedPage { page: 2, .. }),
        "{error:?}"
    );
    assert!(error.is_retryable_later());
}

#[tokio::test]
async fn a_window_older_than_cost_explorer_keeps_is_refused_with_advice() {
    let fake = spawn().await;
    let error = fetch(&fake, range("2024-06-01", "2024-06-30"))
        .await
        .0
        .unwrap_err();
    assert!(
        matches!(error, ProviderError::RequestRefused { .. }),
        "{error:?}"
    );
    assert!(
        error.to_string().contains("ValidationException")
            || error.to_string().contains("14 months"),
        "{error}"
    );
}

#[tokio::test]
#[expect(
    clippy::disallowed_methods,
    reason = "the live check reads the real last 30 days"
)]
async fn the_connection_check_lists_the_bedrock_services() {
    let fake = spawn_with(
        BedrockFake::builder().seed(3).today(
            time::OffsetDateTime::now_utc()
                .date()
                .previous_day()
                .unwrap(),
        ),
    )
    .await;
    let stats = CallStats::new();
    let check = check_connection(&credential(&fake), &config(fake.endpoint_url()), &stats)
        .await
        .unwrap();
    assert!(
        check.summary.contains("AWS Cost Explorer reachable"),
        "{}",
        check.summary
    );
    assert!(
        check.summary.contains("Amazon Bedrock"),
        "{}",
        check.summary
    );
    assert!(
        !check.summary.contains("Elastic Compute"),
        "{}",
        check.summary
    );
    assert_eq!(stats.snapshot().http_calls, 1);
}

// ---- a canned Cost Explorer for what the fake does not say ----------------------------------

type Answer = Arc<dyn Fn(&str, &serde_json::Value) -> (u16, String) + Send + Sync>;

struct CannedCe {
    base_url: String,
    requests: Arc<Mutex<Vec<(String, serde_json::Value)>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for CannedCe {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[derive(Clone)]
struct CannedState {
    answer: Answer,
    requests: Arc<Mutex<Vec<(String, serde_json::Value)>>>,
}

async fn canned_answer(State(state): State<CannedState>, request: Request) -> Response {
    let target = request
        .headers()
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body = to_bytes(request.into_body(), 1 << 20).await.unwrap();
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    state
        .requests
        .lock()
        .unwrap()
        .push((target.clone(), json.clone()));
    let (status, body) = (state.answer)(&target, &json);
    (
        StatusCode::from_u16(status).unwrap(),
        [("content-type", "application/x-amz-json-1.1")],
        body,
    )
        .into_response()
}

async fn canned_ce(answer: Answer) -> CannedCe {
    let requests = Arc::new(Mutex::new(Vec::new()));
    let state = CannedState {
        answer,
        requests: Arc::clone(&requests),
    };
    let router = Router::new().fallback(canned_answer).with_state(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    CannedCe {
        base_url: format!("http://{addr}"),
        requests,
        task,
    }
}

fn dimension_answer(body: &serde_json::Value) -> String {
    let values = match body["Dimension"].as_str().unwrap_or_default() {
        "SERVICE" => serde_json::json!([
            {"Value": "Amazon Bedrock", "Attributes": {}},
            {"Value": "Mistral Large 9 (Amazon Bedrock Edition)", "Attributes": {}},
            {"Value": "Amazon Bedrock AgentCore", "Attributes": {}}
        ]),
        "LINKED_ACCOUNT" => serde_json::json!([
            {"Value": "111122223333", "Attributes": {"description": "solo"}}
        ]),
        _ => serde_json::json!([
            {"Value": "USE1-NovaSonic-speech-seconds", "Attributes": {"unit": "Seconds"}}
        ]),
    };
    serde_json::json!({"DimensionValues": values, "ReturnSize": 1, "TotalSize": 1, "Brand": "new"})
        .to_string()
}

#[tokio::test]
async fn unknown_models_and_usage_types_are_kept_and_new_fields_ignored() {
    let answer: Answer = Arc::new(|target, body| {
        if target.ends_with("GetDimensionValues") {
            return (200, dimension_answer(body));
        }
        let by_record_type = body["GroupBy"][1]["Key"] == "RECORD_TYPE";
        let groups = if by_record_type {
            serde_json::json!([
                {"Keys": ["Mistral Large 9 (Amazon Bedrock Edition)", "Credit"],
                 "Metrics": {"UnblendedCost": {"Amount": "-0.5", "Unit": "USD"}, "UsageQuantity": {"Amount": "0", "Unit": "N/A"}}}
            ])
        } else {
            serde_json::json!([
                {"Keys": ["Mistral Large 9 (Amazon Bedrock Edition)", "USE1-MP:USE1_ReasoningTokenCount-Units"],
                 "Metrics": {"UnblendedCost": {"Amount": "2.25", "Unit": "USD", "Precision": 9},
                             "UsageQuantity": {"Amount": "0.25", "Unit": "N/A"}},
                 "Attribution": {"new": true}},
                {"Keys": ["Mistral Large 9 (Amazon Bedrock Edition)", "USE1-MP:USE1_OutputTokenCount-Units"],
                 "Metrics": {"UnblendedCost": {"Amount": "1.2E-5", "Unit": "USD"},
                             "UsageQuantity": {"Amount": "1e-6", "Unit": "N/A"}}},
                {"Keys": ["Mistral Large 9 (Amazon Bedrock Edition)", "USE1-MP:USE1_GuardrailTextUnit-Units"],
                 "Metrics": {"UnblendedCost": {"Amount": "0.1", "Unit": "USD"},
                             "UsageQuantity": {"Amount": "4", "Unit": "N/A"}}},
                {"Keys": ["Amazon Bedrock", "USE1-NovaSonic-speech-seconds"],
                 "Metrics": {"UnblendedCost": {"Amount": "0.75", "Unit": "USD"},
                             "UsageQuantity": {"Amount": "90", "Unit": "N/A"}}}
            ])
        };
        let page = serde_json::json!({
            "GroupDefinitions": [{"Type": "DIMENSION", "Key": "SERVICE"}, {"Type": "DIMENSION", "Key": body["GroupBy"][1]["Key"]}],
            "ResultsByTime": [{
                "TimePeriod": {"Start": "2026-01-05", "End": "2026-01-06"},
                "Total": {},
                "Groups": groups,
                "Estimated": false,
                "Confidence": "HIGH"
            }],
            "DimensionValueAttributes": [],
            "SomethingNew": {"a": [1, 2, 3]}
        });
        (200, page.to_string())
    });
    let canned = canned_ce(answer).await;
    let credential = aws_credential("AKIAABCDEFGHIJKLMNOP", "secret-secret-secret");
    let fetched = fetch_window(
        &credential,
        &config(&canned.base_url),
        range("2026-01-01", "2026-01-31"),
        &CallStats::new(),
    )
    .await
    .unwrap();

    let total: i64 = fetched.costs.iter().map(|c| c.cost.nanos()).sum();
    assert_eq!(total, 2_250_000_000 + 12_000 + 100_000_000 + 750_000_000);
    let mistral_tokens: i64 = fetched
        .usage
        .iter()
        .filter(|u| u.model == "Mistral Large 9" && u.unit == Unit::tokens())
        .map(|u| u.tokens.output)
        .sum();
    // Reasoning tokens are output; 1e-6 Units of 1M tokens is one token.
    assert_eq!(mistral_tokens, 250_000 + 1, "{:?}", fetched.usage);
    let guardrail = fetched
        .usage
        .iter()
        .find(|u| u.model == "Mistral Large 9" && u.unit != Unit::tokens())
        .unwrap();
    assert_eq!(guardrail.category, Category::Other);
    assert_eq!(guardrail.unit.as_str(), "units");
    assert_eq!(guardrail.quantity.micros(), 4_000_000);
    let reasoning = fetched
        .costs
        .iter()
        .find(|c| c.description.ends_with("ReasoningTokenCount-Units"))
        .unwrap();
    assert_eq!(reasoning.model.as_deref(), Some("Mistral Large 9"));
    assert_eq!(reasoning.cost.nanos(), 2_250_000_000);
    let sonic = fetched
        .usage
        .iter()
        .find(|u| u.model == "NovaSonic-speech-seconds")
        .unwrap();
    assert_eq!(sonic.category, Category::Other);
    assert_eq!(sonic.unit.as_str(), "seconds");
    assert_eq!(sonic.quantity.micros(), 90_000_000);
    let credit = fetched.costs.iter().find(|c| !c.credits.is_zero()).unwrap();
    assert_eq!(credit.model.as_deref(), Some("Mistral Large 9"));
    assert_eq!(credit.credits.nanos(), 500_000_000);
    assert_eq!(fetched.workspaces[0].provider_id, "111122223333");
    assert_eq!(fetched.workspaces[0].name, "solo");
    assert!(
        fetched
            .notes
            .iter()
            .any(|n| n.contains("Amazon Bedrock AgentCore")),
        "{:?}",
        fetched.notes
    );

    // The requests: the services found, the account and the record types in every filter.
    let requests = canned.requests.lock().unwrap().clone();
    let cost_requests: Vec<&serde_json::Value> = requests
        .iter()
        .filter(|(target, _)| target == "AWSInsightsIndexService.GetCostAndUsage")
        .map(|(_, body)| body)
        .collect();
    assert_eq!(cost_requests.len(), 2);
    let usage = cost_requests[0];
    assert_eq!(usage["Granularity"], "DAILY");
    assert_eq!(usage["TimePeriod"]["End"], "2026-02-01");
    assert_eq!(
        usage["Metrics"],
        serde_json::json!(["UnblendedCost", "UsageQuantity"])
    );
    let filters = usage["Filter"]["And"].as_array().unwrap();
    assert_eq!(
        filters[0]["Dimensions"]["Values"],
        serde_json::json!(["Amazon Bedrock", "Mistral Large 9 (Amazon Bedrock Edition)"])
    );
    assert_eq!(filters[1]["Dimensions"]["Key"], "LINKED_ACCOUNT");
    assert_eq!(
        filters[2]["Not"]["Dimensions"]["Values"],
        serde_json::json!(["Credit", "Refund", "Discount", "BundledDiscount"])
    );
    let credits = cost_requests[1];
    assert_eq!(credits["GroupBy"][1]["Key"], "RECORD_TYPE");
    assert_eq!(
        credits["Filter"]["And"][2]["Dimensions"]["Values"],
        serde_json::json!(["Credit", "Refund", "Discount", "BundledDiscount"])
    );
}

#[tokio::test]
async fn no_bedrock_spend_is_an_empty_window_with_a_note() {
    let answer: Answer = Arc::new(|target, _| {
        assert!(target.ends_with("GetDimensionValues"), "{target}");
        (
            200,
            r#"{"DimensionValues":[],"ReturnSize":0,"TotalSize":0}"#.to_owned(),
        )
    });
    let canned = canned_ce(answer).await;
    let fetched = fetch_window(
        &aws_credential("AKIAABCDEFGHIJKLMNOP", "secret-secret-secret"),
        &config(&canned.base_url),
        range("2026-01-01", "2026-01-31"),
        &CallStats::new(),
    )
    .await
    .unwrap();
    assert!(fetched.costs.is_empty() && fetched.usage.is_empty());
    assert!(
        fetched
            .notes
            .iter()
            .any(|n| n.contains("no Amazon Bedrock spend")),
        "{:?}",
        fetched.notes
    );
}

// ---- moto's server: the signed wire path -------------------------------------------------

/// moto's `moto_server`, started on a free port for this test binary and stopped on drop.
struct Moto {
    child: std::process::Child,
    base_url: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn find_on_path(program: &str) -> Option<std::path::PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

/// Starts moto, or says loudly why not. With `SPENDLENS_REQUIRE_MOTO=1` (CI) a missing moto
/// fails the test instead of skipping it.
async fn start_moto() -> Option<Moto> {
    let required = std::env::var("SPENDLENS_REQUIRE_MOTO").is_ok_and(|v| v == "1");
    let Some(program) = find_on_path("moto_server") else {
        assert!(
            !required,
            "SPENDLENS_REQUIRE_MOTO=1 but moto_server is not on PATH; install it with \
             python3 -m pip install 'moto[server]==5.2.5'"
        );
        eprintln!(
            "\n**********\nSKIPPED the moto test: moto_server is not on PATH. Install it with \
             python3 -m pip install 'moto[server]==5.2.5' (CI sets SPENDLENS_REQUIRE_MOTO=1).\n**********\n"
        );
        return None;
    };
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = std::process::Command::new(program)
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("moto_server starts");
    let moto = Moto {
        child,
        base_url: format!("http://127.0.0.1:{port}"),
    };
    for _ in 0..300 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return Some(moto);
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("moto_server did not open port {port} within 30 s");
}

/// In front of moto: answers GetDimensionValues (moto 5.2.5 does not implement it: HTTP 500)
/// and forwards every other request to moto byte for byte, after checking the SigV4 scope and
/// the JSON 1.1 headers.
#[derive(Clone)]
struct Proxy {
    moto: String,
    http: reqwest::Client,
    seen: Arc<Mutex<Vec<String>>>,
}

async fn proxy_answer(State(proxy): State<Proxy>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body: Bytes = to_bytes(body, 1 << 20).await.unwrap();
    let headers: &HeaderMap = &parts.headers;
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let target = header("x-amz-target");
    let authorization = header("authorization");
    assert!(
        authorization.starts_with("AWS4-HMAC-SHA256 Credential=AKIAMOTOTEST0000/")
            && authorization.contains("/us-east-1/ce/aws4_request"),
        "{authorization}"
    );
    assert_eq!(header("content-type"), "application/x-amz-json-1.1");
    proxy.seen.lock().unwrap().push(target.clone());
    if target.ends_with("GetDimensionValues") {
        let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
        let values = match json["Dimension"].as_str().unwrap_or_default() {
            "SERVICE" => serde_json::json!([
                {"Value": "Amazon Bedrock", "Attributes": {}},
                {"Value": "Claude 3.5 Sonnet (Amazon Bedrock Edition)", "Attributes": {}}
            ]),
            "LINKED_ACCOUNT" => serde_json::json!([
                {"Value": "123456789012", "Attributes": {"description": "moto account"}}
            ]),
            _ => serde_json::json!([]),
        };
        return (
            StatusCode::OK,
            [("content-type", "application/x-amz-json-1.1")],
            serde_json::json!({"DimensionValues": values}).to_string(),
        )
            .into_response();
    }
    let mut forward = proxy
        .http
        .post(format!("{}{}", proxy.moto, parts.uri.path()))
        .body(body.to_vec());
    for (name, value) in headers {
        if name != "host" && name != "content-length" {
            forward = forward.header(name.as_str(), value.as_bytes());
        }
    }
    let answer = forward.send().await.unwrap();
    let status = StatusCode::from_u16(answer.status().as_u16()).unwrap();
    let bytes = answer.bytes().await.unwrap();
    (
        status,
        [("content-type", "application/x-amz-json-1.1")],
        bytes.to_vec(),
    )
        .into_response()
}

#[tokio::test]
async fn the_signed_requests_work_against_moto_s_cost_explorer() {
    let Some(moto) = start_moto().await else {
        return;
    };
    let http = reqwest::Client::new();
    http.post(format!("{}/moto-api/reset", moto.base_url))
        .send()
        .await
        .unwrap();
    let sonnet = "Claude 3.5 Sonnet (Amazon Bedrock Edition)";
    let group = |service: &str, usage_type: &str, cost: &str, quantity: &str| {
        serde_json::json!({"Keys": [service, usage_type],
            "Metrics": {"UnblendedCost": {"Amount": cost, "Unit": "USD"},
                        "UsageQuantity": {"Amount": quantity, "Unit": "N/A"}}})
    };
    let day = |start: &str, end: &str, estimated: bool, groups: serde_json::Value| {
        serde_json::json!({"TimePeriod": {"Start": start, "End": end}, "Total": {},
            "Groups": groups, "Estimated": estimated})
    };
    // Queued in the order the connector asks: usage page 1, usage page 2, credits.
    let results = serde_json::json!({"results": [
        {"GroupDefinitions": [{"Type": "DIMENSION", "Key": "SERVICE"}, {"Type": "DIMENSION", "Key": "USAGE_TYPE"}],
         "ResultsByTime": [day("2025-01-01", "2025-01-02", false, serde_json::json!([
             group(sonnet, "USE1-MP:USE1_InputTokenCount-Units", "1.5", "0.5"),
             group("Amazon Bedrock", "USE1-NovaPro-output-tokens", "0.032", "10")]))],
         "DimensionValueAttributes": [], "NextPageToken": "tok-2"},
        {"GroupDefinitions": [{"Type": "DIMENSION", "Key": "SERVICE"}, {"Type": "DIMENSION", "Key": "USAGE_TYPE"}],
         "ResultsByTime": [day("2025-01-02", "2025-01-03", true, serde_json::json!([
             group(sonnet, "USE1-MP:USE1_OutputTokenCount-Units", "3", "0.2")]))],
         "DimensionValueAttributes": []},
        {"GroupDefinitions": [{"Type": "DIMENSION", "Key": "SERVICE"}, {"Type": "DIMENSION", "Key": "RECORD_TYPE"}],
         "ResultsByTime": [day("2025-01-01", "2025-01-02", false, serde_json::json!([
             group("Amazon Bedrock", "Credit", "-0.032", "0")]))],
         "DimensionValueAttributes": []}
    ]});
    let loaded = http
        .post(format!(
            "{}/moto-api/static/ce/cost-and-usage-results",
            moto.base_url
        ))
        .json(&results)
        .send()
        .await
        .unwrap();
    assert_eq!(loaded.status().as_u16(), 201);

    let seen = Arc::new(Mutex::new(Vec::new()));
    let proxy = Proxy {
        moto: moto.base_url.clone(),
        http: http.clone(),
        seen: Arc::clone(&seen),
    };
    let router = Router::new().fallback(proxy_answer).with_state(proxy);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });

    let credential = aws_credential("AKIAMOTOTEST0000", "moto-secret");
    let stats = CallStats::new();
    let config = ConnectorConfig::for_tests(url::Url::parse(&format!("http://{addr}")).unwrap());
    let result = fetch_window(
        &credential,
        &config,
        range("2025-01-01", "2025-01-02"),
        &stats,
    )
    .await;
    server.abort();
    let fetched = result.unwrap();

    let total: i64 = fetched.costs.iter().map(|c| c.cost.nanos()).sum();
    assert_eq!(total, 1_500_000_000 + 32_000_000 + 3_000_000_000);
    let credits: i64 = fetched.costs.iter().map(|c| c.credits.nanos()).sum();
    assert_eq!(credits, 32_000_000);
    let sonnet_usage: Vec<_> = fetched
        .usage
        .iter()
        .filter(|u| u.model == "Claude 3.5 Sonnet")
        .collect();
    assert_eq!(
        sonnet_usage.iter().map(|u| u.tokens.input).sum::<i64>(),
        500_000
    );
    assert_eq!(
        sonnet_usage.iter().map(|u| u.tokens.output).sum::<i64>(),
        200_000
    );
    let nova = fetched
        .usage
        .iter()
        .find(|u| u.model == "nova-pro")
        .unwrap();
    assert_eq!(nova.tokens.output, 10_000);
    assert_eq!(fetched.workspaces[0].provider_id, "123456789012");
    assert!(
        fetched
            .notes
            .iter()
            .any(|n| n.contains("2025-01-02 is estimated")),
        "{:?}",
        fetched.notes
    );
    let seen = seen.lock().unwrap().clone();
    assert_eq!(
        seen.iter()
            .filter(|t| t.ends_with("GetCostAndUsage"))
            .count(),
        3,
        "{seen:?}"
    );
}

#[tokio::test]
async fn edp_and_bundled_discounts_are_credits_not_netted_into_gross_cost() {
    let fake = spawn_with(BedrockFake::builder().seed(5).edp_discount_percent(3)).await;
    let window = ninety_days();
    let (result, _) = fetch(&fake, window).await;
    let fetched = result.unwrap();
    let truth = fake.truth();
    let (from, to) = (date(window.from()), date(window.to()));
    let by_type = truth.bedrock_by_record_type(from, to);
    let discount = nanos_of_dollars(&by_type["Discount"]);
    let bundled = nanos_of_dollars(&by_type["BundledDiscount"]);
    assert!(discount < 0 && bundled == -5_000_000_000, "{by_type:?}");

    // Gross cost is every Usage record and nothing else: the discounts do not shrink it.
    let gross: i64 = fetched.costs.iter().map(|c| c.cost.nanos()).sum();
    assert_eq!(gross, nanos_of_dollars(&by_type["Usage"]));
    // The discounts are credits, on their own lines, positive.
    let discounted: i64 = fetched
        .costs
        .iter()
        .filter(|c| c.description.starts_with("Discount on "))
        .map(|c| c.credits.nanos())
        .sum();
    assert_eq!(discounted, -discount);
    let bundled_credit: i64 = fetched
        .costs
        .iter()
        .filter(|c| c.description.starts_with("BundledDiscount on "))
        .map(|c| c.credits.nanos())
        .sum();
    assert_eq!(bundled_credit, 5_000_000_000);
    // Net still equals every Bedrock record summed.
    let net: i64 = fetched
        .costs
        .iter()
        .map(|c| (c.cost - c.credits).nanos())
        .sum();
    assert_eq!(net, nanos_of_dollars(&truth.bedrock_net_total(from, to)));
}
