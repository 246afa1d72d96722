//! The spend connectors used to miss, through the real sync engine into the store, against the
//! fakes (written from shared/providers/*.md), on SQLite and (with
//! `SPENDLENS_TEST_DATABASE_URL`) PostgreSQL: Anthropic Priority Tier stored as a flagged
//! estimate, fal.ai Serverless machine-seconds, LiteLLM spend with no model (and rows repeated
//! across shifted offset pages counted once), and AWS EDP / bundled discounts stored as credits
//! beside an unshrunk gross cost. Every figure is checked to the nano-dollar against the fake's
//! own truth.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a failing test should stop loudly

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use spendlens_domain::{DayRange, Money, PriceCatalog, ProviderKind, SyncRequest};
use spendlens_fakes::anthropic::AnthropicFake;
use spendlens_fakes::bedrock::BedrockFake;
use spendlens_fakes::fal::FalFake;
use spendlens_fakes::litellm::LiteLlmFake;
use spendlens_fakes::{Fault, FaultRule};
use spendlens_providers::{CallStats, HttpSettings};
use spendlens_store::testing::TestStore;
use spendlens_store::vault::Vault;
use spendlens_store::{ConnectionId, ExportLine, OrgId, Store, SyncRunStatus};
use spendlens_sync::connections::AddConnection;
use spendlens_sync::{FixedClock, SyncEngine, SyncSettings};
use time::macros::{date, datetime};

const TODAY: time::Date = date!(2026 - 11 - 22);

fn engine(store: Store) -> SyncEngine {
    let _ = rustls::crypto::ring::default_provider().install_default();
    SyncEngine::new(
        store,
        Vault::from_key([6; 32]),
        PriceCatalog::built_in(),
        Arc::new(FixedClock::new(datetime!(2026-11-22 12:00 UTC))),
        SyncSettings {
            lease: Duration::from_secs(60),
            http: HttpSettings {
                timeout: Duration::from_secs(5),
                connect_timeout: Duration::from_secs(2),
                max_retries: 3,
                base_backoff: Duration::from_millis(1),
                max_backoff: Duration::from_millis(5),
                max_retry_after: Duration::from_millis(20),
            },
            owner: "test".to_owned(),
            allowed_base_url_hosts: Vec::new(),
        },
    )
}

async fn setup() -> (TestStore, SyncEngine, OrgId) {
    let test = TestStore::new().await.unwrap();
    let engine = engine(test.store.clone());
    let org = engine
        .store()
        .ensure_default_org(engine.now())
        .await
        .unwrap();
    (test, engine, org)
}

/// Connects through the real add-connection path (with its live check) and runs the first
/// sync: 90 days through `TODAY`. Returns the synced window and every stored line of it.
async fn connect_and_sync(
    engine: &SyncEngine,
    org: OrgId,
    provider: ProviderKind,
    secret: &str,
    base_url: &str,
) -> (DayRange, Vec<ExportLine>, Vec<String>) {
    let id: ConnectionId = engine
        .add_connection(
            org,
            AddConnection {
                provider,
                name: provider.as_str(),
                secret,
                base_url: Some(base_url),
                skip_check: false,
                sync_interval_secs: 3600,
                backfill_days: 90,
                lookback_days: None,
            },
        )
        .await
        .unwrap()
        .0
        .id;
    let report = engine
        .sync_connection(org, id, None, SyncRequest::Scheduled, &CallStats::default())
        .await
        .unwrap();
    assert_eq!(report.status, SyncRunStatus::Success, "{:?}", report.error);
    assert_eq!(report.window.len_days(), 90);
    let lines = engine
        .store()
        .export_cost_lines(org, report.window)
        .await
        .unwrap();
    (report.window, lines, report.notes)
}

fn dates(window: DayRange) -> (time::Date, time::Date) {
    (window.from().date(), window.to().date())
}

fn nanos(dollars: &str) -> i64 {
    Money::parse_units(dollars).unwrap().nanos()
}

fn cost(lines: &[&ExportLine]) -> i64 {
    lines.iter().map(|l| l.cost.nanos()).sum()
}

