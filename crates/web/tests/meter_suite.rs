//! Metering through the real server on a random port (SQLite, or PostgreSQL with
//! `SPENDLENS_TEST_DATABASE_URL`): ingest keys, `POST /api/v1/meter/events` in JSON, NDJSON and
//! gzip, every bad input the issue lists, idempotency across batches and servers, and the
//! rollups kept on ingest.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a failing test should stop loudly

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use spendlens_domain::{FixedClock, PriceCatalog};
use spendlens_providers::HttpSettings;
use spendlens_store::testing::TestStore;
use spendlens_store::vault::Vault;
use spendlens_store::{
    BucketRange, METER_DAY, METER_HOUR, Metrics, OrgId, SeriesFilter, Store, meter_extra,
};
use spendlens_sync::{SyncEngine, SyncSettings};
use time::macros::datetime;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const NOW: time::OffsetDateTime = datetime!(2026-12-04 12:00 UTC);

struct App {
    base: String,
    token: String,
    client: reqwest::Client,
    store: Store,
    org: OrgId,
    test: TestStore,
}

fn engine_on(store: Store) -> SyncEngine {
    SyncEngine::new(
        store,
        Vault::from_key([5; 32]),
        PriceCatalog::built_in(),
        Arc::new(FixedClock::new(NOW)),
        SyncSettings {
            lease: Duration::from_secs(60),
            http: HttpSettings {
                timeout: Duration::from_secs(5),
                connect_timeout: Duration::from_secs(2),
                max_retries: 0,
                base_backoff: Duration::from_millis(1),
                max_backoff: Duration::from_millis(2),
                max_retry_after: Duration::from_millis(10),
            },
            owner: "meter-test".into(),
            allowed_base_url_hosts: Vec::new(),
        },
    )
}

/// Serves the app on `store` on a random port; returns its base URL.
async fn serve(store: Store) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let router = spendlens_web::router(spendlens_web::AppState::new(engine_on(store)));
    tokio::spawn(spendlens_web::serve(
        listener,
        router,
        std::future::pending(),
    ));
    base
}

impl App {
    async fn start() -> App {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let test = TestStore::new().await.unwrap();
        let store = test.store.clone();
        let org = store.ensure_default_org(NOW).await.unwrap();
        let token = store
            .create_api_token(org, "admin", NOW)
            .await
            .unwrap()
            .secret;
        let base = serve(store.clone()).await;
        App {
            base,
            token,
            client: reqwest::Client::new(),
            store,
            org,
            test,
        }
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        bearer: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(bearer);
        if let Some(body) = body {
            request = request.json(&body);
        }
        answer(request.send().await.unwrap()).await
    }

