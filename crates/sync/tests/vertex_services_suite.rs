//! Vertex's services and invoice months through the real sync engine against the BigQuery fake,
//! on SQLite and (with `SPENDLENS_TEST_DATABASE_URL`) PostgreSQL: the services a sync finds are
//! stored with whether they count; excluding one re-reads every stored day without it, to the
//! nano-dollar; a refused choice says why; each month reads as the sum of its UTC days and as
//! its invoice month where the two differ; a provider with no invoice months says so.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a failing test should stop loudly

use std::sync::Arc;
use std::time::Duration;

use spendlens_domain::services::{ServiceChoice, ServiceKind};
use spendlens_domain::{Day, Money, PriceCatalog, ProviderKind, SyncRequest};
use spendlens_fakes::piapi::PiApiFake;
use spendlens_fakes::vertex::VertexFake;
use spendlens_providers::{CallStats, HttpSettings};
use spendlens_store::testing::TestStore;
use spendlens_store::vault::Vault;
use spendlens_store::{ConnectionId, OrgId, RollupFilter, StoreError, SyncRunStatus};
use spendlens_sync::connections::AddConnection;
use spendlens_sync::{FixedClock, SyncEngine, SyncSettings};
use time::macros::{date, datetime};

const TODAY: time::Date = date!(2026 - 11 - 22);

/// Who the tests' service choices are audited as.
const ACTOR: spendlens_store::Actor<'static> = spendlens_store::Actor {
    name: "test",
    at: datetime!(2026-11-22 12:00 UTC),
};

async fn setup() -> (TestStore, SyncEngine, OrgId) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let test = TestStore::new().await.unwrap();
    let engine = SyncEngine::new(
        test.store.clone(),
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
    );
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

fn day(text: &str) -> Day {
    text.parse().unwrap()
}

