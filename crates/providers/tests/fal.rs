//! The fal.ai connector against the local fake of fal's Platform API (spendlens-fakes).

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "test helpers, like tests, stop loudly (clippy only exempts #[test] functions)"
)]

use crate::common;

use std::collections::BTreeMap;

use common::{canned, config, nanos_of_dollars, range};
use rust_decimal::Decimal;
use spendlens_domain::{
    Category, Credential, Day, DayRange, FetchedWindow, KeyStatus, Money, ProviderKind, Quantity,
    Unit,
};
use spendlens_fakes::fal::{FalFake, RunningFalFake};
use spendlens_fakes::{Fault, FaultRule};
use spendlens_providers::{CallStats, ProviderError, check_connection, fetch_window};
use time::Date;

async fn spawn() -> RunningFalFake {
    FalFake::builder().seed(21).build().spawn().await.unwrap()
}

/// The fake's 120 days of data.
fn all_days(fake: &RunningFalFake) -> DayRange {
    let truth = fake.truth();
    DayRange::new(
        Day::from_date(truth.first_day()),
        Day::from_date(truth.today()),
    )
    .unwrap()
}

fn credential(fake: &RunningFalFake) -> Credential {
    Credential::parse(ProviderKind::Fal, fake.admin_key()).unwrap()
}

async fn fetch(
    fake: &RunningFalFake,
    window: DayRange,
) -> (Result<FetchedWindow, ProviderError>, CallStats) {
    let stats = CallStats::new();
    let result = fetch_window(&credential(fake), &config(fake.base_url()), window, &stats).await;
    (result, stats)
}

type CostCell = (Date, String, Option<String>);

fn costs_by_cell(fetched: &FetchedWindow) -> BTreeMap<CostCell, i64> {
    let mut cells: BTreeMap<CostCell, i64> = BTreeMap::new();
    for cost in &fetched.costs {
        *cells
            .entry((
                cost.day.date(),
                cost.model.clone().unwrap(),
                cost.api_key_id.clone(),
            ))
            .or_default() += cost.cost.nanos();
    }
    cells
}

/// Model-API cost per (day, endpoint, key), and serverless cost per (day, app) with no key.
fn expected_costs(fake: &RunningFalFake, window: DayRange) -> BTreeMap<CostCell, i64> {
    let (from, to) = (window.from().date(), window.to().date());
    let mut cells: BTreeMap<CostCell, i64> = fake
        .truth()
        .cost_usd_by_day_endpoint_key(from, to)
        .into_iter()
        .map(|(cell, dollars)| (cell, nanos_of_dollars(&dollars)))
        .collect();
    for line in fake.truth().serverless(from, to) {
        *cells.entry((line.date, line.app, None)).or_default() += line.cost_nanos as i64;
    }
    cells
}

#[tokio::test]
async fn cost_and_quantity_per_day_endpoint_and_key_equal_the_fake_s_to_the_nano_dollar() {
    let fake = spawn().await;
    let window = all_days(&fake);
    let (result, stats) = fetch(&fake, window).await;
    let fetched = result.unwrap();
    let truth = fake.truth();
    let (from, to) = (window.from().date(), window.to().date());

    let serverless: u64 = truth
        .serverless(from, to)
        .iter()
        .map(|l| l.cost_nanos)
        .sum();
    let total: i64 = fetched.costs.iter().map(|c| c.cost.nanos()).sum();
    assert_eq!(total as u64, truth.total_cost_nanos(from, to) + serverless);
    assert_eq!(costs_by_cell(&fetched), expected_costs(&fake, window));

    let machine_seconds = Unit::parse("machine_seconds").unwrap();
    let mut quantities: BTreeMap<(Date, String, Option<String>, Unit), Quantity> = BTreeMap::new();
    for record in fetched.usage.iter().filter(|u| u.unit != machine_seconds) {
        assert_eq!(record.requests, None, "{record:?}");
        assert!(record.tokens.is_zero());
        assert_eq!(record.workspace_id.as_deref(), Some(truth.username()));
        *quantities
            .entry((
                record.day.date(),
                record.model.clone(),
                record.api_key_id.clone(),
                record.unit.clone(),
            ))
            .or_default() += record.quantity;
    }
    let expected: BTreeMap<(Date, String, Option<String>, Unit), Quantity> = truth
        .quantity_by_day_endpoint_key_unit(from, to)
        .into_iter()
        .map(|((day, endpoint, key, unit), text)| {
            (
                (day, endpoint, key, Unit::parse(&unit).unwrap()),
                Quantity::from_decimal(text.parse::<Decimal>().unwrap()).unwrap(),
            )
        })
        .collect();
    assert_eq!(quantities, expected);
    for cost in &fetched.costs {
        assert_eq!(cost.currency.as_str(), "USD");
        assert_eq!(cost.credits, Money::ZERO);
        assert!(!cost.estimated);
    }
    // Several usage pages (a bucket may continue from one page to the next), no retries.
    assert!(fake.log().requests_to("/models/usage").len() > 2);
    assert_eq!(stats.snapshot().retries, 0);
}

