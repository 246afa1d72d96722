//! The Azure OpenAI, PiAPI and Vertex (billed in EUR) connectors through the real sync engine
//! against their fakes, on SQLite and (with `SPENDLENS_TEST_DATABASE_URL`) PostgreSQL: an
//! Azure scope billed in EUR is stored in EUR and in USD (Cost Management's own CostUSD), and
//! PiAPI's task history is stored to the nano-dollar with one request per task.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a failing test should stop loudly

use std::sync::Arc;
use std::time::Duration;

use spendlens_domain::{Money, PriceCatalog, ProviderKind, SyncRequest};
use spendlens_fakes::azure::{AzureFake, CLIENT_ID, EUR_SUBSCRIPTION, TENANT_ID};
use spendlens_fakes::piapi::PiApiFake;
use spendlens_fakes::vertex::VertexFake;
use spendlens_providers::{CallStats, HttpSettings};
use spendlens_store::testing::TestStore;
use spendlens_store::vault::Vault;
use spendlens_store::{ConnectionId, OrgId, RollupFilter, SyncRunStatus};
use spendlens_sync::connections::AddConnection;
use spendlens_sync::{FixedClock, SyncEngine, SyncSettings};
use time::macros::{date, datetime};

const TODAY: time::Date = date!(2026 - 11 - 22);

