//! The Vertex connector's services and invoice months against the BigQuery fake (written from
//! google-vertex.md, not from the connector's types): every service of the export is found
//! (doc §6), Google's AI services and partner models sold through Vertex count by default, a
//! connection's include/exclude choices change the ids the spend query asks for (checked on the
//! query the fake received), and each day's money is kept per `invoice.month` (§7).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers, like tests, stop loudly (clippy only exempts #[test] functions)"
)]

use crate::common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use common::{config, date, range};
use rsa::RsaPrivateKey;
use rsa::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
use spendlens_domain::services::{ServiceChoice, ServiceKind};
use spendlens_domain::{Credential, DayRange, FetchedWindow, ProviderKind};
use spendlens_fakes::vertex::{RunningVertexFake, VertexFake};
use spendlens_providers::{CallStats, fetch_window};

const VERTEX_AI: &str = "C7E2-9256-1C43";
const GEMINI_API: &str = "AEFD-7695-64FA";

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

async fn spawn() -> RunningVertexFake {
    VertexFake::builder()
        .seed(21)
        .public_key_pem(key_pair().1.clone())
        .private_key_id("key-1")
        .build()
        .spawn()
        .await
        .unwrap()
}

async fn fetch(
    fake: &RunningVertexFake,
    window: DayRange,
    choices: &[(&str, ServiceChoice)],
) -> FetchedWindow {
    let key = fake.service_account_key_json(&key_pair().0);
    let credential = Credential::parse(ProviderKind::Vertex, &key).unwrap();
    let mut config = config(fake.base_url());
    config.services = choices
        .iter()
        .map(|(id, choice)| ((*id).to_owned(), *choice))
        .collect();
    fetch_window(&credential, &config, window, &CallStats::new())
        .await
        .unwrap()
}

/// The `@services` ids of every query the fake received that asked for some.
fn asked_services(fake: &RunningVertexFake) -> Vec<BTreeSet<String>> {
    fake.log()
        .requests_to("/queries")
        .iter()
        .filter(|r| !r.body.is_empty())
        .filter_map(|r| {
            let body: serde_json::Value = serde_json::from_str(&r.body).unwrap();
            let parameters = body["queryParameters"].as_array().unwrap();
            let services = parameters.iter().find(|p| p["name"] == "services")?;
            Some(
                services["parameterValue"]["arrayValues"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v["value"].as_str().unwrap().to_owned())
                    .collect(),
            )
        })
        .collect()
}

/// Gross cost of the fetched lines per service name (the text before the description's ":").
fn cost_by_service(fetched: &FetchedWindow) -> BTreeMap<String, i64> {
    let mut out = BTreeMap::new();
    for cost in &fetched.costs {
        let service = cost.description.split(':').next().unwrap().to_owned();
        *out.entry(service).or_default() += cost.cost.nanos();
    }
    out
}

#[tokio::test]
async fn every_service_of_the_export_is_found_and_partner_models_count_by_default() {
    let fake = spawn().await;
    let truth = fake.truth();
    let window = range("2025-11-03", "2026-01-31");
    let fetched = fetch(&fake, window, &[]).await;
    let (from, to) = (date(window.from()), date(window.to()));

    let expected = truth.services(from, to);
    assert_eq!(expected.len(), 7, "{expected:?}");
    assert_eq!(
        fetched.services.len(),
        expected.len(),
        "{:?}",
        fetched.services
    );
    for service in &expected {
        let found = fetched
            .services
            .iter()
            .find(|s| s.id == service.id)
            .unwrap_or_else(|| panic!("{} not found", service.name));
        assert_eq!(found.name, service.name);
        assert_eq!(found.other_names, service.other_names);
        assert_eq!(found.seller.as_deref(), Some(service.seller.as_str()));
        assert_eq!(
            found.transaction_type.as_deref(),
            Some(service.transaction_type.as_str())
        );
        assert_eq!(found.cost.nanos(), service.cost_nanos, "{}", service.name);
        assert_eq!(found.currency, "USD");
        assert_eq!(found.counted, service.is_ai, "{}", service.name);
        let kind = match (service.transaction_type.as_str(), service.is_ai) {
            ("GOOGLE", true) => ServiceKind::GoogleAi,
            (_, true) => ServiceKind::PartnerModel,
            _ => ServiceKind::Other,
        };
        assert_eq!(found.kind, kind, "{}", service.name);
    }
    // The renamed Gemini API is one service under its current name.
    let gemini = fetched
        .services
        .iter()
        .find(|s| s.id == GEMINI_API)
        .unwrap();
    assert_eq!(gemini.other_names, vec!["Generative Language API"]);

    // The spend query asked for the five AI services by id, and each one's money is in.
    let ai: BTreeSet<String> = expected
        .iter()
        .filter(|s| s.is_ai)
        .map(|s| s.id.clone())
        .collect();
    assert_eq!(asked_services(&fake), vec![ai.clone()]);
    let mut by_service: BTreeMap<String, i64> = BTreeMap::new();
    for line in truth.ai_lines(from, to) {
        let name = match line.service_id.as_str() {
            VERTEX_AI => "Vertex AI".to_owned(),
            GEMINI_API => "Gemini API".to_owned(),
            _ => line.service.clone(),
        };
        *by_service.entry(name).or_default() += line.cost_nanos;
    }
    assert_eq!(cost_by_service(&fetched), by_service);
    assert!(by_service["Claude Sonnet 4.5"] > 0 && by_service["Mistral Large (24.11)"] > 0);
    // Partner models read as models with their tokens.
    let claude: i64 = fetched
        .usage
        .iter()
        .filter(|u| u.model == "claude-sonnet-4-5")
        .map(|u| u.tokens.output)
        .sum();
    assert!(claude > 0);
    let note = fetched
        .notes
        .iter()
        .find(|n| n.starts_with("Services in the billing export"))
        .unwrap();
    assert!(
        note.contains("Claude Sonnet 4.5 (partner: Anthropic)")
            && note.contains("not AI spend, left out")
            && note.contains("BigQuery, Compute Engine"),
        "{note}"
    );
}

