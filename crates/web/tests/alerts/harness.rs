//! The alerts suite's harness: the server on a random port with fast alert settings, a webhook
//! receiver (axum) whose paths answer 200, 500-then-200, never, or a redirect, and aiosmtpd.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, dead_code)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use serde_json::{Value, json};
use spendlens_domain::{FixedClock, PriceCatalog};
use spendlens_providers::HttpSettings;
use spendlens_store::testing::TestStore;
use spendlens_store::vault::Vault;
use spendlens_store::{OrgId, Store};
use spendlens_sync::{SyncEngine, SyncSettings};
use spendlens_web::alerts::AlertSettings;
use time::macros::datetime;

pub const NOW: time::OffsetDateTime = datetime!(2026-12-04 12:00 UTC);
pub const SECRET: &str = "test-signing-secret-0123456789";

pub fn engine_on(store: Store) -> SyncEngine {
    SyncEngine::new(
        store,
        Vault::from_key([7; 32]),
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
            owner: "alerts-test".into(),
            allowed_base_url_hosts: Vec::new(),
        },
    )
}

/// One request the receiver got.
#[derive(Clone, Debug)]
pub struct Hit {
    pub path: String,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    pub at: Instant,
}

/// The webhook receiver: `/hook` answers 200, `/flaky` 500 the first time then 200, `/hang`
/// never answers in time, `/redirect` sends a 302 to `/hook`.
pub struct Receiver {
    pub base: String,
    pub hits: Arc<Mutex<Vec<Hit>>>,
}

impl Receiver {
    pub async fn start() -> Receiver {
        let hits: Arc<Mutex<Vec<Hit>>> = Arc::default();
        let flaky = Arc::new(AtomicUsize::new(0));
        let record = |hits: Arc<Mutex<Vec<Hit>>>, path: &'static str| {
            move |headers: HeaderMap, body: axum::body::Bytes| {
                let hits = hits.clone();
                async move {
                    hits.lock().unwrap().push(Hit {
                        path: path.to_owned(),
                        headers,
                        body: body.to_vec(),
                        at: Instant::now(),
                    });
                }
            }
        };
        let hook = record(hits.clone(), "/hook");
        let flaky_record = record(hits.clone(), "/flaky");
        let hang_record = record(hits.clone(), "/hang");
        let redirect_record = record(hits.clone(), "/redirect");
        let router = axum::Router::new()
            .route(
                "/hook",
                axum::routing::post(move |h: HeaderMap, b: axum::body::Bytes| async move {
                    hook(h, b).await;
                    StatusCode::OK
                }),
            )
            .route(
                "/flaky",
                axum::routing::post(move |h: HeaderMap, b: axum::body::Bytes| {
                    let flaky = flaky.clone();
                    async move {
                        flaky_record(h, b).await;
                        if flaky.fetch_add(1, Ordering::SeqCst) == 0 {
                            (StatusCode::INTERNAL_SERVER_ERROR, "boom").into_response()
                        } else {
                            StatusCode::OK.into_response()
                        }
                    }
                }),
            )
            .route(
                "/hang",
                axum::routing::post(move |h: HeaderMap, b: axum::body::Bytes| async move {
                    hang_record(h, b).await;
                    tokio::time::sleep(Duration::from_secs(30)).await;
                    StatusCode::OK
                }),
            )
            .route(
                "/redirect",
                axum::routing::post(move |h: HeaderMap, b: axum::body::Bytes| async move {
                    redirect_record(h, b).await;
                    (StatusCode::FOUND, [("location", "/hook")]).into_response()
                }),
            );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, router).await });
        Receiver { base, hits }
    }

    pub fn hits(&self, path: &str) -> Vec<Hit> {
        self.hits
            .lock()
            .unwrap()
            .iter()
            .filter(|h| h.path == path)
            .cloned()
            .collect()
    }
}

pub struct App {
    pub base: String,
    pub token: String,
    pub ingest_key: String,
    pub client: reqwest::Client,
    pub store: Store,
    pub org: OrgId,
    pub test: TestStore,
}

