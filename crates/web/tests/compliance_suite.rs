//! Compliance reports and monthly schedules end to end through the real server on a random
//! port (SQLite, or PostgreSQL with `SPENDLENS_TEST_DATABASE_URL`): SOC 2, HIPAA and GDPR
//! reports state both hash chains' results, a tampered audit chain is flagged on the cover and
//! on every page (`pdftotext`), each framework's sections are there; a monthly schedule
//! generates last month's report once and is audited.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a failing test should stop loudly

use crate::reports_harness as harness;

use harness::App;
use reqwest::Method;
use serde_json::{Value, json};

/// Generates a compliance report and returns its JSON and the PDF's text per page.
async fn compliance(app: &App, kind: &str) -> (Value, Option<Vec<String>>) {
    let (status, body) = app
        .send(
            Method::POST,
            "/api/v1/report-documents",
            Some(json!({"kind": kind, "from": "2026-12-01", "to": "2026-12-16"})),
        )
        .await;
    assert_eq!(status, 202, "{body}");
    let id = body["document"]["id"].as_i64().unwrap();
    assert_eq!(body["document"]["scope"], "organization");
    let doc = app.ready(id).await;
    assert!(doc["csv_sha256"].is_null());
    assert_eq!(
        app.download(id, "csv").await.0,
        404,
        "compliance reports have no CSV"
    );
    let (status, json) = app.download(id, "json").await;
    assert_eq!(status, 200);
    let json: Value = serde_json::from_slice(&json).unwrap();
    let (status, pdf) = app.download(id, "pdf").await;
    assert_eq!(status, 200);
    if let Ok(dir) = std::env::var("SPENDLENS_REPORTS_KEEP") {
        std::fs::write(
            std::path::Path::new(&dir).join(format!("{id}-{kind}.pdf")),
            &pdf,
        )
        .unwrap();
    }
    let pages = harness::pdf_text(&pdf).map(|text| {
        text.split('\u{c}')
            .filter(|p| !p.trim().is_empty())
            .map(str::to_owned)
            .collect()
    });
    (json["report"].clone(), pages)
}

