//! The Azure OpenAI connector against the local fake of Entra ID + Cost Management
//! (spendlens-fakes), and a canned server for answers the fake does not give.

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "test helpers, like tests, stop loudly (clippy only exempts #[test] functions)"
)]

use crate::common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::{canned, config, nanos_of_dollars, range};
use spendlens_domain::{
    Billed, Category, Credential, Currency, DayRange, FetchedWindow, Money, ProviderKind,
    TokenClass,
};
use spendlens_fakes::azure::{
    AzureFake, CLIENT_ID, EMPTY_SUBSCRIPTION, EUR_SUBSCRIPTION, NO_ROLE_SUBSCRIPTION,
    RunningAzureFake, TENANT_ID, USD_SUBSCRIPTION,
};
use spendlens_fakes::{Fault, FaultRule};
use spendlens_providers::{CallStats, ProviderError, check_connection, fetch_window};

/// Two calendar months: two queries (several pages each at 40 rows a page).
fn two_months() -> DayRange {
    range("2025-12-01", "2026-01-31")
}

async fn spawn() -> RunningAzureFake {
    AzureFake::builder().seed(11).build().spawn().await.unwrap()
}

fn credential_for(secret: &str, subscription: &str, group: Option<&str>) -> Credential {
    let json = serde_json::json!({
        "tenantId": TENANT_ID,
        "clientId": CLIENT_ID,
        "clientSecret": secret,
        "subscriptionId": subscription,
        "resourceGroup": group,
    });
    Credential::parse(ProviderKind::AzureOpenAi, &json.to_string()).unwrap()
}

async fn fetch_as(
    fake: &RunningAzureFake,
    credential: &Credential,
    window: DayRange,
) -> (Result<FetchedWindow, ProviderError>, CallStats) {
    let stats = CallStats::new();
    let result = fetch_window(credential, &config(fake.base_url()), window, &stats).await;
    (result, stats)
}

async fn fetch(
    fake: &RunningAzureFake,
    subscription: &str,
    window: DayRange,
) -> (Result<FetchedWindow, ProviderError>, CallStats) {
    fetch_as(
        fake,
        &credential_for(fake.admin_key(), subscription, None),
        window,
    )
    .await
}

/// (date, account, meter) → nano-dollars, from the fake's truth (`usd`: the CostUSD column).
fn truth_nanos(
    fake: &RunningAzureFake,
    subscription: &str,
    group: Option<&str>,
    window: DayRange,
) -> BTreeMap<(time::Date, String, String), i64> {
    fake.truth()
        .rows(
            subscription,
            group,
            window.from().date(),
            window.to().date(),
        )
        .into_iter()
        .map(|row| {
            (
                (row.date, row.account, row.meter),
                nanos_of_dollars(&row.cost_usd),
            )
        })
        .collect()
}

fn fetched_nanos(fetched: &FetchedWindow) -> BTreeMap<(time::Date, String, String), i64> {
    let mut out = BTreeMap::new();
    for cost in &fetched.costs {
        let meter = cost
            .description
            .split("; billed")
            .next()
            .unwrap()
            .to_owned();
        let key = (cost.day.date(), cost.workspace_id.clone().unwrap(), meter);
        assert!(out.insert(key, cost.cost.nanos()).is_none());
    }
    out
}

