//! A provider restating a closed month, through the real connector, sync and FOCUS export, on
//! SQLite or PostgreSQL (`SPENDLENS_TEST_DATABASE_URL`).
//!
//! November is synced on 2026-12-04. Then the OpenAI stand-in reports more usage for the last
//! days of November (a second stand-in on the same address, with a spike of one key's gpt-4o
//! calls) and the next sync re-reads them. The export of November is byte for byte what it was
//! (as invoiced); December's carries the change as `Correction` rows, charged on the November
//! days and billed in December, which the FinOps Foundation's validator accepts; the exports of
//! both months, and one export of both, add up to the Providers view of the bill as stored now.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a failing test should stop loudly

use serde_json::Value;
use spendlens_domain::{Money, ProviderKind, SyncRequest};
use spendlens_fakes::openai::{OpenAiFake, RunningOpenAiFake, Spike};
use spendlens_store::testing::TestStore;
use spendlens_store::{OrgId, Store};
use spendlens_sync::SyncEngine;
use spendlens_sync::connections::AddConnection;
use std::collections::BTreeMap;
use time::macros::{date, datetime};
use time::{Date, OffsetDateTime};

use crate::focus_support::{engine_and_server, money, parse, sum, validate, validator_venv};

const SEED: u64 = 11;
const TODAY: Date = date!(2026 - 12 - 04);
const NOW: OffsetDateTime = datetime!(2026-12-04 15:30 UTC);

struct App {
    base: String,
    token: String,
    client: reqwest::Client,
    store: Store,
    org: OrgId,
    engine: SyncEngine,
    _test: TestStore,
}

impl App {
    async fn start() -> App {
        let test = TestStore::new().await.unwrap();
        let store = test.store.clone();
        let org = store.ensure_default_org(NOW).await.unwrap();
        let (engine, base) = engine_and_server(&store, NOW, "focus-corrections-test").await;
        let token = store.create_api_token(org, "t", NOW).await.unwrap().secret;
        App {
            base,
            token,
            client: reqwest::Client::new(),
            store,
            org,
            engine,
            _test: test,
        }
    }

    async fn get(&self, path: &str) -> (u16, Vec<u8>) {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.bytes().await.unwrap().to_vec())
    }

    async fn export(&self, from: &str, to: &str, format: &str) -> Vec<u8> {
        let (status, body) = self
            .get(&format!(
                "/api/v1/export/focus?from={from}&to={to}&format={format}"
            ))
            .await;
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
        body
    }

    async fn csv(&self, from: &str, to: &str) -> String {
        String::from_utf8(self.export(from, to, "csv").await).unwrap()
    }

    /// The Providers view's net cost (after credits) of a period.
    async fn net(&self, from: &str, to: &str) -> Money {
        let (status, body) = self
            .get(&format!("/api/v1/reports/providers?from={from}&to={to}"))
            .await;
        assert_eq!(status, 200);
        let view: Value = serde_json::from_slice(&body).unwrap();
        money(&view["total_net_cost"])
    }

    async fn sync(&self) {
        let synced = self
            .engine
            .sync_all(self.org, None, SyncRequest::Manual)
            .await
            .unwrap();
        assert!(synced.iter().all(|(_, r)| r.is_ok()), "{synced:?}");
    }
}

/// The OpenAI stand-in; with `factor`, one key's gpt-4o calls of the last 8 days (Nov 27 –
/// Dec 4) are multiplied: usage the provider reported late.
async fn stand_in(
    admin_key: Option<&str>,
    factor: Option<u64>,
    addr: Option<std::net::SocketAddr>,
) -> RunningOpenAiFake {
    let mut builder = OpenAiFake::builder().seed(SEED).today(TODAY).days(40);
    if let Some(key) = admin_key {
        builder = builder.admin_key(key);
    }
    if let Some(factor) = factor {
        builder = builder.spike(Spike {
            key: spendlens_demo::SPIKE.key.to_owned(),
            model: spendlens_demo::SPIKE.model.to_owned(),
            days: 8,
            factor,
        });
    }
    let fake = builder.build();
    match addr {
        Some(addr) => fake.spawn_on(addr).await.unwrap(),
        None => fake.spawn().await.unwrap(),
    }
}

fn billed(rows: &[&BTreeMap<String, String>]) -> Money {
    sum(rows, "x_BilledCostInUsd")
}

