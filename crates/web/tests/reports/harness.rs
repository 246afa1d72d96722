//! The reports suite's server: a real server on a random port over a known bill (OpenAI in two
//! workspaces with an allocated, credited key and spend no key carries; Anthropic without
//! request counts) and known metered calls (acme, globex, calls without a customer, one
//! unpriced call), an admin token, a read-only token (dashboard users sign in through
//! `alerts/browser.rs`), and helpers to generate, wait and
//! download; `pdf_text` runs Debian's `pdftotext` (required when SPENDLENS_REQUIRE_PDFTOTEXT=1).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, dead_code)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use spendlens_domain::{
    ApiKeyRecord, Category, ConnectionStatus, CostLine, Currency, Day, DayRange, FixedClock,
    KeyStatus, Money, PriceCatalog, ProviderKind, Quantity, Scopes, TokenCounts, Unit,
    WorkspaceRecord,
};
use spendlens_providers::HttpSettings;
use spendlens_store::testing::TestStore;
use spendlens_store::vault::Vault;
use spendlens_store::{NewConnection, OrgId, Store, WindowWrite};
use spendlens_sync::{SyncEngine, SyncSettings};
use time::macros::datetime;

pub const NOW: time::OffsetDateTime = datetime!(2026-12-16 12:00 UTC);

/// Per day from 2026-11-01 to 2026-12-15: (workspace, key, model, cost, credits, allocated).
pub type BillLine = (
    &'static str,
    Option<&'static str>,
    &'static str,
    &'static str,
    &'static str,
    bool,
);
pub const OPENAI: [BillLine; 4] = [
    (
        "proj_main",
        Some("key_a"),
        "gpt-4o-mini",
        "10.004",
        "0",
        false,
    ),
    ("proj_main", Some("key_b"), "gpt-4o", "5.005", "0.5", true),
    (
        "proj_lab",
        Some("key_c"),
        "gpt-4o-mini",
        "2.0025",
        "0",
        false,
    ),
    ("proj_main", None, "gpt-4o", "0.333333333", "0", false),
];
pub const ANTHROPIC_DAILY: &str = "7.777777777";

pub fn day(text: &str) -> Day {
    text.parse().unwrap()
}

pub fn days(from: &str, to: &str) -> Vec<Day> {
    DayRange::new(day(from), day(to)).unwrap().days().collect()
}

pub fn money(text: &str) -> Money {
    Money::parse_units(text).unwrap()
}

/// `$1,234.56` from cents, written here independently of the code under test.
pub fn dollars(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let abs = cents.unsigned_abs();
    let whole = (abs / 100).to_string();
    let mut grouped = String::new();
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(c);
    }
    format!("{sign}${grouped}.{:02}", abs % 100)
}

/// "1234.56" (a JSON `shown` or a CSV cell) as cents.
pub fn cents(text: &str) -> i64 {
    let negative = text.starts_with('-');
    let (whole, frac) = text.trim_start_matches('-').split_once('.').unwrap();
    let value = whole.parse::<i64>().unwrap() * 100 + frac.parse::<i64>().unwrap();
    if negative { -value } else { value }
}

fn line(d: Day, ws: Option<&str>, key: Option<&str>, model: &str, cost: &str) -> CostLine {
    CostLine {
        day: d,
        workspace_id: ws.map(str::to_owned),
        api_key_id: key.map(str::to_owned),
        model: model.to_owned(),
        category: Category::Text,
        unit: Unit::tokens(),
        detail: String::new(),
        tokens: TokenCounts {
            input: 1000,
            output: 100,
            cache_read: 0,
            cache_write: 0,
        },
        requests: Some(10),
        quantity: Quantity::ZERO,
        cost: money(cost),
        credits: Money::ZERO,
        currency: Currency::usd(),
        estimated: false,
        allocated: false,
        billing: None,
        unpriced: false,
    }
}

fn key(id: &str, name: &str, ws: &str) -> ApiKeyRecord {
    ApiKeyRecord {
        provider_id: id.to_owned(),
        name: Some(name.to_owned()),
        hint: None,
        workspace_id: Some(ws.to_owned()),
        status: KeyStatus::Active,
        created_at: None,
        last_used_at: None,
    }
}

fn workspace(id: &str, name: &str) -> WorkspaceRecord {
    WorkspaceRecord {
        provider_id: id.to_owned(),
        name: name.to_owned(),
        archived: false,
        created_at: None,
    }
}