#[tokio::test]
async fn daily_cost_per_account_and_meter_equals_the_fake_s_to_the_nano_dollar() {
    let fake = spawn().await;
    let window = two_months();
    let (result, stats) = fetch(&fake, USD_SUBSCRIPTION, window).await;
    let fetched = result.unwrap();
    assert_eq!(
        fetched_nanos(&fetched),
        truth_nanos(&fake, USD_SUBSCRIPTION, None, window)
    );

    // The Marketplace SaaS resource is filtered out; the upper-case casing of aoai-eastus
    // merges into its one lower-case account.
    let mut names: Vec<&str> = fetched.workspaces.iter().map(|w| w.name.as_str()).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        ["aoai-eastus", "aoai-research", "foundry-swedencentral"]
    );
    assert!(
        fetched
            .workspaces
            .iter()
            .all(|w| w.provider_id == w.provider_id.to_ascii_lowercase())
    );
    assert!(
        !fetched
            .costs
            .iter()
            .any(|c| c.description.contains("paygo"))
    );
    for cost in &fetched.costs {
        assert_eq!(cost.currency.as_str(), "USD");
        assert_eq!(cost.billing, None, "billed in USD: no second amount");
        assert_eq!(cost.api_key_id, None);
        assert!(!cost.estimated);
    }
    // Meters become models and token classes; a meter that names no unit stays money.
    let gpt5 = fetched
        .costs
        .iter()
        .find(|c| c.description == "GPT 5 Inpt Glbl 1M Tokens")
        .unwrap();
    assert_eq!(gpt5.model.as_deref(), Some("gpt-5"));
    assert_eq!(gpt5.token_class, Some(TokenClass::Input));
    let other = fetched
        .costs
        .iter()
        .find(|c| c.description == "Content Safety Text Records")
        .unwrap();
    assert_eq!(other.category, Some(Category::Other));
    assert_eq!(other.model.as_deref(), Some("Content Safety Text Records"));

    // Tokens are the quantity in the meter's blocks: 1K for older meters, 1M for `1M` meters.
    let rows = fake.truth().rows(
        USD_SUBSCRIPTION,
        None,
        window.from().date(),
        window.to().date(),
    );
    let row = rows
        .iter()
        .find(|r| r.meter == "GPT 5 Inpt Glbl 1M Tokens")
        .unwrap();
    let usage = fetched
        .usage
        .iter()
        .find(|u| {
            u.day.date() == row.date
                && u.workspace_id.as_deref() == Some(&row.account)
                && u.model == "gpt-5"
                && u.tokens.input > 0
        })
        .unwrap();
    let expected = (row.quantity.parse::<rust_decimal::Decimal>().unwrap()
        * rust_decimal::Decimal::from(1_000_000))
    .round();
    assert_eq!(rust_decimal::Decimal::from(usage.tokens.input), expected);
    assert!(fetched.usage.iter().all(|u| u.requests.is_none()));
    let cached = fetched
        .usage
        .iter()
        .find(|u| u.model == "gpt-4o-1120")
        .unwrap();
    assert_eq!(cached.tokens.input, cached.tokens.cache_read);
    let ptu = fetched
        .usage
        .iter()
        .find(|u| u.model == "provisioned-managed")
        .unwrap();
    assert_eq!(ptu.unit.as_str(), "hours");
    assert!(ptu.tokens.is_zero() && !ptu.quantity.is_zero());

    // One token for the whole fetch, several pages a month, no retries.
    assert_eq!(fake.truth().tokens_issued(), 1);
    assert!(stats.snapshot().pages > 2, "{:?}", stats.snapshot());
    assert_eq!(stats.snapshot().retries, 0);
    let bodies: Vec<serde_json::Value> = fake
        .log()
        .requests_to("/providers/Microsoft.CostManagement/query")
        .iter()
        .map(|r| serde_json::from_str(&r.body).unwrap())
        .collect();
    assert_eq!(bodies[0]["timePeriod"]["to"], "2025-12-31T23:59:59Z");
    assert_eq!(bodies[0]["type"], "AmortizedCost");
    // Token requests never leave the secret in the fake's log.
    assert!(
        fake.log()
            .requests()
            .iter()
            .all(|r| !r.body.contains(fake.admin_key()))
    );
}

