//! The Vertex connector against the local BigQuery + OAuth fake (spendlens-fakes), with an RSA
//! key pair generated at test time (the fake gets the public half), and against a canned server
//! for the 401-then-refresh path.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers, like tests, stop loudly (clippy only exempts #[test] functions)"
)]

use crate::common;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use common::{config, date, nanos_of_dollars, range};
use rsa::RsaPrivateKey;
use rsa::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
use spendlens_domain::{Category, Credential, DayRange, FetchedWindow, ProviderKind, Unit};
use spendlens_fakes::vertex::{ExportTables, RunningVertexFake, VertexFake, VertexFakeBuilder};
use spendlens_fakes::{Fault, FaultRule};
use spendlens_providers::{CallStats, ProviderError, check_connection, fetch_window};

/// One RSA key pair per test binary: (private PKCS#8 PEM, public SPKI PEM).
fn key_pair() -> &'static (String, String) {
    static KEYS: OnceLock<(String, String)> = OnceLock::new();
    KEYS.get_or_init(|| {
        let mut rng = rsa::rand_core::OsRng;
        let key = RsaPrivateKey::new(&mut rng, 2048).unwrap();
        let private = key.to_pkcs8_pem(LineEnding::LF).unwrap().to_string();
        let public = key
            .to_public_key()
            .to_public_key_pem(LineEnding::LF)
            .unwrap();
        (private, public)
    })
}

fn ninety_days() -> DayRange {
    range("2025-11-03", "2026-01-31")
}

fn builder() -> VertexFakeBuilder {
    VertexFake::builder()
        .seed(21)
        .public_key_pem(key_pair().1.clone())
        .private_key_id("key-1")
}

async fn spawn_with(builder: VertexFakeBuilder) -> RunningVertexFake {
    builder.build().spawn().await.unwrap()
}

fn key_json(fake: &RunningVertexFake) -> serde_json::Value {
    serde_json::from_str(&fake.service_account_key_json(&key_pair().0)).unwrap()
}

fn credential_of(json: &serde_json::Value) -> Credential {
    Credential::parse(ProviderKind::Vertex, &json.to_string()).unwrap()
}

async fn fetch_with(
    fake: &RunningVertexFake,
    key: &serde_json::Value,
    window: DayRange,
) -> (Result<FetchedWindow, ProviderError>, CallStats) {
    let stats = CallStats::new();
    let result = fetch_window(
        &credential_of(key),
        &config(fake.base_url()),
        window,
        &stats,
    )
    .await;
    (result, stats)
}

async fn fetch(
    fake: &RunningVertexFake,
    window: DayRange,
) -> (Result<FetchedWindow, ProviderError>, CallStats) {
    fetch_with(fake, &key_json(fake), window).await
}

/// (day, project, description) → (cost, credits) in nano-units, from the connector.
fn by_line(fetched: &FetchedWindow) -> BTreeMap<(time::Date, String, String), (i64, i64)> {
    let mut out: BTreeMap<(time::Date, String, String), (i64, i64)> = BTreeMap::new();
    for cost in &fetched.costs {
        let entry = out
            .entry((
                cost.day.date(),
                cost.workspace_id.clone().unwrap_or_default(),
                cost.description.clone(),
            ))
            .or_default();
        entry.0 += cost.cost.nanos();
        entry.1 += cost.credits.nanos();
    }
    out
}

/// The AI services' current names by service id (google-vertex.md §6): a line is stored under
/// its service's current name whatever the row called it. Partner models keep the name their
/// rows carry (`named`).
fn service_name<'a>(id: &str, named: &'a str) -> &'a str {
    match id {
        "C7E2-9256-1C43" => "Vertex AI",
        "AEFD-7695-64FA" => "Gemini API",
        _ => named,
    }
}

