//! The Cost Explorer (Bedrock) fake over HTTP: hand-signed JSON 1.1 requests shaped as
//! `aws-bedrock.md` §3 shows, and the real AWS SDK pointed at the fake's endpoint.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers outside #[test] functions: a failing test should stop loudly"
)]

use crate::support;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use ring::{digest, hmac};
use serde_json::{Value, json};
use spendlens_fakes::bedrock::{BedrockFake, CostExplorerState, RunningBedrockFake};
use spendlens_fakes::{Fault, FaultRule};
use support::{Reply, client, send};
use time::Date;
use time::macros::date;

const TODAY: Date = date!(2025 - 06 - 30);
const COST: &str = "AWSInsightsIndexService.GetCostAndUsage";
const DIMENSIONS: &str = "AWSInsightsIndexService.GetDimensionValues";

async fn start(seed: u64) -> RunningBedrockFake {
    BedrockFake::builder()
        .seed(seed)
        .today(TODAY)
        .days(120)
        .build()
        .spawn()
        .await
        .expect("spawn")
}

// ---------------------------------------------------------------------------------------------
// A small SigV4 signer, written from AWS's description (the fake's own is checked against the
// real SDK below).

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn hmac256(key: &[u8], data: &str) -> Vec<u8> {
    hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), data.as_bytes())
        .as_ref()
        .to_vec()
}

#[derive(Clone)]
struct Signer {
    access_key_id: String,
    secret: String,
    region: String,
    service: String,
}

impl Signer {
    fn of(fake: &RunningBedrockFake) -> Self {
        Self {
            access_key_id: fake.access_key_id().to_owned(),
            secret: fake.secret_access_key().to_owned(),
            region: "us-east-1".to_owned(),
            service: "ce".to_owned(),
        }
    }

    /// `Authorization` for a POST / with these (lowercase, sorted) signed headers.
    fn authorization(&self, headers: &[(&str, String)], body: &[u8], amz_date: &str) -> String {
        let canonical_headers: String = headers
            .iter()
            .map(|(k, v)| format!("{k}:{}\n", v.trim()))
            .collect();
        let signed: Vec<&str> = headers.iter().map(|(k, _)| *k).collect();
        let signed = signed.join(";");
        let payload = hex(digest::digest(&digest::SHA256, body).as_ref());
        let canonical = format!("POST\n/\n\n{canonical_headers}\n{signed}\n{payload}");
        let date = &amz_date[..8];
        let scope = format!("{date}/{}/{}/aws4_request", self.region, self.service);
        let to_sign = format!(
            "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
            hex(digest::digest(&digest::SHA256, canonical.as_bytes()).as_ref())
        );
        let mut key = hmac256(format!("AWS4{}", self.secret).as_bytes(), date);
        for part in [self.region.as_str(), self.service.as_str(), "aws4_request"] {
            key = hmac256(&key, part);
        }
        let signature = hex(&hmac256(&key, &to_sign));
        format!(
            "AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders={signed}, Signature={signature}",
            self.access_key_id
        )
    }
}

const AMZ_DATE: &str = "20250102T000000Z";

/// A signed JSON 1.1 call, as the SDK sends it (doc §3).
async fn call_as(fake: &RunningBedrockFake, signer: &Signer, target: &str, body: &Value) -> Reply {
    let body = serde_json::to_vec(body).unwrap();
    let host = fake.addr().to_string();
    let headers = [
        ("content-type", "application/x-amz-json-1.1".to_owned()),
        ("host", host),
        ("x-amz-date", AMZ_DATE.to_owned()),
        ("x-amz-target", target.to_owned()),
    ];
    let authorization = signer.authorization(&headers, &body, AMZ_DATE);
    send(
        client()
            .post(format!("{}/", fake.endpoint_url()))
            .header("content-type", "application/x-amz-json-1.1")
            .header("x-amz-date", AMZ_DATE)
            .header("x-amz-target", target)
            .header("authorization", authorization)
            .body(body),
    )
    .await
}

async fn call(fake: &RunningBedrockFake, target: &str, body: &Value) -> Reply {
    call_as(fake, &Signer::of(fake), target, body).await
}

fn error_type(reply: &Reply) -> String {
    assert_eq!(reply.status, 400, "{}", reply.body);
    assert_eq!(
        reply.headers["content-type"], "application/x-amz-json-1.1",
        "{}",
        reply.body
    );
    let body = reply.json();
    assert!(body["Message"].is_string(), "{}", reply.body);
    body["__type"].as_str().unwrap().to_owned()
}

/// An `Amount` string in nano-dollars (or micro-units with `scale` 6), exponent form accepted.
fn scaled(text: &str, scale: u32) -> i128 {
    let (mantissa, exponent) = match text.split_once('E') {
        Some((m, e)) => (m, e.parse::<i64>().unwrap()),
        None => (text, 0),
    };
    let negative = mantissa.starts_with('-');
    let mantissa = mantissa.trim_start_matches('-');
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits: i128 = format!("{whole}{fraction}").parse().unwrap();
    let shift = i64::from(scale) - fraction.len() as i64 + exponent;
    assert!(shift >= 0, "more precision than expected: {text}");
    let value = digits * 10i128.pow(shift as u32);
    if negative { -value } else { value }
}

fn nanos(text: &str) -> i128 {
    scaled(text, 9)
}