#[tokio::test]
async fn the_deprecated_cost_is_read_when_cost_total_is_missing() {
    let fake = FalFake::builder()
        .seed(21)
        .legacy_cost_only(true)
        .build()
        .spawn()
        .await
        .unwrap();
    let window = range("2026-01-01", "2026-01-31");
    let fetched = fetch(&fake, window).await.0.unwrap();
    assert_eq!(costs_by_cell(&fetched), expected_costs(&fake, window));
}

#[tokio::test]
async fn requests_use_the_documented_parameters() {
    let fake = spawn().await;
    fetch(&fake, range("2026-01-01", "2026-01-31"))
        .await
        .0
        .unwrap();
    let usage = fake.log().requests_to("/models/usage");
    let first = &usage[0];
    assert_eq!(
        first.param("start").as_deref(),
        Some("2026-01-01T00:00:00Z")
    );
    assert_eq!(first.param("end").as_deref(), Some("2026-02-01T00:00:00Z"));
    assert_eq!(first.param("timezone").as_deref(), Some("UTC"));
    assert_eq!(first.param("timeframe").as_deref(), Some("day"));
    assert_eq!(first.param("bound_to_timeframe").as_deref(), Some("true"));
    let expand: Vec<String> = first
        .params()
        .into_iter()
        .filter(|(k, _)| k == "expand")
        .map(|(_, v)| v)
        .collect();
    assert_eq!(expand, ["time_series", "auth_method_structured"]);
    assert_eq!(first.param("cursor"), None);
    assert!(usage[1].param("cursor").is_some());
    assert!(
        usage
            .iter()
            .all(|r| r.param("limit") == first.param("limit"))
    );
    let billing = &fake.log().requests_to("/account/billing")[0];
    assert_eq!(billing.param("expand").as_deref(), Some("credits"));
}

#[tokio::test]
async fn keys_are_named_by_alias_and_login_usage_has_no_key() {
    let fake = spawn().await;
    let fetched = fetch(&fake, all_days(&fake)).await.0.unwrap();
    let truth = fake.truth();

    assert_eq!(fetched.workspaces.len(), 1);
    assert_eq!(fetched.workspaces[0].provider_id, truth.username());
    assert_eq!(fetched.workspaces[0].name, truth.username());

    let keys: BTreeMap<String, (Option<String>, KeyStatus)> = fetched
        .api_keys
        .iter()
        .map(|k| (k.provider_id.clone(), (k.name.clone(), k.status)))
        .collect();
    let expected: BTreeMap<String, (Option<String>, KeyStatus)> = truth
        .keys()
        .into_iter()
        .map(|k| {
            let status = if k.deleted {
                KeyStatus::Unlisted
            } else {
                KeyStatus::Active
            };
            (k.key_id, (Some(k.alias), status))
        })
        .collect();
    assert_eq!(keys, expected);
    assert!(
        fetched
            .api_keys
            .iter()
            .all(|k| k.workspace_id.as_deref() == Some(truth.username()))
    );
    // A team member's login token: spend with no key.
    assert!(fetched.costs.iter().any(|c| c.api_key_id.is_none()));
}

#[tokio::test]
async fn categories_come_from_units_and_endpoints() {
    let fake = spawn().await;
    let fetched = fetch(&fake, all_days(&fake)).await.0.unwrap();
    let machine_seconds = Unit::parse("machine_seconds").unwrap();
    let seen: BTreeMap<String, (String, Category)> = fetched
        .usage
        .iter()
        .filter(|u| u.unit != machine_seconds)
        .map(|u| (u.model.clone(), (u.unit.to_string(), u.category)))
        .collect();
    let expected: BTreeMap<String, (String, Category)> = [
        ("fal-ai/flux/dev", "megapixels", Category::Image),
        ("fal-ai/flux/schnell", "megapixels", Category::Image),
        ("fal-ai/flux-pro/v1.1", "images", Category::Image),
        ("fal-ai/recraft/v3/text-to-image", "images", Category::Image),
        // Seconds alone say nothing; the endpoint names the output.
        (
            "fal-ai/kling-video/v2.1/master/text-to-video",
            "seconds",
            Category::Video,
        ),
        (
            "fal-ai/minimax/hailuo-02/standard/text-to-video",
            "video",
            Category::Video,
        ),
    ]
    .into_iter()
    .map(|(model, unit, category)| (model.to_owned(), (unit.to_owned(), category)))
    .collect();
    assert_eq!(seen, expected);
}

