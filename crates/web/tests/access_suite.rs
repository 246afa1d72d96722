//! The access log through the real server on a random port (SQLite, or PostgreSQL with
//! `SPENDLENS_TEST_DATABASE_URL`): sign-ins (good, wrong password, unknown email), API token
//! use (once per token and minute), denied requests (unknown token, a read token on an admin
//! route, an ingest key reading, a viewer changing something), the list API's filters and
//! errors, the admin-only page, the append-only triggers and the hash chain catching an edit.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a failing test should stop loudly

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use spendlens_domain::{FixedClock, PriceCatalog, Scopes};
use spendlens_providers::HttpSettings;
use spendlens_store::testing::TestStore;
use spendlens_store::vault::Vault;
use spendlens_store::{AccessFilter, AccessKind, Backend, OrgId, Role, Store};
use spendlens_sync::{SyncEngine, SyncSettings};
use spendlens_web::dashboard::session::hash_password;
use time::macros::datetime;

const NOW: time::OffsetDateTime = datetime!(2026-12-04 12:00 UTC);
const PASSWORD: &str = "correct horse battery staple";

struct App {
    base: String,
    admin_token: String,
    read_token: String,
    store: Store,
    org: OrgId,
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
            Vault::from_key([4; 32]),
            PriceCatalog::built_in(),
            Arc::new(FixedClock::new(NOW)),
            SyncSettings {
                lease: Duration::from_secs(60),
                http: HttpSettings::default(),
                owner: "access-test".into(),
                allowed_base_url_hosts: Vec::new(),
            },
        );
        let hash = hash_password(PASSWORD).unwrap();
        for (email, role) in [
            ("admin@example.com", Role::Admin),
            ("viewer@example.com", Role::Viewer),
        ] {
            store
                .create_user(org, email, &hash, role, NOW)
                .await
                .unwrap();
        }
        let admin_token = store
            .create_api_token(org, "ops", NOW)
            .await
            .unwrap()
            .secret;
        let read_token = store
            .create_scoped_api_token(
                org,
                "grafana",
                Scopes::READ,
                None,
                spendlens_store::Actor {
                    name: "test",
                    at: NOW,
                },
            )
            .await
            .unwrap()
            .secret;
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
            admin_token,
            read_token,
            store,
            org,
            test,
        }
    }

    async fn get(&self, token: &str, path: &str) -> (u16, String) {
        let response = reqwest::Client::new()
            .get(format!("{}{path}", self.base))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    }

    async fn entries(&self, query: &str) -> Vec<Value> {
        let (status, body) = self
            .get(&self.admin_token, &format!("/api/v1/access-log?{query}"))
            .await;
        assert_eq!(status, 200, "{body}");
        let json: Value = serde_json::from_str(&body).unwrap();
        if query.contains("before=") {
            // Older pages do not check the chain again (it would make paging quadratic).
            assert!(json["chain"].is_null(), "{json}");
        } else {
            assert_eq!(json["chain"]["intact"], true, "{json}");
        }
        json["entries"].as_array().unwrap().clone()
    }

    /// Signs in; returns the session cookie on success, the status otherwise.
    async fn sign_in(&self, email: &str, password: &str) -> Result<String, u16> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let page = client
            .get(format!("{}/login", self.base))
            .send()
            .await
            .unwrap();
        let login_cookie = cookie_of(&page, "spendlens_login_csrf").unwrap();
        let html = page.text().await.unwrap();
        let marker = "name=\"csrf\" value=\"";
        let start = html.find(marker).unwrap() + marker.len();
        let csrf = &html[start..start + html[start..].find('"').unwrap()];
        let response = client
            .post(format!("{}/login", self.base))
            .header("cookie", format!("spendlens_login_csrf={login_cookie}"))
            .form(&[("email", email), ("password", password), ("csrf", csrf)])
            .send()
            .await
            .unwrap();
        match response.status().as_u16() {
            303 => Ok(format!(
                "spendlens_session={}",
                cookie_of(&response, "spendlens_session").unwrap()
            )),
            other => Err(other),
        }
    }

    async fn page(&self, cookie: &str, method: reqwest::Method, path: &str) -> (u16, String) {
        let response = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
            .request(method, format!("{}{path}", self.base))
            .header("cookie", cookie)
            .header("content-type", "application/x-www-form-urlencoded")
            .body("csrf=nope&email=x%40example.com&role=viewer&password=whatever")
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    }
}

