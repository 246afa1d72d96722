//! The Runway fake over HTTP, as a connector sees it.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers outside #[test] functions: a failing test should stop loudly"
)]

use crate::support;

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Value, json};
use spendlens_fakes::runway::{RUNWAY_VERSION, RunningRunwayFake, RunwayFake, credits_to_usd};
use spendlens_fakes::{Fault, FaultRule};
use support::{Reply, client, send};
use time::Date;
use time::macros::date;

const TODAY: Date = date!(2025 - 06 - 30);
const USAGE: &str = "/v1/organization/usage";

async fn start(seed: u64) -> RunningRunwayFake {
    RunwayFake::builder()
        .seed(seed)
        .today(TODAY)
        .build()
        .spawn()
        .await
        .expect("spawn")
}

async fn post(fake: &RunningRunwayFake, body: Value) -> Reply {
    send(
        client()
            .post(format!("{}{USAGE}", fake.base_url()))
            .bearer_auth(fake.admin_key())
            .header("X-Runway-Version", RUNWAY_VERSION)
            .json(&body),
    )
    .await
}

async fn organization(fake: &RunningRunwayFake) -> Reply {
    send(
        client()
            .get(format!("{}/v1/organization", fake.base_url()))
            .bearer_auth(fake.admin_key())
            .header("X-Runway-Version", RUNWAY_VERSION),
    )
    .await
}

/// Credits per (date, model) of a usage response.
fn cells(reply: &Reply) -> BTreeMap<(Date, String), i64> {
    assert_eq!(reply.status, 200, "{}", reply.body);
    let body = reply.json();
    let mut out = BTreeMap::new();
    for day in body["results"].as_array().unwrap() {
        let date = Date::parse(
            day["date"].as_str().unwrap(),
            time::macros::format_description!("[year]-[month]-[day]"),
        )
        .unwrap();
        for used in day["usedCredits"].as_array().unwrap() {
            let amount = used["amount"].as_i64().expect("integer amount");
            let previous = out.insert((date, used["model"].as_str().unwrap().to_owned()), amount);
            assert!(previous.is_none(), "a (date, model) appears twice");
        }
    }
    out
}

#[tokio::test]
async fn auth_needs_the_bearer_key_and_the_version_header() {
    let fake = start(1).await;
    assert!(fake.admin_key().starts_with("key_"));
    let url = format!("{}{USAGE}", fake.base_url());
    let ask = |key: Option<&str>, version: Option<&str>| {
        let mut r = client().post(&url).json(&json!({}));
        if let Some(k) = key {
            r = r.bearer_auth(k);
        }
        if let Some(v) = version {
            r = r.header("X-Runway-Version", v);
        }
        send(r)
    };
    let key = Some(fake.admin_key());
    assert_eq!(ask(key, Some(RUNWAY_VERSION)).await.status, 200);
    let none = ask(None, Some(RUNWAY_VERSION)).await;
    assert_eq!(none.status, 401);
    assert!(none.json()["error"].is_string());
    assert_eq!(
        ask(Some("key_not-a-real-key"), Some(RUNWAY_VERSION))
            .await
            .status,
        401
    );
    let missing = ask(key, None).await;
    assert_eq!(missing.status, 400);
    assert!(
        missing.json()["error"]
            .as_str()
            .unwrap()
            .contains("X-Runway-Version")
    );
    let wrong = ask(key, Some("2023-01-01")).await;
    assert_eq!(wrong.status, 400, "{}", wrong.body);
    // The usage endpoint is a POST; a GET is refused.
    let get = send(
        client()
            .get(&url)
            .bearer_auth(fake.admin_key())
            .header("X-Runway-Version", RUNWAY_VERSION),
    )
    .await;
    assert_eq!(get.status, 405);
    fake.set_revoked(true);
    assert_eq!(ask(key, Some(RUNWAY_VERSION)).await.status, 401);
}

