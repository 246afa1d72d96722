//! The JSON API through the real server on a random port, against a store synced from the
//! provider fakes (SQLite, or PostgreSQL with `SPENDLENS_TEST_DATABASE_URL`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a failing test should stop loudly

use spendlens_domain::SyncRequest;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use spendlens_domain::{Money, PriceCatalog, ProviderKind};
use spendlens_fakes::anthropic::{AnthropicFake, RunningAnthropicFake};
use spendlens_fakes::openai::{OpenAiFake, RunningOpenAiFake};
use spendlens_providers::{CallStats, HttpSettings};
use spendlens_store::OrgId;
use spendlens_store::testing::TestStore;
use spendlens_store::vault::Vault;
use spendlens_sync::connections::AddConnection;
use spendlens_sync::{FixedClock, SyncEngine, SyncSettings};
use time::macros::{date, datetime};

struct App {
    base: String,
    token: String,
    client: reqwest::Client,
    engine: SyncEngine,
    org: OrgId,
    openai: RunningOpenAiFake,
    anthropic: RunningAnthropicFake,
    test: TestStore,
}

impl App {
    async fn start() -> App {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let test = TestStore::new().await.unwrap();
        let engine = SyncEngine::new(
            test.store.clone(),
            Vault::from_key([5; 32]),
            PriceCatalog::built_in(),
            Arc::new(FixedClock::new(datetime!(2026-11-22 10:00 UTC))),
            SyncSettings {
                lease: Duration::from_secs(60),
                http: HttpSettings {
                    timeout: Duration::from_secs(5),
                    connect_timeout: Duration::from_secs(2),
                    max_retries: 2,
                    base_backoff: Duration::from_millis(1),
                    max_backoff: Duration::from_millis(2),
                    max_retry_after: Duration::from_millis(10),
                },
                owner: "api-test".into(),
                allowed_base_url_hosts: Vec::new(),
            },
        );
        let org = engine
            .store()
            .ensure_default_org(engine.now())
            .await
            .unwrap();
        let openai = OpenAiFake::builder()
            .seed(21)
            .today(date!(2026 - 11 - 22))
            .build();
        let openai_key = openai.admin_key().to_owned();
        let openai = openai.spawn().await.unwrap();
        let anthropic = AnthropicFake::builder()
            .seed(21)
            .today(date!(2026 - 11 - 22))
            .build();
        let anthropic_key = anthropic.admin_key().to_owned();
        let anthropic = anthropic.spawn().await.unwrap();
        for (provider, key, url) in [
            (ProviderKind::OpenAi, openai_key.as_str(), openai.base_url()),
            (
                ProviderKind::Anthropic,
                anthropic_key.as_str(),
                anthropic.base_url(),
            ),
        ] {
            let (row, _) = engine
                .add_connection(
                    org,
                    AddConnection {
                        provider,
                        name: provider.as_str(),
                        secret: key,
                        base_url: Some(url),
                        skip_check: false,
                        sync_interval_secs: 3600,
                        backfill_days: 60,
                        lookback_days: Some(3),
                    },
                )
                .await
                .unwrap();
            engine
                .sync_connection(
                    org,
                    row.id,
                    None,
                    SyncRequest::Scheduled,
                    &CallStats::default(),
                )
                .await
                .unwrap();
        }
        let token = engine
            .store()
            .create_api_token(org, "test", engine.now())
            .await
            .unwrap()
            .secret;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let router = spendlens_web::router(spendlens_web::AppState::new(engine.clone()));
        tokio::spawn(spendlens_web::serve(
            listener,
            router,
            std::future::pending(),
        ));
        App {
            base,
            token,
            client: reqwest::Client::new(),
            engine,
            org,
            openai,
            anthropic,
            test,
        }
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        let response = self
            .client
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    async fn stop(self) {
        self.openai.shutdown().await;
        self.anthropic.shutdown().await;
        self.test.teardown().await;
    }
}

fn money(value: &Value) -> Money {
    Money::parse_units(
        value
            .as_str()
            .unwrap_or_else(|| panic!("not a money string: {value}")),
    )
    .unwrap()
}

#[tokio::test]
async fn health_and_the_openapi_document_answer_without_a_token() {
    let app = App::start().await;
    let health = reqwest::get(format!("{}/healthz", app.base)).await.unwrap();
    assert_eq!(health.status(), 200);
    let spec: Value = reqwest::get(format!("{}/api/v1/openapi.json", app.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(spec["openapi"], "3.1.0");
    for (method, path) in spendlens_web::api::openapi::PATHS {
        assert!(spec["paths"][path][method].is_object(), "{method} {path}");
    }
    app.stop().await;
}

#[tokio::test]
async fn every_api_route_refuses_a_missing_or_wrong_token() {
    let app = App::start().await;
    for (method, path) in spendlens_web::api::openapi::PATHS {
        let path = path.replace("{view}", "providers").replace("{id}", "1");
        let url = format!("{}/api/v1{path}", app.base);
        for token in [None, Some("sl_wrong")] {
            let mut request = match *method {
                "get" => app.client.get(&url),
                "post" => app.client.post(&url).json(&serde_json::json!({})),
                "put" => app.client.put(&url).json(&serde_json::json!({})),
                "delete" => app.client.delete(&url),
                other => panic!("{other}"),
            };
            if let Some(token) = token {
                request = request.bearer_auth(token);
            }
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), 401, "{method} {path}");
            let request_id = response.headers()["x-request-id"]
                .to_str()
                .unwrap()
                .to_owned();
            let body: Value = response.json().await.unwrap();
            assert_eq!(body["error"]["code"], "unauthorized");
            assert_eq!(body["error"]["request_id"], request_id.as_str());
        }
    }
    app.stop().await;
}

#[tokio::test]
async fn reports_are_non_empty_for_both_providers_and_totals_add_up() {
    let app = App::start().await;
    for view in ["providers", "workspaces", "keys", "models"] {
        let (status, body) = app
            .get(&format!("/api/v1/reports/{view}?period=last-30-days"))
            .await;
        assert_eq!(status, 200, "{view}: {body}");
        assert_eq!(body["period"]["to"], "2026-11-22");
        assert_eq!(body["period"]["from"], "2026-10-24");
        assert_eq!(body["previous_period"]["to"], "2026-10-23");
        let rows = body["rows"].as_array().unwrap();
        assert!(!rows.is_empty(), "{view}");
        let sum: Money = rows.iter().map(|r| money(&r["cost"])).sum();
        assert_eq!(sum, money(&body["total_cost"]), "{view}");
        for provider in ["openai", "anthropic"] {
            assert!(
                rows.iter()
                    .any(|r| r["provider"].as_str().unwrap().contains(provider)),
                "{view} lacks {provider}"
            );
        }
        for row in rows {
            for field in [
                "cost",
                "previous_cost",
                "trend_pct",
                "input_tokens",
                "output_tokens",
                "requests",
            ] {
                assert!(row.get(field).is_some(), "{view} row lacks {field}: {row}");
            }
            if row["provider"] == "anthropic" && view != "providers" {
                assert!(row["requests"].is_null(), "{row}");
            }
        }
    }
    let (_, keys) = app.get("/api/v1/reports/keys").await;
    let row = &keys["rows"][0];
    for field in ["key_id", "key_name", "key_hint", "workspace"] {
        assert!(row.get(field).is_some(), "{row}");
    }
    let (_, models) = app.get("/api/v1/reports/models").await;
    assert!(
        models["rows"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["most_efficient"] == true)
    );
    app.stop().await;
}

#[tokio::test]
async fn drill_down_filters_keys_by_workspace_and_models_by_key() {
    let app = App::start().await;
    let (_, workspaces) = app.get("/api/v1/reports/workspaces").await;
    let top = &workspaces["rows"][0];
    let name = top["workspace"].as_str().unwrap();
    let (status, keys) = app
        .get(&format!(
            "/api/v1/reports/keys?workspace={}",
            urlencode(name)
        ))
        .await;
    assert_eq!(status, 200);
    let key_rows = keys["rows"].as_array().unwrap();
    assert!(key_rows.iter().all(|r| r["workspace"] == name));
    assert_eq!(money(&keys["total_cost"]), money(&top["cost"]));
    let key = key_rows.iter().find(|r| !r["key_id"].is_null()).unwrap();
    let (_, models) = app
        .get(&format!("/api/v1/reports/models?key={}", key["key_id"]))
        .await;
    assert_eq!(money(&models["total_cost"]), money(&key["cost"]));
    app.stop().await;
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn bad_parameters_get_a_clear_400() {
    let app = App::start().await;
    for (query, expected) in [
        ("from=2026-11-10&to=2026-11-01", "must be the earlier one"),
        ("from=2026-13-01&to=2026-11-01", "YYYY-MM-DD"),
        ("min_cost=-1", "negative"),
        ("min_cost=abc", "min_cost"),
        ("sort=colour", "cannot sort"),
        ("provider=azure", "unknown provider"),
        ("format=xml", "json or csv"),
    ] {
        let (status, body) = app.get(&format!("/api/v1/reports/keys?{query}")).await;
        assert_eq!(status, 400, "{query}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains(expected), "{query}: {message}");
    }
    let long = "x".repeat(5000);
    let (status, _) = app
        .get(&format!("/api/v1/reports/models?search={long}"))
        .await;
    assert_eq!(status, 400);
    let (status, _) = app.get("/api/v1/reports/everything").await;
    assert_eq!(status, 400);
    app.stop().await;
}

#[tokio::test]
async fn csv_export_matches_the_json_rows_and_states_the_period() {
    let app = App::start().await;
    let response = app
        .client
        .get(format!(
            "{}/api/v1/reports/workspaces?format=csv&sort=workspace",
            app.base
        ))
        .bearer_auth(&app.token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.headers()["content-type"],
        "text/csv; charset=utf-8"
    );
    let csv = response.text().await.unwrap();
    assert!(
        csv.contains("# period: 2026-10-24 to 2026-11-22 (UTC)"),
        "{csv}"
    );
    assert!(csv.contains("currency: USD"));
    let (_, json) = app.get("/api/v1/reports/workspaces?sort=workspace").await;
    let names: Vec<&str> = json["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["workspace"].as_str().unwrap())
        .collect();
    let csv_names: Vec<&str> = csv
        .lines()
        .skip(4)
        .map(|l| l.split(',').next().unwrap().trim_matches('"'))
        .filter(|n| *n != "Total")
        .collect();
    assert_eq!(csv_names, names);
    app.stop().await;
}

#[tokio::test]
async fn connections_never_return_secrets_and_refuse_wrong_keys() {
    let app = App::start().await;
    let (status, body) = app.get("/api/v1/connections").await;
    assert_eq!(status, 200);
    let text = body.to_string();
    assert!(!text.contains(app.openai.admin_key()));
    assert!(!text.contains(app.anthropic.admin_key()));
    assert!(text.contains("credential_hint"));

    let (status, body) = app
        .post(
            "/api/v1/connections",
            serde_json::json!({"provider": "anthropic", "name": "std", "credential": "sk-ant-api03-abcdefghijklmnopqrstuvwxyz", "base_url": app.anthropic.base_url()}),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Admin key")
    );

    let (status, body) = app
        .post(
            "/api/v1/connections",
            serde_json::json!({"provider": "openai", "name": "revoked", "credential": "sk-admin-notTheRightKeyxxxxxxxxxxxxxxxxxxxxxx", "base_url": app.openai.base_url()}),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not saved")
    );

    let (status, body) = app
        .post(
            "/api/v1/connections",
            serde_json::json!({"provider": "openai", "name": "long", "credential": app.openai.admin_key(), "base_url": app.openai.base_url(), "lookback_days": 63}),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("look-back must be between 0 and 62 days"),
        "{body}"
    );

    let (status, body) = app
        .post(
            "/api/v1/connections",
            serde_json::json!({"provider": "openai", "name": "second", "credential": app.openai.admin_key(), "base_url": app.openai.base_url(), "lookback_days": 10}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["connection"]["lookback_days"], 10, "{body}");
    assert!(!body.to_string().contains(app.openai.admin_key()));
    let id = body["connection"]["id"].as_i64().unwrap();
    let (status, _) = app
        .post(
            &format!("/api/v1/connections/{id}/test"),
            serde_json::json!({}),
        )
        .await;
    assert_eq!(status, 200);
    let response = app
        .client
        .delete(format!("{}/api/v1/connections/{id}?purge=true", app.base))
        .bearer_auth(&app.token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    app.stop().await;
}

#[tokio::test]
async fn a_disconnected_connection_gets_a_new_key_over_the_api_checked_live() {
    let app = App::start().await;
    let (status, body) = app
        .post(
            "/api/v1/connections",
            serde_json::json!({"provider": "openai", "name": "rotating", "credential": app.openai.admin_key(), "base_url": app.openai.base_url()}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let id = body["connection"]["id"].as_i64().unwrap();
    let response = app
        .client
        .delete(format!("{}/api/v1/connections/{id}", app.base))
        .bearer_auth(&app.token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    let put = |credential: Value| {
        let request = app
            .client
            .put(format!("{}/api/v1/connections/{id}/credential", app.base))
            .bearer_auth(&app.token)
            .json(&credential);
        async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            (
                status,
                response.json::<Value>().await.unwrap_or(Value::Null),
            )
        }
    };
    let has_key = || async {
        let (_, body) = app.get(&format!("/api/v1/connections/{id}")).await;
        (body["has_credential"].clone(), body["status"].clone())
    };
    // A project key (shape), a key the provider refuses (live) and an unknown field change nothing.
    for (body, status_wanted, says) in [
        (
            serde_json::json!({"credential": "sk-proj-abcdefghijklmnopqrstuvwxyz0123456789"}),
            400,
            "not changed",
        ),
        (
            serde_json::json!({"credential": "sk-admin-notTheRightKeyxxxxxxxxxxxxxxxxxxxxxx"}),
            422,
            "not changed",
        ),
        (
            serde_json::json!({"credential": app.openai.admin_key(), "name": "x"}),
            400,
            "",
        ),
    ] {
        let (status, answer) = put(body.clone()).await;
        assert_eq!(status, status_wanted, "{body}: {answer}");
        let message = answer["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(says), "{message}");
        assert!(!answer.to_string().contains("sk-admin-notTheRightKey"));
        assert_eq!(
            has_key().await,
            (Value::Bool(false), Value::String("disconnected".into())),
            "{body}"
        );
    }
    let (status, answer) = put(serde_json::json!({"credential": app.openai.admin_key()})).await;
    assert_eq!(status, 200, "{answer}");
    assert!(!answer.to_string().contains(app.openai.admin_key()));
    assert_eq!(answer["connection"]["id"], id);
    assert_eq!(
        has_key().await,
        (Value::Bool(true), Value::String("pending".into()))
    );
    app.stop().await;
}

#[tokio::test]
async fn concurrent_sync_now_calls_start_one_run_and_answer_409_with_its_id() {
    let app = App::start().await;
    app.openai.faults().add(
        spendlens_fakes::FaultRule::new(spendlens_fakes::Fault::Delay(Duration::from_millis(400)))
            .times(4),
    );
    let connections = app.engine.store().list_connections(app.org).await.unwrap();
    let id = connections
        .iter()
        .find(|c| c.provider == ProviderKind::OpenAi)
        .unwrap()
        .id
        .0;
    let path = format!("/api/v1/connections/{id}/sync");
    let calls = (0..5).map(|_| app.post(&path, serde_json::json!({})));
    let answers = futures_join_all(calls).await;
    let accepted: Vec<&Value> = answers
        .iter()
        .filter(|(status, _)| *status == 202)
        .map(|(_, body)| body)
        .collect();
    assert_eq!(accepted.len(), 1, "{answers:?}");
    let run_id = accepted[0]["run_id"].as_i64().expect("202 names its run");
    for (status, body) in answers.iter().filter(|(status, _)| *status != 202) {
        assert_eq!(*status, 409, "{body}");
        assert_eq!(body["error"]["code"], "already_running", "{body}");
        assert_eq!(body["error"]["run_id"].as_i64(), Some(run_id), "{body}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains("already running"), "{message}");
    }
    app.stop().await;
}

/// Runs the futures concurrently and collects their outputs in order.
async fn futures_join_all<F: std::future::Future>(
    futures: impl Iterator<Item = F>,
) -> Vec<F::Output> {
    let handles: Vec<_> = futures.collect();
    let mut out = Vec::new();
    let mut pinned: Vec<std::pin::Pin<Box<F>>> = handles.into_iter().map(Box::pin).collect();
    let mut results: Vec<Option<F::Output>> = pinned.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (slot, fut) in results.iter_mut().zip(pinned.iter_mut()) {
            if slot.is_none() {
                match fut.as_mut().poll(cx) {
                    std::task::Poll::Ready(value) => *slot = Some(value),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    for slot in results {
        out.extend(slot);
    }
    out
}

#[tokio::test]
async fn token_scopes_and_expiry_limit_what_a_token_may_do() {
    use spendlens_domain::Scopes;
    let app = App::start().await;
    let store = app.engine.store();
    let now = app.engine.now();
    let token = |scopes: &str| {
        let scopes: Scopes = scopes.parse().unwrap();
        async move {
            store
                .create_scoped_api_token(
                    app.org,
                    "scoped",
                    scopes,
                    None,
                    spendlens_store::Actor {
                        name: "test",
                        at: now,
                    },
                )
                .await
                .unwrap()
                .secret
        }
    };
    let call = |method: reqwest::Method, path: String, token: String, body: Option<Value>| {
        let request = app
            .client
            .request(method, format!("{}{path}", app.base))
            .bearer_auth(token);
        let request = match body {
            Some(body) => request.json(&body),
            None => request,
        };
        async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            (
                status,
                response.json::<Value>().await.unwrap_or(Value::Null),
            )
        }
    };
    let openai = app
        .engine
        .store()
        .list_connections(app.org)
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.provider == ProviderKind::OpenAi)
        .unwrap()
        .id
        .0;
    let new_connection = |base_url: Option<&str>| {
        serde_json::json!({
            "provider": "anthropic",
            "name": "scoped-anthropic",
            "credential": "sk-ant-admin01-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "skip_check": true,
            "base_url": base_url,
        })
    };

    // A read token reads, and is refused every write with the scope it would need.
    let read = token("read").await;
    let (status, _) = call(
        reqwest::Method::GET,
        "/api/v1/reports/providers".into(),
        read.clone(),
        None,
    )
    .await;
    assert_eq!(status, 200);
    let (status, body) = call(
        reqwest::Method::POST,
        "/api/v1/sync".into(),
        read.clone(),
        None,
    )
    .await;
    assert_eq!(status, 403, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("\"sync\" scope"),
        "{body}"
    );
    let (status, body) = call(
        reqwest::Method::POST,
        "/api/v1/connections".into(),
        read.clone(),
        Some(new_connection(None)),
    )
    .await;
    assert_eq!(status, 403, "{body}");
    let (status, _) = call(
        reqwest::Method::DELETE,
        format!("/api/v1/connections/{openai}"),
        read.clone(),
        None,
    )
    .await;
    assert_eq!(status, 403);

    // A connections token adds a connection, but may not point one at another host.
    let connections = token("connections").await;
    let (status, body) = call(
        reqwest::Method::POST,
        "/api/v1/connections".into(),
        connections.clone(),
        Some(new_connection(Some("https://gateway.example.com"))),
    )
    .await;
    assert_eq!(status, 403, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("base URL"),
        "{body}"
    );
    let (status, body) = call(
        reqwest::Method::POST,
        "/api/v1/connections".into(),
        connections.clone(),
        Some(new_connection(None)),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let (status, _) = call(
        reqwest::Method::POST,
        format!("/api/v1/connections/{openai}/sync"),
        connections.clone(),
        None,
    )
    .await;
    assert_eq!(status, 403);

    // A sync token starts syncs.
    let sync = token("sync").await;
    let (status, body) = call(
        reqwest::Method::POST,
        format!("/api/v1/connections/{openai}/sync"),
        sync.clone(),
        None,
    )
    .await;
    assert_eq!(status, 202, "{body}");

    // An expired token is refused like an unknown one.
    let expired = store
        .create_scoped_api_token(
            app.org,
            "expired",
            Scopes::ADMIN,
            Some(now - time::Duration::hours(1)),
            spendlens_store::Actor {
                name: "test",
                at: now - time::Duration::hours(2),
            },
        )
        .await
        .unwrap()
        .secret;
    let (status, _) = call(
        reqwest::Method::GET,
        "/api/v1/reports/providers".into(),
        expired,
        None,
    )
    .await;
    assert_eq!(status, 401);
    let listed = store.list_api_tokens(app.org).await.unwrap();
    assert!(listed.iter().any(|t| t.scopes.to_string() == "read,sync"));
    app.stop().await;
}

#[tokio::test]
async fn sync_now_runs_in_the_background_and_shows_in_the_log() {
    let app = App::start().await;
    let (status, body) = app.post("/api/v1/sync", serde_json::json!({})).await;
    assert_eq!(status, 202, "{body}");
    let mut finished = false;
    for _ in 0..100 {
        let (_, runs) = app.get("/api/v1/sync-runs?limit=10").await;
        let runs = runs["sync_runs"].as_array().unwrap().clone();
        let manual: Vec<&Value> = runs.iter().filter(|r| r["trigger"] == "manual").collect();
        if manual.len() == 2 && manual.iter().all(|r| r["status"] == "success") {
            assert!(manual.iter().all(|r| r["http_calls"].as_i64().unwrap() > 0));
            finished = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(finished, "the manual syncs did not finish");
    let (status, body) = app.get("/api/v1/sync-runs?status=exploded").await;
    assert_eq!(status, 400, "{body}");
    // Out-of-range values are refused, not silently cut down.
    for limit in ["12987632361", "0", "-1", "10001"] {
        let (status, body) = app.get(&format!("/api/v1/sync-runs?limit={limit}")).await;
        assert_eq!(status, 400, "limit={limit}: {body}");
        assert_eq!(body["error"]["code"], "bad_request", "{body}");
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("between 1 and 10000"),
            "{body}"
        );
    }
    let (status, body) = app.get("/api/v1/sync-runs?limit=10000").await;
    assert_eq!(status, 200, "{body}");
    app.stop().await;
}

#[tokio::test]
async fn one_organization_cannot_see_anothers_data() {
    let app = App::start().await;
    let other = app
        .engine
        .store()
        .create_org("Other", app.engine.now())
        .await
        .unwrap();
    let token = app
        .engine
        .store()
        .create_api_token(other, "other", app.engine.now())
        .await
        .unwrap()
        .secret;
    let connections = app.engine.store().list_connections(app.org).await.unwrap();
    let id = connections[0].id.0;
    let response = app
        .client
        .get(format!("{}/api/v1/connections/{id}", app.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    let body: Value = app
        .client
        .get(format!("{}/api/v1/reports/providers", app.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["total_cost"], "0.00");
    assert!(body["rows"].as_array().unwrap().is_empty());
    let response = app
        .client
        .delete(format!("{}/api/v1/connections/{id}?purge=true", app.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    assert_eq!(
        app.engine
            .store()
            .list_connections(app.org)
            .await
            .unwrap()
            .len(),
        2
    );
    app.stop().await;
}

#[tokio::test]
async fn workspaces_of_two_providers_given_one_name_are_one_row_split_back_by_provider() {
    let app = App::start().await;
    let store = app.engine.store();
    let workspaces = store.list_workspaces(app.org).await.unwrap();
    let pick = |provider: ProviderKind| {
        workspaces
            .iter()
            .find(|w| w.provider == provider && !w.archived)
            .unwrap()
            .id
    };
    for id in [pick(ProviderKind::OpenAi), pick(ProviderKind::Anthropic)] {
        store
            .rename_workspace(
                app.org,
                id,
                "Shared platform",
                spendlens_store::Actor {
                    name: "test",
                    at: app.engine.now(),
                },
            )
            .await
            .unwrap();
    }
    let (status, body) = app.get("/api/v1/reports/workspaces").await;
    assert_eq!(status, 200);
    let rows = body["rows"].as_array().unwrap();
    let shared: Vec<&Value> = rows
        .iter()
        .filter(|r| r["workspace"] == "Shared platform")
        .collect();
    assert_eq!(shared.len(), 1, "{body}");
    assert_eq!(shared[0]["provider"], "openai+anthropic");
    let by_provider = body["cost_by_provider"].as_object().unwrap();
    assert_eq!(by_provider.len(), 2, "{body}");
    let split: Money = by_provider.values().map(money).sum();
    assert_eq!(split, money(&body["total_cost"]));
    app.stop().await;
}

#[tokio::test]
async fn a_password_in_a_url_never_shows_in_answers_hints_or_the_audit_log() {
    let app = App::start().await;
    let credential = serde_json::json!({
        "apiKey": "sk-litellm-master-0123456789",
        "baseUrl": "https://admin:hunter2@litellm.example.com:4000/?token=qtok123#frag456",
    })
    .to_string();
    let (status, body) = app
        .post(
            "/api/v1/connections",
            serde_json::json!({"provider": "litellm", "name": "gateway", "credential": credential, "skip_check": true}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let id = body["connection"]["id"].as_i64().unwrap();
    assert_eq!(
        body["connection"]["credential_hint"],
        "sk-lit…6789 @ https://litellm.example.com:4000"
    );
    // A base URL override with a password, a query or a fragment is refused without echoing it.
    for base_url in [
        "https://admin:hunter2@litellm.example.com",
        "https://litellm.example.com/?token=qtok123",
        "https://litellm.example.com/#frag456",
        "https://admin:hun/ter2@litellm.example.com",
    ] {
        let (status, body) = app
            .post(
                "/api/v1/connections",
                serde_json::json!({"provider": "litellm", "name": "override", "credential": credential, "base_url": base_url, "skip_check": true}),
            )
            .await;
        assert_eq!(status, 400, "{base_url}: {body}");
        assert!(!body.to_string().contains("hunter2") && !body.to_string().contains("ter2"));
    }
    let mut seen = Vec::new();
    for path in [
        "/api/v1/connections".to_owned(),
        format!("/api/v1/connections/{id}"),
        "/api/v1/sync-runs".to_owned(),
    ] {
        let (status, body) = app.get(&path).await;
        assert_eq!(status, 200, "{path}");
        seen.push(body.to_string());
    }
    for entry in app
        .engine
        .store()
        .audit_entries(app.org, 100)
        .await
        .unwrap()
    {
        seen.push(format!(
            "{} {} {}",
            entry.actor, entry.subject, entry.detail
        ));
    }
    let connection = app
        .engine
        .store()
        .get_connection(app.org, spendlens_store::ConnectionId(id))
        .await
        .unwrap();
    seen.push(format!("{connection:?}"));
    for text in &seen {
        for secret in ["hunter2", "qtok123", "frag456", "admin:"] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
    }
    app.stop().await;
}
