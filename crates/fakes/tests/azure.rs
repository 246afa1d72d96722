//! The Azure fake (Entra token endpoint + Cost Management Query API) over HTTP, checked against
//! shared/providers/azure-openai.md rather than against the connector.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers outside #[test] functions: a failing test should stop loudly"
)]

use crate::support;

use serde_json::{Value, json};
use spendlens_fakes::azure::{
    AzureFake, CLIENT_ID, EMPTY_SUBSCRIPTION, EUR_SUBSCRIPTION, NO_ROLE_SUBSCRIPTION,
    RunningAzureFake, TENANT_ID, USD_SUBSCRIPTION,
};
use spendlens_fakes::{Fault, FaultRule};
use support::{Reply, client, scaled_decimal, send};

async fn start() -> RunningAzureFake {
    AzureFake::builder().seed(3).build().spawn().await.unwrap()
}

async fn token_reply(fake: &RunningAzureFake, tenant: &str, secret: &str) -> Reply {
    send(
        client()
            .post(format!("{}/{tenant}/oauth2/v2.0/token", fake.base_url()))
            .form(&[
                ("client_id", CLIENT_ID),
                ("client_secret", secret),
                ("grant_type", "client_credentials"),
                ("scope", "https://management.azure.com/.default"),
            ]),
    )
    .await
}

async fn token(fake: &RunningAzureFake) -> String {
    let reply = token_reply(fake, TENANT_ID, fake.admin_key()).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.json()["access_token"].as_str().unwrap().to_owned()
}

fn month_body(aggregation: Value) -> Value {
    json!({
        "type": "AmortizedCost",
        "timeframe": "Custom",
        "timePeriod": {"from": "2026-01-01T00:00:00Z", "to": "2026-01-31T23:59:59Z"},
        "dataset": {
            "granularity": "Daily",
            "aggregation": aggregation,
            "grouping": [{"type": "Dimension", "name": "ResourceId"}, {"type": "Dimension", "name": "Meter"}],
            "filter": {"dimensions": {"name": "ResourceType", "operator": "In", "values": ["microsoft.cognitiveservices/accounts"]}},
        },
    })
}

fn cost_aggregation() -> Value {
    json!({"totalCost": {"name": "Cost", "function": "Sum"}, "totalQuantity": {"name": "UsageQuantity", "function": "Sum"}})
}

async fn query_url(url: &str, token: &str, body: &Value) -> Reply {
    send(client().post(url).bearer_auth(token).json(body)).await
}

fn first_url(fake: &RunningAzureFake, subscription: &str) -> String {
    format!(
        "{}/subscriptions/{subscription}/providers/Microsoft.CostManagement/query?api-version=2025-03-01",
        fake.base_url()
    )
}

/// Every page of a query, following nextLink verbatim.
async fn all_rows(
    fake: &RunningAzureFake,
    subscription: &str,
    body: &Value,
) -> (Vec<Value>, Vec<Value>, u32) {
    let token = token(fake).await;
    let mut url = first_url(fake, subscription);
    let mut rows = Vec::new();
    let mut pages = 0;
    loop {
        let reply = query_url(&url, &token, body).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        pages += 1;
        let page = reply.json();
        rows.extend(
            page["properties"]["rows"]
                .as_array()
                .unwrap()
                .iter()
                .cloned(),
        );
        let columns = page["properties"]["columns"].as_array().unwrap().clone();
        match page["properties"]["nextLink"].as_str() {
            Some(next) => {
                assert!(
                    next.contains("$skiptoken=") && next.contains("api-version=2023-11-01"),
                    "{next}"
                );
                url = next.to_owned();
            }
            None => return (columns, rows, pages),
        }
    }
}

#[tokio::test]
async fn the_token_endpoint_speaks_entra_s_client_credentials_grant() {
    let fake = start().await;
    let ok = token_reply(&fake, TENANT_ID, fake.admin_key()).await.json();
    assert_eq!(ok["token_type"], "Bearer");
    assert_eq!(ok["expires_in"], 3599);
    let wrong = token_reply(&fake, TENANT_ID, "nope8Q~wrong").await;
    assert_eq!(wrong.status, 401);
    assert_eq!(wrong.json()["error"], "invalid_client");
    assert!(
        wrong.json()["error_description"]
            .as_str()
            .unwrap()
            .starts_with("AADSTS7000215:")
    );
    assert!(
        wrong.json()["error_description"]
            .as_str()
            .unwrap()
            .contains("not the client secret ID")
    );
    let tenant = token_reply(
        &fake,
        "99999999-0000-0000-0000-000000000000",
        fake.admin_key(),
    )
    .await;
    assert_eq!(
        (tenant.status, tenant.json()["error_codes"][0].as_u64()),
        (400, Some(90002))
    );
    fake.set_revoked(true);
    assert_eq!(
        token_reply(&fake, TENANT_ID, fake.admin_key()).await.status,
        401
    );
}

