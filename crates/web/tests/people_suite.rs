//! Users and API tokens in the dashboard through the real server (SQLite, or PostgreSQL with
//! `SPENDLENS_TEST_DATABASE_URL`): an admin changes a role (never their own, never the last
//! admin's), sets a new password for someone (ending their sessions), everyone changes their
//! own with the current one (other sessions end, this one stays); API tokens are created with
//! scopes and an expiry (the secret shown once and working on the API), listed, and revoked
//! only from a confirmation page. Viewers get 403 on all of it; every change is audited.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a failing test should stop loudly

use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{COOKIE, SET_COOKIE};
use spendlens_domain::{FixedClock, PriceCatalog};
use spendlens_providers::HttpSettings;
use spendlens_store::testing::TestStore;
use spendlens_store::vault::Vault;
use spendlens_store::{Role, Store};
use spendlens_sync::{SyncEngine, SyncSettings};
use spendlens_web::dashboard::session::hash_password;
use time::macros::datetime;

const PASSWORD: &str = "correct horse battery staple";
const NEW_PASSWORD: &str = "a quite different passphrase 7";
const NOW: time::OffsetDateTime = datetime!(2026-12-04 12:00 UTC);

struct Browser {
    client: reqwest::Client,
    base: String,
    cookie: String,
    csrf: String,
}

impl Browser {
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

    async fn post(&self, path: &str, pairs: &[(&str, &str)]) -> reqwest::Response {
        let mut form: Vec<(&str, &str)> = pairs.to_vec();
        form.push(("csrf", &self.csrf));
        self.client
            .post(format!("{}{path}", self.base))
            .header(COOKIE, &self.cookie)
            .form(&form)
            .send()
            .await
            .unwrap()
    }

    async fn login(base: &str, email: &str, password: &str) -> Browser {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let response = client.get(format!("{base}/login")).send().await.unwrap();
        let login_cookie = cookie_of(&response, "spendlens_login_csrf").unwrap();
        let csrf = csrf_in(&response.text().await.unwrap());
        let response = client
            .post(format!("{base}/login"))
            .header(COOKIE, format!("spendlens_login_csrf={login_cookie}"))
            .form(&[
                ("email", email),
                ("password", password),
                ("csrf", &csrf),
                ("next", "/connections"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            StatusCode::SEE_OTHER,
            "login of {email} failed"
        );
        let session = cookie_of(&response, "spendlens_session").unwrap();
        let mut browser = Browser {
            client,
            base: base.to_owned(),
            cookie: format!("spendlens_session={session}"),
            csrf: String::new(),
        };
        let (_, page) = browser.get("/connections").await;
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

/// Whether `email` can sign in with `password` (the login form answers 303 when it can).
async fn can_sign_in(base: &str, email: &str, password: &str) -> bool {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let response = client.get(format!("{base}/login")).send().await.unwrap();
    let login_cookie = cookie_of(&response, "spendlens_login_csrf").unwrap();
    let csrf = csrf_in(&response.text().await.unwrap());
    let response = client
        .post(format!("{base}/login"))
        .header(COOKIE, format!("spendlens_login_csrf={login_cookie}"))
        .form(&[
            ("email", email),
            ("password", password),
            ("csrf", &csrf),
            ("next", "/providers"),
        ])
        .send()
        .await
        .unwrap();
    response.status() == StatusCode::SEE_OTHER
}

async fn start() -> (String, Store, spendlens_store::OrgId, TestStore) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let test = TestStore::new().await.unwrap();
    let store = test.store.clone();
    let org = store.ensure_default_org(NOW).await.unwrap();
    for (email, role) in [
        ("admin@example.com", Role::Admin),
        ("viewer@example.com", Role::Viewer),
    ] {
        store
            .create_user(org, email, &hash_password(PASSWORD).unwrap(), role, NOW)
            .await
            .unwrap();
    }
    let engine = SyncEngine::new(
        store.clone(),
        Vault::from_key([5; 32]),
        PriceCatalog::built_in(),
        Arc::new(FixedClock::new(NOW)),
        SyncSettings {
            lease: Duration::from_secs(60),
            http: HttpSettings::default(),
            owner: "people-test".into(),
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
    (base, store, org, test)
}

async fn actions(store: &Store, org: spendlens_store::OrgId) -> Vec<(String, String, String)> {
    store
        .audit_entries(org, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.action, e.subject, e.detail))
        .collect()
}

#[tokio::test]
async fn admins_change_roles_and_passwords_and_everyone_changes_their_own() {
    let (base, store, org, test) = start().await;
    let admin = Browser::login(&base, "admin@example.com", PASSWORD).await;
    let viewer = Browser::login(&base, "viewer@example.com", PASSWORD).await;
    let admin_id = store
        .user_by_email(org, "admin@example.com")
        .await
        .unwrap()
        .id;
    let viewer_id = store
        .user_by_email(org, "viewer@example.com")
        .await
        .unwrap()
        .id;

    // The Users page offers a role picker and a password reset for others, not for oneself.
    let (status, users) = admin.get("/users").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        users.contains(&format!("action=\"/users/{viewer_id}/role\"")),
        "{users}"
    );
    assert!(!users.contains(&format!("action=\"/users/{admin_id}/role\"")));
    assert!(users.contains(&format!("href=\"/users/{viewer_id}/password\"")));
    assert!(users.contains("href=\"/tokens\""));

    // Viewers may change nothing.
    for path in [
        format!("/users/{admin_id}/role"),
        format!("/users/{admin_id}/password"),
    ] {
        let response = viewer
            .post(&path, &[("role", "viewer"), ("password", NEW_PASSWORD)])
            .await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{path}");
    }

    // The last active admin cannot be made a viewer (not even by themselves).
    let response = admin
        .post(&format!("/users/{admin_id}/role"), &[("role", "viewer")])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        store.get_user(org, admin_id).await.unwrap().role,
        Role::Admin
    );

    // Promote the viewer; now the first admin is not the last one.
    let response = admin
        .post(&format!("/users/{viewer_id}/role"), &[("role", "admin")])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        store.get_user(org, viewer_id).await.unwrap().role,
        Role::Admin
    );
    let (_, page) = admin.get("/users").await;
    let form = &page[page
        .find(&format!("action=\"/users/{viewer_id}/role\""))
        .unwrap()..];
    let form = &form[..form.find("</form>").unwrap()];
    assert!(form.contains("<option value=\"admin\" selected>"), "{form}");
    let response = admin
        .post(&format!("/users/{viewer_id}/role"), &[("role", "nobody")])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let response = admin
        .post(&format!("/users/{viewer_id}/role"), &[("role", "viewer")])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        store.get_user(org, viewer_id).await.unwrap().role,
        Role::Viewer
    );

