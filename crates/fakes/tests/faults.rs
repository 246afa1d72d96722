//! Fault injection, on both fakes: each fault fires as specified, only where and as often as
//! its rule says.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers outside #[test] functions: a failing test should stop loudly"
)]

use crate::support;

use std::time::Duration;

use serde_json::Value;
use spendlens_fakes::anthropic::{AnthropicFake, RunningAnthropicFake};
use spendlens_fakes::openai::{OpenAiFake, RunningOpenAiFake};
use spendlens_fakes::{Fault, FaultRule};
use support::{Reply, client, send};
use time::macros::date;

async fn openai() -> RunningOpenAiFake {
    OpenAiFake::builder()
        .seed(3)
        .today(date!(2025 - 06 - 30))
        .days(60)
        .build()
        .spawn()
        .await
        .unwrap()
}

async fn anthropic() -> RunningAnthropicFake {
    AnthropicFake::builder()
        .seed(3)
        .today(date!(2025 - 06 - 30))
        .days(60)
        .build()
        .spawn()
        .await
        .unwrap()
}

/// Costs for 30 days, 7 per page; `page` is a cursor.
async fn openai_costs(fake: &RunningOpenAiFake, page: Option<&str>) -> Reply {
    let start = date!(2025 - 06 - 01)
        .midnight()
        .assume_utc()
        .unix_timestamp();
    let mut query = vec![
        ("start_time", start.to_string()),
        ("end_time", (start + 30 * 86_400).to_string()),
    ];
    if let Some(p) = page {
        query.push(("page", p.to_owned()));
    }
    let url = format!("{}/organization/costs", fake.base_url());
    send(
        client()
            .get(url)
            .bearer_auth(fake.admin_key())
            .query(&query),
    )
    .await
}

async fn anthropic_get(fake: &RunningAnthropicFake, path: &str, query: &[(&str, &str)]) -> Reply {
    let url = format!("{}{path}", fake.base_url());
    send(
        client()
            .get(url)
            .header("x-api-key", fake.admin_key())
            .header("anthropic-version", "2023-06-01")
            .query(query),
    )
    .await
}

const USAGE: &str = "/v1/organizations/usage_report/messages";
const WINDOW: [(&str, &str); 2] = [
    ("starting_at", "2025-06-01T00:00:00Z"),
    ("ending_at", "2025-07-01T00:00:00Z"),
];

fn next_page(reply: &Reply) -> String {
    reply.json()["next_page"]
        .as_str()
        .expect("next_page")
        .to_owned()
}

#[tokio::test]
async fn rate_limits_send_429_with_retry_after_then_recover() {
    let fake = openai().await;
    fake.faults().add(
        FaultRule::new(Fault::RateLimited {
            retry_after_secs: 3,
        })
        .on_path("/costs")
        .times(2),
    );
    for _ in 0..2 {
        let reply = openai_costs(&fake, None).await;
        assert_eq!(reply.status, 429);
        assert_eq!(reply.headers["retry-after"], "3");
        assert_eq!(reply.json()["error"]["code"], "rate_limit_exceeded");
    }
    assert_eq!(openai_costs(&fake, None).await.status, 200);
    assert_eq!(fake.faults().fired(), 2);
    assert_eq!(fake.requests_served()["/v1/organization/costs"], 3);

    let fake = anthropic().await;
    fake.faults().add(FaultRule::new(Fault::RateLimited {
        retry_after_secs: 1,
    }));
    let reply = anthropic_get(&fake, USAGE, &WINDOW).await;
    assert_eq!(reply.status, 429);
    assert_eq!(reply.headers["retry-after"], "1");
    let body = reply.json();
    assert_eq!(body["type"], "error");
    assert_eq!(body["error"]["type"], "rate_limit_error");
    assert_eq!(anthropic_get(&fake, USAGE, &WINDOW).await.status, 200);
}

#[tokio::test]
async fn server_errors_use_each_providers_envelope() {
    let fake = openai().await;
    fake.faults().add(FaultRule::new(Fault::ServerError(503)));
    let reply = openai_costs(&fake, None).await;
    assert_eq!(reply.status, 503);
    assert_eq!(reply.json()["error"]["type"], "server_error");

    let fake = anthropic().await;
    fake.faults().add(FaultRule::new(Fault::ServerError(529)));
    fake.faults().add(FaultRule::new(Fault::ServerError(500)));
    let overloaded = anthropic_get(&fake, USAGE, &WINDOW).await;
    assert_eq!(overloaded.status, 529);
    assert_eq!(overloaded.json()["error"]["type"], "overloaded_error");
    let internal = anthropic_get(&fake, USAGE, &WINDOW).await;
    assert_eq!(internal.status, 500);
    assert_eq!(internal.json()["error"]["type"], "api_error");
}

#[tokio::test]
async fn malformed_and_truncated_pages_are_200s_that_do_not_parse() {
    let fake = openai().await;
    let whole = openai_costs(&fake, None).await.body;
    fake.faults().add(FaultRule::new(Fault::Malformed));
    fake.faults().add(FaultRule::new(Fault::Truncated));
    let malformed = openai_costs(&fake, None).await;
    assert_eq!(malformed.status, 200);
    assert!(serde_json::from_str::<Value>(&malformed.body).is_err());
    let truncated = openai_costs(&fake, None).await;
    assert_eq!(truncated.status, 200);
    assert!(serde_json::from_str::<Value>(&truncated.body).is_err());
    assert_eq!(truncated.body, whole[..whole.len() / 2]);
}

