//! The shared client: settings and counters of one fetch, the request profile a connector
//! gives (auth headers, advice for a refused credential), and GET/POST calls that go through
//! the one retry loop and decode the page.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{HeaderMap, HeaderValue};
use serde::de::DeserializeOwned;
use spendlens_domain::ProviderKind;
use url::Url;

use super::decode::{decode, provider_message};
use super::retry::{Attempts, RetryPolicy, send};
use crate::error::ProviderError;

/// Timeouts and retry policy of the connectors' HTTP calls.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpSettings {
    /// Whole request, body included.
    pub timeout: Duration,
    pub connect_timeout: Duration,
    /// Retries after the first attempt, on 429, 5xx and network errors.
    pub max_retries: u32,
    /// The first backoff ceiling; it doubles on every retry.
    pub base_backoff: Duration,
    /// The highest backoff ceiling.
    pub max_backoff: Duration,
    /// The longest wait a provider's `Retry-After` can impose.
    pub max_retry_after: Duration,
}

impl Default for HttpSettings {
    fn default() -> HttpSettings {
        HttpSettings {
            timeout: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(10),
            max_retries: 6,
            base_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
            max_retry_after: Duration::from_secs(120),
        }
    }
}

/// Counters of one fetch, readable while it runs (a progress bar polls them).
#[derive(Debug, Default)]
pub struct CallStats {
    http_calls: AtomicU64,
    retries: AtomicU64,
    pages: AtomicU64,
}

/// A copy of [`CallStats`] at one moment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CallCounts {
    /// Every HTTP attempt, retries included.
    pub http_calls: u64,
    /// Attempts that repeated an earlier one after a 429, a 5xx or a network error.
    pub retries: u64,
    /// Pages received and decoded.
    pub pages: u64,
}

impl CallStats {
    pub fn new() -> CallStats {
        CallStats::default()
    }

    pub fn snapshot(&self) -> CallCounts {
        CallCounts {
            http_calls: self.http_calls.load(Ordering::Relaxed),
            retries: self.retries.load(Ordering::Relaxed),
            pages: self.pages.load(Ordering::Relaxed),
        }
    }

    pub(crate) fn count_call(&self) {
        self.http_calls.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn count_retry(&self) {
        self.retries.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn count_page(&self) {
        self.pages.fetch_add(1, Ordering::Relaxed);
    }
}

/// Where in a listing a request is: the endpoint path (no host, no query) and the 1-based page.
#[derive(Clone, Copy, Debug)]
pub(crate) struct At<'a> {
    pub endpoint: &'a str,
    pub page: u32,
}

/// What a connector tells the shared client about its provider.
pub(crate) struct Profile {
    pub provider: ProviderKind,
    /// Auth and version headers; the secret ones marked sensitive.
    pub headers: HeaderMap,
    /// What to tell the user when the provider answers 401/403 with `message`.
    pub rejected_advice: fn(status: u16, message: &str) -> String,
}

/// A provider's API at one base URL, with the credential and the retry policy of one fetch.
pub(crate) struct Client<'a> {
    http: reqwest::Client,
    base: Url,
    profile: Profile,
    secret: &'a str,
    settings: HttpSettings,
    stats: &'a CallStats,
}

/// The User-Agent every connector sends (Anthropic asks integrations to set one).
pub(crate) fn user_agent() -> String {
    format!(
        "spendlens/{} (self-hosted AI spend platform)",
        env!("CARGO_PKG_VERSION")
    )
}

/// A header value carrying the secret, marked sensitive so it is never printed.
pub(crate) fn secret_header(
    provider: ProviderKind,
    value: &str,
) -> Result<HeaderValue, ProviderError> {
    let mut header =
        HeaderValue::from_str(value).map_err(|_| ProviderError::UnusableCredential { provider })?;
    header.set_sensitive(true);
    Ok(header)
}

