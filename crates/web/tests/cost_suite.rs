//! Cost records and token usage through the real server on a random port (SQLite, or
//! PostgreSQL with `SPENDLENS_TEST_DATABASE_URL`): known events (priced, unpriced,
//! provider-reported cost, no usage, failed) are ingested through `POST /api/v1/meter/events`,
//! then `GET /api/v1/token-usage` and `/token-usage/summary` are checked row by row and total
//! by total — exact money, unknown tokens as null, masked keys, keyset paging, every filter,
//! bad input as a 400 — and an ingest key is refused on both; then the dashboard's Cost records
//! and Token usage pages show the same figures (cells, cards, charts, filters, paging, the live
//! part the page refreshes).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a failing test should stop loudly

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use spendlens_domain::catalog::CanonicalUsage;
use spendlens_domain::{FixedClock, Money, PriceCatalog, Pricing, ProviderKind, Scopes, price};
use spendlens_providers::HttpSettings;
use spendlens_store::testing::TestStore;
use spendlens_store::vault::Vault;
use spendlens_store::{OrgId, Role, Store};
use spendlens_sync::{SyncEngine, SyncSettings};
use spendlens_web::dashboard::session::hash_password;
use time::macros::datetime;

const NOW: time::OffsetDateTime = datetime!(2026-12-04 12:00 UTC);
const FULL_KEY: &str = "sk-proj-abcdefghijklmnopqrstuvwxyz1234";
const VIEWER: &str = "viewer@example.com";
const PASSWORD: &str = "correct horse battery staple";

struct App {
    base: String,
    /// An admin token (sends events too).
    admin: String,
    /// A read-only token.
    reader: String,
    ingest: String,
    client: reqwest::Client,
    store: Store,
    org: OrgId,
    test: TestStore,
}

