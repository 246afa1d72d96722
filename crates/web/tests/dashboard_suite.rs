//! The dashboard over HTTP, through the real server on a random port: first-run setup, login,
//! every page and action for both roles, CSRF rejection, bad input, cross-organization
//! isolation, CSV export and page weight (SQLite, or PostgreSQL with
//! `SPENDLENS_TEST_DATABASE_URL`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a failing test should stop loudly

use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use spendlens_domain::{
    Category, CostLine, Currency, DayRange, Money, PriceCatalog, ProviderKind, Quantity,
    TokenCounts, Unit, WorkspaceRecord,
};
use spendlens_providers::HttpSettings;
use spendlens_store::testing::TestStore;
use spendlens_store::vault::Vault;
use spendlens_store::{
    ConnectionId, NewConnection, OrgId, Role, SyncRunOutcome, SyncRunStatus, SyncTrigger,
    WindowWrite, WriteCounts,
};
use spendlens_sync::{FixedClock, SyncEngine, SyncSettings};
use spendlens_web::dashboard::session::hash_password;
use time::macros::datetime;

const PASSWORD: &str = "correct horse battery staple";

struct Browser {
    client: reqwest::Client,
    base: String,
    cookie: String,
    csrf: String,
}

impl Browser {
    fn anonymous(base: &str) -> Browser {
        Browser {
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            base: base.to_owned(),
            cookie: String::new(),
            csrf: String::new(),
        }
    }

    async fn get(&self, path: &str) -> (StatusCode, String) {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .header(COOKIE, &self.cookie)
            .send()
            .await
            .unwrap();
        let status = response.status();
        (status, response.text().await.unwrap())
    }

    async fn get_response(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.base))
            .header(COOKIE, &self.cookie)
            .send()
            .await
            .unwrap()
    }

    /// POSTs a form; `csrf` is added unless the pairs carry one.
    async fn post(&self, path: &str, pairs: &[(&str, &str)]) -> reqwest::Response {
        let mut form: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        if !pairs.iter().any(|(k, _)| *k == "csrf") {
            form.push(("csrf".to_owned(), self.csrf.clone()));
        }
        self.client
            .post(format!("{}{path}", self.base))
            .header(COOKIE, &self.cookie)
            .form(&form)
            .send()
            .await
            .unwrap()
    }

    /// Signs in through the login form, as a person would.
    async fn login(base: &str, email: &str, password: &str) -> Browser {
        let mut browser = Browser::anonymous(base);
        let response = browser.get_response("/login").await;
        let login_cookie = cookie_of(&response, "spendlens_login_csrf").unwrap();
        let html = response.text().await.unwrap();
        let csrf = csrf_in(&html);
        browser.cookie = format!("spendlens_login_csrf={login_cookie}");
        let response = browser
            .post(
                "/login",
                &[
                    ("email", email),
                    ("password", password),
                    ("csrf", &csrf),
                    ("next", "/providers"),
                ],
            )
            .await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "login failed");
        let session = cookie_of(&response, "spendlens_session").unwrap();
        browser.cookie = format!("spendlens_session={session}");
        let (_, page) = browser.get("/providers").await;
        browser.csrf = csrf_in(&page);
        browser
    }
}

fn cookie_of(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| {
            let pair = v.split(';').next()?;
            let (key, value) = pair.split_once('=')?;
            (key == name && !value.is_empty()).then(|| value.to_owned())
        })
}

fn csrf_in(html: &str) -> String {
    let marker = "name=\"csrf\" value=\"";
    let start = html
        .find(marker)
        .unwrap_or_else(|| panic!("no csrf field in {html}"))
        + marker.len();
    html[start..start + html[start..].find('"').unwrap()].to_owned()
}

struct App {
    base: String,
    engine: SyncEngine,
    clock: Arc<FixedClock>,
    org: OrgId,
    connection: ConnectionId,
    test: TestStore,
}

fn line(
    day: &str,
    workspace: &str,
    key: Option<&str>,
    model: &str,
    dollars: &str,
    requests: Option<i64>,
) -> CostLine {
    CostLine {
        day: day.parse().unwrap(),
        workspace_id: Some(workspace.to_owned()),
        api_key_id: key.map(str::to_owned),
        model: model.to_owned(),
        category: Category::Text,
        unit: Unit::tokens(),
        detail: String::new(),
        tokens: TokenCounts {
            input: 2_000_000,
            output: 500_000,
            cache_read: 100_000,
            cache_write: 0,
        },
        requests,
        quantity: Quantity::ZERO,
        cost: Money::parse_units(dollars).unwrap(),
        credits: Money::ZERO,
        currency: Currency::usd(),
        estimated: false,
        allocated: key.is_some(),
        billing: None,
        unpriced: false,
    }
}

