//! The fal.ai fake over HTTP, as a connector sees it.

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
use spendlens_fakes::fal::{FalFake, RunningFalFake};
use spendlens_fakes::{Fault, FaultRule};
use support::{Reply, client, send};
use time::Date;
use time::macros::date;

const TODAY: Date = date!(2025 - 06 - 30);
const USAGE: &str = "/models/usage";

async fn start(seed: u64) -> RunningFalFake {
    FalFake::builder()
        .seed(seed)
        .today(TODAY)
        .build()
        .spawn()
        .await
        .expect("spawn")
}

async fn get_as(fake: &RunningFalFake, auth: &str, path: &str, query: &[(&str, &str)]) -> Reply {
    send(
        client()
            .get(format!("{}{path}", fake.base_url()))
            .header("Authorization", auth)
            .query(query),
    )
    .await
}

async fn get(fake: &RunningFalFake, path: &str, query: &[(&str, &str)]) -> Reply {
    get_as(fake, &format!("Key {}", fake.admin_key()), path, query).await
}

fn nanos(raw: &RawValue) -> u128 {
    support::nanos_from_raw_dollars(raw.get())
}

fn thousandths(raw: &RawValue) -> u128 {
    support::scaled_decimal(raw.get(), 3)
}

#[derive(Deserialize, Clone)]
struct Structured {
    detail: String,
    api_key_id: Option<String>,
    login_username: Option<String>,
}

#[derive(Deserialize)]
struct Line {
    endpoint_id: String,
    unit: String,
    quantity: Box<RawValue>,
    unit_price: Box<RawValue>,
    percent_discount: Option<u8>,
    cost_subtotal: Option<Box<RawValue>>,
    cost_discount: Option<Box<RawValue>>,
    cost_total: Option<Box<RawValue>>,
    cost: Box<RawValue>,
    currency: String,
    auth_method: Option<String>,
    auth_method_structured: Option<Structured>,
}

#[derive(Deserialize)]
struct Bucket {
    bucket: String,
    results: Vec<Line>,
}

#[derive(Deserialize)]
struct UsagePage {
    time_series: Option<Vec<Bucket>>,
    summary: Option<Vec<Line>>,
    next_cursor: Option<String>,
    has_more: bool,
}

fn usage_page(reply: &Reply) -> UsagePage {
    assert_eq!(reply.status, 200, "{}", reply.body);
    serde_json::from_str(&reply.body).unwrap()
}

/// Every page of a usage query: the pages, in order.
async fn all_usage(fake: &RunningFalFake, query: &[(&str, &str)]) -> Vec<UsagePage> {
    let mut pages = Vec::new();
    let mut cursor: Option<String> = None;
    let mut seen = BTreeSet::new();
    for _ in 0..500 {
        let mut q = query.to_vec();
        if let Some(c) = &cursor {
            q.push(("cursor", c));
        }
        let page = usage_page(&get(fake, USAGE, &q).await);
        let next = page.next_cursor.clone();
        assert_eq!(page.has_more, next.is_some());
        pages.push(page);
        match next {
            None => return pages,
            Some(c) => {
                assert!(seen.insert(c.clone()), "cursor repeated");
                cursor = Some(c);
            }
        }
    }
    panic!("the listing never ended");
}