    // An admin sets a new password for the viewer: a weak one is said on the form, a good one
    // ends all the viewer's sessions.
    let (status, form) = admin.get(&format!("/users/{viewer_id}/password")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(form.contains("Set a new password for viewer@example.com"));
    let response = admin
        .post(
            &format!("/users/{viewer_id}/password"),
            &[("password", "short"), ("password_confirm", "short")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = response.text().await.unwrap();
    let error_at = page.find("role=\"alert\"").expect("the error is said");
    assert!(
        error_at < page.find("name=\"password\"").unwrap(),
        "error at the top"
    );
    assert!(can_sign_in(&base, "viewer@example.com", PASSWORD).await);
    let response = admin
        .post(
            &format!("/users/{viewer_id}/password"),
            &[
                ("password", NEW_PASSWORD),
                ("password_confirm", NEW_PASSWORD),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (status, _) = viewer.get("/providers").await;
    assert_eq!(status, StatusCode::SEE_OTHER, "the viewer's session ended");
    assert!(!can_sign_in(&base, "viewer@example.com", PASSWORD).await);
    assert!(can_sign_in(&base, "viewer@example.com", NEW_PASSWORD).await);

    // The viewer changes their own password: the current one is checked, this browser stays
    // signed in, the others end.
    let viewer = Browser::login(&base, "viewer@example.com", NEW_PASSWORD).await;
    let other_browser = Browser::login(&base, "viewer@example.com", NEW_PASSWORD).await;
    let (status, own) = viewer.get("/account/password").await;
    assert_eq!(status, StatusCode::OK);
    assert!(own.contains("Current password"));
    let response = viewer
        .post(
            "/account/password",
            &[
                ("current", "not my password at all"),
                ("password", PASSWORD),
                ("password_confirm", PASSWORD),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("The current password is not right; nothing changed.")
    );
    let response = viewer
        .post(
            "/account/password",
            &[
                ("current", NEW_PASSWORD),
                ("password", PASSWORD),
                ("password_confirm", PASSWORD),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (status, _) = viewer.get("/providers").await;
    assert_eq!(status, StatusCode::OK, "this browser stays signed in");
    let (status, _) = other_browser.get("/providers").await;
    assert_eq!(
        status,
        StatusCode::SEE_OTHER,
        "the other browser is signed out"
    );
    assert!(can_sign_in(&base, "viewer@example.com", PASSWORD).await);

    // Sessions ended: the browser and the sign-in check before each change.
    let log = actions(&store, org).await;
    for (action, detail) in [
        ("user.role", "viewer -> admin"),
        ("user.role", "admin -> viewer"),
        ("user.password", "set by an admin; 2 session(s) ended"),
        (
            "user.password",
            "changed by the user; 2 other session(s) ended",
        ),
    ] {
        assert!(
            log.iter()
                .any(|(a, s, d)| a == action && s == "viewer@example.com" && d == detail),
            "no {action} {detail} in {log:?}"
        );
    }
    test.teardown().await;
}

/// The token shown on a page, if any.
fn shown_token(html: &str) -> Option<String> {
    let start = html.find("id=\"new-token\" class=\"secret\">")?
        + "id=\"new-token\" class=\"secret\">".len();
    let end = start + html[start..].find('<')?;
    Some(html[start..end].to_owned())
}

#[tokio::test]
async fn api_tokens_are_created_with_scopes_shown_once_and_revoked_after_confirmation() {
    let (base, store, org, test) = start().await;
    let admin = Browser::login(&base, "admin@example.com", PASSWORD).await;
    let viewer = Browser::login(&base, "viewer@example.com", PASSWORD).await;
    let (status, _) = viewer.get("/tokens").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let response = viewer.post("/tokens", &[("name", "sneaky")]).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);

    let (status, page) = admin.get("/tokens").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("No API tokens yet."));

    // A bad expiry or no name is said on the form; nothing is made.
    let response = admin
        .post("/tokens", &[("name", "ci"), ("expires_in_days", "forever")])
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        response.text().await.unwrap().contains("value=\"ci\""),
        "the name is kept"
    );
    let response = admin.post("/tokens", &[("name", "  ")]).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(store.list_api_tokens(org).await.unwrap().is_empty());

    // Create: read + sync, 30 days. The secret is on this answer only, and works on the API.
    let response = admin
        .post(
            "/tokens",
            &[
                ("name", "finance export"),
                ("scope_sync", "1"),
                ("expires_in_days", "30"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let page = response.text().await.unwrap();
    let secret = shown_token(&page).expect("the token is shown");
    assert!(secret.starts_with("sl_") && secret.len() == 51, "{secret}");
    let tokens = store.list_api_tokens(org).await.unwrap();
    assert_eq!(tokens.len(), 1);
    assert_eq!(tokens[0].scopes.to_string(), "read,sync");
    assert_eq!(tokens[0].expires_at, Some(NOW + time::Duration::days(30)));
    let api = reqwest::Client::new();
    let read = api
        .get(format!("{base}/api/v1/reports/providers"))
        .bearer_auth(&secret)
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), StatusCode::OK);
    let (_, listed) = admin.get("/tokens").await;
    assert!(!listed.contains(&secret), "shown once");
    assert!(listed.contains("finance export") && listed.contains("read,sync"));
    assert!(listed.contains(&format!("{}…", tokens[0].prefix)));

    // Revoke: only from the confirmation page, which names what stops.
    let id = tokens[0].id;
    let response = admin.post(&format!("/tokens/{id}/revoke"), &[]).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(
        store.list_api_tokens(org).await.unwrap()[0]
            .revoked_at
            .is_none()
    );
    let (status, confirm) = admin.get(&format!("/tokens/{id}/revoke")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(confirm.contains("Every script or tool using <strong>finance export</strong>"));
    let response = admin
        .post(&format!("/tokens/{id}/revoke"), &[("confirm", "revoke")])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let refused = api
        .get(format!("{base}/api/v1/reports/providers"))
        .bearer_auth(&secret)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    let (_, listed) = admin.get("/tokens").await;
    assert!(listed.contains("revoked"));

    let log = actions(&store, org).await;
    assert!(log.iter().any(|(a, s, d)| a == "token.create"
        && s == "finance export"
        && d.starts_with(&format!("token {id} scopes read,sync expires "))));
    assert!(log.iter().any(|(a, s, d)| a == "token.revoke"
        && s == "finance export"
        && d == &format!("token {id}")));
    test.teardown().await;
}

/// A stolen session must not become a fast way to guess the password: wrong current passwords
/// on the change form count against the sign-in throttle, are audited, and once the throttle
/// holds even the right password waits (429 with Retry-After) and signing in waits too.
#[tokio::test]
async fn guessing_the_current_password_is_throttled_like_signing_in() {
    let (base, store, org, test) = start().await;
    let viewer = Browser::login(&base, "viewer@example.com", PASSWORD).await;
    for guess in 0..5 {
        let response = viewer
            .post(
                "/account/password",
                &[
                    ("current", format!("guess number {guess}").as_str()),
                    ("password", NEW_PASSWORD),
                    ("password_confirm", NEW_PASSWORD),
                ],
            )
            .await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "guess {guess}"
        );
    }
    let response = viewer
        .post(
            "/account/password",
            &[
                ("current", PASSWORD),
                ("password", NEW_PASSWORD),
                ("password_confirm", NEW_PASSWORD),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = response
        .headers()
        .get("retry-after")
        .expect("a Retry-After header")
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry_after >= 1, "Retry-After {retry_after}");
    let body = response.text().await.unwrap();
    assert!(
        body.contains("Too many wrong passwords; nothing changed. Try again after"),
        "{body}"
    );
    // The same throttle holds the sign-in form; nothing changed (no password audit entry).
    assert!(!can_sign_in(&base, "viewer@example.com", PASSWORD).await);
    let log = actions(&store, org).await;
    let failed = log
        .iter()
        .filter(|(action, subject, _)| {
            action == "user.password.failed" && subject == "viewer@example.com"
        })
        .count();
    assert_eq!(failed, 5, "{log:?}");
    assert!(
        !log.iter().any(|(action, _, _)| action == "user.password"),
        "{log:?}"
    );
    test.teardown().await;
}
