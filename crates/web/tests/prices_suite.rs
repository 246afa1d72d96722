//! The price catalog through the real server on a random port: the JSON API (list, check,
//! add, edit, delete, errors) and the dashboard's Cost → Model pricing page (filters, the
//! unpriced-models hint, forms that show their errors, delete behind a confirmation, roles,
//! audit). SQLite, or PostgreSQL with `SPENDLENS_TEST_DATABASE_URL`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a failing test should stop loudly

use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use serde_json::{Value, json};
use spendlens_domain::{
    Category, CostLine, Currency, DayRange, Money, PriceCatalog, ProviderKind, Quantity,
    TokenCounts, Unit,
};
use spendlens_providers::HttpSettings;
use spendlens_store::testing::TestStore;
use spendlens_store::vault::Vault;
use spendlens_store::{NewConnection, OrgId, Role, WindowWrite};
use spendlens_sync::{FixedClock, SyncEngine, SyncSettings};
use spendlens_web::dashboard::session::hash_password;
use time::macros::datetime;

const PASSWORD: &str = "correct horse battery staple";

struct App {
    base: String,
    token: String,
    engine: SyncEngine,
    org: OrgId,
    test: TestStore,
}

fn line(model: &str) -> CostLine {
    CostLine {
        day: "2026-11-20".parse().unwrap(),
        workspace_id: None,
        api_key_id: None,
        model: model.to_owned(),
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
    }
}

impl App {
    async fn start() -> App {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let test = TestStore::new().await.unwrap();
        let engine = SyncEngine::new(
            test.store.clone(),
            Vault::from_key([7; 32]),
            PriceCatalog::built_in(),
            Arc::new(FixedClock::new(datetime!(2026-11-22 10:00 UTC))),
            SyncSettings {
                lease: Duration::from_secs(60),
                http: HttpSettings::default(),
                owner: "prices-test".into(),
                allowed_base_url_hosts: Vec::new(),
            },
        );
        let store = engine.store();
        let now = engine.now();
        let org = store.ensure_default_org(now).await.unwrap();
        let credential = spendlens_domain::Credential::parse(
            ProviderKind::OpenAi,
            "sk-admin-pricestestkeyxxxxxxxxxxxxxxxxxxx",
        )
        .unwrap();
        let connection = store
            .create_connection(
                org,
                NewConnection {
                    name: "openai-prod",
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
                connection,
                window: DayRange::new("2026-11-01".parse().unwrap(), "2026-11-22".parse().unwrap())
                    .unwrap(),
                workspaces: &[],
                api_keys: &[],
                api_keys_complete: false,
                lines: &[line("gpt-4o"), line("gpt-house-x")],
                now,
            })
            .await
            .unwrap();
        for (email, role) in [
            ("admin@example.com", Role::Admin),
            ("viewer@example.com", Role::Viewer),
        ] {
            store
                .create_user(org, email, &hash_password(PASSWORD).unwrap(), role, now)
                .await
                .unwrap();
        }
        let token = store.create_api_token(org, "t", now).await.unwrap().secret;
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
            engine,
            org,
            test,
        }
    }

    async fn api(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut request = reqwest::Client::new()
            .request(method, format!("{}/api/v1{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn audit_actions(&self) -> Vec<String> {
        self.engine
            .store()
            .audit_entries(self.org, 100)
            .await
            .unwrap()
            .into_iter()
            .map(|e| format!("{} {} {}", e.action, e.subject, e.detail))
            .collect()
    }
}

struct Browser {
    client: reqwest::Client,
    base: String,
    cookie: String,
    csrf: String,
}

fn cookie_of(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| {
            let (key, value) = v.split(';').next()?.split_once('=')?;
            (key == name && !value.is_empty()).then(|| value.to_owned())
        })
}

fn csrf_in(html: &str) -> String {
    let marker = "name=\"csrf\" value=\"";
    let start = html.find(marker).expect("a csrf field") + marker.len();
    html[start..start + html[start..].find('"').unwrap()].to_owned()
}

