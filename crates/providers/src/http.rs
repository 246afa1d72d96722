//! The HTTP layer every connector shares: one reqwest client per fetch, retries with
//! exponential backoff and full jitter honoring `Retry-After`, call counting, JSON decoding
//! that tells a cut-off page from a malformed one, and the guards that stop a listing that
//! repeats itself.
//!
//! Secrets travel only in headers marked sensitive; nothing here logs a header, and provider
//! messages are scrubbed of the credential before they reach an error.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{HeaderMap, HeaderValue, RETRY_AFTER};
use serde::de::DeserializeOwned;
use spendlens_domain::{Day, DayRange, ProviderKind};
use time::OffsetDateTime;
use url::Url;

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
        // The binary installs ring at start; this makes the library work on its own too (the
        // call fails harmlessly when a provider is already installed).
        let _already_installed = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .timeout(settings.timeout)
            .connect_timeout(settings.connect_timeout)
            .user_agent(user_agent())
            .build()
            .map_err(|error| ProviderError::InvalidBaseUrl {
                provider: profile.provider,
                url: base.to_string(),
                reason: format!("the HTTP client could not be built: {error}"),
                default: crate::default_base_url(profile.provider).to_string(),
            })?;
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

    /// GET `path` (relative to the base URL) with `query`, retried as the settings allow,
    /// decoded as `T`. Counts one page on success.
    pub(crate) async fn get<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
        page: u32,
    ) -> Result<T, ProviderError> {
        let at = At {
            endpoint: path,
            page,
        };
        let url = endpoint_url(&self.base, path, query);
        let body = self
            .request_body(reqwest::Method::GET, url, None, at)
            .await?;
        let value = decode(self.provider(), at, &body)?;
        self.stats.count_page();
        Ok(value)
    }

    /// POST `body` as JSON to `path` (relative to the base URL) with `query`, retried as the
    /// settings allow, decoded as `T`. Counts one page on success.
    #[allow(
        dead_code,
        reason = "used by the Runway and Vertex connectors being added"
    )]
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
        let provider = self.provider();
        let mut retry: u32 = 0;
        loop {
            self.stats.count_call();
            tracing::debug!(
                provider = provider.as_str(),
                endpoint = at.endpoint,
                page = at.page,
                retry,
                method = %method,
                "request"
            );
            let mut request = self
                .http
                .request(method.clone(), url.clone())
                .headers(self.profile.headers.clone());
            if let Some(json) = json {
                request = request.json(json);
            }
            let outcome = request.send().await;
            // Either a value to return, or why and how long to wait before trying again.
            let failure: Failure = match outcome {
                Err(error) if error.is_builder() => {
                    return Err(ProviderError::InvalidBaseUrl {
                        provider,
                        url: self.base.to_string(),
                        reason: transport_detail(&error, &self.settings),
                        default: crate::default_base_url(provider).to_string(),
                    });
                }
                Err(error) => Failure::Transport(transport_detail(&error, &self.settings)),
                Ok(response) => {
                    let status = response.status();
                    let retry_after = response
                        .headers()
                        .get(RETRY_AFTER)
                        .and_then(|value| value.to_str().ok())
                        .and_then(|value| parse_retry_after(value, OffsetDateTime::now_utc()));
                    let body = response.bytes().await;
                    match (status.is_success(), body) {
                        (true, Ok(body)) => return Ok(body.to_vec()),
                        (true, Err(error)) => Failure::CutOff(body_detail(&error)),
                        (false, body) => {
                            let text = body.map(|b| b.to_vec()).unwrap_or_default();
                            let message = provider_message(&text, self.secret);
                            if !is_retryable_status(status) {
                                return Err(self.refusal(status, message, at));
                            }
                            Failure::Status {
                                status,
                                message,
                                retry_after,
                            }
                        }
                    }
                }
            };
            if retry >= self.settings.max_retries {
                return Err(self.gave_up(failure, at));
            }
            let retry_after = match &failure {
                Failure::Status { retry_after, .. } => *retry_after,
                _ => None,
            };
            let delay = retry_delay(retry, retry_after, &self.settings, rand::random::<f64>());
            tracing::warn!(
                provider = provider.as_str(),
                endpoint = at.endpoint,
                page = at.page,
                retry = retry + 1,
                delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                problem = %failure.short(),
                "retrying"
            );
            tokio::time::sleep(delay).await;
            retry += 1;
            self.stats.count_retry();
        }
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

    fn gave_up(&self, failure: Failure, at: At<'_>) -> ProviderError {
        let provider = self.provider();
        let endpoint = at.endpoint.to_owned();
        let page = at.page;
        let retries = self.settings.max_retries;
        match failure {
            Failure::Status { status, .. } if status == StatusCode::TOO_MANY_REQUESTS => {
                ProviderError::RateLimited {
                    provider,
                    endpoint,
                    page,
                    retries,
                }
            }
            Failure::Status {
                status, message, ..
            } => ProviderError::ServerError {
                provider,
                endpoint,
                page,
                status: status.as_u16(),
                retries,
                message,
            },
            Failure::Transport(detail) => ProviderError::Unreachable {
                provider,
                endpoint,
                page,
                retries,
                detail,
            },
            Failure::CutOff(detail) => ProviderError::TruncatedPage {
                provider,
                endpoint,
                page,
                detail: format!("{detail} (after {retries} retries)"),
            },
        }
    }
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

