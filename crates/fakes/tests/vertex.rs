//! The Vertex fake over HTTP, as a connector sees it: a service-account JWT signed here with a
//! key pair generated at test time, the OAuth token endpoint, and BigQuery's four calls.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers outside #[test] functions: a failing test should stop loudly"
)]

use crate::support;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rsa::pkcs1v15::SigningKey;
use rsa::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
use rsa::sha2::Sha256;
use rsa::signature::{SignatureEncoding, Signer};
use serde_json::{Value, json};
use spendlens_fakes::vertex::{ExportTables, RunningVertexFake, VertexFake, VertexFakeBuilder};
use spendlens_fakes::{Fault, FaultRule};
use support::{Reply, client, send};
use time::Date;
use time::macros::date;

const TODAY: Date = date!(2025 - 06 - 30);
const BIGQUERY_SCOPE: &str = "https://www.googleapis.com/auth/bigquery";

struct Keys {
    private_pem: String,
    public_pem: String,
    signing: SigningKey<Sha256>,
}

/// One RSA key pair per test binary, generated now; never a committed key.
fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| {
        let mut rng = rsa::rand_core::OsRng;
        let private = rsa::RsaPrivateKey::new(&mut rng, 2048).expect("key generation");
        let public_pem = private
            .to_public_key()
            .to_public_key_pem(LineEnding::LF)
            .unwrap();
        let private_pem = private.to_pkcs8_pem(LineEnding::LF).unwrap().to_string();
        Keys {
            private_pem,
            public_pem,
            signing: SigningKey::<Sha256>::new(private),
        }
    })
}

fn builder() -> VertexFakeBuilder {
    VertexFake::builder()
        .seed(7)
        .today(TODAY)
        .days(120)
        .public_key_pem(keys().public_pem.clone())
}

async fn start(builder: VertexFakeBuilder) -> RunningVertexFake {
    builder.build().spawn().await.expect("spawn")
}

#[expect(
    clippy::disallowed_methods,
    reason = "JWTs are checked against the wall clock"
)]
fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn b64(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).unwrap())
}

/// A JWT with this header and claim set, RS256-signed with the test key.
fn jwt_with(header: &Value, claims: &Value) -> String {
    let signed = format!("{}.{}", b64(header), b64(claims));
    let signature = keys().signing.sign(signed.as_bytes()).to_vec();
    format!("{signed}.{}", URL_SAFE_NO_PAD.encode(signature))
}

fn claims(fake: &RunningVertexFake, scope: &str) -> Value {
    let iat = now();
    json!({"iss": fake.client_email(), "scope": scope, "aud": fake.token_uri(),
           "iat": iat, "exp": iat + 3595})
}

fn header() -> Value {
    json!({"alg": "RS256", "typ": "JWT"})
}

async fn token_reply(fake: &RunningVertexFake, assertion: &str) -> Reply {
    send(
        client()
            .post(fake.token_uri())
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!(
                "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion={assertion}"
            )),
    )
    .await
}

async fn token_for(fake: &RunningVertexFake, scope: &str) -> String {
    let reply = token_reply(fake, &jwt_with(&header(), &claims(fake, scope))).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.json()["access_token"].as_str().unwrap().to_owned()
}

async fn token(fake: &RunningVertexFake) -> String {
    token_for(fake, BIGQUERY_SCOPE).await
}

async fn get(fake: &RunningVertexFake, token: &str, path: &str, query: &[(&str, &str)]) -> Reply {
    send(
        client()
            .get(format!("{}{path}", fake.base_url()))
            .bearer_auth(token)
            .query(query),
    )
    .await
}

async fn post_query(fake: &RunningVertexFake, token: &str, body: &Value) -> Reply {
    send(
        client()
            .post(format!(
                "{}/projects/{}/queries",
                fake.base_url(),
                fake.project()
            ))
            .bearer_auth(token)
            .json(body),
    )
    .await
}

/// The document's §8 query against the fake's table, with the §5 conversion rate and a
/// partition filter (the window ±3 days, as §5 advises; see `query_body`).
fn section_8_sql(table: &str, services: bool) -> String {
    let filter = if services {
        "\n  AND service.description IN UNNEST(@services)"
    } else {
        ""
    };
    format!(
        "SELECT
  FORMAT_DATE('%F', DATE(usage_start_time)) AS usage_date,
  service.id AS service_id, service.description AS service,
  sku.id AS sku_id, sku.description AS sku,
  IFNULL(project.id, '') AS project_id, currency, cost_type,
  CAST(SUM(CAST(cost AS NUMERIC)) AS STRING) AS cost,
  CAST(SUM(IFNULL((SELECT SUM(CAST(c.amount AS NUMERIC)) FROM UNNEST(credits) c), 0)) AS STRING) AS credits,
  CAST(SUM(IFNULL((SELECT SUM(CAST(c.amount AS NUMERIC)) FROM UNNEST(credits) c WHERE c.type = 'PROMOTION'), 0)) AS STRING) AS promo_credits,
  CAST(SUM(usage.amount_in_pricing_units) AS STRING) AS pricing_qty,
  ANY_VALUE(usage.pricing_unit) AS pricing_unit,
  CAST(currency_conversion_rate AS STRING) AS conversion_rate
FROM `{table}`
WHERE usage_start_time >= @start AND usage_start_time < @end
  AND _PARTITIONTIME >= @partition_start AND _PARTITIONTIME < @partition_end{filter}
GROUP BY usage_date, service_id, service, sku_id, sku, project_id, currency, cost_type, conversion_rate
ORDER BY usage_date"
    )
}

fn full_table(fake: &RunningVertexFake) -> String {
    format!("{}.{}.{}", fake.project(), fake.dataset(), fake.table())
}

fn partition_parameter(name: &str, day: Date) -> Value {
    json!({"name": name, "parameterType": {"type": "TIMESTAMP"},
           "parameterValue": {"value": format!("{day} 00:00:00+00")}})
}