impl Browser {
    async fn login(base: &str, email: &str) -> Browser {
        let mut browser = Browser {
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            base: base.to_owned(),
            cookie: String::new(),
            csrf: String::new(),
        };
        let response = browser
            .client
            .get(format!("{base}/login"))
            .send()
            .await
            .unwrap();
        let login_cookie = cookie_of(&response, "spendlens_login_csrf").unwrap();
        let csrf = csrf_in(&response.text().await.unwrap());
        browser.cookie = format!("spendlens_login_csrf={login_cookie}");
        let response = browser
            .post(
                "/login",
                &[("email", email), ("password", PASSWORD), ("csrf", &csrf)],
            )
            .await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "login failed");
        browser.cookie = format!(
            "spendlens_session={}",
            cookie_of(&response, "spendlens_session").unwrap()
        );
        browser.csrf = csrf_in(&browser.get("/cost/pricing").await.1);
        browser
    }

    async fn get(&self, path: &str) -> (StatusCode, String) {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .header(COOKIE, &self.cookie)
            .send()
            .await
            .unwrap();
        (response.status(), response.text().await.unwrap())
    }

    async fn post(&self, path: &str, pairs: &[(&str, &str)]) -> reqwest::Response {
        let mut form: Vec<(&str, &str)> = pairs.to_vec();
        if !pairs.iter().any(|(k, _)| *k == "csrf") {
            form.push(("csrf", &self.csrf));
        }
        self.client
            .post(format!("{}{path}", self.base))
            .header(COOKIE, &self.cookie)
            .form(&form)
            .send()
            .await
            .unwrap()
    }
}

