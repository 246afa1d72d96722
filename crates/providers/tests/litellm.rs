//! The LiteLLM connector against the local fake of a LiteLLM proxy's spend endpoints
//! (spendlens-fakes).

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "test helpers, like tests, stop loudly (clippy only exempts #[test] functions)"
)]

use crate::common;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use common::{config, nanos_of_dollars, range, tiny_settings};
use spendlens_domain::{
    Category, Credential, DayRange, FetchedWindow, KeyStatus, ProviderKind, Unit,
};
use spendlens_fakes::litellm::{LiteLlmFake, RunningLiteLlmFake};
use spendlens_fakes::{Fault, FaultRule};
use spendlens_providers::{
    CallStats, ConnectorConfig, ProviderError, check_connection, fetch_window,
};
use time::Date;

async fn spawn() -> RunningLiteLlmFake {
    LiteLlmFake::builder()
        .seed(9)
        .build()
        .spawn()
        .await
        .unwrap()
}

/// The fake's 120 days: about 1,800 rollup rows, so two activity pages of 1,000.
fn all_days(fake: &RunningLiteLlmFake) -> DayRange {
    let truth = fake.truth();
    DayRange::new(
        spendlens_domain::Day::from_date(truth.first_day()),
        spendlens_domain::Day::from_date(truth.today()),
    )
    .unwrap()
}

