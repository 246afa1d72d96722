//! The LiteLLM fake over HTTP, as a connector sees it — above all the pagination pitfall of
//! `/user/daily/activity`: pages cut through dates, so only merging pages by date is right.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers outside #[test] functions: a failing test should stop loudly"
)]

use crate::support;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Value, json};
use spendlens_fakes::litellm::{LiteLlmFake, RunningLiteLlmFake};
use spendlens_fakes::{Fault, FaultRule};
use support::{Reply, client, send};
use time::Date;
use time::macros::date;

const TODAY: Date = date!(2025 - 06 - 30);
const DAILY: &str = "/user/daily/activity";

async fn start(seed: u64) -> RunningLiteLlmFake {
    LiteLlmFake::builder()
        .seed(seed)
        .today(TODAY)
        .build()
        .spawn()
        .await
        .expect("spawn")
}

async fn get_as(fake: &RunningLiteLlmFake, key: &str, path: &str, query: &[(&str, &str)]) -> Reply {
    send(
        client()
            .get(format!("{}{path}", fake.base_url()))
            .bearer_auth(key)
            .query(query),
    )
    .await
}

async fn get(fake: &RunningLiteLlmFake, path: &str, query: &[(&str, &str)]) -> Reply {
    get_as(fake, fake.master_key(), path, query).await
}

/// Nano-dollars of a float as LiteLLM writes it (`0.4123`, `1.095e-05`, `5.0`), exactly.
fn nanos(text: &str) -> u128 {
    let (mantissa, exponent) = match text.split_once('e') {
        Some((m, e)) => (m, e.parse::<i32>().unwrap()),
        None => (text, 0),
    };
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits: u128 = format!("{whole}{fraction}").parse().unwrap();
    let scale = 9 + exponent - fraction.len() as i32;
    assert!(scale >= 0, "finer than a nano-dollar: {text}");
    digits * 10u128.pow(scale as u32)
}

fn dollars(nanos: u128) -> String {
    let (whole, fraction) = (nanos / 1_000_000_000, nanos % 1_000_000_000);
    if fraction == 0 {
        return whole.to_string();
    }
    format!("{whole}.{}", format!("{fraction:09}").trim_end_matches('0'))
}

#[derive(Deserialize)]
struct Metrics {
    spend: Box<RawValue>,
    api_requests: u64,
}

#[derive(Deserialize)]
struct KeyCell {
    metrics: Metrics,
    metadata: Value,
}

#[derive(Deserialize)]
struct Cell {
    metrics: Metrics,
    metadata: Value,
    #[serde(default)]
    api_key_breakdown: BTreeMap<String, KeyCell>,
}

#[derive(Deserialize)]
struct Breakdown {
    models: BTreeMap<String, Cell>,
    providers: BTreeMap<String, Cell>,
    api_keys: BTreeMap<String, Cell>,
    entities: BTreeMap<String, Cell>,
}

#[derive(Deserialize)]
struct DayResult {
    date: String,
    metrics: Metrics,
    breakdown: Breakdown,
}

#[derive(Deserialize)]
struct Meta {
    total_spend: Box<RawValue>,
    page: u64,
    total_pages: u64,
    has_more: bool,
}

#[derive(Deserialize)]
struct Page {
    results: Vec<DayResult>,
    metadata: Meta,
}

fn page(reply: &Reply) -> Page {
    assert_eq!(reply.status, 200, "{}", reply.body);
    serde_json::from_str(&reply.body).unwrap()
}

