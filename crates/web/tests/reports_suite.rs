//! Stored reports end to end through the real server on a random port (SQLite, or PostgreSQL
//! with `SPENDLENS_TEST_DATABASE_URL`), over a known bill and known metered calls: a
//! chargeback's figures are checked against the seed to the nano-dollar, the PDF's text
//! (`pdftotext`) against the JSON to the cent, the CSV's sums against the PDF's totals; scopes,
//! an empty period, five years accepted and six refused, two identical requests at once built
//! once, 409 while building, 404 once deleted (audited), immutability, and read-only tokens.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a failing test should stop loudly

use crate::alerts_browser as browser;
use crate::reports_harness as harness;

use std::collections::BTreeMap;

use harness::{ANTHROPIC_DAILY, App, NOW, OPENAI, cents, dollars, money};
use reqwest::Method;
use serde_json::{Value, json};
use spendlens_domain::{DayRange, Money};
use spendlens_store::{NewReport, ReportKind, Role};

use browser::Browser;

const SECTIONS: [&str; 5] = ["customers", "api_keys", "models", "providers", "daily"];

fn exact(v: &Value) -> Money {
    Money::parse_units(v["exact"].as_str().unwrap()).unwrap()
}

fn shown(v: &Value) -> i64 {
    cents(v["shown"].as_str().unwrap())
}

/// Every summary's shown rows add up to its shown total, each shown figure is its exact one
/// rounded (within a cent), and the total's exact figure is the sum of the rows'.
fn check_cents_add_up(report: &Value) {
    for id in SECTIONS {
        let section = &report[id];
        for column in ["cost", "credits", "net"] {
            let rows = section["rows"].as_array().unwrap();
            let sum: i64 = rows.iter().map(|r| shown(&r[column])).sum();
            assert_eq!(sum, shown(&section["total"][column]), "{id} {column}");
            let exact_sum: Money = rows.iter().map(|r| exact(&r[column])).sum();
            assert_eq!(exact_sum, exact(&section["total"][column]), "{id} {column}");
            for r in rows {
                let diff = (shown(&r[column]) * 10_000_000 - exact(&r[column]).nanos()).abs();
                assert!(diff < 10_000_000, "{id} {column} {r}");
            }
        }
    }
}

/// Every row of every summary has a line in the PDF's text with its label and its cost,
/// credits and net as shown, and every total line its three totals.
fn check_pdf_matches_json(report: &Value, text: &str) {
    for id in SECTIONS {
        let section = &report[id];
        let mut lines: Vec<(String, Vec<String>)> = section["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                let label = r["label"].as_str().unwrap().to_owned();
                let figures = ["cost", "credits", "net"]
                    .iter()
                    .map(|c| dollars(shown(&r[*c])))
                    .collect();
                (label, figures)
            })
            .collect();
        lines.push((
            "Total (".to_owned(),
            ["cost", "credits", "net"]
                .iter()
                .map(|c| dollars(shown(&section["total"][*c])))
                .collect(),
        ));
        for (label, figures) in lines {
            let found = text.lines().any(|line| {
                line.contains(&label) && {
                    // The figures, in order, after the label.
                    let mut rest = &line[line.find(&label).unwrap() + label.len()..];
                    figures.iter().all(|f| match rest.find(f.as_str()) {
                        Some(at) => {
                            rest = &rest[at + f.len()..];
                            true
                        }
                        None => false,
                    })
                }
            });
            assert!(
                found,
                "{id}: no line with {label} and {figures:?} in the PDF:\n{text}"
            );
        }
    }
}