fn query_body(sql: &str, from: Date, to_exclusive: Date, services: Option<&[&str]>) -> Value {
    let mut params = vec![
        json!({"name": "start", "parameterType": {"type": "TIMESTAMP"},
               "parameterValue": {"value": format!("{from} 00:00:00+00")}}),
        json!({"name": "end", "parameterType": {"type": "TIMESTAMP"},
               "parameterValue": {"value": format!("{to_exclusive} 00:00:00+00")}}),
        partition_parameter("partition_start", from - time::Duration::days(3)),
        partition_parameter("partition_end", to_exclusive + time::Duration::days(3)),
    ];
    if let Some(services) = services {
        let values: Vec<Value> = services.iter().map(|s| json!({"value": s})).collect();
        params.push(json!({"name": "services",
            "parameterType": {"type": "ARRAY", "arrayType": {"type": "STRING"}},
            "parameterValue": {"arrayValues": values}}));
    }
    json!({"query": sql, "useLegacySql": false, "parameterMode": "NAMED", "timeoutMs": 20000,
           "maxResults": 1000, "maximumBytesBilled": "5000000000", "location": "US",
           "queryParameters": params})
}

/// The AI services by name: the Gemini API's older rows carry its former name; the partner
/// models sold through Vertex (doc §6) are services of their own.
const AI: &[&str] = &[
    "Vertex AI",
    "Gemini API",
    "Generative Language API",
    "Claude Sonnet 4.5",
    "Llama 3.3 API Service",
    "Mistral Large (24.11)",
];
/// The same by service id.
const AI_IDS: &[&str] = &[
    "C7E2-9256-1C43",
    "AEFD-7695-64FA",
    "7A1C-33D5-E2B8",
    "4B9E-0C62-D7A1",
    "E03F-8B47-1A6C",
];

/// Runs a query to the end: polls while incomplete, follows `pageToken`. Returns the rows as
/// cell lists and the number of pages.
async fn run_query(
    fake: &RunningVertexFake,
    token: &str,
    body: &Value,
) -> (Vec<Vec<Value>>, usize) {
    let reply = post_query(fake, token, body).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let mut page = reply.json();
    let job = page["jobReference"].clone();
    let path = format!(
        "/projects/{}/queries/{}",
        fake.project(),
        job["jobId"].as_str().unwrap()
    );
    let location = job["location"].as_str().unwrap().to_owned();
    let max_results = body["maxResults"].as_u64().map(|n| n.to_string());
    let mut rows = Vec::new();
    let mut pages = 0;
    for _ in 0..200 {
        if page["jobComplete"] == json!(true) {
            pages += 1;
            let names: Vec<&str> = page["schema"]["fields"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f["name"].as_str().unwrap())
                .collect();
            assert_eq!(names, COLUMNS);
            for r in page["rows"].as_array().cloned().unwrap_or_default() {
                rows.push(
                    r["f"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|c| c["v"].clone())
                        .collect(),
                );
            }
            match page["pageToken"].as_str() {
                None => return (rows, pages),
                Some(t) => {
                    let t = t.to_owned();
                    let mut query =
                        vec![("pageToken", t.as_str()), ("location", location.as_str())];
                    if let Some(n) = &max_results {
                        query.push(("maxResults", n.as_str()));
                    }
                    let reply = get(fake, token, &path, &query).await;
                    assert_eq!(reply.status, 200, "{}", reply.body);
                    page = reply.json();
                }
            }
        } else {
            assert!(page.get("rows").is_none() && page.get("schema").is_none());
            let reply = get(
                fake,
                token,
                &path,
                &[("location", &location), ("timeoutMs", "1000")],
            )
            .await;
            assert_eq!(reply.status, 200, "{}", reply.body);
            page = reply.json();
        }
    }
    panic!("the query never finished");
}

const COLUMNS: [&str; 14] = [
    "usage_date",
    "service_id",
    "service",
    "sku_id",
    "sku",
    "project_id",
    "currency",
    "cost_type",
    "cost",
    "credits",
    "promo_credits",
    "pricing_qty",
    "pricing_unit",
    "conversion_rate",
];

/// A NUMERIC string as nano-units.
fn nanos(text: &str) -> i128 {
    let negative = text.starts_with('-');
    let text = text.trim_start_matches('-');
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    assert!(
        fraction.len() <= 9 && !text.contains('E'),
        "not NUMERIC text: {text}"
    );
    let value: i128 = format!("{whole}{fraction:0<9}").parse().unwrap();
    if negative { -value } else { value }
}