async fn billed(
    engine: &SyncEngine,
    org: OrgId,
    provider: ProviderKind,
    secret: &str,
    workspaces: Vec<WorkspaceRecord>,
    keys: Vec<ApiKeyRecord>,
    lines: Vec<CostLine>,
) {
    let store = engine.store();
    let credential = spendlens_domain::Credential::parse(provider, secret).unwrap();
    let id = store
        .create_connection(
            org,
            NewConnection {
                name: provider.as_str(),
                credential: &credential,
                base_url: Some("http://127.0.0.1:9"),
                sync_interval_secs: 3600,
                backfill_days: 90,
                lookback_days: Some(3),
            },
            engine.vault(),
            NOW,
        )
        .await
        .unwrap()
        .id;
    store
        .replace_window(WindowWrite {
            invoice_months: None,
            org,
            connection: id,
            window: DayRange::new(day("2026-11-01"), day("2026-12-16")).unwrap(),
            workspaces: &workspaces,
            api_keys: &keys,
            api_keys_complete: true,
            lines: &lines,
            now: NOW,
        })
        .await
        .unwrap();
    store
        .record_sync_outcome(
            org,
            id,
            ConnectionStatus::Connected,
            None,
            Some(day("2026-12-16")),
            false,
            None,
            NOW,
            None,
        )
        .await
        .unwrap();
}

/// acme: 2 calls a day in November at $0.105 and one unpriced call; globex: one call on each of
/// the first ten days at $1.0049; one $0.25 call without a customer.
fn events() -> Value {
    let mut out = Vec::new();
    for d in days("2026-11-01", "2026-11-30") {
        for i in 0..2 {
            out.push(json!({"id": format!("acme-{d}-{i}"), "time": format!("{d}T10:00:00Z"),
                "provider": "openai", "model": "gpt-4o-mini", "tokens": {"input": 1000, "output": 100},
                "cost": "0.105", "customer": "acme"}));
        }
    }
    out.push(json!({"id": "acme-unpriced", "time": "2026-11-05T10:00:00Z", "provider": "openai",
        "model": "ft:gpt-nobody-priced:acme", "tokens": {"input": 10, "output": 10}, "customer": "acme"}));
    for d in days("2026-11-01", "2026-11-10") {
        out.push(
            json!({"id": format!("globex-{d}"), "time": format!("{d}T12:00:00Z"),
            "provider": "openai", "model": "gpt-4o", "tokens": {"input": 500, "output": 50},
            "cost": "1.0049", "customer": "globex"}),
        );
    }
    out.push(
        json!({"id": "anonymous", "time": "2026-11-03T08:00:00Z", "provider": "openai",
        "model": "gpt-4o-mini", "tokens": {"input": 100, "output": 10}, "cost": "0.25"}),
    );
    Value::Array(out)
}

pub struct App {
    pub base: String,
    pub token: String,
    pub read_token: String,
    pub client: reqwest::Client,
    pub org: OrgId,
    pub store: Store,
    pub test: TestStore,
}

