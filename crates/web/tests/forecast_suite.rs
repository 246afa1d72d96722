//! Forecasts and anomalies through the real server on a random port (SQLite, or PostgreSQL
//! with `SPENDLENS_TEST_DATABASE_URL`): a known bill (OpenAI in one workspace with a spike of
//! gpt-4o on the last complete day, AWS Bedrock whose bill is final two days later, fal.ai
//! with a prepaid balance in its notes) and known metered calls (a customer whose last day
//! costs more per call and adds a dearer model; a customer with three days of history) — then
//! every projected figure, trend, credit balance, anomaly and its volume / price / mix split is
//! checked exactly in the JSON, the CSV and the dashboard (Providers view and Cost → Forecasts).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a failing test should stop loudly

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use spendlens_domain::{
    ApiKeyRecord, Category, ConnectionStatus, CostLine, Currency, Day, DayRange, FixedClock,
    KeyStatus, Money, PriceCatalog, ProviderKind, Quantity, TokenCounts, Unit, WorkspaceRecord,
};
use spendlens_providers::HttpSettings;
use spendlens_store::testing::TestStore;
use spendlens_store::vault::Vault;
use spendlens_store::{NewConnection, OrgId, Role, Store, WindowWrite};
use spendlens_sync::{SyncEngine, SyncSettings};
use spendlens_web::dashboard::session::hash_password;
use time::macros::datetime;

/// A Wednesday: the last complete day is Tuesday 2026-12-15.
const NOW: time::OffsetDateTime = datetime!(2026-12-16 12:00 UTC);
const PASSWORD: &str = "correct horse battery staple";

struct App {
    base: String,
    token: String,
    client: reqwest::Client,
    org: OrgId,
    test: TestStore,
}

fn day(text: &str) -> Day {
    text.parse().unwrap()
}

fn days(from: &str, to: &str) -> Vec<Day> {
    DayRange::new(day(from), day(to)).unwrap().days().collect()
}