fn error_reason(reply: &Reply, status: u16) -> String {
    assert_eq!(reply.status, status, "{}", reply.body);
    let body = reply.json();
    assert_eq!(body["error"]["code"], json!(status));
    assert!(body["error"]["status"].is_string());
    body["error"]["errors"][0]["reason"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn oauth_error(reply: &Reply) -> (String, String) {
    assert_eq!(reply.status, 400, "{}", reply.body);
    let body = reply.json();
    (
        body["error"].as_str().unwrap().to_owned(),
        body["error_description"].as_str().unwrap_or("").to_owned(),
    )
}

// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn the_token_endpoint_checks_the_jwt_grant_as_documented() {
    let fake = start(builder().days(10).private_key_id("key-1")).await;
    assert_eq!(fake.admin_key(), fake.client_email());
    let with_kid = json!({"alg": "RS256", "typ": "JWT", "kid": "key-1"});
    assert_eq!(
        token_reply(&fake, &jwt_with(&with_kid, &claims(&fake, BIGQUERY_SCOPE)))
            .await
            .status,
        200
    );
    let good = jwt_with(&header(), &claims(&fake, BIGQUERY_SCOPE));
    let reply = token_reply(&fake, &good).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let body = reply.json();
    assert!(body["access_token"].as_str().unwrap().starts_with("ya29."));
    assert_eq!(body["expires_in"], 3599);
    assert_eq!(body["token_type"], "Bearer");

    let wrong_grant = send(
        client()
            .post(fake.token_uri())
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("grant_type=client_credentials&assertion={good}")),
    )
    .await;
    assert_eq!(oauth_error(&wrong_grant).0, "unsupported_grant_type");

    let with = |key: &str, value: Value| {
        let mut c = claims(&fake, BIGQUERY_SCOPE);
        c[key] = value;
        jwt_with(&header(), &c)
    };
    let cases = [
        (
            with("iss", json!("someone@else.iam.gserviceaccount.com")),
            "invalid_grant",
            "account not found",
        ),
        (
            with("aud", json!("https://oauth2.googleapis.com/token")),
            "invalid_grant",
            "audience",
        ),
        (
            with("exp", json!(now() + 7200)),
            "invalid_grant",
            "short-lived",
        ),
        (
            with("iat", json!(now() - 7200)),
            "invalid_grant",
            "short-lived",
        ),
        (with("scope", json!("")), "invalid_scope", "scope"),
        (
            jwt_with(
                &json!({"alg": "HS256", "typ": "JWT"}),
                &claims(&fake, BIGQUERY_SCOPE),
            ),
            "invalid_grant",
            "RS256",
        ),
        (
            jwt_with(
                &json!({"alg": "RS256", "typ": "JWT", "kid": "other-key"}),
                &claims(&fake, BIGQUERY_SCOPE),
            ),
            "invalid_grant",
            "Signature",
        ),
        ("not-a-jwt".to_owned(), "invalid_grant", "Invalid JWT"),
    ];
    for (assertion, error, description) in cases {
        let (e, d) = oauth_error(&token_reply(&fake, &assertion).await);
        assert_eq!(e, error, "{d}");
        assert!(d.contains(description), "{d}");
    }
    // Claims changed after signing: the signature no longer matches.
    let parts: Vec<&str> = good.split('.').collect();
    let mut forged = claims(&fake, BIGQUERY_SCOPE);
    forged["scope"] = json!("https://www.googleapis.com/auth/cloud-platform");
    let tampered = format!("{}.{}.{}", parts[0], b64(&forged), parts[2]);
    let (e, d) = oauth_error(&token_reply(&fake, &tampered).await);
    assert_eq!(
        (e.as_str(), d.as_str()),
        ("invalid_grant", "Invalid JWT Signature.")
    );

    fake.set_revoked(true);
    assert_eq!(
        oauth_error(&token_reply(&fake, &good).await).0,
        "invalid_grant"
    );
    fake.set_revoked(false);
    assert_eq!(token_reply(&fake, &good).await.status, 200);
}

#[tokio::test]
async fn a_fake_without_a_usable_public_key_does_not_start() {
    let missing = VertexFake::builder().build().spawn().await.unwrap_err();
    assert!(missing.to_string().contains("public key"));
    let private = VertexFake::builder()
        .public_key_pem(keys().private_pem.clone())
        .build()
        .spawn()
        .await
        .unwrap_err();
    assert!(private.to_string().contains("private key"));
}

#[tokio::test]
async fn bigquery_wants_a_live_token_with_a_bigquery_scope() {
    let fake = start(builder().days(10).token_expires_in(1)).await;
    let path = format!("/projects/{}/datasets", fake.project());
    let reply = send(client().get(format!("{}{path}", fake.base_url()))).await;
    assert_eq!(error_reason(&reply, 401), "required");
    assert!(reply.headers.contains_key("www-authenticate"));
    assert_eq!(
        error_reason(&get(&fake, "ya29.made-up", &path, &[]).await, 401),
        "authError"
    );

    let storage_only = token_for(
        &fake,
        "https://www.googleapis.com/auth/devstorage.read_only",
    )
    .await;
    assert_eq!(
        error_reason(&get(&fake, &storage_only, &path, &[]).await, 403),
        "insufficientPermissions"
    );
    for scope in [
        "https://www.googleapis.com/auth/cloud-platform",
        "https://www.googleapis.com/auth/bigquery.readonly",
        "openid https://www.googleapis.com/auth/bigquery",
    ] {
        let t = token_for(&fake, scope).await;
        assert_eq!(get(&fake, &t, &path, &[]).await.status, 200, "{scope}");
    }

    // expires_in: 1 — the token dies, a new one works.
    let t = token(&fake).await;
    assert_eq!(get(&fake, &t, &path, &[]).await.status, 200);
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let expired = get(&fake, &t, &path, &[]).await;
    assert_eq!(error_reason(&expired, 401), "authError");
    let fresh = token(&fake).await;
    assert_eq!(get(&fake, &fresh, &path, &[]).await.status, 200);
}

/// A renamed service (doc §6): the Gemini API's older rows carry its former name, so a query
/// by the current names misses them and one by service id reads them all.
#[tokio::test]
async fn a_renamed_service_is_found_by_its_id_and_missed_by_its_current_name() {
    let fake = start(builder()).await;
    let truth = fake.truth();
    let t = token(&fake).await;
    let (from, to) = (truth.first_day(), truth.last_day());
    let end = to.next_day().unwrap();
    let table = full_table(&fake);
    let by_name = query_body(
        &section_8_sql(&table, true),
        from,
        end,
        Some(&[
            "Vertex AI",
            "Gemini API",
            "Claude Sonnet 4.5",
            "Llama 3.3 API Service",
            "Mistral Large (24.11)",
        ]),
    );
    let by_id_sql = section_8_sql(&table, true).replace(
        "service.description IN UNNEST(@services)",
        "service.id IN UNNEST(@services)",
    );
    let by_id = query_body(&by_id_sql, from, end, Some(AI_IDS));
    let cost =
        |rows: &[Vec<Value>]| -> i128 { rows.iter().map(|r| nanos(r[8].as_str().unwrap())).sum() };
    let (named, _) = run_query(&fake, &t, &by_name).await;
    let (identified, _) = run_query(&fake, &t, &by_id).await;
    let ai: i128 = truth
        .ai_lines(from, to)
        .iter()
        .map(|l| i128::from(l.cost_nanos))
        .sum();
    let former: Vec<&Vec<Value>> = identified
        .iter()
        .filter(|r| r[2] == "Generative Language API")
        .collect();
    assert!(!former.is_empty());
    assert!(former.iter().all(|r| r[1] == "AEFD-7695-64FA"));
    assert_eq!(cost(&identified), ai);
    assert!(
        cost(&named) < ai,
        "the former name's rows are missed by name"
    );
    assert_eq!(identified.len(), named.len() + former.len());
}