impl Failure {
    fn short(&self) -> String {
        match self {
            Failure::Status { status, .. } => format!("HTTP {}", status.as_u16()),
            Failure::Transport(detail) | Failure::CutOff(detail) => detail.clone(),
        }
    }
}

/// 429, the 5xx statuses that signal a passing problem, and Anthropic's 529 (overloaded).
pub(crate) fn is_retryable_status(status: StatusCode) -> bool {
    matches!(status.as_u16(), 429 | 500 | 502 | 503 | 504 | 529)
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

/// A readable cause for a transport error, without the URL.
pub(crate) fn transport_detail(error: &reqwest::Error, settings: &HttpSettings) -> String {
    if error.is_timeout() {
        return format!(
            "no answer within {} s (timed out)",
            settings.timeout.as_secs_f64()
        );
    }
    let root = root_cause(error);
    if error.is_connect() {
        format!("could not connect ({root})")
    } else {
        root
    }
}

fn body_detail(error: &reqwest::Error) -> String {
    format!(
        "the connection broke while the page was being read ({})",
        root_cause(error)
    )
}

fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = error;
    while let Some(source) = cause.source() {
        cause = source;
    }
    let text = cause.to_string();
    // Only reqwest's own errors name the URL (" for url (…)"); keep the words, drop the URL.
    match text.find(" for url (") {
        Some(index) => text[..index].to_owned(),
        None => text,
    }
}

/// The provider's error message from an error body (`{"error": {"message": …}}` for both
/// OpenAI and Anthropic), or the body itself when short, scrubbed of the secret and shortened.
pub(crate) fn provider_message(body: &[u8], secret: &str) -> String {
    #[derive(serde::Deserialize)]
    struct Envelope {
        error: Option<ErrorField>,
        message: Option<String>,
        /// FastAPI's `{"detail": "…"}` (LiteLLM).
        detail: Option<serde_json::Value>,
    }
    /// `{"error": {"message": …}}` (OpenAI, Anthropic, OpenRouter, fal) or
    /// `{"error": "…"}` (Runway).
    #[derive(serde::Deserialize)]
    #[serde(untagged)]
    enum ErrorField {
        Text(String),
        Object(Inner),
    }
    #[derive(serde::Deserialize)]
    struct Inner {
        message: Option<String>,
    }
    let parsed = serde_json::from_slice::<Envelope>(body).ok();
    let message = parsed
        .and_then(|envelope| {
            let detail = match envelope.detail {
                Some(serde_json::Value::String(text)) => Some(text),
                Some(serde_json::Value::Object(map)) => map
                    .get("error")
                    .or_else(|| map.get("message"))
                    .and_then(serde_json::Value::as_str)
                    .map(str::to_owned),
                _ => None,
            };
            envelope
                .error
                .and_then(|error| match error {
                    ErrorField::Text(text) => Some(text),
                    ErrorField::Object(inner) => inner.message,
                })
                .or(envelope.message)
                .or(detail)
        })
        .unwrap_or_else(|| String::from_utf8_lossy(body).into_owned());
    let message: String = message
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .filter(|c| !c.is_control())
        .collect();
    let message = if secret.len() >= 8 {
        message.replace(secret, "[the key]")
    } else {
        message
    };
    if message.is_empty() {
        return "no message".to_owned();
    }
    const LIMIT: usize = 300;
    if message.chars().count() > LIMIT {
        let cut: String = message.chars().take(LIMIT).collect();
        format!("{cut}…")
    } else {
        message
    }
}

