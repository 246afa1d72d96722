//! Coverage per workspace through the real server on a random port (SQLite, or PostgreSQL with
//! `SPENDLENS_TEST_DATABASE_URL`): OpenAI projects (one renamed here, joined by its id; one
//! reached through its name and through a key's project) and Bedrock accounts (no keys on the
//! bill: joined by workspace and model), with known metered traffic — every workspace's ratio
//! checked exactly in `GET /api/v1/coverage`, its CSV, the Workspaces report (JSON, CSV, page);
//! and the OpenAPI document describes every field `/coverage` answers with.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a failing test should stop loudly

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use spendlens_domain::{
    ApiKeyRecord, Category, ConnectionStatus, CostLine, Currency, DayRange, FixedClock, KeyStatus,
    Money, PriceCatalog, ProviderKind, Quantity, TokenCounts, Unit, WorkspaceRecord,
};
use spendlens_providers::HttpSettings;
use spendlens_store::testing::TestStore;
use spendlens_store::vault::Vault;
use spendlens_store::{NewConnection, OrgId, Role, WindowWrite};
use spendlens_sync::{SyncEngine, SyncSettings};
use spendlens_web::dashboard::session::hash_password;
use time::macros::datetime;

const NOW: time::OffsetDateTime = datetime!(2026-12-04 12:00 UTC);
const PASSWORD: &str = "correct horse battery staple";
const PERIOD: &str = "from=2026-11-25&to=2026-12-04";