fn day(text: &str) -> Date {
    Date::parse(
        text,
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .unwrap()
}

fn period(from: Date, to_exclusive: Date) -> Value {
    json!({"Start": from.to_string(), "End": to_exclusive.to_string()})
}

/// Every page of a GetCostAndUsage query; the bodies.
async fn all_pages(fake: &RunningBedrockFake, body: &Value) -> Vec<Value> {
    let mut pages = Vec::new();
    let mut token: Option<String> = None;
    for _ in 0..100 {
        let mut request = body.clone();
        if let Some(t) = &token {
            request["NextPageToken"] = json!(t);
        }
        let reply = call(fake, COST, &request).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        let page = reply.json();
        token = page["NextPageToken"].as_str().map(str::to_owned);
        pages.push(page);
        if token.is_none() {
            return pages;
        }
    }
    panic!("the pages never ended");
}

fn bedrock_filter(services: &[String]) -> Value {
    json!({"Dimensions": {"Key": "SERVICE", "Values": services}})
}

async fn bedrock_services(
    fake: &RunningBedrockFake,
    from: Date,
    to_exclusive: Date,
) -> Vec<String> {
    let reply = call(
        fake,
        DIMENSIONS,
        &json!({"TimePeriod": period(from, to_exclusive), "Dimension": "SERVICE",
                "SearchString": "Bedrock"}),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.json()["DimensionValues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["Value"].as_str().unwrap().to_owned())
        .collect()
}

// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_signed_request_gets_the_documented_response_shape() {
    let fake = start(7).await;
    let body = json!({"TimePeriod": period(date!(2025 - 06 - 27), date!(2025 - 07 - 01)),
                      "Granularity": "DAILY", "Metrics": ["UnblendedCost", "UsageQuantity"],
                      "GroupBy": [{"Type": "DIMENSION", "Key": "SERVICE"},
                                  {"Type": "DIMENSION", "Key": "USAGE_TYPE"}]});
    let reply = call(&fake, COST, &body).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.headers["content-type"], "application/x-amz-json-1.1");
    assert!(reply.headers.contains_key("x-amzn-requestid"));
    let page = reply.json();
    assert_eq!(page["GroupDefinitions"], body["GroupBy"]);
    assert_eq!(page["DimensionValueAttributes"], json!([]));
    assert!(page.get("NextPageToken").is_none());
    let results = page["ResultsByTime"].as_array().unwrap();
    assert_eq!(results.len(), 4);
    let estimated: Vec<bool> = results
        .iter()
        .map(|r| r["Estimated"].as_bool().unwrap())
        .collect();
    assert_eq!(estimated, [false, true, true, true]);
    assert_eq!(fake.truth().first_estimated_day(), date!(2025 - 06 - 28));
    for r in results {
        assert_eq!(r["Total"], json!({}));
        for g in r["Groups"].as_array().unwrap() {
            assert_eq!(g["Keys"].as_array().unwrap().len(), 2);
            let cost = &g["Metrics"]["UnblendedCost"];
            assert!(cost["Amount"].is_string());
            assert_eq!(cost["Unit"], "USD");
            assert_eq!(g["Metrics"]["UsageQuantity"]["Unit"], "N/A");
        }
    }
    let keys: BTreeSet<String> = results[0]["Groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["Keys"][0].as_str().unwrap().to_owned())
        .collect();
    assert!(keys.contains("Amazon Bedrock"));
    assert!(keys.contains("Claude Sonnet 4.5 (Amazon Bedrock Edition)"));
    assert!(keys.contains("Amazon Elastic Compute Cloud - Compute"));

    // Without GroupBy: Total carries the metrics, Groups is empty.
    let plain = json!({"TimePeriod": period(date!(2025 - 06 - 01), date!(2025 - 06 - 02)),
                       "Granularity": "DAILY", "Metrics": ["UnblendedCost"]});
    let page = call(&fake, COST, &plain).await.json();
    let r = &page["ResultsByTime"][0];
    assert_eq!(r["Groups"], json!([]));
    let all = fake
        .truth()
        .unblended_by(date!(2025 - 06 - 01), date!(2025 - 06 - 01), |_| Some(()));
    assert_eq!(
        nanos(r["Total"]["UnblendedCost"]["Amount"].as_str().unwrap()),
        nanos(&all[&()])
    );
    assert!(page.get("GroupDefinitions").is_none());
}

#[tokio::test]
async fn auth_outcomes_follow_the_documented_error_codes() {
    let fake = BedrockFake::builder()
        .seed(3)
        .today(TODAY)
        .days(30)
        .build()
        .spawn()
        .await
        .unwrap();
    let body = json!({"TimePeriod": period(date!(2025 - 06 - 01), date!(2025 - 06 - 02)),
                      "Granularity": "DAILY", "Metrics": ["UnblendedCost"]});
    assert!(fake.access_key_id().starts_with("AKIA") && fake.access_key_id().len() == 20);
    assert_eq!(fake.admin_key(), fake.access_key_id());
    assert_eq!(call(&fake, COST, &body).await.status, 200);

    // No Authorization header.
    let reply = send(
        client()
            .post(fake.endpoint_url())
            .header("content-type", "application/x-amz-json-1.1")
            .header("x-amz-target", COST)
            .body(body.to_string()),
    )
    .await;
    assert_eq!(error_type(&reply), "MissingAuthenticationTokenException");

    // A header that is not SigV4.
    let reply = send(
        client()
            .post(fake.endpoint_url())
            .header("content-type", "application/x-amz-json-1.1")
            .header("x-amz-target", COST)
            .header("x-amz-date", AMZ_DATE)
            .header("authorization", "AWS4-HMAC-SHA256 Credential=AKIDONLY")
            .body(body.to_string()),
    )
    .await;
    assert_eq!(error_type(&reply), "IncompleteSignatureException");

    let good = Signer::of(&fake);
    let unknown = Signer {
        access_key_id: "AKIAUNKNOWNUNKNOWN00".into(),
        ..good.clone()
    };
    assert_eq!(
        error_type(&call_as(&fake, &unknown, COST, &body).await),
        "UnrecognizedClientException"
    );
    let wrong_secret = Signer {
        secret: "not-the-secret".into(),
        ..good.clone()
    };
    assert_eq!(
        error_type(&call_as(&fake, &wrong_secret, COST, &body).await),
        "InvalidSignatureException"
    );
    let wrong_service = Signer {
        service: "s3".into(),
        ..good.clone()
    };
    let reply = call_as(&fake, &wrong_service, COST, &body).await;
    assert_eq!(error_type(&reply), "InvalidSignatureException");
    assert!(reply.json()["Message"].as_str().unwrap().contains("'ce'"));
    let wrong_region = Signer {
        region: "eu-west-1".into(),
        ..good.clone()
    };
    assert_eq!(
        error_type(&call_as(&fake, &wrong_region, COST, &body).await),
        "InvalidSignatureException"
    );

    let no_permission = Signer {
        access_key_id: fake.no_permission_access_key_id().into(),
        secret: fake.no_permission_secret_access_key().into(),
        ..good.clone()
    };
    let reply = call_as(&fake, &no_permission, COST, &body).await;
    assert_eq!(error_type(&reply), "AccessDeniedException");
    assert!(
        reply.json()["Message"]
            .as_str()
            .unwrap()
            .contains("ce:GetCostAndUsage")
    );

    // A tampered body no longer matches its signature.
    let signed_for = serde_json::to_vec(&body).unwrap();
    let headers = [
        ("content-type", "application/x-amz-json-1.1".to_owned()),
        ("host", fake.addr().to_string()),
        ("x-amz-date", AMZ_DATE.to_owned()),
        ("x-amz-target", COST.to_owned()),
    ];
    let authorization = good.authorization(&headers, &signed_for, AMZ_DATE);
    let mut tampered = body.clone();
    tampered["Granularity"] = json!("MONTHLY");
    let reply = send(
        client()
            .post(fake.endpoint_url())
            .header("content-type", "application/x-amz-json-1.1")
            .header("x-amz-date", AMZ_DATE)
            .header("x-amz-target", COST)
            .header("authorization", authorization)
            .body(tampered.to_string()),
    )
    .await;
    assert_eq!(error_type(&reply), "InvalidSignatureException");

    fake.set_revoked(true);
    assert_eq!(
        error_type(&call(&fake, COST, &body).await),
        "UnrecognizedClientException"
    );
    fake.set_revoked(false);
    assert_eq!(call(&fake, COST, &body).await.status, 200);
}

#[tokio::test]
async fn cost_explorer_not_enabled_is_a_scenario_of_its_own() {
    for (state, expected) in [
        (
            CostExplorerState::NotEnabledDataUnavailable,
            "DataUnavailableException",
        ),
        (
            CostExplorerState::NotEnabledAccessDenied,
            "AccessDeniedException",
        ),
    ] {
        let fake = BedrockFake::builder()
            .today(TODAY)
            .cost_explorer(state)
            .build()
            .spawn()
            .await
            .unwrap();
        let body = json!({"TimePeriod": period(date!(2025 - 06 - 01), date!(2025 - 06 - 02)),
                          "Dimension": "SERVICE"});
        assert_eq!(error_type(&call(&fake, DIMENSIONS, &body).await), expected);
    }
}

#[tokio::test]
async fn invalid_requests_are_validation_errors() {
    let fake = start(1).await;
    let base = json!({"TimePeriod": period(date!(2025 - 06 - 01), date!(2025 - 06 - 08)),
                      "Granularity": "DAILY", "Metrics": ["UnblendedCost"]});
    let with = |key: &str, value: Value| {
        let mut b = base.clone();
        b[key] = value;
        b
    };
    let svc = json!({"Dimensions": {"Key": "SERVICE", "Values": ["Amazon Bedrock"]}});
    let invalid = [
        with(
            "TimePeriod",
            json!({"Start": "2025-06-08", "End": "2025-06-01"}),
        ),
        with("TimePeriod", json!({"Start": "2025-06-01"})),
        with(
            "TimePeriod",
            json!({"Start": "June 1", "End": "2025-06-08"}),
        ),
        with(
            "TimePeriod",
            json!({"Start": "2025-07-01", "End": "2025-07-02"}),
        ),
        with("Granularity", json!("WEEKLY")),
        with("Metrics", json!(["Cost"])),
        with(
            "GroupBy",
            json!([{"Type":"DIMENSION","Key":"SERVICE"},{"Type":"DIMENSION","Key":"USAGE_TYPE"},
                   {"Type":"DIMENSION","Key":"RECORD_TYPE"}]),
        ),
        with("Filter", json!({"Not": svc})),
        with(
            "Filter",
            json!({"Or": [svc, {"Dimensions": {"Key": "RECORD_TYPE", "Values": ["Usage"]}}]}),
        ),
        with(
            "Filter",
            json!({"Dimensions": {"Key": "SERVICE", "Values": ["Amazon Bedrock"],
                                  "MatchOptions": ["STARTS_WITH"]}}),
        ),
    ];
    for body in &invalid {
        let reply = call(&fake, COST, body).await;
        assert_eq!(error_type(&reply), "ValidationException", "{body}");
    }
    let mut no_granularity = base.clone();
    no_granularity
        .as_object_mut()
        .unwrap()
        .remove("Granularity");
    assert_eq!(
        error_type(&call(&fake, COST, &no_granularity).await),
        "ValidationException"
    );

    assert_eq!(
        error_type(&call(&fake, "AWSInsightsIndexService.GetCostForecast", &base).await),
        "UnknownOperationException"
    );
    let reply = send(
        client()
            .post(fake.endpoint_url())
            .header("content-type", "application/json")
            .body(base.to_string()),
    )
    .await;
    assert_eq!(error_type(&reply), "MissingAuthenticationTokenException");
}

#[tokio::test]
async fn a_90_day_query_pages_through_every_day_once_and_sums_to_the_truth() {
    let fake = start(11).await;
    let truth = fake.truth();
    let (from, to) = (date!(2025 - 04 - 02), date!(2025 - 06 - 30));
    let to_exclusive = date!(2025 - 07 - 01);
    let services = bedrock_services(&fake, from, to_exclusive).await;
    assert_eq!(services, truth.bedrock_services(from, to));
    assert!(services.contains(&"Amazon Bedrock".to_owned()));
    assert!(
        services
            .iter()
            .any(|s| s.ends_with("(Amazon Bedrock Edition)"))
    );
    assert!(!services.iter().any(|s| s.contains("Elastic Compute")));

    let body = json!({"TimePeriod": period(from, to_exclusive), "Granularity": "DAILY",
                      "Metrics": ["UnblendedCost", "UsageQuantity"],
                      "Filter": bedrock_filter(&services),
                      "GroupBy": [{"Type": "DIMENSION", "Key": "SERVICE"},
                                  {"Type": "DIMENSION", "Key": "USAGE_TYPE"}]});
    let pages = all_pages(&fake, &body).await;
    assert!(pages.len() >= 3, "only {} pages", pages.len());
    let mut days = Vec::new();
    let mut sums: BTreeMap<(Date, String, String), i128> = BTreeMap::new();
    let mut exponent_forms = 0;
    for page in &pages {
        for r in page["ResultsByTime"].as_array().unwrap() {
            let d = day(r["TimePeriod"]["Start"].as_str().unwrap());
            assert_eq!(
                day(r["TimePeriod"]["End"].as_str().unwrap()),
                d.next_day().unwrap()
            );
            days.push(d);
            for g in r["Groups"].as_array().unwrap() {
                let amount = g["Metrics"]["UnblendedCost"]["Amount"].as_str().unwrap();
                exponent_forms += usize::from(amount.contains('E'));
                let key = (
                    d,
                    g["Keys"][0].as_str().unwrap().to_owned(),
                    g["Keys"][1].as_str().unwrap().to_owned(),
                );
                *sums.entry(key).or_default() += nanos(amount);
            }
        }
    }
    let expected_days: Vec<Date> = (0..90).map(|i| from + time::Duration::days(i)).collect();
    assert_eq!(days, expected_days, "each day exactly once, in order");
    assert!(exponent_forms > 0, "some amount comes in exponent form");
    let expected: BTreeMap<(Date, String, String), i128> = truth
        .bedrock_by_day_service_usage_type(from, to)
        .into_iter()
        .map(|(k, v)| (k, nanos(&v)))
        .collect();
    assert_eq!(sums, expected);
    // The same page size is used for every page, and a page holds at most 30 days.
    for page in &pages {
        assert!(page["ResultsByTime"].as_array().unwrap().len() <= 30);
    }
}

#[tokio::test]
async fn tokens_are_bound_to_the_request_that_produced_them() {
    let fake = start(2).await;
    let body = json!({"TimePeriod": period(date!(2025 - 04 - 01), date!(2025 - 06 - 30)),
                      "Granularity": "DAILY", "Metrics": ["UnblendedCost"]});
    let first = call(&fake, COST, &body).await.json();
    let token = first["NextPageToken"]
        .as_str()
        .expect("a second page")
        .to_owned();

    let mut changed = body.clone();
    changed["Metrics"] = json!(["NetUnblendedCost"]);
    changed["NextPageToken"] = json!(token);
    assert_eq!(
        error_type(&call(&fake, COST, &changed).await),
        "RequestChangedException"
    );
    let mut garbage = body.clone();
    garbage["NextPageToken"] = json!("bm90LWEtdG9rZW4=");
    assert_eq!(
        error_type(&call(&fake, COST, &garbage).await),
        "InvalidNextTokenException"
    );
    // Same parameters in another member order: still the same request.
    let reordered = json!({"NextPageToken": token, "Metrics": ["UnblendedCost"],
                           "Granularity": "DAILY",
                           "TimePeriod": {"End": "2025-06-30", "Start": "2025-04-01"}});
    assert_eq!(call(&fake, COST, &reordered).await.status, 200);
}

#[tokio::test]
async fn group_bys_and_filters_sum_to_the_truth() {
    let fake = start(5).await;
    let truth = fake.truth();
    let (from, to) = (date!(2025 - 05 - 01), date!(2025 - 05 - 31));
    let to_exclusive = date!(2025 - 06 - 01);
    let services = bedrock_services(&fake, from, to_exclusive).await;

    // Credits split out: SERVICE × RECORD_TYPE (doc §6 step 3).
    let body = json!({"TimePeriod": period(from, to_exclusive), "Granularity": "DAILY",
                      "Metrics": ["UnblendedCost"], "Filter": bedrock_filter(&services),
                      "GroupBy": [{"Type": "DIMENSION", "Key": "SERVICE"},
                                  {"Type": "DIMENSION", "Key": "RECORD_TYPE"}]});
    let mut by_record: BTreeMap<String, i128> = BTreeMap::new();
    for page in all_pages(&fake, &body).await {
        for r in page["ResultsByTime"].as_array().unwrap() {
            for g in r["Groups"].as_array().unwrap() {
                let amount = nanos(g["Metrics"]["UnblendedCost"]["Amount"].as_str().unwrap());
                *by_record
                    .entry(g["Keys"][1].as_str().unwrap().to_owned())
                    .or_default() += amount;
            }
        }
    }
    let expected: BTreeMap<String, i128> = truth
        .bedrock_by_record_type(from, to)
        .into_iter()
        .map(|(k, v)| (k, nanos(&v)))
        .collect();
    assert_eq!(by_record, expected);
    assert!(by_record["Credit"] < 0, "credits are negative");
    assert!(by_record.contains_key("Refund"));

    // Gross: And(SERVICE, Not RECORD_TYPE in [Credit, Refund]), by LINKED_ACCOUNT, MONTHLY.
    let body = json!({"TimePeriod": period(from, to_exclusive), "Granularity": "MONTHLY",
                      "Metrics": ["UnblendedCost", "NetUnblendedCost"],
                      "Filter": {"And": [bedrock_filter(&services),
                          {"Not": {"Dimensions": {"Key": "RECORD_TYPE",
                                                   "Values": ["Credit", "Refund"]}}}]},
                      "GroupBy": [{"Type": "DIMENSION", "Key": "LINKED_ACCOUNT"}]});
    let page = call(&fake, COST, &body).await.json();
    let results = page["ResultsByTime"].as_array().unwrap();
    assert_eq!(results.len(), 1);
    let accounts = truth.accounts();
    assert_eq!(
        page["DimensionValueAttributes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| (
                a["Value"].as_str().unwrap().to_owned(),
                a["Attributes"]["description"].as_str().unwrap().to_owned()
            ))
            .collect::<BTreeSet<_>>(),
        accounts
            .iter()
            .map(|a| (a.id.clone(), a.name.clone()))
            .collect::<BTreeSet<_>>()
    );
    let got: BTreeMap<String, i128> = results[0]["Groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["Keys"][0].as_str().unwrap().to_owned(),
                nanos(g["Metrics"]["UnblendedCost"]["Amount"].as_str().unwrap()),
            )
        })
        .collect();
    let expected: BTreeMap<String, i128> = truth
        .unblended_by(from, to, |l| {
            (l.is_bedrock && l.record_type == "Usage").then(|| l.account_id.clone())
        })
        .into_iter()
        .map(|(k, v)| (k, nanos(&v)))
        .collect();
    assert_eq!(got, expected);

    // Only Bedrock's own offer: a filter on "Amazon Bedrock" alone misses Marketplace models.
    let body = json!({"TimePeriod": period(from, to_exclusive), "Granularity": "MONTHLY",
                      "Metrics": ["UnblendedCost"],
                      "Filter": bedrock_filter(&["Amazon Bedrock".to_owned()])});
    let page = call(&fake, COST, &body).await.json();
    let first_party = nanos(
        page["ResultsByTime"][0]["Total"]["UnblendedCost"]["Amount"]
            .as_str()
            .unwrap(),
    );
    let expected = truth.unblended_by(from, to, |l| (l.service == "Amazon Bedrock").then_some(()));
    assert_eq!(first_party, nanos(&expected[&()]));
    assert!(first_party < nanos(&truth.bedrock_net_total(from, to)));
}