#[tokio::test]
async fn an_excluded_service_is_not_asked_for_and_an_included_one_is() {
    let fake = spawn().await;
    let truth = fake.truth();
    let window = range("2026-01-01", "2026-01-31");
    let (from, to) = (date(window.from()), date(window.to()));
    let ids = |name: &str| {
        truth
            .services(from, to)
            .into_iter()
            .find(|s| s.name == name)
            .unwrap()
            .id
    };
    let (mistral, bigquery) = (ids("Mistral Large (24.11)"), ids("BigQuery"));
    let fetched = fetch(
        &fake,
        window,
        &[
            (&mistral, ServiceChoice::Exclude),
            (&bigquery, ServiceChoice::Include),
        ],
    )
    .await;
    let wanted: BTreeSet<String> = [
        VERTEX_AI.to_owned(),
        GEMINI_API.to_owned(),
        ids("Claude Sonnet 4.5"),
        ids("Llama 3.3 API Service"),
        bigquery.clone(),
    ]
    .into();
    assert_eq!(asked_services(&fake), vec![wanted.clone()]);
    let counted: BTreeSet<String> = fetched
        .services
        .iter()
        .filter(|s| s.counted)
        .map(|s| s.id.clone())
        .collect();
    assert_eq!(counted, wanted);
    // Exactly the chosen services' money, every cost type.
    let expected: i64 = truth
        .lines(from, to)
        .iter()
        .filter(|l| wanted.contains(&l.service_id))
        .map(|l| l.cost_nanos)
        .sum();
    let stored: i64 = fetched.costs.iter().map(|c| c.cost.nanos()).sum();
    assert_eq!(stored, expected);
    let services = cost_by_service(&fetched);
    assert!(
        !services.contains_key("Mistral Large (24.11)"),
        "{services:?}"
    );
    assert!(services["BigQuery"] > 0, "{services:?}");
    let note = fetched
        .notes
        .iter()
        .find(|n| n.starts_with("Services in the billing export"))
        .unwrap();
    assert!(
        note.contains("excluded on this connection: Mistral Large (24.11) (partner: Mistral AI)"),
        "{note}"
    );
}

#[tokio::test]
async fn each_days_money_is_kept_per_invoice_month_and_late_rows_land_on_the_next_one() {
    let fake = spawn().await;
    let truth = fake.truth();
    let window = range("2025-12-01", "2026-01-31");
    let (from, to) = (date(window.from()), date(window.to()));
    let fetched = fetch(&fake, window, &[]).await;
    let ai: BTreeSet<String> = truth
        .services(from, to)
        .into_iter()
        .filter(|s| s.is_ai)
        .map(|s| s.id)
        .collect();
    let expected = truth.by_invoice_month(from, to, |id| ai.contains(id));
    let months = fetched.invoice_months.clone().unwrap();
    let mut got: BTreeMap<String, (i64, i64)> = BTreeMap::new();
    for amount in &months {
        let sums = got
            .entry(format!("{:06}", amount.invoice_month.number()))
            .or_default();
        sums.0 += amount.cost.nanos();
        // Credits are negative in the export, positive in spendlens.
        sums.1 -= amount.credits.nanos();
    }
    assert_eq!(got, expected);
    // December's late rows were billed on January's invoice; nothing before December is.
    assert_eq!(
        got.keys().cloned().collect::<Vec<_>>(),
        vec!["202512", "202601", "202602"]
    );
    let late: Vec<_> = months
        .iter()
        .filter(|m| m.day.date().month() == time::Month::December)
        .filter(|m| m.invoice_month.to_string() == "2026-01")
        .collect();
    assert!(!late.is_empty(), "late December rows on January's invoice");
    assert!(late.iter().all(|m| m.day.date().day() >= 28), "{late:?}");
    // Every kept line's money is in exactly one invoice month.
    let lines: i64 = fetched.costs.iter().map(|c| c.cost.nanos()).sum();
    assert_eq!(months.iter().map(|m| m.cost.nanos()).sum::<i64>(), lines);
}