#[tokio::test]
async fn the_balance_is_a_note_not_credits() {
    let fake = spawn().await;
    let fetched = fetch(&fake, range("2026-01-01", "2026-01-31"))
        .await
        .0
        .unwrap();
    let balance = Money::parse_units(&fake.truth().credit_balance_usd()).unwrap();
    assert!(
        fetched.notes[0].starts_with(&format!(
            "fal.ai prepaid credit balance at sync time: ${balance} USD."
        )),
        "{:?}",
        fetched.notes
    );
    assert!(fetched.costs.iter().all(|c| c.credits.is_zero()));
}

#[tokio::test]
async fn fetching_the_same_window_twice_gives_the_same_records() {
    let fake = spawn().await;
    let first = fetch(&fake, all_days(&fake)).await.0.unwrap();
    let second = fetch(&fake, all_days(&fake)).await.0.unwrap();
    assert_eq!(first.workspaces, second.workspaces);
    assert_eq!(first.api_keys, second.api_keys);
    assert_eq!(first.usage, second.usage);
    assert_eq!(first.costs, second.costs);
    assert_eq!(first.notes, second.notes);
}

#[tokio::test]
async fn an_api_scope_key_is_told_to_make_an_admin_key() {
    let fake = spawn().await;
    let credential = Credential::parse(ProviderKind::Fal, &fake.api_scope_key()).unwrap();
    let stats = CallStats::new();
    let err = fetch_window(
        &credential,
        &config(fake.base_url()),
        all_days(&fake),
        &stats,
    )
    .await
    .unwrap_err();
    assert!(err.is_credential_rejected(), "{err:?}");
    assert_eq!(
        err.to_string(),
        "fal.ai rejected the key on /account/billing (HTTP 403: Access denied). This fal.ai key is \
         not allowed to read usage and billing: it is probably an API-scope key, which can only \
         run models. Create a key with scope ADMIN at https://fal.ai/dashboard/keys and update the \
         connection with it (<key id>:<key secret>)."
    );
    assert_eq!(stats.snapshot().http_calls, 1);
}

#[tokio::test]
async fn a_revoked_key_is_rejected_with_what_to_do() {
    let fake = spawn().await;
    fake.set_revoked(true);
    let err = fetch(&fake, all_days(&fake)).await.0.unwrap_err();
    assert!(err.is_credential_rejected(), "{err:?}");
    let message = err.to_string();
    assert!(
        message
            .starts_with("fal.ai rejected the key on /account/billing (HTTP 401: Invalid API key)"),
        "{message}"
    );
    assert!(message.contains("revoked"), "{message}");
    let secret = fake.admin_key().split_once(':').unwrap().1.to_owned();
    assert!(!message.contains(&secret), "{message}");
}

#[tokio::test]
async fn a_few_rate_limits_are_waited_out_and_a_storm_is_reported() {
    let fake = spawn().await;
    fake.faults().add(
        FaultRule::new(Fault::RateLimited {
            retry_after_secs: 1,
        })
        .on_path("/models/usage")
        .on_page(2)
        .times(3),
    );
    let (result, stats) = fetch(&fake, all_days(&fake)).await;
    result.unwrap();
    assert_eq!(stats.snapshot().retries, 3);

    fake.faults().add(
        FaultRule::new(Fault::RateLimited {
            retry_after_secs: 1,
        })
        .on_path("/keys")
        .times(u32::MAX),
    );
    let err = fetch(&fake, all_days(&fake)).await.0.unwrap_err();
    assert_eq!(
        err.to_string(),
        "fal.ai kept rate-limiting (HTTP 429) on /keys (page 1) after 6 retries; try again later"
    );
}

#[tokio::test]
async fn a_server_error_on_a_later_usage_page_fails_the_window() {
    let fake = spawn().await;
    fake.faults().add(
        FaultRule::new(Fault::ServerError(503))
            .on_path("/models/usage")
            .on_page(2)
            .times(u32::MAX),
    );
    let err = fetch(&fake, all_days(&fake)).await.0.unwrap_err();
    assert!(err.is_retryable_later());
    assert!(
        err.to_string().starts_with(
            "fal.ai kept failing with HTTP 503 on /models/usage (page 2) after 6 retries (Internal server error)"
        ),
        "{err}"
    );
}