    async fn new_key(&self, name: &str) -> (i64, String) {
        let (status, body) = self
            .call(
                reqwest::Method::POST,
                "/api/v1/ingest-keys",
                &self.token,
                Some(json!({ "name": name })),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        (
            body["ingest_key"]["id"].as_i64().unwrap(),
            body["secret"].as_str().unwrap().to_owned(),
        )
    }

    /// Sends raw bytes to the ingest endpoint.
    async fn send(&self, key: &str, content_type: &str, gzip: bool, body: Vec<u8>) -> (u16, Value) {
        send_to(&self.client, &self.base, key, content_type, gzip, body).await
    }

    async fn ingest(&self, key: &str, events: &Value) -> (u16, Value) {
        self.send(
            key,
            "application/json",
            false,
            events.to_string().into_bytes(),
        )
        .await
    }

    /// Every metered call's totals, from the daily rollup.
    async fn day_totals(&self) -> Metrics {
        totals(&self.store, self.org, &METER_DAY).await
    }
}

async fn send_to(
    client: &reqwest::Client,
    base: &str,
    key: &str,
    content_type: &str,
    gzip: bool,
    body: Vec<u8>,
) -> (u16, Value) {
    let mut request = client
        .post(format!("{base}/api/v1/meter/events"))
        .bearer_auth(key)
        .header("content-type", content_type);
    let body = if gzip {
        request = request.header("content-encoding", "gzip");
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(&body).unwrap();
        encoder.finish().unwrap()
    } else {
        body
    };
    answer(request.body(body).send().await.unwrap()).await
}

async fn answer(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

async fn totals(store: &Store, org: OrgId, kind: &spendlens_store::RollupKind) -> Metrics {
    let rows = store
        .read_period(
            org,
            kind,
            &SeriesFilter::default(),
            BucketRange {
                first: 0,
                last: 10_000_000,
            },
            None,
        )
        .await
        .unwrap();
    rows.iter()
        .fold(Metrics::default(), |sum, row| sum.plus(row.current))
}

fn event(id: &str) -> Value {
    json!({
        "id": id,
        "time": "2026-12-04T11:30:00Z",
        "provider": "openai",
        "model": "gpt-4o-mini",
        "tokens": {"input": 1200, "cache_read": 200, "output": 300},
        "latency_ms": 850,
        "customer": "cus_42",
        "product": "support",
        "agent": "triage",
    })
}

fn message(body: &Value) -> String {
    body["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn ingest_keys_write_only_and_their_lifecycle() {
    let app = App::start().await;
    let (id, secret) = app.new_key("checkout service").await;
    assert!(secret.starts_with("sl_ingest_"), "{secret}");

    // Listed masked, never with the secret.
    let (status, list) = app
        .call(
            reqwest::Method::GET,
            "/api/v1/ingest-keys",
            &app.token,
            None,
        )
        .await;
    assert_eq!(status, 200);
    let listed = list["ingest_keys"][0].clone();
    assert_eq!(listed["name"], "checkout service");
    assert!(listed["hint"].as_str().unwrap().contains('…'));
    assert!(!list.to_string().contains(&secret[14..]), "{list}");
    assert!(listed["last_used_at"].is_null());

    let (status, body) = app.ingest(&secret, &json!([event("k-1")])).await;
    assert_eq!(
        (status, body["accepted"].as_u64()),
        (200, Some(1)),
        "{body}"
    );
    let key = app.store.get_ingest_key(app.org, id).await.unwrap();
    assert_eq!(key.last_used_at, Some(NOW));

    // An ingest key reads nothing and changes nothing.
    for path in [
        "/api/v1/ingest-keys",
        "/api/v1/connections",
        "/api/v1/reports/providers",
        "/api/v1/sync-runs",
    ] {
        let (status, body) = app.call(reqwest::Method::GET, path, &secret, None).await;
        assert_eq!(status, 403, "{path}: {body}");
        assert!(message(&body).contains("ingest key"), "{body}");
    }
    let (status, _) = app
        .call(
            reqwest::Method::POST,
            "/api/v1/ingest-keys",
            &secret,
            Some(json!({"name": "sneaky"})),
        )
        .await;
    assert_eq!(status, 403);
    // Nor does the dashboard take it.
    let page = app
        .client
        .get(format!("{}/connections", app.base))
        .bearer_auth(&secret)
        .send()
        .await
        .unwrap();
    assert!(!page.url().path().starts_with("/connections") || page.status() != 200);

    // A read-only API token may not send events, nor manage keys; it may list them.
    let reader = app
        .store
        .create_scoped_api_token(
            app.org,
            "reader",
            spendlens_domain::Scopes::READ,
            None,
            spendlens_store::Actor {
                name: "test",
                at: NOW,
            },
        )
        .await
        .unwrap()
        .secret;
    let (status, body) = app.ingest(&reader, &json!([event("k-r")])).await;
    assert_eq!(status, 403, "{body}");
    let (status, body) = app
        .call(
            reqwest::Method::POST,
            "/api/v1/ingest-keys",
            &reader,
            Some(json!({"name": "x"})),
        )
        .await;
    assert_eq!(status, 403, "{body}");
    assert!(message(&body).contains("admin"), "{body}");
    let (status, _) = app
        .call(reqwest::Method::GET, "/api/v1/ingest-keys", &reader, None)
        .await;
    assert_eq!(status, 200);

    // Regenerate: the old secret stops at once, the new one works.
    let (status, body) = app
        .call(
            reqwest::Method::POST,
            &format!("/api/v1/ingest-keys/{id}/regenerate"),
            &app.token,
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let fresh = body["secret"].as_str().unwrap().to_owned();
    assert_ne!(fresh, secret);
    let (status, body) = app.ingest(&secret, &json!([event("k-2")])).await;
    assert_eq!(status, 401, "{body}");
    assert!(message(&body).contains("regenerated"), "{body}");
    let (status, _) = app.ingest(&fresh, &json!([event("k-2")])).await;
    assert_eq!(status, 200);

    // Revoke: refused with a message that says so; nothing stored.
    let (status, _) = app
        .call(
            reqwest::Method::DELETE,
            &format!("/api/v1/ingest-keys/{id}"),
            &app.token,
            None,
        )
        .await;
    assert_eq!(status, 200);
    let (status, body) = app.ingest(&fresh, &json!([event("k-3")])).await;
    assert_eq!(status, 401, "{body}");
    assert!(message(&body).contains("revoked"), "{body}");
    let (status, body) = app
        .ingest("sl_ingest_nonsense", &json!([event("k-4")]))
        .await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(app.store.meter_event_count(app.org).await.unwrap(), 2);

    // Revoking twice is a 404, not a silent success.
    let (status, _) = app
        .call(
            reqwest::Method::DELETE,
            &format!("/api/v1/ingest-keys/{id}"),
            &app.token,
            None,
        )
        .await;
    assert_eq!(status, 404);

    let actions: Vec<String> = app
        .store
        .audit_entries(app.org, 20)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    for action in [
        "ingest_key.create",
        "ingest_key.regenerate",
        "ingest_key.revoke",
    ] {
        assert!(actions.contains(&action.to_owned()), "{actions:?}");
    }
    // No secret in the audit log.
    let audit = format!("{:?}", app.store.audit_entries(app.org, 20).await.unwrap());
    assert!(!audit.contains(&secret) && !audit.contains(&fresh));
    app.test.teardown().await;
}

#[tokio::test]
async fn json_ndjson_and_gzip_batches_are_stored_and_rolled_up() {
    let app = App::start().await;
    let (_, key) = app.new_key("app").await;
    let (status, body) = app
        .ingest(&key, &json!([event("a"), event("b"), event("c")]))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!({"accepted": 3, "duplicate": 0, "rejected": 0, "errors": []})
    );

    let ndjson = format!("{}\n{}\n", event("d"), event("e"));
    let (status, body) = app
        .send(
            &key,
            "application/x-ndjson",
            false,
            ndjson.clone().into_bytes(),
        )
        .await;
    assert_eq!(
        (status, body["accepted"].as_u64()),
        (200, Some(2)),
        "{body}"
    );

    let gz = json!([event("f"), event("g")]).to_string().into_bytes();
    let (status, body) = app.send(&key, "application/json", true, gz).await;
    assert_eq!(
        (status, body["accepted"].as_u64()),
        (200, Some(2)),
        "{body}"
    );
    let ndjson_gz = format!("{}\n{}", event("h"), event("d"));
    let (status, body) = app
        .send(&key, "application/x-ndjson", true, ndjson_gz.into_bytes())
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (body["accepted"].as_u64(), body["duplicate"].as_u64()),
        (Some(1), Some(1))
    );

    // An admin API token may send events too.
    let (status, body) = app.ingest(&app.token, &json!([event("i")])).await;
    assert_eq!(
        (status, body["accepted"].as_u64()),
        (200, Some(1)),
        "{body}"
    );

    assert_eq!(app.store.meter_event_count(app.org).await.unwrap(), 9);
    for kind in [&METER_DAY, &METER_HOUR] {
        let t = totals(&app.store, app.org, kind).await;
        assert_eq!(t.totals.requests, 9);
        // OpenAI's input includes the cached tokens: 1,000 uncached + 200 cache reads.
        assert_eq!(t.totals.input_tokens, 9 * 1000);
        assert_eq!(t.totals.cache_read_tokens, 9 * 200);
        assert_eq!(t.totals.output_tokens, 9 * 300);
        assert_eq!(t.extra[meter_extra::LATENCY_MS_SUM], 9 * 850);
        assert_eq!(t.extra[meter_extra::UNPRICED], 0);
        assert!(t.totals.cost.nanos() > 0);
        assert_eq!(t.totals.cost.nanos() % 9, 0, "nine identical calls");
    }
    // Series by attribution: one customer, one product.
    let rows = app
        .store
        .read_period(
            app.org,
            &METER_DAY,
            &SeriesFilter::default(),
            BucketRange {
                first: 0,
                last: 10_000_000,
            },
            None,
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].series.dims[3].text(), Some("cus_42"));
    app.test.teardown().await;
}

#[tokio::test]
async fn bad_events_are_rejected_one_by_one_and_the_good_ones_kept() {
    let app = App::start().await;
    let (_, key) = app.new_key("app").await;
    let mut wrong_type = event("wrong-type");
    wrong_type["tokens"]["input"] = json!("lots");
    let mut negative = event("negative");
    negative["tokens"]["output"] = json!(-5);
    let mut absurd = event("absurd");
    absurd["tokens"]["input"] = json!(10_000_000_000_u64);
    let mut future = event("future");
    future["time"] = json!("2027-06-01T00:00:00Z");
    let mut ancient = event("ancient");
    ancient["time"] = json!("2019-12-31T23:59:59Z");
    let mut unknown_model = event("unknown-model");
    unknown_model["model"] = json!("gpt-17-imaginary");
    let mut reported = event("reported");
    reported["cost"] = json!("0.25");
    let mut reuse = event("ok-1");
    reuse["customer"] = json!("someone else");
    let batch = json!([
        event("ok-1"),
        wrong_type,
        negative,
        absurd,
        future,
        ancient,
        "not an object",
        event("ok-1"),
        unknown_model,
        reported,
        reuse,
        {"id": "no-time", "provider": "openai", "model": "gpt-4o"},
    ]);
    let (status, body) = app.ingest(&key, &batch).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["accepted"], 3, "{body}");
    assert_eq!(body["duplicate"], 1, "{body}");
    assert_eq!(body["rejected"], 8, "{body}");
    let errors: Vec<(u64, String)> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["index"].as_u64().unwrap(),
                e["message"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let expect = [
        (1, "tokens.input"),
        (2, "must not be negative"),
        (3, "more than any single call"),
        (4, "in the future"),
        (5, "before 2020"),
        (6, "must be a JSON object"),
        (10, "already used by a different event"),
        (11, "\"time\" is required"),
    ];
    assert_eq!(errors.len(), expect.len(), "{errors:?}");
    for ((index, message), (want_index, want)) in errors.iter().zip(expect) {
        assert_eq!(*index, want_index, "{errors:?}");
        assert!(message.contains(want), "{index}: {message}");
    }

    // The unknown model is stored *unpriced*: counted, its cost unknown, not $0.
    let t = app.day_totals().await;
    assert_eq!(t.totals.requests, 3);
    assert_eq!(t.extra[meter_extra::UNPRICED], 1);
    assert_eq!(t.extra[meter_extra::REPORTED_COST], 1);
    let (status, body) = app.ingest(&key, &json!([event("ok-1")])).await;
    assert_eq!((status, body["duplicate"].as_u64()), (200, Some(1)));
    let again = app.day_totals().await;
    assert_eq!(again, t, "a duplicate across batches adds nothing");

    // Whole-body problems: malformed JSON, wrong content type, wrong encoding.
    let (status, body) = app
        .send(
            &key,
            "application/json",
            false,
            b"[{\"id\": \"x\",".to_vec(),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(message(&body).contains("not valid JSON"), "{body}");
    let (status, body) = app.send(&key, "text/csv", false, b"a,b".to_vec()).await;
    assert_eq!(status, 415, "{body}");
    let status = app
        .client
        .post(format!("{}/api/v1/meter/events", app.base))
        .bearer_auth(&key)
        .header("content-encoding", "gzip")
        .body("not gzip at all")
        .send()
        .await
        .unwrap()
        .status()
        .as_u16();
    assert_eq!(status, 400);
    assert_eq!(app.store.meter_event_count(app.org).await.unwrap(), 3);
    app.test.teardown().await;
}

#[tokio::test]
async fn oversized_batches_are_refused_with_a_clear_error_and_memory_stays_flat() {
    let app = App::start().await;
    let (_, key) = app.new_key("app").await;
    let many: Vec<Value> = (0..10_001).map(|i| event(&format!("e{i}"))).collect();
    let (status, body) = app.ingest(&key, &Value::Array(many)).await;
    assert_eq!(status, 413, "{body}");
    assert!(message(&body).contains("10000"), "{body}");

    // A gzip bomb: 1 GiB of zeros in a ~1 MB body.
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let zeros = vec![b' '; 1 << 20];
    for _ in 0..1024 {
        encoder.write_all(&zeros).unwrap();
    }
    let bomb = encoder.finish().unwrap();
    let before = rss_kib();
    let status = app
        .client
        .post(format!("{}/api/v1/meter/events", app.base))
        .bearer_auth(&key)
        .header("content-type", "application/json")
        .header("content-encoding", "gzip")
        .body(bomb)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16();
    assert_eq!(status, 413);

    // A declared 1 GB body is refused before a byte of it is read.
    let addr = app.base.trim_start_matches("http://").to_owned();
    let mut socket = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "POST /api/v1/meter/events HTTP/1.1\r\nhost: {addr}\r\nauthorization: Bearer {key}\r\ncontent-type: application/json\r\ncontent-length: 1073741824\r\n\r\n["
    );
    socket.write_all(head.as_bytes()).await.unwrap();
    let mut reply = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(10), socket.read(&mut reply))
        .await
        .expect("the server answers before the body arrives")
        .unwrap();
    let reply = String::from_utf8_lossy(&reply[..n]);
    assert!(reply.starts_with("HTTP/1.1 413"), "{reply}");