/// The decimal text of a JSON number or numeric string, read from its literal text so that a
/// float such as `1.095e-05` never passes through `f64`. `None` for `null` or anything else.
pub(crate) fn number_text(raw: &serde_json::value::RawValue) -> Option<String> {
    let text = raw.get().trim();
    let text = if text.starts_with('"') {
        serde_json::from_str::<String>(text).ok()?
    } else {
        text.to_owned()
    };
    let text = text.trim();
    let numeric = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '-' | '+' | '.' | 'e' | 'E'));
    numeric.then(|| text.to_owned())
}

/// Decodes a page, telling a cut-off body from one that is not JSON from JSON of the wrong shape.
pub(crate) fn decode<T: DeserializeOwned>(
    provider: ProviderKind,
    at: At<'_>,
    body: &[u8],
) -> Result<T, ProviderError> {
    serde_json::from_slice(body).map_err(|error| {
        let endpoint = at.endpoint.to_owned();
        let page = at.page;
        let detail = error.to_string();
        match error.classify() {
            serde_json::error::Category::Eof => ProviderError::TruncatedPage {
                provider,
                endpoint,
                page,
                detail: format!("the JSON stops early ({detail})"),
            },
            serde_json::error::Category::Data => ProviderError::UnexpectedPage {
                provider,
                endpoint,
                page,
                detail,
            },
            serde_json::error::Category::Syntax | serde_json::error::Category::Io => {
                ProviderError::InvalidJson {
                    provider,
                    endpoint,
                    page,
                    detail,
                }
            }
        }
    })
}

/// Parses `Retry-After`: delta-seconds (`"120"`, leniently `"1.5"`) or an HTTP-date
/// (`"Wed, 21 Oct 2015 07:28:00 GMT"`), the latter relative to `now`. A date in the past
/// means "now" (zero). `None` when the value is neither.
pub(crate) fn parse_retry_after(value: &str, now: OffsetDateTime) -> Option<Duration> {
    let value = value.trim();
    if value.is_empty() {
        return None;
    }
    if value.bytes().all(|b| b.is_ascii_digit()) {
        return value.parse::<u64>().ok().map(Duration::from_secs);
    }
    if value.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        let seconds = value.parse::<f64>().ok()?;
        return Duration::try_from_secs_f64(seconds).ok();
    }
    let imf_fixdate = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    let at = time::PrimitiveDateTime::parse(value, &imf_fixdate)
        .map(time::PrimitiveDateTime::assume_utc)
        .or_else(|_| OffsetDateTime::parse(value, &time::format_description::well_known::Rfc2822))
        .ok()?;
    let wait = at - now;
    if wait.is_negative() {
        return Some(Duration::ZERO);
    }
    Duration::try_from(wait).ok()
}