#[tokio::test]
async fn anthropic_priority_tier_is_stored_as_a_flagged_estimate_beside_the_exact_bill() {
    let (test, engine, org) = setup().await;
    let fake = AnthropicFake::builder()
        .seed(11)
        .today(TODAY)
        .priority_tier(true)
        .build()
        .spawn()
        .await
        .unwrap();
    let (window, lines, notes) = connect_and_sync(
        &engine,
        org,
        ProviderKind::Anthropic,
        fake.admin_key(),
        fake.base_url(),
    )
    .await;
    let (from, to) = dates(window);
    let truth = fake.truth();

    // What the cost report bills is stored exactly, none of it flagged.
    let billed: Vec<&ExportLine> = lines.iter().filter(|l| !l.estimated).collect();
    assert_eq!(cost(&billed) as u64, truth.total_cost_nanos(from, to));
    assert!(billed.iter().all(|l| !l.model.ends_with("(priority tier)")));

    // Priority usage priced by hand at Claude Sonnet 4.5's list prices ($3 input, $0.30 cache
    // read, $3.75 cache write, $15 output per 1M tokens), in nano-dollars per token.
    let mut expected: i64 = 0;
    let mut tokens: i64 = 0;
    for line in truth
        .usage_lines(from, to)
        .into_iter()
        .filter(|l| l.service_tier == "priority")
    {
        assert_eq!(line.model, "claude-sonnet-4-5-20250929");
        let t = &line.totals;
        expected += (t.uncached_input_tokens * 3_000
            + t.cache_read_input_tokens * 300
            + (t.cache_creation_5m_input_tokens + t.cache_creation_1h_input_tokens) * 3_750
            + t.output_tokens * 15_000) as i64;
        tokens += t.input_tokens() as i64;
    }
    assert!(expected > 0, "the window has priority usage");
    let estimated: Vec<&ExportLine> = lines.iter().filter(|l| l.estimated).collect();
    assert!(!estimated.is_empty());
    for line in &estimated {
        assert_eq!(line.model, "claude-sonnet-4-5-20250929 (priority tier)");
        assert!(line.api_key_id.is_some(), "{line:?}");
        assert!(!line.allocated, "{line:?}");
    }
    assert_eq!(cost(&estimated), expected);
    // The priority usage sits on the estimated lines' model, every input token once.
    let stored_tokens: i64 = lines
        .iter()
        .filter(|l| l.model.ends_with("(priority tier)"))
        .map(|l| l.input_tokens)
        .sum();
    assert_eq!(stored_tokens, tokens);
    // The stored total is the bill plus the flagged estimate, and the sync says why.
    let total: i64 = lines.iter().map(|l| l.cost.nanos()).sum();
    assert_eq!(total, truth.total_cost_nanos(from, to) as i64 + expected);
    assert!(
        notes
            .iter()
            .any(|n| n.contains("leaves Priority Tier usage out")),
        "{notes:?}"
    );
    fake.shutdown().await;
    test.teardown().await;
}

#[tokio::test]
async fn fal_serverless_machine_seconds_are_stored_beside_model_api_spend() {
    let (test, engine, org) = setup().await;
    let fake = FalFake::builder()
        .seed(4)
        .today(TODAY)
        .build()
        .spawn()
        .await
        .unwrap();
    let (window, lines, _) = connect_and_sync(
        &engine,
        org,
        ProviderKind::Fal,
        fake.admin_key(),
        fake.base_url(),
    )
    .await;
    let (from, to) = dates(window);
    let truth = fake.truth();
    let serverless = truth.serverless(from, to);
    assert!(!serverless.is_empty(), "the fake has serverless usage");
    let mut expected: BTreeMap<(time::Date, String), i64> = BTreeMap::new();
    for line in &serverless {
        *expected.entry((line.date, line.app.clone())).or_default() += line.cost_nanos as i64;
    }
    let mut stored: BTreeMap<(time::Date, String), i64> = BTreeMap::new();
    for line in lines.iter().filter(|l| l.unit == "machine_seconds") {
        assert_eq!(line.api_key_id, None, "{line:?}");
        *stored
            .entry((line.day.date(), line.model.clone()))
            .or_default() += line.cost.nanos();
    }
    assert_eq!(stored, expected);
    let serverless_total: i64 = expected.values().sum();
    let total: i64 = lines.iter().map(|l| l.cost.nanos()).sum();
    assert_eq!(
        total,
        truth.total_cost_nanos(from, to) as i64 + serverless_total
    );
    fake.shutdown().await;
    test.teardown().await;
}

