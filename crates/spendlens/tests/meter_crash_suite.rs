//! The real `spendlens serve` binary killed with SIGKILL under ingest load (SQLite, or
//! PostgreSQL with `SPENDLENS_TEST_DATABASE_URL`): after a restart every acknowledged event is
//! stored, and clients re-sending every batch — acknowledged or not — count nothing twice.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a failing test should stop loudly

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use spendlens_store::testing::{TestStore, tempfile_dir};
use spendlens_store::{BucketRange, DatabaseLocation, METER_DAY, SeriesFilter, Store};

const CLIENTS: usize = 4;
const BATCH: usize = 500;

fn database_url(location: &DatabaseLocation) -> String {
    match location {
        DatabaseLocation::Sqlite { path } => format!("sqlite://{}", path.display()),
        DatabaseLocation::Postgres { url } => url.clone(),
    }
}

fn spendlens(url: &str, data_dir: &std::path::Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_spendlens"));
    command
        .env_remove("SPENDLENS_DATABASE_URL")
        .arg("--database-url")
        .arg(url)
        .arg("--data-dir")
        .arg(data_dir);
    command
}

/// Starts `spendlens serve` on a free port; returns the child and its base URL.
fn serve(url: &str, data_dir: &std::path::Path) -> (Child, String) {
    let mut child = spendlens(url, data_dir)
        .args(["serve", "--listen", "127.0.0.1:0", "--no-scheduler"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut reader = BufReader::new(stdout);
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    std::thread::spawn(move || {
        let mut rest = String::new();
        while reader.read_line(&mut rest).is_ok_and(|n| n > 0) {
            rest.clear();
        }
    });
    let base = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no URL in {line:?}"))
        .to_owned();
    (child, base)
}

/// The events' time: fixed for the run, so a re-sent batch is the same events.
fn event_time() -> &'static str {
    static TIME: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    TIME.get_or_init(|| {
        (spendlens_domain::Clock::now(&spendlens_domain::SystemClock) - time::Duration::minutes(1))
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap()
    })
}

fn batch(client: usize, number: usize) -> (Vec<String>, String) {
    let now = event_time();
    let ids: Vec<String> = (0..BATCH)
        .map(|i| format!("crash-{client}-{number}-{i}"))
        .collect();
    let events: Vec<Value> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| {
            json!({
                "id": id, "time": now, "provider": "anthropic", "model": "claude-sonnet-4-5",
                "tokens": {"input": 100 + i, "output": 20},
                "customer": format!("cus_{}", i % 13), "agent": "crash",
            })
        })
        .collect();
    (ids, Value::Array(events).to_string())
}

#[derive(Default)]
struct Ledger {
    /// Batches the server answered 200 for.
    acked: Vec<(usize, usize)>,
    /// Batches sent without an answer (the server died under them).
    unacked: Vec<(usize, usize)>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_acknowledged_event_survives_kill_9_and_retries_count_once() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let test = TestStore::new().await.unwrap();
    let url = database_url(test.store.location());
    let data_dir = tempfile_dir();
    let created = spendlens(&url, data_dir.path())
        .args(["keys", "create", "--name", "crash-test"])
        .output()
        .unwrap();
    assert!(created.status.success(), "{created:?}");
    let key = String::from_utf8(created.stdout).unwrap().trim().to_owned();
    assert!(key.starts_with("sl_ingest_"), "{key}");

    let (mut server, base) = serve(&url, data_dir.path());
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut tasks = Vec::new();
    for c in 0..CLIENTS {
        let (client, base, key, ledger, stop) = (
            client.clone(),
            base.clone(),
            key.clone(),
            ledger.clone(),
            stop.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut number = 0;
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                let (_, body) = batch(c, number);
                let sent = client
                    .post(format!("{base}/api/v1/meter/events"))
                    .bearer_auth(&key)
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await;
                let acked = match sent {
                    Ok(response) if response.status() == 200 => {
                        let body: Value = response.json().await.unwrap_or(Value::Null);
                        body["accepted"].as_u64() == Some(BATCH as u64)
                    }
                    _ => false,
                };
                let mut ledger = ledger.lock().unwrap();
                if acked {
                    ledger.acked.push((c, number));
                } else {
                    ledger.unacked.push((c, number));
                    break;
                }
                number += 1;
            }
        }));
    }
    // Let the load run until a good number of batches were acknowledged, then SIGKILL.
    for _ in 0..600 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        if ledger.lock().unwrap().acked.len() >= 12 {
            break;
        }
    }
    server.kill().unwrap(); // SIGKILL: no shutdown, no flush
    server.wait().unwrap();
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    for task in tasks {
        task.await.unwrap();
    }
    let (acked, unacked) = {
        let ledger = ledger.lock().unwrap();
        (ledger.acked.clone(), ledger.unacked.clone())
    };
    assert!(
        acked.len() >= 12,
        "only {} batches were acknowledged",
        acked.len()
    );
    assert!(!unacked.is_empty(), "the kill interrupted no batch");

    // Restart on the same database: every acknowledged event is there.
    let (mut server, base) = serve(&url, data_dir.path());
    let store = Store::open(test.store.location()).await.unwrap();
    let org = store
        .ensure_default_org(spendlens_domain::Clock::now(&spendlens_domain::SystemClock))
        .await
        .unwrap();
    let acked_ids: Vec<String> = acked.iter().flat_map(|(c, n)| batch(*c, *n).0).collect();
    assert_eq!(
        store.meter_events_known(org, &acked_ids).await.unwrap(),
        acked_ids.len() as i64,
        "an acknowledged event was lost"
    );

    // Clients retry: the unacknowledged batches, and (as a careless client would) the
    // acknowledged ones too. Nothing is counted twice.
    let mut all: HashSet<String> = acked_ids.iter().cloned().collect();
    let mut duplicates = 0;
    for (c, n) in unacked.iter().chain(acked.iter()) {
        let (ids, body) = batch(*c, *n);
        all.extend(ids);
        let response = client
            .post(format!("{base}/api/v1/meter/events"))
            .bearer_auth(&key)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["rejected"], 0, "{:.300}", body.to_string());
        duplicates += body["duplicate"].as_u64().unwrap();
    }
    assert!(duplicates >= (acked.len() * BATCH) as u64);
    let distinct = all.len() as i64;
    assert_eq!(store.meter_event_id_count(org).await.unwrap(), distinct);
    assert_eq!(store.meter_event_count(org).await.unwrap(), distinct);
    let rows = store
        .read_period(
            org,
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
    let requests: i64 = rows.iter().map(|r| r.current.totals.requests).sum();
    assert_eq!(requests, distinct, "the rollups count each event once");

    server.kill().unwrap();
    server.wait().unwrap();
    store.close().await;
    test.teardown().await;
}

fn tempfile_dir() -> tempfile_dir::TempDir {
    tempfile_dir::TempDir::new().unwrap()
}
