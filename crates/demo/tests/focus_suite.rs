//! The FOCUS 1.2 export of demo-like data, validated by the FinOps Foundation's own validator
//! (PyPI `focus-validator`), on SQLite or PostgreSQL (`SPENDLENS_TEST_DATABASE_URL`).
//!
//! Billed data comes from the providers' stand-ins through the real connectors and sync
//! (OpenAI, Anthropic, AWS Bedrock with credits, fal.ai, Runway, OpenRouter, LiteLLM, PiAPI,
//! and a Google Vertex account billed in EUR: BillingCurrency EUR, x_BilledCostInUsd beside);
//! metered data is the demo's traffic sent to `POST /api/v1/meter/events`. The export is read
//! from `GET /api/v1/export/focus` and the dashboard's button, run through `focus-validator`
//! (every failed rule fails the test, except the one documented InvoiceId pair), and its sums
//! are checked to the nano-dollar against the Providers view and the meter's own summary.
//!
//! The validator lives in a Python 3.12 virtualenv (`target/focus-venv`, or
//! `SPENDLENS_FOCUS_VENV`); without it this test says so and passes, except with
//! `SPENDLENS_REQUIRE_FOCUS=1` (CI: `.ci/run` installs it and sets that), where it fails.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a failing test should stop loudly

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde_json::Value;
use spendlens_demo::{Sender, Sources, Traffic};
use spendlens_domain::{Money, ProviderKind, SyncRequest};
use spendlens_query::focus::ColumnType;
use spendlens_query::table::neutralize_cell;
use spendlens_store::testing::TestStore;
use spendlens_store::{OrgId, Role, Store};
use spendlens_sync::SyncEngine;
use spendlens_sync::connections::AddConnection;
use time::macros::{date, datetime};
use time::{Date, OffsetDateTime};

const SEED: u64 = 11;
const TODAY: Date = date!(2026 - 12 - 04);
/// The first metered day.
const FIRST: Date = date!(2026 - 11 - 20);
const NOW: OffsetDateTime = datetime!(2026-12-04 15:30 UTC);
/// The exported period: a billing-month boundary inside, metered days and billed-only days.
const FROM: &str = "2026-11-10";
const TO: &str = "2026-12-04";
const PASSWORD: &str = "correct horse battery staple";

use crate::focus_support;

/// A service-account key pair made for this run (the Vertex stand-in verifies the JWT).
fn key_pair() -> (String, String) {
    use rsa::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
    let key = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).unwrap();
    let private = key.to_pkcs8_pem(LineEnding::LF).unwrap().to_string();
    let public = key
        .to_public_key()
        .to_public_key_pem(LineEnding::LF)
        .unwrap();
    (private, public)
}

use focus_support::{
    cookie_of, engine_and_server, money, parse, read_parquet, sum, validate, validator_venv,
};

struct App {
    base: String,
    token: String,
    client: reqwest::Client,
    store: Store,
    org: OrgId,
    engine: SyncEngine,
    /// PiAPI tasks charged in a usage type with no documented rate in FROM..TO: unpriced.
    piapi_unpriced_tasks: i64,
    _test: TestStore,
    _running: Vec<Box<dyn std::any::Any + Send>>,
}

impl App {
    async fn start() -> App {
        let test = TestStore::new().await.unwrap();
        let store = test.store.clone();
        let org = store.ensure_default_org(NOW).await.unwrap();
        let (engine, base) = engine_and_server(&store, NOW, "focus-test").await;
        let token = store.create_api_token(org, "t", NOW).await.unwrap().secret;
        App {
            base,
            token,
            client: reqwest::Client::new(),
            store,
            org,
            engine,
            piapi_unpriced_tasks: 0,
            _test: test,
            _running: Vec::new(),
        }
    }

    async fn connect(&self, provider: ProviderKind, secret: &str, base_url: &str) {
        self.engine
            .add_connection(
                self.org,
                AddConnection {
                    provider,
                    name: provider.display_name(),
                    secret,
                    base_url: Some(base_url),
                    skip_check: true,
                    sync_interval_secs: 3600,
                    backfill_days: 35,
                    lookback_days: Some(3),
                },
            )
            .await
            .unwrap();
    }

