//! Restating metered costs after a price change, through the real server on a random port
//! (SQLite, or PostgreSQL with `SPENDLENS_TEST_DATABASE_URL`): events ingested over the API,
//! prices changed, then `POST /api/v1/prices/restate` — a dry run changes nothing; applying
//! re-prices exactly the events of the range (a reported cost stays the cost), leaves the
//! rollups equal to a fresh sum of the events, is audited, and a rerun changes nothing.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a failing test should stop loudly

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use spendlens_domain::catalog::entry_from_json;
use spendlens_domain::{Money, PriceCatalog, PriceSource, Scopes};
use spendlens_providers::HttpSettings;
use spendlens_store::testing::TestStore;
use spendlens_store::vault::Vault;
use spendlens_store::{
    BucketRange, DimValue, METER_DAY, METER_HOUR, OrgId, RollupKind, SeriesFilter, Store,
    meter_extra,
};
use spendlens_sync::{FixedClock, SyncEngine, SyncSettings};
use time::macros::datetime;

struct App {
    base: String,
    admin: String,
    reader: String,
    ingest: String,
    store: Store,
    org: OrgId,
    client: reqwest::Client,
    _test: TestStore,
}

impl App {
    async fn start() -> App {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let test = TestStore::new().await.unwrap();
        let now = datetime!(2026-12-04 12:00 UTC);
        let engine = SyncEngine::new(
            test.store.clone(),
            Vault::from_key([3; 32]),
            PriceCatalog::built_in(),
            Arc::new(FixedClock::new(now)),
            SyncSettings {
                lease: Duration::from_secs(60),
                http: HttpSettings::default(),
                owner: "restate-test".into(),
                allowed_base_url_hosts: Vec::new(),
            },
        );
        let store = test.store.clone();
        let org = store.ensure_default_org(now).await.unwrap();
        let admin = store
            .create_api_token(org, "admin", now)
            .await
            .unwrap()
            .secret;
        let reader = store
            .create_scoped_api_token(
                org,
                "reader",
                Scopes::READ,
                None,
                spendlens_store::Actor {
                    name: "test",
                    at: now,
                },
            )
            .await
            .unwrap()
            .secret;
        let ingest = store
            .create_ingest_key(
                org,
                "app",
                spendlens_store::Actor {
                    name: "test",
                    at: now,
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
        App {
            base,
            admin,
            reader,
            ingest,
            store,
            org,
            client: reqwest::Client::new(),
            _test: test,
        }
    }

    async fn send(&self, events: Value) {
        let answer: Value = self
            .client
            .post(format!("{}/api/v1/meter/events", self.base))
            .bearer_auth(&self.ingest)
            .json(&events)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(answer["rejected"], 0, "{answer}");
    }

    async fn add_price(&self, entry: Value) -> i64 {
        let entry = entry_from_json(entry, PriceSource::User).unwrap();
        let added = self
            .store
            .add_price(
                self.org,
                entry,
                spendlens_store::Actor {
                    name: "test",
                    at: datetime!(2026-12-04 12:00 UTC),
                },
                |_| String::new(),
            )
            .await
            .unwrap();
        added.id.parse().unwrap()
    }

    async fn restate(&self, token: &str, body: Value) -> (u16, Value) {
        let response = self
            .client
            .post(format!("{}/api/v1/prices/restate", self.base))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap())
    }

    /// Every stored event's (series dims, day, hour, cost, unpriced).
    async fn events(&self) -> Vec<(Vec<String>, i64, i64, Option<Money>)> {
        let mut out = Vec::new();
        let mut cursor = None;
        loop {
            let page = self
                .store
                .meter_events_to_restate(self.org, 0, 100_000, cursor.as_ref(), 2)
                .await
                .unwrap();
            let Some(last) = page.last() else { break };
            cursor = Some(spendlens_store::RestateCursor {
                time_ms: spendlens_store::millis(last.event.time),
                event_id: last.event.id.clone(),
            });
            for p in &page {
                let e = &p.event;
                let a = &e.attribution;
                let t = |v: &Option<String>| v.clone().unwrap_or_default();
                let dims = vec![
                    e.provider.clone(),
                    e.model.clone(),
                    t(&e.api_key),
                    t(&a.customer),
                    t(&a.product),
                    t(&a.agent),
                    t(&a.workflow),
                    e.status.as_str().to_owned(),
                ];
                let hour = e.time.unix_timestamp().div_euclid(3600);
                out.push((dims, hour.div_euclid(24), hour, p.cost.cost));
            }
            if page.len() < 2 {
                break;
            }
        }
        out
    }

    /// A rollup kind's (dims, bucket) → (cost, unpriced) for every bucket of `buckets`.
    async fn rollup(
        &self,
        kind: &RollupKind,
        buckets: &[i64],
    ) -> BTreeMap<(Vec<String>, i64), (Money, i64)> {
        let mut out = BTreeMap::new();
        for bucket in buckets {
            let rows = self
                .store
                .read_period(
                    self.org,
                    kind,
                    &SeriesFilter::default(),
                    BucketRange {
                        first: *bucket,
                        last: *bucket,
                    },
                    None,
                )
                .await
                .unwrap();
            for row in rows {
                let m = row.current;
                if m.totals.requests == 0 {
                    continue;
                }
                let dims = row
                    .series
                    .dims
                    .iter()
                    .map(|d| match d {
                        DimValue::Text(t) => t.clone(),
                        DimValue::Id(id) => format!("{id:?}"),
                    })
                    .collect();
                out.insert(
                    (dims, *bucket),
                    (m.totals.cost, m.extra[meter_extra::UNPRICED]),
                );
            }
        }
        out
    }

    /// Fails unless both rollups equal a fresh sum of the stored events, bucket by bucket.
    async fn assert_rollups_match_events(&self) {
        let events = self.events().await;
        for (kind, hourly) in [(&METER_DAY, false), (&METER_HOUR, true)] {
            let mut fresh: BTreeMap<(Vec<String>, i64), (Money, i64)> = BTreeMap::new();
            for (dims, day, hour, cost) in &events {
                let bucket = if hourly { *hour } else { *day };
                let at = fresh.entry((dims.clone(), bucket)).or_default();
                at.0 += cost.unwrap_or_default();
                at.1 += i64::from(cost.is_none());
            }
            let mut buckets: Vec<i64> = fresh.keys().map(|(_, b)| *b).collect();
            buckets.dedup();
            assert_eq!(self.rollup(kind, &buckets).await, fresh, "{}", kind.name);
        }
    }
}

fn event(id: &str, time: &str, model: &str, extra: Value) -> Value {
    let mut e = json!({
        "id": id, "time": time, "provider": "openai", "model": model,
        "tokens": {"input": 1_000_000, "output": 100_000},
        "customer": "acme", "product": "support",
    });
    for (k, v) in extra.as_object().unwrap() {
        e[k] = v.clone();
    }
    e
}

#[tokio::test]
async fn restating_reprices_the_range_exactly_and_a_dry_run_changes_nothing() {
    let app = App::start().await;
    let legacy = app
        .add_price(
            json!({"provider": "openai", "model": "house-legacy", "input": "1", "output": "2",
            "effective_from": "2024-01-01", "source": "internal rate card"}),
        )
        .await;
    app.send(json!([
        event("a1", "2026-12-01T10:15:00Z", "gpt-4o-mini", json!({})),
        event(
            "a2",
            "2026-12-02T11:30:00Z",
            "gpt-4o-mini",
            json!({"status": "error"})
        ),
        event(
            "a3",
            "2026-12-02T11:45:00Z",
            "gpt-4o-mini",
            json!({"customer": "globex"})
        ),
        event("b1", "2026-12-02T09:00:00Z", "house-new", json!({})),
        event(
            "c1",
            "2026-12-03T08:00:00Z",
            "gpt-4o-mini",
            json!({"cost": "0.5"})
        ),
        event("d1", "2026-12-03T08:30:00Z", "house-legacy", json!({})),
        event("x1", "2026-11-30T23:59:00Z", "gpt-4o-mini", json!({})),
        event("y1", "2026-12-02T10:00:00Z", "gpt-4.1-mini", json!({})),
    ]))
    .await;
    app.assert_rollups_match_events().await;

    // Prices change: gpt-4o-mini doubles, house-new gets a price, house-legacy's goes away.
    app.add_price(
        json!({"provider": "openai", "model": "gpt-4o-mini*", "input": "0.30", "output": "1.20",
        "effective_from": "2024-01-01", "source": "contract 2026-12"}),
    )
    .await;
    app.add_price(
        json!({"provider": "openai", "model": "house-new", "input": "2", "output": "4",
        "effective_from": "2024-01-01", "source": "internal rate card"}),
    )
    .await;
    app.store
        .delete_price(
            app.org,
            legacy,
            spendlens_store::Actor {
                name: "test",
                at: time::OffsetDateTime::UNIX_EPOCH,
            },
            |_| String::new(),
        )
        .await
        .unwrap();

    let range = json!({"from": "2026-12-01", "to": "2026-12-03", "dry_run": true});
    let (status, _) = app.restate(&app.reader, range.clone()).await;
    assert_eq!(status, 403, "a read-only token cannot restate");
    let (status, bad) = app
        .restate(
            &app.admin,
            json!({"from": "2026-12-03", "to": "2026-12-01"}),
        )
        .await;
    assert_eq!(status, 400, "{bad}");

    let before = app.events().await;
    let (status, dry) = app.restate(&app.admin, range).await;
    assert_eq!(status, 200, "{dry}");
    assert_eq!(dry["dry_run"], true);
    assert_eq!(dry["scanned"], 7, "{dry}");
    // a1, a2, a3 (new price), b1 (newly priced), c1 (catalog cost only), d1 (newly unpriced).
    assert_eq!(dry["changed"], 6, "{dry}");
    assert_eq!(dry["applied"], 0);
    assert_eq!(dry["newly_priced"], 1);
    assert_eq!(dry["newly_unpriced"], 1);
    let models: BTreeMap<String, Value> = dry["models"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["model"].as_str().unwrap().to_owned(), m.clone()))
        .collect();
    // gpt-4o-mini: 1M input + 100k output at $0.15/$0.60 = $0.21, at $0.30/$1.20 = $0.42.
    let mini = &models["gpt-4o-mini"];
    assert_eq!(mini["events"], 4, "{mini}");
    assert_eq!(
        mini["old_total"], "1.13",
        "three at $0.21 and the reported $0.50"
    );
    assert_eq!(mini["new_total"], "1.76");
    assert_eq!(mini["difference"], "0.63");
    assert_eq!(models["house-new"]["new_total"], "2.40");
    assert_eq!(models["house-new"]["newly_priced"], 1);
    assert_eq!(models["house-legacy"]["old_total"], "1.20");
    assert_eq!(models["house-legacy"]["newly_unpriced"], 1);
    assert!(
        !models.contains_key("gpt-4.1-mini"),
        "unchanged models are not listed"
    );
    assert_eq!(app.events().await, before, "a dry run changes nothing");
    app.assert_rollups_match_events().await;

