//! The attribution views (Customers, Products, Agents) through the real server on a random
//! port (SQLite, or PostgreSQL with `SPENDLENS_TEST_DATABASE_URL`): known metered calls over
//! two periods go in through `POST /api/v1/meter/events`; the JSON report, the CSV export and
//! the dashboard page must show the exact figures worked out by hand below — cost with
//! unpriced calls apart, calls, tokens with unknown usage apart, average cost per priced call,
//! error share, previous cost, trend (and "no comparable history" before metering began),
//! share, the "(none)" row, sort, filters and a total row that adds up.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a failing test should stop loudly

use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{COOKIE, SET_COOKIE};
use serde_json::{Value, json};
use spendlens_domain::{FixedClock, PriceCatalog};
use spendlens_providers::HttpSettings;
use spendlens_store::Role;
use spendlens_store::testing::TestStore;
use spendlens_store::vault::Vault;
use spendlens_sync::{SyncEngine, SyncSettings};
use spendlens_web::dashboard::session::hash_password;
use time::macros::datetime;

const NOW: time::OffsetDateTime = datetime!(2026-12-04 12:00 UTC);
const PASSWORD: &str = "correct horse battery staple";
/// Ten days ending today; the previous period is 2026-11-15..24, after metering began (11-10).
const RANGE: &str = "from=2026-11-25&to=2026-12-04";

struct App {
    base: String,
    token: String,
    ingest: String,
    client: reqwest::Client,
    cookie: String,
    _test: TestStore,
}