#[tokio::test]
async fn a_repeated_cursor_stops_the_fetch() {
    let fake = spawn().await;
    fake.faults().add(
        FaultRule::new(Fault::RepeatPage)
            .on_path("/models/usage")
            .on_page(2),
    );
    let err = fetch(&fake, all_days(&fake)).await.0.unwrap_err();
    assert!(
        matches!(err, ProviderError::RepeatedPage { page: 2, .. }),
        "{err:?}"
    );

    // On the first page the cursor leads back to the first page: its days come again.
    fake.faults().add(
        FaultRule::new(Fault::RepeatPage)
            .on_path("/models/usage")
            .on_page(1),
    );
    let err = fetch(&fake, all_days(&fake)).await.0.unwrap_err();
    assert!(
        matches!(
            err,
            ProviderError::DuplicateBucket { page: 2, .. } | ProviderError::RepeatedPage { .. }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn truncated_malformed_and_incomplete_pages_are_told_apart() {
    let fake = spawn().await;
    fake.faults().add(
        FaultRule::new(Fault::Truncated)
            .on_path("/models/usage")
            .on_page(2),
    );
    let err = fetch(&fake, all_days(&fake)).await.0.unwrap_err();
    assert!(
        matches!(err, ProviderError::TruncatedPage { page: 2, .. }),
        "{err:?}"
    );

    fake.faults()
        .add(FaultRule::new(Fault::Malformed).on_path("/keys"));
    let err = fetch(&fake, all_days(&fake)).await.0.unwrap_err();
    assert!(
        matches!(err, ProviderError::InvalidJson { page: 1, .. }),
        "{err:?}"
    );

    fake.faults()
        .add(FaultRule::new(Fault::MissingField).on_path("/models/usage"));
    let err = fetch(&fake, all_days(&fake)).await.0.unwrap_err();
    assert!(err.to_string().contains("has no endpoint_id"), "{err}");
}

#[tokio::test]
async fn the_connection_check_makes_one_call_and_names_the_account() {
    let fake = spawn().await;
    let stats = CallStats::new();
    let check = check_connection(&credential(&fake), &config(fake.base_url()), &stats)
        .await
        .unwrap();
    let balance = Money::parse_units(&fake.truth().credit_balance_usd()).unwrap();
    assert_eq!(
        check.summary,
        format!(
            "fal.ai account \"{}\" reachable with an ADMIN key, ${balance} USD of prepaid credit left",
            fake.truth().username()
        )
    );
    assert_eq!(stats.snapshot().http_calls, 1);
}

const KEY: &str = "6f1c2a4e-1111-2222-3333-444455556666:0123456789abcdef0123456789abcdef";

#[tokio::test]
async fn unknown_endpoints_units_new_fields_and_foreign_offsets_are_handled() {
    let usage = r#"{"time_series":[
        {"bucket":"2026-01-30T00:00:00-05:00","results":[
          {"endpoint_id":"newlab/hyper-gen","unit":"GPU Seconds","quantity":1.5,"unit_price":0.001,"percent_discount":null,
           "cost_subtotal":0.0015,"cost_discount":0,"cost_total":0.0015,"cost":0.0015,"currency":"USD",
           "auth_method_structured":{"detail":"Admin Key","api_key_id":"admin-1"},"region":"us","new":{"x":[1]}},
          {"endpoint_id":"newlab/hyper-gen","unit":"GPU Seconds","quantity":0.5,"unit_price":0.002,"cost_total":1e-9,"cost":1e-9,
           "auth_method_structured":{"detail":"Admin Key","api_key_id":"admin-1"}},
          {"endpoint_id":"fal-ai/kling-video/v2/image-to-video","unit":"seconds","quantity":10,"cost_total":2.8,
           "auth_method_structured":{"detail":"None"}}]}],
        "summary":null,"next_cursor":null,"has_more":false,"took_ms":12}"#;
    let server = canned(
        &[
            (
                "/v1/account/billing",
                200,
                r#"{"username":"my-team","plan":"pro"}"#,
            ),
            (
                "/v1/keys",
                200,
                r#"{"keys":[],"next_cursor":null,"has_more":false}"#,
            ),
            ("/v1/models/usage", 200, usage),
        ],
        (
            404,
            r#"{"error":{"type":"not_found","message":"Not found"}}"#,
        ),
        "/v1",
    )
    .await;
    let credential = Credential::parse(ProviderKind::Fal, KEY).unwrap();
    let fetched = fetch_window(
        &credential,
        &config(&server.base_url),
        range("2026-01-30", "2026-01-30"),
        &CallStats::new(),
    )
    .await
    .unwrap();
    let lines: Vec<(String, Option<String>, String, i64, i64, Category)> = fetched
        .usage
        .iter()
        .zip(&fetched.costs)
        .map(|(u, c)| {
            (
                u.model.clone(),
                c.api_key_id.clone(),
                u.unit.to_string(),
                u.quantity.micros(),
                c.cost.nanos(),
                u.category,
            )
        })
        .collect();
    assert_eq!(
        lines,
        [
            (
                "fal-ai/kling-video/v2/image-to-video".to_owned(),
                None,
                "seconds".to_owned(),
                10_000_000,
                2_800_000_000,
                Category::Video
            ),
            (
                "newlab/hyper-gen".to_owned(),
                Some("admin-1".to_owned()),
                "gpu_seconds".to_owned(),
                2_000_000,
                1_500_001,
                Category::Other
            ),
        ]
    );
    // The ADMIN key is not in /keys: it is named from usage.
    assert_eq!(fetched.api_keys.len(), 1);
    assert_eq!(fetched.api_keys[0].provider_id, "admin-1");
    assert_eq!(fetched.api_keys[0].name.as_deref(), Some("Admin Key"));
    assert_eq!(fetched.api_keys[0].status, KeyStatus::Unlisted);
    assert!(
        fetched
            .notes
            .iter()
            .any(|n| n.contains("offset -05:00 although UTC was asked")),
        "{:?}",
        fetched.notes
    );
}

#[tokio::test]
async fn a_bucket_outside_the_window_is_refused() {
    let usage = r#"{"time_series":[{"bucket":"2026-01-29T00:00:00+00:00","results":[]}],"next_cursor":null,"has_more":false}"#;
    let server = canned(
        &[
            ("/v1/account/billing", 200, r#"{"username":"my-team"}"#),
            ("/v1/models/usage", 200, usage),
        ],
        (
            404,
            r#"{"error":{"type":"not_found","message":"Not found"}}"#,
        ),
        "/v1",
    )
    .await;
    let credential = Credential::parse(ProviderKind::Fal, KEY).unwrap();
    let err = fetch_window(
        &credential,
        &config(&server.base_url),
        range("2026-01-30", "2026-01-30"),
        &CallStats::new(),
    )
    .await
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("a bucket for 2026-01-29 is outside the requested window"),
        "{err}"
    );
}

#[tokio::test]
async fn serverless_machine_seconds_are_read_and_surge_rows_summed_per_app_and_day() {
    let fake = spawn().await;
    let window = all_days(&fake);
    let (result, _) = fetch(&fake, window).await;
    let fetched = result.unwrap();
    let (from, to) = (window.from().date(), window.to().date());
    let lines = fake.truth().serverless(from, to);
    assert!(lines.iter().any(|l| l.is_surge), "the fake has surge rows");
    let mut expected_cost: BTreeMap<(Date, String), i64> = BTreeMap::new();
    let mut expected_seconds: BTreeMap<(Date, String), Decimal> = BTreeMap::new();
    for line in &lines {
        *expected_cost
            .entry((line.date, line.app.clone()))
            .or_default() += line.cost_nanos as i64;
        *expected_seconds
            .entry((line.date, line.app.clone()))
            .or_default() += line.seconds.parse::<Decimal>().unwrap();
    }
    let mut cost: BTreeMap<(Date, String), i64> = BTreeMap::new();
    for c in fetched
        .costs
        .iter()
        .filter(|c| c.description.starts_with("Serverless "))
    {
        assert_eq!(c.api_key_id, None);
        assert_eq!(c.category, Some(Category::Other));
        *cost
            .entry((c.day.date(), c.model.clone().unwrap()))
            .or_default() += c.cost.nanos();
    }
    assert_eq!(cost, expected_cost);
    let mut seconds: BTreeMap<(Date, String), Decimal> = BTreeMap::new();
    for u in fetched
        .usage
        .iter()
        .filter(|u| u.unit == Unit::parse("machine_seconds").unwrap())
    {
        assert!(u.detail.starts_with("GPU-"), "{u:?}");
        *seconds.entry((u.day.date(), u.model.clone())).or_default() += u.quantity.to_decimal();
    }
    assert_eq!(seconds, expected_seconds);
    let total: i64 = expected_cost.values().sum();
    assert!(total > 0);
}