fn line(workspace: &str, key: Option<&str>, model: &str, dollars: &str, tokens: i64) -> CostLine {
    CostLine {
        day: "2026-11-30".parse().unwrap(),
        workspace_id: Some(workspace.to_owned()),
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
        requests: None,
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

fn workspace(id: &str, name: &str) -> WorkspaceRecord {
    WorkspaceRecord {
        provider_id: id.to_owned(),
        name: name.to_owned(),
        archived: false,
        created_at: None,
    }
}

fn key(id: &str, workspace: &str) -> ApiKeyRecord {
    ApiKeyRecord {
        provider_id: id.to_owned(),
        name: Some(id.to_owned()),
        hint: None,
        workspace_id: Some(workspace.to_owned()),
        status: KeyStatus::Active,
        created_at: None,
        last_used_at: None,
    }
}

struct Bill {
    provider: ProviderKind,
    secret: &'static str,
    workspaces: Vec<WorkspaceRecord>,
    keys: Vec<ApiKeyRecord>,
    lines: Vec<CostLine>,
}

async fn billed(engine: &SyncEngine, org: OrgId, bill: Bill) {
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
            org,
            connection: id,
            window: DayRange::new("2026-11-01".parse().unwrap(), "2026-12-04".parse().unwrap())
                .unwrap(),
            workspaces: &bill.workspaces,
            api_keys: &bill.keys,
            api_keys_complete: true,
            lines: &bill.lines,
            invoice_months: None,
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
}

struct App {
    base: String,
    token: String,
    ingest: String,
    client: reqwest::Client,
    test: TestStore,
}

impl App {
    async fn start() -> App {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let test = TestStore::new().await.unwrap();
        let store = test.store.clone();
        let org = store.ensure_default_org(NOW).await.unwrap();
        let engine = SyncEngine::new(
            store.clone(),
            Vault::from_key([5; 32]),
            PriceCatalog::built_in(),
            Arc::new(FixedClock::new(NOW)),
            SyncSettings {
                lease: Duration::from_secs(60),
                http: HttpSettings::default(),
                owner: "coverage-workspace-test".into(),
                allowed_base_url_hosts: Vec::new(),
            },
        );
        billed(
            &engine,
            org,
            Bill {
                provider: ProviderKind::OpenAi,
                secret: "sk-admin-coverageworkspacekeyxxxxxxxxxxxx",
                workspaces: vec![
                    workspace("proj_search", "Search"),
                    workspace("proj_billing", "Billing"),
                ],
                keys: vec![key("key_s", "proj_search"), key("key_b", "proj_billing")],
                lines: vec![
                    line(
                        "proj_search",
                        Some("key_s"),
                        "gpt-4o-mini",
                        "10.00",
                        1_000_000,
                    ),
                    line(
                        "proj_billing",
                        Some("key_b"),
                        "gpt-4o-mini",
                        "6.00",
                        600_000,
                    ),
                ],
            },
        )
        .await;
        billed(
            &engine,
            org,
            Bill {
                provider: ProviderKind::Bedrock,
                secret: r#"{"accessKeyId": "AKIAABCDEFGHIJKLMNOP", "secretAccessKey": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "region": "us-east-1"}"#,
                workspaces: vec![
                    workspace("111111111111", "prod-account"),
                    workspace("222222222222", "dev-account"),
                ],
                keys: vec![],
                lines: vec![
                    line("111111111111", None, "claude-sonnet-4", "8.00", 800_000),
                    line("222222222222", None, "claude-sonnet-4", "2.00", 200_000),
                ],
            },
        )
        .await;
        // The Search project is renamed here after the events were sent with its id.
        let search = store
            .list_workspaces(org)
            .await
            .unwrap()
            .into_iter()
            .find(|w| w.provider_id == "proj_search")
            .unwrap();
        store
            .rename_workspace(
                org,
                search.id,
                "Search (prod)",
                spendlens_store::Actor {
                    name: "admin@example.com",
                    at: NOW,
                },
            )
            .await
            .unwrap();
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
            .json(&json!({"name": "workspace coverage suite"}))
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

    async fn get(&self, path: &str) -> String {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 200, "{path}");
        response.text().await.unwrap()
    }

    async fn json(&self, path: &str) -> Value {
        serde_json::from_str(&self.get(path).await).unwrap()
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

    /// The viewer's session cookie.
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

/// Known metered traffic (reported costs, so every amount is exact by construction).
fn events() -> Value {
    let call = |id: &str, provider: &str, model: &str, tokens: i64, cost: &str| {
        json!({"id": id, "time": "2026-11-30T10:00:00Z", "provider": provider, "model": model,
               "tokens": {"input": tokens, "output": 0}, "cost": cost})
    };
    let with = |mut event: Value, field: &str, value: &str| {
        event[field] = json!(value);
        event
    };
    json!([
        // Search, by its project id (renamed here since): $9 of $10.
        with(
            with(
                call("s1", "openai", "gpt-4o-mini", 900_000, "9.00"),
                "workspace",
                "proj_search"
            ),
            "api_key",
            "key_s"
        ),
        // Billing through key_b's project (no workspace sent) and by its name (no key): $3 + $1.
        with(
            call("b1", "openai", "gpt-4o-mini", 300_000, "3.00"),
            "api_key",
            "key_b"
        ),
        with(
            call("b2", "openai", "gpt-4o-mini", 100_000, "1.00"),
            "workspace",
            "billing"
        ),
        // Bedrock has no keys: the prod account fully metered, the dev account not at all.
        with(
            call("p1", "bedrock", "claude-sonnet-4", 800_000, "8.00"),
            "workspace",
            "111111111111"
        ),
    ])
}

fn by<'a>(rows: &'a Value, field: &str, value: &str) -> &'a Value {
    rows.as_array()
        .unwrap()
        .iter()
        .find(|r| r[field] == value)
        .unwrap_or_else(|| panic!("no {field} = {value}: {rows}"))
}

fn provider<'a>(report: &'a Value, name: &str) -> &'a Value {
    by(&report["providers"], "provider", name)
}