/// The same, from the fake's truth: the description the connector writes for each line.
fn expected_lines(
    fake: &RunningVertexFake,
    window: DayRange,
) -> BTreeMap<(time::Date, String, String), (i64, i64)> {
    let truth = fake.truth();
    let mut out: BTreeMap<(time::Date, String, String), (i64, i64)> = BTreeMap::new();
    for line in truth.ai_lines(date(window.from()), date(window.to())) {
        if line.cost_nanos == 0 && line.credits_nanos == 0 {
            continue;
        }
        let mut description = format!(
            "{}: {} [{}]",
            service_name(&line.service_id, &line.service),
            line.sku,
            line.sku_id
        );
        if line.cost_type != "regular" {
            description = format!("{description} {}", line.cost_type);
        }
        let entry = out
            .entry((line.day, line.project_id.clone(), description))
            .or_default();
        entry.0 += line.cost_nanos;
        entry.1 -= line.credits_nanos;
    }
    out
}

#[tokio::test]
async fn a_90_day_sync_equals_the_export_to_the_nano_dollar() {
    let fake = spawn_with(builder()).await;
    let window = ninety_days();
    let (result, stats) = fetch(&fake, window).await;
    let fetched = result.unwrap();
    let truth = fake.truth();
    let (from, to) = (date(window.from()), date(window.to()));

    assert_eq!(by_line(&fetched), expected_lines(&fake, window));
    // The Gemini API's older rows still carry its former name: read by service id, all of them.
    let renamed: i64 = truth
        .ai_lines(from, to)
        .iter()
        .filter(|l| l.service == "Generative Language API")
        .map(|l| l.cost_nanos)
        .sum();
    assert!(renamed > 0, "the window holds rows under the former name");
    assert!(
        fetched
            .notes
            .iter()
            .any(|n| n.contains("Some rows name Gemini API \"Generative Language API\"")),
        "{:?}",
        fetched.notes
    );
    let totals = truth.ai_totals(from, to);
    let cost: i64 = fetched.costs.iter().map(|c| c.cost.nanos()).sum();
    let credits: i64 = fetched.costs.iter().map(|c| c.credits.nanos()).sum();
    assert_eq!(cost, nanos_of_dollars(&totals.cost));
    assert_eq!(credits, -nanos_of_dollars(&totals.credits));
    assert_eq!(cost - credits, nanos_of_dollars(&totals.net));
    for c in &fetched.costs {
        assert_eq!(c.currency.as_str(), "USD");
        assert_eq!(c.api_key_id, None);
    }

    // Workspaces are the AI projects; the BigQuery/Compute Engine project is not AI spend.
    let projects: Vec<&str> = fetched
        .workspaces
        .iter()
        .map(|w| w.provider_id.as_str())
        .collect();
    assert_eq!(projects, ["demo-app", "research-ml"]);
    assert!(
        fetched.costs.iter().all(
            |c| !c.description.starts_with("BigQuery") && !c.description.starts_with("Compute")
        )
    );

    // Tax rows: their own line, no project, category other.
    let tax: Vec<_> = fetched
        .costs
        .iter()
        .filter(|c| c.model.as_deref() == Some("tax"))
        .collect();
    assert!(!tax.is_empty());
    assert!(
        tax.iter()
            .all(|c| c.workspace_id.is_none() && c.category == Some(Category::Other))
    );
    assert!(
        fetched
            .costs
            .iter()
            .any(|c| c.model.as_deref() == Some("adjustment") && c.cost.is_negative())
    );

    // Tokens: the pricing quantity of each token SKU (count = 1 token).
    let mut tokens_by_sku: BTreeMap<String, i64> = BTreeMap::new();
    for line in truth.ai_lines(from, to) {
        if line.cost_type == "regular" && line.pricing_unit.as_deref() == Some("count") {
            *tokens_by_sku.entry(line.sku.clone()).or_default() += line
                .pricing_qty
                .as_deref()
                .unwrap_or("0")
                .parse::<i64>()
                .unwrap();
        }
    }
    let flash = |class: &str| -> i64 {
        fetched
            .usage
            .iter()
            .filter(|u| u.model == "gemini-2.5-flash")
            .map(|u| match class {
                "input" => u.tokens.input - u.tokens.cache_read,
                "cached" => u.tokens.cache_read,
                _ => u.tokens.output,
            })
            .sum()
    };
    assert_eq!(
        flash("input"),
        tokens_by_sku["Gemini 2.5 Flash GA Text Input - Predictions"]
    );
    assert_eq!(
        flash("output"),
        tokens_by_sku["Gemini 2.5 Flash GA Text Output - Predictions"]
            + tokens_by_sku["Gemini 2.5 Flash GA Thinking Text Output - Predictions"]
            + tokens_by_sku["Generate content output token count gemini 2.5 flash text output"]
    );
    assert_eq!(
        flash("cached"),
        tokens_by_sku["Generate content cached input token count gemini 2.5 flash input image"]
    );
    let pro_input: i64 = fetched
        .usage
        .iter()
        .filter(|u| u.model == "gemini-2.5-pro")
        .map(|u| u.tokens.input)
        .sum();
    assert_eq!(
        pro_input,
        tokens_by_sku["Gemini 2.5 Pro Text Input - Predictions"]
            + tokens_by_sku["Generate content input token count Gemini 2.5 Pro short input text"]
            + tokens_by_sku["Generate content input token count Gemini 2.5 Pro long input text"]
    );
    let embedding = fetched
        .usage
        .iter()
        .find(|u| u.model == "gemini-embedding-001")
        .unwrap();
    assert_eq!(embedding.category, Category::Embedding);
    let grounding = fetched
        .usage
        .iter()
        .find(|u| u.category == Category::Tool)
        .unwrap();
    assert_eq!(grounding.model, "grounding with google search");
    assert_eq!(grounding.unit.as_str(), "units");
    // Caching storage comes in exponent form (e.g. "3.7E-5" GiB-hours): exact to the micro-unit.
    let storage: i64 = fetched
        .usage
        .iter()
        .filter(|u| u.model == "gemini-3-flash" && u.unit.as_str() == "gibibyte_hour")
        .map(|u| u.quantity.micros())
        .sum();
    let storage_truth: i64 = truth
        .ai_lines(from, to)
        .iter()
        .filter(|l| l.sku == "Gemini 3 Flash Text Input Caching Storage")
        .map(|l| {
            spendlens_domain::money::parse_decimal(l.pricing_qty.as_deref().unwrap())
                .unwrap()
                .checked_mul(rust_decimal::Decimal::from(1_000_000))
                .unwrap()
                .try_into()
                .unwrap_or(0i64)
        })
        .sum();
    assert!(storage > 0);
    assert_eq!(storage, storage_truth);
    for record in &fetched.usage {
        assert_eq!(record.requests, None, "the export has no request counts");
        assert_eq!(record.api_key_id, None);
        if record.category == Category::Text {
            assert_eq!(record.unit, Unit::tokens());
        }
    }

    assert!(
        fetched.notes.iter().any(|n| n.contains("lags 24–48 h")),
        "{:?}",
        fetched.notes
    );
    assert_eq!(stats.snapshot().retries, 0);
    // One token for the whole sync.
    assert_eq!(fake.log().count("/token"), 1);
}