#[tokio::test]
async fn net_unblended_cost_reflects_a_configured_discount() {
    let fake = BedrockFake::builder()
        .seed(4)
        .today(TODAY)
        .days(10)
        .net_discount_percent(5)
        .build()
        .spawn()
        .await
        .unwrap();
    let truth = fake.truth();
    let body = json!({"TimePeriod": period(date!(2025 - 06 - 21), date!(2025 - 07 - 01)),
                      "Granularity": "MONTHLY", "Metrics": ["UnblendedCost", "NetUnblendedCost"]});
    let page = call(&fake, COST, &body).await.json();
    let total = &page["ResultsByTime"][0]["Total"];
    let (from, to) = (truth.first_day(), truth.last_day());
    let unblended = nanos(&truth.unblended_by(from, to, |_| Some(()))[&()]);
    let net = nanos(&truth.net_unblended_by(from, to, |_| Some(()))[&()]);
    assert!(net < unblended);
    assert_eq!(
        nanos(total["UnblendedCost"]["Amount"].as_str().unwrap()),
        unblended
    );
    assert_eq!(
        nanos(total["NetUnblendedCost"]["Amount"].as_str().unwrap()),
        net
    );
}

#[tokio::test]
async fn dimension_values_find_every_bedrock_service_and_carry_units() {
    let fake = start(8).await;
    let truth = fake.truth();
    let (from, to) = (truth.first_day(), truth.last_day());
    let tp = period(from, to.next_day().unwrap());
    let values = |reply: Reply| -> Vec<(String, Value)> {
        assert_eq!(reply.status, 200, "{}", reply.body);
        let body = reply.json();
        assert_eq!(
            body["ReturnSize"].as_u64().unwrap() as usize,
            body["DimensionValues"].as_array().unwrap().len()
        );
        body["DimensionValues"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| {
                (
                    v["Value"].as_str().unwrap().to_owned(),
                    v["Attributes"].clone(),
                )
            })
            .collect()
    };
    let all = values(
        call(
            &fake,
            DIMENSIONS,
            &json!({"TimePeriod": tp, "Dimension": "SERVICE"}),
        )
        .await,
    );
    let names: Vec<String> = all.iter().map(|(v, _)| v.clone()).collect();
    assert_eq!(names, truth.services(from, to));
    assert!(names.contains(&"Amazon Elastic Compute Cloud - Compute".to_owned()));
    let searched = values(
        call(
            &fake,
            DIMENSIONS,
            &json!({"TimePeriod": tp, "Dimension": "SERVICE", "SearchString": "bedrock"}),
        )
        .await,
    );
    let searched: Vec<String> = searched.into_iter().map(|(v, _)| v).collect();
    assert_eq!(searched, truth.bedrock_services(from, to));
    assert_eq!(
        searched.len(),
        5,
        "Amazon Bedrock and four Marketplace models: {searched:?}"
    );

    let usage_types = values(
        call(
            &fake,
            DIMENSIONS,
            &json!({"TimePeriod": tp, "Dimension": "USAGE_TYPE"}),
        )
        .await,
    );
    let unit = |name: &str| {
        usage_types
            .iter()
            .find(|(v, _)| v == name)
            .map(|(_, a)| a["unit"].as_str().unwrap().to_owned())
            .unwrap()
    };
    assert_eq!(unit("USE1-NovaPro-input-tokens"), "1K tokens");
    assert_eq!(unit("USE1-MP:USE1_InputTokenCount-Units"), "Units");
    assert_eq!(unit("USE1-MP:USE1_InputTokenCount_Batch-Units"), "Units");
    assert_eq!(unit("USE1-MP:USE1_InputTokenCount_Global-Units"), "Units");

    let accounts = values(
        call(
            &fake,
            DIMENSIONS,
            &json!({"TimePeriod": tp, "Dimension": "LINKED_ACCOUNT"}),
        )
        .await,
    );
    assert_eq!(accounts.len(), 3);
    for (id, attributes) in &accounts {
        let name = truth
            .accounts()
            .into_iter()
            .find(|a| &a.id == id)
            .unwrap()
            .name;
        assert_eq!(attributes["description"], json!(name));
    }
    let records = values(
        call(
            &fake,
            DIMENSIONS,
            &json!({"TimePeriod": tp, "Dimension": "RECORD_TYPE"}),
        )
        .await,
    );
    let records: Vec<String> = records.into_iter().map(|(v, _)| v).collect();
    assert_eq!(records, ["Credit", "Refund", "Usage"]);

    // Paged with MaxResults.
    let mut token: Option<String> = None;
    let mut paged = Vec::new();
    loop {
        let mut body = json!({"TimePeriod": tp, "Dimension": "USAGE_TYPE", "MaxResults": 4});
        if let Some(t) = &token {
            body["NextPageToken"] = json!(t);
        }
        let page = call(&fake, DIMENSIONS, &body).await.json();
        paged.extend(
            page["DimensionValues"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v["Value"].as_str().unwrap().to_owned()),
        );
        match page["NextPageToken"].as_str() {
            Some(t) => token = Some(t.to_owned()),
            None => break,
        }
    }
    let expected: Vec<String> = usage_types.into_iter().map(|(v, _)| v).collect();
    assert_eq!(paged, expected);
}

