//! Cost → Budgets through the real server (SQLite, or PostgreSQL with
//! `SPENDLENS_TEST_DATABASE_URL`): an admin creates caps from the form (a bad limit and a tenant
//! cap above its ceiling are refused with the typed values kept), sees each in its state with
//! the bar's color, the summary row and the scope filter, edits one (version 2), deletes one
//! only after the page naming it; a viewer reads the page but every change answers 403.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a failing test should stop loudly

use crate::alerts_browser as browser;
use crate::alerts_harness as harness;

use browser::Browser;
use harness::App;
use reqwest::StatusCode;
use serde_json::json;
use spendlens_store::Role;

fn cap<'a>(
    name: &'a str,
    customer: &'a str,
    limit: &'a str,
    provenance: &'a str,
) -> Vec<(&'a str, &'a str)> {
    vec![
        ("name", name),
        ("customer", customer),
        ("period", "DAILY"),
        ("limit", limit),
        ("soft_pct", "80"),
        ("enabled", "on"),
        ("provenance", provenance),
        ("unpriced", "fail_open"),
    ]
}

#[tokio::test]
async fn admins_manage_budgets_on_the_page_and_viewers_only_read() {
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

    let (status, page) = admin.get("/cost/budgets").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("No budget yet.") && page.contains("http-equiv=\"refresh\" content=\"10\""),
        "{page}"
    );
    assert!(
        page.contains("Monday 00:00"),
        "the period boundaries are stated"
    );

    for (name, customer, limit) in [
        ("acme", "acme", "10"),
        ("initech", "initech", "10"),
        ("globex", "globex", "10"),
    ] {
        let (status, _) = admin
            .post("/cost/budgets", &cap(name, customer, limit, "platform"))
            .await;
        assert_eq!(status, StatusCode::SEE_OTHER);
    }
    // Refused: the typed values stay in the form and the reason is said.
    let (status, page) = admin
        .post("/cost/budgets", &cap("broken", "acme", "-4", "platform"))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        page.contains("above zero") && page.contains("value=\"broken\""),
        "{page}"
    );
    let (status, page) = admin
        .post("/cost/budgets", &cap("acme tenant", "acme", "11", "tenant"))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        page.contains("platform cap") && page.contains("acme") && page.contains("value=\"11\""),
        "{page}"
    );
    let (status, _) = admin
        .post("/cost/budgets", &cap("acme tenant", "acme", "9", "tenant"))
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);

    // Spend puts the caps in every state: acme ok (2 of 10), initech soft (8.5), globex hard (10).
    for (id, customer, cost) in [
        ("a", "acme", "2"),
        ("i", "initech", "8.50"),
        ("g", "globex", "10"),
    ] {
        let (status, body) = app
            .call_as(&app.ingest_key, reqwest::Method::POST, "/api/v1/meter/events",
                Some(json!([{"id": id, "time": "2026-12-04T11:00:00Z", "provider": "openai", "model": "gpt-4o",
                             "tokens": {"input": 10, "output": 1}, "cost": cost, "customer": customer}])))
            .await;
        assert_eq!(status, 200, "{body}");
    }
    let (_, page) = viewer.get("/cost/budgets").await;
    assert!(
        page.contains("id=\"budgets-total\">4<")
            && page.contains("id=\"budgets-enabled\">4<")
            && page.contains("id=\"budgets-disabled\">0<"),
        "{page}"
    );
    for state in ["fill ok", "fill soft", "fill hard"] {
        assert!(page.contains(state), "{state} in {page}");
    }
    assert!(
        page.contains(">tenant</span>") && page.contains(r#"class="badge lock""#),
        "the tenant cap has its lock"
    );
    assert!(
        !page.contains("/cost/budgets/new") && !page.contains("Delete…"),
        "viewers see no change buttons"
    );
    // The cost dashboard's budget panel: most used first.
    let (status, cost) = viewer.get("/cost").await;
    assert_eq!(status, StatusCode::OK);
    let panel = &cost[cost
        .find("id=\"budget-panel\"")
        .expect("a budget panel on /cost")..];
    let (hard, soft, ok) = (
        panel.find("fill hard").unwrap(),
        panel.find("fill soft").unwrap(),
        panel.find("fill ok").unwrap(),
    );
    assert!(hard < soft && soft < ok, "ordered by use: {panel}");
    // The scope filter.
    let (_, filtered) = admin.get("/cost/budgets?scope=model").await;
    assert!(
        filtered.contains("No budget with this scope."),
        "{filtered}"
    );
    let (_, filtered) = admin.get("/cost/budgets?scope=customer").await;
    assert!(filtered.contains("initech"));

    // A second initech cap, looser, same scope and period: flagged, not refused.
    let (status, _) = admin
        .post(
            "/cost/budgets",
            &cap("initech again", "initech", "12", "platform"),
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, page) = viewer.get("/cost/budgets").await;
    let notice = &page[page
        .find("id=\"budget-overlaps\"")
        .expect("an overlap notice")..];
    assert!(
        notice.contains("both cap customer initech per day; only the lower limit (10.00 USD, &#34;initech&#34;) can ever deny")
            || notice.contains("both cap customer initech per day; only the lower limit (10.00 USD, &quot;initech&quot;) can ever deny"),
        "{notice}"
    );
    assert!(
        !notice.contains("acme"),
        "a platform ceiling over a tenant cap is not flagged: {notice}"
    );
    // A denied check shows under its cap.
    assert!(
        page.contains("No check was denied in the last 7 days."),
        "{page}"
    );
    let (status, answer) = app
        .call_as(
            &app.ingest_key,
            reqwest::Method::POST,
            "/api/v1/budgets/check",
            Some(json!({"customer": "globex", "model": "gpt-4o", "estimated_cost": "0.25"})),
        )
        .await;
    assert_eq!(
        (status, &answer["allowed"]),
        (200, &json!(false)),
        "{answer}"
    );
    let (_, page) = viewer.get("/cost/budgets").await;
    let table = &page[page.find("id=\"budget-denials\"").expect("a denials table")..];
    assert!(
        table.contains("<td>globex (#")
            && table.contains(
                "<td class=\"num\">1</td><td class=\"num\">0</td><td class=\"num\">$0.25</td>"
            ),
        "{table}"
    );

    let caps = app.store.list_budget_caps(app.org).await.unwrap();
    let globex = caps.iter().find(|c| c.spec.name == "globex").unwrap().id;
    let acme = caps.iter().find(|c| c.spec.name == "acme").unwrap().id;

    // Viewers: 403 on every change.
    for (path, form) in [
        ("/cost/budgets".to_owned(), cap("x", "x", "1", "platform")),
        (
            format!("/cost/budgets/{acme}"),
            cap("acme", "acme", "20", "platform"),
        ),
        (
            format!("/cost/budgets/{acme}/delete"),
            vec![("confirm", "delete")],
        ),
    ] {
        let (status, _) = viewer.post(&path, &form).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
    }
    let (status, _) = viewer.get(&format!("/cost/budgets/{acme}/edit")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Edit: the form starts from the cap; saving makes version 2.
    let (status, form) = admin.get(&format!("/cost/budgets/{acme}/edit")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        form.contains("value=\"10.00\"") && form.contains("name=\"expected_version\" value=\"1\""),
        "{form}"
    );
    let mut edit = cap("acme", "acme", "20", "platform");
    edit.push(("expected_version", "1"));
    let (status, _) = admin.post(&format!("/cost/budgets/{acme}"), &edit).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(
        app.store
            .get_budget_cap(app.org, acme)
            .await
            .unwrap()
            .version,
        2
    );

    // Delete: the confirmation page names what goes; a post without confirming deletes nothing.
    let (status, confirm) = admin.get(&format!("/cost/budgets/{globex}/delete")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        confirm.contains("Delete the budget “globex”?") && confirm.contains("customer globex"),
        "{confirm}"
    );
    let (status, _) = admin
        .post(&format!("/cost/budgets/{globex}/delete"), &[])
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(app.store.get_budget_cap(app.org, globex).await.is_ok());
    let (status, _) = admin
        .post(
            &format!("/cost/budgets/{globex}/delete"),
            &[("confirm", "delete")],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(app.store.get_budget_cap(app.org, globex).await.is_err());
    let audit = app.store.audit_entries(app.org, 50).await.unwrap();
    assert!(
        audit
            .iter()
            .any(|e| e.action == "budget.delete" && e.actor.contains("admin@example.com")),
        "{audit:?}"
    );
    app.test.teardown().await;
}
