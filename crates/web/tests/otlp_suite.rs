//! The OpenTelemetry receiver through the real server on a random port (SQLite, or PostgreSQL
//! with `SPENDLENS_TEST_DATABASE_URL`): the real OpenTelemetry Python SDK exports GenAI spans in
//! both OTLP encodings (`crates/web/tests/otel/export_spans.py`), and hand-made requests cover
//! every answer of the OTLP/HTTP spec.
//!
//! The SDK lives in a virtualenv: `SPENDLENS_OTEL_PYTHON`, else `target/otel-venv/bin/python`
//! (`.ci/run` makes it). Without it the SDK tests say so loudly and skip — unless
//! `SPENDLENS_REQUIRE_OTEL=1` (CI), where they fail.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a failing test should stop loudly

use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use prost::Message;
use serde_json::{Value, json};
use spendlens_domain::{PriceCatalog, SystemClock};
use spendlens_meter::otlp::proto::{ExportTraceServiceResponse, RpcStatus};
use spendlens_providers::HttpSettings;
use spendlens_store::testing::TestStore;
use spendlens_store::vault::Vault;
use spendlens_store::{BucketRange, DimValue, METER_DAY, OrgId, SeriesFilter, Store, meter_extra};
use spendlens_sync::{SyncEngine, SyncSettings};

struct App {
    base: String,
    key: String,
    store: Store,
    org: OrgId,
    client: reqwest::Client,
    test: TestStore,
}

impl App {
    async fn start() -> App {
        let _ = rustls::crypto::ring::default_provider().install_default();
        capture_logs();
        let test = TestStore::new().await.unwrap();
        let store = test.store.clone();
        // The SDK stamps spans with the real time, so the server reads the real clock.
        let now = spendlens_domain::Clock::now(&SystemClock);
        let org = store.ensure_default_org(now).await.unwrap();
        let key = store
            .create_ingest_key(
                org,
                "otel exporter",
                spendlens_store::Actor {
                    name: "test",
                    at: now,
                },
            )
            .await
            .unwrap()
            .secret;
        let engine = SyncEngine::new(
            store.clone(),
            Vault::from_key([5; 32]),
            PriceCatalog::built_in(),
            Arc::new(SystemClock),
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
                owner: "otlp-test".into(),
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
        App {
            base,
            key,
            store,
            org,
            client: reqwest::Client::new(),
            test,
        }
    }

    async fn post(&self, content_type: &str, gzip: bool, body: Vec<u8>) -> reqwest::Response {
        let mut request = self
            .client
            .post(format!("{}/v1/traces", self.base))
            .bearer_auth(&self.key)
            .header("content-type", content_type);
        let body = if gzip {
            request = request.header("content-encoding", "gzip");
            gzipped(&body)
        } else {
            body
        };
        request.body(body).send().await.unwrap()
    }

    async fn events(&self) -> i64 {
        self.store.meter_event_count(self.org).await.unwrap()
    }

    /// The daily rollup's series: (provider, model, customer, product, agent, workflow,
    /// status) and their metrics.
    async fn series(&self) -> Vec<(Vec<String>, spendlens_store::Metrics)> {
        let rows = self
            .store
            .read_period(
                self.org,
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
        let mut out: Vec<_> = rows
            .into_iter()
            .map(|row| {
                let dims = row
                    .series
                    .dims
                    .iter()
                    .map(|d| match d {
                        DimValue::Text(t) => t.clone(),
                        DimValue::Id(id) => format!("{id:?}"),
                    })
                    .collect::<Vec<_>>();
                // provider, model, (api key), customer, product, agent, workflow, status
                let picked: Vec<String> = [0, 1, 3, 4, 5, 6, 7]
                    .iter()
                    .map(|i| dims[*i].clone())
                    .collect();
                (picked, row.current)
            })
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    /// Fails if `needle` is anywhere in the database: every row of every table (PostgreSQL),
    /// or the bytes of the database files, write-ahead log included (SQLite).
    async fn assert_nowhere_in_database(&self, needle: &str) {
        match self.test.data_dir() {
            Some(dir) => {
                for entry in std::fs::read_dir(&dir).unwrap() {
                    let path = entry.unwrap().path();
                    if path.is_file() {
                        let bytes = std::fs::read(&path).unwrap();
                        assert!(
                            !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()),
                            "{needle} was stored in {}",
                            path.display()
                        );
                    }
                }
            }
            None => {
                let sql = format!(
                    "DO $$ DECLARE t record; n bigint; BEGIN \
                     FOR t IN SELECT table_name FROM information_schema.tables \
                       WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' LOOP \
                       EXECUTE format('SELECT count(*) FROM %I x WHERE x::text LIKE %L', t.table_name, '%{needle}%') INTO n; \
                       IF n > 0 THEN RAISE EXCEPTION 'the marker was stored in %', t.table_name; END IF; \
                     END LOOP; END $$;"
                );
                self.store.execute_for_tests(&sql).await.unwrap();
            }
        }
    }
}

fn gzipped(body: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(body).unwrap();
    encoder.finish().unwrap()
}

/// Everything the server logs, at every level, so a test can look for leaked prompts.
fn logs() -> &'static Mutex<Vec<u8>> {
    static LOGS: OnceLock<Mutex<Vec<u8>>> = OnceLock::new();
    LOGS.get_or_init(|| Mutex::new(Vec::new()))
}

struct LogWriter;

impl Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        logs().lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn capture_logs() {
    let _ = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(|| LogWriter)
        .try_init();
}

/// The virtualenv's Python with the SDK and both exporters, or `None` (loudly) when absent.
fn otel_python() -> Option<PathBuf> {
    let required = std::env::var("SPENDLENS_REQUIRE_OTEL").is_ok_and(|v| v == "1");
    let python = std::env::var_os("SPENDLENS_OTEL_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/otel-venv/bin/python")
        });
    let works = std::process::Command::new(&python)
        .args([
            "-c",
            "import opentelemetry.sdk.trace, opentelemetry.exporter.otlp.proto.http.trace_exporter, opentelemetry.exporter.otlp.json.http.trace_exporter",
        ])
        .output()
        .is_ok_and(|o| o.status.success());
    if works {
        return Some(python);
    }
    let help = format!(
        "the OpenTelemetry Python SDK is not at {}; make it with\n  python3 -m venv target/otel-venv && target/otel-venv/bin/pip install \
         opentelemetry-sdk==1.45.1 opentelemetry-exporter-otlp-proto-http==1.45.1 opentelemetry-exporter-otlp-json-http==0.66b1\n\
         (or point SPENDLENS_OTEL_PYTHON at a Python that has them; .ci/run does this and sets SPENDLENS_REQUIRE_OTEL=1)",
        python.display()
    );
    if required {
        panic!("SPENDLENS_REQUIRE_OTEL=1 but {help}");
    }
    eprintln!("\n**********\nSKIPPING the real-SDK OTLP test: {help}\n**********\n");
    None
}