fn engine(store: spendlens_store::Store) -> SyncEngine {
    let _ = rustls::crypto::ring::default_provider().install_default();
    SyncEngine::new(
        store,
        Vault::from_key([5; 32]),
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

async fn connect(
    engine: &SyncEngine,
    org: OrgId,
    provider: ProviderKind,
    secret: &str,
    base_url: &str,
) -> ConnectionId {
    engine
        .add_connection(
            org,
            AddConnection {
                provider,
                name: provider.as_str(),
                secret,
                base_url: Some(base_url),
                skip_check: false,
                sync_interval_secs: 3600,
                backfill_days: 45,
                lookback_days: Some(3),
            },
        )
        .await
        .unwrap()
        .0
        .id
}

#[tokio::test]
async fn an_azure_scope_billed_in_eur_is_stored_in_eur_and_in_usd_from_cost_usd() {
    let (test, engine, org) = setup().await;
    let fake = AzureFake::builder()
        .seed(8)
        .today(TODAY)
        .build()
        .spawn()
        .await
        .unwrap();
    // Plain GUIDs and an alphanumeric secret: nothing to escape.
    let secret = format!(
        r#"{{"tenantId": "{TENANT_ID}", "clientId": "{CLIENT_ID}", "clientSecret": "{}", "subscriptionId": "{EUR_SUBSCRIPTION}"}}"#,
        fake.admin_key()
    );
    let id = connect(
        &engine,
        org,
        ProviderKind::AzureOpenAi,
        &secret,
        fake.base_url(),
    )
    .await;
    let report = engine
        .sync_connection(org, id, None, SyncRequest::Scheduled, &CallStats::default())
        .await
        .unwrap();
    assert_eq!(report.status, SyncRunStatus::Success, "{:?}", report.error);
    let synced = report.window;
    let rows = fake.truth().rows(
        EUR_SUBSCRIPTION,
        None,
        synced.from().date(),
        synced.to().date(),
    );
    let expected: Money = rows
        .iter()
        .map(|row| Money::parse_units(&row.cost_usd).unwrap())
        .sum();
    let expected_eur: Money = rows
        .iter()
        .map(|row| Money::parse_units(&row.cost).unwrap())
        .sum();
    let stored: Money = engine
        .store()
        .totals_by_connection(org, synced, None, &RollupFilter::default())
        .await
        .unwrap()
        .iter()
        .map(|t| t.current.cost)
        .sum();
    assert!(!expected.is_zero());
    assert_eq!(stored, expected);
    // The amounts as billed, in EUR, line by line beside their dollars.
    let lines = engine.store().export_cost_lines(org, synced).await.unwrap();
    assert!(
        lines
            .iter()
            .all(|l| l.billing_currency == "EUR" && l.currency == "USD")
    );
    let eur: Money = lines.iter().map(|l| l.billing_cost).sum();
    let usd: Money = lines.iter().map(|l| l.cost).sum();
    assert_eq!(eur, expected_eur);
    assert_eq!(usd, expected);
    assert!(usd > eur, "{usd} USD for {eur} EUR at 1.0842 USD per EUR");
    // What the Providers view reads to say "billed in EUR, shown in USD".
    let foreign = engine
        .store()
        .foreign_billing_currencies(&[id], synced)
        .await
        .unwrap();
    assert_eq!(foreign, vec![(id, "EUR".to_owned())]);
    assert!(
        report.notes.iter().any(|n| n.contains("billed in EUR")),
        "{:?}",
        report.notes
    );
    fake.shutdown().await;
    test.teardown().await;
}

#[tokio::test]
async fn a_piapi_sync_stores_task_consumption_exactly_with_one_request_per_task() {
    let (test, engine, org) = setup().await;
    let fake = PiApiFake::builder()
        .seed(8)
        .today(TODAY)
        .build()
        .spawn()
        .await
        .unwrap();
    let id = connect(
        &engine,
        org,
        ProviderKind::PiApi,
        fake.admin_key(),
        fake.base_url(),
    )
    .await;
    let report = engine
        .sync_connection(org, id, None, SyncRequest::Scheduled, &CallStats::default())
        .await
        .unwrap();
    assert_eq!(report.status, SyncRunStatus::Success, "{:?}", report.error);
    let synced = report.window;
    let truth = fake
        .truth()
        .by_day_key_model(synced.from().date(), synced.to().date());
    let expected: Money = truth
        .values()
        .map(|cell| Money::parse_units(&cell.usd).unwrap())
        .sum();
    let models = engine
        .store()
        .totals_by_model(org, synced, None, &RollupFilter::default())
        .await
        .unwrap();
    let stored: Money = models.iter().map(|m| m.current.cost).sum();
    assert!(!expected.is_zero());
    assert_eq!(stored, expected);
    let requests: i64 = models.iter().map(|m| m.current.requests).sum();
    let tasks: i64 = truth.values().map(|cell| cell.tasks).sum();
    assert_eq!(requests, tasks);
    // Midjourney's PAYG tasks are charged in points, a usage type with no documented dollar
    // rate: stored unpriced (counted, with their points), never as $0 of priced spend.
    let unpriced_tasks: i64 = truth.values().map(|cell| cell.unpriced_tasks).sum();
    let unpriced_points: u64 = truth.values().map(|cell| cell.unpriced_usage).sum();
    assert!(unpriced_tasks > 0);
    let points: Vec<_> = models
        .iter()
        .filter(|m| m.unit.as_str() == "point_usage")
        .collect();
    assert_eq!(points.len(), 1, "{models:?}");
    let mj = &points[0];
    assert_eq!(mj.model, "mj");
    assert_eq!(mj.current.cost, Money::ZERO);
    assert_eq!(mj.current.unpriced_requests, unpriced_tasks);
    assert_eq!(mj.current.unpriced_lines, mj.current.lines);
    assert_eq!(mj.current.requests, unpriced_tasks);
    assert_eq!(
        mj.current.quantity,
        spendlens_domain::Quantity::from_whole(unpriced_points as i64)
    );
    for other in models.iter().filter(|m| m.unit.as_str() != "point_usage") {
        assert_eq!(other.current.unpriced_lines, 0, "{other:?}");
    }
    let connection = engine
        .store()
        .totals_by_connection(org, synced, None, &RollupFilter::default())
        .await
        .unwrap();
    assert_eq!(connection[0].current.unpriced_requests, unpriced_tasks);
    assert_eq!(connection[0].current.cost, expected);
    let lines = engine.store().export_cost_lines(org, synced).await.unwrap();
    assert!(
        lines
            .iter()
            .all(|l| l.unpriced == (l.unit == "point_usage"))
    );
    assert!(
        report.notes.iter().any(|n| n.contains(&format!(
            "Unpriced: {unpriced_tasks} tasks ({unpriced_points} point)"
        ))),
        "{:?}",
        report.notes
    );
    fake.shutdown().await;
    test.teardown().await;
}

/// `nanos` of the billing currency ÷ `rate`, half to even, by decimal division (independent of
/// the connector's integer conversion).
fn usd_of(nanos: i64, rate: &str) -> i64 {
    use rust_decimal::prelude::ToPrimitive;
    let rate: rust_decimal::Decimal = rate.parse().unwrap();
    (rust_decimal::Decimal::from(nanos) / rate)
        .round_dp_with_strategy(0, rust_decimal::RoundingStrategy::MidpointNearestEven)
        .to_i64()
        .unwrap()
}

#[tokio::test]
async fn a_vertex_account_billed_in_eur_is_stored_in_eur_and_in_usd_at_the_exports_rate() {
    use rsa::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
    let (test, engine, org) = setup().await;
    let key = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).unwrap();
    let private = key.to_pkcs8_pem(LineEnding::LF).unwrap().to_string();
    let public = key
        .to_public_key()
        .to_public_key_pem(LineEnding::LF)
        .unwrap();
    let fake = VertexFake::builder()
        .seed(8)
        .today(TODAY)
        .public_key_pem(public)
        .billing_currency("EUR", 920_000)
        .build()
        .spawn()
        .await
        .unwrap();
    let secret = fake.service_account_key_json(&private);
    let id = connect(&engine, org, ProviderKind::Vertex, &secret, fake.base_url()).await;
    let report = engine
        .sync_connection(org, id, None, SyncRequest::Scheduled, &CallStats::default())
        .await
        .unwrap();
    assert_eq!(report.status, SyncRunStatus::Success, "{:?}", report.error);
    let synced = report.window;
    let truth = fake.truth();
    let rate = truth.conversion_rate();
    // The connector converts each row the export returns; its query groups by invoice.month.
    let mut lines = truth.lines_by_invoice_month(synced.from().date(), synced.to().date());
    lines.retain(|l| l.is_ai);
    let (mut eur_cost, mut eur_credits, mut usd_cost, mut usd_credits) = (0i64, 0i64, 0i64, 0i64);
    for line in &lines {
        eur_cost += line.cost_nanos;
        eur_credits -= line.credits_nanos;
        usd_cost += usd_of(line.cost_nanos, &rate);
        usd_credits += usd_of(-line.credits_nanos, &rate);
    }
    assert!(
        eur_cost > 0 && eur_credits > 0,
        "the window has cost and credits"
    );
    let stored = engine.store().export_cost_lines(org, synced).await.unwrap();
    assert!(
        stored
            .iter()
            .all(|l| l.billing_currency == "EUR" && l.currency == "USD")
    );
    let sum = |f: &dyn Fn(&spendlens_store::ExportLine) -> Money| -> i64 {
        stored.iter().map(f).sum::<Money>().nanos()
    };
    assert_eq!(sum(&|l| l.billing_cost), eur_cost);
    assert_eq!(sum(&|l| l.billing_credits), eur_credits);
    assert_eq!(sum(&|l| l.cost), usd_cost);
    assert_eq!(sum(&|l| l.credits), usd_credits);
    // The views read USD from the rollups: the same dollars.
    let totals: Money = engine
        .store()
        .totals_by_connection(org, synced, None, &RollupFilter::default())
        .await
        .unwrap()
        .iter()
        .map(|t| t.current.cost)
        .sum();
    assert_eq!(totals.nanos(), usd_cost);
    let foreign = engine
        .store()
        .foreign_billing_currencies(&[id], synced)
        .await
        .unwrap();
    assert_eq!(foreign, vec![(id, "EUR".to_owned())]);
    assert!(
        report
            .notes
            .iter()
            .any(|n| n.contains("billed in EUR (at 0.92 EUR per USD)")),
        "{:?}",
        report.notes
    );
    // The sync log says how many bytes BigQuery processed: the partitions of the window ±3
    // days, not the whole table.
    let log = engine
        .store()
        .list_sync_runs(org, &spendlens_store::SyncRunFilter::default())
        .await
        .unwrap();
    let notes = log[0].notes.clone().unwrap_or_default();
    let from = synced.from().date() - time::Duration::days(3);
    let to = synced.to().date() + time::Duration::days(3);
    // Both queries (service discovery, then spend) read those partitions.
    let bytes = truth.bytes_of_partitions(from, to) + truth.discovery_bytes_of_partitions(from, to);
    assert!(bytes < truth.bytes_of_table());
    assert!(
        notes.contains(&format!("BigQuery processed {bytes} bytes (")),
        "{notes}"
    );
    fake.shutdown().await;
    test.teardown().await;
}

/// PiAPI's unpriced usage in two periods: the Previous column reads "unpriced" like the
/// current one (never $0.00) and no trend is made up; budgets, forecasts and chargeback
/// reports, which add known money only, say how many unpriced billed lines they leave out.
#[tokio::test]
async fn unpriced_piapi_lines_read_unpriced_in_both_periods_and_every_total_says_it_leaves_them_out()
 {
    use spendlens_query::table::{MoneyStyle, Surface};
    use spendlens_query::{View, ViewParams, ViewQuery};
    let (test, engine, org) = setup().await;
    let fake = PiApiFake::builder()
        .seed(8)
        .today(TODAY)
        .build()
        .spawn()
        .await
        .unwrap();
    let id = connect(
        &engine,
        org,
        ProviderKind::PiApi,
        fake.admin_key(),
        fake.base_url(),
    )
    .await;
    let report = engine
        .sync_connection(org, id, None, SyncRequest::Scheduled, &CallStats::default())
        .await
        .unwrap();
    assert_eq!(report.status, SyncRunStatus::Success, "{:?}", report.error);
    let store = engine.store();
    let day = |text: &str| -> spendlens_domain::Day { text.parse().unwrap() };
    // The fake's unpriced (day, key, model) cells and tasks of a period.
    let unpriced = |from: &str, to: &str| -> (i64, i64) {
        let cells = fake
            .truth()
            .by_day_key_model(day(from).date(), day(to).date());
        let unpriced: Vec<_> = cells.values().filter(|c| c.unpriced_tasks > 0).collect();
        (
            unpriced.len() as i64,
            unpriced.iter().map(|c| c.unpriced_tasks).sum(),
        )
    };
    let (current_lines, current_tasks) = unpriced("2026-11-08", "2026-11-22");
    let (previous_lines, _) = unpriced("2026-10-24", "2026-11-07");
    assert!(current_lines > 0 && previous_lines > 0);

    let params = ViewParams {
        from: Some("2026-11-08".to_owned()),
        to: Some("2026-11-22".to_owned()),
        ..ViewParams::default()
    };
    let query = ViewQuery::parse(View::Models, &params, day("2026-11-22")).unwrap();
    assert_eq!(query.previous.from(), day("2026-10-24"));
    let models = spendlens_query::report(store, org, &query).await.unwrap();
    let json = serde_json::to_value(&models).unwrap();
    let rows = json["rows"].as_array().unwrap();
    let mj = rows
        .iter()
        .find(|r| r["model"] == "mj" && r["unit"] == "point_usage")
        .unwrap();
    assert_eq!(mj["cost_unknown"], true, "{mj}");
    assert_eq!(mj["previous_cost_unknown"], true, "{mj}");
    assert_eq!(mj["trend"], "none", "{mj}");
    assert_eq!(mj["trend_pct"], serde_json::Value::Null, "{mj}");
    assert_eq!(mj["unpriced_requests"], current_tasks, "{mj}");
    let priced = rows.iter().filter(|r| r["unit"] != "point_usage");
    for row in priced {
        assert_eq!(row["previous_cost_unknown"], false, "{row}");
    }
    // Every surface's table: the CSV and the terminal read "unpriced" under Previous.
    for surface in [Surface::Csv, Surface::Cli] {
        let table = spendlens_query::table::table(&models, MoneyStyle::Exact, surface);
        let column = |title: &str| {
            table
                .columns
                .iter()
                .position(|c| *c == title)
                .unwrap_or_else(|| panic!("{title} not in {:?}", table.columns))
        };
        let previous = column("Previous cost");
        let line = table
            .rows
            .iter()
            .find(|r| r[0] == "mj" && r.iter().any(|c| c.contains("point")))
            .unwrap();
        assert_eq!(line[previous], "unpriced", "{line:?}");
        assert_eq!(line[column("Cost")], "unpriced", "{line:?}");
    }

    // The notes: lines and requests of the fake's unpriced cells, exactly.
    let period = query.period;
    let bill = spendlens_query::unpriced::unpriced_bill(store, org, period, None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (bill.lines, bill.requests),
        (current_lines, current_tasks),
        "{bill:?}"
    );
    assert_eq!(bill.providers, vec!["PiAPI"]);
    let now = datetime!(2026-11-22 12:00 UTC);
    let (month_lines, month_tasks) = unpriced("2026-11-01", "2026-11-22");
    let month_said = format!(
        "{month_lines} billed lines ({month_tasks} requests) from PiAPI in 2026-11-01 to \
         2026-11-22 are unpriced"
    );
    let budgets = spendlens_query::budget::unpriced_note(store, org, now)
        .await
        .unwrap()
        .unwrap();
    assert!(budgets.starts_with(&month_said), "{budgets}");
    assert!(
        budgets.ends_with("not counted in any budget's spend"),
        "{budgets}"
    );
    let data = spendlens_query::spend_days::SpendDays::load(store, org, now)
        .await
        .unwrap();
    let forecasts = spendlens_query::forecast::forecasts(&data, &[]);
    assert!(
        forecasts
            .notes
            .iter()
            .any(|n| n.starts_with(&month_said) && n.ends_with("these forecasts")),
        "{:?}",
        forecasts.notes
    );
    let chargeback = spendlens_query::chargeback::chargeback(
        store,
        org,
        &spendlens_query::chargeback::ChargebackRequest {
            period,
            scope: spendlens_query::chargeback::ChargebackScope::All,
            generated_by: "test".to_owned(),
        },
        now,
    )
    .await
    .unwrap();
    let said = format!(
        "{current_lines} billed lines ({current_tasks} requests) from PiAPI in {period} are \
         unpriced"
    );
    assert!(
        chargeback.notes.iter().any(|n| n.starts_with(&said)),
        "{:?}",
        chargeback.notes
    );
    fake.shutdown().await;
    test.teardown().await;
}