fn day(text: &str) -> Date {
    Date::parse(
        text,
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .unwrap()
}

/// Every page of a daily-activity query.
async fn all_pages(
    fake: &RunningLiteLlmFake,
    key: &str,
    path: &str,
    query: &[(&str, &str)],
) -> Vec<Page> {
    let mut pages = Vec::new();
    for n in 1..500 {
        let number = n.to_string();
        let mut q = query.to_vec();
        q.push(("page", &number));
        let p = page(&get_as(fake, key, path, &q).await);
        assert_eq!(p.metadata.page, n);
        let more = p.metadata.has_more;
        assert_eq!(more, n < p.metadata.total_pages);
        pages.push(p);
        if !more {
            return pages;
        }
    }
    panic!("the listing never ended");
}

/// Spend per (date, model, key hash), nano-dollars.
type Cells = BTreeMap<(Date, String, String), u128>;

/// Merges pages by date: spend per date and per (date, model, key hash).
fn merge(pages: &[Page]) -> (BTreeMap<Date, u128>, Cells) {
    let mut days = BTreeMap::new();
    let mut cells = BTreeMap::new();
    for p in pages {
        for r in &p.results {
            let d = day(&r.date);
            *days.entry(d).or_default() += nanos(r.metrics.spend.get());
            for (model, cell) in &r.breakdown.models {
                for (hash, k) in &cell.api_key_breakdown {
                    *cells.entry((d, model.clone(), hash.clone())).or_default() +=
                        nanos(k.metrics.spend.get());
                }
            }
        }
    }
    (days, cells)
}

fn as_nanos<K: Ord>(m: BTreeMap<K, String>) -> BTreeMap<K, u128> {
    m.into_iter()
        .map(|(k, v)| (k, support::nanos_from_raw_dollars(&v)))
        .collect()
}

#[tokio::test]
async fn auth_distinguishes_master_admin_and_internal_users() {
    let fake = start(1).await;
    let t = fake.truth();
    let window = [("start_date", "2025-06-01"), ("end_date", "2025-06-07")];
    assert_eq!(fake.master_key(), fake.admin_key());
    assert_eq!(get(&fake, DAILY, &window).await.status, 200);
    assert_eq!(
        get_as(&fake, t.admin_user_key(), DAILY, &window)
            .await
            .status,
        200
    );
    let none = send(
        client()
            .get(format!("{}{DAILY}", fake.base_url()))
            .query(&window),
    )
    .await;
    assert_eq!(none.status, 401);
    assert_eq!(none.json()["error"]["type"], "auth_error");
    assert_eq!(none.json()["error"]["code"], "401");
    let not_sk = get_as(&fake, "Bearer-token", DAILY, &window).await;
    assert_eq!(not_sk.status, 401);
    let unknown = get_as(&fake, "sk-unknown", DAILY, &window).await;
    assert_eq!(unknown.status, 401);
    assert!(
        unknown.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Invalid proxy server token")
    );
    // A non-admin key: silently scoped to its own user, 403 for anyone else.
    let own = page(
        &get_as(
            &fake,
            fake.non_admin_key(),
            DAILY,
            &[window[0], window[1], ("page_size", "1000")],
        )
        .await,
    );
    let scoped: BTreeMap<Date, u128> = own
        .results
        .iter()
        .map(|r| (day(&r.date), nanos(r.metrics.spend.get())))
        .collect();
    let expected = as_nanos(t.spend_usd_by_day_for_user(
        t.non_admin_user_id(),
        date!(2025 - 06 - 01),
        date!(2025 - 06 - 07),
    ));
    assert_eq!(scoped, expected);
    let other = get_as(
        &fake,
        fake.non_admin_key(),
        DAILY,
        &[window[0], window[1], ("user_id", "alice")],
    )
    .await;
    assert_eq!(other.status, 403);
    assert_eq!(
        other.json(),
        json!({"detail": "Non-admin users can only view their own spend data."})
    );
    let self_asked = get_as(
        &fake,
        fake.non_admin_key(),
        DAILY,
        &[
            window[0],
            window[1],
            ("user_id", "bob"),
            ("page_size", "1000"),
        ],
    )
    .await;
    assert_eq!(
        self_asked.body,
        get_as(
            &fake,
            fake.non_admin_key(),
            DAILY,
            &[window[0], window[1], ("page_size", "1000")]
        )
        .await
        .body
    );
    let missing = get(&fake, "/spend/logs/v2", &[]).await;
    assert_eq!(
        (missing.status, missing.json()),
        (404, json!({"detail": "Not Found"}))
    );
    fake.set_revoked(true);
    assert_eq!(get(&fake, DAILY, &window).await.status, 401);
}

#[tokio::test]
async fn validation_follows_litellm_and_fastapi() {
    let fake = start(2).await;
    let missing = get(&fake, DAILY, &[("start_date", "2025-06-01")]).await;
    assert_eq!(missing.status, 400);
    assert_eq!(
        missing.json(),
        json!({"detail": {"error": "Please provide start_date and end_date"}})
    );
    let bad = get(
        &fake,
        DAILY,
        &[("start_date", "06/01/2025"), ("end_date", "2025-06-02")],
    )
    .await;
    assert_eq!(bad.status, 400);
    for (name, value, kind) in [
        ("page_size", "1001", "less_than_equal"),
        ("page_size", "0", "greater_than_equal"),
        ("page", "0", "greater_than_equal"),
        ("page", "two", "int_parsing"),
    ] {
        let reply = get(
            &fake,
            DAILY,
            &[
                ("start_date", "2025-06-01"),
                ("end_date", "2025-06-02"),
                (name, value),
            ],
        )
        .await;
        assert_eq!(reply.status, 422, "{name}={value}");
        let detail = &reply.json()["detail"][0];
        assert_eq!(detail["type"], kind);
        assert_eq!(detail["loc"], json!(["query", name]));
    }
    let thousand = get(
        &fake,
        DAILY,
        &[
            ("start_date", "2025-06-01"),
            ("end_date", "2025-06-02"),
            ("page_size", "1000"),
        ],
    )
    .await;
    assert_eq!(thousand.status, 200);
}

#[tokio::test]
async fn merging_pages_by_date_reproduces_the_truth_and_a_naive_reading_does_not() {
    let fake = start(3).await;
    let t = fake.truth();
    let (from, to) = (date!(2025 - 06 - 01), date!(2025 - 06 - 30));
    let rows = t.row_count(from, to);
    let query = [
        ("start_date", "2025-06-01"),
        ("end_date", "2025-06-30"),
        ("page_size", "37"),
    ];
    let pages = all_pages(&fake, fake.master_key(), DAILY, &query).await;
    assert_eq!(pages.len(), rows.div_ceil(37));
    assert_eq!(pages[0].metadata.total_pages as usize, rows.div_ceil(37));
    // Dates come newest first, and at least one date is cut in two by a page boundary.
    let mut seen: BTreeMap<Date, usize> = BTreeMap::new();
    for p in &pages {
        assert!(p.results.windows(2).all(|w| w[0].date > w[1].date));
        for r in &p.results {
            *seen.entry(day(&r.date)).or_default() += 1;
        }
    }
    assert!(
        seen.values().any(|&n| n > 1),
        "no date was split across pages"
    );
    assert_eq!(seen.len(), 30);
    // Merged by date: exact.
    let (days, cells) = merge(&pages);
    assert_eq!(days, as_nanos(t.spend_usd_by_day(from, to)));
    assert_eq!(cells, as_nanos(t.spend_usd_by_day_model_key(from, to)));
    let total: u128 = days.values().sum();
    assert_eq!(dollars(total), t.total_spend_usd(from, to));
    // Naive: one result per date, the last page seen wins (an upsert by date).
    let mut naive: BTreeMap<Date, u128> = BTreeMap::new();
    for p in &pages {
        for r in &p.results {
            naive.insert(day(&r.date), nanos(r.metrics.spend.get()));
        }
    }
    assert_ne!(naive, days);
    assert!(naive.values().sum::<u128>() < total);
    // The metadata totals are per page: page 1's is not the range total, their sum is.
    let page_totals: Vec<u128> = pages
        .iter()
        .map(|p| nanos(p.metadata.total_spend.get()))
        .collect();
    assert!(page_totals[0] < total);
    assert_eq!(page_totals.iter().sum::<u128>(), total);
    // Requests too.
    let requests: u64 = pages
        .iter()
        .flat_map(|p| &p.results)
        .map(|r| r.metrics.api_requests)
        .sum();
    assert_eq!(requests, t.total_requests(from, to));
    // The deleted key and the master key's traffic are in the rows, flagged.
    let key_meta: BTreeMap<String, Value> = pages
        .iter()
        .flat_map(|p| &p.results)
        .flat_map(|r| &r.breakdown.api_keys)
        .map(|(h, c)| (h.clone(), c.metadata.clone()))
        .collect();
    let deleted = t.keys().into_iter().find(|k| k.deleted).unwrap();
    let master = t.keys().into_iter().find(|k| k.master).unwrap();
    let window_keys: BTreeSet<String> = t.lines(from, to).into_iter().map(|l| l.api_key).collect();
    if window_keys.contains(&deleted.hash) {
        assert_eq!(key_meta[&deleted.hash]["key_exists"], false);
    }
    assert_eq!(key_meta[&master.hash]["key_exists"], false);
    assert!(key_meta[&master.hash]["key_alias"].is_null());
}

#[tokio::test]
async fn spend_is_written_as_python_floats() {
    let fake = start(4).await;
    let t = fake.truth();
    let reply = get(
        &fake,
        DAILY,
        &[
            ("start_date", "2025-06-10"),
            ("end_date", "2025-06-10"),
            ("page_size", "1000"),
        ],
    )
    .await;
    assert!(reply.body.contains("\"spend\":1.095e-05"), "{}", reply.body);
    let p = page(&reply);
    let healthcheck = t
        .keys()
        .into_iter()
        .find(|k| k.key_alias.as_deref() == Some("healthcheck"))
        .unwrap();
    let cell = &p.results[0].breakdown.models["gpt-4o-mini"].api_key_breakdown[&healthcheck.hash];
    assert_eq!(cell.metrics.spend.get(), "1.095e-05");
    assert_eq!(nanos(cell.metrics.spend.get()), 10_950);
    assert_eq!(cell.metadata["key_alias"], "healthcheck");
    assert!(cell.metadata["team_id"].is_null());
    // Providers and models split the same spend two ways: gpt-4o runs on openai and azure.
    let r = &p.results[0];
    let by_provider: u128 = r
        .breakdown
        .providers
        .values()
        .map(|c| nanos(c.metrics.spend.get()))
        .sum();
    let by_model: u128 = r
        .breakdown
        .models
        .values()
        .map(|c| nanos(c.metrics.spend.get()))
        .sum();
    assert_eq!(by_provider, by_model);
    assert_eq!(by_model, nanos(r.metrics.spend.get()));
    assert!(r.breakdown.providers.contains_key("azure"));
    assert!(
        r.breakdown.models["gpt-4o"]
            .metadata
            .as_object()
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn filters_timezone_and_the_current_day() {
    let fake = start(5).await;
    let t = fake.truth();
    let (from, to) = (date!(2025 - 06 - 20), date!(2025 - 06 - 21));
    let base = [
        ("start_date", "2025-06-20"),
        ("end_date", "2025-06-21"),
        ("page_size", "1000"),
    ];
    let key = t
        .keys()
        .into_iter()
        .find(|k| k.key_alias.as_deref() == Some("prod-backend"))
        .unwrap();
    let by_hash = get(
        &fake,
        DAILY,
        &[base[0], base[1], base[2], ("api_key", &key.hash)],
    )
    .await;
    let by_raw = get(
        &fake,
        DAILY,
        &[base[0], base[1], base[2], ("api_key", t.admin_user_key())],
    )
    .await;
    assert_eq!(by_hash.body, by_raw.body);
    let p = page(&by_hash);
    assert!(
        p.results
            .iter()
            .all(|r| r.breakdown.api_keys.keys().all(|h| *h == key.hash))
    );
    let model = page(
        &get(
            &fake,
            DAILY,
            &[base[0], base[1], base[2], ("model", "gpt-4o")],
        )
        .await,
    );
    assert!(
        model
            .results
            .iter()
            .all(|r| r.breakdown.models.keys().all(|m| m == "gpt-4o"))
    );
    // timezone=300 (UTC−5): the local days 20–21 overlap the UTC days 20–22.
    let shifted = page(
        &get(
            &fake,
            DAILY,
            &[base[0], base[1], base[2], ("timezone", "300")],
        )
        .await,
    );
    let dates: Vec<Date> = shifted.results.iter().map(|r| day(&r.date)).collect();
    assert_eq!(
        dates,
        [
            date!(2025 - 06 - 22),
            date!(2025 - 06 - 21),
            date!(2025 - 06 - 20)
        ]
    );
    let plain = page(&get(&fake, DAILY, &base).await);
    assert_eq!(plain.results.len(), 2);
    let total: u128 = plain
        .results
        .iter()
        .map(|r| nanos(r.metrics.spend.get()))
        .sum();
    assert_eq!(dollars(total), t.total_spend_usd(from, to));
    let with_today = page(
        &get(
            &fake,
            DAILY,
            &[
                base[0],
                base[1],
                base[2],
                ("include_current_utc_day", "true"),
            ],
        )
        .await,
    );
    assert_eq!(
        with_today.results.first().map(|r| day(&r.date)),
        Some(TODAY)
    );
}

#[tokio::test]
async fn the_team_view_pages_the_same_way_and_names_teams() {
    let fake = start(6).await;
    let t = fake.truth();
    let (from, to) = (date!(2025 - 06 - 01), date!(2025 - 06 - 14));
    let pages = all_pages(
        &fake,
        fake.master_key(),
        "/team/daily/activity",
        &[("start_date", "2025-06-01"), ("end_date", "2025-06-14")],
    )
    .await;
    assert!(pages.len() > 5, "page_size defaults to 10");
    let mut per_team: BTreeMap<String, u128> = BTreeMap::new();
    for r in pages.iter().flat_map(|p| &p.results) {
        for (team, cell) in &r.breakdown.entities {
            let alias = cell.metadata["team_alias"].as_str().unwrap();
            assert!(
                t.teams()
                    .iter()
                    .any(|x| x.team_id == *team && x.team_alias == alias)
            );
            *per_team.entry(team.clone()).or_default() += nanos(cell.metrics.spend.get());
        }
    }
    let mut expected: BTreeMap<String, u128> = BTreeMap::new();
    for l in t.lines(from, to) {
        if let Some(team) = l.team_id {
            *expected.entry(team).or_default() += u128::from(l.spend_nanos);
        }
    }
    assert_eq!(per_team, expected);
    let research = t
        .teams()
        .into_iter()
        .find(|x| x.team_alias == "Research")
        .unwrap();
    let support_team = t
        .teams()
        .into_iter()
        .find(|x| x.team_alias == "Support")
        .unwrap();
    let query = |team: &str| {
        vec![
            ("start_date", "2025-06-01".to_owned()),
            ("end_date", "2025-06-14".to_owned()),
            ("team_ids", team.to_owned()),
        ]
    };
    let q: Vec<_> = query(&support_team.team_id);
    let q: Vec<(&str, &str)> = q.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let refused = get_as(&fake, fake.non_admin_key(), "/team/daily/activity", &q).await;
    assert_eq!(refused.status, 401);
    let q: Vec<_> = query(&research.team_id);
    let q: Vec<(&str, &str)> = q.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_eq!(
        get_as(&fake, fake.non_admin_key(), "/team/daily/activity", &q)
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn key_list_and_team_list() {
    let fake = start(7).await;
    let t = fake.truth();
    let mut hashes = Vec::new();
    for n in 1..10 {
        let number = n.to_string();
        let body = get(&fake, "/key/list", &[("page", &number), ("size", "5")])
            .await
            .json();
        assert_eq!(body["current_page"], n);
        hashes.extend(
            body["keys"]
                .as_array()
                .unwrap()
                .iter()
                .map(|h| h.as_str().unwrap().to_owned()),
        );
        if n >= body["total_pages"].as_u64().unwrap() {
            assert_eq!(body["total_count"], 12);
            break;
        }
    }
    let listed: BTreeSet<String> = hashes.iter().cloned().collect();
    assert_eq!(listed.len(), hashes.len());
    let expected: BTreeSet<String> = t
        .keys()
        .into_iter()
        .filter(|k| !k.deleted && !k.master)
        .map(|k| k.hash)
        .collect();
    assert_eq!(listed, expected);
    // Full objects: spend is a budget counter, not lifetime spend, for keys with a budget.
    let full = get(
        &fake,
        "/key/list",
        &[
            ("return_full_object", "true"),
            ("size", "100"),
            ("key_alias", "prod-backend"),
        ],
    )
    .await;
    #[derive(Deserialize)]
    struct Full {
        token: String,
        spend: Box<RawValue>,
        budget_duration: Option<String>,
        key_name: String,
    }
    #[derive(Deserialize)]
    struct Keys {
        keys: Vec<Full>,
    }
    let keys = serde_json::from_str::<Keys>(&full.body).unwrap().keys;
    assert_eq!(keys.len(), 1);
    let k = &keys[0];
    assert!(k.key_name.starts_with("sk-..."));
    assert_eq!(k.budget_duration.as_deref(), Some("30d"));
    assert_eq!(
        dollars(nanos(k.spend.get())),
        t.key_budget_spend_usd(&k.token).unwrap()
    );
    let lifetime: u128 = t
        .lines(t.first_day(), TODAY)
        .iter()
        .filter(|l| l.api_key == k.token)
        .map(|l| u128::from(l.spend_nanos))
        .sum();
    assert!(nanos(k.spend.get()) < lifetime);
    assert_eq!(
        get(&fake, "/key/list", &[("size", "101")]).await.status,
        422
    );
    // A non-admin sees only their own keys.
    let own = get_as(&fake, fake.non_admin_key(), "/key/list", &[("size", "100")])
        .await
        .json();
    let bob: BTreeSet<String> = t
        .keys()
        .into_iter()
        .filter(|k| k.user_id == "bob" && !k.deleted && !k.master)
        .map(|k| k.hash)
        .collect();
    let got: BTreeSet<String> = own["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(got, bob);
    // Teams.
    let teams = get(&fake, "/team/list", &[]).await.json();
    let got: BTreeSet<(String, String)> = teams
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            (
                x["team_id"].as_str().unwrap().to_owned(),
                x["team_alias"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let expected: BTreeSet<(String, String)> = t
        .teams()
        .into_iter()
        .map(|x| (x.team_id, x.team_alias))
        .collect();
    assert_eq!(got, expected);
    let refused = get_as(&fake, fake.non_admin_key(), "/team/list", &[]).await;
    assert_eq!(refused.status, 401);
    assert!(
        refused.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Only admin users")
    );
    let mine = get_as(
        &fake,
        fake.non_admin_key(),
        "/team/list",
        &[("user_id", "bob")],
    )
    .await
    .json();
    assert_eq!(mine.as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn every_fault_fires() {
    let fake = start(8).await;
    let window = [
        ("start_date", "2025-06-01"),
        ("end_date", "2025-06-10"),
        ("page_size", "20"),
    ];
    fake.faults().add(FaultRule::new(Fault::RateLimited {
        retry_after_secs: 3,
    }));
    let limited = get(&fake, DAILY, &window).await;
    assert_eq!(limited.status, 429);
    assert_eq!(limited.headers["retry-after"], "3");
    assert_eq!(limited.json()["error"]["code"], "429");
    fake.faults().add(FaultRule::new(Fault::ServerError(500)));
    let failed = get(&fake, "/key/list", &[]).await;
    assert_eq!(failed.status, 500);
    assert_eq!(failed.json()["error"]["code"], "500");
    fake.faults().add(FaultRule::new(Fault::Malformed));
    assert!(serde_json::from_str::<Value>(&get(&fake, DAILY, &window).await.body).is_err());
    fake.faults().add(FaultRule::new(Fault::Truncated));
    assert!(serde_json::from_str::<Value>(&get(&fake, "/team/list", &[]).await.body).is_err());
    // Page 2 repeats page 1's rows under page 2's metadata.
    let page1 = get(&fake, DAILY, &window).await.json();
    fake.faults()
        .add(FaultRule::new(Fault::RepeatPage).on_path(DAILY).on_page(2));
    let mut q = window.to_vec();
    q.push(("page", "2"));
    let repeated = get(&fake, DAILY, &q).await.json();
    assert_eq!(repeated["results"], page1["results"]);
    assert_eq!(repeated["metadata"]["page"], 2);
    assert_ne!(
        get(&fake, DAILY, &q).await.json()["results"],
        page1["results"]
    );
    fake.faults()
        .add(FaultRule::new(Fault::MissingField).on_path(DAILY));
    let missing = get(&fake, DAILY, &window).await.json();
    assert!(missing["results"][0]["metrics"].get("spend").is_none());
    fake.faults()
        .add(FaultRule::new(Fault::Delay(Duration::from_millis(250))));
    let started = std::time::Instant::now();
    assert_eq!(get(&fake, DAILY, &window).await.status, 200);
    assert!(started.elapsed() >= Duration::from_millis(250));
    // A 422 is not hidden by a fault.
    fake.faults().add(FaultRule::new(Fault::ServerError(503)));
    assert_eq!(
        get(
            &fake,
            DAILY,
            &[
                ("start_date", "2025-06-01"),
                ("end_date", "2025-06-02"),
                ("page", "0")
            ]
        )
        .await
        .status,
        422
    );
    assert_eq!(fake.faults().remaining(), 1);
}

#[tokio::test]
async fn the_same_seed_serves_the_same_bytes() {
    let (a, b, c) = (start(9).await, start(9).await, start(10).await);
    let q = [
        ("start_date", "2025-05-01"),
        ("end_date", "2025-06-30"),
        ("page", "3"),
    ];
    assert_eq!(get(&a, DAILY, &q).await.body, get(&b, DAILY, &q).await.body);
    assert_ne!(get(&a, DAILY, &q).await.body, get(&c, DAILY, &q).await.body);
    assert_eq!(a.master_key(), b.master_key());
    assert_ne!(a.master_key(), c.master_key());
}
