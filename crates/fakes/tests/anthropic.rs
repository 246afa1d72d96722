//! The Anthropic fake over HTTP, as a connector sees it.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers outside #[test] functions: a failing test should stop loudly"
)]

use crate::support;

use std::collections::BTreeMap;

use serde_json::Value;
use spendlens_fakes::anthropic::{AnthropicFake, RunningAnthropicFake};
use support::{Reply, client, send};
use time::Date;
use time::format_description::well_known::Rfc3339;
use time::macros::date;

const TODAY: Date = date!(2025 - 06 - 30);
const USAGE: &str = "/v1/organizations/usage_report/messages";
const COST: &str = "/v1/organizations/cost_report";

async fn start(seed: u64) -> RunningAnthropicFake {
    AnthropicFake::builder()
        .seed(seed)
        .today(TODAY)
        .build()
        .spawn()
        .await
        .expect("spawn")
}

fn rfc(day: Date) -> String {
    day.midnight().assume_utc().format(&Rfc3339).unwrap()
}

fn owned(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn whole_window(fake: &RunningAnthropicFake) -> Vec<(String, String)> {
    let t = fake.truth();
    owned(&[
        ("starting_at", &rfc(t.first_day())),
        ("ending_at", &rfc(t.last_day().next_day().unwrap())),
    ])
}

async fn get(fake: &RunningAnthropicFake, path: &str, query: &[(String, String)]) -> Reply {
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

async fn all_buckets(
    fake: &RunningAnthropicFake,
    path: &str,
    query: &[(String, String)],
) -> (usize, Vec<Value>) {
    let mut buckets = Vec::new();
    let mut cursor: Option<String> = None;
    for pages in 1..200 {
        let mut query = query.to_vec();
        if let Some(c) = &cursor {
            query.push(("page".into(), c.clone()));
        }
        let reply = get(fake, path, &query).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        let page = reply.json();
        buckets.extend(page["data"].as_array().unwrap().iter().cloned());
        if page["has_more"] == false {
            assert!(page["next_page"].is_null());
            return (pages, buckets);
        }
        cursor = Some(page["next_page"].as_str().unwrap().to_owned());
    }
    panic!("the listing never ended");
}

#[tokio::test]
async fn auth_needs_the_admin_key_and_a_version_header() {
    let fake = start(5).await;
    assert!(fake.admin_key().starts_with("sk-ant-admin01-") && fake.admin_key().len() > 90);
    let url = format!("{}{USAGE}", fake.base_url());
    let query = whole_window(&fake);
    let ask = |key: Option<&str>, version: Option<&str>| {
        let mut r = client().get(&url).query(&query);
        if let Some(k) = key {
            r = r.header("x-api-key", k);
        }
        if let Some(v) = version {
            r = r.header("anthropic-version", v);
        }
        send(r)
    };
    let v = Some("2023-06-01");
    assert_eq!(ask(Some(fake.admin_key()), v).await.status, 200);
    let error = |reply: Reply| {
        (
            reply.status,
            reply.json()["error"]["type"].as_str().unwrap().to_owned(),
            reply.json()["type"].clone(),
        )
    };
    assert_eq!(error(ask(None, v).await).0, 401);
    let (status, kind, envelope) = error(ask(Some("sk-ant-admin01-nope"), v).await);
    assert_eq!(
        (status, kind.as_str(), envelope),
        (401, "authentication_error", Value::from("error"))
    );
    let wrong = ask(Some("sk-ant-admin01-nope"), v).await.json();
    assert_eq!(wrong["error"]["message"], "invalid x-api-key");
    let (status, kind, _) = error(ask(Some("sk-ant-api03-abcdefabcdef-AA"), v).await);
    assert_eq!((status, kind.as_str()), (403, "permission_error"));
    let (status, kind, _) = error(ask(Some(fake.admin_key()), None).await);
    assert_eq!((status, kind.as_str()), (400, "invalid_request_error"));
    fake.set_revoked(true);
    assert_eq!(ask(Some(fake.admin_key()), v).await.status, 401);
}

#[tokio::test]
async fn paging_usage_to_the_end_collects_every_day_once() {
    let fake = start(5).await;
    let mut query = whole_window(&fake);
    query.extend(owned(&[("limit", "31"), ("group_by[]", "model")]));
    let (pages, buckets) = all_buckets(&fake, USAGE, &query).await;
    assert_eq!(pages, 4);
    assert_eq!(buckets.len(), 120);
    let mut day = fake.truth().first_day();
    for b in &buckets {
        assert_eq!(b["starting_at"], rfc(day));
        day = day.next_day().unwrap();
        assert_eq!(b["ending_at"], rfc(day));
    }
    let log = fake.log().requests_to("usage_report");
    assert_eq!(log.len(), 4);
    assert!(
        log.iter()
            .all(|r| r.param("limit").as_deref() == Some("31"))
    );
    assert!(
        log.iter()
            .all(|r| r.param("group_by[]").as_deref() == Some("model"))
    );
}

#[tokio::test]
async fn only_whole_buckets_inside_the_range_are_returned() {
    let fake = start(5).await;
    let query = owned(&[
        ("starting_at", "2025-06-10T17:31:00Z"),
        ("ending_at", "2025-06-14T06:00:00Z"),
    ]);
    let page = get(&fake, USAGE, &query).await.json();
    let data = page["data"].as_array().unwrap();
    let starts: Vec<&str> = data
        .iter()
        .map(|b| b["starting_at"].as_str().unwrap())
        .collect();
    assert_eq!(
        starts,
        [
            "2025-06-11T00:00:00Z",
            "2025-06-12T00:00:00Z",
            "2025-06-13T00:00:00Z"
        ]
    );
    // After the data: empty buckets, still present.
    let later = get(
        &fake,
        COST,
        &owned(&[
            ("starting_at", "2025-07-05T00:00:00Z"),
            ("ending_at", "2025-07-08T00:00:00Z"),
        ]),
    )
    .await
    .json();
    let data = later["data"].as_array().unwrap();
    assert_eq!(data.len(), 3);
    assert!(data.iter().all(|b| b["results"] == serde_json::json!([])));
}

#[tokio::test]
async fn invalid_parameters_get_400_invalid_request_error() {
    let fake = start(5).await;
    let window = whole_window(&fake);
    let with = |extra: &[(&str, &str)]| {
        let mut v = window.clone();
        v.extend(owned(extra));
        v
    };
    let cases = vec![
        (USAGE, with(&[("limit", "32")])),
        (USAGE, with(&[("limit", "0")])),
        (USAGE, with(&[("bucket_width", "1m"), ("limit", "1441")])),
        (USAGE, owned(&[("limit", "7")])),
        (USAGE, owned(&[("starting_at", "yesterday")])),
        (USAGE, with(&[("group_by[]", "colour")])),
        (USAGE, with(&[("group_by[]", "speed")])),
        (USAGE, with(&[("group_by", "model")])),
        (USAGE, with(&[("service_tiers[]", "gold")])),
        (
            USAGE,
            with(&[("page", "page_MjAyNS0wNS0xNFQwMDowMDowMFo=")]),
        ),
        (COST, with(&[("limit", "32")])),
        (COST, with(&[("bucket_width", "1h")])),
        (COST, with(&[("group_by[]", "api_key_id")])),
        ("/v1/organizations/workspaces", owned(&[("limit", "1001")])),
        (
            "/v1/organizations/api_keys",
            owned(&[("status", "deleted")]),
        ),
    ];
    for (path, query) in cases {
        let reply = get(&fake, path, &query).await;
        assert_eq!(reply.status, 400, "{path} {query:?}: {}", reply.body);
        let body = reply.json();
        assert_eq!(body["type"], "error");
        assert_eq!(body["error"]["type"], "invalid_request_error");
    }
    for (path, query) in [
        (USAGE, with(&[("limit", "31")])),
        (USAGE, with(&[("bucket_width", "1h"), ("limit", "168")])),
        (COST, with(&[("limit", "31")])),
        ("/v1/organizations/workspaces", owned(&[("limit", "1000")])),
    ] {
        assert_eq!(
            get(&fake, path, &query).await.status,
            200,
            "{path} {query:?}"
        );
    }
}

fn figures(r: &Value) -> [u64; 6] {
    [
        r["uncached_input_tokens"].as_u64().unwrap(),
        r["cache_read_input_tokens"].as_u64().unwrap(),
        r["output_tokens"].as_u64().unwrap(),
        r["cache_creation"]["ephemeral_5m_input_tokens"]
            .as_u64()
            .unwrap(),
        r["cache_creation"]["ephemeral_1h_input_tokens"]
            .as_u64()
            .unwrap(),
        r["server_tool_use"]["web_search_requests"]
            .as_u64()
            .unwrap(),
    ]
}

fn add(a: [u64; 6], b: [u64; 6]) -> [u64; 6] {
    std::array::from_fn(|i| a[i] + b[i])
}

#[tokio::test]
async fn grouped_usage_adds_up_to_ungrouped_usage_and_to_the_truth() {
    let fake = start(5).await;
    let truth = fake.truth();
    let mut flat_query = whole_window(&fake);
    flat_query.push(("limit".into(), "31".into()));
    let mut grouped_query = flat_query.clone();
    for g in [
        "api_key_id",
        "workspace_id",
        "model",
        "service_tier",
        "context_window",
        "inference_geo",
    ] {
        grouped_query.push(("group_by[]".into(), g.into()));
    }
    let (_, flat) = all_buckets(&fake, USAGE, &flat_query).await;
    let (_, grouped) = all_buckets(&fake, USAGE, &grouped_query).await;
    let mut per_key: BTreeMap<Option<String>, [u64; 6]> = BTreeMap::new();
    let (mut console, mut default_workspace, mut batch, mut long) = (0, 0, 0, 0);
    for (f, g) in flat.iter().zip(&grouped) {
        let f_sum = f["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(figures)
            .fold([0; 6], add);
        let g_results = g["results"].as_array().unwrap();
        assert_eq!(f_sum, g_results.iter().map(figures).fold([0; 6], add));
        for r in f["results"].as_array().unwrap() {
            assert!(
                r["model"].is_null() && r["api_key_id"].is_null() && r["workspace_id"].is_null()
            );
        }
        for r in g_results {
            assert!(
                !r["model"].is_null()
                    && !r["service_tier"].is_null()
                    && !r["context_window"].is_null()
            );
            assert!(r.get("request_count").is_none() && r.get("num_model_requests").is_none());
            console += usize::from(r["api_key_id"].is_null());
            default_workspace += usize::from(r["workspace_id"].is_null());
            batch += usize::from(r["service_tier"] == "batch");
            long += usize::from(r["context_window"] == "200k-1M");
            let key = r["api_key_id"].as_str().map(str::to_owned);
            let sum = per_key.entry(key).or_insert([0; 6]);
            *sum = add(*sum, figures(r));
        }
    }
    assert!(console > 0 && default_workspace > 0 && batch > 0 && long > 0);
    let expected = truth.usage_by_key(truth.first_day(), truth.last_day());
    assert_eq!(per_key.len(), expected.len());
    for (key, t) in expected {
        let got = per_key[&key];
        assert_eq!(
            got,
            [
                t.uncached_input_tokens,
                t.cache_read_input_tokens,
                t.output_tokens,
                t.cache_creation_5m_input_tokens,
                t.cache_creation_1h_input_tokens,
                t.web_search_requests
            ],
            "{key:?}"
        );
    }
}

#[tokio::test]
async fn cost_report_adds_up_to_the_truth_in_cents() {
    let fake = start(5).await;
    let truth = fake.truth();
    let (first, last) = (truth.first_day(), truth.last_day());
    let mut query = whole_window(&fake);
    query.extend(owned(&[
        ("limit", "31"),
        ("group_by[]", "workspace_id"),
        ("group_by[]", "description"),
    ]));
    let (pages, buckets) = all_buckets(&fake, COST, &query).await;
    assert_eq!(pages, 4);
    let mut cells: BTreeMap<(Date, Option<String>, String), u128> = BTreeMap::new();
    let mut cost_types = std::collections::BTreeSet::new();
    for b in &buckets {
        let day = Date::parse(
            &b["starting_at"].as_str().unwrap()[..10],
            time::macros::format_description!("[year]-[month]-[day]"),
        )
        .unwrap();
        for r in b["results"].as_array().unwrap() {
            assert_eq!(r["currency"], "USD");
            let amount = r["amount"].as_str().expect("amount is a string");
            let cost_type = r["cost_type"].as_str().unwrap().to_owned();
            if cost_type == "tokens" {
                let token_type = r["token_type"].as_str().unwrap();
                assert!(
                    [
                        "uncached_input_tokens",
                        "output_tokens",
                        "cache_read_input_tokens",
                        "cache_creation.ephemeral_1h_input_tokens",
                        "cache_creation.ephemeral_5m_input_tokens"
                    ]
                    .contains(&token_type)
                );
                assert!(
                    r["model"].is_string()
                        && r["service_tier"].is_string()
                        && r["context_window"].is_string()
                );
            } else {
                assert!(r["model"].is_null() && r["token_type"].is_null());
            }
            cost_types.insert(cost_type);
            let cell = (
                day,
                r["workspace_id"].as_str().map(str::to_owned),
                r["description"].as_str().unwrap().to_owned(),
            );
            // cents → nano-dollars: × 10^7
            *cells.entry(cell).or_default() += support::scaled_decimal(amount, 7);
        }
    }
    assert_eq!(
        cost_types.into_iter().collect::<Vec<_>>(),
        ["code_execution", "tokens", "web_search"]
    );
    let expected = truth.cost_usd_by_day_workspace_description(first, last);
    assert_eq!(cells.len(), expected.len());
    for (cell, usd) in &expected {
        assert_eq!(cells[cell], support::scaled_decimal(usd, 9), "{cell:?}");
    }
    let total: u128 = cells.values().sum();
    assert_eq!(total, u128::from(truth.total_cost_nanos(first, last)));
    assert_eq!(
        support::scaled_decimal(&truth.total_cost_cents(first, last), 7),
        total
    );
    assert!(
        cells.keys().any(|c| c.1.is_none()),
        "the default workspace is null"
    );
    assert!(cells.keys().any(|c| c.2 == "Code Execution Usage"));
}

#[tokio::test]
async fn workspaces_and_keys_list_by_after_id_with_every_status() {
    let fake = start(5).await;
    let ws = get(&fake, "/v1/organizations/workspaces", &[]).await.json();
    assert_eq!(
        ws["data"].as_array().unwrap().len(),
        3,
        "archived hidden by default"
    );
    let all_ws = get(
        &fake,
        "/v1/organizations/workspaces",
        &owned(&[("include_archived", "true")]),
    )
    .await
    .json();
    assert_eq!(all_ws["data"].as_array().unwrap().len(), 4);
    assert!(
        all_ws["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|w| w["type"] == "workspace" && w["id"].as_str().unwrap().starts_with("wrkspc_"))
    );

    let mut keys = Vec::new();
    let mut after: Option<String> = None;
    let mut calls = 0;
    loop {
        let mut query = owned(&[("limit", "5")]);
        if let Some(a) = &after {
            query.push(("after_id".into(), a.clone()));
        }
        let page = get(&fake, "/v1/organizations/api_keys", &query)
            .await
            .json();
        calls += 1;
        keys.extend(page["data"].as_array().unwrap().iter().cloned());
        if page["has_more"] == false {
            break;
        }
        after = Some(page["last_id"].as_str().unwrap().to_owned());
    }
    assert_eq!((keys.len(), calls), (12, 3));
    let statuses: std::collections::BTreeSet<&str> =
        keys.iter().map(|k| k["status"].as_str().unwrap()).collect();
    assert_eq!(
        statuses.into_iter().collect::<Vec<_>>(),
        ["active", "archived", "expired", "inactive"]
    );
    assert!(keys.iter().filter(|k| k["workspace_id"].is_null()).count() >= 2);
    assert!(keys.iter().any(|k| k["created_by"].is_null()));
    assert!(keys.iter().all(|k| {
        k["partial_key_hint"]
            .as_str()
            .unwrap()
            .starts_with("sk-ant-api03-")
    }));
    let inactive = get(
        &fake,
        "/v1/organizations/api_keys",
        &owned(&[("status", "inactive")]),
    )
    .await
    .json();
    assert_eq!(inactive["data"].as_array().unwrap().len(), 2);
    assert_eq!(fake.truth().api_keys().len(), 12);
}

#[tokio::test]
async fn the_same_seed_serves_the_same_bytes() {
    let bodies = |seed| async move {
        let fake = start(seed).await;
        let mut query = whole_window(&fake);
        query.extend(owned(&[("limit", "31"), ("group_by[]", "description")]));
        (
            fake.admin_key().to_owned(),
            get(&fake, COST, &query).await.body,
            get(&fake, USAGE, &query[..2]).await.body,
        )
    };
    let (a, b, c) = (bodies(9).await, bodies(9).await, bodies(10).await);
    assert_eq!(a, b);
    assert_ne!(a.0, c.0);
    assert_ne!(a.1, c.1);
    assert_ne!(a.2, c.2);
}
