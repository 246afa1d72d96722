//! The PiAPI fake over HTTP, checked against shared/providers/piapi.md rather than against the
//! connector.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers outside #[test] functions: a failing test should stop loudly"
)]

use crate::support;

use serde_json::Value;
use spendlens_fakes::piapi::{PiApiFake, RunningPiApiFake};
use spendlens_fakes::{Fault, FaultRule};
use support::{Reply, client, scaled_decimal, send};

async fn start() -> RunningPiApiFake {
    PiApiFake::builder().seed(9).build().spawn().await.unwrap()
}

async fn get(fake: &RunningPiApiFake, path_and_query: &str) -> Reply {
    send(
        client()
            .get(format!("{}{path_and_query}", fake.base_url()))
            .header("X-API-Key", fake.admin_key()),
    )
    .await
}

fn rows(reply: &Reply) -> Vec<Value> {
    reply.json()["data"]["data"].as_array().unwrap().clone()
}

#[tokio::test]
async fn the_account_is_wrapped_and_carries_the_key_and_an_exact_balance() {
    let fake = start().await;
    let reply = get(&fake, "/account/info").await;
    assert_eq!(reply.status, 200);
    let body = reply.json();
    assert_eq!(body["code"], 200);
    assert_eq!(body["data"]["api_key"], fake.admin_key());
    assert!(reply.body.contains(&format!(
        "\"equivalent_in_usd\":{}",
        fake.truth().balance_usd()
    )));
    let bare = PiApiFake::builder()
        .seed(9)
        .bare_account(true)
        .build()
        .spawn()
        .await
        .unwrap();
    assert_eq!(get(&bare, "/account/info").await.json()["id"], 48213);
}

#[tokio::test]
async fn a_bad_key_gets_401_or_an_error_code_in_a_200() {
    let fake = start().await;
    let reply = send(
        client()
            .get(format!("{}/account/info", fake.base_url()))
            .header("x-api-key", "nope"),
    )
    .await;
    assert_eq!(
        (reply.status, reply.json()["code"].clone()),
        (401, Value::from(401))
    );
    let body_errors = PiApiFake::builder()
        .errors_in_body(true)
        .build()
        .spawn()
        .await
        .unwrap();
    let reply = send(
        client()
            .get(format!("{}/account/info", body_errors.base_url()))
            .header("x-api-key", "nope"),
    )
    .await;
    assert_eq!(
        (reply.status, reply.json()["code"].clone()),
        (200, Value::from(10001))
    );
}

#[tokio::test]
async fn history_is_newest_first_paged_filtered_and_exact() {
    let fake = start().await;
    let truth = fake.truth();
    let (from, to) = (truth.first_day(), truth.today());
    let start = time::OffsetDateTime::new_utc(from, time::Time::MIDNIGHT).unix_timestamp();
    let end = time::OffsetDateTime::new_utc(to, time::Time::MIDNIGHT).unix_timestamp() + 86_399;
    let mut all = Vec::new();
    let mut page = 1;
    loop {
        let reply = get(&fake, &format!("/api/open/tasks/histories?page={page}&page_size=100&start_time={start}&end_time={end}")).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        let batch = rows(&reply);
        let total = reply.json()["data"]["total"].as_u64().unwrap();
        all.extend(batch);
        if page * 100 >= total {
            break;
        }
        page += 1;
    }
    assert_eq!(all.len(), truth.task_count(from, to));
    let ids: Vec<u64> = all.iter().map(|r| r["id"].as_u64().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "newest first");
    // Both spellings, +08:00 and Z timestamps, a non-llm usage type, failed and HYA tasks.
    assert!(all.iter().any(|r| r.get("taskModel").is_some()));
    assert!(all.iter().any(|r| r.get("task_model").is_some()));
    let created = |r: &Value| {
        r.get("created_at")
            .or(r.get("createdAt"))
            .unwrap()
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert!(all.iter().any(|r| created(r).ends_with("+08:00")));
    assert!(all.iter().any(|r| created(r).ends_with('Z')));
    let field =
        |r: &Value, snake: &str, camel: &str| r.get(snake).or(r.get(camel)).cloned().unwrap();
    assert!(
        all.iter()
            .any(|r| field(r, "usage_type", "usageType") == "point")
    );
    assert!(
        all.iter()
            .any(|r| field(r, "service_mode", "serviceMode") == "private")
    );
    assert!(
        all.iter()
            .any(|r| r["status"] == "failed" && r["usage"].as_u64() > Some(0))
    );
    assert!(
        all.iter()
            .any(|r| r["status"] == "failed" && r["usage"] == 0)
    );
    // Priced dollars: the sum of PAYG llm usage at 1e-7 USD.
    let usd: u128 = all
        .iter()
        .filter(|r| {
            field(r, "usage_type", "usageType") == "llm"
                && field(r, "service_mode", "serviceMode") == "public"
        })
        .map(|r| u128::from(r["usage"].as_u64().unwrap()))
        .sum();
    let expected: u128 = truth
        .by_day_key_model(from, to)
        .values()
        .map(|c| scaled_decimal(&c.usd, 7))
        .sum();
    assert_eq!(usd, expected);
}

#[tokio::test]
async fn page_size_over_100_is_refused_and_faults_bend_pages() {
    let fake = start().await;
    let reply = get(&fake, "/api/open/tasks/histories?page=1&page_size=101").await;
    assert_eq!(reply.status, 400);
    let page2 = rows(&get(&fake, "/api/open/tasks/histories?page=2&page_size=10").await);
    let page1 = rows(&get(&fake, "/api/open/tasks/histories?page=1&page_size=10").await);
    fake.faults()
        .add(FaultRule::new(Fault::ShiftedPage).on_page(2));
    let shifted = rows(&get(&fake, "/api/open/tasks/histories?page=2&page_size=10").await);
    assert_eq!(shifted[0], page1[9]);
    assert_eq!(shifted[1], page2[0]);
    fake.faults()
        .add(FaultRule::new(Fault::MissingField).on_page(2));
    let missing = rows(&get(&fake, "/api/open/tasks/histories?page=2&page_size=10").await);
    assert!(missing.iter().all(|r| r.get("usage").is_none()));
}