/// How long to wait before retry number `retry + 1` (`retry` counts from zero).
///
/// A provider's `Retry-After` wins, capped at `max_retry_after`. Otherwise full jitter: a
/// uniformly random wait between zero and a ceiling of `base_backoff × 2^retry`, itself capped
/// at `max_backoff`; `jitter` is that random draw in `[0, 1]`.
pub(crate) fn retry_delay(
    retry: u32,
    retry_after: Option<Duration>,
    settings: &HttpSettings,
    jitter: f64,
) -> Duration {
    if let Some(wait) = retry_after {
        return wait.min(settings.max_retry_after);
    }
    let factor = 2u32.checked_pow(retry).unwrap_or(u32::MAX);
    let ceiling = settings
        .base_backoff
        .checked_mul(factor)
        .unwrap_or(settings.max_backoff)
        .min(settings.max_backoff);
    let jitter = if jitter.is_finite() {
        jitter.clamp(0.0, 1.0)
    } else {
        1.0
    };
    ceiling.mul_f64(jitter)
}

/// Follows a listing's cursor and refuses one that does not advance: the cursor just sent, or
/// any cursor seen before in this listing.
pub(crate) struct CursorGuard {
    seen: HashSet<String>,
    max_pages: u32,
}

impl CursorGuard {
    pub(crate) fn new(max_pages: u32) -> CursorGuard {
        CursorGuard {
            seen: HashSet::new(),
            max_pages,
        }
    }

    /// `next` is the cursor page `at.page` handed out (`None`: the listing is complete).
    /// Returns the cursor to send for the next page.
    pub(crate) fn advance(
        &mut self,
        provider: ProviderKind,
        at: At<'_>,
        next: Option<String>,
    ) -> Result<Option<String>, ProviderError> {
        let Some(next) = next else {
            return Ok(None);
        };
        if !self.seen.insert(next.clone()) {
            return Err(ProviderError::RepeatedPage {
                provider,
                endpoint: at.endpoint.to_owned(),
                page: at.page,
            });
        }
        if at.page >= self.max_pages {
            return Err(ProviderError::TooManyPages {
                provider,
                endpoint: at.endpoint.to_owned(),
                pages: at.page,
            });
        }
        Ok(Some(next))
    }
}

/// The days of one bucket listing: each must be inside the window and appear once.
pub(crate) struct DayGuard {
    window: DayRange,
    seen: HashSet<Day>,
}

impl DayGuard {
    pub(crate) fn new(window: DayRange) -> DayGuard {
        DayGuard {
            window,
            seen: HashSet::new(),
        }
    }

