//! BigQuery REST calls with a service-account token: the token is fetched from the key's own
//! `token_uri`, cached until shortly before it expires and fetched again once when BigQuery
//! answers 401; every call is retried with backoff and jitter on 429, 5xx, transport errors
//! and BigQuery's retryable 403 reasons (`rateLimitExceeded`), honoring `Retry-After`.
//!
//! Google's error envelope (`{"error": {"code", "message", "errors": [{"reason"}]}}`) becomes a
//! [`ProviderError`] that names the role to grant, the dataset to check, or the quota hit.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue, RETRY_AFTER};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use time::OffsetDateTime;
use url::Url;

use crate::error::ProviderError;
use crate::http::{
    At, CallStats, HttpSettings, decode, endpoint_url, is_retryable_status, parse_retry_after,
    provider_message, retry_delay, transport_detail, user_agent,
};

use super::PROVIDER;
use super::key::ServiceAccount;

/// BigQuery error reasons worth another try (they come with HTTP 403 or 5xx).
const RETRYABLE_REASONS: [&str; 4] = [
    "rateLimitExceeded",
    "jobRateLimitExceeded",
    "backendError",
    "internalError",
];

/// An access token and when to stop using it.
struct AccessToken {
    value: String,
    refresh_at: Instant,
}

/// One fetch's BigQuery client.
pub(crate) struct BigQuery<'a> {
    http: reqwest::Client,
    base: Url,
    account: ServiceAccount,
    token: Option<AccessToken>,
    settings: HttpSettings,
    stats: &'a CallStats,
}

/// A response that was not worth retrying, or the last one.
struct Answer {
    status: StatusCode,
    body: Vec<u8>,
}

/// Why an attempt failed in a way worth retrying.
enum Failure {
    Status {
        status: StatusCode,
        message: String,
        retry_after: Option<Duration>,
    },
    Transport(String),
    CutOff(String),
}

#[derive(Deserialize)]
struct TokenReply {
    access_token: Option<String>,
    expires_in: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct TokenRefusal {
    error: Option<String>,
    error_description: Option<String>,
}

#[derive(Deserialize, Default)]
struct Envelope {
    error: Option<GoogleError>,
}

#[derive(Deserialize, Default)]
struct GoogleError {
    status: Option<String>,
    #[serde(default)]
    errors: Vec<ErrorItem>,
}

#[derive(Deserialize)]
struct ErrorItem {
    reason: Option<String>,
}

/// The reason of a Google error envelope (`accessDenied`, `notFound`, …), if any.
fn reason_of(body: &[u8]) -> Option<String> {
    let envelope: Envelope = serde_json::from_slice(body).unwrap_or_default();
    let error = envelope.error?;
    error
        .errors
        .iter()
        .find_map(|item| item.reason.clone())
        .or(error.status)
}

impl<'a> BigQuery<'a> {
    pub(crate) fn new(
        account: ServiceAccount,
        base: Url,
        settings: &HttpSettings,
        stats: &'a CallStats,
    ) -> Result<BigQuery<'a>, ProviderError> {
        let _already_installed = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .timeout(settings.timeout)
            .connect_timeout(settings.connect_timeout)
            .user_agent(user_agent())
            .build()
            .map_err(|error| ProviderError::InvalidBaseUrl {
                provider: PROVIDER,
                url: base.to_string(),
                reason: format!("the HTTP client could not be built: {error}"),
                default: crate::default_base_url(PROVIDER).to_string(),
            })?;
        Ok(BigQuery {
            http,
            base,
            account,
            token: None,
            settings: settings.clone(),
            stats,
        })
    }

    pub(crate) fn account(&self) -> &ServiceAccount {
        &self.account
    }

    pub(crate) fn settings(&self) -> &HttpSettings {
        &self.settings
    }

    /// GET `path` (relative to the BigQuery base URL) with `query`, as `T`.
    pub(crate) async fn get<T: DeserializeOwned>(
        &mut self,
        path: &str,
        query: &[(&str, String)],
        page: u32,
    ) -> Result<T, ProviderError> {
        self.call(reqwest::Method::GET, path, query, None, page)
            .await
    }

