//! Prices observed on bills, end to end (SQLite, or PostgreSQL with
//! `SPENDLENS_TEST_DATABASE_URL`): the OpenAI stand-in's bill is synced through the real engine
//! and connector, and what it charged per 1M tokens of each class on each model's latest
//! billed day is checked exactly against the stand-in's own ground truth — in the catalog (as
//! `observed` entries that never price a call), in `GET /api/v1/prices/observed` beside the
//! catalog price with the drift, on Cost → Model pricing, and in a `price_drift` alert. A model
//! billed without a catalog price is listed as a new model.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a failing test should stop loudly

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{COOKIE, SET_COOKIE};
use serde_json::{Value, json};
use spendlens_domain::{
    Category, CostLine, Currency, DayRange, Money, PriceCatalog, ProviderKind, Quantity,
    SyncRequest, TokenCounts, Unit,
};
use spendlens_fakes::openai::OpenAiFake;
use spendlens_providers::{CallStats, HttpSettings};
use spendlens_store::testing::TestStore;
use spendlens_store::vault::Vault;
use spendlens_store::{NewConnection, OrgId, Role, SyncRunStatus, WindowWrite};
use spendlens_sync::connections::AddConnection;
use spendlens_sync::{FixedClock, SyncEngine, SyncSettings};
use spendlens_web::dashboard::session::hash_password;
use time::macros::{date, datetime};

const PASSWORD: &str = "correct horse battery staple";
const TODAY: time::Date = date!(2026 - 11 - 22);

struct App {
    base: String,
    token: String,
    client: reqwest::Client,
    state: Arc<spendlens_web::AppState>,
    org: OrgId,
    test: TestStore,
    fake: spendlens_fakes::openai::RunningOpenAiFake,
}