#[tokio::test]
async fn a_eur_billed_subscription_keeps_each_amount_in_eur_beside_the_cost_usd_column() {
    let fake = spawn().await;
    let window = range("2026-01-01", "2026-01-31");
    let fetched = fetch(&fake, EUR_SUBSCRIPTION, window).await.0.unwrap();
    assert_eq!(
        fetched_nanos(&fetched),
        truth_nanos(&fake, EUR_SUBSCRIPTION, None, window)
    );
    let rows = fake.truth().rows(
        EUR_SUBSCRIPTION,
        None,
        window.from().date(),
        window.to().date(),
    );
    let first = &rows[0];
    assert_ne!(first.cost, first.cost_usd);
    let line = fetched
        .costs
        .iter()
        .find(|c| c.day.date() == first.date && c.description.starts_with(&first.meter))
        .unwrap();
    assert_eq!(line.description, first.meter);
    assert_eq!(line.currency.as_str(), "USD");
    assert_eq!(
        line.billing,
        Some(Billed {
            currency: Currency::parse("EUR").unwrap(),
            cost: Money::parse_units(&first.cost).unwrap(),
            credits: Money::ZERO,
        })
    );
    // Every line: EUR as Cost Management's Cost column says, USD as its CostUSD column says.
    let eur_truth: BTreeMap<(time::Date, String, String), i64> = rows
        .iter()
        .map(|row| {
            assert_eq!(row.currency, "EUR");
            (
                (row.date, row.account.clone(), row.meter.clone()),
                nanos_of_dollars(&row.cost),
            )
        })
        .collect();
    let eur_fetched: BTreeMap<(time::Date, String, String), i64> = fetched
        .costs
        .iter()
        .map(|cost| {
            let billing = cost.billing.as_ref().unwrap();
            assert_eq!(billing.currency.as_str(), "EUR");
            assert!(billing.credits.is_zero());
            (
                (
                    cost.day.date(),
                    cost.workspace_id.clone().unwrap(),
                    cost.description.clone(),
                ),
                billing.cost.nanos(),
            )
        })
        .collect();
    assert_eq!(eur_fetched, eur_truth);
    let eur: i64 = eur_truth.values().sum();
    let usd: i64 = fetched.costs.iter().map(|c| c.cost.nanos()).sum();
    assert!(
        eur > 0 && usd > eur,
        "1.0842 USD per EUR: {eur} EUR, {usd} USD"
    );
    assert!(
        fetched
            .notes
            .iter()
            .any(|n| n.contains("billed in EUR") && n.contains("CostUSD"))
    );
    // Two queries: Cost + quantity, then CostUSD for the same grouping.
    let bodies = fake
        .log()
        .requests_to("/providers/Microsoft.CostManagement/query");
    let usd = bodies
        .iter()
        .filter(|r| r.body.contains("\"CostUSD\""))
        .count();
    assert!(usd >= 1 && usd < bodies.len(), "{bodies:?}");
    assert!(!bodies[0].body.contains("\"CostUSD\""));
}

#[tokio::test]
async fn a_resource_group_reads_only_its_accounts() {
    let fake = spawn().await;
    let window = range("2026-01-01", "2026-01-31");
    let credential = credential_for(fake.admin_key(), USD_SUBSCRIPTION, Some("rg-research"));
    let fetched = fetch_as(&fake, &credential, window).await.0.unwrap();
    assert_eq!(fetched.workspaces.len(), 1);
    assert_eq!(fetched.workspaces[0].name, "aoai-research");
    assert_eq!(
        fetched_nanos(&fetched),
        truth_nanos(&fake, USD_SUBSCRIPTION, Some("rg-research"), window)
    );
}

#[tokio::test]
async fn a_scope_without_cognitive_services_spend_is_an_honest_empty_result() {
    let fake = spawn().await;
    let fetched = fetch(&fake, EMPTY_SUBSCRIPTION, two_months())
        .await
        .0
        .unwrap();
    assert!(fetched.costs.is_empty() && fetched.usage.is_empty() && fetched.workspaces.is_empty());
    assert!(
        fetched
            .notes
            .iter()
            .any(|n| n.contains("No Cognitive Services")),
        "{:?}",
        fetched.notes
    );
}

#[tokio::test]
async fn a_missing_role_says_which_role_to_assign_where() {
    let fake = spawn().await;
    let err = fetch(&fake, NO_ROLE_SUBSCRIPTION, two_months())
        .await
        .0
        .unwrap_err();
    assert!(err.is_credential_rejected(), "{err}");
    let text = err.to_string();
    assert!(text.contains("Cost Management Reader"), "{text}");
    assert!(text.contains(NO_ROLE_SUBSCRIPTION), "{text}");
}

#[tokio::test]
async fn a_refused_secret_says_paste_the_value_not_the_id_and_never_shows_it() {
    let fake = spawn().await;
    let wrong = "Wr0ng8Q~aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    let credential = credential_for(wrong, USD_SUBSCRIPTION, None);
    let err = fetch_as(&fake, &credential, two_months())
        .await
        .0
        .unwrap_err();
    assert!(err.is_credential_rejected(), "{err}");
    let text = err.to_string();
    assert!(text.contains("AADSTS7000215"), "{text}");
    assert!(text.contains("not its Secret ID"), "{text}");
    assert!(
        !text.contains(wrong) && !text.contains(fake.admin_key()),
        "{text}"
    );
    // Revoked: the real secret no longer works either.
    fake.set_revoked(true);
    let err = fetch(&fake, USD_SUBSCRIPTION, two_months())
        .await
        .0
        .unwrap_err();
    assert!(err.is_credential_rejected(), "{err}");
    assert!(err.to_string().contains("create a new one"), "{err}");
}