/// Runs the export script (off the runtime: the server answers meanwhile): the SDK's own
/// exporter, configured by its environment variables.
async fn export(
    app: &App,
    python: &std::path::Path,
    encoding: &'static str,
    gzip: bool,
    marker: &str,
    repeat: u32,
) -> Value {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/otel/export_spans.py");
    let mut command = std::process::Command::new(python);
    command
        .arg(script)
        .args(["--encoding", encoding, "--marker", marker])
        .args(["--repeat", &repeat.to_string()])
        .env(
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
            format!("{}/v1/traces", app.base),
        )
        .env(
            "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
            format!("Authorization=Bearer%20{}", app.key),
        )
        .env(
            "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION",
            if gzip { "gzip" } else { "none" },
        )
        .env("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "20");
    let output = tokio::task::spawn_blocking(move || command.output())
        .await
        .unwrap()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "export failed: {stdout}\n{stderr}");
    serde_json::from_str(stdout.trim()).unwrap_or_else(|_| panic!("{stdout}\n{stderr}"))
}

fn status_of(bytes: &[u8]) -> RpcStatus {
    RpcStatus::decode(bytes).unwrap()
}

#[tokio::test]
async fn the_python_sdk_exports_genai_spans_in_both_encodings_and_retries_count_once() {
    let Some(python) = otel_python() else { return };
    let app = App::start().await;
    let marker = "PROMPT-MARKER-e2e-91c4";

    // Protobuf (the SDK's default protocol), gzip, the same spans exported twice.
    let sent = export(&app, &python, "protobuf", true, marker, 2).await;
    assert_eq!(sent["results"], json!(["SUCCESS", "SUCCESS"]), "{sent}");
    // 7 spans: 5 metered calls, a health check and an agent span ignored; the retry adds none.
    assert_eq!(app.events().await, 5);

    // OTLP/JSON, uncompressed, exported twice too.
    let sent = export(&app, &python, "json", false, marker, 2).await;
    assert_eq!(sent["results"], json!(["SUCCESS", "SUCCESS"]), "{sent}");
    assert_eq!(app.events().await, 10);

    let series = app.series().await;
    let row = |dims: &[&str]| {
        series
            .iter()
            .find(|(d, _)| d.iter().map(String::as_str).eq(dims.iter().copied()))
            .unwrap_or_else(|| panic!("no series {dims:?} in {series:#?}"))
            .1
    };
    // The fully reported call: usage normalized (1200 in = 176 uncached + 1024 cached; 85 out
    // including 20 reasoning), the reported cost kept, attribution from span and resource.
    let full = row(&[
        "openai",
        "gpt-4o-2024-08-06",
        "acme",
        "support-bot",
        "triage",
        "ticket_reply",
        "ok",
    ]);
    assert_eq!(full.totals.requests, 2);
    assert_eq!(full.totals.input_tokens, 2 * 176);
    assert_eq!(full.totals.cache_read_tokens, 2 * 1024);
    assert_eq!(full.totals.output_tokens, 2 * 85);
    assert_eq!(full.extra[meter_extra::REASONING_TOKENS], 2 * 20);
    assert_eq!(full.extra[meter_extra::REPORTED_COST], 2);
    assert_eq!(full.totals.cost.nanos(), 2 * 12_300_000);
    // No usage reported: an event with unknown usage, not dropped, not zero.
    let unknown = row(&[
        "anthropic",
        "claude-sonnet-4-5",
        "globex",
        "support-bot",
        "",
        "",
        "ok",
    ]);
    assert_eq!(
        (unknown.totals.requests, unknown.totals.requests_unknown),
        (2, 2)
    );
    // A failed call keeps its (legacy-named) usage; a timeout is its own status.
    let failed = row(&[
        "openai",
        "gpt-4o-mini",
        "acme",
        "support-bot",
        "",
        "",
        "error",
    ]);
    assert_eq!(
        (
            failed.totals.input_tokens,
            failed.extra[meter_extra::FAILED]
        ),
        (600, 2)
    );
    let timeout = row(&["openai", "gpt-4o", "", "support-bot", "", "", "timeout"]);
    assert_eq!(timeout.totals.requests, 2);
    let with_prompt = row(&["openai", "gpt-4.1", "initech", "support-bot", "", "", "ok"]);
    assert_eq!(with_prompt.totals.input_tokens, 2 * 42);
    assert_eq!(series.len(), 5, "{series:#?}");

    // The prompts and completions (attributes and span events) are nowhere: not in the
    // database, not in the server's logs.
    // (Logs first: the PostgreSQL check's own statement names the marker and sqlx logs it.)
    let logged = String::from_utf8_lossy(&logs().lock().unwrap()).into_owned();
    assert!(!logged.contains(marker), "a prompt reached the logs");
    assert!(
        logged.contains("otlp export received"),
        "the receiver logs its counts"
    );
    app.assert_nowhere_in_database(marker).await;
}