/// CSV: per section, the rows' cost, credits and net add up to the total line, which is the
/// JSON's total as shown.
fn check_csv_adds_up(report: &Value, csv_text: &str) {
    let body: String = csv_text
        .lines()
        .filter(|l| !l.starts_with("# ") && !l.starts_with("\"# "))
        .map(|l| format!("{l}\n"))
        .collect();
    let mut reader = csv::Reader::from_reader(body.as_bytes());
    let header = reader.headers().unwrap().clone();
    let at = |name: &str| header.iter().position(|h| h == name).unwrap();
    let (section, line) = (at("section"), at("line"));
    let mut sums: BTreeMap<(String, &str), i64> = BTreeMap::new();
    let mut totals: BTreeMap<(String, &str), i64> = BTreeMap::new();
    for record in reader.records() {
        let record = record.unwrap();
        if !SECTIONS.contains(&&record[section]) {
            continue;
        }
        for column in ["cost_usd", "credits_usd", "net_usd"] {
            let value = cents(&record[at(column)]);
            let key = (record[section].to_owned(), column);
            match &record[line] {
                "row" => *sums.entry(key).or_default() += value,
                "total" => {
                    totals.insert(key, value);
                }
                other => panic!("line {other}"),
            }
        }
    }
    for id in SECTIONS {
        for (column, json_column) in [
            ("cost_usd", "cost"),
            ("credits_usd", "credits"),
            ("net_usd", "net"),
        ] {
            let key = (id.to_owned(), column);
            let total = totals[&key];
            assert_eq!(sums.get(&key).copied().unwrap_or(0), total, "{id} {column}");
            assert_eq!(
                total,
                shown(&report[id]["total"][json_column]),
                "{id} {column}"
            );
        }
    }
}

fn row<'a>(report: &'a Value, section: &str, label: &str) -> &'a Value {
    report[section]["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["label"] == label)
        .unwrap_or_else(|| panic!("no {label} in {section}: {:#}", report[section]))
}

fn times(daily: &str, n: i64) -> Money {
    money(daily).scaled(i128::from(n), 1).unwrap()
}