impl App {
    async fn start() -> App {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let test = TestStore::new().await.unwrap();
        let engine = SyncEngine::new(
            test.store.clone(),
            Vault::from_key([5; 32]),
            PriceCatalog::built_in(),
            Arc::new(FixedClock::new(datetime!(2026-11-22 12:00 UTC))),
            SyncSettings {
                lease: Duration::from_secs(60),
                http: HttpSettings {
                    timeout: Duration::from_secs(5),
                    connect_timeout: Duration::from_secs(2),
                    max_retries: 3,
                    base_backoff: Duration::from_millis(1),
                    max_backoff: Duration::from_millis(5),
                    max_retry_after: Duration::from_millis(20),
                },
                owner: "observed-test".into(),
                allowed_base_url_hosts: Vec::new(),
            },
        );
        let store = engine.store().clone();
        let now = engine.now();
        let org = store.ensure_default_org(now).await.unwrap();
        let fake = OpenAiFake::builder().seed(11).today(TODAY).build();
        let key = fake.admin_key().to_owned();
        let fake = fake.spawn().await.unwrap();
        let (connection, _) = engine
            .add_connection(
                org,
                AddConnection {
                    provider: ProviderKind::OpenAi,
                    name: "openai",
                    secret: &key,
                    base_url: Some(fake.base_url()),
                    skip_check: false,
                    sync_interval_secs: 3600,
                    backfill_days: 45,
                    lookback_days: Some(3),
                },
            )
            .await
            .unwrap();
        let report = engine
            .sync_connection(
                org,
                connection.id,
                None,
                SyncRequest::Scheduled,
                &CallStats::default(),
            )
            .await
            .unwrap();
        assert_eq!(report.status, SyncRunStatus::Success, "{:?}", report.error);
        // A second connection whose bill names a model no catalog entry prices.
        let credential = spendlens_domain::Credential::parse(
            ProviderKind::OpenAi,
            "sk-admin-observedtestkeyxxxxxxxxxxxxxxxxx",
        )
        .unwrap();
        let house = store
            .create_connection(
                org,
                NewConnection {
                    name: "openai-house",
                    credential: &credential,
                    base_url: Some("http://127.0.0.1:9"),
                    sync_interval_secs: 3600,
                    backfill_days: 90,
                    lookback_days: Some(3),
                },
                engine.vault(),
                now,
            )
            .await
            .unwrap()
            .id;
        store
            .replace_window(WindowWrite {
                invoice_months: None,
                org,
                connection: house,
                window: DayRange::new("2026-11-20".parse().unwrap(), "2026-11-21".parse().unwrap())
                    .unwrap(),
                workspaces: &[],
                api_keys: &[],
                api_keys_complete: false,
                lines: &[CostLine {
                    day: "2026-11-20".parse().unwrap(),
                    workspace_id: None,
                    api_key_id: None,
                    model: "gpt-house-x".to_owned(),
                    category: Category::Text,
                    unit: Unit::tokens(),
                    detail: String::new(),
                    tokens: TokenCounts {
                        input: 1_000,
                        output: 100,
                        cache_read: 0,
                        cache_write: 0,
                    },
                    requests: Some(1),
                    quantity: Quantity::ZERO,
                    cost: Money::parse_units("1.00").unwrap(),
                    credits: Money::ZERO,
                    currency: Currency::usd(),
                    estimated: false,
                    allocated: false,
                    billing: None,
                    unpriced: false,
                }],
                now,
            })
            .await
            .unwrap();
        store
            .create_user(
                org,
                "admin@example.com",
                &hash_password(PASSWORD).unwrap(),
                Role::Admin,
                now,
            )
            .await
            .unwrap();
        let token = store.create_api_token(org, "t", now).await.unwrap().secret;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let state = spendlens_web::AppState::new(engine.clone());
        let router = spendlens_web::router(state.clone());
        tokio::spawn(spendlens_web::serve(
            listener,
            router,
            std::future::pending(),
        ));
        App {
            base,
            token,
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            state,
            org,
            test,
            fake,
        }
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
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

    async fn page(&self, path: &str) -> String {
        let cookie_of = |response: &reqwest::Response, name: &str| -> String {
            response
                .headers()
                .get_all(SET_COOKIE)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .find_map(|v| {
                    let (key, value) = v.split(';').next()?.split_once('=')?;
                    (key == name && !value.is_empty()).then(|| value.to_owned())
                })
                .unwrap()
        };
        let response = self
            .client
            .get(format!("{}/login", self.base))
            .send()
            .await
            .unwrap();
        let login_cookie = cookie_of(&response, "spendlens_login_csrf");
        let html = response.text().await.unwrap();
        let marker = "name=\"csrf\" value=\"";
        let start = html.find(marker).unwrap() + marker.len();
        let csrf = &html[start..start + html[start..].find('"').unwrap()];
        let response = self
            .client
            .post(format!("{}/login", self.base))
            .header(COOKIE, format!("spendlens_login_csrf={login_cookie}"))
            .form(&[
                ("email", "admin@example.com"),
                ("password", PASSWORD),
                ("csrf", csrf),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "login failed");
        let session = cookie_of(&response, "spendlens_session");
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .header(COOKIE, format!("spendlens_session={session}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        response.text().await.unwrap()
    }
}

/// What the stand-in billed per (model, class) on each model's latest day before today, and
/// for which tokens — read from its ground truth, not from anything spendlens stored.
fn expected(
    fake: &spendlens_fakes::openai::RunningOpenAiFake,
) -> BTreeMap<(String, String), (String, u64, u64)> {
    let truth = fake.truth();
    let last = TODAY.previous_day().unwrap();
    let first = truth.first_day();
    // (model, day) → (class → nanos), and usage per (model, day).
    let mut costs: BTreeMap<(String, time::Date), BTreeMap<&'static str, u64>> = BTreeMap::new();
    for line in truth.cost_lines(first, last) {
        let Some((model, piece)) = line.line_item.split_once(", ") else {
            continue;
        };
        let class = match piece {
            "input" => "input",
            "cached input" => "cached_input",
            "output" => "output",
            _ => continue,
        };
        *costs
            .entry((model.to_owned(), line.day))
            .or_default()
            .entry(class)
            .or_default() += line.nanos;
    }
    let mut usage: BTreeMap<(String, time::Date), (u64, u64, u64)> = BTreeMap::new();
    for u in truth.usage_lines(first, last) {
        let at = usage.entry((u.model.clone(), u.day)).or_default();
        at.0 += u.totals.input_tokens - u.totals.input_cached_tokens;
        at.1 += u.totals.input_cached_tokens;
        at.2 += u.totals.output_tokens;
    }
    let mut latest: BTreeMap<String, time::Date> = BTreeMap::new();
    for ((model, day), classes) in &costs {
        if classes.values().any(|n| *n > 0) {
            let at = latest.entry(model.clone()).or_insert(*day);
            *at = (*at).max(*day);
        }
    }
    let mut out = BTreeMap::new();
    for (model, day) in latest {
        let (input, cached, output) = usage[&(model.clone(), day)];
        for (class, nanos) in &costs[&(model.clone(), day)] {
            let tokens = match *class {
                "input" => input,
                "cached_input" => cached,
                _ => output,
            };
            if *nanos > 0 && tokens > 0 {
                out.insert(
                    (model.clone(), (*class).to_owned()),
                    (day.to_string(), *nanos, tokens),
                );
            }
        }
    }
    out
}

#[tokio::test]
async fn a_synced_bill_gives_exact_observed_prices_set_against_the_catalog() {
    let app = App::start().await;
    // A user price for gpt-4o-mini that is 1 cent per 1M above what the bill charges.
    let (status, body) = app
        .call(
            reqwest::Method::POST,
            "/api/v1/prices",
            Some(
                json!({"provider": "openai", "model": "gpt-4o-mini*", "input": "0.16",
                "cache_read": "0.075", "output": "0.6", "effective_from": "2024-01-01",
                "source": "our contract"}),
            ),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let user_id = body["id"].clone();
    // Observed prices come only from bills.
    let (status, body) = app
        .call(
            reqwest::Method::POST,
            "/api/v1/prices",
            Some(
                json!({"provider": "openai", "model": "gpt-4o", "input": "1", "output": "1",
                "effective_from": "2024-01-01", "source": "me", "provenance": "observed"}),
            ),
        )
        .await;
    assert!((400..500).contains(&status), "{status} {body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("observed prices come only from synced bills"),
        "{body}"
    );

    let want = expected(&app.fake);
    // The stand-in bills five token models; every class it bills on the latest day is seen.
    let models: std::collections::BTreeSet<&str> = want.keys().map(|(m, _)| m.as_str()).collect();
    assert_eq!(
        models.into_iter().collect::<Vec<_>>(),
        vec![
            "gpt-4.1-2025-04-14",
            "gpt-4o-2024-08-06",
            "gpt-4o-mini-2024-07-18",
            "o4-mini-2025-04-16",
            "text-embedding-3-small"
        ]
    );
    let (status, body) = app
        .call(reqwest::Method::GET, "/api/v1/prices/observed", None)
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["threshold_pct"], "2");
    let rows = body["rows"].as_array().unwrap();
    assert_eq!(rows.len(), want.len(), "{body}");
    // The stand-in's list prices (nano-dollars per token × 1M), exactly.
    let list: BTreeMap<(&str, &str), &str> = [
        (("gpt-4o-2024-08-06", "input"), "2.50"),
        (("gpt-4o-2024-08-06", "cached_input"), "1.25"),
        (("gpt-4o-2024-08-06", "output"), "10.00"),
        (("gpt-4o-mini-2024-07-18", "input"), "0.15"),
        (("gpt-4o-mini-2024-07-18", "cached_input"), "0.075"),
        (("gpt-4o-mini-2024-07-18", "output"), "0.60"),
        (("gpt-4.1-2025-04-14", "input"), "2.00"),
        (("gpt-4.1-2025-04-14", "cached_input"), "0.50"),
        (("gpt-4.1-2025-04-14", "output"), "8.00"),
        (("o4-mini-2025-04-16", "input"), "1.10"),
        (("o4-mini-2025-04-16", "cached_input"), "0.275"),
        (("o4-mini-2025-04-16", "output"), "4.40"),
        (("text-embedding-3-small", "input"), "0.02"),
    ]
    .into_iter()
    .collect();
    for row in rows {
        let model = row["model"].as_str().unwrap();
        let class = row["token_class"].as_str().unwrap();
        let (day, nanos, tokens) = &want[&(model.to_owned(), class.to_owned())];
        assert_eq!(row["provider"], "openai");
        assert_eq!(row["day"].as_str().unwrap(), day, "{row}");
        assert_eq!(
            row["billed_cost"].as_str().unwrap(),
            Money::from_nanos(i64::try_from(*nanos).unwrap()).to_exact_string(),
            "{row}"
        );
        let stored: i64 = ["input", "cache_read", "cache_write", "output"]
            .iter()
            .map(|k| row["tokens"][k].as_i64().unwrap())
            .sum();
        assert_eq!(stored, i64::try_from(*tokens).unwrap(), "{row}");
        assert_eq!(row["observed_per_1m"], list[&(model, class)], "{row}");
        if model == "gpt-4o-mini-2024-07-18" && class == "input" {
            // (0.15 − 0.16) ÷ 0.16 = −6.25 % → −6.3, beyond 2 %, against the user's price.
            assert_eq!(row["catalog_per_1m"], "0.16");
            assert_eq!(row["catalog_source"], "user");
            assert_eq!(row["drift_pct"], "-6.3");
            assert_eq!(row["drifted"], true);
        } else {
            assert_eq!(row["catalog_per_1m"], list[&(model, class)], "{row}");
            assert_eq!(row["drift_pct"], "0.0", "{row}");
            assert_eq!(row["drifted"], false, "{row}");
        }
    }
    assert_eq!(body["drifted"], 1);
    // A billed model without a price is a new model, with its billed cost.
    assert_eq!(
        body["new_models"],
        json!([{"provider": "openai", "provider_name": "OpenAI", "model": "gpt-house-x", "billed_cost": "1.00"}])
    );
    // A stricter threshold is the caller's; a bad one is refused.
    let (status, strict) = app
        .call(
            reqwest::Method::GET,
            "/api/v1/prices/observed?threshold=7",
            None,
        )
        .await;
    assert_eq!((status, strict["drifted"].as_i64()), (200, Some(0)));
    let (status, _) = app
        .call(
            reqwest::Method::GET,
            "/api/v1/prices/observed?threshold=abc",
            None,
        )
        .await;
    assert_eq!(status, 400);

    // In the catalog: one observed entry per model (its latest day), read-only, that never
    // prices a call — the user's entry still prices gpt-4o-mini.
    let (_, listed) = app
        .call(
            reqwest::Method::GET,
            "/api/v1/prices?provenance=observed",
            None,
        )
        .await;
    let entries = listed["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 5, "{listed}");
    let mini = entries
        .iter()
        .find(|e| e["model"] == "gpt-4o-mini-2024-07-18")
        .unwrap();
    assert_eq!(
        (&mini["input"], &mini["cache_read"], &mini["output"]),
        (&json!("0.15"), &json!("0.075"), &json!("0.6")),
        "{mini}"
    );
    let day = &want[&("gpt-4o-mini-2024-07-18".to_owned(), "input".to_owned())].0;
    assert_eq!(mini["effective_from"].as_str().unwrap(), day);
    assert_eq!(mini["effective_to"].as_str().unwrap(), day);
    let (status, _) = app
        .call(
            reqwest::Method::DELETE,
            &format!("/api/v1/prices/{}", mini["id"]),
            None,
        )
        .await;
    assert!(
        (400..500).contains(&status),
        "observed entries are read-only"
    );
    let (_, check) = app
        .call(
            reqwest::Method::GET,
            &format!("/api/v1/prices/check?provider=openai&model=gpt-4o-mini-2024-07-18&input=1000000&at={day}"),
            None,
        )
        .await;
    assert_eq!(check["status"], "priced", "{check}");
    assert_eq!(check["entry"]["id"], user_id, "{check}");
    assert_eq!(check["cost"], "0.16", "{check}");

    // The page shows the comparison with the drift flagged, and the new model.
    let page = app.page("/cost/pricing").await;
    let part = &page[page.find("id=\"observed-prices\"").unwrap()..];
    let part = &part[..part.find("</section>").unwrap()];
    assert!(part.contains("1 price drifted beyond 2 %"), "{part}");
    assert!(
        part.contains("<code>gpt-4o-mini-2024-07-18</code>")
            && part.contains("$0.15")
            && part.contains("$0.16")
            && part.contains("-6.3 %"),
        "{part}"
    );
    let hint = &page[page.find("unpriced-hint").unwrap()..];
    let hint = &hint[..hint.find("</div>").unwrap()];
    assert!(
        hint.contains("New model, no price")
            && hint.contains("gpt-house-x")
            && hint.contains("$1.00"),
        "{hint}"
    );

    // A price_drift rule fires on the bill's drift beyond its threshold, once.
    let (status, body) = app
        .call(
            reqwest::Method::POST,
            "/api/v1/alerts/rules",
            Some(json!({"name": "bill drift", "kind": "price_drift", "threshold": "5"})),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let drift = spendlens_web::alerts::DriftFacts::default();
    spendlens_web::alerts::evaluate::evaluate_org(&app.state, app.org, &drift, true)
        .await
        .unwrap();
    spendlens_web::alerts::evaluate::evaluate_org(&app.state, app.org, &drift, true)
        .await
        .unwrap();
    let (_, history) = app
        .call(reqwest::Method::GET, "/api/v1/alerts/history", None)
        .await;
    let firings = history["firings"].as_array().unwrap();
    assert_eq!(firings.len(), 1, "{history}");
    assert_eq!(
        firings[0]["subject"].as_str().unwrap(),
        format!("openai/gpt-4o-mini-2024-07-18 input, billed {day}")
    );
    assert_eq!(firings[0]["value"], "-6.3");
    assert!(
        firings[0]["message"]
            .as_str()
            .unwrap()
            .contains("the price billed for model openai/gpt-4o-mini-2024-07-18 input"),
        "{}",
        firings[0]
    );

    app.fake.shutdown().await;
    app.test.teardown().await;
}