#[tokio::test]
async fn the_records_allocate_into_cost_lines_that_keep_every_nano_dollar() {
    let fake = spawn_with(builder()).await;
    let fetched = fetch(&fake, ninety_days()).await.0.unwrap();
    let cost: i64 = fetched.costs.iter().map(|c| c.cost.nanos()).sum();
    let credits: i64 = fetched.costs.iter().map(|c| c.credits.nanos()).sum();
    let lines = spendlens_domain::allocation::allocate(
        ProviderKind::Vertex,
        fetched.usage,
        fetched.costs,
        &spendlens_domain::PriceCatalog::built_in(),
    );
    assert_eq!(lines.iter().map(|l| l.cost.nanos()).sum::<i64>(), cost);
    assert_eq!(
        lines.iter().map(|l| l.credits.nanos()).sum::<i64>(),
        credits
    );
    assert!(
        lines
            .iter()
            .any(|l| l.model == "tax" && l.workspace_id.is_none())
    );
    assert!(
        lines
            .iter()
            .all(|l| l.requests.is_none() && l.api_key_id.is_none())
    );
}

#[tokio::test]
async fn a_row_covered_fully_by_a_credit_nets_to_zero() {
    let fake = spawn_with(builder()).await;
    let window = ninety_days();
    let fetched = fetch(&fake, window).await.0.unwrap();
    let truth = fake.truth();
    let covered: Vec<_> = truth
        .ai_lines(date(window.from()), date(window.to()))
        .into_iter()
        .filter(|l| l.cost_nanos > 0 && l.cost_nanos + l.credits_nanos == 0)
        .collect();
    assert!(!covered.is_empty(), "the free trial covers some rows fully");
    let mine = by_line(&fetched);
    for line in covered {
        let key = (
            line.day,
            line.project_id.clone(),
            format!(
                "{}: {} [{}]",
                service_name(&line.service_id, &line.service),
                line.sku,
                line.sku_id
            ),
        );
        let (cost, credits) = mine[&key];
        assert_eq!(cost, line.cost_nanos);
        assert_eq!(cost - credits, 0, "{key:?}");
    }
}

