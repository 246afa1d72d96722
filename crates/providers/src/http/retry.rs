//! The one retry loop every connector's calls go through: 429, the passing 5xx statuses,
//! network errors and cut-off bodies are tried again with exponential backoff and full jitter,
//! honoring `Retry-After` (and a provider's own wait headers); anything else is handed back as
//! an [`Answer`] for the caller to read.

use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{HeaderMap, RETRY_AFTER};
use spendlens_domain::ProviderKind;
use time::OffsetDateTime;

use super::client::{At, CallStats, HttpSettings};
use super::decode::provider_message;
use crate::error::ProviderError;

/// A final answer: a success, or a refusal not worth retrying. The caller reads it.
pub(crate) struct Answer {
    pub status: StatusCode,
    pub body: Vec<u8>,
}

/// What a provider adds to the retry rules every provider shares.
#[derive(Clone, Copy)]
pub(crate) struct RetryPolicy {
    /// A refusal whose body says it is passing (BigQuery's 403 `rateLimitExceeded`).
    pub retryable_body: fn(StatusCode, &[u8]) -> bool,
    /// Headers besides `Retry-After` that carry a wait in seconds (Azure's
    /// `x-ms-ratelimit-microsoft.costmanagement-…-retry-after`); the longest wins.
    pub wait_headers: &'static [&'static str],
}

impl RetryPolicy {
    /// The shared rules only.
    pub(crate) const STANDARD: RetryPolicy = RetryPolicy {
        retryable_body: never,
        wait_headers: &[],
    };
}

fn never(_status: StatusCode, _body: &[u8]) -> bool {
    false
}

/// Who is calling and under which rules: the provider, the fetch's settings and counters.
#[derive(Clone, Copy)]
pub(crate) struct Attempts<'a> {
    pub provider: ProviderKind,
    pub settings: &'a HttpSettings,
    pub stats: &'a CallStats,
    pub policy: RetryPolicy,
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

/// Sends a request (built anew for every attempt) until it succeeds, is refused for good, or
/// the retries run out. `target` names the server for a request that cannot even be built (a
/// bad base URL); `secret` is scrubbed from every message kept.
pub(crate) async fn send(
    attempts: &Attempts<'_>,
    build: impl Fn() -> reqwest::RequestBuilder,
    at: At<'_>,
    target: &str,
    secret: &str,
) -> Result<Answer, ProviderError> {
    let Attempts {
        provider,
        settings,
        stats,
        policy,
    } = *attempts;
    let mut retry: u32 = 0;
    loop {
        stats.count_call();
        tracing::debug!(
            provider = provider.as_str(),
            endpoint = at.endpoint,
            page = at.page,
            retry,
            "request"
        );
        let failure = match build().send().await {
            Err(error) if error.is_builder() => {
                return Err(ProviderError::InvalidBaseUrl {
                    provider,
                    url: target.to_owned(),
                    reason: transport_detail(&error, settings),
                    default: crate::default_base_url(provider).to_string(),
                });
            }
            // A name that does not resolve will not resolve on a retry: say so at once.
            Err(error) if is_unresolvable(&error) => {
                return Err(ProviderError::Unreachable {
                    provider,
                    endpoint: at.endpoint.to_owned(),
                    page: at.page,
                    retries: 0,
                    detail: format!(
                        "no such host: the name in {target} does not resolve (check the base URL)"
                    ),
                });
            }
            Err(error) => Failure::Transport(transport_detail(&error, settings)),
            Ok(response) => {
                let status = response.status();
                let retry_after = wait_of(response.headers(), policy.wait_headers);
                match response.bytes().await {
                    Ok(body) => {
                        let body = body.to_vec();
                        let retryable = !status.is_success()
                            && (is_retryable_status(status)
                                || (policy.retryable_body)(status, &body));
                        if !retryable {
                            return Ok(Answer { status, body });
                        }
                        Failure::Status {
                            status,
                            message: provider_message(&body, secret),
                            retry_after,
                        }
                    }
                    Err(error) => Failure::CutOff(body_detail(&error)),
                }
            }
        };
        if retry >= settings.max_retries {
            return Err(gave_up(provider, failure, at, settings.max_retries));
        }
        let retry_after = match &failure {
            Failure::Status { retry_after, .. } => *retry_after,
            _ => None,
        };
        let delay = retry_delay(retry, retry_after, settings, rand::random::<f64>());
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
        stats.count_retry();
    }
}

/// The wait a refusal asks for: `Retry-After`, or the longest of the provider's own headers.
fn wait_of(headers: &HeaderMap, wait_headers: &[&str]) -> Option<Duration> {
    #[expect(
        clippy::disallowed_methods,
        reason = "a Retry-After HTTP date is relative to the real wall clock, not a test clock"
    )]
    let now = OffsetDateTime::now_utc();
    let standard = headers
        .get(RETRY_AFTER)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| parse_retry_after(value, now));
    let own = wait_headers
        .iter()
        .filter_map(|name| headers.get(*name))
        .filter_map(|value| value.to_str().ok())
        .filter_map(|value| parse_retry_after(value, now))
        .max();
    match (standard, own) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

fn gave_up(provider: ProviderKind, failure: Failure, at: At<'_>, retries: u32) -> ProviderError {
    let endpoint = at.endpoint.to_owned();
    let page = at.page;
    match failure {
        // A 403 is only retried when the provider's body said it was a rate limit.
        Failure::Status { status, .. }
            if status == StatusCode::TOO_MANY_REQUESTS || status == StatusCode::FORBIDDEN =>
        {
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

/// 429, the 5xx statuses that signal a passing problem, and Anthropic's 529 (overloaded).
pub(crate) fn is_retryable_status(status: StatusCode) -> bool {
    matches!(status.as_u16(), 429 | 500 | 502 | 503 | 504 | 529)
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

/// Whether a transport error is a host name that does not resolve (not a passing failure).
fn is_unresolvable(error: &reqwest::Error) -> bool {
    error.is_connect() && names_no_such_host(&root_cause(error))
}

/// The resolver's words for "this name does not exist" (glibc, macOS, Windows, hickory).
fn names_no_such_host(cause: &str) -> bool {
    let cause = cause.to_lowercase();
    [
        "name or service not known",
        "no such host",
        "nodename nor servname provided",
        "no address associated with hostname",
        "no record found",
        "failed to lookup address information: name does not resolve",
    ]
    .iter()
    .any(|words| cause.contains(words))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_that_does_not_resolve_is_told_apart_from_a_passing_failure() {
        for cause in [
            "failed to lookup address information: Name or service not known",
            "No such host is known. (os error 11001)",
            "failed to lookup address information: nodename nor servname provided, or not known",
        ] {
            assert!(names_no_such_host(cause), "{cause}");
        }
        for cause in [
            "failed to lookup address information: Temporary failure in name resolution",
            "Connection refused (os error 111)",
            "connection reset by peer",
        ] {
            assert!(!names_no_such_host(cause), "{cause}");
        }
    }
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
    fn a_provider_s_own_wait_header_counts_and_the_longest_wait_wins() {
        let mut headers = HeaderMap::new();
        headers.insert("x-wait", "7".parse().unwrap());
        assert_eq!(wait_of(&headers, &["x-wait"]), Some(Duration::from_secs(7)));
        assert_eq!(wait_of(&headers, &[]), None);
        headers.insert(RETRY_AFTER, "3".parse().unwrap());
        assert_eq!(wait_of(&headers, &["x-wait"]), Some(Duration::from_secs(7)));
        assert_eq!(wait_of(&headers, &[]), Some(Duration::from_secs(3)));
    }
}