impl App {
    /// A server with two organizations: ours with data, and another one with its own user.
    async fn start() -> App {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let test = TestStore::new().await.unwrap();
        let clock = Arc::new(FixedClock::new(datetime!(2026-11-22 10:00 UTC)));
        let engine = SyncEngine::new(
            test.store.clone(),
            Vault::from_key([6; 32]),
            PriceCatalog::built_in(),
            clock.clone(),
            SyncSettings {
                lease: Duration::from_secs(60),
                http: HttpSettings::default(),
                owner: "dashboard-test".into(),
                allowed_base_url_hosts: Vec::new(),
            },
        );
        let store = engine.store();
        let now = engine.now();
        let org = store.ensure_default_org(now).await.unwrap();
        let credential = spendlens_domain::Credential::parse(
            ProviderKind::OpenAi,
            "sk-admin-dashboardtestkeyxxxxxxxxxxxxxxxx",
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
        let window =
            DayRange::new("2026-09-01".parse().unwrap(), "2026-11-22".parse().unwrap()).unwrap();
        store
            .replace_window(WindowWrite {
                invoice_months: None,
                org,
                connection,
                window,
                workspaces: &[
                    WorkspaceRecord {
                        provider_id: "proj_search".into(),
                        name: "Search".into(),
                        archived: false,
                        created_at: None,
                    },
                    WorkspaceRecord {
                        provider_id: "proj_bot".into(),
                        name: "Support Bot".into(),
                        archived: false,
                        created_at: None,
                    },
                ],
                api_keys: &[],
                api_keys_complete: false,
                lines: &[
                    line(
                        "2026-11-20",
                        "proj_search",
                        Some("key_a"),
                        "gpt-4o",
                        "100.00",
                        Some(10),
                    ),
                    line(
                        "2026-11-21",
                        "proj_search",
                        Some("key_b"),
                        "gpt-4o-mini",
                        "0.333333333",
                        Some(20),
                    ),
                    line(
                        "2026-11-21",
                        "proj_bot",
                        Some("key_c"),
                        "gpt-4o",
                        "0.333333333",
                        Some(5),
                    ),
                    line(
                        "2026-11-22",
                        "proj_bot",
                        Some("key_c"),
                        "gpt-4o",
                        "0.333333334",
                        Some(5),
                    ),
                    line(
                        "2026-10-01",
                        "proj_search",
                        Some("key_a"),
                        "gpt-4o",
                        "50.00",
                        Some(7),
                    ),
                    line(
                        "2026-11-14",
                        "proj_search",
                        Some("key_a"),
                        "gpt-4o",
                        "10.00",
                        Some(3),
                    ),
                ],
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
        let other = store.create_org("Other Inc", now).await.unwrap();
        store
            .create_user(
                other,
                "mallory@other.example",
                &hash_password(PASSWORD).unwrap(),
                Role::Admin,
                now,
            )
            .await
            .unwrap();
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
            engine,
            clock,
            org,
            connection,
            test,
        }
    }

    async fn admin(&self) -> Browser {
        Browser::login(&self.base, "admin@example.com", PASSWORD).await
    }

    async fn viewer(&self) -> Browser {
        Browser::login(&self.base, "viewer@example.com", PASSWORD).await
    }

    async fn workspace_id(&self, provider_id: &str) -> i64 {
        self.engine
            .store()
            .list_workspaces(self.org)
            .await
            .unwrap()
            .into_iter()
            .find(|w| w.provider_id == provider_id)
            .unwrap()
            .id
            .0
    }

    async fn display_name(&self, provider_id: &str) -> String {
        self.engine
            .store()
            .list_workspaces(self.org)
            .await
            .unwrap()
            .into_iter()
            .find(|w| w.provider_id == provider_id)
            .unwrap()
            .display_name
    }
}

const PAGES: [&str; 7] = [
    "/providers",
    "/workspaces",
    "/keys",
    "/models",
    "/workspace-management",
    "/connections",
    "/sync-logs",
];

#[tokio::test]
async fn the_first_visit_sets_up_an_admin_and_signs_them_in() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let test = TestStore::new().await.unwrap();
    let engine = SyncEngine::new(
        test.store.clone(),
        Vault::from_key([7; 32]),
        PriceCatalog::built_in(),
        Arc::new(FixedClock::new(datetime!(2026-11-22 10:00 UTC))),
        SyncSettings::default(),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(spendlens_web::serve(
        listener,
        spendlens_web::router(spendlens_web::AppState::new(engine.clone())),
        std::future::pending(),
    ));
    let mut browser = Browser::anonymous(&base);
    let response = browser.get_response("/providers").await;
    assert_eq!(response.headers()[LOCATION], "/setup");
    let response = browser.get_response("/setup").await;
    let login_cookie = cookie_of(&response, "spendlens_login_csrf").unwrap();
    let csrf = csrf_in(&response.text().await.unwrap());
    browser.cookie = format!("spendlens_login_csrf={login_cookie}");
    // A forged token is refused.
    let response = browser
        .post(
            "/setup",
            &[
                ("email", "a@b.c"),
                ("password", PASSWORD),
                ("password_confirm", PASSWORD),
                ("csrf", "forged"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    // A short password is explained.
    let response = browser
        .post(
            "/setup",
            &[
                ("email", "a@b.c"),
                ("password", "short"),
                ("password_confirm", "short"),
                ("csrf", &csrf),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("at least 12 characters")
    );
    let response = browser
        .post(
            "/setup",
            &[
                ("email", "owner@example.com"),
                ("password", PASSWORD),
                ("password_confirm", PASSWORD),
                ("csrf", &csrf),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let session = cookie_of(&response, "spendlens_session").unwrap();
    let set_cookie = response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Lax"),
        "{set_cookie}"
    );
    browser.cookie = format!("spendlens_session={session}");
    let (status, html) = browser.get("/providers").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("owner@example.com (admin)"));
    // Setup is closed once an admin exists.
    let response = browser.get_response("/setup").await;
    assert_eq!(response.headers()[LOCATION], "/login");
    assert_eq!(engine.store().count_users().await.unwrap(), 1);
    test.teardown().await;
}

#[tokio::test]
async fn cookies_are_secure_behind_an_https_proxy_or_when_the_server_says_so() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let test = TestStore::new().await.unwrap();
    let engine = SyncEngine::new(
        test.store.clone(),
        Vault::from_key([7; 32]),
        PriceCatalog::built_in(),
        Arc::new(FixedClock::new(datetime!(2026-11-22 10:00 UTC))),
        SyncSettings::default(),
    );
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    // The setup page's sign-in CSRF cookie, as each server sets it.
    let cookie_of_setup = |base: String, https: bool| {
        let client = client.clone();
        async move {
            let mut request = client.get(format!("{base}/setup"));
            if https {
                request = request.header("x-forwarded-proto", "https");
            }
            let response = request.send().await.unwrap();
            response
                .headers()
                .get_all(SET_COOKIE)
                .iter()
                .map(|v| v.to_str().unwrap().to_owned())
                .find(|c| c.starts_with("spendlens_login_csrf="))
                .unwrap()
        }
    };
    let mut bases = Vec::new();
    for secure_cookies in [false, true] {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        bases.push(format!("http://{}", listener.local_addr().unwrap()));
        let settings = spendlens_web::WebSettings {
            secure_cookies,
            ..spendlens_web::WebSettings::default()
        };
        tokio::spawn(spendlens_web::serve(
            listener,
            spendlens_web::router(spendlens_web::AppState::with_settings(
                engine.clone(),
                settings,
            )),
            std::future::pending(),
        ));
    }
    let plain = cookie_of_setup(bases[0].clone(), false).await;
    assert!(!plain.contains("Secure"), "{plain}");
    let proxied = cookie_of_setup(bases[0].clone(), true).await;
    assert!(proxied.ends_with("; Secure"), "{proxied}");
    let always = cookie_of_setup(bases[1].clone(), false).await;
    assert!(always.ends_with("; Secure"), "{always}");
    assert_eq!(always.matches("Secure").count(), 1, "{always}");
    let both = cookie_of_setup(bases[1].clone(), true).await;
    assert_eq!(both.matches("Secure").count(), 1, "{both}");
    test.teardown().await;
}

#[tokio::test]
async fn login_refuses_a_wrong_password_and_logout_ends_the_session() {
    let app = App::start().await;
    let mut browser = Browser::anonymous(&app.base);
    let response = browser.get_response("/login?next=/keys").await;
    let login_cookie = cookie_of(&response, "spendlens_login_csrf").unwrap();
    let csrf = csrf_in(&response.text().await.unwrap());
    browser.cookie = format!("spendlens_login_csrf={login_cookie}");
    let response = browser
        .post(
            "/login",
            &[
                ("email", "admin@example.com"),
                ("password", "wrong password!"),
                ("csrf", &csrf),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("Wrong email or password")
    );
    let admin = app.admin().await;
    let response = admin.post("/logout", &[]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let response = admin.get_response("/providers").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(
        response.headers()[LOCATION]
            .to_str()
            .unwrap()
            .starts_with("/login?next=")
    );
    app.test.teardown().await;
}

#[tokio::test]
async fn every_page_renders_for_both_roles_and_only_admins_see_users() {
    let app = App::start().await;
    for (browser, users_status) in [
        (app.admin().await, StatusCode::OK),
        (app.viewer().await, StatusCode::FORBIDDEN),
    ] {
        for path in PAGES {
            let response = browser.get_response(path).await;
            assert_eq!(response.status(), StatusCode::OK, "{path}");
            let csp = response.headers()["content-security-policy"]
                .to_str()
                .unwrap()
                .to_owned();
            assert!(csp.contains("default-src 'self'"), "{csp}");
            let html = response.text().await.unwrap();
            assert!(html.contains("<main id=\"content\">"), "{path}");
            assert!(
                html.len() < 150 * 1024,
                "{path} weighs {} bytes",
                html.len()
            );
        }
        assert_eq!(browser.get("/users").await.0, users_status);
    }
    // Without a session every page sends you to sign in.
    let anonymous = Browser::anonymous(&app.base);
    for path in PAGES {
        let response = anonymous.get_response(path).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{path}");
    }
    // Assets are served by the binary itself.
    for asset in ["/static/app.css", "/static/app.js"] {
        assert_eq!(anonymous.get(asset).await.0, StatusCode::OK);
    }
    app.test.teardown().await;
}

#[tokio::test]
async fn totals_on_a_page_add_up_to_its_rows() {
    let app = App::start().await;
    let admin = app.admin().await;
    let (_, html) = admin.get("/keys?period=last-7-days").await;
    // Three keys: $100.00, $0.33…, $0.66…: shown in cents, they must still add to $101.00.
    assert!(html.contains("$101.00"), "{html}");
    assert!(html.contains("$100.00"));
    assert!(html.contains("$0.33"));
    assert!(html.contains("$0.67"));
    let (_, providers) = admin.get("/providers?period=last-7-days").await;
    assert!(providers.contains("$101.00"));
    assert!(providers.contains("↑"), "a rise is shown with an up arrow");
    app.test.teardown().await;
}

#[tokio::test]
async fn drill_down_goes_from_a_workspace_to_its_keys_to_their_models() {
    let app = App::start().await;
    let admin = app.admin().await;
    let (_, html) = admin.get("/workspaces?period=last-7-days").await;
    let link = html
        .split("href=\"")
        .find(|part| part.starts_with("/keys?") && part.contains("workspace=Search"))
        .unwrap_or_else(|| panic!("no drill-down link in {html}"));
    assert!(link.starts_with("/keys?period=last-7-days"), "{link}");
    let (status, keys) = admin.get("/keys?period=last-7-days&workspace=Search").await;
    assert_eq!(status, StatusCode::OK);
    assert!(keys.contains("Only workspace “Search”"));
    assert!(keys.contains("key_a") && keys.contains("key_b"));
    assert!(!keys.contains("key_c"), "another workspace's key shows");
    let key_id = app
        .engine
        .store()
        .list_api_keys(app.org)
        .await
        .unwrap()
        .into_iter()
        .find(|k| k.provider_id == "key_a")
        .unwrap()
        .id
        .0;
    assert!(
        keys.contains(&format!("key={key_id}\"")),
        "no drill-down to the key's models"
    );
    let (status, models) = admin
        .get(&format!("/models?period=last-7-days&key={key_id}"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(models.contains("gpt-4o") && !models.contains("gpt-4o-mini"));
    // The tabs keep the period; Keys of a workspace lead on to the workspace's models.
    assert!(
        keys.contains("href=\"/models?period=last-7-days\""),
        "tabs keep the period"
    );
    let link = keys
        .split("href=\"")
        .find(|part| part.starts_with("/models?") && part.contains("workspace=Support"))
        .map(|part| {
            part[..part.find('"').unwrap()]
                .replace("&#38;", "&")
                .replace("&amp;", "&")
        });
    assert!(
        link.is_none(),
        "the Search keys page links to Support Bot's models"
    );
    let (_, bot_keys) = admin
        .get("/keys?period=last-7-days&workspace=Support+Bot")
        .await;
    let link = bot_keys
        .split("href=\"")
        .find(|part| part.starts_with("/models?") && part.contains("workspace=Support"))
        .map(|part| {
            part[..part.find('"').unwrap()]
                .replace("&#38;", "&")
                .replace("&amp;", "&")
        })
        .unwrap_or_else(|| panic!("no models-of-this-workspace link in {bot_keys}"));
    let (status, bot_models) = admin.get(&link).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        bot_models.contains("Only workspace “Support Bot”"),
        "{link}: {bot_models}"
    );
    assert!(bot_models.contains(">gpt-4o<") || bot_models.contains("gpt-4o "));
    assert!(
        !bot_models.contains("gpt-4o-mini"),
        "another workspace's model shows"
    );
    app.test.teardown().await;
}

#[tokio::test]
async fn bad_filters_get_a_clear_400_and_change_nothing() {
    let app = App::start().await;
    let admin = app.admin().await;
    let long = "x".repeat(5000);
    for (query, expected) in [
        ("from=2026-02-30&to=2026-03-01", "YYYY-MM-DD"),
        ("from=2026-11-10&to=2026-11-01", "must be the earlier one"),
        ("min_cost=-5", "cannot be negative"),
        ("max_cost=lots", "max_cost"),
        ("sort=colour", "cannot sort"),
        ("provider=azure", "unknown provider"),
        (&format!("search={long}")[..], "longest accepted"),
        ("page=0", "positive number"),
    ] {
        let (status, html) = admin.get(&format!("/keys?{query}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}");
        assert!(html.contains(expected), "{query}: {html}");
        if query.starts_with("page=") {
            assert!(html.contains("request id"), "{query}");
        } else {
            // Said on the form, in words for the browser, not on an error page.
            assert!(
                html.contains("role=\"alert\"") && html.contains("This filter cannot be used"),
                "{query}: {html}"
            );
            assert!(html.contains("<form class=\"filters\""), "{query}");
            assert!(!html.contains("--from"), "{query}: {html}");
        }
    }
    let (status, _) = admin.get("/keys?page=99").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    app.test.teardown().await;
}

#[tokio::test]
async fn renames_merge_rows_keep_history_and_revert() {
    let app = App::start().await;
    let admin = app.admin().await;
    let search = app.workspace_id("proj_search").await;
    let bot = app.workspace_id("proj_bot").await;
    // Bad names change nothing.
    for bad in ["", "   ", &"n".repeat(500)] {
        let response = admin
            .post(
                &format!("/workspace-management/{search}/rename"),
                &[("name", bad)],
            )
            .await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{bad:?}");
    }
    assert_eq!(app.display_name("proj_search").await, "Search");
    let response = admin
        .post(
            &format!("/workspace-management/{search}/rename"),
            &[("name", "Platform")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let response = admin
        .client
        .post(format!("{}/workspace-management/bulk-rename", app.base))
        .header(COOKIE, &admin.cookie)
        .form(&[
            ("csrf", admin.csrf.as_str()),
            ("name", "Platform"),
            ("ids", &bot.to_string()),
            ("ids", &search.to_string()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (_, html) = admin.get("/workspaces?period=last-7-days").await;
    assert!(html.contains(">Platform</a>"));
    assert!(!html.contains(">Support Bot</a>"), "merged rows show once");
    let (_, manage) = admin.get("/workspace-management").await;
    assert!(
        manage.contains("“Search” → “Platform” by admin@example.com"),
        "{manage}"
    );
    let history = app
        .engine
        .store()
        .workspace_history(app.org, spendlens_store::WorkspaceId(bot))
        .await
        .unwrap();
    let response = admin
        .post(
            &format!("/workspace-management/{bot}/revert"),
            &[("change", &history[0].id.to_string())],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.display_name("proj_bot").await, "Support Bot");
    // Every change is in the audit log, and the chain holds.
    let entries = app
        .engine
        .store()
        .audit_entries(app.org, 100)
        .await
        .unwrap();
    assert!(entries.iter().any(|e| e.action == "workspace.bulk_rename"));
    assert_eq!(
        app.engine.store().verify_audit(app.org).await.unwrap(),
        spendlens_store::AuditVerdict::Intact {
            entries: entries.len()
        }
    );
    app.test.teardown().await;
}

#[tokio::test]
async fn a_forged_or_missing_csrf_token_changes_nothing() {
    let app = App::start().await;
    let admin = app.admin().await;
    let viewer = app.viewer().await;
    let search = app.workspace_id("proj_search").await;
    for token in ["", "forged", viewer.csrf.as_str()] {
        let response = admin
            .post(
                &format!("/workspace-management/{search}/rename"),
                &[("name", "Hacked"), ("csrf", token)],
            )
            .await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "token {token:?}");
    }
    assert_eq!(app.display_name("proj_search").await, "Search");
    let response = admin.post("/logout", &[("csrf", "forged")]).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    app.test.teardown().await;
}

#[tokio::test]
async fn a_viewer_can_read_and_export_but_every_mutation_is_403() {
    let app = App::start().await;
    let viewer = app.viewer().await;
    let search = app.workspace_id("proj_search").await;
    let connection = app.connection.0;
    let mutations: Vec<(String, Vec<(&str, &str)>)> = vec![
        (
            format!("/workspace-management/{search}/rename"),
            vec![("name", "Mine")],
        ),
        (
            format!("/workspace-management/{search}/revert"),
            vec![("change", "1")],
        ),
        (
            "/connections".to_owned(),
            vec![
                ("provider", "openai"),
                ("name", "x"),
                ("credential", "sk-admin-x"),
            ],
        ),
        (format!("/connections/{connection}/test"), vec![]),
        (format!("/connections/{connection}/sync"), vec![]),
        (
            format!("/connections/{connection}/remove"),
            vec![("purge", "1")],
        ),
        ("/refresh".to_owned(), vec![]),
        (
            "/users".to_owned(),
            vec![
                ("email", "x@y.z"),
                ("role", "admin"),
                ("password", PASSWORD),
                ("password_confirm", PASSWORD),
            ],
        ),
    ];
    for (path, form) in &mutations {
        let response = viewer.post(path, form).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{path}");
    }
    assert_eq!(app.display_name("proj_search").await, "Search");
    assert_eq!(
        app.engine
            .store()
            .list_connections(app.org)
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        app.engine.store().list_users(app.org).await.unwrap().len(),
        2
    );
    let response = viewer.get_response("/export/keys?period=last-7-days").await;
    assert_eq!(response.status(), StatusCode::OK);
    let (_, html) = viewer.get("/keys").await;
    assert!(
        !html.contains("Refresh data"),
        "viewers do not get the refresh button"
    );
    app.test.teardown().await;
}

#[tokio::test]
async fn another_organizations_user_sees_nothing_of_ours_and_cannot_touch_it() {
    let app = App::start().await;
    let mallory = Browser::login(&app.base, "mallory@other.example", PASSWORD).await;
    let (_, html) = mallory.get("/workspaces?period=last-90-days").await;
    assert!(!html.contains(">Search</a>") && !html.contains("Support Bot"));
    let (_, connections) = mallory.get("/connections").await;
    assert!(!connections.contains("<td>openai-prod"));
    let search = app.workspace_id("proj_search").await;
    let response = mallory
        .post(
            &format!("/workspace-management/{search}/rename"),
            &[("name", "Owned")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let response = mallory
        .post(
            &format!("/connections/{}/remove", app.connection.0),
            &[("purge", "1")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let (_, models) = mallory.get("/models?key=1").await;
    assert!(!models.contains("gpt-4o"));
    assert_eq!(app.display_name("proj_search").await, "Search");
    assert_eq!(
        app.engine
            .store()
            .list_connections(app.org)
            .await
            .unwrap()
            .len(),
        1
    );
    app.test.teardown().await;
}

#[tokio::test]
async fn adding_a_connection_with_a_wrong_key_type_explains_and_saves_nothing() {
    let app = App::start().await;
    let admin = app.admin().await;
    let response = admin
        .post(
            "/connections",
            &[
                ("provider", "openai"),
                ("name", "bad"),
                ("credential", "sk-proj-abcdefghijklmnopqrstuvwxyz0123"),
                ("base_url", ""),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = response.text().await.unwrap();
    assert!(
        html.contains("project key") && html.contains("Admin key"),
        "{html}"
    );
    assert!(
        !html.contains("abcdefghijklmnopqrstuvwxyz0123"),
        "the secret came back to the browser"
    );
    assert_eq!(
        app.engine
            .store()
            .list_connections(app.org)
            .await
            .unwrap()
            .len(),
        1
    );
    let (_, page) = admin.get("/connections").await;
    assert!(page.contains("sk-admin-das…xxxx"), "the hint shows: {page}");
    assert!(!page.contains("dashboardtestkey"), "the secret shows");
    app.test.teardown().await;
}

#[tokio::test]
async fn csv_export_is_the_table_with_its_filters_and_neutralized_cells() {
    let app = App::start().await;
    let admin = app.admin().await;
    let search = app.workspace_id("proj_search").await;
    let response = admin
        .post(
            &format!("/workspace-management/{search}/rename"),
            &[("name", "=HYPERLINK(\"http://evil\")")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let response = admin
        .get_response("/export/workspaces?period=last-7-days&sort=workspace&order=asc")
        .await;
    assert_eq!(
        response.headers()["content-type"],
        "text/csv; charset=utf-8"
    );
    assert!(
        response.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("spendlens-workspaces-2026-11-16-2026-11-22.csv")
    );
    let csv = response.text().await.unwrap();
    insta::assert_snapshot!("workspaces_csv", csv);
    app.test.teardown().await;
}

/// Writes extra lines for one day window of a connection (other days stay as they are).
async fn write_day(
    app: &App,
    connection: ConnectionId,
    day: &str,
    workspaces: &[(&str, &str)],
    lines: &[CostLine],
) {
    let store = app.engine.store();
    let day = day.parse().unwrap();
    store
        .replace_window(WindowWrite {
            invoice_months: None,
            org: app.org,
            connection,
            window: DayRange::new(day, day).unwrap(),
            workspaces: &workspaces
                .iter()
                .map(|(id, name)| WorkspaceRecord {
                    provider_id: (*id).into(),
                    name: (*name).into(),
                    archived: false,
                    created_at: None,
                })
                .collect::<Vec<_>>(),
            api_keys: &[],
            api_keys_complete: false,
            lines,
            now: app.engine.now(),
        })
        .await
        .unwrap();
}

/// The text of the table row whose first cell starts with `name`, tags stripped.
fn row_text(html: &str, name: &str) -> Option<String> {
    html.split("<tr>").find_map(|row| {
        let text = strip_tags(row);
        text.trim_start().starts_with(name).then_some(text)
    })
}

fn strip_tags(html: &str) -> String {
    let mut out = String::new();
    let mut inside = false;
    for c in html.chars() {
        match c {
            '<' => inside = true,
            '>' => {
                inside = false;
                out.push(' ');
            }
            _ if !inside => out.push(c),
            _ => {}
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[tokio::test]
async fn a_previous_period_the_data_cannot_cover_has_no_comparable_history() {
    let app = App::start().await;
    let store = app.engine.store();
    let now = app.engine.now();
    // OpenRouter, synced once today: its API served the last 30 days (from 2026-10-23).
    let credential = spendlens_domain::Credential::parse(
        ProviderKind::OpenRouter,
        "sk-or-v1-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
    )
    .unwrap();
    let openrouter = store
        .create_connection(
            app.org,
            NewConnection {
                name: "openrouter",
                credential: &credential,
                base_url: Some("http://127.0.0.1:9"),
                sync_interval_secs: 3600,
                backfill_days: 90,
                lookback_days: Some(3),
            },
            app.engine.vault(),
            now,
        )
        .await
        .unwrap()
        .id;
    let window =
        DayRange::new("2026-08-24".parse().unwrap(), "2026-11-22".parse().unwrap()).unwrap();
    let run = store
        .start_sync_run(app.org, openrouter, SyncTrigger::Initial, window, now)
        .await
        .unwrap();
    store
        .finish_sync_run(
            run,
            &SyncRunOutcome {
                status: SyncRunStatus::Success,
                counts: WriteCounts::default(),
                http_calls: 1,
                retries: 0,
                error: None,
                notes: None,
            },
            now,
        )
        .await
        .unwrap();
    let default_workspace = [("or_default", "Default Workspace")];
    write_day(
        &app,
        openrouter,
        "2026-10-23",
        &default_workspace,
        &[line(
            "2026-10-23",
            "or_default",
            None,
            "openai/gpt-4o",
            "0.10",
            Some(1),
        )],
    )
    .await;
    write_day(
        &app,
        openrouter,
        "2026-11-20",
        &default_workspace,
        &[line(
            "2026-11-20",
            "or_default",
            None,
            "openai/gpt-4o",
            "2.80",
            Some(9),
        )],
    )
    .await;
    // OpenAI's data starts 2026-10-01: Support Bot spent $1 in the previous period.
    write_day(
        &app,
        app.connection,
        "2026-10-25",
        &[("proj_bot", "Support Bot")],
        &[line(
            "2026-10-25",
            "proj_bot",
            Some("key_c"),
            "gpt-4o",
            "1.00",
            Some(1),
        )],
    )
    .await;

    // 2026-11-06 – 2026-11-22 compared with 2026-10-20 – 2026-11-05: OpenRouter has no data
    // before 2026-10-23, so its $0.10 is not the whole previous period.
    let admin = app.admin().await;
    let range = "from=2026-11-06&to=2026-11-22";
    let (status, html) = admin
        .get(&format!("/workspaces?{range}&sort=trend&order=desc"))
        .await;
    assert_eq!(status, StatusCode::OK);
    let default = row_text(&html, "Default Workspace").unwrap();
    assert!(default.contains("no comparable history"), "{default}");
    // The total's card says why there is no trend instead of a figure beside "no history".
    assert!(
        html.contains("no trend: the data does not cover the whole previous period ($"),
        "{html}"
    );
    assert!(
        !default.contains('↑'),
        "a partial previous period is not a rise: {default}"
    );
    let bot = row_text(&html, "Support Bot").unwrap();
    assert!(bot.contains("↓ 33.3%"), "{bot}");
    let search = row_text(&html, "Search").unwrap();
    assert!(search.contains("new"), "{search}");
    // Real trends first, then "new", then rows without comparable history — both ways.
    for order in ["desc", "asc"] {
        let (_, html) = admin
            .get(&format!("/workspaces?{range}&sort=trend&order={order}"))
            .await;
        // In the table (the chart's legend names the rows too, largest first).
        let table = &html[html.find("<tbody>").unwrap()..];
        let at = |name: &str| table.find(&format!(">{name}</a>")).unwrap();
        assert!(at("Support Bot") < at("Search"), "{order}");
        assert!(at("Search") < at("Default Workspace"), "{order}");
    }
    let (_, providers) = admin.get(&format!("/providers?{range}")).await;
    let openrouter_row = row_text(&providers, "OpenRouter").unwrap();
    assert!(
        openrouter_row.contains("no comparable history"),
        "{openrouter_row}"
    );
    let (_, csv) = admin.get(&format!("/export/workspaces?{range}")).await;
    assert!(
        csv.lines()
            .any(|l| l.starts_with("Default Workspace,") && l.contains("no comparable history")),
        "{csv}"
    );
    // Over the default week both previous periods are covered: real trends again.
    let (_, html) = admin.get("/providers?period=last-7-days").await;
    assert!(!html.contains("no comparable history"), "{html}");
    app.test.teardown().await;
}

#[tokio::test]
async fn deleting_a_connection_needs_a_confirmation_naming_what_is_lost() {
    let app = App::start().await;
    let admin = app.admin().await;
    let id = app.connection.0;
    let count = || async {
        app.engine
            .store()
            .connection_holdings(app.org, app.connection)
            .await
            .map(|h| h.lines)
            .ok()
    };
    // The page says what would be lost: 6 lines over 5 days, $161.00.
    let (status, page) = admin.get(&format!("/connections/{id}/remove")).await;
    assert_eq!(status, StatusCode::OK);
    let text = strip_tags(&page);
    assert!(text.contains("6 cost lines over 5 days"), "{text}");
    assert!(text.contains("$161.00"), "{text}");
    assert!(text.contains("Disconnect, keep data"), "{text}");
    // The server refuses a delete without the confirmation, or with the wrong name.
    for pairs in [
        vec![("purge", "1")],
        vec![("purge", "1"), ("confirm", "openai")],
        vec![],
    ] {
        let response = admin
            .post(&format!("/connections/{id}/remove"), &pairs)
            .await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{pairs:?}");
        assert_eq!(
            response.headers()[LOCATION],
            format!("/connections/{id}/remove").as_str()
        );
        assert_eq!(count().await, Some(6), "{pairs:?} lost data");
        let connection = app
            .engine
            .store()
            .get_connection(app.org, app.connection)
            .await
            .unwrap();
        assert!(connection.has_credential, "{pairs:?} removed the key");
    }
    // Disconnect keeps the data; delete with the name removes it; both are audited.
    let response = admin
        .post(
            &format!("/connections/{id}/remove"),
            &[("confirm", "disconnect")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(count().await, Some(6));
    let response = admin
        .post(
            &format!("/connections/{id}/remove"),
            &[("purge", "1"), ("confirm", "openai-prod")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(count().await, None, "the connection is gone");
    let audit = app.engine.store().audit_entries(app.org, 10).await.unwrap();
    let actions: Vec<(String, String)> = audit
        .iter()
        .map(|e| (e.action.clone(), e.detail.clone()))
        .collect();
    assert!(
        actions.contains(&(
            "connection.delete".to_owned(),
            "deleted 6 cost lines over 5 days, $161.00 of spend".to_owned()
        )),
        "{actions:?}"
    );
    assert!(
        actions
            .iter()
            .any(|(action, detail)| action == "connection.remove_credential"
                && detail.starts_with("kept 6 cost lines")),
        "{actions:?}"
    );
    app.test.teardown().await;
}

/// The message a redirect leaves for the next page (the flash cookie), decoded.
fn flash_of(response: &reqwest::Response) -> String {
    let raw =
        cookie_of(response, spendlens_web::dashboard::session::FLASH_COOKIE).unwrap_or_default();
    url::form_urlencoded::parse(format!("f={raw}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

#[tokio::test]
async fn a_disconnected_connection_resumes_in_place_with_a_new_key_checked_live() {
    let app = App::start().await;
    let admin = app.admin().await;
    let store = app.engine.store();
    // A connection whose base URL answers: OpenAI's documented API, from the fakes.
    let fake = spendlens_fakes::openai::OpenAiFake::builder()
        .seed(5)
        .today(time::macros::date!(2026 - 11 - 22))
        .build();
    let good_key = fake.admin_key().to_owned();
    let fake = fake.spawn().await.unwrap();
    let old = spendlens_domain::Credential::parse(
        ProviderKind::OpenAi,
        "sk-admin-oldkeyoldkeyoldkeyoldkeyoldkeyold1",
    )
    .unwrap();
    let base = fake.base_url();
    let connection = store
        .create_connection(
            app.org,
            NewConnection {
                name: "openai-rotated",
                credential: &old,
                base_url: Some(base.trim_end_matches('/')),
                sync_interval_secs: 3600,
                backfill_days: 90,
                lookback_days: Some(3),
            },
            app.engine.vault(),
            app.engine.now(),
        )
        .await
        .unwrap();
    let id = connection.id.0;
    let response = admin
        .post(
            &format!("/connections/{id}/remove"),
            &[("confirm", "disconnect")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (status, page) = admin.get(&format!("/connections/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    let text = strip_tags(&page);
    assert!(text.contains("Give it a new key"), "{text}");
    assert!(text.contains("no day is counted twice"), "{text}");
    let (_, list) = admin.get("/connections").await;
    assert!(
        list.contains(&format!("/connections/{id}#replace-key")),
        "no New key link"
    );
    let current = || async { store.get_connection(app.org, connection.id).await.unwrap() };

    // A project key (wrong shape) and an admin key the provider refuses change nothing.
    for (key, says) in [
        (
            "sk-proj-abcdefghijklmnopqrstuvwxyz0123456789",
            "project key",
        ),
        (
            "sk-admin-refusedrefusedrefusedrefusedrefusedrefus",
            "not changed",
        ),
    ] {
        let response = admin
            .post(
                &format!("/connections/{id}/credential"),
                &[("credential", key)],
            )
            .await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{key}");
        assert_eq!(
            response.headers()[LOCATION],
            format!("/connections/{id}#replace-key").as_str()
        );
        let message = flash_of(&response);
        assert!(message.starts_with("error:"), "{key}: {message}");
        assert!(message.to_lowercase().contains(says), "{key}: {message}");
        assert!(message.contains("not changed"), "{key}: {message}");
        assert!(!message.contains(key), "the key came back: {message}");
        let row = current().await;
        assert!(!row.has_credential, "{key} was saved");
        assert_eq!(row.status.as_str(), "disconnected");
    }
    // Another provider's key is refused by its shape too.
    let response = admin
        .post(
            &format!("/connections/{id}/credential"),
            &[(
                "credential",
                "sk-ant-admin01-abcdefghijklmnopqrstuvwxyz0123456789-AA",
            )],
        )
        .await;
    assert!(flash_of(&response).starts_with("error:"));
    assert!(!current().await.has_credential);

    // The right key: checked live, saved, same connection, pending until its next sync.
    let response = admin
        .post(
            &format!("/connections/{id}/credential"),
            &[("credential", good_key.as_str())],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let message = flash_of(&response);
    assert!(message.starts_with("ok:"), "{message}");
    assert!(!message.contains(&good_key), "the key came back: {message}");
    let row = current().await;
    assert!(row.has_credential);
    assert_eq!(row.status.as_str(), "pending");
    assert_eq!(row.id, connection.id);
    assert_ne!(row.credential_hint, connection.credential_hint);
    let loaded = store
        .load_credential(app.org, connection.id, app.engine.vault())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(loaded.expose_secret(), good_key);
    let (_, page) = admin.get(&format!("/connections/{id}")).await;
    assert!(strip_tags(&page).contains("Replace the key"));
    let audit = store.audit_entries(app.org, 10).await.unwrap();
    assert!(
        audit
            .iter()
            .any(|e| e.action == "connection.replace_credential"
                && e.subject == "openai-rotated"
                && e.detail.starts_with("openai key ")),
        "{:?}",
        audit
            .iter()
            .map(|e| (&e.action, &e.detail))
            .collect::<Vec<_>>()
    );
    app.test.teardown().await;
}

#[tokio::test]
async fn one_amount_shows_the_same_cents_in_table_tooltip_and_drill_down() {
    let app = App::start().await;
    // Three keys of $0.335 each: $1.005 in all. Rounded on its own each is $0.34; nudging them
    // to add up to $1.01 used to show one as $0.33.
    let lines: Vec<CostLine> = ["k1", "k2", "k3"]
        .iter()
        .map(|key| {
            line(
                "2026-10-10",
                "proj_round",
                Some(key),
                "gpt-4o",
                "0.335",
                Some(1),
            )
        })
        .collect();
    write_day(
        &app,
        app.connection,
        "2026-10-10",
        &[("proj_round", "Rounding")],
        &lines,
    )
    .await;
    let admin = app.admin().await;
    let range = "from=2026-10-10&to=2026-10-10";
    let (_, keys) = admin
        .get(&format!("/keys?{range}&workspace=Rounding"))
        .await;
    for key in ["k1", "k2", "k3"] {
        let row = row_text(&keys, key).unwrap();
        assert!(row.contains("$0.34") && !row.contains("$0.33"), "{row}");
        // The donut's tooltip shows the same amount.
        assert!(keys.contains(&format!("{key}: $0.34")), "tooltip of {key}");
    }
    let total = keys.split("<tfoot>").nth(1).map(strip_tags).unwrap();
    assert!(total.contains("$1.01"), "{total}");
    assert!(total.contains("rows add to $1.02 (1¢ rounding)"), "{total}");
    // The drill-down to one key's models totals the same cents as its row.
    let k1 = app
        .engine
        .store()
        .list_api_keys(app.org)
        .await
        .unwrap()
        .into_iter()
        .find(|k| k.provider_id == "k1")
        .unwrap()
        .id
        .0;
    let (_, models) = admin.get(&format!("/models?{range}&key={k1}")).await;
    let total = models.split("<tfoot>").nth(1).map(strip_tags).unwrap();
    assert!(total.contains("$0.34"), "{total}");
    let (_, workspaces) = admin.get(&format!("/workspaces?{range}")).await;
    let row = row_text(&workspaces, "Rounding").unwrap();
    assert!(row.contains("$1.01"), "{row}");
    app.test.teardown().await;
}

/// A sign-in attempt through the form: (status, Retry-After, page).
async fn try_login(
    base: &str,
    email: &str,
    password: &str,
) -> (StatusCode, Option<String>, String) {
    let mut browser = Browser::anonymous(base);
    let response = browser.get_response("/login").await;
    let login_cookie = cookie_of(&response, "spendlens_login_csrf").unwrap();
    let csrf = csrf_in(&response.text().await.unwrap());
    browser.cookie = format!("spendlens_login_csrf={login_cookie}");
    let response = browser
        .post(
            "/login",
            &[("email", email), ("password", password), ("csrf", &csrf)],
        )
        .await;
    let status = response.status();
    let retry_after = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    (status, retry_after, response.text().await.unwrap())
}

#[tokio::test]
async fn repeated_failures_back_off_then_lock_the_account_even_against_the_right_password() {
    let app = App::start().await;
    let start = app.engine.now();
    let secret = "guess number";
    for n in 1..=9 {
        let (status, _, page) = try_login(&app.base, "admin@example.com", secret).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "failure {n}: {page}");
        if n == 5 {
            // After five failures the account waits a second before the next try.
            let (status, retry_after, page) =
                try_login(&app.base, "admin@example.com", PASSWORD).await;
            assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{page}");
            assert_eq!(retry_after.as_deref(), Some("1"));
            assert!(page.contains("Too many failed sign-ins"), "{page}");
        }
        app.clock
            .set(app.engine.now() + time::Duration::seconds(60));
    }
    // The tenth failure locks the account for 15 minutes.
    let (status, retry_after, page) = try_login(&app.base, "admin@example.com", secret).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{page}");
    assert_eq!(retry_after.as_deref(), Some("900"));
    let locked_at = app.engine.now();
    // The right password does not work during the lockout, and the page says until when.
    app.clock.set(locked_at + time::Duration::minutes(14));
    let (status, retry_after, page) = try_login(&app.base, "admin@example.com", PASSWORD).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{page}");
    assert_eq!(retry_after.as_deref(), Some("60"));
    assert!(page.contains("locked"), "{page}");
    assert!(
        page.contains("Try again after 2026-11-22 10:24:00 UTC (in 60 seconds)"),
        "{page}"
    );
    // Other accounts sign in meanwhile; the locked one does once the lockout is over.
    let (status, _, _) = try_login(&app.base, "viewer@example.com", PASSWORD).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    app.clock.set(locked_at + time::Duration::minutes(15));
    let (status, _, page) = try_login(&app.base, "admin@example.com", PASSWORD).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{page}");
    // Failures and the lockout are in the audit log, the password never is.
    let entries = app
        .engine
        .store()
        .audit_entries(app.org, 100)
        .await
        .unwrap();
    let failed = entries
        .iter()
        .filter(|e| e.action == "login.failed")
        .count();
    assert_eq!(failed, 10);
    let lockout = entries
        .iter()
        .find(|e| e.action == "login.lockout")
        .unwrap();
    assert_eq!(lockout.subject, "admin@example.com");
    assert!(
        lockout.detail.contains("from 127.0.0.1"),
        "{}",
        lockout.detail
    );
    assert!(
        lockout.detail.contains("locked until"),
        "{}",
        lockout.detail
    );
    for entry in &entries {
        let text = format!("{} {} {}", entry.actor, entry.subject, entry.detail);
        assert!(!text.contains(secret) && !text.contains(PASSWORD), "{text}");
    }
    assert!(start < app.engine.now());
    app.test.teardown().await;
}

#[tokio::test]
async fn new_passwords_follow_the_policy_on_every_path() {
    let app = App::start().await;
    let admin = app.admin().await;
    let long = "x y ".repeat(1250);
    for (password, problem) in [
        ("short pw", "at least 12 characters"),
        ("password1234", "most common passwords"),
        ("new@example.com", "must not be the email"),
        ("aaaaaaaaaaaaaa", "repeated or a simple sequence"),
        (long.as_str(), "too long"),
    ] {
        let response = admin
            .post(
                "/users",
                &[
                    ("email", "new@example.com"),
                    ("role", "viewer"),
                    ("password", password),
                    ("password_confirm", password),
                ],
            )
            .await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let page = response.text().await.unwrap();
        assert!(page.contains(problem), "{problem}: {page}");
    }
    assert_eq!(
        app.engine.store().list_users(app.org).await.unwrap().len(),
        2
    );
    // A 5,000-byte password at sign-in is refused without hashing it.
    let (status, _, _) = try_login(&app.base, "admin@example.com", &"y".repeat(5000)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    app.test.teardown().await;
}

#[tokio::test]
async fn redirects_after_login_and_refresh_stay_on_this_site() {
    let app = App::start().await;
    let probes = [
        "/\t/evil.example",
        "//evil.example",
        "/\\evil.example",
        "\\\\evil.example",
        "https://evil.example/",
        "/\u{1}x",
        "/caf\u{e9}",
    ];
    for probe in probes {
        let mut browser = Browser::anonymous(&app.base);
        let encoded: String = url::form_urlencoded::byte_serialize(probe.as_bytes()).collect();
        let response = browser
            .get_response(&format!("/login?next={encoded}"))
            .await;
        assert_eq!(response.status(), StatusCode::OK, "{probe:?}");
        let login_cookie = cookie_of(&response, "spendlens_login_csrf").unwrap();
        let csrf = csrf_in(&response.text().await.unwrap());
        browser.cookie = format!("spendlens_login_csrf={login_cookie}");
        let response = browser
            .post(
                "/login",
                &[
                    ("email", "viewer@example.com"),
                    ("password", PASSWORD),
                    ("csrf", &csrf),
                    ("next", probe),
                ],
            )
            .await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{probe:?}");
        assert_eq!(response.headers()[LOCATION], "/", "{probe:?}");
    }
    let admin = app.admin().await;
    for probe in probes {
        let response = admin.post("/refresh", &[("back", probe)]).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{probe:?}");
        let location = response.headers()[LOCATION].to_str().unwrap();
        assert!(
            spendlens_web::dashboard::session::is_local_path(location)
                && !location.contains("evil"),
            "{probe:?} → {location:?}"
        );
    }
    let response = admin
        .post("/refresh", &[("back", "/keys?period=last-7-days")])
        .await;
    assert_eq!(response.headers()[LOCATION], "/keys?period=last-7-days");
    app.test.teardown().await;
}

#[tokio::test]
async fn admins_disable_enable_and_remove_users_and_end_their_sessions() {
    let app = App::start().await;
    let admin = app.admin().await;
    let viewer = app.viewer().await;
    let store = app.engine.store();
    let viewer_id = store
        .user_by_email(app.org, "viewer@example.com")
        .await
        .unwrap()
        .id;

    // The viewer sees their own sessions (this browser marked) but not anyone else's.
    let (status, page) = viewer.get(&format!("/users/{viewer_id}/sessions")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("(this browser)"), "{page}");
    let admin_id = store
        .user_by_email(app.org, "admin@example.com")
        .await
        .unwrap()
        .id;
    let (status, _) = viewer.get(&format!("/users/{admin_id}/sessions")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let response = viewer
        .post(&format!("/users/{admin_id}/disable"), &[])
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);

    // Disabling signs the viewer out at once and keeps them out, with a message that says so.
    let response = admin
        .post(&format!("/users/{viewer_id}/disable"), &[])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let response = viewer.get_response("/providers").await;
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "the session ended"
    );
    let (status, _, body) = try_login(&app.base, "viewer@example.com", PASSWORD).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(body.contains("disabled"), "{body}");
    let (_, users) = admin.get("/users").await;
    assert!(users.contains("disabled"), "{users}");

    // Enabled again, they sign in.
    admin.post(&format!("/users/{viewer_id}/enable"), &[]).await;
    let viewer = app.viewer().await;
    let (status, _) = viewer.get("/providers").await;
    assert_eq!(status, StatusCode::OK);

    // An admin ends a session of theirs.
    let sessions = store
        .list_sessions(app.org, viewer_id, app.engine.now())
        .await
        .unwrap();
    assert_eq!(sessions.len(), 1);
    let response = admin
        .post(
            &format!("/users/{viewer_id}/sessions/revoke"),
            &[("session", sessions[0].id.as_str())],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        viewer.get_response("/providers").await.status(),
        StatusCode::SEE_OTHER
    );

    // The last admin stays; nobody disables themselves.
    let response = admin.post(&format!("/users/{admin_id}/disable"), &[]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(
        store
            .user_by_email(app.org, "admin@example.com")
            .await
            .unwrap()
            .disabled_at
            .is_none()
    );

    // Removing asks first, names who goes, and needs the email typed.
    let (status, page) = admin.get(&format!("/users/{viewer_id}/remove")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("viewer@example.com"), "{page}");
    let response = admin
        .post(
            &format!("/users/{viewer_id}/remove"),
            &[("confirm", "someone")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        store
            .user_by_email(app.org, "viewer@example.com")
            .await
            .is_ok()
    );
    let response = admin
        .post(
            &format!("/users/{viewer_id}/remove"),
            &[("confirm", "viewer@example.com")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(
        store
            .user_by_email(app.org, "viewer@example.com")
            .await
            .is_err()
    );
    let audit = store.audit_entries(app.org, 50).await.unwrap();
    for action in [
        "user.disable",
        "user.enable",
        "session.revoke",
        "user.remove",
        "login.disabled",
    ] {
        assert!(
            audit.iter().any(|e| e.action == action),
            "no {action} in the audit log"
        );
    }
    app.test.teardown().await;
}

/// The `attr="…"` values inside the part of `html` from `from` to the next `until`.
fn attrs_in<'a>(html: &'a str, from: &str, until: &str, attr: &str) -> Vec<&'a str> {
    let start = html
        .find(from)
        .unwrap_or_else(|| panic!("no {from} in {html}"));
    let part = &html[start..];
    let part = &part[..part.find(until).unwrap_or(part.len())];
    let marker = format!("{attr}=\"");
    part.split(marker.as_str())
        .skip(1)
        .map(|rest| &rest[..rest.find('"').unwrap()])
        .collect()
}

fn unescape(href: &str) -> String {
    href.replace("&#38;", "&").replace("&amp;", "&")
}

#[tokio::test]
async fn spend_over_time_adds_up_to_the_table_and_each_segment_filters_to_its_row_and_day() {
    let app = App::start().await;
    let admin = app.admin().await;
    let (status, html) = admin.get("/workspaces?period=last-7-days").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Spend per day, by workspace"), "{html}");
    // Four segments: Search on the 20th and 21st, Support Bot on the 21st and 22nd; their exact
    // amounts add up to the table's total to the nano-dollar.
    let amounts = attrs_in(&html, "data-spend-chart", "</section>", "data-amount");
    assert_eq!(amounts.len(), 4, "{amounts:?}");
    let sum: Money = amounts.iter().map(|a| Money::parse_units(a).unwrap()).sum();
    assert_eq!(sum, Money::parse_units("101").unwrap());
    assert!(html.contains("<tfoot><tr><td") && html.contains("$101.00"));
    // Heights: the tallest day fills the plot (202 px); the 21st stacks its two rows.
    let heights: Vec<f64> = attrs_in(&html, "data-spend-chart", "</section>", "height")
        .iter()
        .filter_map(|h| h.parse().ok())
        .collect();
    assert_eq!(heights.len(), 4);
    assert!((heights[0] - 202.0).abs() < 0.05, "{heights:?}");
    assert!(
        (heights[1] + heights[2] - 202.0 * 0.666666666 / 100.0).abs() < 0.1,
        "{heights:?}"
    );
    assert!(
        html.contains("2026-11-21 · Search: $0.33 of $0.67"),
        "the tooltip names the day, row, amount and day total"
    );
    // A segment is a plain link to its row and day.
    let hrefs: Vec<String> = attrs_in(&html, "data-spend-chart", "</section>", "href")
        .iter()
        .map(|h| unescape(h))
        .collect();
    let search_20th = hrefs
        .iter()
        .find(|h| h.contains("workspace=Search") && h.contains("from=2026-11-20&to=2026-11-20"))
        .unwrap_or_else(|| panic!("no segment link for Search on the 20th in {hrefs:?}"));
    assert!(search_20th.starts_with("/workspaces?"), "{search_20th}");
    let (status, day) = admin.get(search_20th).await;
    assert_eq!(status, StatusCode::OK);
    assert!(day.contains("Only workspace “Search”"), "{day}");
    assert!(day.contains("$100.00"));
    assert!(!day.contains("$101.00"), "the other days still count");
    // The legend links filter to one row over the whole period.
    assert!(
        hrefs
            .iter()
            .any(|h| h.starts_with("/workspaces?period=last-7-days&")
                && h.ends_with("&workspace=Support+Bot")),
        "{hrefs:?}"
    );
    // Models: stacked by model, a click shows that model alone (not the -mini one).
    let (_, models) = admin.get("/models?period=last-7-days").await;
    assert!(models.contains("Spend per day, by model"));
    let amounts = attrs_in(&models, "data-spend-chart", "</section>", "data-amount");
    let sum: Money = amounts.iter().map(|a| Money::parse_units(a).unwrap()).sum();
    assert_eq!(sum, Money::parse_units("101").unwrap());
    let (status, one) = admin
        .get("/models?period=last-7-days&provider=openai&model=gpt-4o")
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(one.contains("data-col=\"model\">gpt-4o<") || one.contains(">gpt-4o<"));
    assert!(!one.contains("gpt-4o-mini"), "the model filter is exact");
    assert!(one.contains("$100.67"), "{one}");
    // The donut's slices are links too: a provider slice filters to the provider.
    let (_, providers) = admin.get("/providers?period=last-7-days").await;
    let donut_links = attrs_in(&providers, "class=\"donut\"", "</svg>", "href");
    let donut_links: Vec<String> = donut_links.iter().map(|h| unescape(h)).collect();
    assert_eq!(donut_links.len(), 1, "{donut_links:?}");
    assert!(
        donut_links[0].starts_with("/providers?period=last-7-days&provider=openai&"),
        "{donut_links:?}"
    );
    // Keys: one stack per key, each linking to the key.
    let (_, keys) = admin.get("/keys?period=last-7-days").await;
    let key_links: Vec<String> = attrs_in(&keys, "data-spend-chart", "</section>", "href")
        .iter()
        .map(|h| unescape(h))
        .collect();
    assert!(
        key_links.iter().all(|h| h.contains("key=")),
        "{key_links:?}"
    );
    // A long period is drawn per week, and still adds up.
    let (_, long) = admin.get("/workspaces?period=last-90-days").await;
    assert!(long.contains("Spend per week, by workspace"));
    let amounts = attrs_in(&long, "data-spend-chart", "</section>", "data-amount");
    let sum: Money = amounts.iter().map(|a| Money::parse_units(a).unwrap()).sum();
    assert_eq!(sum, Money::parse_units("161").unwrap());
    assert!(
        long.contains("week 2026-11-"),
        "weekly tooltips name the week"
    );
    // Images get their own chart, stacked by model, adding up to the panel's image cost.
    let mut image = line("2026-11-19", "proj_bot", None, "dall-e-3", "0.12", Some(3));
    image.category = Category::Image;
    image.unit = Unit::parse("images").unwrap();
    image.detail = "1024x1024".into();
    image.quantity = Quantity::from_whole(3);
    image.tokens = TokenCounts::default();
    write_day(
        &app,
        app.connection,
        "2026-11-19",
        &[("proj_bot", "Support Bot")],
        &[image],
    )
    .await;
    let (_, models) = admin.get("/models?period=last-7-days").await;
    assert!(models.contains("Image spend per day, by model"), "{models}");
    let amounts = attrs_in(&models, "data-images-chart", "</div>\n<div", "data-amount");
    assert_eq!(amounts, vec!["0.12"]);
    let amounts = attrs_in(&models, "data-spend-chart", "</section>", "data-amount");
    let sum: Money = amounts.iter().map(|a| Money::parse_units(a).unwrap()).sum();
    assert_eq!(sum, Money::parse_units("101.12").unwrap());
    app.test.teardown().await;
}

/// The text of the cell of column `col` in the table row whose first cell starts with `name`.
fn cell_of(html: &str, name: &str, col: &str) -> String {
    let table = &html[html.find("<tbody>").unwrap()..];
    let row = table
        .split("<tr>")
        .find(|row| strip_tags(row).starts_with(name))
        .unwrap_or_else(|| panic!("no row {name}"));
    let marker = format!("data-col=\"{col}\"");
    let start = row
        .find(&marker)
        .unwrap_or_else(|| panic!("no {col} cell in {row}"));
    let cell = &row[start..];
    strip_tags(&format!("<td {}", &cell[..cell.find("</td>").unwrap()]))
}

#[tokio::test]
async fn credits_net_cost_tokens_and_last_spend_read_as_finance_expects() {
    let app = App::start().await;
    let admin = app.admin().await;
    // A workspace billed per image (no tokens) with a credit, on a day of its own.
    let mut render = line(
        "2026-11-18",
        "proj_render",
        None,
        "flux-pro",
        "4.00",
        Some(8),
    );
    render.category = Category::Image;
    render.unit = Unit::parse("images").unwrap();
    render.tokens = TokenCounts::default();
    render.quantity = Quantity::from_whole(8);
    render.credits = Money::parse_units("1.25").unwrap();
    write_day(
        &app,
        app.connection,
        "2026-11-18",
        &[("proj_render", "Renders")],
        &[render],
    )
    .await;
    let (_, html) = admin.get("/workspaces?period=last-7-days").await;
    assert_eq!(cell_of(&html, "Renders", "cost"), "$4.00");
    assert_eq!(cell_of(&html, "Renders", "credits"), "$1.25");
    assert_eq!(cell_of(&html, "Renders", "net_cost"), "$2.75");
    assert_eq!(
        cell_of(&html, "Renders", "tokens"),
        "—",
        "not billed in tokens"
    );
    assert_eq!(cell_of(&html, "Search", "tokens"), "5.0M");
    assert_eq!(cell_of(&html, "Search", "credits"), "$0.00");
    for (path, name) in [("/keys", "(no API key)"), ("/models", "flux-pro")] {
        let (_, page) = admin.get(&format!("{path}?period=last-7-days")).await;
        assert_eq!(cell_of(&page, name, "credits"), "$1.25", "{path}");
        assert_eq!(cell_of(&page, name, "net_cost"), "$2.75", "{path}");
    }
    // Workspace Management: "last seen" is the last day with spend.
    let (_, manage) = admin.get("/workspace-management").await;
    let search = row_text(&manage, "Search").unwrap();
    assert!(search.contains("2026-11-21"), "{search}");
    let bot = row_text(&manage, "Support Bot").unwrap();
    assert!(bot.contains("2026-11-22"), "{bot}");
    app.test.teardown().await;
}

#[tokio::test]
async fn an_unknown_address_gets_a_styled_page_and_pages_are_compressed_on_request() {
    let app = App::start().await;
    let admin = app.admin().await;
    let (status, page) = admin.get("/no/such/page").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(page.contains("<h1>Page not found</h1>"), "{page}");
    assert!(page.contains("There is no page at /no/such/page."));
    assert!(page.contains("/static/app.css") && page.contains("Back to the dashboard"));
    let api = reqwest::Client::new()
        .get(format!("{}/api/v1/no-such-route", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), StatusCode::NOT_FOUND);
    assert!(
        api.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    // gzip when asked: the page shrinks, and is the same page once inflated.
    let plain = admin.get_response("/providers").await;
    assert!(plain.headers().get("content-encoding").is_none());
    let plain = plain.text().await.unwrap();
    let zipped = admin
        .client
        .get(format!("{}/providers", app.base))
        .header(COOKIE, &admin.cookie)
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(zipped.headers()["content-encoding"], "gzip");
    let bytes = zipped.bytes().await.unwrap();
    // Compressed about as well as gzip's default level does on the same page (not a fixed
    // ratio, which a page full of figures may miss), and the very same page once inflated.
    let mut reference = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut reference, plain.as_bytes()).unwrap();
    let reference = reference.finish().unwrap();
    assert!(
        bytes.len() * 10 <= reference.len() * 11 + 640,
        "{} bytes, gzip's default level gives {} (of {} plain)",
        bytes.len(),
        reference.len(),
        plain.len()
    );
    let mut inflated = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&bytes[..]), &mut inflated)
        .unwrap();
    // The CSRF token and flash differ per response only if the session changes; it does not.
    assert_eq!(inflated, plain);
    // Brotli when asked, and preferred when both are acceptable: the same bytes once decoded,
    // smaller than gzip's.
    for accept in ["br", "gzip, deflate, br", "br;q=1.0, gzip;q=0.8"] {
        let response = admin
            .client
            .get(format!("{}/providers", app.base))
            .header(COOKIE, &admin.cookie)
            .header("accept-encoding", accept)
            .send()
            .await
            .unwrap();
        assert_eq!(response.headers()["content-encoding"], "br", "{accept}");
        assert!(
            response
                .headers()
                .get_all("vary")
                .iter()
                .any(|v| v.to_str().unwrap().eq_ignore_ascii_case("accept-encoding")),
            "{accept}"
        );
        let compressed = response.bytes().await.unwrap();
        assert!(
            compressed.len() < bytes.len(),
            "{accept}: brotli {} bytes, gzip {}",
            compressed.len(),
            bytes.len()
        );
        let mut decoded = Vec::new();
        brotli_decompressor::BrotliDecompress(&mut &compressed[..], &mut decoded).unwrap();
        assert_eq!(decoded, plain.as_bytes(), "{accept}");
    }
    // gzip still wins when the client prefers it, and neither is identity.
    let preferred = admin
        .client
        .get(format!("{}/providers", app.base))
        .header(COOKIE, &admin.cookie)
        .header("accept-encoding", "gzip;q=1.0, br;q=0.5")
        .send()
        .await
        .unwrap();
    assert_eq!(preferred.headers()["content-encoding"], "gzip");
    for accept in ["identity", "deflate, zstd", "br;q=0, gzip;q=0"] {
        let response = admin
            .client
            .get(format!("{}/providers", app.base))
            .header(COOKIE, &admin.cookie)
            .header("accept-encoding", accept)
            .send()
            .await
            .unwrap();
        assert!(
            response.headers().get("content-encoding").is_none(),
            "{accept}"
        );
        assert_eq!(response.text().await.unwrap(), plain, "{accept}");
    }
    app.test.teardown().await;
}

#[tokio::test]
async fn aws_bedrock_is_added_with_key_id_secret_and_region_fields() {
    let app = App::start().await;
    let admin = app.admin().await;
    let (_, page) = admin.get("/connections").await;
    assert!(page.contains("name=\"aws_access_key_id\""));
    assert!(page.contains("<option value=\"us-east-1\" selected>us-east-1 (N. Virginia)</option>"));
    assert!(
        page.contains("Connected</td>")
            || page.contains("Pending</td>")
            || page.contains("Error</td>")
    );
    // A wrong key id: said at the top of the form, the id and region kept, the secret not.
    let response = admin
        .post(
            "/connections",
            &[
                ("provider", "bedrock"),
                ("name", "aws-prod"),
                ("credential", ""),
                ("base_url", ""),
                ("aws_access_key_id", "XYZ123"),
                ("aws_secret_access_key", "very-secret-value-42"),
                ("aws_region", "eu-west-1"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = response.text().await.unwrap();
    let error = html
        .find("id=\"connection-error\"")
        .expect("the error is said");
    assert!(
        error < html.find("name=\"provider\"").unwrap(),
        "at the top of the form"
    );
    assert!(html.contains("data-focus"));
    assert!(html.contains("IAM access key id"), "{html}");
    assert!(html.contains("value=\"XYZ123\""), "the key id is kept");
    assert!(html.contains("<option value=\"eu-west-1\" selected>"));
    assert!(html.contains("<option value=\"bedrock\" selected>"));
    assert!(
        !html.contains("very-secret-value-42"),
        "the secret came back"
    );
    // The right fields against the Cost Explorer stand-in: checked and added.
    let fake = spendlens_fakes::bedrock::BedrockFake::builder()
        .seed(3)
        .today(time::macros::date!(2026 - 11 - 21))
        .build()
        .spawn()
        .await
        .unwrap();
    let response = admin
        .post(
            "/connections",
            &[
                ("provider", "bedrock"),
                ("name", "aws-prod"),
                ("credential", ""),
                ("base_url", fake.endpoint_url()),
                ("aws_access_key_id", fake.access_key_id()),
                ("aws_secret_access_key", fake.secret_access_key()),
                ("aws_region", "us-east-1"),
            ],
        )
        .await;
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "{}",
        response.text().await.unwrap()
    );
    let added = app
        .engine
        .store()
        .list_connections(app.org)
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.name == "aws-prod")
        .expect("the connection is saved");
    assert_eq!(added.provider, ProviderKind::Bedrock);
    let hint = added.credential_hint.unwrap();
    assert!(hint.starts_with(&fake.access_key_id()[..4]), "{hint}");
    app.test.teardown().await;
}
