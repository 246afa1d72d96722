//! Work in its own units through the real server on a random port (SQLite, or PostgreSQL with
//! `SPENDLENS_TEST_DATABASE_URL`): fal.ai, Runway, OpenAI and Anthropic synced from their fakes,
//! then the Providers, Workspaces, API Keys and Models reports (JSON, CSV and the terminal's
//! table) show OpenAI's requests, fal.ai's images, megapixels, seconds and machine-seconds and
//! Runway's credits, each unit apart and equal to the fakes' own truth, and Anthropic's work
//! (tokens, no request counts) as unknown.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a failing test should stop loudly

use std::collections::BTreeMap;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use rust_decimal::Decimal;
use serde_json::Value;
use spendlens_domain::{PriceCatalog, ProviderKind, SyncRequest};
use spendlens_fakes::anthropic::AnthropicFake;
use spendlens_fakes::fal::FalFake;
use spendlens_fakes::openai::OpenAiFake;
use spendlens_fakes::runway::RunwayFake;
use spendlens_providers::{CallStats, HttpSettings};
use spendlens_query::table::{MoneyStyle, Surface};
use spendlens_query::{View, ViewParams, ViewQuery};
use spendlens_store::testing::TestStore;
use spendlens_store::vault::Vault;
use spendlens_sync::connections::AddConnection;
use spendlens_sync::{FixedClock, SyncEngine, SyncSettings};
use time::macros::{date, datetime};

const TODAY: time::Date = date!(2026 - 11 - 22);
const FROM: time::Date = date!(2026 - 10 - 01);
const TO: time::Date = date!(2026 - 11 - 20);
const PERIOD: &str = "from=2026-10-01&to=2026-11-20";

/// fal.ai's billing units as its usage rows name them (fal.md: `unit` with `quantity`), and
/// the plural spendlens shows; serverless machine time is a unit of its own.
fn fal_unit(raw: &str) -> &'static str {
    match raw {
        "image" => "images",
        "megapixels" => "megapixels",
        "seconds" => "seconds",
        "video" => "video",
        other => panic!("the fal fake bills in {other}, which this test does not know"),
    }
}

fn decimal(text: &str) -> Decimal {
    Decimal::from_str(text).unwrap().normalize()
}

/// A report row's work as unit → quantity; `None` when unknown.
fn usage(row: &Value) -> Option<BTreeMap<String, Decimal>> {
    let list = row["usage"].as_array()?;
    Some(
        list.iter()
            .map(|a| {
                (
                    a["unit"].as_str().unwrap().to_owned(),
                    decimal(a["quantity"].as_str().unwrap()),
                )
            })
            .collect(),
    )
}

struct App {
    base: String,
    token: String,
    client: reqwest::Client,
    engine: SyncEngine,
    org: spendlens_store::OrgId,
}

impl App {
    async fn get(&self, path: &str) -> Value {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{path}");
        response.json().await.unwrap()
    }

    async fn text(&self, path: &str) -> String {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{path}");
        response.text().await.unwrap()
    }
}

fn engine(store: spendlens_store::Store) -> SyncEngine {
    SyncEngine::new(
        store,
        Vault::from_key([8; 32]),
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
            owner: "units-test".into(),
            allowed_base_url_hosts: Vec::new(),
        },
    )
}