fn cookie_of(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| {
            let (key, value) = v.split(';').next()?.split_once('=')?;
            (key == name && !value.is_empty()).then(|| value.to_owned())
        })
}

fn kinds(entries: &[Value]) -> Vec<String> {
    entries
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn sign_ins_token_use_and_denials_are_logged_listed_and_chained() {
    let app = App::start().await;

    // Sign-ins: a wrong password, an unknown account, then the right one.
    assert_eq!(
        app.sign_in("viewer@example.com", "wrong password here")
            .await,
        Err(401)
    );
    assert_eq!(
        app.sign_in("nobody@example.com", "wrong password here")
            .await,
        Err(401)
    );
    let viewer = app.sign_in("viewer@example.com", PASSWORD).await.unwrap();
    let failed = app.entries("kind=sign_in_failed").await;
    assert_eq!(failed.len(), 2, "{failed:?}");
    assert!(failed.iter().any(|e| e["actor"] == "nobody@example.com"
        && e["detail"].as_str().unwrap().contains("no such account")));
    assert!(
        failed
            .iter()
            .all(|e| e["status"] == 401 && e["path"] == "/login")
    );
    let signed = app.entries("kind=sign_in").await;
    assert_eq!(signed.len(), 1);
    assert_eq!(signed[0]["actor"], "viewer@example.com");
    assert_eq!(signed[0]["client"], "127.0.0.1");

    // Token use: twice in the same minute is one entry, with the first request's line.
    for _ in 0..2 {
        let (status, _) = app.get(&app.read_token, "/api/v1/reports/providers").await;
        assert_eq!(status, 200);
    }
    let used = app.entries("kind=token_use&actor=grafana").await;
    assert_eq!(used.len(), 1, "{used:?}");
    assert_eq!(used[0]["path"], "/api/v1/reports/providers");
    assert!(
        used[0]["actor"]
            .as_str()
            .unwrap()
            .starts_with("API token \"grafana\" (sl_")
    );

    // Denials: an unknown token, a read token on an admin route, an ingest key reading, a
    // viewer changing something and opening the admin-only page.
    let unknown = "sl_0123456789abcdef0123456789abcdef0123456789abcdef";
    assert_eq!(app.get(unknown, "/api/v1/connections").await.0, 401);
    assert_eq!(app.get(&app.read_token, "/api/v1/access-log").await.0, 403);
    let ingest = app
        .store
        .create_ingest_key(
            app.org,
            "k",
            spendlens_store::Actor {
                name: "test",
                at: NOW,
            },
        )
        .await
        .unwrap()
        .secret;
    assert_eq!(app.get(&ingest, "/api/v1/reports/providers").await.0, 403);
    assert_eq!(
        app.page(&viewer, reqwest::Method::POST, "/users").await.0,
        403
    );
    assert_eq!(
        app.page(&viewer, reqwest::Method::GET, "/access-log")
            .await
            .0,
        403
    );
    let denied = app.entries("kind=denied").await;
    let actors: Vec<&str> = denied
        .iter()
        .map(|e| e["actor"].as_str().unwrap())
        .collect();
    assert_eq!(denied.len(), 5, "{actors:?}");
    assert!(
        actors
            .iter()
            .any(|a| a.starts_with("unknown credential sl_") && a.contains('…'))
    );
    assert!(
        actors
            .iter()
            .any(|a| a.starts_with("API token \"grafana\""))
    );
    assert!(
        actors
            .iter()
            .any(|a| a.starts_with("ingest key sl_ingest_") && a.contains('…'))
    );
    assert_eq!(
        actors
            .iter()
            .filter(|a| **a == "viewer@example.com")
            .count(),
        2
    );
    for secret in [
        unknown,
        ingest.as_str(),
        app.read_token.as_str(),
        app.admin_token.as_str(),
    ] {
        let (_, body) = app
            .get(&app.admin_token, "/api/v1/access-log?limit=1000")
            .await;
        assert!(!body.contains(secret), "a secret is in the access log");
    }
    // The wrong-password answers are sign-in entries, not denials too.
    assert!(denied.iter().all(|e| e["path"] != "/login"));

    // Filters, paging and errors.
    let all = app.entries("limit=1000").await;
    let page = app.entries("limit=3").await;
    assert_eq!(page.len(), 3);
    let last = page[2]["id"].as_i64().unwrap();
    let next = app.entries(&format!("limit=3&before={last}")).await;
    assert!(next.iter().all(|e| e["id"].as_i64().unwrap() < last));
    assert_eq!(
        app.entries("kind=sign_in,denied").await.len(),
        kinds(&all)
            .iter()
            .filter(|k| *k == "sign_in" || *k == "denied")
            .count()
    );
    assert!(
        app.entries("from=2026-12-05&to=2026-12-05")
            .await
            .is_empty()
    );
    for (query, expect) in [
        ("kind=logins", "unknown kind"),
        ("limit=0", "limit must be 1 to 1000"),
        ("from=2026-12-05&to=2026-12-01", "after"),
    ] {
        let (status, body) = app
            .get(&app.admin_token, &format!("/api/v1/access-log?{query}"))
            .await;
        assert_eq!(status, 400, "{query}");
        assert!(body.contains(expect), "{query}: {body}");
    }

    // The admin's page lists them with the chain's verdict.
    let admin = app.sign_in("admin@example.com", PASSWORD).await.unwrap();
    let (status, html) = app
        .page(&admin, reqwest::Method::GET, "/access-log?kind=denied")
        .await;
    assert_eq!(status, 200);
    assert!(html.contains("The hash chain of all") && html.contains("verifies"));
    assert_eq!(html.matches("data-kind=\"denied\"").count(), 5);
    let (status, html) = app
        .page(
            &admin,
            reqwest::Method::GET,
            &format!("/access-log?before={last}"),
        )
        .await;
    assert_eq!(status, 200);
    assert!(
        html.contains("The hash chain is checked on the first page of the log"),
        "an older page says where the verdict is"
    );
    assert!(html.contains("href=\"/access-log\""), "the tab");

    // Append-only: the database refuses edits and deletions.
    let edit = "UPDATE access_log SET actor = 'someone else' WHERE id = 1";
    assert!(
        app.store.execute_for_tests(edit).await.is_err(),
        "an edit went through"
    );
    assert!(
        app.store
            .execute_for_tests("DELETE FROM access_log")
            .await
            .is_err()
    );
    // Past the triggers (someone with the database's owner rights), the chain says so.
    let bypass = match app.store.backend() {
        Backend::Sqlite => format!("DROP TRIGGER access_log_no_update; {edit}"),
        Backend::Postgres => {
            format!("ALTER TABLE access_log DISABLE TRIGGER access_log_no_update; {edit}")
        }
    };
    app.store.execute_for_tests(&bypass).await.unwrap();
    let verdict = app.store.verify_access_log(app.org).await.unwrap();
    assert!(
        matches!(
            verdict,
            spendlens_store::AuditVerdict::Broken { entry_id: 1, .. }
        ),
        "{verdict:?}"
    );
    let (_, body) = app.get(&app.admin_token, "/api/v1/access-log").await;
    let json: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(json["chain"]["intact"], false);
    let filter = AccessFilter {
        kinds: vec![AccessKind::SignIn],
        limit: 10,
        ..AccessFilter::default()
    };
    assert!(
        !app.store
            .access_entries(app.org, &filter)
            .await
            .unwrap()
            .is_empty()
    );
    drop(app.test);
}