#[tokio::test]
async fn a_chargeback_matches_the_bill_and_its_pdf_and_csv_match_the_json_to_the_cent() {
    let app = App::start().await;
    let (report, text, csv) = app.chargeback("all", "2026-11-01", "2026-11-30").await;
    // The bill, from the seed: 30 days of every OpenAI line and of Anthropic.
    let openai_cost: Money = OPENAI.iter().map(|l| times(l.3, 30)).sum();
    let openai_credits: Money = OPENAI.iter().map(|l| times(l.4, 30)).sum();
    let anthropic = times(ANTHROPIC_DAILY, 30);
    assert_eq!(
        exact(&row(&report, "providers", "OpenAI")["cost"]),
        openai_cost
    );
    assert_eq!(
        exact(&row(&report, "providers", "OpenAI")["credits"]),
        openai_credits
    );
    assert_eq!(
        exact(&row(&report, "providers", "OpenAI")["net"]),
        openai_cost - openai_credits
    );
    assert_eq!(
        exact(&row(&report, "providers", "Anthropic")["net"]),
        anthropic
    );
    let charged = openai_cost - openai_credits + anthropic;
    assert_eq!(exact(&report["charged"]), charged);
    assert_eq!(shown(&report["charged"]), charged.round_to_cents());
    // Keys: the allocated one is marked, credits applied; spend no key carries has its row.
    let evals = row(&report, "api_keys", "evals");
    assert_eq!(evals["basis"], "allocated");
    assert_eq!(exact(&evals["net"]), times("5.005", 30) - times("0.5", 30));
    assert_eq!(row(&report, "api_keys", "app")["basis"], "billed");
    // Provider, model and day totals are the bill itself: billed, never allocated.
    assert_eq!(row(&report, "providers", "OpenAI")["basis"], "billed");
    assert_eq!(row(&report, "models", "gpt-4o")["basis"], "billed");
    assert_eq!(row(&report, "daily", "2026-11-07")["basis"], "billed");
    let keyless: Vec<&Value> = report["api_keys"]["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["label"] == "(spend no key carries)")
        .collect();
    assert_eq!(keyless.len(), 2, "one per provider");
    // Anthropic reports no requests: the providers' total requests are unknown, not zero.
    assert!(report["providers"]["total"]["requests"].is_null());
    // Customers are metered: acme's 60 calls, its unpriced call counted apart.
    let acme = row(&report, "customers", "acme");
    assert_eq!(acme["basis"], "metered");
    assert_eq!(exact(&acme["net"]), times("0.105", 60));
    assert_eq!(acme["unpriced_calls"], 1);
    assert_eq!(
        exact(&row(&report, "customers", "globex")["net"]),
        times("1.0049", 10)
    );
    assert_eq!(
        exact(&row(&report, "customers", "(no customer)")["net"]),
        money("0.25")
    );
    // 30 days, each with the day's whole bill.
    assert_eq!(report["daily"]["rows"].as_array().unwrap().len(), 30);
    assert_eq!(
        exact(&row(&report, "daily", "2026-11-07")["net"]),
        OPENAI
            .iter()
            .map(|l| money(l.3) - money(l.4))
            .sum::<Money>()
            + money(ANTHROPIC_DAILY)
    );
    assert_eq!(exact(&report["daily"]["total"]["net"]), charged);
    // Forecasts and anomalies come from the forecast code, as of generation.
    assert!(
        report["forecasts"]["rows"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["label"] == "OpenAI")
    );
    assert!(report["anomalies"]["rows"].is_array());
    let by = report["generated_by"].as_str().unwrap();
    assert!(by.starts_with("API token \"admin\" ("), "{by}");
    check_cents_add_up(&report);
    check_csv_adds_up(&report, &csv);
    assert!(csv.contains("# period: 2026-11-01 to 2026-11-30 (UTC, inclusive); scope: all"));
    if let Some(text) = text {
        check_pdf_matches_json(&report, &text);
        for needle in [
            "Chargeback report",
            "2026-11-01 to 2026-11-30",
            "Page 1 of",
            "Customer summary",
            "API key summary",
            "Model summary",
            "Provider summary",
            "Daily breakdown",
            "Forecasts",
            "Anomalies",
        ] {
            assert!(text.contains(needle), "{needle} not in the PDF");
        }
        assert!(text.contains(&dollars(charged.round_to_cents())));
    }
    app.test.teardown().await;
}

#[tokio::test]
async fn customer_and_workspace_scopes_charge_only_their_own_spend() {
    let app = App::start().await;
    let (report, text, csv) = app
        .chargeback("customer:acme", "2026-11-01", "2026-11-30")
        .await;
    assert_eq!(report["customers"]["rows"].as_array().unwrap().len(), 1);
    assert_eq!(exact(&report["charged"]), times("0.105", 60));
    assert_eq!(report["charged_basis"], "metered");
    assert_eq!(row(&report, "providers", "OpenAI")["basis"], "metered");
    assert_eq!(report["providers"]["total"]["unpriced_calls"], 1);
    check_cents_add_up(&report);
    check_csv_adds_up(&report, &csv);
    if let Some(text) = &text {
        check_pdf_matches_json(&report, text);
        assert!(!text.contains("globex"));
    }

    let (report, text, csv) = app
        .chargeback("workspace:Main project", "2026-11-01", "2026-11-30")
        .await;
    let main: Money = OPENAI
        .iter()
        .filter(|l| l.0 == "proj_main")
        .map(|l| times(l.3, 30) - times(l.4, 30))
        .sum();
    assert_eq!(exact(&report["charged"]), main);
    assert!(report["customers"]["rows"].as_array().unwrap().is_empty());
    assert!(
        report["api_keys"]["rows"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["label"] != "research")
    );
    check_cents_add_up(&report);
    check_csv_adds_up(&report, &csv);
    if let Some(text) = &text {
        check_pdf_matches_json(&report, text);
    }

    // A customer with no data: a valid report of nothing.
    let (report, _, _) = app
        .chargeback("customer:nobody", "2026-11-01", "2026-11-30")
        .await;
    assert_eq!(shown(&report["charged"]), 0);
    // A workspace that does not exist is refused before anything is stored.
    let (status, body) = app
        .send(Method::POST, "/api/v1/report-documents",
            Some(json!({"kind": "chargeback", "scope": "workspace:Nope", "from": "2026-11-01", "to": "2026-11-30"})))
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("no workspace is named \"Nope\"")
    );
    app.test.teardown().await;
}