#[tokio::test]
async fn faults_fire_as_cost_explorer_would_show_them() {
    let fake = start(9).await;
    let body = json!({"TimePeriod": period(date!(2025 - 04 - 01), date!(2025 - 06 - 30)),
                      "Granularity": "DAILY", "Metrics": ["UnblendedCost"],
                      "GroupBy": [{"Type": "DIMENSION", "Key": "SERVICE"}]});

    fake.faults().add(
        FaultRule::new(Fault::RateLimited {
            retry_after_secs: 1,
        })
        .on_path("GetCostAndUsage"),
    );
    assert_eq!(
        error_type(&call(&fake, COST, &body).await),
        "LimitExceededException"
    );
    assert_eq!(call(&fake, COST, &body).await.status, 200);

    fake.faults().add(FaultRule::new(Fault::ServerError(503)));
    let reply = call(&fake, COST, &body).await;
    assert_eq!(reply.status, 503);
    assert_eq!(reply.json()["__type"], "ServiceUnavailable");

    fake.faults().add(FaultRule::new(Fault::Malformed));
    let reply = call(&fake, COST, &body).await;
    assert_eq!(reply.status, 200);
    assert!(serde_json::from_str::<Value>(&reply.body).is_err());

    fake.faults().add(FaultRule::new(Fault::Truncated));
    let reply = call(&fake, COST, &body).await;
    assert_eq!(reply.status, 200);
    assert!(serde_json::from_str::<Value>(&reply.body).is_err());

    fake.faults().add(FaultRule::new(Fault::MissingField));
    let page = call(&fake, COST, &body).await.json();
    let metric = &page["ResultsByTime"][0]["Groups"][0]["Metrics"]["UnblendedCost"];
    assert!(metric.get("Amount").is_none() && metric["Unit"] == "USD");

    // A repeated page: the token sent comes back.
    let first = call(&fake, COST, &body).await.json();
    let token = first["NextPageToken"].as_str().unwrap().to_owned();
    fake.faults()
        .add(FaultRule::new(Fault::RepeatPage).on_page(2));
    let mut second = body.clone();
    second["NextPageToken"] = json!(token);
    let repeated = call(&fake, COST, &second).await.json();
    assert_eq!(repeated["NextPageToken"], json!(token));
    let normal = call(&fake, COST, &second).await.json();
    assert_ne!(normal["NextPageToken"], json!(token));
    assert_eq!(repeated["ResultsByTime"], normal["ResultsByTime"]);

    fake.faults()
        .add(FaultRule::new(Fault::Delay(Duration::from_millis(50))));
    assert_eq!(call(&fake, COST, &body).await.status, 200);
    assert_eq!(fake.faults().fired(), 7);
    assert_eq!(fake.requests_served()[&format!("/#{COST}")], 10);
    // The log keeps each body.
    let logged = fake.log().requests_to("GetCostAndUsage");
    assert_eq!(
        serde_json::from_str::<Value>(&logged[0].body).unwrap(),
        body
    );
}