fn credential_with(key: &str, base_url: &str) -> Credential {
    Credential::parse(
        ProviderKind::LiteLlm,
        &format!(r#"{{"apiKey": "{key}", "baseUrl": "{base_url}"}}"#),
    )
    .unwrap()
}

fn master(fake: &RunningLiteLlmFake) -> Credential {
    credential_with(fake.master_key(), "https://litellm.example.com")
}

async fn fetch_with(
    fake: &RunningLiteLlmFake,
    credential: &Credential,
    window: DayRange,
) -> (Result<FetchedWindow, ProviderError>, CallStats) {
    let stats = CallStats::new();
    let result = fetch_window(credential, &config(fake.base_url()), window, &stats).await;
    (result, stats)
}

async fn fetch(
    fake: &RunningLiteLlmFake,
    window: DayRange,
) -> (Result<FetchedWindow, ProviderError>, CallStats) {
    fetch_with(fake, &master(fake), window).await
}

#[tokio::test]
async fn spend_per_day_model_and_key_equals_the_fake_s_to_the_nano_dollar_across_split_pages() {
    let fake = spawn().await;
    let window = all_days(&fake);
    let (result, stats) = fetch(&fake, window).await;
    let fetched = result.unwrap();
    let truth = fake.truth();
    let (from, to) = (window.from().date(), window.to().date());

    // The rows are paged by date descending, 1,000 a page: find the date cut in two.
    let mut per_date: BTreeMap<Date, usize> = BTreeMap::new();
    for line in truth.lines(from, to) {
        *per_date.entry(line.date).or_default() += 1;
    }
    let mut seen = 0;
    let mut split = None;
    for (date, rows) in per_date.iter().rev() {
        if seen < 1000 && seen + rows > 1000 {
            split = Some(*date);
        }
        seen += rows;
    }
    let split = split.expect("a date split across the two pages");
    assert_eq!(fake.log().requests_to("/user/daily/activity").len(), 2);

    let total: i64 = fetched.costs.iter().map(|c| c.cost.nanos()).sum();
    assert_eq!(total as u64, truth.total_spend_nanos(from, to));
    let mut mine: BTreeMap<(Date, String, String), i64> = BTreeMap::new();
    for cost in &fetched.costs {
        assert!(cost.estimated, "{cost:?}");
        assert_eq!(cost.currency.as_str(), "USD");
        *mine
            .entry((
                cost.day.date(),
                cost.model.clone().unwrap(),
                cost.api_key_id.clone().unwrap(),
            ))
            .or_default() += cost.cost.nanos();
    }
    let expected: BTreeMap<(Date, String, String), i64> = truth
        .spend_usd_by_day_model_key(from, to)
        .into_iter()
        .map(|(cell, dollars)| (cell, nanos_of_dollars(&dollars)))
        .collect();
    assert_eq!(mine, expected);
    let on_split: i64 = fetched
        .costs
        .iter()
        .filter(|c| c.day.date() == split)
        .map(|c| c.cost.nanos())
        .sum();
    assert_eq!(
        on_split,
        nanos_of_dollars(&truth.spend_usd_by_day(split, split)[&split])
    );

    // Tokens and requests, every line tokens.
    let lines = truth.lines(from, to);
    let sum = |f: fn(&spendlens_fakes::litellm::SpendLine) -> u64| -> i64 {
        lines.iter().map(f).sum::<u64>() as i64
    };
    let usage = &fetched.usage;
    assert_eq!(
        usage.iter().map(|u| u.requests.unwrap()).sum::<i64>(),
        truth.total_requests(from, to) as i64
    );
    assert_eq!(
        usage.iter().map(|u| u.tokens.input).sum::<i64>(),
        sum(|l| l.prompt_tokens)
    );
    assert_eq!(
        usage.iter().map(|u| u.tokens.output).sum::<i64>(),
        sum(|l| l.completion_tokens)
    );
    assert_eq!(
        usage.iter().map(|u| u.tokens.cache_read).sum::<i64>(),
        sum(|l| l.cache_read_input_tokens)
    );
    assert_eq!(
        usage.iter().map(|u| u.tokens.cache_write).sum::<i64>(),
        sum(|l| l.cache_creation_input_tokens)
    );
    assert!(usage.iter().all(|u| u.unit == Unit::tokens()));
    assert!(
        usage
            .iter()
            .any(|u| u.model == "text-embedding-3-small" && u.category == Category::Embedding)
    );
    assert_eq!(stats.snapshot().retries, 0);
}

#[tokio::test]
async fn requests_use_the_documented_parameters() {
    let fake = spawn().await;
    let window = all_days(&fake);
    fetch(&fake, window).await.0.unwrap();
    let pages = fake.log().requests_to("/user/daily/activity");
    for (index, page) in pages.iter().enumerate() {
        assert_eq!(page.param("start_date"), Some(window.from().to_string()));
        assert_eq!(page.param("end_date"), Some(window.to().to_string()));
        assert_eq!(page.param("page_size").as_deref(), Some("1000"));
        assert_eq!(page.param("page"), Some((index + 1).to_string()));
        assert_eq!(page.param("user_id"), None);
    }
    let keys = &fake.log().requests_to("/key/list")[0];
    assert_eq!(keys.param("return_full_object").as_deref(), Some("true"));
    assert_eq!(keys.param("size").as_deref(), Some("100"));
}

#[tokio::test]
async fn keys_belong_to_their_teams_and_the_rest_to_the_proxy() {
    let fake = spawn().await;
    let fetched = fetch(&fake, all_days(&fake)).await.0.unwrap();
    let truth = fake.truth();

    let teams: BTreeMap<String, String> = truth
        .teams()
        .into_iter()
        .map(|t| (t.team_id, t.team_alias))
        .collect();
    let workspaces: BTreeMap<String, String> = fetched
        .workspaces
        .iter()
        .map(|w| (w.provider_id.clone(), w.name.clone()))
        .collect();
    for (id, alias) in &teams {
        assert_eq!(workspaces.get(id), Some(alias));
    }
    assert_eq!(
        workspaces.get("proxy").map(String::as_str),
        Some(format!("LiteLLM proxy at {}", &fake.base_url()["http://".len()..]).as_str())
    );

    let records: HashMap<&str, &spendlens_domain::ApiKeyRecord> = fetched
        .api_keys
        .iter()
        .map(|k| (k.provider_id.as_str(), k))
        .collect();
    for key in truth.keys() {
        let Some(record) = records.get(key.hash.as_str()) else {
            // Only keys with usage or in the list are named.
            assert!(key.key_alias.as_deref() == Some("ci-runner-5"), "{key:?}");
            continue;
        };
        let workspace = key.team_id.clone().unwrap_or_else(|| "proxy".to_owned());
        assert_eq!(
            record.workspace_id.as_deref(),
            Some(workspace.as_str()),
            "{key:?}"
        );
        assert_eq!(record.name, key.key_alias, "{key:?}");
        if key.deleted || key.master {
            assert_eq!(record.status, KeyStatus::Unlisted);
        } else {
            assert_eq!(record.status, KeyStatus::Active);
            assert!(record.hint.as_deref().unwrap().starts_with("sk-..."));
        }
    }
    // Usage lands on the key's team, or on the proxy.
    for record in &fetched.usage {
        let key = record.api_key_id.as_deref().unwrap();
        assert_eq!(record.workspace_id, records[key].workspace_id);
    }
    assert!(fetched.notes[0].contains("marked estimated"));
}

#[tokio::test]
async fn fetching_the_same_window_twice_gives_the_same_records() {
    let fake = spawn().await;
    let first = fetch(&fake, all_days(&fake)).await.0.unwrap();
    let second = fetch(&fake, all_days(&fake)).await.0.unwrap();
    assert_eq!(first.workspaces, second.workspaces);
    assert_eq!(first.api_keys, second.api_keys);
    assert_eq!(first.usage, second.usage);
    assert_eq!(first.costs, second.costs);
    assert_eq!(first.notes, second.notes);
}

#[tokio::test]
async fn a_non_admin_key_is_refused_with_what_key_to_use() {
    let fake = spawn().await;
    let credential = credential_with(fake.non_admin_key(), "https://litellm.example.com");
    let (result, stats) = fetch_with(&fake, &credential, all_days(&fake)).await;
    let err = result.unwrap_err();
    assert!(err.is_credential_rejected(), "{err:?}");
    assert_eq!(
        err.to_string(),
        "LiteLLM rejected the key on /team/list (HTTP 401: Only admin users can query all teams/other teams. \
         Your user role=internal_user). This key belongs to a LiteLLM user without an admin role, so the proxy \
         shows it only its own spend. Use the proxy's master key (LITELLM_MASTER_KEY), or a virtual key of a \
         user with the role proxy_admin or proxy_admin_viewer, and update the connection."
    );
    assert_eq!(stats.snapshot().http_calls, 1);

    // A virtual key of a proxy_admin user reads everything.
    let admin_user = credential_with(fake.truth().admin_user_key(), "https://x.example");
    let fetched = fetch_with(&fake, &admin_user, all_days(&fake))
        .await
        .0
        .unwrap();
    let total: i64 = fetched.costs.iter().map(|c| c.cost.nanos()).sum();
    let window = all_days(&fake);
    assert_eq!(
        total as u64,
        fake.truth()
            .total_spend_nanos(window.from().date(), window.to().date())
    );
}

#[tokio::test]
async fn a_revoked_master_key_is_rejected_with_what_to_do() {
    let fake = spawn().await;
    fake.set_revoked(true);
    let err = fetch(&fake, all_days(&fake)).await.0.unwrap_err();
    assert!(err.is_credential_rejected(), "{err:?}");
    let message = err.to_string();
    assert!(
        message.starts_with("LiteLLM rejected the key on /team/list (HTTP 401: Authentication Error, Invalid proxy server token passed."),
        "{message}"
    );
    assert!(
        message.contains("revoked, deleted, or mistyped"),
        "{message}"
    );
    assert!(!message.contains(fake.master_key()), "{message}");
}

#[tokio::test]
async fn a_few_rate_limits_are_waited_out_and_a_storm_is_reported() {
    let fake = spawn().await;
    fake.faults().add(
        FaultRule::new(Fault::RateLimited {
            retry_after_secs: 1,
        })
        .on_path("/user/daily/activity")
        .on_page(2)
        .times(2),
    );
    let (result, stats) = fetch(&fake, all_days(&fake)).await;
    result.unwrap();
    assert_eq!(stats.snapshot().retries, 2);

    fake.faults().add(
        FaultRule::new(Fault::RateLimited {
            retry_after_secs: 1,
        })
        .on_path("/key/list")
        .times(u32::MAX),
    );
    let err = fetch(&fake, all_days(&fake)).await.0.unwrap_err();
    assert_eq!(
        err.to_string(),
        "LiteLLM kept rate-limiting (HTTP 429) on /key/list (page 1) after 6 retries; try again later"
    );
}

#[tokio::test]
async fn a_server_error_on_the_second_activity_page_fails_the_window() {
    let fake = spawn().await;
    fake.faults().add(
        FaultRule::new(Fault::ServerError(500))
            .on_path("/user/daily/activity")
            .on_page(2)
            .times(u32::MAX),
    );
    let err = fetch(&fake, all_days(&fake)).await.0.unwrap_err();
    assert!(err.is_retryable_later());
    assert!(
        err.to_string().starts_with(
            "LiteLLM kept failing with HTTP 500 on /user/daily/activity (page 2) after 6 retries (Internal Server Error)"
        ),
        "{err}"
    );
}

#[tokio::test]
async fn a_page_served_twice_stops_the_fetch() {
    let fake = spawn().await;
    fake.faults().add(
        FaultRule::new(Fault::RepeatPage)
            .on_path("/user/daily/activity")
            .on_page(2),
    );
    let err = fetch(&fake, all_days(&fake)).await.0.unwrap_err();
    assert!(
        matches!(err, ProviderError::RepeatedPage { page: 2, .. }),
        "{err:?}"
    );
    assert!(
        err.to_string().starts_with(
            "LiteLLM sent a page cursor on /user/daily/activity (page 2) that points back to a page already read"
        ),
        "{err}"
    );
}

#[tokio::test]
async fn truncated_malformed_and_spendless_pages_are_told_apart() {
    let fake = spawn().await;
    fake.faults().add(
        FaultRule::new(Fault::Truncated)
            .on_path("/user/daily/activity")
            .on_page(2),
    );
    let err = fetch(&fake, all_days(&fake)).await.0.unwrap_err();
    assert!(
        matches!(err, ProviderError::TruncatedPage { page: 2, .. }),
        "{err:?}"
    );

    fake.faults()
        .add(FaultRule::new(Fault::Malformed).on_path("/key/list"));
    let err = fetch(&fake, all_days(&fake)).await.0.unwrap_err();
    assert!(
        matches!(err, ProviderError::InvalidJson { page: 1, .. }),
        "{err:?}"
    );

    fake.faults()
        .add(FaultRule::new(Fault::MissingField).on_path("/user/daily/activity"));
    let err = fetch(&fake, all_days(&fake)).await.0.unwrap_err();
    assert!(
        matches!(err, ProviderError::UnexpectedPage { page: 1, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("has no spend"), "{err}");
}

#[tokio::test]
async fn the_base_url_comes_from_the_credential_unless_the_connection_overrides_it() {
    let fake = spawn().await;
    let credential = credential_with(fake.master_key(), fake.base_url());
    let no_override = ConnectorConfig {
        base_url: None,
        http: tiny_settings(),
        services: Default::default(),
    };
    let stats = CallStats::new();
    let check = check_connection(&credential, &no_override, &stats)
        .await
        .unwrap();
    assert_eq!(
        check.summary,
        format!(
            "LiteLLM proxy at {} reachable with an admin key: 3 teams visible",
            &fake.base_url()["http://".len()..]
        )
    );
    assert_eq!(stats.snapshot().http_calls, 1);

    // An override wins over the credential's (here unreachable) base URL.
    let elsewhere = credential_with(fake.master_key(), "http://127.0.0.1:9");
    let check = check_connection(&elsewhere, &config(fake.base_url()), &CallStats::new())
        .await
        .unwrap();
    assert!(check.summary.contains("3 teams"), "{}", check.summary);
}

/// A proxy answering by path and `api_key` parameter, for what the fake does not do.
struct Scripted {
    base_url: String,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Scripted {
    fn drop(&mut self) {
        self.task.abort();
    }
}

type Answers = HashMap<(String, Option<String>), (u16, String)>;

async fn answer(State(answers): State<Arc<Answers>>, request: Request) -> Response {
    let key = request.uri().query().and_then(|query| {
        url::form_urlencoded::parse(query.as_bytes())
            .find(|(name, _)| name == "api_key")
            .map(|(_, value)| value.into_owned())
    });
    let (status, body) = answers
        .get(&(request.uri().path().to_owned(), key))
        .cloned()
        .unwrap_or((404, r#"{"detail":"Not Found"}"#.to_owned()));
    (
        axum::http::StatusCode::from_u16(status).unwrap(),
        [("content-type", "application/json")],
        body,
    )
        .into_response()
}

async fn scripted(answers: &[(&str, Option<&str>, u16, &str)]) -> Scripted {
    let answers: Answers = answers
        .iter()
        .map(|(path, key, status, body)| {
            (
                ((*path).to_owned(), key.map(str::to_owned)),
                (*status, (*body).to_owned()),
            )
        })
        .collect();
    let router = Router::new().fallback(answer).with_state(Arc::new(answers));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    Scripted {
        base_url: format!("http://{addr}"),
        task,
    }
}

#[tokio::test]
async fn an_old_proxy_without_key_breakdown_is_asked_key_by_key() {
    // No api_key_breakdown, no /team/list, no /key/list, flat breakdown cells (the docs'
    // example shape), unknown models and fields.
    let global = r#"{"results":[{"date":"2026-01-30","metrics":{"spend":0.75},
        "breakdown":{"models":{"gpt-9-turbo":{"spend":0.5,"prompt_tokens":100,"completion_tokens":10,"api_requests":4},
                               "claude-next":{"spend":0.25,"prompt_tokens":50,"completion_tokens":5,"api_requests":1,"shiny":true}},
                     "providers":{"openai":{"spend":0.75}},
                     "api_keys":{"h1":{"metrics":{"spend":0.3},"metadata":{"key_alias":"one","team_id":"team-a"}},
                                 "h2":{"metrics":{"spend":0.25},"metadata":{"key_alias":"two"}}}}}],
        "metadata":{"total_spend":0.75,"total_api_requests":5}}"#;
    let h1 = r#"{"results":[{"date":"2026-01-30","metrics":{"spend":0.3},
        "breakdown":{"models":{"gpt-9-turbo":{"spend":0.3,"prompt_tokens":60,"completion_tokens":6,"api_requests":3}},"api_keys":{}}}],
        "metadata":{}}"#;
    let h2 = r#"{"results":[{"date":"2026-01-30","metrics":{"spend":0.25},
        "breakdown":{"models":{"claude-next":{"spend":0.25,"prompt_tokens":50,"completion_tokens":5,"api_requests":1}},"api_keys":{}}}]}"#;
    let server = scripted(&[
        ("/user/daily/activity", None, 200, global),
        ("/user/daily/activity", Some("h1"), 200, h1),
        ("/user/daily/activity", Some("h2"), 200, h2),
    ])
    .await;
    let credential = credential_with("sk-master-1234", &server.base_url);
    let fetched = fetch_window(
        &credential,
        &config(&server.base_url),
        range("2026-01-30", "2026-01-30"),
        &CallStats::new(),
    )
    .await
    .unwrap();
    type Line = (Option<String>, String, i64, Option<i64>, Option<String>);
    let lines: Vec<Line> = fetched
        .usage
        .iter()
        .zip(&fetched.costs)
        .map(|(u, c)| {
            (
                c.api_key_id.clone(),
                c.model.clone().unwrap(),
                c.cost.nanos(),
                u.requests,
                u.workspace_id.clone(),
            )
        })
        .collect();
    assert_eq!(
        lines,
        [
            // What no key explains: gpt-9-turbo's $0.20 and one request.
            (
                None,
                "gpt-9-turbo".to_owned(),
                200_000_000,
                Some(1),
                Some("proxy".to_owned())
            ),
            (
                Some("h1".to_owned()),
                "gpt-9-turbo".to_owned(),
                300_000_000,
                Some(3),
                Some("team-a".to_owned())
            ),
            (
                Some("h2".to_owned()),
                "claude-next".to_owned(),
                250_000_000,
                Some(1),
                Some("proxy".to_owned())
            ),
        ]
    );
    assert!(
        fetched
            .notes
            .iter()
            .any(|n| n.contains("each key's activity was asked for separately"))
    );
    assert!(
        fetched.notes.iter().any(
            |n| n.starts_with("$0.20 of this window's LiteLLM spend is tied to no virtual key")
        )
    );
    let names: Vec<(String, String)> = fetched
        .workspaces
        .iter()
        .map(|w| (w.provider_id.clone(), w.name.clone()))
        .collect();
    assert_eq!(
        names,
        [
            (
                "proxy".to_owned(),
                format!("LiteLLM proxy at {}", &server.base_url["http://".len()..])
            ),
            ("team-a".to_owned(), "team-a".to_owned()),
        ]
    );
    assert!(
        fetched
            .api_keys
            .iter()
            .all(|k| k.status == KeyStatus::Unlisted)
    );
}