#[tokio::test]
async fn the_api_lists_checks_adds_edits_and_deletes_prices() {
    let app = App::start().await;
    use reqwest::Method;
    let (status, list) = app.api(Method::GET, "/prices", None).await;
    assert_eq!(status, 200);
    assert!(list["count"].as_u64().unwrap() > 100, "{}", list["count"]);
    let (_, anthropic) = app
        .api(
            Method::GET,
            "/prices?provider=anthropic&search=sonnet",
            None,
        )
        .await;
    let entries = anthropic["entries"].as_array().unwrap();
    assert!(!entries.is_empty());
    assert!(entries.iter().all(|e| e["provider"] == "anthropic"
        && e["model"].as_str().unwrap().contains("sonnet")
        && e["editable"] == false));
    let (status, bad) = app.api(Method::GET, "/prices?provider=azure", None).await;
    assert_eq!(status, 400, "{bad}");

    let check = "/prices/check?provider=openai&model=gpt-4o-mini-2024-07-18&input=1000000&output=1000000&at=2026-11-01";
    let (status, priced) = app.api(Method::GET, check, None).await;
    assert_eq!(status, 200);
    assert_eq!(priced["status"], "priced", "{priced}");
    assert_eq!(priced["cost"], "0.75");
    assert_eq!(priced["entry"]["provenance"], "built_in");
    let (_, unpriced) = app
        .api(
            Method::GET,
            "/prices/check?provider=openai&model=gpt-house-x&input=10",
            None,
        )
        .await;
    assert_eq!(unpriced["status"], "unpriced");
    assert_eq!(unpriced["cost"], Value::Null, "unpriced is not $0");
    assert_eq!(unpriced["reason"], "unknown_model");
    let (status, bad) = app
        .api(
            Method::GET,
            "/prices/check?provider=openai&model=x&input=-5",
            None,
        )
        .await;
    assert_eq!(status, 400);
    assert!(
        bad["error"]["message"]
            .as_str()
            .unwrap()
            .contains("negative"),
        "{bad}"
    );

    let body = json!({"provider": "openai", "model": "gpt-4o-mini*", "input": "0.1", "output": "0.2",
        "effective_from": "2026-10-01", "source": "contract 2026-10"});
    let (status, added) = app.api(Method::POST, "/prices", Some(body.clone())).await;
    assert_eq!(status, 201, "{added}");
    assert_eq!(added["provenance"], "user");
    assert_eq!(added["editable"], true);
    let id = added["id"].as_i64().unwrap();
    let (status, dup) = app.api(Method::POST, "/prices", Some(body.clone())).await;
    assert_eq!(status, 409, "{dup}");
    let mut negative = body.clone();
    negative["input"] = json!("-1");
    let (status, err) = app.api(Method::POST, "/prices", Some(negative)).await;
    assert_eq!(status, 400);
    assert!(
        err["error"]["message"]
            .as_str()
            .unwrap()
            .contains("negative"),
        "{err}"
    );
    let (status, err) = app
        .api(Method::POST, "/prices", Some(json!({"provider": "openai", "model": "m", "inptu": "1", "effective_from": "2026-01-01", "source": "x"})))
        .await;
    assert_eq!(status, 400);
    assert!(
        err["error"]["message"].as_str().unwrap().contains("inptu"),
        "{err}"
    );
    let (status, float) = app
        .api(Method::POST, "/prices", Some(json!({"provider": "openai", "model": "m", "input": 0.1, "effective_from": "2026-01-01", "source": "x"})))
        .await;
    assert_eq!(
        status, 400,
        "a JSON number is refused, not read as a float: {float}"
    );

    // The user price now wins, from its first day on.
    let (_, priced) = app.api(Method::GET, check, None).await;
    assert_eq!(priced["cost"], "0.30", "{priced}");
    assert_eq!(priced["entry"]["id"], id);
    let (_, before) = app
        .api(
            Method::GET,
            &check.replace("2026-11-01", "2026-09-30"),
            None,
        )
        .await;
    assert_eq!(before["entry"]["provenance"], "built_in");

    let mut edited = body.clone();
    edited["output"] = json!("0.4");
    let (status, result) = app
        .api(Method::PUT, &format!("/prices/{id}"), Some(edited))
        .await;
    assert_eq!(status, 200, "{result}");
    assert_eq!(result["before"]["output"], "0.2");
    assert_eq!(result["entry"]["output"], "0.4");
    let (_, priced) = app.api(Method::GET, check, None).await;
    assert_eq!(priced["cost"], "0.50");
    let (status, deleted) = app
        .api(Method::DELETE, &format!("/prices/{id}"), None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(deleted["deleted"]["model"], "gpt-4o-mini*");
    let (status, _) = app.api(Method::GET, &format!("/prices/{id}"), None).await;
    assert_eq!(status, 404);
    let (_, priced) = app.api(Method::GET, check, None).await;
    assert_eq!(priced["cost"], "0.75");

    let audit = app.audit_actions().await;
    for action in ["price.add", "price.edit", "price.delete"] {
        assert!(
            audit
                .iter()
                .any(|a| a.starts_with(action) && a.contains("gpt-4o-mini*")),
            "{action} not audited: {audit:?}"
        );
    }
    let (_, openapi) = app.api(Method::GET, "/openapi.json", None).await;
    assert!(openapi["paths"]["/prices/check"]["get"].is_object());
    assert!(openapi["components"]["schemas"]["PriceEntry"].is_object());
    let response = reqwest::get(format!("{}/api/v1/prices", app.base))
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 401);
    app.test.teardown().await;
}