#[tokio::test]
async fn a_repeated_page_returns_the_cursor_it_was_sent() {
    let fake = openai().await;
    fake.faults().add(
        FaultRule::new(Fault::RepeatPage)
            .on_path("/costs")
            .on_page(2),
    );
    let first = openai_costs(&fake, None).await;
    let cursor = next_page(&first);
    let second = openai_costs(&fake, Some(&cursor)).await;
    assert_eq!(second.status, 200);
    assert_eq!(next_page(&second), cursor, "the listing does not advance");
    assert_eq!(second.json()["has_more"], true);
    // Used up: the same request now advances.
    let again = openai_costs(&fake, Some(&cursor)).await;
    assert_ne!(next_page(&again), cursor);

    // On the first page the cursor leads back to the first page.
    fake.faults()
        .add(FaultRule::new(Fault::RepeatPage).on_page(1));
    let repeated = openai_costs(&fake, None).await;
    let back = openai_costs(&fake, Some(&next_page(&repeated))).await;
    assert_eq!(back.json()["data"], first.json()["data"]);

    // Lists: last_id stays the `after_id` that was sent.
    let fake = anthropic().await;
    let keys = "/v1/organizations/api_keys";
    let page1 = anthropic_get(&fake, keys, &[("limit", "3")]).await.json();
    let after = page1["last_id"].as_str().unwrap().to_owned();
    fake.faults().add(
        FaultRule::new(Fault::RepeatPage)
            .on_path("api_keys")
            .on_page(2),
    );
    let page2 = anthropic_get(&fake, keys, &[("limit", "3"), ("after_id", &after)])
        .await
        .json();
    assert_eq!(page2["last_id"], after.as_str());
    assert_eq!(page2["has_more"], true);
}

#[tokio::test]
async fn a_delay_makes_a_client_time_out() {
    let fake = openai().await;
    fake.faults()
        .add(FaultRule::new(Fault::Delay(Duration::from_secs(2))));
    let url = format!("{}/organization/projects", fake.base_url());
    let slow = client()
        .get(&url)
        .bearer_auth(fake.admin_key())
        .timeout(Duration::from_millis(200))
        .send()
        .await;
    assert!(slow.expect_err("times out").is_timeout());
    let fast = send(client().get(&url).bearer_auth(fake.admin_key())).await;
    assert_eq!(fast.status, 200);
}

#[tokio::test]
async fn a_missing_field_leaves_a_required_figure_out() {
    let fake = anthropic().await;
    fake.faults()
        .add(FaultRule::new(Fault::MissingField).on_path("usage_report"));
    fake.faults()
        .add(FaultRule::new(Fault::MissingField).on_path("cost_report"));
    let usage = anthropic_get(&fake, USAGE, &WINDOW).await.json();
    let results: Vec<&Value> = usage["data"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|b| b["results"].as_array().unwrap())
        .collect();
    assert!(!results.is_empty());
    assert!(
        results
            .iter()
            .all(|r| r.get("output_tokens").is_none() && r.get("uncached_input_tokens").is_some())
    );
    let cost = anthropic_get(&fake, "/v1/organizations/cost_report", &WINDOW)
        .await
        .json();
    assert!(cost["data"][0]["results"][0].get("amount").is_none());

    let fake = openai().await;
    fake.faults().add(FaultRule::new(Fault::MissingField));
    let start = date!(2025 - 06 - 01)
        .midnight()
        .assume_utc()
        .unix_timestamp()
        .to_string();
    let url = format!("{}/organization/usage/completions", fake.base_url());
    let page = send(
        client()
            .get(url)
            .bearer_auth(fake.admin_key())
            .query(&[("start_time", &start)]),
    )
    .await
    .json();
    let r = &page["data"][0]["results"][0];
    assert!(r.get("output_tokens").is_none() && r.get("input_tokens").is_some());
}

#[tokio::test]
async fn faults_never_hide_auth_failures_and_only_match_their_rule() {
    let fake = openai().await;
    fake.faults()
        .add(FaultRule::new(Fault::ServerError(500)).on_path("/costs"));
    let url = format!("{}/organization/costs", fake.base_url());
    let unauthorized = send(client().get(&url).bearer_auth("sk-admin-wrong-key-0000")).await;
    assert_eq!(unauthorized.status, 401);
    let projects = send(
        client()
            .get(format!("{}/organization/projects", fake.base_url()))
            .bearer_auth(fake.admin_key()),
    )
    .await;
    assert_eq!(projects.status, 200);
    assert_eq!(fake.faults().remaining(), 1);
    assert_eq!(openai_costs(&fake, None).await.status, 500);
    assert_eq!(fake.faults().remaining(), 0);
    let log = fake.log().requests();
    assert_eq!(log.len(), 3);
    assert!(log[2].query.contains("start_time="));
}