#[tokio::test]
async fn pages_follow_next_link_and_hold_exactly_the_truth() {
    let fake = start().await;
    let (columns, rows, pages) =
        all_rows(&fake, USD_SUBSCRIPTION, &month_body(cost_aggregation())).await;
    assert!(pages > 1);
    let names: Vec<&str> = columns
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "Cost",
            "UsageQuantity",
            "ResourceId",
            "Meter",
            "UsageDate",
            "Currency"
        ]
    );
    let truth = fake.truth().rows(
        USD_SUBSCRIPTION,
        None,
        time::macros::date!(2026 - 01 - 01),
        time::macros::date!(2026 - 01 - 31),
    );
    assert_eq!(rows.len(), truth.len());
    // Costs are exact to 15 decimals: compare in femto-units, summed.
    let served: u128 = rows
        .iter()
        .map(|r| scaled_decimal(&r[0].to_string(), 15))
        .sum();
    let expected: u128 = truth.iter().map(|r| scaled_decimal(&r.cost, 15)).sum();
    assert_eq!(served, expected);
    // UsageDate is a yyyymmdd number; one account comes back in two casings; no SaaS row.
    assert!(rows.iter().all(|r| {
        r[4].as_u64()
            .is_some_and(|d| (20260101..=20260131).contains(&d))
    }));
    assert!(
        rows.iter()
            .any(|r| r[2].as_str().unwrap().contains("RG-AI-PROD"))
    );
    assert!(
        !rows
            .iter()
            .any(|r| r[2].as_str().unwrap().contains("microsoft.saas"))
    );
}

#[tokio::test]
async fn without_the_resource_type_filter_marketplace_rows_appear() {
    let fake = start().await;
    let mut body = month_body(cost_aggregation());
    body["dataset"].as_object_mut().unwrap().remove("filter");
    let (_, rows, _) = all_rows(&fake, USD_SUBSCRIPTION, &body).await;
    assert!(rows.iter().any(|r| r[3] == "paygo-inference-input-tokens"));
}

#[tokio::test]
async fn a_eur_subscription_has_cost_usd_at_the_documented_rate() {
    let fake = start().await;
    let (_, eur, _) = all_rows(&fake, EUR_SUBSCRIPTION, &month_body(cost_aggregation())).await;
    assert!(eur.iter().all(|r| r[5] == "EUR"));
    let usd_body = month_body(json!({"totalCostUSD": {"name": "CostUSD", "function": "Sum"}}));
    let (columns, usd, _) = all_rows(&fake, EUR_SUBSCRIPTION, &usd_body).await;
    assert_eq!(columns[0]["name"], "CostUSD");
    assert_eq!(eur.len(), usd.len());
    for (e, u) in eur.iter().zip(&usd) {
        let e = scaled_decimal(&e[0].to_string(), 15);
        let u = scaled_decimal(&u[0].to_string(), 15);
        assert_eq!(u, e * 10_842 / 10_000);
    }
}

#[tokio::test]
async fn scopes_answer_204_403_and_404_as_documented() {
    let fake = start().await;
    let token = token(&fake).await;
    let body = month_body(cost_aggregation());
    let empty = query_url(&first_url(&fake, EMPTY_SUBSCRIPTION), &token, &body).await;
    assert_eq!((empty.status, empty.body.as_str()), (204, ""));
    let denied = query_url(&first_url(&fake, NO_ROLE_SUBSCRIPTION), &token, &body).await;
    assert_eq!(
        (denied.status, denied.json()["error"]["code"].clone()),
        (403, json!("AuthorizationFailed"))
    );
    let unknown = query_url(
        &first_url(&fake, "12345678-0000-0000-0000-000000000000"),
        &token,
        &body,
    )
    .await;
    assert_eq!(unknown.json()["error"]["code"], "SubscriptionNotFound");
    let no_token = send(
        client()
            .post(first_url(&fake, USD_SUBSCRIPTION))
            .json(&body),
    )
    .await;
    assert_eq!(no_token.status, 401);
    fake.truth().expire_tokens();
    let expired = query_url(&first_url(&fake, USD_SUBSCRIPTION), &token, &body).await;
    assert_eq!(
        expired.json()["error"]["code"],
        "ExpiredAuthenticationToken"
    );
}

#[tokio::test]
async fn invalid_bodies_get_the_service_s_bad_request() {
    let fake = start().await;
    let token = token(&fake).await;
    let mut singular = month_body(cost_aggregation());
    singular["dataset"]["filter"] =
        json!({"dimension": {"name": "ResourceType", "operator": "In", "values": ["x"]}});
    let mut three = month_body(cost_aggregation());
    three["dataset"]["grouping"] = json!([{"type":"Dimension","name":"A"},{"type":"Dimension","name":"B"},{"type":"Dimension","name":"C"}]);
    let mut lonely_and = month_body(cost_aggregation());
    lonely_and["dataset"]["filter"] = json!({"and": [{"dimensions": {"name": "ResourceType", "operator": "In", "values": ["x"]}}]});
    let mut no_period = month_body(cost_aggregation());
    no_period.as_object_mut().unwrap().remove("timePeriod");
    for body in [singular, three, lonely_and, no_period] {
        let reply = query_url(&first_url(&fake, USD_SUBSCRIPTION), &token, &body).await;
        assert_eq!(
            (reply.status, reply.json()["error"]["code"].clone()),
            (400, json!("BadRequest")),
            "{body}"
        );
    }
}

#[tokio::test]
async fn a_429_carries_cost_management_s_wait_header_longer_than_retry_after() {
    let fake = start().await;
    fake.faults().add(FaultRule::new(Fault::RateLimited {
        retry_after_secs: 20,
    }));
    let token = token(&fake).await;
    let reply = query_url(
        &first_url(&fake, USD_SUBSCRIPTION),
        &token,
        &month_body(cost_aggregation()),
    )
    .await;
    assert_eq!(reply.status, 429);
    assert_eq!(
        reply.headers["x-ms-ratelimit-microsoft.costmanagement-qpu-retry-after"],
        "20"
    );
    assert_eq!(reply.headers["retry-after"], "1");
    assert_eq!(reply.json()["error"]["code"], "429");
}