impl App {
    pub async fn start() -> App {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let test = TestStore::new().await.unwrap();
        let store = test.store.clone();
        let org = store.ensure_default_org(NOW).await.unwrap();
        let token = store
            .create_api_token(org, "admin", NOW)
            .await
            .unwrap()
            .secret;
        let settings = spendlens_web::WebSettings {
            alerts: AlertSettings {
                min_interval: Duration::from_millis(100),
                tick: Duration::from_millis(500),
                send_timeout: Duration::from_secs(1),
                retry_base: Duration::from_millis(200),
                retry_max: Duration::from_secs(1),
                max_attempts: 3,
                ..AlertSettings::default()
            },
            ..spendlens_web::WebSettings::default()
        };
        let state = spendlens_web::AppState::with_settings(engine_on(store.clone()), settings);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(spendlens_web::serve(
            listener,
            spendlens_web::router(state),
            std::future::pending(),
        ));
        let mut app = App {
            base,
            token,
            ingest_key: String::new(),
            client: reqwest::Client::new(),
            store,
            org,
            test,
        };
        let (status, body) = app
            .call(
                reqwest::Method::POST,
                "/api/v1/ingest-keys",
                Some(json!({"name": "alerts"})),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        app.ingest_key = body["secret"].as_str().unwrap().to_owned();
        app
    }

    pub async fn call_as(
        &self,
        bearer: &str,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(bearer);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        self.call_as(&self.token, method, path, body).await
    }

    pub async fn channel(&self, name: &str, url: &str) -> i64 {
        let (status, body) = self
            .call(
                reqwest::Method::POST,
                "/api/v1/alerts/channels",
                Some(json!({"name": name, "kind": "webhook", "url": url, "secret": SECRET})),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        body["channel"]["id"].as_i64().unwrap()
    }

    pub async fn rule(&self, rule: Value) -> Value {
        let (status, body) = self
            .call(reqwest::Method::POST, "/api/v1/alerts/rules", Some(rule))
            .await;
        assert_eq!(status, 201, "{body}");
        body
    }

    /// Sends calls of `cost` dollars each for a customer; returns how long ingest took.
    pub async fn ingest(&self, id: &str, customer: &str, costs: &[&str]) -> Duration {
        let events: Vec<Value> = costs
            .iter()
            .enumerate()
            .map(|(i, cost)| {
                json!({"id": format!("{id}-{i}"), "time": "2026-12-04T11:59:00Z", "provider": "openai",
                       "model": "gpt-4o-mini", "tokens": {"input": 100, "output": 10}, "cost": cost,
                       "customer": customer})
            })
            .collect();
        let started = Instant::now();
        let (status, body) = self
            .call_as(
                &self.ingest_key,
                reqwest::Method::POST,
                "/api/v1/meter/events",
                Some(Value::Array(events)),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["accepted"], costs.len(), "{body}");
        started.elapsed()
    }

    pub async fn firings(&self) -> Vec<Value> {
        let (status, body) = self
            .call(reqwest::Method::GET, "/api/v1/alerts/history", None)
            .await;
        assert_eq!(status, 200, "{body}");
        body["firings"].as_array().unwrap().clone()
    }

    pub async fn deliveries(&self) -> Vec<Value> {
        let (status, body) = self
            .call(
                reqwest::Method::GET,
                "/api/v1/alerts/deliveries?limit=1000",
                None,
            )
            .await;
        assert_eq!(status, 200, "{body}");
        body["deliveries"].as_array().unwrap().clone()
    }
}

/// Polls `check` until it holds or `limit` passes.
pub async fn eventually<F: Fn() -> bool>(limit: Duration, check: F) -> bool {
    let started = Instant::now();
    while started.elapsed() < limit {
        if check() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    check()
}

/// The Python with aiosmtpd: `SPENDLENS_SMTP_PYTHON`, else the venv `.ci/run` makes under
/// target/, else the system's; `None` when none has it.
pub fn smtp_python() -> Option<String> {
    let venv = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../target/smtp-venv/bin/python"
    );
    let candidates = [
        std::env::var("SPENDLENS_SMTP_PYTHON").ok(),
        Some(venv.to_owned()),
        Some("python3".to_owned()),
    ];
    candidates.into_iter().flatten().find(|python| {
        std::process::Command::new(python)
            .args(["-c", "import aiosmtpd"])
            .output()
            .is_ok_and(|o| o.status.success())
    })
}

/// aiosmtpd on a free port, printing every message it receives to its stdout (collected).
pub struct SmtpSink {
    pub port: u16,
    pub child: std::process::Child,
    pub output: Arc<Mutex<String>>,
}

impl SmtpSink {
    pub async fn start(python: &str) -> SmtpSink {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut child = std::process::Command::new(python)
            .args(["-u", "-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{port}"))
            .args(["-c", "aiosmtpd.handlers.Debugging"])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let output: Arc<Mutex<String>> = Arc::default();
        let mut stdout = child.stdout.take().unwrap();
        let sink = output.clone();
        std::thread::spawn(move || {
            use std::io::Read;
            let mut buffer = [0u8; 4096];
            while let Ok(n) = stdout.read(&mut buffer) {
                if n == 0 {
                    break;
                }
                sink.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buffer[..n]));
            }
        });
        for _ in 0..200 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return SmtpSink {
                    port,
                    child,
                    output,
                };
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("aiosmtpd did not listen on port {port} within 10 s");
    }

    pub fn received(&self) -> String {
        self.output.lock().unwrap().clone()
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