/// Bodies the real Python SDK sent (captured from `tests/otel/export_spans.py` with the marker
/// PROMPT-MARKER-7f3a; see crates/meter/src/otlp/fixtures), posted as the SDK posted them: this
/// runs everywhere, with or without the virtualenv.
#[tokio::test]
async fn captured_sdk_bodies_become_events_once_and_leave_no_prompt() {
    const PROTOBUF: &[u8] = include_bytes!("../../meter/src/otlp/fixtures/python-sdk-1.45.1.pb");
    const JSON: &[u8] =
        include_bytes!("../../meter/src/otlp/fixtures/python-json-exporter-0.66b1.json");
    for (content_type, body) in [
        ("application/x-protobuf", PROTOBUF),
        ("application/json", JSON),
    ] {
        let app = App::start().await;
        for _ in 0..2 {
            let response = app.post(content_type, false, body.to_vec()).await;
            assert_eq!(response.status(), 200, "{content_type}");
            assert_eq!(response.headers()["content-type"], content_type);
            let bytes = response.bytes().await.unwrap();
            let partial = if content_type == "application/json" {
                let answer: Value = serde_json::from_slice(&bytes).unwrap();
                assert!(
                    answer
                        .get("partialSuccess")
                        .is_none_or(|p| p.get("rejectedSpans").is_none_or(|n| n == 0 || n == "0"))
                );
                None
            } else {
                ExportTraceServiceResponse::decode(&bytes[..])
                    .unwrap()
                    .partial_success
                    .filter(|p| p.rejected_spans != 0)
            };
            assert!(partial.is_none(), "{content_type}: {partial:?}");
            // 7 spans: 5 GenAI calls, 2 ignored; the second post is a retry and adds nothing.
            assert_eq!(app.events().await, 5, "{content_type}");
        }
        assert_eq!(app.series().await.len(), 5, "{content_type}");
        app.assert_nowhere_in_database("PROMPT-MARKER-7f3a").await;
    }
}