#[tokio::test]
async fn spend_with_no_model_is_kept_as_its_own_line_and_totals_match() {
    let fake = LiteLlmFake::builder()
        .seed(9)
        .modelless_spend(true)
        .build()
        .spawn()
        .await
        .unwrap();
    let window = all_days(&fake);
    let (result, _) = fetch(&fake, window).await;
    let fetched = result.unwrap();
    let truth = fake.truth();
    let (from, to) = (window.from().date(), window.to().date());
    let modelless: u64 = truth
        .lines(from, to)
        .iter()
        .filter(|line| line.model.is_empty())
        .map(|line| line.spend_nanos)
        .sum();
    assert!(modelless > 0);
    // Every day's total, model-less spend included, to the nano-dollar.
    let total: i64 = fetched.costs.iter().map(|c| c.cost.nanos()).sum();
    assert_eq!(total as u64, truth.total_spend_nanos(from, to));
    let unknown: i64 = fetched
        .costs
        .iter()
        .filter(|c| c.model.as_deref() == Some("unknown"))
        .inspect(|c| assert_eq!(c.api_key_id, None, "{c:?}"))
        .map(|c| c.cost.nanos())
        .sum();
    assert_eq!(unknown as u64, modelless);
    // Per day too.
    let mut per_day: BTreeMap<Date, i64> = BTreeMap::new();
    for cost in &fetched.costs {
        *per_day.entry(cost.day.date()).or_default() += cost.cost.nanos();
    }
    let expected: BTreeMap<Date, i64> = truth
        .spend_usd_by_day(from, to)
        .into_iter()
        .map(|(day, dollars)| (day, nanos_of_dollars(&dollars)))
        .collect();
    assert_eq!(per_day, expected);
    assert!(
        fetched.notes.iter().any(|n| n.contains("names no model")),
        "{:?}",
        fetched.notes
    );
}