impl App {
    async fn start() -> App {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let test = TestStore::new().await.unwrap();
        let store = test.store.clone();
        let org = store.ensure_default_org(NOW).await.unwrap();
        let admin = store
            .create_api_token(org, "admin", NOW)
            .await
            .unwrap()
            .secret;
        let reader = store
            .create_scoped_api_token(
                org,
                "reader",
                Scopes::READ,
                None,
                spendlens_store::Actor {
                    name: "test",
                    at: NOW,
                },
            )
            .await
            .unwrap()
            .secret;
        store
            .create_user(
                org,
                VIEWER,
                &hash_password(PASSWORD).unwrap(),
                Role::Viewer,
                NOW,
            )
            .await
            .unwrap();
        let engine = SyncEngine::new(
            store.clone(),
            Vault::from_key([9; 32]),
            PriceCatalog::built_in(),
            Arc::new(FixedClock::new(NOW)),
            SyncSettings {
                lease: Duration::from_secs(60),
                http: HttpSettings::default(),
                owner: "cost-test".into(),
                allowed_base_url_hosts: Vec::new(),
            },
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let router = spendlens_web::router(spendlens_web::AppState::new(engine));
        tokio::spawn(spendlens_web::serve(
            listener,
            router,
            std::future::pending(),
        ));
        let client = reqwest::Client::new();
        let created: Value = client
            .post(format!("{base}/api/v1/ingest-keys"))
            .bearer_auth(&admin)
            .json(&json!({"name": "cost suite"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let ingest = created["secret"].as_str().unwrap().to_owned();
        App {
            base,
            admin,
            reader,
            ingest,
            client,
            store,
            org,
            test,
        }
    }

    async fn get(&self, path: &str, bearer: &str) -> (u16, Value) {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .bearer_auth(bearer)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// Reads with the read-only token and expects a 200.
    async fn read(&self, path: &str) -> Value {
        let (status, body) = self.get(path, &self.reader).await;
        assert_eq!(status, 200, "{path}: {body}");
        body
    }

    async fn send(&self, events: &Value) {
        let response = self
            .client
            .post(format!("{}/api/v1/meter/events", self.base))
            .bearer_auth(&self.ingest)
            .json(events)
            .send()
            .await
            .unwrap();
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["rejected"], 0, "{body}");
    }
}

/// The suite's events: priced, unpriced, reported cost, no usage, failed (the day before).
fn events() -> Value {
    json!([
        {"id": "priced-1", "time": "2026-12-04T11:30:00Z", "provider": "openai", "model": "gpt-4o-mini",
         "tokens": {"input": 1200, "cache_read": 200, "output": 300}, "customer": "cus_a", "api_key": FULL_KEY,
         "latency_ms": 850},
        {"id": "unpriced-1", "time": "2026-12-04T11:00:00Z", "provider": "openai", "model": "house-model-x",
         "tokens": {"input": 100, "output": 50}, "customer": "cus_b"},
        {"id": "reported-1", "time": "2026-12-04T10:00:00Z", "provider": "anthropic", "model": "claude-sonnet-4-5",
         "tokens": {"input": 1000, "output": 100}, "cost": "0.5", "customer": "cus_a", "api_key": "key-1"},
        {"id": "nousage-1", "time": "2026-12-04T09:00:00Z", "provider": "openai", "model": "gpt-4o-mini",
         "customer": "cus_b"},
        {"id": "failed-1", "time": "2026-12-03T23:30:00Z", "provider": "openai", "model": "gpt-4o-mini",
         "tokens": {"input": 500, "output": 0}, "status": "error", "customer": "cus_a"}
    ])
}

/// What the built-in catalog says a gpt-4o-mini call costs, priced here independently of the
/// server: (input side, output side, total) in nano-dollars.
fn catalog_cost(input: i64, cache_read: i64, output: i64) -> (i64, i64, i64) {
    let usage = |input, cache_read, output| CanonicalUsage {
        input,
        cache_read,
        output,
        ..CanonicalUsage::default()
    };
    let cost = |u: &CanonicalUsage| match price(
        &PriceCatalog::built_in(),
        ProviderKind::OpenAi,
        "gpt-4o-mini",
        NOW,
        u,
    ) {
        Pricing::Priced(p) => p.cost.nanos(),
        Pricing::Unpriced(reason) => panic!("gpt-4o-mini is unpriced: {reason}"),
    };
    let input_side = cost(&usage(input, cache_read, 0));
    let output_side = cost(&usage(0, 0, output));
    let total = cost(&usage(input, cache_read, output));
    (input_side, output_side, total)
}

fn money(nanos: i64) -> Value {
    json!(Money::from_nanos(nanos).to_exact_string())
}

fn ids(body: &Value) -> Vec<String> {
    body["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect()
}

fn row<'a>(body: &'a Value, id: &str) -> &'a Value {
    body["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id)
        .unwrap_or_else(|| panic!("no row {id} in {body}"))
}

#[tokio::test]
async fn token_usage_rows_are_exact_masked_and_newest_first() {
    let app = App::start().await;
    app.send(&events()).await;
    assert_eq!(app.store.meter_event_count(app.org).await.unwrap(), 5);
    let body = app.read("/api/v1/token-usage").await;
    assert_eq!(
        ids(&body),
        [
            "priced-1",
            "unpriced-1",
            "reported-1",
            "nousage-1",
            "failed-1"
        ]
    );
    assert_eq!(
        (body["count"].clone(), body["limit"].clone()),
        (json!(5), json!(50))
    );
    assert!(body["next_cursor"].is_null(), "{body}");
    // The full key never comes back, nor its middle.
    assert!(!body.to_string().contains("defghijklmnop"), "{body}");

    let (input, output, total) = catalog_cost(1000, 200, 300);
    assert!(input > 0 && output > 0);
    assert_eq!(input + output, total, "the catalog's lines add up");
    let priced = row(&body, "priced-1");
    assert_eq!(priced["time"], "2026-12-04T11:30:00Z");
    assert_eq!(priced["customer"], "cus_a");
    assert_eq!(priced["api_key"], "sk-proj-abc…1234");
    assert_eq!(priced["provider"], "openai");
    assert_eq!(priced["model"], "gpt-4o-mini");
    assert_eq!(priced["status"], "ok");
    assert_eq!(
        (
            &priced["input_tokens"],
            &priced["output_tokens"],
            &priced["total_tokens"],
            &priced["cache_read_tokens"]
        ),
        (&json!(1200), &json!(300), &json!(1500), &json!(200))
    );
    assert_eq!(priced["input_cost"], money(input));
    assert_eq!(priced["output_cost"], money(output));
    assert_eq!(priced["other_cost"], money(0));
    assert_eq!(priced["total_cost"], money(total));
    assert_eq!(priced["cost_source"], "catalog");
    // The cost came from the catalog, not the sender: an estimate.
    assert_eq!(
        (
            &priced["tokens_reported"],
            &priced["cost_reported"],
            &priced["estimated"]
        ),
        (&json!(true), &json!(false), &json!(true))
    );

    let unpriced = row(&body, "unpriced-1");
    assert_eq!(unpriced["total_cost"], Value::Null);
    assert_eq!(unpriced["priced"], false);
    assert_eq!(unpriced["input_cost"], Value::Null);
    assert_eq!(unpriced["output_cost"], Value::Null);
    assert!(
        unpriced["unpriced_reason"]
            .as_str()
            .unwrap()
            .contains("house-model-x")
    );
    assert_eq!(unpriced["input_tokens"], 100);

    // A provider-reported total has no exact split: N/A, not invented.
    let reported = row(&body, "reported-1");
    assert_eq!(reported["total_cost"], "0.50");
    assert_eq!(reported["cost_source"], "reported");
    assert_eq!(
        (&reported["input_cost"], &reported["output_cost"]),
        (&Value::Null, &Value::Null)
    );
    assert_eq!(reported["estimated"], false);
    assert_eq!(reported["api_key"], "key-…");

    // No usage reported: tokens unknown (null, never 0), flagged estimated, unpriced.
    let nousage = row(&body, "nousage-1");
    for field in [
        "input_tokens",
        "output_tokens",
        "total_tokens",
        "total_cost",
    ] {
        assert_eq!(nousage[field], Value::Null, "{field}: {nousage}");
    }
    assert_eq!(
        (&nousage["tokens_reported"], &nousage["estimated"]),
        (&json!(false), &json!(true))
    );

    let failed = row(&body, "failed-1");
    assert_eq!(failed["status"], "error");
    assert_eq!(failed["total_cost"], money(catalog_cost(500, 0, 0).2));
    assert_eq!(failed["output_tokens"], 0);
    app.test.teardown().await;
}

#[tokio::test]
async fn summary_comes_from_the_rollups_and_matches_the_rows() {
    let app = App::start().await;
    app.send(&events()).await;
    let all = app.read("/api/v1/token-usage/summary").await;
    let expected_cost = catalog_cost(1000, 200, 300).2 + 500_000_000 + catalog_cost(500, 0, 0).2;
    assert_eq!(all["requests"], 5);
    assert_eq!(all["requests_with_tokens"], 4);
    assert_eq!(all["requests_without_tokens"], 1);
    assert_eq!(all["input_tokens"], 1200 + 100 + 1000 + 500);
    assert_eq!(all["output_tokens"], 300 + 50 + 100);
    assert_eq!(all["total_tokens"], 3250);
    assert_eq!(all["average_tokens_per_request"], "812.5");
    assert_eq!(all["total_cost"], money(expected_cost));
    assert_eq!(
        (
            &all["unpriced_requests"],
            &all["reported_cost_requests"],
            &all["failed_requests"],
            &all["priced_requests"]
        ),
        (&json!(2), &json!(1), &json!(1), &json!(3))
    );
    // The rows add up to the summary.
    let rows = app.read("/api/v1/token-usage?limit=1000").await;
    let row_sum: i64 = rows["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["total_cost"].as_str())
        .map(|c| Money::parse_units(c).unwrap().nanos())
        .sum();
    assert_eq!(money(row_sum), all["total_cost"]);

    // Ranges: whole days, hours inside one day, and partial days around a whole one.
    for (query, requests, input_tokens) in [
        ("from=2026-12-03&to=2026-12-03", 1, json!(500)),
        ("from=2026-12-04", 4, json!(2300)),
        (
            "from=2026-12-04T10:00:00Z&to=2026-12-04T12:00:00Z",
            3,
            json!(2300),
        ),
        (
            "from=2026-12-03T23:00:00Z&to=2026-12-04T11:00:00Z",
            3,
            json!(1500),
        ),
        (
            "from=2026-12-03T20:00:00Z&to=2026-12-05T01:00:00Z",
            5,
            json!(2800),
        ),
        (
            "from=2026-12-04T09:00:00Z&to=2026-12-04T10:00:00Z",
            1,
            Value::Null,
        ),
        ("from=2026-11-01&to=2026-11-30", 0, Value::Null),
    ] {
        let s = app
            .read(&format!("/api/v1/token-usage/summary?{query}"))
            .await;
        assert_eq!(s["requests"], requests, "{query}: {s}");
        assert_eq!(s["input_tokens"], input_tokens, "{query}: {s}");
        let listed = app.read(&format!("/api/v1/token-usage?{query}")).await;
        assert_eq!(listed["count"], requests, "{query}: rows and summary agree");
    }
    // Unknown is not zero: nothing priced is an unknown cost.
    let none = app
        .read("/api/v1/token-usage/summary?model=house-model-x")
        .await;
    assert_eq!(
        (none["requests"].clone(), none["total_cost"].clone()),
        (json!(1), Value::Null)
    );
    let filtered = app
        .read("/api/v1/token-usage/summary?customer=cus_a&model=gpt-4o-mini")
        .await;
    assert_eq!(filtered["requests"], 2);
    assert_eq!(
        filtered["total_cost"],
        money(catalog_cost(1000, 200, 300).2 + catalog_cost(500, 0, 0).2)
    );
    let by_key = app
        .read("/api/v1/token-usage/summary?api_key=sk-proj-abc%E2%80%A6")
        .await;
    assert_eq!(by_key["requests"], 0, "a key matches whole, not by prefix");
    let by_key = app
        .read("/api/v1/token-usage/summary?api_key=key-%E2%80%A6")
        .await;
    assert_eq!(by_key["requests"], 1);
    assert_eq!(by_key["total_cost"], "0.50");
    app.test.teardown().await;
}

#[tokio::test]
async fn paging_filters_and_bad_input() {
    let app = App::start().await;
    app.send(&events()).await;
    // Keyset pages of 2: every row once, in order, the last page says so.
    let mut seen = Vec::new();
    let mut path = "/api/v1/token-usage?limit=2".to_owned();
    for page in 0.. {
        let body = app.read(&path).await;
        let page_ids = ids(&body);
        assert!(page_ids.len() <= 2);
        seen.extend(page_ids);
        match body["next_cursor"].as_str() {
            Some(cursor) => path = format!("/api/v1/token-usage?limit=2&cursor={cursor}"),
            None => {
                assert_eq!(page, 2, "{body}");
                break;
            }
        }
    }
    assert_eq!(
        seen,
        [
            "priced-1",
            "unpriced-1",
            "reported-1",
            "nousage-1",
            "failed-1"
        ]
    );
    // Events at the same instant are told apart by their id.
    app.send(&json!([
        {"id": "same-a", "time": "2026-12-02T08:00:00Z", "provider": "openai", "model": "gpt-4o-mini", "tokens": {"input": 1}},
        {"id": "same-b", "time": "2026-12-02T08:00:00Z", "provider": "openai", "model": "gpt-4o-mini", "tokens": {"input": 1}},
        {"id": "same-c", "time": "2026-12-02T08:00:00Z", "provider": "openai", "model": "gpt-4o-mini", "tokens": {"input": 1}}
    ]))
    .await;
    let first = app
        .read("/api/v1/token-usage?to=2026-12-02&page_size=2")
        .await;
    assert_eq!(ids(&first), ["same-c", "same-b"]);
    let next = app
        .read(&format!(
            "/api/v1/token-usage?to=2026-12-02&page_size=2&cursor={}",
            first["next_cursor"].as_str().unwrap()
        ))
        .await;
    assert_eq!(ids(&next), ["same-a"]);
    assert!(next["next_cursor"].is_null());

    for (query, expected) in [
        ("customer=cus_a", vec!["priced-1", "reported-1", "failed-1"]),
        ("customer=cus_b&model=gpt-4o-mini", vec!["nousage-1"]),
        (
            "model=gpt-4o-mini&from=2026-12-03",
            vec!["priced-1", "nousage-1", "failed-1"],
        ),
        ("provider=anthropic", vec!["reported-1"]),
        ("api_key=sk-proj-abc%E2%80%A61234", vec!["priced-1"]),
        ("api_key=key-%E2%80%A6", vec!["reported-1"]),
        ("api_key=no-such-key", vec![]),
        (
            "from=2026-12-04T10:00:00Z&to=2026-12-04T11:00:00Z",
            vec!["reported-1"],
        ),
        (
            "to=2026-12-03",
            vec!["failed-1", "same-c", "same-b", "same-a"],
        ),
        ("customer=nobody", vec![]),
    ] {
        let body = app.read(&format!("/api/v1/token-usage?{query}")).await;
        assert_eq!(ids(&body), expected, "{query}");
    }

    for (query, needle) in [
        ("limit=0", "from 1 to 1000"),
        ("limit=5000", "from 1 to 1000"),
        ("page_size=1001", "from 1 to 1000"),
        ("from=2026-02-30", "neither a date"),
        ("from=yesterday", "neither a date"),
        ("from=2026-12-04&to=2026-12-01", "not before"),
        ("from=2026-12-04T10:15:00Z", "whole hour"),
        ("cursor=abc", "cursor"),
        ("colour=red", "colour"),
    ] {
        let (status, body) = app
            .get(&format!("/api/v1/token-usage?{query}"), &app.reader)
            .await;
        assert_eq!(status, 400, "{query}: {body}");
        let message = body["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(needle), "{query}: {message}");
    }
    let (status, body) = app
        .get("/api/v1/token-usage/summary?limit=10", &app.reader)
        .await;
    assert_eq!(status, 400, "{body}");
    let (status, _) = app
        .get(
            "/api/v1/token-usage/summary?from=2026-12-05&to=2026-12-04",
            &app.reader,
        )
        .await;
    assert_eq!(status, 400);
    app.test.teardown().await;
}

#[tokio::test]
async fn an_ingest_key_reads_no_usage_and_the_document_lists_the_routes() {
    let app = App::start().await;
    app.send(&events()).await;
    for path in ["/api/v1/token-usage", "/api/v1/token-usage/summary"] {
        let (status, body) = app.get(path, &app.ingest).await;
        assert_eq!(status, 403, "{path}: {body}");
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("ingest key"),
            "{body}"
        );
        assert!(!body.to_string().contains("priced-1"));
        let (status, _) = app.get(path, "sl_not_a_token").await;
        assert_eq!(status, 401);
        let (status, _) = app.get(path, &app.admin).await;
        assert_eq!(status, 200);
    }
    let (_, doc) = app.get("/api/v1/openapi.json", &app.reader).await;
    for path in ["/token-usage", "/token-usage/summary"] {
        assert!(doc["paths"][path]["get"].is_object(), "{path} undocumented");
    }
    assert!(
        doc["components"]["schemas"]["TokenUsageRecord"]["properties"]["estimated"].is_object()
    );
    app.test.teardown().await;
}

struct Browser {
    client: reqwest::Client,
    base: String,
    cookie: String,
}

fn cookie_of(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| {
            let (key, value) = v.split(';').next()?.split_once('=')?;
            (key == name && !value.is_empty()).then(|| value.to_owned())
        })
}

fn csrf_in(html: &str) -> String {
    let marker = "name=\"csrf\" value=\"";
    let start = html.find(marker).expect("a csrf field") + marker.len();
    html[start..start + html[start..].find('"').unwrap()].to_owned()
}

impl Browser {
    async fn login(base: &str) -> Browser {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let response = client.get(format!("{base}/login")).send().await.unwrap();
        let login_cookie = cookie_of(&response, "spendlens_login_csrf").unwrap();
        let csrf = csrf_in(&response.text().await.unwrap());
        let response = client
            .post(format!("{base}/login"))
            .header(
                reqwest::header::COOKIE,
                format!("spendlens_login_csrf={login_cookie}"),
            )
            .form(&[
                ("email", VIEWER),
                ("password", PASSWORD),
                ("csrf", csrf.as_str()),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 303, "login failed");
        Browser {
            cookie: format!(
                "spendlens_session={}",
                cookie_of(&response, "spendlens_session").unwrap()
            ),
            client,
            base: base.to_owned(),
        }
    }

    async fn get(&self, path: &str) -> (u16, String, Option<String>) {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .header(reqwest::header::COOKIE, &self.cookie)
            .send()
            .await
            .unwrap();
        let part = response
            .headers()
            .get("x-spendlens-part")
            .map(|v| v.to_str().unwrap().to_owned());
        (
            response.status().as_u16(),
            response.text().await.unwrap(),
            part,
        )
    }
}

/// The text of each `<td>` of the table row that contains `marker`, tags stripped.
fn cells(html: &str, marker: &str) -> Vec<String> {
    let at = html
        .find(marker)
        .unwrap_or_else(|| panic!("no {marker} in the page"));
    let start = html[..at].rfind("<tr").unwrap();
    let end = at + html[at..].find("</tr>").unwrap();
    html[start..end]
        .split("<td")
        .skip(1)
        .map(|cell| {
            let inner = &cell[cell.find('>').unwrap() + 1..];
            let mut text = String::new();
            let mut in_tag = false;
            for c in inner.chars() {
                match c {
                    '<' => in_tag = true,
                    '>' => in_tag = false,
                    c if !in_tag => text.push(c),
                    _ => {}
                }
            }
            text.split_whitespace().collect::<Vec<_>>().join(" ")
        })
        .collect()
}

fn card(html: &str, label: &str) -> String {
    let marker = format!("data-card=\"{label}\">");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no card {label}"))
        + marker.len();
    html[start..start + html[start..].find('<').unwrap()].to_owned()
}

fn exact(nanos: i64) -> String {
    format!("${}", Money::from_nanos(nanos).to_exact_string())
}

#[tokio::test]
async fn the_cost_records_page_shows_exact_rows_cards_and_charts() {
    let app = App::start().await;
    app.send(&events()).await;
    let browser = Browser::login(&app.base).await;
    let (status, page, _) = browser.get("/cost").await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains(">Cost</a>") && page.contains("aria-current=\"page\">Cost records</a>"));
    assert!(page.contains("href=\"/cost/usage\"") && page.contains("href=\"/cost/pricing\""));
    let (input, output, total) = catalog_cost(1000, 200, 300);
    assert_eq!(
        cells(&page, "sk-proj-abc…1234"),
        [
            "2026-12-04 11:30:00 UTC",
            "cus_a",
            "sk-proj-abc…1234",
            "gpt-4o-mini",
            "OpenAI",
            "1,200",
            "300",
            &exact(input),
            &exact(output),
            &format!("{} est.", exact(total)),
            "ok"
        ]
    );
    assert!(!page.contains("defghijklmnop"), "the full key leaked");
    let unpriced = cells(&page, "house-model-x</code>");
    assert_eq!(
        &unpriced[5..11],
        ["100", "50", "N/A", "N/A", "unpriced", "ok"]
    );
    let reported = cells(&page, "claude-sonnet-4-5</code>");
    assert_eq!(
        &reported[5..11],
        ["1,000", "100", "N/A", "N/A", "$0.50", "ok"]
    );
    assert_eq!(reported[2], "key-…");
    let failed = cells(&page, "2026-12-03 23:30:00 UTC");
    assert_eq!(failed[10], "error");
    // Newest first.
    let order: Vec<usize> = ["11:30:00", "11:00:00", "10:00:00", "09:00:00", "23:30:00"]
        .iter()
        .map(|t| page.find(&format!("{t} UTC")).unwrap())
        .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{order:?}");

    let expected_cost = total + 500_000_000 + catalog_cost(500, 0, 0).2;
    assert_eq!(
        card(&page, "Total cost"),
        spendlens_domain::display::format_rate(Money::from_nanos(expected_cost))
    );
    assert_eq!(card(&page, "Requests"), "5");
    assert_eq!(card(&page, "Input tokens"), "2,800");
    assert_eq!(card(&page, "Output tokens"), "450");
    assert!(
        page.contains("plus 2 unpriced requests"),
        "unpriced are counted, not $0"
    );
    // The donut by provider and the bars by model, from the rollups.
    assert!(page.contains("Cost by provider") && page.contains("Cost by model"));
    assert!(page.contains("<title>Anthropic: $0.50"), "donut");
    assert!(page.contains(">gpt-4o-mini</text>"), "bars");
    assert!(
        !page.contains(">house-model-x</text>"),
        "an unpriced model has no bar"
    );
    // The live part refreshes with the page's own filters.
    assert!(page.contains("data-live=\"/cost/live\""), "auto-refresh");
    app.test.teardown().await;
}

#[tokio::test]
async fn cost_filters_paging_live_part_and_token_usage_page() {
    let app = App::start().await;
    app.send(&events()).await;
    let browser = Browser::login(&app.base).await;
    let (status, page, _) = browser.get("/cost?customer=cus_b&from=2026-12-04").await;
    assert_eq!(status, 200);
    assert!(page.contains("house-model-x</code>") && page.contains("09:00:00 UTC"));
    assert!(
        !page.contains("claude-sonnet-4-5</code>") && !page.contains("sk-proj-abc…1234</code>")
    );
    assert_eq!(card(&page, "Requests"), "2");
    assert_eq!(card(&page, "Total cost"), "unpriced");
    assert_eq!(card(&page, "Input tokens"), "100");
    assert!(
        page.contains("name=\"customer\" value=\"cus_b\""),
        "the filter is kept"
    );
    assert!(
        page.contains("data-live=\"/cost/live?customer=cus_b&#38;from=2026-12-04\""),
        "the refresh keeps the filters"
    );
    let (status, part, marker) = browser
        .get("/cost/live?customer=cus_b&from=2026-12-04")
        .await;
    assert_eq!((status, marker.as_deref()), (200, Some("cost-live")));
    assert!(part.contains("house-model-x</code>") && !part.contains("<html"));
    assert!(!part.contains("claude-sonnet-4-5</code>"));

    // Older pages keep the filters and stop refreshing.
    let (_, first, _) = browser.get("/cost?limit=2").await;
    assert!(first.contains("11:30:00 UTC") && first.contains("11:00:00 UTC"));
    assert!(!first.contains("10:00:00 UTC"));
    let start = first
        .find("href=\"/cost?limit=2&#38;cursor=")
        .expect("an older link")
        + 6;
    let href = first[start..start + first[start..].find('"').unwrap()].replace("&#38;", "&");
    let (status, second, _) = browser.get(&href).await;
    assert_eq!(status, 200);
    assert!(second.contains("10:00:00 UTC") && second.contains("09:00:00 UTC"));
    assert!(!second.contains("11:30:00 UTC") && !second.contains("data-live="));

    for bad in [
        "/cost?from=2026-13-01",
        "/cost?from=2026-12-04&to=2026-12-01",
        "/cost?limit=0",
        "/cost/usage?limit=5000",
    ] {
        let (status, page, _) = browser.get(bad).await;
        assert_eq!(status, 400, "{bad}");
        assert!(page.contains("This filter cannot be used"), "{bad}");
    }
    let (status, _, marker) = browser.get("/cost/live?to=yesterday").await;
    assert_eq!((status, marker), (400, None));

    let (status, usage, _) = browser.get("/cost/usage").await;
    assert_eq!(status, 200);
    assert!(usage.contains("aria-current=\"page\">Token usage</a>"));
    assert_eq!(card(&usage, "Input tokens"), "2,800");
    assert_eq!(card(&usage, "Output tokens"), "450");
    assert_eq!(card(&usage, "Total tokens"), "3,250");
    assert_eq!(card(&usage, "Requests"), "5");
    assert_eq!(card(&usage, "Average tokens per request"), "812.5");
    let nousage = cells(&usage, "09:00:00 UTC");
    assert_eq!(&nousage[5..10], ["N/A", "N/A", "N/A", "N/A", "N/A"]);
    assert!(nousage[10].starts_with("yes"), "{nousage:?}");
    let reported = cells(&usage, "10:00:00 UTC");
    assert_eq!(&reported[5..11], ["1,000", "0", "100", "0", "1,100", "no"]);
    let (_, by_key, _) = browser.get("/cost/usage?api_key=key-%E2%80%A6").await;
    assert_eq!(card(&by_key, "Requests"), "1");
    assert!(by_key.contains("10:00:00 UTC") && !by_key.contains("11:30:00 UTC"));
    let (status, pricing, _) = browser.get("/cost/pricing").await;
    assert_eq!(status, 200);
    assert!(pricing.contains("aria-current=\"page\">Model pricing</a>"));
    app.test.teardown().await;
}

#[tokio::test]
async fn an_event_stored_before_the_split_was_kept_shows_no_split() {
    let app = App::start().await;
    app.send(&events()).await;
    // What migration 0012 leaves on older rows: a catalog cost without its parts.
    app.store
        .execute_for_tests(
            "UPDATE meter_events SET catalog_input_cost_nanos = NULL, catalog_output_cost_nanos = NULL WHERE event_id = 'priced-1'",
        )
        .await
        .unwrap();
    let body = app.read("/api/v1/token-usage?customer=cus_a").await;
    let priced = row(&body, "priced-1");
    assert_eq!(priced["total_cost"], money(catalog_cost(1000, 200, 300).2));
    for field in ["input_cost", "output_cost", "other_cost"] {
        assert_eq!(priced[field], Value::Null, "{field}: {priced}");
    }
    let browser = Browser::login(&app.base).await;
    let (_, page, _) = browser.get("/cost").await;
    let cells = cells(&page, "sk-proj-abc…1234");
    assert_eq!((cells[7].as_str(), cells[8].as_str()), ("N/A", "N/A"));
    assert!(page.contains("stored before the split was kept"));
    app.test.teardown().await;
}
