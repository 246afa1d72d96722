//! Cost records and token usage through the real server on a random port (SQLite, or
//! PostgreSQL with `SPENDLENS_TEST_DATABASE_URL`): known events (priced, unpriced,
//! provider-reported cost, no usage, failed) are ingested through `POST /api/v1/meter/events`,
//! then `GET /api/v1/token-usage` and `/token-usage/summary` are checked row by row and total
//! by total — exact money, unknown tokens as null, masked keys, keyset paging, every filter,
//! bad input as a 400 — and an ingest key is refused on both.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a failing test should stop loudly

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use spendlens_domain::catalog::CanonicalUsage;
use spendlens_domain::{FixedClock, Money, PriceCatalog, Pricing, ProviderKind, Scopes, price};
use spendlens_providers::HttpSettings;
use spendlens_store::testing::TestStore;
use spendlens_store::vault::Vault;
use spendlens_store::{OrgId, Store};
use spendlens_sync::{SyncEngine, SyncSettings};
use time::macros::datetime;

const NOW: time::OffsetDateTime = datetime!(2026-12-04 12:00 UTC);
const FULL_KEY: &str = "sk-proj-abcdefghijklmnopqrstuvwxyz1234";

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
            .create_scoped_api_token(org, "reader", Scopes::READ, None, NOW)
            .await
            .unwrap()
            .secret;
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