fn day(text: &str) -> Date {
    Date::parse(
        &text[..10],
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .unwrap()
}

fn dollars(nanos: u128) -> String {
    let (whole, fraction) = (nanos / 1_000_000_000, nanos % 1_000_000_000);
    if fraction == 0 {
        return whole.to_string();
    }
    format!("{whole}.{}", format!("{fraction:09}").trim_end_matches('0'))
}

fn unix(d: Date) -> i64 {
    d.midnight().assume_utc().unix_timestamp()
}

#[tokio::test]
async fn only_the_admin_key_with_the_key_prefix_is_accepted() {
    let fake = start(1).await;
    let admin = fake.admin_key().to_owned();
    assert!(admin.contains(':'));
    let q = [("expand", "time_series")];
    assert_eq!(get(&fake, USAGE, &q).await.status, 200);
    let api = get_as(&fake, &format!("Key {}", fake.api_scope_key()), USAGE, &q).await;
    assert_eq!(api.status, 403);
    assert_eq!(
        api.json(),
        json!({"error": {"type": "authorization_error", "message": "Access denied"}})
    );
    for path in ["/keys", "/account/billing", "/models/billing-events"] {
        let r = get_as(&fake, &format!("Key {}", fake.api_scope_key()), path, &[]).await;
        assert_eq!(r.status, 403, "{path}");
    }
    for auth in [
        format!("Bearer {admin}"),
        "Key nope:nope".to_owned(),
        "Key no-colon".to_owned(),
        admin.clone(),
    ] {
        let r = get_as(&fake, &auth, USAGE, &q).await;
        assert_eq!(r.status, 401, "{auth}");
        assert_eq!(r.json()["error"]["type"], "authorization_error");
    }
    let none = send(client().get(format!("{}{USAGE}", fake.base_url()))).await;
    assert_eq!(none.status, 401);
    assert_eq!(get(&fake, "/models/pricing", &[]).await.status, 404);
    fake.set_revoked(true);
    assert_eq!(get(&fake, USAGE, &q).await.status, 401);
}

#[tokio::test]
async fn daily_utc_usage_by_key_sums_to_the_truth_across_pages() {
    let fake = start(2).await;
    let t = fake.truth();
    let (from, to) = (date!(2025 - 06 - 01), date!(2025 - 06 - 30));
    let query = [
        ("start", "2025-06-01"),
        ("end", "2025-07-01"),
        ("timezone", "UTC"),
        ("timeframe", "day"),
        ("bound_to_timeframe", "true"),
        ("expand", "time_series"),
        ("expand", "auth_method_structured"),
        ("limit", "50"),
    ];
    let pages = all_usage(&fake, &query).await;
    assert!(pages.len() > 10);
    let mut sums: BTreeMap<(Date, String, Option<String>), u128> = BTreeMap::new();
    let mut rows_per_cell: BTreeMap<(String, String, Option<String>), usize> = BTreeMap::new();
    let mut split_bucket = false;
    let mut last_label: Option<String> = None;
    for p in &pages {
        let buckets = p.time_series.as_ref().unwrap();
        assert!(p.summary.is_none());
        let rows: usize = buckets.iter().map(|b| b.results.len()).sum();
        assert!(rows <= 50);
        if let (Some(last), Some(first)) = (&last_label, buckets.first()) {
            split_bucket |= *last == first.bucket;
        }
        last_label = buckets.last().map(|b| b.bucket.clone());
        for b in buckets {
            assert!(b.bucket.ends_with("T00:00:00+00:00"), "{}", b.bucket);
            for l in &b.results {
                let s = l.auth_method_structured.clone().unwrap();
                assert!(l.auth_method.is_none());
                assert_eq!(l.currency, "USD");
                let (sub, disc, total) = (
                    nanos(l.cost_subtotal.as_ref().unwrap()),
                    nanos(l.cost_discount.as_ref().unwrap()),
                    nanos(l.cost_total.as_ref().unwrap()),
                );
                assert_eq!(sub - disc, total);
                assert_eq!(nanos(&l.cost), total);
                assert_eq!(thousandths(&l.quantity) * nanos(&l.unit_price), sub * 1000);
                assert_eq!(
                    disc * 100,
                    sub * u128::from(l.percent_discount.unwrap_or(0))
                );
                if s.login_username.is_some() {
                    assert!(s.api_key_id.is_none());
                    assert_eq!(s.detail, "mina");
                }
                *sums
                    .entry((day(&b.bucket), l.endpoint_id.clone(), s.api_key_id.clone()))
                    .or_default() += total;
                *rows_per_cell
                    .entry((b.bucket.clone(), l.endpoint_id.clone(), s.api_key_id))
                    .or_default() += 1;
            }
        }
    }
    let expected: BTreeMap<_, _> = t
        .cost_usd_by_day_endpoint_key(from, to)
        .into_iter()
        .map(|(k, v)| (k, support::nanos_from_raw_dollars(&v)))
        .collect();
    assert_eq!(sums, expected);
    assert!(split_bucket, "no bucket continued on the next page");
    assert!(
        rows_per_cell.values().any(|&n| n > 1),
        "several rows per (bucket, endpoint, key)"
    );
    assert_eq!(dollars(sums.values().sum()), t.total_cost_usd(from, to));
    // Every request is sent with the same limit, the cursor being base64 of the page number.
    let log = fake.log().requests_to(USAGE);
    assert_eq!(log.len(), pages.len());
    assert_eq!(log[1].param("cursor").as_deref(), Some("Mg=="));
}

#[tokio::test]
async fn limit_is_capped_silently_and_lower_with_auth_expansion() {
    let fake = start(3).await;
    let base = [
        ("start", "2025-04-01"),
        ("end", "2025-07-01"),
        ("timeframe", "day"),
        ("limit", "5000"),
    ];
    let rows = |p: &UsagePage| -> usize {
        p.time_series
            .as_ref()
            .unwrap()
            .iter()
            .map(|b| b.results.len())
            .sum()
    };
    let plain = usage_page(&get(&fake, USAGE, &base).await);
    assert_eq!(rows(&plain), 1000);
    assert!(plain.has_more);
    let mut q = base.to_vec();
    q.push(("expand", "time_series"));
    q.push(("expand", "auth_method"));
    let with_auth = usage_page(&get(&fake, USAGE, &q).await);
    assert_eq!(rows(&with_auth), 500);
    assert!(
        with_auth.time_series.unwrap()[0].results[0]
            .auth_method
            .is_some()
    );
    let default = usage_page(&get(&fake, USAGE, &base[..3]).await);
    assert_eq!(rows(&default), 100);
}

#[tokio::test]
async fn a_missing_timeframe_is_auto_detected_and_bounds_snap_to_it() {
    let fake = start(4).await;
    let t = fake.truth();
    // 30 days → day buckets.
    let days = all_usage(
        &fake,
        &[
            ("start", "2025-06-01"),
            ("end", "2025-07-01"),
            ("limit", "1000"),
        ],
    )
    .await;
    let labels: BTreeSet<String> = days
        .iter()
        .flat_map(|p| p.time_series.as_ref().unwrap())
        .map(|b| b.bucket.clone())
        .collect();
    assert_eq!(labels.len(), 30);
    // 90 days from a Wednesday → week buckets starting on Mondays, and the first week reaches
    // back before `start`.
    let weeks = all_usage(
        &fake,
        &[
            ("start", "2025-04-02"),
            ("end", "2025-07-01"),
            ("limit", "1000"),
        ],
    )
    .await;
    let buckets: Vec<String> = weeks
        .iter()
        .flat_map(|p| p.time_series.as_ref().unwrap())
        .map(|b| b.bucket.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    assert_eq!(
        buckets.first().map(String::as_str),
        Some("2025-03-31T00:00:00+00:00")
    );
    assert!(
        buckets
            .iter()
            .all(|b| day(b).weekday() == time::Weekday::Monday)
    );
    assert_eq!(buckets.len(), 14);
    let total: u128 = weeks
        .iter()
        .flat_map(|p| p.time_series.as_ref().unwrap())
        .flat_map(|b| &b.results)
        .map(|l| nanos(l.cost_total.as_ref().unwrap()))
        .sum();
    // Snapped: from Monday 2025-03-31 to Monday 2025-07-07 (past the data's end).
    let snapped = t.cost_usd_between(unix(date!(2025 - 03 - 31)), unix(date!(2025 - 07 - 07)));
    assert_eq!(dollars(total), snapped);
    assert_ne!(
        snapped,
        t.total_cost_usd(date!(2025 - 04 - 02), date!(2025 - 06 - 30))
    );
    // Exact bounds.
    let exact = all_usage(
        &fake,
        &[
            ("start", "2025-06-10T06:00:00Z"),
            ("end", "2025-06-12T18:00:00Z"),
            ("timeframe", "day"),
            ("bound_to_timeframe", "false"),
        ],
    )
    .await;
    let total: u128 = exact
        .iter()
        .flat_map(|p| p.time_series.as_ref().unwrap())
        .flat_map(|b| &b.results)
        .map(|l| nanos(&l.cost))
        .sum();
    let start = unix(date!(2025 - 06 - 10)) + 6 * 3600;
    let end = unix(date!(2025 - 06 - 12)) + 18 * 3600;
    assert_eq!(dollars(total), t.cost_usd_between(start, end));
    // Default window: the 24 hours before "now" (the end of today), in hour buckets.
    let default = all_usage(&fake, &[]).await;
    let hours: BTreeSet<String> = default
        .iter()
        .flat_map(|p| p.time_series.as_ref().unwrap())
        .map(|b| b.bucket.clone())
        .collect();
    assert!(hours.len() > 20 && hours.iter().all(|h| h.starts_with("2025-06-30T")));
}

#[tokio::test]
async fn buckets_follow_the_timezone_and_carry_its_offset() {
    let fake = start(5).await;
    let t = fake.truth();
    let pages = all_usage(
        &fake,
        &[
            ("start", "2025-06-10"),
            ("end", "2025-06-13"),
            ("timezone", "America/Bogota"),
            ("timeframe", "day"),
        ],
    )
    .await;
    let mut per_label: BTreeMap<String, u128> = BTreeMap::new();
    for b in pages.iter().flat_map(|p| p.time_series.as_ref().unwrap()) {
        for l in &b.results {
            *per_label.entry(b.bucket.clone()).or_default() += nanos(&l.cost);
        }
    }
    let labels: Vec<&String> = per_label.keys().collect();
    assert_eq!(
        labels,
        [
            "2025-06-10T00:00:00-05:00",
            "2025-06-11T00:00:00-05:00",
            "2025-06-12T00:00:00-05:00"
        ]
    );
    // Local midnight in Bogotá is 05:00 UTC.
    for (i, (_, spend)) in per_label.iter().enumerate() {
        let start = unix(date!(2025 - 06 - 10)) + 5 * 3600 + i as i64 * 86_400;
        assert_eq!(dollars(*spend), t.cost_usd_between(start, start + 86_400));
    }
    let unsupported = get(&fake, USAGE, &[("timezone", "America/New_York")]).await;
    assert_eq!(unsupported.status, 400);
    assert_eq!(unsupported.json()["error"]["type"], "validation_error");
}

#[tokio::test]
async fn summary_filters_and_parameter_validation() {
    let fake = start(6).await;
    let t = fake.truth();
    let (from, to) = (date!(2025 - 06 - 01), date!(2025 - 06 - 30));
    let window = [
        ("start", "2025-06-01"),
        ("end", "2025-07-01"),
        ("timeframe", "day"),
    ];
    let mut q = window.to_vec();
    q.push(("expand", "summary"));
    let summary = all_usage(&fake, &q).await;
    assert!(summary.iter().all(|p| p.time_series.is_none()));
    let total: u128 = summary
        .iter()
        .flat_map(|p| p.summary.as_ref().unwrap())
        .map(|l| nanos(&l.cost))
        .sum();
    assert_eq!(dollars(total), t.total_cost_usd(from, to));
    // Filters: comma-separated and repeated are the same.
    let keys = t.keys();
    let staging = keys.iter().find(|k| k.alias == "Staging").unwrap();
    let mut a = window.to_vec();
    a.push(("endpoint_id", "fal-ai/flux/dev,fal-ai/flux/schnell"));
    let mut b = window.to_vec();
    b.push(("endpoint_id", "fal-ai/flux/dev"));
    b.push(("endpoint_id", "fal-ai/flux/schnell"));
    a.push(("limit", "1000"));
    b.push(("limit", "1000"));
    assert_eq!(
        get(&fake, USAGE, &a).await.body,
        get(&fake, USAGE, &b).await.body
    );
    let mut c = window.to_vec();
    c.push(("api_key_id", &staging.key_id));
    c.push(("limit", "1000"));
    let only = usage_page(&get(&fake, USAGE, &c).await);
    let spend: u128 = only
        .time_series
        .unwrap()
        .iter()
        .flat_map(|b| &b.results)
        .map(|l| nanos(&l.cost))
        .sum();
    let expected: u128 = t
        .cost_usd_by_day_endpoint_key(from, to)
        .iter()
        .filter(|((_, _, k), _)| k.as_deref() == Some(staging.key_id.as_str()))
        .map(|(_, v)| support::nanos_from_raw_dollars(v))
        .sum();
    assert_eq!(spend, expected);
    let mut d = window.to_vec();
    d.push(("login_username", "mina"));
    d.push(("expand", "time_series"));
    d.push(("expand", "auth_method"));
    let mina = usage_page(&get(&fake, USAGE, &d).await);
    assert!(
        mina.time_series
            .unwrap()
            .iter()
            .flat_map(|b| &b.results)
            .all(|l| l.auth_method.as_deref() == Some("User token"))
    );
    let many = vec!["x"; 51].join(",");
    for bad in [
        vec![("expand", "auth_method")],
        vec![("expand", "time_series,auth_method_structured")],
        vec![("expand[]", "time_series")],
        vec![("timeframe", "daily")],
        vec![("bound_to_timeframe", "yes")],
        vec![("start", "2025-07-01"), ("end", "2025-06-01")],
        vec![("start", "June 1st")],
        vec![("limit", "0")],
        vec![("limit", "ten")],
        vec![("cursor", "not-a-cursor")],
        vec![("endpoint_id", many.as_str())],
        vec![("api_key_ids", "abc")],
    ] {
        let reply = get(&fake, USAGE, &bad).await;
        assert_eq!(reply.status, 400, "{bad:?}: {}", reply.body);
        assert_eq!(reply.json()["error"]["type"], "validation_error");
    }
}

#[tokio::test]
async fn the_legacy_shape_has_only_cost() {
    let fake = FalFake::builder()
        .seed(7)
        .today(TODAY)
        .legacy_cost_only(true)
        .build()
        .spawn()
        .await
        .unwrap();
    let page = usage_page(
        &get(
            &fake,
            USAGE,
            &[("start", "2025-06-01"), ("end", "2025-06-02")],
        )
        .await,
    );
    let l = &page.time_series.unwrap()[0].results[0];
    assert!(l.cost_total.is_none() && l.cost_subtotal.is_none() && l.cost_discount.is_none());
    assert!(nanos(&l.cost) > 0);
    assert!(!l.unit.is_empty());
}

#[tokio::test]
async fn keys_billing_and_billing_events() {
    let fake = start(8).await;
    let t = fake.truth();
    // /keys, two per page, with creator info.
    let mut listed = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut q = vec![("limit", "2"), ("expand", "creator_info")];
        if let Some(c) = &cursor {
            q.push(("cursor", c));
        }
        let body = get(&fake, "/keys", &q).await.json();
        let keys = body["keys"].as_array().unwrap();
        assert!(keys.len() <= 2);
        for k in keys {
            assert_eq!(k["scope"], "API");
            assert!(k["creator_email"].as_str().unwrap().contains('@'));
            listed.push((
                k["key_id"].as_str().unwrap().to_owned(),
                k["alias"].as_str().unwrap().to_owned(),
            ));
        }
        match body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => {
                assert_eq!(body["has_more"], false);
                break;
            }
        }
    }
    let expected: Vec<(String, String)> = t
        .keys()
        .into_iter()
        .filter(|k| !k.deleted)
        .map(|k| (k.key_id, k.alias))
        .collect();
    assert_eq!(listed, expected);
    assert_eq!(listed.len(), 4);
    // Billing.
    let plain = get(&fake, "/account/billing", &[]).await.json();
    assert_eq!(plain, json!({"username": "acme-studio"}));
    let with_credits = get(&fake, "/account/billing", &[("expand", "credits")]).await;
    #[derive(Deserialize)]
    struct Credits {
        current_balance: Box<RawValue>,
        currency: String,
    }
    #[derive(Deserialize)]
    struct Billing {
        username: String,
        credits: Credits,
    }
    let billing: Billing = serde_json::from_str(&with_credits.body).unwrap();
    assert_eq!(billing.username, t.username());
    assert_eq!(
        billing.credits.current_balance.get(),
        t.credit_balance_usd()
    );
    assert_eq!(billing.credits.currency, "USD");
    assert_eq!(
        get(&fake, "/account/billing", &[("expand", "invoices")])
            .await
            .status,
        400
    );
    // Billing events: one per request, countable per (day, endpoint, key).
    #[derive(Deserialize)]
    struct Event {
        endpoint_id: String,
        timestamp: String,
        cost_total: Box<RawValue>,
        cost_estimate_nano_usd: u64,
        auth_method_structured: Structured,
    }
    #[derive(Deserialize)]
    struct Events {
        billing_events: Vec<Event>,
        next_cursor: Option<String>,
    }
    let mut counts: BTreeMap<(Date, String, Option<String>), u64> = BTreeMap::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut q = vec![
            ("start", "2025-06-20"),
            ("end", "2025-06-23"),
            ("expand", "auth_method_structured"),
            ("limit", "200"),
        ];
        if let Some(c) = &cursor {
            q.push(("cursor", c));
        }
        let reply = get(&fake, "/models/billing-events", &q).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        let page: Events = serde_json::from_str(&reply.body).unwrap();
        pages += 1;
        for e in page.billing_events {
            assert_eq!(u128::from(e.cost_estimate_nano_usd), nanos(&e.cost_total));
            *counts
                .entry((
                    day(&e.timestamp),
                    e.endpoint_id,
                    e.auth_method_structured.api_key_id,
                ))
                .or_default() += 1;
        }
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    assert!(pages > 2);
    assert_eq!(
        counts,
        t.requests_by_day_endpoint_key(date!(2025 - 06 - 20), date!(2025 - 06 - 22))
    );
    let too_long = get(
        &fake,
        "/models/billing-events",
        &[("start", "2025-03-01"), ("end", "2025-06-01")],
    )
    .await;
    assert_eq!(too_long.status, 400);
    let capped = get(
        &fake,
        "/models/billing-events",
        &[
            ("start", "2025-03-03"),
            ("end", "2025-06-01"),
            ("limit", "20000"),
        ],
    )
    .await;
    assert_eq!(
        capped.json()["billing_events"].as_array().unwrap().len(),
        10_000
    );
    let one = t
        .events(date!(2025 - 06 - 21), date!(2025 - 06 - 21))
        .remove(3);
    let by_id = get(
        &fake,
        "/models/billing-events",
        &[
            ("start", "2025-06-21"),
            ("end", "2025-06-22"),
            ("request_id", &one.request_id),
        ],
    )
    .await
    .json();
    assert_eq!(by_id["billing_events"].as_array().unwrap().len(), 1);
    assert_eq!(
        by_id["billing_events"][0]["cost_estimate_nano_usd"],
        one.cost_total_nanos
    );
}

