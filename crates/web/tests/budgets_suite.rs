//! Budgets end to end through the real server on a random port (SQLite, or PostgreSQL with
//! `SPENDLENS_TEST_DATABASE_URL`): caps are created, edited (version up, history kept) and
//! deleted with every change audited; bad limits and a tenant cap above its platform cap are
//! refused with messages naming the problem; status counts metered spend per cap (ok, soft,
//! hard); checks deny what does not fit under the tightest cap, reservations are settled by
//! the event with the same id (counted once); and 1,000 parallel checks with reservations
//! against one hard cap never pass it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a failing test should stop loudly

use crate::alerts_harness as harness;

use harness::{App, NOW};
use reqwest::Method;
use serde_json::{Value, json};
use spendlens_domain::{
    Category, ConnectionStatus, CostLine, Credential, Currency, DayRange, Money, ProviderKind,
    Quantity, Scopes, TokenCounts, Unit,
};
use spendlens_store::vault::Vault;
use spendlens_store::{NewConnection, WindowWrite};

async fn create(app: &App, cap: Value) -> Value {
    let (status, body) = app.call(Method::POST, "/api/v1/budgets", Some(cap)).await;
    assert_eq!(status, 201, "{body}");
    body
}

async fn statuses(app: &App) -> Vec<Value> {
    let (status, body) = app.call(Method::GET, "/api/v1/budgets/status", None).await;
    assert_eq!(status, 200, "{body}");
    body["budgets"].as_array().unwrap().clone()
}

fn named<'a>(all: &'a [Value], name: &str) -> &'a Value {
    all.iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no budget {name} in {all:?}"))
}

