//! The PiAPI connector against the local fake of PiAPI's account and task history
//! (spendlens-fakes), and a canned server for answers the fake does not give.

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "test helpers, like tests, stop loudly (clippy only exempts #[test] functions)"
)]

use crate::common;

use std::collections::BTreeMap;

use common::{canned, config, nanos_of_dollars, range};
use spendlens_domain::{Credential, DayRange, FetchedWindow, ProviderKind};
use spendlens_fakes::piapi::{PiApiFake, RunningPiApiFake};
use spendlens_fakes::{Fault, FaultRule};
use spendlens_providers::{CallStats, ProviderError, check_connection, fetch_window};

/// The fake's 120 days (2025-10-04 to 2026-01-31): several history pages of 100 tasks.
fn all_days() -> DayRange {
    range("2025-10-04", "2026-01-31")
}

async fn spawn() -> RunningPiApiFake {
    PiApiFake::builder().seed(4).build().spawn().await.unwrap()
}

fn credential(key: &str) -> Credential {
    let json = serde_json::json!({"apiKey": key, "environment": "production"});
    Credential::parse(ProviderKind::PiApi, &json.to_string()).unwrap()
}

async fn fetch(
    fake: &RunningPiApiFake,
    window: DayRange,
) -> (Result<FetchedWindow, ProviderError>, CallStats) {
    let stats = CallStats::new();
    let result = fetch_window(
        &credential(fake.admin_key()),
        &config(fake.base_url()),
        window,
        &stats,
    )
    .await;
    (result, stats)
}

type Cell = (time::Date, String, String);

fn notes_of(fetched: &FetchedWindow) -> String {
    fetched.notes.join("\n")
}

fn cost_by_cell(fetched: &FetchedWindow) -> BTreeMap<Cell, i64> {
    let mut out = BTreeMap::new();
    for cost in &fetched.costs {
        let key = (
            cost.day.date(),
            cost.api_key_id.clone().unwrap(),
            cost.model.clone().unwrap(),
        );
        *out.entry(key).or_insert(0) += cost.cost.nanos();
    }
    out.retain(|_, nanos| *nanos != 0);
    out
}

#[tokio::test]
async fn task_consumption_becomes_dollars_per_day_key_and_model_to_the_nano_dollar() {
    let fake = spawn().await;
    let window = all_days();
    let (result, stats) = fetch(&fake, window).await;
    let fetched = result.unwrap();
    let truth = fake
        .truth()
        .by_day_key_model(window.from().date(), window.to().date());
    let expected: BTreeMap<Cell, i64> = truth
        .iter()
        .map(|(cell, figures)| (cell.clone(), nanos_of_dollars(&figures.usd)))
        .filter(|(_, nanos)| *nanos != 0)
        .collect();
    assert!(!expected.is_empty());
    assert_eq!(cost_by_cell(&fetched), expected);

    // One request per task, failed ones in their own line; no invented work units.
    let mut tasks: BTreeMap<Cell, (i64, i64)> = BTreeMap::new();
    for usage in &fetched.usage {
        let entry = tasks
            .entry((
                usage.day.date(),
                usage.api_key_id.clone().unwrap(),
                usage.model.clone(),
            ))
            .or_default();
        entry.0 += usage.requests.unwrap();
        if usage.detail.split(", ").any(|d| d == "failed") {
            entry.1 += usage.requests.unwrap();
        }
        assert!(usage.tokens.is_zero());
    }
    let expected_tasks: BTreeMap<Cell, (i64, i64)> = truth
        .iter()
        .map(|(cell, f)| (cell.clone(), (f.tasks, f.failed)))
        .collect();
    assert_eq!(tasks, expected_tasks);

    // Midjourney's `point` usage has no dollar rate: its PAYG tasks are on lines of their own,
    // in points, marked unpriced (one request per task); every other line is priced.
    let mut points: BTreeMap<Cell, (i64, i64)> = BTreeMap::new();
    for u in &fetched.usage {
        assert_eq!(u.unpriced, u.unit.as_str() == "point_usage", "{u:?}");
        if u.unpriced {
            let entry = points
                .entry((u.day.date(), u.api_key_id.clone().unwrap(), u.model.clone()))
                .or_default();
            entry.0 += u.quantity.micros() / 1_000_000;
            entry.1 += u.requests.unwrap();
        }
    }
    let expected_points: BTreeMap<Cell, (i64, i64)> = truth
        .iter()
        .filter(|(_, f)| f.unpriced_tasks > 0)
        .map(|(cell, f)| (cell.clone(), (f.unpriced_usage as i64, f.unpriced_tasks)))
        .collect();
    assert!(!expected_points.is_empty());
    assert_eq!(points, expected_points);
    let unpriced_tasks: i64 = expected_points.values().map(|(_, tasks)| tasks).sum();
    let unpriced_points: i64 = expected_points.values().map(|(points, _)| points).sum();
    assert!(
        notes_of(&fetched).contains(&format!(
            "Unpriced: {unpriced_tasks} tasks ({unpriced_points} point)"
        )),
        "{}",
        notes_of(&fetched)
    );
    assert!(
        !fetched
            .costs
            .iter()
            .any(|c| c.model.as_deref() == Some("mj"))
    );
    for cost in &fetched.costs {
        assert_eq!(cost.currency.as_str(), "USD");
        assert!(!cost.estimated);
        if cost.description.contains("hya") {
            assert_eq!(cost.cost.nanos(), 0, "{}", cost.description);
        }
    }

    assert_eq!(fetched.workspaces.len(), 1);
    assert_eq!(fetched.workspaces[0].provider_id, "48213");
    assert_eq!(fetched.workspaces[0].name, "acme-media");
    let notes = fetched.notes.join("\n");
    assert!(
        notes.contains(&format!("${}", fake.truth().balance_usd())) || notes.contains("balance"),
        "{notes}"
    );
    assert!(notes.contains("cannot give"), "{notes}");
    assert!(notes.contains("unpriced"), "{notes}");
    assert!(notes.contains("HYA"), "{notes}");
    assert!(!notes.contains(fake.admin_key()));

    // Pages of 100 over the closed window.
    let history = fake.log().requests_to("/api/open/tasks/histories");
    assert!(history.len() >= 3, "{}", history.len());
    assert!(
        history
            .iter()
            .all(|r| r.param("page_size").as_deref() == Some("100"))
    );
    assert_eq!(
        history[0].param("start_time").unwrap(),
        window.from().start_unix().to_string()
    );
    assert_eq!(stats.snapshot().retries, 0);
}