#[tokio::test]
async fn an_unknown_tenant_or_app_is_named() {
    let fake = spawn().await;
    let json = serde_json::json!({
        "tenantId": "99999999-2222-3333-4444-555555555555", "clientId": CLIENT_ID,
        "clientSecret": fake.admin_key(), "subscriptionId": USD_SUBSCRIPTION,
    });
    let credential = Credential::parse(ProviderKind::AzureOpenAi, &json.to_string()).unwrap();
    let err = fetch_as(&fake, &credential, two_months())
        .await
        .0
        .unwrap_err();
    assert!(err.to_string().contains("was not found"), "{err}");
}

#[tokio::test]
async fn a_token_that_expires_mid_sync_is_fetched_again_once() {
    let fake = AzureFake::builder()
        .seed(11)
        .page_size(10)
        .build()
        .spawn()
        .await
        .unwrap();
    fake.faults()
        .add(FaultRule::new(Fault::Delay(Duration::from_millis(400))).on_page(2));
    let credential = credential_for(fake.admin_key(), USD_SUBSCRIPTION, None);
    let config = config(fake.base_url());
    let window = range("2026-01-01", "2026-01-31");
    let task = tokio::spawn(async move {
        let stats = CallStats::new();
        fetch_window(&credential, &config, window, &stats).await
    });
    // Expire the first token once it is issued (waiting on the fake, not on a fixed sleep: a
    // loaded machine may take longer than any sleep to get there); page 2 is held 400 ms, so
    // the fetch is still running.
    let waited = std::time::Instant::now();
    while fake.truth().tokens_issued() == 0 {
        assert!(
            waited.elapsed() < Duration::from_secs(20),
            "no token was ever fetched"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    fake.truth().expire_tokens();
    let fetched = task.await.unwrap().unwrap();
    assert_eq!(fake.truth().tokens_issued(), 2);
    assert_eq!(
        fetched_nanos(&fetched),
        truth_nanos(&fake, USD_SUBSCRIPTION, None, window)
    );
}

#[tokio::test]
async fn a_429_is_waited_out_and_a_storm_gives_up_with_a_clear_error() {
    let fake = spawn().await;
    fake.faults().add(
        FaultRule::new(Fault::RateLimited {
            retry_after_secs: 30,
        })
        .times(2),
    );
    let window = range("2026-01-01", "2026-01-31");
    let (result, stats) = fetch(&fake, USD_SUBSCRIPTION, window).await;
    assert_eq!(
        fetched_nanos(&result.unwrap()),
        truth_nanos(&fake, USD_SUBSCRIPTION, None, window)
    );
    assert_eq!(stats.snapshot().retries, 2);

    fake.faults().add(
        FaultRule::new(Fault::RateLimited {
            retry_after_secs: 30,
        })
        .times(u32::MAX),
    );
    let err = fetch(&fake, USD_SUBSCRIPTION, window).await.0.unwrap_err();
    assert!(matches!(err, ProviderError::RateLimited { .. }), "{err}");
    assert!(err.is_retryable_later());
}

#[tokio::test]
async fn a_failing_later_page_fails_the_whole_fetch() {
    let fake = spawn().await;
    fake.faults().add(
        FaultRule::new(Fault::ServerError(503))
            .on_page(2)
            .times(u32::MAX),
    );
    let err = fetch(&fake, USD_SUBSCRIPTION, two_months())
        .await
        .0
        .unwrap_err();
    match &err {
        ProviderError::ServerError { status, page, .. } => assert_eq!((*status, *page), (503, 2)),
        other => panic!("{other}"),
    }
}

#[tokio::test]
async fn broken_pages_are_told_apart() {
    let window = range("2026-01-01", "2026-01-31");
    for (fault, check) in [
        (Fault::Malformed, "not valid JSON"),
        (Fault::Truncated, "incomplete page"),
        (Fault::RepeatPage, "points back to a page already read"),
        (Fault::MissingField, "no Cost column"),
    ] {
        let fake = spawn().await;
        fake.faults()
            .add(FaultRule::new(fault.clone()).on_page(2).times(u32::MAX));
        let err = fetch(&fake, USD_SUBSCRIPTION, window).await.0.unwrap_err();
        assert!(err.to_string().contains(check), "{fault:?}: {err}");
    }
}

const TOKEN: &str = r#"{"token_type":"Bearer","expires_in":3599,"access_token":"tok-abc"}"#;

fn canned_credential() -> Credential {
    credential_for(
        "Abc8Q~xyzxyzxyzxyzxyzxyzxyzxyzxyzxyzxyz1",
        USD_SUBSCRIPTION,
        None,
    )
}

async fn canned_fetch(page: &str) -> Result<FetchedWindow, ProviderError> {
    let token_path = format!("/{TENANT_ID}/oauth2/v2.0/token");
    let query_path =
        format!("/subscriptions/{USD_SUBSCRIPTION}/providers/Microsoft.CostManagement/query");
    let server = canned(
        &[(&token_path, 200, TOKEN), (&query_path, 200, page)],
        (404, r#"{"error":{"code":"NotFound","message":"no"}}"#),
        "",
    )
    .await;
    let stats = CallStats::new();
    fetch_window(
        &canned_credential(),
        &config(&server.base_url),
        range("2026-01-01", "2026-01-31"),
        &stats,
    )
    .await
}

#[tokio::test]
async fn new_fields_reordered_columns_and_string_dates_are_read() {
    let page = r#"{"id":"x","type":"microsoft.costmanagement/Query","sku":"new","properties":{"nextLink":null,"newThing":[1],
        "columns":[{"name":"UsageDate","type":"Datetime"},{"name":"Meter","type":"String"},{"name":"ResourceLocation","type":"String"},
                   {"name":"ResourceId","type":"String"},{"name":"UsageQuantity","type":"Number"},{"name":"Cost","type":"Number"},{"name":"Currency","type":"String"}],
        "rows":[["2026-01-05T00:00:00","gpt 4o 0513 Input global Tokens","eastus","/subscriptions/s/resourcegroups/g/providers/microsoft.cognitiveservices/accounts/a",1.5,0.009865586851323632,"USD"],
                ["20260106","Brand New Meter Kind","eastus","/subscriptions/s/resourcegroups/g/providers/microsoft.cognitiveservices/accounts/a",3,"1.25","USD"]]}}"#;
    let fetched = canned_fetch(page).await.unwrap();
    assert_eq!(fetched.costs.len(), 2);
    assert_eq!(fetched.costs[0].cost.nanos(), 9_865_587);
    assert_eq!(fetched.costs[0].day.to_string(), "2026-01-05");
    assert_eq!(
        fetched.costs[1].model.as_deref(),
        Some("Brand New Meter Kind")
    );
    assert_eq!(fetched.costs[1].cost.nanos(), 1_250_000_000);
}

#[tokio::test]
async fn a_row_sent_twice_or_a_link_to_another_host_stops_the_fetch() {
    let row = r#"[0.5,1,"/subscriptions/s/resourcegroups/g/providers/microsoft.cognitiveservices/accounts/a","m Tokens",20260105,"USD"]"#;
    let columns = r#"[{"name":"Cost"},{"name":"UsageQuantity"},{"name":"ResourceId"},{"name":"Meter"},{"name":"UsageDate"},{"name":"Currency"}]"#;
    let page = format!(r#"{{"properties":{{"columns":{columns},"rows":[{row},{row}]}}}}"#);
    let err = canned_fetch(&page).await.unwrap_err();
    assert!(
        matches!(err, ProviderError::DuplicateBucket { .. }),
        "{err}"
    );

    let page = format!(
        r#"{{"properties":{{"nextLink":"https://evil.example/subscriptions/s/providers/Microsoft.CostManagement/query?$skiptoken=1","columns":{columns},"rows":[{row}]}}}}"#
    );
    let err = canned_fetch(&page).await.unwrap_err();
    assert!(
        err.to_string().contains("another host (evil.example)"),
        "{err}"
    );

    let page = r#"{"properties":{"columns":[{"name":"Cost"},{"name":"UsageQuantity"},{"name":"UsageDate"}],"rows":[[1,2,20260101]]}}"#;
    let err = canned_fetch(page).await.unwrap_err();
    assert!(err.to_string().contains("no ResourceId column"), "{err}");
}

#[tokio::test]
async fn the_connection_check_proves_token_role_and_scope() {
    let fake = spawn().await;
    let stats = CallStats::new();
    let credential = credential_for(fake.admin_key(), USD_SUBSCRIPTION, None);
    let check = check_connection(&credential, &config(fake.base_url()), &stats)
        .await
        .unwrap();
    assert!(
        check.summary.contains(USD_SUBSCRIPTION),
        "{}",
        check.summary
    );
    assert!(
        check.summary.contains("client 666…aaaa"),
        "{}",
        check.summary
    );
    assert!(!check.summary.contains(fake.admin_key()));
    let credential = credential_for(fake.admin_key(), NO_ROLE_SUBSCRIPTION, None);
    let err = check_connection(&credential, &config(fake.base_url()), &stats)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("Cost Management Reader"), "{err}");
}