#[tokio::test]
async fn every_workspace_has_its_exact_coverage_and_renamed_ones_still_join() {
    let app = App::start().await;
    app.send(&events()).await;
    let report = app.json(&format!("/api/v1/coverage?{PERIOD}")).await;

    let openai = provider(&report, "openai");
    assert_eq!(openai["join"], "key_and_model");
    let spaces = &openai["workspaces"];
    assert_eq!(spaces.as_array().unwrap().len(), 2, "{spaces}");
    let search = by(spaces, "provider_workspace_id", "proj_search");
    assert_eq!(search["workspace_name"], "Search (prod)");
    assert_eq!(
        [
            &search["billed_cost"],
            &search["metered_cost"],
            &search["coverage_pct"]
        ],
        [&json!("10.00"), &json!("9.00"), &json!("90.0")]
    );
    assert_eq!(search["token_coverage_pct"], "90.0");
    let billing = by(spaces, "provider_workspace_id", "proj_billing");
    assert_eq!(
        [
            &billing["billed_cost"],
            &billing["metered_cost"],
            &billing["coverage_pct"]
        ],
        [&json!("6.00"), &json!("4.00"), &json!("66.7")]
    );

    // Bedrock bills no keys: joined by account and model, the dev account unmetered.
    let bedrock = provider(&report, "bedrock");
    assert_eq!(bedrock["join"], "workspace_and_model");
    assert_eq!(bedrock["coverage_pct"], "80.0");
    let prod = by(
        &bedrock["workspaces"],
        "provider_workspace_id",
        "111111111111",
    );
    assert_eq!(
        [
            &prod["billed_cost"],
            &prod["metered_cost"],
            &prod["coverage_pct"]
        ],
        [&json!("8.00"), &json!("8.00"), &json!("100.0")]
    );
    let dev = by(
        &bedrock["workspaces"],
        "provider_workspace_id",
        "222222222222",
    );
    assert_eq!(dev["coverage_pct"], "0.0");
    let unmetered = by(&bedrock["causes"], "cause", "unmetered_keys");
    assert_eq!(unmetered["amount"], "2.00");
    let row = &unmetered["rows"][0];
    assert_eq!(
        [&row["key"], &row["key_name"], &row["amount"]],
        [
            &json!("222222222222"),
            &json!("workspace dev-account"),
            &json!("2.00")
        ]
    );
    assert_eq!(
        by(&bedrock["causes"], "cause", "unexplained")["amount"],
        "0.00"
    );

    // The CSV has a row per workspace.
    let csv = app
        .get(&format!("/api/v1/coverage?{PERIOD}&format=csv"))
        .await;
    for expected in [
        "workspace,openai,Search (prod) (proj_search),,,10.00,9.00,90.0,1000000,900000,90.0,N/A,",
        "workspace,openai,Billing (proj_billing),,,6.00,4.00,66.7,600000,400000,66.7,N/A,",
        "workspace,bedrock,dev-account (222222222222),,,2.00,0.00,0.0,200000,0,0.0,N/A,",
    ] {
        assert!(csv.lines().any(|l| l == expected), "{expected} in\n{csv}");
    }

    // The Workspaces view: a coverage column per row (display names, merged by name).
    let view = app
        .json(&format!("/api/v1/reports/workspaces?{PERIOD}"))
        .await;
    for (name, pct) in [
        ("Search (prod)", "90.0"),
        ("Billing", "66.7"),
        ("prod-account", "100.0"),
        ("dev-account", "0.0"),
    ] {
        assert_eq!(
            by(&view["rows"], "workspace", name)["coverage_pct"],
            pct,
            "{name}"
        );
    }
    let sorted = app
        .json(&format!(
            "/api/v1/reports/workspaces?{PERIOD}&sort=coverage&order=asc"
        ))
        .await;
    assert_eq!(sorted["rows"][0]["workspace"], "dev-account");
    let csv = app
        .get(&format!("/api/v1/reports/workspaces?{PERIOD}&format=csv"))
        .await;
    assert!(csv.contains("Coverage %"), "{csv}");
    assert!(
        csv.lines()
            .any(|l| l.starts_with("Search (prod),") && l.ends_with(",90.0%")),
        "{csv}"
    );
    let cookie = app.sign_in().await;
    let html = app
        .client
        .get(format!("{}/workspaces?{PERIOD}", app.base))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains(">66.7%<"), "the Billing cell: {html}");

    // The OpenAPI document describes every field of the answer, down to each day.
    assert_eq!(
        provider(&report, "openai")["days"]
            .as_array()
            .unwrap()
            .len(),
        10
    );
    let doc = app.json("/api/v1/openapi.json").await;
    let schema = &doc["paths"]["/coverage"]["get"]["responses"]["200"]["content"]["application/json"]
        ["schema"];
    let mut missing = Vec::new();
    undocumented(&report, schema, "$", &mut missing);
    assert!(
        missing.is_empty(),
        "not in the OpenAPI schema: {missing:#?}"
    );
    app.test.teardown().await;
}

/// Each place where `value` has a field `schema` does not declare, or a JSON type it does not
/// allow.
fn undocumented(value: &Value, schema: &Value, at: &str, out: &mut Vec<String>) {
    let allowed: Vec<&str> = match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    let kind = match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    };
    if schema.get("const").is_none()
        && !allowed.contains(&kind)
        && !(kind == "integer" && allowed.contains(&"number"))
    {
        out.push(format!(
            "{at}: a {kind}, the schema says {:?}",
            schema["type"]
        ));
        return;
    }
    match value {
        Value::Object(fields) => {
            for (name, field) in fields {
                match schema["properties"].get(name) {
                    Some(s) => undocumented(field, s, &format!("{at}.{name}"), out),
                    None => out.push(format!("{at}.{name}")),
                }
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                undocumented(item, &schema["items"], &format!("{at}[{i}]"), out);
            }
        }
        _ => {}
    }
}