#[tokio::test]
async fn the_section_8_query_pages_to_the_end_and_sums_to_the_truth() {
    let fake = start(builder()).await;
    let truth = fake.truth();
    let t = token(&fake).await;
    let (from, to) = (date!(2025 - 04 - 02), date!(2025 - 06 - 30));
    let body = query_body(
        &section_8_sql(&full_table(&fake), true),
        from,
        date!(2025 - 07 - 01),
        Some(AI),
    );
    let (rows, pages) = run_query(&fake, &t, &body).await;
    assert!(pages >= 2, "{pages} page(s)");

    let mut days = BTreeSet::new();
    let mut sums: BTreeMap<(Date, String, String), (i128, i128)> = BTreeMap::new();
    let (mut nulls, mut exponents, mut covered, mut taxes) = (0, 0, 0, 0);
    for row in &rows {
        assert_eq!(row.len(), 14);
        for cell in row {
            assert!(cell.is_string() || cell.is_null(), "{cell}");
        }
        let text = |i: usize| row[i].as_str().unwrap_or("");
        let day = Date::parse(
            text(0),
            time::macros::format_description!("[year]-[month]-[day]"),
        )
        .unwrap();
        days.insert(day);
        assert!(AI.contains(&text(2)), "non-AI service {}", text(2));
        assert_eq!(text(6), "USD");
        let (cost, credits, promo) = (nanos(text(8)), nanos(text(9)), nanos(text(10)));
        assert!(credits <= promo && promo <= 0);
        if cost > 0 && cost + credits == 0 && promo < 0 {
            covered += 1;
        }
        if text(7) == "tax" {
            taxes += 1;
            assert_eq!(text(5), "", "tax rows have no project");
            assert!(row[11].is_null() && row[12].is_null());
        }
        nulls += row.iter().filter(|c| c.is_null()).count();
        exponents += usize::from(text(11).contains('E'));
        let entry = sums
            .entry((day, text(5).to_owned(), text(3).to_owned()))
            .or_default();
        entry.0 += cost;
        entry.1 += credits;
    }
    assert_eq!(days.len(), 90, "every day of the window");
    assert!(nulls > 0 && exponents > 0 && covered > 0 && taxes > 0);
    let expected: BTreeMap<(Date, String, String), (i128, i128)> = truth
        .ai_by_day_project_sku(from, to)
        .into_iter()
        .map(|(k, a)| {
            assert_eq!(nanos(&a.net), nanos(&a.cost) + nanos(&a.credits));
            (k, (nanos(&a.cost), nanos(&a.credits)))
        })
        .collect();
    assert_eq!(sums, expected);
    let projects: BTreeSet<&str> = expected.keys().map(|(_, p, _)| p.as_str()).collect();
    assert_eq!(projects, BTreeSet::from(["", "demo-app", "research-ml"]));
}

#[tokio::test]
async fn without_a_services_filter_the_non_ai_services_come_back_too() {
    let fake = start(builder().days(20)).await;
    let truth = fake.truth();
    let t = token(&fake).await;
    let (from, to) = (truth.first_day(), truth.last_day());
    let body = query_body(
        &section_8_sql(&full_table(&fake), false),
        from,
        to.next_day().unwrap(),
        None,
    );
    let (rows, _) = run_query(&fake, &t, &body).await;
    let services: BTreeSet<String> = rows
        .iter()
        .map(|r| r[2].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        services,
        BTreeSet::from(
            [
                "BigQuery",
                "Claude Sonnet 4.5",
                "Compute Engine",
                "Gemini API",
                "Llama 3.3 API Service",
                "Mistral Large (24.11)",
                "Vertex AI"
            ]
            .map(String::from)
        )
    );
    assert_eq!(rows.len(), truth.lines(from, to).len());
    let total: i128 = rows.iter().map(|r| nanos(r[8].as_str().unwrap())).sum();
    let expected: i128 = truth
        .lines(from, to)
        .iter()
        .map(|l| i128::from(l.cost_nanos))
        .sum();
    assert_eq!(total, expected);

    // A window that is not whole days: only the rows whose usage starts inside it.
    let body = json!({"query": section_8_sql(&full_table(&fake), false), "useLegacySql": false,
        "parameterMode": "NAMED", "queryParameters": [
            {"name": "start", "parameterType": {"type": "TIMESTAMP"},
             "parameterValue": {"value": format!("{} 12:00:00+00", truth.last_day())}},
            {"name": "end", "parameterType": {"type": "TIMESTAMP"},
             "parameterValue": {"value": format!("{}T00:00:00Z", to.next_day().unwrap())}},
            partition_parameter("partition_start", truth.last_day()),
            partition_parameter("partition_end", to + time::Duration::days(4))]});
    let (half_day, _) = run_query(&fake, &t, &body).await;
    let half: i128 = half_day.iter().map(|r| nanos(r[8].as_str().unwrap())).sum();
    let whole: i128 = truth
        .lines(to, to)
        .iter()
        .map(|l| i128::from(l.cost_nanos))
        .sum();
    assert!(half > 0 && half < whole);
}

