//! The customer portal through the real server (SQLite, or PostgreSQL with
//! `SPENDLENS_TEST_DATABASE_URL`): an admin adds a tenant user bound to one customer on the
//! People page; signed in, the tenant lands on `/portal` and sees exactly that customer's
//! metered figures (the amounts ingested, to the cent), never another customer's — not by
//! editing the URL either; they add a cap under the platform's ceiling, are refused above it
//! with the ceiling named, cannot touch platform caps or another customer's, and delete only
//! after a confirmation page (audited). Every other route the router has — read from the
//! router's own source, so a new route is covered the day it is added — refuses a tenant.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a failing test should stop loudly

use crate::alerts_harness as harness;

use harness::App;
use reqwest::StatusCode;
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use serde_json::{Value, json};
use spendlens_store::Role;
use spendlens_web::dashboard::session::hash_password;

const PASSWORD: &str = "correct horse battery staple";

/// A browser with a session cookie; no redirects followed.
struct Session {
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

impl Session {
    /// Signs in with the login form; returns the session and where the login sent it.
    async fn sign_in(base: &str, email: &str) -> (Session, String) {
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
                ("next", "/providers"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "login failed");
        let landed = response.headers()[LOCATION].to_str().unwrap().to_owned();
        let cookie = format!(
            "spendlens_session={}",
            cookie_of(&response, "spendlens_session").unwrap()
        );
        let mut session = Session {
            client,
            base: base.to_owned(),
            cookie,
            csrf: String::new(),
        };
        let (status, page) = session.get(&landed).await;
        assert_eq!(status, StatusCode::OK, "{landed}: {page}");
        session.csrf = csrf_in(&page);
        (session, landed)
    }

    async fn send(&self, method: reqwest::Method, path: &str) -> reqwest::Response {
        self.client
            .request(method, format!("{}{path}", self.base))
            .header(COOKIE, &self.cookie)
            .send()
            .await
            .unwrap()
    }

    async fn get(&self, path: &str) -> (StatusCode, String) {
        let response = self.send(reqwest::Method::GET, path).await;
        let status = response.status();
        (status, response.text().await.unwrap())
    }