#[tokio::test]
async fn fal_and_runway_work_is_shown_in_its_own_units_on_every_view() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let test = TestStore::new().await.unwrap();
    let engine = engine(test.store.clone());
    let org = engine
        .store()
        .ensure_default_org(engine.now())
        .await
        .unwrap();
    let fal = FalFake::builder()
        .seed(13)
        .today(TODAY)
        .build()
        .spawn()
        .await
        .unwrap();
    let runway = RunwayFake::builder()
        .seed(13)
        .today(TODAY)
        .build()
        .spawn()
        .await
        .unwrap();
    let openai = OpenAiFake::builder()
        .seed(13)
        .today(TODAY)
        .build()
        .spawn()
        .await
        .unwrap();
    let anthropic = AnthropicFake::builder()
        .seed(13)
        .today(TODAY)
        .build()
        .spawn()
        .await
        .unwrap();
    for (provider, key, url) in [
        (ProviderKind::Fal, fal.admin_key(), fal.base_url()),
        (ProviderKind::Runway, runway.admin_key(), runway.base_url()),
        (ProviderKind::OpenAi, openai.admin_key(), openai.base_url()),
        (
            ProviderKind::Anthropic,
            anthropic.admin_key(),
            anthropic.base_url(),
        ),
    ] {
        let (row, _) = engine
            .add_connection(
                org,
                AddConnection {
                    provider,
                    name: provider.as_str(),
                    secret: key,
                    base_url: Some(url),
                    skip_check: true,
                    sync_interval_secs: 3600,
                    backfill_days: 60,
                    lookback_days: Some(3),
                },
            )
            .await
            .unwrap();
        let report = engine
            .sync_connection(
                org,
                row.id,
                None,
                SyncRequest::Scheduled,
                &CallStats::default(),
            )
            .await
            .unwrap();
        assert_eq!(
            report.status,
            spendlens_store::SyncRunStatus::Success,
            "{provider:?}: {:?}",
            report.error
        );
    }
    let token = engine
        .store()
        .create_api_token(org, "test", engine.now())
        .await
        .unwrap()
        .secret;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let router = spendlens_web::router(spendlens_web::AppState::new(engine.clone()));
    tokio::spawn(spendlens_web::serve(
        listener,
        router,
        std::future::pending(),
    ));
    let app = App {
        base,
        token,
        client: reqwest::Client::new(),
        engine,
        org,
    };

    // The fakes' truth: fal's quantities per (endpoint, key, unit), its serverless
    // machine-seconds (no key), Runway's credits per model, OpenAI's request counts.
    let fal_truth = fal.truth();
    let mut fal_by_key: BTreeMap<Option<String>, BTreeMap<String, Decimal>> = BTreeMap::new();
    let mut fal_by_model: BTreeMap<(String, String), Decimal> = BTreeMap::new();
    let mut fal_total: BTreeMap<String, Decimal> = BTreeMap::new();
    for ((_, endpoint, key, unit), quantity) in
        fal_truth.quantity_by_day_endpoint_key_unit(FROM, TO)
    {
        let unit = fal_unit(&unit).to_owned();
        let quantity = decimal(&quantity);
        *fal_by_key
            .entry(key)
            .or_default()
            .entry(unit.clone())
            .or_default() += quantity;
        *fal_by_model.entry((endpoint, unit.clone())).or_default() += quantity;
        *fal_total.entry(unit).or_default() += quantity;
    }
    let mut machine_seconds = Decimal::ZERO;
    for line in fal_truth.serverless(FROM, TO) {
        let seconds = decimal(&line.seconds);
        machine_seconds += seconds;
        *fal_by_model
            .entry((line.app.clone(), "machine_seconds".to_owned()))
            .or_default() += seconds;
    }
    assert!(
        !machine_seconds.is_zero(),
        "the fal fake has serverless time"
    );
    *fal_by_key
        .entry(None)
        .or_default()
        .entry("machine_seconds".to_owned())
        .or_default() += machine_seconds;
    fal_total.insert("machine_seconds".to_owned(), machine_seconds);
    assert!(
        fal_total.len() >= 4,
        "the fal fake bills in several units: {fal_total:?}"
    );
    let runway_credits: BTreeMap<String, i64> = runway.truth().credits_by_model(FROM, TO);
    let runway_total: i64 = runway_credits.values().sum();
    let openai_requests: u64 = openai
        .truth()
        .usage_by_key(FROM, TO)
        .values()
        .map(|u| u.num_model_requests)
        .sum();
    assert!(openai_requests > 0 && runway_total > 0);

    // Providers: each row in its own units, requests null where the provider counts none.
    let providers = app
        .get(&format!("/api/v1/reports/providers?{PERIOD}"))
        .await;
    let row = |name: &str| -> Value {
        providers["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["provider"] == name)
            .unwrap_or_else(|| panic!("no {name} row"))
            .clone()
    };
    let fal_row = row("fal");
    assert_eq!(fal_row["requests"], Value::Null);
    assert_eq!(usage(&fal_row), Some(fal_total.clone()));
    let runway_row = row("runway");
    assert_eq!(runway_row["requests"], Value::Null);
    assert_eq!(
        usage(&runway_row),
        Some(BTreeMap::from([(
            "credits".to_owned(),
            Decimal::from(runway_total)
        )]))
    );
    let openai_row = row("openai");
    assert_eq!(openai_row["requests"], openai_requests);
    assert_eq!(
        usage(&openai_row),
        Some(BTreeMap::from([(
            "requests".to_owned(),
            Decimal::from(openai_requests)
        )]))
    );
    // Tokens without request counts: unknown, not zero.
    assert_eq!(row("anthropic")["usage"], Value::Null);

    // API keys: each fal key's units, serverless time on the key-less row.
    let keys = app
        .get(&format!("/api/v1/reports/keys?{PERIOD}&provider=fal"))
        .await;
    let mut shown: BTreeMap<Option<String>, BTreeMap<String, Decimal>> = BTreeMap::new();
    for row in keys["rows"].as_array().unwrap() {
        // A key idle in the period has no work to show in any unit: unknown, not 0.
        let Some(work) = usage(row) else {
            assert_eq!(row["total_tokens"], 0, "{row}");
            assert!(decimal(row["cost"].as_str().unwrap()).is_zero(), "{row}");
            continue;
        };
        assert!(!work.is_empty(), "{row}");
        let key = row["provider_key_id"].as_str().map(str::to_owned);
        let entry = shown.entry(key).or_default();
        for (unit, quantity) in work {
            *entry.entry(unit).or_default() += quantity;
        }
    }
    assert_eq!(shown, fal_by_key);
    // The report's total work (the Keys page's card and total row): every key's units added
    // unit by unit; keys idle in the period add nothing and do not make it unknown.
    let mut all_keys: BTreeMap<String, Decimal> = BTreeMap::new();
    for work in shown.values() {
        for (unit, quantity) in work {
            *all_keys.entry(unit.clone()).or_default() += quantity;
        }
    }
    assert_eq!(
        usage(&serde_json::json!({ "usage": keys["total_usage"].clone() })),
        Some(all_keys)
    );

    // Models: one row per (model, unit), the quantity of that unit.
    let models = app
        .get(&format!(
            "/api/v1/reports/models?{PERIOD}&provider=fal,runway"
        ))
        .await;
    let mut fal_models: BTreeMap<(String, String), Decimal> = BTreeMap::new();
    let mut runway_models: BTreeMap<String, i64> = BTreeMap::new();
    for row in models["rows"].as_array().unwrap() {
        let model = row["model"].as_str().unwrap().to_owned();
        let work = usage(row).unwrap();
        if row["provider"] == "runway" {
            assert_eq!(work.keys().collect::<Vec<_>>(), ["credits"], "{row}");
            let credits = work["credits"];
            runway_models.insert(model, credits.to_string().parse::<i64>().unwrap());
        } else {
            for (unit, quantity) in work {
                assert_eq!(unit, row["unit"].as_str().unwrap(), "{row}");
                *fal_models.entry((model.clone(), unit)).or_default() += quantity;
            }
        }
    }
    fal_models.retain(|_, q| !q.is_zero());
    fal_by_model.retain(|_, q| !q.is_zero());
    assert_eq!(fal_models, fal_by_model);
    runway_models.retain(|_, c| *c != 0);
    let mut runway_expected = runway_credits.clone();
    runway_expected.retain(|_, c| *c != 0);
    assert_eq!(runway_models, runway_expected);

    // Workspaces: the units of every workspace of fal and Runway add up to the providers'.
    let workspaces = app
        .get(&format!(
            "/api/v1/reports/workspaces?{PERIOD}&provider=fal,runway"
        ))
        .await;
    let mut by_unit: BTreeMap<String, Decimal> = BTreeMap::new();
    for row in workspaces["rows"].as_array().unwrap() {
        for (unit, quantity) in usage(row).unwrap() {
            *by_unit.entry(unit).or_default() += quantity;
        }
    }
    let mut expected = fal_total.clone();
    expected.insert("credits".to_owned(), Decimal::from(runway_total));
    assert_eq!(by_unit, expected);

    // CSV: Requests stays a number (N/A where unknown) and Usage names each unit, never
    // adding images to credits; the total row lists every unit, or N/A with Anthropic in it.
    let csv = app
        .text(&format!(
            "/api/v1/reports/providers?{PERIOD}&provider=fal,runway,openai&format=csv"
        ))
        .await;
    let rows: Vec<Vec<String>> = csv
        .lines()
        .skip(3)
        .map(|line| {
            csv::ReaderBuilder::new()
                .has_headers(false)
                .from_reader(line.as_bytes())
                .records()
                .next()
                .unwrap()
                .unwrap()
                .iter()
                .map(str::to_owned)
                .collect()
        })
        .collect();
    let column = |name: &str| rows[0].iter().position(|c| c == name).unwrap();
    let (requests, usage_col) = (column("Requests"), column("Usage"));
    let line = |provider: &str| {
        rows.iter()
            .find(|r| r[0] == provider)
            .unwrap_or_else(|| panic!("no {provider} line in {csv}"))
    };
    let units_text = |units: &BTreeMap<String, Decimal>| {
        units
            .iter()
            .map(|(unit, q)| format!("{q} {}", unit.replace('_', " ")))
            .collect::<Vec<_>>()
            .join("; ")
    };
    assert_eq!(line("fal.ai")[requests], "N/A");
    assert_eq!(line("fal.ai")[usage_col], units_text(&fal_total));
    assert_eq!(line("Runway")[usage_col], format!("{runway_total} credits"));
    assert_eq!(line("OpenAI")[requests], openai_requests.to_string());
    assert_eq!(line("OpenAI")[usage_col], openai_requests.to_string());
    let total = line("Total");
    assert_eq!(total[requests], "N/A");
    let mut all_units = expected.clone();
    all_units.remove("credits");
    assert_eq!(
        total[usage_col],
        format!(
            "{openai_requests} requests; {runway_total} credits; {}",
            units_text(&all_units)
        )
    );
    let with_anthropic = app
        .text(&format!("/api/v1/reports/providers?{PERIOD}&format=csv"))
        .await;
    assert!(
        with_anthropic
            .lines()
            .any(|l| l.starts_with("Anthropic,") && l.contains(",N/A,N/A,")),
        "{with_anthropic}"
    );

    // The terminal's table: the same words under Usage.
    let query = ViewQuery::parse(
        View::Providers,
        &ViewParams {
            from: Some("2026-10-01".into()),
            to: Some("2026-11-20".into()),
            provider: Some("fal,runway".into()),
            ..ViewParams::default()
        },
        spendlens_domain::Day::of(app.engine.now()),
    )
    .unwrap();
    let report = spendlens_query::report(app.engine.store(), app.org, &query)
        .await
        .unwrap();
    let table = spendlens_query::table::table(&report, MoneyStyle::Cents, Surface::Cli);
    let at = table.columns.iter().position(|c| *c == "Usage").unwrap();
    assert!(!table.columns.contains(&"Requests"));
    let fal_line = table.rows.iter().find(|r| r[0] == "fal.ai").unwrap();
    assert_eq!(fal_line[at], units_text(&fal_total));
    // Tokens do not apply to fal.ai and Runway: "—" on every row and on the total, not 0.
    let tokens_at = table.columns.iter().position(|c| *c == "Tokens").unwrap();
    assert!(table.rows.iter().all(|r| r[tokens_at] == "—"), "{table:?}");
    assert_eq!(table.total[tokens_at], "—");
    // Beside OpenAI, the total is OpenAI's tokens.
    let tokens_col = column("Tokens");
    assert_eq!(line("fal.ai")[tokens_col], "—");
    assert_eq!(line("Runway")[tokens_col], "—");
    assert_eq!(line("Total")[tokens_col], line("OpenAI")[tokens_col]);
    let no_tokens = app
        .text(&format!(
            "/api/v1/reports/models?{PERIOD}&provider=fal,runway&format=csv"
        ))
        .await;
    let lines: Vec<&str> = no_tokens.lines().skip(3).collect();
    let tokens_col = lines[0].split(',').position(|c| c == "Tokens").unwrap();
    for line in &lines[1..] {
        let cells: Vec<String> = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(line.as_bytes())
            .records()
            .next()
            .unwrap()
            .unwrap()
            .iter()
            .map(str::to_owned)
            .collect();
        assert_eq!(cells[tokens_col], "—", "{line}");
    }
    assert!(lines.last().unwrap().starts_with("Total,"));

    // The dashboard, signed in: the same "—" on the Models total row; Anthropic keys idle in
    // the period read N/A under Requests (it reports no request counts), not 0.
    let store = app.engine.store();
    let hash = spendlens_web::dashboard::session::hash_password("units test password").unwrap();
    let user = store
        .create_user(
            app.org,
            "units@test.local",
            &hash,
            spendlens_store::Role::Admin,
            app.engine.now(),
        )
        .await
        .unwrap();
    let session = store
        .create_session(&user, app.engine.now(), time::Duration::hours(1))
        .await
        .unwrap();
    let page = |path: String| {
        let request = app
            .client
            .get(format!("{}{path}", app.base))
            .header("cookie", format!("spendlens_session={}", session.token));
        async move {
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), 200);
            response.text().await.unwrap()
        }
    };
    let models = page(format!("/models?{PERIOD}&provider=fal,runway")).await;
    let footer = &models[models.find("<tfoot>").unwrap()..];
    let cell = |html: &str, col: &str| -> String {
        let at = html
            .find(&format!("data-col=\"{col}\""))
            .unwrap_or_else(|| panic!("no {col} cell"));
        let rest = &html[at..];
        let start = rest.find('>').unwrap() + 1;
        rest[start..start + rest[start..].find('<').unwrap()].to_owned()
    };
    assert_eq!(cell(footer, "tokens"), "—");
    let keys_json = app
        .get(&format!("/api/v1/reports/keys?{PERIOD}&provider=anthropic"))
        .await;
    let idle: Vec<&Value> = keys_json["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["total_tokens"] == 0 && decimal(r["cost"].as_str().unwrap()).is_zero())
        .collect();
    assert!(
        !idle.is_empty(),
        "the Anthropic fake has keys idle in the period: {keys_json}"
    );
    for row in &idle {
        assert_eq!(
            (&row["requests"], &row["usage"]),
            (&Value::Null, &Value::Null)
        );
    }
    // fal.ai keys: the work card lists the units (an idle key does not make it N/A), and the
    // total row's Requests cell shows them too.
    let fal_keys = page(format!("/keys?{PERIOD}&provider=fal")).await;
    let card_at = fal_keys.find("Total work").expect("a Total work card");
    let card: String = fal_keys[card_at..].chars().take(400).collect();
    assert!(card.contains(" images"), "{card}");
    let fal_footer = &fal_keys[fal_keys.find("<tfoot>").unwrap()..];
    assert_ne!(cell(fal_footer, "requests"), "N/A", "{fal_footer}");
    let keys_page = page(format!(
        "/keys?{PERIOD}&provider=anthropic&sort=cost&order=asc"
    ))
    .await;
    let body = &keys_page[keys_page.find("<tbody").unwrap()..keys_page.find("<tfoot>").unwrap()];
    let first_row = &body[..body.find("</tr>").unwrap()];
    assert_eq!(cell(first_row, "requests"), "N/A", "{first_row}");

    // Sorting by Requests: counts first, then work in its own units grouped by unit, and
    // unknown (Anthropic's tokens) last, in either direction.
    for order in ["desc", "asc"] {
        let sorted = app
            .get(&format!(
                "/api/v1/reports/providers?{PERIOD}&sort=requests&order={order}"
            ))
            .await;
        let names: Vec<&str> = sorted["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["provider"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["openai", "runway", "fal", "anthropic"], "{order}");
    }

    fal.shutdown().await;
    runway.shutdown().await;
    openai.shutdown().await;
    anthropic.shutdown().await;
    test.teardown().await;
}