#[tokio::test]
async fn a_restated_closed_month_is_exported_as_invoiced_plus_correction_rows() {
    let venv = validator_venv();
    let app = App::start().await;
    let first = stand_in(None, None, None).await;
    let (addr, admin_key) = (first.addr(), first.admin_key().to_owned());
    let (connection, _) = app
        .engine
        .add_connection(
            app.org,
            AddConnection {
                provider: ProviderKind::OpenAi,
                name: "OpenAI",
                secret: &admin_key,
                base_url: Some(first.base_url()),
                skip_check: true,
                sync_interval_secs: 3600,
                backfill_days: 35,
                lookback_days: Some(10),
            },
        )
        .await
        .unwrap();
    app.sync().await;

    // Read for the first time: nothing is a correction.
    let nov_invoiced = app.csv("2026-11-01", "2026-11-30").await;
    let dec_before = app.csv("2026-12-01", "2026-12-04").await;
    for csv in [&nov_invoiced, &dec_before] {
        assert!(parse(csv).iter().all(|r| r["ChargeClass"].is_empty()));
    }
    let nov_net_invoiced = app.net("2026-11-01", "2026-11-30").await;
    assert_eq!(
        billed(&parse(&nov_invoiced).iter().collect::<Vec<_>>()),
        nov_net_invoiced
    );

    // The provider restates Nov 27–30 (and Dec 1–4, an open month) after November closed; the
    // next sync's 10-day look-back re-reads them.
    first.shutdown().await;
    let late = stand_in(Some(&admin_key), Some(4), Some(addr)).await;
    let truth = |f: &RunningOpenAiFake| {
        f.truth()
            .total_cost_nanos(date!(2026 - 11 - 27), date!(2026 - 11 - 30))
    };
    let second = truth(&late);
    assert!(second > 0, "the spike reaches Nov 27–30");
    app.sync().await;
    let nov_net_now = app.net("2026-11-01", "2026-11-30").await;
    let dec_net_now = app.net("2026-12-01", "2026-12-04").await;
    assert!(
        nov_net_now > nov_net_invoiced,
        "the dashboard shows the bill as restated: {nov_net_now} vs {nov_net_invoiced}"
    );

    // November's export is what was invoiced, to the byte.
    assert_eq!(app.csv("2026-11-01", "2026-11-30").await, nov_invoiced);

    // December's carries the change: Correction rows charged on the restated November days,
    // billed in December, without quantities, adding up to the restatement.
    let dec = app.csv("2026-12-01", "2026-12-04").await;
    let rows = parse(&dec);
    let corrections: Vec<_> = rows
        .iter()
        .filter(|r| r["ChargeClass"] == "Correction")
        .collect();
    assert!(!corrections.is_empty(), "{dec}");
    for r in &corrections {
        assert!(
            ["2026-11-27", "2026-11-28", "2026-11-29", "2026-11-30"]
                .iter()
                .any(|d| r["ChargePeriodStart"] == format!("{d}T00:00:00Z")),
            "{r:?}"
        );
        assert_eq!(r["BillingPeriodStart"], "2026-12-01T00:00:00Z", "{r:?}");
        assert_eq!(r["BillingPeriodEnd"], "2027-01-01T00:00:00Z", "{r:?}");
        assert_eq!(r["PricingQuantity"], "", "{r:?}");
        assert_eq!(r["PricingUnit"], "", "{r:?}");
        assert_eq!(r["ConsumedQuantity"], "", "{r:?}");
        assert!(
            r["ChargeDescription"].starts_with("Correction of 2026-11-"),
            "{r:?}"
        );
        assert!(r["x_SpendlensSource"] == "billed" || r["x_SpendlensSource"] == "allocated");
    }
    assert_eq!(billed(&corrections), nov_net_now - nov_net_invoiced);
    let all: Vec<_> = rows.iter().collect();
    assert_eq!(billed(&all), dec_net_now + (nov_net_now - nov_net_invoiced));
    // One export of both months is the bill as stored now.
    let both = parse(&app.csv("2026-11-01", "2026-12-04").await);
    assert_eq!(
        billed(&both.iter().collect::<Vec<_>>()),
        nov_net_now + dec_net_now
    );

    // The FinOps Foundation's validator accepts the corrections, in CSV and Parquet.
    if let Some(venv) = &venv {
        let dir = std::env::temp_dir().join(format!(
            "spendlens-focus-corrections-{}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        for (name, bytes) in [
            ("december.csv", dec.clone().into_bytes()),
            (
                "december.parquet",
                app.export("2026-12-01", "2026-12-04", "parquet").await,
            ),
        ] {
            let file = dir.join(name);
            std::fs::write(&file, &bytes).unwrap();
            let (unexpected, head) = validate(venv, &file, &dir);
            assert!(
                unexpected.is_empty(),
                "focus-validator failed rules {unexpected:?} ({head}) on {}",
                file.display()
            );
            assert!(head.contains("tests=\""), "{head}");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    // A second restatement in the same month keeps November as invoiced, and December's
    // corrections follow the bill as it now stands.
    late.shutdown().await;
    let later = stand_in(Some(&admin_key), Some(7), Some(addr)).await;
    assert!(truth(&later) > second);
    app.sync().await;
    let nov_net_latest = app.net("2026-11-01", "2026-11-30").await;
    assert!(nov_net_latest > nov_net_now);
    assert_eq!(app.csv("2026-11-01", "2026-11-30").await, nov_invoiced);
    let dec = parse(&app.csv("2026-12-01", "2026-12-04").await);
    let corrections: Vec<_> = dec
        .iter()
        .filter(|r| r["ChargeClass"] == "Correction")
        .collect();
    assert_eq!(billed(&corrections), nov_net_latest - nov_net_invoiced);

    // Deleting the connection takes its kept versions with it.
    app.store
        .delete_connection(
            app.org,
            connection.id,
            spendlens_store::Actor {
                name: "test",
                at: time::OffsetDateTime::UNIX_EPOCH,
            },
            "",
        )
        .await
        .unwrap();
    let left = app.csv("2026-11-01", "2026-12-04").await;
    assert_eq!(left.lines().count(), 1, "{left}");
    drop(later);
}