impl App {
    async fn start() -> App {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let test = TestStore::new().await.unwrap();
        let store = test.store.clone();
        let org = store.ensure_default_org(NOW).await.unwrap();
        store
            .create_user(
                org,
                "viewer@example.com",
                &hash_password(PASSWORD).unwrap(),
                Role::Viewer,
                NOW,
            )
            .await
            .unwrap();
        let token = store
            .create_api_token(org, "admin", NOW)
            .await
            .unwrap()
            .secret;
        let ingest = store
            .create_ingest_key(
                org,
                "suite",
                spendlens_store::Actor {
                    name: "test",
                    at: NOW,
                },
            )
            .await
            .unwrap()
            .secret;
        let engine = SyncEngine::new(
            store.clone(),
            Vault::from_key([5; 32]),
            PriceCatalog::built_in(),
            Arc::new(FixedClock::new(NOW)),
            SyncSettings {
                lease: Duration::from_secs(60),
                http: HttpSettings {
                    timeout: Duration::from_secs(5),
                    connect_timeout: Duration::from_secs(2),
                    max_retries: 0,
                    base_backoff: Duration::from_millis(1),
                    max_backoff: Duration::from_millis(2),
                    max_retry_after: Duration::from_millis(10),
                },
                owner: "attribution-test".into(),
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
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let cookie = login(&client, &base).await;
        App {
            base,
            token,
            ingest,
            client,
            cookie,
            _test: test,
        }
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
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        assert_eq!(status, 200, "{body}");
        assert_eq!(
            body["accepted"].as_u64(),
            Some(events.as_array().unwrap().len() as u64),
            "{body}"
        );
    }

    async fn api(&self, path: &str) -> (StatusCode, String) {
        let response = self
            .client
            .get(format!("{}/api/v1/reports/{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap();
        (response.status(), response.text().await.unwrap())
    }

    async fn json(&self, path: &str) -> Value {
        let (status, text) = self.api(path).await;
        assert_eq!(status, 200, "{path}: {text}");
        serde_json::from_str(&text).unwrap()
    }

    async fn page(&self, path: &str) -> (StatusCode, String) {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .header(COOKIE, &self.cookie)
            .send()
            .await
            .unwrap();
        (response.status(), response.text().await.unwrap())
    }
}

async fn login(client: &reqwest::Client, base: &str) -> String {
    let response = client.get(format!("{base}/login")).send().await.unwrap();
    let login_cookie = cookie_of(&response, "spendlens_login_csrf").unwrap();
    let html = response.text().await.unwrap();
    let marker = "name=\"csrf\" value=\"";
    let start = html.find(marker).unwrap() + marker.len();
    let csrf = &html[start..start + html[start..].find('"').unwrap()];
    let response = client
        .post(format!("{base}/login"))
        .header(COOKIE, format!("spendlens_login_csrf={login_cookie}"))
        .form(&[
            ("email", "viewer@example.com"),
            ("password", PASSWORD),
            ("csrf", csrf),
            ("next", "/customers"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER, "login failed");
    format!(
        "spendlens_session={}",
        cookie_of(&response, "spendlens_session").unwrap()
    )
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

/// One metered call. `cost` is the reported cost (exact); `None` with model `mystery-1` (which
/// no catalog prices) makes an unpriced call.
#[expect(clippy::too_many_arguments, reason = "an event's fields, spelled out")]
fn call(
    id: &str,
    time: &str,
    customer: Option<&str>,
    product: Option<&str>,
    agent: Option<&str>,
    cost: Option<&str>,
    tokens: Option<(u64, u64)>,
    status: &str,
) -> Value {
    let mut event = json!({
        "id": id,
        "time": time,
        "provider": if cost.is_some() { "openai" } else { "groq" },
        "model": if cost.is_some() { "gpt-4o-mini" } else { "mystery-1" },
        "status": status,
    });
    let fields = [
        ("customer", customer),
        ("product", product),
        ("agent", agent),
        ("cost", cost),
    ];
    for (name, value) in fields {
        if let Some(value) = value {
            event[name] = json!(value);
        }
    }
    if let Some((input, output)) = tokens {
        event["tokens"] = json!({"input": input, "output": output});
    }
    event
}

/// The calls of the suite, by hand:
///
/// | customer        | current period (11-25..12-04)                                   | previous (11-15..24) |
/// |-----------------|------------------------------------------------------------------|----------------------|
/// | beta            | 1 call $2.00, no usage, timeout                                  | —                    |
/// | acme            | $0.50 1000/200 ok; $0.25 400/100 error; unpriced 100/10 ok       | $0.50                |
/// | (no customer)   | 2 calls $0.10 each, 10/5 tokens                                  | —                    |
/// | "(none)" (real) | 1 call $0.05, 1/1 tokens                                         | —                    |
/// | old             | — (one call on 11-10: metering begins then)                      | —                    |
///
/// Totals: $3.00 now, $0.50 before; 7 calls, 1 unpriced, 2 failed, 1 without usage.
fn calls() -> Value {
    let now = "2026-12-01T10:00:00Z";
    json!([
        call(
            "b1",
            now,
            Some("beta"),
            Some("search"),
            Some("triage"),
            Some("2.00"),
            None,
            "timeout"
        ),
        call(
            "a1",
            now,
            Some("acme"),
            Some("chat"),
            None,
            Some("0.50"),
            Some((1000, 200)),
            "ok"
        ),
        call(
            "a2",
            "2026-11-25T00:00:00Z",
            Some("acme"),
            Some("chat"),
            None,
            Some("0.25"),
            Some((400, 100)),
            "error"
        ),
        call(
            "a3",
            "2026-12-04T11:59:00Z",
            Some("acme"),
            Some("chat"),
            None,
            None,
            Some((100, 10)),
            "ok"
        ),
        call(
            "n1",
            now,
            None,
            None,
            None,
            Some("0.10"),
            Some((10, 5)),
            "ok"
        ),
        call(
            "n2",
            now,
            None,
            None,
            None,
            Some("0.10"),
            Some((10, 5)),
            "ok"
        ),
        call(
            "q1",
            now,
            Some("(none)"),
            None,
            None,
            Some("0.05"),
            Some((1, 1)),
            "ok"
        ),
        call(
            "p1",
            "2026-11-20T08:00:00Z",
            Some("acme"),
            Some("chat"),
            None,
            Some("0.50"),
            Some((10, 10)),
            "ok"
        ),
        // Before both periods: only marks when metering began.
        call(
            "o1",
            "2026-11-10T08:00:00Z",
            Some("old"),
            None,
            None,
            Some("1.00"),
            Some((10, 10)),
            "ok"
        ),
    ])
}

fn row<'a>(report: &'a Value, name: Option<&str>) -> &'a Value {
    report["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"].as_str() == name && (name.is_some() || r["name"].is_null()))
        .unwrap_or_else(|| panic!("no row {name:?} in {report}"))
}

#[tokio::test]
async fn customers_products_and_agents_show_exact_figures_in_json_csv_and_html() {
    let app = App::start().await;
    app.send(&calls()).await;

    let report = app.json(&format!("customers?{RANGE}")).await;
    assert_eq!(report["view"], "customers");
    assert_eq!(report["attribution"], "customer");
    assert_eq!(report["metering_since"], "2026-11-10");
    assert_eq!(report["total_cost"], "3.00");
    assert_eq!(report["previous_total_cost"], "0.50");
    assert_eq!(report["total_calls"], 7);
    assert_eq!(report["unpriced_calls"], 1);
    assert_eq!(report["failed_calls"], 2);
    assert_eq!(report["usage_unknown_calls"], 1);
    assert_eq!(report["error_share_pct"], "28.6");
    assert_eq!(
        report["avg_cost_per_call"], "0.50",
        "$3.00 over 6 priced calls"
    );
    assert_eq!(report["trend"], "up");
    let names: Vec<Value> = report["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].clone())
        .collect();
    assert_eq!(
        names,
        [json!("beta"), json!("acme"), Value::Null, json!("(none)")]
    );

    let acme = row(&report, Some("acme"));
    assert_eq!(acme["cost"], "0.75", "the unpriced call is not in the cost");
    assert_eq!(acme["calls"], 3);
    assert_eq!(acme["unpriced_calls"], 1);
    assert_eq!(
        acme["avg_cost_per_call"], "0.375",
        "$0.75 over 2 priced calls"
    );
    assert_eq!(acme["failed_calls"], 1);
    assert_eq!(acme["error_share_pct"], "33.3");
    assert_eq!(acme["input_tokens"], 1500);
    assert_eq!(acme["output_tokens"], 310);
    assert_eq!(acme["previous_cost"], "0.50");
    assert_eq!(acme["trend"], "up");
    assert_eq!(acme["trend_pct"], "50");
    assert_eq!(acme["share_pct"], "25");
    let beta = row(&report, Some("beta"));
    assert_eq!(beta["error_share_pct"], "100");
    assert_eq!(beta["usage_unknown_calls"], 1);
    assert!(beta["input_tokens"].is_null(), "unknown usage is not zero");
    assert!(beta["total_tokens"].is_null());
    assert_eq!(beta["trend"], "new");
    let none = row(&report, None);
    assert_eq!(none["label"], "(none)");
    assert_eq!(none["cost"], "0.20");
    assert_eq!(none["calls"], 2);
    assert_eq!(none["share_pct"], "6.7");
    let named_none = row(&report, Some("(none)"));
    assert_eq!(named_none["cost"], "0.05");

    // CSV: every column, exact money, the unattributed row marked, a total that adds up.
    let (status, csv) = app.api(&format!("customers?{RANGE}&format=csv")).await;
    assert_eq!(status, 200);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "# spendlens report: customers");
    assert_eq!(
        lines[3],
        "Customer,Attributed,Cost,Unpriced calls,Calls,Failed calls,Error share,Avg cost/call,Input tokens,Output tokens,Tokens,Calls without usage,Previous cost,Trend %,Share"
    );
    assert_eq!(
        lines[4],
        "beta,yes,2.00,0,1,1,100%,2.00,N/A,N/A,N/A,1,0.00,new,66.7%"
    );
    assert_eq!(
        lines[5],
        "acme,yes,0.75,1,3,1,33.3%,0.375,1500,310,1810,0,0.50,50,25%"
    );
    assert_eq!(
        lines[6],
        "(none),no,0.20,0,2,0,0%,0.10,20,10,30,0,0.00,new,6.7%"
    );
    assert_eq!(
        lines[7],
        "(none),yes,0.05,0,1,0,0%,0.05,1,1,2,0,0.00,new,1.7%"
    );
    assert_eq!(
        lines[8],
        "Total,,3.00,1,7,2,28.6%,0.50,1521,321,1842,1,0.50,500,100.0%"
    );
    assert_eq!(lines.len(), 9);
    // The dashboard's export is the same CSV.
    let (status, export) = app.page(&format!("/export/customers?{RANGE}")).await;
    assert_eq!(status, 200);
    assert_eq!(export, csv);

    // The page: the same figures, the "(none)" row marked, the unpriced call said.
    let (status, html) = app.page(&format!("/customers?{RANGE}")).await;
    assert_eq!(status, 200, "{html}");
    for expected in [
        "<h1>Customers</h1>",
        "calls sent without a customer",
        "+ 1 unpriced call(s)",
        "33.3%",
        "$0.375",
        "$3.00",
        "28.6%",
        "↑ 50%",
        "1 call(s) have no price",
        // The tab keeps the custom range.
        "href=\"/customers?from=2026-11-25&#38;to=2026-12-04\"",
    ] {
        assert!(html.contains(expected), "missing {expected:?}");
    }
    assert!(html.contains("none-row"), "the unattributed row is marked");
    // Spend over time: one segment per customer and day, adding up to the total exactly.
    assert!(html.contains("Spend per day, by customer"));
    let chart = &html[html.find("data-spend-chart").unwrap()..];
    let chart = &chart[..chart.find("</section>").unwrap()];
    let sum: spendlens_domain::Money = chart
        .split("data-amount=\"")
        .skip(1)
        .map(|rest| spendlens_domain::Money::parse_units(&rest[..rest.find('"').unwrap()]).unwrap())
        .sum();
    assert_eq!(sum, spendlens_domain::Money::parse_units("3.00").unwrap());
    assert!(html.contains("<option value=\"mystery-1\">mystery-1</option>"));

    // Products and agents group the same calls by their other dimensions.
    let products = app.json(&format!("products?{RANGE}")).await;
    assert_eq!(row(&products, Some("search"))["cost"], "2.00");
    assert_eq!(row(&products, Some("chat"))["cost"], "0.75");
    assert_eq!(row(&products, None)["cost"], "0.25");
    assert_eq!(row(&products, None)["calls"], 3);
    let agents = app.json(&format!("agents?{RANGE}")).await;
    assert_eq!(agents["rows"].as_array().unwrap().len(), 2);
    assert_eq!(row(&agents, Some("triage"))["calls"], 1);
    assert_eq!(row(&agents, None)["cost"], "1.00");
    assert_eq!(row(&agents, None)["calls"], 6);
    let (status, html) = app.page(&format!("/agents?{RANGE}")).await;
    assert_eq!(status, 200);
    assert!(html.contains("calls sent without an agent"));
}

#[tokio::test]
async fn sort_filters_and_honest_trends() {
    let app = App::start().await;
    app.send(&calls()).await;
    let names = |report: &Value| -> Vec<Value> {
        report["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["name"].clone())
            .collect()
    };

    let by_name = app.json(&format!("customers?{RANGE}&sort=customer")).await;
    assert_eq!(
        names(&by_name),
        [json!("(none)"), json!("acme"), json!("beta"), Value::Null],
        "by name, the unattributed row last"
    );
    let by_errors = app
        .json(&format!("customers?{RANGE}&sort=error_share"))
        .await;
    assert_eq!(names(&by_errors)[..2], [json!("beta"), json!("acme")]);
    let by_calls = app
        .json(&format!("customers?{RANGE}&sort=calls&order=asc"))
        .await;
    assert_eq!(by_calls["rows"][0]["calls"], 1);

    // Provider and model filters read only those calls.
    let openai = app
        .json(&format!("customers?{RANGE}&provider=openai"))
        .await;
    let acme = row(&openai, Some("acme"));
    assert_eq!(
        (acme["calls"].as_i64(), acme["unpriced_calls"].as_i64()),
        (Some(2), Some(0))
    );
    assert_eq!(openai["total_cost"], "3.00");
    let mystery = app
        .json(&format!("customers?{RANGE}&model=mystery-1"))
        .await;
    assert_eq!(names(&mystery), [json!("acme")]);
    assert_eq!(mystery["rows"][0]["cost"], "0.00");
    assert!(
        mystery["rows"][0]["avg_cost_per_call"].is_null(),
        "no priced call"
    );
    let searched = app.json(&format!("customers?{RANGE}&search=ACM")).await;
    assert_eq!(names(&searched), [json!("acme")]);
    let cheap = app.json(&format!("customers?{RANGE}&max_cost=0.5")).await;
    assert_eq!(cheap["total_cost"], "0.25");

    // 90 days back from 12-04 compares with June–September: metering began on 11-10.
    let long = app.json("customers?period=last-90-days").await;
    assert_eq!(long["trend"], "no_history");
    assert!(
        long["rows"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["trend"] == "no_history")
    );
    let (_, csv) = app.api("customers?period=last-90-days&format=csv").await;
    assert!(
        csv.lines()
            .last()
            .unwrap()
            .contains(",no comparable history,"),
        "{csv}"
    );
    // The old customer is in this period.
    assert_eq!(row(&long, Some("old"))["cost"], "1.00");

    // Bad input says what to fix.
    for (path, says) in [
        ("customers?sort=colour", "avg_cost_per_call"),
        ("customers?workspace=Prod", "no synced workspace"),
        ("providers?model=gpt-4o", "no model filter"),
        ("clients", "customers, products or agents"),
    ] {
        let (status, body) = app.api(path).await;
        assert_eq!(status, 400, "{path}: {body}");
        assert!(body.contains(says), "{path}: {body}");
    }
}

#[tokio::test]
async fn without_metered_calls_the_views_say_how_to_send_them() {
    let app = App::start().await;
    let report = app.json("customers").await;
    assert_eq!(report["has_metered_calls"], false);
    assert_eq!(report["rows"], json!([]));
    assert_eq!(report["total_cost"], "0.00");
    for path in ["/customers", "/products", "/agents"] {
        let (status, html) = app.page(path).await;
        assert_eq!(status, 200, "{path}");
        assert!(html.contains("No metered calls yet"), "{path}");
        assert!(html.contains("href=\"/connections#sdk-keys\""), "{path}");
        assert!(!html.contains("<table"), "{path}: no empty table");
    }
    // The tabs are in the navigation, after Models.
    let (_, html) = app.page("/providers").await;
    let at = |label: &str| html.find(&format!(">{label}<")).unwrap_or(usize::MAX);
    assert!(at("Models") < at("Customers"));
    assert!(at("Customers") < at("Products") && at("Products") < at("Agents"));
    assert!(at("Agents") < usize::MAX);
}