#[tokio::test]
async fn a_task_arriving_between_pages_is_not_counted_twice() {
    let fake = spawn().await;
    fake.faults()
        .add(FaultRule::new(Fault::ShiftedPage).times(u32::MAX));
    let window = all_days();
    let fetched = fetch(&fake, window).await.0.unwrap();
    let truth = fake
        .truth()
        .by_day_key_model(window.from().date(), window.to().date());
    let expected: BTreeMap<Cell, i64> = truth
        .iter()
        .map(|(cell, f)| (cell.clone(), nanos_of_dollars(&f.usd)))
        .filter(|(_, nanos)| *nanos != 0)
        .collect();
    assert_eq!(cost_by_cell(&fetched), expected);
}

#[tokio::test]
async fn a_wrong_or_revoked_key_is_refused_with_what_to_do_either_way_it_is_said() {
    let fake = spawn().await;
    let wrong = "sk-wrongwrongwrongwrongwrong1234";
    let stats = CallStats::new();
    let err = fetch_window(
        &credential(wrong),
        &config(fake.base_url()),
        all_days(),
        &stats,
    )
    .await
    .unwrap_err();
    assert!(err.is_credential_rejected(), "{err}");
    assert!(
        err.to_string().contains("PiAPI rejected the API key"),
        "{err}"
    );
    assert!(!err.to_string().contains(wrong));
    fake.set_revoked(true);
    assert!(
        fetch(&fake, all_days())
            .await
            .0
            .unwrap_err()
            .is_credential_rejected()
    );

    // HTTP 200 with an error code in the body is an error too, not an empty account.
    let body_errors = PiApiFake::builder()
        .errors_in_body(true)
        .build()
        .spawn()
        .await
        .unwrap();
    let err = fetch_window(
        &credential(wrong),
        &config(body_errors.base_url()),
        all_days(),
        &stats,
    )
    .await
    .unwrap_err();
    assert!(err.is_credential_rejected(), "{err}");
    assert!(err.to_string().contains("10001"), "{err}");
}

