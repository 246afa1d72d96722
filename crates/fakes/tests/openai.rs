//! The OpenAI fake over HTTP, as a connector sees it.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers outside #[test] functions: a failing test should stop loudly"
)]

use crate::support;

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;
use spendlens_fakes::openai::{OpenAiFake, RunningOpenAiFake};
use support::{Reply, client, nanos_from_raw_dollars, send};
use time::Date;
use time::macros::date;

const TODAY: Date = date!(2025 - 06 - 30);

async fn start(seed: u64) -> RunningOpenAiFake {
    OpenAiFake::builder()
        .seed(seed)
        .today(TODAY)
        .days(120)
        .build()
        .spawn()
        .await
        .expect("spawn")
}

fn midnight(day: Date) -> i64 {
    day.midnight().assume_utc().unix_timestamp()
}

/// Query pairs, repeated keys allowed.
type Query = Vec<(String, String)>;

fn q(pairs: &[(&str, &str)]) -> Query {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// The whole data window as `start_time`/`end_time`.
fn whole_window(fake: &RunningOpenAiFake) -> Vec<(String, String)> {
    let t = fake.truth();
    let start = midnight(t.first_day()).to_string();
    let end = (midnight(t.last_day()) + 86_400).to_string();
    q(&[("start_time", &start), ("end_time", &end)])
}

async fn get(fake: &RunningOpenAiFake, path: &str, query: &[(String, String)]) -> Reply {
    let url = format!("{}{path}", fake.base_url());
    send(client().get(url).bearer_auth(fake.admin_key()).query(query)).await
}

/// Every page of a bucketed listing, following `next_page`.
async fn all_pages(
    fake: &RunningOpenAiFake,
    path: &str,
    query: &[(String, String)],
) -> Vec<String> {
    let mut pages = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..200 {
        let mut query = query.to_vec();
        if let Some(c) = &cursor {
            query.push(("page".into(), c.clone()));
        }
        let reply = get(fake, path, &query).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        let page = reply.json();
        pages.push(reply.body);
        if page["has_more"] == Value::Bool(false) {
            assert!(page["next_page"].is_null());
            return pages;
        }
        cursor = Some(page["next_page"].as_str().expect("next_page").to_owned());
    }
    panic!("the listing never ended");
}

fn buckets(pages: &[String]) -> Vec<Value> {
    pages
        .iter()
        .flat_map(|p| {
            let v: Value = serde_json::from_str(p).unwrap();
            v["data"].as_array().unwrap().clone()
        })
        .collect()
}

#[tokio::test]
async fn auth_accepts_the_admin_key_and_rejects_others_as_documented() {
    let fake = start(7).await;
    let url = format!("{}/organization/costs", fake.base_url());
    let query = whole_window(&fake);
    let ask = |key: Option<&str>| {
        let mut r = client().get(&url).query(&query);
        if let Some(k) = key {
            r = r.bearer_auth(k);
        }
        send(r)
    };
    assert_eq!(ask(Some(fake.admin_key())).await.status, 200);
    assert!(fake.admin_key().starts_with("sk-admin-") && fake.admin_key().len() >= 49);

    let missing = ask(None).await;
    assert_eq!(missing.status, 401);
    assert_eq!(missing.json()["error"]["type"], "invalid_request_error");

    for scoped in [
        "sk-proj-abcdefghijklmnop0000",
        "sk-svcacct-abcdefghijklmnop0000",
    ] {
        let reply = ask(Some(scoped)).await;
        assert_eq!(reply.status, 403);
        let message = reply.json()["error"]["message"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(
            message.contains("Missing scopes: api.usage.read"),
            "{message}"
        );
    }

    let wrong = ask(Some("sk-admin-not-the-right-one-abcd")).await;
    assert_eq!(wrong.status, 401);
    let error = &wrong.json()["error"];
    assert_eq!(error["code"], "invalid_api_key");
    assert!(error["message"].as_str().unwrap().contains("sk-…abcd"));
    assert!(error.get("param").is_some());

    fake.set_revoked(true);
    let revoked = ask(Some(fake.admin_key())).await;
    assert_eq!(revoked.status, 401);
    assert_eq!(revoked.json()["error"]["code"], "invalid_api_key");
    fake.set_revoked(false);
    assert_eq!(ask(Some(fake.admin_key())).await.status, 200);
}

#[tokio::test]
async fn paging_to_the_end_collects_every_day_exactly_once() {
    let fake = start(7).await;
    let mut query = whole_window(&fake);
    query.extend(q(&[("limit", "31"), ("bucket_width", "1d")]));
    let pages = all_pages(&fake, "/organization/usage/completions", &query).await;
    assert_eq!(pages.len(), 4, "120 days at 31 per page");
    let all = buckets(&pages);
    assert_eq!(all.len(), 120);
    let first = midnight(fake.truth().first_day());
    for (i, b) in all.iter().enumerate() {
        assert_eq!(b["object"], "bucket");
        assert_eq!(b["start_time"], first + i as i64 * 86_400);
        assert_eq!(b["end_time"], first + (i as i64 + 1) * 86_400);
        assert!(b["results"].is_array());
    }
    let requests = fake.log().requests_to("/usage/completions");
    assert_eq!(requests.len(), 4);
    assert!(
        requests
            .iter()
            .all(|r| r.param("limit").as_deref() == Some("31"))
    );
    assert_eq!(requests[0].param("page"), None);
    assert_eq!(
        fake.requests_served()["/v1/organization/usage/completions"],
        4
    );
}

#[tokio::test]
async fn default_limit_is_seven_days_and_days_outside_the_data_are_empty_buckets() {
    let fake = start(7).await;
    let start_time = (midnight(TODAY) - 2 * 86_400).to_string();
    let reply = get(
        &fake,
        "/organization/usage/embeddings",
        &q(&[("start_time", &start_time)]),
    )
    .await;
    let page = reply.json();
    // end_time defaults to the end of `today`: three days, all with data.
    assert_eq!(page["data"].as_array().unwrap().len(), 3);
    assert_eq!(page["has_more"], false);

    let later = (midnight(TODAY) + 86_400).to_string();
    let page = get(
        &fake,
        "/organization/usage/embeddings",
        &q(&[
            ("start_time", &later),
            ("end_time", &(midnight(TODAY) + 20 * 86_400).to_string()),
        ]),
    )
    .await
    .json();
    let data = page["data"].as_array().unwrap();
    assert_eq!(data.len(), 7, "default limit");
    assert!(data.iter().all(|b| b["results"] == serde_json::json!([])));
    assert_eq!(page["has_more"], true);
}

#[tokio::test]
async fn a_start_time_off_midnight_gives_a_partial_first_bucket() {
    let fake = start(7).await;
    let day = date!(2025 - 06 - 10);
    let off = midnight(day) + 17 * 3600 + 31 * 60;
    let end = midnight(day) + 3 * 86_400;
    let query = q(&[
        ("start_time", &off.to_string()),
        ("end_time", &end.to_string()),
    ]);
    let page = get(&fake, "/organization/usage/completions", &query)
        .await
        .json();
    let data = page["data"].as_array().unwrap();
    assert_eq!(data.len(), 3);
    assert_eq!(data[0]["start_time"], off);
    assert_eq!(data[0]["end_time"], midnight(day) + 86_400);
    assert_eq!(data[1]["start_time"], midnight(day) + 86_400);
    let partial = data[0]["results"][0]["num_model_requests"]
        .as_u64()
        .unwrap();
    let whole = fake
        .truth()
        .usage_lines(day, day)
        .iter()
        .filter(|l| l.model.starts_with("gpt") || l.model.starts_with("o4"))
        .map(|l| l.totals.num_model_requests)
        .sum::<u64>();
    assert!(partial > 0 && partial < whole / 2, "{partial} of {whole}");
}

#[tokio::test]
async fn invalid_parameters_get_400_in_the_openai_envelope() {
    let fake = start(7).await;
    let window = whole_window(&fake);
    let with = |extra: &[(&str, &str)]| {
        let mut v = window.clone();
        v.extend(q(extra));
        v
    };
    let cases: Vec<(&str, Query, &str)> = vec![
        (
            "/organization/usage/completions",
            with(&[("limit", "32")]),
            "limit",
        ),
        (
            "/organization/usage/completions",
            with(&[("limit", "0")]),
            "limit",
        ),
        (
            "/organization/usage/completions",
            with(&[("bucket_width", "1h"), ("limit", "169")]),
            "limit",
        ),
        (
            "/organization/usage/completions",
            q(&[("limit", "7")]),
            "start_time",
        ),
        (
            "/organization/usage/completions",
            q(&[("start_time", "9223372036854775807")]),
            "start_time",
        ),
        (
            "/organization/usage/completions",
            with(&[("group_by", "colour")]),
            "group_by",
        ),
        (
            "/organization/usage/embeddings",
            with(&[("group_by", "batch")]),
            "group_by",
        ),
        (
            "/organization/usage/completions",
            with(&[("group_by[]", "model")]),
            "group_by[]",
        ),
        (
            "/organization/usage/completions",
            with(&[("page", "page_bogus")]),
            "page",
        ),
        ("/organization/costs", with(&[("limit", "181")]), "limit"),
        (
            "/organization/costs",
            with(&[("bucket_width", "1h")]),
            "bucket_width",
        ),
        (
            "/organization/costs",
            with(&[("group_by", "model")]),
            "group_by",
        ),
        ("/organization/projects", q(&[("limit", "101")]), "limit"),
    ];
    for (path, query, param) in cases {
        let reply = get(&fake, path, &query).await;
        assert_eq!(reply.status, 400, "{path} {query:?}: {}", reply.body);
        let error = &reply.json()["error"];
        assert_eq!(error["type"], "invalid_request_error");
        assert_eq!(error["param"], param, "{path} {query:?}");
    }
    for (path, limit) in [
        ("/organization/usage/completions", "31"),
        ("/organization/costs", "180"),
        ("/organization/projects", "100"),
    ] {
        let mut query = if path.ends_with("projects") {
            vec![]
        } else {
            window.clone()
        };
        query.extend(q(&[("limit", limit)]));
        assert_eq!(
            get(&fake, path, &query).await.status,
            200,
            "{path} limit {limit}"
        );
    }
    let missing = get(&fake, "/organization/usage/nothing", &window).await;
    assert_eq!(missing.status, 404);
}

fn sum_field(results: &[Value], field: &str) -> u64 {
    results.iter().map(|r| r[field].as_u64().unwrap_or(0)).sum()
}

#[tokio::test]
async fn grouped_results_add_up_to_the_ungrouped_ones() {
    let fake = start(7).await;
    let mut base = whole_window(&fake);
    base.extend(q(&[("limit", "31")]));
    for (path, fields, groups) in [
        (
            "/organization/usage/completions",
            &[
                "input_tokens",
                "input_cached_tokens",
                "output_tokens",
                "num_model_requests",
            ][..],
            &[
                "model",
                "project_id",
                "api_key_id",
                "user_id",
                "batch",
                "service_tier",
            ][..],
        ),
        (
            "/organization/usage/images",
            &["images", "num_model_requests"][..],
            &["size", "model", "source"][..],
        ),
        (
            "/organization/usage/audio_speeches",
            &["characters"][..],
            &["api_key_id"][..],
        ),
    ] {
        let flat = buckets(&all_pages(&fake, path, &base).await);
        let mut grouped_query = base.clone();
        for g in groups {
            grouped_query.push(("group_by".into(), (*g).into()));
        }
        let grouped = buckets(&all_pages(&fake, path, &grouped_query).await);
        assert_eq!(flat.len(), grouped.len());
        for (f, g) in flat.iter().zip(&grouped) {
            let (f, g) = (
                f["results"].as_array().unwrap(),
                g["results"].as_array().unwrap(),
            );
            assert!(f.len() <= 1);
            for field in fields {
                assert_eq!(sum_field(f, field), sum_field(g, field), "{path} {field}");
            }
            for r in f {
                assert!(
                    r["project_id"].is_null() && r["model"].is_null() && r["api_key_id"].is_null()
                );
            }
            for r in g {
                for dim in groups {
                    if *dim != "user_id" {
                        assert!(!r[*dim].is_null(), "{path}: {dim} grouped but null");
                    }
                }
                if path.ends_with("completions") {
                    assert!(r["input_cached_tokens"].as_u64() <= r["input_tokens"].as_u64());
                    assert_eq!(r["service_tier"], "default");
                    assert_eq!(r["batch"], false);
                }
            }
        }
    }
}

#[tokio::test]
async fn usage_per_key_equals_the_truth() {
    let fake = start(7).await;
    let truth = fake.truth();
    let mut query = whole_window(&fake);
    query.extend(q(&[("limit", "31"), ("group_by", "api_key_id")]));
    let mut requests: BTreeMap<String, u64> = BTreeMap::new();
    let mut input: BTreeMap<String, u64> = BTreeMap::new();
    for endpoint in [
        "completions",
        "embeddings",
        "moderations",
        "images",
        "audio_speeches",
        "audio_transcriptions",
    ] {
        let path = format!("/organization/usage/{endpoint}");
        for b in buckets(&all_pages(&fake, &path, &query).await) {
            for r in b["results"].as_array().unwrap() {
                let key = r["api_key_id"].as_str().unwrap().to_owned();
                *requests.entry(key.clone()).or_default() +=
                    r["num_model_requests"].as_u64().unwrap();
                *input.entry(key).or_default() += r["input_tokens"].as_u64().unwrap_or(0);
            }
        }
    }
    let expected = truth.usage_by_key(truth.first_day(), truth.last_day());
    assert_eq!(requests.len(), expected.len());
    for (key, totals) in &expected {
        assert_eq!(requests[key], totals.num_model_requests, "{key}");
        assert_eq!(input[key], totals.input_tokens, "{key}");
    }
    // The deleted key shows up in usage, but in no key list.
    let deleted: Vec<_> = truth.api_keys().into_iter().filter(|k| k.deleted).collect();
    assert_eq!(deleted.len(), 1);
    assert!(requests.contains_key(&deleted[0].id));
}

#[derive(Deserialize)]
struct CostPage {
    data: Vec<CostBucket>,
}

#[derive(Deserialize)]
struct CostBucket {
    start_time: i64,
    results: Vec<CostResult>,
}

#[derive(Deserialize)]
struct CostResult {
    object: String,
    amount: Amount,
    line_item: Option<String>,
    project_id: Option<String>,
    api_key_id: Option<String>,
    quantity: Option<Box<RawValue>>,
}

#[derive(Deserialize)]
struct Amount {
    value: Box<RawValue>,
    currency: String,
}

fn cost_results(pages: &[String]) -> Vec<(i64, CostResult)> {
    pages
        .iter()
        .flat_map(|p| {
            let page: CostPage = serde_json::from_str(p).unwrap();
            page.data
                .into_iter()
                .flat_map(|b| b.results.into_iter().map(move |r| (b.start_time, r)))
        })
        .collect()
}

#[tokio::test]
async fn costs_add_up_to_the_truth_to_the_nano_dollar() {
    let fake = start(7).await;
    let truth = fake.truth();
    let (first, last) = (truth.first_day(), truth.last_day());
    let mut query = whole_window(&fake);
    query.extend(q(&[
        ("limit", "180"),
        ("group_by", "project_id"),
        ("group_by", "line_item"),
    ]));
    let pages = all_pages(&fake, "/organization/costs", &query).await;
    assert_eq!(pages.len(), 1, "120 days fit one page of 180");
    let results = cost_results(&pages);
    let (mut strings, mut numbers) = (0, 0);
    let mut by_cell: BTreeMap<(Date, String, String), u128> = BTreeMap::new();
    for (start, r) in &results {
        assert_eq!(r.object, "organization.costs.result");
        assert_eq!(r.amount.currency, "usd");
        assert!(r.api_key_id.is_none());
        assert!(r.quantity.is_some());
        let raw = r.amount.value.get();
        if raw.starts_with('"') {
            strings += 1
        } else {
            numbers += 1
        }
        let day = time::OffsetDateTime::from_unix_timestamp(*start)
            .unwrap()
            .date();
        let cell = (
            day,
            r.project_id.clone().unwrap(),
            r.line_item.clone().unwrap(),
        );
        *by_cell.entry(cell).or_default() += nanos_from_raw_dollars(raw);
    }
    assert!(
        strings > 0 && numbers > strings,
        "{strings} strings, {numbers} numbers"
    );
    let total: u128 = by_cell.values().sum();
    assert_eq!(total, u128::from(truth.total_cost_nanos(first, last)));
    let expected = truth.cost_usd_by_day_project_line_item(first, last);
    assert_eq!(by_cell.len(), expected.len());
    for (cell, dollars) in expected {
        assert_eq!(
            by_cell[&cell],
            support::scaled_decimal(&dollars, 9),
            "{cell:?}"
        );
    }
    let items: Vec<String> = by_cell.keys().map(|c| c.2.clone()).collect();
    for wanted in [
        "gpt-4o-mini-2024-07-18, cached input",
        "gpt-4.1-2025-04-14, output",
        "whisper-1, audio",
        "web search tool calls",
        "Vector storage",
    ] {
        assert!(items.iter().any(|i| i == wanted), "no line item {wanted}");
    }

    // Ungrouped: one result per day, same total.
    let mut flat_query = whole_window(&fake);
    flat_query.extend(q(&[("limit", "180")]));
    let flat = cost_results(&all_pages(&fake, "/organization/costs", &flat_query).await);
    assert!(
        flat.iter()
            .all(|(_, r)| r.project_id.is_none() && r.line_item.is_none() && r.quantity.is_none())
    );
    let flat_total: u128 = flat
        .iter()
        .map(|(_, r)| nanos_from_raw_dollars(r.amount.value.get()))
        .sum();
    assert_eq!(flat_total, total);
    assert_eq!(truth.total_cost_usd(first, last), support_dollars(total));
}

fn support_dollars(nanos: u128) -> String {
    let whole = nanos / 1_000_000_000;
    let frac = format!("{:09}", nanos % 1_000_000_000);
    let frac = frac.trim_end_matches('0');
    if frac.is_empty() {
        whole.to_string()
    } else {
        format!("{whole}.{frac}")
    }
}

#[tokio::test]
async fn projects_and_keys_page_by_after_and_hide_what_the_docs_say() {
    let fake = start(7).await;
    let truth = fake.truth();
    let active = get(&fake, "/organization/projects", &[]).await.json();
    assert_eq!(active["object"], "list");
    assert_eq!(
        active["data"].as_array().unwrap().len(),
        4,
        "archived hidden by default"
    );
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let mut query = q(&[("limit", "2"), ("include_archived", "true")]);
        if let Some(a) = &after {
            query.push(("after".into(), a.clone()));
        }
        let page = get(&fake, "/organization/projects", &query).await.json();
        for p in page["data"].as_array().unwrap() {
            assert_eq!(p["object"], "organization.project");
            seen.push((
                p["id"].as_str().unwrap().to_owned(),
                p["status"].as_str().unwrap().to_owned(),
            ));
        }
        if page["has_more"] == false {
            break;
        }
        after = Some(page["last_id"].as_str().unwrap().to_owned());
    }
    assert_eq!(seen.len(), 5);
    assert_eq!(seen.iter().filter(|(_, s)| s == "archived").count(), 1);
    let mut listed = Vec::new();
    for (project, _) in &seen {
        let page = get(
            &fake,
            &format!("/organization/projects/{project}/api_keys"),
            &q(&[("limit", "100")]),
        )
        .await
        .json();
        for k in page["data"].as_array().unwrap() {
            assert_eq!(k["object"], "organization.project.api_key");
            assert!(k["redacted_value"].as_str().unwrap().starts_with("sk-"));
            let owner = k["owner"]["type"].as_str().unwrap();
            assert!(!k["owner"][owner].is_null());
            listed.push(k["id"].as_str().unwrap().to_owned());
        }
    }
    assert_eq!(listed.len(), 12);
    let all = truth.api_keys();
    assert_eq!(all.len(), 13);
    for key in all {
        assert_eq!(listed.contains(&key.id), !key.deleted, "{}", key.name);
    }
    let unknown = get(&fake, "/organization/projects/proj_nope/api_keys", &[]).await;
    assert_eq!(unknown.status, 404);
}

#[tokio::test]
async fn the_same_seed_serves_the_same_bytes() {
    let (a, b, c) = (start(11).await, start(11).await, start(12).await);
    let body = |fake: RunningOpenAiFake| async move {
        let mut query = whole_window(&fake);
        query.extend(q(&[
            ("limit", "180"),
            ("group_by", "line_item"),
            ("group_by", "project_id"),
        ]));
        (
            fake.admin_key().to_owned(),
            get(&fake, "/organization/costs", &query).await.body,
        )
    };
    let (a, b, c) = (body(a).await, body(b).await, body(c).await);
    assert_eq!(a, b);
    assert_ne!(a.1, c.1);
    assert_ne!(a.0, c.0);
}

#[test]
fn a_planted_spike_multiplies_one_keys_model_on_the_last_days_only() {
    let today = date!(2026 - 11 - 20);
    let plain = OpenAiFake::builder().seed(7).today(today).build().truth();
    let spiked = OpenAiFake::builder()
        .seed(7)
        .today(today)
        .spike(spendlens_fakes::openai::Spike {
            key: "support-prod".into(),
            model: "gpt-4o-2024".into(),
            days: 2,
            factor: 6,
        })
        .build()
        .truth();
    let key = plain
        .api_keys()
        .into_iter()
        .find(|k| k.name == "support-prod")
        .unwrap()
        .id;
    let requests = |truth: &spendlens_fakes::openai::OpenAiTruth, day: Date, model: &str| -> u64 {
        truth
            .usage_lines(day, day)
            .iter()
            .filter(|l| l.api_key_id == key && l.model.starts_with(model))
            .map(|l| l.totals.num_model_requests)
            .sum()
    };
    for (day, factor) in [
        (date!(2026 - 11 - 18), 1),
        (date!(2026 - 11 - 19), 6),
        (today, 6),
    ] {
        let before = requests(&plain, day, "gpt-4o-2024");
        assert!(before > 0, "{day}");
        assert_eq!(
            requests(&spiked, day, "gpt-4o-2024"),
            before * factor,
            "{day}"
        );
        assert_eq!(
            requests(&spiked, day, "gpt-4o-mini"),
            requests(&plain, day, "gpt-4o-mini")
        );
    }
    assert!(spiked.total_cost_nanos(today, today) > plain.total_cost_nanos(today, today));
}