    /// POST `body` as JSON to `path`, as `T`.
    pub(crate) async fn post<T: DeserializeOwned>(
        &mut self,
        path: &str,
        body: &serde_json::Value,
        page: u32,
    ) -> Result<T, ProviderError> {
        self.call(reqwest::Method::POST, path, &[], Some(body), page)
            .await
    }

    async fn call<T: DeserializeOwned>(
        &mut self,
        method: reqwest::Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&serde_json::Value>,
        page: u32,
    ) -> Result<T, ProviderError> {
        let at = At {
            endpoint: path,
            page,
        };
        let url = endpoint_url(&self.base, path, query);
        let mut refreshed = false;
        loop {
            let token = self.token().await?;
            let mut bearer = HeaderValue::from_str(&format!("Bearer {token}"))
                .map_err(|_| ProviderError::UnusableCredential { provider: PROVIDER })?;
            bearer.set_sensitive(true);
            let http = &self.http;
            let answer = exchange(
                || {
                    let request = http
                        .request(method.clone(), url.clone())
                        .header(AUTHORIZATION, bearer.clone());
                    match body {
                        Some(json) => request.json(json),
                        None => request,
                    }
                },
                at,
                &self.settings,
                self.stats,
                &token,
            )
            .await?;
            if answer.status == StatusCode::UNAUTHORIZED && !refreshed {
                // The token expired or was revoked early: fetch a new one, once.
                tracing::info!(
                    provider = PROVIDER.as_str(),
                    "BigQuery answered 401; fetching a new access token"
                );
                self.token = None;
                refreshed = true;
                self.stats.count_retry();
                continue;
            }
            if answer.status.is_success() {
                let value = decode(PROVIDER, at, &answer.body)?;
                self.stats.count_page();
                return Ok(value);
            }
            return Err(self.bigquery_refusal(answer, at, &token));
        }
    }

    /// The cached access token, or a new one from the key's `token_uri`.
    async fn token(&mut self) -> Result<String, ProviderError> {
        if let Some(token) = &self.token
            && Instant::now() < token.refresh_at
        {
            return Ok(token.value.clone());
        }
        let fetched = self.fetch_token().await?;
        let value = fetched.value.clone();
        self.token = Some(fetched);
        Ok(value)
    }

    async fn fetch_token(&self) -> Result<AccessToken, ProviderError> {
        let token_uri = self.account.token_uri.clone();
        let endpoint = token_uri.path().to_owned();
        let at = At {
            endpoint: &endpoint,
            page: 1,
        };
        let assertion = self
            .account
            .assertion(OffsetDateTime::now_utc().unix_timestamp())?;
        let form: String = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer")
            .append_pair("assertion", &assertion)
            .finish();
        let http = &self.http;
        let answer = exchange(
            || {
                http.post(token_uri.clone())
                    .header(
                        CONTENT_TYPE,
                        HeaderValue::from_static("application/x-www-form-urlencoded"),
                    )
                    .body(form.clone())
            },
            at,
            &self.settings,
            self.stats,
            "",
        )
        .await?;
        if !answer.status.is_success() {
            let refusal: Option<TokenRefusal> = serde_json::from_slice(&answer.body).ok();
            let message = match refusal {
                Some(TokenRefusal {
                    error: Some(error),
                    error_description,
                }) => match error_description {
                    Some(description) => format!("{error}: {description}"),
                    None => error,
                },
                _ => provider_message(&answer.body, ""),
            };
            let message = provider_message(message.as_bytes(), "");
            return Err(ProviderError::CredentialRejected {
                provider: PROVIDER,
                endpoint: format!("the token endpoint {}", token_uri),
                status: answer.status.as_u16(),
                advice: format!(
                    "Google did not accept the service account {}: its key may have been deleted \
                     or disabled, or the account itself removed. Download a new JSON key (IAM & \
                     Admin → Service accounts → Keys → Add key) and update the connection; if \
                     the message mentions the time, check this server's clock.",
                    self.account.client_email
                ),
                message,
            });
        }
        let reply: TokenReply = decode(PROVIDER, at, &answer.body)?;
        let value = reply
            .access_token
            .filter(|token| !token.trim().is_empty())
            .ok_or_else(|| ProviderError::UnexpectedPage {
                provider: PROVIDER,
                endpoint: endpoint.clone(),
                page: 1,
                detail: "the token endpoint answered without an access_token".to_owned(),
            })?;
        let lifetime = reply
            .expires_in
            .and_then(|value| match value {
                serde_json::Value::Number(n) => n.as_u64(),
                serde_json::Value::String(s) => s.trim().parse().ok(),
                _ => None,
            })
            .unwrap_or(3600);
        // Stop using it a little before it runs out: a minute, or a quarter of a short lifetime.
        let margin = (lifetime / 4).min(60);
        Ok(AccessToken {
            value,
            refresh_at: Instant::now() + Duration::from_secs(lifetime.saturating_sub(margin)),
        })
    }