    /// Checks a bucket starting at `start`, returning its day.
    pub(crate) fn admit(
        &mut self,
        provider: ProviderKind,
        at: At<'_>,
        start: OffsetDateTime,
    ) -> Result<Day, ProviderError> {
        let start = start.to_offset(time::UtcOffset::UTC);
        let unexpected = |detail: String| ProviderError::UnexpectedPage {
            provider,
            endpoint: at.endpoint.to_owned(),
            page: at.page,
            detail,
        };
        if start.time() != time::Time::MIDNIGHT {
            return Err(unexpected(format!(
                "a daily bucket starts at {start}, not at midnight UTC"
            )));
        }
        let day = Day::of(start);
        if !self.window.contains(day) {
            return Err(unexpected(format!(
                "a bucket for {day} is outside the requested window {}",
                self.window
            )));
        }
        if !self.seen.insert(day) {
            return Err(ProviderError::DuplicateBucket {
                provider,
                endpoint: at.endpoint.to_owned(),
                page: at.page,
                day: day.to_string(),
            });
        }
        Ok(day)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn settings() -> HttpSettings {
        HttpSettings {
            base_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
            max_retry_after: Duration::from_secs(120),
            ..HttpSettings::default()
        }
    }

    #[test]
    fn retry_after_accepts_delta_seconds() {
        let now = datetime!(2026-11-22 10:00:00 UTC);
        assert_eq!(
            parse_retry_after("120", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(parse_retry_after(" 0 ", now), Some(Duration::ZERO));
        assert_eq!(
            parse_retry_after("1.5", now),
            Some(Duration::from_millis(1500))
        );
    }

    #[test]
    fn retry_after_accepts_an_http_date_relative_to_now() {
        let now = datetime!(2015-10-21 07:27:30 UTC);
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now),
            Some(Duration::from_secs(30))
        );
    }

    #[test]
    fn retry_after_in_the_past_means_now() {
        let now = datetime!(2026-11-22 10:00:00 UTC);
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now),
            Some(Duration::ZERO)
        );
    }

    #[test]
    fn retry_after_that_is_neither_form_is_ignored() {
        let now = datetime!(2026-11-22 10:00:00 UTC);
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("", now), None);
        assert_eq!(parse_retry_after("-5", now), None);
    }

    #[test]
    fn retry_after_wins_but_is_capped() {
        let settings = settings();
        assert_eq!(
            retry_delay(0, Some(Duration::from_secs(7)), &settings, 0.0),
            Duration::from_secs(7)
        );
        assert_eq!(
            retry_delay(3, Some(Duration::from_secs(3600)), &settings, 0.5),
            Duration::from_secs(120)
        );
    }

    #[test]
    fn backoff_ceiling_doubles_then_stops_at_the_maximum() {
        let settings = settings();
        let at_full = |retry| retry_delay(retry, None, &settings, 1.0);
        assert_eq!(at_full(0), Duration::from_millis(500));
        assert_eq!(at_full(1), Duration::from_secs(1));
        assert_eq!(at_full(2), Duration::from_secs(2));
        assert_eq!(at_full(5), Duration::from_secs(16));
        assert_eq!(at_full(6), Duration::from_secs(30));
        assert_eq!(at_full(40), Duration::from_secs(30));
    }

    #[test]
    fn full_jitter_spans_zero_to_the_ceiling() {
        let settings = settings();
        assert_eq!(retry_delay(2, None, &settings, 0.0), Duration::ZERO);
        assert_eq!(
            retry_delay(2, None, &settings, 0.25),
            Duration::from_millis(500)
        );
        assert_eq!(retry_delay(2, None, &settings, 7.0), Duration::from_secs(2));
        assert_eq!(
            retry_delay(2, None, &settings, f64::NAN),
            Duration::from_secs(2)
        );
    }

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

    #[test]
    fn string_errors_and_fastapi_details_are_read_too() {
        assert_eq!(
            provider_message(br#"{"error":"Invalid API key."}"#, "key_1234567890"),
            "Invalid API key."
        );
        assert_eq!(
            provider_message(
                br#"{"detail":"Non-admin users can only view their own spend data."}"#,
                "sk-1234567890"
            ),
            "Non-admin users can only view their own spend data."
        );
        assert_eq!(
            provider_message(
                br#"{"detail":{"error":"Please provide start_date and end_date"}}"#,
                "sk-1234567890"
            ),
            "Please provide start_date and end_date"
        );
    }

    #[test]
    fn numbers_are_read_from_their_literal_text() {
        let raw = |text: &str| serde_json::value::RawValue::from_string(text.to_owned()).unwrap();
        assert_eq!(number_text(&raw("1.095e-05")).as_deref(), Some("1.095e-05"));
        assert_eq!(number_text(&raw(r#""0.32""#)).as_deref(), Some("0.32"));
        assert_eq!(number_text(&raw("-400")).as_deref(), Some("-400"));
        assert_eq!(number_text(&raw("null")), None);
        assert_eq!(number_text(&raw(r#""n/a""#)), None);
    }

    #[test]
    fn provider_messages_are_read_from_either_envelope_and_scrubbed() {
        let secret = "sk-admin-verysecretvalue1234";
        let openai = format!(
            r#"{{"error":{{"message":"Incorrect API key provided: {secret}.","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}}}"#
        );
        assert_eq!(
            provider_message(openai.as_bytes(), secret),
            "Incorrect API key provided: [the key]."
        );
        let anthropic = br#"{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}"#;
        assert_eq!(provider_message(anthropic, secret), "invalid x-api-key");
        assert_eq!(provider_message(b"", secret), "no message");
        assert_eq!(
            provider_message(b"<html>\n Bad   gateway</html>", secret),
            "<html> Bad gateway</html>"
        );
    }

    #[test]
    fn decode_tells_cut_off_from_malformed_from_wrong_shape() {
        #[derive(serde::Deserialize, Debug)]
        struct Page {
            #[allow(dead_code, reason = "only decoded")]
            has_more: bool,
        }
        let at = At {
            endpoint: "/organization/costs",
            page: 2,
        };
        let cut = decode::<Page>(ProviderKind::OpenAi, at, br#"{"has_more": tr"#).unwrap_err();
        assert!(
            matches!(cut, ProviderError::TruncatedPage { .. }),
            "{cut:?}"
        );
        let bad = decode::<Page>(ProviderKind::OpenAi, at, b"<html>oops</html>").unwrap_err();
        assert!(matches!(bad, ProviderError::InvalidJson { .. }), "{bad:?}");
        assert!(
            bad.to_string().starts_with(
                "OpenAI sent a page that is not valid JSON on /organization/costs (page 2): "
            ),
            "{bad}"
        );
        let shape =
            decode::<Page>(ProviderKind::OpenAi, at, br#"{"has_more": "yes"}"#).unwrap_err();
        assert!(
            matches!(shape, ProviderError::UnexpectedPage { .. }),
            "{shape:?}"
        );
    }

    #[test]
    fn a_cursor_seen_before_stops_the_listing() {
        let mut guard = CursorGuard::new(100);
        let at = |page| At {
            endpoint: "/x",
            page,
        };
        assert_eq!(
            guard
                .advance(ProviderKind::OpenAi, at(1), Some("a".into()))
                .unwrap(),
            Some("a".to_owned())
        );
        assert_eq!(
            guard
                .advance(ProviderKind::OpenAi, at(2), Some("b".into()))
                .unwrap(),
            Some("b".to_owned())
        );
        let err = guard
            .advance(ProviderKind::OpenAi, at(3), Some("a".into()))
            .unwrap_err();
        assert!(
            matches!(err, ProviderError::RepeatedPage { page: 3, .. }),
            "{err:?}"
        );
        assert_eq!(
            guard.advance(ProviderKind::OpenAi, at(3), None).unwrap(),
            None
        );
    }

    #[test]
    fn a_listing_longer_than_needed_is_stopped() {
        let mut guard = CursorGuard::new(2);
        let at = |page| At {
            endpoint: "/x",
            page,
        };
        guard
            .advance(ProviderKind::Anthropic, at(1), Some("a".into()))
            .unwrap();
        let err = guard
            .advance(ProviderKind::Anthropic, at(2), Some("b".into()))
            .unwrap_err();
        assert!(matches!(err, ProviderError::TooManyPages { .. }), "{err:?}");
    }

    #[test]
    fn buckets_must_be_midnight_inside_the_window_and_once() {
        let window =
            DayRange::new("2026-11-01".parse().unwrap(), "2026-11-03".parse().unwrap()).unwrap();
        let mut guard = DayGuard::new(window);
        let at = At {
            endpoint: "/x",
            page: 1,
        };
        let p = ProviderKind::OpenAi;
        assert_eq!(
            guard
                .admit(p, at, datetime!(2026-11-01 00:00 UTC))
                .unwrap()
                .to_string(),
            "2026-11-01"
        );
        assert!(matches!(
            guard.admit(p, at, datetime!(2026-11-01 00:00 UTC)),
            Err(ProviderError::DuplicateBucket { .. })
        ));
        assert!(matches!(
            guard.admit(p, at, datetime!(2026-11-02 17:31 UTC)),
            Err(ProviderError::UnexpectedPage { .. })
        ));
        assert!(matches!(
            guard.admit(p, at, datetime!(2026-11-04 00:00 UTC)),
            Err(ProviderError::UnexpectedPage { .. })
        ));
    }
}