#[tokio::test]
async fn services_are_stored_an_excluded_one_is_read_out_of_every_day_and_months_read_two_ways() {
    use rsa::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
    let (test, engine, org) = setup().await;
    let store = engine.store().clone();
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
        .build()
        .spawn()
        .await
        .unwrap();
    let secret = fake.service_account_key_json(&private);
    let id = connect(&engine, org, ProviderKind::Vertex, &secret, fake.base_url()).await;
    let sync = || async {
        let report = engine
            .sync_connection(org, id, None, SyncRequest::Scheduled, &CallStats::default())
            .await
            .unwrap();
        assert_eq!(report.status, SyncRunStatus::Success, "{:?}", report.error);
        report
    };
    let first = sync().await;
    let window = first.window;
    assert_eq!(window.from(), day("2026-10-09"));
    let (from, to) = (window.from().date(), window.to().date());
    let truth = fake.truth();
    let services = truth.services(from, to);
    let stored = store.connection_services(org, id).await.unwrap();
    assert_eq!(stored.len(), services.len());
    for service in &services {
        let row = stored.iter().find(|s| s.id == service.id).unwrap();
        assert_eq!(
            (row.name.as_str(), row.counted, row.choice),
            (service.name.as_str(), service.is_ai, None)
        );
        assert_eq!(row.cost.nanos(), service.cost_nanos, "{}", service.name);
        assert_eq!(row.window, window);
    }
    let mistral = stored
        .iter()
        .find(|s| s.name.starts_with("Mistral"))
        .unwrap()
        .clone();
    assert_eq!(mistral.kind, ServiceKind::PartnerModel);
    let cost_of = |keep: &dyn Fn(&str) -> bool| -> i64 {
        truth
            .lines(from, to)
            .iter()
            .filter(|l| keep(&l.service_id))
            .map(|l| l.cost_nanos)
            .sum()
    };
    let stored_cost = || async {
        store
            .totals_by_connection(org, window, None, &RollupFilter::default())
            .await
            .unwrap()
            .iter()
            .map(|t| t.current.cost)
            .sum::<Money>()
            .nanos()
    };
    let ai = |id: &str| services.iter().any(|s| s.id == id && s.is_ai);
    assert_eq!(stored_cost().await, cost_of(&ai));

    // Months: the UTC days' sums, and the invoice months (late October rows were billed on
    // November's invoice), exactly.
    let months = spendlens_query::months::connection_months(&store, org, id)
        .await
        .unwrap();
    assert!(months.invoice_months);
    let invoices = truth.by_invoice_month(from, to, |id| ai(id));
    let utc = |first: &str, last: &str| -> i64 {
        truth
            .lines(day(first).date(), day(last).date())
            .iter()
            .filter(|l| ai(&l.service_id))
            .map(|l| l.cost_nanos)
            .sum()
    };
    let shown: Vec<(String, i64, Option<i64>, bool)> = months
        .rows
        .iter()
        .map(|r| {
            (
                r.month.to_string(),
                r.utc_days.cost.nanos(),
                r.invoice.map(|i| i.cost.nanos()),
                r.differs,
            )
        })
        .collect();
    assert_eq!(
        shown,
        vec![
            (
                "2026-10".to_owned(),
                utc("2026-10-09", "2026-10-31"),
                Some(invoices["202610"].0),
                true
            ),
            (
                "2026-11".to_owned(),
                utc("2026-11-01", "2026-11-22"),
                Some(invoices["202611"].0),
                true
            ),
        ]
    );
    assert!(invoices["202610"].0 < utc("2026-10-09", "2026-10-31"));
    // Credits too, positive in spendlens.
    assert_eq!(
        months.rows[0].invoice.unwrap().credits.nanos(),
        -invoices["202610"].1
    );

    // Exclude Mistral: the next sync reads every stored day again, without it.
    let (row, reread) = store
        .set_service_choice(org, id, &mistral.id, Some(ServiceChoice::Exclude), ACTOR)
        .await
        .unwrap();
    assert!(!row.counted);
    assert_eq!(reread, Some(day("2026-10-09")));
    assert_eq!(
        store.reread_from(org, id).await.unwrap(),
        Some(day("2026-10-09"))
    );
    let second = sync().await;
    assert_eq!(second.window, window, "the whole stored range again");
    assert!(
        second
            .notes
            .iter()
            .any(|n| n.contains("read every stored day again from 2026-10-09")),
        "{:?}",
        second.notes
    );
    assert_eq!(store.reread_from(org, id).await.unwrap(), None);
    // October had closed, but the user's choice is no restatement by Google: the FOCUS export
    // gets no Correction rows from it (no version of any day was kept).
    assert_eq!(
        store.export_line_history(org, window).await.unwrap(),
        Vec::new()
    );
    let without = |id: &str| ai(id) && id != mistral.id;
    assert_eq!(stored_cost().await, cost_of(&without));
    let models = store
        .totals_by_model(org, window, None, &RollupFilter::default())
        .await
        .unwrap();
    assert!(
        models.iter().all(|m| !m.model.starts_with("mistral")),
        "{models:?}"
    );
    let again = spendlens_query::months::connection_months(&store, org, id)
        .await
        .unwrap();
    let invoices = truth.by_invoice_month(from, to, without);
    assert_eq!(
        again.rows[1].invoice.unwrap().cost.nanos(),
        invoices["202611"].0
    );
    // Back to the default: counted again, another re-read; the same choice twice asks none.
    let (_, reread) = store
        .set_service_choice(org, id, &mistral.id, None, ACTOR)
        .await
        .unwrap();
    assert_eq!(reread, Some(day("2026-10-09")));
    let (_, reread) = store
        .set_service_choice(org, id, &mistral.id, Some(ServiceChoice::Include), ACTOR)
        .await
        .unwrap();
    assert_eq!(reread, None, "it counted already");
    sync().await;
    assert_eq!(stored_cost().await, cost_of(&ai));

    // Refused choices say why.
    let unknown = store
        .set_service_choice(
            org,
            id,
            "NOPE-0000-0000",
            Some(ServiceChoice::Include),
            ACTOR,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&unknown, StoreError::Invalid(m) if m.contains("has no service \"NOPE-0000-0000\"") && m.contains(&mistral.id)),
        "{unknown}"
    );

    // A provider without invoice months says so, and has no services to choose.
    let piapi = PiApiFake::builder()
        .seed(8)
        .today(TODAY)
        .build()
        .spawn()
        .await
        .unwrap();
    let pid = connect(
        &engine,
        org,
        ProviderKind::PiApi,
        piapi.admin_key(),
        piapi.base_url(),
    )
    .await;
    engine
        .sync_connection(
            org,
            pid,
            None,
            SyncRequest::Scheduled,
            &CallStats::default(),
        )
        .await
        .unwrap();
    let months = spendlens_query::months::connection_months(&store, org, pid)
        .await
        .unwrap();
    assert!(!months.invoice_months);
    assert!(
        months
            .rows
            .iter()
            .all(|r| r.invoice.is_none() && !r.differs)
    );
    assert!(!months.rows.is_empty());
    assert!(months.notes[0].contains("PiAPI's billing API names no invoice month"));
    let refused = store
        .set_service_choice(org, pid, "X", Some(ServiceChoice::Exclude), ACTOR)
        .await
        .unwrap_err();
    assert!(
        refused.to_string().contains("only Google Vertex AI bills"),
        "{refused}"
    );
    fake.shutdown().await;
    piapi.shutdown().await;
    test.teardown().await;
}