    /// What a BigQuery refusal means for the user.
    fn bigquery_refusal(&self, answer: Answer, at: At<'_>, token: &str) -> ProviderError {
        let status = answer.status.as_u16();
        let reason = reason_of(&answer.body).unwrap_or_default();
        let message = provider_message(&answer.body, token);
        let endpoint = at.endpoint.to_owned();
        let page = at.page;
        let email = &self.account.client_email;
        let project = &self.account.project_id;
        let refused = |advice: String| ProviderError::RequestRefused {
            provider: PROVIDER,
            endpoint: endpoint.clone(),
            page,
            status,
            message: message.clone(),
            advice,
        };
        match (status, reason.as_str()) {
            (401, _) => ProviderError::CredentialRejected {
                provider: PROVIDER,
                endpoint,
                status,
                message,
                advice: format!(
                    "BigQuery did not accept a fresh access token for {email}: the service \
                     account may be disabled; check it in IAM & Admin → Service accounts, or \
                     download a new JSON key and update the connection."
                ),
            },
            (403, "quotaExceeded") => refused(
                "a BigQuery quota of the project is used up; try again later or raise the quota"
                    .to_owned(),
            ),
            (403, "billingNotEnabled") => refused(format!(
                "BigQuery needs billing enabled on project {project}, which runs the queries"
            )),
            (403, _) => ProviderError::CredentialRejected {
                provider: PROVIDER,
                endpoint,
                status,
                message,
                advice: format!(
                    "Grant the service account {email} the BigQuery Data Viewer role \
                     (roles/bigquery.dataViewer) on the billing export dataset (or its project) \
                     and the BigQuery Job User role (roles/bigquery.jobUser) on project \
                     {project}, which runs the queries; then sync again."
                ),
            },
            (404, _) => refused(
                "check that the billing export dataset and table exist and that the service \
                 account can see them: set \"billing_dataset\" in the key JSON to the \
                 project.dataset of the Cloud Billing export (Billing → Billing export → \
                 BigQuery export), and check that the dataset's location (US, EU, …) is the \
                 one BigQuery reports"
                    .to_owned(),
            ),
            (_, "bytesBilledLimitExceeded") => refused(format!(
                "the billing export query would scan more than {} GB, the limit spendlens sets \
                 so a sync never runs up a large BigQuery bill; please report it",
                super::MAX_BYTES_BILLED / 1_000_000_000
            )),
            (_, "invalidQuery") => refused(
                "the billing export table does not have the columns of the standard usage cost \
                 export (service, sku, usage_start_time, project, cost, credits, usage); check \
                 that billing_dataset points at a gcp_billing_export_v1_… table"
                    .to_owned(),
            ),
            _ => refused("try again later; if it persists, please report it".to_owned()),
        }
    }
}