impl App {
    pub async fn start() -> App {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let test = TestStore::new().await.unwrap();
        let store: Store = test.store.clone();
        let org = store.ensure_default_org(NOW).await.unwrap();
        let engine = SyncEngine::new(
            store.clone(),
            Vault::from_key([5; 32]),
            PriceCatalog::built_in(),
            Arc::new(FixedClock::new(NOW)),
            SyncSettings {
                lease: Duration::from_secs(60),
                http: HttpSettings::default(),
                owner: "reports-test".into(),
                allowed_base_url_hosts: Vec::new(),
            },
        );
        let mut lines = Vec::new();
        for d in days("2026-11-01", "2026-12-15") {
            for (ws, key, model, cost, credits, allocated) in OPENAI {
                let mut l = line(d, Some(ws), key, model, cost);
                l.credits = money(credits);
                l.allocated = allocated;
                lines.push(l);
            }
        }
        billed(
            &engine,
            org,
            ProviderKind::OpenAi,
            "sk-admin-reportstestkeyxxxxxxxxxxxxxxxxxx",
            vec![
                workspace("proj_main", "Main project"),
                workspace("proj_lab", "Lab"),
            ],
            vec![
                key("key_a", "app", "proj_main"),
                key("key_b", "evals", "proj_main"),
                key("key_c", "research", "proj_lab"),
            ],
            lines,
        )
        .await;
        let anthropic = days("2026-11-01", "2026-12-15")
            .into_iter()
            .map(|d| {
                let mut l = line(d, None, None, "claude-sonnet-4", ANTHROPIC_DAILY);
                l.requests = None;
                l
            })
            .collect();
        billed(
            &engine,
            org,
            ProviderKind::Anthropic,
            "sk-ant-admin01-reportstestkeyxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
            vec![],
            vec![],
            anthropic,
        )
        .await;
        let token = store
            .create_api_token(org, "admin", NOW)
            .await
            .unwrap()
            .secret;
        let read_token = store
            .create_scoped_api_token(
                org,
                "reader",
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
        let app = App {
            base,
            token,
            read_token,
            client: reqwest::Client::new(),
            org,
            store,
            test,
        };
        let (_, created) = app
            .send(
                reqwest::Method::POST,
                "/api/v1/ingest-keys",
                Some(json!({"name": "reports"})),
            )
            .await;
        let ingest = created["secret"].as_str().unwrap().to_owned();
        let body: Value = app
            .client
            .post(format!("{}/api/v1/meter/events", app.base))
            .bearer_auth(&ingest)
            .json(&events())
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(body["rejected"], 0, "{body}");
        app
    }

    pub async fn send_as(
        &self,
        token: &str,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        self.send_as(&self.token, method, path, body).await
    }

    /// Asks for a chargeback and returns the 202's document id.
    pub async fn generate(&self, scope: &str, from: &str, to: &str) -> i64 {
        let (status, body) = self
            .send(
                reqwest::Method::POST,
                "/api/v1/report-documents",
                Some(json!({"kind": "chargeback", "scope": scope, "from": from, "to": to})),
            )
            .await;
        assert_eq!(status, 202, "{body}");
        body["document"]["id"].as_i64().unwrap()
    }

    /// Waits until a document is no longer building; returns it.
    pub async fn ready(&self, id: i64) -> Value {
        let started = Instant::now();
        loop {
            let (status, body) = self
                .send(
                    reqwest::Method::GET,
                    &format!("/api/v1/report-documents/{id}"),
                    None,
                )
                .await;
            assert_eq!(status, 200, "{body}");
            if body["status"] != "building" {
                assert_eq!(body["status"], "ready", "{body}");
                return body;
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "report {id} still building"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// A file of a document: status and bytes.
    pub async fn download(&self, id: i64, format: &str) -> (u16, Vec<u8>) {
        let response = self
            .client
            .get(format!(
                "{}/api/v1/report-documents/{id}/{format}",
                self.base
            ))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.bytes().await.unwrap().to_vec())
    }

    /// Generates, waits, and returns the JSON report, the PDF's text (if pdftotext runs here)
    /// and the CSV.
    pub async fn chargeback(
        &self,
        scope: &str,
        from: &str,
        to: &str,
    ) -> (Value, Option<String>, String) {
        let id = self.generate(scope, from, to).await;
        self.ready(id).await;
        let (status, json) = self.download(id, "json").await;
        assert_eq!(status, 200);
        let json: Value = serde_json::from_slice(&json).unwrap();
        let (status, pdf) = self.download(id, "pdf").await;
        assert_eq!(status, 200);
        assert!(pdf.starts_with(b"%PDF-"));
        // To look at the pages: SPENDLENS_REPORTS_KEEP=/some/dir keeps every PDF.
        if let Ok(dir) = std::env::var("SPENDLENS_REPORTS_KEEP") {
            let name = format!("{}-{}-{from}-{to}.pdf", id, scope.replace([':', ' '], "_"));
            std::fs::write(std::path::Path::new(&dir).join(name), &pdf).unwrap();
        }
        let (status, csv) = self.download(id, "csv").await;
        assert_eq!(status, 200);
        (
            json["report"].clone(),
            pdf_text(&pdf),
            String::from_utf8(csv).unwrap(),
        )
    }
}

/// The PDF's text by `pdftotext -layout`; `None` when it is not installed (and not required).
pub fn pdf_text(pdf: &[u8]) -> Option<String> {
    let dir = std::env::temp_dir().join(format!("spendlens-reports-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{}.pdf", rand_name(pdf)));
    std::fs::write(&path, pdf).unwrap();
    let output = std::process::Command::new("pdftotext")
        .arg("-layout")
        .arg(&path)
        .arg("-")
        .output();
    let _ = std::fs::remove_file(&path);
    match output {
        Ok(out) if out.status.success() => Some(String::from_utf8(out.stdout).unwrap()),
        Ok(out) => panic!("pdftotext failed: {}", String::from_utf8_lossy(&out.stderr)),
        Err(err) => {
            if std::env::var("SPENDLENS_REQUIRE_PDFTOTEXT").as_deref() == Ok("1") {
                panic!("pdftotext is required (poppler-utils) but did not run: {err}");
            }
            eprintln!("pdftotext not found ({err}); the PDF's text is not checked here");
            None
        }
    }
}

fn rand_name(bytes: &[u8]) -> String {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    bytes.hash(&mut h);
    format!("{:x}", h.finish())
}