#[tokio::test]
async fn the_same_seed_gives_the_same_organization() {
    let a = start(21).await;
    let b = start(21).await;
    let c = start(22).await;
    let (from, to) = (a.truth().first_day(), a.truth().last_day());
    assert_eq!(a.truth().lines(from, to), b.truth().lines(from, to));
    assert_ne!(a.truth().lines(from, to), c.truth().lines(from, to));
    assert_eq!(a.access_key_id(), b.access_key_id());
    assert_ne!(a.access_key_id(), c.access_key_id());
    let body = json!({"TimePeriod": period(date!(2025 - 06 - 01), date!(2025 - 06 - 30)),
                      "Granularity": "DAILY", "Metrics": ["UnblendedCost", "UsageQuantity"],
                      "GroupBy": [{"Type": "DIMENSION", "Key": "SERVICE"},
                                  {"Type": "DIMENSION", "Key": "USAGE_TYPE"}]});
    assert_eq!(
        call(&a, COST, &body).await.body,
        call(&b, COST, &body).await.body
    );
    // Fewer accounts fold the same usage onto fewer ids.
    let one = BedrockFake::builder()
        .seed(21)
        .today(TODAY)
        .linked_accounts(1)
        .build();
    let t = one.truth();
    assert_eq!(t.accounts().len(), 1);
    let gross = |t: &spendlens_fakes::bedrock::BedrockTruth| {
        t.unblended_by(from, to, |l| (l.record_type == "Usage").then_some(()))
    };
    assert_eq!(gross(&t), gross(a.truth()));
}