#[tokio::test]
async fn every_fault_fires() {
    let fake = start(9).await;
    let q = [
        ("start", "2025-06-01"),
        ("end", "2025-06-08"),
        ("timeframe", "day"),
        ("limit", "20"),
    ];
    fake.faults().add(FaultRule::new(Fault::RateLimited {
        retry_after_secs: 9,
    }));
    let limited = get(&fake, USAGE, &q).await;
    assert_eq!(limited.status, 429);
    assert_eq!(limited.headers["retry-after"], "9");
    assert_eq!(limited.json()["error"]["type"], "rate_limited");
    fake.faults().add(FaultRule::new(Fault::ServerError(503)));
    let failed = get(&fake, "/keys", &[]).await;
    assert_eq!(
        (failed.status, failed.json()["error"]["type"].clone()),
        (503, json!("server_error"))
    );
    fake.faults().add(FaultRule::new(Fault::Malformed));
    assert!(serde_json::from_str::<Value>(&get(&fake, USAGE, &q).await.body).is_err());
    fake.faults().add(FaultRule::new(Fault::Truncated));
    assert!(
        serde_json::from_str::<Value>(&get(&fake, "/account/billing", &[]).await.body).is_err()
    );
    // The cursor of page 2 comes back unchanged.
    let first = get(&fake, USAGE, &q).await.json();
    let cursor = first["next_cursor"].as_str().unwrap().to_owned();
    fake.faults()
        .add(FaultRule::new(Fault::RepeatPage).on_path(USAGE).on_page(2));
    let mut again = q.to_vec();
    again.push(("cursor", &cursor));
    let repeated = get(&fake, USAGE, &again).await.json();
    assert_eq!(repeated["next_cursor"], cursor.as_str());
    assert_eq!(repeated["has_more"], true);
    fake.faults()
        .add(FaultRule::new(Fault::MissingField).on_path(USAGE));
    let missing = get(&fake, USAGE, &q).await.json();
    assert!(
        missing["time_series"][0]["results"][0]
            .get("endpoint_id")
            .is_none()
    );
    fake.faults()
        .add(FaultRule::new(Fault::Delay(Duration::from_millis(250))));
    let started = std::time::Instant::now();
    assert_eq!(get(&fake, USAGE, &q).await.status, 200);
    assert!(started.elapsed() >= Duration::from_millis(250));
    fake.faults().add(FaultRule::new(Fault::ServerError(500)));
    assert_eq!(
        get_as(&fake, &format!("Key {}", fake.api_scope_key()), USAGE, &q)
            .await
            .status,
        403
    );
    assert_eq!(get(&fake, USAGE, &[("limit", "0")]).await.status, 400);
    assert_eq!(fake.faults().remaining(), 1);
}

#[tokio::test]
async fn the_same_seed_serves_the_same_bytes() {
    let (a, b, c) = (start(11).await, start(11).await, start(12).await);
    let q = [
        ("start", "2025-05-01"),
        ("end", "2025-07-01"),
        ("timeframe", "day"),
        ("expand", "time_series"),
        ("expand", "auth_method_structured"),
    ];
    assert_eq!(get(&a, USAGE, &q).await.body, get(&b, USAGE, &q).await.body);
    assert_ne!(get(&a, USAGE, &q).await.body, get(&c, USAGE, &q).await.body);
    assert_eq!(a.admin_key(), b.admin_key());
    assert_ne!(a.admin_key(), c.admin_key());
}