/// Sends a request (built anew for every attempt), retrying what is worth retrying. Returns
/// the answer when it is a success or a refusal not worth retrying; the caller reads it.
async fn exchange(
    build: impl Fn() -> reqwest::RequestBuilder,
    at: At<'_>,
    settings: &HttpSettings,
    stats: &CallStats,
    secret: &str,
) -> Result<Answer, ProviderError> {
    let mut retry: u32 = 0;
    loop {
        stats.count_call();
        tracing::debug!(
            provider = PROVIDER.as_str(),
            endpoint = at.endpoint,
            page = at.page,
            retry,
            "request"
        );
        let failure = match build().send().await {
            Err(error) if error.is_builder() => {
                return Err(ProviderError::InvalidBaseUrl {
                    provider: PROVIDER,
                    url: at.endpoint.to_owned(),
                    reason: transport_detail(&error, settings),
                    default: crate::default_base_url(PROVIDER).to_string(),
                });
            }
            Err(error) => Failure::Transport(transport_detail(&error, settings)),
            Ok(response) => {
                let status = response.status();
                let retry_after = response
                    .headers()
                    .get(RETRY_AFTER)
                    .and_then(|value| value.to_str().ok())
                    .and_then(|value| parse_retry_after(value, OffsetDateTime::now_utc()));
                match response.bytes().await {
                    Ok(body) => {
                        let body = body.to_vec();
                        let retryable = is_retryable_status(status)
                            || reason_of(&body)
                                .is_some_and(|reason| RETRYABLE_REASONS.contains(&reason.as_str()));
                        if status.is_success() || !retryable {
                            return Ok(Answer { status, body });
                        }
                        Failure::Status {
                            status,
                            message: provider_message(&body, secret),
                            retry_after,
                        }
                    }
                    Err(error) => Failure::CutOff(format!(
                        "the connection broke while the page was being read ({})",
                        transport_detail(&error, settings)
                    )),
                }
            }
        };
        if retry >= settings.max_retries {
            return Err(gave_up(failure, at, settings.max_retries));
        }
        let retry_after = match &failure {
            Failure::Status { retry_after, .. } => *retry_after,
            _ => None,
        };
        let delay = retry_delay(retry, retry_after, settings, rand::random::<f64>());
        tracing::warn!(
            provider = PROVIDER.as_str(),
            endpoint = at.endpoint,
            page = at.page,
            retry = retry + 1,
            delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
            "retrying"
        );
        tokio::time::sleep(delay).await;
        retry += 1;
        stats.count_retry();
    }
}

fn gave_up(failure: Failure, at: At<'_>, retries: u32) -> ProviderError {
    let endpoint = at.endpoint.to_owned();
    let page = at.page;
    match failure {
        Failure::Status { status, .. }
            if status == StatusCode::TOO_MANY_REQUESTS || status == StatusCode::FORBIDDEN =>
        {
            ProviderError::RateLimited {
                provider: PROVIDER,
                endpoint,
                page,
                retries,
            }
        }
        Failure::Status {
            status, message, ..
        } => ProviderError::ServerError {
            provider: PROVIDER,
            endpoint,
            page,
            status: status.as_u16(),
            retries,
            message,
        },
        Failure::Transport(detail) => ProviderError::Unreachable {
            provider: PROVIDER,
            endpoint,
            page,
            retries,
            detail,
        },
        Failure::CutOff(detail) => ProviderError::TruncatedPage {
            provider: PROVIDER,
            endpoint,
            page,
            detail: format!("{detail} (after {retries} retries)"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reason_is_read_from_google_s_envelope() {
        let body = br#"{"error":{"code":403,"message":"Access Denied: Table x","errors":[{"message":"Access Denied","domain":"global","reason":"accessDenied"}],"status":"PERMISSION_DENIED"}}"#;
        assert_eq!(reason_of(body).as_deref(), Some("accessDenied"));
        let body = br#"{"error":{"code":403,"message":"Exceeded rate limits","errors":[{"reason":"rateLimitExceeded"}]}}"#;
        assert_eq!(reason_of(body).as_deref(), Some("rateLimitExceeded"));
        assert_eq!(reason_of(b"<html>"), None);
    }
}
