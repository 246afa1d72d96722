//! A Vertex connection's services and months over the JSON API and on its dashboard page,
//! through the real server against the BigQuery fake (SQLite, or PostgreSQL with
//! `SPENDLENS_TEST_DATABASE_URL`): the discovered services on the connection, an exclusion
//! stored, audited and read back, refused choices with their reason, the months with invoice
//! months beside UTC days, and the page's services and months tables.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a failing test should stop loudly

use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{COOKIE, SET_COOKIE};
use rsa::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
use serde_json::{Value, json};
use spendlens_domain::{PriceCatalog, ProviderKind, SyncRequest};
use spendlens_fakes::vertex::VertexFake;
use spendlens_providers::{CallStats, HttpSettings};
use spendlens_store::Role;
use spendlens_store::testing::TestStore;
use spendlens_store::vault::Vault;
use spendlens_sync::connections::AddConnection;
use spendlens_sync::{FixedClock, SyncEngine, SyncSettings};
use spendlens_web::dashboard::session::hash_password;
use time::macros::{date, datetime};

const PASSWORD: &str = "correct horse battery staple";

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
    let start = html.find(marker).unwrap() + marker.len();
    html[start..start + html[start..].find('"').unwrap()].to_owned()
}

#[tokio::test]
async fn services_and_months_of_a_vertex_connection_over_the_api_and_on_its_page() {
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
            owner: "services-test".into(),
            allowed_base_url_hosts: Vec::new(),
        },
    );
    let store = engine.store().clone();
    let org = store.ensure_default_org(engine.now()).await.unwrap();
    let key = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).unwrap();
    let private = key.to_pkcs8_pem(LineEnding::LF).unwrap().to_string();
    let public = key
        .to_public_key()
        .to_public_key_pem(LineEnding::LF)
        .unwrap();
    let fake = VertexFake::builder()
        .seed(5)
        .today(date!(2026 - 11 - 22))
        .public_key_pem(public)
        .build()
        .spawn()
        .await
        .unwrap();
    let (row, _) = engine
        .add_connection(
            org,
            AddConnection {
                provider: ProviderKind::Vertex,
                name: "vertex-prod",
                secret: &fake.service_account_key_json(&private),
                base_url: Some(fake.base_url()),
                skip_check: false,
                sync_interval_secs: 3600,
                backfill_days: 40,
                lookback_days: Some(3),
            },
        )
        .await
        .unwrap();
    let id = row.id.0;
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
    let token = store
        .create_api_token(org, "test", engine.now())
        .await
        .unwrap()
        .secret;
    store
        .create_user(
            org,
            "admin@example.com",
            &hash_password(PASSWORD).unwrap(),
            Role::Admin,
            engine.now(),
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
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let api = |method: reqwest::Method, path: &str| {
        client
            .request(method, format!("{base}/api/v1{path}"))
            .bearer_auth(&token)
    };
    let get = |path: String| {
        let request = api(reqwest::Method::GET, &path);
        async move {
            let response = request.send().await.unwrap();
            let status = response.status();
            (status, response.json::<Value>().await.unwrap())
        }
    };

    // The connection carries its services: the five AI ones counted, the others not.
    let truth = fake.truth();
    let (status, connection) = get(format!("/connections/{id}")).await;
    assert_eq!(status, StatusCode::OK, "{connection}");
    assert_eq!(connection["name"], "vertex-prod");
    let services = connection["services"].as_array().unwrap();
    let expected = truth.services(date!(2026 - 10 - 14), date!(2026 - 11 - 22));
    assert_eq!(services.len(), expected.len());
    for service in &expected {
        let found = services
            .iter()
            .find(|s| s["id"] == service.id.as_str())
            .unwrap();
        assert_eq!(found["name"], service.name.as_str());
        assert_eq!(found["counted"], service.is_ai, "{found}");
        assert_eq!(found["choice"], Value::Null);
    }
    let claude = expected
        .iter()
        .find(|s| s.name.starts_with("Claude"))
        .unwrap();
    assert_eq!(
        services
            .iter()
            .find(|s| s["id"] == claude.id.as_str())
            .unwrap()["kind"],
        "partner_model"
    );

    // Exclude Claude: stored, audited, and the next sync reads every stored day again.
    let response = api(
        reqwest::Method::PUT,
        &format!("/connections/{id}/services/{}", claude.id),
    )
    .json(&json!({"choice": "exclude"}))
    .send()
    .await
    .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["service"]["counted"], false);
    assert_eq!(body["service"]["choice"], "exclude");
    assert_eq!(body["reread_from"], "2026-10-14");
    let audit = store.audit_entries(org, 5).await.unwrap();
    let entry = audit
        .iter()
        .find(|e| e.action == "connection.service")
        .unwrap();
    assert_eq!(entry.subject, "vertex-prod");
    assert!(
        entry.detail.contains(&format!(
            "Claude Sonnet 4.5 [{}]: exclude (was default)",
            claude.id
        )),
        "{}",
        entry.detail
    );
    let (_, listed) = get(format!("/connections/{id}/services")).await;
    assert_eq!(listed["reread_from"], "2026-10-14");
    // Refused: a service the bill does not have, and a choice that is not one.
    let response = api(
        reqwest::Method::PUT,
        &format!("/connections/{id}/services/NOPE"),
    )
    .json(&json!({"choice": "include"}))
    .send()
    .await
    .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.unwrap();
    assert!(body.to_string().contains("has no service"), "{body}");
    let response = api(
        reqwest::Method::PUT,
        &format!("/connections/{id}/services/{}", claude.id),
    )
    .json(&json!({"choice": "maybe"}))
    .send()
    .await
    .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);

    // Months: UTC days beside invoice months, exactly the fake's.
    let (status, months) = get(format!("/connections/{id}/months")).await;
    assert_eq!(status, StatusCode::OK, "{months}");
    assert_eq!(months["invoice_months"], true);
    let rows = months["rows"].as_array().unwrap();
    let ai: Vec<String> = expected
        .iter()
        .filter(|s| s.is_ai)
        .map(|s| s.id.clone())
        .collect();
    let invoices = truth.by_invoice_month(date!(2026 - 10 - 14), date!(2026 - 11 - 22), |id| {
        ai.iter().any(|a| a == id)
    });
    let october = rows.iter().find(|r| r["month"] == "2026-10").unwrap();
    let dollars = |nanos: i64| spendlens_domain::Money::from_nanos(nanos).to_exact_string();
    assert_eq!(october["invoice"]["cost"], dollars(invoices["202610"].0));
    assert_eq!(october["differs"], true);

    // The page: sign in, see both tables, exclude one service with the form.
    let response = client.get(format!("{base}/login")).send().await.unwrap();
    let login_cookie = cookie_of(&response, "spendlens_login_csrf").unwrap();
    let csrf = csrf_in(&response.text().await.unwrap());
    let response = client
        .post(format!("{base}/login"))
        .header(COOKIE, format!("spendlens_login_csrf={login_cookie}"))
        .form(&[
            ("email", "admin@example.com"),
            ("password", PASSWORD),
            ("csrf", &csrf),
            ("next", "/connections"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let session = format!(
        "spendlens_session={}",
        cookie_of(&response, "spendlens_session").unwrap()
    );
    let page = |path: String| {
        let request = client.get(format!("{base}{path}")).header(COOKIE, &session);
        async move {
            let response = request.send().await.unwrap();
            (response.status(), response.text().await.unwrap())
        }
    };
    let (status, list) = page("/connections".to_owned()).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        list.contains(&format!("href=\"/connections/{id}\"")),
        "the name links to the page"
    );
    let (status, html) = page(format!("/connections/{id}")).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("Services of the bill") && html.contains("Spend per month"));
    assert!(html.contains(&format!("data-service=\"{}\"", claude.id)));
    assert!(
        html.contains("reads every stored day again from 2026-10-14"),
        "{html}"
    );
    assert!(html.contains("Invoice month: cost") && html.contains("class=\"differs\""));
    let bigquery = expected.iter().find(|s| s.name == "BigQuery").unwrap();
    let response = client
        .post(format!("{base}/connections/{id}/services"))
        .header(COOKIE, &session)
        .form(&[
            ("csrf", csrf_in(&html).as_str()),
            ("service_id", bigquery.id.as_str()),
            ("choice", "include"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let stored = store.connection_services(org, row.id).await.unwrap();
    let big = stored.iter().find(|s| s.id == bigquery.id).unwrap();
    assert!(big.counted && big.choice.is_some());
    fake.shutdown().await;
    test.teardown().await;
}