fn line(
    day: Day,
    workspace: Option<&str>,
    key: Option<&str>,
    model: &str,
    dollars: &str,
    tokens: i64,
) -> CostLine {
    CostLine {
        day,
        workspace_id: workspace.map(str::to_owned),
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

fn key(id: &str, name: &str) -> ApiKeyRecord {
    ApiKeyRecord {
        provider_id: id.to_owned(),
        name: Some(name.to_owned()),
        hint: None,
        workspace_id: Some("proj_main".to_owned()),
        status: KeyStatus::Active,
        created_at: None,
        last_used_at: None,
    }
}

struct Bill<'a> {
    provider: ProviderKind,
    secret: &'a str,
    workspaces: Vec<WorkspaceRecord>,
    keys: Vec<ApiKeyRecord>,
    lines: Vec<CostLine>,
    notes: Option<&'a str>,
}

/// A connection with a bill, synced through `NOW`'s day.
async fn billed(engine: &SyncEngine, org: OrgId, bill: Bill<'_>) {
    let store = engine.store();
    let credential = spendlens_domain::Credential::parse(bill.provider, bill.secret).unwrap();
    let id = store
        .create_connection(
            org,
            NewConnection {
                name: bill.provider.as_str(),
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
    store
        .replace_window(WindowWrite {
            invoice_months: None,
            org,
            connection: id,
            window: DayRange::new(day("2026-11-01"), day("2026-12-16")).unwrap(),
            workspaces: &bill.workspaces,
            api_keys: &bill.keys,
            api_keys_complete: true,
            lines: &bill.lines,
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
            Some(day("2026-12-16")),
            false,
            bill.notes,
            NOW,
            None,
        )
        .await
        .unwrap();
}

fn openai_lines() -> Vec<CostLine> {
    let ws = Some("proj_main");
    let mut lines = Vec::new();
    for d in days("2026-11-01", "2026-12-15") {
        lines.push(line(d, ws, Some("key_a"), "gpt-4o-mini", "10", 1_000_000));
        if d == day("2026-12-15") {
            // The spike: key_b twice its calls at the same price, and key_c new on gpt-4o.
            lines.push(line(d, ws, Some("key_b"), "gpt-4o", "10", 200_000));
            lines.push(line(d, ws, Some("key_c"), "gpt-4o", "10", 100_000));
        } else {
            lines.push(line(d, ws, Some("key_b"), "gpt-4o", "5", 100_000));
        }
    }
    // Today: not complete, never read as zero nor as the day's spend.
    lines.push(line(
        day("2026-12-16"),
        ws,
        Some("key_a"),
        "gpt-4o-mini",
        "3",
        300_000,
    ));
    lines
}

fn bedrock_lines() -> Vec<CostLine> {
    days("2026-11-20", "2026-12-15")
        .into_iter()
        .map(|d| {
            let mut l = line(d, None, None, "anthropic.claude-3-haiku", "7", 700_000);
            l.credits = Money::parse_units("1").unwrap();
            l.requests = None;
            l
        })
        .collect()
}

/// Metered calls: acme 20 calls a day at $0.10 from 2026-11-10; on 2026-12-15 its calls cost
/// $0.15 and 10 gpt-4o calls at $0.50 join; one call today; globex from 2026-12-13 only.
fn events() -> Value {
    let mut out = Vec::new();
    for d in days("2026-11-10", "2026-12-15") {
        let price = if d == day("2026-12-15") {
            "0.15"
        } else {
            "0.10"
        };
        for i in 0..20 {
            out.push(json!({"id": format!("acme-{d}-{i}"), "time": format!("{d}T10:00:00Z"),
                "provider": "openai", "model": "gpt-4o-mini", "tokens": {"input": 1000, "output": 100},
                "cost": price, "customer": "acme"}));
        }
    }
    for i in 0..10 {
        out.push(
            json!({"id": format!("acme-4o-{i}"), "time": "2026-12-15T11:00:00Z",
            "provider": "openai", "model": "gpt-4o", "tokens": {"input": 1000, "output": 100},
            "cost": "0.50", "customer": "acme"}),
        );
    }
    out.push(json!({"id": "acme-today", "time": "2026-12-16T09:00:00Z", "provider": "openai",
        "model": "gpt-4o-mini", "tokens": {"input": 1000, "output": 100}, "cost": "1.00", "customer": "acme"}));
    for d in days("2026-12-13", "2026-12-15") {
        out.push(json!({"id": format!("globex-{d}"), "time": format!("{d}T10:00:00Z"), "provider": "openai",
            "model": "gpt-4o-mini", "tokens": {"input": 1000, "output": 100}, "cost": "3.00", "customer": "globex"}));
    }
    Value::Array(out)
}

fn engine(store: &Store) -> SyncEngine {
    SyncEngine::new(
        store.clone(),
        Vault::from_key([3; 32]),
        PriceCatalog::built_in(),
        Arc::new(FixedClock::new(NOW)),
        SyncSettings {
            lease: Duration::from_secs(60),
            http: HttpSettings::default(),
            owner: "forecast-test".into(),
            allowed_base_url_hosts: Vec::new(),
        },
    )
}

/// Serves a server of its own over `engine`'s store on a random port; its base URL. Its
/// Providers page waits for the forecast read however long it takes (a loaded CI machine must
/// not turn a panel these tests check into the pending one).
async fn serve(engine: SyncEngine) -> String {
    serve_with(
        engine,
        spendlens_web::WebSettings {
            forecast_panel_wait: Duration::from_secs(120),
            ..spendlens_web::WebSettings::default()
        },
    )
    .await
}

/// [`serve`] with `settings`.
async fn serve_with(engine: SyncEngine, settings: spendlens_web::WebSettings) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let router = spendlens_web::router(spendlens_web::AppState::with_settings(engine, settings));
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
        let store: Store = test.store.clone();
        let org = store.ensure_default_org(NOW).await.unwrap();
        let engine = engine(&store);
        billed(
            &engine,
            org,
            Bill {
                provider: ProviderKind::OpenAi,
                secret: "sk-admin-forecasttestkeyxxxxxxxxxxxxxxxxx",
                workspaces: vec![WorkspaceRecord {
                    provider_id: "proj_main".to_owned(),
                    name: "Main project".to_owned(),
                    archived: false,
                    created_at: None,
                }],
                keys: vec![
                    key("key_a", "app"),
                    key("key_b", "evals"),
                    key("key_c", "batch"),
                ],
                lines: openai_lines(),
                notes: None,
            },
        )
        .await;
        billed(&engine, org, Bill {
            provider: ProviderKind::Bedrock,
            secret: r#"{"accessKeyId": "AKIAABCDEFGHIJKLMNOP", "secretAccessKey": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "region": "us-east-1"}"#,
            workspaces: vec![],
            keys: vec![],
            lines: bedrock_lines(),
            notes: None,
        })
        .await;
        billed(&engine, org, Bill {
            provider: ProviderKind::Fal,
            secret: "6f1c2a4e-1111-2222-3333-444455556666:0123456789abcdef0123456789abcdef",
            workspaces: vec![],
            keys: vec![],
            lines: days("2026-11-01", "2026-12-15")
                .into_iter()
                .map(|d| line(d, None, None, "fal-ai/flux/dev", "4", 0))
                .collect(),
            notes: Some("fal.ai prepaid credit balance at sync time: $100.00 USD. This is what is left."),
        })
        .await;
        let token = store.create_api_token(org, "t", NOW).await.unwrap().secret;
        let hash = hash_password(PASSWORD).unwrap();
        store
            .create_user(org, "viewer@example.com", &hash, Role::Viewer, NOW)
            .await
            .unwrap();
        let base = serve(engine).await;
        let app = App {
            base,
            token,
            client: reqwest::Client::new(),
            org,
            test,
        };
        let created = app
            .request(
                reqwest::Method::POST,
                "/api/v1/ingest-keys",
                Some(json!({"name": "forecast suite"})),
            )
            .await;
        let ingest = created.1["secret"].as_str().unwrap().to_owned();
        let response = app
            .client
            .post(format!("{}/api/v1/meter/events", app.base))
            .bearer_auth(&ingest)
            .json(&events())
            .send()
            .await
            .unwrap();
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["rejected"], 0, "{body}");
        app
    }

    async fn request(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
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

    async fn json(&self, path: &str) -> Value {
        let (status, body) = self.request(reqwest::Method::GET, path, None).await;
        assert_eq!(status, 200, "{path}: {body}");
        body
    }

    async fn text(&self, path: &str, cookie: Option<&str>) -> String {
        self.text_at(&self.base, path, cookie).await
    }

    /// [`App::text`] from the server at `base` (another server over the same store).
    async fn text_at(&self, base: &str, path: &str, cookie: Option<&str>) -> String {
        let mut request = self.client.get(format!("{base}{path}"));
        request = match cookie {
            Some(cookie) => request.header("cookie", cookie),
            None => request.bearer_auth(&self.token),
        };
        let response = request.send().await.unwrap();
        assert_eq!(response.status().as_u16(), 200, "{path}");
        response.text().await.unwrap()
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
        let csrf = csrf_of(&html);
        let response = client
            .post(format!("{}/login", self.base))
            .header("cookie", format!("spendlens_login_csrf={login_cookie}"))
            .form(&[
                ("email", "viewer@example.com"),
                ("password", PASSWORD),
                ("csrf", &csrf),
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
}

fn csrf_of(html: &str) -> String {
    let marker = "name=\"csrf\" value=\"";
    let start = html.find(marker).unwrap() + marker.len();
    html[start..start + html[start..].find('"').unwrap()].to_owned()
}

fn cookie_of(response: &reqwest::Response, name: &str) -> String {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix(&format!("{name}=")))
        .and_then(|v| v.split(';').next())
        .map(str::to_owned)
        .unwrap_or_else(|| panic!("no cookie {name}"))
}

fn find<'a>(list: &'a Value, scope: &str, label: &str) -> &'a Value {
    list.as_array()
        .unwrap()
        .iter()
        .find(|f| f["scope"] == scope && f["label"] == label)
        .unwrap_or_else(|| panic!("no {scope} {label} in {list:#}"))
}

#[tokio::test]
async fn forecasts_project_the_month_from_complete_days_only_and_say_when_history_is_short() {
    let app = App::start().await;
    let report = app.json("/api/v1/forecasts").await;
    let all = &report["forecasts"];

    // OpenAI: complete through Dec 15; Dec 9–14 at $15 and Dec 15 at $30 → $120 over 7 days.
    let openai = find(all, "provider", "OpenAI");
    assert_eq!(openai["status"], "ok");
    assert_eq!(openai["complete_through"], "2026-12-15");
    assert_eq!(openai["trailing_7d"], "120.00");
    assert_eq!(openai["daily_rate"], "17.142857143");
    assert_eq!(openai["month_to_date"], "240.00");
    assert_eq!(openai["incomplete_recorded"], "3.00");
    assert_eq!(openai["remaining_days"], 16);
    assert_eq!(openai["projected_month_end"], "514.285714286");
    assert_eq!(openai["previous_7d"], "105.00");
    assert_eq!(openai["trend"], "increasing");
    assert_eq!(openai["trend_pct"], "14.3");
    assert_eq!(openai["estimated"], true);
    // The workspace holds all of OpenAI's spend: the same figures.
    let workspace = find(all, "workspace", "Main project");
    assert_eq!(workspace["projected_month_end"], "514.285714286");
    let gpt4o = find(all, "model", "gpt-4o (OpenAI)");
    assert_eq!(gpt4o["trailing_7d"], "50.00");

    // Bedrock's bill is final two days later: complete through Dec 13, Dec 14–15 projected.
    let bedrock = find(all, "provider", "AWS Bedrock");
    assert_eq!(bedrock["complete_through"], "2026-12-13");
    assert_eq!(bedrock["daily_rate"], "7.00");
    assert_eq!(bedrock["month_to_date"], "91.00");
    assert_eq!(bedrock["incomplete_recorded"], "14.00");
    assert_eq!(bedrock["remaining_days"], 18);
    assert_eq!(bedrock["projected_month_end"], "217.00");
    assert_eq!(bedrock["trend"], "stable");

    // Metered customers: complete through yesterday.
    let acme = find(all, "customer", "acme");
    assert_eq!(acme["source"], "metered");
    assert_eq!(acme["trailing_7d"], "20.00");
    assert_eq!(acme["month_to_date"], "36.00");
    assert_eq!(acme["incomplete_recorded"], "1.00");
    assert_eq!(acme["projected_month_end"], "81.714285714");
    assert_eq!(acme["trend"], "increasing");
    let globex = find(all, "customer", "globex");
    assert_eq!(globex["status"], "insufficient_history");
    assert_eq!(globex["projected_month_end"], Value::Null);
    assert!(
        globex["reason"]
            .as_str()
            .unwrap()
            .starts_with("3 complete day(s)"),
        "{globex}"
    );

    // The organization: the sum of its providers (fal: $4 a day → $124).
    assert_eq!(
        find(all, "provider", "fal.ai")["projected_month_end"],
        "124.00"
    );
    assert_eq!(report["total"]["projected_month_end"], "855.285714286");
    assert_eq!(report["total"]["left_out"], json!([]));

    // Credits: fal's prepaid $100 at $4 a day lasts 25 days; Bedrock's remaining credit is unknown.
    let credits = report["credits"].as_array().unwrap();
    let fal = credits.iter().find(|c| c["provider"] == "fal").unwrap();
    assert_eq!(fal["balance"], "100.00");
    assert_eq!(fal["daily_rate"], "4.00");
    assert_eq!(fal["days_left"], 25);
    assert_eq!(fal["exhausted_on"], "2027-01-10");
    let aws = credits.iter().find(|c| c["provider"] == "bedrock").unwrap();
    assert_eq!(aws["kind"], "cloud_credits");
    assert_eq!(aws["balance"], Value::Null);
    assert_eq!(aws["credits_applied"], "26.00");
    assert!(
        aws["missing"]
            .as_str()
            .unwrap()
            .contains("not the credit balance")
    );

    // One scope; a bad one is a 400 saying what to use.
    let only = app.json("/api/v1/forecasts?scope=customer").await;
    assert!(
        only["forecasts"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["scope"] == "customer")
    );
    let (status, body) = app
        .request(reqwest::Method::GET, "/api/v1/forecasts?scope=planet", None)
        .await;
    assert_eq!(status, 400, "{body}");

    // CSV: the same figures, N/A where unknown.
    let csv = app.text("/api/v1/forecasts?format=csv", None).await;
    assert!(csv.contains("provider,OpenAI,billed,ok,2026-12-15,2026-11-01,120.00,17.142857143,240.00,3.00,16,514.285714286,120.00,105.00,increasing,14.3,"), "{csv}");
    assert!(
        csv.contains("customer,globex,metered,N/A: insufficient history"),
        "{csv}"
    );
    assert!(
        csv.contains("organization,all providers,billed,ok,,,,"),
        "{csv}"
    );
    assert!(csv.contains("fal,fal,prepaid_balance,100.00,"), "{csv}");
}

#[tokio::test]
async fn anomalies_are_explained_by_volume_price_and_mix_that_add_up() {
    let app = App::start().await;
    let report = app.json("/api/v1/anomalies").await;
    let list = &report["anomalies"];
    let labels: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["label"].as_str().unwrap())
        .collect();
    assert_eq!(
        labels,
        ["Main project", "gpt-4o (OpenAI)", "acme", "evals · OpenAI"],
        "{report:#}"
    );

    let model = find(list, "model", "gpt-4o (OpenAI)");
    assert_eq!(model["day"], "2026-12-15");
    assert_eq!(model["weekday"], "Tuesday");
    assert_eq!(
        model["baseline_days"],
        json!(["2026-12-08", "2026-12-01", "2026-11-24", "2026-11-17"])
    );
    assert_eq!(model["current_daily"], "20.00");
    assert_eq!(model["baseline_daily"], "5.00");
    assert_eq!(model["deviation_pct"], "300.0");
    assert_eq!(model["direction"], "spike");
    assert_eq!(
        (
            model["volume"].as_str(),
            model["price"].as_str(),
            model["mix"].as_str()
        ),
        (Some("10.00"), Some("0.00"), Some("5.00"))
    );
    assert_eq!(model["detected_at"], "2026-12-16T12:00:00Z");
    assert_eq!(model["drivers"][0]["label"], "batch · Main project");
    assert_eq!(model["drivers"][0]["change"], "10.00");

    let workspace = find(list, "workspace", "Main project");
    assert_eq!(workspace["volume"], "2.727272727");
    assert_eq!(workspace["mix"], "12.272727273");
    assert_eq!(workspace["price"], "0.00");
    assert_eq!(workspace["model"], "gpt-4o");

    let acme = find(list, "customer", "acme");
    assert_eq!(acme["current_daily"], "8.00");
    assert_eq!(acme["baseline_daily"], "2.00");
    assert_eq!(acme["deviation_pct"], "300.0");
    assert_eq!(
        (
            acme["volume"].as_str(),
            acme["price"].as_str(),
            acme["mix"].as_str()
        ),
        (Some("1.00"), Some("1.00"), Some("4.00"))
    );
    assert_eq!(acme["volume_unit"], "tokens");
    assert_eq!(acme["current_volume"], 33000);
    assert_eq!(acme["detected_at"], "2026-12-16T00:00:00Z");
    assert_eq!(acme["model"], "gpt-4o");

    let key = find(list, "key", "evals · OpenAI");
    assert_eq!(key["deviation_pct"], "100.0");
    assert_eq!(
        (key["volume"].as_str(), key["mix"].as_str()),
        (Some("5.00"), Some("0.00"))
    );
    // key_c (new on the day) and globex have too little history to test.
    assert!(report["insufficient_history"].as_u64().unwrap() >= 2);

    // A scope's own threshold (admin token) beats the global one; removing it restores it.
    let key_id = key["id"].as_str().unwrap().to_owned();
    let (status, body) = app
        .request(
            reqwest::Method::PUT,
            "/api/v1/anomaly-thresholds",
            Some(json!({"scope": "key", "id": key_id, "threshold_pct": "150"})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let after = app.json("/api/v1/anomalies").await;
    assert_eq!(after["anomalies"].as_array().unwrap().len(), 3, "{after:#}");
    let (status, _) = app
        .request(
            reqwest::Method::PUT,
            "/api/v1/anomaly-thresholds",
            Some(json!({"scope": "key", "id": key_id, "threshold_pct": "-3"})),
        )
        .await;
    assert_eq!(status, 400);
    let (status, _) = app
        .request(
            reqwest::Method::DELETE,
            &format!("/api/v1/anomaly-thresholds?scope=key&id={key_id}"),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        app.json("/api/v1/anomalies").await["anomalies"]
            .as_array()
            .unwrap()
            .len(),
        4
    );
    // The global threshold for one request: 300 % is not ≥ 350 %.
    let high = app.json("/api/v1/anomalies?threshold=350").await;
    assert_eq!(high["anomalies"], json!([]));
    let (status, _) = app
        .request(reqwest::Method::GET, "/api/v1/anomalies?weeks=0", None)
        .await;
    assert_eq!(status, 400);

    let csv = app.text("/api/v1/anomalies?format=csv", None).await;
    assert!(csv.contains("anomaly,customer,acme,gpt-4o,2026-12-15,8.00,2.00,6.00,300.0,spike,50,global,2026-12-16T00:00:00Z,1.00,1.00,4.00,tokens,,"), "{csv}");
    assert!(
        csv.contains("driver,customer,acme,,2026-12-15,5.00,0.00,5.00,"),
        "{csv}"
    );

    // Every mutation is audited.
    let audit = app.test.store.audit_entries(app.org, 10).await.unwrap();
    assert!(audit.iter().any(|e| e.action == "anomaly_threshold.set"));
    assert!(audit.iter().any(|e| e.action == "anomaly_threshold.remove"));

    // Routes are documented.
    let doc = app.json("/api/v1/openapi.json").await;
    for path in ["/forecasts", "/anomalies", "/anomaly-thresholds"] {
        assert!(doc["paths"][path].is_object(), "{path} not documented");
    }
}

#[tokio::test]
async fn the_dashboard_shows_forecast_cards_and_explained_anomalies() {
    let app = App::start().await;
    let cookie = app.sign_in().await;
    let providers = app.text("/providers", Some(&cookie)).await;
    assert!(providers.contains("data-forecast>"), "no forecast panel");
    assert!(providers.contains("Projected month-end spend"));
    assert!(providers.contains("$855.29"), "total projection");
    assert!(providers.contains("OpenAI · month end"));
    assert!(providers.contains("$514.29"));
    assert!(providers.contains("data-anomaly=\"customer:acme\""));
    assert!(providers.contains("volume <span data-part=\"volume\">+$1.00</span> · price <span data-part=\"price\">+$1.00</span> · mix <span data-part=\"mix\">+$4.00</span>"), "acme's split");

    let page = app.text("/cost/forecast", Some(&cookie)).await;
    assert!(page.contains("data-forecast=\"customer:globex\""));
    assert!(page.contains("N/A: 3 complete day(s) of history"));
    assert!(page.contains("data-forecast=\"provider:AWS Bedrock\""));
    assert!(page.contains("$217.00"));
    assert!(page.contains("2027-01-10 (in 25 days, estimated)"));
    assert!(
        page.contains("+300.0 %"),
        "{}",
        &page[page.find("data-anomalies").unwrap_or(0)..]
    );
    // Viewers read but do not see the threshold form, and a post is refused.
    assert!(!page.contains("action=\"/cost/forecast/thresholds\""));
    let csrf = csrf_of(&page);
    let refused = app
        .client
        .post(format!("{}/cost/forecast/thresholds", app.base))
        .header("cookie", &cookie)
        .form(&[
            ("csrf", csrf.as_str()),
            ("scope", "global"),
            ("threshold_pct", "10"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status().as_u16(), 403);

    let csv = app
        .text("/cost/forecast/export?report=anomalies", Some(&cookie))
        .await;
    assert!(csv.starts_with("# spendlens report: anomalies"));
}

/// The forecast panel of a Providers page.
fn panel(page: &str) -> &str {
    let start = page.find("data-forecast>").expect("a forecast panel");
    let end = start + page[start..].find("</section>").unwrap();
    &page[start..end]
}

#[tokio::test]
async fn after_a_sync_the_providers_page_shows_the_new_bill_as_a_fresh_server_does() {
    let app = App::start().await;
    let cookie = app.sign_in().await;
    let before = app.text("/providers", Some(&cookie)).await;
    assert!(panel(&before).contains("$514.29"), "{}", panel(&before));

    // An hourly sync of OpenAI: its look-back window, where key_a's last complete days now cost
    // twice as much.
    let store = &app.test.store;
    let openai = store
        .list_connections(app.org)
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.provider == ProviderKind::OpenAi)
        .unwrap()
        .id;
    let window = DayRange::new(day("2026-12-13"), day("2026-12-16")).unwrap();
    let lines: Vec<CostLine> = openai_lines()
        .into_iter()
        .filter(|l| window.contains(l.day))
        .map(|mut l| {
            if l.api_key_id.as_deref() == Some("key_a") && l.day < day("2026-12-16") {
                l.cost = Money::parse_units("20").unwrap();
            }
            l
        })
        .collect();
    store
        .replace_window(WindowWrite {
            invoice_months: None,
            org: app.org,
            connection: openai,
            window,
            workspaces: &[WorkspaceRecord {
                provider_id: "proj_main".to_owned(),
                name: "Main project".to_owned(),
                archived: false,
                created_at: None,
            }],
            api_keys: &[
                key("key_a", "app"),
                key("key_b", "evals"),
                key("key_c", "batch"),
            ],
            api_keys_complete: true,
            lines: &lines,
            now: NOW,
        })
        .await
        .unwrap();

    // The server that showed the old bill shows the new one, exactly as a server that never
    // kept anything does: the page and the JSON.
    let after = app.text("/providers", Some(&cookie)).await;
    assert!(!panel(&after).contains("$514.29"), "{}", panel(&after));
    let fresh = serve(engine(store)).await;
    let fresh_page = app.text_at(&fresh, "/providers", Some(&cookie)).await;
    assert_eq!(panel(&after), panel(&fresh_page));
    for path in ["/api/v1/forecasts", "/api/v1/anomalies"] {
        assert_eq!(
            app.text(path, None).await,
            app.text_at(&fresh, path, None).await,
            "{path}"
        );
    }
}

#[tokio::test]
async fn a_forecast_read_still_running_does_not_hold_the_providers_page() {
    let app = App::start().await;
    let cookie = app.sign_in().await;
    let waited = app.text("/providers", Some(&cookie)).await;

    // A server that never waits for the read (as when it takes longer than the page waits):
    // the page says the read is running, and the panel it then hands over is the one a page
    // that waited shows.
    let hurried = serve_with(
        engine(&app.test.store),
        spendlens_web::WebSettings {
            forecast_panel_wait: Duration::ZERO,
            ..spendlens_web::WebSettings::default()
        },
    )
    .await;
    let page = app.text_at(&hurried, "/providers", Some(&cookie)).await;
    assert!(page.contains("data-forecast-pending"), "no pending panel");
    assert!(
        !page.contains("data-forecast>"),
        "the page waited for the read"
    );
    assert!(page.contains("Forecasts and anomalies are being read"));
    // The rest of the page is there: the cost table and the coverage panel.
    assert!(page.contains("OpenAI"));

    let fragment = app
        .client
        .get(format!("{hurried}/cost/forecast/panel"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(fragment.status().as_u16(), 200);
    assert_eq!(fragment.headers()["x-spendlens-part"], "forecast-panel");
    assert_eq!(fragment.headers()["cache-control"], "no-store");
    let fragment = fragment.text().await.unwrap();
    assert_eq!(panel(&fragment), panel(&waited));

    // Signed out, the answer is not the panel (the script stops on a missing part header).
    let anonymous = app
        .client
        .get(format!("{hurried}/cost/forecast/panel"))
        .send()
        .await
        .unwrap();
    assert!(anonymous.headers().get("x-spendlens-part").is_none());
    assert!(!anonymous.text().await.unwrap().contains("data-forecast>"));
}