impl<'a> Client<'a> {
    pub(crate) fn new(
        profile: Profile,
        base: Url,
        secret: &'a str,
        settings: &HttpSettings,
        stats: &'a CallStats,
    ) -> Result<Client<'a>, ProviderError> {
        let http = http_client(profile.provider, &base, settings)?;
        Ok(Client {
            http,
            base,
            profile,
            secret,
            settings: settings.clone(),
            stats,
        })
    }

    pub(crate) fn provider(&self) -> ProviderKind {
        self.profile.provider
    }

    /// The credential, to scrub from messages a connector reads itself.
    pub(crate) fn secret(&self) -> &str {
        self.secret
    }

    /// GET `path` (relative to the base URL) with `query`, retried as the settings allow,
    /// decoded as `T`. Counts one page on success.
    pub(crate) async fn get<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
        page: u32,
    ) -> Result<T, ProviderError> {
        let url = endpoint_url(&self.base, path, query);
        self.get_url(url, path, page).await
    }

    /// GET an absolute `url` the provider handed out (a next-page link), named `endpoint` in
    /// errors, decoded as `T`. Counts one page on success.
    pub(crate) async fn get_url<T: DeserializeOwned>(
        &self,
        url: Url,
        endpoint: &str,
        page: u32,
    ) -> Result<T, ProviderError> {
        let at = At { endpoint, page };
        let body = self
            .request_body(reqwest::Method::GET, url, None, at)
            .await?;
        let value = decode(self.provider(), at, &body)?;
        self.stats.count_page();
        Ok(value)
    }

    /// POST `body` as JSON to `path` (relative to the base URL) with `query`, retried as the
    /// settings allow, decoded as `T`. Counts one page on success.
    pub(crate) async fn post_json<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
        body: &serde_json::Value,
        page: u32,
    ) -> Result<T, ProviderError> {
        let at = At {
            endpoint: path,
            page,
        };
        let url = endpoint_url(&self.base, path, query);
        let bytes = self
            .request_body(reqwest::Method::POST, url, Some(body), at)
            .await?;
        let value = decode(self.provider(), at, &bytes)?;
        self.stats.count_page();
        Ok(value)
    }

    async fn request_body(
        &self,
        method: reqwest::Method,
        url: Url,
        json: Option<&serde_json::Value>,
        at: At<'_>,
    ) -> Result<Vec<u8>, ProviderError> {
        let attempts = Attempts {
            provider: self.provider(),
            settings: &self.settings,
            stats: self.stats,
            policy: RetryPolicy::STANDARD,
        };
        let answer = send(
            &attempts,
            || {
                let request = self
                    .http
                    .request(method.clone(), url.clone())
                    .headers(self.profile.headers.clone());
                match json {
                    Some(json) => request.json(json),
                    None => request,
                }
            },
            at,
            self.base.as_str(),
            self.secret,
        )
        .await?;
        if answer.status.is_success() {
            return Ok(answer.body);
        }
        let message = provider_message(&answer.body, self.secret);
        Err(self.refusal(answer.status, message, at))
    }

    fn refusal(&self, status: StatusCode, message: String, at: At<'_>) -> ProviderError {
        let provider = self.provider();
        let code = status.as_u16();
        if code == 401 || code == 403 {
            return ProviderError::CredentialRejected {
                provider,
                endpoint: at.endpoint.to_owned(),
                status: code,
                advice: (self.profile.rejected_advice)(code, &message),
                message,
            };
        }
        let advice = match code {
            404 => format!(
                "check the connection's base URL ({}); it should point at the {} API",
                self.base,
                provider.display_name()
            ),
            400 | 422 => format!(
                "{} did not accept spendlens's request; the API may have changed, please report it",
                provider.display_name()
            ),
            _ => "try again later; if it persists, please report it".to_owned(),
        };
        ProviderError::RequestRefused {
            provider,
            endpoint: at.endpoint.to_owned(),
            page: at.page,
            status: code,
            message,
            advice,
        }
    }
}

/// The base URL with `path` appended (the base's own path is kept, so `…/v1` +
/// `/organization/costs` is `…/v1/organization/costs`) and `query` as repeated keys.
pub(crate) fn endpoint_url(base: &Url, path: &str, query: &[(&str, String)]) -> Url {
    let mut url = base.clone();
    let joined = format!(
        "{}/{}",
        base.path().trim_end_matches('/'),
        path.trim_start_matches('/')
    );
    url.set_path(&joined);
    url.set_query(None);
    url.set_fragment(None);
    if !query.is_empty() {
        let mut pairs = url.query_pairs_mut();
        for (key, value) in query {
            pairs.append_pair(key, value);
        }
    }
    url
}

/// A reqwest client with the fetch's timeouts and spendlens's User-Agent.
pub(crate) fn http_client(
    provider: ProviderKind,
    base: &Url,
    settings: &HttpSettings,
) -> Result<reqwest::Client, ProviderError> {
    // The binary installs ring at start; this makes the library work on its own too (the
    // call fails harmlessly when a provider is already installed).
    let _already_installed = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .timeout(settings.timeout)
        .connect_timeout(settings.connect_timeout)
        .user_agent(user_agent())
        .build()
        .map_err(|error| ProviderError::InvalidBaseUrl {
            provider,
            url: base.to_string(),
            reason: format!("the HTTP client could not be built: {error}"),
            default: crate::default_base_url(provider).to_string(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_paths_are_appended_to_the_base_path() {
        let base = Url::parse("https://api.openai.com/v1").unwrap();
        let url = endpoint_url(
            &base,
            "/organization/usage/completions",
            &[
                ("group_by", "project_id".to_owned()),
                ("group_by", "model".to_owned()),
            ],
        );
        assert_eq!(
            url.as_str(),
            "https://api.openai.com/v1/organization/usage/completions?group_by=project_id&group_by=model"
        );
        let base = Url::parse("http://127.0.0.1:9/anthropic/").unwrap();
        let url = endpoint_url(&base, "/v1/organizations/cost_report", &[]);
        assert_eq!(
            url.as_str(),
            "http://127.0.0.1:9/anthropic/v1/organizations/cost_report"
        );
    }
}