#[tokio::test]
async fn malformed_payloads_are_400_in_the_requests_encoding() {
    let app = App::start().await;
    let response = app
        .post(
            "application/x-protobuf",
            false,
            b"\x0a\xff\xff\xff\xff\x0f not protobuf".to_vec(),
        )
        .await;
    assert_eq!(response.status(), 400);
    assert_eq!(response.headers()["content-type"], "application/x-protobuf");
    let status = status_of(&response.bytes().await.unwrap());
    assert_eq!(status.code, 3);
    assert!(
        status
            .message
            .contains("not a protobuf ExportTraceServiceRequest"),
        "{}",
        status.message
    );

    for (body, fragment) in [
        (r#"{"resourceSpans": [ {"#, "not an OTLP/JSON"),
        (
            r#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"attributes":{"gen_ai.system":"openai"}}]}]}]}"#,
            "attributes must be a list",
        ),
        (
            r#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"S/kvNXezTaajzpKdDg5HNg=="}]}]}]}"#,
            "not base64",
        ),
    ] {
        let response = app
            .post("application/json", false, body.as_bytes().to_vec())
            .await;
        assert_eq!(response.status(), 400, "{body}");
        assert_eq!(response.headers()["content-type"], "application/json");
        let answer: Value = response.json().await.unwrap();
        assert_eq!(answer["code"], 3);
        assert!(
            answer["message"].as_str().unwrap().contains(fragment),
            "{answer}"
        );
    }
    // A body that says gzip but is not.
    let mut request = app
        .client
        .post(format!("{}/v1/traces", app.base))
        .bearer_auth(&app.key)
        .header("content-type", "application/json")
        .header("content-encoding", "gzip");
    request = request.body("{}");
    assert_eq!(request.send().await.unwrap().status(), 400);
    assert_eq!(app.events().await, 0);
}

#[tokio::test]
async fn partial_success_names_the_rejected_spans_and_keeps_the_good_ones() {
    let app = App::start().await;
    let end = spendlens_domain::Clock::now(&SystemClock).unix_timestamp_nanos() - 1_000_000_000;
    let span = |span_id: &str, tokens: &str| {
        json!({"traceId": "4bf92f3577b34da6a3ce929d0e0e4736", "spanId": span_id, "name": "chat gpt-4o",
            "kind": 3, "startTimeUnixNano": (end - 900_000_000).to_string(), "endTimeUnixNano": end.to_string(),
            "attributes": [
                {"key": "gen_ai.operation.name", "value": {"stringValue": "chat"}},
                {"key": "gen_ai.provider.name", "value": {"stringValue": "openai"}},
                {"key": "gen_ai.request.model", "value": {"stringValue": "gpt-4o"}},
                {"key": "gen_ai.usage.input_tokens", "value": {"intValue": tokens}}]})
    };
    let body = json!({"resourceSpans": [{"scopeSpans": [{"spans": [
        span("00f067aa0ba902b7", "10"),
        span("00f067aa0ba9", "10"),
        span("00f067aa0ba902b8", "-3"),
    ]}]}]});
    let response = app
        .post("application/json", true, body.to_string().into_bytes())
        .await;
    assert_eq!(response.status(), 200);
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer["partialSuccess"]["rejectedSpans"], "2", "{answer}");
    let message = answer["partialSuccess"]["errorMessage"].as_str().unwrap();
    assert!(message.contains("2 spans rejected"), "{message}");
    assert!(message.contains("span id must be 8 bytes"), "{message}");
    assert!(
        message.contains("gen_ai.usage.input_tokens must not be negative"),
        "{message}"
    );
    assert_eq!(app.events().await, 1);

    // The same in protobuf: the answer is a protobuf ExportTraceServiceResponse.
    let request: spendlens_meter::otlp::ExportTraceServiceRequest =
        serde_json::from_value(body).unwrap();
    let response = app
        .post("application/x-protobuf", false, request.encode_to_vec())
        .await;
    assert_eq!(response.status(), 200);
    let answer = ExportTraceServiceResponse::decode(response.bytes().await.unwrap()).unwrap();
    assert_eq!(answer.partial_success.unwrap().rejected_spans, 2);
    // The good span was already stored: a re-export counts nothing twice.
    assert_eq!(app.events().await, 1);

    // An empty export and one with only non-GenAI spans: 200 with partial_success unset.
    let response = app.post("application/x-protobuf", false, Vec::new()).await;
    assert_eq!(response.status(), 200);
    assert!(response.bytes().await.unwrap().is_empty());
    let plain = json!({"resourceSpans": [{"scopeSpans": [{"spans": [
        {"traceId": "5bf92f3577b34da6a3ce929d0e0e4736", "spanId": "10f067aa0ba902b7", "name": "GET /",
         "startTimeUnixNano": (end - 5).to_string(), "endTimeUnixNano": end.to_string()}]}]}]});
    let response = app
        .post(
            "application/json; charset=utf-8",
            false,
            plain.to_string().into_bytes(),
        )
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.json::<Value>().await.unwrap(), json!({}));
    assert_eq!(app.events().await, 1);
}