    async fn post(&self, path: &str, pairs: &[(&str, &str)]) -> (StatusCode, String) {
        let mut form: Vec<(&str, &str)> = pairs.to_vec();
        form.push(("csrf", &self.csrf));
        let response = self
            .client
            .post(format!("{}{path}", self.base))
            .header(COOKIE, &self.cookie)
            .form(&form)
            .send()
            .await
            .unwrap();
        let status = response.status();
        let location = response
            .headers()
            .get(LOCATION)
            .map(|l| l.to_str().unwrap().to_owned());
        let body = response.text().await.unwrap();
        (status, location.unwrap_or(body))
    }
}

async fn add_user(app: &App, email: &str, role: Role, customer: Option<&str>) {
    app.store
        .create_user_bound(
            app.org,
            email,
            &hash_password(PASSWORD).unwrap(),
            role,
            customer,
            spendlens_store::Actor {
                name: "test",
                at: harness::NOW,
            },
        )
        .await
        .unwrap();
}

/// Sends metered calls: (id, time, model, customer, cost or None for an unpriced call).
async fn ingest(app: &App, calls: &[(&str, &str, &str, &str, Option<&str>)]) {
    let events: Vec<Value> = calls
        .iter()
        .map(|(id, time, model, customer, cost)| {
            let mut event = json!({"id": id, "time": time, "provider": "openai", "model": model,
                "tokens": {"input": 1000, "output": 200}, "customer": customer});
            if let Some(cost) = cost {
                event["cost"] = json!(cost);
            }
            event
        })
        .collect();
    let (status, body) = app
        .call_as(
            &app.ingest_key,
            reqwest::Method::POST,
            "/api/v1/meter/events",
            Some(Value::Array(events)),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["accepted"], calls.len(), "{body}");
}

/// acme: three priced calls ($1.25 + $0.10 + $2.50 = $3.85) on three days and one unpriced;
/// globex: $7.77 on a model only it uses.
async fn seed(app: &App) {
    ingest(
        app,
        &[
            ("a1", "2026-12-01T10:00:00Z", "gpt-4o", "acme", Some("1.25")),
            (
                "a2",
                "2026-12-03T10:00:00Z",
                "gpt-4o-mini",
                "acme",
                Some("0.10"),
            ),
            ("a3", "2026-12-04T09:00:00Z", "gpt-4o", "acme", Some("2.50")),
            (
                "a4",
                "2026-12-04T09:30:00Z",
                "acme-homegrown-tuned-model",
                "acme",
                None,
            ),
            (
                "g1",
                "2026-12-02T10:00:00Z",
                "globex-secret-model",
                "globex",
                Some("7.77"),
            ),
        ],
    )
    .await;
}

async fn create_cap(app: &App, body: Value) -> i64 {
    let (status, cap) = app
        .call(reqwest::Method::POST, "/api/v1/budgets", Some(body))
        .await;
    assert_eq!(status, 201, "{cap}");
    cap["id"].as_i64().unwrap()
}

async fn cap(app: &App, id: i64) -> (u16, Value) {
    app.call(reqwest::Method::GET, &format!("/api/v1/budgets/{id}"), None)
        .await
}

fn assert_no_other_customer(page: &str) {
    for leak in ["globex", "7.77", "$7.7", "initech"] {
        assert!(!page.contains(leak), "the portal shows {leak:?}: {page}");
    }
}

#[tokio::test]
async fn a_tenant_sees_exactly_their_customer_and_nothing_else() {
    let app = App::start().await;
    seed(&app).await;
    add_user(&app, "admin@example.com", Role::Admin, None).await;
    let (admin, _) = Session::sign_in(&app.base, "admin@example.com").await;

    // The admin adds the tenant on the People page; a tenant without a customer is refused.
    let (status, page) = admin
        .post(
            "/users",
            &[
                ("email", "nobody@acme.example"),
                ("role", "tenant"),
                ("customer", " "),
                ("password", PASSWORD),
                ("password_confirm", PASSWORD),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("bound to one customer"), "{page}");
    let (status, to) = admin
        .post(
            "/users",
            &[
                ("email", "ops@acme.example"),
                ("role", "tenant"),
                ("customer", "acme"),
                ("password", PASSWORD),
                ("password_confirm", PASSWORD),
            ],
        )
        .await;
    assert_eq!((status, to.as_str()), (StatusCode::SEE_OTHER, "/users"));
    let (_, users) = admin.get("/users").await;
    assert!(users.contains("portal of <strong>acme</strong>"), "{users}");

    // Signing in lands on the portal, whatever `next` said.
    let (tenant, landed) = Session::sign_in(&app.base, "ops@acme.example").await;
    assert_eq!(landed, "/portal");
    let (status, page) = tenant.get("/portal").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("acme: spend"), "{page}");
    assert!(
        page.contains(r#"data-card="Cost">$3.85<"#),
        "the exact priced total of acme's calls: {page}"
    );
    assert!(page.contains(r#"data-card="Calls">4<"#), "{page}");
    assert!(
        page.contains("plus 1 unpriced call (cost unknown)"),
        "the unpriced call is counted apart: {page}"
    );
    assert!(page.contains(r#"data-card="Tokens">4,800<"#), "{page}");
    // The daily chart: a bar per day with calls, each with its exact amount.
    assert!(page.contains("2026-12-01: $1.25 over 1 call"), "{page}");
    assert!(page.contains("2026-12-03: $0.10 over 1 call"), "{page}");
    assert!(
        page.contains("2026-12-04: $2.50 over 2 calls, 1 unpriced"),
        "{page}"
    );
    // By model, and the records (newest first).
    assert!(
        page.contains("<code>gpt-4o</code>") && page.contains("$3.75"),
        "{page}"
    );
    assert!(page.contains("acme-homegrown-tuned-model"), "{page}");
    assert!(page.contains("unpriced"), "{page}");
    assert_no_other_customer(&page);

    // A shorter period: only 2026-12-04's calls.
    let (_, page) = tenant.get("/portal?from=2026-12-04&to=2026-12-04").await;
    assert!(page.contains(r#"data-card="Cost">$2.50<"#), "{page}");
    assert!(page.contains(r#"data-card="Calls">2<"#), "{page}");
    // A bad period says so and shows the default.
    let (status, page) = tenant.get("/portal?from=2026-12-05&to=2026-12-01").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains("is after to"), "{page}");

    // URL tampering: the customer comes from the session, never the request.
    for path in [
        "/portal?customer=globex",
        "/portal?customer=globex&period=last-30-days",
        "/portal/budgets?customer=globex",
    ] {
        let (status, page) = tenant.get(path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert_no_other_customer(&page);
    }
    for path in [
        "/customers?customer=globex",
        "/cost?customer=globex",
        "/cost/live?customer=globex",
        "/export/customers",
    ] {
        let response = tenant.send(reqwest::Method::GET, path).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{path}");
        assert_eq!(response.headers()[LOCATION], "/portal", "{path}");
    }
    let response = tenant
        .send(reqwest::Method::GET, "/api/v1/token-usage?customer=globex")
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let body: Value = response.json().await.unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("portal"),
        "{body}"
    );

    // The nav and every link on the portal stay inside it.
    for link in page_links(&tenant.get("/portal").await.1) {
        assert!(
            link.starts_with("/portal")
                || link.starts_with('#')
                || link == "/account/password"
                || link.starts_with("/static/"),
            "the portal links outside itself: {link}"
        );
    }

    // Moving the tenant to another customer is audited and takes effect at once.
    let tenant_id = app
        .store
        .user_by_email(app.org, "ops@acme.example")
        .await
        .unwrap()
        .id;
    let (status, _) = admin
        .post(
            &format!("/users/{tenant_id}/role"),
            &[("role", "tenant"), ("customer", "globex")],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, page) = tenant.get("/portal").await;
    assert!(page.contains(r#"data-card="Cost">$7.77<"#), "{page}");
    assert!(!page.contains("acme-homegrown"), "{page}");
    let audit = app.store.audit_entries(app.org, 50).await.unwrap();
    let moved = audit
        .iter()
        .find(|e| e.action == "user.customer")
        .expect("the customer change is audited");
    assert_eq!(moved.actor, "admin@example.com");
    assert_eq!(moved.detail, "customer acme -> globex");
    // A tenant made a viewer loses the binding (and the portal); audited as a role change.
    let (status, _) = admin
        .post(
            &format!("/users/{tenant_id}/role"),
            &[("role", "viewer"), ("customer", "globex")],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let audit = app.store.audit_entries(app.org, 50).await.unwrap();
    assert!(
        audit
            .iter()
            .any(|e| e.action == "user.role" && e.detail == "tenant of globex -> viewer"),
        "{audit:?}"
    );
    let (status, _) = tenant.get("/providers").await;
    assert_eq!(status, StatusCode::OK, "a viewer now reads the dashboard");
    let response = tenant.send(reqwest::Method::GET, "/portal").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()[LOCATION], "/customers");
    assert!(matches!(
        app.store.verify_audit(app.org).await.unwrap(),
        spendlens_store::AuditVerdict::Intact { .. }
    ));
}

#[tokio::test]
async fn one_amount_reads_the_same_in_card_chart_and_table() {
    let app = App::start().await;
    ingest(
        &app,
        &[
            (
                "i1",
                "2026-12-02T10:00:00Z",
                "gpt-4o",
                "initech",
                Some("526.2458139"),
            ),
            (
                "i2",
                "2026-12-03T10:00:00Z",
                "gpt-4o-mini",
                "initech",
                Some("0.0012346"),
            ),
        ],
    )
    .await;
    add_user(&app, "ops@initech.example", Role::Tenant, Some("initech")).await;
    let (tenant, _) = Session::sign_in(&app.base, "ops@initech.example").await;
    let (_, page) = tenant.get("/portal?from=2026-12-02&to=2026-12-02").await;
    assert!(page.contains(r#"data-card="Cost">$526.25<"#), "{page}");
    assert!(page.contains("2026-12-02: $526.25 over 1 call"), "{page}");
    assert!(
        page.contains(r#"<td class="num">$526.25</td>"#),
        "the by-model row shows the card's amount: {page}"
    );
    let models = &page[page.find(r#"id="portal-models""#).unwrap()..];
    let models = &models[..models.find("</table>").unwrap()];
    assert!(!models.contains("526.2458"), "{models}");
    // A cost record is one call's exact cost, as on Cost → Live.
    assert!(
        page.contains(r#"title="reported by the sender">$526.2458139<"#),
        "{page}"
    );
    // Under a dollar, the digits that matter, in the card, the chart and the table alike.
    let (_, page) = tenant.get("/portal?from=2026-12-03&to=2026-12-03").await;
    assert!(page.contains(r#"data-card="Cost">$0.001235<"#), "{page}");
    assert!(page.contains("2026-12-03: $0.001235 over 1 call"), "{page}");
    assert!(page.contains(r#"<td class="num">$0.001235</td>"#), "{page}");
}

#[tokio::test]
async fn no_metered_data_is_said_not_shown_as_zero() {
    let app = App::start().await;
    seed(&app).await;
    add_user(&app, "ops@newco.example", Role::Tenant, Some("newco")).await;
    let (tenant, _) = Session::sign_in(&app.base, "ops@newco.example").await;
    let (status, page) = tenant.get("/portal").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains(r#"id="no-data""#), "{page}");
    assert!(page.contains("unknown, not zero"), "{page}");
    assert!(
        page.contains(r#"data-card="Cost">no calls<"#) && !page.contains(r#"data-card="Cost">$0"#),
        "no invented zero: {page}"
    );
    assert!(page.contains(r#"data-card="Tokens">N/A<"#), "{page}");
    assert_no_other_customer(&page);
    assert!(!page.contains("acme"), "{page}");
    let (_, page) = tenant.get("/portal/budgets").await;
    assert!(page.contains(r#"id="no-caps""#), "{page}");
}

#[tokio::test]
async fn tenant_caps_sit_under_the_platform_ceiling_and_platform_caps_are_read_only() {
    let app = App::start().await;
    seed(&app).await;
    let ceiling = create_cap(
        &app,
        json!({"name": "acme ceiling", "customer": "acme", "period": "MONTHLY", "limit": "100"}),
    )
    .await;
    let globex_platform = create_cap(
        &app,
        json!({"name": "globex platform", "customer": "globex", "period": "MONTHLY", "limit": "50"}),
    )
    .await;
    let globex_own = create_cap(
        &app,
        json!({"name": "globex own", "customer": "globex", "period": "DAILY", "limit": "5", "provenance": "tenant"}),
    )
    .await;
    add_user(&app, "ops@acme.example", Role::Tenant, Some("acme")).await;
    let (tenant, _) = Session::sign_in(&app.base, "ops@acme.example").await;

    // The platform cap with its status; nothing of globex's.
    let (_, page) = tenant.get("/portal/budgets").await;
    assert!(
        page.contains("acme ceiling")
            && page.contains(r#"<span class="badge lock">platform</span>"#),
        "{page}"
    );
    assert!(page.contains("$3.85"), "acme's December spend: {page}");
    assert!(page.contains("read-only"), "{page}");
    assert_no_other_customer(&page);
    assert!(!page.contains("globex own"), "{page}");

    // A cap under the ceiling, whatever customer or provenance the form claims.
    let form = |name: &'static str, period: &'static str, limit: &'static str| {
        vec![
            ("name", name),
            ("customer", "globex"),
            ("provenance", "platform"),
            ("workspace", "prod"),
            ("api_key", "sk-someone-else"),
            ("model", "gpt-4o"),
            ("period", period),
            ("limit", limit),
            ("soft_pct", "50"),
            ("enabled", "on"),
        ]
    };
    let (status, to) = tenant
        .post("/portal/budgets", &form("acme gpt-4o daily", "DAILY", "4"))
        .await;
    assert_eq!(
        (status, to.as_str()),
        (StatusCode::SEE_OTHER, "/portal/budgets")
    );
    let (_, list) = app
        .call(reqwest::Method::GET, "/api/v1/budgets", None)
        .await;
    let mine = list["budgets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "acme gpt-4o daily")
        .unwrap()
        .clone();
    assert_eq!(mine["customer"], "acme");
    assert_eq!(mine["provenance"], "tenant");
    assert_eq!(mine["workspace"], Value::Null);
    assert_eq!(mine["api_key"], Value::Null);
    assert_eq!(mine["model"], "gpt-4o");
    let mine_id = mine["id"].as_i64().unwrap();
    // Its status: $2.50 of gpt-4o today against $4, soft at 50 % → amber.
    let (_, page) = tenant.get("/portal/budgets").await;
    let row = page
        .split("<tr ")
        .find(|r| r.contains(&format!("data-cap=\"{mine_id}\"")))
        .unwrap();
    assert!(
        row.contains(r#"data-state="soft""#) && row.contains("$2.50"),
        "{row}"
    );
    assert!(row.contains("yours") && row.contains("/delete"), "{row}");

    // Above the ceiling: refused, naming it, the typed values kept.
    let (status, page) = tenant
        .post("/portal/budgets", &form("acme big", "MONTHLY", "150"))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        page.contains("above the platform cap &#34;acme ceiling&#34;"),
        "{page}"
    );
    assert!(page.contains(&format!("id {ceiling}")), "{page}");
    assert!(page.contains("value=\"acme big\""), "{page}");

    // Platform caps: read-only. Another customer's caps: as if absent.
    for (id, expected) in [
        (ceiling, StatusCode::FORBIDDEN),
        (globex_platform, StatusCode::NOT_FOUND),
        (globex_own, StatusCode::NOT_FOUND),
        (99_999, StatusCode::NOT_FOUND),
    ] {
        let (status, page) = tenant.get(&format!("/portal/budgets/{id}/edit")).await;
        assert_eq!(status, expected, "edit {id}: {page}");
        let (status, _) = tenant
            .post(
                &format!("/portal/budgets/{id}"),
                &form("taken", "DAILY", "1"),
            )
            .await;
        assert_eq!(status, expected, "update {id}");
        let (status, _) = tenant.get(&format!("/portal/budgets/{id}/delete")).await;
        assert_eq!(status, expected, "confirm {id}");
        let (status, _) = tenant
            .post(
                &format!("/portal/budgets/{id}/delete"),
                &[("confirm", "delete")],
            )
            .await;
        assert_eq!(status, expected, "delete {id}");
    }
    for id in [ceiling, globex_platform, globex_own] {
        let (status, cap) = cap(&app, id).await;
        assert_eq!(status, 200);
        assert_eq!(cap["version"], 1, "untouched: {cap}");
    }

    // Editing their own cap: a new version, still theirs.
    let (status, _) = tenant
        .post(
            &format!("/portal/budgets/{mine_id}"),
            &[
                ("name", "acme gpt-4o daily"),
                ("customer", "globex"),
                ("period", "DAILY"),
                ("limit", "6"),
                ("soft_pct", "80"),
                ("enabled", "on"),
                ("expected_version", "1"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, edited) = cap(&app, mine_id).await;
    assert_eq!(
        (
            edited["version"].as_i64(),
            edited["limit"].as_str(),
            edited["customer"].as_str()
        ),
        (Some(2), Some("6.00"), Some("acme"))
    );

    // Deleting asks first: without the confirmation nothing goes.
    let (status, to) = tenant
        .post(&format!("/portal/budgets/{mine_id}/delete"), &[])
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(to, format!("/portal/budgets/{mine_id}/delete"));
    assert_eq!(cap(&app, mine_id).await.0, 200);
    let (status, page) = tenant
        .get(&format!("/portal/budgets/{mine_id}/delete"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("Delete the budget “acme gpt-4o daily”?"),
        "{page}"
    );
    assert!(page.contains("6.00 USD per day"), "{page}");
    let (status, _) = tenant
        .post(
            &format!("/portal/budgets/{mine_id}/delete"),
            &[("confirm", "delete")],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(cap(&app, mine_id).await.0, 404);
    let audit = app.store.audit_entries(app.org, 50).await.unwrap();
    let deleted = audit
        .iter()
        .find(|e| e.action == "budget.delete")
        .expect("the deletion is audited");
    assert_eq!(deleted.actor, "ops@acme.example");
    assert_eq!(deleted.subject, format!("budget {mine_id}"));
    assert!(
        audit
            .iter()
            .any(|e| e.action == "budget.create" && e.actor == "ops@acme.example")
    );
}

/// Every `(method, path)` a router source file declares with `.route("…", get(…).post(…))`.
fn routes_in(source: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let pieces: Vec<&str> = source.split(".route(").skip(1).collect();
    for piece in pieces {
        let piece = piece.trim_start();
        let Some(rest) = piece.strip_prefix('"') else {
            continue;
        };
        let path = &rest[..rest.find('"').unwrap()];
        let handlers = &rest[path.len()..];
        // The last route of a file: up to the end of its function.
        let handlers = &handlers[..handlers.find("\n}").unwrap_or(handlers.len())];
        for method in ["get", "post", "put", "delete"] {
            let called = handlers
                .match_indices(&format!("{method}("))
                .any(|(at, _)| {
                    at == 0
                        || !(handlers.as_bytes()[at - 1].is_ascii_alphanumeric()
                            || handlers.as_bytes()[at - 1] == b'_')
                });
            if called {
                out.push((method.to_owned(), path.to_owned()));
            }
        }
    }
    out
}

fn concrete(path: &str) -> String {
    path.replace("{view}", "providers")
        .replace("{id}", "1")
        .replace("{action}", "revoke")
        .replace("{format}", "pdf")
        .replace("{what}", "rules")
}

fn page_links(html: &str) -> Vec<String> {
    html.split("href=\"")
        .skip(1)
        .map(|rest| rest[..rest.find('"').unwrap()].to_owned())
        .collect()
}

#[tokio::test]
async fn every_route_but_the_portal_refuses_a_tenant() {
    let app = App::start().await;
    seed(&app).await;
    add_user(&app, "ops@acme.example", Role::Tenant, Some("acme")).await;
    add_user(&app, "viewer@example.com", Role::Viewer, None).await;
    let (tenant, _) = Session::sign_in(&app.base, "ops@acme.example").await;

    let pages = routes_in(include_str!("../src/dashboard/mod.rs"));
    let api: Vec<(String, String)> = routes_in(include_str!("../src/api/mod.rs"))
        .into_iter()
        .map(|(m, p)| (m, format!("/api/v1{p}")))
        .collect();
    let top: Vec<(String, String)> = routes_in(include_str!("../src/lib.rs"))
        .into_iter()
        .chain(routes_in(include_str!("../src/otlp.rs")))
        .collect();
    assert!(pages.len() > 60 && api.len() > 50, "{pages:?} {api:?}");
    assert!(top.iter().any(|(_, p)| p == "/metrics"), "{top:?}");
    // The OpenAPI list is inside what was read from the router.
    for (method, path) in spendlens_web::api::openapi::PATHS {
        assert!(
            api.iter()
                .any(|(m, p)| m == method && *p == format!("/api/v1{path}")),
            "{method} {path} is documented but not found in the router's source"
        );
    }

    let open = ["/login", "/logout", "/account/password"];
    let mut walked = 0;
    for (method, path) in pages.iter().chain(&api).chain(&top) {
        if path.starts_with("/portal")
            || open.contains(&path.as_str())
            || path.starts_with("/static/")
        {
            continue;
        }
        let url = concrete(path);
        let request_method: reqwest::Method = method.to_uppercase().parse().unwrap();
        let mut request = tenant
            .client
            .request(request_method.clone(), format!("{}{url}", app.base))
            .header(COOKIE, &tenant.cookie);
        if method != "get" && method != "delete" {
            request = if path.starts_with("/api/") {
                request.json(&json!({"customer": "acme"}))
            } else {
                request.form(&[("csrf", tenant.csrf.as_str()), ("customer", "acme")])
            };
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let location = response
            .headers()
            .get(LOCATION)
            .map(|l| l.to_str().unwrap().to_owned());
        let body = response.text().await.unwrap();
        let machine = path.starts_with("/api/")
            || path.starts_with("/v1/")
            || path == "/metrics"
            || path == "/healthz";
        if machine || method != "get" {
            assert_eq!(status, StatusCode::FORBIDDEN, "{method} {url}: {body}");
            assert!(body.contains("portal"), "{method} {url}: {body}");
        } else {
            assert_eq!(
                (status, location.as_deref()),
                (StatusCode::SEE_OTHER, Some("/portal")),
                "{method} {url}"
            );
        }
        assert!(!body.contains("globex"), "{method} {url}: {body}");
        walked += 1;
    }
    assert!(walked > 120, "walked {walked} routes");
    // Nothing above changed anything: no budget, no user, no token came of it.
    let (_, budgets) = app
        .call(reqwest::Method::GET, "/api/v1/budgets", None)
        .await;
    assert_eq!(budgets["count"], 0, "{budgets}");
    assert_eq!(app.store.list_users(app.org).await.unwrap().len(), 2);

    // Other users are not held by the guard.
    let (viewer, _) = Session::sign_in(&app.base, "viewer@example.com").await;
    for path in ["/providers", "/customers", "/cost", "/cost/budgets"] {
        let (status, _) = viewer.get(path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
    }
    let response = viewer.send(reqwest::Method::GET, "/portal").await;
    assert_eq!(response.headers()[LOCATION], "/customers");
    // A tenant still signs out and changes their own password.
    let (status, page) = tenant.get("/account/password").await;
    assert_eq!(status, StatusCode::OK);
    assert!(!page.contains("href=\"/providers\""), "{page}");
    let (status, to) = tenant.post("/logout", &[]).await;
    assert_eq!((status, to.as_str()), (StatusCode::SEE_OTHER, "/login"));
}

#[tokio::test]
async fn platform_caps_shared_by_every_customer_show_without_their_spend_and_cap_tenant_caps() {
    let app = App::start().await;
    seed(&app).await;
    let org_openai = create_cap(
        &app,
        json!({"name": "org openai monthly", "provider": "openai", "period": "MONTHLY", "limit": "20"}),
    )
    .await;
    create_cap(
        &app,
        json!({"name": "prod workspace cap", "workspace": "prod", "period": "DAILY", "limit": "9"}),
    )
    .await;
    add_user(&app, "ops@acme.example", Role::Tenant, Some("acme")).await;
    let (tenant, _) = Session::sign_in(&app.base, "ops@acme.example").await;

    // Shown, read-only, with what it governs and without the organization's spend; a cap on
    // the platform's own workspace is not shown.
    for path in ["/portal/budgets", "/portal"] {
        let (_, page) = tenant.get(path).await;
        let row = page
            .split(&format!(r#"data-cap="{org_openai}""#))
            .nth(1)
            .and_then(|rest| rest.split("</tr>").next())
            .unwrap_or_else(|| panic!("{path} lists the shared cap: {page}"));
        assert!(row.contains("org openai monthly"), "{row}");
        assert!(
            row.contains("every customer&#39;s calls together · provider OpenAI")
                || row.contains("every customer's calls together · provider OpenAI"),
            "{row}"
        );
        assert!(row.contains("not shown") && row.contains("$20.00"), "{row}");
        assert!(row.contains(r#"<span class="badge lock""#), "{row}");
        assert!(!page.contains("prod workspace cap"), "{path}: {page}");
        assert!(
            !page.contains("11.6"),
            "{path}: the organization's spend: {page}"
        );
        assert_no_other_customer(&page);
    }
    let (_, form) = tenant.get("/portal/budgets/new").await;
    assert!(
        form.contains("org openai monthly: $20.00 MONTHLY, every customer together"),
        "{form}"
    );

    // A tenant cap on OpenAI above it is refused naming it; one on another provider is not.
    let cap = |name: &'static str, provider: &'static str, limit: &'static str| {
        vec![
            ("name", name),
            ("provider", provider),
            ("period", "MONTHLY"),
            ("limit", limit),
            ("soft_pct", "80"),
            ("enabled", "on"),
        ]
    };
    let (status, page) = tenant
        .post("/portal/budgets", &cap("acme openai", "openai", "30"))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{page}");
    assert!(
        page.contains("above the platform cap &#34;org openai monthly&#34;"),
        "{page}"
    );
    let (status, to) = tenant
        .post("/portal/budgets", &cap("acme anthropic", "anthropic", "30"))
        .await;
    assert_eq!(
        (status, to.as_str()),
        (StatusCode::SEE_OTHER, "/portal/budgets")
    );
}