#[tokio::test]
async fn queries_the_fake_cannot_answer_are_refused_with_a_reason() {
    let fake = start(builder().days(10)).await;
    let t = token(&fake).await;
    let table = full_table(&fake);
    let window = (date!(2025 - 06 - 25), date!(2025 - 06 - 28));
    let body = |sql: &str| query_body(sql, window.0, window.1, Some(AI));

    // The double-count trap of §7.
    let trap = format!(
        "SELECT FORMAT_DATE('%F', DATE(usage_start_time)) AS usage_date, service.id AS service_id, \
         service.description AS service, sku.id AS sku_id, sku.description AS sku, \
         IFNULL(project.id, '') AS project_id, currency, cost_type, \
         CAST(SUM(CAST(cost AS NUMERIC)) AS STRING) AS cost, CAST(SUM(c.amount) AS STRING) AS credits, \
         '0' AS promo_credits, '0' AS pricing_qty, '' AS pricing_unit \
         FROM `{table}`, UNNEST(credits) c \
         WHERE usage_start_time >= @start AND usage_start_time < @end \
         AND service.description IN UNNEST(@services) GROUP BY 1, 2, 3, 4, 5, 6, 7, 8"
    );
    let reply = post_query(&fake, &t, &body(&trap)).await;
    assert_eq!(error_reason(&reply, 400), "invalidQuery");
    assert!(
        reply.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("double-counted")
    );
    let joined = trap.replace(", UNNEST(credits) c", " LEFT JOIN UNNEST(credits) AS c");
    assert_eq!(
        error_reason(&post_query(&fake, &t, &body(&joined)).await, 400),
        "invalidQuery"
    );

    let good = section_8_sql(&table, true);
    let mut legacy = body(&good);
    legacy.as_object_mut().unwrap().remove("useLegacySql");
    assert_eq!(
        error_reason(&post_query(&fake, &t, &legacy).await, 400),
        "invalidQuery"
    );

    let wrong_table = good.replace(fake.table(), "gcp_billing_export_v1_000000_000000_000000");
    assert_eq!(
        error_reason(&post_query(&fake, &t, &body(&wrong_table)).await, 404),
        "notFound"
    );
    let wrong_dataset = good.replace(&format!(".{}.", fake.dataset()), ".billing.");
    assert_eq!(
        error_reason(&post_query(&fake, &t, &body(&wrong_dataset)).await, 404),
        "notFound"
    );
    let mut wrong_location = body(&good);
    wrong_location["location"] = json!("EU");
    assert_eq!(
        error_reason(&post_query(&fake, &t, &wrong_location).await, 404),
        "notFound"
    );
    let no_backticks = good.replace('`', "");
    assert_eq!(
        error_reason(&post_query(&fake, &t, &body(&no_backticks)).await, 400),
        "invalidQuery"
    );
    let no_promo = good.replace(" AS promo_credits", " AS promo");
    let reply = post_query(&fake, &t, &body(&no_promo)).await;
    assert_eq!(error_reason(&reply, 400), "invalidQuery");
    assert!(
        reply.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("promo_credits")
    );

    let mut date_params = body(&good);
    date_params["queryParameters"][0]["parameterType"]["type"] = json!("DATE");
    assert_eq!(
        error_reason(&post_query(&fake, &t, &date_params).await, 400),
        "invalidQuery"
    );
    let mut no_services = body(&good);
    no_services["queryParameters"]
        .as_array_mut()
        .unwrap()
        .remove(4);
    assert_eq!(
        error_reason(&post_query(&fake, &t, &no_services).await, 400),
        "invalidQuery"
    );
    let mut small_budget = body(&good);
    small_budget["maximumBytesBilled"] = json!("1000");
    assert_eq!(
        error_reason(&post_query(&fake, &t, &small_budget).await, 400),
        "bytesBilledLimitExceeded"
    );
    let other_project = send(
        client()
            .post(format!("{}/projects/someone-else/queries", fake.base_url()))
            .bearer_auth(&t)
            .json(&body(&good)),
    )
    .await;
    assert_eq!(error_reason(&other_project, 403), "accessDenied");

    // And the good one passes; service ids work as well as descriptions.
    assert_eq!(post_query(&fake, &t, &body(&good)).await.status, 200);
    let by_id = good.replace(
        "service.description IN UNNEST(@services)",
        "service.id IN UNNEST(@services)",
    );
    let by_id_body = query_body(&by_id, window.0, window.1, Some(AI_IDS));
    let (a, _) = run_query(&fake, &t, &by_id_body).await;
    let (b, _) = run_query(&fake, &t, &body(&good)).await;
    assert_eq!(a, b);
}

#[tokio::test]
async fn a_pending_job_is_polled_until_complete() {
    let fake = start(builder().days(10).job_pending_polls(3)).await;
    let t = token(&fake).await;
    let body = query_body(
        &section_8_sql(&full_table(&fake), true),
        date!(2025 - 06 - 21),
        date!(2025 - 07 - 01),
        Some(AI),
    );
    let first = post_query(&fake, &t, &body).await.json();
    assert_eq!(first["jobComplete"], false);
    assert!(first.get("rows").is_none() && first.get("schema").is_none());
    let job = first["jobReference"]["jobId"].as_str().unwrap().to_owned();
    assert_eq!(first["jobReference"]["location"], "US");
    let path = format!("/projects/{}/queries/{job}", fake.project());
    assert_eq!(
        error_reason(&get(&fake, &t, &path, &[("location", "EU")]).await, 404),
        "notFound"
    );
    let unknown = format!("/projects/{}/queries/job_unknown", fake.project());
    assert_eq!(
        error_reason(&get(&fake, &t, &unknown, &[]).await, 404),
        "notFound"
    );
    let mut complete = Vec::new();
    for _ in 0..3 {
        let page = get(
            &fake,
            &t,
            &path,
            &[("location", "US"), ("timeoutMs", "10000")],
        )
        .await
        .json();
        assert_eq!(page["kind"], "bigquery#getQueryResultsResponse");
        complete.push(page["jobComplete"].as_bool().unwrap());
    }
    assert_eq!(complete, [false, false, true]);
    let (rows, _) = run_query(&fake, &t, &body).await;
    let truth_rows = fake
        .truth()
        .ai_lines(date!(2025 - 06 - 21), date!(2025 - 06 - 30));
    assert_eq!(rows.len(), truth_rows.len());
}