// ---------------------------------------------------------------------------------------------
// The real AWS SDK against the fake.

fn sdk(
    fake: &RunningBedrockFake,
    key: (&str, &str),
    max_attempts: u32,
) -> aws_sdk_costexplorer::Client {
    use aws_sdk_costexplorer::config::retry::RetryConfig;
    use aws_sdk_costexplorer::config::{BehaviorVersion, Credentials, Region};
    let config = aws_sdk_costexplorer::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(key.0, key.1, None, None, "test"))
        .endpoint_url(fake.endpoint_url())
        .http_client(aws_smithy_http_client::Builder::new().build_http())
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(max_attempts)
                .with_initial_backoff(Duration::from_millis(5)),
        )
        .build();
    aws_sdk_costexplorer::Client::from_conf(config)
}

#[tokio::test]
async fn the_aws_sdk_signs_pages_and_parses_like_against_the_real_service() {
    use aws_sdk_costexplorer::types::{
        DateInterval, Dimension, DimensionValues, Expression, Granularity, GroupDefinition,
        GroupDefinitionType,
    };
    let fake = start(13).await;
    let truth = fake.truth();
    let client = sdk(&fake, (fake.access_key_id(), fake.secret_access_key()), 1);
    let (from, to) = (date!(2025 - 04 - 02), date!(2025 - 06 - 30));
    let interval = DateInterval::builder()
        .start(from.to_string())
        .end("2025-07-01")
        .build()
        .unwrap();

    let services = client
        .get_dimension_values()
        .time_period(interval.clone())
        .dimension(Dimension::Service)
        .search_string("Bedrock")
        .send()
        .await
        .unwrap();
    let services: Vec<String> = services
        .dimension_values()
        .iter()
        .map(|v| v.value().unwrap().to_owned())
        .collect();
    assert_eq!(services, truth.bedrock_services(from, to));

    let mut sums: BTreeMap<(Date, String, String), i128> = BTreeMap::new();
    let mut token: Option<String> = None;
    let mut pages = 0;
    loop {
        let reply = client
            .get_cost_and_usage()
            .time_period(interval.clone())
            .granularity(Granularity::Daily)
            .metrics("UnblendedCost")
            .metrics("UsageQuantity")
            .filter(
                Expression::builder()
                    .dimensions(
                        DimensionValues::builder()
                            .key(Dimension::Service)
                            .set_values(Some(services.clone()))
                            .build(),
                    )
                    .build(),
            )
            .group_by(
                GroupDefinition::builder()
                    .r#type(GroupDefinitionType::Dimension)
                    .key("SERVICE")
                    .build(),
            )
            .group_by(
                GroupDefinition::builder()
                    .r#type(GroupDefinitionType::Dimension)
                    .key("USAGE_TYPE")
                    .build(),
            )
            .set_next_page_token(token.clone())
            .send()
            .await
            .unwrap();
        pages += 1;
        for r in reply.results_by_time() {
            let d = day(r.time_period().unwrap().start());
            for g in r.groups() {
                let amount = g.metrics().unwrap()["UnblendedCost"].amount().unwrap();
                let keys = g.keys();
                *sums
                    .entry((d, keys[0].clone(), keys[1].clone()))
                    .or_default() += nanos(amount);
            }
        }
        token = reply.next_page_token().map(str::to_owned);
        if token.is_none() {
            break;
        }
    }
    assert!(pages >= 3);
    let expected: BTreeMap<(Date, String, String), i128> = truth
        .bedrock_by_day_service_usage_type(from, to)
        .into_iter()
        .map(|(k, v)| (k, nanos(&v)))
        .collect();
    assert_eq!(sums, expected);
}

