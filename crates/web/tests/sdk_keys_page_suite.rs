//! The Connections page's SDK keys section through the real server (SQLite, or PostgreSQL with
//! `SPENDLENS_TEST_DATABASE_URL`): an admin creates a key (shown once), regenerates and revokes
//! it only after a confirmation page, a viewer sees the list without the buttons, and every
//! change is audited.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a failing test should stop loudly

use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use spendlens_domain::{FixedClock, PriceCatalog};
use spendlens_providers::HttpSettings;
use spendlens_store::testing::TestStore;
use spendlens_store::vault::Vault;
use spendlens_store::{IngestKeyCheck, Role};
use spendlens_sync::{SyncEngine, SyncSettings};
use spendlens_web::dashboard::session::hash_password;
use time::macros::datetime;

const PASSWORD: &str = "correct horse battery staple";
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

    async fn login(base: &str, email: &str) -> Browser {
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
                ("password", PASSWORD),
                ("csrf", &csrf),
                ("next", "/connections"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "login failed");
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

/// The secret shown on a page, if any.
fn shown_secret(html: &str) -> Option<String> {
    let start = html.find("sl_ingest_")?;
    let end = start + html[start..].find('<')?;
    let text = &html[start..end];
    (text.len() == "sl_ingest_".len() + 64).then(|| text.to_owned())
}

#[tokio::test]
async fn sdk_keys_are_created_once_regenerated_and_revoked_after_confirmation() {
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
            owner: "sdk-keys-test".into(),
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

    let admin = Browser::login(&base, "admin@example.com").await;
    let (status, page) = admin.get("/connections").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("SDK keys") && page.contains("No SDK keys yet"),
        "{page}"
    );

    // Create: the secret is on this page, once, with a copy button; not stored in the clear.
    let response = admin.post("/ingest-keys", &[("name", "checkout")]).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let page = response.text().await.unwrap();
    let secret = shown_secret(&page).expect("the new key is shown");
    assert!(page.contains("data-copy=\"new-ingest-key\""));
    assert!(matches!(
        store.check_ingest_key(&secret, NOW).await.unwrap(),
        IngestKeyCheck::Valid { .. }
    ));
    let (_, again) = admin.get("/connections").await;
    assert!(
        shown_secret(&again).is_none(),
        "the secret is shown only once"
    );
    assert!(again.contains("checkout") && again.contains('…'));
    let id = store.list_ingest_keys(org).await.unwrap()[0].id;

    // Regenerate: a confirmation page first; a POST without the confirmation changes nothing.
    let (status, confirm) = admin.get(&format!("/ingest-keys/{id}/regenerate")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(confirm.contains("stops working at once"), "{confirm}");
    let response = admin
        .post(&format!("/ingest-keys/{id}/regenerate"), &[])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(matches!(
        store.check_ingest_key(&secret, NOW).await.unwrap(),
        IngestKeyCheck::Valid { .. }
    ));
    let response = admin
        .post(
            &format!("/ingest-keys/{id}/regenerate"),
            &[("confirm", "regenerate")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let fresh = shown_secret(&response.text().await.unwrap()).expect("the new secret");
    assert_ne!(fresh, secret);
    assert!(matches!(
        store.check_ingest_key(&secret, NOW).await.unwrap(),
        IngestKeyCheck::Replaced { .. }
    ));

    // A viewer sees the keys but no buttons, and cannot act.
    let viewer = Browser::login(&base, "viewer@example.com").await;
    let (_, page) = viewer.get("/connections").await;
    assert!(page.contains("checkout") && !page.contains("Revoke…"));
    let response = viewer
        .post(
            &format!("/ingest-keys/{id}/revoke"),
            &[("confirm", "revoke")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);

    // Revoke, confirmed.
    let (_, confirm) = admin.get(&format!("/ingest-keys/{id}/revoke")).await;
    assert!(confirm.contains("will be refused"), "{confirm}");
    let response = admin
        .post(
            &format!("/ingest-keys/{id}/revoke"),
            &[("confirm", "revoke")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()[LOCATION], "/connections#sdk-keys");
    assert!(matches!(
        store.check_ingest_key(&fresh, NOW).await.unwrap(),
        IngestKeyCheck::Revoked { .. }
    ));
    let (_, page) = admin.get("/connections").await;
    assert!(page.contains("revoked"), "{page}");

    let actions: Vec<String> = store
        .audit_entries(org, 20)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.actor.contains("admin@example.com") && e.action.starts_with("ingest_key."))
        .map(|e| e.action)
        .collect();
    assert_eq!(
        actions,
        [
            "ingest_key.revoke",
            "ingest_key.regenerate",
            "ingest_key.create"
        ]
    );
    test.teardown().await;
}
