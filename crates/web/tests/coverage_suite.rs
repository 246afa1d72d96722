//! Coverage through the real server on a random port (SQLite, or PostgreSQL with
//! `SPENDLENS_TEST_DATABASE_URL`): a known bill (OpenAI with three keys and key-less spend,
//! Anthropic without any metered traffic) and known metered traffic (a matched model, a model
//! priced at twice the billed price, an unpriced fine-tuned name, failed calls, calls on a day
//! the bill is not final for) — then every ratio and every cause amount of
//! `GET /api/v1/coverage` is checked exactly, with the Providers report's coverage column and
//! the CSV.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a failing test should stop loudly

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use spendlens_domain::{
    ApiKeyRecord, Category, ConnectionStatus, CostLine, Currency, DayRange, FixedClock, KeyStatus,
    Money, PriceCatalog, ProviderKind, Quantity, TokenCounts, Unit,
};
use spendlens_providers::HttpSettings;
use spendlens_store::Role;
use spendlens_store::testing::TestStore;
use spendlens_store::vault::Vault;
use spendlens_store::{ConnectionId, NewConnection, OrgId, Store, WindowWrite};
use spendlens_sync::{SyncEngine, SyncSettings};
use spendlens_web::dashboard::session::hash_password;
use time::macros::datetime;

const NOW: time::OffsetDateTime = datetime!(2026-12-04 12:00 UTC);
const PASSWORD: &str = "correct horse battery staple";
/// The key the application sends for key_a (the meter keeps only its hint).
const KEY_A: &str = "sk-proj-abcdefghijklmnopqrstuvwxyz1234";

struct App {
    base: String,
    token: String,
    ingest: String,
    client: reqwest::Client,
    test: TestStore,
}

fn line(day: &str, key: Option<&str>, model: &str, dollars: &str, tokens: i64) -> CostLine {
    CostLine {
        day: day.parse().unwrap(),
        workspace_id: None,
        api_key_id: key.map(str::to_owned),
        model: model.to_owned(),
        category: Category::Text,
        unit: Unit::tokens(),
        detail: String::new(),
        tokens: TokenCounts {
            input: tokens,
            output: 0,
            cache_read: 0,
            cache_write: 0,
        },
        requests: Some(10),
        quantity: Quantity::ZERO,
        cost: Money::parse_units(dollars).unwrap(),
        credits: Money::ZERO,
        currency: Currency::usd(),
        estimated: false,
        allocated: false,
        billing: None,
        unpriced: false,
    }
}

fn key(id: &str, name: &str, hint: &str) -> ApiKeyRecord {
    ApiKeyRecord {
        provider_id: id.to_owned(),
        name: Some(name.to_owned()),
        hint: Some(hint.to_owned()),
        workspace_id: None,
        status: KeyStatus::Active,
        created_at: None,
        last_used_at: None,
    }
}

/// A connection with a bill, synced through `NOW`'s day (final through the day before).
async fn billed(
    engine: &SyncEngine,
    org: OrgId,
    provider: ProviderKind,
    secret: &str,
    keys: &[ApiKeyRecord],
    lines: &[CostLine],
) -> ConnectionId {
    let store = engine.store();
    let credential = spendlens_domain::Credential::parse(provider, secret).unwrap();
    let id = store
        .create_connection(
            org,
            NewConnection {
                name: provider.as_str(),
                credential: &credential,
                base_url: Some("http://127.0.0.1:9"),
                sync_interval_secs: 3600,
                backfill_days: 90,
                lookback_days: Some(3),
            },
            engine.vault(),
            NOW,
        )
        .await
        .unwrap()
        .id;
    let window = DayRange::new("2026-11-01".parse().unwrap(), "2026-12-04".parse().unwrap());
    store
        .replace_window(WindowWrite {
            invoice_months: None,
            org,
            connection: id,
            window: window.unwrap(),
            workspaces: &[],
            api_keys: keys,
            api_keys_complete: true,
            lines,
            now: NOW,
        })
        .await
        .unwrap();
    store
        .record_sync_outcome(
            org,
            id,
            ConnectionStatus::Connected,
            None,
            Some("2026-12-04".parse().unwrap()),
            false,
            None,
            NOW,
            None,
        )
        .await
        .unwrap();
    id
}

