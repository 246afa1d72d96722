//! `/metrics` through the real server on a random port (SQLite, or PostgreSQL with
//! `SPENDLENS_TEST_DATABASE_URL`): who may read it, request latencies under their route
//! template, metered events by outcome and sync runs from the sync log, checked by exact counts
//! and parsed by the Prometheus project's own Python parser (`prometheus_client`, in the
//! OpenTelemetry virtualenv `.ci/run` builds).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a failing test should stop loudly

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{Value, json};
use spendlens_domain::{Credential, DayRange, FixedClock, PriceCatalog, ProviderKind};
use spendlens_store::testing::TestStore;
use spendlens_store::vault::Vault;
use spendlens_store::{NewConnection, SyncRunOutcome, SyncRunStatus, SyncTrigger, WriteCounts};
use spendlens_sync::{SyncEngine, SyncSettings};
use time::macros::datetime;

const NOW: time::OffsetDateTime = datetime!(2026-12-04 12:00 UTC);

struct App {
    base: String,
    token: String,
    ingest_key: String,
    test: TestStore,
}

async fn start() -> App {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let test = TestStore::new().await.unwrap();
    let store = test.store.clone();
    let org = store.ensure_default_org(NOW).await.unwrap();
    let token = store
        .create_api_token(org, "prometheus", NOW)
        .await
        .unwrap()
        .secret;
    let ingest_key = store
        .create_ingest_key(
            org,
            "checkout",
            spendlens_store::Actor {
                name: "test",
                at: NOW,
            },
        )
        .await
        .unwrap()
        .secret;
    // The sync log: two OpenAI runs that succeeded (2 s and 30 s), one that failed after
    // 20 minutes, and one Anthropic run still going.
    let vault = Vault::from_key([7; 32]);
    let mut connections = Vec::new();
    for (provider, name, key) in [
        (
            ProviderKind::OpenAi,
            "openai",
            "sk-admin-AbCdefghijklmnopqrstuvwxYz12",
        ),
        (
            ProviderKind::Anthropic,
            "anthropic",
            "sk-ant-admin01-AbCdefghijklmnopqrstuvwxYz12",
        ),
    ] {
        let credential = Credential::parse(provider, key).unwrap();
        let row = store
            .create_connection(
                org,
                NewConnection {
                    name,
                    credential: &credential,
                    base_url: None,
                    sync_interval_secs: 3600,
                    backfill_days: 90,
                    lookback_days: Some(3),
                },
                &vault,
                NOW,
            )
            .await
            .unwrap();
        connections.push(row.id);
    }
    let window =
        DayRange::new("2026-12-01".parse().unwrap(), "2026-12-04".parse().unwrap()).unwrap();
    for (seconds, status) in [
        (2, SyncRunStatus::Success),
        (30, SyncRunStatus::Success),
        (1200, SyncRunStatus::Failed),
    ] {
        let run = store
            .start_sync_run(org, connections[0], SyncTrigger::Scheduled, window, NOW)
            .await
            .unwrap();
        store
            .finish_sync_run(
                run,
                &SyncRunOutcome {
                    status,
                    counts: WriteCounts::default(),
                    http_calls: 1,
                    retries: 0,
                    error: None,
                    notes: None,
                },
                NOW + time::Duration::seconds(seconds),
            )
            .await
            .unwrap();
    }
    store
        .start_sync_run(org, connections[1], SyncTrigger::Manual, window, NOW)
        .await
        .unwrap();
    let engine = SyncEngine::new(
        store.clone(),
        vault,
        PriceCatalog::built_in(),
        Arc::new(FixedClock::new(NOW)),
        SyncSettings::default(),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(spendlens_web::serve(
        listener,
        spendlens_web::router(spendlens_web::AppState::new(engine)),
        std::future::pending(),
    ));
    App {
        base,
        token,
        ingest_key,
        test,
    }
}

fn event(id: &str) -> Value {
    json!({
        "id": id,
        "time": "2026-12-04T11:30:00Z",
        "provider": "openai",
        "model": "gpt-4o-mini",
        "tokens": {"input": 1200, "output": 300},
        "customer": "cus_42",
    })
}

/// Every sample of the exposition as `name{label="value",…}` (labels sorted) → value.
fn samples(text: &str) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let (series, value) = line.rsplit_once(' ').unwrap();
        let key = match series.split_once('{') {
            Some((name, labels)) => {
                let mut labels: Vec<&str> = labels.trim_end_matches('}').split(',').collect();
                labels.sort_unstable();
                format!("{name}{{{}}}", labels.join(","))
            }
            None => series.to_owned(),
        };
        out.insert(key, value.parse().unwrap());
    }
    out
}