#[tokio::test]
async fn keys_media_types_methods_and_sizes() {
    let app = App::start().await;
    let url = format!("{}/v1/traces", app.base);
    // No key, a wrong key, an API token's shape without a token: 401 in the request's encoding.
    let response = app
        .client
        .post(&url)
        .header("content-type", "application/x-protobuf")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(status_of(&response.bytes().await.unwrap()).code, 16);
    let response = app
        .client
        .post(&url)
        .bearer_auth("sl_ingest_not-a-real-key")
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let answer: Value = response.json().await.unwrap();
    assert!(
        answer["message"].as_str().unwrap().contains("ingest key"),
        "{answer}"
    );
    // A revoked key stops at once.
    let now = spendlens_domain::Clock::now(&SystemClock);
    let other = app
        .store
        .create_ingest_key(
            app.org,
            "soon revoked",
            spendlens_store::Actor {
                name: "test",
                at: now,
            },
        )
        .await
        .unwrap();
    let ok = app
        .client
        .post(&url)
        .bearer_auth(&other.secret)
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    app.store
        .revoke_ingest_key(
            app.org,
            other.key.id,
            spendlens_store::Actor {
                name: "test",
                at: now,
            },
        )
        .await
        .unwrap();
    let revoked = app
        .client
        .post(&url)
        .bearer_auth(&other.secret)
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 401);

    // Not OTLP: 415; not POST: 405.
    let response = app.post("text/plain", false, b"hello".to_vec()).await;
    assert_eq!(response.status(), 415);
    let response = app
        .client
        .post(&url)
        .bearer_auth(&app.key)
        .header("content-type", "application/json")
        .header("content-encoding", "br")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 415);
    assert_eq!(app.client.get(&url).send().await.unwrap().status(), 405);
    // Metrics and logs pointed here by OTEL_EXPORTER_OTLP_ENDPOINT: told plainly, not retried.
    let response = app
        .client
        .post(format!("{}/v1/metrics", app.base))
        .header("content-type", "application/x-protobuf")
        .body(Vec::new())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    assert!(
        status_of(&response.bytes().await.unwrap())
            .message
            .contains("traces only")
    );

    // Over the cap, said up front or found while decompressing: 413, and nothing stored.
    let big = vec![0u8; 65 * 1024 * 1024];
    let response = app
        .client
        .post(&url)
        .bearer_auth(&app.key)
        .header("content-type", "application/x-protobuf")
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
    let zeros = vec![0u8; 65 * 1024 * 1024];
    let bomb = gzipped(&zeros);
    drop(zeros);
    assert!(bomb.len() < 1024 * 1024);
    let mut request = app
        .client
        .post(&url)
        .bearer_auth(&app.key)
        .header("content-type", "application/x-protobuf")
        .header("content-encoding", "gzip");
    request = request.body(bomb);
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), 413);
    assert!(
        status_of(&response.bytes().await.unwrap())
            .message
            .contains("64 MiB")
    );
    assert_eq!(app.events().await, 0);
}