#[tokio::test]
async fn a_running_job_is_polled_and_results_are_paged() {
    let fake = spawn_with(builder().job_pending_polls(3).page_rows(200)).await;
    let window = range("2026-01-01", "2026-01-31");
    let (result, stats) = fetch(&fake, window).await;
    let fetched = result.unwrap();
    assert_eq!(by_line(&fetched), expected_lines(&fake, window));
    let gets = fake.log().requests_to("/queries/");
    let with_token = gets
        .iter()
        .filter(|r| r.param("pageToken").is_some())
        .count();
    let polls = gets.len() - with_token;
    assert_eq!(
        polls, 6,
        "per job (service discovery, then spend): two polls still say jobComplete: false, the \
         third has rows"
    );
    assert!(with_token >= 2, "several pages of 200 rows");
    for request in &gets {
        assert_eq!(request.param("location").as_deref(), Some("US"));
    }
    assert_eq!(
        stats.snapshot().http_calls,
        stats.snapshot().pages + 1,
        "plus the token"
    );
}

#[tokio::test]
async fn an_expired_token_is_replaced() {
    let fake = spawn_with(builder().token_expires_in(1).job_pending_polls(1)).await;
    fake.faults().add(
        FaultRule::new(Fault::Delay(std::time::Duration::from_millis(1200))).on_path("/queries"),
    );
    let window = range("2026-01-20", "2026-01-31");
    let fetched = fetch(&fake, window).await.0.unwrap();
    assert_eq!(by_line(&fetched), expected_lines(&fake, window));
    assert!(fake.log().count("/token") >= 2, "{:?}", fake.log().served());
}

#[tokio::test]
async fn access_denied_names_the_roles_to_grant() {
    let fake = spawn_with(builder().access_denied(true)).await;
    let error = fetch(&fake, ninety_days()).await.0.unwrap_err();
    assert!(error.is_credential_rejected(), "{error:?}");
    let text = error.to_string();
    assert!(text.contains("BigQuery Data Viewer"), "{text}");
    assert!(text.contains("BigQuery Job User"), "{text}");
    assert!(text.contains(fake.client_email()), "{text}");
}

#[tokio::test]
async fn a_missing_dataset_gets_a_dataset_and_location_hint() {
    let fake = spawn_with(builder()).await;
    let mut key = key_json(&fake);
    key["billing_dataset"] = serde_json::json!(format!("{}.no_such_dataset", fake.project()));
    let error = fetch_with(&fake, &key, ninety_days()).await.0.unwrap_err();
    assert!(
        matches!(error, ProviderError::RequestRefused { status: 404, .. }),
        "{error:?}"
    );
    let text = error.to_string();
    assert!(text.contains("billing_dataset"), "{text}");
    assert!(text.contains("location"), "{text}");
}

#[tokio::test]
async fn billing_dataset_skips_discovery() {
    let fake = spawn_with(builder().export_tables(ExportTables::Two)).await;
    let mut key = key_json(&fake);
    key["billing_dataset"] = serde_json::json!(format!("{}.{}", fake.project(), fake.dataset()));
    let window = range("2026-01-01", "2026-01-31");
    let fetched = fetch_with(&fake, &key, window).await.0.unwrap();
    // Two export tables in that dataset: the choice is named.
    assert!(
        fetched.notes.iter().any(|n| n.starts_with("Found 2")),
        "{:?}",
        fetched.notes
    );
    let mut key = key_json(&fake);
    key["billing_dataset"] = serde_json::json!(format!(
        "{}.{}.{}",
        fake.project(),
        fake.dataset(),
        fake.table()
    ));
    let fetched = fetch_with(&fake, &key, window).await.0.unwrap();
    assert_eq!(by_line(&fetched), expected_lines(&fake, window));
    assert!(fetched.notes.iter().all(|n| !n.starts_with("Found")));
    assert_eq!(
        fake.log().count("/tables"),
        1,
        "only the first fetch listed tables"
    );
}