#[tokio::test]
async fn an_empty_period_gives_an_empty_valid_report_and_five_years_pass_but_six_are_refused() {
    let app = App::start().await;
    let (report, text, csv) = app.chargeback("all", "2025-01-01", "2025-01-31").await;
    for id in SECTIONS {
        assert!(report[id]["rows"].as_array().unwrap().is_empty(), "{id}");
        assert_eq!(report[id]["total"]["net"]["shown"], "0.00");
    }
    check_csv_adds_up(&report, &csv);
    if let Some(text) = &text {
        assert!(text.contains("No rows for this period and scope."));
        assert!(text.contains("No spend to chart in this period."));
    }
    // Five years to the day before tomorrow: accepted, charted per month.
    let (report, text, _) = app.chargeback("all", "2021-12-17", "2026-12-16").await;
    assert_eq!(report["days"], 1826);
    assert_eq!(
        exact(&report["providers"]["total"]["net"]),
        OPENAI
            .iter()
            .map(|l| times(l.3, 45) - times(l.4, 45))
            .sum::<Money>()
            + times(ANTHROPIC_DAILY, 45)
    );
    if let Some(text) = &text {
        assert!(text.contains("Net cost per month"));
    }
    // Six years: refused, saying the longest allowed.
    let (status, body) = app
        .send(
            Method::POST,
            "/api/v1/report-documents",
            Some(json!({"kind": "chargeback", "from": "2020-12-16", "to": "2026-12-16"})),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("at most 5 years") && message.contains("2025-12-15"),
        "{message}"
    );
    for (from, to, says) in [
        ("2026-11-30", "2026-11-01", "before it starts"),
        ("2026-12-20", "2026-12-21", "in the future"),
        ("2026-13-01", "2026-12-01", "not a day"),
    ] {
        let (status, body) = app
            .send(
                Method::POST,
                "/api/v1/report-documents",
                Some(json!({"kind": "chargeback", "from": from, "to": to})),
            )
            .await;
        assert_eq!(status, 400, "{body}");
        assert!(
            body["error"]["message"].as_str().unwrap().contains(says),
            "{body}"
        );
    }
    app.test.teardown().await;
}

#[tokio::test]
async fn two_identical_requests_at_once_are_built_once() {
    let app = App::start().await;
    let body =
        json!({"kind": "chargeback", "scope": "all", "from": "2026-11-01", "to": "2026-11-30"});
    let ((s1, b1), (s2, b2)) = tokio::join!(
        app.send(Method::POST, "/api/v1/report-documents", Some(body.clone())),
        app.send(Method::POST, "/api/v1/report-documents", Some(body.clone())),
    );
    assert_eq!((s1, s2), (202, 202), "{b1} {b2}");
    assert_eq!(b1["document"]["id"], b2["document"]["id"], "{b1} {b2}");
    assert_eq!(
        [
            b1["created"].as_bool().unwrap(),
            b2["created"].as_bool().unwrap()
        ]
        .iter()
        .filter(|c| **c)
        .count(),
        1
    );
    app.ready(b1["document"]["id"].as_i64().unwrap()).await;
    let (_, list) = app
        .send(Method::GET, "/api/v1/report-documents", None)
        .await;
    assert_eq!(list["count"], 1, "{list}");
    app.test.teardown().await;
}

#[tokio::test]
async fn a_build_left_by_a_stopped_server_is_failed_and_the_same_request_builds_anew() {
    let app = App::start().await;
    // A server stopped 20 minutes ago in the middle of this build.
    let (stalled, created) = app
        .store
        .request_report(
            app.org,
            &NewReport {
                kind: ReportKind::Chargeback,
                scope: "all",
                period: DayRange::new(harness::day("2026-11-01"), harness::day("2026-11-07"))
                    .unwrap(),
                schedule_id: None,
            },
            spendlens_store::Actor {
                name: "test",
                at: NOW - time::Duration::minutes(20),
            },
        )
        .await
        .unwrap();
    assert!(created);
    let id = app.generate("all", "2026-11-01", "2026-11-07").await;
    assert_ne!(id, stalled.id, "the stalled build was handed back");
    app.ready(id).await;
    let (status, old) = app
        .send(
            Method::GET,
            &format!("/api/v1/report-documents/{}", stalled.id),
            None,
        )
        .await;
    assert_eq!(status, 200, "{old}");
    assert_eq!(old["status"], "failed", "{old}");
    app.test.teardown().await;
}