#[tokio::test]
async fn a_row_repeated_across_shifted_offset_pages_is_counted_once() {
    let fake = spawn().await;
    fake.faults().add(
        FaultRule::new(Fault::ShiftedPage)
            .on_path("/user/daily/activity")
            .times(u32::MAX),
    );
    let window = all_days(&fake);
    let (result, _) = fetch(&fake, window).await;
    let fetched = result.unwrap();
    let truth = fake.truth();
    let (from, to) = (window.from().date(), window.to().date());
    let total: i64 = fetched.costs.iter().map(|c| c.cost.nanos()).sum();
    assert_eq!(total as u64, truth.total_spend_nanos(from, to));
    let mut mine: BTreeMap<(Date, String, String), i64> = BTreeMap::new();
    for cost in &fetched.costs {
        *mine
            .entry((
                cost.day.date(),
                cost.model.clone().unwrap(),
                cost.api_key_id.clone().unwrap_or_default(),
            ))
            .or_default() += cost.cost.nanos();
    }
    let expected: BTreeMap<(Date, String, String), i64> = truth
        .spend_usd_by_day_model_key(from, to)
        .into_iter()
        .map(|(cell, dollars)| (cell, nanos_of_dollars(&dollars)))
        .collect();
    assert_eq!(mine, expected);
    assert!(
        fetched
            .notes
            .iter()
            .any(|n| n.contains("came back on two activity pages")),
        "{:?}",
        fetched.notes
    );
}