    // A chunked body with no declared length: the server stops reading at 10 MiB and
    // answers 413; the sender cannot push anywhere near 1 GB into it.
    let mut socket = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "POST /api/v1/meter/events HTTP/1.1\r\nhost: {addr}\r\nauthorization: Bearer {key}\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n"
    );
    socket.write_all(head.as_bytes()).await.unwrap();
    let (mut read, mut write) = socket.into_split();
    let writer = tokio::spawn(async move {
        let chunk = format!("100000\r\n{}\r\n", " ".repeat(0x10_0000));
        let mut sent = 0usize;
        while sent < (1 << 30) {
            match tokio::time::timeout(Duration::from_secs(5), write.write_all(chunk.as_bytes()))
                .await
            {
                Ok(Ok(())) => sent += 0x10_0000,
                _ => break,
            }
        }
        sent
    });
    let mut reply = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(30), read.read_to_end(&mut reply)).await;
    let reply = String::from_utf8_lossy(&reply);
    assert!(reply.starts_with("HTTP/1.1 413"), "{reply}");
    let sent = writer.await.unwrap();
    assert!(sent < 200 << 20, "the server read {sent} bytes");
    let after = rss_kib();
    assert!(
        after < before + 200 * 1024,
        "memory grew from {before} KiB to {after} KiB"
    );
    assert_eq!(app.store.meter_event_count(app.org).await.unwrap(), 0);
    app.test.teardown().await;
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