impl App {
    async fn start() -> App {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let test = TestStore::new().await.unwrap();
        let store: Store = test.store.clone();
        let org = store.ensure_default_org(NOW).await.unwrap();
        let engine = SyncEngine::new(
            store.clone(),
            Vault::from_key([3; 32]),
            PriceCatalog::built_in(),
            Arc::new(FixedClock::new(NOW)),
            SyncSettings {
                lease: Duration::from_secs(60),
                http: HttpSettings::default(),
                owner: "coverage-test".into(),
                allowed_base_url_hosts: Vec::new(),
            },
        );
        billed(
            &engine,
            org,
            ProviderKind::OpenAi,
            "sk-admin-coveragetestkeyxxxxxxxxxxxxxxxxx",
            &[
                key("key_a", "app", "sk-proj-abc...1234"),
                key("key_b", "evals", "sk-proj-bbb...bbbb"),
                key("key_c", "notebook", "sk-proj-ccc...cccc"),
            ],
            &[
                line(
                    "2026-11-30",
                    Some("key_a"),
                    "gpt-4o-mini",
                    "10.00",
                    1_000_000,
                ),
                line("2026-11-30", Some("key_a"), "gpt-4o", "5.00", 100_000),
                line("2026-11-30", Some("key_b"), "gpt-4.1", "3.00", 300_000),
                line("2026-11-30", Some("key_c"), "gpt-4o-mini", "4.00", 400_000),
                line("2026-11-30", None, "gpt-4o-mini", "1.00", 100_000),
                // The day the bill is not final for yet.
                line("2026-12-04", Some("key_a"), "gpt-4o-mini", "0.50", 50_000),
            ],
        )
        .await;
        let mut anthropic = line(
            "2026-11-29",
            Some("apikey_01ant"),
            "claude-sonnet-4-5",
            "7.00",
            70_000,
        );
        anthropic.requests = None;
        billed(
            &engine,
            org,
            ProviderKind::Anthropic,
            "sk-ant-admin01-coveragetestkeyxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx-xxxxxxAA",
            &[key("apikey_01ant", "prod", "sk-ant-api03-AAA...AAAA")],
            &[anthropic],
        )
        .await;
        let token = store.create_api_token(org, "t", NOW).await.unwrap().secret;
        let hash = hash_password(PASSWORD).unwrap();
        store
            .create_user(org, "viewer@example.com", &hash, Role::Viewer, NOW)
            .await
            .unwrap();
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
            .bearer_auth(&token)
            .json(&json!({"name": "coverage suite"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let ingest = created["secret"].as_str().unwrap().to_owned();
        App {
            base,
            token,
            ingest,
            client,
            test,
        }
    }

    async fn get(&self, path: &str) -> (u16, String) {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    }

    async fn json(&self, path: &str) -> Value {
        let (status, body) = self.get(path).await;
        assert_eq!(status, 200, "{path}: {body}");
        serde_json::from_str(&body).unwrap()
    }

    /// Signs in as the viewer and returns the session cookie.
    async fn sign_in(&self) -> String {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let page = client
            .get(format!("{}/login", self.base))
            .send()
            .await
            .unwrap();
        let login_cookie = cookie_of(&page, "spendlens_login_csrf");
        let html = page.text().await.unwrap();
        let marker = "name=\"csrf\" value=\"";
        let start = html.find(marker).unwrap() + marker.len();
        let csrf = &html[start..start + html[start..].find('"').unwrap()];
        let response = client
            .post(format!("{}/login", self.base))
            .header("cookie", format!("spendlens_login_csrf={login_cookie}"))
            .form(&[
                ("email", "viewer@example.com"),
                ("password", PASSWORD),
                ("csrf", csrf),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 303, "sign-in failed");
        format!(
            "spendlens_session={}",
            cookie_of(&response, "spendlens_session")
        )
    }

    async fn page(&self, cookie: &str, path: &str) -> String {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .header("cookie", cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 200, "{path}");
        response.text().await.unwrap()
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

/// Known metered traffic, with reported costs so every amount is exact by construction.
fn events() -> Value {
    json!([
        // 90 % of key_a's gpt-4o-mini tokens at the billed price ($10 per 1M).
        {"id": "mini-1", "time": "2026-11-30T10:00:00Z", "provider": "openai", "model": "gpt-4o-mini",
         "tokens": {"input": 600000, "output": 0}, "cost": "6.00", "api_key": KEY_A},
        {"id": "mini-2", "time": "2026-11-30T11:00:00Z", "provider": "openai", "model": "gpt-4o-mini",
         "tokens": {"input": 300000, "output": 0}, "cost": "3.00", "api_key": KEY_A},
        // 90 % of key_a's gpt-4o tokens at twice the billed price ($50 per 1M).
        {"id": "4o-1", "time": "2026-11-30T12:00:00Z", "provider": "openai", "model": "openai/gpt-4o",
         "tokens": {"input": 90000, "output": 0}, "cost": "9.00", "api_key": KEY_A},
        // key_b's gpt-4.1, reported under a fine-tuned name nobody prices: 90 % of its tokens.
        {"id": "ft-1", "time": "2026-11-30T13:00:00Z", "provider": "openai", "model": "ft:gpt-4.1:acme:grader:x1",
         "tokens": {"input": 270000, "output": 0}, "api_key": "key_b"},
        // Failed calls the meter priced.
        {"id": "fail-1", "time": "2026-11-30T14:00:00Z", "provider": "openai", "model": "gpt-4o-mini",
         "tokens": {"input": 20000, "output": 0}, "cost": "0.20", "status": "error", "api_key": KEY_A},
        // Today: the bill is not final yet.
        {"id": "today-1", "time": "2026-12-04T09:00:00Z", "provider": "openai", "model": "gpt-4o-mini",
         "tokens": {"input": 80000, "output": 0}, "cost": "0.80", "api_key": KEY_A}
    ])
}

fn cookie_of(response: &reqwest::Response, name: &str) -> String {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| {
            let (key, value) = v.split(';').next()?.split_once('=')?;
            (key == name && !value.is_empty()).then(|| value.to_owned())
        })
        .unwrap_or_else(|| panic!("no cookie {name}"))
}

fn cause<'a>(provider: &'a Value, name: &str) -> &'a Value {
    provider["causes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["cause"] == name)
        .unwrap_or_else(|| panic!("no cause {name}: {provider}"))
}

fn provider<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["providers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["provider"] == name)
        .unwrap_or_else(|| panic!("no provider {name}: {report}"))
}

fn by<'a>(rows: &'a Value, field: &str, value: &str) -> &'a Value {
    rows.as_array()
        .unwrap()
        .iter()
        .find(|r| r[field] == value)
        .unwrap_or_else(|| panic!("no {field} = {value}: {rows}"))
}

#[tokio::test]
async fn coverage_ratios_and_causes_are_exact() {
    let app = App::start().await;
    // Before any metered traffic: the column and the card say N/A, not 0 %.
    let providers = app
        .json("/api/v1/reports/providers?from=2026-11-25&to=2026-12-04")
        .await;
    assert_eq!(providers["coverage_pct"], Value::Null, "{providers}");
    app.send(&events()).await;
    let report = app
        .json("/api/v1/coverage?from=2026-11-25&to=2026-12-04")
        .await;

    let openai = provider(&report, "openai");
    assert_eq!(openai["complete_through"], "2026-12-03");
    assert_eq!(
        openai["lag"],
        json!({"from": "2026-12-04", "to": "2026-12-04"})
    );
    assert_eq!(openai["join"], "key_and_model");
    // Over the final days: billed 10 + 5 + 3 + 4 + 1, metered 6 + 3 + 9 + 0.20.
    assert_eq!(openai["billed_cost"], "23.00");
    assert_eq!(openai["metered_cost"], "18.20");
    assert_eq!(openai["coverage_pct"], "79.1");
    assert_eq!(openai["billed_tokens"], 1_900_000);
    assert_eq!(openai["metered_tokens"], 1_280_000);
    assert_eq!(openai["token_coverage_pct"], "67.4");
    assert_eq!(openai["billed_requests"], 50);
    assert_eq!(openai["metered_calls"], 5);
    // The whole period, and the gap split: billed = metered + Σ causes.
    assert_eq!(openai["period_billed_cost"], "23.50");
    assert_eq!(openai["period_metered_cost"], "19.00");
    for (name, amount, rows) in [
        ("unmetered_keys", "5.00", 2),
        ("price_drift", "-4.50", 1),
        ("unpriced_models", "2.70", 1),
        ("failed_calls", "-0.20", 1),
        ("billing_lag", "-0.30", 1),
        ("unexplained", "1.80", 3),
    ] {
        let c = cause(openai, name);
        assert_eq!(c["amount"], amount, "{name}: {c}");
        assert_eq!(c["rows"].as_array().unwrap().len(), rows, "{name}: {c}");
    }
    assert_eq!(
        cause(openai, "billing_lag")["rows"][0]["key_name"],
        Value::Null
    );
    let unmetered = &cause(openai, "unmetered_keys")["rows"];
    assert_eq!(by(unmetered, "key", "key_c")["amount"], "4.00");
    assert_eq!(by(unmetered, "key_name", "notebook")["amount"], "4.00");
    assert_eq!(
        by(unmetered, "key_name", "(spend no key carries)")["amount"],
        "1.00"
    );
    let drift = &cause(openai, "price_drift")["rows"][0];
    assert_eq!(drift["model"], "gpt-4o");
    assert_eq!(drift["billed_per_1m"], "50.00");
    assert_eq!(drift["metered_per_1m"], "100.00");
    let unpriced = &cause(openai, "unpriced_models")["rows"][0];
    assert_eq!(unpriced["key_name"], "evals");
    assert_eq!(unpriced["model"], "gpt-4.1");
    let unexplained = &cause(openai, "unexplained")["rows"];
    assert_eq!(by(unexplained, "model", "gpt-4o-mini")["amount"], "1.00");
    assert_eq!(by(unexplained, "model", "gpt-4o")["amount"], "0.50");
    assert_eq!(by(unexplained, "model", "gpt-4.1")["amount"], "0.30");
    // Per key (the metered key's hint matched key_a's) and per model.
    let keys = &openai["keys"];
    let a = by(keys, "provider_key_id", "key_a");
    assert_eq!(
        (a["billed_cost"].clone(), a["metered_cost"].clone()),
        (json!("15.00"), json!("18.20"))
    );
    assert_eq!(a["coverage_pct"], "121.3");
    assert_eq!(by(keys, "provider_key_id", "key_b")["coverage_pct"], "0.0");
    assert_eq!(
        by(keys, "provider_key_id", "key_b")["token_coverage_pct"],
        "90.0"
    );
    assert_eq!(by(keys, "provider_key_id", "key_c")["coverage_pct"], "0.0");
    let mini = by(&openai["models"], "model", "gpt-4o-mini");
    assert_eq!(mini["billed_cost"], "15.00");
    assert_eq!(mini["metered_cost"], "9.20");
    assert_eq!(mini["coverage_pct"], "61.3");
    assert_eq!(
        by(&openai["models"], "model", "gpt-4o")["coverage_pct"],
        "180.0"
    );

    // Day by day: every day of the period; the final days with their ratio (N/A where nothing
    // was billed), today — whose bill is not final — lag, never 0 %.
    let days = openai["days"].as_array().unwrap();
    assert_eq!(days.len(), 10, "{}", openai["days"]);
    let day = |d: &str| by(&openai["days"], "day", d).clone();
    let nov30 = day("2026-11-30");
    assert_eq!(
        [
            &nov30["status"],
            &nov30["billed_cost"],
            &nov30["metered_cost"],
            &nov30["coverage_pct"],
            &nov30["token_coverage_pct"]
        ],
        [
            &json!("comparable"),
            &json!("23.00"),
            &json!("18.20"),
            &json!("79.1"),
            &json!("67.4")
        ]
    );
    let nov29 = day("2026-11-29");
    assert_eq!(
        [
            &nov29["status"],
            &nov29["billed_cost"],
            &nov29["coverage_pct"]
        ],
        [&json!("comparable"), &json!("0.00"), &Value::Null]
    );
    let dec4 = day("2026-12-04");
    assert_eq!(
        [
            &dec4["status"],
            &dec4["billed_cost"],
            &dec4["metered_cost"],
            &dec4["coverage_pct"],
            &dec4["token_coverage_pct"]
        ],
        [
            &json!("lag"),
            &json!("0.50"),
            &json!("0.80"),
            &Value::Null,
            &Value::Null
        ]
    );
    // The final days add up to the period's ratio, the lag days to the lag.
    let sum = |status: &str, field: &str| -> Money {
        days.iter()
            .filter(|d| d["status"] == status)
            .map(|d| Money::parse_units(d[field].as_str().unwrap()).unwrap())
            .sum()
    };
    assert_eq!(sum("comparable", "billed_cost").to_exact_string(), "23.00");
    assert_eq!(sum("comparable", "metered_cost").to_exact_string(), "18.20");
    assert_eq!(
        (sum("lag", "billed_cost") - sum("lag", "metered_cost")).to_exact_string(),
        "-0.30"
    );

    // A provider with no metered traffic: 0 %, all of it under unmetered keys; its request
    // counts are unknown, not zero.
    let anthropic = provider(&report, "anthropic");
    assert_eq!(anthropic["coverage_pct"], "0.0");
    assert_eq!(anthropic["billed_requests"], Value::Null);
    assert_eq!(cause(anthropic, "unmetered_keys")["amount"], "7.00");
    assert_eq!(cause(anthropic, "unexplained")["amount"], "0.00");

    assert_eq!(report["billed_cost"], "30.50");
    assert_eq!(report["metered_cost"], "19.00");
    assert_eq!(report["total"]["coverage_pct"], "60.7");

    // The Providers view: the column per provider and the total behind the card.
    let providers = app
        .json("/api/v1/reports/providers?from=2026-11-25&to=2026-12-04")
        .await;
    assert_eq!(providers["coverage_pct"], "60.7");
    assert_eq!(
        by(&providers["rows"], "provider", "openai")["coverage_pct"],
        "79.1"
    );
    assert_eq!(
        by(&providers["rows"], "provider", "openai")["complete_through"],
        "2026-12-03"
    );
    // The API Keys and Models views carry the column too.
    let keys = app
        .json("/api/v1/reports/keys?from=2026-11-25&to=2026-12-04")
        .await;
    assert_eq!(
        by(&keys["rows"], "key_name", "app")["coverage_pct"],
        "121.3"
    );
    assert_eq!(
        by(&keys["rows"], "key_name", "notebook")["coverage_pct"],
        "0.0"
    );
    assert_eq!(by(&keys["rows"], "key_name", "prod")["coverage_pct"], "0.0");
    let models = app
        .json("/api/v1/reports/models?from=2026-11-25&to=2026-12-04")
        .await;
    assert_eq!(
        by(&models["rows"], "model", "gpt-4o")["coverage_pct"],
        "180.0"
    );
    assert_eq!(
        by(&models["rows"], "model", "gpt-4.1")["coverage_pct"],
        "0.0"
    );
    let (status, csv) = app
        .get("/api/v1/reports/keys?from=2026-11-25&to=2026-12-04&format=csv")
        .await;
    assert_eq!(status, 200);
    assert!(
        csv.lines()
            .any(|l| l.starts_with("app,") && l.ends_with(",121.3%")),
        "{csv}"
    );
    let (status, csv) = app
        .get("/api/v1/reports/providers?from=2026-11-25&to=2026-12-04&format=csv")
        .await;
    assert_eq!(status, 200);
    assert!(csv.contains("Coverage %"), "{csv}");
    assert!(
        csv.lines()
            .any(|l| l.starts_with("OpenAI,") && l.ends_with(",79.1%")),
        "{csv}"
    );

    // One provider, as CSV: the waterfall's steps with exact amounts.
    let (status, csv) = app
        .get("/api/v1/coverage?from=2026-11-25&to=2026-12-04&provider=openai&format=csv")
        .await;
    assert_eq!(status, 200, "{csv}");
    for expected in [
        "provider,openai,,,,23.00,18.20,79.1,1900000,1280000,67.4,50,",
        "waterfall,openai,,,billed,,,,,,,,23.50",
        "waterfall,openai,,,price_drift,,,,,,,,-4.50",
        "waterfall,openai,,,metered,,,,,,,,19.00",
        "day,openai,,,comparable,23.00,18.20,79.1,1900000,1280000,67.4,,,2026-11-30",
        "day,openai,,,comparable,0.00,0.00,N/A,0,0,N/A,,,2026-11-29",
        "day,openai,,,lag,0.50,0.80,N/A,50000,80000,N/A,,,2026-12-04",
    ] {
        assert!(csv.lines().any(|l| l == expected), "{expected} in\n{csv}");
    }
    assert!(!csv.contains("anthropic"), "{csv}");
    assert!(
        !csv.contains("abcdefghijklmnop"),
        "the full key leaked: {csv}"
    );

    // The Providers page: the column, the card and the waterfall with every step.
    let cookie = app.sign_in().await;
    let html = app
        .page(&cookie, "/providers?from=2026-11-25&to=2026-12-04")
        .await;
    assert!(html.contains("data-coverage"), "{html}");
    assert!(html.contains(">60.7%<"), "the card: {html}");
    assert!(html.contains(">79.1%<"), "the OpenAI cell: {html}");
    for title in [
        "<title>Billed: $30.50</title>",
        "<title>Unmetered keys: -$12.00</title>",
        "<title>Price drift: $4.50</title>",
        "<title>Unpriced models: -$2.70</title>",
        "<title>Failed calls: $0.20</title>",
        "<title>Billing lag: $0.30</title>",
        "<title>Unexplained: -$1.80</title>",
        "<title>Metered: $19.00</title>",
    ] {
        assert!(html.contains(title), "{title} in the waterfall: {html}");
    }
    assert!(
        html.contains("Not metered at all (every dollar under unmetered keys): Anthropic."),
        "{html}"
    );
    assert!(
        html.contains("<td>Price drift</td><td>OpenAI</td><td></td><td>gpt-4o</td>"),
        "{html}"
    );
    assert!(
        html.contains("calls naming neither count under no workspace"),
        "{html}"
    );
    // Coverage per day: 30 Nov at 79.1 %, 4 Dec — whose bill is not final — as lag, not 0 %.
    assert!(html.contains("data-coverage-days"), "{html}");
    assert!(
        html.contains("<title>2026-11-30: 79.1% — metered $18.20 of billed $23.00</title>"),
        "{html}"
    );
    assert!(
        html.contains(
            "class=\"cov-lag\"><title>2026-12-04: lag — the bill is not final yet (OpenAI, Anthropic)</title>"
        ),
        "{html}"
    );
    assert!(!html.contains("<title>2026-12-04: 0"), "{html}");

    // Bad input says what to fix.
    let (status, body) = app.get("/api/v1/coverage?period=last-year").await;
    assert_eq!(status, 400, "{body}");
    let (status, body) = app.get("/api/v1/coverage?format=xml").await;
    assert_eq!(status, 400, "{body}");
    app.test.teardown().await;
}