    /// Every stand-in connected and synced; the OpenAI and Anthropic truth for the traffic.
    async fn billed(&mut self) -> Sources {
        use spendlens_fakes::anthropic::AnthropicFake;
        use spendlens_fakes::bedrock::BedrockFake;
        use spendlens_fakes::fal::FalFake;
        use spendlens_fakes::litellm::LiteLlmFake;
        use spendlens_fakes::openai::OpenAiFake;
        use spendlens_fakes::openrouter::OpenRouterFake;
        use spendlens_fakes::piapi::PiApiFake;
        use spendlens_fakes::runway::RunwayFake;
        let openai = OpenAiFake::builder()
            .seed(SEED)
            .today(TODAY)
            .days(40)
            .build()
            .spawn()
            .await
            .unwrap();
        self.connect(ProviderKind::OpenAi, openai.admin_key(), openai.base_url())
            .await;
        let anthropic = AnthropicFake::builder()
            .seed(SEED)
            .today(TODAY)
            .days(40)
            .build()
            .spawn()
            .await
            .unwrap();
        self.connect(
            ProviderKind::Anthropic,
            anthropic.admin_key(),
            anthropic.base_url(),
        )
        .await;
        let sources = Sources {
            openai: Some(openai.truth().clone()),
            anthropic: Some(anthropic.truth().clone()),
        };
        let bedrock = BedrockFake::builder()
            .seed(SEED)
            .today(TODAY)
            .build()
            .spawn()
            .await
            .unwrap();
        let aws = serde_json::json!({"accessKeyId": bedrock.access_key_id(),
            "secretAccessKey": bedrock.secret_access_key(), "region": "us-east-1"});
        self.connect(
            ProviderKind::Bedrock,
            &aws.to_string(),
            bedrock.endpoint_url(),
        )
        .await;
        let fal = FalFake::builder()
            .seed(SEED)
            .today(TODAY)
            .build()
            .spawn()
            .await
            .unwrap();
        self.connect(ProviderKind::Fal, fal.admin_key(), fal.base_url())
            .await;
        let runway = RunwayFake::builder()
            .seed(SEED)
            .today(TODAY)
            .build()
            .spawn()
            .await
            .unwrap();
        self.connect(ProviderKind::Runway, runway.admin_key(), runway.base_url())
            .await;
        let openrouter = OpenRouterFake::builder()
            .seed(SEED)
            .today(TODAY)
            .build()
            .spawn()
            .await
            .unwrap();
        let key = serde_json::json!({"provisioningKey": openrouter.management_key()});
        self.connect(
            ProviderKind::OpenRouter,
            &key.to_string(),
            openrouter.base_url(),
        )
        .await;
        let litellm = LiteLlmFake::builder()
            .seed(SEED)
            .today(TODAY)
            .build()
            .spawn()
            .await
            .unwrap();
        let key =
            serde_json::json!({"apiKey": litellm.master_key(), "baseUrl": litellm.base_url()});
        self.connect(ProviderKind::LiteLlm, &key.to_string(), litellm.base_url())
            .await;
        let piapi = PiApiFake::builder()
            .seed(SEED)
            .today(TODAY)
            .build()
            .spawn()
            .await
            .unwrap();
        self.piapi_unpriced_tasks = piapi
            .truth()
            .by_day_key_model(date!(2026 - 11 - 10), TODAY)
            .values()
            .map(|cell| cell.unpriced_tasks)
            .sum();
        let key = serde_json::json!({"apiKey": piapi.admin_key(), "environment": "production"});
        self.connect(ProviderKind::PiApi, &key.to_string(), piapi.base_url())
            .await;
        // A Google billing account in euros (0.92 EUR per USD in its export).
        let (private, public) = key_pair();
        let vertex = spendlens_fakes::vertex::VertexFake::builder()
            .seed(SEED)
            .today(TODAY)
            .public_key_pem(public)
            .billing_currency("EUR", 920_000)
            .build()
            .spawn()
            .await
            .unwrap();
        self.connect(
            ProviderKind::Vertex,
            &vertex.service_account_key_json(&private),
            vertex.base_url(),
        )
        .await;
        let synced = self
            .engine
            .sync_all(self.org, None, SyncRequest::Manual)
            .await
            .unwrap();
        assert!(synced.iter().all(|(_, r)| r.is_ok()), "{synced:?}");
        self._running.push(Box::new(openai));
        self._running.push(Box::new(anthropic));
        self._running.push(Box::new(bedrock));
        self._running.push(Box::new(fal));
        self._running.push(Box::new(runway));
        self._running.push(Box::new(openrouter));
        self._running.push(Box::new(litellm));
        self._running.push(Box::new(piapi));
        self._running.push(Box::new(vertex));
        sources
    }