#[tokio::test]
async fn the_model_pricing_page_lists_filters_and_changes_prices_with_confirmation() {
    let app = App::start().await;
    let admin = Browser::login(&app.base, "admin@example.com").await;
    let (status, page) = admin.get("/cost/pricing").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains(">Cost</a>") && page.contains("Model pricing"),
        "nav"
    );
    assert!(page.contains("provenance-built_in"), "built-in badge");
    // gpt-4o has a built-in price, gpt-house-x has none: only it is hinted.
    let hint = &page[page.find("unpriced-hint").expect("an unpriced hint")..];
    let hint = &hint[..hint.find("</div>").unwrap()];
    assert!(
        hint.contains("gpt-house-x") && !hint.contains("<code>gpt-4o</code>"),
        "{hint}"
    );
    let (_, filtered) = admin
        .get("/cost/pricing?provider=anthropic&search=haiku")
        .await;
    assert!(filtered.contains("haiku") && !filtered.contains("<code>gpt-4o*</code>"));
    let (status, bad) = admin.get("/cost/pricing?provider=azure").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(bad.contains("unknown provider"), "{bad}");

    // A bad value comes back in the form with what was typed.
    let fields = |input: &'static str| {
        vec![
            ("provider", "openai"),
            ("model", "gpt-house-x"),
            ("input", input),
            ("output", "4"),
            ("effective_from", "2026-11-01"),
            ("currency", "USD"),
            ("source", "our contract"),
        ]
    };
    let response = admin.post("/cost/pricing", &fields("1,5")).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = response.text().await.unwrap();
    assert!(
        html.contains("role=\"alert\"") && html.contains("input"),
        "{html}"
    );
    assert!(html.contains("value=\"1,5\"") && html.contains("value=\"our contract\""));
    assert!(
        app.engine
            .store()
            .stored_prices(app.org)
            .await
            .unwrap()
            .is_empty()
    );
    let response = admin.post("/cost/pricing", &fields("1.5")).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let stored = app.engine.store().stored_prices(app.org).await.unwrap();
    assert_eq!(stored.len(), 1);
    let id = stored[0].id.clone();
    let (_, page) = admin.get("/cost/pricing").await;
    assert!(
        page.contains("provenance-user") && !page.contains("unpriced-hint"),
        "hint gone"
    );
    let response = admin.post("/cost/pricing", &fields("1.5")).await;
    assert_eq!(
        response.status(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "duplicate"
    );
    assert!(response.text().await.unwrap().contains("already exists"));

    let (status, form) = admin.get(&format!("/cost/pricing/{id}/edit")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(form.contains("value=\"1.5\""));
    let mut edit = fields("2");
    edit.push(("units", "images=0.04"));
    let response = admin.post(&format!("/cost/pricing/{id}/edit"), &edit).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let entry = app
        .engine
        .store()
        .get_price(app.org, id.parse().unwrap())
        .await
        .unwrap();
    assert_eq!(entry.tokens.input.unwrap().to_string(), "2");

    // Delete: the page names the entry; without the confirmation nothing goes.
    let (status, confirm) = admin.get(&format!("/cost/pricing/{id}/delete")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        confirm.contains("gpt-house-x") && confirm.contains("input=2/1M"),
        "{confirm}"
    );
    let response = admin.post(&format!("/cost/pricing/{id}/delete"), &[]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(
        response.headers()[LOCATION]
            .to_str()
            .unwrap()
            .ends_with("/delete")
    );
    assert_eq!(
        app.engine
            .store()
            .stored_prices(app.org)
            .await
            .unwrap()
            .len(),
        1
    );
    let response = admin
        .post(
            &format!("/cost/pricing/{id}/delete"),
            &[("confirm", "delete")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(
        app.engine
            .store()
            .stored_prices(app.org)
            .await
            .unwrap()
            .is_empty()
    );

    // A viewer reads but changes nothing.
    let viewer = Browser::login(&app.base, "viewer@example.com").await;
    let (status, page) = viewer.get("/cost/pricing").await;
    assert_eq!(status, StatusCode::OK);
    assert!(!page.contains("New price"));
    let response = viewer.post("/cost/pricing", &fields("1.5")).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let (status, _) = viewer.get("/cost/pricing/new").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(
        app.engine
            .store()
            .stored_prices(app.org)
            .await
            .unwrap()
            .is_empty()
    );

    let audit = app.audit_actions().await;
    for action in ["price.add", "price.edit", "price.delete"] {
        assert!(
            audit
                .iter()
                .any(|a| a.starts_with(action) && a.contains("gpt-house-x")),
            "{action} not audited: {audit:?}"
        );
    }
    app.test.teardown().await;
}