    let (status, done) = app
        .restate(
            &app.admin,
            json!({"from": "2026-12-01", "to": "2026-12-03"}),
        )
        .await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["applied"], 6, "{done}");
    assert_eq!(done["difference"], dry["difference"]);
    app.assert_rollups_match_events().await;
    let after = app.events().await;
    let cost_of = |model: &str| -> Vec<Option<Money>> {
        after
            .iter()
            .filter(|(dims, ..)| dims[1] == model)
            .map(|e| e.3)
            .collect()
    };
    assert_eq!(
        cost_of("house-legacy"),
        vec![None],
        "newly unpriced: unknown, not $0"
    );
    assert_eq!(
        cost_of("house-new"),
        vec![Some(Money::parse_units("2.40").unwrap())]
    );
    let costs: Vec<Option<Money>> = app.events().await.into_iter().map(|e| e.3).collect();
    assert!(
        costs.contains(&Some(Money::parse_units("0.5").unwrap())),
        "a reported cost stays the cost"
    );
    assert!(
        costs.contains(&Some(Money::parse_units("0.21").unwrap())),
        "the event outside the range keeps its old price"
    );

    let audit = app.store.audit_entries(app.org, 50).await.unwrap();
    let restates: Vec<_> = audit
        .iter()
        .filter(|a| a.action == "price.restate")
        .collect();
    assert_eq!(
        restates.len(),
        1,
        "one audit row for the restate, none for the dry run"
    );
    assert!(
        restates[0].detail.contains("6 of 7"),
        "{}",
        restates[0].detail
    );

    let (_, again) = app
        .restate(
            &app.admin,
            json!({"from": "2026-12-01", "to": "2026-12-03"}),
        )
        .await;
    assert_eq!(
        (again["changed"].clone(), again["applied"].clone()),
        (json!(0), json!(0))
    );
    app.assert_rollups_match_events().await;
}