#[tokio::test]
async fn page_tokens_and_start_index_walk_every_row_once() {
    let fake = start(builder().days(30).page_rows(1000)).await;
    let t = token(&fake).await;
    let mut body = query_body(
        &section_8_sql(&full_table(&fake), true),
        date!(2025 - 06 - 01),
        date!(2025 - 07 - 01),
        Some(AI),
    );
    body["maxResults"] = json!(1000);
    let (all, pages) = run_query(&fake, &t, &body).await;
    assert_eq!(pages, 1);
    body["maxResults"] = json!(37);
    let (paged, pages) = run_query(&fake, &t, &body).await;
    assert_eq!(paged, all);
    assert_eq!(pages, all.len().div_ceil(37));
    assert_eq!(
        all.len(),
        fake.truth()
            .ai_lines(date!(2025 - 06 - 01), date!(2025 - 06 - 30))
            .len()
    );

    let first = post_query(&fake, &t, &body).await.json();
    assert_eq!(first["totalRows"], json!(all.len().to_string()));
    let path = format!(
        "/projects/{}/queries/{}",
        fake.project(),
        first["jobReference"]["jobId"].as_str().unwrap()
    );
    let page = get(
        &fake,
        &t,
        &path,
        &[("startIndex", "40"), ("maxResults", "5")],
    )
    .await
    .json();
    let cells: Vec<Vec<Value>> = page["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            r["f"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["v"].clone())
                .collect()
        })
        .collect();
    assert_eq!(cells, all[40..45].to_vec());
    let bad = get(&fake, &t, &path, &[("pageToken", "NOTATOKEN")]).await;
    assert_eq!(error_reason(&bad, 400), "invalid");
}