async fn check(app: &App, body: Value) -> Value {
    let (status, answer) = app
        .call_as(
            &app.ingest_key,
            Method::POST,
            "/api/v1/budgets/check",
            Some(body),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    answer
}

/// One event with an id, a customer, a model and a cost.
async fn event(app: &App, id: &str, customer: &str, model: &str, cost: &str) {
    let (status, body) = app
        .call_as(
            &app.ingest_key,
            Method::POST,
            "/api/v1/meter/events",
            Some(
                json!([{"id": id, "time": "2026-12-04T11:59:00Z", "provider": "openai",
                "model": model, "tokens": {"input": 100, "output": 10}, "cost": cost,
                "customer": customer}]),
            ),
        )
        .await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn caps_are_versioned_audited_and_bad_limits_or_ceilings_are_refused() {
    let app = App::start().await;
    let platform = create(
        &app,
        json!({"name": "acme monthly", "customer": "acme", "period": "MONTHLY", "limit": "500"}),
    )
    .await;
    assert_eq!(platform["version"], 1);
    assert_eq!(platform["soft_pct"], 80);
    assert_eq!(platform["limit"], "500.00");
    assert_eq!(platform["provenance"], "platform");
    assert_eq!(
        platform["period_boundaries"],
        "UTC calendar month, the 1st 00:00 to the next 1st 00:00"
    );
    let id = platform["id"].as_i64().unwrap();

    for (bad, says) in [
        (
            json!({"name": "x", "period": "DAILY", "limit": "-5"}),
            "above zero",
        ),
        (
            json!({"name": "x", "period": "DAILY", "limit": "0"}),
            "above zero",
        ),
        (
            json!({"name": "x", "period": "DAILY", "limit": "20000000"}),
            "largest accepted",
        ),
        (
            json!({"name": "x", "period": "HOURLY", "limit": "5"}),
            "DAILY, WEEKLY or MONTHLY",
        ),
        (
            json!({"name": "x", "period": "DAILY", "limit": "5", "soft_pct": 120}),
            "1 to 100",
        ),
        (
            json!({"name": "x", "period": "DAILY", "limit": "5", "provider": "nosuch"}),
            "nosuch",
        ),
        (
            json!({"name": "x", "period": "DAILY", "limit": "5", "provenance": "tenant"}),
            "customer",
        ),
    ] {
        let (status, body) = app
            .call(Method::POST, "/api/v1/budgets", Some(bad.clone()))
            .await;
        assert_eq!(status, 400, "{bad}: {body}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains(says), "{bad}: {message}");
    }

    // A tenant cap above the platform cap governing it names that cap.
    let (status, body) = app
        .call(
            Method::POST,
            "/api/v1/budgets",
            Some(
                json!({"name": "acme gpt (tenant)", "customer": "acme", "model": "gpt-4o",
                        "period": "DAILY", "limit": "600", "provenance": "tenant"}),
            ),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("\"acme monthly\"") && message.contains(&format!("id {id}")),
        "{message}"
    );
    let tenant = create(
        &app,
        json!({"name": "acme gpt (tenant)", "customer": "acme", "model": "gpt-4o",
               "period": "DAILY", "limit": "50", "provenance": "tenant"}),
    )
    .await;
    assert_eq!(tenant["scope"], "customer acme × model gpt-4o");
    // Lowering the platform cap under the tenant's is refused, naming the tenant cap.
    let (status, body) = app
        .call(
            Method::PUT,
            &format!("/api/v1/budgets/{id}"),
            Some(json!({"name": "acme monthly", "customer": "acme", "period": "MONTHLY", "limit": "40"})),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("acme gpt (tenant)")
    );

    // An edit bumps the version and keeps the old one.
    let (status, body) = app
        .call(
            Method::PUT,
            &format!("/api/v1/budgets/{id}"),
            Some(
                json!({"name": "acme monthly", "customer": "acme", "period": "MONTHLY",
                        "limit": "450.50", "soft_pct": 90, "expected_version": 1}),
            ),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["budget"]["version"], 2);
    assert_eq!(body["budget"]["limit"], "450.50");
    assert_eq!(body["before"]["limit"], "500.00");
    // A stale edit is refused.
    let (status, body) = app
        .call(
            Method::PUT,
            &format!("/api/v1/budgets/{id}"),
            Some(
                json!({"name": "acme monthly", "customer": "acme", "period": "MONTHLY",
                        "limit": "400", "expected_version": 1}),
            ),
        )
        .await;
    assert_eq!(status, 409, "{body}");

    // A read-only token reads but cannot change.
    let reader = app
        .store
        .create_scoped_api_token(
            app.org,
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
    let (status, body) = app
        .call_as(&reader, Method::GET, "/api/v1/budgets", None)
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["count"], 2);
    assert_eq!(body["enabled"], 2);
    let (status, _) = app
        .call_as(
            &reader,
            Method::DELETE,
            &format!("/api/v1/budgets/{id}"),
            None,
        )
        .await;
    assert_eq!(status, 403);

    let tenant_id = tenant["id"].as_i64().unwrap();
    let (status, body) = app
        .call(
            Method::DELETE,
            &format!("/api/v1/budgets/{tenant_id}"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = app
        .call(Method::GET, &format!("/api/v1/budgets/{tenant_id}"), None)
        .await;
    assert_eq!(status, 404, "{body}");
    // Versions stay after a delete.
    let (status, body) = app
        .call(
            Method::GET,
            &format!("/api/v1/budgets/{tenant_id}/versions"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let changes: Vec<&str> = body["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["change"].as_str().unwrap())
        .collect();
    assert_eq!(changes, ["deleted", "created"]);
    let (_, body) = app
        .call(Method::GET, &format!("/api/v1/budgets/{id}/versions"), None)
        .await;
    assert_eq!(body["versions"][0]["limit"], "450.50");
    assert_eq!(body["versions"][1]["limit"], "500.00");

    let audit = app.store.audit_entries(app.org, 100).await.unwrap();
    let actions: Vec<&str> = audit
        .iter()
        .filter(|e| e.action.starts_with("budget."))
        .map(|e| e.action.as_str())
        .collect();
    assert_eq!(
        actions,
        [
            "budget.delete",
            "budget.edit",
            "budget.create",
            "budget.create"
        ]
    );
    assert!(matches!(
        app.store.verify_audit(app.org).await.unwrap(),
        spendlens_store::AuditVerdict::Intact { .. }
    ));
    app.test.teardown().await;
}

#[tokio::test]
async fn status_counts_metered_spend_per_cap_in_every_state_and_checks_pick_the_tightest() {
    let app = App::start().await;
    create(
        &app,
        json!({"name": "org daily", "period": "DAILY", "limit": "100"}),
    )
    .await;
    create(
        &app,
        json!({"name": "acme daily", "customer": "acme", "period": "DAILY", "limit": "10"}),
    )
    .await;
    create(&app, json!({"name": "acme gpt-4o", "customer": "acme", "model": "gpt-4o", "period": "WEEKLY", "limit": "5", "soft_pct": 50})).await;
    create(&app, json!({"name": "initech", "customer": "initech", "period": "MONTHLY", "limit": "3", "unpriced": "fail_closed"})).await;

    event(&app, "e1", "acme", "gpt-4o", "3.00").await;
    event(&app, "e2", "acme", "gpt-4o-mini", "1.00").await;
    event(&app, "e3", "initech", "gpt-4o", "3.00").await;
    let all = statuses(&app).await;
    let acme = named(&all, "acme daily");
    assert_eq!(acme["spend"], "4.00");
    assert_eq!(acme["remaining"], "6.00");
    assert_eq!(acme["utilization_pct"], "40.00");
    assert_eq!(acme["state"], "ok");
    assert_eq!(acme["period_start"], "2026-12-04T00:00:00Z");
    assert_eq!(acme["period_end"], "2026-12-05T00:00:00Z");
    assert_eq!(acme["source"], "metered");
    let gpt = named(&all, "acme gpt-4o");
    assert_eq!(gpt["spend"], "3.00");
    assert_eq!(gpt["state"], "soft"); // 60 % ≥ 50 %
    // 2026-12-04 is a Friday: the week began on Monday 2026-11-30.
    assert_eq!(gpt["period_start"], "2026-11-30T00:00:00Z");
    assert_eq!(named(&all, "initech")["state"], "hard");
    assert_eq!(named(&all, "org daily")["spend"], "7.00");
    assert_eq!(named(&all, "org daily")["source"], "bill_then_metered");

    // Tightest wins: acme's gpt-4o cap has $2 left.
    let answer = check(&app, json!({"customer": "acme", "model": "gpt-4o", "provider": "openai", "estimated_cost": "2.50"})).await;
    assert_eq!(answer["allowed"], false, "{answer}");
    assert_eq!(answer["binding_cap"]["name"], "acme gpt-4o");
    assert_eq!(answer["remaining"], "2.00");
    assert_eq!(answer["caps"].as_array().unwrap().len(), 3);
    let answer = check(
        &app,
        json!({"customer": "acme", "model": "gpt-4o", "estimated_cost": "2"}),
    )
    .await;
    assert_eq!(answer["allowed"], true, "{answer}");
    // Another model of acme's is bound by the daily cap.
    let answer = check(
        &app,
        json!({"customer": "acme", "model": "gpt-4o-mini", "estimated_cost": "6.5"}),
    )
    .await;
    assert_eq!(answer["allowed"], false);
    assert_eq!(answer["binding_cap"]["name"], "acme daily");
    // initech is at its hard cap; an unpriced call fails closed there, open elsewhere.
    let answer = check(
        &app,
        json!({"customer": "initech", "estimated_cost": "0.01"}),
    )
    .await;
    assert_eq!(answer["allowed"], false);
    let answer = check(&app, json!({"customer": "initech"})).await;
    assert_eq!(answer["allowed"], false);
    let answer = check(&app, json!({"customer": "globex"})).await;
    assert_eq!(answer["allowed"], true, "{answer}");
    assert_eq!(answer["binding_cap"]["name"], "org daily");
    // Bad input is said.
    let (status, body) = app
        .call(
            Method::POST,
            "/api/v1/budgets/check",
            Some(json!({"estimated_cost": "-1"})),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    let (status, body) = app
        .call(
            Method::POST,
            "/api/v1/budgets/check",
            Some(
                json!({"estimated_cost": "1", "reservation_id": "r", "reservation_ttl_seconds": 0}),
            ),
        )
        .await;
    assert_eq!(status, 400, "{body}");

    // A reservation holds, the event with its id settles it: counted once.
    let answer = check(&app, json!({"customer": "acme", "model": "gpt-4o-mini", "estimated_cost": "5", "reservation_id": "call-1"})).await;
    assert_eq!(answer["reserved"], true, "{answer}");
    let acme = named(&statuses(&app).await, "acme daily").clone();
    assert_eq!(acme["reserved"], "5.00");
    assert_eq!(acme["spend"], "9.00");
    assert_eq!(acme["state"], "soft");
    let answer = check(
        &app,
        json!({"customer": "acme", "model": "gpt-4o-mini", "estimated_cost": "1.5"}),
    )
    .await;
    assert_eq!(answer["allowed"], false, "the reservation holds: {answer}");
    event(&app, "call-1", "acme", "gpt-4o-mini", "4.50").await;
    event(&app, "call-1", "acme", "gpt-4o-mini", "4.50").await; // a resend: a duplicate
    let acme = named(&statuses(&app).await, "acme daily").clone();
    assert_eq!(acme["reserved"], "0.00");
    assert_eq!(acme["settled"], "8.50");
    assert_eq!(acme["spend"], "8.50");
    // A reservation released by the gateway frees its hold.
    let answer = check(&app, json!({"customer": "acme", "model": "gpt-4o-mini", "estimated_cost": "1", "reservation_id": "call-2"})).await;
    assert_eq!(answer["reserved"], true);
    let (status, body) = app
        .call(Method::DELETE, "/api/v1/budgets/reservations/call-2", None)
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["released"], true);
    assert_eq!(named(&statuses(&app).await, "acme daily")["spend"], "8.50");
    app.test.teardown().await;
}

#[tokio::test]
async fn a_thousand_parallel_checks_with_reservations_never_pass_a_hard_cap() {
    let app = App::start().await;
    create(
        &app,
        json!({"name": "hard", "customer": "burst", "period": "DAILY", "limit": "10"}),
    )
    .await;
    // Warm the ledger so every request takes the same path.
    check(&app, json!({"customer": "burst", "estimated_cost": "0"})).await;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let url = format!("{}/api/v1/budgets/check", app.base);
    let calls = (0..1000).map(|i| {
        let client = client.clone();
        let url = url.clone();
        let key = app.ingest_key.clone();
        tokio::spawn(async move {
            let response = client
                .post(&url)
                .bearer_auth(key)
                .json(&json!({"customer": "burst", "estimated_cost": "0.07",
                              "reservation_id": format!("burst-{i}"), "reservation_ttl_seconds": 600}))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 200);
            let body: Value = response.json().await.unwrap();
            (i, body["allowed"].as_bool().unwrap())
        })
    });
    let results: Vec<(usize, bool)> = futures_join(calls.collect()).await;
    let allowed: Vec<usize> = results
        .iter()
        .filter(|(_, a)| *a)
        .map(|(i, _)| *i)
        .collect();
    // $10 / $0.07 = 142 calls fit (142 × 0.07 = 9.94), never one more.
    assert_eq!(allowed.len(), 142, "allowed {}", allowed.len());
    let hard = named(&statuses(&app).await, "hard").clone();
    assert_eq!(hard["reserved"], "9.94");
    // The allowed calls happen and cost what they estimated: settled, counted once.
    let events: Vec<Value> = allowed
        .iter()
        .map(|i| json!({"id": format!("burst-{i}"), "time": "2026-12-04T11:59:00Z", "provider": "openai",
                        "model": "gpt-4o", "tokens": {"input": 100, "output": 10}, "cost": "0.07", "customer": "burst"}))
        .collect();
    let (status, body) = app
        .call_as(
            &app.ingest_key,
            Method::POST,
            "/api/v1/meter/events",
            Some(Value::Array(events)),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let hard = named(&statuses(&app).await, "hard").clone();
    assert_eq!(hard["reserved"], "0.00");
    assert_eq!(hard["settled"], "9.94");
    assert_eq!(hard["state"], "soft");
    let answer = check(&app, json!({"customer": "burst", "estimated_cost": "0.07"})).await;
    assert_eq!(answer["allowed"], false, "{answer}");
    assert_eq!(answer["remaining"], "0.06");

    // Every denial is on record, none lost under the burst: 1,000 − 142 + the last one.
    let denials = denials_of(&app, "").await;
    assert_eq!(denials["denials"], 859, "{denials}");
    assert_eq!(denials["estimate"], "60.13", "859 × 0.07");
    assert_eq!(denials["unpriced"], 0);
    let cap = &denials["caps"][0];
    assert_eq!(
        (
            cap["cap_name"].as_str(),
            cap["denials"].as_i64(),
            cap["days"].as_i64()
        ),
        (Some("hard"), Some(859), Some(1))
    );
    assert_eq!(denials["days"][0]["day"], "2026-12-04");
    assert_eq!(
        denials["from"], "2026-11-05",
        "30 days through today by default"
    );
    // The record outlives the cap.
    let id = hard["id"].as_i64().unwrap();
    let (status, body) = app
        .call(Method::DELETE, &format!("/api/v1/budgets/{id}"), None)
        .await;
    assert_eq!(status, 200, "{body}");
    let after = denials_of(&app, "?from=2026-12-04&to=2026-12-04").await;
    assert_eq!(after["caps"], denials["caps"]);
    assert_eq!(
        denials_of(&app, "?from=2026-12-03&to=2026-12-03").await["denials"],
        0
    );
    let (status, body) = app
        .call(
            Method::GET,
            "/api/v1/budgets/denials?from=2026-12-05&to=2026-12-01",
            None,
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(body["error"].to_string().contains("after to"), "{body}");
    app.test.teardown().await;
}

async fn denials_of(app: &App, query: &str) -> Value {
    let (status, body) = app
        .call(
            Method::GET,
            &format!("/api/v1/budgets/denials{query}"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body
}

/// A bill line of OpenAI's.
fn line(day: &str, model: &str, dollars: &str) -> CostLine {
    CostLine {
        day: day.parse().unwrap(),
        workspace_id: None,
        api_key_id: None,
        model: model.to_owned(),
        category: Category::Text,
        unit: Unit::tokens(),
        detail: String::new(),
        tokens: TokenCounts {
            input: 1000,
            output: 0,
            cache_read: 0,
            cache_write: 0,
        },
        requests: Some(10),
        quantity: Quantity::ZERO,
        cost: Money::parse_units(dollars).unwrap(),
        credits: Money::ZERO,
        currency: Currency::usd(),
        billing: None,
        estimated: false,
        allocated: false,
        unpriced: false,
    }
}

#[tokio::test]
async fn billed_caps_read_the_bill_through_its_watermark_and_metered_calls_after_it_never_both() {
    let app = App::start().await;
    let credential = Credential::parse(
        ProviderKind::OpenAi,
        "sk-admin-budgetstestkeyxxxxxxxxxxxxxxxxxxx",
    )
    .unwrap();
    let vault = Vault::from_key([7; 32]);
    let id = app
        .store
        .create_connection(
            app.org,
            NewConnection {
                name: "openai",
                credential: &credential,
                base_url: Some("http://127.0.0.1:9"),
                sync_interval_secs: 3600,
                backfill_days: 90,
                lookback_days: Some(3),
            },
            &vault,
            NOW,
        )
        .await
        .unwrap()
        .id;
    app.store
        .replace_window(WindowWrite {
            invoice_months: None,
            org: app.org,
            connection: id,
            window: DayRange::new("2026-11-25".parse().unwrap(), "2026-12-04".parse().unwrap())
                .unwrap(),
            workspaces: &[],
            api_keys: &[],
            api_keys_complete: true,
            lines: &[
                line("2026-11-30", "gpt-4o", "100.00"), // last month: not in December's caps
                line("2026-12-01", "gpt-4o", "20.00"),
                line("2026-12-02", "gpt-4o", "30.00"),
                line("2026-12-03", "gpt-4o-mini", "5.00"),
            ],
            now: NOW,
        })
        .await
        .unwrap();
    // Synced through today, last run today: the bill is complete through 2026-12-03.
    app.store
        .record_sync_outcome(
            app.org,
            id,
            ConnectionStatus::Connected,
            None,
            Some("2026-12-04".parse().unwrap()),
            false,
            None,
            NOW,
            None,
        )
        .await
        .unwrap();
    create(
        &app,
        json!({"name": "openai month", "provider": "openai", "period": "MONTHLY", "limit": "1000"}),
    )
    .await;
    create(
        &app,
        json!({"name": "gpt-4o week", "model": "gpt-4o", "period": "WEEKLY", "limit": "1000"}),
    )
    .await;
    create(
        &app,
        json!({"name": "acme month", "customer": "acme", "period": "MONTHLY", "limit": "1000"}),
    )
    .await;
    // A metered call on a day the bill covers (in the bill already) and one today (not yet).
    for (id, time, cost) in [
        ("old", "2026-12-02T10:00:00Z", "7.00"),
        ("new", "2026-12-04T10:00:00Z", "2.00"),
    ] {
        let (status, body) = app
            .call_as(&app.ingest_key, Method::POST, "/api/v1/meter/events",
                Some(json!([{"id": id, "time": time, "provider": "openai", "model": "gpt-4o",
                             "tokens": {"input": 100, "output": 10}, "cost": cost, "customer": "acme"}])))
            .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["accepted"], 1, "{body}");
    }
    let all = statuses(&app).await;
    // Bill 20 + 30 + 5 through 12-03, then today's metered 2: the 7 on 12-02 is in the bill.
    assert_eq!(named(&all, "openai month")["spend"], "57.00");
    // The week from Monday 11-30: the bill's gpt-4o (100 + 20 + 30) + today's metered 2.
    assert_eq!(named(&all, "gpt-4o week")["spend"], "152.00");
    // A customer is known only from metered calls: both count.
    assert_eq!(named(&all, "acme month")["spend"], "9.00");
    // A call settled after the read counts once, for the billed caps too (today is after the
    // watermark).
    let answer = check(&app, json!({"provider": "openai", "model": "gpt-4o", "customer": "acme", "estimated_cost": "1", "reservation_id": "later"})).await;
    assert_eq!(answer["allowed"], true, "{answer}");
    let (status, body) = app
        .call_as(&app.ingest_key, Method::POST, "/api/v1/meter/events",
            Some(json!([{"id": "later", "time": "2026-12-04T11:00:00Z", "provider": "openai", "model": "gpt-4o",
                         "tokens": {"input": 100, "output": 10}, "cost": "1.00", "customer": "acme"}])))
        .await;
    assert_eq!(status, 200, "{body}");
    let all = statuses(&app).await;
    assert_eq!(named(&all, "openai month")["spend"], "58.00");
    assert_eq!(named(&all, "openai month")["reserved"], "0.00");
    assert_eq!(named(&all, "acme month")["spend"], "10.00");
    app.test.teardown().await;
}

#[tokio::test]
async fn budget_soft_and_hard_alerts_fire_once_per_budget_when_spend_crosses() {
    let app = App::start().await;
    for kind in ["budget_soft", "budget_hard"] {
        let (status, body) = app
            .call(
                Method::POST,
                "/api/v1/alerts/rules",
                Some(json!({"name": kind, "kind": kind, "threshold": 0})),
            )
            .await;
        assert_eq!(status, 201, "{body}");
    }
    let (status, body) = app
        .call(Method::POST, "/api/v1/alerts/rules", Some(json!({"name": "x", "kind": "budget_hard", "threshold": 0, "scope": "customer", "scope_value": "acme"})))
        .await;
    assert_eq!(status, 400, "{body}");
    create(
        &app,
        json!({"name": "acme daily", "customer": "acme", "period": "DAILY", "limit": "10"}),
    )
    .await;
    event(&app, "s1", "acme", "gpt-4o", "5.00").await;
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    assert!(firings_of(&app).await.is_empty(), "50 % fires nothing");
    event(&app, "s2", "acme", "gpt-4o", "3.50").await; // 85 %: soft
    let mut firings = Vec::new();
    for _ in 0..100 {
        firings = firings_of(&app).await;
        if !firings.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(firings.len(), 1, "{firings:?}");
    assert_eq!(firings[0]["rule_name"], "budget_soft");
    assert_eq!(firings[0]["subject"], "acme daily");
    assert_eq!(firings[0]["value"], "85.00");
    event(&app, "s3", "acme", "gpt-4o", "2.00").await; // 105 %: hard
    for _ in 0..100 {
        firings = firings_of(&app).await;
        if firings.len() > 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(firings.len(), 2, "{firings:?}");
    assert_eq!(firings[0]["rule_name"], "budget_hard");
    assert!(
        firings[0]["message"]
            .as_str()
            .unwrap()
            .contains("budget acme daily reached its limit"),
        "{firings:?}"
    );
    // Still over: nothing more fires.
    event(&app, "s4", "acme", "gpt-4o", "1.00").await;
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    assert_eq!(firings_of(&app).await.len(), 2);
    app.test.teardown().await;
}

async fn firings_of(app: &App) -> Vec<Value> {
    let (_, body) = app.call(Method::GET, "/api/v1/alerts/history", None).await;
    body["firings"].as_array().unwrap().clone()
}

async fn futures_join<T: Send + 'static>(handles: Vec<tokio::task::JoinHandle<T>>) -> Vec<T> {
    let mut out = Vec::with_capacity(handles.len());
    for handle in handles {
        out.push(handle.await.unwrap());
    }
    out
}

#[tokio::test]
async fn a_key_regenerated_or_revoked_through_the_server_stops_passing_checks_at_once() {
    let app = App::start().await;
    let (status, key) = app
        .call(
            Method::POST,
            "/api/v1/ingest-keys",
            Some(json!({"name": "gateway"})),
        )
        .await;
    assert_eq!(status, 201, "{key}");
    let (id, old) = (
        key["ingest_key"]["id"].as_i64().unwrap(),
        key["secret"].as_str().unwrap(),
    );
    let ask = |secret: String| {
        let app = &app;
        async move {
            app.call_as(
                &secret,
                Method::POST,
                "/api/v1/budgets/check",
                Some(json!({"customer": "acme", "estimated_cost": "0.01"})),
            )
            .await
        }
    };
    // Verified once, then believed from the cache: both answer.
    assert_eq!(ask(old.to_owned()).await.0, 200);
    assert_eq!(ask(old.to_owned()).await.0, 200);
    let (status, new) = app
        .call(
            Method::POST,
            &format!("/api/v1/ingest-keys/{id}/regenerate"),
            None,
        )
        .await;
    assert!((200..300).contains(&status), "{status} {new}");
    let new = new["secret"].as_str().unwrap().to_owned();
    let (status, body) = ask(old.to_owned()).await;
    assert_eq!(status, 401, "the old secret still passed a check: {body}");
    assert!(body.to_string().contains("regenerated"), "{body}");
    assert_eq!(ask(new.clone()).await.0, 200);
    let (status, body) = app
        .call(Method::DELETE, &format!("/api/v1/ingest-keys/{id}"), None)
        .await;
    assert!((200..300).contains(&status), "{status} {body}");
    let (status, body) = ask(new).await;
    assert_eq!(status, 401, "a revoked key still passed a check: {body}");
    assert!(body.to_string().contains("revoked"), "{body}");
}