#[tokio::test]
async fn two_servers_ingesting_overlapping_batches_count_each_event_once() {
    let app = App::start().await;
    let (_, key) = app.new_key("app").await;
    // A second server process on the same database: its own store, pool and partition cache.
    let second = Store::open(app.store.location()).await.unwrap();
    let other = serve(second.clone()).await;
    let bases = [app.base.clone(), other];
    let mut tasks = Vec::new();
    for round in 0..8usize {
        let client = app.client.clone();
        let base = bases[round % 2].clone();
        let key = key.clone();
        tasks.push(tokio::spawn(async move {
            // Rounds overlap by half: events [round*100, round*100+200).
            let batch: Vec<Value> = (round * 100..round * 100 + 200)
                .map(|i| {
                    let mut e = event(&format!("ov-{i}"));
                    e["customer"] = json!(format!("cus_{}", i % 7));
                    e
                })
                .collect();
            send_to(
                &client,
                &base,
                &key,
                "application/json",
                round % 3 == 0,
                Value::Array(batch).to_string().into_bytes(),
            )
            .await
        }));
    }
    let mut accepted = 0;
    let mut duplicate = 0;
    for task in tasks {
        let (status, body) = task.await.unwrap();
        assert_eq!(status, 200, "{body}");
        accepted += body["accepted"].as_u64().unwrap();
        duplicate += body["duplicate"].as_u64().unwrap();
    }
    let unique = 8 * 100 + 100;
    assert_eq!(accepted, unique);
    assert_eq!(accepted + duplicate, 8 * 200);
    assert_eq!(
        app.store.meter_event_count(app.org).await.unwrap(),
        unique as i64
    );
    let t = app.day_totals().await;
    assert_eq!(t.totals.requests, unique as i64);
    assert_eq!(t.totals.output_tokens, unique as i64 * 300);
    let hours = totals(&app.store, app.org, &METER_HOUR).await;
    assert_eq!(hours, t);
    second.close().await;
    app.test.teardown().await;
}

