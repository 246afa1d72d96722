//! Connection limits and timeouts through the real server: slow, silent and idle clients are cut
//! off, a connection cap makes extra clients wait instead of exhausting the server, too-large
//! bodies answer 413 (JSON on the API, HTML on the dashboard) and every API error is the JSON
//! envelope.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a failing test should stop loudly

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use spendlens_domain::PriceCatalog;
use spendlens_store::testing::TestStore;
use spendlens_store::vault::Vault;
use spendlens_sync::{FixedClock, SyncEngine, SyncSettings};
use spendlens_web::server::{ServeLimits, serve_with_limits};
use time::macros::datetime;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const HEADER_TIMEOUT: Duration = Duration::from_secs(1);

struct App {
    addr: String,
    token: String,
    test: TestStore,
}

async fn start(max_connections: usize) -> App {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let test = TestStore::new().await.unwrap();
    let engine = SyncEngine::new(
        test.store.clone(),
        Vault::from_key([3; 32]),
        PriceCatalog::built_in(),
        Arc::new(FixedClock::new(datetime!(2026-11-22 10:00 UTC))),
        SyncSettings::default(),
    );
    let org = engine
        .store()
        .ensure_default_org(engine.now())
        .await
        .unwrap();
    let token = engine
        .store()
        .create_api_token(org, "limits", engine.now())
        .await
        .unwrap()
        .secret;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    tokio::spawn(serve_with_limits(
        listener,
        spendlens_web::router(spendlens_web::AppState::new(engine)),
        std::future::pending(),
        ServeLimits {
            max_connections,
            header_read_timeout: HEADER_TIMEOUT,
            ..ServeLimits::default()
        },
    ));
    App { addr, token, test }
}

/// Reads until the server closes the connection; returns what it sent and how long it took.
async fn until_closed(stream: &mut TcpStream) -> (String, Duration) {
    let started = Instant::now();
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        match tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buffer)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(n)) => received.extend_from_slice(&buffer[..n]),
            Err(_) => panic!("the server kept a slow connection open for 10 s"),
        }
    }
    (
        String::from_utf8_lossy(&received).into_owned(),
        started.elapsed(),
    )
}

#[tokio::test]
async fn slow_silent_and_idle_clients_are_cut_off() {
    let app = start(64).await;
    // Headers sent slowly, never finished.
    let mut slow = TcpStream::connect(&app.addr).await.unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    // Connected, silent.
    let mut silent = TcpStream::connect(&app.addr).await.unwrap();
    // One request, then idle on a kept-alive connection.
    let mut idle = TcpStream::connect(&app.addr).await.unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    for (name, stream) in [
        ("slow", &mut slow),
        ("silent", &mut silent),
        ("idle", &mut idle),
    ] {
        eprintln!("waiting for the server to close the {name} connection");
        let (received, waited) = until_closed(stream).await;
        assert!(
            waited <= HEADER_TIMEOUT * 4,
            "{name}: closed after {waited:?}"
        );
        if name == "idle" {
            assert!(received.starts_with("HTTP/1.1 200"), "{received}");
        }
    }
    app.test.teardown().await;
}

#[tokio::test]
async fn past_the_connection_cap_clients_wait_their_turn() {
    let app = start(2).await;
    let _first = TcpStream::connect(&app.addr).await.unwrap();
    let _second = TcpStream::connect(&app.addr).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = Instant::now();
    let response = reqwest::Client::new()
        .get(format!("http://{}/healthz", app.addr))
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    // Served only once a silent connection was cut off at the header timeout.
    assert!(
        started.elapsed() >= HEADER_TIMEOUT / 2,
        "{:?}",
        started.elapsed()
    );
    app.test.teardown().await;
}

#[tokio::test]
async fn a_too_large_body_is_413_and_every_api_error_is_the_json_envelope() {
    let app = start(64).await;
    let client = reqwest::Client::new();
    let base = format!("http://{}", app.addr);
    let huge = format!(
        "{{\"provider\": \"openai\", \"name\": \"x\", \"credential\": \"{}\"}}",
        "a".repeat(10 * 1024 * 1024)
    );
    let response = client
        .post(format!("{base}/api/v1/connections"))
        .bearer_auth(&app.token)
        .header("content-type", "application/json")
        .body(huge.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "payload_too_large", "{body}");

    // The dashboard answers the same with its HTML error page.
    let response = client
        .post(format!("{base}/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "email=a%40b.c&password={}",
            "a".repeat(3 * 1024 * 1024)
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let response = client
        .post(format!("{base}/login"))
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 415);
    assert!(response.text().await.unwrap().contains("<html"));

    // Bad path, query and JSON, wrong type, unknown route and method: all the JSON envelope.
    let probes: [(&str, &str, Option<&str>, u16); 6] = [
        ("GET", "/api/v1/connections/not-a-number", None, 400),
        ("GET", "/api/v1/sync-runs?limit=lots", None, 400),
        ("POST", "/api/v1/connections", Some("{not json"), 400),
        ("POST", "/api/v1/connections", Some("text"), 415),
        ("GET", "/api/v1/no-such-route", None, 404),
        ("PUT", "/api/v1/sync-runs", None, 405),
    ];
    for (method, path, body, status) in probes {
        let mut request = client
            .request(method.parse().unwrap(), format!("{base}{path}"))
            .bearer_auth(&app.token);
        if let Some(body) = body {
            request = request.body(body.to_owned());
            if body.starts_with('{') {
                request = request.header("content-type", "application/json");
            } else {
                request = request.header("content-type", "text/plain");
            }
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status().as_u16(), status, "{method} {path}");
        let text = response.text().await.unwrap();
        let body: Value = serde_json::from_str(&text)
            .unwrap_or_else(|_| panic!("{method} {path} answered non-JSON: {text}"));
        assert!(body["error"]["code"].is_string(), "{body}");
        assert!(body["error"]["request_id"].is_string(), "{body}");
    }
    app.test.teardown().await;
}