#[tokio::test]
async fn the_aws_sdk_sees_the_documented_error_codes_and_retries_throttling() {
    use aws_sdk_costexplorer::error::ProvideErrorMetadata;
    use aws_sdk_costexplorer::types::{DateInterval, Dimension};
    let fake = start(14).await;
    let interval = DateInterval::builder()
        .start("2025-06-01")
        .end("2025-06-08")
        .build()
        .unwrap();
    let ask = |client: aws_sdk_costexplorer::Client| {
        let interval = interval.clone();
        async move {
            client
                .get_dimension_values()
                .time_period(interval)
                .dimension(Dimension::Service)
                .send()
                .await
        }
    };
    let key = (fake.access_key_id(), fake.secret_access_key());

    // Throttling twice, then an answer: the SDK's own retries absorb it.
    fake.faults().add(
        FaultRule::new(Fault::RateLimited {
            retry_after_secs: 0,
        })
        .on_path("GetDimensionValues")
        .times(2),
    );
    assert!(ask(sdk(&fake, key, 3)).await.is_ok());
    assert_eq!(fake.faults().fired(), 2);

    fake.faults().add(FaultRule::new(Fault::RateLimited {
        retry_after_secs: 0,
    }));
    let error = ask(sdk(&fake, key, 1)).await.unwrap_err();
    assert_eq!(error.code(), Some("LimitExceededException"));

    let unknown = ask(sdk(&fake, ("AKIAUNKNOWNUNKNOWN00", "x"), 1))
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), Some("UnrecognizedClientException"));
    let wrong_secret = ask(sdk(&fake, (fake.access_key_id(), "wrong"), 1))
        .await
        .unwrap_err();
    assert_eq!(wrong_secret.code(), Some("InvalidSignatureException"));
    let denied = ask(sdk(
        &fake,
        (
            fake.no_permission_access_key_id(),
            fake.no_permission_secret_access_key(),
        ),
        1,
    ))
    .await
    .unwrap_err();
    assert_eq!(denied.code(), Some("AccessDeniedException"));

    let not_enabled = BedrockFake::builder()
        .today(TODAY)
        .cost_explorer(CostExplorerState::NotEnabledDataUnavailable)
        .build()
        .spawn()
        .await
        .unwrap();
    let key = (not_enabled.access_key_id(), not_enabled.secret_access_key());
    let error = ask(sdk(&not_enabled, key, 1)).await.unwrap_err();
    assert_eq!(error.code(), Some("DataUnavailableException"));
}