#[tokio::test]
async fn a_building_report_answers_409_a_deleted_one_404_and_deletion_is_audited() {
    let app = App::start().await;
    // A report still building (as a request leaves it before its build ends).
    let (building, created) = app
        .store
        .request_report(
            app.org,
            &NewReport {
                kind: ReportKind::Chargeback,
                scope: "customer:slow",
                period: DayRange::new(harness::day("2026-10-01"), harness::day("2026-10-31"))
                    .unwrap(),
                schedule_id: None,
            },
            spendlens_store::Actor {
                name: "test",
                at: NOW,
            },
        )
        .await
        .unwrap();
    assert!(created);
    let (status, _) = app.download(building.id, "pdf").await;
    assert_eq!(status, 409);

    let id = app.generate("all", "2026-11-01", "2026-11-07").await;
    let doc = app.ready(id).await;
    assert_eq!(doc["content_sha256"].as_str().unwrap().len(), 64);
    let (status, pdf) = app.download(id, "pdf").await;
    assert_eq!(status, 200);
    // A generated report is immutable: the database refuses to change it.
    let tamper = app
        .store
        .execute_for_tests(&format!(
            "UPDATE report_documents SET scope = 'all, edited' WHERE id = {id}"
        ))
        .await;
    assert!(tamper.is_err(), "an UPDATE of a ready report went through");
    let (status, again) = app.download(id, "pdf").await;
    assert_eq!((status, again), (200, pdf));

    // Reading tokens read, but may neither generate nor delete.
    let (status, _) = app
        .send_as(
            &app.read_token,
            Method::POST,
            "/api/v1/report-documents",
            Some(json!({"kind": "chargeback", "from": "2026-11-01", "to": "2026-11-30"})),
        )
        .await;
    assert_eq!(status, 403);
    let (status, _) = app
        .send_as(
            &app.read_token,
            Method::DELETE,
            &format!("/api/v1/report-documents/{id}"),
            None,
        )
        .await;
    assert_eq!(status, 403);
    let (status, list) = app
        .send_as(
            &app.read_token,
            Method::GET,
            "/api/v1/report-documents",
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(list["building"], 1);

    let (status, body) = app
        .send(
            Method::DELETE,
            &format!("/api/v1/report-documents/{id}"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    for format in ["pdf", "csv", "json"] {
        assert_eq!(app.download(id, format).await.0, 404, "{format}");
    }
    let (status, _) = app
        .send(Method::GET, &format!("/api/v1/report-documents/{id}"), None)
        .await;
    assert_eq!(status, 404);
    let audit = app.store.audit_entries(app.org, 50).await.unwrap();
    let deleted = audit
        .iter()
        .find(|e| e.action == "report.delete")
        .expect("deletion audited");
    assert_eq!(deleted.subject, format!("report {id}"));
    assert!(
        deleted
            .detail
            .contains(doc["content_sha256"].as_str().unwrap())
    );
    assert!(audit.iter().any(|e| e.action == "report.generate"));
    app.test.teardown().await;
}

#[tokio::test]
async fn the_reports_page_generates_lists_refreshes_while_building_and_deletes_after_confirmation()
{
    let app = App::start().await;
    let admin = Browser::sign_in(
        &app.store,
        app.org,
        &app.base,
        "admin@example.com",
        Role::Admin,
    )
    .await;
    let viewer = Browser::sign_in(
        &app.store,
        app.org,
        &app.base,
        "viewer@example.com",
        Role::Viewer,
    )
    .await;
    let (status, page) = admin.get("/cost/reports").await;
    assert_eq!(status, 200);
    assert!(page.contains("No report yet."));
    // The form's default period is last month.
    assert!(
        page.contains("value=\"2026-11-01\"") && page.contains("value=\"2026-11-30\""),
        "{page}"
    );
    // A bad period says why and keeps what was typed.
    let (status, page) = admin
        .post(
            "/cost/reports",
            &[
                ("kind", "chargeback"),
                ("scope_kind", "all"),
                ("from", "2020-01-01"),
                ("to", "2026-11-30"),
            ],
        )
        .await;
    assert_eq!(status, 400);
    assert!(
        page.contains("No report was generated: A report covers at most 5 years"),
        "{page}"
    );
    assert!(page.contains("value=\"2020-01-01\""));
    // A report still building: the list says so and the page refreshes itself every 10 s.
    app.store
        .request_report(
            app.org,
            &NewReport {
                kind: ReportKind::Chargeback,
                scope: "customer:slow",
                period: DayRange::new(harness::day("2026-10-01"), harness::day("2026-10-31"))
                    .unwrap(),
                schedule_id: None,
            },
            spendlens_store::Actor {
                name: "someone@example.com",
                at: NOW,
            },
        )
        .await
        .unwrap();
    let (status, _) = admin
        .post(
            "/cost/reports",
            &[
                ("kind", "chargeback"),
                ("scope_kind", "customer"),
                ("scope_value", "acme"),
                ("from", "2026-11-01"),
                ("to", "2026-11-30"),
            ],
        )
        .await;
    assert_eq!(status, 303);
    let (_, page) = admin.get("/cost/reports").await;
    assert!(
        page.contains("<meta http-equiv=\"refresh\" content=\"10\">"),
        "{page}"
    );
    assert!(page.contains("building…"));
    assert!(page.contains("slow") && page.contains("(metered calls)"));
    let id = app
        .send(
            Method::GET,
            "/api/v1/report-documents?kind=chargeback",
            None,
        )
        .await
        .1["documents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["scope"] == "customer:acme")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    app.ready(id).await;
    let (_, page) = viewer.get("/cost/reports").await;
    assert!(page.contains(&format!("/cost/reports/{id}/pdf")), "{page}");
    assert!(page.contains("admin@example.com"), "generated by is shown");
    assert!(!page.contains("Generate a report"), "viewers see no form");
    assert!(!page.contains("Delete…"));
    // Viewers download but neither generate nor delete.
    let (status, _) = viewer.get(&format!("/cost/reports/{id}/csv")).await;
    assert_eq!(status, 200);
    let (status, _) = viewer
        .post(
            "/cost/reports",
            &[
                ("kind", "chargeback"),
                ("scope_kind", "all"),
                ("from", "2026-11-01"),
                ("to", "2026-11-30"),
            ],
        )
        .await;
    assert_eq!(status, 403);
    let (status, _) = viewer
        .post(
            &format!("/cost/reports/{id}/delete"),
            &[("confirm", "delete")],
        )
        .await;
    assert_eq!(status, 403);
    // The confirmation page names what goes; nothing goes without it.
    let (status, page) = admin.get(&format!("/cost/reports/{id}/delete")).await;
    assert_eq!(status, 200);
    assert!(page.contains(&format!("Delete report {id}?")));
    assert!(page.contains("Its PDF, CSV and JSON are deleted"));
    let (status, _) = admin.post(&format!("/cost/reports/{id}/delete"), &[]).await;
    assert_eq!(status, 303);
    assert_eq!(
        app.download(id, "pdf").await.0,
        200,
        "still there without confirmation"
    );
    let (status, _) = admin
        .post(
            &format!("/cost/reports/{id}/delete"),
            &[("confirm", "delete")],
        )
        .await;
    assert_eq!(status, 303);
    assert_eq!(app.download(id, "pdf").await.0, 404);
    let (status, _) = admin.get(&format!("/cost/reports/{id}/pdf")).await;
    assert_eq!(status, 404);
    // The type filter.
    let (_, page) = admin.get("/cost/reports?kind=soc2").await;
    assert!(page.contains("No report yet."));
    app.test.teardown().await;
}