#[tokio::test]
async fn no_export_table_says_how_to_enable_the_export() {
    for scenario in [ExportTables::None, ExportTables::NoDatasets] {
        let fake = spawn_with(builder().export_tables(scenario)).await;
        let error = fetch(&fake, ninety_days()).await.0.unwrap_err();
        assert!(
            matches!(error, ProviderError::NotSetUp { .. }),
            "{scenario:?}: {error:?}"
        );
        let text = error.to_string();
        assert!(
            text.contains("enable the Cloud Billing export to BigQuery"),
            "{text}"
        );
        assert!(text.contains("billing_dataset"), "{text}");
        assert!(text.contains(fake.project()), "{text}");
    }
}

#[tokio::test]
async fn two_export_tables_pick_one_and_say_which() {
    let fake = spawn_with(builder().export_tables(ExportTables::Two)).await;
    let window = range("2026-01-01", "2026-01-31");
    let fetched = fetch(&fake, window).await.0.unwrap();
    let tables = fake.truth().export_tables();
    assert_eq!(tables.len(), 2);
    let chosen = format!("{}.{}.{}", fake.project(), fake.dataset(), tables[0]);
    let note = fetched
        .notes
        .iter()
        .find(|n| n.starts_with("Found 2 Cloud Billing export tables"))
        .unwrap();
    assert!(
        note.contains(&format!("spendlens reads {chosen}")),
        "{note}"
    );
    assert!(note.contains(&tables[1]), "{note}");
    assert!(note.contains("billing_dataset"), "{note}");
    if tables[0] == fake.table() {
        assert_eq!(by_line(&fetched), expected_lines(&fake, window));
    } else {
        assert!(
            fetched.costs.is_empty(),
            "the old account's table has no rows"
        );
    }
}

#[tokio::test]
async fn a_broken_private_key_is_reported_before_any_call() {
    let fake = spawn_with(builder()).await;
    let mut key = key_json(&fake);
    key["private_key"] = serde_json::json!(
        "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n"
    );
    let (result, stats) = fetch_with(&fake, &key, ninety_days()).await;
    let error = result.unwrap_err();
    let text = error.to_string();
    assert!(
        text.contains("the service account's private key cannot be read"),
        "{text}"
    );
    assert!(text.contains("download a new JSON key"), "{text}");
    assert_eq!(stats.snapshot().http_calls, 0);
    assert!(fake.log().requests().is_empty());
}

#[tokio::test]
async fn a_revoked_key_is_refused_at_the_token_endpoint() {
    let fake = spawn_with(builder()).await;
    fake.set_revoked(true);
    let error = fetch(&fake, ninety_days()).await.0.unwrap_err();
    assert!(error.is_credential_rejected(), "{error:?}");
    let text = error.to_string();
    assert!(text.contains("invalid_grant"), "{text}");
    assert!(text.contains("Download a new JSON key"), "{text}");
}