    async fn get(&self, path: &str) -> (u16, String) {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    }

    async fn bytes(&self, path: &str) -> (u16, String, Vec<u8>) {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let kind = response
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        (status, kind, response.bytes().await.unwrap().to_vec())
    }

    async fn json(&self, path: &str) -> Value {
        let (status, body) = self.get(path).await;
        assert_eq!(status, 200, "{path}: {body}");
        serde_json::from_str(&body).unwrap()
    }

    /// Signs in as a viewer and returns the session cookie.
    async fn sign_in(&self) -> String {
        let hash = spendlens_web::dashboard::session::hash_password(PASSWORD).unwrap();
        self.store
            .create_user(self.org, "viewer@example.com", &hash, Role::Viewer, NOW)
            .await
            .unwrap();
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

    async fn page(&self, cookie: &str, path: &str) -> (u16, String) {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .header("cookie", cookie)
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    }
}

/// `3120` → `3,120`, as the dashboard writes counts.
fn thousands(n: i64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[tokio::test]
async fn the_demo_export_passes_the_focus_validator_and_adds_up_to_the_providers_view() {
    let venv = validator_venv();
    let mut app = App::start().await;
    let sources = app.billed().await;
    let ingest = app
        .store
        .create_ingest_key(
            app.org,
            "focus",
            spendlens_store::Actor {
                name: "test",
                at: NOW,
            },
        )
        .await
        .unwrap()
        .secret;
    let calls = Traffic::new(&sources, SEED, FIRST, TODAY).backfill(NOW);
    let sent = Sender::new(&app.base, &ingest)
        .unwrap()
        .send_native(&calls)
        .await
        .unwrap();
    assert_eq!(
        (sent.accepted, sent.rejected),
        (calls.len() as u64, 0),
        "{sent:?}"
    );

    let (status, csv) = app
        .get(&format!("/api/v1/export/focus?from={FROM}&to={TO}"))
        .await;
    assert_eq!(status, 200, "{csv}");
    let rows = parse(&csv);
    let by = |source: &str| {
        rows.iter()
            .filter(|r| r["x_SpendlensSource"] == source)
            .collect::<Vec<_>>()
    };
    let (billed, allocated, metered) = (by("billed"), by("allocated"), by("metered"));
    assert!(!billed.is_empty() && !allocated.is_empty() && !metered.is_empty());
    assert_eq!(billed.len() + allocated.len() + metered.len(), rows.len());

    // BilledCost is in each row's BillingCurrency: the Vertex account's euros; every other
    // row is in USD and its x_BilledCostInUsd is the same amount.
    let vertex_rows: Vec<_> = rows
        .iter()
        .filter(|r| r["x_SpendlensProvider"] == "vertex" && r["x_SpendlensSource"] != "metered")
        .collect();
    assert!(!vertex_rows.is_empty(), "the Vertex account's bill");
    for r in &rows {
        let euros = r["x_SpendlensProvider"] == "vertex" && r["x_SpendlensSource"] != "metered";
        assert_eq!(
            r["BillingCurrency"],
            if euros { "EUR" } else { "USD" },
            "{r:?}"
        );
        if !euros {
            assert_eq!(r["BilledCost"], r["x_BilledCostInUsd"], "{r:?}");
        }
    }
    // Euros ÷ 0.92: each export row is converted once, half to even at the nano, and a row
    // of the file sums a few of them, so it is within a few nano-dollars of its euros ÷ 0.92.
    for r in &vertex_rows {
        let eur = Money::parse_units(&r["BilledCost"]).unwrap().nanos();
        let usd = Money::parse_units(&r["x_BilledCostInUsd"]).unwrap().nanos();
        let error = (i128::from(usd) * 92 - i128::from(eur) * 100).abs();
        assert!(error <= 92 * 24, "{eur} EUR nanos vs {usd} USD nanos");
    }

    // The bill to the nano-dollar: Σ Usage = the Providers view's cost, Σ Credit = − its
    // credits, Σ over the whole file = its net cost (in USD, x_BilledCostInUsd). Metered rows
    // carry no cost at all.
    let providers = app
        .json(&format!("/api/v1/reports/providers?from={FROM}&to={TO}"))
        .await;
    let all: Vec<_> = rows.iter().collect();
    let usage: Vec<_> = rows
        .iter()
        .filter(|r| r["ChargeCategory"] == "Usage")
        .collect();
    let credit: Vec<_> = rows
        .iter()
        .filter(|r| r["ChargeCategory"] == "Credit")
        .collect();
    assert!(
        !credit.is_empty(),
        "the Bedrock stand-in's discounts are credit rows"
    );
    assert_eq!(
        sum(&usage, "x_BilledCostInUsd"),
        money(&providers["total_cost"])
    );
    assert_eq!(
        Money::ZERO - sum(&credit, "x_BilledCostInUsd"),
        money(&providers["total_credits"])
    );
    assert_eq!(
        sum(&all, "x_BilledCostInUsd"),
        money(&providers["total_net_cost"])
    );
    for column in ["EffectiveCost", "ListCost", "ContractedCost"] {
        assert_eq!(sum(&all, column), sum(&all, "BilledCost"), "{column}");
        assert_eq!(
            sum(&metered, column),
            Money::ZERO,
            "{column} of metered rows"
        );
    }
    assert_eq!(sum(&metered, "BilledCost"), Money::ZERO);
    // Per provider too.
    for row in providers["rows"].as_array().unwrap() {
        let name = row["provider"].as_str().unwrap();
        let of: Vec<_> = rows
            .iter()
            .filter(|r| r["x_SpendlensProvider"] == name && r["x_SpendlensSource"] != "metered")
            .filter(|r| r["ChargeCategory"] == "Usage")
            .collect();
        assert_eq!(sum(&of, "x_BilledCostInUsd"), money(&row["cost"]), "{name}");
    }

    // The metered estimate is the meter's own total for the period, in x_MeteredCost only.
    let summary = app
        .json(&format!("/api/v1/token-usage/summary?from={FROM}&to={TO}"))
        .await;
    assert_eq!(
        sum(&metered, "x_MeteredCost"),
        money(&summary["total_cost"])
    );
    let calls_in_file: i64 = metered
        .iter()
        .map(|r| {
            r["x_Requests"]
                .trim_end_matches(".0")
                .parse::<i64>()
                .unwrap()
        })
        .sum();
    assert_eq!(calls_in_file, summary["requests"].as_i64().unwrap());
    let tokens: i64 = metered
        .iter()
        .filter(|r| r["ConsumedUnit"] == "Tokens")
        .map(|r| {
            r["ConsumedQuantity"]
                .trim_end_matches(".0")
                .parse::<i64>()
                .unwrap()
        })
        .sum();
    assert_eq!(tokens, summary["total_tokens"].as_i64().unwrap());
    assert!(
        metered
            .iter()
            .any(|r| r["x_MeteredCostStatus"] == "unpriced"),
        "the demo's unpriced fine-tuned model"
    );
    assert!(metered.iter().any(|r| !r["x_Customer"].is_empty()));

    // PiAPI's Midjourney tasks, charged in points (no documented dollar rate), are unpriced:
    // billed rows with a cost of 0 that FOCUS requires, the count in x_UnpricedRequests, and
    // no other billed row says so.
    let unpriced: Vec<_> = rows
        .iter()
        .filter(|r| r["x_SpendlensSource"] != "metered" && !r["x_UnpricedRequests"].is_empty())
        .collect();
    assert!(app.piapi_unpriced_tasks > 0);
    let unpriced_in_file: i64 = unpriced
        .iter()
        .map(|r| {
            assert_eq!(r["x_SpendlensProvider"], "piapi", "{r:?}");
            assert_eq!(r["ConsumedUnit"], "Point Usage", "{r:?}");
            assert_eq!(
                Money::parse_units(&r["BilledCost"]).unwrap(),
                Money::ZERO,
                "{r:?}"
            );
            assert!(r["ChargeDescription"].contains("unpriced"), "{r:?}");
            r["x_UnpricedRequests"]
                .trim_end_matches(".0")
                .parse::<i64>()
                .unwrap()
        })
        .sum();
    assert_eq!(unpriced_in_file, app.piapi_unpriced_tasks);
    // The Providers and Models views count them, and never price them at $0.
    let piapi = providers["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["provider"] == "piapi")
        .unwrap();
    assert_eq!(
        piapi["unpriced_requests"], app.piapi_unpriced_tasks,
        "{piapi}"
    );
    let models = app
        .json(&format!("/api/v1/reports/models?from={FROM}&to={TO}"))
        .await;
    let mj = models["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["model"] == "mj" && r["unit"] == "point_usage")
        .unwrap();
    assert_eq!(mj["cost_unknown"], true, "{mj}");
    assert_eq!(mj["unpriced_requests"], app.piapi_unpriced_tasks, "{mj}");
    assert_eq!(mj["cost_per_unit"], Value::Null, "{mj}");
    let (status, models_csv) = app
        .get(&format!(
            "/api/v1/reports/models?format=csv&from={FROM}&to={TO}"
        ))
        .await;
    assert_eq!(status, 200, "{models_csv}");
    let header = models_csv
        .lines()
        .find(|l| l.starts_with("Model,"))
        .unwrap();
    let column = |name: &str| header.split(',').position(|c| c == name).unwrap();
    let mj_line = models_csv
        .lines()
        .find(|l| l.starts_with("mj,") && l.contains("point_usage"))
        .unwrap();
    let cells: Vec<&str> = mj_line.split(',').collect();
    assert_eq!(cells[column("Cost")], "unpriced", "{mj_line}");
    assert_eq!(
        cells[column("Unpriced requests")],
        app.piapi_unpriced_tasks.to_string(),
        "{mj_line}"
    );

    // AI usage as FOCUS defines it, exact decimals, no secret anywhere.
    for r in &rows {
        assert_eq!(r["ServiceCategory"], "AI and Machine Learning");
        assert_eq!(r["ChargeClass"], "");
        for column in ["BilledCost", "ConsumedQuantity", "PricingQuantity"] {
            let v = &r[column];
            assert!(
                v.is_empty() || (v.contains('.') && !v.contains(['e', 'E'])),
                "{column} {v}"
            );
        }
        if r["ConsumedUnit"] == "Tokens" {
            assert_eq!(r["PricingUnit"], "1000000 Tokens");
        }
        assert!(
            !r["x_ApiKeyHint"].contains("sk-") || r["x_ApiKeyHint"].contains(['…', '.']),
            "{r:?}"
        );
    }
    assert!(!csv.contains(&ingest) && !csv.contains(&app.token));
    assert!(
        usage
            .iter()
            .any(|r| !r["x_InputTokens"].is_empty() && r["x_CacheReadTokens"] != "0.0")
    );
    assert!(
        rows.iter().any(
            |r| r["PublisherName"] == "Anthropic" && r["ProviderName"] == "Amazon Web Services"
        )
    );

    // The dashboard's button serves the same file for the shown period.
    let cookie = app.sign_in().await;
    let (status, page) = app
        .page(&cookie, &format!("/providers?from={FROM}&to={TO}"))
        .await;
    assert_eq!(status, 200);
    assert!(
        page.contains("billed in EUR, shown in USD"),
        "the Providers view says the Vertex account's currency"
    );
    let count = format!("{} requests unpriced", thousands(app.piapi_unpriced_tasks));
    assert!(
        page.contains(&count),
        "the Providers view counts PiAPI's unpriced tasks"
    );
    let (status, models_page) = app
        .page(
            &cookie,
            &format!("/models?from={FROM}&to={TO}&provider=piapi"),
        )
        .await;
    assert_eq!(status, 200);
    assert!(
        models_page.contains(">unpriced<") && models_page.contains("Unpriced"),
        "the Models view shows mj's point usage as unpriced"
    );
    let href = format!("/export/focus?from={FROM}&#38;to={TO}");
    assert!(
        page.contains(&href) && page.contains("Export FOCUS CSV"),
        "no FOCUS button: {}",
        page.lines()
            .filter(|l| l.contains("export"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    let (status, from_button) = app.page(&cookie, &href.replace("&#38;", "&")).await;
    assert_eq!(status, 200);
    assert_eq!(from_button, csv);

    // Parquet: the API's file and the button's are the same bytes, a Parquet file.
    let (status, kind, parquet) = app
        .bytes(&format!(
            "/api/v1/export/focus?from={FROM}&to={TO}&format=parquet"
        ))
        .await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&parquet));
    assert_eq!(kind, "application/vnd.apache.parquet");
    assert!(parquet.starts_with(b"PAR1") && parquet.ends_with(b"PAR1"));
    assert!(
        page.contains(&format!("{href}&amp;format=parquet"))
            && page.contains("Export FOCUS Parquet"),
        "no Parquet button"
    );
    let button = app
        .client
        .get(format!(
            "{}{}&format=parquet",
            app.base,
            href.replace("&#38;", "&")
        ))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(button.status().as_u16(), 200);
    assert_eq!(button.bytes().await.unwrap().to_vec(), parquet);

    // The FinOps Foundation's validator: no failed rule but the documented noise.
    if let Some(venv) = venv {
        let dir = std::env::temp_dir().join(format!("spendlens-focus-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("export.csv");
        std::fs::write(&file, &csv).unwrap();
        let (unexpected, head) = validate(&venv, &file, &dir);
        assert!(
            unexpected.is_empty(),
            "focus-validator failed rules {unexpected:?} ({head}); the file is {}",
            file.display()
        );
        assert!(head.contains("tests=\""), "{head}");

        // The Parquet file passes the same validator with the same result…
        let file = dir.join("export.parquet");
        std::fs::write(&file, &parquet).unwrap();
        let (unexpected, head) = validate(&venv, &file, &dir);
        assert!(
            unexpected.is_empty(),
            "focus-validator failed rules {unexpected:?} on the Parquet file ({head}); it is {}",
            file.display()
        );
        // …and read by pyarrow (not spendlens's writer) it is the CSV: the same columns in the
        // same order, typed, and every cell the same value, so every total is the CSV's to the
        // nano-dollar.
        let read = read_parquet(&venv, &file);
        let columns: Vec<&str> = read["columns"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap())
            .collect();
        assert_eq!(columns, spendlens_query::focus::COLUMNS);
        for (column, expected) in [
            ("BilledCost", "decimal128(38, 9)"),
            ("x_BilledCostInUsd", "decimal128(38, 9)"),
            ("ConsumedQuantity", "decimal128(38, 9)"),
            ("ChargePeriodStart", "timestamp[us, tz=UTC]"),
            ("BillingPeriodEnd", "timestamp[us, tz=UTC]"),
            ("x_InputTokens", "int64"),
            ("x_Estimated", "bool"),
            ("ProviderName", "string"),
            ("ChargeClass", "string"),
        ] {
            assert_eq!(read["schema"][column], expected, "{column}");
        }
        let cells = read["rows"].as_array().unwrap();
        assert_eq!(cells.len(), rows.len());
        let parquet_rows: Vec<BTreeMap<String, String>> = cells
            .iter()
            .map(|row| {
                columns
                    .iter()
                    .zip(row.as_array().unwrap())
                    .map(|(c, v)| ((*c).to_owned(), v.as_str().unwrap().to_owned()))
                    .collect()
            })
            .collect();
        for (csv_row, parquet_row) in rows.iter().zip(&parquet_rows) {
            for column in spendlens_query::focus::COLUMNS {
                let (a, b) = (&csv_row[*column], &parquet_row[*column]);
                let same = match spendlens_query::focus::column_type(column) {
                    ColumnType::Decimal | ColumnType::Int => {
                        a.is_empty() && b.is_empty()
                            || (!a.is_empty()
                                && !b.is_empty()
                                && a.parse::<Decimal>().unwrap().normalize()
                                    == b.parse::<Decimal>().unwrap().normalize())
                    }
                    // The CSV neutralizes formula-like text; Parquet keeps it as it is.
                    ColumnType::Text => *a == neutralize_cell(b),
                    ColumnType::Timestamp | ColumnType::Bool => a == b,
                };
                assert!(same, "{column}: CSV {a:?}, Parquet {b:?}");
            }
        }
        let parquet_refs: Vec<_> = parquet_rows.iter().collect();
        for column in [
            "BilledCost",
            "EffectiveCost",
            "ListCost",
            "ContractedCost",
            "x_BilledCostInUsd",
            "x_MeteredCost",
        ] {
            assert_eq!(sum(&parquet_refs, column), sum(&all, column), "{column}");
        }
        assert_eq!(
            sum(&parquet_refs, "x_BilledCostInUsd"),
            money(&providers["total_net_cost"])
        );
        // An empty period is a valid export too: the header alone.
        let (status, empty) = app
            .get("/api/v1/export/focus?from=2020-01-01&to=2020-01-31")
            .await;
        assert_eq!(status, 200);
        assert_eq!(empty.lines().count(), 1, "{empty}");
        let file = dir.join("empty.csv");
        std::fs::write(&file, &empty).unwrap();
        let (mut unexpected, head) = validate(&venv, &file, &dir);
        // With no rows, the validator fails exactly the rules that ask for a value in a
        // column of allowed values (ChargeCategory, ChargeFrequency, ServiceCategory,
        // ServiceSubcategory): nothing else, so a header mistake cannot hide here.
        unexpected.sort_unstable();
        assert_eq!(
            unexpected,
            [
                "ChargeCategory-C-000-M",
                "ChargeCategory-C-003-M",
                "ChargeFrequency-C-000-O",
                "ChargeFrequency-C-003-M",
                "ServiceCategory-C-000-M",
                "ServiceCategory-C-003-M",
                "ServiceSubcategory-C-000-O",
                "ServiceSubcategory-C-003-M",
                "ServiceSubcategory-C-004-M",
            ],
            "empty export: {head}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[tokio::test]
async fn bad_periods_formats_and_keys_are_refused_with_what_to_do() {
    let app = App::start().await;
    for (query, expect) in [
        ("from=2026-12-04&to=2026-11-01", "earlier"),
        ("from=2021-01-01&to=2025-12-31", "at most 366 days"),
        ("from=2026-11-01", "give both from and to"),
        ("from=2026-11-01&to=2026-11-31", "to:"),
        (
            "from=2026-11-01&to=2026-11-30&format=xlsx",
            "format must be csv or parquet, not \\\"xlsx\\\"",
        ),
        // A bad format is said before the period is looked at.
        ("from=2026-12-04&to=2026-11-01&format=xls", "format must be"),
    ] {
        let (status, body) = app.get(&format!("/api/v1/export/focus?{query}")).await;
        assert_eq!(status, 400, "{query}: {body}");
        assert!(body.contains(expect), "{query}: {body}");
    }
    // An ingest key reads nothing.
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
    let response = app
        .client
        .get(format!(
            "{}/api/v1/export/focus?period=last-7-days",
            app.base
        ))
        .bearer_auth(&ingest)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 403);
    // Listed in the OpenAPI document.
    let doc = app.json("/api/v1/openapi.json").await;
    assert!(doc["paths"]["/export/focus"]["get"].is_object());
}