async fn scrape(app: &App, token: Option<&str>) -> reqwest::Response {
    let mut request = reqwest::Client::new().get(format!("{}/metrics", app.base));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn metrics_count_requests_ingest_and_sync_runs_exactly() {
    let app = start().await;
    let client = reqwest::Client::new();

    // Only API tokens read the metrics.
    assert_eq!(scrape(&app, None).await.status(), 401);
    assert_eq!(scrape(&app, Some(&app.ingest_key)).await.status(), 403);
    assert_eq!(scrape(&app, Some("sl_not_a_token")).await.status(), 401);

    // Traffic: three batches (2 new, the same 2 again, 1 new + 1 malformed), one unknown
    // address, two reads of one connection route with different ids.
    for batch in [
        json!([event("m-1"), event("m-2")]),
        json!([event("m-1"), event("m-2")]),
        json!([event("m-3"), {"id": "m-4", "provider": "openai"}]),
    ] {
        let response = client
            .post(format!("{}/api/v1/meter/events", app.base))
            .bearer_auth(&app.ingest_key)
            .json(&batch)
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success(), "{}", response.status());
    }
    assert_eq!(
        client
            .get(format!("{}/no/such/page", app.base))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    for id in [1, 2] {
        client
            .get(format!("{}/api/v1/connections/{id}", app.base))
            .bearer_auth(&app.token)
            .send()
            .await
            .unwrap();
    }

    let response = scrape(&app, Some(&app.token)).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "application/openmetrics-text; version=1.0.0; charset=utf-8"
    );
    let text = response.text().await.unwrap();
    assert!(text.ends_with("# EOF\n"), "{text}");
    let s = samples(&text);
    let get = |key: &str| {
        *s.get(key)
            .unwrap_or_else(|| panic!("no sample {key} in\n{text}"))
    };

    // Metered events by outcome.
    assert_eq!(
        get("spendlens_ingest_events_total{outcome=\"accepted\"}"),
        3.0
    );
    assert_eq!(
        get("spendlens_ingest_events_total{outcome=\"duplicate\"}"),
        2.0
    );
    assert_eq!(
        get("spendlens_ingest_events_total{outcome=\"rejected\"}"),
        1.0
    );

    // Requests under their route template, never the path as sent.
    let ingest_requests: f64 = s
        .iter()
        .filter(|(k, _)| {
            k.starts_with("spendlens_http_request_duration_seconds_count{")
                && k.contains("route=\"/api/v1/meter/events\"")
                && k.contains("method=\"POST\"")
        })
        .map(|(_, v)| v)
        .sum();
    assert_eq!(ingest_requests, 3.0);
    assert_eq!(
        get(
            "spendlens_http_request_duration_seconds_count{method=\"GET\",route=\"unmatched\",status=\"404\"}"
        ),
        1.0
    );
    let connection_reads: f64 = s
        .iter()
        .filter(|(k, _)| {
            k.starts_with("spendlens_http_request_duration_seconds_count{")
                && k.contains("route=\"/api/v1/connections/{id}\"")
        })
        .map(|(_, v)| v)
        .sum();
    assert_eq!(connection_reads, 2.0);
    assert!(!text.contains("/api/v1/connections/1\""), "a raw path");
    // The three refused scrapes are requests to /metrics too.
    assert_eq!(
        get(
            "spendlens_http_request_duration_seconds_count{method=\"GET\",route=\"/metrics\",status=\"401\"}"
        ),
        2.0
    );

    // Sync runs from the log: counts, durations and buckets.
    let openai =
        |status: &str, rest: &str| format!("provider=\"openai\",status=\"{status}\"{rest}");
    assert_eq!(
        get(&format!(
            "spendlens_sync_runs_total{{{}}}",
            openai("success", "")
        )),
        2.0
    );
    assert_eq!(
        get(&format!(
            "spendlens_sync_runs_total{{{}}}",
            openai("failed", "")
        )),
        1.0
    );
    assert_eq!(
        get(&format!(
            "spendlens_sync_run_duration_seconds_sum{{{}}}",
            openai("success", "")
        )),
        32.0
    );
    for (le, count) in [
        ("1.0", 0.0),
        ("5.0", 1.0),
        ("15.0", 1.0),
        ("60.0", 2.0),
        ("3600.0", 2.0),
        ("+Inf", 2.0),
    ] {
        let key = format!(
            "spendlens_sync_run_duration_seconds_bucket{{le=\"{le}\",{}}}",
            openai("success", "")
        );
        assert_eq!(get(&key), count, "{key}");
    }
    let failed_900 = format!(
        "spendlens_sync_run_duration_seconds_bucket{{le=\"900.0\",{}}}",
        openai("failed", "")
    );
    assert_eq!(get(&failed_900), 0.0);
    let failed_3600 = failed_900.replace("900.0", "3600.0");
    assert_eq!(get(&failed_3600), 1.0);
    assert_eq!(
        get("spendlens_sync_runs_running{provider=\"anthropic\"}"),
        1.0
    );

    // The Prometheus project's own parser reads the whole exposition.
    match std::env::var("SPENDLENS_OTEL_PYTHON") {
        Ok(python) if !python.is_empty() => {
            let dir =
                std::env::temp_dir().join(format!("spendlens-metrics-{}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            let file = dir.join("metrics.txt");
            std::fs::write(&file, &text).unwrap();
            let output = std::process::Command::new(python)
                .arg("-c")
                .arg(
                    "import sys\n\
                     from prometheus_client.openmetrics.parser import text_string_to_metric_families\n\
                     families = {f.name: f for f in text_string_to_metric_families(open(sys.argv[1]).read())}\n\
                     print(families['spendlens_http_request_duration_seconds'].type, families['spendlens_sync_runs'].type, families['spendlens_sync_run_duration_seconds'].type, families['spendlens_ingest_events'].type, len(families))",
                )
                .arg(&file)
                .output()
                .unwrap();
            let _ = std::fs::remove_dir_all(&dir);
            assert!(
                output.status.success(),
                "prometheus_client could not parse the exposition: {}",
                String::from_utf8_lossy(&output.stderr)
            );
            let said = String::from_utf8_lossy(&output.stdout);
            assert_eq!(
                said.trim(),
                "histogram counter histogram counter 5",
                "{said}"
            );
        }
        _ if std::env::var("SPENDLENS_REQUIRE_OTEL").is_ok_and(|v| v == "1") => {
            panic!("SPENDLENS_REQUIRE_OTEL=1 but SPENDLENS_OTEL_PYTHON is not set");
        }
        _ => eprintln!("SPENDLENS_OTEL_PYTHON not set: the Prometheus parser check is skipped"),
    }
    app.test.teardown().await;
}