async fn discovered(fake: &RunningVertexFake, t: &str) -> Vec<String> {
    let reply = get(
        fake,
        t,
        &format!("/projects/{}/datasets", fake.project()),
        &[],
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let datasets: Vec<String> = reply.json()["datasets"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|d| {
            d["datasetReference"]["datasetId"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    let mut found = Vec::new();
    for d in datasets {
        let reply = get(
            fake,
            t,
            &format!("/projects/{}/datasets/{d}/tables", fake.project()),
            &[("maxResults", "2")],
        )
        .await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        let mut page = reply.json();
        loop {
            for table in page["tables"].as_array().cloned().unwrap_or_default() {
                let id = table["tableReference"]["tableId"]
                    .as_str()
                    .unwrap()
                    .to_owned();
                if id.starts_with("gcp_billing_export_v1_") {
                    found.push(id);
                }
            }
            let Some(next) = page["nextPageToken"].as_str().map(str::to_owned) else {
                break;
            };
            page = get(
                fake,
                t,
                &format!("/projects/{}/datasets/{d}/tables", fake.project()),
                &[("maxResults", "2"), ("pageToken", &next)],
            )
            .await
            .json();
        }
    }
    found.sort();
    found
}

#[tokio::test]
async fn discovery_finds_one_two_or_no_export_tables() {
    for scenario in [
        ExportTables::One,
        ExportTables::Two,
        ExportTables::None,
        ExportTables::NoDatasets,
    ] {
        let fake = start(builder().days(5).export_tables(scenario)).await;
        let t = token(&fake).await;
        let found = discovered(&fake, &t).await;
        assert_eq!(found, fake.truth().export_tables(), "{scenario:?}");
        let expected = match scenario {
            ExportTables::One => 1,
            ExportTables::Two => 2,
            ExportTables::None | ExportTables::NoDatasets => 0,
        };
        assert_eq!(found.len(), expected, "{scenario:?}");
        let query = query_body(
            &section_8_sql(&full_table(&fake), true),
            date!(2025 - 06 - 26),
            date!(2025 - 07 - 01),
            Some(AI),
        );
        let reply = post_query(&fake, &t, &query).await;
        match scenario {
            ExportTables::One | ExportTables::Two => assert_eq!(reply.status, 200),
            ExportTables::None | ExportTables::NoDatasets => {
                assert_eq!(error_reason(&reply, 404), "notFound");
            }
        }
        if scenario == ExportTables::Two {
            // The old account's table answers, with no rows.
            let other = found.iter().find(|t| *t != fake.table()).unwrap();
            let sql = section_8_sql(
                &format!("{}.{}.{other}", fake.project(), fake.dataset()),
                true,
            );
            let (rows, _) = run_query(
                &fake,
                &t,
                &query_body(&sql, date!(2025 - 06 - 26), date!(2025 - 07 - 01), Some(AI)),
            )
            .await;
            assert!(rows.is_empty());
        }
    }
    let fake = start(builder().days(5)).await;
    let t = token(&fake).await;
    let missing = get(
        &fake,
        &t,
        &format!("/projects/{}/datasets/nope/tables", fake.project()),
        &[],
    )
    .await;
    assert_eq!(error_reason(&missing, 404), "notFound");

    let denied = start(builder().days(5).access_denied(true)).await;
    let t = token(&denied).await;
    let tables = get(
        &denied,
        &t,
        &format!(
            "/projects/{}/datasets/{}/tables",
            denied.project(),
            denied.dataset()
        ),
        &[],
    )
    .await;
    assert_eq!(error_reason(&tables, 403), "accessDenied");
    let query = query_body(
        &section_8_sql(&full_table(&denied), true),
        date!(2025 - 06 - 26),
        date!(2025 - 07 - 01),
        Some(AI),
    );
    assert_eq!(
        error_reason(&post_query(&denied, &t, &query).await, 403),
        "accessDenied"
    );
}

#[tokio::test]
async fn faults_fire_on_every_endpoint_in_googles_shapes() {
    let fake = start(builder().days(30).page_rows(50)).await;
    let good = jwt_with(&header(), &claims(&fake, BIGQUERY_SCOPE));

    fake.faults().add(
        FaultRule::new(Fault::RateLimited {
            retry_after_secs: 2,
        })
        .on_path("/token"),
    );
    let reply = token_reply(&fake, &good).await;
    assert_eq!(reply.status, 429);
    assert_eq!(reply.headers["retry-after"], "2");
    assert_eq!(reply.json()["error"], "rate_limit_exceeded");
    fake.faults()
        .add(FaultRule::new(Fault::MissingField).on_path("/token"));
    let reply = token_reply(&fake, &good).await;
    assert_eq!(reply.status, 200);
    assert!(reply.json().get("access_token").is_none());
    let t = token(&fake).await;

    let body = query_body(
        &section_8_sql(&full_table(&fake), true),
        date!(2025 - 06 - 01),
        date!(2025 - 07 - 01),
        Some(AI),
    );
    fake.faults().add(
        FaultRule::new(Fault::RateLimited {
            retry_after_secs: 1,
        })
        .on_path("/queries"),
    );
    let reply = post_query(&fake, &t, &body).await;
    assert_eq!(error_reason(&reply, 429), "rateLimitExceeded");
    assert_eq!(reply.json()["error"]["status"], "RESOURCE_EXHAUSTED");

    let first = post_query(&fake, &t, &body).await.json();
    let token2 = first["pageToken"].as_str().unwrap().to_owned();
    let path = format!(
        "/projects/{}/queries/{}",
        fake.project(),
        first["jobReference"]["jobId"].as_str().unwrap()
    );
    fake.faults()
        .add(FaultRule::new(Fault::ServerError(503)).on_path("/queries/"));
    let reply = get(&fake, &t, &path, &[("pageToken", &token2)]).await;
    assert_eq!(error_reason(&reply, 503), "backendError");
    fake.faults().add(
        FaultRule::new(Fault::RepeatPage)
            .on_path("/queries/")
            .on_page(2),
    );
    let repeated = get(&fake, &t, &path, &[("pageToken", &token2)])
        .await
        .json();
    assert_eq!(repeated["pageToken"], json!(token2));
    let normal = get(&fake, &t, &path, &[("pageToken", &token2)])
        .await
        .json();
    assert_ne!(normal["pageToken"], json!(token2));
    assert_eq!(repeated["rows"], normal["rows"]);
    fake.faults()
        .add(FaultRule::new(Fault::MissingField).on_path("/queries/"));
    let missing = get(&fake, &t, &path, &[("pageToken", &token2)])
        .await
        .json();
    assert!(missing.get("schema").is_none() && missing["rows"].is_array());

    let datasets = format!("/projects/{}/datasets", fake.project());
    fake.faults()
        .add(FaultRule::new(Fault::Malformed).on_path("/datasets"));
    let reply = get(&fake, &t, &datasets, &[]).await;
    assert_eq!(reply.status, 200);
    assert!(serde_json::from_str::<Value>(&reply.body).is_err());
    fake.faults()
        .add(FaultRule::new(Fault::Truncated).on_path("/tables"));
    let reply = get(
        &fake,
        &t,
        &format!("{datasets}/{}/tables", fake.dataset()),
        &[],
    )
    .await;
    assert_eq!(reply.status, 200);
    assert!(serde_json::from_str::<Value>(&reply.body).is_err());
    fake.faults()
        .add(FaultRule::new(Fault::Delay(Duration::from_millis(30))));
    assert_eq!(get(&fake, &t, &datasets, &[]).await.status, 200);

    assert_eq!(fake.faults().fired(), 9);
    assert_eq!(fake.faults().remaining(), 0);
    // The log keeps the SQL that was sent.
    let sent = fake.log().requests_to("/queries");
    let first_body: Value = serde_json::from_str(&sent[0].body).unwrap();
    assert_eq!(first_body["useLegacySql"], false);
}

#[tokio::test]
async fn another_billing_currency_is_reported_and_converted() {
    let usd = start(builder().days(10)).await;
    let eur = start(builder().days(10).billing_currency("EUR", 920_000)).await;
    let t = token(&eur).await;
    let (from, to) = (eur.truth().first_day(), eur.truth().last_day());
    let body = query_body(
        &section_8_sql(&full_table(&eur), true),
        from,
        to.next_day().unwrap(),
        Some(AI),
    );
    let (rows, _) = run_query(&eur, &t, &body).await;
    assert!(rows.iter().all(|r| r[6] == json!("EUR")));
    assert!(rows.iter().all(|r| r[13] == json!("0.92")));
    assert_eq!(eur.truth().conversion_rate(), "0.92");
    assert_eq!(eur.truth().currency(), "EUR");
    let total: i128 = rows.iter().map(|r| nanos(r[8].as_str().unwrap())).sum();
    let eur_total = nanos(&eur.truth().ai_totals(from, to).cost);
    let usd_total = nanos(&usd.truth().ai_totals(from, to).cost);
    assert_eq!(total, eur_total);
    assert!(eur_total < usd_total && eur_total > usd_total * 91 / 100);
}

#[tokio::test]
async fn the_same_seed_gives_the_same_export() {
    let a = builder().build().truth();
    let b = builder().build().truth();
    let c = builder().seed(8).build().truth();
    let (from, to) = (a.first_day(), a.last_day());
    assert_eq!(a.lines(from, to), b.lines(from, to));
    assert_ne!(a.lines(from, to), c.lines(from, to));
    assert_eq!(a.table(), b.table());
    assert_ne!(a.table(), c.table());
    assert!(a.table().starts_with("gcp_billing_export_v1_01"));

    let fake = start(builder().days(3)).await;
    let key: Value =
        serde_json::from_str(&fake.service_account_key_json(&keys().private_pem)).unwrap();
    assert_eq!(key["type"], "service_account");
    assert_eq!(key["token_uri"], json!(fake.token_uri()));
    assert_eq!(key["client_email"], json!(fake.client_email()));
    assert!(
        key["private_key"]
            .as_str()
            .unwrap()
            .contains("BEGIN PRIVATE KEY")
    );
    assert!(fake.base_url().ends_with("/bigquery/v2"));
}

#[tokio::test]
async fn an_unpruned_scan_is_refused_and_a_narrow_margin_loses_late_rows() {
    let fake = start(builder().days(20)).await;
    let truth = fake.truth();
    let t = token(&fake).await;
    let table = full_table(&fake);
    let day = date!(2025 - 06 - 20);
    let next = date!(2025 - 06 - 21);
    let good = section_8_sql(&table, true);
    // No partition filter: BigQuery's words for a table that needs one.
    let unpruned = good.replace(
        "\n  AND _PARTITIONTIME >= @partition_start AND _PARTITIONTIME < @partition_end",
        "",
    );
    assert_ne!(unpruned, good);
    let mut body = query_body(&unpruned, day, next, Some(AI));
    body["queryParameters"].as_array_mut().unwrap().remove(3);
    body["queryParameters"].as_array_mut().unwrap().remove(2);
    let reply = post_query(&fake, &t, &body).await;
    assert_eq!(error_reason(&reply, 400), "invalidQuery");
    assert!(
        reply.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("without a filter over column(s)"),
        "{}",
        reply.body
    );
    // Only a lower bound, or a bound from long before the window: not pruning either.
    let open = good.replace(" AND _PARTITIONTIME < @partition_end", "");
    assert_eq!(
        error_reason(
            &post_query(&fake, &t, &query_body(&open, day, next, Some(AI))).await,
            400
        ),
        "invalidQuery"
    );
    let mut wide = query_body(&good, day, next, Some(AI));
    wide["queryParameters"][2] = partition_parameter("partition_start", date!(2025 - 01 - 01));
    assert_eq!(
        error_reason(&post_query(&fake, &t, &wide).await, 400),
        "invalidQuery"
    );
    // ±3 days: the whole day, as the truth has it; bytes of those partitions only.
    let (rows, _) = run_query(&fake, &t, &query_body(&good, day, next, Some(AI))).await;
    let cost: i128 = rows.iter().map(|r| nanos(r[8].as_str().unwrap())).sum();
    assert_eq!(cost, nanos(&truth.ai_totals(day, day).cost));
    let reply = post_query(&fake, &t, &query_body(&good, day, next, Some(AI))).await;
    let bytes = reply.json()["totalBytesProcessed"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        bytes,
        truth
            .bytes_of_partitions(date!(2025 - 06 - 17), date!(2025 - 06 - 23))
            .to_string()
    );
    // The day's own partition only: late rows are in later partitions, so the day is short.
    let mut narrow = query_body(&good, day, next, Some(AI));
    narrow["queryParameters"][2] = partition_parameter("partition_start", day);
    narrow["queryParameters"][3] = partition_parameter("partition_end", next);
    let (rows, _) = run_query(&fake, &t, &narrow).await;
    let short: i128 = rows.iter().map(|r| nanos(r[8].as_str().unwrap())).sum();
    assert!(short < cost, "{short} < {cost}");
    // _PARTITIONDATE with BETWEEN and DATE parameters is understood too.
    let by_date = good.replace(
        "_PARTITIONTIME >= @partition_start AND _PARTITIONTIME < @partition_end",
        "_PARTITIONDATE BETWEEN @partition_start AND @partition_end",
    );
    let mut body = query_body(&by_date, day, next, Some(AI));
    body["queryParameters"][2] = json!({"name": "partition_start",
        "parameterType": {"type": "DATE"}, "parameterValue": {"value": "2025-06-17"}});
    body["queryParameters"][3] = json!({"name": "partition_end",
        "parameterType": {"type": "DATE"}, "parameterValue": {"value": "2025-06-23"}});
    let (rows, _) = run_query(&fake, &t, &body).await;
    let by_date_cost: i128 = rows.iter().map(|r| nanos(r[8].as_str().unwrap())).sum();
    assert_eq!(by_date_cost, cost);
}

#[tokio::test]
async fn an_unpartitioned_table_refuses_partitiontime_and_is_scanned_whole() {
    let fake = start(builder().days(10).partitioned(false)).await;
    let t = token(&fake).await;
    let good = section_8_sql(&full_table(&fake), true);
    let (from, next) = (date!(2025 - 06 - 25), date!(2025 - 06 - 26));
    let reply = post_query(&fake, &t, &query_body(&good, from, next, Some(AI))).await;
    assert_eq!(error_reason(&reply, 400), "invalidQuery");
    assert!(
        reply.body.contains("Unrecognized name: _PARTITIONTIME"),
        "{}",
        reply.body
    );
    let unpruned = good.replace(
        "\n  AND _PARTITIONTIME >= @partition_start AND _PARTITIONTIME < @partition_end",
        "",
    );
    let mut body = query_body(&unpruned, from, next, Some(AI));
    body["queryParameters"].as_array_mut().unwrap().remove(3);
    body["queryParameters"].as_array_mut().unwrap().remove(2);
    let reply = post_query(&fake, &t, &body).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(
        reply.json()["totalBytesProcessed"],
        json!(fake.truth().bytes_of_table().to_string())
    );
}