#[tokio::test]
async fn product_attributes_and_tags_group_as_documented_once_available() {
    let fake = BedrockFake::builder()
        .seed(6)
        .today(date!(2026 - 10 - 15))
        .days(60)
        .build()
        .spawn()
        .await
        .unwrap();
    let body = json!({"TimePeriod": {"Start": "2026-09-15", "End": "2026-10-10"},
                      "Granularity": "MONTHLY", "Metrics": ["UnblendedCost"],
                      "Filter": {"ProductAttributes": {"Key": "provider", "Values": ["Anthropic"]}},
                      "GroupBy": [{"Type": "PRODUCT_ATTRIBUTE", "Key": "model"},
                                  {"Type": "TAG", "Key": "Environment"}]});
    let page = call(&fake, COST, &body).await.json();
    let results = page["ResultsByTime"].as_array().unwrap();
    let periods: Vec<(&str, &str)> = results
        .iter()
        .map(|r| {
            (
                r["TimePeriod"]["Start"].as_str().unwrap(),
                r["TimePeriod"]["End"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        periods,
        [("2026-09-15", "2026-10-01"), ("2026-10-01", "2026-10-10")]
    );
    let keys: BTreeSet<(String, String)> = results
        .iter()
        .flat_map(|r| r["Groups"].as_array().unwrap().clone())
        .map(|g| {
            (
                g["Keys"][0].as_str().unwrap().to_owned(),
                g["Keys"][1].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert!(keys.contains(&(
        "model$Claude Sonnet 4.5".to_owned(),
        "Environment$".to_owned()
    )));
    assert!(keys.iter().all(|(m, _)| m.starts_with("model$Claude")));

    // Before 2026-09-01 there is no product-attribute data.
    let mut early = body.clone();
    early["TimePeriod"] = json!({"Start": "2026-08-20", "End": "2026-09-10"});
    assert_eq!(
        error_type(&call(&fake, COST, &early).await),
        "DataUnavailableException"
    );
}