#[tokio::test]
async fn retention_prunes_raw_events_and_keeps_rollups_and_idempotency() {
    let app = App::start().await;
    let (_, key) = app.new_key("app").await;
    let mut old = event("old");
    old["time"] = json!("2026-11-01T08:00:00Z");
    let (status, body) = app.ingest(&key, &json!([old.clone(), event("new")])).await;
    assert_eq!(
        (status, body["accepted"].as_u64()),
        (200, Some(2)),
        "{body}"
    );
    let before = app.day_totals().await;
    let cutoff = spendlens_domain::Day::of(datetime!(2026-11-15 00:00 UTC)).number();
    let pruned = app.store.prune_meter_events(cutoff).await.unwrap();
    assert_eq!(pruned.events, 1);
    assert_eq!(app.store.meter_event_count(app.org).await.unwrap(), 1);
    assert_eq!(app.day_totals().await, before, "rollups are kept");
    let (status, body) = app.ingest(&key, &json!([old])).await;
    assert_eq!(
        (status, body["duplicate"].as_u64()),
        (200, Some(1)),
        "{body}"
    );
    assert_eq!(app.day_totals().await, before);
    // The pruned day can take events again (its partition is made anew on PostgreSQL).
    let mut late = event("late");
    late["time"] = json!("2026-11-01T09:00:00Z");
    let (status, body) = app.ingest(&key, &json!([late])).await;
    assert_eq!(
        (status, body["accepted"].as_u64()),
        (200, Some(1)),
        "{body}"
    );
    app.test.teardown().await;
}