#[tokio::test]
async fn rate_limits_are_waited_out_and_a_storm_gives_up() {
    let fake = spawn().await;
    fake.faults().add(
        FaultRule::new(Fault::RateLimited {
            retry_after_secs: 5,
        })
        .times(2),
    );
    let (result, stats) = fetch(&fake, all_days()).await;
    result.unwrap();
    assert_eq!(stats.snapshot().retries, 2);
    fake.faults().add(
        FaultRule::new(Fault::RateLimited {
            retry_after_secs: 5,
        })
        .times(u32::MAX),
    );
    let err = fetch(&fake, all_days()).await.0.unwrap_err();
    assert!(matches!(err, ProviderError::RateLimited { .. }), "{err}");
}

#[tokio::test]
async fn a_failing_later_page_and_broken_pages_fail_the_fetch() {
    let fake = spawn().await;
    fake.faults().add(
        FaultRule::new(Fault::ServerError(502))
            .on_path("/histories")
            .on_page(2)
            .times(u32::MAX),
    );
    match fetch(&fake, all_days()).await.0.unwrap_err() {
        ProviderError::ServerError { status, page, .. } => assert_eq!((status, page), (502, 2)),
        other => panic!("{other}"),
    }
    for (fault, says) in [
        (Fault::Malformed, "not valid JSON"),
        (Fault::Truncated, "incomplete page"),
        (Fault::RepeatPage, "points back to a page already read"),
        (Fault::MissingField, "has no usage"),
    ] {
        let fake = spawn().await;
        fake.faults().add(
            FaultRule::new(fault.clone())
                .on_path("/histories")
                .on_page(2)
                .times(u32::MAX),
        );
        let err = fetch(&fake, all_days()).await.0.unwrap_err();
        assert!(err.to_string().contains(says), "{fault:?}: {err}");
    }
}

#[tokio::test]
async fn a_bare_account_body_and_the_connection_check_work() {
    let fake = PiApiFake::builder()
        .seed(4)
        .bare_account(true)
        .build()
        .spawn()
        .await
        .unwrap();
    let stats = CallStats::new();
    let check = check_connection(
        &credential(fake.admin_key()),
        &config(fake.base_url()),
        &stats,
    )
    .await
    .unwrap();
    assert!(check.summary.contains("acme-media"), "{}", check.summary);
    assert!(check.summary.contains("production"), "{}", check.summary);
    assert!(
        check.summary.contains(&fake.truth().balance_usd()),
        "{}",
        check.summary
    );
    assert!(!check.summary.contains(fake.admin_key()));
}

#[tokio::test]
async fn new_models_statuses_and_fields_are_read_and_a_task_before_midnight_utc_keeps_its_utc_day()
{
    let account = r#"{"code":0,"message":"ok","data":{"id":"acc-1","name":"n","equivalent_in_usd":1.5,"brandNew":{"x":1}}}"#;
    let history = r#"{"code":200,"message":"success","data":{"page":1,"size":2,"total":2,"extra":true,"data":[
        {"id":2,"task_id":"b","task_model":"brand-new-model","action":"do-thing","status":"processing\t","usage":15000000,"usage_type":"LLM","api_key_id":"k9","created_at":"2026-01-06T07:30:00+08:00","shiny":1},
        {"id":1,"taskId":"a","taskModel":"sora2","action":"sora2-video","status":"COMPLETED","usage":3200000,"createdAt":"2026-01-05T10:00:00.123456789Z"}]}}"#;
    let server = canned(
        &[
            ("/account/info", 200, account),
            ("/api/open/tasks/histories", 200, history),
        ],
        (404, r#"{"code":404,"message":"not found","data":null}"#),
        "",
    )
    .await;
    let stats = CallStats::new();
    let fetched = fetch_window(
        &credential("sk-0123456789abcdef0123456789"),
        &config(&server.base_url),
        range("2026-01-01", "2026-01-31"),
        &stats,
    )
    .await
    .unwrap();
    let mut costs: Vec<(String, String, i64)> = fetched
        .costs
        .iter()
        .map(|c| (c.day.to_string(), c.model.clone().unwrap(), c.cost.nanos()))
        .collect();
    costs.sort();
    assert_eq!(
        costs,
        vec![
            (
                "2026-01-05".to_owned(),
                "brand-new-model".to_owned(),
                1_500_000_000
            ),
            ("2026-01-05".to_owned(), "sora2".to_owned(), 320_000_000),
        ]
    );
    // No usage type and no key: priced as llm, booked to no key.
    assert!(fetched.costs.iter().any(|c| c.api_key_id.is_none()));
}
