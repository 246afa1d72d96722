//! The OpenRouter fake over HTTP, as a connector sees it.

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
use spendlens_fakes::openrouter::{OpenRouterFake, RunningOpenRouterFake};
use spendlens_fakes::{Fault, FaultRule};
use support::{Reply, client, nanos_from_raw_dollars, send};
use time::Date;
use time::macros::date;

const TODAY: Date = date!(2025 - 06 - 30);

async fn start(seed: u64) -> RunningOpenRouterFake {
    OpenRouterFake::builder()
        .seed(seed)
        .today(TODAY)
        .build()
        .spawn()
        .await
        .expect("spawn")
}

async fn get_as(
    fake: &RunningOpenRouterFake,
    key: &str,
    path: &str,
    query: &[(&str, &str)],
) -> Reply {
    send(
        client()
            .get(format!("{}{path}", fake.base_url()))
            .bearer_auth(key)
            .query(query),
    )
    .await
}

async fn get(fake: &RunningOpenRouterFake, path: &str, query: &[(&str, &str)]) -> Reply {
    get_as(fake, fake.management_key(), path, query).await
}

#[derive(Deserialize)]
struct ActivityRow {
    date: String,
    model: String,
    provider_name: String,
    endpoint_id: String,
    usage: Box<RawValue>,
    byok_usage_inference: Box<RawValue>,
    requests: u64,
    workspace_id: Option<String>,
}

#[derive(Deserialize)]
struct Activity {
    data: Vec<ActivityRow>,
}

fn activity(reply: &Reply) -> Vec<ActivityRow> {
    assert_eq!(reply.status, 200, "{}", reply.body);
    serde_json::from_str::<Activity>(&reply.body).unwrap().data
}