#[tokio::test]
async fn compliance_reports_state_both_chains_and_a_tampered_audit_chain_on_every_page() {
    let app = App::start().await;
    // Something to count: a denied request and an audited change.
    let (status, _) = app
        .send_as(
            &app.read_token,
            Method::DELETE,
            "/api/v1/report-documents/1",
            None,
        )
        .await;
    assert_eq!(status, 403);
    let (report, pages) = compliance(&app, "soc2").await;
    assert_eq!(report["chains_intact"], true, "{report:#}");
    assert!(
        report["chains"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["intact"] == true)
    );
    assert!(
        report["denied_requests"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["name"] == "DELETE /api/v1/report-documents/1" && d["count"] == 1),
        "{report:#}"
    );
    let tokens = report["tokens"].as_array().unwrap();
    assert_eq!(tokens.len(), 2);
    assert!(
        report["budgets"]
            .as_str()
            .unwrap()
            .starts_with("No budget data recorded")
    );
    let access_total: i64 = report["access_events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["count"].as_i64().unwrap())
        .sum();
    assert!(access_total > 0);
    if let Some(pages) = &pages {
        let text = pages.join("\n");
        for needle in [
            "SOC 2 Type II evidence report",
            "Audit log: verified intact",
            "Access log: verified intact",
            "Access control",
            "Policy enforcement",
            "No budget data recorded",
            "Data residency",
            "Token usage",
            "Event counts by type",
            "DELETE /api/v1/report-documents/1",
        ] {
            assert!(
                text.contains(needle),
                "{needle} not in the SOC 2 PDF:\n{text}"
            );
        }
        assert!(!text.contains("BROKEN"));
        // The event counts' total as shown.
        assert!(text.contains(&format!(
            "Total ({} rows)",
            report["access_events"].as_array().unwrap().len()
        )));
    }

    // A cap set, and checks it denies: the report counts the cap and the denials.
    let (status, body) = app
        .send(
            Method::POST,
            "/api/v1/budgets",
            Some(json!({"name": "acme monthly", "customer": "acme", "period": "MONTHLY", "limit": "500", "unpriced": "fail_closed"})),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    for (estimate, allowed) in [
        (json!("600"), false),
        (json!("10"), true),
        (json!("500.25"), false),
        (Value::Null, false),
    ] {
        let (status, answer) = app
            .send(
                Method::POST,
                "/api/v1/budgets/check",
                Some(json!({"customer": "acme", "model": "gpt-4o", "estimated_cost": estimate})),
            )
            .await;
        assert_eq!(status, 200, "{answer}");
        assert_eq!(answer["allowed"], allowed, "{answer}");
    }
    // Another customer's call is governed by no cap: allowed, not a denial.
    let (_, answer) = app
        .send(
            Method::POST,
            "/api/v1/budgets/check",
            Some(json!({"customer": "globex", "estimated_cost": "9999"})),
        )
        .await;
    assert_eq!(answer["allowed"], true, "{answer}");
    let (with_cap, pages) = compliance(&app, "soc2").await;
    let words = with_cap["budgets"].as_str().unwrap();
    assert!(
        words.starts_with("1 budget caps (1 enabled). 3 budget checks were denied in the period by 1 caps (1 of them without a price, denied by fail-closed caps; 1100.25 USD of estimated cost refused)."),
        "{words}"
    );
    assert_eq!(with_cap["budget_facts"]["denials"], 3);
    assert_eq!(with_cap["budget_facts"]["unpriced_denials"], 1);
    assert_eq!(with_cap["budget_facts"]["denied_estimate"], "1100.25");
    if let Some(pages) = pages {
        let text = pages
            .join("\n")
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        assert!(text.contains("3 budget checks were denied"), "{text}");
    }

    // Someone edits the first audit entry behind spendlens's back.
    app.store
        .execute_for_tests(&format!(
            "UPDATE audit_log SET detail = 'edited' WHERE id = (SELECT MIN(id) FROM audit_log WHERE org_id = {})",
            app.org.0
        ))
        .await
        .unwrap();
    for kind in ["hipaa", "gdpr", "soc2"] {
        let (report, pages) = compliance(&app, kind).await;
        assert_eq!(report["chains_intact"], false, "{kind}");
        let audit = &report["chains"][0];
        assert_eq!(audit["name"], "Audit log");
        assert_eq!(audit["intact"], false);
        assert!(audit["broken_at"].as_i64().is_some());
        assert_eq!(
            report["chains"][1]["intact"], true,
            "the access log is untouched"
        );
        if let Some(pages) = pages {
            assert!(pages.len() >= 2, "{kind}");
            for (i, page) in pages.iter().enumerate() {
                assert!(
                    page.contains("AUDIT CHAIN BROKEN"),
                    "{kind}: page {} does not say so:\n{page}",
                    i + 1
                );
            }
            assert!(
                pages[0].contains("Audit log: BROKEN at entry"),
                "{kind}: the cover"
            );
            let text = pages.join("\n");
            let sections: &[&str] = match kind {
                "hipaa" => &[
                    "Access log",
                    "Authorization log",
                    "Policy violations",
                    "Data access patterns",
                    "Audit integrity",
                ],
                "gdpr" => &[
                    "Data processing activities",
                    "Data residency",
                    "Consent and policy status",
                    "Data retention",
                    "Oldest billed day",
                    "2026-11-01",
                    "spendlens stores no prompts",
                    "Audit integrity",
                ],
                _ => &["Access control"],
            };
            for needle in sections {
                assert!(text.contains(needle), "{kind}: {needle} missing:\n{text}");
            }
        }
    }
    app.test.teardown().await;
}

#[tokio::test]
async fn a_monthly_schedule_generates_last_month_once_and_is_audited() {
    let app = App::start().await;
    let (status, body) = app
        .send(
            Method::POST,
            "/api/v1/report-schedules",
            Some(json!({"kind": "chargeback", "scope": "customer:acme"})),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let schedule = body["schedule"]["id"].as_i64().unwrap();
    assert_eq!(body["schedule"]["cadence"], "monthly");
    // Last month's report was requested at once, by the schedule.
    let (_, list) = app
        .send(Method::GET, "/api/v1/report-documents", None)
        .await;
    let docs = list["documents"].as_array().unwrap();
    assert_eq!(docs.len(), 1, "{list}");
    assert_eq!(docs[0]["period_from"], "2026-11-01");
    assert_eq!(docs[0]["period_to"], "2026-11-30");
    assert!(
        docs[0]["requested_by"]
            .as_str()
            .unwrap()
            .starts_with(&format!("monthly schedule {schedule} (set by API token"))
    );
    app.ready(docs[0]["id"].as_i64().unwrap()).await;
    // The same schedule twice is refused; a second check generates nothing new.
    let (status, body) = app
        .send(
            Method::POST,
            "/api/v1/report-schedules",
            Some(json!({"kind": "chargeback", "scope": "customer:acme"})),
        )
        .await;
    assert_eq!(status, 409, "{body}");
    let (status, _) = app
        .send(
            Method::POST,
            "/api/v1/report-schedules",
            Some(json!({"kind": "gdpr"})),
        )
        .await;
    assert_eq!(status, 201);
    let (_, list) = app
        .send(Method::GET, "/api/v1/report-documents", None)
        .await;
    assert_eq!(list["count"], 2, "only the new schedule's month: {list}");
    let (_, schedules) = app
        .send(Method::GET, "/api/v1/report-schedules", None)
        .await;
    assert_eq!(schedules["schedules"][0]["last_period_to"], "2026-11-30");
    // Read-only tokens cannot schedule; a bad scope is refused before anything is stored.
    let (status, _) = app
        .send_as(
            &app.read_token,
            Method::POST,
            "/api/v1/report-schedules",
            Some(json!({"kind": "chargeback"})),
        )
        .await;
    assert_eq!(status, 403);
    let (status, _) = app
        .send(
            Method::POST,
            "/api/v1/report-schedules",
            Some(json!({"kind": "chargeback", "scope": "workspace:Nope"})),
        )
        .await;
    assert_eq!(status, 400);
    let (status, _) = app
        .send(
            Method::DELETE,
            &format!("/api/v1/report-schedules/{schedule}"),
            None,
        )
        .await;
    assert_eq!(status, 200);
    let (_, schedules) = app
        .send(Method::GET, "/api/v1/report-schedules", None)
        .await;
    assert_eq!(schedules["count"], 1);
    let actions: Vec<String> = app
        .store
        .audit_entries(app.org, 50)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert!(
        actions.contains(&"report_schedule.add".to_owned())
            && actions.contains(&"report_schedule.delete".to_owned())
    );
    app.test.teardown().await;
}