#[tokio::test]
async fn litellm_spend_with_no_model_is_stored_and_shifted_pages_count_once() {
    let (test, engine, org) = setup().await;
    let fake = LiteLlmFake::builder()
        .seed(9)
        .today(TODAY)
        .modelless_spend(true)
        .build()
        .spawn()
        .await
        .unwrap();
    // Every activity page is served as if a row had been written before it (offset paging
    // while the proxy writes): the row at each page boundary comes back twice.
    fake.faults().add(
        FaultRule::new(Fault::ShiftedPage)
            .on_path("/user/daily/activity")
            .times(u32::MAX),
    );
    let secret = format!(
        r#"{{"apiKey": "{}", "baseUrl": "{}"}}"#,
        fake.master_key(),
        fake.base_url()
    );
    let (window, lines, notes) = connect_and_sync(
        &engine,
        org,
        ProviderKind::LiteLlm,
        &secret,
        fake.base_url(),
    )
    .await;
    let (from, to) = dates(window);
    let truth = fake.truth();
    let modelless: u64 = truth
        .lines(from, to)
        .iter()
        .filter(|l| l.model.is_empty())
        .map(|l| l.spend_nanos)
        .sum();
    assert!(modelless > 0, "the fake has spend with no model");
    let unknown: Vec<&ExportLine> = lines.iter().filter(|l| l.model == "unknown").collect();
    assert_eq!(cost(&unknown) as u64, modelless);
    // Each day's stored total is the proxy's day total, to the nano-dollar.
    let mut per_day: BTreeMap<time::Date, i64> = BTreeMap::new();
    for line in &lines {
        *per_day.entry(line.day.date()).or_default() += line.cost.nanos();
    }
    let expected: BTreeMap<time::Date, i64> = truth
        .spend_usd_by_day(from, to)
        .into_iter()
        .map(|(day, dollars)| (day, nanos(&dollars)))
        .collect();
    assert_eq!(per_day, expected);
    let total: i64 = per_day.values().sum();
    assert_eq!(total as u64, truth.total_spend_nanos(from, to));
    assert!(
        notes.iter().any(|n| n.contains("names no model")),
        "{notes:?}"
    );
    assert!(
        notes
            .iter()
            .any(|n| n.contains("came back on two activity pages")),
        "{notes:?}"
    );
    fake.shutdown().await;
    test.teardown().await;
}

#[tokio::test]
async fn aws_edp_and_bundled_discounts_are_stored_as_credits_not_netted_into_gross() {
    let (test, engine, org) = setup().await;
    let fake = BedrockFake::builder()
        .seed(5)
        .today(TODAY)
        .edp_discount_percent(3)
        .build()
        .spawn()
        .await
        .unwrap();
    let secret = format!(
        r#"{{"accessKeyId": "{}", "secretAccessKey": "{}", "region": "us-east-1"}}"#,
        fake.access_key_id(),
        fake.secret_access_key()
    );
    let (window, lines, _) = connect_and_sync(
        &engine,
        org,
        ProviderKind::Bedrock,
        &secret,
        fake.endpoint_url(),
    )
    .await;
    let (from, to) = dates(window);
    let truth = fake.truth();
    let by_type = truth.bedrock_by_record_type(from, to);
    let discount = nanos(&by_type["Discount"]);
    let bundled = nanos(&by_type["BundledDiscount"]);
    assert!(discount < 0 && bundled < 0, "{by_type:?}");
    // Gross is the Usage records alone: the discounts do not shrink it.
    let gross: i64 = lines.iter().map(|l| l.cost.nanos()).sum();
    assert_eq!(gross, nanos(&by_type["Usage"]));
    // Credits hold the discounts (and any credits or refunds), so net is every record summed.
    let credits: i64 = lines.iter().map(|l| l.credits.nanos()).sum();
    let other: i64 = by_type
        .iter()
        .filter(|(kind, _)| !matches!(kind.as_str(), "Usage" | "Discount" | "BundledDiscount"))
        .map(|(_, dollars)| nanos(dollars))
        .sum();
    assert_eq!(credits, -(discount + bundled + other));
    assert_eq!(gross - credits, nanos(&truth.bedrock_net_total(from, to)));
    fake.shutdown().await;
    test.teardown().await;
}