fn day(text: &str) -> Date {
    Date::parse(
        text,
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .unwrap()
}

fn dollars(nanos: u128) -> String {
    let whole = nanos / 1_000_000_000;
    let fraction = nanos % 1_000_000_000;
    if fraction == 0 {
        return whole.to_string();
    }
    format!("{whole}.{}", format!("{fraction:09}").trim_end_matches('0'))
}

#[tokio::test]
async fn management_and_regular_keys_reach_what_the_document_says() {
    let fake = start(1).await;
    let (management, regular) = (fake.management_key(), fake.regular_key());
    assert_eq!(management, fake.admin_key());
    assert!(management.starts_with("sk-or-v1-") && regular.starts_with("sk-or-v1-"));
    for path in ["/key", "/credits", "/activity", "/keys", "/workspaces"] {
        assert_eq!(get(&fake, path, &[]).await.status, 200, "{path}");
    }
    let regular_self = get_as(&fake, regular, "/key", &[]).await;
    assert_eq!(regular_self.status, 200);
    assert_eq!(regular_self.json()["data"]["is_management_key"], false);
    for path in ["/credits", "/activity", "/keys", "/workspaces"] {
        let reply = get_as(&fake, regular, path, &[]).await;
        assert_eq!(reply.status, 403, "{path}");
        assert_eq!(
            reply.json(),
            json!({"error": {"code": 403, "message": "Only management keys can perform this operation"}})
        );
    }
    let none = send(client().get(format!("{}/credits", fake.base_url()))).await;
    assert_eq!(none.status, 401);
    assert_eq!(none.json()["error"]["code"], 401);
    assert_eq!(
        get_as(&fake, "sk-or-v1-0000", "/key", &[]).await.status,
        401
    );
    let post = send(
        client()
            .post(format!("{}/keys", fake.base_url()))
            .bearer_auth(management),
    )
    .await;
    assert_eq!(post.status, 405);
    assert_eq!(get(&fake, "/generations", &[]).await.status, 404);
    fake.set_revoked(true);
    assert_eq!(get(&fake, "/credits", &[]).await.status, 401);
    assert_eq!(get_as(&fake, regular, "/key", &[]).await.status, 200);
}

#[tokio::test]
async fn key_describes_itself_with_exact_usage_windows() {
    let fake = start(2).await;
    let t = fake.truth();
    let expected = t.key_usage(t.regular_key_hash()).unwrap();
    let reply = get_as(&fake, fake.regular_key(), "/key", &[]).await;
    #[derive(Deserialize)]
    struct KeyData {
        label: String,
        limit: Option<u64>,
        limit_remaining: Option<Box<RawValue>>,
        limit_reset: Option<String>,
        usage: Box<RawValue>,
        usage_daily: Box<RawValue>,
        usage_weekly: Box<RawValue>,
        usage_monthly: Box<RawValue>,
        is_management_key: bool,
        is_provisioning_key: bool,
    }
    #[derive(Deserialize)]
    struct Envelope {
        data: KeyData,
    }
    let k = serde_json::from_str::<Envelope>(&reply.body).unwrap().data;
    assert!(k.label.starts_with("sk-or-v1-") && k.label.contains("..."));
    assert_eq!(k.usage.get(), expected.usage);
    assert_eq!(k.usage_daily.get(), expected.usage_daily);
    assert_eq!(k.usage_weekly.get(), expected.usage_weekly);
    assert_eq!(k.usage_monthly.get(), expected.usage_monthly);
    assert_eq!(
        (k.limit, k.limit_reset.as_deref()),
        (Some(1_500), Some("monthly"))
    );
    let remaining = nanos_from_raw_dollars(k.limit_remaining.unwrap().get());
    assert_eq!(
        remaining + nanos_from_raw_dollars(&expected.usage_monthly),
        1_500 * 1_000_000_000
    );
    assert!(!k.is_management_key && !k.is_provisioning_key);
    // Lifetime usage covers every day of the data, today included.
    let lifetime: u128 = t
        .lines(t.first_day(), TODAY)
        .iter()
        .filter(|l| l.key_hash == t.regular_key_hash())
        .map(|l| u128::from(l.usage_nanos))
        .sum();
    assert_eq!(dollars(lifetime), expected.usage);
    let management = get(&fake, "/key", &[]).await.json();
    assert_eq!(management["data"]["is_management_key"], true);
    assert_eq!(management["data"]["is_provisioning_key"], true);
    assert!(management["data"]["limit"].is_null());
    assert_eq!(management["data"]["rate_limit"]["requests"], -1);
    // The older alias answers the same.
    assert_eq!(
        get_as(&fake, fake.regular_key(), "/auth/key", &[])
            .await
            .body,
        reply.body
    );
}

#[tokio::test]
async fn credits_are_purchases_and_lifetime_usage() {
    let fake = start(3).await;
    let t = fake.truth();
    #[derive(Deserialize)]
    struct Credits {
        total_credits: Box<RawValue>,
        total_usage: Box<RawValue>,
    }
    #[derive(Deserialize)]
    struct Envelope {
        data: Credits,
    }
    let c = serde_json::from_str::<Envelope>(&get(&fake, "/credits", &[]).await.body)
        .unwrap()
        .data;
    assert_eq!(c.total_credits.get(), t.total_credits_usd());
    assert_eq!(c.total_usage.get(), t.lifetime_usage_usd());
    assert!(
        nanos_from_raw_dollars(c.total_credits.get()) > nanos_from_raw_dollars(c.total_usage.get())
    );
}

#[tokio::test]
async fn activity_covers_the_last_thirty_completed_days_per_provider_endpoint() {
    let fake = start(4).await;
    let t = fake.truth();
    let (from, to) = t.activity_window();
    assert_eq!((from, to), (date!(2025 - 05 - 31), date!(2025 - 06 - 29)));
    let rows = activity(&get(&fake, "/activity", &[]).await);
    let dates: BTreeSet<Date> = rows.iter().map(|r| day(&r.date)).collect();
    assert_eq!(dates.len(), 30);
    assert_eq!((dates.first(), dates.last()), (Some(&from), Some(&to)));
    // Newest first.
    assert!(rows.windows(2).all(|w| w[0].date >= w[1].date));
    let mut sums: BTreeMap<(Date, String, String), u128> = BTreeMap::new();
    let mut endpoints = BTreeSet::new();
    for r in &rows {
        assert!(r.workspace_id.is_none());
        assert!(
            endpoints.insert((r.date.clone(), r.endpoint_id.clone())),
            "one row per endpoint"
        );
        *sums
            .entry((day(&r.date), r.model.clone(), r.provider_name.clone()))
            .or_default() += nanos_from_raw_dollars(r.usage.get());
    }
    let expected: BTreeMap<_, _> = t
        .usage_usd_by_day_model_provider(from, to)
        .into_iter()
        .map(|(k, v)| (k, nanos_from_raw_dollars(&v)))
        .collect();
    assert_eq!(sums, expected);
    // Several providers serve one model on one day: rows must be summed per model.
    let per_model: BTreeMap<(Date, String), usize> =
        rows.iter().fold(BTreeMap::new(), |mut m, r| {
            *m.entry((day(&r.date), r.model.clone())).or_default() += 1;
            m
        });
    assert!(per_model.values().any(|&n| n > 1));
    // BYOK inference is reported apart from usage.
    let byok: u128 = rows
        .iter()
        .map(|r| nanos_from_raw_dollars(r.byok_usage_inference.get()))
        .sum();
    let expected_byok: u128 = t
        .byok_usd_by_day_model(from, to)
        .values()
        .map(|v| nanos_from_raw_dollars(v))
        .sum();
    assert!(byok > 0);
    assert_eq!(byok, expected_byok);
    let requests: u64 = rows.iter().map(|r| r.requests).sum();
    assert_eq!(requests, t.total_requests(from, to));
}

#[tokio::test]
async fn activity_filters_and_grouping() {
    let fake = start(5).await;
    let t = fake.truth();
    let (from, to) = t.activity_window();
    let total = nanos_from_raw_dollars(&t.total_usage_usd(from, to));
    let sum = |rows: &[ActivityRow]| -> u128 {
        rows.iter()
            .map(|r| nanos_from_raw_dollars(r.usage.get()))
            .sum()
    };
    // group_by=workspace splits rows per workspace.
    let grouped = activity(&get(&fake, "/activity", &[("group_by", "workspace")]).await);
    assert_eq!(sum(&grouped), total);
    let mut by_ws: BTreeMap<(Date, String, String), u128> = BTreeMap::new();
    for r in &grouped {
        *by_ws
            .entry((
                day(&r.date),
                r.workspace_id.clone().unwrap(),
                r.model.clone(),
            ))
            .or_default() += nanos_from_raw_dollars(r.usage.get());
    }
    let expected: BTreeMap<_, _> = t
        .usage_usd_by_day_workspace_model(from, to)
        .into_iter()
        .map(|(k, v)| (k, nanos_from_raw_dollars(&v)))
        .collect();
    assert_eq!(by_ws, expected);
    // One call per listed key: the deleted key's spend is only in the unfiltered total.
    let mut per_key = 0;
    for key in t.keys().iter().filter(|k| !k.deleted) {
        let rows = activity(&get(&fake, "/activity", &[("api_key_hash", &key.hash)]).await);
        per_key += sum(&rows);
    }
    let deleted = t.keys().into_iter().find(|k| k.deleted).unwrap();
    let deleted_spend: u128 = t
        .usage_usd_by_day_key_model(t.first_day(), TODAY)
        .iter()
        .filter(|((d, h, _), _)| *h == deleted.hash && *d >= from && *d <= to)
        .map(|(_, v)| nanos_from_raw_dollars(v))
        .sum();
    assert_eq!(per_key + deleted_spend, total);
    // One day.
    let one = activity(&get(&fake, "/activity", &[("date", "2025-06-15")]).await);
    assert!(one.iter().all(|r| r.date == "2025-06-15"));
    assert_eq!(
        sum(&one),
        nanos_from_raw_dollars(&t.total_usage_usd(date!(2025 - 06 - 15), date!(2025 - 06 - 15)))
    );
    // A workspace, a member.
    let research = &t.workspaces()[1];
    let rows = activity(&get(&fake, "/activity", &[("workspace_id", &research.id)]).await);
    assert!(sum(&rows) > 0 && sum(&rows) < total);
    let member = &t.member_ids()[0];
    let rows = activity(&get(&fake, "/activity", &[("user_id", member)]).await);
    assert!(sum(&rows) > 0 && sum(&rows) < total);
    // Errors.
    for (query, status) in [
        (vec![("date", TODAY.to_string())], 400),
        (vec![("date", "2025-05-30".to_owned())], 400),
        (vec![("date", "30/06/2025".to_owned())], 400),
        (vec![("group_by", "model".to_owned())], 400),
        (vec![("workspace_id", "research".to_owned())], 400),
        (
            vec![(
                "workspace_id",
                "00000000-0000-4000-8000-000000000000".to_owned(),
            )],
            404,
        ),
        (vec![("api_key", "x".to_owned())], 400),
    ] {
        let q: Vec<(&str, &str)> = query.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let reply = get(&fake, "/activity", &q).await;
        assert_eq!(reply.status, status, "{query:?}: {}", reply.body);
        assert_eq!(reply.json()["error"]["code"], status);
    }
    let unknown = activity(&get(&fake, "/activity", &[("api_key_hash", "abc")]).await);
    assert!(unknown.is_empty());
}

#[derive(Deserialize)]
struct KeyRow {
    hash: String,
    name: String,
    disabled: bool,
    usage: Box<RawValue>,
    workspace_id: String,
}

#[derive(Deserialize)]
struct Keys {
    data: Vec<KeyRow>,
}

async fn all_keys(fake: &RunningOpenRouterFake, extra: &[(&str, &str)]) -> (usize, Vec<KeyRow>) {
    let mut out = Vec::new();
    for pages in 1..20 {
        let offset = out.len().to_string();
        let mut q = vec![("offset", offset.as_str())];
        q.extend_from_slice(extra);
        let reply = get(fake, "/keys", &q).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        let page = serde_json::from_str::<Keys>(&reply.body).unwrap().data;
        assert!(page.len() <= 100);
        let short = page.len() < 100;
        out.extend(page);
        if short {
            return (pages, out);
        }
    }
    panic!("the listing never ended");
}

#[tokio::test]
async fn keys_page_by_offset_within_one_workspace() {
    let fake = start(6).await;
    let t = fake.truth();
    let workspaces = t.workspaces();
    let default_ws = &workspaces[0].id;
    let (pages, listed) = all_keys(&fake, &[]).await;
    assert_eq!(pages, 2);
    let hashes: BTreeSet<String> = listed.iter().map(|k| k.hash.clone()).collect();
    assert_eq!(hashes.len(), listed.len(), "every key once");
    let expected: BTreeSet<String> = t
        .keys()
        .into_iter()
        .filter(|k| k.workspace_id == *default_ws && !k.deleted && !k.disabled)
        .map(|k| k.hash)
        .collect();
    assert_eq!(hashes, expected);
    assert!(
        listed
            .iter()
            .all(|k| !k.disabled && k.workspace_id == *default_ws)
    );
    let (_, with_disabled) = all_keys(&fake, &[("include_disabled", "true")]).await;
    assert!(with_disabled.len() > listed.len());
    assert!(with_disabled.iter().any(|k| k.disabled));
    let regular = listed
        .iter()
        .find(|k| k.hash == t.regular_key_hash())
        .unwrap();
    assert_eq!(regular.name, "prod-backend");
    assert_eq!(
        regular.usage.get(),
        t.key_usage(t.regular_key_hash()).unwrap().usage
    );
    // Other workspaces only with workspace_id; every listed key of every workspace once.
    let mut everywhere = BTreeSet::new();
    for w in &workspaces {
        let (_, keys) = all_keys(
            &fake,
            &[("workspace_id", &w.id), ("include_disabled", "true")],
        )
        .await;
        assert!(keys.iter().all(|k| k.workspace_id == w.id));
        for k in keys {
            assert!(everywhere.insert(k.hash));
        }
    }
    let live: BTreeSet<String> = t
        .keys()
        .into_iter()
        .filter(|k| !k.deleted)
        .map(|k| k.hash)
        .collect();
    assert_eq!(everywhere, live);
    for (q, status) in [
        (("offset", "-1"), 400),
        (("include_disabled", "yes"), 400),
        (("limit", "100"), 400),
        (
            ("workspace_id", "00000000-0000-4000-8000-000000000000"),
            404,
        ),
    ] {
        assert_eq!(get(&fake, "/keys", &[q]).await.status, status, "{q:?}");
    }
}

#[tokio::test]
async fn workspaces_page_with_a_total_count() {
    let fake = start(7).await;
    let t = fake.truth();
    let first = get(&fake, "/workspaces", &[("limit", "2")]).await.json();
    assert_eq!(first["total_count"], 3);
    assert_eq!(first["data"].as_array().unwrap().len(), 2);
    let second = get(&fake, "/workspaces", &[("limit", "2"), ("offset", "2")])
        .await
        .json();
    let ids: Vec<String> = first["data"]
        .as_array()
        .unwrap()
        .iter()
        .chain(second["data"].as_array().unwrap())
        .map(|w| w["id"].as_str().unwrap().to_owned())
        .collect();
    let expected: Vec<String> = t.workspaces().into_iter().map(|w| w.id).collect();
    assert_eq!(ids, expected);
    assert_eq!(first["data"][0]["name"], "Default Workspace");
    for limit in ["0", "101", "ten"] {
        assert_eq!(
            get(&fake, "/workspaces", &[("limit", limit)]).await.status,
            400
        );
    }
}

#[tokio::test]
async fn every_fault_fires() {
    let fake = start(8).await;
    fake.faults().add(FaultRule::new(Fault::RateLimited {
        retry_after_secs: 4,
    }));
    let limited = get(&fake, "/activity", &[]).await;
    assert_eq!(limited.status, 429);
    assert_eq!(limited.headers["retry-after"], "4");
    assert_eq!(limited.json()["error"]["code"], 429);
    fake.faults().add(FaultRule::new(Fault::ServerError(502)));
    let failed = get(&fake, "/credits", &[]).await;
    assert_eq!(
        (failed.status, failed.json()["error"]["code"].clone()),
        (502, json!(502))
    );
    fake.faults().add(FaultRule::new(Fault::Malformed));
    assert!(serde_json::from_str::<Value>(&get(&fake, "/keys", &[]).await.body).is_err());
    fake.faults().add(FaultRule::new(Fault::Truncated));
    assert!(serde_json::from_str::<Value>(&get(&fake, "/activity", &[]).await.body).is_err());
    // A repeated page: offset 100 serves the first page again.
    let page1 = get(&fake, "/keys", &[]).await;
    fake.faults().add(
        FaultRule::new(Fault::RepeatPage)
            .on_path("/keys")
            .on_page(2),
    );
    let again = get(&fake, "/keys", &[("offset", "100")]).await;
    assert_eq!(again.body, page1.body);
    assert_eq!(fake.faults().remaining(), 0);
    fake.faults()
        .add(FaultRule::new(Fault::MissingField).on_path("/activity"));
    let missing = get(&fake, "/activity", &[]).await.json();
    assert!(missing["data"][0].get("usage").is_none());
    fake.faults()
        .add(FaultRule::new(Fault::MissingField).on_path("/keys"));
    assert!(
        get(&fake, "/keys", &[]).await.json()["data"][0]
            .get("hash")
            .is_none()
    );
    fake.faults()
        .add(FaultRule::new(Fault::Delay(Duration::from_millis(250))));
    let started = std::time::Instant::now();
    assert_eq!(get(&fake, "/workspaces", &[]).await.status, 200);
    assert!(started.elapsed() >= Duration::from_millis(250));
    // A 403 is not hidden by a fault.
    fake.faults().add(FaultRule::new(Fault::ServerError(500)));
    assert_eq!(
        get_as(&fake, fake.regular_key(), "/credits", &[])
            .await
            .status,
        403
    );
    assert_eq!(fake.faults().remaining(), 1);
    assert_eq!(fake.log().count("/activity"), 3);
}

#[tokio::test]
async fn the_same_seed_serves_the_same_bytes() {
    let (a, b, c) = (start(11).await, start(11).await, start(12).await);
    for path in ["/activity", "/keys", "/credits", "/workspaces"] {
        let (ra, rb) = (get(&a, path, &[]).await, get(&b, path, &[]).await);
        assert_eq!(ra.body, rb.body, "{path}");
        assert_ne!(ra.body, get(&c, path, &[]).await.body, "{path}");
    }
}