#[tokio::test]
async fn rate_limits_and_server_errors_are_retried() {
    let fake = spawn_with(builder()).await;
    fake.faults().add(
        FaultRule::new(Fault::RateLimited {
            retry_after_secs: 0,
        })
        .on_path("/queries")
        .times(2),
    );
    fake.faults()
        .add(FaultRule::new(Fault::ServerError(503)).on_path("/datasets"));
    let window = range("2026-01-01", "2026-01-31");
    let (result, stats) = fetch(&fake, window).await;
    assert_eq!(by_line(&result.unwrap()), expected_lines(&fake, window));
    assert_eq!(stats.snapshot().retries, 3);

    let fake = spawn_with(builder()).await;
    fake.faults().add(
        FaultRule::new(Fault::RateLimited {
            retry_after_secs: 0,
        })
        .on_path("/queries")
        .times(u32::MAX),
    );
    let error = fetch(&fake, window).await.0.unwrap_err();
    assert!(
        matches!(error, ProviderError::RateLimited { retries: 6, .. }),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_repeated_page_token_stops_the_sync() {
    let fake = spawn_with(builder().page_rows(100)).await;
    fake.faults().add(
        FaultRule::new(Fault::RepeatPage)
            .on_path("/queries/")
            .on_page(2),
    );
    let error = fetch(&fake, range("2026-01-01", "2026-01-31"))
        .await
        .0
        .unwrap_err();
    assert!(
        matches!(error, ProviderError::RepeatedPage { .. }),
        "{error:?}"
    );
}

/// `nanos` of the billing currency ÷ `rate` in nano-dollars, half to even — computed here with
/// decimal division, independently of the connector's integer conversion.
fn usd_of(nanos: i64, rate: &str) -> i64 {
    use rust_decimal::prelude::ToPrimitive;
    let rate: rust_decimal::Decimal = rate.parse().unwrap();
    (rust_decimal::Decimal::from(nanos) / rate)
        .round_dp_with_strategy(0, rust_decimal::RoundingStrategy::MidpointNearestEven)
        .to_i64()
        .unwrap()
}

#[tokio::test]
async fn a_billing_account_in_euros_is_kept_in_euros_and_converted_to_dollars_at_the_exports_rate()
{
    let fake = spawn_with(builder().billing_currency("EUR", 920_000)).await;
    let window = ninety_days();
    let fetched = fetch(&fake, window).await.0.unwrap();
    let rate = fake.truth().conversion_rate();
    assert_eq!(rate, "0.92");
    // Every line: USD amounts, the billed euros beside them exactly as the export sums them.
    assert!(fetched.costs.iter().all(|c| c.currency.as_str() == "USD"));
    let mut billed: BTreeMap<(time::Date, String, String), (i64, i64)> = BTreeMap::new();
    for cost in &fetched.costs {
        let euros = cost.billing.clone().expect("billed in EUR");
        assert_eq!(euros.currency.as_str(), "EUR");
        assert_eq!(
            cost.cost.nanos(),
            usd_of(euros.cost.nanos(), &rate),
            "{}",
            cost.description
        );
        assert_eq!(
            cost.credits.nanos(),
            usd_of(euros.credits.nanos(), &rate),
            "{}",
            cost.description
        );
        let entry = billed
            .entry((
                cost.day.date(),
                cost.workspace_id.clone().unwrap_or_default(),
                cost.description.clone(),
            ))
            .or_default();
        entry.0 += euros.cost.nanos();
        entry.1 += euros.credits.nanos();
    }
    assert_eq!(billed, expected_lines(&fake, window));
    // The adjustment of −3.21 USD, billed as −2.9532 EUR, is −3.21 USD again.
    assert!(
        fetched
            .costs
            .iter()
            .any(|c| c.cost.nanos() == -3_210_000_000
                && c.billing.as_ref().unwrap().cost.nanos() == -2_953_200_000),
        "the −2.9532 EUR adjustment"
    );
    assert!(
        fetched
            .notes
            .iter()
            .any(|n| n.contains("billed in EUR (at 0.92 EUR per USD)")),
        "{:?}",
        fetched.notes
    );
}

#[tokio::test]
async fn the_connection_check_names_the_export_table() {
    let fake = spawn_with(builder()).await;
    let check = check_connection(
        &credential_of(&key_json(&fake)),
        &config(fake.base_url()),
        &CallStats::new(),
    )
    .await
    .unwrap();
    assert!(check.summary.contains(fake.table()), "{}", check.summary);
    assert!(
        check.summary.contains(fake.client_email()),
        "{}",
        check.summary
    );
}

// ---- a canned server for the 401-then-refresh path ------------------------------------------

#[derive(Clone)]
struct Canned {
    tokens: Arc<AtomicU32>,
    /// How many BigQuery calls answer 401 before the rest succeed.
    unauthorized: Arc<AtomicU32>,
}

async fn canned(State(state): State<Canned>, request: Request) -> Response {
    let path = request.uri().path().to_owned();
    if path == "/token" {
        let n = state.tokens.fetch_add(1, Ordering::SeqCst) + 1;
        let body = serde_json::json!({"access_token": format!("tok-{n}"), "expires_in": 3600, "token_type": "Bearer"});
        return (
            StatusCode::OK,
            [("content-type", "application/json")],
            body.to_string(),
        )
            .into_response();
    }
    if state
        .unauthorized
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
    {
        let body = r#"{"error":{"code":401,"message":"Request had invalid authentication credentials.","errors":[{"reason":"authError"}],"status":"UNAUTHENTICATED"}}"#;
        return (
            StatusCode::UNAUTHORIZED,
            [("content-type", "application/json")],
            body,
        )
            .into_response();
    }
    let body = if path.ends_with("/datasets") {
        r#"{"datasets":[{"datasetReference":{"projectId":"p1","datasetId":"billing"},"location":"EU"}]}"#
    } else {
        r#"{"tables":[{"tableReference":{"projectId":"p1","datasetId":"billing","tableId":"gcp_billing_export_v1_AAAAAA_BBBBBB_CCCCCC"}}]}"#
    };
    (StatusCode::OK, [("content-type", "application/json")], body).into_response()
}

#[tokio::test]
async fn a_401_fetches_a_new_token_once_and_a_second_401_is_a_rejection() {
    let state = Canned {
        tokens: Arc::new(AtomicU32::new(0)),
        unauthorized: Arc::new(AtomicU32::new(1)),
    };
    let router = Router::new().fallback(canned).with_state(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    let key = serde_json::json!({
        "type": "service_account",
        "project_id": "p1",
        "private_key_id": "k",
        "private_key": key_pair().0,
        "client_email": "reader@p1.iam.gserviceaccount.com",
        "token_uri": format!("http://{addr}/token"),
    });
    let base = format!("http://{addr}/bigquery/v2");
    let stats = CallStats::new();
    let check = check_connection(&credential_of(&key), &config(&base), &stats)
        .await
        .unwrap();
    assert!(
        check
            .summary
            .contains("p1.billing.gcp_billing_export_v1_AAAAAA_BBBBBB_CCCCCC")
    );
    assert_eq!(
        state.tokens.load(Ordering::SeqCst),
        2,
        "one refresh after the 401"
    );
    assert_eq!(stats.snapshot().retries, 1);

    state.unauthorized.store(2, Ordering::SeqCst);
    let error = check_connection(&credential_of(&key), &config(&base), &CallStats::new())
        .await
        .unwrap_err();
    assert!(
        matches!(error, ProviderError::CredentialRejected { status: 401, .. }),
        "{error:?}"
    );
    server.abort();
}

/// The bytes note of a fetch: the number BigQuery reported.
fn bytes_note(fetched: &FetchedWindow) -> u64 {
    let note = fetched
        .notes
        .iter()
        .find(|n| n.starts_with("BigQuery processed "))
        .unwrap_or_else(|| panic!("no bytes note in {:?}", fetched.notes));
    note["BigQuery processed ".len()..]
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

#[tokio::test]
async fn a_sync_reads_only_the_partitions_of_its_window_with_three_days_either_side() {
    let fake = spawn_with(builder()).await;
    let truth = fake.truth();
    // One day in the middle: its late rows load up to three days after it.
    let window = range("2026-01-10", "2026-01-10");
    let fetched = fetch(&fake, window).await.0.unwrap();
    assert_eq!(by_line(&fetched), expected_lines(&fake, window));
    // Both queries (service discovery, then spend) read the same partitions.
    let partitions = |from: time::Date, to: time::Date| {
        truth.bytes_of_partitions(from, to) + truth.discovery_bytes_of_partitions(from, to)
    };
    let expected = partitions(
        time::macros::date!(2026 - 01 - 07),
        time::macros::date!(2026 - 01 - 13),
    );
    assert_eq!(bytes_note(&fetched), expected);
    assert!(
        expected * 10 < truth.bytes_of_table(),
        "pruned to a few days"
    );
    let note = fetched
        .notes
        .iter()
        .find(|n| n.starts_with("BigQuery processed"))
        .unwrap();
    assert!(note.contains(" MB) for this sync"), "{note}");
    // Rows of the day landed in later partitions: the margin is what finds them.
    let same_day_only = truth.bytes_of_partitions(
        time::macros::date!(2026 - 01 - 10),
        time::macros::date!(2026 - 01 - 10),
    );
    assert!(same_day_only < expected);
    // The whole 90 days, pruned too (their money is checked in
    // a_90_day_sync_equals_the_export_to_the_nano_dollar); here their bytes.
    let fetched = fetch(&fake, ninety_days()).await.0.unwrap();
    assert_eq!(
        bytes_note(&fetched),
        partitions(
            time::macros::date!(2025 - 10 - 31),
            time::macros::date!(2026 - 02 - 03)
        )
    );
}

#[tokio::test]
async fn an_export_table_without_partitions_is_read_whole_and_said() {
    let fake = spawn_with(builder().partitioned(false)).await;
    let truth = fake.truth();
    let window = range("2026-01-01", "2026-01-31");
    // Discovery sees no timePartitioning: the query goes without the filter.
    let fetched = fetch(&fake, window).await.0.unwrap();
    assert_eq!(by_line(&fetched), expected_lines(&fake, window));
    assert_eq!(
        bytes_note(&fetched),
        truth.bytes_of_table() + truth.discovery_bytes_of_table()
    );
    assert!(
        fetched
            .notes
            .iter()
            .any(|n| n.contains("is not partitioned") && n.contains("scans the whole table")),
        "{:?}",
        fetched.notes
    );
    // Named in billing_dataset (no listing): the pruned query is refused by BigQuery
    // ("Unrecognized name: _PARTITIONTIME") and read again whole.
    let mut key = key_json(&fake);
    key["billing_dataset"] = serde_json::json!(format!(
        "{}.{}.{}",
        fake.project(),
        fake.dataset(),
        fake.table()
    ));
    let fetched = fetch_with(&fake, &key, window).await.0.unwrap();
    assert_eq!(by_line(&fetched), expected_lines(&fake, window));
    assert!(
        fetched
            .notes
            .iter()
            .any(|n| n.contains("has no _PARTITIONTIME column")),
        "{:?}",
        fetched.notes
    );
}

#[tokio::test]
async fn the_bytes_cap_is_a_setting_of_the_key_json_and_too_small_a_cap_is_refused() {
    let fake = spawn_with(builder()).await;
    // Under BigQuery's 10 MiB minimum: refused when the credential is read, with why.
    let mut key = key_json(&fake);
    key["maximum_bytes_billed"] = serde_json::json!(5_000_000);
    let refused = Credential::parse(ProviderKind::Vertex, &key.to_string()).unwrap_err();
    assert!(
        refused.to_string().contains("10 MiB") && refused.to_string().contains("10485760"),
        "{refused}"
    );
    // Exactly 10 MiB: accepted, but 90 days need more; BigQuery refuses and the error says
    // which setting to raise.
    key["maximum_bytes_billed"] = serde_json::json!("10485760");
    // The cap holds per query; the spend query reads the most.
    let (from, to) = (
        time::macros::date!(2025 - 10 - 31),
        time::macros::date!(2026 - 02 - 03),
    );
    let needed = fake.truth().bytes_of_partitions(from, to);
    let discovery = fake.truth().discovery_bytes_of_partitions(from, to);
    assert!(needed > 10_485_760);
    let error = fetch_with(&fake, &key, ninety_days()).await.0.unwrap_err();
    let text = error.to_string();
    assert!(
        text.contains("maximum_bytes_billed") && text.contains("10485760"),
        "{text}"
    );
    // Raised to what the query needs: it runs, and the note names the cap.
    key["maximum_bytes_billed"] = serde_json::json!(needed);
    let fetched = fetch_with(&fake, &key, ninety_days()).await.0.unwrap();
    assert_eq!(bytes_note(&fetched), needed + discovery);
    assert!(
        fetched
            .notes
            .iter()
            .any(|n| n.contains(&format!("maximum_bytes_billed {needed} bytes"))),
        "{:?}",
        fetched.notes
    );
}