#[tokio::test]
async fn the_default_window_is_the_thirty_days_before_today() {
    let fake = start(2).await;
    let t = fake.truth();
    let (start_date, before) = t.default_window();
    assert_eq!((start_date, before), (date!(2025 - 05 - 31), TODAY));
    let last = before.previous_day().unwrap();
    let reply = post(&fake, json!({})).await;
    assert_eq!(cells(&reply), t.credits_by_day_model(start_date, last));
    // An empty body means the same.
    let empty = send(
        client()
            .post(format!("{}{USAGE}", fake.base_url()))
            .bearer_auth(fake.admin_key())
            .header("X-Runway-Version", RUNWAY_VERSION),
    )
    .await;
    assert_eq!(empty.body, reply.body);
    // Days without usage are absent; refunds make some amounts negative.
    let body = reply.json();
    let dates: Vec<&str> = body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["date"].as_str().unwrap())
        .collect();
    let quiet = t.days_without_usage(start_date, last);
    assert!(!quiet.is_empty());
    for day in &quiet {
        assert!(!dates.contains(&day.to_string().as_str()));
    }
    assert_eq!(dates.len() + quiet.len(), 30);
    assert!(!t.negative_cells(start_date, last).is_empty());
    assert!(
        body["results"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|d| d["usedCredits"].as_array().unwrap())
            .any(|u| u["amount"].as_i64().unwrap() < 0)
    );
    let models: Vec<String> = body["models"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap().to_owned())
        .collect();
    let expected: Vec<String> = t.credits_by_model(start_date, last).into_keys().collect();
    assert_eq!(models, expected);
    assert!(body.get("resultsByApiKey").is_none());
}

#[tokio::test]
async fn two_windows_of_at_most_ninety_days_cover_the_whole_history_exactly() {
    let fake = start(3).await;
    let t = fake.truth();
    let first = t.first_day();
    let mid = first + time::Duration::days(90);
    let end = TODAY.next_day().unwrap();
    let mut all = cells(
        &post(
            &fake,
            json!({"startDate": first.to_string(), "beforeDate": mid.to_string()}),
        )
        .await,
    );
    all.extend(cells(
        &post(
            &fake,
            json!({"startDate": mid.to_string(), "beforeDate": end.to_string()}),
        )
        .await,
    ));
    assert_eq!(all, t.credits_by_day_model(first, TODAY));
    let credits: i64 = all.values().sum();
    assert_eq!(credits, t.total_credits(first, TODAY));
    assert_eq!(credits_to_usd(credits), t.total_usd(first, TODAY));
    assert_eq!(credits_to_usd(-250), "-2.5");
    assert_eq!(credits_to_usd(12_345), "123.45");
    // Only startDate: beforeDate is 30 days later.
    let only_start = post(&fake, json!({"startDate": first.to_string()})).await;
    assert_eq!(
        cells(&only_start),
        t.credits_by_day_model(first, first + time::Duration::days(29))
    );
    let log = fake.log().requests_to(USAGE);
    assert_eq!(
        log[0].body,
        json!({"startDate": first.to_string(), "beforeDate": mid.to_string()}).to_string()
    );
}

#[tokio::test]
async fn invalid_bodies_get_400_with_the_issue() {
    let fake = start(4).await;
    let bad = |body: Value| post(&fake, body);
    let too_long = bad(json!({"startDate": "2025-01-01", "beforeDate": "2025-04-02"})).await;
    assert_eq!(too_long.status, 400);
    assert!(
        too_long.json()["error"]
            .as_str()
            .unwrap()
            .contains("90 days")
    );
    assert_eq!(too_long.json()["issues"][0]["path"][0], "beforeDate");
    let ninety = bad(json!({"startDate": "2025-01-01", "beforeDate": "2025-04-01"})).await;
    assert_eq!(ninety.status, 200, "{}", ninety.body);
    for body in [
        json!({"startDate": "2025-03-01", "beforeDate": "2025-03-01"}),
        json!({"startDate": "2025-03-05", "beforeDate": "2025-03-01"}),
        json!({"startDate": "2025/03/01"}),
        json!({"startDate": "2025-03-01T00:00:00Z"}),
        json!({"startDate": 20_250_301}),
        json!({"start_date": "2025-03-01"}),
        json!(["2025-03-01"]),
    ] {
        let reply = bad(body.clone()).await;
        assert_eq!(reply.status, 400, "{body}: {}", reply.body);
        assert!(reply.json()["error"].is_string());
    }
    let not_json = send(
        client()
            .post(format!("{}{USAGE}", fake.base_url()))
            .bearer_auth(fake.admin_key())
            .header("X-Runway-Version", RUNWAY_VERSION)
            .body("startDate=2025-03-01"),
    )
    .await;
    assert_eq!(not_json.status, 400);
}