#[tokio::test]
async fn an_organizations_own_price_prices_the_events_that_follow() {
    let app = App::start().await;
    let (_, key) = app.new_key("pricing").await;
    let house = |id: &str| {
        let mut e = event(id);
        e["model"] = json!("house-model-7");
        e["tokens"] = json!({"input": 1_000_000, "output": 1_000_000});
        e
    };
    // No price: unpriced, not $0.
    let (status, body) = app.ingest(&key, &json!([house("h-1")])).await;
    assert_eq!(
        (status, body["accepted"].as_u64()),
        (200, Some(1)),
        "{body}"
    );
    let before = app.day_totals().await;
    assert_eq!(before.extra[meter_extra::UNPRICED], 1);
    assert_eq!(before.totals.cost.nanos(), 0);

    // The organization adds its own price; the next event is priced with it.
    let (status, added) = app
        .call(
            reqwest::Method::POST,
            "/api/v1/prices",
            &app.token,
            Some(
                json!({"provider": "openai", "model": "house-model-*", "input": "2", "output": "8",
                "effective_from": "2026-01-01", "source": "our contract"}),
            ),
        )
        .await;
    assert_eq!(status, 201, "{added}");
    let (status, body) = app.ingest(&key, &json!([house("h-2")])).await;
    assert_eq!(
        (status, body["accepted"].as_u64()),
        (200, Some(1)),
        "{body}"
    );
    let after = app.day_totals().await;
    assert_eq!(
        after.extra[meter_extra::UNPRICED],
        1,
        "the first event stays unpriced"
    );
    // 1M input at $2 + 1M output at $8 = $10.
    assert_eq!(
        after.totals.cost.nanos() - before.totals.cost.nanos(),
        10_000_000_000
    );
    app.test.teardown().await;
}