#[tokio::test]
async fn the_organization_reports_balance_tier_and_daily_generations() {
    let fake = start(5).await;
    let t = fake.truth();
    let body = organization(&fake).await.json();
    assert_eq!(body["creditBalance"].as_i64(), Some(t.credit_balance()));
    assert!(t.credit_balance() > 0);
    assert_eq!(
        body["tier"]["maxMonthlyCreditSpend"].as_i64(),
        Some(t.max_monthly_credit_spend())
    );
    assert!(body["tier"]["models"]["act_two"]["maxDailyGenerations"].is_null());
    assert_eq!(
        body["tier"]["models"]["gen4.5"]["maxConcurrentGenerations"],
        2
    );
    let generations: BTreeMap<String, u64> = body["usage"]["models"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(m, v)| (m.clone(), v["dailyGenerations"].as_u64().unwrap()))
        .collect();
    assert_eq!(generations, t.daily_generations());
    assert!(!generations.is_empty());
}

#[tokio::test]
async fn every_fault_fires_on_both_endpoints() {
    let fake = start(6).await;
    fake.faults().add(FaultRule::new(Fault::RateLimited {
        retry_after_secs: 7,
    }));
    let limited = post(&fake, json!({})).await;
    assert_eq!(limited.status, 429);
    assert_eq!(limited.headers["retry-after"], "7");
    assert!(limited.json()["error"].is_string());
    fake.faults()
        .add(FaultRule::new(Fault::ServerError(503)).on_path("/v1/organization"));
    let failed = organization(&fake).await;
    assert_eq!(failed.status, 503);
    assert!(failed.json()["error"].is_string());
    fake.faults().add(FaultRule::new(Fault::Malformed));
    assert!(serde_json::from_str::<Value>(&post(&fake, json!({})).await.body).is_err());
    fake.faults().add(FaultRule::new(Fault::Truncated));
    let truncated = post(&fake, json!({})).await;
    assert_eq!(truncated.status, 200);
    assert!(serde_json::from_str::<Value>(&truncated.body).is_err());
    fake.faults()
        .add(FaultRule::new(Fault::MissingField).on_path(USAGE));
    let missing = post(&fake, json!({})).await.json();
    assert!(
        missing["results"][0]["usedCredits"][0]
            .get("amount")
            .is_none()
    );
    fake.faults()
        .add(FaultRule::new(Fault::MissingField).on_path("/v1/organization"));
    assert!(
        organization(&fake)
            .await
            .json()
            .get("creditBalance")
            .is_none()
    );
    let normal = post(&fake, json!({})).await;
    fake.faults().add(FaultRule::new(Fault::RepeatPage));
    assert_eq!(post(&fake, json!({})).await.body, normal.body);
    fake.faults()
        .add(FaultRule::new(Fault::Delay(Duration::from_millis(300))));
    let started = std::time::Instant::now();
    assert_eq!(post(&fake, json!({})).await.status, 200);
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(fake.faults().remaining(), 0);
    // Validation and auth come before faults.
    fake.faults().add(FaultRule::new(Fault::ServerError(500)));
    assert_eq!(post(&fake, json!({"bad": 1})).await.status, 400);
    assert_eq!(fake.faults().remaining(), 1);
}

#[tokio::test]
async fn the_same_seed_serves_the_same_bytes() {
    let (a, b, c) = (start(9).await, start(9).await, start(10).await);
    let body = json!({"startDate": "2025-04-01", "beforeDate": "2025-06-30"});
    let (ra, rb, rc) = (
        post(&a, body.clone()).await,
        post(&b, body.clone()).await,
        post(&c, body).await,
    );
    assert_eq!(ra.body, rb.body);
    assert_ne!(ra.body, rc.body);
    assert_eq!(a.admin_key(), b.admin_key());
    assert_ne!(a.admin_key(), c.admin_key());
    assert_eq!(organization(&a).await.body, organization(&b).await.body);
}
